/*
 * goapi_shed.c — places of a load-shedding scope (see goapi_shed.h).
 */
#include <apr_atomic.h>

#include "goapi_shed.h"

int goapi_shed_enter(volatile apr_uint32_t *in_flight, apr_uint32_t limit)
{
    apr_uint32_t now = apr_atomic_read32(in_flight);

    /* compare-and-swap rather than add-then-undo: a request that is turned
     * away never holds a place, even for a moment */
    for (;;) {
        apr_uint32_t seen;

        if (now >= limit) {
            return 0;
        }
        seen = apr_atomic_cas32(in_flight, now + 1, now);
        if (seen == now) {
            return 1;
        }
        now = seen;
    }
}

void goapi_shed_leave(volatile apr_uint32_t *in_flight)
{
    apr_atomic_dec32(in_flight);
}

int goapi_shed_retry_after(int base, apr_uint32_t random_bits)
{
    if (base < 1) {
        base = 1;
    }
    return base + (int)(random_bits % ((apr_uint32_t)base + 1));
}
