/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_store_lmdb.c — the idempotency ledger in LMDB (see goapi_store.h
 * and goapi_store_lmdb.h).
 *
 * One environment file for the whole server.  LMDB serialises write
 * transactions across processes with its own robust mutex and lets readers
 * go without a lock, which is what the ledger wants: claims, completions,
 * releases and counters are short writes, committed in groups (below),
 * every replay a read.  Two named databases:
 * "records" (ledger key -> encoded goapi_idem_record) and "counters"
 * (name -> 8-byte little-endian count).
 *
 * MDB_NOTLS: httpd's worker threads come and go; a read transaction is
 * tied to the call that opened it, not to a thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#if APR_HAS_THREADS
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#endif
#include <lmdb.h>

#include "goapi_store_lmdb.h"

/* Readers at once: more than any sane ServerLimit x ThreadsPerChild. */
#define GOAPI_LMDB_MAX_READERS   4096
/* New claims stop when the pages in use pass this share of the map (in
 * tenths): the rest is kept for what must never fail, completing a claim
 * already taken (LMDB copies pages on write) and deleting expired records. */
#define GOAPI_LMDB_CLAIM_LIMIT   9
/* Deleted per write transaction by a sweep, to keep the lock short. */
#define GOAPI_LMDB_SWEEP_BATCH   512
/* The named databases of the ledger. */
#define GOAPI_LMDB_RECORDS       "records"
#define GOAPI_LMDB_COUNTERS      "counters"

typedef struct goapi_lmdb_op goapi_lmdb_op;
typedef struct goapi_lmdb_waiter goapi_lmdb_waiter;

typedef struct {
    goapi_store base;
    MDB_env *env;
    MDB_dbi main;               /* LMDB's unnamed database: the names */
    MDB_dbi records;
    MDB_dbi counters;
#if APR_HAS_THREADS
    apr_thread_mutex_t *mutex;  /* everything below */
    goapi_lmdb_op *head;        /* writes waiting for the next group, oldest first */
    goapi_lmdb_op *tail;
    int leading;                /* a thread is applying a group */
    goapi_lmdb_waiter *idle;    /* waiters of threads that are not waiting */
    apr_pool_t *wpool;          /* where waiters are made */
#endif
} goapi_lmdb;

static apr_status_t goapi_lmdb_status(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return APR_SUCCESS;
    case MDB_NOTFOUND:
        return APR_NOTFOUND;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_PAGE_FULL:
        return APR_ENOSPC;
    case MDB_READERS_FULL:
        return APR_EAGAIN;
    default:
        /* positive: an errno from the system; negative: LMDB's own */
        return rc > 0 ? APR_FROM_OS_ERROR(rc) : APR_EGENERAL;
    }
}

static const char *goapi_lmdb_error(goapi_store *st, apr_status_t rv)
{
    (void)st;
    if (rv == APR_ENOSPC) {
        return "the store is full (raise the size of GoapiIdempotencyStore)";
    }
    if (rv == APR_EINVAL) {
        return "a record in the store is malformed";
    }
    if (rv == APR_EAGAIN) {
        return "too many readers of the store at once";
    }
    return NULL;
}

static MDB_val goapi_lmdb_key(const unsigned char key[GOAPI_SHA256_LEN])
{
    MDB_val k;

    k.mv_size = GOAPI_SHA256_LEN;
    k.mv_data = (void *)key;
    return k;
}

/* Put rec under key in txn; the caller commits or aborts. */
static int goapi_lmdb_put(goapi_lmdb *db, MDB_txn *txn, MDB_val *k,
                          const goapi_idem_record *rec)
{
    apr_size_t n = goapi_idem_encoded_size(rec);
    MDB_val v;
    int rc;

    if (!n) {
        return EINVAL;
    }
    v.mv_size = n;
    v.mv_data = NULL;
    /* MDB_RESERVE: encode straight into the page, no copy */
    rc = mdb_put(txn, db->records, k, &v, MDB_RESERVE);
    if (rc == MDB_SUCCESS) {
        goapi_idem_encode(rec, v.mv_data);
    }
    return rc;
}

static int goapi_lmdb_commit(MDB_txn *txn, int rc)
{
    if (rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

static apr_status_t goapi_lmdb_lookup(goapi_store *st,
                                      const unsigned char key[GOAPI_SHA256_LEN],
                                      goapi_idem_record *rec, apr_pool_t *p);

/* Pages the databases use in txn (free pages not counted), against the
 * map: above the claim limit? */
static int goapi_lmdb_nearly_full(goapi_lmdb *db, MDB_txn *txn)
{
    const MDB_dbi dbis[3] = { db->main, db->records, db->counters };
    MDB_envinfo info;
    MDB_stat st;
    size_t pages = 2, psize = 0;        /* the two meta pages */
    int i;

    if (mdb_env_info(db->env, &info) != MDB_SUCCESS) {
        return 0;
    }
    for (i = 0; i < 3; i++) {
        if (mdb_stat(txn, dbis[i], &st) == MDB_SUCCESS) {
            pages += st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
            psize = st.ms_psize;
        }
    }
    return pages * psize > info.me_mapsize / 10 * GOAPI_LMDB_CLAIM_LIMIT;
}

/* ---- writes: group commit ------------------------------------------------ *
 *
 * A write is acknowledged only after the transaction that holds it was
 * committed and synced, but it need not have that transaction to itself:
 * the writes of this process's threads that wait at the same moment are
 * applied in order in one transaction, and one sync makes them all
 * durable.  Each write waits in a queue, described by an op on its
 * caller's stack.  The first thread that finds no group in progress leads:
 * it takes every op queued so far (its own among them), applies and
 * commits them, answers each, and hands leadership on; meanwhile the next
 * group gathers.  The processes' groups are serialised by LMDB's writer
 * lock, so while one process commits, the others' queues fill.
 *
 * Within a group each write sees those before it (mdb_get reads the
 * transaction's own puts), so two claims of one key in a group behave as
 * they would one after the other.  A failed put or del leaves an LMDB
 * transaction unusable: then the group is abandoned and each of its
 * writes applied again in a transaction of its own, so that a write's
 * failure (a record the map cannot hold) is its answer alone. */

typedef enum {
    GOAPI_LMDB_OP_CLAIM,
    GOAPI_LMDB_OP_COMPLETE,
    GOAPI_LMDB_OP_RELEASE,
    GOAPI_LMDB_OP_NEXT
} goapi_lmdb_op_kind;

/* One write, on the stack of the thread that waits for it. */
struct goapi_lmdb_op {
    goapi_lmdb_op *next;                /* the queue, then the group */
    goapi_lmdb_op_kind kind;
    MDB_val k;                          /* the record's key, or the counter's name */
    const goapi_idem_record *rec;       /* claim: ours; complete: the outcome */
    apr_uint64_t claim_id;              /* complete and release: whose record */
    apr_time_t now;                     /* claim */
    unsigned flags;                     /* claim */
    goapi_idem_record *existing;        /* claim: the record that holds the key, */
    apr_pool_t *p;                      /*   decoded into the caller's pool */
    goapi_claim_result res;             /* claim's answer */
    apr_uint64_t value;                 /* next's answer */
    apr_status_t rv;                    /* the answer, valid once done */
    int wrote;                          /* it changed its transaction */
#if APR_HAS_THREADS
    goapi_lmdb_waiter *waiter;          /* wakes its thread */
    int done;                           /* answered (under the queue's mutex) */
#endif
};

/* Apply a claim in txn.  Here and in the other goapi_lmdb_apply_*():
 * MDB_SUCCESS leaves txn usable, with op->rv the write's answer should txn
 * commit; anything else is a failure after which txn can only be aborted. */
static int goapi_lmdb_apply_claim(goapi_lmdb *db, MDB_txn *txn, goapi_lmdb_op *op)
{
    MDB_val v;
    int rc = mdb_get(txn, db->records, &op->k, &v);

    if (rc == MDB_SUCCESS) {
        if (goapi_idem_decode(op->existing, v.mv_data, v.mv_size, op->p) != APR_SUCCESS) {
            op->rv = APR_EINVAL;
            return MDB_SUCCESS;
        }
        if (!goapi_store_claim_replaces(op->existing, op->now, op->flags)) {
            op->res = GOAPI_CLAIM_HELD;
            return MDB_SUCCESS;
        }
    }
    else if (rc != MDB_NOTFOUND) {
        return rc;
    }
    if (goapi_lmdb_nearly_full(db, txn)) {
        op->rv = APR_ENOSPC;
        return MDB_SUCCESS;
    }
    rc = goapi_lmdb_put(db, txn, &op->k, op->rec);
    if (rc == MDB_SUCCESS) {
        op->res = GOAPI_CLAIM_TAKEN;
        op->wrote = 1;
    }
    return rc;
}

/* Is the record under k our in-flight one?  MDB_SUCCESS, MDB_NOTFOUND
 * (absent), MDB_KEYEXIST (there, but not ours), or a failure of txn. */
static int goapi_lmdb_ours(goapi_lmdb *db, MDB_txn *txn, MDB_val *k, apr_uint64_t claim_id)
{
    goapi_idem_record rec;
    apr_pool_t *p;
    MDB_val v;
    int rc = mdb_get(txn, db->records, k, &v);

    if (rc != MDB_SUCCESS) {
        return rc;
    }
    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return ENOMEM;
    }
    if (goapi_idem_decode(&rec, v.mv_data, v.mv_size, p) != APR_SUCCESS
        || rec.state != GOAPI_IDEM_IN_FLIGHT || rec.claim_id != claim_id) {
        rc = MDB_KEYEXIST;
    }
    apr_pool_destroy(p);
    return rc;
}

/* Complete or release our in-flight record. */
static int goapi_lmdb_apply_settle(goapi_lmdb *db, MDB_txn *txn, goapi_lmdb_op *op)
{
    int rc = goapi_lmdb_ours(db, txn, &op->k, op->claim_id);

    if (rc == MDB_NOTFOUND || rc == MDB_KEYEXIST) {
        op->rv = rc == MDB_NOTFOUND ? APR_ENOENT : APR_NOTFOUND;
        return MDB_SUCCESS;
    }
    if (rc == MDB_SUCCESS) {
        rc = op->kind == GOAPI_LMDB_OP_COMPLETE ? goapi_lmdb_put(db, txn, &op->k, op->rec)
                                                : mdb_del(txn, db->records, &op->k, NULL);
        op->wrote = rc == MDB_SUCCESS;
    }
    return rc;
}

static int goapi_lmdb_apply_next(goapi_lmdb *db, MDB_txn *txn, goapi_lmdb_op *op)
{
    unsigned char out[8];
    apr_uint64_t n = 0;
    MDB_val v;
    int rc, i;

    rc = mdb_get(txn, db->counters, &op->k, &v);
    if (rc == MDB_SUCCESS && v.mv_size == sizeof(out)) {
        for (i = 7; i >= 0; i--) {
            n = (n << 8) | ((const unsigned char *)v.mv_data)[i];
        }
    }
    else if (rc == MDB_SUCCESS) {
        op->rv = APR_EINVAL;
        return MDB_SUCCESS;
    }
    else if (rc != MDB_NOTFOUND) {
        return rc;
    }
    n++;
    for (i = 0; i < 8; i++) {
        out[i] = (unsigned char)(n >> (8 * i));
    }
    v.mv_size = sizeof(out);
    v.mv_data = out;
    rc = mdb_put(txn, db->counters, &op->k, &v, 0);
    if (rc == MDB_SUCCESS) {
        op->value = n;
        op->wrote = 1;
    }
    return rc;
}

static int goapi_lmdb_apply(goapi_lmdb *db, MDB_txn *txn, goapi_lmdb_op *op)
{
    op->rv = APR_SUCCESS;
    op->wrote = 0;
    switch (op->kind) {
    case GOAPI_LMDB_OP_CLAIM:
        return goapi_lmdb_apply_claim(db, txn, op);
    case GOAPI_LMDB_OP_NEXT:
        return goapi_lmdb_apply_next(db, txn, op);
    default:
        return goapi_lmdb_apply_settle(db, txn, op);
    }
}

/* Apply the ops of a group (a list) in txn, begun by the caller (rc its
 * begin's result), and commit them if any wrote: a group that only read
 * needs no sync.  On failure nothing of the group was kept, and every op's
 * answer is the failure. */
static int goapi_lmdb_group(goapi_lmdb *db, MDB_txn *txn, int rc, goapi_lmdb_op *group)
{
    goapi_lmdb_op *op;

    if (rc == MDB_SUCCESS) {
        int wrote = 0;

        for (op = group; op && rc == MDB_SUCCESS; op = op->next) {
            rc = goapi_lmdb_apply(db, txn, op);
            wrote += op->wrote;
        }
        if (rc != MDB_SUCCESS || !wrote) {
            mdb_txn_abort(txn);
        }
        else {
            rc = mdb_txn_commit(txn);
        }
    }
    if (rc == MDB_SUCCESS) {
        return MDB_SUCCESS;
    }
    for (op = group; op; op = op->next) {
        op->rv = goapi_lmdb_status(rc);
    }
    return rc;
}

/* Apply a group in txn; if it fails, each of its ops again in a
 * transaction of its own. */
static void goapi_lmdb_write(goapi_lmdb *db, MDB_txn *txn, int rc, goapi_lmdb_op *group)
{
    goapi_lmdb_op *op, *next;

    if (goapi_lmdb_group(db, txn, rc, group) == MDB_SUCCESS || !group->next) {
        return;
    }
    for (op = group; op; op = next) {
        next = op->next;
        op->next = NULL;                /* a group of one */
        rc = mdb_txn_begin(db->env, NULL, 0, &txn);
        goapi_lmdb_group(db, txn, rc, op);
        op->next = next;
    }
}

#if APR_HAS_THREADS
/* A waiting thread's own condition variable: a group's end wakes exactly
 * the threads it answered, and the one that leads next. */
struct goapi_lmdb_waiter {
    goapi_lmdb_waiter *next;            /* the free list */
    apr_thread_cond_t *cond;
};

/* A waiter from the free list, or a new one; under db->mutex. */
static apr_status_t goapi_lmdb_waiter_get(goapi_lmdb *db, goapi_lmdb_waiter **w)
{
    apr_status_t rv;

    if (db->idle) {
        *w = db->idle;
        db->idle = (*w)->next;
        return APR_SUCCESS;
    }
    /* as many as threads ever waited at once: at most ThreadsPerChild */
    *w = apr_palloc(db->wpool, sizeof(**w));
    rv = apr_thread_cond_create(&(*w)->cond, db->wpool);
    return rv;
}

/* Lead one group: under db->mutex, which is released meanwhile.  The
 * queue is taken once LMDB's writer lock is held, so that the writes that
 * came while another process committed are in it too. */
static void goapi_lmdb_lead(goapi_lmdb *db)
{
    goapi_lmdb_op *group, *o;
    MDB_txn *txn = NULL;
    int rc;

    db->leading = 1;
    apr_thread_mutex_unlock(db->mutex);
    rc = mdb_txn_begin(db->env, NULL, 0, &txn);
    apr_thread_mutex_lock(db->mutex);
    group = db->head;
    db->head = db->tail = NULL;
    apr_thread_mutex_unlock(db->mutex);

    goapi_lmdb_write(db, txn, rc, group);

    apr_thread_mutex_lock(db->mutex);
    for (o = group; o; o = o->next) {
        /* its owner returns, and the op goes, once the mutex is free */
        o->done = 1;
        apr_thread_cond_signal(o->waiter->cond);
    }
    db->leading = 0;
    if (db->head) {
        apr_thread_cond_signal(db->head->waiter->cond);     /* lead next */
    }
}
#endif

/* Queue op, wait until a group that holds it was committed (leading that
 * group if no other thread is), and give its answer. */
static apr_status_t goapi_lmdb_submit(goapi_lmdb *db, goapi_lmdb_op *op)
{
#if APR_HAS_THREADS
    apr_status_t rv;

    op->next = NULL;
    op->done = 0;
    apr_thread_mutex_lock(db->mutex);
    rv = goapi_lmdb_waiter_get(db, &op->waiter);
    if (rv != APR_SUCCESS) {
        apr_thread_mutex_unlock(db->mutex);
        return rv;
    }
    if (db->tail) {
        db->tail->next = op;
    }
    else {
        db->head = op;
    }
    db->tail = op;
    while (!op->done) {
        if (db->leading) {
            apr_thread_cond_wait(op->waiter->cond, db->mutex);
        }
        else {
            goapi_lmdb_lead(db);        /* op is in the group it leads */
        }
    }
    op->waiter->next = db->idle;
    db->idle = op->waiter;
    apr_thread_mutex_unlock(db->mutex);
#else
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(db->env, NULL, 0, &txn);

    op->next = NULL;
    goapi_lmdb_write(db, txn, rc, op);
#endif
    return op->rv;
}

static apr_status_t goapi_lmdb_claim(goapi_store *st, const unsigned char key[GOAPI_SHA256_LEN],
                                     const goapi_idem_record *mine, apr_time_t now,
                                     unsigned flags, goapi_claim_result *res,
                                     goapi_idem_record *existing, apr_pool_t *p)
{
    goapi_lmdb_op op;
    apr_status_t rv;

    /* A record that holds the key is found without the writers' lock:
     * replays and retries in flight never wait for a write transaction. */
    if (goapi_lmdb_lookup(st, key, existing, p) == APR_SUCCESS
        && !goapi_store_claim_replaces(existing, now, flags)) {
        *res = GOAPI_CLAIM_HELD;
        return APR_SUCCESS;
    }
    memset(&op, 0, sizeof(op));
    op.kind = GOAPI_LMDB_OP_CLAIM;
    op.k = goapi_lmdb_key(key);
    op.rec = mine;
    op.now = now;
    op.flags = flags;
    op.existing = existing;
    op.p = p;
    rv = goapi_lmdb_submit((goapi_lmdb *)st, &op);
    if (rv == APR_SUCCESS) {
        *res = op.res;
    }
    return rv;
}

static apr_status_t goapi_lmdb_complete(goapi_store *st,
                                        const unsigned char key[GOAPI_SHA256_LEN],
                                        const goapi_idem_record *done)
{
    goapi_lmdb_op op;

    memset(&op, 0, sizeof(op));
    op.kind = GOAPI_LMDB_OP_COMPLETE;
    op.k = goapi_lmdb_key(key);
    op.rec = done;
    op.claim_id = done->claim_id;
    return goapi_lmdb_submit((goapi_lmdb *)st, &op);
}

static apr_status_t goapi_lmdb_release(goapi_store *st,
                                       const unsigned char key[GOAPI_SHA256_LEN],
                                       apr_uint64_t claim_id)
{
    goapi_lmdb_op op;

    memset(&op, 0, sizeof(op));
    op.kind = GOAPI_LMDB_OP_RELEASE;
    op.k = goapi_lmdb_key(key);
    op.claim_id = claim_id;
    return goapi_lmdb_submit((goapi_lmdb *)st, &op);
}

static apr_status_t goapi_lmdb_lookup(goapi_store *st,
                                      const unsigned char key[GOAPI_SHA256_LEN],
                                      goapi_idem_record *rec, apr_pool_t *p)
{
    goapi_lmdb *db = (goapi_lmdb *)st;
    MDB_val k = goapi_lmdb_key(key), v;
    apr_status_t rv;
    MDB_txn *txn;
    int rc;

    rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS) {
        return goapi_lmdb_status(rc);
    }
    rc = mdb_get(txn, db->records, &k, &v);
    if (rc == MDB_SUCCESS) {
        /* decoding copies out of the map before the transaction ends */
        rv = goapi_idem_decode(rec, v.mv_data, v.mv_size, p) == APR_SUCCESS
             ? APR_SUCCESS : APR_EINVAL;
    }
    else {
        rv = goapi_lmdb_status(rc);
    }
    mdb_txn_abort(txn);
    return rv;
}

/* One batch of a sweep; *more is set when the batch was full. */
static int goapi_lmdb_sweep_batch(goapi_lmdb *db, apr_time_t now, apr_size_t *removed,
                                  int *more, apr_pool_t *p)
{
    goapi_idem_record rec;
    MDB_cursor *cur;
    MDB_txn *txn;
    MDB_val k, v;
    apr_size_t n = 0;
    int rc;

    *more = 0;
    rc = mdb_txn_begin(db->env, NULL, 0, &txn);
    if (rc != MDB_SUCCESS) {
        return rc;
    }
    rc = mdb_cursor_open(txn, db->records, &cur);
    if (rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return rc;
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        apr_pool_clear(p);
        /* a record that does not decode is left alone: its expiry is
         * unknown, and dropping it could let an operation run twice */
        if (goapi_idem_decode(&rec, v.mv_data, v.mv_size, p) != APR_SUCCESS
            || rec.expires > now) {
            continue;
        }
        rc = mdb_cursor_del(cur, 0);
        if (rc != MDB_SUCCESS) {
            break;
        }
        if (++n == GOAPI_LMDB_SWEEP_BATCH) {
            *more = 1;
            break;
        }
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND || (rc == MDB_SUCCESS && *more)) {
        rc = mdb_txn_commit(txn);
        if (rc == MDB_SUCCESS) {
            *removed += n;
        }
        return rc;
    }
    mdb_txn_abort(txn);
    *more = 0;
    return rc;
}

static apr_status_t goapi_lmdb_sweep(goapi_store *st, apr_time_t now, apr_size_t *removed)
{
    goapi_lmdb *db = (goapi_lmdb *)st;
    apr_pool_t *p;
    int dead = 0, more = 1, rc = MDB_SUCCESS;

    *removed = 0;
    /* reader slots of processes that died (kill -9) */
    mdb_reader_check(db->env, &dead);
    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return APR_ENOMEM;
    }
    while (more && rc == MDB_SUCCESS) {
        rc = goapi_lmdb_sweep_batch(db, now, removed, &more, p);
    }
    apr_pool_destroy(p);
    return goapi_lmdb_status(rc);
}

static apr_status_t goapi_lmdb_next(goapi_store *st, const char *counter,
                                    apr_uint64_t *value)
{
    goapi_lmdb_op op;
    apr_status_t rv;

    memset(&op, 0, sizeof(op));
    op.kind = GOAPI_LMDB_OP_NEXT;
    op.k.mv_size = strlen(counter);
    op.k.mv_data = (void *)counter;
    rv = goapi_lmdb_submit((goapi_lmdb *)st, &op);
    if (rv == APR_SUCCESS) {
        *value = op.value;
    }
    return rv;
}

/* A file on this host answers whenever the process runs. */
static apr_status_t goapi_lmdb_ping(goapi_store *st)
{
    (void)st;
    return APR_SUCCESS;
}

static const goapi_store_ops goapi_lmdb_ops = {
    goapi_lmdb_claim,
    goapi_lmdb_complete,
    goapi_lmdb_release,
    goapi_lmdb_lookup,
    goapi_lmdb_sweep,
    goapi_lmdb_next,
    goapi_lmdb_error,
    goapi_lmdb_ping,
    NULL,               /* a transaction is applied in full or not at all: */
    NULL,               /* no claim is ever in doubt, none orphaned */
    NULL
};

static apr_status_t goapi_lmdb_close(void *data)
{
    goapi_lmdb *db = data;

    mdb_env_close(db->env);
    return APR_SUCCESS;
}

/* An environment with the settings every opener must share (the lock
 * file's layout follows from the number of readers). */
static int goapi_lmdb_env_open(MDB_env **env, const char *path, apr_size_t map_size,
                               unsigned flags)
{
    int rc = mdb_env_create(env);

    if (rc != MDB_SUCCESS) {
        *env = NULL;
        return rc;
    }
    rc = mdb_env_set_mapsize(*env, map_size);
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_maxdbs(*env, 2);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_maxreaders(*env, GOAPI_LMDB_MAX_READERS);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_open(*env, path, MDB_NOSUBDIR | MDB_NOTLS | flags, 0600);
    }
    if (rc != MDB_SUCCESS) {
        mdb_env_close(*env);
        *env = NULL;
    }
    return rc;
}

static int goapi_lmdb_open_dbs(goapi_lmdb *db)
{
    MDB_txn *txn;
    int rc;

    rc = mdb_txn_begin(db->env, NULL, 0, &txn);
    if (rc != MDB_SUCCESS) {
        return rc;
    }
    rc = mdb_dbi_open(txn, NULL, 0, &db->main);
    if (rc == MDB_SUCCESS) {
        rc = mdb_dbi_open(txn, GOAPI_LMDB_RECORDS, MDB_CREATE, &db->records);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_dbi_open(txn, GOAPI_LMDB_COUNTERS, MDB_CREATE, &db->counters);
    }
    return goapi_lmdb_commit(txn, rc);
}

apr_status_t goapi_store_lmdb_open(goapi_store **st, const char *path,
                                   apr_size_t map_size, apr_pool_t *p)
{
    goapi_lmdb *db = apr_pcalloc(p, sizeof(*db));
    int rc, dead = 0;

    db->base.ops = &goapi_lmdb_ops;
#if APR_HAS_THREADS
    {
        /* in this process only: a store is opened after fork */
        apr_status_t rv = apr_thread_mutex_create(&db->mutex, APR_THREAD_MUTEX_DEFAULT, p);

        if (rv == APR_SUCCESS) {
            rv = apr_pool_create(&db->wpool, p);
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
#endif
    rc = goapi_lmdb_env_open(&db->env, path, map_size, 0);
    if (rc == MDB_SUCCESS) {
        mdb_reader_check(db->env, &dead);
        rc = goapi_lmdb_open_dbs(db);
        if (rc != MDB_SUCCESS) {
            mdb_env_close(db->env);
        }
    }
    if (rc != MDB_SUCCESS) {
        return goapi_lmdb_status(rc);
    }
    apr_pool_cleanup_register(p, db, goapi_lmdb_close, apr_pool_cleanup_null);
    *st = &db->base;
    return APR_SUCCESS;
}

/* ---- checking a ledger before use ------------------------------------------ *
 *
 * LMDB maps its file and trusts it: a file cut short gives SIGBUS when a
 * page past its end is touched, a page of random bytes can send a cursor
 * anywhere.  So before the server uses a ledger, a child process (as the
 * server's User) opens it and reads every page a request or the sweep
 * could reach: the size the meta page gives against the file's, then every
 * entry of LMDB's main database, of its free-page list, of the records
 * (each decoded) and of the counters; then it rehearses the server's writes
 * in a transaction it aborts (goapi_lmdb_rehearse()).  If that child dies,
 * the file is damaged; the server never touched it.
 */

typedef enum {
    GOAPI_LMDB_SOUND = 1,       /* read in full */
    GOAPI_LMDB_CANNOT_OPEN,     /* the system refused (rc is errno) */
    GOAPI_LMDB_INVALID,         /* no valid meta page (rc is LMDB's) */
    GOAPI_LMDB_TRUNCATED,       /* shorter than its meta page says */
    GOAPI_LMDB_CORRUPT,         /* LMDB found a bad page (rc is LMDB's) */
    GOAPI_LMDB_BAD_FREE_LIST,   /* a free-page entry out of shape or range */
    GOAPI_LMDB_BAD_RECORD,      /* a record that does not decode */
    GOAPI_LMDB_BAD_COUNTER,     /* a counter that is not 8 bytes */
    GOAPI_LMDB_FOREIGN          /* databases that are not the ledger's */
} goapi_lmdb_finding;

/* What the checking child sends back. */
typedef struct {
    int finding;                /* goapi_lmdb_finding */
    int rc;                     /* LMDB's or the system's code behind it */
    apr_uint64_t file_size;     /* bytes */
    apr_uint64_t used;          /* bytes, as the meta page says */
    apr_uint64_t map_size;      /* bytes */
    apr_uint64_t records;
} goapi_lmdb_verdict;

typedef enum {
    GOAPI_LMDB_MAKE = 1,        /* a new, empty file: make the ledger in it */
    GOAPI_LMDB_READ,            /* an existing one, with its lock file */
    GOAPI_LMDB_READ_NOLOCK      /* an existing one without a lock file: nobody
                                 * uses it, and none is made (apachectl -t) */
} goapi_lmdb_check_mode;

typedef struct {
    const char *path;
    apr_size_t map_size;
    goapi_lmdb_check_mode mode;
} goapi_lmdb_check_args;

typedef struct {
    goapi_lmdb_verdict *v;
    apr_pool_t *p;
    size_t last_pgno;
} goapi_lmdb_walk_ctx;

typedef int goapi_lmdb_entry_fn(goapi_lmdb_walk_ctx *w, const MDB_val *k, const MDB_val *d);

/* Every entry of dbi through fn; 0, or LMDB's code, or -1 when fn refused
 * an entry (fn has set the finding). */
static int goapi_lmdb_walk(MDB_txn *txn, MDB_dbi dbi, goapi_lmdb_walk_ctx *w,
                           goapi_lmdb_entry_fn *fn)
{
    MDB_cursor *cur;
    MDB_val k, d;
    int rc;

    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != MDB_SUCCESS) {
        return rc;
    }
    for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (!fn(w, &k, &d)) {
            rc = -1;
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

/* LMDB's main database names the named ones: only the ledger's two. */
static int goapi_lmdb_check_name(goapi_lmdb_walk_ctx *w, const MDB_val *k, const MDB_val *d)
{
    static const char *const names[] = { GOAPI_LMDB_RECORDS, GOAPI_LMDB_COUNTERS };
    apr_size_t i;

    (void)d;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (k->mv_size == strlen(names[i]) && !memcmp(k->mv_data, names[i], k->mv_size)) {
            return 1;
        }
    }
    w->v->finding = GOAPI_LMDB_FOREIGN;
    return 0;
}

/* An entry of the free-page list (LMDB's database 0, as its own mdb_stat
 * reads it): a count n, then room for at least n page numbers, each a
 * size_t (LMDB reserves room first and may leave some unused).  Every page
 * number must lie in the file, or a later write would go astray. */
static int goapi_lmdb_check_free(goapi_lmdb_walk_ctx *w, const MDB_val *k, const MDB_val *d)
{
    size_t n, i, pg;

    (void)k;
    if (d->mv_size < sizeof(size_t) || d->mv_size % sizeof(size_t) != 0) {
        w->v->finding = GOAPI_LMDB_BAD_FREE_LIST;
        return 0;
    }
    memcpy(&n, d->mv_data, sizeof(n));
    if (n > d->mv_size / sizeof(size_t) - 1) {
        w->v->finding = GOAPI_LMDB_BAD_FREE_LIST;
        return 0;
    }
    for (i = 1; i <= n; i++) {
        memcpy(&pg, (const char *)d->mv_data + i * sizeof(size_t), sizeof(pg));
        if (pg < 2 || pg > w->last_pgno) {      /* pages 0 and 1 are the metas */
            w->v->finding = GOAPI_LMDB_BAD_FREE_LIST;
            return 0;
        }
    }
    return 1;
}

static int goapi_lmdb_check_record(goapi_lmdb_walk_ctx *w, const MDB_val *k, const MDB_val *d)
{
    goapi_idem_record rec;

    apr_pool_clear(w->p);
    if (k->mv_size != GOAPI_SHA256_LEN
        || goapi_idem_decode(&rec, d->mv_data, d->mv_size, w->p) != APR_SUCCESS) {
        w->v->finding = GOAPI_LMDB_BAD_RECORD;
        return 0;
    }
    w->v->records++;
    return 1;
}

static int goapi_lmdb_check_counter(goapi_lmdb_walk_ctx *w, const MDB_val *k,
                                    const MDB_val *d)
{
    (void)k;
    if (d->mv_size != 8) {
        w->v->finding = GOAPI_LMDB_BAD_COUNTER;
        return 0;
    }
    return 1;
}

/* Walk one named database if it exists. */
static int goapi_lmdb_walk_named(MDB_txn *txn, const char *name, goapi_lmdb_walk_ctx *w,
                                 goapi_lmdb_entry_fn *fn)
{
    MDB_dbi dbi;
    int rc = mdb_dbi_open(txn, name, 0, &dbi);

    if (rc == MDB_NOTFOUND) {
        return MDB_SUCCESS;     /* made at the first open by a child */
    }
    return rc == MDB_SUCCESS ? goapi_lmdb_walk(txn, dbi, w, fn) : rc;
}

/* Read the whole ledger in a read transaction. */
static void goapi_lmdb_read_all(MDB_env *env, goapi_lmdb_verdict *v)
{
    /* The free-page list is LMDB's database 0, which no call of lmdb.h
     * opens: read as LMDB's own mdb_stat -f reads it. */
    const MDB_dbi free_dbi = 0;
    MDB_dbi main_dbi;
    goapi_lmdb_walk_ctx w;
    MDB_envinfo info;
    MDB_stat stat;
    struct stat st;
    MDB_txn *txn;
    int fd, rc;

    if ((rc = mdb_env_info(env, &info)) != MDB_SUCCESS
        || (rc = mdb_env_stat(env, &stat)) != MDB_SUCCESS
        || (rc = mdb_env_get_fd(env, &fd)) != MDB_SUCCESS) {
        v->finding = GOAPI_LMDB_CORRUPT;
        v->rc = rc;
        return;
    }
    v->map_size = info.me_mapsize;
    v->used = ((apr_uint64_t)info.me_last_pgno + 1) * stat.ms_psize;
    if (fstat(fd, &st) != 0) {
        v->finding = GOAPI_LMDB_CANNOT_OPEN;
        v->rc = errno;
        return;
    }
    v->file_size = (apr_uint64_t)st.st_size;
    if (v->file_size < v->used) {
        v->finding = GOAPI_LMDB_TRUNCATED;
        return;
    }
    /* and the unnamed database, where the named ones are listed */
    if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) == MDB_SUCCESS
        && (rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) != MDB_SUCCESS) {
        mdb_txn_abort(txn);
    }
    if (rc != MDB_SUCCESS) {
        v->finding = GOAPI_LMDB_CORRUPT;
        v->rc = rc;
        return;
    }
    w.v = v;
    w.last_pgno = info.me_last_pgno;
    apr_pool_create(&w.p, NULL);
    rc = goapi_lmdb_walk(txn, main_dbi, &w, goapi_lmdb_check_name);
    if (rc == MDB_SUCCESS) {
        rc = goapi_lmdb_walk(txn, free_dbi, &w, goapi_lmdb_check_free);
    }
    if (rc == MDB_SUCCESS) {
        rc = goapi_lmdb_walk_named(txn, GOAPI_LMDB_RECORDS, &w, goapi_lmdb_check_record);
    }
    if (rc == MDB_SUCCESS) {
        rc = goapi_lmdb_walk_named(txn, GOAPI_LMDB_COUNTERS, &w, goapi_lmdb_check_counter);
    }
    mdb_txn_abort(txn);
    apr_pool_destroy(w.p);
    if (rc > 0 || rc < -1) {            /* LMDB's codes or errno; -1 set the finding */
        v->finding = GOAPI_LMDB_CORRUPT;
        v->rc = rc;
    }
}

/* Reading every page proves what lookups will meet.  A write trusts more:
 * a page's free space, where its nodes start and end, as it moves, splits
 * and merges them.  So the checking child rehearses what the server will
 * do, in a write transaction it then aborts (nothing reaches the file):
 * every record and counter rewritten a little longer, new keys added, then
 * every entry deleted, as sweeps do. */
#define GOAPI_LMDB_REHEARSAL_KEYS 64

/* Every entry rewritten 8 bytes longer. */
static int goapi_lmdb_rehearse_grow(MDB_cursor *cur)
{
    unsigned char *buf = NULL;
    MDB_val k, d, nk, nd;
    int rc;

    for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        free(buf);
        /* key and value copied out of the page: a put that grows the
         * record moves the page's nodes, which k and d point into */
        if (!(buf = calloc(1, k.mv_size + d.mv_size + 8))) {
            return ENOMEM;
        }
        memcpy(buf, k.mv_data, k.mv_size);
        memcpy(buf + k.mv_size, d.mv_data, d.mv_size);
        nk.mv_size = k.mv_size;
        nk.mv_data = buf;
        nd.mv_size = d.mv_size + 8;
        nd.mv_data = buf + k.mv_size;
        if ((rc = mdb_cursor_put(cur, &nk, &nd, MDB_CURRENT)) != MDB_SUCCESS) {
            break;
        }
        /* the record is where it was, under its own key */
        if ((rc = mdb_cursor_get(cur, &k, &d, MDB_GET_CURRENT)) != MDB_SUCCESS) {
            break;
        }
        if (k.mv_size != nk.mv_size || memcmp(k.mv_data, buf, k.mv_size) != 0
            || d.mv_size != nd.mv_size) {
            rc = MDB_CORRUPTED;
            break;
        }
    }
    free(buf);
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

/* New keys, spread over the key space as ledger keys (hashes) are. */
static int goapi_lmdb_rehearse_add(MDB_txn *txn, MDB_dbi dbi)
{
    unsigned char key[GOAPI_SHA256_LEN];
    MDB_val k, d;
    int i, rc = MDB_SUCCESS;

    for (i = 0; rc == MDB_SUCCESS && i < GOAPI_LMDB_REHEARSAL_KEYS; i++) {
        memset(key, i, sizeof(key));
        key[0] = (unsigned char)(i * (256 / GOAPI_LMDB_REHEARSAL_KEYS));
        k.mv_size = sizeof(key);
        k.mv_data = key;
        d.mv_size = 256;
        d.mv_data = NULL;
        rc = mdb_put(txn, dbi, &k, &d, MDB_RESERVE);
    }
    return rc;
}

/* Every entry deleted, first to last, as a sweep deletes. */
static int goapi_lmdb_rehearse_delete(MDB_cursor *cur)
{
    MDB_val k, d;
    int rc;

    while ((rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST)) == MDB_SUCCESS) {
        if ((rc = mdb_cursor_del(cur, 0)) != MDB_SUCCESS) {
            return rc;
        }
    }
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

static int goapi_lmdb_rehearse_db(MDB_txn *txn, const char *name, int add)
{
    MDB_cursor *cur;
    MDB_dbi dbi;
    int rc = mdb_dbi_open(txn, name, 0, &dbi);

    if (rc != MDB_SUCCESS) {
        return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
    }
    if ((rc = mdb_cursor_open(txn, dbi, &cur)) != MDB_SUCCESS) {
        return rc;
    }
    rc = goapi_lmdb_rehearse_grow(cur);
    if (rc == MDB_SUCCESS && add) {
        rc = goapi_lmdb_rehearse_add(txn, dbi);
    }
    if (rc == MDB_SUCCESS) {
        rc = goapi_lmdb_rehearse_delete(cur);
    }
    mdb_cursor_close(cur);
    return rc;
}

static int goapi_lmdb_rehearse(MDB_env *env)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(env, NULL, 0, &txn);

    if (rc != MDB_SUCCESS) {
        return rc;
    }
    rc = goapi_lmdb_rehearse_db(txn, GOAPI_LMDB_RECORDS, 1);
    if (rc == MDB_SUCCESS) {
        rc = goapi_lmdb_rehearse_db(txn, GOAPI_LMDB_COUNTERS, 0);
    }
    mdb_txn_abort(txn);
    return rc;
}

/* An open that failed for the system's reasons, not the file's: any other
 * failure to open an existing file (no valid meta page, a map size or page
 * size from a damaged one that the system cannot map) is damage. */
static int goapi_lmdb_refused_by_system(int rc)
{
    switch (rc) {
    case EACCES: case EPERM: case EROFS: case ENOENT: case EMFILE: case ENFILE:
    case EAGAIN: case EBUSY: case ENOSPC: case EDQUOT: case EIO:
        return 1;
    default:
        return 0;
    }
}

/* The checking child's work (goapi_store_contained_fn). */
static void goapi_lmdb_check(void *baton, void *out)
{
    const goapi_lmdb_check_args *a = baton;
    goapi_lmdb_verdict *v = out;
    MDB_env *env;
    int rc;

    memset(v, 0, sizeof(*v));
    v->finding = GOAPI_LMDB_SOUND;
    /* read-write for the rehearsal, which never commits */
    rc = goapi_lmdb_env_open(&env, a->path, a->map_size,
                             a->mode == GOAPI_LMDB_READ_NOLOCK ? MDB_NOLOCK : 0);
    if (rc != MDB_SUCCESS) {
        v->finding = a->mode == GOAPI_LMDB_MAKE || goapi_lmdb_refused_by_system(rc)
                     ? GOAPI_LMDB_CANNOT_OPEN : GOAPI_LMDB_INVALID;
        v->rc = rc;
        return;
    }
    if (a->mode == GOAPI_LMDB_MAKE) {
        goapi_lmdb db;

        db.env = env;
        if ((rc = goapi_lmdb_open_dbs(&db)) != MDB_SUCCESS) {
            v->finding = rc > 0 ? GOAPI_LMDB_CANNOT_OPEN : GOAPI_LMDB_CORRUPT;
            v->rc = rc;
        }
    }
    if (v->finding == GOAPI_LMDB_SOUND) {
        goapi_lmdb_read_all(env, v);
    }
    if (v->finding == GOAPI_LMDB_SOUND && (rc = goapi_lmdb_rehearse(env)) != MDB_SUCCESS) {
        v->finding = rc > 0 && goapi_lmdb_refused_by_system(rc) ? GOAPI_LMDB_CANNOT_OPEN
                                                                 : GOAPI_LMDB_CORRUPT;
        v->rc = rc;
    }
    mdb_env_close(env);
}

/* The report's words for what the checking child found. */
static void goapi_lmdb_judge(const goapi_lmdb_verdict *v, goapi_ledger_report *rep,
                             apr_pool_t *p)
{
    rep->map_size = v->map_size;
    rep->used = v->used;
    rep->records = v->records;
    rep->state = GOAPI_LEDGER_DAMAGED;
    switch (v->finding) {
    case GOAPI_LMDB_SOUND:
        rep->state = GOAPI_LEDGER_SOUND;
        rep->detail = apr_psprintf(p, "%" APR_UINT64_T_FMT " record(s), %" APR_UINT64_T_FMT
                                   " of %" APR_UINT64_T_FMT " bytes in use", v->records,
                                   v->used, v->map_size);
        break;
    case GOAPI_LMDB_CANNOT_OPEN:
        rep->state = GOAPI_LEDGER_FAILED;
        rep->detail = apr_psprintf(p, "cannot be opened by LMDB as the server's user: %s",
                                   goapi_store_strerror(p, v->rc));
        break;
    case GOAPI_LMDB_INVALID:
        rep->detail = v->rc == MDB_VERSION_MISMATCH
                      ? "was written by an LMDB of another data format version"
                      : v->rc == MDB_INVALID
                      ? "is not an LMDB file, or both of its meta pages are damaged"
                      : apr_psprintf(p, "cannot be opened as an LMDB file (%s): its meta "
                                     "page is damaged", mdb_strerror(v->rc));
        break;
    case GOAPI_LMDB_TRUNCATED:
        rep->detail = apr_psprintf(p, "is %" APR_UINT64_T_FMT " bytes long but its meta "
                                   "page says %" APR_UINT64_T_FMT " are in use: it was "
                                   "cut short", v->file_size, v->used);
        break;
    case GOAPI_LMDB_CORRUPT:
        rep->detail = apr_psprintf(p, "has a damaged page (%s)", mdb_strerror(v->rc));
        break;
    case GOAPI_LMDB_BAD_FREE_LIST:
        rep->detail = "has a damaged list of free pages";
        break;
    case GOAPI_LMDB_BAD_RECORD:
        rep->detail = apr_psprintf(p, "holds a record that does not decode (after %"
                                   APR_UINT64_T_FMT " good ones)", v->records);
        break;
    case GOAPI_LMDB_BAD_COUNTER:
        rep->detail = "holds a counter that does not decode";
        break;
    default:
        rep->detail = "holds databases that are not mod_goapi's: it is not a ledger";
        break;
    }
}

/* The signals a damaged file may end its reader with. */
static const char *goapi_lmdb_signal_name(int signo)
{
    switch (signo) {
    case SIGBUS:
        return "SIGBUS";
    case SIGSEGV:
        return "SIGSEGV";
    case SIGABRT:
        return "SIGABRT, from an assertion of LMDB";
    case SIGFPE:
        return "SIGFPE";
    default:
        return "another signal";
    }
}

/* Read the ledger in a contained child and judge it. */
static void goapi_lmdb_check_contained(const char *path, apr_size_t map_size,
                                       goapi_lmdb_check_mode mode,
                                       const goapi_store_owner *owner,
                                       goapi_ledger_report *rep, apr_pool_t *p)
{
    goapi_lmdb_check_args a;
    goapi_lmdb_verdict v;
    int signo, code;

    a.path = path;
    a.map_size = map_size;
    a.mode = mode;
    memset(&v, 0, sizeof(v));
    if (goapi_store_contained(goapi_lmdb_check, &a, &v, sizeof(v), owner, &signo, &code)
        == APR_SUCCESS) {
        goapi_lmdb_judge(&v, rep, p);
    }
    else if (signo) {
        rep->state = GOAPI_LEDGER_DAMAGED;
        rep->detail = apr_psprintf(p, "made the process that read it die of signal %d "
                                   "(%s): a page points outside the file or into "
                                   "garbage", signo, goapi_lmdb_signal_name(signo));
    }
    else if (code == GOAPI_STORE_CONTAINED_NO_USER) {
        rep->state = GOAPI_LEDGER_FAILED;
        rep->detail = apr_psprintf(p, "cannot be read as the server's user (uid %lu, gid "
                                   "%lu): switching to it failed",
                                   (unsigned long)owner->uid, (unsigned long)owner->gid);
    }
    else {
        /* it died before its verdict: under a sanitizer a fault ends the
         * process with a status instead of the signal */
        rep->state = GOAPI_LEDGER_DAMAGED;
        rep->detail = apr_psprintf(p, "made the process that read it end with status %d "
                                   "before it was read through", code);
    }
}

/* The directory and base name of path. */
static void goapi_lmdb_split(const char *path, const char **dir, const char **base,
                             apr_pool_t *p)
{
    const char *slash = strrchr(path, '/');

    if (!slash) {
        *dir = ".";
        *base = path;
    }
    else {
        *dir = slash == path ? "/" : apr_pstrmemdup(p, path, (apr_size_t)(slash - path));
        *base = slash + 1;
    }
}

/* A refusal of the ledger's directory or files: subject (the store itself
 * when NULL) and why. */
static void goapi_lmdb_refused(goapi_ledger_report *rep, int unsafe, const char *subject,
                               const char *why, apr_pool_t *p)
{
    rep->state = unsafe ? GOAPI_LEDGER_UNSAFE : GOAPI_LEDGER_FAILED;
    rep->detail = subject ? apr_pstrcat(p, subject, " ", why, NULL) : why;
}

/* A file of the ledger, opened safely; 0 when the report is set. */
static int goapi_lmdb_file(int dirfd, const char *dir, const char *name, int is_lock,
                           const goapi_store_owner *owner, int create, int *fd, int *created,
                           goapi_ledger_report *rep, apr_pool_t *p)
{
    int unsafe;
    const char *why = goapi_store_file_open(dirfd, name, owner, create, fd, created,
                                            &unsafe, p);

    if (why) {
        goapi_lmdb_refused(rep, unsafe, is_lock ? apr_psprintf(p, "its lock file %s/%s",
                                                               dir, name) : NULL, why, p);
        return 0;
    }
    return 1;
}

static void goapi_lmdb_failed(goapi_ledger_report *rep, const char *what, apr_status_t rv,
                              apr_pool_t *p)
{
    char buf[120];

    rep->state = GOAPI_LEDGER_FAILED;
    rep->detail = apr_psprintf(p, "%s: %s", what, apr_strerror(rv, buf, sizeof(buf)));
}

/* Reserve the map (data) and the reader table (lock, sized by LMDB at its
 * first open) on disk. */
static void goapi_lmdb_reserve(int dfd, int lfd, goapi_ledger_report *rep, apr_pool_t *p)
{
    struct stat st;
    apr_status_t rv;

    rv = goapi_store_file_reserve(dfd, (apr_off_t)rep->map_size);
    if (rv == APR_SUCCESS) {
        rv = fstat(lfd, &st) == 0 ? goapi_store_file_reserve(lfd, st.st_size)
                                  : APR_FROM_OS_ERROR(errno);
    }
    if (rv != APR_SUCCESS) {
        goapi_lmdb_failed(rep, apr_psprintf(p, "cannot reserve its %" APR_UINT64_T_FMT
                                            " bytes on disk (free space, or lower the "
                                            "size given to GoapiIdempotencyStore)",
                                            rep->map_size), rv, p);
        return;
    }
    rep->state = GOAPI_LEDGER_READY;
}

void goapi_store_lmdb_prepare(const char *path, apr_size_t map_size,
                              const goapi_store_owner *owner, int prepare,
                              goapi_ledger_report *rep, apr_pool_t *p)
{
    const char *dir, *base, *lock, *why;
    int dirfd, dfd = -1, lfd = -1, dnew = 0, lnew = 0, unsafe;
    struct stat st;
    apr_status_t rv;

    memset(rep, 0, sizeof(*rep));
    goapi_lmdb_split(path, &dir, &base, p);
    lock = apr_pstrcat(p, base, "-lock", NULL);
    if ((why = goapi_store_dir_open(dir, owner, &dirfd, &unsafe, p)) != NULL) {
        goapi_lmdb_refused(rep, unsafe, apr_pstrcat(p, "its directory ", dir, NULL), why, p);
        return;
    }
    if (!goapi_lmdb_file(dirfd, dir, base, 0, owner, prepare, &dfd, &dnew, rep, p)
        || !goapi_lmdb_file(dirfd, dir, lock, 1, owner, prepare, &lfd, &lnew, rep, p)) {
        goto done;
    }
    if (dfd < 0) {
        rep->state = GOAPI_LEDGER_ABSENT;
        rep->detail = "does not exist yet: the server will create it";
        goto done;
    }
    if (!dnew && fstat(dfd, &st) == 0 && st.st_size == 0) {
        rep->state = GOAPI_LEDGER_DAMAGED;
        rep->detail = "is empty (0 bytes): a ledger is never empty once made, its "
                      "records are gone";
        goto done;
    }
    if (prepare && ((rv = goapi_store_file_hand_over(dfd, owner)) != APR_SUCCESS
                    || (rv = goapi_store_file_hand_over(lfd, owner)) != APR_SUCCESS)) {
        goapi_lmdb_failed(rep, "cannot be given to the server's user", rv, p);
        goto done;
    }
    goapi_lmdb_check_contained(path, map_size,
                               dnew ? GOAPI_LMDB_MAKE
                               : lfd >= 0 ? GOAPI_LMDB_READ : GOAPI_LMDB_READ_NOLOCK,
                               owner, rep, p);
    rep->created = dnew;
    if (prepare && rep->state == GOAPI_LEDGER_SOUND) {
        goapi_lmdb_reserve(dfd, lfd, rep, p);
    }
done:
    if (rep->state != GOAPI_LEDGER_READY && rep->state != GOAPI_LEDGER_SOUND) {
        /* nothing half-made is left behind: the next start begins anew */
        if (dnew) {
            unlinkat(dirfd, base, 0);
        }
        if (lnew) {
            unlinkat(dirfd, lock, 0);
        }
        rep->created = 0;
    }
    if (dfd >= 0) {
        close(dfd);
    }
    if (lfd >= 0) {
        close(lfd);
    }
    close(dirfd);
}

apr_status_t goapi_store_lmdb_move_aside(const char *path, const char *tag,
                                         const goapi_store_owner *owner,
                                         const char **moved_to, apr_pool_t *p)
{
    const char *dir, *base, *lock;
    apr_status_t rv = APR_SUCCESS;
    int dirfd, unsafe;

    goapi_lmdb_split(path, &dir, &base, p);
    lock = apr_pstrcat(p, base, "-lock", NULL);
    if (goapi_store_dir_open(dir, owner, &dirfd, &unsafe, p) != NULL) {
        return APR_EACCES;
    }
    *moved_to = apr_pstrcat(p, path, ".damaged-", tag, NULL);
    /* renameat2() never follows a link and, with RENAME_NOREPLACE, never
     * replaces what already has the new name */
    if (renameat2(dirfd, base, dirfd, apr_pstrcat(p, base, ".damaged-", tag, NULL),
                  RENAME_NOREPLACE) != 0
        || (renameat2(dirfd, lock, dirfd, apr_pstrcat(p, lock, ".damaged-", tag, NULL),
                      RENAME_NOREPLACE) != 0 && errno != ENOENT)) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    close(dirfd);
    return rv;
}
