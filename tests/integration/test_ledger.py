# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""The idempotency ledger's files before use, against a real httpd.

A damaged file stops the start with one clear line naming it and exit
status 1 (never a signal), "apache2 -t" refuses it the same way, nothing is
served from it and nothing is written to it; GoapiIdempotencyDamagedStore
StartFresh moves it aside and starts anew, loudly.  A planted symbolic link
or a directory others may write is refused with its target untouched.  The
ledger's disk space is reserved when it is made.  A server-scope directive
given twice with different values is reported with both places."""

import hashlib
import os
import pwd
import re
import socket
import unittest

from harness import (IS_ROOT, SANITIZE, Httpd, is_ledger_checker_crash)

CONF = """
GoapiIdempotencyStore lmdb:@DIR@/ledger/l.mdb 1M
<Location "/parcels/">
    SetHandler goapi
    GoapiIdempotency On
</Location>
"""
PAGE = 4096
MAP = 1 << 20


def post(h, path, key):
    return h.request("POST", path, headers={"Idempotency-Key": key}, body=b"{}")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def listening(h):
    try:
        socket.create_connection((h.host, h.port), timeout=0.5).close()
        return True
    except OSError:
        return False


class LedgerCase(unittest.TestCase):
    """Servers whose ledger is @DIR@/ledger/l.mdb, in a directory owned by
    the server's user (as under /var/lib on Debian)."""

    def make(self, extra="", dir_mode=0o755):
        h = Httpd(CONF + extra)
        self.addCleanup(h.cleanup)
        d = h.path("ledger")
        os.makedirs(d)
        os.chmod(d, dir_mode)
        if IS_ROOT:
            www = pwd.getpwnam("www-data")
            os.chown(d, www.pw_uid, www.pw_gid)
        self.ledger = os.path.join(d, "l.mdb")
        return h

    def filled(self, keys=300):
        """A ledger with keys completed dispatches in it, its server stopped."""
        h = self.make()
        h.start()
        for i in range(keys):
            self.assertEqual(post(h, "/parcels/p%d/dispatch" % i, "fill-%d" % i).status, 201)
        self.assertEqual(h.stop(), 0)
        self.assertNotIn("[error]", h.read(h.error_log))
        return h

    def used_bytes(self):
        """The ledger's bytes up to its last page that is not all zeros
        (the rest is the reserved space)."""
        with open(self.ledger, "rb") as f:
            data = f.read()
        end = len(data)
        while end > 0 and not any(data[end - PAGE:end]):
            end -= PAGE
        return end

    def assertRefused(self, h, tag, *patterns):
        """The start fails with exit status 1 and the tagged line; so does
        "apache2 -t"; the file is not written to; nothing listens."""
        before = sha256(self.ledger) if os.path.exists(self.ledger) else None
        offset = h.log_size()
        rc = h.start_fails()
        log = h.read(h.error_log, offset) + h.read(h.path("logs/stdout.log"))
        self.assertEqual(rc, 1, "exit status %r (a negative one is a signal):\n%s" % (rc, log))
        line = [l for l in log.splitlines() if tag in l]
        self.assertEqual(len(line), 1, log)
        for p in patterns:
            self.assertRegex(line[0], p)
        self.assertNotIn("exit signal", log)
        self.assertFalse(listening(h))
        t = h.configtest()
        self.assertNotEqual(t.returncode, 0, t.stdout + t.stderr)
        self.assertIn(tag, t.stdout + t.stderr)
        if before is not None:
            self.assertEqual(sha256(self.ledger), before, "the damaged file was written to")
        self.assertNoReports(h)
        return line[0]

    def assertNoReports(self, h):
        """Sanitizer reports, but the death of the checking child that
        found the damage (harness.is_ledger_checker_crash())."""
        reports = [r for r in h.sanitizer_reports()
                   if not is_ledger_checker_crash(Httpd.read(r))]
        self.assertEqual(reports, [], "".join(Httpd.read(r) for r in reports))


class DamagedLedgerTest(LedgerCase):

    def refused_damaged(self, h, *patterns):
        return self.assertRefused(h, "GOAPI00050",
                                  r"the idempotency store %s " % re.escape(self.ledger),
                                  r"nothing was read from it and the server does not start",
                                  r"move \S+l\.mdb and \S+l\.mdb-lock aside",
                                  r"GoapiIdempotencyDamagedStore StartFresh", *patterns)

    def test_truncated_to_zero(self):
        h = self.filled()
        os.truncate(self.ledger, 0)
        self.refused_damaged(h, r"is empty \(0 bytes\)")
        self.assertEqual(os.path.getsize(self.ledger), 0)

    def test_truncated_to_a_few_kilobytes(self):
        h = self.filled()
        os.truncate(self.ledger, 5000)
        self.refused_damaged(h, r"is 5000 bytes long but its meta page says \d+ are in use")

    def test_truncated_to_half(self):
        h = self.filled()
        half = self.used_bytes() // 2
        self.assertGreater(half, 8 * PAGE)
        os.truncate(self.ledger, half)
        self.refused_damaged(h, r"is %d bytes long .* it was cut short" % half)

    def test_random_bytes_over_data_pages(self):
        h = self.filled()
        with open(self.ledger, "r+b") as f:
            data = f.read()
            pages = {m.start() // PAGE for m in re.finditer(re.escape(b"GIR\x02"), data)}
            self.assertTrue(pages)
            for pg in pages:
                f.seek(pg * PAGE)
                f.write(os.urandom(PAGE))
        # a damaged page, a record that does not decode, or a reader that
        # died of it: all damage, none of it in the server
        self.refused_damaged(h, r"has a damaged page|does not decode|damaged list|"
                                r"die of signal|end with status|not mod_goapi.s")

    def test_random_bytes_over_a_meta_page(self):
        h = self.filled()
        with open(self.ledger, "r+b") as f:
            f.write(os.urandom(PAGE))
        self.refused_damaged(h, r"both of its meta pages are damaged")

    def test_start_fresh_recovers_loudly(self):
        h = self.filled(50)
        os.truncate(self.ledger, 0)
        h.write_conf(CONF + "GoapiIdempotencyDamagedStore StartFresh\n")
        t = h.configtest()
        self.assertEqual(t.returncode, 0, t.stderr)
        self.assertIn("GOAPI00057", t.stdout + t.stderr)
        offset = h.log_size()
        h.start()
        try:
            log = h.read(h.error_log, offset)
            m = re.search(r"\[goapi:alert\].*GOAPI00060: the idempotency store %s is empty "
                          r"\(0 bytes\).*: moved to (\S+), and a new, empty ledger is made.*"
                          r"ITS RECORDS ARE LOST" % re.escape(self.ledger), log)
            self.assertIsNotNone(m, log)
            self.assertEqual(os.path.getsize(m.group(1)), 0)
            self.assertTrue(os.path.exists(self.ledger.replace("l.mdb", "l.mdb-lock")
                                           + m.group(1)[len(self.ledger):]))
            # a new ledger: the old keys are unknown to it
            r = post(h, "/parcels/p1/dispatch", "fill-1")
            self.assertEqual(r.status, 201)
            self.assertIsNone(r.header("Idempotent-Replayed"))
            self.assertEqual(os.path.getsize(self.ledger), MAP)
        finally:
            self.assertEqual(h.stop(), 0)
        self.assertNoReports(h)


@unittest.skipUnless(IS_ROOT, "needs root: the server's user and root's files")
class HostilePathTest(LedgerCase):
    """The store's directory belongs to the server's user (www-data), who
    may put anything in it; httpd's parent runs as root."""

    def victim(self, h):
        path = h.path("victim")
        with open(path, "wb") as f:
            f.write(b"root's own file\n" * 75)
        os.chmod(path, 0o600)
        st = os.stat(path)
        return path, (sha256(path), st.st_size, st.st_mtime_ns, st.st_uid)

    def untouched(self, path, before):
        st = os.stat(path)
        self.assertEqual((sha256(path), st.st_size, st.st_mtime_ns, st.st_uid), before)

    def test_planted_lock_file_link(self):
        h = self.make()
        victim, before = self.victim(h)
        os.symlink(victim, self.ledger + "-lock")
        self.assertRefused(h, "GOAPI00051", r"is refused: its lock file \S+l\.mdb-lock is a "
                           r"symbolic link .* its target was left untouched")
        self.untouched(victim, before)
        # nothing else was made either
        self.assertFalse(os.path.exists(self.ledger))

    def test_planted_data_file_link(self):
        h = self.filled(20)
        victim, before = self.victim(h)
        os.rename(self.ledger, self.ledger + ".old")
        os.symlink(victim, self.ledger)
        self.assertRefused(h, "GOAPI00051", r"is refused: is a symbolic link")
        self.untouched(victim, before)

    def test_world_writable_directory_without_sticky_bit(self):
        h = self.make(dir_mode=0o777)
        os.chmod(h.path("ledger"), 0o777)
        self.assertRefused(h, "GOAPI00051", r"its directory \S+/ledger is writable by every "
                           r"user \(mode 0777\) and has no sticky bit")
        self.assertEqual(os.listdir(h.path("ledger")), [])

    def test_directory_of_the_server_user_is_used(self):
        h = self.make()
        h.start()
        try:
            self.assertEqual(post(h, "/parcels/x/dispatch", "own-dir").status, 201)
        finally:
            self.assertEqual(h.stop(), 0)
        www = pwd.getpwnam("www-data")
        for f in (self.ledger, self.ledger + "-lock"):
            st = os.stat(f)
            self.assertEqual((st.st_uid, st.st_mode & 0o7777), (www.pw_uid, 0o600), f)
            # reserved on disk, not a sparse file that a full disk could cut
            self.assertGreaterEqual(st.st_blocks * 512, st.st_size, f)
        self.assertEqual(os.path.getsize(self.ledger), MAP)


class RepeatedDirectiveTest(unittest.TestCase):
    """httpd keeps the last of two values; "apache2 -t" says so, with both
    places.  A start does not: a site's file may override the module's."""

    def test_repeated_values_are_reported(self):
        h = Httpd("GoapiWriteTimeout 4s\n"
                  "GoapiIdempotencyStore lmdb:@DIR@/run/a.mdb\n"
                  "GoapiIdempotencyStore lmdb:@DIR@/run/b.mdb 2M\n"
                  "GoapiReadyCheckInterval 2s\nGoapiReadyCheckInterval 2s\n")
        self.addCleanup(h.cleanup)
        t = h.configtest()
        out = t.stdout + t.stderr
        self.assertEqual(t.returncode, 0, out)
        self.assertRegex(out, r"GOAPI00063: GoapiWriteTimeout is given twice for the main "
                              r"server: '10s' at \S+/conf/goapi\.conf:\d+, then '4s' at "
                              r"\S+/httpd\.conf:\d+; the last one applies")
        self.assertRegex(out, r"GOAPI00063: GoapiIdempotencyStore is given twice for the main "
                              r"server: 'lmdb:\S+/a\.mdb' at \S+httpd\.conf:\d+, then "
                              r"'lmdb:\S+/b\.mdb 2M' at \S+httpd\.conf:\d+")
        # the same value twice is no news
        self.assertNotIn("GoapiReadyCheckInterval is given twice", out)
        h.start()
        try:
            self.assertNotIn("GOAPI00063", h.read(h.error_log))
        finally:
            self.assertEqual(h.stop(), 0)

    def test_virtual_host_values_are_their_own(self):
        h = Httpd("<VirtualHost 127.0.0.1:@PORT@>\n GoapiWriteTimeout 4s\n"
                  "</VirtualHost>\n")
        self.addCleanup(h.cleanup)
        t = h.configtest()
        self.assertEqual(t.returncode, 0, t.stderr)
        self.assertNotIn("GOAPI00063", t.stdout + t.stderr)


if __name__ == "__main__":
    unittest.main()
