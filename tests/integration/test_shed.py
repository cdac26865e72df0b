# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Load shedding (GoapiMaxInFlight) against a real httpd and a backend
that takes its time: exactly N requests reach the backend, the rest get
503 at once; the probes keep answering; places come back from aborted
clients and cut requests; a shed idempotent request runs on retry; the
count holds across children (event and prefork).  The adaptive limit
(auto) against a backend whose capacity drops and comes back, beside a
fixed limit of the same start."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

from harness import (BackendTestCase, HttpdTestCase, Httpd, free_port, run_threads,
                     wait_for_port)

PROBLEM = "application/problem+json"

CONF = """
GoapiWriteTimeout 3s
GoapiMaxInFlight 4
ProxyPass "/slow/" "http://127.0.0.1:@BACKEND@/"
<Location "/slow/">
    GoapiMetricsRoute slow
</Location>
<Location "/slow/idem/">
    GoapiIdempotency On
</Location>
<Location "/slow/sleep/1.2">
    GoapiMaxInFlight 2
    GoapiShedRetryAfter 3
</Location>
<Location "/parcels/">
    SetHandler goapi
</Location>
"""


class ShedTest(BackendTestCase):
    CONF = CONF
    MPM = "event"

    def fire(self, n, path, method="GET", headers=None):
        """n requests at once; their responses (status, headers, body)."""
        out, lock = [], threading.Lock()

        def one():
            try:
                r = self.httpd.request(method, path, headers=headers,
                                       body=b"{}" if method == "POST" else None, timeout=15)
            except OSError:
                r = None                # cut by a deadline
            with lock:
                out.append(r)

        run_threads([threading.Thread(target=one) for _ in range(n)], 30)
        return out

    def runs(self, prefix):
        return sum(1 for q in self.backend.requests if q["path"].startswith(prefix))

    def test_limit_sheds_the_rest_at_once(self):
        # held long enough for all ten to arrive while four run, even with
        # prefork's eight processes under the sanitizers
        before = self.runs("/sleep/2")
        t0 = time.monotonic()
        answers = self.fire(10, "/slow/sleep/2")
        statuses = sorted(r.status for r in answers)
        self.assertEqual(statuses, [200] * 4 + [503] * 6)
        self.assertEqual(self.runs("/sleep/2") - before, 4)
        for r in answers:
            if r.status != 503:
                continue
            self.assertEqual(r.header("Content-Type"), PROBLEM)
            self.assertIn(r.header("Retry-After"), ("1", "2"))
            self.assertEqual(r.header("Connection"), "close")
            doc = json.loads(r.body)
            self.assertEqual(doc["status"], 503)
            self.assertIDs(r)
        self.assertLess(time.monotonic() - t0, 4)
        # logged once per interval and process, not once per request
        lines = self.httpd.read(self.httpd.error_log, self._offset).count("GOAPI00073")
        self.assertGreaterEqual(lines, 1)
        self.assertLessEqual(lines, 6 if self.MPM == "prefork" else 3)

    def test_probes_answer_while_full(self):
        done = threading.Event()
        held = threading.Thread(target=lambda: (self.fire(4, "/slow/sleep/1.5"), done.set()))
        held.start()
        time.sleep(0.3)
        # the server's limit is reached: other requests are shed, even
        # mod_goapi's own routes, but the probes and /metrics answer
        self.assertEqual(self.httpd.request("GET", "/slow/sleep/0").status, 503)
        self.assertEqual(self.httpd.request("GET", "/parcels/p-1").status, 503)
        for path in ("/healthz", "/readyz", "/startupz", "/metrics"):
            t0 = time.monotonic()
            r = self.httpd.request("GET", path)
            self.assertEqual(r.status, 200, path)
            self.assertLess(time.monotonic() - t0, 0.5, path)
        self.assertFalse(done.is_set())
        held.join(10)

    def test_aborted_clients_give_places_back(self):
        socks = []
        for _ in range(4):
            s = socket.create_connection((self.httpd.host, self.httpd.port), timeout=10)
            s.sendall(b"GET /slow/sleep/0.5 HTTP/1.1\r\nHost: localhost\r\n\r\n")
            socks.append(s)
        time.sleep(0.2)
        for s in socks:
            s.close()
        time.sleep(1.0)                 # the backend answers; the requests end
        self.assertEqual(sorted(r.status for r in self.fire(4, "/slow/sleep/0.2")),
                         [200] * 4)

    def test_cut_requests_give_places_back(self):
        # GoapiWriteTimeout 3s cuts requests the backend holds for 5 s
        answers = self.fire(4, "/slow/sleep/5")
        self.assertEqual(len(answers), 4)
        self.assertTrue(all(r is None for r in answers), answers)
        time.sleep(2.5)                 # the backend answers: the requests end
        self.assertEqual(sorted(r.status for r in self.fire(4, "/slow/sleep/0.1")),
                         [200] * 4)

    def test_shed_idempotent_request_runs_on_retry(self):
        key = "shed-key-%d" % time.monotonic_ns()
        held = threading.Thread(target=self.fire, args=(4, "/slow/sleep/1"))
        held.start()
        time.sleep(0.3)
        r = self.httpd.request("POST", "/slow/idem/create", body=b"{}",
                               headers={"Idempotency-Key": key})
        self.assertEqual(r.status, 503)
        held.join(10)
        before = self.runs("/idem/create")
        r = self.httpd.request("POST", "/slow/idem/create", body=b"{}",
                               headers={"Idempotency-Key": key})
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("Idempotent-Replayed"))
        self.assertEqual(self.runs("/idem/create") - before, 1)

    def test_scopes_and_retry_after(self):
        # /slow/sleep/1.2 has its own limit of 2 and Retry-After 3 (3 to 6)
        answers = self.fire(5, "/slow/sleep/1.2")
        self.assertEqual(sorted(r.status for r in answers), [200] * 2 + [503] * 3)
        for r in answers:
            if r.status == 503:
                self.assertIn(int(r.header("Retry-After")), range(3, 7))
        snap = self.httpd.request("GET", "/metrics").text
        m = re.search(r'(?m)^goapi_shed_total\{route="slow",dry_run="false"\} (\d+)$', snap)
        self.assertIsNotNone(m, snap[-2000:])
        self.assertGreaterEqual(int(m.group(1)), 3)
        # each scope's limit, by its <Location> or "server"
        self.assertRegex(snap, r'(?m)^goapi_max_in_flight_limit\{scope="server"\} 4$')
        self.assertRegex(snap, r'(?m)^goapi_max_in_flight_limit\{scope="/slow/sleep/1.2"\} 2$')
        self.assertRegex(snap, r'(?m)^goapi_in_flight\{scope="server"\} [01]$')


class ShedPreforkTest(ShedTest):
    """One process per request: the limit is counted across children."""
    MPM = "prefork"


class ShedConfigTest(unittest.TestCase):

    def test_warning_when_the_limit_cannot_act(self):
        h = Httpd('<Location "/a/">\n GoapiMaxInFlight 5000\n</Location>\n')
        try:
            res = h.configtest()
            self.assertEqual(res.returncode, 0, res.stderr)
            self.assertRegex(res.stderr, r"GOAPI00071: GoapiMaxInFlight 5000 at .*:\d+ is not "
                                         r"below the \d+ requests the MPM serves at once")
        finally:
            h.cleanup()
        for bad in ("-1", "x", "2000000", "4 5"):
            h = Httpd('<Location "/a/">\n GoapiMaxInFlight %s\n</Location>\n' % bad)
            try:
                res = h.configtest()
                self.assertNotEqual(res.returncode, 0, bad)
                self.assertIn("GoapiMaxInFlight: '%s' is not valid" % bad, res.stderr)
            finally:
                h.cleanup()

    def test_auto_arguments(self):
        cases = [
            ("auto min=0", "GoapiMaxInFlight auto: 'min=0' is not valid: "),
            ("auto size=4", "GoapiMaxInFlight auto: 'size=4' is not valid: expected one of "
                            "min=N, max=N, start=N"),
            ("auto min=8 max=4", "GoapiMaxInFlight auto: min=8 is above max=4"),
            ("auto min=4 max=8 start=9", "GoapiMaxInFlight auto: start=9 is not between "
                                         "min=4 and max"),
            ("auto percentile=0", "GoapiMaxInFlight auto: 'percentile=0' is not valid: "),
            ("auto percentile=100", "GoapiMaxInFlight auto: 'percentile=100' is not valid: "),
            ("auto backoff=0.3", "GoapiMaxInFlight auto: 'backoff=0.3' is not valid: "
                                 "expected the share of the limit kept"),
            ("auto backoff=1", "GoapiMaxInFlight auto: 'backoff=1' is not valid: expected"),
            ("auto backoff=0.9x", "GoapiMaxInFlight auto: 'backoff=0.9x' is not valid: "
                                  "expected"),
        ]
        for args, message in cases:
            h = Httpd('<Location "/a/">\n GoapiMaxInFlight %s\n</Location>\n' % args)
            try:
                res = h.configtest()
                self.assertNotEqual(res.returncode, 0, args)
                self.assertIn(message, res.stderr)
            finally:
                h.cleanup()
        # start above the MPM's size when max is not given
        h = Httpd('<Location "/a/">\n GoapiMaxInFlight auto start=500\n</Location>\n')
        try:
            res = h.configtest()
            self.assertNotEqual(res.returncode, 0)
            self.assertRegex(res.stderr, r"GOAPI00075: GoapiMaxInFlight auto at .*:\d+: "
                                         r"start=500 is above max \(32, MaxRequestWorkers")
        finally:
            h.cleanup()
        h = Httpd('<Location "/a/">\n GoapiMaxInFlight auto min=2 start=10 percentile=90 '
                  'backoff=0.75\n</Location>\n')
        try:
            res = h.configtest()
            self.assertEqual(res.returncode, 0, res.stderr)
            self.assertNotIn("GOAPI0007", res.stderr)
        finally:
            h.cleanup()


CAPACITY_BACKEND = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "capacity_backend.py")
SERVICE = 0.05                          # the backend's unloaded latency, s
CLIENTS = 30                            # ten times what the backend serves when it drops
WIDE, NARROW = 64, 3                    # its capacity, before and after the drop

ADAPTIVE_CONF = """
ProxyPass "/auto/" "http://127.0.0.1:@BACKEND@/" retry=0
ProxyPass "/fixed/" "http://127.0.0.1:@BACKEND@/" retry=0
<Location "/auto/">
    GoapiMaxInFlight auto min=2 max=64 start=%(clients)d
</Location>
<Location "/fixed/">
    GoapiMaxInFlight %(clients)d
</Location>
""" % {"clients": CLIENTS}


def p99(values):
    values = sorted(values)
    return values[min(len(values) - 1, (len(values) * 99) // 100)]


class AdaptiveShedTest(HttpdTestCase):
    """A backend serving WIDE requests at SERVICE, then NARROW (so that
    CLIENTS admitted at once take ten times as long), then WIDE again.
    The fixed limit admits them all and its requests queue; the adaptive
    one falls to what the backend serves without a queue, its admitted
    requests stay within twice the unloaded p99, and it rises again."""

    MODULES = ("proxy", "proxy_http")
    MPM = "event"
    CONF = ADAPTIVE_CONF

    @classmethod
    def before_start(cls):
        cls.backend_port = free_port()
        cls.backend_proc = subprocess.Popen(
            [sys.executable, CAPACITY_BACKEND, str(cls.backend_port), str(SERVICE),
             str(WIDE)], stdout=subprocess.DEVNULL, start_new_session=True)
        if not wait_for_port("127.0.0.1", cls.backend_port, time.monotonic() + 10,
                             cls.backend_proc):
            os.killpg(cls.backend_proc.pid, signal.SIGTERM)
            raise RuntimeError("the capacity backend did not start")

    @classmethod
    def after_stop(cls):
        os.killpg(cls.backend_proc.pid, signal.SIGTERM)
        cls.backend_proc.wait(10)

    @classmethod
    def conf_body(cls):
        body = cls.CONF.replace("@BACKEND@", str(cls.backend_port))
        if cls.MPM == "prefork":
            # a process per client
            body += ("ServerLimit 48\nMaxRequestWorkers 48\nStartServers 40\n"
                     "MinSpareServers 40\nMaxSpareServers 48\n")
        else:
            body += "ServerLimit 8\nMaxRequestWorkers 64\nStartServers 5\n"
        return body

    def capacity(self, n):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.backend_port, timeout=5)
        try:
            c.request("GET", "/capacity/%d" % n)
            self.assertEqual(c.getresponse().status, 200)
        finally:
            c.close()

    def limit_now(self, scope):
        text = self.httpd.request("GET", "/metrics").text
        m = re.search(r'(?m)^goapi_max_in_flight_limit\{scope="%s"\} (\d+)$'
                      % re.escape(scope), text)
        self.assertIsNotNone(m, text[-1500:])
        return int(m.group(1))

    def drive(self, prefix, steps):
        """CLIENTS in a closed loop on prefix (a shed client waits 0.1 s)
        while steps [(at, capacity)] change the backend; returns the
        answers (end time from the start, status, latency) and the limit
        read from /metrics at each step."""
        t0 = time.monotonic()
        stop_at = t0 + steps[-1][0]
        out, lock, limits = [], threading.Lock(), []

        def client():
            while time.monotonic() < stop_at:
                a = time.monotonic()
                try:
                    status = self.httpd.request("GET", prefix + "work", timeout=10).status
                except OSError:
                    status = None
                b = time.monotonic()
                with lock:
                    out.append((b - t0, status, b - a))
                if status != 200:
                    time.sleep(0.1)

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        try:
            for at, cap in steps:
                time.sleep(max(0, t0 + at - time.monotonic()))
                limits.append(self.limit_now(prefix))
                if cap:
                    self.capacity(cap)
        finally:
            for t in threads:
                t.join(20)
        return out, limits

    @staticmethod
    def window(answers, start, end):
        ok = [lat for at, st, lat in answers if start <= at < end and st == 200]
        shed = sum(1 for at, st, lat in answers if start <= at < end and st == 503)
        other = [st for at, st, lat in answers if start <= at < end and st not in (200, 503)]
        return ok, shed, other

    def test_adaptive_limit_against_fixed(self):
        if self.MPM == "prefork":
            # a process per connection: the shed clients' next connections
            # can find every process busy for a moment
            self.allowed_errors.append(r"AH00161: server reached MaxRequestWorkers")
        # the fixed limit: all CLIENTS admitted, ten times the latency
        self.capacity(WIDE)
        answers, _ = self.drive("/fixed/", [(0, None), (2, NARROW), (7, WIDE)])
        base, _, other = self.window(answers, 0.5, 2)
        loaded, shed, other2 = self.window(answers, 4, 7)
        self.assertEqual(other + other2, [])
        fixed_ratio = p99(loaded) / p99(base)
        self.assertGreater(fixed_ratio, 4, (p99(base), p99(loaded)))

        # the adaptive one, from the same start
        answers, limits = self.drive("/auto/", [(0, None), (3, NARROW), (9, WIDE),
                                                (13, None)])
        base, _, other = self.window(answers, 1, 3)
        loaded, shed, other2 = self.window(answers, 6, 9)
        back, shed_back, other3 = self.window(answers, 11.5, 13)
        self.assertEqual(other + other2 + other3, [])
        ratio = p99(loaded) / p99(base)
        sys.stderr.write("    [%s] p99 unloaded %.0f ms; overloaded: fixed %d %.1fx, "
                         "auto %.1fx (limit %s, %d shed); back: %d shed\n"
                         % (self.MPM, p99(base) * 1000, CLIENTS, fixed_ratio, ratio,
                            limits, shed, shed_back))
        self.assertLess(ratio, 2.0, (p99(base), p99(loaded), limits))
        self.assertGreater(shed, 0)
        self.assertLessEqual(limits[2], 3 * NARROW, limits)     # fell
        self.assertGreaterEqual(limits[3], 20, limits)          # and rose again
        # (a client's next request may come before its last one's place
        # is given back, at the end of its logging)
        self.assertLessEqual(shed_back, len(back) // 50, (shed_back, len(back)))
        self.assertGreater(len(back), 100)


class AdaptiveShedPreforkTest(AdaptiveShedTest):
    """The adaptive limit kept in shared memory by every process."""
    MPM = "prefork"
