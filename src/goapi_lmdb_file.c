/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_lmdb_file.c — the LMDB ledger's files before use: checked, made,
 * given to their owner and their space reserved (goapi_store_lmdb_prepare
 * in goapi_store_lmdb.h), or moved aside.
 *
 * LMDB maps its file and trusts it: a file cut short gives SIGBUS when a
 * page past its end is touched, a page of random bytes can send a cursor
 * anywhere.  So before the server uses a ledger, a child process (as the
 * server's User) opens it and reads every page a request or the sweep
 * could reach: the size the meta page gives against the file's, then every
 * entry of LMDB's main database, of its free-page list, of the records
 * (each decoded) and of the counters; then it rehearses the server's writes
 * in a transaction it aborts (goapi_lmdb_rehearse()).  If that child dies,
 * the file is damaged; the server never touched it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <lmdb.h>

#include "goapi_idem.h"
#include "goapi_lmdb_env.h"
#include "goapi_store_lmdb.h"

typedef enum {
    GOAPI_LMDB_SOUND = 1,       /* read in full */
    GOAPI_LMDB_CANNOT_OPEN,     /* the system refused (rc is errno) */
    GOAPI_LMDB_INVALID,         /* no valid meta page (rc is LMDB's) */
    GOAPI_LMDB_TRUNCATED,       /* shorter than its meta page says */
    GOAPI_LMDB_CORRUPT,         /* LMDB found a bad page (rc is LMDB's) */
    GOAPI_LMDB_BAD_FREE_LIST,   /* a free-page entry out of shape or range */
    GOAPI_LMDB_BAD_RECORD,      /* a record that does not decode */
    GOAPI_LMDB_BAD_COUNTER,     /* a counter that is not 8 bytes */
    GOAPI_LMDB_FOREIGN          /* databases that are not the ledger's */
} goapi_lmdb_finding;

/* What the checking child sends back. */
typedef struct {
    int finding;                /* goapi_lmdb_finding */
    int rc;                     /* LMDB's or the system's code behind it */
    apr_uint64_t file_size;     /* bytes */
    apr_uint64_t used;          /* bytes, as the meta page says */
    apr_uint64_t map_size;      /* bytes */
    apr_uint64_t records;
} goapi_lmdb_verdict;

typedef enum {
    GOAPI_LMDB_MAKE = 1,        /* a new, empty file: make the ledger in it */
    GOAPI_LMDB_READ,            /* an existing one, with its lock file */
    GOAPI_LMDB_READ_NOLOCK      /* an existing one without a lock file: nobody
                                 * uses it, and none is made (apachectl -t) */
} goapi_lmdb_check_mode;

typedef struct {
    const char *path;
    apr_size_t map_size;
    goapi_lmdb_check_mode mode;
} goapi_lmdb_check_args;

typedef struct {
    goapi_lmdb_verdict *v;
    apr_pool_t *p;
    size_t last_pgno;
} goapi_lmdb_walk_ctx;

typedef int goapi_lmdb_entry_fn(goapi_lmdb_walk_ctx *w, const MDB_val *k, const MDB_val *d);

/* Every entry of dbi through fn; 0, or LMDB's code, or -1 when fn refused
 * an entry (fn has set the finding). */
static int goapi_lmdb_walk(MDB_txn *txn, MDB_dbi dbi, goapi_lmdb_walk_ctx *w,
                           goapi_lmdb_entry_fn *fn)
{
    MDB_cursor *cur;
    MDB_val k, d;
    int rc;

    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != MDB_SUCCESS) {
        return rc;
    }
    for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (!fn(w, &k, &d)) {
            rc = -1;
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

/* LMDB's main database names the named ones: only the ledger's two. */
static int goapi_lmdb_check_name(goapi_lmdb_walk_ctx *w, const MDB_val *k, const MDB_val *d)
{
    static const char *const names[] = { GOAPI_LMDB_RECORDS, GOAPI_LMDB_COUNTERS };
    apr_size_t i;

    (void)d;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (k->mv_size == strlen(names[i]) && !memcmp(k->mv_data, names[i], k->mv_size)) {
            return 1;
        }
    }
    w->v->finding = GOAPI_LMDB_FOREIGN;
    return 0;
}

/* An entry of the free-page list (LMDB's database 0, as its own mdb_stat
 * reads it): a count n, then room for at least n page numbers, each a
 * size_t (LMDB reserves room first and may leave some unused).  Every page
 * number must lie in the file, or a later write would go astray. */
static int goapi_lmdb_check_free(goapi_lmdb_walk_ctx *w, const MDB_val *k, const MDB_val *d)
{
    size_t n, i, pg;

    (void)k;
    if (d->mv_size < sizeof(size_t) || d->mv_size % sizeof(size_t) != 0) {
        w->v->finding = GOAPI_LMDB_BAD_FREE_LIST;
        return 0;
    }
    memcpy(&n, d->mv_data, sizeof(n));
    if (n > d->mv_size / sizeof(size_t) - 1) {
        w->v->finding = GOAPI_LMDB_BAD_FREE_LIST;
        return 0;
    }
    for (i = 1; i <= n; i++) {
        memcpy(&pg, (const char *)d->mv_data + i * sizeof(size_t), sizeof(pg));
        if (pg < 2 || pg > w->last_pgno) {      /* pages 0 and 1 are the metas */
            w->v->finding = GOAPI_LMDB_BAD_FREE_LIST;
            return 0;
        }
    }
    return 1;
}

static int goapi_lmdb_check_record(goapi_lmdb_walk_ctx *w, const MDB_val *k, const MDB_val *d)
{
    goapi_idem_record rec;

    apr_pool_clear(w->p);
    if (k->mv_size != GOAPI_SHA256_LEN
        || goapi_idem_decode(&rec, d->mv_data, d->mv_size, w->p) != APR_SUCCESS) {
        w->v->finding = GOAPI_LMDB_BAD_RECORD;
        return 0;
    }
    w->v->records++;
    return 1;
}

static int goapi_lmdb_check_counter(goapi_lmdb_walk_ctx *w, const MDB_val *k,
                                    const MDB_val *d)
{
    (void)k;
    if (d->mv_size != 8) {
        w->v->finding = GOAPI_LMDB_BAD_COUNTER;
        return 0;
    }
    return 1;
}

/* Walk one named database if it exists. */
static int goapi_lmdb_walk_named(MDB_txn *txn, const char *name, goapi_lmdb_walk_ctx *w,
                                 goapi_lmdb_entry_fn *fn)
{
    MDB_dbi dbi;
    int rc = mdb_dbi_open(txn, name, 0, &dbi);

    if (rc == MDB_NOTFOUND) {
        return MDB_SUCCESS;     /* made at the first open by a child */
    }
    return rc == MDB_SUCCESS ? goapi_lmdb_walk(txn, dbi, w, fn) : rc;
}

/* Read the whole ledger in a read transaction. */
static void goapi_lmdb_read_all(MDB_env *env, goapi_lmdb_verdict *v)
{
    /* The free-page list is LMDB's database 0, which no call of lmdb.h
     * opens: read as LMDB's own mdb_stat -f reads it. */
    const MDB_dbi free_dbi = 0;
    MDB_dbi main_dbi;
    goapi_lmdb_walk_ctx w;
    MDB_envinfo info;
    MDB_stat stat;
    struct stat st;
    MDB_txn *txn;
    int fd, rc;

    if ((rc = mdb_env_info(env, &info)) != MDB_SUCCESS
        || (rc = mdb_env_stat(env, &stat)) != MDB_SUCCESS
        || (rc = mdb_env_get_fd(env, &fd)) != MDB_SUCCESS) {
        v->finding = GOAPI_LMDB_CORRUPT;
        v->rc = rc;
        return;
    }
    v->map_size = info.me_mapsize;
    v->used = ((apr_uint64_t)info.me_last_pgno + 1) * stat.ms_psize;
    if (fstat(fd, &st) != 0) {
        v->finding = GOAPI_LMDB_CANNOT_OPEN;
        v->rc = errno;
        return;
    }
    v->file_size = (apr_uint64_t)st.st_size;
    if (v->file_size < v->used) {
        v->finding = GOAPI_LMDB_TRUNCATED;
        return;
    }
    /* and the unnamed database, where the named ones are listed */
    if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) == MDB_SUCCESS
        && (rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) != MDB_SUCCESS) {
        mdb_txn_abort(txn);
    }
    if (rc != MDB_SUCCESS) {
        v->finding = GOAPI_LMDB_CORRUPT;
        v->rc = rc;
        return;
    }
    w.v = v;
    w.last_pgno = info.me_last_pgno;
    apr_pool_create(&w.p, NULL);
    rc = goapi_lmdb_walk(txn, main_dbi, &w, goapi_lmdb_check_name);
    if (rc == MDB_SUCCESS) {
        rc = goapi_lmdb_walk(txn, free_dbi, &w, goapi_lmdb_check_free);
    }
    if (rc == MDB_SUCCESS) {
        rc = goapi_lmdb_walk_named(txn, GOAPI_LMDB_RECORDS, &w, goapi_lmdb_check_record);
    }
    if (rc == MDB_SUCCESS) {
        rc = goapi_lmdb_walk_named(txn, GOAPI_LMDB_COUNTERS, &w, goapi_lmdb_check_counter);
    }
    mdb_txn_abort(txn);
    apr_pool_destroy(w.p);
    if (rc > 0 || rc < -1) {            /* LMDB's codes or errno; -1 set the finding */
        v->finding = GOAPI_LMDB_CORRUPT;
        v->rc = rc;
    }
}

/* Reading every page proves what lookups will meet.  A write trusts more:
 * a page's free space, where its nodes start and end, as it moves, splits
 * and merges them.  So the checking child rehearses what the server will
 * do, in a write transaction it then aborts (nothing reaches the file):
 * every record and counter rewritten a little longer, new keys added, then
 * every entry deleted, as sweeps do. */
#define GOAPI_LMDB_REHEARSAL_KEYS 64

/* Every entry rewritten 8 bytes longer. */
static int goapi_lmdb_rehearse_grow(MDB_cursor *cur)
{
    unsigned char *buf = NULL;
    MDB_val k, d, nk, nd;
    int rc;

    for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        free(buf);
        /* key and value copied out of the page: a put that grows the
         * record moves the page's nodes, which k and d point into */
        if (!(buf = calloc(1, k.mv_size + d.mv_size + 8))) {
            return ENOMEM;
        }
        memcpy(buf, k.mv_data, k.mv_size);
        memcpy(buf + k.mv_size, d.mv_data, d.mv_size);
        nk.mv_size = k.mv_size;
        nk.mv_data = buf;
        nd.mv_size = d.mv_size + 8;
        nd.mv_data = buf + k.mv_size;
        if ((rc = mdb_cursor_put(cur, &nk, &nd, MDB_CURRENT)) != MDB_SUCCESS) {
            break;
        }
        /* the record is where it was, under its own key */
        if ((rc = mdb_cursor_get(cur, &k, &d, MDB_GET_CURRENT)) != MDB_SUCCESS) {
            break;
        }
        if (k.mv_size != nk.mv_size || memcmp(k.mv_data, buf, k.mv_size) != 0
            || d.mv_size != nd.mv_size) {
            rc = MDB_CORRUPTED;
            break;
        }
    }
    free(buf);
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

/* New keys, spread over the key space as ledger keys (hashes) are. */
static int goapi_lmdb_rehearse_add(MDB_txn *txn, MDB_dbi dbi)
{
    unsigned char key[GOAPI_SHA256_LEN];
    MDB_val k, d;
    int i, rc = MDB_SUCCESS;

    for (i = 0; rc == MDB_SUCCESS && i < GOAPI_LMDB_REHEARSAL_KEYS; i++) {
        memset(key, i, sizeof(key));
        key[0] = (unsigned char)(i * (256 / GOAPI_LMDB_REHEARSAL_KEYS));
        k.mv_size = sizeof(key);
        k.mv_data = key;
        d.mv_size = 256;
        d.mv_data = NULL;
        rc = mdb_put(txn, dbi, &k, &d, MDB_RESERVE);
    }
    return rc;
}

/* Every entry deleted, first to last, as a sweep deletes. */
static int goapi_lmdb_rehearse_delete(MDB_cursor *cur)
{
    MDB_val k, d;
    int rc;

    while ((rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST)) == MDB_SUCCESS) {
        if ((rc = mdb_cursor_del(cur, 0)) != MDB_SUCCESS) {
            return rc;
        }
    }
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

static int goapi_lmdb_rehearse_db(MDB_txn *txn, const char *name, int add)
{
    MDB_cursor *cur;
    MDB_dbi dbi;
    int rc = mdb_dbi_open(txn, name, 0, &dbi);

    if (rc != MDB_SUCCESS) {
        return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
    }
    if ((rc = mdb_cursor_open(txn, dbi, &cur)) != MDB_SUCCESS) {
        return rc;
    }
    rc = goapi_lmdb_rehearse_grow(cur);
    if (rc == MDB_SUCCESS && add) {
        rc = goapi_lmdb_rehearse_add(txn, dbi);
    }
    if (rc == MDB_SUCCESS) {
        rc = goapi_lmdb_rehearse_delete(cur);
    }
    mdb_cursor_close(cur);
    return rc;
}

static int goapi_lmdb_rehearse(MDB_env *env)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(env, NULL, 0, &txn);

    if (rc != MDB_SUCCESS) {
        return rc;
    }
    rc = goapi_lmdb_rehearse_db(txn, GOAPI_LMDB_RECORDS, 1);
    if (rc == MDB_SUCCESS) {
        rc = goapi_lmdb_rehearse_db(txn, GOAPI_LMDB_COUNTERS, 0);
    }
    mdb_txn_abort(txn);
    return rc;
}

/* An open that failed for the system's reasons, not the file's: any other
 * failure to open an existing file (no valid meta page, a map size or page
 * size from a damaged one that the system cannot map) is damage. */
static int goapi_lmdb_refused_by_system(int rc)
{
    switch (rc) {
    case EACCES: case EPERM: case EROFS: case ENOENT: case EMFILE: case ENFILE:
    case EAGAIN: case EBUSY: case ENOSPC: case EDQUOT: case EIO:
        return 1;
    default:
        return 0;
    }
}

/* The checking child's work (goapi_store_contained_fn). */
static void goapi_lmdb_check(void *baton, void *out)
{
    const goapi_lmdb_check_args *a = baton;
    goapi_lmdb_verdict *v = out;
    MDB_env *env;
    int rc;

    memset(v, 0, sizeof(*v));
    v->finding = GOAPI_LMDB_SOUND;
    /* read-write for the rehearsal, which never commits */
    rc = goapi_lmdb_env_open(&env, a->path, a->map_size,
                             a->mode == GOAPI_LMDB_READ_NOLOCK ? MDB_NOLOCK : 0);
    if (rc != MDB_SUCCESS) {
        v->finding = a->mode == GOAPI_LMDB_MAKE || goapi_lmdb_refused_by_system(rc)
                     ? GOAPI_LMDB_CANNOT_OPEN : GOAPI_LMDB_INVALID;
        v->rc = rc;
        return;
    }
    if (a->mode == GOAPI_LMDB_MAKE) {
        MDB_dbi main, records, counters;

        if ((rc = goapi_lmdb_open_dbs(env, &main, &records, &counters)) != MDB_SUCCESS) {
            v->finding = rc > 0 ? GOAPI_LMDB_CANNOT_OPEN : GOAPI_LMDB_CORRUPT;
            v->rc = rc;
        }
    }
    if (v->finding == GOAPI_LMDB_SOUND) {
        goapi_lmdb_read_all(env, v);
    }
    if (v->finding == GOAPI_LMDB_SOUND && (rc = goapi_lmdb_rehearse(env)) != MDB_SUCCESS) {
        v->finding = rc > 0 && goapi_lmdb_refused_by_system(rc) ? GOAPI_LMDB_CANNOT_OPEN
                                                                 : GOAPI_LMDB_CORRUPT;
        v->rc = rc;
    }
    mdb_env_close(env);
}

/* The report's words for what the checking child found. */
static void goapi_lmdb_judge(const goapi_lmdb_verdict *v, goapi_ledger_report *rep,
                             apr_pool_t *p)
{
    rep->map_size = v->map_size;
    rep->used = v->used;
    rep->records = v->records;
    rep->state = GOAPI_LEDGER_DAMAGED;
    switch (v->finding) {
    case GOAPI_LMDB_SOUND:
        rep->state = GOAPI_LEDGER_SOUND;
        rep->detail = apr_psprintf(p, "%" APR_UINT64_T_FMT " record(s), %" APR_UINT64_T_FMT
                                   " of %" APR_UINT64_T_FMT " bytes in use", v->records,
                                   v->used, v->map_size);
        break;
    case GOAPI_LMDB_CANNOT_OPEN:
        rep->state = GOAPI_LEDGER_FAILED;
        rep->detail = apr_psprintf(p, "cannot be opened by LMDB as the server's user: %s",
                                   goapi_store_strerror(p, v->rc));
        break;
    case GOAPI_LMDB_INVALID:
        rep->detail = v->rc == MDB_VERSION_MISMATCH
                      ? "was written by an LMDB of another data format version"
                      : v->rc == MDB_INVALID
                      ? "is not an LMDB file, or both of its meta pages are damaged"
                      : apr_psprintf(p, "cannot be opened as an LMDB file (%s): its meta "
                                     "page is damaged", mdb_strerror(v->rc));
        break;
    case GOAPI_LMDB_TRUNCATED:
        rep->detail = apr_psprintf(p, "is %" APR_UINT64_T_FMT " bytes long but its meta "
                                   "page says %" APR_UINT64_T_FMT " are in use: it was "
                                   "cut short", v->file_size, v->used);
        break;
    case GOAPI_LMDB_CORRUPT:
        rep->detail = apr_psprintf(p, "has a damaged page (%s)", mdb_strerror(v->rc));
        break;
    case GOAPI_LMDB_BAD_FREE_LIST:
        rep->detail = "has a damaged list of free pages";
        break;
    case GOAPI_LMDB_BAD_RECORD:
        rep->detail = apr_psprintf(p, "holds a record that does not decode (after %"
                                   APR_UINT64_T_FMT " good ones)", v->records);
        break;
    case GOAPI_LMDB_BAD_COUNTER:
        rep->detail = "holds a counter that does not decode";
        break;
    default:
        rep->detail = "holds databases that are not mod_goapi's: it is not a ledger";
        break;
    }
}

/* The signals a damaged file may end its reader with. */
static const char *goapi_lmdb_signal_name(int signo)
{
    switch (signo) {
    case SIGBUS:
        return "SIGBUS";
    case SIGSEGV:
        return "SIGSEGV";
    case SIGABRT:
        return "SIGABRT, from an assertion of LMDB";
    case SIGFPE:
        return "SIGFPE";
    default:
        return "another signal";
    }
}

/* Read the ledger in a contained child and judge it. */
static void goapi_lmdb_check_contained(const char *path, apr_size_t map_size,
                                       goapi_lmdb_check_mode mode,
                                       const goapi_store_owner *owner,
                                       goapi_ledger_report *rep, apr_pool_t *p)
{
    goapi_lmdb_check_args a;
    goapi_lmdb_verdict v;
    int signo, code;

    a.path = path;
    a.map_size = map_size;
    a.mode = mode;
    memset(&v, 0, sizeof(v));
    if (goapi_store_contained(goapi_lmdb_check, &a, &v, sizeof(v), owner, &signo, &code)
        == APR_SUCCESS) {
        goapi_lmdb_judge(&v, rep, p);
    }
    else if (signo) {
        rep->state = GOAPI_LEDGER_DAMAGED;
        rep->detail = apr_psprintf(p, "made the process that read it die of signal %d "
                                   "(%s): a page points outside the file or into "
                                   "garbage", signo, goapi_lmdb_signal_name(signo));
    }
    else if (code == GOAPI_STORE_CONTAINED_NO_USER) {
        rep->state = GOAPI_LEDGER_FAILED;
        rep->detail = apr_psprintf(p, "cannot be read as the server's user (uid %lu, gid "
                                   "%lu): switching to it failed",
                                   (unsigned long)owner->uid, (unsigned long)owner->gid);
    }
    else {
        /* it died before its verdict: under a sanitizer a fault ends the
         * process with a status instead of the signal */
        rep->state = GOAPI_LEDGER_DAMAGED;
        rep->detail = apr_psprintf(p, "made the process that read it end with status %d "
                                   "before it was read through", code);
    }
}

/* The directory and base name of path. */
static void goapi_lmdb_split(const char *path, const char **dir, const char **base,
                             apr_pool_t *p)
{
    const char *slash = strrchr(path, '/');

    if (!slash) {
        *dir = ".";
        *base = path;
    }
    else {
        *dir = slash == path ? "/" : apr_pstrmemdup(p, path, (apr_size_t)(slash - path));
        *base = slash + 1;
    }
}

/* A refusal of the ledger's directory or files: subject (the store itself
 * when NULL) and why. */
static void goapi_lmdb_refused(goapi_ledger_report *rep, int unsafe, const char *subject,
                               const char *why, apr_pool_t *p)
{
    rep->state = unsafe ? GOAPI_LEDGER_UNSAFE : GOAPI_LEDGER_FAILED;
    rep->detail = subject ? apr_pstrcat(p, subject, " ", why, NULL) : why;
}

/* A file of the ledger, opened safely; 0 when the report is set. */
static int goapi_lmdb_file(int dirfd, const char *dir, const char *name, int is_lock,
                           const goapi_store_owner *owner, int create, int *fd, int *created,
                           goapi_ledger_report *rep, apr_pool_t *p)
{
    int unsafe;
    const char *why = goapi_store_file_open(dirfd, name, owner, create, fd, created,
                                            &unsafe, p);

    if (why) {
        goapi_lmdb_refused(rep, unsafe, is_lock ? apr_psprintf(p, "its lock file %s/%s",
                                                               dir, name) : NULL, why, p);
        return 0;
    }
    return 1;
}

static void goapi_lmdb_failed(goapi_ledger_report *rep, const char *what, apr_status_t rv,
                              apr_pool_t *p)
{
    char buf[120];

    rep->state = GOAPI_LEDGER_FAILED;
    rep->detail = apr_psprintf(p, "%s: %s", what, apr_strerror(rv, buf, sizeof(buf)));
}

/* Reserve the map (data) and the reader table (lock, sized by LMDB at its
 * first open) on disk. */
static void goapi_lmdb_reserve(int dfd, int lfd, goapi_ledger_report *rep, apr_pool_t *p)
{
    struct stat st;
    apr_status_t rv;

    rv = goapi_store_file_reserve(dfd, (apr_off_t)rep->map_size);
    if (rv == APR_SUCCESS) {
        rv = fstat(lfd, &st) == 0 ? goapi_store_file_reserve(lfd, st.st_size)
                                  : APR_FROM_OS_ERROR(errno);
    }
    if (rv != APR_SUCCESS) {
        goapi_lmdb_failed(rep, apr_psprintf(p, "cannot reserve its %" APR_UINT64_T_FMT
                                            " bytes on disk (free space, or lower the "
                                            "size given to GoapiIdempotencyStore)",
                                            rep->map_size), rv, p);
        return;
    }
    rep->state = GOAPI_LEDGER_READY;
}

void goapi_store_lmdb_prepare(const char *path, apr_size_t map_size,
                              const goapi_store_owner *owner, int prepare,
                              goapi_ledger_report *rep, apr_pool_t *p)
{
    const char *dir, *base, *lock, *why;
    int dirfd, dfd = -1, lfd = -1, dnew = 0, lnew = 0, unsafe;
    struct stat st;
    apr_status_t rv;

    memset(rep, 0, sizeof(*rep));
    goapi_lmdb_split(path, &dir, &base, p);
    lock = apr_pstrcat(p, base, "-lock", NULL);
    if ((why = goapi_store_dir_open(dir, owner, &dirfd, &unsafe, p)) != NULL) {
        goapi_lmdb_refused(rep, unsafe, apr_pstrcat(p, "its directory ", dir, NULL), why, p);
        return;
    }
    if (!goapi_lmdb_file(dirfd, dir, base, 0, owner, prepare, &dfd, &dnew, rep, p)
        || !goapi_lmdb_file(dirfd, dir, lock, 1, owner, prepare, &lfd, &lnew, rep, p)) {
        goto done;
    }
    if (dfd < 0) {
        rep->state = GOAPI_LEDGER_ABSENT;
        rep->detail = "does not exist yet: the server will create it";
        goto done;
    }
    if (!dnew && fstat(dfd, &st) == 0 && st.st_size == 0) {
        rep->state = GOAPI_LEDGER_DAMAGED;
        rep->detail = "is empty (0 bytes): a ledger is never empty once made, its "
                      "records are gone";
        goto done;
    }
    if (prepare && ((rv = goapi_store_file_hand_over(dfd, owner)) != APR_SUCCESS
                    || (rv = goapi_store_file_hand_over(lfd, owner)) != APR_SUCCESS)) {
        goapi_lmdb_failed(rep, "cannot be given to the server's user", rv, p);
        goto done;
    }
    goapi_lmdb_check_contained(path, map_size,
                               dnew ? GOAPI_LMDB_MAKE
                               : lfd >= 0 ? GOAPI_LMDB_READ : GOAPI_LMDB_READ_NOLOCK,
                               owner, rep, p);
    rep->created = dnew;
    if (prepare && rep->state == GOAPI_LEDGER_SOUND) {
        goapi_lmdb_reserve(dfd, lfd, rep, p);
    }
done:
    if (rep->state != GOAPI_LEDGER_READY && rep->state != GOAPI_LEDGER_SOUND) {
        /* nothing half-made is left behind: the next start begins anew */
        if (dnew) {
            unlinkat(dirfd, base, 0);
        }
        if (lnew) {
            unlinkat(dirfd, lock, 0);
        }
        rep->created = 0;
    }
    if (dfd >= 0) {
        close(dfd);
    }
    if (lfd >= 0) {
        close(lfd);
    }
    close(dirfd);
}

apr_status_t goapi_store_lmdb_move_aside(const char *path, const char *tag,
                                         const goapi_store_owner *owner,
                                         const char **moved_to, apr_pool_t *p)
{
    const char *dir, *base, *lock;
    apr_status_t rv = APR_SUCCESS;
    int dirfd, unsafe;

    goapi_lmdb_split(path, &dir, &base, p);
    lock = apr_pstrcat(p, base, "-lock", NULL);
    if (goapi_store_dir_open(dir, owner, &dirfd, &unsafe, p) != NULL) {
        return APR_EACCES;
    }
    *moved_to = apr_pstrcat(p, path, ".damaged-", tag, NULL);
    /* renameat2() never follows a link and, with RENAME_NOREPLACE, never
     * replaces what already has the new name */
    if (renameat2(dirfd, base, dirfd, apr_pstrcat(p, base, ".damaged-", tag, NULL),
                  RENAME_NOREPLACE) != 0
        || (renameat2(dirfd, lock, dirfd, apr_pstrcat(p, lock, ".damaged-", tag, NULL),
                      RENAME_NOREPLACE) != 0 && errno != ENOENT)) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    close(dirfd);
    return rv;
}
