/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_idempotency.c — Idempotency-Key enforcement for any handler
 * behind mod_goapi (its own routes, mod_proxy, CGI).
 *
 * At fixups (after access control, so the user is known) a request that
 * GoapiIdempotency covers has its body read and fingerprinted, then its key
 * is claimed in the ledger (src/goapi_store.h) in one write transaction:
 *   - taken: the handler runs; an output filter keeps a copy of the final
 *     status, headers and body and stores them as the completed record at
 *     the end of the response, before the last bytes reach the client.  If
 *     the client goes away mid-response the filter keeps taking the rest,
 *     so that the record is complete for the retry that will follow;
 *   - held by a completed record: the stored response is replayed by this
 *     module's handler and the handler behind it never runs;
 *   - held while in flight: 409; another request's key: 422.
 * The body is handed to the handler unchanged by an input filter.  A
 * completed replay is found with a read transaction, without a lock.
 *
 * The claim is released, so that a retry may run, only when the handler
 * provably never reached the operation: httpd itself answered 503 (mod_proxy
 * could not connect or had no worker), or the handler said so with the
 * request note GOAPI_NOTE_NOT_APPLIED.  Whatever else happens the outcome is
 * recorded, and a record whose response could not be kept makes a retry get
 * 409, never a second run.  A claim whose holder died (or outlived its lease)
 * stays in the ledger: its outcome is unknown, and retries get a final 409
 * saying so until the record's TTL, unless the location asked for
 * GoapiIdempotencyRerunAfterLease.
 *
 * A claim (or a release) whose answer never came is an orphan: the request
 * got 503 "nothing ran", and the store releases that claim (fenced) as soon
 * as it answers again, before this child's next claim or from this child's
 * settling thread; a retry then runs once.  If the child ends first, the
 * key is unknown after its lease, never run twice.
 */
#include <stddef.h>          /* before APR: its ring macros then use offsetof */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_connection.h"
#include "http_request.h"
#include "util_filter.h"

#include <apr_strings.h>

#include "goapi_brigade.h"
#include "goapi_idem.h"
#include "goapi_json.h"
#include "goapi_log_limit.h"
#include "goapi_parse.h"
#include "goapi_replay_cache.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

#define GOAPI_KEPT_BODY_FILTER  "GOAPI_KEPT_BODY"
#define GOAPI_CAPTURE_FILTER    "GOAPI_CAPTURE"
#define GOAPI_IDEM_HANDLER      "goapi-idempotency"

/* Store failures logged in this process (GOAPI_STORE_LOG_INTERVAL). */
static goapi_log_limit goapi_store_log;

static ap_filter_rec_t *goapi_kept_body_handle;
static ap_filter_rec_t *goapi_capture_handle;

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
static void goapi_idem_timed(conn_rec *c, apr_time_t t0)
{
    goapi_metrics_store_time(c, apr_time_now() - t0);
}

/* ---- answers ---------------------------------------------------------- */

/* The problem each refusal counted as outcome is. */
static goapi_problem_kind goapi_idem_problem_kind(goapi_metrics_counter outcome)
{
    switch (outcome) {
    case GOAPI_MC_IDEM_KEY_MISSING:     return GOAPI_PROBLEM_KEY_MISSING;
    case GOAPI_MC_IDEM_KEY_INVALID:     return GOAPI_PROBLEM_KEY_INVALID;
    case GOAPI_MC_IDEM_MISMATCH:        return GOAPI_PROBLEM_KEY_REUSED;
    case GOAPI_MC_IDEM_TOO_LARGE:       return GOAPI_PROBLEM_BODY_TOO_LARGE;
    case GOAPI_MC_IDEM_IN_FLIGHT:       return GOAPI_PROBLEM_IN_PROGRESS;
    case GOAPI_MC_IDEM_NOT_REPLAYABLE:  return GOAPI_PROBLEM_NOT_REPLAYABLE;
    case GOAPI_MC_IDEM_UNKNOWN:         return GOAPI_PROBLEM_OUTCOME_UNKNOWN;
    default:                            return GOAPI_PROBLEM_STORE_UNAVAILABLE;
    }
}

static void goapi_idem_problem(goapi_idem_req *ctx, goapi_metrics_counter outcome,
                               int status, int retry_after, const char *title,
                               const char *detail)
{
    ctx->mode = GOAPI_IDEM_PROBLEM;
    ctx->outcome = outcome;
    ctx->kind = goapi_idem_problem_kind(outcome);
    ctx->status = status;
    ctx->retry_after = retry_after;
    ctx->title = title;
    ctx->detail = detail;
}

static int goapi_idem_send_problem(request_rec *r, goapi_idem_req *ctx)
{
    if (ctx->status == HTTP_REQUEST_ENTITY_TOO_LARGE) {
        r->connection->keepalive = AP_CONN_CLOSE;   /* the rest is unread */
    }
    return goapi_problem_send(r, ctx->kind, ctx->status, ctx->retry_after, ctx->title,
                              ctx->detail);
}

static int goapi_idem_send_replay(request_rec *r, goapi_idem_req *ctx)
{
    const goapi_idem_record *rec = &ctx->replay;
    int i;

    r->status = rec->status;
    for (i = 0; i < rec->headers->nelts; i++) {
        const goapi_idem_header *h = &APR_ARRAY_IDX(rec->headers, i, goapi_idem_header);

        if (!strcasecmp(h->name, "Content-Type")) {
            ap_set_content_type(r, h->value);
        }
        else {
            apr_table_addn(r->headers_out, h->name, h->value);
        }
    }
    apr_table_setn(r->headers_out, GOAPI_IDEM_REPLAYED_HEADER, "true");
    return goapi_send_kept(r, rec->body, rec->body_len);
}

/* Really first among handlers: an answer decided at fixups wins over
 * whatever handler the request was meant for. */
int goapi_idem_handler(request_rec *r)
{
    goapi_req *ids;
    goapi_idem_req *ctx;
    int rv;

    /* fixups named this handler for every answer decided there */
    if (r->main || !r->handler || strcmp(r->handler, GOAPI_IDEM_HANDLER) != 0) {
        return DECLINED;
    }
    ids = goapi_req_of(r);
    ctx = ids->idem;
    if (!ctx || ctx->r != r || ctx->mode == GOAPI_IDEM_RUN) {
        return DECLINED;
    }
    if (ctx->mode == GOAPI_IDEM_PROBLEM) {
        /* 400, 413 and 503 drop the connection: httpd then does not read
         * a body that was not read yet */
        r->status = ctx->status;
    }
    if ((rv = ap_discard_request_body(r)) != OK) {
        return rv;
    }
    return ctx->mode == GOAPI_IDEM_REPLAY ? goapi_idem_send_replay(r, ctx)
                                          : goapi_idem_send_problem(r, ctx);
}

/* ---- the request body ------------------------------------------------- */

/* Read the whole body (up to max bytes) into ctx->body and hash it.
 * OK, HTTP_REQUEST_ENTITY_TOO_LARGE, or the status of a failed read. */
static int goapi_idem_read_body(request_rec *r, goapi_idem_req *ctx, apr_int64_t max,
                                unsigned char sha[GOAPI_SHA256_LEN])
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_bucket_brigade *bb;
    goapi_sha256_ctx h;
    apr_int64_t total = 0;
    apr_off_t declared;
    char *end;
    int seen_eos = 0;

    /* a body announced too large is refused before a byte of it is read */
    if (cl && apr_strtoff(&declared, cl, &end, 10) == APR_SUCCESS && !*end
        && declared > max) {
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    ctx->body = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    goapi_sha256_init(&h);
    while (!seen_eos) {
        apr_status_t rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                                         APR_BLOCK_READ, HUGE_STRING_LEN);
        apr_bucket *b;

        if (rv != APR_SUCCESS) {
            return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t len;

            if (APR_BUCKET_IS_EOS(b)) {
                seen_eos = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(b)) {
                continue;
            }
            rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
            if (rv != APR_SUCCESS) {
                return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
            }
            total += (apr_int64_t)len;
            if (total > max) {
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
            goapi_sha256_update(&h, data, len);
            goapi_brigade_append(ctx->body, data, len);
        }
        apr_brigade_cleanup(bb);
    }
    goapi_sha256_final(&h, sha);
    return OK;
}

/* Hands the kept body to the handler, in the sizes it asks for. */
static apr_status_t goapi_kept_body_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                                           ap_input_mode_t mode, apr_read_type_e block,
                                           apr_off_t readbytes)
{
    goapi_idem_req *ctx = f->ctx;
    apr_bucket *upto;
    apr_status_t rv;

    if (mode != AP_MODE_READBYTES) {
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    }
    if (!APR_BRIGADE_EMPTY(ctx->body)) {
        rv = apr_brigade_partition(ctx->body, readbytes, &upto);
        if (rv != APR_SUCCESS && rv != APR_INCOMPLETE) {
            return rv;
        }
        while (APR_BRIGADE_FIRST(ctx->body) != upto) {
            apr_bucket *b = APR_BRIGADE_FIRST(ctx->body);

            APR_BUCKET_REMOVE(b);
            APR_BRIGADE_INSERT_TAIL(bb, b);
        }
    }
    if (APR_BRIGADE_EMPTY(ctx->body)) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(f->c->bucket_alloc));
    }
    return APR_SUCCESS;
}

/* ---- the response ------------------------------------------------------ */

typedef struct {
    apr_array_header_t *out;
    const char *const *per_request;
} goapi_header_walk;

static int goapi_idem_keep_header(void *baton, const char *name, const char *value)
{
    goapi_header_walk *w = baton;

    if (goapi_idem_header_kept(name, w->per_request) && strcasecmp(name, "Content-Type") != 0) {
        goapi_idem_header *h = apr_array_push(w->out);

        h->name = name;
        h->value = value;
    }
    return 1;
}

/* The headers a replay carries, as the client got them. */
static apr_array_header_t *goapi_idem_response_headers(request_rec *r)
{
    const goapi_server_conf *sc = goapi_sconf(r->server);
    const char *per_request[] = { sc->request_id_header, sc->correlation_id_header, NULL };
    goapi_header_walk w;

    w.out = apr_array_make(r->pool, 8, sizeof(goapi_idem_header));
    w.per_request = per_request;
    if (r->content_type) {
        goapi_idem_header *h = apr_array_push(w.out);

        h->name = "Content-Type";
        h->value = r->content_type;
    }
    apr_table_do(goapi_idem_keep_header, &w, r->err_headers_out, NULL);
    apr_table_do(goapi_idem_keep_header, &w, r->headers_out, NULL);
    return w.out;
}

/* mod_proxy answered 503 itself, before any byte reached a backend: it
 * could not connect, or had no usable worker.  Only for HTTP backends (AJP
 * may answer 503 after sending), and not a backend's own 503 turned into
 * httpd's by ProxyErrorOverride. */
static int goapi_proxy_unreached(request_rec *r)
{
    return r->status == HTTP_SERVICE_UNAVAILABLE
           && r->handler && (!strcmp(r->handler, "proxy-server")
                             || !strncmp(r->handler, "proxy:", 6))
           && r->filename && (!strncmp(r->filename, "proxy:http", 10)
                              || !strncmp(r->filename, "proxy:balancer:", 15))
           && !apr_table_get(r->notes, "proxy-error-override");
}

/* The operation was provably not reached: the handler said so, or mod_proxy
 * answered 503 itself, directly or through an ErrorDocument (then on the
 * request redirected from).  A backend's own 503 passed through is not. */
static int goapi_idem_not_applied(goapi_idem_req *ctx, request_rec *r)
{
    request_rec *rr;

    if (ctx->httpd_answer && goapi_proxy_unreached(r)) {
        return 1;
    }
    for (rr = r; rr; rr = rr->prev) {
        if (apr_table_get(rr->notes, GOAPI_NOTE_NOT_APPLIED)) {
            return 1;
        }
        if (rr != r && goapi_proxy_unreached(rr)) {
            return 1;
        }
    }
    return 0;
}

/* 1 when a store error may be logged now (goapi_log_due()). */
static int goapi_store_log_now(apr_uint32_t *skipped)
{
    return goapi_log_due(&goapi_store_log, apr_time_now(), GOAPI_STORE_LOG_INTERVAL,
                               skipped);
}

/* What an in-flight record that stays means for retries, for log lines
 * (docs/idempotency.md, "When the store fails"). */
static const char *goapi_idem_held_then(goapi_idem_req *ctx, request_rec *r)
{
    char lease[32], ttl[32];

    goapi_format_duration(ctx->dc->idem_lease, lease);
    if (ctx->dc->idem_rerun == 1) {
        return apr_psprintf(r->pool, "retries get 409 \"in progress\" until "
                            "GoapiIdempotencyLease (%s) has passed since the claim, then a "
                            "retry takes the key over and runs the operation again "
                            "(GoapiIdempotencyRerunAfterLease On)", lease);
    }
    return apr_psprintf(r->pool, "retries get 409 \"in progress\" until "
                        "GoapiIdempotencyLease (%s) has passed since the claim, then 409 "
                        "\"Outcome unknown\" until GoapiIdempotencyTTL (%s): never a "
                        "second run", lease, goapi_format_duration(ctx->dc->idem_ttl, ttl));
}

/* How a record can vanish from this store. */
static const char *goapi_idem_vanished_how(void)
{
    const char *kind = goapi_ledger_kind();

    return kind && !strcmp(kind, "redis")
           ? "evicted by Redis under maxmemory, or deleted by hand"
           : "deleted by hand, or expired";
}

/* The key as logs show it, "sha256:" and a digest (goapi_idem_key_digest()),
 * made once. */
static const char *goapi_idem_key_text(goapi_idem_req *ctx, request_rec *r)
{
    if (!ctx->digest[0]) {
        memcpy(ctx->digest, "sha256:", 7);
        goapi_idem_key_digest(ctx->digest + 7, goapi_req_of(r)->idempotency_key);
    }
    return ctx->digest;
}

/* What became of a claim in doubt (goapi_idem_orphan()). */
typedef enum {
    GOAPI_ORPHAN_NONE = 0,      /* not in doubt: nothing holds the key */
    GOAPI_ORPHAN_KEPT,          /* the store releases it once it answers */
    GOAPI_ORPHAN_LEFT           /* in doubt, and left to its lease */
} goapi_orphan_fate;

/* A claim or release of ours that failed with rv: when it is in doubt, the
 * store is asked to release the claim once it answers again. */
static goapi_orphan_fate goapi_idem_orphan(goapi_idem_req *ctx, apr_status_t rv)
{
    if (!goapi_store_unsure(goapi_ledger_store(), rv)) {
        return GOAPI_ORPHAN_NONE;
    }
    return goapi_store_orphan(goapi_ledger_store(), ctx->key, &ctx->claim) == APR_SUCCESS
           ? GOAPI_ORPHAN_KEPT : GOAPI_ORPHAN_LEFT;
}

/* The words of a log line for that fate (what: "claim" or "release");
 * GOAPI_ORPHAN_LEFT and _NONE are followed by goapi_idem_held_then(). */
static const char *goapi_idem_orphan_then(goapi_orphan_fate fate, const char *what)
{
    switch (fate) {
    case GOAPI_ORPHAN_KEPT:
        return !strcmp(what, "claim")
               ? "the claim may have landed (a stopped store applies it when it "
                 "resumes): this process releases it (fenced: only this claim) as soon "
                 "as the store answers again, and a retry then runs once; if this "
                 "process ends first, the key is \"Outcome unknown\" after its lease, "
                 "never run twice"
               : "the release may not have landed: this process sends it again (fenced: "
                 "only this claim) as soon as the store answers, and a retry then runs "
                 "once; if this process ends first, the key is \"Outcome unknown\" "
                 "after its lease, never run twice";
    case GOAPI_ORPHAN_LEFT:
        return "the claim may be held although nothing ran, and this process keeps no "
               "more claims to release (its queue is full): ";
    case GOAPI_ORPHAN_NONE:
        break;
    }
    return !strcmp(what, "claim") ? "" : "the claim stays: ";
}

/* What became of a release (the operation was not reached). */
static void goapi_idem_log_release(goapi_idem_req *ctx, request_rec *r, apr_status_t rv)
{
    apr_uint32_t skipped;

    if (rv == APR_SUCCESS || rv == APR_ENOENT) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, GOAPI_LOGNO(00038)
                      "Idempotency-Key %s released: status %d, the operation was not "
                      "reached%s", goapi_idem_key_text(ctx, r), r->status,
                      rv == APR_ENOENT ? " (its record was already gone)" : "");
    }
    else if (rv == APR_NOTFOUND) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, GOAPI_LOGNO(00087)
                      "Idempotency-Key %s not released: another request holds the key "
                      "now; retries get what that request records", goapi_idem_key_text(ctx, r));
    }
    else {
        int orphan = goapi_idem_orphan(ctx, rv);

        if (goapi_store_log_now(&skipped)) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, GOAPI_LOGNO(00086)
                          "idempotency store %s: cannot release Idempotency-Key %s (status "
                          "%d, the operation was not reached): %s; %s%s (%u store errors "
                          "not logged before this one)", goapi_ledger_shown(),
                          goapi_idem_key_text(ctx, r), r->status,
                          goapi_ledger_why(rv, r->pool),
                          goapi_idem_orphan_then(orphan, "release"),
                          orphan == GOAPI_ORPHAN_KEPT ? "" : goapi_idem_held_then(ctx, r),
                          skipped);
        }
    }
}

/* Record the outcome of the request that held the key.  complete: the
 * response passed in full (status and headers are final). */
static void goapi_idem_finish(goapi_idem_req *ctx, request_rec *r, int complete)
{
    goapi_idem_record done = ctx->claim;
    apr_status_t rv;
    apr_time_t t0;
    char d[32];

    if (ctx->finished) {
        return;
    }
    ctx->finished = 1;
    if (goapi_idem_not_applied(ctx, r)) {
        apr_time_t t0 = apr_time_now();

        rv = goapi_ledger_store()->ops->release(goapi_ledger_store(), ctx->key, ctx->claim.claim_id);
        goapi_idem_timed(r->connection, t0);
        goapi_idem_log_release(ctx, r, rv);
        return;
    }
    done.state = GOAPI_IDEM_COMPLETED;
    done.status = r->status;
    done.expires = apr_time_now() + ctx->dc->idem_ttl;
    done.headers = NULL;
    done.body = NULL;
    done.body_len = 0;
    done.flags = 0;
    if (complete && !ctx->too_large) {
        char *body = NULL;
        apr_size_t len = 0;

        if (apr_brigade_pflatten(ctx->copy, &body, &len, r->pool) == APR_SUCCESS) {
            done.flags = GOAPI_IDEM_F_REPLAYABLE;
            done.headers = ctx->headers ? ctx->headers : goapi_idem_response_headers(r);
            done.body = body;
            done.body_len = len;
        }
        if (!goapi_idem_encoded_size(&done)) {
            /* a header the record cannot hold: keep the outcome only */
            done.flags = 0;
            done.headers = NULL;
            done.body = NULL;
            done.body_len = 0;
        }
    }
    t0 = apr_time_now();
    rv = goapi_ledger_store()->ops->complete(goapi_ledger_store(), ctx->key, &done);
    goapi_idem_timed(r->connection, t0);
    if (rv == APR_ENOSPC && done.flags) {
        /* full: the outcome without the response still fits where the
         * claim was */
        done.flags = 0;
        done.headers = NULL;
        done.body = NULL;
        done.body_len = 0;
        rv = goapi_ledger_store()->ops->complete(goapi_ledger_store(), ctx->key, &done);
        if (rv == APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, APR_ENOSPC, r, GOAPI_LOGNO(00039)
                          "idempotency store full: the response to Idempotency-Key %s "
                          "is not kept, retries get 409", goapi_idem_key_text(ctx, r));
        }
    }
    if (rv == APR_NOTFOUND && ctx->dc->idem_rerun == 1) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, GOAPI_LOGNO(00040)
                      "Idempotency-Key %s: another request took the key over after "
                      "GoapiIdempotencyLease (%s, with GoapiIdempotencyRerunAfterLease "
                      "On); this outcome is not recorded: retries get what that request "
                      "records", goapi_idem_key_text(ctx, r),
                      goapi_format_duration(ctx->dc->idem_lease, d));
    }
    else if (rv == APR_NOTFOUND) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, GOAPI_LOGNO(00084)
                      "Idempotency-Key %s: another request holds the key now, although "
                      "GoapiIdempotencyRerunAfterLease is Off here: this request's record "
                      "vanished (%s) and a retry claimed the key anew, or a server sharing "
                      "the store takes keys over; this outcome (status %d) is not "
                      "recorded: retries get what that request records",
                      goapi_idem_key_text(ctx, r), goapi_idem_vanished_how(), done.status);
    }
    else if (rv == APR_ENOENT) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, GOAPI_LOGNO(00085)
                      "idempotency store %s: the record of Idempotency-Key %s vanished "
                      "while this request held it (%s): this outcome (status %d) is not "
                      "recorded and the key is free: a retry with it runs the operation "
                      "again", goapi_ledger_shown(), goapi_idem_key_text(ctx, r),
                      goapi_idem_vanished_how(), done.status);
    }
    else if (rv != APR_SUCCESS) {
        apr_uint32_t skipped;

        if (goapi_store_log_now(&skipped)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, GOAPI_LOGNO(00041)
                          "idempotency store %s: cannot record the outcome (status %d) of "
                          "Idempotency-Key %s: %s; %s%s (%u store errors not logged "
                          "before this one)", goapi_ledger_shown(), done.status,
                          goapi_idem_key_text(ctx, r), goapi_ledger_why(rv, r->pool),
                          goapi_store_unsure(goapi_ledger_store(), rv)
                          ? "the completion may or may not have landed: if it did, "
                            "retries get this response; if not, it stays in flight: "
                          : "the record stays in flight: ",
                          goapi_idem_held_then(ctx, r), skipped);
        }
    }
    else {
        goapi_replay_cache_put(goapi_ledger_replay_cache(), ctx->key, &done);
    }
    if (rv == APR_SUCCESS && APLOG_R_IS_LEVEL(r, APLOG_DEBUG)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, GOAPI_LOGNO(00042)
                      "Idempotency-Key %s completed: status %d, %s",
                      goapi_idem_key_text(ctx, r), done.status,
                      done.flags ? "replayable" : "not replayable");
    }
}

/* Passes what was copied on, or drops it once the client is gone. */
static apr_status_t goapi_capture_pass(goapi_idem_req *ctx, ap_filter_t *f,
                                       apr_bucket_brigade *out, int eos)
{
    request_rec *r = f->r;
    conn_rec *c = r->connection;
    apr_status_t rv;

    if (!ctx->client_gone) {
        rv = ap_pass_brigade(f->next, out);
        apr_brigade_cleanup(out);
        if (!c->aborted || eos) {
            return rv;                  /* errors other than a gone client go up */
        }
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r, GOAPI_LOGNO(00043)
                      "client gone during the response to Idempotency-Key %s; taking "
                      "the rest for the record", goapi_idem_key_text(ctx, r));
        ctx->client_gone = 1;
        c->keepalive = AP_CONN_CLOSE;
        c->aborted = 0;
    }
    apr_brigade_cleanup(out);
    if (eos) {
        c->aborted = 1;
        return APR_SUCCESS;
    }
    if (apr_time_now() >= ctx->claim.lease_end) {
        /* the lease is over: stop here, record that the outcome is unknown */
        ctx->broken = 1;
        goapi_idem_finish(ctx, r, 0);
        c->aborted = 1;
        return APR_ECONNABORTED;
    }
    return APR_SUCCESS;
}

/* Copies the response as it passes, before the content filters (so that a
 * replay goes through them again, compressed for the retry only if the
 * retry asks for it).  Each bucket is passed on once read, so a streaming
 * handler still streams.  Once the client is gone the rest is still taken,
 * and the handler is told all is well so that it finishes the operation and
 * the record is complete; but never past the lease, when another request
 * may take the key over. */
static apr_status_t goapi_capture_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    goapi_idem_req *ctx = f->ctx;
    request_rec *r = f->r;
    conn_rec *c = r->connection;
    apr_int64_t max = ctx->dc->idem_max_response;
    apr_bucket_brigade *out;
    apr_status_t rv = APR_SUCCESS;

    if (ctx->finished) {
        return ap_pass_brigade(f->next, bb);
    }
    /* one brigade for every call: a handler that passes its response a
     * few bytes at a time must not make a brigade per call */
    if (!ctx->out) {
        ctx->out = apr_brigade_create(r->pool, c->bucket_alloc);
    }
    out = ctx->out;
    while (!APR_BRIGADE_EMPTY(bb)) {
        apr_bucket *b = APR_BRIGADE_FIRST(bb);
        int eos = APR_BUCKET_IS_EOS(b), unread = b->length == (apr_size_t)-1;

        if (AP_BUCKET_IS_ERROR(b) || AP_BUCKET_IS_EOC(b)) {
            ctx->broken = 1;            /* e.g. the backend failed mid-body */
        }
        else if (!eos && !APR_BUCKET_IS_METADATA(b)) {
            const char *data;
            apr_size_t len;

            if (!ctx->headers) {
                ctx->headers = goapi_idem_response_headers(r);
            }
            rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
            if (rv != APR_SUCCESS) {
                ctx->broken = 1;
                break;
            }
            if (!ctx->too_large && ctx->copied + (apr_off_t)len > max) {
                ctx->too_large = 1;
                apr_brigade_cleanup(ctx->copy);
            }
            if (!ctx->too_large) {
                goapi_brigade_append(ctx->copy, data, len);
                ctx->copied += (apr_off_t)len;
            }
        }
        APR_BUCKET_REMOVE(b);
        APR_BRIGADE_INSERT_TAIL(out, b);
        if (eos) {
            if (!ctx->headers) {
                ctx->headers = goapi_idem_response_headers(r);
            }
            /* recorded before the client sees the end */
            goapi_idem_finish(ctx, r, !ctx->broken);
        }
        if (eos || unread || APR_BRIGADE_EMPTY(bb)) {
            rv = goapi_capture_pass(ctx, f, out, eos);
            if (rv != APR_SUCCESS) {
                break;
            }
        }
    }
    apr_brigade_cleanup(bb);
    apr_brigade_cleanup(out);
    return rv;
}

/* A new answer (an error httpd makes itself, an ErrorDocument) replaces
 * whatever was copied. */
static void goapi_idem_restart_copy(goapi_idem_req *ctx)
{
    apr_brigade_cleanup(ctx->copy);
    ctx->copied = 0;
    ctx->too_large = 0;
    ctx->headers = NULL;
}

/* httpd answers an error itself (the handler returned a status): the copy
 * starts again with that answer, and whether the operation was reached is
 * decided at its end (goapi_idem_not_applied). */
void goapi_idem_insert_error_filter(request_rec *r)
{
    goapi_idem_req *ctx;

    if (r->main) {
        return;
    }
    ctx = goapi_req_of(r)->idem;
    if (!ctx || ctx->mode != GOAPI_IDEM_RUN || ctx->finished) {
        return;
    }
    goapi_idem_restart_copy(ctx);
    ctx->httpd_answer = 1;
    ap_add_output_filter_handle(goapi_capture_handle, ctx, r, r->connection);
}

/* The request ended without its response passing in full (the connection
 * broke before the end, or a module bypassed the filters): what the
 * operation did is unknown, so the key is completed without a response and
 * a retry gets 409 rather than a second run. */
static apr_status_t goapi_idem_request_done(void *data)
{
    goapi_idem_req *ctx = data;

    if (!ctx->finished && goapi_ledger_store()) {
        goapi_idem_finish(ctx, ctx->r, 0);
    }
    return APR_SUCCESS;
}

static void goapi_idem_attach(goapi_idem_req *ctx, request_rec *r)
{
    ctx->r = r;
    ap_add_input_filter_handle(goapi_kept_body_handle, ctx, r, r->connection);
    ap_add_output_filter_handle(goapi_capture_handle, ctx, r, r->connection);
}

/* ---- fixups -------------------------------------------------------------- */

static void goapi_idem_claim(goapi_idem_req *ctx, request_rec *r,
                             const unsigned char fp[GOAPI_SHA256_LEN], unsigned extra);

/* A key whose outcome is unknown, on a location with
 * GoapiIdempotencyRecovery: ask the backend.  1 when its answer decided
 * (the outcome recorded and replayed, or the key taken over and run, or
 * whatever a concurrent request left), 0 when it is still unknown. */
static int goapi_idem_recover(goapi_idem_req *ctx, request_rec *r,
                              const goapi_idem_record *held,
                              const unsigned char fp[GOAPI_SHA256_LEN])
{
    goapi_recovery_answer a;
    goapi_idem_record done;
    const char *why = NULL;
    goapi_recovery_verdict v;
    apr_status_t rv;

    ctx->asked = 1;
    v = goapi_recovery_consult(r, ctx->key, &a, &why);
    if (v == GOAPI_RECOVERY_RUN) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, GOAPI_LOGNO(00088)
                      "Idempotency-Key %s: outcome unknown; %s (GoapiIdempotencyRecovery: "
                      "never seen, and never to be acted on): taking the key over to run "
                      "it now", goapi_idem_key_text(ctx, r), why);
        ctx->recovered = GOAPI_MC_IDEM_RECOVERED_RAN;
        goapi_idem_claim(ctx, r, fp, GOAPI_CLAIM_RERUN_AFTER_LEASE);
        if (ctx->mode != GOAPI_IDEM_RUN) {
            ctx->recovered = 0;         /* another request took it first */
        }
        return 1;
    }
    if (v == GOAPI_RECOVERY_FINAL) {
        /* the outcome, completed under the claim that was lost (fenced:
         * only while that claim still holds the key) */
        done = *held;
        done.state = GOAPI_IDEM_COMPLETED;
        done.flags = GOAPI_IDEM_F_REPLAYABLE;
        done.status = a.status;
        done.headers = a.headers;
        done.body = a.body;
        done.body_len = a.body_len;
        if (!goapi_idem_encoded_size(&done)) {
            why = apr_psprintf(r->pool, "%s, with a header the record cannot hold", why);
        }
        else if ((rv = goapi_ledger_store()->ops->complete(goapi_ledger_store(), ctx->key, &done))
                 == APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, GOAPI_LOGNO(00089)
                          "Idempotency-Key %s: outcome unknown; %s "
                          "(GoapiIdempotencyRecovery): recorded as its outcome and "
                          "replayed, now and on every retry", goapi_idem_key_text(ctx, r),
                          why);
            goapi_replay_cache_put(goapi_ledger_replay_cache(), ctx->key, &done);
            ctx->mode = GOAPI_IDEM_REPLAY;
            ctx->replay = done;
            ctx->recovered = GOAPI_MC_IDEM_RECOVERED_REPLAYED;
            return 1;
        }
        else if (rv == APR_NOTFOUND || rv == APR_ENOENT) {
            /* a concurrent request recorded or took it: its record decides */
            goapi_idem_claim(ctx, r, fp, 0);
            return 1;
        }
        else {
            why = apr_psprintf(r->pool, "%s, but the store could not record it: %s", why,
                               goapi_ledger_why(rv, r->pool));
        }
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, GOAPI_LOGNO(00090)
                  "Idempotency-Key %s: outcome still unknown; %s "
                  "(GoapiIdempotencyRecovery): answered 409, nothing run; the backend is "
                  "asked again on a later retry", goapi_idem_key_text(ctx, r), why);
    return 0;
}

/* The answer to a request whose key a live record holds. */
static void goapi_idem_decide(goapi_idem_req *ctx, request_rec *r,
                              const goapi_idem_record *held,
                              const unsigned char fp[GOAPI_SHA256_LEN], apr_time_t now)
{
    goapi_idem_verdict verdict = goapi_idem_judge(held, fp, now);

    if (verdict == GOAPI_HELD_OUTCOME_UNKNOWN && ctx->dc->idem_recovery && !ctx->asked) {
        if (goapi_idem_recover(ctx, r, held, fp)) {
            return;
        }
        goapi_idem_problem(ctx, GOAPI_MC_IDEM_UNKNOWN, HTTP_CONFLICT, 0, "Outcome unknown",
                           "a request with this key was being processed when its server "
                           "process ended or its lease ran out; the backend does not know "
                           "its outcome yet and it will not be processed again now: retry "
                           "later with the same key");
        ctx->outcome = GOAPI_MC_IDEM_RECOVERY_UNKNOWN;
        return;
    }
    switch (verdict) {
    case GOAPI_HELD_REUSED:
        goapi_idem_problem(ctx, GOAPI_MC_IDEM_MISMATCH, HTTP_UNPROCESSABLE_ENTITY, 0,
                           "Idempotency-Key reused",
                           "this key was already used for a different request (method, "
                           "path, query, body or user); use a new key for a new request");
        break;
    case GOAPI_HELD_IN_PROGRESS:
        goapi_idem_problem(ctx, GOAPI_MC_IDEM_IN_FLIGHT, HTTP_CONFLICT, GOAPI_IDEM_RETRY_AFTER,
                           "Request in progress",
                           "a request with this key is still being processed; retry "
                           "after the time given in Retry-After");
        break;
    case GOAPI_HELD_OUTCOME_UNKNOWN:
        goapi_idem_problem(ctx, GOAPI_MC_IDEM_UNKNOWN, HTTP_CONFLICT, 0, "Outcome unknown",
                           "a request with this key was being processed when its server "
                           "process ended or its lease ran out; whether it took effect is "
                           "not known, and it will not be processed again: check the "
                           "resource before sending a new request with a new key");
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, GOAPI_LOGNO(00062)
                      "Idempotency-Key %s: outcome unknown (claimed %" APR_TIME_T_FMT
                      " s ago, its lease ended); answered 409, not run again",
                      goapi_idem_key_text(ctx, r), apr_time_sec(now - held->created));
        break;
    case GOAPI_HELD_NOT_REPLAYABLE:
        goapi_idem_problem(ctx, GOAPI_MC_IDEM_NOT_REPLAYABLE, HTTP_CONFLICT, 0,
                           "Response not replayable",
                           "the request with this key was already processed, but its "
                           "response was not kept (larger than "
                           "GoapiIdempotencyMaxResponse, or the connection broke before "
                           "it ended); it will not be processed again");
        break;
    case GOAPI_HELD_REPLAY:
        ctx->mode = GOAPI_IDEM_REPLAY;
        ctx->replay = *held;
        break;
    }
}

/* Who may share keys: the virtual host and the authenticated user. */
static const char *goapi_idem_scope(request_rec *r)
{
    return apr_psprintf(r->pool, "%s:%u\n%s", r->server->server_hostname,
                        (unsigned)r->server->port, r->user ? r->user : "");
}

static void goapi_idem_claim(goapi_idem_req *ctx, request_rec *r,
                             const unsigned char fp[GOAPI_SHA256_LEN], unsigned extra)
{
    goapi_store *st = goapi_ledger_store();
    goapi_idem_record held;
    goapi_claim_result res = GOAPI_CLAIM_HELD;
    apr_time_t now = apr_time_now(), t0;
    apr_interval_time_t lease = ctx->dc->idem_lease;
    apr_interval_time_t ttl = ctx->dc->idem_ttl;
    unsigned flags = (ctx->dc->idem_rerun == 1 ? GOAPI_CLAIM_RERUN_AFTER_LEASE : 0) | extra;
    apr_status_t rv;

    /* A retry of a key this child saw complete: no need to ask the store. */
    if (goapi_replay_cache_get(goapi_ledger_replay_cache(), ctx->key, now, &held, r->pool)) {
        goapi_idem_decide(ctx, r, &held, fp, now);
        return;
    }
    /* One call: the store finds a record that holds the key (a replay) as
     * cheaply as it can, and takes the key when none does. */
    memset(&ctx->claim, 0, sizeof(ctx->claim));
    ctx->claim.state = GOAPI_IDEM_IN_FLIGHT;
    if (apr_generate_random_bytes((unsigned char *)&ctx->claim.claim_id,
                                  sizeof(ctx->claim.claim_id)) != APR_SUCCESS) {
        ctx->claim.claim_id = (apr_uint64_t)now ^ ((apr_uint64_t)getpid() << 40);
    }
    ctx->claim.created = now;
    ctx->claim.lease_end = now + lease;
    /* unknown, if its holder dies, for as long as a completion is kept */
    ctx->claim.expires = now + (ttl > lease ? ttl : lease);
    memcpy(ctx->claim.fingerprint, fp, GOAPI_SHA256_LEN);
    t0 = apr_time_now();
    rv = st->ops->claim(st, ctx->key, &ctx->claim, now, flags, &res, &held, r->pool);
    goapi_idem_timed(r->connection, t0);
    if (rv == APR_SUCCESS && res == GOAPI_CLAIM_HELD) {
        goapi_replay_cache_put(goapi_ledger_replay_cache(), ctx->key, &held);
        goapi_idem_decide(ctx, r, &held, fp, now);
        return;
    }
    if (rv == APR_SUCCESS) {
        ctx->mode = GOAPI_IDEM_RUN;
        ctx->copy = apr_brigade_create(r->pool, r->connection->bucket_alloc);
        goapi_idem_attach(ctx, r);
        apr_pool_cleanup_register(r->pool, ctx, goapi_idem_request_done,
                                  apr_pool_cleanup_null);
        if (APLOG_R_IS_LEVEL(r, APLOG_DEBUG)) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, GOAPI_LOGNO(00044)
                          "Idempotency-Key %s claimed", goapi_idem_key_text(ctx, r));
        }
        return;
    }
    {
        goapi_orphan_fate fate = goapi_idem_orphan(ctx, rv);
        apr_uint32_t skipped;

        if (goapi_store_log_now(&skipped)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, GOAPI_LOGNO(00045)
                          "idempotency store %s: cannot claim Idempotency-Key %s: %s; "
                          "answered 503, nothing ran; %s%s (%u store errors not logged "
                          "before this one)", goapi_ledger_shown(), goapi_idem_key_text(ctx, r),
                          goapi_ledger_why(rv, r->pool),
                          fate == GOAPI_ORPHAN_NONE
                          ? "nothing holds the key: it is as it was, and a retry is "
                            "decided when the store answers"
                          : goapi_idem_orphan_then(fate, "claim"),
                          fate == GOAPI_ORPHAN_LEFT ? goapi_idem_held_then(ctx, r) : "",
                          skipped);
        }
    }
    goapi_idem_problem(ctx, GOAPI_MC_IDEM_STORE_ERROR, HTTP_SERVICE_UNAVAILABLE, 60,
                       rv == APR_ENOSPC ? "Idempotency store full"
                                        : "Idempotency store unavailable",
                       "the request was not processed; retry later with the same key");
}

int goapi_idem_fixups(request_rec *r)
{
    const goapi_dir_conf *dc;
    goapi_req *ids;
    goapi_idem_req *ctx;
    unsigned char body_sha[GOAPI_SHA256_LEN], fp[GOAPI_SHA256_LEN];
    int rv;

    if (r->main) {
        return DECLINED;
    }
    ids = goapi_req_of(r);
    if (ids->shed) {
        return DECLINED;                /* turned away: no claim, no record */
    }
    if (!r->prev) {
        ids = NULL;
    }
    if (ids && ids->idem) {
        /* an internal redirect of a request already handled here */
        ctx = ids->idem;
        if (ctx->mode == GOAPI_IDEM_RUN && !ctx->finished) {
            goapi_idem_restart_copy(ctx);
            goapi_idem_attach(ctx, r);
        }
        else {
            ctx->r = r;
        }
        return DECLINED;
    }
    dc = goapi_dconf(r);
    if (dc->idem != 1) {
        return DECLINED;
    }
    if (!(dc->idem_methods & (AP_METHOD_BIT << r->method_number))) {
        return DECLINED;
    }
    ids = goapi_req_of(r);
    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ctx->r = r;
    ctx->dc = dc;
    if (ids->idempotency_key_refused) {
        goapi_idem_problem(ctx, GOAPI_MC_IDEM_KEY_INVALID, HTTP_BAD_REQUEST, 0,
                           "Invalid Idempotency-Key",
                           goapi_sconf(r->server)->idempotency_key_strict
                           ? "Idempotency-Key must be one Structured Field string (in "
                             "double quotes) of 1 to "
                             GOAPI_STR(GOAPI_IDEMPOTENCY_KEY_MAX) " printable ASCII "
                             "characters, e.g. \"8e03978e-40d5-43e8-bc93-6894a57f9324\""
                           : "Idempotency-Key must be one string of 1 to "
                             GOAPI_STR(GOAPI_IDEMPOTENCY_KEY_MAX) " printable ASCII "
                             "characters, e.g. \"8e03978e-40d5-43e8-bc93-6894a57f9324\"");
    }
    else if (!ids->idempotency_key) {
        if (dc->idem_required != 1) {
            return DECLINED;
        }
        goapi_idem_problem(ctx, GOAPI_MC_IDEM_KEY_MISSING, HTTP_BAD_REQUEST, 0,
                           "Idempotency-Key required",
                           apr_psprintf(r->pool, "%s requests to this resource need an "
                                        "Idempotency-Key header", r->method));
    }
    else if (!goapi_ledger_store()) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, GOAPI_LOGNO(00046)
                      "no idempotency store in this process (see the error at its "
                      "start): refusing %s with Idempotency-Key", r->method);
        goapi_idem_problem(ctx, GOAPI_MC_IDEM_STORE_ERROR, HTTP_SERVICE_UNAVAILABLE, 60,
                           "Idempotency store unavailable",
                           "the request was not processed; retry later with the same key");
    }
    else {
        rv = goapi_idem_read_body(r, ctx, dc->idem_max_body, body_sha);
        if (rv == HTTP_REQUEST_ENTITY_TOO_LARGE) {
            goapi_idem_problem(ctx, GOAPI_MC_IDEM_TOO_LARGE, rv, 0, "Request body too large",
                               apr_psprintf(r->pool, "requests with an Idempotency-Key "
                                            "may have a body of at most %" APR_INT64_T_FMT
                                            " bytes here (GoapiIdempotencyMaxBody)",
                                            dc->idem_max_body));
        }
        else if (rv != OK) {
            return rv;                  /* the client's read failed: nothing claimed */
        }
        else {
            const char *scope = goapi_idem_scope(r);

            goapi_idem_ledger_key(ctx->key, scope, ids->idempotency_key);
            goapi_idem_fingerprint(fp, r->method, r->parsed_uri.path, r->args, body_sha,
                                   scope);
            goapi_idem_claim(ctx, r, fp, 0);
        }
    }
    ids->idem = ctx;
    goapi_metrics_idem(r,
                      ctx->recovered ? ctx->recovered
                      : ctx->mode == GOAPI_IDEM_RUN ? GOAPI_MC_IDEM_EXECUTED
                      : ctx->mode == GOAPI_IDEM_REPLAY ? GOAPI_MC_IDEM_REPLAYED
                      : ctx->outcome);
    if (ctx->mode != GOAPI_IDEM_RUN) {
        if (r->handler && strcmp(r->handler, GOAPI_HANDLER) == 0) {
            goapi_metrics_route_of_path(r);     /* a replay of mod_goapi's route */
        }
        r->handler = GOAPI_IDEM_HANDLER;
    }
    return DECLINED;
}

apr_status_t goapi_idem_counter_next(request_rec *r, const char *name,
                                     apr_uint64_t *value)
{
    apr_status_t rv;
    apr_time_t t0;

    if (!goapi_ledger_store()) {
        return APR_ENOTIMPL;
    }
    t0 = apr_time_now();
    rv = goapi_ledger_store()->ops->next(goapi_ledger_store(), name, value);
    goapi_idem_timed(r->connection, t0);
    if (rv != APR_SUCCESS) {
        apr_uint32_t skipped;

        if (goapi_store_log_now(&skipped)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, GOAPI_LOGNO(00047)
                          "idempotency store %s: cannot advance counter %s: %s%s (%u store "
                          "errors not logged before this one)", goapi_ledger_shown(), name,
                          goapi_ledger_why(rv, r->pool),
                          goapi_store_unsure(goapi_ledger_store(), rv)
                          ? " (the INCR may have landed: a number may go unused)" : "",
                          skipped);
        }
    }
    return rv;
}

void goapi_idem_register_filters(void)
{
    /* Just above HTTP_IN: input filters that other modules add later
     * (SetInputFilter DEFLATE, ...) still see the body, above this one. */
    goapi_kept_body_handle =
        ap_register_input_filter(GOAPI_KEPT_BODY_FILTER, goapi_kept_body_filter, NULL,
                                 AP_FTYPE_PROTOCOL - 1);
    /* Before the content filters (mod_deflate): what the handler made, which
     * a replay sends through them again. */
    goapi_capture_handle =
        ap_register_output_filter(GOAPI_CAPTURE_FILTER, goapi_capture_filter, NULL,
                                  AP_FTYPE_CONTENT_SET - 1);
}
