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
        return "expected a number";
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return "expected a whole number written with digits only";
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

/* Length of the unit at s and its size in nanoseconds, or 0. */
static apr_size_t goapi_duration_unit(const char *s, apr_int64_t *ns)
{
    static const struct {
        const char *name;
        apr_int64_t ns;
    } units[] = {
        /* longer names first: "ms" before "m" */
        { "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 },
        { "ms", 1000000 }, { "s", APR_INT64_C(1000000000) },
        { "m", APR_INT64_C(60000000000) }, { "h", APR_INT64_C(3600000000000) },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        apr_size_t n = strlen(units[i].name);

        if (strncmp(s, units[i].name, n) == 0) {
            *ns = units[i].ns;
            return n;
        }
    }
    return 0;
}

const char *goapi_parse_duration(const char *arg, apr_interval_time_t *out)
{
    /* Sum in nanoseconds; 24h is 8.64e13 ns, far inside int64, and every
     * step is checked against a bound well above it. */
    const apr_int64_t cap = GOAPI_DURATION_MAX * 1000;
    apr_int64_t total = 0;
    const char *s = arg;
    int all_digits = 1;

    if (*s == '\0') {
        return "expected " GOAPI_DURATION_FORM;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            all_digits = 0;
            break;
        }
    }
    s = arg;
    if (all_digits) {
        apr_int64_t secs;

        if (goapi_parse_int_range(arg, 0, GOAPI_DURATION_MAX / APR_USEC_PER_SEC, &secs)) {
            return "out of range: expected " GOAPI_DURATION_FORM;
        }
        *out = secs * APR_USEC_PER_SEC;
        return NULL;
    }
    while (*s) {
        apr_int64_t whole = 0, frac = 0, scale = 1, unit;
        int digits = 0;
        apr_size_t ulen;

        for (; *s >= '0' && *s <= '9'; s++, digits++) {
            if (whole > cap) {
                return "out of range: expected " GOAPI_DURATION_FORM;
            }
            whole = whole * 10 + (*s - '0');
        }
        if (*s == '.') {
            for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
                if (scale < APR_INT64_C(1000000000000)) {
                    frac = frac * 10 + (*s - '0');
                    scale *= 10;
                }
            }
        }
        if (digits == 0) {
            return "expected " GOAPI_DURATION_FORM;
        }
        ulen = goapi_duration_unit(s, &unit);
        if (ulen == 0) {
            return "missing or unknown unit: expected " GOAPI_DURATION_FORM;
        }
        s += ulen;
        if (whole > cap / unit) {
            return "out of range: expected " GOAPI_DURATION_FORM;
        }
        total += whole * unit + (apr_int64_t)((double)frac * (double)unit / (double)scale);
        if (total > cap) {
            return "out of range: expected " GOAPI_DURATION_FORM;
        }
    }
    /* Checked in nanoseconds: "2ns" is too short, not 0 (disabled). */
    if (total != 0 && total < GOAPI_DURATION_MIN * 1000) {
        return "too short: expected " GOAPI_DURATION_FORM;
    }
    total /= 1000;                              /* to microseconds */
    *out = total;
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
        return n ? "out of range" : "expected a number of bytes, optionally with K, M or G (KiB, MiB, GiB)";
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
    return "expected a number of bytes, optionally with K, M or G (KiB, MiB, GiB)";
}
