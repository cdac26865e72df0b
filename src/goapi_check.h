/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * goapi_check.h — run one dependency check: a TCP connect, or an HTTP GET
 * whose status must be 2xx, within a time limit.  APR only.
 */
#ifndef GOAPI_CHECK_H
#define GOAPI_CHECK_H

#include <apr_network_io.h>

#include "goapi_health.h"

/* A TCP connection to u's host and port, made by deadline (name lookup
 * included), the socket's timeout set to the time left: *sock, or NULL and
 * *reason says why (from p; timeout is the whole time, for the words). */
apr_socket_t *goapi_check_connect(apr_pool_t *p, const goapi_check_url *u,
                                  apr_time_t deadline, apr_interval_time_t timeout,
                                  const char **reason);

/* 1 when the check passes; otherwise 0 and *reason says why (from p). */
int goapi_check_run(apr_pool_t *p, const goapi_check_url *u,
                    apr_interval_time_t timeout, const char **reason);

#endif /* GOAPI_CHECK_H */
