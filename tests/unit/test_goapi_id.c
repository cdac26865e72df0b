/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Request/correlation ID validation and Idempotency-Key parsing.
 */
#include <string.h>

#include "unit.h"
#include "goapi_defs.h"
#include "goapi_id.h"

typedef struct {
    const char *value;
    apr_size_t max;
    goapi_id_status want;
} id_case;

static void test_id_table(void **state)
{
    static const id_case cases[] = {
        { "req-local-001", 128, GOAPI_ID_OK },
        { "checkout-flow-001", 128, GOAPI_ID_OK },
        { "a", 128, GOAPI_ID_OK },
        { "AZaz09-_.:+/=", 128, GOAPI_ID_OK },
        { "0190f3c2-7d5e-7a3b-8c1d-2e4f6a8b0c1d", 36, GOAPI_ID_OK },
        { "dGVzdA==", 128, GOAPI_ID_OK },
        { "", 128, GOAPI_ID_EMPTY },
        { "abcd", 3, GOAPI_ID_TOO_LONG },
        { "abc", 3, GOAPI_ID_OK },
        { "a b", 128, GOAPI_ID_BAD_CHAR },
        { "a\r\nSet-Cookie: x=1", 128, GOAPI_ID_BAD_CHAR },
        { "a\nb", 128, GOAPI_ID_BAD_CHAR },
        { "a\tb", 128, GOAPI_ID_BAD_CHAR },
        { "\"quoted\"", 128, GOAPI_ID_BAD_CHAR },
        { "it's", 128, GOAPI_ID_BAD_CHAR },
        { "<script>alert(1)</script>", 128, GOAPI_ID_BAD_CHAR },
        { "caf\xc3\xa9", 128, GOAPI_ID_BAD_CHAR },
        { "\xff\xfe", 128, GOAPI_ID_BAD_CHAR },
        { "a,b", 128, GOAPI_ID_BAD_CHAR },
        { "a;b", 128, GOAPI_ID_BAD_CHAR },
        { "%41", 128, GOAPI_ID_BAD_CHAR },
        { "a\x7f", 128, GOAPI_ID_BAD_CHAR },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        goapi_id_status got = goapi_id_check(cases[i].value, cases[i].max);

        if (got != cases[i].want) {
            fail_msg("case %u: got %d, want %d", (unsigned)i, got, cases[i].want);
        }
    }
    assert_int_equal(goapi_id_check(NULL, 128), GOAPI_ID_EMPTY);
}

static void test_id_nul_ends_value(void **state)
{
    /* httpd hands us C strings: bytes after an embedded NUL are not seen,
     * and a value that starts with NUL is empty. */
    const char v[] = "\0abc";

    (void)state;
    assert_int_equal(goapi_id_check(v, 128), GOAPI_ID_EMPTY);
}

static void test_id_huge_value(void **state)
{
    /* 10 kB of valid characters: refused as too long, not scanned to the end. */
    char *big = apr_palloc(unit_pool, 10241);

    (void)state;
    memset(big, 'a', 10240);
    big[10240] = '\0';
    assert_int_equal(goapi_id_check(big, GOAPI_DEFAULT_MAX_ID_LENGTH), GOAPI_ID_TOO_LONG);
    big[GOAPI_DEFAULT_MAX_ID_LENGTH] = '\0';
    assert_int_equal(goapi_id_check(big, GOAPI_DEFAULT_MAX_ID_LENGTH), GOAPI_ID_OK);
    big[GOAPI_DEFAULT_MAX_ID_LENGTH] = 'a';
    big[GOAPI_DEFAULT_MAX_ID_LENGTH + 1] = '\0';
    assert_int_equal(goapi_id_check(big, GOAPI_DEFAULT_MAX_ID_LENGTH), GOAPI_ID_TOO_LONG);
}

static void test_id_every_byte(void **state)
{
    /* Exactly 69 single bytes are legal IDs: 26 + 26 + 10 + "-_.:+/=". */
    char v[2] = { 0, 0 };
    int c, ok = 0;

    (void)state;
    for (c = 1; c < 256; c++) {
        v[0] = (char)c;
        if (goapi_id_check(v, 128) == GOAPI_ID_OK) {
            ok++;
            assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_.:+/=", c));
        }
    }
    assert_int_equal(ok, 69);
}

typedef struct {
    const char *value;
    goapi_ikey_status want;
    const char *key;            /* decoded key when OK */
} ikey_case;

static void test_ikey_table(void **state)
{
    static const ikey_case cases[] = {
        { "\"8e03978e-40d5-43e8-bc93-6894a57f9324\"", GOAPI_IKEY_OK,
          "8e03978e-40d5-43e8-bc93-6894a57f9324" },
        { "8e03978e-40d5-43e8-bc93-6894a57f9324", GOAPI_IKEY_OK,
          "8e03978e-40d5-43e8-bc93-6894a57f9324" },
        { "\"a b c\"", GOAPI_IKEY_OK, "a b c" },
        { "\"q\\\"uote\"", GOAPI_IKEY_OK, "q\"uote" },
        { "\"back\\\\slash\"", GOAPI_IKEY_OK, "back\\slash" },
        { "  \"padded\"\t ", GOAPI_IKEY_OK, "padded" },
        { "  bare  ", GOAPI_IKEY_OK, "bare" },
        { "k;v=1", GOAPI_IKEY_OK, "k;v=1" },
        { "\"\"", GOAPI_IKEY_EMPTY, NULL },
        { "", GOAPI_IKEY_EMPTY, NULL },
        { "   ", GOAPI_IKEY_EMPTY, NULL },
        { "\"unterminated", GOAPI_IKEY_BAD_SYNTAX, NULL },
        { "\"bad\\escape\"", GOAPI_IKEY_BAD_SYNTAX, NULL },
        { "\"trailing\\", GOAPI_IKEY_BAD_SYNTAX, NULL },
        { "\"a\";p=1", GOAPI_IKEY_BAD_SYNTAX, NULL },
        { "\"a\", \"b\"", GOAPI_IKEY_BAD_SYNTAX, NULL },
        { "a, b", GOAPI_IKEY_BAD_SYNTAX, NULL },
        { "a b", GOAPI_IKEY_BAD_SYNTAX, NULL },
        { "mid\"quote", GOAPI_IKEY_BAD_SYNTAX, NULL },
        { "back\\slash", GOAPI_IKEY_BAD_SYNTAX, NULL },
        { "\"ctl\x01\"", GOAPI_IKEY_BAD_CHAR, NULL },
        { "\"tab\tinside\"", GOAPI_IKEY_BAD_CHAR, NULL },
        { "\"caf\xc3\xa9\"", GOAPI_IKEY_BAD_CHAR, NULL },
        { "caf\xc3\xa9", GOAPI_IKEY_BAD_CHAR, NULL },
        { "crlf\r\nX: y", GOAPI_IKEY_BAD_CHAR, NULL },
        { "del\x7f", GOAPI_IKEY_BAD_CHAR, NULL },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        const char *key = "unchanged";
        goapi_ikey_status got = goapi_ikey_parse(unit_pool, cases[i].value, &key);

        if (got != cases[i].want) {
            fail_msg("case %u: got %d, want %d", (unsigned)i, got, cases[i].want);
        }
        if (cases[i].want == GOAPI_IKEY_OK) {
            assert_string_equal(key, cases[i].key);
        }
        else {
            assert_null(key);
        }
    }
}

/* The string cases of the HTTP WG's structured-field test suite
 * (string.json), with what a key may be on top: the empty string is a
 * valid sf-string but no key, and a string longer than
 * GOAPI_IDEMPOTENCY_KEY_MAX is refused.  Strict takes the sf-string form
 * only; Lenient also takes a bare key ('foo' is one). */
static void test_ikey_structured_field_strings(void **state)
{
    static const struct {
        const char *name;
        const char *raw;                /* as httpd hands it: lines joined by ", " */
        goapi_ikey_status strict, lenient;
        const char *key;
    } cases[] = {
        { "basic string", "\"foo bar\"", GOAPI_IKEY_OK, GOAPI_IKEY_OK, "foo bar" },
        { "empty string", "\"\"", GOAPI_IKEY_EMPTY, GOAPI_IKEY_EMPTY, NULL },
        { "whitespace string", "\"   \"", GOAPI_IKEY_OK, GOAPI_IKEY_OK, "   " },
        { "non-ascii string", "\"f\xc3\xbc\xc3\xbc\"", GOAPI_IKEY_BAD_CHAR,
          GOAPI_IKEY_BAD_CHAR, NULL },
        { "tab in string", "\"\t\"", GOAPI_IKEY_BAD_CHAR, GOAPI_IKEY_BAD_CHAR, NULL },
        { "newline in string", "\" \n \"", GOAPI_IKEY_BAD_CHAR, GOAPI_IKEY_BAD_CHAR, NULL },
        { "single quoted string", "'foo'", GOAPI_IKEY_NOT_STRING, GOAPI_IKEY_OK, "'foo'" },
        { "unbalanced string", "\"foo", GOAPI_IKEY_BAD_SYNTAX, GOAPI_IKEY_BAD_SYNTAX, NULL },
        { "string quoting", "\"foo \\\"bar\\\" \\\\ baz\"", GOAPI_IKEY_OK, GOAPI_IKEY_OK,
          "foo \"bar\" \\ baz" },
        { "bad string quoting", "\"foo \\,\"", GOAPI_IKEY_BAD_SYNTAX, GOAPI_IKEY_BAD_SYNTAX,
          NULL },
        { "ending string quote", "\"foo \\\"", GOAPI_IKEY_BAD_SYNTAX, GOAPI_IKEY_BAD_SYNTAX,
          NULL },
        { "abruptly ending string quote", "\"foo \\", GOAPI_IKEY_BAD_SYNTAX,
          GOAPI_IKEY_BAD_SYNTAX, NULL },
        { "two lines string", "\"foo, bar\"", GOAPI_IKEY_OK, GOAPI_IKEY_OK, "foo, bar" },
    };
    char long_string[4 * 65 + 3], raw[8], want[2];
    const char *key;
    apr_size_t i;
    int c;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        goapi_ikey_status got;

        key = NULL;
        got = goapi_ikey_parse_strict(unit_pool, cases[i].raw, &key);
        if (got != cases[i].strict) {
            fail_msg("%s, strict: got %d, want %d", cases[i].name, got, cases[i].strict);
        }
        if (got == GOAPI_IKEY_OK) {
            assert_string_equal(key, cases[i].key);
        }
        key = NULL;
        got = goapi_ikey_parse(unit_pool, cases[i].raw, &key);
        if (got != cases[i].lenient) {
            fail_msg("%s, lenient: got %d, want %d", cases[i].name, got, cases[i].lenient);
        }
        if (got == GOAPI_IKEY_OK) {
            assert_string_equal(key, cases[i].key);
        }
    }
    /* "long string": 65 times "foo ", valid sf-string, longer than a key */
    long_string[0] = '"';
    for (i = 0; i < 65; i++) {
        memcpy(long_string + 1 + 4 * i, "foo ", 4);
    }
    long_string[1 + 4 * 65] = '"';
    long_string[2 + 4 * 65] = '\0';
    assert_int_equal(goapi_ikey_parse_strict(unit_pool, long_string, &key),
                     GOAPI_IKEY_TOO_LONG);
    /* string-generated.json: every byte inside a string, and escaped */
    for (c = 1; c < 128; c++) {
        int plain_ok = c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';

        snprintf(raw, sizeof(raw), "\" %c \"", c);
        key = NULL;
        if (plain_ok) {
            assert_int_equal(goapi_ikey_parse_strict(unit_pool, raw, &key), GOAPI_IKEY_OK);
            assert_int_equal(key[1], c);
        }
        else {
            assert_int_not_equal(goapi_ikey_parse_strict(unit_pool, raw, &key),
                                 GOAPI_IKEY_OK);
        }
        snprintf(raw, sizeof(raw), "\"\\%c\"", c);
        key = NULL;
        if (c == '"' || c == '\\') {
            want[0] = (char)c;
            want[1] = '\0';
            assert_int_equal(goapi_ikey_parse_strict(unit_pool, raw, &key), GOAPI_IKEY_OK);
            assert_string_equal(key, want);
        }
        else {
            assert_int_not_equal(goapi_ikey_parse_strict(unit_pool, raw, &key),
                                 GOAPI_IKEY_OK);
        }
    }
    /* written back as an sf-string, a key reads as itself */
    assert_string_equal(goapi_ikey_quote(unit_pool, "a\"b\\c"), "\"a\\\"b\\\\c\"");
    assert_int_equal(goapi_ikey_parse_strict(unit_pool, goapi_ikey_quote(unit_pool, "a\"b\\c"),
                                             &key), GOAPI_IKEY_OK);
    assert_string_equal(key, "a\"b\\c");
    /* the bare form, which Lenient takes */
    assert_int_equal(goapi_ikey_parse_strict(unit_pool, "8e03978e-40d5", &key),
                     GOAPI_IKEY_NOT_STRING);
    assert_int_equal(goapi_ikey_parse(unit_pool, "8e03978e-40d5", &key), GOAPI_IKEY_OK);
}

static void test_ikey_lengths(void **state)
{
    char bare[GOAPI_IDEMPOTENCY_KEY_MAX + 2];
    char quoted[2 * GOAPI_IDEMPOTENCY_KEY_MAX + 8];
    const char *key;
    int i;

    (void)state;
    memset(bare, 'k', sizeof(bare) - 1);
    bare[GOAPI_IDEMPOTENCY_KEY_MAX] = '\0';
    assert_int_equal(goapi_ikey_parse(unit_pool, bare, &key), GOAPI_IKEY_OK);
    assert_int_equal(strlen(key), GOAPI_IDEMPOTENCY_KEY_MAX);
    bare[GOAPI_IDEMPOTENCY_KEY_MAX] = 'k';
    bare[GOAPI_IDEMPOTENCY_KEY_MAX + 1] = '\0';
    assert_int_equal(goapi_ikey_parse(unit_pool, bare, &key), GOAPI_IKEY_TOO_LONG);

    /* 255 escaped quotes decode to 255 characters: the limit is on the key. */
    quoted[0] = '"';
    for (i = 0; i < GOAPI_IDEMPOTENCY_KEY_MAX; i++) {
        quoted[1 + 2 * i] = '\\';
        quoted[2 + 2 * i] = '"';
    }
    quoted[1 + 2 * GOAPI_IDEMPOTENCY_KEY_MAX] = '"';
    quoted[2 + 2 * GOAPI_IDEMPOTENCY_KEY_MAX] = '\0';
    assert_int_equal(goapi_ikey_parse(unit_pool, quoted, &key), GOAPI_IKEY_OK);
    assert_int_equal(strlen(key), GOAPI_IDEMPOTENCY_KEY_MAX);

    /* One more character inside the quotes is too long. */
    memset(quoted, 'q', sizeof(quoted));
    quoted[0] = '"';
    quoted[GOAPI_IDEMPOTENCY_KEY_MAX + 2] = '"';
    quoted[GOAPI_IDEMPOTENCY_KEY_MAX + 3] = '\0';
    assert_int_equal(goapi_ikey_parse(unit_pool, quoted, &key), GOAPI_IKEY_TOO_LONG);
}

static void test_ikey_huge(void **state)
{
    char *big = apr_palloc(unit_pool, 65537);

    (void)state;
    memset(big, 'x', 65536);
    big[65536] = '\0';
    const char *key = "unchanged";
    assert_int_equal(goapi_ikey_parse(unit_pool, big, &key), GOAPI_IKEY_TOO_LONG);
    assert_null(key);
    big[0] = '"';
    assert_int_equal(goapi_ikey_parse(unit_pool, big, &key), GOAPI_IKEY_TOO_LONG);
}

static void test_ikey_bare_not_copied(void **state)
{
    const char *v = "abc", *key;

    (void)state;
    assert_int_equal(goapi_ikey_parse(unit_pool, v, &key), GOAPI_IKEY_OK);
    assert_ptr_equal(key, v);
    assert_int_equal(goapi_ikey_parse(unit_pool, NULL, &key), GOAPI_IKEY_EMPTY);
}

static void test_reasons_never_empty(void **state)
{
    int s;

    (void)state;
    for (s = GOAPI_ID_OK; s <= GOAPI_ID_BAD_CHAR; s++) {
        assert_true(strlen(goapi_id_reason((goapi_id_status)s)) > 0);
    }
    for (s = GOAPI_IKEY_OK; s <= GOAPI_IKEY_NOT_STRING; s++) {
        assert_true(strlen(goapi_ikey_reason((goapi_ikey_status)s)) > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_table),
        cmocka_unit_test(test_id_nul_ends_value),
        cmocka_unit_test(test_id_huge_value),
        cmocka_unit_test(test_id_every_byte),
        cmocka_unit_test(test_ikey_table),
        cmocka_unit_test(test_ikey_structured_field_strings),
        cmocka_unit_test(test_ikey_lengths),
        cmocka_unit_test(test_ikey_huge),
        cmocka_unit_test(test_ikey_bare_not_copied),
        cmocka_unit_test(test_reasons_never_empty),
    };

    return cmocka_run_group_tests_name("goapi_id", tests, unit_setup, unit_teardown);
}
