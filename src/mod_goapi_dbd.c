/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_dbd.c — the connections of GoapiIdempotencyStore dbd, lent by
 * mod_dbd (DBDriver, DBDParams, its pool per process: DBDMin, DBDKeep,
 * DBDMax, DBDExptime) to the ledger of src/goapi_store_dbd.c.
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
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_dbd.h"
#include "mod_dbd.h"

#include <apr_atomic.h>

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

void goapi_dbd_lender_of(server_rec *s, goapi_dbd_lender *out)
{
    out->acquire = goapi_dbd_lend;
    out->release = goapi_dbd_give_back;
    out->baton = s;
}
