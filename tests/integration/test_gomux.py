# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Routes side by side with a real Go 1.22 ServeMux (gomux/main.go, the
design's patterns): the same raw request bytes go to both servers over
sockets, and every pair of answers is either equal or one of the
documented differences of docs/routes.md, whose table (and the README's
short one) this test reads.
GOAPI_GOMUX_SHOW=1 prints every case that is not equal."""

import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import unittest
import urllib.parse

from harness import TOP, HttpdTestCase, parse_raw, raw_exchange

GO = os.environ.get("GOAPI_GO", "/usr/lib/go-1.22/bin/go")
GOMUX_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gomux")
ROUTES_DOC = os.path.join(TOP, "docs", "routes.md")
SHOW = os.environ.get("GOAPI_GOMUX_SHOW") == "1"

# -- the cases ----------------------------------------------------------------

ALL_METHODS = (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH")
SOME_METHODS = (b"GET", b"HEAD", b"POST")

# Paths every method is sent to: the patterns, their neighbours, and the
# routes only mod_goapi has.
PLAIN = (
    b"/", b"/healthz", b"/readyz", b"/startupz", b"/parcels/p-1",
    b"/parcels/p-1/dispatch", b"/parcels", b"/parcels/", b"/parcels/p-1/",
    b"/parcels/p-1/dispatch/", b"/parcels/a/b", b"/healthz/", b"/HEALTHZ",
    b"/nope", b"/metrics", b"/readyz/store", b"/livez", b"/livez/ping",
)

ESCAPES = (
    b"/%68ealthz", b"/%68%65%61%6c%74%68%7a", b"/%68%65%61%6C%74%68%7A",
    b"/%72eadyz", b"/startup%7a", b"/%70arcels/p-1", b"/parcels/p%2D1",
    b"/parcels/p%2d1", b"/parcels/a/%64ispatch", b"/%70arcels/a/dispatc%68",
    b"/healthz%2F", b"/healthz%2f", b"/%2Fhealthz", b"/parcels%2Fp-1",
    b"/parcels/p%2F1", b"/parcels/%2F", b"/parcels/%2F/dispatch",
    b"/parcels/p-1%2Fdispatch", b"/%2F", b"/parcels/%20", b"/parcels/a%20b",
    b"/parcels/a+b", b"/parcels/%2B", b"/parcels/%25", b"/parcels/%2525",
    b"/parcels/%00", b"/parcels/%zz", b"/parcels/%4", b"/parcels/%",
    b"/parcels/%C3%A9", b"/parcels/%c3%a9", b"/parcels/%E2%82%AC",
    b"/parcels/%C0%AF", b"/parcels/%ED%A0%80", b"/parcels/%FF",
    b"/parcels/%7F", b"/parcels/%0A", b"/parcels/%09", b"/parcels/%2e",
    b"/parcels/%2E%2E", b"/parcels/%2e%2e/dispatch", b"/%2e/healthz",
    b"/x/%2e%2e/healthz", b"/parcels/%3F", b"/parcels/%23", b"/parcels/%3B",
    b"/parcels/;x", b"/parcels/a;b", b"/parcels/~a", b"/parcels/!$&'()*,=:@",
    b"/healthz%3F", b"/healthz%20",
)

DOTS = (
    b"/./healthz", b"/healthz/.", b"/healthz/..", b"/x/../healthz",
    b"/x/y/../../healthz", b"/parcels/p-1/../p-2", b"/parcels/./p-1",
    b"/parcels/p-1/./dispatch", b"/parcels/p-1/dispatch/..", b"/parcels/..",
    b"/parcels/.", b"/parcels/...", b"/parcels/.x", b"/parcels/x.",
    b"/../healthz", b"/..", b"/.", b"/parcels/p-1/..", b"/parcels/p-1/../../healthz",
    b"/healthz/./", b"/healthz/../readyz/",
)

EMPTY = (
    b"//healthz", b"/healthz//", b"//", b"///", b"/parcels//p-1",
    b"/parcels/p-1//dispatch", b"//parcels/p-1", b"/parcels//", b"////healthz",
    b"/parcels/p-1/dispatch//",
)

UNICODE = (
    b"/parcels/caf\xc3\xa9", b"/parcels/\xe2\x82\xac", b"//parcels/caf\xc3\xa9",
    b"/h\xc3\xa9althz", b"/parcels/\xff", b"/parcels/\xc0\xaf",
    b"/parcels/caf\xc3\xa9/dispatch", b"/parcels/./caf\xc3\xa9",
)

LONG = (
    b"/parcels/" + b"p" * 128, b"/parcels/" + b"p" * 129,
    b"/parcels/" + b"%41" * 128, b"/parcels/" + b"%41" * 129,
    b"/parcels/" + b"\xc3\xa9" * 64, b"/parcels/" + b"\xc3\xa9" * 65,
    b"/parcels/" + b"p" * 1000, b"/parcels/" + b"p" * 128 + b"/dispatch",
    b"/" + b"a" * 4000, b"//" + b"a" * 300,
)

ABSOLUTE = (
    b"http://localhost/healthz", b"http://localhost", b"http://localhost?x=1",
    b"http://localhost/", b"http://localhost/parcels/p-1?x=1",
    b"http://localhost//healthz", b"http://localhost/%68ealthz",
    b"HTTP://LOCALHOST/healthz", b"http://localhost:80/healthz",
    b"http://localhost/parcels/p-1/dispatch", b"http://u@localhost/healthz",
    b"http://localhost/healthz#f",
)

QUERIES = (
    b"/healthz?x=1", b"/healthz?", b"/healthz??", b"/?x=1", b"/parcels/p-1?a=b&c",
    b"/parcels/p-1?%zz", b"/parcels/p-1?x=%20y", b"//healthz?x=1",
    b"//healthz?", b"/x/../healthz?a=%41", b"//parcels/p-1?a=caf\xc3\xa9",
    b"/parcels/p-1/dispatch?x=1", b"?x=1", b"?", b"/healthz#frag",
    b"/healthz?x#frag", b"/healthz?x=1;y=2", b"*",
)


# The design's paths, each rewritten in the ways a client or proxy may
# write it: every letter of a fixed part escaped in turn, and each of the
# path's slashes doubled, followed by "/./" or by "/x/../", or (but the
# first) escaped; a trailing "/", "/.", "/.." and a query.
DESIGN = (b"/healthz", b"/readyz", b"/startupz", b"/parcels/p-1", b"/parcels/p-1/dispatch")


def variants(path):
    out = []
    for i, c in enumerate(path):
        if 0x61 <= c <= 0x7a:
            out.append(path[:i] + b"%%%02X" % c + path[i + 1:])
    slashes = [i for i, c in enumerate(path) if c == 0x2f]
    for i in slashes:
        for insert in (b"//", b"/./", b"/x/../") + ((b"%2F",) if i else ()):
            out.append(path[:i] + insert + path[i + 1:])
    out += [path + b"/", path + b"/.", path + b"/..", path + b"?a=1&b=%2F"]
    return out


def cases():
    """(method, request target) pairs, in a fixed order."""
    out = []
    for path in DESIGN:
        out += [(m, v) for v in variants(path) for m in (b"GET", b"POST")]
    for target in PLAIN:
        out += [(m, target) for m in ALL_METHODS]
    for group in (ESCAPES, DOTS, EMPTY, UNICODE, LONG, ABSOLUTE, QUERIES):
        for target in group:
            out += [(m, target) for m in SOME_METHODS]
    # OPTIONS too: only "OPTIONS *" is server-wide, a target without a
    # path is refused as for any other method
    out += [(b"OPTIONS", t) for t in QUERIES]
    out += [(m, t) for m in (b"OPTIONS", b"GET") for t in (b"*",)]
    out += [(b"CONNECT", b"localhost:80"), (b"TRACE", b"/healthz"),
            (b"get", b"/healthz"), (b"G\xc3\xa9T", b"/healthz"),
            (b"MKCOL", b"/healthz"), (b"PROPFIND", b"/parcels/p-1")]
    seen, unique = set(), []
    for c in out:
        if c not in seen:
            seen.add(c)
            unique.append(c)
    return unique


def request_bytes(i, method, target):
    head = [method + b" " + target + b" HTTP/1.1", b"Host: localhost", b"Connection: close"]
    if method in (b"POST", b"PUT", b"PATCH"):
        head.append(b"Content-Length: 0")
    if method == b"POST":
        head.append(b"Idempotency-Key: gomux-%d" % i)
    return b"\r\n".join(head) + b"\r\n\r\n"


# -- comparing answers ---------------------------------------------------------

class Answer:
    """What the comparison looks at: status, Location, Allow, and the type
    and body of an answer that is not a redirect."""

    def __init__(self, raw):
        self.raw = raw
        if not raw:
            self.status, self.location, self.allow, self.ctype, self.body = (
                None, None, None, None, b"")
            return
        r = parse_raw(raw)
        self.status = r.status
        self.location = r.header("Location")
        self.allow = r.header("Allow")
        self.ctype = r.header("Content-Type")
        self.body = r.body
        if r.status == 201 and self.location:
            # the new dispatch's number differs; each server escapes the ID
            # as its URL library does
            self.location = urllib.parse.unquote(re.sub(r"/\d+$", "/<n>", self.location))
            self.body = re.sub(rb"^dispatch \d+ ", b"dispatch <n> ", self.body)
        if 300 <= r.status < 400:
            self.ctype, self.body = None, b""

    def key(self):
        return (self.status, self.location, self.allow, self.ctype, self.body)

    def __repr__(self):
        return "%s Location=%r Allow=%r type=%r body=%r" % (
            self.status, self.location, self.allow, self.ctype, self.body[:120])


def docs_differences(path=ROUTES_DOC, heading="## Differences from Go 1.22"):
    """The rows of a table of differences: {id: text}."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    section = text.split(heading, 1)
    rows = {}
    if len(section) == 2:
        for line in section[1].split("\n## ", 1)[0].splitlines():
            m = re.match(r"\|\s*(D\d+)\s*\|", line)
            if m:
                rows[m.group(1)] = line
    return rows


# Each documented difference: an id (its row in docs/routes.md) and a test
# on (method, target, Go's answer, mod_goapi's answer) that names both
# answers, so that any other change in either is unexplained.

HTTPD_PAGE = "text/html; charset=iso-8859-1"
NOT_FOUND = b"404 page not found\n"


def path_of(target):
    """The path of a request target (origin or absolute form), no query."""
    m = re.match(rb"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*", target)
    if m:
        target = target[m.end():]
    return re.split(rb"[?#]", target, maxsplit=1)[0]


def is_text(ans, method, status, body):
    return (ans.status == status and ans.ctype == "text/plain; charset=utf-8"
            and ans.body == (b"" if method == b"HEAD" else body))


def is_httpd_page(ans, status):
    return ans.status == status and ans.ctype == HTTPD_PAGE


def is_root(ans, method):
    """The answer to the / route: 200, or 405 for a method it lacks."""
    if method in (b"GET", b"HEAD"):
        return is_text(ans, method, 200, b"parcel service is reachable\n")
    return is_text(ans, method, 405, b"Method Not Allowed\n") and ans.allow == "GET, HEAD"


def own_routes(method, target, go, ap):
    return (path_of(target) in (b"/metrics", b"/readyz/store", b"/livez/ping")
            and is_text(go, method, 404, NOT_FOUND)
            and (ap.status == 200 and method in (b"GET", b"HEAD")
                 or is_text(ap, method, 405, b"Method Not Allowed\n")
                 and ap.allow == "GET, HEAD"))


def escaped_slash_segment(method, target, go, ap):
    path = path_of(target)
    if not re.search(rb"/%2[Ff](?=/|$)", path):
        return False
    if path in (b"/%2F", b"/%2f"):
        # Go: the root; mod_goapi: a segment that no pattern has
        return is_root(go, method) and is_text(ap, method, 404, NOT_FOUND)
    # Go: a trailing slash, which no pattern has; mod_goapi: a parcel ID
    # of "/" refused, or the route's 405
    return is_text(go, method, 404, NOT_FOUND) and (
        is_text(ap, method, 400, b"invalid parcelID: must not contain '/'\n")
        or is_text(ap, method, 405, b"Method Not Allowed\n"))


def encoded_nul(method, target, go, ap):
    return b"%00" in target and is_httpd_page(ap, 404) and go.status in (400, 405)


def refused_before_routing(method, target, go, ap):
    """Both refuse the request line with 400, each in its own words."""
    return (go.status == 400 and go.body in (b"400 Bad Request", b"")
            and (is_httpd_page(ap, 400)
                 or is_text(ap, method, 400,
                            b"400 Bad Request: the request target has no path\n")))


def above_root(method, target, go, ap):
    depth = 0
    for seg in path_of(target).split(b"/")[1:]:
        depth = depth - 1 if seg == b".." else depth + (seg not in (b"", b"."))
        if depth < 0:
            break
    return (depth < 0 and is_httpd_page(ap, 400) and go.status == 301
            and not go.location.startswith("/.."))


def fragment_or_userinfo(method, target, go, ap):
    userinfo = re.match(rb"^[A-Za-z]+://[^/?#]*@", target)
    return (b"#" in target or userinfo) and is_httpd_page(ap, 400) and go.status != 400


def redirect_non_ascii(method, target, go, ap):
    if not re.search(rb"[\x80-\xff]", target) or not (go.status == ap.status == 301):
        return False
    path, q, query = go.location.partition("?")
    # Go escapes the '%' of the path's escapes again, and writes the
    # query's in lower case
    go_fixed = path.replace("%25", "%") + q + re.sub(
        r"%[0-9a-f]{2}", lambda m: m.group(0).upper(), query)
    return go_fixed == ap.location and go.location != ap.location


def absolute_empty_path(method, target, go, ap):
    m = re.match(rb"^[A-Za-z]+://[^/?#]*(\?.*)?$", target)
    query = (m.group(1) or b"").decode("latin-1") if m else ""
    return (m is not None and go.status == 301 and go.location == "/" + query
            and is_root(ap, method))


DIFFERENCES = (
    ("D1", own_routes),
    ("D2", escaped_slash_segment),
    ("D3", encoded_nul),
    ("D4", refused_before_routing),
    ("D5", above_root),
    ("D6", fragment_or_userinfo),
    ("D7", redirect_non_ascii),
    ("D8", absolute_empty_path),
)


def explain(method, target, go, ap):
    for ident, matches in DIFFERENCES:
        if matches(method, target, go, ap):
            return ident
    return None


# -- the Go server ---------------------------------------------------------------

class GoMux:
    """gomux/main.go built with Go 1.22 and started on a free loopback port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="goapi-gomux-")
        self.proc = None
        self.addr = None

    def build(self):
        env = dict(os.environ, GOPROXY="off", GOFLAGS="-mod=mod", GOTOOLCHAIN="local",
                   GOCACHE=os.environ.get("GOCACHE") or os.path.join(TOP, "build", "gocache"),
                   GOPATH=os.path.join(self.dir, "gopath"), CGO_ENABLED="0")
        exe = os.path.join(self.dir, "gomux")
        out = subprocess.run([GO, "build", "-trimpath", "-o", exe, "."], cwd=GOMUX_SRC,
                             env=env, capture_output=True, text=True, timeout=300,
                             stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise AssertionError("building gomux failed:\n" + out.stdout + out.stderr)
        return exe

    def start(self, timeout=10):
        exe = self.build()
        self.proc = subprocess.Popen([exe, "127.0.0.1:0"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().decode() if ready else ""
        m = re.match(r"listening 127\.0\.0\.1:(\d+)", line)
        if not m:
            self.stop()
            raise AssertionError("gomux did not start: %r" % line)
        self.addr = ("127.0.0.1", int(m.group(1)))

    def stop(self):
        if self.proc:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
            self.proc.stdout.close()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def go_version():
    try:
        out = subprocess.run([GO, "version"], capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL)
    except OSError:
        return None
    m = re.search(r"\bgo(1\.22(?:\.\d+)?)\b", out.stdout)
    return m.group(1) if m else None


class GoMuxDifferentialTest(HttpdTestCase):
    CONF = """
AllowEncodedSlashes NoDecode
TraceEnable On
GoapiIdempotency On
<Location "/">
    SetHandler goapi
</Location>
"""

    @classmethod
    def before_start(cls):
        cls.go = None
        version = go_version()
        if not version:
            raise unittest.SkipTest(
                "no Go 1.22 at %s: Debian's golang-1.22-go (bookworm-backports) is what "
                "the differential routes test runs; scripts/deps.sh --backports "
                "golang-1.22-go installs it" % GO)
        cls.go = GoMux()
        try:
            cls.go.start()
        except Exception:
            cls.go.stop()
            raise

    @classmethod
    def after_stop(cls):
        if cls.go:
            cls.go.stop()

    def test_same_answers_as_go(self):
        # httpd's core logs the targets it refuses before any handler
        self.allowed_errors.append(r"AH10244: invalid URI path")
        all_cases = cases()
        self.assertGreaterEqual(len(all_cases), 300)
        counts = {}
        unexplained = []
        for i, (method, target) in enumerate(all_cases):
            data = request_bytes(i, method, target)
            go = Answer(raw_exchange(self.go.addr, data, 5))
            ap = Answer(self.httpd.raw(data, 5))
            if go.key() == ap.key():
                ident = "equal"
            else:
                ident = explain(method, target, go, ap)
                if SHOW or not ident:
                    print("%-6s %-50r\n    go:      %r\n    mod_goapi: %r  [%s]" % (
                        method.decode("latin-1"), target[:60], go, ap, ident))
            if not ident:
                unexplained.append((method, target, go, ap))
                ident = "unexplained"
            counts[ident] = counts.get(ident, 0) + 1
        documented = sum(n for k, n in counts.items() if k.startswith("D"))
        print("gomux: %d cases, %d equal, %d documented (%s), %d unexplained" % (
            len(all_cases), counts.get("equal", 0), documented,
            ", ".join("%s %d" % (k, counts[k]) for k in sorted(counts) if k.startswith("D")),
            len(unexplained)))
        self.assertEqual(unexplained, [])
        # the table and the test agree, and every row is seen
        rows = docs_differences()
        self.assertEqual(sorted(rows), sorted(ident for ident, _ in DIFFERENCES))
        readme = docs_differences(os.path.join(TOP, "README.md"),
                                  "## Routes as Go 1.22 answers them")
        self.assertEqual(sorted(readme), sorted(rows))
        for ident, _ in DIFFERENCES:
            self.assertIn(ident, counts, "documented difference %s never seen" % ident)


if __name__ == "__main__":
    unittest.main()
