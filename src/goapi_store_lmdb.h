/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_store_lmdb.h — the idempotency ledger in an LMDB file on this host:
 * the store (goapi_store.h) and the preparation of its files.
 *
 * The file is <path> with its lock file <path>-lock.  Before any process
 * opens them, the server's parent (root) prepares them with
 * goapi_store_lmdb_prepare(): the directory and both files are checked for
 * paths another user controls, a new ledger is created, an existing one is
 * read in full by a contained child to prove it undamaged, and the disk
 * space of the whole map is reserved.  Root itself never lets LMDB open a
 * path: the children and the checking child do, as the server's User.
 *
 * Pure: APR, libc and LMDB only.
 */
#ifndef GOAPI_STORE_LMDB_H
#define GOAPI_STORE_LMDB_H

#include <apr_pools.h>

#include "goapi_store.h"
#include "goapi_store_file.h"

/* Open the ledger at path, map_size bytes at most, in this process (after
 * fork, never before).  The store is closed when p is destroyed.  Claims,
 * completions, releases and counter increments that wait at the same
 * moment are committed together: one transaction, one sync. */
apr_status_t goapi_store_lmdb_open(goapi_store **st, const char *path,
                                   apr_size_t map_size, apr_pool_t *p);

typedef enum {
    GOAPI_LEDGER_READY = 0,     /* checked (or created) and its space reserved */
    GOAPI_LEDGER_SOUND,         /* check only: exists and reads in full */
    GOAPI_LEDGER_ABSENT,        /* check only: no file yet, it would be created */
    GOAPI_LEDGER_UNSAFE,        /* a path another user controls: nothing opened */
    GOAPI_LEDGER_DAMAGED,       /* the file is damaged: nothing served from it */
    GOAPI_LEDGER_FAILED         /* could not be checked, created or reserved */
} goapi_ledger_state;

typedef struct {
    goapi_ledger_state state;
    const char *detail;         /* one line: what is wrong, or what was found */
    int created;                /* a new, empty ledger was made */
    apr_uint64_t map_size;      /* the map's size, bytes (reserved on disk) */
    apr_uint64_t used;          /* bytes in use */
    apr_uint64_t records;       /* idempotency records in it */
} goapi_ledger_report;

/* Check the ledger at path without changing anything (apachectl -t), or
 * with prepare, create it when absent, give both files to the owner and
 * reserve its space.  The report says what was found. */
void goapi_store_lmdb_prepare(const char *path, apr_size_t map_size,
                              const goapi_store_owner *owner, int prepare,
                              goapi_ledger_report *rep, apr_pool_t *p);

/* Move a damaged ledger aside: <path> and <path>-lock are renamed to
 * <path>.damaged-<tag> and <path>-lock.damaged-<tag>, never over an
 * existing file; *moved_to is the new name of the data file. */
apr_status_t goapi_store_lmdb_move_aside(const char *path, const char *tag,
                                         const goapi_store_owner *owner,
                                         const char **moved_to, apr_pool_t *p);

#endif /* GOAPI_STORE_LMDB_H */
