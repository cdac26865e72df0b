# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""The idempotency ledger in PostgreSQL through mod_dbd (GoapiIdempotencyStore
dbd), against real httpd servers (event and prefork) and a real postgres
started here on loopback: the schema made on first use, one execution per
key across two hosts, 422 and the dispatch counter across hosts, SQL in
keys and bodies kept as data, fail closed when PostgreSQL dies (503 with
Retry-After at once, nothing run, /readyz failing) and recovery without a
restart, a read-only server, a server that refuses the password (never in
any log), a user without the privilege to make the schema (named in the
log), and a configuration without mod_dbd refused at startup."""

import json
import os
import signal
import subprocess
import threading
import time
import unittest

from harness import CountingBackend, Httpd, PgServer, run_threads

# an sf-string, so that it may hold spaces
SQL_KEY = "\"k'); DROP TABLE goapi_idempotency; --"
SQL_BODY = b"{\"note\": \"'); DELETE FROM goapi_idempotency; -- $1 %s\"}"
# mod_dbd's own lines when PostgreSQL is down or refuses (its AH numbers:
# a connect that failed, its pool not made at a child's start), and the
# sweep that failed meanwhile
DBD_DOWN = (r"AH00629", r"AH00633", r"AH00636", r"AH00639", r"AH02655", r"GOAPI00048")


def post(h, path, key, body=b"{}", timeout=10):
    return h.request("POST", path, headers={"Idempotency-Key": key}, body=body,
                     timeout=timeout)


def until_not_503(h, key, seconds, pause=0.2):
    deadline = time.monotonic() + seconds
    while True:
        r = post(h, "/api/op", key)
        if r.status != 503 or time.monotonic() > deadline:
            return r
        time.sleep(pause)


def dbd_params(pg, user="goapi", password=PgServer.PASSWORD):
    return ("host=127.0.0.1 port=%d dbname=postgres user=%s password=%s connect_timeout=2"
            % (pg.port, user, password))


def server(params, backend, mpm="event", extra="", modules=("proxy", "proxy_http", "dbd")):
    dbd = 'DBDriver pgsql\nDBDParams "%s"' % params if params else ""
    return Httpd("""
%s
GoapiIdempotencyStore dbd
GoapiIdempotencyReplayCache 0
GoapiReadyCheckInterval 500ms
<Location "/api/">
    ProxyPass "http://127.0.0.1:%d/" retry=0
    GoapiIdempotency On
    GoapiIdempotencyLease 2s
</Location>
<Location "/parcels/">
    SetHandler goapi
    GoapiIdempotency On
</Location>
%s
""" % (dbd, backend.port, extra), modules=modules, mpm=mpm)


@unittest.skipUnless(PgServer.available(), "PostgreSQL 15 is not installed (postgresql)")
class PgCase(unittest.TestCase):
    """A PostgreSQL, a counting backend, and the servers a test starts; all
    stopped by pid at the end, their error logs checked, the password in
    none of them."""

    def setUp(self):
        self.pg = PgServer().start()
        self.addCleanup(self.pg.cleanup)
        self.backend = CountingBackend(delay=0.2)
        self.addCleanup(self.backend.stop)
        self.servers = []

    def tearDown(self):
        for h in self.servers:
            h.stop()
            bad = h.bad_lines(allowed=self.allowed())
            log = h.read(h.error_log)
            h.cleanup()
            self.assertEqual(bad, [], "\n".join(bad))
            self.assertNotIn(PgServer.PASSWORD, log)

    def allowed(self):
        return ()

    def start(self, mpm="event", params=None, extra=""):
        h = server(params or dbd_params(self.pg), self.backend, mpm, extra)
        self.servers.append(h)
        return h.start()


class SharedLedgerTest(PgCase):

    def test_two_hosts_execute_each_key_once(self):
        a, b = self.start(mpm="event"), self.start(mpm="prefork")
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
            for h in (a, b):
                r = post(h, "/api/op", k)
                self.assertEqual((r.status, r.body, r.header("Idempotent-Replayed")),
                                 (final[0].status, final[0].body, "true"))
        # the ledger made its schema, and holds one row per key
        self.assertEqual(self.pg.value("SELECT count(*) FROM goapi_idempotency WHERE "
                                       "state = 2"), "20")
        self.assertEqual(self.pg.value("SELECT count(*) FROM pg_indexes WHERE indexname = "
                                       "'goapi_idempotency_expires_at'"), "1")

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
        self.assertEqual(sorted(numbers), list(range(1, 31)))
        # the store's time, labelled by the store
        m = a.request("GET", "/metrics")
        self.assertEqual(m.status, 200)
        self.assertRegex(m.text, r'goapi_idempotency_store_seconds_count\{store="dbd"\} [1-9]')

    def test_sql_in_keys_and_bodies_is_data(self):
        for mpm in ("event", "prefork"):
            h = self.start(mpm=mpm)
            key = SQL_KEY + mpm + '"'
            r = post(h, "/api/op", key, SQL_BODY)
            self.assertEqual(r.status, 201)
            again = post(h, "/api/op", key, SQL_BODY)
            self.assertEqual((again.status, again.body, again.header("Idempotent-Replayed")),
                             (201, r.body, "true"))
            # another body under that key: 422, and the table is still there
            self.assertEqual(post(h, "/api/op", key, b"'; SELECT 1; --").status, 422)
        self.assertEqual(self.backend.executions(), {SQL_KEY + "event\"": 1,
                                                     SQL_KEY + "prefork\"": 1})
        self.assertEqual(self.pg.value("SELECT count(*) FROM goapi_idempotency"), "2")


class OutageTest(PgCase):

    def allowed(self):
        return (r"GOAPI00045: idempotency store dbd \(mod_dbd's database\): cannot claim",
                r"GOAPI00047") + DBD_DOWN

    def test_postgres_dies_and_comes_back(self):
        for mpm in ("event", "prefork"):
            h = self.start(mpm=mpm)
            old = post(h, "/api/op", "before-outage-" + mpm)
            self.assertEqual(old.status, 201)
            deadline = time.monotonic() + 5
            while h.request("GET", "/readyz").status != 200 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(h.request("GET", "/readyz").status, 200)
            self.pg.kill()
            before = sum(self.backend.executions().values())
            # fail closed, at once, with nothing run
            for i in range(30):
                t0 = time.monotonic()
                r = post(h, "/api/op", "during-outage-%s-%d" % (mpm, i))
                self.assertLess(time.monotonic() - t0, 1.0)
                self.assertEqual(r.status, 503)
                self.assertEqual(r.header("Content-Type"), "application/problem+json")
                self.assertEqual(r.header("Retry-After"), "60")
            self.assertEqual(sum(self.backend.executions().values()), before)
            deadline = time.monotonic() + 5
            while h.request("GET", "/readyz").status != 503 and time.monotonic() < deadline:
                time.sleep(0.1)
            v = h.request("GET", "/readyz?verbose")
            self.assertEqual(v.status, 503)
            self.assertIn("[-]idempotency-store failed", v.text)
            lines = h.read(h.error_log).count("GOAPI00045")
            self.assertGreater(lines, 0)
            self.assertLess(lines, 20)
            # back, with its data: old keys replay, new keys run, no restart
            self.pg.start()
            r = until_not_503(h, "before-outage-" + mpm, 10)
            self.assertEqual((r.status, r.body, r.header("Idempotent-Replayed")),
                             (201, old.body, "true"))
            self.assertEqual(until_not_503(h, "after-outage-" + mpm, 10).status, 201)
            deadline = time.monotonic() + 5
            while h.request("GET", "/readyz").status != 200 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertIn("[+]idempotency-store ok", h.request("GET", "/readyz?verbose").text)
            self.assertEqual(self.backend.executions()["before-outage-" + mpm], 1)
            self.assertEqual(self.backend.executions()["after-outage-" + mpm], 1)
            for i in range(30):
                self.assertNotIn("during-outage-%s-%d" % (mpm, i), self.backend.executions())

    def test_slow_server_times_out(self):
        """A statement held up (the table locked by another session) is cut
        by statement_timeout (DBDInitSQL): 503 at once, nothing runs."""
        h = self.start(extra='DBDInitSQL "SET statement_timeout = \'500ms\'"')
        self.assertEqual(post(h, "/api/op", "before-slow").status, 201)
        locker = subprocess.Popen(
            ["/usr/bin/psql", "-h", self.pg.dir, "-p", str(self.pg.port), "-U", "goapi",
             "-d", "postgres", "-c",
             "BEGIN; LOCK TABLE goapi_idempotency; SELECT pg_sleep(4); COMMIT;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            **self.pg._as_postgres())
        self.addCleanup(self.stop_locker, locker)
        deadline = time.monotonic() + 5
        while self.pg.value("SELECT count(*) FROM pg_locks WHERE mode = "
                            "'AccessExclusiveLock' AND granted AND relation = "
                            "'goapi_idempotency'::regclass") != "1" \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        t0 = time.monotonic()
        r = post(h, "/api/op", "while-slow")
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertEqual((r.status, r.header("Retry-After")), (503, "60"))
        self.assertNotIn("while-slow", self.backend.executions())
        self.assertRegex(h.read(h.error_log),
                         r"GOAPI00045: .*canceling statement due to statement timeout")
        locker.wait(10)
        self.assertEqual(until_not_503(h, "while-slow", 5).status, 201)
        self.assertEqual(self.backend.executions()["while-slow"], 1)

    @staticmethod
    def stop_locker(proc):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def test_read_only_server(self):
        h = self.start()
        self.assertEqual(post(h, "/api/op", "before-read-only").status, 201)
        self.pg.sql("ALTER SYSTEM SET default_transaction_read_only = on")
        self.pg.sql("SELECT pg_reload_conf()")
        time.sleep(0.3)
        r = post(h, "/api/op", "while-read-only")
        self.assertEqual((r.status, r.header("Retry-After")), (503, "60"))
        self.assertNotIn("while-read-only", self.backend.executions())
        self.assertRegex(h.read(h.error_log), r"GOAPI00045: .*the server is read-only")
        # a completed key still replays from a read-only server
        self.assertEqual(post(h, "/api/op", "before-read-only").header("Idempotent-Replayed"),
                         "true")
        self.pg.sql("ALTER SYSTEM RESET default_transaction_read_only")
        self.pg.sql("SELECT pg_reload_conf()")
        self.assertEqual(until_not_503(h, "while-read-only", 5).status, 201)
        self.assertEqual(self.backend.executions()["while-read-only"], 1)


class FrozenTest(PgCase):
    """A PostgreSQL stopped (SIGSTOP: its connections held open, nothing
    answered, the kernel still answering TCP): each statement is cut after
    GoapiIdempotencyStoreTimeout, so requests get 503 with nothing run in
    bounded time instead of waiting for it to resume; the readiness check
    fails; once it resumes, a claim that landed late is released and its
    key runs exactly once."""

    TIMEOUT = 0.5

    def allowed(self):
        return (r"GOAPI00045: idempotency store dbd \(mod_dbd's database\): cannot claim",
                r"GOAPI00047", r"GOAPI00130") + DBD_DOWN

    def until_settled(self, h, key, seconds):
        """Retried while the store is down (503) or the late claim holds the
        key (409 in progress), until it is released and the key runs."""
        deadline = time.monotonic() + seconds
        while True:
            r = post(h, "/api/op", key)
            if r.status not in (503, 409) or time.monotonic() > deadline:
                return r
            time.sleep(0.2)

    def test_stopped_server_cut_at_the_timeout(self):
        for mpm in ("event", "prefork"):
            # a pool that holds what the load needs (DBDMin, DBDKeep): mod_dbd
            # makes new connections one at a time, and to a stopped server
            # each waits for libpq's connect_timeout
            h = self.start(mpm=mpm, extra="GoapiIdempotencyStoreTimeout %dms\n"
                           "DBDMin 8\nDBDKeep 8\nDBDMax 8" % (self.TIMEOUT * 1000))
            for i in range(4):
                self.assertEqual(post(h, "/api/op", "before-freeze-%s-%d" % (mpm, i)).status,
                                 201)
            deadline = time.monotonic() + 5
            while h.request("GET", "/readyz").status != 200 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.pg.freeze()
            answers = {}

            def one(key):
                t0 = time.monotonic()
                r = post(h, "/api/op", key, timeout=20)
                answers[key] = (r.status, r.header("Retry-After"), time.monotonic() - t0)

            # requests in flight when it stops: each statement cut at the timeout
            burst = ["frozen-%s-%d" % (mpm, i) for i in range(6)]
            run_threads([threading.Thread(target=one, args=(k,)) for k in burst], 30)
            # then: at once while it is taken as down, one request at a time
            # trying it (a cut, or a reconnect within connect_timeout=2)
            later = ["frozen-later-%s-%d" % (mpm, i) for i in range(8)]
            for k in later:
                one(k)
                time.sleep(0.1)
            for k in burst + later:
                status, retry_after, took = answers[k]
                self.assertEqual((status, retry_after), (503, "60"), k)
                self.assertLess(took, (self.TIMEOUT if k in burst and mpm == "event" else 2)
                                + 1.5, (k, answers))
            self.assertGreater(sum(1 for k in later if answers[k][2] < 0.3), 0, answers)
            deadline = time.monotonic() + 6
            while h.request("GET", "/readyz").status != 503 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(h.request("GET", "/readyz").status, 503)
            log = h.read(h.error_log)
            self.assertRegex(log, r"GOAPI00045: .*timed out: no answer to goapi_claim "
                                  r"within 500 ms: it may have been applied")
            for k in burst + later:
                self.assertNotIn(k, self.backend.executions())
            self.pg.thaw()
            # claims that landed when it resumed are released; each key runs once
            for k in burst + later:
                self.assertEqual(self.until_settled(h, k, 20).status, 201, k)
                self.assertEqual(self.backend.executions()[k], 1, k)
            deadline = time.monotonic() + 5
            while h.request("GET", "/readyz").status != 200 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(h.request("GET", "/readyz").status, 200)


class RefusedTest(PgCase):

    def allowed(self):
        return (r"GOAPI00045", r"GOAPI00046") + DBD_DOWN

    def test_wrong_password_never_logged(self):
        wrong = "wr0ng-pw-" + PgServer.PASSWORD[::-1]
        h = self.start(params=dbd_params(self.pg, password=wrong))
        r = post(h, "/api/op", "wrong-password")
        self.assertEqual((r.status, r.header("Retry-After")), (503, "60"))
        self.assertNotIn("wrong-password", self.backend.executions())
        log = h.read(h.error_log)
        self.assertIn("password authentication failed", log)
        self.assertNotIn(wrong, log)
        self.assertNotIn(wrong, r.text)

    def test_missing_privilege_named(self):
        self.pg.sql("CREATE ROLE weak LOGIN PASSWORD '%s'" % PgServer.PASSWORD)
        h = self.start(params=dbd_params(self.pg, user="weak"))
        # at startup, before any request: the readiness check's first round
        # tries to make the schema and names the missing privilege
        self.assertRegex(h.wait_log(r"GOAPI00020: .*GRANT CREATE ON SCHEMA public TO weak"),
                         r"GOAPI00020: ready check idempotency-store \(GoapiIdempotencyStore\) "
                         r"failed: the ledger's table goapi_idempotency is missing and the "
                         r"database user weak cannot make it")
        self.assertEqual(h.request("GET", "/readyz").status, 503)
        r = post(h, "/api/op", "weak-user")
        self.assertEqual(r.status, 503)
        self.assertRegex(h.read(h.error_log),
                         r"GOAPI00045: .*cannot make it .*permission denied for schema "
                         r"public.*GRANT CREATE ON SCHEMA public TO weak")
        self.assertNotIn("weak-user", self.backend.executions())
        # the operator grants it: the next request makes the schema, no restart
        self.pg.sql("GRANT CREATE ON SCHEMA public TO weak")
        self.assertEqual(until_not_503(h, "weak-user", 5).status, 201)
        self.assertEqual(self.pg.value("SELECT tableowner FROM pg_tables WHERE tablename = "
                                       "'goapi_idempotency'"), "weak")

    def test_schema_made_at_startup(self):
        """Made by the readiness check's first round, before any request."""
        self.assertEqual(self.pg.value("SELECT count(*) FROM pg_tables WHERE tablename = "
                                       "'goapi_idempotency'"), "0")
        h = self.start()
        deadline = time.monotonic() + 5
        while self.pg.value("SELECT count(*) FROM pg_tables WHERE tablename = "
                            "'goapi_idempotency'") != "1" and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.pg.value("SELECT count(*) FROM pg_tables WHERE tablename IN "
                                       "('goapi_idempotency', 'goapi_idempotency_counters')"),
                         "2")
        self.assertEqual(h.request("GET", "/readyz").status, 200)
        self.assertEqual(self.backend.executions(), {})


@unittest.skipUnless(PgServer.available(), "PostgreSQL 15 is not installed (postgresql)")
class WithoutModDbdTest(unittest.TestCase):

    def test_refused_at_startup(self):
        backend = CountingBackend()
        self.addCleanup(backend.stop)
        h = server(None, backend, modules=("proxy", "proxy_http"))
        self.addCleanup(h.cleanup)
        t = h.configtest()
        self.assertNotEqual(t.returncode, 0)
        self.assertRegex(t.stderr, r"GOAPI00170: GoapiIdempotencyStore dbd needs mod_dbd")
        self.assertNotEqual(h.start_fails(), 0)
        log = h.read(h.error_log) + h.read(h.path("logs/stdout.log"))
        self.assertRegex(log, r"GOAPI00170: GoapiIdempotencyStore dbd needs mod_dbd")


if __name__ == "__main__":
    unittest.main()
