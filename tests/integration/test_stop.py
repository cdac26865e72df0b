# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Graceful stop and restart against a real httpd (event MPM): in-flight
requests shorter and longer than GoapiShutdownTimeout, old children of a
graceful restart, restarts under load, shutdown hooks, and no error line
for an intentional stop.  Each test runs its own server: it stops it."""

import os
import signal
import socket
import threading
import time
import unittest

from harness import (SANITIZE, EchoBackend, Httpd, TEST_MODULES, parse_raw, read_to_close)

WINDOW = 2.0
TOLERANCE = 0.10 * WINDOW
# Under the sanitizers every process's exit runs the leak check first: the
# exact-stop bounds get that much more.
EXIT_SLACK = 0.3 if SANITIZE else 0.0


class Inflight(threading.Thread):
    """One request through mod_proxy to the backend's /sleep/S: what came
    back, and when the connection ended."""

    def __init__(self, httpd, seconds, path=None):
        super().__init__(daemon=True)
        self.httpd = httpd
        self.path = path or "/slow/sleep/%s" % seconds
        self.data = b""
        self.ended = None
        self.sock = socket.create_connection((httpd.host, httpd.port), timeout=30)

    def run(self):
        try:
            self.sock.sendall(b"GET " + self.path.encode() + b" HTTP/1.1\r\n"
                              b"Host: localhost\r\nConnection: close\r\n\r\n")
            self.data = read_to_close(self.sock)
        except OSError:
            pass
        self.ended = time.monotonic()
        self.sock.close()


class StopTestCase(unittest.TestCase):
    CONF = ""
    MODULES = ("proxy", "proxy_http")
    MPM = "event"

    def setUp(self):
        self.backend = EchoBackend()
        self.httpd = Httpd('GoapiShutdownTimeout %gs\nProxyPass "/slow/" "http://127.0.0.1:%d/"\n%s'
                           % (WINDOW, self.backend.port, self.CONF), modules=self.MODULES,
                           mpm=self.MPM)
        self.httpd.start()
        time.sleep(0.3)

    def tearDown(self):
        self.httpd.cleanup()
        self.backend.stop()

    def stop_and_wait(self, sig, limit, settle=True):
        """Send sig; the time httpd took to exit, and its exit status.  An
        immediate stop waits for the server's connections to end first
        (settle), unless the test means it to meet them (Httpd.wait_idle)."""
        if settle and sig in (signal.SIGTERM, signal.SIGHUP):
            self.httpd.wait_idle()
        t0 = time.monotonic()
        self.httpd.send_signal(sig)
        rc = self.httpd.proc.wait(limit)
        return time.monotonic() - t0, rc

    def assertCleanLog(self):
        # a sanitizer's report (a crash's stack under "make sanitize") is
        # shown, not only its "exit signal" line
        reports = "".join(self.httpd.read(f) for f in self.httpd.sanitizer_reports())
        self.assertEqual(self.httpd.bad_lines(), [], reports[-6000:])
        self.assertEqual(reports, "")

    def assertOk(self, req):
        r = parse_raw(req.data)
        self.assertEqual(r.status, 200, req.data[:200])
        self.assertIn(b'"path": "/sleep/', r.body)


class GracefulStopTest(StopTestCase):

    def test_short_requests_complete(self):
        reqs = [Inflight(self.httpd, 1.0) for _ in range(3)]
        for q in reqs:
            q.start()
        time.sleep(0.3)
        took, rc = self.stop_and_wait(signal.SIGWINCH, 10)
        for q in reqs:
            q.join(10)
            self.assertOk(q)
        self.assertEqual(rc, 0)
        # the requests end ~0.7 s after the signal; the parent looks once a second
        self.assertLess(took, 0.7 + 1.5)
        log = self.httpd.read(self.httpd.error_log)
        self.assertIn("caught SIGWINCH, shutting down gracefully", log)
        self.assertNotIn("GOAPI00033", log)             # nothing was cut
        self.assertCleanLog()

    def test_long_requests_cut_at_window(self):
        reqs = [Inflight(self.httpd, 10) for _ in range(2)]
        for q in reqs:
            q.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        took, rc = self.stop_and_wait(signal.SIGWINCH, 10)
        for q in reqs:
            q.join(10)
            self.assertAlmostEqual(q.ended - t0, WINDOW, delta=TOLERANCE)
            self.assertNotIn(b"200 OK", q.data)
        self.assertEqual(rc, 0)
        self.assertLess(took, WINDOW + 1.5)             # the process is gone
        log = self.httpd.read(self.httpd.error_log)
        self.assertRegex(log, r"GOAPI00033: shutdown window of 2s over: \d+ connection\(s\) cut")
        self.assertCleanLog()

    def test_readyz_draining_while_stopping(self):
        # a request in the stopping child asks /readyz (an SSI subrequest
        # made after the stop began): that child says draining
        self.httpd.cleanup()
        self.httpd = Httpd(
            'GoapiShutdownTimeout 5s\nProxyPass "/slow/" "http://127.0.0.1:%d/"\n'
            '<Location "/ssi/">\n Options +Includes\n SetOutputFilter INCLUDES\n</Location>\n'
            % self.backend.port, modules=("proxy", "proxy_http", "include"),
            files={"htdocs/ssi/probe.shtml": (
                '<!--#include virtual="/slow/sleep/1" -->\n'
                'readyz=<!--#include virtual="/readyz" -->', 0o644)})
        self.httpd.start()
        before = self.httpd.request("GET", "/ssi/probe.shtml", timeout=10)
        self.assertIn(b"readyz=ready\n", before.body)
        q = Inflight(self.httpd, 0, path="/ssi/probe.shtml")
        q.start()
        time.sleep(0.3)
        took, rc = self.stop_and_wait(signal.SIGWINCH, 10)
        q.join(10)
        r = parse_raw(q.data)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.body.endswith(b"readyz=draining\n"), r.body)
        self.assertEqual(rc, 0)
        self.assertCleanLog()


class GracefulRestartTest(StopTestCase):

    def test_old_children_bounded_new_ones_serve(self):
        q = Inflight(self.httpd, 10)
        q.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        self.httpd.send_signal(signal.SIGUSR1)
        # new children serve while the old one drains
        time.sleep(0.5)
        r = self.httpd.request("GET", "/healthz")
        self.assertEqual((r.status, r.body), (200, b"ok\n"))
        q.join(10)
        self.assertAlmostEqual(q.ended - t0, WINDOW, delta=TOLERANCE)
        self.assertEqual(self.httpd.request("GET", "/readyz").body, b"ready\n")
        self.assertIsNone(self.httpd.proc.poll())       # still running
        self.assertIn("SIGUSR1 received.  Doing graceful restart",
                      self.httpd.read(self.httpd.error_log))
        rc = self.httpd.stop(signal.SIGTERM)
        self.assertEqual(rc, 0)
        self.assertCleanLog()

    def test_restarts_under_load_lose_nothing(self):
        stop = threading.Event()
        results, lock = {"ok": 0, "failed": []}, threading.Lock()

        def client():
            while not stop.is_set():
                try:
                    s = socket.create_connection((self.httpd.host, self.httpd.port), timeout=10)
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
                              b"Connection: close\r\n\r\n")
                    data = read_to_close(s)
                    s.close()
                    ok = parse_raw(data).status == 200
                except Exception as e:          # counted as a failure
                    ok, data = False, repr(e).encode()
                with lock:
                    if ok:
                        results["ok"] += 1
                    else:
                        results["failed"].append(data[:100])

        clients = [threading.Thread(target=client, daemon=True) for _ in range(4)]
        for c in clients:
            c.start()
        try:
            for _ in range(20):
                time.sleep(0.4)
                self.httpd.send_signal(signal.SIGUSR1)
            time.sleep(0.5)
        finally:
            stop.set()
            for c in clients:
                c.join(15)
        self.assertEqual(results["failed"], [])
        self.assertGreater(results["ok"], 100)
        log = self.httpd.read(self.httpd.error_log)
        self.assertGreaterEqual(log.count("Doing graceful restart"), 20)
        self.assertEqual(self.httpd.stop(signal.SIGTERM), 0)
        self.assertCleanLog()

    def test_restart_keeps_startup_state(self):
        # a graceful restart is not a new start: /startupz stays 200
        self.assertEqual(self.httpd.request("GET", "/startupz").status, 200)
        self.httpd.send_signal(signal.SIGUSR1)
        time.sleep(1.0)
        self.assertEqual(self.httpd.request("GET", "/startupz").status, 200)
        self.assertEqual(self.httpd.stop(signal.SIGTERM), 0)
        self.assertCleanLog()


class StopSignalsTest(StopTestCase):
    """An intentional stop or restart is never logged as an error."""

    def test_hup_restart_then_stop(self):
        self.httpd.wait_idle()
        self.httpd.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        self.assertEqual(self.httpd.request("GET", "/healthz").status, 200)
        took, rc = self.stop_and_wait(signal.SIGTERM, 10)
        self.assertEqual(rc, 0)
        log = self.httpd.read(self.httpd.error_log)
        self.assertIn("SIGHUP received.  Attempting to restart", log)
        # the restart's new handlers take SIGTERM as the graceful stop
        self.assertIn("caught SIGWINCH, shutting down gracefully", log)
        self.assertIn("GOAPI00074: SIGTERM was taken as a graceful stop", log)
        self.assertIn("GOAPI00035: cleanup hook started: shutdown supervisor", log)
        self.assertIn("GOAPI00036: cleanup hook finished: shutdown supervisor", log)
        self.assertCleanLog()

    def test_immediate_stop_with_request_in_flight(self):
        # SIGTERM begins the graceful stop; a second one during it stops at once
        q = Inflight(self.httpd, 10)
        q.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        self.httpd.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        self.assertIsNone(self.httpd.proc.poll())       # draining
        self.httpd.send_signal(signal.SIGTERM)
        rc = self.httpd.proc.wait(10)
        q.join(10)
        self.assertEqual(rc, 0)
        self.assertLess(time.monotonic() - t0, 0.3 + 1.5)
        self.assertNotIn(b"200 OK", q.data)
        self.assertCleanLog()


class ExplicitGracefulShutdownTimeoutTest(StopTestCase):
    """GracefulShutdownTimeout given too: GoapiShutdownTimeout wins, and the
    checklist says so."""

    CONF = "GracefulShutdownTimeout 30"

    def test_goapi_window_wins(self):
        res = self.httpd.configtest()
        self.assertIn("GOAPI00076: checklist: main server sets GracefulShutdownTimeout 30s; "
                      "GoapiShutdownTimeout 2s bounds the stop instead", res.stderr)
        q = Inflight(self.httpd, 10)
        q.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        took, rc = self.stop_and_wait(signal.SIGWINCH, 15)
        q.join(10)
        self.assertAlmostEqual(q.ended - t0, WINDOW, delta=TOLERANCE)
        self.assertLess(took, WINDOW + 1.5)
        self.assertEqual(rc, 0)
        self.assertCleanLog()


class ShutdownHooksTest(StopTestCase):
    """Hooks registered by another module run at the start of a stop, in
    order, told the end of the window."""

    MODULES = ("proxy", "proxy_http")

    def setUp(self):
        self.backend = EchoBackend()
        hooktest = os.path.join(TEST_MODULES, "mod_goapi_hooktest.so")
        self.httpd = Httpd('GoapiShutdownTimeout 2s\nStartServers 1\nMinSpareThreads 1\n'
                           'LoadModule goapi_hooktest_module %s\n' % hooktest,
                           modules=self.MODULES)
        self.httpd.start()
        time.sleep(0.3)

    def test_hooks_in_order_within_window(self):
        took, rc = self.stop_and_wait(signal.SIGWINCH, 10)
        self.assertEqual(rc, 0)
        lines = [l for l in self.httpd.read(self.httpd.error_log).splitlines()
                 if "hooktest" in l]
        self.assertTrue(lines)
        pid = lines[0].split("[pid ")[1].split(":")[0]
        mine = [l for l in lines if "[pid %s:" % pid in l]
        expected = [
            r"GOAPI00030: shutdown hook hooktest-first started$",
            r"hooktest first ran with (19\d\d|2000) ms left$",
            r"GOAPI00031: shutdown hook hooktest-first finished in 1\d\dms$",
            r"GOAPI00030: shutdown hook hooktest-second started$",
            r"hooktest second ran with 1[89]\d\d ms left$",
            r"GOAPI00031: shutdown hook hooktest-second finished in 1\d\dms$",
        ]
        self.assertEqual(len(mine), len(expected), mine)
        for line, pattern in zip(mine, expected):
            self.assertRegex(line, pattern)
        self.assertCleanLog()


class ExactStopTest(StopTestCase):
    """The stop ends when its last request does, or when its window ends,
    not at the parent's next look at its children."""

    def stop_timed(self, sig):
        """Send sig; when it was sent, when httpd was gone, its status."""
        t0 = time.monotonic()
        self.httpd.send_signal(sig)
        rc = self.httpd.proc.wait(10)
        return t0, time.monotonic(), rc

    def test_idle_graceful_stop(self):
        took, rc = self.stop_and_wait(signal.SIGWINCH, 10)
        self.assertEqual(rc, 0)
        self.assertLess(took, 0.3 + EXIT_SLACK)
        self.assertCleanLog()

    def test_stop_ends_with_the_last_request(self):
        q = Inflight(self.httpd, 1.0)
        q.start()
        time.sleep(0.3)
        t0, gone, rc = self.stop_timed(signal.SIGWINCH)
        q.join(10)
        self.assertOk(q)
        self.assertEqual(rc, 0)
        self.assertLess(gone - q.ended, 0.25 + EXIT_SLACK, (gone - t0, q.ended - t0))
        self.assertCleanLog()

    def test_stop_ends_with_the_window(self):
        q = Inflight(self.httpd, 6)
        q.start()
        time.sleep(0.3)
        took, rc = self.stop_and_wait(signal.SIGWINCH, 10)
        q.join(10)
        self.assertEqual(rc, 0)
        self.assertLess(took, WINDOW + 0.25 + 0.1 + EXIT_SLACK)
        self.assertGreater(took, WINDOW - TOLERANCE)
        self.assertCleanLog()

    def old_generation_gone(self, old, limit=10):
        """When the children of old had all exited (a zombie counts: it
        has ended, its parent reaps it later)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            alive = []
            for pid in old:
                try:
                    with open("/proc/%d/stat" % pid) as f:
                        state = f.read().rsplit(")", 1)[1].split()[0]
                except OSError:
                    continue
                if state != "Z":
                    alive.append(pid)
            if not alive:
                return time.monotonic()
            time.sleep(0.01)
        self.fail("old children still running: %r" % alive)

    def restart_during(self, seconds):
        """A graceful restart while a request of seconds runs: the request,
        when the restart was asked for, when the old children had ended."""
        q = Inflight(self.httpd, seconds)
        q.start()
        time.sleep(0.3)
        old = self.httpd.children()
        t0 = time.monotonic()
        self.httpd.send_signal(signal.SIGUSR1)
        gone = self.old_generation_gone(old)
        q.join(10)
        return q, t0, gone

    def test_restart_old_generation_ends_with_its_last_request(self):
        q, t0, gone = self.restart_during(1.0)
        self.assertOk(q)
        self.assertLess(gone - q.ended, 0.25 + EXIT_SLACK, (gone - t0, q.ended - t0))
        self.assertEqual(self.httpd.request("GET", "/healthz").status, 200)
        self.assertEqual(self.httpd.stop(signal.SIGWINCH), 0)
        self.assertCleanLog()

    def test_restart_old_generation_ends_with_the_window(self):
        _, t0, gone = self.restart_during(6)
        self.assertLess(gone - t0, WINDOW + 0.25 + 0.1 + EXIT_SLACK)
        self.assertGreater(gone - t0, WINDOW - TOLERANCE)
        self.assertEqual(self.httpd.request("GET", "/healthz").status, 200)
        self.assertEqual(self.httpd.stop(signal.SIGWINCH), 0)
        self.assertCleanLog()

    def test_sigterm_and_sigint_drain(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            if sig == signal.SIGINT:
                self.httpd.cleanup()
                self.httpd = Httpd('GoapiShutdownTimeout %gs\nProxyPass "/slow/" '
                                   '"http://127.0.0.1:%d/"\n' % (WINDOW, self.backend.port),
                                   modules=self.MODULES, mpm=self.MPM)
                self.httpd.start()
                time.sleep(0.3)
            q = Inflight(self.httpd, 1.0)
            q.start()
            time.sleep(0.3)
            t0, gone, rc = self.stop_timed(sig)
            q.join(10)
            self.assertOk(q)                            # it completed
            self.assertEqual(rc, 0)
            self.assertLess(gone - q.ended, 0.25 + EXIT_SLACK,
                            (sig, gone - t0, q.ended - t0))
            log = self.httpd.read(self.httpd.error_log)
            self.assertIn("caught SIGWINCH, shutting down gracefully", log)
            self.assertRegex(log, r"GOAPI00074: %s was taken as a graceful stop"
                             % ("SIGTERM" if sig == signal.SIGTERM else "SIGINT"))
            self.assertCleanLog()


class ExactStopWorkerTest(ExactStopTest):
    MPM = "worker"


class ExactStopPreforkTest(ExactStopTest):
    MPM = "prefork"


class SignalsOffTest(StopTestCase):
    """GoapiGracefulStopSignals Off: SIGTERM is httpd's immediate stop."""
    CONF = "GoapiGracefulStopSignals Off"

    def test_sigterm_is_immediate(self):
        q = Inflight(self.httpd, 10)
        q.start()
        time.sleep(0.3)
        took, rc = self.stop_and_wait(signal.SIGTERM, 10, settle=False)
        q.join(10)
        self.assertEqual(rc, 0)
        self.assertLess(took, 2.0)
        self.assertNotIn(b"200 OK", q.data)
        self.assertNotIn("GOAPI00074", self.httpd.read(self.httpd.error_log))
        self.assertCleanLog()
