/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_shutdown.h — the registry of shutdown hooks, mod_goapi's side of
 * the API other modules use (include/mod_goapi_public.h: the hook's type
 * and goapi_register_shutdown_hook).  Pure: APR only.
 */
#ifndef GOAPI_SHUTDOWN_H
#define GOAPI_SHUTDOWN_H

#include <apr_pools.h>
#include <apr_time.h>

#include "mod_goapi_public.h"

typedef struct goapi_shutdown_hook goapi_shutdown_hook;

/* Add a hook at the end of *list; it is removed when p is cleared. */
apr_status_t goapi_shutdown_add(goapi_shutdown_hook **list, apr_pool_t *p,
                                const char *name, goapi_shutdown_fn *fn, void *baton);

/* What the runner reports of each hook: before (started) and after. */
typedef void goapi_shutdown_report_fn(void *baton, const char *name, int started,
                                      apr_status_t rv, apr_interval_time_t took);

/* Run the hooks in order.  Once the deadline has passed, the remaining
 * hooks are not started; their number is returned. */
int goapi_shutdown_run(goapi_shutdown_hook *list, apr_time_t deadline,
                       goapi_shutdown_report_fn *report, void *baton);

#endif /* GOAPI_SHUTDOWN_H */
