/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_store_dbd.c — the idempotency ledger in PostgreSQL through apr_dbd,
 * shared by every host (see goapi_store.h and goapi_store_dbd.h).
 *
 * One row per key in goapi_idempotency: the ledger key (bytea, primary
 * key), the state, claim id and lease end of the record (the columns the
 * at-most-once rule reads), expires_at (indexed, for the sweep) and the
 * record itself in the encoding LMDB and Redis keep (goapi_idem.h).  Every
 * operation is one statement, so one short transaction of its own
 * (autocommit):
 *   claim     the row read, and only when none holds the key, or it is past
 *             its end (or, when asked, in flight past its lease, or already
 *             our own claim), INSERT ... ON CONFLICT DO UPDATE ... WHERE the
 *             same holds, RETURNING; when nothing was written the same
 *             statement returns the row that holds the key (a replay
 *             writes nothing, and waits for no commit);
 *   complete  UPDATE ... WHERE the row still holds our claim id in flight
 *             (fencing), or already is this very completion (sent again);
 *   release   DELETE ... WHERE the row is still our claim, in flight;
 *   sweep     DELETE of expired rows in bounded batches;
 *   next      an UPSERT ... RETURNING on goapi_idempotency_counters, whose
 *             row lock makes every value unique across hosts.
 * A new request costs 2 round trips (claim, complete), a replay 1.
 *
 * Statements: only parameterised ones, prepared once per connection under
 * their label (PREPARE: parsed and planned once per session) and kept in
 * the connection's table (mod_dbd's ap_dbd_t.prepared).  A session the
 * driver reset (apr_dbd_check_conn reconnects in place) has lost them: a
 * statement that "does not exist" is prepared again and run once more (the
 * server refused it: nothing ran).  Every value, the key and record
 * included, is a parameter (bytes as hex): none is ever part of the SQL
 * text.
 *
 * Failures: a statement the server refused ("ERROR:", a read-only standby
 * among them) surely changed nothing; any other failure (the connection
 * lost, or the server ending it) leaves a write in doubt: "unsure", and the
 * connection is handed back as broken.  A statement the lender cut (no
 * answer within its timeout: the server stopped or frozen) is not sent
 * again in that operation.  After a failed connect or a cut the server is
 * taken as down: for GOAPI_DBD_RETRY no operation asks for a connection
 * (they fail at once, with the reason), then one at a time tries again
 * while the others keep failing at once, until one gets through; so a
 * stopped server holds one request per try, not every request.
 * Claims whose answer never came are kept as orphans and released, fenced
 * (goapi_store.h: goapi_store_orphans).
 *
 * The schema is made, if absent, by the first operation of each process
 * (under an advisory lock, so that processes racing to make it wait for
 * each other); without the privilege to make it the store refuses every
 * operation and says which privilege is missing.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "goapi_store_dbd.h"
#include "goapi_store_dbd_sql.h"

/* After a connect that failed or a statement cut, none again for this
 * long (per process). */
#define GOAPI_DBD_RETRY         (500 * 1000)
#define GOAPI_DBD_ERR_MAX       300
/* Orphaned claims released before a claim, at most. */
#define GOAPI_DBD_DRAIN_MAX     2
/* The sweep makes at most this many statements (of GOAPI_DBD_SWEEP_BATCH
 * rows) per sweep. */
#define GOAPI_DBD_SWEEP_ROUNDS  20
/* A claim that finds a row it cannot see yet (committed after its
 * statement began) is sent again, at most this many times in all. */
#define GOAPI_DBD_CLAIM_TRIES   3

typedef struct {
    goapi_store base;
    goapi_dbd_lender lender;
    apr_thread_mutex_t *lock;           /* what follows */
    int down;                           /* the last try failed: see above */
    int trying;                         /* an operation tries while down */
    apr_time_t retry_at;                /* no try before this */
    char down_err[GOAPI_DBD_ERR_MAX];   /* why the last try failed */
    volatile apr_uint32_t schema_ok;    /* made or found, usable */
    goapi_store_orphans *orphans;       /* claims to release (goapi_store.h) */
} goapi_dbd_store;

/* This thread's last failure (goapi_store.h: error() and unsure() speak
 * of the operation this thread has just made). */
static __thread struct {
    char err[GOAPI_DBD_ERR_MAX];
    int unsure;
    int read_only;                      /* the server refused a write: read-only */
} goapi_dbd_last;

/* One operation: its pool and its connection. */
typedef struct {
    goapi_dbd_store *st;
    apr_pool_t *p;
    goapi_dbd_conn conn;
    int have;                           /* conn is lent to us */
    int broken;                         /* a statement on it got no answer */
    int stale;                          /* its session lost our statements */
    int cut;                            /* the lender cut it: no answer in time */
    int trying;                         /* it tries the server taken as down */
    int refused;                        /* no connection could be had */
} goapi_dbd_op;

static void goapi_dbd_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void goapi_dbd_fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    apr_vsnprintf(goapi_dbd_last.err, sizeof(goapi_dbd_last.err), fmt, ap);
    va_end(ap);
}

/* The first line of a driver's message, without its "ERROR:  " and
 * trailing spaces, into buf. */
static const char *goapi_dbd_line(const char *msg, char *buf, apr_size_t size)
{
    apr_size_t n;

    if (!msg || !*msg) {
        return "no message from the driver";
    }
    apr_cpystrn(buf, msg, size);
    buf[strcspn(buf, "\r\n")] = '\0';
    for (n = strlen(buf); n && buf[n - 1] == ' '; n--) {
        buf[n - 1] = '\0';
    }
    return buf;
}

static apr_status_t goapi_dbd_begin(goapi_dbd_store *st, goapi_dbd_op *op);
static void goapi_dbd_end(goapi_dbd_op *op);

/* Around each exchange with the server: the lender's clock (see
 * goapi_dbd_lender).  A connection it cut is broken, and not tried again
 * in this operation: a stopped server would hold the next one as long. */
static void goapi_dbd_watch(goapi_dbd_op *op)
{
    if (op->st->lender.watch) {
        op->st->lender.watch(op->st->lender.baton, &op->conn);
    }
}

static void goapi_dbd_unwatch(goapi_dbd_op *op)
{
    if (op->st->lender.unwatch && op->st->lender.unwatch(op->st->lender.baton, &op->conn)) {
        op->cut = 1;
        op->broken = 1;
    }
}

/* "timed out: no answer <what> within N ms" into the failure. */
static void goapi_dbd_timed_out(goapi_dbd_op *op, const char *what, const char *label,
                                const char *then)
{
    goapi_dbd_fail("timed out: no answer %s %s within %" APR_TIME_T_FMT " ms%s", what,
                   label, apr_time_as_msec(op->st->lender.timeout), then);
}

/* Statement which on this operation's connection, prepared on its first
 * use there and kept with the connection (named after its label, so that
 * the server parses and plans it once per session); NULL and the failure
 * set if the driver refuses it.  Without a table to keep it in, it is
 * prepared unnamed for each use. */
static apr_dbd_prepared_t *goapi_dbd_stmt(goapi_dbd_op *op, int which)
{
    const char *label = goapi_dbd_stmts[which].label;
    apr_dbd_prepared_t *stmt = NULL;
    apr_pool_t *p = op->conn.prepared ? op->conn.pool : op->p;
    int rc, n = 0;

    if (op->conn.prepared
        && (stmt = apr_hash_get(op->conn.prepared, label, APR_HASH_KEY_STRING)) != NULL) {
        return stmt;
    }
    goapi_dbd_watch(op);
    rc = apr_dbd_prepare(op->conn.driver, p, op->conn.handle, goapi_dbd_stmts[which].sql,
                         op->conn.prepared ? label : NULL, &stmt);
    goapi_dbd_unwatch(op);
    if (rc != 0 && op->cut) {
        goapi_dbd_timed_out(op, "while preparing", label, "");
        return NULL;
    }
    if (rc != 0 && op->conn.prepared
        && strstr(apr_dbd_error(op->conn.driver, op->conn.handle, rc), "already exists")) {
        /* the session has it, its table does not: made again */
        stmt = NULL;
        goapi_dbd_watch(op);
        if (apr_dbd_query(op->conn.driver, op->conn.handle, &n,
                          apr_pstrcat(op->p, "DEALLOCATE ", label, NULL)) == 0) {
            rc = apr_dbd_prepare(op->conn.driver, p, op->conn.handle,
                                 goapi_dbd_stmts[which].sql, label, &stmt);
        }
        goapi_dbd_unwatch(op);
        if (op->cut) {
            goapi_dbd_timed_out(op, "while preparing", label, "");
            return NULL;
        }
    }
    if (rc != 0) {
        const char *msg = apr_dbd_error(op->conn.driver, op->conn.handle, rc);
        char line[GOAPI_DBD_ERR_MAX];

        /* no answer (not the server's ERROR): the connection is gone */
        op->broken = !msg || strncmp(msg, "ERROR:", 6) != 0;
        goapi_dbd_fail("%s %s: %s", op->broken ? "no answer while preparing"
                                               : "the server refused to prepare", label,
                       goapi_dbd_line(msg, line, sizeof(line)));
        return NULL;
    }
    if (op->conn.prepared) {
        apr_hash_set(op->conn.prepared, label, APR_HASH_KEY_STRING, stmt);
    }
    return stmt;
}

/* A failed statement rc: named, and judged (a write in doubt, a
 * connection to drop). */
static void goapi_dbd_failed(goapi_dbd_op *op, int which, int write, int rc)
{
    const char *msg = apr_dbd_error(op->conn.driver, op->conn.handle, rc);
    char line[GOAPI_DBD_ERR_MAX];

    goapi_dbd_line(msg, line, sizeof(line));
    if (op->cut) {
        goapi_dbd_last.unsure |= write;
        goapi_dbd_timed_out(op, "to", goapi_dbd_stmts[which].label,
                            write ? ": it may have been applied (a stopped server applies "
                                    "it when it resumes)" : "");
        return;
    }
    if (msg && !strncmp(msg, "ERROR:", 6)) {
        /* refused by the server: its transaction was rolled back */
        if (strstr(msg, "prepared statement") && strstr(msg, "does not exist")) {
            op->stale = 1;              /* a session reset under its table */
        }
        if (strstr(msg, "read-only transaction")) {
            goapi_dbd_last.read_only = 1;
            goapi_dbd_fail("%s refused: the server is read-only (a standby, or a "
                           "failover not yet done): %s", goapi_dbd_stmts[which].label, line);
        }
        else {
            goapi_dbd_fail("%s refused: %s", goapi_dbd_stmts[which].label, line);
        }
        return;
    }
    op->broken = 1;
    goapi_dbd_last.unsure |= write;
    goapi_dbd_fail("no answer to %s (%s)%s", goapi_dbd_stmts[which].label, line,
                   write ? ": it may have been applied" : "");
}

/* A connection that failed without an answer is given back broken and a
 * new one taken: APR_SUCCESS, or the failure (both named) with the pause
 * after a failed connect. */
static apr_status_t goapi_dbd_reconnect(goapi_dbd_op *op)
{
    goapi_dbd_store *st = op->st;
    char first[GOAPI_DBD_ERR_MAX];
    const char *why = NULL;
    apr_status_t rv;

    apr_cpystrn(first, goapi_dbd_last.err, sizeof(first));
    st->lender.release(st->lender.baton, &op->conn, 1);
    op->have = 0;
    op->broken = 0;
    rv = st->lender.acquire(st->lender.baton, &op->conn, op->p, &why);
    if (rv != APR_SUCCESS) {
        goapi_dbd_fail("%s; then, on a new connection, cannot connect: %s", first,
                       why ? why : "no connection");
        op->refused = 1;
        return rv;
    }
    op->have = 1;
    return APR_SUCCESS;
}

/* Statement which with its nargs parameters; *res its rows.  0, or -1
 * with the failure set.  A statement that got no answer (a pooled
 * connection the server closed while it was idle, say) is sent once more
 * on a new connection: each can be repeated without harm (a claim that
 * finds its own claim id took the key; a counter may skip a number). */
static int goapi_dbd_run(goapi_dbd_op *op, int which, int write, int nargs,
                         const char **args, apr_dbd_results_t **res)
{
    int attempt, reconnect = 0, reconnected = 0;

    /* at most: once stale, once more on a new connection, once stale there */
    for (attempt = 0; attempt < 4; attempt++) {
        apr_dbd_prepared_t *stmt;
        int rc;

        if (reconnect) {
            if (goapi_dbd_reconnect(op) != APR_SUCCESS) {
                return -1;
            }
            reconnect = 0;
            reconnected = 1;
        }
        if (!(stmt = goapi_dbd_stmt(op, which))) {
            if (op->broken && !reconnected && !op->cut) {
                reconnect = 1;
                continue;
            }
            return -1;
        }
        *res = NULL;
        goapi_dbd_watch(op);
        rc = apr_dbd_pselect(op->conn.driver, op->p, op->conn.handle, res, stmt, 1, nargs,
                             args);
        goapi_dbd_unwatch(op);
        if (rc == 0) {
            return 0;
        }
        goapi_dbd_failed(op, which, write, rc);
        if (op->stale && op->conn.prepared) {
            /* the driver reset the session (a reconnect): prepared again */
            apr_hash_set(op->conn.prepared, goapi_dbd_stmts[which].label,
                         APR_HASH_KEY_STRING, NULL);
            op->stale = 0;
            continue;
        }
        if (!op->broken || reconnected || op->cut) {
            return -1;
        }
        reconnect = 1;
    }
    return -1;
}

/* Column col of the first row, or NULL (no row).  One row is all any of
 * the statements but the claim returns. */
static const char *goapi_dbd_first(goapi_dbd_op *op, apr_dbd_results_t *res, int col,
                                   const char **second)
{
    apr_dbd_row_t *row = NULL;
    const char *v;

    if (apr_dbd_get_row(op->conn.driver, op->p, res, &row, -1) != 0) {
        return NULL;
    }
    v = apr_dbd_get_entry(op->conn.driver, row, col);
    if (second) {
        *second = apr_dbd_get_entry(op->conn.driver, row, col + 1);
    }
    return v ? apr_pstrdup(op->p, v) : "";
}

/* Is the schema there and ours to use?  Made when absent. */
static apr_status_t goapi_dbd_schema(goapi_dbd_op *op)
{
    const char *state, *user = NULL;
    apr_dbd_results_t *res;
    char line[GOAPI_DBD_ERR_MAX];
    int rc, n = 0;

    if (goapi_dbd_run(op, GOAPI_DBD_SCHEMA, 0, 0, NULL, &res) != 0) {
        return APR_EGENERAL;
    }
    state = goapi_dbd_first(op, res, 0, &user);
    user = user ? apr_pstrdup(op->p, user) : "the server's user";
    if (state && !strcmp(state, "ok")) {
        return APR_SUCCESS;
    }
    if (state && !strcmp(state, "denied")) {
        goapi_dbd_fail("the database user %s lacks a privilege on the ledger's tables: "
                       "GRANT SELECT, INSERT, UPDATE, DELETE ON goapi_idempotency, "
                       "goapi_idempotency_counters TO %s", user, user);
        return APR_EACCES;
    }
    goapi_dbd_watch(op);
    rc = apr_dbd_query(op->conn.driver, op->conn.handle, &n,
                       apr_pstrcat(op->p, goapi_dbd_make_schema_lock, goapi_store_dbd_schema,
                                   NULL));
    goapi_dbd_unwatch(op);
    if (rc != 0 && op->cut) {
        goapi_dbd_timed_out(op, "while making", "the ledger's tables", "");
        return APR_EGENERAL;
    }
    if (rc != 0) {
        const char *msg = apr_dbd_error(op->conn.driver, op->conn.handle, rc);

        goapi_dbd_line(msg, line, sizeof(line));
        if (msg && strncmp(msg, "ERROR:", 6) != 0) {
            op->broken = 1;
            goapi_dbd_fail("no answer while making the ledger's tables (%s)", line);
            return APR_EGENERAL;
        }
        goapi_dbd_fail("the ledger's table goapi_idempotency is missing and the database "
                       "user %s cannot make it (%s): it needs the CREATE privilege on the "
                       "schema (GRANT CREATE ON SCHEMA public TO %s), or its owner runs "
                       "conf/goapi-ledger.sql", user, line, user);
        return APR_EACCES;
    }
    return APR_SUCCESS;
}

static apr_status_t goapi_dbd_begin(goapi_dbd_store *st, goapi_dbd_op *op)
{
    const char *why = NULL;
    apr_time_t now = apr_time_now();
    apr_status_t rv;

    memset(op, 0, sizeof(*op));
    op->st = st;
    goapi_dbd_last.err[0] = '\0';
    goapi_dbd_last.unsure = 0;
    goapi_dbd_last.read_only = 0;
    apr_thread_mutex_lock(st->lock);
    if (st->down && (now < st->retry_at || st->trying)) {
        if (st->trying) {
            goapi_dbd_fail("%s (another request is trying the server again)", st->down_err);
        }
        else {
            goapi_dbd_fail("%s (less than %d ms ago; no new try before then)", st->down_err,
                           GOAPI_DBD_RETRY / 1000);
        }
        apr_thread_mutex_unlock(st->lock);
        return APR_ECONNREFUSED;
    }
    op->trying = st->trying = st->down;
    apr_thread_mutex_unlock(st->lock);
    if ((rv = apr_pool_create_unmanaged_ex(&op->p, NULL, NULL)) != APR_SUCCESS) {
        goapi_dbd_fail("out of memory");
        goapi_dbd_end(op);
        return rv;
    }
    rv = st->lender.acquire(st->lender.baton, &op->conn, op->p, &why);
    if (rv != APR_SUCCESS) {
        goapi_dbd_fail("cannot connect: %s", why ? why : "no connection");
        op->refused = 1;
        goapi_dbd_end(op);
        return rv;
    }
    op->have = 1;
    if (!apr_atomic_read32(&st->schema_ok)) {
        if ((rv = goapi_dbd_schema(op)) != APR_SUCCESS) {
            goapi_dbd_end(op);
            return rv;
        }
        apr_atomic_set32(&st->schema_ok, 1);
    }
    return APR_SUCCESS;
}

static void goapi_dbd_end(goapi_dbd_op *op)
{
    goapi_dbd_store *st = op->st;

    if (op->refused || op->cut || op->trying) {
        apr_thread_mutex_lock(st->lock);
        if (op->refused || op->cut) {
            st->down = 1;
            st->retry_at = apr_time_now() + GOAPI_DBD_RETRY;
            apr_cpystrn(st->down_err, goapi_dbd_last.err, sizeof(st->down_err));
        }
        else {
            st->down = 0;               /* the server answered the try */
        }
        if (op->trying) {
            st->trying = 0;
        }
        apr_thread_mutex_unlock(st->lock);
    }
    if (op->have) {
        op->st->lender.release(op->st->lender.baton, &op->conn, op->broken);
        op->have = 0;
    }
    if (op->p) {
        apr_pool_destroy(op->p);
        op->p = NULL;
    }
}

/* ---- values as parameters ------------------------------------------------ */

static const char *goapi_dbd_hex(apr_pool_t *p, const unsigned char *b, apr_size_t n)
{
    char *s = apr_palloc(p, 2 * n + 1);

    *goapi_idem_hex(b, n, s) = '\0';
    return s;
}

static const char *goapi_dbd_int(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

/* A record's encoding as hex, or NULL when it cannot be encoded. */
static const char *goapi_dbd_record(apr_pool_t *p, const goapi_idem_record *rec)
{
    apr_size_t n = goapi_idem_encoded_size(rec);
    unsigned char *buf;

    if (!n) {
        return NULL;
    }
    buf = apr_palloc(p, n);
    goapi_idem_encode(rec, buf);
    return goapi_dbd_hex(p, buf, n);
}

static int goapi_dbd_nibble(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A record read back as hex: APR_SUCCESS or APR_EINVAL. */
static apr_status_t goapi_dbd_decode(goapi_idem_record *rec, const char *hex, apr_pool_t *p)
{
    apr_size_t n = strlen(hex), i;
    unsigned char *buf;

    if (n == 0 || n % 2) {
        return APR_EINVAL;
    }
    buf = apr_palloc(p, n / 2);
    for (i = 0; i < n / 2; i++) {
        int hi = goapi_dbd_nibble(hex[2 * i]), lo = goapi_dbd_nibble(hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return APR_EINVAL;
        }
        buf[i] = (unsigned char)(hi << 4 | lo);
    }
    return goapi_idem_decode(rec, buf, n / 2, p);
}

/* ---- the store ------------------------------------------------------------ */

/* The fenced release or completion (done) on op: APR_SUCCESS, APR_ENOENT
 * (no row), APR_NOTFOUND (not ours), or a failure. */
static apr_status_t goapi_dbd_fenced_on(goapi_dbd_op *op,
                                        const unsigned char key[GOAPI_SHA256_LEN],
                                        apr_uint64_t claim_id, const goapi_idem_record *done)
{
    const char *k = goapi_dbd_hex(op->p, key, GOAPI_SHA256_LEN);
    const char *id = goapi_dbd_int(op->p, (apr_int64_t)claim_id);
    const char *args[5], *ours, *there = NULL;
    apr_dbd_results_t *res;
    int which;

    if (done) {
        which = GOAPI_DBD_COMPLETE;
        args[0] = goapi_dbd_int(op->p, done->expires);
        if (!(args[1] = goapi_dbd_record(op->p, done))) {
            return APR_EINVAL;
        }
        args[2] = k;
        args[3] = id;
        args[4] = k;
    }
    else {
        which = GOAPI_DBD_RELEASE;
        args[0] = k;
        args[1] = id;
        args[2] = k;
    }
    if (goapi_dbd_run(op, which, 1, done ? 5 : 3, args, &res) != 0) {
        return APR_EGENERAL;
    }
    if (!(ours = goapi_dbd_first(op, res, 0, &there)) || !there) {
        goapi_dbd_fail("%s returned no row", goapi_dbd_stmts[which].label);
        return APR_EGENERAL;
    }
    return strcmp(ours, "0") ? APR_SUCCESS : strcmp(there, "0") ? APR_NOTFOUND : APR_ENOENT;
}

/* ---- orphaned claims ------------------------------------------------------ */

/* One orphan released on the operation's connection (baton). */
static apr_status_t goapi_dbd_release_orphan(void *baton,
                                             const unsigned char key[GOAPI_SHA256_LEN],
                                             apr_uint64_t claim_id)
{
    return goapi_dbd_fenced_on(baton, key, claim_id, NULL);
}

static apr_status_t goapi_dbd_drain(goapi_dbd_op *op, int max, apr_size_t *released)
{
    return goapi_store_orphans_drain(op->st->orphans, max, goapi_dbd_release_orphan, op,
                                     released);
}

static apr_status_t goapi_dbd_orphan_keep(goapi_store *base,
                                          const unsigned char key[GOAPI_SHA256_LEN],
                                          const goapi_idem_record *claim)
{
    return goapi_store_orphans_keep(((goapi_dbd_store *)base)->orphans, key, claim);
}

static apr_status_t goapi_dbd_settle(goapi_store *base, apr_size_t *released, apr_size_t *left)
{
    goapi_dbd_store *st = (goapi_dbd_store *)base;
    goapi_dbd_op op;
    apr_status_t rv = APR_SUCCESS;

    *released = 0;
    /* no connection taken from the pool while there is nothing to do */
    if (goapi_store_orphans_left(st->orphans)
        && (rv = goapi_dbd_begin(st, &op)) == APR_SUCCESS) {
        rv = goapi_dbd_drain(&op, GOAPI_STORE_ORPHANS, released);
        goapi_dbd_end(&op);
    }
    *left = goapi_store_orphans_left(st->orphans);
    return rv;
}

/* ---- operations ----------------------------------------------------------- */

/* A claim a read-only server refused (a standby; a failover under way):
 * a live record that holds the key is still an answer (a replay, 409,
 * 422), read without writing; anything else stays the refusal. */
static apr_status_t goapi_dbd_claim_read_only(goapi_dbd_op *op, const char *key,
                                              const goapi_idem_record *mine, apr_time_t now,
                                              unsigned flags, goapi_claim_result *res,
                                              goapi_idem_record *existing, apr_pool_t *p)
{
    char refused[GOAPI_DBD_ERR_MAX];
    apr_dbd_results_t *rows;
    const char *hex;

    apr_cpystrn(refused, goapi_dbd_last.err, sizeof(refused));
    if (goapi_dbd_run(op, GOAPI_DBD_LOOKUP, 0, 1, &key, &rows) == 0
        && (hex = goapi_dbd_first(op, rows, 0, NULL)) != NULL
        && goapi_dbd_decode(existing, hex, p) == APR_SUCCESS
        && !goapi_store_claim_replaces(existing, now, flags)
        && !(existing->state == GOAPI_IDEM_IN_FLIGHT && existing->claim_id == mine->claim_id)) {
        *res = GOAPI_CLAIM_HELD;
        return APR_SUCCESS;
    }
    apr_cpystrn(goapi_dbd_last.err, refused, sizeof(goapi_dbd_last.err));
    return APR_EGENERAL;
}

static apr_status_t goapi_dbd_claim(goapi_store *base, const unsigned char key[GOAPI_SHA256_LEN],
                                    const goapi_idem_record *mine, apr_time_t now,
                                    unsigned flags, goapi_claim_result *res,
                                    goapi_idem_record *existing, apr_pool_t *p)
{
    goapi_dbd_store *st = (goapi_dbd_store *)base;
    goapi_dbd_op op;
    const char *args[13];
    apr_size_t released = 0;
    apr_status_t rv;
    int tries;

    if ((rv = goapi_dbd_begin(st, &op)) != APR_SUCCESS) {
        return rv;
    }
    /* orphans first: a store that cannot release them cannot take a claim
     * either, and says why without our claim ever sent */
    if ((rv = goapi_dbd_drain(&op, GOAPI_DBD_DRAIN_MAX, &released)) != APR_SUCCESS) {
        goapi_dbd_last.unsure = 0;
        goapi_dbd_end(&op);
        return rv;
    }
    args[0] = args[1] = goapi_dbd_hex(op.p, key, GOAPI_SHA256_LEN);
    args[2] = args[7] = goapi_dbd_int(op.p, (apr_int64_t)mine->claim_id);
    args[3] = goapi_dbd_int(op.p, mine->lease_end);
    args[4] = goapi_dbd_int(op.p, mine->expires);
    args[5] = goapi_dbd_record(op.p, mine);
    args[6] = args[9] = args[10] = args[12] = goapi_dbd_int(op.p, now);
    args[8] = args[11] = (flags & GOAPI_CLAIM_RERUN_AFTER_LEASE) ? "1" : "0";
    if (!args[5]) {
        goapi_dbd_end(&op);
        return APR_EINVAL;
    }
    rv = APR_EGENERAL;
    for (tries = 0; tries < GOAPI_DBD_CLAIM_TRIES; tries++) {
        apr_dbd_results_t *rows;
        const char *what, *rec = NULL;

        if (goapi_dbd_run(&op, GOAPI_DBD_CLAIM, 1, 13, args, &rows) != 0) {
            break;
        }
        if (!(what = goapi_dbd_first(&op, rows, 0, &rec))) {
            /* the row that kept us out committed after our statement
             * began: the next statement sees it */
            goapi_dbd_fail("the claim found a row it could not read, %d times", tries + 1);
            continue;
        }
        if (!strcmp(what, "taken")) {
            *res = GOAPI_CLAIM_TAKEN;
            rv = APR_SUCCESS;
        }
        else if (!rec || goapi_dbd_decode(existing, rec, p) != APR_SUCCESS) {
            rv = APR_EINVAL;
        }
        else {
            *res = GOAPI_CLAIM_HELD;
            rv = APR_SUCCESS;
        }
        break;
    }
    if (rv == APR_EGENERAL && goapi_dbd_last.read_only) {
        rv = goapi_dbd_claim_read_only(&op, args[0], mine, now, flags, res, existing, p);
    }
    goapi_dbd_end(&op);
    return rv;
}

static apr_status_t goapi_dbd_fenced(goapi_store *base, const unsigned char key[GOAPI_SHA256_LEN],
                                     apr_uint64_t claim_id, const goapi_idem_record *done)
{
    goapi_dbd_op op;
    apr_status_t rv;

    if ((rv = goapi_dbd_begin((goapi_dbd_store *)base, &op)) != APR_SUCCESS) {
        return rv;
    }
    rv = goapi_dbd_fenced_on(&op, key, claim_id, done);
    goapi_dbd_end(&op);
    return rv;
}

static apr_status_t goapi_dbd_complete(goapi_store *base, const unsigned char key[GOAPI_SHA256_LEN],
                                       const goapi_idem_record *done)
{
    return goapi_dbd_fenced(base, key, done->claim_id, done);
}

static apr_status_t goapi_dbd_release(goapi_store *base, const unsigned char key[GOAPI_SHA256_LEN],
                                      apr_uint64_t claim_id)
{
    return goapi_dbd_fenced(base, key, claim_id, NULL);
}

static apr_status_t goapi_dbd_lookup(goapi_store *base, const unsigned char key[GOAPI_SHA256_LEN],
                                     goapi_idem_record *rec, apr_pool_t *p)
{
    goapi_dbd_op op;
    apr_dbd_results_t *rows;
    const char *args[1], *hex;
    apr_status_t rv;

    if ((rv = goapi_dbd_begin((goapi_dbd_store *)base, &op)) != APR_SUCCESS) {
        return rv;
    }
    args[0] = goapi_dbd_hex(op.p, key, GOAPI_SHA256_LEN);
    if (goapi_dbd_run(&op, GOAPI_DBD_LOOKUP, 0, 1, args, &rows) != 0) {
        rv = APR_EGENERAL;
    }
    else if (!(hex = goapi_dbd_first(&op, rows, 0, NULL))) {
        rv = APR_NOTFOUND;
    }
    else {
        rv = goapi_dbd_decode(rec, hex, p);
    }
    goapi_dbd_end(&op);
    return rv;
}

static apr_status_t goapi_dbd_sweep(goapi_store *base, apr_time_t now, apr_size_t *removed)
{
    goapi_dbd_op op;
    const char *args[2];
    apr_status_t rv;
    int round;

    *removed = 0;
    if ((rv = goapi_dbd_begin((goapi_dbd_store *)base, &op)) != APR_SUCCESS) {
        return rv;
    }
    args[0] = args[1] = goapi_dbd_int(op.p, now);
    for (round = 0; round < GOAPI_DBD_SWEEP_ROUNDS; round++) {
        apr_dbd_results_t *rows;
        const char *n;
        apr_int64_t gone;

        if (goapi_dbd_run(&op, GOAPI_DBD_SWEEP, 1, 2, args, &rows) != 0) {
            rv = APR_EGENERAL;
            break;
        }
        n = goapi_dbd_first(&op, rows, 0, NULL);
        gone = n ? apr_atoi64(n) : 0;
        *removed += (apr_size_t)(gone > 0 ? gone : 0);
        if (gone < GOAPI_DBD_SWEEP_BATCH) {
            break;
        }
    }
    goapi_dbd_last.unsure = 0;          /* a sweep in doubt harms nothing */
    goapi_dbd_end(&op);
    return rv;
}

static apr_status_t goapi_dbd_next(goapi_store *base, const char *counter, apr_uint64_t *value)
{
    goapi_dbd_op op;
    apr_dbd_results_t *rows;
    const char *args[1], *v;
    apr_status_t rv;

    if ((rv = goapi_dbd_begin((goapi_dbd_store *)base, &op)) != APR_SUCCESS) {
        return rv;
    }
    args[0] = counter;
    if (goapi_dbd_run(&op, GOAPI_DBD_NEXT, 1, 1, args, &rows) != 0) {
        rv = APR_EGENERAL;
    }
    else if (!(v = goapi_dbd_first(&op, rows, 0, NULL)) || apr_atoi64(v) < 1) {
        goapi_dbd_fail("the counter %s returned no value", counter);
        rv = APR_EGENERAL;
    }
    else {
        *value = (apr_uint64_t)apr_atoi64(v);
    }
    goapi_dbd_end(&op);
    return rv;
}

static apr_status_t goapi_dbd_ping(goapi_store *base)
{
    goapi_dbd_op op;
    apr_dbd_results_t *rows;
    const char *ro;
    apr_status_t rv;

    if ((rv = goapi_dbd_begin((goapi_dbd_store *)base, &op)) != APR_SUCCESS) {
        return rv;
    }
    if (goapi_dbd_run(&op, GOAPI_DBD_PING, 0, 0, NULL, &rows) != 0) {
        rv = APR_EGENERAL;
    }
    else if (!(ro = goapi_dbd_first(&op, rows, 0, NULL)) || strcmp(ro, "off") != 0) {
        goapi_dbd_fail("the server is read-only (a standby, or a failover not yet done): "
                       "every claim would be refused");
        rv = APR_EGENERAL;
    }
    goapi_dbd_end(&op);
    return rv;
}

static const char *goapi_dbd_error(goapi_store *base, apr_status_t rv)
{
    (void)base;
    if (rv == APR_EINVAL) {
        return "a record in the store is malformed";
    }
    return goapi_dbd_last.err[0] ? goapi_dbd_last.err : NULL;
}

static int goapi_dbd_unsure(goapi_store *base, apr_status_t rv)
{
    (void)base;
    return rv != APR_SUCCESS && goapi_dbd_last.unsure;
}

static const goapi_store_ops goapi_dbd_ops = {
    goapi_dbd_claim,
    goapi_dbd_complete,
    goapi_dbd_release,
    goapi_dbd_lookup,
    goapi_dbd_sweep,
    goapi_dbd_next,
    goapi_dbd_error,
    goapi_dbd_ping,
    goapi_dbd_unsure,
    goapi_dbd_orphan_keep,
    goapi_dbd_settle
};

apr_status_t goapi_store_dbd_open(goapi_store **out, const goapi_dbd_lender *lender,
                                  apr_pool_t *p)
{
    goapi_dbd_store *st = apr_pcalloc(p, sizeof(*st));
    apr_status_t rv;

    st->base.ops = &goapi_dbd_ops;
    st->lender = *lender;
    if ((rv = apr_thread_mutex_create(&st->lock, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = goapi_store_orphans_create(&st->orphans, p)) != APR_SUCCESS) {
        return rv;
    }
    *out = &st->base;
    return APR_SUCCESS;
}
