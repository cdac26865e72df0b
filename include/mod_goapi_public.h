/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_public.h — what mod_goapi offers other httpd modules: shutdown
 * hooks.  Installed beside httpd's headers by "make install" (apxs -q
 * INCLUDEDIR); needs APR only.
 *
 * A module registers a hook from its post_config or child_init hook:
 *
 *   #include "mod_goapi_public.h"
 *
 *   static apr_status_t flush_queue(void *baton, apr_time_t deadline)
 *   {
 *       ... finish by deadline ...
 *   }
 *
 *   APR_OPTIONAL_FN_TYPE(goapi_register_shutdown_hook) *reg =
 *       APR_RETRIEVE_OPTIONAL_FN(goapi_register_shutdown_hook);
 *   if (reg)
 *       reg(pconf, "flush-queue", flush_queue, ctx);
 *
 * The function is NULL when mod_goapi is not loaded: a module that uses it
 * works without it.
 *
 * In each child, when its stop begins (a graceful stop or restart, or an
 * immediate stop), mod_goapi runs the hooks in the order they were
 * registered, each told the deadline: the end of the GoapiShutdownTimeout
 * window.  Once the deadline has passed the hooks not yet started are
 * skipped (and logged).  A hook's return value is logged; a hook is
 * forgotten when the pool it was registered with is cleared.
 *
 * Liveness: a module's own background thread can be one of the checks of
 * /livez (and /livez/<name>), as mod_goapi's own threads are.  From its
 * child_init hook, it registers a heartbeat, then the thread beats at
 * least once per stall:
 *
 *   APR_OPTIONAL_FN_TYPE(goapi_register_heartbeat) *reg =
 *       APR_RETRIEVE_OPTIONAL_FN(goapi_register_heartbeat);
 *   APR_OPTIONAL_FN_TYPE(goapi_beat) *beat = APR_RETRIEVE_OPTIONAL_FN(goapi_beat);
 *   struct goapi_heartbeat *hb = reg ? reg(pchild, "queue-flusher",
 *                                          apr_time_from_sec(5)) : NULL;
 *   ... in the thread's loop:  if (beat) beat(hb);
 *
 * A thread silent for longer than its stall fails its liveness check
 * ("no heartbeat for 6.1s"), and with it /livez: the container is
 * restarted.
 */
#ifndef MOD_GOAPI_PUBLIC_H
#define MOD_GOAPI_PUBLIC_H

#include <apr_optional.h>
#include <apr_pools.h>
#include <apr_time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A shutdown hook: do what must be done before the process ends, by
 * deadline (apr_time_now() scale).  APR_SUCCESS, or a status that is
 * logged. */
typedef apr_status_t goapi_shutdown_fn(void *baton, apr_time_t deadline);

/* Register fn under name (shown in the logs and in the
 * goapi_shutdown_hook_seconds{hook} metric); baton is passed back to it.
 * APR_SUCCESS, or APR_EINVAL for a NULL name or function. */
APR_DECLARE_OPTIONAL_FN(apr_status_t, goapi_register_shutdown_hook,
                        (apr_pool_t *p, const char *name, goapi_shutdown_fn *fn,
                         void *baton));

/* A thread's heartbeat (opaque). */
struct goapi_heartbeat;

/* Register, from child_init, the liveness check name (1 to 48 of A-Z a-z
 * 0-9 - _ . ; not "ping", not taken) of a thread of this child that beats
 * at least every stall.  NULL when it cannot be (bad or taken name, 16
 * already): beating NULL does nothing. */
APR_DECLARE_OPTIONAL_FN(struct goapi_heartbeat *, goapi_register_heartbeat,
                        (apr_pool_t *pchild, const char *name, apr_interval_time_t stall));

/* The thread is alive and not stuck (hb may be NULL). */
APR_DECLARE_OPTIONAL_FN(void, goapi_beat, (struct goapi_heartbeat *hb));

#ifdef __cplusplus
}
#endif

#endif /* MOD_GOAPI_PUBLIC_H */
