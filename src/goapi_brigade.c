/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_brigade.c — see goapi_brigade.h.
 */
#include <stddef.h>     /* first: APR's ring macros then use offsetof */
#include <string.h>

#include "goapi_brigade.h"

/* The free room at the end of bb's last bucket, where appended bytes may
 * go: a heap bucket no other bucket shares, whose data ends the brigade. */
static char *goapi_brigade_room(apr_bucket_brigade *bb, apr_size_t *room)
{
    apr_bucket *last;
    apr_bucket_heap *h;
    apr_size_t end;

    *room = 0;
    if (APR_BRIGADE_EMPTY(bb)) {
        return NULL;
    }
    last = APR_BRIGADE_LAST(bb);
    if (!APR_BUCKET_IS_HEAP(last)) {
        return NULL;
    }
    h = last->data;
    if (h->refcount.refcount != 1) {
        return NULL;
    }
    end = (apr_size_t)last->start + last->length;
    if (end >= h->alloc_len) {
        return NULL;
    }
    *room = h->alloc_len - end;
    return h->base + end;
}

void goapi_brigade_append(apr_bucket_brigade *bb, const char *data, apr_size_t len)
{
    apr_size_t room, size;
    char *tail = goapi_brigade_room(bb, &room);
    apr_bucket *e;
    char *buf;

    if (tail && len) {
        apr_size_t n = len < room ? len : room;

        memcpy(tail, data, n);
        APR_BRIGADE_LAST(bb)->length += n;
        data += n;
        len -= n;
    }
    if (!len) {
        return;
    }
    size = len > GOAPI_BRIGADE_CHUNK ? len : GOAPI_BRIGADE_CHUNK;
    buf = apr_bucket_alloc(size, bb->bucket_alloc);
    memcpy(buf, data, len);
    e = apr_bucket_heap_create(buf, size, apr_bucket_free, bb->bucket_alloc);
    e->length = len;        /* the rest of the buffer is room for the next */
    APR_BRIGADE_INSERT_TAIL(bb, e);
}

apr_status_t goapi_brigade_absorb(apr_bucket_brigade *to, apr_bucket_brigade *from,
                                  apr_off_t *bytes)
{
    apr_off_t moved = 0;
    apr_status_t rv = APR_SUCCESS;

    while (!APR_BRIGADE_EMPTY(from)) {
        apr_bucket *e = APR_BRIGADE_FIRST(from);
        const char *data;
        apr_size_t len;

        if (APR_BUCKET_IS_METADATA(e)) {
            APR_BUCKET_REMOVE(e);
            APR_BRIGADE_INSERT_TAIL(to, e);
            continue;
        }
        rv = apr_bucket_read(e, &data, &len, APR_BLOCK_READ);
        if (rv != APR_SUCCESS) {
            break;
        }
        goapi_brigade_append(to, data, len);
        moved += (apr_off_t)len;
        apr_bucket_delete(e);
    }
    if (bytes) {
        *bytes = moved;
    }
    return rv;
}

apr_size_t goapi_brigade_held(apr_bucket_brigade *bb)
{
    apr_size_t held = 0;
    apr_bucket *e;

    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb); e = APR_BUCKET_NEXT(e)) {
        if (APR_BUCKET_IS_HEAP(e)) {
            held += ((apr_bucket_heap *)e->data)->alloc_len;
        }
    }
    return held;
}
