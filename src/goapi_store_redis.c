/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_store_redis.c — the idempotency ledger on Redis, shared by every
 * host (see goapi_store.h and goapi_store_redis.h).
 *
 * A record is the same encoding as in LMDB (goapi_idem.h), the value of
 * <prefix>{<hex ledger key>} (the braces keep a key on one slot of a Redis
 * Cluster), and it expires by Redis' own TTL (PX): no sweep.  Everything
 * that must be atomic is one Lua script, sent as EVALSHA (EVAL when the
 * server does not have it: NOSCRIPT):
 *   claim     the record there, or ours set (PX: its end) when there is none
 *             or when it is exactly the one the caller may replace;
 *   complete  our record replaced by the completed one, only while the key
 *             still holds our claim (fencing: its first bytes, which name
 *             our claim_id, are ours), or when it already is that record;
 *   release   our claim deleted, only while the key still holds it.
 * A new request costs 2 round trips (claim, complete), a replay 1; with
 * replicas to wait for, one more after each write (WAIT).
 *
 * Replicas: with st->replicas > 0 a claim or a completion counts only once
 * that many replicas acknowledged it (WAIT, blocking for 3/4 of the
 * timeout, its answer read within that plus the timeout).  A claim they did not
 * acknowledge is released at once (fenced) and the claim fails: a failover
 * could lose it, and an operation run under a lost claim could run again.
 * A completion they did not acknowledge fails "unsure": the master has it,
 * a failover may lose it, and the key is then at worst in flight.  Both
 * scripts write even when the record is already theirs (a claim or a
 * completion repeated on a new connection), so that WAIT on this
 * connection covers it.
 *
 * Orphaned claims (goapi_store.h): a bounded queue per store (per
 * process, goapi_store_orphans), released before this process's next
 * claim or by settle().  A claim sent twice (once more on a new
 * connection), or held by the network and delivered late (TCP retransmits
 * after a blackhole), may land after its release: every entry is looked
 * at again, less and less often, for GOAPI_STORE_ORPHAN_LOOKS answers of
 * the store (about 11 s) and at least until its lease ends; never after
 * its record would have expired.
 *
 * Connections: one per thread (apr_threadkey), made on first use, after
 * AUTH and SELECT; dropped after any error and made again on the next
 * command.  A connection that was idle and fails before answering (the
 * server restarted, say) is tried once more on a new one: each script can
 * be repeated without harm (a claim that finds its own claim_id took the
 * key).  After a failed connect no thread tries again for
 * GOAPI_REDIS_RETRY: requests fail at once instead of each waiting.
 *
 * A failure is named by its cause (goapi_redis_error.h) and the command
 * that met it; a write that was sent and never answered is "unsure": the
 * server may have applied it, or may still (a stopped server reads it when
 * it resumes).  The password never appears in an error, even if a server
 * repeated it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <hiredis/hiredis.h>

#include "goapi_redis_error.h"
#include "goapi_store_redis.h"

/* After a connect that failed, none again for this long (per process). */
#define GOAPI_REDIS_RETRY       (500 * 1000)
#define GOAPI_REDIS_ERR_MAX     200
/* Orphaned claims released before a claim, at most. */
#define GOAPI_REDIS_DRAIN_MAX   2

/* The scripts.  KEYS[1] is the record's key. */
enum { GOAPI_SCRIPT_CLAIM, GOAPI_SCRIPT_COMPLETE, GOAPI_SCRIPT_RELEASE, GOAPI_SCRIPTS };

/* What each script is, in errors. */
static const char *const goapi_redis_script_names[GOAPI_SCRIPTS] = {
    "the claim script", "the completion script", "the release script"
};

static const char *const goapi_redis_scripts[GOAPI_SCRIPTS] = {
    /* ARGV: our record, its PX, the record we may replace ("" none).
     * Returns the record there, or 1 when ours was set (again, when it
     * already was: a write for WAIT to cover). */
    "local v = redis.call('GET', KEYS[1])\n"
    "if v and v ~= ARGV[3] and v ~= ARGV[1] then return v end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "return 1\n",
    /* ARGV: our claim's token (its first bytes), the completed record, its
     * PX.  1 done (written again when it already was, for WAIT), 0
     * another record holds the key, 2 no record does (ours vanished:
     * evicted or deleted). */
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then return 2 end\n"
    "if v ~= ARGV[2] and string.sub(v, 1, string.len(ARGV[1])) ~= ARGV[1] then\n"
    "  return 0\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])\n"
    "return 1\n",
    /* ARGV: our claim's token.  1 deleted, 2 already gone, 0 not ours. */
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then return 2 end\n"
    "if string.sub(v, 1, string.len(ARGV[1])) ~= ARGV[1] then return 0 end\n"
    "redis.call('DEL', KEYS[1])\n"
    "return 1\n",
};

typedef struct goapi_redis_store goapi_redis_store;

/* A thread's connection, and its last failure. */
typedef struct goapi_redis_conn {
    redisContext *c;
    goapi_redis_store *st;
    struct goapi_redis_conn *next, *prev;       /* the store's list */
    goapi_redis_error_kind kind;                /* its cause */
    int unsure;                                 /* a write sent, never answered */
    char err[GOAPI_REDIS_ERR_MAX];              /* its words */
    char step[64];                              /* the command sent last */
} goapi_redis_conn;

struct goapi_redis_store {
    goapi_store base;
    goapi_redis_target target;
    const char *prefix;
    struct timeval tv;                  /* connect and every command */
    int replicas;                       /* to acknowledge each write (WAIT) */
    apr_threadkey_t *key;               /* this thread's goapi_redis_conn */
    apr_thread_mutex_t *lock;           /* what follows */
    goapi_redis_conn *conns;
    apr_time_t retry_at;                /* no connect before this */
    goapi_redis_error_kind down_kind;   /* why the last connect failed */
    char down_err[GOAPI_REDIS_ERR_MAX];
    int master_known;                   /* sentinel: the address below */
    char master_host[256];
    int master_port;
    char sha[GOAPI_SCRIPTS][41];        /* "" until loaded */
    goapi_store_orphans *orphans;       /* claims to release (goapi_store.h) */
};

/* ---- connections ---------------------------------------------------------- */

/* Every occurrence of secret in text (size bytes) becomes "***". */
static void goapi_redis_scrub(char *text, apr_size_t size, const char *secret)
{
    apr_size_t n = secret ? strlen(secret) : 0;
    char *at;

    while (n && (at = strstr(text, secret)) != NULL) {
        char rest[GOAPI_REDIS_ERR_MAX];

        apr_cpystrn(rest, at + n, sizeof(rest));
        apr_snprintf(at, size - (apr_size_t)(at - text), "***%s", rest);
    }
}

static void goapi_redis_fail(goapi_redis_conn *conn, goapi_redis_error_kind kind,
                             const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The thread's failure: its cause, then fmt (what met it). */
static void goapi_redis_fail(goapi_redis_conn *conn, goapi_redis_error_kind kind,
                             const char *fmt, ...)
{
    apr_size_t n;
    va_list ap;

    conn->kind = kind;
    n = apr_snprintf(conn->err, sizeof(conn->err), "%s: ", goapi_redis_error_phrase(kind));
    va_start(ap, fmt);
    apr_vsnprintf(conn->err + n, sizeof(conn->err) - n, fmt, ap);
    va_end(ap);
    goapi_redis_scrub(conn->err, sizeof(conn->err), conn->st->target.password);
}

/* The timeout in words, for errors. */
static const char *goapi_redis_timeout_text(const goapi_redis_store *st, char buf[32])
{
    apr_snprintf(buf, 32, "%ld ms", (long)st->tv.tv_sec * 1000 + (long)st->tv.tv_usec / 1000);
    return buf;
}

/* A connect that failed (c NULL: no context at all), errnum its errno. */
static void goapi_redis_connect_failed(goapi_redis_store *st, goapi_redis_conn *conn,
                                       const redisContext *c, int errnum)
{
    goapi_redis_error_kind kind = c ? goapi_redis_error_io(c->err, errnum)
                                    : GOAPI_REDIS_E_LOCAL;
    char ms[32];

    switch (kind) {
    case GOAPI_REDIS_E_TIMEOUT:
        goapi_redis_fail(conn, kind, "no connection within %s (connect: %s)",
                         goapi_redis_timeout_text(st, ms), c->errstr);
        break;
    case GOAPI_REDIS_E_REFUSED:
        goapi_redis_fail(conn, kind, "nothing listens at the store's address (connect: %s)",
                         c->errstr);
        break;
    default:
        goapi_redis_fail(conn, kind, "cannot connect: %s", c ? c->errstr : "out of memory");
        break;
    }
}

/* A command that got no answer: the connection failed (errnum the errno
 * right after), or the bytes that came back are not RESP. */
static void goapi_redis_io_failed(goapi_redis_store *st, goapi_redis_conn *conn,
                                  const redisContext *c, const char *step, int errnum)
{
    goapi_redis_error_kind kind = goapi_redis_error_io(c->err, errnum);
    char ms[32];

    switch (kind) {
    case GOAPI_REDIS_E_TIMEOUT:
        goapi_redis_fail(conn, kind, "no answer to %s within %s (%s)", step,
                         goapi_redis_timeout_text(st, ms), c->errstr);
        break;
    case GOAPI_REDIS_E_CLOSED:
        goapi_redis_fail(conn, kind, "no answer to %s (%s)", step, c->errstr);
        break;
    case GOAPI_REDIS_E_PROTOCOL:
        goapi_redis_fail(conn, kind, "the answer to %s is not Redis' protocol (%s)", step,
                         c->errstr);
        break;
    default:
        goapi_redis_fail(conn, kind, "%s failed: %s", step,
                         c->errstr[0] ? c->errstr : "the connection failed");
        break;
    }
}

/* An error answer to step, as the thread's failure. */
static void goapi_redis_refused(goapi_redis_conn *conn, const char *step, const char *text)
{
    goapi_redis_fail(conn, goapi_redis_error_reply(text), "%s answered %s", step, text);
}

static void goapi_redis_drop(goapi_redis_conn *conn)
{
    if (conn->c) {
        redisFree(conn->c);
        conn->c = NULL;
    }
}

/* At thread exit (threadkey destructor), or when the store closes. */
static void goapi_redis_conn_free(void *data)
{
    goapi_redis_conn *conn = data;
    goapi_redis_store *st = conn->st;

    apr_thread_mutex_lock(st->lock);
    if (conn->prev) {
        conn->prev->next = conn->next;
    }
    else {
        st->conns = conn->next;
    }
    if (conn->next) {
        conn->next->prev = conn->prev;
    }
    apr_thread_mutex_unlock(st->lock);
    goapi_redis_drop(conn);
    free(conn);
}

static goapi_redis_conn *goapi_redis_conn_of(goapi_redis_store *st)
{
    goapi_redis_conn *conn = NULL;

    apr_threadkey_private_get((void **)&conn, st->key);
    if (conn) {
        return conn;
    }
    conn = calloc(1, sizeof(*conn));
    if (!conn) {
        return NULL;
    }
    conn->st = st;
    apr_thread_mutex_lock(st->lock);
    conn->next = st->conns;
    if (st->conns) {
        st->conns->prev = conn;
    }
    st->conns = conn;
    apr_thread_mutex_unlock(st->lock);
    apr_threadkey_private_set(conn, st->key);
    return conn;
}

/* A command of the connect whose answer must be +OK (AUTH, SELECT); 0 and
 * the failure set if not. */
static int goapi_redis_expect_ok(goapi_redis_store *st, goapi_redis_conn *conn,
                                 redisContext *c, int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    int errnum = errno;
    int ok = r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK");

    if (!r) {
        goapi_redis_io_failed(st, conn, c, argv[0], errnum);
    }
    else if (r->type == REDIS_REPLY_ERROR) {
        goapi_redis_refused(conn, argv[0], r->str);
    }
    else if (!ok) {
        goapi_redis_fail(conn, GOAPI_REDIS_E_PROTOCOL, "%s answered neither OK nor an error",
                         argv[0]);
    }
    if (r) {
        freeReplyObject(r);
    }
    return ok;
}

static redisContext *goapi_redis_dial(goapi_redis_store *st, goapi_redis_conn *conn,
                                      const char *host, int port)
{
    redisContext *c = st->target.kind == GOAPI_REDIS_UNIX
                      ? redisConnectUnixWithTimeout(st->target.path, st->tv)
                      : redisConnectWithTimeout(host, port, st->tv);
    int errnum = errno;

    if (!c || c->err) {
        goapi_redis_connect_failed(st, conn, c, errnum);
        if (c) {
            redisFree(c);
        }
        return NULL;
    }
    if (redisSetTimeout(c, st->tv) != REDIS_OK) {
        goapi_redis_fail(conn, GOAPI_REDIS_E_LOCAL, "cannot set the timeout: %s", c->errstr);
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Sentinel: ask each sentinel in turn for the master's address, into
 * host (sizeof(st->master_host)) and *port.  Without the store's lock: it
 * waits on the network. */
static int goapi_redis_resolve(goapi_redis_store *st, goapi_redis_conn *conn, char *host,
                               int *port)
{
    const char *argv[3] = { "SENTINEL", "get-master-addr-by-name", st->target.master };
    int i, found = 0;

    for (i = 0; i < st->target.nsentinels; i++) {
        const goapi_redis_addr *s = &st->target.sentinels[i];
        redisContext *c = goapi_redis_dial(st, conn, s->host, s->port);
        redisReply *r;

        if (!c) {
            continue;
        }
        r = redisCommandArgv(c, 3, argv, NULL);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2
            && r->element[0]->type == REDIS_REPLY_STRING
            && r->element[1]->type == REDIS_REPLY_STRING
            && strlen(r->element[0]->str) < sizeof(st->master_host)) {
            char *end;
            long n = strtol(r->element[1]->str, &end, 10);

            if (!*end && n > 0 && n < 65536) {
                apr_cpystrn(host, r->element[0]->str, sizeof(st->master_host));
                *port = (int)n;
                found = 1;
            }
        }
        else if (!r) {
            char step[300];

            apr_snprintf(step, sizeof(step), "SENTINEL get-master-addr-by-name at %s:%u",
                         s->host, (unsigned)s->port);
            goapi_redis_io_failed(st, conn, c, step, errno);
        }
        else {
            goapi_redis_fail(conn, r->type == REDIS_REPLY_ERROR
                                   ? goapi_redis_error_reply(r->str) : GOAPI_REDIS_E_REPLY,
                             "the sentinel at %s:%u does not name the master: %s",
                             s->host, (unsigned)s->port,
                             r->type == REDIS_REPLY_ERROR ? r->str
                             : "it knows no master of that name");
        }
        if (r) {
            freeReplyObject(r);
        }
        redisFree(c);
        if (found) {
            return 1;
        }
    }
    return 0;
}

/* A node reached through the sentinels must say it is the master. */
static int goapi_redis_is_master(goapi_redis_store *st, goapi_redis_conn *conn,
                                 redisContext *c)
{
    const char *argv[1] = { "ROLE" };
    redisReply *r = redisCommandArgv(c, 1, argv, NULL);
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0
             && r->element[0]->type == REDIS_REPLY_STRING
             && !strcmp(r->element[0]->str, "master");

    if (!r) {
        goapi_redis_io_failed(st, conn, c, "ROLE", errno);
    }
    else if (!ok) {
        goapi_redis_fail(conn, GOAPI_REDIS_E_READONLY,
                         "the node the sentinels named (%s) is not the master: %s",
                         st->master_host, r && r->type == REDIS_REPLY_ARRAY
                         && r->elements > 0 && r->element[0]->type == REDIS_REPLY_STRING
                         ? r->element[0]->str : "no answer to ROLE");
    }
    if (r) {
        freeReplyObject(r);
    }
    return ok;
}

/* A connect failed: no thread tries again for GOAPI_REDIS_RETRY, and the
 * master is looked up again next time. */
static void goapi_redis_pause(goapi_redis_store *st, goapi_redis_conn *conn)
{
    apr_thread_mutex_lock(st->lock);
    st->retry_at = apr_time_now() + GOAPI_REDIS_RETRY;
    st->down_kind = conn->kind;
    apr_cpystrn(st->down_err, conn->err, sizeof(st->down_err));
    st->master_known = 0;
    apr_thread_mutex_unlock(st->lock);
}

/* A new connection for this thread: dialled, authenticated, its database
 * selected, and through the sentinels the master's. */
static int goapi_redis_connect(goapi_redis_store *st, goapi_redis_conn *conn)
{
    const goapi_redis_target *t = &st->target;
    const char *host = t->addr.host;
    int port = t->addr.port;
    redisContext *c = NULL;
    char db[16], master[sizeof(st->master_host)];
    apr_time_t now = apr_time_now();

    int known;

    apr_thread_mutex_lock(st->lock);
    if (now < st->retry_at) {
        /* the words of that failure, its cause's phrase already in them */
        conn->kind = st->down_kind;
        apr_snprintf(conn->err, sizeof(conn->err), "%s (the last connect, less than %d ms "
                     "ago; no new one before then)", st->down_err, GOAPI_REDIS_RETRY / 1000);
        apr_thread_mutex_unlock(st->lock);
        return 0;
    }
    known = st->master_known;
    memcpy(master, st->master_host, sizeof(master));
    port = t->kind == GOAPI_REDIS_SENTINEL ? st->master_port : port;
    apr_thread_mutex_unlock(st->lock);

    if (t->kind == GOAPI_REDIS_SENTINEL) {
        if (!known && !goapi_redis_resolve(st, conn, master, &port)) {
            goapi_redis_pause(st, conn);
            return 0;
        }
        host = master;
    }

    c = goapi_redis_dial(st, conn, host, port);
    if (c && (t->password || t->user)) {
        const char *argv[3] = { "AUTH", t->user ? t->user : t->password, t->password };

        if (!goapi_redis_expect_ok(st, conn, c, t->user && t->password ? 3 : 2, argv)) {
            redisFree(c);
            c = NULL;
        }
    }
    if (c && t->db) {
        const char *argv[2] = { "SELECT", db };

        apr_snprintf(db, sizeof(db), "%d", t->db);
        if (!goapi_redis_expect_ok(st, conn, c, 2, argv)) {
            redisFree(c);
            c = NULL;
        }
    }
    if (c && t->kind == GOAPI_REDIS_SENTINEL && !goapi_redis_is_master(st, conn, c)) {
        redisFree(c);
        c = NULL;
    }
    if (!c) {
        goapi_redis_pause(st, conn);
        return 0;
    }
    apr_thread_mutex_lock(st->lock);
    st->retry_at = 0;           /* reachable again: no thread need wait */
    if (t->kind == GOAPI_REDIS_SENTINEL) {
        apr_cpystrn(st->master_host, master, sizeof(st->master_host));
        st->master_port = port;
        st->master_known = 1;
    }
    apr_thread_mutex_unlock(st->lock);
    conn->c = c;
    return 1;
}

/* ---- commands --------------------------------------------------------------- */

/* Names the failure of a second attempt after the first's, in the
 * thread's error. */
static void goapi_redis_then(goapi_redis_conn *conn, const char *first)
{
    char second[GOAPI_REDIS_ERR_MAX];

    apr_cpystrn(second, conn->err, sizeof(second));
    apr_snprintf(conn->err, sizeof(conn->err), "%s; then, on a new connection, %s", first,
                 second);
}

/* One command on this thread's connection (made if need be): the reply,
 * or NULL with the thread's failure set.  step names it in errors.  A
 * reused connection that fails without an answer is dropped and the
 * command sent once more on a new one; an error reply is returned to the
 * caller as it is. */
static redisReply *goapi_redis_command(goapi_redis_store *st, goapi_redis_conn *conn,
                                       const char *step, int argc, const char **argv,
                                       const size_t *lens)
{
    char first[GOAPI_REDIS_ERR_MAX];
    int attempt;

    first[0] = '\0';
    for (attempt = 0; attempt < 2; attempt++) {
        int reused = conn->c != NULL, errnum;
        redisReply *r;

        if (!conn->c && !goapi_redis_connect(st, conn)) {
            if (first[0]) {
                goapi_redis_then(conn, first);
            }
            return NULL;
        }
        apr_cpystrn(conn->step, step, sizeof(conn->step));
        r = redisCommandArgv(conn->c, argc, argv, lens);
        errnum = errno;
        if (r) {
            goapi_redis_error_kind kind = r->type == REDIS_REPLY_ERROR
                                          ? goapi_redis_error_reply(r->str)
                                          : GOAPI_REDIS_E_NONE;

            if (kind == GOAPI_REDIS_E_READONLY || kind == GOAPI_REDIS_E_NOT_READY) {
                /* a failover under way (or a replica named as the store):
                 * find the master again */
                goapi_redis_refused(conn, step, r->str);
                if (first[0]) {
                    goapi_redis_then(conn, first);
                }
                freeReplyObject(r);
                goapi_redis_drop(conn);
                apr_thread_mutex_lock(st->lock);
                st->master_known = 0;
                apr_thread_mutex_unlock(st->lock);
                return NULL;
            }
            return r;
        }
        goapi_redis_io_failed(st, conn, conn->c, step, errnum);
        conn->unsure |= goapi_redis_error_unsure(conn->kind, 1);
        if (first[0]) {
            goapi_redis_then(conn, first);
        }
        goapi_redis_drop(conn);
        apr_thread_mutex_lock(st->lock);
        st->master_known = 0;
        apr_thread_mutex_unlock(st->lock);
        if (!reused || first[0]) {
            break;
        }
        apr_cpystrn(first, conn->err, sizeof(first));
    }
    return NULL;
}

/* A script by its SHA1, loaded on first use; EVAL when the server lost it.
 * args: its key, then its arguments (nargs in all). */
static redisReply *goapi_redis_script(goapi_redis_store *st, goapi_redis_conn *conn, int which,
                                      int nargs, const char **args, const size_t *lens)
{
    const char *argv[8];
    size_t len[8];
    char sha[41], step[64];
    redisReply *r;
    int i;

    apr_thread_mutex_lock(st->lock);
    memcpy(sha, st->sha[which], sizeof(sha));
    apr_thread_mutex_unlock(st->lock);
    argv[0] = sha[0] ? "EVALSHA" : "EVAL";
    argv[1] = sha[0] ? sha : goapi_redis_scripts[which];
    argv[2] = "1";
    for (i = 0; i < nargs; i++) {
        argv[3 + i] = (const char *)args[i];
        len[3 + i] = lens[i];
    }
    for (i = 0; i < 3; i++) {
        len[i] = strlen(argv[i]);
    }
    apr_snprintf(step, sizeof(step), "%s of %s", argv[0], goapi_redis_script_names[which]);
    r = goapi_redis_command(st, conn, step, 3 + nargs, argv, len);
    if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
        freeReplyObject(r);
        argv[0] = "EVAL";
        argv[1] = goapi_redis_scripts[which];
        len[0] = 4;
        len[1] = strlen(argv[1]);
        apr_snprintf(step, sizeof(step), "EVAL of %s", goapi_redis_script_names[which]);
        r = goapi_redis_command(st, conn, step, 3 + nargs, argv, len);
    }
    if (r && !sha[0] && r->type != REDIS_REPLY_ERROR) {
        /* EVAL cached it on the server: its SHA1, for the next time */
        const char *load[3] = { "SCRIPT", "LOAD", goapi_redis_scripts[which] };
        redisReply *s = goapi_redis_command(st, conn, "SCRIPT LOAD", 3, load, NULL);

        if (s && s->type == REDIS_REPLY_STRING && s->len == 40) {
            apr_thread_mutex_lock(st->lock);
            memcpy(st->sha[which], s->str, 41);
            apr_thread_mutex_unlock(st->lock);
        }
        if (s) {
            freeReplyObject(s);
        }
    }
    return r;
}

/* ---- the store --------------------------------------------------------------- */

/* <prefix>{<hex key>}: the buffer holds the longest prefix (64) and more. */
static const char *goapi_redis_key(goapi_redis_store *st, const unsigned char k[GOAPI_SHA256_LEN],
                                   char buf[512])
{
    char *end = goapi_idem_hex(k, GOAPI_SHA256_LEN,
                               buf + apr_snprintf(buf, 512, "%s{", st->prefix));

    end[0] = '}';
    end[1] = '\0';
    return buf;
}

/* Milliseconds from now to t, at least 1 (for PX). */
static const char *goapi_redis_px(apr_time_t t, apr_time_t now, char buf[24])
{
    apr_int64_t ms = (t - now) / 1000;

    apr_snprintf(buf, 24, "%" APR_INT64_T_FMT, ms > 0 ? ms : 1);
    return buf;
}

static unsigned char *goapi_redis_encode(const goapi_idem_record *rec, apr_size_t *n)
{
    unsigned char *buf;

    *n = goapi_idem_encoded_size(rec);
    if (!*n || !(buf = malloc(*n))) {
        return NULL;
    }
    goapi_idem_encode(rec, buf);
    return buf;
}

/* An error reply or a reply of the wrong type to the command sent last,
 * as the thread's failure. */
static apr_status_t goapi_redis_unexpected(goapi_redis_conn *conn, redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        goapi_redis_refused(conn, conn->step, r->str);
    }
    else {
        goapi_redis_fail(conn, GOAPI_REDIS_E_PROTOCOL, "%s answered with a reply of "
                         "another type (%d)", conn->step, r->type);
    }
    freeReplyObject(r);
    return APR_EGENERAL;
}

/* This thread's connection, its last failure forgotten: an operation
 * begins. */
static goapi_redis_conn *goapi_redis_begin(goapi_redis_store *st)
{
    goapi_redis_conn *conn = goapi_redis_conn_of(st);

    if (conn) {
        conn->kind = GOAPI_REDIS_E_NONE;
        conn->unsure = 0;
        conn->err[0] = '\0';
    }
    return conn;
}

/* How long WAIT may block: 3/4 of the timeout (at least 1 ms; WAIT 0
 * would block for ever).  Its answer is read with the whole timeout on top
 * (goapi_redis_replicated), so a busy host never turns "too few replicas"
 * into a timeout. */
static long goapi_redis_wait_ms(const goapi_redis_store *st)
{
    long ms = ((long)st->tv.tv_sec * 1000 + (long)st->tv.tv_usec / 1000) * 3 / 4;

    return ms > 0 ? ms : 1;
}

/* Did st->replicas replicas acknowledge every write of this connection so
 * far (what: the write, in errors)?  APR_SUCCESS, or the failure set.
 * WAIT counts the writes of its own connection: it is never sent again
 * on a new one, where it would count nothing. */
static apr_status_t goapi_redis_replicated(goapi_redis_store *st, goapi_redis_conn *conn,
                                           const char *what)
{
    char n[16], ms[24];
    const char *argv[3] = { "WAIT", n, ms };
    struct timeval tv;
    long wait_ms;
    redisReply *r;
    int errnum;

    if (!st->replicas) {
        return APR_SUCCESS;
    }
    if (!conn->c) {
        goapi_redis_fail(conn, GOAPI_REDIS_E_LOCAL, "no connection to send WAIT on after %s",
                         what);
        return APR_EGENERAL;
    }
    apr_snprintf(n, sizeof(n), "%d", st->replicas);
    apr_cpystrn(conn->step, "WAIT", sizeof(conn->step));
    wait_ms = goapi_redis_wait_ms(st);
    apr_snprintf(ms, sizeof(ms), "%ld", wait_ms);
    tv.tv_sec = st->tv.tv_sec + wait_ms / 1000;
    tv.tv_usec = st->tv.tv_usec + (wait_ms % 1000) * 1000;
    if (tv.tv_usec >= 1000000) {
        tv.tv_sec++;
        tv.tv_usec -= 1000000;
    }
    if (redisSetTimeout(conn->c, tv) != REDIS_OK) {
        goapi_redis_fail(conn, GOAPI_REDIS_E_LOCAL, "cannot set the timeout for WAIT");
        conn->unsure = 1;
        goapi_redis_drop(conn);
        return APR_EGENERAL;
    }
    r = redisCommandArgv(conn->c, 3, argv, NULL);
    errnum = errno;
    if (r && redisSetTimeout(conn->c, st->tv) != REDIS_OK) {
        freeReplyObject(r);
        goapi_redis_fail(conn, GOAPI_REDIS_E_LOCAL, "cannot set the timeout back after WAIT");
        conn->unsure = 1;
        goapi_redis_drop(conn);
        return APR_EGENERAL;
    }
    if (!r) {
        char step[64];

        apr_snprintf(step, sizeof(step), "WAIT (after the %s ms it may block)", ms);
        goapi_redis_io_failed(st, conn, conn->c, step, errnum);
        conn->unsure |= goapi_redis_error_unsure(conn->kind, 1);
        goapi_redis_drop(conn);
        return APR_EGENERAL;
    }
    if (r->type != REDIS_REPLY_INTEGER) {
        return goapi_redis_unexpected(conn, r);
    }
    if (r->integer < st->replicas) {
        goapi_redis_fail(conn, GOAPI_REDIS_E_REPLICAS, "%" APR_INT64_T_FMT " of %d "
                         "replica(s) acknowledged %s within %s ms (WAIT)",
                         (apr_int64_t)r->integer, st->replicas, what, ms);
        freeReplyObject(r);
        return APR_EGENERAL;
    }
    freeReplyObject(r);
    return APR_SUCCESS;
}

/* The release or completion script on this thread's connection, fenced by
 * claim_id: APR_SUCCESS, APR_ENOENT (no record), APR_NOTFOUND (not ours),
 * or a failure. */
static apr_status_t goapi_redis_fenced_on(goapi_redis_store *st, goapi_redis_conn *conn,
                                          const unsigned char key[GOAPI_SHA256_LEN],
                                          int which, apr_uint64_t claim_id,
                                          const goapi_idem_record *done)
{
    unsigned char token[GOAPI_IDEM_TOKEN_LEN], *rec = NULL;
    char kbuf[512], px[24];
    const char *args[4];
    size_t lens[4];
    apr_size_t n = 0;
    redisReply *r;
    apr_status_t rv;

    goapi_idem_claim_token(claim_id, token);
    args[0] = goapi_redis_key(st, key, kbuf);
    lens[0] = strlen(args[0]);
    args[1] = (const char *)token;
    lens[1] = sizeof(token);
    if (done) {
        if (!(rec = goapi_redis_encode(done, &n))) {
            return APR_EINVAL;
        }
        args[2] = (const char *)rec;
        lens[2] = n;
        args[3] = goapi_redis_px(done->expires, apr_time_now(), px);
        lens[3] = strlen(px);
    }
    r = goapi_redis_script(st, conn, which, done ? 4 : 2, args, lens);
    free(rec);
    if (!r) {
        return APR_EGENERAL;
    }
    if (r->type != REDIS_REPLY_INTEGER || r->integer < 0 || r->integer > 2) {
        return goapi_redis_unexpected(conn, r);
    }
    rv = r->integer == 1 ? APR_SUCCESS : r->integer == 2 ? APR_ENOENT : APR_NOTFOUND;
    freeReplyObject(r);
    return rv;
}

/* ---- orphaned claims ---------------------------------------------------- */

/* An orphan to release on a thread's connection. */
typedef struct {
    goapi_redis_store *st;
    goapi_redis_conn *conn;
} goapi_redis_on;

static apr_status_t goapi_redis_release_orphan(void *baton,
                                               const unsigned char key[GOAPI_SHA256_LEN],
                                               apr_uint64_t claim_id)
{
    goapi_redis_on *on = baton;

    return goapi_redis_fenced_on(on->st, on->conn, key, GOAPI_SCRIPT_RELEASE, claim_id, NULL);
}

/* Releases up to max orphaned claims that are due, on this thread's
 * connection; stops at the first one the store does not answer, and
 * returns that failure.  *released: how many of ours it deleted. */
static apr_status_t goapi_redis_drain(goapi_redis_store *st, goapi_redis_conn *conn, int max,
                                      apr_size_t *released)
{
    goapi_redis_on on;

    on.st = st;
    on.conn = conn;
    return goapi_store_orphans_drain(st->orphans, max, goapi_redis_release_orphan, &on,
                                     released);
}

static apr_status_t goapi_redis_orphan_keep(goapi_store *base,
                                            const unsigned char key[GOAPI_SHA256_LEN],
                                            const goapi_idem_record *claim)
{
    return goapi_store_orphans_keep(((goapi_redis_store *)base)->orphans, key, claim);
}

static apr_status_t goapi_redis_settle(goapi_store *base, apr_size_t *released,
                                       apr_size_t *left)
{
    goapi_redis_store *st = (goapi_redis_store *)base;
    goapi_redis_conn *conn = goapi_redis_begin(st);
    apr_status_t rv;

    *released = 0;
    rv = conn ? goapi_redis_drain(st, conn, GOAPI_STORE_ORPHANS, released) : APR_ENOMEM;
    *left = goapi_store_orphans_left(st->orphans);
    return rv;
}

/* ---- the store --------------------------------------------------------- */

/* A claim on this connection that the replicas did not acknowledge: it
 * is released now, and the claim fails (nothing ran).  A release that
 * gets no answer leaves the claim in doubt (unsure): an orphan. */
static apr_status_t goapi_redis_claim_unreplicated(goapi_redis_store *st, goapi_redis_conn *conn,
                                                   const unsigned char key[GOAPI_SHA256_LEN],
                                                   apr_uint64_t claim_id)
{
    char why[GOAPI_REDIS_ERR_MAX];
    goapi_redis_error_kind kind = conn->kind;
    int unsure = conn->unsure;
    apr_status_t rv;

    apr_cpystrn(why, conn->err, sizeof(why));
    rv = goapi_redis_fenced_on(st, conn, key, GOAPI_SCRIPT_RELEASE, claim_id, NULL);
    if (rv == APR_SUCCESS || rv == APR_ENOENT || rv == APR_NOTFOUND) {
        conn->kind = kind;
        conn->unsure = unsure;
        apr_snprintf(conn->err, sizeof(conn->err), "%s; the claim was released", why);
    }
    else {
        char then[GOAPI_REDIS_ERR_MAX];

        apr_cpystrn(then, conn->err, sizeof(then));
        conn->unsure = 1;
        apr_snprintf(conn->err, sizeof(conn->err), "%s; its release failed too: %s", why,
                     then);
    }
    return APR_EGENERAL;
}

static apr_status_t goapi_redis_claim(goapi_store *base, const unsigned char key[GOAPI_SHA256_LEN],
                                      const goapi_idem_record *mine, apr_time_t now,
                                      unsigned flags, goapi_claim_result *res,
                                      goapi_idem_record *existing, apr_pool_t *p)
{
    goapi_redis_store *st = (goapi_redis_store *)base;
    goapi_redis_conn *conn = goapi_redis_begin(st);
    char kbuf[512], px[24];
    const char *args[4];
    size_t lens[4];
    unsigned char *rec, *replace = NULL;
    apr_size_t n, rn = 0, released = 0;
    apr_status_t rv = APR_EGENERAL;
    int round;

    if (!conn) {
        return APR_ENOMEM;
    }
    /* orphans first: a store that cannot release them cannot take a claim
     * either, and says why without our claim ever sent */
    if ((rv = goapi_redis_drain(st, conn, GOAPI_REDIS_DRAIN_MAX, &released)) != APR_SUCCESS) {
        conn->unsure = 0;
        return rv;
    }
    rv = APR_EGENERAL;
    if (!(rec = goapi_redis_encode(mine, &n))) {
        return APR_EINVAL;
    }
    args[0] = goapi_redis_key(st, key, kbuf);
    lens[0] = strlen(args[0]);
    args[1] = (const char *)rec;
    lens[1] = n;
    args[2] = goapi_redis_px(mine->expires, now, px);
    lens[2] = strlen(px);
    /* the second round only to replace what the rule lets us replace */
    for (round = 0; round < 2; round++) {
        redisReply *r;

        args[3] = replace ? (const char *)replace : "";
        lens[3] = rn;
        r = goapi_redis_script(st, conn, GOAPI_SCRIPT_CLAIM, 4, args, lens);
        if (!r) {
            break;
        }
        if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
            freeReplyObject(r);
            *res = GOAPI_CLAIM_TAKEN;
            rv = APR_SUCCESS;
            break;
        }
        if (r->type != REDIS_REPLY_STRING) {
            rv = goapi_redis_unexpected(conn, r);
            break;
        }
        if (goapi_idem_decode(existing, r->str, r->len, p) != APR_SUCCESS) {
            freeReplyObject(r);
            rv = APR_EINVAL;
            break;
        }
        if (existing->state == GOAPI_IDEM_IN_FLIGHT && existing->claim_id == mine->claim_id) {
            /* our own claim, made before the connection broke */
            freeReplyObject(r);
            *res = GOAPI_CLAIM_TAKEN;
            rv = APR_SUCCESS;
            break;
        }
        if (round == 0 && goapi_store_claim_replaces(existing, now, flags)) {
            free(replace);
            replace = malloc(r->len);
            rn = r->len;
            if (replace) {
                memcpy(replace, r->str, r->len);
            }
            freeReplyObject(r);
            if (!replace) {
                rv = APR_ENOMEM;
                break;
            }
            continue;
        }
        freeReplyObject(r);
        *res = GOAPI_CLAIM_HELD;
        rv = APR_SUCCESS;
        break;
    }
    free(replace);
    free(rec);
    if (rv == APR_SUCCESS && *res == GOAPI_CLAIM_TAKEN
        && goapi_redis_replicated(st, conn, "the claim") != APR_SUCCESS) {
        rv = conn->unsure ? APR_EGENERAL
                          : goapi_redis_claim_unreplicated(st, conn, key, mine->claim_id);
    }
    return rv;
}

/* A fenced script (the release, or with done the completion) as an
 * operation of its own. */
static apr_status_t goapi_redis_fenced(goapi_redis_store *st, const unsigned char key[GOAPI_SHA256_LEN],
                                       int which, apr_uint64_t claim_id,
                                       const goapi_idem_record *done)
{
    goapi_redis_conn *conn = goapi_redis_begin(st);

    return conn ? goapi_redis_fenced_on(st, conn, key, which, claim_id, done) : APR_ENOMEM;
}

static apr_status_t goapi_redis_complete(goapi_store *base,
                                         const unsigned char key[GOAPI_SHA256_LEN],
                                         const goapi_idem_record *done)
{
    goapi_redis_store *st = (goapi_redis_store *)base;
    apr_status_t rv = goapi_redis_fenced(st, key, GOAPI_SCRIPT_COMPLETE, done->claim_id, done);
    goapi_redis_conn *conn;

    if (rv == APR_SUCCESS && (conn = goapi_redis_conn_of(st)) != NULL
        && goapi_redis_replicated(st, conn, "the completion") != APR_SUCCESS) {
        /* the master has it; a failover before the replicas do may lose it */
        conn->unsure = 1;
        rv = APR_EGENERAL;
    }
    return rv;
}

static apr_status_t goapi_redis_release(goapi_store *base,
                                        const unsigned char key[GOAPI_SHA256_LEN],
                                        apr_uint64_t claim_id)
{
    return goapi_redis_fenced((goapi_redis_store *)base, key, GOAPI_SCRIPT_RELEASE,
                              claim_id, NULL);
}
static apr_status_t goapi_redis_lookup(goapi_store *base, const unsigned char key[GOAPI_SHA256_LEN],
                                       goapi_idem_record *rec, apr_pool_t *p)
{
    goapi_redis_store *st = (goapi_redis_store *)base;
    goapi_redis_conn *conn = goapi_redis_begin(st);
    char kbuf[512];
    const char *argv[2];
    redisReply *r;
    apr_status_t rv;

    if (!conn) {
        return APR_ENOMEM;
    }
    argv[0] = "GET";
    argv[1] = goapi_redis_key(st, key, kbuf);
    if (!(r = goapi_redis_command(st, conn, "GET", 2, argv, NULL))) {
        return APR_EGENERAL;
    }
    if (r->type == REDIS_REPLY_NIL) {
        rv = APR_NOTFOUND;
    }
    else if (r->type != REDIS_REPLY_STRING) {
        return goapi_redis_unexpected(conn, r);
    }
    else {
        rv = goapi_idem_decode(rec, r->str, r->len, p) == APR_SUCCESS ? APR_SUCCESS
                                                                      : APR_EINVAL;
    }
    freeReplyObject(r);
    return rv;
}

/* Redis removes expired records itself. */
static apr_status_t goapi_redis_sweep(goapi_store *base, apr_time_t now, apr_size_t *removed)
{
    (void)base;
    (void)now;
    *removed = 0;
    return APR_SUCCESS;
}

static apr_status_t goapi_redis_next(goapi_store *base, const char *counter, apr_uint64_t *value)
{
    goapi_redis_store *st = (goapi_redis_store *)base;
    goapi_redis_conn *conn = goapi_redis_begin(st);
    char kbuf[512];
    const char *argv[2];
    redisReply *r;

    if (!conn) {
        return APR_ENOMEM;
    }
    apr_snprintf(kbuf, sizeof(kbuf), "%scounter:{%s}", st->prefix, counter);
    argv[0] = "INCR";
    argv[1] = kbuf;
    if (!(r = goapi_redis_command(st, conn, "INCR", 2, argv, NULL))) {
        return APR_EGENERAL;
    }
    if (r->type != REDIS_REPLY_INTEGER || r->integer < 1) {
        return goapi_redis_unexpected(conn, r);
    }
    *value = (apr_uint64_t)r->integer;
    freeReplyObject(r);
    return APR_SUCCESS;
}

/* From INFO replication: the replicas online (-1 when the text does not
 * say), and whether the node is a master. */
static int goapi_redis_info_replicas(const char *info, int *master)
{
    const char *line;
    int online = 0, seen = 0;

    *master = 0;
    for (line = info; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *end = strchr(line, '\n');
        apr_size_t len = end ? (apr_size_t)(end - line) : strlen(line);

        if (len >= 11 && !strncmp(line, "role:master", 11)) {
            *master = 1;
            seen = 1;
        }
        else if (len >= 5 && !strncmp(line, "role:", 5)) {
            seen = 1;
        }
        else if (!strncmp(line, "slave", 5) && line[5] >= '0' && line[5] <= '9') {
            const char *s = strstr(line, "state=online");

            online += s && s < line + len;
        }
    }
    return seen ? online : -1;
}

/* The replicas online behind this thread's connection, or -1 and the
 * failure set. */
static int goapi_redis_replicas_online(goapi_redis_store *st, goapi_redis_conn *conn)
{
    const char *argv[2] = { "INFO", "replication" };
    redisReply *r = goapi_redis_command(st, conn, "INFO replication", 2, argv, NULL);
    int online, master;

    if (!r) {
        return -1;
    }
    if (r->type != REDIS_REPLY_STRING) {
        goapi_redis_unexpected(conn, r);
        return -1;
    }
    online = goapi_redis_info_replicas(r->str, &master);
    freeReplyObject(r);
    if (online < 0 || !master) {
        goapi_redis_fail(conn, online < 0 ? GOAPI_REDIS_E_PROTOCOL : GOAPI_REDIS_E_READONLY,
                         "%s", online < 0 ? "INFO replication does not name the node's role"
                                          : "the store's node is not a master");
        return -1;
    }
    return online;
}

static apr_status_t goapi_redis_ping(goapi_store *base)
{
    goapi_redis_store *st = (goapi_redis_store *)base;
    goapi_redis_conn *conn = goapi_redis_begin(st);
    const char *argv[1] = { "PING" };
    redisReply *r;
    int online;

    if (!conn) {
        return APR_ENOMEM;
    }
    if (st->replicas) {
        /* an answer, and enough replicas to acknowledge each write */
        if ((online = goapi_redis_replicas_online(st, conn)) < 0) {
            return APR_EGENERAL;
        }
        if (online < st->replicas) {
            goapi_redis_fail(conn, GOAPI_REDIS_E_REPLICAS, "%d replica(s) online, %d needed "
                             "to acknowledge each claim: every claim would be refused",
                             online, st->replicas);
            return APR_EGENERAL;
        }
        return APR_SUCCESS;
    }
    if (!(r = goapi_redis_command(st, conn, "PING", 1, argv, NULL))) {
        return APR_EGENERAL;
    }
    if (r->type != REDIS_REPLY_STATUS) {
        return goapi_redis_unexpected(conn, r);
    }
    freeReplyObject(r);
    return APR_SUCCESS;
}

static const char *goapi_redis_error(goapi_store *base, apr_status_t rv)
{
    goapi_redis_conn *conn = goapi_redis_conn_of((goapi_redis_store *)base);

    if (rv == APR_EINVAL) {
        return "a record in the store is malformed";
    }
    return conn && conn->err[0] ? conn->err : NULL;
}

static int goapi_redis_unsure(goapi_store *base, apr_status_t rv)
{
    goapi_redis_conn *conn = goapi_redis_conn_of((goapi_redis_store *)base);

    return rv != APR_SUCCESS && conn && conn->unsure;
}

static const goapi_store_ops goapi_redis_ops = {
    goapi_redis_claim,
    goapi_redis_complete,
    goapi_redis_release,
    goapi_redis_lookup,
    goapi_redis_sweep,
    goapi_redis_next,
    goapi_redis_error,
    goapi_redis_ping,
    goapi_redis_unsure,
    goapi_redis_orphan_keep,
    goapi_redis_settle
};

static apr_status_t goapi_redis_close(void *data)
{
    goapi_redis_store *st = data;
    goapi_redis_conn *conn, *next;

    /* no thread's exit may free a connection from here on */
    apr_threadkey_private_delete(st->key);
    apr_thread_mutex_lock(st->lock);
    conn = st->conns;
    st->conns = NULL;
    apr_thread_mutex_unlock(st->lock);
    for (; conn; conn = next) {
        next = conn->next;
        goapi_redis_drop(conn);
        free(conn);
    }
    return APR_SUCCESS;
}

apr_status_t goapi_store_redis_open(goapi_store **out, const goapi_redis_target *t,
                                    const char *prefix, apr_interval_time_t timeout,
                                    int replicas, apr_pool_t *p)
{
    goapi_redis_store *st = apr_pcalloc(p, sizeof(*st));
    apr_status_t rv;

    st->base.ops = &goapi_redis_ops;
    st->target = *t;
    st->prefix = apr_pstrdup(p, prefix);
    st->tv.tv_sec = (long)apr_time_sec(timeout);
    st->tv.tv_usec = (long)apr_time_usec(timeout);
    st->replicas = replicas > 0 ? replicas : 0;
    if ((rv = apr_thread_mutex_create(&st->lock, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = goapi_store_orphans_create(&st->orphans, p)) != APR_SUCCESS
        || (rv = apr_threadkey_private_create(&st->key, goapi_redis_conn_free, p))
           != APR_SUCCESS) {
        return rv;
    }
    apr_pool_cleanup_register(p, st, goapi_redis_close, apr_pool_cleanup_null);
    *out = &st->base;
    return APR_SUCCESS;
}

/* CONFIG GET name on this thread's connection: its value, or NULL (CONFIG
 * refused, as managed services do, or no such parameter). */
static const char *goapi_redis_config(goapi_redis_store *st, goapi_redis_conn *conn,
                                      const char *name, apr_pool_t *p)
{
    const char *argv[3] = { "CONFIG", "GET", name };
    redisReply *r = goapi_redis_command(st, conn, "CONFIG GET", 3, argv, NULL);
    const char *value = NULL;

    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2
        && r->element[1]->type == REDIS_REPLY_STRING) {
        value = apr_pstrdup(p, r->element[1]->str);
    }
    if (r) {
        freeReplyObject(r);
    }
    return value;
}

apr_status_t goapi_store_redis_probe(const goapi_redis_target *target,
                                     apr_interval_time_t timeout, goapi_redis_facts *facts,
                                     const char **why, apr_pool_t *p)
{
    goapi_redis_store *st;
    goapi_redis_conn *conn;
    goapi_store *base;
    apr_pool_t *sub;
    apr_status_t rv;

    memset(facts, 0, sizeof(*facts));
    facts->min_replicas = -1;
    facts->replicas = -1;
    *why = NULL;
    if ((rv = apr_pool_create(&sub, p)) != APR_SUCCESS
        || (rv = goapi_store_redis_open(&base, target, "", timeout, 0, sub)) != APR_SUCCESS) {
        return rv;
    }
    st = (goapi_redis_store *)base;
    if ((rv = goapi_redis_ping(base)) != APR_SUCCESS) {
        *why = apr_pstrdup(p, goapi_redis_error(base, rv) ? goapi_redis_error(base, rv)
                                                          : "no answer");
    }
    else if ((conn = goapi_redis_conn_of(st)) != NULL) {
        const char *min;

        facts->policy = goapi_redis_config(st, conn, "maxmemory-policy", p);
        facts->appendonly = goapi_redis_config(st, conn, "appendonly", p);
        facts->appendfsync = goapi_redis_config(st, conn, "appendfsync", p);
        if ((min = goapi_redis_config(st, conn, "min-replicas-to-write", p)) != NULL) {
            char *end;
            long n = strtol(min, &end, 10);

            facts->min_replicas = !*end && n >= 0 && n < 1000000 ? (int)n : -1;
        }
        facts->replicas = goapi_redis_replicas_online(st, conn);
    }
    apr_pool_destroy(sub);
    return rv;
}
