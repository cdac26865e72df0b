/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_recovery.h — asking the backend what became of an operation whose
 * outcome is unknown (GoapiIdempotencyRecovery).
 *
 * A key whose request died mid-way (its process was killed, its lease ran
 * out) is "outcome unknown": it must not run again on a guess.  The backend
 * received the forwarded Idempotency-Key and knows whether it acted on it,
 * so mod_goapi asks it, GET <url> with that key, and its answer decides:
 *
 *   404, 410          it never saw the key and will not act on it later:
 *                     the key may be taken over and the request run, once;
 *   2xx, other 4xx    that is the operation's outcome: record it, replay it;
 *   anything else     (409 or 425 still working, 429, 3xx, 5xx, a body too
 *                     large, no answer in time): still unknown.
 *
 * One HTTP/1.1 exchange on its own connection (Connection: close), within
 * the request's deadline.  Pure: APR and libc only.
 */
#ifndef GOAPI_RECOVERY_H
#define GOAPI_RECOVERY_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "goapi_health.h"
#include "goapi_sha256.h"

typedef enum {
    GOAPI_RECOVERY_RUN = 1,         /* never seen: run it now, once */
    GOAPI_RECOVERY_FINAL,           /* the outcome: record and replay it */
    GOAPI_RECOVERY_UNKNOWN          /* still unknown: 409, ask again later */
} goapi_recovery_verdict;

/* What an answer of this status means. */
goapi_recovery_verdict goapi_recovery_judge(int status);

/* Largest head (status line and headers) read, bytes. */
#define GOAPI_RECOVERY_MAX_HEAD  16384

typedef struct {
    int status;
    apr_array_header_t *headers;    /* goapi_idem_header: those a replay carries */
    const char *body;
    apr_size_t body_len;
} goapi_recovery_answer;

/* Parse the HTTP/1.x response in buf[0, len), closed when the peer has
 * closed the connection after it.  Interim (1xx) responses are skipped;
 * a chunked body is decoded.  The headers kept leave out hop-by-hop ones,
 * Content-Length, Date, Server and the names in skip (NULL-terminated, case
 * insensitive).  APR_SUCCESS with *a filled (from p); APR_INCOMPLETE when
 * more bytes are needed; APR_ENOSPC for a body over max_body; APR_EINVAL for
 * anything that is not a well-formed response. */
apr_status_t goapi_recovery_parse(apr_pool_t *p, const char *buf, apr_size_t len,
                                  int closed, apr_size_t max_body,
                                  const char *const *skip, goapi_recovery_answer *a);

/* The question: GET u's path with the headers given (goapi_idem_header). */
const char *goapi_recovery_request(apr_pool_t *p, const goapi_check_url *u,
                                   const apr_array_header_t *headers);

/* Ask: connect to u, send request, read and parse the answer, all by
 * deadline.  APR_SUCCESS with *a; otherwise a status and *why says what
 * went wrong (no answer in time, refused, malformed, too large). */
apr_status_t goapi_recovery_ask(apr_pool_t *p, const goapi_check_url *u,
                                const char *request, apr_time_t deadline,
                                apr_size_t max_body, const char *const *skip,
                                goapi_recovery_answer *a, const char **why);

/* At most one question per key per interval in a process: a fixed table
 * of the keys asked last (a key whose slot another key took may be asked
 * again sooner).  Shared by the process's threads. */
typedef struct goapi_recovery_limiter goapi_recovery_limiter;

goapi_recovery_limiter *goapi_recovery_limiter_create(apr_pool_t *p);

/* 1 (and the time noted) when key may be asked at now; 0 when it was asked
 * less than interval ago. */
int goapi_recovery_due(goapi_recovery_limiter *l, const unsigned char key[GOAPI_SHA256_LEN],
                       apr_time_t now, apr_interval_time_t interval);

#endif /* GOAPI_RECOVERY_H */
