/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_redis_conn.h — what the Redis ledger (goapi_store_redis.c) and its
 * connections and commands (goapi_redis_conn.c) share: the store's record,
 * a thread's connection with its last failure, and the calls that send
 * commands and name failures.  Internal to those two units.
 */
#ifndef GOAPI_REDIS_CONN_H
#define GOAPI_REDIS_CONN_H

#include <sys/time.h>

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

/* Their Lua text, and what each is in errors (goapi_store_redis.c). */
extern const char *const goapi_redis_scripts[GOAPI_SCRIPTS];
extern const char *const goapi_redis_script_names[GOAPI_SCRIPTS];

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


/* The thread's failure: its cause, then fmt (what met it); the password
 * never kept. */
void goapi_redis_fail(goapi_redis_conn *conn, goapi_redis_error_kind kind,
                      const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A command that got no answer (step: what was sent), errnum the errno
 * right after it. */
void goapi_redis_io_failed(goapi_redis_store *st, goapi_redis_conn *conn,
                           const redisContext *c, const char *step, int errnum);

/* An error answer to step, as the thread's failure. */
void goapi_redis_refused(goapi_redis_conn *conn, const char *step, const char *text);

/* The connection closed (made again by the next command). */
void goapi_redis_drop(goapi_redis_conn *conn);

/* At thread exit (threadkey destructor), or when the store closes. */
void goapi_redis_conn_free(void *data);

/* This thread's connection record (connected or not), NULL out of memory. */
goapi_redis_conn *goapi_redis_conn_of(goapi_redis_store *st);

/* A command on this thread's connection, connecting first when needed;
 * the reply, or NULL with the failure set (goapi_redis_fail). */
redisReply *goapi_redis_command(goapi_redis_store *st, goapi_redis_conn *conn,
                                const char *step, int argc, const char **argv,
                                const size_t *lens);

/* Script which (GOAPI_SCRIPT_*) as EVALSHA, EVAL when the server does not
 * have it: the reply, or NULL with the failure set. */
redisReply *goapi_redis_script(goapi_redis_store *st, goapi_redis_conn *conn, int which,
                               int nargs, const char **args, const size_t *lens);

#endif
