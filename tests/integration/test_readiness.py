# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Probes against a real httpd: dependency checks on loopback that the test
opens and closes, the drain file, startup, and the answer formats."""

import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import HttpdTestCase, free_port

INTERVAL = 0.3          # GoapiReadyCheckInterval in these tests, seconds


def wait_for(predicate, timeout=10.0, step=0.05):
    """Poll until predicate() is true; returns its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(step)
        value = predicate()
    return value


class TcpDependency:
    """A listener the test opens and closes on a fixed loopback port."""

    def __init__(self):
        self.port = free_port()
        self.sock = None
        self.open()

    def open(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.sock = s

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None


class HttpDependency:
    """An HTTP dependency whose status the test sets."""

    def __init__(self):
        outer = self
        self.status = 200

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class ReadinessTest(HttpdTestCase):

    @classmethod
    def before_start(cls):
        cls.db = TcpDependency()
        cls.api = HttpDependency()

    @classmethod
    def after_stop(cls):
        cls.db.close()
        cls.api.stop()

    @classmethod
    def conf_body(cls):
        return """
GoapiReadyCheck db tcp://127.0.0.1:%d
GoapiReadyCheck api http://127.0.0.1:%d/health?deep=1
GoapiReadyCheckInterval 300ms
GoapiReadyCheckTimeout 250ms
GoapiDrainFile @DIR@/run/drain
""" % (cls.db.port, cls.api.port)

    def setUp(self):
        super().setUp()
        self.db.close()
        self.db.open()
        self.api.status = 200
        self.assertTrue(wait_for(lambda: self.get("/readyz").status == 200),
                        self.get("/readyz?verbose").text)

    def test_ready_when_all_pass(self):
        r = self.get("/readyz")
        self.assertEqual((r.status, r.text), (200, "ready\n"))
        self.assertEqual(r.header("Cache-Control"), "no-store")
        self.assertIDs(r)
        self.assertEqual(self.get("/startupz").text, "started\n")

    def test_tcp_dependency_down_and_back(self):
        self.db.close()
        r = wait_for(lambda: (lambda x: x if x.status == 503 else None)(self.get("/readyz")))
        self.assertTrue(r, "never became unready")
        self.assertEqual(r.text, "check db failed: connect: Connection refused\n")
        self.assertEqual(self.get("/healthz").status, 200)   # liveness is not readiness
        self.assertEqual(self.get("/startupz").status, 200)
        self.db.open()
        self.assertTrue(wait_for(lambda: self.get("/readyz").status == 200))
        log = self.httpd.read(self.httpd.error_log, self._offset)
        self.assertRegex(log, r"\[goapi:warn\].*GOAPI00020: ready check db "
                              r"\(tcp://127\.0\.0\.1:\d+\) failed: connect: Connection refused")
        self.assertRegex(log, r"GOAPI00021: ready check db .* passes again")

    def test_http_dependency_status(self):
        self.api.status = 503
        self.assertTrue(wait_for(lambda: self.get("/readyz").status == 503))
        self.assertEqual(self.get("/readyz").text, "check api failed: status 503\n")
        self.api.status = 204
        self.assertTrue(wait_for(lambda: self.get("/readyz").status == 200))

    def test_verbose(self):
        r = self.get("/readyz?verbose")
        self.assertEqual((r.status, r.text), (200, "[+]db ok\n[+]api ok\n[+]startup ok\n"
                                                   "[+]drain ok\nreadyz check passed\n"))
        self.db.close()
        self.assertTrue(wait_for(lambda: self.get("/readyz").status == 503))
        r = self.get("/readyz?verbose=1")
        self.assertEqual((r.status, r.text), (503, "[-]db failed: connect: Connection refused\n"
                                                   "[+]api ok\n[+]startup ok\n[+]drain ok\n"
                                                   "readyz check failed\n"))

    def test_one_check(self):
        self.assertEqual((self.get("/readyz/db").status, self.get("/readyz/db").text),
                         (200, "ok\n"))
        self.api.status = 500
        self.assertTrue(wait_for(lambda: self.get("/readyz/api").status == 503))
        self.assertEqual(self.get("/readyz/api").text, "failed: status 500\n")
        self.assertEqual(self.get("/readyz/db").status, 200)
        r = self.get("/readyz/nope")
        self.assertEqual((r.status, r.text), (404, "404 page not found\n"))

    def test_health_json(self):
        r = self.get("/readyz", {"Accept": "application/health+json"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "application/health+json")
        doc = json.loads(r.body)
        self.assertEqual(doc["status"], "pass")
        self.assertEqual(sorted(doc["checks"]), ["api", "db"])
        for name in ("api", "db"):
            entry = doc["checks"][name][0]
            self.assertEqual(entry["status"], "pass")
            self.assertRegex(entry["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertEqual(entry["observedUnit"], "ms")
        self.db.close()
        self.assertTrue(wait_for(lambda: self.get("/readyz").status == 503))
        r = self.get("/readyz", {"Accept": "text/plain, application/health+json;q=0.5"})
        self.assertEqual(r.status, 503)
        doc = json.loads(r.body)
        self.assertEqual(doc["status"], "fail")
        self.assertEqual(doc["checks"]["db"][0]["output"], "connect: Connection refused")
        # q=0 means "not this": plain text
        r = self.get("/readyz", {"Accept": "application/health+json;q=0"})
        self.assertTrue(r.text.startswith("check db failed"))

    def test_drain_file(self):
        drain = self.httpd.path("run/drain")
        open(drain, "w").close()
        try:
            r = self.get("/readyz")
            self.assertEqual((r.status, r.text), (503, "draining\n"))
            self.assertIn("[-]drain failed: drain file present\n", self.get("/readyz?verbose").text)
            self.assertEqual(self.get("/healthz").status, 200)
            self.assertEqual(self.get("/readyz/db").status, 200)
        finally:
            os.unlink(drain)
        self.assertEqual(self.get("/readyz").status, 200)

    def test_checks_run_by_one_child(self):
        # one runner for the whole server: over ~10 intervals the dependency
        # sees about 10 connections, not 10 per child
        api_hits = []
        orig = self.api.server.RequestHandlerClass.do_GET

        def counting(handler):
            api_hits.append(time.monotonic())
            orig(handler)

        self.api.server.RequestHandlerClass.do_GET = counting
        try:
            time.sleep(10 * INTERVAL)
        finally:
            self.api.server.RequestHandlerClass.do_GET = orig
        self.assertGreaterEqual(len(api_hits), 6)
        self.assertLessEqual(len(api_hits), 14)


class StartupTest(HttpdTestCase):
    """/startupz is 503 until the first round of checks has completed."""

    @classmethod
    def before_start(cls):
        # accepts, never answers: the first round takes GoapiReadyCheckTimeout
        cls.silent = TcpDependency()

    @classmethod
    def after_stop(cls):
        cls.silent.close()

    @classmethod
    def conf_body(cls):
        return """
GoapiReadyCheck slow http://127.0.0.1:%d/
GoapiReadyCheckInterval 5s
GoapiReadyCheckTimeout 2s
""" % cls.silent.port

    def test_starting_then_started(self):
        r = self.get("/startupz")
        self.assertEqual((r.status, r.text), (503, "starting\n"))
        self.assertEqual(r.header("Cache-Control"), "no-store")
        self.assertEqual(self.get("/readyz").text, "starting\n")
        self.assertTrue(wait_for(lambda: self.get("/startupz").status == 200, timeout=6))
        self.assertEqual(self.get("/startupz").text, "started\n")
        r = self.get("/readyz")
        self.assertEqual((r.status, r.text),
                         (503, "check slow failed: receive: no answer within 2s\n"))
        self.assertEqual(self.get("/healthz").status, 200)


class NoChecksTest(HttpdTestCase):
    """Without checks the server is started and ready at once."""

    def test_ready_without_checks(self):
        self.assertEqual(self.get("/startupz").status, 200)
        self.assertEqual(self.get("/readyz").text, "ready\n")
        self.assertEqual(self.get("/readyz?verbose").text,
                         "[+]startup ok\n[+]drain ok\nreadyz check passed\n")
        self.assertEqual(self.get("/readyz/anything").status, 404)
