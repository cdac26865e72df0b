/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_json.h — JSON text for mod_goapi's answers (application/health+json,
 * application/problem+json).  Pure: APR and libc only.
 */
#ifndef GOAPI_JSON_H
#define GOAPI_JSON_H

#include <apr_pools.h>

/* s as a JSON string literal, quotes included; anything outside printable
 * ASCII, and '"' and '\', escaped. */
const char *goapi_json_string(apr_pool_t *p, const char *s);

/* The problems mod_goapi answers with.  Each has a name; its type URI is
 * that name after GoapiProblemTypeBase (a page an operator publishes, e.g.
 * https://errors.example.com/goapi/idempotency-key-reused) or, without
 * one, after "urn:goapi:problem:".  The three 409s differ by type: only
 * "in progress" may be retried with the same key. */
typedef enum {
    GOAPI_PROBLEM_KEY_MISSING = 0,      /* 400: GoapiIdempotencyRequired */
    GOAPI_PROBLEM_KEY_INVALID,          /* 400: not a key (or not an sf-string) */
    GOAPI_PROBLEM_KEY_REUSED,           /* 422: same key, another request */
    GOAPI_PROBLEM_BODY_TOO_LARGE,       /* 413: GoapiIdempotencyMaxBody */
    GOAPI_PROBLEM_IN_PROGRESS,          /* 409, Retry-After: retry the same key */
    GOAPI_PROBLEM_NOT_REPLAYABLE,       /* 409, final: ran, response not kept */
    GOAPI_PROBLEM_OUTCOME_UNKNOWN,      /* 409, final: whether it ran is unknown */
    GOAPI_PROBLEM_STORE_UNAVAILABLE,    /* 503: nothing ran */
    GOAPI_PROBLEM_OVERLOADED,           /* 503: shed by GoapiMaxInFlight */
    GOAPI_PROBLEM_KINDS
} goapi_problem_kind;

#define GOAPI_PROBLEM_URN "urn:goapi:problem:"

/* The name of a problem ("idempotency-key-reused"). */
const char *goapi_problem_name(goapi_problem_kind kind);

/* Its type URI: base followed by its name, or GOAPI_PROBLEM_URN and its
 * name when base is NULL. */
const char *goapi_problem_type(apr_pool_t *p, goapi_problem_kind kind, const char *base);

/* An RFC 9457 problem document with the request's IDs, ending with a
 * newline; type NULL is about:blank (the status says it all). */
const char *goapi_problem_json(apr_pool_t *p, const char *type, int status,
                               const char *title, const char *detail,
                               const char *request_id, const char *correlation_id);

#endif /* GOAPI_JSON_H */
