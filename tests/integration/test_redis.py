# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""The idempotency ledger on Redis, shared by every host, against real
httpd servers and a real redis-server (and redis-sentinel) started here on
loopback: one execution per key across two hosts, 422 and the dispatch
counter across hosts, fail closed when Redis dies and recovery without a
restart, a child killed on one host seen from the other (409, then the
unknown outcome, never a second run), fencing of a request that outlived
its lease, a sentinel failover, bad credentials and databases, no
secret in any log or message, and every store error named by its cause
with what it means for the key (a stopped Redis, a closed port, a peer
that closes or answers garbage, OOM, READONLY, NOAUTH, a record deleted
or evicted under its claim)."""

import hashlib
import json
import os
import re
import signal
import socket
import threading
import time
import unittest

from harness import (CountingBackend, Httpd, RedisServer, free_port, resp_command, resp_reply,
                     run_threads, wait_for_port)

OUTCOME_UNKNOWN = "urn:goapi:problem:idempotency-outcome-unknown"
LEASE = 1.5
SECRET = "s3cret-pw-7f2a"


def digest(key):
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def post(h, path, key, body=b"{}", timeout=10):
    return h.request("POST", path, headers={"Idempotency-Key": key}, body=body,
                     timeout=timeout)


def until_not_503(h, key, seconds, pause=0.2):
    """POST key until the answer is not 503 (the store is back), for at
    most seconds: the last answer."""
    deadline = time.monotonic() + seconds
    while True:
        r = post(h, "/api/op", key)
        if r.status != 503 or time.monotonic() > deadline:
            return r
        time.sleep(pause)


MPMS = ("event", "worker", "prefork")

def server(store, backend, mpm="event", extra="", cache="0"):
    # the replay cache off unless a test asks for it: these tests are about
    # what the store itself answers
    return Httpd("""
GoapiIdempotencyStore %s
GoapiIdempotencyReplayCache %s
GoapiIdempotencyStoreTimeout 250ms
GoapiReadyCheckInterval 500ms
<Location "/api/">
    ProxyPass "http://127.0.0.1:%d/" retry=0
    GoapiIdempotency On
    GoapiIdempotencyLease %gs
</Location>
<Location "/parcels/">
    SetHandler goapi
    GoapiIdempotency On
</Location>
%s
""" % (store, cache, backend.port, LEASE, extra), modules=("proxy", "proxy_http"), mpm=mpm)


class RedisCase(unittest.TestCase):
    """A Redis, a counting backend, and the servers a test starts; all
    stopped by pid at the end, their error logs checked."""

    REDIS = {}

    def setUp(self):
        self.redis = RedisServer(**self.REDIS).start()
        self.addCleanup(self.redis.cleanup)
        self.backend = CountingBackend(delay=0.2)
        self.addCleanup(self.backend.stop)
        self.servers = []

    def tearDown(self):
        for h in self.servers:
            h.stop()
            bad = h.bad_lines(allowed=self.allowed())
            reports = h.sanitizer_reports()
            log = h.read(h.error_log)
            h.cleanup()
            self.assertEqual(bad, [], "\n".join(bad))
            self.assertEqual(reports, [])
            self.assertNotIn(SECRET, log)

    def allowed(self):
        return ()

    def under_each_mpm(self, fn):
        """fn(mpm) under event, worker and prefork, each a subtest."""
        for mpm in MPMS:
            with self.subTest(mpm=mpm):
                fn(mpm)

    def start(self, store=None, mpm="event", extra="", cache="0"):
        h = server(store or "redis://127.0.0.1:%d/2" % self.redis.port, self.backend, mpm,
                   extra, cache)
        self.servers.append(h)
        return h.start()

    def until_done(self, h, path, key, body=b"{}"):
        for _ in range(300):
            r = post(h, path, key, body)
            if r.status != 409 or b"in progress" not in r.body:
                return r
            time.sleep(0.02)
        raise AssertionError("still in progress")


class SharedLedgerTest(RedisCase):

    def test_two_hosts_execute_each_key_once(self):
        a, b = self.start(mpm="event"), self.start(mpm="worker")
        keys = ["shared-%d" % i for i in range(20)]
        answers, errors, lock = {k: [] for k in keys}, [], threading.Lock()

        def client(n):
            for k in keys:
                h = (a, b)[(n + keys.index(k)) % 2]
                try:
                    r = post(h, "/api/op", k)
                    with lock:
                        answers[k].append(r)
                except Exception as e:      # noqa: BLE001 - reported below
                    errors.append(repr(e))

        run_threads([threading.Thread(target=client, args=(n,)) for n in range(10)], 60)
        self.assertEqual(errors, [])
        self.assertEqual(self.backend.executions(), {k: 1 for k in keys})
        for k in keys:
            final = [r for r in answers[k] if r.status != 409]
            self.assertGreaterEqual(len(final), 1)
            self.assertEqual(len({(r.status, r.body) for r in final}), 1, k)
            self.assertEqual(sum(1 for r in final if r.header("Idempotent-Replayed") is None), 1)
            for r in answers[k]:
                if r.status == 409:
                    self.assertIn(b"in progress", r.body)
                    self.assertEqual(r.header("Retry-After"), "1")
            # and once more from each host: a replay, byte for byte
            for h in (a, b):
                r = post(h, "/api/op", k)
                self.assertEqual((r.status, r.body, r.header("Idempotent-Replayed")),
                                 (final[0].status, final[0].body, "true"))

    def test_reuse_on_the_other_host_and_unique_dispatches(self):
        a, b = self.start(), self.start(mpm="prefork")
        self.assertEqual(post(a, "/api/op", "reuse-1", b'{"n":1}').status, 201)
        r = post(b, "/api/op", "reuse-1", b'{"n":2}')
        self.assertEqual(r.status, 422)
        self.assertEqual(json.loads(r.body)["title"], "Idempotency-Key reused")
        numbers = []
        for i in range(30):
            r = post((a, b)[i % 2], "/parcels/p%d/dispatch" % i, "dispatch-%d" % i)
            self.assertEqual(r.status, 201)
            numbers.append(int(r.header("Location").rsplit("/", 1)[1]))
        self.assertEqual(len(set(numbers)), 30)

    def test_killed_child_seen_from_the_other_host(self):
        self.backend.stop()
        self.backend = CountingBackend(delay=3)
        self.addCleanup(self.backend.stop)
        a, b = self.start(), self.start(mpm="prefork")
        offset = a.log_size()
        t = threading.Thread(target=lambda: self.quiet(a, "/api/op", "killed-key"))
        t.start()
        pid = None
        for _ in range(100):
            m = re.search(r"\[pid (\d+):tid \d+\].*Idempotency-Key %s claimed"
                          % digest("killed-key"), a.read(a.error_log, offset))
            if m:
                pid = int(m.group(1))
                break
            time.sleep(0.05)
        self.assertIsNotNone(pid)
        t_kill = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        t.join(10)
        r = post(b, "/api/op", "killed-key")
        self.assertLess(time.monotonic() - t_kill, LEASE)
        self.assertEqual((r.status, r.header("Retry-After")), (409, "1"))
        time.sleep(max(0.0, LEASE + 0.3 - (time.monotonic() - t_kill)))
        for h in (b, a):
            r = post(h, "/api/op", "killed-key")
            self.assertEqual((r.status, json.loads(r.body)["type"]), (409, OUTCOME_UNKNOWN))
        self.assertEqual(self.backend.executions(), {"killed-key": 1})

    def allowed(self):
        return (r"exit signal Killed",)

    @staticmethod
    def quiet(h, path, key):
        try:
            post(h, path, key)
        except Exception:       # noqa: BLE001 - its child is killed
            pass


class FencingTest(RedisCase):
    """GoapiIdempotencyRerunAfterLease On: a retry after the lease takes the
    key over and runs again (asked for); the first request, ending late,
    cannot overwrite what the retry recorded."""

    def test_late_holder_cannot_overwrite(self):
        self.backend.stop()
        self.backend = CountingBackend(delay=0, first_delay=2.5)
        self.addCleanup(self.backend.stop)
        h = self.start(extra='<Location "/rerun/">\n ProxyPass "http://127.0.0.1:%d/"\n'
                             ' GoapiIdempotency On\n GoapiIdempotencyLease 1s\n'
                             ' GoapiIdempotencyRerunAfterLease On\n</Location>'
                             % self.backend.port)
        first = {}
        t = threading.Thread(target=lambda: first.update(r=post(h, "/rerun/op", "fence")))
        t.start()
        time.sleep(1.3)
        retry = post(h, "/rerun/op", "fence")
        self.assertEqual(retry.status, 201)
        self.assertEqual(json.loads(retry.body)["run"], 2)
        t.join(10)
        self.assertEqual(json.loads(first["r"].body)["run"], 1)
        time.sleep(0.2)
        log = h.read(h.error_log)
        self.assertIn("GOAPI00040: Idempotency-Key %s: another request took the key over"
                      % digest("fence"), log)
        again = post(h, "/rerun/op", "fence")
        self.assertEqual((again.header("Idempotent-Replayed"), again.body),
                         ("true", retry.body))
        self.assertEqual(self.backend.executions(), {"fence": 2})


class OutageTest(RedisCase):
    REDIS = {"persist": True}

    def allowed(self):
        return (r"GOAPI00045: idempotency store redis://127\.0\.0\.1:\d+/2: cannot claim",
                r"GOAPI00047")

    def test_redis_dies_and_comes_back(self):
        h = self.start()
        old = post(h, "/api/op", "before-outage")
        self.assertEqual(old.status, 201)
        self.assertEqual(h.request("GET", "/readyz").status, 200)
        self.redis.stop(signal.SIGKILL)
        before = sum(self.backend.executions().values())
        # fail closed, quickly, with nothing run
        for i in range(40):
            t0 = time.monotonic()
            r = post(h, "/api/op", "during-outage-%d" % i)
            self.assertLess(time.monotonic() - t0, 1.0)
            self.assertEqual(r.status, 503)
            self.assertEqual(r.header("Content-Type"), "application/problem+json")
            self.assertEqual(r.header("Retry-After"), "60")
        self.assertEqual(sum(self.backend.executions().values()), before)
        # /readyz takes the pod out of rotation
        deadline = time.monotonic() + 5
        while h.request("GET", "/readyz").status != 503 and time.monotonic() < deadline:
            time.sleep(0.1)
        v = h.request("GET", "/readyz?verbose")
        self.assertEqual(v.status, 503)
        self.assertIn("[-]idempotency-store failed", v.text)
        # one error line per second per process, not one per request
        lines = h.read(h.error_log).count("GOAPI00045")
        self.assertLess(lines, 20)
        self.assertGreater(lines, 0)
        # Redis back, with its data: old keys replay, new keys run, no restart
        self.redis.start()
        r = until_not_503(h, "before-outage", 10)
        self.assertEqual((r.status, r.body, r.header("Idempotent-Replayed")),
                         (201, old.body, "true"))
        self.assertEqual(post(h, "/api/op", "after-outage").status, 201)
        deadline = time.monotonic() + 5
        while h.request("GET", "/readyz").status != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertIn("[+]idempotency-store ok", h.request("GET", "/readyz?verbose").text)
        self.assertEqual(self.backend.executions()["before-outage"], 1)


class ReplicasTest(RedisCase):
    """GoapiIdempotencyStoreReplicas 1 against a Redis without a replica:
    the startup says so (and that AOF is off), /readyz fails with the
    reason, and a claim gets 503 "nothing ran" and is released; once a
    replica is online, /readyz passes and the key runs once."""

    def allowed(self):
        return (r"GOAPI00045: .*too few replicas",)

    def test_claims_wait_for_a_replica(self):
        h = self.start(extra="GoapiIdempotencyStoreReplicas 1")
        log = h.wait_log(r"AH00489|AH00094")      # post_config done
        self.assertRegex(log, r"GOAPI00131: idempotency store redis://127\.0\.0\.1:\d+/2 has "
                              r"appendonly no: a restart of Redis loses every record")
        self.assertRegex(log, r"GOAPI00132: .* has 0 replica\(s\) online, and "
                              r"GoapiIdempotencyStoreReplicas asks 1")
        deadline = time.monotonic() + 5
        while h.request("GET", "/readyz").status != 503 and time.monotonic() < deadline:
            time.sleep(0.1)
        v = h.request("GET", "/readyz?verbose")
        self.assertEqual(v.status, 503)
        self.assertIn("[-]idempotency-store failed: too few replicas: 0 replica(s) online, 1 "
                      "needed to acknowledge each claim", v.text)
        r = post(h, "/api/op", "unacked")
        self.assertEqual((r.status, r.header("Retry-After")), (503, "60"))
        self.assertRegex(h.read(h.error_log),
                         r"GOAPI00045: .*cannot claim Idempotency-Key %s: too few replicas: 0 "
                         r"of 1 replica\(s\) acknowledged the claim within 187 ms \(WAIT\); "
                         r"the claim was released; answered 503, nothing ran; nothing holds "
                         r"the key" % re.escape(digest("unacked")))
        self.assertEqual(record_keys(self.redis, 2), [])
        self.assertEqual(self.backend.executions(), {})
        # a replica comes: ready, and the key runs once
        in_db(self.redis, 0, "CONFIG", "SET", "repl-diskless-sync-delay", "0")
        replica = RedisServer(replica_of=self.redis).start()
        self.addCleanup(replica.cleanup)
        deadline = time.monotonic() + 10
        while h.request("GET", "/readyz").status != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertIn("[+]idempotency-store ok", h.request("GET", "/readyz?verbose").text)
        # a replica just online may still be loading what it was sent: its
        # first acknowledgements can come late, and those claims get 503
        self.assertEqual(until_not_503(h, "unacked", 5, 0.2).status, 201)
        r = post(h, "/api/op", "unacked")
        self.assertEqual((r.status, r.header("Idempotent-Replayed")), (201, "true"))
        # what the master acknowledged, the replica holds
        self.assertEqual(len(record_keys(replica, 2)), 1)
        self.assertEqual(self.backend.executions(), {"unacked": 1})
        # the other settings the startup reads, with the replica online
        in_db(self.redis, 0, "CONFIG", "SET", "appendonly", "yes")
        in_db(self.redis, 0, "CONFIG", "SET", "appendfsync", "everysec")
        in_db(self.redis, 0, "CONFIG", "SET", "min-replicas-to-write", "0")
        one = self.start(extra="GoapiIdempotencyStoreReplicas 1")
        log = one.wait_log(r"AH00489|AH00094")
        self.assertRegex(log, r"GOAPI00133: .* has min-replicas-to-write 0, fewer than "
                              r"GoapiIdempotencyStoreReplicas \(1\)")
        self.assertRegex(log, r"GOAPI00135: .* has appendfsync everysec: a crash of its host "
                              r"may lose the last second of records")
        self.assertNotRegex(log, r"GOAPI0013[124]")
        none = self.start()
        log = none.wait_log(r"AH00489|AH00094")
        self.assertRegex(log, r"GOAPI00134: .* has 1 replica\(s\) but "
                              r"GoapiIdempotencyStoreReplicas is 0: a failover may lose claims")
        in_db(self.redis, 0, "CONFIG", "SET", "min-replicas-to-write", "1")
        in_db(self.redis, 0, "CONFIG", "SET", "appendfsync", "always")
        quiet = self.start(extra="GoapiIdempotencyStoreReplicas 1")
        self.assertNotRegex(quiet.wait_log(r"AH00489|AH00094"), r"GOAPI0013[1-5]")


class ReplayCacheTest(RedisCase):
    """GoapiIdempotencyReplayCache: a child answers retries of keys it saw
    complete without asking Redis, even while Redis is down; new keys still
    fail closed."""

    def allowed(self):
        return (r"GOAPI00045",)

    def scripts_run(self):
        stats = self.redis.command("INFO", "commandstats").decode()
        return sum(int(n) for n in re.findall(r"cmdstat_eval(?:sha)?:calls=(\d+)", stats))

    def test_replays_from_the_cache(self):
        h = self.start(mpm="prefork", cache="1M",
                       extra="StartServers 1\nMinSpareServers 1\nMaxSpareServers 1\n"
                             "MaxRequestWorkers 1\n")
        first = post(h, "/api/op", "cached-key")
        self.assertEqual(first.status, 201)
        before = self.scripts_run()
        for _ in range(20):
            r = post(h, "/api/op", "cached-key")
            self.assertEqual((r.body, r.header("Idempotent-Replayed")), (first.body, "true"))
        self.assertEqual(self.scripts_run(), before)        # Redis was not asked
        # another request with that key is still refused from the cache
        self.assertEqual(post(h, "/api/op", "cached-key", b'{"other":1}').status, 422)
        self.redis.stop(signal.SIGKILL)
        r = post(h, "/api/op", "cached-key")
        self.assertEqual((r.status, r.header("Idempotent-Replayed")), (201, "true"))
        self.assertEqual(post(h, "/api/op", "new-while-down").status, 503)
        self.assertEqual(self.backend.executions(), {"cached-key": 1})


class UnixSocketTest(RedisCase):
    REDIS = {"unix": True}

    def test_ledger_over_a_unix_socket(self):
        h = self.start("unix:%s?db=4" % self.redis.socket, mpm="prefork")
        first = post(h, "/api/op", "over-unix")
        self.assertEqual(first.status, 201)
        again = post(h, "/api/op", "over-unix")
        self.assertEqual((again.body, again.header("Idempotent-Replayed")),
                         (first.body, "true"))
        self.assertEqual(self.redis.command("SELECT", 4), "OK")
        self.assertEqual(self.backend.executions(), {"over-unix": 1})


class RedisOutOfMemoryTest(RedisCase):
    """Redis refusing writes (maxmemory, noeviction): nothing runs."""

    def allowed(self):
        return (r"GOAPI00045: .*OOM command not allowed",)

    def test_oom_fails_closed(self):
        self.under_each_mpm(self.oom_fails_closed)

    def oom_fails_closed(self, mpm):
        before, during = "before-oom-" + mpm, "during-oom-" + mpm
        h = self.start(mpm=mpm)
        self.assertEqual(post(h, "/api/op", before).status, 201)
        self.redis.command("CONFIG", "SET", "maxmemory", "1")
        try:
            r = post(h, "/api/op", during)
            self.assertEqual(r.status, 503)
            self.assertEqual(json.loads(r.body)["title"], "Idempotency store unavailable")
            log = h.read(h.error_log)
            self.assertRegex(log, r"GOAPI00045: .*cannot claim Idempotency-Key %s: out of "
                                  r"memory \(OOM\): EVAL(SHA)? of the claim script answered "
                                  r"OOM command not allowed.*; answered 503, nothing ran; "
                                  r"nothing holds the key" % re.escape(digest(during)))
            # a replay needs no write
            self.assertEqual(post(h, "/api/op", before).header("Idempotent-Replayed"), "true")
        finally:
            self.redis.command("CONFIG", "SET", "maxmemory", "0")
        self.assertEqual(post(h, "/api/op", during).status, 201)
        self.assertEqual((self.backend.executions()[before],
                          self.backend.executions()[during]), (1, 1))
        h.stop()


class CredentialsTest(RedisCase):
    REDIS = {"password": SECRET}

    def allowed(self):
        return (r"GOAPI00045", r"GOAPI00047")

    def test_right_and_wrong_passwords_and_databases(self):
        good = self.start("redis://:%s@127.0.0.1:%d/3" % (SECRET, self.redis.port))
        self.assertEqual(post(good, "/api/op", "authed").status, 201)
        self.assertIn("redis://:***@127.0.0.1:%d/3" % self.redis.port,
                      good.read(good.error_log))
        for mpm in MPMS:
            wrong = self.start("redis://:not-%s@127.0.0.1:%d/3" % (SECRET[:4], self.redis.port),
                               mpm=mpm)
            r = post(wrong, "/api/op", "wrong-pw")
            self.assertEqual(r.status, 503)
            log = wrong.read(wrong.error_log)
            self.assertRegex(log, r"GOAPI00064: idempotency store redis://:\*\*\*@127\.0\.0\.1:"
                                  r"\d+/3 cannot be reached now \(authentication failed: AUTH "
                                  r"answered WRONGPASS")
            self.assertRegex(log, r"GOAPI00045: .*: authentication failed: AUTH answered "
                                  r"WRONGPASS")
            self.assertNotIn("not-" + SECRET[:4], log)
        baddb = self.start("redis://:%s@127.0.0.1:%d/99" % (SECRET, self.redis.port))
        self.assertEqual(post(baddb, "/api/op", "bad-db").status, 503)
        self.assertIn("error answer: SELECT answered ERR DB index is out of range",
                      baddb.read(baddb.error_log))
        for mpm in MPMS:
            nobody = self.start("redis://127.0.0.1:%d" % free_unused_port(), mpm=mpm)
            self.assertEqual(post(nobody, "/api/op", "nobody").status, 503)
            self.assertRegex(nobody.read(nobody.error_log),
                             r"GOAPI00045: .*cannot claim Idempotency-Key %s: connection "
                             r"refused: nothing listens at the store's address \(connect: "
                             r"Connection refused\).*; answered 503, nothing ran; nothing "
                             r"holds the key" % re.escape(digest("nobody")))
        self.assertEqual(self.backend.executions(), {"authed": 1})

    def test_malformed_urls_refused_by_t(self):
        for value, why in (("redis://:%s@host:99999" % SECRET, "the port must be"),
                           ("redis-sentinel://:%s@s:1" % SECRET, "master's name"),
                           ("unix:relative.sock?password=%s" % SECRET, "must be absolute")):
            h = Httpd('GoapiIdempotencyStore "%s"' % value)
            self.addCleanup(h.cleanup)
            t = h.configtest()
            out = t.stdout + t.stderr
            self.assertNotEqual(t.returncode, 0)
            self.assertRegex(out, r"Syntax error on line \d+ of \S+httpd\.conf")
            self.assertIn("GoapiIdempotencyStore: not a valid Redis store: ", out)
            self.assertIn(why, out)
            self.assertNotIn(SECRET, out)


def timed_post(h, key):
    """POST /api/op with key: the answer, and how long it took."""
    t0 = time.monotonic()
    r = post(h, "/api/op", key)
    return r, time.monotonic() - t0


def free_unused_port():
    from harness import free_port
    return free_port()


class SentinelTest(RedisCase):
    """A master, a replica and a sentinel on loopback; the master dies; the
    sentinel promotes the replica and the ledger follows."""

    def allowed(self):
        return (r"GOAPI00045", r"GOAPI00047")

    def test_failover(self):
        replica = RedisServer(replica_of=self.redis).start()
        self.addCleanup(replica.cleanup)
        deadline = time.monotonic() + 10
        while replica.command("ROLE")[3] != b"connected" and time.monotonic() < deadline:
            time.sleep(0.1)
        sentinel = RedisServer(sentinel_of=self.redis).start()
        self.addCleanup(sentinel.cleanup)
        h = self.start("redis-sentinel://127.0.0.1:%d/mymaster/1" % sentinel.port)
        olds = {}
        for i in range(5):
            r = post(h, "/api/op", "sentinel-old-%d" % i)
            self.assertEqual(r.status, 201)
            olds["sentinel-old-%d" % i] = r.body
        # what the master has, the replica has, before the master dies
        self.assertGreaterEqual(self.redis.command("WAIT", 1, 4000, timeout=6), 1)
        self.redis.stop(signal.SIGKILL)
        r = until_not_503(h, "sentinel-new", 20, 0.25)
        self.assertEqual(r.status, 201, "no failover within 20 s")
        self.assertEqual(replica.command("ROLE")[0], b"master")
        for k, body in olds.items():
            # a child that has not yet found the new master answers 503
            # (and runs nothing) for up to its 0.5 s pause between connects
            r = until_not_503(h, k, 2, 0.1)
            self.assertEqual((r.status, r.body, r.header("Idempotent-Replayed")),
                             (201, body, "true"))
        self.assertEqual(set(self.backend.executions().values()), {1})


if __name__ == "__main__":
    unittest.main()


def in_db(redis, db, *args, timeout=2):
    """One command in database db of redis (its own connection)."""
    with socket.create_connection(("127.0.0.1", redis.port), timeout=timeout) as s:
        f = s.makefile("rb")
        s.sendall(resp_command("SELECT", db) + resp_command(*args))
        resp_reply(f)
        return resp_reply(f)


def record_keys(redis, db):
    """The ledger's record keys in db (not its counters)."""
    return [k for k in in_db(redis, db, "KEYS", "goapi:idem:{*") or []]


class FakeRedis:
    """A TCP listener on loopback that plays a broken Redis: "close" accepts
    and closes each connection at once, "garbage" reads a command and
    answers bytes that are not RESP.  Stopped by stop()."""

    def __init__(self, mode):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.mode = mode
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            with c:
                if self.mode == "garbage":
                    c.settimeout(2)
                    try:
                        c.recv(65536)
                        c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                    except OSError:
                        pass

    def stop(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()


class StoreErrorsTest(RedisCase):
    """Each store error names its cause and says what it means for the
    key; the client gets the documented answer (503 and nothing run when
    the claim fails; the handler's own answer when the completion fails)."""

    def allowed(self):
        return (r"GOAPI00045", r"GOAPI00085", r"GOAPI00084")

    def store_url(self, db=None):
        return "redis://127.0.0.1:%d%s" % (self.redis.port, "/%d" % db if db else "")

    def claim_line(self, h, key):
        m = re.search(r"GOAPI00045: .*cannot claim Idempotency-Key %s: (.*)"
                      % re.escape(digest(key)), h.read(h.error_log))
        self.assertIsNotNone(m, h.read(h.error_log))
        return m.group(1)

    def stopped(self, fn):
        """fn() while Redis is stopped (SIGSTOP); resumed whatever happens."""
        os.kill(self.redis.proc.pid, signal.SIGSTOP)
        try:
            return fn()
        finally:
            os.kill(self.redis.proc.pid, signal.SIGCONT)

    def assert_503(self, r):
        self.assertEqual((r.status, r.header("Retry-After")), (503, "60"))
        self.assertEqual(json.loads(r.body)["title"], "Idempotency store unavailable")

    def test_stopped_redis_times_out_and_the_orphaned_claim_is_released(self):
        # database 0: no SELECT, so the claim itself is what meets the stall
        for mpm in ("event", "worker", "prefork"):
            with self.subTest(mpm=mpm):
                h = self.start(self.store_url(), mpm=mpm)
                key = "stopped-%s" % mpm
                self.assertEqual(post(h, "/api/op", "warm-" + mpm).status, 201)
                r, elapsed = self.stopped(lambda: timed_post(h, key))
                self.assert_503(r)
                self.assertLess(elapsed, 2.0)       # two tries of 250 ms, not the 10 s Timeout
                line = self.claim_line(h, key)
                self.assertRegex(line, r"^timed out: no answer to EVAL(SHA)? of the claim "
                                       r"script within 250 ms")
                self.assertNotIn("refused", line)
                self.assertIn("answered 503, nothing ran; the claim may have landed (a "
                              "stopped store applies it when it resumes): this process "
                              "releases it (fenced: only this claim) as soon as the store "
                              "answers again, and a retry then runs once", line)
                self.assertNotIn('409 "in progress"', line)
                # what the line said: resumed, Redis applies the claim it had
                # received, this process releases it, and a retry runs once
                # (under prefork another child may answer 409 "in progress"
                # until the one that sent the claim releases it)
                deadline = time.monotonic() + 5
                r = post(h, "/api/op", key)
                while (r.status == 503 or b"in progress" in r.body) \
                        and time.monotonic() < deadline:
                    time.sleep(0.1)
                    r = post(h, "/api/op", key)
                self.assertEqual(r.status, 201, r.body)
                self.assertEqual(self.backend.executions()[key], 1)
                self.assertIsNone(r.header("Idempotent-Replayed"))
                h.stop()

    def test_stopped_redis_meets_select(self):
        """A new connection to a stopped Redis (the kernel accepts it) meets
        the stall at SELECT: named a timeout, never a refusal, and nothing
        holds the key."""
        for db, mpm in ((5, "event"), (6, "worker"), (7, "prefork")):
            with self.subTest(mpm=mpm):
                key = "select-stopped-" + mpm
                def start_and_post():
                    h = self.start(self.store_url(db), mpm=mpm)
                    return (h,) + timed_post(h, key)

                h, r, elapsed = self.stopped(start_and_post)
                self.assert_503(r)
                self.assertLess(elapsed, 2.0)
                line = self.claim_line(h, key)
                self.assertRegex(line, r"^timed out: no answer to SELECT within 250 ms")
                self.assertNotIn("refused", line)
                self.assertIn("answered 503, nothing ran; nothing holds the key", line)
                self.assertEqual(until_not_503(h, key, 3, 0.1).status, 201)
                self.assertEqual(self.backend.executions()[key], 1)
                h.stop()

    def test_peer_that_closes_or_answers_garbage(self):
        for mode, cause in (("close", r"connection closed by the peer: no answer to "
                                      r"EVAL(SHA)? of the claim script \((Server closed the "
                                      r"connection|Connection reset by peer)\)"),
                            ("garbage", r"protocol error: the answer to EVAL(SHA)? of the "
                                        r"claim script is not Redis' protocol \(Protocol "
                                        r"error, got \"H\" as reply type byte\)")):
            fake = FakeRedis(mode)
            self.addCleanup(fake.stop)
            for mpm in MPMS:
                with self.subTest(mode=mode, mpm=mpm):
                    h = self.start("redis://127.0.0.1:%d" % fake.port, mpm=mpm)
                    key = "fake-%s-%s" % (mode, mpm)
                    self.assert_503(post(h, "/api/op", key))
                    line = self.claim_line(h, key)
                    self.assertRegex(line, "^" + cause)
                    # sent and never answered: in doubt, said so, and kept to release
                    self.assertIn("the claim may have landed", line)
                    self.assertIn("this process releases it (fenced: only this claim)", line)
                    h.stop()
        self.assertEqual(self.backend.executions(), {})

    def test_readonly_replica(self):
        self.under_each_mpm(self.readonly_replica)

    def readonly_replica(self, mpm):
        before, on = "before-replica-" + mpm, "on-replica-" + mpm
        h = self.start(mpm=mpm)
        self.assertEqual(post(h, "/api/op", before).status, 201)
        in_db(self.redis, 0, "REPLICAOF", "127.0.0.1", free_port())
        try:
            r = post(h, "/api/op", on)
            self.assert_503(r)
            line = self.claim_line(h, on)
            self.assertRegex(line, r"^read-only replica \(READONLY\): EVAL(SHA)? of the claim "
                                   r"script answered READONLY You can't write against a read "
                                   r"only replica")
            self.assertIn("nothing ran; nothing holds the key", line)
            # a replay is a read: the replica still answers it
            self.assertEqual(post(h, "/api/op", before).header("Idempotent-Replayed"), "true")
        finally:
            in_db(self.redis, 0, "REPLICAOF", "NO", "ONE")
        self.assertEqual(until_not_503(h, on, 3, 0.1).status, 201)
        self.assertEqual((self.backend.executions()[before], self.backend.executions()[on]),
                         (1, 1))
        h.stop()

    def test_deleted_in_flight_record(self):
        self.backend.stop()
        self.backend = CountingBackend(delay=1.0)
        self.addCleanup(self.backend.stop)
        for db, mpm in ((2, "event"), (3, "worker"), (4, "prefork")):
            with self.subTest(mpm=mpm):
                self.deleted_in_flight(db, mpm)

    def deleted_in_flight(self, db, mpm):
        h = self.start("redis://127.0.0.1:%d/%d" % (self.redis.port, db), mpm=mpm)
        key = "deleted-" + mpm
        first = {}
        t = threading.Thread(target=lambda: first.update(r=post(h, "/api/op", key)))
        t.start()
        keys = []
        for _ in range(100):
            keys = record_keys(self.redis, db)
            if keys:
                break
            time.sleep(0.02)
        self.assertEqual(len(keys), 1)
        self.assertEqual(in_db(self.redis, db, "DEL", keys[0]), 1)
        t.join(10)
        # the handler ran and its answer reached the client
        self.assertEqual(first["r"].status, 201)
        time.sleep(0.1)
        log = h.read(h.error_log)
        self.assertRegex(log, r"GOAPI00085: idempotency store redis://127\.0\.0\.1:\d+/%d: the "
                              r"record of Idempotency-Key %s vanished while this request held "
                              r"it \(evicted by Redis under maxmemory, or deleted by hand\): "
                              r"this outcome \(status 201\) is not recorded and the key is "
                              r"free: a retry with it runs the operation again"
                              % (db, re.escape(digest(key))))
        self.assertNotIn("GoapiIdempotencyRerunAfterLease On", log)
        self.assertNotIn("took the key over", log)
        # what the line said: a retry runs again
        r = post(h, "/api/op", key)
        self.assertEqual((r.status, json.loads(r.body)["run"]), (201, 2))
        h.stop()

    def test_evicted_in_flight_record(self):
        self.backend.stop()
        self.backend = CountingBackend(delay=1.5)
        self.addCleanup(self.backend.stop)
        in_db(self.redis, 0, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
        self.under_each_mpm(self.evicted_in_flight)

    def evicted_in_flight(self, mpm):
        key = "evicted-" + mpm
        h = self.start(mpm=mpm)
        t = threading.Thread(target=lambda: post(h, "/api/op", key))
        t.start()
        keys = []
        for _ in range(100):
            keys = record_keys(self.redis, 2)
            if keys:
                break
            time.sleep(0.02)
        self.assertEqual(len(keys), 1)
        used = int(re.search(rb"used_memory:(\d+)", in_db(self.redis, 0, "INFO", "memory"))
                   .group(1))
        in_db(self.redis, 0, "CONFIG", "SET", "maxmemory", used + 2 * 1024 * 1024)
        filler = b"f" * 8192
        with socket.create_connection(("127.0.0.1", self.redis.port), timeout=5) as s:
            f = s.makefile("rb")
            s.sendall(resp_command("SELECT", 2))
            resp_reply(f)
            for i in range(2000):
                s.sendall(resp_command("SET", "filler:%d" % i, filler))
                resp_reply(f)
                if i % 50 == 49 and not in_db(self.redis, 2, "EXISTS", keys[0]):
                    break
        self.assertEqual(in_db(self.redis, 2, "EXISTS", keys[0]), 0, "not evicted")
        self.assertGreater(int(re.search(rb"evicted_keys:(\d+)", in_db(self.redis, 0, "INFO",
                                                                       "stats")).group(1)), 0)
        t.join(10)
        in_db(self.redis, 0, "CONFIG", "SET", "maxmemory", 0)
        time.sleep(0.1)
        self.assertRegex(h.read(h.error_log), r"GOAPI00085: .* the record of Idempotency-Key "
                                              r"%s vanished while this request held it "
                                              r"\(evicted by Redis under maxmemory"
                                              % re.escape(digest(key)))
        self.assertEqual(self.backend.executions()[key], 1)
        h.stop()
        in_db(self.redis, 2, "FLUSHDB")


class NoAuthTest(RedisCase):
    REDIS = {"password": SECRET}

    def allowed(self):
        return (r"GOAPI00045",)

    def test_no_password_in_the_url(self):
        for mpm in MPMS:
            with self.subTest(mpm=mpm):
                h = self.start("redis://127.0.0.1:%d/2" % self.redis.port, mpm=mpm)
                r = post(h, "/api/op", "noauth")
                self.assertEqual((r.status, r.header("Retry-After")), (503, "60"))
                log = h.read(h.error_log)
                self.assertRegex(log, r"GOAPI00064: .*cannot be reached now \(authentication "
                                      r"failed: SELECT answered NOAUTH Authentication required")
                self.assertRegex(log, r"GOAPI00045: .*cannot claim Idempotency-Key %s: "
                                      r"authentication failed: SELECT answered NOAUTH "
                                      r"Authentication required.*nothing holds the key"
                                      % re.escape(digest("noauth")))
                h.stop()
        self.assertEqual(self.backend.executions(), {})
