/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_siphash.h — SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed
 * 64-bit hash of short inputs, as a pseudorandom function.  Whoever does
 * not know the 128-bit key cannot choose inputs that collide, nor tell
 * where an input lands, which is what a table indexed by client-chosen
 * keys needs (GoapiMaxInFlightPer), at a fraction of SHA-256's cost.
 * Pure: libc and APR types only.
 */
#ifndef GOAPI_SIPHASH_H
#define GOAPI_SIPHASH_H

#include <apr.h>

#define GOAPI_SIPHASH_KEY_LEN 16

/* SipHash-2-4 of len bytes at data under key (16 bytes), as the reference
 * implementation's 64-bit result (its eight output bytes little-endian). */
apr_uint64_t goapi_siphash24(const unsigned char key[GOAPI_SIPHASH_KEY_LEN],
                             const void *data, apr_size_t len);

#endif /* GOAPI_SIPHASH_H */
