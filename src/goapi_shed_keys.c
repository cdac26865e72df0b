/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_shed_keys.c — see goapi_shed_keys.h.
 */
#include <string.h>

#include <apr_atomic.h>

#include "goapi_atomic.h"
#include "goapi_siphash.h"
#include "goapi_shed_keys.h"

#define GOAPI_COUNT(v) ((apr_uint32_t)((v) & 0xffffffffu))
#define GOAPI_TAG(v)   ((apr_uint32_t)((v) >> 32))

void goapi_shed_keys_init(goapi_shed_keys *t, apr_uint32_t limit, apr_uint32_t nslots,
                          const unsigned char secret[GOAPI_SHED_KEY_SECRET])
{
    memset((void *)t, 0, sizeof(*t));
    t->limit = limit;
    t->nslots = nslots >= GOAPI_SHED_KEY_SLOTS_MIN && nslots <= GOAPI_SHED_KEY_SLOTS
                ? nslots : GOAPI_SHED_KEY_SLOTS;
    memcpy(t->secret, secret, GOAPI_SHED_KEY_SECRET);
}

apr_uint64_t goapi_shed_keys_hash(const goapi_shed_keys *t, const char *key, apr_size_t len)
{
    /* SipHash-2-4 under the secret: a pseudorandom function of the key,
     * so that without the secret no one can pick keys that land in a
     * given slot; a short key takes 8 SipRounds, against SHA-256's 64
     * rounds for its one block */
    return goapi_siphash24(t->secret, key, len);
}

/* A key's tag is never 0, so that a slot never written is nobody's. */
static apr_uint32_t goapi_shed_key_tag(apr_uint64_t h)
{
    apr_uint32_t tag = (apr_uint32_t)(h >> 32);

    return tag ? tag : 1;
}

/* The index of a key's first slot; the next probes follow it, wrapping
 * (one division for all of them). */
static apr_uint32_t goapi_shed_key_first(const goapi_shed_keys *t, apr_uint64_t h)
{
    return (apr_uint32_t)h % t->nslots;
}

static apr_uint32_t goapi_shed_key_next(const goapi_shed_keys *t, apr_uint32_t at)
{
    return at + 1 < t->nslots ? at + 1 : 0;
}

goapi_shed_key_result goapi_shed_keys_enter(goapi_shed_keys *t, apr_uint64_t h,
                                            volatile apr_uint64_t **slot)
{
    apr_uint32_t tag = goapi_shed_key_tag(h), limit = t->limit;
    int i;

    for (;;) {
        volatile apr_uint64_t *free_slot = NULL;
        apr_uint64_t free_was = 0;
        apr_uint32_t at = goapi_shed_key_first(t, h);

        /* the key's own slot first, wherever it is among its probes */
        for (i = 0; i < GOAPI_SHED_KEY_PROBES; i++, at = goapi_shed_key_next(t, at)) {
            volatile apr_uint64_t *s = &t->slot[at];
            apr_uint64_t v = goapi_read64(s);

            if (GOAPI_COUNT(v) == 0) {
                if (!free_slot) {
                    free_slot = s;
                    free_was = v;
                }
                continue;
            }
            if (GOAPI_TAG(v) != tag) {
                continue;
            }
            if (GOAPI_COUNT(v) >= limit) {
                return GOAPI_SHED_KEY_FULL;
            }
            if (goapi_cas64(s, v + 1, v) == v) {
                *slot = s;
                return GOAPI_SHED_KEY_TAKEN;
            }
            break;                      /* changed under us: look again */
        }
        if (i < GOAPI_SHED_KEY_PROBES) {
            continue;
        }
        if (!free_slot) {
            apr_atomic_inc32(&t->overflow);
            *slot = NULL;
            return GOAPI_SHED_KEY_OVERFLOW;
        }
        if (limit == 0) {
            return GOAPI_SHED_KEY_FULL;
        }
        if (goapi_cas64(free_slot, ((apr_uint64_t)tag << 32) | 1, free_was) == free_was) {
            *slot = free_slot;
            return GOAPI_SHED_KEY_TAKEN;
        }
        /* another key took it meanwhile: look again */
    }
}

void goapi_shed_keys_leave(volatile apr_uint64_t *slot)
{
    if (slot) {
        goapi_add64(slot, (apr_uint64_t)-1);
    }
}

apr_uint32_t goapi_shed_keys_count(goapi_shed_keys *t, apr_uint64_t h)
{
    apr_uint32_t tag = goapi_shed_key_tag(h), n = 0, at = goapi_shed_key_first(t, h);
    int i;

    for (i = 0; i < GOAPI_SHED_KEY_PROBES; i++, at = goapi_shed_key_next(t, at)) {
        apr_uint64_t v = goapi_read64(&t->slot[at]);

        if (GOAPI_TAG(v) == tag) {
            n += GOAPI_COUNT(v);
        }
    }
    return n;
}
