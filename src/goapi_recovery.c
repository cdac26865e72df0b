/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_recovery.c — see goapi_recovery.h.
 */
#include <pthread.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "goapi_check.h"
#include "goapi_idem.h"
#include "goapi_recovery.h"

goapi_recovery_verdict goapi_recovery_judge(int status)
{
    if (status == 404 || status == 410) {
        return GOAPI_RECOVERY_RUN;
    }
    if (status >= 200 && status <= 299) {
        return GOAPI_RECOVERY_FINAL;
    }
    if (status >= 400 && status <= 499 && status != 409 && status != 425 && status != 429) {
        return GOAPI_RECOVERY_FINAL;
    }
    return GOAPI_RECOVERY_UNKNOWN;
}

/* ---- the answer ---------------------------------------------------------- */

/* Headers a replay never carries: hop-by-hop, and those every answer
 * makes anew. */
static int goapi_recovery_dropped(const char *name, const char *const *skip)
{
    static const char *const own[] = {
        "Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Trailer", "Upgrade",
        "Content-Length", "Date", "Server", NULL
    };
    int i;

    if (!strncasecmp(name, "Proxy-", 6)) {
        return 1;
    }
    for (i = 0; own[i]; i++) {
        if (!strcasecmp(name, own[i])) {
            return 1;
        }
    }
    for (i = 0; skip && skip[i]; i++) {
        if (!strcasecmp(name, skip[i])) {
            return 1;
        }
    }
    return 0;
}

/* The end of the line that starts at s (before end): where its CRLF or LF
 * begins, or NULL when none is there yet.  *next is the next line. */
static const char *goapi_line_end(const char *s, const char *end, const char **next)
{
    const char *lf = memchr(s, '\n', (apr_size_t)(end - s));

    if (!lf) {
        return NULL;
    }
    *next = lf + 1;
    return (lf > s && lf[-1] == '\r') ? lf - 1 : lf;
}

static int goapi_token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?={}", c);
}

/* A chunked body in s[0, end): decoded into *out, or a status as for the
 * whole response. */
static apr_status_t goapi_dechunk(apr_pool_t *p, const char *s, const char *end,
                                  apr_size_t max, const char **out, apr_size_t *out_len)
{
    char *body = NULL;
    apr_size_t n = 0;

    for (;;) {
        const char *next, *eol = goapi_line_end(s, end, &next), *q;
        apr_size_t size = 0;

        if (!eol) {
            return (apr_size_t)(end - s) > 32 ? APR_EINVAL : APR_INCOMPLETE;
        }
        for (q = s; q < eol && apr_isxdigit(*q); q++) {
            if (size > (max + 1) / 16 + 1) {
                return APR_ENOSPC;
            }
            size = size * 16 + (apr_size_t)(apr_isdigit(*q) ? *q - '0'
                                                           : apr_tolower(*q) - 'a' + 10);
        }
        if (q == s || (q < eol && *q != ';')) {
            return APR_EINVAL;
        }
        s = next;
        if (size == 0) {
            /* trailers, then an empty line */
            for (;;) {
                eol = goapi_line_end(s, end, &next);
                if (!eol) {
                    return APR_INCOMPLETE;
                }
                if (eol == s) {
                    break;
                }
                s = next;
            }
            *out = body ? body : "";
            *out_len = n;
            return APR_SUCCESS;
        }
        if (n + size > max) {
            return APR_ENOSPC;
        }
        if ((apr_size_t)(end - s) < size + 2) {
            return APR_INCOMPLETE;
        }
        if (!body) {
            body = apr_palloc(p, max + 1);
        }
        memcpy(body + n, s, size);
        n += size;
        s += size;
        if (*s == '\r') {
            s++;
        }
        if (*s != '\n') {
            return APR_EINVAL;
        }
        s++;
    }
}

apr_status_t goapi_recovery_parse(apr_pool_t *p, const char *buf, apr_size_t len,
                                  int closed, apr_size_t max_body,
                                  const char *const *skip, goapi_recovery_answer *a)
{
    const char *end = buf + len, *s = buf, *next, *eol;
    const char *cl = NULL, *te = NULL;
    apr_off_t length = -1;
    int status;

    memset(a, 0, sizeof(*a));
    /* the status line; interim answers (1xx but 101) are passed over */
    for (;;) {
        eol = goapi_line_end(s, end, &next);
        if (!eol) {
            return (apr_size_t)(end - s) > GOAPI_RECOVERY_MAX_HEAD ? APR_EINVAL
                   : closed ? APR_EINVAL : APR_INCOMPLETE;
        }
        status = goapi_http_status(s, (apr_size_t)(eol - s));
        if (status < 100 || status > 599 || status == 101) {
            return APR_EINVAL;
        }
        a->headers = apr_array_make(p, 8, sizeof(goapi_idem_header));
        s = next;
        for (;;) {
            const char *colon, *v, *vend;
            char *name;

            eol = goapi_line_end(s, end, &next);
            if (!eol) {
                return (apr_size_t)(end - buf) > GOAPI_RECOVERY_MAX_HEAD || closed
                       ? APR_EINVAL : APR_INCOMPLETE;
            }
            if (eol == s) {
                s = next;
                break;
            }
            if (*s == ' ' || *s == '\t') {
                return APR_EINVAL;          /* obsolete line folding */
            }
            for (colon = s; colon < eol && goapi_token_char((unsigned char)*colon); colon++)
                ;
            if (colon == s || colon == eol || *colon != ':') {
                return APR_EINVAL;
            }
            for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
                ;
            for (vend = eol; vend > v && (vend[-1] == ' ' || vend[-1] == '\t'); vend--)
                ;
            if (memchr(v, '\0', (apr_size_t)(vend - v)) || memchr(v, '\r', (apr_size_t)(vend - v))) {
                return APR_EINVAL;
            }
            name = apr_pstrmemdup(p, s, (apr_size_t)(colon - s));
            if (!strcasecmp(name, "Content-Length")) {
                cl = apr_pstrmemdup(p, v, (apr_size_t)(vend - v));
            }
            else if (!strcasecmp(name, "Transfer-Encoding")) {
                te = apr_pstrmemdup(p, v, (apr_size_t)(vend - v));
            }
            if (status >= 200 && !goapi_recovery_dropped(name, skip)) {
                goapi_idem_header *h;

                if (a->headers->nelts >= GOAPI_IDEM_MAX_HEADERS
                    || vend - v > GOAPI_IDEM_MAX_HEADER_BYTES
                    || colon - s > GOAPI_IDEM_MAX_HEADER_BYTES) {
                    return APR_ENOSPC;
                }
                h = apr_array_push(a->headers);
                h->name = name;
                h->value = apr_pstrmemdup(p, v, (apr_size_t)(vend - v));
            }
            s = next;
        }
        if (status >= 200) {
            break;
        }
        cl = te = NULL;
    }
    a->status = status;
    if (status == 204 || status == 304) {
        a->body = "";
        return APR_SUCCESS;
    }
    if (te) {
        if (strcasecmp(te, "chunked") != 0) {
            return APR_EINVAL;
        }
        return goapi_dechunk(p, s, end, max_body, &a->body, &a->body_len);
    }
    if (cl) {
        char *stop;

        if (!*cl || !apr_isdigit(*cl) || apr_strtoff(&length, cl, &stop, 10) != APR_SUCCESS
            || *stop || length < 0) {
            return APR_EINVAL;
        }
        if ((apr_uint64_t)length > max_body) {
            return APR_ENOSPC;
        }
        if ((apr_off_t)(end - s) < length) {
            return closed ? APR_EINVAL : APR_INCOMPLETE;
        }
        a->body = apr_pstrmemdup(p, s, (apr_size_t)length);
        a->body_len = (apr_size_t)length;
        return APR_SUCCESS;
    }
    /* no length: the body ends with the connection */
    if ((apr_size_t)(end - s) > max_body) {
        return APR_ENOSPC;
    }
    if (!closed) {
        return APR_INCOMPLETE;
    }
    a->body = apr_pstrmemdup(p, s, (apr_size_t)(end - s));
    a->body_len = (apr_size_t)(end - s);
    return APR_SUCCESS;
}

/* ---- the question ---------------------------------------------------------- */

const char *goapi_recovery_request(apr_pool_t *p, const goapi_check_url *u,
                                   const apr_array_header_t *headers)
{
    int v6 = strchr(u->host, ':') != NULL, i;
    char *text = apr_psprintf(p, "GET %s HTTP/1.1\r\nHost: %s%s%s:%u\r\n"
                              "User-Agent: mod_goapi-recovery\r\nAccept: */*\r\n"
                              "Connection: close\r\n", u->path, v6 ? "[" : "", u->host,
                              v6 ? "]" : "", (unsigned)u->port);

    for (i = 0; headers && i < headers->nelts; i++) {
        const goapi_idem_header *h = &APR_ARRAY_IDX(headers, i, goapi_idem_header);

        text = apr_pstrcat(p, text, h->name, ": ", h->value, "\r\n", NULL);
    }
    return apr_pstrcat(p, text, "\r\n", NULL);
}

static apr_interval_time_t goapi_recovery_left(apr_time_t deadline)
{
    apr_interval_time_t left = deadline - apr_time_now();

    return left > 0 ? left : 0;
}

apr_status_t goapi_recovery_ask(apr_pool_t *p, const goapi_check_url *u,
                                const char *request, apr_time_t deadline,
                                apr_size_t max_body, const char *const *skip,
                                goapi_recovery_answer *a, const char **why)
{
    apr_interval_time_t timeout = goapi_recovery_left(deadline);
    apr_size_t cap = GOAPI_RECOVERY_MAX_HEAD + max_body + 4096, got = 0, n;
    apr_socket_t *sock;
    apr_status_t rv;
    char *buf;
    char err[120];

    *why = NULL;
    sock = goapi_check_connect(p, u, deadline, timeout, why);
    if (!sock) {
        return APR_ECONNREFUSED;
    }
    n = strlen(request);
    rv = apr_socket_send(sock, request, &n);
    if (rv != APR_SUCCESS) {
        *why = apr_psprintf(p, "send: %s", apr_strerror(rv, err, sizeof(err)));
        apr_socket_close(sock);
        return rv;
    }
    buf = apr_palloc(p, cap);
    for (;;) {
        apr_interval_time_t left = goapi_recovery_left(deadline);
        apr_status_t parsed;
        int closed = 0;

        if (!left) {
            rv = APR_TIMEUP;
            break;
        }
        apr_socket_timeout_set(sock, left);
        n = cap - got;
        rv = apr_socket_recv(sock, buf + got, &n);
        got += n;
        if (APR_STATUS_IS_EOF(rv)) {
            closed = 1;
        }
        else if (rv != APR_SUCCESS) {
            break;
        }
        parsed = goapi_recovery_parse(p, buf, got, closed, max_body, skip, a);
        if (parsed != APR_INCOMPLETE) {
            rv = parsed;
            if (rv == APR_ENOSPC) {
                *why = "the answer is larger than GoapiIdempotencyMaxResponse";
            }
            else if (rv == APR_EINVAL) {
                *why = "the answer is not a well-formed HTTP/1.1 response";
            }
            break;
        }
        if (closed || got == cap) {
            rv = APR_EINVAL;
            *why = closed ? "the connection closed before the answer ended"
                          : "the answer is larger than it may be";
            break;
        }
    }
    apr_socket_close(sock);
    if (rv != APR_SUCCESS && !*why) {
        *why = APR_STATUS_IS_TIMEUP(rv) || APR_STATUS_IS_ETIMEDOUT(rv)
               ? "no answer within the request's time"
               : apr_psprintf(p, "receive: %s", apr_strerror(rv, err, sizeof(err)));
    }
    return rv;
}

/* ---- one question per key per interval ------------------------------------ */

#define GOAPI_RECOVERY_SLOTS 1024

typedef struct {
    unsigned char key[16];
    apr_time_t at;
} goapi_recovery_slot;

struct goapi_recovery_limiter {
    pthread_mutex_t mutex;
    goapi_recovery_slot slot[GOAPI_RECOVERY_SLOTS];
};

static apr_status_t goapi_recovery_limiter_free(void *data)
{
    goapi_recovery_limiter *l = data;

    pthread_mutex_destroy(&l->mutex);
    return APR_SUCCESS;
}

goapi_recovery_limiter *goapi_recovery_limiter_create(apr_pool_t *p)
{
    goapi_recovery_limiter *l = apr_pcalloc(p, sizeof(*l));

    if (pthread_mutex_init(&l->mutex, NULL) != 0) {
        return NULL;
    }
    apr_pool_cleanup_register(p, l, goapi_recovery_limiter_free, apr_pool_cleanup_null);
    return l;
}

int goapi_recovery_due(goapi_recovery_limiter *l, const unsigned char key[GOAPI_SHA256_LEN],
                       apr_time_t now, apr_interval_time_t interval)
{
    goapi_recovery_slot *s;
    apr_uint32_t h;
    int due;

    if (!l) {
        return 1;
    }
    /* the key is a SHA-256 already: its bytes are the hash */
    memcpy(&h, key + 16, sizeof(h));
    s = &l->slot[h % GOAPI_RECOVERY_SLOTS];
    pthread_mutex_lock(&l->mutex);
    due = memcmp(s->key, key, sizeof(s->key)) != 0 || now - s->at >= interval || now < s->at;
    if (due) {
        memcpy(s->key, key, sizeof(s->key));
        s->at = now;
    }
    pthread_mutex_unlock(&l->mutex);
    return due;
}
