/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_idem_filters.c — what Idempotency-Key enforcement keeps while
 * a claimed request runs: its body, read once for the fingerprint and
 * handed to the handler unchanged by an input filter; its response, kept
 * by an output filter as it passes and stored as the key's record at its
 * end (or the claim released when the handler provably never acted); and
 * the words its log lines use for what a store failure means for the key.
 * The claim itself is mod_goapi_idempotency.c.
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
#include "goapi_log_limit.h"
#include "goapi_parse.h"
#include "goapi_replay_cache.h"
#include "mod_goapi.h"
#include "mod_goapi_idem.h"

APLOG_USE_MODULE(goapi);

#define GOAPI_KEPT_BODY_FILTER  "GOAPI_KEPT_BODY"
#define GOAPI_CAPTURE_FILTER    "GOAPI_CAPTURE"

/* Store failures logged in this process (GOAPI_STORE_LOG_INTERVAL). */
static goapi_log_limit goapi_store_log;

static ap_filter_rec_t *goapi_kept_body_handle;
static ap_filter_rec_t *goapi_capture_handle;

/* The time of a ledger operation that began at t0, for the metrics. */
void goapi_idem_timed(conn_rec *c, apr_time_t t0)
{
    goapi_metrics_store_time(c, apr_time_now() - t0);
}

/* ---- the request body ------------------------------------------------- */

/* Read the whole body (up to max bytes) into ctx->body and hash it.
 * OK, HTTP_REQUEST_ENTITY_TOO_LARGE, or the status of a failed read. */
int goapi_idem_read_body(request_rec *r, goapi_idem_req *ctx, apr_int64_t max,
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
int goapi_store_log_now(apr_uint32_t *skipped)
{
    return goapi_log_due(&goapi_store_log, apr_time_now(), GOAPI_STORE_LOG_INTERVAL,
                               skipped);
}

/* What an in-flight record that stays means for retries, for log lines
 * (docs/idempotency.md, "When the store fails"). */
const char *goapi_idem_held_then(goapi_idem_req *ctx, request_rec *r)
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
const char *goapi_idem_key_text(goapi_idem_req *ctx, request_rec *r)
{
    if (!ctx->digest[0]) {
        memcpy(ctx->digest, "sha256:", 7);
        goapi_idem_key_digest(ctx->digest + 7, goapi_req_of(r)->idempotency_key);
    }
    return ctx->digest;
}


/* A claim or release of ours that failed with rv: when it is in doubt, the
 * store is asked to release the claim once it answers again. */
goapi_orphan_fate goapi_idem_orphan(goapi_idem_req *ctx, apr_status_t rv)
{
    if (!goapi_store_unsure(goapi_ledger_store(), rv)) {
        return GOAPI_ORPHAN_NONE;
    }
    return goapi_store_orphan(goapi_ledger_store(), ctx->key, &ctx->claim) == APR_SUCCESS
           ? GOAPI_ORPHAN_KEPT : GOAPI_ORPHAN_LEFT;
}

/* The words of a log line for that fate (what: "claim" or "release");
 * GOAPI_ORPHAN_LEFT and _NONE are followed by goapi_idem_held_then(). */
const char *goapi_idem_orphan_then(goapi_orphan_fate fate, const char *what)
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
void goapi_idem_restart_copy(goapi_idem_req *ctx)
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
apr_status_t goapi_idem_request_done(void *data)
{
    goapi_idem_req *ctx = data;

    if (!ctx->finished && goapi_ledger_store()) {
        goapi_idem_finish(ctx, ctx->r, 0);
    }
    return APR_SUCCESS;
}

void goapi_idem_attach(goapi_idem_req *ctx, request_rec *r)
{
    ctx->r = r;
    ap_add_input_filter_handle(goapi_kept_body_handle, ctx, r, r->connection);
    ap_add_output_filter_handle(goapi_capture_handle, ctx, r, r->connection);
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
