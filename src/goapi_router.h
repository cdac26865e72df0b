/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_router.h — the route table and its matcher, with the semantics of
 * Go 1.22's ServeMux: patterns are matched against the escaped path, a
 * {wildcard} takes one whole non-empty segment and is percent-decoded, a
 * path that matches a pattern only under another method gives 405 with
 * the methods that would match, an unclean path redirects to its clean form.
 */
#ifndef GOAPI_ROUTER_H
#define GOAPI_ROUTER_H

#include <apr_pools.h>

/* Method bits.  A pattern that allows GET also allows HEAD. */
#define GOAPI_M_GET     0x01u
#define GOAPI_M_HEAD    0x02u
#define GOAPI_M_POST    0x04u
#define GOAPI_M_PUT     0x08u
#define GOAPI_M_PATCH   0x10u
#define GOAPI_M_DELETE  0x20u
#define GOAPI_M_OTHER   0x80u

/* The routes, one row each: its name, its pattern, the name of the
 * pattern's {wildcard} (NULL without), its methods.  More specific
 * patterns first: the first row that matches both path and method wins.
 * The route IDs (GOAPI_ROUTE_<name>), the router's table and the answers
 * of the glue (mod_goapi_routes.c: goapi_answer_<name>()) all come from
 * this list: a new route is a row here and its answer function there. */
#define GOAPI_ROUTES(X) \
    X(ROOT,         "/",                            NULL,       GOAPI_M_GET)  \
    X(HEALTHZ,      "/healthz",                     NULL,       GOAPI_M_GET)  \
    X(LIVEZ,        "/livez",                       NULL,       GOAPI_M_GET)  \
    X(LIVEZ_CHECK,  "/livez/{check}",               "check",    GOAPI_M_GET)  \
    X(READYZ,       "/readyz",                      NULL,       GOAPI_M_GET)  \
    X(READYZ_CHECK, "/readyz/{check}",              "check",    GOAPI_M_GET)  \
    X(STARTUPZ,     "/startupz",                    NULL,       GOAPI_M_GET)  \
    X(METRICS,      "/metrics",                     NULL,       GOAPI_M_GET)  \
    X(PARCEL,       "/parcels/{parcelID}",          "parcelID", GOAPI_M_GET)  \
    X(DISPATCH,     "/parcels/{parcelID}/dispatch", "parcelID", GOAPI_M_POST)

#define GOAPI_ROUTE_ID(name, pattern, wildcard, methods) GOAPI_ROUTE_##name,

typedef enum {
    GOAPI_ROUTE_NONE = 0,
    GOAPI_ROUTES(GOAPI_ROUTE_ID)
    GOAPI_ROUTE__N
} goapi_route_id;

typedef enum {
    GOAPI_MATCH_FOUND = 0,
    GOAPI_MATCH_NOT_FOUND,      /* 404 */
    GOAPI_MATCH_NOT_ALLOWED,    /* 405: m->allowed has the methods */
    GOAPI_MATCH_REDIRECT,       /* 301: m->location is the clean path */
    GOAPI_MATCH_BAD_PARAM       /* 400: m->param_name, m->reason */
} goapi_match_result;

typedef struct {
    goapi_route_id route;
    const char *param;          /* decoded wildcard value, NUL-terminated */
    apr_size_t param_len;
    const char *param_name;     /* the wildcard's name, e.g. "parcelID" */
    unsigned allowed;           /* methods of the patterns the path matched */
    const char *location;       /* clean path to redirect to */
    const char *reason;         /* why the wildcard value was refused */
} goapi_match;

unsigned goapi_method_bit(const char *method);

/* The pattern of a route ("/parcels/{parcelID}"), or NULL for none. */
const char *goapi_route_pattern(goapi_route_id id);

/* "GET, HEAD, POST" for a method mask, in a fixed order. */
const char *goapi_allow_header(apr_pool_t *p, unsigned mask);

/* Match method and the escaped path (len bytes, from goapi_path_of_target)
 * against the route table. */
goapi_match_result goapi_route_match(apr_pool_t *p, const char *method,
                                     const char *path, apr_size_t len,
                                     goapi_match *m);

/* The probe (GOAPI_ROUTE_HEALTHZ, _LIVEZ, _READYZ or _STARTUPZ) that an escaped
 * path names exactly, without escapes, dots or a trailing slash; else
 * GOAPI_ROUTE_NONE.  No allocation: the probes' fast path asks it first. */
goapi_route_id goapi_route_probe(const char *path, apr_size_t len);

/* The probe that a decoded, normalised path (httpd's r->uri) names
 * exactly, for GoapiProbes: /healthz, /livez, /readyz, /startupz, or
 * /livez/<one segment>, /readyz/<one segment> (GOAPI_ROUTE_LIVEZ_CHECK,
 * _READYZ_CHECK); else GOAPI_ROUTE_NONE.
 * No allocation, no regex: every request of a server with GoapiProbes On
 * asks it. */
goapi_route_id goapi_route_probe_path(const char *path);

#endif /* GOAPI_ROUTER_H */
