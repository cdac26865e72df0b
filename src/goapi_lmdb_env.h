/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_lmdb_env.h — what the LMDB ledger (goapi_store_lmdb.c) and the
 * check of its file before use (goapi_lmdb_file.c) share: how the
 * environment is opened and the names of its databases.  Internal to
 * those two units.
 */
#ifndef GOAPI_LMDB_ENV_H
#define GOAPI_LMDB_ENV_H

#include <apr.h>
#include <lmdb.h>

/* The named databases of the ledger. */
#define GOAPI_LMDB_RECORDS       "records"
#define GOAPI_LMDB_COUNTERS      "counters"

/* An environment with the settings every opener must share (the lock
 * file's layout follows from the number of readers): LMDB's code. */
int goapi_lmdb_env_open(MDB_env **env, const char *path, apr_size_t map_size,
                        unsigned flags);

/* The ledger's databases, made when absent, in one committed write
 * transaction: LMDB's code. */
int goapi_lmdb_open_dbs(MDB_env *env, MDB_dbi *main, MDB_dbi *records, MDB_dbi *counters);

#endif
