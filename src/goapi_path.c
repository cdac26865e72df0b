/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_path.c — escaped request paths, cleaning and percent-decoding.
 */
#include <string.h>

#include <apr_cstr.h>
#include <apr_lib.h>

#include "goapi_path.h"

void goapi_path_of_target(const char *target, const char **path,
                          apr_size_t *len)
{
    const char *s = target, *e;

    if (s == NULL) {
        s = "";
    }
    if (*s != '/') {
        /* absolute-form: skip "scheme://authority" */
        const char *sep = strstr(s, "://");

        s = sep ? sep + 3 : s;
        s += strcspn(s, "/?#");
    }
    e = s + strcspn(s, "?#");
    if (e == s) {
        *path = "/";
        *len = 1;
        return;
    }
    *path = s;
    *len = (apr_size_t)(e - s);
}

/* Length of the segment starting at s (up to '/' or end). */
static apr_size_t goapi_seg_len(const char *s, const char *end)
{
    const char *q = s;

    while (q < end && *q != '/') {
        q++;
    }
    return (apr_size_t)(q - s);
}

static int goapi_seg_is_dot(const char *s, apr_size_t n)
{
    return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

int goapi_path_is_clean(const char *path, apr_size_t len)
{
    const char *s = path, *end = path + len;

    if (len == 0 || *s != '/') {
        return 0;
    }
    while (s < end) {
        apr_size_t n;

        s++;                                    /* the '/' */
        n = goapi_seg_len(s, end);
        if (n == 0 && s < end) {
            return 0;                           /* "//" */
        }
        if (goapi_seg_is_dot(s, n)) {
            return 0;
        }
        s += n;
    }
    return 1;
}

char *goapi_path_clean(apr_pool_t *p, const char *path, apr_size_t len)
{
    /* Output never exceeds "/" + input + "/". */
    char *out = apr_palloc(p, len + 3);
    apr_size_t o = 0;
    const char *s = path, *end = path + len;

    out[o++] = '/';
    while (s < end) {
        apr_size_t n;

        while (s < end && *s == '/') {
            s++;
        }
        n = goapi_seg_len(s, end);
        if (n == 0 || (n == 1 && s[0] == '.')) {
            /* empty or "." segment: drop */
        }
        else if (n == 2 && s[0] == '.' && s[1] == '.') {
            /* pop the last segment, never above the root */
            if (o > 1) {
                o--;                            /* its trailing '/' */
                while (o > 1 && out[o - 1] != '/') {
                    o--;
                }
            }
        }
        else {
            memcpy(out + o, s, n);
            o += n;
            out[o++] = '/';
        }
        s += n;
    }
    /* out now ends with '/'; keep it only when the input ended with one. */
    if (o > 1 && !(len > 0 && path[len - 1] == '/')) {
        o--;
    }
    out[o] = '\0';
    return out;
}

static int goapi_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

unsigned char goapi_path_byte(const char *s, apr_size_t left, apr_size_t *used)
{
    int hi, lo;

    if (s[0] == '%' && left >= 3 && (hi = goapi_hexval(s[1])) >= 0
        && (lo = goapi_hexval(s[2])) >= 0) {
        *used = 3;
        return (unsigned char)((hi << 4) | lo);
    }
    *used = 1;
    return (unsigned char)s[0];
}

char *goapi_path_ascii(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t n = 0, i, o = 0;
    char *out;

    for (i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];

        n += (c <= 0x20 || c >= 0x7f) ? 3 : 1;
    }
    if (n == i) {
        return (char *)s;               /* ASCII already */
    }
    out = apr_palloc(p, n + 1);
    for (i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c >= 0x7f) {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 0x0f];
        }
        else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

apr_ssize_t goapi_pct_decode(const char *s, apr_size_t len, char *out)
{
    apr_size_t i, o = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '%') {
            int hi, lo;

            if (len - i < 3
                || (hi = goapi_hexval(s[i + 1])) < 0
                || (lo = goapi_hexval(s[i + 2])) < 0) {
                return -1;
            }
            out[o++] = (char)((hi << 4) | lo);
            i += 2;
        }
        else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return (apr_ssize_t)o;
}

int goapi_query_has(const char *args, const char *key)
{
    apr_size_t klen = strlen(key);
    const char *s = args;

    while (s && *s) {
        apr_size_t n = strcspn(s, "&;");

        if (n >= klen && strncmp(s, key, klen) == 0 && (n == klen || s[klen] == '=')) {
            return 1;
        }
        s += n;
        if (*s) {
            s++;
        }
    }
    return 0;
}

int goapi_accepts(const char *accept, const char *type)
{
    apr_size_t tlen = strlen(type);
    const char *s = accept;

    while (s && *s) {
        const char *item_end = s + strcspn(s, ",");
        const char *t = s, *params;

        while (t < item_end && (*t == ' ' || *t == '\t')) {
            t++;
        }
        params = t + strcspn(t, ";,");
        if (params > item_end) {
            params = item_end;
        }
        {
            const char *te = params;

            while (te > t && (te[-1] == ' ' || te[-1] == '\t')) {
                te--;
            }
            if ((apr_size_t)(te - t) == tlen && apr_cstr_casecmpn(t, type, tlen) == 0) {
                /* a q=0 says "not this one" */
                const char *q = params;
                int zero = 0;

                while (q < item_end) {
                    q++;
                    while (q < item_end && (*q == ' ' || *q == '\t')) {
                        q++;
                    }
                    if (item_end - q >= 2 && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=') {
                        const char *v = q + 2;

                        zero = 1;
                        for (; v < item_end && *v != ';'; v++) {
                            if (apr_isdigit(*v) && *v != '0') {
                                zero = 0;
                            }
                        }
                    }
                    q += strcspn(q, ";");
                    if (q > item_end) {
                        q = item_end;
                    }
                }
                if (!zero) {
                    return 1;
                }
            }
        }
        s = *item_end ? item_end + 1 : item_end;
    }
    return 0;
}
