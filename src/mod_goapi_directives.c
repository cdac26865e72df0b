/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_directives.c — the callbacks of the directives that only set a
 * field of a configuration record (a directive that needs a concern's own
 * state has its callback in that concern's file), the refusals they make
 * (one form per kind of value, and never repeating a value that may hold
 * a password), and the report of a directive given twice.  Values are
 * parsed by src/goapi_parse.c.
 */
#include <stdarg.h>
#include <stddef.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_core.h"

#include <apr_hash.h>
#include <apr_strings.h>

#include "goapi_parse.h"
#include "goapi_redact.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

/* ---- a directive given twice ---------------------------------------------
 *
 * httpd's rule for a directive that takes one value per server is that the
 * last one wins.  In a configuration spread over several files (Debian's
 * mods-enabled, conf-enabled, sites-enabled) a second line easily goes
 * unseen, so "apachectl -t" reports a server-scope Goapi directive given
 * again with another value, naming both places.  A start says nothing:
 * overriding the module's shipped file from a site's own is legitimate.
 */

#define GOAPI_SEEN_KEY    "goapi_directives_seen"
#define GOAPI_REPEATS_KEY "goapi_directives_repeated"

typedef struct {
    const char *value;
    const char *where;                  /* file:line */
} goapi_seen_directive;

static const char *goapi_cmd_where(const cmd_parms *cmd)
{
    return cmd->directive ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                                         cmd->directive->line_num) : "?";
}

const char *goapi_server_name(apr_pool_t *p, const server_rec *s)
{
    return s->is_virtual && s->defn_name
           ? apr_psprintf(p, "the virtual host %s defined at %s:%u",
                          s->server_hostname ? s->server_hostname : "", s->defn_name,
                          s->defn_line_number)
           : "the main server";
}

/* Note the value of this server-scope directive; a different one given
 * before in the same server is remembered for the report. */
static void goapi_cmd_note(cmd_parms *cmd, const char *value)
{
    apr_hash_t *seen = NULL;
    apr_array_header_t *repeats = NULL;
    goapi_seen_directive *prev, *now;
    const char *key;

    apr_pool_userdata_get((void **)&seen, GOAPI_SEEN_KEY, cmd->pool);
    if (!seen) {
        seen = apr_hash_make(cmd->pool);
        apr_pool_userdata_setn(seen, GOAPI_SEEN_KEY, NULL, cmd->pool);
    }
    key = apr_psprintf(cmd->pool, "%pp %s", (void *)cmd->server, cmd->cmd->name);
    prev = apr_hash_get(seen, key, APR_HASH_KEY_STRING);
    now = apr_palloc(cmd->pool, sizeof(*now));
    now->value = value;
    now->where = goapi_cmd_where(cmd);
    if (prev && strcmp(prev->value, value) != 0) {
        apr_pool_userdata_get((void **)&repeats, GOAPI_REPEATS_KEY, cmd->pool);
        if (!repeats) {
            repeats = apr_array_make(cmd->pool, 2, sizeof(const char *));
            apr_pool_userdata_setn(repeats, GOAPI_REPEATS_KEY, NULL, cmd->pool);
        }
        APR_ARRAY_PUSH(repeats, const char *) =
            apr_psprintf(cmd->pool, "%s is given twice for %s: '%s' at %s, then '%s' at "
                         "%s; the last one applies", cmd->cmd->name,
                         goapi_server_name(cmd->pool, cmd->server), prev->value,
                         prev->where, value, now->where);
    }
    apr_hash_set(seen, key, APR_HASH_KEY_STRING, now);
}

/* Log what goapi_cmd_note() found in this reading of the configuration. */
static void goapi_config_report_repeats(apr_pool_t *pconf, server_rec *s, int flags)
{
    apr_array_header_t *repeats = NULL;
    int i;

    apr_pool_userdata_get((void **)&repeats, GOAPI_REPEATS_KEY, pconf);
    for (i = 0; repeats && i < repeats->nelts; i++) {
        ap_log_error(APLOG_MARK, flags | APLOG_WARNING, 0, s, GOAPI_LOGNO(00063) "%s",
                     APR_ARRAY_IDX(repeats, i, const char *));
    }
}

void goapi_config_test_config(apr_pool_t *pconf, server_rec *s)
{
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_INFO, 0, s, GOAPI_LOGNO(00083)
                 "mod_goapi/%s for %s", GOAPI_VERSION, ap_get_server_description());
    goapi_config_report_repeats(pconf, s, APLOG_STARTUP);
}

/* "mod_goapi/<version>" in httpd's description of itself: the notice line
 * at every start ("... configured -- resuming normal operations") and,
 * as ServerTokens allows, the Server header. */
int goapi_config_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                             server_rec *s)
{
    (void)plog;
    (void)ptemp;
    (void)s;
    ap_add_version_component(pconf, "mod_goapi/" GOAPI_VERSION);
    return OK;
}

/* The server's record, for a directive of server scope whose value (as
 * text) is noted for the report of repeats. */
static goapi_server_conf *goapi_cmd_sconf_noted(cmd_parms *cmd, const char *value)
{
    goapi_cmd_note(cmd, value);
    return goapi_sconf(cmd->server);
}

/* mod_goapi.h */
const char *goapi_cmd_refuse(cmd_parms *cmd, const char *part, const char *value,
                             const char *why, const char *form, ...)
{
    const char *expected = NULL;

    if (form) {
        va_list ap;

        va_start(ap, form);
        expected = apr_pvsprintf(cmd->temp_pool, form, ap);
        va_end(ap);
    }
    return apr_pstrcat(cmd->pool, cmd->cmd->name, part ? " " : "", part ? part : "",
                       ": '", value, "' is not valid", why ? ": " : "", why ? why : "",
                       expected ? (why ? "; expected " : ": expected ") : "",
                       expected ? expected : "", NULL);
}

/* "GoapiX: not a valid <what>: <why> (... not repeated here ...)": the
 * refusal of a value that may hold a password, which it never repeats. */
static const char *goapi_cmd_secret_error(cmd_parms *cmd, const char *what, const char *why)
{
    return apr_psprintf(cmd->pool, "%s: not a valid %s: %s (the value is not repeated "
                        "here: it may hold a password)", cmd->cmd->name, what, why);
}

/* GoapiRequestIDHeader, GoapiCorrelationIDHeader, GoapiIdempotencyKeyHeader:
 * cmd->info is the offset of the field in goapi_server_conf. */
const char *goapi_cmd_header_name(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = goapi_parse_header_name(arg);

    (void)dconf;
    if (err) {
        return goapi_cmd_refuse(cmd, NULL, arg, err, NULL);
    }
    *(const char **)((char *)goapi_cmd_sconf_noted(cmd, arg) + (apr_size_t)cmd->info) = arg;
    return NULL;
}

const char *goapi_cmd_max_id_length(cmd_parms *cmd, void *dconf, const char *arg)
{
    apr_int64_t v;
    const char *err = goapi_parse_int_range(arg, GOAPI_MIN_MAX_ID_LENGTH,
                                            GOAPI_MAX_MAX_ID_LENGTH, &v);

    (void)dconf;
    if (err) {
        return goapi_cmd_refuse(cmd, NULL, arg, err, "a number of characters from %d to %d",
                                GOAPI_MIN_MAX_ID_LENGTH, GOAPI_MAX_MAX_ID_LENGTH);
    }
    goapi_cmd_sconf_noted(cmd, arg)->max_id_length = (int)v;
    return NULL;
}

const char *goapi_cmd_trust_incoming_ids(cmd_parms *cmd, void *dconf, int flag)
{
    (void)dconf;
    goapi_cmd_sconf_noted(cmd, flag ? "On" : "Off")->trust_incoming_ids = flag;
    return NULL;
}

const char *goapi_cmd_probe_fast_path(cmd_parms *cmd, void *dconf, int flag)
{
    (void)dconf;
    goapi_cmd_sconf_noted(cmd, flag ? "On" : "Off")->probe_fast_path = flag;
    return NULL;
}

/* GoapiProbeDetail local | all | off | <network>... */
const char *goapi_cmd_probe_detail(cmd_parms *cmd, void *dconf, const char *args)
{
    apr_array_header_t *words = apr_array_make(cmd->temp_pool, 4, sizeof(const char *));
    const char *rest = args, *err;
    goapi_allow allow;

    (void)dconf;
    while (*rest) {
        const char *w = ap_getword_conf(cmd->temp_pool, &rest);

        if (*w) {
            APR_ARRAY_PUSH(words, const char *) = w;
        }
    }
    err = goapi_allow_parse(cmd->pool, (const char *const *)(void *)words->elts,
                            words->nelts, &allow);
    if (err) {
        return goapi_cmd_refuse(cmd, NULL, args, err, NULL);
    }
    goapi_cmd_sconf_noted(cmd, allow.shown)->probe_detail = allow;
    return NULL;
}

/* A flag of the main server only: cmd->info is the offset of its field. */
const char *goapi_cmd_global_flag(cmd_parms *cmd, void *dconf, int flag)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    return goapi_cmd_server_flag(cmd, dconf, flag);
}

/* A flag of the server record: cmd->info is the offset of its int field. */
const char *goapi_cmd_server_flag(cmd_parms *cmd, void *dconf, int flag)
{
    (void)dconf;
    *(int *)((char *)goapi_cmd_sconf_noted(cmd, flag ? "On" : "Off")
             + (apr_size_t)cmd->info) = flag;
    return NULL;
}

/* GoapiIdempotencyRecovery http://host:port/path | None (directory) */
const char *goapi_cmd_idem_recovery(cmd_parms *cmd, void *dconf, const char *arg)
{
    goapi_dir_conf *dc = dconf;
    goapi_check_url *u;
    const char *err;

    dc->idem_recovery_set = 1;
    if (!ap_cstr_casecmp(arg, "None")) {
        dc->idem_recovery = NULL;
        return NULL;
    }
    u = apr_pcalloc(cmd->pool, sizeof(*u));
    err = strncmp(arg, "http://", 7) != 0 ? "not http://"
                                           : goapi_check_url_parse(cmd->pool, arg, u);
    if (err) {
        const char *scheme = goapi_redact_scheme(cmd->pool, arg);

        return goapi_cmd_secret_error(cmd, apr_psprintf(cmd->pool, "recovery URL%s",
                                      scheme ? apr_psprintf(cmd->pool, " (scheme '%s')",
                                                            scheme) : ""),
                                      apr_psprintf(cmd->pool, "%s; expected "
                                      "http://host:port/path (the backend answers GET "
                                      "with the Idempotency-Key there), or None", err));
    }
    dc->idem_recovery = u;
    return NULL;
}

/* GoapiIdempotencyKeySyntax Strict|Lenient */
const char *goapi_cmd_idem_key_syntax(cmd_parms *cmd, void *dconf, const char *arg)
{
    int strict;

    (void)dconf;
    if (!ap_cstr_casecmp(arg, "Strict")) {
        strict = 1;
    }
    else if (!ap_cstr_casecmp(arg, "Lenient")) {
        strict = 0;
    }
    else {
        return goapi_cmd_refuse(cmd, NULL, arg, NULL, "Strict (the key as a Structured Field "
                                "string only: \"...\") or Lenient (also a bare key)");
    }
    goapi_cmd_sconf_noted(cmd, strict ? "Strict" : "Lenient")->idempotency_key_strict =
        strict;
    return NULL;
}

/* GoapiProblemTypeBase <absolute http(s) URL> | None: where each problem
 * type's page is; it goes into a JSON string and a Link header, so it
 * holds visible ASCII only, without '<', '>', '"' or '\'. */
const char *goapi_cmd_problem_type_base(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *q;

    (void)dconf;
    if (!ap_cstr_casecmp(arg, "None")) {
        goapi_cmd_sconf_noted(cmd, "None")->problem_type_base = "";
        return NULL;
    }
    if (ap_cstr_casecmpn(arg, "https://", 8) != 0 && ap_cstr_casecmpn(arg, "http://", 7) != 0) {
        return goapi_cmd_refuse(cmd, NULL, arg, NULL, "an absolute http:// or https:// URL "
                                "that the name of each problem follows, e.g. "
                                "https://errors.example.com/goapi/, or None");
    }
    for (q = arg; *q; q++) {
        if (*q <= 0x20 || *q >= 0x7f || strchr("<>\"\\{}|^`", *q)) {
            return goapi_cmd_refuse(cmd, NULL, arg,
                                    apr_psprintf(cmd->temp_pool, "a URL holds no '%c' (write "
                                                 "it percent-encoded)",
                                                 *q > 0x20 && *q < 0x7f ? *q : '?'), NULL);
        }
    }
    if (!strchr(strchr(arg, ':') + 3, '/')) {
        return goapi_cmd_refuse(cmd, NULL, arg, NULL, "a path after the host, such as "
                                "https://errors.example.com/goapi/ (the problem's name "
                                "follows it)");
    }
    goapi_cmd_sconf_noted(cmd, arg)->problem_type_base = arg;
    return NULL;
}

/* GoapiShedRetryAfter seconds */
const char *goapi_cmd_shed_retry_after(cmd_parms *cmd, void *dconf, const char *arg)
{
    apr_int64_t v;
    const char *err = goapi_parse_int_range(arg, 1, 3600, &v);

    if (err) {
        return goapi_cmd_refuse(cmd, NULL, arg, err, "whole seconds from 1 to 3600");
    }
    ((goapi_dir_conf *)dconf)->shed_retry_after = (int)v;
    return NULL;
}

/* GoapiDeadlineHeader name|Off */
const char *goapi_cmd_deadline_header(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    if (strcasecmp(arg, "Off") == 0) {
        goapi_cmd_sconf_noted(cmd, "Off")->deadline_header = "";
        return NULL;
    }
    return goapi_cmd_header_name(cmd, dconf, arg);
}

/* ---- durations ----------------------------------------------------------
 * Every directive that takes one duration: its record, field and range are
 * the command's data (cmd->info, a goapi_duration_cmd), so that one
 * callback parses, checks and stores them all. */

#define GOAPI_SERVER_DURATION(field, flags, max, max_text, form) \
    { offsetof(goapi_server_conf, field), (flags), (max), (max_text), (form) }
#define GOAPI_DIR_DURATION(field, flags, form) \
    { offsetof(goapi_dir_conf, field), GOAPI_DUR_DIR | (flags), 0, NULL, (form) }
#define GOAPI_CHECK_FORM "a duration such as 500ms, 5s or 1m, from 1ms to 24h"

const goapi_duration_cmd goapi_dur_read =
    GOAPI_SERVER_DURATION(limits.read, 0, 0, NULL, GOAPI_DURATION_FORM);
const goapi_duration_cmd goapi_dur_read_header =
    GOAPI_SERVER_DURATION(limits.read_header, 0, 0, NULL, GOAPI_DURATION_FORM);
const goapi_duration_cmd goapi_dur_write =
    GOAPI_SERVER_DURATION(limits.write, 0, 0, NULL, GOAPI_DURATION_FORM);
const goapi_duration_cmd goapi_dur_idle =
    GOAPI_SERVER_DURATION(limits.idle, 0, 0, NULL, GOAPI_DURATION_FORM);
/* one window for the whole server: each child keeps one clock */
const goapi_duration_cmd goapi_dur_shutdown =
    GOAPI_SERVER_DURATION(limits.shutdown, GOAPI_DUR_NOT_IN_VHOST, 0, NULL,
                          GOAPI_DURATION_FORM);
const goapi_duration_cmd goapi_dur_shutdown_delay =
    GOAPI_SERVER_DURATION(shutdown_delay, GOAPI_DUR_MAIN, 0, NULL,
                          "a duration such as 5s or 10s, 0 for none");
const goapi_duration_cmd goapi_dur_check_interval =
    GOAPI_SERVER_DURATION(check_interval, GOAPI_DUR_MAIN | GOAPI_DUR_NOT_ZERO, 0, NULL,
                          GOAPI_CHECK_FORM);
const goapi_duration_cmd goapi_dur_check_timeout =
    GOAPI_SERVER_DURATION(check_timeout, GOAPI_DUR_MAIN | GOAPI_DUR_NOT_ZERO, 0, NULL,
                          GOAPI_CHECK_FORM);
const goapi_duration_cmd goapi_dur_idem_sweep =
    GOAPI_SERVER_DURATION(idem_sweep, GOAPI_DUR_MAIN | GOAPI_DUR_NOT_ZERO, 0, NULL,
                          GOAPI_CHECK_FORM);
const goapi_duration_cmd goapi_dur_idem_store_timeout =
    GOAPI_SERVER_DURATION(idem_store_timeout, GOAPI_DUR_MAIN | GOAPI_DUR_NOT_ZERO,
                          60 * APR_USEC_PER_SEC, "a minute",
                          "a duration such as 250ms or 1s, from 1ms to 1m");
/* a ledger that forgets at once is none */
const goapi_duration_cmd goapi_dur_idem_ttl =
    GOAPI_DIR_DURATION(idem_ttl, GOAPI_DUR_NOT_ZERO,
                       "a duration such as 30s, 60s, 1h or 24h, from 1ms to 24h");
const goapi_duration_cmd goapi_dur_idem_lease =
    GOAPI_DIR_DURATION(idem_lease, GOAPI_DUR_NOT_ZERO,
                       "a duration such as 30s, 60s, 1h or 24h, from 1ms to 24h");

const char *goapi_cmd_duration(cmd_parms *cmd, void *dconf, const char *arg)
{
    const goapi_duration_cmd *dur = cmd->info;
    apr_interval_time_t d;
    const char *err = NULL;
    char *rec;

    if ((dur->flags & GOAPI_DUR_MAIN) && (err = ap_check_cmd_context(cmd, GLOBAL_ONLY))) {
        return err;
    }
    if ((dur->flags & GOAPI_DUR_NOT_IN_VHOST)
        && (err = ap_check_cmd_context(cmd, NOT_IN_VIRTUALHOST))) {
        return apr_pstrcat(cmd->pool, err, ": the shutdown window is the whole "
                           "server's, set it in the main server", NULL);
    }
    err = goapi_parse_duration(arg, &d);
    if (!err && d == 0 && (dur->flags & GOAPI_DUR_NOT_ZERO)) {
        err = "0 is not allowed here";
    }
    if (!err && dur->max && d > dur->max) {
        err = apr_pstrcat(cmd->pool, "more than ", dur->max_text, " is not allowed here",
                          NULL);
    }
    if (err) {
        return goapi_cmd_refuse(cmd, NULL, arg, err, "%s", dur->form);
    }
    rec = (dur->flags & GOAPI_DUR_DIR) ? (char *)dconf
                                       : (char *)goapi_cmd_sconf_noted(cmd, arg);
    *(apr_interval_time_t *)(rec + dur->offset) = d;
    if (dur == &goapi_dur_idle) {
        goapi_sconf(cmd->server)->idle_own = 1;
    }
    return NULL;
}

const char *goapi_cmd_max_header_bytes(cmd_parms *cmd, void *dconf, const char *arg)
{
    apr_int64_t v;
    const char *err = goapi_parse_size(arg, GOAPI_MIN_MAX_HEADER_BYTES,
                                       GOAPI_MAX_MAX_HEADER_BYTES, &v);

    (void)dconf;
    if (err) {
        return goapi_cmd_refuse(cmd, NULL, arg, err, "a size from 1K to 64M, such as 8K or 1M");
    }
    goapi_cmd_sconf_noted(cmd, arg)->limits.max_header_bytes = v;
    return NULL;
}

/* GoapiReadyCheck name url: one runner serves the whole server, so checks
 * belong to the main server. */
const char *goapi_cmd_ready_check(cmd_parms *cmd, void *dconf, const char *name,
                                  const char *url)
{
    goapi_server_conf *sc = goapi_sconf(cmd->server);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    goapi_ready_check *c;
    int i;

    (void)dconf;
    if (err) {
        return err;
    }
    if ((err = goapi_check_name_parse(name))) {
        /* a name in the URL's place may be a URL with a password */
        return goapi_cmd_secret_error(cmd, "check name", apr_pstrcat(
            cmd->pool, err, strpbrk(name, ":@/") ? "; the name comes first, then the URL"
                                                 : "", NULL));
    }
    if (!strcmp(name, GOAPI_STORE_CHECK_NAME)) {
        return goapi_cmd_refuse(cmd, NULL, name, "this name is the built-in check of a "
                                "shared idempotency store; choose another", NULL);
    }
    for (i = 0; i < sc->checks->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(sc->checks, i, goapi_ready_check).name, name) == 0) {
            return apr_psprintf(cmd->pool, "%s: a check named '%s' is already defined",
                                cmd->cmd->name, name);
        }
    }
    /* one entry of the table is kept for the check of a shared store */
    if (sc->checks->nelts >= GOAPI_MAX_CHECKS - 1) {
        return apr_psprintf(cmd->pool, "%s: at most %d checks", cmd->cmd->name,
                            GOAPI_MAX_CHECKS - 1);
    }
    c = apr_array_push(sc->checks);
    c->name = name;
    if ((err = goapi_check_url_parse(cmd->pool, url, &c->url))) {
        const char *scheme = goapi_redact_scheme(cmd->pool, url);

        return goapi_cmd_secret_error(cmd, apr_psprintf(
            cmd->pool, "URL for the check '%s'%s", name, scheme
            ? apr_psprintf(cmd->pool, " (scheme '%s')", scheme) : ""), err);
    }
    c->url_text = goapi_redact_url(cmd->pool, url);
    return NULL;
}

const char *goapi_cmd_drain_file(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);

    (void)dconf;
    if (!path || !*arg) {
        return goapi_cmd_refuse(cmd, NULL, arg, NULL, "a file path");
    }
    goapi_cmd_sconf_noted(cmd, arg)->drain_file = path;
    return NULL;
}

/* ---- idempotency ------------------------------------------------- */

const char *goapi_cmd_idempotency(cmd_parms *cmd, void *dconf, int flag)
{
    (void)cmd;
    ((goapi_dir_conf *)dconf)->idem = flag;
    if (flag) {
        goapi_config_idempotency_on();
    }
    return NULL;
}

/* GoapiIdempotencyMethods POST PATCH ...: each a method httpd knows. */
const char *goapi_cmd_idem_methods(cmd_parms *cmd, void *dconf, const char *arg)
{
    goapi_dir_conf *dc = dconf;
    int m = ap_method_number_of(arg);

    if (m == M_INVALID || m == M_GET || m == M_OPTIONS || m == M_TRACE) {
        return goapi_cmd_refuse(cmd, NULL, arg, NULL, "HTTP methods that change state, "
                                "such as POST PUT PATCH DELETE (GET, HEAD, OPTIONS "
                                "and TRACE are safe and never replayed)");
    }
    if (cmd->info == NULL) {
        /* the first method of this directive line replaces the default */
        dc->idem_methods = 0;
        cmd->info = (void *)1;
    }
    dc->idem_methods |= AP_METHOD_BIT << m;
    return NULL;
}

/* GoapiIdempotencyMaxBody / GoapiIdempotencyMaxResponse. */
const char *goapi_cmd_idem_size(cmd_parms *cmd, void *dconf, const char *arg)
{
    apr_int64_t v;
    const char *err = goapi_parse_size(arg, 0, GOAPI_MAX_IDEM_BYTES, &v);

    if (err) {
        return goapi_cmd_refuse(cmd, NULL, arg, err, "a size such as 64K or 1M, from 0 to 64M");
    }
    *(apr_int64_t *)((char *)dconf + (apr_size_t)cmd->info) = v;
    return NULL;
}

/* GoapiIdempotencyStore redis://... | unix:... | redis-sentinel://...: a
 * value that may hold a password is never repeated in a message. */
static const char *goapi_cmd_idem_store_redis(cmd_parms *cmd, goapi_server_conf *sc,
                                             const char *where, const char *size)
{
    goapi_redis_target *t = apr_palloc(cmd->pool, sizeof(*t));
    const char *err = goapi_redis_url_parse(cmd->pool, where, t);

    if (err) {
        return goapi_cmd_secret_error(cmd, "Redis store", err);
    }
    if (size) {
        return apr_psprintf(cmd->pool, "%s: a size is for an lmdb: store only; Redis "
                            "keeps its own limits (maxmemory)", cmd->cmd->name);
    }
    sc->idem_store_shown = goapi_redis_url_display(cmd->pool, t);
    goapi_cmd_note(cmd, sc->idem_store_shown);
    sc->idem_redis = t;
    sc->idem_store = NULL;
    sc->idem_dbd = 0;
    return NULL;
}

/* GoapiIdempotencyStore lmdb:<path> [size] (a relative path is under
 * DefaultRuntimeDir), or a Redis store. */
const char *goapi_cmd_idem_store(cmd_parms *cmd, void *dconf, const char *where,
                                 const char *size)
{
    goapi_server_conf *sc = goapi_sconf(cmd->server);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_int64_t bytes = GOAPI_DEFAULT_IDEM_STORE_SIZE;

    (void)dconf;
    if (err) {
        return err;
    }
    if (goapi_redis_url_is(where)) {
        return goapi_cmd_idem_store_redis(cmd, sc, where, size);
    }
    if (!strcmp(where, "dbd")) {
        /* where and who: DBDriver and DBDParams (mod_dbd) */
        if (size) {
            return apr_psprintf(cmd->pool, "%s: a size is for an lmdb: store only; the "
                                "dbd store keeps its records in mod_dbd's database",
                                cmd->cmd->name);
        }
        goapi_cmd_note(cmd, where);
        sc->idem_dbd = 1;
        sc->idem_redis = NULL;
        sc->idem_store = NULL;
        return NULL;
    }
    /* whatever is wrong, neither value is repeated: a store URL mistyped
     * (rediss://:pw@..., redis:/:pw@...) lands here */
    if (strncmp(where, "lmdb:", 5) != 0 || !where[5]) {
        return goapi_cmd_secret_error(cmd, "store",
                                      goapi_redis_url_unknown(cmd->pool, where));
    }
    if (where[5] == '/' && where[6] == '/') {
        return goapi_cmd_secret_error(cmd, "store", "lmdb: is followed by a file's "
                                      "path (lmdb:/var/lib/apache2/goapi-idempotency.mdb), "
                                      "not by '//' and a host");
    }
    if (size && (err = goapi_parse_size(size, GOAPI_MIN_IDEM_STORE_SIZE,
                                        GOAPI_MAX_IDEM_STORE_SIZE, &bytes))) {
        return goapi_cmd_secret_error(cmd, "size after lmdb:<path>", apr_psprintf(
            cmd->pool, "%s; expected the store's largest size, such as 64M or 1G, from "
            "1M to 64G", err));
    }
    sc->idem_store = ap_runtime_dir_relative(cmd->pool, where + 5);
    if (!sc->idem_store) {
        return goapi_cmd_secret_error(cmd, "store", "its path cannot be resolved");
    }
    goapi_cmd_note(cmd, size ? apr_pstrcat(cmd->pool, where, " ", size, NULL) : where);
    sc->idem_store_size = bytes;
    sc->idem_redis = NULL;
    sc->idem_dbd = 0;
    return NULL;
}

/* GoapiIdempotencyReplayCache (main server): 0 (off) to 1G. */
const char *goapi_cmd_idem_replay_cache(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_int64_t v;

    (void)dconf;
    if (err) {
        return err;
    }
    if ((err = goapi_parse_size(arg, 0, GOAPI_MAX_IDEM_REPLAY_CACHE, &v))) {
        return goapi_cmd_refuse(cmd, NULL, arg, err, "a size such as 1M or 16M, from 0 (off) "
                                "to 1G");
    }
    goapi_cmd_sconf_noted(cmd, arg)->idem_replay_cache = v;
    return NULL;
}

/* GoapiIdempotencyStorePrefix (main server): printable ASCII, no space. */
const char *goapi_cmd_idem_store_prefix(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *c;

    (void)dconf;
    if (err) {
        return err;
    }
    for (c = arg; *c; c++) {
        if (*c <= ' ' || *c >= 0x7f || *c == '{' || *c == '}') {
            break;
        }
    }
    if (*c || c == arg || c - arg > GOAPI_STORE_PREFIX_MAX) {
        return goapi_cmd_refuse(cmd, NULL, arg, NULL, "1 to " GOAPI_STR(GOAPI_STORE_PREFIX_MAX)
                                " printable ASCII characters without spaces or braces, "
                                "such as goapi:idem: or orders:");
    }
    goapi_cmd_sconf_noted(cmd, arg)->idem_store_prefix = arg;
    return NULL;
}

/* GoapiIdempotencyStoreReplicas (main server): 0 to 16. */
const char *goapi_cmd_idem_store_replicas(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_int64_t v;

    (void)dconf;
    if (err) {
        return err;
    }
    if ((err = goapi_parse_int_range(arg, 0, GOAPI_MAX_IDEM_STORE_REPLICAS, &v))) {
        return goapi_cmd_refuse(cmd, NULL, arg, err, "a number of replicas from 0 (none) to %d",
                                GOAPI_MAX_IDEM_STORE_REPLICAS);
    }
    goapi_cmd_sconf_noted(cmd, arg)->idem_store_replicas = (int)v;
    return NULL;
}

/* GoapiIdempotencyDamagedStore Refuse|StartFresh (main server). */
const char *goapi_cmd_idem_damaged(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dconf;
    if (err) {
        return err;
    }
    if (!ap_cstr_casecmp(arg, "Refuse")) {
        goapi_cmd_sconf_noted(cmd, "Refuse")->idem_damaged = GOAPI_DAMAGED_REFUSE;
    }
    else if (!ap_cstr_casecmp(arg, "StartFresh")) {
        goapi_cmd_sconf_noted(cmd, "StartFresh")->idem_damaged = GOAPI_DAMAGED_START_FRESH;
    }
    else {
        return goapi_cmd_refuse(cmd, NULL, arg, NULL, "Refuse (the server does not start "
                                "on a damaged ledger) or StartFresh (it is moved aside "
                                "and a new, empty one is made)");
    }
    return NULL;
}
