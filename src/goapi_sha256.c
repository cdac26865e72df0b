/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_sha256.c — SHA-256 per FIPS 180-4 (see goapi_sha256.h).
 * Input is read byte by byte into big-endian words, so any buffer
 * alignment and either host byte order work.
 */
#include <string.h>

#include "goapi_sha256.h"

/* FIPS 180-4 4.2.2: first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes. */
static const apr_uint32_t goapi_sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u,
    0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u,
    0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu,
    0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u,
    0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u,
    0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u,
    0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u,
    0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

/* n is always 1..31 here, so neither shift is by 0 or 32. */
static apr_uint32_t goapi_sha256_rotr(apr_uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

/* Widen each byte before shifting: an unsigned char promotes to int,
 * and int << 24 can reach the sign bit. */
static apr_uint32_t goapi_sha256_load_be32(const unsigned char *p)
{
    return ((apr_uint32_t)p[0] << 24) | ((apr_uint32_t)p[1] << 16)
         | ((apr_uint32_t)p[2] << 8) | (apr_uint32_t)p[3];
}

static void goapi_sha256_store_be32(unsigned char *p, apr_uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* FIPS 180-4 6.2.2: one 64-byte block into the chaining state. */
static void goapi_sha256_block(apr_uint32_t h[8], const unsigned char *blk)
{
    apr_uint32_t w[64];
    apr_uint32_t a, b, c, d, e, f, g, hh, t1, t2, s0, s1;
    int t;

    for (t = 0; t < 16; t++) {
        w[t] = goapi_sha256_load_be32(blk + 4 * t);
    }
    for (t = 16; t < 64; t++) {
        s0 = goapi_sha256_rotr(w[t - 15], 7) ^ goapi_sha256_rotr(w[t - 15], 18)
           ^ (w[t - 15] >> 3);
        s1 = goapi_sha256_rotr(w[t - 2], 17) ^ goapi_sha256_rotr(w[t - 2], 19)
           ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }

    a = h[0]; b = h[1]; c = h[2]; d = h[3];
    e = h[4]; f = h[5]; g = h[6]; hh = h[7];

    for (t = 0; t < 64; t++) {
        s1 = goapi_sha256_rotr(e, 6) ^ goapi_sha256_rotr(e, 11)
           ^ goapi_sha256_rotr(e, 25);
        t1 = hh + s1 + ((e & f) ^ (~e & g)) + goapi_sha256_k[t] + w[t];
        s0 = goapi_sha256_rotr(a, 2) ^ goapi_sha256_rotr(a, 13)
           ^ goapi_sha256_rotr(a, 22);
        t2 = s0 + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e;
        e = d + t1;
        d = c; c = b; b = a;
        a = t1 + t2;
    }

    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
    h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void goapi_sha256_init(goapi_sha256_ctx *ctx)
{
    /* FIPS 180-4 5.3.3: fractional parts of the square roots of the
     * first 8 primes. */
    static const apr_uint32_t iv[8] = {
        0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
        0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
    };

    memcpy(ctx->h, iv, sizeof(iv));
    ctx->bytes = 0;
    ctx->used = 0;
}

void goapi_sha256_update(goapi_sha256_ctx *ctx, const void *data, apr_size_t len)
{
    const unsigned char *p = data;
    apr_size_t take;

    /* memcpy from NULL is undefined even for 0 bytes; empty brigades
     * may well hand us (NULL, 0). */
    if (len == 0) {
        return;
    }
    ctx->bytes += len;

    if (ctx->used > 0) {
        take = sizeof(ctx->buf) - ctx->used;
        if (take > len) {
            take = len;
        }
        memcpy(ctx->buf + ctx->used, p, take);
        ctx->used += take;
        p += take;
        len -= take;
        if (ctx->used < sizeof(ctx->buf)) {
            return;
        }
        goapi_sha256_block(ctx->h, ctx->buf);
        ctx->used = 0;
    }
    /* Whole blocks straight from the caller's buffer: no copy needed,
     * since the block function reads bytes, not words. */
    while (len >= sizeof(ctx->buf)) {
        goapi_sha256_block(ctx->h, p);
        p += sizeof(ctx->buf);
        len -= sizeof(ctx->buf);
    }
    if (len > 0) {
        memcpy(ctx->buf, p, len);
        ctx->used = len;
    }
}

void goapi_sha256_final(goapi_sha256_ctx *ctx, unsigned char out[GOAPI_SHA256_LEN])
{
    /* Length in bits, mod 2^64 as 5.1.1 allows for at most 2^64-1 bits. */
    apr_uint64_t bits = ctx->bytes << 3;
    int i;

    /* 5.1.1: a 1 bit, zeros up to 56 mod 64, then the 64-bit length;
     * a second block is needed when fewer than 9 bytes are left. */
    ctx->buf[ctx->used++] = 0x80;
    if (ctx->used > 56) {
        memset(ctx->buf + ctx->used, 0, sizeof(ctx->buf) - ctx->used);
        goapi_sha256_block(ctx->h, ctx->buf);
        ctx->used = 0;
    }
    memset(ctx->buf + ctx->used, 0, 56 - ctx->used);
    goapi_sha256_store_be32(ctx->buf + 56, (apr_uint32_t)(bits >> 32));
    goapi_sha256_store_be32(ctx->buf + 60, (apr_uint32_t)bits);
    goapi_sha256_block(ctx->h, ctx->buf);

    for (i = 0; i < 8; i++) {
        goapi_sha256_store_be32(out + 4 * i, ctx->h[i]);
    }
    /* Leave no message bytes behind in a context that may outlive us. */
    memset(ctx, 0, sizeof(*ctx));
}

void goapi_sha256(const void *data, apr_size_t len, unsigned char out[GOAPI_SHA256_LEN])
{
    goapi_sha256_ctx ctx;

    goapi_sha256_init(&ctx);
    goapi_sha256_update(&ctx, data, len);
    goapi_sha256_final(&ctx, out);
}
