/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_replay_cache.h — completed idempotency records kept in a process,
 * so that retries of a key that process saw complete (or replayed) are
 * answered without asking the store.
 *
 * Safe because a completed record never changes: no store operation turns
 * it back or rewrites it, it only ends at its "expires".  An entry is used
 * until exactly then, and never an in-flight record.  Bounded in bytes
 * (the encodings it holds); the least recently used go first.  Shared by
 * the threads of a process (one mutex).  Pure: APR and libc only.
 */
#ifndef GOAPI_REPLAY_CACHE_H
#define GOAPI_REPLAY_CACHE_H

#include <apr_pools.h>
#include <apr_time.h>

#include "goapi_idem.h"

typedef struct goapi_replay_cache goapi_replay_cache;

/* A cache of at most max_bytes of records (NULL when max_bytes is 0, or
 * on failure); its memory is freed when p is destroyed. */
goapi_replay_cache *goapi_replay_cache_create(apr_size_t max_bytes, apr_pool_t *p);

/* The completed record of key, if held and live at now: copied into p. */
int goapi_replay_cache_get(goapi_replay_cache *c, const unsigned char key[GOAPI_SHA256_LEN],
                           apr_time_t now, goapi_idem_record *out, apr_pool_t *p);

/* Keep a completed record (anything else, or one larger than the cache, is
 * ignored), replacing what key held. */
void goapi_replay_cache_put(goapi_replay_cache *c, const unsigned char key[GOAPI_SHA256_LEN],
                            const goapi_idem_record *rec);

/* Entries and bytes held now. */
void goapi_replay_cache_size(goapi_replay_cache *c, apr_size_t *entries, apr_size_t *bytes);

#endif /* GOAPI_REPLAY_CACHE_H */
