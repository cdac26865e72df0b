/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * fuzz_redis_url — GoapiIdempotencyStore values: goapi_redis_url_parse(),
 * goapi_redis_url_display(), goapi_redis_url_unknown() and the masking of
 * src/goapi_redact.c; no message or shown form holds a password.
 *
 * Input: a mode byte, then
 *   even: the value itself.  A parsed target is shown the same whatever
 *         its user and password are; masking a userinfo gives the same
 *         text whatever the userinfo holds.
 *   odd:  three strings split at NULs (prefix, user, suffix), made into
 *         prefix + user + ":" + SECRET + "@" + suffix: a password in a
 *         userinfo, written well or badly around it.  SECRET must come
 *         back in no refusal, no display and no masked form.  Inputs whose
 *         own bytes hold SECRET are skipped (a host may be any text).
 */
#include "fuzz.h"

#include <apr_strings.h>

#include "goapi_redact.h"
#include "goapi_redis_url.h"

#define SECRET "Zx9Kq7Wv"

static const char *refusal_or_display(apr_pool_t *p, const char *text)
{
    goapi_redis_target t;
    const char *err;

    if (!goapi_redis_url_is(text)) {
        return goapi_redis_url_unknown(p, text);
    }
    err = goapi_redis_url_parse(p, text, &t);
    return err ? err : goapi_redis_url_display(p, &t);
}

static void check_scheme(apr_pool_t *p, const char *text)
{
    const char *scheme = goapi_redact_scheme(p, text);

    if (scheme) {
        size_t n = strlen(scheme);

        FUZZ_CHECK(n >= 1 && n <= GOAPI_REDACT_SCHEME_MAX);
        FUZZ_CHECK(strncmp(text, scheme, n) == 0 && text[n] == ':');
    }
}

/* The text with every byte between its scheme (and "//") and its last '@'
 * made 'A': the masked form must not change. */
static void check_mask_hides_userinfo(apr_pool_t *p, char *text)
{
    const char *scheme = goapi_redact_scheme(p, text);
    char *from = text + (scheme ? strlen(scheme) + 1 : 0);
    char *at = strrchr(from, '@');
    const char *before = goapi_redact_url(p, text);

    if (scheme && from[0] == '/' && from[1] == '/') {
        from += 2;
    }
    if (!at || at < from) {
        return;
    }
    memset(from, 'A', (size_t)(at - from));
    FUZZ_CHECK(strcmp(before, goapi_redact_url(p, text)) == 0);
}

static void arbitrary(apr_pool_t *p, char *text)
{
    goapi_redis_target t, other;

    check_scheme(p, text);
    if (!goapi_redis_url_is(text)) {
        const char *msg = goapi_redis_url_unknown(p, text);

        FUZZ_CHECK(strstr(msg, "; expected lmdb:") != NULL);
    }
    else if (goapi_redis_url_parse(p, text, &t) == NULL) {
        FUZZ_CHECK(t.kind == GOAPI_REDIS_TCP || t.kind == GOAPI_REDIS_UNIX
                   || t.kind == GOAPI_REDIS_SENTINEL);
        /* the display depends on nothing secret */
        other = t;
        other.user = t.user ? "u" : NULL;
        other.password = t.password ? "p" : NULL;
        FUZZ_CHECK(strcmp(goapi_redis_url_display(p, &t),
                          goapi_redis_url_display(p, &other)) == 0);
    }
    check_mask_hides_userinfo(p, text);
}

static void constructed(apr_pool_t *p, fuzz_input *in)
{
    char *prefix = fuzz_take_str(in);
    char *user = fuzz_take_str(in);
    char *suffix = fuzz_take_str(in);
    char *text = apr_pstrcat(p, prefix, user, ":" SECRET "@", suffix, NULL);
    const char *first = strstr(text, SECRET);

    if (strstr(first + 1, SECRET) == NULL) {
        FUZZ_CHECK(strstr(refusal_or_display(p, text), SECRET) == NULL);
        FUZZ_CHECK(strstr(goapi_redact_url(p, text), SECRET) == NULL);
        if (!goapi_redis_url_is(text)) {
            FUZZ_CHECK(strstr(goapi_redis_url_unknown(p, text), SECRET) == NULL);
        }
        check_scheme(p, text);
    }
    free(prefix);
    free(user);
    free(suffix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    fuzz_input in = { data, size };
    int mode;

    if (size < 1) {
        return 0;
    }
    p = fuzz_pool();
    mode = (int)fuzz_take_u64(&in, 1);
    if (mode & 1) {
        constructed(p, &in);
    }
    else {
        char *text = fuzz_dup(in.at, in.left, 1);

        arbitrary(p, text);
        free(text);
    }
    apr_pool_destroy(p);
    return 0;
}
