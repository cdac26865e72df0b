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
 * Connections, commands and failures: goapi_redis_conn.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "goapi_redis_conn.h"

/* What each script is, in errors. */
const char *const goapi_redis_script_names[GOAPI_SCRIPTS] = {
    "the claim script", "the completion script", "the release script"
};

const char *const goapi_redis_scripts[GOAPI_SCRIPTS] = {
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
