# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Idempotency-Key enforcement against a real httpd: one execution among
many concurrent retries (mod_goapi's own dispatch route and a mod_proxy
backend that counts), replays with the original headers, 409 while in
flight, 422 on a changed request, 400/413, the claim released when the
backend was never reached, records across graceful and full restarts, and
the lease after a child is killed mid-request."""

import hashlib
import json
import os
import re
import signal
import threading
import time

from harness import BackendTestCase, HttpdTestCase, parse_raw, run_threads

PROBLEM = "application/problem+json"
OUTCOME_UNKNOWN = "urn:goapi:problem:idempotency-outcome-unknown"


def digest(key):
    """How the error log names a key: never the key itself."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def post(httpd, path, key=None, body=b"{}", headers=None, timeout=10):
    h = dict(headers or {})
    if key is not None:
        h["Idempotency-Key"] = key
    return httpd.request("POST", path, headers=h, body=body, timeout=timeout)


def until_done(httpd, path, key, body=b"{}", tries=400):
    """What a client that retries on 409 "in progress" finally gets."""
    for _ in range(tries):
        r = post(httpd, path, key, body)
        if r.status != 409 or b"in progress" not in r.body:
            return r
        time.sleep(0.02)
    raise AssertionError("still in progress after %d tries" % tries)


def hammer(httpd, path, key, clients=50, per_client=20, body=b"{}"):
    """clients threads, per_client requests each, one key: the final
    answers (status, Location, body, replayed) and the errors."""
    out, errors, lock = [], [], threading.Lock()

    def client():
        for _ in range(per_client):
            try:
                r = until_done(httpd, path, key, body)
                with lock:
                    out.append((r.status, r.header("Location"), r.body,
                                r.header("Idempotent-Replayed")))
            except Exception as e:      # noqa: BLE001 - reported below
                with lock:
                    errors.append(repr(e))

    run_threads([threading.Thread(target=client) for _ in range(clients)], 120)
    return out, errors


class IdempotencyTest(BackendTestCase):

    @classmethod
    def conf_body(cls):
        return """
<Location "/parcels/">
    SetHandler goapi
    GoapiIdempotency On
</Location>
<Location "/api/">
    ProxyPass "http://127.0.0.1:%(port)d/"
    GoapiIdempotency On
    GoapiIdempotencyMaxBody 1K
    GoapiIdempotencyMaxResponse 4K
</Location>
<Location "/strict/">
    ProxyPass "http://127.0.0.1:%(port)d/"
    GoapiIdempotency On
    GoapiIdempotencyRequired On
    GoapiIdempotencyMethods POST PUT DELETE
</Location>
<Location "/down/">
    ProxyPass "http://127.0.0.1:%(dead)d/" retry=0
    GoapiIdempotency On
</Location>
<Location "/override/">
    ProxyPass "http://127.0.0.1:%(port)d/"
    ProxyErrorOverride On
    GoapiIdempotency On
</Location>
""" % {"port": cls.backend.port, "dead": cls.dead_port}

    def executions(self, prefix):
        with self.backend.lock:
            return sum(1 for q in self.backend.requests if q["path"].startswith(prefix))

    def assertProblem(self, r, status, title_part):
        self.assertEqual(r.status, status, r.body)
        self.assertEqual(r.header("Content-Type"), PROBLEM)
        doc = json.loads(r.body)
        self.assertEqual(doc["status"], status)
        self.assertIn(title_part, doc["title"])
        self.assertTrue(doc["detail"])
        rid = self.assertIDs(r)
        self.assertEqual(doc["request_id"], rid)
        self.assertEqual(doc["correlation_id"], rid)
        return doc

    # -- exactly once ------------------------------------------------------
    def test_dispatch_route_runs_once_among_1000_requests(self):
        out, errors = hammer(self.httpd, "/parcels/p-1000/dispatch", "dispatch-p-1000")
        self.assertEqual(errors, [])
        self.assertEqual(len(out), 1000)
        self.assertEqual(len({o[:3] for o in out}), 1, set(o[:3] for o in out))
        status, location, body, _ = out[0]
        self.assertEqual(status, 201)
        n = int(re.fullmatch(r"/parcels/p-1000/dispatches/(\d+)", location).group(1))
        self.assertEqual(body, b"dispatch %d created for p-1000\n" % n)
        self.assertEqual(sum(1 for o in out if o[3] is None), 1)    # one original
        # the counter moved once: the next key gets the next number
        r = post(self.httpd, "/parcels/p-1000/dispatch", "dispatch-p-1000-next")
        self.assertEqual(r.header("Location"), "/parcels/p-1000/dispatches/%d" % (n + 1))

    def test_proxied_backend_executes_once_among_1000_requests(self):
        before = self.executions("/create/once")
        out, errors = hammer(self.httpd, "/api/create/once", "create-once-1")
        self.assertEqual(errors, [])
        self.assertEqual(len(out), 1000)
        self.assertEqual(self.executions("/create/once") - before, 1)
        self.assertEqual(len({o[:3] for o in out}), 1)
        self.assertEqual(out[0][0], 201)

    # -- replay --------------------------------------------------------------
    def test_concurrent_first_executions_run_once_each(self):
        """600 first executions at once (32 clients), each with its own key,
        half on the dispatch route and half proxied: the claims, counter
        increments and completions of concurrent requests share the ledger's
        commits, and still each runs once, gets its own dispatch number and
        is recorded (its retry replays it)."""
        n, clients = 600, 32
        keys = ["gc-%d" % i for i in range(n)]

        def path(i):
            return "/parcels/p-gc-%d/dispatch" % i if i % 2 == 0 else "/api/create/gc-%d" % i

        def run_all():
            work = list(range(n))
            out, errors, lock = {}, [], threading.Lock()

            def client():
                while True:
                    with lock:
                        if not work:
                            return
                        i = work.pop()
                    try:
                        r = post(self.httpd, path(i), keys[i])
                        with lock:
                            out[i] = (r.status, r.header("Location"),
                                      r.header("Idempotent-Replayed"), r.body)
                    except Exception as e:      # noqa: BLE001 - reported below
                        with lock:
                            errors.append(repr(e))

            run_threads([threading.Thread(target=client) for _ in range(clients)], 60)
            self.assertEqual(errors, [])
            self.assertEqual(len(out), n)
            return out

        before = self.executions("/create/gc-")
        t0 = time.monotonic()
        firsts = run_all()
        took = time.monotonic() - t0
        numbers = set()
        for i, (status, location, replayed, body) in firsts.items():
            self.assertEqual(status, 201, (i, body))
            self.assertIsNone(replayed, i)
            if i % 2 == 0:
                m = re.fullmatch(r"/parcels/p-gc-%d/dispatches/(\d+)" % i, location)
                self.assertIsNotNone(m, location)
                numbers.add(int(m.group(1)))
        # the dispatch counter handed out each number once
        self.assertEqual(len(numbers), n // 2)
        self.assertEqual(self.executions("/create/gc-") - before, n // 2)

        replays = run_all()
        for i, (status, location, replayed, body) in replays.items():
            self.assertEqual((status, location, replayed, body),
                             (201, firsts[i][1], "true", firsts[i][3]), i)
        self.assertEqual(self.executions("/create/gc-") - before, n // 2)
        print("\n  %d first executions by %d clients in %.2f s" % (n, clients, took))

    def test_replay_carries_the_original_response(self):
        first = post(self.httpd, "/api/create/replay", '"replay-key-1"', b'{"a":1}')
        self.assertEqual(first.status, 201)
        self.assertIsNone(first.header("Idempotent-Replayed"))
        again = post(self.httpd, "/api/create/replay", '"replay-key-1"', b'{"a":1}')
        self.assertEqual(again.status, 201)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        for name in ("Location", "ETag", "Cache-Control", "Content-Type"):
            self.assertEqual(again.header(name), first.header(name), name)
        self.assertEqual(again.body, first.body)
        self.assertEqual(self.executions("/create/replay"), 1)
        # its own request ID, not the stored one
        self.assertNotEqual(self.assertIDs(again), self.assertIDs(first))
        self.assertEqual(len(again.all("X-Request-ID")), 1)
        self.assertEqual(again.header("Content-Length"), str(len(first.body)))

    def test_keys_are_separate_and_other_methods_pass(self):
        a = post(self.httpd, "/api/create/sep", "sep-a")
        b = post(self.httpd, "/api/create/sep", "sep-b")
        self.assertNotEqual(a.header("Location"), b.header("Location"))
        # GET is not covered: never replayed
        g1 = self.get("/api/echo", {"Idempotency-Key": "sep-a"})
        g2 = self.get("/api/echo", {"Idempotency-Key": "sep-a"})
        self.assertIsNone(g2.header("Idempotent-Replayed"))
        self.assertEqual((g1.status, g2.status), (200, 200))
        # no key, not required: passes through each time
        before = self.executions("/create/nokey")
        post(self.httpd, "/api/create/nokey")
        post(self.httpd, "/api/create/nokey")
        self.assertEqual(self.executions("/create/nokey") - before, 2)

    # -- refusals ------------------------------------------------------------
    def test_conflict_while_in_flight(self):
        res = {}
        t = threading.Thread(target=lambda: res.update(
            first=post(self.httpd, "/api/sleep/1.5", "slow-key-1")))
        t.start()
        time.sleep(0.5)
        r = post(self.httpd, "/api/sleep/1.5", "slow-key-1")
        self.assertProblem(r, 409, "in progress")
        self.assertEqual(r.header("Retry-After"), "1")
        t.join(10)
        self.assertEqual(res["first"].status, 200)
        r = post(self.httpd, "/api/sleep/1.5", "slow-key-1")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Idempotent-Replayed"), "true")
        self.assertEqual(self.executions("/sleep/1.5"), 1)

    def test_changed_request_gets_422(self):
        self.assertEqual(post(self.httpd, "/api/create/fp", "fp-key", b'{"n":1}').status, 201)
        self.assertProblem(post(self.httpd, "/api/create/fp", "fp-key", b'{"n":2}'),
                           422, "reused")
        self.assertProblem(post(self.httpd, "/api/create/fp?x=1", "fp-key", b'{"n":1}'),
                           422, "reused")
        self.assertProblem(self.httpd.request("PATCH", "/api/create/fp", body=b'{"n":1}',
                                              headers={"Idempotency-Key": "fp-key"}),
                           422, "reused")
        self.assertEqual(self.executions("/create/fp"), 1)

    def test_missing_and_invalid_keys(self):
        before = self.executions("/strict/")
        self.assertProblem(post(self.httpd, "/strict/create/x"), 400, "required")
        r = self.httpd.request("DELETE", "/strict/thing", headers={})
        self.assertProblem(r, 400, "required")
        for bad in ('"unterminated', "a b", '"' + "k" * 300 + '"', "k\u00e9y", '"a" ;p=1'):
            r = post(self.httpd, "/strict/create/x", bad)
            doc = self.assertProblem(r, 400, "Invalid")
            self.assertNotIn("unterminated", r.body.decode())
            self.assertNotIn("kkkk", doc["detail"])
        # two keys in one request are refused, not merged
        r = parse_raw(self.httpd.raw(b"POST /strict/create/x HTTP/1.1\r\nHost: localhost\r\n"
                           b"Idempotency-Key: one\r\nIdempotency-Key: two\r\n"
                           b"Content-Length: 0\r\nConnection: close\r\n\r\n"))
        self.assertEqual(r.status, 400)
        self.assertEqual(self.executions("/strict/") , before)

    def test_large_body_gets_413_and_nothing_runs(self):
        before = self.executions("/create/big")
        r = post(self.httpd, "/api/create/big", "big-body-key", b"x" * 2048)
        self.assertProblem(r, 413, "too large")
        self.assertEqual(self.executions("/create/big"), before)
        # the key was never claimed: a request within the limit runs
        self.assertEqual(post(self.httpd, "/api/create/big", "big-body-key", b"x" * 1024).status,
                         201)

    def test_large_response_is_not_replayed_and_not_run_again(self):
        first = post(self.httpd, "/api/big/10000", "big-resp-key")
        self.assertEqual((first.status, len(first.body)), (200, 10000))
        r = post(self.httpd, "/api/big/10000", "big-resp-key")
        doc = self.assertProblem(r, 409, "not replayable")
        self.assertIn("GoapiIdempotencyMaxResponse", doc["detail"])
        self.assertEqual(self.executions("/big/10000"), 1)

    def test_unreached_backend_releases_the_key(self):
        self.allowed_errors += [r"AH00957", r"AH00959", r"AH01114", r"AH02807"]
        for _ in range(2):
            r = post(self.httpd, "/down/create", "down-key")
            self.assertEqual(r.status, 503)
            self.assertIsNone(r.header("Idempotent-Replayed"))
        log = self.httpd.read(self.httpd.error_log)
        self.assertEqual(log.count("Idempotency-Key %s released" % digest("down-key")), 2)
        self.assertNotIn("down-key", log)

    def test_keys_never_reach_the_error_log(self):
        # a key that is a secret (an API token pasted by mistake, say)
        secret = "tok_live_4f9c2b7e1d8a6c3f"
        offset = self.httpd.log_size()
        self.assertEqual(post(self.httpd, "/api/create/secret", secret).status, 201)
        self.assertEqual(post(self.httpd, "/api/create/secret", secret).status, 201)
        # same key, another request: refused, and still not in the log
        self.assertEqual(post(self.httpd, "/parcels/s1/dispatch", secret).status, 422)
        log = self.httpd.read(self.httpd.error_log, offset)
        # claimed and completed (LogLevel goapi:debug), by digest only
        self.assertEqual(log.count(digest(secret)), 2, log)
        self.assertNotIn(secret, log)
        self.assertNotIn(secret[4:], log)

    def test_backend_broken_mid_body_is_not_replayed(self):
        self.allowed_errors += [r"AH01110", r"AH01102", r"AH00898"]
        # raw bytes up to the close: the cut is seen, never raised
        data = self.httpd.raw(b"POST /api/broken/3000 HTTP/1.1\r\nHost: localhost\r\n"
                              b"Idempotency-Key: broken-key\r\nContent-Length: 2\r\n"
                              b"Connection: close\r\n\r\n{}")
        head, sep, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), data[:200])
        self.assertEqual(sep, b"\r\n\r\n", data[:200])
        # 6000 bytes promised, fewer delivered before the close
        self.assertIn(b"\r\nContent-Length: 6000\r\n", head + b"\r\n")
        self.assertLess(len(body), 6000)
        r = post(self.httpd, "/api/broken/3000", "broken-key")
        self.assertProblem(r, 409, "not replayable")
        self.assertEqual(self.executions("/broken/3000"), 1)

    def test_backend_503_with_error_override_is_recorded(self):
        # the backend answered: it may have applied the request
        first = post(self.httpd, "/override/status/503", "override-key")
        self.assertEqual(first.status, 503)
        again = post(self.httpd, "/override/status/503", "override-key")
        self.assertEqual(again.status, 503)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertEqual(self.executions("/status/503"), 1)

    def test_client_gone_mid_response_still_records(self):
        import socket
        s = socket.create_connection((self.httpd.host, self.httpd.port))
        s.sendall(b"POST /api/sleep/0.5 HTTP/1.1\r\nHost: localhost\r\n"
                  b"Idempotency-Key: gone-key\r\nContent-Length: 2\r\n\r\n{}")
        time.sleep(0.1)
        s.close()                       # before the backend answers
        time.sleep(1.0)
        r = post(self.httpd, "/api/sleep/0.5", "gone-key")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Idempotent-Replayed"), "true")
        self.assertEqual(self.executions("/sleep/0.5"), 1)



class BrokenMidBodyWorkerTest(BackendTestCase):
    """A backend's answer cut mid-body, under worker (and prefork below)."""
    MPM = "worker"
    conf_body = classmethod(IdempotencyTest.conf_body.__func__)
    executions = IdempotencyTest.executions
    assertProblem = IdempotencyTest.assertProblem
    test_backend_broken_mid_body_is_not_replayed = \
        IdempotencyTest.test_backend_broken_mid_body_is_not_replayed


class BrokenMidBodyPreforkTest(BrokenMidBodyWorkerTest):
    MPM = "prefork"


class IdempotencyStoreFullTest(BackendTestCase):
    """A full store refuses new keys with 503 and drops nothing it has."""

    @classmethod
    def conf_body(cls):
        return """
GoapiIdempotencyStore lmdb:small.mdb 1M
<Location "/api/">
    ProxyPass "http://127.0.0.1:%d/"
    GoapiIdempotency On
    GoapiIdempotencyMaxResponse 64K
</Location>
""" % cls.backend.port

    def test_full_store(self):
        self.allowed_errors += [r"GOAPI00039", r"GOAPI00045"]
        answered, refused = [], None
        for i in range(200):                    # 1 MiB holds about 16 of these
            r = post(self.httpd, "/api/big/60000", "full-%d" % i)
            if r.status == 503:
                refused = r
                break
            self.assertEqual(r.status, 200)
            answered.append(i)
        self.assertIsNotNone(refused, "the store never filled")
        self.assertGreater(len(answered), 5)
        self.assertEqual(refused.header("Retry-After"), "60")
        self.assertEqual(refused.header("Content-Type"), PROBLEM)
        self.assertIn("store full", json.loads(refused.body)["title"])
        log = self.httpd.read(self.httpd.error_log)
        self.assertIn("the store is full", log)
        # nothing recorded was dropped: every earlier key still answers
        # without running again (a replay, or 409 when its body did not fit)
        before = len(self.backend.requests)
        for i in answered:
            r = post(self.httpd, "/api/big/60000", "full-%d" % i)
            self.assertIn(r.status, (200, 409), r.body[:200])
            if r.status == 200:
                self.assertEqual(r.header("Idempotent-Replayed"), "true")
        self.assertEqual(len(self.backend.requests), before)


class IdempotencyRestartTest(HttpdTestCase):
    """Records and the dispatch counter outlive graceful and full restarts."""

    CONF = """
<Location "/parcels/">
    SetHandler goapi
    GoapiIdempotency On
</Location>
"""

    def test_records_survive_graceful_and_full_restart(self):
        first = post(self.httpd, "/parcels/r1/dispatch", "restart-key")
        self.assertEqual(first.status, 201)
        self.httpd.send_signal(signal.SIGUSR1)
        time.sleep(1.5)
        r = post(self.httpd, "/parcels/r1/dispatch", "restart-key")
        self.assertEqual((r.status, r.header("Location"), r.body),
                         (201, first.header("Location"), first.body))
        self.assertEqual(r.header("Idempotent-Replayed"), "true")

        self.assertEqual(self.httpd.stop(), 0)
        self.httpd.start()
        r = post(self.httpd, "/parcels/r1/dispatch", "restart-key")
        self.assertEqual((r.status, r.header("Location"), r.body),
                         (201, first.header("Location"), first.body))
        self.assertEqual(r.header("Idempotent-Replayed"), "true")
        n = int(first.header("Location").rsplit("/", 1)[1])
        r = post(self.httpd, "/parcels/r1/dispatch", "restart-key-2")
        self.assertEqual(r.header("Location"), "/parcels/r1/dispatches/%d" % (n + 1))


class DirectoryDefaultsTest(HttpdTestCase):
    """Directory settings written at server level reach every virtual host
    that does not set its own, a virtual host's own win, and the defaults
    of what nobody set (methods POST and PATCH) hold: the directory records
    are complete once the configuration is read."""

    CONF = """
GoapiIdempotencyRequired On
<Location "/parcels/">
    SetHandler goapi
    GoapiIdempotency On
</Location>
<VirtualHost 127.0.0.1:@PORT@>
    ServerName localhost
</VirtualHost>
<VirtualHost 127.0.0.1:@PORT@>
    ServerName relaxed.test
    GoapiIdempotencyRequired Off
</VirtualHost>
<VirtualHost 127.0.0.1:@PORT@>
    ServerName methods.test
    GoapiIdempotencyMethods PUT
</VirtualHost>
"""

    def status(self, method, host):
        r = self.httpd.request(method, "/parcels/p-1", host=host, body=b"{}")
        return r.status, b"Idempotency-Key required" in r.body

    def test_inherited_overridden_and_defaults(self):
        # inherited from the server level; POST and PATCH by default
        self.assertEqual(self.status("POST", "localhost"), (400, True))
        self.assertEqual(self.status("PATCH", "localhost"), (400, True))
        self.assertEqual(self.status("PUT", "localhost"), (405, False))
        # the virtual host's own setting
        self.assertEqual(self.status("POST", "relaxed.test"), (405, False))
        # its own methods, the server's Required
        self.assertEqual(self.status("POST", "methods.test"), (405, False))
        self.assertEqual(self.status("PUT", "methods.test"), (400, True))


class IdempotencyTTLTest(HttpdTestCase):
    """A completed record is replayed until GoapiIdempotencyTTL, then the key
    runs again; the sweeper removes expired records from the store."""

    CONF = """
GoapiIdempotencySweepInterval 1s
<Location "/parcels/">
    SetHandler goapi
    GoapiIdempotency On
    GoapiIdempotencyTTL 1s
</Location>
"""

    def test_record_expires_after_the_ttl(self):
        first = post(self.httpd, "/parcels/t1/dispatch", "ttl-key")
        self.assertEqual(first.status, 201)
        again = post(self.httpd, "/parcels/t1/dispatch", "ttl-key")
        self.assertEqual((again.header("Location"), again.header("Idempotent-Replayed")),
                         (first.header("Location"), "true"))
        time.sleep(1.3)
        later = post(self.httpd, "/parcels/t1/dispatch", "ttl-key")
        self.assertEqual(later.status, 201)
        self.assertIsNone(later.header("Idempotent-Replayed"))
        self.assertNotEqual(later.header("Location"), first.header("Location"))

    def test_sweeper_removes_expired_records(self):
        offset = self.httpd.log_size()
        for i in range(3):
            self.assertEqual(post(self.httpd, "/parcels/s%d/dispatch" % i,
                                  "sweep-key-%d" % i).status, 201)
        # expired after 1 s, swept within the next second (one child runs
        # the sweeper); bounded wait
        removed, deadline = 0, time.monotonic() + 8
        while removed < 3 and time.monotonic() < deadline:
            time.sleep(0.25)
            removed = sum(int(n) for n in re.findall(
                r"GOAPI00049: idempotency store: (\d+) expired record\(s\) removed",
                self.httpd.read(self.httpd.error_log, offset)))
        self.assertGreaterEqual(removed, 3)


class IdempotencyLeaseTest(BackendTestCase):
    """A child killed mid-request: its key is in progress until the lease
    ends, then its outcome is unknown (a final 409 of its own type) until
    the record's TTL: never a second run.  /rerun/ asked for one."""

    LEASE = 2.0

    @classmethod
    def conf_body(cls):
        return """
<Location "/api/">
    ProxyPass "http://127.0.0.1:%(port)d/"
    GoapiIdempotency On
    GoapiIdempotencyLease %(lease)gs
</Location>
<Location "/rerun/">
    ProxyPass "http://127.0.0.1:%(port)d/"
    GoapiIdempotency On
    GoapiIdempotencyLease %(lease)gs
    GoapiIdempotencyRerunAfterLease On
</Location>
<Location "/short/">
    ProxyPass "http://127.0.0.1:%(port)d/"
    GoapiIdempotency On
    GoapiIdempotencyLease %(lease)gs
    GoapiIdempotencyTTL 3s
</Location>
""" % {"port": cls.backend.port, "lease": cls.LEASE}

    def kill_holder(self, path, key):
        """Send a request whose backend takes 3 s, kill its child once the
        key is claimed; the time of the kill."""
        offset = self.httpd.log_size()
        t = threading.Thread(target=lambda: self._quiet_post(path, key))
        t.start()
        pid = None
        for _ in range(100):
            m = re.search(r"\[pid (\d+):tid \d+\].*Idempotency-Key %s claimed" % digest(key),
                          self.httpd.read(self.httpd.error_log, offset))
            if m:
                pid = int(m.group(1))
                break
            time.sleep(0.05)
        self.assertIsNotNone(pid, "no claim logged")
        t_kill = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        t.join(10)
        self.allowed_errors.append(r"exit signal Killed")
        return t_kill

    def runs(self, path):
        with self.backend.lock:
            return sum(1 for q in self.backend.requests if q["path"] == path)

    def unknown_count(self):
        text = self.httpd.request("GET", "/metrics").text
        return int(re.search(r'(?m)^goapi_idempotency_requests_total\{outcome="outcome_unknown"\} '
                             r'(\d+)$', text).group(1))

    def test_killed_child_outcome_unknown(self):
        t_kill = self.kill_holder("/api/sleep/3", "lease-key")
        # before the lease ends: still in progress
        r = post(self.httpd, "/api/sleep/3", "lease-key")
        self.assertLess(time.monotonic() - t_kill, self.LEASE)
        self.assertEqual(r.status, 409)
        self.assertIn(b"in progress", r.body)
        self.assertEqual(r.header("Retry-After"), "1")
        # after it: the outcome is unknown, and stays so
        time.sleep(max(0.0, self.LEASE + 0.3 - (time.monotonic() - t_kill)))
        unknown_before = self.unknown_count()
        for _ in range(3):
            r = post(self.httpd, "/api/sleep/3", "lease-key", timeout=15)
            self.assertEqual(r.status, 409)
            self.assertEqual(r.header("Content-Type"), PROBLEM)
            self.assertIsNone(r.header("Retry-After"))
            doc = json.loads(r.body)
            self.assertEqual(doc["type"], OUTCOME_UNKNOWN)
            self.assertEqual(doc["title"], "Outcome unknown")
            self.assertEqual(doc["status"], 409)
            self.assertIn("will not be processed again", doc["detail"])
        # counted (/metrics)
        self.assertEqual(self.unknown_count() - unknown_before, 3)
        # the backend saw the first request only
        self.assertEqual(self.runs("/sleep/3"), 1)
        self.assertIn("Idempotency-Key %s: outcome unknown" % digest("lease-key"),
                      self.httpd.read(self.httpd.error_log))
        # a changed request with that key is still another request's key
        r = post(self.httpd, "/api/sleep/3", "lease-key", b'{"other":1}')
        self.assertEqual(r.status, 422)

    def test_unknown_until_the_ttl(self):
        t_kill = self.kill_holder("/short/sleep/3.1", "ttl-unknown-key")
        time.sleep(max(0.0, self.LEASE + 0.3 - (time.monotonic() - t_kill)))
        r = post(self.httpd, "/short/sleep/3.1", "ttl-unknown-key")
        self.assertEqual((r.status, json.loads(r.body)["type"]), (409, OUTCOME_UNKNOWN))
        # the record ends with the TTL (3 s after the claim): then the key
        # is unknown to the ledger, as any key past its TTL
        time.sleep(max(0.0, 3.3 - (time.monotonic() - t_kill)))
        r = post(self.httpd, "/short/sleep/3.1", "ttl-unknown-key", timeout=15)
        self.assertEqual(r.status, 200)
        self.assertEqual(self.runs("/sleep/3.1"), 2)

    def test_rerun_after_lease_when_asked(self):
        t_kill = self.kill_holder("/rerun/sleep/3.2", "rerun-key")
        r = post(self.httpd, "/rerun/sleep/3.2", "rerun-key")
        self.assertEqual(r.status, 409)
        time.sleep(max(0.0, self.LEASE + 0.3 - (time.monotonic() - t_kill)))
        r = post(self.httpd, "/rerun/sleep/3.2", "rerun-key", timeout=15)
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("Idempotent-Replayed"))
        self.assertEqual(self.runs("/sleep/3.2"), 2)

    def _quiet_post(self, path, key):
        try:
            post(self.httpd, path, key)
        except Exception:       # noqa: BLE001 - its child is killed
            pass


if __name__ == "__main__":
    import unittest
    unittest.main()
