/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Escaped paths: request-target extraction, Go's cleanPath, percent-decoding.
 */
#include <string.h>

#include "unit.h"
#include "goapi_path.h"

static void test_path_of_target(void **state)
{
    static const struct {
        const char *target, *path;
    } cases[] = {
        { "/parcels/abc", "/parcels/abc" },
        { "/parcels/abc?x=1&y=2", "/parcels/abc" },
        { "/a#frag", "/a" },
        { "/", "/" },
        { "/?q", "/" },
        { "http://example.com/parcels/a%2Fb?q", "/parcels/a%2Fb" },
        { "https://example.com:8443/healthz", "/healthz" },
        { "http://example.com", "/" },
        { "http://example.com?x", "/" },
        { "", "/" },
        { "*", "/" },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        const char *p;
        apr_size_t n;

        goapi_path_of_target(cases[i].target, &p, &n);
        if (n != strlen(cases[i].path) || memcmp(p, cases[i].path, n) != 0) {
            fail_msg("case %u: got '%.*s', want '%s'", (unsigned)i, (int)n, p,
                     cases[i].path);
        }
    }
    {
        const char *p;
        apr_size_t n;

        goapi_path_of_target(NULL, &p, &n);
        assert_int_equal(n, 1);
        assert_memory_equal(p, "/", 1);
    }
}

/* Pairs checked against Go's net/http cleanPath. */
static void test_clean(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "/", "/" },
        { "/healthz", "/healthz" },
        { "/parcels/", "/parcels/" },
        { "//healthz", "/healthz" },
        { "/a//b", "/a/b" },
        { "/a/./b", "/a/b" },
        { "/a/../b", "/b" },
        { "/a/b/..", "/a" },
        { "/a/b/../", "/a/" },
        { "/..", "/" },
        { "/../../x", "/x" },
        { "/.", "/" },
        { "/a/.", "/a" },
        { "/a/./", "/a/" },
        { "//", "/" },
        { "/a/b/c/../../d", "/a/d" },
        { "/...", "/..." },
        { "/.a/..b", "/.a/..b" },
        { "/%2e%2e/x", "/%2e%2e/x" },
        { "", "/" },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        const char *got = goapi_path_clean(unit_pool, cases[i].in, strlen(cases[i].in));

        if (strcmp(got, cases[i].out) != 0) {
            fail_msg("case %u '%s': got '%s', want '%s'", (unsigned)i,
                     cases[i].in, got, cases[i].out);
        }
        /* is_clean agrees with clean: a path is clean iff cleaning keeps it */
        if (*cases[i].in) {
            assert_int_equal(goapi_path_is_clean(cases[i].in, strlen(cases[i].in)),
                             strcmp(got, cases[i].in) == 0);
        }
    }
    assert_false(goapi_path_is_clean("", 0));
    assert_false(goapi_path_is_clean("healthz", 7));
}

static void test_pct_decode(void **state)
{
    static const struct {
        const char *in;
        apr_ssize_t len;        /* -1: malformed */
        const char *out;
    } cases[] = {
        { "abc", 3, "abc" },
        { "a%20b", 3, "a b" },
        { "%41%42%43", 3, "ABC" },
        { "%2f%2F", 2, "//" },
        { "%e2%82%ac", 3, "\xe2\x82\xac" },
        { "100%25", 4, "100%" },
        { "+", 1, "+" },
        { "%", -1, NULL },
        { "%4", -1, NULL },
        { "a%zz", -1, NULL },
        { "%g1", -1, NULL },
        { "%1g", -1, NULL },
        { "", 0, "" },
    };
    char out[64];
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        apr_ssize_t n = goapi_pct_decode(cases[i].in, strlen(cases[i].in), out);

        if (n != cases[i].len) {
            fail_msg("case %u '%s': length %d, want %d", (unsigned)i,
                     cases[i].in, (int)n, (int)cases[i].len);
        }
        if (n >= 0) {
            assert_memory_equal(out, cases[i].out, (size_t)n);
            assert_int_equal(out[n], '\0');
        }
    }
}

static void test_pct_decode_nul_and_bounds(void **state)
{
    char out[8];
    /* only the first len bytes are read: "%4" then a '1' beyond len */
    const char s[] = "%41%4";

    (void)state;
    assert_int_equal(goapi_pct_decode("%00x", 4, out), 2);
    assert_int_equal(out[0], '\0');
    assert_int_equal(out[1], 'x');
    assert_int_equal(goapi_pct_decode(s, 3, out), 1);
    assert_int_equal(goapi_pct_decode(s, 5, out), -1);
}

static void test_path_byte_and_ascii(void **state)
{
    apr_size_t used;

    (void)state;
    assert_int_equal(goapi_path_byte("%68x", 4, &used), 'h');
    assert_int_equal(used, 3);
    assert_int_equal(goapi_path_byte("%2f", 3, &used), '/');
    assert_int_equal(used, 3);
    assert_int_equal(goapi_path_byte("%6", 2, &used), '%');     /* not an escape */
    assert_int_equal(used, 1);
    assert_int_equal(goapi_path_byte("%zz", 3, &used), '%');
    assert_int_equal(used, 1);
    assert_int_equal(goapi_path_byte("a", 1, &used), 'a');
    assert_int_equal(used, 1);
    /* Location: non-ASCII and blanks escaped once, '%' kept */
    assert_string_equal(goapi_path_ascii(unit_pool, "/parcels/caf\xc3\xa9"),
                        "/parcels/caf%C3%A9");
    assert_string_equal(goapi_path_ascii(unit_pool, "/a%20b c"), "/a%20b%20c");
    assert_string_equal(goapi_path_ascii(unit_pool, "/healthz?x=\x7f"), "/healthz?x=%7F");
    assert_string_equal(goapi_path_ascii(unit_pool, "/plain"), "/plain");
}

static void test_query_has(void **state)
{
    (void)state;
    assert_true(goapi_query_has("verbose", "verbose"));
    assert_true(goapi_query_has("verbose=1", "verbose"));
    assert_true(goapi_query_has("a=b&verbose", "verbose"));
    assert_true(goapi_query_has("a=b;verbose=", "verbose"));
    assert_false(goapi_query_has("verbosely", "verbose"));
    assert_false(goapi_query_has("x=verbose", "verbose"));
    assert_false(goapi_query_has("", "verbose"));
    assert_false(goapi_query_has(NULL, "verbose"));
}

static void test_accepts(void **state)
{
    static const char *const t = "application/health+json";

    (void)state;
    assert_true(goapi_accepts("application/health+json", t));
    assert_true(goapi_accepts("Application/Health+JSON", t));
    assert_true(goapi_accepts("text/plain, application/health+json;q=0.9", t));
    assert_true(goapi_accepts(" application/health+json ; q=1 , text/plain", t));
    assert_true(goapi_accepts("application/health+json;q=0.5", t));
    assert_false(goapi_accepts("application/health+json;q=0", t));
    assert_false(goapi_accepts("application/health+json; q=0.000", t));
    assert_false(goapi_accepts("application/json", t));
    assert_false(goapi_accepts("*/*", t));
    assert_false(goapi_accepts("application/health+jsonx", t));
    assert_false(goapi_accepts("", t));
    assert_false(goapi_accepts(NULL, t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_of_target),
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_pct_decode),
        cmocka_unit_test(test_pct_decode_nul_and_bounds),
        cmocka_unit_test(test_path_byte_and_ascii),
        cmocka_unit_test(test_query_has),
        cmocka_unit_test(test_accepts),
    };

    return cmocka_run_group_tests_name("goapi_path", tests, unit_setup, unit_teardown);
}
