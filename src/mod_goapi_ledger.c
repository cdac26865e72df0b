/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_ledger.c — the idempotency ledger's life, apart from the
 * request path (mod_goapi_idempotency.c): which store the configuration
 * names, its checks at startup (apachectl -t and post_config: the LMDB
 * file's owner, mode and size, the Redis server's durability and
 * replicas), the sweep of expired records (one child at a time, through
 * mod_watchdog), the store opened in each child with its replay cache and
 * its settling thread (orphaned claims released when no request does),
 * and the readiness check and metrics label of a shared store.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "unixd.h"

#include <apr_strings.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "goapi_replay_cache.h"
#include "goapi_store_lmdb.h"
#include "goapi_store_redis.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

#define GOAPI_SWEEP_WATCHDOG    "_goapi_sweep_"

/* The ledger of this process (opened after fork), and where it lives. */
static goapi_store *goapi_ledger;
static const char *goapi_ledger_name;   /* for logs: the file, or the Redis store
                                         * without its credentials */
static const char *goapi_ledger_path;   /* LMDB: the file */
static apr_size_t goapi_ledger_size;    /* LMDB: the map */
static const goapi_server_conf *goapi_ledger_redis;    /* Redis: where, how long */
static server_rec *goapi_ledger_dbd;    /* mod_dbd's database: whose DBDParams */
static apr_size_t goapi_ledger_cache_size;              /* GoapiIdempotencyReplayCache */
static goapi_replay_cache *goapi_ledger_cache;          /* this child's, or NULL */

/* Releases this child's orphaned claims when no request does. */
/* not a liveness check: it waits on the store, which may stall by design */
static goapi_child_thread goapi_settle_thread = {
    NULL, 0, NULL, "idempotency store settling", NULL, 0, NULL
};

goapi_store *goapi_ledger_store(void)
{
    return goapi_ledger;
}

goapi_replay_cache *goapi_ledger_replay_cache(void)
{
    return goapi_ledger_cache;
}

const char *goapi_ledger_shown(void)
{
    return goapi_ledger_name;
}

const char *goapi_ledger_why(apr_status_t rv, apr_pool_t *p)
{
    const char *why = goapi_ledger ? goapi_ledger->ops->error(goapi_ledger, rv) : NULL;
    char buf[120];

    return apr_pstrdup(p, why ? why : apr_strerror(rv, buf, sizeof(buf)));
}

/* Expired records go in the background, in one child at a time. */
static apr_status_t goapi_ledger_sweep(int state, void *data, apr_pool_t *pool)
{
    server_rec *s = data;
    apr_size_t removed = 0;
    apr_status_t rv;

    (void)pool;
    if (state == AP_WATCHDOG_STATE_STOPPING || !goapi_ledger) {
        return APR_SUCCESS;
    }
    rv = goapi_ledger->ops->sweep(goapi_ledger, apr_time_now(), &removed);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, GOAPI_LOGNO(00048)
                     "idempotency store %s: sweep failed", goapi_ledger_name);
    }
    else if (removed) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, GOAPI_LOGNO(00049)
                     "idempotency store: %" APR_SIZE_T_FMT " expired record(s) removed",
                     removed);
    }
    return APR_SUCCESS;
}

/* Where the ledger lives, or NULL when nothing needs one. */
static const char *goapi_ledger_where(apr_pool_t *p, server_rec *s,
                                           apr_size_t *size)
{
    const goapi_server_conf *sc = goapi_sconf(s);

    if (!sc->idem_store && !goapi_config_idempotency_used()) {
        return NULL;
    }
    *size = (apr_size_t)(sc->idem_store_size > 0 ? sc->idem_store_size
                                                 : GOAPI_DEFAULT_IDEM_STORE_SIZE);
    return sc->idem_store ? sc->idem_store
                          : ap_runtime_dir_relative(p, GOAPI_DEFAULT_IDEM_STORE_FILE);
}

/* The ledger's files belong to the server's User; running as root, every
 * reading of them by LMDB happens as that user. */
static void goapi_ledger_owner(goapi_store_owner *o)
{
    o->uid = ap_unixd_config.user_id;
    o->gid = ap_unixd_config.group_id;
    o->switch_user = geteuid() == 0;
}

/* One line for a ledger that cannot be used; the server does not start. */
static void goapi_ledger_refuse(server_rec *s, int flags, const char *path,
                              const goapi_ledger_report *rep)
{
    if (rep->state == GOAPI_LEDGER_DAMAGED) {
        ap_log_error(APLOG_MARK, flags | APLOG_CRIT, 0, s, GOAPI_LOGNO(00050)
                     "the idempotency store %s %s; nothing was read from it and the "
                     "server does not start. To recover, move %s and %s-lock aside "
                     "(keep them to inspect) and start again, which makes a new, empty "
                     "ledger; or set GoapiIdempotencyDamagedStore StartFresh to do so at "
                     "startup. Either way its records are lost: keys completed before "
                     "may run again", path, rep->detail, path, path);
    }
    else if (rep->state == GOAPI_LEDGER_UNSAFE) {
        ap_log_error(APLOG_MARK, flags | APLOG_CRIT, 0, s, GOAPI_LOGNO(00051)
                     "the idempotency store %s is refused: %s. Root does not open a "
                     "path that another user controls: keep the store in a directory "
                     "owned by root or the server's user that nobody else may write "
                     "to, and remove whatever was put there", path, rep->detail);
    }
    else {
        ap_log_error(APLOG_MARK, flags | APLOG_CRIT, 0, s, GOAPI_LOGNO(00055)
                     "the idempotency store %s %s", path, rep->detail);
    }
}

/* "apachectl -t": the same checks as a start, changing nothing. */
int goapi_ledger_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *s)
{
    const goapi_server_conf *sc = goapi_sconf(s);
    goapi_ledger_report rep;
    goapi_store_owner owner;
    apr_size_t size = 0;
    const char *path, *missing;

    (void)pconf;
    (void)plog;
    /* at every start and under -t, before anything is opened */
    if (sc->idem_dbd && (missing = goapi_dbd_missing()) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s, GOAPI_LOGNO(00170) "%s",
                     missing);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ap_state_query(AP_SQ_RUN_MODE) != AP_SQ_RM_CONFIG_TEST || sc->idem_redis
        || sc->idem_dbd || !(path = goapi_ledger_where(ptemp, s, &size))) {
        return OK;             /* a Redis store's URL was checked as it was read */
    }
    goapi_ledger_owner(&owner);
    goapi_store_lmdb_prepare(path, size, &owner, 0, &rep, ptemp);
    if (rep.state == GOAPI_LEDGER_SOUND || rep.state == GOAPI_LEDGER_ABSENT) {
        return OK;
    }
    if (rep.state == GOAPI_LEDGER_DAMAGED && sc->idem_damaged == GOAPI_DAMAGED_START_FRESH) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, s, GOAPI_LOGNO(00057)
                     "the idempotency store %s %s: at startup it will be moved aside and "
                     "a new, empty one made (GoapiIdempotencyDamagedStore StartFresh); "
                     "its records will be lost", path, rep.detail);
        return OK;
    }
    if (rep.state == GOAPI_LEDGER_FAILED) {
        /* e.g. -t run by a user who may not read the server's files */
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, s, GOAPI_LOGNO(00058)
                     "the idempotency store %s could not be checked (%s)", path,
                     rep.detail);
        return OK;
    }
    goapi_ledger_refuse(s, APLOG_STARTUP, path, &rep);
    return HTTP_INTERNAL_SERVER_ERROR;
}

/* The parent checks or creates the ledger, hands it to the children's user
 * and reserves its space; each child opens it for itself after fork. */
static int goapi_ledger_prepare(apr_pool_t *ptemp, server_rec *s, int on_damage)
{
    goapi_ledger_report rep;
    goapi_store_owner owner;
    char tag[APR_RFC822_DATE_LEN];
    apr_time_exp_t t;
    apr_size_t len;
    const char *moved;
    apr_status_t rv;

    goapi_ledger_owner(&owner);
    goapi_store_lmdb_prepare(goapi_ledger_path, goapi_ledger_size, &owner, 1, &rep, ptemp);
    if (rep.state == GOAPI_LEDGER_DAMAGED && on_damage == GOAPI_DAMAGED_START_FRESH) {
        apr_time_exp_gmt(&t, apr_time_now());
        apr_strftime(tag, &len, sizeof(tag), "%Y%m%dT%H%M%SZ", &t);
        rv = goapi_store_lmdb_move_aside(goapi_ledger_path, tag, &owner, &moved, ptemp);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, GOAPI_LOGNO(00059)
                         "the idempotency store %s %s, and it cannot be moved aside",
                         goapi_ledger_path, rep.detail);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        ap_log_error(APLOG_MARK, APLOG_ALERT, 0, s, GOAPI_LOGNO(00060)
                     "the idempotency store %s %s: moved to %s, and a new, empty ledger "
                     "is made (GoapiIdempotencyDamagedStore StartFresh). ITS RECORDS "
                     "ARE LOST: a key completed before may run again",
                     goapi_ledger_path, rep.detail, moved);
        goapi_store_lmdb_prepare(goapi_ledger_path, goapi_ledger_size, &owner, 1, &rep,
                                 ptemp);
    }
    if (rep.state != GOAPI_LEDGER_READY) {
        goapi_ledger_refuse(s, 0, goapi_ledger_path, &rep);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, GOAPI_LOGNO(00061)
                 "idempotency store %s: %s%s; %" APR_UINT64_T_FMT " bytes reserved on "
                 "disk", goapi_ledger_path, rep.created ? "created, " : "", rep.detail,
                 rep.map_size);
    return OK;
}

/* What a Redis ledger keeps across a restart and a failover, at startup. */
static void goapi_ledger_probe_durability(server_rec *s, const goapi_server_conf *sc,
                                        const goapi_redis_facts *f)
{
    int n = sc->idem_store_replicas;

    if (f->appendonly && !strcmp(f->appendonly, "no")) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, GOAPI_LOGNO(00131)
                     "idempotency store %s has appendonly no: a restart of Redis loses "
                     "every record, and every key completed before runs again; set "
                     "appendonly yes and appendfsync always%s", sc->idem_store_shown,
                     n ? "" : ", or keep replicas and set GoapiIdempotencyStoreReplicas");
    }
    else if (f->appendfsync && strcmp(f->appendfsync, "always") != 0) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, GOAPI_LOGNO(00135)
                     "idempotency store %s has appendfsync %s: a crash of its host may "
                     "lose the last second of records, and those keys run again; "
                     "appendfsync always closes that", sc->idem_store_shown,
                     f->appendfsync);
    }
    if (n && f->replicas >= 0 && f->replicas < n) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, GOAPI_LOGNO(00132)
                     "idempotency store %s has %d replica(s) online, and "
                     "GoapiIdempotencyStoreReplicas asks %d to acknowledge each claim: "
                     "until enough are, requests with an Idempotency-Key get 503 and the "
                     "idempotency-store readiness check fails", sc->idem_store_shown,
                     f->replicas, n);
    }
    if (n && f->min_replicas >= 0 && f->min_replicas < n) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, GOAPI_LOGNO(00133)
                     "idempotency store %s has min-replicas-to-write %d, fewer than "
                     "GoapiIdempotencyStoreReplicas (%d): a master cut off from its "
                     "replicas still takes writes that no replica holds (this module "
                     "releases its own; other writers' are lost in a failover); set "
                     "min-replicas-to-write %d", sc->idem_store_shown, f->min_replicas,
                     n, n);
    }
    else if (!n && f->replicas > 0) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, GOAPI_LOGNO(00134)
                     "idempotency store %s has %d replica(s) but "
                     "GoapiIdempotencyStoreReplicas is 0: a failover may lose claims a "
                     "replica never received, and their keys run again; set "
                     "GoapiIdempotencyStoreReplicas 1", sc->idem_store_shown, f->replicas);
    }
}

/* A Redis ledger at startup: reachable now, and keeping what it is given?
 * Either way the server starts: Redis may come up later, and until then
 * requests with an Idempotency-Key get 503. */
static void goapi_ledger_probe(server_rec *s, const goapi_server_conf *sc, apr_pool_t *ptemp)
{
    goapi_redis_facts facts;
    const char *policy, *why;

    if (goapi_store_redis_probe(sc->idem_redis, sc->idem_store_timeout, &facts, &why, ptemp)
        != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, GOAPI_LOGNO(00064)
                     "idempotency store %s cannot be reached now (%s): requests with an "
                     "Idempotency-Key get 503 until it can; the server starts anyway",
                     sc->idem_store_shown, why);
        return;
    }
    goapi_ledger_probe_durability(s, sc, &facts);
    policy = facts.policy;
    if (!policy) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, GOAPI_LOGNO(00079)
                     "idempotency store %s: its maxmemory-policy cannot be read (CONFIG "
                     "is refused); it must be noeviction, or Redis may evict records and "
                     "an evicted key runs again", sc->idem_store_shown);
    }
    else if (strcmp(policy, "noeviction") != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, GOAPI_LOGNO(00065)
                     "idempotency store %s has maxmemory-policy %s: Redis may evict "
                     "records to make room, and an evicted key runs again; set "
                     "maxmemory-policy noeviction", sc->idem_store_shown, policy);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, GOAPI_LOGNO(00080)
                     "idempotency store %s: reachable, maxmemory-policy noeviction",
                     sc->idem_store_shown);
    }
}

/* Expired records are deleted by one child at a time (a watchdog singleton). */
static int goapi_ledger_sweeper(apr_pool_t *pconf, server_rec *s, const goapi_server_conf *sc)
{
    apr_status_t rv = goapi_watchdog_every(pconf, s, GOAPI_SWEEP_WATCHDOG, sc->idem_sweep,
                                           goapi_ledger_sweep);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, GOAPI_LOGNO(00052)
                     "cannot set up the sweeper of the idempotency store "
                     "(mod_watchdog)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

int goapi_ledger_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s)
{
    const goapi_server_conf *sc = goapi_sconf(s);
    int st;

    (void)plog;
    goapi_ledger_path = goapi_ledger_name = NULL;
    goapi_ledger_redis = NULL;
    goapi_ledger_dbd = NULL;
    goapi_ledger_cache_size = (apr_size_t)sc->idem_replay_cache;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    if (sc->idem_redis) {
        /* Redis expires records itself: no file, no sweep */
        goapi_ledger_redis = sc;
        goapi_ledger_name = sc->idem_store_shown;
        goapi_ledger_probe(s, sc, ptemp);
        return OK;
    }
    if (sc->idem_dbd) {
        /* mod_dbd's functions, found (check_config refused a server
         * without them) */
        goapi_dbd_missing();
        /* the schema is made (or found) by each process's first operation:
         * mod_dbd lends connections only after fork */
        goapi_ledger_dbd = s;
        goapi_ledger_name = "dbd (mod_dbd's database)";
        return goapi_ledger_sweeper(pconf, s, sc);
    }
    if (!(goapi_ledger_path = goapi_ledger_where(pconf, s, &goapi_ledger_size))) {
        return OK;
    }
    goapi_ledger_name = goapi_ledger_path;
    if ((st = goapi_ledger_prepare(ptemp, s, sc->idem_damaged)) != OK) {
        return st;
    }
    return goapi_ledger_sweeper(pconf, s, sc);
}

/* This child's orphaned claims, released while no request comes. */
static void *APR_THREAD_FUNC goapi_ledger_settle(apr_thread_t *thd, void *data)
{
    server_rec *s = data;
    goapi_store *st = goapi_ledger;

    while (!goapi_child_thread_stopping(&goapi_settle_thread)) {
        apr_size_t released = 0, left = 0;

        st->ops->settle(st, &released, &left);
        if (released) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, GOAPI_LOGNO(00130)
                         "idempotency store %s: %" APR_SIZE_T_FMT " orphaned claim(s) "
                         "released (their requests got 503, nothing ran); %" APR_SIZE_T_FMT
                         " still watched", goapi_ledger_name, released, left);
        }
        apr_sleep(GOAPI_IDEM_SETTLE_INTERVAL);
    }
    (void)thd;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

/* The end of the child: nothing may use the store any more. */
static apr_status_t goapi_ledger_close(void *data)
{
    goapi_ledger = NULL;
    goapi_ledger_cache = NULL;
    apr_pool_destroy(data);
    return APR_SUCCESS;
}

void goapi_ledger_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_pool_t *p;
    apr_status_t rv;

    goapi_ledger = NULL;
    goapi_ledger_cache = NULL;
    if (!goapi_ledger_name) {
        return;
    }
    /* Not in pchild itself: the connection pools of the event MPM are
     * children of pconf, and their request cleanups may still look at the
     * store while pchild goes.  The store is closed by a cleanup of pchild
     * registered before mod_watchdog's (see mod_goapi.c), so it runs after
     * the sweeping thread has stopped. */
    rv = apr_pool_create(&p, s->process->pconf);
    if (rv == APR_SUCCESS) {
        apr_pool_tag(p, "goapi_ledger");
        if (goapi_ledger_dbd) {
            goapi_dbd_lender lender;

            goapi_dbd_lender_of(goapi_ledger_dbd, pchild, &lender);
            rv = goapi_store_dbd_open(&goapi_ledger, &lender, p);
        }
        else {
            rv = goapi_ledger_redis
                 ? goapi_store_redis_open(&goapi_ledger, goapi_ledger_redis->idem_redis,
                                          goapi_ledger_redis->idem_store_prefix,
                                          goapi_ledger_redis->idem_store_timeout,
                                          goapi_ledger_redis->idem_store_replicas, p)
                 : goapi_store_lmdb_open(&goapi_ledger, goapi_ledger_path,
                                         goapi_ledger_size, p);
        }
        if (rv == APR_SUCCESS) {
            goapi_ledger_cache = goapi_replay_cache_create(goapi_ledger_cache_size, p);
            apr_pool_cleanup_register(pchild, p, goapi_ledger_close, apr_pool_cleanup_null);
        }
    }
    if (rv == APR_SUCCESS && goapi_ledger->ops->settle) {
        /* joined by a pre-cleanup of pchild: before the store closes */
        goapi_settle_thread.s = s;
        if (goapi_child_thread_start(&goapi_settle_thread, pchild, goapi_ledger_settle, s)
            != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, GOAPI_LOGNO(00136)
                         "cannot start the settling thread of the idempotency store: "
                         "claims orphaned by a store failure are released only before "
                         "this process's next claim");
        }
    }
    if (rv != APR_SUCCESS) {
        goapi_ledger = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, GOAPI_LOGNO(00053)
                     "cannot open the idempotency store %s in this process: "
                     "requests with an Idempotency-Key get 503", goapi_ledger_name);
    }
}

/* ---- readiness and what other glue asks of the ledger ----------------------- */

const char *goapi_ledger_check_name(const goapi_server_conf *sc)
{
    return sc->idem_redis || sc->idem_dbd ? GOAPI_STORE_CHECK_NAME : NULL;
}

const char *goapi_ledger_kind(void)
{
    return !goapi_ledger_name ? NULL : goapi_ledger_dbd ? "dbd"
           : goapi_ledger_redis ? "redis" : "lmdb";
}

int goapi_ledger_ping(apr_pool_t *p, const char **why)
{
    apr_status_t rv;

    if (!goapi_ledger) {
        *why = "no idempotency store in this process (see the error at its start)";
        return 0;
    }
    rv = goapi_ledger->ops->ping(goapi_ledger);
    if (rv != APR_SUCCESS) {
        *why = goapi_ledger_why(rv, p);
        return 0;
    }
    return 1;
}
