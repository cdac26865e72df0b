/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_shed.c — places of a load-shedding scope, and the adaptive limit
 * (see goapi_shed.h).
 */
#include <string.h>

#include <apr_atomic.h>

#include "goapi_shed.h"

#define GOAPI_SHED_TOLERANCE 1.25       /* latency accepted over the unloaded one */
#define GOAPI_SHED_GRADIENT_MIN 0.5
#define GOAPI_SHED_GRADIENT_MAX 2.0
#define GOAPI_SHED_PERCENTILE 50
#define GOAPI_SHED_BACKOFF 900          /* thousandths kept on a back-off */

void goapi_shed_scope_init(goapi_shed_scope *s, const goapi_shed_conf *conf, apr_time_t now)
{
    memset((void *)s, 0, sizeof(*s));
    s->conf = *conf;
    if (!s->conf.percentile) {
        s->conf.percentile = GOAPI_SHED_PERCENTILE;
    }
    if (!s->conf.backoff) {
        s->conf.backoff = GOAPI_SHED_BACKOFF;
    }
    s->limit = conf->start;
    s->estimate = conf->start;
    s->gradient = 1000;
    s->window_start = (apr_uint64_t)now;
    s->slot_start = now;
}

/* ---- the latency histogram ----------------------------------------------- */

int goapi_shed_bucket(apr_uint64_t us)
{
    int k = 0;

    if (us < 4) {
        return (int)us;
    }
    if (us >> 33) {
        us = ((apr_uint64_t)1 << 33) - 1;
    }
    while (us >> (k + 1)) {
        k++;                            /* k: the highest bit set, >= 2 */
    }
    return 4 * (k - 1) + (int)((us >> (k - 2)) & 3);
}

apr_uint64_t goapi_shed_bucket_value(int bucket)
{
    int k, sub;

    if (bucket < 4) {
        return bucket < 0 ? 0 : (apr_uint64_t)bucket;
    }
    k = bucket / 4 + 1;
    sub = bucket % 4;
    return ((apr_uint64_t)(4 + sub) << (k - 2)) + (((apr_uint64_t)1 << (k - 2)) >> 1);
}

apr_uint64_t goapi_shed_percentile(const apr_uint32_t *count, apr_uint32_t total,
                                   apr_uint32_t pct)
{
    double target = (double)total * (double)pct / 100.0, seen = 0;
    int b;

    for (b = 0; b < GOAPI_SHED_BUCKETS && total; b++) {
        if (count[b] && seen + count[b] >= target) {
            /* where the target falls among the bucket's samples, taken as
             * spread evenly over its width */
            double low, width;

            if (b < 4) {
                low = b;
                width = 1;
            }
            else {
                int k = b / 4 + 1;

                low = (double)((apr_uint64_t)(4 + b % 4) << (k - 2));
                width = (double)((apr_uint64_t)1 << (k - 2));
            }
            return (apr_uint64_t)(low + width * (target - seen) / count[b] + 0.5);
        }
        seen += count[b];
    }
    return 0;
}

/* ---- places ---------------------------------------------------------------- */

static void goapi_shed_note_peak(goapi_shed_scope *s, apr_uint32_t held)
{
    apr_uint32_t seen = apr_atomic_read32(&s->peak);

    while (seen < held) {
        apr_uint32_t was = apr_atomic_cas32(&s->peak, held, seen);

        if (was == seen) {
            break;
        }
        seen = was;
    }
}

int goapi_shed_enter(goapi_shed_scope *s, apr_time_t now, goapi_shed_ticket *t)
{
    apr_uint32_t epoch = apr_atomic_read32(&s->epoch);
    apr_uint32_t limit = apr_atomic_read32(&s->limit);
    apr_uint32_t held = apr_atomic_read32(&s->taken);

    /* compare-and-swap rather than add-then-undo: a request that is turned
     * away never holds a place, even for a moment */
    for (;;) {
        apr_uint32_t seen;

        if (held >= limit) {
            if (s->conf.adaptive) {
                apr_atomic_inc32(&s->refused);  /* the limit binds */
            }
            return 0;
        }
        seen = apr_atomic_cas32(&s->taken, held + 1, held);
        if (seen == held) {
            break;
        }
        held = seen;
    }
    if (s->conf.adaptive) {
        goapi_shed_note_peak(s, held + 1);
    }
    t->scope = s;
    t->admitted = now;
    t->epoch = epoch;
    t->partition = -1;
    return 1;
}

/* ---- the queue ---------------------------------------------------------------- */

int goapi_shed_queue_join(goapi_shed_scope *s, apr_uint32_t *n)
{
    if (apr_atomic_inc32(&s->q_len) >= s->conf.queue) {
        apr_atomic_dec32(&s->q_len);
        return 0;
    }
    *n = apr_atomic_inc32(&s->q_tail);
    return 1;
}

/* n's turn is over: the head moves past it, and past every number after it
 * whose waiter left before its turn.  Whoever moves the head past a
 * number that left clears its mark first, so each is passed once. */
static void goapi_shed_queue_pass(goapi_shed_scope *s, apr_uint32_t n)
{
    for (;;) {
        volatile apr_uint32_t *gone;

        if (apr_atomic_cas32(&s->q_head, n + 1, n) != n) {
            return;
        }
        n++;
        if (n == apr_atomic_read32(&s->q_tail)) {
            return;
        }
        gone = &s->q_gone[n % GOAPI_SHED_QUEUE_MAX];
        if (apr_atomic_cas32(gone, 0, n + 1) != n + 1) {
            return;                     /* its waiter is there: its turn */
        }
    }
}

int goapi_shed_queue_try(goapi_shed_scope *s, apr_uint32_t n, apr_time_t now,
                         goapi_shed_ticket *t)
{
    if (apr_atomic_read32(&s->q_head) != n || !goapi_shed_enter(s, now, t)) {
        return 0;
    }
    apr_atomic_dec32(&s->q_len);
    goapi_shed_queue_pass(s, n);
    return 1;
}

void goapi_shed_queue_leave(goapi_shed_scope *s, apr_uint32_t n)
{
    volatile apr_uint32_t *gone = &s->q_gone[n % GOAPI_SHED_QUEUE_MAX];

    /* marked first: whoever brings the head here passes it */
    apr_atomic_set32(gone, n + 1);
    apr_atomic_dec32(&s->q_len);
    if (apr_atomic_read32(&s->q_head) == n && apr_atomic_cas32(gone, 0, n + 1) == n + 1) {
        goapi_shed_queue_pass(s, n);
    }
}

apr_uint32_t goapi_shed_queued(goapi_shed_scope *s)
{
    return apr_atomic_read32(&s->q_len);
}

apr_uint32_t goapi_shed_guaranteed(goapi_shed_scope *s, int p)
{
    apr_uint64_t g = (apr_uint64_t)apr_atomic_read32(&s->limit) * s->conf.share[p] / 100;

    return g ? (apr_uint32_t)g : 1;
}

int goapi_shed_enter_partition(goapi_shed_scope *s, int p, apr_time_t now,
                               goapi_shed_ticket *t)
{
    apr_uint32_t mine = apr_atomic_inc32(&s->part_taken[p]) + 1;

    if (mine <= goapi_shed_guaranteed(s, p)) {
        /* within its share: taken whatever the others borrowed */
        apr_uint32_t held = apr_atomic_inc32(&s->taken) + 1;

        if (s->conf.adaptive) {
            goapi_shed_note_peak(s, held);
        }
        t->scope = s;
        t->admitted = now;
        t->epoch = apr_atomic_read32(&s->epoch);
    }
    else if (!goapi_shed_enter(s, now, t)) {
        apr_atomic_dec32(&s->part_taken[p]);    /* nothing free to borrow */
        return 0;
    }
    t->partition = p;
    return 1;
}

/* ---- the adaptive limit ---------------------------------------------------- */

static apr_uint32_t goapi_isqrt(apr_uint32_t n)
{
    apr_uint32_t x = n, y = (n + 1) / 2;

    while (y < x) {
        x = y;
        y = (x + n / x) / 2;
    }
    return x;
}

static apr_uint32_t goapi_shed_bounded(const goapi_shed_conf *c, double v)
{
    if (v < c->min) {
        return c->min;
    }
    if (v > c->max) {
        return c->max;
    }
    return (apr_uint32_t)(v + 0.5);
}

/* Empties the window's histogram into count; the number of samples. */
static apr_uint32_t goapi_shed_take_hist(goapi_shed_scope *s, apr_uint32_t *count)
{
    apr_uint32_t total = 0;
    int b;

    for (b = 0; b < GOAPI_SHED_BUCKETS; b++) {
        count[b] = apr_atomic_xchg32(&s->hist[b], 0);
        total += count[b];
    }
    apr_atomic_sub32(&s->samples, total);
    return total;
}

/* A new limit starts a new epoch: the requests admitted under another one
 * tell nothing of it. */
static void goapi_shed_set_limit(goapi_shed_scope *s, apr_uint32_t limit)
{
    if (apr_atomic_xchg32(&s->limit, limit) != limit) {
        apr_atomic_inc32(&s->epoch);
    }
}

static apr_uint32_t goapi_shed_us32(apr_uint64_t us)
{
    return us > 0xffffffffu ? 0xffffffffu : (apr_uint32_t)us;
}

/* The window's samples go into the current slot; a slot of 2 s with
 * enough samples, that no binding limit above min made a queue of, gives
 * its percentile to the windowed minimum.  Then the unloaded latency is
 * the lowest of those not older than GOAPI_SHED_BEST_AGE; none: as it
 * was. */
static void goapi_shed_learn_unloaded(goapi_shed_scope *s, const apr_uint32_t *count,
                                      apr_uint32_t n, apr_uint32_t refused,
                                      apr_uint32_t limit, apr_time_t now)
{
    apr_uint32_t best = 0;
    int b, i;

    for (b = 0; b < GOAPI_SHED_BUCKETS; b++) {
        s->slot_hist[b] += count[b];
    }
    s->slot_n += n;
    if (refused && limit > s->conf.min) {
        s->slot_dirty = 1;
    }
    if (now - s->slot_start >= GOAPI_SHED_SLOT
        && (s->slot_n >= GOAPI_SHED_SLOT_SAMPLES || now - s->slot_start >= 4 * GOAPI_SHED_SLOT)) {
        if (s->slot_n >= GOAPI_SHED_SLOT_SAMPLES && !s->slot_dirty) {
            apr_uint64_t v = goapi_shed_percentile(s->slot_hist, s->slot_n,
                                                   s->conf.percentile);

            s->best[s->best_next] = goapi_shed_us32(v ? v : 1);
            s->best_at[s->best_next] = now;
            s->best_next = (s->best_next + 1) % GOAPI_SHED_BEST;
        }
        memset(s->slot_hist, 0, sizeof(s->slot_hist));
        s->slot_n = 0;
        s->slot_dirty = 0;
        s->slot_start = now;
    }
    for (i = 0; i < GOAPI_SHED_BEST; i++) {
        if (s->best[i] && s->best_at[i] > now - GOAPI_SHED_BEST_AGE
            && (!best || s->best[i] < best)) {
            best = s->best[i];
        }
    }
    if (best) {
        apr_atomic_set32(&s->unloaded, best);
    }
}

/* The holder of updating sets the limit from a window: n latencies in
 * count, failed back-off signals, refused requests turned away, and the
 * most requests held at once. */
static void goapi_shed_adapt(goapi_shed_scope *s, const apr_uint32_t *count, apr_uint32_t n,
                             apr_uint32_t failed, apr_uint32_t refused, apr_uint32_t peak,
                             apr_time_t now)
{
    const goapi_shed_conf *c = &s->conf;
    apr_uint32_t limit = apr_atomic_read32(&s->limit), unloaded;
    apr_uint64_t sampled = 0;
    double gradient, next;

    if (n) {
        sampled = goapi_shed_percentile(count, n, c->percentile);
        if (sampled < 1) {
            sampled = 1;
        }
        apr_atomic_set32(&s->sampled, goapi_shed_us32(sampled));
        goapi_shed_learn_unloaded(s, count, n, refused, limit, now);
    }
    unloaded = apr_atomic_read32(&s->unloaded);
    if (failed && (apr_uint64_t)failed * 10 >= (apr_uint64_t)failed + n) {
        /* the backend fails: back off at once, multiplicatively */
        gradient = c->backoff / 1000.0;
        next = s->estimate * gradient;
    }
    else if (!n) {
        return;
    }
    else if (!unloaded) {
        /* the first window: its latency stands for the unloaded one until
         * a clean slot gives it */
        apr_atomic_set32(&s->unloaded, goapi_shed_us32(sampled));
        return;
    }
    else {
        gradient = GOAPI_SHED_TOLERANCE * (double)unloaded / (double)sampled;
        if (gradient < GOAPI_SHED_GRADIENT_MIN) {
            gradient = GOAPI_SHED_GRADIENT_MIN;
        }
        if (gradient > GOAPI_SHED_GRADIENT_MAX) {
            gradient = GOAPI_SHED_GRADIENT_MAX;
        }
        if (gradient > 1.0 && (double)peak * 2 < s->estimate) {
            gradient = 1.0;             /* unused places prove nothing */
        }
        /* while the limit turns requests away, a fall starts from the
         * most the window used, or it could take windows to come down to
         * where it bites; while it does not, from the limit, so that a
         * short rise of latency under a load well below the limit does
         * not bring it down to that load and shed */
        next = (gradient < 1.0 && refused && peak < s->estimate ? (double)peak
                                                               : s->estimate) * gradient;
        next += goapi_isqrt(next < 1 ? 1 : (apr_uint32_t)(next > 1e9 ? 1e9 : next)) / 2.0;
    }
    if (next < c->min) {
        next = c->min;
    }
    if (next > c->max) {
        next = c->max;
    }
    apr_atomic_set32(&s->gradient, (apr_uint32_t)(gradient * 1000 + 0.5));
    s->estimate = next;
    goapi_shed_set_limit(s, goapi_shed_bounded(c, next));
}

static int goapi_shed_window_done(goapi_shed_scope *s, apr_time_t now)
{
    apr_uint64_t start = apr_atomic_read64(&s->window_start);
    apr_uint32_t count[GOAPI_SHED_BUCKETS], n, failed, refused, peak;

    if (apr_atomic_read32(&s->samples) + apr_atomic_read32(&s->failed)
            < GOAPI_SHED_WINDOW_SAMPLES
        || (apr_time_t)start > now - GOAPI_SHED_WINDOW
        || apr_atomic_cas32(&s->updating, 1, 0) != 0) {
        return 0;
    }
    if (apr_atomic_read64(&s->window_start) != start) {
        apr_atomic_set32(&s->updating, 0);      /* another process was first */
        return 0;
    }
    n = goapi_shed_take_hist(s, count);
    failed = apr_atomic_xchg32(&s->failed, 0);
    refused = apr_atomic_xchg32(&s->refused, 0);
    peak = apr_atomic_xchg32(&s->peak, apr_atomic_read32(&s->taken));
    if (n || failed) {
        goapi_shed_adapt(s, count, n, failed, refused, peak, now);
    }
    apr_atomic_set64(&s->window_start, (apr_uint64_t)now);
    apr_atomic_set32(&s->updating, 0);
    return n || failed;
}

int goapi_shed_leave(goapi_shed_ticket *t, apr_time_t now, int failed)
{
    goapi_shed_scope *s = t->scope;
    apr_uint32_t epoch;

    apr_atomic_dec32(&s->taken);
    if (t->partition >= 0) {
        apr_atomic_dec32(&s->part_taken[t->partition]);
    }
    if (!s->conf.adaptive) {
        return 0;
    }
    if (failed) {
        /* whatever limit it was admitted under: the backend fails now */
        apr_atomic_inc32(&s->failed);
    }
    else {
        /* only requests admitted under the limit now tell of its latency */
        epoch = apr_atomic_read32(&s->epoch);
        if (t->epoch == epoch) {
            /* counted before it is filed, so samples >= what hist holds */
            apr_atomic_inc32(&s->samples);
            apr_atomic_inc32(&s->hist[goapi_shed_bucket(
                now > t->admitted ? (apr_uint64_t)(now - t->admitted) : 0)]);
        }
    }
    return goapi_shed_window_done(s, now);
}

int goapi_shed_retry_after(int base, apr_uint32_t random_bits)
{
    if (base < 1) {
        base = 1;
    }
    return base + (int)(random_bits % ((apr_uint32_t)base + 1));
}
