/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_readiness.c — readiness: the GoapiReadyCheck dependency checks,
 * startup, and the answer /readyz and /startupz are built from.
 *
 * The results of the checks live in shared memory made once per httpd
 * process tree (it survives graceful restarts, so a restart is not a new
 * start) and inherited by every child.  One child at a time runs the
 * checks: a callback of a mod_watchdog child singleton, every
 * GoapiReadyCheckInterval.  Children read the table without a lock
 * (src/goapi_health.c).  A server that is stopping, or whose stop is
 * announced (GoapiShutdownDelay), or that finds its drain file, is not
 * ready.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"

#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include "goapi_check.h"
#include "goapi_health.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

#define GOAPI_HEALTH_SHM_KEY    "goapi_health_shm"
#define GOAPI_WATCHDOG_NAME     "_goapi_ready_"

/* Inherited by the children at fork. */
static goapi_health *goapi_health_table;

/* The result of check i, logged when it changes. */
static void goapi_ready_note(server_rec *s, int i, const char *name, const char *what,
                             int ok, const char *why, apr_time_t t0)
{
    goapi_health_entry before;

    goapi_health_read(goapi_health_table, i, &before);
    goapi_health_record(goapi_health_table, i, name, ok, why, t0, apr_time_now() - t0);
    if (!ok && (!before.ran || before.ok)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, GOAPI_LOGNO(00020)
                     "ready check %s (%s) failed: %s", name, what, why);
    }
    else if (ok && before.ran && !before.ok) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, GOAPI_LOGNO(00021)
                     "ready check %s (%s) passes again", name, what);
    }
}

/* One round of checks, in the child that holds the watchdog singleton. */
static apr_status_t goapi_ready_round(int state, void *data, apr_pool_t *pool)
{
    server_rec *s = data;
    const goapi_server_conf *sc = goapi_sconf(s);
    const char *store = goapi_ledger_check_name(sc);
    int i;

    if (state == AP_WATCHDOG_STATE_STOPPING || goapi_mpm_stopping()) {
        return APR_SUCCESS;
    }
    for (i = 0; i < sc->checks->nelts; i++) {
        const goapi_ready_check *c = &APR_ARRAY_IDX(sc->checks, i, goapi_ready_check);
        const char *why = NULL;
        apr_time_t t0 = apr_time_now();
        int ok = goapi_check_run(pool, &c->url, sc->check_timeout, &why);

        goapi_ready_note(s, i, c->name, c->url_text, ok, why, t0);
    }
    if (store) {
        /* the built-in check of a ledger shared by several hosts */
        const char *why = NULL;
        apr_time_t t0 = apr_time_now();
        int ok = goapi_ledger_ping(pool, &why);

        goapi_ready_note(s, i, store, "GoapiIdempotencyStore", ok, why, t0);
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

int goapi_readiness_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    const goapi_server_conf *sc = goapi_sconf(s);
    const char **names, *store = goapi_ledger_check_name(sc);
    apr_status_t rv;
    int i, n;

    (void)plog;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;                      /* the first, trial reading */
    }
    goapi_signals_parent_config(pconf, s);
    goapi_stop_config(s);
    goapi_health_table = goapi_health_shared(s);
    if (!goapi_health_table) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    names = apr_palloc(ptemp, (sc->checks->nelts + 2) * sizeof(*names));
    for (i = 0; i < sc->checks->nelts; i++) {
        names[i] = APR_ARRAY_IDX(sc->checks, i, goapi_ready_check).name;
    }
    n = sc->checks->nelts;
    if (store && n < GOAPI_MAX_CHECKS) {
        names[n++] = store;
    }
    goapi_health_configure(goapi_health_table, names, n);
    if (!n) {
        return OK;
    }

    /* A child singleton: exactly one child runs the checks at a time (a
     * parent watchdog is not available with forking MPMs). */
    rv = goapi_watchdog_every(pconf, s, GOAPI_WATCHDOG_NAME, sc->check_interval,
                              goapi_ready_round);
    if (rv == APR_ENOTIMPL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, GOAPI_LOGNO(00023)
                     "GoapiReadyCheck needs mod_watchdog");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, GOAPI_LOGNO(00024)
                     "cannot set up the readiness check runner");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

void goapi_readiness_of(request_rec *r, goapi_readiness *out)
{
    const goapi_server_conf *sc = goapi_sconf(r->server);
    apr_finfo_t fi;

    memset(out, 0, sizeof(*out));
    if (goapi_health_table) {
        goapi_readiness_snapshot(goapi_health_table, out);
        out->started = out->n == 0 || apr_atomic_read32(&goapi_health_table->rounds) > 0;
    }
    else {
        out->started = 1;
    }
    if (goapi_stop_announced()) {
        out->draining = 1;
        out->shutting_down = 1;
        out->drain_reason = "shutting down";
    }
    else if (goapi_mpm_stopping()) {
        out->draining = 1;
        out->drain_reason = "server stopping";
    }
    else if (sc->drain_file
             && apr_stat(&fi, sc->drain_file, APR_FINFO_TYPE, r->pool) == APR_SUCCESS) {
        out->draining = 1;
        out->drain_reason = "drain file present";
    }
}
