/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_store_file.h — the files of a store kept on this host.
 *
 * The server's parent runs as root and prepares the files that its children
 * (the server's User) then use.  Root must never write through a path that
 * another user controls, so nothing here opens a path by name twice: the
 * directory is opened once without following a link and checked, the files
 * are opened relative to it without following links, checked with fstat()
 * after the open, and everything after that (ownership, space) is done on
 * the descriptors.  A reader that may crash on a damaged file (LMDB maps
 * its file: a page out of place is a SIGBUS or SIGSEGV) runs in a child
 * process of its own, as the server's User.
 *
 * Pure: APR and libc only.
 */
#ifndef GOAPI_STORE_FILE_H
#define GOAPI_STORE_FILE_H

#include <apr_pools.h>
#include <apr_user.h>

/* Whose files these are. */
typedef struct {
    apr_uid_t uid;              /* the server's User: owns the files */
    apr_gid_t gid;              /* and its Group */
    int switch_user;            /* 1 (running as root): readers run as uid/gid */
} goapi_store_owner;

/* Open the directory dir: not a symbolic link, a directory, owned by root,
 * the owner or this process's user, and not writable by anyone else: group
 * write only for root's or the owner's group, world write only with the
 * sticky bit.  NULL and *dirfd, or a message saying what is wrong; then
 * *unsafe is 1 when another user could control what is there, 0 when the
 * system would not open it. */
const char *goapi_store_dir_open(const char *dir, const goapi_store_owner *o, int *dirfd,
                                 int *unsafe, apr_pool_t *p);

/* Open name in dirfd for reading and writing without following a symbolic
 * link; with create, make it (O_EXCL, mode 0600) when it does not exist.
 * It must be a regular file with a single link, owned as the directory
 * and not writable by anyone else.  NULL and *fd (with *created), or a
 * message and *unsafe as for goapi_store_dir_open(); a name that does not
 * exist without create gives NULL and -1. */
const char *goapi_store_file_open(int dirfd, const char *name, const goapi_store_owner *o,
                                  int create, int *fd, int *created, int *unsafe,
                                  apr_pool_t *p);

/* Give an open file to the owner (when running as root), mode 0600. */
apr_status_t goapi_store_file_hand_over(int fd, const goapi_store_owner *o);

/* Have the filesystem allocate the first len bytes of fd now (the file
 * grows to len if shorter), so that writes inside them never find the disk
 * full. */
apr_status_t goapi_store_file_reserve(int fd, apr_off_t len);

/* Run fn(baton, out) in a child process, as the owner when switch_user,
 * with core dumps off and its standard error on /dev/null; out_len bytes of
 * out come back through a pipe.  APR_SUCCESS when the child returned them
 * all; otherwise *signo is the signal that ended it (0 if none) and
 * *exit_code its exit status (a sanitizer ends a faulting process with
 * one). */
typedef void goapi_store_contained_fn(void *baton, void *out);
apr_status_t goapi_store_contained(goapi_store_contained_fn *fn, void *baton, void *out,
                                   apr_size_t out_len, const goapi_store_owner *o,
                                   int *signo, int *exit_code);

/* The system's message for errno err, in p (thread-safe, unlike
 * strerror()). */
const char *goapi_store_strerror(apr_pool_t *p, int err);

/* The exit status of a contained child that could not become the owner. */
#define GOAPI_STORE_CONTAINED_NO_USER 70

#endif /* GOAPI_STORE_FILE_H */
