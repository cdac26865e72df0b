/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_siphash.c — SipHash-2-4 (see goapi_siphash.h): two rounds of
 * SipRound per 8-byte word of the message, four to finish.
 */
#include "goapi_siphash.h"

static apr_uint64_t goapi_rotl(apr_uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

/* One SipRound on the state v[0..3]: inline, so that the state stays in
 * registers. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static APR_INLINE void goapi_sipround(apr_uint64_t *v)
{
    v[0] += v[1];
    v[1] = goapi_rotl(v[1], 13);
    v[1] ^= v[0];
    v[0] = goapi_rotl(v[0], 32);
    v[2] += v[3];
    v[3] = goapi_rotl(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = goapi_rotl(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = goapi_rotl(v[1], 17);
    v[1] ^= v[2];
    v[2] = goapi_rotl(v[2], 32);
}

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
    apr_uint64_t v[4], last = (apr_uint64_t)len << 56, m;
    apr_size_t left = len & 7, i;

    v[0] = k0 ^ APR_UINT64_C(0x736f6d6570736575);
    v[1] = k1 ^ APR_UINT64_C(0x646f72616e646f6d);
    v[2] = k0 ^ APR_UINT64_C(0x6c7967656e657261);
    v[3] = k1 ^ APR_UINT64_C(0x7465646279746573);
    for (i = 0; i + 8 <= len; i += 8) {
        m = goapi_le64(in + i);
        v[3] ^= m;
        goapi_sipround(v);
        goapi_sipround(v);
        v[0] ^= m;
    }
    /* the last 0 to 7 bytes, and the length's low byte on top */
    while (left) {
        left--;
        last |= (apr_uint64_t)in[i + left] << (8 * left);
    }
    v[3] ^= last;
    goapi_sipround(v);
    goapi_sipround(v);
    v[0] ^= last;
    v[2] ^= 0xff;
    for (i = 0; i < 4; i++) {
        goapi_sipround(v);
    }
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}
