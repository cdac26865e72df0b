# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""The probes' fast path (quick handler) and the goapi handler's URLs
skipping httpd's filesystem mapping, against a real httpd.

A log format with %f (the request's filename) and %R (its handler) shows
which path a request took: the fast path never maps a filename ("-"), the
full cycle gives a goapi URL the filename "goapi:<path>" and never one
under DocumentRoot."""

import re

from harness import Httpd, HttpdTestCase

FORMAT = 'LogFormat "fp %f %R %>s %U" fastpath\nCustomLog @DIR@/logs/fp.log fastpath\n'

# htdocs is closed to everyone and has an .htaccess httpd cannot parse:
# a request that walked it would get 403 or 500.
FILES = {"htdocs/.htaccess": ("ThisIsNotADirective\n", 0o644)}
CLOSED_DOCROOT = """
<Directory "@DIR@/htdocs">
    AllowOverride All
    Require all denied
</Directory>
"""


def fp_lines(httpd):
    httpd.access_lines()        # waits for mod_log_config's lines
    return [l[3:] for l in Httpd.read(httpd.path("logs/fp.log")).splitlines()
            if l.startswith("fp ")]


def assert_refused_by_access(test, path):
    """A goapi URL under a Require that refuses the client: 403 with the
    IDs, from the access phase of the full cycle, before a handler was
    chosen (test needs last_line())."""
    test.allowed_errors.append(r"AH01630: client denied by server configuration: goapi:"
                               + re.escape(path))
    r = test.get(path)
    test.assertEqual(r.status, 403)
    test.assertIDs(r)
    test.assertEqual(test.last_line(path), "goapi:%s - 403 %s" % (path, path))


class FastPathTest(HttpdTestCase):
    MODULES = ("authz_host",)
    FILES = FILES
    CONF = FORMAT + CLOSED_DOCROOT + """
<Location "/">
    SetHandler goapi
</Location>
<Location "/readyz">
    Require ip 10.0.0.0/8
</Location>
<Location "/parcels/secret">
    Require all denied
</Location>
"""

    def last_line(self, path):
        lines = [l for l in fp_lines(self.httpd) if l.endswith(" " + path)]
        self.assertTrue(lines, path)
        return lines[-1]

    def test_probes_take_the_fast_path(self):
        for path, body in (("/healthz", "ok\n"), ("/startupz", "started\n")):
            r = self.get(path, headers={"X-Request-ID": "fast-1", "X-Correlation-ID": "c-1"})
            self.assertEqual((r.status, r.text), (200, body))
            self.assertEqual(r.header("X-Request-ID"), "fast-1")
            self.assertEqual(r.header("X-Correlation-ID"), "c-1")
            self.assertEqual(r.header("Cache-Control"), "no-store")
            self.assertEqual(r.header("Content-Type"), "text/plain; charset=utf-8")
            # answered before translate_name: no filename at all
            self.assertEqual(self.last_line(path), "- goapi 200 " + path)
        # the shipped access log has the line with the IDs
        self.assertTrue(any("request_id=fast-1 correlation_id=c-1 path=/startupz" in l
                            for l in self.httpd.access_lines()))

    def test_head_on_the_fast_path(self):
        r = self.httpd.request("HEAD", "/healthz")
        self.assertEqual((r.status, r.body), (200, b""))
        self.assertEqual(r.header("Content-Length"), "3")
        self.assertIDs(r)
        self.assertEqual(self.last_line("/healthz"), "- goapi 200 /healthz")

    def test_require_over_a_probe_keeps_the_full_cycle(self):
        assert_refused_by_access(self, "/readyz")

    def test_other_requests_take_the_full_cycle(self):
        # an escaped probe path (answered as Go does, through the full
        # cycle), a probe with a body, another route
        self.assertEqual(self.get("/%68ealthz").status, 200)
        self.assertEqual(self.last_line("/healthz"), "goapi:/healthz goapi 200 /healthz")
        r = self.httpd.request("GET", "/startupz", body=b"x")
        self.assertEqual(r.status, 200)
        self.assertEqual(self.last_line("/startupz"), "goapi:/startupz goapi 200 /startupz")

    def test_goapi_urls_skip_the_filesystem(self):
        # DocumentRoot is closed and its .htaccess broken: neither applies
        # to a URL that SetHandler goapi maps
        r = self.get("/parcels/p-1")
        self.assertEqual((r.status, r.text), (200, "parcel lookup accepted for p-1\n"))
        self.assertEqual(self.last_line("/parcels/p-1"),
                         "goapi:/parcels/p-1 goapi 200 /parcels/p-1")

    def test_location_access_control_still_applies(self):
        assert_refused_by_access(self, "/parcels/secret")


class FastPathOffTest(HttpdTestCase):
    """GoapiProbeFastPath Off: every probe takes the full cycle."""
    FILES = FILES
    CONF = FORMAT + CLOSED_DOCROOT + """
GoapiProbeFastPath Off
<Location "/">
    SetHandler goapi
</Location>
"""

    def test_probes_take_the_full_cycle(self):
        self.assertEqual(self.get("/healthz").text, "ok\n")
        lines = [l for l in fp_lines(self.httpd) if l.endswith(" /healthz")]
        self.assertEqual(lines[-1], "goapi:/healthz goapi 200 /healthz")


class FastPathBlockedTest(HttpdTestCase):
    """A module that acts in the phases the fast path would skip (here
    mod_alias: Redirect, Alias) turns the fast path off for every probe."""
    MODULES = ("alias",)
    CONF = FORMAT + """
Redirect 307 /startupz http://elsewhere.example/startupz
<Location "/">
    SetHandler goapi
</Location>
"""

    def test_module_in_the_skipped_phases_keeps_the_full_cycle(self):
        self.assertEqual(self.get("/healthz").text, "ok\n")
        self.assertEqual([l for l in fp_lines(self.httpd) if l.endswith(" /healthz")][-1],
                         "goapi:/healthz goapi 200 /healthz")
        # mod_alias's Redirect still wins over the route, as it did before
        r = self.get("/startupz")
        self.assertEqual(r.status, 307)
        self.assertEqual(r.header("Location"), "http://elsewhere.example/startupz")


class FastPathReportTest(HttpdTestCase):
    """"apachectl -t" with LogLevel goapi:info says which paths take it."""
    CONF = ""

    def configtest(self, body, modules=()):
        h = Httpd(body, modules=modules, loglevel="warn goapi:info")
        try:
            res = h.configtest()
            self.assertEqual(res.returncode, 0, res.stderr)
            return [l for l in res.stderr.splitlines()
                    if any(t in l for t in ("GOAPI00066", "GOAPI00081", "GOAPI00082"))]
        finally:
            h.cleanup()

    def test_report(self):
        lines = self.configtest('<Location "/">\n SetHandler goapi\n</Location>\n'
                                '<VirtualHost 127.0.0.1:@PORT@>\n ServerName off.example\n'
                                ' GoapiProbeFastPath Off\n</VirtualHost>\n')
        self.assertEqual(len(lines), 2, lines)
        self.assertRegex(lines[0], r"^GOAPI00066: the main server: GET /healthz, /livez, /readyz and "
                                   r"/startupz of GoapiProbes On or mapped to SetHandler "
                                   r"goapi, with no Require over them, are answered before "
                                   r"httpd's translate")
        self.assertRegex(lines[1], r"^GOAPI00081: the virtual host off\.example defined at "
                                   r".*: the probes take the full request cycle "
                                   r"\(GoapiProbeFastPath Off\)$")
        lines = self.configtest("", modules=("alias", "rewrite"))
        self.assertEqual(lines, ["GOAPI00082: the main server: the probes take the full "
                                 "request cycle: mod_alias.c mod_rewrite.c hook(s) the "
                                 "phases their fast path skips"])


class FastPathWorkerTest(FastPathTest):
    """The same under the worker MPM (threads, no async keep-alive)."""
    MPM = "worker"


class FastPathPreforkTest(FastPathTest):
    """The same under the prefork MPM (one process per connection)."""
    MPM = "prefork"
