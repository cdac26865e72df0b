# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Routes of the goapi handler against a real httpd."""

import socket

from harness import HttpdTestCase, parse_raw

TEXT = "text/plain; charset=utf-8"


class RoutesTest(HttpdTestCase):
    CONF = """
AllowEncodedSlashes NoDecode
<Location "/">
    SetHandler goapi
</Location>
<Location "/custom/">
    SetHandler goapi
    ErrorDocument 404 "custom not found"
</Location>
"""

    def assertText(self, resp, status, body):
        self.assertEqual(resp.status, status, resp.text)
        self.assertEqual(resp.text, body)
        self.assertEqual(resp.header("Content-Type"), TEXT)
        self.assertEqual(resp.header("X-Content-Type-Options"), "nosniff")
        self.assertEqual(resp.header("Content-Length"), str(len(body.encode())))
        self.assertIDs(resp)

    def test_root(self):
        self.assertText(self.get("/"), 200, "parcel service is reachable\n")

    def test_probes(self):
        self.assertText(self.get("/healthz"), 200, "ok\n")
        self.assertText(self.get("/readyz"), 200, "ready\n")
        self.assertText(self.get("/startupz"), 200, "started\n")

    def test_parcel_lookup(self):
        self.assertText(self.get("/parcels/abc-123"), 200,
                        "parcel lookup accepted for abc-123\n")

    def test_parcel_id_is_percent_decoded(self):
        self.assertText(self.get("/parcels/a%20b%E2%82%AC"), 200,
                        "parcel lookup accepted for a b\u20ac\n")

    def test_head(self):
        r = self.httpd.request("HEAD", "/parcels/abc")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.header("Content-Length"),
                         str(len("parcel lookup accepted for abc\n")))
        self.assertEqual(r.header("Content-Type"), TEXT)
        self.assertIDs(r)

    def test_other_methods_405(self):
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            r = self.httpd.request(method, "/parcels/abc", body=b"x" if method != "OPTIONS" else None)
            self.assertText(r, 405, "Method Not Allowed\n")
            self.assertEqual(r.all("Allow"), ["GET, HEAD"], method)

    def test_not_found(self):
        for path in ("/parcels/", "/parcels/a/b", "/parcels", "/nope", "/healthz/",
                     "/HEALTHZ", "/parcels/a/"):
            self.assertText(self.get(path), 404, "404 page not found\n")

    def test_encoded_slash_400_without_reflection(self):
        r = self.get("/parcels/evil%2Fpath")
        self.assertText(r, 400, "invalid parcelID: must not contain '/'\n")
        self.assertNotIn(b"evil", r.body)

    def test_control_characters_400(self):
        for raw in ("%01x", "a%0d%0aSet-Cookie:%20x", "%7f", "x%09y"):
            r = self.get("/parcels/" + raw)
            self.assertText(r, 400, "invalid parcelID: must not contain control characters\n")
            self.assertNotIn(b"Set-Cookie", r.body)
        self.assertFalse(any("Set-Cookie" in k for k, _ in r.headers))

    def test_too_long_400(self):
        self.assertEqual(self.get("/parcels/" + "p" * 128).status, 200)
        r = self.get("/parcels/" + "p" * 129)
        self.assertText(r, 400, "invalid parcelID: must be at most 128 bytes\n")
        self.assertNotIn(b"ppp", r.body)
        # the limit counts decoded bytes
        self.assertEqual(self.get("/parcels/" + "%41" * 128).status, 200)
        self.assertEqual(self.get("/parcels/" + "%41" * 129).status, 400)

    def test_dot_ids_400(self):
        r = self.get("/parcels/%2e%2e")
        self.assertText(r, 400, "invalid parcelID: must not be '.' or '..'\n")

    def test_unclean_path_redirects_like_go(self):
        r = self.get("/x/../healthz?probe=1")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header("Location"), "/healthz?probe=1")
        self.assertIDs(r)
        r = self.get("/parcels/./abc")
        self.assertEqual((r.status, r.header("Location")), (301, "/parcels/abc"))

    def raw_get(self, target, method=b"GET"):
        return parse_raw(self.httpd.raw(method + b" " + target + b" HTTP/1.1\r\n"
                                        b"Host: localhost\r\nConnection: close\r\n\r\n"))

    def test_escaped_fixed_parts_match_as_go(self):
        # Go 1.22 unescapes each segment before it compares a fixed part
        self.assertText(self.get("/%68ealthz"), 200, "ok\n")
        r = self.get("/%70arcels/p%2D1")
        self.assertText(r, 200, "parcel lookup accepted for p-1\n")
        # an escaped '/' is no separator
        self.assertEqual(self.get("/healthz%2F").status, 404)
        self.assertEqual(self.get("/parcels%2Fabc").status, 404)

    def test_redirect_location_clean_and_ascii(self):
        # no "?" for an empty query
        r = self.raw_get(b"//healthz?")
        self.assertEqual((r.status, r.header("Location")), (301, "/healthz"))
        # raw UTF-8 in the target: percent-encoded, once
        r = self.raw_get(b"//parcels/caf\xc3\xa9")
        self.assertEqual((r.status, r.header("Location")), (301, "/parcels/caf%C3%A9"))
        r = self.raw_get(b"//parcels/caf%C3%A9?q=1")
        self.assertEqual((r.status, r.header("Location")), (301, "/parcels/caf%C3%A9?q=1"))

    def test_target_without_path_400(self):
        # every method, OPTIONS included: only "OPTIONS *" is server-wide
        for method in (b"GET", b"HEAD", b"POST", b"OPTIONS", b"DELETE"):
            r = self.raw_get(b"?x=1", method)
            self.assertEqual(r.status, 400, (method, r.body))
            self.assertEqual(r.header("Allow"), None, method)
            if method != b"HEAD":
                self.assertEqual(r.body, b"400 Bad Request: the request target has no path\n",
                                 method)

    def test_error_document_wins(self):
        r = self.get("/custom/nothing")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.text, "custom not found")
        self.assertIDs(r)

    def test_query_string_ignored_for_matching(self):
        self.assertText(self.get("/healthz?x=1&y"), 200, "ok\n")
        # ?verbose is an answer of its own, not another route
        self.assertText(self.get("/healthz?verbose=1"), 200, "[+]ping ok\nhealthz check passed\n")

    def test_body_discarded_and_keepalive_kept(self):
        # GET with a body, then a second request on the same connection.
        req = (b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello"
               b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = self.httpd.raw(req)
        self.assertEqual(data.count(b"HTTP/1.1 200 OK"), 2, data)
        self.assertIn(b"\r\n\r\nok\n", data)
        self.assertTrue(data.endswith(b"ready\n"), data)

    def test_absolute_form_target(self):
        # absolute-form request target: routes use its path
        data = self.httpd.raw(b"GET http://localhost/parcels/p1?x=1 HTTP/1.1\r\n"
                              b"Host: localhost\r\nConnection: close\r\n\r\n")
        r = parse_raw(data)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"parcel lookup accepted for p1\n")



class RoutesNoPathWorkerTest(HttpdTestCase):
    """A target without a path under worker (and prefork below): the check
    is made before any MPM-specific work, and answered the same."""
    MPM = "worker"
    CONF = RoutesTest.CONF
    raw_get = RoutesTest.raw_get
    test_target_without_path_400 = RoutesTest.test_target_without_path_400


class RoutesNoPathPreforkTest(RoutesNoPathWorkerTest):
    MPM = "prefork"


class RoutesUnderLocationTest(HttpdTestCase):
    """Only the probes are mapped (the shipped conf/goapi.conf): other paths
    stay with httpd."""

    CONF = ""

    def test_probes_from_shipped_conf(self):
        r = self.get("/healthz")
        self.assertEqual((r.status, r.text), (200, "ok\n"))
        self.assertIDs(r)

    def test_other_paths_not_ours(self):
        self.httpd.write_file("htdocs/index.html", "<p>static</p>\n")
        r = self.get("/index.html")
        self.assertEqual((r.status, r.text), (200, "<p>static</p>\n"))
        self.assertIDs(r)
        r = self.get("/parcels/abc")
        self.assertEqual(r.status, 404)
        self.assertIn("text/html", r.header("Content-Type"))
        self.assertIDs(r)
