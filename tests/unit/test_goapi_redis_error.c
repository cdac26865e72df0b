/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Redis failures named by their cause: hiredis' error kinds with the errno
 * each carries (timeouts of a command and of a connect, refusals, resets,
 * closes, protocol errors, unreachable hosts), error answers by their
 * first word (as Redis 7 sends them, from a script too) with near misses
 * that must not match, a phrase for every kind, and which failures leave a
 * sent write in doubt.
 */
#include <errno.h>
#include <string.h>

#include <hiredis/read.h>

#include "unit.h"
#include "goapi_redis_error.h"

static void test_io_errors(void **state)
{
    static const struct {
        int hiredis_err, errnum;
        goapi_redis_error_kind want;
    } cases[] = {
        { REDIS_ERR_IO, EAGAIN, GOAPI_REDIS_E_TIMEOUT },        /* SO_RCVTIMEO */
        { REDIS_ERR_IO, EWOULDBLOCK, GOAPI_REDIS_E_TIMEOUT },
        { REDIS_ERR_IO, ETIMEDOUT, GOAPI_REDIS_E_TIMEOUT },     /* connect */
        { REDIS_ERR_IO, EINPROGRESS, GOAPI_REDIS_E_TIMEOUT },
        { REDIS_ERR_IO, ECONNREFUSED, GOAPI_REDIS_E_REFUSED },
        { REDIS_ERR_IO, ENOENT, GOAPI_REDIS_E_REFUSED },        /* no unix socket */
        { REDIS_ERR_IO, ECONNRESET, GOAPI_REDIS_E_CLOSED },
        { REDIS_ERR_IO, EPIPE, GOAPI_REDIS_E_CLOSED },
        { REDIS_ERR_IO, ENOTCONN, GOAPI_REDIS_E_CLOSED },
        { REDIS_ERR_IO, EHOSTUNREACH, GOAPI_REDIS_E_UNREACHABLE },
        { REDIS_ERR_IO, ENETUNREACH, GOAPI_REDIS_E_UNREACHABLE },
        { REDIS_ERR_IO, EMFILE, GOAPI_REDIS_E_LOCAL },
        { REDIS_ERR_IO, 0, GOAPI_REDIS_E_LOCAL },
        { REDIS_ERR_EOF, 0, GOAPI_REDIS_E_CLOSED },
        { REDIS_ERR_EOF, EAGAIN, GOAPI_REDIS_E_CLOSED },        /* errno ignored */
        { REDIS_ERR_PROTOCOL, 0, GOAPI_REDIS_E_PROTOCOL },
        { REDIS_ERR_PROTOCOL, ETIMEDOUT, GOAPI_REDIS_E_PROTOCOL },
        { REDIS_ERR_OTHER, 0, GOAPI_REDIS_E_UNREACHABLE },      /* getaddrinfo */
        { REDIS_ERR_OOM, 0, GOAPI_REDIS_E_LOCAL },
        { 0, ECONNREFUSED, GOAPI_REDIS_E_LOCAL },
        { 99, 0, GOAPI_REDIS_E_LOCAL },
    };
    size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        goapi_redis_error_kind got = goapi_redis_error_io(cases[i].hiredis_err,
                                                          cases[i].errnum);

        if (got != cases[i].want) {
            fail_msg("case %zu (err %d, errno %d): kind %d, want %d", i,
                     cases[i].hiredis_err, cases[i].errnum, (int)got, (int)cases[i].want);
        }
    }
}

static void test_error_answers(void **state)
{
    static const struct {
        const char *text;
        goapi_redis_error_kind want;
    } cases[] = {
        { "OOM command not allowed when used memory > 'maxmemory'.", GOAPI_REDIS_E_OOM },
        { "OOM command not allowed when used memory > 'maxmemory'. script: c922ed6f, "
          "on @user_script:1.", GOAPI_REDIS_E_OOM },
        { "READONLY You can't write against a read only replica.", GOAPI_REDIS_E_READONLY },
        { "READONLY You can't write against a read only replica. script: c922ed6f, on "
          "@user_script:1.", GOAPI_REDIS_E_READONLY },
        { "NOAUTH Authentication required.", GOAPI_REDIS_E_AUTH },
        { "WRONGPASS invalid username-password pair or user is disabled.",
          GOAPI_REDIS_E_AUTH },
        { "NOPERM this user has no permissions to run the 'evalsha' command",
          GOAPI_REDIS_E_AUTH },
        { "ERR invalid password", GOAPI_REDIS_E_AUTH },
        { "ERR AUTH <password> called without any password configured for the default "
          "user. Are you sure your configuration is correct?", GOAPI_REDIS_E_AUTH },
        { "ERR Client sent AUTH, but no password is set", GOAPI_REDIS_E_AUTH },
        { "LOADING Redis is loading the dataset in memory", GOAPI_REDIS_E_NOT_READY },
        { "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
          GOAPI_REDIS_E_NOT_READY },
        { "BUSY Redis is busy running a script.", GOAPI_REDIS_E_NOT_READY },
        { "ERR DB index is out of range", GOAPI_REDIS_E_REPLY },
        { "NOSCRIPT No matching script.", GOAPI_REDIS_E_REPLY },
        { "ERR unknown command 'EVALSHA'", GOAPI_REDIS_E_REPLY },
        /* a word that only begins like one of them, or is not first */
        { "OOMPH", GOAPI_REDIS_E_REPLY },
        { "BUSYKEY Target key name already exists.", GOAPI_REDIS_E_REPLY },
        { "ERR OOM", GOAPI_REDIS_E_REPLY },
        { "oom command not allowed", GOAPI_REDIS_E_REPLY },
        { " OOM", GOAPI_REDIS_E_REPLY },
        { "OOM", GOAPI_REDIS_E_OOM },
        { "", GOAPI_REDIS_E_REPLY },
        { NULL, GOAPI_REDIS_E_REPLY },
    };
    size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        goapi_redis_error_kind got = goapi_redis_error_reply(cases[i].text);

        if (got != cases[i].want) {
            fail_msg("case %zu (%s): kind %d, want %d", i,
                     cases[i].text ? cases[i].text : "NULL", (int)got, (int)cases[i].want);
        }
    }
}

static void test_phrases(void **state)
{
    static const struct {
        goapi_redis_error_kind kind;
        const char *phrase;
    } cases[] = {
        { GOAPI_REDIS_E_NONE, "no error" },
        { GOAPI_REDIS_E_TIMEOUT, "timed out" },
        { GOAPI_REDIS_E_REFUSED, "connection refused" },
        { GOAPI_REDIS_E_CLOSED, "connection closed by the peer" },
        { GOAPI_REDIS_E_PROTOCOL, "protocol error" },
        { GOAPI_REDIS_E_UNREACHABLE, "unreachable" },
        { GOAPI_REDIS_E_OOM, "out of memory (OOM)" },
        { GOAPI_REDIS_E_READONLY, "read-only replica (READONLY)" },
        { GOAPI_REDIS_E_AUTH, "authentication failed" },
        { GOAPI_REDIS_E_NOT_READY, "not ready" },
        { GOAPI_REDIS_E_REPLY, "error answer" },
        { GOAPI_REDIS_E_REPLICAS, "too few replicas" },
        { GOAPI_REDIS_E_LOCAL, "failure in this process" },
        { (goapi_redis_error_kind)77, "failure in this process" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        assert_string_equal(goapi_redis_error_phrase(cases[i].kind), cases[i].phrase);
    }
}

static void test_unsure(void **state)
{
    goapi_redis_error_kind k;

    (void)state;
    for (k = GOAPI_REDIS_E_NONE; k <= GOAPI_REDIS_E_LOCAL; k++) {
        int in_doubt = k == GOAPI_REDIS_E_TIMEOUT || k == GOAPI_REDIS_E_CLOSED
                       || k == GOAPI_REDIS_E_PROTOCOL;

        /* never sent: surely not applied, whatever happened */
        assert_int_equal(goapi_redis_error_unsure(k, 0), 0);
        /* sent: in doubt only without an answer */
        assert_int_equal(goapi_redis_error_unsure(k, 1), in_doubt);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_io_errors),
        cmocka_unit_test(test_error_answers),
        cmocka_unit_test(test_phrases),
        cmocka_unit_test(test_unsure),
    };

    return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
