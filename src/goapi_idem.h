/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_idem.h — idempotency records: what the ledger keeps per key, its
 * byte encoding, the fingerprint of a request and which response headers a
 * replay carries.  Pure: APR and libc only.
 *
 * A record is either IN FLIGHT (a request holds the key) or COMPLETED (the
 * response to replay).  An in-flight record whose lease has ended belongs to
 * a request that died or outlived its lease: whether its operation ran is
 * unknown, and stays unknown until the record's end.  Records
 * come back from a store that may have been corrupted or written by another
 * version: the decoder checks every length and field and rejects what does
 * not add up, it never trusts them.
 */
#ifndef GOAPI_IDEM_H
#define GOAPI_IDEM_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "goapi_sha256.h"

typedef enum {
    GOAPI_IDEM_IN_FLIGHT = 1,
    GOAPI_IDEM_COMPLETED = 2
} goapi_idem_state;

/* Record flags. */
#define GOAPI_IDEM_F_REPLAYABLE  0x01u  /* completed, response kept in full */

typedef struct {
    const char *name;
    const char *value;
} goapi_idem_header;

typedef struct {
    goapi_idem_state state;
    unsigned flags;                     /* GOAPI_IDEM_F_* */
    apr_uint64_t claim_id;              /* the claim that wrote the record */
    apr_time_t created;                 /* when the key was claimed */
    apr_time_t expires;                 /* the record's end: nothing about the
                                         * key is known after it */
    apr_time_t lease_end;               /* in flight: the holder is presumed
                                         * to be running until then; after
                                         * it the outcome is unknown */
    unsigned char fingerprint[GOAPI_SHA256_LEN];
    int status;                         /* completed: HTTP status, 100-599 */
    apr_array_header_t *headers;        /* goapi_idem_header; may be NULL */
    const char *body;                   /* completed and replayable */
    apr_size_t body_len;
} goapi_idem_record;

/* Limits the codec enforces, on both sides. */
#define GOAPI_IDEM_MAX_HEADERS       100
#define GOAPI_IDEM_MAX_HEADER_BYTES  8192    /* one name or value */

/* The first bytes of the encoding of an in-flight record (magic, version,
 * state, flags 0 and claim_id): they name the claim.  A shared store checks
 * that a key still begins with them before it lets the claim complete or
 * release it (fencing). */
#define GOAPI_IDEM_TOKEN_LEN 14
void goapi_idem_claim_token(apr_uint64_t claim_id, unsigned char out[GOAPI_IDEM_TOKEN_LEN]);

/* Size of the encoding of rec; 0 if rec cannot be encoded (a field out of
 * range: state, status, too many or too long headers, a header name that is
 * not a token, a value with CR, LF or NUL). */
apr_size_t goapi_idem_encoded_size(const goapi_idem_record *rec);

/* Write the encoding (exactly goapi_idem_encoded_size() bytes) into buf. */
void goapi_idem_encode(const goapi_idem_record *rec, unsigned char *buf);

/* Decode len bytes into rec, copying headers and body into p.  APR_SUCCESS,
 * or APR_EINVAL for anything malformed (rec is then unspecified). */
apr_status_t goapi_idem_decode(goapi_idem_record *rec, const void *buf,
                               apr_size_t len, apr_pool_t *p);

/* What a request that finds a record for its key gets. */
typedef enum {
    GOAPI_HELD_REPLAY = 1,              /* completed, response kept: replay it */
    GOAPI_HELD_NOT_REPLAYABLE,          /* completed, response not kept: final */
    GOAPI_HELD_IN_PROGRESS,             /* in flight within its lease: retry later */
    GOAPI_HELD_OUTCOME_UNKNOWN,         /* in flight past its lease: final */
    GOAPI_HELD_REUSED                   /* the key of another request */
} goapi_idem_verdict;

/* The verdict on a live record held (expires > now) for a request of
 * fingerprint fp. */
goapi_idem_verdict goapi_idem_judge(const goapi_idem_record *held,
                                    const unsigned char fp[GOAPI_SHA256_LEN],
                                    apr_time_t now);

/* How a key appears in logs: the first 12 hex digits of the SHA-256 of
 * its text (sha256sum of the key as sent, decoded), NUL-terminated.  Enough
 * to correlate; the key itself may be a secret. */
#define GOAPI_IDEM_DIGEST_LEN 12
void goapi_idem_key_digest(char out[GOAPI_IDEM_DIGEST_LEN + 1], const char *key);

/* n bytes as 2n lowercase hex digits into out (no terminator); returns
 * out + 2n. */
char *goapi_idem_hex(const unsigned char *in, apr_size_t n, char *out);

/* The ledger key of an Idempotency-Key: SHA-256 over the scope and the key,
 * so keys of different scopes never meet and any key fits the store. */
void goapi_idem_ledger_key(unsigned char out[GOAPI_SHA256_LEN], const char *scope,
                           const char *key);

/* The fingerprint of a request: SHA-256 over method, path, query (NULL for
 * none, which differs from an empty query), the SHA-256 of the body and the
 * scope, each length-prefixed so that no two inputs collide by shifting
 * bytes from one field to the next. */
void goapi_idem_fingerprint(unsigned char out[GOAPI_SHA256_LEN], const char *method,
                            const char *path, const char *query,
                            const unsigned char body_sha[GOAPI_SHA256_LEN],
                            const char *scope);

/* 1 when a response header of this name is stored for replays: not
 * hop-by-hop (Connection, Keep-Alive, Proxy-*, TE, Trailer,
 * Transfer-Encoding, Upgrade), not recomputed on replay (Content-Length,
 * Date, Server), not one of the per-request names given (NULL-terminated,
 * e.g. the request and correlation ID headers), and not
 * Idempotent-Replayed.  Case-insensitive. */
int goapi_idem_header_kept(const char *name, const char *const *per_request);

#endif /* GOAPI_IDEM_H */
