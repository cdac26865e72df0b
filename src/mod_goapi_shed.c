/*
 * mod_goapi_shed.c — load shedding (GoapiMaxInFlight): at most N requests
 * of a scope (the server or <Location> the directive is written in) run at
 * once, counted by every child in shared memory; the next gets 503 with
 * Retry-After at once, instead of waiting in httpd's queue.
 *
 * Decided at fixups, after access control and before the idempotency
 * claim (the last fixup): a shed request reads no body, leaves no record
 * and reaches no backend.  A place is given back by a cleanup of the
 * request's pool, so an aborted client, a cut deadline or an error never
 * keeps one.  The probes and /metrics are never shed.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"

#include <apr_shm.h>
#include <apr_strings.h>

#include "goapi_json.h"
#include "goapi_parse.h"
#include "goapi_router.h"
#include "goapi_shed.h"
#include "goapi_store.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

#define GOAPI_SHED_HANDLER      "goapi-shed"
#define GOAPI_SHED_SCOPES       256
#define GOAPI_SHED_MAX          1000000
#define GOAPI_SHED_LOG_INTERVAL apr_time_from_sec(10)

/* A GoapiMaxInFlight of this configuration, for the check against the
 * MPM's size. */
typedef struct {
    apr_int64_t limit;
    const char *where;
} goapi_shed_decl;

static apr_array_header_t *goapi_shed_decls;

/* Places taken per scope (index: goapi_dir_conf.shed_scope), in shared
 * memory made for each generation of children. */
static volatile apr_uint32_t *goapi_shed_taken;

static goapi_store_log_limit goapi_shed_log;

const char *goapi_cmd_max_in_flight(cmd_parms *cmd, void *dconf, const char *arg)
{
    goapi_dir_conf *dc = dconf;
    apr_int64_t v;
    const char *err = goapi_parse_int_range(arg, 0, GOAPI_SHED_MAX, &v);
    goapi_shed_decl *d;

    if (err) {
        return apr_psprintf(cmd->pool, "GoapiMaxInFlight: '%s' is not valid: %s; expected "
                            "a number of requests from 1 to %d, or 0 for no limit",
                            arg, err, GOAPI_SHED_MAX);
    }
    if (!goapi_shed_decls) {
        return "GoapiMaxInFlight: the module's pre_config did not run";
    }
    if (goapi_shed_decls->nelts + 1 >= GOAPI_SHED_SCOPES) {
        return apr_psprintf(cmd->pool, "GoapiMaxInFlight: at most %d in one configuration",
                            GOAPI_SHED_SCOPES - 1);
    }
    d = apr_array_push(goapi_shed_decls);
    d->limit = v;
    d->where = cmd->directive
               ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                              cmd->directive->line_num)
               : "?";
    dc->max_in_flight = (int)v;
    dc->shed_scope = goapi_shed_decls->nelts;       /* from 1 */
    return NULL;
}

int goapi_shed_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    goapi_shed_decls = apr_array_make(pconf, 4, sizeof(goapi_shed_decl));
    goapi_shed_taken = NULL;
    return OK;
}

/* "apachectl -t" and every start: a limit the MPM can never reach. */
int goapi_shed_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *s)
{
    int daemons = 0, threads = 0, i;

    (void)pconf;
    (void)plog;
    (void)ptemp;
    if (!goapi_shed_decls || !goapi_shed_decls->nelts
        || ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &daemons) != APR_SUCCESS
        || ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS) {
        return OK;
    }
    if (threads < 1) {
        threads = 1;
    }
    for (i = 0; i < goapi_shed_decls->nelts; i++) {
        const goapi_shed_decl *d = &APR_ARRAY_IDX(goapi_shed_decls, i, goapi_shed_decl);

        if (d->limit > 0 && d->limit >= (apr_int64_t)daemons * threads) {
            ap_log_error(APLOG_MARK, APLOG_WARNING | APLOG_STARTUP, 0, s,
                         GOAPI_LOGNO(00071) "GoapiMaxInFlight %" APR_INT64_T_FMT
                         " at %s is not below the %d requests the MPM serves at once "
                         "(MaxRequestWorkers): it would never act", d->limit, d->where,
                         daemons * threads);
        }
    }
    return OK;
}

int goapi_shed_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s)
{
    apr_size_t size;
    apr_shm_t *shm;
    apr_status_t rv;

    (void)plog;
    (void)ptemp;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG
        || !goapi_shed_decls->nelts) {
        return OK;
    }
    /* A region per generation: the children of a graceful restart count
     * from zero, while those still finishing keep theirs. */
    size = sizeof(apr_uint32_t) * (apr_size_t)(goapi_shed_decls->nelts + 1);
    rv = apr_shm_create(&shm, size, NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, GOAPI_LOGNO(00072)
                     "cannot create the shared memory for GoapiMaxInFlight");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    memset(apr_shm_baseaddr_get(shm), 0, size);
    goapi_shed_taken = apr_shm_baseaddr_get(shm);
    return OK;
}

static apr_status_t goapi_shed_release(void *data)
{
    goapi_shed_leave(data);
    return APR_SUCCESS;
}

/* The probes and /metrics keep answering whatever the load. */
static int goapi_never_shed(const request_rec *r)
{
    apr_size_t n = strlen(r->uri);

    return goapi_route_probe(r->uri, n) != GOAPI_ROUTE_NONE
           || (n == 8 && memcmp(r->uri, "/metrics", 8) == 0);
}

int goapi_shed_fixups(request_rec *r)
{
    const goapi_dir_conf *dc;
    volatile apr_uint32_t *taken;
    apr_uint32_t skipped;

    if (r->main || r->prev || !goapi_shed_taken) {
        return DECLINED;                /* the initial request holds the place */
    }
    dc = ap_get_module_config(r->per_dir_config, &goapi_module);
    if (dc->max_in_flight <= 0 || dc->shed_scope <= 0 || goapi_never_shed(r)) {
        return DECLINED;
    }
    taken = &goapi_shed_taken[dc->shed_scope];
    if (goapi_shed_enter(taken, (apr_uint32_t)dc->max_in_flight)) {
        apr_pool_cleanup_register(r->pool, (void *)taken, goapi_shed_release,
                                  apr_pool_cleanup_null);
        return DECLINED;
    }
    goapi_ids_of(r)->shed = 1;
    r->handler = GOAPI_SHED_HANDLER;
    goapi_metrics_shed(r);
    if (goapi_store_log_due(&goapi_shed_log, apr_time_now(), GOAPI_SHED_LOG_INTERVAL,
                            &skipped)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, GOAPI_LOGNO(00073)
                      "GoapiMaxInFlight %d reached: %s shed with 503 (%u more shed in "
                      "this process since the last such line)", dc->max_in_flight,
                      r->uri, skipped);
    }
    return DECLINED;
}

/* The answer of a shed request: 503, problem+json, Retry-After with
 * jitter, and the connection closed (its next request may go elsewhere). */
int goapi_shed_handler(request_rec *r)
{
    const goapi_dir_conf *dc;
    goapi_ids *ids;
    const char *body;
    apr_size_t len;

    if (!r->handler || strcmp(r->handler, GOAPI_SHED_HANDLER) != 0) {
        return DECLINED;
    }
    dc = ap_get_module_config(r->per_dir_config, &goapi_module);
    ids = goapi_ids_of(r);
    body = goapi_problem_json(r->pool, NULL, HTTP_SERVICE_UNAVAILABLE,
                              "Too many requests in flight",
                              "this resource is serving as many requests as it may "
                              "(GoapiMaxInFlight); nothing was done: retry after the time "
                              "given in Retry-After", ids->request_id, ids->correlation_id);
    len = strlen(body);
    r->status = HTTP_SERVICE_UNAVAILABLE;
    r->connection->keepalive = AP_CONN_CLOSE;
    ap_set_content_type(r, GOAPI_PROBLEM_TYPE);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Retry-After",
                   apr_itoa(r->pool, goapi_shed_retry_after(
                       dc->shed_retry_after > 0 ? dc->shed_retry_after : 1,
                       (apr_uint32_t)apr_time_now() * 2654435761u)));
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only) {
        ap_rwrite(body, (int)len, r);
    }
    return OK;
}
