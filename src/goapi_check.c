/*
 * goapi_check.c — dependency checks over APR sockets.
 */
#include <string.h>

#include <apr_strings.h>

#include "goapi_check.h"
#include "goapi_parse.h"

/* The time left before deadline, or 0 when it has passed. */
static apr_interval_time_t goapi_left(apr_time_t deadline)
{
    apr_interval_time_t left = deadline - apr_time_now();

    return left > 0 ? left : 0;
}

static const char *goapi_io_error(apr_pool_t *p, const char *what, apr_status_t rv,
                                  apr_interval_time_t timeout)
{
    char buf[120], d[32];

    if (APR_STATUS_IS_TIMEUP(rv) || APR_STATUS_IS_ETIMEDOUT(rv)) {
        return apr_psprintf(p, "%s: no answer within %s", what,
                            goapi_format_duration(timeout, d));
    }
    return apr_psprintf(p, "%s: %s", what, apr_strerror(rv, buf, sizeof(buf)));
}

/* Send a GET and read up to the end of the status line. */
static int goapi_check_http(apr_pool_t *p, apr_socket_t *sock, const goapi_check_url *u,
                            apr_time_t deadline, apr_interval_time_t timeout,
                            const char **reason)
{
    const char *req = apr_psprintf(p, "GET %s HTTP/1.1\r\nHost: %s%s%s:%u\r\n"
                                   "User-Agent: mod_goapi-readycheck\r\n"
                                   "Connection: close\r\n\r\n", u->path,
                                   strchr(u->host, ':') ? "[" : "", u->host,
                                   strchr(u->host, ':') ? "]" : "", (unsigned)u->port);
    apr_size_t len = strlen(req), got = 0;
    char buf[256];
    apr_status_t rv;
    int status;

    rv = apr_socket_send(sock, req, &len);
    if (rv != APR_SUCCESS) {
        *reason = goapi_io_error(p, "send", rv, timeout);
        return 0;
    }
    /* cppcheck-suppress legacyUninitvar ; memchr() runs once got >= 13 */
    while (got < 13 || !memchr(buf, '\n', got)) {
        apr_size_t n = sizeof(buf) - 1 - got;

        if (n == 0 || !goapi_left(deadline)) {
            break;
        }
        apr_socket_timeout_set(sock, goapi_left(deadline));
        rv = apr_socket_recv(sock, buf + got, &n);
        got += n;
        if (rv != APR_SUCCESS) {
            if (got < 13) {
                *reason = APR_STATUS_IS_EOF(rv) ? "closed without an answer"
                                                : goapi_io_error(p, "receive", rv, timeout);
                return 0;
            }
            break;
        }
    }
    status = goapi_http_status(buf, got);
    if (status < 0) {
        *reason = got ? "answer is not HTTP/1.x" : "no answer";
        return 0;
    }
    if (status < 200 || status > 299) {
        *reason = apr_psprintf(p, "status %d", status);
        return 0;
    }
    return 1;
}

int goapi_check_run(apr_pool_t *p, const goapi_check_url *u,
                    apr_interval_time_t timeout, const char **reason)
{
    apr_time_t deadline = apr_time_now() + timeout;
    apr_sockaddr_t *sa;
    apr_socket_t *sock;
    apr_status_t rv;
    int ok;

    rv = apr_sockaddr_info_get(&sa, u->host, APR_UNSPEC, u->port, 0, p);
    if (rv != APR_SUCCESS) {
        *reason = goapi_io_error(p, "resolve", rv, timeout);
        return 0;
    }
    rv = apr_socket_create(&sock, sa->family, SOCK_STREAM, APR_PROTO_TCP, p);
    if (rv != APR_SUCCESS) {
        *reason = goapi_io_error(p, "socket", rv, timeout);
        return 0;
    }
    apr_socket_timeout_set(sock, goapi_left(deadline));
    rv = apr_socket_connect(sock, sa);
    if (rv != APR_SUCCESS) {
        *reason = goapi_io_error(p, "connect", rv, timeout);
        apr_socket_close(sock);
        return 0;
    }
    ok = u->kind == GOAPI_CHECK_TCP ? 1 : goapi_check_http(p, sock, u, deadline, timeout, reason);
    apr_socket_close(sock);
    return ok;
}
