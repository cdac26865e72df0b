/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * The PostgreSQL ledger (apr_dbd's pgsql driver) against a real postgres
 * (Debian's), initialised here in a temp dir (as the postgres user when
 * run as root), on a free loopback port, and stopped by its pid
 * (unit_services.h), beyond the contract every store keeps (that is
 * test_goapi_store_contract.c): the schema made on first use and as it
 * ships, a claim sent again still ours, the state column, sweeping in
 * batches, the counter unique across stores, SQL in keys, bodies and
 * counter names kept as data, the server down (failing at once after a
 * failed connect) and back, a connection lost under a write ("unsure") and
 * its orphaned claim released, a statement cut by the lender's clock,
 * statements prepared again after a reset, a read-only server, and a user
 * without the privilege to make the schema.  Skipped when PostgreSQL or
 * the pgsql driver is not installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_dbd.h>
#include <apr_strings.h>

#include "unit_services.h"
#include "goapi_store_dbd.h"

#define SEC(n) ((apr_time_t)(n) * APR_USEC_PER_SEC)
#define GOAPI_TEST_RETRY (600 * 1000)    /* past the store's pause after a failed connect */

static unit_pg pg;

/* One statement on a connection of its own: 0, or the driver's code. */
static int admin(const char *sql)
{
    return unit_pg_query(&pg, sql);
}

/* The first column of the first row of a query, or NULL. */
static const char *admin_value(const char *sql)
{
    apr_pool_t *p;
    apr_dbd_t *h = NULL;
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *v = NULL, *err = NULL;

    apr_pool_create(&p, unit_pool);
    if (apr_dbd_open_ex(pg.driver, p, unit_pg_params(&pg, "goapi", "postgres"), &h,
                        &err) == APR_SUCCESS) {
        if (apr_dbd_select(pg.driver, p, h, &res, sql, 1) == 0
            && apr_dbd_get_row(pg.driver, p, res, &row, -1) == 0) {
            v = apr_pstrdup(unit_pool, apr_dbd_get_entry(pg.driver, row, 0));
        }
        apr_dbd_close(pg.driver, h);
    }
    apr_pool_destroy(p);
    return v;
}

static goapi_store *open_store_kept(const char *user, const char *db, int keep,
                                    unit_pg_lender **out)
{
    goapi_store *st = NULL;

    assert_int_equal(unit_pg_store(&pg, user, db, keep, &st, out, unit_pool), APR_SUCCESS);
    return st;
}

static goapi_store *open_store_as(const char *user, const char *db, unit_pg_lender **out)
{
    return open_store_kept(user, db, 0, out);
}

static goapi_store *open_store(void)
{
    return open_store_as("goapi", "postgres", NULL);
}

/* ---- the schema, its rows and its statements ------------------------- */

static void test_schema_made_on_first_use(void **state)
{
    goapi_store *st = open_store();

    (void)state;
    assert_int_equal(admin("DROP TABLE IF EXISTS goapi_idempotency, "
                           "goapi_idempotency_counters"), 0);
    assert_string_equal(admin_value("SELECT to_regclass('goapi_idempotency') IS NULL"), "t");
    assert_int_equal(st->ops->ping(st), APR_SUCCESS);
    assert_string_equal(admin_value("SELECT count(*) FROM pg_indexes WHERE indexname = "
                                    "'goapi_idempotency_expires_at'"), "1");
    assert_string_equal(admin_value("SELECT data_type FROM information_schema.columns "
                                    "WHERE table_name = 'goapi_idempotency' AND "
                                    "column_name = 'key'"), "bytea");
}

/* The same claim sent again (a retry on a new connection) is still ours;
 * a completed row says so in its state column. */
static void test_claim_sent_again_and_the_state_column(void **state)
{
    goapi_store *st = open_store();
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = unit_in_flight(11, now, SEC(60), SEC(3600)), got, done;
    goapi_claim_result res = GOAPI_CLAIM_HELD;

    (void)state;
    unit_key_of(k, "pg-1");
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    res = GOAPI_CLAIM_HELD;
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    assert_string_equal(admin_value("SELECT state FROM goapi_idempotency WHERE "
                                    "claim_id = 11"), "1");
    done = unit_completed(&mine, SEC(3600), "dispatch 1 created\n", unit_pool);
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    assert_string_equal(admin_value("SELECT state FROM goapi_idempotency WHERE "
                                    "claim_id = 11"), "2");
}

static void test_sweep_in_batches(void **state)
{
    goapi_store *st = open_store();
    apr_size_t removed = 0;

    (void)state;
    assert_int_equal(admin("INSERT INTO goapi_idempotency SELECT decode(lpad(to_hex(g), 64, "
                           "'0'), 'hex'), 1, g, 0, now() - interval '1 hour', '\\x00'::bytea "
                           "FROM generate_series(1, 1234) g"), 0);
    assert_int_equal(st->ops->sweep(st, apr_time_now(), &removed), APR_SUCCESS);
    assert_true(removed >= 1234);
    assert_string_equal(admin_value("SELECT count(*) FROM goapi_idempotency WHERE "
                                    "expires_at <= now()"), "0");
}

static void test_counter_unique_across_stores(void **state)
{
    goapi_store *a = open_store(), *b = open_store();
    apr_uint64_t v1 = 0, v2 = 0, v3 = 0;

    (void)state;
    admin("DELETE FROM goapi_idempotency_counters");
    assert_int_equal(a->ops->next(a, "dispatch", &v1), APR_SUCCESS);
    assert_int_equal(b->ops->next(b, "dispatch", &v2), APR_SUCCESS);
    assert_int_equal(a->ops->next(a, "dispatch", &v3), APR_SUCCESS);
    assert_true(v1 == 1 && v2 == 2 && v3 == 3);
    /* SQL in a counter's name is a name */
    assert_int_equal(a->ops->next(a, "x'); DROP TABLE goapi_idempotency; --", &v1),
                     APR_SUCCESS);
    assert_true(v1 == 1);
    assert_string_equal(admin_value("SELECT to_regclass('goapi_idempotency') IS NOT NULL"),
                        "t");
}

static void test_sql_in_keys_and_bodies_is_data(void **state)
{
    goapi_store *st = open_store();
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = unit_in_flight(41, now, SEC(60), SEC(3600)), got, done;
    goapi_claim_result res;
    const char *body = "'); DELETE FROM goapi_idempotency; -- \\x00 %s $1 \"\n";

    (void)state;
    unit_key_of(k, "'; DROP TABLE goapi_idempotency; --");
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool), APR_SUCCESS);
    done = unit_completed(&mine, SEC(3600), body, unit_pool);
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_int_equal(got.body_len, strlen(body));
    assert_memory_equal(got.body, body, got.body_len);
    assert_string_equal(admin_value("SELECT count(*) > 0 FROM goapi_idempotency"), "t");
}

static void test_shipped_schema_is_the_one_made(void **state)
{
    char buf[4096];
    FILE *f = fopen("conf/goapi-ledger.sql", "r");
    size_t n;

    (void)state;
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_non_null(strstr(buf, goapi_store_dbd_schema));
    /* and it runs as it ships */
    assert_int_equal(admin(buf), 0);
}

/* ---- failures ------------------------------------------------------------ */

static void test_server_down_and_back(void **state)
{
    goapi_store *st = open_store();
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now(), t0;
    goapi_idem_record mine = unit_in_flight(51, now, SEC(60), SEC(3600)), got;
    goapi_claim_result res;
    apr_status_t rv;
    int i;

    (void)state;
    unit_key_of(k, "pg-down");
    assert_int_equal(st->ops->ping(st), APR_SUCCESS);
    unit_pg_stop(&pg);
    /* the pooled connection's statement got no answer, and a new one none */
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(st->ops->error(st, rv), "cannot connect"));
    /* after a failed connect: at once, without a new one */
    t0 = apr_time_now();
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_true(apr_time_now() - t0 < 50000);
    assert_non_null(strstr(st->ops->error(st, rv), "no new try before then"));
    assert_int_not_equal(st->ops->ping(st), APR_SUCCESS);

    assert_int_equal(unit_pg_start(&pg), 0);
    for (i = 0; i < 40 && st->ops->ping(st) != APR_SUCCESS; i++) {
        apr_sleep(100000);
    }
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
}

static void test_lost_connection_is_unsure_and_orphan_released(void **state)
{
    unit_pg_lender *l;
    goapi_store *st = open_store_as("goapi", "postgres", &l);
    unsigned char k[GOAPI_SHA256_LEN], k2[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = unit_in_flight(61, now, SEC(60), SEC(3600)), got;
    goapi_idem_record other = unit_in_flight(62, now, SEC(60), SEC(3600));
    goapi_claim_result res;
    apr_size_t released = 0, left = 0;
    apr_status_t rv;

    (void)state;
    unit_key_of(k, "pg-unsure");
    unit_key_of(k2, "pg-unsure-landed");
    assert_int_equal(st->ops->ping(st), APR_SUCCESS);   /* a pooled connection */
    /* its server process ends under it: the claim is sent again on a new
     * connection, and answered */
    assert_int_equal(unit_pg_cut_clients(&pg), 0);
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    assert_int_equal(l->broken, 1);
    assert_int_equal(st->ops->release(st, k, 61), APR_SUCCESS);

    /* the server gone under a pooled connection: no answer, and no new
     * connection either: the claim is in doubt */
    assert_int_equal(st->ops->ping(st), APR_SUCCESS);
    unit_pg_stop(&pg);
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_true(goapi_store_unsure(st, rv));
    assert_non_null(strstr(st->ops->error(st, rv), "no answer to goapi_claim"));
    assert_int_equal(goapi_store_orphan(st, k, &mine), APR_SUCCESS);
    assert_int_equal(unit_pg_start(&pg), 0);
    apr_sleep(GOAPI_TEST_RETRY);

    /* a claim that did land, orphaned: released, fenced, when settled */
    assert_int_equal(st->ops->claim(st, k2, &other, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    assert_int_equal(goapi_store_orphan(st, k2, &other), APR_SUCCESS);
    assert_int_equal(st->ops->settle(st, &released, &left), APR_SUCCESS);
    assert_true(released == 1);
    assert_true(left == 2);             /* both watched until their lease ends */
    assert_int_equal(st->ops->lookup(st, k2, &got, unit_pool), APR_NOTFOUND);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_NOTFOUND);
}

/* A statement the lender cut (no answer within its timeout): a write in
 * doubt, named a timeout, not sent again on a new connection; the server is
 * then taken as down for a moment (at once, without a connection), and the
 * next try that gets through clears it. */
static void test_statement_cut_is_a_timeout(void **state)
{
    unit_pg_lender *l;
    goapi_store *st = open_store_kept("goapi", "postgres", 1, &l);
    unsigned char k[GOAPI_SHA256_LEN], k2[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now(), t0;
    goapi_idem_record mine = unit_in_flight(71, now, SEC(60), SEC(3600)), got;
    goapi_idem_record other = unit_in_flight(72, now, SEC(60), SEC(3600));
    goapi_claim_result res;
    apr_status_t rv;
    int lent;

    (void)state;
    unit_key_of(k, "pg-cut");
    unit_key_of(k2, "pg-cut-after");
    /* the claim's statement prepared on the pooled connection */
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(st->ops->release(st, k, 71), APR_SUCCESS);
    lent = l->lent;
    l->cut_next = 1;
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_equal(l->cut_rc, 0);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_true(goapi_store_unsure(st, rv));
    assert_string_equal(st->ops->error(st, rv),
                        "timed out: no answer to goapi_claim within 250 ms: it may have "
                        "been applied (a stopped server applies it when it resumes)");
    assert_int_equal(l->lent, lent + 1);            /* no second connection */
    /* taken as down: at once, without asking for a connection */
    t0 = apr_time_now();
    rv = st->ops->claim(st, k2, &other, now, 0, &res, &got, unit_pool);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_false(goapi_store_unsure(st, rv));
    assert_true(apr_time_now() - t0 < 50000);
    assert_non_null(strstr(st->ops->error(st, rv), "timed out: no answer to goapi_claim"));
    assert_non_null(strstr(st->ops->error(st, rv), "no new try before then"));
    assert_int_equal(l->lent, lent + 1);
    /* a try after the pause gets through, and the store is up again */
    apr_sleep(GOAPI_TEST_RETRY);
    assert_int_equal(st->ops->claim(st, k2, &other, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
    assert_int_equal(st->ops->release(st, k2, 72), APR_SUCCESS);
    assert_int_equal(st->ops->ping(st), APR_SUCCESS);
}

static void test_statements_kept_and_made_again_after_a_reset(void **state)
{
    unit_pg_lender *l;
    goapi_store *st = open_store_kept("goapi", "postgres", 1, &l);
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = unit_in_flight(65, now, SEC(60), SEC(3600)), got, done;
    goapi_claim_result res;

    (void)state;
    unit_key_of(k, "pg-kept");
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_string_equal(admin_value("SELECT count(*) > 0 FROM pg_stat_activity WHERE "
                                    "query LIKE 'EXECUTE%' OR query LIKE '%goapi_claim%'"),
                        "t");
    /* the session ends under the pooled connection; the driver reconnects
     * it in place (mod_dbd's check), its statement table now stale */
    assert_int_equal(unit_pg_cut_clients(&pg), 0);
    done = unit_completed(&mine, SEC(3600), "kept\n", unit_pool);
    assert_int_equal(st->ops->complete(st, k, &done), APR_SUCCESS);
    assert_int_equal(l->broken, 1);
    /* on the reset session: prepared again, answered */
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_HELD);
    assert_int_equal(got.state, GOAPI_IDEM_COMPLETED);
    assert_int_equal(l->nidle, 1);
}

static void test_read_only_server(void **state)
{
    goapi_store *st = open_store();
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = unit_in_flight(71, now, SEC(60), SEC(3600)), got;
    goapi_claim_result res;
    apr_status_t rv;

    (void)state;
    unit_key_of(k, "pg-read-only");
    assert_int_equal(admin("ALTER SYSTEM SET default_transaction_read_only = on"), 0);
    assert_int_equal(admin("SELECT pg_reload_conf()"), 0);
    apr_sleep(200000);
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_false(goapi_store_unsure(st, rv));
    assert_non_null(strstr(st->ops->error(st, rv), "read-only"));
    rv = st->ops->ping(st);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(st->ops->error(st, rv), "read-only"));
    assert_int_equal(admin("ALTER SYSTEM RESET default_transaction_read_only"), 0);
    assert_int_equal(admin("SELECT pg_reload_conf()"), 0);
    apr_sleep(200000);
    assert_int_equal(st->ops->ping(st), APR_SUCCESS);
    assert_int_equal(st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    assert_int_equal(res, GOAPI_CLAIM_TAKEN);
}

static void test_missing_privilege_named(void **state)
{
    goapi_store *st;
    unsigned char k[GOAPI_SHA256_LEN];
    apr_time_t now = apr_time_now();
    goapi_idem_record mine = unit_in_flight(81, now, SEC(60), SEC(3600)), got;
    goapi_claim_result res;
    apr_status_t rv;

    (void)state;
    admin("CREATE ROLE weak LOGIN");
    admin("CREATE DATABASE weakdb");
    st = open_store_as("weak", "weakdb", NULL);
    unit_key_of(k, "pg-weak");
    rv = st->ops->claim(st, k, &mine, now, 0, &res, &got, unit_pool);
    assert_int_equal(rv, APR_EACCES);
    assert_non_null(strstr(st->ops->error(st, rv), "CREATE privilege"));
    assert_non_null(strstr(st->ops->error(st, rv), "GRANT CREATE ON SCHEMA public TO weak"));
}

/* ---- setup ------------------------------------------------------------- */

static int group_setup(void **state)
{
    if (unit_setup(state) != 0) {
        return -1;
    }
    return unit_pg_group(&pg, "goapi-pg");
}

static int group_teardown(void **state)
{
    return unit_pg_down(&pg) == 0 ? unit_teardown(state) : -1;
}

int main(void)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_made_on_first_use),
        cmocka_unit_test(test_claim_sent_again_and_the_state_column),
        cmocka_unit_test(test_sweep_in_batches),
        cmocka_unit_test(test_counter_unique_across_stores),
        cmocka_unit_test(test_sql_in_keys_and_bodies_is_data),
        cmocka_unit_test(test_shipped_schema_is_the_one_made),
        cmocka_unit_test(test_server_down_and_back),
        cmocka_unit_test(test_lost_connection_is_unsure_and_orphan_released),
        cmocka_unit_test(test_statements_kept_and_made_again_after_a_reset),
        cmocka_unit_test(test_statement_cut_is_a_timeout),
        cmocka_unit_test(test_read_only_server),
        cmocka_unit_test(test_missing_privilege_named),
    };
    apr_pool_t *p;
    int rc;

    /* the driver is looked for before the tests, and kept until they end */
    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 1;
    }
    unit_skip_unless(tests, UNIT_ELEMS(tests), unit_pg_installed(&pg, "test_goapi_store_dbd", p));
    rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    apr_terminate();
    return rc;
}
