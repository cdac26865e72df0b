/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_reaper.c — slot registry and state machine (see goapi_reaper.h).
 */
#include <apr_atomic.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "goapi_reaper.h"

#define GOAPI_SLOT_IDLE    0u
#define GOAPI_SLOT_ARMED   1u
#define GOAPI_SLOT_FIRING  2u
#define GOAPI_SLOT_FIRED   3u

/* Slots come in chunks; chunks are only ever added, so a scanner needs no
 * lock to walk them. */
#define GOAPI_CHUNK_SLOTS  64

struct goapi_wslot {
    volatile apr_uint32_t state;
    apr_time_t deadline;            /* written only while IDLE */
    void *target;
    const void *tag;
    volatile apr_uint32_t fd;       /* connection's descriptor + 1; 0 when free */
    goapi_wslot *next_free;         /* under the reaper's mutex */
};

struct goapi_reaper {
    apr_pool_t *pool;
    apr_thread_mutex_t *mutex;      /* free list and chunk growth */
    goapi_wslot *free;
    goapi_wslot **chunks;           /* max_chunks entries */
    apr_uint32_t max_chunks;
    volatile apr_uint32_t nchunks;  /* published after a chunk is ready */
    apr_size_t in_use;
};

apr_status_t goapi_reaper_create(goapi_reaper **rpp, apr_pool_t *p,
                                 apr_size_t max_slots)
{
    goapi_reaper *rp = apr_pcalloc(p, sizeof(*rp));
    apr_status_t rv;

    rp->pool = p;
    rp->max_chunks = (apr_uint32_t)((max_slots + GOAPI_CHUNK_SLOTS - 1) / GOAPI_CHUNK_SLOTS);
    if (rp->max_chunks == 0) {
        rp->max_chunks = 1;
    }
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, as meant */
    rp->chunks = apr_pcalloc(p, rp->max_chunks * sizeof(*rp->chunks));
    rv = apr_thread_mutex_create(&rp->mutex, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        *rpp = rp;
    }
    return rv;
}

goapi_wslot *goapi_reaper_acquire(goapi_reaper *rp, int fd)
{
    goapi_wslot *slot = NULL;

    apr_thread_mutex_lock(rp->mutex);
    if (!rp->free && rp->nchunks < rp->max_chunks) {
        goapi_wslot *chunk = apr_pcalloc(rp->pool, GOAPI_CHUNK_SLOTS * sizeof(*chunk));
        int i;

        for (i = GOAPI_CHUNK_SLOTS - 1; i >= 0; i--) {
            chunk[i].next_free = rp->free;
            rp->free = &chunk[i];
        }
        rp->chunks[rp->nchunks] = chunk;
        /* the atomic store orders the chunk's initialisation before it */
        apr_atomic_set32(&rp->nchunks, rp->nchunks + 1);
    }
    if (rp->free) {
        slot = rp->free;
        rp->free = slot->next_free;
        slot->next_free = NULL;
        apr_atomic_set32(&slot->fd, (apr_uint32_t)fd + 1u);
        rp->in_use++;
    }
    apr_thread_mutex_unlock(rp->mutex);
    return slot;
}

void goapi_reaper_release(goapi_reaper *rp, goapi_wslot *slot)
{
    goapi_reaper_disarm(slot);
    apr_atomic_set32(&slot->fd, 0);
    apr_thread_mutex_lock(rp->mutex);
    slot->next_free = rp->free;
    rp->free = slot;
    rp->in_use--;
    apr_thread_mutex_unlock(rp->mutex);
}

void goapi_reaper_arm(goapi_wslot *slot, apr_time_t deadline, void *target,
                      const void *tag)
{
    goapi_reaper_disarm(slot);
    slot->deadline = deadline;
    slot->target = target;
    slot->tag = tag;
    /* full barrier: the fields above are visible before ARMED is */
    apr_atomic_cas32(&slot->state, GOAPI_SLOT_ARMED, GOAPI_SLOT_IDLE);
}

int goapi_reaper_disarm(goapi_wslot *slot)
{
    for (;;) {
        apr_uint32_t st = apr_atomic_read32(&slot->state);

        switch (st) {
        case GOAPI_SLOT_IDLE:
            return 0;
        case GOAPI_SLOT_ARMED:
            if (apr_atomic_cas32(&slot->state, GOAPI_SLOT_IDLE, st) == st) {
                return 0;
            }
            break;
        case GOAPI_SLOT_FIRED:
            if (apr_atomic_cas32(&slot->state, GOAPI_SLOT_IDLE, st) == st) {
                return 1;
            }
            break;
        default:
            /* FIRING: the scanner is inside fire(), a short call. */
            apr_thread_yield();
            break;
        }
    }
}

apr_size_t goapi_reaper_scan(goapi_reaper *rp, apr_time_t now,
                             goapi_reaper_fire_fn *fire, void *baton,
                             apr_time_t *next)
{
    apr_uint32_t n = apr_atomic_read32(&rp->nchunks), c;
    apr_size_t fired = 0;
    apr_time_t earliest = 0;

    for (c = 0; c < n; c++) {
        goapi_wslot *chunk = rp->chunks[c];
        int i;

        for (i = 0; i < GOAPI_CHUNK_SLOTS; i++) {
            goapi_wslot *slot = &chunk[i];
            apr_time_t due;

            if (apr_atomic_read32(&slot->state) != GOAPI_SLOT_ARMED) {
                continue;
            }
            due = slot->deadline;           /* a hint until we own the slot */
            if (due > now) {
                if (!earliest || due < earliest) {
                    earliest = due;
                }
                continue;
            }
            if (apr_atomic_cas32(&slot->state, GOAPI_SLOT_FIRING, GOAPI_SLOT_ARMED)
                != GOAPI_SLOT_ARMED) {
                continue;                   /* disarmed meanwhile */
            }
            due = slot->deadline;           /* stable while FIRING */
            if (due > now) {
                /* re-armed with a later deadline since the hint was read */
                apr_atomic_set32(&slot->state, GOAPI_SLOT_ARMED);
                if (!earliest || due < earliest) {
                    earliest = due;
                }
                continue;
            }
            fire(baton, slot->target, slot->tag, due);
            apr_atomic_set32(&slot->state, GOAPI_SLOT_FIRED);
            fired++;
        }
    }
    if (next) {
        *next = earliest;
    }
    return fired;
}

apr_size_t goapi_reaper_in_use(goapi_reaper *rp)
{
    apr_size_t n;

    apr_thread_mutex_lock(rp->mutex);
    n = rp->in_use;
    apr_thread_mutex_unlock(rp->mutex);
    return n;
}

apr_size_t goapi_reaper_foreach_fd(goapi_reaper *rp, void (*fn)(int fd, void *baton),
                                   void *baton)
{
    apr_uint32_t n = apr_atomic_read32(&rp->nchunks), c;
    apr_size_t count = 0;

    for (c = 0; c < n; c++) {
        int i;

        for (i = 0; i < GOAPI_CHUNK_SLOTS; i++) {
            apr_uint32_t fd = apr_atomic_read32(&rp->chunks[c][i].fd);

            if (fd) {
                fn((int)(fd - 1u), baton);
                count++;
            }
        }
    }
    return count;
}
