/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_routes.c — the "goapi" handler: maps a request onto the route
 * table of src/goapi_router.c and writes the text answers.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_core.h"

#include <stdlib.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "goapi_health.h"
#include "goapi_path.h"
#include "goapi_router.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

static int goapi_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void goapi_set_type(request_rec *r, const char *type)
{
#if AP_MODULE_MAGIC_AT_LEAST(20120211, 132)
    ap_set_content_type_ex(r, type, 1);
#else
    ap_set_content_type(r, type);
#endif
}

/* Write a complete answer of the given media type and status.  A 200 leaves
 * r->status alone: as the target of an ErrorDocument, the answer goes out
 * with the original error's status. */
static int goapi_respond(request_rec *r, int status, const char *type, const char *body)
{
    apr_size_t len = strlen(body);

    if (status != HTTP_OK) {
        r->status = status;
    }
    goapi_set_type(r, type);
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only) {
        ap_rwrite(body, (int)len, r);
    }
    return OK;
}

static int goapi_respond_text(request_rec *r, int status, const char *body)
{
    return goapi_respond(r, status, GOAPI_TEXT_TYPE, body);
}

/* An error answer: the operator's ErrorDocument for that status when there
 * is one, our text otherwise. */
static int goapi_respond_error(request_rec *r, int status, const char *body)
{
    if (ap_response_code_string(r, ap_index_of_response(status))) {
        return status;
    }
    return goapi_respond_text(r, status, body);
}

/* Probe answers must never come from a cache. */
static int goapi_respond_probe(request_rec *r, int ok, const char *type, const char *body)
{
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    return goapi_respond(r, ok ? HTTP_OK : HTTP_SERVICE_UNAVAILABLE, type, body);
}

/* May this client see the probes' detail, the names of the checks and why
 * they fail (GoapiProbeDetail)?  The client is the one access control sees
 * (mod_remoteip's, when it is loaded), with "local" as Require local says. */
static int goapi_probe_detail(request_rec *r)
{
    return goapi_allow_match(&goapi_sconf(r->server)->probe_detail, r->useragent_addr,
                             r->connection->local_addr);
}

/* ?verbose, for a client that may see the detail. */
static int goapi_verbose(request_rec *r)
{
    return goapi_query_has(r->args, "verbose") && goapi_probe_detail(r);
}

/* /readyz: plain text, ?verbose, or application/health+json, without the
 * checks that ?exclude= names; the checks' names and failures only for a
 * client that may see them.  For another client ?exclude= does nothing:
 * an answer that changed with a name would tell which checks exist. */
static int goapi_respond_readyz(request_rec *r)
{
    goapi_readiness rd;
    const char *verbose = NULL;
    int ok, detail = goapi_probe_detail(r);

    goapi_readiness_of(r, &rd);
    if (detail && goapi_query_has(r->args, "verbose")) {
        verbose = goapi_readiness_verbose(r->pool, &rd, r->args);
    }
    if (detail) {
        goapi_readiness_exclude(&rd, r->args);
    }
    ok = goapi_readiness_ok(&rd);
    if (goapi_accepts(apr_table_get(r->headers_in, "Accept"), GOAPI_HEALTH_JSON_TYPE)) {
        return goapi_respond_probe(r, ok, GOAPI_HEALTH_JSON_TYPE,
                                   detail ? goapi_readiness_json(r->pool, &rd)
                                          : goapi_readiness_json_brief(r->pool, &rd));
    }
    if (!detail) {
        return goapi_respond_probe(r, ok, GOAPI_TEXT_TYPE, goapi_readiness_brief(&rd));
    }
    return goapi_respond_probe(r, ok, GOAPI_TEXT_TYPE,
                               verbose ? verbose : goapi_readiness_text(r->pool, &rd));
}

/* One check's answer: "ok", or "failed" and, for a client that may see
 * the detail, why. */
static int goapi_respond_one(request_rec *r, int ok, const char *reason)
{
    return goapi_respond_probe(r, ok, GOAPI_TEXT_TYPE,
                               ok ? "ok\n"
                               : goapi_probe_detail(r)
                               ? apr_pstrcat(r->pool, "failed: ", reason ? reason : "failed",
                                             "\n", NULL)
                               : "failed\n");
}

/* /livez: the process itself (ping, its threads' heartbeats), never its
 * dependencies or its load; ?exclude= and ?verbose as /readyz.  A client
 * that may see the detail gets the checks on a failure too, as
 * kube-apiserver answers. */
static int goapi_respond_livez(request_rec *r)
{
    goapi_probe_check *c;
    int n = goapi_liveness(r->pool, &c), detail = goapi_probe_detail(r);
    int ok = goapi_probe_ok(c, n, detail ? r->args : NULL);

    if (detail && (!ok || goapi_query_has(r->args, "verbose"))) {
        return goapi_respond_probe(r, ok, GOAPI_TEXT_TYPE,
                                   goapi_probe_verbose(r->pool, "livez", c, n, r->args));
    }
    return goapi_respond_probe(r, ok, GOAPI_TEXT_TYPE, ok ? "ok\n" : "livez check failed\n");
}

/* /livez/{check}: one liveness check; 404 for a name that is none.  A
 * client that may not see the detail may not learn the names either: it
 * gets the whole probe's state, in the one check's words, whatever the
 * name. */
static int goapi_respond_livez_check(request_rec *r, const char *name)
{
    goapi_probe_check *c;
    int n = goapi_liveness(r->pool, &c), i;

    if (!goapi_probe_detail(r)) {
        return goapi_respond_one(r, goapi_probe_ok(c, n, NULL), NULL);
    }
    for (i = 0; i < n; i++) {
        if (strcmp(c[i].name, name) == 0) {
            return goapi_respond_one(r, c[i].ok, c[i].reason);
        }
    }
    return goapi_respond_error(r, HTTP_NOT_FOUND, "404 page not found\n");
}

/* /readyz/{check}: one check; 404 for a name that is not configured.  A
 * client that may not see the detail gets the whole probe's state, in the
 * one check's words, whatever the name (as /livez/{check}). */
static int goapi_respond_readyz_check(request_rec *r, const char *name)
{
    goapi_readiness rd;
    const char *body;
    int ok;

    goapi_readiness_of(r, &rd);
    if (!goapi_probe_detail(r)) {
        return goapi_respond_one(r, goapi_readiness_ok(&rd), NULL);
    }
    body = goapi_readiness_one(r->pool, &rd, name, &ok);
    if (!body) {
        return goapi_respond_error(r, HTTP_NOT_FOUND, "404 page not found\n");
    }
    return goapi_respond_probe(r, ok, GOAPI_TEXT_TYPE, body);
}

static int goapi_respond_startupz(request_rec *r)
{
    goapi_readiness rd;

    goapi_readiness_of(r, &rd);
    if (goapi_verbose(r)) {
        const goapi_probe_check startup = { "startup", rd.started, "starting" };

        return goapi_respond_probe(r, rd.started, GOAPI_TEXT_TYPE,
                                   goapi_probe_verbose(r->pool, "startupz", &startup, 1,
                                                       NULL));
    }
    return goapi_respond_probe(r, rd.started, GOAPI_TEXT_TYPE,
                               rd.started ? "started\n" : "starting\n");
}

/* POST /parcels/{parcelID}/dispatch: a new dispatch, numbered by a counter
 * in the idempotency ledger (shared by every child, kept across restarts). */
static int goapi_respond_dispatch(request_rec *r, const char *parcel)
{
    apr_uint64_t n;
    apr_status_t rv = goapi_idem_counter_next(r, GOAPI_DISPATCH_COUNTER, &n);

    if (rv != APR_SUCCESS) {
        if (rv == APR_ENOTIMPL) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, GOAPI_LOGNO(00054)
                          "dispatches are numbered in the idempotency store: set "
                          "GoapiIdempotency On or GoapiIdempotencyStore");
        }
        /* nothing was dispatched: an idempotency claim may be released */
        apr_table_setn(r->notes, GOAPI_NOTE_NOT_APPLIED, "1");
        apr_table_setn(r->headers_out, "Retry-After", "5");
        return goapi_respond_error(r, HTTP_SERVICE_UNAVAILABLE,
                                   "dispatch store unavailable\n");
    }
    apr_table_setn(r->headers_out, "Location",
                   apr_psprintf(r->pool, "/parcels/%s/dispatches/%" APR_UINT64_T_FMT,
                                ap_escape_path_segment(r->pool, parcel), n));
    return goapi_respond_text(r, HTTP_CREATED,
                              apr_psprintf(r->pool, "dispatch %" APR_UINT64_T_FMT
                                           " created for %s\n", n, parcel));
}

/* httpd's method bits for a goapi mask, so that an ErrorDocument-handled
 * 405 lists the same methods in Allow as our own answer. */
static apr_int64_t goapi_httpd_methods(unsigned mask)
{
    apr_int64_t m = 0;

    if (mask & (GOAPI_M_GET | GOAPI_M_HEAD)) m |= AP_METHOD_BIT << M_GET;
    if (mask & GOAPI_M_POST)   m |= AP_METHOD_BIT << M_POST;
    if (mask & GOAPI_M_PUT)    m |= AP_METHOD_BIT << M_PUT;
    if (mask & GOAPI_M_PATCH)  m |= AP_METHOD_BIT << M_PATCH;
    if (mask & GOAPI_M_DELETE) m |= AP_METHOD_BIT << M_DELETE;
    return m;
}

/* /metrics: never cached; 404 while GoapiMetrics is Off. */
static int goapi_respond_metrics(request_rec *r)
{
    goapi_readiness rd;
    const char *type = NULL, *body;
    apr_size_t len = 0;

    goapi_readiness_of(r, &rd);
    body = goapi_metrics_scrape(r, &rd, &type, &len);
    if (!body) {
        return goapi_respond_error(r, HTTP_NOT_FOUND, "404 page not found (GoapiMetrics "
                                   "Off)\n");
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_mergen(r->headers_out, "Vary", "Accept");
    goapi_set_type(r, type);
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only) {
        ap_rwrite(body, (int)len, r);
    }
    return OK;
}

/* The answer of each route of GOAPI_ROUTES (goapi_router.h). */
typedef int goapi_answer_fn(request_rec *r, const goapi_match *m);

static int goapi_answer_ROOT(request_rec *r, const goapi_match *m)
{
    (void)m;
    return goapi_respond_text(r, HTTP_OK, "parcel service is reachable\n");
}

/* /healthz: as before /livez existed, "ok" while the child can answer;
 * ?verbose shows its one check. */
static int goapi_answer_HEALTHZ(request_rec *r, const goapi_match *m)
{
    static const goapi_probe_check ping = { "ping", 1, NULL };

    (void)m;
    return goapi_respond_probe(r, 1, GOAPI_TEXT_TYPE,
                               goapi_verbose(r)
                               ? goapi_probe_verbose(r->pool, "healthz", &ping, 1, NULL)
                               : "ok\n");
}

static int goapi_answer_LIVEZ(request_rec *r, const goapi_match *m)
{
    (void)m;
    return goapi_respond_livez(r);
}

static int goapi_answer_LIVEZ_CHECK(request_rec *r, const goapi_match *m)
{
    return goapi_respond_livez_check(r, m->param);
}

static int goapi_answer_READYZ(request_rec *r, const goapi_match *m)
{
    (void)m;
    return goapi_respond_readyz(r);
}

static int goapi_answer_READYZ_CHECK(request_rec *r, const goapi_match *m)
{
    return goapi_respond_readyz_check(r, m->param);
}

static int goapi_answer_STARTUPZ(request_rec *r, const goapi_match *m)
{
    (void)m;
    return goapi_respond_startupz(r);
}

static int goapi_answer_METRICS(request_rec *r, const goapi_match *m)
{
    (void)m;
    return goapi_respond_metrics(r);
}

static int goapi_answer_PARCEL(request_rec *r, const goapi_match *m)
{
    return goapi_respond_text(r, HTTP_OK, apr_pstrcat(r->pool, "parcel lookup accepted for ",
                                                      m->param, "\n", NULL));
}

static int goapi_answer_DISPATCH(request_rec *r, const goapi_match *m)
{
    return goapi_respond_dispatch(r, m->param);
}

#define GOAPI_ANSWER_ROW(name, pattern, wildcard, methods) \
    [GOAPI_ROUTE_##name] = goapi_answer_##name,

static goapi_answer_fn *const goapi_answers[GOAPI_ROUTE__N] = {
    GOAPI_ROUTES(GOAPI_ANSWER_ROW)
};

static int goapi_respond_route(request_rec *r, const goapi_match *m)
{
    if (m->route <= GOAPI_ROUTE_NONE || m->route >= GOAPI_ROUTE__N) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    goapi_metrics_route(r, m->route);
    return goapi_answers[m->route](r, m);
}

/* An HTTP/1 request has a body only with Content-Length or
 * Transfer-Encoding (RFC 9112, 6.3); other protocols are asked. */
static int goapi_may_have_body(const request_rec *r)
{
    return r->proto_num >= HTTP_VERSION(2, 0)
           || apr_table_get(r->headers_in, "Content-Length")
           || apr_table_get(r->headers_in, "Transfer-Encoding");
}

/* Everything the handler does once the request is known to be ours. */
static int goapi_routes_serve(request_rec *r)
{
    const char *path;
    apr_size_t len;
    goapi_match m;
    int rv;

    if (goapi_may_have_body(r) && (rv = ap_discard_request_body(r)) != OK) {
        return rv;
    }

    /* A request target of a query alone ("GET ?x=1") has no path: Go
     * refuses it, and so do we (httpd lets it through as "/"). */
    if (r->unparsed_uri && r->unparsed_uri[0] == '?') {
        return goapi_respond_error(r, HTTP_BAD_REQUEST, "400 Bad Request: the request "
                                   "target has no path\n");
    }
    /* Routes match the path as the client escaped it, like Go's ServeMux;
     * r->uri is already decoded, which would hide an encoded '/'. */
    goapi_path_of_target(r->unparsed_uri, &path, &len);

    switch (goapi_route_match(r->pool, r->method, path, len, &m)) {
    case GOAPI_MATCH_FOUND:
        return goapi_respond_route(r, &m);

    case GOAPI_MATCH_NOT_FOUND:
        return goapi_respond_error(r, HTTP_NOT_FOUND, "404 page not found\n");

    case GOAPI_MATCH_NOT_ALLOWED:
        r->allowed_methods->method_mask = goapi_httpd_methods(m.allowed);
        apr_table_setn(r->headers_out, "Allow",
                       goapi_allow_header(r->pool, m.allowed));
        return goapi_respond_error(r, HTTP_METHOD_NOT_ALLOWED,
                                   "Method Not Allowed\n");

    case GOAPI_MATCH_REDIRECT:
        /* ASCII only, and no "?" for an empty query, as Go writes it */
        apr_table_setn(r->headers_out, "Location", goapi_path_ascii(
                           r->pool, r->args && *r->args
                                    ? apr_pstrcat(r->pool, m.location, "?", r->args, NULL)
                                    : m.location));
        return goapi_respond_text(r, HTTP_MOVED_PERMANENTLY, "Moved Permanently\n");

    case GOAPI_MATCH_BAD_PARAM:
        goapi_metrics_route(r, m.route);        /* the route's, refused */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, GOAPI_LOGNO(00005)
                      "refusing %s: %s", m.param_name, m.reason);
        return goapi_respond_error(r, HTTP_BAD_REQUEST,
                                   apr_pstrcat(r->pool, "invalid ", m.param_name,
                                               ": ", m.reason, "\n", NULL));
    }
    return HTTP_INTERNAL_SERVER_ERROR;
}

/* httpd turns a request target without a path into "/", but for OPTIONS
 * into "*", the server-wide form (RFC 9112, 3.2.4), which only "OPTIONS *"
 * and an absolute-form target with an empty path are.  "OPTIONS ?x=1"
 * becomes "/" as it does for every other method, so that the handler of
 * "/" answers it: mod_goapi's refuses it with 400, as Go does. */
int goapi_routes_post_read_request(request_rec *r)
{
    if (r->method_number == M_OPTIONS && r->unparsed_uri && r->unparsed_uri[0] == '?'
        && r->uri && strcmp(r->uri, "*") == 0) {
        r->uri = apr_pstrdup(r->pool, "/");
    }
    return DECLINED;
}

int goapi_routes_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, GOAPI_HANDLER) != 0) {
        return DECLINED;
    }
    return goapi_routes_serve(r);
}

/* ---- GoapiProbes: the probe paths without a <Location> --------------------
 *
 * With GoapiProbes On, /healthz, /livez, /livez/<check>, /readyz,
 * /readyz/<check> and /startupz are mod_goapi's on that server: found by comparing r->uri (decoded and
 * normalised by httpd) with those paths, at translate_name, so that no
 * <LocationMatch> regex runs in the location walk of every request.  A
 * <Location> over a probe path still applies (Require, LogLevel, ...);
 * Alias, Redirect, RewriteRule and ProxyPass, which map a URL before
 * mod_goapi does, still win. */

static int goapi_probes_own(const request_rec *r)
{
    return goapi_sconf(r->server)->probes && r->uri
           && goapi_route_probe_path(r->uri) != GOAPI_ROUTE_NONE;
}

#define GOAPI_FILENAME_PREFIX "goapi:"

static int goapi_goapi_filename(const request_rec *r)
{
    return r->filename && strncmp(r->filename, GOAPI_FILENAME_PREFIX,
                                  sizeof(GOAPI_FILENAME_PREFIX) - 1) == 0;
}

/* A probe path that mod_goapi's translate_name took: its handler is goapi
 * whatever SetHandler says (first among fixups, so that the later ones,
 * the idempotency claim's included, see the handler that will answer). */
int goapi_routes_fixups(request_rec *r)
{
    if (goapi_goapi_filename(r) && !r->proxyreq && goapi_probes_own(r)) {
        r->handler = GOAPI_HANDLER;
    }
    return DECLINED;
}

/* ---- URLs of the goapi handler are not files -----------------------------
 *
 * A URL that "SetHandler goapi" maps is answered from the route table, so
 * httpd's mapping onto the filesystem (DocumentRoot, the directory walk
 * with its stat() calls and .htaccess lookups) is skipped, as mod_proxy
 * does for its URLs: translate_name gives it a filename of its own, and
 * map_to_storage accepts that filename without a walk.  <Location>
 * sections and every later phase (access control included) apply as
 * before; <Directory> sections and .htaccess files do not, there being no
 * directory. */

/* After a location walk: does "SetHandler goapi" apply to r? */
static int goapi_handler_configured(request_rec *r)
{
    core_dir_config *d = ap_get_core_module_config(r->per_dir_config);
    const char *err = NULL, *h;

    if (!d->expr_handler) {
        return 0;
    }
    h = ap_expr_str_exec(r, d->expr_handler, &err);
    return !err && h && strcmp(h, GOAPI_HANDLER) == 0;
}

int goapi_routes_translate(request_rec *r)
{
    /* r->per_dir_config holds the first location walk's result here */
    if (r->proxyreq || !r->uri || r->uri[0] != '/'
        || !(goapi_probes_own(r) || goapi_handler_configured(r))) {
        return DECLINED;
    }
    r->filename = apr_pstrcat(r->pool, GOAPI_FILENAME_PREFIX, r->uri, NULL);
    return OK;
}

int goapi_routes_map_to_storage(request_rec *r)
{
    return goapi_goapi_filename(r) ? OK : DECLINED;
}

/* ---- the probes' fast path -------------------------------------------------
 *
 * GET /healthz, /livez, /readyz and /startupz are answered from the quick handler,
 * before httpd's translate, access, authentication, type and fixup phases,
 * when nothing configured would act on them there:
 *   - GoapiProbes is On, or the request's <Location> (and <If>) sections
 *     map it to "SetHandler goapi"; and no Require of any kind applies to
 *     it (mod_authz_core);
 *   - no loaded module other than those below hooks those phases (a
 *     module that does, e.g. mod_rewrite, mod_headers, mod_security or
 *     mod_access_compat, could act on every request: then no probe takes
 *     the fast path);
 *   - GoapiProbeFastPath is not Off for the server.
 * Everything else (a subrequest, a proxy request, a body, an escaped
 * path) takes the full request cycle.  "apachectl -t" (LogLevel
 * goapi:info) says which applies. */

/* Modules whose hooks in the skipped phases never act on a request that
 * no Require applies to and that mod_goapi answers itself. */
static const char *const goapi_fast_allowed[] = {
    "core.c", "http_core.c", "mod_so.c", "mod_goapi.c", "mod_authz_core.c",
    "mod_authn_core.c", "mod_authz_host.c", "mod_authz_user.c", "mod_authz_groupfile.c",
    "mod_authn_file.c", "mod_auth_basic.c", "mod_auth_digest.c", "mod_mime.c",
    "mod_dir.c", "mod_reqtimeout.c", "mod_log_config.c", "mod_logio.c",
    "mod_unixd.c", "mod_watchdog.c", "mod_version.c", NULL
};

/* Why the fast path is off in this configuration (modules that hook the
 * phases it skips), or NULL when it may be taken. */
static const char *goapi_fast_blockers;

static void goapi_fast_scan(apr_pool_t *p, apr_array_header_t *hooks,
                            apr_hash_t *seen)
{
    int i, k;

    if (!hooks) {
        return;
    }
    /* every hook array of httpd starts with the function, then its name */
    for (i = 0; i < hooks->nelts; i++) {
        const struct { void *fn; const char *name; } *h =
            (const void *)(hooks->elts + (apr_size_t)i * (apr_size_t)hooks->elt_size);
        const char *name = h->name ? h->name : "(unnamed module)";

        for (k = 0; goapi_fast_allowed[k] && strcmp(goapi_fast_allowed[k], name) != 0; k++)
            ;
        if (!goapi_fast_allowed[k]) {
            apr_hash_set(seen, apr_pstrdup(p, name), APR_HASH_KEY_STRING, "");
        }
    }
}

int goapi_routes_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s)
{
    apr_hash_t *seen = apr_hash_make(ptemp);
    apr_hash_index_t *hi;
    apr_array_header_t *names = apr_array_make(ptemp, 4, sizeof(const char *));

    (void)plog;
    (void)s;
    goapi_fast_scan(ptemp, ap_hook_get_translate_name(), seen);
    goapi_fast_scan(ptemp, ap_hook_get_map_to_storage(), seen);
    goapi_fast_scan(ptemp, ap_hook_get_header_parser(), seen);
    goapi_fast_scan(ptemp, ap_hook_get_access_checker(), seen);
    goapi_fast_scan(ptemp, ap_hook_get_access_checker_ex(), seen);
    goapi_fast_scan(ptemp, ap_hook_get_check_user_id(), seen);
    goapi_fast_scan(ptemp, ap_hook_get_auth_checker(), seen);
    goapi_fast_scan(ptemp, ap_hook_get_type_checker(), seen);
    goapi_fast_scan(ptemp, ap_hook_get_fixups(), seen);
    goapi_fast_scan(ptemp, ap_hook_get_insert_filter(), seen);
    for (hi = apr_hash_first(ptemp, seen); hi; hi = apr_hash_next(hi)) {
        APR_ARRAY_PUSH(names, const char *) = apr_hash_this_key(hi);
    }
    goapi_fast_blockers = NULL;
    if (names->nelts) {
        qsort(names->elts, (size_t)names->nelts, sizeof(const char *), goapi_strcmp_p);
        goapi_fast_blockers = apr_array_pstrcat(pconf, names, ' ');
    }
    return OK;
}

void goapi_routes_test_config(apr_pool_t *pconf, server_rec *s)
{
    for (; s; s = s->next) {
        const goapi_server_conf *sc = goapi_sconf(s);
        const char *name = goapi_server_name(pconf, s);

        if (sc->probes) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_INFO, 0, s, GOAPI_LOGNO(00101)
                         "%s: GoapiProbes On: /healthz, /livez, /livez/<check>, /readyz, "
                         "/readyz/<check> and /startupz are answered by mod_goapi, found "
                         "by exact comparison of the path (a <Location> over them still "
                         "applies)", name);
        }
        if (!sc->probe_fast_path) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_INFO, 0, s, GOAPI_LOGNO(00081)
                         "%s: the probes take the full request cycle "
                         "(GoapiProbeFastPath Off)", name);
        }
        else if (goapi_fast_blockers) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_INFO, 0, s, GOAPI_LOGNO(00082)
                         "%s: the probes take the full request cycle: %s hook(s) "
                         "the phases their fast path skips", name, goapi_fast_blockers);
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_INFO, 0, s, GOAPI_LOGNO(00066)
                         "%s: GET /healthz, /livez, /readyz and /startupz of GoapiProbes On or "
                         "mapped to SetHandler goapi, with no Require over them, are "
                         "answered before httpd's translate, access, type and fixup phases "
                         "(GoapiProbeFastPath Off turns this off)", name);
        }
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_INFO, 0, s, GOAPI_LOGNO(00100)
                     "%s: the probes' check names and failures (?verbose, "
                     "/readyz/<check>) are shown to: %s (GoapiProbeDetail); every "
                     "other client gets the plain answer", name,
                     sc->probe_detail.mode == GOAPI_ALLOW_ALL ? "every client"
                     : sc->probe_detail.mode == GOAPI_ALLOW_NONE ? "no client"
                     : sc->probe_detail.shown);
    }
}

int goapi_routes_quick_handler(request_rec *r, int lookup)
{
    const goapi_server_conf *sc;
    const char *path;
    apr_size_t len;

    if (lookup || r->main || r->prev || r->proxyreq || r->method_number != M_GET
        || goapi_fast_blockers) {
        return DECLINED;
    }
    sc = goapi_sconf(r->server);
    if (!sc->probe_fast_path) {
        return DECLINED;
    }
    goapi_path_of_target(r->unparsed_uri, &path, &len);
    if (goapi_route_probe(path, len) == GOAPI_ROUTE_NONE || goapi_may_have_body(r)) {
        return DECLINED;
    }
    /* the same sections httpd would apply; the walk is cached, so a
     * request that goes on to the full cycle does not walk twice */
    if (ap_location_walk(r) != OK || ap_if_walk(r) != OK
        || !(sc->probes || goapi_handler_configured(r)) || ap_some_auth_required(r)) {
        return DECLINED;
    }
    r->handler = GOAPI_HANDLER;
    return goapi_routes_serve(r);
}
