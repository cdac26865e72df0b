/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_config.c — the configuration records: made, merged, their
 * defaults applied once in goapi_config_check() (never on the request
 * path), and the checks of the whole configuration.  The directives that
 * fill them are in mod_goapi_directives.c.
 */
#include <stddef.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_core.h"

#include <apr_strings.h>

#include "goapi_fields.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

/* ---- the fields ----------------------------------------------------------
 *
 * Each field of the records is declared once, in the tables below
 * (goapi_fields.h): its kind (and so its unset value), its scope and its
 * default.  The few compound fields (the limits, GoapiProbeDetail's
 * networks, the readiness checks, the store timeout whose default depends
 * on the store) follow the tables by name. */

#define GOAPI_SRV(field, kind, scope, has, def, sdef) \
    { offsetof(goapi_server_conf, field), (kind), (scope), (has), (def), (sdef) }
#define GOAPI_DIR(field, kind, scope, has, def) \
    { offsetof(goapi_dir_conf, field), (kind), (scope), (has), (def), NULL }

/* goapi_server_conf: each field's comment in mod_goapi.h says its unit */
static const goapi_field goapi_server_fields[] = {
    GOAPI_SRV(request_id_header, GOAPI_FIELD_PTR, GOAPI_SCOPE_MERGED, 1, 0,
              GOAPI_DEFAULT_REQUEST_ID_HEADER),
    GOAPI_SRV(correlation_id_header, GOAPI_FIELD_PTR, GOAPI_SCOPE_MERGED, 1, 0,
              GOAPI_DEFAULT_CORRELATION_ID_HEADER),
    GOAPI_SRV(idempotency_key_header, GOAPI_FIELD_PTR, GOAPI_SCOPE_MERGED, 1, 0,
              GOAPI_DEFAULT_IDEMPOTENCY_KEY_HEADER),
    GOAPI_SRV(idempotency_key_strict, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 0, NULL),
    GOAPI_SRV(problem_type_base, GOAPI_FIELD_PTR, GOAPI_SCOPE_MERGED, 0, 0, NULL),
    GOAPI_SRV(max_id_length, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1,
              GOAPI_DEFAULT_MAX_ID_LENGTH, NULL),
    GOAPI_SRV(trust_incoming_ids, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 1, NULL),
    GOAPI_SRV(idle_own, GOAPI_FIELD_INT0, GOAPI_SCOPE_OWN, 0, 0, NULL),
    GOAPI_SRV(check_interval, GOAPI_FIELD_I64, GOAPI_SCOPE_MAIN, 1,
              GOAPI_DEFAULT_CHECK_INTERVAL, NULL),
    GOAPI_SRV(check_timeout, GOAPI_FIELD_I64, GOAPI_SCOPE_MAIN, 1,
              GOAPI_DEFAULT_CHECK_TIMEOUT, NULL),
    GOAPI_SRV(drain_file, GOAPI_FIELD_PTR, GOAPI_SCOPE_MERGED, 0, 0, NULL),
    GOAPI_SRV(idem_store, GOAPI_FIELD_PTR, GOAPI_SCOPE_MAIN, 0, 0, NULL),
    GOAPI_SRV(idem_store_size, GOAPI_FIELD_I64, GOAPI_SCOPE_MAIN, 0, 0, NULL),
    GOAPI_SRV(idem_redis, GOAPI_FIELD_PTR, GOAPI_SCOPE_MAIN, 0, 0, NULL),
    GOAPI_SRV(idem_dbd, GOAPI_FIELD_INT0, GOAPI_SCOPE_MAIN, 0, 0, NULL),
    GOAPI_SRV(idem_store_shown, GOAPI_FIELD_PTR, GOAPI_SCOPE_MAIN, 0, 0, NULL),
    /* its default depends on the store: goapi_config_check() */
    GOAPI_SRV(idem_store_timeout, GOAPI_FIELD_I64, GOAPI_SCOPE_MAIN, 0, 0, NULL),
    GOAPI_SRV(idem_store_prefix, GOAPI_FIELD_PTR, GOAPI_SCOPE_MAIN, 1, 0,
              GOAPI_DEFAULT_IDEM_STORE_PREFIX),
    GOAPI_SRV(idem_store_replicas, GOAPI_FIELD_INT, GOAPI_SCOPE_MAIN, 1,
              GOAPI_DEFAULT_IDEM_STORE_REPLICAS, NULL),
    GOAPI_SRV(idem_replay_cache, GOAPI_FIELD_I64, GOAPI_SCOPE_MAIN, 1,
              GOAPI_DEFAULT_IDEM_REPLAY_CACHE, NULL),
    GOAPI_SRV(idem_sweep, GOAPI_FIELD_I64, GOAPI_SCOPE_MAIN, 1,
              GOAPI_DEFAULT_IDEM_SWEEP, NULL),
    GOAPI_SRV(idem_damaged, GOAPI_FIELD_INT, GOAPI_SCOPE_MAIN, 1,
              GOAPI_DAMAGED_REFUSE, NULL),
    GOAPI_SRV(probes, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 0, NULL),
    GOAPI_SRV(probe_fast_path, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 1, NULL),
    GOAPI_SRV(metrics, GOAPI_FIELD_INT, GOAPI_SCOPE_MAIN, 1, 1, NULL),
    GOAPI_SRV(trust_incoming_trace, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 1, NULL),
    GOAPI_SRV(trace_sampled, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 1, NULL),
    GOAPI_SRV(trace_response, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 0, NULL),
    GOAPI_SRV(deadline_header, GOAPI_FIELD_PTR, GOAPI_SCOPE_MERGED, 1, 0,
              GOAPI_DEFAULT_DEADLINE_HEADER),
    GOAPI_SRV(trust_incoming_deadline, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 0, NULL),
    GOAPI_SRV(graceful_signals, GOAPI_FIELD_INT, GOAPI_SCOPE_MAIN, 1, 1, NULL),
    GOAPI_SRV(shutdown_delay, GOAPI_FIELD_I64, GOAPI_SCOPE_MAIN, 1, 0, NULL),
};

/* goapi_dir_conf */
static const goapi_field goapi_dir_fields[] = {
    GOAPI_DIR(forward_ids, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 1),
    GOAPI_DIR(idem, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 0),
    GOAPI_DIR(idem_required, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 0),
    GOAPI_DIR(idem_methods, GOAPI_FIELD_I64_0, GOAPI_SCOPE_MERGED, 1,
              (AP_METHOD_BIT << M_POST) | (AP_METHOD_BIT << M_PATCH)),
    GOAPI_DIR(idem_ttl, GOAPI_FIELD_I64, GOAPI_SCOPE_MERGED, 1, GOAPI_DEFAULT_IDEM_TTL),
    GOAPI_DIR(idem_lease, GOAPI_FIELD_I64, GOAPI_SCOPE_MERGED, 1, GOAPI_DEFAULT_IDEM_LEASE),
    GOAPI_DIR(idem_rerun, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 0),
    GOAPI_DIR(idem_max_body, GOAPI_FIELD_I64, GOAPI_SCOPE_MERGED, 1,
              GOAPI_DEFAULT_IDEM_MAX_BODY),
    GOAPI_DIR(idem_max_response, GOAPI_FIELD_I64, GOAPI_SCOPE_MERGED, 1,
              GOAPI_DEFAULT_IDEM_MAX_RESPONSE),
    /* "None" sets the flag and leaves the pointer NULL */
    GOAPI_DIR(idem_recovery_set, GOAPI_FIELD_INT0, GOAPI_SCOPE_MERGED, 0, 0),
    GOAPI_DIR(idem_recovery, GOAPI_FIELD_PTR, GOAPI_SCOPE_WITH_PREVIOUS, 0, 0),
    GOAPI_DIR(metrics_route, GOAPI_FIELD_INT0, GOAPI_SCOPE_MERGED, 0, 0),
    GOAPI_DIR(trace_context, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 1),
    /* a limit and its counter */
    GOAPI_DIR(max_in_flight, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 0, 0),
    GOAPI_DIR(shed_scope, GOAPI_FIELD_INT0, GOAPI_SCOPE_WITH_PREVIOUS, 0, 0),
    GOAPI_DIR(shed_retry_after, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 1),
    GOAPI_DIR(shed_per, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 0),
    GOAPI_DIR(shed_status, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 503),
    GOAPI_DIR(shed_dry_run, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 0),
};

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

    goapi_fields_unset(conf, goapi_server_fields, GOAPI_FIELDS(goapi_server_fields));
    goapi_limits_init(&conf->limits);
    goapi_allow_init(&conf->probe_detail);
    conf->checks = apr_array_make(p, 2, sizeof(goapi_ready_check));
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

    goapi_fields_merge(conf, base, add, goapi_server_fields,
                       GOAPI_FIELDS(goapi_server_fields));
    goapi_limits_merge(&conf->limits, &base->limits, &add->limits);
    conf->probe_detail = add->probe_detail.mode != GOAPI_ALLOW_UNSET ? add->probe_detail
                                                                     : base->probe_detail;
    conf->checks = base->checks;            /* main server only */
    return conf;
}

void *goapi_config_create_dir(apr_pool_t *p, char *dir)
{
    goapi_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    (void)dir;
    goapi_fields_unset(conf, goapi_dir_fields, GOAPI_FIELDS(goapi_dir_fields));
    return conf;
}

void *goapi_config_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    goapi_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    goapi_fields_merge(conf, basev, addv, goapi_dir_fields, GOAPI_FIELDS(goapi_dir_fields));
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

int goapi_config_check(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s)
{
    (void)plog;
    for (; s; s = s->next) {
        goapi_server_conf *c = goapi_sconf(s);
        goapi_dir_conf *dc;

        goapi_fields_resolve(c, goapi_server_fields, GOAPI_FIELDS(goapi_server_fields));
        if (c->problem_type_base && !*c->problem_type_base) {
            c->problem_type_base = NULL;        /* "": none, URNs */
        }
        if (c->probe_detail.mode == GOAPI_ALLOW_UNSET) {
            static const char *const local[] = { GOAPI_DEFAULT_PROBE_DETAIL };

            goapi_allow_parse(pconf, local, 1, &c->probe_detail);
        }
        if (c->idem_store_timeout < 0) {
            c->idem_store_timeout = c->idem_dbd ? GOAPI_DEFAULT_IDEM_DBD_TIMEOUT
                                                : GOAPI_DEFAULT_IDEM_STORE_TIMEOUT;
        }
        c->limits_set = goapi_limits_resolve(&c->limits);
        if (!goapi_config_check_distinct(ptemp, s, c)) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        /* every server has its own, even one sharing another's record */
        dc = ap_get_module_config(s->lookup_defaults, &goapi_module);
        if (dc) {
            goapi_fields_resolve(dc, goapi_dir_fields, GOAPI_FIELDS(goapi_dir_fields));
        }
    }
    return OK;
}
