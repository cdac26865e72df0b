/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * The replay cache: completed records only, until exactly their end, the
 * least recently used going first when the bytes run out, a key replaced,
 * a record larger than the cache refused, and threads sharing it.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "unit.h"
#include "goapi_replay_cache.h"

static void key_of(unsigned char k[GOAPI_SHA256_LEN], int i)
{
    goapi_idem_ledger_key(k, "scope", apr_itoa(unit_pool, i));
}

static goapi_idem_record done(int i, apr_time_t expires, apr_size_t body_len)
{
    goapi_idem_record r;
    char *body = apr_palloc(unit_pool, body_len + 1);

    memset(&r, 0, sizeof(r));
    r.state = GOAPI_IDEM_COMPLETED;
    r.flags = GOAPI_IDEM_F_REPLAYABLE;
    r.claim_id = (apr_uint64_t)i;
    r.status = 201;
    r.expires = expires;
    memset(r.fingerprint, i, sizeof(r.fingerprint));
    memset(body, 'a' + i % 26, body_len);
    body[body_len] = '\0';
    r.body = body;
    r.body_len = body_len;
    return r;
}

static void test_off(void **state)
{
    unsigned char k[GOAPI_SHA256_LEN];
    goapi_idem_record r = done(1, 100, 10), got;
    apr_size_t n, b;

    (void)state;
    assert_null(goapi_replay_cache_create(0, unit_pool));
    key_of(k, 1);
    goapi_replay_cache_put(NULL, k, &r);
    assert_false(goapi_replay_cache_get(NULL, k, 0, &got, unit_pool));
    goapi_replay_cache_size(NULL, &n, &b);
    assert_int_equal(n + b, 0);
}

static void test_completed_until_their_end(void **state)
{
    goapi_replay_cache *c = goapi_replay_cache_create(1 << 20, unit_pool);
    unsigned char k[GOAPI_SHA256_LEN];
    goapi_idem_record r = done(7, 1000, 42), got;
    apr_size_t n, b;

    (void)state;
    key_of(k, 7);
    assert_false(goapi_replay_cache_get(c, k, 0, &got, unit_pool));
    goapi_replay_cache_put(c, k, &r);
    assert_true(goapi_replay_cache_get(c, k, 999, &got, unit_pool));
    assert_int_equal(got.status, 201);
    assert_true(got.claim_id == 7);
    assert_int_equal(got.body_len, 42);
    assert_memory_equal(got.body, r.body, 42);
    assert_memory_equal(got.fingerprint, r.fingerprint, GOAPI_SHA256_LEN);
    /* at its end it is gone, and dropped */
    assert_false(goapi_replay_cache_get(c, k, 1000, &got, unit_pool));
    goapi_replay_cache_size(c, &n, &b);
    assert_int_equal(n, 0);
    assert_int_equal(b, 0);

    /* an in-flight record is never kept: it may still change */
    r.state = GOAPI_IDEM_IN_FLIGHT;
    r.status = 0;
    r.body_len = 0;
    goapi_replay_cache_put(c, k, &r);
    assert_false(goapi_replay_cache_get(c, k, 0, &got, unit_pool));
}

static void test_least_recently_used_go_first(void **state)
{
    goapi_replay_cache *c;
    unsigned char k[GOAPI_SHA256_LEN];
    goapi_idem_record r = done(0, 1000, 1000), got;
    apr_size_t one = goapi_idem_encoded_size(&r), n, b;
    int i;

    (void)state;
    c = goapi_replay_cache_create(3 * one, unit_pool);
    for (i = 0; i < 3; i++) {
        r = done(i, 1000, 1000);
        key_of(k, i);
        goapi_replay_cache_put(c, k, &r);
    }
    key_of(k, 0);
    assert_true(goapi_replay_cache_get(c, k, 0, &got, unit_pool));     /* 0 is used */
    r = done(3, 1000, 1000);
    key_of(k, 3);
    goapi_replay_cache_put(c, k, &r);                                   /* 1 goes */
    goapi_replay_cache_size(c, &n, &b);
    assert_int_equal(n, 3);
    assert_int_equal(b, 3 * one);
    for (i = 0; i < 4; i++) {
        key_of(k, i);
        assert_int_equal(goapi_replay_cache_get(c, k, 0, &got, unit_pool), i != 1);
    }
    /* the same key again replaces it */
    r = done(9, 1000, 1000);
    key_of(k, 2);
    goapi_replay_cache_put(c, k, &r);
    assert_true(goapi_replay_cache_get(c, k, 0, &got, unit_pool));
    assert_true(got.claim_id == 9);
    goapi_replay_cache_size(c, &n, &b);
    assert_int_equal(n, 3);
    /* one larger than the whole cache is not kept, and drops nothing */
    r = done(10, 1000, 4 * one);
    key_of(k, 10);
    goapi_replay_cache_put(c, k, &r);
    assert_false(goapi_replay_cache_get(c, k, 0, &got, unit_pool));
    goapi_replay_cache_size(c, &n, &b);
    assert_int_equal(n, 3);
}

typedef struct {
    goapi_replay_cache *c;
    int seed;
    int bad;
} worker;

static void *APR_THREAD_FUNC churn(apr_thread_t *t, void *data)
{
    worker *w = data;
    apr_pool_t *p;
    int i;

    (void)t;
    apr_pool_create(&p, NULL);
    for (i = 0; i < 2000; i++) {
        unsigned char k[GOAPI_SHA256_LEN];
        goapi_idem_record r, got;
        int id = (w->seed * 7919 + i) % 200;

        memset(k, 0, sizeof(k));
        k[0] = (unsigned char)id;
        k[1] = (unsigned char)(id >> 8);
        if (i % 3) {
            if (goapi_replay_cache_get(w->c, k, 0, &got, p) && got.claim_id != (apr_uint64_t)id) {
                w->bad++;
            }
        }
        else {
            memset(&r, 0, sizeof(r));
            r.state = GOAPI_IDEM_COMPLETED;
            r.status = 200;
            r.claim_id = (apr_uint64_t)id;
            r.expires = 10;
            r.body = "x";
            r.body_len = 1;
            goapi_replay_cache_put(w->c, k, &r);
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

static void test_threads(void **state)
{
    goapi_replay_cache *c = goapi_replay_cache_create(50 * 90, unit_pool);
    apr_thread_t *t[8];
    worker w[8];
    apr_status_t rv;
    apr_size_t n, b;
    int i;

    (void)state;
    for (i = 0; i < 8; i++) {
        w[i].c = c;
        w[i].seed = i;
        w[i].bad = 0;
        assert_int_equal(apr_thread_create(&t[i], NULL, churn, &w[i], unit_pool), APR_SUCCESS);
    }
    for (i = 0; i < 8; i++) {
        apr_thread_join(&rv, t[i]);
        assert_int_equal(w[i].bad, 0);
    }
    goapi_replay_cache_size(c, &n, &b);
    assert_true(b <= 50 * 90);
    assert_true(n > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off),
        cmocka_unit_test(test_completed_until_their_end),
        cmocka_unit_test(test_least_recently_used_go_first),
        cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
