/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_uuid.c — UUIDv7 generation (see goapi_uuid.h for the bit layout).
 */
#include <apr_atomic.h>
#include <apr_general.h>

#include "goapi_uuid.h"

void goapi_uuid_seed(goapi_uuid_gen *g, const unsigned char seed[8])
{
    g->counter = ((apr_uint32_t)seed[0] << 24) | ((apr_uint32_t)seed[1] << 16)
               | ((apr_uint32_t)seed[2] << 8) | seed[3];
    g->node = (((apr_uint32_t)seed[4] << 24) | ((apr_uint32_t)seed[5] << 16)
               | ((apr_uint32_t)seed[6] << 8) | seed[7]) & 0x3fffffffu;
}

void goapi_uuid_seed_weak(goapi_uuid_gen *g, apr_time_t now, apr_uint32_t pid)
{
    apr_uint64_t t = (apr_uint64_t)now;

    /* Linux pids fit 22 bits: they fill the low node bits, so two live
     * processes never share a node; the start time fills the rest. */
    g->counter = (apr_uint32_t)t;
    g->node = ((pid & 0x3fffffu) | ((apr_uint32_t)(t >> 32) << 22)) & 0x3fffffffu;
}

apr_status_t goapi_uuid_seed_random(goapi_uuid_gen *g, apr_time_t now,
                                    apr_uint32_t pid)
{
    unsigned char seed[8];
    apr_status_t rv = apr_generate_random_bytes(seed, sizeof(seed));

    if (rv == APR_SUCCESS) {
        goapi_uuid_seed(g, seed);
    }
    else {
        goapi_uuid_seed_weak(g, now, pid);
    }
    return rv;
}

static const char goapi_hex[] = "0123456789abcdef";

/* Where the text of each of the 16 bytes begins: 8-4-4-4-12 hex digits. */
static const unsigned char goapi_uuid_at[16] = {
    0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34
};

void goapi_uuid_v7(goapi_uuid_gen *g, apr_time_t now,
                   char out[GOAPI_UUID_LEN + 1])
{
    unsigned char b[16];
    apr_uint64_t ms, lo;
    apr_uint32_t sub, seq;
    int i;

    if (now < 0) {
        now = 0;
    }
    ms = (apr_uint64_t)now / 1000;
    sub = (apr_uint32_t)(((apr_uint64_t)now % 1000) * 4096 / 1000);
    seq = apr_atomic_inc32(&g->counter);
    lo = (APR_UINT64_C(2) << 62) | ((apr_uint64_t)seq << 30) | g->node;

    for (i = 0; i < 6; i++) {
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    }
    b[6] = (unsigned char)(0x70 | (sub >> 8));
    b[7] = (unsigned char)sub;
    for (i = 0; i < 8; i++) {
        b[8 + i] = (unsigned char)(lo >> (56 - 8 * i));
    }

    for (i = 0; i < 16; i++) {
        char *o = out + goapi_uuid_at[i];

        o[0] = goapi_hex[b[i] >> 4];
        o[1] = goapi_hex[b[i] & 0x0f];
    }
    out[8] = out[13] = out[18] = out[23] = '-';
    out[GOAPI_UUID_LEN] = '\0';
}

int goapi_uuid_is_v7(const char *s)
{
    int i;

    for (i = 0; i < GOAPI_UUID_LEN; i++) {
        char c = s[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return 0;
            }
        }
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return s[GOAPI_UUID_LEN] == '\0' && s[14] == '7'
           && (s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b');
}
