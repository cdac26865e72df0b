/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * fuzz_id — goapi_id_check() (X-Request-ID / X-Correlation-ID values) under
 * several maxima derived from the input, and goapi_ikey_parse() (the
 * Idempotency-Key sf-string or bare key) beside goapi_ikey_parse_strict()
 * (the sf-string only).
 *
 * Input: one byte and two more for a maximum, then the value (up to a NUL).
 */
#include "fuzz.h"

#include "goapi_defs.h"
#include "goapi_id.h"

static int id_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || (c != '\0' && strchr("-_.:+/=", c) != NULL);
}

static void check_id(const char *v, size_t len, size_t max)
{
    goapi_id_status st = goapi_id_check(v, max);
    size_t i, scan = len < max ? len : max;
    int bad = 0;

    FUZZ_CHECK(goapi_id_reason(st) != NULL);
    for (i = 0; i < scan; i++) {
        bad |= !id_char((unsigned char)v[i]);
    }
    switch (st) {
    case GOAPI_ID_OK:
        FUZZ_CHECK(len >= 1 && len <= max && !bad);
        break;
    case GOAPI_ID_EMPTY:
        FUZZ_CHECK(len == 0);
        break;
    case GOAPI_ID_TOO_LONG:
        FUZZ_CHECK(len > max && !bad);
        break;
    case GOAPI_ID_BAD_CHAR:
        FUZZ_CHECK(len >= 1 && bad);
        break;
    default:
        FUZZ_CHECK(!"unknown goapi_id_status");
    }

    /* "Reads at most max + 1 bytes": the same answer from a buffer that
     * ends (unterminated) right there. */
    if (len > max) {
        char *cut = fuzz_dup(v, max + 1, 0);

        FUZZ_CHECK(goapi_id_check(cut, max) == st);
        free(cut);
    }
}

static void check_ikey(apr_pool_t *p, const char *v)
{
    const char *key = (const char *)1;
    goapi_ikey_status st = goapi_ikey_parse(p, v, &key);
    const char *strict_key = (const char *)1;
    goapi_ikey_status strict = goapi_ikey_parse_strict(p, v, &strict_key);
    size_t n, i;
    const char *s;

    /* Strict differs from Lenient only by refusing the bare form */
    FUZZ_CHECK(strict == st || (strict == GOAPI_IKEY_NOT_STRING && st != GOAPI_IKEY_EMPTY));
    if (strict == GOAPI_IKEY_OK) {
        FUZZ_CHECK(st == GOAPI_IKEY_OK && strcmp(strict_key, key) == 0);
    }

    FUZZ_CHECK(goapi_ikey_reason(st) != NULL);
    if (st != GOAPI_IKEY_OK) {
        FUZZ_CHECK(key == NULL);
        return;
    }
    FUZZ_CHECK(key != NULL);
    n = strlen(key);
    FUZZ_CHECK(n >= 1 && n <= GOAPI_IDEMPOTENCY_KEY_MAX);
    for (i = 0; i < n; i++) {
        FUZZ_CHECK((unsigned char)key[i] >= 0x20 && (unsigned char)key[i] <= 0x7e);
    }
    for (s = v; *s == ' ' || *s == '\t'; s++)
        ;
    if (*s != '"') {
        /* a bare key: nothing that would need quoting, and it is the
         * value without its surrounding blanks */
        FUZZ_CHECK(strpbrk(key, " \"\\,") == NULL);
        FUZZ_CHECK(strncmp(s, key, n) == 0);
        FUZZ_CHECK(strspn(s + n, " \t") == strlen(s + n));
    }

    /* The key written as an sf-string parses back to itself. */
    {
        const char *q = goapi_ikey_quote(p, key), *again = NULL;

        FUZZ_CHECK(goapi_ikey_parse(p, q, &again) == GOAPI_IKEY_OK);
        FUZZ_CHECK(strcmp(again, key) == 0);
        /* the quoted form is what Strict accepts, as the same key */
        FUZZ_CHECK(goapi_ikey_parse_strict(p, q, &again) == GOAPI_IKEY_OK);
        FUZZ_CHECK(strcmp(again, key) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = { data, size };
    apr_pool_t *p = fuzz_pool();
    unsigned mode = (unsigned)fuzz_take_u64(&in, 1);
    size_t max = (size_t)fuzz_take_u64(&in, 2) % (GOAPI_MAX_MAX_ID_LENGTH + 2);
    char *v = fuzz_take_str(&in);
    size_t len = strlen(v);
    const size_t fixed[] = {
        0, 1, GOAPI_MIN_MAX_ID_LENGTH, GOAPI_DEFAULT_MAX_ID_LENGTH,
        GOAPI_MAX_MAX_ID_LENGTH, len, len ? len - 1 : 0, len + 1,
    };

    check_id(v, len, max);
    check_id(v, len, fixed[mode % (sizeof(fixed) / sizeof(fixed[0]))]);
    check_id(v, len, len);
    check_ikey(p, v);

    free(v);
    apr_pool_destroy(p);
    return 0;
}
