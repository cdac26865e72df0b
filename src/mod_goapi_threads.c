/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_threads.c — work in the background, shared by the glue files
 * that need it: the threads of a child process (the shutdown supervisor,
 * the write-deadline thread), started with every signal blocked, told to
 * stop and joined by a pre-cleanup of the child's pool; and the periodic
 * work one child does for all (readiness checks, the ledger's sweep), as
 * mod_watchdog child singletons.
 */
#include <signal.h>

#include "httpd.h"
#include "http_log.h"
#include "mod_watchdog.h"

#include <apr_atomic.h>
#include <apr_thread_proc.h>

#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

static apr_status_t goapi_child_thread_join(void *data)
{
    goapi_child_thread *t = data;
    apr_status_t rv;

    ap_log_error(APLOG_MARK, APLOG_INFO, 0, t->s, GOAPI_LOGNO(00035)
                 "cleanup hook started: %s", t->name);
    apr_atomic_set32(&t->stop, 1);
    apr_thread_join(&rv, t->thread);
    t->thread = NULL;
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
