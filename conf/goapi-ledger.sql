-- SPDX-License-Identifier: Apache-2.0
-- Copyright 2026 the mod_goapi authors; see LICENSE.
--
-- The schema of GoapiIdempotencyStore dbd (PostgreSQL), for operators who
-- run their own migrations.  mod_goapi makes the same tables at its first
-- use when they are absent and its database user may (CREATE on the
-- schema); otherwise run this as their owner, then grant the server's user:
--   GRANT SELECT, INSERT, UPDATE, DELETE ON goapi_idempotency,
--         goapi_idempotency_counters TO <user>;
-- key: SHA-256 of the key's scope and the Idempotency-Key; state: 1 in
-- flight, 2 completed; lease_end: microseconds since the epoch; record:
-- the same encoding as the LMDB and Redis ledgers keep.
CREATE TABLE IF NOT EXISTS goapi_idempotency (
    key bytea PRIMARY KEY,
    state smallint NOT NULL,
    claim_id bigint NOT NULL,
    lease_end bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS goapi_idempotency_expires_at
    ON goapi_idempotency (expires_at);
CREATE TABLE IF NOT EXISTS goapi_idempotency_counters (
    name text PRIMARY KEY,
    value bigint NOT NULL
);
