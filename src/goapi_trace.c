/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_trace.c — W3C Trace Context headers (see goapi_trace.h).
 */
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include "goapi_trace.h"

static int goapi_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int goapi_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int goapi_hex_value(char c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* n lowercase hex digits at s, not all '0' when nonzero is set. */
static int goapi_hex_field(const char *s, apr_size_t n, int nonzero)
{
    apr_size_t i;
    int any = 0;

    for (i = 0; i < n; i++) {
        if (!goapi_lower_hex(s[i])) {
            return 0;
        }
        any |= s[i] != '0';
    }
    return any || !nonzero;
}

int goapi_traceparent_parse(const char *value, goapi_traceparent *out)
{
    const char *v = value;
    apr_size_t len;

    if (!v) {
        return 0;
    }
    while (goapi_is_ows(*v)) {
        v++;
    }
    len = strlen(v);
    while (len && goapi_is_ows(v[len - 1])) {
        len--;
    }
    if (len < GOAPI_TRACEPARENT_LEN
        || !goapi_hex_field(v, 2, 0) || (v[0] == 'f' && v[1] == 'f')
        || v[2] != '-' || !goapi_hex_field(v + 3, GOAPI_TRACE_ID_HEX, 1)
        || v[35] != '-' || !goapi_hex_field(v + 36, GOAPI_SPAN_ID_HEX, 1)
        || v[52] != '-' || !goapi_hex_field(v + 53, 2, 0)) {
        return 0;
    }
    out->version = (unsigned)(goapi_hex_value(v[0]) * 16 + goapi_hex_value(v[1]));
    /* version 00 is exactly its 55 characters; a later version may carry
     * more, after a dash */
    if (len > GOAPI_TRACEPARENT_LEN && (out->version == 0 || v[55] != '-')) {
        return 0;
    }
    memcpy(out->trace_id, v + 3, GOAPI_TRACE_ID_HEX);
    out->trace_id[GOAPI_TRACE_ID_HEX] = '\0';
    memcpy(out->parent_id, v + 36, GOAPI_SPAN_ID_HEX);
    out->parent_id[GOAPI_SPAN_ID_HEX] = '\0';
    out->flags = (unsigned)(goapi_hex_value(v[53]) * 16 + goapi_hex_value(v[54]));
    return 1;
}

static const char goapi_hex_digits[] = "0123456789abcdef";

void goapi_trace_flags_hex(char out[3], unsigned flags)
{
    out[0] = goapi_hex_digits[(flags >> 4) & 0xfu];
    out[1] = goapi_hex_digits[flags & 0xfu];
    out[2] = '\0';
}

/* Written by hand: on every request, where a formatted print costs more
 * than the rest of the trace. */
void goapi_traceparent_format(char *out, const char *trace_id, const char *span_id,
                              unsigned flags)
{
    out[0] = '0';
    out[1] = '0';
    out[2] = '-';
    memcpy(out + 3, trace_id, GOAPI_TRACE_ID_HEX);
    out[35] = '-';
    memcpy(out + 36, span_id, GOAPI_SPAN_ID_HEX);
    out[52] = '-';
    goapi_trace_flags_hex(out + 53, flags);
}

/* ---- tracestate ---------------------------------------------------------- */

static int goapi_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'
           || c == '*' || c == '/' || c == '@';
}

/* A value character; the last one may not be a space. */
static int goapi_value_char(char c)
{
    return c >= 0x20 && c <= 0x7e && c != ',' && c != '=';
}

/* key=value: the key 1 to 256 characters, starting with a lowercase
 * letter or digit; the value 1 to 256 characters, not ending in a space. */
static int goapi_member_valid(const char *m, apr_size_t n)
{
    const char *eq = memchr(m, '=', n);
    apr_size_t klen, vlen, i;

    if (!eq) {
        return 0;
    }
    klen = (apr_size_t)(eq - m);
    vlen = n - klen - 1;
    if (klen < 1 || klen > 256 || vlen < 1 || vlen > 256
        || !((m[0] >= 'a' && m[0] <= 'z') || (m[0] >= '0' && m[0] <= '9'))) {
        return 0;
    }
    for (i = 1; i < klen; i++) {
        if (!goapi_key_char(m[i])) {
            return 0;
        }
    }
    for (i = 0; i < vlen; i++) {
        if (!goapi_value_char(eq[1 + i])) {
            return 0;
        }
    }
    return eq[vlen] != ' ';
}

typedef struct {
    const char *at;
    apr_size_t len;
    int keep;
} goapi_member;

const char *goapi_tracestate_clean(apr_pool_t *p, const char *value)
{
    goapi_member m[GOAPI_TRACESTATE_MEMBERS];
    apr_size_t total = 0, o = 0;
    const char *s = value;
    char *out;
    int n = 0, i;

    if (!value) {
        return NULL;
    }
    for (;;) {
        const char *end = strchr(s, ','), *b = s, *e;

        if (!end) {
            end = s + strlen(s);
        }
        e = end;
        while (b < e && goapi_is_ows(*b)) {
            b++;
        }
        while (e > b && goapi_is_ows(e[-1])) {
            e--;
        }
        if (e > b) {
            if (n == GOAPI_TRACESTATE_MEMBERS || !goapi_member_valid(b, (apr_size_t)(e - b))) {
                return NULL;
            }
            m[n].at = b;
            m[n].len = (apr_size_t)(e - b);
            m[n].keep = 1;
            total += m[n].len + (n ? 1 : 0);
            n++;
        }
        if (!*end) {
            break;
        }
        s = end + 1;
    }
    /* too long to pass on whole: the largest members go first, then the
     * last ones */
    for (i = 0; i < n && total > GOAPI_TRACESTATE_MAX; i++) {
        if (m[i].len > GOAPI_TRACESTATE_BIG) {
            m[i].keep = 0;
            total -= m[i].len + 1;
        }
    }
    for (i = n - 1; i >= 0 && total > GOAPI_TRACESTATE_MAX; i--) {
        if (m[i].keep) {
            m[i].keep = 0;
            total -= m[i].len + 1;
        }
    }
    out = apr_palloc(p, total + 2);
    for (i = 0; i < n; i++) {
        if (m[i].keep) {
            if (o) {
                out[o++] = ',';
            }
            memcpy(out + o, m[i].at, m[i].len);
            o += m[i].len;
        }
    }
    out[o] = '\0';
    return o ? out : NULL;
}

/* ---- IDs ----------------------------------------------------------------- */

static apr_uint64_t goapi_mix(apr_uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void goapi_trace_seed(goapi_trace_gen *g, const unsigned char seed[24])
{
    apr_uint64_t w[3] = { 0, 0, 0 };
    int i;

    for (i = 0; i < 24; i++) {
        w[i / 8] = (w[i / 8] << 8) | seed[i];
    }
    g->key[0] = w[0];
    g->key[1] = w[1];
    g->counter = w[2];
}

static void goapi_hex64(char *out, apr_uint64_t v)
{
    int i;

    for (i = 15; i >= 0; i--) {
        out[i] = goapi_hex_digits[v & 0xf];
        v >>= 4;
    }
}

void goapi_trace_new_trace_id(goapi_trace_gen *g, char out[GOAPI_TRACE_ID_HEX + 1])
{
    apr_uint64_t hi, lo;

    do {
        apr_uint64_t c = apr_atomic_add64(&g->counter, 1);

        hi = goapi_mix(c ^ g->key[0]);
        lo = goapi_mix(c ^ g->key[1]);
    } while (!hi && !lo);
    goapi_hex64(out, hi);
    goapi_hex64(out + 16, lo);
    out[GOAPI_TRACE_ID_HEX] = '\0';
}

void goapi_trace_new_span_id(goapi_trace_gen *g, char out[GOAPI_SPAN_ID_HEX + 1])
{
    apr_uint64_t v;

    do {
        v = goapi_mix(apr_atomic_add64(&g->counter, 1) ^ g->key[1] ^ g->key[0]);
    } while (!v);
    goapi_hex64(out, v);
    out[GOAPI_SPAN_ID_HEX] = '\0';
}

apr_int64_t goapi_deadline_ms_parse(const char *value)
{
    apr_int64_t v = 0;
    apr_size_t i;

    if (!value || !*value) {
        return -1;
    }
    for (i = 0; value[i]; i++) {
        if (i == 9 || value[i] < '0' || value[i] > '9') {
            return -1;
        }
        v = v * 10 + (value[i] - '0');
    }
    return v;
}
