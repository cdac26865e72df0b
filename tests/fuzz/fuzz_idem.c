/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * fuzz_idem — the idempotency record codec and hashes.
 *
 *  - goapi_idem_decode() on the input as it is: a record from the store
 *    may be corrupted, and must then be refused, never trusted.  What it
 *    accepts must be well-formed and re-encode (goapi_idem_encoded_size(),
 *    goapi_idem_encode()) to the very same bytes: the codec is canonical
 *    (a version 1 record re-encodes as version 2, which decodes alike).
 *  - a record built from the input (fields split at NUL bytes) must either
 *    be refused by goapi_idem_encoded_size() or survive encode + decode.
 *  - goapi_idem_fingerprint(), goapi_idem_ledger_key() and
 *    goapi_idem_header_kept() on strings of the input.
 */
#include "fuzz.h"

#include <apr_tables.h>

#include "goapi_idem.h"
#include "goapi_parse.h"

static int name_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > GOAPI_IDEM_MAX_HEADER_BYTES) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!goapi_is_tchar((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

static int value_ok(const char *s)
{
    return strlen(s) <= GOAPI_IDEM_MAX_HEADER_BYTES && strpbrk(s, "\r\n") == NULL;
}

/* A decoded record obeys every rule of the encoder. */
static void check_record(const goapi_idem_record *rec)
{
    const goapi_idem_header *h;
    int i;

    FUZZ_CHECK(rec->state == GOAPI_IDEM_IN_FLIGHT || rec->state == GOAPI_IDEM_COMPLETED);
    FUZZ_CHECK(rec->flags <= 0xFFu);
    if (rec->state == GOAPI_IDEM_IN_FLIGHT) {
        FUZZ_CHECK(rec->status == 0);
    }
    else {
        FUZZ_CHECK(rec->status >= 100 && rec->status <= 599);
    }
    FUZZ_CHECK(rec->headers != NULL);
    FUZZ_CHECK(rec->headers->nelts >= 0 && rec->headers->nelts <= GOAPI_IDEM_MAX_HEADERS);
    h = (const goapi_idem_header *)rec->headers->elts;
    for (i = 0; i < rec->headers->nelts; i++) {
        FUZZ_CHECK(h[i].name != NULL && name_ok(h[i].name));
        FUZZ_CHECK(h[i].value != NULL && value_ok(h[i].value));
    }
    FUZZ_CHECK(rec->body != NULL && rec->body[rec->body_len] == '\0');
}

static void check_decode(apr_pool_t *p, const uint8_t *data, size_t size)
{
    /* exact-size copy: a read past the record is an overread */
    char *buf = fuzz_dup(data, size, 0);
    goapi_idem_record rec;
    apr_size_t n;
    unsigned char *again;

    if (goapi_idem_decode(&rec, buf, size, p) != APR_SUCCESS) {
        free(buf);
        return;
    }
    check_record(&rec);
    n = goapi_idem_encoded_size(&rec);
    again = malloc(n);
    FUZZ_CHECK(again != NULL);
    goapi_idem_encode(&rec, again);
    if (buf[3] == 1) {
        /* version 1 (no lease): re-encoded as version 2, which decodes to
         * the same record */
        goapi_idem_record back;

        FUZZ_CHECK(n == size + 8 && again[3] == 2);
        FUZZ_CHECK(goapi_idem_decode(&back, again, n, p) == APR_SUCCESS);
        FUZZ_CHECK(back.expires == rec.expires && back.lease_end == rec.lease_end
                   && back.body_len == rec.body_len && back.status == rec.status);
    }
    else {
        FUZZ_CHECK(n == size);
        FUZZ_CHECK(memcmp(again, buf, n) == 0);
    }
    free(again);
    free(buf);
}

/* Build a record from the input, encode it if the encoder takes it, and
 * decode it back. */
static void check_encode(apr_pool_t *p, const uint8_t *data, size_t size)
{
    fuzz_input in = { data, size };
    goapi_idem_record rec, back;
    apr_size_t n;
    unsigned char *buf;
    char *strs[2 * 4];
    char *body;
    int i, nh;

    memset(&rec, 0, sizeof(rec));
    rec.state = (goapi_idem_state)fuzz_take_u64(&in, 1) % 4;
    rec.flags = (unsigned)fuzz_take_u64(&in, 2) % 0x102;
    rec.claim_id = fuzz_take_u64(&in, 8);
    rec.created = (apr_time_t)fuzz_take_u64(&in, 8);
    rec.expires = (apr_time_t)fuzz_take_u64(&in, 8);
    rec.lease_end = (apr_time_t)fuzz_take_u64(&in, 8);
    for (i = 0; i < GOAPI_SHA256_LEN; i++) {
        rec.fingerprint[i] = (unsigned char)fuzz_take_u64(&in, 1);
    }
    rec.status = (int)fuzz_take_u64(&in, 2) % 700;
    nh = (int)fuzz_take_u64(&in, 1) % 5;
    rec.headers = apr_array_make(p, nh, sizeof(goapi_idem_header));
    for (i = 0; i < nh; i++) {
        goapi_idem_header *h = apr_array_push(rec.headers);

        strs[2 * i] = fuzz_take_str(&in);
        strs[2 * i + 1] = fuzz_take_str(&in);
        h->name = strs[2 * i];
        h->value = strs[2 * i + 1];
    }
    body = fuzz_dup(in.at, in.left, 0);
    rec.body = body;
    rec.body_len = in.left;

    n = goapi_idem_encoded_size(&rec);
    if (n != 0) {
        FUZZ_CHECK(rec.state == GOAPI_IDEM_IN_FLIGHT || rec.state == GOAPI_IDEM_COMPLETED);
        FUZZ_CHECK(rec.flags <= 0xFFu);
        buf = malloc(n);
        FUZZ_CHECK(buf != NULL);
        goapi_idem_encode(&rec, buf);
        FUZZ_CHECK(goapi_idem_decode(&back, buf, n, p) == APR_SUCCESS);
        FUZZ_CHECK(back.state == rec.state && back.flags == rec.flags
                   && back.claim_id == rec.claim_id && back.created == rec.created
                   && back.expires == rec.expires && back.lease_end == rec.lease_end
                   && back.status == rec.status);
        FUZZ_CHECK(memcmp(back.fingerprint, rec.fingerprint, GOAPI_SHA256_LEN) == 0);
        FUZZ_CHECK(back.headers->nelts == nh);
        for (i = 0; i < nh; i++) {
            const goapi_idem_header *h = &APR_ARRAY_IDX(back.headers, i, goapi_idem_header);

            FUZZ_CHECK(strcmp(h->name, strs[2 * i]) == 0);
            FUZZ_CHECK(strcmp(h->value, strs[2 * i + 1]) == 0);
        }
        FUZZ_CHECK(back.body_len == rec.body_len);
        FUZZ_CHECK(rec.body_len == 0 || memcmp(back.body, rec.body, rec.body_len) == 0);
        free(buf);
    }
    else {
        /* refused: something is out of range */
        int bad = !(rec.state == GOAPI_IDEM_IN_FLIGHT ? rec.status == 0
                    : rec.state == GOAPI_IDEM_COMPLETED && rec.status >= 100
                      && rec.status <= 599)
                  || rec.flags > 0xFFu;

        for (i = 0; i < nh; i++) {
            bad |= !name_ok(strs[2 * i]) || !value_ok(strs[2 * i + 1]);
        }
        FUZZ_CHECK(bad);
    }
    for (i = 0; i < 2 * nh; i++) {
        free(strs[i]);
    }
    free(body);
}

static void check_hashes(const uint8_t *data, size_t size)
{
    fuzz_input in = { data, size };
    unsigned char sha[GOAPI_SHA256_LEN] = { 0 }, out[GOAPI_SHA256_LEN];
    char *method = fuzz_take_str(&in), *path = fuzz_take_str(&in);
    char *query = fuzz_take_str(&in), *scope = fuzz_take_str(&in);
    char *key = fuzz_take_str(&in);
    const char *const per_request[] = { path, query, NULL };

    memcpy(sha, data, size < sizeof(sha) ? size : sizeof(sha));
    goapi_idem_fingerprint(out, method, path, query[0] ? query : NULL, sha, scope);
    goapi_idem_fingerprint(out, method, path, query, sha, scope);
    goapi_idem_ledger_key(out, scope, key);
    goapi_idem_ledger_key(out, "", "");
    goapi_idem_header_kept(key, per_request);
    goapi_idem_header_kept(method, NULL);
    free(method);
    free(path);
    free(query);
    free(scope);
    free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();

    check_decode(p, data, size);
    check_encode(p, data, size);
    check_hashes(data, size);
    apr_pool_destroy(p);
    return 0;
}
