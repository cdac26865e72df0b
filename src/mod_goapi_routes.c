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

#include <apr_strings.h>

#include "goapi_path.h"
#include "goapi_router.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

static void goapi_set_text_type(request_rec *r)
{
#if AP_MODULE_MAGIC_AT_LEAST(20120211, 132)
    ap_set_content_type_ex(r, GOAPI_TEXT_TYPE, 1);
#else
    ap_set_content_type(r, GOAPI_TEXT_TYPE);
#endif
}

/* Write a complete text/plain answer with the given status.  A 200 leaves
 * r->status alone: as the target of an ErrorDocument, the answer goes out
 * with the original error's status. */
static int goapi_respond_text(request_rec *r, int status, const char *body)
{
    apr_size_t len = strlen(body);

    if (status != HTTP_OK) {
        r->status = status;
    }
    goapi_set_text_type(r);
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only) {
        ap_rwrite(body, (int)len, r);
    }
    return OK;
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

static int goapi_respond_route(request_rec *r, const goapi_match *m)
{
    switch (m->route) {
    case GOAPI_ROUTE_ROOT:
        return goapi_respond_text(r, HTTP_OK, "parcel service is reachable\n");
    case GOAPI_ROUTE_HEALTHZ:
        return goapi_respond_text(r, HTTP_OK, "ok\n");
    case GOAPI_ROUTE_READYZ:
        return goapi_respond_text(r, HTTP_OK, "ready\n");
    case GOAPI_ROUTE_STARTUPZ:
        return goapi_respond_text(r, HTTP_OK, "started\n");
    case GOAPI_ROUTE_PARCEL:
        return goapi_respond_text(r, HTTP_OK,
                                  apr_pstrcat(r->pool, "parcel lookup accepted for ",
                                              m->param, "\n", NULL));
    case GOAPI_ROUTE_NONE:
        break;
    }
    return HTTP_INTERNAL_SERVER_ERROR;
}

int goapi_routes_handler(request_rec *r)
{
    const char *path;
    apr_size_t len;
    goapi_match m;
    int rv;

    if (!r->handler || strcmp(r->handler, GOAPI_HANDLER) != 0) {
        return DECLINED;
    }
    if ((rv = ap_discard_request_body(r)) != OK) {
        return rv;
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
        apr_table_setn(r->headers_out, "Location",
                       r->args ? apr_pstrcat(r->pool, m.location, "?", r->args, NULL)
                               : m.location);
        return goapi_respond_text(r, HTTP_MOVED_PERMANENTLY, "Moved Permanently\n");

    case GOAPI_MATCH_BAD_PARAM:
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, GOAPI_LOGNO(00005)
                      "refusing %s: %s", m.param_name, m.reason);
        return goapi_respond_error(r, HTTP_BAD_REQUEST,
                                   apr_pstrcat(r->pool, "invalid ", m.param_name,
                                               ": ", m.reason, "\n", NULL));
    }
    return HTTP_INTERNAL_SERVER_ERROR;
}
