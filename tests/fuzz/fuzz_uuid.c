/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * fuzz_uuid — goapi_uuid_v7() against the RFC 9562 layout, for times and
 * seeds taken from the input (a differential check: the fields are read
 * back from the text and compared with what went in).
 *
 * Input: 8 bytes of seed, then 8-byte big-endian times (at least one).
 */
#include "fuzz.h"

#include "goapi_uuid.h"

static unsigned hexval(char c)
{
    FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    return (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
}

/* The 16 bytes of a canonical UUID, checking its shape on the way. */
static void uuid_bytes(const char *s, unsigned char b[16])
{
    int i, o = 0;

    FUZZ_CHECK(strlen(s) == GOAPI_UUID_LEN);
    for (i = 0; i < GOAPI_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            FUZZ_CHECK(s[i] == '-');
            continue;
        }
        b[o / 2] = (unsigned char)(o % 2 ? b[o / 2] | hexval(s[i]) : hexval(s[i]) << 4);
        o++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = { data, size };
    unsigned char seed[8] = { 0 };
    goapi_uuid_gen g;
    apr_uint32_t counter, node;
    char prev[GOAPI_UUID_LEN + 1] = "";
    apr_time_t prev_t = 0;
    int k;

    memcpy(seed, data, size < 8 ? size : 8);
    in.at += size < 8 ? size : 8;
    in.left -= size < 8 ? size : 8;
    goapi_uuid_seed(&g, seed);
    counter = g.counter;
    node = g.node;
    FUZZ_CHECK(node <= 0x3fffffffu);

    for (k = 0; k == 0 || (in.left > 0 && k < 64); k++) {
        apr_time_t now = (apr_time_t)fuzz_take_u64(&in, 8);
        apr_time_t t = now < 0 ? 0 : now;
        char id[GOAPI_UUID_LEN + 2];
        unsigned char b[16];
        apr_uint64_t ms = 0, lo = 0;
        int i;

        id[GOAPI_UUID_LEN + 1] = 'X';           /* nothing written past the NUL */
        goapi_uuid_v7(&g, now, id);
        FUZZ_CHECK(id[GOAPI_UUID_LEN] == '\0' && id[GOAPI_UUID_LEN + 1] == 'X');
        FUZZ_CHECK(goapi_uuid_is_v7(id));
        uuid_bytes(id, b);
        for (i = 0; i < 6; i++) {
            ms = ms << 8 | b[i];
        }
        for (i = 8; i < 16; i++) {
            lo = lo << 8 | b[i];
        }
        /* unix_ts_ms: the time passed in (its low 48 bits) */
        FUZZ_CHECK(ms == ((apr_uint64_t)t / 1000 & APR_UINT64_C(0xffffffffffff)));
        FUZZ_CHECK(b[6] >> 4 == 7);                             /* ver */
        FUZZ_CHECK((unsigned)(((b[6] & 0x0f) << 8) | b[7])      /* rand_a */
                   == (unsigned)((apr_uint64_t)t % 1000 * 4096 / 1000));
        FUZZ_CHECK(b[8] >> 6 == 2);                             /* var = 10 */
        FUZZ_CHECK((apr_uint32_t)(lo >> 30) == counter + (apr_uint32_t)k);
        FUZZ_CHECK((lo & 0x3fffffffu) == node);
        /* same generator, non-decreasing time (within 48 bits), no counter
         * wrap: the IDs sort in generation order */
        if (k > 0 && t >= prev_t && (apr_uint64_t)t / 1000 < (APR_UINT64_C(1) << 48)
            && counter + (apr_uint32_t)k > counter) {
            FUZZ_CHECK(strcmp(prev, id) < 0);
        }
        memcpy(prev, id, sizeof(prev));
        prev_t = t;
    }
    return 0;
}
