/*
 * goapi_shutdown.h — shutdown hooks: the API other modules use, and the
 * registry that runs them.  Pure: APR and APR-util only.
 *
 * Another module registers a hook (from its post_config or child_init):
 *
 *   #include "goapi_shutdown.h"
 *
 *   static apr_status_t flush_queue(void *baton, apr_time_t deadline) { ... }
 *
 *   APR_OPTIONAL_FN_TYPE(goapi_register_shutdown_hook) *reg =
 *       APR_RETRIEVE_OPTIONAL_FN(goapi_register_shutdown_hook);
 *   if (reg)
 *       reg(pconf, "flush-queue", flush_queue, ctx);
 *
 * In each child, when its stop begins (graceful stop or restart, or an
 * immediate stop), mod_goapi runs the hooks in registration order, each
 * told the deadline: the end of the GoapiShutdownTimeout window.  A hook is
 * forgotten when the pool it was registered with is cleared.
 */
#ifndef GOAPI_SHUTDOWN_H
#define GOAPI_SHUTDOWN_H

#include <apr_optional.h>
#include <apr_pools.h>
#include <apr_time.h>

/* A shutdown hook: finish by deadline; the return value is logged. */
typedef apr_status_t goapi_shutdown_fn(void *baton, apr_time_t deadline);

APR_DECLARE_OPTIONAL_FN(apr_status_t, goapi_register_shutdown_hook,
                        (apr_pool_t *p, const char *name, goapi_shutdown_fn *fn,
                         void *baton));

/* ---- the registry (mod_goapi's side) ------------------------------------ */

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
