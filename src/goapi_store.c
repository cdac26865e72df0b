/*
 * goapi_store.c — what every idempotency store shares (see goapi_store.h).
 */
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
