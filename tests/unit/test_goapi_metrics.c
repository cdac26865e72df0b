/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Metrics in shared memory: exact sums across slots and threads, bounded
 * series, and both exposition formats.
 */
#include <string.h>

#include <stdlib.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "unit.h"
#include "goapi_metrics.h"

static goapi_metrics_known known;

/* A region with route label "other" (0) and the default known methods
 * (GET 0, HEAD 1, POST 2, ...). */
static goapi_metrics *new_region(int nslots)
{
    static const char *const methods[] = { GOAPI_METRICS_KNOWN_METHODS };
    goapi_metrics *m = apr_pcalloc(unit_pool, goapi_metrics_size(nslots));
    int i;

    goapi_metrics_init(m, nslots, apr_time_from_sec(1700000000));
    assert_int_equal(goapi_metrics_label(m, GOAPI_METRICS_OTHER), 0);
    known.n = 0;
    for (i = 0; i < (int)(sizeof(methods) / sizeof(methods[0])); i++) {
        known.name[i] = methods[i];
        known.index[i] = goapi_metrics_method(m, methods[i]);
        assert_int_equal(known.index[i], i);
        known.n++;
    }
    return m;
}

/* One plain http/1.1 request, untraced. */
static void request(goapi_metrics *m, int slot, int route, const char *method, int status,
                    apr_interval_time_t took, apr_uint64_t bytes)
{
    goapi_metrics_req q;

    memset(&q, 0, sizeof(q));
    q.route = route;
    q.method = goapi_metrics_method_of(&known, method);
    q.status = status;
    q.error = goapi_metrics_error_of(GOAPI_ME_NONE, status);
    q.took = took;
    q.request_bytes = bytes / 2;
    q.response_bytes = bytes;
    goapi_metrics_request(m, slot, &q);
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

/* The series of a request histogram sample: name, then the labels of an
 * untraced http/1.1 request (error is "" when it did not fail, status 0
 * when there is none), then more labels (",le=..." or ""). */
static const char *series(const char *name, const char *error, const char *method,
                          int status, const char *route, const char *more)
{
    return apr_psprintf(unit_pool, "%s{%s%s%shttp_request_method=\"%s\",%s"
                        "http_route=\"%s\",network_protocol_version=\"1.1\","
                        "url_scheme=\"http\"%s}", name, *error ? "error_type=\"" : "",
                        error, *error ? "\"," : "", method,
                        status ? apr_psprintf(unit_pool, "http_response_status_code="
                                              "\"%d\",", status) : "", route, more);
}

#define DUR "http_server_request_duration_seconds"
#define REQ "http_server_request_body_size_bytes"
#define RESP "http_server_response_body_size_bytes"

/* A region is taken over after a restart only when laid out alike. */
static void test_same_layout(void **state)
{
    goapi_metrics *m = new_region(3);
    apr_size_t bytes = goapi_metrics_size(3);

    (void)state;
    assert_true(goapi_metrics_same_layout(m, bytes));
    assert_false(goapi_metrics_same_layout(m, bytes - 1));      /* too small */
    assert_false(goapi_metrics_same_layout(m, sizeof(goapi_metrics) - 1));
    m->magic ^= 1;                                              /* another layout */
    assert_false(goapi_metrics_same_layout(m, bytes));
    m->magic ^= 1;
    m->nslots = 0;
    assert_false(goapi_metrics_same_layout(m, bytes));
}

/* A request without a body, or taking no time, adds nothing to a sum but
 * is counted all the same. */
static void test_zero_sums(void **state)
{
    goapi_metrics *m = new_region(1);
    const char *t;

    (void)state;
    request(m, 0, 0, "GET", 204, 0, 0);
    request(m, 0, 0, "GET", 204, 0, 0);
    t = render(m, 0);
    assert_string_equal(value_of(t, series(DUR "_count", "", "GET", 204, "other", "")), "2");
    assert_string_equal(value_of(t, series(DUR "_sum", "", "GET", 204, "other", "")), "0.000000");
    assert_string_equal(value_of(t, series(REQ "_count", "", "GET", 204, "other", "")), "2");
    assert_string_equal(value_of(t, series(REQ "_sum", "", "GET", 204, "other", "")), "0");
    assert_string_equal(value_of(t, series(RESP "_sum", "", "GET", 204, "other", "")), "0");
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
        request(m, i, healthz, "GET", 200, 2000, 3);
    }
    request(m, 1, healthz, "GET", 503, 30000, 100);
    request(m, 2, 0, "BREW", 404, 11000000, 19);
    goapi_metrics_count(m, 0, GOAPI_MC_IDEM_REPLAYED, 2);
    goapi_metrics_count(m, 2, GOAPI_MC_IDEM_REPLAYED, 1);
    goapi_metrics_active(m, 0, 0, 0, 1);
    goapi_metrics_active(m, 1, 0, 0, 1);
    goapi_metrics_active(m, 2, 0, 0, -1);         /* ended in another slot */

    t = render(m, 0);
    /* buckets are cumulative: 30 at 5 ms; the 503 is a series of its own */
    assert_string_equal(value_of(t, series(DUR "_bucket", "", "GET", 200, "/healthz",
                                           ",le=\"0.005\"")), "30");
    assert_string_equal(value_of(t, series(DUR "_bucket", "", "GET", 200, "/healthz",
                                           ",le=\"+Inf\"")), "30");
    assert_string_equal(value_of(t, series(DUR "_count", "", "GET", 200, "/healthz", "")),
                        "30");
    assert_string_equal(value_of(t, series(DUR "_sum", "", "GET", 200, "/healthz", "")),
                        "0.060000");
    assert_string_equal(value_of(t, series(DUR "_bucket", "503", "GET", 503, "/healthz",
                                           ",le=\"0.025\"")), "0");
    assert_string_equal(value_of(t, series(DUR "_bucket", "503", "GET", 503, "/healthz",
                                           ",le=\"0.05\"")), "1");
    /* over the last bound: only +Inf; an unknown method is _OTHER */
    assert_string_equal(value_of(t, series(DUR "_bucket", "", "_OTHER", 404, "other",
                                           ",le=\"10\"")), "0");
    assert_string_equal(value_of(t, series(DUR "_bucket", "", "_OTHER", 404, "other",
                                           ",le=\"+Inf\"")), "1");
    /* body sizes: requests and responses */
    assert_string_equal(value_of(t, series(RESP "_sum", "", "GET", 200, "/healthz", "")),
                        "90");
    assert_string_equal(value_of(t, series(RESP "_bucket", "", "GET", 200, "/healthz",
                                           ",le=\"64\"")), "30");
    assert_string_equal(value_of(t, series(RESP "_bucket", "503", "GET", 503, "/healthz",
                                           ",le=\"64\"")), "0");
    assert_string_equal(value_of(t, series(RESP "_bucket", "503", "GET", 503, "/healthz",
                                           ",le=\"256\"")), "1");
    assert_string_equal(value_of(t, series(REQ "_sum", "503", "GET", 503, "/healthz", "")),
                        "50");
    assert_string_equal(value_of(t, series(REQ "_count", "", "_OTHER", 404, "other", "")),
                        "1");
    assert_string_equal(value_of(t, "goapi_idempotency_requests_total{outcome=\"replayed\"}"),
                        "3");
    assert_string_equal(value_of(t, "goapi_idempotency_requests_total{outcome=\"executed\"}"),
                        "0");
    assert_string_equal(value_of(t, "http_server_active_requests{http_request_method=\"GET\","
                                    "url_scheme=\"http\"}"), "1");
    assert_string_equal(value_of(t, "process_start_time_seconds"), "1700000000.000000");
    assert_non_null(strstr(t, "# TYPE " DUR " histogram\n"));
    assert_null(strstr(t, "http_server_requests_total"));
    assert_null(strstr(t, " # "));                  /* no exemplars in 0.0.4 */
    assert_null(strstr(t, "# EOF"));
}

static void traced(goapi_metrics *m, int slot, apr_interval_time_t took, const char *trace,
                   const char *span, apr_time_t now)
{
    goapi_metrics_req q;

    memset(&q, 0, sizeof(q));
    q.method = goapi_metrics_method_of(&known, "POST");
    q.status = 201;
    q.took = took;
    q.trace_id = trace;
    q.span_id = span;
    q.now = now;
    goapi_metrics_request(m, slot, &q);
}

#define TRACE_A "4bf92f3577b34da6a3ce929d0e0e4736"
#define TRACE_B "0af7651916cd43dd8448eb211c80319c"
#define SPAN_A  "00f067aa0ba902b7"
#define SPAN_B  "b7ad6b7169203331"

static void test_openmetrics(void **state)
{
    goapi_metrics *m = new_region(2);
    const char *t, *line, *mark;
    apr_size_t n;

    (void)state;
    traced(m, 0, 1000000, TRACE_A, SPAN_A, apr_time_from_sec(1700000100) + 250000);
    /* a later one in another slot, same bucket: the scrape shows it */
    traced(m, 1, 900000, TRACE_B, SPAN_B, apr_time_from_sec(1700000101));
    /* an untraced request leaves the exemplar as it is */
    traced(m, 1, 950000, NULL, NULL, apr_time_from_sec(1700000102));
    /* an id that is not lowercase hex is not shown */
    traced(m, 0, 3000, "4BF92F3577B34DA6A3CE929D0E0E4736", SPAN_A,
           apr_time_from_sec(1700000103));
    goapi_metrics_count(m, 0, GOAPI_MC_HEADER_LIMIT, 1);
    t = render(m, 1);
    /* counter families are named without _total, their samples with it */
    assert_non_null(strstr(t, "# TYPE goapi_header_limit counter\n"));
    assert_string_equal(value_of(t, "goapi_header_limit_total"), "1");
    /* canonical floats for le; 1 s falls in the le="1.0" bucket, with the
     * latest sampled request of it as its exemplar */
    assert_string_equal(value_of(t, series(DUR "_bucket", "", "POST", 201, "other",
                                           ",le=\"0.75\"")), "1");
    assert_string_equal(value_of(t, series(DUR "_bucket", "", "POST", 201, "other",
                                           ",le=\"1.0\"")),
                        "4 # {trace_id=\"" TRACE_B "\",span_id=\"" SPAN_B "\"} "
                        "0.900000 1700000101.000000");
    /* a bucket no sampled request fell in has no exemplar (the one of
     * le="0.005" had an id that is not lowercase hex) */
    assert_string_equal(value_of(t, series(DUR "_bucket", "", "POST", 201, "other",
                                           ",le=\"2.5\"")), "4");
    assert_string_equal(value_of(t, series(DUR "_bucket", "", "POST", 201, "other",
                                           ",le=\"0.005\"")), "1");
    /* exemplars only on duration buckets, and their label set is short */
    for (line = t; (mark = strstr(line, " # {")) != NULL; line = mark + 1) {
        const char *bol = mark, *end = strchr(mark, '}');

        while (bol > t && bol[-1] != '\n') {
            bol--;
        }
        assert_true(strncmp(bol, DUR "_bucket{", strlen(DUR) + 8) == 0);
        assert_true(end - (mark + 4) <= 128);
    }
    n = strlen(t);
    assert_true(n > 6);
    assert_string_equal(t + n - 6, "# EOF\n");
    /* the text format: the same counts, no exemplar */
    t = render(m, 0);
    assert_string_equal(value_of(t, series(DUR "_bucket", "", "POST", 201, "other",
                                           ",le=\"1\"")), "4");
    assert_null(strstr(t, "trace_id"));
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
            request(m, route, route, "GET", code, 1, 1);
        }
    }
    t = render(m, 0);
    assert_string_equal(value_of(t, "goapi_metrics_series_overflow_total"),
                        apr_psprintf(unit_pool, "%d", 39 * 20 - GOAPI_METRICS_SERIES));
    for (p = t; (p = strstr(p, "\n" DUR "_count{")) != NULL; p++) {
        lines++;
    }
    assert_int_equal(lines, GOAPI_METRICS_SERIES);
    /* no status: no status label; out of range values fall back */
    m = new_region(1);
    request(m, 0, 0, "GET", 0, 1, 1);
    request(m, 0, 99, "GET", 1000, 1, 1);
    t = render(m, 0);
    assert_string_equal(value_of(t, series(DUR "_count", "", "GET", 0, "other", "")), "2");
}

static void test_methods(void **state)
{
    goapi_metrics *m = new_region(1);
    goapi_metrics_known k;
    char name[40];
    int i;

    (void)state;
    assert_null(goapi_metrics_method_check("PROPFIND"));
    assert_null(goapi_metrics_method_check("M-SEARCH"));
    assert_null(goapi_metrics_method_check("x!#$%&'*+-.^_`|~9"));
    assert_non_null(goapi_metrics_method_check(""));
    assert_non_null(goapi_metrics_method_check("A B"));
    assert_non_null(goapi_metrics_method_check("A\"B"));
    assert_non_null(goapi_metrics_method_check("G\xc3\x89T"));
    assert_non_null(goapi_metrics_method_check("_OTHER"));
    memset(name, 'X', 32);
    name[32] = '\0';
    assert_non_null(goapi_metrics_method_check(name));
    assert_int_equal(goapi_metrics_method(m, name), -1);
    /* a name is found again; methods are case-sensitive */
    assert_int_equal(goapi_metrics_method(m, "GET"), 0);
    assert_int_equal(goapi_metrics_method_of(&known, "GET"), 0);
    assert_int_equal(goapi_metrics_method_of(&known, "get"), GOAPI_METRICS_METHOD_OTHER);
    assert_int_equal(goapi_metrics_method_of(&known, "PROPFIND"), GOAPI_METRICS_METHOD_OTHER);
    assert_int_equal(goapi_metrics_method_of(&known, NULL), GOAPI_METRICS_METHOD_OTHER);
    /* a configuration that knows PROPFIND and GET only */
    k.n = 2;
    k.name[0] = "PROPFIND";
    k.index[0] = goapi_metrics_method(m, "PROPFIND");
    k.name[1] = "GET";
    k.index[1] = 0;
    assert_int_equal(k.index[0], 9);
    assert_int_equal(goapi_metrics_method_of(&k, "PROPFIND"), 9);
    assert_int_equal(goapi_metrics_method_of(&k, "POST"), GOAPI_METRICS_METHOD_OTHER);
    {
        goapi_metrics_req q;
        const char *t;

        memset(&q, 0, sizeof(q));
        q.method = goapi_metrics_method_of(&k, "PROPFIND");
        q.status = 207;
        goapi_metrics_request(m, 0, &q);
        q.method = goapi_metrics_method_of(&k, "POST");
        goapi_metrics_request(m, 0, &q);
        t = render(m, 0);
        assert_string_equal(value_of(t, series(DUR "_count", "", "PROPFIND", 207, "other",
                                               "")), "1");
        assert_string_equal(value_of(t, series(DUR "_count", "", "_OTHER", 207, "other",
                                               "")), "1");
        assert_null(strstr(t, "\"POST\""));
    }
    /* the table holds 15 names; then -1 */
    for (i = 10; i < GOAPI_METRICS_METHOD_OTHER; i++) {
        apr_snprintf(name, sizeof(name), "M%d", i);
        assert_int_equal(goapi_metrics_method(m, name), i);
    }
    assert_int_equal(goapi_metrics_method(m, "ONE-TOO-MANY"), -1);
    assert_int_equal(goapi_metrics_method(m, "PROPFIND"), 9);
}

static void test_error_types_and_labels(void **state)
{
    static const struct {
        goapi_metrics_error cause;
        int status;
        const char *error_type;
    } cases[] = {
        { GOAPI_ME_NONE, 200, "" },
        { GOAPI_ME_NONE, 404, "" },
        { GOAPI_ME_NONE, 499, "" },
        { GOAPI_ME_NONE, 500, "500" },
        { GOAPI_ME_NONE, 502, "502" },
        { GOAPI_ME_TIMEOUT, 408, "timeout" },
        { GOAPI_ME_TIMEOUT, 200, "timeout" },
        { GOAPI_ME_SHED, 503, "shed" },
        { GOAPI_ME_STORE, 503, "store_unavailable" },
    };
    goapi_metrics *m = new_region(1);
    goapi_metrics_req q;
    const char *t;
    apr_size_t i;

    (void)state;
    assert_int_equal(goapi_metrics_proto_of(1001), GOAPI_MP_1_1);
    assert_int_equal(goapi_metrics_proto_of(1000), GOAPI_MP_1_0);
    assert_int_equal(goapi_metrics_proto_of(2000), GOAPI_MP_2);
    assert_int_equal(goapi_metrics_proto_of(3000), GOAPI_MP_3);
    assert_int_equal(goapi_metrics_proto_of(9), GOAPI_MP_0_9);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&q, 0, sizeof(q));
        q.method = 0;
        q.status = cases[i].status;
        q.error = goapi_metrics_error_of(cases[i].cause, cases[i].status);
        goapi_metrics_request(m, 0, &q);
        t = render(m, 0);
        assert_string_equal(value_of(t, series(DUR "_count", cases[i].error_type, "GET",
                                               cases[i].status, "other", "")), "1");
    }
    /* https, HTTP/2 */
    memset(&q, 0, sizeof(q));
    q.method = 2;
    q.status = 200;
    q.https = 1;
    q.proto = GOAPI_MP_2;
    goapi_metrics_request(m, 0, &q);
    t = render(m, 0);
    assert_string_equal(value_of(t, DUR "_count{http_request_method=\"POST\","
                                    "http_response_status_code=\"200\",http_route=\"other\","
                                    "network_protocol_version=\"2\",url_scheme=\"https\"}"),
                        "1");
}

static void test_active(void **state)
{
    goapi_metrics *m = new_region(2);
    const char *t;

    (void)state;
    t = render(m, 0);
    assert_non_null(strstr(t, "# TYPE http_server_active_requests gauge\n"));
    assert_null(strstr(t, "http_server_active_requests{"));
    goapi_metrics_active(m, 0, 2, 1, 1);            /* POST https */
    goapi_metrics_active(m, 1, 2, 1, 1);
    goapi_metrics_active(m, 0, GOAPI_METRICS_METHOD_OTHER, 0, 1);
    goapi_metrics_active(m, 1, GOAPI_METRICS_METHOD_OTHER, 0, -1);
    goapi_metrics_active(m, 1, 99, 0, 1);           /* out of range: _OTHER */
    t = render(m, 0);
    assert_string_equal(value_of(t, "http_server_active_requests{http_request_method="
                                    "\"POST\",url_scheme=\"https\"}"), "2");
    assert_string_equal(value_of(t, "http_server_active_requests{http_request_method="
                                    "\"_OTHER\",url_scheme=\"http\"}"), "1");
    goapi_metrics_active(m, 0, 2, 1, -1);
    goapi_metrics_active(m, 0, 2, 1, -1);
    t = render(m, 0);
    /* once seen, a series stays, at 0 */
    assert_string_equal(value_of(t, "http_server_active_requests{http_request_method="
                                    "\"POST\",url_scheme=\"https\"}"), "0");
    assert_null(strstr(t, "url_scheme=\"https\",http_request_method=\"GET\""));
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
    /* labelled by the store, when the scrape names it */
    x.store = "dbd";
    t = goapi_metrics_render(unit_pool, m, &x, 0, &len);
    assert_string_equal(value_of(t, "goapi_idempotency_store_seconds_bucket{store=\"dbd\","
                                    "le=\"0.005\"}"), "1");
    assert_string_equal(value_of(t, "goapi_idempotency_store_seconds_count{store=\"dbd\"}"),
                        "2");
    x.store = NULL;
    t = goapi_metrics_render(unit_pool, m, &x, 0, &len);
    /* shed requests by route; a route nothing was shed from has no series */
    assert_null(strstr(t, "goapi_shed_total{"));
    assert_int_equal(goapi_metrics_label(m, "orders"), 1);
    goapi_metrics_shed_count(m, 0, 1, 0);
    goapi_metrics_shed_count(m, 3, 1, 0);
    goapi_metrics_shed_count(m, 0, 99, 0);          /* out of range: "other" */
    goapi_metrics_shed_count(m, 2, 1, 1);           /* a dry run's */
    t = goapi_metrics_render(unit_pool, m, &x, 0, &len);
    assert_string_equal(value_of(t, "goapi_shed_total{route=\"orders\",dry_run=\"false\"}"),
                        "2");
    assert_string_equal(value_of(t, "goapi_shed_total{route=\"other\",dry_run=\"false\"}"),
                        "1");
    assert_string_equal(value_of(t, "goapi_shed_total{route=\"orders\",dry_run=\"true\"}"),
                        "1");
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
        /* no auto scope: no telemetry of the adaptive limit */
        assert_null(strstr(t, "goapi_max_in_flight_gradient"));
        assert_null(strstr(t, "goapi_max_in_flight_per_overflow_total"));
    }
    /* an auto scope's gradient, unloaded and sampled latency; the per-key
     * tables' overflow */
    {
        static const char *const names[] = { "server", "/auto/" };
        static const apr_uint64_t limits[] = { 40, 7 }, taken[] = { 3, 7 };
        static const int adaptive[] = { 0, 1 };
        static const apr_uint64_t gradient[] = { 0, 875 }, unloaded[] = { 0, 52000 },
                                  sampled[] = { 0, 74250 };
        static const char *const tables[] = { "/api/" };
        static const apr_uint64_t overflow[] = { 12 };

        x.nscopes = 2;
        x.scope_names = names;
        x.scope_limits = limits;
        x.scope_taken = taken;
        x.scope_adaptive = adaptive;
        x.scope_gradient = gradient;
        x.scope_unloaded = unloaded;
        x.scope_sampled = sampled;
        x.nkeytables = 1;
        x.keytable_names = tables;
        x.keytable_overflow = overflow;
        t = goapi_metrics_render(unit_pool, m, &x, 0, &len);
        assert_string_equal(value_of(t, "goapi_max_in_flight_gradient{scope=\"/auto/\"}"),
                            "0.875");
        assert_string_equal(value_of(t, "goapi_max_in_flight_unloaded_latency_seconds"
                                        "{scope=\"/auto/\"}"), "0.052000");
        assert_string_equal(value_of(t, "goapi_max_in_flight_sampled_latency_seconds"
                                        "{scope=\"/auto/\"}"), "0.074250");
        assert_null(strstr(t, "goapi_max_in_flight_gradient{scope=\"server\"}"));
        assert_string_equal(value_of(t, "goapi_max_in_flight_per_overflow_total"
                                        "{scope=\"/api/\"}"), "12");
        assert_non_null(strstr(t, "# TYPE goapi_max_in_flight_per_overflow_total counter\n"));
        t = goapi_metrics_render(unit_pool, m, &x, 1, &len);
        assert_non_null(strstr(t, "# TYPE goapi_max_in_flight_per_overflow counter\n"));
    }
}

#define THREADS 4
#define ADDS    21000

static goapi_metrics *shared_region;

static void *APR_THREAD_FUNC adder(apr_thread_t *t, void *data)
{
    int slot = *(int *)data, i;
    goapi_metrics_req q;
    char trace[33], span[17];

    memset(&q, 0, sizeof(q));
    q.route = 1;
    q.method = 0;
    q.trace_id = trace;
    q.span_id = span;
    for (i = 0; i < ADDS; i++) {
        /* the trace id, the span id and the time say the same number: a
         * reader that saw parts of two writes would tell */
        apr_snprintf(trace, sizeof(trace), "%032x", (unsigned)i);
        apr_snprintf(span, sizeof(span), "%016x", (unsigned)i);
        q.now = i;
        q.status = 200 + i % 3;
        q.took = 1;
        goapi_metrics_request(shared_region, slot, &q);
        goapi_metrics_count(shared_region, slot, GOAPI_MC_CUT_WRITE, 1);
    }
    (void)t;
    return NULL;
}

static volatile apr_uint32_t adders_done;

/* An exemplar written by adder(), from its trace id on: the trace id, the
 * span id and the time say the same number. */
static int exemplar_whole(const char *p)
{
    char *end;
    unsigned long a, b;
    double at;

    a = strtoul(p, &end, 16);
    if (end != p + 32 || strncmp(end, "\",span_id=\"", 11) != 0) {
        return 0;
    }
    p = end + 11;
    b = strtoul(p, &end, 16);
    if (end != p + 16 || strncmp(end, "\"} ", 3) != 0) {
        return 0;
    }
    (void)strtod(end + 3, &end);
    if (*end != ' ') {
        return 0;
    }
    at = strtod(end + 1, &end);
    return *end == '\n' && a == b && (double)a / 1e6 == at;
}

/* Scrapes while the adders write: every exemplar seen is whole. */
static void *APR_THREAD_FUNC scraper(apr_thread_t *t, void *data)
{
    int *seen = data, rounds;

    for (rounds = 0; rounds < 100000 && !adders_done; rounds++) {
        apr_pool_t *p;
        apr_size_t len;
        const char *text, *e;

        apr_pool_create(&p, NULL);
        text = goapi_metrics_render(p, shared_region, NULL, 1, &len);
        for (e = text; (e = strstr(e, "# {trace_id=\"")) != NULL; e++) {
            if (!exemplar_whole(e + 13)) {
                seen[1]++;
            }
            seen[0]++;
        }
        apr_pool_destroy(p);
    }
    (void)t;
    return NULL;
}

static void test_threads_exact(void **state)
{
    apr_thread_t *t[THREADS], *reader;
    int slot[THREADS], seen[2] = { 0, 0 }, i;
    apr_status_t rv;
    const char *text;

    (void)state;
    shared_region = new_region(2);
    adders_done = 0;
    assert_int_equal(goapi_metrics_label(shared_region, "/x"), 1);
    assert_int_equal(apr_thread_create(&reader, NULL, scraper, seen, unit_pool), APR_SUCCESS);
    for (i = 0; i < THREADS; i++) {
        slot[i] = i % 2;            /* two threads per slot */
        assert_int_equal(apr_thread_create(&t[i], NULL, adder, &slot[i], unit_pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        apr_thread_join(&rv, t[i]);
    }
    apr_atomic_set32(&adders_done, 1);
    apr_thread_join(&rv, reader);
    text = render(shared_region, 0);
    assert_string_equal(value_of(text, "goapi_deadline_cuts_total{deadline=\"write\"}"),
                        apr_psprintf(unit_pool, "%d", THREADS * ADDS));
    assert_string_equal(value_of(text, DUR "_count{http_request_method=\"GET\","
                                       "http_response_status_code=\"201\",http_route=\"/x\","
                                       "network_protocol_version=\"1.1\",url_scheme=\"http\"}"),
                        apr_psprintf(unit_pool, "%d", THREADS * (ADDS / 3)));
    /* torn exemplars: none */
    assert_true(seen[0] > 0);
    assert_int_equal(seen[1], 0);
    /* the last ones written are there */
    text = render(shared_region, 1);
    assert_non_null(strstr(text, "# {trace_id=\"00000000000000000000000000005207\","
                                 "span_id=\"0000000000005207\"}"));
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
        cmocka_unit_test(test_same_layout),
        cmocka_unit_test(test_zero_sums),
        cmocka_unit_test(test_sums_across_slots),
        cmocka_unit_test(test_openmetrics),
        cmocka_unit_test(test_series_overflow),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_error_types_and_labels),
        cmocka_unit_test(test_active),
        cmocka_unit_test(test_labels_and_hooks),
        cmocka_unit_test(test_extra),
        cmocka_unit_test(test_threads_exact),
        cmocka_unit_test(test_hooks_named_concurrently),
        cmocka_unit_test(test_accept),
    };

    return cmocka_run_group_tests_name("goapi_metrics", tests, unit_setup, unit_teardown);
}
