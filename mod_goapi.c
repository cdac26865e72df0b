/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi.c — the module's whole surface: directives and hooks.
 * Each concern lives in src/mod_goapi_<concern>.c; pure logic in src/goapi_*.c.
 */
#include <stddef.h>

#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "http_protocol.h"
#include "http_request.h"

#include "mod_goapi.h"

static const command_rec goapi_cmds[] = {
    AP_INIT_TAKE1("GoapiRequestIDHeader", goapi_cmd_header_name,
                  (void *)offsetof(goapi_server_conf, request_id_header),
                  RSRC_CONF,
                  "Header carrying the request ID (default X-Request-ID)"),
    AP_INIT_TAKE1("GoapiCorrelationIDHeader", goapi_cmd_header_name,
                  (void *)offsetof(goapi_server_conf, correlation_id_header),
                  RSRC_CONF,
                  "Header carrying the correlation ID (default X-Correlation-ID)"),
    AP_INIT_TAKE1("GoapiIdempotencyKeyHeader", goapi_cmd_header_name,
                  (void *)offsetof(goapi_server_conf, idempotency_key_header),
                  RSRC_CONF,
                  "Header carrying the idempotency key (default Idempotency-Key)"),
    AP_INIT_TAKE1("GoapiIdempotencyKeySyntax", goapi_cmd_idem_key_syntax, NULL, RSRC_CONF,
                  "Strict: an Idempotency-Key must be a Structured Field string "
                  "(\"...\"); Lenient: a bare key too (default Lenient)"),
    AP_INIT_TAKE1("GoapiProblemTypeBase", goapi_cmd_problem_type_base, NULL, RSRC_CONF,
                  "URL each problem type's name follows (problem+json type and "
                  "Link rel=describedby), or None for urn:goapi:problem: types "
                  "(default None)"),
    AP_INIT_TAKE1("GoapiMaxIDLength", goapi_cmd_max_id_length, NULL, RSRC_CONF,
                  "Longest incoming request/correlation ID kept, in characters "
                  "(36-1024, default 128)"),
    AP_INIT_FLAG("GoapiTrustIncomingIDs", goapi_cmd_trust_incoming_ids, NULL,
                 RSRC_CONF,
                 "On: keep a valid client X-Request-ID; Off: always generate one "
                 "(default On)"),
    AP_INIT_FLAG("GoapiForwardIDs", ap_set_flag_slot,
                 (void *)offsetof(goapi_dir_conf, forward_ids),
                 RSRC_CONF | ACCESS_CONF,
                 "On: pass the ID headers on to backends and CGI; Off: remove "
                 "them from the request before the handler (default On)"),
    AP_INIT_TAKE1("GoapiReadTimeout", goapi_cmd_duration,
                  (void *)&goapi_dur_read, RSRC_CONF,
                  "Time to read a whole request, headers and body (e.g. 5s; "
                  "0 disables; default none)"),
    AP_INIT_TAKE1("GoapiReadHeaderTimeout", goapi_cmd_duration,
                  (void *)&goapi_dur_read_header, RSRC_CONF,
                  "Time to read the request line and headers (default "
                  "GoapiReadTimeout)"),
    AP_INIT_TAKE1("GoapiWriteTimeout", goapi_cmd_duration,
                  (void *)&goapi_dur_write, RSRC_CONF,
                  "Time from the end of the request headers until the response is "
                  "completely written (e.g. 10s; 0 disables; default none)"),
    AP_INIT_TAKE1("GoapiIdleTimeout", goapi_cmd_duration,
                  (void *)&goapi_dur_idle, RSRC_CONF,
                  "Keep-alive idle time; sets KeepAliveTimeout (e.g. 60s; default "
                  "none: KeepAliveTimeout applies)"),
    AP_INIT_TAKE1("GoapiShutdownTimeout", goapi_cmd_duration,
                  (void *)&goapi_dur_shutdown, RSRC_CONF,
                  "Graceful stop window (default 3s); main server only"),
    AP_INIT_TAKE1("GoapiMaxHeaderBytes", goapi_cmd_max_header_bytes, NULL, RSRC_CONF,
                  "Largest request line plus headers, in bytes (1K-64M, default 1M); "
                  "larger gets 431"),
    AP_INIT_TAKE2("GoapiReadyCheck", goapi_cmd_ready_check, NULL, RSRC_CONF,
                  "A dependency of /readyz: a name and tcp://host:port or "
                  "http://host:port/path (2xx passes); main server only"),
    AP_INIT_TAKE1("GoapiReadyCheckInterval", goapi_cmd_duration,
                  (void *)&goapi_dur_check_interval, RSRC_CONF,
                  "Time between rounds of readiness checks (default 5s)"),
    AP_INIT_TAKE1("GoapiReadyCheckTimeout", goapi_cmd_duration,
                  (void *)&goapi_dur_check_timeout, RSRC_CONF,
                  "Time allowed to each readiness check (default 1s)"),
    AP_INIT_TAKE1("GoapiDrainFile", goapi_cmd_drain_file, NULL, RSRC_CONF,
                  "While this file exists, /readyz answers 503 draining"),
    AP_INIT_FLAG("GoapiIdempotency", goapi_cmd_idempotency, NULL,
                 RSRC_CONF | ACCESS_CONF,
                 "On: enforce Idempotency-Key for the methods of "
                 "GoapiIdempotencyMethods here (default Off)"),
    AP_INIT_ITERATE("GoapiIdempotencyMethods", goapi_cmd_idem_methods, NULL,
                    RSRC_CONF | ACCESS_CONF,
                    "Methods whose requests carry an Idempotency-Key (default POST PATCH)"),
    AP_INIT_FLAG("GoapiIdempotencyRequired", ap_set_flag_slot,
                 (void *)offsetof(goapi_dir_conf, idem_required),
                 RSRC_CONF | ACCESS_CONF,
                 "On: such a request without an Idempotency-Key gets 400 (default Off)"),
    AP_INIT_TAKE1("GoapiIdempotencyTTL", goapi_cmd_duration,
                  (void *)&goapi_dur_idem_ttl, RSRC_CONF | ACCESS_CONF,
                  "How long a completed response is replayed (default 24h)"),
    AP_INIT_TAKE1("GoapiIdempotencyLease", goapi_cmd_duration,
                  (void *)&goapi_dur_idem_lease, RSRC_CONF | ACCESS_CONF,
                  "How long a retry gets 409 in progress while the first request "
                  "runs; after it, 409 outcome unknown (default 60s)"),
    AP_INIT_TAKE1("GoapiIdempotencyRecovery", goapi_cmd_idem_recovery, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "http://host:port/path the backend answers about an Idempotency-Key "
                  "whose outcome is unknown (404: never seen, run it; 2xx/4xx: its "
                  "outcome, replayed), or None (default None)"),
    AP_INIT_FLAG("GoapiIdempotencyRerunAfterLease", ap_set_flag_slot,
                 (void *)offsetof(goapi_dir_conf, idem_rerun), RSRC_CONF | ACCESS_CONF,
                 "On: a retry after the lease runs the operation again, even if the "
                 "first request applied it before its process died (default Off)"),
    AP_INIT_TAKE1("GoapiIdempotencyMaxBody", goapi_cmd_idem_size,
                  (void *)offsetof(goapi_dir_conf, idem_max_body), RSRC_CONF | ACCESS_CONF,
                  "Largest request body with an Idempotency-Key (default 1M; larger "
                  "gets 413)"),
    AP_INIT_TAKE1("GoapiIdempotencyMaxResponse", goapi_cmd_idem_size,
                  (void *)offsetof(goapi_dir_conf, idem_max_response),
                  RSRC_CONF | ACCESS_CONF,
                  "Largest response kept for replays (default 1M)"),
    AP_INIT_TAKE1("GoapiIdempotencySweepInterval", goapi_cmd_duration,
                  (void *)&goapi_dur_idem_sweep, RSRC_CONF,
                  "Time between sweeps of expired records from the idempotency "
                  "store (default 60s); main server only"),
    AP_INIT_TAKE12("GoapiIdempotencyStore", goapi_cmd_idem_store, NULL, RSRC_CONF,
                   "The idempotency ledger: lmdb:<path> [size] (default "
                   "lmdb:" GOAPI_DEFAULT_IDEM_STORE_FILE " under DefaultRuntimeDir, 64M), "
                   "or one shared by every host: redis://[user[:password]@]host[:port][/db], "
                   "unix:/path/to/redis.sock[?db=N], "
                   "redis-sentinel://host:port[,host:port...]/master[/db], "
                   "or dbd: in mod_dbd's database (DBDriver pgsql, DBDParams)"),
    AP_INIT_TAKE1("GoapiIdempotencyStoreTimeout", goapi_cmd_duration,
                  (void *)&goapi_dur_idem_store_timeout,
                  RSRC_CONF,
                  "Redis ledger: the longest a connect or a command may take (default "
                  "250ms); main server only"),
    AP_INIT_TAKE1("GoapiIdempotencyReplayCache", goapi_cmd_idem_replay_cache, NULL,
                  RSRC_CONF,
                  "Completed records each child keeps to answer repeated retries "
                  "without asking the store, bytes (default 1M; 0 off); main server only"),
    AP_INIT_TAKE1("GoapiIdempotencyStorePrefix", goapi_cmd_idem_store_prefix, NULL,
                  RSRC_CONF,
                  "Redis ledger: the prefix of its keys (default "
                  GOAPI_DEFAULT_IDEM_STORE_PREFIX "); main server only"),
    AP_INIT_TAKE1("GoapiIdempotencyStoreReplicas", goapi_cmd_idem_store_replicas, NULL,
                  RSRC_CONF,
                  "Redis ledger: replicas that must acknowledge each claim and completion "
                  "(WAIT) before it counts, 0 to 16 (default 0); main server only"),
    AP_INIT_FLAG("GoapiProbeFastPath", goapi_cmd_probe_fast_path, NULL, RSRC_CONF,
                 "Off: the probes always take httpd's full request cycle (default On: "
                 "answered before it where nothing configured acts on them)"),
    AP_INIT_FLAG("GoapiProbes", goapi_cmd_server_flag,
                 (void *)offsetof(goapi_server_conf, probes), RSRC_CONF,
                 "On: mod_goapi answers /healthz, /livez, /livez/<check>, /readyz, "
                 "/readyz/<check> and /startupz, found by exact comparison of the "
                 "path, without a <Location> (default Off)"),
    AP_INIT_RAW_ARGS("GoapiProbeDetail", goapi_cmd_probe_detail, NULL, RSRC_CONF,
                     "Who sees the probes' check names and failures (?verbose, "
                     "/readyz/<check>): local, all, off, or networks such as "
                     "10.0.0.0/8, with or without local (default local)"),
    AP_INIT_TAKE1("GoapiIdempotencyDamagedStore", goapi_cmd_idem_damaged, NULL, RSRC_CONF,
                  "A damaged ledger at startup: Refuse (the server does not start) or "
                  "StartFresh (moved aside, a new empty one; its records are lost) "
                  "(default Refuse); main server only"),
    AP_INIT_FLAG("GoapiMetrics", goapi_cmd_global_flag,
                 (void *)offsetof(goapi_server_conf, metrics), RSRC_CONF,
                 "Off: no metrics are collected and /metrics answers 404 "
                 "(default On); main server only"),
    AP_INIT_TAKE1("GoapiMetricsRoute", goapi_cmd_metrics_route, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "The route label of requests here that no route of mod_goapi "
                  "answers (default \"other\")"),
    AP_INIT_ITERATE("GoapiMetricsKnownMethods", goapi_cmd_metrics_known_methods, NULL,
                    RSRC_CONF,
                    "Methods labelled as they are, up to 15; every other method is "
                    "_OTHER (default GET HEAD POST PUT PATCH DELETE OPTIONS CONNECT "
                    "TRACE); main server only"),
    AP_INIT_FLAG("GoapiTraceContext", ap_set_flag_slot,
                 (void *)offsetof(goapi_dir_conf, trace_context), RSRC_CONF | ACCESS_CONF,
                 "On: continue or begin a W3C trace and pass traceparent and "
                 "tracestate on; Off: leave both headers as the client sent them "
                 "(default On)"),
    AP_INIT_FLAG("GoapiTrustIncomingTrace", goapi_cmd_server_flag,
                 (void *)offsetof(goapi_server_conf, trust_incoming_trace), RSRC_CONF,
                 "On: continue a valid client traceparent; Off: always begin a new "
                 "trace (default On)"),
    AP_INIT_FLAG("GoapiTraceSampled", goapi_cmd_server_flag,
                 (void *)offsetof(goapi_server_conf, trace_sampled), RSRC_CONF,
                 "The sampled flag of traces begun here (default On)"),
    AP_INIT_FLAG("GoapiTraceResponse", goapi_cmd_server_flag,
                 (void *)offsetof(goapi_server_conf, trace_response), RSRC_CONF,
                 "On: answer with a traceresponse header (default Off)"),
    AP_INIT_TAKE1("GoapiDeadlineHeader", goapi_cmd_deadline_header,
                  (void *)offsetof(goapi_server_conf, deadline_header), RSRC_CONF,
                  "Header carrying the time a request has left, in milliseconds, "
                  "to backends (default X-Request-Timeout-Ms; Off: none)"),
    AP_INIT_FLAG("GoapiTrustIncomingDeadline", goapi_cmd_server_flag,
                 (void *)offsetof(goapi_server_conf, trust_incoming_deadline), RSRC_CONF,
                 "On: a client's deadline header may shorten the request's time "
                 "(never lengthen it); Off: it is removed (default Off)"),
    AP_INIT_RAW_ARGS("GoapiMaxInFlight", goapi_cmd_max_in_flight, NULL,
                     RSRC_CONF | ACCESS_CONF,
                     "At most this many requests of this server or location at once, "
                     "across every child; the next get 503 with Retry-After (default 0: "
                     "no limit); auto [min=N] [max=N] [start=N] [percentile=N] [backoff=F]: "
                     "a limit that follows the requests' latency and backs off when "
                     "they fail"),
    AP_INIT_TAKE23("GoapiMaxInFlightPer", goapi_cmd_max_in_flight_per, NULL,
                   RSRC_CONF | ACCESS_CONF,
                   "ip|user|header:<Name> N [slots=N]: at most N requests in flight per "
                   "client address, user or header value in this server or location; 0: "
                   "none; slots: the keys in flight its table holds (default 4096)"),
    AP_INIT_TAKE3("GoapiMaxInFlightPartition", goapi_cmd_max_in_flight_partition, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "<name> <share>% header:<Name>=<value>|env=<variable>: a share of the "
                  "GoapiMaxInFlight before it guaranteed to the requests that match; "
                  "idle places may be borrowed"),
    AP_INIT_TAKE2("GoapiShedQueue", goapi_cmd_shed_queue, NULL, RSRC_CONF | ACCESS_CONF,
                  "<n> <timeout>: up to n requests wait, first in first out, for up to "
                  "timeout for a place of the GoapiMaxInFlight before it"),
    AP_INIT_TAKE1("GoapiShedStatus", goapi_cmd_shed_status, NULL, RSRC_CONF | ACCESS_CONF,
                  "The status of a shed request: 503 or 429 (default 503)"),
    AP_INIT_FLAG("GoapiShedDryRun", ap_set_flag_slot,
                 (void *)offsetof(goapi_dir_conf, shed_dry_run), RSRC_CONF | ACCESS_CONF,
                 "On: decide, log and count what would be shed, and serve it anyway "
                 "(default Off)"),
    AP_INIT_TAKE1("GoapiShedRetryAfter", goapi_cmd_shed_retry_after, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "Retry-After of a shed request, seconds, plus up to as much again "
                  "at random (default 1)"),
    AP_INIT_TAKE1("GoapiShutdownDelay", goapi_cmd_duration,
                  (void *)&goapi_dur_shutdown_delay, RSRC_CONF,
                  "On a graceful stop, keep serving this long with /readyz failing "
                  "and kept-alive connections told to close, then stop within "
                  "GoapiShutdownTimeout (e.g. 5s; default 0: none); main server only"),
    AP_INIT_FLAG("GoapiGracefulStopSignals", goapi_cmd_global_flag,
                 (void *)offsetof(goapi_server_conf, graceful_signals), RSRC_CONF,
                 "On: SIGTERM and SIGINT stop gracefully within GoapiShutdownTimeout, "
                 "a second one at once; Off: httpd's immediate stop (default On); "
                 "main server only"),
    { NULL, { NULL }, NULL, 0, RAW_ARGS, NULL }
};

/* Hooks that must run before mod_watchdog's: its post_config starts the
 * watchdogs registered so far; its child_init stops them at the end of the
 * child, so a cleanup registered earlier runs after them. */
static const char *const goapi_before_watchdog[] = { "mod_watchdog.c", NULL };
static const char *const goapi_after_dbd[] = { "mod_dbd.c", NULL };

static void goapi_register_hooks(apr_pool_t *p)
{
    (void)p;

    /* Defaults are resolved and cross-directive checks made before the
     * server starts, and also under "apachectl -t". */
    ap_hook_check_config(goapi_config_check, NULL, NULL, APR_HOOK_MIDDLE);
    /* after the defaults are resolved */
    ap_hook_check_config(goapi_timeouts_check_config, NULL, NULL, APR_HOOK_MIDDLE + 1);
    /* "apachectl -t" reports a directive given twice with different values. */
    ap_hook_test_config(goapi_config_test_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(goapi_config_post_config, NULL, NULL, APR_HOOK_MIDDLE);

    /* The ID generator is seeded after fork, so no two children share it. */
    ap_hook_child_init(goapi_ids_child_init, NULL, NULL, APR_HOOK_MIDDLE);

    /* Really first: a post_read_request hook that refuses the request stops
     * the others, and that refusal must already carry the IDs. */
    ap_hook_post_read_request(goapi_ids_post_read_request, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);

    /* Per-directory ID policy needs the location walk; first, so that the
     * headers are settled before any other fixup (mod_headers included)
     * looks at them. */
    ap_hook_fixups(goapi_ids_fixups, NULL, NULL, APR_HOOK_FIRST);

    /* Before mod_unique_id and httpd's own generator: %L is the request ID. */
    ap_hook_generate_log_id(goapi_ids_generate_log_id, NULL, NULL,
                            APR_HOOK_FIRST);

    /* Before mod_log_config (APR_HOOK_MIDDLE) writes the access log line. */
    ap_hook_log_transaction(goapi_ids_log_transaction, NULL, NULL,
                            APR_HOOK_REALLY_FIRST);

    ap_hook_insert_filter(goapi_ids_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(goapi_ids_insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    goapi_ids_register_filters();

    /* The production checklist prints once under "apachectl -t"
     * (test_config) and once per start or restart (post_config). */
    ap_hook_test_config(goapi_checklist_test_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(goapi_checklist_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* Deadlines. */
    ap_hook_post_config(goapi_timeouts_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* The write-deadline reaper thread starts after fork. */
    ap_hook_child_init(goapi_timeouts_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_connection(goapi_timeouts_pre_connection, NULL, NULL, APR_HOOK_MIDDLE);
    /* First: before any protocol module takes the connection over. */
    ap_hook_process_connection(goapi_timeouts_process_connection, NULL, NULL,
                               APR_HOOK_FIRST);
    ap_hook_pre_read_request(goapi_timeouts_pre_read_request, NULL, NULL,
                             APR_HOOK_MIDDLE);
    /* First, but after the IDs (really first): a 431 carries them. */
    ap_hook_post_read_request(goapi_timeouts_post_read_request, NULL, NULL,
                              APR_HOOK_FIRST);
    goapi_timeouts_register_filters();

    /* Readiness: the check runner is a callback of a mod_watchdog child
     * singleton, registered before mod_watchdog's own post_config starts
     * the watchdogs. */
    ap_hook_post_config(goapi_readiness_post_config, NULL, goapi_before_watchdog,
                        APR_HOOK_MIDDLE);
    ap_hook_child_stopping(goapi_stop_child_stopping, NULL, NULL, APR_HOOK_MIDDLE);
    /* The parent's stop: its signal handlers, set once it has started a
     * child (after the MPM set its own). */
    ap_hook_child_status(goapi_signals_child_status, NULL, NULL, APR_HOOK_MIDDLE);
    /* After goapi_timeouts_child_init: the supervisor cuts the connections
     * of its registry. */
    ap_hook_child_init(goapi_stop_child_init, NULL, NULL, APR_HOOK_LAST);
    /* GoapiShutdownDelay: once the stop is announced, every response says
     * "Connection: close"; before any answer is chosen (the fast path's
     * included), after the IDs. */
    ap_hook_post_read_request(goapi_stop_post_read_request, NULL, NULL,
                              APR_HOOK_MIDDLE);
    /* ... and HTTP/2 connections a GOAWAY: the MPM "stopping" to mod_http2
     * during an HTTP/2 connection's turn, before the MPM's own answer. */
    ap_hook_process_connection(goapi_stop_process_connection, NULL, NULL,
                               APR_HOOK_REALLY_FIRST);
    ap_hook_suspend_connection(goapi_stop_suspend_connection, NULL, NULL,
                               APR_HOOK_MIDDLE);
    ap_hook_pre_close_connection(goapi_stop_pre_close_connection, NULL, NULL,
                                 APR_HOOK_MIDDLE);
    ap_hook_mpm_query(goapi_stop_mpm_query, NULL, NULL, APR_HOOK_REALLY_FIRST);
    APR_REGISTER_OPTIONAL_FN(goapi_register_shutdown_hook);
    /* Liveness: other modules' threads among the checks of /livez. */
    APR_REGISTER_OPTIONAL_FN(goapi_register_heartbeat);
    APR_REGISTER_OPTIONAL_FN(goapi_beat);

    /* Idempotency.  The ledger is created in the parent and opened in each
     * child; its sweeper is a mod_watchdog child singleton.  "apachectl -t"
     * checks it (check_config: a failure there fails the test) after the
     * defaults are resolved (goapi_config_check, APR_HOOK_MIDDLE). */
    ap_hook_check_config(goapi_ledger_check_config, NULL, NULL, APR_HOOK_LAST);
    ap_hook_post_config(goapi_ledger_post_config, NULL, goapi_before_watchdog,
                        APR_HOOK_MIDDLE);
    /* Before mod_watchdog's: the store's cleanup on pchild then runs after
     * the one that stops the sweeping thread. */
    ap_hook_child_init(goapi_ledger_child_init, NULL, goapi_before_watchdog, APR_HOOK_MIDDLE);
    ap_hook_child_init(goapi_recovery_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* After mod_dbd's, which makes the pool GoapiIdempotencyStore dbd
     * borrows from: until then its connections wait (mod_watchdog's
     * threads start earlier). */
    ap_hook_child_init(goapi_dbd_child_init, goapi_after_dbd, NULL, APR_HOOK_MIDDLE);
    /* Last: after access control and every other fixup (the user is known,
     * the handler chosen). */
    ap_hook_fixups(goapi_idem_fixups, NULL, NULL, APR_HOOK_LAST);
    ap_hook_insert_error_filter(goapi_idem_insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    goapi_idem_register_filters();
    /* Really first: a replay or a refusal decided at fixups wins over the
     * handler the request was meant for. */
    ap_hook_handler(goapi_idem_handler, NULL, NULL, APR_HOOK_REALLY_FIRST);

    /* First: "OPTIONS ?x=1" is given the path "/" before any other module
     * reads r->uri (it never refuses, so the IDs' hook may run before). */
    ap_hook_post_read_request(goapi_routes_post_read_request, NULL, NULL,
                              APR_HOOK_FIRST);
    ap_hook_handler(goapi_routes_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* After mod_alias, mod_rewrite and mod_proxy, which may map the URL
     * first; before core's DocumentRoot mapping (REALLY_LAST). */
    ap_hook_translate_name(goapi_routes_translate, NULL, NULL, APR_HOOK_LAST);
    /* First among fixups: a probe path of GoapiProbes is answered by the
     * goapi handler, which the later fixups (the idempotency claim at
     * APR_HOOK_LAST) then see. */
    ap_hook_fixups(goapi_routes_fixups, NULL, NULL, APR_HOOK_FIRST);
    /* Like mod_proxy's: a URL that is not a file skips the directory walk. */
    ap_hook_map_to_storage(goapi_routes_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_quick_handler(goapi_routes_quick_handler, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_check_config(goapi_routes_check_config, NULL, NULL, APR_HOOK_LAST);

    /* Metrics.  Route names are gathered while the configuration is read
     * (pre_config starts the list); the shared region is made by the
     * parent.  Requests are counted once answered, after the other
     * loggers: the access log line is written first. */
    ap_hook_pre_config(goapi_metrics_pre_config, NULL, NULL, APR_HOOK_MIDDLE);

    /* The trace right after the IDs (both really first: a 431 of the
     * header limit carries it); the time left at fixups after the ID
     * policy (APR_HOOK_FIRST), before the idempotency claim
     * (APR_HOOK_LAST). */
    ap_hook_child_init(goapi_context_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(goapi_context_post_read_request, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
    ap_hook_fixups(goapi_context_fixups, NULL, NULL, APR_HOOK_MIDDLE);

    /* Load shedding: at fixups after the ID policy, before the time left
     * is written and before the idempotency claim; its answer before any
     * other handler. */
    ap_hook_pre_config(goapi_shed_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(goapi_shed_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(goapi_shed_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(goapi_shed_fixups, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(goapi_shed_handler, NULL, NULL, APR_HOOK_REALLY_FIRST);

    ap_hook_post_config(goapi_metrics_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(goapi_metrics_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(goapi_metrics_post_read_request, NULL, NULL,
                              APR_HOOK_MIDDLE);
    ap_hook_log_transaction(goapi_metrics_log_transaction, NULL, NULL,
                            APR_HOOK_REALLY_LAST);
    ap_hook_test_config(goapi_routes_test_config, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(goapi) = {
    STANDARD20_MODULE_STUFF,
    goapi_config_create_dir,
    goapi_config_merge_dir,
    goapi_config_create_server,
    goapi_config_merge_server,
    goapi_cmds,
    goapi_register_hooks,
    /* every virtual host and section gets its own merged record, even
     * without a Goapi directive: no record is shared, each is resolved
     * once (goapi_config_check) */
    AP_MODULE_FLAG_ALWAYS_MERGE
};
