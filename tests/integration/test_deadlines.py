# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Deadlines and limits against a real httpd, under the event and the
prefork MPM: slowloris, slow body, slow reader, idle keep-alive, 431, and
fast clients untouched.  Deadlines are 2 s here; each must fire within 10 %.
"""

import http.client
import os
import re
import select
import socket
import ssl
import subprocess
import threading
import time
from datetime import datetime

from harness import H2Client, HttpdTestCase, parse_raw, read_to_close, self_signed_cert

DEADLINE = 2.0
TOLERANCE = 0.10 * DEADLINE
BIG_FILE = 64 * 1024 * 1024


def log_time(line):
    """The time of an error log line written with %{u}t."""
    m = re.match(r"\[(\w{3} \w{3} +\d+ [\d:]+\.\d+ \d{4})\]", line)
    return datetime.strptime(m.group(1), "%a %b %d %H:%M:%S.%f %Y").timestamp()


class SlowSender(threading.Thread):
    """Sends data one byte at a time until done or the peer is gone."""

    def __init__(self, sock, data, interval):
        super().__init__(daemon=True)
        self.sock, self.data, self.interval = sock, data, interval

    def run(self):
        for i in range(len(self.data)):
            try:
                self.sock.send(self.data[i:i + 1])
            except OSError:
                return
            time.sleep(self.interval)


class DeadlinesEvent(HttpdTestCase):
    MPM = "event"
    CONF = """
GoapiReadTimeout 2s
GoapiWriteTimeout 2s
GoapiIdleTimeout 2s
GoapiMaxHeaderBytes 2K
<LocationMatch "^/(healthz|readyz|parcels/)">
    SetHandler goapi
</LocationMatch>
"""

    @classmethod
    def before_start(cls):
        cls.FILES = {"htdocs/big.bin": (b"\0" * BIG_FILE, 0o644)}

    def connect(self):
        s = socket.create_connection((self.httpd.host, self.httpd.port), timeout=10)
        return s

    def read_until_close(self, s, limit=15):
        """Everything the server sends, and when it closed (monotonic)."""
        chunks = []
        s.settimeout(limit)
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks), time.monotonic()

    # -- read deadlines --------------------------------------------------------
    def test_slowloris_headers_get_408_at_read_timeout(self):
        s = self.connect()
        t0 = time.monotonic()
        s.sendall(b"GET /x HTTP/1.1\r\nHost: localhost\r\n")
        SlowSender(s, b"X-Slow: " + b"a" * 100, 1.0).start()
        data, t1 = self.read_until_close(s)
        s.close()
        self.assertAlmostEqual(t1 - t0, DEADLINE, delta=TOLERANCE)
        r = parse_raw(data)
        self.assertEqual(r.status, 408)
        self.assertIDs(r)

    def test_stalled_request_line_closes_quietly(self):
        s = self.connect()
        t0 = time.monotonic()
        SlowSender(s, b"GET /healthz-and-more HTTP/1.1", 1.0).start()
        data, t1 = self.read_until_close(s)
        s.close()
        self.assertAlmostEqual(t1 - t0, DEADLINE, delta=TOLERANCE)
        self.assertEqual(data, b"")

    def test_slow_body_gets_408(self):
        s = self.connect()
        t0 = time.monotonic()
        # The write deadline (as long as the read deadline here) runs from
        # the end of the headers: end them late enough that the read
        # deadline, counted from the first byte, comes first and its 408
        # is not cut short by the other.
        s.sendall(b"POST /healthz HTTP/1.1\r\nHost: localhost\r\n")
        time.sleep(0.5)
        s.sendall(b"X-Request-ID: slow-body-1\r\nContent-Length: 100\r\n\r\n")
        SlowSender(s, b"b" * 100, 0.5).start()
        data, t1 = self.read_until_close(s)
        s.close()
        self.assertAlmostEqual(t1 - t0, DEADLINE, delta=TOLERANCE)
        r = parse_raw(data)
        self.assertEqual(r.status, 408)
        self.assertIDs(r, "slow-body-1")

    def test_kept_alive_request_counts_from_its_first_byte(self):
        # idle 1.5 s (under GoapiIdleTimeout), then a request: the read
        # deadline must not have been running while the connection waited
        conn = http.client.HTTPConnection(self.httpd.host, self.httpd.port, timeout=10)
        try:
            conn.request("GET", "/healthz")
            self.assertEqual(conn.getresponse().read(), b"ok\n")
            time.sleep(1.5)
            conn.request("GET", "/readyz")
            resp = conn.getresponse()
            self.assertEqual((resp.status, resp.read()), (200, b"ready\n"))
        finally:
            conn.close()

    # -- write deadline -----------------------------------------------------
    def test_slow_reader_cut_at_write_timeout(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((self.httpd.host, self.httpd.port))
        t_sent = time.time()
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n"
                  b"X-Request-ID: slow-reader-1\r\n\r\n")
        # read one byte a second for a while: far too slow for 64 MiB
        deadline = time.monotonic() + DEADLINE + 3
        got = 0
        while time.monotonic() < deadline:
            try:
                s.settimeout(1)
                b = s.recv(1)
            except socket.timeout:
                continue
            except ConnectionResetError:
                break
            if not b:
                break
            got += 1
            time.sleep(1.0)
        lines = [l for l in self.httpd.read(self.httpd.error_log, self._offset).splitlines()
                 if "GOAPI00013" in l]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("write deadline of 2s passed for request slow-reader-1", lines[0])
        self.assertAlmostEqual(log_time(lines[0]) - t_sent, DEADLINE, delta=TOLERANCE)
        # the connection is shut down: the client reaches its end quickly
        s.settimeout(10)
        t0 = time.monotonic()
        try:
            while s.recv(1 << 20):
                pass
        except ConnectionResetError:
            pass
        self.assertLess(time.monotonic() - t0, 5)
        s.close()

    def test_upgrade_request_has_no_write_deadline(self):
        # a request asking to switch protocols (WebSocket, h2c) may become a
        # long-lived tunnel: the write deadline is not armed for it
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((self.httpd.host, self.httpd.port))
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n"
                  b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
                  b"X-Request-ID: upgrade-1\r\n\r\n")
        s.settimeout(5)
        self.assertTrue(s.recv(1))
        time.sleep(DEADLINE + 1.0)
        log = self.httpd.read(self.httpd.error_log, self._offset)
        self.assertNotIn("GOAPI00013", log)
        # still flowing
        self.assertTrue(s.recv(65536))
        s.close()

    def test_fast_download_unaffected(self):
        # 64 MiB read at full speed on loopback: well inside 2 s
        r = self.get("/big.bin", timeout=20)
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.body), BIG_FILE)
        self.assertNotIn("GOAPI00013", self.httpd.read(self.httpd.error_log, self._offset))

    # -- idle -----------------------------------------------------------------
    def test_idle_keepalive_closed_at_idle_timeout(self):
        s = self.connect()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        s.settimeout(5)
        data = b""
        while not data.endswith(b"\r\n\r\nok\n"):
            b = s.recv(4096)
            self.assertTrue(b, "closed before the answer: %r" % data)
            data += b
        t0 = time.monotonic()
        rest, t1 = self.read_until_close(s)
        s.close()
        self.assertEqual(rest, b"")
        self.assertAlmostEqual(t1 - t0, DEADLINE, delta=TOLERANCE)

    # -- header size --------------------------------------------------------------
    def test_header_bytes_431(self):
        r = self.get("/healthz", {"X-Pad": "p" * 1500})
        self.assertEqual(r.status, 200)
        r = self.get("/healthz", {"X-Request-ID": "big-head-1", "X-Pad": "p" * 2100})
        self.assertEqual(r.status, 431)
        self.assertIDs(r, "big-head-1")
        # many small fields add up too
        r = self.get("/healthz", {"X-F%d" % i: "v" * 40 for i in range(60)})
        self.assertEqual(r.status, 431)

    # -- fast clients ---------------------------------------------------------------
    def test_fast_clients_unaffected(self):
        def request(i):
            if i % 2:
                return "POST", "/healthz", b"x" * 1000
            return "GET", "/parcels/p%d" % i, None

        responses, errors = self.httpd.keepalive_clients(6, 50, request)
        self.assertEqual(errors, [])
        self.assertEqual(len(responses), 300)
        self.assertEqual({status for status, _ in responses}, {200, 405})
        log = self.httpd.read(self.httpd.error_log, self._offset)
        self.assertNotIn("GOAPI00012", log)
        self.assertNotIn("GOAPI00013", log)


class DeadlinesPrefork(DeadlinesEvent):
    MPM = "prefork"


class Http2Test(HttpdTestCase):
    """h2c (prior knowledge) through the deadline filters."""

    MODULES = ("http2",)
    CONF = """
Protocols h2c http/1.1
GoapiReadTimeout 2s
GoapiWriteTimeout 2s
GoapiIdleTimeout 2s
<Location "/">
    SetHandler goapi
</Location>
"""

    def test_h2c_requests_carry_ids(self):
        # one curl per request: this curl and mod_http2 do not agree on a
        # second stream over h2c prior knowledge, mod_goapi loaded or not
        base = "http://%s:%d" % (self.httpd.host, self.httpd.port)
        for path, body in (("/healthz", "ok\n"), ("/parcels/h2", "parcel lookup accepted for h2\n")):
            res = subprocess.run(["curl", "-sS", "-i", "--http2-prior-knowledge",
                                  "-H", "X-Request-ID: h2-req-1", base + path],
                                 capture_output=True, timeout=30)
            self.assertEqual(res.returncode, 0, res.stderr)
            out = res.stdout.decode()
            self.assertTrue(out.startswith("HTTP/2 200"), out)
            self.assertIn("\r\nx-request-id: h2-req-1\r\n", out)
            self.assertIn("\r\nx-correlation-id: h2-req-1\r\n", out)
            self.assertTrue(out.endswith("\r\n\r\n" + body), out)

    def test_h2c_connection_outlives_read_deadline(self):
        # streams on one h2 connection over 3 s, longer than GoapiReadTimeout
        # (2 s), with pauses shorter than GoapiIdleTimeout: the HTTP/1 read
        # deadline must not cut the connection
        h2 = H2Client(self.httpd.host, self.httpd.port)
        try:
            for i in range(3):
                status, body = h2.get("/healthz", {"X-Request-ID": "h2-stream-%d" % i})
                self.assertFalse(h2.goaway, "GOAWAY on stream %d" % i)
                self.assertEqual((status, body), (0x88, b"ok\n"))
                if i < 2:
                    time.sleep(1.5)
        finally:
            h2.close()
        self.httpd.access_lines()
        log = self.httpd.read(self.httpd.access_log)
        for i in range(3):
            self.assertIn("request_id=h2-stream-%d " % i, log)


class DeadlinesTLS(HttpdTestCase):
    """HTTPS through mod_ssl, with mod_reqtimeout loaded as on Debian: the
    deadlines and the header limit see the decrypted request."""

    MODULES = ("ssl", "reqtimeout")
    CONF = """
SSLEngine on
SSLCertificateFile @DIR@/conf/cert.pem
SSLCertificateKeyFile @DIR@/conf/key.pem
RequestReadTimeout header=20-40,MinRate=500 body=20,MinRate=500
GoapiReadTimeout 2s
GoapiWriteTimeout 2s
GoapiIdleTimeout 2s
GoapiMaxHeaderBytes 2K
"""

    @classmethod
    def before_start(cls):
        cls.FILES = self_signed_cert()

    def tls(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection((self.httpd.host, self.httpd.port), timeout=10)
        return ctx.wrap_socket(raw, server_hostname="localhost")

    def trickle(self, s, head, data, interval, limit=15):
        """Send head, then data a byte at a time, reading in between (one
        thread: a TLS socket is not shared across threads).  Returns what
        the server sent and how long after head it closed."""
        t0 = time.monotonic()
        s.sendall(head)
        got, i = b"", 0
        s.setblocking(False)
        while time.monotonic() - t0 < limit:
            if i < len(data):
                try:
                    s.send(data[i:i + 1])
                    i += 1
                except (ssl.SSLWantWriteError, OSError):
                    pass
            select.select([s], [], [], interval)
            try:
                b = s.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except OSError:
                break
            if not b:
                break
            got += b
        return got, time.monotonic() - t0

    def test_https_request(self):
        s = self.tls()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                  b"X-Request-ID: tls-1\r\n\r\n")
        data = read_to_close(s)
        s.close()
        r = parse_raw(data)
        self.assertEqual((r.status, r.body), (200, b"ok\n"))
        self.assertIDs(r, "tls-1")

    def test_slowloris_over_tls(self):
        s = self.tls()
        data, took = self.trickle(s, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n",
                                  b"X-Slow: " + b"a" * 100, 1.0)
        s.close()
        self.assertAlmostEqual(took, DEADLINE, delta=TOLERANCE + 0.1)
        r = parse_raw(data)
        self.assertEqual(r.status, 408)
        self.assertIDs(r)

    def test_header_bytes_over_tls(self):
        s = self.tls()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                  b"X-Pad: " + b"p" * 2100 + b"\r\n\r\n")
        data = read_to_close(s)
        s.close()
        r = parse_raw(data)
        self.assertEqual(r.status, 431)
        self.assertIDs(r)
