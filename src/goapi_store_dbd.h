/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_store_dbd.h — the idempotency ledger in an SQL database through
 * apr_dbd (PostgreSQL's pgsql driver is the one tested), one ledger for
 * every host that names the same database.  Pure: APR and APR-util only;
 * the connections come from the caller (mod_dbd's pool in httpd, a
 * connection of its own in the tests).  See goapi_store_dbd.c.
 */
#ifndef GOAPI_STORE_DBD_H
#define GOAPI_STORE_DBD_H

#include <apr_dbd.h>
#include <apr_hash.h>
#include <apr_pools.h>

#include "goapi_store.h"

/* A connection lent for one operation. */
typedef struct {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_hash_t *prepared;               /* the connection's statements by
                                         * label, kept by the store (NULL:
                                         * prepared again for each use) */
    apr_pool_t *pool;                   /* lives as long as the connection */
    void *token;                        /* the lender's */
    void *watch;                        /* the lender's, for watch() */
} goapi_dbd_conn;

/* Who lends the connections. */
typedef struct {
    /* A connection for one operation, *conn filled: APR_SUCCESS, or a
     * failure and *why in words that never hold a secret.  p lives until
     * the operation ends. */
    apr_status_t (*acquire)(void *baton, goapi_dbd_conn *conn, apr_pool_t *p,
                            const char **why);
    /* The connection back.  broken: a statement on it got no answer (the
     * lender checks or drops it before lending it again). */
    void (*release)(void *baton, goapi_dbd_conn *conn, int broken);
    /* Optional (NULL: no client-side deadline): around each exchange with
     * the server (a prepare, a statement), watch() starts the clock and
     * unwatch() stops it.  A server that has not answered within timeout
     * (stopped, frozen, its host's kernel still answering TCP) gets its
     * connection cut by the lender, so the driver's call returns with a
     * failure; unwatch() then says 1, and the store names it a timeout. */
    void (*watch)(void *baton, goapi_dbd_conn *conn);
    int (*unwatch)(void *baton, goapi_dbd_conn *conn);
    apr_interval_time_t timeout;        /* watch()'s, for the messages */
    void *baton;
} goapi_dbd_lender;

/* A store on the connections of lender (copied).  Nothing is connected
 * yet; the schema is made (or checked) on the first use in each process.
 * Closed when p is destroyed. */
apr_status_t goapi_store_dbd_open(goapi_store **st, const goapi_dbd_lender *lender,
                                  apr_pool_t *p);

/* The schema, as conf/goapi-ledger.sql ships it (PostgreSQL). */
extern const char goapi_store_dbd_schema[];

#endif /* GOAPI_STORE_DBD_H */
