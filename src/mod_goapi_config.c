/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_config.c — the configuration records: made, merged, their
 * defaults applied once in goapi_config_check() (never on the request
 * path), and the checks of the whole configuration.  The directives that
 * fill them are in mod_goapi_directives.c.
 */
#include <stddef.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_core.h"

#include <apr_strings.h>

#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

/* Child value when set, else the parent's. */
#define GOAPI_MERGE(field, unset) \
    conf->field = (add->field != (unset)) ? add->field : base->field

/* Some directory says GoapiIdempotency On: the ledger is needed. */
static int goapi_idem_used;

int goapi_config_idempotency_used(void)
{
    return goapi_idem_used;
}

void goapi_config_idempotency_on(void)
{
    goapi_idem_used = 1;
}

void *goapi_config_create_server(apr_pool_t *p, server_rec *s)
{
    goapi_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    (void)s;
    conf->max_id_length = -1;
    conf->idempotency_key_strict = -1;
    conf->trust_incoming_ids = -1;
    goapi_limits_init(&conf->limits);
    conf->checks = apr_array_make(p, 2, sizeof(goapi_ready_check));
    conf->check_interval = -1;
    conf->check_timeout = -1;
    conf->idem_store_size = -1;
    conf->idem_store_timeout = -1;
    conf->idem_store_replicas = -1;
    conf->idem_replay_cache = -1;
    conf->idem_sweep = -1;
    conf->idem_damaged = -1;
    conf->probes = -1;
    conf->probe_fast_path = -1;
    goapi_allow_init(&conf->probe_detail);
    conf->metrics = -1;
    conf->trust_incoming_trace = -1;
    conf->trace_sampled = -1;
    conf->trace_response = -1;
    conf->trust_incoming_deadline = -1;
    conf->graceful_signals = -1;
    conf->shutdown_delay = -1;
    if (!s->is_virtual) {
        /* the main server's record is made first in each reading of the
         * configuration */
        goapi_idem_used = 0;
    }
    return conf;
}

void *goapi_config_merge_server(apr_pool_t *p, void *basev, void *addv)
{
    goapi_server_conf *base = basev, *add = addv;
    goapi_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    GOAPI_MERGE(request_id_header, NULL);
    GOAPI_MERGE(correlation_id_header, NULL);
    GOAPI_MERGE(idempotency_key_header, NULL);
    GOAPI_MERGE(idempotency_key_strict, -1);
    GOAPI_MERGE(problem_type_base, NULL);
    GOAPI_MERGE(max_id_length, -1);
    GOAPI_MERGE(trust_incoming_ids, -1);
    GOAPI_MERGE(probes, -1);
    GOAPI_MERGE(probe_fast_path, -1);
    conf->probe_detail = add->probe_detail.mode != GOAPI_ALLOW_UNSET ? add->probe_detail
                                                                     : base->probe_detail;
    GOAPI_MERGE(trust_incoming_trace, -1);
    GOAPI_MERGE(trace_sampled, -1);
    GOAPI_MERGE(trace_response, -1);
    GOAPI_MERGE(deadline_header, NULL);
    GOAPI_MERGE(trust_incoming_deadline, -1);
    goapi_limits_merge(&conf->limits, &base->limits, &add->limits);
    conf->idle_own = add->idle_own;
    conf->checks = base->checks;            /* main server only */
    conf->check_interval = base->check_interval;
    conf->check_timeout = base->check_timeout;
    GOAPI_MERGE(drain_file, NULL);
    conf->idem_store = base->idem_store;    /* main server only */
    conf->idem_store_size = base->idem_store_size;
    conf->idem_redis = base->idem_redis;
    conf->idem_dbd = base->idem_dbd;
    conf->idem_store_shown = base->idem_store_shown;
    conf->idem_store_timeout = base->idem_store_timeout;
    conf->idem_store_prefix = base->idem_store_prefix;
    conf->idem_store_replicas = base->idem_store_replicas;
    conf->idem_replay_cache = base->idem_replay_cache;
    conf->idem_sweep = base->idem_sweep;
    conf->idem_damaged = base->idem_damaged;
    conf->metrics = base->metrics;          /* main server only */
    conf->graceful_signals = base->graceful_signals;
    conf->shutdown_delay = base->shutdown_delay;    /* main server only */
    return conf;
}

void *goapi_config_create_dir(apr_pool_t *p, char *dir)
{
    goapi_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    (void)dir;
    conf->forward_ids = -1;
    conf->idem = -1;
    conf->idem_required = -1;
    conf->idem_ttl = -1;
    conf->idem_lease = -1;
    conf->idem_rerun = -1;
    conf->idem_max_body = -1;
    conf->idem_max_response = -1;
    conf->trace_context = -1;
    conf->max_in_flight = -1;
    conf->shed_retry_after = -1;
    conf->shed_per = -1;
    conf->shed_status = -1;
    conf->shed_dry_run = -1;
    return conf;
}

void *goapi_config_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    goapi_dir_conf *base = basev, *add = addv;
    goapi_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    GOAPI_MERGE(forward_ids, -1);
    GOAPI_MERGE(idem, -1);
    GOAPI_MERGE(idem_required, -1);
    GOAPI_MERGE(idem_methods, 0);
    GOAPI_MERGE(idem_ttl, -1);
    GOAPI_MERGE(idem_lease, -1);
    GOAPI_MERGE(idem_rerun, -1);
    GOAPI_MERGE(idem_max_body, -1);
    GOAPI_MERGE(idem_max_response, -1);
    if (add->idem_recovery_set) {
        conf->idem_recovery = add->idem_recovery;
        conf->idem_recovery_set = 1;
    }
    else {
        conf->idem_recovery = base->idem_recovery;
        conf->idem_recovery_set = base->idem_recovery_set;
    }
    GOAPI_MERGE(metrics_route, 0);
    GOAPI_MERGE(trace_context, -1);
    /* a limit and its counter go together */
    if (add->max_in_flight != -1) {
        conf->max_in_flight = add->max_in_flight;
        conf->shed_scope = add->shed_scope;
    }
    else {
        conf->max_in_flight = base->max_in_flight;
        conf->shed_scope = base->shed_scope;
    }
    GOAPI_MERGE(shed_retry_after, -1);
    GOAPI_MERGE(shed_per, -1);
    GOAPI_MERGE(shed_status, -1);
    GOAPI_MERGE(shed_dry_run, -1);
    return conf;
}

/* Two of the three ID roles in one header would make one value overwrite
 * the other; refuse it, naming both directives. */
static int goapi_config_check_distinct(apr_pool_t *ptemp, server_rec *s,
                                       const goapi_server_conf *c)
{
    const struct {
        const char *directive;
        const char *value;
    } h[] = {
        { "GoapiRequestIDHeader", c->request_id_header },
        { "GoapiCorrelationIDHeader", c->correlation_id_header },
        { "GoapiIdempotencyKeyHeader", c->idempotency_key_header },
    };
    int i, j;

    for (i = 0; i < 3; i++) {
        for (j = i + 1; j < 3; j++) {
            if (ap_cstr_casecmp(h[i].value, h[j].value) == 0) {
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                             GOAPI_LOGNO(00001) "%s and %s both name the header "
                             "'%s' in %s; each needs its own header",
                             h[i].directive, h[j].directive, h[i].value,
                             goapi_server_name(ptemp, s));
                return 0;
            }
        }
    }
    return 1;
}

/* The defaults of the directory fields whose unset value is negative; an
 * int field, or a 64-bit one (apr_int64_t, apr_interval_time_t). */
#define GOAPI_DIR_INT(field, def) { offsetof(goapi_dir_conf, field), 0, (def) }
#define GOAPI_DIR_I64(field, def) { offsetof(goapi_dir_conf, field), 1, (def) }

static const struct {
    apr_size_t offset;
    int wide;
    apr_int64_t def;
} goapi_dir_defaults[] = {
    GOAPI_DIR_INT(forward_ids, 1),
    GOAPI_DIR_INT(idem, 0),
    GOAPI_DIR_INT(idem_required, 0),
    GOAPI_DIR_I64(idem_ttl, GOAPI_DEFAULT_IDEM_TTL),
    GOAPI_DIR_I64(idem_lease, GOAPI_DEFAULT_IDEM_LEASE),
    GOAPI_DIR_INT(idem_rerun, 0),
    GOAPI_DIR_I64(idem_max_body, GOAPI_DEFAULT_IDEM_MAX_BODY),
    GOAPI_DIR_I64(idem_max_response, GOAPI_DEFAULT_IDEM_MAX_RESPONSE),
    GOAPI_DIR_INT(trace_context, 1),
    GOAPI_DIR_INT(shed_retry_after, 1),
    GOAPI_DIR_INT(shed_per, 0),
    GOAPI_DIR_INT(shed_status, 503),
    GOAPI_DIR_INT(shed_dry_run, 0),
};

/* A server's directory defaults (its lookup_defaults, the root every
 * request's directory record is merged from): fields left unset get their
 * defaults here, once, so that every merged record is complete and a
 * request reads plain fields (as nginx's ngx_conf_merge_*_value()). */
static void goapi_config_resolve_dir(goapi_dir_conf *dc)
{
    apr_size_t i;

    if (!dc) {
        return;
    }
    for (i = 0; i < sizeof(goapi_dir_defaults) / sizeof(goapi_dir_defaults[0]); i++) {
        char *field = (char *)dc + goapi_dir_defaults[i].offset;

        if (goapi_dir_defaults[i].wide && *(apr_int64_t *)(void *)field < 0) {
            *(apr_int64_t *)(void *)field = goapi_dir_defaults[i].def;
        }
        else if (!goapi_dir_defaults[i].wide && *(int *)(void *)field < 0) {
            *(int *)(void *)field = (int)goapi_dir_defaults[i].def;
        }
    }
    if (!dc->idem_methods) {
        dc->idem_methods = (AP_METHOD_BIT << M_POST) | (AP_METHOD_BIT << M_PATCH);
    }
}

int goapi_config_check(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s)
{
    (void)plog;
    for (; s; s = s->next) {
        goapi_server_conf *c = goapi_sconf(s);

        if (!c->request_id_header)
            c->request_id_header = GOAPI_DEFAULT_REQUEST_ID_HEADER;
        if (!c->correlation_id_header)
            c->correlation_id_header = GOAPI_DEFAULT_CORRELATION_ID_HEADER;
        if (!c->idempotency_key_header)
            c->idempotency_key_header = GOAPI_DEFAULT_IDEMPOTENCY_KEY_HEADER;
        if (c->idempotency_key_strict < 0)
            c->idempotency_key_strict = 0;
        if (c->problem_type_base && !*c->problem_type_base)
            c->problem_type_base = NULL;
        if (c->max_id_length < 0)
            c->max_id_length = GOAPI_DEFAULT_MAX_ID_LENGTH;
        if (c->trust_incoming_ids < 0)
            c->trust_incoming_ids = 1;
        if (c->probes < 0)
            c->probes = 0;
        if (c->probe_fast_path < 0)
            c->probe_fast_path = 1;
        if (c->probe_detail.mode == GOAPI_ALLOW_UNSET) {
            static const char *const local[] = { GOAPI_DEFAULT_PROBE_DETAIL };

            goapi_allow_parse(pconf, local, 1, &c->probe_detail);
        }
        if (c->metrics < 0)
            c->metrics = 1;
        if (c->trust_incoming_trace < 0)
            c->trust_incoming_trace = 1;
        if (c->trace_sampled < 0)
            c->trace_sampled = 1;
        if (c->trace_response < 0)
            c->trace_response = 0;
        if (!c->deadline_header)
            c->deadline_header = GOAPI_DEFAULT_DEADLINE_HEADER;
        if (c->trust_incoming_deadline < 0)
            c->trust_incoming_deadline = 0;
        if (c->graceful_signals < 0)
            c->graceful_signals = 1;
        if (c->shutdown_delay < 0)
            c->shutdown_delay = 0;
        c->limits_set = goapi_limits_resolve(&c->limits);
        if (c->check_interval < 0)
            c->check_interval = GOAPI_DEFAULT_CHECK_INTERVAL;
        if (c->check_timeout < 0)
            c->check_timeout = GOAPI_DEFAULT_CHECK_TIMEOUT;
        if (c->idem_sweep < 0)
            c->idem_sweep = GOAPI_DEFAULT_IDEM_SWEEP;
        if (c->idem_damaged < 0)
            c->idem_damaged = GOAPI_DAMAGED_REFUSE;
        if (c->idem_store_timeout < 0)
            c->idem_store_timeout = c->idem_dbd ? GOAPI_DEFAULT_IDEM_DBD_TIMEOUT
                                                : GOAPI_DEFAULT_IDEM_STORE_TIMEOUT;
        if (!c->idem_store_prefix)
            c->idem_store_prefix = GOAPI_DEFAULT_IDEM_STORE_PREFIX;
        if (c->idem_store_replicas < 0)
            c->idem_store_replicas = GOAPI_DEFAULT_IDEM_STORE_REPLICAS;
        if (c->idem_replay_cache < 0)
            c->idem_replay_cache = GOAPI_DEFAULT_IDEM_REPLAY_CACHE;
        if (!goapi_config_check_distinct(ptemp, s, c)) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        /* every server has its own, even one sharing another's record */
        goapi_config_resolve_dir(ap_get_module_config(s->lookup_defaults, &goapi_module));
    }
    return OK;
}
