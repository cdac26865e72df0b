/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * The Redis ledger against a real redis-server (Debian's), started here on
 * a free loopback port in a temp dir and stopped by its pid
 * (unit_services.h), beyond the contract every store keeps (that is
 * test_goapi_store_contract.c): a record under its key with Redis' TTL,
 * which Redis expires itself, round trips per request, scripts the server
 * lost (NOSCRIPT), a connection the server closed, the server down and
 * back, a wrong password (never in an error), and each failure named by
 * its cause: refused, timed out with the claim in doubt (SIGSTOP), a
 * record deleted under its claim, OOM, READONLY, NOAUTH; an orphaned claim
 * released once the server answers again (fenced, and again when a late
 * copy lands); claims and completions acknowledged by a replica (WAIT), a
 * claim released when the replica does not acknowledge it, the replicas
 * counted by ping and probe.  Skipped when redis-server is not installed.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <hiredis/hiredis.h>

#include "unit_services.h"
#include "goapi_store_redis.h"

#define SEC(n) ((apr_time_t)(n) * APR_USEC_PER_SEC)

static unit_redis redis;

/* Round trips: the store sends every command, one round trip each, with
 * redisCommandArgv(), which is interposed here to count them (the store's
 * calls of every thread; the test's own admin() does not use it). */
static volatile apr_uint32_t round_trips;

void *redisCommandArgv(redisContext *c, int argc, const char **argv, const size_t *argvlen)
{
    static void *(*real)(redisContext *, int, const char **, const size_t *);

    if (!real) {
        *(void **)&real = dlsym(RTLD_NEXT, "redisCommandArgv");
    }
    apr_atomic_inc32(&round_trips);
    return real(c, argc, argv, argvlen);
}

/* A raw command on a connection of our own, in the stores' database 3
 * (the test's view of Redis). */
static redisReply *admin(const char *fmt, ...)
{
    redisReply *r;
    va_list ap;

    va_start(ap, fmt);
    r = unit_redis_vcommand(redis.port, 3, fmt, ap);
    va_end(ap);
    return r;
}

/* A store whose writes count once `replicas` replicas acknowledged them. */
static goapi_store *open_store_waiting(apr_interval_time_t timeout, int replicas)
{
    goapi_redis_target t;
    goapi_store *st = NULL;
    const char *url = apr_psprintf(unit_pool, "redis://127.0.0.1:%d/3", redis.port);

    assert_null(goapi_redis_url_parse(unit_pool, url, &t));
    assert_int_equal(goapi_store_redis_open(&st, &t, "goapi-test:", timeout, replicas,
                                            unit_pool),
                     APR_SUCCESS);
    return st;
}

static goapi_store *open_store(apr_interval_time_t timeout)
{
    return open_store_waiting(timeout, 0);
}

/* Redis keeps a record under the prefix, the hashed key in braces, with
 * its TTL; a replay costs one round trip. */
static void test_record_kept_with_its_ttl_and_replayed_in_one_round_trip(void **state)
{
    goapi_store *st = open_store(SEC(1));
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = unit_in_flight(11, now, SEC(60), SEC(3600)), other, got, done;
    goapi_claim_result res = GOAPI_CLAIM_HELD;
    char hex[2 * GOAPI_SHA256_LEN + 1];
    apr_uint32_t before;
    redisReply *r;
    int i;

    (void)state;
    unit_key_of(k, "redis-1");
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    for (i = 0; i < GOAPI_SHA256_LEN; i++) {
        snprintf(hex + 2 * i, 3, "%02x", k[i]);
    }
    r = admin("PTTL goapi-test:{%s}", hex);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_true(r->integer > SEC(3000) / 1000 && r->integer <= SEC(3600) / 1000);
    freeReplyObject(r);

    done = unit_completed(&mine, SEC(3600), "dispatch 1 created\n", unit_pool);
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    other = unit_in_flight(12, now, SEC(60), SEC(3600));
    before = apr_atomic_read32(&round_trips);
    assert_int_equal(st->ops->claim(st, k, &other, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    assert_int_equal(apr_atomic_read32(&round_trips) - before, 1);
    assert_int_equal(res, GOAPI_CLAIM_HELD);
    assert_int_equal(got.state, GOAPI_IDEM_COMPLETED);
    assert_int_equal(got.status, 201);
    assert_memory_equal(got.body, "dispatch 1 created\n", got.body_len);
}

static void test_round_trips_of_a_new_request(void **state)
{
    goapi_store *st = open_store(SEC(1));
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine, got, done;
    goapi_claim_result res;
    apr_uint32_t before;
    int i;

    (void)state;
    for (i = 0; i < 3; i++) {           /* the first ones load the scripts */
        char name[32];

        snprintf(name, sizeof(name), "rt-%d", i);
        unit_key_of(k, name);
        mine = unit_in_flight(100 + (apr_uint64_t)i, now, SEC(60), SEC(3600));
        before = apr_atomic_read32(&round_trips);
        assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool),
                         APR_SUCCESS);
        done = unit_completed(&mine, SEC(3600), "ok\n", unit_pool);
        assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
        if (i == 2) {
            assert_int_equal(apr_atomic_read32(&round_trips) - before, 2);
        }
    }
}

static void test_ttl_by_redis(void **state)
{
    goapi_store *st = open_store(SEC(1));
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = unit_in_flight(31, now, 100000, 300000), got, done;
    goapi_claim_result res;

    (void)state;
    unit_key_of(k, "redis-ttl");
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    done = unit_completed(&mine, 300000, "short\n", unit_pool);
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    usleep(450000);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_NOTFOUND);
}

static void test_lost_scripts_and_closed_connection(void **state)
{
    goapi_store *st = open_store(SEC(1));
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = unit_in_flight(41, now, SEC(60), SEC(3600)), got;
    goapi_claim_result res;
    redisReply *r;

    (void)state;
    unit_key_of(k, "redis-noscript-0");
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    /* the server forgets its scripts: EVAL again */
    freeReplyObject(admin("SCRIPT FLUSH"));
    unit_key_of(k, "redis-noscript-1");
    mine.claim_id = 42;
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    /* the server closes every client: the next command still goes through */
    r = admin("CLIENT KILL TYPE normal");
    freeReplyObject(r);
    unit_key_of(k, "redis-noscript-2");
    mine.claim_id = 43;
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    assert_int_equal(st->ops->ping(st), APR_SUCCESS);
}

static void test_server_down_and_back(void **state)
{
    goapi_store *st = open_store(250000);
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now(), t0;
    goapi_idem_record mine = unit_in_flight(51, now, SEC(60), SEC(3600)), got;
    goapi_claim_result res;
    apr_status_t rv;
    int i;

    (void)state;
    assert_int_equal(st->ops->ping(st), APR_SUCCESS);
    unit_redis_stop(&redis);
    unit_key_of(k, "redis-down");
    t0 = apr_time_now();
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_true(apr_time_now() - t0 < SEC(1));
    assert_non_null(st->ops->error(st, rv));
    assert_non_null(strstr(st->ops->error(st, rv), "connect"));
    /* at once again: no new attempt within the retry window */
    t0 = apr_time_now();
    assert_int_not_equal(st->ops->ping(st), APR_SUCCESS);
    assert_true(apr_time_now() - t0 < 50000);

    assert_int_equal(unit_redis_start(&redis, NULL), 0);
    for (i = 0, rv = APR_EGENERAL; i < 40 && rv != APR_SUCCESS; i++) {
        usleep(100000);
        rv = st->ops->ping(st);
    }
    assert_int_equal(rv, APR_SUCCESS);
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
}

static void test_wrong_password(void **state)
{
    goapi_redis_target t;
    goapi_store *st = NULL;
    const char *url = apr_psprintf(unit_pool, "redis://:not-the-one@127.0.0.1:%d", redis.port);
    goapi_redis_facts facts;
    const char *why;
    apr_status_t rv;

    (void)state;
    unit_redis_stop(&redis);
    assert_int_equal(unit_redis_start(&redis, "the-right-one"), 0);
    assert_null(goapi_redis_url_parse(unit_pool, url, &t));
    assert_int_equal(goapi_store_redis_open(&st, &t, "x:", SEC(1), 0, unit_pool), APR_SUCCESS);
    rv = st->ops->ping(st);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(st->ops->error(st, rv), "authentication failed: AUTH answered "
                                                   "WRONGPASS"));
    assert_int_equal(goapi_store_unsure(st, rv), 0);
    assert_null(strstr(st->ops->error(st, rv), "not-the-one"));
    rv = goapi_store_redis_probe(&t, SEC(1), &facts, &why, unit_pool);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(why, "AUTH"));
    assert_null(strstr(why, "not-the-one"));

    url = apr_psprintf(unit_pool, "redis://:the-right-one@127.0.0.1:%d/1", redis.port);
    assert_null(goapi_redis_url_parse(unit_pool, url, &t));
    assert_int_equal(goapi_store_redis_probe(&t, SEC(1), &facts, &why, unit_pool),
                     APR_SUCCESS);
    assert_string_equal(facts.policy, "noeviction");
    /* started with --appendonly no, and alone */
    assert_string_equal(facts.appendonly, "no");
    assert_int_equal(facts.min_replicas, 0);
    assert_int_equal(facts.replicas, 0);
    unit_redis_stop(&redis);
    assert_int_equal(unit_redis_start(&redis, NULL), 0);
}

/* A store on a port where nothing listens: the connect is refused, named
 * so, and nothing was sent. */
static void test_refused(void **state)
{
    goapi_redis_target t;
    goapi_store *st = NULL;
    const char *url = apr_psprintf(unit_pool, "redis://127.0.0.1:%d", unit_free_port());
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = unit_in_flight(61, now, SEC(60), SEC(3600)), got;
    goapi_claim_result res;
    apr_status_t rv;

    (void)state;
    assert_null(goapi_redis_url_parse(unit_pool, url, &t));
    assert_int_equal(goapi_store_redis_open(&st, &t, "x:", SEC(1), 0, unit_pool), APR_SUCCESS);
    unit_key_of(k, "redis-refused");
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(st->ops->error(st, rv), "connection refused: nothing listens"));
    assert_int_equal(goapi_store_unsure(st, rv), 0);
    /* within the pause after it: the same cause, said to be the last connect's */
    rv = st->ops->ping(st);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(st->ops->error(st, rv), "connection refused: "));
    assert_non_null(strstr(st->ops->error(st, rv), "the last connect"));
}

/* The server stopped (SIGSTOP) with the claim sent: timed out, the
 * command named, and in doubt; once it resumes it applies the claim it
 * had received, which is why the doubt is real. */
static void test_timeout_leaves_the_claim_in_doubt(void **state)
{
    goapi_store *st = open_store(200000);
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now(), t0;
    goapi_idem_record mine = unit_in_flight(71, now, SEC(60), SEC(3600)), got;
    goapi_claim_result res;
    apr_status_t rv;
    int i;

    (void)state;
    assert_int_equal(st->ops->ping(st), APR_SUCCESS);
    unit_key_of(k, "redis-stopped");
    assert_int_equal(kill(redis.pid, SIGSTOP), 0);
    t0 = apr_time_now();
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_equal(kill(redis.pid, SIGCONT), 0);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_true(apr_time_now() - t0 < SEC(2));
    assert_non_null(strstr(st->ops->error(st, rv), "timed out: no answer to "));
    assert_non_null(strstr(st->ops->error(st, rv), " of the claim script within 200 ms"));
    assert_null(strstr(st->ops->error(st, rv), "refused"));
    assert_int_equal(goapi_store_unsure(st, rv), 1);
    /* the resumed server ran it: the key is held by our claim */
    for (i = 0, rv = APR_NOTFOUND; i < 100 && rv != APR_SUCCESS; i++) {
        usleep(20000);      /* past the pause after the failed reconnect */
        rv = st->ops->lookup(st, k, &got, unit_pool);
    }
    assert_int_equal(rv, APR_SUCCESS);
    assert_true(got.claim_id == 71);
    /* an operation that succeeds forgets the doubt */
    assert_int_equal(goapi_store_unsure(st, APR_EGENERAL), 0);
}

/* A record deleted while its claim was held: the completion says it is
 * gone (APR_ENOENT), not that another request holds the key. */
static void test_vanished_record(void **state)
{
    goapi_store *st = open_store(SEC(1));
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = unit_in_flight(81, now, SEC(60), SEC(3600)), got, done;
    goapi_claim_result res;
    char hex[2 * GOAPI_SHA256_LEN + 1];
    redisReply *r;
    int i;

    (void)state;
    unit_key_of(k, "redis-vanished");
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    for (i = 0; i < GOAPI_SHA256_LEN; i++) {
        snprintf(hex + 2 * i, 3, "%02x", k[i]);
    }
    r = admin("DEL goapi-test:{%s}", hex);
    assert_non_null(r);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    done = unit_completed(&mine, SEC(3600), "late\n", unit_pool);
    assert_int_equal(st->ops->complete(st, k, &done), APR_ENOENT);
    assert_int_equal(st->ops->release(st, k, 81), APR_ENOENT);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_NOTFOUND);
}

/* Writes refused by the server: maxmemory (OOM), a replica (READONLY);
 * each named, none in doubt; a replay (a read) still answers. */
static void test_oom_and_readonly(void **state)
{
    goapi_store *st = open_store(SEC(1));
    unsigned char k[GOAPI_SHA256_LEN], old[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = unit_in_flight(91, now, SEC(60), SEC(3600)), got, done;
    goapi_claim_result res;
    apr_status_t rv;

    (void)state;
    unit_key_of(old, "redis-before-refusals");
    assert_int_equal(st->ops->claim(st, old, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    done = unit_completed(&mine, SEC(3600), "kept\n", unit_pool);
    assert_int_equal(st->ops->complete(st, old, &done), APR_SUCCESS);
    unit_key_of(k, "redis-refusals");
    mine.claim_id = 92;

    freeReplyObject(admin("CONFIG SET maxmemory 1"));
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    freeReplyObject(admin("CONFIG SET maxmemory 0"));
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(st->ops->error(st, rv), "out of memory (OOM): "));
    assert_non_null(strstr(st->ops->error(st, rv), " of the claim script answered OOM "));
    assert_int_equal(goapi_store_unsure(st, rv), 0);

    /* a master that cannot be reached: a read-only replica, data kept */
    freeReplyObject(admin("REPLICAOF 127.0.0.1 %d", unit_free_port()));
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(st->ops->error(st, rv), "read-only replica (READONLY): "));
    assert_int_equal(goapi_store_unsure(st, rv), 0);
    assert_int_equal(st->ops->claim(st, old, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_HELD);
    assert_int_equal(got.state, GOAPI_IDEM_COMPLETED);
    freeReplyObject(admin("REPLICAOF NO ONE"));
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
}

/* A server that wants a password the URL does not give: NOAUTH, named as
 * an authentication failure. */
static void test_noauth(void **state)
{
    goapi_redis_target t;
    goapi_store *st = NULL;
    const char *url = apr_psprintf(unit_pool, "redis://127.0.0.1:%d", redis.port);
    apr_status_t rv;

    (void)state;
    unit_redis_stop(&redis);
    assert_int_equal(unit_redis_start(&redis, "the-right-one"), 0);
    assert_null(goapi_redis_url_parse(unit_pool, url, &t));
    assert_int_equal(goapi_store_redis_open(&st, &t, "x:", SEC(1), 0, unit_pool), APR_SUCCESS);
    rv = st->ops->ping(st);
    unit_redis_stop(&redis);
    assert_int_equal(unit_redis_start(&redis, NULL), 0);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(st->ops->error(st, rv), "authentication failed: PING answered "
                                                   "NOAUTH"));
}

/* A claim whose answer never came (SIGSTOP), kept as an orphan: released
 * before the next claim once the server answers, fenced (a key another
 * claim holds is left alone), and settle() finds nothing more to do. */
static void test_orphaned_claim_released(void **state)
{
    goapi_store *st = open_store(200000);
    unsigned char k[GOAPI_SHA256_LEN], k2[GOAPI_SHA256_LEN], k3[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = unit_in_flight(81, now, SEC(60), SEC(3600)), got;
    goapi_idem_record other = unit_in_flight(82, now, SEC(60), SEC(3600));
    goapi_idem_record third = unit_in_flight(83, now, SEC(60), SEC(3600)), stray;
    goapi_claim_result res;
    apr_size_t released, left;
    apr_status_t rv;
    int i;

    (void)state;
    unit_key_of(k, "orphan-1");
    unit_key_of(k2, "orphan-2");
    unit_key_of(k3, "orphan-3");
    assert_int_equal(st->ops->ping(st), APR_SUCCESS);
    assert_int_equal(kill(redis.pid, SIGSTOP), 0);
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_equal(kill(redis.pid, SIGCONT), 0);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_int_equal(goapi_store_unsure(st, rv), 1);
    assert_int_equal(goapi_store_orphan(st, k, &mine), APR_SUCCESS);
    /* the resumed server applied the claim that timed out */
    for (i = 0, rv = APR_NOTFOUND; i < 100 && rv != APR_SUCCESS; i++) {
        usleep(20000);
        rv = st->ops->lookup(st, k, &got, unit_pool);
    }
    assert_int_equal(rv, APR_SUCCESS);
    assert_true(got.claim_id == 81);
    /* the next claim (of another key) releases it first */
    assert_int_equal(st->ops->claim(st, k2, &other, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_NOTFOUND);
    /* a retry takes the key and runs once */
    assert_int_equal(st->ops->claim(st, k, &third, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);

    /* fenced: an orphan whose key another claim holds is left alone, by
     * the claims and by settle() */
    stray = unit_in_flight(99, now, SEC(60), SEC(3600));
    assert_int_equal(goapi_store_orphan(st, k2, &stray), APR_SUCCESS);
    assert_int_equal(st->ops->settle(st, &released, &left), APR_SUCCESS);
    assert_int_equal(released, 0);
    assert_int_equal(st->ops->lookup(st, k2, &got, unit_pool), APR_SUCCESS);
    assert_true(got.claim_id == 82);
    /* both stay watched, for a copy landing late; never past the end of
     * their record */
    assert_int_equal(left, 2);
    stray.expires = mine.expires = apr_time_now();
    assert_int_equal(goapi_store_orphan(st, k2, &stray), APR_SUCCESS);
    assert_int_equal(goapi_store_orphan(st, k, &mine), APR_SUCCESS);
    assert_int_equal(st->ops->settle(st, &released, &left), APR_SUCCESS);
    assert_int_equal(left, 0);
}

/* A copy of an orphaned claim that lands after its release (sent twice:
 * once more on a new connection) is released again when it is looked at
 * next. */
static void test_orphan_landing_late(void **state)
{
    goapi_store *st = open_store(SEC(1));
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = unit_in_flight(91, now, SEC(60), SEC(3600)), got;
    goapi_claim_result res;
    apr_size_t released = 0, left = 0, total = 0;
    int i;

    (void)state;
    unit_key_of(k, "orphan-late");
    assert_int_equal(goapi_store_orphan(st, k, &mine), APR_SUCCESS);
    assert_int_equal(st->ops->settle(st, &released, &left), APR_SUCCESS);
    assert_int_equal(released, 0);              /* nothing landed yet */
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);              /* the late copy */
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    for (i = 0; i < 50 && !total; i++) {
        usleep(20000);
        assert_int_equal(st->ops->settle(st, &released, &left), APR_SUCCESS);
        total += released;
    }
    assert_int_equal(total, 1);
    assert_int_equal(left, 1);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_NOTFOUND);
}

/* The queue is bounded: beyond it, APR_ENOSPC. */
static void test_orphans_bounded(void **state)
{
    goapi_store *st = open_store(SEC(1));
    unsigned char k[GOAPI_SHA256_LEN];
    goapi_idem_record claim = unit_in_flight(0, apr_time_now(), SEC(60), SEC(3600));
    apr_uint64_t id;
    apr_status_t rv = APR_SUCCESS;

    (void)state;
    unit_key_of(k, "orphan-many");
    for (id = 1; id <= 10000 && rv == APR_SUCCESS; id++) {
        claim.claim_id = 5000 + id;
        rv = goapi_store_orphan(st, k, &claim);
    }
    assert_int_equal(rv, APR_ENOSPC);
    assert_true(id > 16 && id < 10000);
    /* the same claim again takes no more room */
    claim.claim_id = 5001;
    assert_int_equal(goapi_store_orphan(st, k, &claim), APR_SUCCESS);
}

static pid_t replica = -1;
static char rdir[64];

/* A replica of the test's server on rport, in rdir. */
static void start_replica(int rport)
{
    char master[16];
    const char *more[] = { "--replicaof", "127.0.0.1", master, NULL };

    snprintf(master, sizeof(master), "%d", redis.port);
    replica = unit_redis_spawn(rdir, rport, more);
    assert_true(replica > 0);
}

/* The replica goes even when its test fails. */
static int stop_replica(void **state)
{
    (void)state;
    unit_stop_pid(&replica, SIGTERM);
    if (rdir[0] && unit_remove_dir(rdir) != 0) {
        return -1;
    }
    rdir[0] = '\0';
    return 0;
}

/* The replicas the master counts online (INFO replication). */
static int replicas_online(void)
{
    redisReply *r = admin("INFO replication");
    const char *at;
    int n = 0;

    assert_non_null(r);
    for (at = r->str; (at = strstr(at, "state=online")) != NULL; at++) {
        n++;
    }
    freeReplyObject(r);
    return n;
}

/* WAIT: with one replica online a claim and its completion count; asking
 * for two, ping says why it is not ready, a claim is refused and released
 * (nothing holds the key, nothing in doubt), and a completion is unsure;
 * a stopped replica acknowledges nothing. */
static void test_replicas_acknowledge(void **state)
{
    int rport = unit_free_port(), i;
    goapi_store *one, *two;
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = unit_in_flight(101, now, SEC(60), SEC(3600)), got, done;
    goapi_idem_record again = unit_in_flight(102, now, SEC(60), SEC(3600));
    goapi_claim_result res;
    apr_status_t rv;

    (void)state;
    assert_int_equal(unit_make_dir(rdir, sizeof(rdir), "goapi-replica"), 0);
    /* the first sync at once, not after Redis' 5 s of waiting for others */
    freeReplyObject(admin("CONFIG SET repl-diskless-sync-delay 0"));
    start_replica(rport);
    for (i = 0; i < 250 && replicas_online() < 1; i++) {
        usleep(20000);
    }
    assert_int_equal(replicas_online(), 1);
    one = open_store_waiting(SEC(1), 1);
    two = open_store_waiting(400000, 2);

    assert_int_equal(one->ops->ping(one), APR_SUCCESS);
    rv = two->ops->ping(two);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(two->ops->error(two, rv), "too few replicas: 1 replica(s) "
                                                     "online, 2 needed"));

    unit_key_of(k, "replicated");
    rv = two->ops->claim(two, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_not_equal(rv, APR_SUCCESS);
    /* one, or none when the replica has not caught up yet */
    assert_non_null(strstr(two->ops->error(two, rv), "too few replicas: "));
    assert_non_null(strstr(two->ops->error(two, rv), " of 2 replica(s) acknowledged the "
                                                     "claim within 300 ms"));
    assert_non_null(strstr(two->ops->error(two, rv), "the claim was released"));
    assert_int_equal(goapi_store_unsure(two, rv), 0);
    assert_int_equal(one->ops->lookup(one, k, &got, unit_pool), APR_NOTFOUND);

    assert_int_equal(one->ops->claim(one, k, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    done = unit_completed(&mine, SEC(3600), "acknowledged\n", unit_pool);
    rv = two->ops->complete(two, k, &done);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_int_equal(goapi_store_unsure(two, rv), 1);
    assert_non_null(strstr(two->ops->error(two, rv), "acknowledged the completion"));
    /* the master has it; asked again, one replica acknowledges it */
    assert_int_equal(one->ops->complete(one, k, &done), APR_SUCCESS);
    assert_int_equal(one->ops->lookup(one, k, &got, unit_pool), APR_SUCCESS);
    assert_int_equal(got.state, GOAPI_IDEM_COMPLETED);

    /* a stopped replica acknowledges nothing: the claim is released */
    unit_key_of(k, "replica-stopped");
    assert_int_equal(kill(replica, SIGSTOP), 0);
    rv = one->ops->claim(one, k, &again, now, 0, &res, &got, unit_pool);
    assert_int_equal(kill(replica, SIGCONT), 0);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(one->ops->error(one, rv), "0 of 1 replica(s)"));
    assert_int_equal(one->ops->lookup(one, k, &got, unit_pool), APR_NOTFOUND);
}

static int group_setup(void **state)
{
    if (unit_setup(state) != 0) {
        return -1;
    }
    return unit_redis_group(&redis, "goapi-redis");
}

static int group_teardown(void **state)
{
    return unit_redis_down(&redis) == 0 ? unit_teardown(state) : -1;
}

int main(void)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_kept_with_its_ttl_and_replayed_in_one_round_trip),
        cmocka_unit_test(test_round_trips_of_a_new_request),
        cmocka_unit_test(test_ttl_by_redis),
        cmocka_unit_test(test_lost_scripts_and_closed_connection),
        cmocka_unit_test(test_server_down_and_back),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_timeout_leaves_the_claim_in_doubt),
        cmocka_unit_test(test_vanished_record),
        cmocka_unit_test(test_oom_and_readonly),
        cmocka_unit_test(test_noauth),
        cmocka_unit_test(test_orphaned_claim_released),
        cmocka_unit_test(test_orphan_landing_late),
        cmocka_unit_test(test_orphans_bounded),
        cmocka_unit_test_teardown(test_replicas_acknowledge, stop_replica),
    };

    unit_skip_unless(tests, UNIT_ELEMS(tests),
                     unit_redis_installed(&redis, "test_goapi_store_redis"));
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
