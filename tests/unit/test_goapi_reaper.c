/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Write-deadline slots: arm, disarm, scan, and the state machine under
 * concurrent workers and a scanner.
 */
#include <stdlib.h>

#include <apr_atomic.h>
#include <apr_thread_proc.h>

#include "unit.h"
#include "goapi_reaper.h"

typedef struct {
    int calls;
    void *target;
    const void *tag;
    apr_time_t deadline;
} fire_log;

static void record_fire(void *baton, void *target, const void *tag, apr_time_t deadline)
{
    fire_log *log = baton;

    log->calls++;
    log->target = target;
    log->tag = tag;
    log->deadline = deadline;
}

static void test_acquire_bounds(void **state)
{
    goapi_reaper *rp;
    goapi_wslot *slots[64];
    int i;

    (void)state;
    assert_int_equal(goapi_reaper_create(&rp, unit_pool, 64), APR_SUCCESS);
    for (i = 0; i < 64; i++) {
        slots[i] = goapi_reaper_acquire(rp, 7);
        assert_non_null(slots[i]);
    }
    assert_null(goapi_reaper_acquire(rp, 7));
    assert_int_equal(goapi_reaper_in_use(rp), 64);
    goapi_reaper_release(rp, slots[10]);
    assert_ptr_equal(goapi_reaper_acquire(rp, 7), slots[10]);
    for (i = 0; i < 64; i++) {
        goapi_reaper_release(rp, slots[i]);
    }
    assert_int_equal(goapi_reaper_in_use(rp), 0);
}

static void collect_fd(int fd, void *baton)
{
    int *sum = baton;

    *sum += fd;
}

static void test_foreach_fd(void **state)
{
    goapi_reaper *rp;
    goapi_wslot *a, *b, *c;
    int sum = 0;

    (void)state;
    assert_int_equal(goapi_reaper_create(&rp, unit_pool, 200), APR_SUCCESS);
    a = goapi_reaper_acquire(rp, 0);            /* descriptor 0 is a descriptor */
    b = goapi_reaper_acquire(rp, 10);
    c = goapi_reaper_acquire(rp, 100);
    assert_int_equal(goapi_reaper_foreach_fd(rp, collect_fd, &sum), 3);
    assert_int_equal(sum, 110);
    goapi_reaper_release(rp, b);
    sum = 0;
    assert_int_equal(goapi_reaper_foreach_fd(rp, collect_fd, &sum), 2);
    assert_int_equal(sum, 100);
    goapi_reaper_release(rp, a);
    goapi_reaper_release(rp, c);
    assert_int_equal(goapi_reaper_foreach_fd(rp, collect_fd, &sum), 0);
}

static void test_fire_when_due(void **state)
{
    goapi_reaper *rp;
    goapi_wslot *s;
    fire_log log = { 0 };
    int target, tag;
    apr_time_t next = -1;

    (void)state;
    assert_int_equal(goapi_reaper_create(&rp, unit_pool, 100), APR_SUCCESS);
    s = goapi_reaper_acquire(rp, 7);
    goapi_reaper_arm(s, 1000, &target, &tag);

    assert_int_equal(goapi_reaper_scan(rp, 999, record_fire, &log, &next), 0);
    assert_int_equal(log.calls, 0);
    assert_true(next == 1000);

    assert_int_equal(goapi_reaper_scan(rp, 1000, record_fire, &log, &next), 1);
    assert_int_equal(log.calls, 1);
    assert_ptr_equal(log.target, &target);
    assert_ptr_equal(log.tag, &tag);
    assert_true(log.deadline == 1000);
    assert_true(next == 0);

    /* fired once only */
    assert_int_equal(goapi_reaper_scan(rp, 5000, record_fire, &log, NULL), 0);
    assert_int_equal(log.calls, 1);
    assert_int_equal(goapi_reaper_disarm(s), 1);
    assert_int_equal(goapi_reaper_disarm(s), 0);
    goapi_reaper_release(rp, s);
}

static void test_disarmed_never_fires(void **state)
{
    goapi_reaper *rp;
    goapi_wslot *a, *b;
    fire_log log = { 0 };
    int ta, tb;
    apr_time_t next;

    (void)state;
    assert_int_equal(goapi_reaper_create(&rp, unit_pool, 100), APR_SUCCESS);
    a = goapi_reaper_acquire(rp, 7);
    b = goapi_reaper_acquire(rp, 7);
    goapi_reaper_arm(a, 100, &ta, NULL);
    goapi_reaper_arm(b, 200, &tb, NULL);
    assert_int_equal(goapi_reaper_disarm(a), 0);
    assert_int_equal(goapi_reaper_scan(rp, 150, record_fire, &log, &next), 0);
    assert_true(next == 200);
    /* re-arming replaces the deadline */
    goapi_reaper_arm(b, 300, &tb, NULL);
    assert_int_equal(goapi_reaper_scan(rp, 250, record_fire, &log, &next), 0);
    assert_true(next == 300);
    assert_int_equal(goapi_reaper_scan(rp, 300, record_fire, &log, NULL), 1);
    assert_ptr_equal(log.target, &tb);
    /* release disarms */
    goapi_reaper_release(rp, b);
    goapi_reaper_release(rp, a);
}

/* Workers arm and disarm as fast as they can, every deadline already due,
 * while a scanner fires whatever it catches.  A token is closed right after
 * its disarm returns: firing a closed token would mean a socket shut down
 * after its connection moved on. */
#define WORKERS 4
#define ROUNDS 20000

typedef struct {
    volatile apr_uint32_t closed;
    volatile apr_uint32_t fired;
} token;

typedef struct {
    goapi_reaper *rp;
    token *tokens;
    int disarm_saw_fire;
} worker_ctx;

static volatile apr_uint32_t violations;
static volatile apr_uint32_t workers_done;

static void check_fire(void *baton, void *target, const void *tag, apr_time_t deadline)
{
    token *t = target;

    (void)baton;
    (void)tag;
    (void)deadline;
    if (apr_atomic_read32(&t->closed)) {
        apr_atomic_inc32(&violations);
    }
    apr_atomic_inc32(&t->fired);
}

static void *APR_THREAD_FUNC worker(apr_thread_t *th, void *data)
{
    worker_ctx *w = data;
    goapi_wslot *s = goapi_reaper_acquire(w->rp, 9);
    int i;

    for (i = 0; i < ROUNDS; i++) {
        token *t = &w->tokens[i];

        goapi_reaper_arm(s, 1, t, NULL);
        if (i % 7 == 0) {
            apr_thread_yield();
        }
        if (goapi_reaper_disarm(s)) {
            w->disarm_saw_fire++;
            if (apr_atomic_read32(&t->fired) != 1) {
                apr_atomic_inc32(&violations);
            }
        }
        else if (apr_atomic_read32(&t->fired) != 0) {
            apr_atomic_inc32(&violations);
        }
        apr_atomic_set32(&t->closed, 1);
    }
    goapi_reaper_release(w->rp, s);
    apr_atomic_inc32(&workers_done);
    (void)th;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

static void *APR_THREAD_FUNC scanner(apr_thread_t *th, void *data)
{
    goapi_reaper *rp = data;

    while (apr_atomic_read32(&workers_done) < WORKERS) {
        goapi_reaper_scan(rp, APR_INT64_MAX, check_fire, NULL, NULL);
    }
    (void)th;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

static void test_concurrent_arm_disarm_scan(void **state)
{
    goapi_reaper *rp;
    apr_thread_t *wt[WORKERS], *st;
    worker_ctx w[WORKERS];
    apr_status_t rv;
    int i, fired = 0, total_fired = 0;

    (void)state;
    assert_int_equal(goapi_reaper_create(&rp, unit_pool, 1000), APR_SUCCESS);
    for (i = 0; i < WORKERS; i++) {
        w[i].rp = rp;
        w[i].tokens = calloc(ROUNDS, sizeof(token));
        w[i].disarm_saw_fire = 0;
        assert_non_null(w[i].tokens);
    }
    assert_int_equal(apr_thread_create(&st, NULL, scanner, rp, unit_pool), APR_SUCCESS);
    for (i = 0; i < WORKERS; i++) {
        assert_int_equal(apr_thread_create(&wt[i], NULL, worker, &w[i], unit_pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < WORKERS; i++) {
        apr_thread_join(&rv, wt[i]);
    }
    apr_thread_join(&rv, st);

    assert_int_equal(apr_atomic_read32(&violations), 0);
    for (i = 0; i < WORKERS; i++) {
        int k;

        for (k = 0; k < ROUNDS; k++) {
            total_fired += (int)w[i].tokens[k].fired;
            assert_true(w[i].tokens[k].fired <= 1);
        }
        fired += w[i].disarm_saw_fire;
        free(w[i].tokens);
    }
    assert_int_equal(fired, total_fired);
    assert_true(fired > 0);                   /* the race was exercised */
    assert_int_equal(goapi_reaper_in_use(rp), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acquire_bounds),
        cmocka_unit_test(test_foreach_fd),
        cmocka_unit_test(test_fire_when_due),
        cmocka_unit_test(test_disarmed_never_fires),
        cmocka_unit_test(test_concurrent_arm_disarm_scan),
    };

    return cmocka_run_group_tests_name("goapi_reaper", tests, unit_setup, unit_teardown);
}
