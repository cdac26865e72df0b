# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""The Redis ledger under the faults of a production incident (make faults):
two hosts (event and worker) behind clients that retry each key until they
get an answer that is not 5xx, real redis-server and redis-sentinel
processes and a TCP proxy of this file's own on loopback, and after each
fault every key sent once more to a fresh host:
  - two hosts racing for the same keys;
  - kill -9 of Redis with appendfsync always, and its restart;
  - SIGSTOP of Redis for longer than GoapiIdempotencyStoreTimeout;
  - a 3 s blackhole of the link to Redis;
  - a Sentinel failover with the replica's link cut 1 s before the master
    dies, with GoapiIdempotencyStoreReplicas 1 (no key may run twice) and
    0 (the keys run twice are counted and printed).
A key that got "503, nothing ran" during a stall must run exactly once
when retried.  Every wait is bounded in count and time."""

import os
import re
import select
import shutil
import signal
import socket
import sys
import threading
import time
import unittest

from harness import CountingBackend, Httpd, RedisServer

# a long fault run: "make faults" (tests/integration/run.py --suite faults)
SUITE = "faults"

LEASE = 30
STALL_LINE = "this process releases it (fenced: only this claim)"
# what a store fault may log; anything else at error level fails the test
ALLOWED = (r"GOAPI00045", r"GOAPI00041", r"GOAPI00086", r"GOAPI00064", r"GOAPI00047",
           r"GOAPI00132", r"GOAPI00131")


def host(store, backend, mpm, replicas=0):
    return Httpd("""
GoapiIdempotencyStore %s
GoapiIdempotencyReplayCache 0
GoapiIdempotencyStoreTimeout 250ms
GoapiIdempotencyStoreReplicas %d
<Location "/api/">
    ProxyPass "http://127.0.0.1:%d/" retry=0
    GoapiIdempotency On
    GoapiIdempotencyLease %ds
</Location>
""" % (store, replicas, backend.port, LEASE), modules=("proxy", "proxy_http"), mpm=mpm,
                 loglevel="info")


def post(h, key, timeout=5):
    """The status and body of one POST, or (0, b"") when the connection
    failed."""
    try:
        r = h.request("POST", "/api/op", headers={"Idempotency-Key": key}, body=b"{}",
                      timeout=timeout)
        return r.status, r.body
    except OSError:
        return 0, b""


class LinkProxy:
    """A TCP link to a port on loopback that a test can break:
      pass     bytes go through;
      hold     nothing is read: bytes wait in the kernel and go through
               when the link passes again, as TCP delivers them after a
               blackhole heals;
      drop     bytes are read and thrown away: a link cut without either
               end noticing;
      refuse   new connections are closed at once."""

    def __init__(self, target_port):
        self.target = target_port
        self.mode = "pass"
        self.stopping = False
        self.lock = threading.Lock()
        self.socks = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stopping:
            ready, _, _ = select.select([self.listener], [], [], 0.1)
            if not ready:
                continue
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            if self.mode == "refuse":
                down.close()
                continue
            try:
                up = socket.create_connection(("127.0.0.1", self.target), timeout=2)
            except OSError:
                down.close()
                continue
            with self.lock:
                self.socks += [down, up]
            threading.Thread(target=self.pump, args=(down, up), daemon=True).start()

    def pump(self, a, b):
        peer = {a: b, b: a}
        try:
            while not self.stopping:
                if self.mode == "hold":
                    time.sleep(0.02)
                    continue
                ready, _, _ = select.select([a, b], [], [], 0.1)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    if self.mode != "drop":
                        peer[s].sendall(data)
        except OSError:
            return
        finally:
            a.close()
            b.close()

    def stop(self):
        self.stopping = True
        self.listener.close()
        with self.lock:
            for s in self.socks:
                s.close()


class Load:
    """Client threads, each on one host, each sending keys of its own in
    turn and retrying each key until its answer is not 5xx (at most 30 s a
    key), until stopped.  answers: key -> the statuses it got."""

    def __init__(self, hosts, prefix, clients=4, keys=None):
        self.answers = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.threads = []
        for n in range(clients * len(hosts)):
            t = threading.Thread(target=self.client,
                                 args=(hosts[n % len(hosts)], "%s-%d" % (prefix, n)),
                                 daemon=True)
            t.start()
            self.threads.append(t)

    def client(self, h, prefix):
        i = 0
        while not self.stopped.is_set():
            key = "%s-%d" % (prefix, i)
            i += 1
            deadline = time.monotonic() + 30
            while True:
                status, _ = post(h, key)
                with self.lock:
                    self.answers.setdefault(key, []).append(status)
                if 0 < status < 500 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)

    def stop(self):
        self.stopped.set()
        for t in self.threads:
            t.join(35)
        with self.lock:
            return dict(self.answers)


class FaultCase(unittest.TestCase):

    def setUp(self):
        self.backend = CountingBackend(delay=0.02)
        self.addCleanup(self.backend.stop)
        self.servers = []

    def allowed(self):
        return ALLOWED

    def tearDown(self):
        for h in self.servers:
            h.stop()
            bad = h.bad_lines(allowed=self.allowed())
            h.cleanup()
            self.assertEqual(bad, [], "\n".join(bad))

    def redis(self, **kw):
        r = RedisServer(**kw).start()
        self.addCleanup(r.cleanup)
        return r

    def start(self, store, mpm, replicas=0):
        h = host(store, self.backend, mpm, replicas)
        self.servers.append(h)
        return h.start()

    def two_hosts(self, store, replicas=0):
        return [self.start(store, "event", replicas), self.start(store, "worker", replicas)]

    def logs(self):
        return "".join(h.read(h.error_log) for h in self.servers)

    def fresh_retry(self, store, keys, replicas=0):
        """Every key once more, from a fresh host; a key still in flight
        (its orphaned claim not released yet) is retried for up to 3 s.
        key -> the last status."""
        h = self.start(store, "event", replicas)
        keys = sorted(keys)
        last = {}

        def retry(part):
            for key in part:
                deadline = time.monotonic() + 3
                while True:
                    status, body = post(h, key)
                    if status != 409 or b"in progress" not in body \
                            or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                last[key] = status

        threads = [threading.Thread(target=retry, args=(keys[i::8],)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return last

    def run_twice(self, answers):
        counts = self.backend.executions()
        return sorted(k for k in answers if counts.get(k, 0) > 1)

    def assert_stalled_keys_ran_once(self, answers, last):
        counts = self.backend.executions()
        stalled = [k for k, st in answers.items() if 503 in st or 0 in st]
        self.assertTrue(stalled, "the fault answered no request 503")
        # a claim was left in doubt: its own line says so, unless the log
        # limiter (one store error a second per child) kept it back; then a
        # later claim of that child met the stall while releasing it first
        # (the release script), or the settling thread released it after
        logs = self.logs()
        self.assertTrue(STALL_LINE in logs
                        or re.search(r"GOAPI00045: .*of the release script", logs)
                        or re.search(r"GOAPI00130: .* [1-9]\d* orphaned claim", logs),
                        "no claim was left in doubt")
        self.assertEqual({k: counts.get(k, 0) for k in stalled if counts.get(k, 0) != 1}, {})
        self.assertEqual({k: last[k] for k in stalled if last[k] != 201}, {})
        return stalled


class RedisFaultsTest(FaultCase):

    def test_two_hosts_racing(self):
        r = self.redis()
        store = "redis://127.0.0.1:%d/2" % r.port
        a, b = self.two_hosts(store)
        keys = ["race-%d" % i for i in range(40)]
        got = {}

        def send(h, key, tag):
            deadline = time.monotonic() + 10
            while True:
                status, body = post(h, key)
                if status == 201 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)       # 409 in progress: the other host has it
            got[(key, tag)] = status

        for key in keys:
            ts = [threading.Thread(target=send, args=(h, key, tag))
                  for h, tag in ((a, "a"), (b, "b"))]
            for t in ts:
                t.start()
            for t in ts:
                t.join(15)
        self.assertEqual({k: v for k, v in got.items() if v != 201}, {})
        last = self.fresh_retry(store, keys)
        self.assertEqual(set(last.values()), {201})
        self.assertEqual({k: n for k, n in self.backend.executions().items() if n != 1}, {})
        self.assertEqual(len(self.backend.executions()), len(keys))

    def test_kill9_with_appendfsync_always(self):
        r = self.redis(persist=True)
        store = "redis://127.0.0.1:%d/2" % r.port
        load = Load(self.two_hosts(store), "kill9")
        time.sleep(1.0)
        r.stop(signal.SIGKILL)
        time.sleep(0.5)
        r.start()
        time.sleep(1.5)
        answers = load.stop()
        self.assertGreater(len(answers), 50)
        self.fresh_retry(store, answers)
        self.assertEqual(self.run_twice(answers), [])

    def stalled(self, store, label, begin, end, seconds):
        """Load on two hosts; begin() stalls the store for seconds, end()
        ends it; then no key may have run twice, and every key answered
        503 must run exactly once when retried."""
        load = Load(self.two_hosts(store), label)
        time.sleep(1.0)
        begin()
        try:
            time.sleep(seconds)
        finally:
            end()
        time.sleep(1.5)
        answers = load.stop()
        last = self.fresh_retry(store, answers)
        self.assertEqual(self.run_twice(answers), [])
        stalled = self.assert_stalled_keys_ran_once(answers, last)
        sys.stdout.write("     %s %g s: %d keys, %d answered 503 during it, each run once\n"
                         % (label, seconds, len(answers), len(stalled)))

    def test_sigstop_longer_than_the_store_timeout(self):
        r = self.redis()
        self.stalled("redis://127.0.0.1:%d" % r.port, "sigstop",
                     lambda: os.kill(r.proc.pid, signal.SIGSTOP),
                     lambda: os.kill(r.proc.pid, signal.SIGCONT), 2.0)

    def test_blackhole_3s(self):
        r = self.redis()
        link = LinkProxy(r.port)
        self.addCleanup(link.stop)
        self.stalled("redis://127.0.0.1:%d" % link.port, "blackhole",
                     lambda: setattr(link, "mode", "hold"),
                     lambda: setattr(link, "mode", "pass"), 3.0)


class FailoverTest(FaultCase):
    """A master, a replica fed through a link this test cuts, and a
    sentinel; the link is cut 1 s before the master is killed, the
    sentinel promotes the replica, and the old master comes back as its
    replica."""

    def failover(self, replicas):
        master = self.redis(persist=True)
        master.command("CONFIG", "SET", "repl-diskless-sync-delay", "0")
        link = LinkProxy(master.port)
        self.addCleanup(link.stop)
        replica = self.redis(replica_of=link)
        deadline = time.monotonic() + 10
        while replica.command("ROLE")[3] != b"connected" and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(replica.command("ROLE")[3], b"connected")
        sentinel = self.redis(sentinel_of=master)
        store = "redis-sentinel://127.0.0.1:%d/mymaster/2" % sentinel.port
        load = Load(self.two_hosts(store, replicas), "failover%d" % replicas)
        time.sleep(1.5)
        link.mode = "drop"
        time.sleep(1.0)
        master.stop(signal.SIGKILL)
        # the failover ends when the sentinel names the new master (before
        # that, an old master that comes back makes it abort and turn the
        # promoted replica back)
        new = str(replica.port).encode()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if sentinel.command("SENTINEL", "get-master-addr-by-name",
                                    "mymaster")[1] == new:
                    break
            except (OSError, RuntimeError):
                pass
            time.sleep(0.2)
        self.assertEqual(sentinel.command("SENTINEL", "get-master-addr-by-name", "mymaster")[1],
                         new, "no failover in 20 s")
        self.assertEqual(replica.command("ROLE")[0], b"master")
        # the old master comes back as the new one's replica, empty, as an
        # operator brings it back (restarted as a master from its own file,
        # it would take writes from whoever still has its address until the
        # sentinel turns it, and lose them then)
        shutil.rmtree(os.path.join(master.dir, "appendonlydir"), ignore_errors=True)
        with open(master.conf, "a") as f:
            f.write("replicaof 127.0.0.1 %d\n" % replica.port)
        master.start()
        # a full sync after repl-diskless-sync-delay; slower on a busy host
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            if b"state=online" in replica.command("INFO", "replication"):
                break
            time.sleep(0.2)
        info = replica.command("INFO", "replication")
        self.assertIn(b"state=online", info,
                      "%s\nthe old master:\n%s" % (info.decode(errors="replace"),
                                                    master.command("INFO", "replication")
                                                    .decode(errors="replace")))
        time.sleep(1.5)
        answers = load.stop()
        self.fresh_retry(store, answers, replicas)
        twice = self.run_twice(answers)
        sys.stdout.write("     failover, replica cut 1 s before, GoapiIdempotencyStoreReplicas "
                         "%d: %d keys, %d run twice\n" % (replicas, len(answers), len(twice)))
        return answers, twice

    def test_failover_replicas_1(self):
        answers, twice = self.failover(1)
        self.assertGreater(len(answers), 50)
        self.assertEqual(twice, [])
        # the cut happened under load: claims made while the replica was cut
        # off were not acknowledged, released, and answered 503
        self.assertRegex(self.logs(), r"GOAPI00045: .*too few replicas: 0 of 1 replica\(s\) "
                                      r"acknowledged the claim")

    def allowed(self):
        # with no replica to wait for, the failover loses claims under
        # their requests: GOAPI00085 says so, and those keys run again
        return ALLOWED + ((r"GOAPI00085",) if "replicas_0" in self.id() else ())

    def test_failover_replicas_0(self):
        answers, twice = self.failover(0)
        self.assertGreater(len(answers), 50)
        # counted and printed above: what the setting closes; not asserted,
        # since how many keys fall in the cut second depends on the machine
        self.assertLessEqual(len(twice), len(answers))


if __name__ == "__main__":
    unittest.main()
