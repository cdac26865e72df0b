/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_redact.c — configured URLs as messages may show them (see
 * goapi_redact.h).
 */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "goapi_redact.h"

/* Bytes of the scheme at the start of text (not counting its ':'), or 0. */
static apr_size_t goapi_redact_scheme_len(const char *text)
{
    apr_size_t n;

    if (!apr_isalpha(text[0])) {
        return 0;
    }
    for (n = 1; apr_isalnum(text[n]) || text[n] == '+' || text[n] == '-' || text[n] == '.';
         n++) {
        if (n >= GOAPI_REDACT_SCHEME_MAX) {
            return 0;
        }
    }
    return text[n] == ':' ? n : 0;
}

const char *goapi_redact_scheme(apr_pool_t *p, const char *text)
{
    apr_size_t n = goapi_redact_scheme_len(text);

    return n ? apr_pstrmemdup(p, text, n) : NULL;
}

const char *goapi_redact_url(apr_pool_t *p, const char *text)
{
    apr_size_t n = goapi_redact_scheme_len(text);
    const char *rest = text + (n ? n + 1 : 0);
    const char *at, *q, *c;
    char *out, *o;

    if (n && rest[0] == '/' && rest[1] == '/') {
        rest += 2;
    }
    /* at most the text again plus a mask per byte of the query */
    out = o = apr_palloc(p, strlen(text) * (sizeof(GOAPI_REDACT_MASK) + 1) + 1);
    memcpy(o, text, (apr_size_t)(rest - text));
    o += rest - text;
    at = strrchr(rest, '@');
    if (at) {
        memcpy(o, GOAPI_REDACT_MASK "@", sizeof(GOAPI_REDACT_MASK));
        o += sizeof(GOAPI_REDACT_MASK);
        rest = at + 1;
    }
    q = strchr(rest, '?');
    if (!q) {
        memcpy(o, rest, strlen(rest) + 1);
        return out;
    }
    memcpy(o, rest, (apr_size_t)(q + 1 - rest));
    o += q + 1 - rest;
    /* each parameter: its name, if it has one, then the mask */
    for (c = q + 1; ; c++) {
        const char *end = c + strcspn(c, "&;");
        const char *eq = memchr(c, '=', (apr_size_t)(end - c));

        if (eq) {
            memcpy(o, c, (apr_size_t)(eq + 1 - c));
            o += eq + 1 - c;
        }
        memcpy(o, GOAPI_REDACT_MASK, sizeof(GOAPI_REDACT_MASK) - 1);
        o += sizeof(GOAPI_REDACT_MASK) - 1;
        if (!*end) {
            break;
        }
        *o++ = *end;
        c = end;
    }
    *o = '\0';
    return out;
}
