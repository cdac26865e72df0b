/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_limits.c — defaults, merging and the production checklist.
 */
#include <apr_strings.h>

#include "goapi_limits.h"
#include "goapi_parse.h"

void goapi_limits_init(goapi_limits *l)
{
    l->read = l->read_header = l->write = l->idle = l->shutdown = -1;
    l->max_header_bytes = -1;
}

#define GOAPI_PICK(f) out->f = (add->f != -1) ? add->f : base->f

void goapi_limits_merge(goapi_limits *out, const goapi_limits *base,
                        const goapi_limits *add)
{
    GOAPI_PICK(read);
    GOAPI_PICK(read_header);
    GOAPI_PICK(write);
    GOAPI_PICK(idle);
    GOAPI_PICK(shutdown);
    GOAPI_PICK(max_header_bytes);
}

unsigned goapi_limits_resolve(goapi_limits *l)
{
    unsigned set = 0;

    set |= l->read != -1 ? GOAPI_LIMIT_READ : 0;
    set |= l->read_header != -1 ? GOAPI_LIMIT_READ_HEADER : 0;
    set |= l->write != -1 ? GOAPI_LIMIT_WRITE : 0;
    set |= l->idle != -1 ? GOAPI_LIMIT_IDLE : 0;
    set |= l->shutdown != -1 ? GOAPI_LIMIT_SHUTDOWN : 0;
    set |= l->max_header_bytes != -1 ? GOAPI_LIMIT_HEADER_BYTES : 0;

    if (l->read < 0)
        l->read = 0;
    if (l->read_header < 0)
        l->read_header = l->read;       /* Go: ReadHeaderTimeout defaults to ReadTimeout */
    if (l->write < 0)
        l->write = 0;
    if (l->idle < 0)
        l->idle = 0;
    if (l->shutdown < 0)
        l->shutdown = GOAPI_DEFAULT_SHUTDOWN_TIMEOUT;
    if (l->max_header_bytes < 0)
        l->max_header_bytes = GOAPI_DEFAULT_MAX_HEADER_BYTES;
    return set;
}

static void goapi_push(apr_array_header_t *out, const char *sentence)
{
    APR_ARRAY_PUSH(out, const char *) = sentence;
}

void goapi_limits_review(apr_pool_t *p, const goapi_limits *l, unsigned set,
                         int serves_goapi, apr_array_header_t *out)
{
    char a[32], b[32];

    if (serves_goapi) {
        const char *missing = NULL;

        if (l->read == 0)
            missing = "GoapiReadTimeout";
        if (l->write == 0)
            missing = missing ? apr_pstrcat(p, missing, ", GoapiWriteTimeout", NULL)
                              : "GoapiWriteTimeout";
        if (l->idle == 0)
            missing = missing ? apr_pstrcat(p, missing, ", GoapiIdleTimeout", NULL)
                              : "GoapiIdleTimeout";
        if (missing) {
            goapi_push(out, apr_pstrcat(p, "serves SetHandler goapi without ", missing,
                                        ": every connection needs read, write and "
                                        "idle deadlines", NULL));
        }
    }
    if (l->read > 0 && l->read_header > l->read) {
        goapi_push(out, apr_psprintf(p, "GoapiReadHeaderTimeout %s is longer than "
                                     "GoapiReadTimeout %s: the whole-request deadline "
                                     "always fires first",
                                     goapi_format_duration(l->read_header, a),
                                     goapi_format_duration(l->read, b)));
    }
    if (l->write > 0 && l->read > 0 && l->write < l->read) {
        goapi_push(out, apr_psprintf(p, "GoapiWriteTimeout %s is shorter than "
                                     "GoapiReadTimeout %s: a request body that arrives "
                                     "in time can leave no time to answer",
                                     goapi_format_duration(l->write, a),
                                     goapi_format_duration(l->read, b)));
    }
    if ((set & GOAPI_LIMIT_SHUTDOWN) && l->shutdown == 0) {
        goapi_push(out, "GoapiShutdownTimeout 0: a graceful stop waits for "
                        "in-flight requests without bound");
    }
}
