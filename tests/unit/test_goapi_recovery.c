/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Asking the backend about an unknown outcome: what each status means, the
 * answer's parsing (lengths, chunks, a body to the close, interim answers,
 * what is kept for a replay, what is refused), the question's text, and one
 * question per key per second.
 */
#include <string.h>

#include <apr_strings.h>

#include "unit.h"
#include "goapi_idem.h"
#include "goapi_recovery.h"

static void test_judge(void **state)
{
    static const struct { int status; goapi_recovery_verdict v; } cases[] = {
        { 200, GOAPI_RECOVERY_FINAL }, { 201, GOAPI_RECOVERY_FINAL },
        { 204, GOAPI_RECOVERY_FINAL }, { 400, GOAPI_RECOVERY_FINAL },
        { 403, GOAPI_RECOVERY_FINAL }, { 422, GOAPI_RECOVERY_FINAL },
        { 404, GOAPI_RECOVERY_RUN }, { 410, GOAPI_RECOVERY_RUN },
        { 409, GOAPI_RECOVERY_UNKNOWN }, { 425, GOAPI_RECOVERY_UNKNOWN },
        { 429, GOAPI_RECOVERY_UNKNOWN }, { 301, GOAPI_RECOVERY_UNKNOWN },
        { 302, GOAPI_RECOVERY_UNKNOWN }, { 500, GOAPI_RECOVERY_UNKNOWN },
        { 503, GOAPI_RECOVERY_UNKNOWN }, { 100, GOAPI_RECOVERY_UNKNOWN },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        if (goapi_recovery_judge(cases[i].status) != cases[i].v) {
            fail_msg("status %d", cases[i].status);
        }
    }
}

static const char *header(const goapi_recovery_answer *a, const char *name)
{
    int i;

    for (i = 0; i < a->headers->nelts; i++) {
        const goapi_idem_header *h = &APR_ARRAY_IDX(a->headers, i, goapi_idem_header);

        if (!strcasecmp(h->name, name)) {
            return h->value;
        }
    }
    return NULL;
}

static apr_status_t parse(const char *text, int closed, apr_size_t max,
                          goapi_recovery_answer *a)
{
    static const char *const skip[] = { "X-Request-ID", NULL };

    return goapi_recovery_parse(unit_pool, text, strlen(text), closed, max, skip, a);
}

static void test_parse_lengths(void **state)
{
    goapi_recovery_answer a;
    const char *full = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                       "Location: /things/7\r\nContent-Length: 11\r\nDate: x\r\n"
                       "Connection: close\r\nX-Request-ID: theirs\r\nProxy-Foo: y\r\n"
                       "\r\n{\"id\": 7}\r\n";
    apr_size_t i;

    (void)state;
    assert_int_equal(parse(full, 0, 1024, &a), APR_SUCCESS);
    assert_int_equal(a.status, 201);
    assert_int_equal(a.body_len, 11);
    assert_memory_equal(a.body, "{\"id\": 7}\r\n", 11);
    assert_string_equal(header(&a, "content-type"), "application/json");
    assert_string_equal(header(&a, "Location"), "/things/7");
    /* what every answer makes anew, hop-by-hop, and the IDs: not kept */
    assert_null(header(&a, "Content-Length"));
    assert_null(header(&a, "Date"));
    assert_null(header(&a, "Connection"));
    assert_null(header(&a, "X-Request-ID"));
    assert_null(header(&a, "Proxy-Foo"));
    assert_int_equal(a.headers->nelts, 2);
    /* every cut short of the end needs more; closed there, it is broken */
    for (i = 1; i < strlen(full); i++) {
        char *cut = apr_pstrmemdup(unit_pool, full, i);

        assert_int_equal(goapi_recovery_parse(unit_pool, cut, i, 0, 1024, NULL, &a),
                         APR_INCOMPLETE);
        assert_int_equal(goapi_recovery_parse(unit_pool, cut, i, 1, 1024, NULL, &a),
                         APR_EINVAL);
    }
    /* over the limit, before the body is there */
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n", 0, 1024, &a),
                     APR_ENOSPC);
    /* a body that ends with the connection */
    assert_int_equal(parse("HTTP/1.0 200 OK\r\n\r\nto the end", 0, 1024, &a), APR_INCOMPLETE);
    assert_int_equal(parse("HTTP/1.0 200 OK\r\n\r\nto the end", 1, 1024, &a), APR_SUCCESS);
    assert_int_equal(a.body_len, 10);
    assert_int_equal(parse("HTTP/1.0 200 OK\r\n\r\nto the end", 1, 5, &a), APR_ENOSPC);
    /* no body, whatever follows */
    assert_int_equal(parse("HTTP/1.1 204 No Content\r\n\r\n", 0, 1024, &a), APR_SUCCESS);
    assert_int_equal(a.body_len, 0);
}

static void test_parse_chunked_and_interim(void **state)
{
    goapi_recovery_answer a;

    (void)state;
    assert_int_equal(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
                           "Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
                           "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n",
                           0, 1024, &a), APR_SUCCESS);
    assert_int_equal(a.status, 200);
    assert_int_equal(a.body_len, 12);
    assert_memory_equal(a.body, "hello, world", 12);
    assert_null(header(&a, "Transfer-Encoding"));
    assert_string_equal(header(&a, "Content-Type"), "text/plain");
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
                           0, 1024, &a), APR_INCOMPLETE);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "10\r\n0123456789abcdef\r\n0\r\n\r\n", 0, 8, &a), APR_ENOSPC);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "zz\r\n", 0, 1024, &a), APR_EINVAL);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "ffffffffffffffffffff\r\n", 0, 1024, &a), APR_ENOSPC);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0, 1024, &a),
                     APR_EINVAL);
}

static void test_parse_refusals(void **state)
{
    static const char *const bad[] = {
        "HTTP/2 200\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "HTTP/1.1 999 Nine\r\n\r\n",
        "HTTP/1.1 101 Switching\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
    };
    goapi_recovery_answer a;
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(bad); i++) {
        if (parse(bad[i], 1, 1024, &a) != APR_EINVAL) {
            fail_msg("case %u accepted", (unsigned)i);
        }
    }
}

static void test_request_text(void **state)
{
    goapi_check_url u = { GOAPI_CHECK_HTTP, "::1", 8081, "/idempotency?x=1" };
    apr_array_header_t *h = apr_array_make(unit_pool, 2, sizeof(goapi_idem_header));
    goapi_idem_header *e = apr_array_push(h);
    const char *text;

    (void)state;
    e->name = "Idempotency-Key";
    e->value = "\"k-1\"";
    text = goapi_recovery_request(unit_pool, &u, h);
    assert_string_equal(text, "GET /idempotency?x=1 HTTP/1.1\r\nHost: [::1]:8081\r\n"
                              "User-Agent: mod_goapi-recovery\r\nAccept: */*\r\n"
                              "Connection: close\r\nIdempotency-Key: \"k-1\"\r\n\r\n");
}

static void test_one_question_per_key_per_interval(void **state)
{
    goapi_recovery_limiter *l = goapi_recovery_limiter_create(unit_pool);
    unsigned char k1[GOAPI_SHA256_LEN], k2[GOAPI_SHA256_LEN];
    const apr_time_t t = apr_time_from_sec(1000), sec = apr_time_from_sec(1);

    (void)state;
    memset(k1, 1, sizeof(k1));
    memset(k2, 1, sizeof(k2));
    k2[0] = 2;                          /* the same slot, another key */
    assert_non_null(l);
    assert_true(goapi_recovery_due(l, k1, t, sec));
    assert_false(goapi_recovery_due(l, k1, t + sec / 2, sec));
    assert_true(goapi_recovery_due(l, k1, t + sec, sec));
    /* another key is asked at once; it takes the slot, so k1 may be asked */
    assert_true(goapi_recovery_due(l, k2, t + sec, sec));
    assert_true(goapi_recovery_due(l, k1, t + sec, sec));
    /* a clock that went back does not stop questions */
    assert_true(goapi_recovery_due(l, k1, t, sec));
    assert_true(goapi_recovery_due(NULL, k1, t, sec));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_parse_lengths),
        cmocka_unit_test(test_parse_chunked_and_interim),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_request_text),
        cmocka_unit_test(test_one_question_per_key_per_interval),
    };

    return cmocka_run_group_tests_name("goapi_recovery", tests, unit_setup, unit_teardown);
}
