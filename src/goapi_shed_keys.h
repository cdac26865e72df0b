/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_shed_keys.h — at most n requests in flight per key (a client
 * address, a user, a header's value) within a scope
 * (GoapiMaxInFlightPer), counted by every child in shared memory.
 *
 * A fixed table of slots, each one 64-bit word (a tag of the key above its
 * count) updated by compare-and-swap: no lock, no memory that grows with
 * the number of keys.  A key is hashed with a secret drawn at each start
 * (SipHash-2-4 keyed by the secret: goapi_siphash.h), so a client cannot
 * choose which other keys share its slot or its neighbours.  A key looks at GOAPI_SHED_KEY_PROBES
 * slots from its own: its slot when one holds its tag, else the first
 * free one.  When all of them hold other keys in flight, the table is full
 * for it: the request is counted as an overflow and not limited by key
 * (the scope's own GoapiMaxInFlight still applies), so that filling the
 * table with many keys cannot turn others away.  Pure: APR and libc only.
 */
#ifndef GOAPI_SHED_KEYS_H
#define GOAPI_SHED_KEYS_H

#include <apr.h>

#define GOAPI_SHED_KEY_SLOTS  4096      /* keys in flight at once, per table, at most */
#define GOAPI_SHED_KEY_SLOTS_MIN GOAPI_SHED_KEY_PROBES
#define GOAPI_SHED_KEY_PROBES 8
#define GOAPI_SHED_KEY_SECRET 16      /* SipHash-2-4's key */

typedef struct {
    apr_uint32_t limit;                 /* requests per key */
    apr_uint32_t nslots;                /* slots used, of GOAPI_SHED_KEY_SLOTS */
    volatile apr_uint32_t overflow;     /* requests admitted uncounted: full */
    unsigned char secret[GOAPI_SHED_KEY_SECRET];
    volatile apr_uint64_t slot[GOAPI_SHED_KEY_SLOTS];   /* tag << 32 | count */
} goapi_shed_keys;

typedef enum {
    GOAPI_SHED_KEY_TAKEN = 0,           /* counted: goapi_shed_keys_leave() at its end */
    GOAPI_SHED_KEY_FULL,                /* the key has limit requests in flight */
    GOAPI_SHED_KEY_OVERFLOW             /* no slot for it: admitted, not counted */
} goapi_shed_key_result;

/* A table of nslots slots (GOAPI_SHED_KEY_SLOTS_MIN to
 * GOAPI_SHED_KEY_SLOTS; out of that range: GOAPI_SHED_KEY_SLOTS). */
void goapi_shed_keys_init(goapi_shed_keys *t, apr_uint32_t limit, apr_uint32_t nslots,
                          const unsigned char secret[GOAPI_SHED_KEY_SECRET]);

/* The key's hash under the table's secret. */
apr_uint64_t goapi_shed_keys_hash(const goapi_shed_keys *t, const char *key, apr_size_t len);

/* Count a request of the key whose hash is h; *slot is what to give back
 * when it was taken. */
goapi_shed_key_result goapi_shed_keys_enter(goapi_shed_keys *t, apr_uint64_t h,
                                            volatile apr_uint64_t **slot);

void goapi_shed_keys_leave(volatile apr_uint64_t *slot);

/* Requests of the key whose hash is h in flight now (for tests and the
 * metrics). */
apr_uint32_t goapi_shed_keys_count(goapi_shed_keys *t, apr_uint64_t h);

#endif /* GOAPI_SHED_KEYS_H */
