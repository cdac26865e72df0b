/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * fuzz_parse — the directive value parsers: goapi_parse_duration(),
 * goapi_parse_size(), goapi_parse_int_range() and goapi_parse_header_name(),
 * always on NUL-terminated copies.
 *
 * Input: one byte choosing the bounds (and up to 16 bytes for them), then
 * the text (up to a NUL).
 */
#include "fuzz.h"

#include "goapi_defs.h"
#include "goapi_parse.h"

#define SENTINEL APR_INT64_C(-7)
#define USEC_1MS APR_INT64_C(1000)
#define USEC_24H (APR_INT64_C(86400) * 1000000)

/* Bounds as the module passes them: 0 <= min <= max. */
static void take_bounds(fuzz_input *in, apr_int64_t *min, apr_int64_t *max)
{
    unsigned mode = (unsigned)fuzz_take_u64(in, 1);
    apr_int64_t a, b;

    switch (mode % 5) {
    case 0:
        a = 1024, b = 64 << 20;
        break;
    case 1:
        a = 0, b = GOAPI_MAX_IDEM_BYTES;
        break;
    case 2:                                     /* small: 0..255 */
        a = (apr_int64_t)fuzz_take_u64(in, 1);
        b = (apr_int64_t)fuzz_take_u64(in, 1);
        break;
    case 3:                                     /* 0..65535 */
        a = (apr_int64_t)fuzz_take_u64(in, 2);
        b = (apr_int64_t)fuzz_take_u64(in, 2);
        break;
    default:                                    /* anything non-negative */
        a = (apr_int64_t)(fuzz_take_u64(in, 8) >> 1);
        b = (apr_int64_t)(fuzz_take_u64(in, 8) >> 1);
        break;
    }
    *min = a < b ? a : b;
    *max = a < b ? b : a;
}

/* A duration component with a non-zero whole part ("1ns", "2h") is at
 * least 1ns, so the sum cannot be 0 ("disabled"). */
static int has_nonzero_whole(const char *s)
{
    int in_frac = 0;

    for (; *s; s++) {
        if (*s == '.') {
            in_frac = 1;
        }
        else if (*s < '0' || *s > '9') {
            in_frac = 0;
        }
        else if (!in_frac && *s != '0') {
            return 1;
        }
    }
    return 0;
}

static void check_duration(const char *s)
{
    apr_interval_time_t v = SENTINEL;
    apr_int64_t ns = SENTINEL;
    const char *err = goapi_parse_duration(s, &v);
    const char *go_err = goapi_parse_go_duration(s, &ns);
    const char *d;

    /* Go's grammar: the same value, or untouched on error; the directive
     * parser accepts a unit form only where Go does, with its value */
    FUZZ_CHECK(go_err != NULL || s[0] != '\0');
    FUZZ_CHECK(go_err == NULL || ns == SENTINEL);
    for (d = s; *d >= '0' && *d <= '9'; d++) {
    }
    if (err == NULL && *d != '\0') {
        FUZZ_CHECK(go_err == NULL && ns >= 0 && v == ns / 1000);
    }
    if (err != NULL) {
        FUZZ_CHECK(v == SENTINEL);
        return;
    }
    FUZZ_CHECK(v == 0 || (v >= USEC_1MS && v <= USEC_24H));
    FUZZ_CHECK(v != 0 || !has_nonzero_whole(s));
    if (v != 0) {
        /* the shortest form it writes back parses to the same value */
        char buf[32];
        apr_interval_time_t again = SENTINEL;

        FUZZ_CHECK(goapi_parse_duration(goapi_format_duration(v, buf), &again) == NULL);
        FUZZ_CHECK(again == v);
    }
}

/* The value of a string of digits, or -1 past max (or when not digits). */
static apr_int64_t ref_decimal(const char *s, apr_int64_t max)
{
    apr_uint64_t v = 0;

    if (*s == '\0') {
        return -1;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        if (v > (apr_uint64_t)max / 10) {
            return -1;                          /* 10 * v > max */
        }
        v = v * 10 + (apr_uint64_t)(*s - '0');
        if (v > (apr_uint64_t)max) {
            return -1;
        }
    }
    return (apr_int64_t)v;
}

static void check_int_range(const char *s, apr_int64_t min, apr_int64_t max)
{
    apr_int64_t v = SENTINEL;
    const char *err = goapi_parse_int_range(s, min, max, &v);
    apr_int64_t want = ref_decimal(s, max);

    if (err != NULL) {
        FUZZ_CHECK(v == SENTINEL);
        FUZZ_CHECK(want < min);                 /* -1 or too small */
        return;
    }
    FUZZ_CHECK(v >= min && v <= max);
    FUZZ_CHECK(v == want);
}

static void check_size(const char *s, apr_int64_t min, apr_int64_t max)
{
    apr_int64_t v = SENTINEL;
    const char *err = goapi_parse_size(s, min, max, &v);

    if (err != NULL) {
        FUZZ_CHECK(v == SENTINEL);
        return;
    }
    FUZZ_CHECK(v >= min && v <= max);
}

static void check_header_name(const char *s)
{
    size_t i, n = strlen(s);

    if (goapi_parse_header_name(s) != NULL) {
        return;
    }
    FUZZ_CHECK(n >= 1 && n <= GOAPI_HEADER_NAME_MAX);
    for (i = 0; i < n; i++) {
        FUZZ_CHECK(goapi_is_tchar((unsigned char)s[i]));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = { data, size };
    apr_int64_t min, max;
    char *s;

    take_bounds(&in, &min, &max);
    s = fuzz_take_str(&in);

    check_duration(s);
    check_int_range(s, min, max);
    check_size(s, min, max);
    check_header_name(s);

    free(s);
    return 0;
}
