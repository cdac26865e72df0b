# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""W3C Trace Context and the time left, passed downstream, against a real
httpd proxying to a backend that records what it receives.  The table of
traceparent and tracestate cases follows the W3C trace-context test suite
(github.com/w3c/trace-context, test/test.py, strict level 2): each case's
headers are sent as the suite sends them, and the suite's expectation is
checked on what the backend got."""

import re
import socket
import time

from harness import BackendTestCase, Httpd, parse_raw, read_to_close

TID = "12345678901234567890123456789012"
PID = "1234567890123456"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

CONF = """
LogFormat "%{GOAPI_TRACE_ID}e %{GOAPI_SPAN_ID}e %{GOAPI_PARENT_ID}e %{GOAPI_TRACE_FLAGS}e %U" trace
CustomLog @DIR@/logs/trace.log trace
GoapiWriteTimeout 2s
GoapiReadTimeout 5s
GoapiMaxHeaderBytes 2K
ProxyPass "/be/" "http://127.0.0.1:@BACKEND@/"
<Location "/be/off/">
    GoapiTraceContext Off
</Location>
<Location "/be/idem/">
    GoapiIdempotency On
</Location>
<VirtualHost 127.0.0.1:@PORT@>
    ServerName localhost
</VirtualHost>
<VirtualHost 127.0.0.1:@PORT@>
    ServerName edge.example
    GoapiTrustIncomingTrace Off
    GoapiTraceSampled Off
    GoapiTraceResponse On
    GoapiTrustIncomingDeadline On
</VirtualHost>
<VirtualHost 127.0.0.1:@PORT@>
    ServerName quiet.example
    GoapiDeadlineHeader Off
</VirtualHost>
"""

# The suite's cases: the headers sent, and whether the trace is continued
# (the same trace-id reaches the backend) or restarted (a new one does).
CONTINUED = [
    [("traceparent", "00-%s-%s-01" % (TID, PID))],
    [("TraceParent", "00-%s-%s-01" % (TID, PID))],
    [("TRACEPARENT", "00-%s-%s-01" % (TID, PID))],
    [("traceparent", "cc-%s-%s-01" % (TID, PID))],
    [("traceparent", "cc-%s-%s-01-what-the-future-will-be-like" % (TID, PID))],
    [("traceparent", " 00-%s-%s-01" % (TID, PID))],
    [("traceparent", "\t00-%s-%s-01" % (TID, PID))],
    [("traceparent", "00-%s-%s-01 " % (TID, PID))],
    [("traceparent", "00-%s-%s-01\t" % (TID, PID))],
    [("traceparent", "\t 00-%s-%s-01 \t" % (TID, PID))],
]
RESTARTED = [
    [("traceparent", "00-%s-%s-01" % ("12345678901234567890123456789011", PID)),
     ("traceparent", "00-%s-%s-01" % (TID, PID))],
    [("trace-parent", "00-%s-%s-01" % (TID, PID))],
    [("trace.parent", "00-%s-%s-01" % (TID, PID))],
    [("traceparent", "00-%s-%s-01." % (TID, PID))],
    [("traceparent", "00-%s-%s-01-what-the-future-will-be-like" % (TID, PID))],
    [("traceparent", "cc-%s-%s-01.what-the-future-will-be-like" % (TID, PID))],
    [("traceparent", "ff-%s-%s-01" % (TID, PID))],
    [("traceparent", ".0-%s-%s-01" % (TID, PID))],
    [("traceparent", "0.-%s-%s-01" % (TID, PID))],
    [("traceparent", "000-%s-%s-01" % (TID, PID))],
    [("traceparent", "0000-%s-%s-01" % (TID, PID))],
    [("traceparent", "0-%s-%s-01" % (TID, PID))],
    [("traceparent", "00-%s-%s-01" % ("0" * 32, PID))],
    [("traceparent", "00-.2345678901234567890123456789012-%s-01" % PID)],
    [("traceparent", "00-1234567890123456789012345678901.-%s-01" % PID)],
    [("traceparent", "00-123456789012345678901234567890123-%s-01" % PID)],
    [("traceparent", "00-1234567890123456789012345678901-%s-01" % PID)],
    [("traceparent", "00-%s-0000000000000000-01" % TID)],
    [("traceparent", "00-%s-.234567890123456-01" % TID)],
    [("traceparent", "00-%s-123456789012345.-01" % TID)],
    [("traceparent", "00-%s-12345678901234567-01" % TID)],
    [("traceparent", "00-%s-123456789012345-01" % TID)],
    [("traceparent", "00-%s-%s-.0" % (TID, PID))],
    [("traceparent", "00-%s-%s-0." % (TID, PID))],
    [("traceparent", "00-%s-%s-001" % (TID, PID))],
    [("traceparent", "00-%s-%s-1" % (TID, PID))],
    [("traceparent", "00-%s-%s-01" % (TID.upper().replace("1", "A"), PID))],
    [("traceparent", "00-%s-%s-01" % (TID, PID)), ("traceparent", "00-%s-%s-01" % (TID, PID))],
]
TP = ("traceparent", "00-%s-%s-00" % (TID, PID))
BARS = ["bar%02d=%02d" % (i, i) for i in range(1, 34)]
# tracestate headers sent with a valid traceparent, and the members the
# backend must get (None: the header dropped)
TRACESTATES = [
    (["foo=1,bar=2"], "foo=1,bar=2"),
    ([""], None),
    (["foo=1", ""], "foo=1"),
    (["", "foo=1"], "foo=1"),
    (["foo=1,bar=2", "rojo=1,congo=2", "baz=3"], "foo=1,bar=2,rojo=1,congo=2,baz=3"),
    (["foo=1,foo=1"], "foo=1,foo=1"),
    (["foo=1", "foo=2"], "foo=1,foo=2"),
    (["foo=1 \t , \t bar=2, \t baz=3"], "foo=1,bar=2,baz=3"),
    (["foo=1\t \t,\t \tbar=2,\t \tbaz=3"], "foo=1,bar=2,baz=3"),
    ([" foo=1"], "foo=1"), (["\tfoo=1"], "foo=1"), (["foo=1 "], "foo=1"),
    (["\t foo=1 \t"], "foo=1"),
    (["foo =1"], None), (["FOO=1"], None), (["foo.bar=1"], None),
    (["foo@=1,bar=2"], "foo@=1,bar=2"), (["@foo=1,bar=2"], None),
    (["foo@@bar=1,bar=2"], "foo@@bar=1,bar=2"), (["foo@bar@baz=1,bar=2"], "foo@bar@baz=1,bar=2"),
    ([",".join(BARS[:10]), ",".join(BARS[10:20]), ",".join(BARS[20:30]), ",".join(BARS[30:32])],
     ",".join(BARS[:32])),
    ([",".join(BARS[:10]), ",".join(BARS[10:20]), ",".join(BARS[20:30]), ",".join(BARS[30:33])],
     None),
    (["foo=1", "z" * 256 + "=1"], "foo=1," + "z" * 256 + "=1"),
    (["foo=1", "z" * 257 + "=1"], None),
    (["foo=1", "t" * 241 + "@" + "v" * 14 + "=1"], "foo=1," + "t" * 241 + "@" + "v" * 14 + "=1"),
    (["foo=bar=baz"], None),
    (["foo=,bar=3"], None),
    # past 512 characters: the member over 128 goes, then the last ones
    (["a=1,big=%s,big2=%s,%s" % ("v" * 150, "w" * 150, ",".join(BARS[:29]))],
     "a=1,big2=%s,%s" % ("w" * 150, ",".join(BARS[:29]))),
    (["k%d=%s" % (i, chr(97 + i) * 100) for i in range(6)],
     ",".join("k%d=%s" % (i, chr(97 + i) * 100) for i in range(4))),
]


class TraceTest(BackendTestCase):
    CONF = CONF

    def send(self, headers, path="/be/x", host="localhost", method="GET", pause=0.0,
             body=b""):
        """A raw request (repeated and odd headers go as they are); the
        response, and the headers the backend got (None if it got none)."""
        before = len(self.backend.requests)
        head = "%s %s HTTP/1.1\r\n" % (method, path)
        rest = "Host: %s\r\nConnection: close\r\n" % host
        rest += "".join("%s: %s\r\n" % (k, v) for k, v in headers)
        if body:
            rest += "Content-Length: %d\r\n" % len(body)
        with socket.create_connection((self.httpd.host, self.httpd.port), timeout=10) as s:
            s.sendall(head.encode("latin-1"))
            if pause:
                time.sleep(pause)
            s.sendall(rest.encode("latin-1") + b"\r\n" + body)
            r = parse_raw(read_to_close(s))
        got = self.backend.requests[before:]
        return r, (got[-1]["headers"] if got else None)

    @staticmethod
    def all_of(headers, name):
        return [v for k, v in headers if k.lower() == name]

    def forwarded(self, headers):
        tps = self.all_of(headers, "traceparent")
        self.assertEqual(len(tps), 1, headers)
        m = TRACEPARENT.match(tps[0])
        self.assertIsNotNone(m, tps[0])
        return m.groups()

    def test_continued(self):
        for case in CONTINUED:
            r, got = self.send(case)
            self.assertEqual(r.status, 200, case)
            trace, parent, flags = self.forwarded(got)
            self.assertEqual(trace, TID, case)
            self.assertNotEqual(parent, PID, case)
            self.assertEqual(flags, "01", case)

    def test_restarted(self):
        seen = set()
        for case in RESTARTED:
            r, got = self.send(case + [("tracestate", "foo=1")])
            self.assertEqual(r.status, 200, case)
            trace, parent, flags = self.forwarded(got)
            self.assertNotIn(trace, (TID, "12345678901234567890123456789011"), case)
            self.assertNotEqual(trace, "0" * 32)
            self.assertEqual(flags, "01", case)          # GoapiTraceSampled On
            # a new trace has no state to carry
            self.assertEqual(self.all_of(got, "tracestate"), [], case)
            seen.add(trace)
        self.assertEqual(len(seen), len(RESTARTED))      # a new trace each time

    def test_missing(self):
        r, got = self.send([])
        self.forwarded(got)
        r, got = self.send([("tracestate", "foo=1,bar=2")])
        self.forwarded(got)
        self.assertEqual(self.all_of(got, "tracestate"), [])

    def test_tracestate(self):
        for sent, want in TRACESTATES:
            r, got = self.send([TP] + [("tracestate", v) for v in sent])
            self.assertEqual(r.status, 200)
            self.assertEqual(self.forwarded(got)[0], TID)
            states = self.all_of(got, "tracestate")
            self.assertEqual(states, [want] if want is not None else [], sent)
            if want:
                self.assertLessEqual(len(want), 512)

    def test_flags_kept(self):
        for flags in ("00", "01", "02", "03", "ff"):
            r, got = self.send([("traceparent", "00-%s-%s-%s" % (TID, PID, flags))])
            self.assertEqual(self.forwarded(got)[2], flags)

    def test_env_and_access_log(self):
        r, got = self.send([("traceparent", "00-%s-%s-01" % (TID, PID))], path="/be/env-1")
        trace, span, flags = self.forwarded(got)
        self.httpd.access_lines()
        lines = [l for l in Httpd.read(self.httpd.path("logs/trace.log")).splitlines()
                 if l.endswith(" /be/env-1")]
        self.assertEqual(lines, ["%s %s %s 01 /be/env-1" % (TID, span, PID)])
        self.assertTrue(any("trace_id=%s" % TID in l for l in self.httpd.access_lines()))
        # a new trace has no parent
        r, got = self.send([], path="/be/env-2")
        trace, span, flags = self.forwarded(got)
        self.httpd.access_lines()
        lines = [l for l in Httpd.read(self.httpd.path("logs/trace.log")).splitlines()
                 if l.endswith(" /be/env-2")]
        self.assertEqual(lines, ["%s %s - 01 /be/env-2" % (trace, span)])

    def test_error_answers_carry_it(self):
        # refused before any handler: the log line has the trace all the same
        r, _ = self.send([("traceparent", "00-%s-%s-01" % (TID, PID)),
                          ("X-Big", "x" * 3000)], path="/be/too-big")
        self.assertEqual(r.status, 431)
        self.assertTrue(any("trace_id=%s" % TID in l and "/be/too-big" in l
                            for l in self.httpd.access_lines()))

    def test_off_leaves_headers_untouched(self):
        for sent in ([("traceparent", "00-%s-%s-01" % (TID, PID)), ("tracestate", "a=1")],
                     [("traceparent", "garbage"), ("tracestate", "@bad")], []):
            r, got = self.send(sent, path="/be/off/x")
            self.assertEqual(r.status, 200)
            self.assertEqual(self.all_of(got, "traceparent"),
                             [v for k, v in sent if k == "traceparent"])
            self.assertEqual(self.all_of(got, "tracestate"),
                             [v for k, v in sent if k == "tracestate"])
        self.httpd.access_lines()
        lines = [l for l in Httpd.read(self.httpd.path("logs/trace.log")).splitlines()
                 if l.endswith(" /be/off/x")]
        self.assertEqual(set(lines), {"- - - - /be/off/x"})

    def test_untrusted_edge(self):
        # GoapiTrustIncomingTrace Off: always a new trace, unsampled here
        # (GoapiTraceSampled Off), and a traceresponse naming our span
        r, got = self.send([("traceparent", "00-%s-%s-01" % (TID, PID)),
                            ("tracestate", "foo=1")], host="edge.example")
        trace, span, flags = self.forwarded(got)
        self.assertNotEqual(trace, TID)
        self.assertEqual(flags, "00")
        self.assertEqual(self.all_of(got, "tracestate"), [])
        self.assertEqual(r.header("traceresponse"), "00-%s-%s-00" % (trace, span))
        # not asked for on the main host
        r, _ = self.send([])
        self.assertIsNone(r.header("traceresponse"))

    # -- the time left ----------------------------------------------------------
    def budget(self, got, name="x-request-timeout-ms"):
        values = self.all_of(got, name)
        self.assertEqual(len(values), 1, got)
        return int(values[0])

    def test_budget_forwarded(self):
        # GoapiWriteTimeout 2s, counted from the end of the headers
        r, got = self.send([])
        self.assertTrue(1985 <= self.budget(got) <= 2000, self.budget(got))
        # a client that is not trusted cannot set it
        r, got = self.send([("X-Request-Timeout-Ms", "500")])
        self.assertTrue(1985 <= self.budget(got) <= 2000, self.budget(got))

    def test_trusted_client_only_shortens(self):
        # its deadline counts from its request line: 300 ms later, 700 left
        r, got = self.send([("X-Request-Timeout-Ms", "1000")], host="edge.example",
                           pause=0.3)
        self.assertTrue(690 - 10 <= self.budget(got) <= 700, self.budget(got))
        r, got = self.send([("X-Request-Timeout-Ms", "999999")], host="edge.example")
        self.assertTrue(1985 <= self.budget(got) <= 2000, self.budget(got))
        r, got = self.send([("X-Request-Timeout-Ms", "soon")], host="edge.example")
        self.assertTrue(1985 <= self.budget(got) <= 2000, self.budget(got))

    def test_spent_gets_504_and_nothing_runs(self):
        self.allowed_errors.append(r"GOAPI00070")
        before = len(self.backend.requests)
        key = "budget-key-%d" % time.monotonic_ns()
        r, got = self.send([("X-Request-Timeout-Ms", "200"), ("Idempotency-Key", key)],
                           host="edge.example", method="POST", path="/be/idem/create",
                           pause=0.3, body=b"{}")
        self.assertEqual(r.status, 504)
        self.assertIsNone(got)
        self.assertEqual(len(self.backend.requests), before)
        # the key was never claimed: the retry runs, once; the next replays
        r, got = self.send([("Idempotency-Key", key)], host="edge.example", method="POST",
                           path="/be/idem/create", body=b"{}")
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("Idempotent-Replayed"))
        self.assertEqual(len(self.backend.requests), before + 1)
        r, got = self.send([("Idempotency-Key", key)], host="edge.example", method="POST",
                           path="/be/idem/create", body=b"{}")
        self.assertEqual((r.status, r.header("Idempotent-Replayed")), (200, "true"))
        self.assertEqual(len(self.backend.requests), before + 1)

    def test_deadline_header_off(self):
        r, got = self.send([("X-Request-Timeout-Ms", "5")], host="quiet.example")
        self.assertEqual(r.status, 200)
        self.assertEqual(self.all_of(got, "x-request-timeout-ms"), ["5"])


class TracePreforkTest(TraceTest):
    MPM = "prefork"


class TraceOffServerTest(BackendTestCase):
    """GoapiTraceContext Off for the server, On for one location."""
    CONF = """
GoapiTraceContext Off
ProxyPass "/be/" "http://127.0.0.1:@BACKEND@/"
<Location "/be/on/">
    GoapiTraceContext On
</Location>
"""

    def test_location_on(self):
        tp = "00-%s-%s-01" % (TID, PID)
        self.httpd.request("GET", "/be/x", headers={"traceparent": tp})
        got = self.backend.requests[-1]["headers"]
        self.assertEqual([v for k, v in got if k.lower() == "traceparent"], [tp])
        self.httpd.request("GET", "/be/on/x", headers={"traceparent": tp})
        got = self.backend.requests[-1]["headers"]
        fwd = [v for k, v in got if k.lower() == "traceparent"]
        self.assertEqual(len(fwd), 1)
        m = TRACEPARENT.match(fwd[0])
        self.assertEqual(m.group(1), TID)
        self.assertNotEqual(m.group(2), PID)
