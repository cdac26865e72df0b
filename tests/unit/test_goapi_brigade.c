/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Bytes kept in a brigade: the memory they take follows how many they are,
 * not the sizes of the reads or writes that brought them.
 */
#include <stddef.h>     /* first: APR's ring macros then use offsetof */
#include <string.h>

#include "unit.h"
#include "goapi_brigade.h"

static apr_bucket_alloc_t *unit_ba;

static apr_bucket_brigade *brigade(void)
{
    if (!unit_ba) {
        unit_ba = apr_bucket_alloc_create(unit_pool);
    }
    return apr_brigade_create(unit_pool, unit_ba);
}

static int buckets(apr_bucket_brigade *bb)
{
    int n = 0;
    apr_bucket *e;

    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb); e = APR_BUCKET_NEXT(e)) {
        n++;
    }
    return n;
}

static char *flat(apr_bucket_brigade *bb, apr_size_t *len)
{
    char *out = NULL;

    assert_int_equal(apr_brigade_pflatten(bb, &out, len, unit_pool), APR_SUCCESS);
    return out;
}

/* A socket read of one byte, as httpd's core makes it: a buffer of
 * APR_BUCKET_BUFF_SIZE holding one byte. */
static apr_bucket *one_byte_read(char c)
{
    char *buf = apr_bucket_alloc(APR_BUCKET_BUFF_SIZE, unit_ba);
    apr_bucket *e = apr_bucket_heap_create(buf, APR_BUCKET_BUFF_SIZE, apr_bucket_free,
                                           unit_ba);

    buf[0] = c;
    e->length = 1;
    return e;
}

static void test_byte_by_byte_is_one_buffer_per_chunk(void **state)
{
    apr_bucket_brigade *bb = brigade();
    const apr_size_t n = 100000;
    apr_size_t i, len;
    char *out;

    (void)state;
    for (i = 0; i < n; i++) {
        char c = (char)('a' + i % 26);

        goapi_brigade_append(bb, &c, 1);
    }
    assert_int_equal(buckets(bb), (n + GOAPI_BRIGADE_CHUNK - 1) / GOAPI_BRIGADE_CHUNK);
    assert_true(goapi_brigade_held(bb) <= n + GOAPI_BRIGADE_CHUNK);
    out = flat(bb, &len);
    assert_int_equal(len, n);
    for (i = 0; i < n; i++) {
        assert_int_equal(out[i], (char)('a' + i % 26));
    }
    apr_brigade_cleanup(bb);
}

static void test_large_append_fills_room_then_one_buffer(void **state)
{
    apr_bucket_brigade *bb = brigade();
    static char big[3 * GOAPI_BRIGADE_CHUNK + 17];
    apr_size_t len;
    char *out;

    (void)state;
    memset(big, 'x', sizeof(big));
    goapi_brigade_append(bb, "head", 4);
    goapi_brigade_append(bb, big, sizeof(big));
    /* the first buffer is filled, the rest in one buffer of its size */
    assert_int_equal(buckets(bb), 2);
    assert_true(goapi_brigade_held(bb) <= 4 + sizeof(big) + GOAPI_BRIGADE_CHUNK);
    out = flat(bb, &len);
    assert_int_equal(len, 4 + sizeof(big));
    assert_memory_equal(out, "head", 4);
    assert_int_equal(out[len - 1], 'x');
    goapi_brigade_append(bb, NULL, 0);
    assert_int_equal(buckets(bb), 2);
    apr_brigade_cleanup(bb);
}

/* A buffer another bucket shares (a split or a copy) is never written
 * into: the bytes after it would show through the other bucket. */
static void test_shared_buffer_left_alone(void **state)
{
    apr_bucket_brigade *bb = brigade();
    apr_bucket *e, *copy = NULL;
    apr_size_t len;
    char *out;

    (void)state;
    goapi_brigade_append(bb, "abc", 3);
    e = APR_BRIGADE_LAST(bb);
    assert_int_equal(apr_bucket_copy(e, &copy), APR_SUCCESS);
    goapi_brigade_append(bb, "def", 3);
    assert_int_equal(buckets(bb), 2);
    assert_int_equal(copy->length, 3);
    out = flat(bb, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(out, "abcdef", 6);
    apr_bucket_destroy(copy);
    /* a bucket that is not heap memory is not written into either */
    apr_brigade_cleanup(bb);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create("imm", 3, unit_ba));
    goapi_brigade_append(bb, "X", 1);
    assert_int_equal(buckets(bb), 2);
    out = flat(bb, &len);
    assert_memory_equal(out, "immX", 4);
    apr_brigade_cleanup(bb);
}

/* What a trickling client's reads become: thousands of one-byte reads,
 * each with a buffer of its own, absorbed into a handful of buffers. */
static void test_absorb_one_byte_reads(void **state)
{
    apr_bucket_brigade *held = brigade(), *reads = brigade();
    const int n = 6000;
    apr_off_t moved = 0, total = 0;
    apr_size_t len;
    int i;

    (void)state;
    for (i = 0; i < n; i++) {
        APR_BRIGADE_INSERT_TAIL(reads, one_byte_read((char)('0' + i % 10)));
        if (i % 7 == 6) {
            assert_int_equal(goapi_brigade_absorb(held, reads, &moved), APR_SUCCESS);
            assert_true(APR_BRIGADE_EMPTY(reads));
            total += moved;
        }
    }
    assert_int_equal(goapi_brigade_absorb(held, reads, &moved), APR_SUCCESS);
    total += moved;
    assert_int_equal(total, n);
    /* kept as reads, 6 000 buffers of 8 000 bytes; absorbed, one */
    assert_int_equal(buckets(held), 1);
    assert_true(goapi_brigade_held(held) <= (apr_size_t)n + GOAPI_BRIGADE_CHUNK);
    (void)flat(held, &len);
    assert_int_equal(len, (apr_size_t)n);
    apr_brigade_cleanup(held);
}

static void test_absorb_keeps_metadata_in_order(void **state)
{
    apr_bucket_brigade *to = brigade(), *from = brigade();
    apr_bucket *e;
    apr_off_t moved;

    (void)state;
    APR_BRIGADE_INSERT_TAIL(from, apr_bucket_immortal_create("ab", 2, unit_ba));
    APR_BRIGADE_INSERT_TAIL(from, apr_bucket_flush_create(unit_ba));
    APR_BRIGADE_INSERT_TAIL(from, apr_bucket_immortal_create("cd", 2, unit_ba));
    APR_BRIGADE_INSERT_TAIL(from, apr_bucket_eos_create(unit_ba));
    assert_int_equal(goapi_brigade_absorb(to, from, &moved), APR_SUCCESS);
    assert_int_equal(moved, 4);
    assert_true(APR_BRIGADE_EMPTY(from));
    e = APR_BRIGADE_FIRST(to);
    assert_true(APR_BUCKET_IS_HEAP(e) && e->length == 2);
    e = APR_BUCKET_NEXT(e);
    assert_true(APR_BUCKET_IS_FLUSH(e));
    e = APR_BUCKET_NEXT(e);
    assert_true(APR_BUCKET_IS_HEAP(e) && e->length == 2);
    e = APR_BUCKET_NEXT(e);
    assert_true(APR_BUCKET_IS_EOS(e));
    assert_true(APR_BUCKET_NEXT(e) == APR_BRIGADE_SENTINEL(to));
    apr_brigade_cleanup(to);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_byte_by_byte_is_one_buffer_per_chunk),
        cmocka_unit_test(test_large_append_fills_room_then_one_buffer),
        cmocka_unit_test(test_shared_buffer_left_alone),
        cmocka_unit_test(test_absorb_one_byte_reads),
        cmocka_unit_test(test_absorb_keeps_metadata_in_order),
    };

    return cmocka_run_group_tests_name("goapi_brigade", tests, unit_setup, unit_teardown);
}
