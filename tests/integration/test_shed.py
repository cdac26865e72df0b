"""Load shedding (GoapiMaxInFlight) against a real httpd and a backend
that takes its time: exactly N requests reach the backend, the rest get
503 at once; the probes keep answering; places come back from aborted
clients and cut requests; a shed idempotent request runs on retry; the
count holds across children (event and prefork)."""

import json
import re
import socket
import threading
import time
import unittest

from harness import BackendTestCase, Httpd, run_threads

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
        m = re.search(r'(?m)^goapi_shed_total\{route="slow"\} (\d+)$', snap)
        self.assertIsNotNone(m, snap[-2000:])
        self.assertGreaterEqual(int(m.group(1)), 3)


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
        for bad in ("-1", "x", "2000000"):
            h = Httpd('<Location "/a/">\n GoapiMaxInFlight %s\n</Location>\n' % bad)
            try:
                res = h.configtest()
                self.assertNotEqual(res.returncode, 0, bad)
                self.assertIn("GoapiMaxInFlight: '%s' is not valid" % bad, res.stderr)
            finally:
                h.cleanup()
