/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_allow.h — which clients may see something (the probes' detail):
 * every client, none, or those whose address is local (loopback, or the
 * address the connection came to, as "Require local" says) or in one of a
 * list of networks (as "Require ip" writes them).  Pure: APR and libc only.
 */
#ifndef GOAPI_ALLOW_H
#define GOAPI_ALLOW_H

#include <apr_network_io.h>
#include <apr_pools.h>
#include <apr_tables.h>

typedef enum {
    GOAPI_ALLOW_UNSET = -1,
    GOAPI_ALLOW_NONE = 0,       /* "off" */
    GOAPI_ALLOW_ALL = 1,        /* "all" */
    GOAPI_ALLOW_LISTED = 2      /* "local" and/or networks */
} goapi_allow_mode;

typedef struct {
    goapi_allow_mode mode;
    int local;                  /* loopback and the connection's own address */
    apr_array_header_t *nets;   /* apr_ipsubnet_t *: loopback (with local),
                                 * then the networks named */
    const char *shown;          /* the words as given, for logs */
} goapi_allow;

/* An unset list (mode GOAPI_ALLOW_UNSET). */
void goapi_allow_init(goapi_allow *a);

/* Parse the n words of a directive's value into out: "all", "off", or one
 * or more of "local" and networks (an address, a partial IPv4 address
 * such as "10.1", address/bits, or IPv4 address/netmask).  NULL on
 * success, else what was wrong (out is then unset). */
const char *goapi_allow_parse(apr_pool_t *p, const char *const *words, int n,
                              goapi_allow *out);

/* 1 when a client at client, connected to the address server, is allowed
 * (either address may be NULL: then it matches no list). */
int goapi_allow_match(const goapi_allow *a, apr_sockaddr_t *client,
                      apr_sockaddr_t *server);

#endif /* GOAPI_ALLOW_H */
