# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Prometheus metrics (/metrics) against a real httpd: OpenTelemetry's HTTP
server metrics (names, label sets, _OTHER, error_type of a 5xx, a cut, a
shed request and a store that is down), GoapiMetricsKnownMethods, both
exposition formats checked by strict parsers and promtool, exemplars of
sampled requests in OpenMetrics only, exact counts across children
(event, worker, prefork), bounded series, counters kept across a graceful
restart, every goapi_* counter moved by the feature it counts, and a real
Prometheus (exemplar storage on) scraping it."""

import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
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

from harness import (BackendTestCase, EchoBackend, H2Client, Httpd, HttpdTestCase, TEST_MODULES,
                     TOP, free_port, parse_raw, run_threads, self_signed_cert, wait_for_port)

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


DURATION = "http_server_request_duration_seconds"
REQUESTS = DURATION + "_count"


def total(snap, name=REQUESTS, **labels):
    """The sum of the samples of name whose labels include labels."""
    want = set(labels.items())
    return sum(v for (n, l), v in snap.items() if n == name and want <= set(l))


def req(route, method, code, **more):
    """The labels of requests of a route, method and status code."""
    return dict(http_route=route, http_request_method=method,
                http_response_status_code=str(code), **more)


def trace_ids():
    return "%032x" % random.getrandbits(128), "%016x" % random.getrandbits(64)


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
GoapiTraceResponse On
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
<Location "/slow/sleep/0.8">
    GoapiMaxInFlight 1
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
        self.assertGreaterEqual(value(snap, REQUESTS, network_protocol_version="1.1",
                                      url_scheme="http", **req("/healthz", "GET", 200)), 1)
        # no exemplar in the text format, whatever was sampled
        self.assertNotIn("trace_id", r.text)
        self.assertNotIn(" # {", r.text)
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
        self.assertNotIn("http_server_requests", fams)
        for name in (DURATION, "http_server_request_body_size_bytes",
                     "http_server_response_body_size_bytes"):
            self.assertEqual(fams[name].type, "histogram", name)
        self.assertEqual(fams["http_server_active_requests"].type, "gauge")
        self.assertEqual(fams["goapi_deadline_cuts"].type, "counter")
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
            key = req(route, "GET", 200)
            return total(snap, **key) - total(before, **key) >= n

        after = settled(self.httpd, lambda snap: grown(snap, "/parcels/{parcelID}", 300)
                        and grown(snap, "slow", 20))
        for route, n in (("/parcels/{parcelID}", 300), ("slow", 20)):
            key = req(route, "GET", 200)
            for name in (REQUESTS, "http_server_request_body_size_bytes_count",
                         "http_server_response_body_size_bytes_count"):
                self.assertEqual(total(after, name, **key) - total(before, name, **key),
                                 n, (route, name))
        # the slow requests took at least 0.4 s each
        self.assertGreaterEqual(total(after, DURATION + "_sum", http_route="slow")
                                - total(before, DURATION + "_sum", http_route="slow"), 20 * 0.4)
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
        self.assertEqual(self.httpd.request("get", "/healthz").status, 405)
        # httpd numbers HEAD as it numbers GET: its own label all the same
        self.assertEqual(self.httpd.request("HEAD", "/healthz").status, 200)
        self.assertEqual(self.get("/app/x").status, 404)          # goapi, not a route
        self.assertEqual(self.get("/static/none").status, 404)    # core's handler
        self.assertEqual(self.get("/").status, 200)
        raw = self.httpd.raw(b"GET /healthz HTTP/1.0\r\n\r\n")
        self.assertEqual(parse_raw(raw).status, 200)
        common = dict(url_scheme="http", network_protocol_version="1.1")
        wanted = (dict(req("other", "_OTHER", 405), **common),
                  dict(req("app", "GET", 404), **common),
                  dict(req("static", "GET", 404), **common),
                  dict(req("/", "GET", 200), **common),
                  dict(req("/healthz", "HEAD", 200), **common),
                  dict(req("/healthz", "GET", 200), url_scheme="http",
                       network_protocol_version="1.0"))
        after = settled(self.httpd, lambda snap: all(
            value(snap, REQUESTS, **l) > value(before, REQUESTS, **l) for l in wanted))
        for labels in wanted:
            # each label set exactly: nothing more, nothing less; BREW and
            # get (methods are case-sensitive) are both _OTHER
            n = 2 if labels["http_request_method"] == "_OTHER" else 1
            self.assertEqual(value(after, REQUESTS, **labels)
                             - value(before, REQUESTS, **labels), n, labels)
            for name in ("http_server_request_body_size_bytes_count",
                         "http_server_response_body_size_bytes_count"):
                self.assertEqual(value(after, name, **labels) - value(before, name, **labels),
                                 n, (name, labels))
        # never a raw method, nor a failure below 500
        self.assertFalse([k for k in after if dict(k[1]).get("http_request_method")
                          in ("BREW", "get")])
        self.assertFalse([k for k in after if "error_type" in dict(k[1])
                          and dict(k[1]).get("http_response_status_code", "500") < "500"
                          and dict(k[1])["error_type"].isdigit()])

    def test_body_sizes(self):
        before = snapshot(self.httpd)
        body = b"x" * 700
        r = self.httpd.request("POST", "/slow/echo", body=body)
        self.assertEqual(r.status, 200)
        key = req("slow", "POST", 200)
        after = settled(self.httpd, lambda snap: total(snap, **key) > total(before, **key))
        self.assertEqual(total(after, "http_server_request_body_size_bytes_sum", **key)
                         - total(before, "http_server_request_body_size_bytes_sum", **key), 700)
        self.assertEqual(total(after, "http_server_response_body_size_bytes_sum", **key)
                         - total(before, "http_server_response_body_size_bytes_sum", **key),
                         len(r.body))
        # 700 bytes: above the 256 bucket, within 1024
        for le, n in (("256", 0), ("1024", 1)):
            self.assertEqual(
                total(after, "http_server_request_body_size_bytes_bucket", le=le, **key)
                - total(before, "http_server_request_body_size_bytes_bucket", le=le, **key), n)
        check_histograms(self, after)

    def test_error_type_of_5xx_and_shed(self):
        before = snapshot(self.httpd)
        self.assertEqual(self.get("/slow/status/500").status, 500)
        self.assertEqual(self.get("/slow/status/503").status, 503)
        # GoapiMaxInFlight 1 at /slow/sleep/0.8: the second at once is shed
        held = threading.Thread(target=self.get, args=("/slow/sleep/0.8",))
        held.start()
        time.sleep(0.3)
        self.assertEqual(self.get("/slow/sleep/0.8").status, 503)
        held.join(10)
        wanted = ((req("slow", "GET", 500, error_type="500"), 1),
                  (req("slow", "GET", 503, error_type="503"), 1),
                  (req("slow", "GET", 503, error_type="shed"), 1),
                  (req("slow", "GET", 200), 1))
        after = settled(self.httpd, lambda snap: all(
            total(snap, **l) - total(before, **l) >= n for l, n in wanted))
        for labels, n in wanted:
            self.assertEqual(total(after, **labels) - total(before, **labels), n, labels)
        # a success carries no error_type
        self.assertEqual(total(after, **req("slow", "GET", 200, error_type="200")), 0)
        self.assertEqual(value(after, "goapi_shed_total", route="slow", dry_run="false")
                         - value(before, "goapi_shed_total", route="slow", dry_run="false"), 1)

    def test_exemplars(self):
        sampled, parent = trace_ids()
        unsampled, _ = trace_ids()
        other_bits, _ = trace_ids()
        r = self.get("/parcels/p-ex", headers={"traceparent": "00-%s-%s-01" % (sampled, parent)})
        self.assertEqual(r.status, 200)
        # our span: the traceresponse names it
        span = r.header("traceresponse").split("-")[2]
        self.assertNotEqual(span, parent)
        self.assertEqual(self.get("/parcels/p-ex2", headers={
            "traceparent": "00-%s-%s-00" % (unsampled, parent)}).status, 200)
        # flags with other bits but not the sampled one
        self.assertEqual(self.get("/parcels/p-ex3", headers={
            "traceparent": "00-%s-%s-0a" % (other_bits, parent)}).status, 200)
        deadline = time.monotonic() + 5
        while True:
            text = scrape(self.httpd, OPENMETRICS).text
            if sampled in text or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertNotIn(unsampled, text)
        self.assertNotIn(other_bits, text)
        found = []
        for fam in openmetrics_families(text):     # strict: raises on a bad exemplar
            bounds = []
            for s in fam.samples:
                if s.exemplar is not None:
                    # only the duration buckets carry exemplars
                    self.assertEqual(s.name, DURATION + "_bucket")
                    self.assertEqual(set(s.exemplar.labels), {"trace_id", "span_id"})
                    self.assertLessEqual(sum(len(k) + len(v)
                                             for k, v in s.exemplar.labels.items()), 128)
                    self.assertLessEqual(s.exemplar.value, float(s.labels["le"]))
                    if s.exemplar.labels["trace_id"] == sampled:
                        found.append((s, bounds[-1] if bounds and bounds[-1][0] == tuple(
                            sorted((k, v) for k, v in s.labels.items() if k != "le")) else None))
                if s.name == DURATION + "_bucket":
                    bounds.append((tuple(sorted((k, v) for k, v in s.labels.items()
                                                if k != "le")), float(s.labels["le"])))
        self.assertEqual(len(found), 1, text)
        s, below = found[0]
        self.assertEqual(s.exemplar.labels["span_id"], span)
        self.assertEqual(s.labels["http_route"], "/parcels/{parcelID}")
        self.assertEqual(s.labels["http_response_status_code"], "200")
        if below:                           # the exemplar fell in this bucket
            self.assertGreater(s.exemplar.value, below[1])
        self.assertLess(abs(float(s.exemplar.timestamp) - time.time()), 60)
        self.assertNotIn("trace_id", scrape(self.httpd).text)

    def test_gauges(self):
        snap = snapshot(self.httpd)
        self.assertEqual(value(snap, "goapi_ready"), 1)
        self.assertEqual(value(snap, "goapi_draining"), 0)
        self.assertGreaterEqual(value(snap, "http_server_active_requests",
                                      http_request_method="GET", url_scheme="http"), 1)
        self.assertEqual(value(snap, "goapi_build_info", version=VERSION, httpd=re.search(
            r"Apache/(\S+)", self.get("/healthz").header("Server")).group(1)), 1)
        started = value(snap, "process_start_time_seconds")
        self.assertLess(abs(time.time() - started), 3600)
        busy = sum(v for (n, l), v in snap.items() if n == "apache_workers")
        self.assertGreaterEqual(busy, 1)
        self.assertGreaterEqual(value(snap, "apache_workers", state="writing"), 1)

    # -- goapi_* counters, each moved by its feature ----------------------------
    def counter_delta(self, action, name, **labels):
        return self.deltas(action, (name, labels))[0]

    def deltas(self, action, *keys):
        """How much each (name, labels) grew by action: the sum of the
        samples of name whose labels include labels."""
        before = snapshot(self.httpd)
        action()
        deadline = time.monotonic() + 5
        while True:
            snap = snapshot(self.httpd)
            out = [total(snap, n, **l) - total(before, n, **l) for n, l in keys]
            if all(out) or time.monotonic() > deadline:
                return out
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
        self.assertEqual(self.deltas(slow_headers, ("goapi_deadline_cuts_total",
                                                    dict(deadline="read_header")),
                                     (REQUESTS, dict(error_type="timeout",
                                                     http_response_status_code="408"))),
                         [1, 1])

    def test_read_deadline(self):
        def slow_body():
            s = self.connect()
            s.sendall(b"POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n"
                      b"\r\nx")
            self.assertEqual(parse_raw(self.wait_closed(s)).status, 408)
        self.assertEqual(self.deltas(slow_body, ("goapi_deadline_cuts_total",
                                                 dict(deadline="read")),
                                     (REQUESTS, dict(error_type="timeout",
                                                     http_request_method="POST"))),
                         [1, 1])

    def test_write_deadline(self):
        def unread_response():
            s = self.connect()
            s.sendall(b"GET /static/big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
            time.sleep(3)                   # read nothing past the 2 s deadline
            s.close()
        self.assertEqual(self.deltas(unread_response, ("goapi_deadline_cuts_total",
                                                       dict(deadline="write")),
                                     (REQUESTS, dict(error_type="timeout", http_route="static",
                                                     http_response_status_code="200"))),
                         [1, 1])

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

        route = req("/parcels/{parcelID}/dispatch", "POST", 201)
        first = total(snapshot(self.httpd), **route)
        self.assertEqual(delta("executed", lambda: self.assertEqual(
            post("/parcels/p-1/dispatch", key).status, 201)), 1)
        self.assertEqual(delta("replayed", lambda: self.assertEqual(
            post("/parcels/p-1/dispatch", key).status, 201)), 1)
        # a replay counts under the route it replays
        snap = settled(self.httpd, lambda snap: total(snap, **route) - first >= 2)
        self.assertEqual(total(snap, **route) - first, 2)
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
        self.assertGreaterEqual(value(snap, "goapi_idempotency_store_seconds_count",
                                      store="lmdb"), 4)
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
        # exact: the request the old child drained is counted once, and the
        # new generation's requests each once
        self.assertEqual(total(after, http_route="slow") - total(before, http_route="slow"), 1)
        for _ in range(5):
            self.assertEqual(self.get("/healthz").status, 200)
        healthz = total(before, http_route="/healthz")
        final = settled(self.httpd, lambda snap: total(snap, http_route="/healthz") >= healthz + 5)
        self.assertEqual(total(final, http_route="/healthz") - healthz, 5)
        self.assertEqual(total(final, http_route="slow") - total(before, http_route="slow"), 1)


class LayoutChangeTest(unittest.TestCase):
    """A restart that loads a mod_goapi laying out the metrics region
    otherwise (the test module marks the region as another version's)
    starts the counts again in a region of its own: none misread."""

    def setUp(self):
        hooktest = os.path.join(TEST_MODULES, "mod_goapi_hooktest.so")
        self.httpd = Httpd('Define HOOKTEST_METRICS_LAYOUT\n'
                           'LoadModule goapi_hooktest_module %s\n'
                           '<Location "/">\n SetHandler goapi\n</Location>\n' % hooktest)
        self.httpd.start()

    def tearDown(self):
        self.httpd.stop()
        self.httpd.cleanup()

    def test_counts_start_again(self):
        for _ in range(3):
            self.assertEqual(self.httpd.request("GET", "/healthz").status, 200)
        before = settled(self.httpd, lambda snap: total(snap, http_route="/healthz") >= 3)
        self.assertEqual(total(before, http_route="/healthz"), 3)
        self.assertNotIn("GOAPI00192", self.httpd.read(self.httpd.error_log))
        self.httpd.send_signal(signal.SIGUSR1)
        self.assertRegex(self.httpd.wait_log(r"GOAPI00192.*counts start again"),
                         r"\[goapi:notice\].*GOAPI00192")
        # the new generation answers, and counts in the new region alone
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                before = snapshot(self.httpd)
            except (OSError, AssertionError):
                time.sleep(0.1)
                continue
            if total(before, http_route="/healthz") == 0:
                break
            time.sleep(0.1)
        self.assertEqual(total(before, http_route="/healthz"), 0)
        for _ in range(2):
            self.assertEqual(self.httpd.request("GET", "/healthz").status, 200)
        after = settled(self.httpd, lambda snap: total(snap, http_route="/healthz") >= 2)
        self.assertEqual(total(after, http_route="/healthz"), 2)
        self.assertEqual(self.httpd.bad_lines(), [])


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


class KnownMethodsTest(HttpdTestCase):
    """GoapiMetricsKnownMethods replaces the default list; its lines add up."""
    CONF = """
GoapiMetricsKnownMethods PROPFIND GET
GoapiMetricsKnownMethods GET M-SEARCH
<Location "/">
    SetHandler goapi
</Location>
"""

    def test_known_methods(self):
        before = snapshot(self.httpd)
        for method, status in (("PROPFIND", 405), ("M-SEARCH", 405), ("POST", 405),
                               ("HEAD", 200), ("GET", 200)):
            self.assertEqual(self.httpd.request(method, "/healthz").status, status, method)
        # a method the route does not take: no route
        wanted = (req("other", "PROPFIND", 405), req("other", "M-SEARCH", 405),
                  req("other", "_OTHER", 405), req("/healthz", "_OTHER", 200),
                  req("/healthz", "GET", 200))
        after = settled(self.httpd, lambda snap: all(
            total(snap, **l) > total(before, **l) for l in wanted))
        for labels in wanted:
            self.assertEqual(total(after, **labels) - total(before, **labels), 1, labels)
        methods = {dict(l).get("http_request_method") for n, l in after
                   if n.startswith("http_server_")} - {None}
        self.assertEqual(methods, {"PROPFIND", "M-SEARCH", "GET", "_OTHER"})
        # the scrape itself: a GET being served
        self.assertEqual(value(after, "http_server_active_requests",
                               http_request_method="GET", url_scheme="http"), 1)


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
                 "GoapiMetricsRoute: 'a b' is not valid: a route name is printable ASCII"),
                ("<Location /a>\nGoapiMetricsRoute %s\n</Location>" % ("x" * 64),
                 "a route name has 1 to 63 characters"),
                ("<VirtualHost 127.0.0.1:@PORT@>\nGoapiMetrics Off\n</VirtualHost>",
                 "GoapiMetrics cannot occur within <VirtualHost> section"),
                ("GoapiMetrics maybe", "GoapiMetrics must be On or Off"),
                ("GoapiMetricsKnownMethods GET \"BR EW\"",
                 "GoapiMetricsKnownMethods: 'BR EW' is not valid: a method is an HTTP token"),
                ("GoapiMetricsKnownMethods GET _OTHER",
                 "GoapiMetricsKnownMethods: '_OTHER' is not valid: _OTHER stands for every "
                 "method"),
                ("GoapiMetricsKnownMethods " + " ".join("M%d" % i for i in range(16)),
                 "GoapiMetricsKnownMethods M15: at most 15 methods"),
                ("<VirtualHost 127.0.0.1:@PORT@>\nGoapiMetricsKnownMethods GET\n"
                 "</VirtualHost>",
                 "GoapiMetricsKnownMethods cannot occur within <VirtualHost> section")):
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
        snap = settled(self.httpd, lambda snap: total(snap, error_type="store_unavailable"))
        self.assertEqual(value(snap, "goapi_idempotency_requests_total",
                               outcome="store_error") - before, 1)
        self.assertEqual(total(snap, **req("/parcels/{parcelID}/dispatch", "POST", 503,
                                           error_type="store_unavailable")), 1)


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
    """A real Prometheus (exemplar storage on) scrapes the server every
    second, in OpenMetrics; its query API sees the requests per route and
    code, and its exemplar API the trace of a sampled request."""
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
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn",
             "--enable-feature=exemplar-storage"],
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
        series = 'http_server_request_duration_seconds_count{job="goapi",' \
                 'http_route="/parcels/{parcelID}",http_request_method="GET",' \
                 'http_response_status_code="%s"}'
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
        got = self.query('histogram_quantile(0.99, sum by (le, http_route) (rate('
                         'http_server_request_duration_seconds_bucket{job="goapi"}[1m])))')
        self.assertTrue(any(m.get("http_route") == "/parcels/{parcelID}" for m, _ in got), got)

    def query_exemplars(self, q, start, end):
        url = "http://127.0.0.1:%d/api/v1/query_exemplars?%s" % (
            self.port, urllib.parse.urlencode({"query": q, "start": start, "end": end}))
        with urllib.request.urlopen(url, timeout=5) as resp:
            data = json.load(resp)
        self.assertEqual(data["status"], "success", data)
        return data["data"]

    def test_prometheus_keeps_exemplars(self):
        start = time.time() - 5
        self.wait_query('up{job="goapi"}', lambda r: r and r[0][1] == 1)
        trace, parent = trace_ids()
        r = self.get("/parcels/p-traced",
                     headers={"traceparent": "00-%s-%s-01" % (trace, parent)})
        self.assertEqual(r.status, 200)
        # the query of docs/metrics.md: p99 by route, with its exemplars
        q = 'histogram_quantile(0.99, sum by (le, http_route) (rate(' \
            'http_server_request_duration_seconds_bucket{job="goapi"}[1m])))'
        deadline = time.monotonic() + 20
        seen = []
        while time.monotonic() < deadline:
            seen = [(s["seriesLabels"], e) for s in self.query_exemplars(
                        q, start, time.time() + 5) for e in s["exemplars"]]
            if any(e["labels"].get("trace_id") == trace for _, e in seen):
                break
            time.sleep(0.5)
        mine = [(labels, e) for labels, e in seen if e["labels"].get("trace_id") == trace]
        self.assertTrue(mine, seen)
        labels, e = mine[0]
        self.assertEqual(labels["http_route"], "/parcels/{parcelID}")
        self.assertEqual(labels["__name__"], "http_server_request_duration_seconds_bucket")
        self.assertRegex(e["labels"]["span_id"], "^[0-9a-f]{16}$")
        self.assertNotEqual(e["labels"]["span_id"], parent)
        self.assertLess(abs(float(e["timestamp"]) - time.time()), 60)



class MetricsSchemeAndProtocolTest(HttpdTestCase):
    """url_scheme and network_protocol_version as a real connection gives
    them: HTTPS through mod_ssl, and HTTP/2 (h2c, prior knowledge) through
    mod_http2, on one server with a TLS port of its own."""

    MODULES = ("ssl", "http2")

    @classmethod
    def before_start(cls):
        cls.tls_port = free_port()
        cls.FILES = self_signed_cert()

    @classmethod
    def conf_body(cls):
        return """
Protocols h2c http/1.1
Listen 127.0.0.1:%d
<VirtualHost 127.0.0.1:%d>
    SSLEngine on
    SSLCertificateFile @DIR@/conf/cert.pem
    SSLCertificateKeyFile @DIR@/conf/key.pem
</VirtualHost>
""" % (cls.tls_port, cls.tls_port)

    def test_https_and_http2_labelled(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", self.tls_port, timeout=10, context=ctx)
        self.addCleanup(conn.close)
        for _ in range(3):
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"ok\n"))
        h2 = H2Client(self.httpd.host, self.httpd.port)
        self.addCleanup(h2.close)
        for _ in range(2):
            status, body = h2.get("/startupz")
            self.assertEqual(body, b"started\n")
        self.assertEqual(self.get("/healthz").status, 200)

        def counted(snap):
            return total(snap, http_route="/healthz", url_scheme="https") >= 3 \
                and total(snap, http_route="/startupz", network_protocol_version="2") >= 2
        snap = settled(self.httpd, counted)
        self.assertEqual(total(snap, http_route="/healthz", url_scheme="https",
                               network_protocol_version="1.1"), 3)
        self.assertEqual(total(snap, http_route="/healthz", url_scheme="http"), 1)
        self.assertEqual(total(snap, http_route="/startupz", url_scheme="http",
                               network_protocol_version="2"), 2)
        self.assertEqual(total(snap, http_route="/startupz", network_protocol_version="1.1"), 0)

if __name__ == "__main__":
    unittest.main()
