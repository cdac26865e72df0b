/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * The LMDB idempotency ledger beyond the contract every store keeps (that
 * is test_goapi_store_contract.c): a full store, the words of its errors,
 * one claim winning among processes racing for a key, a path it cannot
 * open, and its file prepared and checked before use (damage, links,
 * ownership); and the queue of orphaned claims the stores on a server
 * share (goapi_store.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>
#include <lmdb.h>

#include "unit_services.h"
#include "goapi_idem.h"
#include "goapi_store_lmdb.h"

#define SEC(n) ((apr_time_t)(n) * APR_USEC_PER_SEC)

static char store_dir[64];
static int store_seq;

/* A fresh store file for each test, in a directory removed at the end. */
static const char *store_path(void)
{
    return apr_psprintf(unit_pool, "%s/ledger-%d", store_dir, ++store_seq);
}

static goapi_store *open_store(const char *path, apr_size_t size)
{
    goapi_store *st = NULL;

    assert_int_equal(goapi_store_lmdb_open(&st, path, size, unit_pool), APR_SUCCESS);
    return st;
}

static void test_full_store_keeps_what_it_has(void **state)
{
    goapi_store *st = open_store(store_path(), 1024 * 1024);   /* the smallest GoapiIdempotencyStore */
    unsigned char k[GOAPI_SHA256_LEN];
    char *body = apr_palloc(unit_pool, 3000);
    goapi_idem_record rec, got;
    goapi_claim_result res;
    apr_status_t rv = APR_SUCCESS;
    int i, stored = 0;

    goapi_idem_record early;

    (void)state;
    memset(body, 'b', 2999);
    body[2999] = '\0';
    /* a claim taken before the store fills up */
    unit_key_of(k, "full-early");
    early = unit_in_flight(99999, SEC(10), SEC(60), SEC(3600));
    assert_int_equal(st->ops->claim(st, k, &early, SEC(10), 0, &res, &got, unit_pool),
                     APR_SUCCESS);
    for (i = 0; i < 2000 && rv == APR_SUCCESS; i++) {
        char name[32];

        snprintf(name, sizeof(name), "full-%d", i);
        unit_key_of(k, name);
        rec = unit_in_flight((apr_uint64_t)i + 1, SEC(10), SEC(60), SEC(3600));
        rv = st->ops->claim(st, k, &rec, SEC(10), 0, &res, &got, unit_pool);
        if (rv == APR_SUCCESS) {
            rec = unit_completed(&rec, SEC(3600), body, unit_pool);
            rv = st->ops->complete(st, k, &rec);
            if (rv == APR_SUCCESS) {
                stored++;
            }
        }
    }
    assert_int_equal(rv, APR_ENOSPC);
    assert_true(stored > 10);
    assert_non_null(st->ops->error(st, rv));
    /* new claims are refused short of the end: the early one completes */
    unit_key_of(k, "full-early");
    early = unit_completed(&early, SEC(3600), body, unit_pool);
    assert_int_equal(st->ops->complete(st, k, &early), APR_SUCCESS);
    assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
    assert_int_equal(got.body_len, 2999);
    /* nothing already stored was lost */
    for (i = 0; i < stored; i++) {
        char name[32];

        snprintf(name, sizeof(name), "full-%d", i);
        unit_key_of(k, name);
        assert_int_equal(st->ops->lookup(st, k, &got, unit_pool), APR_SUCCESS);
        assert_int_equal(got.state, GOAPI_IDEM_COMPLETED);
        assert_int_equal(got.body_len, 2999);
    }
}

/* error(): the cause behind the store's status codes, from rv alone (a
 * file on this host keeps no message of its own); nothing for a failure
 * of the system or of LMDB, whose text rv already is. */
static void test_error_words(void **state)
{
    goapi_store *st = open_store(store_path(), 1024 * 1024);

    (void)state;
    assert_non_null(strstr(st->ops->error(st, APR_ENOSPC), "the store is full"));
    assert_string_equal(st->ops->error(st, APR_EINVAL), "a record in the store is malformed");
    assert_string_equal(st->ops->error(st, APR_EAGAIN), "too many readers of the store at once");
    assert_null(st->ops->error(st, APR_FROM_OS_ERROR(EIO)));
    assert_null(st->ops->error(st, APR_EGENERAL));
}

/* Processes racing for one key: exactly one takes it. */
static void test_one_claim_wins_across_processes(void **state)
{
    const char *path = store_path();
    int fds[2], i, taken = 0, held = 0;
    pid_t pids[16];
    char c;

    (void)state;
    assert_int_equal(pipe(fds), 0);
    open_store(path, 1 << 20);          /* create it once, as the parent does */
    for (i = 0; i < 16; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            apr_pool_t *p;
            goapi_store *st;
            unsigned char k[GOAPI_SHA256_LEN];
            goapi_idem_record rec, got;
            goapi_claim_result res;

            close(fds[0]);
            apr_pool_create(&p, NULL);
            if (goapi_store_lmdb_open(&st, path, 1 << 20, p) != APR_SUCCESS) {
                _exit(2);
            }
            unit_key_of(k, "contended");
            rec = unit_in_flight((apr_uint64_t)getpid(), apr_time_now(), SEC(60), SEC(3600));
            if (st->ops->claim(st, k, &rec, apr_time_now(), 0, &res, &got, p) != APR_SUCCESS) {
                _exit(3);
            }
            c = res == GOAPI_CLAIM_TAKEN ? 'T' : 'H';
            if (write(fds[1], &c, 1) != 1) {
                _exit(4);
            }
            _exit(0);
        }
    }
    close(fds[1]);
    for (i = 0; i < 16; i++) {
        int status = -1;

        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    while (read(fds[0], &c, 1) == 1) {
        taken += c == 'T';
        held += c == 'H';
    }
    close(fds[0]);
    assert_int_equal(taken, 1);
    assert_int_equal(held, 15);
}

static void test_bad_path(void **state)
{
    goapi_store *st = NULL;

    (void)state;
    assert_int_not_equal(goapi_store_lmdb_open(&st, "/nonexistent-dir/x/ledger",
                                               1 << 20, unit_pool), APR_SUCCESS);
    assert_null(st);
}

/* A store that is down: one error line per interval, the rest counted. */
/* A release of the orphan queue's, by a stub store: counts its calls, and
 * answers fail (a store down), or APR_SUCCESS. */
typedef struct {
    int calls;
    apr_status_t fail;
} orphan_stub;

static apr_status_t stub_release(void *baton, const unsigned char key[GOAPI_SHA256_LEN],
                                 apr_uint64_t claim_id)
{
    orphan_stub *s = baton;

    (void)key;
    (void)claim_id;
    s->calls++;
    return s->fail;
}

static void test_orphan_queue(void **state)
{
    goapi_store_orphans *q;
    goapi_idem_record c;
    unsigned char k[GOAPI_SHA256_LEN];
    orphan_stub stub = { 0, APR_ECONNREFUSED };
    apr_size_t released = 0;
    apr_time_t now = apr_time_now();
    int i;

    (void)state;
    assert_int_equal(goapi_store_orphans_create(&q, unit_pool), APR_SUCCESS);
    memset(&c, 0, sizeof(c));
    memset(k, 7, sizeof(k));
    c.lease_end = now + apr_time_from_sec(60);
    c.expires = now + apr_time_from_sec(3600);
    for (i = 0; i < GOAPI_STORE_ORPHANS; i++) {
        c.claim_id = (apr_uint64_t)i + 1;
        assert_int_equal(goapi_store_orphans_keep(q, k, &c), APR_SUCCESS);
    }
    /* bounded; the same claim kept again takes no new room */
    c.claim_id = 100000;
    assert_int_equal(goapi_store_orphans_keep(q, k, &c), APR_ENOSPC);
    c.claim_id = 1;
    assert_int_equal(goapi_store_orphans_keep(q, k, &c), APR_SUCCESS);
    assert_int_equal(goapi_store_orphans_left(q), GOAPI_STORE_ORPHANS);
    /* a store down: the first release fails and stops the drain */
    assert_int_equal(goapi_store_orphans_drain(q, 5, stub_release, &stub, &released),
                     APR_ECONNREFUSED);
    assert_int_equal(stub.calls, 1);
    assert_int_equal(released, 0);
    /* a store that answers: at most max a drain, each looked at again
     * later (kept until its lease ends), none due twice at once */
    stub.fail = APR_SUCCESS;
    assert_int_equal(goapi_store_orphans_drain(q, 10, stub_release, &stub, &released),
                     APR_SUCCESS);
    assert_int_equal(released, 10);
    assert_int_equal(goapi_store_orphans_drain(q, GOAPI_STORE_ORPHANS * 2, stub_release,
                                               &stub, &released), APR_SUCCESS);
    assert_int_equal(released, GOAPI_STORE_ORPHANS);
    assert_int_equal(goapi_store_orphans_left(q), GOAPI_STORE_ORPHANS);
    /* past their end: forgotten, never released */
    assert_int_equal(goapi_store_orphans_create(&q, unit_pool), APR_SUCCESS);
    c.lease_end = c.expires = now - 1;
    assert_int_equal(goapi_store_orphans_keep(q, k, &c), APR_SUCCESS);
    stub.calls = 0;
    assert_int_equal(goapi_store_orphans_drain(q, 5, stub_release, &stub, &released),
                     APR_SUCCESS);
    assert_int_equal(stub.calls, 0);
    assert_int_equal(goapi_store_orphans_left(q), 0);
}

/* ---- preparing and checking a ledger before use ------------------------ */

static goapi_store_owner me(void)
{
    goapi_store_owner o;

    o.uid = geteuid();
    o.gid = getegid();
    o.switch_user = 0;
    return o;
}

static goapi_ledger_report prepare(const char *path, apr_size_t size, int make)
{
    goapi_store_owner o = me();
    goapi_ledger_report rep;

    goapi_store_lmdb_prepare(path, size, &o, make, &rep, unit_pool);
    return rep;
}

/* A ledger with n completed records, closed again. */
static void fill(const char *path, int n)
{
    apr_pool_t *p;
    goapi_store *st;
    unsigned char k[GOAPI_SHA256_LEN];
    goapi_idem_record rec, got;
    goapi_claim_result res;
    int i;

    assert_int_equal(apr_pool_create(&p, unit_pool), APR_SUCCESS);
    assert_int_equal(goapi_store_lmdb_open(&st, path, 1 << 20, p), APR_SUCCESS);
    for (i = 0; i < n; i++) {
        char name[32];

        snprintf(name, sizeof(name), "filled-%d", i);
        unit_key_of(k, name);
        rec = unit_in_flight((apr_uint64_t)i + 1, SEC(10), SEC(60), SEC(3600));
        assert_int_equal(st->ops->claim(st, k, &rec, SEC(10), 0, &res, &got, p),
                         APR_SUCCESS);
        rec = unit_completed(&rec, SEC(3600), "filled\n", unit_pool);
        assert_int_equal(st->ops->complete(st, k, &rec), APR_SUCCESS);
    }
    apr_pool_destroy(p);
}

static apr_off_t file_size(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* Overwrite n bytes at off with byte b. */
static void scribble(const char *path, apr_off_t off, int b, apr_size_t n)
{
    unsigned char buf[8192];
    int fd = open(path, O_WRONLY);

    assert_true(fd >= 0 && n <= sizeof(buf));
    memset(buf, b, n);
    assert_int_equal(pwrite(fd, buf, n, off), (ssize_t)n);
    close(fd);
}

/* Overwrite n bytes with b at delta from each record's magic ("GIR") in
 * the file, rounded down to its page when page is set: the live copy of a
 * record is among them (LMDB leaves older copies in free pages). */
static void scribble_records(const char *path, long delta, int page, int b, apr_size_t n)
{
    apr_size_t size = (apr_size_t)file_size(path), i;
    char *buf = apr_palloc(unit_pool, size);
    FILE *f = fopen(path, "rb");
    int found = 0;

    assert_non_null(f);
    assert_int_equal(fread(buf, 1, size, f), size);
    fclose(f);
    for (i = 0; i + 3 < size; i++) {
        if (!memcmp(buf + i, "GIR\x02", 4)) {
            scribble(path, (page ? (apr_off_t)i / 4096 * 4096 : (apr_off_t)i) + delta, b, n);
            found++;
        }
    }
    assert_true(found > 0);
}

static void test_prepare_new_ledger(void **state)
{
    const char *path = store_path();
    goapi_ledger_report rep;
    struct stat st;

    (void)state;
    /* checking alone creates nothing */
    rep = prepare(path, 2 << 20, 0);
    assert_int_equal(rep.state, GOAPI_LEDGER_ABSENT);
    assert_int_equal(access(path, F_OK), -1);

    rep = prepare(path, 2 << 20, 1);
    assert_int_equal(rep.state, GOAPI_LEDGER_READY);
    assert_int_equal(rep.created, 1);
    assert_true(rep.map_size == 2 << 20);
    assert_true(rep.records == 0);
    /* the whole map is allocated on disk, and the reader table too */
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 2 << 20);
    assert_true((apr_int64_t)st.st_blocks * 512 >= 2 << 20);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(stat(apr_pstrcat(unit_pool, path, "-lock", NULL), &st), 0);
    assert_true(st.st_size > 0 && (apr_int64_t)st.st_blocks * 512 >= st.st_size);

    /* the children use it; then it is checked again, records and all */
    fill(path, 50);
    rep = prepare(path, 2 << 20, 1);
    assert_int_equal(rep.state, GOAPI_LEDGER_READY);
    assert_int_equal(rep.created, 0);
    assert_true(rep.records == 50);
    rep = prepare(path, 2 << 20, 0);
    assert_int_equal(rep.state, GOAPI_LEDGER_SOUND);
    assert_non_null(strstr(rep.detail, "50 record(s)"));
}

/* The check's rehearsal grows every record in place: records of many
 * sizes (in flight, completed with short and long bodies) in hash order,
 * as a ledger holds them after a kill mid-load. */
static void test_prepare_mixed_records(void **state)
{
    const char *path = store_path();
    goapi_ledger_report rep;
    apr_pool_t *p;
    goapi_store *st;
    unsigned char k[GOAPI_SHA256_LEN];
    goapi_idem_record rec, got;
    goapi_claim_result res;
    char body[600];
    int i;

    (void)state;
    rep = prepare(path, 2 << 20, 1);
    assert_int_equal(rep.state, GOAPI_LEDGER_READY);
    assert_int_equal(apr_pool_create(&p, unit_pool), APR_SUCCESS);
    assert_int_equal(goapi_store_lmdb_open(&st, path, 2 << 20, p), APR_SUCCESS);
    for (i = 0; i < 300; i++) {
        char name[32];

        snprintf(name, sizeof(name), "mixed-%d", i);
        unit_key_of(k, name);
        rec = unit_in_flight((apr_uint64_t)i + 1, SEC(10), SEC(60), SEC(3600));
        assert_int_equal(st->ops->claim(st, k, &rec, SEC(10), 0, &res, &got, p),
                         APR_SUCCESS);
        if (i % 3) {
            memset(body, 'a' + i % 26, sizeof(body));
            body[(i * 37) % (sizeof(body) - 1)] = '\0';
            rec = unit_completed(&rec, SEC(3600), body, unit_pool);
            assert_int_equal(st->ops->complete(st, k, &rec), APR_SUCCESS);
        }
    }
    apr_pool_destroy(p);
    rep = prepare(path, 2 << 20, 1);
    assert_int_equal(rep.state, GOAPI_LEDGER_READY);
    assert_true(rep.records == 300);
    rep = prepare(path, 2 << 20, 0);
    assert_int_equal(rep.state, GOAPI_LEDGER_SOUND);
}

static void test_empty_file_is_damage(void **state)
{
    const char *path = store_path();
    goapi_ledger_report rep;
    FILE *f = fopen(path, "w");

    (void)state;
    assert_non_null(f);
    fclose(f);
    rep = prepare(path, 1 << 20, 1);
    assert_int_equal(rep.state, GOAPI_LEDGER_DAMAGED);
    assert_non_null(strstr(rep.detail, "empty"));
    assert_int_equal(file_size(path), 0);           /* left as it was */
    assert_int_equal(prepare(path, 1 << 20, 0).state, GOAPI_LEDGER_DAMAGED);
}

static void test_truncated_ledger(void **state)
{
    const char *path = store_path();
    goapi_ledger_report rep;
    apr_off_t full;

    (void)state;
    fill(path, 400);
    full = file_size(path);
    assert_true(full > 64 * 1024);
    assert_int_equal(truncate(path, full / 2), 0);
    rep = prepare(path, 1 << 20, 1);
    assert_int_equal(rep.state, GOAPI_LEDGER_DAMAGED);
    assert_non_null(strstr(rep.detail, "cut short"));
    assert_int_equal(file_size(path), full / 2);    /* not grown back */

    /* cut after the meta pages' headers: the meta says what is missing */
    assert_int_equal(truncate(path, 5000), 0);
    rep = prepare(path, 1 << 20, 1);
    assert_int_equal(rep.state, GOAPI_LEDGER_DAMAGED);
    assert_non_null(strstr(rep.detail, "is 5000 bytes long"));
    /* cut inside the second meta page's header */
    assert_int_equal(truncate(path, 4100), 0);
    rep = prepare(path, 1 << 20, 1);
    assert_int_equal(rep.state, GOAPI_LEDGER_DAMAGED);
    assert_non_null(strstr(rep.detail, "meta pages"));
}

static void test_damaged_pages(void **state)
{
    const char *path = store_path();
    goapi_ledger_report rep;

    (void)state;
    /* both meta pages overwritten */
    fill(path, 100);
    scribble(path, 0, 0x5A, 8192);
    rep = prepare(path, 1 << 20, 1);
    assert_int_equal(rep.state, GOAPI_LEDGER_DAMAGED);
    assert_non_null(strstr(rep.detail, "meta pages"));

    /* a record whose bytes were changed */
    path = store_path();
    fill(path, 100);
    scribble_records(path, 3, 0, 9, 1);             /* the version byte */
    rep = prepare(path, 1 << 20, 1);
    assert_int_equal(rep.state, GOAPI_LEDGER_DAMAGED);
    assert_non_null(strstr(rep.detail, "does not decode"));

    /* a leaf page whose header lost its type (LMDB's page header: the page
     * number, 2 bytes, then 2 bytes of flags) */
    path = store_path();
    fill(path, 100);
    scribble_records(path, 10, 1, 0, 2);
    rep = prepare(path, 1 << 20, 1);
    assert_int_equal(rep.state, GOAPI_LEDGER_DAMAGED);
    assert_non_null(strstr(rep.detail, "damaged page"));
}

static void test_not_a_ledger(void **state)
{
    const char *path = store_path();
    goapi_ledger_report rep;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;

    (void)state;
    /* an LMDB file of something else */
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
    assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "sessions", MDB_CREATE, &dbi), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    rep = prepare(path, 1 << 20, 1);
    assert_int_equal(rep.state, GOAPI_LEDGER_DAMAGED);
    assert_non_null(strstr(rep.detail, "not a ledger"));

    /* a text file */
    path = store_path();
    {
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        fputs("not a database at all\n", f);
        fclose(f);
    }
    rep = prepare(path, 1 << 20, 1);
    assert_int_equal(rep.state, GOAPI_LEDGER_DAMAGED);
}

static void test_move_aside(void **state)
{
    const char *path = store_path(), *moved = NULL;
    goapi_store_owner o = me();
    goapi_ledger_report rep;

    (void)state;
    fill(path, 10);
    assert_int_equal(truncate(path, 0), 0);
    assert_int_equal(goapi_store_lmdb_move_aside(path, "T1", &o, &moved, unit_pool),
                     APR_SUCCESS);
    assert_string_equal(moved, apr_pstrcat(unit_pool, path, ".damaged-T1", NULL));
    assert_int_equal(access(moved, F_OK), 0);
    assert_int_equal(access(apr_pstrcat(unit_pool, path, "-lock.damaged-T1", NULL), F_OK), 0);
    assert_int_equal(access(path, F_OK), -1);
    rep = prepare(path, 1 << 20, 1);
    assert_int_equal(rep.state, GOAPI_LEDGER_READY);
    assert_int_equal(rep.created, 1);
    /* never over an earlier one */
    assert_int_equal(truncate(path, 0), 0);
    assert_int_not_equal(goapi_store_lmdb_move_aside(path, "T1", &o, &moved, unit_pool),
                         APR_SUCCESS);
    assert_int_equal(file_size(apr_pstrcat(unit_pool, path, ".damaged-T1", NULL)), 0);
    assert_int_equal(access(path, F_OK), 0);
}

static void test_planted_links_refused(void **state)
{
    const char *path = store_path();
    const char *target = apr_pstrcat(unit_pool, store_dir, "/victim", NULL);
    goapi_ledger_report rep;
    FILE *f = fopen(target, "w");

    (void)state;
    assert_non_null(f);
    fputs("root's own\n", f);
    fclose(f);
    assert_int_equal(symlink(target, apr_pstrcat(unit_pool, path, "-lock", NULL)), 0);
    rep = prepare(path, 1 << 20, 1);
    assert_int_equal(rep.state, GOAPI_LEDGER_UNSAFE);
    assert_non_null(strstr(rep.detail, "-lock is a symbolic link"));
    assert_int_equal(file_size(target), 11);
    /* nothing was left behind either */
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(prepare(path, 1 << 20, 0).state, GOAPI_LEDGER_UNSAFE);
}

/* Running as root: everything LMDB does happens as the server's user. */
static void test_prepare_as_root_for_the_server_user(void **state)
{
    const char *dir = apr_pstrcat(unit_pool, store_dir, "/www", NULL);
    const char *path = apr_pstrcat(unit_pool, dir, "/ledger", NULL);
    goapi_store_owner o;
    goapi_ledger_report rep;
    struct stat st;

    (void)state;
    if (geteuid() != 0) {
        skip();
    }
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(chmod(store_dir, 0755), 0);
    o.uid = 65534;
    o.gid = 65534;
    o.switch_user = 1;
    goapi_store_lmdb_prepare(path, 1 << 20, &o, 1, &rep, unit_pool);
    assert_int_equal(rep.state, GOAPI_LEDGER_READY);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, 65534);
    assert_int_equal(stat(apr_pstrcat(unit_pool, path, "-lock", NULL), &st), 0);
    assert_int_equal(st.st_uid, 65534);
    /* a ledger only root may read cannot be checked as that user */
    assert_int_equal(chown(path, 0, 0), 0);
    goapi_store_lmdb_prepare(path, 1 << 20, &o, 0, &rep, unit_pool);
    assert_int_equal(rep.state, GOAPI_LEDGER_FAILED);
    assert_non_null(strstr(rep.detail, "Permission denied"));
    assert_int_equal(chmod(store_dir, 0700), 0);
}

static int group_setup(void **state)
{
    return unit_setup_dir(state, store_dir, sizeof(store_dir), "goapi-store");
}

static int group_teardown(void **state)
{
    return unit_teardown_dir(state, store_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orphan_queue),
        cmocka_unit_test(test_full_store_keeps_what_it_has),
        cmocka_unit_test(test_error_words),
        cmocka_unit_test(test_one_claim_wins_across_processes),
        cmocka_unit_test(test_bad_path),
        cmocka_unit_test(test_prepare_new_ledger),
        cmocka_unit_test(test_prepare_mixed_records),
        cmocka_unit_test(test_empty_file_is_damage),
        cmocka_unit_test(test_truncated_ledger),
        cmocka_unit_test(test_damaged_pages),
        cmocka_unit_test(test_not_a_ledger),
        cmocka_unit_test(test_move_aside),
        cmocka_unit_test(test_planted_links_refused),
        cmocka_unit_test(test_prepare_as_root_for_the_server_user),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
