/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_shed.c — load shedding (GoapiMaxInFlight): at most N requests
 * of a scope (the server or <Location> the directive is written in) run at
 * once, counted by every child in shared memory; the next gets 503 with
 * Retry-After at once, instead of waiting in httpd's queue.  N is fixed, or
 * adapted to the latency the scope's requests see (auto; goapi_shed.h).
 *
 * Decided at fixups, after access control and before the idempotency
 * claim (the last fixup): a shed request reads no body, leaves no record
 * and reaches no backend.  A place is given back by a cleanup of the
 * request's pool, so an aborted client, a cut deadline or an error never
 * keeps one.  The probes and /metrics are never shed.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"

#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <poll.h>
#include <sys/socket.h>

#include "goapi_json.h"
#include "goapi_log_limit.h"
#include "goapi_parse.h"
#include "goapi_router.h"
#include "goapi_shed.h"
#include "goapi_shed_keys.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

#define GOAPI_SHED_HANDLER      "goapi-shed"
#define GOAPI_SHED_SCOPES       256
#define GOAPI_SHED_MAX          1000000
#define GOAPI_SHED_AUTO_MIN     3
#define GOAPI_SHED_LOG_INTERVAL apr_time_from_sec(10)

/* A partition of a scope (GoapiMaxInFlightPartition) and the requests
 * it takes: those with a header of a value, or with an environment
 * variable set (SetEnvIf). */
typedef struct {
    const char *name;
    const char *header;                 /* or NULL */
    const char *value;                  /* the header's value */
    const char *env;                    /* or the variable */
} goapi_shed_part;

/* A GoapiMaxInFlight of this configuration: its scope's settings, where
 * it is written, and its name in the metrics. */
typedef struct {
    goapi_shed_conf conf;
    int max_given, start_given;
    const char *where;
    const char *label;
    int nparts;                         /* partitions named */
    goapi_shed_part parts[GOAPI_SHED_PARTITIONS - 1];
    apr_interval_time_t queue_timeout;  /* GoapiShedQueue: longest wait */
} goapi_shed_decl;

static apr_array_header_t *goapi_shed_decls;

/* A GoapiMaxInFlightPer of this configuration. */
typedef enum { GOAPI_SHED_BY_IP = 1, GOAPI_SHED_BY_USER, GOAPI_SHED_BY_HEADER } goapi_shed_by;

typedef struct {
    goapi_shed_by by;
    const char *header;                 /* GOAPI_SHED_BY_HEADER: its name */
    apr_uint32_t limit;
    apr_uint32_t slots;                 /* of its table */
    const char *where;
    const char *label;                  /* its name in the metrics */
} goapi_shed_per_decl;

static apr_array_header_t *goapi_shed_per_decls;

/* The scopes (index: goapi_dir_conf.shed_scope, from 1), then the tables
 * of the per-key limits (index: goapi_dir_conf.shed_per, from 1), in
 * shared memory made for each generation of children. */
static goapi_shed_scope *goapi_shed_scopes;
static goapi_shed_keys *goapi_shed_tables;

static goapi_log_limit goapi_shed_log;
static goapi_log_limit goapi_shed_overflow_log;

/* "auto", then min=N, max=N, start=N, percentile=N, backoff=F in any
 * order. */
static const char *goapi_shed_parse_auto(cmd_parms *cmd, const char *args,
                                         goapi_shed_decl *d)
{
    const char *word;

    d->conf.adaptive = 1;
    d->conf.min = GOAPI_SHED_AUTO_MIN;
    while (*(word = ap_getword_conf(cmd->temp_pool, &args))) {
        const char *eq = strchr(word, '=');
        apr_uint32_t *field = NULL;
        apr_int64_t v, v_max = GOAPI_SHED_MAX;
        const char *err;

        if (eq && eq - word == 7 && !strncmp(word, "backoff", 7)) {
            char *end = NULL;
            double f = strtod(eq + 1, &end);

            if (!eq[1] || !end || *end || !(f >= 0.5 && f <= 0.99)) {
                return goapi_cmd_refuse(cmd, "auto", word, NULL, "the share of the limit "
                                        "kept when the backend fails, from 0.5 to 0.99 "
                                        "(backoff=0.9)");
            }
            d->conf.backoff = (apr_uint32_t)(f * 1000 + 0.5);
            continue;
        }
        if (eq && eq - word == 10 && !strncmp(word, "percentile", 10)) {
            field = &d->conf.percentile;
            v_max = 99;
        }
        else if (eq && eq - word == 3 && !strncmp(word, "min", 3)) {
            field = &d->conf.min;
        }
        else if (eq && eq - word == 3 && !strncmp(word, "max", 3)) {
            field = &d->conf.max;
            d->max_given = 1;
        }
        else if (eq && eq - word == 5 && !strncmp(word, "start", 5)) {
            field = &d->conf.start;
            d->start_given = 1;
        }
        if (!field) {
            return goapi_cmd_refuse(cmd, "auto", word, NULL, "one of min=N, max=N, start=N, "
                                    "percentile=N, backoff=F");
        }
        err = goapi_parse_int_range(eq + 1, 1, v_max, &v);
        if (err) {
            return goapi_cmd_refuse(cmd, "auto", word, err, "%s from 1 to %d",
                                    v_max == 99 ? "the percentile of the latency sampled"
                                                : "a number of requests", (int)v_max);
        }
        *field = (apr_uint32_t)v;
    }
    if (d->max_given && d->conf.min > d->conf.max) {
        return apr_psprintf(cmd->pool, "GoapiMaxInFlight auto: min=%u is above max=%u",
                            d->conf.min, d->conf.max);
    }
    if (d->start_given && (d->conf.start < d->conf.min
                           || (d->max_given && d->conf.start > d->conf.max))) {
        return apr_psprintf(cmd->pool, "GoapiMaxInFlight auto: start=%u is not between "
                            "min=%u and max", d->conf.start, d->conf.min);
    }
    return NULL;
}

/* The scope's name in goapi_max_in_flight_limit{scope}: its <Location>,
 * or "server"; the place it is written in when that name is taken. */
static const char *goapi_shed_label(cmd_parms *cmd, const goapi_shed_decl *d)
{
    const char *label = cmd->path ? cmd->path
                        : cmd->server->is_virtual ? "virtual host" : "server";
    int i;

    for (i = 0; i < goapi_shed_decls->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(goapi_shed_decls, i, goapi_shed_decl).label, label)) {
            return apr_pstrcat(cmd->pool, label, " ", d->where, NULL);
        }
    }
    return label;
}

/* GoapiMaxInFlight N | auto [min=N] [max=N] [start=N] [percentile=N]
 * [backoff=F] */
const char *goapi_cmd_max_in_flight(cmd_parms *cmd, void *dconf, const char *args)
{
    goapi_dir_conf *dc = dconf;
    const char *first = ap_getword_conf(cmd->temp_pool, &args);
    goapi_shed_decl d, *slot;
    const char *err;

    if (!goapi_shed_decls) {
        return "GoapiMaxInFlight: the module's pre_config did not run";
    }
    memset(&d, 0, sizeof(d));
    if (!strcasecmp(first, "auto")) {
        err = goapi_shed_parse_auto(cmd, args, &d);
        if (err) {
            return err;
        }
    }
    else {
        apr_int64_t v;

        err = goapi_parse_int_range(first, 0, GOAPI_SHED_MAX, &v);
        if (err || *args) {
            return goapi_cmd_refuse(cmd, NULL, apr_pstrcat(cmd->temp_pool, first,
                                                           *args ? " " : "", args, NULL),
                                    err ? err : "one value only", "a number of requests "
                                    "from 1 to %d, 0 for no limit, or auto [min=N] [max=N] "
                                    "[start=N] [percentile=N] [backoff=F]", GOAPI_SHED_MAX);
        }
        dc->max_in_flight = 1;
        dc->shed_scope = 0;
        if (v == 0) {
            return NULL;                /* no limit here */
        }
        d.conf.min = d.conf.max = d.conf.start = (apr_uint32_t)v;
    }
    if (goapi_shed_decls->nelts + 1 >= GOAPI_SHED_SCOPES) {
        return apr_psprintf(cmd->pool, "GoapiMaxInFlight: at most %d in one configuration",
                            GOAPI_SHED_SCOPES - 1);
    }
    d.where = cmd->directive
              ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                             cmd->directive->line_num)
              : "?";
    d.label = goapi_shed_label(cmd, &d);
    slot = apr_array_push(goapi_shed_decls);
    *slot = d;
    dc->max_in_flight = 1;
    dc->shed_scope = goapi_shed_decls->nelts;       /* from 1 */
    return NULL;
}

/* GoapiMaxInFlightPer ip|user|header:<Name> N [slots=N] */
const char *goapi_cmd_max_in_flight_per(cmd_parms *cmd, void *dconf, const char *key,
                                        const char *n, const char *slots)
{
    goapi_dir_conf *dc = dconf;
    goapi_shed_per_decl d, *slot;
    apr_int64_t v;
    const char *err;
    int i;

    if (!goapi_shed_per_decls) {
        return "GoapiMaxInFlightPer: the module's pre_config did not run";
    }
    memset(&d, 0, sizeof(d));
    if (!strcasecmp(key, "ip")) {
        d.by = GOAPI_SHED_BY_IP;
    }
    else if (!strcasecmp(key, "user")) {
        d.by = GOAPI_SHED_BY_USER;
    }
    else if (!strncasecmp(key, "header:", 7) && key[7]
             && !goapi_parse_header_name(key + 7)) {
        d.by = GOAPI_SHED_BY_HEADER;
        d.header = key + 7;
    }
    else {
        return goapi_cmd_refuse(cmd, NULL, key, NULL, "ip (the client address, as "
                                "mod_remoteip leaves it), user or header:<Name>");
    }
    err = goapi_parse_int_range(n, 0, GOAPI_SHED_MAX, &v);
    if (err) {
        return goapi_cmd_refuse(cmd, NULL, n, err, "a number of requests per key from 1 "
                                "to %d, or 0 for no limit", GOAPI_SHED_MAX);
    }
    d.slots = GOAPI_SHED_KEY_SLOTS;
    if (slots) {
        apr_int64_t ns;

        if (strncasecmp(slots, "slots=", 6) != 0
            || (err = goapi_parse_int_range(slots + 6, GOAPI_SHED_KEY_SLOTS_MIN,
                                            GOAPI_SHED_KEY_SLOTS, &ns)) != NULL) {
            return goapi_cmd_refuse(cmd, NULL, slots, err, "slots=N, the keys in flight its "
                                    "table holds, from %d to %d", GOAPI_SHED_KEY_SLOTS_MIN,
                                    GOAPI_SHED_KEY_SLOTS);
        }
        d.slots = (apr_uint32_t)ns;
    }
    if (v == 0) {
        dc->shed_per = 0;
        return NULL;
    }
    if (goapi_shed_per_decls->nelts + 1 >= GOAPI_SHED_SCOPES) {
        return apr_psprintf(cmd->pool, "GoapiMaxInFlightPer: at most %d in one "
                            "configuration", GOAPI_SHED_SCOPES - 1);
    }
    d.limit = (apr_uint32_t)v;
    d.where = cmd->directive
              ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                             cmd->directive->line_num)
              : "?";
    d.label = cmd->path ? cmd->path : cmd->server->is_virtual ? "virtual host" : "server";
    for (i = 0; i < goapi_shed_per_decls->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(goapi_shed_per_decls, i, goapi_shed_per_decl).label,
                    d.label)) {
            d.label = apr_pstrcat(cmd->pool, d.label, " ", d.where, NULL);
            break;
        }
    }
    slot = apr_array_push(goapi_shed_per_decls);
    *slot = d;
    dc->shed_per = goapi_shed_per_decls->nelts;     /* from 1 */
    return NULL;
}

/* The scope of a GoapiMaxInFlight before the directive in this section. */
static goapi_shed_decl *goapi_shed_decl_here(const goapi_dir_conf *dc)
{
    if (dc->max_in_flight != 1 || dc->shed_scope <= 0) {
        return NULL;
    }
    return &APR_ARRAY_IDX(goapi_shed_decls, dc->shed_scope - 1, goapi_shed_decl);
}

/* GoapiMaxInFlightPartition <name> <share>% header:<Name>=<value>|env=<var>,
 * after GoapiMaxInFlight in the same section. */
const char *goapi_cmd_max_in_flight_partition(cmd_parms *cmd, void *dconf, const char *name,
                                              const char *share, const char *match)
{
    goapi_dir_conf *dc = dconf;
    goapi_shed_decl *d;
    goapi_shed_part *part;
    apr_int64_t v;
    apr_uint32_t used = 0;
    const char *eq, *err;
    char *num;
    int i;

    if (!(d = goapi_shed_decl_here(dc))) {
        return "GoapiMaxInFlightPartition: a GoapiMaxInFlight limit must come before it "
               "in the same section: a partition is a share of that limit";
    }
    if (d->conf.queue) {
        return "GoapiMaxInFlightPartition: a limit with a queue (GoapiShedQueue) has no "
               "partitions";
    }
    if (d->nparts >= GOAPI_SHED_PARTITIONS - 1) {
        return apr_psprintf(cmd->pool, "GoapiMaxInFlightPartition: at most %d partitions "
                            "of one limit", GOAPI_SHED_PARTITIONS - 1);
    }
    num = apr_pstrdup(cmd->temp_pool, share);
    if (!*num || num[strlen(num) - 1] != '%') {
        return goapi_cmd_refuse(cmd, name, share, NULL, "a share of the limit such as 30%%");
    }
    num[strlen(num) - 1] = '\0';
    if ((err = goapi_parse_int_range(num, 1, 99, &v)) != NULL) {
        return goapi_cmd_refuse(cmd, name, share, err, "a share from 1%% to 99%%");
    }
    for (i = 0; i < d->nparts; i++) {
        used += d->conf.share[i];
        if (!strcmp(d->parts[i].name, name)) {
            return apr_psprintf(cmd->pool, "GoapiMaxInFlightPartition: '%s' is named twice "
                                "for this limit", name);
        }
    }
    if (used + (apr_uint32_t)v > 100) {
        return apr_psprintf(cmd->pool, "GoapiMaxInFlightPartition %s: %s with the %u%% "
                            "given before is more than the whole limit", name, share, used);
    }
    part = &d->parts[d->nparts];
    memset(part, 0, sizeof(*part));
    part->name = name;
    if (!strncasecmp(match, "env=", 4) && match[4]) {
        part->env = match + 4;
    }
    else if (!strncasecmp(match, "header:", 7) && (eq = strchr(match + 7, '=')) != NULL
             && eq > match + 7) {
        part->header = apr_pstrmemdup(cmd->pool, match + 7, (apr_size_t)(eq - match - 7));
        part->value = eq + 1;
        if (goapi_parse_header_name(part->header)) {
            part->header = NULL;
        }
    }
    if (!part->env && !part->header) {
        return goapi_cmd_refuse(cmd, name, match, NULL, "header:<Name>=<value> or "
                                "env=<variable> (set by SetEnvIf)");
    }
    d->conf.share[d->nparts++] = (apr_uint32_t)v;
    return NULL;
}

/* GoapiShedQueue <n> <timeout>, after GoapiMaxInFlight in the same section */
const char *goapi_cmd_shed_queue(cmd_parms *cmd, void *dconf, const char *n,
                                 const char *timeout)
{
    goapi_shed_decl *d = goapi_shed_decl_here(dconf);
    apr_interval_time_t t;
    apr_int64_t v;
    const char *err;

    if (!d) {
        return "GoapiShedQueue: a GoapiMaxInFlight limit must come before it in the same "
               "section: the queue is for that limit's places";
    }
    if (d->nparts) {
        return "GoapiShedQueue: a limit with partitions (GoapiMaxInFlightPartition) has "
               "no queue";
    }
    if ((err = goapi_parse_int_range(n, 1, GOAPI_SHED_QUEUE_MAX, &v)) != NULL) {
        return goapi_cmd_refuse(cmd, NULL, n, err, "how many requests may wait, from 1 to %d",
                                GOAPI_SHED_QUEUE_MAX);
    }
    err = goapi_parse_duration(timeout, &t);
    if (!err && (t <= 0 || t > apr_time_from_sec(60))) {
        err = "not between 1ms and 1m";
    }
    if (err) {
        return goapi_cmd_refuse(cmd, NULL, timeout, err, "how long a request may wait, such "
                                "as 500ms or 2s");
    }
    d->conf.queue = (apr_uint32_t)v;
    d->queue_timeout = t;
    return NULL;
}

/* GoapiShedStatus 503|429 */
const char *goapi_cmd_shed_status(cmd_parms *cmd, void *dconf, const char *arg)
{
    if (strcmp(arg, "503") != 0 && strcmp(arg, "429") != 0) {
        return goapi_cmd_refuse(cmd, NULL, arg, NULL, "503 (the server is busy) or 429 (this "
                                "client sends too many)");
    }
    ((goapi_dir_conf *)dconf)->shed_status = arg[0] == '4' ? 429 : 503;
    return NULL;
}

int goapi_shed_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    goapi_shed_decls = apr_array_make(pconf, 4, sizeof(goapi_shed_decl));
    goapi_shed_per_decls = apr_array_make(pconf, 4, sizeof(goapi_shed_per_decl));
    goapi_shed_scopes = NULL;
    goapi_shed_tables = NULL;
    return OK;
}

/* "apachectl -t" and every start: a fixed limit the MPM can never reach;
 * an adaptive one's defaults from the MPM's size. */
int goapi_shed_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *s)
{
    int daemons = 0, threads = 0, i;
    apr_uint32_t workers;

    (void)pconf;
    (void)plog;
    (void)ptemp;
    if (!goapi_shed_decls || !goapi_shed_decls->nelts
        || ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &daemons) != APR_SUCCESS
        || ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS) {
        return OK;
    }
    workers = (apr_uint32_t)(daemons > 0 ? daemons : 1) * (apr_uint32_t)(threads > 0 ? threads : 1);
    for (i = 0; i < goapi_shed_decls->nelts; i++) {
        goapi_shed_decl *d = &APR_ARRAY_IDX(goapi_shed_decls, i, goapi_shed_decl);

        if (d->conf.adaptive) {
            if (!d->max_given) {
                d->conf.max = workers > d->conf.min ? workers : d->conf.min;
            }
            if (!d->start_given) {
                d->conf.start = d->conf.max;
            }
            if (d->conf.start > d->conf.max) {
                ap_log_error(APLOG_MARK, APLOG_ERR | APLOG_STARTUP, 0, s,
                             GOAPI_LOGNO(00075) "GoapiMaxInFlight auto at %s: start=%u is "
                             "above max (%u, MaxRequestWorkers when not given)", d->where,
                             d->conf.start, d->conf.max);
                return HTTP_INTERNAL_SERVER_ERROR;
            }
        }
        else if (d->conf.max >= workers) {
            ap_log_error(APLOG_MARK, APLOG_WARNING | APLOG_STARTUP, 0, s,
                         GOAPI_LOGNO(00071) "GoapiMaxInFlight %u at %s is not below the %u "
                         "requests the MPM serves at once (MaxRequestWorkers): it would "
                         "never act", d->conf.max, d->where, workers);
        }
    }
    return OK;
}

static void goapi_shed_gauges(apr_pool_t *p, goapi_metrics_extra *x)
{
    int i, n = goapi_shed_scopes ? goapi_shed_decls->nelts : 0, adaptive = 0;
    const char **labels = apr_pcalloc(p, sizeof(char *) * (apr_size_t)(n + 1));
    apr_uint64_t *v = apr_pcalloc(p, sizeof(apr_uint64_t) * 5 * (apr_size_t)(n + 1));
    int *is_auto = apr_pcalloc(p, sizeof(int) * (apr_size_t)(n + 1));

    for (i = 0; i < n; i++) {
        goapi_shed_scope *sc = &goapi_shed_scopes[i + 1];

        labels[i] = APR_ARRAY_IDX(goapi_shed_decls, i, goapi_shed_decl).label;
        v[i] = apr_atomic_read32(&sc->limit);
        v[n + 1 + i] = apr_atomic_read32(&sc->taken);
        if (sc->conf.adaptive) {
            adaptive = is_auto[i] = 1;
            v[2 * (n + 1) + i] = apr_atomic_read32(&sc->gradient);
            v[3 * (n + 1) + i] = apr_atomic_read32(&sc->unloaded);
            v[4 * (n + 1) + i] = apr_atomic_read32(&sc->sampled);
        }
    }
    x->nscopes = n;
    x->scope_names = labels;
    x->scope_limits = v;
    x->scope_taken = v + n + 1;
    if (adaptive) {
        x->scope_adaptive = is_auto;
        x->scope_gradient = v + 2 * (n + 1);
        x->scope_unloaded = v + 3 * (n + 1);
        x->scope_sampled = v + 4 * (n + 1);
    }
    n = goapi_shed_tables ? goapi_shed_per_decls->nelts : 0;
    labels = apr_pcalloc(p, sizeof(char *) * (apr_size_t)(n + 1));
    v = apr_pcalloc(p, sizeof(apr_uint64_t) * (apr_size_t)(n + 1));
    for (i = 0; i < n; i++) {
        labels[i] = APR_ARRAY_IDX(goapi_shed_per_decls, i, goapi_shed_per_decl).label;
        v[i] = apr_atomic_read32(&goapi_shed_tables[i + 1].overflow);
    }
    x->nkeytables = n;
    x->keytable_names = labels;
    x->keytable_overflow = v;
}

int goapi_shed_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s)
{
    apr_size_t size, scopes;
    apr_shm_t *shm;
    apr_status_t rv;
    apr_time_t now = apr_time_now();
    unsigned char secret[GOAPI_SHED_KEY_SECRET];
    int i;

    (void)plog;
    (void)ptemp;
    goapi_metrics_scope_gauges(NULL);
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG
        || (!goapi_shed_decls->nelts && !goapi_shed_per_decls->nelts)) {
        return OK;
    }
    /* A region per generation: the children of a graceful restart count
     * from zero, while those still finishing keep theirs. */
    scopes = APR_ALIGN_DEFAULT(sizeof(goapi_shed_scope)
                               * (apr_size_t)(goapi_shed_decls->nelts + 1));
    size = scopes + sizeof(goapi_shed_keys) * (apr_size_t)(goapi_shed_per_decls->nelts + 1);
    rv = apr_shm_create(&shm, size, NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, GOAPI_LOGNO(00072)
                     "cannot create the shared memory for GoapiMaxInFlight");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    goapi_shed_scopes = apr_shm_baseaddr_get(shm);
    memset(goapi_shed_scopes, 0, size);
    for (i = 0; i < goapi_shed_decls->nelts; i++) {
        goapi_shed_decl *d = &APR_ARRAY_IDX(goapi_shed_decls, i, goapi_shed_decl);

        if (d->nparts) {
            /* the requests that match no partition share what is left */
            apr_uint32_t used = 0;
            int p;

            for (p = 0; p < d->nparts; p++) {
                used += d->conf.share[p];
            }
            d->conf.share[d->nparts] = 100 - used;
            d->conf.partitions = d->nparts + 1;
        }
        goapi_shed_scope_init(&goapi_shed_scopes[i + 1], &d->conf, now);
    }
    /* keys hashed under a secret of this generation: no client chooses
     * whom it shares a slot with */
    goapi_shed_tables = (goapi_shed_keys *)(void *)((char *)goapi_shed_scopes + scopes);
    if (apr_generate_random_bytes(secret, sizeof(secret)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, GOAPI_LOGNO(00091)
                     "cannot draw the secret of GoapiMaxInFlightPer's keys");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (i = 0; i < goapi_shed_per_decls->nelts; i++) {
        const goapi_shed_per_decl *d = &APR_ARRAY_IDX(goapi_shed_per_decls, i,
                                                      goapi_shed_per_decl);

        goapi_shed_keys_init(&goapi_shed_tables[i + 1], d->limit, d->slots, secret);
    }
    goapi_metrics_scope_gauges(goapi_shed_gauges);
    return OK;
}


/* A place held by a request: the request tells at its end whether it
 * failed (a back-off signal for an adaptive limit). */
typedef struct {
    goapi_shed_ticket t;
    request_rec *r;
} goapi_shed_held;

/* A 5xx (its own, or a backend's timeout: 502, 504), a deadline cut, or a
 * client gone before the answer. */
static int goapi_shed_failed(request_rec *r)
{
    while (r->next) {
        r = r->next;                    /* the last internal redirect answered */
    }
    return r->status >= 500 || r->connection->aborted || goapi_timeouts_cut(r->connection);
}

static apr_status_t goapi_shed_release(void *data)
{
    goapi_shed_held *h = data;

    goapi_shed_leave(&h->t, apr_time_now(), h->t.scope->conf.adaptive && goapi_shed_failed(h->r));
    return APR_SUCCESS;
}

static apr_status_t goapi_shed_key_release(void *data)
{
    goapi_shed_keys_leave(data);
    return APR_SUCCESS;
}

/* The probes and /metrics keep answering whatever the load. */
static int goapi_never_shed(const request_rec *r)
{
    apr_size_t n = strlen(r->uri);

    return goapi_route_probe(r->uri, n) != GOAPI_ROUTE_NONE
           || (n == 8 && memcmp(r->uri, "/metrics", 8) == 0);
}

/* The key of r for a per-key limit: its client address, its user (its
 * address when it has none), or its header's value ("" when absent: the
 * requests without it share one key). */
static const char *goapi_shed_key_of(request_rec *r, const goapi_shed_per_decl *d)
{
    const char *v;

    switch (d->by) {
    case GOAPI_SHED_BY_USER:
        if (r->user) {
            return apr_pstrcat(r->pool, "u:", r->user, NULL);
        }
        return apr_pstrcat(r->pool, "a:", r->useragent_ip, NULL);
    case GOAPI_SHED_BY_HEADER:
        v = apr_table_get(r->headers_in, d->header);
        return v ? v : "";
    default:
        return r->useragent_ip;
    }
}

/* The partition of a scope r falls in: the first whose header or variable
 * it has, else the last (the rest). */
static int goapi_shed_partition_of(request_rec *r, const goapi_shed_decl *d)
{
    int p;

    for (p = 0; p < d->nparts; p++) {
        const goapi_shed_part *part = &d->parts[p];

        if (part->env ? apr_table_get(r->subprocess_env, part->env) != NULL
                      : (apr_table_get(r->headers_in, part->header) != NULL
                         && !strcmp(apr_table_get(r->headers_in, part->header),
                                    part->value))) {
            return p;
        }
    }
    return d->nparts;
}

/* Has the client of r closed its connection?  (Data it sent ahead, or
 * TLS records, say it is still there.) */
static int goapi_shed_client_gone(request_rec *r)
{
    apr_socket_t *sock = ap_get_conn_socket(r->connection);
    apr_os_sock_t fd;
    struct pollfd p;
    char b;

    if (!sock || apr_os_sock_get(&fd, sock) != APR_SUCCESS) {
        return 0;
    }
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, 0) <= 0) {
        return 0;
    }
    return (p.revents & (POLLHUP | POLLERR))
           || recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* Wait in the scope's queue for a place, at most timeout: NULL when one
 * was taken (t), else why not. */
static const char *goapi_shed_wait(request_rec *r, goapi_shed_scope *scope,
                                   apr_interval_time_t timeout, goapi_shed_ticket *t)
{
    apr_time_t deadline = apr_time_now() + timeout;
    apr_interval_time_t pause = apr_time_from_msec(1);
    apr_uint32_t n;

    if (!goapi_shed_queue_join(scope, &n)) {
        return apr_psprintf(r->pool, "its queue full (%u waiting)", scope->conf.queue);
    }
    for (;;) {
        apr_time_t now = apr_time_now();

        if (goapi_shed_queue_try(scope, n, now, t)) {
            return NULL;
        }
        if (now >= deadline) {
            goapi_shed_queue_leave(scope, n);
            return "and no place came within GoapiShedQueue's time";
        }
        if (goapi_shed_client_gone(r)) {
            goapi_shed_queue_leave(scope, n);
            r->connection->aborted = 1;
            return "and the client left the queue";
        }
        apr_sleep(pause < deadline - now ? pause : deadline - now);
        if (pause < apr_time_from_msec(10)) {
            pause *= 2;
        }
    }
}

/* Logged once per interval and process, whatever the reason. */
static void goapi_shed_log_line(request_rec *r, const char *why, int dry_run)
{
    apr_uint32_t skipped;

    if (goapi_log_due(&goapi_shed_log, apr_time_now(), GOAPI_SHED_LOG_INTERVAL,
                            &skipped)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, GOAPI_LOGNO(00073)
                      "%s: %s %s (%u more in this process since the last such line)",
                      why, r->uri, dry_run ? "would be shed (GoapiShedDryRun On: served)"
                                           : "shed", skipped);
    }
}

/* A request the per-key table had no slot for: admitted without a
 * per-key limit, counted (goapi_max_in_flight_per_overflow_total), and
 * logged once per interval and process, apart from the shed lines. */
static void goapi_shed_log_overflow(request_rec *r, const goapi_shed_per_decl *d,
                                    goapi_shed_keys *t)
{
    apr_uint32_t skipped;

    if (goapi_log_due(&goapi_shed_overflow_log, apr_time_now(),
                            GOAPI_SHED_LOG_INTERVAL, &skipped)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, GOAPI_LOGNO(00190)
                      "GoapiMaxInFlightPer at %s: its table of keys is full (%d keys in "
                      "flight around this one's place; %u such requests since the start): "
                      "%s admitted without a per-key limit (%u more in this process since "
                      "the last such line)", d->where, GOAPI_SHED_KEY_PROBES,
                      apr_atomic_read32(&t->overflow), r->uri, skipped);
    }
}

/* A request over a limit: shed, or with GoapiShedDryRun only counted. */
static int goapi_shed_refuse(request_rec *r, const goapi_dir_conf *dc, int reason,
                             const char *why)
{
    goapi_metrics_shed(r, dc->shed_dry_run == 1);
    goapi_shed_log_line(r, why, dc->shed_dry_run == 1);
    if (dc->shed_dry_run == 1) {
        return DECLINED;
    }
    goapi_req_of(r)->shed = reason;
    r->handler = GOAPI_SHED_HANDLER;
    return DECLINED;
}

int goapi_shed_fixups(request_rec *r)
{
    const goapi_dir_conf *dc;
    goapi_shed_scope *scope;
    goapi_shed_held *held;
    goapi_shed_ticket *ticket;

    if (r->main || r->prev || !goapi_shed_scopes) {
        return DECLINED;                /* the initial request holds the place */
    }
    dc = goapi_dconf(r);
    if ((dc->shed_scope <= 0 && dc->shed_per <= 0) || goapi_never_shed(r)) {
        return DECLINED;
    }
    if (dc->shed_per > 0) {
        const goapi_shed_per_decl *d = &APR_ARRAY_IDX(goapi_shed_per_decls,
                                                      dc->shed_per - 1, goapi_shed_per_decl);
        goapi_shed_keys *t = &goapi_shed_tables[dc->shed_per];
        const char *key = goapi_shed_key_of(r, d);
        volatile apr_uint64_t *slot = NULL;

        switch (goapi_shed_keys_enter(t, goapi_shed_keys_hash(t, key, strlen(key)), &slot)) {
        case GOAPI_SHED_KEY_TAKEN:
            apr_pool_cleanup_register(r->pool, (void *)slot, goapi_shed_key_release,
                                      apr_pool_cleanup_null);
            break;
        case GOAPI_SHED_KEY_FULL:
            return goapi_shed_refuse(r, dc, 2, apr_psprintf(r->pool, "GoapiMaxInFlightPer "
                                     "%s %u reached for this client",
                                     d->by == GOAPI_SHED_BY_IP ? "ip"
                                     : d->by == GOAPI_SHED_BY_USER ? "user"
                                     : apr_pstrcat(r->pool, "header:", d->header, NULL),
                                     d->limit));
        case GOAPI_SHED_KEY_OVERFLOW:
            goapi_shed_log_overflow(r, d, t);
            break;
        }
    }
    if (dc->shed_scope <= 0) {
        return DECLINED;
    }
    scope = &goapi_shed_scopes[dc->shed_scope];
    held = apr_palloc(r->pool, sizeof(*held));
    held->r = r;
    ticket = &held->t;
    if (scope->conf.partitions) {
        const goapi_shed_decl *d = &APR_ARRAY_IDX(goapi_shed_decls, dc->shed_scope - 1,
                                                  goapi_shed_decl);
        int p = goapi_shed_partition_of(r, d);

        if (goapi_shed_enter_partition(scope, p, apr_time_now(), ticket)) {
            apr_pool_cleanup_register(r->pool, held, goapi_shed_release,
                                      apr_pool_cleanup_null);
            return DECLINED;
        }
        return goapi_shed_refuse(r, dc, 1, apr_psprintf(r->pool, "GoapiMaxInFlight reached "
                                 "(%u at once) and partition %s past its %u places",
                                 apr_atomic_read32(&scope->limit),
                                 p < d->nparts ? d->parts[p].name : "(the rest)",
                                 goapi_shed_guaranteed(scope, p)));
    }
    /* a newcomer never overtakes a waiter */
    if ((!scope->conf.queue || !goapi_shed_queued(scope))
        && goapi_shed_enter(scope, apr_time_now(), ticket)) {
        apr_pool_cleanup_register(r->pool, held, goapi_shed_release,
                                  apr_pool_cleanup_null);
        return DECLINED;
    }
    if (scope->conf.queue && !dc->shed_dry_run) {
        const goapi_shed_decl *d = &APR_ARRAY_IDX(goapi_shed_decls, dc->shed_scope - 1,
                                                  goapi_shed_decl);
        const char *why = goapi_shed_wait(r, scope, d->queue_timeout, ticket);

        if (!why) {
            apr_pool_cleanup_register(r->pool, held, goapi_shed_release,
                                      apr_pool_cleanup_null);
            return DECLINED;
        }
        return goapi_shed_refuse(r, dc, 1, apr_psprintf(r->pool, "GoapiMaxInFlight%s "
                                 "reached, %u at once, %s", scope->conf.adaptive ? " auto"
                                 : "", apr_atomic_read32(&scope->limit), why));
    }
    return goapi_shed_refuse(r, dc, 1, apr_psprintf(r->pool, "GoapiMaxInFlight%s reached, "
                             "%u at once", scope->conf.adaptive ? " auto" : "",
                             apr_atomic_read32(&scope->limit)));
}

/* The answer of a shed request: 503, problem+json, Retry-After with
 * jitter, and the connection closed (its next request may go elsewhere). */
int goapi_shed_handler(request_rec *r)
{
    const goapi_dir_conf *dc;

    if (!r->handler || strcmp(r->handler, GOAPI_SHED_HANDLER) != 0) {
        return DECLINED;
    }
    dc = goapi_dconf(r);
    r->connection->keepalive = AP_CONN_CLOSE;
    return goapi_problem_send(r, GOAPI_PROBLEM_OVERLOADED, dc->shed_status,
                              goapi_shed_retry_after(dc->shed_retry_after,
                                                     (apr_uint32_t)apr_time_now()
                                                     * 2654435761u),
                              "Too many requests in flight",
                              goapi_req_of(r)->shed == 2
                              ? "this client has as many requests in flight here as it may "
                                "(GoapiMaxInFlightPer); nothing was done: retry after the "
                                "time given in Retry-After"
                              : "this resource is serving as many requests as it may "
                                "(GoapiMaxInFlight); nothing was done: retry after the time "
                                "given in Retry-After");
}
