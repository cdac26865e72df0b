/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_redis_error.c — a failure of Redis named by its cause (see
 * goapi_redis_error.h).
 *
 * hiredis 0.14 reports a timeout as an I/O error whose errno is EAGAIN (a
 * read or write past SO_RCVTIMEO/SO_SNDTIMEO of a blocking socket) or
 * ETIMEDOUT (a connect past its timeout); a peer that closed as
 * REDIS_ERR_EOF, or as an I/O error with ECONNRESET/EPIPE when it reset.
 */
#include <errno.h>
#include <string.h>

#include <hiredis/read.h>

#include "goapi_redis_error.h"

goapi_redis_error_kind goapi_redis_error_io(int hiredis_err, int errnum)
{
    switch (hiredis_err) {
    case REDIS_ERR_EOF:
        return GOAPI_REDIS_E_CLOSED;
    case REDIS_ERR_PROTOCOL:
        return GOAPI_REDIS_E_PROTOCOL;
    case REDIS_ERR_OOM:
        return GOAPI_REDIS_E_LOCAL;
    case REDIS_ERR_OTHER:
        /* getaddrinfo() failed, or no address gave a socket */
        return GOAPI_REDIS_E_UNREACHABLE;
    case REDIS_ERR_IO:
        break;
    default:
        return GOAPI_REDIS_E_LOCAL;
    }
    switch (errnum) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case ETIMEDOUT:
    case EINPROGRESS:
        return GOAPI_REDIS_E_TIMEOUT;
    case ECONNREFUSED:
    case ENOENT:                /* a unix socket path with nothing there */
        return GOAPI_REDIS_E_REFUSED;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
    case ENOTCONN:
        return GOAPI_REDIS_E_CLOSED;
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
    case EADDRNOTAVAIL:
        return GOAPI_REDIS_E_UNREACHABLE;
    default:
        return GOAPI_REDIS_E_LOCAL;
    }
}

/* Does text begin with the word w (then a space or its end)? */
static int goapi_redis_word_is(const char *text, const char *w)
{
    size_t n = strlen(w);

    return strncmp(text, w, n) == 0 && (text[n] == ' ' || text[n] == '\0');
}

goapi_redis_error_kind goapi_redis_error_reply(const char *text)
{
    static const struct {
        const char *word;
        goapi_redis_error_kind kind;
    } words[] = {
        { "OOM", GOAPI_REDIS_E_OOM },
        { "READONLY", GOAPI_REDIS_E_READONLY },
        { "NOAUTH", GOAPI_REDIS_E_AUTH },
        { "WRONGPASS", GOAPI_REDIS_E_AUTH },
        { "NOPERM", GOAPI_REDIS_E_AUTH },
        { "LOADING", GOAPI_REDIS_E_NOT_READY },
        { "MASTERDOWN", GOAPI_REDIS_E_NOT_READY },
        { "BUSY", GOAPI_REDIS_E_NOT_READY },
    };
    size_t i;

    if (!text) {
        return GOAPI_REDIS_E_REPLY;
    }
    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (goapi_redis_word_is(text, words[i].word)) {
            return words[i].kind;
        }
    }
    /* before Redis 6, and AUTH sent to a server without a password */
    if (!strncmp(text, "ERR invalid password", 20) || !strncmp(text, "ERR AUTH ", 9)
        || !strncmp(text, "ERR Client sent AUTH", 20)) {
        return GOAPI_REDIS_E_AUTH;
    }
    return GOAPI_REDIS_E_REPLY;
}

const char *goapi_redis_error_phrase(goapi_redis_error_kind kind)
{
    switch (kind) {
    case GOAPI_REDIS_E_NONE:
        return "no error";
    case GOAPI_REDIS_E_TIMEOUT:
        return "timed out";
    case GOAPI_REDIS_E_REFUSED:
        return "connection refused";
    case GOAPI_REDIS_E_CLOSED:
        return "connection closed by the peer";
    case GOAPI_REDIS_E_PROTOCOL:
        return "protocol error";
    case GOAPI_REDIS_E_UNREACHABLE:
        return "unreachable";
    case GOAPI_REDIS_E_OOM:
        return "out of memory (OOM)";
    case GOAPI_REDIS_E_READONLY:
        return "read-only replica (READONLY)";
    case GOAPI_REDIS_E_AUTH:
        return "authentication failed";
    case GOAPI_REDIS_E_NOT_READY:
        return "not ready";
    case GOAPI_REDIS_E_REPLY:
        return "error answer";
    case GOAPI_REDIS_E_REPLICAS:
        return "too few replicas";
    case GOAPI_REDIS_E_LOCAL:
        break;
    }
    return "failure in this process";
}

int goapi_redis_error_unsure(goapi_redis_error_kind kind, int sent)
{
    return sent && (kind == GOAPI_REDIS_E_TIMEOUT || kind == GOAPI_REDIS_E_CLOSED
                    || kind == GOAPI_REDIS_E_PROTOCOL);
}
