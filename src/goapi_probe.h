/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_probe.h — a probe's checks in kube-apiserver's text form: one line
 * per check, "[+]name ok", "[-]name failed: reason" or "[+]name excluded:
 * ok", then "<probe> check passed|failed"; the checks a request leaves out
 * with ?exclude=<name> (repeatable).  Pure: APR and libc only.
 */
#ifndef GOAPI_PROBE_H
#define GOAPI_PROBE_H

#include <apr_pools.h>

typedef struct {
    const char *name;
    int ok;
    const char *reason;         /* why it failed (NULL: "failed") */
} goapi_probe_check;

/* 1 when the query string (without '?', may be NULL) has exclude=<name>
 * (the key may be given several times). */
int goapi_probe_excluded(const char *args, const char *name);

/* 1 when every check that the query does not exclude passed. */
int goapi_probe_ok(const goapi_probe_check *c, int n, const char *args);

/* The verbose answer of probe ("livez", "readyz", ...): a line per check,
 * excluded ones marked so, a warning line for exclude= values that name
 * no check, then the verdict. */
const char *goapi_probe_verbose(apr_pool_t *p, const char *probe,
                                const goapi_probe_check *c, int n, const char *args);

#endif /* GOAPI_PROBE_H */
