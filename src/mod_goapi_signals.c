/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_goapi authors; see LICENSE. */
/*
 * mod_goapi_signals.c — the parent's stop: its signals, the shutdown delay,
 * and what it tells the children in shared memory.
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
 * the MPM has set its own handlers; those are kept, for a second signal).
 *
 * Shutdown delay (GoapiShutdownDelay).  A graceful stop signal first
 * announces the stop, in shared memory every child reads: /readyz fails
 * ("shutting down") and every response says "Connection: close", while
 * the server goes on serving for the delay (load balancers learn of the
 * stop late); then the parent begins httpd's graceful stop, bounded by the
 * window (mod_goapi_stop.c).  The parent's SIGALRM, ticking during the
 * delay, ends it.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "mpm_common.h"

#include <apr_atomic.h>
#include <apr_shm.h>
#include <errno.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "mod_goapi.h"

APLOG_USE_MODULE(goapi);

/* Set by the parent on a second SIGTERM or SIGINT, read by the stopping
 * children (a child stopping gracefully no longer reads httpd's own
 * messages); and set when a graceful stop is announced, read by every
 * child during the shutdown delay.  Two words of shared memory. */
#define GOAPI_STOP_SHM_KEY      "goapi_stop_shm"
static volatile apr_uint32_t *goapi_stop_now;
static volatile apr_uint32_t *goapi_stop_announce;

int goapi_stop_announced(void)
{
    return goapi_stop_announce && apr_atomic_read32(goapi_stop_announce);
}

int goapi_stop_now_asked(void)
{
    return goapi_stop_now && apr_atomic_read32(goapi_stop_now);
}

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
        if (goapi_stop_announce) {
            *goapi_stop_announce = 1;
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

void goapi_signals_parent_config(apr_pool_t *pconf, server_rec *s)
{
    const goapi_server_conf *sc = goapi_sconf(s);
    apr_pool_t *pp = s->process->pool;
    apr_shm_t *shm = NULL;

    apr_pool_userdata_get((void **)&shm, GOAPI_STOP_SHM_KEY, pp);
    if (!shm && apr_shm_create(&shm, 2 * sizeof(apr_uint32_t), NULL, pp) == APR_SUCCESS) {
        apr_pool_userdata_set(shm, GOAPI_STOP_SHM_KEY, apr_pool_cleanup_null, pp);
    }
    goapi_stop_now = shm ? apr_shm_baseaddr_get(shm) : NULL;
    goapi_stop_announce = goapi_stop_now ? goapi_stop_now + 1 : NULL;
    if (goapi_stop_now) {
        *goapi_stop_now = 0;
        *goapi_stop_announce = 0;
    }
    goapi_signals_set = 0;
    goapi_graceful_signals = sc->graceful_signals;
    goapi_shutdown_delay = sc->shutdown_delay;
    goapi_delay_state = GOAPI_DELAY_NONE;
    apr_pool_cleanup_register(pconf, s, goapi_note_stop, apr_pool_cleanup_null);
}

void goapi_signals_child_status(server_rec *s, pid_t pid, ap_generation_t gen,
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
