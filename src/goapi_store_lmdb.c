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
 * tied to the call that opened it, not to a thread.  The file is checked,
 * made and reserved before use by goapi_lmdb_file.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#if APR_HAS_THREADS
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#endif
#include <lmdb.h>

#include "goapi_lmdb_env.h"
#include "goapi_store_lmdb.h"

/* Readers at once: more than any sane ServerLimit x ThreadsPerChild. */
#define GOAPI_LMDB_MAX_READERS   4096
/* New claims stop when the pages in use pass this share of the map (in
 * tenths): the rest is kept for what must never fail, completing a claim
 * already taken (LMDB copies pages on write) and deleting expired records. */
#define GOAPI_LMDB_CLAIM_LIMIT   9
/* Deleted per write transaction by a sweep, to keep the lock short. */
#define GOAPI_LMDB_SWEEP_BATCH   512

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

/* Is the record under k exactly rec, byte for byte?  1 or 0 (a failure
 * of txn, or no memory, is 0: the caller then says "not ours"). */
static int goapi_lmdb_same(goapi_lmdb *db, MDB_txn *txn, MDB_val *k,
                           const goapi_idem_record *rec)
{
    apr_size_t n = goapi_idem_encoded_size(rec);
    unsigned char *buf;
    MDB_val v;
    int same;

    if (!n || mdb_get(txn, db->records, k, &v) != MDB_SUCCESS || v.mv_size != n
        || !(buf = malloc(n))) {
        return 0;
    }
    goapi_idem_encode(rec, buf);
    same = memcmp(buf, v.mv_data, n) == 0;
    free(buf);
    return same;
}

/* Complete or release our in-flight record.  A completion that finds its
 * own completed record there (sent again) succeeds without writing. */
static int goapi_lmdb_apply_settle(goapi_lmdb *db, MDB_txn *txn, goapi_lmdb_op *op)
{
    int rc = goapi_lmdb_ours(db, txn, &op->k, op->claim_id);

    if (rc == MDB_KEYEXIST && op->kind == GOAPI_LMDB_OP_COMPLETE
        && goapi_lmdb_same(db, txn, &op->k, op->rec)) {
        return MDB_SUCCESS;
    }
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

int goapi_lmdb_env_open(MDB_env **env, const char *path, apr_size_t map_size,
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

int goapi_lmdb_open_dbs(MDB_env *env, MDB_dbi *main, MDB_dbi *records, MDB_dbi *counters)
{
    MDB_txn *txn;
    int rc;

    rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc != MDB_SUCCESS) {
        return rc;
    }
    rc = mdb_dbi_open(txn, NULL, 0, main);
    if (rc == MDB_SUCCESS) {
        rc = mdb_dbi_open(txn, GOAPI_LMDB_RECORDS, MDB_CREATE, records);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_dbi_open(txn, GOAPI_LMDB_COUNTERS, MDB_CREATE, counters);
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
        rc = goapi_lmdb_open_dbs(db->env, &db->main, &db->records, &db->counters);
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
