# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""The adaptive limit's back-off against a real httpd (event and prefork):
a backend that starts answering 500 makes GoapiMaxInFlight auto fall to
min, window after window, by its back-off factor, as its telemetry in
/metrics shows; when the backend answers 200 again the limit climbs back,
its unloaded latency untouched by the failures.  Then the backend stalls
beyond ProxyPass' timeout (a 502 from mod_proxy): the limit drops again,
and recovers."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

from harness import HttpdTestCase, free_port, wait_for_port

CAPACITY_BACKEND = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "capacity_backend.py")
SERVICE = 0.05                          # the backend's latency, s
CLIENTS = 12

CONF = """
ProxyPass "/auto/" "http://127.0.0.1:@BACKEND@/" retry=0 timeout=1
<Location "/auto/">
    GoapiMaxInFlight auto min=2 max=32 start=16 backoff=0.9
</Location>
"""


class AutoBackoffTest(HttpdTestCase):
    MODULES = ("proxy", "proxy_http")
    MPM = "event"
    CONF = CONF

    @classmethod
    def before_start(cls):
        cls.backend_port = free_port()
        cls.backend_proc = subprocess.Popen(
            [sys.executable, CAPACITY_BACKEND, str(cls.backend_port), str(SERVICE), "64"],
            stdout=subprocess.DEVNULL, start_new_session=True)
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
            body += ("ServerLimit 32\nMaxRequestWorkers 32\nStartServers 20\n"
                     "MinSpareServers 20\nMaxSpareServers 32\n")
        else:
            body += "ServerLimit 4\nMaxRequestWorkers 64\nStartServers 2\n"
        return body

    def set_backend(self, path):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.backend_port, timeout=5)
        try:
            c.request("GET", path)
            self.assertEqual(c.getresponse().status, 200)
        finally:
            c.close()

    def telemetry(self):
        """The scope's limit, gradient, unloaded and sampled latency (s)."""
        text = self.httpd.request("GET", "/metrics").text
        out = {}
        for key, name in (("limit", "goapi_max_in_flight_limit"),
                          ("gradient", "goapi_max_in_flight_gradient"),
                          ("unloaded", "goapi_max_in_flight_unloaded_latency_seconds"),
                          ("sampled", "goapi_max_in_flight_sampled_latency_seconds")):
            m = re.search(r'(?m)^%s\{scope="/auto/"\} ([0-9.]+)$' % name, text)
            self.assertIsNotNone(m, (name, text[-2000:]))
            out[key] = float(m.group(1))
        return out

    def wait_for(self, pred, seconds):
        """Telemetry read every 0.25 s until pred holds (at most seconds);
        the last reading."""
        deadline = time.monotonic() + seconds
        t = self.telemetry()
        while not pred(t) and time.monotonic() < deadline:
            time.sleep(0.25)
            t = self.telemetry()
        return t

    def test_backoff_and_recovery(self):
        # a 504's lines from mod_proxy
        self.allowed_errors += [r"AH01102", r"AH00898", r"AH01097", r"AH00957",
                                r"AH01084", r"AH01110"]
        if self.MPM == "prefork":
            self.allowed_errors.append(r"AH00161: server reached MaxRequestWorkers")
        stop = threading.Event()
        statuses, lock = [], threading.Lock()

        def client():
            for _ in range(100000):     # bounded; stops with the test
                if stop.is_set():
                    return
                try:
                    st = self.httpd.request("GET", "/auto/work", timeout=10).status
                except OSError:
                    st = None
                with lock:
                    statuses.append(st)
                if st != 200:
                    time.sleep(0.05)

        self.set_backend("/fail/0")
        self.set_backend("/stall/0")
        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        try:
            time.sleep(3)
            before = self.telemetry()
            sys.stderr.write("    [%s] served: %s\n" % (self.MPM, before))
            self.assertGreaterEqual(before["limit"], CLIENTS)
            self.assertGreater(before["unloaded"], SERVICE * 0.8)
            self.assertLess(before["unloaded"], SERVICE * 2)
            self.assertGreater(before["sampled"], SERVICE * 0.8)

            # every answer a 500: the limit backs off to min
            self.set_backend("/fail/500")
            failing = self.wait_for(lambda t: t["limit"] <= 2, 8)
            sys.stderr.write("    [%s] 500s: %s\n" % (self.MPM, failing))
            self.assertLessEqual(failing["limit"], 2)
            self.assertAlmostEqual(failing["gradient"], 0.9, places=3)

            # 200 again: it climbs back, its unloaded latency as it was
            self.set_backend("/fail/0")
            back = self.wait_for(lambda t: t["limit"] >= CLIENTS, 8)
            sys.stderr.write("    [%s] back: %s\n" % (self.MPM, back))
            self.assertGreaterEqual(back["limit"], CLIENTS)
            self.assertGreater(back["gradient"], 1.0)
            self.assertLess(back["unloaded"], SERVICE * 2)

            # the backend stalls past ProxyPass' timeout (mod_proxy's 502):
            # down again, by a tenth each window of about a second (10
            # requests ended)
            time.sleep(1)
            high = self.telemetry()["limit"]
            self.set_backend("/stall/1500")
            stalled = self.wait_for(lambda t: t["limit"] <= high * 0.7, 15)
            sys.stderr.write("    [%s] timeouts: %s from %d\n" % (self.MPM, stalled, high))
            self.assertLessEqual(stalled["limit"], high * 0.7)
            self.assertAlmostEqual(stalled["gradient"], 0.9, places=3)
            self.set_backend("/stall/0")
            again = self.wait_for(lambda t: t["limit"] >= CLIENTS, 10)
            self.assertGreaterEqual(again["limit"], CLIENTS)
        finally:
            stop.set()
            self.set_backend("/fail/0")
            self.set_backend("/stall/0")
            for t in threads:
                t.join(20)
        self.assertFalse(any(t.is_alive() for t in threads))
        self.assertIn(500, statuses)
        self.assertTrue(502 in statuses or 504 in statuses)
        self.assertIn(200, statuses)


class AutoBackoffPreforkTest(AutoBackoffTest):
    """The same, the limit kept in shared memory by every process."""
    MPM = "prefork"
