/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_metrics_int.h — what goapi_metrics.c (the counters) and
 * goapi_metrics_render.c (their scrape) share, and nothing else includes.
 */
#ifndef GOAPI_METRICS_INT_H
#define GOAPI_METRICS_INT_H

#include "goapi_metrics.h"

/* The state of a hook's name in the region's table. */
#define GOAPI_HOOK_FREE   0u
#define GOAPI_HOOK_NAMING 1u
#define GOAPI_HOOK_NAMED  2u

/* A consistent copy of exemplar e into *out (its writer never waits, so a
 * copy torn by a write is tried again, a few times): 1, or 0 when none was
 * written or no copy was consistent. */
int goapi_metrics_exemplar_read(const goapi_metrics_exemplar *e, goapi_metrics_exemplar *out);

#endif /* GOAPI_METRICS_INT_H */
