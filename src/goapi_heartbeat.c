/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_heartbeat.c — background threads alive and not stuck (see
 * goapi_heartbeat.h).
 */
#include <apr_atomic.h>
#include <apr_strings.h>

#include "goapi_heartbeat.h"

void goapi_heartbeat_init(goapi_heartbeat *hb, const char *name,
                          apr_interval_time_t stall, apr_time_t now)
{
    hb->name = name;
    hb->stall = stall;
    apr_atomic_set32(&hb->ended, 0);
    apr_atomic_set64(&hb->last, (apr_uint64_t)now);
}

void goapi_heartbeat_beat(goapi_heartbeat *hb, apr_time_t now)
{
    apr_atomic_set64(&hb->last, (apr_uint64_t)now);
}

void goapi_heartbeat_end(goapi_heartbeat *hb)
{
    apr_atomic_set32(&hb->ended, 1);
}

const char *goapi_heartbeat_check(apr_pool_t *p, goapi_heartbeat *hb, apr_time_t now)
{
    apr_time_t last = (apr_time_t)apr_atomic_read64(&hb->last);
    apr_interval_time_t silent = now - last;

    if (apr_atomic_read32(&hb->ended)) {
        return "thread ended";
    }
    if (silent <= hb->stall) {
        return NULL;
    }
    return apr_psprintf(p, "no heartbeat for %" APR_TIME_T_FMT ".%01ds",
                        apr_time_sec(silent), (int)(apr_time_msec(silent) / 100));
}
