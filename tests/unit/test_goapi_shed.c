/*
 * Load shedding places: never more than the limit at once, across threads.
 */
#include <apr_atomic.h>
#include <apr_thread_proc.h>

#include "unit.h"
#include "goapi_shed.h"

#define THREADS 8
#define ROUNDS  20000
#define LIMIT   3

static volatile apr_uint32_t places;
static volatile apr_uint32_t most;
static volatile apr_uint32_t admitted;

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    int i;

    (void)data;
    for (i = 0; i < ROUNDS; i++) {
        if (goapi_shed_enter(&places, LIMIT)) {
            apr_uint32_t held = apr_atomic_read32(&places), m;

            while ((m = apr_atomic_read32(&most)) < held
                   && apr_atomic_cas32(&most, held, m) != m) {
            }
            apr_atomic_inc32(&admitted);
            goapi_shed_leave(&places);
        }
    }
    (void)t;
    return NULL;
}

static void test_limit_holds_across_threads(void **state)
{
    apr_thread_t *t[THREADS];
    apr_status_t rv;
    int i;

    (void)state;
    for (i = 0; i < THREADS; i++) {
        assert_int_equal(apr_thread_create(&t[i], NULL, worker, NULL, unit_pool), APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        apr_thread_join(&rv, t[i]);
    }
    assert_true(most >= 1 && most <= LIMIT);
    assert_true(admitted > 0);
    assert_int_equal(places, 0);            /* every place given back */
}

static void test_enter_and_leave(void **state)
{
    volatile apr_uint32_t n = 0;

    (void)state;
    assert_true(goapi_shed_enter(&n, 2));
    assert_true(goapi_shed_enter(&n, 2));
    assert_false(goapi_shed_enter(&n, 2));
    assert_int_equal(n, 2);                 /* a refusal holds nothing */
    goapi_shed_leave(&n);
    assert_true(goapi_shed_enter(&n, 2));
    assert_false(goapi_shed_enter(&n, 0));
}

static void test_retry_after(void **state)
{
    apr_uint32_t r;
    int seen[4] = { 0, 0, 0, 0 };

    (void)state;
    for (r = 0; r < 100; r++) {
        int v = goapi_shed_retry_after(1, r * 2654435761u);

        assert_true(v >= 1 && v <= 2);
        seen[v]++;
    }
    assert_true(seen[1] > 0 && seen[2] > 0);        /* both values occur */
    assert_int_equal(goapi_shed_retry_after(0, 7), 1 + 7 % 2);
    assert_true(goapi_shed_retry_after(5, 12345) >= 5);
    assert_true(goapi_shed_retry_after(5, 12345) <= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_holds_across_threads),
        cmocka_unit_test(test_enter_and_leave),
        cmocka_unit_test(test_retry_after),
    };

    return cmocka_run_group_tests_name("goapi_shed", tests, unit_setup, unit_teardown);
}
