/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * What of a configured URL a message may show: the scheme alone, and a
 * well-formed URL with its userinfo and query values masked; a table of
 * values that each hold the password "Pw-51d3", which never comes back.
 */
#include <string.h>

#include "unit.h"
#include "goapi_redact.h"

static void test_scheme(void **state)
{
    static const struct {
        const char *text;
        const char *scheme;             /* NULL: none */
    } cases[] = {
        { "redis://h", "redis" },
        { "redis-sentinel://s/m", "redis-sentinel" },
        { "lmdb:/x", "lmdb" },
        { "lmdb:", "lmdb" },
        { "a+b.c-d:x", "a+b.c-d" },
        { "HTTP://h", "HTTP" },
        { "x1:", "x1" },
        { ":pw@h", NULL },
        { "pw@h", NULL },
        { "1a://h", NULL },
        { "-a://h", NULL },
        { "a_b://h", NULL },
        { "a b://h", NULL },
        { "", NULL },
        { "redis", NULL },
        /* 32 bytes are shown, 33 are not */
        { "abcdefghijklmnopqrstuvwxyzabcdef:x", "abcdefghijklmnopqrstuvwxyzabcdef" },
        { "abcdefghijklmnopqrstuvwxyzabcdefg:x", NULL },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        const char *got = goapi_redact_scheme(unit_pool, cases[i].text);

        if (cases[i].scheme ? !got || strcmp(got, cases[i].scheme) != 0 : got != NULL) {
            fail_msg("%s: scheme %s, want %s", cases[i].text, got ? got : "(none)",
                     cases[i].scheme ? cases[i].scheme : "(none)");
        }
    }
}

static void test_url(void **state)
{
    static const struct {
        const char *text;
        const char *shown;
    } cases[] = {
        { "redis://h:6379/0", "redis://h:6379/0" },
        { "redis://u:Pw-51d3@h:6379/0", "redis://***@h:6379/0" },
        { "redis://:Pw-51d3@h", "redis://***@h" },
        { "redis://u@h", "redis://***@h" },
        { "redis://:Pw@51d3@h/1", "redis://***@h/1" },
        { "redis:/:Pw-51d3@h", "redis:***@h" },
        { "rediss://u:Pw-51d3@[::1]:6380", "rediss://***@[::1]:6380" },
        { ":Pw-51d3@h", "***@h" },
        { "u:Pw-51d3@h", "u:***@h" },
        { "http://h/health", "http://h/health" },
        { "http://h/health?token=Pw-51d3", "http://h/health?token=***" },
        { "http://h/x?a=1&b=Pw-51d3;c", "http://h/x?a=***&b=***;***" },
        { "http://h/x?Pw-51d3", "http://h/x?***" },
        { "http://h/x?", "http://h/x?***" },
        { "http://h/x?&", "http://h/x?***&***" },
        { "http://h/x?a=b=Pw-51d3", "http://h/x?a=***" },
        { "http://h/x?t=Pw-51d3#f", "http://h/x?t=***" },
        { "unix:/s?db=1&password=Pw-51d3", "unix:/s?db=***&password=***" },
        { "http://u:Pw-51d3@h/x?k=Pw-51d3", "http://***@h/x?k=***" },
        { "lmdb:/var/lib/goapi.mdb", "lmdb:/var/lib/goapi.mdb" },
        { "", "" },
        { "@", "***@" },
        { "?", "?***" },
        { "@?&;", "***@?***&***;***" },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        const char *got = goapi_redact_url(unit_pool, cases[i].text);

        if (strcmp(got, cases[i].shown) != 0) {
            fail_msg("%s: shown as %s, want %s", cases[i].text, got, cases[i].shown);
        }
        if (strstr(got, "51d3")) {
            fail_msg("%s: the password is shown: %s", cases[i].text, got);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scheme),
        cmocka_unit_test(test_url),
    };

    return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
