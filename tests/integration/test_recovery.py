# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""GoapiIdempotencyRecovery against a real httpd (event and prefork) and a
backend with a recovery endpoint: a key whose child was killed mid-request
is resolved once its lease ends, by asking the backend.  Its recorded
outcome is replayed (now and on every retry); a key it never saw is taken
over and run, once; any other answer (409, 503, a redirect, a body over
the limit, no answer in time, a refused connection) leaves the key
unknown, with nothing recorded and nothing run.  Under load, with every
child killed: no key stuck, none run twice.  With the ledger on Redis, a
key lost on one host is resolved from another."""

import http.client
import json
import os
import re
import signal
import threading
import time
import unittest

from harness import Backend, Httpd, HttpdTestCase, RedisServer, free_port, run_threads
from test_idempotency import OUTCOME_UNKNOWN, digest, post

# a long fault run: "make faults" (tests/integration/run.py --suite faults)
SUITE = "faults"

LEASE = 1.0


class RecoveryBackend(Backend):
    """POST /op/<name> executes once per call, counted by Idempotency-Key:
    /op/slow takes 1.5 s, /op/drop... takes the first request of a key and
    hangs up after 3 s without acting on it.  GET /recovery answers about
    the key it is sent as `mode` says: "normal" (the recorded outcome, 409
    while running, 404 for a key never acted on), or a fixed answer."""

    QUEUE = 128

    def __init__(self):
        self.lock = threading.Lock()
        self.executions, self.outcomes, self.running, self.dropped = {}, {}, set(), set()
        self.questions = []
        self.mode = "normal"
        Backend.__init__(self)

    def handle(self, h):
        if h.command == "GET":
            return self.question(h)
        n = int(h.headers.get("Content-Length") or 0)
        h.rfile.read(n)
        key = h.headers.get("Idempotency-Key", "")
        if h.path.startswith("/op/drop"):
            with self.lock:
                first = key not in self.dropped
                self.dropped.add(key)
            if first:
                time.sleep(3)
                h.close_connection = True
                return
        with self.lock:
            self.executions[key] = self.executions.get(key, 0) + 1
            nth = self.executions[key]
            self.running.add(key)
        time.sleep(1.5 if h.path.startswith("/op/slow") else 0.05)
        body = json.dumps({"key": key, "run": nth}).encode()
        answer = (201, body, (("Content-Type", "application/json"),
                              ("Location", "/things/%s/%d" % (key.strip('"'), nth))))
        with self.lock:
            self.outcomes[key] = answer
            self.running.discard(key)
        self.send(h, *answer)

    def question(self, h):
        key = h.headers.get("Idempotency-Key", "")
        with self.lock:
            self.questions.append(dict(h.headers.items()))
            mode = self.mode
            outcome = self.outcomes.get(key)
            running = key in self.running
        if mode == "normal":
            if outcome:
                status, body, headers = outcome
                if key.endswith('-chunked"') or key.endswith("-chunked"):
                    return self.chunked(h, status, body, headers)
                return self.send(h, status, body, headers)
            return self.send(h, 409 if running else 404, b"{}")
        if mode == "hang":
            time.sleep(6)
            h.close_connection = True
            return None
        if mode == "redirect":
            return self.send(h, 302, b"", (("Location", "/elsewhere"),))
        if mode == "big":
            return self.send(h, 200, b"b" * 10000)
        return self.send(h, int(mode), b"{}")

    @staticmethod
    def chunked(h, status, body, headers):
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        half = len(body) // 2
        for part in (body[:half], body[half:]):
            h.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        h.wfile.write(b"0\r\n\r\n")

    def runs(self, key):
        with self.lock:
            return self.executions.get(key, 0)


class RecoveryEvent(HttpdTestCase):
    MPM = "event"
    MODULES = ("proxy", "proxy_http")

    @classmethod
    def before_start(cls):
        cls.backend = RecoveryBackend()
        cls.dead_port = free_port()

    @classmethod
    def after_stop(cls):
        cls.backend.stop()

    # a child (prefork) or thread for each of the 16 keys sent at once
    MPM_LINES = ""
    SERVER = ""

    @classmethod
    def conf_body(cls):
        return cls.MPM_LINES + cls.SERVER + """
GoapiWriteTimeout 4s
<Location "/api/">
    ProxyPass "http://127.0.0.1:%(port)d/"
    GoapiIdempotency On
    GoapiIdempotencyLease %(lease)gs
    GoapiIdempotencyMaxResponse 4K
    GoapiIdempotencyRecovery http://127.0.0.1:%(port)d/recovery
</Location>
<Location "/refused/">
    ProxyPass "http://127.0.0.1:%(port)d/"
    GoapiIdempotency On
    GoapiIdempotencyLease %(lease)gs
    GoapiIdempotencyRecovery http://127.0.0.1:%(dead)d/recovery
</Location>
""" % {"port": cls.backend.port, "lease": LEASE, "dead": cls.dead_port}

    def setUp(self):
        super().setUp()
        self.backend.mode = "normal"
        self.allowed_errors.append(r"exit signal Killed")

    def key(self, name):
        return "%s-%s-%d" % (name, self.MPM, int(time.time() * 1000) % 10**8)

    def claimed_pids(self, keys, offset):
        log = self.httpd.read(self.httpd.error_log, offset)
        pids = {}
        for k in keys:
            m = re.search(r"\[pid (\d+):tid .*Idempotency-Key %s claimed" % digest(k), log)
            if m:
                pids[k] = int(m.group(1))
        return pids

    def kill_holders(self, path_of, keys):
        """Send each key's request, kill every child that claimed one once
        all are claimed (and the backend has them); the time of the kill."""
        offset = self.httpd.log_size()
        threads = [threading.Thread(target=self.quiet_post, args=(path_of(k), k))
                   for k in keys]
        for t in threads:
            t.start()
        pids = {}
        for _ in range(200):
            pids = self.claimed_pids(keys, offset)
            if len(pids) == len(keys):
                break
            time.sleep(0.02)
        time.sleep(0.3)                 # forwarded: the backend has them
        t_kill = time.monotonic()
        for pid in set(pids.values()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 15
        for t in threads:
            t.join(max(0.1, deadline - time.monotonic()))
        self.assertEqual(len(pids), len(keys), "not every key was claimed")
        return t_kill

    def quiet_post(self, path, key):
        try:
            post(self.httpd, path, key, timeout=10)
        except Exception:               # noqa: BLE001 - its child was killed
            pass

    def after_lease(self, t_kill, more=0.0):
        time.sleep(max(0.0, LEASE + 0.3 + more - (time.monotonic() - t_kill)))

    def metric(self, outcome):
        text = self.httpd.request("GET", "/metrics").text
        m = re.search(r'(?m)^goapi_idempotency_requests_total\{outcome="%s"\} (\d+)$'
                      % outcome, text)
        return int(m.group(1)) if m else 0

    # -- the backend knows -------------------------------------------------
    def test_backend_outcome_replayed(self):
        for suffix in ("", "-chunked"):
            with self.subTest(answer="chunked" if suffix else "content-length"):
                key = self.key("done") + suffix
                before = self.metric("recovered_replayed")
                t_kill = self.kill_holders(lambda k: "/api/op/slow", [key])
                self.after_lease(t_kill, 1.5)   # and the backend has finished
                r = post(self.httpd, "/api/op/slow", key)
                self.assertEqual(r.status, 201, r.body)
                self.assertEqual(r.header("Idempotent-Replayed"), "true")
                self.assertEqual(json.loads(r.body), {"key": key, "run": 1})
                self.assertEqual(r.header("Location"), "/things/%s/1" % key)
                rid = self.assertIDs(r)
                # the question carried the key as forwarded, the request's
                # IDs, its trace context and its time left
                q = self.backend.questions[-1]
                self.assertEqual(q["Idempotency-Key"], key)
                self.assertEqual(q["X-Request-ID"], rid)
                self.assertRegex(q["traceparent"], r"^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$")
                self.assertLessEqual(int(q["X-Request-Timeout-Ms"]), 4000)
                # recorded: replayed again without a question
                asked = len(self.backend.questions)
                r = post(self.httpd, "/api/op/slow", key)
                self.assertEqual((r.status, r.header("Idempotent-Replayed")), (201, "true"))
                self.assertEqual(len(self.backend.questions), asked)
                self.assertEqual(self.backend.runs(key), 1)
                self.assertEqual(self.metric("recovered_replayed") - before, 1)
                self.assertIn("Idempotency-Key %s: outcome unknown; the backend answered 201"
                              % digest(key), self.httpd.read(self.httpd.error_log))

    def test_never_seen_is_run_once(self):
        key = self.key("never")
        before = self.metric("recovered_ran")
        t_kill = self.kill_holders(lambda k: "/api/op/drop", [key])
        self.assertEqual(self.backend.runs(key), 0)
        self.after_lease(t_kill)
        r = post(self.httpd, "/api/op/drop", key)
        self.assertEqual(r.status, 201, r.body)
        self.assertIsNone(r.header("Idempotent-Replayed"))
        self.assertEqual(json.loads(r.body)["run"], 1)
        self.assertEqual(self.backend.runs(key), 1)
        self.assertEqual(self.metric("recovered_ran") - before, 1)
        r = post(self.httpd, "/api/op/drop", key)
        self.assertEqual((r.status, r.header("Idempotent-Replayed")), (201, "true"))
        self.assertEqual(self.backend.runs(key), 1)

    # -- the backend does not know (yet) -------------------------------------
    def assert_unknown(self, path, key):
        r = post(self.httpd, path, key, timeout=15)
        self.assertEqual(r.status, 409, r.body)
        self.assertEqual(json.loads(r.body)["type"], OUTCOME_UNKNOWN)
        self.assertIsNone(r.header("Retry-After"))
        return r

    # every answer under one MPM; the MPM changes none of them
    UNKNOWN_ANSWERS = ("409", "425", "503", "redirect", "big", "hang")

    def test_other_answers_leave_the_key_unknown(self):
        for mode in self.UNKNOWN_ANSWERS:
            with self.subTest(mode=mode):
                key = self.key("unknown-" + mode)
                before = self.metric("recovery_unknown")
                t_kill = self.kill_holders(lambda k: "/api/op/drop", [key])
                self.after_lease(t_kill)
                self.backend.mode = mode
                t0 = time.monotonic()
                self.assert_unknown("/api/op/drop", key)
                if mode == "hang":
                    # bounded by the request's deadline (GoapiWriteTimeout 4s)
                    self.assertLess(time.monotonic() - t0, 5.0)
                self.assertEqual(self.metric("recovery_unknown") - before, 1)
                self.assertEqual(self.backend.runs(key), 0)
                # nothing was recorded: once the backend answers, it decides
                self.backend.mode = "normal"
                time.sleep(1.1)         # a key is asked at most once a second
                r = post(self.httpd, "/api/op/drop", key)
                self.assertEqual(r.status, 201, r.body)
                self.assertEqual(self.backend.runs(key), 1)

    def test_asked_at_most_once_a_second(self):
        """The question carries the correlation ID; a retry within a second
        of the last question gets 409 without a new one; the question is
        no request of httpd's own (no line in the access log)."""
        key = self.key("once-a-second")
        t_kill = self.kill_holders(lambda k: "/api/op/drop", [key])
        self.after_lease(t_kill)
        self.backend.mode = "503"
        asked = len(self.backend.questions)
        # one connection, so one process: the interval is each process's
        conn = http.client.HTTPConnection(self.httpd.host, self.httpd.port, timeout=15)
        self.addCleanup(conn.close)

        def unknown():
            conn.request("POST", "/api/op/drop", body=b"{}",
                         headers={"Idempotency-Key": key, "Content-Type": "application/json"})
            r = conn.getresponse()
            body = r.read()
            self.assertEqual(r.status, 409, body)
            self.assertEqual(json.loads(body)["type"], OUTCOME_UNKNOWN)
            return r

        r = unknown()
        self.assertEqual(len(self.backend.questions), asked + 1)
        q = self.backend.questions[-1]
        self.assertEqual(q["X-Correlation-ID"], r.getheader("X-Correlation-ID"))
        self.backend.mode = "normal"
        unknown()
        self.assertEqual(len(self.backend.questions), asked + 1)
        self.assertFalse(any("/recovery" in line for line in self.httpd.access_lines()))
        time.sleep(1.1)
        self.assertEqual(post(self.httpd, "/api/op/drop", key).status, 201)
        self.assertEqual(self.backend.runs(key), 1)

    def test_refused_connection_leaves_the_key_unknown(self):
        key = self.key("refused")
        t_kill = self.kill_holders(lambda k: "/refused/op/drop", [key])
        self.after_lease(t_kill)
        self.assert_unknown("/refused/op/drop", key)
        self.assertIn("Idempotency-Key %s: outcome still unknown; connect:" % digest(key),
                      self.httpd.read(self.httpd.error_log))
        self.assertEqual(self.backend.runs(key), 0)

    # -- under load ------------------------------------------------------------
    def test_killed_children_under_load_every_key_resolves_once(self):
        keys = [self.key("load-%02d" % i) for i in range(16)]
        path_of = (lambda k: "/api/op/drop" if int(k.split("-")[1]) % 2 else "/api/op/slow")
        t_kill = self.kill_holders(path_of, keys)
        self.after_lease(t_kill, 1.5)
        final, errors, lock = {}, [], threading.Lock()

        def retry(k):
            try:
                for _ in range(60):
                    r = post(self.httpd, path_of(k), k, timeout=15)
                    if r.status not in (409, 503):
                        with lock:
                            final[k] = r
                        return
                    time.sleep(0.25)
            except Exception as e:      # noqa: BLE001 - reported below
                with lock:
                    errors.append(repr(e))

        run_threads([threading.Thread(target=retry, args=(k,)) for k in keys], 60)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(final), sorted(keys), "keys still unresolved")
        for k in keys:
            self.assertEqual(final[k].status, 201, (k, final[k].body))
            self.assertEqual(self.backend.runs(k), 1, k)


class RecoveryPrefork(RecoveryEvent):
    MPM = "prefork"
    MPM_LINES = ("ServerLimit 24\nStartServers 20\nMinSpareServers 20\n"
                 "MaxSpareServers 24\nMaxRequestWorkers 24\n")


class RecoveryProblemBase(RecoveryEvent):
    """The "Outcome unknown" 409 under GoapiProblemTypeBase: its type is the
    base's page, and a Link names it (RecoveryEvent's other tests are not
    run again here)."""
    SERVER = "GoapiProblemTypeBase https://errors.example.com/goapi/\n"
    test_backend_outcome_replayed = None
    test_never_seen_is_run_once = None
    test_other_answers_leave_the_key_unknown = None
    test_asked_at_most_once_a_second = None
    test_refused_connection_leaves_the_key_unknown = None
    test_killed_children_under_load_every_key_resolves_once = None

    def test_outcome_unknown_links_its_page(self):
        key = self.key("unknown-base")
        t_kill = self.kill_holders(lambda k: "/api/op/drop", [key])
        self.after_lease(t_kill)
        self.backend.mode = "503"
        r = post(self.httpd, "/api/op/drop", key, timeout=15)
        self.assertEqual(r.status, 409, r.body)
        page = "https://errors.example.com/goapi/idempotency-outcome-unknown"
        self.assertEqual(json.loads(r.body)["type"], page)
        self.assertEqual(r.header("Link"), '<%s>; rel="describedby"' % page)
        self.assertEqual(self.backend.runs(key), 0)


class RecoveryTwoHostsRedis(unittest.TestCase):
    """The ledger on Redis, two hosts (event and prefork): a key whose
    holder was killed on one host is resolved by a retry on the other, and
    what it recorded is replayed on both."""

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.cleanup)
        self.backend = RecoveryBackend()
        self.addCleanup(self.backend.stop)
        self.hosts = []
        for mpm in ("event", "prefork"):
            h = Httpd("""
GoapiIdempotencyStore redis://127.0.0.1:%(redis)d/5
GoapiIdempotencyReplayCache 0
GoapiWriteTimeout 4s
<Location "/api/">
    ProxyPass "http://127.0.0.1:%(port)d/"
    GoapiIdempotency On
    GoapiIdempotencyLease %(lease)gs
    GoapiIdempotencyRecovery http://127.0.0.1:%(port)d/recovery
</Location>
""" % {"redis": self.redis.port, "port": self.backend.port, "lease": LEASE},
                      modules=("proxy", "proxy_http"), mpm=mpm)
            self.hosts.append(h)
            self.addCleanup(h.cleanup)
            h.start()

    def tearDown(self):
        for h in self.hosts:
            h.stop()
            bad = h.bad_lines(allowed=(r"exit signal Killed",))
            self.assertEqual(bad, [], "\n".join(bad))

    def kill_on(self, h, path, key):
        offset = h.log_size()
        t = threading.Thread(target=lambda: self.quiet(h, path, key))
        t.start()
        pid = None
        for _ in range(200):
            m = re.search(r"\[pid (\d+):tid .*Idempotency-Key %s claimed" % digest(key),
                          h.read(h.error_log, offset))
            if m:
                pid = int(m.group(1))
                break
            time.sleep(0.02)
        time.sleep(0.3)
        if pid:
            os.kill(pid, signal.SIGKILL)
        t.join(15)
        self.assertIsNotNone(pid, "no claim logged")
        return time.monotonic()

    @staticmethod
    def quiet(h, path, key):
        try:
            post(h, path, key, timeout=10)
        except Exception:               # noqa: BLE001 - its child was killed
            pass

    def test_resolved_on_the_other_host(self):
        a, b = self.hosts
        done, never = "redis-done-%d" % os.getpid(), "redis-never-%d" % os.getpid()
        t_kill = self.kill_on(a, "/api/op/slow", done)
        self.kill_on(a, "/api/op/drop", never)
        time.sleep(max(0.0, LEASE + 1.8 - (time.monotonic() - t_kill)))
        # the backend's outcome, recorded from host b, replayed on both
        r = post(b, "/api/op/slow", done)
        self.assertEqual((r.status, r.header("Idempotent-Replayed")), (201, "true"), r.body)
        self.assertEqual(json.loads(r.body)["run"], 1)
        r = post(a, "/api/op/slow", done)
        self.assertEqual((r.status, r.header("Idempotent-Replayed")), (201, "true"), r.body)
        # never seen: run once, from host b; then a replay on host a
        r = post(b, "/api/op/drop", never)
        self.assertEqual((r.status, r.header("Idempotent-Replayed")), (201, None), r.body)
        r = post(a, "/api/op/drop", never)
        self.assertEqual((r.status, r.header("Idempotent-Replayed")), (201, "true"), r.body)
        self.assertEqual((self.backend.runs(done), self.backend.runs(never)), (1, 1))

    def test_unknown_answer_then_resolved_on_the_other_host(self):
        a, b = self.hosts
        key = "redis-unknown-%d" % os.getpid()
        t_kill = self.kill_on(a, "/api/op/drop", key)
        time.sleep(max(0.0, LEASE + 0.3 - (time.monotonic() - t_kill)))
        # the backend cannot say: unknown on either host, nothing run
        self.backend.mode = "503"
        for h in (b, a):
            r = post(h, "/api/op/drop", key, timeout=15)
            self.assertEqual(r.status, 409, r.body)
            self.assertEqual(json.loads(r.body)["type"], OUTCOME_UNKNOWN)
        self.assertEqual(self.backend.runs(key), 0)
        # it can again: run once from host b, replayed on host a
        self.backend.mode = "normal"
        time.sleep(1.1)
        r = post(b, "/api/op/drop", key)
        self.assertEqual((r.status, r.header("Idempotent-Replayed")), (201, None), r.body)
        r = post(a, "/api/op/drop", key)
        self.assertEqual((r.status, r.header("Idempotent-Replayed")), (201, "true"), r.body)
        self.assertEqual(self.backend.runs(key), 1)
