/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_idem.c — idempotency records: codec, ledger key, request
 * fingerprint and the replayed-header filter (see goapi_idem.h).
 *
 * Encoding, version 2.  All integers little-endian, written and read byte
 * by byte so that neither the host's byte order nor alignment matters:
 *
 *   offset  size  field
 *        0     3  magic "GIR"
 *        3     1  version, 2
 *        4     1  state: 1 in flight, 2 completed
 *        5     1  flags (GOAPI_IDEM_F_*; any bit pattern is carried)
 *        6     8  claim_id, u64
 *       14     8  created, i64 microseconds since the epoch (two's complement)
 *       22     8  expires, i64 microseconds since the epoch
 *       30     8  lease_end, i64 microseconds since the epoch
 *       38    32  fingerprint
 *       70     2  status, u16: 0 in flight, 100-599 completed
 *       72     2  header count, u16, at most GOAPI_IDEM_MAX_HEADERS
 *       74        count times: u16 name length, name, u16 value length, value
 *                 (each at most GOAPI_IDEM_MAX_HEADER_BYTES, no terminator)
 *                 then: u32 body length, body
 *
 * and nothing after the body.  The smallest record is 78 bytes.  Every
 * record has exactly one encoding, so decoding and re-encoding gives back
 * the same bytes.
 *
 * Version 1 had no lease_end: its in-flight records ended with their lease,
 * which let a retry run again after a child died.  Such a record decodes
 * with its lease where it was and its end GOAPI_DEFAULT_IDEM_TTL later, as
 * version 2 would have written it; it encodes as version 2.
 *
 * A decoded record's names, values and body are copies in the pool, each
 * followed by a NUL; the body is never NULL, an empty body is "".
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "goapi_defs.h"
#include "goapi_idem.h"
#include "goapi_parse.h"

#define GOAPI_IDEM_VERSION      2
#define GOAPI_IDEM_VERSION_1    1       /* still read: no lease_end */
#define GOAPI_IDEM_FIXED_LEN    74      /* up to the first header */
#define GOAPI_IDEM_BODY_LEN_LEN 4
#define GOAPI_IDEM_U32_MAX      0xFFFFFFFFu

static const unsigned char goapi_idem_magic[3] = { 'G', 'I', 'R' };

/* ---- checks shared by both directions ---------------------------------- */

static int goapi_idem_status_ok(int state, int status)
{
    if (state == GOAPI_IDEM_IN_FLIGHT) {
        return status == 0;
    }
    return state == GOAPI_IDEM_COMPLETED && status >= 100 && status <= 599;
}

static int goapi_idem_name_ok(const unsigned char *s, apr_size_t n)
{
    apr_size_t i;

    if (n == 0 || n > GOAPI_IDEM_MAX_HEADER_BYTES) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!goapi_is_tchar(s[i])) {
            return 0;
        }
    }
    return 1;
}

/* Any byte but the ones that would split or end a header line. */
static int goapi_idem_value_ok(const unsigned char *s, apr_size_t n)
{
    apr_size_t i;

    if (n > GOAPI_IDEM_MAX_HEADER_BYTES) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0') {
            return 0;
        }
    }
    return 1;
}

/* strlen() that gives up past the limit, so a huge string costs no more
 * than a long one. */
static apr_size_t goapi_idem_bounded_len(const char *s)
{
    apr_size_t n;

    for (n = 0; n <= GOAPI_IDEM_MAX_HEADER_BYTES && s[n] != '\0'; n++)
        ;
    return n;
}

/* ---- encoding ------------------------------------------------------------ */

apr_size_t goapi_idem_encoded_size(const goapi_idem_record *rec)
{
    const goapi_idem_header *h = NULL;
    apr_size_t size = GOAPI_IDEM_FIXED_LEN + GOAPI_IDEM_BODY_LEN_LEN;
    int i, n = 0;

    if (!goapi_idem_status_ok(rec->state, rec->status) || rec->flags > 0xFFu) {
        return 0;
    }
    if (rec->headers != NULL) {
        if (rec->headers->elt_size != (int)sizeof(goapi_idem_header)) {
            return 0;
        }
        h = (const goapi_idem_header *)rec->headers->elts;
        n = rec->headers->nelts;
    }
    if (n < 0 || n > GOAPI_IDEM_MAX_HEADERS) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        apr_size_t nl, vl;

        if (h[i].name == NULL || h[i].value == NULL) {
            return 0;
        }
        nl = goapi_idem_bounded_len(h[i].name);
        vl = goapi_idem_bounded_len(h[i].value);
        if (!goapi_idem_name_ok((const unsigned char *)h[i].name, nl)
            || !goapi_idem_value_ok((const unsigned char *)h[i].value, vl)) {
            return 0;
        }
        size += 2 + nl + 2 + vl;
    }
    if (rec->body == NULL && rec->body_len > 0) {
        return 0;
    }
    /* The second test only matters where apr_size_t is 32 bits wide. */
    if ((apr_uint64_t)rec->body_len > GOAPI_IDEM_U32_MAX
        || rec->body_len > APR_SIZE_MAX - size) {
        return 0;
    }
    return size + rec->body_len;
}

static unsigned char *goapi_idem_put_le(unsigned char *b, apr_uint64_t v, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        *b++ = (unsigned char)(v & 0xFFu);
        v >>= 8;
    }
    return b;
}

static unsigned char *goapi_idem_put_bytes(unsigned char *b, const void *s, apr_size_t n)
{
    if (n > 0) {
        memcpy(b, s, n);
    }
    return b + n;
}

void goapi_idem_encode(const goapi_idem_record *rec, unsigned char *buf)
{
    const goapi_idem_header *h = NULL;
    unsigned char *b = buf;
    int i, n = 0;

    if (rec->headers != NULL) {
        h = (const goapi_idem_header *)rec->headers->elts;
        n = rec->headers->nelts;
    }
    b = goapi_idem_put_bytes(b, goapi_idem_magic, sizeof(goapi_idem_magic));
    *b++ = GOAPI_IDEM_VERSION;
    *b++ = (unsigned char)rec->state;
    *b++ = (unsigned char)rec->flags;
    b = goapi_idem_put_le(b, rec->claim_id, 8);
    b = goapi_idem_put_le(b, (apr_uint64_t)rec->created, 8);
    b = goapi_idem_put_le(b, (apr_uint64_t)rec->expires, 8);
    b = goapi_idem_put_le(b, (apr_uint64_t)rec->lease_end, 8);
    b = goapi_idem_put_bytes(b, rec->fingerprint, GOAPI_SHA256_LEN);
    b = goapi_idem_put_le(b, (apr_uint64_t)rec->status, 2);
    b = goapi_idem_put_le(b, (apr_uint64_t)n, 2);
    for (i = 0; i < n; i++) {
        apr_size_t nl = strlen(h[i].name), vl = strlen(h[i].value);

        b = goapi_idem_put_le(b, nl, 2);
        b = goapi_idem_put_bytes(b, h[i].name, nl);
        b = goapi_idem_put_le(b, vl, 2);
        b = goapi_idem_put_bytes(b, h[i].value, vl);
    }
    b = goapi_idem_put_le(b, rec->body_len, 4);
    goapi_idem_put_bytes(b, rec->body, rec->body_len);
}

void goapi_idem_claim_token(apr_uint64_t claim_id, unsigned char out[GOAPI_IDEM_TOKEN_LEN])
{
    unsigned char *b = goapi_idem_put_bytes(out, goapi_idem_magic, sizeof(goapi_idem_magic));

    *b++ = GOAPI_IDEM_VERSION;
    *b++ = GOAPI_IDEM_IN_FLIGHT;
    *b++ = 0;                   /* an in-flight record has no flags */
    goapi_idem_put_le(b, claim_id, 8);
}

/* ---- decoding ------------------------------------------------------------ */

/* t + d, held at the largest time instead of wrapping. */
static apr_time_t goapi_idem_time_add(apr_time_t t, apr_interval_time_t d)
{
    return t > APR_INT64_MAX - d ? APR_INT64_MAX : t + d;
}

typedef struct {
    const unsigned char *at;
    apr_size_t left;
} goapi_idem_reader;

/* The next n bytes, or NULL when fewer are left: the one place that
 * decides whether a read stays inside the buffer. */
static const unsigned char *goapi_idem_take(goapi_idem_reader *r, apr_size_t n)
{
    const unsigned char *s = r->at;

    if (n > r->left) {
        return NULL;
    }
    r->at += n;
    r->left -= n;
    return s;
}

static int goapi_idem_get_le(goapi_idem_reader *r, int n, apr_uint64_t *v)
{
    const unsigned char *s = goapi_idem_take(r, (apr_size_t)n);
    int i;

    if (s == NULL) {
        return 0;
    }
    *v = 0;
    for (i = n - 1; i >= 0; i--) {
        *v = (*v << 8) | s[i];
    }
    return 1;
}

/* A u16-prefixed name or value, copied with a terminating NUL. */
static const char *goapi_idem_get_field(goapi_idem_reader *r, int is_name,
                                        apr_pool_t *p)
{
    const unsigned char *s;
    apr_uint64_t n;

    if (!goapi_idem_get_le(r, 2, &n) || (s = goapi_idem_take(r, (apr_size_t)n)) == NULL) {
        return NULL;
    }
    if (is_name ? !goapi_idem_name_ok(s, (apr_size_t)n)
                : !goapi_idem_value_ok(s, (apr_size_t)n)) {
        return NULL;
    }
    return apr_pstrmemdup(p, (const char *)s, (apr_size_t)n);
}

apr_status_t goapi_idem_decode(goapi_idem_record *rec, const void *buf,
                               apr_size_t len, apr_pool_t *p)
{
    goapi_idem_reader r;
    const unsigned char *s;
    apr_uint64_t v, count, i;
    char *body;
    int state, version;

    r.at = buf;
    r.left = len;
    memset(rec, 0, sizeof(*rec));

    s = goapi_idem_take(&r, 6);
    if (s == NULL || memcmp(s, goapi_idem_magic, sizeof(goapi_idem_magic)) != 0
        || (s[3] != GOAPI_IDEM_VERSION && s[3] != GOAPI_IDEM_VERSION_1)) {
        return APR_EINVAL;
    }
    version = s[3];
    /* The state is checked as a byte: the enum's range is the compiler's. */
    state = s[4];
    if (state != GOAPI_IDEM_IN_FLIGHT && state != GOAPI_IDEM_COMPLETED) {
        return APR_EINVAL;
    }
    rec->state = (goapi_idem_state)state;
    rec->flags = s[5];
    if (!goapi_idem_get_le(&r, 8, &v)) {
        return APR_EINVAL;
    }
    rec->claim_id = v;
    if (!goapi_idem_get_le(&r, 8, &v)) {
        return APR_EINVAL;
    }
    rec->created = (apr_time_t)v;
    if (!goapi_idem_get_le(&r, 8, &v)) {
        return APR_EINVAL;
    }
    rec->expires = (apr_time_t)v;
    if (version == GOAPI_IDEM_VERSION_1) {
        rec->lease_end = rec->expires;
        if (state == GOAPI_IDEM_IN_FLIGHT) {
            rec->expires = goapi_idem_time_add(rec->lease_end, GOAPI_DEFAULT_IDEM_TTL);
        }
    }
    else if (!goapi_idem_get_le(&r, 8, &v)) {
        return APR_EINVAL;
    }
    else {
        rec->lease_end = (apr_time_t)v;
    }
    if ((s = goapi_idem_take(&r, GOAPI_SHA256_LEN)) == NULL) {
        return APR_EINVAL;
    }
    memcpy(rec->fingerprint, s, GOAPI_SHA256_LEN);
    if (!goapi_idem_get_le(&r, 2, &v)) {
        return APR_EINVAL;
    }
    rec->status = (int)v;
    if (!goapi_idem_status_ok(state, rec->status)) {
        return APR_EINVAL;
    }

    /* The count is checked before anything is allocated for it. */
    if (!goapi_idem_get_le(&r, 2, &count) || count > GOAPI_IDEM_MAX_HEADERS) {
        return APR_EINVAL;
    }
    rec->headers = apr_array_make(p, (int)count, sizeof(goapi_idem_header));
    for (i = 0; i < count; i++) {
        goapi_idem_header *h = apr_array_push(rec->headers);

        if ((h->name = goapi_idem_get_field(&r, 1, p)) == NULL
            || (h->value = goapi_idem_get_field(&r, 0, p)) == NULL) {
            return APR_EINVAL;
        }
    }

    if (!goapi_idem_get_le(&r, 4, &v) || (s = goapi_idem_take(&r, (apr_size_t)v)) == NULL
        || r.left != 0) {
        return APR_EINVAL;
    }
    body = apr_palloc(p, (apr_size_t)v + 1);
    if (v > 0) {
        memcpy(body, s, (apr_size_t)v);
    }
    body[v] = '\0';
    rec->body = body;
    rec->body_len = (apr_size_t)v;
    return APR_SUCCESS;
}

/* ---- verdicts ------------------------------------------------------------ */

goapi_idem_verdict goapi_idem_judge(const goapi_idem_record *held,
                                    const unsigned char fp[GOAPI_SHA256_LEN],
                                    apr_time_t now)
{
    if (memcmp(held->fingerprint, fp, GOAPI_SHA256_LEN) != 0) {
        return GOAPI_HELD_REUSED;
    }
    if (held->state == GOAPI_IDEM_IN_FLIGHT) {
        return held->lease_end > now ? GOAPI_HELD_IN_PROGRESS : GOAPI_HELD_OUTCOME_UNKNOWN;
    }
    return (held->flags & GOAPI_IDEM_F_REPLAYABLE) ? GOAPI_HELD_REPLAY
                                                   : GOAPI_HELD_NOT_REPLAYABLE;
}

char *goapi_idem_hex(const unsigned char *in, apr_size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    apr_size_t i;

    for (i = 0; i < n; i++) {
        *out++ = hex[in[i] >> 4];
        *out++ = hex[in[i] & 0x0F];
    }
    return out;
}

void goapi_idem_key_digest(char out[GOAPI_IDEM_DIGEST_LEN + 1], const char *key)
{
    unsigned char sha[GOAPI_SHA256_LEN];
    goapi_sha256_ctx ctx;

    goapi_sha256_init(&ctx);
    goapi_sha256_update(&ctx, key, strlen(key));
    goapi_sha256_final(&ctx, sha);
    *goapi_idem_hex(sha, GOAPI_IDEM_DIGEST_LEN / 2, out) = '\0';
}

/* ---- hashes ------------------------------------------------------------ */

/* A field as its 8-byte little-endian length, then its bytes: no two
 * sequences of fields hash the same bytes.  NULL hashes as empty. */
static void goapi_idem_hash_field(goapi_sha256_ctx *ctx, const char *s)
{
    unsigned char len[8];
    apr_size_t n = s ? strlen(s) : 0;

    goapi_idem_put_le(len, n, 8);
    goapi_sha256_update(ctx, len, sizeof(len));
    goapi_sha256_update(ctx, s ? s : "", n);
}

/* The domain tags (with their NUL) keep a ledger key from ever equalling a
 * fingerprint, or a hash of some other construction, over the same text. */
static const char goapi_idem_ledger_tag[] = "goapi-ledger-v1";
static const char goapi_idem_fingerprint_tag[] = "goapi-fingerprint-v1";

void goapi_idem_ledger_key(unsigned char out[GOAPI_SHA256_LEN], const char *scope,
                           const char *key)
{
    goapi_sha256_ctx ctx;

    goapi_sha256_init(&ctx);
    goapi_sha256_update(&ctx, goapi_idem_ledger_tag, sizeof(goapi_idem_ledger_tag));
    goapi_idem_hash_field(&ctx, scope);
    goapi_idem_hash_field(&ctx, key);
    goapi_sha256_final(&ctx, out);
}

void goapi_idem_fingerprint(unsigned char out[GOAPI_SHA256_LEN], const char *method,
                            const char *path, const char *query,
                            const unsigned char body_sha[GOAPI_SHA256_LEN],
                            const char *scope)
{
    goapi_sha256_ctx ctx;
    unsigned char has_query = query != NULL;

    goapi_sha256_init(&ctx);
    goapi_sha256_update(&ctx, goapi_idem_fingerprint_tag,
                        sizeof(goapi_idem_fingerprint_tag));
    goapi_idem_hash_field(&ctx, method);
    goapi_idem_hash_field(&ctx, path);
    /* "/a" and "/a?" are different requests. */
    goapi_sha256_update(&ctx, &has_query, 1);
    goapi_idem_hash_field(&ctx, query);
    goapi_sha256_update(&ctx, body_sha, GOAPI_SHA256_LEN);
    goapi_idem_hash_field(&ctx, scope);
    goapi_sha256_final(&ctx, out);
}

/* ---- replayed headers --------------------------------------------------- */

/* ASCII case folding only: header names are ASCII, and strcasecmp()
 * follows the locale. */
static int goapi_idem_name_eq(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

        if (x >= 'A' && x <= 'Z') {
            x = (unsigned char)(x - 'A' + 'a');
        }
        if (y >= 'A' && y <= 'Z') {
            y = (unsigned char)(y - 'A' + 'a');
        }
        if (x != y) {
            return 0;
        }
        if (x == '\0') {
            return 1;
        }
    }
}

int goapi_idem_header_kept(const char *name, const char *const *per_request)
{
    static const char *const dropped[] = {
        /* hop-by-hop */
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
        "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
        /* recomputed for the replay */
        "Content-Length", "Date", "Server", "Idempotent-Replayed",
    };
    apr_size_t i;

    if (name == NULL) {
        return 0;
    }
    for (i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
        if (goapi_idem_name_eq(name, dropped[i])) {
            return 0;
        }
    }
    for (; per_request != NULL && *per_request != NULL; per_request++) {
        if (goapi_idem_name_eq(name, *per_request)) {
            return 0;
        }
    }
    return 1;
}
