/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * fuzz_ledger — the check of a ledger file before use, on damaged files.
 *
 * A ledger with records in flight and completed, and a counter, is made
 * once; each input damages a copy of it:
 *   byte 0       what to do: bit 0 overwrite, bit 1 cut the file short
 *   bytes 1-4    where (big-endian, modulo the file's length)
 *   the rest     the bytes written there
 * then goapi_store_lmdb_prepare() checks it (as "apachectl -t" does).  It
 * must give a verdict, never crash this process.  And a file it passes as
 * sound must be one the server can read: a child process opens it and
 * looks every key up; if that child dies, the check let through a file
 * that crashes a reader, and this target aborts.
 *
 * Writes are not asked of it: LMDB keeps no checksums, and damage that
 * leaves every page readable but misleads a later commit (a page header's
 * own page number, one byte changed) passes any reading of the file; this
 * target found such a case when it committed writes (README, Known
 * problems).
 */
#include "fuzz.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include "goapi_store_lmdb.h"

#define KEYS      150
#define MAP       (1 << 20)
#define SEC(n)    ((apr_time_t)(n) * APR_USEC_PER_SEC)

static char dir[64];
static const char *template_path, *work_path;
static unsigned char *template_bytes;
static size_t template_len;
static goapi_store_owner me;

static void key_of(unsigned char k[GOAPI_SHA256_LEN], int i)
{
    char name[32];

    snprintf(name, sizeof(name), "fuzz-key-%d", i);
    goapi_idem_ledger_key(k, "localhost:80", name);
}

static goapi_idem_record record(int i, int done)
{
    static const goapi_idem_header h = { "Location", "/parcels/p1/dispatches/1" };
    static apr_array_header_t *headers;
    goapi_idem_record r;

    if (!headers) {
        headers = apr_array_make(fuzz_root, 1, sizeof(goapi_idem_header));
        *(goapi_idem_header *)apr_array_push(headers) = h;
    }
    memset(&r, 0, sizeof(r));
    r.state = done ? GOAPI_IDEM_COMPLETED : GOAPI_IDEM_IN_FLIGHT;
    r.flags = done ? GOAPI_IDEM_F_REPLAYABLE : 0;
    r.claim_id = (apr_uint64_t)i + 1;
    r.created = SEC(1000);
    r.lease_end = SEC(1060);
    r.expires = SEC(1000) + SEC(i % 3 ? 3600 : 10);
    memset(r.fingerprint, i, sizeof(r.fingerprint));
    r.status = done ? 201 : 0;
    r.headers = done ? headers : NULL;
    r.body = done ? "dispatch 1 created for p1\n" : NULL;
    r.body_len = done ? 26 : 0;
    return r;
}

/* The template ledger, made through the store as the server makes it. */
static void make_template(void)
{
    goapi_ledger_report rep;
    goapi_store *st;
    apr_pool_t *p;
    unsigned char k[GOAPI_SHA256_LEN];
    goapi_idem_record rec, got;
    goapi_claim_result res;
    apr_uint64_t n;
    struct stat sb;
    int i, fd;

    goapi_store_lmdb_prepare(template_path, MAP, &me, 1, &rep, fuzz_root);
    FUZZ_CHECK(rep.state == GOAPI_LEDGER_READY);
    FUZZ_CHECK(apr_pool_create(&p, fuzz_root) == APR_SUCCESS);
    FUZZ_CHECK(goapi_store_lmdb_open(&st, template_path, MAP, p) == APR_SUCCESS);
    for (i = 0; i < KEYS; i++) {
        key_of(k, i);
        rec = record(i, 0);
        FUZZ_CHECK(st->ops->claim(st, k, &rec, SEC(1000), 0, &res, &got, p) == APR_SUCCESS);
        if (i % 4) {
            rec = record(i, 1);
            FUZZ_CHECK(st->ops->complete(st, k, &rec) == APR_SUCCESS);
        }
    }
    FUZZ_CHECK(st->ops->next(st, "dispatch", &n) == APR_SUCCESS);
    apr_pool_destroy(p);

    /* the pages in use: up to the last one that is not all zeros */
    fd = open(template_path, O_RDONLY);
    FUZZ_CHECK(fd >= 0 && fstat(fd, &sb) == 0);
    template_bytes = malloc((size_t)sb.st_size);
    FUZZ_CHECK(template_bytes != NULL);
    FUZZ_CHECK(read(fd, template_bytes, (size_t)sb.st_size) == sb.st_size);
    close(fd);
    for (template_len = (size_t)sb.st_size; template_len > 4096; template_len -= 4096) {
        size_t j;

        for (j = template_len - 4096; j < template_len && !template_bytes[j]; j++)
            ;
        if (j < template_len) {
            break;
        }
    }
}

/* The template and the work copy go when the fuzzer exits. */
static void remove_dir(void)
{
    char cmd[96];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "fuzz_ledger: could not remove %s\n", dir);
    }
}

static void setup(void)
{
    me.uid = geteuid();
    me.gid = getegid();
    me.switch_user = 0;
    snprintf(dir, sizeof(dir), "/tmp/goapi-fuzz-ledger-XXXXXX");
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    atexit(remove_dir);
    template_path = apr_pstrcat(fuzz_root, dir, "/template.mdb", NULL);
    work_path = apr_pstrcat(fuzz_root, dir, "/work.mdb", NULL);
    make_template();
}

/* What the server reads of a file the check passed, in a child process:
 * every key looked up, and one that is not there. */
static void read_store(void *baton, void *out)
{
    goapi_store *st;
    apr_pool_t *p;
    unsigned char k[GOAPI_SHA256_LEN];
    goapi_idem_record got;
    int i;

    (void)baton;
    *(int *)out = 0;
    if (apr_pool_create(&p, NULL) != APR_SUCCESS
        || goapi_store_lmdb_open(&st, work_path, MAP, p) != APR_SUCCESS) {
        *(int *)out = 1;        /* refused cleanly: fine */
        return;
    }
    for (i = 0; i <= KEYS; i++) {
        key_of(k, i);
        st->ops->lookup(st, k, &got, p);
    }
    apr_pool_destroy(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    goapi_ledger_report rep;
    apr_pool_t *p;
    size_t at;
    int fd, signo, code, used = -1;

    if (!ready) {
        setup();
        ready = 1;
    }
    if (size < 5) {
        return 0;
    }
    at = (((size_t)data[1] << 24) | ((size_t)data[2] << 16) | ((size_t)data[3] << 8)
          | data[4]) % template_len;
    fd = open(work_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(write(fd, template_bytes, template_len) == (ssize_t)template_len);
    if ((data[0] & 1) && size > 5) {
        FUZZ_CHECK(pwrite(fd, data + 5, size - 5, (off_t)at) == (ssize_t)(size - 5));
    }
    if (data[0] & 2) {
        FUZZ_CHECK(ftruncate(fd, (off_t)at) == 0);
    }
    close(fd);

    p = fuzz_pool();
    goapi_store_lmdb_prepare(work_path, MAP, &me, 0, &rep, p);
    FUZZ_CHECK(rep.state == GOAPI_LEDGER_SOUND || rep.state == GOAPI_LEDGER_DAMAGED);
    FUZZ_CHECK(rep.detail != NULL);
    if (rep.state == GOAPI_LEDGER_SOUND) {
        if (goapi_store_contained(read_store, NULL, &used, sizeof(used), &me, &signo, &code)
            != APR_SUCCESS) {
            fprintf(stderr, "a ledger the check passed (%s) made its reader die "
                    "(signal %d, status %d); again, here, for the report:\n", rep.detail,
                    signo, code);
            read_store(NULL, &used);
            abort();
        }
    }
    apr_pool_destroy(p);
    return 0;
}
