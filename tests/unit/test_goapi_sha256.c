/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * SHA-256: the FIPS 180-4 / NIST example vectors, padding at the block
 * boundaries, and incremental updates split every possible way.
 */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "goapi_sha256.h"

#define MILLION 1000000

static const char msg448[] =
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char msg896[] =
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

static const char hex_empty[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char hex_abc[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char hex_448[] =
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
static const char hex_896[] =
    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1";
static const char hex_million_a[] =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

static void to_hex(const unsigned char d[GOAPI_SHA256_LEN],
                   char hex[2 * GOAPI_SHA256_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    int i;

    for (i = 0; i < GOAPI_SHA256_LEN; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 0x0f];
    }
    hex[2 * GOAPI_SHA256_LEN] = '\0';
}

static void oneshot_hex(const void *data, apr_size_t len,
                        char hex[2 * GOAPI_SHA256_LEN + 1])
{
    unsigned char d[GOAPI_SHA256_LEN];

    goapi_sha256(data, len, d);
    to_hex(d, hex);
}

/* Two update() calls, the first taking `cut` bytes. */
static void split_hex(const unsigned char *data, apr_size_t len, apr_size_t cut,
                      char hex[2 * GOAPI_SHA256_LEN + 1])
{
    goapi_sha256_ctx ctx;
    unsigned char d[GOAPI_SHA256_LEN];

    goapi_sha256_init(&ctx);
    goapi_sha256_update(&ctx, data, cut);
    goapi_sha256_update(&ctx, data + cut, len - cut);
    goapi_sha256_final(&ctx, d);
    to_hex(d, hex);
}

static void bytewise_hex(const unsigned char *data, apr_size_t len,
                         char hex[2 * GOAPI_SHA256_LEN + 1])
{
    goapi_sha256_ctx ctx;
    unsigned char d[GOAPI_SHA256_LEN];
    apr_size_t i;

    goapi_sha256_init(&ctx);
    for (i = 0; i < len; i++) {
        goapi_sha256_update(&ctx, data + i, 1);
    }
    goapi_sha256_final(&ctx, d);
    to_hex(d, hex);
}

/* A non-repeating-looking byte pattern, so a misplaced byte shows. */
static void pattern(unsigned char *p, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        p[i] = (unsigned char)(i * 31 + 7);
    }
}

static void test_empty(void **state)
{
    char hex[2 * GOAPI_SHA256_LEN + 1];
    goapi_sha256_ctx ctx;
    unsigned char d[GOAPI_SHA256_LEN];

    (void)state;
    oneshot_hex("", 0, hex);
    assert_string_equal(hex, hex_empty);
    /* (NULL, 0) is what an empty brigade hands over */
    oneshot_hex(NULL, 0, hex);
    assert_string_equal(hex, hex_empty);
    goapi_sha256_init(&ctx);
    goapi_sha256_update(&ctx, NULL, 0);
    goapi_sha256_final(&ctx, d);
    to_hex(d, hex);
    assert_string_equal(hex, hex_empty);
}

static void test_abc(void **state)
{
    char hex[2 * GOAPI_SHA256_LEN + 1];

    (void)state;
    oneshot_hex("abc", 3, hex);
    assert_string_equal(hex, hex_abc);
}

static void test_448_bits(void **state)
{
    char hex[2 * GOAPI_SHA256_LEN + 1];

    (void)state;
    assert_int_equal(strlen(msg448), 56);
    oneshot_hex(msg448, strlen(msg448), hex);
    assert_string_equal(hex, hex_448);
}

static void test_896_bits(void **state)
{
    char hex[2 * GOAPI_SHA256_LEN + 1];

    (void)state;
    assert_int_equal(strlen(msg896), 112);
    oneshot_hex(msg896, strlen(msg896), hex);
    assert_string_equal(hex, hex_896);
}

static void test_million_a(void **state)
{
    char hex[2 * GOAPI_SHA256_LEN + 1];
    unsigned char *a = malloc(MILLION);
    goapi_sha256_ctx ctx;
    unsigned char d[GOAPI_SHA256_LEN];
    apr_size_t off, n;

    (void)state;
    assert_non_null(a);
    memset(a, 'a', MILLION);
    oneshot_hex(a, MILLION, hex);
    assert_string_equal(hex, hex_million_a);

    /* again in 997-byte pieces, which straddle every block offset */
    goapi_sha256_init(&ctx);
    for (off = 0; off < MILLION; off += n) {
        n = MILLION - off < 997 ? MILLION - off : 997;
        goapi_sha256_update(&ctx, a + off, n);
    }
    goapi_sha256_final(&ctx, d);
    to_hex(d, hex);
    assert_string_equal(hex, hex_million_a);
    free(a);
}

/*
 * Lengths where the padding changes shape: 55 leaves room for 0x80 and
 * the length, 56..63 push the length into a second block, 64 and 65 fill
 * and spill a whole block.  Reference digests from an independent
 * implementation (Python hashlib) over pattern().
 */
static const struct {
    apr_size_t len;
    const char *hex;
} boundary[] = {
    { 1,   "ca358758f6d27e6cf45272937977a748fd88391db679ceda7dc7bf1f005ee879" },
    { 55,  "8aa994584139d128848eeebc4e815639ba5ab6e6e39574195a63ac4f14f7c43b" },
    { 56,  "ad574708f75c044c9b85de64cb568ee7711ff4f36448c6242f053ba8f6cc2b63" },
    { 63,  "280ed3e8ff1df845b2e7dfe6ac6cee817bef20e783cc65abc41b818b4d2fe076" },
    { 64,  "c6ab9724ade5b6a7a1edfffb12f3aa9181351355af8fd08c919952ad211339dd" },
    { 65,  "788367c73c7ddf4c53f65e68cc0d943e6227ab55b0e78ba63ace822b1c6301c0" },
    { 119, "3d610547d68216dedf7435a4fb6260353911f6b3fd3f18805ddb8be285d726fe" },
    { 120, "1f80156a804cb7862ad113e8200e9d74499723e7c7854d5f48776d3148e09656" },
    { 127, "192409cd280e14b743642ad1343fbd3e82d9305de72c078117745a679210cc3d" },
    { 128, "cc548ca2dec1f6fe4f58b2e27aa9c7521607df1130d140b55a4dad0665302356" },
    { 129, "81e89a7b2911aaa7795f9e3d4910cb47d6cd2b00d83b8399481527261a1a7519" },
};

static void test_block_boundaries_oneshot(void **state)
{
    unsigned char buf[129];
    char hex[2 * GOAPI_SHA256_LEN + 1];
    apr_size_t i;

    (void)state;
    pattern(buf, sizeof(buf));
    for (i = 0; i < UNIT_ELEMS(boundary); i++) {
        oneshot_hex(buf, boundary[i].len, hex);
        if (strcmp(hex, boundary[i].hex) != 0) {
            fail_msg("len %u: got %s, want %s", (unsigned)boundary[i].len,
                     hex, boundary[i].hex);
        }
    }
}

static void test_block_boundaries_every_split(void **state)
{
    unsigned char buf[129];
    char hex[2 * GOAPI_SHA256_LEN + 1];
    apr_size_t i, cut;

    (void)state;
    pattern(buf, sizeof(buf));
    for (i = 0; i < UNIT_ELEMS(boundary); i++) {
        for (cut = 0; cut <= boundary[i].len; cut++) {
            split_hex(buf, boundary[i].len, cut, hex);
            if (strcmp(hex, boundary[i].hex) != 0) {
                fail_msg("len %u split at %u: got %s, want %s",
                         (unsigned)boundary[i].len, (unsigned)cut,
                         hex, boundary[i].hex);
            }
        }
    }
}

static void test_one_byte_at_a_time(void **state)
{
    unsigned char buf[129];
    char hex[2 * GOAPI_SHA256_LEN + 1];
    apr_size_t i;

    (void)state;
    bytewise_hex((const unsigned char *)"abc", 3, hex);
    assert_string_equal(hex, hex_abc);
    bytewise_hex((const unsigned char *)msg448, strlen(msg448), hex);
    assert_string_equal(hex, hex_448);
    bytewise_hex((const unsigned char *)msg896, strlen(msg896), hex);
    assert_string_equal(hex, hex_896);

    pattern(buf, sizeof(buf));
    for (i = 0; i < UNIT_ELEMS(boundary); i++) {
        bytewise_hex(buf, boundary[i].len, hex);
        if (strcmp(hex, boundary[i].hex) != 0) {
            fail_msg("len %u bytewise: got %s, want %s",
                     (unsigned)boundary[i].len, hex, boundary[i].hex);
        }
    }
}

static void test_unaligned_input(void **state)
{
    /* Whole blocks are hashed in place from the caller's buffer: an odd
     * address must give the same digest (and no unaligned load). */
    unsigned char raw[1 + 112];
    char hex[2 * GOAPI_SHA256_LEN + 1];

    (void)state;
    /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): bytes, not a string */
    memcpy(raw + 1, msg896, 112);
    oneshot_hex(raw + 1, 112, hex);
    assert_string_equal(hex, hex_896);
    split_hex(raw + 1, 112, 3, hex);
    assert_string_equal(hex, hex_896);
}

static void test_context_reusable_after_init(void **state)
{
    goapi_sha256_ctx ctx;
    unsigned char d[GOAPI_SHA256_LEN];
    char hex[2 * GOAPI_SHA256_LEN + 1];

    (void)state;
    goapi_sha256_init(&ctx);
    goapi_sha256_update(&ctx, msg896, strlen(msg896));
    goapi_sha256_final(&ctx, d);
    goapi_sha256_init(&ctx);
    goapi_sha256_update(&ctx, "abc", 3);
    goapi_sha256_final(&ctx, d);
    to_hex(d, hex);
    assert_string_equal(hex, hex_abc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_abc),
        cmocka_unit_test(test_448_bits),
        cmocka_unit_test(test_896_bits),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_block_boundaries_oneshot),
        cmocka_unit_test(test_block_boundaries_every_split),
        cmocka_unit_test(test_one_byte_at_a_time),
        cmocka_unit_test(test_unaligned_input),
        cmocka_unit_test(test_context_reusable_after_init),
    };

    return cmocka_run_group_tests_name("goapi_sha256", tests, unit_setup, unit_teardown);
}
