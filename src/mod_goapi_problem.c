/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_problem.c — mod_goapi's refusals as RFC 9457 problem details
 * (application/problem+json), one responder for every concern that
 * refuses a request (idempotency, load shedding), and a whole answer sent
 * from memory the request holds.
 *
 * A problem's type is its name after GoapiProblemTypeBase, with a Link to
 * that page (rel="describedby"), or its urn:goapi:problem: name without
 * one (goapi_json.h lists them).
 */
#include <stddef.h>     /* first: APR's ring macros then use offsetof */

#include "httpd.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include <apr_strings.h>

#include "goapi_defs.h"
#include "goapi_json.h"
#include "mod_goapi.h"

int goapi_send_kept(request_rec *r, const char *body, apr_size_t len)
{
    conn_rec *c = r->connection;
    apr_bucket_brigade *bb;
    apr_status_t rv;

    ap_set_content_length(r, (apr_off_t)len);
    if (r->header_only || !len) {
        return OK;
    }
    /* a pool bucket: a client reading slowly keeps the body where it is
     * (the event MPM's write completion sets it aside without a copy) */
    bb = apr_brigade_create(r->pool, c->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(body, len, r->pool,
                                                       c->bucket_alloc));
    rv = ap_pass_brigade(r->output_filters, bb);
    apr_brigade_cleanup(bb);
    return rv == APR_SUCCESS || c->aborted ? OK : AP_FILTER_ERROR;
}

int goapi_problem_send(request_rec *r, goapi_problem_kind kind, int status,
                       int retry_after, const char *title, const char *detail)
{
    const goapi_server_conf *sc = goapi_sconf(r->server);
    const goapi_req *ids = goapi_req_of(r);
    const char *type = goapi_problem_type(r->pool, kind, sc->problem_type_base);
    const char *body = goapi_problem_json(r->pool, type, status, title, detail,
                                          ids->request_id, ids->correlation_id);

    r->status = status;
    ap_set_content_type(r, GOAPI_PROBLEM_TYPE);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (retry_after > 0) {
        apr_table_setn(r->headers_out, "Retry-After", apr_itoa(r->pool, retry_after));
    }
    if (sc->problem_type_base) {
        apr_table_addn(r->headers_out, "Link",
                       apr_pstrcat(r->pool, "<", type, ">; rel=\"describedby\"", NULL));
    }
    return goapi_send_kept(r, body, strlen(body));
}
