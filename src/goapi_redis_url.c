/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_redis_url.c — Redis store URLs (see goapi_redis_url.h).
 */
#include <string.h>

#include <apr_cstr.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "goapi_path.h"
#include "goapi_redact.h"
#include "goapi_redis_url.h"

#define GOAPI_REDIS_SCHEME      "redis://"
#define GOAPI_UNIX_SCHEME       "unix:"
#define GOAPI_SENTINEL_SCHEME   "redis-sentinel://"

static int goapi_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int goapi_redis_url_is(const char *text)
{
    return goapi_has_prefix(text, GOAPI_REDIS_SCHEME) || goapi_has_prefix(text, GOAPI_UNIX_SCHEME)
           || goapi_has_prefix(text, GOAPI_SENTINEL_SCHEME);
}

/* A number of digits only, in [min, max]. */
static int goapi_redis_number(const char *s, apr_size_t n, long min, long max, long *out)
{
    long v = 0;
    apr_size_t i;

    if (n == 0 || n > 10) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v < min || v > max) {
        return 0;
    }
    *out = v;
    return 1;
}

/* A percent-decoded user name or password: no NUL, no control byte. */
static const char *goapi_redis_secret(apr_pool_t *p, const char *s, apr_size_t n,
                                      const char **out)
{
    char *buf;
    apr_ssize_t len, i;

    if (n > GOAPI_REDIS_MAX_FIELD) {
        return "a user name or password is too long (512 bytes at most)";
    }
    buf = apr_palloc(p, n + 1);
    len = goapi_pct_decode(s, n, buf);
    if (len < 0) {
        return "a user name or password has a '%' not followed by two hex digits";
    }
    for (i = 0; i < len; i++) {
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f) {
            return "a user name or password holds a control character";
        }
    }
    *out = buf;
    return NULL;
}

/* "user:password", "user", ":password" before the '@'. */
static const char *goapi_redis_userinfo(apr_pool_t *p, const char *s, apr_size_t n,
                                        goapi_redis_target *t)
{
    const char *colon = memchr(s, ':', n);
    apr_size_t ulen = colon ? (apr_size_t)(colon - s) : n;
    const char *err = NULL;

    if (ulen > 0) {
        err = goapi_redis_secret(p, s, ulen, &t->user);
    }
    if (!err && colon) {
        err = goapi_redis_secret(p, colon + 1, n - ulen - 1, &t->password);
        if (!err && !*t->password) {
            err = "the password after ':' is empty";
        }
    }
    return err;
}

static int goapi_redis_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || c == '-' || c == '.' || c == '_';
}

/* host[:port] or [v6][:port]. */
static const char *goapi_redis_hostport(apr_pool_t *p, const char *s, apr_size_t n,
                                        apr_port_t def, goapi_redis_addr *a)
{
    const char *host = s, *rest;
    apr_size_t hlen, i;
    long port = def;

    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);

        if (!close || close == s + 1) {
            return "an IPv6 address must be written in brackets, e.g. [::1]:6379";
        }
        host = s + 1;
        hlen = (apr_size_t)(close - host);
        for (i = 0; i < hlen; i++) {
            if (!(apr_isxdigit(host[i]) || host[i] == ':' || host[i] == '.')) {
                return "an IPv6 address holds only hex digits, ':' and '.'";
            }
        }
        rest = close + 1;
    }
    else {
        const char *colon = memchr(s, ':', n);

        if (colon && memchr(colon + 1, ':', (apr_size_t)(s + n - colon - 1))) {
            return "an IPv6 address must be written in brackets, e.g. [::1]:6379";
        }
        hlen = colon ? (apr_size_t)(colon - s) : n;
        for (i = 0; i < hlen; i++) {
            if (!goapi_redis_host_char(host[i])) {
                return "a host name holds only letters, digits, '-', '.' and '_' (an "
                       "IPv6 address goes in brackets)";
            }
        }
        rest = s + hlen;
    }
    if (hlen == 0 || hlen > 253) {
        return "a host is missing or too long";
    }
    if (rest < s + n) {
        if (*rest != ':' || !goapi_redis_number(rest + 1, (apr_size_t)(s + n - rest - 1), 1,
                                                65535, &port)) {
            return "the port must be a number from 1 to 65535";
        }
    }
    a->host = apr_pstrmemdup(p, host, hlen);
    a->port = (apr_port_t)port;
    return NULL;
}

static const char *goapi_redis_db(const char *s, apr_size_t n, int *db)
{
    long v;

    if (!goapi_redis_number(s, n, 0, GOAPI_REDIS_MAX_DB, &v)) {
        return "the database must be a number from 0 to 1048575";
    }
    *db = (int)v;
    return NULL;
}

/* The part before the first '/' (or the end) and its userinfo. */
static const char *goapi_redis_authority(apr_pool_t *p, const char *s, const char **end,
                                         const char **hosts, goapi_redis_target *t)
{
    const char *slash = strchr(s, '/');
    const char *stop = slash ? slash : s + strlen(s);
    const char *at = NULL, *c;
    const char *err = NULL;

    for (c = s; c < stop; c++) {
        if (*c == '@') {
            at = c;             /* the last one: a password may hold '@' escaped only */
        }
    }
    if (at) {
        err = goapi_redis_userinfo(p, s, (apr_size_t)(at - s), t);
    }
    *hosts = at ? at + 1 : s;
    *end = stop;
    return err;
}

static const char *goapi_redis_parse_tcp(apr_pool_t *p, const char *s, goapi_redis_target *t)
{
    const char *hosts, *end, *err;

    if ((err = goapi_redis_authority(p, s, &end, &hosts, t)) != NULL
        || (err = goapi_redis_hostport(p, hosts, (apr_size_t)(end - hosts), GOAPI_REDIS_PORT,
                                       &t->addr)) != NULL) {
        return err;
    }
    if (*end == '/' && end[1]) {
        return goapi_redis_db(end + 1, strlen(end + 1), &t->db);
    }
    return NULL;
}

static const char *goapi_redis_parse_sentinel(apr_pool_t *p, const char *s,
                                              goapi_redis_target *t)
{
    const char *hosts, *end, *err, *name, *slash;

    if ((err = goapi_redis_authority(p, s, &end, &hosts, t)) != NULL) {
        return err;
    }
    while (hosts < end) {
        const char *comma = memchr(hosts, ',', (apr_size_t)(end - hosts));
        const char *stop = comma ? comma : end;

        if (t->nsentinels == GOAPI_REDIS_MAX_SENTINELS) {
            return "at most 8 sentinels";
        }
        if ((err = goapi_redis_hostport(p, hosts, (apr_size_t)(stop - hosts),
                                        GOAPI_REDIS_SENTINEL_PORT,
                                        &t->sentinels[t->nsentinels++])) != NULL) {
            return err;
        }
        hosts = comma ? comma + 1 : end;
        if (comma && hosts == end) {
            return "a sentinel is missing after ','";
        }
    }
    if (!t->nsentinels) {
        return "at least one sentinel, host:port";
    }
    if (*end != '/' || !end[1] || end[1] == '/') {
        return "the master's name must follow the sentinels: "
               "redis-sentinel://host:port/mymaster";
    }
    name = end + 1;
    slash = strchr(name, '/');
    if ((slash ? (apr_size_t)(slash - name) : strlen(name)) > GOAPI_REDIS_MAX_FIELD) {
        return "the master's name is too long";
    }
    for (end = name; *end && *end != '/'; end++) {
        if (!goapi_redis_host_char(*end)) {
            return "the master's name holds only letters, digits, '-', '.' and '_'";
        }
    }
    t->master = apr_pstrmemdup(p, name, (apr_size_t)(end - name));
    if (slash && slash[1]) {
        return goapi_redis_db(slash + 1, strlen(slash + 1), &t->db);
    }
    return NULL;
}

static const char *goapi_redis_parse_unix(apr_pool_t *p, const char *s, goapi_redis_target *t)
{
    const char *q = strchr(s, '?'), *err = NULL, *c;

    if (*s != '/') {
        return "the socket's path must be absolute: unix:/run/redis/redis.sock";
    }
    t->path = q ? apr_pstrmemdup(p, s, (apr_size_t)(q - s)) : s;
    if (strlen(t->path) < 2 || strlen(t->path) > 107) {
        return "the socket's path is empty or longer than a socket address holds";
    }
    /* what logs show of it: a password misplaced in it ("&password=")
     * must not pass for a file name */
    for (c = t->path; *c; c++) {
        if (*c != '/' && *c != '+' && *c != '~' && !goapi_redis_host_char(*c)) {
            return "the socket's path holds only letters, digits, '/', '-', '.', '_', "
                   "'+' and '~'; db, user and password follow a '?'";
        }
    }
    while (q && !err) {
        const char *v = q + 1, *amp = strchr(v, '&');
        apr_size_t n = amp ? (apr_size_t)(amp - v) : strlen(v);

        if (n > 3 && !strncmp(v, "db=", 3)) {
            err = goapi_redis_db(v + 3, n - 3, &t->db);
        }
        else if (n > 5 && !strncmp(v, "user=", 5)) {
            err = goapi_redis_secret(p, v + 5, n - 5, &t->user);
        }
        else if (n > 9 && !strncmp(v, "password=", 9)) {
            err = goapi_redis_secret(p, v + 9, n - 9, &t->password);
        }
        else {
            err = "after '?' come db=N, user=U and password=P, joined by '&'";
        }
        q = amp;
    }
    return err;
}

const char *goapi_redis_url_parse(apr_pool_t *p, const char *text, goapi_redis_target *t)
{
    memset(t, 0, sizeof(*t));
    if (goapi_has_prefix(text, GOAPI_REDIS_SCHEME)) {
        t->kind = GOAPI_REDIS_TCP;
        return goapi_redis_parse_tcp(p, text + strlen(GOAPI_REDIS_SCHEME), t);
    }
    if (goapi_has_prefix(text, GOAPI_SENTINEL_SCHEME)) {
        t->kind = GOAPI_REDIS_SENTINEL;
        return goapi_redis_parse_sentinel(p, text + strlen(GOAPI_SENTINEL_SCHEME), t);
    }
    if (goapi_has_prefix(text, GOAPI_UNIX_SCHEME)) {
        t->kind = GOAPI_REDIS_UNIX;
        return goapi_redis_parse_unix(p, text + strlen(GOAPI_UNIX_SCHEME), t);
    }
    return "expected redis://[user[:password]@]host[:port][/db], "
           "unix:/path/to/redis.sock[?db=N] or "
           "redis-sentinel://host:port[,host:port...]/master[/db]";
}

const char *goapi_redis_url_unknown(apr_pool_t *p, const char *text)
{
    static const char *const known[] = { "lmdb", "redis", "unix", "redis-sentinel" };
    const char *scheme = goapi_redact_scheme(p, text);
    const char *why = NULL;
    apr_size_t i;

    if (!scheme) {
        why = "it has no scheme";
    }
    for (i = 0; !why && i < sizeof(known) / sizeof(known[0]); i++) {
        if (!strcmp(scheme, known[i])) {
            why = !strncmp(scheme, "redis", 5)
                  ? apr_psprintf(p, "'%s:' is not followed by '//' (%s://host)", scheme,
                                 scheme)
                  : apr_psprintf(p, "'%s:' is not followed by a path", scheme);
        }
        else if (!apr_cstr_casecmp(scheme, known[i])) {
            why = apr_psprintf(p, "unknown scheme '%s': schemes are written in lower "
                               "case ('%s')", scheme, known[i]);
        }
    }
    if (!why) {
        const char *hint = "";

        if (!apr_cstr_casecmp(scheme, "rediss") || !apr_cstr_casecmp(scheme, "valkeys")) {
            hint = ": TLS is not supported";
        }
        else if (!apr_cstr_casecmp(scheme, "valkey")) {
            hint = ": a Valkey server is written redis://host";
        }
        else if (!apr_cstr_casecmp(scheme, "redis+sentinel")) {
            hint = ": sentinels are written redis-sentinel://";
        }
        why = apr_psprintf(p, "unknown scheme '%s'%s", scheme, hint);
    }
    return apr_pstrcat(p, why, "; expected " GOAPI_STORE_FORMS, NULL);
}

static const char *goapi_redis_addr_text(apr_pool_t *p, const goapi_redis_addr *a)
{
    return apr_psprintf(p, strchr(a->host, ':') ? "[%s]:%u" : "%s:%u", a->host,
                        (unsigned)a->port);
}

const char *goapi_redis_url_display(apr_pool_t *p, const goapi_redis_target *t)
{
    const char *cred = t->user && t->password ? "***:***@" : t->user ? "***@"
                       : t->password ? ":***@" : "";
    const char *out;
    int i;

    if (t->kind == GOAPI_REDIS_UNIX) {
        return apr_psprintf(p, "unix:%s?db=%d%s%s", t->path, t->db,
                            t->user ? "&user=***" : "", t->password ? "&password=***" : "");
    }
    if (t->kind == GOAPI_REDIS_TCP) {
        return apr_psprintf(p, "redis://%s%s/%d", cred, goapi_redis_addr_text(p, &t->addr),
                            t->db);
    }
    out = apr_pstrcat(p, "redis-sentinel://", cred, NULL);
    for (i = 0; i < t->nsentinels; i++) {
        out = apr_pstrcat(p, out, i ? "," : "", goapi_redis_addr_text(p, &t->sentinels[i]),
                          NULL);
    }
    return apr_psprintf(p, "%s/%s/%d", out, t->master, t->db);
}
