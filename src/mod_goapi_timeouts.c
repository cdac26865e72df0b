/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_timeouts.c — Go's server deadlines on httpd connections.
 *
 * Read deadlines (GoapiReadTimeout, GoapiReadHeaderTimeout) and the header
 * size limit are enforced by a connection input filter that, before each
 * blocking read, shortens the socket timeout to the time left (the way
 * mod_reqtimeout works) and counts the bytes of the request head.
 *
 * The write deadline (GoapiWriteTimeout) runs from the end of the request
 * headers until the response is completely written.  Each connection holds
 * a slot of a per-process reaper (src/goapi_reaper.c); a request arms it in
 * post_read_request and disarms it in a cleanup of the request pool, which
 * httpd destroys only once the whole response has left, also when the event
 * MPM finishes the write outside the request (write completion).  A reaper
 * thread shuts the socket down (never closes it: the MPM owns it) when a
 * deadline passes.  Per request this costs two atomic operations.
 *
 * GoapiIdleTimeout sets the virtual host's keep-alive timeout at startup;
 * where KeepAliveTimeout disagrees, the production checklist says which won.
 */
#include <stddef.h>     /* first: APR's ring macros then use offsetof */

#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "ap_mpm.h"

#include <apr_atomic.h>
#include <apr_poll.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include "goapi_brigade.h"
#include "goapi_parse.h"
#include "goapi_reaper.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

#define GOAPI_READ_FILTER  "GOAPI_READ_DEADLINE"

/* Connections one process tracks for write deadlines at most. */
#define GOAPI_REAPER_MAX_SLOTS  65536

/* Reaper tick bounds: a deadline fires at most one tick late. */
#define GOAPI_REAPER_TICK_MIN   apr_time_from_msec(10)
#define GOAPI_REAPER_TICK_MAX   apr_time_from_msec(100)

typedef enum {
    GOAPI_PHASE_START = 0,      /* a request may begin with the next read */
    GOAPI_PHASE_HEAD,           /* reading the request line and headers */
    GOAPI_PHASE_BODY,           /* headers read; the whole-request deadline runs */
    GOAPI_PHASE_OFF             /* not HTTP/1 any more (h2): hands off */
} goapi_phase;

/* Per connection (HTTP/1 primary connections only). */
typedef struct {
    conn_rec *c;
    apr_socket_t *sock;
    goapi_phase phase;
    apr_time_t start;           /* when the current request began */
    apr_time_t head_deadline;   /* 0: none */
    apr_time_t request_deadline;/* 0: none */
    apr_off_t head_bytes;       /* request line + headers, as read */
    goapi_wslot *slot;          /* registry slot (write deadline), or NULL */
    int client;                 /* accepted by httpd (not a proxy backend) */
    int cut;                    /* a read deadline cut it */
    volatile apr_uint32_t write_cut;    /* the write deadline cut it (the
                                         * reaper's thread sets it) */
    apr_time_t write_deadline;  /* of the request being served; 0 none */
    apr_time_t ended;           /* when its last request ended; 0 none yet */
    apr_interval_time_t keepalive;  /* the KeepAliveTimeout after it */
    apr_bucket_brigade *partial;    /* a line being read, its first part as
                                     * bytes (empty between reads; made once) */
} goapi_conn;

/* What the reaper needs to fire one request's write deadline; lives in the
 * request pool, which outlives the armed slot. */
typedef struct {
    apr_socket_t *sock;
    server_rec *s;
    conn_rec *c;
    const char *request_id;
    apr_interval_time_t timeout;
} goapi_write_target;

/* How much earlier than its keep-alive time a connection may end and still
 * count as cut by it (the MPM's clock is not ours). */
#define GOAPI_IDLE_SLACK apr_time_from_msec(100)

/* Set at configuration time (in the parent, inherited by children). */
static int goapi_read_filter_needed;
static int goapi_async_mpm;         /* the MPM waits out keep-alive itself */
static apr_interval_time_t goapi_min_write_timeout;   /* 0: no write deadlines */

/* Per child. */
static goapi_reaper *goapi_write_reaper;
static goapi_child_thread goapi_reaper_thread = {
    NULL, 0, NULL, "write-deadline thread", "write-deadlines", GOAPI_HEARTBEAT_STALL, NULL
};

static ap_filter_rec_t *goapi_read_filter_handle;

/* ---- configuration --------------------------------------------------- */

/* KeepAliveTimeout/GoapiIdleTimeout disagreements found at configuration,
 * reported by the checklist (mod_goapi_checklist.c); in pconf, made anew
 * for each configuration. */
static apr_array_header_t *goapi_ka_conflicts;

const apr_array_header_t *goapi_timeouts_ka_conflicts(void)
{
    return goapi_ka_conflicts;
}

/* For each server once its limits are resolved: applies GoapiIdleTimeout
 * and records what the children need. */
static void goapi_timeouts_configure(apr_pool_t *pconf, server_rec *s)
{
    static int main_keepalive_explicit;
    const goapi_server_conf *sc = goapi_sconf(s);
    int explicit_ka;

    if (!s->is_virtual) {
        goapi_read_filter_needed = 0;
        goapi_min_write_timeout = 0;
        main_keepalive_explicit = goapi_main_directive(ap_conftree, "KeepAliveTimeout") != NULL;
        goapi_ka_conflicts = apr_array_make(pconf, 2, sizeof(goapi_ka_conflict));
    }
    /* GoapiIdleTimeout is KeepAliveTimeout.  Where both are given, the one
     * of the more specific scope wins: a virtual host's own KeepAliveTimeout
     * beats a GoapiIdleTimeout it inherits, otherwise GoapiIdleTimeout wins
     * (idle_own: given in this very server, not merged). */
    explicit_ka = s->is_virtual ? s->keep_alive_timeout_set : main_keepalive_explicit;
    if (sc->limits.idle > 0) {
        int keepalive_wins = s->is_virtual && explicit_ka && !sc->idle_own;

        if (explicit_ka && s->keep_alive_timeout != sc->limits.idle) {
            goapi_ka_conflict *k = apr_array_push(goapi_ka_conflicts);

            k->s = s;
            k->keepalive = s->keep_alive_timeout;
            k->keepalive_wins = keepalive_wins;
        }
        if (!keepalive_wins) {
            s->keep_alive_timeout = sc->limits.idle;
            /* without the flag a name-based virtual host would use the
             * keep-alive timeout of the first host on its address */
            s->keep_alive_timeout_set = s->is_virtual != 0;
        }
    }
    if (sc->limits.read > 0 || sc->limits.read_header > 0
        || (sc->limits_set & GOAPI_LIMIT_HEADER_BYTES)) {
        goapi_read_filter_needed = 1;
    }
    if (sc->limits.write > 0
        && (!goapi_min_write_timeout || sc->limits.write < goapi_min_write_timeout)) {
        goapi_min_write_timeout = sc->limits.write;
    }
}

/* check_config, after goapi_config_check() has resolved every server's
 * defaults. */
int goapi_timeouts_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                server_rec *s)
{
    (void)plog;
    (void)ptemp;
    for (; s; s = s->next) {
        goapi_timeouts_configure(pconf, s);
    }
    return OK;
}

int goapi_timeouts_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    (void)s;
    if (ap_mpm_query(AP_MPMQ_IS_ASYNC, &goapi_async_mpm) != APR_SUCCESS) {
        goapi_async_mpm = 0;
    }
    return OK;
}

/* ---- read deadlines and the header limit ------------------------------ */

static apr_time_t goapi_min_deadline(apr_time_t a, apr_time_t b)
{
    return !a ? b : !b ? a : (a < b ? a : b);
}

/* Start the clocks of a request whose first byte is here (or, on a new
 * connection, which httpd starts waiting for). */
static void goapi_read_begin(goapi_conn *cc, const goapi_limits *l)
{
    cc->start = apr_time_now();
    cc->head_deadline = l->read_header ? cc->start + l->read_header : 0;
    cc->request_deadline = l->read ? cc->start + l->read : 0;
    cc->head_bytes = 0;
    cc->phase = GOAPI_PHASE_HEAD;
}

/* Does the brigade end a line (or the stream)?  *len gets its length. */
static int goapi_ends_line(apr_bucket_brigade *bb, apr_off_t *len)
{
    apr_bucket *e;
    int ends = 0, last = 1;

    *len = 0;
    for (e = APR_BRIGADE_LAST(bb); e != APR_BRIGADE_SENTINEL(bb); e = APR_BUCKET_PREV(e)) {
        const char *data;
        apr_size_t n;

        if (APR_BUCKET_IS_EOS(e)) {
            ends |= last;
            last = 0;
            continue;
        }
        if (APR_BUCKET_IS_METADATA(e)) {
            continue;
        }
        if (apr_bucket_read(e, &data, &n, APR_NONBLOCK_READ) != APR_SUCCESS) {
            return 0;
        }
        if (n && last) {
            ends = data[n - 1] == APR_ASCII_LF;
            last = 0;
        }
        *len += (apr_off_t)n;
    }
    return ends;
}

/* Wait until the socket is readable, for at most timeout. */
static apr_status_t goapi_wait_readable(goapi_conn *cc, apr_interval_time_t timeout)
{
    apr_pollfd_t pfd;
    apr_int32_t n;

    memset(&pfd, 0, sizeof(pfd));
    pfd.p = cc->c->pool;
    pfd.desc_type = APR_POLL_SOCKET;
    pfd.reqevents = APR_POLLIN | APR_POLLHUP;
    pfd.desc.s = cc->sock;
    return apr_poll(&pfd, 1, &n, timeout);
}

/* A blocking GETLINE read below us would assemble the whole line itself,
 * every socket wait starting afresh, so a client sending one byte a second
 * would never time out.  Read what is there without blocking and do the
 * waiting here, against the deadline. */
static apr_status_t goapi_getline(ap_filter_t *f, goapi_conn *cc, apr_bucket_brigade *bb,
                                  apr_time_t deadline, apr_interval_time_t io_timeout,
                                  apr_off_t *total)
{
    apr_off_t room = HUGE_STRING_LEN;
    apr_bucket_brigade *held = NULL;    /* cc->partial once it holds a part */
    apr_status_t rv;

    *total = 0;
    for (;;) {
        apr_interval_time_t left;

        rv = ap_get_brigade(f->next, bb, AP_MODE_GETLINE, APR_NONBLOCK_READ, room);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_EAGAIN(rv)) {
            break;
        }
        if (!APR_BRIGADE_EMPTY(bb)) {
            apr_off_t len;
            int ends = goapi_ends_line(bb, &len);

            *total += len;
            if (ends) {
                rv = APR_SUCCESS;
                break;
            }
            room -= len;
            /* Keep the partial line until the rest arrives, as bytes: each
             * read is a bucket with a buffer of its own, so a line sent a
             * byte per write would otherwise hold a buffer per byte. */
            if (!cc->partial) {
                cc->partial = apr_brigade_create(f->c->pool, f->c->bucket_alloc);
            }
            held = cc->partial;
            rv = goapi_brigade_absorb(held, bb, NULL);
            if (rv != APR_SUCCESS) {
                break;
            }
            if (room <= 0) {
                rv = APR_SUCCESS;       /* a line this long: the caller decides */
                break;
            }
        }
        left = deadline - apr_time_now();
        if (left <= 0) {
            rv = APR_TIMEUP;
            break;
        }
        rv = goapi_wait_readable(cc, (io_timeout >= 0 && io_timeout < left) ? io_timeout
                                                                          : left);
        if (rv != APR_SUCCESS) {
            break;
        }
    }
    if (held) {
        APR_BRIGADE_PREPEND(bb, held);  /* which leaves held empty */
    }
    return rv;
}

/* Has a read deadline passed, for a read that timed out?  The socket's
 * waits count in milliseconds and may end up to one before the deadline
 * asked for: a timeout that close to it is the deadline's. */
#define GOAPI_CLOCK_SLACK apr_time_from_msec(2)

static int goapi_deadline_passed(apr_time_t deadline)
{
    return apr_time_now() + GOAPI_CLOCK_SLACK >= deadline;
}

/* Does httpd hand this connection's next request to us only once its
 * first bytes are there?  The event MPM waits for a kept-alive connection
 * to become readable before a worker reads it, unless a filter keeps the
 * connection in a worker (clogging filters); then, as with prefork and
 * worker, the read below blocks through the keep-alive wait. */
static int goapi_waits_readable(const conn_rec *c)
{
    return goapi_async_mpm && !c->clogging_input_filters;
}

static apr_status_t goapi_read_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                                      ap_input_mode_t mode, apr_read_type_e block,
                                      apr_off_t readbytes)
{
    goapi_conn *cc = f->ctx;
    conn_rec *c = f->c;
    apr_time_t deadline, now;
    apr_interval_time_t saved = 0;
    apr_status_t rv;

    if (cc->phase == GOAPI_PHASE_OFF || mode == AP_MODE_INIT) {
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    }
    /* HTTP/2 (an upgrade, or a connection preface read as bytes where a
     * request line was expected) has deadlines of its own: step aside.
     * Lines are read by HTTP/1 only. */
    if (mode != AP_MODE_GETLINE
        && ((cc->phase != GOAPI_PHASE_BODY && mode == AP_MODE_READBYTES)
            || strcmp(ap_get_protocol(c), AP_PROTOCOL_HTTP1) != 0)) {
        cc->phase = GOAPI_PHASE_OFF;
        ap_remove_input_filter(f);
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    }
    if (cc->phase == GOAPI_PHASE_START) {
        if (c->keepalives > 0 && block == APR_BLOCK_READ && !goapi_waits_readable(c)) {
            /* A kept-alive connection waits for its next request under the
             * keep-alive timeout; the clocks start with its first byte. */
            rv = ap_get_brigade(f->next, bb, AP_MODE_SPECULATIVE, APR_BLOCK_READ, 1);
            if (rv != APR_SUCCESS) {
                return rv;
            }
            apr_brigade_cleanup(bb);
        }
        goapi_read_begin(cc, &goapi_sconf(c->base_server)->limits);
    }

    deadline = cc->phase == GOAPI_PHASE_HEAD
               ? goapi_min_deadline(cc->head_deadline, cc->request_deadline)
               : cc->request_deadline;
    if (deadline && block == APR_BLOCK_READ && mode == AP_MODE_GETLINE) {
        apr_off_t len;

        apr_socket_timeout_get(cc->sock, &saved);
        rv = goapi_getline(f, cc, bb, deadline, saved, &len);
        if (rv == APR_SUCCESS && cc->phase == GOAPI_PHASE_HEAD) {
            cc->head_bytes += len;
        }
        if (APR_STATUS_IS_TIMEUP(rv) && goapi_deadline_passed(deadline)) {
            goto timed_out;
        }
        return rv;
    }
    if (deadline && block == APR_BLOCK_READ) {
        apr_interval_time_t left;

        now = apr_time_now();
        left = deadline - now;
        if (left <= 0) {
            rv = APR_TIMEUP;
            goto timed_out;
        }
        apr_socket_timeout_get(cc->sock, &saved);
        apr_socket_timeout_set(cc->sock, (saved >= 0 && saved < left) ? saved : left);
    }
    rv = ap_get_brigade(f->next, bb, mode, block, readbytes);
    if (deadline && block == APR_BLOCK_READ) {
        apr_socket_timeout_set(cc->sock, saved);
    }
    if (rv == APR_SUCCESS && cc->phase == GOAPI_PHASE_HEAD && mode == AP_MODE_GETLINE) {
        apr_off_t len = 0;

        apr_brigade_length(bb, 1, &len);
        cc->head_bytes += len;
    }
    if (!(APR_STATUS_IS_TIMEUP(rv) && deadline && goapi_deadline_passed(deadline))) {
        return rv;
    }

timed_out:
    /* Our deadline, not httpd's Timeout: this connection is done. */
    c->keepalive = AP_CONN_CLOSE;
    cc->cut = 1;
    goapi_metrics_add(c, cc->phase == GOAPI_PHASE_HEAD ? GOAPI_MC_CUT_READ_HEADER
                                                       : GOAPI_MC_CUT_READ, 1);
    ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c, GOAPI_LOGNO(00012)
                  "read deadline passed while reading the request %s",
                  cc->phase == GOAPI_PHASE_HEAD ? "headers" : "body");
    return rv;
}

static apr_status_t goapi_conn_release(void *data)
{
    goapi_conn *cc = data;

    goapi_reaper_release(goapi_write_reaper, cc->slot);
    cc->slot = NULL;
    return APR_SUCCESS;
}

/* A connection that ends while it waits for its next request, once the
 * keep-alive time after its last response has passed, was cut by the idle
 * deadline (httpd closes it without a word: this is where it shows). */
static apr_status_t goapi_conn_closed(void *data)
{
    const goapi_conn *cc = data;

    if (cc->ended && !cc->cut && cc->phase != GOAPI_PHASE_HEAD && cc->keepalive > 0
        && apr_time_now() - cc->ended >= cc->keepalive - GOAPI_IDLE_SLACK) {
        goapi_metrics_add(cc->c, GOAPI_MC_CUT_IDLE, 1);
    }
    return APR_SUCCESS;
}

static apr_status_t goapi_request_ended(void *data)
{
    goapi_conn *cc = data;

    cc->ended = apr_time_now();
    return APR_SUCCESS;
}

/* Every connection gets its record; client connections (see below) are
 * also registered with the reaper. */
int goapi_timeouts_pre_connection(conn_rec *c, void *csd)
{
    goapi_conn *cc;

    if (c->master) {
        return DECLINED;                /* an HTTP/2 stream: not a socket */
    }
    cc = apr_pcalloc(c->pool, sizeof(*cc));
    cc->c = c;
    cc->sock = csd;
    cc->phase = GOAPI_PHASE_START;
    ap_set_module_config(c->conn_config, &goapi_module, cc);
    return DECLINED;
}

/* Client connections only: httpd runs this hook for connections it
 * accepted, not for mod_proxy's connections to backends (cutting one of
 * those would have mod_proxy log an error, and a backend is not a slow
 * client).  Here a connection takes its registry slot, for its write
 * deadlines and for the end of a shutdown window (one mutex per
 * connection, none per request), and gets the read deadline filter.  The
 * event MPM runs the hook again each time a kept-alive connection comes
 * back. */
int goapi_timeouts_process_connection(conn_rec *c)
{
    goapi_conn *cc = ap_get_module_config(c->conn_config, &goapi_module);
    apr_os_sock_t fd = -1;

    if (!cc || cc->client) {
        return DECLINED;
    }
    cc->client = 1;
    apr_pool_cleanup_register(c->pool, cc, goapi_conn_closed, apr_pool_cleanup_null);
    if (goapi_write_reaper && apr_os_sock_get(&fd, cc->sock) == APR_SUCCESS) {
        cc->slot = goapi_reaper_acquire(goapi_write_reaper, (int)fd);
        if (cc->slot) {
            apr_pool_cleanup_register(c->pool, cc, goapi_conn_release,
                                      apr_pool_cleanup_null);
        }
        else {
            ap_log_cerror(APLOG_MARK, APLOG_WARNING, 0, c, GOAPI_LOGNO(00014)
                          "no connection slot left (%d in this process): this "
                          "connection has no write deadline and is not cut at the "
                          "end of a shutdown window", GOAPI_REAPER_MAX_SLOTS);
        }
    }
    if (goapi_read_filter_needed) {
        ap_add_input_filter_handle(goapi_read_filter_handle, cc, NULL, c);
    }
    return DECLINED;
}

static void goapi_shutdown_fd(int fd, void *baton)
{
    (void)baton;
    shutdown(fd, SHUT_RDWR);
}

int goapi_timeouts_cut(const conn_rec *c)
{
    goapi_conn *cc = ap_get_module_config(c->conn_config, &goapi_module);

    return cc && (cc->cut || apr_atomic_read32(&cc->write_cut));
}

apr_size_t goapi_timeouts_cut_all(void)
{
    return goapi_write_reaper
           ? goapi_reaper_foreach_fd(goapi_write_reaper, goapi_shutdown_fd, NULL) : 0;
}

void goapi_timeouts_pre_read_request(request_rec *r, conn_rec *c)
{
    goapi_conn *cc = ap_get_module_config(c->conn_config, &goapi_module);

    (void)r;
    if (cc && cc->client && cc->phase != GOAPI_PHASE_OFF) {
        cc->phase = GOAPI_PHASE_START;
    }
}

/* ---- write deadline -------------------------------------------------- */

static void goapi_write_fire(void *baton, void *target, const void *tag,
                             apr_time_t deadline)
{
    goapi_write_target *t = target;
    char d[32];

    goapi_conn *cc = ap_get_module_config(t->c->conn_config, &goapi_module);

    (void)baton;
    (void)tag;
    (void)deadline;
    if (cc) {
        apr_atomic_set32(&cc->write_cut, 1);
    }
    apr_socket_shutdown(t->sock, APR_SHUTDOWN_READWRITE);
    goapi_metrics_add(t->c, GOAPI_MC_CUT_WRITE, 1);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, t->s, GOAPI_LOGNO(00013)
                 "write deadline of %s passed for request %s from %s; "
                 "connection shut down", goapi_format_duration(t->timeout, d),
                 t->request_id, t->c->client_ip);
}

static apr_status_t goapi_write_disarm(void *data)
{
    goapi_write_target *t = data;
    goapi_conn *cc = ap_get_module_config(t->c->conn_config, &goapi_module);

    if (goapi_reaper_disarm(cc->slot)) {
        t->c->keepalive = AP_CONN_CLOSE;
        t->c->aborted = 1;
    }
    return APR_SUCCESS;
}

static void goapi_write_arm(request_rec *r, goapi_conn *cc, apr_interval_time_t timeout)
{
    goapi_write_target *t;

    if (!cc->slot) {
        return;                         /* no slot: logged when it connected */
    }
    t = apr_palloc(r->pool, sizeof(*t));
    t->sock = cc->sock;
    t->s = r->server;
    t->c = cc->c;
    t->request_id = goapi_req_of(r)->request_id;
    t->timeout = timeout;
    /* The request pool goes when its response has been written in full. */
    apr_pool_cleanup_register(r->pool, t, goapi_write_disarm, apr_pool_cleanup_null);
    goapi_reaper_arm(cc->slot, apr_time_now() + timeout, t, NULL);
}

int goapi_timeouts_post_read_request(request_rec *r)
{
    goapi_conn *cc;
    const goapi_server_conf *sc;

    if (r->main || r->prev) {
        return DECLINED;                /* the initial request owns the clocks */
    }
    cc = ap_get_module_config(r->connection->conn_config, &goapi_module);
    if (!cc || !cc->client) {
        return DECLINED;
    }
    sc = goapi_sconf(r->server);
    cc->keepalive = r->server->keep_alive ? r->server->keep_alive_timeout : 0;
    apr_pool_cleanup_register(r->pool, cc, goapi_request_ended, apr_pool_cleanup_null);
    if (cc->phase == GOAPI_PHASE_HEAD) {
        /* The name-based virtual host is known now: its read deadline
         * governs the body, counted from the same start. */
        cc->phase = GOAPI_PHASE_BODY;
        cc->request_deadline = sc->limits.read ? cc->start + sc->limits.read : 0;
        if (cc->head_bytes > sc->limits.max_header_bytes) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, GOAPI_LOGNO(00015)
                          "request line and headers of %" APR_OFF_T_FMT " bytes "
                          "exceed GoapiMaxHeaderBytes %" APR_INT64_T_FMT,
                          cc->head_bytes, sc->limits.max_header_bytes);
            r->connection->keepalive = AP_CONN_CLOSE;
            goapi_metrics_add(r->connection, GOAPI_MC_HEADER_LIMIT, 1);
            return HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE;
        }
    }
    /* A protocol upgrade (WebSocket, h2c) turns the connection into a
     * tunnel that lives as long as its peers want: no deadlines, as Go
     * drops them on a hijacked connection. */
    cc->write_deadline = 0;
    if (apr_table_get(r->headers_in, "Upgrade")) {
        if (cc->phase == GOAPI_PHASE_BODY) {
            cc->request_deadline = 0;
        }
        return DECLINED;
    }
    if (sc->limits.write > 0) {
        cc->write_deadline = apr_time_now() + sc->limits.write;
        if (goapi_reaper_thread.thread) {
            goapi_write_arm(r, cc, sc->limits.write);
        }
    }
    return DECLINED;
}

apr_time_t goapi_timeouts_write_deadline(request_rec *r)
{
    const goapi_conn *cc = ap_get_module_config(r->connection->conn_config, &goapi_module);

    return cc && cc->client ? cc->write_deadline : 0;
}

static void *APR_THREAD_FUNC goapi_reaper_main(apr_thread_t *thd, void *data)
{
    apr_interval_time_t tick = *(apr_interval_time_t *)data;

    while (!goapi_child_thread_stopping(&goapi_reaper_thread)) {
        goapi_reaper_scan(goapi_write_reaper, apr_time_now(), goapi_write_fire,
                          NULL, NULL);
        apr_sleep(tick);
    }
    (void)thd;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

void goapi_timeouts_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_interval_time_t *tick;
    apr_status_t rv;

    /* The registry of connections: write deadlines, and the end of a
     * shutdown window (mod_goapi_stop.c).  Connection pools release
     * their slots in cleanups, and under the event MPM they hang off pconf,
     * not pchild: the registry lives in a pool of pconf too, which a child
     * never destroys before it exits. */
    {
        apr_pool_t *rp;

        rv = apr_pool_create(&rp, s->process->pconf);
        if (rv == APR_SUCCESS) {
            apr_pool_tag(rp, "goapi_registry");
            rv = goapi_reaper_create(&goapi_write_reaper, rp, GOAPI_REAPER_MAX_SLOTS);
        }
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, GOAPI_LOGNO(00016)
                     "cannot create the connection registry; write deadlines and "
                     "the shutdown window are not enforced in this process");
        goapi_write_reaper = NULL;
        return;
    }
    if (!goapi_min_write_timeout) {
        return;
    }
    /* A deadline fires at most a twentieth of the shortest one late. */
    tick = apr_palloc(pchild, sizeof(*tick));
    *tick = goapi_min_write_timeout / 20;
    if (*tick < GOAPI_REAPER_TICK_MIN) *tick = GOAPI_REAPER_TICK_MIN;
    if (*tick > GOAPI_REAPER_TICK_MAX) *tick = GOAPI_REAPER_TICK_MAX;

    /* The thread takes no signals: they are the MPM's (a prefork child must
     * see SIGTERM/SIGUSR1 in its own thread). */
    goapi_reaper_thread.s = s;
    rv = goapi_child_thread_start(&goapi_reaper_thread, pchild, goapi_reaper_main, tick);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, GOAPI_LOGNO(00017)
                     "cannot start the write-deadline thread; write deadlines are "
                     "not enforced in this process");
    }
}

void goapi_timeouts_register_filters(void)
{
    /* Above mod_ssl (AP_FTYPE_CONNECTION + 5): the filter must see the
     * plain request lines, to count them and to tell HTTP/1 from HTTP/2.
     * That is also above mod_reqtimeout (+ 8), whose own deadline keeps
     * working below: each of the two shortens the socket timeout. */
    goapi_read_filter_handle =
        ap_register_input_filter(GOAPI_READ_FILTER, goapi_read_filter, NULL,
                                 AP_FTYPE_CONNECTION + 3);
}
