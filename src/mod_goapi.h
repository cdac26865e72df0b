/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi.h — declarations shared by the httpd glue (src/mod_goapi_*.c)
 * and the module file.  Pure units never include this.
 */
#ifndef MOD_GOAPI_H
#define MOD_GOAPI_H

#include "httpd.h"
#include "http_config.h"
#include "ap_mpm.h"
#include "mod_watchdog.h"

#include "goapi_allow.h"
#include "goapi_defs.h"
#include "goapi_health.h"
#include "goapi_heartbeat.h"
#include "goapi_limits.h"
#include "goapi_metrics.h"
#include "goapi_probe.h"
#include "goapi_redis_url.h"
#include "goapi_store_dbd.h"
#include "goapi_json.h"
#include "goapi_recovery.h"
#include "goapi_shutdown.h"

extern module AP_MODULE_DECLARE_DATA goapi_module;

/* Stable tags for our log lines ("GOAPI00001: ..."), never httpd's AH numbers.
 * Each number is written at exactly one call site, in the call's format
 * string; a retired number is never given again.  "make lint" checks both
 * (scripts/check-lognos.py).
 *
 * Next free: GOAPI00193
 */
#define GOAPI_LOGNO(n) "GOAPI" #n ": "

/* A dependency check of /readyz (GoapiReadyCheck). */
typedef struct {
    const char *name;
    const char *url_text;               /* for logs: query values as "***" */
    goapi_check_url url;
} goapi_ready_check;

/* Per server (server config and virtual host; each has its own record:
 * AP_MODULE_FLAG_ALWAYS_MERGE).  "Unset" is NULL, -1 or (where a field's
 * comment says so) 0 until goapi_config_check() resolves the defaults
 * once, at startup.  Each field's scope and default are declared once, in
 * the tables of mod_goapi_config.c. */
typedef struct {
    const char *request_id_header;      /* field carrying the request ID */
    const char *correlation_id_header;  /* field carrying the correlation ID */
    const char *idempotency_key_header; /* field carrying the Idempotency-Key */
    int idempotency_key_strict;         /* GoapiIdempotencyKeySyntax Strict: the
                                         * sf-string form only; -1 unset = 0 */
    const char *problem_type_base;      /* GoapiProblemTypeBase; "" none (URNs);
                                         * NULL unset */
    int max_id_length;                  /* longest accepted incoming ID, characters */
    int trust_incoming_ids;             /* 1: keep a valid client request ID; 0: always generate */
    goapi_limits limits;                /* deadlines and header limit (goapi_limits.h) */
    unsigned limits_set;                /* GOAPI_LIMIT_* set explicitly, after resolve */
    int idle_own;                       /* GoapiIdleTimeout set in this very server
                                         * (not inherited); not merged */
    apr_array_header_t *checks;         /* goapi_ready_check; main server only */
    apr_interval_time_t check_interval; /* between rounds of checks; -1 unset */
    apr_interval_time_t check_timeout;  /* per check; -1 unset */
    const char *drain_file;             /* /readyz says draining while it exists */
    const char *idem_store;             /* LMDB ledger file (main server); NULL unset */
    apr_int64_t idem_store_size;        /* its largest size, bytes; -1 unset */
    const goapi_redis_target *idem_redis;   /* or the Redis ledger; NULL unset */
    int idem_dbd;                       /* or 1: the ledger in mod_dbd's database
                                         * (GoapiIdempotencyStore dbd); 0 unset */
    const char *idem_store_shown;       /* the Redis ledger as logs show it (no
                                         * user, no password) */
    apr_interval_time_t idem_store_timeout; /* Redis: connect and each command;
                                         * dbd: each statement; us; -1 unset */
    const char *idem_store_prefix;      /* Redis: before every key; NULL unset */
    int idem_store_replicas;            /* Redis: replicas to acknowledge each
                                         * claim and completion; -1 unset */
    apr_int64_t idem_replay_cache;      /* completed records kept per child,
                                         * bytes; 0 off; -1 unset */
    apr_interval_time_t idem_sweep;     /* between sweeps of expired records
                                         * (main server); -1 unset */
    int idem_damaged;                   /* GOAPI_DAMAGED_* (main server); -1 unset */
    int probes;                         /* GoapiProbes: the probe paths are
                                         * mod_goapi's; -1 unset = 0 */
    int probe_fast_path;                /* GoapiProbeFastPath; -1 unset = 1 */
    goapi_allow probe_detail;           /* GoapiProbeDetail: who sees check names
                                         * and failures; unset = local */
    int metrics;                        /* GoapiMetrics (main server); -1 unset = 1 */
    int trust_incoming_trace;           /* GoapiTrustIncomingTrace; -1 unset = 1 */
    int trace_sampled;                  /* GoapiTraceSampled; -1 unset = 1 */
    int trace_response;                 /* GoapiTraceResponse; -1 unset = 0 */
    const char *deadline_header;        /* GoapiDeadlineHeader; "" Off; NULL unset */
    int trust_incoming_deadline;        /* GoapiTrustIncomingDeadline; -1 unset = 0 */
    int graceful_signals;               /* GoapiGracefulStopSignals (main server);
                                         * -1 unset = 1 */
    apr_interval_time_t shutdown_delay; /* GoapiShutdownDelay (main server): a
                                         * graceful stop serves this long with
                                         * /readyz failing first, us; -1 unset = 0 */
} goapi_server_conf;

/* Per directory/location. */
typedef struct {
    int forward_ids;                    /* 1: ID headers stay in the request passed
                                         * downstream (mod_proxy, CGI); -1 unset = 1 */
    int idem;                           /* GoapiIdempotency: 1 on; -1 unset = off */
    int idem_required;                  /* 1: a request without a key gets 400;
                                         * -1 unset = 0 */
    apr_int64_t idem_methods;           /* httpd method bits; 0 unset = POST PATCH */
    apr_interval_time_t idem_ttl;       /* completed records kept, us; -1 unset */
    apr_interval_time_t idem_lease;     /* in-flight claim held, us; -1 unset */
    int idem_rerun;                     /* 1: a key whose lease ended runs again
                                         * (GoapiIdempotencyRerunAfterLease);
                                         * -1 unset = 0 */
    apr_int64_t idem_max_body;          /* request body fingerprinted, bytes; -1 unset */
    apr_int64_t idem_max_response;      /* response kept for replays, bytes; -1 unset */
    const goapi_check_url *idem_recovery;   /* GoapiIdempotencyRecovery: whom to ask
                                         * about an unknown outcome; NULL unset */
    int idem_recovery_set;              /* given here (None: set, NULL) */
    int metrics_route;                  /* GoapiMetricsRoute: 1 + its index among
                                         * this configuration's names; 0 unset */
    int trace_context;                  /* GoapiTraceContext; -1 unset = 1 */
    int max_in_flight;                  /* 1: GoapiMaxInFlight given here; -1 unset */
    int shed_scope;                     /* its scope (1 + its index among this
                                         * configuration's); 0 no limit */
    int shed_retry_after;               /* GoapiShedRetryAfter, s; -1 unset = 1 */
    int shed_per;                       /* GoapiMaxInFlightPer: 1 + its index among
                                         * this configuration's; 0 none; -1 unset */
    int shed_status;                    /* GoapiShedStatus 503|429; -1 unset = 503 */
    int shed_dry_run;                   /* GoapiShedDryRun; -1 unset = 0 */
} goapi_dir_conf;

/* What mod_goapi keeps of one request, shared by its internal redirects
 * and subrequests: its IDs, and each concern's state (goapi_req_of()). */
typedef struct goapi_req {
    const char *request_id;
    const char *correlation_id;
    const char *idempotency_key;        /* decoded key, or NULL */
    int idempotency_key_refused;        /* a key was sent but is not valid */
    struct goapi_idem_req *idem;        /* the idempotency state of the request
                                         * (mod_goapi_idempotency.c), or NULL */
    int published;                      /* headers and env set on the main request */
    int metrics_route;                  /* 1 + the route label mod_goapi's router
                                         * matched (goapi_metrics_route); 0 none */
    struct goapi_context *context;      /* trace and time left
                                         * (mod_goapi_context.c), or NULL */
    int shed;                           /* turned away by GoapiMaxInFlight (1) or
                                         * GoapiMaxInFlightPer (2): no
                                         * other fixup acts on it */
    int metrics_method;                 /* 1 + the method label index; 0 unset */
    int metrics_https;                  /* url_scheme is https */
    int metrics_slot;                   /* the region's slot of its connection */
    goapi_metrics_error metrics_error;  /* why it failed, if mod_goapi knows */
} goapi_req;

/* The module's record for a server, and for a request's directory: the one
 * way to reach them (as mod_ssl's mySrvConfig() and myDirConfig()). */
static APR_INLINE goapi_server_conf *goapi_sconf(const server_rec *s)
{
    /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): httpd never passes NULL */
    return ap_get_module_config(s->module_config, &goapi_module);
}

static APR_INLINE goapi_dir_conf *goapi_dconf(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &goapi_module);
}

/* mod_goapi_config.c (the records) and mod_goapi_directives.c (the
 * directives that only set a field) */
void *goapi_config_create_server(apr_pool_t *p, server_rec *s);
void *goapi_config_merge_server(apr_pool_t *p, void *basev, void *addv);
void *goapi_config_create_dir(apr_pool_t *p, char *dir);
void *goapi_config_merge_dir(apr_pool_t *p, void *basev, void *addv);
/* The refusal of a directive's value, in the one form every directive's
 * error takes: "<directive>[ <part>]: '<value>' is not valid[: <why>]
 * [; expected <form>]", form a printf format for its arguments; part, why
 * and form may be NULL.  A value that may hold a password is never
 * passed here. */
const char *goapi_cmd_refuse(cmd_parms *cmd, const char *part, const char *value,
                             const char *why, const char *form, ...)
    __attribute__((format(printf, 5, 6)));
const char *goapi_cmd_header_name(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_max_id_length(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_trust_incoming_ids(cmd_parms *cmd, void *dconf, int flag);
/* Every directive of one duration: goapi_cmd_duration with one of these as
 * its data (the record and field, the context, the range, the form a
 * refusal names). */
typedef struct {
    apr_size_t offset;                  /* of its apr_interval_time_t field */
    unsigned flags;                     /* GOAPI_DUR_* */
    apr_interval_time_t max;            /* 0: the parser's own bound (24h) */
    const char *max_text;               /* max in words */
    const char *form;                   /* what is expected */
} goapi_duration_cmd;
#define GOAPI_DUR_DIR           1       /* a field of goapi_dir_conf, else of
                                         * goapi_server_conf */
#define GOAPI_DUR_MAIN          2       /* main server only */
#define GOAPI_DUR_NOT_IN_VHOST  4       /* not in a <VirtualHost> */
#define GOAPI_DUR_NOT_ZERO      8
extern const goapi_duration_cmd goapi_dur_read, goapi_dur_read_header, goapi_dur_write,
    goapi_dur_idle, goapi_dur_shutdown, goapi_dur_shutdown_delay, goapi_dur_check_interval,
    goapi_dur_check_timeout, goapi_dur_idem_sweep, goapi_dur_idem_store_timeout,
    goapi_dur_idem_ttl, goapi_dur_idem_lease;
const char *goapi_cmd_duration(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_max_header_bytes(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_ready_check(cmd_parms *cmd, void *dconf, const char *name,
                                  const char *url);
const char *goapi_cmd_drain_file(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_idempotency(cmd_parms *cmd, void *dconf, int flag);
const char *goapi_cmd_idem_methods(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_idem_size(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_idem_store(cmd_parms *cmd, void *dconf, const char *where,
                                 const char *size);
const char *goapi_cmd_idem_damaged(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_idem_store_prefix(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_idem_store_replicas(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_idem_replay_cache(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_probe_fast_path(cmd_parms *cmd, void *dconf, int flag);
const char *goapi_cmd_probe_detail(cmd_parms *cmd, void *dconf, const char *args);
const char *goapi_cmd_global_flag(cmd_parms *cmd, void *dconf, int flag);
const char *goapi_cmd_server_flag(cmd_parms *cmd, void *dconf, int flag);
const char *goapi_cmd_deadline_header(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_shed_retry_after(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_idem_key_syntax(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_idem_recovery(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_problem_type_base(cmd_parms *cmd, void *dconf, const char *arg);
int goapi_config_idempotency_used(void);
void goapi_config_idempotency_on(void);
/* "the main server", or "the virtual host <name> defined at <file>:<line>" */
const char *goapi_server_name(apr_pool_t *p, const server_rec *s);
void goapi_config_test_config(apr_pool_t *pconf, server_rec *s);
int goapi_config_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                             server_rec *s);
int goapi_config_check(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s);

/* mod_goapi_ids.c */
void goapi_ids_child_init(apr_pool_t *pchild, server_rec *s);
int goapi_ids_post_read_request(request_rec *r);
int goapi_ids_fixups(request_rec *r);
int goapi_ids_generate_log_id(const conn_rec *c, const request_rec *r,
                              const char **id);
int goapi_ids_log_transaction(request_rec *r);
void goapi_ids_insert_filter(request_rec *r);
void goapi_ids_insert_error_filter(request_rec *r);
void goapi_ids_register_filters(void);
goapi_req *goapi_req_of(request_rec *r);

/* mod_goapi_checklist.c */
void goapi_checklist_test_config(apr_pool_t *pconf, server_rec *s);
int goapi_checklist_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s);
/* The directive name of the main server (outside every <VirtualHost>) in
 * the tree at d, or NULL: httpd does not record whether some settings were
 * explicit. */
const ap_directive_t *goapi_main_directive(const ap_directive_t *d, const char *name);

/* mod_goapi_timeouts.c */
int goapi_timeouts_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                server_rec *s);
/* A KeepAliveTimeout that disagrees with GoapiIdleTimeout, and which won. */
typedef struct {
    server_rec *s;
    apr_interval_time_t keepalive;      /* the KeepAliveTimeout given */
    int keepalive_wins;
} goapi_ka_conflict;
/* Those of the configuration being read (goapi_ka_conflict), or NULL. */
const apr_array_header_t *goapi_timeouts_ka_conflicts(void);
int goapi_timeouts_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s);
void goapi_timeouts_child_init(apr_pool_t *pchild, server_rec *s);
int goapi_timeouts_pre_connection(conn_rec *c, void *csd);
int goapi_timeouts_process_connection(conn_rec *c);
void goapi_timeouts_pre_read_request(request_rec *r, conn_rec *c);
int goapi_timeouts_post_read_request(request_rec *r);
void goapi_timeouts_register_filters(void);
apr_size_t goapi_timeouts_cut_all(void);
/* 1 when a read or write deadline cut connection c. */
int goapi_timeouts_cut(const conn_rec *c);
/* When the request's write deadline (GoapiWriteTimeout) passes; 0 none. */
apr_time_t goapi_timeouts_write_deadline(request_rec *r);

/* mod_goapi_threads.c */
/* A thread of a child process: started with every signal blocked (signals
 * are the MPM's), told to stop through its flag and joined by a
 * pre-cleanup of pchild, before pchild's sub-pools (the thread's own) go.
 * The cleanup logs "cleanup hook started/finished: <name>" (GOAPI00035,
 * GOAPI00036). */
typedef struct {
    apr_thread_t *thread;
    volatile apr_uint32_t stop;         /* the thread returns once this is set */
    server_rec *s;
    const char *name;
    const char *check;                  /* its liveness check (/livez/<check>) */
    apr_interval_time_t stall;          /* silent longer than this: stuck; the
                                         * thread asks goapi_child_thread_stopping()
                                         * at least this often */
    goapi_heartbeat *hb;
} goapi_child_thread;

apr_status_t goapi_child_thread_start(goapi_child_thread *t, apr_pool_t *pchild,
                                      apr_thread_start_t fn, void *data);
/* Whether the thread is to return; each call is also its heartbeat. */
int goapi_child_thread_stopping(goapi_child_thread *t);
/* A liveness check of this child (/livez): a thread's heartbeat, added
 * from child_init (NULL when the table is full or the name is not a check
 * name).  Also offered to other modules (mod_goapi_public.h). */
goapi_heartbeat *goapi_heartbeat_add(apr_pool_t *pchild, const char *name,
                                     apr_interval_time_t stall);
void goapi_heartbeat_now(goapi_heartbeat *hb);
/* The liveness checks of this child: ping, then each heartbeat. */
int goapi_liveness(apr_pool_t *p, goapi_probe_check **out);
/* The optional functions of mod_goapi_public.h over these. */
struct goapi_heartbeat *goapi_register_heartbeat(apr_pool_t *pchild, const char *name,
                                                 apr_interval_time_t stall);
void goapi_beat(struct goapi_heartbeat *hb);
/* Call fn every interval in one child at a time (a mod_watchdog child
 * singleton named name), from post_config; APR_ENOTIMPL without
 * mod_watchdog.  Register the post_config hook before mod_watchdog's
 * (goapi_before_watchdog in mod_goapi.c), which starts the watchdogs. */
apr_status_t goapi_watchdog_every(apr_pool_t *pconf, server_rec *s, const char *name,
                                  apr_interval_time_t interval,
                                  ap_watchdog_callback_fn_t *fn);

/* mod_goapi_readiness.c */
int goapi_readiness_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s);
void goapi_readiness_of(request_rec *r, goapi_readiness *out);

/* mod_goapi_signals.c: the parent's stop, and what it tells the children */
void goapi_signals_parent_config(apr_pool_t *pconf, server_rec *s);
void goapi_signals_child_status(server_rec *s, pid_t pid, ap_generation_t gen,
                                int slot, mpm_child_status state);
/* The graceful stop is announced (GoapiShutdownDelay): 1 from the signal on. */
int goapi_stop_announced(void);
/* A second SIGTERM or SIGINT asked the children to stop at once. */
int goapi_stop_now_asked(void);

/* mod_goapi_stop.c: a child's stop */
void goapi_stop_config(server_rec *s);
void goapi_stop_child_stopping(apr_pool_t *pchild, int graceful);
void goapi_stop_child_init(apr_pool_t *pchild, server_rec *s);
int goapi_stop_post_read_request(request_rec *r);
int goapi_stop_process_connection(conn_rec *c);
void goapi_stop_suspend_connection(conn_rec *c, request_rec *r);
int goapi_stop_pre_close_connection(conn_rec *c);
int goapi_stop_mpm_query(int query_code, int *result, apr_status_t *rv);
/* This child's stop has begun, or the MPM says it is stopping. */
int goapi_mpm_stopping(void);
apr_status_t goapi_register_shutdown_hook(apr_pool_t *p, const char *name,
                                          goapi_shutdown_fn *fn, void *baton);

/* mod_goapi_idempotency.c: Idempotency-Key on the request path */
int goapi_idem_fixups(request_rec *r);
int goapi_idem_handler(request_rec *r);
void goapi_idem_insert_error_filter(request_rec *r);
void goapi_idem_register_filters(void);
/* The next value of a counter kept in the ledger; APR_ENOTIMPL without one. */
apr_status_t goapi_idem_counter_next(request_rec *r, const char *name,
                                     apr_uint64_t *value);

/* mod_goapi_ledger.c: the ledger's life (checks, sweep, each child's store) */
int goapi_ledger_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s);
int goapi_ledger_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                             server_rec *s);
void goapi_ledger_child_init(apr_pool_t *pchild, server_rec *s);
/* This process's store (NULL: none, or it could not be opened), its replay
 * cache (NULL: none), and its name as logs show it (no credentials). */
struct goapi_replay_cache;
goapi_store *goapi_ledger_store(void);
struct goapi_replay_cache *goapi_ledger_replay_cache(void);
const char *goapi_ledger_shown(void);
/* What the store said of failure rv, for a log line (never a secret), or
 * rv's own text when it had nothing to add. */
const char *goapi_ledger_why(apr_status_t rv, apr_pool_t *p);
/* The built-in readiness check of a ledger shared by several hosts: its
 * name, or NULL when the ledger is a file of this host; and whether it
 * answers now (in the child that runs the checks). */
const char *goapi_ledger_check_name(const goapi_server_conf *sc);
int goapi_ledger_ping(apr_pool_t *p, const char **why);
/* The ledger's kind for the metrics' store label: "lmdb", "redis", "dbd",
 * or NULL when there is none. */
const char *goapi_ledger_kind(void);

/* mod_goapi_dbd.c: the connections of GoapiIdempotencyStore dbd, from mod_dbd */
/* NULL when mod_dbd is loaded, else why the dbd store cannot be used. */
const char *goapi_dbd_missing(void);
/* After mod_dbd's child_init (see mod_goapi.c): its pool is made. */
void goapi_dbd_child_init(apr_pool_t *pchild, server_rec *s);
/* A lender of mod_dbd's connections of server s (goapi_store_dbd.h);
 * after goapi_dbd_missing() said NULL, from child_init: it starts the
 * thread that cuts a statement left unanswered past
 * GoapiIdempotencyStoreTimeout (the pgsql driver's connections). */
void goapi_dbd_lender_of(server_rec *s, apr_pool_t *pchild, goapi_dbd_lender *out);

/* mod_goapi_metrics.c: counters in shared memory (src/goapi_metrics.h).
 * Every writer is a no-op while GoapiMetrics is Off. */
const char *goapi_cmd_metrics_route(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_metrics_known_methods(cmd_parms *cmd, void *dconf, const char *arg);
int goapi_metrics_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int goapi_metrics_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s);
void goapi_metrics_child_init(apr_pool_t *pchild, server_rec *s);
int goapi_metrics_post_read_request(request_rec *r);
int goapi_metrics_log_transaction(request_rec *r);
/* Count n of a goapi_metrics_counter (c: the connection, or NULL). */
void goapi_metrics_add(conn_rec *c, goapi_metrics_counter counter, apr_uint64_t n);
void goapi_metrics_store_time(conn_rec *c, apr_interval_time_t took);
void goapi_metrics_hook_time(const char *hook, apr_interval_time_t took);
/* An idempotency outcome of request r (goapi_idempotency_requests_total);
 * a store error is the request's error_type. */
void goapi_metrics_idem(request_rec *r, goapi_metrics_counter outcome);
/* A request shed by GoapiMaxInFlight or GoapiMaxInFlightPer, or that
 * GoapiShedDryRun served instead (goapi_shed_total{route,dry_run}). */
void goapi_metrics_shed(request_rec *r, int dry_run);
/* The GoapiMaxInFlight scopes and GoapiMaxInFlightPer tables a scrape
 * shows, filled into x's scope and keytable fields.  Set by
 * mod_goapi_shed.c at each start (NULL: none). */
typedef void goapi_scope_gauges_fn(apr_pool_t *p, goapi_metrics_extra *x);
void goapi_metrics_scope_gauges(goapi_scope_gauges_fn *fn);
/* A request the goapi handler was to answer, answered by another (an
 * idempotent replay, say): labelled by the route its path matches. */
void goapi_metrics_route_of_path(request_rec *r);
/* The request was answered by mod_goapi's route (a goapi_route_id). */
void goapi_metrics_route(request_rec *r, int route);
/* The exposition for a scrape (OpenMetrics when the Accept header asks for
 * it, *type says which), with readiness as /readyz sees it; NULL while
 * metrics are off. */
const char *goapi_metrics_scrape(request_rec *r, const goapi_readiness *rd,
                                 const char **type, apr_size_t *len);

/* mod_goapi_context.c: trace context and time left, downstream */
void goapi_context_child_init(apr_pool_t *pchild, server_rec *s);
int goapi_context_post_read_request(request_rec *r);
int goapi_context_fixups(request_rec *r);
/* 1 when request r is traced and sampled, with its trace and span ids
 * (lowercase hex). */
int goapi_context_sampled(request_rec *r, const char **trace_id, const char **span_id);

/* mod_goapi_shed.c: GoapiMaxInFlight */
const char *goapi_cmd_max_in_flight(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_max_in_flight_per(cmd_parms *cmd, void *dconf, const char *key,
                                        const char *n, const char *slots);
const char *goapi_cmd_shed_status(cmd_parms *cmd, void *dconf, const char *arg);
const char *goapi_cmd_shed_queue(cmd_parms *cmd, void *dconf, const char *n,
                                 const char *timeout);
const char *goapi_cmd_max_in_flight_partition(cmd_parms *cmd, void *dconf, const char *name,
                                              const char *share, const char *match);
int goapi_shed_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int goapi_shed_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *s);
int goapi_shed_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s);
int goapi_shed_fixups(request_rec *r);
int goapi_shed_handler(request_rec *r);


/* mod_goapi_routes.c */
int goapi_routes_post_read_request(request_rec *r);
int goapi_routes_handler(request_rec *r);
int goapi_routes_translate(request_rec *r);
int goapi_routes_fixups(request_rec *r);
int goapi_routes_map_to_storage(request_rec *r);
int goapi_routes_quick_handler(request_rec *r, int lookup);
int goapi_routes_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s);
void goapi_routes_test_config(apr_pool_t *pconf, server_rec *s);

/* ---- mod_goapi_problem.c: refusals and kept answers ---------------------- */

/* The whole answer from body, which lives in r->pool (Content-Length set;
 * nothing sent for HEAD): OK, or AP_FILTER_ERROR when the filters failed. */
int goapi_send_kept(request_rec *r, const char *body, apr_size_t len);

/* An RFC 9457 problem answer of the given kind with the request's IDs,
 * Cache-Control: no-store, Retry-After when retry_after > 0, and a Link
 * to the type's page under GoapiProblemTypeBase. */
int goapi_problem_send(request_rec *r, goapi_problem_kind kind, int status,
                       int retry_after, const char *title, const char *detail);

/* ---- mod_goapi_recovery.c: asking the backend about an unknown outcome -- */

void goapi_recovery_child_init(apr_pool_t *pchild, server_rec *s);

/* Ask the backend of r's location (GoapiIdempotencyRecovery) about the key
 * whose ledger key is key: the verdict (goapi_recovery.h), *a when it
 * answered, and *why in words for the log. */
goapi_recovery_verdict goapi_recovery_consult(request_rec *r,
                                              const unsigned char key[GOAPI_SHA256_LEN],
                                              goapi_recovery_answer *a, const char **why);

#endif /* MOD_GOAPI_H */
