/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_store_file.c — the files of a store kept on this host (see
 * goapi_store_file.h).  Messages are predicates ("is a symbolic link..."):
 * the caller names the path they are about.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>

#include "goapi_store_file.h"

const char *goapi_store_strerror(apr_pool_t *p, int err)
{
    char buf[120];

    return apr_pstrdup(p, apr_strerror(APR_FROM_OS_ERROR(err), buf, sizeof(buf)));
}

/* May this user own the store's directory and files? */
static int goapi_store_owner_ok(const goapi_store_owner *o, uid_t uid)
{
    return uid == 0 || uid == (uid_t)o->uid || uid == geteuid();
}

/* May members of this group write to them? */
static int goapi_store_group_ok(const goapi_store_owner *o, gid_t gid)
{
    return gid == 0 || gid == (gid_t)o->gid || gid == getegid();
}

/* What is wrong with who owns st and who may write to it, or NULL. */
static const char *goapi_store_who(const struct stat *st, const goapi_store_owner *o,
                                   int dir, apr_pool_t *p)
{
    unsigned mode = (unsigned)st->st_mode & 07777;
    int sticky = dir && (st->st_mode & S_ISVTX);

    if (!goapi_store_owner_ok(o, st->st_uid)) {
        return apr_psprintf(p, "is owned by uid %lu: only root or the server's user "
                            "(uid %lu) may own it", (unsigned long)st->st_uid,
                            (unsigned long)o->uid);
    }
    if ((st->st_mode & S_IWOTH) && !sticky) {
        return apr_psprintf(p, "is writable by every user (mode %04o)%s", mode,
                            dir ? " and has no sticky bit: anyone could replace the "
                                  "store's files" : "");
    }
    if ((st->st_mode & S_IWGRP) && !sticky && !goapi_store_group_ok(o, st->st_gid)) {
        return apr_psprintf(p, "is writable by the members of group %lu (mode %04o), "
                            "neither root's group nor the server's",
                            (unsigned long)st->st_gid, mode);
    }
    return NULL;
}

const char *goapi_store_dir_open(const char *dir, const goapi_store_owner *o, int *dirfd,
                                 int *unsafe, apr_pool_t *p)
{
    struct stat st;
    const char *why;
    int fd;

    *dirfd = -1;
    *unsafe = 1;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP || errno == ENOTDIR) {
            /* O_NOFOLLOW and O_DIRECTORY together: say which it was */
            if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
                return "is a symbolic link: name the directory it points to";
            }
            return "is not a directory";
        }
        *unsafe = 0;
        return apr_psprintf(p, "cannot be opened: %s", goapi_store_strerror(p, errno));
    }
    if (fstat(fd, &st) != 0) {
        *unsafe = 0;
        why = apr_psprintf(p, "cannot be examined: %s", goapi_store_strerror(p, errno));
    }
    else {
        why = goapi_store_who(&st, o, 1, p);
    }
    if (why) {
        close(fd);
        return why;
    }
    *dirfd = fd;
    return NULL;
}

const char *goapi_store_file_open(int dirfd, const char *name, const goapi_store_owner *o,
                                  int create, int *fd, int *created, int *unsafe,
                                  apr_pool_t *p)
{
    /* O_NONBLOCK: a FIFO put in its place must not hang the open */
    const int flags = O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    struct stat st;
    const char *why = NULL;

    *fd = -1;
    *created = 0;
    *unsafe = 1;
    *fd = openat(dirfd, name, flags);
    if (*fd < 0 && errno == ENOENT && create) {
        *fd = openat(dirfd, name, flags | O_CREAT | O_EXCL, 0600);
        *created = *fd >= 0;
    }
    if (*fd < 0) {
        if (errno == ENOENT && !create) {
            return NULL;
        }
        if (errno == ELOOP) {
            return "is a symbolic link (whoever may write to its directory can put one "
                   "there); its target was left untouched";
        }
        *unsafe = 0;
        return apr_psprintf(p, "cannot be opened: %s", goapi_store_strerror(p, errno));
    }
    if (fstat(*fd, &st) != 0) {
        *unsafe = 0;
        why = apr_psprintf(p, "cannot be examined: %s", goapi_store_strerror(p, errno));
    }
    else if (!S_ISREG(st.st_mode)) {
        why = "is not a regular file";
    }
    else if (st.st_nlink != 1) {
        why = apr_psprintf(p, "has %lu names (hard links): another name may lead to "
                           "a file that is not the store's", (unsigned long)st.st_nlink);
    }
    else {
        why = goapi_store_who(&st, o, 0, p);
    }
    if (why) {
        close(*fd);
        *fd = -1;
        if (*created) {
            unlinkat(dirfd, name, 0);
            *created = 0;
        }
    }
    return why;
}

apr_status_t goapi_store_file_hand_over(int fd, const goapi_store_owner *o)
{
    if (o->switch_user && fchown(fd, (uid_t)o->uid, (gid_t)o->gid) != 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    return fchmod(fd, 0600) == 0 ? APR_SUCCESS : APR_FROM_OS_ERROR(errno);
}

apr_status_t goapi_store_file_reserve(int fd, apr_off_t len)
{
    /* posix_fallocate() returns the error instead of setting errno; where
     * the filesystem cannot allocate ahead, glibc writes a byte per block */
    int rc = len > 0 ? posix_fallocate(fd, 0, (off_t)len) : 0;

    return rc == 0 ? APR_SUCCESS : APR_FROM_OS_ERROR(rc);
}

/* In the child: what the parent's signal setup (httpd's fatal-signal
 * handlers, blocked signals) would change about dying of a signal. */
static void goapi_store_contained_signals(void)
{
    static const int fatal[] = { SIGBUS, SIGSEGV, SIGILL, SIGFPE, SIGABRT };
    struct rlimit no_core = { 0, 0 };
    struct sigaction dfl;
    sigset_t none;
    apr_size_t i;

    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
        (void)sigaction(fatal[i], &dfl, NULL);
    }
    sigemptyset(&none);
    (void)pthread_sigmask(SIG_SETMASK, &none, NULL);
    (void)setrlimit(RLIMIT_CORE, &no_core);
}

static int goapi_store_write_all(int fd, const void *buf, apr_size_t len)
{
    const char *b = buf;

    while (len > 0) {
        ssize_t n = write(fd, b, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        b += n;
        len -= (apr_size_t)n;
    }
    return 0;
}

apr_status_t goapi_store_contained(goapi_store_contained_fn *fn, void *baton, void *out,
                                   apr_size_t out_len, const goapi_store_owner *o,
                                   int *signo, int *exit_code)
{
    apr_size_t got = 0;
    int pfd[2], status = 0;
    pid_t pid;

    *signo = 0;
    *exit_code = 0;
    if (pipe(pfd) != 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    pid = fork();
    if (pid < 0) {
        int err = errno;

        close(pfd[0]);
        close(pfd[1]);
        return APR_FROM_OS_ERROR(err);
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

        close(pfd[0]);
        /* its one word is what it sends back: what a runtime would print as
         * it dies (a sanitizer's report of the fault that proves a file
         * damaged) must not read like a crash of the server */
        if (null >= 0) {
            dup2(null, STDERR_FILENO);
        }
        goapi_store_contained_signals();
        if (o->switch_user && (setgroups(0, NULL) != 0 || setgid((gid_t)o->gid) != 0
                               || setuid((uid_t)o->uid) != 0)) {
            _exit(GOAPI_STORE_CONTAINED_NO_USER);
        }
        fn(baton, out);
        _exit(goapi_store_write_all(pfd[1], out, out_len) == 0 ? 0 : 1);
    }
    close(pfd[1]);
    while (got < out_len) {
        ssize_t n = read(pfd[0], (char *)out + got, out_len - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += (apr_size_t)n;
    }
    close(pfd[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return APR_FROM_OS_ERROR(errno);
        }
    }
    if (WIFSIGNALED(status)) {
        *signo = WTERMSIG(status);
        return APR_EGENERAL;
    }
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    return *exit_code == 0 && got == out_len ? APR_SUCCESS : APR_EGENERAL;
}
