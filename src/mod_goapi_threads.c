/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_threads.c — work in the background, shared by the glue files
 * that need it: the threads of a child process (the shutdown supervisor,
 * the write-deadline thread), started with every signal blocked, told to
 * stop and joined by a pre-cleanup of the child's pool; and the periodic
 * work one child does for all (readiness checks, the ledger's sweep), as
 * mod_watchdog child singletons; and the heartbeats of the threads, the
 * liveness checks of /livez.
 */
#include <signal.h>

#include "httpd.h"
#include "http_log.h"
#include "mod_watchdog.h"

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "goapi_health.h"
#include "mod_goapi.h"
#include "mod_goapi_public.h"

APLOG_USE_MODULE(goapi);

/* The heartbeats of this process, added in child_init (one thread) and
 * read by any worker without a lock: a slot is filled before the count
 * that shows it. */
static goapi_heartbeat goapi_heartbeats[GOAPI_MAX_HEARTBEATS];
static volatile apr_uint32_t goapi_heartbeat_count;

goapi_heartbeat *goapi_heartbeat_add(apr_pool_t *pchild, const char *name,
                                     apr_interval_time_t stall)
{
    apr_uint32_t i, n = apr_atomic_read32(&goapi_heartbeat_count);

    if (!name || goapi_check_name_parse(name) || strcmp(name, "ping") == 0
        || n >= GOAPI_MAX_HEARTBEATS || stall <= 0) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (strcmp(goapi_heartbeats[i].name, name) == 0) {
            return NULL;
        }
    }
    goapi_heartbeat_init(&goapi_heartbeats[n], apr_pstrdup(pchild, name), stall,
                         apr_time_now());
    apr_atomic_set32(&goapi_heartbeat_count, n + 1);
    return &goapi_heartbeats[n];
}

void goapi_heartbeat_now(goapi_heartbeat *hb)
{
    if (hb) {
        goapi_heartbeat_beat(hb, apr_time_now());
    }
}

int goapi_liveness(apr_pool_t *p, goapi_probe_check **out)
{
    apr_uint32_t i, n = apr_atomic_read32(&goapi_heartbeat_count);
    goapi_probe_check *c = apr_palloc(p, (n + 1) * sizeof(*c));
    apr_time_t now = apr_time_now();

    c[0].name = "ping";
    c[0].ok = 1;
    c[0].reason = NULL;
    for (i = 0; i < n; i++) {
        c[i + 1].name = goapi_heartbeats[i].name;
        c[i + 1].reason = goapi_heartbeat_check(p, &goapi_heartbeats[i], now);
        c[i + 1].ok = c[i + 1].reason == NULL;
    }
    *out = c;
    return (int)n + 1;
}

/* mod_goapi_public.h: the heartbeats of other modules' threads. */
struct goapi_heartbeat *goapi_register_heartbeat(apr_pool_t *pchild, const char *name,
                                                 apr_interval_time_t stall)
{
    return goapi_heartbeat_add(pchild, name, stall);
}

void goapi_beat(struct goapi_heartbeat *hb)
{
    goapi_heartbeat_now(hb);
}

static apr_status_t goapi_child_thread_join(void *data)
{
    goapi_child_thread *t = data;
    apr_status_t rv;

    ap_log_error(APLOG_MARK, APLOG_INFO, 0, t->s, GOAPI_LOGNO(00035)
                 "cleanup hook started: %s", t->name);
    apr_atomic_set32(&t->stop, 1);
    apr_thread_join(&rv, t->thread);
    t->thread = NULL;
    if (t->hb) {
        goapi_heartbeat_end(t->hb);
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, t->s, GOAPI_LOGNO(00036)
                 "cleanup hook finished: %s", t->name);
    return APR_SUCCESS;
}

apr_status_t goapi_child_thread_start(goapi_child_thread *t, apr_pool_t *pchild,
                                      apr_thread_start_t fn, void *data)
{
    sigset_t all, old;
    apr_status_t rv;

    apr_atomic_set32(&t->stop, 0);
    if (!t->hb) {
        t->hb = goapi_heartbeat_add(pchild, t->check, t->stall);
    }
    goapi_heartbeat_now(t->hb);
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rv = apr_thread_create(&t->thread, NULL, fn, data, pchild);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rv != APR_SUCCESS) {
        t->thread = NULL;
        return rv;
    }
    apr_pool_pre_cleanup_register(pchild, t, goapi_child_thread_join);
    return APR_SUCCESS;
}

int goapi_child_thread_stopping(goapi_child_thread *t)
{
    goapi_heartbeat_now(t->hb);
    return apr_atomic_read32(&t->stop) != 0;
}

apr_status_t goapi_watchdog_every(apr_pool_t *pconf, server_rec *s, const char *name,
                                  apr_interval_time_t interval,
                                  ap_watchdog_callback_fn_t *fn)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *reg =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    ap_watchdog_t *wd;
    apr_status_t rv;

    if (!get || !reg) {
        return APR_ENOTIMPL;
    }
    /* a child singleton (a parent watchdog is not offered to forking MPMs) */
    rv = get(&wd, name, 0, 1, pconf);
    return rv == APR_SUCCESS ? reg(wd, interval, s, fn) : rv;
}
