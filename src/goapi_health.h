/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_health.h — readiness state shared by every child: dependency check
 * results in a table that one writer updates (the check runner) and any
 * number of readers copy without a lock (a sequence counter per entry), and
 * the answers of /readyz and /startupz built from a copy.  Pure: APR and
 * libc only; the table lives in memory the caller provides (shared memory).
 */
#ifndef GOAPI_HEALTH_H
#define GOAPI_HEALTH_H

#include <apr_network_io.h>
#include <apr_pools.h>
#include <apr_time.h>

#define GOAPI_MAX_CHECKS        32
#define GOAPI_CHECK_NAME_MAX    48      /* bytes, without the NUL */
#define GOAPI_CHECK_REASON_MAX  120     /* bytes, without the NUL */

/* ---- dependency check URLs --------------------------------------------- */

typedef enum { GOAPI_CHECK_TCP = 1, GOAPI_CHECK_HTTP } goapi_check_kind;

typedef struct {
    goapi_check_kind kind;
    const char *host;           /* name or address; IPv6 without brackets */
    apr_port_t port;
    const char *path;           /* http: the path and query, "/" at least */
} goapi_check_url;

/* "tcp://host:port" or "http://host:port/path" ("[::1]" for IPv6; the port
 * is required for tcp and defaults to 80 for http).  NULL on success, else
 * what was expected. */
const char *goapi_check_url_parse(apr_pool_t *p, const char *text, goapi_check_url *out);

/* A check name: 1 to GOAPI_CHECK_NAME_MAX of A-Z a-z 0-9 - _ . */
const char *goapi_check_name_parse(const char *name);

/* The status code of an HTTP/1.x status line at the start of buf, or -1. */
int goapi_http_status(const char *buf, apr_size_t len);

/* ---- the shared table ---------------------------------------------------- */

typedef struct {
    volatile apr_uint32_t seq;          /* odd while being written */
    char name[GOAPI_CHECK_NAME_MAX + 1];
    apr_uint32_t ran;                   /* 1 once it has run */
    apr_uint32_t ok;                    /* last result */
    apr_time_t checked_at;              /* when it last ran */
    apr_interval_time_t took;           /* how long it took */
    char reason[GOAPI_CHECK_REASON_MAX + 1];   /* why it failed */
} goapi_health_entry;

typedef struct {
    volatile apr_uint32_t writer;       /* writers' spin lock (0 free) */
    volatile apr_uint32_t nchecks;
    volatile apr_uint32_t rounds;       /* complete rounds of all checks */
    goapi_health_entry entry[GOAPI_MAX_CHECKS];
} goapi_health;

/* Lay out the checks of a (new) configuration: an entry whose name stays
 * keeps its last result, the others start as not run; the completed-round
 * count survives (a graceful restart is not a new start).  names has n
 * entries, n <= GOAPI_MAX_CHECKS. */
void goapi_health_configure(goapi_health *h, const char *const *names, int n);

/* Record the result of check i, named name (writers serialise among
 * themselves).  Nothing is written if entry i is no longer that check: a
 * runner of the previous configuration may finish a round after a restart
 * laid the table out anew. */
void goapi_health_record(goapi_health *h, int i, const char *name, int ok,
                         const char *reason, apr_time_t at, apr_interval_time_t took);

/* Count one complete round. */
void goapi_health_round_done(goapi_health *h);

/* A consistent copy of entry i, without a lock (retries while written). */
void goapi_health_read(const goapi_health *h, int i, goapi_health_entry *out);

/* ---- the answers ------------------------------------------------------- */

typedef struct {
    int started;                /* first round done (or no checks) */
    int draining;               /* drain file present, or the child is stopping */
    int shutting_down;          /* ... because the server's stop was announced
                                 * (GoapiShutdownDelay): "shutting down" */
    const char *drain_reason;   /* for the verbose form */
    int n;
    goapi_health_entry e[GOAPI_MAX_CHECKS];
} goapi_readiness;

/* Copy the table into r (started and draining are the caller's). */
void goapi_readiness_snapshot(const goapi_health *h, goapi_readiness *r);

/* 1 when ready: started, not draining, every check passed. */
int goapi_readiness_ok(const goapi_readiness *r);

/* Leave out the checks that the query string (may be NULL) excludes with
 * exclude=<name>: the dependency checks, "startup" and "drain". */
void goapi_readiness_exclude(goapi_readiness *r, const char *args);

/* Text bodies.  Plain: "ready\n", or the reasons ("draining\n",
 * "starting\n", "check <name> failed: <why>\n" ...).  Verbose (of the
 * whole snapshot, with the query's exclusions marked, goapi_probe.h): one
 * line per check "[+]name ok" / "[-]name failed: why" / "[+]name excluded:
 * ok", then "readyz check passed|failed".  One check: "ok\n" or
 * "failed: why\n", NULL when there is no such check. */
const char *goapi_readiness_text(apr_pool_t *p, const goapi_readiness *r);
const char *goapi_readiness_verbose(apr_pool_t *p, const goapi_readiness *r,
                                    const char *args);
const char *goapi_readiness_one(apr_pool_t *p, const goapi_readiness *r,
                                const char *name, int *ok);

/* application/health+json (draft-inadarei-api-health-check): status
 * pass/fail and, per check, its last result, time and output. */
const char *goapi_readiness_json(apr_pool_t *p, const goapi_readiness *r);

/* The answers for a client that may not see the detail (GoapiProbeDetail):
 * no check name, no failure text.  Text: "ready\n", "draining\n",
 * "starting\n" or "not ready\n"; JSON: the status, and for a failure one
 * of those words as its output. */
const char *goapi_readiness_brief(const goapi_readiness *r);
const char *goapi_readiness_json_brief(apr_pool_t *p, const goapi_readiness *r);

#endif /* GOAPI_HEALTH_H */
