/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_ids.c — the ID middleware: request ID, correlation ID and
 * Idempotency-Key for every request, on every response, in the logs and in
 * the request passed downstream.
 *
 * Where each value lives:
 *   request_config  goapi_req, the source of truth for this module;
 *   headers_in      the validated values, so mod_proxy forwards them;
 *   err_headers_out request and correlation ID, kept on error responses
 *                   and across internal redirects;
 *   subprocess_env  GOAPI_* variables for %{VAR}e and CGI;
 *   r->log_id       the request ID, for %L.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include <apr_strings.h>
#include <unistd.h>

#include "goapi_id.h"
#include "goapi_uuid.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

#define GOAPI_IDS_OUT_FILTER "GOAPI_IDS_OUT"

/* One generator per process, seeded after fork in child_init; threads share
 * it through an atomic counter. */
static goapi_uuid_gen goapi_gen;

static ap_filter_rec_t *goapi_ids_out_filter_handle;

void goapi_ids_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv = goapi_uuid_seed_random(&goapi_gen, apr_time_now(),
                                             (apr_uint32_t)getpid());

    (void)pchild;
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, GOAPI_LOGNO(00002)
                     "no random bytes for the request ID generator; "
                     "seeding it from the process ID and start time");
    }
}

static const char *goapi_new_request_id(request_rec *r)
{
    char *id = apr_palloc(r->pool, GOAPI_UUID_LEN + 1);

    goapi_uuid_v7(&goapi_gen, r->request_time ? r->request_time : apr_time_now(), id);
    return id;
}

/* The client's value of an ID header, or NULL when absent; *st says
 * whether it is valid. */
static const char *goapi_incoming_id(request_rec *r, const goapi_server_conf *sc,
                                     const char *header, goapi_id_status *st)
{
    const char *v = apr_table_get(r->headers_in, header);

    *st = v ? goapi_id_check(v, (apr_size_t)sc->max_id_length) : GOAPI_ID_OK;
    return v;
}

/* A refused value is logged by its length and the rule it broke, never
 * echoed: it may hold anything a client chose to send. */
static void goapi_log_refused_id(request_rec *r, const char *header,
                                 const char *v, goapi_id_status st)
{
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, GOAPI_LOGNO(00003)
                  "ignoring %s of %" APR_SIZE_T_FMT " bytes: %s", header,
                  strlen(v), goapi_id_reason(st));
}

/* Read or create the IDs of a request that has none yet, and attach them to
 * it.  Nothing is logged before they are attached: logging runs the
 * generate_log_id hook, which asks for them. */
static goapi_req *goapi_ids_compute(request_rec *r)
{
    const goapi_server_conf *sc = goapi_sconf(r->server);
    goapi_req *ids = apr_pcalloc(r->pool, sizeof(*ids));
    const char *rid, *cid, *key;
    goapi_id_status rid_st, cid_st;
    goapi_ikey_status key_st = GOAPI_IKEY_OK;

    rid = goapi_incoming_id(r, sc, sc->request_id_header, &rid_st);
    cid = goapi_incoming_id(r, sc, sc->correlation_id_header, &cid_st);
    key = apr_table_get(r->headers_in, sc->idempotency_key_header);

    ids->request_id = (rid && rid_st == GOAPI_ID_OK && sc->trust_incoming_ids)
                      ? rid : goapi_new_request_id(r);
    ids->correlation_id = (cid && cid_st == GOAPI_ID_OK) ? cid : ids->request_id;
    if (key) {
        key_st = sc->idempotency_key_strict
                 ? goapi_ikey_parse_strict(r->pool, key, &ids->idempotency_key)
                 : goapi_ikey_parse(r->pool, key, &ids->idempotency_key);
        if (key_st != GOAPI_IKEY_OK) {
            apr_table_unset(r->headers_in, sc->idempotency_key_header);
            ids->idempotency_key_refused = 1;
        }
    }
    ap_set_module_config(r->request_config, &goapi_module, ids);

    if (rid && rid_st != GOAPI_ID_OK) {
        goapi_log_refused_id(r, sc->request_id_header, rid, rid_st);
    }
    if (cid && cid_st != GOAPI_ID_OK) {
        goapi_log_refused_id(r, sc->correlation_id_header, cid, cid_st);
    }
    if (key && key_st != GOAPI_IKEY_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, GOAPI_LOGNO(00004)
                      "dropping %s of %" APR_SIZE_T_FMT " bytes: %s",
                      sc->idempotency_key_header, strlen(key),
                      goapi_ikey_reason(key_st));
    }
    return ids;
}

/* The IDs of r: its own, those of the request it was redirected from or is
 * a subrequest of, or new ones.  Never NULL. */
goapi_req *goapi_req_of(request_rec *r)
{
    goapi_req *ids = ap_get_module_config(r->request_config, &goapi_module);

    if (ids) {
        return ids;
    }
    if (!r->prev && !r->main) {
        return goapi_ids_compute(r);
    }
    ids = goapi_req_of(r->prev ? r->prev : r->main);
    ap_set_module_config(r->request_config, &goapi_module, ids);
    return ids;
}

/* Put the request and correlation ID on the response (error responses
 * included) and, for CGI and %{VAR}e, in the environment. */
static void goapi_ids_publish(request_rec *r, goapi_req *ids)
{
    const goapi_server_conf *sc = goapi_sconf(r->server);
    /* On its first publication a request has none of these entries yet
     * (nothing runs before us), so they are added without a search; an
     * internal redirect shares err_headers_out with its predecessor. */
    void (*put)(apr_table_t *, const char *, const char *) =
        (r->prev || r->main || ids->published) ? apr_table_setn : apr_table_addn;

    put(r->err_headers_out, sc->request_id_header, ids->request_id);
    put(r->err_headers_out, sc->correlation_id_header, ids->correlation_id);
    put(r->subprocess_env, GOAPI_ENV_REQUEST_ID, ids->request_id);
    put(r->subprocess_env, GOAPI_ENV_CORRELATION_ID, ids->correlation_id);
    if (ids->idempotency_key) {
        put(r->subprocess_env, GOAPI_ENV_IDEMPOTENCY_KEY, ids->idempotency_key);
    }
}

/* Make value the one header name carries downstream.  httpd has merged
 * repeated request headers into one entry, so a first entry that already
 * is this very string (the client's valid ID, or set for the request this
 * one was redirected from) is the only one. */
static void goapi_forward_one(apr_table_t *t, const char *name, const char *value)
{
    const char *now = apr_table_get(t, name);

    if (now == value) {
        return;
    }
    if (now) {
        apr_table_setn(t, name, value);
    }
    else {
        apr_table_addn(t, name, value);
    }
}

/* Make the validated values the ones passed downstream. */
static void goapi_ids_forward(request_rec *r, const goapi_req *ids)
{
    const goapi_server_conf *sc = goapi_sconf(r->server);

    goapi_forward_one(r->headers_in, sc->request_id_header, ids->request_id);
    goapi_forward_one(r->headers_in, sc->correlation_id_header, ids->correlation_id);
}

/* Runs first among post_read_request hooks (see mod_goapi.c), before any
 * module can refuse the request, so that refusal already carries the IDs.
 * Also runs for each internal redirect, which inherits the IDs. */
int goapi_ids_post_read_request(request_rec *r)
{
    goapi_req *ids = goapi_req_of(r);

    /* An internal redirect renamed our variables to REDIRECT_*: set them
     * again.  headers_in and err_headers_out are shared with r->prev. */
    goapi_ids_publish(r, ids);
    goapi_ids_forward(r, ids);
    ids->published = 1;
    return DECLINED;
}

/* Per-directory policy, known only once the location is walked. */
int goapi_ids_fixups(request_rec *r)
{
    const goapi_dir_conf *dc = goapi_dconf(r);

    if (dc->forward_ids == 0) {
        const goapi_server_conf *sc = goapi_sconf(r->server);

        apr_table_unset(r->headers_in, sc->request_id_header);
        apr_table_unset(r->headers_in, sc->correlation_id_header);
        apr_table_unset(r->headers_in, sc->idempotency_key_header);
    }
    return DECLINED;
}

/* %L in ErrorLogFormat: the request ID.  Connections keep httpd's own id. */
int goapi_ids_generate_log_id(const conn_rec *c, const request_rec *r,
                              const char **id)
{
    (void)c;
    if (r == NULL) {
        return DECLINED;
    }
    *id = goapi_req_of((request_rec *)r)->request_id;
    return OK;
}

/* %L in LogFormat prints r->log_id only if something generated it; make it
 * the request ID before mod_log_config writes the line. */
int goapi_ids_log_transaction(request_rec *r)
{
    if (r->log_id == NULL) {
        r->log_id = goapi_req_of(r)->request_id;
    }
    return DECLINED;
}

/* Requests that fail while httpd reads them (400, 408, 413, 431) never reach
 * post_read_request; their error response is the first place to add IDs. */
void goapi_ids_insert_error_filter(request_rec *r)
{
    goapi_req *ids = goapi_req_of(r);

    if (!ids->published) {
        goapi_ids_publish(r, ids);
        ids->published = 1;
    }
}

/* A proxied backend, a CGI or a cached response may carry ID headers of its
 * own; the edge's values are the ones the client must see, once.  Our own
 * handler never sets them, so it skips the filter. */
void goapi_ids_insert_filter(request_rec *r)
{
    if (r->handler && strcmp(r->handler, GOAPI_HANDLER) == 0) {
        return;
    }
    ap_add_output_filter_handle(goapi_ids_out_filter_handle, NULL, r,
                                r->connection);
}

static apr_status_t goapi_ids_out_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const goapi_server_conf *sc = goapi_sconf(r->server);

    apr_table_unset(r->headers_out, sc->request_id_header);
    apr_table_unset(r->headers_out, sc->correlation_id_header);
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

void goapi_ids_register_filters(void)
{
    /* Before the HTTP header filter (AP_FTYPE_PROTOCOL), after content. */
    goapi_ids_out_filter_handle =
        ap_register_output_filter(GOAPI_IDS_OUT_FILTER, goapi_ids_out_filter,
                                  NULL, AP_FTYPE_CONTENT_SET);
}
