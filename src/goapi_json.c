/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_json.c — JSON text (see goapi_json.h).
 */
#include <string.h>

#include <apr_strings.h>

#include "goapi_json.h"

const char *goapi_json_string(apr_pool_t *p, const char *s)
{
    apr_size_t n = strlen(s), o = 0;
    char *out = apr_palloc(p, n * 6 + 3);

    out[o++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        }
        else if (c < 0x20 || c >= 0x7f) {
            o += (apr_size_t)apr_snprintf(out + o, 7, "\\u%04x", c);
        }
        else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

const char *goapi_problem_json(apr_pool_t *p, const char *type, int status,
                               const char *title, const char *detail,
                               const char *request_id, const char *correlation_id)
{
    return apr_psprintf(p, "{\"type\":%s,\"title\":%s,\"status\":%d,"
                        "\"detail\":%s,\"request_id\":%s,\"correlation_id\":%s}\n",
                        goapi_json_string(p, type ? type : "about:blank"),
                        goapi_json_string(p, title), status,
                        goapi_json_string(p, detail), goapi_json_string(p, request_id),
                        goapi_json_string(p, correlation_id));
}

static const char *const goapi_problem_names[GOAPI_PROBLEM_KINDS] = {
    "idempotency-key-missing",
    "idempotency-key-invalid",
    "idempotency-key-reused",
    "idempotency-body-too-large",
    "idempotency-in-progress",
    "idempotency-not-replayable",
    "idempotency-outcome-unknown",
    "idempotency-store-unavailable",
    "overloaded",
};

const char *goapi_problem_name(goapi_problem_kind kind)
{
    return (unsigned)kind < GOAPI_PROBLEM_KINDS ? goapi_problem_names[kind] : "problem";
}

const char *goapi_problem_type(apr_pool_t *p, goapi_problem_kind kind, const char *base)
{
    return apr_pstrcat(p, base ? base : GOAPI_PROBLEM_URN, goapi_problem_name(kind), NULL);
}
