/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_stmt_guard.c — the deadlines of the exchanges with a server whose
 * driver waits without one: the list of those watched, the thread that
 * cuts the socket of one past its deadline, and whether it did.
 *
 * The list is ordered by deadline: every exchange has the guard's one
 * timeout, so a new one goes at the end.  The thread walks it from the
 * start, cuts what is due and sleeps until the first deadline still ahead;
 * with nothing ahead it sleeps its idle step, and a watch wakes it.  The
 * cut is shutdown(2), both ways, of the number watched, once fstat(2)
 * shows it still names the file it named at the watch (the same device
 * and inode).
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <apr_errno.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>

#include "goapi_stmt_guard.h"

struct goapi_stmt_guard {
    apr_thread_mutex_t *lock;           /* the list and idle */
    apr_thread_cond_t *wake;
    goapi_stmt_watch ring;              /* the list's ends: ring.next the
                                         * first, ring.prev the last */
    int idle;                           /* the thread sleeps with nothing due */
    apr_interval_time_t timeout;
};

apr_status_t goapi_stmt_guard_create(goapi_stmt_guard **out, apr_interval_time_t timeout,
                                     apr_pool_t *p)
{
    goapi_stmt_guard *g = apr_pcalloc(p, sizeof(*g));
    apr_status_t rv;

    g->timeout = timeout;
    g->ring.next = g->ring.prev = &g->ring;
    if ((rv = apr_thread_mutex_create(&g->lock, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&g->wake, p)) != APR_SUCCESS) {
        return rv;
    }
    *out = g;
    return APR_SUCCESS;
}

apr_status_t goapi_stmt_guard_watch(goapi_stmt_guard *g, goapi_stmt_watch *w, int fd)
{
    struct stat sb;

    if (fstat(fd, &sb) != 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    w->fd = fd;
    w->dev = sb.st_dev;
    w->ino = sb.st_ino;
    w->cut = 0;
    w->deadline = apr_time_now() + g->timeout;
    apr_thread_mutex_lock(g->lock);
    w->next = &g->ring;
    w->prev = g->ring.prev;
    g->ring.prev->next = w;
    g->ring.prev = w;
    w->armed = 1;
    if (g->idle) {
        g->idle = 0;
        apr_thread_cond_signal(g->wake);
    }
    apr_thread_mutex_unlock(g->lock);
    return APR_SUCCESS;
}

int goapi_stmt_guard_unwatch(goapi_stmt_guard *g, goapi_stmt_watch *w)
{
    int cut;

    if (!w->armed) {
        return 0;
    }
    apr_thread_mutex_lock(g->lock);
    w->prev->next = w->next;
    w->next->prev = w->prev;
    w->armed = 0;
    cut = w->cut;
    apr_thread_mutex_unlock(g->lock);
    return cut;
}

/* Cut w's socket if its number still names the file watched. */
static void goapi_stmt_guard_cut(const goapi_stmt_watch *w)
{
    struct stat sb;

    if (fstat(w->fd, &sb) == 0 && sb.st_dev == w->dev && sb.st_ino == w->ino) {
        shutdown(w->fd, SHUT_RDWR);
    }
}

void goapi_stmt_guard_run(goapi_stmt_guard *g, int (*stopping)(void *baton), void *baton)
{
    apr_thread_mutex_lock(g->lock);
    while (!stopping(baton)) {
        apr_time_t now = apr_time_now();
        apr_interval_time_t wait = GOAPI_STMT_GUARD_IDLE;
        goapi_stmt_watch *w;
        int due = 0;

        for (w = g->ring.next; w != &g->ring; w = w->next) {
            if (w->cut) {
                continue;
            }
            if (w->deadline > now) {
                wait = w->deadline - now < wait ? w->deadline - now : wait;
                due = 1;
                break;
            }
            goapi_stmt_guard_cut(w);
            w->cut = 1;
        }
        g->idle = !due;
        apr_thread_cond_timedwait(g->wake, g->lock, wait);
    }
    g->idle = 0;
    apr_thread_mutex_unlock(g->lock);
}

apr_size_t goapi_stmt_guard_watched(goapi_stmt_guard *g)
{
    const goapi_stmt_watch *w;
    apr_size_t n = 0;

    apr_thread_mutex_lock(g->lock);
    for (w = g->ring.next; w != &g->ring; w = w->next) {
        n++;
    }
    apr_thread_mutex_unlock(g->lock);
    return n;
}
