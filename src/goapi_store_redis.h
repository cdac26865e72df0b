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
 * every command.  Nothing is connected yet: each thread connects on its
 * first command (so open it after fork).  Closed, with every connection,
 * when p is destroyed. */
apr_status_t goapi_store_redis_open(goapi_store **st, const goapi_redis_target *target,
                                    const char *prefix, apr_interval_time_t timeout,
                                    apr_pool_t *p);

/* At startup: can target be reached and does it answer?  *policy is its
 * maxmemory-policy (NULL when CONFIG is refused, as managed services do).
 * APR_SUCCESS, or a failure and *why.  Its connection is closed again
 * before it returns. */
apr_status_t goapi_store_redis_probe(const goapi_redis_target *target,
                                     apr_interval_time_t timeout, const char **policy,
                                     const char **why, apr_pool_t *p);

#endif /* GOAPI_STORE_REDIS_H */
