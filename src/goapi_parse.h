/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_parse.h — parsers for directive values.  Each takes the text of an
 * argument and returns NULL with the value stored, or a static sentence
 * saying what form was expected; the caller adds directive and value.
 */
#ifndef GOAPI_PARSE_H
#define GOAPI_PARSE_H

#include <apr.h>
#include <apr_time.h>

/* 1 for an RFC 9110 tchar (the bytes of a token, such as a field name);
 * plain ASCII ranges, so the locale cannot widen it. */
int goapi_is_tchar(unsigned char c);

/* An HTTP field name (RFC 9110 token), 1 to GOAPI_HEADER_NAME_MAX bytes,
 * and not one of the fields HTTP itself gives a meaning (Host, Cookie, ...). */
const char *goapi_parse_header_name(const char *arg);

/* A decimal integer in [min, max], with no sign, blank or trailing text
 * (a leading '+' or '-' is refused too). */
const char *goapi_parse_int_range(const char *arg, apr_int64_t min,
                                  apr_int64_t max, apr_int64_t *out);

/* A duration as Go writes it (goapi_parse_go_duration()): "250ms", "5s",
 * "1m30s", "1.5h"; without a sign; a plain number is seconds ("5"), as in
 * httpd's own directives; "0" disables.  A non-zero value must lie between
 * 1ms and 24h.  *out is in microseconds, the nanoseconds cut off.  NULL,
 * or why the value is refused ("out of range", "too short"...), without
 * what is expected: each directive says that itself. */
const char *goapi_parse_duration(const char *arg, apr_interval_time_t *out);

/* Go's time.ParseDuration, to the nanosecond and with Go's results:
 * [-+]?([0-9]*(\.[0-9]*)?unit)+ or "0", units ns us µs (either micro
 * sign) ms s m h, within the range of a signed 64-bit count of
 * nanoseconds.  Returns NULL with *ns set, or one of the three reasons
 * below (compare the pointers). */
const char *goapi_parse_go_duration(const char *arg, apr_int64_t *ns);

#define GOAPI_GO_DURATION_INVALID   goapi_go_duration_reasons[0]
#define GOAPI_GO_DURATION_UNIT      goapi_go_duration_reasons[1]
#define GOAPI_GO_DURATION_RANGE     goapi_go_duration_reasons[2]
extern const char *const goapi_go_duration_reasons[3];

/* The form goapi_parse_duration() accepts, for the messages of the
 * directives where 0 disables. */
#define GOAPI_DURATION_FORM \
    "a duration such as 5 (seconds), 250ms, 5s, 1m30s or 1h, from 1ms to 24h, or 0 to disable"

/* A size in bytes: digits, optionally followed by K/KiB, M/MiB or G/GiB
 * (powers of 1024), within [min, max]. */
const char *goapi_parse_size(const char *arg, apr_int64_t min, apr_int64_t max,
                             apr_int64_t *out);

/* "250ms", "5s", "1m30s": a duration written back in the shortest exact
 * form (for messages); buf needs 32 bytes. */
const char *goapi_format_duration(apr_interval_time_t d, char buf[32]);

#endif /* GOAPI_PARSE_H */
