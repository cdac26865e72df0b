/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_check.c — dependency checks over APR sockets, every step (name
 * lookup included) within the check's time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <apr_strings.h>

#include "goapi_check.h"
#include "goapi_parse.h"

/* The time left before deadline, or 0 when it has passed. */
static apr_interval_time_t goapi_left(apr_time_t deadline)
{
    apr_interval_time_t left = deadline - apr_time_now();

    return left > 0 ? left : 0;
}

static const char *goapi_io_error(apr_pool_t *p, const char *what, apr_status_t rv,
                                  apr_interval_time_t timeout)
{
    char buf[120];

    if (APR_STATUS_IS_TIMEUP(rv) || APR_STATUS_IS_ETIMEDOUT(rv)) {
        char d[32];

        return apr_psprintf(p, "%s: no answer within %s", what,
                            goapi_format_duration(timeout, d));
    }
    return apr_psprintf(p, "%s: %s", what, apr_strerror(rv, buf, sizeof(buf)));
}

/* The check's time is spent before step what could begin.  A socket given
 * no time at all would not wait but fail at once (EINPROGRESS, EAGAIN),
 * which says nothing of the time: say it as a step that timed out does. */
static const char *goapi_out_of_time(apr_pool_t *p, const char *what,
                                     apr_interval_time_t timeout)
{
    return goapi_io_error(p, what, APR_TIMEUP, timeout);
}

/* ---- name lookup within the check's time ---------------------------------
 *
 * getaddrinfo() takes no timeout: an unanswering DNS server holds it for
 * resolv.conf's timeout x attempts x servers (30 s is common), far past
 * GoapiReadyCheckTimeout.  A numeric address needs no lookup and is parsed
 * in place.  A name is looked up in a helper thread that the check waits
 * for until its deadline and then abandons: the thread is detached, and the
 * lookup it shares with the check (all in malloc()ed memory, nothing from
 * the check's pool) is freed by whichever of the two lets go last.  This is
 * simpler than getaddrinfo_a(), whose request cannot always be cancelled
 * (EAI_NOTCANCELED) and must then still be freed when it ends, and which
 * needs -lanl before glibc 2.34.  An abandoned thread ends when its lookup
 * does; at most GOAPI_MAX_CHECKS run at once in a process, so a resolver
 * that never answers cannot pile them up (further names fail at once).  The
 * thread runs this module's code: only children run checks, and a child
 * exits without unloading the module. */

typedef struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;        /* signalled when done */
    int refs;                   /* 2 while the check waits, then 1 */
    int done;
    int rc;                     /* getaddrinfo()'s answer */
    int sys_errno;              /* errno, for EAI_SYSTEM */
    int family;                 /* of addr */
    char addr[INET6_ADDRSTRLEN];/* the first address found, numeric */
    char host[];                /* the name looked up */
} goapi_lookup;

static pthread_mutex_t goapi_lookups_mutex = PTHREAD_MUTEX_INITIALIZER;
static int goapi_lookups_running;       /* helper threads alive */

/* Let go of l, whose mutex the caller holds. */
static void goapi_lookup_release(goapi_lookup *l)
{
    int last = --l->refs == 0;

    pthread_mutex_unlock(&l->mutex);
    if (last) {
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->mutex);
        free(l);
    }
}

/* The first IPv4 or IPv6 address of list, as text in l. */
static int goapi_lookup_first(goapi_lookup *l, const struct addrinfo *list)
{
    const struct addrinfo *ai;

    for (ai = list; ai; ai = ai->ai_next) {
        const void *a = ai->ai_family == AF_INET
                        ? (const void *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr
                        : ai->ai_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                        : NULL;

        if (a && inet_ntop(ai->ai_family, a, l->addr, sizeof(l->addr))) {
            l->family = ai->ai_family;
            return 0;
        }
    }
    return EAI_NONAME;
}

static void *goapi_lookup_run(void *data)
{
    goapi_lookup *l = data;
    struct addrinfo hints, *list = NULL;
    int rc, err;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;     /* as APR asks for APR_UNSPEC */
    rc = getaddrinfo(l->host, NULL, &hints, &list);
    err = errno;
    pthread_mutex_lock(&l->mutex);
    l->rc = rc ? rc : goapi_lookup_first(l, list);
    l->sys_errno = err;
    l->done = 1;
    pthread_cond_signal(&l->cond);
    goapi_lookup_release(l);
    if (list) {
        freeaddrinfo(list);
    }
    pthread_mutex_lock(&goapi_lookups_mutex);
    goapi_lookups_running--;
    pthread_mutex_unlock(&goapi_lookups_mutex);
    return NULL;
}

/* A new lookup of host, its condition variable on the monotonic clock (the
 * wait must not stretch when the wall clock is set back); NULL if out of
 * memory. */
static goapi_lookup *goapi_lookup_make(const char *host)
{
    size_t len = strlen(host);
    goapi_lookup *l = calloc(1, sizeof(*l) + len + 1);
    pthread_condattr_t ca;

    if (!l) {
        return NULL;
    }
    memcpy(l->host, host, len + 1);
    l->refs = 2;
    pthread_mutex_init(&l->mutex, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cond, &ca);
    pthread_condattr_destroy(&ca);
    return l;
}

/* Start l's helper thread, detached, with every signal blocked (the
 * server's signals are for its own threads): 0, or an errno. */
static int goapi_lookup_start(goapi_lookup *l)
{
    pthread_attr_t attr;
    pthread_t thread;
    sigset_t all, old;
    int rc;

    pthread_mutex_lock(&goapi_lookups_mutex);
    if (goapi_lookups_running >= GOAPI_MAX_CHECKS) {
        pthread_mutex_unlock(&goapi_lookups_mutex);
        return EAGAIN;
    }
    goapi_lookups_running++;
    pthread_mutex_unlock(&goapi_lookups_mutex);

    sigfillset(&all);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&thread, &attr, goapi_lookup_run, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_lock(&goapi_lookups_mutex);
        goapi_lookups_running--;
        pthread_mutex_unlock(&goapi_lookups_mutex);
    }
    return rc;
}

/* Wait for l until deadline: 1 when it is done, 0 when the time ran out
 * first; l->mutex is held on return either way. */
static int goapi_lookup_wait(goapi_lookup *l, apr_time_t deadline)
{
    apr_interval_time_t left = goapi_left(deadline);
    struct timespec until;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(left / APR_USEC_PER_SEC);
    until.tv_nsec += (long)(left % APR_USEC_PER_SEC) * 1000;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->mutex);
    while (!l->done) {
        if (pthread_cond_timedwait(&l->cond, &l->mutex, &until) == ETIMEDOUT) {
            return l->done;
        }
    }
    return 1;
}

/* The first address of u->host, found within deadline; NULL and *why if
 * there is none. */
static apr_sockaddr_t *goapi_resolve(apr_pool_t *p, const goapi_check_url *u,
                                     apr_time_t deadline, apr_interval_time_t timeout,
                                     const char **why)
{
    unsigned char bin[sizeof(struct in6_addr)];
    apr_sockaddr_t *sa = NULL;
    goapi_lookup *l;
    apr_status_t rv;
    int rc;

    /* an address: no lookup, and a family given keeps APR from asking DNS */
    if (inet_pton(AF_INET, u->host, bin) == 1 || inet_pton(AF_INET6, u->host, bin) == 1) {
        rv = apr_sockaddr_info_get(&sa, u->host, strchr(u->host, ':') ? APR_INET6 : APR_INET,
                                   u->port, 0, p);
        *why = rv == APR_SUCCESS ? NULL : goapi_io_error(p, "resolve", rv, timeout);
        return rv == APR_SUCCESS ? sa : NULL;
    }
    if (!goapi_left(deadline)) {
        *why = goapi_out_of_time(p, "resolve", timeout);
        return NULL;
    }
    if (!(l = goapi_lookup_make(u->host))) {
        *why = goapi_io_error(p, "resolve", APR_ENOMEM, timeout);
        return NULL;
    }
    if ((rc = goapi_lookup_start(l)) != 0) {
        l->refs = 1;            /* no thread ever saw it */
        pthread_mutex_lock(&l->mutex);
        goapi_lookup_release(l);
        *why = rc == EAGAIN
               ? apr_psprintf(p, "resolve: %d earlier lookups still running",
                              GOAPI_MAX_CHECKS)
               : goapi_io_error(p, "resolve", APR_FROM_OS_ERROR(rc), timeout);
        return NULL;
    }
    *why = NULL;
    if (!goapi_lookup_wait(l, deadline)) {
        *why = goapi_out_of_time(p, "resolve", timeout);
    }
    else if (l->rc == EAI_SYSTEM) {
        *why = goapi_io_error(p, "resolve", APR_FROM_OS_ERROR(l->sys_errno), timeout);
    }
    else if (l->rc != 0) {
        *why = apr_psprintf(p, "resolve: %s", gai_strerror(l->rc));
    }
    else {
        rv = apr_sockaddr_info_get(&sa, l->addr, l->family == AF_INET6 ? APR_INET6 : APR_INET,
                                   u->port, 0, p);
        if (rv != APR_SUCCESS) {
            *why = goapi_io_error(p, "resolve", rv, timeout);
            sa = NULL;
        }
    }
    goapi_lookup_release(l);
    return sa;
}

/* ---- the check ----------------------------------------------------------- */

/* Send a GET and read up to the end of the status line. */
static int goapi_check_http(apr_pool_t *p, apr_socket_t *sock, const goapi_check_url *u,
                            apr_time_t deadline, apr_interval_time_t timeout,
                            const char **reason)
{
    const char *req = apr_psprintf(p, "GET %s HTTP/1.1\r\nHost: %s%s%s:%u\r\n"
                                   "User-Agent: mod_goapi-readycheck\r\n"
                                   "Connection: close\r\n\r\n", u->path,
                                   strchr(u->host, ':') ? "[" : "", u->host,
                                   strchr(u->host, ':') ? "]" : "", (unsigned)u->port);
    apr_interval_time_t left = goapi_left(deadline);
    apr_size_t len = strlen(req), got = 0;
    char buf[256];
    apr_status_t rv;
    int status;

    if (!left) {
        *reason = goapi_out_of_time(p, "send", timeout);
        return 0;
    }
    apr_socket_timeout_set(sock, left);
    rv = apr_socket_send(sock, req, &len);
    if (rv != APR_SUCCESS) {
        *reason = goapi_io_error(p, "send", rv, timeout);
        return 0;
    }
    /* cppcheck-suppress legacyUninitvar ; memchr() runs once got >= 13 */
    while ((got < 13 || !memchr(buf, '\n', got)) && got < sizeof(buf) - 1) {
        apr_size_t n = sizeof(buf) - 1 - got;

        if (!(left = goapi_left(deadline))) {
            if (got < 13) {
                *reason = goapi_out_of_time(p, "receive", timeout);
                return 0;
            }
            break;
        }
        apr_socket_timeout_set(sock, left);
        rv = apr_socket_recv(sock, buf + got, &n);
        got += n;
        if (rv != APR_SUCCESS) {
            if (got < 13) {
                *reason = APR_STATUS_IS_EOF(rv) ? "closed without an answer"
                                                : goapi_io_error(p, "receive", rv, timeout);
                return 0;
            }
            break;
        }
    }
    status = goapi_http_status(buf, got);
    if (status < 0) {
        *reason = got ? "answer is not HTTP/1.x" : "no answer";
        return 0;
    }
    if (status < 200 || status > 299) {
        *reason = apr_psprintf(p, "status %d", status);
        return 0;
    }
    return 1;
}

apr_socket_t *goapi_check_connect(apr_pool_t *p, const goapi_check_url *u,
                                  apr_time_t deadline, apr_interval_time_t timeout,
                                  const char **reason)
{
    apr_interval_time_t left;
    apr_sockaddr_t *sa;
    apr_socket_t *sock;
    apr_status_t rv;

    if (!(sa = goapi_resolve(p, u, deadline, timeout, reason))) {
        return NULL;
    }
    rv = apr_socket_create(&sock, sa->family, SOCK_STREAM, APR_PROTO_TCP, p);
    if (rv != APR_SUCCESS) {
        *reason = goapi_io_error(p, "socket", rv, timeout);
        return NULL;
    }
    /* once given no time, a socket is non-blocking: connect() would fail
     * with EINPROGRESS instead of waiting */
    if (!(left = goapi_left(deadline))) {
        *reason = goapi_out_of_time(p, "connect", timeout);
        apr_socket_close(sock);
        return NULL;
    }
    apr_socket_timeout_set(sock, left);
    rv = apr_socket_connect(sock, sa);
    if (rv != APR_SUCCESS) {
        *reason = goapi_io_error(p, "connect", rv, timeout);
        apr_socket_close(sock);
        return NULL;
    }
    return sock;
}

int goapi_check_run(apr_pool_t *p, const goapi_check_url *u,
                    apr_interval_time_t timeout, const char **reason)
{
    apr_time_t deadline = apr_time_now() + timeout;
    apr_socket_t *sock = goapi_check_connect(p, u, deadline, timeout, reason);
    int ok;

    if (!sock) {
        return 0;
    }
    ok = u->kind == GOAPI_CHECK_TCP ? 1 : goapi_check_http(p, sock, u, deadline, timeout, reason);
    apr_socket_close(sock);
    return ok;
}
