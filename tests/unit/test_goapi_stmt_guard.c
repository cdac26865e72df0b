/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * The statement guard on real sockets (socketpairs and loopback TCP): an
 * exchange past its timeout has its socket cut, one unwatched in time and
 * a number reused by another file never, several cut in deadline order,
 * the guard's thread stopped within its idle step, watches from many
 * threads at once.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <apr_atomic.h>
#include <apr_thread_proc.h>

#include "unit.h"
#include "goapi_stmt_guard.h"

/* A deadline is kept within this (a loaded or sanitized host included). */
#define MARGIN          apr_time_from_sec(1)
/* A read that the guard should have ended long before fails after this. */
#define READ_LIMIT_SEC  5

/* The guard and the thread that runs it, as a child runs it. */
typedef struct {
    goapi_stmt_guard *g;
    apr_thread_t *thread;
    volatile apr_uint32_t stop;
    volatile apr_uint32_t asked;        /* rounds: stopping() calls */
} guard_thread;

static int guard_stopping(void *baton)
{
    guard_thread *t = baton;

    apr_atomic_inc32(&t->asked);
    return apr_atomic_read32(&t->stop) != 0;
}

static void *APR_THREAD_FUNC guard_main(apr_thread_t *thd, void *data)
{
    guard_thread *t = data;

    goapi_stmt_guard_run(t->g, guard_stopping, t);
    (void)thd;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

static void guard_start(guard_thread *t, apr_interval_time_t timeout)
{
    memset(t, 0, sizeof(*t));
    assert_int_equal(goapi_stmt_guard_create(&t->g, timeout, unit_pool), APR_SUCCESS);
    assert_int_equal(apr_thread_create(&t->thread, NULL, guard_main, t, unit_pool),
                     APR_SUCCESS);
}

/* Stops the guard's thread and joins it: how long that took. */
static apr_interval_time_t guard_stop(guard_thread *t)
{
    apr_time_t start = apr_time_now();
    apr_status_t rv;

    apr_atomic_set32(&t->stop, 1);
    assert_int_equal(apr_thread_join(&rv, t->thread), APR_SUCCESS);
    return apr_time_now() - start;
}

/* Two connected stream sockets: a socketpair, or a loopback TCP
 * connection.  sv[0], the one watched, gives up a read after
 * READ_LIMIT_SEC, so that a guard that never cuts fails the test rather
 * than hanging it. */
static void socket_pair(int sv[2], int tcp)
{
    struct timeval limit = { READ_LIMIT_SEC, 0 };

    if (!tcp) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    }
    else {
        struct sockaddr_in sa;
        socklen_t len = sizeof(sa);
        int l = socket(AF_INET, SOCK_STREAM, 0);

        assert_true(l >= 0);
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(l, 1), 0);
        assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &len), 0);
        sv[1] = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(sv[1] >= 0);
        assert_int_equal(connect(sv[1], (struct sockaddr *)&sa, sizeof(sa)), 0);
        sv[0] = accept(l, NULL, NULL);
        assert_true(sv[0] >= 0);
        close(l);
    }
    assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit)), 0);
}

static void socket_pair_close(const int sv[2])
{
    close(sv[0]);
    close(sv[1]);
}

/* Bytes pass both ways between a and b: neither was cut. */
static void assert_open(int a, int b)
{
    char buf[2];

    assert_int_equal(send(b, "ab", 2, MSG_NOSIGNAL), 2);
    assert_int_equal(recv(a, buf, 2, MSG_WAITALL), 2);
    assert_memory_equal(buf, "ab", 2);
    assert_int_equal(send(a, "cd", 2, MSG_NOSIGNAL), 2);
    assert_int_equal(recv(b, buf, 2, MSG_WAITALL), 2);
    assert_memory_equal(buf, "cd", 2);
}

/* a was cut both ways: a read ends at once with nothing, a write fails,
 * and its peer b reads the end. */
static void assert_cut(int a, int b)
{
    apr_time_t start = apr_time_now();
    char c;

    assert_int_equal(recv(a, &c, 1, 0), 0);
    assert_true(apr_time_now() - start < apr_time_from_msec(500));
    assert_int_equal(send(a, "x", 1, MSG_NOSIGNAL), -1);
    assert_int_equal(errno, EPIPE);
    assert_int_equal(recv(b, &c, 1, 0), 0);
}

/* Waits until fd reads its end (at most limit): 1 when it did. */
static int wait_cut(int fd, apr_interval_time_t limit)
{
    struct pollfd pfd = { fd, POLLIN, 0 };
    char c;

    if (poll(&pfd, 1, (int)apr_time_as_msec(limit)) != 1) {
        return 0;
    }
    return recv(fd, &c, 1, MSG_PEEK) == 0;
}

static void cut_past_timeout(int tcp)
{
    apr_interval_time_t timeout = apr_time_from_msec(300);
    goapi_stmt_watch w;
    guard_thread t;
    apr_time_t before, after;
    int sv[2];
    char c;
    ssize_t n;

    guard_start(&t, timeout);
    socket_pair(sv, tcp);
    memset(&w, 0, sizeof(w));
    before = apr_time_now();
    assert_int_equal(goapi_stmt_guard_watch(t.g, &w, sv[0]), APR_SUCCESS);
    assert_int_equal(goapi_stmt_guard_watched(t.g), 1);
    /* the exchange: waiting for an answer that never comes */
    n = recv(sv[0], &c, 1, 0);
    after = apr_time_now();
    assert_int_equal(n, 0);
    assert_true(after - before >= timeout);
    assert_true(after - before < timeout + MARGIN);
    assert_cut(sv[0], sv[1]);
    assert_int_equal(goapi_stmt_guard_unwatch(t.g, &w), 1);
    assert_int_equal(goapi_stmt_guard_watched(t.g), 0);
    /* a second unwatch of the same exchange says nothing more */
    assert_int_equal(goapi_stmt_guard_unwatch(t.g, &w), 0);
    assert_true(guard_stop(&t) < GOAPI_STMT_GUARD_IDLE + MARGIN);
    socket_pair_close(sv);
}

static void test_cut_past_timeout_socketpair(void **state)
{
    (void)state;
    cut_past_timeout(0);
}

static void test_cut_past_timeout_tcp(void **state)
{
    (void)state;
    cut_past_timeout(1);
}

static void test_unwatched_in_time_never_cut(void **state)
{
    apr_interval_time_t timeout = apr_time_from_msec(200);
    goapi_stmt_watch w, control;
    guard_thread t;
    int sv[2], cv[2], i;

    (void)state;
    guard_start(&t, timeout);
    socket_pair(sv, 0);
    socket_pair(cv, 1);
    memset(&w, 0, sizeof(w));
    memset(&control, 0, sizeof(control));
    /* the same watch for one exchange after another, as a connection's */
    for (i = 0; i < 3; i++) {
        assert_int_equal(goapi_stmt_guard_watch(t.g, &w, sv[0]), APR_SUCCESS);
        if (i == 2) {
            assert_int_equal(goapi_stmt_guard_watch(t.g, &control, cv[0]), APR_SUCCESS);
        }
        apr_sleep(apr_time_from_msec(20));
        assert_int_equal(goapi_stmt_guard_unwatch(t.g, &w), 0);
    }
    /* the control, watched as long as the last exchange, is cut past the
     * deadline the last one would have had; the one unwatched is not */
    assert_true(wait_cut(cv[0], timeout + MARGIN));
    apr_sleep(apr_time_from_msec(100));
    assert_int_equal(goapi_stmt_guard_unwatch(t.g, &control), 1);
    assert_int_equal(goapi_stmt_guard_watched(t.g), 0);
    assert_open(sv[0], sv[1]);
    guard_stop(&t);
    socket_pair_close(sv);
    socket_pair_close(cv);
}

static void test_reused_number_never_cut(void **state)
{
    apr_interval_time_t timeout = apr_time_from_msec(200);
    goapi_stmt_watch w, control;
    guard_thread t;
    struct stat was, now;
    int sv[2], other[2], cv[2], kept;

    (void)state;
    guard_start(&t, timeout);
    socket_pair(sv, 0);
    socket_pair(other, 0);
    socket_pair(cv, 0);
    memset(&w, 0, sizeof(w));
    memset(&control, 0, sizeof(control));
    assert_int_equal(goapi_stmt_guard_watch(t.g, &w, sv[0]), APR_SUCCESS);
    assert_int_equal(goapi_stmt_guard_watch(t.g, &control, cv[0]), APR_SUCCESS);
    /* the number watched is closed and given to another socket; the first
     * is kept open under another number, so both files live on */
    kept = dup(sv[0]);
    assert_true(kept >= 0);
    assert_int_equal(dup2(other[0], sv[0]), sv[0]);
    close(other[0]);
    assert_int_equal(fstat(kept, &was), 0);
    assert_int_equal(fstat(sv[0], &now), 0);
    assert_true(was.st_ino != now.st_ino);
    /* the control, watched after, is cut: the guard has passed the first */
    assert_true(wait_cut(cv[0], timeout + MARGIN));
    assert_int_equal(goapi_stmt_guard_unwatch(t.g, &control), 1);
    /* its deadline passed while watched, yet neither socket was cut */
    assert_int_equal(goapi_stmt_guard_unwatch(t.g, &w), 1);
    assert_open(sv[0], other[1]);
    assert_open(kept, sv[1]);
    guard_stop(&t);
    close(kept);
    socket_pair_close(sv);
    close(other[1]);
    socket_pair_close(cv);
}

/* ---- several deadlines ------------------------------------------------- */

#define ORDERED 3

typedef struct {
    int fd;
    ssize_t n;
    apr_time_t at;                      /* when the read ended */
} reader;

static void *APR_THREAD_FUNC read_until_cut(apr_thread_t *thd, void *data)
{
    reader *r = data;
    char c;

    r->n = recv(r->fd, &c, 1, 0);
    r->at = apr_time_now();
    (void)thd;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

static void test_cut_in_deadline_order(void **state)
{
    apr_interval_time_t timeout = apr_time_from_msec(400);
    apr_interval_time_t apart = apr_time_from_msec(250);
    goapi_stmt_watch w[ORDERED];
    apr_time_t before[ORDERED], after[ORDERED];
    apr_thread_t *threads[ORDERED];
    reader readers[ORDERED];
    int sv[ORDERED][2];
    guard_thread t;
    apr_status_t rv;
    int i;

    (void)state;
    guard_start(&t, timeout);
    memset(w, 0, sizeof(w));
    for (i = 0; i < ORDERED; i++) {
        socket_pair(sv[i], i == 1);
        readers[i].fd = sv[i][0];
        readers[i].n = -2;
        assert_int_equal(apr_thread_create(&threads[i], NULL, read_until_cut, &readers[i],
                                           unit_pool), APR_SUCCESS);
    }
    for (i = 0; i < ORDERED; i++) {
        if (i > 0) {
            apr_sleep(apart);
        }
        before[i] = apr_time_now();
        assert_int_equal(goapi_stmt_guard_watch(t.g, &w[i], sv[i][0]), APR_SUCCESS);
        after[i] = apr_time_now();
    }
    for (i = 0; i < ORDERED; i++) {
        apr_thread_join(&rv, threads[i]);
    }
    for (i = 0; i < ORDERED; i++) {
        assert_int_equal(readers[i].n, 0);
        assert_true(readers[i].at >= before[i] + timeout);
        assert_true(readers[i].at < after[i] + timeout + MARGIN);
        if (i > 0) {
            assert_true(readers[i].at > readers[i - 1].at);
        }
        assert_int_equal(goapi_stmt_guard_unwatch(t.g, &w[i]), 1);
        assert_cut(sv[i][0], sv[i][1]);
        socket_pair_close(sv[i]);
    }
    assert_int_equal(goapi_stmt_guard_watched(t.g), 0);
    guard_stop(&t);
}

/* ---- the guard's thread stopped ---------------------------------------- */

static void test_stop_within_idle_step(void **state)
{
    goapi_stmt_watch w;
    guard_thread t;
    apr_uint32_t rounds;
    int sv[2];

    (void)state;
    /* nothing watched: it asks at least once per idle step, and a stop
     * ends it within one */
    guard_start(&t, apr_time_from_sec(2));
    apr_sleep(GOAPI_STMT_GUARD_IDLE * 3 + GOAPI_STMT_GUARD_IDLE / 2);
    rounds = apr_atomic_read32(&t.asked);
    assert_true(rounds >= 3);
    assert_true(guard_stop(&t) < GOAPI_STMT_GUARD_IDLE + MARGIN / 2);

    /* an exchange watched with its deadline far ahead: the same */
    guard_start(&t, apr_time_from_sec(30));
    socket_pair(sv, 0);
    memset(&w, 0, sizeof(w));
    assert_int_equal(goapi_stmt_guard_watch(t.g, &w, sv[0]), APR_SUCCESS);
    apr_sleep(GOAPI_STMT_GUARD_IDLE * 3 + GOAPI_STMT_GUARD_IDLE / 2);
    assert_true(apr_atomic_read32(&t.asked) >= 3);
    assert_true(guard_stop(&t) < GOAPI_STMT_GUARD_IDLE + MARGIN / 2);
    assert_int_equal(goapi_stmt_guard_unwatch(t.g, &w), 0);
    assert_open(sv[0], sv[1]);
    socket_pair_close(sv);
}

static void test_watch_fails_on_closed_number(void **state)
{
    goapi_stmt_guard *g;
    goapi_stmt_watch w;
    int sv[2];

    (void)state;
    assert_int_equal(goapi_stmt_guard_create(&g, apr_time_from_msec(10), unit_pool),
                     APR_SUCCESS);
    socket_pair(sv, 0);
    socket_pair_close(sv);
    memset(&w, 0, sizeof(w));
    assert_int_equal(goapi_stmt_guard_watch(g, &w, sv[0]), APR_FROM_OS_ERROR(EBADF));
    assert_int_equal(goapi_stmt_guard_watched(g), 0);
    assert_int_equal(goapi_stmt_guard_unwatch(g, &w), 0);
}

/* ---- many threads at once ---------------------------------------------- */

#define RACERS  8
#define ROUNDS  200

typedef struct {
    goapi_stmt_guard *g;
    int fd;
    int slow;                           /* every other exchange outlives 1 ms */
    int cuts;                           /* unwatch() said 1 */
    int wrong;                          /* a call that answered otherwise */
} racer;

static void *APR_THREAD_FUNC race(apr_thread_t *thd, void *data)
{
    racer *r = data;
    int i;

    for (i = 0; i < ROUNDS; i++) {
        /* on the heap and freed at once: the guard touching it after
         * unwatch() is an error the sanitizers see */
        goapi_stmt_watch *w = calloc(1, sizeof(*w));
        int cut;

        if (!w || goapi_stmt_guard_watch(r->g, w, r->fd) != APR_SUCCESS) {
            r->wrong++;
            free(w);
            continue;
        }
        if (r->slow && i % 2) {
            apr_sleep(apr_time_from_msec(3));
        }
        cut = goapi_stmt_guard_unwatch(r->g, w);
        r->cuts += cut;
        r->wrong += cut != 0 && cut != 1;
        free(w);
    }
    (void)thd;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

/* RACERS threads watch and unwatch at once on the sockets sv[i][0] under
 * a guard of this timeout; then nothing is left watched and every call
 * answered 0 or 1.  The exchanges unwatch() said were cut. */
static int race_all(racer *racers, int sv[][2], apr_interval_time_t timeout, int slow)
{
    apr_thread_t *threads[RACERS];
    guard_thread t;
    apr_status_t rv;
    int i, cuts = 0;

    guard_start(&t, timeout);
    for (i = 0; i < RACERS; i++) {
        racers[i].g = t.g;
        racers[i].fd = sv[i][0];
        racers[i].slow = slow;
        racers[i].cuts = racers[i].wrong = 0;
        assert_int_equal(apr_thread_create(&threads[i], NULL, race, &racers[i], unit_pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < RACERS; i++) {
        apr_thread_join(&rv, threads[i]);
    }
    assert_int_equal(goapi_stmt_guard_watched(t.g), 0);
    guard_stop(&t);
    for (i = 0; i < RACERS; i++) {
        assert_int_equal(racers[i].wrong, 0);
        cuts += racers[i].cuts;
    }
    return cuts;
}

static void test_many_threads_leave_nothing(void **state)
{
    racer racers[RACERS];
    int sv[RACERS][2];
    int i;

    (void)state;
    for (i = 0; i < RACERS; i++) {
        socket_pair(sv[i], i % 2);
    }
    /* every exchange in time: none cut */
    assert_int_equal(race_all(racers, sv, apr_time_from_sec(30), 0), 0);
    for (i = 0; i < RACERS; i++) {
        assert_open(sv[i][0], sv[i][1]);
    }
    /* a 1 ms timeout: the guard cuts while the threads unwatch */
    assert_true(race_all(racers, sv, apr_time_from_msec(1), 1) > 0);
    for (i = 0; i < RACERS; i++) {
        socket_pair_close(sv[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_past_timeout_socketpair),
        cmocka_unit_test(test_cut_past_timeout_tcp),
        cmocka_unit_test(test_unwatched_in_time_never_cut),
        cmocka_unit_test(test_reused_number_never_cut),
        cmocka_unit_test(test_cut_in_deadline_order),
        cmocka_unit_test(test_stop_within_idle_step),
        cmocka_unit_test(test_watch_fails_on_closed_number),
        cmocka_unit_test(test_many_threads_leave_nothing),
    };

    return cmocka_run_group_tests_name("goapi_stmt_guard", tests, unit_setup, unit_teardown);
}
