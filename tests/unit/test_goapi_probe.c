/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * A probe's checks in kube-apiserver's text form, and ?exclude=.
 */
#include <string.h>

#include "unit.h"
#include "goapi_probe.h"

static const goapi_probe_check checks[] = {
    { "ping", 1, NULL },
    { "supervisor", 0, "no heartbeat for 6.2s" },
    { "db", 0, NULL },
};

static void test_excluded(void **state)
{
    (void)state;
    assert_true(goapi_probe_excluded("exclude=db", "db"));
    assert_true(goapi_probe_excluded("verbose&exclude=ping&exclude=db", "db"));
    assert_true(goapi_probe_excluded("exclude=ping;exclude=db", "ping"));
    assert_false(goapi_probe_excluded("exclude=db2", "db"));
    assert_false(goapi_probe_excluded("exclude=d", "db"));
    assert_false(goapi_probe_excluded("xexclude=db", "db"));
    assert_false(goapi_probe_excluded("exclude", "db"));
    assert_false(goapi_probe_excluded("exclude=", "db"));
    assert_false(goapi_probe_excluded("db", "db"));
    assert_false(goapi_probe_excluded(NULL, "db"));
    assert_false(goapi_probe_excluded("", "db"));
}

static void test_ok(void **state)
{
    (void)state;
    assert_true(goapi_probe_ok(checks, 1, NULL));
    assert_false(goapi_probe_ok(checks, 3, NULL));
    assert_false(goapi_probe_ok(checks, 3, "exclude=db"));
    assert_true(goapi_probe_ok(checks, 3, "exclude=db&exclude=supervisor"));
    assert_true(goapi_probe_ok(checks, 0, NULL));
}

static void test_verbose(void **state)
{
    (void)state;
    assert_string_equal(goapi_probe_verbose(unit_pool, "livez", checks, 1, "verbose"),
                        "[+]ping ok\nlivez check passed\n");
    assert_string_equal(goapi_probe_verbose(unit_pool, "livez", checks, 3, "verbose"),
                        "[+]ping ok\n[-]supervisor failed: no heartbeat for 6.2s\n"
                        "[-]db failed: failed\nlivez check failed\n");
    assert_string_equal(goapi_probe_verbose(unit_pool, "readyz", checks, 3,
                                            "verbose&exclude=supervisor&exclude=db"),
                        "[+]ping ok\n[+]supervisor excluded: ok\n[+]db excluded: ok\n"
                        "readyz check passed\n");
    /* an excluded name that is no check: a warning, the verdict unchanged */
    assert_string_equal(goapi_probe_verbose(unit_pool, "livez", checks, 1,
                                            "exclude=nope&verbose&exclude=x%22y"),
                        "[+]ping ok\nwarn: some health checks cannot be excluded: no "
                        "matches for \"nope\", \"x%22y\"\nlivez check passed\n");
    assert_string_equal(goapi_probe_verbose(unit_pool, "livez", checks, 1,
                                            "exclude=a\"b"),
                        "[+]ping ok\nwarn: some health checks cannot be excluded: no "
                        "matches for \"\"\nlivez check passed\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_excluded),
        cmocka_unit_test(test_ok),
        cmocka_unit_test(test_verbose),
    };

    return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
