/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * fuzz_path — request targets through goapi_path_of_target(),
 * goapi_path_is_clean(), goapi_path_clean(), goapi_pct_decode() and
 * goapi_route_match().
 *
 * Input: "METHOD TARGET", like a request line (no space: GET and the whole
 * input is the target).  The raw target bytes are matched too, as a
 * non-terminated exact-size buffer, so a read past len is an overread.
 */
#include "fuzz.h"

#include "goapi_defs.h"
#include "goapi_path.h"
#include "goapi_router.h"

static void check_match(apr_pool_t *p, const char *method, const char *path,
                        size_t len, int nul_free)
{
    goapi_match m;
    goapi_match_result r = goapi_route_match(p, method, path, len, &m);
    size_t i;

    switch (r) {
    case GOAPI_MATCH_FOUND:
        FUZZ_CHECK(m.route != GOAPI_ROUTE_NONE);
        FUZZ_CHECK(goapi_path_is_clean(path, len));
        if (m.param_name != NULL) {
            FUZZ_CHECK(m.param != NULL);
            FUZZ_CHECK(m.param_len >= 1 && m.param_len <= GOAPI_PATH_PARAM_MAX);
            FUZZ_CHECK(m.param[m.param_len] == '\0');
            for (i = 0; i < m.param_len; i++) {
                unsigned char c = (unsigned char)m.param[i];

                FUZZ_CHECK(c != '/' && c >= 0x20 && c != 0x7f);
            }
            FUZZ_CHECK(strcmp(m.param, ".") != 0 && strcmp(m.param, "..") != 0);
        }
        else {
            FUZZ_CHECK(m.param == NULL);
        }
        break;
    case GOAPI_MATCH_NOT_FOUND:
        FUZZ_CHECK(m.allowed == 0);
        break;
    case GOAPI_MATCH_NOT_ALLOWED:
        FUZZ_CHECK(m.allowed != 0);
        FUZZ_CHECK(!(m.allowed & goapi_method_bit(method)));
        FUZZ_CHECK(goapi_allow_header(p, m.allowed)[0] != '\0');
        break;
    case GOAPI_MATCH_REDIRECT:
        FUZZ_CHECK(!goapi_path_is_clean(path, len));
        FUZZ_CHECK(m.location != NULL && m.location[0] == '/');
        if (nul_free) {
            /* the clean form is clean, and cleaning it changes nothing:
             * a redirect never leads to another redirect */
            size_t n = strlen(m.location);

            FUZZ_CHECK(goapi_path_is_clean(m.location, n));
            FUZZ_CHECK(strcmp(goapi_path_clean(p, m.location, n), m.location) == 0);
        }
        break;
    case GOAPI_MATCH_BAD_PARAM:
        FUZZ_CHECK(m.param_name != NULL && m.reason != NULL);
        break;
    default:
        FUZZ_CHECK(!"unknown goapi_match_result");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const uint8_t *sp = memchr(data, ' ', size < 16 ? size : 16);
    const uint8_t *t = sp ? sp + 1 : data;
    size_t tlen = size - (size_t)(t - data);
    char *method = sp ? fuzz_dup(data, (size_t)(sp - data), 1) : fuzz_dup("GET", 3, 1);
    char *target = fuzz_dup(t, tlen, 1);
    char *raw = fuzz_dup(t, tlen, 0);
    const char *path;
    apr_size_t len;

    /* the method as a C string stops at a NUL */
    goapi_method_bit(method);

    goapi_path_of_target(target, &path, &len);
    FUZZ_CHECK(len >= 1 && path[0] == '/');
    FUZZ_CHECK(memchr(path, '\0', len) == NULL);
    FUZZ_CHECK(strcmp(path, "/") == 0
               || (path >= target && path + len <= target + strlen(target)));
    FUZZ_CHECK(memchr(path, '?', len) == NULL && memchr(path, '#', len) == NULL);
    {
        /* exact-size copy of the path, so that nothing reads past len */
        char *exact = fuzz_dup(path, len, 0);

        check_match(p, method, exact, len, 1);
        free(exact);
    }

    /* the raw bytes, NULs and all */
    check_match(p, method, raw, tlen, 0);
    {
        char *out = malloc(tlen + 1);
        apr_ssize_t n;

        FUZZ_CHECK(out != NULL);
        n = goapi_pct_decode(raw, tlen, out);
        FUZZ_CHECK(n >= -1 && n <= (apr_ssize_t)tlen);
        FUZZ_CHECK(n < 0 || out[n] == '\0');
        free(out);
        if (tlen > 0) {
            FUZZ_CHECK(goapi_path_clean(p, raw, tlen)[0] == '/');
        }
    }

    free(method);
    free(target);
    free(raw);
    apr_pool_destroy(p);
    return 0;
}
