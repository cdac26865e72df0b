/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_store.c — what every idempotency store shares (see goapi_store.h).
 */
#include <apr_atomic.h>

#include "goapi_store.h"

int goapi_store_claim_replaces(const goapi_idem_record *held, apr_time_t now,
                               unsigned flags)
{
    if (held->expires <= now) {
        return 1;               /* past its end: nothing is known of the key */
    }
    return held->state == GOAPI_IDEM_IN_FLIGHT && held->lease_end <= now
           && (flags & GOAPI_CLAIM_RERUN_AFTER_LEASE);
}

int goapi_store_log_due(goapi_store_log_limit *l, apr_time_t now,
                        apr_interval_time_t interval, apr_uint32_t *skipped)
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

int goapi_store_unsure(goapi_store *st, apr_status_t rv)
{
    return st->ops->unsure ? st->ops->unsure(st, rv) : 0;
}

apr_status_t goapi_store_orphan(goapi_store *st, const unsigned char key[GOAPI_SHA256_LEN],
                                const goapi_idem_record *claim)
{
    return st->ops->orphan ? st->ops->orphan(st, key, claim) : APR_ENOTIMPL;
}
