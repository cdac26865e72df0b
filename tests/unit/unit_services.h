/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * unit_services.h — the servers the ledger's unit tests talk to, each
 * started here in a temp dir on a free loopback port and stopped by its
 * pid: a redis-server (Debian's), and a PostgreSQL cluster (Debian's,
 * initialised here, run as the postgres user when the test runs as root)
 * with a small pool of apr_dbd connections lent to the store as mod_dbd
 * lends them; and the records the tests claim and complete.  A server that
 * is not installed is said so on stderr, and its tests are skipped.  Every
 * function answers with a status the test asserts on; none asserts itself.
 */
#ifndef GOAPI_UNIT_SERVICES_H
#define GOAPI_UNIT_SERVICES_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_dbd.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <hiredis/hiredis.h>

#include "unit.h"
#include "goapi_store_dbd.h"

#define UNIT_REDIS_SERVER "/usr/bin/redis-server"
#define UNIT_PG_BIN "/usr/lib/postgresql/15/bin"
#define UNIT_PG_POSTGRES "/usr/lib/postgresql/15/bin/postgres"
#define UNIT_PG_INITDB "/usr/lib/postgresql/15/bin/initdb"

/* A loopback port nothing listens on now: the port, or -1. */
static inline int unit_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), p;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0) {
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0
        || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    p = ntohs(a.sin_port);
    close(fd);
    return p;
}

/* Stop the process pid with sig (SIGCONT first, should it be stopped) and
 * reap it; *pid is then -1.  Nothing when *pid is not a child's. */
static inline void unit_stop_pid(pid_t *pid, int sig)
{
    int status;

    if (*pid > 0) {
        kill(*pid, SIGCONT);
        kill(*pid, sig);
        waitpid(*pid, &status, 0);
        *pid = -1;
    }
}

/* A test whose server is not installed: skipped. */
static inline void unit_skipped(void **state)
{
    (void)state;
    skip();
}

/* Unless installed, every one of the n tests is skipped (run as
 * unit_skipped(), without its setup and teardown). */
static inline void unit_skip_unless(struct CMUnitTest *tests, size_t n, int installed)
{
    size_t i;

    for (i = 0; !installed && i < n; i++) {
        tests[i].test_func = unit_skipped;
        tests[i].setup_func = NULL;
        tests[i].teardown_func = NULL;
    }
}

/* ---- records ------------------------------------------------------------- */

/* The ledger key of an Idempotency-Key sent to localhost:80. */
static inline void unit_key_of(unsigned char k[GOAPI_SHA256_LEN], const char *key)
{
    goapi_idem_ledger_key(k, "localhost:80", key);
}

/* An in-flight claim made at now, with its lease and its life from then;
 * every byte of its fingerprint 0xa0 + claim_id % 16. */
static inline goapi_idem_record unit_in_flight(apr_uint64_t claim_id, apr_time_t now,
                                               apr_time_t lease, apr_time_t life)
{
    goapi_idem_record r;

    memset(&r, 0, sizeof(r));
    r.state = GOAPI_IDEM_IN_FLIGHT;
    r.claim_id = claim_id;
    r.created = now;
    r.lease_end = now + lease;
    r.expires = now + life;
    memset(r.fingerprint, 0xa0 + (int)(claim_id % 16), sizeof(r.fingerprint));
    return r;
}

/* The claim completed: a replayable 201 with two headers (Location,
 * Content-Type, made in p) and body, kept for life from the claim's
 * creation. */
static inline goapi_idem_record unit_completed(const goapi_idem_record *claim, apr_time_t life,
                                               const char *body, apr_pool_t *p)
{
    goapi_idem_record r = *claim;
    goapi_idem_header *h;

    r.state = GOAPI_IDEM_COMPLETED;
    r.flags = GOAPI_IDEM_F_REPLAYABLE;
    r.expires = claim->created + life;
    r.status = 201;
    r.headers = apr_array_make(p, 2, sizeof(goapi_idem_header));
    h = apr_array_push(r.headers);
    h->name = "Location";
    h->value = "/parcels/p1/dispatches/7";
    h = apr_array_push(r.headers);
    h->name = "Content-Type";
    h->value = "text/plain; charset=utf-8";
    r.body = body;
    r.body_len = strlen(body);
    return r;
}

/* ---- Redis ----------------------------------------------------------------- */

typedef struct {
    char dir[64];               /* its working dir (its log: redis.log) */
    int port;
    pid_t pid;                  /* -1 when not running */
    int installed;              /* unit_redis_installed() */
} unit_redis;

/* Is redis-server installed?  1, or 0 after saying on stderr that test's
 * Redis tests are skipped; r->installed too. */
static inline int unit_redis_installed(unit_redis *r, const char *test)
{
    r->pid = -1;
    r->installed = access(UNIT_REDIS_SERVER, X_OK) == 0;
    if (!r->installed) {
        fprintf(stderr, "%s: no redis-server (%s): its tests are skipped\n", test,
                UNIT_REDIS_SERVER);
    }
    return r->installed;
}

/* A command (formatted as redisCommand() does) on a connection of its own
 * to the Redis on port, in database db: its reply (for freeReplyObject()),
 * or NULL. */
static inline redisReply *unit_redis_vcommand(int port, int db, const char *fmt, va_list ap)
{
    struct timeval tv = { 2, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *r = NULL;

    if (c && !c->err && (r = redisCommand(c, "SELECT %d", db)) != NULL) {
        freeReplyObject(r);
        r = redisvCommand(c, fmt, ap);
    }
    if (c) {
        redisFree(c);
    }
    return r;
}

static inline redisReply *unit_redis_command(int port, int db, const char *fmt, ...)
{
    redisReply *r;
    va_list ap;

    va_start(ap, fmt);
    r = unit_redis_vcommand(port, db, fmt, ap);
    va_end(ap);
    return r;
}

/* Does a Redis on port answer PING (without a password)?  1 or 0. */
static inline int unit_redis_answers(int port)
{
    redisReply *r = unit_redis_command(port, 0, "PING");
    int ok = r && r->type == REDIS_REPLY_STATUS;

    if (r) {
        freeReplyObject(r);
    }
    return ok;
}

/* Runs redis-server on port in dir, with the arguments more (NULL-ended,
 * may be NULL) after its own: its pid, or -1.  It does not wait. */
static inline pid_t unit_redis_spawn(const char *dir, int port, const char *const *more)
{
    char portbuf[16];
    const char *argv[32] = { UNIT_REDIS_SERVER, "--port", portbuf, "--bind", "127.0.0.1",
                             "--dir", dir, "--save", "", "--appendonly", "no",
                             "--logfile", "redis.log" };
    int n = 13;
    pid_t pid;

    snprintf(portbuf, sizeof(portbuf), "%d", port);
    while (more && *more && n < 31) {
        argv[n++] = *more++;
    }
    argv[n] = NULL;
    pid = fork();
    if (pid == 0) {
        execv(UNIT_REDIS_SERVER, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Starts r's server (with requirepass when password is set) and waits
 * until it answers, or, with a password (PING then needs AUTH), 0.3 s for
 * it to listen: 0, or -1 when it does not answer. */
static inline int unit_redis_start(unit_redis *r, const char *password)
{
    const char *more[] = { "--requirepass", password, NULL };
    int i;

    r->pid = unit_redis_spawn(r->dir, r->port, password ? more : NULL);
    if (r->pid < 0) {
        return -1;
    }
    if (password) {
        usleep(300000);
        return 0;
    }
    for (i = 0; i < 200 && !unit_redis_answers(r->port); i++) {
        usleep(20000);
    }
    return unit_redis_answers(r->port) ? 0 : -1;
}

static inline void unit_redis_stop(unit_redis *r)
{
    unit_stop_pid(&r->pid, SIGTERM);
}

/* A dir (/tmp/<prefix>-XXXXXX) and a port for r, and its server started:
 * 0, or -1. */
static inline int unit_redis_up(unit_redis *r, const char *prefix)
{
    r->pid = -1;
    if (unit_make_dir(r->dir, sizeof(r->dir), prefix) != 0) {
        r->dir[0] = '\0';
        return -1;
    }
    if ((r->port = unit_free_port()) < 0) {
        return -1;
    }
    return unit_redis_start(r, NULL);
}

/* r's server stopped and its dir removed: 0, or -1. */
static inline int unit_redis_down(unit_redis *r)
{
    unit_redis_stop(r);
    if (r->dir[0] && unit_remove_dir(r->dir) != 0) {
        return -1;
    }
    r->dir[0] = '\0';
    return 0;
}

/* For a group's setup, after unit_setup() and unit_redis_installed(): r's
 * server started when it is installed: 0, or -1 when it does not start. */
static inline int unit_redis_group(unit_redis *r, const char *prefix)
{
    return r->installed ? unit_redis_up(r, prefix) : 0;
}

/* ---- PostgreSQL -------------------------------------------------------------- */

typedef struct {
    char dir[64];               /* the cluster is dir/data, its socket in dir */
    int port;
    pid_t pid;                  /* -1 when not running */
    uid_t uid;                  /* the postgres user, when run as root */
    gid_t gid;
    const apr_dbd_driver_t *driver;
    apr_pool_t *pool;           /* where its strings live */
    int installed;              /* unit_pg_installed() */
} unit_pg;

/* Are postgres and apr_dbd's pgsql driver (loaded into p, which lasts
 * as long as pg) installed?  1 (pg->driver set), or 0 after saying on
 * stderr that test's PostgreSQL tests are skipped; pg->installed too. */
static inline int unit_pg_installed(unit_pg *pg, const char *test, apr_pool_t *p)
{
    pg->pid = -1;
    pg->dir[0] = '\0';
    pg->pool = p;
    pg->installed = access(UNIT_PG_POSTGRES, X_OK) == 0 && apr_dbd_init(p) == APR_SUCCESS
                    && apr_dbd_get_driver(p, "pgsql", &pg->driver) == APR_SUCCESS;
    if (!pg->installed) {
        fprintf(stderr, "%s: no PostgreSQL (%s) or no apr_dbd pgsql driver "
                "(libaprutil1-dbd-pgsql): its tests are skipped\n", test, UNIT_PG_BIN);
    }
    return pg->installed;
}

/* In a child: become the postgres user when root (postgres refuses root). */
static inline void unit_pg_as_postgres(const unit_pg *pg)
{
    if (geteuid() != 0) {
        return;
    }
    if (setgroups(0, NULL) != 0 || setgid(pg->gid) != 0 || setuid(pg->uid) != 0) {
        _exit(126);
    }
}

/* Runs argv as the postgres user, its output to /dev/null: its exit
 * status, or -1. */
static inline int unit_pg_run(const unit_pg *pg, const char *const *argv)
{
    int status;
    pid_t pid = fork();

    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        if (null >= 0) {
            dup2(null, 1);
        }
        unit_pg_as_postgres(pg);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The connection parameters of user on db. */
static inline const char *unit_pg_params(const unit_pg *pg, const char *user, const char *db)
{
    return apr_psprintf(pg->pool, "host=127.0.0.1 port=%d user=%s dbname=%s "
                        "connect_timeout=2", pg->port, user, db);
}

/* One statement as the superuser goapi, on a connection of its own: 0, or
 * the driver's code (-1 when no connection was made). */
static inline int unit_pg_query(const unit_pg *pg, const char *sql)
{
    apr_pool_t *p;
    apr_dbd_t *h = NULL;
    const char *err = NULL;
    int rc = -1, n = 0;

    if (apr_pool_create(&p, pg->pool) != APR_SUCCESS) {
        return -1;
    }
    if (apr_dbd_open_ex(pg->driver, p, unit_pg_params(pg, "goapi", "postgres"), &h,
                        &err) == APR_SUCCESS) {
        rc = apr_dbd_query(pg->driver, h, &n, sql);
        apr_dbd_close(pg->driver, h);
    }
    apr_pool_destroy(p);
    return rc;
}

/* Starts pg's server and waits until it answers: 0, or -1. */
static inline int unit_pg_start(unit_pg *pg)
{
    char portbuf[16], data[128];
    int i;

    snprintf(portbuf, sizeof(portbuf), "%d", pg->port);
    snprintf(data, sizeof(data), "%s/data", pg->dir);
    pg->pid = fork();
    if (pg->pid < 0) {
        return -1;
    }
    if (pg->pid == 0) {
        const char *argv[] = { UNIT_PG_POSTGRES, "-D", data, "-p", portbuf,
                               "-k", pg->dir, "-c", "listen_addresses=127.0.0.1",
                               "-c", "fsync=off", "-c", "lc_messages=C",
                               "-c", "logging_collector=off", NULL };
        int null = open("/dev/null", O_WRONLY);

        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        setsid();
        unit_pg_as_postgres(pg);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    for (i = 0; i < 300 && unit_pg_query(pg, "SELECT 1") != 0; i++) {
        usleep(50000);
    }
    return unit_pg_query(pg, "SELECT 1") == 0 ? 0 : -1;
}

/* A fast shutdown of pg's server. */
static inline void unit_pg_stop(unit_pg *pg)
{
    unit_stop_pid(&pg->pid, SIGINT);
}

/* A dir (/tmp/<prefix>-XXXXXX) and a port for pg, a cluster made there
 * (superuser goapi, trusted on loopback) and its server started: 0, or -1.
 * pg must be installed (unit_pg_installed()). */
static inline int unit_pg_up(unit_pg *pg, const char *prefix)
{
    char data[128];
    const char *argv[] = { UNIT_PG_INITDB, "-D", data, "-U", "goapi", "-A", "trust",
                           "--no-sync", "-E", "UTF8", "--locale=C", NULL };

    if (unit_make_dir(pg->dir, sizeof(pg->dir), prefix) != 0) {
        pg->dir[0] = '\0';
        return -1;
    }
    if ((pg->port = unit_free_port()) < 0) {
        return -1;
    }
    if (geteuid() == 0) {
        struct passwd pw, *found = NULL;
        char buf[1024];

        if (getpwnam_r("postgres", &pw, buf, sizeof(buf), &found) != 0 || !found) {
            return -1;
        }
        pg->uid = pw.pw_uid;
        pg->gid = pw.pw_gid;
        if (chown(pg->dir, pg->uid, pg->gid) != 0) {
            return -1;
        }
    }
    snprintf(data, sizeof(data), "%s/data", pg->dir);
    if (unit_pg_run(pg, argv) != 0) {
        return -1;
    }
    return unit_pg_start(pg);
}

/* pg's server stopped and its dir removed: 0, or -1. */
static inline int unit_pg_down(unit_pg *pg)
{
    unit_pg_stop(pg);
    if (pg->dir[0] && unit_remove_dir(pg->dir) != 0) {
        return -1;
    }
    pg->dir[0] = '\0';
    return 0;
}

/* For a group's setup, after unit_pg_installed(): pg's cluster made and
 * started when it is installed: 0, or -1 when it does not start. */
static inline int unit_pg_group(unit_pg *pg, const char *prefix)
{
    return pg->installed ? unit_pg_up(pg, prefix) : 0;
}

/* ---- the lender: a small pool of connections, as mod_dbd keeps ---------- */

typedef struct {
    apr_dbd_t *handle;
    apr_pool_t *pool;
    apr_hash_t *prepared;
} unit_pg_conn;

typedef struct {
    const unit_pg *pg;
    apr_thread_mutex_t *lock;
    const char *params;
    int keep;                           /* statements kept per connection, and a
                                         * broken one reset in place, as mod_dbd
                                         * does */
    unit_pg_conn idle[16];
    int nidle;
    int lent, broken;                   /* counted */
    int cut_next;                       /* the next exchange watched: its server
                                         * process ended, and said cut */
    int cut_rc;                         /* how ending it went: 0, or the driver's
                                         * code */
} unit_pg_lender;

static inline apr_status_t unit_pg_lend(void *baton, goapi_dbd_conn *conn, apr_pool_t *p,
                                        const char **why)
{
    unit_pg_lender *l = baton;
    const apr_dbd_driver_t *driver = l->pg->driver;
    unit_pg_conn c = { NULL, NULL, NULL };
    const char *err = NULL;

    (void)p;
    apr_thread_mutex_lock(l->lock);
    if (l->nidle) {
        c = l->idle[--l->nidle];
    }
    l->lent++;
    apr_thread_mutex_unlock(l->lock);
    /* as mod_dbd does: a pooled connection is checked (and reset) first */
    if (c.handle && apr_dbd_check_conn(driver, c.pool, c.handle) != APR_SUCCESS) {
        apr_dbd_close(driver, c.handle);
        apr_pool_destroy(c.pool);
        c.handle = NULL;
    }
    if (!c.handle) {
        apr_pool_create_unmanaged_ex(&c.pool, NULL, NULL);
        if (apr_dbd_open_ex(driver, c.pool, l->params, &c.handle, &err) != APR_SUCCESS) {
            apr_pool_destroy(c.pool);
            *why = "the test's server does not answer";
            return APR_ECONNREFUSED;
        }
        c.prepared = l->keep ? apr_hash_make(c.pool) : NULL;
    }
    conn->driver = driver;
    conn->handle = c.handle;
    conn->pool = c.pool;
    conn->prepared = c.prepared;
    conn->token = NULL;
    return APR_SUCCESS;
}

static inline void unit_pg_give_back(void *baton, goapi_dbd_conn *conn, int broken)
{
    unit_pg_lender *l = baton;
    unit_pg_conn c = { conn->handle, conn->pool, conn->prepared };
    int kept = 0;

    apr_thread_mutex_lock(l->lock);
    l->broken += broken;
    if ((!broken || l->keep) && l->nidle < 16) {
        l->idle[l->nidle++] = c;        /* broken and kept: checked when lent */
        kept = 1;
    }
    apr_thread_mutex_unlock(l->lock);
    if (!kept) {
        apr_dbd_close(l->pg->driver, c.handle);
        apr_pool_destroy(c.pool);
    }
}

/* Ends the server processes of goapi's client connections but the
 * caller's: 0, or the driver's code. */
static inline int unit_pg_cut_clients(const unit_pg *pg)
{
    return unit_pg_query(pg, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE pid <> pg_backend_pid() AND usename = 'goapi' AND "
                         "backend_type = 'client backend'");
}

/* A lender's clock, as mod_goapi_dbd.c's guard: here the exchange asked
 * to be cut loses its server process first (so the driver's call fails
 * without an answer, as after a cut) and is then said cut. */
static inline void unit_pg_watch(void *baton, goapi_dbd_conn *conn)
{
    unit_pg_lender *l = baton;

    (void)conn;
    if (l->cut_next) {
        l->cut_rc = unit_pg_cut_clients(l->pg);
    }
}

static inline int unit_pg_unwatch(void *baton, goapi_dbd_conn *conn)
{
    unit_pg_lender *l = baton;
    int cut = l->cut_next;

    (void)conn;
    l->cut_next = 0;
    return cut;
}

static inline apr_status_t unit_pg_lender_close(void *data)
{
    unit_pg_lender *l = data;

    while (l->nidle) {
        l->nidle--;
        apr_dbd_close(l->pg->driver, l->idle[l->nidle].handle);
        apr_pool_destroy(l->idle[l->nidle].pool);
    }
    return APR_SUCCESS;
}

/* A PostgreSQL store of user on db, on a lender of its own (closed with
 * p; keep as in unit_pg_lender), its statements cut after 250 ms: the
 * store's open's status; *out (when set) the lender. */
static inline apr_status_t unit_pg_store(const unit_pg *pg, const char *user, const char *db,
                                         int keep, goapi_store **st, unit_pg_lender **out,
                                         apr_pool_t *p)
{
    unit_pg_lender *l = apr_pcalloc(p, sizeof(*l));
    goapi_dbd_lender lender;
    apr_status_t rv;

    memset(&lender, 0, sizeof(lender));
    l->pg = pg;
    l->params = unit_pg_params(pg, user, db);
    l->keep = keep;
    if ((rv = apr_thread_mutex_create(&l->lock, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS) {
        return rv;
    }
    apr_pool_cleanup_register(p, l, unit_pg_lender_close, apr_pool_cleanup_null);
    lender.acquire = unit_pg_lend;
    lender.release = unit_pg_give_back;
    lender.watch = unit_pg_watch;
    lender.unwatch = unit_pg_unwatch;
    lender.timeout = 250 * 1000;
    lender.baton = l;
    if (out) {
        *out = l;
    }
    return goapi_store_dbd_open(st, &lender, p);
}

#endif /* GOAPI_UNIT_SERVICES_H */
