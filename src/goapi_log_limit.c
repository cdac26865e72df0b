/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_log_limit.c — see goapi_log_limit.h.
 */
#include <apr_atomic.h>

#include "goapi_log_limit.h"

int goapi_log_due(goapi_log_limit *l, apr_time_t now, apr_interval_time_t interval,
                  apr_uint32_t *skipped)
{
    apr_uint32_t period = (apr_uint32_t)(now / interval);
    apr_uint32_t last = apr_atomic_read32(&l->period);

    /* one thread wins the new period; the others count themselves out */
    if (last == period || apr_atomic_cas32(&l->period, period, last) != last) {
        apr_atomic_inc32(&l->skipped);
        return 0;
    }
    *skipped = apr_atomic_xchg32(&l->skipped, 0);
    return 1;
}
