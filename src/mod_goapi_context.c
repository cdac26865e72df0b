/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_context.c — the request's context passed downstream, as Go's
 * context.Context carries it: W3C Trace Context (traceparent, tracestate)
 * and the time the request has left (GoapiDeadlineHeader).
 *
 * The trace is settled at post_read_request, like the IDs, so that error
 * answers and log lines have it too; a <Location> with GoapiTraceContext
 * Off gets the client's headers back at fixups.  The time left is written
 * at fixups, just before the handler: a request whose time is already spent
 * gets 504 there, before any idempotency claim or backend.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include <unistd.h>

#include <apr_strings.h>

#include "goapi_trace.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

#define GOAPI_TRACEPARENT       "traceparent"
#define GOAPI_TRACESTATE        "tracestate"
#define GOAPI_TRACERESPONSE     "traceresponse"

/* The trace of one request, shared by its internal redirects. */
struct goapi_context {
    const char *in_parent;              /* the client's traceparent, or NULL */
    const char *in_state;               /* the client's tracestate, or NULL */
    int traced;                         /* our traceparent is in headers_in */
    char trace_id[GOAPI_TRACE_ID_HEX + 1];
    char span_id[GOAPI_SPAN_ID_HEX + 1];
    char parent_id[GOAPI_SPAN_ID_HEX + 1];  /* the client's span, or "" */
    char flags[3];
    apr_int64_t client_ms;              /* a trusted client's time left, ms; -1 */
};

static goapi_trace_gen goapi_trace_ids;

void goapi_context_child_init(apr_pool_t *pchild, server_rec *s)
{
    unsigned char seed[24];
    apr_time_t now = apr_time_now();

    if (apr_generate_random_bytes(seed, sizeof(seed)) != APR_SUCCESS) {
        /* distinct children of one host still differ */
        apr_uint64_t weak = (apr_uint64_t)now ^ ((apr_uint64_t)getpid() << 32);

        memcpy(seed, &weak, sizeof(weak));
        memcpy(seed + 8, &now, sizeof(now));
        memset(seed + 16, 0, 8);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, GOAPI_LOGNO(00069)
                     "no random bytes for trace IDs; seeded from time and pid");
    }
    goapi_trace_seed(&goapi_trace_ids, seed);
    (void)pchild;
}

static void goapi_context_env(request_rec *r, const struct goapi_context *cx)
{
    apr_table_setn(r->subprocess_env, GOAPI_ENV_TRACE_ID, cx->trace_id);
    apr_table_setn(r->subprocess_env, GOAPI_ENV_SPAN_ID, cx->span_id);
    apr_table_setn(r->subprocess_env, GOAPI_ENV_TRACE_FLAGS, cx->flags);
    if (cx->parent_id[0]) {
        apr_table_setn(r->subprocess_env, GOAPI_ENV_PARENT_ID, cx->parent_id);
    }
}

/* Continue the client's trace, or begin one; our span either way. */
static void goapi_context_trace(request_rec *r, struct goapi_context *cx,
                                const goapi_server_conf *sc)
{
    char *tp = apr_palloc(r->pool, GOAPI_TRACEPARENT_LEN + 1);
    goapi_traceparent in;
    const char *state = NULL;
    unsigned flags;

    if (sc->trust_incoming_trace && goapi_traceparent_parse(cx->in_parent, &in)) {
        memcpy(cx->trace_id, in.trace_id, sizeof(cx->trace_id));
        memcpy(cx->parent_id, in.parent_id, sizeof(cx->parent_id));
        flags = in.flags;
        state = goapi_tracestate_clean(r->pool, cx->in_state);
    }
    else {
        goapi_trace_new_trace_id(&goapi_trace_ids, cx->trace_id);
        cx->parent_id[0] = '\0';
        flags = sc->trace_sampled ? GOAPI_TRACE_FLAG_SAMPLED : 0;
    }
    goapi_trace_new_span_id(&goapi_trace_ids, cx->span_id);
    goapi_trace_flags_hex(cx->flags, flags);
    goapi_traceparent_format(tp, cx->trace_id, cx->span_id, flags);
    apr_table_setn(r->headers_in, GOAPI_TRACEPARENT, tp);
    if (state) {
        apr_table_setn(r->headers_in, GOAPI_TRACESTATE, state);
    }
    else if (cx->in_state) {
        apr_table_unset(r->headers_in, GOAPI_TRACESTATE);
    }
    if (sc->trace_response) {
        apr_table_setn(r->err_headers_out, GOAPI_TRACERESPONSE, tp);
    }
    goapi_context_env(r, cx);
    cx->traced = 1;
}

/* GoapiTraceContext Off where the request ended up: the client's headers
 * as they came, and nothing of ours. */
static void goapi_context_untrace(request_rec *r, struct goapi_context *cx)
{
    if (cx->in_parent) {
        apr_table_setn(r->headers_in, GOAPI_TRACEPARENT, cx->in_parent);
    }
    else {
        apr_table_unset(r->headers_in, GOAPI_TRACEPARENT);
    }
    if (cx->in_state) {
        apr_table_setn(r->headers_in, GOAPI_TRACESTATE, cx->in_state);
    }
    else {
        apr_table_unset(r->headers_in, GOAPI_TRACESTATE);
    }
    apr_table_unset(r->err_headers_out, GOAPI_TRACERESPONSE);
    apr_table_unset(r->subprocess_env, GOAPI_ENV_TRACE_ID);
    apr_table_unset(r->subprocess_env, GOAPI_ENV_SPAN_ID);
    apr_table_unset(r->subprocess_env, GOAPI_ENV_PARENT_ID);
    apr_table_unset(r->subprocess_env, GOAPI_ENV_TRACE_FLAGS);
    cx->traced = 0;
}

static int goapi_trace_on(const request_rec *r)
{
    const goapi_dir_conf *dc = goapi_dconf(r);

    return dc->trace_context != 0;
}

int goapi_context_post_read_request(request_rec *r)
{
    const goapi_server_conf *sc = goapi_sconf(r->server);
    goapi_req *ids;
    struct goapi_context *cx;

    if (r->main || r->prev) {
        return DECLINED;                /* the initial request settles it */
    }
    ids = goapi_req_of(r);
    cx = apr_pcalloc(r->pool, sizeof(*cx));
    ids->context = cx;
    cx->in_parent = apr_table_get(r->headers_in, GOAPI_TRACEPARENT);
    cx->in_state = apr_table_get(r->headers_in, GOAPI_TRACESTATE);
    /* the server's (or virtual host's) own GoapiTraceContext, for now */
    if (goapi_trace_on(r)) {
        goapi_context_trace(r, cx, sc);
    }

    /* A trusted client's own time left may shorten the request's (fixups);
     * a client that is not trusted cannot pass one downstream. */
    cx->client_ms = -1;
    if (sc->deadline_header[0]) {
        const char *in = apr_table_get(r->headers_in, sc->deadline_header);

        if (in && sc->trust_incoming_deadline) {
            cx->client_ms = goapi_deadline_ms_parse(in);
        }
        if (in) {
            apr_table_unset(r->headers_in, sc->deadline_header);
        }
    }
    return DECLINED;
}

int goapi_context_fixups(request_rec *r)
{
    const goapi_server_conf *sc;
    struct goapi_context *cx;
    goapi_req *ids;
    apr_time_t deadline;
    int on;

    if (r->main) {
        return DECLINED;
    }
    ids = goapi_req_of(r);
    cx = ids->context;
    if (!cx) {
        return DECLINED;
    }
    sc = goapi_sconf(r->server);
    on = goapi_trace_on(r);
    if (on && !cx->traced) {
        goapi_context_trace(r, cx, sc);
    }
    else if (!on && cx->traced) {
        goapi_context_untrace(r, cx);
    }
    else if (on && r->prev) {
        goapi_context_env(r, cx);       /* an internal redirect's own env */
    }

    /* The time left: the write deadline (counted from the end of the
     * headers), or a trusted client's, counted from its request line,
     * whichever ends first. */
    deadline = goapi_timeouts_write_deadline(r);
    if (cx->client_ms >= 0) {
        apr_time_t theirs = r->request_time + apr_time_from_msec(cx->client_ms);

        if (!deadline || theirs < deadline) {
            deadline = theirs;
        }
    }
    if (deadline) {
        apr_interval_time_t left = deadline - apr_time_now();

        if (left < apr_time_from_msec(1)) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, GOAPI_LOGNO(00070)
                          "the request's time was spent before its handler "
                          "(%" APR_TIME_T_FMT " ms over): 504, the handler not run",
                          apr_time_as_msec(-left));
            return HTTP_GATEWAY_TIME_OUT;
        }
        if (sc->deadline_header[0]) {
            apr_table_setn(r->headers_in, sc->deadline_header,
                           apr_psprintf(r->pool, "%" APR_TIME_T_FMT,
                                        apr_time_as_msec(left)));
        }
    }
    return DECLINED;
}

int goapi_context_sampled(request_rec *r, const char **trace_id, const char **span_id)
{
    const goapi_req *ids = ap_get_module_config(r->request_config, &goapi_module);
    const struct goapi_context *cx = ids ? ids->context : NULL;
    int low;

    if (!cx || !cx->traced) {
        return 0;
    }
    /* flags are two lowercase hex digits; sampled is the lowest bit */
    low = cx->flags[1] <= '9' ? cx->flags[1] - '0' : cx->flags[1] - 'a' + 10;
    if (!(low & 1)) {
        return 0;
    }
    *trace_id = cx->trace_id;
    *span_id = cx->span_id;
    return 1;
}
