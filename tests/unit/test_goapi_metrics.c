/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Metrics in shared memory: exact sums across slots and threads, bounded
 * series, and both exposition formats.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "unit.h"
#include "goapi_metrics.h"

static goapi_metrics *new_region(int nslots)
{
    goapi_metrics *m = apr_pcalloc(unit_pool, goapi_metrics_size(nslots));

    goapi_metrics_init(m, nslots, apr_time_from_sec(1700000000));
    assert_int_equal(goapi_metrics_label(m, GOAPI_METRICS_OTHER), 0);
    return m;
}

static const char *render(goapi_metrics *m, int om)
{
    apr_size_t len = 0;
    char *out = goapi_metrics_render(unit_pool, m, NULL, om, &len);

    assert_int_equal(strlen(out), len);
    return out;
}

/* The value of the sample whose line starts with "series " exactly. */
static const char *value_of(const char *text, const char *series)
{
    apr_size_t n = strlen(series);
    const char *p = text;

    while ((p = strstr(p, series)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ') {
            const char *end = strchr(p + n + 1, '\n');

            return apr_pstrmemdup(unit_pool, p + n + 1, (apr_size_t)(end - p - n - 1));
        }
        p += n;
    }
    return NULL;
}

static void test_sums_across_slots(void **state)
{
    goapi_metrics *m = new_region(3);
    int healthz = goapi_metrics_label(m, "/healthz");
    const char *t;
    int i;

    (void)state;
    assert_int_equal(healthz, 1);
    assert_int_equal(goapi_metrics_label(m, "/healthz"), 1);   /* found again */
    for (i = 0; i < 30; i++) {
        /* slot numbers beyond nslots wrap */
        goapi_metrics_request(m, i, healthz, GOAPI_MM_GET, 200, 2000, 3);
    }
    goapi_metrics_request(m, 1, healthz, GOAPI_MM_GET, 503, 30000, 100);
    goapi_metrics_request(m, 2, 0, goapi_metrics_method_of("BREW"), 404, 11000000, 19);
    goapi_metrics_count(m, 0, GOAPI_MC_IDEM_REPLAYED, 2);
    goapi_metrics_count(m, 2, GOAPI_MC_IDEM_REPLAYED, 1);
    goapi_metrics_active(m, 0, 1);
    goapi_metrics_active(m, 1, 1);
    goapi_metrics_active(m, 2, -1);         /* ended in another slot */

    t = render(m, 0);
    assert_string_equal(value_of(t, "http_server_requests_total{route=\"/healthz\","
                                    "method=\"GET\",code=\"200\"}"), "30");
    assert_string_equal(value_of(t, "http_server_requests_total{route=\"/healthz\","
                                    "method=\"GET\",code=\"503\"}"), "1");
    assert_string_equal(value_of(t, "http_server_requests_total{route=\"other\","
                                    "method=\"_OTHER\",code=\"404\"}"), "1");
    /* buckets are cumulative: 30 at 5 ms, 31 from 50 ms on */
    assert_string_equal(value_of(t, "http_server_request_duration_seconds_bucket{route="
                                    "\"/healthz\",method=\"GET\",le=\"0.005\"}"), "30");
    assert_string_equal(value_of(t, "http_server_request_duration_seconds_bucket{route="
                                    "\"/healthz\",method=\"GET\",le=\"0.025\"}"), "30");
    assert_string_equal(value_of(t, "http_server_request_duration_seconds_bucket{route="
                                    "\"/healthz\",method=\"GET\",le=\"0.05\"}"), "31");
    assert_string_equal(value_of(t, "http_server_request_duration_seconds_bucket{route="
                                    "\"/healthz\",method=\"GET\",le=\"+Inf\"}"), "31");
    assert_string_equal(value_of(t, "http_server_request_duration_seconds_count{route="
                                    "\"/healthz\",method=\"GET\"}"), "31");
    assert_string_equal(value_of(t, "http_server_request_duration_seconds_sum{route="
                                    "\"/healthz\",method=\"GET\"}"), "0.090000");
    /* over the last bound: only +Inf */
    assert_string_equal(value_of(t, "http_server_request_duration_seconds_bucket{route="
                                    "\"other\",method=\"_OTHER\",le=\"10\"}"), "0");
    assert_string_equal(value_of(t, "http_server_request_duration_seconds_bucket{route="
                                    "\"other\",method=\"_OTHER\",le=\"+Inf\"}"), "1");
    assert_string_equal(value_of(t, "http_server_response_size_bytes_sum{route="
                                    "\"/healthz\",method=\"GET\"}"), "190");
    assert_string_equal(value_of(t, "http_server_response_size_bytes_bucket{route="
                                    "\"/healthz\",method=\"GET\",le=\"64\"}"), "30");
    assert_string_equal(value_of(t, "http_server_response_size_bytes_bucket{route="
                                    "\"/healthz\",method=\"GET\",le=\"256\"}"), "31");
    assert_string_equal(value_of(t, "goapi_idempotency_requests_total{outcome=\"replayed\"}"),
                        "3");
    assert_string_equal(value_of(t, "goapi_idempotency_requests_total{outcome=\"executed\"}"),
                        "0");
    assert_string_equal(value_of(t, "http_server_active_requests"), "1");
    assert_string_equal(value_of(t, "process_start_time_seconds"), "1700000000.000000");
    assert_non_null(strstr(t, "# TYPE http_server_requests_total counter\n"));
    assert_null(strstr(t, "# EOF"));
}

static void test_openmetrics(void **state)
{
    goapi_metrics *m = new_region(1);
    const char *t;
    apr_size_t n;

    (void)state;
    goapi_metrics_request(m, 0, 0, GOAPI_MM_POST, 201, 1000000, 10);
    t = render(m, 1);
    /* counter families are named without _total, their samples with it */
    assert_non_null(strstr(t, "# TYPE http_server_requests counter\n"));
    assert_null(strstr(t, "# TYPE http_server_requests_total"));
    assert_string_equal(value_of(t, "http_server_requests_total{route=\"other\","
                                    "method=\"POST\",code=\"201\"}"), "1");
    /* canonical floats for le, and 1 s falls in the le="1.0" bucket */
    assert_string_equal(value_of(t, "http_server_request_duration_seconds_bucket{route="
                                    "\"other\",method=\"POST\",le=\"0.75\"}"), "0");
    assert_string_equal(value_of(t, "http_server_request_duration_seconds_bucket{route="
                                    "\"other\",method=\"POST\",le=\"1.0\"}"), "1");
    n = strlen(t);
    assert_true(n > 6);
    assert_string_equal(t + n - 6, "# EOF\n");
}

static void test_series_overflow(void **state)
{
    goapi_metrics *m = new_region(2);
    const char *t;
    int route, code, lines = 0;
    const char *p;
    char name[16];

    (void)state;
    for (route = 1; route < 40; route++) {
        apr_snprintf(name, sizeof(name), "r%d", route);
        assert_int_equal(goapi_metrics_label(m, name), route);
    }
    /* 39 routes x 20 codes: more series than the index holds */
    for (route = 1; route < 40; route++) {
        for (code = 200; code < 220; code++) {
            goapi_metrics_request(m, route, route, GOAPI_MM_GET, code, 1, 1);
        }
    }
    t = render(m, 0);
    assert_string_equal(value_of(t, "goapi_metrics_series_overflow_total"),
                        apr_psprintf(unit_pool, "%d", 39 * 20 - GOAPI_METRICS_SERIES));
    for (p = t; (p = strstr(p, "\nhttp_server_requests_total{")) != NULL; p++) {
        lines++;
    }
    assert_int_equal(lines, GOAPI_METRICS_SERIES);
    /* a status outside 100-999 is a code of its own */
    m = new_region(1);
    goapi_metrics_request(m, 0, 0, GOAPI_MM_GET, 0, 1, 1);
    goapi_metrics_request(m, 0, 99, GOAPI_MM__N, 1000, 1, 1);   /* out of range */
    t = render(m, 0);
    assert_string_equal(value_of(t, "http_server_requests_total{route=\"other\","
                                    "method=\"_OTHER\",code=\"_OTHER\"}"), "1");
    assert_string_equal(value_of(t, "http_server_requests_total{route=\"other\","
                                    "method=\"GET\",code=\"_OTHER\"}"), "1");
}

static void test_labels_and_hooks(void **state)
{
    goapi_metrics *m = new_region(1);
    char name[80];
    const char *t;
    int i;

    (void)state;
    assert_null(goapi_metrics_label_check("orders"));
    assert_null(goapi_metrics_label_check("/parcels/{parcelID}"));
    assert_non_null(goapi_metrics_label_check(""));
    assert_non_null(goapi_metrics_label_check("a b"));
    assert_non_null(goapi_metrics_label_check("a\"b"));
    assert_non_null(goapi_metrics_label_check("a\\b"));
    assert_non_null(goapi_metrics_label_check("caf\xc3\xa9"));
    memset(name, 'x', 64);
    name[64] = '\0';
    assert_non_null(goapi_metrics_label_check(name));
    assert_int_equal(goapi_metrics_label(m, name), -1);
    name[63] = '\0';
    assert_int_equal(goapi_metrics_label(m, name), 1);
    for (i = 2; i < GOAPI_METRICS_LABELS; i++) {
        apr_snprintf(name, sizeof(name), "n%d", i);
        assert_int_equal(goapi_metrics_label(m, name), i);
    }
    assert_int_equal(goapi_metrics_label(m, "one-too-many"), -1);

    /* hook names are escaped in the output */
    i = goapi_metrics_hook(m, "say \"bye\"\\\nnow");
    assert_int_equal(i, 0);
    assert_int_equal(goapi_metrics_hook(m, "say \"bye\"\\\nnow"), 0);
    goapi_metrics_hook_took(m, 0, i, 1500000);
    goapi_metrics_hook_took(m, 0, GOAPI_METRICS_HOOKS, 1);    /* ignored */
    t = render(m, 0);
    assert_string_equal(value_of(t, "goapi_shutdown_hook_seconds_sum{hook="
                                    "\"say \\\"bye\\\"\\\\\\nnow\"}"), "1.500000");
    assert_string_equal(value_of(t, "goapi_shutdown_hook_seconds_count{hook="
                                    "\"say \\\"bye\\\"\\\\\\nnow\"}"), "1");
}

static void test_extra(void **state)
{
    static const char *const wstates[] = { "idle", "busy", NULL };
    static const apr_uint64_t wvalues[] = { 7, 3 };
    goapi_metrics *m = new_region(1);
    goapi_metrics_extra x;
    apr_size_t len;
    const char *t;

    (void)state;
    memset(&x, 0, sizeof(x));
    x.version = "1.2.3";
    x.httpd = "2.4.99";
    x.have_readiness = 1;
    x.ready = 0;
    x.readiness.draining = 1;
    x.readiness.n = 2;
    strcpy(x.readiness.e[0].name, "db");
    x.readiness.e[0].ran = 1;
    x.readiness.e[0].ok = 1;
    x.readiness.e[0].took = 2500;
    strcpy(x.readiness.e[1].name, "cache");         /* not run yet: no sample */
    x.worker_states = wstates;
    x.workers = wvalues;
    goapi_metrics_store_took(m, 0, 4000);
    goapi_metrics_store_took(m, 0, 20000000);
    t = goapi_metrics_render(unit_pool, m, &x, 0, &len);
    assert_string_equal(value_of(t, "goapi_ready"), "0");
    assert_string_equal(value_of(t, "goapi_draining"), "1");
    assert_string_equal(value_of(t, "goapi_readiness_check_up{check=\"db\"}"), "1");
    assert_string_equal(value_of(t, "goapi_readiness_check_duration_seconds{check=\"db\"}"),
                        "0.002500");
    assert_null(strstr(t, "check=\"cache\""));
    assert_string_equal(value_of(t, "apache_workers{state=\"busy\"}"), "3");
    assert_string_equal(value_of(t, "goapi_build_info{version=\"1.2.3\",httpd=\"2.4.99\"}"),
                        "1");
    assert_string_equal(value_of(t, "goapi_idempotency_store_seconds_bucket{le=\"0.005\"}"),
                        "1");
    assert_string_equal(value_of(t, "goapi_idempotency_store_seconds_bucket{le=\"+Inf\"}"),
                        "2");
    assert_string_equal(value_of(t, "goapi_idempotency_store_seconds_count"), "2");
    /* shed requests by route; a route nothing was shed from has no series */
    assert_null(strstr(t, "goapi_shed_total{"));
    assert_int_equal(goapi_metrics_label(m, "orders"), 1);
    goapi_metrics_shed_count(m, 0, 1);
    goapi_metrics_shed_count(m, 3, 1);
    goapi_metrics_shed_count(m, 0, 99);             /* out of range: "other" */
    t = goapi_metrics_render(unit_pool, m, &x, 0, &len);
    assert_string_equal(value_of(t, "goapi_shed_total{route=\"orders\"}"), "2");
    assert_string_equal(value_of(t, "goapi_shed_total{route=\"other\"}"), "1");
    /* GoapiMaxInFlight scopes: their limit now and what they hold */
    assert_null(strstr(t, "goapi_max_in_flight_limit"));
    {
        static const char *const names[] = { "server", "/api/\"x\"" };
        static const apr_uint64_t limits[] = { 40, 7 }, taken[] = { 3, 7 };

        x.nscopes = 2;
        x.scope_names = names;
        x.scope_limits = limits;
        x.scope_taken = taken;
        t = goapi_metrics_render(unit_pool, m, &x, 0, &len);
        assert_string_equal(value_of(t, "goapi_max_in_flight_limit{scope=\"server\"}"), "40");
        assert_string_equal(value_of(t, "goapi_in_flight{scope=\"server\"}"), "3");
        assert_string_equal(value_of(t, "goapi_max_in_flight_limit{scope=\"/api/\\\"x\\\"\"}"),
                            "7");
        assert_non_null(strstr(t, "# TYPE goapi_in_flight gauge\n"));
    }
}

#define THREADS 4
#define ADDS    21000

static goapi_metrics *shared_region;

static void *APR_THREAD_FUNC adder(apr_thread_t *t, void *data)
{
    int slot = *(int *)data, i;

    for (i = 0; i < ADDS; i++) {
        goapi_metrics_request(shared_region, slot, 1, GOAPI_MM_GET, 200 + i % 3, 1, 1);
        goapi_metrics_count(shared_region, slot, GOAPI_MC_CUT_WRITE, 1);
    }
    (void)t;
    return NULL;
}

static void test_threads_exact(void **state)
{
    apr_thread_t *t[THREADS];
    int slot[THREADS], i;
    apr_status_t rv;
    const char *text;

    (void)state;
    shared_region = new_region(2);
    assert_int_equal(goapi_metrics_label(shared_region, "/x"), 1);
    for (i = 0; i < THREADS; i++) {
        slot[i] = i % 2;            /* two threads per slot */
        assert_int_equal(apr_thread_create(&t[i], NULL, adder, &slot[i], unit_pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        apr_thread_join(&rv, t[i]);
    }
    text = render(shared_region, 0);
    assert_string_equal(value_of(text, "goapi_deadline_cuts_total{deadline=\"write\"}"),
                        apr_psprintf(unit_pool, "%d", THREADS * ADDS));
    assert_string_equal(value_of(text, "http_server_request_duration_seconds_count{route="
                                       "\"/x\",method=\"GET\"}"),
                        apr_psprintf(unit_pool, "%d", THREADS * ADDS));
    assert_string_equal(value_of(text, "http_server_requests_total{route=\"/x\","
                                       "method=\"GET\",code=\"201\"}"),
                        apr_psprintf(unit_pool, "%d", THREADS * (ADDS / 3)));
}

static void *APR_THREAD_FUNC namer(apr_thread_t *t, void *data)
{
    static const char *const names[] = { "flush", "deregister", "close-pool" };
    int i;

    (void)data;
    for (i = 0; i < 300; i++) {
        int at = goapi_metrics_hook(shared_region, names[i % 3]);

        goapi_metrics_hook_took(shared_region, i, at, 10);
    }
    (void)t;
    return NULL;
}

/* Children name their hooks at once: each name gets one entry. */
static void test_hooks_named_concurrently(void **state)
{
    apr_thread_t *t[THREADS];
    apr_status_t rv;
    const char *text, *p;
    char name[16];
    int i, entries = 0;

    (void)state;
    shared_region = new_region(2);
    for (i = 0; i < THREADS; i++) {
        assert_int_equal(apr_thread_create(&t[i], NULL, namer, NULL, unit_pool), APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        apr_thread_join(&rv, t[i]);
    }
    text = render(shared_region, 0);
    for (p = text; (p = strstr(p, "\ngoapi_shutdown_hook_seconds_count{")) != NULL; p++) {
        entries++;
    }
    assert_int_equal(entries, 3);
    assert_string_equal(value_of(text, "goapi_shutdown_hook_seconds_count{hook=\"flush\"}"),
                        apr_psprintf(unit_pool, "%d", THREADS * 100));
    assert_string_equal(value_of(text, "goapi_shutdown_hook_seconds_sum{hook=\"close-pool\"}"),
                        apr_psprintf(unit_pool, "0.%06d", THREADS * 100 * 10));
    /* a full table: -1, and the time is not counted */
    for (i = 3; i < GOAPI_METRICS_HOOKS; i++) {
        apr_snprintf(name, sizeof(name), "h%d", i);
        assert_int_equal(goapi_metrics_hook(shared_region, name), i);
    }
    assert_int_equal(goapi_metrics_hook(shared_region, "one-more"), -1);
    assert_int_equal(goapi_metrics_hook(shared_region, "flush"), 0);
}

static void test_accept(void **state)
{
    (void)state;
    assert_false(goapi_metrics_wants_openmetrics(NULL));
    assert_false(goapi_metrics_wants_openmetrics("text/plain"));
    assert_false(goapi_metrics_wants_openmetrics("*/*"));
    assert_true(goapi_metrics_wants_openmetrics("application/openmetrics-text"));
    /* what Prometheus 2.x sends */
    assert_true(goapi_metrics_wants_openmetrics(
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
        "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
    assert_true(goapi_metrics_wants_openmetrics("text/plain; q=0.5, "
                                                "Application/OpenMetrics-Text ; q=0.9"));
    assert_false(goapi_metrics_wants_openmetrics("application/openmetrics-text;q=0"));
    assert_false(goapi_metrics_wants_openmetrics("application/openmetrics-textx"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sums_across_slots),
        cmocka_unit_test(test_openmetrics),
        cmocka_unit_test(test_series_overflow),
        cmocka_unit_test(test_labels_and_hooks),
        cmocka_unit_test(test_extra),
        cmocka_unit_test(test_threads_exact),
        cmocka_unit_test(test_hooks_named_concurrently),
        cmocka_unit_test(test_accept),
    };

    return cmocka_run_group_tests_name("goapi_metrics", tests, unit_setup, unit_teardown);
}
