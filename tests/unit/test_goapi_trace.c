/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * W3C Trace Context: traceparent and tracestate parsing, IDs.
 */
#include <string.h>

#include <apr_strings.h>

#include "unit.h"
#include "goapi_trace.h"

#define TID "12345678901234567890123456789012"
#define PID "1234567890123456"

static void test_traceparent_valid(void **state)
{
    goapi_traceparent tp;

    (void)state;
    assert_true(goapi_traceparent_parse("00-" TID "-" PID "-01", &tp));
    assert_string_equal(tp.trace_id, TID);
    assert_string_equal(tp.parent_id, PID);
    assert_int_equal(tp.flags, 1);
    assert_int_equal(tp.version, 0);
    /* flags are kept whole, unknown bits included */
    assert_true(goapi_traceparent_parse("00-" TID "-" PID "-ff", &tp));
    assert_int_equal(tp.flags, 0xff);
    /* whitespace around the value */
    assert_true(goapi_traceparent_parse(" \t00-" TID "-" PID "-00\t ", &tp));
    assert_int_equal(tp.flags, 0);
    /* a later version: read by its version-00 prefix */
    assert_true(goapi_traceparent_parse("cc-" TID "-" PID "-01", &tp));
    assert_int_equal(tp.version, 0xcc);
    assert_true(goapi_traceparent_parse("cc-" TID "-" PID "-01-what-the-future-holds", &tp));
    assert_string_equal(tp.trace_id, TID);
}

static void test_traceparent_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "00-" TID "-" PID "-01.",                               /* v00 extra */
        "00-" TID "-" PID "-01-what-the-future-will-be-like",   /* v00 extra */
        "cc-" TID "-" PID "-01.what-the-future-will-be-like",   /* not a dash */
        "ff-" TID "-" PID "-01",                                /* version ff */
        ".0-" TID "-" PID "-01", "0.-" TID "-" PID "-01",
        "000-" TID "-" PID "-01", "0-" TID "-" PID "-01",
        "00-00000000000000000000000000000000-" PID "-01",       /* zero trace */
        "00-" TID "-0000000000000000-01",                       /* zero parent */
        "00-.2345678901234567890123456789012-" PID "-01",
        "00-1234567890123456789012345678901.-" PID "-01",
        "00-123456789012345678901234567890123-" PID "-01",
        "00-1234567890123456789012345678901-" PID "-01",
        "00-" TID "-.234567890123456-01", "00-" TID "-123456789012345.-01",
        "00-" TID "-12345678901234567-01", "00-" TID "-123456789012345-01",
        "00-" TID "-" PID "-.0", "00-" TID "-" PID "-0.",
        "00-" TID "-" PID "-001", "00-" TID "-" PID "-1",
        "00-ABCDEF78901234567890123456789012-" PID "-01",       /* uppercase */
        "00-" TID "-" PID "-0A",
        "00_" TID "-" PID "-01", "00-" TID "_" PID "-01", "00-" TID "-" PID "_01",
        /* two headers joined by httpd */
        "00-" TID "-" PID "-01, 00-" TID "-" PID "-01",
    };
    goapi_traceparent tp;
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(bad); i++) {
        if (goapi_traceparent_parse(bad[i], &tp)) {
            fail_msg("accepted: '%s'", bad[i]);
        }
    }
    assert_false(goapi_traceparent_parse(NULL, &tp));
}

static void test_traceparent_format(void **state)
{
    char out[GOAPI_TRACEPARENT_LEN + 1];
    goapi_traceparent tp;

    (void)state;
    goapi_traceparent_format(out, TID, PID, 0x101);
    assert_string_equal(out, "00-" TID "-" PID "-01");
    assert_true(goapi_traceparent_parse(out, &tp));
}

static void test_tracestate(void **state)
{
    char many[400], key256[300], value[200], big[700];
    const char *t;
    int i, o = 0;

    (void)state;
    assert_string_equal(goapi_tracestate_clean(unit_pool, "foo=1,bar=2"), "foo=1,bar=2");
    assert_string_equal(goapi_tracestate_clean(unit_pool, "foo=1 \t , \t bar=2, \t baz=3"),
                        "foo=1,bar=2,baz=3");
    assert_string_equal(goapi_tracestate_clean(unit_pool, "\t foo=1 \t"), "foo=1");
    /* empty members (an empty header joined to another) are left out */
    assert_string_equal(goapi_tracestate_clean(unit_pool, "foo=1, "), "foo=1");
    assert_string_equal(goapi_tracestate_clean(unit_pool, ", foo=1,,bar=2"), "foo=1,bar=2");
    assert_null(goapi_tracestate_clean(unit_pool, ""));
    assert_null(goapi_tracestate_clean(unit_pool, " , "));
    assert_null(goapi_tracestate_clean(unit_pool, NULL));
    /* duplicated keys are passed on as they are */
    assert_string_equal(goapi_tracestate_clean(unit_pool, "foo=1,foo=2"), "foo=1,foo=2");
    /* keys with at signs, values with every allowed character */
    assert_string_equal(goapi_tracestate_clean(unit_pool, "foo@=1,bar=2"), "foo@=1,bar=2");
    assert_null(goapi_tracestate_clean(unit_pool, "t@v,x=a b"));
    assert_string_equal(goapi_tracestate_clean(unit_pool, "t@v=x,x=a b"), "t@v=x,x=a b");
    assert_string_equal(goapi_tracestate_clean(unit_pool, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
                        "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    for (i = 0x20; i <= 0x7e; i++) {
        if (i != ',' && i != '=') {
            value[o++] = (char)i;
        }
    }
    value[o] = '\0';
    t = goapi_tracestate_clean(unit_pool, apr_pstrcat(unit_pool, "k=", value, NULL));
    assert_string_equal(t, apr_pstrcat(unit_pool, "k=", value, NULL));
    /* one bad member drops the whole header */
    static const char *const bad[] = {
        "foo =1", "FOO=1", "foo.bar=1", "@foo=1,bar=2", "foo=bar=baz", "foo=,bar=3",
        "foo", "=1", "foo=1,bar", "foo=\x01", "foo=caf\xc3\xa9",
    };
    for (i = 0; i < (int)UNIT_ELEMS(bad); i++) {
        if (goapi_tracestate_clean(unit_pool, bad[i])) {
            fail_msg("kept: '%s'", bad[i]);
        }
    }
    /* key length: 256 is the most */
    memset(key256, 'z', 256);
    memcpy(key256 + 256, "=1", 3);
    assert_non_null(goapi_tracestate_clean(unit_pool, key256));
    memset(key256, 'z', 257);
    memcpy(key256 + 257, "=1", 3);
    assert_null(goapi_tracestate_clean(unit_pool, apr_pstrcat(unit_pool, "foo=1,", key256,
                                                             NULL)));
    /* 32 members pass, 33 drop the header */
    o = 0;
    for (i = 1; i <= 32; i++) {
        o += apr_snprintf(many + o, sizeof(many) - (apr_size_t)o, "%sbar%02d=%02d",
                          i > 1 ? "," : "", i, i);
    }
    assert_string_equal(goapi_tracestate_clean(unit_pool, many), many);
    assert_null(goapi_tracestate_clean(unit_pool, apr_pstrcat(unit_pool, many, ",bar33=33",
                                                             NULL)));
    /* over 512 characters: members over 128 go first, then the last */
    memset(value, 'v', 150);
    value[150] = '\0';
    many[9 * 20 - 1] = 0;               /* bar01=01 ... bar20=20 */
    t = goapi_tracestate_clean(unit_pool, apr_pstrcat(unit_pool, "a=1,big=", value,
                                                      ",big2=", value, ",big3=", value,
                                                      ",", many, NULL));
    assert_non_null(t);
    assert_true(strlen(t) <= GOAPI_TRACESTATE_MAX);
    assert_null(strstr(t, "big="));
    /* the first big member was enough */
    assert_string_equal(t, apr_pstrcat(unit_pool, "a=1,big2=", value, ",big3=", value, ",",
                                       many, NULL));
    o = 0;
    for (i = 0; i < 6; i++) {           /* 6 members of 103: 623 characters */
        memset(value, 'a' + i, 100);
        value[100] = '\0';
        o += apr_snprintf(big + o, sizeof(big) - (apr_size_t)o, "%sk%d=%s", i ? "," : "", i,
                          value);
    }
    t = goapi_tracestate_clean(unit_pool, big);
    assert_int_equal(strlen(t), 4 * 103 + 3);       /* the last two went */
    assert_non_null(strstr(t, "k3="));
    assert_null(strstr(t, "k4="));
}

static void test_ids(void **state)
{
    static const unsigned char seed[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                            13, 14, 15, 16, 0, 0, 0, 0, 0, 0, 0, 0 };
    goapi_trace_gen g;
    char t1[GOAPI_TRACE_ID_HEX + 1], t2[GOAPI_TRACE_ID_HEX + 1];
    char s1[GOAPI_SPAN_ID_HEX + 1], s2[GOAPI_SPAN_ID_HEX + 1];
    char tp[GOAPI_TRACEPARENT_LEN + 1];
    goapi_traceparent parsed;
    int i;

    (void)state;
    goapi_trace_seed(&g, seed);
    goapi_trace_new_trace_id(&g, t1);
    goapi_trace_new_trace_id(&g, t2);
    goapi_trace_new_span_id(&g, s1);
    goapi_trace_new_span_id(&g, s2);
    assert_int_equal(strlen(t1), 32);
    assert_int_equal(strlen(s1), 16);
    assert_string_not_equal(t1, t2);
    assert_string_not_equal(s1, s2);
    for (i = 0; i < 1000; i++) {
        goapi_trace_new_trace_id(&g, t1);
        goapi_trace_new_span_id(&g, s1);
        goapi_traceparent_format(tp, t1, s1, 1);
        assert_true(goapi_traceparent_parse(tp, &parsed));
    }
}

static void test_deadline_ms(void **state)
{
    (void)state;
    assert_int_equal(goapi_deadline_ms_parse("0"), 0);
    assert_int_equal(goapi_deadline_ms_parse("1500"), 1500);
    assert_int_equal(goapi_deadline_ms_parse("999999999"), 999999999);
    assert_int_equal(goapi_deadline_ms_parse("1000000000"), -1);
    assert_int_equal(goapi_deadline_ms_parse(""), -1);
    assert_int_equal(goapi_deadline_ms_parse("-5"), -1);
    assert_int_equal(goapi_deadline_ms_parse("12ms"), -1);
    assert_int_equal(goapi_deadline_ms_parse(" 12"), -1);
    assert_int_equal(goapi_deadline_ms_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traceparent_valid),
        cmocka_unit_test(test_traceparent_invalid),
        cmocka_unit_test(test_traceparent_format),
        cmocka_unit_test(test_tracestate),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_deadline_ms),
    };

    return cmocka_run_group_tests_name("goapi_trace", tests, unit_setup, unit_teardown);
}
