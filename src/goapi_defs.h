/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_defs.h — every name, default and limit of mod_goapi in one place.
 *
 * Pure header: no httpd includes, so the pure units and the glue share it.
 */
#ifndef GOAPI_DEFS_H
#define GOAPI_DEFS_H

/* A numeric limit as a string literal, for messages built at compile time. */
#define GOAPI_STR_(x) #x
#define GOAPI_STR(x)  GOAPI_STR_(x)

/* Threads end by returning from their function, never with
 * apr_thread_exit(): that destroys the thread's pool, which at process exit
 * its parent pool may already have destroyed, and it leaves the stack of
 * the unfinished frames poisoned for AddressSanitizer. */

/* The release: shown by goapi_build_info and the startup notice. */
#define GOAPI_VERSION                  "0.9.0"

/* The handler name used with "SetHandler goapi". */
#define GOAPI_HANDLER                  "goapi"

/* Header names (defaults of the Goapi*Header directives). */
#define GOAPI_DEFAULT_REQUEST_ID_HEADER      "X-Request-ID"
#define GOAPI_DEFAULT_CORRELATION_ID_HEADER  "X-Correlation-ID"
#define GOAPI_DEFAULT_IDEMPOTENCY_KEY_HEADER "Idempotency-Key"

/* Longest header name the Goapi*Header directives accept, in bytes. */
#define GOAPI_HEADER_NAME_MAX          64

/* GoapiMaxIDLength: default and accepted range, in characters.  The lower
 * bound keeps our own generated IDs (36 characters) acceptable to a
 * downstream mod_goapi configured the same way. */
#define GOAPI_DEFAULT_MAX_ID_LENGTH    128
#define GOAPI_MIN_MAX_ID_LENGTH        36
#define GOAPI_MAX_MAX_ID_LENGTH        1024

/* Idempotency-Key: 1 to 255 printable ASCII characters once decoded. */
#define GOAPI_IDEMPOTENCY_KEY_MAX      255

/* Generated request IDs: canonical UUID text, 8-4-4-4-12 hex digits. */
#define GOAPI_UUID_LEN                 36

/* {parcelID}: at most this many bytes once percent-decoded. */
#define GOAPI_PATH_PARAM_MAX           128

/* Environment variables (for %{VAR}e in LogFormat and for CGI). */
#define GOAPI_ENV_REQUEST_ID           "GOAPI_REQUEST_ID"
#define GOAPI_ENV_CORRELATION_ID       "GOAPI_CORRELATION_ID"
#define GOAPI_ENV_IDEMPOTENCY_KEY      "GOAPI_IDEMPOTENCY_KEY"
#define GOAPI_ENV_TRACE_ID             "GOAPI_TRACE_ID"
#define GOAPI_ENV_SPAN_ID              "GOAPI_SPAN_ID"
#define GOAPI_ENV_PARENT_ID            "GOAPI_PARENT_ID"
#define GOAPI_ENV_TRACE_FLAGS          "GOAPI_TRACE_FLAGS"

/* The header carrying the time a request has left, in milliseconds. */
#define GOAPI_DEFAULT_DEADLINE_HEADER  "X-Request-Timeout-Ms"

/* Readiness checks: time between rounds and per check (microseconds). */
#define GOAPI_DEFAULT_CHECK_INTERVAL   (5 * 1000000)
#define GOAPI_DEFAULT_CHECK_TIMEOUT    (1 * 1000000)

/* Who sees the probes' check names and failures (GoapiProbeDetail): like
 * Debian's mod_status, the local machine alone until the operator opens it. */
#define GOAPI_DEFAULT_PROBE_DETAIL     "local"

/* Liveness (/livez): heartbeats of background threads per child, and how
 * long a thread of mod_goapi's may be silent before it counts as stuck
 * (each beats at least every 100 ms when well). */
#define GOAPI_MAX_HEARTBEATS           16
#define GOAPI_HEARTBEAT_STALL          apr_time_from_sec(5)

/* Idempotency (GoapiIdempotency*): defaults, in microseconds and bytes. */
#define GOAPI_DEFAULT_IDEM_TTL         ((apr_int64_t)24 * 3600 * 1000000)
#define GOAPI_DEFAULT_IDEM_LEASE       ((apr_int64_t)60 * 1000000)
#define GOAPI_DEFAULT_IDEM_MAX_BODY    (1024 * 1024)
#define GOAPI_DEFAULT_IDEM_MAX_RESPONSE (1024 * 1024)
#define GOAPI_MAX_IDEM_BYTES           ((apr_int64_t)64 * 1024 * 1024)
/* The ledger: file under DefaultRuntimeDir unless GoapiIdempotencyStore
 * says otherwise, and its largest size. */
#define GOAPI_DEFAULT_IDEM_STORE_FILE  "goapi-idempotency.mdb"
#define GOAPI_DEFAULT_IDEM_STORE_SIZE  ((apr_int64_t)64 * 1024 * 1024)
#define GOAPI_MIN_IDEM_STORE_SIZE      ((apr_int64_t)1024 * 1024)
#define GOAPI_MAX_IDEM_STORE_SIZE      ((apr_int64_t)64 * 1024 * 1024 * 1024)
/* A shared store (GoapiIdempotencyStore redis://...): how long a connect
 * or a command may take, the prefix of its keys, and the built-in check
 * of /readyz that asks it. */
#define GOAPI_DEFAULT_IDEM_STORE_TIMEOUT (250 * 1000)
/* The same for a statement of the PostgreSQL ledger (GoapiIdempotencyStore
 * dbd): a commit there may wait for a synchronous standby. */
#define GOAPI_DEFAULT_IDEM_DBD_TIMEOUT   (2 * 1000 * 1000)
#define GOAPI_DEFAULT_IDEM_STORE_PREFIX  "goapi:idem:"
#define GOAPI_STORE_PREFIX_MAX           64
#define GOAPI_STORE_CHECK_NAME           "idempotency-store"
/* Replicas that must acknowledge each claim and completion
 * (GoapiIdempotencyStoreReplicas); 0 none. */
#define GOAPI_DEFAULT_IDEM_STORE_REPLICAS 0
#define GOAPI_MAX_IDEM_STORE_REPLICAS    16
/* How often each child releases its orphaned claims when no request
 * does (goapi_store.h, settle). */
#define GOAPI_IDEM_SETTLE_INTERVAL       (250 * 1000)
/* A store that fails is logged at most once per this many microseconds per
 * process (the lines say how many were left out). */
#define GOAPI_STORE_LOG_INTERVAL         (1000 * 1000)
/* Completed records each child keeps to answer repeated retries without
 * asking the store (GoapiIdempotencyReplayCache), bytes. */
#define GOAPI_DEFAULT_IDEM_REPLAY_CACHE  (1024 * 1024)
#define GOAPI_MAX_IDEM_REPLAY_CACHE      ((apr_int64_t)1024 * 1024 * 1024)
/* Between sweeps of expired records. */
#define GOAPI_DEFAULT_IDEM_SWEEP      (60 * 1000000)
/* Retry-After of a 409 while the first request is in flight, seconds. */
#define GOAPI_IDEM_RETRY_AFTER         1
#define GOAPI_IDEM_REPLAYED_HEADER     "Idempotent-Replayed"
#define GOAPI_PROBLEM_TYPE             "application/problem+json"
/* GoapiIdempotencyDamagedStore: what a damaged ledger at startup does. */
#define GOAPI_DAMAGED_REFUSE           0    /* the server does not start */
#define GOAPI_DAMAGED_START_FRESH      1    /* moved aside, a new one made */
/* A handler that sets this request note (any value) says the operation
 * was not reached: the idempotency claim is released, a retry may run. */
#define GOAPI_NOTE_NOT_APPLIED         "goapi-not-applied"
/* The counter of POST /parcels/{parcelID}/dispatch in the ledger. */
#define GOAPI_DISPATCH_COUNTER         "dispatch"

/* Media type of every text answer of the handler. */
#define GOAPI_TEXT_TYPE                "text/plain; charset=utf-8"
#define GOAPI_HEALTH_JSON_TYPE         "application/health+json"

#endif /* GOAPI_DEFS_H */
