# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Least exposure with the shipped conf/goapi.conf, included as-is: /metrics
for local clients only (its "Require local"), the probes' check names and
failures for the clients of GoapiProbeDetail only, the plain probes for
everyone.

A client that "Require local" refuses is made with mod_remoteip: the test
connects from 127.0.0.1, a trusted proxy, and names the client in
X-Forwarded-For; httpd's access control and mod_goapi then see that
address."""

import json
import os
import re

from harness import Httpd, HttpdTestCase, free_port
from test_fastpath import FORMAT, fp_lines
from test_readiness import wait_for

REMOTE = {"X-Forwarded-For": "203.0.113.7"}         # TEST-NET-3: not local
OTHER = {"X-Forwarded-For": "198.51.100.9"}         # TEST-NET-2
JSON = {"Accept": "application/health+json"}
DENIED = r"AH01630: client denied by server configuration: .*/metrics"
FAILURE = "connect: Connection refused"

# a dependency that refuses connections: the check fails with a reason
CHECKS = """
RemoteIPHeader X-Forwarded-For
RemoteIPInternalProxy 127.0.0.1
GoapiReadyCheck ledger-db tcp://127.0.0.1:%d
GoapiReadyCheckInterval 300ms
GoapiReadyCheckTimeout 250ms
"""


class ExposureTest(HttpdTestCase):
    """The shipped defaults: /metrics and probe detail for local clients."""
    MODULES = ("remoteip",)
    DETAIL = ""

    @classmethod
    def conf_body(cls):
        return FORMAT + CHECKS % free_port() + cls.DETAIL

    def setUp(self):
        super().setUp()
        # the first round of checks ran (and failed)
        self.assertTrue(wait_for(lambda: self.get("/startupz").status == 200))

    def assertPlain(self, headers):
        """The answers of a client that may not see the detail."""
        r = self.get("/readyz", headers)
        self.assertEqual((r.status, r.text), (503, "not ready\n"))
        self.assertEqual(r.header("Cache-Control"), "no-store")
        for path in ("/readyz?verbose", "/readyz?verbose=1"):
            r = self.get(path, headers)
            self.assertEqual((r.status, r.text), (503, "not ready\n"), path)
        r = self.get("/readyz", dict(headers, **JSON))
        self.assertEqual(r.status, 503)
        self.assertEqual(r.header("Content-Type"), "application/health+json")
        self.assertEqual(json.loads(r.body), {"status": "fail", "output": "not ready"})
        r = self.get("/readyz/ledger-db", headers)
        self.assertEqual((r.status, r.text), (503, "failed\n"))
        # nothing tells which checks exist: any name gets the whole state,
        # and ?exclude= changes nothing
        r = self.get("/readyz/nope", headers)
        self.assertEqual((r.status, r.text), (503, "failed\n"))
        r = self.get("/readyz?exclude=ledger-db", headers)
        self.assertEqual((r.status, r.text), (503, "not ready\n"))
        for path, body in (("/livez", "ok\n"), ("/livez?verbose", "ok\n"),
                           ("/livez/ping", "ok\n"), ("/livez/nope", "ok\n"),
                           ("/startupz?verbose", "started\n")):
            r = self.get(path, headers)
            self.assertEqual((r.status, r.text), (200, body), path)

    def assertDetail(self, headers):
        """The answers of a client that may see the detail."""
        r = self.get("/readyz", headers)
        self.assertEqual((r.status, r.text), (503, "check ledger-db failed: %s\n" % FAILURE))
        r = self.get("/readyz?verbose", headers)
        self.assertEqual(r.status, 503)
        self.assertIn("[-]ledger-db failed: %s\n" % FAILURE, r.text)
        doc = json.loads(self.get("/readyz", dict(headers, **JSON)).body)
        self.assertEqual(doc["checks"]["ledger-db"][0]["output"], FAILURE)
        r = self.get("/readyz/ledger-db", headers)
        self.assertEqual((r.status, r.text), (503, "failed: %s\n" % FAILURE))
        self.assertEqual(self.get("/readyz/nope", headers).status, 404)
        self.assertEqual(self.get("/livez/nope", headers).status, 404)
        r = self.get("/readyz?exclude=ledger-db", headers)
        self.assertEqual((r.status, r.text), (200, "ready\n"))
        r = self.get("/livez?verbose", headers)
        self.assertEqual(r.status, 200)
        self.assertIn("[+]ping ok\n", r.text)
        r = self.get("/startupz?verbose", headers)
        self.assertIn("[+]startup ok\n", r.text)

    def test_remote_client_gets_403_on_metrics(self):
        self.allowed_errors.append(DENIED)
        r = self.get("/metrics", REMOTE)
        self.assertEqual(r.status, 403)
        self.assertNotIn("goapi_", r.text)
        self.assertNotIn("ledger-db", r.text)
        self.assertIDs(r)
        # httpd's access control refused it, for the address remoteip gave
        log = self.httpd.read(self.httpd.error_log, self._offset)
        self.assertRegex(log, r"client 203\.0\.113\.7.*AH01630")

    def test_remote_client_gets_the_plain_probes(self):
        self.assertPlain(REMOTE)
        for path, body in (("/healthz", "ok\n"), ("/startupz", "started\n")):
            r = self.get(path, REMOTE)
            self.assertEqual((r.status, r.text), (200, body), path)

    def test_local_client_gets_metrics_and_detail(self):
        r = self.get("/metrics")
        self.assertEqual(r.status, 200)
        self.assertIn("goapi_build_info{", r.text)
        self.assertIn('check="ledger-db"', r.text)
        self.assertDetail({})

    def test_probes_keep_the_fast_path(self):
        # no Require over the probes: answered from the quick handler, for
        # the remote client as for the local one; /metrics goes through
        # the access phase
        self.allowed_errors.append(DENIED)
        self.get("/readyz?verbose", REMOTE)
        self.get("/healthz", REMOTE)
        self.get("/metrics", REMOTE)
        lines = fp_lines(self.httpd)
        self.assertIn("- goapi 503 /readyz", lines)
        self.assertIn("- goapi 200 /healthz", lines)
        self.assertIn("goapi:/metrics - 403 /metrics", lines)


class ExposureWorkerTest(ExposureTest):
    MPM = "worker"


class ExposurePreforkTest(ExposureTest):
    MPM = "prefork"


class ProbeDetailNetworkTest(ExposureTest):
    """GoapiProbeDetail with a network: its clients see the detail, local
    clients too (named), others get the plain answers."""
    DETAIL = "GoapiProbeDetail local 203.0.113.0/24\n"

    def test_remote_client_gets_the_plain_probes(self):
        self.assertDetail(REMOTE)
        self.assertPlain(OTHER)

    def test_local_client_gets_metrics_and_detail(self):
        self.assertDetail({})


class ProbeDetailOffTest(ExposureTest):
    """GoapiProbeDetail off: nobody sees it, not even the local machine."""
    DETAIL = "GoapiProbeDetail off\n"

    def test_local_client_gets_metrics_and_detail(self):
        self.assertPlain({})
        self.assertEqual(self.get("/metrics").status, 200)


class ProbeDetailAllTest(ExposureTest):
    """GoapiProbeDetail all: every client sees it; /metrics stays local."""
    DETAIL = "GoapiProbeDetail all\n"

    def test_remote_client_gets_the_plain_probes(self):
        self.assertDetail(REMOTE)


class ProbeDetailConfigTest(HttpdTestCase):
    """"apachectl -t" says who sees the detail, per server, and refuses a
    value that is not one."""

    def configtest(self, body):
        h = Httpd(body, loglevel="warn goapi:info")
        try:
            return h.configtest()
        finally:
            h.cleanup()

    def test_report(self):
        res = self.configtest('<VirtualHost 127.0.0.1:@PORT@>\n ServerName pods.example\n'
                              ' GoapiProbeDetail local 10.0.0.0/8\n</VirtualHost>\n')
        self.assertEqual(res.returncode, 0, res.stderr)
        lines = [l for l in res.stderr.splitlines() if "GOAPI00100" in l]
        self.assertEqual(len(lines), 2, lines)
        self.assertEqual(lines[0], "GOAPI00100: the main server: the probes' check names and "
                                   "failures (?verbose, /readyz/<check>) are shown to: local "
                                   "(GoapiProbeDetail); every other client gets the plain "
                                   "answer")
        self.assertRegex(lines[1], r"^GOAPI00100: the virtual host pods\.example defined at "
                                   r".*: .* shown to: local 10\.0\.0\.0/8 "
                                   r"\(GoapiProbeDetail\)")

    def test_refused_values(self):
        for value, why in (("all local", "'all' stands alone"),
                           ("10.0.0.0/33", "'10.0.0.0/33' is neither local, all, off nor "
                                           "an IP address or network"),
                           ("", "expected local, all, off, or networks")):
            res = self.configtest("GoapiProbeDetail %s\n" % value)
            self.assertNotEqual(res.returncode, 0, value)
            self.assertIn("GoapiProbeDetail: '%s' is not valid: %s" % (value, why),
                          res.stderr)


def image_lines():
    """What docker/goapi-container.conf adds to goapi.conf for exposure
    (its <Location "/metrics"> and GoapiProbeDetail), with the Dockerfile's
    default GOAPI_TRUSTED_NETWORKS as a Define: docker-test cannot run
    everywhere, this part of the image's configuration can."""
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(top, "docker", "goapi-container.conf")) as f:
        conf = f.read()
    with open(os.path.join(top, "docker", "Dockerfile")) as f:
        nets = re.search(r'GOAPI_TRUSTED_NETWORKS="([^"]+)"', f.read()).group(1)
    block = re.search(r'(?ms)^<Location "/metrics">$.*?^</Location>$', conf).group(0)
    detail = re.search(r"(?m)^GoapiProbeDetail .*$", conf).group(0)
    return 'Define GOAPI_TRUSTED_NETWORKS "%s"\n%s\n%s\n' % (nets, block, detail)


class ImageExposureTest(ExposureTest):
    """The image's configuration: the pod network (here 10.x, a private
    range) reads /metrics and sees the detail; a public address does not."""
    POD = {"X-Forwarded-For": "10.244.1.5"}

    @classmethod
    def conf_body(cls):
        return super().conf_body() + image_lines()

    def test_pod_network_gets_metrics_and_detail(self):
        r = self.get("/metrics", self.POD)
        self.assertEqual(r.status, 200)
        self.assertIn('check="ledger-db"', r.text)
        self.assertDetail(self.POD)
        self.assertDetail({"X-Forwarded-For": "fd00::7"})
