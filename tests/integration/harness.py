# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Real-httpd harness for mod_goapi integration tests.

Each server gets a temp dir as its ServerRoot, a generated config, a free
loopback port, and runs in the foreground in its own session (prefork sends
its stop signal to the whole process group); it is stopped by its pid.
After every test the error log lines it added are scanned for [error],
[crit], [alert] and [emerg]; a test lists the ones it expects.
"""

import glob
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HTTPD = shutil.which("apache2") or "/usr/sbin/apache2"
MODULES_DIR = "/usr/lib/apache2/modules"
MODULE = os.environ.get("GOAPI_MODULE") or os.path.join(TOP, "build", "mod_goapi.so")
# modules built for the tests only (tests/modules/), next to MODULE
TEST_MODULES = os.path.join(os.path.dirname(MODULE), "tests")
SANITIZE = os.environ.get("GOAPI_SANITIZE") == "1"
LSAN_SUPP = os.path.join(TOP, "tests", "lsan.supp")
IS_ROOT = os.geteuid() == 0

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# Error levels, and a child process that died of a signal (logged at notice).
# An error-level line, a child killed by a signal, or a sanitizer that
# wrote to stderr (the error log) because it could not write its report.
BAD_LEVEL = re.compile(r"\[(?:[\w.]+:)?(error|crit|alert|emerg)\]|exit signal"
                       r"|AddressSanitizer|LeakSanitizer|runtime error:|Can't open file")

ERROR_LOG_FORMAT = r'"[%{u}t] [%-m:%l] [pid %P:tid %T] [%-L] %7F: %E: [client\ %a] %M"'


def run_threads(threads, timeout):
    """Start the threads, then wait for each (at most timeout seconds)."""
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)


# httpd's event MPM, stopping or restarting at once (SIGTERM, SIGHUP), closes
# the sockets of busy workers from each child's main thread
# (close_worker_sockets()).  It reads a worker's socket without a lock; when
# that worker has just finished its connection and released the socket's
# memory, the child dies of SIGSEGV in apr_os_sock_get(), called from
# mod_mpm_event.  This happens without mod_goapi loaded too (docs/known-problems.md,
# "Known problems").  It is recognised by the crashing thread's stack only: its top
# frame, called from mod_mpm_event, and no frame of mod_goapi.
def is_httpd_stop_race(text):
    """Is this crash report (core_stacks() text, or a sanitizer's report)
    httpd's stop race?"""
    frames = crash_frames(text)
    return (len(frames) >= 2 and re.search(r"\bapr_os_sock_get\b", frames[0]) is not None
            and "mod_mpm_event.so" in frames[1]
            and not any("goapi" in f.lower() for f in frames))


# The ledger is read in full before use by a child process of its own
# (src/goapi_store_file.c, goapi_store_contained()), which may die of a
# signal on a damaged file: that is how damage shows, not a crash of the
# server.  Under the sanitizers such a death is a report like any other.
def is_ledger_checker_crash(text):
    """Is this sanitizer report the death of the ledger's checking child
    inside LMDB (a fault of mod_goapi's own code there is not)?"""
    frames = [f for f in stack_of(text)
              if not re.search(r"\b(__interceptor_|__asan_|__sanitizer_)\w*", f)]
    return (bool(frames) and "liblmdb.so" in frames[0]
            and any("goapi_lmdb_check" in f for f in frames))


def crash_frames(text):
    """The frames of the crashing thread, innermost first."""
    if "GOAPI-END-OF-CRASHING-THREAD" in text:
        # gdb: the thread where a signal handler was called (httpd's own
        # handler re-raises the signal from the crashing thread), or else
        # the thread gdb names current
        current, rest = text.split("GOAPI-END-OF-CRASHING-THREAD", 1)
        for thread in re.split(r"^Thread \d+ ", rest, flags=re.M)[1:]:
            if "<signal handler called>" in thread:
                return stack_of(thread.split("<signal handler called>", 1)[1])
        return stack_of(current.split("[Current thread is", 1)[-1])
    if "SEGV" in text:
        return stack_of(text)           # a sanitizer: its first stack
    return []


def stack_of(text):
    """The first run of frames in text, without their numbers."""
    out = []
    for m in re.finditer(r"^\s*#(\d+)\s+(.*)$", text, re.M):
        if out and int(m.group(1)) == 0:
            break
        out.append(m.group(2))
    return out


def note_httpd_stop_race(where):
    sys.stderr.write("note: httpd's own crash at an immediate stop (event MPM, "
                     "close_worker_sockets race; docs/known-problems.md): %s\n" % where)


def tcp_connections(port):
    """Connections whose local port is port, but listeners and TIME_WAIT."""
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, state = fields[1], fields[3]
                    if int(local.rsplit(":", 1)[1], 16) == port and state not in ("0A", "06"):
                        n += 1
        except OSError:
            pass
    return n


# Ports handed out in this run: the kernel may give the same free port to
# two calls in a row (a test's own listener, then its server's), and two
# Listen lines on one port stop httpd.
_PORTS_GIVEN = set()


def free_port(host="127.0.0.1"):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(100):
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _PORTS_GIVEN:
            break
    _PORTS_GIVEN.add(port)
    return port


def wait_for_port(host, port, deadline, proc=None):
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def sanitizer_env():
    """LD_PRELOAD of the ASan/UBSan runtimes for an uninstrumented httpd."""
    libs = []
    for name in ("libasan.so", "libubsan.so"):
        path = subprocess.run(["gcc", "-print-file-name=" + name],
                              capture_output=True, text=True).stdout.strip()
        if path and os.path.exists(path):
            libs.append(os.path.realpath(path))
    return {"LD_PRELOAD": " ".join(libs)}


def sanitizer_dir(logdir):
    """Where sanitizer reports of processes logging into logdir go."""
    path = os.path.join(logdir, "san")
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o1777)
    return path


def httpd_env(extra=None, logdir=None):
    """The environment for an httpd process: under "make sanitize", the
    sanitizer runtimes preloaded and their reports sent to logdir."""
    env = dict(os.environ)
    if SANITIZE:
        env.update(sanitizer_env())
        # Reports are written by the children, as the server's user: the
        # directory must be writable by it (sanitizer_dir()).
        logdir = sanitizer_dir(logdir or tempfile.gettempdir())
        # allow_user_segv_handler=0: httpd installs a handler of its own for
        # fatal signals; ASan keeps SIGSEGV and reports the crash with its stack
        env["ASAN_OPTIONS"] = ("detect_leaks=1:allow_user_segv_handler=0:log_path=%s/asan"
                               % logdir)
        # httpd's own leaks at exit, reviewed: tests/lsan.supp
        env["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" % LSAN_SUPP
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:log_path=%s/ubsan" % logdir
    env.update(extra or {})
    return env


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value), in order
        self.body = body

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def header(self, name):
        vals = self.all(name)
        return vals[0] if vals else None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.headers)


class Httpd:
    """One httpd with a generated config."""

    def __init__(self, body="", modules=(), mpm="event", loglevel="info goapi:debug",
                 include_goapi_conf=True, host="127.0.0.1", files=None):
        self.dir = tempfile.mkdtemp(prefix="goapi-it-")
        os.chmod(self.dir, 0o755)
        for sub in ("conf", "logs", "run", "htdocs"):
            os.makedirs(os.path.join(self.dir, sub))
            os.chmod(os.path.join(self.dir, sub), 0o755)
        self.host = host
        self.port = free_port(host)
        self.mpm = mpm
        self.proc = None
        self.conf = os.path.join(self.dir, "conf", "httpd.conf")
        self.error_log = os.path.join(self.dir, "logs", "error.log")
        self.access_log = os.path.join(self.dir, "logs", "access.log")
        for rel, (content, mode) in (files or {}).items():
            self.write_file(rel, content, mode)
        self.write_conf(body, modules, loglevel, include_goapi_conf)

    # -- files and config -------------------------------------------------
    def path(self, rel):
        return os.path.join(self.dir, rel)

    def write_file(self, rel, content, mode=0o644):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        os.chmod(os.path.dirname(p), 0o755)
        with open(p, "w" if isinstance(content, str) else "wb") as f:
            f.write(content)
        os.chmod(p, mode)
        return p

    def config_text(self, body, modules, loglevel, include_goapi_conf):
        listen = "[%s]:%d" % (self.host, self.port) if ":" in self.host else \
            "%s:%d" % (self.host, self.port)
        lines = [
            "ServerRoot %s" % self.dir,
            "DefaultRuntimeDir %s/run" % self.dir,
            "PidFile %s/run/httpd.pid" % self.dir,
            "LoadModule mpm_%s_module %s/mod_mpm_%s.so" % (self.mpm, MODULES_DIR, self.mpm),
            "LoadModule authz_core_module %s/mod_authz_core.so" % MODULES_DIR,
            # conf/goapi.conf's "Require local" over /metrics needs it, as
            # on a stock Debian Apache
            "LoadModule authz_host_module %s/mod_authz_host.so" % MODULES_DIR,
        ]
        for m in modules:
            if m in ("authz_core", "authz_host"):
                continue
            lines.append("LoadModule %s_module %s/mod_%s.so" % (m, MODULES_DIR, m))
        lines += [
            "LoadModule goapi_module %s" % MODULE,
            "ServerName localhost",
            "Listen %s" % listen,
            "DocumentRoot %s/htdocs" % self.dir,
            "ErrorLog %s" % self.error_log,
            "LogLevel %s" % loglevel,
            "ErrorLogFormat %s" % ERROR_LOG_FORMAT,
            "Timeout 10",
        ]
        if IS_ROOT:
            lines += ["User www-data", "Group www-data"]
        if not SANITIZE:
            # a child that crashes leaves a core here; bad_lines() then
            # shows its stacks (the sanitizers print their own)
            os.makedirs(self.path("cores"), exist_ok=True)
            os.chmod(self.path("cores"), 0o1777)
            lines.append("CoreDumpDirectory %s/cores" % self.dir)
        if self.mpm in ("event", "worker"):
            lines += ["StartServers 2", "ServerLimit 4", "ThreadsPerChild 8",
                      "MinSpareThreads 8", "MaxSpareThreads 32",
                      "MaxRequestWorkers 32"]
        else:
            lines += ["StartServers 2", "MinSpareServers 2", "MaxSpareServers 4",
                      "MaxRequestWorkers 8"]
        if include_goapi_conf:
            lines.append("Include %s/conf/goapi.conf" % TOP)
            lines.append("CustomLog %s goapi" % self.access_log)
        body = body.replace("@PORT@", str(self.port)).replace("@DIR@", self.dir)
        return "\n".join(lines) + "\n" + body + "\n"

    def write_conf(self, body, modules=(), loglevel="info goapi:debug", include_goapi_conf=True):
        with open(self.conf, "w") as f:
            f.write(self.config_text(body, modules, loglevel, include_goapi_conf))
        os.chmod(self.conf, 0o644)

    # -- process --------------------------------------------------------------
    def env(self):
        return httpd_env(logdir=self.path("logs"))

    def configtest(self):
        return subprocess.run([HTTPD, "-t", "-f", self.conf], capture_output=True,
                              text=True, env=self.env(), timeout=30)

    def start_fails(self, timeout=15):
        """Start a server that must refuse to start: its exit status (a
        negative one is the signal that killed it), never a listener."""
        out = self.path("logs/stdout.log")
        with open(out, "ab") as f:
            proc = subprocess.Popen([HTTPD, "-f", self.conf, "-DFOREGROUND"], stdout=f,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    env=self.env())
            try:
                rc = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
                raise AssertionError("httpd started although it should not:\n"
                                     + self.read(self.error_log))
        return rc

    def start(self, timeout=15):
        self.stdout = open(self.path("logs/stdout.log"), "wb")
        def allow_cores():
            if not SANITIZE:
                resource.setrlimit(resource.RLIMIT_CORE,
                                   (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

        self.proc = subprocess.Popen([HTTPD, "-f", self.conf, "-DFOREGROUND"],
                                     stdout=self.stdout, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=self.env(),
                                     preexec_fn=allow_cores)
        if not wait_for_port(self.host, self.port, time.monotonic() + timeout, self.proc):
            self.stop()
            raise RuntimeError("httpd did not start:\n" + self.read(self.error_log)
                               + self.read(self.path("logs/stdout.log")))
        return self

    def send_signal(self, sig):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def children(self):
        """The pids of the server's child processes (from /proc: no procps
        on a bare Debian)."""
        out = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                with open(stat) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if self.proc and int(fields[1]) == self.proc.pid:
                out.append(int(stat.split("/")[2]))
        return sorted(out)

    def wait_idle(self, limit=1.0):
        """Before an immediate stop or restart: wait (at most limit seconds)
        until the server holds no connection on its port.  That stop closes
        the sockets of busy workers from each child's main thread (the
        event MPM's close_worker_sockets()), which races with a worker that
        is just finishing a connection: httpd then logs AH03093, or the
        child crashes (is_httpd_stop_race())."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and tcp_connections(self.port):
            time.sleep(0.02)
        time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Stop by pid; the whole process group is killed if it hangs."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            if sig in (signal.SIGTERM, signal.SIGHUP):
                self.wait_idle()
            self.send_signal(sig)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                rc = self.proc.wait(5)
        self.stdout.close()
        return rc

    def cleanup(self):
        self.stop()
        if os.environ.get("GOAPI_KEEP_TEMP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- logs ---------------------------------------------------------------
    @staticmethod
    def read(path, offset=0):
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.error_log)
        except FileNotFoundError:
            return 0

    def bad_lines(self, offset=0, allowed=()):
        """Unexpected lines; after a crash, the stacks of its core too.  A
        single crash that is httpd's own stop race (is_httpd_stop_race())
        is reported on stderr, not counted."""
        out = []
        for line in self.read(self.error_log, offset).splitlines():
            if BAD_LEVEL.search(line) and not any(re.search(a, line) for a in allowed):
                out.append(line)
        # under the sanitizers a crash is a report (sanitizer_reports())
        # and this line, once per crash
        deadly = [line for line in out if "Sanitizer:DEADLYSIGNAL" in line]
        if deadly and len(deadly) <= len(self.stop_race_reports()):
            out = [line for line in out if line not in deadly]
        crashes = [line for line in out if "exit signal" in line]
        if crashes:
            stacks = self.core_stacks()
            if (len(crashes) == 1 and len(stacks) == 1
                    and is_httpd_stop_race(stacks[0][1])):
                note_httpd_stop_race(crashes[0])
                out.remove(crashes[0])
            else:
                for core, text in stacks:
                    out += ["--- %s" % core] + text.splitlines()
        return out

    def core_stacks(self):
        """(core, text) for each core a crashed child left: the crashing
        thread's stack, the libraries, then every thread's stack (gdb)."""
        out = []
        for core in sorted(glob.glob(self.path("cores/core*"))):
            try:
                r = subprocess.run(["gdb", "-batch", "-nx", "-ex", "bt",
                                    "-ex", "echo GOAPI-END-OF-CRASHING-THREAD\\n",
                                    "-ex", "info sharedlibrary",
                                    "-ex", "thread apply all bt", HTTPD, core],
                                   capture_output=True, text=True, timeout=120)
                out.append((core, r.stdout))
            except (OSError, subprocess.TimeoutExpired) as e:
                out.append((core, "no stacks (%s)" % e))
        return out

    def sanitizer_reports(self):
        """Reports the sanitizers wrote, but httpd's own stop race."""
        races = self.stop_race_reports()
        for f in races:
            note_httpd_stop_race(f)
        return [f for f in sorted(glob.glob(self.path("logs/san/*san.*"))) if f not in races]

    def stop_race_reports(self):
        return [f for f in sorted(glob.glob(self.path("logs/san/*san.*")))
                if is_httpd_stop_race(self.read(f))]

    def access_lines(self, settle=0.3):
        time.sleep(settle)      # mod_log_config writes after the response
        return self.read(self.access_log).splitlines()

    # -- clients ------------------------------------------------------------
    def request(self, method, path, headers=None, body=None, timeout=10, host=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host or "localhost")
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            return Response(resp.status, resp.reason, resp.getheaders(), data)
        finally:
            conn.close()

    def keepalive_clients(self, clients, requests, make_request):
        """clients threads, each sending requests requests on one kept-alive
        connection; make_request(i) gives (method, path, body).  Returns
        the responses as (status, headers) and the errors raised."""
        out, errors, lock = [], [], threading.Lock()

        def client():
            conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
            try:
                for i in range(requests):
                    method, path, body = make_request(i)
                    conn.request(method, path, body=body)
                    resp = conn.getresponse()
                    resp.read()
                    with lock:
                        out.append((resp.status, resp.getheaders()))
            except Exception as e:      # returned to the test
                errors.append(e)
            finally:
                conn.close()

        run_threads([threading.Thread(target=client) for _ in range(clients)], 60)
        return out, errors

    def raw(self, data, timeout=10):
        """Send bytes as they are; return everything until the server closes."""
        return raw_exchange((self.host, self.port), data, timeout)


def configtest_of(body):
    """apache2 -t of a server with body: its exit status and its output."""
    h = Httpd(body)
    try:
        out = h.configtest()
        return out.returncode, out.stdout + out.stderr
    finally:
        h.cleanup()


def raw_exchange(addr, data, timeout=10):
    """Send bytes as they are to addr; return everything the server sends
    until it closes, resets, or timeout passes."""
    with socket.create_connection(addr, timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                b = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)


def read_to_close(sock):
    """Everything a (blocking) socket delivers until the peer closes."""
    data = b""
    while True:
        b = sock.recv(65536)
        if not b:
            return data
        data += b


def dechunk(body):
    """The payload of a chunked message body."""
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out


def parse_raw(data):
    """Split a raw HTTP/1.x response into (status, headers list, body)."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    if any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in headers):
        body = dechunk(body)
    return Response(status, "", headers, body)


class EchoBackend:
    """A loopback HTTP backend that answers with the request headers it got
    as JSON; paths starting /echo-ids also send back an X-Request-ID of their
    own, /status/NNN answers with that status, /sleep/S answers after S
    seconds, /create... answers 201 with Location and ETag numbered by a
    counter, /big/N sends N bytes, /broken/N sends N of the 2N bytes it
    announced and hangs up."""

    def __init__(self):
        outer = self
        self.requests = []
        self.created = 0
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body_in = self.rfile.read(length) if length else b""
                got = {"method": self.command, "path": self.path,
                       "headers": [[k, v] for k, v in self.headers.items()],
                       "body": body_in.decode("latin-1")}
                with outer.lock:
                    outer.requests.append(got)
                status, extra = 200, []
                if self.path.startswith("/status/"):
                    status = int(self.path.split("/")[2])
                if self.path.startswith("/sleep/"):
                    time.sleep(float(self.path.split("/")[2]))
                data = json.dumps(got).encode()
                if self.path.startswith("/create"):
                    with outer.lock:
                        outer.created += 1
                        n = outer.created
                    status = 201
                    extra = [("Location", "/things/%d" % n), ("ETag", '"thing-%d"' % n),
                             ("Cache-Control", "private")]
                if self.path.startswith("/big/"):
                    data = b"b" * int(self.path.split("/")[2])
                if self.path.startswith("/broken/"):
                    # promises twice what it sends, then hangs up
                    n = int(self.path.split("/")[2])
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(2 * n))
                    self.end_headers()
                    self.wfile.write(b"x" * n)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_response(status)
                for k, v in extra:
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if self.path.startswith("/echo-ids"):
                    self.send_header("X-Request-ID", "backend-own-id")
                    self.send_header("X-Correlation-ID", "backend-own-corr")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass        # a peer cut mid-answer is what some tests do

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class CountingBackend:
    """Executes each POST: counts it under its Idempotency-Key, takes
    `delay` seconds (`first_delay` for the first execution of a key),
    answers 201 with a body of `size` bytes that names the key and which
    execution of it this was."""

    def __init__(self, delay=0.3, size=64, first_delay=None):
        outer = self
        self.counts = {}
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True      # headers and body: no 40 ms stall

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                key = self.headers.get("Idempotency-Key", "")
                with outer.lock:
                    outer.counts[key] = outer.counts.get(key, 0) + 1
                    nth = outer.counts[key]
                time.sleep(first_delay if first_delay is not None and nth == 1 else delay)
                body = json.dumps({"key": key, "run": nth}).encode().ljust(size)
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

            def handle_error(self, request, client_address):
                pass    # its client (a killed child) went away

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def executions(self):
        with self.lock:
            return dict(self.counts)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class RedisServer:
    """A redis-server (or, with sentinel_of, a redis-sentinel watching that
    server as "mymaster") on a free loopback port, in a temp dir of its own,
    in the foreground, stopped by its pid.  persist: an append-only file
    that a restart reads back."""

    SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
    SENTINEL = shutil.which("redis-sentinel") or "/usr/bin/redis-sentinel"

    def __init__(self, password=None, persist=False, replica_of=None, sentinel_of=None,
                 unix=False):
        self.dir = tempfile.mkdtemp(prefix="goapi-redis-")
        os.chmod(self.dir, 0o755)       # the socket, for the server's user
        self.port = free_port()
        self.socket = os.path.join(self.dir, "redis.sock") if unix else None
        self.password = password
        self.proc = None
        conf = ["port %d" % self.port, "bind 127.0.0.1", "dir %s" % self.dir,
                "logfile %s/redis.log" % self.dir, "daemonize no", 'save ""']
        if sentinel_of:
            conf += ["sentinel monitor mymaster 127.0.0.1 %d 1" % sentinel_of.port,
                     "sentinel down-after-milliseconds mymaster 500",
                     "sentinel failover-timeout mymaster 3000"]
        else:
            conf += ["appendonly %s" % ("yes" if persist else "no"),
                     "appendfsync always", "maxmemory-policy noeviction"]
        if password:
            conf.append("requirepass %s" % password)
        if self.socket:
            conf += ["unixsocket %s" % self.socket, "unixsocketperm 777"]
        if replica_of:
            conf.append("replicaof 127.0.0.1 %d" % replica_of.port)
        self.sentinel = bool(sentinel_of)
        self.conf = os.path.join(self.dir, "redis.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(conf) + "\n")

    def start(self, timeout=10):
        binary = self.SENTINEL if self.sentinel else self.SERVER
        self.proc = subprocess.Popen([binary, self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        if not wait_for_port("127.0.0.1", self.port, time.monotonic() + timeout, self.proc):
            raise RuntimeError("redis did not start:\n" + Httpd.read(self.dir + "/redis.log"))
        return self

    def command(self, *args, timeout=2):
        """One command in RESP; the reply, decoded loosely (lists, ints,
        strings; an error as RuntimeError)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            f = s.makefile("rb")
            if self.password and not self.sentinel:
                s.sendall(resp_command("AUTH", self.password))
                resp_reply(f)
            s.sendall(resp_command(*args))
            return resp_reply(f)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PgServer:
    """A PostgreSQL server (Debian's postgresql) initialised in a temp dir
    of its own (as the postgres user when run as root: postgres refuses
    root), on a free loopback port, in the foreground in its own session,
    stopped by its pid (kill() ends the whole process group at once, as a
    crash of its host would).  The superuser "goapi" logs in over TCP with
    PASSWORD.  primary: a synchronous standby of that server, made with
    pg_basebackup (start it, then promote() it).  fsync: as in production
    (off by default: the tests' kills end processes, not the host)."""

    BIN = "/usr/lib/postgresql/15/bin"
    PASSWORD = "pg-s3cret-91c4"

    @classmethod
    def available(cls):
        return os.access(os.path.join(cls.BIN, "postgres"), os.X_OK)

    def __init__(self, primary=None, sync_standby=False, fsync=False):
        self.fsync = fsync
        self.dir = tempfile.mkdtemp(prefix="goapi-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.proc = None
        self.log = os.path.join(self.dir, "postgres.log")
        if IS_ROOT:
            shutil.chown(self.dir, "postgres", "postgres")
        if primary:
            self._run([self.BIN + "/pg_basebackup", "-h", "127.0.0.1", "-p",
                       str(primary.port), "-U", "goapi", "-D", self.data, "-R",
                       "-X", "stream", "-c", "fast", "--no-sync"],
                      env={"PGPASSWORD": self.PASSWORD, "PATH": "/usr/bin:/bin"})
            with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as f:
                # promoted, it waits for no standby of its own
                f.write("primary_conninfo = 'host=127.0.0.1 port=%d user=goapi "
                        "password=%s application_name=standby'\n"
                        "synchronous_standby_names = ''\n"
                        % (primary.port, self.PASSWORD))
        else:
            pwfile = os.path.join(self.dir, "pw")
            with open(pwfile, "w") as f:
                f.write(self.PASSWORD + "\n")
            if IS_ROOT:
                shutil.chown(pwfile, "postgres", "postgres")
            self._run([self.BIN + "/initdb", "-D", self.data, "-U", "goapi", "--pwfile",
                       pwfile, "--auth-local=trust", "--auth-host=scram-sha-256",
                       "--no-sync", "-E", "UTF8", "--locale=C"])
            os.unlink(pwfile)
            with open(os.path.join(self.data, "pg_hba.conf"), "a") as f:
                f.write("host replication goapi 127.0.0.1/32 scram-sha-256\n")
            if sync_standby:
                with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as f:
                    f.write("synchronous_standby_names = 'standby'\n"
                            "synchronous_commit = on\n")

    def _as_postgres(self):
        return {"user": "postgres", "group": "postgres", "extra_groups": []} if IS_ROOT \
            else {}

    def _run(self, argv, env=None):
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       env=env, timeout=60, cwd=self.dir, **self._as_postgres())

    def start(self, timeout=20):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [self.BIN + "/postgres", "-D", self.data, "-p", str(self.port), "-k", self.dir,
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=%s" % ("on" if self.fsync
                                                                          else "off"),
                 "-c", "lc_messages=C",
                 "-c", "max_connections=200"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.dir,
                **self._as_postgres())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres did not start:\n" + Httpd.read(self.log))
            if self.sql("SELECT 1", check=False).returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError("postgres did not answer:\n" + Httpd.read(self.log))

    def sql(self, query, check=True, db="postgres"):
        """psql over the local socket: its completed process (stdout: the
        rows, unaligned, without headers)."""
        return subprocess.run(["/usr/bin/psql", "-h", self.dir, "-p", str(self.port), "-U",
                               "goapi", "-d", db, "-Atq", "-v", "ON_ERROR_STOP=1", "-c", query],
                              capture_output=True, text=True, timeout=30, check=check,
                              **self._as_postgres())

    def value(self, query):
        return self.sql(query).stdout.strip()

    def promote(self):
        self._run([self.BIN + "/pg_ctl", "promote", "-w", "-D", self.data])

    def kill(self):
        """kill -9 of the postmaster and every server process of it."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        # its server processes leave with it (they are its process group)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self._group_alive():
            time.sleep(0.05)

    def _group_alive(self):
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                with open(stat) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if self.proc and int(fields[2]) == self.proc.pid:
                return True
        return False

    def stop(self):
        """A fast shutdown (SIGINT), by pid."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def resp_command(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def resp_reply(f):
    line = f.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [resp_reply(f) for _ in range(n)]
    raise RuntimeError("bad RESP line %r" % line)


class H2Client:
    """Just enough HTTP/2 (cleartext, prior knowledge) to send GET requests
    on one connection and see their answers: no Huffman, no dynamic table
    on our side; answers are recognised by their frames."""

    PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

    def __init__(self, host, port, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.sendall(self.PREFACE + self.frame(4, 0, 0, b""))
        self.next_stream = 1
        self.goaway = False
        self.buf = b""

    @staticmethod
    def frame(ftype, flags, stream, payload):
        return (len(payload).to_bytes(3, "big") + bytes([ftype, flags])
                + stream.to_bytes(4, "big") + payload)

    @staticmethod
    def literal(name, value):
        # literal header field without indexing, new name (RFC 7541 6.2.2)
        name, value = name.encode(), value.encode()
        return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value

    def get(self, path, headers=None):
        """Send a GET; return (status byte seen, body) of its answer."""
        sid = self.next_stream
        self.next_stream += 2
        block = b"\x82\x86"                        # :method GET, :scheme http
        block += b"\x04" + bytes([len(path)]) + path.encode()   # :path
        block += b"\x01\x09localhost"               # :authority
        for k, v in (headers or {}).items():
            block += self.literal(k.lower(), v)
        self.sock.sendall(self.frame(1, 0x05, sid, block))   # END_STREAM|END_HEADERS
        status, body = None, b""
        while True:
            ftype, flags, stream, payload = self.read_frame()
            if ftype == 7:                          # GOAWAY
                self.goaway = True
                return status, body
            if ftype == 4 and not flags & 1:        # SETTINGS: acknowledge
                self.sock.sendall(self.frame(4, 1, 0, b""))
            if stream != sid:
                continue
            if ftype == 1:                          # HEADERS
                status = payload[0]                 # 0x88 is ":status 200"
            elif ftype == 0:                        # DATA
                body += payload
            if flags & 1:                           # END_STREAM
                return status, body

    def read_frame(self):
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(self.buf[:3], "big"):
            b = self.sock.recv(65536)
            if not b:
                raise ConnectionError("h2 connection closed")
            self.buf += b
        n = int.from_bytes(self.buf[:3], "big")
        ftype, flags = self.buf[3], self.buf[4]
        stream = int.from_bytes(self.buf[5:9], "big") & 0x7fffffff
        payload, self.buf = self.buf[9:9 + n], self.buf[9 + n:]
        return ftype, flags, stream, payload

    def close(self):
        self.sock.close()


class HttpdTestCase(unittest.TestCase):
    """Base class: one server per class (CONF, MODULES, MPM), error log
    checked after every test.  A test may append regexes to self.allowed_errors."""

    CONF = ""
    MODULES = ()
    MPM = "event"
    FILES = None
    INCLUDE_GOAPI_CONF = True           # the shipped conf/goapi.conf

    @classmethod
    def conf_body(cls):
        return cls.CONF

    @classmethod
    def setUpClass(cls):
        cls.backend = None
        cls.before_start()
        cls.httpd = Httpd(cls.conf_body(), modules=cls.MODULES, mpm=cls.MPM,
                          files=cls.FILES, include_goapi_conf=cls.INCLUDE_GOAPI_CONF)
        try:
            cls.httpd.start()
        except Exception:
            cls.httpd.cleanup()
            cls.after_stop()
            raise

    @classmethod
    def before_start(cls):
        pass

    @classmethod
    def after_stop(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        httpd = cls.httpd
        rc = httpd.stop()
        reports = httpd.sanitizer_reports()
        stop_errors = httpd.bad_lines(cls._log_offset if hasattr(cls, "_log_offset") else 0)
        text = "".join(Httpd.read(r) for r in reports)
        httpd.cleanup()
        cls.after_stop()
        if reports:
            raise AssertionError("sanitizer reports:\n" + text)
        if stop_errors:
            raise AssertionError("error lines at stop:\n" + "\n".join(stop_errors))
        if rc not in (0, None):
            raise AssertionError("httpd exited with %r" % rc)

    def setUp(self):
        self.allowed_errors = []
        self._offset = self.httpd.log_size()

    def tearDown(self):
        time.sleep(0.05)
        bad = self.httpd.bad_lines(self._offset, self.allowed_errors)
        type(self)._log_offset = self.httpd.log_size()
        if bad:
            self.fail("unexpected error log lines:\n" + "\n".join(bad))

    # helpers
    def get(self, path, headers=None, **kw):
        return self.httpd.request("GET", path, headers=headers, **kw)

    def assertUUID7(self, value):
        self.assertIsNotNone(value)
        self.assertRegex(value, UUID7)

    def assertIDs(self, resp, request_id=None, correlation_id=None,
                  rid_header="X-Request-ID", cid_header="X-Correlation-ID"):
        """Exactly one request and one correlation ID on the response."""
        rids, cids = resp.all(rid_header), resp.all(cid_header)
        self.assertEqual(len(rids), 1, "request ID headers: %r" % (resp.headers,))
        self.assertEqual(len(cids), 1, "correlation ID headers: %r" % (resp.headers,))
        if request_id is None:
            self.assertUUID7(rids[0])
        else:
            self.assertEqual(rids[0], request_id)
        self.assertEqual(cids[0], correlation_id or rids[0])
        return rids[0]


class BackendTestCase(HttpdTestCase):
    """A server that proxies to a loopback EchoBackend (cls.backend, its
    port @BACKEND@ in CONF), with mod_proxy loaded, and a port nothing
    listens on (cls.dead_port)."""

    MODULES = ("proxy", "proxy_http")

    @classmethod
    def before_start(cls):
        cls.backend = EchoBackend()
        cls.dead_port = free_port()

    @classmethod
    def after_stop(cls):
        cls.backend.stop()

    @classmethod
    def conf_body(cls):
        """CONF with @BACKEND@ as the backend's port."""
        return cls.CONF.replace("@BACKEND@", str(cls.backend.port))
