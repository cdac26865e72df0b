/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_trace.h — W3C Trace Context (https://www.w3.org/TR/trace-context/):
 * the traceparent and tracestate headers, and trace and span IDs drawn
 * without a system call.  Pure: APR and libc only.
 */
#ifndef GOAPI_TRACE_H
#define GOAPI_TRACE_H

#include <apr.h>
#include <apr_pools.h>

#define GOAPI_TRACE_ID_HEX      32
#define GOAPI_SPAN_ID_HEX       16
#define GOAPI_TRACEPARENT_LEN   55      /* version 00: 2+1+32+1+16+1+2 */
#define GOAPI_TRACESTATE_MEMBERS 32     /* most list members accepted */
#define GOAPI_TRACESTATE_MAX    512     /* longest tracestate passed on */
#define GOAPI_TRACESTATE_BIG    128     /* members dropped first past it */

#define GOAPI_TRACE_FLAG_SAMPLED 0x01u

typedef struct {
    char trace_id[GOAPI_TRACE_ID_HEX + 1];     /* lowercase hex, not all zero */
    char parent_id[GOAPI_SPAN_ID_HEX + 1];
    unsigned flags;
    unsigned version;
} goapi_traceparent;

/* Parse a traceparent value (optional whitespace around it is allowed).
 * Version 00 must be exactly 55 characters; a higher version (not ff) is
 * read by its version-00 prefix, which may be followed only by '-' and
 * more.  1 when valid (*out filled), else 0. */
int goapi_traceparent_parse(const char *value, goapi_traceparent *out);

/* Two lowercase hex digits of flags, NUL-terminated. */
void goapi_trace_flags_hex(char out[3], unsigned flags);

/* "00-<trace>-<span>-<flags>" into out (GOAPI_TRACEPARENT_LEN + 1 bytes;
 * the IDs must have their full lengths). */
void goapi_traceparent_format(char *out, const char *trace_id, const char *span_id,
                              unsigned flags);

/* A tracestate value (several headers joined by commas) as it is passed
 * on: members without the whitespace around them, empty ones left out, in
 * their order; past GOAPI_TRACESTATE_MAX characters, members longer than
 * GOAPI_TRACESTATE_BIG go first, then members from the end.  NULL when it
 * is empty, has more than GOAPI_TRACESTATE_MEMBERS members, or a member
 * that is not key=value as the specification's grammar says (the whole
 * header is then dropped). */
const char *goapi_tracestate_clean(apr_pool_t *p, const char *value);

/* IDs: a 64-bit counter mixed with a per-process random key (SplitMix64),
 * so distinct draws of one generator never repeat and nothing blocks. */
typedef struct {
    apr_uint64_t key[2];
    volatile apr_uint64_t counter;
} goapi_trace_gen;

void goapi_trace_seed(goapi_trace_gen *g, const unsigned char seed[24]);

/* A new trace ID (32 hex) or span ID (16 hex), never all zero,
 * NUL-terminated.  Thread-safe: one atomic add. */
void goapi_trace_new_trace_id(goapi_trace_gen *g, char out[GOAPI_TRACE_ID_HEX + 1]);
void goapi_trace_new_span_id(goapi_trace_gen *g, char out[GOAPI_SPAN_ID_HEX + 1]);

/* A deadline header's value: whole milliseconds, 1 to 9 digits and
 * nothing else.  -1 when it is not one. */
apr_int64_t goapi_deadline_ms_parse(const char *value);

#endif /* GOAPI_TRACE_H */
