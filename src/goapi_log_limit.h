/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_log_limit.h — an error that repeats, logged at most once per
 * interval: a store or a limit that fails every request would otherwise
 * write a line per request.  Pure: APR only.
 */
#ifndef GOAPI_LOG_LIMIT_H
#define GOAPI_LOG_LIMIT_H

#include <apr.h>
#include <apr_time.h>

/* A limiter of one process, shared by its threads without a lock; zero it
 * to start. */
typedef struct {
    volatile apr_uint32_t period;       /* the interval last logged in */
    volatile apr_uint32_t skipped;      /* errors not logged since */
} goapi_log_limit;

/* 1 when an error at now may be logged (*skipped: how many were left out
 * before it), 0 when it is to be left out. */
int goapi_log_due(goapi_log_limit *l, apr_time_t now, apr_interval_time_t interval,
                  apr_uint32_t *skipped);

#endif /* GOAPI_LOG_LIMIT_H */
