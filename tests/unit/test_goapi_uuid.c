/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * UUIDv7: RFC 9562 layout, ordering, uniqueness across threads and seeds.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_thread_proc.h>

#include "unit.h"
#include "goapi_uuid.h"

static unsigned hexval(char c)
{
    return (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
}

/* The 16 bytes a canonical UUID string stands for. */
static void uuid_bytes(const char *s, unsigned char b[16])
{
    int i = 0;

    while (*s && i < 16) {
        if (*s == '-') {
            s++;
            continue;
        }
        b[i++] = (unsigned char)(hexval(s[0]) << 4 | hexval(s[1]));
        s += 2;
    }
}

/* The low 64 bits: variant, counter, node. */
static apr_uint64_t uuid_lo(const unsigned char b[16])
{
    apr_uint64_t lo = 0;
    int i;

    for (i = 8; i < 16; i++) {
        lo = lo << 8 | b[i];
    }
    return lo;
}

static void test_layout(void **state)
{
    static const unsigned char seed[8] = { 0, 0, 0, 5, 0x3f, 0xff, 0xff, 0xff };
    goapi_uuid_gen g;
    char id[GOAPI_UUID_LEN + 1];
    unsigned char b[16] = { 0 };    /* defined even if id came out short */
    /* 2024-06-01T12:34:56.789123Z */
    apr_time_t t = APR_INT64_C(1717245296789123);
    apr_uint64_t ms = 0;
    int i;

    (void)state;
    goapi_uuid_seed(&g, seed);
    goapi_uuid_v7(&g, t, id);
    assert_int_equal(strlen(id), GOAPI_UUID_LEN);
    assert_true(goapi_uuid_is_v7(id));
    uuid_bytes(id, b);

    for (i = 0; i < 6; i++) {
        ms = ms << 8 | b[i];
    }
    assert_true(ms == APR_UINT64_C(1717245296789));      /* unix_ts_ms */
    assert_int_equal(b[6] >> 4, 7);                       /* ver */
    /* rand_a: 123 us of the millisecond in 1/4096 steps */
    assert_int_equal(((b[6] & 0x0f) << 8) | b[7], 123 * 4096 / 1000);
    assert_int_equal(b[8] >> 6, 2);                       /* var = 10 */
    /* counter 5 at bits 61..30, node 0x3fffffff at bits 29..0 */
    assert_true(((uuid_lo(b) >> 30) & 0xffffffffu) == 5);
    assert_true((uuid_lo(b) & 0x3fffffffu) == 0x3fffffffu);
    /* and the next ID carries counter 6 */
    goapi_uuid_v7(&g, t, id);
    uuid_bytes(id, b);
    assert_true(((uuid_lo(b) >> 30) & 0xffffffffu) == 6);
}

static void test_lowercase_canonical(void **state)
{
    goapi_uuid_gen g;
    char id[GOAPI_UUID_LEN + 1];
    int i, k;

    (void)state;
    assert_int_equal(goapi_uuid_seed_random(&g, apr_time_now(), 1), APR_SUCCESS);
    for (k = 0; k < 1000; k++) {
        goapi_uuid_v7(&g, apr_time_now(), id);
        for (i = 0; i < GOAPI_UUID_LEN; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23) {
                assert_int_equal(id[i], '-');
            }
            else {
                assert_non_null(strchr("0123456789abcdef", id[i]));
            }
        }
        assert_true(goapi_uuid_is_v7(id));
    }
}

static void test_is_v7_rejects(void **state)
{
    (void)state;
    assert_true(goapi_uuid_is_v7("01900000-0000-7000-8000-000000000000"));
    assert_false(goapi_uuid_is_v7("01900000-0000-4000-8000-000000000000")); /* v4 */
    assert_false(goapi_uuid_is_v7("01900000-0000-7000-c000-000000000000")); /* variant */
    assert_false(goapi_uuid_is_v7("01900000-0000-7000-8000-00000000000A")); /* upper */
    assert_false(goapi_uuid_is_v7("01900000-0000-7000-8000-0000000000"));   /* short */
    assert_false(goapi_uuid_is_v7("01900000-0000-7000-8000-0000000000000")); /* long */
    assert_false(goapi_uuid_is_v7("019000000000-7000-8000-0000000000000"));
    assert_false(goapi_uuid_is_v7(""));
}

static void test_ordering_same_time(void **state)
{
    goapi_uuid_gen g;
    char prev[GOAPI_UUID_LEN + 1], id[GOAPI_UUID_LEN + 1];
    /* counter from 0: ordering holds until the counter wraps */
    static const unsigned char seed[8] = { 0, 0, 0, 0, 1, 2, 3, 4 };
    apr_time_t t = APR_INT64_C(1717245296789000);
    int i;

    (void)state;
    goapi_uuid_seed(&g, seed);
    goapi_uuid_v7(&g, t, prev);
    for (i = 0; i < 10000; i++) {
        goapi_uuid_v7(&g, t, id);
        assert_true(strcmp(prev, id) < 0);
        memcpy(prev, id, sizeof(id));
    }
}

static void test_ordering_time_dominates(void **state)
{
    goapi_uuid_gen g;
    char a[GOAPI_UUID_LEN + 1], b[GOAPI_UUID_LEN + 1];
    /* counter about to wrap: a later microsecond must still sort later */
    static const unsigned char seed[8] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1 };
    apr_time_t t = APR_INT64_C(1717245296789000);
    int i;

    (void)state;
    goapi_uuid_seed(&g, seed);
    for (i = 0; i < 2000; i++) {
        goapi_uuid_v7(&g, t + i * 250, a);
        goapi_uuid_v7(&g, t + i * 250 + 250, b);
        assert_true(strcmp(a, b) < 0);
    }
    /* a later millisecond sorts later whatever the counter */
    goapi_uuid_v7(&g, t + 1000, a);
    goapi_uuid_seed(&g, seed);
    goapi_uuid_v7(&g, t + 2000, b);
    assert_true(strcmp(a, b) < 0);
}

static void test_negative_time_clamped(void **state)
{
    goapi_uuid_gen g;
    char id[GOAPI_UUID_LEN + 1];

    (void)state;
    assert_int_equal(goapi_uuid_seed_random(&g, apr_time_now(), 1), APR_SUCCESS);
    goapi_uuid_v7(&g, -5, id);
    assert_true(goapi_uuid_is_v7(id));
    assert_memory_equal(id, "00000000-0000-7", 15);
}

#define THREADS 8
#define PER_THREAD 20000

typedef struct {
    goapi_uuid_gen *g;
    char *out;                  /* PER_THREAD ids, 37 bytes each */
} worker;

static void *APR_THREAD_FUNC uuid_worker(apr_thread_t *t, void *data)
{
    worker *w = data;
    int i;

    for (i = 0; i < PER_THREAD; i++) {
        goapi_uuid_v7(w->g, apr_time_now(), w->out + i * (GOAPI_UUID_LEN + 1));
    }
    (void)t;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, GOAPI_UUID_LEN);
}

static void test_unique_across_threads(void **state)
{
    goapi_uuid_gen g;
    apr_thread_t *th[THREADS];
    worker w[THREADS];
    char *all = malloc((size_t)THREADS * PER_THREAD * (GOAPI_UUID_LEN + 1));
    apr_size_t i, n = (apr_size_t)THREADS * PER_THREAD;
    apr_status_t rv;

    (void)state;
    assert_non_null(all);
    assert_int_equal(goapi_uuid_seed_random(&g, apr_time_now(), 1), APR_SUCCESS);
    for (i = 0; i < THREADS; i++) {
        w[i].g = &g;
        w[i].out = all + i * PER_THREAD * (GOAPI_UUID_LEN + 1);
        assert_int_equal(apr_thread_create(&th[i], NULL, uuid_worker, &w[i],
                                           unit_pool), APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        apr_thread_join(&rv, th[i]);
    }
    qsort(all, n, GOAPI_UUID_LEN + 1, cmp_id);
    for (i = 1; i < n; i++) {
        if (cmp_id(all + (i - 1) * (GOAPI_UUID_LEN + 1),
                   all + i * (GOAPI_UUID_LEN + 1)) == 0) {
            fail_msg("duplicate id %s", all + i * (GOAPI_UUID_LEN + 1));
        }
    }
    free(all);
}

static void test_unique_across_generators(void **state)
{
    /* Two processes are two generators seeded apart; same instant. */
    goapi_uuid_gen a, b;
    char ia[GOAPI_UUID_LEN + 1], ib[GOAPI_UUID_LEN + 1];
    apr_time_t t = apr_time_now();
    int i;

    (void)state;
    assert_int_equal(goapi_uuid_seed_random(&a, apr_time_now(), 1), APR_SUCCESS);
    assert_int_equal(goapi_uuid_seed_random(&b, apr_time_now(), 1), APR_SUCCESS);
    assert_true(a.node != b.node || a.counter != b.counter);
    for (i = 0; i < 1000; i++) {
        goapi_uuid_v7(&a, t, ia);
        goapi_uuid_v7(&b, t, ib);
        assert_string_not_equal(ia, ib);
    }
}

static void test_weak_seed_separates_processes(void **state)
{
    /* Same instant, different pids: different nodes, so different IDs. */
    goapi_uuid_gen a, b;
    char ia[GOAPI_UUID_LEN + 1], ib[GOAPI_UUID_LEN + 1];
    apr_time_t t = APR_INT64_C(1717245296789123);

    (void)state;
    goapi_uuid_seed_weak(&a, t, 4242);
    goapi_uuid_seed_weak(&b, t, 4243);
    assert_int_equal(a.node & 0x3fffff, 4242);
    assert_int_equal(b.node & 0x3fffff, 4243);
    assert_true(a.node < (1u << 30) && b.node < (1u << 30));
    goapi_uuid_v7(&a, t, ia);
    goapi_uuid_v7(&b, t, ib);
    assert_string_not_equal(ia, ib);
    assert_true(goapi_uuid_is_v7(ia));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_lowercase_canonical),
        cmocka_unit_test(test_is_v7_rejects),
        cmocka_unit_test(test_ordering_same_time),
        cmocka_unit_test(test_ordering_time_dominates),
        cmocka_unit_test(test_negative_time_clamped),
        cmocka_unit_test(test_unique_across_threads),
        cmocka_unit_test(test_unique_across_generators),
        cmocka_unit_test(test_weak_seed_separates_processes),
    };

    return cmocka_run_group_tests_name("goapi_uuid", tests, unit_setup, unit_teardown);
}
