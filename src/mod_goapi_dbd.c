/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_dbd.c — the connections of GoapiIdempotencyStore dbd, lent by
 * mod_dbd (DBDriver, DBDParams, its pool per process: DBDMin, DBDKeep,
 * DBDMax, DBDExptime) to the ledger of src/goapi_store_dbd.c, each
 * exchange on them watched by the statement guard (libpq's socket, the
 * guard's thread).
 *
 * mod_dbd is reached through its optional functions, so that mod_goapi
 * loads without it; a configuration that names the dbd store without it
 * does not start.  Each ledger operation takes a connection with
 * ap_dbd_open() and gives it back with ap_dbd_close() as soon as it ends,
 * in requests as in the background threads (the sweep, the settling of
 * orphaned claims): a request holds a connection for one statement, not
 * while its handler runs, so DBDMax bounds concurrent statements, not
 * concurrent requests.  mod_dbd checks a pooled connection before lending
 * it again (and resets a broken one), so a connection the ledger reports
 * broken needs nothing more here.
 *
 * The deadline of a statement: apr_dbd's pgsql driver waits for an answer
 * without a timeout of its own (libpq polls its socket with none).  A
 * server that is stopped or frozen while its host's kernel still answers
 * TCP would hold the request, and the connection, until it resumes.  So
 * each exchange of the ledger is watched by the statement guard of
 * src/goapi_stmt_guard.c, whose thread (one per process, started here in
 * child_init) cuts the socket of one left unanswered past
 * GoapiIdempotencyStoreTimeout.  libpq then reports the connection lost,
 * the statement fails at once, and the ledger names it a timeout (a write
 * in doubt, released once the server answers again, as after any lost
 * answer).  This file finds the socket: libpq's (PQsocket, from the libpq
 * the driver loaded); another driver's statements are not watched.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_dbd.h"
#include "mod_dbd.h"

#include <apr_atomic.h>

#include <dlfcn.h>

#include "goapi_stmt_guard.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

/* How long a connection may wait for mod_dbd's pool at a child's start. */
#define GOAPI_DBD_START_WAIT    (1000 * 1000)
#define GOAPI_DBD_START_STEP    (10 * 1000)

static APR_OPTIONAL_FN_TYPE(ap_dbd_open) *goapi_dbd_open_fn;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) *goapi_dbd_close_fn;
/* mod_dbd made its pool in this child (its child_init has run): until
 * then ap_dbd_open() fails without a word, and the threads mod_watchdog
 * starts in an earlier child_init may already ask. */
static volatile apr_uint32_t goapi_dbd_ready;

void goapi_dbd_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)pchild;
    (void)s;
    apr_atomic_set32(&goapi_dbd_ready, 1);
}

const char *goapi_dbd_missing(void)
{
    goapi_dbd_open_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    goapi_dbd_close_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    if (goapi_dbd_open_fn && goapi_dbd_close_fn) {
        return NULL;
    }
    return "GoapiIdempotencyStore dbd needs mod_dbd: load it (LoadModule dbd_module "
           "modules/mod_dbd.so, or a2enmod dbd) and set DBDriver pgsql and DBDParams "
           "in the main server";
}

static apr_status_t goapi_dbd_lend(void *baton, goapi_dbd_conn *conn, apr_pool_t *p,
                                   const char **why)
{
    server_rec *s = baton;
    ap_dbd_t *dbd;
    int i;

    for (i = 0; i < GOAPI_DBD_START_WAIT / GOAPI_DBD_START_STEP
                && !apr_atomic_read32(&goapi_dbd_ready); i++) {
        apr_sleep(GOAPI_DBD_START_STEP);
    }
    dbd = goapi_dbd_open_fn ? goapi_dbd_open_fn(p, s) : NULL;
    if (!dbd) {
        /* mod_dbd logged the driver's reason (never DBDParams) just before */
        *why = "mod_dbd has no connection to lend (DBDParams' server down, refusing, "
               "or its pool exhausted; mod_dbd's own error line says which)";
        return APR_ECONNREFUSED;
    }
    conn->driver = dbd->driver;
    conn->handle = dbd->handle;
    conn->prepared = dbd->prepared;
    conn->pool = dbd->pool;
    conn->token = dbd;
    return APR_SUCCESS;
}

static void goapi_dbd_give_back(void *baton, goapi_dbd_conn *conn, int broken)
{
    (void)broken;               /* mod_dbd checks it before lending it again */
    goapi_dbd_close_fn((server_rec *)baton, conn->token);
}

/* ---- the deadline of each exchange ---------------------------------------- */

typedef int (*goapi_pq_socket_fn)(const void *conn);

/* The guard of this process (NULL: not running, nothing watched), and
 * libpq's PQsocket once looked for. */
static goapi_stmt_guard *goapi_dbd_guard;
static goapi_pq_socket_fn goapi_dbd_pq_socket;
static volatile apr_uint32_t goapi_dbd_pq_looked;

static goapi_child_thread goapi_dbd_guard_thread = {
    NULL, 0, NULL, "idempotency store deadlines", NULL, 0, NULL
};

/* The socket of a pgsql connection, or -1 (another driver, no libpq). */
static int goapi_dbd_socket(const goapi_dbd_conn *conn)
{
    if (!apr_atomic_read32(&goapi_dbd_pq_looked)) {
        void *lib = dlopen("libpq.so.5", RTLD_LAZY | RTLD_NOLOAD);
        void *fn = dlsym(lib ? lib : RTLD_DEFAULT, "PQsocket");

        goapi_dbd_pq_socket = (goapi_pq_socket_fn)fn;
        if (lib) {
            dlclose(lib);               /* still loaded: the driver needs it */
        }
        apr_atomic_set32(&goapi_dbd_pq_looked, 1);
    }
    if (!goapi_dbd_pq_socket || strcmp(apr_dbd_name(conn->driver), "pgsql") != 0) {
        return -1;
    }
    return goapi_dbd_pq_socket(apr_dbd_native_handle(conn->driver, conn->handle));
}

static void goapi_dbd_watch_start(void *baton, goapi_dbd_conn *conn)
{
    int fd;

    (void)baton;
    if (conn->watch && goapi_dbd_guard && (fd = goapi_dbd_socket(conn)) >= 0) {
        goapi_stmt_guard_watch(goapi_dbd_guard, conn->watch, fd);
    }
}

static int goapi_dbd_watch_stop(void *baton, goapi_dbd_conn *conn)
{
    (void)baton;
    return conn->watch && goapi_dbd_guard
           ? goapi_stmt_guard_unwatch(goapi_dbd_guard, conn->watch) : 0;
}

static int goapi_dbd_guard_stopping(void *baton)
{
    return goapi_child_thread_stopping(baton);
}

static void *APR_THREAD_FUNC goapi_dbd_guard_run(apr_thread_t *thd, void *data)
{
    goapi_stmt_guard_run(data, goapi_dbd_guard_stopping, &goapi_dbd_guard_thread);
    (void)thd;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

static apr_status_t goapi_dbd_lend_watched(void *baton, goapi_dbd_conn *conn, apr_pool_t *p,
                                           const char **why)
{
    apr_status_t rv = goapi_dbd_lend(baton, conn, p, why);

    conn->watch = rv == APR_SUCCESS ? apr_pcalloc(p, sizeof(goapi_stmt_watch)) : NULL;
    return rv;
}

void goapi_dbd_lender_of(server_rec *s, apr_pool_t *pchild, goapi_dbd_lender *out)
{
    apr_interval_time_t timeout = goapi_sconf(s)->idem_store_timeout;
    apr_pool_t *p = s->process->pconf;  /* outlives every request's cleanup */
    goapi_stmt_guard *guard = NULL;

    out->acquire = goapi_dbd_lend_watched;
    out->release = goapi_dbd_give_back;
    out->watch = goapi_dbd_watch_start;
    out->unwatch = goapi_dbd_watch_stop;
    out->timeout = timeout;
    out->baton = s;
    goapi_dbd_guard = NULL;
    goapi_dbd_guard_thread.s = s;
    goapi_dbd_guard_thread.stall = 0;
    if (goapi_stmt_guard_create(&guard, timeout, p) != APR_SUCCESS
        || goapi_child_thread_start(&goapi_dbd_guard_thread, pchild, goapi_dbd_guard_run,
                                    guard) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, GOAPI_LOGNO(00191)
                     "cannot start the thread that bounds the idempotency store's "
                     "statements: a stopped PostgreSQL holds requests until it resumes");
        return;
    }
    goapi_dbd_guard = guard;
}
