/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * A record's fields from the table that declares them: made unset by kind,
 * merged by scope (the record's own when set, the main server's, never
 * inherited, or together with the field before it), and given their
 * defaults once, a field without one left unset.
 */
#include <stddef.h>
#include <string.h>

#include "unit.h"
#include "goapi_fields.h"

typedef struct {
    int number;
    apr_int64_t wide;
    int zero_unset;
    apr_int64_t wide_zero_unset;
    const char *text;
    int main_only;
    int own;
    int limit;
    int counter;
    int no_default;
} rec;

#define ROW(field, kind, scope, has, def, sdef) \
    { offsetof(rec, field), (kind), (scope), (has), (def), (sdef) }

static const goapi_field table[] = {
    ROW(number, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 1, 7, NULL),
    ROW(wide, GOAPI_FIELD_I64, GOAPI_SCOPE_MERGED, 1, APR_INT64_C(5000000000), NULL),
    ROW(zero_unset, GOAPI_FIELD_INT0, GOAPI_SCOPE_MERGED, 1, 3, NULL),
    ROW(wide_zero_unset, GOAPI_FIELD_I64_0, GOAPI_SCOPE_MERGED, 1, 12, NULL),
    ROW(text, GOAPI_FIELD_PTR, GOAPI_SCOPE_MERGED, 1, 0, "X-Default"),
    ROW(main_only, GOAPI_FIELD_INT, GOAPI_SCOPE_MAIN, 1, 1, NULL),
    ROW(own, GOAPI_FIELD_INT0, GOAPI_SCOPE_OWN, 0, 0, NULL),
    ROW(limit, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 0, 0, NULL),
    ROW(counter, GOAPI_FIELD_INT0, GOAPI_SCOPE_WITH_PREVIOUS, 0, 0, NULL),
    ROW(no_default, GOAPI_FIELD_INT, GOAPI_SCOPE_MERGED, 0, 0, NULL),
};

static void unset(rec *r)
{
    memset(r, 0, sizeof(*r));
    goapi_fields_unset(r, table, GOAPI_FIELDS(table));
}

static void test_unset_by_kind(void **state)
{
    rec r;

    (void)state;
    unset(&r);
    assert_int_equal(r.number, -1);
    assert_true(r.wide == -1);
    assert_int_equal(r.zero_unset, 0);
    assert_true(r.wide_zero_unset == 0);
    assert_null(r.text);
    assert_int_equal(r.main_only, -1);
    assert_int_equal(r.own, 0);
    assert_int_equal(r.limit, -1);
    assert_int_equal(r.counter, 0);
}

static void test_merge_by_scope(void **state)
{
    rec base, add, out;

    (void)state;
    unset(&base);
    unset(&add);
    base.number = 1;
    base.wide = 100;
    base.text = "X-Base";
    base.main_only = 0;
    base.own = 1;
    base.zero_unset = 4;
    add.number = 2;                     /* set here: wins */
    add.main_only = 1;                  /* main server only: the base's */
    memset(&out, 0x5a, sizeof(out));
    goapi_fields_merge(&out, &base, &add, table, GOAPI_FIELDS(table));
    assert_int_equal(out.number, 2);
    assert_true(out.wide == 100);
    assert_string_equal(out.text, "X-Base");
    assert_int_equal(out.main_only, 0);
    assert_int_equal(out.own, 0);       /* never inherited */
    assert_int_equal(out.zero_unset, 4);
    assert_int_equal(out.no_default, -1);
}

static void test_merge_with_previous(void **state)
{
    rec base, add, out;

    (void)state;
    unset(&base);
    unset(&add);
    base.limit = 1;
    base.counter = 3;
    /* a limit given here takes its counter along, even "none" (0) */
    add.limit = 1;
    add.counter = 0;
    goapi_fields_merge(&out, &base, &add, table, GOAPI_FIELDS(table));
    assert_int_equal(out.limit, 1);
    assert_int_equal(out.counter, 0);
    /* none given here: both the parent's */
    unset(&add);
    add.counter = 9;                    /* without its limit: ignored */
    goapi_fields_merge(&out, &base, &add, table, GOAPI_FIELDS(table));
    assert_int_equal(out.limit, 1);
    assert_int_equal(out.counter, 3);
}

static void test_resolve_defaults(void **state)
{
    rec r;

    (void)state;
    unset(&r);
    goapi_fields_resolve(&r, table, GOAPI_FIELDS(table));
    assert_int_equal(r.number, 7);
    assert_true(r.wide == APR_INT64_C(5000000000));
    assert_int_equal(r.zero_unset, 3);
    assert_true(r.wide_zero_unset == 12);
    assert_string_equal(r.text, "X-Default");
    assert_int_equal(r.main_only, 1);
    assert_int_equal(r.no_default, -1);  /* no default: stays unset */
    assert_int_equal(r.limit, -1);
    /* values set are kept, 0 among them where -1 is unset */
    unset(&r);
    r.number = 0;
    r.text = "";
    r.wide = 0;
    goapi_fields_resolve(&r, table, GOAPI_FIELDS(table));
    assert_int_equal(r.number, 0);
    assert_string_equal(r.text, "");
    assert_true(r.wide == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unset_by_kind),
        cmocka_unit_test(test_merge_by_scope),
        cmocka_unit_test(test_merge_with_previous),
        cmocka_unit_test(test_resolve_defaults),
    };

    return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
