/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_heartbeat.h — whether a background thread is alive and not stuck:
 * it beats at least once per period; a liveness check fails once it has
 * been silent longer than its stall limit.  Written by the thread, read by
 * any other without a lock.  Pure: APR and libc only.
 */
#ifndef GOAPI_HEARTBEAT_H
#define GOAPI_HEARTBEAT_H

#include <apr_pools.h>
#include <apr_time.h>

struct goapi_heartbeat {
    const char *name;                   /* the liveness check's name */
    apr_interval_time_t stall;          /* silent longer: stuck */
    volatile apr_uint64_t last;         /* apr_time_t of the last beat; 0 none */
    volatile apr_uint32_t ended;        /* the thread returned */
};
typedef struct goapi_heartbeat goapi_heartbeat;

void goapi_heartbeat_init(goapi_heartbeat *hb, const char *name,
                          apr_interval_time_t stall, apr_time_t now);
void goapi_heartbeat_beat(goapi_heartbeat *hb, apr_time_t now);
/* The thread is gone (it returned while its process goes on). */
void goapi_heartbeat_end(goapi_heartbeat *hb);

/* NULL while the thread is alive and beat within its stall limit at now,
 * else why not: "thread ended", "no heartbeat for 2.1s". */
const char *goapi_heartbeat_check(apr_pool_t *p, goapi_heartbeat *hb, apr_time_t now);

#endif /* GOAPI_HEARTBEAT_H */
