/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_atomic.h — the atomic operations of the request path's shared
 * counters and tables.  Where the compiler has atomic builtins (GCC,
 * clang) they are inline, each one locked instruction on x86, and no
 * stronger than needed; elsewhere APR's functions, which are full
 * barriers, do the same.
 *
 * goapi_add64/32   add to a counter read alone (relaxed)
 * goapi_read64     a 64-bit word read whole (relaxed)
 * goapi_cas64      compare-and-swap, a full barrier: the value it found
 * goapi_seq_load   a sequence read before the fields it guards (acquire)
 * goapi_seq_take   a sequence made odd, before the fields are written
 *                  (acquire): 1 when taken
 * goapi_seq_store  a sequence made even, after them (release)
 */
#ifndef GOAPI_ATOMIC_H
#define GOAPI_ATOMIC_H

#include <apr.h>
#include <apr_atomic.h>

#if defined(__GNUC__) && defined(__GCC_HAVE_SYNC_COMPARE_AND_SWAP_8)

#define goapi_add64(p, n) ((void)__atomic_fetch_add((p), (apr_uint64_t)(n), __ATOMIC_RELAXED))
#define goapi_add32(p, n) ((void)__atomic_fetch_add((p), (apr_uint32_t)(n), __ATOMIC_RELAXED))
#define goapi_read64(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define goapi_seq_load(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define goapi_seq_store(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static APR_INLINE apr_uint64_t goapi_cas64(volatile apr_uint64_t *p, apr_uint64_t with,
                                           apr_uint64_t cmp)
{
    /* on failure cmp becomes what was there; on success it was that */
    __atomic_compare_exchange_n(p, &cmp, with, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return cmp;
}

static APR_INLINE int goapi_seq_take(volatile apr_uint32_t *p, apr_uint32_t seq)
{
    return __atomic_compare_exchange_n(p, &seq, seq + 1, 0, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

#else

#define goapi_add64(p, n) ((void)apr_atomic_add64((p), (n)))
#define goapi_add32(p, n) ((void)apr_atomic_add32((p), (n)))
#define goapi_read64(p) apr_atomic_read64(p)
#define goapi_cas64(p, with, cmp) apr_atomic_cas64((p), (with), (cmp))
/* a compare-and-swap that changes nothing: a full barrier, then the value */
#define goapi_seq_load(p) apr_atomic_cas32((p), 0, 0)
#define goapi_seq_store(p, v) ((void)apr_atomic_xchg32((p), (v)))

static APR_INLINE int goapi_seq_take(volatile apr_uint32_t *p, apr_uint32_t seq)
{
    return apr_atomic_cas32(p, seq + 1, seq) == seq;
}

#endif

#endif /* GOAPI_ATOMIC_H */
