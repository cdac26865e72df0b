/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_redis_url.h — where a Redis ledger lives, as GoapiIdempotencyStore
 * writes it:
 *
 *   redis://[user[:password]@]host[:port][/db]
 *   unix:/path/to/redis.sock[?db=N][&user=U][&password=P]
 *   redis-sentinel://[user[:password]@]host:port[,host:port...]/master[/db]
 *
 * The port defaults to 6379 (redis://) and 26379 (sentinels); an IPv6
 * address is written in brackets; user and password are percent-decoded
 * (so that '@', ':' and '/' can be in them); credentials given to the
 * sentinel form are the master's.  Pure: APR and libc only.
 */
#ifndef GOAPI_REDIS_URL_H
#define GOAPI_REDIS_URL_H

#include <apr_network_io.h>
#include <apr_pools.h>

#define GOAPI_REDIS_PORT            6379
#define GOAPI_REDIS_SENTINEL_PORT   26379
#define GOAPI_REDIS_MAX_SENTINELS   8
#define GOAPI_REDIS_MAX_DB          1048575     /* databases are 0 .. this */
#define GOAPI_REDIS_MAX_FIELD       512         /* bytes of a name or secret */

typedef enum {
    GOAPI_REDIS_TCP = 1,
    GOAPI_REDIS_UNIX,
    GOAPI_REDIS_SENTINEL
} goapi_redis_kind;

typedef struct {
    const char *host;           /* a name or an address; IPv6 without brackets */
    apr_port_t port;
} goapi_redis_addr;

typedef struct {
    goapi_redis_kind kind;
    goapi_redis_addr addr;      /* TCP: the server */
    const char *path;           /* UNIX: the socket */
    goapi_redis_addr sentinels[GOAPI_REDIS_MAX_SENTINELS];  /* SENTINEL */
    int nsentinels;
    const char *master;         /* SENTINEL: the name the sentinels know */
    const char *user;           /* NULL: none given */
    const char *password;       /* NULL: none given */
    int db;                     /* SELECTed after every connect */
} goapi_redis_target;

/* 1 when text names a Redis store (by its scheme), whatever follows. */
int goapi_redis_url_is(const char *text);

/* Parse text into t.  NULL on success, else a sentence saying what was
 * expected; it never repeats the text (which may hold a password). */
const char *goapi_redis_url_parse(apr_pool_t *p, const char *text, goapi_redis_target *t);

/* The target written back for logs and messages, the password as "***". */
const char *goapi_redis_url_display(apr_pool_t *p, const goapi_redis_target *t);

/* The forms GoapiIdempotencyStore takes, for messages. */
#define GOAPI_STORE_FORMS                                                     \
    "lmdb:<path>, redis://[user[:password]@]host[:port][/db], "               \
    "unix:/path/to/redis.sock[?db=N], "                                       \
    "redis-sentinel://host:port[,host:port...]/master[/db] or dbd"

/* Why text, a GoapiIdempotencyStore value that is neither lmdb:<path> nor a
 * Redis form (goapi_redis_url_is() is 0), names no store, as a sentence
 * that shows at most its scheme ("unknown scheme 'rediss': TLS is not
 * supported"), followed by the forms expected. */
const char *goapi_redis_url_unknown(apr_pool_t *p, const char *text);

#endif /* GOAPI_REDIS_URL_H */
