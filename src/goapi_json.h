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

/* An RFC 9457 problem document with the request's IDs, ending with a
 * newline; type NULL is about:blank (the status says it all). */
const char *goapi_problem_json(apr_pool_t *p, const char *type, int status,
                               const char *title, const char *detail,
                               const char *request_id, const char *correlation_id);

#endif /* GOAPI_JSON_H */
