/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Route matching with Go 1.22 ServeMux semantics.
 */
#include <string.h>

#include "unit.h"
#include "goapi_defs.h"
#include "goapi_router.h"

typedef struct {
    const char *method;
    const char *path;
    goapi_match_result want;
    goapi_route_id route;
    const char *extra;          /* param, Allow, location or reason */
} route_case;

static const route_case cases[] = {
    { "GET", "/", GOAPI_MATCH_FOUND, GOAPI_ROUTE_ROOT, NULL },
    { "HEAD", "/", GOAPI_MATCH_FOUND, GOAPI_ROUTE_ROOT, NULL },
    { "GET", "/healthz", GOAPI_MATCH_FOUND, GOAPI_ROUTE_HEALTHZ, NULL },
    { "GET", "/readyz", GOAPI_MATCH_FOUND, GOAPI_ROUTE_READYZ, NULL },
    { "GET", "/startupz", GOAPI_MATCH_FOUND, GOAPI_ROUTE_STARTUPZ, NULL },
    { "GET", "/metrics", GOAPI_MATCH_FOUND, GOAPI_ROUTE_METRICS, NULL },
    { "POST", "/metrics", GOAPI_MATCH_NOT_ALLOWED, GOAPI_ROUTE_NONE, "GET, HEAD" },
    { "GET", "/readyz/db", GOAPI_MATCH_FOUND, GOAPI_ROUTE_READYZ_CHECK, "db" },
    { "GET", "/readyz/", GOAPI_MATCH_NOT_FOUND, GOAPI_ROUTE_NONE, NULL },
    { "GET", "/readyz/db/x", GOAPI_MATCH_NOT_FOUND, GOAPI_ROUTE_NONE, NULL },
    { "POST", "/readyz/db", GOAPI_MATCH_NOT_ALLOWED, GOAPI_ROUTE_NONE, "GET, HEAD" },
    { "GET", "/parcels/abc", GOAPI_MATCH_FOUND, GOAPI_ROUTE_PARCEL, "abc" },
    { "HEAD", "/parcels/abc", GOAPI_MATCH_FOUND, GOAPI_ROUTE_PARCEL, "abc" },
    { "GET", "/parcels/a%20b", GOAPI_MATCH_FOUND, GOAPI_ROUTE_PARCEL, "a b" },
    { "GET", "/parcels/%E2%82%AC1", GOAPI_MATCH_FOUND, GOAPI_ROUTE_PARCEL, "\xe2\x82\xac" "1" },
    { "GET", "/parcels/...", GOAPI_MATCH_FOUND, GOAPI_ROUTE_PARCEL, "..." },
    { "GET", "/parcels/a+b", GOAPI_MATCH_FOUND, GOAPI_ROUTE_PARCEL, "a+b" },

    /* not found */
    { "GET", "/parcels/", GOAPI_MATCH_NOT_FOUND, GOAPI_ROUTE_NONE, NULL },
    { "GET", "/parcels", GOAPI_MATCH_NOT_FOUND, GOAPI_ROUTE_NONE, NULL },
    { "GET", "/parcels/a/b", GOAPI_MATCH_NOT_FOUND, GOAPI_ROUTE_NONE, NULL },
    { "POST", "/parcels/p-1/dispatch", GOAPI_MATCH_FOUND, GOAPI_ROUTE_DISPATCH, "p-1" },
    { "POST", "/parcels/a%20b/dispatch", GOAPI_MATCH_FOUND, GOAPI_ROUTE_DISPATCH, "a b" },
    { "GET", "/parcels/p-1/dispatch", GOAPI_MATCH_NOT_ALLOWED, GOAPI_ROUTE_NONE, "POST" },
    { "POST", "/parcels/p-1", GOAPI_MATCH_NOT_ALLOWED, GOAPI_ROUTE_NONE, "GET, HEAD" },
    { "POST", "/parcels//dispatch", GOAPI_MATCH_REDIRECT, GOAPI_ROUTE_NONE, "/parcels/dispatch" },
    { "POST", "/parcels/p-1/dispatch/x", GOAPI_MATCH_NOT_FOUND, GOAPI_ROUTE_NONE, NULL },
    { "GET", "/parcels/a/", GOAPI_MATCH_NOT_FOUND, GOAPI_ROUTE_NONE, NULL },
    { "GET", "/healthz/", GOAPI_MATCH_NOT_FOUND, GOAPI_ROUTE_NONE, NULL },
    { "GET", "/healthzz", GOAPI_MATCH_NOT_FOUND, GOAPI_ROUTE_NONE, NULL },
    { "GET", "/Healthz", GOAPI_MATCH_NOT_FOUND, GOAPI_ROUTE_NONE, NULL },
    { "GET", "/nope", GOAPI_MATCH_NOT_FOUND, GOAPI_ROUTE_NONE, NULL },
    /* a fixed part matches the segment unescaped (Go 1.22); "%2F" is no
     * separator */
    { "GET", "/%68ealthz", GOAPI_MATCH_FOUND, GOAPI_ROUTE_HEALTHZ, NULL },
    { "GET", "/%68%65%61%6C%74%68%7a", GOAPI_MATCH_FOUND, GOAPI_ROUTE_HEALTHZ, NULL },
    { "POST", "/parcels/a/%64ispatch", GOAPI_MATCH_FOUND, GOAPI_ROUTE_DISPATCH, "a" },
    { "GET", "/%70arcels/p-1", GOAPI_MATCH_FOUND, GOAPI_ROUTE_PARCEL, "p-1" },
    { "GET", "/healthz%2F", GOAPI_MATCH_NOT_FOUND, GOAPI_ROUTE_NONE, NULL },
    { "GET", "/parcels%2Fabc", GOAPI_MATCH_NOT_FOUND, GOAPI_ROUTE_NONE, NULL },
    { "GET", "/%2Fhealthz", GOAPI_MATCH_NOT_FOUND, GOAPI_ROUTE_NONE, NULL },
    { "GET", "/%6", GOAPI_MATCH_NOT_FOUND, GOAPI_ROUTE_NONE, NULL },
    { "POST", "/%68ealthz", GOAPI_MATCH_NOT_ALLOWED, GOAPI_ROUTE_NONE, "GET, HEAD" },
    { "POST", "/nope", GOAPI_MATCH_NOT_FOUND, GOAPI_ROUTE_NONE, NULL },

    /* method not allowed */
    { "POST", "/parcels/abc", GOAPI_MATCH_NOT_ALLOWED, GOAPI_ROUTE_NONE, "GET, HEAD" },
    { "DELETE", "/parcels/abc", GOAPI_MATCH_NOT_ALLOWED, GOAPI_ROUTE_NONE, "GET, HEAD" },
    { "OPTIONS", "/parcels/abc", GOAPI_MATCH_NOT_ALLOWED, GOAPI_ROUTE_NONE, "GET, HEAD" },
    { "get", "/parcels/abc", GOAPI_MATCH_NOT_ALLOWED, GOAPI_ROUTE_NONE, "GET, HEAD" },
    { "PUT", "/healthz", GOAPI_MATCH_NOT_ALLOWED, GOAPI_ROUTE_NONE, "GET, HEAD" },
    { "POST", "/", GOAPI_MATCH_NOT_ALLOWED, GOAPI_ROUTE_NONE, "GET, HEAD" },

    /* unclean paths redirect to the clean form */
    { "GET", "//healthz", GOAPI_MATCH_REDIRECT, GOAPI_ROUTE_NONE, "/healthz" },
    { "GET", "/a/../healthz", GOAPI_MATCH_REDIRECT, GOAPI_ROUTE_NONE, "/healthz" },
    { "GET", "/parcels/./x", GOAPI_MATCH_REDIRECT, GOAPI_ROUTE_NONE, "/parcels/x" },
    { "POST", "/parcels/x/..", GOAPI_MATCH_REDIRECT, GOAPI_ROUTE_NONE, "/parcels" },

    /* bad parameter */
    { "GET", "/parcels/a%2Fb", GOAPI_MATCH_BAD_PARAM, GOAPI_ROUTE_PARCEL, "must not contain '/'" },
    { "GET", "/parcels/%2f", GOAPI_MATCH_BAD_PARAM, GOAPI_ROUTE_PARCEL, "must not contain '/'" },
    { "GET", "/parcels/a%00", GOAPI_MATCH_BAD_PARAM, GOAPI_ROUTE_PARCEL, "must not contain control characters" },
    { "GET", "/parcels/a%0d%0aX:1", GOAPI_MATCH_BAD_PARAM, GOAPI_ROUTE_PARCEL, "must not contain control characters" },
    { "GET", "/parcels/%7f", GOAPI_MATCH_BAD_PARAM, GOAPI_ROUTE_PARCEL, "must not contain control characters" },
    { "GET", "/parcels/%C0%AF", GOAPI_MATCH_BAD_PARAM, GOAPI_ROUTE_PARCEL, "must be valid UTF-8" },
    { "GET", "/parcels/%E0%80%AF", GOAPI_MATCH_BAD_PARAM, GOAPI_ROUTE_PARCEL, "must be valid UTF-8" },
    { "GET", "/parcels/%ED%A0%80", GOAPI_MATCH_BAD_PARAM, GOAPI_ROUTE_PARCEL, "must be valid UTF-8" },
    { "GET", "/parcels/%F4%90%80%80", GOAPI_MATCH_BAD_PARAM, GOAPI_ROUTE_PARCEL, "must be valid UTF-8" },
    { "GET", "/parcels/%FF", GOAPI_MATCH_BAD_PARAM, GOAPI_ROUTE_PARCEL, "must be valid UTF-8" },
    { "GET", "/parcels/a%E2%82", GOAPI_MATCH_BAD_PARAM, GOAPI_ROUTE_PARCEL, "must be valid UTF-8" },
    { "GET", "/parcels/%80abc", GOAPI_MATCH_BAD_PARAM, GOAPI_ROUTE_PARCEL, "must be valid UTF-8" },
    { "GET", "/parcels/%F0%9F%93%A6", GOAPI_MATCH_FOUND, GOAPI_ROUTE_PARCEL, "\xf0\x9f\x93\xa6" },
    { "GET", "/parcels/%EF%BF%BD", GOAPI_MATCH_FOUND, GOAPI_ROUTE_PARCEL, "\xef\xbf\xbd" },
    { "GET", "/parcels/%zz", GOAPI_MATCH_BAD_PARAM, GOAPI_ROUTE_PARCEL, "malformed percent-encoding" },
    { "GET", "/parcels/a%2", GOAPI_MATCH_BAD_PARAM, GOAPI_ROUTE_PARCEL, "malformed percent-encoding" },
    { "GET", "/parcels/%2e%2e", GOAPI_MATCH_BAD_PARAM, GOAPI_ROUTE_PARCEL, "must not be '.' or '..'" },
    { "GET", "/parcels/%2E", GOAPI_MATCH_BAD_PARAM, GOAPI_ROUTE_PARCEL, "must not be '.' or '..'" },
};

static void test_route_table(void **state)
{
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        const route_case *c = &cases[i];
        goapi_match m;
        goapi_match_result got = goapi_route_match(unit_pool, c->method, c->path,
                                                   strlen(c->path), &m);

        if (got != c->want) {
            fail_msg("case %u %s %s: result %d, want %d", (unsigned)i,
                     c->method, c->path, got, c->want);
        }
        if (got == GOAPI_MATCH_FOUND || got == GOAPI_MATCH_BAD_PARAM) {
            assert_int_equal(m.route, c->route);
        }
        switch (got) {
        case GOAPI_MATCH_FOUND:
            if (c->extra) {
                assert_int_equal(m.param_len, strlen(c->extra));
                assert_string_equal(m.param, c->extra);
                assert_string_equal(m.param_name, c->route == GOAPI_ROUTE_READYZ_CHECK
                                                  ? "check" : "parcelID");
            }
            else {
                assert_null(m.param);
            }
            break;
        case GOAPI_MATCH_NOT_ALLOWED:
            assert_string_equal(goapi_allow_header(unit_pool, m.allowed), c->extra);
            break;
        case GOAPI_MATCH_REDIRECT:
            assert_string_equal(m.location, c->extra);
            break;
        case GOAPI_MATCH_BAD_PARAM:
            assert_string_equal(m.reason, c->extra);
            assert_string_equal(m.param_name, "parcelID");
            break;
        case GOAPI_MATCH_NOT_FOUND:
            break;
        }
    }
}

static void test_param_length_limit(void **state)
{
    char path[16 + 3 * GOAPI_PATH_PARAM_MAX + 4];
    goapi_match m;
    apr_size_t n;

    (void)state;
    /* exactly the limit, plain */
    strcpy(path, "/parcels/");
    n = strlen(path);
    memset(path + n, 'p', GOAPI_PATH_PARAM_MAX);
    path[n + GOAPI_PATH_PARAM_MAX] = '\0';
    assert_int_equal(goapi_route_match(unit_pool, "GET", path, strlen(path), &m),
                     GOAPI_MATCH_FOUND);
    assert_int_equal(m.param_len, GOAPI_PATH_PARAM_MAX);

    /* one over */
    path[n + GOAPI_PATH_PARAM_MAX] = 'p';
    path[n + GOAPI_PATH_PARAM_MAX + 1] = '\0';
    assert_int_equal(goapi_route_match(unit_pool, "GET", path, strlen(path), &m),
                     GOAPI_MATCH_BAD_PARAM);
    assert_non_null(strstr(m.reason, "128"));

    /* the limit counts decoded bytes: 128 x "%41" is fine */
    {
        apr_size_t i;

        for (i = 0; i < GOAPI_PATH_PARAM_MAX; i++) {
            memcpy(path + n + 3 * i, "%41", 3);
        }
        path[n + 3 * GOAPI_PATH_PARAM_MAX] = '\0';
        assert_int_equal(goapi_route_match(unit_pool, "GET", path, strlen(path), &m),
                         GOAPI_MATCH_FOUND);
        assert_int_equal(m.param_len, GOAPI_PATH_PARAM_MAX);
        memcpy(path + n + 3 * GOAPI_PATH_PARAM_MAX, "%41", 4);
        assert_int_equal(goapi_route_match(unit_pool, "GET", path, strlen(path), &m),
                         GOAPI_MATCH_BAD_PARAM);
    }
}

static void test_reason_never_reflects_value(void **state)
{
    const char *p = "/parcels/%3Cscript%3E%0a";
    goapi_match m;

    (void)state;
    assert_int_equal(goapi_route_match(unit_pool, "GET", p, strlen(p), &m),
                     GOAPI_MATCH_BAD_PARAM);
    assert_null(strstr(m.reason, "script"));
    assert_null(strchr(m.reason, '<'));
}

static void test_methods(void **state)
{
    (void)state;
    assert_int_equal(goapi_method_bit("GET"), GOAPI_M_GET);
    assert_int_equal(goapi_method_bit("HEAD"), GOAPI_M_HEAD);
    assert_int_equal(goapi_method_bit("PATCH"), GOAPI_M_PATCH);
    assert_int_equal(goapi_method_bit("BREW"), GOAPI_M_OTHER);
    assert_string_equal(goapi_allow_header(unit_pool, GOAPI_M_GET), "GET, HEAD");
    assert_string_equal(goapi_allow_header(unit_pool, GOAPI_M_POST | GOAPI_M_PATCH),
                        "POST, PATCH");
    assert_string_equal(goapi_allow_header(unit_pool, 0), "");
    assert_string_equal(goapi_allow_header(unit_pool, 0xff & ~GOAPI_M_OTHER),
                        "GET, HEAD, POST, PUT, PATCH, DELETE");
}

/* Exactly the four probe paths, as the client wrote them. */
static void test_route_probe(void **state)
{
    static const struct {
        const char *path;
        goapi_route_id want;
    } cases[] = {
        { "/healthz", GOAPI_ROUTE_HEALTHZ },
        { "/readyz", GOAPI_ROUTE_READYZ },
        { "/startupz", GOAPI_ROUTE_STARTUPZ },
        { "/livez", GOAPI_ROUTE_LIVEZ },
        { "/livez/ping", GOAPI_ROUTE_NONE },
        { "/livea", GOAPI_ROUTE_NONE },
        { "/healthz/", GOAPI_ROUTE_NONE },
        { "/%68ealthz", GOAPI_ROUTE_NONE },
        { "/Healthz", GOAPI_ROUTE_NONE },
        { "//healthz", GOAPI_ROUTE_NONE },
        { "/readyz/db", GOAPI_ROUTE_NONE },
        { "/", GOAPI_ROUTE_NONE },
        { "/parcels", GOAPI_ROUTE_NONE },
        { "", GOAPI_ROUTE_NONE },
    };
    size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        assert_int_equal(goapi_route_probe(cases[i].path, strlen(cases[i].path)),
                         cases[i].want);
    }
    /* only len bytes count: "/healthz" followed by a query */
    assert_int_equal(goapi_route_probe("/healthz?x=1", 8), GOAPI_ROUTE_HEALTHZ);
}

/* GoapiProbes: exact decoded paths, a check name one segment. */
static void test_route_probe_path(void **state)
{
    static const struct { const char *path; goapi_route_id want; } cases[] = {
        { "/healthz", GOAPI_ROUTE_HEALTHZ },
        { "/readyz", GOAPI_ROUTE_READYZ },
        { "/startupz", GOAPI_ROUTE_STARTUPZ },
        { "/readyz/db", GOAPI_ROUTE_READYZ_CHECK },
        { "/livez", GOAPI_ROUTE_LIVEZ },
        { "/livez/ping", GOAPI_ROUTE_LIVEZ_CHECK },
        { "/livez/", GOAPI_ROUTE_NONE },
        { "/livez/a/b", GOAPI_ROUTE_NONE },
        { "/livezz", GOAPI_ROUTE_NONE },
        { "/readyz/ledger-db.v2", GOAPI_ROUTE_READYZ_CHECK },
        { "/readyz/", GOAPI_ROUTE_NONE },
        { "/readyz/db/", GOAPI_ROUTE_NONE },
        { "/readyz/a/b", GOAPI_ROUTE_NONE },
        { "/readyzz", GOAPI_ROUTE_NONE },
        { "/healthz/", GOAPI_ROUTE_NONE },
        { "/healthz/x", GOAPI_ROUTE_NONE },
        { "/startup", GOAPI_ROUTE_NONE },
        { "/metrics", GOAPI_ROUTE_NONE },
        { "/", GOAPI_ROUTE_NONE },
        { "", GOAPI_ROUTE_NONE },
        { "/HEALTHZ", GOAPI_ROUTE_NONE },
        { "/app/healthz", GOAPI_ROUTE_NONE },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        if (goapi_route_probe_path(cases[i].path) != cases[i].want) {
            fail_msg("%s: got %d, want %d", cases[i].path,
                     (int)goapi_route_probe_path(cases[i].path), (int)cases[i].want);
        }
    }
}

static void test_route_patterns(void **state)
{
    int id;

    (void)state;
    assert_null(goapi_route_pattern(GOAPI_ROUTE_NONE));
    assert_string_equal(goapi_route_pattern(GOAPI_ROUTE_PARCEL), "/parcels/{parcelID}");
    assert_string_equal(goapi_route_pattern(GOAPI_ROUTE_METRICS), "/metrics");
    for (id = GOAPI_ROUTE_NONE + 1; id < GOAPI_ROUTE__N; id++) {
        assert_non_null(goapi_route_pattern((goapi_route_id)id));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_table),
        cmocka_unit_test(test_route_probe),
        cmocka_unit_test(test_route_probe_path),
        cmocka_unit_test(test_param_length_limit),
        cmocka_unit_test(test_reason_never_reflects_value),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_route_patterns),
    };

    return cmocka_run_group_tests_name("goapi_router", tests, unit_setup, unit_teardown);
}
