# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Configuration: bad directive values refused by "apache2 -t" and at
startup with a clear message; the shipped configs pass; a2enmod on Debian."""

import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.request

from harness import (BAD_LEVEL, HTTPD, MODULE, TOP, UUID7, Httpd, free_port, httpd_env,
                     wait_for_port)


def without_repeats(text):
    """Output of "apache2 -t" without GOAPI00063, which reports a directive
    of the shipped conf/goapi.conf (included by every test server) given
    again: the tests that override those values do it on purpose; and
    without GOAPI00066, GOAPI00081 and GOAPI00082, the probes' fast path
    reported at info level (test_fastpath.py checks them); without
    GOAPI00100 and GOAPI00101, who sees the probes' detail and GoapiProbes,
    at info level (test_exposure.py and test_probes.py check them); and without GOAPI00083, the version at
    info level (VersionTest checks it)."""
    return "\n".join(l for l in text.splitlines()
                     if not any(t in l for t in ("GOAPI00063", "GOAPI00066", "GOAPI00081",
                                                 "GOAPI00082", "GOAPI00083", "GOAPI00100",
                                                 "GOAPI00101")))


def whole(message):
    """A pattern for a whole line of the output: the message and nothing more."""
    return "(?m)^" + re.escape(message) + "$"


class ConfigValuesCase(unittest.TestCase):
    """Helpers: "httpd -t" over a config body; a refusal and its message."""

    def configtest(self, body):
        h = Httpd(body)
        try:
            res = h.configtest()
            return res.returncode, without_repeats(res.stdout + res.stderr)
        finally:
            h.cleanup()

    def assertRefused(self, body, *patterns):
        rc, out = self.configtest(body)
        self.assertNotEqual(rc, 0, out)
        for p in patterns:
            self.assertRegex(out, p)
        return out


class BadValuesTest(ConfigValuesCase):

    def test_max_id_length(self):
        for value, why in (("abc", "digits only"), ("35", "out of range"),
                           ("1025", "out of range"), ("-5", "digits only"),
                           ("99999999999999999999", "out of range")):
            self.assertRefused('GoapiMaxIDLength "%s"' % value,
                               r"Syntax error on line \d+ of .*httpd\.conf",
                               re.escape("GoapiMaxIDLength: '%s' is not valid" % value),
                               why, "from 36 to 1024")

    def test_one_form_for_every_refusal(self):
        # each refusal names the directive, the value, why, and once what
        # was expected; the examples of docs/directives.md are these texts
        for body, text in (
                ('GoapiMaxIDLength abc',
                 "GoapiMaxIDLength: 'abc' is not valid: not a whole number written with "
                 "digits only; expected a number of characters from 36 to 1024"),
                ('GoapiWriteTimeout 10x',
                 "GoapiWriteTimeout: '10x' is not valid: missing or unknown unit; expected "
                 "a duration such as 5 (seconds), 250ms, 5s, 1m30s or 1h, from 1ms to 24h, "
                 "or 0 to disable"),
                ('GoapiIdempotencyMaxBody 12Q',
                 "GoapiIdempotencyMaxBody: '12Q' is not valid: not a number of bytes (K, M "
                 "or G may follow); expected a size such as 64K or 1M, from 0 to 64M"),
                ('<Location "/a/">\nGoapiMaxInFlight auto size=4\n</Location>',
                 "GoapiMaxInFlight auto: 'size=4' is not valid: expected one of min=N, "
                 "max=N, start=N, percentile=N, backoff=F"),
                ('<Location "/a/">\nGoapiMaxInFlight 10\n'
                 'GoapiMaxInFlightPartition web 30 env=X\n</Location>',
                 "GoapiMaxInFlightPartition web: '30' is not valid: expected a share of the "
                 "limit such as 30%"),
                ('<Location "/a/">\nGoapiShedStatus 500\n</Location>',
                 "GoapiShedStatus: '500' is not valid: expected 503 (the server is busy) or "
                 "429 (this client sends too many)")):
            out = self.assertRefused(body, re.escape(text))
            line = next(l for l in out.splitlines() if text in l)
            self.assertEqual(line.count("expected"), 1, line)

    def test_header_names(self):
        for value in ("X Request", "X-Request-ID:", "Host", "content-length", "x" * 65):
            self.assertRefused('GoapiRequestIDHeader "%s"' % value,
                               re.escape("GoapiRequestIDHeader: '%s' is not valid" % value))
        self.assertRefused("GoapiCorrelationIDHeader Cookie",
                           "GoapiCorrelationIDHeader: 'Cookie' is not valid: "
                           "expected a header name of your own")
        self.assertRefused("GoapiIdempotencyKeyHeader a/b",
                           "GoapiIdempotencyKeyHeader: 'a/b' is not valid: "
                           "expected an HTTP header name")

    def test_flags(self):
        self.assertRefused("GoapiTrustIncomingIDs maybe",
                           "GoapiTrustIncomingIDs must be On or Off")
        self.assertRefused("GoapiForwardIDs yes", "GoapiForwardIDs must be On or Off")

    def test_context(self):
        self.assertRefused('<Location "/x">\n GoapiMaxIDLength 64\n</Location>',
                           "GoapiMaxIDLength not allowed in <Location> context")

    def test_arity(self):
        self.assertRefused("GoapiRequestIDHeader", "GoapiRequestIDHeader takes one argument")

    def test_same_header_twice(self):
        out = self.assertRefused(
            "GoapiRequestIDHeader X-Trace\nGoapiCorrelationIDHeader x-trace",
            r"GOAPI00001: GoapiRequestIDHeader and GoapiCorrelationIDHeader both name "
            r"the header 'X-Trace' in the main server; each needs its own header")
        self.assertNotIn("Syntax OK", out)

    def test_same_header_in_one_vhost_only(self):
        port = free_port()
        self.assertRefused(
            "GoapiCorrelationIDHeader X-Flow\n"
            "<VirtualHost 127.0.0.1:%d>\n ServerName edge.example\n"
            " GoapiIdempotencyKeyHeader X-Flow\n</VirtualHost>" % port,
            r"GOAPI00001: GoapiCorrelationIDHeader and GoapiIdempotencyKeyHeader both "
            r"name the header 'X-Flow' in the virtual host edge\.example defined at "
            r"\S+/httpd\.conf:\d+; each needs")

    def test_startup_fails_too(self):
        h = Httpd("GoapiMaxIDLength 2000")
        try:
            with self.assertRaises(RuntimeError) as cm:
                h.start(timeout=5)
            self.assertIn("GoapiMaxIDLength: '2000' is not valid", str(cm.exception))
        finally:
            h.cleanup()

    def test_valid_values_pass_quietly(self):
        rc, out = self.configtest(
            "GoapiRequestIDHeader X-Trace-ID\nGoapiCorrelationIDHeader X-Flow-ID\n"
            "GoapiIdempotencyKeyHeader X-Retry-Key\nGoapiMaxIDLength 36\n"
            "GoapiTrustIncomingIDs Off\n<Location /a>\n GoapiForwardIDs Off\n</Location>")
        self.assertEqual(rc, 0, out)
        self.assertEqual(out.strip(), "Syntax OK")

    def test_shipped_goapi_conf_passes_quietly(self):
        rc, out = self.configtest("")      # every Httpd includes conf/goapi.conf
        self.assertEqual(rc, 0, out)
        self.assertEqual(out.strip(), "Syntax OK")


class DeadlineValuesTest(ConfigValuesCase):
    """Goapi*Timeout and GoapiMaxHeaderBytes values."""

    def test_durations(self):
        for directive in ("GoapiReadTimeout", "GoapiReadHeaderTimeout", "GoapiWriteTimeout",
                          "GoapiIdleTimeout", "GoapiShutdownTimeout"):
            for value, why in (("5x", "missing or unknown unit"),
                               ("-1s", "a sign is not allowed"), ("25h", "out of range"),
                               ("1.5", "missing or unknown unit"), ("500us", "too short"),
                               ("5 s", "missing or unknown unit"), ("ten", "not a duration")):
                # the whole message: why, then what is expected
                self.assertRefused(
                    '%s "%s"' % (directive, value),
                    r"Syntax error on line \d+ of .*httpd\.conf",
                    whole("%s: '%s' is not valid: %s; expected a duration such as 5 "
                              "(seconds), 250ms, 5s, 1m30s or 1h, from 1ms to 24h, or 0 to "
                              "disable" % (directive, value, why)))

    def test_shutdown_window_is_the_servers(self):
        # one clock per child: a virtual host's own window is refused, not ignored
        self.assertRefused('<VirtualHost 127.0.0.1:1>\nGoapiShutdownTimeout 5s\n</VirtualHost>',
                           r"Syntax error on line \d+ of .*httpd\.conf",
                           whole("GoapiShutdownTimeout cannot occur within <VirtualHost> "
                                 "section: the shutdown window is the whole server's, set "
                                 "it in the main server"))

    def test_sizes(self):
        for value in ("1KB", "100", "65M", "1.5K", "big"):
            self.assertRefused('GoapiMaxHeaderBytes "%s"' % value,
                               re.escape("GoapiMaxHeaderBytes: '%s' is not valid" % value),
                               "expected a size from 1K to 64M")

    def test_good_values(self):
        rc, out = self.configtest("GoapiReadTimeout 1m30s\nGoapiReadHeaderTimeout 250ms\n"
                                  "GoapiWriteTimeout 2m\nGoapiIdleTimeout 1h\n"
                                  "KeepAliveTimeout 3600\n"
                                  "GoapiShutdownTimeout 10\nGoapiMaxHeaderBytes 64K")
        self.assertEqual(rc, 0, out)
        self.assertEqual(out.strip(), "Syntax OK")


class ReadinessValuesTest(ConfigValuesCase):
    """GoapiReadyCheck*, GoapiDrainFile."""

    def test_checks(self):
        self.assertRefused("GoapiReadyCheck db udp://x:1",
                           re.escape("GoapiReadyCheck: not a valid URL for the check 'db' "
                                     "(scheme 'udp'): expected tcp://host:port or "
                                     "http://host[:port]/path (the value is not repeated "
                                     "here: it may hold a password)"))
        self.assertRefused("GoapiReadyCheck db tcp://x",
                           "the port is required")
        self.assertRefused("GoapiReadyCheck 'a b' tcp://x:1",
                           re.escape("GoapiReadyCheck: not a valid check name: expected a "
                                     "check name of letters, digits, '-', '_' or '.' (the "
                                     "value is not repeated"))
        self.assertRefused("GoapiReadyCheck db tcp://x:1\nGoapiReadyCheck db tcp://y:2",
                           "a check named 'db' is already defined")
        self.assertRefused("GoapiReadyCheck db", "GoapiReadyCheck takes two arguments")
        port = free_port()
        self.assertRefused("<VirtualHost 127.0.0.1:%d>\n GoapiReadyCheck db tcp://x:1\n"
                           "</VirtualHost>" % port,
                           "GoapiReadyCheck cannot occur within <VirtualHost> section")
        self.assertRefused("\n".join("GoapiReadyCheck c%d tcp://x:1" % i for i in range(32)),
                           "at most 31 checks")

    def test_intervals(self):
        self.assertRefused("GoapiReadyCheckInterval 0",
                           whole("GoapiReadyCheckInterval: '0' is not valid: 0 is not "
                                     "allowed here; expected a duration such as 500ms, 5s or "
                                     "1m, from 1ms to 24h"))
        self.assertRefused("GoapiReadyCheckTimeout 5x", "GoapiReadyCheckTimeout: '5x'")
        self.assertRefused("GoapiIdempotencySweepInterval 0",
                           whole("GoapiIdempotencySweepInterval: '0' is not valid: 0 is "
                                     "not allowed here; expected a duration such as 500ms, 5s "
                                     "or 1m, from 1ms to 24h"))
        self.assertRefused("GoapiIdempotencySweepInterval 1d",
                           "GoapiIdempotencySweepInterval: '1d' is not valid")
        port = free_port()
        self.assertRefused("<VirtualHost 127.0.0.1:%d>\n GoapiIdempotencySweepInterval 5s\n"
                           "</VirtualHost>" % port,
                           "GoapiIdempotencySweepInterval cannot occur within <VirtualHost> "
                           "section")

    def test_good_readiness_config(self):
        rc, out = self.configtest("GoapiReadyCheck db tcp://127.0.0.1:5432\n"
                                  "GoapiReadyCheck api http://[::1]:8080/healthz\n"
                                  "GoapiReadyCheckInterval 10s\nGoapiReadyCheckTimeout 2s\n"
                                  "GoapiDrainFile run/drain")
        self.assertEqual(rc, 0, out)
        self.assertEqual(out.strip(), "Syntax OK")


class IdempotencyValuesTest(ConfigValuesCase):
    """GoapiIdempotency* values."""

    def test_methods(self):
        for value in ("GET", "HEAD", "OPTIONS", "FETCHX", "post,put"):
            self.assertRefused('<Location "/a">\nGoapiIdempotencyMethods POST %s\n</Location>'
                               % value,
                               re.escape("GoapiIdempotencyMethods: '%s' is not valid" % value),
                               "expected HTTP methods that change state")
        self.assertRefused('<Location "/a">\nGoapiIdempotencyMethods\n</Location>',
                           "GoapiIdempotencyMethods requires at least one argument")

    def test_durations_and_sizes(self):
        for d in ("GoapiIdempotencyTTL", "GoapiIdempotencyLease"):
            for value, why in (("0", "0 is not allowed here"), ("25h", "out of range"),
                               ("5x", "missing or unknown unit"),
                               ("-1s", "a sign is not allowed")):
                # no "or 0 to disable" where 0 is refused
                self.assertRefused('<Location "/a">\n%s %s\n</Location>' % (d, value),
                                   whole("%s: '%s' is not valid: %s; expected a duration "
                                             "such as 30s, 60s, 1h or 24h, from 1ms to 24h"
                                             % (d, value, why)))
        for d in ("GoapiIdempotencyMaxBody", "GoapiIdempotencyMaxResponse"):
            for value in ("65M", "1KB", "-1", "lots"):
                self.assertRefused('<Location "/a">\n%s %s\n</Location>' % (d, value),
                                   re.escape("%s: '%s' is not valid" % (d, value)),
                                   "expected a size such as 64K or 1M, from 0 to 64M")

    def test_store(self):
        for value, why in (("/var/lib/x.mdb", "it has no scheme"),
                           ("rediss://127.0.0.1:6379",
                            "unknown scheme 'rediss': TLS is not supported"),
                           ("lmdb:", "'lmdb:' is not followed by a path"),
                           ("LMDB:/x", "unknown scheme 'LMDB': schemes are written in "
                                       "lower case ('lmdb')")):
            self.assertRefused('GoapiIdempotencyStore "%s"' % value,
                               re.escape("GoapiIdempotencyStore: not a valid store: %s; "
                                         "expected lmdb:<path>, redis://" % why))
        for size in ("512K", "65G", "huge"):
            self.assertRefused("GoapiIdempotencyStore lmdb:x.mdb %s" % size,
                               re.escape("GoapiIdempotencyStore: not a valid size after "
                                         "lmdb:<path>: "),
                               "from 1M to 64G")
        port = free_port()
        self.assertRefused("<VirtualHost 127.0.0.1:%d>\n GoapiIdempotencyStore lmdb:x\n"
                           "</VirtualHost>" % port,
                           "GoapiIdempotencyStore cannot occur within <VirtualHost> section")

    def test_redis_store_values(self):
        self.assertRefused("GoapiIdempotencyStore redis://h 64M",
                           "a size is for an lmdb: store only")
        for value, why in (("0", "0 is not allowed here"),
                           ("61s", "more than a minute is not allowed here"),
                           ("5x", "missing or unknown unit"), ("-1s", "a sign is not allowed")):
            self.assertRefused("GoapiIdempotencyStoreTimeout %s" % value,
                               whole("GoapiIdempotencyStoreTimeout: '%s' is not valid: %s; "
                                         "expected a duration such as 250ms or 1s, from 1ms "
                                         "to 1m" % (value, why)))
        for value in ("a b", "x{y}", "k" * 65, "caf\u00e9"):
            self.assertRefused('GoapiIdempotencyStorePrefix "%s"' % value,
                               "GoapiIdempotencyStorePrefix: .* is not valid: expected 1 to "
                               "64 printable ASCII characters")
        for value in ("17", "-1", "+1", "one", "1.5", "1 "):
            self.assertRefused('GoapiIdempotencyStoreReplicas "%s"' % value,
                               re.escape("GoapiIdempotencyStoreReplicas: '%s' is not valid: "
                                         % value),
                               re.escape("expected a number of replicas from 0 (none) to 16"))
        port = free_port()
        self.assertRefused("<VirtualHost 127.0.0.1:%d>\n GoapiIdempotencyStoreReplicas 1\n"
                           "</VirtualHost>" % port,
                           "GoapiIdempotencyStoreReplicas cannot occur within <VirtualHost> "
                           "section")
        rc, out = self.configtest("GoapiIdempotencyStore redis://127.0.0.1:1/5\n"
                                  "GoapiIdempotencyStoreTimeout 1s\n"
                                  "GoapiIdempotencyStoreReplicas 16\n"
                                  "GoapiIdempotencyStorePrefix orders:\n")
        self.assertEqual((rc, out.strip()), (0, "Syntax OK"))
        self.assertRefused("GoapiReadyCheck idempotency-store tcp://x:1",
                           "the built-in check of a shared idempotency store")

    def test_store_that_cannot_be_checked_is_a_warning(self):
        # -t run before the directory exists (a new host): it says so
        rc, out = self.configtest('GoapiIdempotencyStore lmdb:/nonexistent-goapi/l.mdb\n'
                                  '<Location "/a">\nGoapiIdempotency On\n</Location>')
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"GOAPI00058: the idempotency store /nonexistent-goapi/l\.mdb "
                              r"could not be checked \(its directory /nonexistent-goapi "
                              r"cannot be opened: No such file or directory\)")

    def test_damaged_store_values(self):
        for value in ("Yes", "fresh", "On"):
            self.assertRefused("GoapiIdempotencyDamagedStore %s" % value,
                               re.escape("GoapiIdempotencyDamagedStore: '%s' is not valid: "
                                         "expected Refuse" % value))
        port = free_port()
        self.assertRefused("<VirtualHost 127.0.0.1:%d>\n GoapiIdempotencyDamagedStore "
                           "Refuse\n</VirtualHost>" % port, "cannot occur within")
        self.assertRefused('<Location "/a">\nGoapiIdempotencyRerunAfterLease maybe\n'
                           '</Location>', "GoapiIdempotencyRerunAfterLease must be On or Off")

    def test_unwritable_store_stops_startup(self):
        h = Httpd('GoapiIdempotencyStore lmdb:/proc/goapi-cannot-be-here.mdb\n'
                  '<Location "/a">\nGoapiIdempotency On\n</Location>')
        try:
            with self.assertRaises(RuntimeError) as cm:
                h.start(timeout=5)
            self.assertIn("GOAPI00055: the idempotency store /proc/goapi-cannot-be-here.mdb "
                          "cannot be opened", str(cm.exception))
        finally:
            h.cleanup()

    def test_good_idempotency_config(self):
        rc, out = self.configtest('GoapiIdempotencyStore lmdb:@DIR@/run/ledger.mdb 1G\n'
                                  'GoapiIdempotencyDamagedStore StartFresh\n'
                                  '<Location "/a">\nGoapiIdempotency On\n'
                                  'GoapiIdempotencyMethods POST PUT PATCH DELETE\n'
                                  'GoapiIdempotencyRequired On\nGoapiIdempotencyTTL 12h\n'
                                  'GoapiIdempotencyLease 2m\nGoapiIdempotencyMaxBody 256K\n'
                                  'GoapiIdempotencyMaxResponse 0\n</Location>')
        self.assertEqual(rc, 0, out)
        self.assertEqual(out.strip(), "Syntax OK")


# Directive values that hold a password ({pw}) and are wrong in one way each,
# with what the refusal must say instead of repeating them.
MALFORMED_SECRETS = (
    ('GoapiIdempotencyStore "rediss://:{pw}@127.0.0.1:6380"',
     "not a valid store: unknown scheme 'rediss': TLS is not supported; expected lmdb:"),
    ('GoapiIdempotencyStore "http://:{pw}@127.0.0.1"', "unknown scheme 'http'"),
    ('GoapiIdempotencyStore "redis:/:{pw}@127.0.0.1"',
     "'redis:' is not followed by '//' (redis://host)"),
    ('GoapiIdempotencyStore "valkey://:{pw}@127.0.0.1"', "unknown scheme 'valkey'"),
    ('GoapiIdempotencyStore "REDIS://:{pw}@127.0.0.1"', "written in lower case ('redis')"),
    ('GoapiIdempotencyStore ":{pw}@127.0.0.1:6379"', "it has no scheme"),
    ('GoapiIdempotencyStore "redis://:{pw}@127.0.0.1:99999"', "the port must be a number"),
    ('GoapiIdempotencyStore "redis://:{pw}@127.0.0.1/db0"', "the database must be"),
    ('GoapiIdempotencyStore "redis://:{pw}%zz@127.0.0.1"', "'%' not followed by two hex"),
    ('GoapiIdempotencyStore "redis://:{pw}@[::1:6379"', "written in brackets"),
    ('GoapiIdempotencyStore "redis://:{pw}"', "a host is missing"),
    ('GoapiIdempotencyStore "unix:/run/redis.sock&password={pw}"', "socket's path holds only"),
    ('GoapiIdempotencyStore "redis-sentinel://:{pw}@127.0.0.1:26379"',
     "the master's name must follow"),
    ('GoapiIdempotencyStore "lmdb://u:{pw}@db.internal/ledger"', "not by '//' and a host"),
    ('GoapiIdempotencyStore lmdb:ledger.mdb "{pw}"', "not a valid size after lmdb:<path>"),
    ('GoapiReadyCheck db "http://u:{pw}@127.0.0.1:9/health"', "without a user or password"),
    ('GoapiReadyCheck db "redis://:{pw}@127.0.0.1:6379"',
     "not a valid URL for the check 'db' (scheme 'redis')"),
    ('GoapiReadyCheck db "tcp://:{pw}@127.0.0.1:6379"', "without a user or password"),
    ('GoapiReadyCheck "http://u:{pw}@127.0.0.1/health" db',
     "the name comes first, then the URL"),
)


class SecretsNotRepeatedTest(unittest.TestCase):
    """No refusal, log line or "-t" output repeats a password of a directive
    value, whatever is wrong with the value."""

    @staticmethod
    def password(i):
        # distinctive, and nothing a message or a log could hold by chance
        return "Sq%02dzVw4Kp" % i

    def logs(self, h):
        out = ""
        for root, _, files in os.walk(h.path("logs")):
            for f in files:
                out += h.read(os.path.join(root, f))
        return out

    def test_malformed_values_under_t_and_at_startup(self):
        for i, (line, why) in enumerate(MALFORMED_SECRETS):
            pw = self.password(i)
            with self.subTest(line=line):
                h = Httpd(line.format(pw=pw))
                self.addCleanup(h.cleanup)
                t = h.configtest()
                out = t.stdout + t.stderr
                self.assertNotEqual(t.returncode, 0, out)
                self.assertRegex(out, r"Syntax error on line \d+ of \S+httpd\.conf")
                self.assertIn(why, out)
                self.assertIn("(the value is not repeated here: it may hold a password)", out)
                self.assertNotIn(pw, out)
                rc = h.start_fails(timeout=10)
                logs = self.logs(h)
                self.assertNotEqual(rc, 0, logs)
                self.assertIn(why, logs)
                self.assertNotIn(pw, logs)

    def test_malformed_values_under_worker_and_prefork(self):
        # the refusal is made while the configuration is read, before any
        # MPM runs: a few of the values again, started under the other two
        for mpm in ("worker", "prefork"):
            for i, (line, why) in enumerate(MALFORMED_SECRETS[:4]):
                pw = self.password(50 + i)
                with self.subTest(mpm=mpm, line=line):
                    h = Httpd(line.format(pw=pw), mpm=mpm)
                    self.addCleanup(h.cleanup)
                    rc = h.start_fails(timeout=10)
                    logs = self.logs(h)
                    self.assertNotEqual(rc, 0, logs)
                    self.assertIn(why, logs)
                    self.assertNotIn(pw, logs)

    def test_store_given_twice_shown_without_passwords(self):
        # "-t" reports the repeat (GOAPI00063) with both values as logs show them
        first, second = self.password(90), self.password(91)
        h = Httpd('GoapiIdempotencyStore "redis://app:%s@127.0.0.1:6390/1"\n'
                  'GoapiIdempotencyStore "unix:/run/redis.sock?password=%s"'
                  % (first, second))
        self.addCleanup(h.cleanup)
        t = h.configtest()
        out = t.stdout + t.stderr
        self.assertEqual(t.returncode, 0, out)
        self.assertIn("GOAPI00063: GoapiIdempotencyStore is given twice", out)
        self.assertIn("'redis://***:***@127.0.0.1:6390/1'", out)
        self.assertIn("'unix:/run/redis.sock?db=0&password=***'", out)
        self.assertNotIn(first, out)
        self.assertNotIn(second, out)

    def test_check_url_query_masked_in_log_lines(self):
        # a valid check whose query carries a token: its failure is logged
        # with the token masked
        pw = self.password(92)
        h = Httpd('GoapiReadyCheck api "http://127.0.0.1:%d/health?token=%s&v=1"\n'
                  'GoapiReadyCheckInterval 100ms\n' % (free_port(), pw))
        self.addCleanup(h.cleanup)
        h.start()
        deadline = time.monotonic() + 10
        while "GOAPI00020" not in h.read(h.error_log) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertNotEqual(self.get_readyz(h), 200)
        h.stop()
        logs = self.logs(h)
        self.assertRegex(logs, r"GOAPI00020: ready check api \(http://127\.0\.0\.1:\d+"
                               r"/health\?token=\*\*\*&v=\*\*\*\) failed")
        self.assertNotIn(pw, logs)

    @staticmethod
    def get_readyz(h):
        return h.request("GET", "/readyz").status


class ChecklistTest(unittest.TestCase):
    """The production checklist: tagged warnings under -t and at startup."""

    def configtest(self, body):
        h = Httpd(body)
        try:
            res = h.configtest()
            self.assertEqual(res.returncode, 0, res.stderr)
            return [l for l in without_repeats(res.stdout + res.stderr).splitlines()
                    if l != "Syntax OK"]
        finally:
            h.cleanup()

    def test_vhost_without_deadlines(self):
        port = free_port()
        lines = self.configtest(
            "<VirtualHost 127.0.0.1:%d>\n ServerName bare.example\n"
            " GoapiReadTimeout 0\n GoapiWriteTimeout 0\n"
            " <Location /api/>\n  SetHandler goapi\n </Location>\n</VirtualHost>" % port)
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r"^GOAPI00010: checklist: virtual host bare\.example "
                                   r"\(\S+httpd\.conf:\d+\) serves SetHandler goapi "
                                   r"without GoapiReadTimeout, GoapiWriteTimeout: every "
                                   r"connection needs read, write and idle deadlines$")

    def test_vhost_inheriting_the_probes_is_checked(self):
        port = free_port()
        lines = self.configtest("<VirtualHost 127.0.0.1:%d>\n ServerName static.example\n"
                                " GoapiWriteTimeout 0\n</VirtualHost>" % port)
        # it still serves the probes of goapi.conf (main server, inherited)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("static.example", lines[0])
        self.assertIn("without GoapiWriteTimeout", lines[0])

    def test_only_the_vhost_that_serves_goapi(self):
        # no conf/goapi.conf: the main server serves nothing of goapi; one
        # virtual host, inside a container, does, without deadlines
        p1, p2 = free_port(), free_port()
        h = Httpd("Listen 127.0.0.1:%d\nListen 127.0.0.1:%d\n"
                  "<VirtualHost 127.0.0.1:%d>\n ServerName plain.example\n</VirtualHost>\n"
                  "<IfDefine !GOAPI_NOT_DEFINED>\n"
                  "<VirtualHost 127.0.0.1:%d>\n ServerName api.example\n"
                  " <LocationMatch \"^/healthz$\">\n  SetHandler \"goapi\"\n"
                  " </LocationMatch>\n</VirtualHost>\n</IfDefine>" % (p1, p2, p1, p2),
                  include_goapi_conf=False)
        try:
            res = h.configtest()
            self.assertEqual(res.returncode, 0, res.stderr)
            lines = [l for l in without_repeats(res.stderr).splitlines() if "GOAPI" in l]
            self.assertEqual(len(lines), 1, lines)
            self.assertRegex(lines[0], r"^GOAPI00010: checklist: virtual host api\.example "
                                       r"\(\S+:\d+\) serves SetHandler goapi without "
                                       r"GoapiReadTimeout, GoapiWriteTimeout, GoapiIdleTimeout")
        finally:
            h.cleanup()

    def test_contradictions(self):
        lines = self.configtest("GoapiReadHeaderTimeout 10s\nGoapiWriteTimeout 2s")
        self.assertEqual(lines, [
            "GOAPI00010: checklist: main server GoapiReadHeaderTimeout 10s is longer than "
            "GoapiReadTimeout 5s: the whole-request deadline always fires first",
            "GOAPI00010: checklist: main server GoapiWriteTimeout 2s is shorter than "
            "GoapiReadTimeout 5s: a request body that arrives in time can leave no time "
            "to answer"])
        lines = self.configtest("GoapiShutdownTimeout 0")
        self.assertEqual(len(lines), 1)
        self.assertIn("GoapiShutdownTimeout 0: a graceful stop waits", lines[0])

    def test_check_timeout_not_below_interval(self):
        lines = self.configtest("GoapiReadyCheck db tcp://127.0.0.1:1\n"
                                "GoapiReadyCheckInterval 1s\nGoapiReadyCheckTimeout 1s")
        self.assertEqual(lines, ["GOAPI00077: checklist: main server GoapiReadyCheckTimeout "
                                 "1s is not shorter than GoapiReadyCheckInterval 1s: a slow "
                                 "round delays the next"])

    def test_keepalive_conflicts(self):
        # main: KeepAliveTimeout and GoapiIdleTimeout (60s from goapi.conf)
        lines = self.configtest("KeepAliveTimeout 7")
        self.assertEqual(lines, ["GOAPI00011: checklist: main server sets KeepAliveTimeout "
                                 "7s and GoapiIdleTimeout 1m; GoapiIdleTimeout wins"])
        # a virtual host's own KeepAliveTimeout beats the inherited GoapiIdleTimeout
        port = free_port()
        lines = self.configtest("<VirtualHost 127.0.0.1:%d>\n ServerName ka.example\n"
                                " KeepAliveTimeout 3\n</VirtualHost>" % port)
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r"GOAPI00011: checklist: virtual host ka\.example .* "
                                   r"sets KeepAliveTimeout 3s and GoapiIdleTimeout 1m; "
                                   r"its own KeepAliveTimeout wins")
        # the same value twice is no conflict
        self.assertEqual(self.configtest("KeepAliveTimeout 60"), [])

    def test_once_at_startup_and_once_per_restart(self):
        h = Httpd("GoapiReadHeaderTimeout 10s\nStartServers 3")
        try:
            h.start()
            time.sleep(0.5)
            self.assertEqual(h.read(h.error_log).count("GOAPI00010"), 1)
            self.assertEqual(h.read(h.path("logs/stdout.log")).count("GOAPI00010"), 0)
            h.send_signal(signal.SIGUSR1)           # graceful restart
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and h.read(h.error_log).count("AH00493") < 1:
                time.sleep(0.1)
            time.sleep(0.5)
            self.assertEqual(h.read(h.error_log).count("GOAPI00010"), 2)
            self.assertEqual(h.stop(), 0)
            self.assertEqual(h.bad_lines(), [])
        finally:
            h.cleanup()


def goapi_version():
    """GOAPI_VERSION, from the one place it is written."""
    with open(os.path.join(TOP, "src", "goapi_defs.h")) as f:
        return re.search(r'#define GOAPI_VERSION\s+"([^"]+)"', f.read()).group(1)


class VersionTest(unittest.TestCase):
    """The version is in httpd's notice line at every start (and, as
    ServerTokens allows, in the Server header), and in "apachectl -t" at
    info level."""

    def test_version_shown(self):
        version = goapi_version()
        self.assertRegex(version, r"^\d+\.\d+\.\d+$")
        h = Httpd("ServerTokens Full\n", loglevel="warn goapi:info core:notice")
        try:
            res = h.configtest()
            self.assertEqual(res.returncode, 0, res.stderr)
            self.assertRegex(res.stderr, r"GOAPI00083: mod_goapi/%s for Apache/2\.4\.\d+"
                             % re.escape(version))
            h.start()
            self.assertRegex(h.wait_log(r"AH00489|AH00094"),
                             r"AH\d+: Apache/2\.4\.\d+ .*mod_goapi/%s configured -- "
                             r"resuming normal operations" % re.escape(version))
            r = h.request("GET", "/healthz")
            self.assertIn("mod_goapi/%s" % version, r.header("Server"))
            self.assertEqual(h.stop(), 0)
        finally:
            h.cleanup()


class DebianA2enmodTest(unittest.TestCase):
    """"make install" into a staging root; its goapi.load and goapi.conf in a
    copy of Debian's /etc/apache2, enabled with a2enmod, checked with
    apache2ctl and served."""

    def setUp(self):
        if not os.path.isdir("/etc/apache2/mods-available") or not shutil.which("a2enmod"):
            self.skipTest("no Debian apache2 layout")
        self.tmp = tempfile.mkdtemp(prefix="goapi-debian-")
        os.chmod(self.tmp, 0o755)
        self.conf = os.path.join(self.tmp, "apache2")
        shutil.copytree("/etc/apache2", self.conf, symlinks=True)
        self.port = free_port()
        for d in ("run", "lock", "log"):
            os.makedirs(os.path.join(self.tmp, d))
        with open(os.path.join(self.conf, "envvars"), "a") as f:
            f.write("\nexport APACHE_RUN_DIR=%s/run\nexport APACHE_PID_FILE=%s/run/apache2.pid\n"
                    "export APACHE_LOCK_DIR=%s/lock\nexport APACHE_LOG_DIR=%s/log\n"
                    % ((self.tmp,) * 4))
        with open(os.path.join(self.conf, "ports.conf"), "w") as f:
            f.write("Listen 127.0.0.1:%d\n" % self.port)
        # "make install" into a staging root, then its files into the copy.
        stage = os.path.join(self.tmp, "stage")
        res = subprocess.run(["make", "-s", "-C", TOP, "install", "DESTDIR=" + stage,
                              "BUILD=" + os.path.dirname(MODULE)],
                             capture_output=True, text=True, timeout=300)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        so = os.path.join(stage, "usr/lib/apache2/modules/mod_goapi.so")
        with open(so, "rb") as a, open(MODULE, "rb") as b:
            self.assertEqual(a.read(), b.read())
        # the public header, not the internal ones; the license
        self.assertTrue(os.path.isfile(os.path.join(stage, "usr/include/apache2",
                                                    "mod_goapi_public.h")))
        self.assertFalse(os.path.exists(os.path.join(stage, "usr/include/apache2",
                                                     "goapi_shutdown.h")))
        with open(os.path.join(stage, "usr/share/doc/mod_goapi/LICENSE")) as f:
            self.assertIn("Apache License", f.read(200))
        avail = os.path.join(stage, "etc/apache2/mods-available")
        load = open(os.path.join(avail, "goapi.load")).read()
        self.assertIn("/usr/lib/apache2/modules/mod_goapi.so", load)
        with open(os.path.join(self.conf, "mods-available", "goapi.load"), "w") as f:
            f.write(load.replace("/usr/lib/apache2/modules/mod_goapi.so", so))
        shutil.copy(os.path.join(avail, "goapi.conf"),
                    os.path.join(self.conf, "mods-available", "goapi.conf"))
        self.env = httpd_env({"APACHE_CONFDIR": self.conf}, logdir=self.tmp)
        self.proc = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        if os.environ.get("GOAPI_KEEP_TEMP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)

    def test_a2enmod_goapi(self):
        # a2enmod is Perl: the sanitizer runtimes are for httpd only
        plain = dict(os.environ, APACHE_CONFDIR=self.conf)
        res = subprocess.run(["a2enmod", "-q", "goapi"], env=plain, capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        for ext in ("load", "conf"):
            self.assertTrue(os.path.islink(os.path.join(self.conf, "mods-enabled",
                                                        "goapi." + ext)))
        res = subprocess.run(["apache2ctl", "-t"], env=self.env, capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("Syntax OK", res.stderr)
        # Debian's apache2.conf sets KeepAliveTimeout 5; goapi.conf sets
        # KeepAliveTimeout and GoapiIdleTimeout together: no warning
        goapi_lines = [l for l in without_repeats(res.stderr).splitlines() if "GOAPI" in l]
        self.assertEqual(goapi_lines, [])

        self.proc = subprocess.Popen(
            ["sh", "-c", '. "$APACHE_CONFDIR/envvars" && exec %s -d "$APACHE_CONFDIR" '
             "-DFOREGROUND" % HTTPD], env=self.env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.assertTrue(wait_for_port("127.0.0.1", self.port, time.monotonic() + 15,
                                      self.proc))
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.port,
                                    timeout=10) as resp:
            self.assertEqual(resp.read(), b"ok\n")
            self.assertRegex(resp.headers["X-Request-ID"], UUID7)
            self.assertEqual(resp.headers["X-Correlation-ID"], resp.headers["X-Request-ID"])
        for path, body in (("/readyz", b"ready\n"), ("/startupz", b"started\n")):
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path),
                                        timeout=10) as resp:
                self.assertEqual(resp.read(), body)
        # stopped as the container is: graceful stop, within the window
        t0 = time.monotonic()
        os.kill(self.proc.pid, signal.SIGWINCH)
        self.assertEqual(self.proc.wait(15), 0)
        self.assertLess(time.monotonic() - t0, 3.0 + 1.0)
        with open(os.path.join(self.tmp, "log", "error.log")) as f:
            log = f.read()
        self.assertIn("caught SIGWINCH, shutting down gracefully", log)
        bad = [l for l in log.splitlines() if BAD_LEVEL.search(l)]
        self.assertEqual(bad, [])
        self.assertEqual(glob.glob(os.path.join(self.tmp, "san", "*san.*")), [])
