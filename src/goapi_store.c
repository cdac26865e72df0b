/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_store.c — what every idempotency store shares (see goapi_store.h).
 */
#include <string.h>

#include <apr_thread_mutex.h>

#include "goapi_store.h"

/* An orphan released (or found gone) is looked at again after this, then
 * twice as long each time, up to the longest step. */
#define GOAPI_STORE_ORPHAN_STEP     (100 * 1000)
#define GOAPI_STORE_ORPHAN_STEP_MAX (5 * APR_USEC_PER_SEC)

typedef struct {
    unsigned char key[GOAPI_SHA256_LEN];
    apr_uint64_t claim_id;
    apr_time_t lease_end;               /* looked at until then at least */
    apr_time_t expires;                 /* and never after this */
    apr_time_t due;                     /* its next release, not before */
    apr_interval_time_t step;           /* to the one after */
    int looks;                          /* releases the store answered */
    int busy;                           /* a thread is releasing it */
} goapi_store_orphan_entry;

struct goapi_store_orphans {
    apr_thread_mutex_t *lock;
    int n;
    goapi_store_orphan_entry e[GOAPI_STORE_ORPHANS];
};

int goapi_store_claim_replaces(const goapi_idem_record *held, apr_time_t now,
                               unsigned flags)
{
    if (held->expires <= now) {
        return 1;               /* past its end: nothing is known of the key */
    }
    return held->state == GOAPI_IDEM_IN_FLIGHT && held->lease_end <= now
           && (flags & GOAPI_CLAIM_RERUN_AFTER_LEASE);
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

apr_status_t goapi_store_orphans_create(goapi_store_orphans **q, apr_pool_t *p)
{
    *q = apr_pcalloc(p, sizeof(**q));
    return apr_thread_mutex_create(&(*q)->lock, APR_THREAD_MUTEX_DEFAULT, p);
}

/* The index of the entry of claim_id, or -1 (with the queue's lock). */
static int goapi_store_orphan_at(const goapi_store_orphans *q, apr_uint64_t claim_id)
{
    int i;

    for (i = 0; i < q->n; i++) {
        if (q->e[i].claim_id == claim_id) {
            return i;
        }
    }
    return -1;
}

/* The first entry due at now, taken by this thread (busy), or -1; those
 * done with go first (with the queue's lock). */
static int goapi_store_orphan_due(goapi_store_orphans *q, apr_time_t now)
{
    int i = 0;

    while (i < q->n) {
        goapi_store_orphan_entry *o = &q->e[i];

        if (!o->busy && (now >= o->expires || (o->looks >= GOAPI_STORE_ORPHAN_LOOKS
                                               && now >= o->lease_end))) {
            *o = q->e[--q->n];
            continue;
        }
        if (!o->busy && now >= o->due) {
            o->busy = 1;
            return i;
        }
        i++;
    }
    return -1;
}

apr_status_t goapi_store_orphans_keep(goapi_store_orphans *q,
                                      const unsigned char key[GOAPI_SHA256_LEN],
                                      const goapi_idem_record *claim)
{
    apr_status_t rv = APR_SUCCESS;
    int i;

    apr_thread_mutex_lock(q->lock);
    if ((i = goapi_store_orphan_at(q, claim->claim_id)) < 0) {
        if (q->n < GOAPI_STORE_ORPHANS) {
            i = q->n++;
            q->e[i].busy = 0;
        }
        else {
            rv = APR_ENOSPC;
        }
    }
    if (i >= 0) {
        goapi_store_orphan_entry *o = &q->e[i];

        memcpy(o->key, key, GOAPI_SHA256_LEN);
        o->claim_id = claim->claim_id;
        o->lease_end = claim->lease_end;
        o->expires = claim->expires;
        o->due = 0;                     /* at once */
        o->step = GOAPI_STORE_ORPHAN_STEP;
        o->looks = 0;
    }
    apr_thread_mutex_unlock(q->lock);
    return rv;
}

apr_status_t goapi_store_orphans_drain(goapi_store_orphans *q, int max,
                                       goapi_store_release_fn *release, void *baton,
                                       apr_size_t *released)
{
    int n;

    for (n = 0; n < max; n++) {
        goapi_store_orphan_entry o;
        apr_status_t rv;
        int i;

        apr_thread_mutex_lock(q->lock);
        if ((i = goapi_store_orphan_due(q, apr_time_now())) >= 0) {
            o = q->e[i];
        }
        apr_thread_mutex_unlock(q->lock);
        if (i < 0) {
            return APR_SUCCESS;
        }
        rv = release(baton, o.key, o.claim_id);
        apr_thread_mutex_lock(q->lock);
        if ((i = goapi_store_orphan_at(q, o.claim_id)) >= 0) {
            goapi_store_orphan_entry *e = &q->e[i];

            e->busy = 0;
            if (rv == APR_SUCCESS || rv == APR_ENOENT || rv == APR_NOTFOUND) {
                /* answered: looked at again later, for a copy that lands late */
                e->looks++;
                e->due = apr_time_now() + e->step;
                e->step = e->step * 2 < GOAPI_STORE_ORPHAN_STEP_MAX
                          ? e->step * 2 : GOAPI_STORE_ORPHAN_STEP_MAX;
            }
        }
        apr_thread_mutex_unlock(q->lock);
        if (rv == APR_SUCCESS) {
            (*released)++;
        }
        else if (rv != APR_ENOENT && rv != APR_NOTFOUND) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

apr_size_t goapi_store_orphans_left(goapi_store_orphans *q)
{
    apr_size_t n;

    apr_thread_mutex_lock(q->lock);
    n = (apr_size_t)q->n;
    apr_thread_mutex_unlock(q->lock);
    return n;
}
