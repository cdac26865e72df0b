/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * SipHash-2-4 against the reference test vectors (key 00 01 .. 0f, the
 * message 00 01 .. of each length; the paper's appendix gives the one of
 * 15 bytes), and the key changing the result.
 */
#include <string.h>

#include "unit.h"
#include "goapi_siphash.h"

static unsigned char key[GOAPI_SIPHASH_KEY_LEN];
static unsigned char msg[64];

static void setup_bytes(void)
{
    int i;

    for (i = 0; i < GOAPI_SIPHASH_KEY_LEN; i++) {
        key[i] = (unsigned char)i;
    }
    for (i = 0; i < 64; i++) {
        msg[i] = (unsigned char)i;
    }
}

static void test_reference_vectors(void **state)
{
    static const struct {
        apr_size_t len;
        apr_uint64_t want;
    } v[] = {
        { 0, APR_UINT64_C(0x726fdb47dd0e0e31) },
        { 1, APR_UINT64_C(0x74f839c593dc67fd) },
        { 2, APR_UINT64_C(0x0d6c8009d9a94f5a) },
        { 3, APR_UINT64_C(0x85676696d7fb7e2d) },
        { 7, APR_UINT64_C(0xab0200f58b01d137) },
        { 8, APR_UINT64_C(0x93f5f5799a932462) },
        { 15, APR_UINT64_C(0xa129ca6149be45e5) },  /* the paper's example */
        { 63, APR_UINT64_C(0x958a324ceb064572) },
    };
    apr_size_t i;

    (void)state;
    setup_bytes();
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_true(goapi_siphash24(key, msg, v[i].len) == v[i].want);
    }
}

static void test_key_matters(void **state)
{
    unsigned char other[GOAPI_SIPHASH_KEY_LEN];
    apr_uint64_t a, b;

    (void)state;
    setup_bytes();
    memcpy(other, key, sizeof(other));
    other[15] ^= 1;
    a = goapi_siphash24(key, "10.0.0.1", 8);
    b = goapi_siphash24(other, "10.0.0.1", 8);
    assert_true(a != b);
    /* the same key and input: the same hash */
    assert_true(a == goapi_siphash24(key, "10.0.0.1", 8));
    /* a byte more changes it */
    assert_true(a != goapi_siphash24(key, "10.0.0.1\0", 9));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_vectors),
        cmocka_unit_test(test_key_matters),
    };

    return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
