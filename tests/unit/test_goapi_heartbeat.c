/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Background threads alive and not stuck: the heartbeat's verdicts at
 * chosen times, and beats from another thread.
 */
#include <string.h>

#include <apr_thread_proc.h>

#include "unit.h"
#include "goapi_heartbeat.h"

#define MS(n) apr_time_from_msec(n)

static void test_verdicts(void **state)
{
    goapi_heartbeat hb;
    apr_time_t t0 = apr_time_from_sec(1000);

    (void)state;
    goapi_heartbeat_init(&hb, "reaper", MS(1000), t0);
    assert_string_equal(hb.name, "reaper");
    assert_null(goapi_heartbeat_check(unit_pool, &hb, t0));
    assert_null(goapi_heartbeat_check(unit_pool, &hb, t0 + MS(1000)));
    assert_string_equal(goapi_heartbeat_check(unit_pool, &hb, t0 + MS(1001)),
                        "no heartbeat for 1.0s");
    assert_string_equal(goapi_heartbeat_check(unit_pool, &hb, t0 + MS(6250)),
                        "no heartbeat for 6.2s");
    goapi_heartbeat_beat(&hb, t0 + MS(6000));
    assert_null(goapi_heartbeat_check(unit_pool, &hb, t0 + MS(6250)));
    goapi_heartbeat_end(&hb);
    assert_string_equal(goapi_heartbeat_check(unit_pool, &hb, t0 + MS(6250)),
                        "thread ended");
}

static void *APR_THREAD_FUNC beater(apr_thread_t *t, void *data)
{
    goapi_heartbeat *hb = data;
    int i;

    for (i = 0; i < 20; i++) {
        goapi_heartbeat_beat(hb, apr_time_now());
        apr_sleep(MS(5));
    }
    (void)t;
    return NULL;
}

static void test_beats_from_a_thread(void **state)
{
    goapi_heartbeat hb;
    apr_thread_t *t = NULL;
    apr_status_t rv;
    apr_time_t start = apr_time_now() - MS(5000);

    (void)state;
    goapi_heartbeat_init(&hb, "worker", MS(2000), start);
    assert_non_null(goapi_heartbeat_check(unit_pool, &hb, apr_time_now()));
    assert_int_equal(apr_thread_create(&t, NULL, beater, &hb, unit_pool), APR_SUCCESS);
    assert_int_equal(apr_thread_join(&rv, t), APR_SUCCESS);
    assert_null(goapi_heartbeat_check(unit_pool, &hb, apr_time_now()));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_beats_from_a_thread),
    };

    return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
