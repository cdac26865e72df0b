/*
 * goapi_store_lmdb.c — the idempotency ledger in LMDB (see goapi_store.h).
 *
 * One environment file for the whole server.  LMDB serialises write
 * transactions across processes with its own robust mutex and lets readers
 * go without a lock, which is what the ledger wants: every claim is one
 * short write transaction, every replay a read.  Two named databases:
 * "records" (ledger key -> encoded goapi_idem_record) and "counters"
 * (name -> 8-byte little-endian count).
 *
 * MDB_NOTLS: httpd's worker threads come and go; a read transaction is
 * tied to the call that opened it, not to a thread.
 */
#include <string.h>

#include <apr_strings.h>
#include <lmdb.h>

#include "goapi_store.h"

/* Readers at once: more than any sane ServerLimit x ThreadsPerChild. */
#define GOAPI_LMDB_MAX_READERS   4096
/* New claims stop when the pages in use pass this share of the map (in
 * tenths): the rest is kept for what must never fail, completing a claim
 * already taken (LMDB copies pages on write) and deleting expired records. */
#define GOAPI_LMDB_CLAIM_LIMIT   9
/* Deleted per write transaction by a sweep, to keep the lock short. */
#define GOAPI_LMDB_SWEEP_BATCH   512

typedef struct {
    goapi_store base;
    MDB_env *env;
    MDB_dbi records;
    MDB_dbi counters;
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

/* Pages the databases use in txn (free pages not counted), against the
 * map: above the claim limit? */
static int goapi_lmdb_nearly_full(goapi_lmdb *db, MDB_txn *txn)
{
    const MDB_dbi dbis[3] = { 1 /* LMDB's main database */, db->records, db->counters };
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

static apr_status_t goapi_lmdb_claim(goapi_store *st, const unsigned char key[GOAPI_SHA256_LEN],
                                     const goapi_idem_record *mine, apr_time_t now,
                                     goapi_claim_result *res, goapi_idem_record *existing,
                                     apr_pool_t *p)
{
    goapi_lmdb *db = (goapi_lmdb *)st;
    MDB_val k = goapi_lmdb_key(key), v;
    MDB_txn *txn;
    int rc;

    rc = mdb_txn_begin(db->env, NULL, 0, &txn);
    if (rc != MDB_SUCCESS) {
        return goapi_lmdb_status(rc);
    }
    rc = mdb_get(txn, db->records, &k, &v);
    if (rc == MDB_SUCCESS) {
        if (goapi_idem_decode(existing, v.mv_data, v.mv_size, p) != APR_SUCCESS) {
            mdb_txn_abort(txn);
            return APR_EINVAL;
        }
        if (existing->expires > now) {
            mdb_txn_abort(txn);
            *res = GOAPI_CLAIM_HELD;
            return APR_SUCCESS;
        }
        /* expired: a lease that ended or a TTL that passed */
    }
    else if (rc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return goapi_lmdb_status(rc);
    }
    if (goapi_lmdb_nearly_full(db, txn)) {
        mdb_txn_abort(txn);
        return APR_ENOSPC;
    }
    rc = goapi_lmdb_commit(txn, goapi_lmdb_put(db, txn, &k, mine));
    if (rc == MDB_SUCCESS) {
        *res = GOAPI_CLAIM_TAKEN;
    }
    return goapi_lmdb_status(rc);
}

/* Find our in-flight record in a write transaction: MDB_SUCCESS with txn
 * open, or an error with txn aborted. */
static int goapi_lmdb_ours(goapi_lmdb *db, MDB_val *k, apr_uint64_t claim_id,
                           MDB_txn **txn)
{
    goapi_idem_record rec;
    apr_pool_t *p;
    MDB_val v;
    int rc;

    rc = mdb_txn_begin(db->env, NULL, 0, txn);
    if (rc != MDB_SUCCESS) {
        return rc;
    }
    rc = mdb_get(*txn, db->records, k, &v);
    if (rc == MDB_SUCCESS) {
        if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
            rc = ENOMEM;
        }
        else {
            if (goapi_idem_decode(&rec, v.mv_data, v.mv_size, p) != APR_SUCCESS
                || rec.state != GOAPI_IDEM_IN_FLIGHT || rec.claim_id != claim_id) {
                rc = MDB_NOTFOUND;
            }
            apr_pool_destroy(p);
        }
    }
    if (rc != MDB_SUCCESS) {
        mdb_txn_abort(*txn);
    }
    return rc;
}

static apr_status_t goapi_lmdb_complete(goapi_store *st,
                                        const unsigned char key[GOAPI_SHA256_LEN],
                                        const goapi_idem_record *done)
{
    goapi_lmdb *db = (goapi_lmdb *)st;
    MDB_val k = goapi_lmdb_key(key);
    MDB_txn *txn;
    int rc = goapi_lmdb_ours(db, &k, done->claim_id, &txn);

    if (rc == MDB_SUCCESS) {
        rc = goapi_lmdb_commit(txn, goapi_lmdb_put(db, txn, &k, done));
    }
    return goapi_lmdb_status(rc);
}

static apr_status_t goapi_lmdb_release(goapi_store *st,
                                       const unsigned char key[GOAPI_SHA256_LEN],
                                       apr_uint64_t claim_id)
{
    goapi_lmdb *db = (goapi_lmdb *)st;
    MDB_val k = goapi_lmdb_key(key);
    MDB_txn *txn;
    int rc = goapi_lmdb_ours(db, &k, claim_id, &txn);

    if (rc == MDB_SUCCESS) {
        rc = goapi_lmdb_commit(txn, mdb_del(txn, db->records, &k, NULL));
    }
    return goapi_lmdb_status(rc);
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
    goapi_lmdb *db = (goapi_lmdb *)st;
    unsigned char out[8];
    apr_uint64_t n = 0;
    MDB_val k, v;
    MDB_txn *txn;
    int rc, i;

    k.mv_size = strlen(counter);
    k.mv_data = (void *)counter;
    rc = mdb_txn_begin(db->env, NULL, 0, &txn);
    if (rc != MDB_SUCCESS) {
        return goapi_lmdb_status(rc);
    }
    rc = mdb_get(txn, db->counters, &k, &v);
    if (rc == MDB_SUCCESS && v.mv_size == sizeof(out)) {
        for (i = 7; i >= 0; i--) {
            n = (n << 8) | ((const unsigned char *)v.mv_data)[i];
        }
    }
    else if (rc == MDB_SUCCESS || rc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return rc == MDB_SUCCESS ? APR_EINVAL : goapi_lmdb_status(rc);
    }
    n++;
    for (i = 0; i < 8; i++) {
        out[i] = (unsigned char)(n >> (8 * i));
    }
    v.mv_size = sizeof(out);
    v.mv_data = out;
    rc = goapi_lmdb_commit(txn, mdb_put(txn, db->counters, &k, &v, 0));
    if (rc == MDB_SUCCESS) {
        *value = n;
    }
    return goapi_lmdb_status(rc);
}

static const goapi_store_ops goapi_lmdb_ops = {
    "lmdb",
    goapi_lmdb_claim,
    goapi_lmdb_complete,
    goapi_lmdb_release,
    goapi_lmdb_lookup,
    goapi_lmdb_sweep,
    goapi_lmdb_next,
    goapi_lmdb_error
};

static apr_status_t goapi_lmdb_close(void *data)
{
    goapi_lmdb *db = data;

    mdb_env_close(db->env);
    return APR_SUCCESS;
}

static int goapi_lmdb_open_dbs(goapi_lmdb *db)
{
    MDB_txn *txn;
    int rc;

    rc = mdb_txn_begin(db->env, NULL, 0, &txn);
    if (rc != MDB_SUCCESS) {
        return rc;
    }
    rc = mdb_dbi_open(txn, "records", MDB_CREATE, &db->records);
    if (rc == MDB_SUCCESS) {
        rc = mdb_dbi_open(txn, "counters", MDB_CREATE, &db->counters);
    }
    return goapi_lmdb_commit(txn, rc);
}

apr_status_t goapi_store_lmdb_open(goapi_store **st, const char *path,
                                   apr_size_t map_size, apr_pool_t *p)
{
    goapi_lmdb *db = apr_pcalloc(p, sizeof(*db));
    int rc, dead = 0;

    db->base.ops = &goapi_lmdb_ops;
    rc = mdb_env_create(&db->env);
    if (rc != MDB_SUCCESS) {
        return goapi_lmdb_status(rc);
    }
    rc = mdb_env_set_mapsize(db->env, map_size);
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_maxdbs(db->env, 2);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_maxreaders(db->env, GOAPI_LMDB_MAX_READERS);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_open(db->env, path, MDB_NOSUBDIR | MDB_NOTLS, 0600);
    }
    if (rc == MDB_SUCCESS) {
        mdb_reader_check(db->env, &dead);
        rc = goapi_lmdb_open_dbs(db);
    }
    if (rc != MDB_SUCCESS) {
        mdb_env_close(db->env);
        return goapi_lmdb_status(rc);
    }
    apr_pool_cleanup_register(p, db, goapi_lmdb_close, apr_pool_cleanup_null);
    *st = &db->base;
    return APR_SUCCESS;
}

void goapi_store_lmdb_files(const char *path, apr_pool_t *p, const char **data,
                            const char **lock)
{
    *data = path;
    *lock = apr_pstrcat(p, path, "-lock", NULL);
}
