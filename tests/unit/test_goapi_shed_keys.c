/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Requests in flight per key: the limit per key, keys apart, slots given
 * back, a full table admitting uncounted (and counting that), the secret
 * deciding the hash, and threads racing on one key never above its limit.
 */
#include <pthread.h>
#include <string.h>

#include <apr_atomic.h>

#include "unit.h"
#include "goapi_shed_keys.h"

static goapi_shed_keys table;
static const unsigned char secret[GOAPI_SHED_KEY_SECRET] = "0123456789abcdef";

static apr_uint64_t h_of(const char *key)
{
    return goapi_shed_keys_hash(&table, key, strlen(key));
}

static void test_limit_per_key(void **state)
{
    volatile apr_uint64_t *held[3], *s;
    apr_uint64_t a, b;
    int i;

    (void)state;
    goapi_shed_keys_init(&table, 2, GOAPI_SHED_KEY_SLOTS, secret);
    a = h_of("10.0.0.1");
    b = h_of("10.0.0.2");
    assert_true(a != b);
    for (i = 0; i < 2; i++) {
        assert_int_equal(goapi_shed_keys_enter(&table, a, &held[i]), GOAPI_SHED_KEY_TAKEN);
    }
    assert_int_equal(goapi_shed_keys_enter(&table, a, &s), GOAPI_SHED_KEY_FULL);
    assert_int_equal(goapi_shed_keys_count(&table, a), 2);
    /* another key is not held back by it */
    assert_int_equal(goapi_shed_keys_enter(&table, b, &held[2]), GOAPI_SHED_KEY_TAKEN);
    /* a place given back is taken again */
    goapi_shed_keys_leave(held[0]);
    assert_int_equal(goapi_shed_keys_enter(&table, a, &held[0]), GOAPI_SHED_KEY_TAKEN);
    for (i = 0; i < 3; i++) {
        goapi_shed_keys_leave(held[i]);
    }
    assert_int_equal(goapi_shed_keys_count(&table, a), 0);
    assert_int_equal(goapi_shed_keys_count(&table, b), 0);
    goapi_shed_keys_leave(NULL);        /* an overflow's nothing to give back */
}

static void test_secret_decides_the_hash(void **state)
{
    goapi_shed_keys other;
    const unsigned char secret2[GOAPI_SHED_KEY_SECRET] = "fedcba9876543210";

    (void)state;
    goapi_shed_keys_init(&table, 1, GOAPI_SHED_KEY_SLOTS, secret);
    goapi_shed_keys_init(&other, 1, GOAPI_SHED_KEY_SLOTS, secret2);
    assert_true(goapi_shed_keys_hash(&table, "k", 1) != goapi_shed_keys_hash(&other, "k", 1));
    assert_true(goapi_shed_keys_hash(&table, "k", 1) == goapi_shed_keys_hash(&table, "k", 1));
}

/* Keys whose probes all fall on the same slots (hashes chosen so): the
 * ninth is admitted uncounted, and counted as an overflow. */
static void test_full_table_admits_uncounted(void **state)
{
    volatile apr_uint64_t *held[GOAPI_SHED_KEY_PROBES + 1];
    int i;

    (void)state;
    goapi_shed_keys_init(&table, 1, GOAPI_SHED_KEY_SLOTS, secret);
    for (i = 0; i < GOAPI_SHED_KEY_PROBES; i++) {
        apr_uint64_t h = ((apr_uint64_t)(100 + i) << 32) | 7;

        assert_int_equal(goapi_shed_keys_enter(&table, h, &held[i]), GOAPI_SHED_KEY_TAKEN);
    }
    assert_int_equal(goapi_shed_keys_enter(&table, ((apr_uint64_t)999 << 32) | 7,
                                           &held[GOAPI_SHED_KEY_PROBES]),
                     GOAPI_SHED_KEY_OVERFLOW);
    assert_null((void *)held[GOAPI_SHED_KEY_PROBES]);
    assert_int_equal(apr_atomic_read32(&table.overflow), 1);
    /* the keys in the table are still limited */
    assert_int_equal(goapi_shed_keys_enter(&table, ((apr_uint64_t)100 << 32) | 7, &held[0]),
                     GOAPI_SHED_KEY_FULL);
    /* once one leaves, the newcomer gets its slot */
    goapi_shed_keys_leave(held[3]);
    assert_int_equal(goapi_shed_keys_enter(&table, ((apr_uint64_t)999 << 32) | 7, &held[3]),
                     GOAPI_SHED_KEY_TAKEN);
    for (i = 0; i < GOAPI_SHED_KEY_PROBES; i++) {
        goapi_shed_keys_leave(held[i]);
    }
}

/* 100 000 distinct keys one after the other: each gets a slot, and
 * every slot is free again after. */
static void test_many_keys_come_and_go(void **state)
{
    char key[32];
    int i, used = 0;

    (void)state;
    goapi_shed_keys_init(&table, 1, GOAPI_SHED_KEY_SLOTS, secret);
    for (i = 0; i < 100000; i++) {
        volatile apr_uint64_t *s;

        snprintf(key, sizeof(key), "198.51.%d.%d", i / 256, i % 256);
        assert_int_equal(goapi_shed_keys_enter(&table, h_of(key), &s), GOAPI_SHED_KEY_TAKEN);
        goapi_shed_keys_leave(s);
    }
    for (i = 0; i < GOAPI_SHED_KEY_SLOTS; i++) {
        used += (table.slot[i] & 0xffffffffu) != 0;
    }
    assert_int_equal(used, 0);
    assert_int_equal(apr_atomic_read32(&table.overflow), 0);
}

/* A small table (GoapiMaxInFlightPer ... slots=16) under many keys in
 * flight at once: past 16 keys every newcomer overflows, counted, nothing
 * written outside the 16 slots; when they leave, all is free again. */
static void test_small_table_overflows(void **state)
{
    volatile apr_uint64_t *held[64];
    char key[32];
    int i, taken = 0, over = 0;

    (void)state;
    goapi_shed_keys_init(&table, 2, 16, secret);
    assert_int_equal(table.nslots, 16);
    for (i = 0; i < 64; i++) {
        goapi_shed_key_result r;

        snprintf(key, sizeof(key), "tenant-%d", i);
        r = goapi_shed_keys_enter(&table, h_of(key), &held[i]);
        assert_true(r == GOAPI_SHED_KEY_TAKEN || r == GOAPI_SHED_KEY_OVERFLOW);
        taken += r == GOAPI_SHED_KEY_TAKEN;
        over += r == GOAPI_SHED_KEY_OVERFLOW;
        if (r == GOAPI_SHED_KEY_OVERFLOW) {
            assert_null((void *)held[i]);
        }
    }
    /* a key looks at 8 of the 16 from its own: most are taken */
    assert_true(taken >= 12 && taken <= 16);
    assert_int_equal(over, 64 - taken);
    assert_int_equal(apr_atomic_read32(&table.overflow), (apr_uint32_t)over);
    for (i = 16; i < GOAPI_SHED_KEY_SLOTS; i++) {
        assert_true(table.slot[i] == 0);
    }
    for (i = 0; i < 64; i++) {
        goapi_shed_keys_leave(held[i]);
    }
    for (i = 0; i < 16; i++) {
        assert_int_equal(table.slot[i] & 0xffffffffu, 0);
    }
    /* out of range: the whole table */
    goapi_shed_keys_init(&table, 2, 3, secret);
    assert_int_equal(table.nslots, GOAPI_SHED_KEY_SLOTS);
}

#define RACERS 8
#define ROUNDS 20000
#define LIMIT  3

static volatile apr_uint32_t inside, worst;

static void *racer(void *arg)
{
    apr_uint64_t h = *(apr_uint64_t *)arg;
    int i;

    for (i = 0; i < ROUNDS; i++) {
        volatile apr_uint64_t *s;

        if (goapi_shed_keys_enter(&table, h, &s) == GOAPI_SHED_KEY_TAKEN) {
            apr_uint32_t now = apr_atomic_inc32(&inside) + 1, seen;

            while ((seen = apr_atomic_read32(&worst)) < now
                   && apr_atomic_cas32(&worst, now, seen) != seen)
                ;
            apr_atomic_dec32(&inside);
            goapi_shed_keys_leave(s);
        }
    }
    return NULL;
}

static void test_threads_never_above_the_limit(void **state)
{
    pthread_t t[RACERS];
    apr_uint64_t h;
    int i;

    (void)state;
    goapi_shed_keys_init(&table, LIMIT, GOAPI_SHED_KEY_SLOTS, secret);
    h = h_of("one tenant");
    for (i = 0; i < RACERS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, racer, &h), 0);
    }
    for (i = 0; i < RACERS; i++) {
        pthread_join(t[i], NULL);
    }
    assert_true(worst >= 1 && worst <= LIMIT);
    assert_int_equal(goapi_shed_keys_count(&table, h), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_per_key),
        cmocka_unit_test(test_secret_decides_the_hash),
        cmocka_unit_test(test_full_table_admits_uncounted),
        cmocka_unit_test(test_many_keys_come_and_go),
        cmocka_unit_test(test_small_table_overflows),
        cmocka_unit_test(test_threads_never_above_the_limit),
    };

    return cmocka_run_group_tests_name("goapi_shed_keys", tests, unit_setup, unit_teardown);
}
