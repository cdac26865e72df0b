# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""At most once under faults, against a real httpd and a backend that counts
what it executes: children killed (kill -9) every few hundred milliseconds
under idempotent load, the whole process group killed and the server
restarted on the same ledger, and a ledger on a filesystem that fills up.
Whatever dies or fills, no key is executed twice, and every retry ends
with the recorded response or the documented outcome-unknown answer."""

import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from harness import IS_ROOT, CountingBackend, Httpd

OUTCOME_UNKNOWN = "urn:goapi:problem:idempotency-outcome-unknown"
LEASE = 1.5


def post(h, key, timeout=10):
    return h.request("POST", "/api/op", headers={"Idempotency-Key": key}, body=b"{}",
                     timeout=timeout)


def answer_kind(r):
    """What a final retry got: 'replay', 'unknown', 'not-replayable',
    'first' (the key ran now for the first time), or the status."""
    if r.status == 201:
        return "replay" if r.header("Idempotent-Replayed") == "true" else "first"
    if r.status == 409:
        doc = json.loads(r.body)
        if doc.get("type") == OUTCOME_UNKNOWN:
            return "unknown"
        if "not replayable" in doc.get("title", ""):
            return "not-replayable"
        return "409 " + doc.get("title", "")
    return str(r.status)


class FaultCase(unittest.TestCase):
    MPM = "event"

    def server(self, backend, extra=""):
        h = Httpd("""
<Location "/api/">
    ProxyPass "http://127.0.0.1:%d/" retry=0
    GoapiIdempotency On
    GoapiIdempotencyLease %gs
</Location>
%s
""" % (backend.port, LEASE, extra), modules=("proxy", "proxy_http"), mpm=self.MPM,
                  loglevel="info")
        self.addCleanup(h.cleanup)
        return h

    def load(self, h, keys, per_key, seconds, during=None):
        """per_key concurrent clients per key, every key at once in waves,
        for at most `seconds`; during() runs every 0.5 s meanwhile.  Errors
        (connections cut by a kill) are expected and ignored."""
        stop = time.monotonic() + seconds
        work = [k for k in keys for _ in range(per_key)]
        random.shuffle(work)
        lock = threading.Lock()

        def client():
            while time.monotonic() < stop:
                with lock:
                    if not work:
                        return
                    key = work.pop()
                try:
                    post(h, key, timeout=5)
                except Exception:       # noqa: BLE001 - a killed child's connection
                    pass

        threads = [threading.Thread(target=client) for _ in range(24)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads) and time.monotonic() < stop:
            if during:
                during()
            time.sleep(0.5)
        for t in threads:
            t.join(max(0.0, stop - time.monotonic()) + 10)
        return len(work)

    def assertCleanLog(self, h, allowed=()):
        """No error line but the ones a kill explains (a killed child, and
        the workers it took away); no sanitizer report."""
        bad = h.bad_lines(allowed=(r"exit signal Killed", r"AH00484: server reached "
                                   r"MaxRequestWorkers", r"AH10159: server is within "
                                   r"MinSpareThreads") + tuple(allowed))
        self.assertEqual(bad, [], "\n".join(bad))
        self.assertEqual(h.sanitizer_reports(), [])

    def final_answers(self, h, keys):
        """Each key once more, after every lease has ended."""
        out = {}
        for k in keys:
            out[k] = answer_kind(post(h, k, timeout=10))
        return out

    def assertAtMostOnce(self, backend, answers):
        counts = backend.executions()
        twice = {k: n for k, n in counts.items() if n > 1}
        self.assertEqual(twice, {}, "keys executed more than once")
        kinds = {}
        for k, kind in answers.items():
            kinds[kind] = kinds.get(kind, 0) + 1
            # a key's first run now is fine only if it never ran before
            if kind == "first":
                self.assertEqual(counts.get(k), 1, k)
        self.assertEqual(set(kinds) - {"replay", "unknown", "not-replayable", "first"}, set(),
                         kinds)
        return kinds


class KilledChildrenTest(FaultCase):
    """kill -9 of a random child every 0.5 s under load with short leases."""

    def test_kill_children_under_load(self):
        backend = CountingBackend(delay=0.3)
        self.addCleanup(backend.stop)
        h = self.server(backend)
        h.start()
        keys = ["kill-%s-%d" % (self.MPM, i) for i in range(200)]
        killed = []

        def kill_one():
            children = h.children()
            if children:
                pid = random.choice(children)
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass

        self.load(h, keys, per_key=5, seconds=30, during=kill_one)
        self.assertGreaterEqual(len(killed), 5)
        time.sleep(LEASE + 0.5)
        answers = self.final_answers(h, keys)
        kinds = self.assertAtMostOnce(backend, answers)
        # kills landed while keys were running: some outcomes are unknown
        self.assertGreater(kinds.get("unknown", 0), 0, kinds)
        self.assertGreater(kinds.get("replay", 0), 0, kinds)
        print("\n  %s: %d kills; final answers %s; executions %d for %d keys"
              % (self.MPM, len(killed), kinds, sum(backend.executions().values()), len(keys)))
        self.assertEqual(h.stop(), 0)
        self.assertCleanLog(h)


class KilledChildrenWorkerTest(KilledChildrenTest):
    MPM = "worker"

    def assertCleanLog(self, h, allowed=()):
        # the worker MPM's words for the workers a kill took away, and for
        # the slots of killed children it has not yet reaped when it wants
        # to start their replacements (seen under the sanitizers, whose
        # children die and are replaced more slowly)
        super().assertCleanLog(h, (r"AH00286: server reached MaxRequestWorkers",
                                   r"AH00287: server is within MinSpareThreads",
                                   r"AH00288: scoreboard is full, not at MaxRequestWorkers")
                               + tuple(allowed))


class KilledChildrenPreforkTest(KilledChildrenTest):
    MPM = "prefork"

    def assertCleanLog(self, h, allowed=()):
        # the prefork MPM's words for the processes a kill took away, when
        # the parent replaces them under full load
        super().assertCleanLog(h, (r"AH00161: server reached MaxRequestWorkers",)
                               + tuple(allowed))


class KilledServerTest(FaultCase):
    """SIGKILL of the whole process group mid-load, then a restart on the
    same ledger."""

    def test_kill_process_group_and_restart(self):
        backend = CountingBackend(delay=0.3)
        self.addCleanup(backend.stop)
        h = self.server(backend)
        h.start()
        keys = ["group-%d" % i for i in range(100)]
        t = threading.Thread(target=self.load, args=(h, keys, 3, 15))
        t.start()
        time.sleep(1.5)
        os.killpg(h.proc.pid, signal.SIGKILL)
        h.proc.wait(5)
        t.join(30)
        running_at_kill = sum(backend.executions().values())
        self.assertGreater(running_at_kill, 0)
        h.start()
        time.sleep(LEASE + 0.5)
        answers = self.final_answers(h, keys)
        kinds = self.assertAtMostOnce(backend, answers)
        self.assertGreater(kinds.get("unknown", 0), 0, kinds)
        print("\n  final answers after the restart %s" % kinds)
        self.assertEqual(h.stop(), 0)
        self.assertCleanLog(h)


@unittest.skipUnless(IS_ROOT and shutil.which("mount"), "needs root to mount a tmpfs")
class FullDiskTest(FaultCase):
    """The ledger on a small tmpfs that something else fills: its space was
    reserved, so every recorded answer stays recorded; the map itself
    filling gives 503 and nothing runs."""

    def mount_tmpfs(self, size):
        d = tempfile.mkdtemp(prefix="goapi-tmpfs-")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size,
                            "tmpfs", d], capture_output=True, text=True)
        if r.returncode != 0:
            os.rmdir(d)
            self.skipTest("cannot mount a tmpfs here: " + r.stderr.strip())
        self.addCleanup(lambda: (subprocess.run(["umount", "-l", d]), os.rmdir(d)))
        return d

    def test_filesystem_full(self):
        mnt = self.mount_tmpfs("2M")
        backend = CountingBackend(delay=0, size=1200)
        self.addCleanup(backend.stop)
        h = self.server(backend, "GoapiIdempotencyStore lmdb:%s/ledger.mdb 1M" % mnt)
        h.start()
        # the map and the reader table are allocated now: fill the rest
        filler = os.path.join(mnt, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 4096) > 0:
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        st = os.statvfs(mnt)
        self.assertLess(st.f_bavail * st.f_frsize, 65536)

        answered, refused = [], 0
        t0 = time.monotonic()
        for i in range(3000):
            r = post(h, "full-%d" % i)
            if r.status == 201:
                answered.append("full-%d" % i)
            else:
                self.assertEqual(r.status, 503, r.body)
                self.assertIsNotNone(r.header("Retry-After"))
                self.assertIn("store full", json.loads(r.body)["title"])
                refused += 1
                if refused >= 20:
                    break
        self.assertGreater(len(answered), 300)
        t_fill = time.monotonic() - t0
        self.assertGreater(refused, 0, "the map never filled")
        log = h.read(h.error_log)
        self.assertNotIn("GOAPI00041", log)        # every outcome was recorded
        # with the disk still full and after space comes back: no reruns
        for phase in ("full", "freed"):
            if phase == "freed":
                os.unlink(filler)
            kinds = self.assertAtMostOnce(backend, self.final_answers(h, answered))
            self.assertEqual(set(kinds) - {"replay", "not-replayable"}, set(), kinds)
        print("\n  %d answered before the map filled (%.1f s), then 503; retries %.1f s"
              % (len(answered), t_fill, time.monotonic() - t0 - t_fill))
        self.assertEqual(h.stop(), 0)
        self.assertCleanLog(h, (r"GOAPI00045: .*the store is full",))


if __name__ == "__main__":
    unittest.main()
