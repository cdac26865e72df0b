/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_store_dbd_sql.c — the SQL of the PostgreSQL ledger: its schema (as
 * conf/goapi-ledger.sql ships it) and its statements, each one short
 * transaction whose values are all parameters.  goapi_store_dbd.c runs
 * them.
 */
#include <apr_general.h>

#include "goapi_store_dbd.h"
#include "goapi_store_dbd_sql.h"

#define GOAPI_DBD_AT(n) "('epoch'::timestamptz + %s::int8 * interval '1 microsecond')"

const char goapi_store_dbd_schema[] =
    "CREATE TABLE IF NOT EXISTS goapi_idempotency (\n"
    "    key bytea PRIMARY KEY,\n"
    "    state smallint NOT NULL,\n"
    "    claim_id bigint NOT NULL,\n"
    "    lease_end bigint NOT NULL,\n"
    "    expires_at timestamptz NOT NULL,\n"
    "    record bytea NOT NULL\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS goapi_idempotency_expires_at\n"
    "    ON goapi_idempotency (expires_at);\n"
    "CREATE TABLE IF NOT EXISTS goapi_idempotency_counters (\n"
    "    name text PRIMARY KEY,\n"
    "    value bigint NOT NULL\n"
    ");\n";


const goapi_dbd_stmt_text goapi_dbd_stmts[GOAPI_DBD_STMTS] = {
    /* key; key, claim id, lease end, expires, record; now, claim id, rerun,
     * now; now, rerun, now.  A key held by a live record is read, and
     * nothing written (no row lock, no commit to wait for): a replay costs
     * one read. */
    { "goapi_claim",
      "WITH cur AS ("
      " SELECT state, claim_id, lease_end, expires_at, record FROM goapi_idempotency"
      " WHERE key = decode(%s, 'hex')),"
      " mine AS ("
      " INSERT INTO goapi_idempotency AS t"
      " (key, state, claim_id, lease_end, expires_at, record)"
      " SELECT decode(%s, 'hex'), 1, %s::int8, %s::int8, " GOAPI_DBD_AT(5) ","
      " decode(%s, 'hex')"
      " WHERE NOT EXISTS (SELECT 1 FROM cur WHERE NOT (cur.expires_at <= " GOAPI_DBD_AT(7)
      " OR (cur.state = 1 AND cur.claim_id = %s::int8)"
      " OR (%s = '1' AND cur.state = 1 AND cur.lease_end <= %s::int8)))"
      " ON CONFLICT (key) DO UPDATE SET state = 1, claim_id = EXCLUDED.claim_id,"
      " lease_end = EXCLUDED.lease_end, expires_at = EXCLUDED.expires_at,"
      " record = EXCLUDED.record"
      " WHERE t.expires_at <= " GOAPI_DBD_AT(11)
      " OR (t.state = 1 AND t.claim_id = EXCLUDED.claim_id)"
      " OR (%s = '1' AND t.state = 1 AND t.lease_end <= %s::int8)"
      " RETURNING 1)"
      " SELECT 'taken', '' FROM mine"
      " UNION ALL"
      " SELECT 'held', encode(record, 'hex') FROM cur WHERE NOT EXISTS (SELECT 1 FROM mine)" },
    /* expires, record, key, claim id, key.  The row changes only while it
     * is our claim in flight; a row that already is this completion (sent
     * again) is written again as it is, and counts as done. */
    { "goapi_complete",
      "WITH n AS (SELECT " GOAPI_DBD_AT(1) " AS expires_at, decode(%s, 'hex') AS record),"
      " u AS ("
      " UPDATE goapi_idempotency AS t SET state = 2, expires_at = n.expires_at,"
      " record = n.record FROM n"
      " WHERE t.key = decode(%s, 'hex') AND t.claim_id = %s::int8"
      " AND (t.state = 1 OR t.record = n.record) RETURNING 1)"
      " SELECT (SELECT count(*) FROM u),"
      " (SELECT count(*) FROM goapi_idempotency WHERE key = decode(%s, 'hex'))" },
    /* key, claim id, key */
    { "goapi_release",
      "WITH d AS ("
      " DELETE FROM goapi_idempotency"
      " WHERE key = decode(%s, 'hex') AND claim_id = %s::int8 AND state = 1 RETURNING 1)"
      " SELECT (SELECT count(*) FROM d),"
      " (SELECT count(*) FROM goapi_idempotency WHERE key = decode(%s, 'hex'))" },
    /* key */
    { "goapi_lookup",
      "SELECT encode(record, 'hex') FROM goapi_idempotency WHERE key = decode(%s, 'hex')" },
    /* now, now */
    { "goapi_sweep",
      "WITH d AS ("
      " DELETE FROM goapi_idempotency WHERE key IN ("
      "  SELECT key FROM goapi_idempotency WHERE expires_at <= " GOAPI_DBD_AT(1)
      "  ORDER BY expires_at LIMIT " APR_STRINGIFY(GOAPI_DBD_SWEEP_BATCH)
      "  FOR UPDATE SKIP LOCKED)"
      " AND expires_at <= " GOAPI_DBD_AT(2) " RETURNING 1)"
      " SELECT count(*) FROM d" },
    /* counter */
    { "goapi_next",
      "INSERT INTO goapi_idempotency_counters AS c (name, value) VALUES (%s, 1)"
      " ON CONFLICT (name) DO UPDATE SET value = c.value + 1 RETURNING value" },
    { "goapi_schema",
      "SELECT CASE WHEN to_regclass('goapi_idempotency') IS NULL"
      " OR to_regclass('goapi_idempotency_counters') IS NULL THEN 'absent'"
      " WHEN has_table_privilege('goapi_idempotency', 'SELECT, INSERT, UPDATE, DELETE')"
      " AND has_table_privilege('goapi_idempotency_counters', 'SELECT, INSERT, UPDATE')"
      " THEN 'ok' ELSE 'denied' END, current_user" },
    { "goapi_ping",
      "SELECT current_setting('transaction_read_only')" },
};

/* goapi_store_dbd_sql.h */
const char goapi_dbd_make_schema_lock[] =
    "SELECT pg_advisory_xact_lock(7449377046352699001);\n";
