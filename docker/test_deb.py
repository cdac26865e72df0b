#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""make docker-test, second part: the Debian package in a bare Debian.

Builds libapache2-mod-goapi with dpkg-buildpackage in the build stage of
docker/Dockerfile (0.9.0-1 from this tree, and a 0.8.9-1 from the same
tree with its version changed, the "previous release"), then, in a bare
debian:bookworm-slim container whose services start and reload as on a
Debian host (invoke-rc.d allowed by a policy-rc.d that says yes):
apt install of the .deb pulls Apache, the module is enabled, configtest
and graceful pass, every probe answers and the error log has no warning
from the module (stock apache2.conf: KeepAliveTimeout 5); a client from
outside gets 403 on /metrics and no check name or failure from the
probes, the container's loopback gets both; apt remove
leaves Apache serving without it; apt purge removes its configuration;
a reinstall works; an upgrade from 0.8.9-1 keeps a modified goapi.conf
and Apache answers every request sent while it runs.
Ends with "N passed, N failed".
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from harness import UUID7, free_port  # noqa: E402

# docker/test.py's daemon handling and helpers ("test" is a stdlib name).
_spec = importlib.util.spec_from_file_location("docker_image_test",
                                               os.path.join(HERE, "test.py"))
image_test = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(image_test)
sh, get = image_test.sh, image_test.get

BUILD_IMAGE = "mod_goapi-debbuild:test"
PREVIOUS = "0.8.9"
# mod_goapi's warnings: in the error log by level, on apachectl -t's
# stderr (no level there) by the checklist's words.
GOAPI_WARNING = re.compile(r"\[goapi:(warn|error|crit|alert|emerg)\]|GOAPI\d{5}: checklist")
LOCAL_ID_HEADER = "X-Local-Request-ID"     # the admin's change to goapi.conf


def goapi_version():
    with open(os.path.join(TOP, "src", "goapi_defs.h")) as f:
        return re.search(r'#define GOAPI_VERSION\s+"([^"]+)"', f.read()).group(1)


def changelog_version():
    with open(os.path.join(TOP, "debian", "changelog")) as f:
        return re.match(r"\S+ \(([^)]+)\)", f.readline()).group(1)


class VersionTest(unittest.TestCase):
    def test_changelog_is_goapi_version(self):
        # debian/rules refuses to build otherwise; this says so before any build
        self.assertEqual(changelog_version().rsplit("-", 1)[0], goapi_version())
        with open(os.path.join(TOP, "CHANGELOG.md")) as f:
            self.assertRegex(f.read(), r"(?m)^## \[?%s\]? - \d{4}-\d{2}-\d{2}$"
                             % re.escape(goapi_version()))


class PackageTest(unittest.TestCase):
    dockerd = image_test.ContainerTest.dockerd

    @classmethod
    def setUpClass(cls):
        image_test.docker_ready(cls.dockerd)
        try:
            cls.set_up()
        except BaseException:
            cls.tearDownClass()         # unittest does not, after a setUpClass error
            raise

    @classmethod
    def set_up(cls):
        cls.version = changelog_version()
        cls.out = tempfile.mkdtemp(prefix="goapi-debtest.")
        os.chmod(cls.out, 0o777)
        # The Dockerfile's build stage built 0.9.0-1; the previous release
        # is the same tree with another version in debian/changelog and
        # src/goapi_defs.h (which debian/rules checks agree).
        sh("docker", "build", "--network", "host", "--target", "build", "-f",
           os.path.join(HERE, "Dockerfile"), "-t", BUILD_IMAGE, TOP, timeout=1800)
        script = (
            "set -e; cp /src/*.deb /out/; cd /src/mod_goapi; "
            "sed -i '1s/([^)]*)/(%(p)s-1)/' debian/changelog; "
            "sed -i 's/\\(#define GOAPI_VERSION *\\)\"[^\"]*\"/\\1\"%(p)s\"/' src/goapi_defs.h; "
            "dpkg-buildpackage -us -uc -b; "
            "mkdir -p /out/previous; cp ../libapache2-mod-goapi_%(p)s-1_*.deb /out/previous/"
            % {"p": PREVIOUS})
        sh("docker", "run", "--rm", "--network", "host", "-v", "%s:/out" % cls.out,
           BUILD_IMAGE, "sh", "-c", script, timeout=900)
        cls.deb = [f for f in os.listdir(cls.out)
                   if re.match(r"libapache2-mod-goapi_.*\.deb$", f)][0]
        cls.previous = os.listdir(os.path.join(cls.out, "previous"))[0]
        # A bare Debian, Apache's port published on a free loopback port.
        cls.port = free_port()
        cls.name = "goapi-deb-%d" % os.getpid()
        # --init: a PID 1 that reaps, as init does; the init script waits
        # for the old Apache to be gone on restart.
        sh("docker", "run", "-d", "--init", "--name", cls.name,
           "-p", "127.0.0.1:%d:80" % cls.port, "debian:bookworm-slim", "sleep", "3600")
        for f in (cls.deb, os.path.join("previous", cls.previous)):
            sh("docker", "cp", os.path.join(cls.out, f), "%s:/root/" % cls.name)
        # As on a Debian host, maintainer scripts may start and reload
        # services (a bare container's invoke-rc.d would refuse).
        cls.run_in("printf '#!/bin/sh\\nexit 0\\n' >/usr/sbin/policy-rc.d && "
                   "chmod 755 /usr/sbin/policy-rc.d && apt-get update -q")

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "name", None):
            sh("docker", "rm", "-f", cls.name, check=False)
        if getattr(cls, "out", None):
            shutil.rmtree(cls.out, ignore_errors=True)

    @classmethod
    def run_in(cls, script, check=True, timeout=600):
        res = sh("docker", "exec", "-e", "DEBIAN_FRONTEND=noninteractive", cls.name,
                 "sh", "-c", script, check=check, timeout=timeout)
        return res.stdout + res.stderr

    def answer(self, path):
        try:
            return get(self.port, path, timeout=5)
        except OSError as e:
            return None, {}, repr(e).encode()

    def wait_for(self, path, status, seconds=20):
        deadline = time.monotonic() + seconds
        while True:
            st, h, body = self.answer(path)
            if st == status or time.monotonic() > deadline:
                return st, h, body
            time.sleep(0.1)

    def local_answer(self, path):
        """Status and body of a GET from the container's own loopback (a
        client "Require local" allows; bash's /dev/tcp, the slim image has
        no curl).  Requests from the host come through Docker's published
        port, from the bridge's gateway: not local to Apache."""
        script = ("exec 3<>/dev/tcp/127.0.0.1/80 || exit 1; printf 'GET %s HTTP/1.0\\r\\n"
                  "Host: localhost\\r\\n\\r\\n' >&3; timeout 10 cat <&3" % path)
        # sh() reads text: its line ends are "\n"
        out = sh("docker", "exec", self.name, "bash", "-c", script, timeout=30).stdout
        head, _, body = out.replace("\r\n", "\n").partition("\n\n")
        return int(head.split(" ", 2)[1]), head, body

    def assertModuleServes(self, id_header="X-Request-ID"):
        for path, want in (("/healthz", b"ok\n"), ("/readyz", b"ready\n"),
                           ("/startupz", b"started\n")):
            st, h, body = self.wait_for(path, 200)
            self.assertEqual((st, body), (200, want), path)
            self.assertRegex(h.get(id_header.lower(), ""), UUID7, path)
        # /metrics for this machine alone (goapi.conf's Require local)
        st, head, body = self.local_answer("/metrics")
        self.assertEqual(st, 200)
        self.assertIn("\nContent-Type: text/plain; version=0.0.4; charset=utf-8", head)
        return body

    def goapi_warnings(self, text):
        return [l for l in text.splitlines() if GOAPI_WARNING.search(l)]

    # ---------------------------------------------------------------------
    def test_1_install(self):
        self.run_in("cd /root && apt-get install -y -q ./%s" % self.deb)
        # apt pulled Apache from Debian's archive; the postinst enabled the module
        self.assertEqual(self.run_in("dpkg-query -W -f '${Status}' apache2"),
                         "install ok installed")
        self.assertIn("goapi (enabled by maintainer script)", self.run_in("a2query -m goapi"))
        self.run_in("a2enmod goapi")        # enabled already: no change
        self.run_in("test -f /usr/lib/apache2/modules/mod_goapi.so && "
                    "test -f /usr/share/doc/libapache2-mod-goapi/README.md.gz && "
                    "test -f /usr/share/doc/libapache2-mod-goapi/docs/directives.md.gz && "
                    "test -f /usr/share/doc/libapache2-mod-goapi/copyright")
        self.assertEqual(self.run_in("dpkg-query -W -f '${Version}' libapache2-mod-goapi"),
                         "%s-1" % goapi_version())
        # stock Debian: apache2.conf's KeepAliveTimeout 5, no warning from mod_goapi
        test = self.run_in("apache2ctl configtest")
        self.assertIn("Syntax OK", test)
        self.assertEqual(self.goapi_warnings(test), [])
        self.run_in("pgrep -x apache2 >/dev/null || apache2ctl start")
        text = self.assertModuleServes()
        self.assertIn('goapi_build_info{version="%s"' % goapi_version(), text)
        self.run_in("apache2ctl graceful")
        self.assertModuleServes()
        log = self.run_in("cat /var/log/apache2/error.log")
        self.assertIn("resuming normal operations", log)
        self.assertEqual(self.goapi_warnings(log), [])
        self.assertEqual([l for l in log.splitlines() if image_test.BAD.search(l)], [])

    def test_1a_least_exposure(self):
        """A stock Apache with the package's goapi.conf: a client from
        outside gets 403 on /metrics and no check name or failure from the
        probes, which answer it all the same; the machine itself gets both."""
        self.run_in("printf 'GoapiReadyCheck ledger-db tcp://127.0.0.1:9\\n"
                    "GoapiReadyCheckInterval 1s\\n' >/etc/apache2/conf-available/"
                    "goapi-test-check.conf && a2enconf goapi-test-check && "
                    "apache2ctl graceful")
        try:
            st, _, body = self.wait_for("/readyz", 503)
            self.assertEqual((st, body), (503, b"not ready\n"))
            st, _, body = self.answer("/readyz?verbose")
            self.assertEqual((st, body), (503, b"not ready\n"))
            st, _, body = self.answer("/readyz/ledger-db")
            self.assertEqual((st, body), (503, b"failed\n"))
            st, _, body = self.answer("/metrics")
            self.assertEqual(st, 403)
            self.assertNotIn(b"ledger-db", body)
            for path, want in (("/healthz", b"ok\n"), ("/startupz", b"started\n")):
                self.assertEqual(self.answer(path)[::2], (200, want), path)
            st, _, body = self.local_answer("/readyz?verbose")
            self.assertEqual(st, 503)
            self.assertIn("[-]ledger-db failed: connect: Connection refused\n", body)
            st, _, body = self.local_answer("/metrics")
            self.assertEqual(st, 200)
            self.assertIn('check="ledger-db"', body)
        finally:
            self.run_in("a2disconf goapi-test-check && rm -f /etc/apache2/conf-available/"
                        "goapi-test-check.conf && apache2ctl graceful")
        log = self.run_in("cat /var/log/apache2/error.log")
        bad = [l for l in log.splitlines() if image_test.BAD.search(l)]
        self.assertTrue(bad)
        self.assertEqual([l for l in bad if not re.search(r"AH01630: client denied by server "
                                                          r"configuration: .*/metrics", l)], [])
        # the refusals were expected: later tests read the log from here
        self.run_in(": >/var/log/apache2/error.log")
        self.assertEqual(self.wait_for("/readyz", 200)[0], 200)

    def test_2_remove(self):
        self.run_in("apt-get remove -y -q libapache2-mod-goapi")
        self.assertEqual(self.run_in("a2query -m goapi", check=False).count("enabled"), 0)
        # Apache restarted without the module: still serving, probes gone
        st, h, _ = self.wait_for("/healthz", 404)
        self.assertEqual(st, 404)
        self.assertNotIn("x-request-id", h)
        self.assertEqual(self.answer("/")[0], 200)          # Debian's default page
        self.run_in("test -f /etc/apache2/mods-available/goapi.conf")   # conffiles stay

    def test_3_purge(self):
        self.run_in("apt-get purge -y -q libapache2-mod-goapi")
        self.run_in("test ! -e /etc/apache2/mods-available/goapi.conf && "
                    "test ! -e /etc/apache2/mods-available/goapi.load && "
                    "test ! -e /etc/apache2/mods-enabled/goapi.load")
        self.assertEqual(self.answer("/")[0], 200)

    def test_4_reinstall(self):
        self.run_in("cd /root && apt-get install -y -q ./%s" % self.deb)
        self.assertModuleServes()
        self.run_in("apt-get purge -y -q libapache2-mod-goapi")
        self.assertEqual(self.wait_for("/healthz", 404)[0], 404)

    def test_5_upgrade_keeps_conffile_and_serves(self):
        self.run_in("cd /root && apt-get install -y -q ./%s" % self.previous)
        text = self.assertModuleServes()
        self.assertIn('goapi_build_info{version="%s"' % PREVIOUS, text)
        # the admin's change to the conffile: another request ID header
        self.run_in("sed -i 's/#GoapiRequestIDHeader .*/GoapiRequestIDHeader %s/' "
                    "/etc/apache2/mods-available/goapi.conf && apache2ctl graceful"
                    % LOCAL_ID_HEADER)
        self.assertModuleServes(LOCAL_ID_HEADER)
        results, done = [], threading.Event()

        def load():
            t_end = time.monotonic() + 300              # bounded in time
            while not done.is_set() and len(results) < 20000 and time.monotonic() < t_end:
                results.append(self.answer("/healthz")[0])
                time.sleep(0.005)

        t = threading.Thread(target=load)
        t.start()
        time.sleep(0.5)
        try:
            out = self.run_in("cd /root && apt-get install -y -q ./%s" % self.deb)
            time.sleep(1.0)                             # the graceful reload settles
        finally:
            done.set()
            t.join(30)
        print("upgrade %s-1 -> %s: %d requests during it, %d not answered 200"
              % (PREVIOUS, self.version, len(results), sum(1 for r in results if r != 200)),
              flush=True)
        self.assertIn("Unpacking libapache2-mod-goapi (%s) over (%s-1)"
                      % (self.version, PREVIOUS), out)
        self.assertGreater(len(results), 50)
        self.assertEqual([r for r in results if r != 200], [])
        # the modified conffile was kept, and the new module serves
        conf = self.run_in("cat /etc/apache2/mods-available/goapi.conf")
        self.assertIn("GoapiRequestIDHeader %s" % LOCAL_ID_HEADER, conf)
        text = self.assertModuleServes(LOCAL_ID_HEADER)
        self.assertIn('goapi_build_info{version="%s"' % goapi_version(), text)
        log = self.run_in("cat /var/log/apache2/error.log")
        self.assertEqual(self.goapi_warnings(log), [])
        self.assertEqual([l for l in log.splitlines() if image_test.BAD.search(l)], [])


if __name__ == "__main__":
    sys.exit(image_test.main((VersionTest, PackageTest)))
