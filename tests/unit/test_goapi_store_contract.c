/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * The contract of goapi_store.h, the same tests run against every store:
 * LMDB (a file in a temp dir), Redis (a real redis-server) and PostgreSQL
 * through apr_dbd (a real postgres), each test on an empty ledger.  Claim,
 * complete and replay; a release lets the key run again; someone else's
 * claim is never settled; the outcome stays unknown after the lease, until
 * the record's end; a takeover only when asked, with the late holder
 * fenced off; an expired record replaced by a claim, and swept; the
 * counter across a reopen; a key no record holds; a completion sent twice;
 * threads racing for the same keys.  A store whose server is not installed
 * is skipped, and said so.
 */
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "unit_services.h"
#include "goapi_idem.h"
#include "goapi_redis_url.h"
#include "goapi_store_lmdb.h"
#include "goapi_store_redis.h"

#define SEC(n) ((apr_time_t)(n) * APR_USEC_PER_SEC)
#define LMDB_MAP_SIZE (8u << 20)

static char lmdb_dir[64];
static int lmdb_seq;
static unit_redis redis;
static unit_pg pg;

/* One store under test: how to empty its ledger and open a store on it. */
typedef struct store_kind store_kind;

typedef struct {
    const store_kind *kind;
    apr_pool_t *p;                      /* the test's; closes its stores */
    const char *path;                   /* LMDB: the ledger's file */
} fixture;

struct store_kind {
    const char *name;
    int usable;                         /* installed and started (group setup) */
    int sweeps;                         /* sweep deletes expired records (Redis
                                         * expires them itself: none left) */
    int shared;                         /* several stores of one process may
                                         * share the ledger (not LMDB's file) */
    int (*empty)(fixture *f);           /* a ledger with no record nor counter:
                                         * 0, or -1 */
    apr_status_t (*open)(fixture *f, goapi_store **st, apr_pool_t *p);
};

/* ---- the stores ----------------------------------------------------------- */

static int lmdb_empty(fixture *f)
{
    f->path = apr_psprintf(f->p, "%s/ledger-%d", lmdb_dir, ++lmdb_seq);
    return 0;
}

static apr_status_t lmdb_open(fixture *f, goapi_store **st, apr_pool_t *p)
{
    return goapi_store_lmdb_open(st, f->path, LMDB_MAP_SIZE, p);
}

static int redis_empty(fixture *f)
{
    redisReply *r = unit_redis_command(redis.port, 3, "FLUSHDB");
    int ok = r && r->type == REDIS_REPLY_STATUS;

    (void)f;
    if (r) {
        freeReplyObject(r);
    }
    return ok ? 0 : -1;
}

static apr_status_t redis_open(fixture *f, goapi_store **st, apr_pool_t *p)
{
    goapi_redis_target t;
    const char *url = apr_psprintf(f->p, "redis://127.0.0.1:%d/3", redis.port);

    if (goapi_redis_url_parse(p, url, &t) != NULL) {
        return APR_EINVAL;
    }
    return goapi_store_redis_open(st, &t, "goapi-contract:", SEC(1), 0, p);
}

static int pg_empty(fixture *f)
{
    (void)f;
    return unit_pg_query(&pg, "DROP TABLE IF EXISTS goapi_idempotency, "
                         "goapi_idempotency_counters") == 0 ? 0 : -1;
}

static apr_status_t pg_open(fixture *f, goapi_store **st, apr_pool_t *p)
{
    (void)f;
    return unit_pg_store(&pg, "goapi", "postgres", 0, st, NULL, p);
}

static store_kind kinds[] = {
    { "lmdb", 0, 1, 0, lmdb_empty, lmdb_open },
    { "redis", 0, 0, 1, redis_empty, redis_open },
    { "pg", 0, 1, 1, pg_empty, pg_open },
};

/* Each test: a pool of its own and, when its store is here, an empty
 * ledger. */
static int store_setup(void **state)
{
    const store_kind *kind = *state;
    fixture *f = apr_pcalloc(unit_pool, sizeof(*f));

    f->kind = kind;
    if (apr_pool_create(&f->p, unit_pool) != APR_SUCCESS
        || (kind->usable && kind->empty(f) != 0)) {
        return -1;
    }
    *state = f;
    return 0;
}

static int store_teardown(void **state)
{
    fixture *f = *state;

    apr_pool_destroy(f->p);             /* closes the test's stores */
    return 0;
}

/* A store on the test's ledger, closed with p; the test is skipped when
 * its store is not installed. */
static goapi_store *open_in(fixture *f, apr_pool_t *p)
{
    goapi_store *st = NULL;

    if (!f->kind->usable) {
        skip();
    }
    assert_int_equal(f->kind->open(f, &st, p), APR_SUCCESS);
    assert_non_null(st);
    return st;
}

static goapi_store *open_store(void **state)
{
    fixture *f = *state;

    return open_in(f, f->p);
}

/* ---- records ------------------------------------------------------------- */

/* got is exactly the in-flight claim want. */
static void assert_claim(const goapi_idem_record *got, const goapi_idem_record *want)
{
    assert_int_equal(got->state, GOAPI_IDEM_IN_FLIGHT);
    assert_true(got->claim_id == want->claim_id);
    assert_true(got->created == want->created);
    assert_true(got->lease_end == want->lease_end);
    assert_true(got->expires == want->expires);
    assert_memory_equal(got->fingerprint, want->fingerprint, GOAPI_SHA256_LEN);
}

/* got is exactly the completed record want (made by completed()). */
static void assert_completed(const goapi_idem_record *got, const goapi_idem_record *want)
{
    assert_int_equal(got->state, GOAPI_IDEM_COMPLETED);
    assert_int_equal(got->flags, GOAPI_IDEM_F_REPLAYABLE);
    assert_true(got->claim_id == want->claim_id);
    assert_true(got->expires == want->expires);
    assert_int_equal(got->status, 201);
    assert_memory_equal(got->fingerprint, want->fingerprint, GOAPI_SHA256_LEN);
    assert_non_null(got->headers);
    assert_int_equal(got->headers->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(got->headers, 0, goapi_idem_header).name, "Location");
    assert_string_equal(APR_ARRAY_IDX(got->headers, 0, goapi_idem_header).value,
                        "/parcels/p1/dispatches/7");
    assert_string_equal(APR_ARRAY_IDX(got->headers, 1, goapi_idem_header).value,
                        "text/plain; charset=utf-8");
    assert_int_equal(got->body_len, want->body_len);
    assert_memory_equal(got->body, want->body, want->body_len);
}

/* A claim of k by mine at now with flags: its result (the call must
 * succeed). */
static goapi_claim_result claim(goapi_store *st, const unsigned char *k,
                                const goapi_idem_record *mine, apr_time_t now, unsigned flags,
                                goapi_idem_record *got)
{
    goapi_claim_result res = (goapi_claim_result)-1;

    assert_int_equal(st->ops->claim(st, k, mine, now, flags, &res, got, unit_pool),
                     APR_SUCCESS);
    return res;
}

/* ---- the contract ----------------------------------------------------------- */

static void test_claim_complete_replay(void **state)
{
    goapi_store *st = open_store(state);
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t t0 = apr_time_now();
    goapi_idem_record mine = unit_in_flight(1, t0, SEC(60), SEC(3600)), got, done;
    goapi_idem_record other = unit_in_flight(2, t0 + SEC(1), SEC(60), SEC(3600));

    unit_key_of(k, "replay");
    assert_int_equal(claim(st, k, &mine, t0, 0, &got), GOAPI_CLAIM_TAKEN);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_claim(&got, &mine);

    /* a second claim while in flight: held, and the record says by whom */
    assert_int_equal(claim(st, k, &other, t0 + SEC(1), 0, &got), GOAPI_CLAIM_HELD);
    assert_claim(&got, &mine);

    done = unit_completed(&mine, SEC(86400), "dispatch 7 created for p1\n", unit_pool);
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_completed(&got, &done);

    /* a retry: held by the completed record, which it replays */
    assert_int_equal(claim(st, k, &other, t0 + SEC(2), 0, &got), GOAPI_CLAIM_HELD);
    assert_completed(&got, &done);
    /* a completed record is no claim to release */
    assert_int_equal(st->ops->release(st, k, 1), APR_NOTFOUND);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_completed(&got, &done);
}

static void test_lookup_of_a_missing_key(void **state)
{
    goapi_store *st = open_store(state);
    unsigned char k[GOAPI_SHA256_LEN], other[GOAPI_SHA256_LEN];
    apr_time_t t0 = apr_time_now();
    goapi_idem_record mine = unit_in_flight(3, t0, SEC(60), SEC(3600)), got;

    unit_key_of(k, "missing");
    unit_key_of(other, "present");
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_NOTFOUND);
    /* another key's record is not this one's */
    assert_int_equal(claim(st, other, &mine, t0, 0, &got), GOAPI_CLAIM_TAKEN);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_NOTFOUND);
    assert_int_equal(st->ops->lookup(st, other, &got, unit_pool), APR_SUCCESS);
    assert_claim(&got, &mine);
}

static void test_release_lets_the_key_run_again(void **state)
{
    goapi_store *st = open_store(state);
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t t0 = apr_time_now();
    goapi_idem_record mine = unit_in_flight(10, t0, SEC(60), SEC(3600)), got, done;
    goapi_idem_record again = unit_in_flight(12, t0 + SEC(1), SEC(60), SEC(3600));

    unit_key_of(k, "release");
    assert_int_equal(claim(st, k, &mine, t0, 0, &got), GOAPI_CLAIM_TAKEN);
    assert_int_equal(st->ops->release(st, k, 10), APR_SUCCESS);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_NOTFOUND);
    /* no record at all any more: gone, not "another request's"; sure */
    assert_int_equal(st->ops->release(st, k, 10), APR_ENOENT);
    done = unit_completed(&mine, SEC(3600), "late\n", unit_pool);
    assert_int_equal(st->ops->complete(st, k, &done), APR_ENOENT);
    assert_int_equal(goapi_store_unsure(st, APR_ENOENT), 0);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_NOTFOUND);
    /* the key runs again */
    assert_int_equal(claim(st, k, &again, t0 + SEC(1), 0, &got), GOAPI_CLAIM_TAKEN);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_claim(&got, &again);
}

/* Completing or releasing another request's claim (a wrong claim_id):
 * APR_NOTFOUND, and the record is left as it was, in flight or completed. */
static void test_someone_elses_claim_is_left_alone(void **state)
{
    goapi_store *st = open_store(state);
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t t0 = apr_time_now();
    goapi_idem_record mine = unit_in_flight(20, t0, SEC(60), SEC(3600)), got, done, theirs;

    unit_key_of(k, "someone-else");
    assert_int_equal(claim(st, k, &mine, t0, 0, &got), GOAPI_CLAIM_TAKEN);
    theirs = unit_completed(&mine, SEC(3600), "not yours\n", unit_pool);
    theirs.claim_id = 21;
    assert_int_equal(st->ops->complete(st, k, &theirs), APR_NOTFOUND);
    assert_int_equal(st->ops->release(st, k, 21), APR_NOTFOUND);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_claim(&got, &mine);

    done = unit_completed(&mine, SEC(3600), "mine\n", unit_pool);
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    assert_int_equal(st->ops->complete(st, k, &theirs), APR_NOTFOUND);
    assert_int_equal(st->ops->release(st, k, 21), APR_NOTFOUND);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_completed(&got, &done);
}

/* No record holds the key: complete and release say APR_ENOENT and make
 * none. */
static void test_no_record_is_enoent(void **state)
{
    goapi_store *st = open_store(state);
    unsigned char k[GOAPI_SHA256_LEN];
    goapi_idem_record mine = unit_in_flight(30, apr_time_now(), SEC(60), SEC(3600)), got, done;

    unit_key_of(k, "never-claimed");
    done = unit_completed(&mine, SEC(3600), "from nowhere\n", unit_pool);
    assert_int_equal(st->ops->complete(st, k, &done), APR_ENOENT);
    assert_int_equal(st->ops->release(st, k, 30), APR_ENOENT);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_NOTFOUND);
}

/* A completion sent again (its first answer lost) is the same record: it
 * succeeds and changes nothing.  A different completion of the same claim
 * finds no claim of ours in flight: a completed record never changes. */
static void test_completing_twice(void **state)
{
    goapi_store *st = open_store(state);
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t t0 = apr_time_now();
    goapi_idem_record mine = unit_in_flight(40, t0, SEC(60), SEC(3600)), got, done, other;

    unit_key_of(k, "twice");
    assert_int_equal(claim(st, k, &mine, t0, 0, &got), GOAPI_CLAIM_TAKEN);
    done = unit_completed(&mine, SEC(3600), "first outcome\n", unit_pool);
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_completed(&got, &done);

    other = unit_completed(&mine, SEC(3600), "second outcome\n", unit_pool);
    assert_int_equal(st->ops->complete(st, k, &other), APR_NOTFOUND);
    other = done;
    other.status = 500;
    assert_int_equal(st->ops->complete(st, k, &other), APR_NOTFOUND);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_completed(&got, &done);
}

/* At most once: a holder that died leaves its key held past the lease, its
 * outcome unknown, until the record's end. */
static void test_lease_end_leaves_the_outcome_unknown(void **state)
{
    goapi_store *st = open_store(state);
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t t0 = apr_time_now();
    goapi_idem_record first = unit_in_flight(50, t0, SEC(60), SEC(3600)), second, got, done;
    apr_size_t removed = 99;

    unit_key_of(k, "lease");
    assert_int_equal(claim(st, k, &first, t0, 0, &got), GOAPI_CLAIM_TAKEN);
    /* within the lease, at its end, after it, and to the last microsecond
     * of the record's life */
    second = unit_in_flight(51, t0 + SEC(59), SEC(60), SEC(3600));
    assert_int_equal(claim(st, k, &second, t0 + SEC(59), 0, &got), GOAPI_CLAIM_HELD);
    assert_claim(&got, &first);
    second = unit_in_flight(51, t0 + SEC(60), SEC(60), SEC(3600));
    assert_int_equal(claim(st, k, &second, t0 + SEC(60), 0, &got), GOAPI_CLAIM_HELD);
    assert_claim(&got, &first);
    second = unit_in_flight(51, t0 + SEC(3600) - 1, SEC(60), SEC(3600));
    assert_int_equal(claim(st, k, &second, t0 + SEC(3600) - 1, 0, &got), GOAPI_CLAIM_HELD);
    assert_claim(&got, &first);
    /* nor does a sweep before its end free it */
    assert_int_equal(st->ops->sweep(st, t0 + SEC(3600) - 1, &removed), APR_SUCCESS);
    assert_int_equal(removed, 0);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_claim(&got, &first);
    /* a holder that was only slow still records its outcome */
    done = unit_completed(&first, SEC(7200), "late but known\n", unit_pool);
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_completed(&got, &done);

    /* an unknown record that reaches its end frees the key */
    unit_key_of(k, "lease-end");
    first = unit_in_flight(52, t0, SEC(60), SEC(3600));
    assert_int_equal(claim(st, k, &first, t0, 0, &got), GOAPI_CLAIM_TAKEN);
    second = unit_in_flight(53, t0 + SEC(3600), SEC(60), SEC(3600));
    assert_int_equal(claim(st, k, &second, t0 + SEC(3600), 0, &got), GOAPI_CLAIM_TAKEN);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_claim(&got, &second);
}

/* GoapiIdempotencyRerunAfterLease: the operator asked for a second run;
 * the first holder, back late, is fenced off. */
static void test_rerun_after_lease_takes_over(void **state)
{
    goapi_store *st = open_store(state);
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t t0 = apr_time_now();
    goapi_idem_record first = unit_in_flight(60, t0, SEC(60), SEC(3600)), second, third, got, done;

    unit_key_of(k, "rerun");
    assert_int_equal(claim(st, k, &first, t0, 0, &got), GOAPI_CLAIM_TAKEN);
    second = unit_in_flight(61, t0 + SEC(60) - 1, SEC(60), SEC(3600));
    assert_int_equal(claim(st, k, &second, t0 + SEC(60) - 1, GOAPI_CLAIM_RERUN_AFTER_LEASE,
                           &got), GOAPI_CLAIM_HELD);
    assert_claim(&got, &first);
    second = unit_in_flight(61, t0 + SEC(60), SEC(60), SEC(3600));
    assert_int_equal(claim(st, k, &second, t0 + SEC(60), GOAPI_CLAIM_RERUN_AFTER_LEASE, &got),
                     GOAPI_CLAIM_TAKEN);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_claim(&got, &second);
    /* the first request comes back late: its completion and its release
     * are refused, and the new claim stays */
    done = unit_completed(&first, SEC(3600), "late\n", unit_pool);
    assert_int_equal(st->ops->complete(st, k, &done), APR_NOTFOUND);
    assert_int_equal(st->ops->release(st, k, 60), APR_NOTFOUND);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_claim(&got, &second);
    /* a completed record is never taken over, whatever the flag */
    done = unit_completed(&second, SEC(3600), "done\n", unit_pool);
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    third = unit_in_flight(62, t0 + SEC(1000), SEC(60), SEC(3600));
    assert_int_equal(claim(st, k, &third, t0 + SEC(1000), GOAPI_CLAIM_RERUN_AFTER_LEASE, &got),
                     GOAPI_CLAIM_HELD);
    assert_completed(&got, &done);
}

/* Past its end nothing is known of a key: a claim replaces the record
 * there, completed or in flight. */
static void test_expired_record_replaced(void **state)
{
    goapi_store *st = open_store(state);
    unsigned char k[GOAPI_SHA256_LEN], k2[GOAPI_SHA256_LEN];
    apr_time_t t0 = apr_time_now();
    goapi_idem_record old = unit_in_flight(70, t0 - SEC(10), SEC(1), SEC(2)), got, done;
    goapi_idem_record mine = unit_in_flight(71, t0, SEC(60), SEC(3600));

    unit_key_of(k, "expired-completed");
    unit_key_of(k2, "expired-in-flight");
    assert_int_equal(claim(st, k, &old, t0 - SEC(10), 0, &got), GOAPI_CLAIM_TAKEN);
    done = unit_completed(&old, SEC(2), "old\n", unit_pool);
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    assert_int_equal(claim(st, k, &mine, t0, 0, &got), GOAPI_CLAIM_TAKEN);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_claim(&got, &mine);

    old.claim_id = 72;
    assert_int_equal(claim(st, k2, &old, t0 - SEC(10), 0, &got), GOAPI_CLAIM_TAKEN);
    mine.claim_id = 73;
    assert_int_equal(claim(st, k2, &mine, t0, 0, &got), GOAPI_CLAIM_TAKEN);
    assert_int_equal(st->ops->lookup(st, k2, &got, unit_pool), APR_SUCCESS);
    assert_claim(&got, &mine);
}

/* 1200 records (more than one batch of any store's sweep): the even ones
 * end a second after they were made, the odd ones live an hour.  A sweep
 * before their end removes nothing; after it, the ended ones are gone (by
 * the sweep, or by the server's own expiry) and the others kept. */
static void test_sweep_removes_expired_records(void **state)
{
    fixture *f = *state;
    goapi_store *st = open_store(state);
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t t0 = apr_time_now(), left;
    goapi_idem_record rec, got;
    apr_size_t removed = 99;
    int i;

    for (i = 0; i < 1200; i++) {
        char name[32];

        snprintf(name, sizeof(name), "sweep-%d", i);
        unit_key_of(k, name);
        rec = unit_in_flight((apr_uint64_t)i + 100, t0, SEC(60), SEC(3600));
        assert_int_equal(claim(st, k, &rec, t0, 0, &got), GOAPI_CLAIM_TAKEN);
        rec = unit_completed(&rec, i % 2 ? SEC(3600) : SEC(1), "x", unit_pool);
        assert_int_equal(st->ops->complete(st, k, &rec), APR_SUCCESS);
    }
    assert_int_equal(st->ops->sweep(st, t0 + SEC(1) - 1, &removed), APR_SUCCESS);
    assert_int_equal(removed, 0);
    left = t0 + SEC(1) + 200000 - apr_time_now();
    if (left > 0) {
        apr_sleep(left);
    }
    assert_int_equal(st->ops->sweep(st, apr_time_now(), &removed), APR_SUCCESS);
    assert_int_equal(removed, f->kind->sweeps ? 600 : 0);
    for (i = 0; i < 1200; i++) {
        char name[32];

        snprintf(name, sizeof(name), "sweep-%d", i);
        unit_key_of(k, name);
        assert_int_equal(st->ops->lookup(st, k, &got, unit_pool),
                         i % 2 ? APR_SUCCESS : APR_NOTFOUND);
    }
}

static void test_counter_survives_reopen(void **state)
{
    fixture *f = *state;
    apr_pool_t *p;
    goapi_store *st;
    apr_uint64_t n = 0;

    assert_int_equal(apr_pool_create(&p, f->p), APR_SUCCESS);
    st = open_in(f, p);
    assert_int_equal(st->ops->next(st, "dispatch", &n), APR_SUCCESS);
    assert_true(n == 1);
    assert_int_equal(st->ops->next(st, "dispatch", &n), APR_SUCCESS);
    assert_true(n == 2);
    assert_int_equal(st->ops->next(st, "other", &n), APR_SUCCESS);
    assert_true(n == 1);
    apr_pool_destroy(p);                /* closes the store */

    st = open_in(f, f->p);
    assert_int_equal(st->ops->next(st, "dispatch", &n), APR_SUCCESS);
    assert_true(n == 3);
    assert_int_equal(st->ops->next(st, "other", &n), APR_SUCCESS);
    assert_true(n == 2);
}

/* ---- threads racing for the same keys -------------------------------------- */

#define RACE_THREADS 16
#define RACE_KEYS 8

typedef struct {
    goapi_store *st;
    int id;
    apr_uint32_t *taken;                /* per key */
    apr_uint32_t *held;
    apr_uint32_t *failed;
} racer;

static void *APR_THREAD_FUNC race(apr_thread_t *t, void *data)
{
    racer *me = data;
    apr_pool_t *p;
    int i;

    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    for (i = 0; i < RACE_KEYS; i++) {
        unsigned char k[GOAPI_SHA256_LEN];
        char name[32];
        apr_time_t now = apr_time_now();
        apr_uint64_t id = 1000 + (apr_uint64_t)(me->id * RACE_KEYS + i);
        goapi_idem_record mine = unit_in_flight(id, now, SEC(60), SEC(3600)), got;
        goapi_claim_result res = GOAPI_CLAIM_HELD;

        snprintf(name, sizeof(name), "race-%d", i);
        unit_key_of(k, name);
        if (me->st->ops->claim(me->st, k, &mine, now, 0, &res, &got, p) != APR_SUCCESS) {
            apr_atomic_inc32(&me->failed[i]);
        }
        else if (res == GOAPI_CLAIM_TAKEN) {
            apr_atomic_inc32(&me->taken[i]);
        }
        else {
            apr_atomic_inc32(&me->held[i]);
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    (void)t;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

/* Threads claiming the same keys at once, as a server's threads do (one
 * store), and, where the ledger is shared, as several servers do (a store
 * each for half of them): exactly one takes each key. */
static void test_threads_race_for_the_same_keys(void **state)
{
    fixture *f = *state;
    goapi_store *one = open_store(state);
    apr_thread_t *threads[RACE_THREADS];
    racer r[RACE_THREADS];
    apr_uint32_t taken[RACE_KEYS], held[RACE_KEYS], failed[RACE_KEYS];
    apr_status_t rv;
    int i;

    memset(taken, 0, sizeof(taken));
    memset(held, 0, sizeof(held));
    memset(failed, 0, sizeof(failed));
    for (i = 0; i < RACE_THREADS; i++) {
        r[i].st = f->kind->shared && i % 2 ? open_store(state) : one;
        r[i].id = i;
        r[i].taken = taken;
        r[i].held = held;
        r[i].failed = failed;
    }
    for (i = 0; i < RACE_THREADS; i++) {
        assert_int_equal(apr_thread_create(&threads[i], NULL, race, &r[i], unit_pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < RACE_THREADS; i++) {
        assert_int_equal(apr_thread_join(&rv, threads[i]), APR_SUCCESS);
    }
    for (i = 0; i < RACE_KEYS; i++) {
        assert_int_equal(apr_atomic_read32(&failed[i]), 0);
        assert_int_equal(apr_atomic_read32(&taken[i]), 1);
        assert_int_equal(apr_atomic_read32(&held[i]), RACE_THREADS - 1);
    }
}

/* ---- setup ------------------------------------------------------------- */

static int group_setup(void **state)
{
    if (unit_setup_dir(state, lmdb_dir, sizeof(lmdb_dir), "goapi-contract") != 0) {
        return -1;
    }
    unit_redis_installed(&redis, "test_goapi_store_contract");
    unit_pg_installed(&pg, "test_goapi_store_contract", unit_pool);
    if (unit_redis_group(&redis, "goapi-contract-redis") != 0
        || unit_pg_group(&pg, "goapi-contract-pg") != 0) {
        return -1;
    }
    kinds[0].usable = 1;
    kinds[1].usable = redis.installed;
    kinds[2].usable = pg.installed;
    return 0;
}

static int group_teardown(void **state)
{
    int rc = unit_redis_down(&redis) | unit_pg_down(&pg);

    return unit_teardown_dir(state, lmdb_dir) | rc;
}

/* A contract test, once per store, named after it. */
#define CONTRACT_ON(t, n) { #t " (" n ")", t, store_setup, store_teardown, NULL }
#define CONTRACT(t) CONTRACT_ON(t, "lmdb"), CONTRACT_ON(t, "redis"), CONTRACT_ON(t, "pg")

int main(void)
{
    struct CMUnitTest tests[] = {
        CONTRACT(test_claim_complete_replay),
        CONTRACT(test_lookup_of_a_missing_key),
        CONTRACT(test_release_lets_the_key_run_again),
        CONTRACT(test_someone_elses_claim_is_left_alone),
        CONTRACT(test_no_record_is_enoent),
        CONTRACT(test_completing_twice),
        CONTRACT(test_lease_end_leaves_the_outcome_unknown),
        CONTRACT(test_rerun_after_lease_takes_over),
        CONTRACT(test_expired_record_replaced),
        CONTRACT(test_sweep_removes_expired_records),
        CONTRACT(test_counter_survives_reopen),
        CONTRACT(test_threads_race_for_the_same_keys),
    };
    size_t i;

    /* each test's state: its store, in the order CONTRACT() names them */
    for (i = 0; i < UNIT_ELEMS(tests); i++) {
        tests[i].initial_state = &kinds[i % UNIT_ELEMS(kinds)];
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
