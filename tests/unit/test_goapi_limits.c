/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Deadlines and limits: defaults, merging, the production checklist.
 */
#include <string.h>

#include "unit.h"
#include "goapi_limits.h"

#define S(n) ((apr_interval_time_t)(n) * APR_USEC_PER_SEC)

static apr_array_header_t *review(goapi_limits *l, int serves)
{
    apr_array_header_t *out = apr_array_make(unit_pool, 4, sizeof(const char *));
    unsigned set = goapi_limits_resolve(l);

    goapi_limits_review(unit_pool, l, set, serves, out);
    return out;
}

static const char *finding(apr_array_header_t *a, int i)
{
    return APR_ARRAY_IDX(a, i, const char *);
}

static void test_defaults(void **state)
{
    goapi_limits l;
    unsigned set;

    (void)state;
    goapi_limits_init(&l);
    set = goapi_limits_resolve(&l);
    assert_int_equal(set, 0);
    assert_true(l.read == 0 && l.read_header == 0 && l.write == 0 && l.idle == 0);
    assert_true(l.shutdown == S(3));
    assert_true(l.max_header_bytes == 1048576);

    goapi_limits_init(&l);
    l.read = S(5);
    set = goapi_limits_resolve(&l);
    assert_int_equal(set, GOAPI_LIMIT_READ);
    assert_true(l.read_header == S(5));         /* follows GoapiReadTimeout */
}

static void test_merge(void **state)
{
    goapi_limits base, add, out;

    (void)state;
    goapi_limits_init(&base);
    goapi_limits_init(&add);
    base.read = S(5);
    base.write = S(10);
    add.write = 0;                              /* explicitly disabled in the vhost */
    add.idle = S(60);
    goapi_limits_merge(&out, &base, &add);
    assert_true(out.read == S(5));
    assert_true(out.write == 0);
    assert_true(out.idle == S(60));
    assert_true(out.read_header == -1 && out.shutdown == -1 && out.max_header_bytes == -1);
}

static void test_seed_values_pass(void **state)
{
    goapi_limits l;

    (void)state;
    goapi_limits_init(&l);
    l.read = S(5);
    l.write = S(10);
    l.idle = S(60);
    l.shutdown = S(3);
    assert_int_equal(review(&l, 1)->nelts, 0);
}

static void test_missing_deadlines(void **state)
{
    goapi_limits l;
    apr_array_header_t *f;

    (void)state;
    goapi_limits_init(&l);
    f = review(&l, 1);
    assert_int_equal(f->nelts, 1);
    assert_string_equal(finding(f, 0),
                        "serves SetHandler goapi without GoapiReadTimeout, "
                        "GoapiWriteTimeout, GoapiIdleTimeout: every connection needs "
                        "read, write and idle deadlines");

    goapi_limits_init(&l);
    l.read = S(5);
    l.idle = 0;                                 /* explicitly off counts as missing */
    l.write = S(10);
    f = review(&l, 1);
    assert_int_equal(f->nelts, 1);
    assert_non_null(strstr(finding(f, 0), "without GoapiIdleTimeout:"));

    /* a server that does not serve goapi is not asked for deadlines */
    goapi_limits_init(&l);
    assert_int_equal(review(&l, 0)->nelts, 0);
}

static void test_contradictions(void **state)
{
    goapi_limits l;
    apr_array_header_t *f;

    (void)state;
    goapi_limits_init(&l);
    l.read = S(5);
    l.read_header = S(10);
    l.write = S(2);
    l.idle = S(60);
    f = review(&l, 1);
    assert_int_equal(f->nelts, 2);
    assert_string_equal(finding(f, 0),
                        "GoapiReadHeaderTimeout 10s is longer than GoapiReadTimeout 5s: "
                        "the whole-request deadline always fires first");
    assert_string_equal(finding(f, 1),
                        "GoapiWriteTimeout 2s is shorter than GoapiReadTimeout 5s: a "
                        "request body that arrives in time can leave no time to answer");

    /* contradictions are reported whether or not the server serves goapi */
    goapi_limits_init(&l);
    l.read = S(1);
    l.read_header = S(2);
    assert_int_equal(review(&l, 0)->nelts, 1);

    goapi_limits_init(&l);
    l.shutdown = 0;
    f = review(&l, 0);
    assert_int_equal(f->nelts, 1);
    assert_non_null(strstr(finding(f, 0), "GoapiShutdownTimeout 0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_seed_values_pass),
        cmocka_unit_test(test_missing_deadlines),
        cmocka_unit_test(test_contradictions),
    };

    return cmocka_run_group_tests_name("goapi_limits", tests, unit_setup, unit_teardown);
}
