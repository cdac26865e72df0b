/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_redact.h — what of a configured URL a message may show.  A
 * directive value that names a server (a ledger, a readiness check) may
 * hold a password: in its userinfo ("user:password@") or in its query
 * ("?password=..."), and, once it is malformed, anywhere.  A refusal shows
 * at most the scheme; a log line about a valid value shows it with the
 * userinfo and every query value replaced by "***".  Pure: APR and libc
 * only.
 */
#ifndef GOAPI_REDACT_H
#define GOAPI_REDACT_H

#include <apr_pools.h>

#define GOAPI_REDACT_SCHEME_MAX 32      /* longest scheme shown, bytes */
#define GOAPI_REDACT_MASK       "***"

/* The scheme of text: what precedes its first ':' when that is a scheme by
 * RFC 3986 (a letter, then letters, digits, '+', '-' or '.'), of at most
 * GOAPI_REDACT_SCHEME_MAX bytes.  NULL when text has none. */
const char *goapi_redact_scheme(apr_pool_t *p, const char *text);

/* text with everything between its scheme (and "//") and its last '@'
 * replaced by "***", and, after that, the value of every query parameter
 * (a parameter without '=' whole) replaced by "***": redis://u:pw@h/0
 * becomes redis://[***]@h/0 and http://h/x?token=t&a becomes
 * http://h/x?token=[***]&[***] (without the brackets).  For a value known to
 * be well formed: a malformed one may hold a secret elsewhere (redis://:pw
 * has no '@'). */
const char *goapi_redact_url(apr_pool_t *p, const char *text);

#endif /* GOAPI_REDACT_H */
