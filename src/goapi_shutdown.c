/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_shutdown.c — the shutdown hook registry (see goapi_shutdown.h).
 */
#include <apr_strings.h>

#include "goapi_shutdown.h"

struct goapi_shutdown_hook {
    goapi_shutdown_hook *next;
    goapi_shutdown_hook **list;     /* to unlink on cleanup */
    const char *name;
    goapi_shutdown_fn *fn;
    void *baton;
};

static apr_status_t goapi_shutdown_unlink(void *data)
{
    goapi_shutdown_hook *h = data, **pp;

    for (pp = h->list; *pp; pp = &(*pp)->next) {
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    }
    return APR_SUCCESS;
}

apr_status_t goapi_shutdown_add(goapi_shutdown_hook **list, apr_pool_t *p,
                                const char *name, goapi_shutdown_fn *fn, void *baton)
{
    goapi_shutdown_hook *h, **pp;

    if (!fn || !name) {
        return APR_EINVAL;
    }
    h = apr_pcalloc(p, sizeof(*h));
    h->list = list;
    h->name = apr_pstrdup(p, name);
    h->fn = fn;
    h->baton = baton;
    for (pp = list; *pp; pp = &(*pp)->next)
        ;
    *pp = h;
    apr_pool_cleanup_register(p, h, goapi_shutdown_unlink, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

int goapi_shutdown_run(goapi_shutdown_hook *list, apr_time_t deadline,
                       goapi_shutdown_report_fn *report, void *baton)
{
    goapi_shutdown_hook *h;
    int skipped = 0;

    for (h = list; h; h = h->next) {
        apr_time_t t0 = apr_time_now();
        apr_status_t rv;

        if (t0 >= deadline) {
            skipped++;
            continue;
        }
        report(baton, h->name, 1, APR_SUCCESS, 0);
        rv = h->fn(h->baton, deadline);
        report(baton, h->name, 0, rv, apr_time_now() - t0);
    }
    return skipped;
}
