/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_shed.h — load shedding: at most N requests of a scope at once,
 * counted in shared memory by every child; N fixed, or adapted to the
 * latency the scope's requests see.  Pure: APR and libc only.
 *
 * The adaptive limit (GoapiMaxInFlight auto) is a gradient limiter in the
 * manner of Envoy's adaptive concurrency filter and Netflix's Gradient2,
 * with an AIMD back-off:
 *
 *   - every window (100 ms, and at least 10 finished requests) the
 *     window's latency at the scope's percentile (p50 unless set) is
 *     compared with the scope's unloaded latency: gradient = unloaded *
 *     1.25 / sampled, held within [0.5, 2];
 *   - the new limit is limit * gradient + sqrt(limit * gradient) / 2, the
 *     square root being room for bursts, held within [min, max]; a limit
 *     that the window's requests never came near using does not grow; a
 *     fall starts from the most requests the window held when the limit
 *     turned some away in it;
 *   - a window in which a tenth or more of the requests that ended failed
 *     (a 5xx, a deadline cut, a client gone: goapi_shed_leave()'s failed)
 *     multiplies the limit by the back-off factor (0.9 unless set)
 *     instead; the failed requests' latencies are not sampled;
 *   - the unloaded latency is the lowest of the percentiles of the 2 s
 *     slots of the last 30 s (a windowed minimum that ages out).  A slot
 *     counts only when it is clean: no request was turned away by the
 *     limit while it was above min.  A slot whose limit turned requests
 *     away measures the queue the limit lets through, not the backend
 *     unloaded; were it counted, a long overload would raise the unloaded
 *     latency slot by slot and the limit with it.  A slot held at min
 *     counts: min is what the backend always serves, so that is a
 *     measurement at the floor, and a backend become slower for every
 *     request is learnt once the faster slots have aged out.  The limit is
 *     never pinned to min to measure, so a steady load sheds nothing.
 *     Until the first clean slot, the first window's latency stands for it.
 *
 * So when a backend's latency grows because it is given more than it can
 * serve, the limit falls towards what it serves at near its unloaded
 * latency, and rises again when the latency comes back down.
 */
#ifndef GOAPI_SHED_H
#define GOAPI_SHED_H

#include <apr.h>
#include <apr_time.h>

/* Latency histogram of a window: 4 buckets per power of two of
 * microseconds (bucket width at most 25 % of its value). */
#define GOAPI_SHED_BUCKETS 128

/* Partitions of a scope's limit (GoapiMaxInFlightPartition), the last
 * one for the requests that match none. */
#define GOAPI_SHED_PARTITIONS 8

/* Settings of one scope (read-only once the scope is made). */
typedef struct {
    int adaptive;                       /* 0: limit is fixed */
    apr_uint32_t min;                   /* adaptive: bounds and first limit */
    apr_uint32_t max;
    apr_uint32_t start;
    int partitions;                     /* 0: none; else those named, plus one
                                         * for the requests that match none */
    apr_uint32_t share[GOAPI_SHED_PARTITIONS];  /* percent of the limit each is
                                         * guaranteed; the last: what is left */
    apr_uint32_t queue;                 /* GoapiShedQueue: waiters at most; 0 none */
    apr_uint32_t percentile;            /* adaptive: of the latency sampled, 1-99;
                                         * 0 = 50 */
    apr_uint32_t backoff;               /* adaptive: thousandths of the limit kept
                                         * on a back-off, 500-999; 0 = 900 */
} goapi_shed_conf;

/* Slots of the windowed minimum of the unloaded latency. */
#define GOAPI_SHED_BEST 16

/* Longest queue of a scope. */
#define GOAPI_SHED_QUEUE_MAX 1024

/* One scope, in shared memory.  The volatile fields are read and written
 * with atomics by every process, the others only by the holder of
 * updating. */
typedef struct {
    goapi_shed_conf conf;
    volatile apr_uint32_t taken;        /* requests admitted and not yet ended */
    volatile apr_uint32_t limit;        /* places now */
    volatile apr_uint32_t epoch;        /* + 1 at each change of limit */
    volatile apr_uint32_t updating;     /* 1 while a process sets the limit */
    volatile apr_uint32_t samples;      /* in hist */
    volatile apr_uint32_t peak;         /* most taken at once in this window */
    volatile apr_uint64_t window_start; /* apr_time_t */
    volatile apr_uint32_t hist[GOAPI_SHED_BUCKETS];
    volatile apr_uint32_t part_taken[GOAPI_SHED_PARTITIONS];    /* per partition */
    volatile apr_uint32_t q_len;        /* requests waiting */
    volatile apr_uint32_t q_tail;       /* the next waiter's number */
    volatile apr_uint32_t q_head;       /* the number whose turn it is */
    volatile apr_uint32_t q_gone[GOAPI_SHED_QUEUE_MAX];     /* number + 1 of a
                                         * waiter that left before its turn */
    volatile apr_uint32_t failed;       /* back-off signals in this window */
    volatile apr_uint32_t refused;      /* requests the limit turned away in it */
    /* telemetry, set by the holder of updating, read by a scrape */
    volatile apr_uint32_t unloaded;     /* latency unloaded, us; 0 unknown */
    volatile apr_uint32_t sampled;      /* the last window's percentile, us */
    volatile apr_uint32_t gradient;     /* the last change's factor, thousandths */
    /* the holder of updating's own */
    double estimate;                    /* the limit before rounding */
    apr_uint32_t slot_hist[GOAPI_SHED_BUCKETS]; /* the slot being filled */
    apr_uint32_t slot_n;
    int slot_dirty;                     /* the limit turned requests away above min */
    apr_time_t slot_start;
    apr_uint32_t best[GOAPI_SHED_BEST]; /* percentile of each clean slot, us */
    apr_time_t best_at[GOAPI_SHED_BEST];
    int best_next;
} goapi_shed_scope;

/* What one admitted request carries to its end. */
typedef struct {
    goapi_shed_scope *scope;
    apr_time_t admitted;
    apr_uint32_t epoch;
    int partition;                      /* -1: none */
} goapi_shed_ticket;

#define GOAPI_SHED_WINDOW         apr_time_from_msec(100)
#define GOAPI_SHED_WINDOW_SAMPLES 10
#define GOAPI_SHED_SLOT           apr_time_from_sec(2)
#define GOAPI_SHED_SLOT_SAMPLES   20
#define GOAPI_SHED_BEST_AGE       apr_time_from_sec(30)

void goapi_shed_scope_init(goapi_shed_scope *s, const goapi_shed_conf *conf, apr_time_t now);

/* Take a place: 1 when taken (goapi_shed_leave() gives it back; t is
 * filled), 0 when all are taken (nothing to give back). */
int goapi_shed_enter(goapi_shed_scope *s, apr_time_t now, goapi_shed_ticket *t);

/* Take a place for a request of partition p (0 .. partitions - 1) of a
 * scope with partitions: within its share of the limit now it is admitted
 * whatever the others hold (so the scope may hold up to the others' unused
 * shares more than its limit while a partition borrows); beyond its share
 * it borrows a place that is free under the limit, or is turned away.  1
 * when taken, as goapi_shed_enter(). */
int goapi_shed_enter_partition(goapi_shed_scope *s, int p, apr_time_t now,
                               goapi_shed_ticket *t);

/* The queue (GoapiShedQueue): first in, first out, across every process.
 * A request that finds no place, or others already waiting, joins it (1,
 * and its number in *n) unless conf.queue are waiting already (0); then,
 * while it waits, tries at its turn (1 when it took a place: t is filled
 * and the queue moves on to the next), or leaves without one (its time is
 * up, its client left).  A newcomer never overtakes a waiter. */
int goapi_shed_queue_join(goapi_shed_scope *s, apr_uint32_t *n);
int goapi_shed_queue_try(goapi_shed_scope *s, apr_uint32_t n, apr_time_t now,
                         goapi_shed_ticket *t);
void goapi_shed_queue_leave(goapi_shed_scope *s, apr_uint32_t n);

/* Requests waiting in the queue now. */
apr_uint32_t goapi_shed_queued(goapi_shed_scope *s);

/* The places partition p is guaranteed under the limit now: its share,
 * at least one. */
apr_uint32_t goapi_shed_guaranteed(goapi_shed_scope *s, int p);

/* Give the place back; an adaptive scope learns the request's latency
 * (failed 0) or counts a back-off signal (failed 1: a 5xx, a deadline cut,
 * a client gone) and, when a window is complete, sets a new limit.  1 when
 * this call set a new limit. */
int goapi_shed_leave(goapi_shed_ticket *t, apr_time_t now, int failed);

/* The latency at percentile pct (1-99) of a histogram of total samples,
 * interpolated within its bucket; 0 when it is empty.  Exposed for the
 * unit tests. */
apr_uint64_t goapi_shed_percentile(const apr_uint32_t *count, apr_uint32_t total,
                                   apr_uint32_t pct);

/* Retry-After for a shed request: base seconds plus a jitter of up to as
 * much again, from any 32 random bits, so that the clients told to wait do
 * not all come back in the same second. */
int goapi_shed_retry_after(int base, apr_uint32_t random_bits);

/* The latency histogram's bucket of us microseconds, and the value the
 * bucket stands for (its middle).  Exposed for the unit tests. */
int goapi_shed_bucket(apr_uint64_t us);
apr_uint64_t goapi_shed_bucket_value(int bucket);

#endif /* GOAPI_SHED_H */
