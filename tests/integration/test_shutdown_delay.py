# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""GoapiShutdownDelay against a real httpd under the event, worker and
prefork MPMs: after the graceful stop's signal /readyz fails at once
("shutting down"), requests are still served for the delay, each with
"Connection: close" (a kept-alive connection is closed after its next
answer), then the graceful stop ends within delay + window + 0.3 s.  A
second SIGTERM stops at once; SIGWINCH (apachectl graceful-stop) has the
delay too; a graceful restart does not.  HTTP/2 (h2c) connections get a
graceful GOAWAY at their next turn during the delay."""

import http.client
import signal
import socket
import threading
import time
import unittest

from harness import H2Client, Httpd, parse_raw

DELAY = 1.5
WINDOW = 3.0                    # GoapiShutdownTimeout of conf/goapi.conf
CONF = """GoapiShutdownDelay 1500ms
<Location "/parcels/">
    SetHandler goapi
</Location>
"""


def ask(sock, path):
    """One HTTP/1.1 request on an open connection; the response, and
    whether the server closed the connection after it."""
    sock.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path).encode())
    data = b""
    deadline = time.monotonic() + 5
    while b"\r\n\r\n" not in data and time.monotonic() < deadline:
        data += sock.recv(65536)
    r = parse_raw(data)
    want = int(r.header("Content-Length") or 0)
    while len(r.body) < want and time.monotonic() < deadline:
        data += sock.recv(65536)
        r = parse_raw(data)
    sock.settimeout(0.5)
    try:
        closed = sock.recv(1) == b""
    except socket.timeout:
        closed = False
    sock.settimeout(5)
    return r, closed


class ShutdownDelayTest(unittest.TestCase):
    MPM = "event"

    def setUp(self):
        self.httpd = Httpd(CONF, mpm=self.MPM).start()

    def tearDown(self):
        self.httpd.cleanup()

    def connect(self):
        return socket.create_connection((self.httpd.host, self.httpd.port), timeout=5)

    def get(self, path):
        return self.httpd.request("GET", path)

    def assertCleanLog(self, allowed=()):
        self.assertEqual(self.httpd.bad_lines(0, allowed), [])

    def test_delay_then_graceful_stop(self):
        kept = self.connect()
        r, closed = ask(kept, "/healthz")
        self.assertEqual((r.status, closed), (200, False))
        self.assertIsNone(r.header("Connection"))

        t0 = time.monotonic()
        self.httpd.send_signal(signal.SIGTERM)
        r = None
        for _ in range(200):                    # bounded: at most ~1 s
            r = self.get("/readyz")
            if r.status == 503:
                break
            time.sleep(0.005)
        failed_at = time.monotonic() - t0
        self.assertEqual((r.status, r.text), (503, "shutting down\n"))
        self.assertLess(failed_at, 0.1)
        self.assertIn("[-]drain failed: shutting down\n", self.get("/readyz?verbose").text)
        self.assertEqual(r.header("Connection"), "close")

        # the kept-alive connection: answered, then closed
        r, closed = ask(kept, "/healthz")
        self.assertEqual((r.status, r.text, r.header("Connection")), (200, "ok\n", "close"))
        self.assertTrue(closed)
        kept.close()

        # still served late in the delay, each answer closing its connection
        time.sleep(max(0.0, t0 + DELAY - 0.4 - time.monotonic()))
        r = self.get("/parcels/p-1")
        self.assertLess(time.monotonic() - t0, DELAY)
        self.assertEqual((r.status, r.header("Connection")), (200, "close"))
        self.assertEqual(self.get("/livez").status, 200)          # alive all the while

        rc = self.httpd.proc.wait(DELAY + WINDOW + 5)
        took = time.monotonic() - t0
        self.assertEqual(rc, 0)
        self.assertGreaterEqual(took, DELAY)
        self.assertLess(took, DELAY + WINDOW + 0.3)
        self.assertCleanLog()

    def test_late_load_balancer_loses_no_request(self):
        """Kept-alive clients load the server; the stop signal comes; the
        load balancer (here: the clients) learns of it 1 s later and only
        then stops sending.  Every request is answered 200."""
        results, stop = [], threading.Event()

        def client():
            conn = http.client.HTTPConnection(self.httpd.host, self.httpd.port, timeout=5)
            for _ in range(20000):                      # bounded
                if stop.is_set():
                    break
                try:
                    conn.request("GET", "/parcels/p-1")
                    r = conn.getresponse()
                    r.read()
                    results.append(r.status)
                    if r.getheader("Connection") == "close":
                        conn.close()                    # reconnects on the next
                except (OSError, http.client.HTTPException) as e:
                    results.append(repr(e))
                    conn.close()
            conn.close()

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        self.httpd.send_signal(signal.SIGTERM)
        time.sleep(max(0.0, t0 + 1.0 - time.monotonic()))
        stop.set()                                      # the endpoints changed
        for t in threads:
            t.join(10)
        before = len(results)
        self.assertGreater(before, 50)
        self.assertEqual([r for r in results if r != 200], [])
        self.assertEqual(self.httpd.proc.wait(DELAY + WINDOW + 5), 0)
        # prefork's 8 processes, each closing its connection after every
        # answer of the delay, can all be busy at once: a capacity note
        self.assertCleanLog((r"AH00161: server reached MaxRequestWorkers",))

    def test_second_sigterm_stops_at_once(self):
        t0 = time.monotonic()
        self.httpd.send_signal(signal.SIGTERM)
        self.assertTrue(self._wait_status("/readyz", 503))
        time.sleep(0.2)
        self.httpd.send_signal(signal.SIGTERM)
        self.httpd.proc.wait(10)
        self.assertLess(time.monotonic() - t0, DELAY)

    def test_graceful_restart_has_no_delay(self):
        self.httpd.send_signal(signal.SIGUSR1)
        seen = set()
        t0 = time.monotonic()
        # at least 1 s, and until the new generation answers (bounded: 10 s)
        while time.monotonic() < t0 + 10 and (time.monotonic() < t0 + 1.0
                                               or (200, "ready\n") not in seen):
            try:
                seen.add((lambda r: (r.status, r.text))(self.get("/readyz")))
            except OSError:
                pass                                    # a listener being replaced
            time.sleep(0.02)
        self.assertNotIn((503, "shutting down\n"), seen)
        self.assertIn((200, "ready\n"), seen)
        r = self.get("/healthz")
        self.assertEqual((r.status, r.header("Connection")), (200, None))

    def _wait_status(self, path, status):
        for _ in range(200):
            if self.get(path).status == status:
                return True
            time.sleep(0.005)
        return False


class ShutdownDelayWorkerTest(ShutdownDelayTest):
    MPM = "worker"


class ShutdownDelayPreforkTest(ShutdownDelayTest):
    MPM = "prefork"


class ShutdownDelayHttp2Test(unittest.TestCase):
    """HTTP/2 (h2c) connections get a graceful GOAWAY during the delay,
    while new connections are still served."""
    MPM = "event"

    def test_goaway(self):
        httpd = Httpd("Protocols h2c http/1.1\n" + CONF, modules=("http2",),
                      mpm=self.MPM).start()
        try:
            h2 = H2Client(httpd.host, httpd.port)
            self.assertEqual(h2.get("/healthz"), (0x88, b"ok\n"))
            self.assertIsNone(h2.goaway)
            t0 = time.monotonic()
            httpd.send_signal(signal.SIGTERM)
            r = None
            for _ in range(200):                    # bounded: at most ~1 s
                r = httpd.request("GET", "/readyz")
                if r.status == 503:
                    break
                time.sleep(0.005)
            self.assertEqual((r.status, r.text), (503, "shutting down\n"))
            # the open connection's next turn: mod_http2's shutdown notice
            # (GOAWAY, last stream 2^31-1, NO_ERROR); the request that woke
            # it is answered, or left unprocessed: refused (REFUSED_STREAM)
            # or above the last stream id of the final GOAWAY, which RFC
            # 9113 (8.7, 6.8) makes safe to retry on a new connection
            status, body = h2.get("/parcels/p-1")
            self.assertIsNotNone(h2.goaway, "no GOAWAY during the delay")
            self.assertEqual(h2.goaways[0], (0x7fffffff, 0), (status, h2.goaways, h2.reset))
            if status is None:
                self.assertTrue(h2.reset.get(3) == 7 or h2.goaways[-1][0] < 3,
                                (h2.goaways, h2.reset))
            else:
                self.assertEqual((status, body), (0x88, b"parcel lookup accepted for p-1\n"))
            h2.close()
            # a client's new connection is still served within the delay
            again = H2Client(httpd.host, httpd.port)
            self.assertEqual(again.get("/parcels/p-2"),
                             (0x88, b"parcel lookup accepted for p-2\n"))
            again.close()
            self.assertLess(time.monotonic() - t0, DELAY)
            rc = httpd.proc.wait(DELAY + WINDOW + 5)
            self.assertEqual(rc, 0)
            self.assertLess(time.monotonic() - t0, DELAY + WINDOW + 0.3)
            self.assertEqual(httpd.bad_lines(0, ()), [])
        finally:
            httpd.cleanup()


class ShutdownDelayHttp2WorkerTest(ShutdownDelayHttp2Test):
    MPM = "worker"


class ShutdownDelayHttp2PreforkTest(ShutdownDelayHttp2Test):
    MPM = "prefork"


class ShutdownDelayWinchTest(unittest.TestCase):
    """apachectl graceful-stop (SIGWINCH) announces the stop as well."""

    def test_sigwinch(self):
        httpd = Httpd(CONF).start()
        try:
            t0 = time.monotonic()
            httpd.send_signal(signal.SIGWINCH)
            r = None
            for _ in range(200):
                r = httpd.request("GET", "/readyz")
                if r.status == 503:
                    break
                time.sleep(0.005)
            self.assertEqual((r.status, r.text), (503, "shutting down\n"))
            self.assertLess(time.monotonic() - t0, 0.1)
            rc = httpd.proc.wait(DELAY + WINDOW + 5)
            took = time.monotonic() - t0
            self.assertEqual(rc, 0)
            self.assertGreaterEqual(took, DELAY)
            self.assertLess(took, DELAY + WINDOW + 0.3)
            self.assertEqual(httpd.bad_lines(0), [])
        finally:
            httpd.cleanup()


class ShutdownDelayConfigTest(unittest.TestCase):
    """Refused values, and the main server only."""

    def configtest(self, body):
        h = Httpd(body)
        try:
            return h.configtest()
        finally:
            h.cleanup()

    def test_refused(self):
        res = self.configtest("GoapiShutdownDelay soon\n")
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("GoapiShutdownDelay: 'soon' is not valid", res.stderr)
        res = self.configtest("<VirtualHost 127.0.0.1:@PORT@>\n GoapiShutdownDelay 5s\n"
                              "</VirtualHost>\n")
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("GoapiShutdownDelay cannot occur within <VirtualHost> section",
                      res.stderr)
        self.assertEqual(self.configtest("GoapiShutdownDelay 0\n").returncode, 0)
