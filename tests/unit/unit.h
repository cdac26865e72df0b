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

#define UNIT_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#endif /* GOAPI_UNIT_H */
