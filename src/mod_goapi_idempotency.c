/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_idempotency.c — Idempotency-Key enforcement for any handler
 * behind mod_goapi (its own routes, mod_proxy, CGI): the claim at fixups
 * and the answers decided there (a replay, a problem).  The body kept for
 * the handler, the response kept as it passes and the outcome recorded
 * are mod_goapi_idem_filters.c; the two share mod_goapi_idem.h.
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
#include "mod_goapi_idem.h"

APLOG_USE_MODULE(goapi);

#define GOAPI_IDEM_HANDLER      "goapi-idempotency"



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

