# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""The Idempotency-Key draft's answers against a real httpd (event and
prefork): every refusal's problem type, urn:goapi:problem: names or names
after GoapiProblemTypeBase with a Link to their page; the three 409s told
apart by type; GoapiIdempotencyKeySyntax Strict (a Structured Field string
only) and Lenient (a bare key too); bad values of both directives."""

import json
import threading
import time
import unittest

from harness import BackendTestCase, Httpd, configtest_of

PROBLEM = "application/problem+json"
BASE = "https://errors.example.com/goapi/"


def post(httpd, path, key=None, body=b"{}"):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return httpd.request("POST", path, headers=headers, body=body)


class ProblemsBase(object):
    """One location proxied to the backend with idempotency, one shed at
    one request in flight; the subclasses set the server's directives."""

    SERVER = ""

    @classmethod
    def conf_body(cls):
        return cls.SERVER + """
<Location "/api/">
    ProxyPass "http://127.0.0.1:%(port)d/"
    GoapiIdempotency On
    GoapiIdempotencyMaxResponse 4K
    GoapiIdempotencyMaxBody 1K
</Location>
<Location "/required/">
    ProxyPass "http://127.0.0.1:%(port)d/"
    GoapiIdempotency On
    GoapiIdempotencyRequired On
</Location>
<Location "/shed/">
    ProxyPass "http://127.0.0.1:%(port)d/"
    GoapiMaxInFlight 1
</Location>
""" % {"port": cls.backend.port}

    def type_of(self, name):
        raise NotImplementedError

    def problem(self, r, status, name):
        """r is the problem `name` with `status`; its type says so, and a
        Link names the type's page when there is a base."""
        self.assertEqual(r.status, status, r.body)
        self.assertEqual(r.header("Content-Type"), PROBLEM)
        doc = json.loads(r.body)
        self.assertEqual(doc["status"], status)
        self.assertEqual(doc["type"], self.type_of(name))
        link = r.header("Link")
        if self.type_of(name).startswith("urn:"):
            self.assertIsNone(link)
        else:
            self.assertEqual(link, '<%s>; rel="describedby"' % self.type_of(name))
        self.assertEqual(r.header("Cache-Control"), "no-store")
        return doc

    def key(self, text):
        return text

    def seen(self, path):
        with self.backend.lock:
            return sum(1 for q in self.backend.requests if q["path"] == path)

    def while_in_flight(self, path, start, probe):
        """probe() once the request start() sends has reached the backend
        (at `path`) and while it is still there (the backend sleeps 1 s)."""
        before = self.seen(path)
        t = threading.Thread(target=start)
        t.start()
        try:
            deadline = time.monotonic() + 5
            while self.seen(path) == before and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertGreater(self.seen(path), before, "the first request never arrived")
            return probe()
        finally:
            t.join(10)

    def test_the_three_409s_differ_by_type(self):
        key = self.key("in-progress-%s" % self.MPM)
        first = {}
        r = self.while_in_flight("/sleep/1", lambda: first.update(
            r=post(self.httpd, "/api/sleep/1", key)),
            lambda: post(self.httpd, "/api/sleep/1", key))
        self.problem(r, 409, "idempotency-in-progress")
        self.assertEqual(r.header("Retry-After"), "1")
        self.assertEqual(first["r"].status, 200)
        # a response too large to keep: the final "not replayable"
        key = self.key("too-big-%s" % self.MPM)
        self.assertEqual(post(self.httpd, "/api/big/8000", key).status, 200)
        r = post(self.httpd, "/api/big/8000", key)
        self.problem(r, 409, "idempotency-not-replayable")
        self.assertIsNone(r.header("Retry-After"))

    def test_key_reused_missing_and_body_too_large(self):
        key = self.key("reused-%s" % self.MPM)
        self.assertEqual(post(self.httpd, "/api/create/a", key).status, 201)
        self.problem(post(self.httpd, "/api/create/b", key), 422, "idempotency-key-reused")
        self.problem(post(self.httpd, "/required/create/c"), 400, "idempotency-key-missing")
        self.problem(post(self.httpd, "/api/create/d", self.key("big-" + self.MPM),
                          b"x" * 2048), 413, "idempotency-body-too-large")

    def test_shed_request(self):
        r = self.while_in_flight("/sleep/1",
                                 lambda: self.httpd.request("GET", "/shed/sleep/1"),
                                 lambda: self.httpd.request("GET", "/shed/sleep/0"))
        self.problem(r, 503, "overloaded")
        self.assertTrue(r.header("Retry-After"))


class LenientUrnEvent(ProblemsBase, BackendTestCase):
    """Defaults: Lenient keys, urn:goapi:problem: types, no Link."""

    MPM = "event"

    def type_of(self, name):
        return "urn:goapi:problem:" + name

    def test_bare_and_quoted_keys(self):
        self.assertEqual(post(self.httpd, "/api/create/bare", "bare-" + self.MPM).status, 201)
        r = post(self.httpd, "/api/create/quoted", '"quoted-%s"' % self.MPM)
        self.assertEqual(r.status, 201)
        # the quoted form is the same key as its content
        r = post(self.httpd, "/api/create/quoted", "quoted-%s" % self.MPM)
        self.assertEqual(r.header("Idempotent-Replayed"), "true")
        doc = self.problem(post(self.httpd, "/api/create/x", '"unterminated'), 400,
                           "idempotency-key-invalid")
        self.assertNotIn("Structured Field", doc["detail"])


class LenientUrnPrefork(LenientUrnEvent):
    MPM = "prefork"


class StrictBaseEvent(ProblemsBase, BackendTestCase):
    """GoapiIdempotencyKeySyntax Strict and GoapiProblemTypeBase."""

    MPM = "event"
    SERVER = """GoapiIdempotencyKeySyntax Strict
GoapiProblemTypeBase %s
""" % BASE

    def type_of(self, name):
        return BASE + name

    def key(self, text):
        return '"%s"' % text

    def test_strict_takes_structured_field_strings_only(self):
        key = "strict-%s" % self.MPM
        doc = self.problem(post(self.httpd, "/api/create/s", key), 400,
                           "idempotency-key-invalid")
        self.assertIn("Structured Field string", doc["detail"])
        self.assertNotIn(key, r"%r" % doc)
        # nothing ran for it
        self.assertFalse(any(q["path"] == "/create/s" for q in self.backend.requests))
        self.assertEqual(post(self.httpd, "/api/create/s", '"%s"' % key).status, 201)
        # escapes decode: \" and \\ are the key's own characters
        r = post(self.httpd, "/api/create/e", '"a\\"b\\\\c-%s"' % self.MPM)
        self.assertEqual(r.status, 201)
        for bad in ("'single'", '"tab\tinside"', '"bad \\, escape"', '"a";p=1'):
            self.problem(post(self.httpd, "/api/create/x", bad), 400,
                         "idempotency-key-invalid")

    def test_vhost_without_base_keeps_urns(self):
        """A virtual host that says None answers with URNs and no Link."""
        h = Httpd("""GoapiProblemTypeBase %s
<VirtualHost *:@PORT@>
    ServerName other.example
    GoapiProblemTypeBase None
    <Location "/api/">
        ProxyPass "http://127.0.0.1:%d/"
        GoapiIdempotency On
    </Location>
</VirtualHost>
""" % (BASE, self.backend.port), modules=("proxy", "proxy_http"), mpm=self.MPM)
        try:
            h.start()
            key = "vhost-" + self.MPM
            self.assertEqual(h.request("POST", "/api/create/v", headers={
                "Idempotency-Key": key}, body=b"{}", host="other.example").status, 201)
            r = h.request("POST", "/api/create/w", headers={"Idempotency-Key": key},
                          body=b"{}", host="other.example")
            self.assertEqual(r.status, 422)
            self.assertEqual(json.loads(r.body)["type"],
                             "urn:goapi:problem:idempotency-key-reused")
            self.assertIsNone(r.header("Link"))
        finally:
            h.cleanup()


class StrictBasePrefork(StrictBaseEvent):
    MPM = "prefork"


class ProblemDirectivesTest(unittest.TestCase):
    """Bad values are refused by apache2 -t, each saying what is expected."""

    def test_bad_values(self):
        for line, expect in (
                ("GoapiIdempotencyKeySyntax Maybe", "expected Strict"),
                ("GoapiProblemTypeBase ftp://errors.example.com/", "absolute http"),
                ("GoapiProblemTypeBase errors.example.com/goapi/", "absolute http"),
                ("GoapiProblemTypeBase https://errors.example.com", "a path after the host"),
                ('GoapiProblemTypeBase "https://errors.example.com/a b/"', "percent-encoded"),
                ("GoapiProblemTypeBase https://errors.example.com/<x>/", "holds no '<'"),
                ('GoapiProblemTypeBase https://errors.example.com/"x"/', "holds no '\"'")):
            with self.subTest(line=line):
                rc, text = configtest_of(line + "\n")
                self.assertNotEqual(rc, 0, line)
                self.assertIn(expect, text)
        rc, text = configtest_of("GoapiIdempotencyKeySyntax strict\n"
                                 "GoapiProblemTypeBase http://e.example/p/\n")
        self.assertEqual(rc, 0, text)
