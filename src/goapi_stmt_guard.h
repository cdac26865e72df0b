/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_stmt_guard.h — the deadline of a statement whose driver waits
 * without one: each exchange with the server is watched on its socket,
 * and one thread cuts (shutdown(2), both ways) the socket of an exchange
 * left unanswered past the guard's timeout, so the driver's call returns
 * with a failure.  The socket is known by its inode as well as its number,
 * so that a number closed and reused meanwhile is never cut.  Pure: APR
 * and libc only; the socket and the thread come from the caller.
 */
#ifndef GOAPI_STMT_GUARD_H
#define GOAPI_STMT_GUARD_H

#include <sys/types.h>

#include <apr_pools.h>
#include <apr_time.h>

/* The guard's longest sleep with nothing due: goapi_stmt_guard_run() asks
 * whether to stop at least this often. */
#define GOAPI_STMT_GUARD_IDLE   (100 * 1000)

typedef struct goapi_stmt_guard goapi_stmt_guard;

/* One exchange watched, the guard's from goapi_stmt_guard_watch() to
 * goapi_stmt_guard_unwatch(); zero it before its first use.  One exchange
 * at a time, watched and unwatched by the same thread. */
typedef struct goapi_stmt_watch {
    struct goapi_stmt_watch *next, *prev;
    int fd;
    dev_t dev;
    ino_t ino;
    apr_time_t deadline;
    int armed;                          /* in the guard's list */
    int cut;                            /* its deadline passed while watched */
} goapi_stmt_watch;

/* A guard whose exchanges may last timeout; its lock lives in p, which
 * must outlive every goapi_stmt_guard_watch() and _unwatch(). */
apr_status_t goapi_stmt_guard_create(goapi_stmt_guard **g, apr_interval_time_t timeout,
                                     apr_pool_t *p);

/* The exchange w starts on socket fd: its deadline is now plus the
 * guard's timeout.  APR_SUCCESS, or fstat(2)'s error (w not watched). */
apr_status_t goapi_stmt_guard_watch(goapi_stmt_guard *g, goapi_stmt_watch *w, int fd);

/* The exchange w ended: 1 when its deadline passed while it was watched
 * (its socket cut, unless the number was by then another file's), 0
 * otherwise (also for w not watched).  Once it returns the guard no longer
 * touches w. */
int goapi_stmt_guard_unwatch(goapi_stmt_guard *g, goapi_stmt_watch *w);

/* The guard's thread: cuts what is due, then sleeps until the next
 * deadline, at most GOAPI_STMT_GUARD_IDLE, woken by a watch when nothing
 * was due; returns once stopping(baton) says 1, asked before each round. */
void goapi_stmt_guard_run(goapi_stmt_guard *g, int (*stopping)(void *baton), void *baton);

/* The exchanges watched now. */
apr_size_t goapi_stmt_guard_watched(goapi_stmt_guard *g);

#endif /* GOAPI_STMT_GUARD_H */
