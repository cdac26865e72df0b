/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_parse.c — directive value parsers (see goapi_parse.h).
 */
#include <string.h>

#include <apr_cstr.h>
#include <apr_strings.h>

#include "goapi_defs.h"
#include "goapi_parse.h"

int goapi_is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9')
           || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Fields with a meaning of their own to HTTP or to httpd: carrying an ID in
 * one of them would break the protocol or leak credentials. */
static const char *const goapi_reserved_fields[] = {
    "Authorization", "Connection", "Content-Encoding", "Content-Length",
    "Content-Type", "Cookie", "Date", "Expect", "Host", "Keep-Alive",
    "Location", "Proxy-Authorization", "Set-Cookie", "TE", "Trailer",
    "Transfer-Encoding", "Upgrade", "Via",
};

const char *goapi_parse_header_name(const char *arg)
{
    apr_size_t n;

    for (n = 0; arg[n] != '\0'; n++) {
        if (!goapi_is_tchar((unsigned char)arg[n])) {
            break;
        }
    }
    if (n == 0 || arg[n] != '\0' || n > GOAPI_HEADER_NAME_MAX) {
        return "expected an HTTP header name: 1 to "
               GOAPI_STR(GOAPI_HEADER_NAME_MAX)
               " letters, digits or !#$%&'*+-.^_`|~";
    }
    for (n = 0; n < sizeof(goapi_reserved_fields) / sizeof(goapi_reserved_fields[0]); n++) {
        if (apr_cstr_casecmp(arg, goapi_reserved_fields[n]) == 0) {
            return "expected a header name of your own: this one has a meaning in HTTP";
        }
    }
    return NULL;
}

const char *goapi_parse_int_range(const char *arg, apr_int64_t min,
                                  apr_int64_t max, apr_int64_t *out)
{
    apr_int64_t v = 0;
    const char *s = arg;

    if (*s == '\0') {
        return "not a number";
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return "not a whole number written with digits only";
        }
        /* v * 10 + digit > max, without overflow (and right for max < 9,
         * where (max - digit) / 10 rounds towards zero) */
        if (v > max / 10 || v * 10 > max - (*s - '0')) {
            return "out of range";
        }
        v = v * 10 + (*s - '0');
    }
    if (v < min) {
        return "out of range";
    }
    *out = v;
    return NULL;
}

#define GOAPI_DURATION_MAX  (APR_INT64_C(24) * 3600 * APR_USEC_PER_SEC)
#define GOAPI_DURATION_MIN  APR_INT64_C(1000)       /* 1ms */

/* Length of the unit at s and its size in nanoseconds, or 0.  Like Go, a
 * unit is the whole run of bytes up to the next digit or '.': "5mss" has
 * the unknown unit "mss", not "ms" followed by garbage. */
static apr_size_t goapi_duration_unit(const char *s, apr_uint64_t *ns)
{
    static const struct {
        const char *name;
        apr_uint64_t ns;
    } units[] = {
        { "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 },
        { "ms", 1000000 }, { "s", APR_UINT64_C(1000000000) },
        { "m", APR_UINT64_C(60000000000) }, { "h", APR_UINT64_C(3600000000000) },
    };
    apr_size_t n = 0, i;

    while (s[n] && s[n] != '.' && (s[n] < '0' || s[n] > '9')) {
        n++;
    }
    for (i = 0; n && i < sizeof(units) / sizeof(units[0]); i++) {
        if (strlen(units[i].name) == n && memcmp(s, units[i].name, n) == 0) {
            *ns = units[i].ns;
            return n;
        }
    }
    return 0;
}

#define GOAPI_2_63  (APR_UINT64_C(1) << 63)

const char *const goapi_go_duration_reasons[3] = {
    "invalid duration", "missing or unknown unit", "duration out of range"
};

const char *goapi_parse_go_duration(const char *arg, apr_int64_t *ns)
{
    const char *s = arg;
    apr_uint64_t total = 0;
    int negative = 0;

    if (*s == '-' || *s == '+') {
        negative = *s++ == '-';
    }
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return NULL;
    }
    if (*s == '\0') {
        return GOAPI_GO_DURATION_INVALID;
    }
    while (*s) {
        apr_uint64_t whole = 0, frac = 0, unit, v;
        double scale = 1;
        int digits = 0, frac_full = 0;
        apr_size_t ulen;

        /* the whole part: more than 2^63 is an error */
        for (; *s >= '0' && *s <= '9'; s++, digits++) {
            if (whole > GOAPI_2_63 / 10) {
                return GOAPI_GO_DURATION_RANGE;
            }
            whole = whole * 10 + (apr_uint64_t)(*s - '0');
            if (whole > GOAPI_2_63) {
                return GOAPI_GO_DURATION_RANGE;
            }
        }
        /* the fraction: digits past what 63 bits hold are ignored */
        if (*s == '.') {
            for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
                apr_uint64_t next;

                if (frac_full || frac > (GOAPI_2_63 - 1) / 10) {
                    frac_full = 1;
                    continue;
                }
                next = frac * 10 + (apr_uint64_t)(*s - '0');
                if (next > GOAPI_2_63) {
                    frac_full = 1;
                    continue;
                }
                frac = next;
                scale *= 10;
            }
        }
        if (digits == 0) {
            return GOAPI_GO_DURATION_INVALID;       /* "s", ".s", "1h.m" */
        }
        ulen = goapi_duration_unit(s, &unit);
        if (ulen == 0) {
            return GOAPI_GO_DURATION_UNIT;
        }
        s += ulen;
        if (whole > GOAPI_2_63 / unit) {
            return GOAPI_GO_DURATION_RANGE;
        }
        v = whole * unit;
        if (frac > 0) {
            /* in double precision, unit over scale first, as Go does: the
             * result then matches Go's to the nanosecond */
            v += (apr_uint64_t)((double)frac * ((double)unit / scale));
            if (v > GOAPI_2_63) {
                return GOAPI_GO_DURATION_RANGE;
            }
        }
        total += v;
        if (total > GOAPI_2_63) {
            return GOAPI_GO_DURATION_RANGE;
        }
    }
    if (negative) {
        *ns = total == GOAPI_2_63 ? APR_INT64_MIN : -(apr_int64_t)total;
    }
    else if (total == GOAPI_2_63) {
        return GOAPI_GO_DURATION_RANGE;
    }
    else {
        *ns = (apr_int64_t)total;
    }
    return NULL;
}

const char *goapi_parse_duration(const char *arg, apr_interval_time_t *out)
{
    const char *s;
    const char *err;
    apr_int64_t ns;

    if (*arg == '\0') {
        return "empty";
    }
    for (s = arg; *s >= '0' && *s <= '9'; s++) {
    }
    if (*s == '\0') {
        /* digits only: seconds, as httpd's own timeouts are written */
        apr_int64_t secs;

        if (goapi_parse_int_range(arg, 0, GOAPI_DURATION_MAX / APR_USEC_PER_SEC, &secs)) {
            return "out of range";
        }
        *out = secs * APR_USEC_PER_SEC;
        return NULL;
    }
    if (*arg == '-' || *arg == '+') {
        return "a sign is not allowed";         /* no negative timeouts */
    }
    err = goapi_parse_go_duration(arg, &ns);
    if (err == GOAPI_GO_DURATION_UNIT) {
        return "missing or unknown unit";
    }
    if (err == GOAPI_GO_DURATION_RANGE || (!err && ns > GOAPI_DURATION_MAX * 1000)) {
        return "out of range";
    }
    if (err) {
        return "not a duration";
    }
    /* Checked in nanoseconds: "2ns" is too short, not 0 (disabled). */
    if (ns != 0 && ns < GOAPI_DURATION_MIN * 1000) {
        return "too short";
    }
    *out = ns / 1000;                           /* to microseconds */
    return NULL;
}

const char *goapi_format_duration(apr_interval_time_t d, char buf[32])
{
    apr_int64_t h = d / (APR_INT64_C(3600) * APR_USEC_PER_SEC);
    apr_int64_t m = d / (APR_INT64_C(60) * APR_USEC_PER_SEC) % 60;
    apr_int64_t us = d % (APR_INT64_C(60) * APR_USEC_PER_SEC);
    int o = 0;

    if (d <= 0) {
        return "0s";
    }
    if (h) o += apr_snprintf(buf + o, 32 - o, "%" APR_INT64_T_FMT "h", h);
    if (m) o += apr_snprintf(buf + o, 32 - o, "%" APR_INT64_T_FMT "m", m);
    if (us % APR_USEC_PER_SEC == 0) {
        if (us) apr_snprintf(buf + o, 32 - o, "%" APR_INT64_T_FMT "s", us / APR_USEC_PER_SEC);
    }
    else if (us % 1000 == 0) {
        apr_snprintf(buf + o, 32 - o, "%" APR_INT64_T_FMT "ms", us / 1000);
    }
    else {
        apr_snprintf(buf + o, 32 - o, "%" APR_INT64_T_FMT "us", us);
    }
    return buf;
}

const char *goapi_parse_size(const char *arg, apr_int64_t min, apr_int64_t max,
                             apr_int64_t *out)
{
    static const struct {
        const char *suffix;
        apr_int64_t mult;
    } suffixes[] = {
        { "", 1 }, { "B", 1 }, { "K", 1024 }, { "k", 1024 }, { "KiB", 1024 },
        { "M", 1024 * 1024 }, { "m", 1024 * 1024 }, { "MiB", 1024 * 1024 },
        { "G", APR_INT64_C(1) << 30 }, { "g", APR_INT64_C(1) << 30 },
        { "GiB", APR_INT64_C(1) << 30 },
    };
    const char *s = arg;
    char digits[24];
    apr_size_t n, i;
    apr_int64_t v;

    for (n = 0; s[n] >= '0' && s[n] <= '9'; n++)
        ;
    if (n == 0 || n >= sizeof(digits)) {
        return n ? "out of range" : "not a number of bytes (K, M or G may follow)";
    }
    memcpy(digits, s, n);
    digits[n] = '\0';
    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        if (strcmp(s + n, suffixes[i].suffix) == 0) {
            if (goapi_parse_int_range(digits, 0, max / suffixes[i].mult, &v)) {
                return "out of range";
            }
            v *= suffixes[i].mult;
            if (v < min || v > max) {
                return "out of range";
            }
            *out = v;
            return NULL;
        }
    }
    return "not a number of bytes (K, M or G may follow)";
}
