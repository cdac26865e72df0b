/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Group commit of the LMDB idempotency ledger: threads whose writes wait at
 * the same moment share one transaction, and the answers are those of the
 * writes run one after another.  Many threads claiming, completing and
 * counting; claims of one key inside one group; a group in which one write
 * cannot fit the map; two processes, each with its own threads, racing for
 * the same keys.
 *
 * A group is made deterministic by a child process that holds LMDB's writer
 * lock: the writes queue up behind it and go in together once it lets go.
 * What the groups did is seen from outside the store, through the LMDB and
 * APR calls it makes (interposed here).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_proc.h>
#include <lmdb.h>

#include "unit.h"
#include "goapi_idem.h"
#include "goapi_store_lmdb.h"

#define SEC(n) ((apr_time_t)(n) * APR_USEC_PER_SEC)
#define NOW SEC(1000)
#define MAP_SIZE (1u << 20)             /* the smallest GoapiIdempotencyStore */

#define THREADS 16
#define ROUNDS 40                       /* each thread: claim, next, complete */

static char store_dir[64];
static int store_seq;

static const char *store_path(void)
{
    return apr_psprintf(unit_pool, "%s/ledger-%d", store_dir, ++store_seq);
}

static goapi_store *open_store(const char *path, apr_pool_t *p)
{
    goapi_store *st = NULL;

    assert_int_equal(goapi_store_lmdb_open(&st, path, MAP_SIZE, p), APR_SUCCESS);
    return st;
}

static void key_of(unsigned char k[GOAPI_SHA256_LEN], const char *key)
{
    goapi_idem_ledger_key(k, "localhost:80", key);
}

static goapi_idem_record in_flight(apr_uint64_t claim_id)
{
    goapi_idem_record r;

    memset(&r, 0, sizeof(r));
    r.state = GOAPI_IDEM_IN_FLIGHT;
    r.claim_id = claim_id;
    r.created = NOW;
    r.lease_end = NOW + SEC(60);
    r.expires = NOW + SEC(3600);
    memset(r.fingerprint, 7, sizeof(r.fingerprint));
    return r;
}

static goapi_idem_record completed(const goapi_idem_record *claim, const char *body,
                                   apr_size_t len)
{
    goapi_idem_record r = *claim;

    r.state = GOAPI_IDEM_COMPLETED;
    r.flags = GOAPI_IDEM_F_REPLAYABLE;
    r.status = 201;
    r.body = body;
    r.body_len = len;
    return r;
}

/* ---- what the writes did: LMDB and APR interposed --------------------------
 *
 * The store's write transactions (mdb_txn_begin() without MDB_RDONLY: LMDB
 * allows one at a time in a process), the puts and deletes in them (each
 * write that changes the ledger is one), their commits and aborts, and the
 * threads that wait for a group: in the store's apr_thread_cond_wait(), or
 * leading one in mdb_txn_begin(), which waits for LMDB's writer lock.  The
 * store's calls reach these definitions (libgoapi.a is linked into this
 * program), as do LMDB's own calls of its exported functions. */

typedef struct {
    apr_uint64_t writes;        /* puts and deletes in committed transactions */
    apr_uint64_t commits;       /* write transactions committed with a write */
    apr_uint64_t failed;        /* write transactions aborted after a failed write */
    int waiting;                /* threads waiting for a group now */
} observed;

static pthread_mutex_t obs_mutex = PTHREAD_MUTEX_INITIALIZER;
static observed obs;
static MDB_txn *obs_txn;                /* the write transaction open now */
static apr_uint64_t obs_txn_writes;     /* its puts and deletes */
static int obs_txn_failed;              /* one of them failed */

#define REAL(fn)                                                              \
    static __typeof__(fn) *real;                                              \
    if (!real) {                                                              \
        *(void **)&real = dlsym(RTLD_NEXT, #fn);                              \
    }

static observed observe(void)
{
    observed o;

    pthread_mutex_lock(&obs_mutex);
    o = obs;
    pthread_mutex_unlock(&obs_mutex);
    return o;
}

static void obs_waiting_add(int n)
{
    pthread_mutex_lock(&obs_mutex);
    obs.waiting += n;
    pthread_mutex_unlock(&obs_mutex);
}

static int obs_write(const MDB_txn *txn, int rc)
{
    pthread_mutex_lock(&obs_mutex);
    if (txn == obs_txn) {
        obs_txn_writes += rc == MDB_SUCCESS;
        obs_txn_failed |= rc != MDB_SUCCESS;
    }
    pthread_mutex_unlock(&obs_mutex);
    return rc;
}

int mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned int flags, MDB_txn **txn)
{
    int rc, write = !(flags & MDB_RDONLY);

    REAL(mdb_txn_begin);
    if (!write) {
        return real(env, parent, flags, txn);
    }
    obs_waiting_add(1);
    rc = real(env, parent, flags, txn);
    pthread_mutex_lock(&obs_mutex);
    obs.waiting--;
    if (rc == MDB_SUCCESS) {
        obs_txn = *txn;
        obs_txn_writes = 0;
        obs_txn_failed = 0;
    }
    pthread_mutex_unlock(&obs_mutex);
    return rc;
}

int mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned int flags)
{
    REAL(mdb_put);
    return obs_write(txn, real(txn, dbi, key, data, flags));
}

int mdb_del(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
    REAL(mdb_del);
    return obs_write(txn, real(txn, dbi, key, data));
}

int mdb_txn_commit(MDB_txn *txn)
{
    apr_uint64_t writes = 0;
    int rc, mine;

    REAL(mdb_txn_commit);
    pthread_mutex_lock(&obs_mutex);
    mine = txn == obs_txn;
    if (mine) {
        writes = obs_txn_writes;
        obs_txn = NULL;                 /* a commit that fails aborts it */
    }
    pthread_mutex_unlock(&obs_mutex);
    rc = real(txn);
    if (mine && rc == MDB_SUCCESS && writes) {
        pthread_mutex_lock(&obs_mutex);
        obs.writes += writes;
        obs.commits++;
        pthread_mutex_unlock(&obs_mutex);
    }
    return rc;
}

void mdb_txn_abort(MDB_txn *txn)
{
    REAL(mdb_txn_abort);
    pthread_mutex_lock(&obs_mutex);
    if (txn == obs_txn) {
        obs.failed += (apr_uint64_t)obs_txn_failed;
        obs_txn = NULL;
    }
    pthread_mutex_unlock(&obs_mutex);
    real(txn);
}

apr_status_t apr_thread_cond_wait(apr_thread_cond_t *cond, apr_thread_mutex_t *mutex)
{
    apr_status_t rv;

    REAL(apr_thread_cond_wait);
    obs_waiting_add(1);
    rv = real(cond, mutex);
    obs_waiting_add(-1);
    return rv;
}

/* ---- LMDB's writer lock, held by another process --------------------------- */

typedef struct {
    pid_t pid;
    int release;                        /* closing it lets the child go */
} writer_lock;

static void writer_lock_hold(writer_lock *wl, const char *path)
{
    int ready[2], go[2];
    char c = 0;

    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    wl->pid = fork();
    assert_true(wl->pid >= 0);
    if (wl->pid == 0) {
        MDB_env *env;
        MDB_txn *txn;

        close(ready[0]);
        close(go[1]);
        if (mdb_env_create(&env) != MDB_SUCCESS
            || mdb_env_set_mapsize(env, MAP_SIZE) != MDB_SUCCESS
            || mdb_env_set_maxdbs(env, 2) != MDB_SUCCESS
            || mdb_env_open(env, path, MDB_NOSUBDIR | MDB_NOTLS, 0600) != MDB_SUCCESS
            || mdb_txn_begin(env, NULL, 0, &txn) != MDB_SUCCESS) {
            _exit(2);
        }
        c = 'r';
        if (write(ready[1], &c, 1) != 1) {
            _exit(3);
        }
        while (read(go[0], &c, 1) > 0) {
            continue;                   /* until the parent closes its end */
        }
        mdb_txn_abort(txn);
        mdb_env_close(env);
        _exit(0);
    }
    close(ready[1]);
    close(go[0]);
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(c, 'r');
    close(ready[0]);
    wl->release = go[1];
}

static void writer_lock_release(writer_lock *wl)
{
    int status = -1;

    close(wl->release);
    assert_int_equal(waitpid(wl->pid, &status, 0), wl->pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Wait until n writes are queued behind the lock (10 s at most): one
 * thread leads their group, waiting for the lock, the others wait for it. */
static void wait_queued(int n)
{
    int i;

    for (i = 0; i < 10000 && observe().waiting < n; i++) {
        apr_sleep(1000);
    }
    assert_int_equal(observe().waiting, n);
}

/* ---- many threads ---------------------------------------------------------- */

typedef struct {
    goapi_store *st;
    int id;
    apr_pool_t *p;                      /* this thread's own */
    apr_status_t claim_rv[ROUNDS], next_rv[ROUNDS], complete_rv[ROUNDS];
    apr_status_t shared_rv[ROUNDS];
    goapi_claim_result claim_res[ROUNDS], shared_res[ROUNDS];
    apr_uint64_t shared_holder[ROUNDS]; /* the claim_id a held claim saw */
    apr_uint64_t values[ROUNDS];
} worker;

static apr_uint64_t claim_id_of(int thread, int round, int shared)
{
    return (apr_uint64_t)thread * 100000u + (apr_uint64_t)round * 2u + (apr_uint64_t)shared + 1u;
}

static void *APR_THREAD_FUNC worker_run(apr_thread_t *t, void *data)
{
    worker *w = data;
    unsigned char k[GOAPI_SHA256_LEN];
    goapi_idem_record mine, got, done;
    int r;

    for (r = 0; r < ROUNDS; r++) {
        key_of(k, apr_psprintf(w->p, "own-%d-%d", w->id, r));
        mine = in_flight(claim_id_of(w->id, r, 0));
        w->claim_rv[r] = w->st->ops->claim(w->st, k, &mine, NOW, 0, &w->claim_res[r], &got,
                                            w->p);
        w->next_rv[r] = w->st->ops->next(w->st, "dispatch", &w->values[r]);
        done = completed(&mine, apr_psprintf(w->p, "body %d-%d", w->id, r),
                         strlen(apr_psprintf(w->p, "body %d-%d", w->id, r)));
        w->complete_rv[r] = w->st->ops->complete(w->st, k, &done);

        /* every thread claims the round's shared key too */
        key_of(k, apr_psprintf(w->p, "shared-%d", r));
        mine = in_flight(claim_id_of(w->id, r, 1));
        memset(&got, 0, sizeof(got));
        w->shared_rv[r] = w->st->ops->claim(w->st, k, &mine, NOW, 0, &w->shared_res[r], &got,
                                             w->p);
        w->shared_holder[r] = got.claim_id;
    }
    (void)t;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    apr_uint64_t x = *(const apr_uint64_t *)a, y = *(const apr_uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void test_many_threads_share_commits(void **state)
{
    const char *path = store_path();
    goapi_store *st = open_store(path, unit_pool);
    worker *w = apr_pcalloc(unit_pool, THREADS * sizeof(*w));
    apr_thread_t *threads[THREADS];
    apr_uint64_t *values = apr_pcalloc(unit_pool, THREADS * ROUNDS * sizeof(*values));
    unsigned char k[GOAPI_SHA256_LEN];
    goapi_idem_record got;
    observed s;
    writer_lock wl;
    apr_status_t rv;
    apr_uint64_t n;
    int i, r, writes;

    (void)state;
    /* the threads' first writes all wait behind another process's lock */
    writer_lock_hold(&wl, path);
    for (i = 0; i < THREADS; i++) {
        w[i].st = st;
        w[i].id = i;
        assert_int_equal(apr_pool_create(&w[i].p, unit_pool), APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        assert_int_equal(apr_thread_create(&threads[i], NULL, worker_run, &w[i], unit_pool),
                         APR_SUCCESS);
    }
    wait_queued(THREADS);
    writer_lock_release(&wl);
    for (i = 0; i < THREADS; i++) {
        assert_int_equal(apr_thread_join(&rv, threads[i]), APR_SUCCESS);
    }

    for (r = 0; r < ROUNDS; r++) {
        int taken = 0;
        apr_uint64_t winner = 0;

        for (i = 0; i < THREADS; i++) {
            /* each distinct key is taken, counted and completed */
            assert_int_equal(w[i].claim_rv[r], APR_SUCCESS);
            assert_int_equal(w[i].claim_res[r], GOAPI_CLAIM_TAKEN);
            assert_int_equal(w[i].next_rv[r], APR_SUCCESS);
            assert_int_equal(w[i].complete_rv[r], APR_SUCCESS);
            values[i * ROUNDS + r] = w[i].values[r];

            key_of(k, apr_psprintf(unit_pool, "own-%d-%d", i, r));
            assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
            assert_int_equal(got.state, GOAPI_IDEM_COMPLETED);
            assert_true(got.claim_id == claim_id_of(i, r, 0));
            assert_string_equal(apr_pstrmemdup(unit_pool, got.body, got.body_len),
                                apr_psprintf(unit_pool, "body %d-%d", i, r));

            /* each shared key is taken by exactly one thread */
            assert_int_equal(w[i].shared_rv[r], APR_SUCCESS);
            if (w[i].shared_res[r] == GOAPI_CLAIM_TAKEN) {
                taken++;
                winner = claim_id_of(i, r, 1);
            }
        }
        assert_int_equal(taken, 1);
        for (i = 0; i < THREADS; i++) {
            if (w[i].shared_res[r] == GOAPI_CLAIM_HELD) {
                assert_true(w[i].shared_holder[r] == winner);
            }
        }
        key_of(k, apr_psprintf(unit_pool, "shared-%d", r));
        assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
        assert_true(got.claim_id == winner);
    }

    /* the counter handed out 1 .. N, each value once */
    qsort(values, THREADS * ROUNDS, sizeof(*values), cmp_u64);
    for (i = 0; i < THREADS * ROUNDS; i++) {
        assert_true(values[i] == (apr_uint64_t)i + 1);
    }
    assert_int_equal(st->ops->next(st, "dispatch", &n), APR_SUCCESS);
    assert_true(n == (apr_uint64_t)THREADS * ROUNDS + 1);

    /* claims, counts, completions, one shared claim a round, and the next
     * just above; the first 16 claims alone shared one commit */
    writes = THREADS * ROUNDS * 3 + ROUNDS + 1;
    s = observe();
    assert_true(s.writes == (apr_uint64_t)writes);
    assert_true(s.commits + (THREADS - 1) <= s.writes);
    assert_true(s.failed == 0);
    assert_int_equal(s.waiting, 0);
    print_message("%d writes in %lu commits\n", writes, (unsigned long)s.commits);
}

/* ---- one key claimed many times in one group --------------------------------- */

typedef struct {
    goapi_store *st;
    apr_pool_t *p;
    apr_uint64_t claim_id;
    const char *key;
    apr_status_t rv;
    goapi_claim_result res;
    goapi_idem_record got;
} claimer;

static void *APR_THREAD_FUNC claimer_run(apr_thread_t *t, void *data)
{
    claimer *c = data;
    unsigned char k[GOAPI_SHA256_LEN];
    goapi_idem_record mine = in_flight(c->claim_id);

    key_of(k, c->key);
    memset(&c->got, 0, sizeof(c->got));
    c->rv = c->st->ops->claim(c->st, k, &mine, NOW, 0, &c->res, &c->got, c->p);
    (void)t;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

static void test_one_key_in_one_group(void **state)
{
    const char *path = store_path();
    goapi_store *st = open_store(path, unit_pool);
    claimer c[8];
    apr_thread_t *threads[8];
    observed before = observe(), after;
    writer_lock wl;
    apr_status_t rv;
    apr_uint64_t winner = 0;
    int i, taken = 0;

    (void)state;
    writer_lock_hold(&wl, path);
    for (i = 0; i < 8; i++) {
        c[i].st = st;
        c[i].claim_id = (apr_uint64_t)i + 1;
        c[i].key = "the-same-key";
        assert_int_equal(apr_pool_create(&c[i].p, unit_pool), APR_SUCCESS);
        assert_int_equal(apr_thread_create(&threads[i], NULL, claimer_run, &c[i], unit_pool),
                         APR_SUCCESS);
    }
    wait_queued(8);
    writer_lock_release(&wl);
    for (i = 0; i < 8; i++) {
        assert_int_equal(apr_thread_join(&rv, threads[i]), APR_SUCCESS);
    }
    for (i = 0; i < 8; i++) {
        assert_int_equal(c[i].rv, APR_SUCCESS);
        if (c[i].res == GOAPI_CLAIM_TAKEN) {
            taken++;
            winner = c[i].claim_id;
        }
    }
    assert_int_equal(taken, 1);
    /* the others saw the winner's record, decoded into their own pools */
    for (i = 0; i < 8; i++) {
        if (c[i].res == GOAPI_CLAIM_HELD) {
            assert_int_equal(c[i].got.state, GOAPI_IDEM_IN_FLIGHT);
            assert_true(c[i].got.claim_id == winner);
            assert_true(c[i].got.expires == NOW + SEC(3600));
        }
    }
    /* all eight in one transaction, one of them a write */
    after = observe();
    assert_true(after.writes - before.writes == 1);
    assert_true(after.commits - before.commits == 1);
}

/* ---- a write the map cannot hold, in a group ------------------------------- */

typedef struct {
    goapi_store *st;
    int kind;                           /* 0 complete, 1 next, 2 claim */
    const char *key;
    goapi_idem_record rec;
    apr_pool_t *p;
    apr_status_t rv;
    goapi_claim_result res;
    apr_uint64_t value;
} writer;

static void *APR_THREAD_FUNC writer_run(apr_thread_t *t, void *data)
{
    writer *w = data;
    unsigned char k[GOAPI_SHA256_LEN];
    goapi_idem_record got;

    key_of(k, w->key);
    if (w->kind == 0) {
        w->rv = w->st->ops->complete(w->st, k, &w->rec);
    }
    else if (w->kind == 1) {
        w->rv = w->st->ops->next(w->st, "full", &w->value);
    }
    else {
        w->rv = w->st->ops->claim(w->st, k, &w->rec, NOW, 0, &w->res, &got, w->p);
    }
    (void)t;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

static void test_map_full_in_a_group(void **state)
{
    const char *path = store_path();
    goapi_store *st = open_store(path, unit_pool);
    apr_size_t big_len = 2 * MAP_SIZE;  /* larger than the whole map */
    char *big = apr_pcalloc(unit_pool, big_len);
    unsigned char k[GOAPI_SHA256_LEN];
    goapi_idem_record mine, got;
    goapi_claim_result res;
    observed before, after;
    writer w[10];
    apr_thread_t *threads[10];
    writer_lock wl;
    apr_status_t rv;
    int i;

    (void)state;
    memset(big, 'b', big_len);
    /* eight claims taken before: four will complete with a body too large */
    for (i = 0; i < 8; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].key = apr_psprintf(unit_pool, "full-%d", i);
        key_of(k, w[i].key);
        mine = in_flight((apr_uint64_t)i + 1);
        assert_int_equal(st->ops->claim(st, k, &mine, NOW, 0, &res, &got, unit_pool),
                         APR_SUCCESS);
        assert_int_equal(res, GOAPI_CLAIM_TAKEN);
        w[i].rec = i % 2 ? completed(&mine, big, big_len) : completed(&mine, "small", 5);
    }
    memset(&w[8], 0, sizeof(w[8]));
    w[8].kind = 1;
    w[8].key = "full-counter";
    memset(&w[9], 0, sizeof(w[9]));
    w[9].kind = 2;
    w[9].key = "full-new";
    w[9].rec = in_flight(99);
    before = observe();

    writer_lock_hold(&wl, path);
    for (i = 0; i < 10; i++) {
        w[i].st = st;
        assert_int_equal(apr_pool_create(&w[i].p, unit_pool), APR_SUCCESS);
        assert_int_equal(apr_thread_create(&threads[i], NULL, writer_run, &w[i], unit_pool),
                         APR_SUCCESS);
    }
    wait_queued(10);
    writer_lock_release(&wl);
    for (i = 0; i < 10; i++) {
        assert_int_equal(apr_thread_join(&rv, threads[i]), APR_SUCCESS);
    }

    /* the group failed and was applied again write by write: the four
     * completions too large failed alone, the six others were committed */
    after = observe();
    assert_true(after.failed - before.failed == 1 + 4);
    assert_true(after.writes - before.writes == 6);
    assert_true(after.commits - before.commits == 6);
    for (i = 0; i < 8; i++) {
        key_of(k, w[i].key);
        assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
        if (i % 2) {
            /* refused as full; the claim it would have completed stays */
            assert_int_equal(w[i].rv, APR_ENOSPC);
            assert_int_equal(got.state, GOAPI_IDEM_IN_FLIGHT);
        }
        else {
            assert_int_equal(w[i].rv, APR_SUCCESS);
            assert_int_equal(got.state, GOAPI_IDEM_COMPLETED);
            assert_int_equal(got.body_len, 5);
            assert_memory_equal(got.body, "small", 5);
        }
        assert_true(got.claim_id == (apr_uint64_t)i + 1);
    }
    assert_int_equal(w[8].rv, APR_SUCCESS);
    assert_true(w[8].value == 1);
    assert_int_equal(w[9].rv, APR_SUCCESS);
    assert_int_equal(w[9].res, GOAPI_CLAIM_TAKEN);
    key_of(k, "full-new");
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_true(got.claim_id == 99);
}

/* ---- two processes, each with its threads ----------------------------------- */

#define RACE_KEYS 60
#define RACE_THREADS 8

typedef struct {
    goapi_store *st;
    apr_pool_t *p;
    int proc, id;
    int fd;                             /* the parent's pipe */
    int failed;
} racer;

static void *APR_THREAD_FUNC racer_run(apr_thread_t *t, void *data)
{
    racer *r = data;
    unsigned char k[GOAPI_SHA256_LEN];
    goapi_idem_record mine, got;
    goapi_claim_result res;
    unsigned char out[2];
    int i;

    for (i = 0; i < RACE_KEYS; i++) {
        key_of(k, apr_psprintf(r->p, "race-%d", i));
        mine = in_flight((apr_uint64_t)r->proc * 1000u + (apr_uint64_t)r->id + 1u);
        if (r->st->ops->claim(r->st, k, &mine, NOW, 0, &res, &got, r->p) != APR_SUCCESS) {
            r->failed = 1;
            continue;
        }
        out[0] = (unsigned char)i;
        out[1] = res == GOAPI_CLAIM_TAKEN ? 'T' : 'H';
        /* two bytes: atomic on a pipe */
        if (write(r->fd, out, 2) != 2) {
            r->failed = 1;
        }
    }
    (void)t;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

static void race_child(const char *path, int proc, int fd)
{
    apr_pool_t *p;
    goapi_store *st;
    racer r[RACE_THREADS];
    apr_thread_t *threads[RACE_THREADS];
    apr_status_t rv;
    int i, failed = 0;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS
        || goapi_store_lmdb_open(&st, path, MAP_SIZE, p) != APR_SUCCESS) {
        _exit(2);
    }
    for (i = 0; i < RACE_THREADS; i++) {
        r[i].st = st;
        r[i].proc = proc;
        r[i].id = i;
        r[i].fd = fd;
        r[i].failed = 0;
        if (apr_pool_create(&r[i].p, p) != APR_SUCCESS
            || apr_thread_create(&threads[i], NULL, racer_run, &r[i], p) != APR_SUCCESS) {
            _exit(3);
        }
    }
    for (i = 0; i < RACE_THREADS; i++) {
        apr_thread_join(&rv, threads[i]);
        failed |= r[i].failed;
    }
    _exit(failed ? 4 : 0);
}

static void test_two_processes_with_threads(void **state)
{
    const char *path = store_path();
    int fds[2], i, taken[RACE_KEYS], answers = 0;
    unsigned char in[2];
    pid_t pids[2];

    (void)state;
    open_store(path, unit_pool);        /* create it once, as the parent does */
    memset(taken, 0, sizeof(taken));
    assert_int_equal(pipe(fds), 0);
    for (i = 0; i < 2; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(fds[0]);
            race_child(path, i, fds[1]);
        }
    }
    close(fds[1]);
    while (read(fds[0], in, 2) == 2) {
        assert_true(in[0] < RACE_KEYS);
        taken[in[0]] += in[1] == 'T';
        answers++;
    }
    close(fds[0]);
    for (i = 0; i < 2; i++) {
        int status = -1;

        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(answers, 2 * RACE_THREADS * RACE_KEYS);
    for (i = 0; i < RACE_KEYS; i++) {
        assert_int_equal(taken[i], 1);
    }
}

static int group_setup(void **state)
{
    return unit_setup_dir(state, store_dir, sizeof(store_dir), "goapi-store-lmdb");
}

static int group_teardown(void **state)
{
    return unit_teardown_dir(state, store_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_threads_share_commits),
        cmocka_unit_test(test_one_key_in_one_group),
        cmocka_unit_test(test_map_full_in_a_group),
        cmocka_unit_test(test_two_processes_with_threads),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
