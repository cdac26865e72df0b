/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_hooktest — a module that uses mod_goapi's shutdown hook API,
 * for the tests: two hooks, each logging what it was told.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

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
    return OK;
}

static void hooktest_register_hooks(apr_pool_t *p)
{
    static const char *const after_goapi[] = { "mod_goapi.c", NULL };

    (void)p;
    ap_hook_post_config(hooktest_post_config, after_goapi, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(goapi_hooktest) = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL, NULL,
    hooktest_register_hooks,
    0
};
