/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_store_dbd_sql.h — the statements of the PostgreSQL ledger, shared
 * by goapi_store_dbd.c (which runs them) and goapi_store_dbd_sql.c (which
 * writes them); nothing else includes it.
 */
#ifndef GOAPI_STORE_DBD_SQL_H
#define GOAPI_STORE_DBD_SQL_H

/* The sweep deletes at most this many rows per statement. */
#define GOAPI_DBD_SWEEP_BATCH   500

/* The statements, by index; %s are parameters. */
enum {
    GOAPI_DBD_CLAIM, GOAPI_DBD_COMPLETE, GOAPI_DBD_RELEASE, GOAPI_DBD_LOOKUP,
    GOAPI_DBD_SWEEP, GOAPI_DBD_NEXT, GOAPI_DBD_SCHEMA, GOAPI_DBD_PING, GOAPI_DBD_STMTS
};

typedef struct {
    const char *label;                  /* in the connection's table, and errors */
    const char *sql;
} goapi_dbd_stmt_text;

extern const goapi_dbd_stmt_text goapi_dbd_stmts[GOAPI_DBD_STMTS];

/* Before the schema is made: a lock that makes processes racing to make
 * it wait for each other (one transaction, one simple query). */
extern const char goapi_dbd_make_schema_lock[];

#endif /* GOAPI_STORE_DBD_SQL_H */
