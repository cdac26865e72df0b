/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Dependency checks against listeners on loopback, and name lookups bounded
 * by the check's time (getaddrinfo() interposed with a lookup that answers
 * only when the test lets it).
 */
#include <dlfcn.h>
#include <netdb.h>
#include <pthread.h>
#include <string.h>

#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "unit.h"
#include "goapi_check.h"

/* ---- getaddrinfo() interposed ---------------------------------------------
 *
 * A lookup of SLOW_NAME waits until the test opens the gate (2 s at most,
 * so that a check that waits for it cannot hang the suite), then finds
 * 127.0.0.1; every other lookup is the system's.  libapr calls
 * getaddrinfo() through its PLT, so a check that resolves with APR meets
 * the slow lookup too. */

#define SLOW_NAME "slow.check.test"

static pthread_mutex_t gate_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open = 1;
static int slow_waiting;                /* lookups of SLOW_NAME at the gate */

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    static int (*real)(const char *, const char *, const struct addrinfo *,
                       struct addrinfo **);

    if (!real) {
        *(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
    }
    if (node && strcmp(node, SLOW_NAME) == 0) {
        struct timespec until;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 2;
        pthread_mutex_lock(&gate_mutex);
        slow_waiting++;
        while (!gate_open) {
            if (pthread_cond_timedwait(&gate_cond, &gate_mutex, &until) != 0) {
                break;                  /* 2 s: the check under test hung */
            }
        }
        slow_waiting--;
        pthread_cond_broadcast(&gate_cond);
        pthread_mutex_unlock(&gate_mutex);
        node = "127.0.0.1";
    }
    return real(node, service, hints, res);
}

static void gate_set(int open)
{
    pthread_mutex_lock(&gate_mutex);
    gate_open = open;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_mutex);
}

/* Open the gate and wait until every slow lookup has gone through it and
 * its helper thread has ended. */
static void gate_drain(void)
{
    gate_set(1);
    pthread_mutex_lock(&gate_mutex);
    while (slow_waiting > 0) {
        pthread_cond_wait(&gate_cond, &gate_mutex);
    }
    pthread_mutex_unlock(&gate_mutex);
    apr_sleep(apr_time_from_msec(50));  /* the threads' last steps */
}

/* Wait until n lookups of SLOW_NAME wait at the gate (2 s at most). */
static void gate_wait_for(int n)
{
    int i, waiting = 0;

    for (i = 0; i < 2000; i++) {
        pthread_mutex_lock(&gate_mutex);
        waiting = slow_waiting;
        pthread_mutex_unlock(&gate_mutex);
        if (waiting >= n) {
            break;
        }
        apr_sleep(1000);
    }
    assert_int_equal(waiting, n);
}

/* ---- one-shot servers on loopback ------------------------------------------ */

typedef struct {
    apr_socket_t *listener;
    apr_port_t port;
    const char *answer;         /* what to send back; NULL: say nothing */
    apr_interval_time_t hold;   /* how long to keep a silent connection */
    char request[512];
} server;

static void *APR_THREAD_FUNC serve_one(apr_thread_t *t, void *data)
{
    server *sv = data;
    apr_socket_t *c;
    apr_pool_t *p;

    apr_pool_create(&p, NULL);
    if (apr_socket_accept(&c, sv->listener, p) == APR_SUCCESS) {
        apr_size_t n = sizeof(sv->request) - 1;

        apr_socket_timeout_set(c, apr_time_from_sec(2));
        if (apr_socket_recv(c, sv->request, &n) == APR_SUCCESS) {
            sv->request[n] = '\0';
        }
        if (sv->answer) {
            apr_size_t len = strlen(sv->answer);

            apr_socket_send(c, sv->answer, &len);
        }
        else {
            apr_sleep(sv->hold);
        }
        apr_socket_close(c);
    }
    apr_pool_destroy(p);
    (void)t;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

static void listen_on_loopback(server *sv)
{
    apr_sockaddr_t *sa;

    memset(sv->request, 0, sizeof(sv->request));
    assert_int_equal(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(apr_socket_create(&sv->listener, APR_INET, SOCK_STREAM, APR_PROTO_TCP,
                                       unit_pool), APR_SUCCESS);
    assert_int_equal(apr_socket_bind(sv->listener, sa), APR_SUCCESS);
    assert_int_equal(apr_socket_listen(sv->listener, 5), APR_SUCCESS);
    assert_int_equal(apr_socket_addr_get(&sa, APR_LOCAL, sv->listener), APR_SUCCESS);
    sv->port = sa->port;
}

/* Run a check of url (with %u for the port) against a one-shot server. */
static int check_against(server *sv, const char *url_fmt, apr_interval_time_t timeout,
                         const char **reason, apr_interval_time_t *took)
{
    apr_thread_t *t;
    apr_status_t rv;
    goapi_check_url u;
    apr_time_t t0;
    int ok;

    listen_on_loopback(sv);
    assert_int_equal(apr_thread_create(&t, NULL, serve_one, sv, unit_pool), APR_SUCCESS);
    assert_null(goapi_check_url_parse(unit_pool, apr_psprintf(unit_pool, url_fmt,
                                                              (unsigned)sv->port), &u));
    t0 = apr_time_now();
    ok = goapi_check_run(unit_pool, &u, timeout, reason);
    *took = apr_time_now() - t0;
    apr_thread_join(&rv, t);
    apr_socket_close(sv->listener);
    return ok;
}

static void test_tcp(void **state)
{
    server sv = { 0 };
    const char *why = NULL;
    apr_interval_time_t took;
    goapi_check_url u;
    apr_port_t closed;

    (void)state;
    sv.answer = "";
    assert_true(check_against(&sv, "tcp://127.0.0.1:%u", apr_time_from_sec(1), &why, &took));

    /* a port nobody listens on */
    listen_on_loopback(&sv);
    closed = sv.port;
    apr_socket_close(sv.listener);
    assert_null(goapi_check_url_parse(unit_pool, apr_psprintf(unit_pool, "tcp://127.0.0.1:%u",
                                                              (unsigned)closed), &u));
    assert_false(goapi_check_run(unit_pool, &u, apr_time_from_sec(1), &why));
    assert_string_equal(why, "connect: Connection refused");
}

static void test_http_statuses(void **state)
{
    server sv = { 0 };
    const char *why = NULL;
    apr_interval_time_t took;

    (void)state;
    sv.answer = "HTTP/1.1 204 No Content\r\n\r\n";
    assert_true(check_against(&sv, "http://127.0.0.1:%u/probe?x=1", apr_time_from_sec(1),
                              &why, &took));
    assert_true(strncmp(sv.request, "GET /probe?x=1 HTTP/1.1\r\nHost: 127.0.0.1:", 40) == 0);
    assert_non_null(strstr(sv.request, "Connection: close\r\n"));

    sv.answer = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
    assert_false(check_against(&sv, "http://127.0.0.1:%u/", apr_time_from_sec(1), &why, &took));
    assert_string_equal(why, "status 503");

    sv.answer = "HTTP/1.0 301 Moved\r\n\r\n";
    assert_false(check_against(&sv, "http://127.0.0.1:%u/", apr_time_from_sec(1), &why, &took));
    assert_string_equal(why, "status 301");

    sv.answer = "SSH-2.0-OpenSSH_9.2\r\n";
    assert_false(check_against(&sv, "http://127.0.0.1:%u/", apr_time_from_sec(1), &why, &took));
    assert_string_equal(why, "answer is not HTTP/1.x");
}

static void test_http_timeout(void **state)
{
    server sv = { 0 };
    const char *why = NULL;
    apr_interval_time_t took;

    (void)state;
    sv.answer = NULL;                       /* accept, then say nothing */
    sv.hold = apr_time_from_msec(800);
    assert_false(check_against(&sv, "http://127.0.0.1:%u/", apr_time_from_msec(200),
                               &why, &took));
    assert_string_equal(why, "receive: no answer within 200ms");
    assert_true(took >= apr_time_from_msec(190) && took < apr_time_from_msec(600));
}

static void test_http_closed_without_answer(void **state)
{
    server sv = { 0 };
    const char *why = NULL;
    apr_interval_time_t took;

    (void)state;
    sv.answer = "";
    assert_false(check_against(&sv, "http://127.0.0.1:%u/", apr_time_from_sec(1), &why, &took));
    assert_string_equal(why, "closed without an answer");
}

static void test_unresolvable(void **state)
{
    goapi_check_url u;
    const char *why = NULL;

    (void)state;
    assert_null(goapi_check_url_parse(unit_pool, "tcp://no-such-host.invalid:1", &u));
    assert_false(goapi_check_run(unit_pool, &u, apr_time_from_sec(1), &why));
    assert_true(strncmp(why, "resolve: ", 9) == 0);
}

static void test_deadline_spent(void **state)
{
    server sv = { 0 };
    goapi_check_url u;
    const char *why = NULL;

    (void)state;
    /* the time is spent before the connect begins (a numeric address takes
     * no lookup): it says so, not EINPROGRESS of a socket given no time */
    listen_on_loopback(&sv);                /* the kernel accepts, nobody answers */
    assert_null(goapi_check_url_parse(unit_pool, apr_psprintf(unit_pool, "tcp://127.0.0.1:%u",
                                                              (unsigned)sv.port), &u));
    assert_false(goapi_check_run(unit_pool, &u, 1, &why));
    assert_string_equal(why, "connect: no answer within 1us");

    u.kind = GOAPI_CHECK_HTTP;
    u.path = "/";
    assert_false(goapi_check_run(unit_pool, &u, 1, &why));
    assert_string_equal(why, "connect: no answer within 1us");
    apr_socket_close(sv.listener);
}

static void test_slow_lookup_bounded(void **state)
{
    goapi_check_url u;
    const char *why = NULL;
    apr_time_t t0;
    apr_interval_time_t took;

    (void)state;
    gate_set(0);
    assert_null(goapi_check_url_parse(unit_pool, "tcp://" SLOW_NAME ":1", &u));
    t0 = apr_time_now();
    assert_false(goapi_check_run(unit_pool, &u, apr_time_from_msec(200), &why));
    took = apr_time_now() - t0;
    assert_string_equal(why, "resolve: no answer within 200ms");
    assert_true(took >= apr_time_from_msec(190) && took < apr_time_from_msec(600));
    gate_drain();
}

static void test_slow_lookup_answers(void **state)
{
    server sv = { 0 };
    const char *why = NULL;
    apr_interval_time_t took;

    (void)state;
    /* a name that resolves in time: the check goes on to its address */
    sv.answer = "HTTP/1.1 200 OK\r\n\r\n";
    assert_true(check_against(&sv, "http://" SLOW_NAME ":%u/", apr_time_from_sec(1),
                              &why, &took));
    assert_true(strncmp(sv.request, "GET / HTTP/1.1\r\nHost: " SLOW_NAME ":", 38) == 0);
}

static void test_abandoned_lookups_capped(void **state)
{
    server sv = { 0 };
    goapi_check_url u;
    const char *why = NULL;
    apr_interval_time_t took;
    apr_time_t t0;
    int i;

    (void)state;
    /* each check gives up on its lookup, whose thread keeps waiting */
    gate_set(0);
    assert_null(goapi_check_url_parse(unit_pool, "tcp://" SLOW_NAME ":1", &u));
    for (i = 0; i < GOAPI_MAX_CHECKS; i++) {
        assert_false(goapi_check_run(unit_pool, &u, apr_time_from_msec(1), &why));
        assert_string_equal(why, "resolve: no answer within 1ms");
    }
    gate_wait_for(GOAPI_MAX_CHECKS);

    /* no more threads while those run: the next name fails at once */
    t0 = apr_time_now();
    assert_false(goapi_check_run(unit_pool, &u, apr_time_from_sec(1), &why));
    assert_true(apr_time_now() - t0 < apr_time_from_msec(100));
    assert_string_equal(why, "resolve: 32 earlier lookups still running");

    /* once they have ended, names resolve again */
    gate_drain();
    sv.answer = "";
    assert_true(check_against(&sv, "tcp://" SLOW_NAME ":%u", apr_time_from_sec(1),
                              &why, &took));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_http_statuses),
        cmocka_unit_test(test_http_timeout),
        cmocka_unit_test(test_http_closed_without_answer),
        cmocka_unit_test(test_unresolvable),
        cmocka_unit_test(test_deadline_spent),
        cmocka_unit_test(test_slow_lookup_bounded),
        cmocka_unit_test(test_slow_lookup_answers),
        cmocka_unit_test(test_abandoned_lookups_capped),
    };

    return cmocka_run_group_tests_name("goapi_check", tests, unit_setup, unit_teardown);
}
