/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Shutdown hooks: order, deadline, removal with their pool.
 */
#include <string.h>

#include <apr_strings.h>

#include "unit.h"
#include "goapi_shutdown.h"

static char trace[256];

static apr_status_t hook(void *baton, apr_time_t deadline)
{
    apr_interval_time_t *sleep_for = baton;

    (void)deadline;
    if (sleep_for && *sleep_for) {
        apr_sleep(*sleep_for);
    }
    return sleep_for ? APR_SUCCESS : APR_EGENERAL;
}

static void report(void *baton, const char *name, int started, apr_status_t rv,
                   apr_interval_time_t took)
{
    (void)baton;
    (void)took;
    apr_cpystrn(trace + strlen(trace),
                apr_psprintf(unit_pool, "%s%s%s;", started ? "+" : "-", name,
                             !started && rv != APR_SUCCESS ? "!" : ""),
                sizeof(trace) - strlen(trace));
}

/* Hooks live in a pool of the test's own, gone before its list is. */
static apr_pool_t *test_pool(void)
{
    apr_pool_t *p;

    apr_pool_create(&p, unit_pool);
    trace[0] = '\0';
    return p;
}

static void test_order_and_results(void **state)
{
    goapi_shutdown_hook *list = NULL;
    apr_interval_time_t none = 0;
    apr_pool_t *p = test_pool();

    (void)state;
    assert_int_equal(goapi_shutdown_add(&list, p, "a", hook, &none), APR_SUCCESS);
    assert_int_equal(goapi_shutdown_add(&list, p, "b", hook, NULL), APR_SUCCESS);
    assert_int_equal(goapi_shutdown_add(&list, p, "c", hook, &none), APR_SUCCESS);
    assert_int_equal(goapi_shutdown_add(&list, p, NULL, hook, NULL), APR_EINVAL);
    assert_int_equal(goapi_shutdown_add(&list, p, "d", NULL, NULL), APR_EINVAL);
    assert_int_equal(goapi_shutdown_run(list, apr_time_now() + apr_time_from_sec(5),
                                        report, NULL), 0);
    assert_string_equal(trace, "+a;-a;+b;-b!;+c;-c;");
    apr_pool_destroy(p);
    assert_null(list);
}

static void test_deadline_stops_the_rest(void **state)
{
    goapi_shutdown_hook *list = NULL;
    apr_interval_time_t slow = apr_time_from_msec(150), none = 0;
    apr_pool_t *p = test_pool();

    (void)state;
    goapi_shutdown_add(&list, p, "slow", hook, &slow);
    goapi_shutdown_add(&list, p, "late1", hook, &none);
    goapi_shutdown_add(&list, p, "late2", hook, &none);
    assert_int_equal(goapi_shutdown_run(list, apr_time_now() + apr_time_from_msec(50),
                                        report, NULL), 2);
    assert_string_equal(trace, "+slow;-slow;");
    apr_pool_destroy(p);
}

static void test_removed_with_pool(void **state)
{
    goapi_shutdown_hook *list = NULL;
    apr_pool_t *p = test_pool(), *short_lived;
    apr_interval_time_t none = 0;

    (void)state;
    apr_pool_create(&short_lived, p);
    goapi_shutdown_add(&list, p, "first", hook, &none);
    goapi_shutdown_add(&list, short_lived, "gone", hook, &none);
    goapi_shutdown_add(&list, p, "last", hook, &none);
    apr_pool_destroy(short_lived);
    goapi_shutdown_run(list, apr_time_now() + apr_time_from_sec(5), report, NULL);
    assert_string_equal(trace, "+first;-first;+last;-last;");
    apr_pool_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_results),
        cmocka_unit_test(test_deadline_stops_the_rest),
        cmocka_unit_test(test_removed_with_pool),
    };

    return cmocka_run_group_tests_name("goapi_shutdown", tests, unit_setup, unit_teardown);
}
