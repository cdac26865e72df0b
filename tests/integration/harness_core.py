# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""The real httpd of the integration tests: its configuration, start and
stop by pid, free loopback ports, the error log's bad lines, raw HTTP/1.1
exchanges and their parsing."""

import glob
import http.client
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from harness_crash import is_httpd_stop_race, note_httpd_stop_race

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


def processes():
    """(pid, parent pid, process group) of every process, from /proc (no
    procps on a bare Debian)."""
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            yield int(stat.split("/")[2]), int(fields[1]), int(fields[2])
        except (OSError, IndexError, ValueError):
            continue


def self_signed_cert():
    """A key and a self-signed certificate for localhost, as an Httpd's
    FILES entries (conf/key.pem, conf/cert.pem)."""
    tmp = tempfile.mkdtemp(prefix="goapi-cert-")
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-subj", "/CN=localhost", "-days", "2",
                        "-keyout", os.path.join(tmp, "key.pem"),
                        "-out", os.path.join(tmp, "cert.pem")],
                       check=True, capture_output=True, timeout=60)
        files = {}
        for n in ("cert", "key"):
            with open(os.path.join(tmp, "%s.pem" % n)) as f:
                files["conf/%s.pem" % n] = (f.read(), 0o644)
        return files
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
        if not self.proc:
            return []
        return sorted(pid for pid, ppid, _ in processes() if ppid == self.proc.pid)

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

    def wait_log(self, pattern, timeout=10.0):
        """The error log once it matches pattern (a regex), waiting up to
        timeout: the port accepts before post_config has logged (the
        listeners are opened first).  The log as it is when time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.read(self.error_log)
            if re.search(pattern, text) or time.monotonic() > deadline:
                return text
            time.sleep(0.02)

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
