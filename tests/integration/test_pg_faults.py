# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""The PostgreSQL ledger (GoapiIdempotencyStore dbd) under the faults of a
production incident (make faults): two hosts (event and prefork) behind
clients that retry each key until they get an answer that is not 5xx,
real postgres processes on loopback, and after each fault every key sent
once more to a fresh host:
  - kill -9 of the postmaster and its server processes mid-load, and its
    restart: no key runs twice, and service comes back by itself;
  - a primary with a synchronous standby (pg_basebackup,
    synchronous_standby_names), the primary killed mid-load and the
    standby promoted (pg_ctl promote), the hosts' DBDParams naming both
    (host=a,b target_session_attrs=read-write): every key retried
    afterwards runs at most once, and every key gets an answer.
Every wait is bounded in count and time."""

import threading
import time
import unittest

from harness import CountingBackend, Httpd, PgServer
from test_redis_faults import Load, post

# a long fault run: "make faults" (tests/integration/run.py --suite faults)
SUITE = "faults"

LEASE = 2
# what a store fault may log; anything else at error level fails the test
ALLOWED = (r"GOAPI00045", r"GOAPI00041", r"GOAPI00086", r"GOAPI00047", r"GOAPI00048",
           r"AH00629", r"AH00633", r"AH00636", r"AH00639", r"AH02655")


def host(params, backend, mpm):
    return Httpd("""
DBDriver pgsql
DBDParams "%s"
GoapiIdempotencyStore dbd
GoapiIdempotencyReplayCache 0
<Location "/api/">
    ProxyPass "http://127.0.0.1:%d/" retry=0
    GoapiIdempotency On
    GoapiIdempotencyLease %ds
</Location>
""" % (params, backend.port, LEASE), modules=("proxy", "proxy_http", "dbd"), mpm=mpm,
                 loglevel="info")


@unittest.skipUnless(PgServer.available(), "PostgreSQL 15 is not installed (postgresql)")
class PgFaultsTest(unittest.TestCase):

    def setUp(self):
        self.backend = CountingBackend(delay=0.02)
        self.addCleanup(self.backend.stop)
        self.servers = []

    def tearDown(self):
        for h in self.servers:
            h.stop()
            bad = h.bad_lines(allowed=ALLOWED)
            log = h.read(h.error_log)
            h.cleanup()
            self.assertEqual(bad, [], "\n".join(bad))
            self.assertNotIn(PgServer.PASSWORD, log)

    def pg(self, **kw):
        p = PgServer(**kw).start()
        self.addCleanup(p.cleanup)
        return p

    def start(self, params, mpm):
        h = host(params, self.backend, mpm)
        self.servers.append(h)
        return h.start()

    def fresh_retry(self, params, keys):
        """Every key once more, from a fresh host, until its answer is
        neither 5xx nor "in progress" (at most 10 s a key): key -> the last
        status."""
        h = self.start(params, "event")
        keys = sorted(keys)
        last = {}

        def retry(part):
            for key in part:
                deadline = time.monotonic() + 10
                while True:
                    status, body = post(h, key)
                    done = 0 < status < 500 and not (status == 409 and b"in progress" in body)
                    if done or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                last[key] = status

        threads = [threading.Thread(target=retry, args=(keys[i::8],)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        return last

    def assert_at_most_once_and_answered(self, answers, last):
        counts = self.backend.executions()
        self.assertGreater(len(answers), 50, "too little load to mean anything")
        self.assertEqual({k: n for k, n in counts.items() if n > 1}, {})
        self.assertEqual({k: s for k, s in last.items() if not 0 < s < 500}, {})
        # a key that never ran answers 409 (its outcome unknown) at worst
        self.assertEqual({k: last[k] for k in last if counts.get(k, 0) == 0 and last[k] == 201},
                         {})
        stalled = [k for k, st in answers.items() if 503 in st or 0 in st]
        self.assertTrue(stalled, "the fault answered no request 503")

    def test_kill_9_mid_load_and_restart(self):
        pg = self.pg()
        params = ("host=127.0.0.1 port=%d dbname=postgres user=goapi password=%s "
                  "connect_timeout=2" % (pg.port, PgServer.PASSWORD))
        hosts = [self.start(params, "event"), self.start(params, "prefork")]
        load = Load(hosts, "kill9")
        time.sleep(2)
        pg.kill()
        time.sleep(1)
        pg.start()
        time.sleep(3)
        answers = load.stop()
        last = self.fresh_retry(params, answers)
        self.assert_at_most_once_and_answered(answers, last)
        # service came back by itself, on the hosts that lived through it
        for h in hosts:
            self.assertEqual(post(h, "after-kill9-%d" % h.port)[0], 201)

    def test_failover_to_a_synchronous_standby(self):
        primary = self.pg(sync_standby=True)
        standby = self.pg(primary=primary)
        deadline = time.monotonic() + 20
        while primary.value("SELECT coalesce(max(sync_state), '') FROM pg_stat_replication") \
                != "sync" and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(primary.value("SELECT sync_state FROM pg_stat_replication"), "sync")
        params = ("host=127.0.0.1,127.0.0.1 port=%d,%d dbname=postgres user=goapi "
                  "password=%s connect_timeout=2 target_session_attrs=read-write"
                  % (primary.port, standby.port, PgServer.PASSWORD))
        hosts = [self.start(params, "event"), self.start(params, "prefork")]
        load = Load(hosts, "failover")
        time.sleep(3)
        primary.kill()
        time.sleep(1)
        standby.promote()
        time.sleep(4)
        answers = load.stop()
        last = self.fresh_retry(params, answers)
        self.assert_at_most_once_and_answered(answers, last)
        self.assertEqual(standby.value("SELECT pg_is_in_recovery()"), "f")
        for h in hosts:
            self.assertEqual(post(h, "after-failover-%d" % h.port)[0], 201)
        print("\n     failover: %d keys, %d answered 503 during it, none run twice"
              % (len(answers), sum(1 for st in answers.values() if 503 in st)))


if __name__ == "__main__":
    unittest.main()
