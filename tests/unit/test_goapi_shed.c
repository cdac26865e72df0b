/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Load shedding: places never exceed the limit across threads; the
 * adaptive limit, driven by a simulated backend whose capacity drops and
 * comes back, keeps the admitted requests' latency near the unloaded one
 * where a fixed limit of the same start does not.
 */
#include <apr_atomic.h>
#include <apr_thread_proc.h>

#include "unit.h"
#include "goapi_shed.h"

#define THREADS 8
#define ROUNDS  20000
#define LIMIT   3

static goapi_shed_scope shared;
static volatile apr_uint32_t most;
static volatile apr_uint32_t admitted;

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    int i;

    (void)data;
    for (i = 0; i < ROUNDS; i++) {
        goapi_shed_ticket ticket;
        apr_time_t now = (apr_time_t)i * 50;

        if (goapi_shed_enter(&shared, now, &ticket)) {
            apr_uint32_t held = apr_atomic_read32(&shared.taken), m;

            while ((m = apr_atomic_read32(&most)) < held
                   && apr_atomic_cas32(&most, held, m) != m) {
            }
            apr_atomic_inc32(&admitted);
            goapi_shed_leave(&ticket, now + 40, 0);
        }
    }
    (void)t;
    return NULL;
}

static void run_threads(void)
{
    apr_thread_t *t[THREADS];
    apr_status_t rv;
    int i;

    most = 0;
    admitted = 0;
    for (i = 0; i < THREADS; i++) {
        assert_int_equal(apr_thread_create(&t[i], NULL, worker, NULL, unit_pool), APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        apr_thread_join(&rv, t[i]);
    }
}

static void test_limit_holds_across_threads(void **state)
{
    goapi_shed_conf c = { 0, LIMIT, LIMIT, LIMIT, 0, { 0 }, 0, 0, 0 };

    (void)state;
    goapi_shed_scope_init(&shared, &c, 0);
    run_threads();
    assert_true(most >= 1 && most <= LIMIT);
    assert_true(admitted > 0);
    assert_int_equal(shared.taken, 0);      /* every place given back */
}

static void test_adaptive_limit_holds_across_threads(void **state)
{
    goapi_shed_conf c = { 1, 2, 6, 4, 0, { 0 }, 0, 0, 0 };
    apr_uint32_t b, n = 0;

    (void)state;
    goapi_shed_scope_init(&shared, &c, 0);
    run_threads();
    assert_true(most >= 1 && most <= 6);
    assert_true(admitted > 0);
    assert_int_equal(shared.taken, 0);
    assert_int_equal(shared.updating, 0);
    assert_true(shared.limit >= 2 && shared.limit <= 6);
    for (b = 0; b < GOAPI_SHED_BUCKETS; b++) {
        n += shared.hist[b];
    }
    assert_true(shared.samples >= n);       /* what hist holds is counted */
}

static void test_enter_and_leave(void **state)
{
    goapi_shed_conf c = { 0, 2, 2, 2, 0, { 0 }, 0, 0, 0 };
    goapi_shed_scope s;
    goapi_shed_ticket t1, t2, t3;

    (void)state;
    goapi_shed_scope_init(&s, &c, 0);
    assert_true(goapi_shed_enter(&s, 0, &t1));
    assert_true(goapi_shed_enter(&s, 0, &t2));
    assert_false(goapi_shed_enter(&s, 0, &t3));
    assert_int_equal(s.taken, 2);           /* a refusal holds nothing */
    assert_int_equal(goapi_shed_leave(&t1, 10, 0), 0);
    assert_true(goapi_shed_enter(&s, 0, &t3));
    c.start = 0;
    goapi_shed_scope_init(&s, &c, 0);
    assert_false(goapi_shed_enter(&s, 0, &t1));
}

/* Two partitions of a limit of 10, live 70 % and batch 30 %: batch may
 * borrow what is idle, but live always gets its 7 places. */
static void test_partitions_keep_their_share(void **state)
{
    goapi_shed_conf c = { 0, 10, 10, 10, 2, { 70, 30 }, 0, 0, 0 };
    goapi_shed_scope s;
    goapi_shed_ticket batch[12], live[8], other;
    int i;

    (void)state;
    goapi_shed_scope_init(&s, &c, 0);
    assert_int_equal(goapi_shed_guaranteed(&s, 0), 7);
    assert_int_equal(goapi_shed_guaranteed(&s, 1), 3);
    /* batch alone: its 3, then 7 borrowed, then no more */
    for (i = 0; i < 10; i++) {
        assert_true(goapi_shed_enter_partition(&s, 1, 0, &batch[i]));
    }
    assert_false(goapi_shed_enter_partition(&s, 1, 0, &batch[10]));
    assert_int_equal(s.part_taken[1], 10);  /* a refusal holds nothing */
    /* live still gets its guaranteed 7, over the limit while batch borrows */
    for (i = 0; i < 7; i++) {
        assert_true(goapi_shed_enter_partition(&s, 0, 0, &live[i]));
    }
    assert_int_equal(s.taken, 17);
    /* but nothing beyond its share while nothing is free */
    assert_false(goapi_shed_enter_partition(&s, 0, 0, &live[7]));
    assert_false(goapi_shed_enter(&s, 0, &other));
    /* borrowed places come back: batch is down to its share, the limit
     * holds again */
    for (i = 3; i < 10; i++) {
        goapi_shed_leave(&batch[i], 10, 0);
    }
    assert_int_equal(s.taken, 10);
    assert_false(goapi_shed_enter_partition(&s, 1, 0, &batch[10]));
    for (i = 0; i < 3; i++) {
        goapi_shed_leave(&batch[i], 10, 0);
    }
    assert_true(goapi_shed_enter_partition(&s, 0, 0, &live[7]));   /* a free place */
    for (i = 0; i < 8; i++) {
        goapi_shed_leave(&live[i], 10, 0);
    }
    assert_int_equal(s.taken, 0);
    assert_int_equal(s.part_taken[0] + s.part_taken[1], 0);
}

/* The queue: first in, first out; a waiter that leaves before its turn
 * is passed over; a waiter at the head that leaves hands its turn on;
 * no more waiters than asked. */
static void test_queue_first_in_first_out(void **state)
{
    goapi_shed_conf c = { 0, 1, 1, 1, 0, { 0 }, 3, 0, 0 };
    goapi_shed_scope s;
    goapi_shed_ticket running, t;
    apr_uint32_t w1, w2, w3, w4;

    (void)state;
    goapi_shed_scope_init(&s, &c, 0);
    assert_true(goapi_shed_enter(&s, 0, &running));
    assert_true(goapi_shed_queue_join(&s, &w1));
    assert_true(goapi_shed_queue_join(&s, &w2));
    assert_true(goapi_shed_queue_join(&s, &w3));
    assert_false(goapi_shed_queue_join(&s, &w4));      /* 3 wait at most */
    assert_int_equal(goapi_shed_queued(&s), 3);
    /* no place yet; and never out of turn */
    assert_false(goapi_shed_queue_try(&s, w1, 0, &t));
    goapi_shed_leave(&running, 1, 0);
    assert_false(goapi_shed_queue_try(&s, w2, 0, &t));
    assert_false(goapi_shed_queue_try(&s, w3, 0, &t));
    /* w2 gives up before its turn: passed over once w1 is through */
    goapi_shed_queue_leave(&s, w2);
    assert_true(goapi_shed_queue_try(&s, w1, 0, &running));
    assert_int_equal(s.q_head, w3);
    goapi_shed_leave(&running, 1, 0);
    assert_true(goapi_shed_queue_try(&s, w3, 0, &running));
    assert_int_equal(goapi_shed_queued(&s), 0);
    /* the head leaves: its turn goes to the next */
    assert_true(goapi_shed_queue_join(&s, &w1));
    assert_true(goapi_shed_queue_join(&s, &w2));
    goapi_shed_queue_leave(&s, w1);
    goapi_shed_leave(&running, 1, 0);
    assert_true(goapi_shed_queue_try(&s, w2, 0, &running));
    goapi_shed_leave(&running, 1, 0);
    assert_int_equal(s.taken, 0);
    assert_int_equal(goapi_shed_queued(&s), 0);
    assert_int_equal(s.q_head, s.q_tail);
}

static goapi_shed_scope queue_scope;
static apr_thread_mutex_t *order_lock;
static apr_uint32_t last_admitted;
static volatile apr_uint32_t out_of_order, served;

static void *APR_THREAD_FUNC queuer(apr_thread_t *thread, void *data)
{
    int i;

    (void)data;
    for (i = 0; i < 2000; i++) {
        goapi_shed_ticket t;
        apr_uint32_t n;
        int spins;

        if (!goapi_shed_queue_join(&queue_scope, &n)) {
            continue;
        }
        for (spins = 0; spins < 1000; spins++) {
            if (goapi_shed_queue_try(&queue_scope, n, 0, &t)) {
                apr_thread_mutex_lock(order_lock);
                if (served && (apr_int32_t)(n - last_admitted) <= 0) {
                    out_of_order++;
                }
                last_admitted = n;
                served++;
                apr_thread_mutex_unlock(order_lock);
                goapi_shed_leave(&t, 1, 0);
                break;
            }
            apr_thread_yield();
        }
        if (spins == 1000) {
            goapi_shed_queue_leave(&queue_scope, n);   /* its time is up */
        }
    }
    (void)thread;
    return NULL;
}

static void test_queue_across_threads(void **state)
{
    goapi_shed_conf c = { 0, 1, 1, 1, 0, { 0 }, 4, 0, 0 };
    apr_thread_t *t[THREADS];
    apr_status_t rv;
    int i;

    (void)state;
    goapi_shed_scope_init(&queue_scope, &c, 0);
    assert_int_equal(apr_thread_mutex_create(&order_lock, APR_THREAD_MUTEX_DEFAULT, unit_pool),
                     APR_SUCCESS);
    for (i = 0; i < THREADS; i++) {
        assert_int_equal(apr_thread_create(&t[i], NULL, queuer, NULL, unit_pool), APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        apr_thread_join(&rv, t[i]);
    }
    assert_true(served > 0);
    assert_int_equal(out_of_order, 0);              /* in the order they came */
    assert_int_equal(goapi_shed_queued(&queue_scope), 0);
    assert_int_equal(queue_scope.taken, 0);
    assert_int_equal(queue_scope.q_head, queue_scope.q_tail);
}

static void test_buckets(void **state)
{
    apr_uint64_t us;
    int last = -1;

    (void)state;
    for (us = 0; us < 100000; us += 1 + us / 50) {
        int b = goapi_shed_bucket(us);
        apr_uint64_t v = goapi_shed_bucket_value(b);

        assert_true(b >= last);                     /* monotonic */
        assert_true(b < GOAPI_SHED_BUCKETS);
        last = b;
        /* a bucket's value is within a quarter of what fell in it */
        assert_true(v * 4 >= us * 3 && v * 4 <= us * 5 + 4);
    }
    assert_int_equal(goapi_shed_bucket(3), 3);
    assert_int_equal(goapi_shed_bucket(4), 4);
    assert_int_equal(goapi_shed_bucket(8), 8);
    assert_int_equal(goapi_shed_bucket(10), 9);
    assert_int_equal(goapi_shed_bucket_value(9), 11);
    assert_int_equal(goapi_shed_bucket((apr_uint64_t)1 << 40), GOAPI_SHED_BUCKETS - 1);
}

/* ---- a simulated backend ----------------------------------------------------
 * Clients in a closed loop; the backend serves `capacity` requests at its
 * unloaded latency and shares itself beyond that (a request admitted with n
 * in flight takes SERVICE * n / capacity).  A shed client waits 20 ms. */

#define CLIENTS 32
#define SERVICE 50000                   /* us */

static apr_time_t service = SERVICE;    /* the backend's unloaded latency now */
static apr_uint32_t fail_permille;      /* of its answers that are 5xx */
#define MAXLAT  4096

typedef struct {
    apr_time_t at;                      /* its next event */
    int busy;
    goapi_shed_ticket ticket;
} client;

typedef struct {
    apr_time_t from, to;                /* latencies recorded in [from, to) */
    apr_interval_time_t lat[MAXLAT];
    int n, shed;
    apr_uint32_t lowest, highest;       /* limit seen in [from, to) */
} record;

static apr_uint32_t rng = 12345;

static apr_uint32_t next_random(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng;
}

/* Runs from t0 to t1 with the given backend capacity. */
static void simulate(goapi_shed_scope *s, client *cl, apr_time_t t0, apr_time_t t1,
                     int capacity, record *rec)
{
    apr_time_t now = t0;

    for (;;) {
        int i, next = 0;

        for (i = 1; i < CLIENTS; i++) {
            if (cl[i].at < cl[next].at) {
                next = i;
            }
        }
        now = cl[next].at;
        if (now >= t1) {
            return;
        }
        if (rec && now >= rec->from && now < rec->to) {
            apr_uint32_t l = s->limit;

            rec->lowest = l < rec->lowest ? l : rec->lowest;
            rec->highest = l > rec->highest ? l : rec->highest;
        }
        if (cl[next].busy) {
            cl[next].busy = 0;
            if (rec && now >= rec->from && now < rec->to && rec->n < MAXLAT) {
                rec->lat[rec->n++] = now - cl[next].ticket.admitted;
            }
            goapi_shed_leave(&cl[next].ticket, now, next_random() % 1000 < fail_permille);
            cl[next].at = now + 1000;   /* the client's own time */
        }
        else if (goapi_shed_enter(s, now, &cl[next].ticket)) {
            apr_uint32_t n = s->taken;

            cl[next].busy = 1;
            cl[next].at = now + (n > (apr_uint32_t)capacity
                                 ? service * n / capacity : service)
                          + (apr_time_t)(next_random() % 2000);
        }
        else {
            if (rec && now >= rec->from && now < rec->to) {
                rec->shed++;
            }
            cl[next].at = now + 20000;
        }
    }
}

static int cmp_lat(const void *a, const void *b)
{
    apr_interval_time_t x = *(const apr_interval_time_t *)a;
    apr_interval_time_t y = *(const apr_interval_time_t *)b;

    return x < y ? -1 : x > y;
}

static apr_interval_time_t p99(record *r)
{
    assert_true(r->n > 20);
    qsort(r->lat, (size_t)r->n, sizeof(r->lat[0]), cmp_lat);
    return r->lat[(r->n * 99) / 100];
}

static record *new_record(apr_time_t from, apr_time_t to)
{
    record *r = apr_pcalloc(unit_pool, sizeof(*r));

    r->from = from;
    r->to = to;
    r->lowest = 0xffffffffu;
    return r;
}

/* Unloaded 3 s at capacity 32, overloaded 6 s at capacity 3 (32 clients:
 * ten times the latency when all are admitted), back 6 s. */
static void start_clients(client *cl);

static void run_steps(const goapi_shed_conf *c, record **unloaded, record **loaded,
                      record **back)
{
    goapi_shed_scope s;
    client cl[CLIENTS];

    start_clients(cl);
    goapi_shed_scope_init(&s, c, 0);
    *unloaded = new_record(apr_time_from_sec(1), apr_time_from_sec(3));
    *loaded = new_record(apr_time_from_sec(6), apr_time_from_sec(9));
    *back = new_record(apr_time_from_sec(11), apr_time_from_sec(15));
    simulate(&s, cl, 0, apr_time_from_sec(3), 32, *unloaded);
    simulate(&s, cl, apr_time_from_sec(3), apr_time_from_sec(9), 3, *loaded);
    simulate(&s, cl, apr_time_from_sec(9), apr_time_from_sec(15), 32, *back);
    assert_true(s.taken <= (apr_uint32_t)CLIENTS);
    assert_int_equal(s.updating, 0);
}

static void test_adaptive_against_fixed(void **state)
{
    goapi_shed_conf adaptive = { 1, 1, 64, 32, 0, { 0 }, 0, 0, 0 };
    goapi_shed_conf fixed = { 0, 32, 32, 32, 0, { 0 }, 0, 0, 0 };
    record *u, *l, *b;
    apr_interval_time_t base;

    (void)state;
    run_steps(&adaptive, &u, &l, &b);
    base = p99(u);
    assert_true(base >= SERVICE && base < SERVICE * 11 / 10);
    /* overloaded: from 3 s after the step, the limit stays near what the
     * backend serves unqueued, the admitted requests within twice the
     * unloaded p99 */
    assert_true(p99(l) <= 2 * base);
    assert_true(l->highest <= 8);
    assert_true(l->lowest >= 3);
    assert_true(l->shed > 0);
    /* back: the limit rises again and the shedding stops */
    assert_true(b->lowest >= 20);
    assert_true(p99(b) <= base * 11 / 10);
    assert_int_equal(b->shed, 0);

    /* a fixed limit of the same start lets the queue grow tenfold */
    run_steps(&fixed, &u, &l, &b);
    base = p99(u);
    assert_true(p99(l) > 8 * base);
}

static void start_clients(client *cl)
{
    int i;

    memset(cl, 0, sizeof(*cl) * CLIENTS);
    for (i = 0; i < CLIENTS; i++) {
        cl[i].at = (apr_time_t)i * 3000;
    }
    service = SERVICE;
    fail_permille = 0;
}

/* A steady load below capacity for 5 minutes: the limit is never pinned
 * to min to measure, nothing is shed, and the unloaded latency is the
 * backend's. */
static void test_steady_load_sheds_nothing(void **state)
{
    goapi_shed_conf c = { 1, 2, 64, 40, 0, { 0 }, 0, 0, 0 };
    goapi_shed_scope s;
    client cl[CLIENTS];
    record *r;

    (void)state;
    start_clients(cl);
    goapi_shed_scope_init(&s, &c, 0);
    r = new_record(0, apr_time_from_sec(300));
    simulate(&s, cl, 0, apr_time_from_sec(300), 64, r);
    assert_int_equal(r->shed, 0);
    assert_true(r->lowest >= 32);
    assert_true(s.unloaded >= SERVICE * 9 / 10 && s.unloaded <= SERVICE * 12 / 10);
    assert_true(s.sampled >= SERVICE * 9 / 10 && s.sampled <= SERVICE * 12 / 10);
    assert_int_equal(s.updating, 0);
}

/* A long overload: the windows the limit turns requests away in are not
 * taken for unloaded ones, so the unloaded latency does not creep up with
 * the queue the limit lets through, nor the limit with it. */
static void test_long_overload_does_not_ratchet(void **state)
{
    goapi_shed_conf c = { 1, 1, 64, 32, 0, { 0 }, 0, 0, 0 };
    goapi_shed_scope s;
    client cl[CLIENTS];
    record *r;

    (void)state;
    start_clients(cl);
    goapi_shed_scope_init(&s, &c, 0);
    simulate(&s, cl, 0, apr_time_from_sec(3), 32, NULL);
    simulate(&s, cl, apr_time_from_sec(3), apr_time_from_sec(10), 3, NULL);
    r = new_record(apr_time_from_sec(10), apr_time_from_sec(130));
    simulate(&s, cl, apr_time_from_sec(10), apr_time_from_sec(130), 3, r);
    assert_true(r->highest <= 8);
    assert_true(r->shed > 0);
    assert_true(p99(r) <= 2 * SERVICE + SERVICE / 2);
    assert_true(s.unloaded <= SERVICE * 13 / 10);
}

/* A backend become twice as slow for every request (not because it is
 * given more): the limit falls to min, where the slots still count, and
 * once the faster ones have aged out (30 s) the slower latency is the
 * unloaded one and the limit rises again. */
static void test_slower_backend_learnt(void **state)
{
    goapi_shed_conf c = { 1, 4, 64, 32, 0, { 0 }, 0, 0, 0 };
    goapi_shed_scope s;
    client cl[CLIENTS];
    record *r;

    (void)state;
    start_clients(cl);
    goapi_shed_scope_init(&s, &c, 0);
    simulate(&s, cl, 0, apr_time_from_sec(5), 64, NULL);
    service = 2 * SERVICE;
    r = new_record(apr_time_from_sec(5), apr_time_from_sec(15));
    simulate(&s, cl, apr_time_from_sec(5), apr_time_from_sec(15), 64, r);
    assert_int_equal(r->lowest, 4);             /* it fell to min */
    r = new_record(apr_time_from_sec(60), apr_time_from_sec(90));
    simulate(&s, cl, apr_time_from_sec(15), apr_time_from_sec(90), 64, r);
    assert_true(s.unloaded >= 2 * SERVICE * 9 / 10 && s.unloaded <= 2 * SERVICE * 12 / 10);
    assert_true(r->lowest >= 32);
    assert_int_equal(r->shed, 0);
}

/* Half the answers 5xx: the limit backs off multiplicatively, window by
 * window, to min; when the failures stop, it grows back. */
static void test_backoff_on_failures(void **state)
{
    goapi_shed_conf c = { 1, 2, 64, 40, 0, { 0 }, 0, 0, 0 };
    goapi_shed_scope s;
    client cl[CLIENTS];
    record *r;

    (void)state;
    start_clients(cl);
    goapi_shed_scope_init(&s, &c, 0);
    simulate(&s, cl, 0, apr_time_from_sec(3), 64, NULL);
    assert_true(s.limit >= 32);
    fail_permille = 500;
    simulate(&s, cl, apr_time_from_sec(3), apr_time_from_sec(8), 64, NULL);
    assert_true(s.limit <= 4);
    assert_int_equal(s.gradient, 900);          /* the back-off factor */
    fail_permille = 0;
    r = new_record(apr_time_from_sec(12), apr_time_from_sec(15));
    simulate(&s, cl, apr_time_from_sec(8), apr_time_from_sec(15), 64, r);
    assert_true(r->lowest >= 32);
    assert_int_equal(r->shed, 0);
    assert_true(s.gradient >= 1000);
    /* a failure now and then is not a signal: under a tenth of a window */
    fail_permille = 20;
    r = new_record(apr_time_from_sec(15), apr_time_from_sec(25));
    simulate(&s, cl, apr_time_from_sec(15), apr_time_from_sec(25), 64, r);
    assert_true(r->lowest >= 24);
}

/* Slow windows under a load far below the limit (20 of 64): the limit
 * falls from where it is, not from the 20 the window held, so that the
 * next requests are not shed for a moment's slowness. */
static void test_slow_window_below_the_limit(void **state)
{
    goapi_shed_conf c = { 1, 2, 64, 64, 0, { 0 }, 0, 0, 0 };
    goapi_shed_scope s;
    goapi_shed_ticket t[20];
    apr_time_t now = 0;
    int i, round;

    (void)state;
    goapi_shed_scope_init(&s, &c, 0);
    for (round = 0; round < 3; round++) {
        /* 20 at once: 50 ms, then 100 ms twice (a window ends at the
         * tenth request of a round and at the first of the next) */
        apr_time_t took = apr_time_from_msec(round ? 100 : 50);

        now += apr_time_from_msec(200);
        for (i = 0; i < 20; i++) {
            assert_true(goapi_shed_enter(&s, now, &t[i]));
        }
        for (i = 0; i < 20; i++) {
            goapi_shed_leave(&t[i], now + took, 0);
        }
        now += took;
    }
    assert_true(s.unloaded >= 49000 && s.unloaded <= 57000);
    assert_true(s.sampled >= 98000 && s.sampled <= 115000);
    assert_true(s.gradient < 1000);             /* it fell */
    assert_true(s.limit > 32);                  /* from 64, not from 20 */
}

/* The backoff factor is the scope's. */
static void test_backoff_factor(void **state)
{
    goapi_shed_conf c = { 1, 2, 64, 40, 0, { 0 }, 0, 0, 500 };
    goapi_shed_scope s;
    goapi_shed_ticket t;
    int i;

    (void)state;
    goapi_shed_scope_init(&s, &c, 0);
    for (i = 0; i < 10; i++) {
        assert_true(goapi_shed_enter(&s, 0, &t));
        goapi_shed_leave(&t, apr_time_from_msec(200), 1);
    }
    assert_int_equal(s.limit, 20);
    assert_int_equal(s.gradient, 500);
}

/* The percentile of a window, interpolated in its bucket; a scope
 * samples at its own (p90 as Envoy shows, p50 unless set). */
static void test_percentile(void **state)
{
    apr_uint32_t count[GOAPI_SHED_BUCKETS];
    goapi_shed_conf c50 = { 1, 2, 64, 40, 0, { 0 }, 0, 0, 0 };
    goapi_shed_conf c90 = { 1, 2, 64, 40, 0, { 0 }, 0, 90, 0 };
    goapi_shed_scope s;
    goapi_shed_ticket t[10];
    int i, run;

    (void)state;
    memset(count, 0, sizeof(count));
    assert_int_equal(goapi_shed_percentile(count, 0, 50), 0);
    count[goapi_shed_bucket(1000)] = 80;
    count[goapi_shed_bucket(8000)] = 20;
    /* 1000 lies in [896, 1024), 8000 in [7168, 8192) */
    assert_true(goapi_shed_percentile(count, 100, 50) >= 896
                && goapi_shed_percentile(count, 100, 50) < 1024);
    assert_true(goapi_shed_percentile(count, 100, 90) >= 7168
                && goapi_shed_percentile(count, 100, 90) < 8192);
    /* interpolated: the 50th of the bucket's 80, five eighths of its
     * width of 128 */
    assert_int_equal(goapi_shed_percentile(count, 100, 50), 896 + 80);
    for (run = 0; run < 2; run++) {
        goapi_shed_scope_init(&s, run ? &c90 : &c50, 0);
        for (i = 0; i < 10; i++) {
            assert_true(goapi_shed_enter(&s, 0, &t[i]));
        }
        for (i = 0; i < 10; i++) {
            /* 10, 20, ... 100 ms */
            goapi_shed_leave(&t[i], apr_time_from_msec(10 * (i + 1)), 0);
        }
        if (run) {
            assert_true(s.sampled >= 80000 && s.sampled <= 100000);
        }
        else {
            assert_true(s.sampled >= 40000 && s.sampled <= 60000);
        }
    }
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
        cmocka_unit_test(test_adaptive_limit_holds_across_threads),
        cmocka_unit_test(test_enter_and_leave),
        cmocka_unit_test(test_partitions_keep_their_share),
        cmocka_unit_test(test_queue_first_in_first_out),
        cmocka_unit_test(test_queue_across_threads),
        cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_adaptive_against_fixed),
        cmocka_unit_test(test_steady_load_sheds_nothing),
        cmocka_unit_test(test_long_overload_does_not_ratchet),
        cmocka_unit_test(test_slower_backend_learnt),
        cmocka_unit_test(test_backoff_on_failures),
        cmocka_unit_test(test_slow_window_below_the_limit),
        cmocka_unit_test(test_backoff_factor),
        cmocka_unit_test(test_percentile),
        cmocka_unit_test(test_retry_after),
    };

    return cmocka_run_group_tests_name("goapi_shed", tests, unit_setup, unit_teardown);
}
