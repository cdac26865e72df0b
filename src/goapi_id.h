/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_id.h — validation of incoming request and correlation IDs and
 * parsing of the Idempotency-Key header.  Pure: APR and libc only.
 */
#ifndef GOAPI_ID_H
#define GOAPI_ID_H

#include <apr_pools.h>

typedef enum {
    GOAPI_ID_OK = 0,
    GOAPI_ID_EMPTY,          /* absent or zero length */
    GOAPI_ID_TOO_LONG,       /* more than the configured maximum */
    GOAPI_ID_BAD_CHAR        /* a character outside A-Z a-z 0-9 - _ . : + / = */
} goapi_id_status;

/* Check an incoming X-Request-ID / X-Correlation-ID value: 1 to max
 * characters from the ID alphabet.  Reads at most max + 1 bytes, so a
 * hostile 10 MB value costs no more than a legal one. */
goapi_id_status goapi_id_check(const char *value, apr_size_t max);

/* A short, fixed description of a status, safe to log (never the value). */
const char *goapi_id_reason(goapi_id_status st);

typedef enum {
    GOAPI_IKEY_OK = 0,
    GOAPI_IKEY_EMPTY,        /* nothing between the quotes, or blank */
    GOAPI_IKEY_TOO_LONG,     /* more than GOAPI_IDEMPOTENCY_KEY_MAX once decoded */
    GOAPI_IKEY_BAD_CHAR,     /* a byte outside printable ASCII */
    GOAPI_IKEY_BAD_SYNTAX,   /* unterminated quote, bad escape, trailing data */
    GOAPI_IKEY_NOT_STRING    /* a bare key where only an sf-string is accepted */
} goapi_ikey_status;

/* Parse an Idempotency-Key field value.  Two forms are accepted:
 *  - an RFC 8941 sf-string: "..." with \" and \\ as the only escapes and
 *    printable ASCII (0x20-0x7E) inside; parameters are not accepted;
 *  - a bare key: visible ASCII (0x21-0x7E) except DQUOTE, backslash and
 *    comma (a comma is what httpd puts between repeated header fields).
 * Surrounding spaces and tabs are ignored.  On success *key is the decoded
 * key (1 to GOAPI_IDEMPOTENCY_KEY_MAX characters), allocated from p only
 * when it differs from the input. */
goapi_ikey_status goapi_ikey_parse(apr_pool_t *p, const char *value,
                                   const char **key);

/* The same, accepting the sf-string form only (the Idempotency-Key
 * draft's syntax, GoapiIdempotencyKeySyntax Strict): a bare key is
 * GOAPI_IKEY_NOT_STRING. */
goapi_ikey_status goapi_ikey_parse_strict(apr_pool_t *p, const char *value,
                                          const char **key);

const char *goapi_ikey_reason(goapi_ikey_status st);

/* key written as an sf-string ("..." with '"' and '\\' escaped), from p:
 * what goapi_ikey_parse_strict() reads back as key. */
const char *goapi_ikey_quote(apr_pool_t *p, const char *key);

#endif /* GOAPI_ID_H */
