/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_idem.h — the idempotency state of a request, shared by the two
 * glue files of Idempotency-Key enforcement (mod_goapi_idempotency.c: the
 * claim and the answers; mod_goapi_idem_filters.c: the body and response
 * kept, the outcome recorded); nothing else includes it.
 */
#ifndef MOD_GOAPI_IDEM_H
#define MOD_GOAPI_IDEM_H

#include "goapi_idem.h"
#include "mod_goapi.h"

typedef enum {
    GOAPI_IDEM_RUN = 1,         /* the key is ours: the handler runs */
    GOAPI_IDEM_REPLAY,          /* answer with the stored response */
    GOAPI_IDEM_PROBLEM          /* answer with a problem document */
} goapi_idem_mode;

/* The idempotency state of one request (and its internal redirects). */
typedef struct goapi_idem_req {
    goapi_idem_mode mode;
    request_rec *r;                     /* the request answering now */
    const goapi_dir_conf *dc;
    unsigned char key[GOAPI_SHA256_LEN];
    goapi_idem_record claim;            /* our in-flight record */
    apr_bucket_brigade *body;           /* request body, for the handler */
    /* the response, as it passes */
    apr_bucket_brigade *copy;
    apr_bucket_brigade *out;            /* what passes on (made once) */
    apr_off_t copied;
    apr_array_header_t *headers;        /* response headers, taken with the
                                         * first data (before content filters) */
    int too_large;                      /* above GoapiIdempotencyMaxResponse */
    int broken;                         /* the response did not end normally */
    int httpd_answer;                   /* httpd answered with an error itself */
    int client_gone;
    int finished;
    int asked;                          /* the backend was asked about the key
                                         * (GoapiIdempotencyRecovery) */
    goapi_metrics_counter recovered;    /* how it resolved the key, or 0 */
    /* the answer of REPLAY and PROBLEM */
    goapi_idem_record replay;
    int status;
    const char *title;
    const char *detail;
    int retry_after;                    /* seconds, 0 for none */
    goapi_problem_kind kind;            /* which problem a PROBLEM is */
    goapi_metrics_counter outcome;      /* how a PROBLEM is counted */
    char digest[7 + GOAPI_IDEM_DIGEST_LEN + 1]; /* the key in logs, once made */
} goapi_idem_req;

/* The time of a ledger operation that began at t0, for the metrics. */
void goapi_idem_timed(conn_rec *c, apr_time_t t0);

/* The whole body (up to max bytes) read into ctx->body and hashed into
 * sha: OK, HTTP_REQUEST_ENTITY_TOO_LARGE, or the status of a failed read. */
int goapi_idem_read_body(request_rec *r, goapi_idem_req *ctx, apr_int64_t max,
                         unsigned char sha[GOAPI_SHA256_LEN]);
/* ctx made r's: the body handed on, the response kept, the outcome
 * recorded when r's pool goes (goapi_idem_request_done). */
void goapi_idem_attach(goapi_idem_req *ctx, request_rec *r);
apr_status_t goapi_idem_request_done(void *data);
/* The copy of a response begun again (an internal redirect answers). */
void goapi_idem_restart_copy(goapi_idem_req *ctx);

/* What became of a claim in doubt (goapi_idem_orphan()). */
typedef enum {
    GOAPI_ORPHAN_NONE = 0,      /* not in doubt: nothing holds the key */
    GOAPI_ORPHAN_KEPT,          /* the store releases it once it answers */
    GOAPI_ORPHAN_LEFT           /* in doubt, and left to its lease */
} goapi_orphan_fate;

/* Store failures, for log lines: whether one may be logged now (and how
 * many were not since the last); the key as logs show it; what an
 * in-flight record that stays means for retries; a claim whose answer
 * never came kept as an orphan, and what that means. */
int goapi_store_log_now(apr_uint32_t *skipped);
const char *goapi_idem_key_text(goapi_idem_req *ctx, request_rec *r);
const char *goapi_idem_held_then(goapi_idem_req *ctx, request_rec *r);
goapi_orphan_fate goapi_idem_orphan(goapi_idem_req *ctx, apr_status_t rv);
const char *goapi_idem_orphan_then(goapi_orphan_fate fate, const char *what);

#endif /* MOD_GOAPI_IDEM_H */
