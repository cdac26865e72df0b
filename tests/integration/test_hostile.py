# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Hostile traffic over raw sockets: every request gets its expected status
(400/404/413/431/422, or a replaced ID), nothing hostile comes back raw in
a response header, body or log line, and the server still answers /healthz
afterwards with no [crit]/[alert] in its log."""

import re
import socket
import threading

from harness import UUID7, HttpdTestCase, parse_raw, read_to_close, run_threads

MARK = b"EVIL7x"            # in every hostile value: must never come back


def responses(data):
    """The status lines in a raw byte stream (to count answers)."""
    return re.findall(rb"(?m)^HTTP/1\.1 (\d{3}) ", data)


class HostileTest(HttpdTestCase):
    CONF = """
AllowEncodedSlashes NoDecode
GoapiMaxHeaderBytes 8K
<Location "/parcels/">
    SetHandler goapi
    GoapiIdempotency On
</Location>
"""

    def setUp(self):
        super().setUp()
        self.access_offset = len(self.httpd.read(self.httpd.access_log))

    def send(self, data, timeout=10):
        return self.httpd.raw(data, timeout=timeout)

    def assertNoEcho(self, raw, *extra):
        """The marker is in no response byte and no new log line."""
        self.assertNotIn(MARK, raw)
        for value in extra:
            self.assertNotIn(value, raw)
        logs = (self.httpd.read(self.httpd.error_log, self._offset)
                + self.httpd.read(self.httpd.access_log, self.access_offset))
        self.assertNotIn(MARK.decode(), logs)

    def assertStillServes(self):
        r = self.get("/healthz")
        self.assertEqual((r.status, r.body), (200, b"ok\n"))

    def request(self, headers=b"", method=b"GET", path=b"/parcels/p-1", body=b""):
        return (method + b" " + path + b" HTTP/1.1\r\nHost: localhost\r\n" + headers
                + b"Connection: close\r\n\r\n" + body)

    def tearDown(self):
        self.assertStillServes()
        super().tearDown()
        bad = [l for l in self.httpd.read(self.httpd.error_log).splitlines()
               if re.search(r":(crit|alert|emerg)\]", l)]
        self.assertEqual(bad, [])

    # -- request and correlation IDs ----------------------------------------
    def test_ids_with_control_bytes_are_refused_or_replaced(self):
        for value in (b"ab\r" + MARK, b"ab\x00" + MARK, b"ab\x01" + MARK,
                      b"ab\x7f" + MARK, b"\xff\xfe" + MARK, b"caf\xc3\xa9" + MARK,
                      b"<script>" + MARK, b"a b " + MARK):
            with self.subTest(value=value):
                raw = self.send(self.request(b"X-Request-ID: " + value + b"\r\n"
                                             b"X-Correlation-ID: " + value + b"\r\n"))
                r = parse_raw(raw)
                self.assertIn(r.status, (200, 400), raw[:300])
                self.assertRegex(r.header("X-Request-ID"), UUID7)
                self.assertEqual(r.header("X-Correlation-ID"), r.header("X-Request-ID"))
                self.assertNoEcho(raw)

    def test_header_injection_through_a_bare_lf(self):
        raw = self.send(self.request(b"X-Request-ID: abc\nSet-Cookie: " + MARK + b"=1\r\n"))
        r = parse_raw(raw)
        self.assertIn(r.status, (200, 400))
        self.assertIsNone(r.header("Set-Cookie"))
        self.assertNoEcho(raw)

    def test_obs_fold_is_not_an_id(self):
        raw = self.send(self.request(b"X-Request-ID: abc\r\n " + MARK + b"\r\n"))
        r = parse_raw(raw)
        self.assertIn(r.status, (200, 400))
        self.assertNotEqual(r.header("X-Request-ID"), "abc")    # never a folded value
        self.assertNoEcho(raw)

    def test_64k_id_and_thousands_of_headers(self):
        raw = self.send(self.request(b"X-Request-ID: " + MARK + b"x" * 65536 + b"\r\n"))
        r = parse_raw(raw)
        self.assertEqual(r.status, 400)            # LimitRequestFieldSize
        self.assertRegex(r.header("X-Request-ID"), UUID7)
        self.assertNoEcho(raw)
        many = b"".join(b"X-H%d: %s\r\n" % (i, MARK) for i in range(3000))
        raw = self.send(self.request(many))
        r = parse_raw(raw)
        self.assertEqual(r.status, 400)            # LimitRequestFields
        self.assertRegex(r.header("X-Request-ID"), UUID7)
        self.assertNoEcho(raw)

    def test_header_bytes_over_the_limit_get_431(self):
        # 90 fields of 100 bytes: each within httpd's limits, 9 KB in all
        fields = b"".join(b"X-Pad-%02d: %s%s\r\n" % (i, MARK, b"p" * 84) for i in range(90))
        raw = self.send(self.request(fields))
        r = parse_raw(raw)
        self.assertEqual(r.status, 431)
        self.assertRegex(r.header("X-Request-ID"), UUID7)
        self.assertNoEcho(raw)

    def test_duplicate_and_odd_case_id_headers(self):
        raw = self.send(self.request(b"X-Request-ID: first-id\r\nX-Request-ID: second-id\r\n"))
        r = parse_raw(raw)
        self.assertEqual(r.status, 200)
        self.assertRegex(r.header("X-Request-ID"), UUID7)   # "first-id, second-id" is refused
        self.assertEqual(len([h for h in r.headers if h[0].lower() == "x-request-id"]), 1)
        raw = self.send(self.request(b"x-ReQuEsT-iD: odd-case-id-1\r\n"))
        self.assertEqual(parse_raw(raw).header("X-Request-ID"), "odd-case-id-1")

    # -- Idempotency-Key --------------------------------------------------------
    def test_hostile_idempotency_keys(self):
        for value in (b'"' + MARK + b"k" * 1000 + b'"', b'"' + MARK, b'"' + MARK + b'"x"',
                      MARK + b'"', b'"a\\' + MARK + b'"', b"\xff" + MARK,
                      b'"' + MARK + b'";p=1', MARK + b" " + MARK):
            with self.subTest(value=value[:40]):
                raw = self.send(self.request(b"Idempotency-Key: " + value + b"\r\n"
                                             b"Content-Length: 2\r\n", b"POST",
                                             b"/parcels/p-1/dispatch", b"{}"))
                r = parse_raw(raw)
                self.assertEqual(r.status, 400, raw[:300])
                self.assertEqual(r.header("Content-Type"), "application/problem+json")
                self.assertNoEcho(raw)
        raw = self.send(self.request(b"Idempotency-Key: " + MARK + b"-1\r\nIdempotency-Key: "
                                     + MARK + b"-2\r\nContent-Length: 0\r\n", b"POST",
                                     b"/parcels/p-1/dispatch"))
        self.assertEqual(parse_raw(raw).status, 400)
        self.assertNoEcho(raw)

    def test_reused_key_with_another_body_gets_422(self):
        first = self.send(self.request(b"Idempotency-Key: hostile-reuse\r\nContent-Length: 2\r\n",
                                       b"POST", b"/parcels/p-2/dispatch", b"{}"))
        self.assertEqual(parse_raw(first).status, 201)
        raw = self.send(self.request(b"Idempotency-Key: hostile-reuse\r\nContent-Length: 6\r\n",
                                     b"POST", b"/parcels/p-2/dispatch", MARK))
        self.assertEqual(parse_raw(raw).status, 422)
        self.assertNoEcho(raw)

    # -- paths ----------------------------------------------------------------------
    def test_hostile_paths(self):
        self.allowed_errors.append(r"AH10244: invalid URI path \(/parcels/%zz\)")
        cases = [
            (b"/parcels/%2E%2E", 404),              # httpd normalizes it away
            (b"/parcels/..%2F..%2F" + MARK, 400),   # an encoded '/'
            (b"/parcels/%C0%AF" + MARK, 400),       # overlong '/'
            (b"/parcels/%ED%A0%80" + MARK, 400),    # a surrogate
            (b"/parcels/%FF" + MARK, 400),
            (b"/parcels/a%0d%0aSet-Cookie:" + MARK, 400),
            (b"/parcels/%00" + MARK, 404),          # httpd refuses %00 itself
            (b"/parcels/%zz", 400),                 # malformed escape: httpd logs it
            (b"//parcels//" + MARK, 301),           # cleaned, as Go does
            (b"/parcels/x/../" + MARK, 301),
        ]
        for path, want in cases:
            with self.subTest(path=path):
                raw = self.send(self.request(path=path))
                r = parse_raw(raw)
                self.assertEqual(r.status, want, raw[:400])
                self.assertRegex(r.header("X-Request-ID"), UUID7)
                if want == 301:
                    # the redirect names the clean path: the marker, escaped as sent
                    self.assertTrue(r.header("Location").startswith("/parcels/"))
                else:
                    self.assertNotIn(MARK, r.body)
                    self.assertNotIn(b"\xc0\xaf", r.body)
                    self.assertNotIn(b"Set-Cookie:" + MARK, raw)

    # -- bodies ------------------------------------------------------------------------
    def test_conflicting_length_and_chunked_do_not_smuggle(self):
        smuggled = b"GET /healthz?" + MARK + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
        for framing in (b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
                        b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
                        b"Content-Length: 4\r\nContent-Length: 40\r\n",
                        b"Transfer-Encoding: xchunked\r\n",
                        b"Transfer-Encoding: chunked, identity\r\n"):
            with self.subTest(framing=framing):
                data = (b"POST /parcels/p-3/dispatch HTTP/1.1\r\nHost: localhost\r\n"
                        b"Idempotency-Key: smuggle-" + framing[:4] + b"\r\n" + framing
                        + b"\r\n0\r\n\r\n" + smuggled)
                with socket.create_connection((self.httpd.host, self.httpd.port),
                                              timeout=10) as s:
                    s.sendall(data)
                    raw = read_to_close(s)
                self.assertEqual(len(responses(raw)), 1, raw[:600])    # never two answers
                self.assertIn(int(responses(raw)[0]), (201, 400, 501), raw[:300])
                self.assertNoEcho(raw)

    def test_large_body_with_a_key_gets_413(self):
        raw = self.send(self.request(b"Idempotency-Key: big-hostile\r\n"
                                     b"Content-Length: 2000000\r\n", b"POST",
                                     b"/parcels/p-4/dispatch", MARK + b"b" * 70000))
        r = parse_raw(raw)
        self.assertEqual(r.status, 413)
        self.assertNoEcho(raw)

    # -- a burst of keys --------------------------------------------------------------
    def test_10000_distinct_keys_in_a_burst(self):
        import http.client
        out, errors, lock = [], [], threading.Lock()

        def client(c):
            # httpd may close an idle kept-alive connection when its workers
            # are all busy; a client then retries with the same key, which
            # is what the key is for
            conn = http.client.HTTPConnection(self.httpd.host, self.httpd.port, timeout=30)
            for i in range(500):
                for attempt in range(3):
                    try:
                        conn.request("POST", "/parcels/burst/dispatch", body=b"",
                                     headers={"Idempotency-Key": "burst-%d-%d" % (c, i)})
                        r = conn.getresponse()
                        r.read()
                        with lock:
                            out.append((r.status, r.getheader("Location")))
                        break
                    except (ConnectionError, http.client.HTTPException) as e:
                        conn.close()
                        if attempt == 2:
                            with lock:
                                errors.append(repr(e))
            conn.close()

        run_threads([threading.Thread(target=client, args=(c,)) for c in range(20)], 300)
        self.assertEqual(errors, [], errors[:3])
        self.assertEqual(len(out), 10000)
        self.assertEqual({s for s, _ in out}, {201})
        self.assertEqual(len({loc for _, loc in out}), 10000)      # one dispatch each
