/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_store_redis.h — the idempotency ledger on Redis (or Valkey), one
 * ledger for every host that names the same server, database and prefix.
 * Pure: APR, libc and hiredis only.  See goapi_store_redis.c.
 */
#ifndef GOAPI_STORE_REDIS_H
#define GOAPI_STORE_REDIS_H

#include <apr_pools.h>
#include <apr_time.h>

#include "goapi_redis_url.h"
#include "goapi_store.h"

/* A store on target, its keys under prefix; timeout bounds a connect and
 * every command.  replicas: how many replicas must acknowledge each claim
 * and completion (WAIT, within 3/4 of timeout); 0 none.  Its ping then
 * fails while fewer are online.  Nothing is connected yet: each thread
 * connects on its first command (so open it after fork).  Closed, with
 * every connection, when p is destroyed. */
apr_status_t goapi_store_redis_open(goapi_store **st, const goapi_redis_target *target,
                                    const char *prefix, apr_interval_time_t timeout,
                                    int replicas, apr_pool_t *p);

/* What a Redis server says of how it keeps records, for the warnings at
 * startup.  NULL or -1: unknown (CONFIG refused, as managed services do). */
typedef struct {
    const char *policy;         /* maxmemory-policy */
    const char *appendonly;     /* "yes" or "no" */
    const char *appendfsync;    /* always, everysec or no */
    int min_replicas;           /* min-replicas-to-write */
    int replicas;               /* replicas online now */
} goapi_redis_facts;

/* At startup: can target be reached and does it answer, and what does it
 * say of itself (*facts)?  APR_SUCCESS, or a failure and *why.  Its
 * connection is closed again before it returns. */
apr_status_t goapi_store_redis_probe(const goapi_redis_target *target,
                                     apr_interval_time_t timeout, goapi_redis_facts *facts,
                                     const char **why, apr_pool_t *p);

#endif /* GOAPI_STORE_REDIS_H */
