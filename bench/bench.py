#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""make bench: mod_goapi's cost, measured against peers in the same run.

Servers on free loopback ports, every one writing one access-log line per
request:
  base    httpd without mod_goapi, the same binary, modules and MPM
          settings as goapi: bench/mod_goapi_benchok.so answers "ok\\n"
          from the handler phase (as mod_goapi's /healthz does), and a
          3-byte file;
  goapi   the configuration mod_goapi ships (conf/goapi.conf and the MPM
          settings of conf/mpm.conf, as "make run" and the image use them):
          the seed's deadlines, generated IDs, idempotent dispatches;
  nodl    the same without any deadline;
  go      bench/goserver: a Go net/http server written the way the design
          describes (routes, ID middleware, one log line per request, the
          same timeouts), built with Debian's Go toolchain;
  stock   stock Apache doing the nearest thing without mod_goapi: a static
          probe file, mod_unique_id for the ID, mod_headers to set and echo
          it, mod_reqtimeout for the read deadlines;
  redis   mod_goapi with its ledger on a local Redis (with and without the
          replay cache, and with GoapiIdempotencyStoreReplicas 1 against a
          local replica: each claim and completion waits for its WAIT);
  pg      mod_goapi with its ledger on a local PostgreSQL through mod_dbd
          (GoapiIdempotencyStore dbd; fsync and synchronous_commit on, no
          standby), with and without the replay cache.
wrk runs every scenario once per round, rounds interleaved (A, B, C, ..., A,
B, C, ...) so that machine noise hits every side alike; a warm-up round is
discarded; medians of the rounds are compared.  Then: RSS of each child
before and after 1 M requests, the memory a connection sending a header
line a byte per write makes each server hold, and instructions per request
under callgrind.
The table goes to stdout and build/bench.txt.  Nothing here asserts a time.
"""

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import http.client

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from harness import (HTTPD, MODULES_DIR, PgServer, RedisServer, free_port,  # noqa: E402
                     wait_for_port)

BUILD = os.path.join(TOP, "build")
MODULE = os.environ.get("GOAPI_MODULE") or os.path.join(BUILD, "mod_goapi.so")
BENCHOK = os.path.join(BUILD, "bench", "mod_goapi_benchok.so")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "3"))
CONNECTIONS = 32
# The servers and wrk get CPUs of their own (the first half for the
# servers), so that the client does not take its time from the server it
# measures: requests/s is then the server's own cost per request.
CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPUS = set(CPUS[:max(1, len(CPUS) // 2)])
CLIENT_CPUS = set(CPUS[len(SERVER_CPUS):]) or set(CPUS)
THREADS = max(1, min(2, len(CLIENT_CPUS)))
RSS_REQUESTS = int(os.environ.get("BENCH_RSS_REQUESTS", "1000000"))
SCRAPES = 200
# BENCH_ONLY=rounds: the rounds alone (no idle, memory or callgrind runs)
ONLY_ROUNDS = os.environ.get("BENCH_ONLY") == "rounds"
# BENCH_ONLY=perkey: GET /parcels/{id} with a per-key limit never reached
# against no limit, alone (pairs_only): rounds, then instructions per request
ONLY_PERKEY = os.environ.get("BENCH_ONLY") == "perkey"
# BENCH_ONLY=metrics: /healthz with metrics on against GoapiMetrics Off,
# as shipped (an exemplar written) and counted only, alone
ONLY_METRICS = os.environ.get("BENCH_ONLY") == "metrics"
# BENCH_ONLY=budgets: every pair with a budget of a few percent, alone
ONLY_BUDGETS = os.environ.get("BENCH_ONLY") == "budgets"
REDIS_N1 = "Redis, Replicas 1: first exec."
PG_FIRST = "PostgreSQL: POST, first exec."
RSS_SECONDS_MAX = 150                   # the memory run stops here in any case
TRICKLERS = 32                          # connections sending a header line slowly
TRICKLE_LINE = 4000                     # its bytes, one per write
CALLGRIND_REQUESTS = 2000
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The access line of the httpds that do not use mod_goapi's shipped "goapi"
# format: the same fields (IDs where the server has them).
ACCESS_FORMAT = ("request_id=%{X-Request-ID}i correlation_id=%{X-Correlation-ID}i "
                 "path=%U method=%m status=%>s bytes=%B duration_ms=%{ms}T client=%a"
                 ).replace('"', '\\"')

# The MPM and its settings that mod_goapi ships (conf/mpm.conf, used by
# "make run" and the image): every httpd of the benchmark runs with them.
with open(os.path.join(TOP, "conf", "mpm.conf")) as _f:
    MPM = _f.read()
with open(os.path.join(TOP, "conf", "run.conf")) as _f:
    SHIPPED_MPM = re.search(r"^LoadModule\s+mpm_(\w+)_module", _f.read(), re.M).group(1)
GOSERVER = os.path.join(BUILD, "bench", "goserver")
IDLE_CONNECTIONS = 2000

# The request phases whose hooks mod_goapi.c registers; with mod_goapi's
# filters, the functions a request or its connection passes.  Their
# inclusive instruction counts add up to its cost (a filter called while a
# hook runs would be counted twice; on /healthz none is).
REQUEST_PHASES = ("pre_connection", "process_connection", "pre_read_request",
                  "post_read_request", "quick_handler", "translate_name",
                  "map_to_storage", "fixups", "insert_filter", "insert_error_filter",
                  "handler", "generate_log_id", "log_transaction")
FILTERS = ("goapi_read_filter", "goapi_ids_out_filter", "goapi_write_disarm")


def request_hooks():
    """mod_goapi's functions on a request's path, read from mod_goapi.c, so
    that a hook added there is counted."""
    with open(os.path.join(TOP, "mod_goapi.c")) as f:
        found = re.findall(r"ap_hook_(\w+)\(\s*(goapi_\w+)", f.read())
    return tuple(fn for phase, fn in found if phase in REQUEST_PHASES) + FILTERS


HOOKS = request_hooks()


class Process:
    """A server process of the benchmark, stopped by its pid (its process
    group if it does not stop), and its temp directory."""
    STOP_SECONDS = 60

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(self.STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None

    def children(self):
        """Its child processes (none of its own)."""
        return []

    def cpu_split(self):
        """User and system CPU time of the server's processes, in clock
        ticks: the time they ran, whatever else the machine did."""
        user = system = 0
        for pid in [self.proc.pid] + self.children():
            try:
                with open("/proc/%d/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                user += int(fields[11])
                system += int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
        return user, system

    def cpu_ticks(self):
        return sum(self.cpu_split())

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Server(Process):
    def __init__(self, name, body, goapi=True, extra_modules=(), mpm=None):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="goapi-bench-")
        os.chmod(self.dir, 0o755)
        for sub in ("conf", "logs", "run", "htdocs"):
            os.makedirs(os.path.join(self.dir, sub), mode=0o755)
        for fname in ("ok.txt", "healthz"):
            with open(os.path.join(self.dir, "htdocs", fname), "w") as f:
                f.write("ok\n")
            os.chmod(os.path.join(self.dir, "htdocs", fname), 0o644)
        self.port = free_port()
        mpm = mpm or SHIPPED_MPM
        lines = ["ServerRoot %s" % self.dir,
                 "LoadModule mpm_%s_module %s/mod_mpm_%s.so" % (mpm, MODULES_DIR, mpm),
                 "DefaultRuntimeDir %s/run" % self.dir,
                 "PidFile %s/run/httpd.pid" % self.dir,
                 "LoadModule authz_core_module %s/mod_authz_core.so" % MODULES_DIR,
                 # conf/goapi.conf's "Require local" over /metrics
                 "LoadModule authz_host_module %s/mod_authz_host.so" % MODULES_DIR]
        for m in extra_modules:
            lines.append("LoadModule %s" % m)
        if goapi:
            lines.append("LoadModule goapi_module %s" % MODULE)
        lines += ["ServerName localhost", "Listen 127.0.0.1:%d" % self.port,
                  "DocumentRoot %s/htdocs" % self.dir, "ErrorLog %s/logs/error.log" % self.dir,
                  "LogLevel warn", "Timeout 10",
                  # one access-log line per request on every side
                  'LogFormat "%s" benchlog' % ACCESS_FORMAT,
                  "CustomLog %s/logs/access.log %s"
                  % (self.dir, "goapi" if "goapi.conf" in body else "benchlog")]
        if os.geteuid() == 0:
            lines += ["User www-data", "Group www-data"]
        self.conf = os.path.join(self.dir, "conf", "httpd.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n" + MPM + body.replace("@DIR@", self.dir) + "\n")
        os.chmod(self.conf, 0o644)
        self.proc = None

    def start(self, wrapper=()):
        self.proc = subprocess.Popen(list(wrapper) + [HTTPD, "-f", self.conf, "-DFOREGROUND"]
                                     + (["-X"] if wrapper else []),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                     start_new_session=True,
                                     preexec_fn=lambda: os.sched_setaffinity(0, SERVER_CPUS))
        if not wait_for_port("127.0.0.1", self.port, time.monotonic() + 60, self.proc):
            raise RuntimeError("%s did not start:\n%s" % (self.name, self.log()))

    def children(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return sorted(int(p) for p in out.split())

    def log(self):
        try:
            with open(os.path.join(self.dir, "logs", "error.log")) as f:
                return f.read()
        except OSError:
            return ""


class GoServer(Process):
    """bench/goserver on the servers' CPUs (Go sizes GOMAXPROCS from them)."""
    STOP_SECONDS = 30

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="goapi-bench-go-")
        self.port = free_port()
        self.proc = None

    def start(self):
        with open(os.path.join(self.dir, "error.log"), "w") as err:
            self.proc = subprocess.Popen([GOSERVER, "-addr", "127.0.0.1:%d" % self.port,
                                          "-log", os.path.join(self.dir, "access.log")],
                                         stdout=subprocess.DEVNULL, stderr=err,
                                         start_new_session=True,
                                         preexec_fn=lambda: os.sched_setaffinity(0, SERVER_CPUS))
        if not wait_for_port("127.0.0.1", self.port, time.monotonic() + 30, self.proc):
            raise RuntimeError("%s did not start" % self.name)


# Stock Apache's nearest equivalent of GET /healthz: a static file, an ID
# from mod_unique_id set on the request and echoed by mod_headers, read
# deadlines from mod_reqtimeout, the seed's write and idle times.
STOCK_MODULES = tuple("%s_module %s/mod_%s.so" % (m, MODULES_DIR, m)
                      for m in ("unique_id", "headers", "reqtimeout"))
STOCK_BODY = """RequestReadTimeout header=5 body=5
<Location "/healthz">
    ForceType "text/plain; charset=utf-8"
    RequestHeader setifempty X-Request-ID "%{UNIQUE_ID}e"
    RequestHeader setifempty X-Correlation-ID "%{UNIQUE_ID}e"
    Header always set X-Request-ID "%{X-Request-ID}i"
    Header always set X-Correlation-ID "%{X-Correlation-ID}i"
    Header set Cache-Control no-store
    Header set X-Content-Type-Options nosniff
</Location>
"""


def goapi_body(deadlines, store="lmdb:@DIR@/run/ledger.mdb 1G", extra=""):
    """The shipped configuration (conf/goapi.conf, as conf/run.conf uses it),
    or the same routes without any deadline."""
    if deadlines:
        d = "Include %s\nAllowEncodedSlashes NoDecode\n" % os.path.join(TOP, "conf", "goapi.conf")
    else:
        d = ""
    return d + extra + "GoapiIdempotencyStore %s\n" % store + """<Location "/">
    SetHandler goapi
</Location>
<Location "/parcels/">
    GoapiIdempotency On
</Location>
"""


def redis_commands(redis):
    """Commands clients have sent Redis so far: its INFO commandstats, less
    the GET, SET and DEL that the scripts run inside it, the INFO commands
    of this count itself, and the replica's REPLCONF (its acknowledgements)."""
    info = redis.command("INFO", "commandstats").decode()
    total = 0
    for name, calls in re.findall(r"^cmdstat_([a-z|]+):calls=(\d+)", info, re.M):
        if name not in ("get", "set", "del", "info", "replconf"):
            total += int(calls)
    return total


GO_HZ = "Go net/http: /healthz"
GO_PARCEL = "Go net/http: GET /parcels/{id}"
STOCK_HZ = "stock Apache: static probe"
QUICK = "baseline: trivial quick_handler"

BASE_BODY = """<Location "/ok">
    SetHandler benchok
</Location>
"""


def lua(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def scripts(tmp):
    return {
        "post_fixed": lua(tmp, "post_fixed.lua", """
wrk.method = "POST"
wrk.headers["Idempotency-Key"] = "bench-replay-key"
"""),
        "post_unique": lua(tmp, "post_unique.lua", """
local counter = 0
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end
function init(args)
    prefix = args[1] or "k"
end
function request()
    counter = counter + 1
    return wrk.format("POST", nil, {["Idempotency-Key"] = prefix .. "-" .. tid .. "-" .. counter}, "")
end
"""),
    }


UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def cpu_list(cpus):
    return "CPU " + ",".join(str(c) for c in sorted(cpus))


def wrk_command(url, seconds, headers=(), script=None, args=(), connections=CONNECTIONS):
    cmd = ["wrk", "-t%d" % min(THREADS, connections), "-c%d" % connections,
           "-d%ds" % seconds, "--latency"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    cmd.append(url)
    if args:
        cmd += ["--"] + list(args)
    return cmd


def wrk_result(out):
    """What wrk's report says."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for pct in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % pct, out, re.M)
        lat[pct] = float(m.group(1)) * UNIT[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": rps, "p50": lat["50"], "p99": lat["99"],
            "non2xx": int(errors.group(1)) if errors else 0,
            "sockerr": sum(int(x) for x in sock.groups()) if sock else 0,
            "total": int(re.search(r"(\d+) requests in", out).group(1))}


def wrk(url, seconds, headers=(), script=None, args=(), connections=CONNECTIONS):
    out = subprocess.run(wrk_command(url, seconds, headers, script, args, connections),
                         capture_output=True, text=True, timeout=seconds + 60,
                         preexec_fn=lambda: os.sched_setaffinity(0, CLIENT_CPUS)).stdout
    return wrk_result(out)


def wrk_together(runs, seconds):
    """wrk against each (url, headers) of runs at the same time, for
    seconds: their results, in order."""
    procs = [subprocess.Popen(wrk_command(url, seconds, headers), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, start_new_session=True,
                              preexec_fn=lambda: os.sched_setaffinity(0, CLIENT_CPUS))
             for url, headers in runs]
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=seconds + 60)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
    return [wrk_result(out) for out in outs]


def hold_idle(port, n, deadline):
    """n kept-alive connections that have each had one answer and then
    stay idle; how many of them got their answer."""
    socks, answered = [], 0
    request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
    for _ in range(n):
        s = socket.socket()
        s.settimeout(max(0.1, deadline - time.monotonic()))
        socks.append(s)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(request)
        except OSError:
            pass
    for s in socks:
        try:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            if s.recv(4096).startswith(b"HTTP/1.1 200"):
                answered += 1
        except OSError:
            pass
    return socks, answered


def idle_load(srv, label):
    """/healthz with and without IDLE_CONNECTIONS idle kept-alive
    connections open beside the load, interleaved: the ratio, and the
    errors wrk saw."""
    plain, loaded, errors, answered = [], [], 0, []
    for _ in range(3):
        plain.append(wrk(srv.url("/healthz"), SECONDS)["rps"])
        socks, ok = hold_idle(srv.port, IDLE_CONNECTIONS, time.monotonic() + 30)
        answered.append(ok)
        try:
            r = wrk(srv.url("/healthz"), SECONDS)
            loaded.append(r["rps"])
            errors += r["non2xx"] + r["sockerr"]
        finally:
            for s in socks:
                s.close()
    return ("  %-24s %6.3f   (%d answers that were not 200 or socket errors; the idle "
            "connections got %s of %d first answers)"
            % (label, statistics.median(loaded) / statistics.median(plain), errors,
               "/".join(str(a) for a in answered), IDLE_CONNECTIONS))


def rss_kib(pid):
    """Resident memory of pid, or None for a process that is gone or
    exiting (no memory left to measure)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
    except OSError:
        return None
    return int(m.group(1)) if m else None


def pss_bytes(srv):
    """The proportional resident memory of a server's children (of the
    process itself where it has none, as the Go server)."""
    total = 0
    for pid in srv.children() or [srv.proc.pid]:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                m = re.search(r"^Pss:\s+(\d+) kB", f.read(), re.M)
        except OSError:
            continue
        total += int(m.group(1)) * 1024 if m else 0
    return total


def trickle_memory(srv, n=TRICKLERS, line=TRICKLE_LINE):
    """Memory a server holds per connection while n connections each send
    one header line of `line` bytes a byte per write (never ending it):
    the growth of pss_bytes() over the connections still open at the end
    (in KiB), and how many the server cut before."""
    before = pss_bytes(srv)
    socks, cut = [], 0
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Trickle: ")
            socks.append(s)
        for _ in range(line):
            for s in list(socks):
                try:
                    s.send(b"a")
                except OSError:
                    socks.remove(s)
                    s.close()
                    cut += 1
        time.sleep(1)
        after = pss_bytes(srv)
    finally:
        for s in socks:
            s.close()
    return (after - before) / 1024.0 / max(len(socks), 1), cut


def scrape_ms(port, n):
    """The time of n scrapes of /metrics, one after another, in ms."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    took = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        r.read()
        took.append((time.perf_counter() - t0) * 1000)
        if r.status != 200:
            raise RuntimeError("GET /metrics: %d" % r.status)
    conn.close()
    return took


def keepalive_requests(port, path, n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(n):
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError("GET %s: %d" % (path, r.status))
    conn.close()


def callgrind_run(name, body, goapi, extra_modules, path, n):
    """Total instructions, and those inside mod_goapi's hooks, of a server
    that answered n kept-alive GETs from start to stop."""
    srv = Server(name, body, goapi, extra_modules)
    out = os.path.join(srv.dir, "callgrind.out")
    # callgrind opens the file at start (as root) and writes it at exit,
    # as the server's user
    with open(out, "w"):
        pass
    os.chmod(out, 0o666)
    try:
        srv.start(wrapper=("valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                           "--trace-children=no"))
        keepalive_requests(srv.port, path, n)
        srv.stop()
        ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out],
                             capture_output=True, text=True, timeout=300).stdout
    finally:
        srv.cleanup()
    total = int(re.search(r"^\s*([\d,]+).*PROGRAM TOTALS", ann, re.M).group(1).replace(",", ""))
    hooks = 0
    for fn in HOOKS:
        m = re.search(r"^\s*([\d,]+) \([^)]*\)\s+\S*:%s\b" % fn, ann, re.M)
        if m:
            hooks += int(m.group(1).replace(",", ""))
    return total, hooks


def callgrind(name, body, goapi, extra_modules, path):
    """Instructions per request: two runs that differ only in the number of
    requests, so that start-up and shut-down cancel out."""
    t1, h1 = callgrind_run(name, body, goapi, extra_modules, path, 200)
    t2, h2 = callgrind_run(name, body, goapi, extra_modules, path, 200 + CALLGRIND_REQUESTS)
    return (t2 - t1) / CALLGRIND_REQUESTS, (h2 - h1) / CALLGRIND_REQUESTS


PERKEY_EXTRA = "GoapiMaxInFlightPer ip 100000\n"


def pairs_only(pairs):
    """Each pair (name on, body on, name off, body off, path, budget; a
    budget of None: two servers alike) alone, in rounds, then callgrind of
    the first.  In each round a pair's two servers start afresh, share the
    servers' CPUs and are loaded at the same time, each by its own wrk,
    after a second's warm-up: whatever slows the machine in a round
    (another guest, a cache, a frequency) slows both alike, and what one
    server's start happens to favour (where its memory lies) is a round's
    noise, not a bias its pair keeps.  The CPU time a request took on each
    side, and their ratio round by round, are then what the pair costs.
    The lines."""
    servers = [(Server("p%don" % k, on_body), Server("p%doff" % k, off_body))
               for k, (_, on_body, _, off_body, _, _) in enumerate(pairs)]
    results = [([], []) for _ in pairs]
    lines = []
    try:
        for rnd in range(ROUNDS):
            for k, pair in enumerate(pairs):
                path = pair[4]
                # the side started and loaded first turns each round
                sides = (0, 1) if rnd % 2 == 0 else (1, 0)
                for side in sides:
                    servers[k][side].start()
                try:
                    runs = [(servers[k][side].url(path), ()) for side in sides]
                    wrk_together(runs, 1)
                    before = [servers[k][side].cpu_split() for side in sides]
                    got = wrk_together(runs, SECONDS)
                    after = [servers[k][side].cpu_split() for side in sides]
                finally:
                    for side in sides:
                        servers[k][side].stop()
                for side, r, b, a in zip(sides, got, before, after):
                    r["user_us"], r["cpu_us"] = [
                        t * 1e6 / CLK_TCK / max(1, r["total"])
                        for t in (a[0] - b[0], sum(a) - sum(b))]
                    if r["non2xx"]:
                        raise RuntimeError("%s: %d answers that were not 2xx"
                                           % (pair[2 * side], r["non2xx"]))
                    results[k][side].append(r)
            print("round %d of %d done" % (rnd + 1, ROUNDS), flush=True)
    finally:
        for pair_servers in servers:
            for srv in pair_servers:
                srv.cleanup()

    def spread(values):
        values = sorted(values)
        return "median %.3f, middle 80%% %.3f-%.3f" % (
            statistics.median(values), values[len(values) // 10],
            values[-1 - len(values) // 10])

    for k, pair in enumerate(pairs):
        for side in (0, 1):
            rs = results[k][side]
            lines.append("%-44s %8.0f req/s, %5.1f us CPU a request (%.1f user)  (rounds: %s)"
                         % (pair[2 * side], statistics.median(r["rps"] for r in rs),
                            statistics.median(r["cpu_us"] for r in rs),
                            statistics.median(r["user_us"] for r in rs),
                            " ".join("%.0f" % r["rps"] for r in rs)))
    for k, (on_name, _, off_name, _, _, budget) in enumerate(pairs):
        on, off = results[k]
        # a round's two servers ran at the same time: their ratio leaves
        # out what changes between rounds
        lines.append("%s / %s:" % (on_name, off_name))
        lines.append("    req/s %s   (%s)" % (
            spread(a["rps"] / b["rps"] for a, b in zip(on, off)),
            "two servers alike" if budget is None else "budget " + budget))
        lines.append("    CPU a request, off / on: %s" % spread(
            b["cpu_us"] / a["cpu_us"] for a, b in zip(on, off)))
    # instructions of the first pair
    on_name, on_body, off_name, off_body, path, _ = pairs[0]
    c_on = callgrind("on", on_body, True, (), path)
    c_off = callgrind("off", off_body, True, (), path)
    lines.append("instructions per request (callgrind): %s %.0f, %s %.0f (+%.0f, %.3fx)"
                 % (on_name, c_on[0], off_name, c_off[0], c_on[0] - c_off[0],
                    c_on[0] / c_off[0]))
    return lines


HZ_OFF = goapi_body(True, extra="GoapiMetrics Off\n")
UNSAMPLED = "GoapiTraceSampled Off\n"
# What the metrics cost /healthz: as shipped, where each request begins a
# sampled trace and so writes its bucket's exemplar, and with
# GoapiTraceSampled Off, where it is only counted.
METRICS_PAIRS = [
    ("/healthz, metrics on", goapi_body(True), "/healthz, metrics off", HZ_OFF,
     "/healthz", ">= 0.98"),
    ("/healthz, unsampled, metrics on", goapi_body(True, extra=UNSAMPLED),
     "/healthz, unsampled, metrics off", goapi_body(True, extra=UNSAMPLED + "GoapiMetrics Off\n"),
     "/healthz", ">= 0.98")]
# Two servers alike: what a ratio reads when nothing differs, in the same
# run (the noise the others are read against).
ALIKE_PAIR = ("/healthz, metrics off (A)", HZ_OFF, "/healthz, metrics off (B)", HZ_OFF,
              "/healthz", None)
PERKEY_PAIR = ("GET /parcels/{id}, MaxInFlightPer ip", goapi_body(True, extra=PERKEY_EXTRA),
               "GET /parcels/{id}, no limit", goapi_body(True), "/parcels/p-1", ">= 0.98")
# Every budget of a few percent: a feature on against off.
BUDGET_PAIRS = METRICS_PAIRS + [
    # the shipped file's deadlines set to 0 after it: nothing else differs
    ("/healthz, deadlines", goapi_body(True), "/healthz, deadlines 0",
     goapi_body(True, extra="GoapiReadTimeout 0\nGoapiWriteTimeout 0\nGoapiIdleTimeout 0\n"),
     "/healthz", ">= 0.97"),
    ("/healthz, trace context", goapi_body(True),
     "/healthz, trace context off", goapi_body(True, extra="GoapiTraceContext Off\n"),
     "/healthz", ">= 0.98"),
    ("GET /parcels/{id}, MaxInFlight 60", goapi_body(True, extra="GoapiMaxInFlight 60\n"),
     "GET /parcels/{id}, no limit", goapi_body(True), "/parcels/p-1", ">= 0.98"),
    ("GET /parcels/{id}, MaxInFlight auto", goapi_body(True, extra="GoapiMaxInFlight auto "
                                                                    "min=60 max=60\n"),
     "GET /parcels/{id}, no limit", goapi_body(True), "/parcels/p-1", ">= 0.98"),
    PERKEY_PAIR]


def perkey_only():
    """The per-key limit's cost alone."""
    print("\n".join(pairs_only([PERKEY_PAIR, ALIKE_PAIR])), flush=True)


def metrics_only():
    """The metrics' cost alone."""
    print("\n".join(pairs_only(METRICS_PAIRS + [ALIKE_PAIR])), flush=True)


def budgets_only():
    """Every budget of a few percent, paired."""
    print("\n".join(pairs_only(BUDGET_PAIRS + [ALIKE_PAIR])), flush=True)


def main():
    for tool in ("wrk", "valgrind", "callgrind_annotate"):
        if not shutil.which(tool):
            sys.exit("bench: %s missing (make bench installs it)" % tool)
    if ONLY_PERKEY:
        perkey_only()
        return
    if ONLY_METRICS:
        metrics_only()
        return
    if ONLY_BUDGETS:
        budgets_only()
        return
    tmp = tempfile.mkdtemp(prefix="goapi-bench-lua-")
    lua_s = scripts(tmp)
    benchok = "goapi_benchok_module %s" % BENCHOK
    base = Server("base", BASE_BODY, goapi=False, extra_modules=(benchok,))
    goapi = Server("goapi", goapi_body(True))
    nodl = Server("nodl", goapi_body(False))
    nometrics = Server("nometrics", goapi_body(True, extra="GoapiMetrics Off\n"))
    notrace = Server("notrace", goapi_body(True, extra="GoapiTraceContext Off\n"))
    limited = Server("limited", goapi_body(True, extra="GoapiMaxInFlight 60\n"))
    # the adaptive limit's bookkeeping on every request, held at 60 so that
    # nothing is shed
    adaptive = Server("adaptive", goapi_body(True, extra="GoapiMaxInFlight auto min=60 "
                                                         "max=60\n"))
    # a limit per client address that is never reached: the key's hash and
    # its slot on every request
    perkey = Server("perkey", goapi_body(True, extra="GoapiMaxInFlightPer ip 100000\n"))
    # the shared ledger: a Redis on the servers' CPUs, as a host's would be
    redis = RedisServer()
    rgoapi = Server("redis", goapi_body(True, "redis://127.0.0.1:%d/0" % redis.port))
    # every replay a round trip: what a retry that reaches another host costs
    rnocache = Server("redis-nocache", goapi_body(True, "redis://127.0.0.1:%d/1" % redis.port,
                                                  "GoapiIdempotencyReplayCache 0\n"))
    # each claim and completion acknowledged by a replica on the same CPUs
    replica = RedisServer(replica_of=redis)
    rwait = Server("redis-replicas1", goapi_body(True, "redis://127.0.0.1:%d/2" % redis.port,
                                                 "GoapiIdempotencyStoreReplicas 1\n"))
    # the ledger in PostgreSQL through mod_dbd, on the servers' CPUs
    pg = PgServer(fsync=True)
    dbd = ('DBDriver pgsql\nDBDParams "host=127.0.0.1 port=%d dbname=postgres user=goapi '
           'password=%s"\nDBDMax 40\n' % (pg.port, PgServer.PASSWORD))
    dbd_module = ("dbd_module %s/mod_dbd.so" % MODULES_DIR,)
    pgoapi = Server("pg", goapi_body(True, "dbd", dbd), extra_modules=dbd_module)
    pnocache = Server("pg-nocache", goapi_body(True, "dbd", dbd + "GoapiIdempotencyReplayCache 0\n"),
                      extra_modules=dbd_module)
    go = GoServer("go")
    stock = Server("stock", STOCK_BODY, goapi=False, extra_modules=STOCK_MODULES)
    servers = (base, goapi, nodl, nometrics, notrace, limited, adaptive, perkey, rgoapi,
               rnocache, rwait, pgoapi, pnocache, go, stock)
    lines = []
    try:
        redis.start()
        os.sched_setaffinity(redis.proc.pid, SERVER_CPUS)
        redis.command("CONFIG", "SET", "repl-diskless-sync-delay", "0")
        replica.start()
        os.sched_setaffinity(replica.proc.pid, SERVER_CPUS)
        pg.start()
        os.sched_setaffinity(pg.proc.pid, SERVER_CPUS)
        deadline = time.monotonic() + 20
        while replica.command("ROLE")[3] != b"connected" and time.monotonic() < deadline:
            time.sleep(0.1)
        for s in servers:
            s.start()
        # one dispatch, so that the fixed key replays from then on
        for srv in (goapi, rgoapi, rnocache, pgoapi, pnocache):
            subprocess.run(["curl", "-s", "-o", "/dev/null", "-X", "POST", "-H",
                            "Idempotency-Key: bench-replay-key",
                            srv.url("/parcels/p-1/dispatch")], check=True)
        ids = ("X-Request-ID: bench-req-0001", "X-Correlation-ID: bench-corr-0001")
        # a client's sampled trace: every request writes its bucket's exemplar
        sampled = ("traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",)
        scenarios = [
            (GO_HZ, go.url("/healthz"), (), None, ()),
            (GO_PARCEL, go.url("/parcels/p-1"), (), None, ()),
            (STOCK_HZ, stock.url("/healthz"), (), None, ()),
            ("baseline: trivial handler", base.url("/ok"), (), None, ()),
            (QUICK, base.url("/okq"), (), None, ()),
            ("static 3-byte file", base.url("/ok.txt"), (), None, ()),
            ("/healthz, IDs generated", goapi.url("/healthz"), (), None, ()),
            ("/healthz, client IDs", goapi.url("/healthz"), ids, None, ()),
            ("GET /parcels/{id}", goapi.url("/parcels/p-1"), (), None, ()),
            ("/healthz, no deadlines", nodl.url("/healthz"), (), None, ()),
            ("/healthz, metrics off", nometrics.url("/healthz"), (), None, ()),
            ("/healthz, sampled trace", goapi.url("/healthz"), sampled, None, ()),
            ("/healthz, sampled trace, metrics off", nometrics.url("/healthz"), sampled, None,
             ()),
            ("/healthz, trace context off", notrace.url("/healthz"), (), None, ()),
            ("GET /parcels/{id}, MaxInFlight 60", limited.url("/parcels/p-1"), (), None, ()),
            ("GET /parcels/{id}, MaxInFlight auto", adaptive.url("/parcels/p-1"), (), None, ()),
            ("GET /parcels/{id}, MaxInFlightPer ip", perkey.url("/parcels/p-1"), (), None, ()),
            ("POST dispatch, replay", goapi.url("/parcels/p-1/dispatch"), (),
             lua_s["post_fixed"], ()),
            ("Redis: POST dispatch, replay", rgoapi.url("/parcels/p-1/dispatch"), (),
             lua_s["post_fixed"], ()),
            ("Redis: replay, no cache", rnocache.url("/parcels/p-1/dispatch"), (),
             lua_s["post_fixed"], ()),
            ("Redis: POST, first execution", rgoapi.url("/parcels/p-2/dispatch"), (),
             lua_s["post_unique"], None),
            (REDIS_N1, rwait.url("/parcels/p-2/dispatch"), (), lua_s["post_unique"], None),
            ("PostgreSQL: POST dispatch, replay", pgoapi.url("/parcels/p-1/dispatch"), (),
             lua_s["post_fixed"], ()),
            ("PostgreSQL: replay, no cache", pnocache.url("/parcels/p-1/dispatch"), (),
             lua_s["post_fixed"], ()),
            ("POST dispatch, first execution", goapi.url("/parcels/p-2/dispatch"), (),
             lua_s["post_unique"], None),
            (PG_FIRST, pgoapi.url("/parcels/p-2/dispatch"), (), lua_s["post_unique"], None),
        ]
        results = {s[0]: [] for s in scenarios}
        by_port = {s.port: s for s in servers}
        # The first executions write to disk (fsync per transaction): their
        # rounds come after the others, which they would disturb.
        cpu_bound, disk_bound = scenarios[:-2], scenarios[-2:]
        for group in (cpu_bound, disk_bound):
            for rnd in range(ROUNDS + 1):           # round 0 warms up
                # each round starts one scenario later: no side always
                # follows the same neighbour
                order = group[rnd % len(group):] + group[:rnd % len(group)]
                for name, url, headers, script, args in order:
                    if args is None:
                        args = ("r%d" % rnd,)
                    srv = by_port[int(url.split(":")[2].split("/")[0])]
                    ticks = srv.cpu_ticks()
                    cmds = redis_commands(redis)
                    r = wrk(url, 1 if rnd == 0 else SECONDS, headers, script, args)
                    r["cpu_us"] = ((srv.cpu_ticks() - ticks) * 1e6 / CLK_TCK
                                   / max(1, r["total"]))
                    r["redis_rt"] = (redis_commands(redis) - cmds) / max(1, r["total"])
                    if r["non2xx"]:
                        raise RuntimeError("%s: %d answers that were not 2xx"
                                           % (name, r["non2xx"]))
                    if rnd:
                        results[name].append(r)
                print("round %d of %d done" % (rnd, ROUNDS), flush=True)

        def med(name, key):
            return statistics.median(r[key] for r in results[name])

        lines.append("%-32s %10s %8s %8s %8s %8s %8s %8s %8s" % (
            "scenario", "req/s", "p50 ms", "p99 ms", "CPU us", "rps/Go", "p99/Go",
            "rps/stock", "rps/quick"))
        for name, *_ in scenarios:
            peer = GO_PARCEL if name == "GET /parcels/{id}" else GO_HZ
            lines.append("%-32s %10.0f %8.3f %8.3f %8.1f %8.3f %8.3f %8.3f %8.3f"
                         % (name, med(name, "rps"), med(name, "p50"), med(name, "p99"),
                            med(name, "cpu_us"), med(name, "rps") / med(peer, "rps"),
                            med(name, "p99") / med(peer, "p99"),
                            med(name, "rps") / med(STOCK_HZ, "rps"),
                            med(name, "rps") / med(QUICK, "rps")))
        lines.append("")
        base_rps, base_p99 = med("baseline: trivial handler", "rps"), \
            med("baseline: trivial handler", "p99")
        hz = "/healthz, IDs generated"
        ratios = [
            ("/healthz / Go net/http /healthz, req/s", med(hz, "rps") / med(GO_HZ, "rps"),
             ">= 1.10"),
            ("/healthz / Go net/http /healthz, p99", med(hz, "p99") / med(GO_HZ, "p99"),
             "<= 1.00"),
            ("GET /parcels/{id} / Go net/http, req/s",
             med("GET /parcels/{id}", "rps") / med(GO_PARCEL, "rps"), ">= 1.00"),
            ("/healthz / stock Apache static probe, req/s",
             med(hz, "rps") / med(STOCK_HZ, "rps"), ">= 1.30"),
            ("/healthz (IDs generated) / baseline, req/s", med(hz, "rps") / base_rps, ">= 0.97"),
            ("/healthz (IDs generated) / baseline, p99", med(hz, "p99") / base_p99, "<= 1.10"),
            ("/healthz (client IDs) / baseline, req/s",
             med("/healthz, client IDs", "rps") / base_rps, ">= 0.95"),
            ("GET /parcels/{id} / baseline, req/s",
             med("GET /parcels/{id}", "rps") / base_rps, ""),
            ("static file / baseline, req/s", med("static 3-byte file", "rps") / base_rps, ""),
            # the budgets of a few percent are read from the paired run
            # below, whose servers are loaded at the same time
            ("deadlines on / off, req/s", med(hz, "rps") / med("/healthz, no deadlines", "rps"),
             ""),
            ("metrics on / GoapiMetrics Off, req/s",
             med(hz, "rps") / med("/healthz, metrics off", "rps"), ""),
            ("metrics on / Off, sampled trace (exemplar), req/s",
             med("/healthz, sampled trace", "rps")
             / med("/healthz, sampled trace, metrics off", "rps"), ""),
            ("trace context on / off, req/s",
             med(hz, "rps") / med("/healthz, trace context off", "rps"), ""),
            ("GoapiMaxInFlight 60 / no limit, GET /parcels, req/s",
             med("GET /parcels/{id}, MaxInFlight 60", "rps") / med("GET /parcels/{id}", "rps"),
             ""),
            ("MaxInFlight auto (held at 60) / no limit, req/s",
             med("GET /parcels/{id}, MaxInFlight auto", "rps") / med("GET /parcels/{id}", "rps"),
             ""),
            ("MaxInFlightPer ip (never reached) / no limit, req/s",
             med("GET /parcels/{id}, MaxInFlightPer ip", "rps") / med("GET /parcels/{id}", "rps"),
             ""),
            ("/healthz (IDs generated) / baseline, CPU/req",
             med(hz, "cpu_us") / med("baseline: trivial handler", "cpu_us"), "<= 1.03"),
            ("idempotent replay / GET /healthz, req/s",
             med("POST dispatch, replay", "rps") / med(hz, "rps"), ">= 0.90"),
            ("first execution / GET /healthz, req/s",
             med("POST dispatch, first execution", "rps") / med(hz, "rps"), ""),
            ("Redis replay / GET /healthz, req/s",
             med("Redis: POST dispatch, replay", "rps") / med(hz, "rps"), ">= 0.85"),
            ("Redis first execution / GET /healthz, req/s",
             med("Redis: POST, first execution", "rps") / med(hz, "rps"), ""),
            ("Redis replay / LMDB replay, req/s",
             med("Redis: POST dispatch, replay", "rps") / med("POST dispatch, replay", "rps"),
             ""),
            ("Redis replay, no cache / GET /healthz, req/s",
             med("Redis: replay, no cache", "rps") / med(hz, "rps"), ""),
            ("Redis first execution, Replicas 1 / 0, req/s",
             med(REDIS_N1, "rps") / med("Redis: POST, first execution", "rps"), ""),
            ("Redis first execution, Replicas 1 / 0, p99",
             med(REDIS_N1, "p99") / med("Redis: POST, first execution", "p99"), ""),
            ("Redis first execution, Replicas 1 / LMDB, req/s",
             med(REDIS_N1, "rps") / med("POST dispatch, first execution", "rps"), ""),
            ("Redis first execution, Replicas 0 / LMDB, req/s",
             med("Redis: POST, first execution", "rps")
             / med("POST dispatch, first execution", "rps"), ""),
            ("PostgreSQL replay, no cache / Redis, req/s",
             med("PostgreSQL: replay, no cache", "rps") / med("Redis: replay, no cache", "rps"),
             ""),
            ("PostgreSQL first execution / LMDB, req/s",
             med(PG_FIRST, "rps") / med("POST dispatch, first execution", "rps"), ""),
            ("PostgreSQL first execution / Redis, req/s",
             med(PG_FIRST, "rps") / med("Redis: POST, first execution", "rps"), ""),
        ]
        lines.append("%-46s %8s   %s" % ("ratio (same run, medians)", "value", "budget"))
        for name, value, budget in ratios:
            lines.append("%-46s %8.3f   %s" % (name, value, budget))
        lines.append("")
        lines.append("Redis round trips per request (commands clients sent it): replay "
                     "%.2f (no cache: %.2f), first execution %.2f (claim, the dispatch "
                     "counter, completion); with GoapiIdempotencyStoreReplicas 1 %.2f "
                     "(and a WAIT after the claim and after the completion)"
                     % (med("Redis: POST dispatch, replay", "redis_rt"),
                        med("Redis: replay, no cache", "redis_rt"),
                        med("Redis: POST, first execution", "redis_rt"),
                        med(REDIS_N1, "redis_rt")))
        # latency without queueing: one connection, one request at a time
        one = {}
        for name, url, script, args in (
                ("GET /healthz", goapi.url("/healthz"), None, ()),
                ("Redis: POST, first execution", rgoapi.url("/parcels/p-3/dispatch"),
                 lua_s["post_unique"], ("c1",)),
                (REDIS_N1, rwait.url("/parcels/p-3/dispatch"), lua_s["post_unique"], ("c1",)),
                ("Redis: replay, no cache", rnocache.url("/parcels/p-1/dispatch"),
                 lua_s["post_fixed"], ())):
            one[name] = wrk(url, SECONDS * 2, (), script, args, connections=1)
        lines.append("one connection (wrk -c1, %d s): p50 / p99 ms" % (SECONDS * 2))
        for name, r in one.items():
            lines.append("  %-30s %8.3f / %8.3f%s" % (
                name, r["p50"], r["p99"],
                "   (budget p99 <= 2 ms)" if name == "Redis: POST, first execution" else ""))
        # a scrape of a server whose every route was used
        took = scrape_ms(goapi.port, SCRAPES)
        lines.append("GET /metrics, every route used (%d scrapes, one connection): median "
                     "%.2f ms, max %.2f ms   (budget < 5 ms)"
                     % (SCRAPES, statistics.median(took), max(took)))
        if ONLY_ROUNDS:
            print("\n".join(lines), flush=True)
            return
        lines.append("")
        lines.append("/healthz with %d idle kept-alive connections open / without "
                     "(req/s, same run):" % IDLE_CONNECTIONS)
        for srv, label in ((goapi, "mod_goapi, shipped"), (go, "Go net/http")):
            lines.append(idle_load(srv, label))
        print("\n".join(lines), flush=True)

        # memory: every child of the goapi server, before and after
        before = {pid: kib for pid in goapi.children() for kib in [rss_kib(pid)] if kib}
        t0, sent = time.monotonic(), 0
        while sent < RSS_REQUESTS and time.monotonic() - t0 < RSS_SECONDS_MAX:
            sent += wrk(goapi.url("/healthz"), 10)["total"]
        took = time.monotonic() - t0
        after = {pid: kib for pid in goapi.children() for kib in [rss_kib(pid)] if kib}
        lines.append("")
        lines.append("RSS of the goapi children over %d requests of /healthz (%.0f s):"
                     % (sent, took))
        for pid in sorted(before):
            if pid in after:
                lines.append("  child %d: %d KiB -> %d KiB, growth %+d KiB   (budget < 1024)"
                             % (pid, before[pid], after[pid], after[pid] - before[pid]))
            else:
                lines.append("  child %d: gone during the run" % pid)
        # memory a slow client makes a server hold: a header line a byte
        # per write, on each server's read deadline (mod_goapi's, stock
        # Apache's mod_reqtimeout, Go's ReadHeaderTimeout) and none
        lines.append("")
        lines.append("memory per connection while %d connections each send a %d-byte "
                     "header line a byte per write (PSS growth / connections):"
                     % (TRICKLERS, TRICKLE_LINE))
        per = {}
        for srv, label in ((goapi, "mod_goapi, shipped (read deadlines)"),
                           (stock, "stock Apache, mod_reqtimeout"),
                           (nodl, "mod_goapi, no deadlines"),
                           (go, "Go net/http")):
            per[label], cut = trickle_memory(srv)
            lines.append("  %-40s %8.1f KiB%s" % (label, per[label], "   (%d cut by the "
                         "read deadline before the end)" % cut if cut else ""))
        lines.append("  %-40s %8.2f" % ("mod_goapi shipped / mod_reqtimeout",
                     per["mod_goapi, shipped (read deadlines)"]
                     / max(per["stock Apache, mod_reqtimeout"], 1.0)))
        print("\n".join(lines[-6:]), flush=True)
    finally:
        for s in servers:
            s.cleanup()
        replica.cleanup()
        redis.cleanup()
        pg.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)

    # the budgets of a few percent: pairs loaded at the same time
    lines.append("")
    lines.append("a feature on against off, each pair's servers started afresh and loaded "
                 "at the same time, %d rounds of %d s:" % (ROUNDS, SECONDS))
    paired = pairs_only(BUDGET_PAIRS + [ALIKE_PAIR])
    lines += ["  " + line for line in paired]
    print("\n".join(lines[-len(paired) - 1:]), flush=True)

    # instructions: stable where wall-clock time is not
    cb = callgrind("base", BASE_BODY, False, (benchok,), "/ok")
    cq = callgrind("base", BASE_BODY, False, (benchok,), "/okq")
    cg = callgrind("goapi", goapi_body(True), True, (), "/healthz")
    # the same without metrics: what counting costs, the exemplar write
    # included (GoapiTraceSampled On: every request is sampled)
    cm = callgrind("goapi-nometrics", goapi_body(True, extra="GoapiMetrics Off\n"), True, (),
                   "/healthz")
    lines.append("")
    lines.append("instructions per request (callgrind, %d kept-alive GETs):" % CALLGRIND_REQUESTS)
    lines.append("  baseline server, trivial handler:   %10.0f" % cb[0])
    lines.append("  baseline server, quick_handler:     %10.0f" % cq[0])
    lines.append("  goapi server, /healthz:             %10.0f" % cg[0])
    lines.append("  difference:                         %10.0f   (%.3fx)" % (cg[0] - cb[0],
                                                                          cg[0] / cb[0]))
    lines.append("  inside mod_goapi's hooks/filters:   %10.0f   (inclusive: the /healthz "
                 "answer and the read filter's socket read too)" % cg[1])
    lines.append("  goapi server, GoapiMetrics Off:     %10.0f   (metrics, exemplar "
                 "written: %+.0f, %.3fx)" % (cm[0], cg[0] - cm[0], cg[0] / cm[0]))
    lines.append("  /healthz over the quick_handler:    %10.0f" % (cg[0] - cq[0]))
    print("\n".join(lines[-8:]), flush=True)

    with open(os.path.join(BUILD, "bench.txt"), "w") as f:
        f.write("mod_goapi bench, %s, %d cores (servers on %s, wrk on %s), wrk -t%d -c%d, "
                "%d rounds of %d s\n\n"
                % (time.strftime("%Y-%m-%d %H:%M"), len(CPUS), cpu_list(SERVER_CPUS),
                   cpu_list(CLIENT_CPUS), THREADS, CONNECTIONS, ROUNDS, SECONDS))
        f.write("\n".join(lines) + "\n")
    print("written to build/bench.txt")


if __name__ == "__main__":
    main()
