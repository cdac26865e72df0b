/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_router.c — route matching (see goapi_router.h).
 */
#include <string.h>

#include <apr_strings.h>

#include "goapi_defs.h"
#include "goapi_path.h"
#include "goapi_router.h"

typedef struct {
    const char *pattern;        /* "/" alone matches only "/" */
    const char *wildcard;       /* name of the pattern's {wildcard}, or NULL */
    unsigned methods;
    goapi_route_id route;
} goapi_route;

#define GOAPI_ROUTE_ROW(name, pattern, wildcard, methods) \
    { pattern, wildcard, methods, GOAPI_ROUTE_##name },

/* In the order of GOAPI_ROUTES (goapi_router.h). */
static const goapi_route goapi_routes[] = {
    GOAPI_ROUTES(GOAPI_ROUTE_ROW)
};

const char *goapi_route_pattern(goapi_route_id id)
{
    apr_size_t i;

    for (i = 0; i < sizeof(goapi_routes) / sizeof(goapi_routes[0]); i++) {
        if (goapi_routes[i].route == id) {
            return goapi_routes[i].pattern;
        }
    }
    return NULL;
}

static const struct {
    const char *name;
    unsigned bit;
} goapi_methods[] = {
    { "GET", GOAPI_M_GET }, { "HEAD", GOAPI_M_HEAD }, { "POST", GOAPI_M_POST },
    { "PUT", GOAPI_M_PUT }, { "PATCH", GOAPI_M_PATCH },
    { "DELETE", GOAPI_M_DELETE },
};

unsigned goapi_method_bit(const char *method)
{
    apr_size_t i;

    for (i = 0; i < sizeof(goapi_methods) / sizeof(goapi_methods[0]); i++) {
        if (strcmp(method, goapi_methods[i].name) == 0) {
            return goapi_methods[i].bit;
        }
    }
    return GOAPI_M_OTHER;
}

const char *goapi_allow_header(apr_pool_t *p, unsigned mask)
{
    char buf[64];
    apr_size_t i, o = 0;

    if (mask & GOAPI_M_GET) {
        mask |= GOAPI_M_HEAD;
    }
    for (i = 0; i < sizeof(goapi_methods) / sizeof(goapi_methods[0]); i++) {
        if (mask & goapi_methods[i].bit) {
            apr_size_t n = strlen(goapi_methods[i].name);

            if (o) {
                /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): o counts buf */
                memcpy(buf + o, ", ", 2);
                o += 2;
            }
            memcpy(buf + o, goapi_methods[i].name, n);
            o += n;
        }
    }
    return apr_pstrmemdup(p, buf, o);
}

/* Match one pattern against the escaped path, segment by segment as Go
 * 1.22 does: a fixed part against the segment unescaped, a wildcard taking
 * the whole raw segment.  On success *wild and *wild_len give that raw
 * segment, if the pattern has a wildcard. */
static int goapi_pattern_match(const char *pat, const char *path,
                               apr_size_t len, const char **wild,
                               apr_size_t *wild_len)
{
    apr_size_t j = 0;

    while (*pat) {
        if (*pat == '{') {
            const char *close = strchr(pat, '}');
            apr_size_t start = j;

            while (j < len && path[j] != '/') {
                j++;
            }
            if (j == start) {
                return 0;                       /* empty segment */
            }
            *wild = path + start;
            *wild_len = j - start;
            pat = close + 1;
        }
        else if (*pat == '/') {
            /* segments are split on the path's own '/' only */
            if (j >= len || path[j] != '/') {
                return 0;
            }
            pat++;
            j++;
        }
        else {
            /* a fixed part matches the segment unescaped, as Go compares
             * it: "/%68ealthz" is "/healthz"; "%2F" is no separator */
            apr_size_t used;

            if (j >= len || goapi_path_byte(path + j, len - j, &used) != (unsigned char)*pat) {
                return 0;
            }
            pat++;
            j += used;
        }
    }
    return j == len;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static apr_size_t goapi_utf8_seq(const unsigned char *s, apr_size_t left)
{
    apr_size_t len, i;
    unsigned char lo = 0x80, hi = 0xBF;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
    }
    else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        if (s[0] == 0xE0) lo = 0xA0;            /* overlong */
        if (s[0] == 0xED) hi = 0x9F;            /* surrogates */
    }
    else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        if (s[0] == 0xF0) lo = 0x90;            /* overlong */
        if (s[0] == 0xF4) hi = 0x8F;            /* above U+10FFFF */
    }
    else {
        return 0;                               /* C0, C1, F5-FF, or a continuation */
    }
    if (left < len || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            return 0;
        }
    }
    return len;
}

/* Decode and check a wildcard value.  Returns NULL when acceptable,
 * otherwise the reason, which never contains the value. */
static const char *goapi_param_check(apr_pool_t *p, const char *raw,
                                     apr_size_t raw_len, goapi_match *m)
{
    char *out;
    apr_ssize_t n;
    apr_ssize_t i;

    if (raw_len > 3 * GOAPI_PATH_PARAM_MAX) {
        return "must be at most " GOAPI_STR(GOAPI_PATH_PARAM_MAX) " bytes";
    }
    out = apr_palloc(p, raw_len + 1);
    n = goapi_pct_decode(raw, raw_len, out);
    if (n < 0) {
        return "malformed percent-encoding";
    }
    if (n > GOAPI_PATH_PARAM_MAX) {
        return "must be at most " GOAPI_STR(GOAPI_PATH_PARAM_MAX) " bytes";
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];

        if (c < 0x20 || c == 0x7f) {
            return "must not contain control characters";
        }
        if (c == '/') {
            return "must not contain '/'";
        }
    }
    /* The value goes back in a text/plain; charset=utf-8 answer: it must
     * be UTF-8, or a client could smuggle other encodings (overlong '/'). */
    for (i = 0; i < n; ) {
        apr_size_t seq = goapi_utf8_seq((const unsigned char *)out + i, (apr_size_t)(n - i));

        if (!seq) {
            return "must be valid UTF-8";
        }
        i += (apr_ssize_t)seq;
    }
    if ((n == 1 && out[0] == '.') || (n == 2 && out[0] == '.' && out[1] == '.')) {
        return "must not be '.' or '..'";
    }
    m->param = out;
    m->param_len = (apr_size_t)n;
    return NULL;
}

goapi_match_result goapi_route_match(apr_pool_t *p, const char *method,
                                     const char *path, apr_size_t len,
                                     goapi_match *m)
{
    unsigned bit = goapi_method_bit(method);
    apr_size_t i;

    memset(m, 0, sizeof(*m));
    if (!goapi_path_is_clean(path, len)) {
        m->location = goapi_path_clean(p, path, len);
        return GOAPI_MATCH_REDIRECT;
    }
    for (i = 0; i < sizeof(goapi_routes) / sizeof(goapi_routes[0]); i++) {
        const goapi_route *rt = &goapi_routes[i];
        const char *wild = NULL;
        apr_size_t wild_len = 0;
        unsigned allowed = rt->methods;

        if (!goapi_pattern_match(rt->pattern, path, len, &wild, &wild_len)) {
            continue;
        }
        if (allowed & GOAPI_M_GET) {
            allowed |= GOAPI_M_HEAD;
        }
        if (!(allowed & bit)) {
            m->allowed |= allowed;
            continue;
        }
        m->route = rt->route;
        if (wild) {
            m->param_name = rt->wildcard;
            m->reason = goapi_param_check(p, wild, wild_len, m);
            if (m->reason) {
                return GOAPI_MATCH_BAD_PARAM;
            }
        }
        return GOAPI_MATCH_FOUND;
    }
    return m->allowed ? GOAPI_MATCH_NOT_ALLOWED : GOAPI_MATCH_NOT_FOUND;
}

/* "<probe>/<one segment>": 1 when path is that. */
static int goapi_probe_check_path(const char *path, apr_size_t len, const char *probe,
                                  apr_size_t plen)
{
    return len > plen && memcmp(path, probe, plen) == 0
           && strchr(path + plen, '/') == NULL;
}

goapi_route_id goapi_route_probe_path(const char *path)
{
    apr_size_t len = strlen(path);

    if (goapi_probe_check_path(path, len, "/readyz/", 8)) {
        return GOAPI_ROUTE_READYZ_CHECK;
    }
    if (goapi_probe_check_path(path, len, "/livez/", 7)) {
        return GOAPI_ROUTE_LIVEZ_CHECK;
    }
    return goapi_route_probe(path, len);
}

goapi_route_id goapi_route_probe(const char *path, apr_size_t len)
{
    switch (len) {
    case 6:
        return memcmp(path, "/livez", 6) == 0 ? GOAPI_ROUTE_LIVEZ : GOAPI_ROUTE_NONE;
    case 7:
        return memcmp(path, "/readyz", 7) == 0 ? GOAPI_ROUTE_READYZ : GOAPI_ROUTE_NONE;
    case 8:
        return memcmp(path, "/healthz", 8) == 0 ? GOAPI_ROUTE_HEALTHZ : GOAPI_ROUTE_NONE;
    case 9:
        return memcmp(path, "/startupz", 9) == 0 ? GOAPI_ROUTE_STARTUPZ : GOAPI_ROUTE_NONE;
    default:
        return GOAPI_ROUTE_NONE;
    }
}
