/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_redis_error.h — what a failure of a Redis command was, as a small
 * set of causes an operator can act on: hiredis' error kind and errno (a
 * failure of the connection), or the first word of an error answer (a
 * refusal by the server).  Pure: libc and hiredis' constants only.
 */
#ifndef GOAPI_REDIS_ERROR_H
#define GOAPI_REDIS_ERROR_H

typedef enum {
    GOAPI_REDIS_E_NONE = 0,
    GOAPI_REDIS_E_TIMEOUT,      /* no connection or no answer within the timeout */
    GOAPI_REDIS_E_REFUSED,      /* connection refused: nothing listens there */
    GOAPI_REDIS_E_CLOSED,       /* the peer closed or reset the connection */
    GOAPI_REDIS_E_PROTOCOL,     /* bytes that are not RESP, or an answer of the wrong shape */
    GOAPI_REDIS_E_UNREACHABLE,  /* no route to the host, a name that does not resolve */
    GOAPI_REDIS_E_OOM,          /* -OOM: maxmemory reached, writes refused */
    GOAPI_REDIS_E_READONLY,     /* -READONLY: the server is a replica */
    GOAPI_REDIS_E_AUTH,         /* -NOAUTH, -WRONGPASS, -NOPERM, a refused AUTH */
    GOAPI_REDIS_E_NOT_READY,    /* -LOADING, -MASTERDOWN, -BUSY */
    GOAPI_REDIS_E_REPLY,        /* any other error answer */
    GOAPI_REDIS_E_REPLICAS,     /* WAIT: fewer replicas acknowledged a write than needed */
    GOAPI_REDIS_E_LOCAL         /* this process: out of memory, no socket */
} goapi_redis_error_kind;

/* A failed connect or command: hiredis_err is the context's err
 * (REDIS_ERR_IO, _EOF, _PROTOCOL, _OOM, _OTHER), errnum the errno taken
 * right after the failing call (it matters for REDIS_ERR_IO only). */
goapi_redis_error_kind goapi_redis_error_io(int hiredis_err, int errnum);

/* An error answer, by its first word ("OOM command not allowed ...");
 * Redis keeps that word when a command inside a script fails. */
goapi_redis_error_kind goapi_redis_error_reply(const char *text);

/* A few words that name the cause, for the start of a log line. */
const char *goapi_redis_error_phrase(goapi_redis_error_kind kind);

/* 1 when a command that failed so may still have been applied: it was
 * sent (sent != 0) and no answer came back (timed out, cut, unreadable).
 * An error answer means the server did not apply it. */
int goapi_redis_error_unsure(goapi_redis_error_kind kind, int sent);

#endif /* GOAPI_REDIS_ERROR_H */
