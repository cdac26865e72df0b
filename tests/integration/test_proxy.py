# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""IDs forwarded through mod_proxy to a real backend on loopback, and on
proxied responses."""

import json

from harness import BackendTestCase


def got_headers(resp):
    """The request headers the backend received, as {lower-name: [values]}."""
    out = {}
    for k, v in json.loads(resp.body)["headers"]:
        out.setdefault(k.lower(), []).append(v)
    return out


class ProxyTest(BackendTestCase):

    @classmethod
    def conf_body(cls):
        return """
ProxyPass "/api/" "http://127.0.0.1:%d/"
ProxyPass "/down/" "http://127.0.0.1:%d/" retry=0
<Location "/quiet/">
    GoapiForwardIDs Off
    ProxyPass "http://127.0.0.1:%d/"
</Location>
""" % (cls.backend.port, cls.dead_port, cls.backend.port)

    def test_backend_receives_all_three(self):
        r = self.get("/api/parcels/p1", {"X-Request-ID": "req-proxy-1",
                                         "X-Correlation-ID": "corr-proxy-1",
                                         "Idempotency-Key": '"dispatch-p1-0001"'})
        self.assertEqual(r.status, 200)
        self.assertIDs(r, "req-proxy-1", "corr-proxy-1")
        h = got_headers(r)
        self.assertEqual(h["x-request-id"], ["req-proxy-1"])
        self.assertEqual(h["x-correlation-id"], ["corr-proxy-1"])
        self.assertEqual(h["idempotency-key"], ['"dispatch-p1-0001"'])

    def test_generated_ids_are_the_ones_forwarded(self):
        r = self.httpd.request("POST", "/api/parcels/p2/dispatch", body=b"{}",
                               headers={"X-Request-ID": "not valid!",
                                        "Idempotency-Key": "bare-key-2"})
        self.assertEqual(r.status, 200)
        rid = self.assertIDs(r)
        h = got_headers(r)
        self.assertEqual(h["x-request-id"], [rid])
        self.assertEqual(h["x-correlation-id"], [rid])
        self.assertEqual(h["idempotency-key"], ["bare-key-2"])

    def test_invalid_key_not_forwarded(self):
        r = self.get("/api/x", {"Idempotency-Key": '"open'})
        self.assertNotIn("idempotency-key", got_headers(r))

    def test_backend_ids_do_not_duplicate_ours(self):
        r = self.get("/api/echo-ids", {"X-Request-ID": "edge-1"})
        self.assertEqual(r.status, 200)
        self.assertIDs(r, "edge-1")
        self.assertNotIn("backend-own-id", str(r.headers))

    def test_ids_on_backend_errors(self):
        r = self.get("/api/status/500", {"X-Request-ID": "be-500"})
        self.assertEqual(r.status, 500)
        self.assertIDs(r, "be-500")
        r = self.get("/api/status/404")
        self.assertEqual(r.status, 404)
        self.assertIDs(r)

    def test_ids_when_backend_unreachable(self):
        r = self.get("/down/x", {"X-Request-ID": "down-1"})
        self.assertEqual(r.status, 503)
        self.assertIDs(r, "down-1")
        # mod_proxy reports the refused connection (AH00957, a server-level
        # line) and the failed request, which carries our ID
        log = self.httpd.read(self.httpd.error_log, self._offset)
        self.assertRegex(log, r"\[proxy(_http)?:error\].*\[down-1\].*AH01114")
        self.allowed_errors += [r"\[proxy(_http)?:error\].*\[down-1\].*AH01114",
                                r"\[proxy:error\].*AH00957: http: attempt to connect"]

    def test_forward_ids_off_per_location(self):
        r = self.get("/quiet/x", {"X-Request-ID": "q-1", "Idempotency-Key": "k"})
        self.assertIDs(r, "q-1")
        h = got_headers(r)
        for name in ("x-request-id", "x-correlation-id", "idempotency-key"):
            self.assertNotIn(name, h)
