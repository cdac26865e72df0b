# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""GoapiProbes: the probe paths answered by exact comparison of the path,
without a <Location> or a regex, against a real httpd under the event,
worker and prefork MPMs: alone (without conf/goapi.conf), with access
control over a probe, and switched off in a virtual host.

As in test_fastpath.py, %f shows the path a request took: "-" for the
fast path (no filename), "goapi:<path>" for the full cycle."""

import os

from harness import TEST_MODULES, Httpd, HttpdTestCase, free_port
from test_fastpath import FORMAT, assert_refused_by_access, fp_lines
from test_readiness import TcpDependency, wait_for

PROBES = """
GoapiProbes On
GoapiReadyCheck db tcp://127.0.0.1:%d
GoapiReadyCheckInterval 300ms
GoapiReadyCheckTimeout 250ms
"""


class WithDependency(HttpdTestCase):
    """A server whose readiness checks a dependency the test opens and
    closes (cls.db)."""

    @classmethod
    def before_start(cls):
        cls.db = TcpDependency()

    @classmethod
    def after_stop(cls):
        cls.db.close()


class ProbesAloneTest(WithDependency):
    """GoapiProbes On and nothing else of mod_goapi's configuration."""
    INCLUDE_GOAPI_CONF = False
    EXTRA = ""

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
                                   "/livez, /livez/<check>, /readyz, /readyz/<check> and "
                                   "/startupz are answered by mod_goapi, found by exact "
                                   "comparison of the path (a <Location> over them still "
                                   "applies)")
        self.assertRegex(lines[1], r"^GOAPI00101: the virtual host on\.example defined at ")


class ProbeSemanticsTest(WithDependency):
    """kube-apiserver's probe semantics with the shipped configuration:
    /livez and its checks (ping, the heartbeats of mod_goapi's threads and
    of a test module's), ?exclude= on /livez and /readyz, ?verbose on
    every probe."""
    MODULES = ("remoteip",)
    # in the order of the child_init hooks that added them
    DETAIL = ("[+]ping ok\n[+]write-deadlines ok\n[+]hooktest-worker ok\n"
              "[+]shutdown-supervisor ok\n")

    @classmethod
    def conf_body(cls):
        return ("Define HOOKTEST_HEARTBEAT\nLoadModule goapi_hooktest_module %s\n"
                "RemoteIPHeader X-Forwarded-For\nRemoteIPInternalProxy 127.0.0.1\n"
                % os.path.join(TEST_MODULES, "mod_goapi_hooktest.so")
                + PROBES % cls.db.port)

    def setUp(self):
        super().setUp()
        self.stall = self.httpd.path("run/hooktest-stall")
        self.db.close()
        self.db.open()
        self.assertTrue(wait_for(lambda: self.get("/readyz").status == 200))

    def tearDown(self):
        if os.path.exists(self.stall):
            os.unlink(self.stall)
        super().tearDown()

    def test_livez(self):
        r = self.get("/livez")
        self.assertEqual((r.status, r.text), (200, "ok\n"))
        self.assertEqual(r.header("Cache-Control"), "no-store")
        r = self.get("/livez?verbose")
        self.assertEqual((r.status, r.text), (200, self.DETAIL + "livez check passed\n"))
        for name in ("ping", "write-deadlines", "shutdown-supervisor", "hooktest-worker"):
            r = self.get("/livez/" + name)
            self.assertEqual((r.status, r.text), (200, "ok\n"), name)
        r = self.get("/livez/db")         # a dependency is no liveness check
        self.assertEqual((r.status, r.text), (404, "404 page not found\n"))

    def test_liveness_ignores_dependencies(self):
        self.db.close()
        self.assertTrue(wait_for(lambda: self.get("/readyz").status == 503))
        self.assertEqual(self.get("/livez").status, 200)
        self.assertEqual(self.get("/healthz").status, 200)

    def test_stuck_thread_fails_liveness(self):
        open(self.stall, "w").close()
        # every child's thread stops beating; its check fails after 1 s
        r = wait_for(lambda: (lambda x: x if x.status == 503 else None)(self.get("/livez")),
                     timeout=5)
        self.assertTrue(r, "liveness never failed")
        self.assertRegex(r.text, r"^\[\+\]ping ok\n\[\+\]write-deadlines ok\n"
                                 r"\[-\]hooktest-worker failed: no heartbeat for \d+\.\ds\n"
                                 r"\[\+\]shutdown-supervisor ok\nlivez check failed\n$")
        r = self.get("/livez/hooktest-worker")
        self.assertEqual(r.status, 503)
        self.assertRegex(r.text, r"^failed: no heartbeat for \d+\.\ds\n$")
        # excluded, the stuck thread does not fail the probe
        r = self.get("/livez?exclude=hooktest-worker&verbose")
        self.assertEqual((r.status, r.text),
                         (200, self.DETAIL.replace("hooktest-worker ok",
                                                   "hooktest-worker excluded: ok")
                          + "livez check passed\n"))
        # a client that may not see the detail: the plain answer
        r = self.get("/livez?verbose", {"X-Forwarded-For": "203.0.113.7"})
        self.assertEqual((r.status, r.text), (503, "livez check failed\n"))
        r = self.get("/livez/hooktest-worker", {"X-Forwarded-For": "203.0.113.7"})
        self.assertEqual((r.status, r.text), (503, "failed\n"))
        # readiness and /healthz are not liveness
        self.assertEqual(self.get("/readyz").status, 200)
        self.assertEqual(self.get("/healthz").status, 200)
        os.unlink(self.stall)
        self.assertTrue(wait_for(lambda: self.get("/livez").status == 200, timeout=5))

    def test_readyz_exclude(self):
        self.db.close()
        self.assertTrue(wait_for(lambda: self.get("/readyz").status == 503))
        r = self.get("/readyz?exclude=db")
        self.assertEqual((r.status, r.text), (200, "ready\n"))
        r = self.get("/readyz?verbose&exclude=db&exclude=nope")
        self.assertEqual((r.status, r.text),
                         (200, "[+]db excluded: ok\n[+]startup ok\n[+]drain ok\n"
                               "warn: some health checks cannot be excluded: no matches "
                               "for \"nope\"\nreadyz check passed\n"))
        r = self.get("/readyz?exclude=nope")
        self.assertEqual(r.status, 503)
        self.assertEqual(self.get("/readyz", {"Accept": "application/health+json"},
                                  ).status, 503)
        self.assertEqual(self.get("/readyz?exclude=db",
                                  {"Accept": "application/health+json"}).status, 200)

    def test_verbose_on_every_probe(self):
        for path, body in (("/healthz?verbose", "[+]ping ok\nhealthz check passed\n"),
                           ("/livez?verbose", self.DETAIL + "livez check passed\n"),
                           ("/readyz?verbose", "[+]db ok\n[+]startup ok\n[+]drain ok\n"
                                               "readyz check passed\n"),
                           ("/startupz?verbose", "[+]startup ok\nstartupz check passed\n")):
            r = self.get(path)
            self.assertEqual((r.status, r.text), (200, body), path)
            self.assertEqual(r.header("Content-Type"), "text/plain; charset=utf-8")


class ProbeSemanticsWorkerTest(ProbeSemanticsTest):
    MPM = "worker"


class ProbeSemanticsPreforkTest(ProbeSemanticsTest):
    MPM = "prefork"
