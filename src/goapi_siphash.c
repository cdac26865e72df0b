/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_siphash.c — SipHash-2-4 (see goapi_siphash.h): two rounds of
 * SipRound per 8-byte word of the message, four to finish.
 */
#include "goapi_siphash.h"

#define GOAPI_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

#define GOAPI_SIPROUND(v0, v1, v2, v3)                                   \
    do {                                                                 \
        v0 += v1; v1 = GOAPI_ROTL(v1, 13); v1 ^= v0; v0 = GOAPI_ROTL(v0, 32); \
        v2 += v3; v3 = GOAPI_ROTL(v3, 16); v3 ^= v2;                     \
        v0 += v3; v3 = GOAPI_ROTL(v3, 21); v3 ^= v0;                     \
        v2 += v1; v1 = GOAPI_ROTL(v1, 17); v1 ^= v2; v2 = GOAPI_ROTL(v2, 32); \
    } while (0)

/* Eight bytes as a little-endian word, whatever the host's order. */
static apr_uint64_t goapi_le64(const unsigned char *p)
{
    return (apr_uint64_t)p[0] | ((apr_uint64_t)p[1] << 8) | ((apr_uint64_t)p[2] << 16)
           | ((apr_uint64_t)p[3] << 24) | ((apr_uint64_t)p[4] << 32)
           | ((apr_uint64_t)p[5] << 40) | ((apr_uint64_t)p[6] << 48)
           | ((apr_uint64_t)p[7] << 56);
}

apr_uint64_t goapi_siphash24(const unsigned char key[GOAPI_SIPHASH_KEY_LEN],
                             const void *data, apr_size_t len)
{
    const unsigned char *in = data;
    apr_uint64_t k0 = goapi_le64(key), k1 = goapi_le64(key + 8);
    apr_uint64_t v0 = k0 ^ APR_UINT64_C(0x736f6d6570736575);
    apr_uint64_t v1 = k1 ^ APR_UINT64_C(0x646f72616e646f6d);
    apr_uint64_t v2 = k0 ^ APR_UINT64_C(0x6c7967656e657261);
    apr_uint64_t v3 = k1 ^ APR_UINT64_C(0x7465646279746573);
    apr_uint64_t last = (apr_uint64_t)len << 56, m;
    apr_size_t left = len & 7, i;

    for (i = 0; i + 8 <= len; i += 8) {
        m = goapi_le64(in + i);
        v3 ^= m;
        GOAPI_SIPROUND(v0, v1, v2, v3);
        GOAPI_SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    /* the last 0 to 7 bytes, and the length's low byte on top */
    while (left) {
        left--;
        last |= (apr_uint64_t)in[i + left] << (8 * left);
    }
    v3 ^= last;
    GOAPI_SIPROUND(v0, v1, v2, v3);
    GOAPI_SIPROUND(v0, v1, v2, v3);
    v0 ^= last;
    v2 ^= 0xff;
    GOAPI_SIPROUND(v0, v1, v2, v3);
    GOAPI_SIPROUND(v0, v1, v2, v3);
    GOAPI_SIPROUND(v0, v1, v2, v3);
    GOAPI_SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}
