/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_limits.h — a server's deadlines and limits (the Goapi*Timeout and
 * GoapiMaxHeaderBytes directives), their defaults, and the production
 * checklist run at "apachectl -t" and at startup.  Pure: APR and libc only.
 */
#ifndef GOAPI_LIMITS_H
#define GOAPI_LIMITS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

/* Durations in microseconds: -1 unset (until goapi_limits_resolve()),
 * 0 disabled. */
typedef struct {
    apr_interval_time_t read;          /* GoapiReadTimeout: whole request */
    apr_interval_time_t read_header;   /* GoapiReadHeaderTimeout: -1 = read */
    apr_interval_time_t write;         /* GoapiWriteTimeout: headers read to response written */
    apr_interval_time_t idle;          /* GoapiIdleTimeout: keep-alive wait */
    apr_interval_time_t shutdown;      /* GoapiShutdownTimeout: graceful stop window */
    apr_int64_t max_header_bytes;      /* GoapiMaxHeaderBytes: request line + headers */
} goapi_limits;

#define GOAPI_DEFAULT_SHUTDOWN_TIMEOUT   (3 * APR_USEC_PER_SEC)
#define GOAPI_DEFAULT_MAX_HEADER_BYTES   (APR_INT64_C(1) << 20)  /* Go's default */
#define GOAPI_MIN_MAX_HEADER_BYTES       APR_INT64_C(1024)
#define GOAPI_MAX_MAX_HEADER_BYTES       (APR_INT64_C(64) << 20)

/* All unset. */
void goapi_limits_init(goapi_limits *l);

/* Each field of add that is set, else base's. */
void goapi_limits_merge(goapi_limits *out, const goapi_limits *base,
                        const goapi_limits *add);

/* Apply the defaults to whatever is still unset; returns the mask of the
 * GOAPI_LIMIT_* fields that were set explicitly. */
unsigned goapi_limits_resolve(goapi_limits *l);

#define GOAPI_LIMIT_READ         0x01u
#define GOAPI_LIMIT_READ_HEADER  0x02u
#define GOAPI_LIMIT_WRITE        0x04u
#define GOAPI_LIMIT_IDLE         0x08u
#define GOAPI_LIMIT_SHUTDOWN     0x10u
#define GOAPI_LIMIT_HEADER_BYTES 0x20u

/* The production checklist for one server with resolved limits: one
 * sentence (const char *) per finding is pushed onto out.  serves_goapi
 * says whether the server answers requests with SetHandler goapi; set is
 * the mask goapi_limits_resolve() returned. */
void goapi_limits_review(apr_pool_t *p, const goapi_limits *l, unsigned set,
                         int serves_goapi, apr_array_header_t *out);

#endif /* GOAPI_LIMITS_H */
