/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * An error logged at most once per interval: the first of an interval
 * goes out with the count of those left out since the last; the others
 * of that interval are counted, and many threads racing for a new
 * interval let exactly one through.
 */
#include <string.h>

#include <apr_atomic.h>
#include <apr_thread_proc.h>

#include "unit.h"
#include "goapi_log_limit.h"

#define SEC(n) ((apr_time_t)(n) * APR_USEC_PER_SEC)

static void test_once_per_interval(void **state)
{
    goapi_log_limit l;
    apr_uint32_t skipped = 99;

    (void)state;
    memset(&l, 0, sizeof(l));
    assert_true(goapi_log_due(&l, SEC(10), SEC(1), &skipped));
    assert_int_equal(skipped, 0);
    assert_false(goapi_log_due(&l, SEC(10) + 1, SEC(1), &skipped));
    assert_false(goapi_log_due(&l, SEC(11) - 1, SEC(1), &skipped));
    assert_true(goapi_log_due(&l, SEC(11), SEC(1), &skipped));
    assert_int_equal(skipped, 2);
    assert_true(goapi_log_due(&l, SEC(20), SEC(1), &skipped));
    assert_int_equal(skipped, 0);
}

#define RACERS 8

static goapi_log_limit race_limit;
static volatile apr_uint32_t race_logged;

static void *APR_THREAD_FUNC racer(apr_thread_t *t, void *data)
{
    apr_uint32_t skipped;
    int i;

    (void)t;
    (void)data;
    for (i = 0; i < 1000; i++) {
        if (goapi_log_due(&race_limit, SEC(30), SEC(10), &skipped)) {
            apr_atomic_inc32(&race_logged);
        }
    }
    return NULL;
}

static void test_threads_racing_let_one_through(void **state)
{
    apr_thread_t *t[RACERS];
    apr_status_t rv;
    apr_uint32_t skipped = 0;
    int i;

    (void)state;
    memset(&race_limit, 0, sizeof(race_limit));
    for (i = 0; i < RACERS; i++) {
        assert_int_equal(apr_thread_create(&t[i], NULL, racer, NULL, unit_pool), APR_SUCCESS);
    }
    for (i = 0; i < RACERS; i++) {
        apr_thread_join(&rv, t[i]);
    }
    assert_int_equal(race_logged, 1);
    /* the next interval reports every one left out */
    assert_true(goapi_log_due(&race_limit, SEC(40), SEC(10), &skipped));
    assert_int_equal(skipped, RACERS * 1000 - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_once_per_interval),
        cmocka_unit_test(test_threads_racing_let_one_through),
    };

    return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
