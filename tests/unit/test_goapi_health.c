/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Readiness: check URLs, the shared table with its lock-free readers, and
 * the /readyz answers.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "unit.h"
#include "goapi_health.h"

static void test_urls(void **state)
{
    static const struct {
        const char *text;
        int ok;
        goapi_check_kind kind;
        const char *host;
        int port;
        const char *path;
    } cases[] = {
        { "tcp://db.internal:5432", 1, GOAPI_CHECK_TCP, "db.internal", 5432, NULL },
        { "TCP://127.0.0.1:6379", 1, GOAPI_CHECK_TCP, "127.0.0.1", 6379, NULL },
        { "tcp://[::1]:8080", 1, GOAPI_CHECK_TCP, "::1", 8080, NULL },
        { "http://api:8080/healthz", 1, GOAPI_CHECK_HTTP, "api", 8080, "/healthz" },
        { "http://api/healthz?x=1", 1, GOAPI_CHECK_HTTP, "api", 80, "/healthz?x=1" },
        { "http://api:81", 1, GOAPI_CHECK_HTTP, "api", 81, "/" },
        { "http://[fe80::1]:9/", 1, GOAPI_CHECK_HTTP, "fe80::1", 9, "/" },
        { "tcp://db", 0, 0, NULL, 0, NULL },
        { "tcp://db:0", 0, 0, NULL, 0, NULL },
        { "tcp://db:65536", 0, 0, NULL, 0, NULL },
        { "tcp://db:99999999999999999999", 0, 0, NULL, 0, NULL },
        { "tcp://db:5432/x", 0, 0, NULL, 0, NULL },
        { "tcp://:5432", 0, 0, NULL, 0, NULL },
        { "https://api/", 0, 0, NULL, 0, NULL },
        { "udp://x:1", 0, 0, NULL, 0, NULL },
        { "http://api:80x/", 0, 0, NULL, 0, NULL },
        { "http://a b/", 0, 0, NULL, 0, NULL },
        { "http://api/a b", 0, 0, NULL, 0, NULL },
        { "http://api/a\r\nX: y", 0, 0, NULL, 0, NULL },
        { "http://[::1/", 0, 0, NULL, 0, NULL },
        { "http://[]:80/", 0, 0, NULL, 0, NULL },
        { "http://[zz]:80/", 0, 0, NULL, 0, NULL },
        { "http://user@api/", 0, 0, NULL, 0, NULL },
        { "http://u:pw@api:80/", 0, 0, NULL, 0, NULL },
        { "tcp://:pw@db:5432", 0, 0, NULL, 0, NULL },
        { "", 0, 0, NULL, 0, NULL },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        goapi_check_url u;
        const char *err = goapi_check_url_parse(unit_pool, cases[i].text, &u);

        if (cases[i].ok != (err == NULL)) {
            fail_msg("'%s': %s", cases[i].text, err ? err : "accepted");
        }
        if (err && strchr(cases[i].text, '@') && !strstr(err, "without a user or password")) {
            fail_msg("'%s': %s, want the userinfo named", cases[i].text, err);
        }
        if (cases[i].ok) {
            assert_int_equal(u.kind, cases[i].kind);
            assert_string_equal(u.host, cases[i].host);
            assert_int_equal(u.port, cases[i].port);
            if (cases[i].path) {
                assert_string_equal(u.path, cases[i].path);
            }
        }
    }
}

static void test_names_and_status(void **state)
{
    char long_name[GOAPI_CHECK_NAME_MAX + 2];

    (void)state;
    assert_null(goapi_check_name_parse("db"));
    assert_null(goapi_check_name_parse("cache.v2_primary-1"));
    assert_non_null(goapi_check_name_parse(""));
    assert_non_null(goapi_check_name_parse("a b"));
    assert_non_null(goapi_check_name_parse("a/b"));
    assert_non_null(goapi_check_name_parse("<x>"));
    memset(long_name, 'n', sizeof(long_name));
    long_name[GOAPI_CHECK_NAME_MAX] = '\0';
    assert_null(goapi_check_name_parse(long_name));
    long_name[GOAPI_CHECK_NAME_MAX] = 'n';
    long_name[GOAPI_CHECK_NAME_MAX + 1] = '\0';
    assert_non_null(goapi_check_name_parse(long_name));

    assert_int_equal(goapi_http_status("HTTP/1.1 200 OK\r\n", 17), 200);
    assert_int_equal(goapi_http_status("HTTP/1.0 503 Service Unavailable", 32), 503);
    assert_int_equal(goapi_http_status("HTTP/1.1 204\r\n", 14), 204);
    assert_int_equal(goapi_http_status("HTTP/1.1 204", 12), 204);
    assert_int_equal(goapi_http_status("HTTP/1.1 20", 11), -1);
    assert_int_equal(goapi_http_status("HTTP/2 200 OK\r\n", 15), -1);
    assert_int_equal(goapi_http_status("HTTP/1.1 2000 OK", 16), -1);
    assert_int_equal(goapi_http_status("HTTP/1.1 abc OK", 15), -1);
    assert_int_equal(goapi_http_status("SSH-2.0-OpenSSH\r\n", 17), -1);
    assert_int_equal(goapi_http_status("HTTP/1.1 099 X", 14), -1);
}

static goapi_health *new_table(void)
{
    return apr_pcalloc(unit_pool, sizeof(goapi_health));
}

static void snapshot(goapi_health *h, goapi_readiness *r, int started, int draining)
{
    memset(r, 0, sizeof(*r));
    goapi_readiness_snapshot(h, r);
    r->started = started;
    r->draining = draining;
}

static void test_layout_keeps_results_by_name(void **state)
{
    static const char *const first[] = { "db", "cache" };
    static const char *const second[] = { "cache", "queue" };
    goapi_health *h = new_table();
    goapi_readiness r;

    (void)state;
    goapi_health_configure(h, first, 2);
    goapi_health_record(h, 0, "db", 1, NULL, apr_time_from_sec(100), 1000);
    goapi_health_record(h, 1, "cache", 0, "connect: Connection refused",
                        apr_time_from_sec(100), 2000);
    goapi_health_round_done(h);

    goapi_health_configure(h, second, 2);            /* a restart */
    snapshot(h, &r, 1, 0);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.e[0].name, "cache");
    assert_int_equal(r.e[0].ran, 1);
    assert_string_equal(r.e[0].reason, "connect: Connection refused");
    assert_string_equal(r.e[1].name, "queue");
    assert_int_equal(r.e[1].ran, 0);
    assert_int_equal(h->rounds, 1);

    /* a runner of the old layout writing "db" into slot 0 is ignored */
    goapi_health_record(h, 0, "db", 1, NULL, apr_time_from_sec(200), 1);
    goapi_health_read(h, 0, &r.e[0]);
    assert_string_equal(r.e[0].name, "cache");
    assert_int_equal(r.e[0].ok, 0);
    /* and a slot beyond the layout too */
    goapi_health_record(h, 5, "db", 1, NULL, 0, 0);
    assert_int_equal(h->entry[5].ran, 0);
}

static void test_answers(void **state)
{
    static const char *const names[] = { "db", "cache" };
    goapi_health *h = new_table();
    goapi_readiness r;
    int ok;
    apr_time_t t = apr_time_from_sec(1764046800);   /* 2025-11-25T05:00:00Z */

    (void)state;
    goapi_health_configure(h, names, 2);

    snapshot(h, &r, 0, 0);
    assert_false(goapi_readiness_ok(&r));
    assert_string_equal(goapi_readiness_text(unit_pool, &r), "starting\n");
    assert_string_equal(goapi_readiness_verbose(unit_pool, &r, NULL),
                        "[-]db failed: not run yet\n[-]cache failed: not run yet\n"
                        "[-]startup failed: starting\n[+]drain ok\nreadyz check failed\n");

    goapi_health_record(h, 0, "db", 1, NULL, t, 1500);
    goapi_health_record(h, 1, "cache", 0, "status 503", t, 12000);
    snapshot(h, &r, 1, 0);
    assert_false(goapi_readiness_ok(&r));
    assert_string_equal(goapi_readiness_text(unit_pool, &r),
                        "check cache failed: status 503\n");
    assert_string_equal(goapi_readiness_verbose(unit_pool, &r, NULL),
                        "[+]db ok\n[-]cache failed: status 503\n[+]startup ok\n"
                        "[+]drain ok\nreadyz check failed\n");
    assert_string_equal(goapi_readiness_one(unit_pool, &r, "db", &ok), "ok\n");
    assert_int_equal(ok, 1);
    assert_string_equal(goapi_readiness_one(unit_pool, &r, "cache", &ok),
                        "failed: status 503\n");
    assert_int_equal(ok, 0);
    assert_null(goapi_readiness_one(unit_pool, &r, "nope", &ok));
    assert_string_equal(goapi_readiness_json(unit_pool, &r),
                        "{\"status\":\"fail\",\"output\":\"a check failed\",\"checks\":{"
                        "\"db\":[{\"status\":\"pass\",\"time\":\"2025-11-25T05:00:00Z\","
                        "\"observedValue\":1,\"observedUnit\":\"ms\"}],"
                        "\"cache\":[{\"status\":\"fail\",\"time\":\"2025-11-25T05:00:00Z\","
                        "\"observedValue\":12,\"observedUnit\":\"ms\","
                        "\"output\":\"status 503\"}]}}\n");

    goapi_health_record(h, 1, "cache", 1, NULL, t, 100);
    snapshot(h, &r, 1, 0);
    assert_true(goapi_readiness_ok(&r));
    assert_string_equal(goapi_readiness_text(unit_pool, &r), "ready\n");
    assert_string_equal(goapi_readiness_verbose(unit_pool, &r, NULL),
                        "[+]db ok\n[+]cache ok\n[+]startup ok\n[+]drain ok\n"
                        "readyz check passed\n");
    assert_non_null(strstr(goapi_readiness_json(unit_pool, &r), "{\"status\":\"pass\",\"checks\""));

    /* draining wins over everything */
    snapshot(h, &r, 1, 1);
    r.drain_reason = "drain file present";
    assert_false(goapi_readiness_ok(&r));
    assert_string_equal(goapi_readiness_text(unit_pool, &r), "draining\n");
    assert_non_null(strstr(goapi_readiness_verbose(unit_pool, &r, NULL),
                           "[-]drain failed: drain file present\nreadyz check failed\n"));
    assert_non_null(strstr(goapi_readiness_json(unit_pool, &r), "\"output\":\"draining\""));
}

/* What a client that may not see the detail gets: no check name and no
 * failure text in any state. */
static void test_brief_answers(void **state)
{
    static const char *const names[] = { "ledger-db" };
    goapi_health *h = new_table();
    goapi_readiness r;
    const char *json;

    (void)state;
    goapi_health_configure(h, names, 1);
    snapshot(h, &r, 0, 0);
    assert_string_equal(goapi_readiness_brief(&r), "starting\n");
    assert_string_equal(goapi_readiness_json_brief(unit_pool, &r),
                        "{\"status\":\"fail\",\"output\":\"starting\"}\n");

    goapi_health_record(h, 0, "ledger-db", 0, "connect: Connection refused", 0, 0);
    snapshot(h, &r, 1, 0);
    assert_string_equal(goapi_readiness_brief(&r), "not ready\n");
    json = goapi_readiness_json_brief(unit_pool, &r);
    assert_string_equal(json, "{\"status\":\"fail\",\"output\":\"not ready\"}\n");
    assert_null(strstr(json, "ledger"));

    snapshot(h, &r, 1, 1);
    r.drain_reason = "drain file present";
    assert_string_equal(goapi_readiness_brief(&r), "draining\n");
    assert_string_equal(goapi_readiness_json_brief(unit_pool, &r),
                        "{\"status\":\"fail\",\"output\":\"draining\"}\n");

    goapi_health_record(h, 0, "ledger-db", 1, NULL, 0, 0);
    snapshot(h, &r, 1, 0);
    assert_string_equal(goapi_readiness_brief(&r), "ready\n");
    assert_string_equal(goapi_readiness_json_brief(unit_pool, &r), "{\"status\":\"pass\"}\n");
}

/* ?exclude=: the checks named are left out of every answer; the verbose
 * form of the whole snapshot marks them. */
static void test_exclude(void **state)
{
    static const char *const names[] = { "db", "cache" };
    goapi_health *h = new_table();
    goapi_readiness r;

    (void)state;
    goapi_health_configure(h, names, 2);
    goapi_health_record(h, 0, "db", 0, "connect: refused", 0, 0);
    goapi_health_record(h, 1, "cache", 1, NULL, 0, 0);
    snapshot(h, &r, 1, 1);
    r.drain_reason = "drain file present";
    assert_string_equal(goapi_readiness_verbose(unit_pool, &r, "verbose&exclude=db"),
                        "[+]db excluded: ok\n[+]cache ok\n[+]startup ok\n"
                        "[-]drain failed: drain file present\nreadyz check failed\n");
    goapi_readiness_exclude(&r, "exclude=db");
    assert_int_equal(r.n, 1);
    assert_string_equal(r.e[0].name, "cache");
    assert_false(goapi_readiness_ok(&r));               /* still draining */
    goapi_readiness_exclude(&r, "exclude=drain");
    assert_true(goapi_readiness_ok(&r));
    assert_string_equal(goapi_readiness_text(unit_pool, &r), "ready\n");

    snapshot(h, &r, 0, 0);
    goapi_readiness_exclude(&r, NULL);
    assert_int_equal(r.n, 2);
    goapi_readiness_exclude(&r, "exclude=startup&exclude=db&exclude=nope");
    assert_int_equal(r.n, 1);
    assert_true(goapi_readiness_ok(&r));
}

static void test_no_checks(void **state)
{
    goapi_health *h = new_table();
    goapi_readiness r;

    (void)state;
    goapi_health_configure(h, NULL, 0);
    snapshot(h, &r, 1, 0);
    assert_true(goapi_readiness_ok(&r));
    assert_string_equal(goapi_readiness_json(unit_pool, &r), "{\"status\":\"pass\",\"checks\":{}}\n");
}

static void test_json_escapes(void **state)
{
    static const char *const names[] = { "x" };
    goapi_health *h = new_table();
    goapi_readiness r;

    (void)state;
    goapi_health_configure(h, names, 1);
    goapi_health_record(h, 0, "x", 0, "say \"hi\"\\\n\x01", 0, 0);
    snapshot(h, &r, 1, 0);
    assert_non_null(strstr(goapi_readiness_json(unit_pool, &r),
                           "\"output\":\"say \\\"hi\\\"\\\\\\u000a\\u0001\""));
}

/* One writer rewrites an entry with matching fields while readers copy it:
 * a copy must never mix two writes. */
static volatile apr_uint32_t stop_writer, torn;

static void *APR_THREAD_FUNC writer(apr_thread_t *t, void *data)
{
    goapi_health *h = data;
    apr_int64_t k = 0;
    char reason[32];

    while (!apr_atomic_read32(&stop_writer)) {
        k++;
        apr_snprintf(reason, sizeof(reason), "r%" APR_INT64_T_FMT, k);
        goapi_health_record(h, 0, "w", (int)(k & 1), reason, k, k);
    }
    (void)t;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

static void *APR_THREAD_FUNC reader(apr_thread_t *t, void *data)
{
    goapi_health *h = data;
    int i;

    for (i = 0; i < 200000; i++) {
        goapi_health_entry e;
        char want[32];

        goapi_health_read(h, 0, &e);
        if (!e.ran) {
            continue;
        }
        apr_snprintf(want, sizeof(want), "r%" APR_INT64_T_FMT, (apr_int64_t)e.took);
        if ((apr_time_t)e.took != e.checked_at || (e.ok != (apr_uint32_t)(e.took & 1))
            || (!e.ok && strcmp(e.reason, want) != 0) || (e.ok && e.reason[0])) {
            apr_atomic_inc32(&torn);
        }
    }
    (void)t;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

static void test_readers_never_see_a_torn_entry(void **state)
{
    static const char *const names[] = { "w" };
    goapi_health *h = new_table();
    apr_thread_t *w, *r1, *r2;
    apr_status_t rv;

    (void)state;
    goapi_health_configure(h, names, 1);
    assert_int_equal(apr_thread_create(&w, NULL, writer, h, unit_pool), APR_SUCCESS);
    assert_int_equal(apr_thread_create(&r1, NULL, reader, h, unit_pool), APR_SUCCESS);
    assert_int_equal(apr_thread_create(&r2, NULL, reader, h, unit_pool), APR_SUCCESS);
    apr_thread_join(&rv, r1);
    apr_thread_join(&rv, r2);
    apr_atomic_set32(&stop_writer, 1);
    apr_thread_join(&rv, w);
    assert_int_equal(apr_atomic_read32(&torn), 0);
    assert_true(h->entry[0].checked_at > 1000);     /* the writer did write */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_names_and_status),
        cmocka_unit_test(test_layout_keeps_results_by_name),
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_brief_answers),
        cmocka_unit_test(test_exclude),
        cmocka_unit_test(test_no_checks),
        cmocka_unit_test(test_json_escapes),
        cmocka_unit_test(test_readers_never_see_a_torn_entry),
    };

    return cmocka_run_group_tests_name("goapi_health", tests, unit_setup, unit_teardown);
}
