/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Which clients may see the probes' detail: parsing the directive's words
 * and matching client addresses.
 */
#include <string.h>

#include <apr_strings.h>

#include "unit.h"
#include "goapi_allow.h"

static apr_sockaddr_t *addr(const char *ip)
{
    apr_sockaddr_t *sa = NULL;

    assert_int_equal(apr_sockaddr_info_get(&sa, ip, APR_UNSPEC, 80, 0, unit_pool),
                     APR_SUCCESS);
    return sa;
}

static const char *parse(const char *line, goapi_allow *out)
{
    const char *words[8];
    char *copy = apr_pstrdup(unit_pool, line), *last = NULL, *w;
    int n = 0;

    for (w = apr_strtok(copy, " ", &last); w && n < 8; w = apr_strtok(NULL, " ", &last)) {
        words[n++] = w;
    }
    return goapi_allow_parse(unit_pool, words, n, out);
}

static void test_parse_valid(void **state)
{
    static const struct { const char *line; goapi_allow_mode mode; int local; int nets; } ok[] = {
        { "local", GOAPI_ALLOW_LISTED, 1, 2 },
        { "all", GOAPI_ALLOW_ALL, 0, 0 },
        { "off", GOAPI_ALLOW_NONE, 0, 0 },
        { "10.0.0.0/8", GOAPI_ALLOW_LISTED, 0, 1 },
        { "local 10.0.0.0/8 fd00::/8", GOAPI_ALLOW_LISTED, 1, 4 },
        { "192.168.1.7", GOAPI_ALLOW_LISTED, 0, 1 },
        { "10.1", GOAPI_ALLOW_LISTED, 0, 1 },
        { "172.16.0.0/255.240.0.0", GOAPI_ALLOW_LISTED, 0, 1 },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(ok); i++) {
        goapi_allow a;
        const char *err = parse(ok[i].line, &a);

        if (err) {
            fail_msg("'%s' refused: %s", ok[i].line, err);
        }
        assert_int_equal(a.mode, ok[i].mode);
        assert_int_equal(a.local, ok[i].local);
        assert_string_equal(a.shown, ok[i].line);
        if (a.mode == GOAPI_ALLOW_LISTED) {
            assert_int_equal(a.nets->nelts, ok[i].nets);
        }
    }
}

static void test_parse_refused(void **state)
{
    static const struct { const char *line; const char *why; } bad[] = {
        { "all local", "'all' stands alone" },
        { "local off", "'off' stands alone" },
        { "Local", "'Local' is neither" },
        { "10.0.0.0/33", "'10.0.0.0/33' is neither" },
        { "10.0.0.0/", "'10.0.0.0/' is neither" },
        { "/8", "'/8' is neither" },
        { "example.com", "'example.com' is neither" },
        { "local 300.1.1.1", "'300.1.1.1' is neither" },
    };
    apr_size_t i;
    goapi_allow a;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(bad); i++) {
        const char *err = parse(bad[i].line, &a);

        if (!err || strncmp(err, bad[i].why, strlen(bad[i].why)) != 0) {
            fail_msg("'%s': got %s", bad[i].line, err ? err : "(accepted)");
        }
        assert_int_equal(a.mode, GOAPI_ALLOW_UNSET);
    }
    assert_non_null(goapi_allow_parse(unit_pool, NULL, 0, &a));
    assert_int_equal(a.mode, GOAPI_ALLOW_UNSET);
}

static void test_match(void **state)
{
    goapi_allow local, nets, all, off, unset;
    apr_sockaddr_t *server = addr("192.0.2.10");

    (void)state;
    assert_null(parse("local", &local));
    assert_null(parse("10.0.0.0/8 fd00::/8", &nets));
    assert_null(parse("all", &all));
    assert_null(parse("off", &off));
    goapi_allow_init(&unset);

    /* loopback, and the address the connection came to */
    assert_true(goapi_allow_match(&local, addr("127.0.0.1"), server));
    assert_true(goapi_allow_match(&local, addr("127.9.8.7"), server));
    assert_true(goapi_allow_match(&local, addr("::1"), server));
    assert_true(goapi_allow_match(&local, addr("::ffff:127.0.0.1"), server));
    assert_true(goapi_allow_match(&local, addr("192.0.2.10"), server));
    assert_false(goapi_allow_match(&local, addr("192.0.2.11"), server));
    assert_false(goapi_allow_match(&local, addr("10.0.0.1"), server));
    assert_false(goapi_allow_match(&local, addr("10.0.0.1"), NULL));
    assert_false(goapi_allow_match(&local, NULL, server));

    /* networks only: loopback is not among them */
    assert_true(goapi_allow_match(&nets, addr("10.244.3.7"), server));
    assert_true(goapi_allow_match(&nets, addr("fd12::5"), server));
    assert_false(goapi_allow_match(&nets, addr("11.0.0.1"), server));
    assert_false(goapi_allow_match(&nets, addr("127.0.0.1"), server));
    assert_false(goapi_allow_match(&nets, addr("192.0.2.10"), server));

    assert_true(goapi_allow_match(&all, addr("198.51.100.1"), server));
    assert_true(goapi_allow_match(&all, NULL, NULL));
    assert_false(goapi_allow_match(&off, addr("127.0.0.1"), server));
    assert_false(goapi_allow_match(&unset, addr("127.0.0.1"), server));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_refused),
        cmocka_unit_test(test_match),
    };

    return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
