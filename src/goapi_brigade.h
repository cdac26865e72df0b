/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_brigade.h — bytes kept in a brigade, taking memory by how many
 * they are, never by how they arrived.
 *
 * Each socket read of httpd's core input filter is a bucket with a buffer
 * of its own (8 000 bytes), however little it holds: a client that sends
 * one byte per write makes one such buffer per byte, and keeping those
 * buckets keeps every buffer.  Appending here copies the bytes into the
 * free end of the brigade's last buffer instead, and starts a new buffer
 * only once that one is full, so a brigade of n appended bytes holds at
 * most n + GOAPI_BRIGADE_CHUNK bytes of buffers whatever the sizes of the
 * appends (one bucket per GOAPI_BRIGADE_CHUNK bytes).  Pure: APR and
 * APR-util only.
 */
#ifndef GOAPI_BRIGADE_H
#define GOAPI_BRIGADE_H

#include <apr_buckets.h>

/* The size of a new buffer (the data's own size when larger). */
#define GOAPI_BRIGADE_CHUNK  8000

/* Append len bytes of data to bb. */
void goapi_brigade_append(apr_bucket_brigade *bb, const char *data, apr_size_t len);

/* Move everything from `from` to the end of `to`, in order: the bytes of
 * data buckets are appended (goapi_brigade_append) and their buckets
 * destroyed, metadata buckets moved as they are.  Returns the first read
 * error (from is then left with what was not taken yet), else APR_SUCCESS
 * with from empty.  *bytes (if not NULL) gets the bytes moved.  Buckets
 * are read as they are, so from should hold none that waits for its data
 * (a socket or a pipe): what httpd's filters hand on in memory. */
apr_status_t goapi_brigade_absorb(apr_bucket_brigade *to, apr_bucket_brigade *from,
                                  apr_off_t *bytes);

/* The bytes of buffers bb's heap buckets hold (their allocated size, not
 * their data): what keeping bb costs. */
apr_size_t goapi_brigade_held(apr_bucket_brigade *bb);

#endif /* GOAPI_BRIGADE_H */
