/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_store.h — the idempotency ledger behind a small interface, so that
 * the request path never knows which store it talks to.  Pure: APR and
 * libc (and the backend's own library) only.
 *
 * Every operation is atomic across the processes and threads of one server:
 *   claim     take a key for a request (a new record IN FLIGHT), unless a
 *             live record holds it; an expired one is replaced
 *   complete  turn our in-flight record into the completed one
 *   release   drop our in-flight record (the operation never ran)
 *   lookup    read a record without taking any lock
 *   sweep     delete expired records
 *   next      a named counter that survives restarts (1, 2, 3 ...)
 * "Our" record means the one with our claim_id.
 *
 * At most once, in every store: a record lives until its "expires", and an
 * in-flight record whose lease has ended still holds its key (its holder
 * died or outlived the lease: the outcome is unknown).  Only release, by
 * the holder that knows its operation never ran, frees a key early; only a
 * claim with GOAPI_CLAIM_RERUN_AFTER_LEASE, which an operator asked for by
 * name, takes over a key whose lease has ended.
 *
 * A completed record never changes until its end (the replay cache of each
 * child relies on it): complete turns our in-flight record into the
 * completed one, and succeeds again, changing nothing, when the key already
 * holds exactly the record it brings (the same completion sent again after
 * its answer was lost); any other completion, by our own claim_id too, is
 * APR_NOTFOUND.  Release frees only our in-flight record.
 *
 * Status codes: APR_SUCCESS; APR_NOTFOUND (no such record, or not ours:
 * complete and release say APR_ENOENT instead when no record at all holds
 * the key, i.e. ours vanished: evicted, deleted by hand, or expired);
 * APR_ENOSPC (the store is full: nothing was changed; claims stop short of
 * the end, so that claims already taken can still complete); APR_EINVAL (a record
 * in the store does not decode: it is kept and never trusted); anything
 * else is a failure of the store itself.
 */
#ifndef GOAPI_STORE_H
#define GOAPI_STORE_H

#include <apr_pools.h>
#include <apr_time.h>

#include "goapi_idem.h"

typedef struct goapi_store goapi_store;

typedef enum {
    GOAPI_CLAIM_TAKEN = 0,      /* the key is ours now: run the operation */
    GOAPI_CLAIM_HELD            /* a live record has it: see *existing */
} goapi_claim_result;

/* Claim flags. */
#define GOAPI_CLAIM_RERUN_AFTER_LEASE 0x01u  /* take over an in-flight record
                                              * whose lease has ended */

typedef struct {
    apr_status_t (*claim)(goapi_store *st, const unsigned char key[GOAPI_SHA256_LEN],
                          const goapi_idem_record *mine, apr_time_t now, unsigned flags,
                          goapi_claim_result *res, goapi_idem_record *existing,
                          apr_pool_t *p);
    apr_status_t (*complete)(goapi_store *st, const unsigned char key[GOAPI_SHA256_LEN],
                             const goapi_idem_record *done);
    apr_status_t (*release)(goapi_store *st, const unsigned char key[GOAPI_SHA256_LEN],
                            apr_uint64_t claim_id);
    apr_status_t (*lookup)(goapi_store *st, const unsigned char key[GOAPI_SHA256_LEN],
                           goapi_idem_record *rec, apr_pool_t *p);
    apr_status_t (*sweep)(goapi_store *st, apr_time_t now, apr_size_t *removed);
    apr_status_t (*next)(goapi_store *st, const char *counter, apr_uint64_t *value);
    /* What the store can say of rv, a failure that one of its operations
     * has just returned to this thread, beyond rv's own text: the cause
     * behind a status code (a full store, a malformed record) or the
     * backend's message (a store on a server keeps its last one per
     * thread); NULL when it has nothing to add (a store on a local file
     * answers from rv alone, and has nothing for a failure of the system
     * or of its library).  The text is the store's: use it before this
     * thread's next operation on st. */
    const char *(*error)(goapi_store *st, apr_status_t rv);
    /* Can the store answer now (readiness)?  APR_SUCCESS, or a failure
     * that error() describes. */
    apr_status_t (*ping)(goapi_store *st);
    /* Is the write that has just failed with rv in doubt?  1 when it was
     * sent and no answer came back (a timeout, a cut connection): the
     * store may have applied it, or may still; 0 when it surely did not.
     * NULL for a store whose writes are all or nothing (a local file). */
    int (*unsure)(goapi_store *st, apr_status_t rv);
    /* An orphaned claim: ours, nothing ran under it, and its claim (or its
     * release) was sent without an answer, so it may hold the key now or
     * later (a stopped store applies it when it resumes).  The store keeps
     * it in a small bounded queue of this process and releases it, fenced
     * (only while the key holds claim->claim_id), as soon as it answers
     * again: before this process's next claim, or in settle().  A copy of
     * the claim may land after that (sent once more, or delivered late by
     * the network), so the store looks again for a while after it answered
     * and at least until claim->lease_end; never past claim->expires.
     * APR_ENOSPC when the queue is full (the claim is then left to its
     * lease).  NULL for a store whose writes are all or nothing. */
    apr_status_t (*orphan)(goapi_store *st, const unsigned char key[GOAPI_SHA256_LEN],
                           const goapi_idem_record *claim);
    /* Releases the orphaned claims that are due, for a background thread
     * when no request comes: *released how many were deleted now, *left
     * how many are still kept.  APR_SUCCESS, or the failure of the store
     * that stopped it (error() describes it). */
    apr_status_t (*settle)(goapi_store *st, apr_size_t *released, apr_size_t *left);
} goapi_store_ops;

struct goapi_store {
    const goapi_store_ops *ops;
};

/* The at-most-once rule, for every store's claim: may a claim made at now
 * with these flags replace the record that holds its key?  Only a record
 * past its end, or (with GOAPI_CLAIM_RERUN_AFTER_LEASE) an in-flight record
 * past its lease. */
int goapi_store_claim_replaces(const goapi_idem_record *held, apr_time_t now,
                               unsigned flags);

/* st->ops->unsure(st, rv), or 0 when the store has none. */
int goapi_store_unsure(goapi_store *st, apr_status_t rv);

/* st->ops->orphan(...), or APR_ENOTIMPL when the store has no orphans. */
apr_status_t goapi_store_orphan(goapi_store *st, const unsigned char key[GOAPI_SHA256_LEN],
                                const goapi_idem_record *claim);

/* The orphaned claims of a store whose writes may be in doubt (see
 * orphan() above): a bounded queue of one process, shared by its threads
 * (it has its own lock).  Each entry is released as soon as it is due, and
 * looked at again after each answer of the store, 0.1 s later, then twice
 * as long each time up to 5 s, GOAPI_STORE_ORPHAN_LOOKS answers in all
 * (about 11 s) and at least until its lease ends; never after its record
 * would have expired. */
#define GOAPI_STORE_ORPHANS      256    /* entries kept per process */
#define GOAPI_STORE_ORPHAN_LOOKS 8

typedef struct goapi_store_orphans goapi_store_orphans;

/* Releases one orphan for goapi_store_orphans_drain(), fenced by
 * claim_id: APR_SUCCESS (deleted), APR_ENOENT or APR_NOTFOUND (the store
 * answered: nothing of this claim holds the key), or the store's failure. */
typedef apr_status_t goapi_store_release_fn(void *baton,
                                            const unsigned char key[GOAPI_SHA256_LEN],
                                            apr_uint64_t claim_id);

apr_status_t goapi_store_orphans_create(goapi_store_orphans **q, apr_pool_t *p);

/* Keeps claim (held under key) to release: APR_SUCCESS, or APR_ENOSPC when
 * the queue is full.  An entry of that claim is due again at once. */
apr_status_t goapi_store_orphans_keep(goapi_store_orphans *q,
                                      const unsigned char key[GOAPI_SHA256_LEN],
                                      const goapi_idem_record *claim);

/* Releases up to max entries that are due, with release; stops at the
 * first failure of the store and returns it.  *released: how many it
 * deleted (added to). */
apr_status_t goapi_store_orphans_drain(goapi_store_orphans *q, int max,
                                       goapi_store_release_fn *release, void *baton,
                                       apr_size_t *released);

/* How many entries are kept. */
apr_size_t goapi_store_orphans_left(goapi_store_orphans *q);

#endif /* GOAPI_STORE_H */
