/*
 * goapi_parse.h — parsers for directive values.  Each takes the text of an
 * argument and returns NULL with the value stored, or a static sentence
 * saying what form was expected; the caller adds directive and value.
 */
#ifndef GOAPI_PARSE_H
#define GOAPI_PARSE_H

#include <apr.h>

/* An HTTP field name (RFC 9110 token), 1 to GOAPI_HEADER_NAME_MAX bytes,
 * and not one of the fields HTTP itself gives a meaning (Host, Cookie, ...). */
const char *goapi_parse_header_name(const char *arg);

/* A decimal integer in [min, max], with no sign, blank or trailing text
 * (a leading '+' or '-' is refused too). */
const char *goapi_parse_int_range(const char *arg, apr_int64_t min,
                                  apr_int64_t max, apr_int64_t *out);

#endif /* GOAPI_PARSE_H */
