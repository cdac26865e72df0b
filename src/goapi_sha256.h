/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_sha256.h — SHA-256 (FIPS 180-4), for idempotency fingerprints.
 * Pure: libc and APR types only.  Incremental, so a request body can be
 * hashed brigade by brigade without keeping it whole.
 */
#ifndef GOAPI_SHA256_H
#define GOAPI_SHA256_H

#include <apr.h>

#define GOAPI_SHA256_LEN  32

typedef struct {
    apr_uint32_t h[8];          /* chaining state */
    apr_uint64_t bytes;         /* message length so far */
    unsigned char buf[64];      /* partial block */
    apr_size_t used;            /* bytes in buf */
} goapi_sha256_ctx;

void goapi_sha256_init(goapi_sha256_ctx *ctx);
void goapi_sha256_update(goapi_sha256_ctx *ctx, const void *data, apr_size_t len);
void goapi_sha256_final(goapi_sha256_ctx *ctx, unsigned char out[GOAPI_SHA256_LEN]);

/* One call for a whole buffer. */
void goapi_sha256(const void *data, apr_size_t len, unsigned char out[GOAPI_SHA256_LEN]);

#endif /* GOAPI_SHA256_H */
