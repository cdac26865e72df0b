/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_metrics.c — Prometheus metrics: the shared region, the
 * request hooks that count, and the scrape (GET /metrics of the goapi
 * handler).
 *
 * The region (src/goapi_metrics.c) is made once per httpd process tree,
 * in the parent's process pool, and inherited by the children: a graceful
 * restart keeps every counter.  A child adds into the slot of its
 * scoreboard index, with atomic adds: no lock, no system call.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "ap_mpm.h"
#include "scoreboard.h"

#include <unistd.h>

#include <apr_shm.h>
#include <apr_strings.h>

#include "goapi_metrics.h"
#include "goapi_path.h"
#include "goapi_router.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

#define GOAPI_METRICS_SHM_KEY   "goapi_metrics_shm"
/* Slots beyond this are shared (taken modulo): sums stay exact. */
#define GOAPI_METRICS_MAX_SLOTS 64

/* Inherited by the children at fork; NULL while GoapiMetrics is Off. */
static goapi_metrics *goapi_metrics_region;

/* Route labels: of mod_goapi's routes (by goapi_route_id), and of this
 * configuration's GoapiMetricsRoute names (by their index). */
static int goapi_route_label[GOAPI_ROUTE__N];
static apr_array_header_t *goapi_route_names;
static int *goapi_route_name_label;

/* GoapiMetricsKnownMethods of this configuration (NULL: the default), and
 * the methods known, with their label indexes. */
static apr_array_header_t *goapi_known_names;
static goapi_metrics_known goapi_known;
/* The same by httpd's number of a method it knows, without comparing
 * names: GET's is M_GET's, and HEAD, which shares M_GET, has its own. */
static int goapi_known_number[M_INVALID];
static int goapi_known_head;

/* Children's scoreboard slots from a connection's id: ids are
 * child * ThreadLimit + thread under every MPM. */
static int goapi_thread_limit = 1;
/* This child's slot, for counts made outside a connection. */
static int goapi_child_slot;

static int goapi_slot_of(const conn_rec *c)
{
    if (c && !c->master) {
        return (int)(c->id / (long)goapi_thread_limit);
    }
    return goapi_child_slot;
}

const char *goapi_cmd_metrics_route(cmd_parms *cmd, void *dconf, const char *arg)
{
    goapi_dir_conf *dc = dconf;
    const char *why = goapi_metrics_label_check(arg);
    int i;

    if (why) {
        return goapi_cmd_refuse(cmd, NULL, arg, why, NULL);
    }
    if (!goapi_route_names) {
        return "GoapiMetricsRoute: the module's pre_config did not run";
    }
    for (i = 0; i < goapi_route_names->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(goapi_route_names, i, const char *), arg) == 0) {
            break;
        }
    }
    if (i == goapi_route_names->nelts) {
        if (i >= GOAPI_METRICS_LABELS - GOAPI_ROUTE__N) {
            return apr_psprintf(cmd->pool, "GoapiMetricsRoute %s: at most %d route "
                                "names", arg, GOAPI_METRICS_LABELS - GOAPI_ROUTE__N);
        }
        APR_ARRAY_PUSH(goapi_route_names, const char *) = apr_pstrdup(cmd->pool, arg);
    }
    dc->metrics_route = i + 1;
    return NULL;
}

const char *goapi_cmd_metrics_known_methods(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *why = goapi_metrics_method_check(arg);
    int i;

    (void)dconf;
    if (err) {
        return err;
    }
    if (why) {
        return goapi_cmd_refuse(cmd, NULL, arg, why, NULL);
    }
    if (!goapi_known_names) {
        goapi_known_names = apr_array_make(cmd->pool, GOAPI_METRICS_METHOD_OTHER,
                                           sizeof(const char *));
    }
    for (i = 0; i < goapi_known_names->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(goapi_known_names, i, const char *), arg) == 0) {
            return NULL;
        }
    }
    if (i >= GOAPI_METRICS_METHOD_OTHER) {
        return apr_psprintf(cmd->pool, "GoapiMetricsKnownMethods %s: at most %d methods",
                            arg, GOAPI_METRICS_METHOD_OTHER);
    }
    APR_ARRAY_PUSH(goapi_known_names, const char *) = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

/* The known methods' label indexes in region m; a method the region has no
 * room left for counts as _OTHER. */
static void goapi_metrics_known_methods(goapi_metrics *m, server_rec *s)
{
    static const char *const defaults[] = { GOAPI_METRICS_KNOWN_METHODS };
    int n = goapi_known_names ? goapi_known_names->nelts
                              : (int)(sizeof(defaults) / sizeof(defaults[0]));
    int i;

    goapi_known.n = 0;
    goapi_known_head = GOAPI_METRICS_METHOD_OTHER;
    for (i = 0; i < M_INVALID; i++) {
        goapi_known_number[i] = GOAPI_METRICS_METHOD_OTHER;
    }
    for (i = 0; i < n; i++) {
        const char *name = goapi_known_names
                           ? APR_ARRAY_IDX(goapi_known_names, i, const char *)
                           : defaults[i];
        int index = goapi_metrics_method(m, name), number;

        if (index < 0) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, GOAPI_LOGNO(00160)
                         "GoapiMetricsKnownMethods %s: no room left for another "
                         "method until httpd is stopped and started; it counts as "
                         "_OTHER", name);
            continue;
        }
        goapi_known.name[goapi_known.n] = name;
        goapi_known.index[goapi_known.n++] = index;
        number = ap_method_number_of(name);
        if (number == M_GET && strcmp(name, "HEAD") == 0) {
            goapi_known_head = index;
        }
        else if (number >= 0 && number < M_INVALID) {
            goapi_known_number[number] = index;
        }
    }
}

int goapi_metrics_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    goapi_route_names = apr_array_make(pconf, 4, sizeof(const char *));
    goapi_route_name_label = NULL;
    goapi_known_names = NULL;
    goapi_metrics_region = NULL;
    return OK;
}

/* The region, made on the first real configuration and kept for the life
 * of the process tree (or until a restart loads a module that lays it
 * out otherwise). */
static goapi_metrics *goapi_metrics_shared(server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    apr_shm_t *shm = NULL;
    apr_status_t rv;
    int limit = 0, nslots;

    apr_pool_userdata_get((void **)&shm, GOAPI_METRICS_SHM_KEY, pp);
    if (shm && goapi_metrics_same_layout(apr_shm_baseaddr_get(shm), apr_shm_size_get(shm))) {
        return apr_shm_baseaddr_get(shm);
    }
    if (shm) {
        /* a module of another layout made it: counting starts again in a
         * new region, the old one is freed as httpd stops */
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, GOAPI_LOGNO(00192)
                     "the metrics region was laid out by another version of "
                     "mod_goapi: the counts start again from zero");
    }
    if (ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &limit) != APR_SUCCESS || limit < 1) {
        limit = 1;
    }
    nslots = limit < GOAPI_METRICS_MAX_SLOTS ? limit : GOAPI_METRICS_MAX_SLOTS;
    rv = apr_shm_create(&shm, goapi_metrics_size(nslots), NULL, pp);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, GOAPI_LOGNO(00067)
                     "cannot create the shared memory for metrics (%" APR_SIZE_T_FMT
                     " bytes)", goapi_metrics_size(nslots));
        return NULL;
    }
    /* Anonymous shared memory comes zeroed: the pages of label sets never
     * used are never touched (the region is some 700 KiB a slot). */
    goapi_metrics_init(apr_shm_baseaddr_get(shm), nslots, apr_time_now());
    apr_pool_userdata_set(shm, GOAPI_METRICS_SHM_KEY, apr_pool_cleanup_null, pp);
    return apr_shm_baseaddr_get(shm);
}

int goapi_metrics_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s)
{
    const goapi_server_conf *sc = goapi_sconf(s);
    goapi_metrics *m;
    int i;

    (void)plog;
    (void)ptemp;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG || !sc->metrics) {
        return OK;                      /* the trial reading, or metrics off */
    }
    if (ap_mpm_query(AP_MPMQ_HARD_LIMIT_THREADS, &goapi_thread_limit) != APR_SUCCESS
        || goapi_thread_limit < 1) {
        goapi_thread_limit = 1;
    }
    m = goapi_metrics_shared(s);
    if (!m) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* Label 0 is "other"; a name keeps its label across restarts. */
    goapi_metrics_label(m, GOAPI_METRICS_OTHER);
    for (i = 0; i < GOAPI_ROUTE__N; i++) {
        const char *pattern = goapi_route_pattern((goapi_route_id)i);

        goapi_route_label[i] = pattern ? goapi_metrics_label(m, pattern) : 0;
    }
    goapi_route_name_label = apr_pcalloc(pconf, sizeof(int) * (goapi_route_names->nelts + 1));
    for (i = 0; i < goapi_route_names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(goapi_route_names, i, const char *);

        goapi_route_name_label[i] = goapi_metrics_label(m, name);
        if (goapi_route_name_label[i] < 0) {
            /* names of earlier configurations fill the table */
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, GOAPI_LOGNO(00068)
                         "GoapiMetricsRoute %s: no room left for another route "
                         "name until httpd is stopped and started; its requests "
                         "count as \"" GOAPI_METRICS_OTHER "\"", name);
            goapi_route_name_label[i] = 0;
        }
    }
    goapi_metrics_known_methods(m, s);
    goapi_metrics_region = m;
    return OK;
}

void goapi_metrics_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)pchild;
    (void)s;
    goapi_child_slot = (int)getpid();
}

/* The label index of a request's method.  httpd numbers the methods it
 * knows as it reads the request line (M_GET for HEAD too, which alone of
 * the two begins with an H); a method it does not know is found by name. */
static int goapi_method_label(const request_rec *r)
{
    int number = r->method_number;

    if (number == M_GET && r->method && r->method[0] == 'H') {
        return goapi_known_head;
    }
    if (number >= 0 && number < M_INVALID) {
        return goapi_known_number[number];
    }
    return goapi_metrics_method_of(&goapi_known, r->method);
}

/* The request's method label, scheme and slot, found once. */
static void goapi_method_scheme(request_rec *r, goapi_req *ids)
{
    if (!ids->metrics_method) {
        ids->metrics_method = 1 + goapi_method_label(r);
        ids->metrics_https = strcmp(ap_http_scheme(r), "https") == 0;
        ids->metrics_slot = goapi_slot_of(r->connection);
    }
}

static apr_status_t goapi_metrics_request_ended(void *data)
{
    request_rec *r = data;
    const goapi_req *ids = ap_get_module_config(r->request_config, &goapi_module);

    goapi_metrics_active(goapi_metrics_region, ids->metrics_slot,
                         ids->metrics_method - 1, ids->metrics_https, -1);
    return APR_SUCCESS;
}

int goapi_metrics_post_read_request(request_rec *r)
{
    goapi_req *ids;

    if (!goapi_metrics_region || r->prev || r->main) {
        return DECLINED;
    }
    ids = goapi_req_of(r);
    goapi_method_scheme(r, ids);
    goapi_metrics_active(goapi_metrics_region, ids->metrics_slot,
                         ids->metrics_method - 1, ids->metrics_https, 1);
    apr_pool_cleanup_register(r->pool, r, goapi_metrics_request_ended,
                              apr_pool_cleanup_null);
    return DECLINED;
}

void goapi_metrics_route_of_path(request_rec *r)
{
    const char *path;
    apr_size_t len;
    goapi_match m;
    goapi_match_result res;

    if (!goapi_metrics_region || r->main) {
        return;
    }
    goapi_path_of_target(r->unparsed_uri, &path, &len);
    res = goapi_route_match(r->pool, r->method, path, len, &m);
    if (res == GOAPI_MATCH_FOUND || res == GOAPI_MATCH_BAD_PARAM) {
        goapi_metrics_route(r, m.route);
    }
}

void goapi_metrics_route(request_rec *r, int route)
{
    /* a subrequest (an SSI include of /readyz, say) does not name the
     * request it serves */
    if (goapi_metrics_region && !r->main && route > 0 && route < GOAPI_ROUTE__N) {
        goapi_req_of(r)->metrics_route = goapi_route_label[route] + 1;
    }
}

/* The label of a request: the route mod_goapi's router matched, else the
 * GoapiMetricsRoute of where it ended, else "other". */
static int goapi_route_of(request_rec *r, const request_rec *last)
{
    const goapi_req *ids = ap_get_module_config(r->request_config, &goapi_module);
    const goapi_dir_conf *dc;

    if (ids && ids->metrics_route > 0) {
        return ids->metrics_route - 1;
    }
    dc = last->per_dir_config ? goapi_dconf(last)
                              : NULL;
    if (dc && dc->metrics_route > 0 && goapi_route_name_label
        && dc->metrics_route <= goapi_route_names->nelts) {
        return goapi_route_name_label[dc->metrics_route - 1];
    }
    return 0;
}

/* Body bytes of a request: as read, else as announced. */
static apr_uint64_t goapi_request_bytes(const request_rec *r)
{
    const char *cl;
    apr_off_t n;

    if (r->read_length > 0) {
        return (apr_uint64_t)r->read_length;
    }
    cl = apr_table_get(r->headers_in, "Content-Length");
    if (cl && apr_strtoff(&n, cl, NULL, 10) == APR_SUCCESS && n > 0) {
        return (apr_uint64_t)n;
    }
    return 0;
}

int goapi_metrics_log_transaction(request_rec *r)
{
    const request_rec *last = r;
    goapi_req *ids;
    goapi_metrics_req q;
    goapi_metrics_error cause = GOAPI_ME_NONE;

    if (!goapi_metrics_region) {
        return DECLINED;
    }
    while (last->next) {
        last = last->next;
    }
    /* a request httpd refused while reading it has no IDs yet */
    ids = goapi_req_of(r);
    goapi_method_scheme(r, ids);
    if (ids->shed) {
        cause = GOAPI_ME_SHED;
    }
    else if (ids->metrics_error) {
        cause = ids->metrics_error;
    }
    else if (goapi_timeouts_cut(r->connection)) {
        cause = GOAPI_ME_TIMEOUT;
    }
    memset(&q, 0, sizeof(q));
    q.route = goapi_route_of(r, last);
    q.method = ids->metrics_method - 1;
    q.status = last->status;
    q.https = ids->metrics_https;
    q.proto = goapi_metrics_proto_of(r->proto_num);
    q.error = goapi_metrics_error_of(cause, last->status);
    q.now = apr_time_now();
    q.took = q.now - r->request_time;
    q.request_bytes = goapi_request_bytes(r);
    q.response_bytes = last->bytes_sent > 0 ? (apr_uint64_t)last->bytes_sent : 0;
    if (!goapi_context_sampled(r, &q.trace_id, &q.span_id)) {
        q.trace_id = q.span_id = NULL;
    }
    goapi_metrics_request(goapi_metrics_region, ids->metrics_slot, &q);
    return DECLINED;
}

void goapi_metrics_idem(request_rec *r, goapi_metrics_counter outcome)
{
    if (outcome == GOAPI_MC_IDEM_STORE_ERROR) {
        goapi_req_of(r)->metrics_error = GOAPI_ME_STORE;
    }
    goapi_metrics_add(r->connection, outcome, 1);
}

void goapi_metrics_shed(request_rec *r, int dry_run)
{
    if (goapi_metrics_region) {
        goapi_metrics_shed_count(goapi_metrics_region, goapi_slot_of(r->connection),
                                 goapi_route_of(r, r), dry_run);
    }
}

void goapi_metrics_add(conn_rec *c, goapi_metrics_counter counter, apr_uint64_t n)
{
    if (goapi_metrics_region) {
        goapi_metrics_count(goapi_metrics_region, goapi_slot_of(c), counter, n);
    }
}

void goapi_metrics_store_time(conn_rec *c, apr_interval_time_t took)
{
    if (goapi_metrics_region) {
        goapi_metrics_store_took(goapi_metrics_region, goapi_slot_of(c), took);
    }
}

void goapi_metrics_hook_time(const char *hook, apr_interval_time_t took)
{
    if (goapi_metrics_region) {
        goapi_metrics_hook_took(goapi_metrics_region, goapi_child_slot,
                                goapi_metrics_hook(goapi_metrics_region, hook), took);
    }
}

/* ---- the scrape ---------------------------------------------------------- */

static const char *const goapi_worker_states[] = {
    "starting", "idle", "reading", "writing", "keepalive", "logging", "dns",
    "closing", "graceful", "idle_kill", NULL
};
static const char *const goapi_conn_states[] = {
    "total", "writing", "keepalive", "closing", NULL
};

/* Worker threads by state, and (async MPMs) connections by state, from
 * the scoreboard. */
static void goapi_scoreboard_counts(apr_uint64_t *workers, apr_uint64_t *conns)
{
    int slimit = 0, tlimit = 0, i, j;

    memset(workers, 0, sizeof(apr_uint64_t) * 10);
    memset(conns, 0, sizeof(apr_uint64_t) * 4);
    if (!ap_scoreboard_image
        || ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &slimit) != APR_SUCCESS
        || ap_mpm_query(AP_MPMQ_HARD_LIMIT_THREADS, &tlimit) != APR_SUCCESS) {
        return;
    }
    for (i = 0; i < slimit; i++) {
        process_score *ps = ap_get_scoreboard_process(i);

        if (!ps || !ps->pid) {
            continue;
        }
        conns[0] += ps->connections;
        conns[1] += ps->write_completion;
        conns[2] += ps->keep_alive;
        conns[3] += ps->lingering_close;
        for (j = 0; j < tlimit; j++) {
            const worker_score *ws = ap_get_scoreboard_worker_from_indexes(i, j);

            if (ws && ws->status > SERVER_DEAD && ws->status < SERVER_NUM_STATUS) {
                workers[ws->status - 1]++;
            }
        }
    }
}

static goapi_scope_gauges_fn *goapi_scope_gauges;

void goapi_metrics_scope_gauges(goapi_scope_gauges_fn *fn)
{
    goapi_scope_gauges = fn;
}

const char *goapi_metrics_scrape(request_rec *r, const goapi_readiness *rd,
                                 const char **type, apr_size_t *len)
{
    goapi_metrics_extra x;
    apr_uint64_t workers[10], conns[4];
    int om, async = 0;

    if (!goapi_metrics_region) {
        return NULL;
    }
    memset(&x, 0, sizeof(x));
    x.version = GOAPI_VERSION;
    x.httpd = AP_SERVER_BASEREVISION;
    x.have_readiness = 1;
    x.readiness = *rd;
    x.ready = goapi_readiness_ok(rd);
    goapi_scoreboard_counts(workers, conns);
    x.worker_states = goapi_worker_states;
    x.workers = workers;
    if (ap_mpm_query(AP_MPMQ_IS_ASYNC, &async) == APR_SUCCESS && async) {
        x.conn_states = goapi_conn_states;
        x.conns = conns;
    }
    if (goapi_scope_gauges) {
        goapi_scope_gauges(r->pool, &x);
    }
    x.store = goapi_ledger_kind();
    om = goapi_metrics_wants_openmetrics(apr_table_get(r->headers_in, "Accept"));
    *type = om ? GOAPI_METRICS_OPENMETRICS_TYPE : GOAPI_METRICS_TEXT_TYPE;
    return goapi_metrics_render(r->pool, goapi_metrics_region, &x, om, len);
}
