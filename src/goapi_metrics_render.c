/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_metrics_render.c — the scrape of the counters goapi_metrics.c
 * keeps: their sums over the child slots, in Prometheus text 0.0.4 or
 * OpenMetrics 1.0 (exemplars in OpenMetrics only), and which of the two a
 * client asks for.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_atomic.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "goapi_atomic.h"
#include "goapi_defs.h"
#include "goapi_metrics.h"
#include "goapi_metrics_int.h"

static const char *const goapi_dur_le[2][GOAPI_METRICS_DUR_BUCKETS] = {
    { "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75",
      "1", "2.5", "5", "7.5", "10" },
    { "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75",
      "1.0", "2.5", "5.0", "7.5", "10.0" }
};
static const char *const goapi_size_le[2][GOAPI_METRICS_SIZE_BUCKETS] = {
    { "64", "256", "1024", "4096", "16384", "65536", "262144", "1048576",
      "4194304", "16777216" },
    { "64.0", "256.0", "1024.0", "4096.0", "16384.0", "65536.0", "262144.0",
      "1048576.0", "4194304.0", "16777216.0" }
};

static const char *const goapi_proto_names[GOAPI_MP__N] = { "1.1", "1.0", "2", "3", "0.9" };

/* error_type of mod_goapi's own causes (GOAPI_ME_STATUS: the code). */
static const char *const goapi_error_names[GOAPI_ME__N] = {
    "", "", "timeout", "shed", "store_unavailable"
};

/* 1 when the n characters at hex are lowercase hex digits. */
static int goapi_is_hex(const char *hex, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* ---- the scrape ---------------------------------------------------------- */

/* The value summed over every slot of the field at offset off. */
static apr_uint64_t goapi_sum(const goapi_metrics *m, apr_size_t off)
{
    apr_uint64_t total = 0;
    apr_uint32_t i;

    for (i = 0; i < m->nslots; i++) {
        total += goapi_read64((volatile apr_uint64_t *)((char *)&m->slot[i] + off));
    }
    return total;
}

/* The offset of a field of a slot (an element of an array of it, too). */
#define GOAPI_OFF(field) \
    ((apr_size_t)((const char *)&m->slot[0].field - (const char *)&m->slot[0]))

typedef struct {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap;
    int om;                             /* OpenMetrics */
} goapi_out;

static void goapi_put(goapi_out *o, const char *s, apr_size_t n)
{
    if (o->len + n + 1 > o->cap) {
        apr_size_t cap = o->cap * 2;
        char *nb;

        while (o->len + n + 1 > cap) {
            cap *= 2;
        }
        nb = apr_palloc(o->p, cap);
        memcpy(nb, o->buf, o->len);
        o->buf = nb;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void goapi_puts(goapi_out *o, const char *s)
{
    goapi_put(o, s, strlen(s));
}

static void goapi_putf(goapi_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void goapi_putf(goapi_out *o, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    apr_size_t n;

    va_start(ap, fmt);
    n = (apr_size_t)apr_vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    goapi_put(o, tmp, n);
}

/* A label value, escaped as both formats require. */
static void goapi_put_value(goapi_out *o, const char *v)
{
    for (; *v; v++) {
        switch (*v) {
        case '\\': goapi_puts(o, "\\\\"); break;
        case '"':  goapi_puts(o, "\\\""); break;
        case '\n': goapi_puts(o, "\\n"); break;
        default:   goapi_put(o, v, 1);
        }
    }
}

typedef enum { GOAPI_T_COUNTER, GOAPI_T_GAUGE, GOAPI_T_HISTOGRAM, GOAPI_T_SUMMARY } goapi_type;

static const char *const goapi_type_names[] = { "counter", "gauge", "histogram", "summary" };

/* HELP and TYPE of a family.  A counter's name ends in _total; its
 * OpenMetrics family is named without it. */
static void goapi_family(goapi_out *o, const char *name, goapi_type t, const char *help)
{
    apr_size_t n = strlen(name);

    if (o->om && t == GOAPI_T_COUNTER && n > 6 && strcmp(name + n - 6, "_total") == 0) {
        n -= 6;
    }
    /* OpenMetrics: TYPE first; the Prometheus text format: HELP first */
    goapi_puts(o, o->om ? "# TYPE " : "# HELP ");
    goapi_put(o, name, n);
    goapi_putf(o, " %s\n", o->om ? goapi_type_names[t] : help);
    goapi_puts(o, o->om ? "# HELP " : "# TYPE ");
    goapi_put(o, name, n);
    goapi_putf(o, " %s\n", o->om ? help : goapi_type_names[t]);
}

/* A sample: name{labels} value, and an OpenMetrics exemplar after it
 * when exemplar is not NULL.  labels is NULL or alternating names and
 * values, NULL-ended. */
static void goapi_sample_ex(goapi_out *o, const char *name, const char *const *labels,
                            const char *value, const char *exemplar)
{
    goapi_puts(o, name);
    if (labels && labels[0]) {
        int i;

        goapi_puts(o, "{");
        for (i = 0; labels[i]; i += 2) {
            goapi_putf(o, "%s%s=\"", i ? "," : "", labels[i]);
            goapi_put_value(o, labels[i + 1]);
            goapi_puts(o, "\"");
        }
        goapi_puts(o, "}");
    }
    goapi_putf(o, " %s", value);
    if (exemplar) {
        goapi_puts(o, " # ");
        goapi_puts(o, exemplar);
    }
    goapi_puts(o, "\n");
}

static void goapi_sample(goapi_out *o, const char *name, const char *const *labels,
                         const char *value)
{
    goapi_sample_ex(o, name, labels, value, NULL);
}

static const char *goapi_u64(apr_pool_t *p, apr_uint64_t v)
{
    return apr_psprintf(p, "%" APR_UINT64_T_FMT, v);
}

/* Microseconds as seconds. */
static const char *goapi_secs(apr_pool_t *p, apr_uint64_t us)
{
    return apr_psprintf(p, "%" APR_UINT64_T_FMT ".%06" APR_UINT64_T_FMT,
                        us / 1000000, us % 1000000);
}

/* A histogram's samples for one label set (names and values in labels,
 * with room for "le" and its value before the end), from per-bucket
 * counts; _count is the sum of the buckets, so +Inf equals it. */
static void goapi_histogram(goapi_out *o, const char *name, const char **labels,
                            int nl, const apr_uint64_t *counts,
                            const char *const *le, int nb, const char *sum,
                            const char *const *exemplars)
{
    const char *bucket = apr_pstrcat(o->p, name, "_bucket", NULL);
    apr_uint64_t cum = 0;
    int i;

    labels[nl] = "le";
    labels[nl + 2] = NULL;
    for (i = 0; i <= nb; i++) {
        cum += counts[i];
        labels[nl + 1] = i < nb ? le[i] : "+Inf";
        goapi_sample_ex(o, bucket, labels, goapi_u64(o->p, cum),
                        exemplars ? exemplars[i] : NULL);
    }
    labels[nl] = NULL;
    goapi_sample(o, apr_pstrcat(o->p, name, "_sum", NULL), labels, sum);
    goapi_sample(o, apr_pstrcat(o->p, name, "_count", NULL), labels,
                 goapi_u64(o->p, cum));
}

static const char *goapi_label_name(const goapi_metrics *m, apr_uint32_t i)
{
    return i < apr_atomic_read32((volatile apr_uint32_t *)&m->nlabels)
           ? m->label[i] : GOAPI_METRICS_OTHER;
}

static const char *goapi_method_name(const goapi_metrics *m, apr_uint32_t i)
{
    return i < apr_atomic_read32((volatile apr_uint32_t *)&m->nmethods)
           ? m->method[i] : "_OTHER";
}

/* The OpenMetrics exemplar of bucket b of series i: the latest of the
 * slots' whose ids are hex; NULL when no slot has one.  Only a slot that
 * counted a request in the bucket may have one. */
static const char *goapi_exemplar(goapi_out *o, const goapi_metrics *m, int i, int b)
{
    goapi_metrics_exemplar best, e;
    apr_uint32_t s;
    int found = 0;

    for (s = 0; s < m->nslots; s++) {
        if (goapi_read64((volatile apr_uint64_t *)&m->slot[s].hist[i].dur[b])
            && goapi_metrics_exemplar_read(&m->slot[s].ex[i][b], &e) && (!found || e.at > best.at)
            && goapi_is_hex(e.id, sizeof(e.id))) {
            best = e;
            found = 1;
        }
    }
    if (!found) {
        return NULL;
    }
    /* OpenMetrics: at most 128 characters of label names and values */
    return apr_psprintf(o->p, "{trace_id=\"%.*s\",span_id=\"%.*s\"} %s %s",
                        GOAPI_METRICS_TRACE_ID, best.id, GOAPI_METRICS_SPAN_ID,
                        best.id + GOAPI_METRICS_TRACE_ID, goapi_secs(o->p, best.us),
                        goapi_secs(o->p, best.at > 0 ? (apr_uint64_t)best.at : 0));
}

/* The labels of series key k, sorted by name as OpenTelemetry's exporter
 * sorts them; room is left for "le" and its value. */
static int goapi_request_labels(goapi_out *o, const char **labels, const goapi_metrics *m,
                                apr_uint32_t k)
{
    apr_uint32_t code = k & 0x3ff, err = (k >> 24) & 7, proto = (k >> 21) & 7;
    int n = 0;

    if (err == GOAPI_ME_STATUS) {
        labels[n++] = "error_type";
        labels[n++] = code ? apr_psprintf(o->p, "%u", code) : "_OTHER";
    }
    else if (err > GOAPI_ME_STATUS && err < GOAPI_ME__N) {
        labels[n++] = "error_type";
        labels[n++] = goapi_error_names[err];
    }
    labels[n++] = "http_request_method";
    labels[n++] = goapi_method_name(m, (k >> 10) & 0xf);
    if (code) {
        labels[n++] = "http_response_status_code";
        labels[n++] = apr_psprintf(o->p, "%u", code);
    }
    labels[n++] = "http_route";
    labels[n++] = goapi_label_name(m, (k >> 14) & 0x3f);
    labels[n++] = "network_protocol_version";
    labels[n++] = goapi_proto_names[proto < GOAPI_MP__N ? proto : 0];
    labels[n++] = "url_scheme";
    labels[n++] = (k >> 20) & 1 ? "https" : "http";
    labels[n] = NULL;
    return n;
}

static void goapi_render_request_histograms(goapi_out *o, const goapi_metrics *m)
{
    static const char *const names[3] = {
        "http_server_request_duration_seconds", "http_server_request_body_size_bytes",
        "http_server_response_body_size_bytes"
    };
    static const char *const helps[3] = {
        ("Duration of HTTP server requests: from the start of a request to the end "
         "of its response."),
        "Size of HTTP server request bodies.",
        "Size of HTTP server response bodies."
    };
    apr_uint64_t counts[GOAPI_METRICS_DUR_BUCKETS + 1];
    const char *ex[GOAPI_METRICS_DUR_BUCKETS + 1];
    const char *labels[17];
    int i, b, pass, nl;

    for (pass = 0; pass < 3; pass++) {
        goapi_family(o, names[pass], GOAPI_T_HISTOGRAM, helps[pass]);
        for (i = 0; i < GOAPI_METRICS_SERIES; i++) {
            apr_uint32_t k = m->series[i];

            if (!k--) {
                continue;
            }
            nl = goapi_request_labels(o, labels, m, k);
            if (pass == 0) {
                for (b = 0; b <= GOAPI_METRICS_DUR_BUCKETS; b++) {
                    counts[b] = goapi_sum(m, GOAPI_OFF(hist[i].dur[b]));
                    ex[b] = o->om && counts[b] ? goapi_exemplar(o, m, i, b) : NULL;
                }
                goapi_histogram(o, names[0], labels, nl, counts, goapi_dur_le[o->om],
                                GOAPI_METRICS_DUR_BUCKETS,
                                goapi_secs(o->p, goapi_sum(m, GOAPI_OFF(hist[i].dur_sum_us))),
                                ex);
            }
            else {
                for (b = 0; b <= GOAPI_METRICS_SIZE_BUCKETS; b++) {
                    counts[b] = goapi_sum(m, pass == 1 ? GOAPI_OFF(hist[i].req[b])
                                                       : GOAPI_OFF(hist[i].resp[b]));
                }
                goapi_histogram(o, names[pass], labels, nl, counts, goapi_size_le[o->om],
                                GOAPI_METRICS_SIZE_BUCKETS,
                                goapi_u64(o->p, goapi_sum(m, pass == 1
                                                             ? GOAPI_OFF(hist[i].req_sum)
                                                             : GOAPI_OFF(hist[i].resp_sum))),
                                NULL);
            }
        }
    }
}

/* A counter family whose samples differ by one label, over a run of
 * GOAPI_MC_* counters. */
static void goapi_render_counters(goapi_out *o, const goapi_metrics *m, const char *name,
                                  const char *help, const char *label,
                                  const char *const *values, goapi_metrics_counter first)
{
    const char *labels[3];
    int i;

    goapi_family(o, name, GOAPI_T_COUNTER, help);
    for (i = 0; values[i]; i++) {
        labels[0] = label;
        labels[1] = values[i];
        labels[2] = NULL;
        goapi_sample(o, name, label ? labels : NULL,
                     goapi_u64(o->p, goapi_sum(m, GOAPI_OFF(counter[first + i]))));
    }
}

static void goapi_render_goapi(goapi_out *o, const goapi_metrics *m,
                               const goapi_metrics_extra *x)
{
    static const char *const deadlines[] = {
        "read_header", "read", "write", "idle", "shutdown", NULL
    };
    static const char *const outcomes[] = {
        "executed", "replayed", "in_flight", "mismatch", "key_invalid", "key_missing",
        "too_large", "store_error", "outcome_unknown", "not_replayable",
        "recovered_replayed", "recovered_ran", "recovery_unknown", NULL
    };
    static const char *const one[] = { "", NULL };
    apr_uint64_t store[GOAPI_METRICS_DUR_BUCKETS + 1];
    const char *labels[5];
    int i, b, nl;

    goapi_render_counters(o, m, "goapi_deadline_cuts_total",
                          "Requests and connections cut by a deadline.", "deadline",
                          deadlines, GOAPI_MC_CUT_READ_HEADER);
    goapi_render_counters(o, m, "goapi_header_limit_total",
                          "Requests refused with 431: request line and headers over "
                          "GoapiMaxHeaderBytes.", NULL, one, GOAPI_MC_HEADER_LIMIT);
    goapi_render_counters(o, m, "goapi_idempotency_requests_total",
                          "Requests with idempotency enforced, by outcome.", "outcome",
                          outcomes, GOAPI_MC_IDEM_EXECUTED);

    goapi_family(o, "goapi_idempotency_store_seconds", GOAPI_T_HISTOGRAM,
                 "Time of each operation on the idempotency ledger.");
    for (b = 0; b <= GOAPI_METRICS_DUR_BUCKETS; b++) {
        store[b] = goapi_sum(m, GOAPI_OFF(store[b]));
    }
    nl = 0;
    if (x && x->store) {
        labels[nl++] = "store";
        labels[nl++] = x->store;
    }
    labels[nl] = NULL;
    goapi_histogram(o, "goapi_idempotency_store_seconds", labels, nl, store,
                    goapi_dur_le[o->om], GOAPI_METRICS_DUR_BUCKETS,
                    goapi_secs(o->p, goapi_sum(m, GOAPI_OFF(store_sum_us))), NULL);

    goapi_render_counters(o, m, "goapi_shutdown_windows_total",
                          "Graceful stop windows begun by children.", NULL, one,
                          GOAPI_MC_SHUTDOWN_WINDOWS);
    goapi_render_counters(o, m, "goapi_shutdown_connections_cut_total",
                          "Connections cut at the end of a shutdown window.", NULL, one,
                          GOAPI_MC_SHUTDOWN_CUT);

    goapi_family(o, "goapi_shutdown_hook_seconds", GOAPI_T_SUMMARY,
                 "Time taken by each shutdown hook.");
    for (i = 0; i < GOAPI_METRICS_HOOKS; i++) {
        if (apr_atomic_read32((volatile apr_uint32_t *)&m->hook_state[i])
            != GOAPI_HOOK_NAMED) {
            continue;
        }
        labels[0] = "hook";
        labels[1] = m->hook[i];
        labels[2] = NULL;
        goapi_sample(o, "goapi_shutdown_hook_seconds_sum", labels,
                     goapi_secs(o->p, goapi_sum(m, GOAPI_OFF(hook_us[i]))));
        goapi_sample(o, "goapi_shutdown_hook_seconds_count", labels,
                     goapi_u64(o->p, goapi_sum(m, GOAPI_OFF(hook_runs[i]))));
    }

    goapi_family(o, "goapi_shed_total", GOAPI_T_COUNTER,
                 "Requests turned away by GoapiMaxInFlight or GoapiMaxInFlightPer, by "
                 "route; dry_run=\"true\": those GoapiShedDryRun served instead.");
    for (i = 0; i < 2 * GOAPI_METRICS_LABELS; i++) {
        int dry = i / GOAPI_METRICS_LABELS, route = i % GOAPI_METRICS_LABELS;
        apr_uint64_t n = goapi_sum(m, GOAPI_OFF(shed[dry][route]));

        if (n) {
            labels[0] = "route";
            labels[1] = goapi_label_name(m, (apr_uint32_t)route);
            labels[2] = "dry_run";
            labels[3] = dry ? "true" : "false";
            labels[4] = NULL;
            goapi_sample(o, "goapi_shed_total", labels, goapi_u64(o->p, n));
        }
    }

    goapi_render_counters(o, m, "goapi_metrics_series_overflow_total",
                          "Requests not counted by route because the series table "
                          "was full.", NULL, one, GOAPI_MC_SERIES_OVERFLOW);
}

static void goapi_render_active(goapi_out *o, const goapi_metrics *m)
{
    apr_uint32_t seen = apr_atomic_read32((volatile apr_uint32_t *)&m->active_seen);
    const char *labels[5];
    int method, https;

    goapi_family(o, "http_server_active_requests", GOAPI_T_GAUGE,
                 "Number of active HTTP server requests.");
    for (method = 0; method < GOAPI_METRICS_METHODS; method++) {
        for (https = 0; https < 2; https++) {
            apr_int64_t total = 0;
            apr_uint32_t i;

            if (!(seen & (1u << (method * 2 + https)))) {
                continue;
            }
            for (i = 0; i < m->nslots; i++) {
                total += (apr_int32_t)apr_atomic_read32(
                    (volatile apr_uint32_t *)&m->slot[i].active[method][https]);
            }
            labels[0] = "http_request_method";
            labels[1] = goapi_method_name(m, (apr_uint32_t)method);
            labels[2] = "url_scheme";
            labels[3] = https ? "https" : "http";
            labels[4] = NULL;
            goapi_sample(o, "http_server_active_requests", labels,
                         apr_psprintf(o->p, "%" APR_INT64_T_FMT, total < 0 ? 0 : total));
        }
    }
}

static void goapi_render_readiness(goapi_out *o, const goapi_metrics_extra *x)
{
    const goapi_readiness *rd = &x->readiness;
    const char *labels[3];
    int i, pass;

    goapi_family(o, "goapi_ready", GOAPI_T_GAUGE, "1 when /readyz answers ready.");
    goapi_sample(o, "goapi_ready", NULL, x->ready ? "1" : "0");
    goapi_family(o, "goapi_draining", GOAPI_T_GAUGE,
                 "1 while the server drains (drain file, or stopping).");
    goapi_sample(o, "goapi_draining", NULL, rd->draining ? "1" : "0");
    /* per check that has run: its result, then how long it took */
    for (pass = 0; pass < 2; pass++) {
        const char *name = pass ? "goapi_readiness_check_duration_seconds"
                                : "goapi_readiness_check_up";

        goapi_family(o, name, GOAPI_T_GAUGE,
                     pass ? "Time the last run of a readiness check took."
                          : "1 when the last run of a readiness check passed.");
        for (i = 0; i < rd->n; i++) {
            const goapi_health_entry *e = &rd->e[i];

            if (!e->ran) {
                continue;
            }
            labels[0] = "check";
            labels[1] = e->name;
            labels[2] = NULL;
            goapi_sample(o, name, labels,
                         !pass ? (e->ok ? "1" : "0")
                               : goapi_secs(o->p, e->took > 0 ? (apr_uint64_t)e->took : 0));
        }
    }
}

static void goapi_render_states(goapi_out *o, const char *name, const char *help,
                                const char *const *states, const apr_uint64_t *values)
{
    const char *labels[3];
    int i;

    goapi_family(o, name, GOAPI_T_GAUGE, help);
    for (i = 0; states && states[i]; i++) {
        labels[0] = "state";
        labels[1] = states[i];
        labels[2] = NULL;
        goapi_sample(o, name, labels, goapi_u64(o->p, values[i]));
    }
}

static void goapi_render_scopes(goapi_out *o, const goapi_metrics_extra *x)
{
    static const char *const names[] = {
        "goapi_max_in_flight_limit", "goapi_in_flight", "goapi_max_in_flight_gradient",
        "goapi_max_in_flight_unloaded_latency_seconds",
        "goapi_max_in_flight_sampled_latency_seconds"
    };
    static const char *const helps[] = {
        "Requests a GoapiMaxInFlight scope admits at once now.",
        "Requests of a GoapiMaxInFlight scope being served now.",
        "The factor of the last change of a GoapiMaxInFlight auto limit (below 1: it fell).",
        "The latency a GoapiMaxInFlight auto scope takes for its backend's unloaded one.",
        "The latency at its percentile of the last window of a GoapiMaxInFlight auto scope."
    };
    const char *labels[3];
    int pass, i;

    for (pass = 0; pass < 5; pass++) {
        if (pass >= 2 && !x->scope_adaptive) {
            break;
        }
        goapi_family(o, names[pass], GOAPI_T_GAUGE, helps[pass]);
        for (i = 0; i < x->nscopes; i++) {
            const char *v;

            if (pass >= 2 && !x->scope_adaptive[i]) {
                continue;
            }
            switch (pass) {
            case 0:
                v = goapi_u64(o->p, x->scope_limits[i]);
                break;
            case 1:
                v = goapi_u64(o->p, x->scope_taken[i]);
                break;
            case 2:
                v = apr_psprintf(o->p, "%.3f", (double)x->scope_gradient[i] / 1000.0);
                break;
            case 3:
                v = goapi_secs(o->p, x->scope_unloaded[i]);
                break;
            default:
                v = goapi_secs(o->p, x->scope_sampled[i]);
                break;
            }
            labels[0] = "scope";
            labels[1] = x->scope_names[i];
            labels[2] = NULL;
            goapi_sample(o, names[pass], labels, v);
        }
    }
}

static void goapi_render_keytables(goapi_out *o, const goapi_metrics_extra *x)
{
    const char *labels[3];
    int i;

    goapi_family(o, "goapi_max_in_flight_per_overflow_total", GOAPI_T_COUNTER,
                 "Requests admitted without a per-key limit because the "
                 "GoapiMaxInFlightPer table of keys had no slot for them.");
    for (i = 0; i < x->nkeytables; i++) {
        labels[0] = "scope";
        labels[1] = x->keytable_names[i];
        labels[2] = NULL;
        goapi_sample(o, "goapi_max_in_flight_per_overflow_total", labels,
                     goapi_u64(o->p, x->keytable_overflow[i]));
    }
}

char *goapi_metrics_render(apr_pool_t *p, const goapi_metrics *m,
                           const goapi_metrics_extra *x, int openmetrics,
                           apr_size_t *len)
{
    goapi_out o;
    const char *labels[5];

    o.p = p;
    o.cap = 32768;
    o.buf = apr_palloc(p, o.cap);
    o.buf[0] = '\0';
    o.len = 0;
    o.om = openmetrics;

    goapi_render_request_histograms(&o, m);
    goapi_render_active(&o, m);
    goapi_render_goapi(&o, m, x);
    if (x && x->have_readiness) {
        goapi_render_readiness(&o, x);
    }
    if (x) {
        goapi_render_states(&o, "apache_workers",
                            "httpd worker threads (scoreboard), by state.",
                            x->worker_states, x->workers);
        goapi_render_states(&o, "apache_connections",
                            "Connections held by httpd children (scoreboard), by state.",
                            x->conn_states, x->conns);
        if (x->nscopes > 0) {
            goapi_render_scopes(&o, x);
        }
        if (x->nkeytables > 0) {
            goapi_render_keytables(&o, x);
        }
    }
    goapi_family(&o, "process_start_time_seconds", GOAPI_T_GAUGE,
                 "Start time of the httpd parent since the Unix epoch, in seconds.");
    goapi_sample(&o, "process_start_time_seconds", NULL,
                 goapi_secs(p, (apr_uint64_t)(m->started > 0 ? m->started : 0)));
    if (x && x->version) {
        goapi_family(&o, "goapi_build_info", GOAPI_T_GAUGE,
                     "mod_goapi's version and httpd's; always 1.");
        labels[0] = "version";
        labels[1] = x->version;
        labels[2] = "httpd";
        labels[3] = x->httpd ? x->httpd : "";
        labels[4] = NULL;
        goapi_sample(&o, "goapi_build_info", labels, "1");
    }
    if (openmetrics) {
        goapi_puts(&o, "# EOF\n");
    }
    *len = o.len;
    return o.buf;
}

/* ---- content negotiation ------------------------------------------------- */

int goapi_metrics_wants_openmetrics(const char *accept)
{
    const char *p = accept;

    if (!p) {
        return 0;
    }
    while (*p) {
        const char *end = strchr(p, ','), *semi;
        apr_size_t n;

        if (!end) {
            end = p + strlen(p);
        }
        while (p < end && apr_isspace(*p)) {
            p++;
        }
        semi = memchr(p, ';', (apr_size_t)(end - p));
        n = (apr_size_t)((semi ? semi : end) - p);
        while (n && apr_isspace(p[n - 1])) {
            n--;
        }
        if (n == 28 && strncasecmp(p, "application/openmetrics-text", 28) == 0) {
            /* q=0 means "not this one" */
            const char *q = semi;

            while (q && q < end) {
                while (q < end && (*q == ';' || apr_isspace(*q))) {
                    q++;
                }
                if (end - q >= 2 && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=') {
                    return strtod(q + 2, NULL) > 0;
                }
                q = memchr(q, ';', (apr_size_t)(end - q));
            }
            return 1;
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}
