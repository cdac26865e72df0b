# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Prometheus metrics (/metrics) against a real httpd: both exposition
formats checked by strict parsers and promtool, exact counts across
children (event, worker, prefork), bounded series, counters kept across a
graceful restart, every goapi_* counter moved by the feature it counts,
and a real Prometheus scraping it."""

import json
import os
import random
import re
import shutil
import signal
import socket
import string
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from prometheus_client.openmetrics.parser import \
    text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families as text_families

from harness import (TEST_MODULES, TOP, BackendTestCase, EchoBackend, Httpd, HttpdTestCase,
                     free_port, parse_raw, run_threads, wait_for_port)

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
VERSION = re.search(r'#define GOAPI_VERSION\s+"([^"]+)"',
                    open(os.path.join(TOP, "src", "goapi_defs.h")).read()).group(1)


def samples(text):
    """{(name, ((label, value), ...)): value} of a Prometheus text scrape."""
    out = {}
    for fam in text_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(snap, name, **labels):
    return snap.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(httpd, accept=None):
    r = httpd.request("GET", "/metrics", headers={"Accept": accept} if accept else None)
    assert r.status == 200, (r.status, r.text)
    return r


def snapshot(httpd):
    return samples(scrape(httpd).text)


def settled(httpd, done, limit=5.0):
    """A snapshot once done(snapshot) holds, or the last one after limit
    seconds: a request is counted when it is logged, just after its
    response has gone."""
    deadline = time.monotonic() + limit
    while True:
        snap = snapshot(httpd)
        if done(snap) or time.monotonic() > deadline:
            return snap
        time.sleep(0.05)


def check_histograms(testcase, snap):
    """Every histogram: cumulative buckets, +Inf equal to _count."""
    buckets = {}
    for (name, labels), v in snap.items():
        if name.endswith("_bucket"):
            rest = tuple(l for l in labels if l[0] != "le")
            le = dict(labels)["le"]
            buckets.setdefault((name[:-7], rest), []).append(
                (float("inf") if le == "+Inf" else float(le), v))
    testcase.assertTrue(buckets)
    for (base, rest), points in buckets.items():
        points.sort()
        counts = [v for _, v in points]
        testcase.assertEqual(counts, sorted(counts), (base, rest))
        testcase.assertEqual(points[-1][0], float("inf"))
        testcase.assertEqual(points[-1][1], snap[(base + "_count", rest)], (base, rest))


CONF = """
LogFormat "%P %U" pids
CustomLog @DIR@/logs/pids.log pids
GoapiReadTimeout 2s
GoapiReadHeaderTimeout 1s
GoapiWriteTimeout 2s
GoapiIdleTimeout 1s
GoapiMaxHeaderBytes 2K
<Location "/">
    SetHandler goapi
</Location>
<Location "/parcels/">
    GoapiIdempotency On
    GoapiIdempotencyMaxBody 1K
</Location>
<Location "/required/">
    GoapiIdempotency On
    GoapiIdempotencyRequired On
</Location>
<Location "/app/">
    GoapiMetricsRoute app
</Location>
<Location "/static/">
    SetHandler none
    GoapiMetricsRoute static
</Location>
ProxyPass "/slow/" "http://127.0.0.1:@BACKEND@/"
<Location "/slow/">
    SetHandler none
    GoapiMetricsRoute slow
    GoapiIdempotency On
    GoapiIdempotencyMaxResponse 100
</Location>
"""

BIG_FILE = 16 * 1024 * 1024


class MetricsTest(BackendTestCase):
    CONF = CONF
    MPM = "event"
    RANDOM_PATHS = 10000

    @classmethod
    def before_start(cls):
        super().before_start()
        cls.FILES = {"htdocs/static/big.bin": (b"\0" * BIG_FILE, 0o644)}

    def test_text_format(self):
        self.get("/healthz")
        r = scrape(self.httpd)
        self.assertEqual(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        self.assertEqual(r.header("Cache-Control"), "no-store")
        self.assertIn("Accept", r.header("Vary"))
        self.assertIDs(r)
        # promtool's own checks (format and naming conventions)
        res = subprocess.run([PROMTOOL, "check", "metrics"], input=r.body,
                             capture_output=True, timeout=30)
        self.assertEqual((res.returncode, res.stdout, res.stderr), (0, b"", b""))
        snap = samples(r.text)
        self.assertGreaterEqual(value(snap, "http_server_requests_total", route="/healthz",
                                      method="GET", code="200"), 1)
        # a HELP and a TYPE line for every family
        names = re.findall(r"^# TYPE (\S+) ", r.text, re.M)
        self.assertEqual(names, re.findall(r"^# HELP (\S+) ", r.text, re.M))
        self.assertEqual(len(names), len(set(names)))
        # HEAD: the headers only
        h = self.httpd.request("HEAD", "/metrics")
        self.assertEqual((h.status, h.body), (200, b""))

    def test_openmetrics(self):
        self.get("/healthz")
        r = scrape(self.httpd, OPENMETRICS)
        self.assertEqual(r.header("Content-Type"),
                         "application/openmetrics-text; version=1.0.0; charset=utf-8")
        self.assertTrue(r.text.endswith("\n# EOF\n"))
        # the reference parser is strict: it raises on any violation
        fams = {f.name: f for f in openmetrics_families(r.text)}
        self.assertEqual(fams["http_server_requests"].type, "counter")
        self.assertEqual(fams["http_server_request_duration_seconds"].type, "histogram")
        self.assertEqual(fams["goapi_shutdown_hook_seconds"].type, "summary")
        self.assertIn("goapi_ready", fams)
        # an Accept without it, or refusing it, gets the text format
        for accept in ("text/plain", "application/openmetrics-text;q=0", "*/*"):
            self.assertTrue(scrape(self.httpd, accept).header("Content-Type")
                            .startswith("text/plain; version=0.0.4"), accept)

    def test_exact_counts_across_children(self):
        before = snapshot(self.httpd)
        errors = []

        def parcels(n):
            for i in range(n):
                if self.httpd.request("GET", "/parcels/p-%d" % i).status != 200:
                    errors.append(i)

        def slow():
            if self.httpd.request("GET", "/slow/sleep/0.4").status != 200:
                errors.append("slow")

        # 20 requests held at once need more threads than one child has
        run_threads([threading.Thread(target=slow) for _ in range(20)]
                    + [threading.Thread(target=parcels, args=(50,)) for _ in range(6)], 60)
        self.assertEqual(errors, [])

        def grown(snap, route, n):
            key = dict(route=route, method="GET")
            return (value(snap, "http_server_requests_total", code="200", **key)
                    - value(before, "http_server_requests_total", code="200", **key)) >= n

        after = settled(self.httpd, lambda snap: grown(snap, "/parcels/{parcelID}", 300)
                        and grown(snap, "slow", 20))
        for route, n in (("/parcels/{parcelID}", 300), ("slow", 20)):
            key = dict(route=route, method="GET")
            self.assertEqual(value(after, "http_server_requests_total", code="200", **key)
                             - value(before, "http_server_requests_total", code="200", **key),
                             n, route)
            self.assertEqual(value(after, "http_server_request_duration_seconds_count", **key)
                             - value(before, "http_server_request_duration_seconds_count",
                                     **key), n, route)
        # the slow requests took at least 0.4 s each
        self.assertGreaterEqual(
            value(after, "http_server_request_duration_seconds_sum", route="slow", method="GET")
            - value(before, "http_server_request_duration_seconds_sum", route="slow",
                    method="GET"), 20 * 0.4)
        # served by more than one child
        self.httpd.access_lines()
        pids = {l.split()[0] for l in Httpd.read(self.httpd.path("logs/pids.log")).splitlines()
                if l.endswith(" /slow/sleep/0.4")}
        self.assertGreater(len(pids), 1, pids)
        check_histograms(self, after)

    def test_random_paths_add_no_series(self):
        def series(snap):
            return {k for k in snap if k[0].startswith("http_server_")}

        self.get("/app/warm")
        self.get("/nowhere")
        before = series(snapshot(self.httpd))
        alphabet = string.ascii_letters + string.digits

        def path(i):
            word = "".join(random.choice(alphabet) for _ in range(12))
            return ("GET", ("/app/%s", "/nowhere/%s")[i % 2] % word, None)

        out, errors = self.httpd.keepalive_clients(4, self.RANDOM_PATHS // 4, path)
        self.assertEqual(errors, [])
        self.assertEqual(len(out), self.RANDOM_PATHS)
        self.assertEqual({s for s, _ in out}, {404})
        after = snapshot(self.httpd)
        self.assertEqual(series(after) - before, set())
        self.assertEqual(value(after, "goapi_metrics_series_overflow_total"), 0)

    def test_route_and_method_labels(self):
        before = snapshot(self.httpd)
        self.assertEqual(self.httpd.request("BREW", "/healthz").status, 405)
        self.assertEqual(self.get("/app/x").status, 404)          # goapi, not a route
        self.assertEqual(self.get("/static/none").status, 404)    # core's handler
        self.assertEqual(self.get("/").status, 200)
        wanted = (dict(route="other", method="_OTHER", code="405"),
                  dict(route="app", method="GET", code="404"),
                  dict(route="static", method="GET", code="404"),
                  dict(route="/", method="GET", code="200"))
        after = settled(self.httpd, lambda snap: all(
            value(snap, "http_server_requests_total", **l)
            > value(before, "http_server_requests_total", **l) for l in wanted))
        for labels in wanted:
            self.assertEqual(value(after, "http_server_requests_total", **labels)
                             - value(before, "http_server_requests_total", **labels), 1, labels)

    def test_gauges(self):
        snap = snapshot(self.httpd)
        self.assertEqual(value(snap, "goapi_ready"), 1)
        self.assertEqual(value(snap, "goapi_draining"), 0)
        self.assertGreaterEqual(value(snap, "http_server_active_requests"), 1)   # this one
        self.assertEqual(value(snap, "goapi_build_info", version=VERSION, httpd=re.search(
            r"Apache/(\S+)", self.get("/healthz").header("Server")).group(1)), 1)
        started = value(snap, "process_start_time_seconds")
        self.assertLess(abs(time.time() - started), 3600)
        busy = sum(v for (n, l), v in snap.items() if n == "apache_workers")
        self.assertGreaterEqual(busy, 1)
        self.assertGreaterEqual(value(snap, "apache_workers", state="writing"), 1)

    # -- goapi_* counters, each moved by its feature ----------------------------
    def counter_delta(self, action, name, **labels):
        before = value(snapshot(self.httpd), name, **labels)
        action()
        deadline = time.monotonic() + 5
        while True:
            delta = value(snapshot(self.httpd), name, **labels) - before
            if delta or time.monotonic() > deadline:
                return delta
            time.sleep(0.1)

    def connect(self):
        return socket.create_connection((self.httpd.host, self.httpd.port), timeout=15)

    def wait_closed(self, s):
        s.settimeout(15)
        data = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
        except OSError:
            pass
        s.close()
        return data

    def test_read_header_deadline(self):
        def slow_headers():
            s = self.connect()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            self.assertEqual(parse_raw(self.wait_closed(s)).status, 408)
        self.assertEqual(self.counter_delta(slow_headers, "goapi_deadline_cuts_total",
                                            deadline="read_header"), 1)

    def test_read_deadline(self):
        def slow_body():
            s = self.connect()
            s.sendall(b"POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n"
                      b"\r\nx")
            self.assertEqual(parse_raw(self.wait_closed(s)).status, 408)
        self.assertEqual(self.counter_delta(slow_body, "goapi_deadline_cuts_total",
                                            deadline="read"), 1)

    def test_write_deadline(self):
        def unread_response():
            s = self.connect()
            s.sendall(b"GET /static/big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
            time.sleep(3)                   # read nothing past the 2 s deadline
            s.close()
        self.assertEqual(self.counter_delta(unread_response, "goapi_deadline_cuts_total",
                                            deadline="write"), 1)

    def test_idle_deadline(self):
        def idle():
            s = self.connect()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            t0 = time.monotonic()
            self.assertEqual(parse_raw(self.wait_closed(s)).status, 200)
            self.assertGreater(time.monotonic() - t0, 0.9)   # GoapiIdleTimeout 1s
        self.assertEqual(self.counter_delta(idle, "goapi_deadline_cuts_total",
                                            deadline="idle"), 1)

    def test_header_limit(self):
        def big_headers():
            r = self.httpd.request("GET", "/healthz", headers={"X-Big": "b" * 3000})
            self.assertEqual(r.status, 431)
        self.assertEqual(self.counter_delta(big_headers, "goapi_header_limit_total"), 1)

    def test_idempotency_outcomes(self):
        key = "metrics-%d" % random.randrange(1 << 30)

        def post(path, k, body=b"{}"):
            return self.httpd.request("POST", path, body=body,
                                      headers={"Idempotency-Key": k} if k else None)

        def delta(outcome, action):
            return self.counter_delta(action, "goapi_idempotency_requests_total",
                                      outcome=outcome)

        route = dict(route="/parcels/{parcelID}/dispatch", method="POST", code="201")
        first = value(snapshot(self.httpd), "http_server_requests_total", **route)
        self.assertEqual(delta("executed", lambda: self.assertEqual(
            post("/parcels/p-1/dispatch", key).status, 201)), 1)
        self.assertEqual(delta("replayed", lambda: self.assertEqual(
            post("/parcels/p-1/dispatch", key).status, 201)), 1)
        # a replay counts under the route it replays
        snap = settled(self.httpd, lambda snap: value(
            snap, "http_server_requests_total", **route) - first >= 2)
        self.assertEqual(value(snap, "http_server_requests_total", **route) - first, 2)
        self.assertEqual(delta("mismatch", lambda: self.assertEqual(
            post("/parcels/p-1/dispatch", key, b'{"x":1}').status, 422)), 1)
        self.assertEqual(delta("key_invalid", lambda: self.assertEqual(
            post("/parcels/p-1/dispatch", "a" * 300).status, 400)), 1)
        self.assertEqual(delta("key_missing", lambda: self.assertEqual(
            post("/required/x", None).status, 400)), 1)
        self.assertEqual(delta("too_large", lambda: self.assertEqual(
            post("/parcels/p-1/dispatch", key + "-big", b"x" * 2048).status, 413)), 1)

        # a retry while the first still runs, and a response too large to keep
        slow_key = key + "-slow"
        first = threading.Thread(target=post, args=("/slow/sleep/1", slow_key))
        first.start()
        time.sleep(0.3)
        self.assertEqual(delta("in_flight", lambda: self.assertEqual(
            post("/slow/sleep/1", slow_key).status, 409)), 1)
        first.join(10)
        self.assertEqual(post("/slow/big/500", key + "-big-response").status, 200)
        self.assertEqual(delta("not_replayable", lambda: self.assertEqual(
            post("/slow/big/500", key + "-big-response").status, 409)), 1)
        # the ledger's operations were timed
        snap = snapshot(self.httpd)
        self.assertGreaterEqual(value(snap, "goapi_idempotency_store_seconds_count"), 4)
        check_histograms(self, snap)

    def test_graceful_restart(self):
        # counters never go down across a graceful restart; the window of
        # the old child that drains a request is counted (an idle prefork
        # child exits at once, with no window)
        self.get("/healthz")
        before = snapshot(self.httpd)
        held = threading.Thread(target=self.httpd.request, args=("GET", "/slow/sleep/1"))
        held.start()
        time.sleep(0.3)
        self.httpd.send_signal(signal.SIGUSR1)
        held.join(10)
        deadline = time.monotonic() + 10
        after = before
        while time.monotonic() < deadline:
            time.sleep(0.3)
            try:
                after = snapshot(self.httpd)
            except (OSError, AssertionError):
                continue
            if value(after, "goapi_shutdown_windows_total") > value(
                    before, "goapi_shutdown_windows_total"):
                break
        self.assertGreater(value(after, "goapi_shutdown_windows_total"),
                           value(before, "goapi_shutdown_windows_total"))
        for k, v in before.items():
            if k[0].endswith("_total") or k[0].endswith("_count") or k[0].endswith("_bucket"):
                self.assertGreaterEqual(after.get(k, 0), v, k)


class MetricsWorkerTest(MetricsTest):
    MPM = "worker"
    RANDOM_PATHS = 2000


class MetricsPreforkTest(MetricsTest):
    MPM = "prefork"
    RANDOM_PATHS = 2000


class MetricsOffTest(HttpdTestCase):
    CONF = 'GoapiMetrics Off\n<Location "/">\n SetHandler goapi\n</Location>\n'

    def test_off(self):
        self.get("/healthz")
        r = self.get("/metrics")
        self.assertEqual(r.status, 404)
        self.assertIn("GoapiMetrics Off", r.text)


class MetricsConfigTest(unittest.TestCase):
    def configtest(self, body):
        h = Httpd(body)
        try:
            return h.configtest()
        finally:
            h.cleanup()

    def test_bad_values_refused(self):
        for body, want in (
                ("<Location /a>\nGoapiMetricsRoute \"a b\"\n</Location>",
                 "GoapiMetricsRoute a b: a route name is printable ASCII"),
                ("<Location /a>\nGoapiMetricsRoute %s\n</Location>" % ("x" * 64),
                 "a route name has 1 to 63 characters"),
                ("<VirtualHost 127.0.0.1:@PORT@>\nGoapiMetrics Off\n</VirtualHost>",
                 "GoapiMetrics cannot occur within <VirtualHost> section"),
                ("GoapiMetrics maybe", "GoapiMetrics must be On or Off")):
            res = self.configtest(body)
            self.assertNotEqual(res.returncode, 0, body)
            self.assertIn(want, res.stderr, body)


class ReadinessMetricsTest(HttpdTestCase):
    """A dependency that is down, and a drain file: the readiness gauges,
    and store errors counted."""
    CONF = """
GoapiReadyCheck backend tcp://127.0.0.1:@CLOSED@
GoapiReadyCheckInterval 200ms
GoapiIdempotencyStore redis://127.0.0.1:@CLOSED@
GoapiDrainFile @DIR@/drain
<Location "/">
    SetHandler goapi
    GoapiIdempotency On
</Location>
"""

    @classmethod
    def conf_body(cls):
        return cls.CONF.replace("@CLOSED@", str(free_port()))

    def test_checks_down_and_draining(self):
        self.allowed_errors.append(r"GOAPI00045: idempotency store")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            snap = snapshot(self.httpd)
            if ("goapi_readiness_check_up", (("check", "backend"),)) in snap:
                break
            time.sleep(0.1)
        self.assertEqual(value(snap, "goapi_readiness_check_up", check="backend"), 0)
        self.assertEqual(value(snap, "goapi_readiness_check_up", check="idempotency-store"), 0)
        self.assertGreaterEqual(value(snap, "goapi_readiness_check_duration_seconds",
                                      check="backend"), 0)
        self.assertEqual(value(snap, "goapi_ready"), 0)
        self.assertEqual(value(snap, "goapi_draining"), 0)
        with open(self.httpd.path("drain"), "w"):
            pass
        self.assertEqual(value(snapshot(self.httpd), "goapi_draining"), 1)
        os.unlink(self.httpd.path("drain"))
        # the store is down: the request fails closed and is counted
        before = value(snapshot(self.httpd), "goapi_idempotency_requests_total",
                       outcome="store_error")
        r = self.httpd.request("POST", "/parcels/p-1/dispatch", body=b"{}",
                               headers={"Idempotency-Key": "k-store-down"})
        self.assertEqual(r.status, 503)
        self.assertEqual(value(snapshot(self.httpd), "goapi_idempotency_requests_total",
                               outcome="store_error") - before, 1)


class ShutdownMetricsTest(unittest.TestCase):
    """A graceful restart whose window cuts a request, and a shutdown hook:
    counted by the old child, read from the new ones."""

    def setUp(self):
        self.backend = EchoBackend()
        hooktest = os.path.join(TEST_MODULES, "mod_goapi_hooktest.so")
        self.httpd = Httpd('GoapiShutdownTimeout 1s\nLoadModule goapi_hooktest_module %s\n'
                           'ProxyPass "/slow/" "http://127.0.0.1:%d/"\n'
                           '<Location "/">\n SetHandler goapi\n</Location>\n'
                           '<Location "/slow/">\n SetHandler none\n</Location>\n'
                           % (hooktest, self.backend.port), modules=("proxy", "proxy_http"))
        self.httpd.start()

    def tearDown(self):
        self.httpd.stop()
        self.httpd.cleanup()
        self.backend.stop()

    def test_window_cut_and_hooks_counted(self):
        before = snapshot(self.httpd)
        held = threading.Thread(target=lambda: self.httpd.raw(
            b"GET /slow/sleep/5 HTTP/1.1\r\nHost: localhost\r\n\r\n", timeout=10))
        held.start()
        time.sleep(0.3)
        self.httpd.send_signal(signal.SIGUSR1)
        held.join(10)
        deadline = time.monotonic() + 10
        after = before
        while time.monotonic() < deadline:
            try:
                after = snapshot(self.httpd)
            except (OSError, AssertionError):
                pass
            if value(after, "goapi_shutdown_connections_cut_total") > 0 and value(
                    after, "goapi_shutdown_hook_seconds_count", hook="hooktest-second") > 0:
                break
            time.sleep(0.2)
        self.assertGreaterEqual(value(after, "goapi_shutdown_connections_cut_total"), 1)
        self.assertGreaterEqual(value(after, "goapi_deadline_cuts_total", deadline="shutdown"), 1)
        self.assertGreaterEqual(value(after, "goapi_shutdown_windows_total"), 1)
        for hook in ("hooktest-first", "hooktest-second"):
            self.assertGreaterEqual(value(after, "goapi_shutdown_hook_seconds_count",
                                          hook=hook), 1)
            # the hooks sleep about 100 ms each
            self.assertGreaterEqual(value(after, "goapi_shutdown_hook_seconds_sum", hook=hook),
                                    0.09 * value(after, "goapi_shutdown_hook_seconds_count",
                                                 hook=hook))


class PrometheusScrapeTest(HttpdTestCase):
    """A real Prometheus scrapes the server every second; its query API
    sees the requests per route and code."""
    CONF = 'AllowEncodedSlashes NoDecode\n<Location "/">\n SetHandler goapi\n</Location>\n'
    MPM = "prefork"

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="goapi-prom-")
        self.port = free_port()
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: goapi\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % self.httpd.port)
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.prom = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + os.path.join(self.dir, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port("127.0.0.1", self.port, time.monotonic() + 30, self.prom)
        # its query API answers 503 until the storage is open: wait for /-/ready
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port,
                                            timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass                    # HTTPError (503 while starting) included
            if time.monotonic() > deadline:
                self.fail("Prometheus not ready after 30 s")
            time.sleep(0.2)

    def tearDown(self):
        self.prom.terminate()
        try:
            self.prom.wait(15)
        except subprocess.TimeoutExpired:
            self.prom.kill()
            self.prom.wait(5)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        super().tearDown()

    def query(self, q):
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (self.port,
                                                      urllib.parse.urlencode({"query": q}))
        with urllib.request.urlopen(url, timeout=5) as resp:
            data = json.load(resp)
        self.assertEqual(data["status"], "success", data)
        return [(r["metric"], float(r["value"][1])) for r in data["data"]["result"]]

    def wait_query(self, q, want, limit=20):
        deadline = time.monotonic() + limit
        got = None
        while time.monotonic() < deadline:
            try:
                got = self.query(q)
            except urllib.error.HTTPError as e:
                if e.code != 503:       # 503: not ready yet, asked again
                    raise
                got = None
            if got is not None and want(got):
                return got
            time.sleep(0.5)
        self.fail("%s: %r" % (q, got))

    def test_prometheus_sees_requests(self):
        series = 'http_server_requests_total{job="goapi",route="/parcels/{parcelID}",' \
                 'method="GET",code="%s"}'
        self.get("/parcels/warm-up")
        # the target is up and the series exists before the load
        self.wait_query('up{job="goapi"}', lambda r: r and r[0][1] == 1)
        base = self.wait_query(series % "200", lambda r: len(r) == 1)[0][1]
        for i in range(150):
            self.assertEqual(self.get("/parcels/p-%d" % i).status, 200)
        for i in range(30):
            self.assertEqual(self.get("/parcels/%%2F%d" % i).status, 400)
        self.wait_query(series % "200", lambda r: r and r[0][1] == base + 150)
        self.wait_query(series % "400", lambda r: r and r[0][1] == 30)
        # increase() over the last minute: the 150 (Prometheus extrapolates
        # to the window's edges, so not below them nor far above)
        got = self.query("increase(%s[1m])" % (series % "200"))
        self.assertEqual(len(got), 1)
        self.assertGreaterEqual(got[0][1], 150)
        self.assertLess(got[0][1], 150 * 1.6)
        # a latency quantile per route, as an alert would compute it
        got = self.query('histogram_quantile(0.99, sum by (le, route) (rate('
                         'http_server_request_duration_seconds_bucket{job="goapi"}[1m])))')
        self.assertTrue(any(m.get("route") == "/parcels/{parcelID}" for m, _ in got), got)


if __name__ == "__main__":
    unittest.main()
