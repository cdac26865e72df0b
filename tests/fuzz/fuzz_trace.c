/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * fuzz_trace — goapi_traceparent_parse(), goapi_tracestate_clean() and
 * goapi_deadline_ms_parse() on the same value.
 *
 * Input: the value (up to a NUL), as a header would carry it.
 */
#include "fuzz.h"

#include "goapi_trace.h"

static int lower_hex(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

static void check_traceparent(const char *v)
{
    goapi_traceparent tp;
    char again[GOAPI_TRACEPARENT_LEN + 1];
    goapi_traceparent back;

    if (!goapi_traceparent_parse(v, &tp)) {
        return;
    }
    FUZZ_CHECK(strlen(tp.trace_id) == GOAPI_TRACE_ID_HEX && lower_hex(tp.trace_id, 32));
    FUZZ_CHECK(strlen(tp.parent_id) == GOAPI_SPAN_ID_HEX && lower_hex(tp.parent_id, 16));
    FUZZ_CHECK(strspn(tp.trace_id, "0") != GOAPI_TRACE_ID_HEX);
    FUZZ_CHECK(strspn(tp.parent_id, "0") != GOAPI_SPAN_ID_HEX);
    FUZZ_CHECK(tp.version != 0xff && tp.flags <= 0xff);
    /* what we forward parses back to the same trace */
    goapi_traceparent_format(again, tp.trace_id, tp.parent_id, tp.flags);
    FUZZ_CHECK(strlen(again) == GOAPI_TRACEPARENT_LEN);
    FUZZ_CHECK(goapi_traceparent_parse(again, &back));
    FUZZ_CHECK(strcmp(back.trace_id, tp.trace_id) == 0 && back.flags == tp.flags);
}

static void check_tracestate(apr_pool_t *p, const char *v)
{
    const char *out = goapi_tracestate_clean(p, v), *again;
    size_t n, members = 1, i;

    if (!out) {
        return;
    }
    n = strlen(out);
    FUZZ_CHECK(n >= 3 && n <= GOAPI_TRACESTATE_MAX);
    for (i = 0; i < n; i++) {
        FUZZ_CHECK(out[i] >= 0x20 && out[i] <= 0x7e && out[i] != '\t');
        members += out[i] == ',';
    }
    FUZZ_CHECK(members <= GOAPI_TRACESTATE_MEMBERS);
    FUZZ_CHECK(out[0] != ',' && out[n - 1] != ',' && !strstr(out, ",,"));
    /* what we forward is already clean */
    again = goapi_tracestate_clean(p, out);
    FUZZ_CHECK(again && strcmp(again, out) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *v = fuzz_dup(data, size, 1);
    apr_int64_t ms;

    check_traceparent(v);
    check_tracestate(p, v);
    ms = goapi_deadline_ms_parse(v);
    FUZZ_CHECK(ms >= -1 && ms <= 999999999);
    free(v);
    apr_pool_destroy(p);
    return 0;
}
