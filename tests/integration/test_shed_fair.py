# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Fair shedding against a real httpd and a backend that takes its time
(event and prefork): GoapiMaxInFlightPer keeps one tenant's flood from
starving another under the same GoapiMaxInFlight, per header value and
per client address; partitions keep their share under a flood from
another; a queue serves in turn or sheds after its time; GoapiShedStatus 429; GoapiShedDryRun serves what it would shed
and says so; bad values refused."""

import json
import re
import socket
import threading
import time
import unittest

from harness import BackendTestCase, configtest_of, run_threads

PROBLEM = "application/problem+json"


class FairShedEvent(BackendTestCase):
    MPM = "event"
    MPM_LINES = "ServerLimit 4\nThreadsPerChild 16\nMaxRequestWorkers 64\n"

    @classmethod
    def before_start(cls):
        super().before_start()
        # room in the backend's accept queue for a flood of 33 at once
        cls.backend.server.socket.listen(128)

    @classmethod
    def conf_body(cls):
        return cls.MPM_LINES + """
GoapiWriteTimeout 5s
ProxyPass "/t/" "http://127.0.0.1:@BACKEND@/"
ProxyPass "/ip/" "http://127.0.0.1:@BACKEND@/"
ProxyPass "/dry/" "http://127.0.0.1:@BACKEND@/"
<Location "/t/">
    GoapiMaxInFlight 10
    GoapiMaxInFlightPer header:X-Tenant 4
    GoapiShedStatus 429
</Location>
<Location "/ip/">
    GoapiMaxInFlightPer ip 2
</Location>
<Location "/dry/">
    GoapiMaxInFlight 2
    GoapiShedDryRun On
    GoapiMetricsRoute dry
</Location>
ProxyPass "/q/" "http://127.0.0.1:@BACKEND@/"
<Location "/q/">
    GoapiMaxInFlight 2
    GoapiShedQueue 3 2s
</Location>
ProxyPass "/qt/" "http://127.0.0.1:@BACKEND@/"
<Location "/qt/">
    GoapiMaxInFlight 2
    GoapiShedQueue 3 300ms
</Location>
ProxyPass "/qg/" "http://127.0.0.1:@BACKEND@/"
<Location "/qg/">
    GoapiMaxInFlight 1
    GoapiShedQueue 1 5s
</Location>
ProxyPass "/p/" "http://127.0.0.1:@BACKEND@/"
<Location "/p/">
    GoapiMaxInFlight 10
    GoapiMaxInFlightPartition live 70% header:X-Class=live
    GoapiMaxInFlightPartition batch 30% header:X-Class=batch
</Location>
""".replace("@BACKEND@", str(cls.backend.port))

    def fire(self, requests):
        """[(path, headers)] all at once: their answers, in order."""
        out = [None] * len(requests)

        def one(i, path, headers):
            try:
                out[i] = self.httpd.request("GET", path, headers=headers, timeout=15)
            except OSError:
                out[i] = None

        run_threads([threading.Thread(target=one, args=(i, p, h))
                     for i, (p, h) in enumerate(requests)], 30)
        return out

    def runs(self, path):
        return sum(1 for q in self.backend.requests if q["path"] == path)

    def tenant_runs(self, tenant, round_):
        with self.backend.lock:
            return sum(1 for q in self.backend.requests
                       if ["X-Tenant", tenant] in q["headers"]
                       and ["X-Round", str(round_)] in q["headers"])

    def test_flooding_tenant_does_not_starve_another(self):
        b_ok = b_sent = 0
        for round_ in range(3):
            flood = [("/t/sleep/0.6", {"X-Tenant": "A", "X-Round": str(round_)})] * 30
            calm = [("/t/sleep/0.6", {"X-Tenant": "B", "X-Round": str(round_)})] * 3
            answers = self.fire(flood + calm)
            a, b = answers[:30], answers[30:]
            b_sent += len(b)
            b_ok += sum(1 for r in b if r is not None and r.status == 200)
            a_ok = [r for r in a if r is not None and r.status == 200]
            a_shed = [r for r in a if r is not None and r.status == 429]
            # tenant A: its four places, the rest 429
            self.assertLessEqual(len(a_ok), 4)
            self.assertGreaterEqual(len(a_shed), 26)
            self.assertEqual(self.tenant_runs("A", round_), len(a_ok))
            r = a_shed[0]
            self.assertEqual(r.header("Content-Type"), PROBLEM)
            doc = json.loads(r.body)
            self.assertEqual((doc["status"], doc["type"]), (429, "urn:goapi:problem:overloaded"))
            self.assertIn("GoapiMaxInFlightPer", doc["detail"])
            self.assertTrue(r.header("Retry-After"))
        # tenant B, under its share, is never turned away
        self.assertGreaterEqual(b_ok, 0.95 * b_sent)
        self.assertEqual(b_ok, b_sent)

    def test_partitions_keep_their_share(self):
        results = {}

        def flood():
            results["batch"] = self.fire([("/p/sleep/1.2", {"X-Class": "batch"})] * 30)

        t = threading.Thread(target=flood)
        t.start()
        time.sleep(0.4)                 # batch holds its 3 and the 7 idle places
        live = self.fire([("/p/sleep/0.2", {"X-Class": "live"})] * 6)
        t.join(30)
        # live's guaranteed 7 places are there for it although batch
        # borrowed every idle one
        self.assertEqual([r.status for r in live], [200] * 6)
        batch = [r.status for r in results["batch"]]
        self.assertEqual(batch.count(200), 10)
        self.assertEqual(batch.count(503), 20)

    def test_queue_waits_then_serves(self):
        t0 = time.monotonic()
        answers = self.fire([("/q/sleep/0.4", None)] * 5)
        # 2 run, 3 wait for their places: all served, the last after two turns
        self.assertEqual([r.status for r in answers], [200] * 5)
        self.assertGreater(time.monotonic() - t0, 0.75)
        # beyond the queue's 3: shed at once
        answers = self.fire([("/q/sleep/0.4", None)] * 7)
        statuses = sorted(r.status for r in answers)
        self.assertEqual(statuses, [200] * 5 + [503] * 2)

    def test_queue_timeout(self):
        waited = []

        def timed():
            t0 = time.monotonic()
            r = self.httpd.request("GET", "/qt/sleep/0", timeout=15)
            waited.append((r.status, time.monotonic() - t0))

        hold = threading.Thread(target=lambda: self.fire([("/qt/sleep/1.2", None)] * 2))
        hold.start()
        time.sleep(0.3)
        run_threads([threading.Thread(target=timed) for _ in range(3)], 10)
        hold.join(10)
        self.assertEqual(sorted(s for s, _ in waited), [503] * 3)
        for _, took in waited:
            self.assertGreaterEqual(took, 0.28)
            self.assertLess(took, 0.9)

    def test_client_that_leaves_the_queue_frees_its_place(self):
        hold = threading.Thread(target=lambda: self.httpd.request("GET", "/qg/sleep/1.5"))
        hold.start()
        time.sleep(0.3)
        # the one place in the queue, taken by a client that then leaves
        s = socket.create_connection((self.httpd.host, self.httpd.port), timeout=5)
        s.sendall(b"GET /qg/sleep/0 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        s.close()
        time.sleep(0.3)
        # its place in the queue is free again: the next waits and is served
        t0 = time.monotonic()
        r = self.httpd.request("GET", "/qg/sleep/0", timeout=10)
        self.assertEqual(r.status, 200)
        self.assertGreater(time.monotonic() - t0, 0.2)
        hold.join(10)

    def test_per_client_address(self):
        answers = self.fire([("/ip/sleep/0.6", None)] * 3)
        statuses = sorted(r.status for r in answers)
        self.assertEqual(statuses, [200, 200, 503])
        shed = [r for r in answers if r.status == 503][0]
        self.assertIn("this client", json.loads(shed.body)["detail"])
        # its places come back with its requests
        self.assertEqual(self.httpd.request("GET", "/ip/sleep/0").status, 200)

    def dry_runs(self):
        m = re.search(r'(?m)^goapi_shed_total\{route="dry",dry_run="true"\} (\d+)$',
                      self.httpd.request("GET", "/metrics").text)
        return int(m.group(1)) if m else 0

    def test_dry_run_serves_and_says_so(self):
        before, runs = self.dry_runs(), self.runs("/sleep/0.6")
        answers = self.fire([("/dry/sleep/0.6", None)] * 5)
        self.assertEqual([r.status for r in answers], [200] * 5)
        self.assertEqual(self.runs("/sleep/0.6") - runs, 5)
        # the three it would have shed are counted as such
        self.assertEqual(self.dry_runs() - before, 3)


class FairShedPrefork(FairShedEvent):
    MPM = "prefork"
    MPM_LINES = ("ServerLimit 48\nStartServers 40\nMinSpareServers 40\n"
                 "MaxSpareServers 48\nMaxRequestWorkers 48\n")


class DryRunLogTest(BackendTestCase):
    """The line a dry run logs (once per 10 s per child: a server of its own)."""

    CONF = """
ProxyPass "/dry/" "http://127.0.0.1:@BACKEND@/"
<Location "/dry/">
    GoapiMaxInFlight 1
    GoapiShedDryRun On
</Location>
"""

    def test_logged_as_served(self):
        out = []
        run_threads([threading.Thread(target=lambda: out.append(
            self.httpd.request("GET", "/dry/sleep/0.5"))) for _ in range(3)], 15)
        self.assertEqual([r.status for r in out], [200] * 3)
        self.assertRegex(self.httpd.read(self.httpd.error_log, self._offset),
                         r"GOAPI00073: GoapiMaxInFlight reached, 1 at once: /dry/sleep/0.5 "
                         r"would be shed \(GoapiShedDryRun On: served\)")


class FairShedDirectivesTest(unittest.TestCase):
    """Bad values are refused by apache2 -t, each saying what is expected."""

    def test_bad_values(self):
        for line, expect in (
                ("GoapiMaxInFlightPer cookie 3", "expected ip"),
                ("GoapiMaxInFlightPer header: 3", "expected ip"),
                ("GoapiMaxInFlightPer header:X(y) 3", "expected ip"),
                ("GoapiMaxInFlightPer ip many", "expected a number of requests per key"),
                ("GoapiMaxInFlightPer ip -1", "expected a number of requests per key"),
                ("GoapiMaxInFlightPer ip 3 slots=4", "expected slots=N"),
                ("GoapiMaxInFlightPer ip 3 slots=5000", "expected slots=N"),
                ("GoapiMaxInFlightPer ip 3 size=64", "expected slots=N"),
                ("GoapiShedStatus 500", "expected 503"),
                ("<Location /a/>\nGoapiMaxInFlightPartition x 10% env=X\n</Location>",
                 "must come before it"),
                ("GoapiMaxInFlight 10\nGoapiMaxInFlightPartition x 10 env=X", "such as 30%"),
                ("GoapiMaxInFlight 10\nGoapiMaxInFlightPartition x 100% env=X",
                 "from 1% to 99%"),
                ("GoapiMaxInFlight 10\nGoapiMaxInFlightPartition x 60% env=X\n"
                 "GoapiMaxInFlightPartition y 50% env=Y", "more than the whole limit"),
                ("GoapiMaxInFlight 10\nGoapiMaxInFlightPartition x 10% cookie=1",
                 "expected header:<Name>=<value> or env="),
                ("GoapiShedQueue 3 1s", "must come before it"),
                ("GoapiMaxInFlight 10\nGoapiShedQueue 0 1s", "how many requests may wait"),
                ("GoapiMaxInFlight 10\nGoapiShedQueue 3 2m", "how long a request may wait"),
                ("GoapiMaxInFlight 10\nGoapiShedQueue 3 1s\n"
                 "GoapiMaxInFlightPartition x 10% env=X", "has no partitions"),
                ("GoapiShedDryRun maybe", "GoapiShedDryRun")):
            with self.subTest(line=line):
                rc, text = configtest_of(line + "\n")
                self.assertNotEqual(rc, 0, line)
                self.assertIn(expect, text)
        rc, text = configtest_of("GoapiMaxInFlightPer user 5 slots=64\nGoapiShedStatus 429\n"
                                 "GoapiShedDryRun On\n<Location /x/>\n"
                                 " GoapiMaxInFlightPer header:X-Tenant 0\n</Location>\n")
        self.assertEqual(rc, 0, text)
