/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * The PostgreSQL ledger (apr_dbd's pgsql driver) against a real postgres
 * (Debian's), initialised here in a temp dir (as the postgres user when
 * run as root), on a free loopback port, and stopped by its pid: the
 * schema made on first use, claims, replays, the unknown outcome after a
 * lease, a takeover only when asked and fencing of the late holder,
 * releases of our own claim only, expired records replaced and swept, the
 * counter unique across stores, SQL in keys, bodies and counter names kept
 * as data, threads of several stores racing for the same keys, the server
 * down (failing at once after a failed connect) and back, a connection lost
 * under a write ("unsure") and its orphaned claim released, a read-only
 * server, and a user without the privilege to make the schema.  Skipped
 * when PostgreSQL or the pgsql driver is not installed.
 */
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_dbd.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "unit.h"
#include "goapi_store_dbd.h"

#define SEC(n) ((apr_time_t)(n) * APR_USEC_PER_SEC)
#define PG_BIN "/usr/lib/postgresql/15/bin"
#define PG_POSTGRES "/usr/lib/postgresql/15/bin/postgres"
#define PG_INITDB "/usr/lib/postgresql/15/bin/initdb"
#define GOAPI_TEST_RETRY (600 * 1000)    /* past the store's pause after a failed connect */

static char dir[64];
static int port;
static pid_t server = -1;
static const apr_dbd_driver_t *driver;
static int usable;                      /* postgres and the driver are here */

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), p;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0
        || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        return -1;
    }
    p = ntohs(a.sin_port);
    close(fd);
    return p;
}

/* The postgres user, found once (group setup). */
static uid_t pg_uid;
static gid_t pg_gid;

static int find_postgres_user(void)
{
    struct passwd pw, *found = NULL;
    char buf[1024];

    if (getpwnam_r("postgres", &pw, buf, sizeof(buf), &found) != 0 || !found) {
        return -1;
    }
    pg_uid = pw.pw_uid;
    pg_gid = pw.pw_gid;
    return 0;
}

/* In a child: become the postgres user when root (postgres refuses root). */
static void as_postgres(void)
{
    if (geteuid() != 0) {
        return;
    }
    if (setgroups(0, NULL) != 0 || setgid(pg_gid) != 0 || setuid(pg_uid) != 0) {
        _exit(126);
    }
}

/* Runs argv as the postgres user; its exit status. */
static int run_as_postgres(const char *const *argv)
{
    int status;
    pid_t pid = fork();

    if (pid == 0) {
        int null = open("/dev/null", 1);

        if (null >= 0) {
            dup2(null, 1);
        }
        as_postgres();
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *params_of(const char *user, const char *db)
{
    return apr_psprintf(unit_pool, "host=127.0.0.1 port=%d user=%s dbname=%s "
                        "connect_timeout=2", port, user, db);
}

/* A connection of the test's own (the test's view of the database). */
static apr_dbd_t *admin_open(apr_pool_t *p)
{
    apr_dbd_t *h = NULL;
    const char *err = NULL;

    if (apr_dbd_open_ex(driver, p, params_of("goapi", "postgres"), &h, &err) != APR_SUCCESS) {
        return NULL;
    }
    return h;
}

/* One statement on a connection of its own: 0, or the driver's code. */
static int admin(const char *sql)
{
    apr_pool_t *p;
    apr_dbd_t *h;
    int rc = -1, n = 0;

    apr_pool_create(&p, unit_pool);
    if ((h = admin_open(p)) != NULL) {
        rc = apr_dbd_query(driver, h, &n, sql);
        apr_dbd_close(driver, h);
    }
    apr_pool_destroy(p);
    return rc;
}

/* The first column of the first row of a query, or NULL. */
static const char *admin_value(const char *sql)
{
    apr_pool_t *p;
    apr_dbd_t *h;
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *v = NULL;

    apr_pool_create(&p, unit_pool);
    if ((h = admin_open(p)) != NULL) {
        if (apr_dbd_select(driver, p, h, &res, sql, 1) == 0
            && apr_dbd_get_row(driver, p, res, &row, -1) == 0) {
            v = apr_pstrdup(unit_pool, apr_dbd_get_entry(driver, row, 0));
        }
        apr_dbd_close(driver, h);
    }
    apr_pool_destroy(p);
    return v;
}

static int server_answers(void)
{
    return admin("SELECT 1") == 0;
}

static void start_server(void)
{
    char portbuf[16], data[128];
    int i;

    snprintf(portbuf, sizeof(portbuf), "%d", port);
    snprintf(data, sizeof(data), "%s/data", dir);
    server = fork();
    assert_true(server >= 0);
    if (server == 0) {
        const char *argv[] = { PG_POSTGRES, "-D", data, "-p", portbuf,
                               "-k", dir, "-c", "listen_addresses=127.0.0.1",
                               "-c", "fsync=off", "-c", "lc_messages=C",
                               "-c", "logging_collector=off", NULL };
        int null = open("/dev/null", 1);

        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        setsid();
        as_postgres();
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    for (i = 0; i < 300 && !server_answers(); i++) {
        usleep(50000);
    }
}

static void stop_server(void)
{
    int status;

    if (server > 0) {
        kill(server, SIGINT);           /* fast shutdown */
        waitpid(server, &status, 0);
        server = -1;
    }
}

/* ---- the lender: a small pool of connections, as mod_dbd keeps -------- */

typedef struct {
    apr_dbd_t *handle;
    apr_pool_t *pool;
    apr_hash_t *prepared;
} test_conn;

typedef struct {
    apr_thread_mutex_t *lock;
    const char *params;
    int keep;                           /* statements kept per connection, and a
                                         * broken one reset in place, as mod_dbd
                                         * does */
    test_conn idle[16];
    int nidle;
    int lent, broken;                   /* counted */
    int cut_next;                       /* the next exchange watched: its server
                                         * process ended, and said cut */
} test_lender;

static apr_status_t lend(void *baton, goapi_dbd_conn *conn, apr_pool_t *p, const char **why)
{
    test_lender *l = baton;
    test_conn c = { NULL, NULL, NULL };
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

static void give_back(void *baton, goapi_dbd_conn *conn, int broken)
{
    test_lender *l = baton;
    test_conn c = { conn->handle, conn->pool, conn->prepared };
    int kept = 0;

    apr_thread_mutex_lock(l->lock);
    l->broken += broken;
    if ((!broken || l->keep) && l->nidle < 16) {
        l->idle[l->nidle++] = c;        /* broken and kept: checked when lent */
        kept = 1;
    }
    apr_thread_mutex_unlock(l->lock);
    if (!kept) {
        apr_dbd_close(driver, c.handle);
        apr_pool_destroy(c.pool);
    }
}

/* A lender's clock, as mod_goapi_dbd.c's guard: here the exchange asked
 * to be cut loses its server process first (so the driver's call fails
 * without an answer, as after a cut) and is then said cut. */
static void watch(void *baton, goapi_dbd_conn *conn)
{
    test_lender *l = baton;

    (void)conn;
    if (l->cut_next) {
        assert_int_equal(admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE pid <> pg_backend_pid() AND usename = 'goapi' AND "
                               "backend_type = 'client backend'"), 0);
    }
}

static int unwatch(void *baton, goapi_dbd_conn *conn)
{
    test_lender *l = baton;
    int cut = l->cut_next;

    (void)conn;
    l->cut_next = 0;
    return cut;
}

static apr_status_t lender_close(void *data)
{
    test_lender *l = data;

    while (l->nidle) {
        l->nidle--;
        apr_dbd_close(driver, l->idle[l->nidle].handle);
        apr_pool_destroy(l->idle[l->nidle].pool);
    }
    return APR_SUCCESS;
}

static goapi_store *open_store_kept(const char *user, const char *db, int keep,
                                    test_lender **out)
{
    test_lender *l = apr_pcalloc(unit_pool, sizeof(*l));
    goapi_dbd_lender lender = { 0 };
    goapi_store *st = NULL;

    apr_thread_mutex_create(&l->lock, APR_THREAD_MUTEX_DEFAULT, unit_pool);
    l->params = params_of(user, db);
    l->keep = keep;
    apr_pool_cleanup_register(unit_pool, l, lender_close, apr_pool_cleanup_null);
    lender.acquire = lend;
    lender.release = give_back;
    lender.watch = watch;
    lender.unwatch = unwatch;
    lender.timeout = 250 * 1000;
    lender.baton = l;
    assert_int_equal(goapi_store_dbd_open(&st, &lender, unit_pool), APR_SUCCESS);
    if (out) {
        *out = l;
    }
    return st;
}

static goapi_store *open_store_as(const char *user, const char *db, test_lender **out)
{
    return open_store_kept(user, db, 0, out);
}

static goapi_store *open_store(void)
{
    return open_store_as("goapi", "postgres", NULL);
}

static void key_of(unsigned char k[GOAPI_SHA256_LEN], const char *key)
{
    goapi_idem_ledger_key(k, "localhost:80", key);
}

static goapi_idem_record in_flight(apr_uint64_t claim_id, apr_time_t now, apr_time_t lease,
                                   apr_time_t life)
{
    goapi_idem_record r;

    memset(&r, 0, sizeof(r));
    r.state = GOAPI_IDEM_IN_FLIGHT;
    r.claim_id = claim_id;
    r.created = now;
    r.lease_end = now + lease;
    r.expires = now + life;
    memset(r.fingerprint, 0x5c, sizeof(r.fingerprint));
    return r;
}

static goapi_idem_record completed(const goapi_idem_record *claim, apr_time_t life,
                                   const char *body)
{
    goapi_idem_record r = *claim;

    r.state = GOAPI_IDEM_COMPLETED;
    r.flags = GOAPI_IDEM_F_REPLAYABLE;
    r.status = 201;
    r.expires = apr_time_now() + life;
    r.headers = NULL;
    r.body = body;
    r.body_len = strlen(body);
    return r;
}

/* ---- the contract ----------------------------------------------------- */

static void test_schema_made_on_first_use(void **state)
{
    goapi_store *st = open_store();

    (void)state;
    assert_int_equal(admin("DROP TABLE IF EXISTS goapi_idempotency, "
                           "goapi_idempotency_counters"), 0);
    assert_string_equal(admin_value("SELECT to_regclass('goapi_idempotency') IS NULL"), "t");
    assert_int_equal(st->ops->ping(st), APR_SUCCESS);
    assert_string_equal(admin_value("SELECT count(*) FROM pg_indexes WHERE indexname = "
                                    "'goapi_idempotency_expires_at'"), "1");
    assert_string_equal(admin_value("SELECT data_type FROM information_schema.columns "
                                    "WHERE table_name = 'goapi_idempotency' AND "
                                    "column_name = 'key'"), "bytea");
}

static void test_claim_complete_replay(void **state)
{
    goapi_store *st = open_store();
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = in_flight(11, now, SEC(60), SEC(3600)), other, got, done;
    goapi_claim_result res = GOAPI_CLAIM_HELD;

    (void)state;
    key_of(k, "pg-1");
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_NOTFOUND);
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    /* the same claim sent again (a retry on a new connection) is still ours */
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);

    other = in_flight(12, now, SEC(60), SEC(3600));
    assert_int_equal(st->ops->claim(st, k, &other, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_HELD);
    assert_true(got.claim_id == 11);
    assert_int_equal(got.state, GOAPI_IDEM_IN_FLIGHT);

    done = completed(&mine, SEC(3600), "dispatch 1 created\n");
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    assert_int_equal(st->ops->claim(st, k, &other, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_HELD);
    assert_int_equal(got.state, GOAPI_IDEM_COMPLETED);
    assert_int_equal(got.status, 201);
    assert_int_equal(got.body_len, strlen("dispatch 1 created\n"));
    assert_memory_equal(got.body, "dispatch 1 created\n", got.body_len);
    assert_string_equal(admin_value("SELECT state FROM goapi_idempotency WHERE "
                                    "claim_id = 11"), "2");

    /* completing again is harmless; another claim's completion is refused */
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    done.claim_id = 12;
    assert_int_equal(st->ops->complete(st, k, &done), APR_NOTFOUND);
    assert_int_equal(st->ops->release(st, k, 11), APR_NOTFOUND);
}

static void test_lease_end_is_unknown_not_a_rerun(void **state)
{
    goapi_store *st = open_store();
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record first = in_flight(21, now - SEC(120), SEC(60), SEC(3600));
    goapi_idem_record second = in_flight(22, now, SEC(60), SEC(3600)), got, done;
    goapi_claim_result res;

    (void)state;
    key_of(k, "pg-lease");
    assert_int_equal(st->ops->claim(st, k, &first, now - SEC(120), 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    assert_int_equal(st->ops->claim(st, k, &second, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_HELD);
    assert_true(got.claim_id == 21);

    assert_int_equal(st->ops->claim(st, k, &second, now, GOAPI_CLAIM_RERUN_AFTER_LEASE, &res,
                                    &got, unit_pool), APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    done = completed(&first, SEC(3600), "late\n");
    assert_int_equal(st->ops->complete(st, k, &done), APR_NOTFOUND);
    assert_int_equal(st->ops->release(st, k, 21), APR_NOTFOUND);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_true(got.claim_id == 22);
    assert_int_equal(st->ops->release(st, k, 22), APR_SUCCESS);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_NOTFOUND);
    /* a release or completion of a claim whose record is gone */
    assert_int_equal(st->ops->release(st, k, 22), APR_ENOENT);
    done = completed(&second, SEC(3600), "gone\n");
    assert_int_equal(st->ops->complete(st, k, &done), APR_ENOENT);
}

static void test_expired_replaced_and_swept(void **state)
{
    goapi_store *st = open_store();
    unsigned char k[GOAPI_SHA256_LEN], k2[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record old = in_flight(31, now - SEC(10), SEC(1), SEC(2));
    goapi_idem_record mine = in_flight(32, now, SEC(60), SEC(3600)), got, done;
    goapi_claim_result res;
    apr_size_t removed = 0;

    (void)state;
    key_of(k, "pg-expired");
    key_of(k2, "pg-expired-2");
    assert_int_equal(st->ops->claim(st, k, &old, now - SEC(10), 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    done = completed(&old, SEC(2), "old\n");
    done.expires = now - SEC(8);
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    /* past its end: nothing is known of the key, a new claim takes it */
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);

    old.claim_id = 33;
    assert_int_equal(st->ops->claim(st, k2, &old, now - SEC(10), 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(st->ops->sweep(st, now, &removed), APR_SUCCESS);
    assert_true(removed >= 1);
    assert_int_equal(st->ops->lookup(st, k2, &got, unit_pool), APR_NOTFOUND);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_true(got.claim_id == 32);
}

static void test_sweep_in_batches(void **state)
{
    goapi_store *st = open_store();
    apr_size_t removed = 0;

    (void)state;
    assert_int_equal(admin("INSERT INTO goapi_idempotency SELECT decode(lpad(to_hex(g), 64, "
                           "'0'), 'hex'), 1, g, 0, now() - interval '1 hour', '\\x00'::bytea "
                           "FROM generate_series(1, 1234) g"), 0);
    assert_int_equal(st->ops->sweep(st, apr_time_now(), &removed), APR_SUCCESS);
    assert_true(removed >= 1234);
    assert_string_equal(admin_value("SELECT count(*) FROM goapi_idempotency WHERE "
                                    "expires_at <= now()"), "0");
}

static void test_counter_unique_across_stores(void **state)
{
    goapi_store *a = open_store(), *b = open_store();
    apr_uint64_t v1 = 0, v2 = 0, v3 = 0;

    (void)state;
    admin("DELETE FROM goapi_idempotency_counters");
    assert_int_equal(a->ops->next(a, "dispatch", &v1), APR_SUCCESS);
    assert_int_equal(b->ops->next(b, "dispatch", &v2), APR_SUCCESS);
    assert_int_equal(a->ops->next(a, "dispatch", &v3), APR_SUCCESS);
    assert_true(v1 == 1 && v2 == 2 && v3 == 3);
    /* SQL in a counter's name is a name */
    assert_int_equal(a->ops->next(a, "x'); DROP TABLE goapi_idempotency; --", &v1),
                     APR_SUCCESS);
    assert_true(v1 == 1);
    assert_string_equal(admin_value("SELECT to_regclass('goapi_idempotency') IS NOT NULL"),
                        "t");
}

static void test_sql_in_keys_and_bodies_is_data(void **state)
{
    goapi_store *st = open_store();
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = in_flight(41, now, SEC(60), SEC(3600)), got, done;
    goapi_claim_result res;
    const char *body = "'); DELETE FROM goapi_idempotency; -- \\x00 %s $1 \"\n";

    (void)state;
    key_of(k, "'; DROP TABLE goapi_idempotency; --");
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    done = completed(&mine, SEC(3600), body);
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_int_equal(got.body_len, strlen(body));
    assert_memory_equal(got.body, body, got.body_len);
    assert_string_equal(admin_value("SELECT count(*) > 0 FROM goapi_idempotency"), "t");
}

static void test_shipped_schema_is_the_one_made(void **state)
{
    char buf[4096];
    FILE *f = fopen("conf/goapi-ledger.sql", "r");
    size_t n;

    (void)state;
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_non_null(strstr(buf, goapi_store_dbd_schema));
    /* and it runs as it ships */
    assert_int_equal(admin(buf), 0);
}

/* ---- threads of several stores racing ---------------------------------- */

#define RACE_THREADS 6
#define RACE_KEYS 40

static volatile apr_uint32_t race_taken[RACE_KEYS];
static goapi_store *race_stores[RACE_THREADS];

static void *APR_THREAD_FUNC racer(apr_thread_t *t, void *data)
{
    int me = (int)(apr_size_t)data, i;
    goapi_store *st = race_stores[me];
    apr_pool_t *p;

    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    for (i = 0; i < RACE_KEYS; i++) {
        unsigned char k[GOAPI_SHA256_LEN];
        char name[32];
        apr_time_t now = apr_time_now();
        goapi_idem_record mine = in_flight(1000 + (apr_uint64_t)(me * RACE_KEYS + i), now,
                                           SEC(60), SEC(3600)), got;
        goapi_claim_result res = GOAPI_CLAIM_HELD;

        snprintf(name, sizeof(name), "race-%d", i);
        key_of(k, name);
        if (st->ops->claim(st, k, &mine, now, 0, &res, &got, p) == APR_SUCCESS
            && res == GOAPI_CLAIM_TAKEN) {
            apr_atomic_inc32(&race_taken[i]);
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    (void)t;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

static void test_threads_race_for_the_same_keys(void **state)
{
    apr_thread_t *threads[RACE_THREADS];
    apr_status_t rv;
    int i;

    (void)state;
    for (i = 0; i < RACE_THREADS; i++) {
        race_stores[i] = open_store();         /* one per host, say */
    }
    for (i = 0; i < RACE_THREADS; i++) {
        assert_int_equal(apr_thread_create(&threads[i], NULL, racer, (void *)(apr_size_t)i,
                                           unit_pool), APR_SUCCESS);
    }
    for (i = 0; i < RACE_THREADS; i++) {
        apr_thread_join(&rv, threads[i]);
    }
    for (i = 0; i < RACE_KEYS; i++) {
        assert_int_equal(apr_atomic_read32(&race_taken[i]), 1);
    }
}

/* ---- failures ------------------------------------------------------------ */

static void test_server_down_and_back(void **state)
{
    goapi_store *st = open_store();
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now(), t0;
    goapi_idem_record mine = in_flight(51, now, SEC(60), SEC(3600)), got;
    goapi_claim_result res;
    apr_status_t rv;
    int i;

    (void)state;
    key_of(k, "pg-down");
    assert_int_equal(st->ops->ping(st), APR_SUCCESS);
    stop_server();
    /* the pooled connection's statement got no answer, and a new one none */
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(st->ops->error(st, rv), "cannot connect"));
    /* after a failed connect: at once, without a new one */
    t0 = apr_time_now();
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_true(apr_time_now() - t0 < 50000);
    assert_non_null(strstr(st->ops->error(st, rv), "no new try before then"));
    assert_int_not_equal(st->ops->ping(st), APR_SUCCESS);

    start_server();
    for (i = 0; i < 40 && st->ops->ping(st) != APR_SUCCESS; i++) {
        apr_sleep(100000);
    }
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
}

static void test_lost_connection_is_unsure_and_orphan_released(void **state)
{
    test_lender *l;
    goapi_store *st = open_store_as("goapi", "postgres", &l);
    unsigned char k[GOAPI_SHA256_LEN], k2[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = in_flight(61, now, SEC(60), SEC(3600)), got;
    goapi_idem_record other = in_flight(62, now, SEC(60), SEC(3600));
    goapi_claim_result res;
    apr_size_t released = 0, left = 0;
    apr_status_t rv;

    (void)state;
    key_of(k, "pg-unsure");
    key_of(k2, "pg-unsure-landed");
    assert_int_equal(st->ops->ping(st), APR_SUCCESS);   /* a pooled connection */
    /* its server process ends under it: the claim is sent again on a new
     * connection, and answered */
    assert_int_equal(admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                           "pid <> pg_backend_pid() AND usename = 'goapi' AND "
                           "backend_type = 'client backend'"), 0);
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    assert_int_equal(l->broken, 1);
    assert_int_equal(st->ops->release(st, k, 61), APR_SUCCESS);

    /* the server gone under a pooled connection: no answer, and no new
     * connection either: the claim is in doubt */
    assert_int_equal(st->ops->ping(st), APR_SUCCESS);
    stop_server();
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_true(goapi_store_unsure(st, rv));
    assert_non_null(strstr(st->ops->error(st, rv), "no answer to goapi_claim"));
    assert_int_equal(goapi_store_orphan(st, k, &mine), APR_SUCCESS);
    start_server();
    apr_sleep(GOAPI_TEST_RETRY);

    /* a claim that did land, orphaned: released, fenced, when settled */
    assert_int_equal(st->ops->claim(st, k2, &other, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    assert_int_equal(goapi_store_orphan(st, k2, &other), APR_SUCCESS);
    assert_int_equal(st->ops->settle(st, &released, &left), APR_SUCCESS);
    assert_true(released == 1);
    assert_true(left == 2);             /* both watched until their lease ends */
    assert_int_equal(st->ops->lookup(st, k2, &got, unit_pool), APR_NOTFOUND);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_NOTFOUND);
}

/* A statement the lender cut (no answer within its timeout): a write in
 * doubt, named a timeout, not sent again on a new connection; the server is
 * then taken as down for a moment (at once, without a connection), and the
 * next try that gets through clears it. */
static void test_statement_cut_is_a_timeout(void **state)
{
    test_lender *l;
    goapi_store *st = open_store_kept("goapi", "postgres", 1, &l);
    unsigned char k[GOAPI_SHA256_LEN], k2[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now(), t0;
    goapi_idem_record mine = in_flight(71, now, SEC(60), SEC(3600)), got;
    goapi_idem_record other = in_flight(72, now, SEC(60), SEC(3600));
    goapi_claim_result res;
    apr_status_t rv;
    int lent;

    (void)state;
    key_of(k, "pg-cut");
    key_of(k2, "pg-cut-after");
    /* the claim's statement prepared on the pooled connection */
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(st->ops->release(st, k, 71), APR_SUCCESS);
    lent = l->lent;
    l->cut_next = 1;
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_true(goapi_store_unsure(st, rv));
    assert_string_equal(st->ops->error(st, rv),
                        "timed out: no answer to goapi_claim within 250 ms: it may have "
                        "been applied (a stopped server applies it when it resumes)");
    assert_int_equal(l->lent, lent + 1);            /* no second connection */
    /* taken as down: at once, without asking for a connection */
    t0 = apr_time_now();
    rv = st->ops->claim(st, k2, &other, now, 0, &res, &got, unit_pool);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_false(goapi_store_unsure(st, rv));
    assert_true(apr_time_now() - t0 < 50000);
    assert_non_null(strstr(st->ops->error(st, rv), "timed out: no answer to goapi_claim"));
    assert_non_null(strstr(st->ops->error(st, rv), "no new try before then"));
    assert_int_equal(l->lent, lent + 1);
    /* a try after the pause gets through, and the store is up again */
    apr_sleep(GOAPI_TEST_RETRY);
    assert_int_equal(st->ops->claim(st, k2, &other, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    assert_int_equal(st->ops->release(st, k2, 72), APR_SUCCESS);
    assert_int_equal(st->ops->ping(st), APR_SUCCESS);
}

static void test_statements_kept_and_made_again_after_a_reset(void **state)
{
    test_lender *l;
    goapi_store *st = open_store_kept("goapi", "postgres", 1, &l);
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = in_flight(65, now, SEC(60), SEC(3600)), got, done;
    goapi_claim_result res;

    (void)state;
    key_of(k, "pg-kept");
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_string_equal(admin_value("SELECT count(*) > 0 FROM pg_stat_activity WHERE "
                                    "query LIKE 'EXECUTE%' OR query LIKE '%goapi_claim%'"),
                        "t");
    /* the session ends under the pooled connection; the driver reconnects
     * it in place (mod_dbd's check), its statement table now stale */
    assert_int_equal(admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                           "pid <> pg_backend_pid() AND usename = 'goapi' AND "
                           "backend_type = 'client backend'"), 0);
    done = completed(&mine, SEC(3600), "kept\n");
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    assert_int_equal(l->broken, 1);
    /* on the reset session: prepared again, answered */
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_HELD);
    assert_int_equal(got.state, GOAPI_IDEM_COMPLETED);
    assert_int_equal(l->nidle, 1);
}

static void test_read_only_server(void **state)
{
    goapi_store *st = open_store();
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = in_flight(71, now, SEC(60), SEC(3600)), got;
    goapi_claim_result res;
    apr_status_t rv;

    (void)state;
    key_of(k, "pg-read-only");
    assert_int_equal(admin("ALTER SYSTEM SET default_transaction_read_only = on"), 0);
    assert_int_equal(admin("SELECT pg_reload_conf()"), 0);
    apr_sleep(200000);
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_false(goapi_store_unsure(st, rv));
    assert_non_null(strstr(st->ops->error(st, rv), "read-only"));
    rv = st->ops->ping(st);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(st->ops->error(st, rv), "read-only"));
    assert_int_equal(admin("ALTER SYSTEM RESET default_transaction_read_only"), 0);
    assert_int_equal(admin("SELECT pg_reload_conf()"), 0);
    apr_sleep(200000);
    assert_int_equal(st->ops->ping(st), APR_SUCCESS);
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
}

static void test_missing_privilege_named(void **state)
{
    goapi_store *st;
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = in_flight(81, now, SEC(60), SEC(3600)), got;
    goapi_claim_result res;
    apr_status_t rv;

    (void)state;
    admin("CREATE ROLE weak LOGIN");
    admin("CREATE DATABASE weakdb");
    st = open_store_as("weak", "weakdb", NULL);
    key_of(k, "pg-weak");
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_equal(rv, APR_EACCES);
    assert_non_null(strstr(st->ops->error(st, rv), "CREATE privilege"));
    assert_non_null(strstr(st->ops->error(st, rv), "GRANT CREATE ON SCHEMA public TO weak"));
}

/* ---- setup ------------------------------------------------------------- */

static int group_setup(void **state)
{
    char data[128];

    if (unit_setup(state) != 0) {
        return -1;
    }
    if (access(PG_POSTGRES, X_OK) != 0 || apr_dbd_init(unit_pool) != APR_SUCCESS
        || apr_dbd_get_driver(unit_pool, "pgsql", &driver) != APR_SUCCESS) {
        fprintf(stderr, "test_goapi_store_dbd: no PostgreSQL (%s) or no apr_dbd pgsql "
                "driver (libaprutil1-dbd-pgsql): skipped\n", PG_BIN);
        return 0;
    }
    if (unit_make_dir(dir, sizeof(dir), "goapi-pg") != 0 || (port = free_port()) < 0) {
        return -1;
    }
    if (geteuid() == 0 && (find_postgres_user() != 0 || chown(dir, pg_uid, pg_gid) != 0)) {
        return -1;
    }
    snprintf(data, sizeof(data), "%s/data", dir);
    {
        const char *argv[] = { PG_INITDB, "-D", data, "-U", "goapi", "-A", "trust",
                               "--no-sync", "-E", "UTF8", "--locale=C", NULL };

        if (run_as_postgres(argv) != 0) {
            return -1;
        }
    }
    start_server();
    usable = server_answers();
    return usable ? 0 : -1;
}

static int group_teardown(void **state)
{
    stop_server();
    if (dir[0] && unit_remove_dir(dir) != 0) {
        return -1;
    }
    return unit_teardown(state);
}

static int need_server(void **state)
{
    (void)state;
    if (!usable) {
        skip();
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_schema_made_on_first_use, need_server),
        cmocka_unit_test_setup(test_claim_complete_replay, need_server),
        cmocka_unit_test_setup(test_lease_end_is_unknown_not_a_rerun, need_server),
        cmocka_unit_test_setup(test_expired_replaced_and_swept, need_server),
        cmocka_unit_test_setup(test_sweep_in_batches, need_server),
        cmocka_unit_test_setup(test_counter_unique_across_stores, need_server),
        cmocka_unit_test_setup(test_sql_in_keys_and_bodies_is_data, need_server),
        cmocka_unit_test_setup(test_shipped_schema_is_the_one_made, need_server),
        cmocka_unit_test_setup(test_threads_race_for_the_same_keys, need_server),
        cmocka_unit_test_setup(test_server_down_and_back, need_server),
        cmocka_unit_test_setup(test_lost_connection_is_unsure_and_orphan_released,
                               need_server),
        cmocka_unit_test_setup(test_statements_kept_and_made_again_after_a_reset,
                               need_server),
        cmocka_unit_test_setup(test_statement_cut_is_a_timeout, need_server),
        cmocka_unit_test_setup(test_read_only_server, need_server),
        cmocka_unit_test_setup(test_missing_privilege_named, need_server),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
