# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""GoapiProbes: the probe paths answered by exact comparison of the path,
without a <Location> or a regex, against a real httpd under the event,
worker and prefork MPMs: alone (without conf/goapi.conf), with access
control over a probe, and switched off in a virtual host.

As in test_fastpath.py, %f shows the path a request took: "-" for the
fast path (no filename), "goapi:<path>" for the full cycle."""

from harness import Httpd, HttpdTestCase, free_port
from test_fastpath import FORMAT, assert_refused_by_access, fp_lines
from test_readiness import TcpDependency, wait_for

PROBES = """
GoapiProbes On
GoapiReadyCheck db tcp://127.0.0.1:%d
GoapiReadyCheckInterval 300ms
GoapiReadyCheckTimeout 250ms
"""


class ProbesAloneTest(HttpdTestCase):
    """GoapiProbes On and nothing else of mod_goapi's configuration."""
    INCLUDE_GOAPI_CONF = False
    EXTRA = ""

    @classmethod
    def before_start(cls):
        cls.db = TcpDependency()

    @classmethod
    def after_stop(cls):
        cls.db.close()

    @classmethod
    def conf_body(cls):
        return FORMAT + PROBES % cls.db.port + cls.EXTRA

    def setUp(self):
        super().setUp()
        self.assertTrue(wait_for(lambda: self.get("/startupz").status == 200))

    def last_line(self, path):
        lines = [l for l in fp_lines(self.httpd) if l.endswith(" " + path)]
        self.assertTrue(lines, path)
        return lines[-1]

    def test_probes_answer_on_the_fast_path(self):
        for path, body in (("/healthz", "ok\n"), ("/readyz", "ready\n"),
                           ("/startupz", "started\n")):
            r = self.get(path)
            self.assertEqual((r.status, r.text), (200, body), path)
            self.assertEqual(r.header("Cache-Control"), "no-store")
            self.assertIDs(r)
            self.assertEqual(self.last_line(path), "- goapi 200 " + path)

    def test_one_check_through_the_full_cycle(self):
        r = self.get("/readyz/db")
        self.assertEqual((r.status, r.text), (200, "ok\n"))
        self.assertEqual(self.last_line("/readyz/db"), "goapi:/readyz/db goapi 200 /readyz/db")
        r = self.get("/readyz/nope")
        self.assertEqual((r.status, r.text), (404, "404 page not found\n"))

    def test_other_paths_are_not_taken(self):
        # no SetHandler anywhere: only the probe paths are mod_goapi's
        for path in ("/healthz/", "/readyz/db/x", "/metrics", "/", "/healthzz"):
            r = self.get(path)
            self.assertNotEqual(r.text, "ok\n", path)
            line = self.last_line(path)
            self.assertFalse(line.startswith("goapi:"), line)
            self.assertNotIn(" goapi ", line)

    def test_same_answers_as_the_route_table(self):
        # the path as httpd decodes it is compared; the route table then
        # answers as Go's ServeMux does
        r = self.get("/%68ealthz")
        self.assertEqual((r.status, r.text), (200, "ok\n"))
        self.assertEqual(self.last_line("/healthz"), "goapi:/healthz goapi 200 /healthz")
        r = self.httpd.request("POST", "/readyz", body=b"")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header("Allow"), "GET, HEAD")
        r = self.httpd.request("HEAD", "/healthz")
        self.assertEqual((r.status, r.body, r.header("Content-Length")), (200, b"", "3"))


class ProbesAloneWorkerTest(ProbesAloneTest):
    MPM = "worker"


class ProbesAlonePreforkTest(ProbesAloneTest):
    MPM = "prefork"


class ProbesAccessControlTest(ProbesAloneTest):
    """A <Location> with a Require over a probe path keeps applying: that
    probe takes the full cycle and is refused or allowed by httpd; the
    others keep the fast path."""
    MODULES = ("remoteip",)
    EXTRA = """
RemoteIPHeader X-Forwarded-For
RemoteIPInternalProxy 127.0.0.1
<Location "/readyz">
    Require ip 10.0.0.0/8
</Location>
"""
    POD = {"X-Forwarded-For": "10.1.2.3"}

    def setUp(self):
        HttpdTestCase.setUp(self)
        self.assertTrue(wait_for(lambda: self.get("/startupz").status == 200))

    def test_probes_answer_on_the_fast_path(self):
        for path, body in (("/healthz", "ok\n"), ("/startupz", "started\n")):
            r = self.get(path)
            self.assertEqual((r.status, r.text), (200, body), path)
            self.assertEqual(self.last_line(path), "- goapi 200 " + path)

    def test_one_check_through_the_full_cycle(self):
        assert_refused_by_access(self, "/readyz")
        r = self.get("/readyz", self.POD)
        self.assertEqual((r.status, r.text), (200, "ready\n"))
        self.assertEqual(self.last_line("/readyz"), "goapi:/readyz goapi 200 /readyz")
        # <Location "/readyz"> covers /readyz/db as well
        self.assertEqual(self.get("/readyz/db").status, 403)
        r = self.get("/readyz/db", self.POD)
        self.assertEqual((r.status, r.text), (200, "ok\n"))

    def test_same_answers_as_the_route_table(self):
        self.assertEqual(self.get("/%68ealthz").text, "ok\n")

    def test_other_paths_are_not_taken(self):
        # /readyz/db/x is under <Location "/readyz"> too: refused as a file
        self.allowed_errors.append(r"AH01630: client denied by server configuration: "
                                   r".*/htdocs/readyz")
        super().test_other_paths_are_not_taken()


class ProbesAccessControlWorkerTest(ProbesAccessControlTest):
    MPM = "worker"


class ProbesAccessControlPreforkTest(ProbesAccessControlTest):
    MPM = "prefork"


class ProbesVirtualHostTest(HttpdTestCase):
    """GoapiProbes of the main server is inherited; Off in a virtual host
    leaves its probe paths to httpd."""
    INCLUDE_GOAPI_CONF = False
    CONF = """
GoapiProbes On
<VirtualHost 127.0.0.1:@PORT@>
    ServerName on.example
</VirtualHost>
<VirtualHost 127.0.0.1:@PORT@>
    ServerName off.example
    GoapiProbes Off
</VirtualHost>
"""

    def test_per_virtual_host(self):
        r = self.httpd.request("GET", "/healthz", host="on.example")
        self.assertEqual((r.status, r.text), (200, "ok\n"))
        r = self.httpd.request("GET", "/healthz", host="off.example")
        self.assertEqual(r.status, 404)
        self.assertNotEqual(r.text, "ok\n")

    def test_report(self):
        h = Httpd(self.CONF.replace("@PORT@", str(free_port())), loglevel="warn goapi:info",
                  include_goapi_conf=False)
        try:
            res = h.configtest()
        finally:
            h.cleanup()
        self.assertEqual(res.returncode, 0, res.stderr)
        lines = [l for l in res.stderr.splitlines() if "GOAPI00101" in l]
        self.assertEqual(len(lines), 2, res.stderr)
        self.assertEqual(lines[0], "GOAPI00101: the main server: GoapiProbes On: /healthz, "
                                   "/readyz, /readyz/<check> and /startupz are answered by "
                                   "mod_goapi, found by exact comparison of the path (a "
                                   "<Location> over them still applies)")
        self.assertRegex(lines[1], r"^GOAPI00101: the virtual host on\.example defined at ")
