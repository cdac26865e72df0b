/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_lifecycle.c — readiness: dependency checks, startup, draining.
 *
 * The results of the GoapiReadyCheck checks live in shared memory made once
 * per httpd process tree (it survives graceful restarts, so a restart is
 * not a new start) and inherited by every child.  One child at a time runs
 * the checks: a callback of a mod_watchdog child singleton, every
 * GoapiReadyCheckInterval.  Children read the table without a lock
 * (src/goapi_health.c).
 *
 * Bounded stop.  httpd lets a child that drains after a graceful stop or a
 * graceful restart run as long as its requests do, and its parent waits
 * for it with one-second naps.  Here each child keeps its own clock: when
 * its stop begins (the MPM's child_stopping hook), a supervisor thread runs
 * the shutdown hooks that other modules registered, and once
 * GoapiShutdownTimeout has passed it shuts down every connection the child
 * still has; a child whose workers are still stuck after that (blocked on
 * a backend, say) ends with _exit(0), which the parent takes as a normal
 * exit.  The parent's GracefulShutdownTimeout is set just above the window,
 * as a backstop.
 *
 * Shutdown delay (GoapiShutdownDelay).  A graceful stop signal first
 * announces the stop, in shared memory every child reads: /readyz fails
 * ("shutting down") and every response says "Connection: close", while
 * the server goes on serving for the delay (load balancers learn of the
 * stop late); then the parent begins httpd's graceful stop, bounded by the
 * window as above.  The parent's SIGALRM, ticking during the delay, ends it.
 * During the delay the children answer mod_http2's question "is the MPM
 * stopping?" with yes (goapi_lifecycle_mpm_query), which is how HTTP/2
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
#include <apr_shm.h>
#include <apr_signal.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "goapi_check.h"
#include "goapi_health.h"
#include "goapi_parse.h"
#include "goapi_shutdown.h"
#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

#define GOAPI_HEALTH_SHM_KEY    "goapi_health_shm"
#define GOAPI_WATCHDOG_NAME     "_goapi_ready_"

/* Inherited by the children at fork. */
static goapi_health *goapi_health_table;

/* Set in a child once it begins to stop (graceful or not), by the MPM's
 * thread; read by the workers and the supervisor: atomics. */
static volatile apr_uint32_t goapi_child_stopping_flag;
static volatile apr_uint64_t goapi_stop_began;      /* apr_time_t; 0 not yet */
static volatile apr_uint32_t goapi_stop_graceful;

static int goapi_graceful(void)
{
    return apr_atomic_read32(&goapi_stop_graceful) != 0;
}

/* Set by the parent on a second SIGTERM or SIGINT, read by the stopping
 * children (a child stopping gracefully no longer reads httpd's own
 * messages); and set when a graceful stop is announced, read by every
 * child during the shutdown delay.  Two words of shared memory. */
#define GOAPI_STOP_SHM_KEY      "goapi_stop_shm"
static volatile apr_uint32_t *goapi_stop_now;
static volatile apr_uint32_t *goapi_stop_announced;

static int goapi_shutting_down(void)
{
    return goapi_stop_announced && apr_atomic_read32(goapi_stop_announced);
}

/* The shutdown window (main server), set at configuration. */
static apr_interval_time_t goapi_shutdown_window;

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
 * (goapi_lifecycle_mpm_query): the other mpm_query hooks, the MPM's
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
        if (h[i].pFunc != goapi_lifecycle_mpm_query
            && h[i].pFunc(AP_MPMQ_MPM_STATE, &state, &rv) != DECLINED) {
            return rv == APR_SUCCESS ? state : AP_MPMQ_RUNNING;
        }
    }
    return AP_MPMQ_RUNNING;
}

static int goapi_mpm_stopping(void)
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

int goapi_lifecycle_process_connection(conn_rec *c)
{
    goapi_turn_conn = c->master ? NULL : c;
    return DECLINED;
}

void goapi_lifecycle_suspend_connection(conn_rec *c, request_rec *r)
{
    (void)r;
    if (goapi_turn_conn == c) {
        goapi_turn_conn = NULL;
    }
}

int goapi_lifecycle_pre_close_connection(conn_rec *c)
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
 * after their next answer by goapi_lifecycle_post_read_request instead
 * (the MPM's own keep-alive loop, told so, could close one between a
 * keep-alive answer and the client's next request).  Nothing else
 * changes: the MPM keeps its own state, and the parent is never told so. */
int goapi_lifecycle_mpm_query(int query_code, int *result, apr_status_t *rv)
{
    if (query_code != AP_MPMQ_MPM_STATE || !goapi_in_child || !goapi_shutting_down()
        || !goapi_turn_is_h2()) {
        return DECLINED;
    }
    *result = AP_MPMQ_STOPPING;
    *rv = APR_SUCCESS;
    return OK;
}

/* The result of check i, logged when it changes. */
static void goapi_ready_note(server_rec *s, int i, const char *name, const char *what,
                             int ok, const char *why, apr_time_t t0)
{
    goapi_health_entry before;

    goapi_health_read(goapi_health_table, i, &before);
    goapi_health_record(goapi_health_table, i, name, ok, why, t0, apr_time_now() - t0);
    if (!ok && (!before.ran || before.ok)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, GOAPI_LOGNO(00020)
                     "ready check %s (%s) failed: %s", name, what, why);
    }
    else if (ok && before.ran && !before.ok) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, GOAPI_LOGNO(00021)
                     "ready check %s (%s) passes again", name, what);
    }
}

/* One round of checks, in the child that holds the watchdog singleton. */
static apr_status_t goapi_ready_round(int state, void *data, apr_pool_t *pool)
{
    server_rec *s = data;
    const goapi_server_conf *sc = goapi_sconf(s);
    const char *store = goapi_idem_store_check(sc);
    int i;

    if (state == AP_WATCHDOG_STATE_STOPPING || goapi_mpm_stopping()) {
        return APR_SUCCESS;
    }
    for (i = 0; i < sc->checks->nelts; i++) {
        const goapi_ready_check *c = &APR_ARRAY_IDX(sc->checks, i, goapi_ready_check);
        const char *why = NULL;
        apr_time_t t0 = apr_time_now();
        int ok = goapi_check_run(pool, &c->url, sc->check_timeout, &why);

        goapi_ready_note(s, i, c->name, c->url_text, ok, why, t0);
    }
    if (store) {
        /* the built-in check of a ledger shared by several hosts */
        const char *why = NULL;
        apr_time_t t0 = apr_time_now();
        int ok = goapi_idem_store_ping(pool, &why);

        goapi_ready_note(s, i, store, "GoapiIdempotencyStore", ok, why, t0);
    }
    goapi_health_round_done(goapi_health_table);
    return APR_SUCCESS;
}

/* The shared table, made on the first real configuration and kept for the
 * life of the process tree. */
static goapi_health *goapi_health_shared(server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    apr_shm_t *shm = NULL;
    apr_status_t rv;

    apr_pool_userdata_get((void **)&shm, GOAPI_HEALTH_SHM_KEY, pp);
    if (!shm) {
        rv = apr_shm_create(&shm, sizeof(goapi_health), NULL, pp);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, GOAPI_LOGNO(00022)
                         "cannot create the shared memory for readiness checks");
            return NULL;
        }
        memset(apr_shm_baseaddr_get(shm), 0, sizeof(goapi_health));
        apr_pool_userdata_set(shm, GOAPI_HEALTH_SHM_KEY, apr_pool_cleanup_null, pp);
    }
    return apr_shm_baseaddr_get(shm);
}

int goapi_lifecycle_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    const goapi_server_conf *sc = goapi_sconf(s);
    const char **names, *store = goapi_idem_store_check(sc);
    apr_status_t rv;
    int i, n;

    (void)plog;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;                      /* the first, trial reading */
    }
    goapi_lifecycle_parent_config(pconf, s);
    /* The window is the server's: GoapiShutdownTimeout of the main server.
     * The parent waits a little longer than the children's own clocks. */
    goapi_shutdown_window = sc->limits.shutdown;
    if (goapi_shutdown_window > 0) {
        ap_graceful_shutdown_timeout =
            (int)((goapi_shutdown_window + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC) + 2;
    }
    goapi_health_table = goapi_health_shared(s);
    if (!goapi_health_table) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    names = apr_palloc(ptemp, (sc->checks->nelts + 2) * sizeof(*names));
    for (i = 0; i < sc->checks->nelts; i++) {
        names[i] = APR_ARRAY_IDX(sc->checks, i, goapi_ready_check).name;
    }
    n = sc->checks->nelts;
    if (store && n < GOAPI_MAX_CHECKS) {
        names[n++] = store;
    }
    goapi_health_configure(goapi_health_table, names, n);
    if (!n) {
        return OK;
    }

    /* A child singleton: exactly one child runs the checks at a time (a
     * parent watchdog is not available with forking MPMs). */
    rv = goapi_watchdog_every(pconf, s, GOAPI_WATCHDOG_NAME, sc->check_interval,
                              goapi_ready_round);
    if (rv == APR_ENOTIMPL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, GOAPI_LOGNO(00023)
                     "GoapiReadyCheck needs mod_watchdog");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, GOAPI_LOGNO(00024)
                     "cannot set up the readiness check runner");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

void goapi_lifecycle_child_stopping(apr_pool_t *pchild, int graceful)
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
        if (began && goapi_graceful() && goapi_stop_now
            && apr_atomic_read32(goapi_stop_now)) {
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

/* ---- the parent's stop ------------------------------------------------------
 *
 * httpd's parent, once a graceful stop has begun, looks at its children
 * once a second: a stop took up to a second longer than its children.  A
 * handler for SIGCHLD ends the parent's nap as soon as a child exits, so
 * the parent ends right after its last child.  A child that exits just
 * before the parent begins its nap would not end it: the handler also sets
 * a timer a few milliseconds away, whose SIGALRM ends that nap.
 *
 * GoapiGracefulStopSignals On: SIGTERM and SIGINT, httpd's immediate stop,
 * become the graceful stop (bounded by GoapiShutdownTimeout), as the Go
 * server's; a second one during the stop is the immediate stop.  The
 * handlers are put in place when the parent has started the first child
 * of a generation (the child_status hook, which runs in the parent after
 * the MPM has set its own handlers; those are kept, for a second signal). */

static volatile sig_atomic_t goapi_stop_signal;    /* the first one seen */
static struct sigaction goapi_mpm_term, goapi_mpm_int, goapi_mpm_winch;
static int goapi_signals_set;                       /* in this generation */
static int goapi_graceful_signals;

/* GoapiShutdownDelay (main server, set at configuration), and the delay
 * of this generation: not begun, running until goapi_delay_end, over. */
static apr_interval_time_t goapi_shutdown_delay;
enum { GOAPI_DELAY_NONE = 0, GOAPI_DELAY_RUNNING, GOAPI_DELAY_OVER };
static volatile sig_atomic_t goapi_delay_state;
static struct timespec goapi_delay_end;

#define GOAPI_WAKE_AGAIN_USEC   20000
#define GOAPI_DELAY_TICK_USEC   10000

static void goapi_timer(long usec, int repeat)
{
    struct itimerval t;

    memset(&t, 0, sizeof(t));
    t.it_value.tv_usec = usec;
    if (repeat) {
        t.it_interval.tv_usec = usec;
    }
    setitimer(ITIMER_REAL, &t, NULL);
}

/* The delay is over (or cut short): httpd's graceful stop begins. */
static void goapi_delay_over(void)
{
    goapi_delay_state = GOAPI_DELAY_OVER;
    goapi_timer(0, 0);
    if (goapi_mpm_winch.sa_handler != SIG_DFL && goapi_mpm_winch.sa_handler != SIG_IGN) {
        goapi_mpm_winch.sa_handler(AP_SIG_GRACEFUL_STOP);
    }
}

/* The graceful stop's signal (SIGWINCH, and SIGTERM or SIGINT through
 * goapi_graceful_signal): with a delay, announce the stop and start the
 * clock; a second one ends the delay at once. */
static void goapi_graceful_stop_signal(int sig)
{
    int saved = errno;                  /* the interrupted code's */

    if (goapi_delay_state == GOAPI_DELAY_NONE && goapi_shutdown_delay > 0) {
        goapi_delay_state = GOAPI_DELAY_RUNNING;
        if (goapi_stop_announced) {
            *goapi_stop_announced = 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &goapi_delay_end);
        goapi_delay_end.tv_sec += (time_t)apr_time_sec(goapi_shutdown_delay);
        goapi_delay_end.tv_nsec += (long)apr_time_usec(goapi_shutdown_delay) * 1000L;
        if (goapi_delay_end.tv_nsec >= 1000000000L) {
            goapi_delay_end.tv_sec++;
            goapi_delay_end.tv_nsec -= 1000000000L;
        }
        goapi_timer(GOAPI_DELAY_TICK_USEC, 1);
    }
    else if (goapi_delay_state == GOAPI_DELAY_RUNNING) {
        goapi_delay_over();
    }
    else if (goapi_mpm_winch.sa_handler != SIG_DFL
             && goapi_mpm_winch.sa_handler != SIG_IGN) {
        goapi_mpm_winch.sa_handler(sig);
    }
    errno = saved;
}

static void goapi_wake(int sig)
{
    int saved = errno;                  /* the interrupted code's */

    if (goapi_delay_state == GOAPI_DELAY_RUNNING) {
        struct timespec now;

        /* the delay's tick: also the nap's interruption SIGCHLD asks for */
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (sig == SIGALRM && (now.tv_sec > goapi_delay_end.tv_sec
                               || (now.tv_sec == goapi_delay_end.tv_sec
                                   && now.tv_nsec >= goapi_delay_end.tv_nsec))) {
            goapi_delay_over();
        }
        errno = saved;
        return;
    }
    /* interrupting the nap is the point; SIGCHLD asks for SIGALRM too */
    if (sig == SIGCHLD) {
        struct itimerval again;

        memset(&again, 0, sizeof(again));
        again.it_value.tv_usec = GOAPI_WAKE_AGAIN_USEC;
        setitimer(ITIMER_REAL, &again, NULL);
    }
    errno = saved;
}

static void goapi_graceful_signal(int sig)
{
    const struct sigaction *mpm = sig == SIGINT ? &goapi_mpm_int : &goapi_mpm_term;
    int saved = errno;                  /* the interrupted code's */

    if (!goapi_stop_signal) {
        goapi_stop_signal = sig;
        kill(getpid(), AP_SIG_GRACEFUL_STOP);       /* the (delayed) graceful stop */
    }
    else {
        if (goapi_delay_state == GOAPI_DELAY_RUNNING) {
            goapi_delay_state = GOAPI_DELAY_OVER;   /* no graceful stop after it */
            goapi_timer(0, 0);
        }
        if (goapi_stop_now) {
            *goapi_stop_now = 1;                    /* the children cut now */
        }
        if (mpm->sa_handler != SIG_DFL && mpm->sa_handler != SIG_IGN) {
            mpm->sa_handler(sig);                   /* the MPM's immediate stop */
        }
    }
    errno = saved;
}

/* At the end of a generation (a restart, or the parent's end), before
 * httpd unloads the modules: httpd's own signal handling back, and no
 * timer left to fire into unloaded code.  Then, at the parent's end, what
 * stopped it, when it was one of ours. */
static apr_status_t goapi_note_stop(void *data)
{
    server_rec *s = data;

    if (goapi_signals_set) {
        struct itimerval none;
        struct sigaction dfl;

        memset(&none, 0, sizeof(none));
        setitimer(ITIMER_REAL, &none, NULL);
        memset(&dfl, 0, sizeof(dfl));
        sigemptyset(&dfl.sa_mask);
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGCHLD, &dfl, NULL);
        sigaction(SIGALRM, &dfl, NULL);
        if (goapi_graceful_signals) {
            sigaction(SIGTERM, &goapi_mpm_term, NULL);
            sigaction(SIGINT, &goapi_mpm_int, NULL);
        }
        if (goapi_shutdown_delay > 0) {
            sigaction(AP_SIG_GRACEFUL_STOP, &goapi_mpm_winch, NULL);
        }
        goapi_signals_set = 0;
    }

    if (goapi_stop_signal) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, GOAPI_LOGNO(00074)
                     "%s was taken as a graceful stop (GoapiGracefulStopSignals On); "
                     "a second one would have stopped at once",
                     goapi_stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
    }
    return APR_SUCCESS;
}

void goapi_lifecycle_parent_config(apr_pool_t *pconf, server_rec *s)
{
    const goapi_server_conf *sc = goapi_sconf(s);
    apr_pool_t *pp = s->process->pool;
    apr_shm_t *shm = NULL;

    apr_pool_userdata_get((void **)&shm, GOAPI_STOP_SHM_KEY, pp);
    if (!shm && apr_shm_create(&shm, 2 * sizeof(apr_uint32_t), NULL, pp) == APR_SUCCESS) {
        apr_pool_userdata_set(shm, GOAPI_STOP_SHM_KEY, apr_pool_cleanup_null, pp);
    }
    goapi_stop_now = shm ? apr_shm_baseaddr_get(shm) : NULL;
    goapi_stop_announced = goapi_stop_now ? goapi_stop_now + 1 : NULL;
    if (goapi_stop_now) {
        *goapi_stop_now = 0;
        *goapi_stop_announced = 0;
    }
    goapi_signals_set = 0;
    goapi_graceful_signals = sc->graceful_signals;
    goapi_shutdown_delay = sc->shutdown_delay;
    goapi_delay_state = GOAPI_DELAY_NONE;
    apr_pool_cleanup_register(pconf, s, goapi_note_stop, apr_pool_cleanup_null);
}

void goapi_lifecycle_child_status(server_rec *s, pid_t pid, ap_generation_t gen,
                                  int slot, mpm_child_status state)
{
    struct sigaction sa;

    (void)s;
    (void)pid;
    (void)gen;
    (void)slot;
    if (goapi_signals_set || state != MPM_CHILD_STARTED) {
        return;
    }
    goapi_signals_set = 1;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = goapi_wake;
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    if (goapi_graceful_signals) {
        sa.sa_handler = goapi_graceful_signal;
        sigaction(SIGTERM, &sa, &goapi_mpm_term);
        sigaction(SIGINT, &sa, &goapi_mpm_int);
    }
    if (goapi_shutdown_delay > 0) {
        sa.sa_handler = goapi_graceful_stop_signal;
        sigaction(AP_SIG_GRACEFUL_STOP, &sa, &goapi_mpm_winch);
    }
}

/* During the shutdown delay every response closes its connection: a
 * kept-alive client reconnects, through a load balancer that by then
 * knows the stop. */
int goapi_lifecycle_post_read_request(request_rec *r)
{
    if (goapi_shutting_down()) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    return DECLINED;
}

void goapi_lifecycle_child_init(apr_pool_t *pchild, server_rec *s)
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

void goapi_lifecycle_readiness(request_rec *r, goapi_readiness *out)
{
    const goapi_server_conf *sc = goapi_sconf(r->server);
    apr_finfo_t fi;

    memset(out, 0, sizeof(*out));
    if (goapi_health_table) {
        goapi_readiness_snapshot(goapi_health_table, out);
        out->started = out->n == 0 || apr_atomic_read32(&goapi_health_table->rounds) > 0;
    }
    else {
        out->started = 1;
    }
    if (goapi_shutting_down()) {
        out->draining = 1;
        out->shutting_down = 1;
        out->drain_reason = "shutting down";
    }
    else if (goapi_mpm_stopping()) {
        out->draining = 1;
        out->drain_reason = "server stopping";
    }
    else if (sc->drain_file
             && apr_stat(&fi, sc->drain_file, APR_FINFO_TYPE, r->pool) == APR_SUCCESS) {
        out->draining = 1;
        out->drain_reason = "drain file present";
    }
}
