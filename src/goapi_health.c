/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_health.c — readiness table and answers (see goapi_health.h).
 */
#include <string.h>

#include <apr_atomic.h>
#include <apr_cstr.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "goapi_health.h"
#include "goapi_json.h"
#include "goapi_probe.h"

/* ---- URLs -------------------------------------------------------------- */

static int goapi_host_char(char c)
{
    return apr_isalnum(c) || c == '.' || c == '-' || c == '_';
}

const char *goapi_check_url_parse(apr_pool_t *p, const char *text, goapi_check_url *out)
{
    static const char form[] =
        "expected tcp://host:port or http://host[:port]/path";
    const char *s, *host_end, *port_s, *path;
    apr_int64_t port = 0;

    memset(out, 0, sizeof(*out));
    if (apr_cstr_casecmpn(text, "tcp://", 6) == 0) {
        out->kind = GOAPI_CHECK_TCP;
        s = text + 6;
    }
    else if (apr_cstr_casecmpn(text, "http://", 7) == 0) {
        out->kind = GOAPI_CHECK_HTTP;
        s = text + 7;
    }
    else {
        return form;
    }
    if (memchr(s, '@', strcspn(s, "/?#")) != NULL) {
        return "expected tcp://host:port or http://host[:port]/path, without a user "
               "or password (a check sends none)";
    }

    if (*s == '[') {                            /* [IPv6] */
        const char *close = strchr(s, ']');
        const char *q;

        if (!close || close == s + 1) {
            return form;
        }
        for (q = s + 1; q < close; q++) {
            if (!apr_isxdigit(*q) && *q != ':' && *q != '.') {
                return form;
            }
        }
        out->host = apr_pstrmemdup(p, s + 1, (apr_size_t)(close - s - 1));
        host_end = close + 1;
    }
    else {
        for (host_end = s; goapi_host_char(*host_end); host_end++)
            ;
        if (host_end == s) {
            return form;
        }
        out->host = apr_pstrmemdup(p, s, (apr_size_t)(host_end - s));
    }

    path = host_end;
    if (*host_end == ':') {
        port_s = host_end + 1;
        for (path = port_s; *path >= '0' && *path <= '9'; path++) {
            port = port * 10 + (*path - '0');
            if (port > 65535) {
                return "port out of range: expected 1 to 65535";
            }
        }
        if (path == port_s || port == 0) {
            return "port out of range: expected 1 to 65535";
        }
    }
    else if (out->kind == GOAPI_CHECK_TCP) {
        return "expected tcp://host:port (the port is required)";
    }
    else {
        port = 80;
    }
    out->port = (apr_port_t)port;

    if (out->kind == GOAPI_CHECK_TCP) {
        return *path == '\0' ? NULL : form;
    }
    if (*path == '\0') {
        out->path = "/";
        return NULL;
    }
    if (*path != '/') {
        return form;
    }
    for (s = path; *s; s++) {
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) {
            return "the path must be printable ASCII without spaces";
        }
    }
    out->path = apr_pstrdup(p, path);
    return NULL;
}

const char *goapi_check_name_parse(const char *name)
{
    apr_size_t n;

    for (n = 0; name[n]; n++) {
        if (!goapi_host_char(name[n])) {
            return "expected a check name of letters, digits, '-', '_' or '.'";
        }
    }
    if (n == 0 || n > GOAPI_CHECK_NAME_MAX) {
        return "expected a check name of 1 to 48 characters";
    }
    return NULL;
}

int goapi_http_status(const char *buf, apr_size_t len)
{
    int code = 0, i;

    /* "HTTP/1.x NNN" */
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || !apr_isdigit(buf[7])
        || buf[8] != ' ') {
        return -1;
    }
    for (i = 9; i < 12; i++) {
        if (!apr_isdigit(buf[i])) {
            return -1;
        }
        code = code * 10 + (buf[i] - '0');
    }
    if (len > 12 && buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n') {
        return -1;
    }
    return code >= 100 ? code : -1;
}

/* ---- the table ---------------------------------------------------------- */

/* Writers are one at a time: the check runner, or the parent laying out a
 * new configuration.  A writer that died holding the lock must not stop
 * the others for ever, so the wait is bounded. */
static void goapi_writer_lock(goapi_health *h)
{
    int spins;

    for (spins = 0; spins < 100000; spins++) {
        if (apr_atomic_cas32(&h->writer, 1, 0) == 0) {
            return;
        }
        apr_thread_yield();
    }
}

static void goapi_writer_unlock(goapi_health *h)
{
    apr_atomic_set32(&h->writer, 0);
}

static void goapi_entry_begin(goapi_health_entry *e)
{
    apr_atomic_set32(&e->seq, apr_atomic_read32(&e->seq) | 1u);   /* odd */
}

static void goapi_entry_end(goapi_health_entry *e)
{
    apr_atomic_set32(&e->seq, (apr_atomic_read32(&e->seq) | 1u) + 1u);  /* even */
}

void goapi_health_read(const goapi_health *h, int i, goapi_health_entry *out)
{
    goapi_health_entry *e = (goapi_health_entry *)&h->entry[i];
    int tries;

    for (tries = 0; tries < 10000; tries++) {
        /* the read-modify-writes of 0 are full barriers around the copy */
        apr_uint32_t before = apr_atomic_add32(&e->seq, 0);

        if (before & 1u) {
            apr_thread_yield();
            continue;
        }
        memcpy(out, e, sizeof(*out));
        if (apr_atomic_add32(&e->seq, 0) == before) {
            return;
        }
    }
    /* a writer died mid-update: report the entry as not usable */
    memcpy(out->name, e->name, sizeof(out->name));
    out->name[GOAPI_CHECK_NAME_MAX] = '\0';
    out->ran = 1;
    out->ok = 0;
    apr_cpystrn(out->reason, "result unreadable", sizeof(out->reason));
}

void goapi_health_configure(goapi_health *h, const char *const *names, int n)
{
    goapi_health_entry old[GOAPI_MAX_CHECKS];
    int nold, i, j;

    goapi_writer_lock(h);
    nold = (int)apr_atomic_read32(&h->nchecks);
    for (j = 0; j < nold && j < GOAPI_MAX_CHECKS; j++) {
        memcpy(&old[j], &h->entry[j], sizeof(old[j]));
    }
    for (i = 0; i < n && i < GOAPI_MAX_CHECKS; i++) {
        goapi_health_entry *e = &h->entry[i];

        goapi_entry_begin(e);
        for (j = 0; j < nold; j++) {
            if (strcmp(old[j].name, names[i]) == 0) {
                break;
            }
        }
        if (j < nold) {
            e->ran = old[j].ran;
            e->ok = old[j].ok;
            e->checked_at = old[j].checked_at;
            e->took = old[j].took;
            memcpy(e->reason, old[j].reason, sizeof(e->reason));
        }
        else {
            e->ran = e->ok = 0;
            e->checked_at = 0;
            e->took = 0;
            e->reason[0] = '\0';
        }
        apr_cpystrn(e->name, names[i], sizeof(e->name));
        goapi_entry_end(e);
    }
    apr_atomic_set32(&h->nchecks, (apr_uint32_t)i);
    goapi_writer_unlock(h);
}

void goapi_health_record(goapi_health *h, int i, const char *name, int ok,
                         const char *reason, apr_time_t at, apr_interval_time_t took)
{
    goapi_health_entry *e = &h->entry[i];

    goapi_writer_lock(h);
    if (i >= (int)apr_atomic_read32(&h->nchecks) || strcmp(e->name, name) != 0) {
        goapi_writer_unlock(h);
        return;
    }
    goapi_entry_begin(e);
    e->ran = 1;
    e->ok = ok ? 1 : 0;
    e->checked_at = at;
    e->took = took;
    apr_cpystrn(e->reason, ok || !reason ? "" : reason, sizeof(e->reason));
    goapi_entry_end(e);
    goapi_writer_unlock(h);
}

void goapi_health_round_done(goapi_health *h)
{
    apr_atomic_inc32(&h->rounds);
}

/* ---- answers --------------------------------------------------------- */

void goapi_readiness_snapshot(const goapi_health *h, goapi_readiness *r)
{
    int i, n = (int)apr_atomic_read32((volatile apr_uint32_t *)&h->nchecks);

    if (n > GOAPI_MAX_CHECKS) {
        n = GOAPI_MAX_CHECKS;
    }
    r->n = n;
    for (i = 0; i < n; i++) {
        goapi_health_read(h, i, &r->e[i]);
    }
}

static int goapi_check_passed(const goapi_health_entry *e)
{
    return e->ran && e->ok;
}

static const char *goapi_check_failure(const goapi_health_entry *e)
{
    return !e->ran ? "not run yet" : e->reason[0] ? e->reason : "failed";
}

int goapi_readiness_ok(const goapi_readiness *r)
{
    int i;

    if (!r->started || r->draining) {
        return 0;
    }
    for (i = 0; i < r->n; i++) {
        if (!goapi_check_passed(&r->e[i])) {
            return 0;
        }
    }
    return 1;
}

const char *goapi_readiness_text(apr_pool_t *p, const goapi_readiness *r)
{
    const char *out = "";
    int i;

    if (r->draining) {
        return r->shutting_down ? "shutting down\n" : "draining\n";
    }
    if (!r->started) {
        return "starting\n";
    }
    for (i = 0; i < r->n; i++) {
        if (!goapi_check_passed(&r->e[i])) {
            out = apr_pstrcat(p, out, "check ", r->e[i].name, " failed: ",
                              goapi_check_failure(&r->e[i]), "\n", NULL);
        }
    }
    return *out ? out : "ready\n";
}

void goapi_readiness_exclude(goapi_readiness *r, const char *args)
{
    int i, kept = 0;

    if (!args) {
        return;
    }
    for (i = 0; i < r->n; i++) {
        if (!goapi_probe_excluded(args, r->e[i].name)) {
            if (kept != i) {
                memcpy(&r->e[kept], &r->e[i], sizeof(r->e[kept]));
            }
            kept++;
        }
    }
    r->n = kept;
    if (goapi_probe_excluded(args, "startup")) {
        r->started = 1;
    }
    if (goapi_probe_excluded(args, "drain")) {
        r->draining = 0;
    }
}

const char *goapi_readiness_verbose(apr_pool_t *p, const goapi_readiness *r,
                                    const char *args)
{
    goapi_probe_check c[GOAPI_MAX_CHECKS + 2];
    int i;

    for (i = 0; i < r->n; i++) {
        c[i].name = r->e[i].name;
        c[i].ok = goapi_check_passed(&r->e[i]);
        c[i].reason = goapi_check_failure(&r->e[i]);
    }
    c[i].name = "startup";
    c[i].ok = r->started;
    c[i++].reason = "starting";
    c[i].name = "drain";
    c[i].ok = !r->draining;
    c[i++].reason = r->drain_reason ? r->drain_reason : "draining";
    return goapi_probe_verbose(p, "readyz", c, i, args);
}

const char *goapi_readiness_one(apr_pool_t *p, const goapi_readiness *r,
                                const char *name, int *ok)
{
    int i;

    for (i = 0; i < r->n; i++) {
        if (strcmp(r->e[i].name, name) == 0) {
            *ok = goapi_check_passed(&r->e[i]);
            return *ok ? "ok\n" : apr_pstrcat(p, "failed: ", goapi_check_failure(&r->e[i]),
                                              "\n", NULL);
        }
    }
    *ok = 0;
    return NULL;
}

/* RFC 3339 in UTC, to the second. */
static const char *goapi_rfc3339(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t x;

    apr_time_exp_gmt(&x, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", x.tm_year + 1900,
                        x.tm_mon + 1, x.tm_mday, x.tm_hour, x.tm_min, x.tm_sec);
}

const char *goapi_readiness_json(apr_pool_t *p, const goapi_readiness *r)
{
    int ok = goapi_readiness_ok(r), i;
    const char *out = apr_pstrcat(p, "{\"status\":\"", ok ? "pass" : "fail", "\"", NULL);

    if (!ok) {
        const char *why = r->draining ? (r->shutting_down ? "shutting down" : "draining")
                          : !r->started ? "starting" : "a check failed";
        out = apr_pstrcat(p, out, ",\"output\":", goapi_json_string(p, why), NULL);
    }
    out = apr_pstrcat(p, out, ",\"checks\":{", NULL);
    for (i = 0; i < r->n; i++) {
        const goapi_health_entry *e = &r->e[i];
        int pass = goapi_check_passed(e);

        out = apr_pstrcat(p, out, i ? "," : "", goapi_json_string(p, e->name),
                          ":[{\"status\":\"", pass ? "pass" : "fail", "\"", NULL);
        if (e->ran) {
            out = apr_psprintf(p, "%s,\"time\":\"%s\",\"observedValue\":%" APR_INT64_T_FMT
                               ",\"observedUnit\":\"ms\"", out,
                               goapi_rfc3339(p, e->checked_at),
                               (apr_int64_t)(e->took / 1000));
        }
        if (!pass) {
            out = apr_pstrcat(p, out, ",\"output\":",
                              goapi_json_string(p, goapi_check_failure(e)), NULL);
        }
        out = apr_pstrcat(p, out, "}]", NULL);
    }
    return apr_pstrcat(p, out, "}}\n", NULL);
}

const char *goapi_readiness_brief(const goapi_readiness *r)
{
    return r->draining ? (r->shutting_down ? "shutting down\n" : "draining\n")
           : !r->started ? "starting\n"
           : goapi_readiness_ok(r) ? "ready\n" : "not ready\n";
}

const char *goapi_readiness_json_brief(apr_pool_t *p, const goapi_readiness *r)
{
    const char *word = goapi_readiness_brief(r);

    if (goapi_readiness_ok(r)) {
        return "{\"status\":\"pass\"}\n";
    }
    return apr_pstrcat(p, "{\"status\":\"fail\",\"output\":\"",
                       apr_pstrmemdup(p, word, strlen(word) - 1), "\"}\n", NULL);
}
