/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
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

/* Maxima under 9, where (max - digit) / 10 rounded towards zero once let
 * "5" through for [1, 4] (found by tests/fuzz/fuzz_parse). */
static void test_int_range_small_max(void **state)
{
    static const struct {
        const char *arg;
        apr_int64_t min, max;
        int ok;
        apr_int64_t want;
    } cases[] = {
        { "5", 1, 4, 0, 0 }, { "4", 1, 4, 1, 4 }, { "1", 1, 4, 1, 1 },
        { "9", 0, 8, 0, 0 }, { "8", 0, 8, 1, 8 }, { "0", 0, 0, 1, 0 },
        { "1", 0, 0, 0, 0 }, { "10", 0, 9, 0, 0 }, { "9", 0, 9, 1, 9 },
        { "19", 0, 18, 0, 0 }, { "18", 0, 18, 1, 18 },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        apr_int64_t v = -7;
        const char *err = goapi_parse_int_range(cases[i].arg, cases[i].min,
                                                cases[i].max, &v);

        if (cases[i].ok != (err == NULL)) {
            fail_msg("'%s' in [%" APR_INT64_T_FMT ", %" APR_INT64_T_FMT "]: %s",
                     cases[i].arg, (apr_int64_t)cases[i].min, (apr_int64_t)cases[i].max,
                     err ? err : "accepted");
        }
        assert_true(v == (cases[i].ok ? cases[i].want : -7));
    }
}

#define MS  APR_INT64_C(1000)
#define SEC APR_INT64_C(1000000)

static void test_durations(void **state)
{
    static const struct {
        const char *arg;
        int ok;
        apr_interval_time_t want;
    } cases[] = {
        { "5", 1, 5 * SEC }, { "0", 1, 0 }, { "00", 1, 0 }, { "0s", 1, 0 },
        { "250ms", 1, 250 * MS }, { "5s", 1, 5 * SEC }, { "1m", 1, 60 * SEC },
        { "1h", 1, 3600 * SEC }, { "1m30s", 1, 90 * SEC }, { "1h30m", 1, 5400 * SEC },
        { "1.5s", 1, 1500 * MS }, { "0.25s", 1, 250 * MS }, { "1.5h", 1, 5400 * SEC },
        { "1ms", 1, 1 * MS }, { "1000us", 1, 1 * MS }, { "1000\xc2\xb5s", 1, 1 * MS },
        { "2000000ns", 1, 2 * MS }, { "24h", 1, 86400 * SEC }, { "86400", 1, 86400 * SEC },
        { "1h1m1s1ms", 1, 3661 * SEC + 1 * MS }, { "10s500ms", 1, 10500 * MS },
        /* refused */
        { "", 0, 0 }, { "s", 0, 0 }, { "-1s", 0, 0 }, { "+1s", 0, 0 }, { "5x", 0, 0 },
        { "5 s", 0, 0 }, { " 5s", 0, 0 }, { "5s ", 0, 0 }, { "1.5", 0, 0 },
        { "1e3s", 0, 0 }, { "5S", 0, 0 }, { "ms", 0, 0 }, { ".s", 0, 0 },
        { "25h", 0, 0 }, { "24h1s", 0, 0 }, { "86401", 0, 0 },
        { "500us", 0, 0 }, { "0.5ms", 0, 0 }, { "999999ns", 0, 0 },
        { "99999999999999999999h", 0, 0 }, { "99999999999999999999", 0, 0 },
        { "9223372036854775807ns", 0, 0 }, { "5s5", 0, 0 },
        /* under a microsecond is too short, not 0 (disabled): found by
         * tests/fuzz/fuzz_parse */
        { "2ns", 0, 0 }, { "1ns", 0, 0 }, { "999ns", 0, 0 }, { "0.5us", 0, 0 },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        apr_interval_time_t v = -7;
        const char *err = goapi_parse_duration(cases[i].arg, &v);

        if (cases[i].ok && err) {
            fail_msg("'%s' refused: %s", cases[i].arg, err);
        }
        if (!cases[i].ok && !err) {
            fail_msg("'%s' accepted as %" APR_INT64_T_FMT, cases[i].arg, (apr_int64_t)v);
        }
        if (cases[i].ok && v != cases[i].want) {
            fail_msg("'%s': %" APR_INT64_T_FMT " us, want %" APR_INT64_T_FMT,
                     cases[i].arg, (apr_int64_t)v, (apr_int64_t)cases[i].want);
        }
        if (!cases[i].ok) {
            assert_true(v == -7);
            /* why, and only why: each directive says what it expects */
            assert_null(strstr(err, "expected"));
        }
    }
    {
        static const struct { const char *arg, *why; } why[] = {
            { "", "empty" }, { "5x", "missing or unknown unit" }, { "1.5", "missing or unknown unit" },
            { "-1s", "a sign is not allowed" }, { "25h", "out of range" },
            { "99999999", "out of range" }, { "500us", "too short" }, { "ten", "not a duration" },
        };
        apr_interval_time_t v;

        for (i = 0; i < UNIT_ELEMS(why); i++) {
            const char *err = goapi_parse_duration(why[i].arg, &v);

            assert_non_null(err);
            assert_string_equal(err, why[i].why);
        }
    }
}

/* Differential: inputs and results of Go's own time.ParseDuration tests,
 * in nanoseconds; goapi_parse_go_duration() must agree to the nanosecond,
 * fractions of hours, rounding and the int64 borders included. */
static void test_go_durations(void **state)
{
    static const struct {
        const char *arg;
        apr_int64_t ns;
    } good[] = {
        { "0", 0 }, { "5s", APR_INT64_C(5000000000) }, { "30s", APR_INT64_C(30000000000) },
        { "1478s", APR_INT64_C(1478000000000) }, { "-5s", -APR_INT64_C(5000000000) },
        { "+5s", APR_INT64_C(5000000000) }, { "-0", 0 }, { "+0", 0 },
        { "5.0s", APR_INT64_C(5000000000) }, { "5.6s", APR_INT64_C(5600000000) },
        { "5.s", APR_INT64_C(5000000000) }, { ".5s", APR_INT64_C(500000000) },
        { "1.0s", APR_INT64_C(1000000000) }, { "1.00s", APR_INT64_C(1000000000) },
        { "1.004s", APR_INT64_C(1004000000) }, { "1.0040s", APR_INT64_C(1004000000) },
        { "100.00100s", APR_INT64_C(100001000000) },
        { "10ns", 10 }, { "11us", 11000 }, { "12\xc2\xb5s", 12000 }, { "12\xce\xbcs", 12000 },
        { "13ms", 13000000 }, { "14s", APR_INT64_C(14000000000) },
        { "15m", APR_INT64_C(900000000000) }, { "16h", APR_INT64_C(57600000000000) },
        { "3h30m", APR_INT64_C(12600000000000) }, { "10.5s4m", APR_INT64_C(250500000000) },
        { "-2m3.4s", -APR_INT64_C(123400000000) },
        { "1h2m3s4ms5us6ns", APR_INT64_C(3723004005006) },
        { "39h9m14.425s", APR_INT64_C(140954425000000) },
        { "52763797000ns", APR_INT64_C(52763797000) },
        { "0.3333333333333333333h", APR_INT64_C(1200000000000) },
        { "9007199254740993ns", APR_INT64_C(9007199254740993) },
        { "9223372036854775807ns", APR_INT64_MAX },
        { "9223372036854775.807us", APR_INT64_MAX },
        { "9223372036s854ms775us807ns", APR_INT64_MAX },
        { "-9223372036854775808ns", APR_INT64_MIN },
        { "-9223372036854775.808us", APR_INT64_MIN },
        { "-9223372036s854ms775us808ns", APR_INT64_MIN },
        { "-2562047h47m16.854775808s", APR_INT64_MIN },
        { "0.100000000000000000000h", APR_INT64_C(360000000000) },
        { "0.830103483285477580700h", APR_INT64_C(2988372539827) },
    };
    static const char *const bad[] = {
        "", "3", "-", "s", ".", "-.", ".s", "+.s", "1d", "\x85\x85", "\xff\xff",
        "hello \xff\xff world", "9223372036854775810ns", "9223372036854775808ns",
        "9223372036854775.808us", "9223372036s854ms775us808ns",
        /* a unit is the whole run up to the next digit or '.' */
        "5mss", "1msh", "5s5", "1.5.5s",
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(good); i++) {
        apr_int64_t ns = 7;
        const char *err = goapi_parse_go_duration(good[i].arg, &ns);

        if (err) {
            fail_msg("'%s' refused: %s", good[i].arg, err);
        }
        if (ns != good[i].ns) {
            fail_msg("'%s': %" APR_INT64_T_FMT " ns, Go says %" APR_INT64_T_FMT,
                     good[i].arg, ns, good[i].ns);
        }
    }
    for (i = 0; i < UNIT_ELEMS(bad); i++) {
        apr_int64_t ns = 7;

        if (goapi_parse_go_duration(bad[i], &ns) == NULL) {
            fail_msg("'%s' accepted as %" APR_INT64_T_FMT, bad[i], ns);
        }
        assert_true(ns == 7);
    }
    /* the directive parser is Go's, narrowed: no sign, a unit or whole
     * seconds, 1ms to 24h, microseconds with the nanoseconds cut off */
    {
        apr_interval_time_t us = 0;

        assert_null(goapi_parse_duration("1.0005ms", &us));
        assert_true(us == 1000);
        assert_null(goapi_parse_duration("0.3333333333333333333h", &us));
        assert_true(us == APR_INT64_C(1200000000));
        assert_non_null(goapi_parse_duration("+5s", &us));
        assert_non_null(goapi_parse_duration("-0", &us));
    }
}

static void test_format_duration(void **state)
{
    char buf[32];

    (void)state;
    assert_string_equal(goapi_format_duration(0, buf), "0s");
    assert_string_equal(goapi_format_duration(250 * MS, buf), "250ms");
    assert_string_equal(goapi_format_duration(5 * SEC, buf), "5s");
    assert_string_equal(goapi_format_duration(90 * SEC, buf), "1m30s");
    assert_string_equal(goapi_format_duration(3600 * SEC, buf), "1h");
    assert_string_equal(goapi_format_duration(3601 * SEC + 500 * MS, buf), "1h1500ms");
}

static void test_sizes(void **state)
{
    static const struct {
        const char *arg;
        int ok;
        apr_int64_t want;
    } cases[] = {
        { "1048576", 1, 1048576 }, { "1M", 1, 1048576 }, { "1MiB", 1, 1048576 },
        { "1m", 1, 1048576 }, { "64K", 1, 65536 }, { "64k", 1, 65536 },
        { "64KiB", 1, 65536 }, { "4096B", 1, 4096 }, { "64M", 1, 64 << 20 },
        { "1024", 1, 1024 },
        { "1023", 0, 0 }, { "65M", 0, 0 }, { "1G", 0, 0 }, { "", 0, 0 }, { "K", 0, 0 },
        { "1.5M", 0, 0 }, { "-1", 0, 0 }, { "1KB", 0, 0 }, { "1 K", 0, 0 },
        { "1kib", 0, 0 }, { "99999999999999999999999", 0, 0 },
        { "9223372036854775807K", 0, 0 },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        apr_int64_t v = -7;
        const char *err = goapi_parse_size(cases[i].arg, 1024, 64 << 20, &v);

        if (cases[i].ok != (err == NULL)) {
            fail_msg("'%s': %s", cases[i].arg, err ? err : "accepted");
        }
        assert_true(v == (cases[i].ok ? cases[i].want : -7));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_names),
        cmocka_unit_test(test_int_range),
        cmocka_unit_test(test_int_range_full_width),
        cmocka_unit_test(test_int_range_small_max),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_go_durations),
        cmocka_unit_test(test_format_duration),
        cmocka_unit_test(test_sizes),
    };

    return cmocka_run_group_tests_name("goapi_parse", tests, unit_setup, unit_teardown);
}
