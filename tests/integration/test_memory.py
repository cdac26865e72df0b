# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Memory no client can inflate by how it sends: under the event, worker
and prefork MPMs, N connections send in the ways a hostile or broken
client does, and the growth of the children's memory while they hold
those requests open stays within a budget.

Each way runs against two servers of the same MPM side by side: one with
mod_goapi's feature on (read deadlines, idempotency) and one with it off.
The budget is a ratio of the growth with the feature off, plus what each
request may hold by configuration (a header line, an idempotent body, a
recorded response), under an absolute ceiling.  A partial header line once
kept one 8 KB read buffer per byte received, some 26 MB for a 6 000-byte
line sent a byte per write: the ceilings are far below that."""

import socket
import threading
import time
import unittest

from harness import SANITIZE, EchoBackend, Httpd, run_threads

# a long fault run: "make faults" (tests/integration/run.py --suite faults)
SUITE = "faults"

N = 16                  # connections per way
RATIO = 2.0             # growth with the feature on against off ...
FLOOR = 2 << 20         # ... where "off" counts at least this (page noise)
CEILING = 16 << 20      # never more than this for the N connections
LINE = 6000             # the header line sent a byte per write
FIELDS = 2000           # tiny header fields per connection
BODY = 16000            # the idempotent body sent a byte per write
RESPONSE = 256 << 10    # the recorded response read back slowly
PIPELINED = 200         # requests per connection, sent in one write


def memory(httpd):
    """The children's memory, in bytes: the sum of their PSS (resident
    pages, each shared page divided among the processes that map it, so
    that a page of the ledger's map that every child reads counts once)."""
    total = 0
    for pid in httpd.children():
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return total


def connect(httpd, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect((httpd.host, httpd.port))
    return s


def trickle(socks, data):
    """data to every socket a byte per write, the sockets in turn."""
    for i in range(len(data)):
        b = data[i:i + 1]
        for s in socks:
            s.send(b)


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def mib(n):
    return "%.2f MiB" % (n / float(1 << 20))


@unittest.skipIf(SANITIZE, "the sanitizers keep freed memory in quarantine: the growth says "
                 "nothing about the module's own use there")
class MemoryBase(object):
    """One server with the features on, one with them off, same MPM."""

    MPM = "event"

    @classmethod
    def mpm_lines(cls):
        if cls.MPM == "prefork":
            # a child per connection, all there before the first measure
            n = N + 6
            return ("ServerLimit %d\nStartServers %d\nMinSpareServers %d\n"
                    "MaxSpareServers %d\nMaxRequestWorkers %d\n" % (n, n, n, n, n))
        return ("ServerLimit 2\nStartServers 2\nThreadsPerChild %d\nMinSpareThreads 1\n"
                "MaxSpareThreads %d\nMaxRequestWorkers %d\n" % (N + 8, 2 * (N + 8),
                                                                2 * (N + 8)))

    @classmethod
    def conf(cls, on):
        return cls.mpm_lines() + """
LimitRequestFields %d
LimitRequestFieldSize 16380
GoapiReadTimeout %s
GoapiReadHeaderTimeout %s
GoapiIdempotencyMaxResponse 1M
ProxyPass /api/ http://127.0.0.1:%d/
<Location /api/>
    GoapiIdempotency %s
</Location>
""" % (FIELDS + 100, "30s" if on else "0", "30s" if on else "0", cls.backend.port,
       "On" if on else "Off")

    @classmethod
    def setUpClass(cls):
        cls.backend = EchoBackend()
        cls.on = Httpd(cls.conf(True), modules=("proxy", "proxy_http"), mpm=cls.MPM,
                       loglevel="warn")
        cls.off = Httpd(cls.conf(False), modules=("proxy", "proxy_http"), mpm=cls.MPM,
                        loglevel="warn")
        try:
            cls.on.start()
            cls.off.start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        errors = []
        for h in (cls.on, cls.off):
            rc = h.stop()
            bad = h.bad_lines(0, (r"AH01102", r"AH00574", r"GOAPI00012", r"AH01382",
                                     r"AH01095", r"AH00161"))
            if bad:
                errors.append("\n".join(bad))
            if rc not in (0, None):
                errors.append("httpd exited with %r" % rc)
            h.cleanup()
        cls.backend.stop()
        if errors:
            raise AssertionError("\n".join(errors))

    # -- measuring ------------------------------------------------------------
    def warm(self, httpd):
        """Every child and thread that will serve has served once, all at
        the same time (so prefork's children each take one)."""
        def hold():
            s = connect(httpd)
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                s.recv(4096)
                time.sleep(0.3)
            finally:
                s.close()

        for _ in range(2):
            run_threads([threading.Thread(target=hold) for _ in range(N + 4)], 30)

    def growth(self, httpd, send):
        """Memory growth while N connections hold what send() sent them."""
        self.warm(httpd)
        time.sleep(0.3)
        before = memory(httpd)
        socks = [connect(httpd, rcvbuf=4096) for _ in range(N)]
        try:
            send(socks)
            time.sleep(0.8)             # the server has read what there is
            after = memory(httpd)
        finally:
            close_all(socks)
        return after - before

    def check(self, name, send, held_per_request=0):
        """Growth on within RATIO x off (at least FLOOR) plus what N requests
        may hold by configuration, and never above CEILING."""
        off = self.growth(self.off, send)
        on = self.growth(self.on, send)
        budget = RATIO * max(off, FLOOR) + N * held_per_request
        print("     %s %s, %d connections: on %s, off %s, budget %s" % (
            self.MPM, name, N, mib(on), mib(off), mib(budget)), flush=True)
        self.assertLessEqual(on, budget, "%s: memory grew %s with the feature on, %s off"
                             % (name, mib(on), mib(off)))
        self.assertLessEqual(on, CEILING, "%s: memory grew %s" % (name, mib(on)))

    # -- the ways a client sends ----------------------------------------------
    def test_header_line_byte_by_byte(self):
        def send(socks):
            for s in socks:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: ")
            trickle(socks, b"a" * LINE)

        # a partial line is at most one line: LimitRequestFieldSize, and
        # the buffer it is gathered in
        self.check("header line a byte per write", send, held_per_request=32 << 10)

    def test_thousands_of_tiny_header_fields(self):
        def send(socks):
            for s in socks:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            for i in range(FIELDS):
                line = b"X-%d: v\r\n" % i
                for s in socks:
                    s.send(line)

        self.check("%d tiny header fields" % FIELDS, send)

    def test_idempotent_body_byte_by_byte(self):
        def send(socks):
            for i, s in enumerate(socks):
                s.sendall(b"POST /api/echo HTTP/1.1\r\nHost: x\r\nIdempotency-Key: mem-%d-%f"
                          b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                          % (i, time.time(), BODY + 1))
            trickle(socks, b"b" * BODY)

        # the body is the request's to hold (GoapiIdempotencyMaxBody), in
        # buffers of 8 000 bytes
        self.check("idempotent body a byte per write", send,
                   held_per_request=BODY + (16 << 10))

    def test_recorded_response_read_slowly(self):
        key = "mem-replay-%s-%f" % (self.MPM, time.time())
        req = (b"POST /api/big/%d HTTP/1.1\r\nHost: x\r\nIdempotency-Key: %s\r\n"
               b"Content-Length: 2\r\n\r\n{}" % (RESPONSE, key.encode()))
        first = self.on.request("POST", "/api/big/%d" % RESPONSE,
                                headers={"Idempotency-Key": key}, body=b"{}")
        self.assertEqual(first.status, 200)
        self.assertEqual(len(first.body), RESPONSE)

        def send(socks):
            for s in socks:
                s.sendall(req)
            # a slow reader: a few bytes now and then
            for _ in range(5):
                for s in socks:
                    s.recv(1)
                time.sleep(0.05)

        # the recorded response is the request's to hold
        # (GoapiIdempotencyMaxResponse), read from the store into the
        # request; each child's replay cache (GoapiIdempotencyReplayCache)
        # may keep a copy too
        self.check("recorded response read slowly", send,
                   held_per_request=2 * RESPONSE + (64 << 10))
        again = self.on.request("POST", "/api/big/%d" % RESPONSE,
                                headers={"Idempotency-Key": key}, body=b"{}")
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertEqual(again.body, first.body)

    def test_pipelined_requests_unread(self):
        one = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

        def send(socks):
            for s in socks:
                s.sendall(one * PIPELINED)

        self.check("%d pipelined requests, answers unread" % PIPELINED, send)


class MemoryEvent(MemoryBase, unittest.TestCase):
    MPM = "event"


class MemoryWorker(MemoryBase, unittest.TestCase):
    MPM = "worker"


class MemoryPrefork(MemoryBase, unittest.TestCase):
    MPM = "prefork"


if __name__ == "__main__":
    unittest.main()
