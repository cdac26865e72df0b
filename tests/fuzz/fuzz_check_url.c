/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * fuzz_check_url — goapi_check_url_parse(), the GoapiReadinessCheck URL
 * (tcp://host:port, http://host[:port]/path, [IPv6]), with
 * goapi_check_name_parse() and goapi_http_status() on the same bytes.
 *
 * Input: the URL (up to a NUL); the whole input for goapi_http_status().
 */
#include "fuzz.h"

#include <apr_lib.h>

#include "goapi_health.h"

static void check_url(apr_pool_t *p, const char *text)
{
    goapi_check_url u;
    const char *err = goapi_check_url_parse(p, text, &u);
    const char *s;

    if (err != NULL) {
        return;
    }
    FUZZ_CHECK(u.kind == GOAPI_CHECK_TCP || u.kind == GOAPI_CHECK_HTTP);
    FUZZ_CHECK(u.port >= 1);                    /* apr_port_t: <= 65535 */
    FUZZ_CHECK(u.host != NULL && u.host[0] != '\0');
    for (s = u.host; *s; s++) {
        FUZZ_CHECK(apr_isalnum(*s) || strchr(".-_:", *s) != NULL);
    }
    FUZZ_CHECK(strstr(text, u.host) != NULL);
    if (u.kind == GOAPI_CHECK_TCP) {
        FUZZ_CHECK(u.path == NULL);
    }
    else {
        FUZZ_CHECK(u.path != NULL && u.path[0] == '/');
        for (s = u.path; *s; s++) {
            FUZZ_CHECK((unsigned char)*s > 0x20 && (unsigned char)*s < 0x7f);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *text = fuzz_dup(data, size, 1);
    char *raw = fuzz_dup(data, size, 0);
    int code;

    check_url(p, text);
    if (goapi_check_name_parse(text) == NULL) {
        FUZZ_CHECK(strlen(text) >= 1 && strlen(text) <= GOAPI_CHECK_NAME_MAX);
    }
    code = goapi_http_status(raw, size);
    FUZZ_CHECK(code == -1 || (code >= 100 && code <= 999));

    free(text);
    free(raw);
    apr_pool_destroy(p);
    return 0;
}
