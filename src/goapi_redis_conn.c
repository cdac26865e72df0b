/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_redis_conn.c — the Redis ledger's connections and commands
 * (goapi_store_redis.c is the ledger itself).
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

#include "goapi_redis_conn.h"

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

/* The thread's failure: its cause, then fmt (what met it). */
void goapi_redis_fail(goapi_redis_conn *conn, goapi_redis_error_kind kind,
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
void goapi_redis_io_failed(goapi_redis_store *st, goapi_redis_conn *conn,
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
void goapi_redis_refused(goapi_redis_conn *conn, const char *step, const char *text)
{
    goapi_redis_fail(conn, goapi_redis_error_reply(text), "%s answered %s", step, text);
}

void goapi_redis_drop(goapi_redis_conn *conn)
{
    if (conn->c) {
        redisFree(conn->c);
        conn->c = NULL;
    }
}

/* At thread exit (threadkey destructor), or when the store closes. */
void goapi_redis_conn_free(void *data)
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

goapi_redis_conn *goapi_redis_conn_of(goapi_redis_store *st)
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
redisReply *goapi_redis_command(goapi_redis_store *st, goapi_redis_conn *conn,
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
redisReply *goapi_redis_script(goapi_redis_store *st, goapi_redis_conn *conn, int which,
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
