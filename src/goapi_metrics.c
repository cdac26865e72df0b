/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_metrics.c — counters in shared memory: the region, its label
 * tables, and what the request path writes (counts, histograms,
 * exemplars, without a lock or a system call).  The scrape is
 * goapi_metrics_render.c.
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

/* Changed with the region's layout: a module loaded again by a restart
 * takes over the region only when it lays it out alike. */
#define GOAPI_METRICS_MAGIC 0x676d7433u     /* "gmt3" */

static const apr_uint64_t goapi_dur_bounds[GOAPI_METRICS_DUR_BUCKETS] = {
    5000, 10000, 25000, 50000, 75000, 100000, 250000, 500000, 750000,
    1000000, 2500000, 5000000, 7500000, 10000000
};
static const apr_uint64_t goapi_size_bounds[GOAPI_METRICS_SIZE_BUCKETS] = {
    64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216
};

apr_size_t goapi_metrics_size(int nslots)
{
    if (nslots < 1) {
        nslots = 1;
    }
    return sizeof(goapi_metrics) + (apr_size_t)(nslots - 1) * sizeof(goapi_metrics_slot);
}

int goapi_metrics_same_layout(const goapi_metrics *m, apr_size_t bytes)
{
    return bytes >= sizeof(goapi_metrics) && m->magic == GOAPI_METRICS_MAGIC
           && m->nslots >= 1 && bytes >= goapi_metrics_size((int)m->nslots);
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

const char *goapi_metrics_method_check(const char *name)
{
    apr_size_t n = strlen(name), i;

    if (n == 0 || n > GOAPI_METRICS_METHOD_MAX) {
        return "a method has 1 to " GOAPI_STR(GOAPI_METRICS_METHOD_MAX) " characters";
    }
    for (i = 0; i < n; i++) {
        /* RFC 9110 tchar */
        if (!apr_isalnum(name[i]) && !strchr("!#$%&'*+-.^_`|~", name[i])) {
            return "a method is an HTTP token (letters, digits, !#$%&'*+-.^_`|~)";
        }
    }
    if (strcmp(name, "_OTHER") == 0) {
        return "_OTHER stands for every method not listed";
    }
    return NULL;
}

int goapi_metrics_method(goapi_metrics *m, const char *name)
{
    if (goapi_metrics_method_check(name)) {
        return -1;
    }
    return goapi_name_slot(&m->method[0][0], sizeof(m->method[0]),
                           GOAPI_METRICS_METHOD_OTHER, &m->nmethods, name);
}

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

int goapi_metrics_method_of(const goapi_metrics_known *k, const char *method)
{
    int i;

    if (method) {
        for (i = 0; i < k->n; i++) {
            if (strcmp(method, k->name[i]) == 0) {
                return k->index[i];
            }
        }
    }
    return GOAPI_METRICS_METHOD_OTHER;
}

goapi_metrics_proto goapi_metrics_proto_of(int proto_num)
{
    switch (proto_num) {
    case 1000: return GOAPI_MP_1_0;
    case 2000: return GOAPI_MP_2;
    case 3000: return GOAPI_MP_3;
    case 9:    return GOAPI_MP_0_9;
    default:   return GOAPI_MP_1_1;
    }
}

goapi_metrics_error goapi_metrics_error_of(goapi_metrics_error cause, int status)
{
    if (cause > GOAPI_ME_STATUS && cause < GOAPI_ME__N) {
        return cause;
    }
    return status >= 500 && status <= 599 ? GOAPI_ME_STATUS : GOAPI_ME_NONE;
}

static goapi_metrics_slot *goapi_slot(goapi_metrics *m, int slot)
{
    apr_uint32_t i = (apr_uint32_t)(slot < 0 ? 0 : slot);
    apr_uint32_t n = m->nslots ? m->nslots : 1;     /* goapi_metrics_init's */

    /* a slot in range, as the glue passes, needs no division */
    return &m->slot[i < n ? i : i % n];
}

void goapi_metrics_count(goapi_metrics *m, int slot, goapi_metrics_counter c,
                         apr_uint64_t n)
{
    if ((unsigned)c < GOAPI_MC__N) {
        goapi_add64(&goapi_slot(m, slot)->counter[c], n);
    }
}

static int goapi_method_index(int method)
{
    return method < 0 || method >= GOAPI_METRICS_METHODS ? GOAPI_METRICS_METHOD_OTHER
                                                          : method;
}

/* Mark bit in the methods and schemes seen, once for the life of the
 * region: a failed compare-and-swap means another of the 32 bits was set,
 * so 33 tries always suffice.  Out of the request path's line. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void goapi_active_seen(goapi_metrics *m, apr_uint32_t bit)
{
    int tries;

    for (tries = 0; tries < 33 && !(m->active_seen & bit); tries++) {
        apr_uint32_t seen = m->active_seen;

        apr_atomic_cas32(&m->active_seen, seen | bit, seen);
    }
}

void goapi_metrics_active(goapi_metrics *m, int slot, int method, int https, int delta)
{
    apr_uint32_t bit;

    method = goapi_method_index(method);
    https = https ? 1 : 0;
    bit = 1u << (method * 2 + https);
    goapi_add32(&goapi_slot(m, slot)->active[method][https], (apr_uint32_t)delta);
    /* a request leaving was seen coming; the first of its kind may be
     * missed by a scrape made between these two lines */
    if (delta > 0 && !(m->active_seen & bit)) {
        goapi_active_seen(m, bit);
    }
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


/* Keep a sampled request as the exemplar of e.  A writer takes e by
 * making its sequence odd; one that finds it odd, or loses the race,
 * leaves it to the other: an exemplar is a sample, not a count. */
static void goapi_exemplar_put(goapi_metrics_exemplar *e, const goapi_metrics_req *q,
                               apr_uint64_t us)
{
    apr_uint32_t seq = goapi_seq_load(&e->seq);

    if ((seq & 1) || !goapi_seq_take(&e->seq, seq)) {
        return;
    }
    e->us = us;
    e->at = q->now;
    memcpy(e->id, q->trace_id, GOAPI_METRICS_TRACE_ID);
    memcpy(e->id + GOAPI_METRICS_TRACE_ID, q->span_id, GOAPI_METRICS_SPAN_ID);
    goapi_seq_store(&e->seq, seq + 2);  /* even again, after the fields */
}

/* goapi_metrics_int.h */
int goapi_metrics_exemplar_read(const goapi_metrics_exemplar *e, goapi_metrics_exemplar *out)
{
    volatile apr_uint32_t *seqp = (volatile apr_uint32_t *)&e->seq;
    int tries;

    for (tries = 0; tries < 4; tries++) {
        /* the fields are read after it */
        apr_uint32_t seq = goapi_seq_load(seqp);

        if (seq == 0) {
            return 0;
        }
        if (seq & 1) {
            continue;
        }
        out->us = ((const volatile goapi_metrics_exemplar *)e)->us;
        out->at = ((const volatile goapi_metrics_exemplar *)e)->at;
        memcpy(out->id, (const void *)e->id, sizeof(out->id));
        /* compare-and-swap to the same value: a full barrier, then the
         * sequence as it is now */
        if (apr_atomic_cas32(seqp, seq, seq) == seq) {
            out->seq = seq;
            return 1;
        }
    }
    return 0;
}

void goapi_metrics_request(goapi_metrics *m, int slot, const goapi_metrics_req *q)
{
    goapi_metrics_slot *s = goapi_slot(m, slot);
    apr_uint32_t code = (q->status >= 100 && q->status <= 999) ? (apr_uint32_t)q->status : 0;
    apr_uint32_t r = (apr_uint32_t)(q->route < 0 || q->route >= GOAPI_METRICS_LABELS
                                    ? 0 : q->route);
    apr_uint32_t proto = (unsigned)q->proto < GOAPI_MP__N ? (apr_uint32_t)q->proto : 0;
    apr_uint32_t err = (unsigned)q->error < GOAPI_ME__N ? (apr_uint32_t)q->error : 0;
    apr_uint64_t us = q->took > 0 ? (apr_uint64_t)q->took : 0;
    goapi_metrics_hist *h;
    int i, b;

    /* code 10 bits, method 4, route 6, scheme 1, protocol 3, error 3 */
    i = goapi_series_find(m->series, GOAPI_METRICS_SERIES,
                          code | ((apr_uint32_t)goapi_method_index(q->method) << 10)
                          | (r << 14) | ((q->https ? 1u : 0u) << 20) | (proto << 21)
                          | (err << 24));
    if (i < 0) {
        goapi_add64(&s->counter[GOAPI_MC_SERIES_OVERFLOW], 1);
        return;
    }
    h = &s->hist[i];
    b = goapi_bucket(goapi_dur_bounds, GOAPI_METRICS_DUR_BUCKETS, us);
    /* each add is a locked instruction: a sum that stays as it is (a
     * request without a body) is not written */
    goapi_add64(&h->dur[b], 1);
    if (us) {
        goapi_add64(&h->dur_sum_us, us);
    }
    goapi_add64(&h->req[goapi_bucket(goapi_size_bounds, GOAPI_METRICS_SIZE_BUCKETS,
                                     q->request_bytes)], 1);
    if (q->request_bytes) {
        goapi_add64(&h->req_sum, q->request_bytes);
    }
    goapi_add64(&h->resp[goapi_bucket(goapi_size_bounds, GOAPI_METRICS_SIZE_BUCKETS,
                                      q->response_bytes)], 1);
    if (q->response_bytes) {
        goapi_add64(&h->resp_sum, q->response_bytes);
    }
    if (q->trace_id && q->span_id) {
        goapi_exemplar_put(&s->ex[i][b], q, us);
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

void goapi_metrics_shed_count(goapi_metrics *m, int slot, int route, int dry_run)
{
    if (route < 0 || route >= GOAPI_METRICS_LABELS) {
        route = 0;
    }
    apr_atomic_add64(&goapi_slot(m, slot)->shed[dry_run ? 1 : 0][route], 1);
}
