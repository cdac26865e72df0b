/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * fuzz.h — shared setup of the libFuzzer targets in tests/fuzz/: APR
 * initialised once, a pool per input, and helpers that hand the code under
 * test exact-size heap copies so that AddressSanitizer sees every overread.
 *
 * Pool memory: APR carves allocations out of 8 KB blocks, inside which
 * AddressSanitizer cannot see an overflow.  This header therefore
 * interposes apr_palloc() (libapr calls it through its PLT too, so
 * apr_pstrdup(), apr_array_push() ... are covered): every allocation from
 * the pool of the input (fuzz_pool()) or its subpools is its own malloc(),
 * freed by a cleanup of that pool.
 *
 * Include it first, in exactly one file per fuzzer.
 */
#ifndef GOAPI_FUZZ_H
#define GOAPI_FUZZ_H

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

/* A violated invariant: say which, then abort() for libFuzzer to report. */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__,       \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

static apr_pool_t *fuzz_root;

/* ---- apr_palloc() interposed -------------------------------------------- */

static void *(*fuzz_real_palloc)(apr_pool_t *, apr_size_t);
static int fuzz_in_palloc;
static apr_pool_t *fuzz_cur;            /* the pool of the current input */

static apr_status_t fuzz_free_cleanup(void *m)
{
    free(m);
    return APR_SUCCESS;
}

void *apr_palloc(apr_pool_t *p, apr_size_t size)
{
    void *m;

    if (fuzz_real_palloc == NULL) {
        fuzz_real_palloc = (void *(*)(apr_pool_t *, apr_size_t))dlsym(RTLD_NEXT, "apr_palloc");
        FUZZ_CHECK(fuzz_real_palloc != NULL);
    }
    /* Only the per-input pools: APR's own (global) ones are left alone.
     * apr_pool_cleanup_register() allocates its record with apr_palloc(). */
    if (fuzz_in_palloc || fuzz_cur == NULL || !apr_pool_is_ancestor(fuzz_cur, p)) {
        return fuzz_real_palloc(p, size);
    }
    m = malloc(size ? size : 1);
    FUZZ_CHECK(m != NULL);
    fuzz_in_palloc = 1;
    apr_pool_cleanup_register(p, m, fuzz_free_cleanup, apr_pool_cleanup_null);
    fuzz_in_palloc = 0;
    return m;
}

/* ---- APR and the per-input pool ---------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (apr_initialize() != APR_SUCCESS
        || apr_pool_create(&fuzz_root, NULL) != APR_SUCCESS) {
        fprintf(stderr, "fuzz: APR initialisation failed\n");
        abort();
    }
    return 0;
}

/* The pool of one input; apr_pool_destroy() it at the end of the input. */
static inline apr_pool_t *fuzz_pool(void)
{
    apr_pool_t *p;

    FUZZ_CHECK(apr_pool_create(&p, fuzz_root) == APR_SUCCESS);
    fuzz_cur = p;
    return p;
}

/* ---- input helpers ------------------------------------------------------ */

/* An exact-size heap copy of n bytes (no terminator: reading past them is
 * an overread), or of n bytes and a NUL when nul is set.  free() it. */
static inline char *fuzz_dup(const void *s, size_t n, int nul)
{
    /* malloc(0) gives a unique pointer (ASan and glibc): nothing readable. */
    char *m = malloc(n + (nul ? 1 : 0));

    FUZZ_CHECK(m != NULL);
    if (n > 0) {
        memcpy(m, s, n);
    }
    if (nul) {
        m[n] = '\0';
    }
    return m;
}

/* A consumer of the input, front to back. */
typedef struct {
    const uint8_t *at;
    size_t left;
} fuzz_input;

static inline uint64_t fuzz_take_u64(fuzz_input *in, int nbytes)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < nbytes && in->left > 0; i++, in->at++, in->left--) {
        v = (v << 8) | *in->at;
    }
    return v;
}

/* The bytes up to the next NUL (or the end), as a NUL-terminated heap
 * copy; the NUL is consumed.  free() it. */
static inline char *fuzz_take_str(fuzz_input *in)
{
    const uint8_t *nul = memchr(in->at, '\0', in->left);
    size_t n = nul ? (size_t)(nul - in->at) : in->left;
    char *s = fuzz_dup(in->at, n, 1);

    in->at += n + (nul ? 1 : 0);
    in->left -= n + (nul ? 1 : 0);
    return s;
}

#endif /* GOAPI_FUZZ_H */
