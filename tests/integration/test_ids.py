# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""The ID middleware against a real httpd: request and correlation IDs on
every response, in the logs, in CGI and subrequests, across internal
redirects; Idempotency-Key carried; hostile values never echoed."""

import http.client
import re

from harness import UUID7, HttpdTestCase, parse_raw

CGI_ENV = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
for v in GOAPI_REQUEST_ID GOAPI_CORRELATION_ID GOAPI_IDEMPOTENCY_KEY \\
         HTTP_X_REQUEST_ID HTTP_X_CORRELATION_ID HTTP_IDEMPOTENCY_KEY; do
    eval "val=\\${$v-<unset>}"
    printf '%s=%s\\n' "$v" "$val"
done
"""

SSI_PAGE = """main=<!--#echo var="GOAPI_REQUEST_ID" -->
<!--#include virtual="/cgi-bin/env.cgi" -->"""


def cgi_vars(body):
    out = {}
    for line in body.splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return out


# Values a client may send that must never be kept, echoed or logged.
HOSTILE = [
    "<script>alert(1)</script>",
    "has space",
    '"quoted"',
    "semi;colon",
    "x" * 129,
    "caf\u00e9",
    "tab\there",
    "per%20cent",
]


class IDsTest(HttpdTestCase):
    MODULES = ("alias", "cgid", "dir", "include", "auth_basic", "authn_core",
               "authn_file", "authz_user")
    FILES = {
        "cgi-bin/env.cgi": (CGI_ENV, 0o755),
        "htdocs/ssi/page.shtml": (SSI_PAGE, 0o644),
        "htdocs/static/file.txt": ("static\n", 0o644),
        "htdocs/static/index.html": ("index\n", 0o644),
        "conf/users": ("", 0o644),
    }
    CONF = """
LimitRequestFieldSize 4000
LimitRequestLine 2000
CustomLog @DIR@/logs/ids.log "%L|%{X-Request-ID}o|%{GOAPI_REQUEST_ID}e|%P|%{tid}P|%U"
ScriptAlias /cgi-bin/ @DIR@/cgi-bin/
ScriptAlias /cgi-private/ @DIR@/cgi-bin/
<Location "/cgi-private/">
    GoapiForwardIDs Off
</Location>
<Location "/ssi/">
    Options +Includes
    SetOutputFilter INCLUDES
</Location>
<Location "/denied/">
    Require all denied
</Location>
<Location "/private/">
    AuthType Basic
    AuthName "private"
    AuthUserFile @DIR@/conf/users
    Require valid-user
</Location>
<Location "/static/">
    ErrorDocument 404 /healthz
</Location>
<Location "/parcels/">
    SetHandler goapi
</Location>

<VirtualHost 127.0.0.1:@PORT@>
    ServerName localhost
</VirtualHost>
<VirtualHost 127.0.0.1:@PORT@>
    ServerName edge.test
    GoapiTrustIncomingIDs Off
    GoapiMaxIDLength 40
</VirtualHost>
<VirtualHost 127.0.0.1:@PORT@>
    ServerName custom.test
    GoapiRequestIDHeader X-Trace-ID
    GoapiCorrelationIDHeader X-Flow-ID
    GoapiIdempotencyKeyHeader X-Retry-Key
</VirtualHost>
"""

    def ids_log(self):
        self.httpd.access_lines()
        return [l.split("|") for l in self.httpd.read(self.httpd.path("logs/ids.log")).splitlines()]

    def log_line_for(self, rid):
        for fields in self.ids_log():
            if fields[2] == rid:
                return fields
        self.fail("no access log line for %s" % rid)

    # -- assignment ---------------------------------------------------------
    def test_generated_ids(self):
        r = self.get("/healthz")
        self.assertEqual(r.status, 200)
        rid = self.assertIDs(r)
        self.assertEqual(r.header("X-Correlation-ID"), rid)

    def test_client_ids_kept(self):
        r = self.get("/healthz", {"X-Request-ID": "req-local-001",
                                  "X-Correlation-ID": "checkout-flow-001"})
        self.assertIDs(r, "req-local-001", "checkout-flow-001")

    def test_correlation_defaults_to_client_request_id(self):
        r = self.get("/healthz", {"X-Request-ID": "req-only-1"})
        self.assertIDs(r, "req-only-1", "req-only-1")

    def test_full_alphabet_kept(self):
        v = "AZaz09-_.:+/="
        self.assertIDs(self.get("/healthz", {"X-Request-ID": v}), v)

    def test_hostile_request_ids_replaced(self):
        for v in HOSTILE:
            r = self.get("/healthz", {"X-Request-ID": v.encode("latin-1")})
            self.assertEqual(r.status, 200, v)
            rid = self.assertIDs(r)
            self.assertNotEqual(rid, v)
            self.assertNotIn(v.encode("latin-1"), r.body)

    def test_hostile_correlation_ids_fall_back(self):
        for v in HOSTILE:
            r = self.get("/healthz", {"X-Request-ID": "good-1",
                                      "X-Correlation-ID": v.encode("latin-1")})
            self.assertIDs(r, "good-1", "good-1")

    def test_refusal_logged_by_length_only(self):
        v = "<script>alert(1)</script>"
        r = self.get("/healthz", {"X-Request-ID": v})
        rid = self.assertIDs(r)
        log = self.httpd.read(self.httpd.error_log, self._offset)
        self.assertRegex(log, r"\[%s\] .*GOAPI00003: ignoring X-Request-ID of 25 bytes: "
                              r"character outside" % re.escape(rid))
        self.assertNotIn("script", log)

    def test_max_length_boundary(self):
        v = "m" * 128
        self.assertIDs(self.get("/healthz", {"X-Request-ID": v}), v)
        r = self.get("/healthz", {"X-Request-ID": v + "m"})
        self.assertNotEqual(self.assertIDs(r), v + "m")

    def test_duplicate_headers_replaced(self):
        data = self.httpd.raw(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
                              b"X-Request-ID: one\r\nX-Request-ID: two\r\n"
                              b"Connection: close\r\n\r\n")
        r = parse_raw(data)
        self.assertEqual(r.status, 200)
        self.assertIDs(r)

    def test_hostile_over_raw_socket_never_echoed(self):
        cases = [
            (b"a\x00b-nul-marker", (400, 200)),
            (b"cr\rlf-marker", (400,)),
            (b"\xff\xfe-binary-marker", (200,)),
            (b"del\x7f-marker", (200, 400)),
            (b"big-marker" + b"Z" * 3900, (200,)),
            (b"huge-marker" + b"Q" * 5000, (400,)),
        ]
        for value, statuses in cases:
            data = self.httpd.raw(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
                                  b"X-Request-ID: " + value + b"\r\n"
                                  b"X-Correlation-ID: " + value + b"\r\n"
                                  b"Connection: close\r\n\r\n")
            r = parse_raw(data)
            self.assertIn(r.status, statuses, value[:20])
            self.assertIDs(r)
            self.assertNotIn(b"marker", data, value[:20])
        self.httpd.access_lines()
        for log in (self.httpd.access_log, self.httpd.error_log,
                    self.httpd.path("logs/ids.log")):
            self.assertNotIn("marker", self.httpd.read(log))

    # -- virtual host settings -----------------------------------------------
    def test_untrusted_vhost_always_generates(self):
        r = self.get("/healthz", {"X-Request-ID": "client-chosen",
                                  "X-Correlation-ID": "flow-7"}, host="edge.test")
        rid = self.assertIDs(r, correlation_id="flow-7")
        self.assertNotEqual(rid, "client-chosen")

    def test_vhost_max_length(self):
        ok, long = "c" * 40, "c" * 41
        r = self.get("/healthz", {"X-Correlation-ID": ok}, host="edge.test")
        self.assertIDs(r, correlation_id=ok)
        r = self.get("/healthz", {"X-Correlation-ID": long}, host="edge.test")
        rid = self.assertIDs(r)
        self.assertEqual(r.header("X-Correlation-ID"), rid)

    def test_custom_header_names(self):
        r = self.get("/cgi-bin/env.cgi", {"X-Trace-ID": "trace-1", "X-Flow-ID": "flow-1",
                                          "X-Retry-Key": "retry-1",
                                          "X-Request-ID": "ignored-here"},
                     host="custom.test")
        self.assertEqual(r.status, 200)
        self.assertIDs(r, "trace-1", "flow-1", rid_header="X-Trace-ID",
                       cid_header="X-Flow-ID")
        self.assertEqual(r.all("X-Correlation-ID"), [])
        env = cgi_vars(r.text)
        self.assertEqual(env["GOAPI_REQUEST_ID"], "trace-1")
        self.assertEqual(env["GOAPI_IDEMPOTENCY_KEY"], "retry-1")

    # -- errors produced by httpd and other modules ---------------------------
    def test_ids_on_errors_from_other_modules(self):
        for path, status in (("/denied/x", 403), ("/private/x", 401),
                             ("/nothing-here", 404)):
            r = self.get(path, {"X-Request-ID": "err-%d" % status})
            self.assertEqual(r.status, status, path)
            self.assertIDs(r, "err-%d" % status)
            r = self.get(path)
            self.assertEqual(r.status, status, path)
            self.assertIDs(r)
        self.allowed_errors.append(r"AH01630: client denied by server configuration")

    def test_ids_on_errors_while_reading_the_request(self):
        requests = [
            (b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nBad Header Line\r\n\r\n", 400),
            (b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"b" * 5000
             + b"\r\n\r\n", 400),
            (b"GET /" + b"u" * 3000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n", 414),
            (b"GET /healthz HTTP/1.1\r\n\r\n", 400),        # no Host
        ]
        for req, status in requests:
            r = parse_raw(self.httpd.raw(req))
            self.assertEqual(r.status, status, req[:40])
            rid = self.assertIDs(r)
            self.assertEqual(self.log_line_for(rid)[0], rid)

    # -- logs -----------------------------------------------------------------
    def test_access_log_goapi_format(self):
        self.get("/healthz", {"X-Request-ID": "log-req-1", "X-Correlation-ID": "log-corr-1"})
        lines = [l for l in self.httpd.access_lines() if "log-req-1" in l]
        self.assertEqual(len(lines), 1)
        self.assertRegex(lines[0], r"^request_id=log-req-1 correlation_id=log-corr-1 "
                                   r"path=/healthz method=GET status=200 bytes=3 "
                                   r"duration_ms=\d+ client=127\.0\.0\.1 trace_id=[0-9a-f]{32}$")

    def test_percent_L_is_request_id(self):
        r = self.get("/healthz")
        rid = self.assertIDs(r)
        fields = self.log_line_for(rid)
        self.assertEqual(fields[0], rid)        # %L in LogFormat
        self.assertEqual(fields[1], rid)        # the response header
        # %L in ErrorLogFormat, on a line logged for the request
        r = self.get("/parcels/%2e")
        rid = self.assertIDs(r)
        self.assertIn("[%s] " % rid, self.httpd.read(self.httpd.error_log, self._offset))

    # -- internal redirects, subrequests, CGI -------------------------------
    def test_internal_redirect_keeps_ids(self):
        r = self.get("/static/missing", {"X-Request-ID": "redir-1"})
        self.assertEqual((r.status, r.text), (404, "ok\n"))
        self.assertIDs(r, "redir-1")
        r = self.get("/static/missing")
        rid = self.assertIDs(r)
        fields = self.log_line_for(rid)
        self.assertEqual(fields[0], rid)
        self.assertEqual(fields[5], "/static/missing")

    def test_directory_index_keeps_ids(self):
        # mod_dir serves index.html through a subrequest and a fast redirect
        r = self.get("/static/", {"X-Request-ID": "dirindex-1"})
        self.assertEqual((r.status, r.text), (200, "index\n"))
        self.assertIDs(r, "dirindex-1")
        r = self.get("/static/")
        rid = self.assertIDs(r)
        self.assertEqual(self.log_line_for(rid)[0], rid)

    def test_subrequest_and_cgi_keep_ids(self):
        r = self.get("/ssi/page.shtml", {"X-Correlation-ID": "ssi-flow"})
        self.assertEqual(r.status, 200, r.text)
        rid = self.assertIDs(r, correlation_id="ssi-flow")
        lines = r.text.splitlines()
        self.assertEqual(lines[0], "main=" + rid)
        env = cgi_vars("\n".join(lines[1:]))
        self.assertEqual(env["GOAPI_REQUEST_ID"], rid)
        self.assertEqual(env["HTTP_X_REQUEST_ID"], rid)
        self.assertEqual(env["GOAPI_CORRELATION_ID"], "ssi-flow")

    def test_cgi_environment_and_idempotency_key(self):
        r = self.get("/cgi-bin/env.cgi", {"X-Request-ID": "cgi-1",
                                          "Idempotency-Key": '"order-\\"42\\""'})
        self.assertEqual(r.status, 200)
        self.assertIDs(r, "cgi-1")
        env = cgi_vars(r.text)
        self.assertEqual(env["GOAPI_REQUEST_ID"], "cgi-1")
        self.assertEqual(env["GOAPI_CORRELATION_ID"], "cgi-1")
        self.assertEqual(env["HTTP_X_REQUEST_ID"], "cgi-1")
        self.assertEqual(env["HTTP_X_CORRELATION_ID"], "cgi-1")
        self.assertEqual(env["GOAPI_IDEMPOTENCY_KEY"], 'order-"42"')
        self.assertEqual(env["HTTP_IDEMPOTENCY_KEY"], '"order-\\"42\\""')

    def test_generated_ids_forwarded_to_cgi(self):
        r = self.get("/cgi-bin/env.cgi", {"X-Request-ID": "bad id"})
        rid = self.assertIDs(r)
        env = cgi_vars(r.text)
        self.assertEqual(env["HTTP_X_REQUEST_ID"], rid)
        self.assertEqual(env["HTTP_X_CORRELATION_ID"], rid)
        self.assertEqual(env["HTTP_IDEMPOTENCY_KEY"], "<unset>")
        self.assertEqual(env["GOAPI_IDEMPOTENCY_KEY"], "<unset>")

    def test_invalid_idempotency_key_dropped(self):
        for bad in ('"unterminated', "a b", "k" * 256, '"x";p=1'):
            r = self.get("/cgi-bin/env.cgi", {"Idempotency-Key": bad})
            self.assertEqual(r.status, 200)
            env = cgi_vars(r.text)
            self.assertEqual(env["HTTP_IDEMPOTENCY_KEY"], "<unset>", bad)
            self.assertEqual(env["GOAPI_IDEMPOTENCY_KEY"], "<unset>", bad)
        log = self.httpd.read(self.httpd.error_log, self._offset)
        self.assertIn("GOAPI00004: dropping Idempotency-Key of 256 bytes: too long", log)
        self.assertNotIn("kkkk", log)

    def test_forward_ids_off(self):
        r = self.get("/cgi-private/env.cgi", {"X-Request-ID": "private-1",
                                              "Idempotency-Key": "k-1"})
        self.assertIDs(r, "private-1")
        env = cgi_vars(r.text)
        self.assertEqual(env["GOAPI_REQUEST_ID"], "private-1")
        self.assertEqual(env["GOAPI_IDEMPOTENCY_KEY"], "k-1")
        for v in ("HTTP_X_REQUEST_ID", "HTTP_X_CORRELATION_ID", "HTTP_IDEMPOTENCY_KEY"):
            self.assertEqual(env[v], "<unset>", v)

    # -- uniqueness across threads ---------------------------------------------
    def test_unique_across_threads(self):
        responses, errors = self.httpd.keepalive_clients(
            8, 100, lambda i: ("GET", "/healthz", None))
        self.assertEqual(errors, [])
        ids = [dict((k.lower(), v) for k, v in h)["x-request-id"] for _, h in responses]
        self.assertEqual(len(ids), 800)
        self.assertEqual(len(set(ids)), 800)
        self.assertTrue(all(UUID7.match(i) for i in ids))


class IDsPreforkTest(HttpdTestCase):
    """Several processes: IDs unique across them, ordered within each."""

    MPM = "prefork"
    CONF = 'CustomLog @DIR@/logs/pids.log "%P %{GOAPI_REQUEST_ID}e"'

    def test_unique_across_processes_ordered_within(self):
        conns = [http.client.HTTPConnection(self.httpd.host, self.httpd.port, timeout=10)
                 for _ in range(4)]
        per_conn = [[] for _ in conns]
        try:
            # Four open keep-alive connections hold four prefork children.
            for _ in range(150):
                for i, c in enumerate(conns):
                    c.request("GET", "/healthz")
                    resp = c.getresponse()
                    resp.read()
                    per_conn[i].append(resp.getheader("X-Request-ID"))
        finally:
            for c in conns:
                c.close()
        all_ids = [i for ids in per_conn for i in ids]
        self.assertEqual(len(set(all_ids)), 600)
        for ids in per_conn:
            self.assertEqual(ids, sorted(ids), "IDs of one process are in order")
        self.httpd.access_lines()
        pids = {l.split()[0] for l in self.httpd.read(self.httpd.path("logs/pids.log")).splitlines()}
        self.assertGreaterEqual(len(pids), 4)
