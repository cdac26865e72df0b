/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_id.c — request/correlation ID validation and Idempotency-Key parsing.
 */
#include <string.h>

#include <apr_strings.h>

#include "goapi_defs.h"
#include "goapi_id.h"

/* 1 for the bytes an incoming ID may contain: A-Z a-z 0-9 - _ . : + / =
 * A table keeps the per-byte test to one load on the request path. */
static const unsigned char goapi_id_alphabet[256] = {
    ['-'] = 1, ['_'] = 1, ['.'] = 1, [':'] = 1, ['+'] = 1, ['/'] = 1, ['='] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
    ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
    ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
    ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

goapi_id_status goapi_id_check(const char *value, apr_size_t max)
{
    const unsigned char *s = (const unsigned char *)value;
    apr_size_t n;

    if (s == NULL || *s == '\0') {
        return GOAPI_ID_EMPTY;
    }
    for (n = 0; s[n] != '\0'; n++) {
        if (n == max) {
            return GOAPI_ID_TOO_LONG;
        }
        if (!goapi_id_alphabet[s[n]]) {
            return GOAPI_ID_BAD_CHAR;
        }
    }
    return GOAPI_ID_OK;
}

const char *goapi_id_reason(goapi_id_status st)
{
    switch (st) {
    case GOAPI_ID_OK:       return "valid";
    case GOAPI_ID_EMPTY:    return "empty";
    case GOAPI_ID_TOO_LONG: return "too long";
    case GOAPI_ID_BAD_CHAR: return "character outside A-Z a-z 0-9 - _ . : + / =";
    }
    return "invalid";
}

static int goapi_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* A bare key byte: visible ASCII except DQUOTE, backslash and comma. */
static int goapi_ikey_bare_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != ',';
}

/* Decode the sf-string that starts at s (on its opening quote) and ends
 * before end.  RFC 8941 section 4.2.5, without parameters. */
static goapi_ikey_status goapi_ikey_unquote(apr_pool_t *p, const char *s,
                                            const char *end, const char **key)
{
    char *out, *o;
    const char *q;

    /* The decoded key is never longer than the quoted text. */
    out = o = apr_palloc(p, (apr_size_t)(end - s));
    for (q = s + 1; q < end; q++) {
        unsigned char c = (unsigned char)*q;

        if (c == '\\') {
            if (++q == end || (*q != '"' && *q != '\\')) {
                return GOAPI_IKEY_BAD_SYNTAX;
            }
            *o++ = *q;
        }
        else if (c == '"') {
            break;
        }
        else if (c < 0x20 || c > 0x7e) {
            return GOAPI_IKEY_BAD_CHAR;
        }
        else {
            *o++ = (char)c;
        }
        if (o - out > GOAPI_IDEMPOTENCY_KEY_MAX) {
            return GOAPI_IKEY_TOO_LONG;
        }
    }
    if (q == end) {
        return GOAPI_IKEY_BAD_SYNTAX;           /* no closing quote */
    }
    if (q + 1 != end) {
        return GOAPI_IKEY_BAD_SYNTAX;           /* data after the string */
    }
    if (o == out) {
        return GOAPI_IKEY_EMPTY;
    }
    *o = '\0';
    *key = out;
    return GOAPI_IKEY_OK;
}

static goapi_ikey_status goapi_ikey_parse_as(apr_pool_t *p, const char *value,
                                             int strict, const char **key)
{
    const char *s, *end, *q;

    *key = NULL;
    if (value == NULL) {
        return GOAPI_IKEY_EMPTY;
    }
    for (s = value; goapi_is_ows(*s); s++)
        ;
    /* Bounded scan for the end: past this many bytes no form can be valid,
     * and trailing blanks are all that may follow the key. */
    for (end = s; *end != '\0'; end++) {
        if (end - s > 2 * GOAPI_IDEMPOTENCY_KEY_MAX + 2) {
            return GOAPI_IKEY_TOO_LONG;
        }
    }
    while (end > s && goapi_is_ows(end[-1])) {
        end--;
    }
    if (end == s) {
        return GOAPI_IKEY_EMPTY;
    }
    if (*s == '"') {
        return goapi_ikey_unquote(p, s, end, key);
    }
    if (strict) {
        return GOAPI_IKEY_NOT_STRING;
    }
    if (end - s > GOAPI_IDEMPOTENCY_KEY_MAX) {
        return GOAPI_IKEY_TOO_LONG;
    }
    for (q = s; q < end; q++) {
        unsigned char c = (unsigned char)*q;

        if (!goapi_ikey_bare_char(c)) {
            return (c < 0x20 || c > 0x7e) ? GOAPI_IKEY_BAD_CHAR
                                          : GOAPI_IKEY_BAD_SYNTAX;
        }
    }
    *key = (s == value && *end == '\0') ? value
                                        : apr_pstrmemdup(p, s, (apr_size_t)(end - s));
    return GOAPI_IKEY_OK;
}

goapi_ikey_status goapi_ikey_parse(apr_pool_t *p, const char *value,
                                   const char **key)
{
    return goapi_ikey_parse_as(p, value, 0, key);
}

const char *goapi_ikey_quote(apr_pool_t *p, const char *key)
{
    char *out = apr_palloc(p, 2 * strlen(key) + 3), *o = out;

    *o++ = '"';
    for (; *key; key++) {
        if (*key == '"' || *key == '\\') {
            *o++ = '\\';
        }
        *o++ = *key;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

goapi_ikey_status goapi_ikey_parse_strict(apr_pool_t *p, const char *value,
                                          const char **key)
{
    return goapi_ikey_parse_as(p, value, 1, key);
}

const char *goapi_ikey_reason(goapi_ikey_status st)
{
    switch (st) {
    case GOAPI_IKEY_OK:         return "valid";
    case GOAPI_IKEY_EMPTY:      return "empty";
    case GOAPI_IKEY_TOO_LONG:   return "too long";
    case GOAPI_IKEY_BAD_CHAR:   return "byte outside printable ASCII";
    case GOAPI_IKEY_BAD_SYNTAX: return "not a valid sf-string or bare key";
    case GOAPI_IKEY_NOT_STRING: return "not an sf-string (\"...\"), the only form accepted";
    }
    return "invalid";
}
