/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_metrics.h — Prometheus metrics kept in shared memory.
 *
 * One region per httpd process tree, made by the parent and inherited by
 * every child; it survives graceful restarts, so a counter never goes down
 * while the parent lives.  Writers never lock and never make a system
 * call: each child process adds into its own slot (indexed by its
 * scoreboard slot) with atomic adds, so a slot shared by a child that is
 * still finishing and its successor stays exact.  A scrape sums the slots.
 *
 * Series that take labels from a request (route, method, code) are found
 * in a fixed index shared by all slots; a new combination takes a free
 * entry with a compare-and-swap.  A full index counts the request in
 * goapi_metrics_series_overflow_total instead: never a crash, never an
 * allocation.  Route labels are names from a fixed table, filled at
 * configuration (mod_goapi's route patterns and GoapiMetricsRoute names),
 * never raw paths.
 *
 * Pure: APR and libc only.
 */
#ifndef GOAPI_METRICS_H
#define GOAPI_METRICS_H

#include <apr_pools.h>
#include <apr_time.h>

#include "goapi_health.h"

#define GOAPI_METRICS_LABELS        64      /* route names, "other" included */
#define GOAPI_METRICS_LABEL_MAX     63
#define GOAPI_METRICS_SERIES        512     /* route x method x code */
#define GOAPI_METRICS_HSERIES       128     /* route x method (histograms) */
#define GOAPI_METRICS_HOOKS         16      /* shutdown hooks timed */
#define GOAPI_METRICS_HOOK_MAX      47

/* The route label of requests no route names. */
#define GOAPI_METRICS_OTHER         "other"

/* Methods as labels: the registered ones, then _OTHER. */
typedef enum {
    GOAPI_MM_GET = 0, GOAPI_MM_HEAD, GOAPI_MM_POST, GOAPI_MM_PUT, GOAPI_MM_PATCH,
    GOAPI_MM_DELETE, GOAPI_MM_OPTIONS, GOAPI_MM_CONNECT, GOAPI_MM_TRACE,
    GOAPI_MM_OTHER, GOAPI_MM__N
} goapi_metrics_method;

/* Plain counters, one value each. */
typedef enum {
    GOAPI_MC_CUT_READ_HEADER = 0,       /* goapi_deadline_cuts_total{deadline} */
    GOAPI_MC_CUT_READ,
    GOAPI_MC_CUT_WRITE,
    GOAPI_MC_CUT_IDLE,
    GOAPI_MC_CUT_SHUTDOWN,
    GOAPI_MC_HEADER_LIMIT,              /* goapi_header_limit_total */
    GOAPI_MC_IDEM_EXECUTED,             /* goapi_idempotency_requests_total{outcome} */
    GOAPI_MC_IDEM_REPLAYED,
    GOAPI_MC_IDEM_IN_FLIGHT,
    GOAPI_MC_IDEM_MISMATCH,
    GOAPI_MC_IDEM_KEY_INVALID,
    GOAPI_MC_IDEM_KEY_MISSING,
    GOAPI_MC_IDEM_TOO_LARGE,
    GOAPI_MC_IDEM_STORE_ERROR,
    GOAPI_MC_IDEM_UNKNOWN,
    GOAPI_MC_IDEM_NOT_REPLAYABLE,
    GOAPI_MC_IDEM_RECOVERED_REPLAYED,   /* GoapiIdempotencyRecovery: the backend's */
    GOAPI_MC_IDEM_RECOVERED_RAN,        /* outcome replayed, run once, or still */
    GOAPI_MC_IDEM_RECOVERY_UNKNOWN,     /* unknown */
    GOAPI_MC_SHUTDOWN_WINDOWS,          /* goapi_shutdown_windows_total */
    GOAPI_MC_SHUTDOWN_CUT,              /* goapi_shutdown_connections_cut_total */
    GOAPI_MC_SERIES_OVERFLOW,           /* goapi_metrics_series_overflow_total */
    GOAPI_MC__N
} goapi_metrics_counter;

/* Histogram buckets (upper bounds; +Inf is implicit).  Durations as
 * OpenTelemetry's HTTP server conventions advise, in microseconds. */
#define GOAPI_METRICS_DUR_BUCKETS   14
#define GOAPI_METRICS_SIZE_BUCKETS  10

typedef struct {
    apr_uint64_t requests[GOAPI_METRICS_SERIES];
    apr_uint64_t dur[GOAPI_METRICS_HSERIES][GOAPI_METRICS_DUR_BUCKETS + 1];
    apr_uint64_t dur_sum_us[GOAPI_METRICS_HSERIES];
    apr_uint64_t size[GOAPI_METRICS_HSERIES][GOAPI_METRICS_SIZE_BUCKETS + 1];
    apr_uint64_t size_sum[GOAPI_METRICS_HSERIES];
    apr_uint64_t store[GOAPI_METRICS_DUR_BUCKETS + 1];
    apr_uint64_t store_sum_us;
    apr_uint64_t counter[GOAPI_MC__N];
    apr_uint64_t hook_us[GOAPI_METRICS_HOOKS];
    apr_uint64_t hook_runs[GOAPI_METRICS_HOOKS];
    apr_uint64_t shed[GOAPI_METRICS_LABELS];    /* by route label */
    apr_uint32_t active;                /* in minus out, modulo 2^32 */
} goapi_metrics_slot;

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t nslots;
    apr_time_t started;                 /* when the region was made */
    volatile apr_uint32_t nlabels;
    char label[GOAPI_METRICS_LABELS][GOAPI_METRICS_LABEL_MAX + 1];
    /* 0 free, 1 being named, 2 named: children add hooks concurrently */
    volatile apr_uint32_t hook_state[GOAPI_METRICS_HOOKS];
    char hook[GOAPI_METRICS_HOOKS][GOAPI_METRICS_HOOK_MAX + 1];
    volatile apr_uint32_t series[GOAPI_METRICS_SERIES];    /* key + 1; 0 free */
    volatile apr_uint32_t hseries[GOAPI_METRICS_HSERIES];
    goapi_metrics_slot slot[1];         /* nslots of them */
} goapi_metrics;

/* Bytes of a region with nslots slots (at least 1). */
apr_size_t goapi_metrics_size(int nslots);

/* Lay out a zeroed region of goapi_metrics_size(nslots) bytes. */
void goapi_metrics_init(goapi_metrics *m, int nslots, apr_time_t now);

/* The index of route label name, added if new (configuration time, one
 * writer); -1 when the table is full or the name is not a valid label
 * (goapi_metrics_label_check). */
int goapi_metrics_label(goapi_metrics *m, const char *name);

/* NULL when name may be a route label: 1 to GOAPI_METRICS_LABEL_MAX
 * printable ASCII characters other than '"' and '\'; else why not. */
const char *goapi_metrics_label_check(const char *name);

/* The index of a shutdown hook's name (cut to GOAPI_METRICS_HOOK_MAX),
 * added if new; safe from any number of processes and threads at once.
 * -1 when the table is full. */
int goapi_metrics_hook(goapi_metrics *m, const char *name);

goapi_metrics_method goapi_metrics_method_of(const char *method);

/* Writers: slot is any value (taken modulo nslots). */
void goapi_metrics_count(goapi_metrics *m, int slot, goapi_metrics_counter c,
                         apr_uint64_t n);
void goapi_metrics_active(goapi_metrics *m, int slot, int delta);
/* One answered request: its route label index, method, final status, time
 * from its start to its end, and the response bytes sent. */
void goapi_metrics_request(goapi_metrics *m, int slot, int route,
                           goapi_metrics_method method, int status,
                           apr_interval_time_t took, apr_uint64_t bytes);
void goapi_metrics_store_took(goapi_metrics *m, int slot, apr_interval_time_t took);
void goapi_metrics_hook_took(goapi_metrics *m, int slot, int hook,
                             apr_interval_time_t took);
/* A request of route label route shed by GoapiMaxInFlight. */
void goapi_metrics_shed_count(goapi_metrics *m, int slot, int route);

/* What a scrape adds from outside the region. */
typedef struct {
    const char *version;                /* goapi_build_info */
    const char *httpd;
    int have_readiness;
    goapi_readiness readiness;
    int ready;
    const char *const *worker_states;   /* apache_workers{state}, NULL-ended */
    const apr_uint64_t *workers;
    const char *const *conn_states;     /* apache_connections{state} */
    const apr_uint64_t *conns;
    int nscopes;                        /* GoapiMaxInFlight scopes */
    const char *const *scope_names;
    const apr_uint64_t *scope_limits;
    const apr_uint64_t *scope_taken;
} goapi_metrics_extra;

#define GOAPI_METRICS_TEXT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define GOAPI_METRICS_OPENMETRICS_TYPE \
    "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* The exposition: Prometheus text format 0.0.4, or OpenMetrics 1.0. */
char *goapi_metrics_render(apr_pool_t *p, const goapi_metrics *m,
                           const goapi_metrics_extra *x, int openmetrics,
                           apr_size_t *len);

/* 1 when an Accept header asks for OpenMetrics text (before, or instead
 * of, the Prometheus text format). */
int goapi_metrics_wants_openmetrics(const char *accept);

#endif /* GOAPI_METRICS_H */
