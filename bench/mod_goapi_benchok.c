/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_benchok — the baselines of "make bench": "SetHandler benchok"
 * answers "ok\n" from the normal handler phase, as mod_goapi's /healthz
 * does, with the same media type and headers.  The cheapest thing httpd
 * can do there, so that a ratio against it is mod_goapi's whole cost.
 * And GET /okq is answered the same from the quick handler, before
 * httpd's location walk and every later phase: the ceiling of any
 * module's answer on the same MPM and settings.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_request.h"

#include <string.h>

static int benchok_answer(request_rec *r)
{
    ap_set_content_type(r, "text/plain; charset=utf-8");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, 3);
    if (!r->header_only) {
        ap_rwrite("ok\n", 3, r);
    }
    return OK;
}

static int benchok_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, "benchok") != 0) {
        return DECLINED;
    }
    return benchok_answer(r);
}

static int benchok_quick_handler(request_rec *r, int lookup)
{
    if (lookup || r->method_number != M_GET || strcmp(r->uri, "/okq") != 0) {
        return DECLINED;
    }
    return benchok_answer(r);
}

static void benchok_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(benchok_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_quick_handler(benchok_quick_handler, NULL, NULL, APR_HOOK_FIRST);
}

AP_DECLARE_MODULE(goapi_benchok) = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL, NULL,
    benchok_register_hooks,
    0
};
