/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_recovery.c — GoapiIdempotencyRecovery: the question to the
 * backend about a key whose outcome is unknown (src/goapi_recovery.h says
 * what its answers mean).  The idempotency glue acts on the verdict; this
 * file only asks: with the request's key as it was forwarded, its IDs, its
 * trace context and its time left, within the request's deadline, at most
 * once per key per second in a process.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_request.h"

#include <apr_strings.h>

#include "goapi_defs.h"
#include "goapi_id.h"
#include "goapi_idem.h"
#include "goapi_recovery.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

/* A key is asked about at most this often per process. */
#define GOAPI_RECOVERY_INTERVAL apr_time_from_sec(1)

/* Kept from the request's time for its own answer once the question ends. */
#define GOAPI_RECOVERY_ANSWER_TIME apr_time_from_msec(500)

static goapi_recovery_limiter *goapi_recovery_limit;    /* this child's */

void goapi_recovery_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)s;
    goapi_recovery_limit = goapi_recovery_limiter_create(pchild);
}

static void goapi_recovery_add(apr_array_header_t *h, const char *name, const char *value)
{
    goapi_idem_header *e;

    if (!name || !*name || !value) {
        return;
    }
    e = apr_array_push(h);
    e->name = name;
    e->value = value;
}

goapi_recovery_verdict goapi_recovery_consult(request_rec *r,
                                              const unsigned char key[GOAPI_SHA256_LEN],
                                              goapi_recovery_answer *a, const char **why)
{
    const goapi_server_conf *sc = goapi_sconf(r->server);
    const goapi_dir_conf *dc = goapi_dconf(r);
    const goapi_req *ids = goapi_req_of(r);
    apr_array_header_t *h = apr_array_make(r->pool, 8, sizeof(goapi_idem_header));
    const char *skip[5], *sent;
    apr_time_t now = apr_time_now(), deadline = goapi_timeouts_write_deadline(r);
    apr_status_t rv;

    if (!goapi_recovery_due(goapi_recovery_limit, key, now, GOAPI_RECOVERY_INTERVAL)) {
        *why = "the backend was asked about this key less than a second ago";
        return GOAPI_RECOVERY_UNKNOWN;
    }
    if (!deadline || deadline - now > r->server->timeout) {
        deadline = now + r->server->timeout;    /* httpd's Timeout, at most */
    }
    /* and time left to answer after it: a quarter, at most half a second */
    deadline -= (deadline - now) / 4 < GOAPI_RECOVERY_ANSWER_TIME ? (deadline - now) / 4
                                                                  : GOAPI_RECOVERY_ANSWER_TIME;
    sent = apr_table_get(r->headers_in, sc->idempotency_key_header);
    goapi_recovery_add(h, sc->idempotency_key_header,
                       sent ? sent : goapi_ikey_quote(r->pool, ids->idempotency_key));
    goapi_recovery_add(h, sc->request_id_header, ids->request_id);
    goapi_recovery_add(h, sc->correlation_id_header, ids->correlation_id);
    goapi_recovery_add(h, "traceparent", apr_table_get(r->headers_in, "traceparent"));
    goapi_recovery_add(h, "tracestate", apr_table_get(r->headers_in, "tracestate"));
    if (*sc->deadline_header) {
        goapi_recovery_add(h, sc->deadline_header,
                           apr_psprintf(r->pool, "%" APR_TIME_T_FMT,
                                        apr_time_as_msec(deadline - now)));
    }
    /* what a replay makes anew, not the backend's answer to this question */
    skip[0] = sc->request_id_header;
    skip[1] = sc->correlation_id_header;
    skip[2] = GOAPI_IDEM_REPLAYED_HEADER;
    skip[3] = "traceresponse";
    skip[4] = NULL;
    rv = goapi_recovery_ask(r->pool, dc->idem_recovery,
                            goapi_recovery_request(r->pool, dc->idem_recovery, h), deadline,
                            (apr_size_t)dc->idem_max_response, skip, a, why);
    if (rv != APR_SUCCESS) {
        return GOAPI_RECOVERY_UNKNOWN;
    }
    *why = apr_psprintf(r->pool, "the backend answered %d", a->status);
    return goapi_recovery_judge(a->status);
}
