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
 * The request histograms follow OpenTelemetry's stable HTTP server
 * metrics in their Prometheus form.  Their label sets (route, method,
 * status code, scheme, protocol version, error type) are found in a fixed
 * index shared by all slots; a new combination takes a free entry with a
 * compare-and-swap.  A full index counts the request in
 * goapi_metrics_series_overflow_total instead: never a crash, never an
 * allocation.  Route labels are names from a fixed table, filled at
 * configuration (mod_goapi's route patterns and GoapiMetricsRoute names),
 * never raw paths; method labels likewise (GoapiMetricsKnownMethods).
 *
 * Each duration bucket of each slot keeps the trace of the last sampled
 * request that fell in it (an OpenMetrics exemplar), behind a sequence
 * number: a writer that finds it taken skips it, a reader retries a few
 * times; neither waits nor calls the kernel.
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
#define GOAPI_METRICS_SERIES        512     /* label sets of the request histograms */
#define GOAPI_METRICS_HOOKS         16      /* shutdown hooks timed */
#define GOAPI_METRICS_HOOK_MAX      47
/* Method names: up to 15 known ones, then _OTHER (the last index). */
#define GOAPI_METRICS_METHODS       16
#define GOAPI_METRICS_METHOD_MAX    31
#define GOAPI_METRICS_METHOD_OTHER  (GOAPI_METRICS_METHODS - 1)
/* GoapiMetricsKnownMethods' default: the methods of RFC 9110 and PATCH. */
#define GOAPI_METRICS_KNOWN_METHODS \
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"

/* The route label of requests no route names. */
#define GOAPI_METRICS_OTHER         "other"

/* network_protocol_version */
typedef enum {
    GOAPI_MP_1_1 = 0, GOAPI_MP_1_0, GOAPI_MP_2, GOAPI_MP_3, GOAPI_MP_0_9, GOAPI_MP__N
} goapi_metrics_proto;

/* Why a request failed (error_type): none, its 5xx status code, or a
 * cause of mod_goapi's own. */
typedef enum {
    GOAPI_ME_NONE = 0,
    GOAPI_ME_STATUS,                    /* the status code */
    GOAPI_ME_TIMEOUT,                   /* cut by a read or write deadline */
    GOAPI_ME_SHED,                      /* turned away by GoapiMaxInFlight */
    GOAPI_ME_STORE,                     /* the idempotency store did not answer */
    GOAPI_ME__N
} goapi_metrics_error;

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

#define GOAPI_METRICS_TRACE_ID      32      /* hex digits of a trace id */
#define GOAPI_METRICS_SPAN_ID       16

/* The last sampled request of a duration bucket: its trace and span ids
 * (hex, as they came: copied, not decoded, on the request path; checked at
 * scrape), its duration and when it ended.  seq is odd while a writer
 * fills it. */
typedef struct {
    volatile apr_uint32_t seq;
    apr_uint32_t unused;
    apr_uint64_t us;
    apr_time_t at;
    char id[GOAPI_METRICS_TRACE_ID + GOAPI_METRICS_SPAN_ID];
} goapi_metrics_exemplar;

/* The three request histograms of one label set: the sums first, in the
 * cache line of the lowest duration buckets, where most requests fall. */
typedef struct {
    apr_uint64_t dur_sum_us;
    apr_uint64_t req_sum;
    apr_uint64_t resp_sum;
    apr_uint64_t dur[GOAPI_METRICS_DUR_BUCKETS + 1];
    apr_uint64_t req[GOAPI_METRICS_SIZE_BUCKETS + 1];
    apr_uint64_t resp[GOAPI_METRICS_SIZE_BUCKETS + 1];
} goapi_metrics_hist;

typedef struct {
    goapi_metrics_hist hist[GOAPI_METRICS_SERIES];
    goapi_metrics_exemplar ex[GOAPI_METRICS_SERIES][GOAPI_METRICS_DUR_BUCKETS + 1];
    apr_uint64_t store[GOAPI_METRICS_DUR_BUCKETS + 1];
    apr_uint64_t store_sum_us;
    apr_uint64_t counter[GOAPI_MC__N];
    apr_uint64_t hook_us[GOAPI_METRICS_HOOKS];
    apr_uint64_t hook_runs[GOAPI_METRICS_HOOKS];
    apr_uint64_t shed[2][GOAPI_METRICS_LABELS]; /* by dry run (GoapiShedDryRun), then
                                                 * route label */
    /* in minus out, modulo 2^32, by method and scheme (http, https) */
    apr_uint32_t active[GOAPI_METRICS_METHODS][2];
} goapi_metrics_slot;

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t nslots;
    apr_time_t started;                 /* when the region was made */
    volatile apr_uint32_t nlabels;
    char label[GOAPI_METRICS_LABELS][GOAPI_METRICS_LABEL_MAX + 1];
    volatile apr_uint32_t nmethods;
    char method[GOAPI_METRICS_METHOD_OTHER][GOAPI_METRICS_METHOD_MAX + 1];
    /* bit method * 2 + https: active requests of it were ever counted */
    volatile apr_uint32_t active_seen;
    /* 0 free, 1 being named, 2 named: children add hooks concurrently */
    volatile apr_uint32_t hook_state[GOAPI_METRICS_HOOKS];
    char hook[GOAPI_METRICS_HOOKS][GOAPI_METRICS_HOOK_MAX + 1];
    volatile apr_uint32_t series[GOAPI_METRICS_SERIES];    /* key + 1; 0 free */
    goapi_metrics_slot slot[1];         /* nslots of them */
} goapi_metrics;

/* Bytes of a region with nslots slots (at least 1). */
apr_size_t goapi_metrics_size(int nslots);

/* 1 when a region of bytes bytes, laid out by goapi_metrics_init() of
 * some build of this file, is laid out as this build lays it out. */
int goapi_metrics_same_layout(const goapi_metrics *m, apr_size_t bytes);

/* Lay out a zeroed region of goapi_metrics_size(nslots) bytes. */
void goapi_metrics_init(goapi_metrics *m, int nslots, apr_time_t now);

/* The index of route label name, added if new (configuration time, one
 * writer); -1 when the table is full or the name is not a valid label
 * (goapi_metrics_label_check). */
int goapi_metrics_label(goapi_metrics *m, const char *name);

/* NULL when name may be a route label: 1 to GOAPI_METRICS_LABEL_MAX
 * printable ASCII characters other than '"' and '\'; else why not. */
const char *goapi_metrics_label_check(const char *name);

/* NULL when name may be a known method: an HTTP token (RFC 9110) of 1 to
 * GOAPI_METRICS_METHOD_MAX characters, not "_OTHER"; else why not. */
const char *goapi_metrics_method_check(const char *name);

/* The index of method name, added if new (configuration time, one writer;
 * kept for the life of the region, as route labels are); -1 when the
 * table is full or the name is not valid. */
int goapi_metrics_method(goapi_metrics *m, const char *name);

/* The methods a configuration knows, each with its index in the region. */
typedef struct {
    int n;
    const char *name[GOAPI_METRICS_METHOD_OTHER];
    int index[GOAPI_METRICS_METHOD_OTHER];
} goapi_metrics_known;

/* The index of a request's method: a known one's, else
 * GOAPI_METRICS_METHOD_OTHER.  Method names are case-sensitive. */
int goapi_metrics_method_of(const goapi_metrics_known *k, const char *method);

/* The protocol version of httpd's proto_num (major * 1000 + minor). */
goapi_metrics_proto goapi_metrics_proto_of(int proto_num);

/* The index of a shutdown hook's name (cut to GOAPI_METRICS_HOOK_MAX),
 * added if new; safe from any number of processes and threads at once.
 * -1 when the table is full. */
int goapi_metrics_hook(goapi_metrics *m, const char *name);

/* Writers: slot is any value (taken modulo nslots). */
void goapi_metrics_count(goapi_metrics *m, int slot, goapi_metrics_counter c,
                         apr_uint64_t n);
/* A request of method index method and scheme https (1) or http (0)
 * begins (delta 1) or ends (-1). */
void goapi_metrics_active(goapi_metrics *m, int slot, int method, int https, int delta);

/* One answered request. */
typedef struct {
    int route;                          /* route label index */
    int method;                         /* method index */
    int status;                         /* final status; 0 none */
    int https;
    goapi_metrics_proto proto;
    goapi_metrics_error error;          /* GOAPI_ME_STATUS: a 5xx; else a cause */
    apr_interval_time_t took;           /* from its start to its end */
    apr_uint64_t request_bytes;         /* body bytes */
    apr_uint64_t response_bytes;
    /* a sampled request's trace: 32 and 16 lowercase hex digits (no
     * fewer), or NULL; an exemplar with any other character is not shown */
    const char *trace_id;
    const char *span_id;
    apr_time_t now;                     /* when it ended (the exemplar's time) */
} goapi_metrics_req;

/* Why a request failed, from its cause (GOAPI_ME_NONE when none is known)
 * and its status: a cause wins; else a status of 500 or more fails. */
goapi_metrics_error goapi_metrics_error_of(goapi_metrics_error cause, int status);

void goapi_metrics_request(goapi_metrics *m, int slot, const goapi_metrics_req *q);
void goapi_metrics_store_took(goapi_metrics *m, int slot, apr_interval_time_t took);
void goapi_metrics_hook_took(goapi_metrics *m, int slot, int hook,
                             apr_interval_time_t took);
/* A request of route label route shed by GoapiMaxInFlight (or, dry_run,
 * that would have been shed). */
void goapi_metrics_shed_count(goapi_metrics *m, int slot, int route, int dry_run);

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
    const char *store;                  /* the idempotency store's kind (lmdb,
                                         * redis, dbd): the store time's label;
                                         * NULL none */
    /* per scope, auto ones (scope_adaptive[i] 1) only: the adaptive limit's
     * last gradient (thousandths), unloaded and sampled latency (us; 0
     * unknown yet); NULL when no scope is auto */
    const int *scope_adaptive;
    const apr_uint64_t *scope_gradient;
    const apr_uint64_t *scope_unloaded;
    const apr_uint64_t *scope_sampled;
    int nkeytables;                     /* GoapiMaxInFlightPer tables */
    const char *const *keytable_names;
    const apr_uint64_t *keytable_overflow;  /* requests admitted uncounted: full */
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
