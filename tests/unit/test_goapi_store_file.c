/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * The files of a store on this host: directories and files another user
 * could control are refused before anything writes through them (planted
 * symbolic links, hard links, FIFOs, modes that let others write), new
 * files are made exclusively, space is reserved, and a reader that dies of
 * a signal is contained in its own process.  Some cases need root (files
 * of another user); they are skipped otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include "unit.h"
#include "goapi_store_file.h"

static char top[64];
static int seq;

/* A fresh directory (mode 0755) for each test. */
static const char *fresh_dir(void)
{
    const char *d = apr_psprintf(unit_pool, "%s/d%d", top, ++seq);

    assert_int_equal(mkdir(d, 0755), 0);
    assert_int_equal(chmod(d, 0755), 0);
    return d;
}

static goapi_store_owner me(void)
{
    goapi_store_owner o;

    o.uid = geteuid();
    o.gid = getegid();
    o.switch_user = 0;
    return o;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static char *read_file(const char *path)
{
    char *buf = apr_pcalloc(unit_pool, 4096);
    FILE *f = fopen(path, "r");

    assert_non_null(f);
    assert_true(fread(buf, 1, 4095, f) < 4095);
    fclose(f);
    return buf;
}

/* Whether the last refusal was about safety (1) or the system's (0). */
static int last_unsafe;

static int open_dir(const char *d, const goapi_store_owner *o, const char **why)
{
    int fd = -1;

    *why = goapi_store_dir_open(d, o, &fd, &last_unsafe, unit_pool);
    assert_true((*why == NULL) == (fd >= 0));
    return fd;
}

static void test_dir_checks(void **state)
{
    goapi_store_owner o = me();
    const char *d = fresh_dir(), *why, *link;
    int fd;

    (void)state;
    fd = open_dir(d, &o, &why);
    assert_null(why);
    close(fd);

    /* a symbolic link to a good directory is still refused */
    link = apr_pstrcat(unit_pool, d, "-link", NULL);
    assert_int_equal(symlink(d, link), 0);
    open_dir(link, &o, &why);
    assert_non_null(strstr(why, "symbolic link"));
    assert_int_equal(last_unsafe, 1);

    /* writable by everyone: only with the sticky bit */
    assert_int_equal(chmod(d, 0777), 0);
    open_dir(d, &o, &why);
    assert_non_null(strstr(why, "writable by every user"));
    assert_non_null(strstr(why, "sticky"));
    assert_int_equal(chmod(d, 01777), 0);
    fd = open_dir(d, &o, &why);
    assert_null(why);
    close(fd);

    /* a file, and nothing at all */
    write_file(apr_pstrcat(unit_pool, d, "/f", NULL), "x", 0600);
    open_dir(apr_pstrcat(unit_pool, d, "/f", NULL), &o, &why);
    assert_string_equal(why, "is not a directory");
    assert_int_equal(last_unsafe, 1);
    open_dir(apr_pstrcat(unit_pool, d, "/none", NULL), &o, &why);
    assert_non_null(strstr(why, "cannot be opened"));
    assert_int_equal(last_unsafe, 0);
}

static void test_dir_of_other_users(void **state)
{
    goapi_store_owner o = me();
    const char *d = fresh_dir(), *why;
    int fd;

    (void)state;
    if (geteuid() != 0) {
        skip();
    }
    o.uid = 33;
    o.gid = 33;
    /* the server's user may own it */
    assert_int_equal(chown(d, 33, 33), 0);
    fd = open_dir(d, &o, &why);
    assert_null(why);
    close(fd);
    /* another user may not */
    assert_int_equal(chown(d, 4242, 0), 0);
    open_dir(d, &o, &why);
    assert_non_null(strstr(why, "owned by uid 4242"));
    /* group write: root's or the server's group only */
    assert_int_equal(chown(d, 0, 4243), 0);
    assert_int_equal(chmod(d, 0775), 0);
    open_dir(d, &o, &why);
    assert_non_null(strstr(why, "group 4243"));
    assert_int_equal(chown(d, 0, 33), 0);
    fd = open_dir(d, &o, &why);
    assert_null(why);
    close(fd);
}

static const char *open_in(const char *d, const char *name, int create, int *fd,
                           int *created)
{
    goapi_store_owner o = me();
    const char *why;
    int dfd = open_dir(d, &o, &why);

    assert_null(why);
    why = goapi_store_file_open(dfd, name, &o, create, fd, created, &last_unsafe, unit_pool);
    close(dfd);
    return why;
}

static void test_file_create_and_open(void **state)
{
    const char *d = fresh_dir(), *why;
    struct stat st;
    int fd, created;

    (void)state;
    /* absent, not to be created */
    why = open_in(d, "ledger", 0, &fd, &created);
    assert_null(why);
    assert_int_equal(fd, -1);
    assert_int_equal(access(apr_pstrcat(unit_pool, d, "/ledger", NULL), F_OK), -1);

    why = open_in(d, "ledger", 1, &fd, &created);
    assert_null(why);
    assert_true(fd >= 0);
    assert_int_equal(created, 1);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    close(fd);

    why = open_in(d, "ledger", 1, &fd, &created);
    assert_null(why);
    assert_int_equal(created, 0);
    close(fd);
}

/* A link planted where a file of the store belongs: refused, and the file
 * it points to is left exactly as it was, with create or without. */
static void test_planted_symlink(void **state)
{
    const char *d = fresh_dir(), *why;
    const char *target = apr_pstrcat(unit_pool, top, "/root-only", NULL);
    int fd, created, create;

    (void)state;
    write_file(target, "precious\n", 0600);
    assert_int_equal(symlink(target, apr_pstrcat(unit_pool, d, "/ledger", NULL)), 0);
    for (create = 0; create <= 1; create++) {
        why = open_in(d, "ledger", create, &fd, &created);
        assert_non_null(why);
        assert_non_null(strstr(why, "symbolic link"));
        assert_int_equal(last_unsafe, 1);
        assert_int_equal(fd, -1);
        assert_int_equal(created, 0);
    }
    assert_string_equal(read_file(target), "precious\n");
    /* a dangling link is no better: nothing is created at its target */
    assert_int_equal(symlink(apr_pstrcat(unit_pool, top, "/nowhere", NULL),
                             apr_pstrcat(unit_pool, d, "/ledger-lock", NULL)), 0);
    why = open_in(d, "ledger-lock", 1, &fd, &created);
    assert_non_null(strstr(why, "symbolic link"));
    assert_int_equal(access(apr_pstrcat(unit_pool, top, "/nowhere", NULL), F_OK), -1);
}

static void test_hard_link_fifo_and_modes(void **state)
{
    const char *d = fresh_dir(), *why;
    const char *target = apr_pstrcat(unit_pool, top, "/hard-target", NULL);
    int fd, created;

    (void)state;
    write_file(target, "other\n", 0600);
    assert_int_equal(link(target, apr_pstrcat(unit_pool, d, "/ledger", NULL)), 0);
    why = open_in(d, "ledger", 1, &fd, &created);
    assert_non_null(strstr(why, "hard links"));
    assert_string_equal(read_file(target), "other\n");

    /* a FIFO neither hangs the open nor passes */
    assert_int_equal(mkfifo(apr_pstrcat(unit_pool, d, "/fifo", NULL), 0600), 0);
    why = open_in(d, "fifo", 1, &fd, &created);
    assert_string_equal(why, "is not a regular file");

    write_file(apr_pstrcat(unit_pool, d, "/open", NULL), "", 0666);
    why = open_in(d, "open", 1, &fd, &created);
    assert_non_null(strstr(why, "writable by every user"));
    assert_int_equal(fd, -1);
}

static void test_file_of_another_user(void **state)
{
    const char *d = fresh_dir(), *why;
    const char *path = apr_pstrcat(unit_pool, d, "/ledger", NULL);
    goapi_store_owner o = me();
    struct stat st;
    int fd, dfd, created;

    (void)state;
    if (geteuid() != 0) {
        skip();
    }
    write_file(path, "theirs\n", 0600);
    assert_int_equal(chown(path, 4242, 4242), 0);
    why = open_in(d, "ledger", 1, &fd, &created);
    assert_non_null(strstr(why, "owned by uid 4242"));

    /* handed over: owned by the server's user, mode 0600 */
    assert_int_equal(chown(path, 0, 0), 0);
    assert_int_equal(chmod(path, 0640), 0);
    o.uid = 33;
    o.gid = 33;
    o.switch_user = 1;
    dfd = open_dir(d, &o, &why);
    assert_null(goapi_store_file_open(dfd, "ledger", &o, 1, &fd, &created, &last_unsafe,
                                      unit_pool));
    assert_int_equal(goapi_store_file_hand_over(fd, &o), APR_SUCCESS);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_uid, 33);
    assert_int_equal(st.st_gid, 33);
    assert_int_equal(st.st_mode & 07777, 0600);
    close(fd);
    close(dfd);
}

static void test_reserve(void **state)
{
    const char *d = fresh_dir();
    struct stat st;
    int fd, created;

    (void)state;
    assert_null(open_in(d, "big", 1, &fd, &created));
    assert_int_equal(goapi_store_file_reserve(fd, 3 * 1024 * 1024), APR_SUCCESS);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 3 * 1024 * 1024);
    /* allocated, not a hole */
    assert_true((apr_int64_t)st.st_blocks * 512 >= 3 * 1024 * 1024);
    /* again, and larger than needed later: nothing shrinks */
    assert_int_equal(goapi_store_file_reserve(fd, 1024 * 1024), APR_SUCCESS);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 3 * 1024 * 1024);
    close(fd);
}

/* ---- contained readers -------------------------------------------------- */

static void say_hello(void *baton, void *out)
{
    (void)baton;
    memcpy(out, "hello", 6);
}

static void die_of(void *baton, void *out)
{
    (void)out;
    raise(*(int *)baton);
}

static void exit_with(void *baton, void *out)
{
    (void)out;
    _exit(*(int *)baton);
}

static void report_uid(void *baton, void *out)
{
    (void)baton;
    *(uid_t *)out = getuid();
    ((uid_t *)out)[1] = geteuid();
}

static void test_contained(void **state)
{
    goapi_store_owner o = me();
    char out[6] = "";
    int signo, code, sig = SIGBUS, status = 3;

    (void)state;
    assert_int_equal(goapi_store_contained(say_hello, NULL, out, sizeof(out), &o, &signo,
                                           &code), APR_SUCCESS);
    assert_string_equal(out, "hello");
    assert_int_equal(signo, 0);

    assert_int_not_equal(goapi_store_contained(die_of, &sig, out, sizeof(out), &o, &signo,
                                               &code), APR_SUCCESS);
    assert_int_equal(signo, SIGBUS);
    sig = SIGSEGV;
    assert_int_not_equal(goapi_store_contained(die_of, &sig, out, sizeof(out), &o, &signo,
                                               &code), APR_SUCCESS);
    assert_int_equal(signo, SIGSEGV);

    assert_int_not_equal(goapi_store_contained(exit_with, &status, out, sizeof(out), &o,
                                               &signo, &code), APR_SUCCESS);
    assert_int_equal(signo, 0);
    assert_int_equal(code, 3);
}

static void test_contained_as_the_owner(void **state)
{
    goapi_store_owner o = me();
    uid_t ids[2] = { 1, 1 };
    int signo, code;

    (void)state;
    if (geteuid() != 0) {
        skip();
    }
    o.uid = 65534;
    o.gid = 65534;
    o.switch_user = 1;
    assert_int_equal(goapi_store_contained(report_uid, NULL, ids, sizeof(ids), &o, &signo,
                                           &code), APR_SUCCESS);
    assert_int_equal(ids[0], 65534);
    assert_int_equal(ids[1], 65534);
    assert_int_equal(geteuid(), 0);     /* the caller is unchanged */
}

static int group_setup(void **state)
{
    if (unit_setup_dir(state, top, sizeof(top), "goapi-file") != 0) {
        return -1;
    }
    return chmod(top, 0755) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    return unit_teardown_dir(state, top);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dir_checks),
        cmocka_unit_test(test_dir_of_other_users),
        cmocka_unit_test(test_file_create_and_open),
        cmocka_unit_test(test_planted_symlink),
        cmocka_unit_test(test_hard_link_fifo_and_modes),
        cmocka_unit_test(test_file_of_another_user),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_contained),
        cmocka_unit_test(test_contained_as_the_owner),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
