/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_stop.c — a child's stop, bounded.
 *
 * httpd lets a child that drains after a graceful stop or a graceful
 * restart run as long as its requests do, and its parent waits for it with
 * one-second naps.  Here each child keeps its own clock: when its stop
 * begins (the MPM's child_stopping hook), a supervisor thread runs the
 * shutdown hooks that other modules registered, and once
 * GoapiShutdownTimeout has passed it shuts down every connection the child
 * still has; a child whose workers are still stuck after that (blocked on
 * a backend, say) ends with _exit(0), which the parent takes as a normal
 * exit.  The parent's GracefulShutdownTimeout is set just above the window,
 * as a backstop.
 *
 * During the shutdown delay (mod_goapi_signals.c) a child serves on, each
 * HTTP/1.x answer closing its connection, and it answers mod_http2's
 * question "is the MPM stopping?" with yes, which is how HTTP/2
 * connections get their GOAWAY.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "ap_mpm.h"
#include "mpm_common.h"

#include <apr_atomic.h>
#include <apr_signal.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <signal.h>
#include <unistd.h>

#include "goapi_parse.h"
#include "goapi_shutdown.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

/* Set in a child once it begins to stop (graceful or not), by the MPM's
 * thread; read by the workers and the supervisor: atomics. */
static volatile apr_uint32_t goapi_child_stopping_flag;
static volatile apr_uint64_t goapi_stop_began;      /* apr_time_t; 0 not yet */
static volatile apr_uint32_t goapi_stop_graceful;

static int goapi_graceful(void)
{
    return apr_atomic_read32(&goapi_stop_graceful) != 0;
}

/* The shutdown window (main server), set at configuration. */
static apr_interval_time_t goapi_shutdown_window;

void goapi_stop_config(server_rec *s)
{
    const goapi_server_conf *sc = goapi_sconf(s);

    /* The window is the server's: GoapiShutdownTimeout of the main server.
     * The parent waits a little longer than the children's own clocks. */
    goapi_shutdown_window = sc->limits.shutdown;
    if (goapi_shutdown_window > 0) {
        ap_graceful_shutdown_timeout =
            (int)((goapi_shutdown_window + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC) + 2;
    }
}

/* Hooks registered by other modules (goapi_shutdown.h). */
static goapi_shutdown_hook *goapi_shutdown_hooks;

/* The supervisor thread of this child. */
static goapi_child_thread goapi_supervisor = {
    NULL, 0, NULL, "shutdown supervisor", "shutdown-supervisor", 0, NULL
};

/* After the cut, how long workers get to let go before the process ends:
 * short after a graceful stop's window; on an immediate stop, where the MPM
 * has closed the connections itself, time for a normal exit. */
#define GOAPI_CUT_GRACE         apr_time_from_msec(100)
#define GOAPI_CUT_GRACE_NOW     apr_time_from_sec(1)
#define GOAPI_SUPERVISOR_TICK   apr_time_from_msec(20)
/* Before the stop: the MPM's child_stopping hook sets the start of the
 * window itself, so only the hooks (and, under prefork, which has no such
 * hook before the end, the window) may begin up to this much late. */
#define GOAPI_SUPERVISOR_IDLE   apr_time_from_msec(100)

/* Set in each child (child_init): the MPM state this module answers
 * during the shutdown delay is a child's, never the parent's. */
static int goapi_in_child;

/* The MPM's own state, past this module's answer during the delay
 * (goapi_stop_mpm_query): the other mpm_query hooks, the MPM's
 * among them, asked in their order. */
static int goapi_mpm_state(void)
{
    const apr_array_header_t *hooks = ap_hook_get_mpm_query();
    const ap_LINK_mpm_query_t *h;
    int i, state;
    apr_status_t rv;

    if (!hooks) {
        return AP_MPMQ_RUNNING;
    }
    h = (const ap_LINK_mpm_query_t *)hooks->elts;
    for (i = 0; i < hooks->nelts; i++) {
        if (h[i].pFunc != goapi_stop_mpm_query
            && h[i].pFunc(AP_MPMQ_MPM_STATE, &state, &rv) != DECLINED) {
            return rv == APR_SUCCESS ? state : AP_MPMQ_RUNNING;
        }
    }
    return AP_MPMQ_RUNNING;
}

int goapi_mpm_stopping(void)
{
    return apr_atomic_read32(&goapi_child_stopping_flag)
           || goapi_mpm_state() == AP_MPMQ_STOPPING;
}

/* The connection this thread is giving its turn: set as the turn begins
 * (process_connection), forgotten as it ends, in the same thread (the
 * connection is suspended, or its close begins), so that it is never
 * read once the connection is gone.  Secondary connections (HTTP/2
 * streams) are not turns of their own. */
static __thread conn_rec *goapi_turn_conn;

int goapi_stop_process_connection(conn_rec *c)
{
    goapi_turn_conn = c->master ? NULL : c;
    return DECLINED;
}

void goapi_stop_suspend_connection(conn_rec *c, request_rec *r)
{
    (void)r;
    if (goapi_turn_conn == c) {
        goapi_turn_conn = NULL;
    }
}

int goapi_stop_pre_close_connection(conn_rec *c)
{
    if (goapi_turn_conn == c) {
        goapi_turn_conn = NULL;
    }
    return OK;
}

static int goapi_turn_is_h2(void)
{
    const char *proto = goapi_turn_conn ? ap_get_protocol(goapi_turn_conn) : NULL;

    return proto && (strcmp(proto, "h2") == 0 || strcmp(proto, "h2c") == 0);
}

/* During the shutdown delay, a thread giving an HTTP/2 connection its turn
 * is told that the MPM is stopping, while the child serves on: mod_http2,
 * which offers no other way in, then sends its graceful GOAWAY on that
 * connection, so that its client opens the next one through a load
 * balancer that by then knows the stop.  HTTP/1.x connections are closed
 * after their next answer by goapi_stop_post_read_request instead
 * (the MPM's own keep-alive loop, told so, could close one between a
 * keep-alive answer and the client's next request).  Nothing else
 * changes: the MPM keeps its own state, and the parent is never told so. */
int goapi_stop_mpm_query(int query_code, int *result, apr_status_t *rv)
{
    if (query_code != AP_MPMQ_MPM_STATE || !goapi_in_child || !goapi_stop_announced()
        || !goapi_turn_is_h2()) {
        return DECLINED;
    }
    *result = AP_MPMQ_STOPPING;
    *rv = APR_SUCCESS;
    return OK;
}

void goapi_stop_child_stopping(apr_pool_t *pchild, int graceful)
{
    (void)pchild;
    if (!apr_atomic_read64(&goapi_stop_began)) {
        apr_atomic_set32(&goapi_stop_graceful, (apr_uint32_t)graceful);
        apr_atomic_set64(&goapi_stop_began, (apr_uint64_t)apr_time_now());
    }
    else if (!graceful) {
        /* an immediate stop during a graceful one */
        apr_atomic_set32(&goapi_stop_graceful, 0);
    }
    apr_atomic_set32(&goapi_child_stopping_flag, 1);
}

apr_status_t goapi_register_shutdown_hook(apr_pool_t *p, const char *name,
                                          goapi_shutdown_fn *fn, void *baton)
{
    return goapi_shutdown_add(&goapi_shutdown_hooks, p, name, fn, baton);
}

static void goapi_report_hook(void *baton, const char *name, int started,
                              apr_status_t rv, apr_interval_time_t took)
{
    server_rec *s = baton;

    if (started) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, GOAPI_LOGNO(00030)
                     "shutdown hook %s started", name);
    }
    else {
        goapi_metrics_hook_time(name, took);
        ap_log_error(APLOG_MARK, rv == APR_SUCCESS ? APLOG_INFO : APLOG_WARNING, rv, s,
                     GOAPI_LOGNO(00031) "shutdown hook %s finished in %" APR_TIME_T_FMT
                     "ms", name, apr_time_as_msec(took));
    }
}

/* The child's clock once its stop has begun: hooks first, the cut when the
 * window is over, the end of the process if workers stay stuck. */
static void *APR_THREAD_FUNC goapi_supervise(apr_thread_t *thd, void *data)
{
    server_rec *s = data;
    int hooks_done = 0;
    apr_time_t cut_at = 0;
    char d[32];

    for (;;) {
        apr_time_t began = (apr_time_t)apr_atomic_read64(&goapi_stop_began);
        apr_time_t now = apr_time_now(), end;

        if (!began && goapi_mpm_stopping()) {
            /* prefork has no child_stopping before the end: ask the MPM */
            apr_atomic_set32(&goapi_stop_graceful, 1);
            began = now;
            apr_atomic_set64(&goapi_stop_began, (apr_uint64_t)now);
        }
        if (began && goapi_graceful() && goapi_stop_now_asked()) {
            /* a second SIGTERM or SIGINT: now */
            apr_atomic_set32(&goapi_stop_graceful, 0);
        }
        /* The hooks run before anything else, even when the child is
         * already leaving (an idle child exits at once). */
        if (began && !hooks_done) {
            int skipped;

            if (goapi_graceful()) {
                goapi_metrics_add(NULL, GOAPI_MC_SHUTDOWN_WINDOWS, 1);
            }
            skipped = goapi_shutdown_run(goapi_shutdown_hooks, began + goapi_shutdown_window,
                                         goapi_report_hook, s);
            if (skipped) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, GOAPI_LOGNO(00032)
                             "%d shutdown hook(s) not run: the shutdown window of %s "
                             "was over", skipped,
                             goapi_format_duration(goapi_shutdown_window, d));
            }
            hooks_done = 1;
            continue;
        }
        if (goapi_child_thread_stopping(&goapi_supervisor)) {
            break;
        }
        if (!began) {
            apr_sleep(GOAPI_SUPERVISOR_IDLE);
            continue;
        }
        end = began + (goapi_graceful() ? goapi_shutdown_window : 0);
        if (!cut_at && now >= end) {
            apr_size_t n = goapi_timeouts_cut_all();

            cut_at = now;
            if (n) {
                goapi_metrics_add(NULL, GOAPI_MC_CUT_SHUTDOWN, 1);
                goapi_metrics_add(NULL, GOAPI_MC_SHUTDOWN_CUT, n);
                if (goapi_graceful()) {
                    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, GOAPI_LOGNO(00033)
                                 "shutdown window of %s over: %" APR_SIZE_T_FMT
                                 " connection(s) cut",
                                 goapi_format_duration(goapi_shutdown_window, d), n);
                }
                else {
                    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, GOAPI_LOGNO(00078)
                                 "immediate stop: %" APR_SIZE_T_FMT " connection(s) cut",
                                 n);
                }
            }
        }
        if (cut_at && now >= cut_at + (goapi_graceful() ? GOAPI_CUT_GRACE
                                                        : GOAPI_CUT_GRACE_NOW)) {
            /* Workers that did not let go with their connections are stuck
             * elsewhere (a backend): end the process, as a normal exit. */
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, GOAPI_LOGNO(00034)
                         "workers still busy after the shutdown window; "
                         "ending the process");
            _exit(0);
        }
        apr_sleep(GOAPI_SUPERVISOR_TICK);
    }
    (void)thd;         /* return, not apr_thread_exit(): see goapi_defs.h */
    return NULL;
}

/* During the shutdown delay every response closes its connection: a
 * kept-alive client reconnects, through a load balancer that by then
 * knows the stop. */
int goapi_stop_post_read_request(request_rec *r)
{
    if (goapi_stop_announced()) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    return DECLINED;
}

void goapi_stop_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    /* the parent's SIGCHLD and SIGALRM handlers are not the child's business */
    apr_signal(SIGCHLD, SIG_DFL);
    apr_signal(SIGALRM, SIG_DFL);

    goapi_in_child = 1;
    apr_atomic_set64(&goapi_stop_began, 0);
    apr_atomic_set32(&goapi_child_stopping_flag, 0);
    if (!goapi_shutdown_window) {
        return;                         /* GoapiShutdownTimeout 0: unbounded */
    }
    goapi_supervisor.s = s;
    /* it runs the shutdown hooks, for up to the window, between beats */
    goapi_supervisor.stall = GOAPI_HEARTBEAT_STALL + goapi_shutdown_window;
    rv = goapi_child_thread_start(&goapi_supervisor, pchild, goapi_supervise, s);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, GOAPI_LOGNO(00037)
                     "cannot start the shutdown supervisor; the shutdown window is "
                     "not enforced in this process");
    }
}
