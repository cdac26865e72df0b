/*
 * mod_goapi_lifecycle.c — readiness: dependency checks, startup, draining.
 *
 * The results of the GoapiReadyCheck checks live in shared memory made once
 * per httpd process tree (it survives graceful restarts, so a restart is
 * not a new start) and inherited by every child.  One child at a time runs
 * the checks: a callback of a mod_watchdog child singleton, every
 * GoapiReadyCheckInterval.  Children read the table without a lock
 * (src/goapi_health.c).
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "mod_watchdog.h"

#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include "goapi_check.h"
#include "goapi_health.h"
#include "goapi_parse.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

#define GOAPI_HEALTH_SHM_KEY    "goapi_health_shm"
#define GOAPI_WATCHDOG_NAME     "_goapi_ready_"

/* Inherited by the children at fork. */
static goapi_health *goapi_health_table;

/* Set in a child once it begins to stop (graceful or not). */
static volatile int goapi_child_stopping_flag;

static int goapi_mpm_stopping(void)
{
    int state = AP_MPMQ_RUNNING;

    return goapi_child_stopping_flag
           || (ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS
               && state == AP_MPMQ_STOPPING);
}

/* One round of checks, in the child that holds the watchdog singleton. */
static apr_status_t goapi_ready_round(int state, void *data, apr_pool_t *pool)
{
    server_rec *s = data;
    const goapi_server_conf *sc = ap_get_module_config(s->module_config, &goapi_module);
    int i;

    if (state == AP_WATCHDOG_STATE_STOPPING || goapi_mpm_stopping()) {
        return APR_SUCCESS;
    }
    for (i = 0; i < sc->checks->nelts; i++) {
        const goapi_ready_check *c = &APR_ARRAY_IDX(sc->checks, i, goapi_ready_check);
        goapi_health_entry before;
        const char *why = NULL;
        apr_time_t t0 = apr_time_now();
        int ok = goapi_check_run(pool, &c->url, sc->check_timeout, &why);

        goapi_health_read(goapi_health_table, i, &before);
        goapi_health_record(goapi_health_table, i, c->name, ok, why, t0,
                            apr_time_now() - t0);
        if (!ok && (!before.ran || before.ok)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, GOAPI_LOGNO(00020)
                         "ready check %s (%s) failed: %s", c->name, c->url_text, why);
        }
        else if (ok && before.ran && !before.ok) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, GOAPI_LOGNO(00021)
                         "ready check %s (%s) passes again", c->name, c->url_text);
        }
    }
    goapi_health_round_done(goapi_health_table);
    return APR_SUCCESS;
}

/* The shared table, made on the first real configuration and kept for the
 * life of the process tree. */
static goapi_health *goapi_health_shared(server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    apr_shm_t *shm = NULL;
    apr_status_t rv;

    apr_pool_userdata_get((void **)&shm, GOAPI_HEALTH_SHM_KEY, pp);
    if (!shm) {
        rv = apr_shm_create(&shm, sizeof(goapi_health), NULL, pp);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, GOAPI_LOGNO(00022)
                         "cannot create the shared memory for readiness checks");
            return NULL;
        }
        memset(apr_shm_baseaddr_get(shm), 0, sizeof(goapi_health));
        apr_pool_userdata_set(shm, GOAPI_HEALTH_SHM_KEY, apr_pool_cleanup_null, pp);
    }
    return apr_shm_baseaddr_get(shm);
}

int goapi_lifecycle_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    const goapi_server_conf *sc = ap_get_module_config(s->module_config, &goapi_module);
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_register;
    ap_watchdog_t *wd;
    const char **names;
    apr_status_t rv;
    int i;

    (void)plog;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;                      /* the first, trial reading */
    }
    goapi_health_table = goapi_health_shared(s);
    if (!goapi_health_table) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    names = apr_palloc(ptemp, (sc->checks->nelts + 1) * sizeof(*names));
    for (i = 0; i < sc->checks->nelts; i++) {
        names[i] = APR_ARRAY_IDX(sc->checks, i, goapi_ready_check).name;
    }
    goapi_health_configure(goapi_health_table, names, sc->checks->nelts);
    if (!sc->checks->nelts) {
        return OK;
    }

    wd_get = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!wd_get || !wd_register) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, GOAPI_LOGNO(00023)
                     "GoapiReadyCheck needs mod_watchdog");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* A child singleton: exactly one child runs the checks at a time (a
     * parent watchdog is not available with forking MPMs). */
    rv = wd_get(&wd, GOAPI_WATCHDOG_NAME, 0, 1, pconf);
    if (rv == APR_SUCCESS) {
        rv = wd_register(wd, sc->check_interval, s, goapi_ready_round);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, GOAPI_LOGNO(00024)
                     "cannot set up the readiness check runner");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

void goapi_lifecycle_child_stopping(apr_pool_t *pchild, int graceful)
{
    (void)pchild;
    (void)graceful;
    goapi_child_stopping_flag = 1;
}

void goapi_lifecycle_readiness(request_rec *r, goapi_readiness *out)
{
    const goapi_server_conf *sc = ap_get_module_config(r->server->module_config,
                                                       &goapi_module);
    apr_finfo_t fi;

    memset(out, 0, sizeof(*out));
    if (goapi_health_table) {
        goapi_readiness_snapshot(goapi_health_table, out);
        out->started = out->n == 0 || apr_atomic_read32(&goapi_health_table->rounds) > 0;
    }
    else {
        out->started = 1;
    }
    if (goapi_mpm_stopping()) {
        out->draining = 1;
        out->drain_reason = "server stopping";
    }
    else if (sc->drain_file
             && apr_stat(&fi, sc->drain_file, APR_FINFO_TYPE, r->pool) == APR_SUCCESS) {
        out->draining = 1;
        out->drain_reason = "drain file present";
    }
}
