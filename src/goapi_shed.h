/*
 * goapi_shed.h — load shedding: at most N requests of a scope at once,
 * counted in shared memory by every child.  Pure: APR and libc only.
 */
#ifndef GOAPI_SHED_H
#define GOAPI_SHED_H

#include <apr.h>

/* Take one of limit places: 1 when taken (goapi_shed_leave() gives it
 * back), 0 when all are taken (nothing to give back). */
int goapi_shed_enter(volatile apr_uint32_t *in_flight, apr_uint32_t limit);
void goapi_shed_leave(volatile apr_uint32_t *in_flight);

/* Retry-After for a shed request: base seconds plus a jitter of up to as
 * much again, from any 32 random bits, so that the clients told to wait do
 * not all come back in the same second. */
int goapi_shed_retry_after(int base, apr_uint32_t random_bits);

#endif /* GOAPI_SHED_H */
