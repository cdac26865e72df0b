/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * unit.h — shared setup for the cmocka unit tests: APR initialised once and
 * one pool per test, cleared afterwards.
 */
#ifndef GOAPI_UNIT_H
#define GOAPI_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_pools.h>

static apr_pool_t *unit_pool;

static int unit_setup(void **state)
{
    (void)state;
    if (apr_initialize() != APR_SUCCESS) {
        return -1;
    }
    return apr_pool_create(&unit_pool, NULL) == APR_SUCCESS ? 0 : -1;
}

static int unit_teardown(void **state)
{
    (void)state;
    apr_pool_destroy(unit_pool);
    apr_terminate();
    return 0;
}

/* A fresh directory /tmp/<prefix>-XXXXXX in dir (at least 64 bytes):
 * 0, or -1. */
static inline int unit_make_dir(char *dir, size_t size, const char *prefix)
{
    snprintf(dir, size, "/tmp/%s-XXXXXX", prefix);
    return mkdtemp(dir) ? 0 : -1;
}

/* Remove a directory made by unit_make_dir() with all it holds: 0, or -1. */
static inline int unit_remove_dir(const char *dir)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    /* NOLINTNEXTLINE(cert-env33-c,concurrency-mt-unsafe): fixed command, one thread */
    return system(cmd) == 0 ? 0 : -1;
}

/* A group's setup (unit_setup()) with a fresh directory dir made by
 * unit_make_dir(): 0, or -1. */
static inline int unit_setup_dir(void **state, char *dir, size_t size, const char *prefix)
{
    if (unit_setup(state) != 0) {
        return -1;
    }
    return unit_make_dir(dir, size, prefix);
}

/* A group's teardown (unit_teardown()) that removes dir, made by
 * unit_setup_dir(), first: 0, or -1. */
static inline int unit_teardown_dir(void **state, const char *dir)
{
    if (dir[0] && unit_remove_dir(dir) != 0) {
        return -1;
    }
    return unit_teardown(state);
}

#define UNIT_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#endif /* GOAPI_UNIT_H */
