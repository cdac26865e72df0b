/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_uuid.h — UUIDv7 (RFC 9562) request IDs without a syscall per ID.
 *
 * Layout of the 128 bits:
 *   48  unix_ts_ms     milliseconds since the epoch (the request's time)
 *    4  ver = 0111
 *   12  rand_a         sub-millisecond fraction (RFC 9562 6.2 method 3)
 *    2  var = 10
 *   32  counter        per generator, starts at a random value, atomic
 *   30  node           per generator, random
 * IDs from one generator with non-decreasing times sort in generation
 * order (until the 32-bit counter wraps); threads share a generator through
 * one atomic increment.  Generators are seeded once per process from the
 * system's random source, so two processes share an ID only if they draw
 * the same 62 random bits and land in the same 244 ns tick.
 */
#ifndef GOAPI_UUID_H
#define GOAPI_UUID_H

#include <apr.h>
#include <apr_time.h>

#include "goapi_defs.h"

typedef struct {
    volatile apr_uint32_t counter;   /* next sequence number */
    apr_uint32_t node;               /* 30 random bits */
} goapi_uuid_gen;

/* Seed a generator from 8 random bytes (4 for the counter, 4 for the node). */
void goapi_uuid_seed(goapi_uuid_gen *g, const unsigned char seed[8]);

/* Seed from apr_generate_random_bytes(); once per process.  Should the
 * system have no random bytes to give, the generator is seeded from now and
 * pid instead (distinct processes of one host still differ) and the error
 * is returned for the caller to report. */
apr_status_t goapi_uuid_seed_random(goapi_uuid_gen *g, apr_time_t now,
                                    apr_uint32_t pid);

/* The fallback seed: node from pid (and time), counter from time. */
void goapi_uuid_seed_weak(goapi_uuid_gen *g, apr_time_t now, apr_uint32_t pid);

/* Write a lowercase canonical UUIDv7 for time now into out, NUL-terminated.
 * Thread-safe; costs one atomic increment. */
void goapi_uuid_v7(goapi_uuid_gen *g, apr_time_t now,
                   char out[GOAPI_UUID_LEN + 1]);

/* 1 when s is a canonical lowercase UUID of version 7 and RFC 9562 variant. */
int goapi_uuid_is_v7(const char *s);

#endif /* GOAPI_UUID_H */
