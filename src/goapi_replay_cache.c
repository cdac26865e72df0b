/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_replay_cache.c — completed records kept in a process (see
 * goapi_replay_cache.h).  A hash table of chains by the ledger key (itself
 * a SHA-256: its first bytes are the hash) and a list from the most to the
 * least recently used; each entry holds the record's encoding.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <apr_thread_mutex.h>

#include "goapi_replay_cache.h"

#define GOAPI_CACHE_BUCKETS 1024        /* a power of two */

typedef struct goapi_cache_entry {
    unsigned char key[GOAPI_SHA256_LEN];
    apr_time_t expires;
    apr_size_t len;
    struct goapi_cache_entry *chain;            /* same bucket */
    struct goapi_cache_entry *newer, *older;    /* use order */
    unsigned char bytes[1];                     /* the encoding, len bytes */
} goapi_cache_entry;

struct goapi_replay_cache {
    apr_thread_mutex_t *lock;
    apr_size_t max_bytes, bytes, entries;
    goapi_cache_entry *bucket[GOAPI_CACHE_BUCKETS];
    goapi_cache_entry *newest, *oldest;
};

static goapi_cache_entry **goapi_cache_slot(goapi_replay_cache *c,
                                            const unsigned char key[GOAPI_SHA256_LEN])
{
    unsigned h = ((unsigned)key[0] << 8 | key[1]) & (GOAPI_CACHE_BUCKETS - 1);
    goapi_cache_entry **e = &c->bucket[h];

    while (*e && memcmp((*e)->key, key, GOAPI_SHA256_LEN) != 0) {
        e = &(*e)->chain;
    }
    return e;           /* where key is, or the end of its chain */
}

static void goapi_cache_unlink(goapi_replay_cache *c, goapi_cache_entry *e)
{
    if (e->newer) {
        e->newer->older = e->older;
    }
    else {
        c->newest = e->older;
    }
    if (e->older) {
        e->older->newer = e->newer;
    }
    else {
        c->oldest = e->newer;
    }
    e->newer = e->older = NULL;
}

static void goapi_cache_push(goapi_replay_cache *c, goapi_cache_entry *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest) {
        c->newest->newer = e;
    }
    c->newest = e;
    if (!c->oldest) {
        c->oldest = e;
    }
}

/* Remove the entry at *slot from everything and free it. */
static void goapi_cache_drop(goapi_replay_cache *c, goapi_cache_entry **slot)
{
    goapi_cache_entry *e = *slot;

    if (!e) {
        return;         /* every listed entry is in its chain: not reached */
    }
    *slot = e->chain;
    goapi_cache_unlink(c, e);
    c->bytes -= e->len;
    c->entries--;
    free(e);
}

static apr_status_t goapi_cache_free(void *data)
{
    goapi_replay_cache *c = data;

    while (c->oldest) {
        goapi_cache_drop(c, goapi_cache_slot(c, c->oldest->key));
    }
    return APR_SUCCESS;
}

goapi_replay_cache *goapi_replay_cache_create(apr_size_t max_bytes, apr_pool_t *p)
{
    goapi_replay_cache *c;

    if (!max_bytes) {
        return NULL;
    }
    c = apr_pcalloc(p, sizeof(*c));
    if (apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS) {
        return NULL;
    }
    c->max_bytes = max_bytes;
    apr_pool_cleanup_register(p, c, goapi_cache_free, apr_pool_cleanup_null);
    return c;
}

int goapi_replay_cache_get(goapi_replay_cache *c, const unsigned char key[GOAPI_SHA256_LEN],
                           apr_time_t now, goapi_idem_record *out, apr_pool_t *p)
{
    goapi_cache_entry **slot;
    int found = 0;

    if (!c) {
        return 0;
    }
    apr_thread_mutex_lock(c->lock);
    slot = goapi_cache_slot(c, key);
    if (*slot && (*slot)->expires <= now) {
        goapi_cache_drop(c, slot);      /* it ended: nothing is known of the key */
    }
    else if (*slot) {
        goapi_cache_unlink(c, *slot);
        goapi_cache_push(c, *slot);
        found = goapi_idem_decode(out, (*slot)->bytes, (*slot)->len, p) == APR_SUCCESS;
    }
    apr_thread_mutex_unlock(c->lock);
    return found;
}

void goapi_replay_cache_put(goapi_replay_cache *c, const unsigned char key[GOAPI_SHA256_LEN],
                            const goapi_idem_record *rec)
{
    goapi_cache_entry **slot, *e;
    apr_size_t len;

    if (!c || rec->state != GOAPI_IDEM_COMPLETED) {
        return;
    }
    len = goapi_idem_encoded_size(rec);
    if (!len || len > c->max_bytes
        || !(e = malloc(offsetof(goapi_cache_entry, bytes) + len))) {
        return;
    }
    memcpy(e->key, key, GOAPI_SHA256_LEN);
    e->expires = rec->expires;
    e->len = len;
    e->chain = NULL;
    goapi_idem_encode(rec, e->bytes);
    apr_thread_mutex_lock(c->lock);
    slot = goapi_cache_slot(c, key);
    if (*slot) {
        goapi_cache_drop(c, slot);
    }
    while (c->oldest && c->bytes + len > c->max_bytes) {
        goapi_cache_drop(c, goapi_cache_slot(c, c->oldest->key));
    }
    *goapi_cache_slot(c, key) = e;
    goapi_cache_push(c, e);
    c->bytes += len;
    c->entries++;
    apr_thread_mutex_unlock(c->lock);
}

void goapi_replay_cache_size(goapi_replay_cache *c, apr_size_t *entries, apr_size_t *bytes)
{
    *entries = *bytes = 0;
    if (c) {
        apr_thread_mutex_lock(c->lock);
        *entries = c->entries;
        *bytes = c->bytes;
        apr_thread_mutex_unlock(c->lock);
    }
}
