/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * JSON string literals and RFC 9457 problem documents.
 */
#include <string.h>

#include "unit.h"
#include "goapi_json.h"

static void test_json_string(void **state)
{
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        { "", "\"\"" },
        { "ready", "\"ready\"" },
        { "a\"b", "\"a\\\"b\"" },
        { "a\\b", "\"a\\\\b\"" },
        { "a\r\nb", "\"a\\u000d\\u000ab\"" },
        { "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
        { "caf\xc3\xa9", "\"caf\\u00c3\\u00a9\"" },
        { "</script>", "\"</script>\"" },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        assert_string_equal(goapi_json_string(unit_pool, cases[i].in), cases[i].want);
    }
}

static void test_problem_json(void **state)
{
    (void)state;
    assert_string_equal(
        goapi_problem_json(unit_pool, NULL, 409, "Request in progress", "retry \"later\"",
                           "req-1", "corr-1"),
        "{\"type\":\"about:blank\",\"title\":\"Request in progress\",\"status\":409,"
        "\"detail\":\"retry \\\"later\\\"\",\"request_id\":\"req-1\","
        "\"correlation_id\":\"corr-1\"}\n");
    /* a type of its own, escaped like any string */
    assert_string_equal(
        goapi_problem_json(unit_pool, "urn:x:\"t\"", 409, "T", "D", "r", "c"),
        "{\"type\":\"urn:x:\\\"t\\\"\",\"title\":\"T\",\"status\":409,"
        "\"detail\":\"D\",\"request_id\":\"r\",\"correlation_id\":\"c\"}\n");
}

static void test_problem_types(void **state)
{
    int k, j;

    (void)state;
    assert_string_equal(goapi_problem_type(unit_pool, GOAPI_PROBLEM_OUTCOME_UNKNOWN, NULL),
                        "urn:goapi:problem:idempotency-outcome-unknown");
    assert_string_equal(goapi_problem_type(unit_pool, GOAPI_PROBLEM_KEY_REUSED,
                                           "https://errors.example.com/goapi/"),
                        "https://errors.example.com/goapi/idempotency-key-reused");
    assert_string_equal(goapi_problem_name(GOAPI_PROBLEM_KINDS), "problem");
    /* every kind has its own name, usable in a URI as it is */
    for (k = 0; k < GOAPI_PROBLEM_KINDS; k++) {
        const char *n = goapi_problem_name((goapi_problem_kind)k);

        assert_true(strlen(n) > 0);
        assert_int_equal(strspn(n, "abcdefghijklmnopqrstuvwxyz-"), strlen(n));
        for (j = 0; j < k; j++) {
            assert_string_not_equal(n, goapi_problem_name((goapi_problem_kind)j));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_problem_json),
        cmocka_unit_test(test_problem_types),
    };

    return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
