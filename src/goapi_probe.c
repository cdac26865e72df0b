/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_probe.c — a probe's checks in kube-apiserver's text form (see
 * goapi_probe.h).
 */
#include <string.h>

#include <apr_strings.h>

#include "goapi_probe.h"

#define GOAPI_EXCLUDE_KEY "exclude="

/* Call fn for each exclude= value of args (len bytes each, not NUL-ended);
 * stops at the first call that returns non-zero, and returns that. */
static int goapi_each_exclude(const char *args,
                              int (*fn)(const char *v, apr_size_t len, void *baton),
                              void *baton)
{
    const apr_size_t klen = sizeof(GOAPI_EXCLUDE_KEY) - 1;
    const char *s = args;

    while (s && *s) {
        apr_size_t n = strcspn(s, "&;");
        int rv;

        if (n >= klen && strncmp(s, GOAPI_EXCLUDE_KEY, klen) == 0
            && (rv = fn(s + klen, n - klen, baton)) != 0) {
            return rv;
        }
        s += n;
        if (*s) {
            s++;
        }
    }
    return 0;
}

static int goapi_same_name(const char *v, apr_size_t len, void *baton)
{
    const char *name = baton;

    return strlen(name) == len && memcmp(name, v, len) == 0;
}

int goapi_probe_excluded(const char *args, const char *name)
{
    return goapi_each_exclude(args, goapi_same_name, (void *)name);
}

int goapi_probe_ok(const goapi_probe_check *c, int n, const char *args)
{
    int i;

    for (i = 0; i < n; i++) {
        if (!c[i].ok && !goapi_probe_excluded(args, c[i].name)) {
            return 0;
        }
    }
    return 1;
}

typedef struct {
    apr_pool_t *p;
    const goapi_probe_check *c;
    int n;
    const char *unknown;        /* "\"a\", \"b\"" so far, or NULL */
} goapi_unknown_excludes;

static int goapi_note_unknown(const char *v, apr_size_t len, void *baton)
{
    goapi_unknown_excludes *u = baton;
    const char *q;
    int i;

    for (i = 0; i < u->n; i++) {
        if (goapi_same_name(v, len, (void *)u->c[i].name)) {
            return 0;
        }
    }
    /* shown as the client sent it, printable ASCII only */
    for (q = v; q < v + len; q++) {
        if (*q <= 0x20 || *q >= 0x7f || *q == '"') {
            len = 0;
            break;
        }
    }
    q = apr_pstrcat(u->p, "\"", apr_pstrmemdup(u->p, v, len), "\"", NULL);
    u->unknown = u->unknown ? apr_pstrcat(u->p, u->unknown, ", ", q, NULL) : q;
    return 0;
}

const char *goapi_probe_verbose(apr_pool_t *p, const char *probe,
                                const goapi_probe_check *c, int n, const char *args)
{
    goapi_unknown_excludes u = { p, c, n, NULL };
    const char *out = "";
    int i;

    for (i = 0; i < n; i++) {
        if (goapi_probe_excluded(args, c[i].name)) {
            out = apr_pstrcat(p, out, "[+]", c[i].name, " excluded: ok\n", NULL);
        }
        else if (c[i].ok) {
            out = apr_pstrcat(p, out, "[+]", c[i].name, " ok\n", NULL);
        }
        else {
            out = apr_pstrcat(p, out, "[-]", c[i].name, " failed: ",
                              c[i].reason ? c[i].reason : "failed", "\n", NULL);
        }
    }
    goapi_each_exclude(args, goapi_note_unknown, &u);
    if (u.unknown) {
        out = apr_pstrcat(p, out, "warn: some health checks cannot be excluded: no "
                          "matches for ", u.unknown, "\n", NULL);
    }
    return apr_pstrcat(p, out, probe, goapi_probe_ok(c, n, args) ? " check passed\n"
                                                                 : " check failed\n", NULL);
}
