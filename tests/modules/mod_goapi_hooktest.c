/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_hooktest — a module that uses mod_goapi's API, for the tests:
 * two shutdown hooks, each logging what it was told; and, with "Define
 * HOOKTEST_HEARTBEAT", a thread per child with a liveness check of its own
 * ("hooktest-worker", stall 1 s) that stops beating, as a stuck thread
 * would, while the file "hooktest-stall" exists in DefaultRuntimeDir; and,
 * with "Define HOOKTEST_METRICS_LAYOUT", a metrics region that reads, from
 * the next restart on, as laid out by another version of mod_goapi.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"

#include <apr_atomic.h>
#include <apr_file_info.h>
#include <apr_shm.h>
#include <apr_thread_proc.h>

#include "mod_goapi_public.h"

static server_rec *hooktest_server;

static apr_status_t hooktest_hook(void *baton, apr_time_t deadline)
{
    const char *name = baton;

    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, hooktest_server,
                 "hooktest %s ran with %" APR_TIME_T_FMT " ms left", name,
                 apr_time_as_msec(deadline - apr_time_now()));
    apr_sleep(apr_time_from_msec(100));
    return APR_SUCCESS;
}

static int hooktest_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(goapi_register_shutdown_hook) *reg =
        APR_RETRIEVE_OPTIONAL_FN(goapi_register_shutdown_hook);

    (void)plog;
    (void)ptemp;
    hooktest_server = s;
    if (!reg) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "hooktest: mod_goapi not loaded");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    reg(pconf, "hooktest-first", hooktest_hook, "first");
    reg(pconf, "hooktest-second", hooktest_hook, "second");
    if (ap_exists_config_define("HOOKTEST_METRICS_LAYOUT")) {
        apr_shm_t *shm = NULL;

        /* the region mod_goapi made or took over, which begins with the
         * number of its layout: another number, as another version's */
        apr_pool_userdata_get((void **)&shm, "goapi_metrics_shm", s->process->pool);
        if (shm) {
            *(apr_uint32_t *)apr_shm_baseaddr_get(shm) ^= 0x80000000u;
        }
    }
    return OK;
}

/* ---- a thread with a heartbeat --------------------------------------- */

typedef struct {
    apr_thread_t *thread;
    volatile apr_uint32_t stop;
    struct goapi_heartbeat *hb;
    const char *stall_file;
    apr_pool_t *pool;
} hooktest_worker;

static void *APR_THREAD_FUNC hooktest_work(apr_thread_t *t, void *data)
{
    hooktest_worker *w = data;
    APR_OPTIONAL_FN_TYPE(goapi_beat) *beat = APR_RETRIEVE_OPTIONAL_FN(goapi_beat);
    int i;

    /* bounded: at most an hour of 50 ms rounds */
    for (i = 0; i < 72000 && !apr_atomic_read32(&w->stop); i++) {
        apr_finfo_t fi;

        if (apr_stat(&fi, w->stall_file, APR_FINFO_TYPE, w->pool) != APR_SUCCESS && beat) {
            beat(w->hb);
        }
        apr_sleep(apr_time_from_msec(50));
    }
    (void)t;
    return NULL;
}

static apr_status_t hooktest_worker_join(void *data)
{
    hooktest_worker *w = data;
    apr_status_t rv;

    apr_atomic_set32(&w->stop, 1);
    apr_thread_join(&rv, w->thread);
    return APR_SUCCESS;
}

static void hooktest_child_init(apr_pool_t *pchild, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(goapi_register_heartbeat) *reg =
        APR_RETRIEVE_OPTIONAL_FN(goapi_register_heartbeat);
    hooktest_worker *w;

    if (!ap_exists_config_define("HOOKTEST_HEARTBEAT") || !reg) {
        return;
    }
    w = apr_pcalloc(pchild, sizeof(*w));
    w->pool = pchild;
    w->stall_file = ap_runtime_dir_relative(pchild, "hooktest-stall");
    w->hb = reg(pchild, "hooktest-worker", apr_time_from_sec(1));
    if (!w->hb || apr_thread_create(&w->thread, NULL, hooktest_work, w, pchild)
                  != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "hooktest: no heartbeat thread");
        return;
    }
    apr_pool_pre_cleanup_register(pchild, w, hooktest_worker_join);
}

static void hooktest_register_hooks(apr_pool_t *p)
{
    static const char *const after_goapi[] = { "mod_goapi.c", NULL };

    (void)p;
    ap_hook_post_config(hooktest_post_config, after_goapi, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(hooktest_child_init, after_goapi, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(goapi_hooktest) = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL, NULL,
    hooktest_register_hooks,
    0
};
