/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_metrics.c — counters in shared memory and their exposition
 * (Prometheus text 0.0.4 and OpenMetrics 1.0).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_atomic.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "goapi_defs.h"
#include "goapi_metrics.h"

#define GOAPI_METRICS_MAGIC 0x676d7431u     /* "gmt1" */

static const apr_uint64_t goapi_dur_bounds[GOAPI_METRICS_DUR_BUCKETS] = {
    5000, 10000, 25000, 50000, 75000, 100000, 250000, 500000, 750000,
    1000000, 2500000, 5000000, 7500000, 10000000
};
static const char *const goapi_dur_le[2][GOAPI_METRICS_DUR_BUCKETS] = {
    { "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75",
      "1", "2.5", "5", "7.5", "10" },
    { "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75",
      "1.0", "2.5", "5.0", "7.5", "10.0" }
};
static const apr_uint64_t goapi_size_bounds[GOAPI_METRICS_SIZE_BUCKETS] = {
    64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216
};
static const char *const goapi_size_le[2][GOAPI_METRICS_SIZE_BUCKETS] = {
    { "64", "256", "1024", "4096", "16384", "65536", "262144", "1048576",
      "4194304", "16777216" },
    { "64.0", "256.0", "1024.0", "4096.0", "16384.0", "65536.0", "262144.0",
      "1048576.0", "4194304.0", "16777216.0" }
};

static const char *const goapi_method_names[GOAPI_MM__N] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    "_OTHER"
};

apr_size_t goapi_metrics_size(int nslots)
{
    if (nslots < 1) {
        nslots = 1;
    }
    return sizeof(goapi_metrics) + (apr_size_t)(nslots - 1) * sizeof(goapi_metrics_slot);
}

void goapi_metrics_init(goapi_metrics *m, int nslots, apr_time_t now)
{
    m->magic = GOAPI_METRICS_MAGIC;
    m->nslots = nslots < 1 ? 1 : (apr_uint32_t)nslots;
    m->started = now;
    m->nlabels = 0;
}

const char *goapi_metrics_label_check(const char *name)
{
    apr_size_t n = strlen(name), i;

    if (n == 0 || n > GOAPI_METRICS_LABEL_MAX) {
        return "a route name has 1 to " GOAPI_STR(GOAPI_METRICS_LABEL_MAX) " characters";
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];

        if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\') {
            return "a route name is printable ASCII without spaces, '\"' or '\\'";
        }
    }
    return NULL;
}

/* Find or add name in a table of fixed-size names (one writer). */
static int goapi_name_slot(char *table, apr_size_t width, int cap,
                           volatile apr_uint32_t *count, const char *name)
{
    int i, n = (int)*count;

    for (i = 0; i < n; i++) {
        if (strcmp(table + (apr_size_t)i * width, name) == 0) {
            return i;
        }
    }
    if (n >= cap) {
        return -1;
    }
    apr_cpystrn(table + (apr_size_t)n * width, name, width);
    apr_atomic_set32(count, (apr_uint32_t)n + 1);
    return n;
}

int goapi_metrics_label(goapi_metrics *m, const char *name)
{
    if (goapi_metrics_label_check(name)) {
        return -1;
    }
    return goapi_name_slot(&m->label[0][0], sizeof(m->label[0]), GOAPI_METRICS_LABELS,
                           &m->nlabels, name);
}

#define GOAPI_HOOK_FREE   0u
#define GOAPI_HOOK_NAMING 1u
#define GOAPI_HOOK_NAMED  2u

int goapi_metrics_hook(goapi_metrics *m, const char *name)
{
    char cut[GOAPI_METRICS_HOOK_MAX + 1];
    int i;

    apr_cpystrn(cut, name, sizeof(cut));
    for (i = 0; i < GOAPI_METRICS_HOOKS; i++) {
        apr_uint32_t state = apr_atomic_read32(&m->hook_state[i]);

        if (state == GOAPI_HOOK_FREE) {
            state = apr_atomic_cas32(&m->hook_state[i], GOAPI_HOOK_NAMING, GOAPI_HOOK_FREE);
            if (state == GOAPI_HOOK_FREE) {
                apr_cpystrn(m->hook[i], cut, sizeof(m->hook[i]));
                apr_atomic_set32(&m->hook_state[i], GOAPI_HOOK_NAMED);
                return i;
            }
        }
        /* another writer names this entry: its name is there in a moment */
        while (apr_atomic_read32(&m->hook_state[i]) == GOAPI_HOOK_NAMING) {
        }
        if (strcmp(m->hook[i], cut) == 0) {
            return i;
        }
    }
    return -1;
}

goapi_metrics_method goapi_metrics_method_of(const char *method)
{
    int i;

    for (i = 0; i < GOAPI_MM_OTHER; i++) {
        if (strcmp(method, goapi_method_names[i]) == 0) {
            return (goapi_metrics_method)i;
        }
    }
    return GOAPI_MM_OTHER;
}

static goapi_metrics_slot *goapi_slot(goapi_metrics *m, int slot)
{
    return &m->slot[(apr_uint32_t)(slot < 0 ? 0 : slot) % m->nslots];
}

void goapi_metrics_count(goapi_metrics *m, int slot, goapi_metrics_counter c,
                         apr_uint64_t n)
{
    if ((unsigned)c < GOAPI_MC__N) {
        apr_atomic_add64(&goapi_slot(m, slot)->counter[c], n);
    }
}

void goapi_metrics_active(goapi_metrics *m, int slot, int delta)
{
    apr_atomic_add32(&goapi_slot(m, slot)->active, (apr_uint32_t)delta);
}

/* The entry of key in an index of cap entries, taken if new; -1 when the
 * index is full. */
static int goapi_series_find(volatile apr_uint32_t *index, int cap, apr_uint32_t key)
{
    apr_uint32_t want = key + 1, h = (key * 2654435761u) % (apr_uint32_t)cap;
    int probes;

    for (probes = 0; probes < cap; probes++) {
        apr_uint32_t have = index[h];

        if (have == want) {
            return (int)h;
        }
        if (have == 0) {
            have = apr_atomic_cas32(&index[h], want, 0);
            if (have == 0 || have == want) {
                return (int)h;
            }
        }
        h = (h + 1) % (apr_uint32_t)cap;
    }
    return -1;
}

static int goapi_bucket(const apr_uint64_t *bounds, int n, apr_uint64_t v)
{
    int i;

    for (i = 0; i < n && v > bounds[i]; i++) {
    }
    return i;
}

void goapi_metrics_request(goapi_metrics *m, int slot, int route,
                           goapi_metrics_method method, int status,
                           apr_interval_time_t took, apr_uint64_t bytes)
{
    goapi_metrics_slot *s = goapi_slot(m, slot);
    apr_uint32_t code = (status >= 100 && status <= 999) ? (apr_uint32_t)status : 0;
    apr_uint32_t r = (apr_uint32_t)(route < 0 || route >= GOAPI_METRICS_LABELS ? 0 : route);
    apr_uint64_t us = took > 0 ? (apr_uint64_t)took : 0;
    int i, h;

    if ((unsigned)method >= GOAPI_MM__N) {
        method = GOAPI_MM_OTHER;
    }
    i = goapi_series_find(m->series, GOAPI_METRICS_SERIES,
                          (r << 14) | ((apr_uint32_t)method << 10) | code);
    h = goapi_series_find(m->hseries, GOAPI_METRICS_HSERIES,
                          (r << 4) | (apr_uint32_t)method);
    if (i < 0 || h < 0) {
        apr_atomic_add64(&s->counter[GOAPI_MC_SERIES_OVERFLOW], 1);
    }
    if (i >= 0) {
        apr_atomic_add64(&s->requests[i], 1);
    }
    if (h >= 0) {
        apr_atomic_add64(&s->dur[h][goapi_bucket(goapi_dur_bounds,
                                                  GOAPI_METRICS_DUR_BUCKETS, us)], 1);
        apr_atomic_add64(&s->dur_sum_us[h], us);
        apr_atomic_add64(&s->size[h][goapi_bucket(goapi_size_bounds,
                                                   GOAPI_METRICS_SIZE_BUCKETS, bytes)], 1);
        apr_atomic_add64(&s->size_sum[h], bytes);
    }
}

void goapi_metrics_store_took(goapi_metrics *m, int slot, apr_interval_time_t took)
{
    goapi_metrics_slot *s = goapi_slot(m, slot);
    apr_uint64_t us = took > 0 ? (apr_uint64_t)took : 0;

    apr_atomic_add64(&s->store[goapi_bucket(goapi_dur_bounds, GOAPI_METRICS_DUR_BUCKETS,
                                            us)], 1);
    apr_atomic_add64(&s->store_sum_us, us);
}

void goapi_metrics_hook_took(goapi_metrics *m, int slot, int hook,
                             apr_interval_time_t took)
{
    goapi_metrics_slot *s = goapi_slot(m, slot);

    if (hook < 0 || hook >= GOAPI_METRICS_HOOKS) {
        return;
    }
    apr_atomic_add64(&s->hook_us[hook], took > 0 ? (apr_uint64_t)took : 0);
    apr_atomic_add64(&s->hook_runs[hook], 1);
}

void goapi_metrics_shed_count(goapi_metrics *m, int slot, int route)
{
    if (route < 0 || route >= GOAPI_METRICS_LABELS) {
        route = 0;
    }
    apr_atomic_add64(&goapi_slot(m, slot)->shed[route], 1);
}

/* ---- the scrape ---------------------------------------------------------- */

/* The value summed over every slot of the field at offset off. */
static apr_uint64_t goapi_sum(const goapi_metrics *m, apr_size_t off)
{
    apr_uint64_t total = 0;
    apr_uint32_t i;

    for (i = 0; i < m->nslots; i++) {
        total += apr_atomic_read64((volatile apr_uint64_t *)((char *)&m->slot[i] + off));
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

/* A sample: name{labels} value.  labels is NULL or alternating names and
 * values, NULL-ended. */
static void goapi_sample(goapi_out *o, const char *name, const char *const *labels,
                         const char *value)
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
    goapi_putf(o, " %s\n", value);
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
                            const char *const *le, int nb, const char *sum)
{
    const char *bucket = apr_pstrcat(o->p, name, "_bucket", NULL);
    apr_uint64_t cum = 0;
    int i;

    labels[nl] = "le";
    labels[nl + 2] = NULL;
    for (i = 0; i <= nb; i++) {
        cum += counts[i];
        labels[nl + 1] = i < nb ? le[i] : "+Inf";
        goapi_sample(o, bucket, labels, goapi_u64(o->p, cum));
    }
    labels[nl] = NULL;
    goapi_sample(o, apr_pstrcat(o->p, name, "_sum", NULL), labels, sum);
    goapi_sample(o, apr_pstrcat(o->p, name, "_count", NULL), labels,
                 goapi_u64(o->p, cum));
}

static const char *goapi_code_text(apr_pool_t *p, apr_uint32_t code)
{
    return code ? apr_psprintf(p, "%u", code) : "_OTHER";
}

static const char *goapi_label_name(const goapi_metrics *m, apr_uint32_t i)
{
    return i < apr_atomic_read32((volatile apr_uint32_t *)&m->nlabels)
           ? m->label[i] : GOAPI_METRICS_OTHER;
}

/* The route and method labels of a series (labels[0] to [3]). */
static void goapi_route_method(const char **labels, const goapi_metrics *m,
                               apr_uint32_t route, apr_uint32_t method)
{
    labels[0] = "route";
    labels[1] = goapi_label_name(m, route);
    labels[2] = "method";
    labels[3] = goapi_method_names[method & 0xf];
}

static void goapi_render_requests(goapi_out *o, const goapi_metrics *m)
{
    const char *labels[9];
    int i;

    goapi_family(o, "http_server_requests_total", GOAPI_T_COUNTER,
                 "Requests answered, by route, method and status code.");
    for (i = 0; i < GOAPI_METRICS_SERIES; i++) {
        apr_uint32_t k = m->series[i];

        if (!k--) {
            continue;
        }
        goapi_route_method(labels, m, k >> 14, k >> 10);
        labels[4] = "code";
        labels[5] = goapi_code_text(o->p, k & 0x3ff);
        labels[6] = NULL;
        goapi_sample(o, "http_server_requests_total", labels,
                     goapi_u64(o->p, goapi_sum(m, GOAPI_OFF(requests[i]))));
    }
}

static void goapi_render_request_histograms(goapi_out *o, const goapi_metrics *m)
{
    apr_uint64_t dur[GOAPI_METRICS_DUR_BUCKETS + 1], size[GOAPI_METRICS_SIZE_BUCKETS + 1];
    const char *labels[9];
    int i, b, pass;

    for (pass = 0; pass < 2; pass++) {
        if (pass == 0) {
            goapi_family(o, "http_server_request_duration_seconds", GOAPI_T_HISTOGRAM,
                         "Time from the start of a request to the end of its "
                         "response, by route and method.");
        }
        else {
            goapi_family(o, "http_server_response_size_bytes", GOAPI_T_HISTOGRAM,
                         "Bytes of response bodies sent, by route and method.");
        }
        for (i = 0; i < GOAPI_METRICS_HSERIES; i++) {
            apr_uint32_t k = m->hseries[i];

            if (!k--) {
                continue;
            }
            goapi_route_method(labels, m, k >> 4, k);
            if (pass == 0) {
                for (b = 0; b <= GOAPI_METRICS_DUR_BUCKETS; b++) {
                    dur[b] = goapi_sum(m, GOAPI_OFF(dur[i][b]));
                }
                goapi_histogram(o, "http_server_request_duration_seconds", labels, 4,
                                dur, goapi_dur_le[o->om], GOAPI_METRICS_DUR_BUCKETS,
                                goapi_secs(o->p, goapi_sum(m, GOAPI_OFF(dur_sum_us[i]))));
            }
            else {
                for (b = 0; b <= GOAPI_METRICS_SIZE_BUCKETS; b++) {
                    size[b] = goapi_sum(m, GOAPI_OFF(size[i][b]));
                }
                goapi_histogram(o, "http_server_response_size_bytes", labels, 4,
                                size, goapi_size_le[o->om], GOAPI_METRICS_SIZE_BUCKETS,
                                goapi_u64(o->p, goapi_sum(m, GOAPI_OFF(size_sum[i]))));
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

static void goapi_render_goapi(goapi_out *o, const goapi_metrics *m)
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
    int i, b;

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
    labels[0] = NULL;
    goapi_histogram(o, "goapi_idempotency_store_seconds", labels, 0, store,
                    goapi_dur_le[o->om], GOAPI_METRICS_DUR_BUCKETS,
                    goapi_secs(o->p, goapi_sum(m, GOAPI_OFF(store_sum_us))));

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
                 "Requests turned away with 503 by GoapiMaxInFlight, by route.");
    for (i = 0; i < GOAPI_METRICS_LABELS; i++) {
        apr_uint64_t n = goapi_sum(m, GOAPI_OFF(shed[i]));

        if (n) {
            labels[0] = "route";
            labels[1] = goapi_label_name(m, (apr_uint32_t)i);
            labels[2] = NULL;
            goapi_sample(o, "goapi_shed_total", labels, goapi_u64(o->p, n));
        }
    }

    goapi_render_counters(o, m, "goapi_metrics_series_overflow_total",
                          "Requests not counted by route because the series table "
                          "was full.", NULL, one, GOAPI_MC_SERIES_OVERFLOW);
}

static void goapi_render_active(goapi_out *o, const goapi_metrics *m)
{
    apr_int64_t total = 0;
    apr_uint32_t i;

    for (i = 0; i < m->nslots; i++) {
        total += (apr_int32_t)apr_atomic_read32((volatile apr_uint32_t *)&m->slot[i].active);
    }
    goapi_family(o, "http_server_active_requests", GOAPI_T_GAUGE,
                 "Requests being served now.");
    goapi_sample(o, "http_server_active_requests", NULL,
                 apr_psprintf(o->p, "%" APR_INT64_T_FMT, total < 0 ? 0 : total));
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
    const char *labels[3];
    int pass, i;

    for (pass = 0; pass < 2; pass++) {
        const char *name = pass ? "goapi_in_flight" : "goapi_max_in_flight_limit";

        goapi_family(o, name, GOAPI_T_GAUGE,
                     pass ? "Requests of a GoapiMaxInFlight scope being served now."
                          : "Requests a GoapiMaxInFlight scope admits at once now.");
        for (i = 0; i < x->nscopes; i++) {
            labels[0] = "scope";
            labels[1] = x->scope_names[i];
            labels[2] = NULL;
            goapi_sample(o, name, labels,
                         goapi_u64(o->p, pass ? x->scope_taken[i] : x->scope_limits[i]));
        }
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

    goapi_render_requests(&o, m);
    goapi_render_request_histograms(&o, m);
    goapi_render_active(&o, m);
    goapi_render_goapi(&o, m);
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
