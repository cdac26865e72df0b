/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * Idempotency records: codec (round trips, refusals, every truncation, a
 * fuzz loop), ledger key, request fingerprint and the replayed headers.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_tables.h>

#include "unit.h"
#include "goapi_defs.h"
#include "goapi_idem.h"

/* Offsets of the version 2 layout (see goapi_idem.c). */
#define OFF_VERSION   3
#define OFF_STATE     4
#define OFF_FLAGS     5
#define OFF_EXPIRES  22
#define OFF_LEASE    30
#define OFF_FP       38
#define OFF_STATUS   70
#define OFF_COUNT    72
#define OFF_HEADERS  74
#define MIN_LEN      78
/* Version 1 had no lease: everything from the fingerprint on sits 8 bytes
 * earlier. */
#define V1_SHIFT      8

static const char body_bytes[] = "{\"id\":42}\0\x01\xff\0tail";
#define BODY_LEN (sizeof(body_bytes) - 1)

static apr_array_header_t *headers_of(apr_pool_t *p, const char *const *pairs, int n)
{
    apr_array_header_t *a = apr_array_make(p, n, sizeof(goapi_idem_header));
    int i;

    for (i = 0; i < n; i++) {
        goapi_idem_header *h = apr_array_push(a);

        h->name = pairs[2 * i];
        h->value = pairs[2 * i + 1];
    }
    return a;
}

static void le(unsigned char *b, apr_uint64_t v, int n)
{
    int i;

    for (i = 0; i < n; i++, v >>= 8) {
        b[i] = (unsigned char)(v & 0xFF);
    }
}

static void in_flight_record(goapi_idem_record *rec)
{
    memset(rec, 0, sizeof(*rec));
    rec->state = GOAPI_IDEM_IN_FLIGHT;
    rec->claim_id = APR_UINT64_C(0x0102030405060708);
    rec->created = APR_INT64_C(0x1122334455667788);
    rec->expires = -2;
    rec->lease_end = APR_INT64_C(0x0A0B0C0D0E0F1011);
    memset(rec->fingerprint, 0xAB, sizeof(rec->fingerprint));
}

static void completed_record(goapi_idem_record *rec, apr_pool_t *p)
{
    static const char *const pairs[] = {
        "Content-Type", "application/json; charset=utf-8",
        "Location", "/orders/42",
        "Set-Cookie", "a=1; Path=/",
        "Set-Cookie", "b=2; HttpOnly",
        "ETag", "\"v1\"",
        "X-Empty", "",
        "!#$%&'*+-.^_`|~09AZaz", "obs-text \x80\xff and\ttab",
    };
    int i;

    memset(rec, 0, sizeof(*rec));
    rec->state = GOAPI_IDEM_COMPLETED;
    rec->flags = GOAPI_IDEM_F_REPLAYABLE;
    rec->claim_id = APR_UINT64_C(0xFFFFFFFFFFFFFFFE);
    rec->created = APR_INT64_C(1700000000123456);
    rec->expires = rec->created + APR_INT64_C(86400000000);
    rec->lease_end = rec->created + APR_INT64_C(60000000);
    for (i = 0; i < GOAPI_SHA256_LEN; i++) {
        rec->fingerprint[i] = (unsigned char)(i * 7 + 1);
    }
    rec->status = 201;
    rec->headers = headers_of(p, pairs, (int)(UNIT_ELEMS(pairs) / 2));
    rec->body = body_bytes;
    rec->body_len = BODY_LEN;
}

/* Completed, status 201, one header "X-Ab: v1", body "hello": 93 bytes,
 * name length at 74, name at 76, value length at 80, value at 82, body
 * length at 84, body at 88. */
static void small_record(goapi_idem_record *rec, apr_pool_t *p)
{
    static const char *const pairs[] = { "X-Ab", "v1" };

    memset(rec, 0, sizeof(*rec));
    rec->state = GOAPI_IDEM_COMPLETED;
    rec->status = 201;
    rec->headers = headers_of(p, pairs, 1);
    rec->body = "hello";
    rec->body_len = 5;
}
#define SMALL_LEN 93
#define OFF_NAME_LEN  74
#define OFF_NAME      76
#define OFF_VALUE_LEN 80
#define OFF_VALUE     82
#define OFF_BODY_LEN  84

static unsigned char *encode(const goapi_idem_record *rec, apr_size_t *len)
{
    unsigned char *buf;

    *len = goapi_idem_encoded_size(rec);
    assert_true(*len >= MIN_LEN);
    buf = apr_palloc(unit_pool, *len);
    goapi_idem_encode(rec, buf);
    return buf;
}

/* Decode from a heap copy of exactly len bytes, freed before returning, so
 * ASan sees any read past the end and any pointer kept into the input. */
static apr_status_t decode_copy(goapi_idem_record *rec, const unsigned char *bytes,
                                apr_size_t len, apr_pool_t *p)
{
    unsigned char *copy = malloc(len ? len : 1);
    apr_status_t rv;

    assert_non_null(copy);
    if (len > 0) {
        memcpy(copy, bytes, len);
    }
    rv = goapi_idem_decode(rec, copy, len, p);
    memset(copy, 0x5A, len);
    free(copy);
    return rv;
}

/* in with del bytes at offset at replaced by ins. */
static unsigned char *splice(const unsigned char *in, apr_size_t n, apr_size_t at,
                             apr_size_t del, const void *ins, apr_size_t ins_len,
                             apr_size_t *out_len)
{
    unsigned char *out = apr_palloc(unit_pool, n - del + ins_len);

    memcpy(out, in, at);
    memcpy(out + at, ins, ins_len);
    memcpy(out + at + ins_len, in + at + del, n - at - del);
    *out_len = n - del + ins_len;
    return out;
}

static void assert_same_record(const goapi_idem_record *got, const goapi_idem_record *want)
{
    int i, n = want->headers ? want->headers->nelts : 0;

    assert_int_equal(got->state, want->state);
    assert_int_equal(got->flags, want->flags);
    assert_true(got->claim_id == want->claim_id);
    assert_true(got->created == want->created);
    assert_true(got->expires == want->expires);
    assert_true(got->lease_end == want->lease_end);
    assert_memory_equal(got->fingerprint, want->fingerprint, GOAPI_SHA256_LEN);
    assert_int_equal(got->status, want->status);
    assert_non_null(got->headers);
    assert_int_equal(got->headers->nelts, n);
    for (i = 0; i < n; i++) {
        const goapi_idem_header *g = &APR_ARRAY_IDX(got->headers, i, goapi_idem_header);
        const goapi_idem_header *w = &APR_ARRAY_IDX(want->headers, i, goapi_idem_header);

        assert_string_equal(g->name, w->name);
        assert_string_equal(g->value, w->value);
    }
    assert_int_equal(got->body_len, want->body_len);
    /* Documented: the decoded body is never NULL and is NUL-terminated. */
    assert_non_null(got->body);
    assert_int_equal(got->body[got->body_len], '\0');
    if (want->body_len > 0) {
        assert_memory_equal(got->body, want->body, want->body_len);
    }
}

/* ---- round trips ------------------------------------------------------ */

static void test_in_flight_round_trip(void **state)
{
    /* The whole encoding, pinned: a change of layout must be deliberate. */
    static const unsigned char head[OFF_FP] = {
        'G', 'I', 'R', 2, 1, 0,
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
        0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0x11, 0x10, 0x0F, 0x0E, 0x0D, 0x0C, 0x0B, 0x0A,
    };
    unsigned char want[MIN_LEN];
    goapi_idem_record rec, got;
    unsigned char *buf;
    apr_size_t len;

    (void)state;
    in_flight_record(&rec);
    memcpy(want, head, sizeof(head));
    memset(want + OFF_FP, 0xAB, GOAPI_SHA256_LEN);
    memset(want + OFF_STATUS, 0, MIN_LEN - OFF_STATUS);

    buf = encode(&rec, &len);
    assert_int_equal(len, MIN_LEN);
    assert_memory_equal(buf, want, MIN_LEN);

    assert_int_equal(decode_copy(&got, buf, len, unit_pool), APR_SUCCESS);
    assert_same_record(&got, &rec);
    assert_int_equal(got.headers->nelts, 0);
    assert_string_equal(got.body, "");
}

static void test_completed_round_trip(void **state)
{
    goapi_idem_record rec, got;
    unsigned char *buf, *again;
    apr_size_t len, want = MIN_LEN + BODY_LEN;
    int i;

    (void)state;
    completed_record(&rec, unit_pool);
    for (i = 0; i < rec.headers->nelts; i++) {
        const goapi_idem_header *h = &APR_ARRAY_IDX(rec.headers, i, goapi_idem_header);

        want += 2 + strlen(h->name) + 2 + strlen(h->value);
    }
    buf = encode(&rec, &len);
    assert_int_equal(len, want);
    assert_int_equal(buf[OFF_STATE], GOAPI_IDEM_COMPLETED);
    assert_int_equal(buf[OFF_FLAGS], GOAPI_IDEM_F_REPLAYABLE);
    assert_int_equal(buf[OFF_STATUS], 201);
    assert_int_equal(buf[OFF_STATUS + 1], 0);
    assert_int_equal(buf[OFF_COUNT], 7);
    assert_int_equal(buf[len - BODY_LEN - 4], BODY_LEN);
    assert_memory_equal(buf + len - BODY_LEN, body_bytes, BODY_LEN);

    assert_int_equal(decode_copy(&got, buf, len, unit_pool), APR_SUCCESS);
    assert_same_record(&got, &rec);

    /* One encoding per record: the decoded record encodes to the same bytes. */
    assert_int_equal(goapi_idem_encoded_size(&got), len);
    again = apr_palloc(unit_pool, len);
    goapi_idem_encode(&got, again);
    assert_memory_equal(again, buf, len);
}

static void test_limits_round_trip(void **state)
{
    goapi_idem_record rec, got;
    const char **pairs = apr_palloc(unit_pool, 2 * GOAPI_IDEM_MAX_HEADERS * sizeof(char *));
    char *longest = apr_palloc(unit_pool, GOAPI_IDEM_MAX_HEADER_BYTES + 1);
    unsigned char *buf;
    apr_size_t len;
    int i;

    (void)state;
    memset(longest, 'n', GOAPI_IDEM_MAX_HEADER_BYTES);
    longest[GOAPI_IDEM_MAX_HEADER_BYTES] = '\0';
    for (i = 0; i < GOAPI_IDEM_MAX_HEADERS; i++) {
        pairs[2 * i] = i == 0 ? longest : "X";
        pairs[2 * i + 1] = i == 1 ? longest : "";
    }
    small_record(&rec, unit_pool);
    rec.status = 599;
    rec.flags = 0xFF;
    rec.headers = headers_of(unit_pool, pairs, GOAPI_IDEM_MAX_HEADERS);
    buf = encode(&rec, &len);
    assert_int_equal(len, MIN_LEN + 5 + 4 * GOAPI_IDEM_MAX_HEADERS + 2 * GOAPI_IDEM_MAX_HEADER_BYTES
                     + (GOAPI_IDEM_MAX_HEADERS - 1));
    assert_int_equal(decode_copy(&got, buf, len, unit_pool), APR_SUCCESS);
    assert_same_record(&got, &rec);

    rec.status = 100;
    rec.headers = NULL;
    rec.body = NULL;
    rec.body_len = 0;
    buf = encode(&rec, &len);
    assert_int_equal(len, MIN_LEN);
    assert_int_equal(decode_copy(&got, buf, len, unit_pool), APR_SUCCESS);
    assert_int_equal(got.status, 100);
    assert_int_equal(got.headers->nelts, 0);
}

/* A record written by version 1 (no lease) still decodes: in flight, its
 * lease ends where its life used to, and it is kept the default TTL after
 * that; completed, nothing changes.  It encodes as version 2. */
static void test_version_1_records(void **state)
{
    goapi_idem_record rec, got;
    unsigned char *buf, *v1;
    apr_size_t len, n;

    (void)state;
    in_flight_record(&rec);
    rec.expires = APR_INT64_C(1700000060000000);
    buf = encode(&rec, &len);
    v1 = splice(buf, len, OFF_LEASE, V1_SHIFT, "", 0, &n);
    v1[OFF_VERSION] = 1;
    assert_int_equal(n, MIN_LEN - V1_SHIFT);
    assert_int_equal(decode_copy(&got, v1, n, unit_pool), APR_SUCCESS);
    assert_int_equal(got.state, GOAPI_IDEM_IN_FLIGHT);
    assert_true(got.lease_end == APR_INT64_C(1700000060000000));
    assert_true(got.expires == APR_INT64_C(1700000060000000) + GOAPI_DEFAULT_IDEM_TTL);
    assert_true(got.claim_id == rec.claim_id && got.created == rec.created);
    assert_memory_equal(got.fingerprint, rec.fingerprint, GOAPI_SHA256_LEN);
    assert_int_equal(goapi_idem_encoded_size(&got), MIN_LEN);
    buf = encode(&got, &len);
    assert_int_equal(buf[OFF_VERSION], 2);

    /* a kept time is never wrapped into the past */
    rec.expires = APR_INT64_MAX - 5;
    buf = encode(&rec, &len);
    v1 = splice(buf, len, OFF_LEASE, V1_SHIFT, "", 0, &n);
    v1[OFF_VERSION] = 1;
    assert_int_equal(decode_copy(&got, v1, n, unit_pool), APR_SUCCESS);
    assert_true(got.expires == APR_INT64_MAX);

    completed_record(&rec, unit_pool);
    buf = encode(&rec, &len);
    v1 = splice(buf, len, OFF_LEASE, V1_SHIFT, "", 0, &n);
    v1[OFF_VERSION] = 1;
    assert_int_equal(decode_copy(&got, v1, n, unit_pool), APR_SUCCESS);
    assert_true(got.expires == rec.expires);
    assert_true(got.lease_end == rec.expires);
    assert_int_equal(got.status, 201);
    assert_int_equal(got.body_len, BODY_LEN);
    /* and cut anywhere, it is refused */
    for (len = 0; len < n; len++) {
        if (decode_copy(&got, v1, len, unit_pool) != APR_EINVAL) {
            fail_msg("version 1: %u of %u bytes accepted", (unsigned)len, (unsigned)n);
        }
    }
}

/* ---- verdicts and digests ---------------------------------------------- */

static void test_judge(void **state)
{
    static const struct {
        const char *what;
        int state;
        unsigned flags;
        apr_time_t lease_end;
        int same_fp;
        goapi_idem_verdict want;
    } cases[] = {
        { "completed, kept", GOAPI_IDEM_COMPLETED, GOAPI_IDEM_F_REPLAYABLE, 0, 1,
          GOAPI_HELD_REPLAY },
        { "completed, not kept", GOAPI_IDEM_COMPLETED, 0, 0, 1, GOAPI_HELD_NOT_REPLAYABLE },
        { "completed, lease long over", GOAPI_IDEM_COMPLETED, 0, 1, 1,
          GOAPI_HELD_NOT_REPLAYABLE },
        { "in flight, lease ahead", GOAPI_IDEM_IN_FLIGHT, 0, 1001, 1,
          GOAPI_HELD_IN_PROGRESS },
        { "in flight, lease ends now", GOAPI_IDEM_IN_FLIGHT, 0, 1000, 1,
          GOAPI_HELD_OUTCOME_UNKNOWN },
        { "in flight, lease over", GOAPI_IDEM_IN_FLIGHT, 0, 10, 1,
          GOAPI_HELD_OUTCOME_UNKNOWN },
        { "another request, in flight", GOAPI_IDEM_IN_FLIGHT, 0, 1001, 0, GOAPI_HELD_REUSED },
        { "another request, unknown", GOAPI_IDEM_IN_FLIGHT, 0, 10, 0, GOAPI_HELD_REUSED },
        { "another request, completed", GOAPI_IDEM_COMPLETED, GOAPI_IDEM_F_REPLAYABLE, 0, 0,
          GOAPI_HELD_REUSED },
    };
    unsigned char fp[GOAPI_SHA256_LEN];
    goapi_idem_record held;
    apr_size_t i;

    (void)state;
    memset(fp, 0x42, sizeof(fp));
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        memset(&held, 0, sizeof(held));
        held.state = (goapi_idem_state)cases[i].state;
        held.flags = cases[i].flags;
        held.lease_end = cases[i].lease_end;
        held.expires = 5000;
        memset(held.fingerprint, cases[i].same_fp ? 0x42 : 0x43, GOAPI_SHA256_LEN);
        if (goapi_idem_judge(&held, fp, 1000) != cases[i].want) {
            fail_msg("%s: verdict %d, want %d", cases[i].what,
                     (int)goapi_idem_judge(&held, fp, 1000), (int)cases[i].want);
        }
    }
}

static void test_key_digest(void **state)
{
    char out[GOAPI_IDEM_DIGEST_LEN + 1];

    (void)state;
    /* FIPS 180-2's "abc": ba7816bf8f01cfea414140de5dae2223... */
    goapi_idem_key_digest(out, "abc");
    assert_string_equal(out, "ba7816bf8f01");
    /* sha256 of "" is e3b0c44298fc1c149afbf4c8996fb924... */
    goapi_idem_key_digest(out, "");
    assert_string_equal(out, "e3b0c44298fc");
    {
        static const unsigned char in[] = { 0x00, 0x0f, 0xa5, 0xff };
        char hex[9];

        *goapi_idem_hex(in, sizeof(in), hex) = '\0';
        assert_string_equal(hex, "000fa5ff");
    }
    goapi_idem_key_digest(out, "8e03978e-40d5-43e8-bc93-6894a57f9324");
    assert_int_equal(strlen(out), GOAPI_IDEM_DIGEST_LEN);
    assert_null(strstr(out, "8e03978e"));
}

/* ---- records that must not be stored ---------------------------------- */

static void test_size_bad_state_status(void **state)
{
    static const struct {
        int state;
        int status;
    } cases[] = {
        { 0, 200 }, { 3, 200 }, { 255, 200 },
        { GOAPI_IDEM_COMPLETED, 99 }, { GOAPI_IDEM_COMPLETED, 600 },
        { GOAPI_IDEM_COMPLETED, 0 }, { GOAPI_IDEM_COMPLETED, -200 },
        { GOAPI_IDEM_COMPLETED, 65536 + 200 },      /* 200 once cut to u16 */
        { GOAPI_IDEM_IN_FLIGHT, 200 }, { GOAPI_IDEM_IN_FLIGHT, -1 },
    };
    goapi_idem_record rec;
    apr_size_t i;

    (void)state;
    small_record(&rec, unit_pool);
    assert_int_equal(goapi_idem_encoded_size(&rec), SMALL_LEN);
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        rec.state = (goapi_idem_state)cases[i].state;
        rec.status = cases[i].status;
        if (goapi_idem_encoded_size(&rec) != 0) {
            fail_msg("case %u (state %d, status %d) accepted", (unsigned)i,
                     cases[i].state, cases[i].status);
        }
    }
}

static void test_size_bad_headers(void **state)
{
    static const char *const cases[][2] = {
        { "", "v" }, { "X A", "v" }, { "X:A", "v" }, { "X-A:", "v" },
        { " X", "v" }, { "X\tA", "v" }, { "X\r\nY", "v" }, { "(x)", "v" },
        { "x/y", "v" }, { "\"q\"", "v" }, { "caf\xc3\xa9", "v" }, { "X\x7f", "v" },
        { "X", "a\rb" }, { "X", "a\nb" }, { "X", "\r" },
        { "X", "a\r\nSet-Cookie: x=1" },
        { NULL, "v" }, { "X", NULL },
        /* A value with NUL cannot be a C string: decode tests cover it. */
    };
    char *too_long = apr_palloc(unit_pool, GOAPI_IDEM_MAX_HEADER_BYTES + 2);
    const char *pairs[4] = { "Content-Type", "text/plain", "X-Ok", "ok" };
    goapi_idem_record rec;
    apr_size_t i;

    (void)state;
    small_record(&rec, unit_pool);
    rec.headers = headers_of(unit_pool, pairs, 2);
    assert_true(goapi_idem_encoded_size(&rec) > 0);
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        /* the bad header second, so a check that stops early misses it */
        pairs[2] = cases[i][0];
        pairs[3] = cases[i][1];
        rec.headers = headers_of(unit_pool, pairs, 2);
        if (goapi_idem_encoded_size(&rec) != 0) {
            fail_msg("case %u accepted", (unsigned)i);
        }
    }

    memset(too_long, 'a', GOAPI_IDEM_MAX_HEADER_BYTES + 1);
    too_long[GOAPI_IDEM_MAX_HEADER_BYTES + 1] = '\0';
    pairs[2] = too_long;
    pairs[3] = "v";
    rec.headers = headers_of(unit_pool, pairs, 2);
    assert_int_equal(goapi_idem_encoded_size(&rec), 0);
    pairs[2] = "X";
    pairs[3] = too_long;
    rec.headers = headers_of(unit_pool, pairs, 2);
    assert_int_equal(goapi_idem_encoded_size(&rec), 0);
}

static void test_size_bad_count_body_flags(void **state)
{
    goapi_idem_record rec;
    goapi_idem_header *h;
    int i;

    (void)state;
    small_record(&rec, unit_pool);
    rec.headers = apr_array_make(unit_pool, 1, sizeof(goapi_idem_header));
    for (i = 0; i < GOAPI_IDEM_MAX_HEADERS; i++) {
        h = apr_array_push(rec.headers);
        h->name = "X";
        h->value = "";
    }
    assert_int_equal(goapi_idem_encoded_size(&rec),
                     MIN_LEN + 5 + 5 * GOAPI_IDEM_MAX_HEADERS);
    h = apr_array_push(rec.headers);
    h->name = "X";
    h->value = "";
    assert_int_equal(goapi_idem_encoded_size(&rec), 0);

    /* an array of something else than goapi_idem_header */
    rec.headers = apr_array_make(unit_pool, 1, sizeof(char *));
    APR_ARRAY_PUSH(rec.headers, const char *) = "X";
    assert_int_equal(goapi_idem_encoded_size(&rec), 0);

    small_record(&rec, unit_pool);
    rec.body = NULL;
    assert_int_equal(goapi_idem_encoded_size(&rec), 0);
    rec.body_len = 0;
    assert_int_equal(goapi_idem_encoded_size(&rec), SMALL_LEN - 5);

    /* The size is computed without reading the body. */
    if (sizeof(apr_size_t) > 4) {
        rec.body = "x";
        rec.body_len = (apr_size_t)APR_UINT64_C(0xFFFFFFFF);
        assert_int_equal(goapi_idem_encoded_size(&rec),
                         SMALL_LEN - 5 + (apr_size_t)APR_UINT64_C(0xFFFFFFFF));
        rec.body_len = (apr_size_t)APR_UINT64_C(0x100000000);
        assert_int_equal(goapi_idem_encoded_size(&rec), 0);
    }

    small_record(&rec, unit_pool);
    rec.flags = 0x100;
    assert_int_equal(goapi_idem_encoded_size(&rec), 0);
}

/* ---- hostile input ---------------------------------------------------- */

static void test_decode_every_truncation(void **state)
{
    goapi_idem_record rec, got;
    unsigned char *buf;
    apr_size_t len, n;

    (void)state;
    completed_record(&rec, unit_pool);
    buf = encode(&rec, &len);
    for (n = 0; n < len; n++) {
        if (decode_copy(&got, buf, n, unit_pool) != APR_EINVAL) {
            fail_msg("%u of %u bytes accepted", (unsigned)n, (unsigned)len);
        }
    }
    assert_int_equal(decode_copy(&got, buf, len, unit_pool), APR_SUCCESS);

    in_flight_record(&rec);
    buf = encode(&rec, &len);
    for (n = 0; n < len; n++) {
        if (decode_copy(&got, buf, n, unit_pool) != APR_EINVAL) {
            fail_msg("in flight: %u of %u bytes accepted", (unsigned)n, (unsigned)len);
        }
    }
}

static void test_decode_trailing_byte(void **state)
{
    goapi_idem_record rec, got;
    unsigned char *buf, *longer;
    apr_size_t len, n;

    (void)state;
    completed_record(&rec, unit_pool);
    buf = encode(&rec, &len);
    longer = splice(buf, len, len, 0, "\0", 1, &n);
    assert_int_equal(decode_copy(&got, longer, n, unit_pool), APR_EINVAL);

    in_flight_record(&rec);
    buf = encode(&rec, &len);
    longer = splice(buf, len, len, 0, "x", 1, &n);
    assert_int_equal(decode_copy(&got, longer, n, unit_pool), APR_EINVAL);
}

typedef struct {
    const char *what;
    apr_size_t at;
    unsigned char bytes[4];
    apr_size_t n;
} patch_case;

static void test_decode_patched(void **state)
{
    static const patch_case cases[] = {
        { "magic 0", 0, { 'g' }, 1 },
        { "magic 1", 1, { 'i' }, 1 },
        { "magic 2", 2, { 'R' + 1 }, 1 },
        { "version 0", OFF_VERSION, { 0 }, 1 },
        { "version 3", OFF_VERSION, { 3 }, 1 },
        { "version 255", OFF_VERSION, { 255 }, 1 },
        { "state 0", OFF_STATE, { 0 }, 1 },
        { "state 3", OFF_STATE, { 3 }, 1 },
        { "state 255", OFF_STATE, { 255 }, 1 },
        { "in flight with a status", OFF_STATE, { GOAPI_IDEM_IN_FLIGHT }, 1 },
        { "status 99", OFF_STATUS, { 99, 0 }, 2 },
        { "status 600", OFF_STATUS, { 600 & 0xFF, 600 >> 8 }, 2 },
        { "status 0", OFF_STATUS, { 0, 0 }, 2 },
        { "status 65535", OFF_STATUS, { 0xFF, 0xFF }, 2 },
        { "name with space", OFF_NAME + 1, { ' ' }, 1 },
        { "name with colon", OFF_NAME + 3, { ':' }, 1 },
        { "name with NUL", OFF_NAME, { 0 }, 1 },
        { "name with DEL", OFF_NAME + 1, { 0x7F }, 1 },
        { "name with 8-bit", OFF_NAME + 1, { 0xC3 }, 1 },
        { "value with CR", OFF_VALUE, { '\r' }, 1 },
        { "value with LF", OFF_VALUE + 1, { '\n' }, 1 },
        { "value with NUL", OFF_VALUE, { 0 }, 1 },
        { "count 101", OFF_COUNT, { 101, 0 }, 2 },
        { "count 65535", OFF_COUNT, { 0xFF, 0xFF }, 2 },
        { "name length one past the end", OFF_NAME_LEN, { SMALL_LEN - OFF_NAME + 1, 0 }, 2 },
        { "name length 65535", OFF_NAME_LEN, { 0xFF, 0xFF }, 2 },
        { "value length one past the end", OFF_VALUE_LEN,
          { SMALL_LEN - OFF_VALUE + 1, 0 }, 2 },
        { "value length 65535", OFF_VALUE_LEN, { 0xFF, 0xFF }, 2 },
        { "body length one past the end", OFF_BODY_LEN, { 6, 0, 0, 0 }, 4 },
        { "body length 2^32-1", OFF_BODY_LEN, { 0xFF, 0xFF, 0xFF, 0xFF }, 4 },
        { "body length one short", OFF_BODY_LEN, { 4, 0, 0, 0 }, 4 },
    };
    goapi_idem_record rec, got;
    unsigned char *buf, *bad;
    apr_size_t len, i;

    (void)state;
    small_record(&rec, unit_pool);
    buf = encode(&rec, &len);
    assert_int_equal(len, SMALL_LEN);
    assert_memory_equal(buf + OFF_NAME_LEN, "\x04\x00X-Ab\x02\x00v1\x05\x00\x00\x00hello",
                        SMALL_LEN - OFF_NAME_LEN);
    assert_int_equal(decode_copy(&got, buf, len, unit_pool), APR_SUCCESS);

    bad = apr_palloc(unit_pool, len);
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        memcpy(bad, buf, len);
        memcpy(bad + cases[i].at, cases[i].bytes, cases[i].n);
        if (decode_copy(&got, bad, len, unit_pool) != APR_EINVAL) {
            fail_msg("%s: accepted", cases[i].what);
        }
    }
}

static void test_decode_spliced(void **state)
{
    static const unsigned char one_more[] = { 1, 0, 'X', 0, 0 };
    goapi_idem_record rec, got;
    goapi_idem_header *h;
    unsigned char *buf, *bad;
    char *longest = apr_palloc(unit_pool, GOAPI_IDEM_MAX_HEADER_BYTES + 1);
    apr_size_t len, n;
    int i;

    (void)state;
    /* A well-formed header list of 100 and then of 101 entries: only the
     * count limit can refuse the second. */
    small_record(&rec, unit_pool);
    rec.headers = apr_array_make(unit_pool, 1, sizeof(goapi_idem_header));
    for (i = 0; i < GOAPI_IDEM_MAX_HEADERS - 1; i++) {
        h = apr_array_push(rec.headers);
        h->name = "X";
        h->value = "";
    }
    buf = encode(&rec, &len);
    bad = splice(buf, len, len - 9, 0, one_more, sizeof(one_more), &n);
    le(bad + OFF_COUNT, GOAPI_IDEM_MAX_HEADERS, 2);
    assert_int_equal(decode_copy(&got, bad, n, unit_pool), APR_SUCCESS);
    assert_int_equal(got.headers->nelts, GOAPI_IDEM_MAX_HEADERS);
    bad = splice(bad, n, n - 9, 0, one_more, sizeof(one_more), &n);
    le(bad + OFF_COUNT, GOAPI_IDEM_MAX_HEADERS + 1, 2);
    assert_int_equal(decode_copy(&got, bad, n, unit_pool), APR_EINVAL);

    /* A name, then a value, one byte over the limit, lengths consistent. */
    memset(longest, 'n', GOAPI_IDEM_MAX_HEADER_BYTES);
    longest[GOAPI_IDEM_MAX_HEADER_BYTES] = '\0';
    small_record(&rec, unit_pool);
    APR_ARRAY_IDX(rec.headers, 0, goapi_idem_header).name = longest;
    buf = encode(&rec, &len);
    assert_int_equal(decode_copy(&got, buf, len, unit_pool), APR_SUCCESS);
    bad = splice(buf, len, OFF_NAME, 0, "n", 1, &n);
    le(bad + OFF_NAME_LEN, GOAPI_IDEM_MAX_HEADER_BYTES + 1, 2);
    assert_int_equal(decode_copy(&got, bad, n, unit_pool), APR_EINVAL);

    small_record(&rec, unit_pool);
    APR_ARRAY_IDX(rec.headers, 0, goapi_idem_header).value = longest;
    buf = encode(&rec, &len);
    assert_int_equal(decode_copy(&got, buf, len, unit_pool), APR_SUCCESS);
    bad = splice(buf, len, OFF_VALUE, 0, "n", 1, &n);
    le(bad + OFF_VALUE_LEN, GOAPI_IDEM_MAX_HEADER_BYTES + 1, 2);
    assert_int_equal(decode_copy(&got, bad, n, unit_pool), APR_EINVAL);

    /* An empty name. */
    small_record(&rec, unit_pool);
    buf = encode(&rec, &len);
    bad = splice(buf, len, OFF_NAME, 4, "", 0, &n);
    le(bad + OFF_NAME_LEN, 0, 2);
    assert_int_equal(decode_copy(&got, bad, n, unit_pool), APR_EINVAL);

    /* An empty value is fine. */
    bad = splice(buf, len, OFF_VALUE, 2, "", 0, &n);
    le(bad + OFF_VALUE_LEN, 0, 2);
    assert_int_equal(decode_copy(&got, bad, n, unit_pool), APR_SUCCESS);
    assert_string_equal(APR_ARRAY_IDX(got.headers, 0, goapi_idem_header).value, "");
}

static apr_uint32_t xorshift32(apr_uint32_t *s)
{
    apr_uint32_t x = *s;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void test_decode_fuzz(void **state)
{
    static const unsigned char specials[] = { 0x00, 0xFF, 0x01, '\r', ':', 0x80 };
    goapi_idem_record rec, got;
    const unsigned char *base[2];
    apr_size_t base_len[2];
    unsigned char *work, *again;
    apr_pool_t *p;
    apr_uint32_t seed = 0x9E3779B9u;
    int iter, ok = 0, refused = 0;

    (void)state;
    completed_record(&rec, unit_pool);
    base[0] = encode(&rec, &base_len[0]);
    small_record(&rec, unit_pool);
    base[1] = encode(&rec, &base_len[1]);
    work = apr_palloc(unit_pool, base_len[0] + 1);
    again = apr_palloc(unit_pool, base_len[0] + 1);
    assert_int_equal(apr_pool_create(&p, unit_pool), APR_SUCCESS);

    for (iter = 0; iter < 20000; iter++) {
        int b = iter & 1, flips = 1 + (int)(xorshift32(&seed) % 4), f;
        apr_size_t len = base_len[b], size;

        memcpy(work, base[b], len);
        for (f = 0; f < flips; f++) {
            apr_size_t at = xorshift32(&seed) % len;
            apr_uint32_t r = xorshift32(&seed);

            if (r % 4 == 0) {
                work[at] = specials[(r >> 8) % sizeof(specials)];
            }
            else {
                work[at] ^= (unsigned char)(1 + (r >> 8) % 255);
            }
        }
        if (xorshift32(&seed) % 16 == 0) {
            len = xorshift32(&seed) % (len + 1);
        }

        if (decode_copy(&got, work, len, p) != APR_SUCCESS) {
            refused++;
        }
        else {
            ok++;
            size = goapi_idem_encoded_size(&got);
            if (size != len) {
                fail_msg("iteration %d: decoded %u bytes, re-encodes to %u", iter,
                         (unsigned)len, (unsigned)size);
            }
            goapi_idem_encode(&got, again);
            assert_memory_equal(again, work, len);
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    /* Both paths were exercised (body and fingerprint flips decode). */
    assert_true(ok > 1000);
    assert_true(refused > 1000);
}

/* ---- hashes ------------------------------------------------------------ */

static void hash_field(goapi_sha256_ctx *ctx, const char *s)
{
    unsigned char len[8];

    le(len, strlen(s), 8);
    goapi_sha256_update(ctx, len, 8);
    goapi_sha256_update(ctx, s, strlen(s));
}

static void test_ledger_key_construction(void **state)
{
    unsigned char want[GOAPI_SHA256_LEN], got[GOAPI_SHA256_LEN];
    goapi_sha256_ctx ctx;

    (void)state;
    goapi_sha256_init(&ctx);
    goapi_sha256_update(&ctx, "goapi-ledger-v1", sizeof("goapi-ledger-v1"));
    hash_field(&ctx, "tenant-1");
    hash_field(&ctx, "8e03978e-40d5-43e8-bc93-6894a57f9324");
    goapi_sha256_final(&ctx, want);
    goapi_idem_ledger_key(got, "tenant-1", "8e03978e-40d5-43e8-bc93-6894a57f9324");
    assert_memory_equal(got, want, GOAPI_SHA256_LEN);
}

static void test_ledger_key_distinct(void **state)
{
    static const char *const cases[][2] = {
        { "s", "k" }, { "s2", "k" }, { "s", "k2" }, { "k", "s" },
        { "ab", "c" }, { "a", "bc" }, { "", "abc" }, { "abc", "" }, { "", "" },
        { "a\x08", "" },    /* the length byte of "a" shifted into the data */
    };
    unsigned char d[UNIT_ELEMS(cases)][GOAPI_SHA256_LEN], again[GOAPI_SHA256_LEN];
    apr_size_t i, j;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        goapi_idem_ledger_key(d[i], cases[i][0], cases[i][1]);
        goapi_idem_ledger_key(again, cases[i][0], cases[i][1]);
        assert_memory_equal(d[i], again, GOAPI_SHA256_LEN);
        for (j = 0; j < i; j++) {
            if (memcmp(d[i], d[j], GOAPI_SHA256_LEN) == 0) {
                fail_msg("cases %u and %u collide", (unsigned)i, (unsigned)j);
            }
        }
    }
}

static void test_fingerprint_construction(void **state)
{
    unsigned char body[GOAPI_SHA256_LEN], want[GOAPI_SHA256_LEN], got[GOAPI_SHA256_LEN];
    goapi_sha256_ctx ctx;

    (void)state;
    goapi_sha256("{}", 2, body);
    goapi_sha256_init(&ctx);
    goapi_sha256_update(&ctx, "goapi-fingerprint-v1", sizeof("goapi-fingerprint-v1"));
    hash_field(&ctx, "POST");
    hash_field(&ctx, "/orders");
    goapi_sha256_update(&ctx, "\x01", 1);
    hash_field(&ctx, "a=1");
    goapi_sha256_update(&ctx, body, GOAPI_SHA256_LEN);
    hash_field(&ctx, "tenant");
    goapi_sha256_final(&ctx, want);
    goapi_idem_fingerprint(got, "POST", "/orders", "a=1", body, "tenant");
    assert_memory_equal(got, want, GOAPI_SHA256_LEN);

    /* no query: a 0 presence byte, then an empty field */
    goapi_sha256_init(&ctx);
    goapi_sha256_update(&ctx, "goapi-fingerprint-v1", sizeof("goapi-fingerprint-v1"));
    hash_field(&ctx, "POST");
    hash_field(&ctx, "/orders");
    goapi_sha256_update(&ctx, "\x00", 1);
    hash_field(&ctx, "");
    goapi_sha256_update(&ctx, body, GOAPI_SHA256_LEN);
    hash_field(&ctx, "tenant");
    goapi_sha256_final(&ctx, want);
    goapi_idem_fingerprint(got, "POST", "/orders", NULL, body, "tenant");
    assert_memory_equal(got, want, GOAPI_SHA256_LEN);
}

typedef struct {
    const char *method, *path, *query;
    int body;                   /* index into the body digests */
    const char *scope;
} fp_case;

static void test_fingerprint_distinct(void **state)
{
    static const fp_case cases[] = {
        { "POST", "/orders", "a=1", 0, "tenant" },      /* the base */
        { "PUT", "/orders", "a=1", 0, "tenant" },
        { "POST", "/orders/", "a=1", 0, "tenant" },
        { "POST", "/orders", "a=2", 0, "tenant" },
        { "POST", "/orders", "a=1", 1, "tenant" },
        { "POST", "/orders", "a=1", 0, "tenant2" },
        { "POST", "/orders", "a=1", 0, "" },
        { "POST", "/orders", NULL, 0, "tenant" },
        { "POST", "/orders", "", 0, "tenant" },
        { "POST", "/a", "b=1", 0, "s" },
        { "POST", "/a?b", "=1", 0, "s" },
        { "POST", "/ab", NULL, 0, "s" },
        { "POST", "/a", "b", 0, "s" },
        { "POS", "T/a", NULL, 0, "s" },
        { "POST", "/a", NULL, 0, "s" },
        { "POST", "/a", "x", 0, "y" },
        { "POST", "/a", "xy", 0, "" },
        { "POST", "/a", "", 0, "" },
        { "POST", "/a", NULL, 0, "" },
    };
    unsigned char bodies[2][GOAPI_SHA256_LEN];
    unsigned char d[UNIT_ELEMS(cases)][GOAPI_SHA256_LEN], again[GOAPI_SHA256_LEN];
    apr_size_t i, j;

    (void)state;
    goapi_sha256("{\"qty\":1}", 9, bodies[0]);
    memcpy(bodies[1], bodies[0], GOAPI_SHA256_LEN);
    bodies[1][GOAPI_SHA256_LEN - 1] ^= 1;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        const fp_case *c = &cases[i];

        goapi_idem_fingerprint(d[i], c->method, c->path, c->query, bodies[c->body], c->scope);
        goapi_idem_fingerprint(again, c->method, c->path, c->query, bodies[c->body], c->scope);
        assert_memory_equal(d[i], again, GOAPI_SHA256_LEN);
        for (j = 0; j < i; j++) {
            if (memcmp(d[i], d[j], GOAPI_SHA256_LEN) == 0) {
                fail_msg("cases %u and %u collide", (unsigned)i, (unsigned)j);
            }
        }
    }
}

/* ---- replayed headers --------------------------------------------------- */

typedef struct {
    const char *name;
    int list;                   /* 0: NULL, 1: the ID headers, 2: empty list */
    int kept;
} kept_case;

static void test_header_kept(void **state)
{
    static const char *const ids[] = { "X-Request-ID", "X-Correlation-ID", NULL };
    static const char *const none[] = { NULL };
    static const kept_case cases[] = {
        { "connection", 0, 0 }, { "KEEP-ALIVE", 0, 0 },
        { "proxy-authenticate", 0, 0 }, { "Proxy-AUTHORIZATION", 0, 0 },
        { "proxy-connection", 0, 0 }, { "te", 0, 0 }, { "TRAILER", 0, 0 },
        { "transfer-encoding", 0, 0 }, { "UpGrade", 0, 0 },
        { "content-length", 0, 0 }, { "DATE", 0, 0 }, { "server", 0, 0 },
        { "idempotent-replayed", 0, 0 }, { "Idempotent-Replayed", 1, 0 },
        { "Connection", 1, 0 }, { "Transfer-Encoding", 2, 0 },
        { "Content-Type", 0, 1 }, { "location", 0, 1 }, { "ETag", 0, 1 },
        { "set-cookie", 1, 1 }, { "Cache-Control", 0, 1 }, { "Link", 2, 1 },
        { "Retry-After", 1, 1 }, { "Content-Encoding", 0, 1 }, { "Vary", 0, 1 },
        /* per request */
        { "X-Request-ID", 0, 1 }, { "X-Request-ID", 2, 1 },
        { "X-Request-ID", 1, 0 }, { "x-request-id", 1, 0 },
        { "X-CORRELATION-ID", 1, 0 }, { "X-Correlation", 1, 1 },
        /* near misses of dropped names are kept */
        { "Connections", 0, 1 }, { "T", 0, 1 }, { "TE2", 0, 1 },
        { "Date-X", 0, 1 }, { "Content-Length2", 0, 1 }, { "Proxy", 0, 1 },
        { "X-Request-IDs", 1, 1 },
    };
    const char *const *lists[] = { NULL, ids, none };
    apr_size_t i;

    (void)state;
    for (i = 0; i < UNIT_ELEMS(cases); i++) {
        int got = goapi_idem_header_kept(cases[i].name, lists[cases[i].list]);

        if (got != cases[i].kept) {
            fail_msg("'%s' (list %d): got %d, want %d", cases[i].name, cases[i].list,
                     got, cases[i].kept);
        }
    }
    assert_int_equal(goapi_idem_header_kept(NULL, ids), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_flight_round_trip),
        cmocka_unit_test(test_completed_round_trip),
        cmocka_unit_test(test_limits_round_trip),
        cmocka_unit_test(test_version_1_records),
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_key_digest),
        cmocka_unit_test(test_size_bad_state_status),
        cmocka_unit_test(test_size_bad_headers),
        cmocka_unit_test(test_size_bad_count_body_flags),
        cmocka_unit_test(test_decode_every_truncation),
        cmocka_unit_test(test_decode_trailing_byte),
        cmocka_unit_test(test_decode_patched),
        cmocka_unit_test(test_decode_spliced),
        cmocka_unit_test(test_decode_fuzz),
        cmocka_unit_test(test_ledger_key_construction),
        cmocka_unit_test(test_ledger_key_distinct),
        cmocka_unit_test(test_fingerprint_construction),
        cmocka_unit_test(test_fingerprint_distinct),
        cmocka_unit_test(test_header_kept),
    };

    return cmocka_run_group_tests_name("goapi_idem", tests, unit_setup, unit_teardown);
}
