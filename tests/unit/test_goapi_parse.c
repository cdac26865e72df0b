/*
 * Directive value parsers.
 */
#include <string.h>

#include "unit.h"
#include "goapi_defs.h"
#include "goapi_parse.h"

static void test_header_names(void **state)
{
    static const char *const good[] = {
        "X-Request-ID", "x-request-id", "Request-Id", "X_Trace", "traceparent",
        "X-B3-TraceId", "a", "!#$%&'*+-.^_`|~",
    };
    static const char *const bad[] = {
        "", "X Request", "X-Request-ID:", "X\r\nY", "X\tY", "(x)", "x/y",
        "caf\xc3\xa9", "\"q\"",
        /* fields HTTP gives a meaning to */
        "Host", "content-length", "Transfer-Encoding", "Cookie", "Authorization",
        "Connection", "TE", "Upgrade",
    };
    char longest[GOAPI_HEADER_NAME_MAX + 2];
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(good); i++) {
        if (goapi_parse_header_name(good[i]) != NULL) {
            fail_msg("'%s' refused", good[i]);
        }
    }
    for (i = 0; i < UNIT_ELEMS(bad); i++) {
        if (goapi_parse_header_name(bad[i]) == NULL) {
            fail_msg("'%s' accepted", bad[i]);
        }
    }
    memset(longest, 'h', sizeof(longest));
    longest[GOAPI_HEADER_NAME_MAX] = '\0';
    assert_null(goapi_parse_header_name(longest));
    longest[GOAPI_HEADER_NAME_MAX] = 'h';
    longest[GOAPI_HEADER_NAME_MAX + 1] = '\0';
    assert_non_null(goapi_parse_header_name(longest));
}

static void test_int_range(void **state)
{
    static const struct {
        const char *arg;
        int ok;
        apr_int64_t want;
    } cases[] = {
        { "36", 1, 36 }, { "128", 1, 128 }, { "1024", 1, 1024 },
        { "0036", 1, 36 },
        { "35", 0, 0 }, { "1025", 0, 0 }, { "0", 0, 0 },
        { "", 0, 0 }, { "-1", 0, 0 }, { "+40", 0, 0 }, { " 40", 0, 0 },
        { "40 ", 0, 0 }, { "4o", 0, 0 }, { "0x40", 0, 0 }, { "1e3", 0, 0 },
        { "99999999999999999999999999", 0, 0 },
        { "9223372036854775807", 0, 0 }, { "9223372036854775808", 0, 0 },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        apr_int64_t v = -7;
        const char *err = goapi_parse_int_range(cases[i].arg, 36, 1024, &v);

        if (cases[i].ok) {
            if (err) {
                fail_msg("'%s' refused: %s", cases[i].arg, err);
            }
            assert_true(v == cases[i].want);
        }
        else {
            if (!err) {
                fail_msg("'%s' accepted", cases[i].arg);
            }
            assert_true(v == -7);       /* untouched on error */
        }
    }
}

static void test_int_range_full_width(void **state)
{
    apr_int64_t v;

    (void)state;
    assert_null(goapi_parse_int_range("9223372036854775807", 0, APR_INT64_MAX, &v));
    assert_true(v == APR_INT64_MAX);
    assert_non_null(goapi_parse_int_range("9223372036854775808", 0, APR_INT64_MAX, &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_names),
        cmocka_unit_test(test_int_range),
        cmocka_unit_test(test_int_range_full_width),
    };

    return cmocka_run_group_tests_name("goapi_parse", tests, unit_setup, unit_teardown);
}
