/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_checklist.c — the production checklist.
 *
 * Once under "apachectl -t" and once per start or restart, the settings an
 * operator would want to hear about before production: deadlines left at
 * values that let a slow client hold a worker (goapi_limits_review), a
 * KeepAliveTimeout that disagrees with GoapiIdleTimeout and which one
 * won, a GracefulShutdownTimeout that GoapiShutdownTimeout replaces, a
 * readiness check whose timeout is not shorter than its interval.  Each
 * finding once, tagged, for the main server and for each virtual host
 * that differs from it.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"

#include <apr_strings.h>

#include "goapi_parse.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

/* The directive `name` of the main server (outside every <VirtualHost>),
 * or NULL: httpd does not record whether some settings were explicit. */
const ap_directive_t *goapi_main_directive(const ap_directive_t *d, const char *name)
{
    for (; d; d = d->next) {
        const ap_directive_t *found;

        if (ap_cstr_casecmp(d->directive, "<VirtualHost") == 0) {
            continue;
        }
        if (ap_cstr_casecmp(d->directive, name) == 0) {
            return d;
        }
        if (d->first_child && (found = goapi_main_directive(d->first_child, name))) {
            return found;
        }
    }
    return NULL;
}

/* Is this one directive "SetHandler goapi"? */
static int goapi_is_goapi_handler(const ap_directive_t *d)
{
    const char *a = d->args;
    apr_size_t n;

    if (ap_cstr_casecmp(d->directive, "SetHandler") != 0 || !a) {
        return 0;
    }
    n = strlen(a);
    if (n >= 2 && (a[0] == '"' || a[0] == '\'') && a[n - 1] == a[0]) {
        a++;
        n -= 2;
    }
    return n == strlen(GOAPI_HANDLER) && ap_cstr_casecmpn(a, GOAPI_HANDLER, n) == 0;
}

/* Does any directive of the list starting at d, or below them, match? */
static int goapi_any(const ap_directive_t *d, int (*match)(const ap_directive_t *))
{
    for (; d; d = d->next) {
        if (match(d) || (d->first_child && goapi_any(d->first_child, match))) {
            return 1;
        }
    }
    return 0;
}

static int goapi_is_vhost(const ap_directive_t *d)
{
    return ap_cstr_casecmp(d->directive, "<VirtualHost") == 0;
}

static server_rec *goapi_vhost_defined_at(server_rec *s, const ap_directive_t *d)
{
    for (; s; s = s->next) {
        if (s->is_virtual && s->defn_name && d->filename
            && s->defn_line_number == (unsigned)d->line_num
            && strcmp(s->defn_name, d->filename) == 0) {
            return s;
        }
    }
    return NULL;
}

/* Marks in serves[] (indexed like the server list) each server that answers
 * with SetHandler goapi: a <VirtualHost> for itself; any other section of
 * the main server for every server, since virtual hosts inherit it. */
static void goapi_find_goapi_servers(const ap_directive_t *d, server_rec *main_s,
                                     int *serves, int nservers)
{
    for (; d; d = d->next) {
        server_rec *s;
        int i;

        if (goapi_is_vhost(d)) {
            server_rec *v = goapi_vhost_defined_at(main_s, d);

            if (v && goapi_any(d->first_child, goapi_is_goapi_handler)) {
                for (s = main_s, i = 0; s && i < nservers; s = s->next, i++) {
                    serves[i] |= (s == v);
                }
            }
        }
        else if (d->first_child && goapi_any(d->first_child, goapi_is_vhost)) {
            /* a container holding virtual hosts (<IfDefine>, <IfModule>) */
            goapi_find_goapi_servers(d->first_child, main_s, serves, nservers);
        }
        else if (goapi_is_goapi_handler(d)
                 || (d->first_child && goapi_any(d->first_child, goapi_is_goapi_handler))) {
            for (i = 0; i < nservers; i++) {
                serves[i] = 1;
            }
        }
    }
}

static const char *goapi_checklist_name(apr_pool_t *p, const server_rec *s)
{
    if (!s->is_virtual) {
        return "main server";
    }
    return apr_psprintf(p, "virtual host %s (%s:%u)",
                        s->server_hostname ? s->server_hostname : "*",
                        s->defn_name ? s->defn_name : "?", s->defn_line_number);
}

static int goapi_has(const apr_array_header_t *a, const char *sentence)
{
    int i;

    for (i = 0; i < a->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(a, i, const char *), sentence) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The production checklist: each finding once, tagged, for the main server
 * and for each virtual host that differs from it.  level_flags is
 * APLOG_STARTUP under "apachectl -t" (straight to stderr). */
static void goapi_checklist(apr_pool_t *p, server_rec *main_s, int level_flags)
{
    server_rec *s;
    int n = 0, i;
    int *serves;
    apr_array_header_t *main_findings = NULL;
    const apr_array_header_t *ka = goapi_timeouts_ka_conflicts();
    char a[32], b[32];

    for (s = main_s; s; s = s->next) {
        n++;
    }
    serves = apr_pcalloc(p, n * sizeof(int));
    goapi_find_goapi_servers(ap_conftree, main_s, serves, n);

    for (s = main_s, i = 0; s; s = s->next, i++) {
        const goapi_server_conf *sc = goapi_sconf(s);
        apr_array_header_t *f = apr_array_make(p, 4, sizeof(const char *));
        int k;

        goapi_limits_review(p, &sc->limits, sc->limits_set, serves[i], f);
        if (!main_findings) {
            main_findings = f;
        }
        for (k = 0; k < f->nelts; k++) {
            const char *sentence = APR_ARRAY_IDX(f, k, const char *);

            if (s != main_s && goapi_has(main_findings, sentence)) {
                continue;
            }
            ap_log_error(APLOG_MARK, level_flags | APLOG_WARNING, 0, s,
                         GOAPI_LOGNO(00010) "checklist: %s %s",
                         goapi_checklist_name(p, s), sentence);
        }
    }
    {
        const goapi_server_conf *msc = goapi_sconf(main_s);
        const ap_directive_t *gst = goapi_main_directive(ap_conftree,
                                                         "GracefulShutdownTimeout");

        if (gst && msc->limits.shutdown > 0) {
            ap_log_error(APLOG_MARK, level_flags | APLOG_WARNING, 0, main_s,
                         GOAPI_LOGNO(00076) "checklist: main server sets "
                         "GracefulShutdownTimeout %ss; GoapiShutdownTimeout %s bounds "
                         "the stop instead", gst->args ? gst->args : "?",
                         goapi_format_duration(msc->limits.shutdown, a));
        }
        if (msc->checks->nelts && msc->check_timeout >= msc->check_interval) {
            ap_log_error(APLOG_MARK, level_flags | APLOG_WARNING, 0, main_s,
                         GOAPI_LOGNO(00077) "checklist: main server "
                         "GoapiReadyCheckTimeout %s is not shorter than "
                         "GoapiReadyCheckInterval %s: a slow round delays the next",
                         goapi_format_duration(msc->check_timeout, a),
                         goapi_format_duration(msc->check_interval, b));
        }
    }
    for (i = 0; ka && i < ka->nelts; i++) {
        const goapi_ka_conflict *k = &APR_ARRAY_IDX(ka, i, goapi_ka_conflict);

        ap_log_error(APLOG_MARK, level_flags | APLOG_WARNING, 0, k->s,
                     GOAPI_LOGNO(00011) "checklist: %s sets KeepAliveTimeout %s "
                     "and GoapiIdleTimeout %s; %s wins", goapi_checklist_name(p, k->s),
                     goapi_format_duration(k->keepalive, a),
                     goapi_format_duration(goapi_sconf(k->s)->limits.idle, b),
                     k->keepalive_wins ? "its own KeepAliveTimeout" : "GoapiIdleTimeout");
    }
}

void goapi_checklist_test_config(apr_pool_t *pconf, server_rec *s)
{
    goapi_checklist(pconf, s, APLOG_STARTUP);
}

int goapi_checklist_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf;
    (void)plog;
    /* Startup reads the configuration twice; report on the second (real)
     * pass only, and again after each restart. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_CONFIG) {
        goapi_checklist(ptemp, s, 0);
    }
    return OK;
}
