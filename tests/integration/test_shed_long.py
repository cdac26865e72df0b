# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""The long runs of load shedding (make faults), under event and prefork:

- a steady load below the backend's capacity for 2 minutes under
  GoapiMaxInFlight auto sheds nothing: the limit is never pinned to min to
  measure its unloaded latency (no periodic burst of 503s);
- 100 000 distinct X-Tenant values, sent by 48 kept-alive connections at
  once (so that many keys are in flight together) under
  GoapiMaxInFlightPer header:X-Tenant 2 slots=8: the table of keys is
  full, the overflow is counted in /metrics and logged once per 10 s per
  child, every request is served, the children's memory stays where it
  was (PSS, a ceiling from the table's size), and nothing crashes."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

from harness import HttpdTestCase, free_port, run_threads, wait_for_port

SUITE = "faults"

CAPACITY_BACKEND = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "capacity_backend.py")


class BackendCase(HttpdTestCase):
    """A server proxying to capacity_backend.py (SERVICE s per request,
    CAPACITY at once), its port @BACKEND@ in CONF."""

    MODULES = ("proxy", "proxy_http")
    SERVICE = 0.05
    CAPACITY = 64

    @classmethod
    def before_start(cls):
        cls.backend_port = free_port()
        cls.backend_proc = subprocess.Popen(
            [sys.executable, CAPACITY_BACKEND, str(cls.backend_port), str(cls.SERVICE),
             str(cls.CAPACITY)], stdout=subprocess.DEVNULL, start_new_session=True)
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
            # every process from the start: none is made or ended meanwhile
            body += ("ServerLimit 56\nMaxRequestWorkers 56\nStartServers 56\n"
                     "MinSpareServers 1\nMaxSpareServers 56\n")
        else:
            body += ("ServerLimit 2\nThreadsPerChild 32\nMaxRequestWorkers 64\n"
                     "StartServers 2\nMinSpareThreads 1\nMaxSpareThreads 64\n")
        return body

    def metric(self, name, scope):
        text = self.httpd.request("GET", "/metrics").text
        m = re.search(r'(?m)^%s\{scope="%s"\} ([0-9.]+)$' % (name, re.escape(scope)), text)
        self.assertIsNotNone(m, (name, text[-2000:]))
        return float(m.group(1))


STEADY_SECONDS = 120
STEADY_CLIENTS = 16                     # a quarter of what the backend serves at once


class SteadyAutoTest(BackendCase):
    MPM = "event"
    TIME_LIMIT = STEADY_SECONDS + 60    # run.py's limit for this one
    CONF = """
ProxyPass "/auto/" "http://127.0.0.1:@BACKEND@/" retry=0
<Location "/auto/">
    GoapiMaxInFlight auto min=2 max=64 start=32
</Location>
"""

    def test_steady_load_sheds_nothing(self):
        if self.MPM == "prefork":
            self.allowed_errors.append(r"AH00161: server reached MaxRequestWorkers")
        counts, lock = {}, threading.Lock()
        t0 = time.monotonic()
        stop_at = t0 + STEADY_SECONDS

        def client():
            # bounded: a request takes at least SERVICE
            for _ in range(int(STEADY_SECONDS / self.SERVICE) + 1):
                if time.monotonic() >= stop_at:
                    return
                try:
                    st = self.httpd.request("GET", "/auto/work", timeout=10).status
                except OSError:
                    st = None
                with lock:
                    counts[st] = counts.get(st, 0) + 1
                if st != 200:
                    time.sleep(0.05)

        threads = [threading.Thread(target=client) for _ in range(STEADY_CLIENTS)]
        for t in threads:
            t.start()
        limits, unloaded = [], []
        try:
            # the limit and the unloaded latency, every second
            for _ in range(STEADY_SECONDS + 5):
                if time.monotonic() >= stop_at:
                    break
                limits.append(self.metric("goapi_max_in_flight_limit", "/auto/"))
                unloaded.append(self.metric("goapi_max_in_flight_unloaded_latency_seconds",
                                            "/auto/"))
                time.sleep(1)
        finally:
            for t in threads:
                t.join(STEADY_SECONDS + 30)
        self.assertFalse(any(t.is_alive() for t in threads))
        sys.stderr.write("    [%s] %d s: answers %s; limit %d..%d; unloaded %.1f..%.1f ms\n"
                         % (self.MPM, STEADY_SECONDS, counts, min(limits), max(limits),
                            min(unloaded) * 1000, max(unloaded) * 1000))
        self.assertEqual(set(counts), {200}, counts)
        # about STEADY_CLIENTS / SERVICE a second, for 2 minutes
        self.assertGreater(counts[200], STEADY_CLIENTS * STEADY_SECONDS / self.SERVICE / 4)
        self.assertGreaterEqual(len(limits), STEADY_SECONDS - 10)
        # never pinned to min, never below what the load holds
        self.assertGreaterEqual(min(limits), STEADY_CLIENTS, limits)
        self.assertLess(max(unloaded), self.SERVICE * 2, unloaded)


class SteadyAutoPreforkTest(SteadyAutoTest):
    MPM = "prefork"


FLOOD_KEYS = 100000
FLOOD_CONNS = 48
FLOOD_SECONDS = 240                     # the flood stops here in any case
TABLE_BYTES = 16 + 16 + 8 * 4096        # a goapi_shed_keys, whatever its slots=
MEMORY_SLACK = 1 << 20                  # a child's allocators (MaxMemFree 256 KiB a
                                        # thread) and page-cache noise; a key kept
                                        # per child would be 100 000 times its size


def child_pss(httpd):
    """{pid: PSS bytes} of the server's children."""
    out = {}
    for pid in httpd.children():
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        out[pid] = int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return out


def read_response(sock, buf):
    """(status, closes, rest of buf) of one response with Content-Length;
    closes: the server closes the connection after it."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    length = int(m.group(1)) if m else 0
    while len(buf) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    closes = re.search(rb"(?im)^connection:\s*close", head) is not None
    return status, closes, buf[length:]


class KeyFloodTest(BackendCase):
    MPM = "event"
    SERVICE = 0.005                     # long enough for keys to be in flight together
    CAPACITY = 1000
    CONF = """
ProxyPass "/flood/" "http://127.0.0.1:@BACKEND@/" retry=0
<Location "/flood/">
    GoapiMaxInFlightPer header:X-Tenant 2 slots=8
</Location>
MaxMemFree 256
"""

    def flood(self, first, n):
        """n requests, each with its own X-Tenant (first .. first + n - 1),
        over FLOOD_CONNS kept-alive connections at once; {status: count}."""
        counts, errors, lock = {}, [], threading.Lock()
        deadline = time.monotonic() + FLOOD_SECONDS

        def conn(c):
            keys = range(first + c, first + n, FLOOD_CONNS)
            sock, buf = None, b""
            try:
                for k in keys:
                    if time.monotonic() >= deadline:
                        return
                    for attempt in range(3):
                        if sock is None:
                            sock = socket.create_connection(
                                (self.httpd.host, self.httpd.port), timeout=10)
                            buf = b""
                        sock.sendall(b"GET /flood/w HTTP/1.1\r\nHost: localhost\r\n"
                                     b"X-Tenant: tenant-%d\r\n\r\n" % k)
                        try:
                            st, closes, buf = read_response(sock, buf)
                            break
                        except OSError:
                            # a kept-alive connection the server closed
                            # before reading this request (the event MPM
                            # does so under load): sent again on a new one
                            sock.close()
                            sock = None
                            if attempt == 2 or buf:
                                raise
                    with lock:
                        counts[st] = counts.get(st, 0) + 1
                    if closes:          # MaxKeepAliveRequests, or a shed answer
                        sock.close()
                        sock = None
            except OSError as e:        # returned to the test
                with lock:
                    errors.append(e)
            finally:
                if sock is not None:
                    sock.close()

        run_threads([threading.Thread(target=conn, args=(c,)) for c in range(FLOOD_CONNS)],
                    FLOOD_SECONDS + 30)
        self.assertEqual(errors, [])
        return counts

    def test_key_table_full(self):
        self.allowed_errors.append(r"GOAPI00190")
        if self.MPM == "prefork":
            self.allowed_errors.append(r"AH00161: server reached MaxRequestWorkers")
        # warm up: every child has served the flood's shape once
        warm = self.flood(10 ** 7, 20000)
        self.assertEqual(set(warm), {200}, warm)
        before = child_pss(self.httpd)
        over_before = self.metric("goapi_max_in_flight_per_overflow_total", "/flood/")
        log_at = self.httpd.log_size()
        t0 = time.monotonic()
        counts = self.flood(0, FLOOD_KEYS)
        took = time.monotonic() - t0
        after = child_pss(self.httpd)
        over = self.metric("goapi_max_in_flight_per_overflow_total", "/flood/")
        lines = [line for line in self.httpd.read(self.httpd.error_log, log_at).splitlines()
                 if "GOAPI00190" in line]
        pids = sorted(set(before) & set(after))
        growth = {pid: after[pid] - before[pid] for pid in pids}
        sys.stderr.write("    [%s] %d keys in %.0f s: %s; overflow %d; %d GOAPI00190 lines; "
                         "PSS growth per child (KiB) %s\n"
                         % (self.MPM, FLOOD_KEYS, took, counts, over - over_before, len(lines),
                            sorted(g // 1024 for g in growth.values())))
        # every request served: a full table admits, never turns away
        self.assertEqual(counts, {200: FLOOD_KEYS})
        # the overflow counted, and logged at most once per 10 s per child
        self.assertGreater(over - over_before, 0)
        self.assertGreaterEqual(len(lines), 1)
        self.assertLessEqual(len(lines), len(after) * (int(took / 10) + 2))
        self.assertIn("its table of keys is full", lines[0])
        # no child grew with the number of keys
        self.assertGreaterEqual(len(pids), 1)
        for pid, g in growth.items():
            self.assertLess(g, TABLE_BYTES + MEMORY_SLACK, (pid, growth))
        self.assertEqual(sorted(before), sorted(after))     # none crashed or was replaced


class KeyFloodPreforkTest(KeyFloodTest):
    MPM = "prefork"
