/*
 * goapi_parse.c — directive value parsers (see goapi_parse.h).
 */
#include <string.h>

#include <apr_cstr.h>

#include "goapi_defs.h"
#include "goapi_parse.h"

/* RFC 9110 tchar */
static int goapi_is_tchar(unsigned char c)
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
        if (v > (max - (*s - '0')) / 10) {
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
