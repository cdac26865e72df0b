# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""The "make run" server (scripts/run.sh with conf/run.conf and
conf/goapi.conf): the README's curl examples, and Ctrl-C."""

import glob
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import (BAD_LEVEL, MODULE, TOP, UUID7, Httpd, free_port, httpd_env,
                     is_httpd_stop_race, note_httpd_stop_race, tcp_connections,
                     wait_for_port)


def readme_examples():
    """(command, expected) pairs: a ```sh block holding one curl command,
    followed directly by a ```http block with the expected answer."""
    text = open(os.path.join(TOP, "README.md")).read()
    pairs = re.findall(r"```sh\n(curl [^\n]*)\n```\n```http\n(.*?)```", text, re.S)
    return pairs


def parse_curl_i(out):
    head, _, body = out.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), []).append(v.strip())
    return lines[0], headers, body


class MakeRunTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="goapi-run-")
        os.chmod(cls.root, 0o755)   # a checkout the server's user can reach
        cls.port = free_port()
        cls.out_path = os.path.join(cls.root, "console.log")
        cls.out = open(cls.out_path, "wb")
        env = httpd_env({"GOAPI_PORT": "127.0.0.1:%d" % cls.port,
                         "GOAPI_RUN_ROOT": os.path.join(cls.root, "srv"),
                         "GOAPI_MODULE": MODULE}, logdir=cls.root)
        # Its own session, like a terminal's foreground job: Ctrl-C reaches
        # the whole process group.
        cls.proc = subprocess.Popen([os.path.join(TOP, "scripts", "run.sh")], env=env,
                                    stdout=cls.out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        if not wait_for_port("127.0.0.1", cls.port, time.monotonic() + 20, cls.proc):
            cls.tearDownClass()
            raise RuntimeError("make run's server did not start")

    @classmethod
    def tearDownClass(cls):
        if cls.proc.poll() is None:
            os.killpg(cls.proc.pid, signal.SIGKILL)
            cls.proc.wait(5)
        cls.out.close()
        shutil.rmtree(cls.root, ignore_errors=True)

    def console(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def test_1_readme_curl_examples(self):
        pairs = readme_examples()
        self.assertGreaterEqual(len(pairs), 8, "README examples not found")
        for cmd, expected in pairs:
            with self.subTest(cmd=cmd):
                argv = shlex.split(cmd.replace("http://localhost:8080",
                                               "http://127.0.0.1:%d" % self.port))
                self.assertEqual(argv[0], "curl")
                res = subprocess.run(argv[:1] + ["-sS"] + argv[1:], capture_output=True,
                                     timeout=20)
                self.assertEqual(res.returncode, 0, res.stderr)
                stdout = res.stdout.decode("utf-8")
                status, headers, body = parse_curl_i(stdout)
                exp_head, _, exp_body = expected.partition("\n\n")
                exp_lines = exp_head.rstrip("\n").split("\n")
                self.assertEqual(status, exp_lines[0])
                for line in exp_lines[1:]:
                    name, _, value = line.partition(":")
                    got = headers.get(name.strip().lower())
                    self.assertIsNotNone(got, "%s missing" % name)
                    self.assertEqual(len(got), 1, name)
                    value = value.strip()
                    if value == "<uuidv7>":
                        self.assertRegex(got[0], UUID7)
                    elif value == "<same as X-Request-ID>":
                        self.assertEqual(got[0], headers["x-request-id"][0])
                    else:
                        self.assertEqual(got[0], value)
                if exp_body:
                    self.assertEqual(body, exp_body)
                self.assertNotIn("<script>", stdout)

    def test_2_access_log_on_console(self):
        time.sleep(0.3)
        self.assertRegex(self.console(),
                         r"request_id=req-local-001 correlation_id=checkout-flow-001 "
                         r"path=/healthz method=GET status=200 bytes=3 duration_ms=\d+ "
                         r"client=127\.0\.0\.1")

    def test_2b_shipped_mpm_cuts_slow_headers(self):
        # conf/mpm.conf's event MPM with conf/goapi.conf's read deadline (5 s):
        # a client that sends its headers a byte a second gets 408 at the
        # deadline, while 200 idle kept-alive connections are open and the
        # probes keep answering
        idle = []
        try:
            for _ in range(200):
                c = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                c.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                self.assertIn(b" 200 ", c.recv(4096))
                idle.append(c)
            s = socket.create_connection(("127.0.0.1", self.port), timeout=15)
            t0 = time.monotonic()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            answer = b""
            while time.monotonic() - t0 < 12:
                try:
                    s.sendall(b"a")
                except OSError:
                    break
                r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                    "http://127.0.0.1:%d/healthz" % self.port],
                                   capture_output=True, text=True, timeout=10)
                self.assertEqual(r.stdout, "200")
                s.settimeout(1.0)
                try:
                    chunk = s.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    break
                answer += chunk
                if not chunk or b"\r\n\r\n" in answer:
                    break
            took = time.monotonic() - t0
            s.close()
            self.assertTrue(answer.startswith(b"HTTP/1.1 408 "), answer[:80])
            self.assertAlmostEqual(took, 5.0, delta=1.5)
        finally:
            for c in idle:
                c.close()
            # the server has let them go before the next test stops it
            deadline = time.monotonic() + 10
            while tcp_connections(self.port) and time.monotonic() < deadline:
                time.sleep(0.1)

    def test_3_ctrl_c_stops_cleanly(self):
        os.killpg(self.proc.pid, signal.SIGINT)
        rc = self.proc.wait(15)
        self.assertEqual(rc, 0)
        out = self.console()
        # Ctrl-C is the graceful stop (GoapiGracefulStopSignals On)
        self.assertIn("caught SIGWINCH, shutting down gracefully", out)
        self.assertIn("GOAPI00074: SIGINT was taken as a graceful stop", out)
        bad = [l for l in out.splitlines() if BAD_LEVEL.search(l)]
        # under the sanitizers, httpd's own stop race (README, Known
        # problems) is noted, not counted; any other report fails
        reports = glob.glob(os.path.join(self.root, "san", "*san.*"))
        races = [f for f in reports if is_httpd_stop_race(Httpd.read(f))]
        for f in races:
            note_httpd_stop_race(f)
        if races and len(races) == len(reports):
            bad = [l for l in bad if "Sanitizer:DEADLYSIGNAL" not in l]
            reports = []
        self.assertEqual(bad, [])
        self.assertNotIn("script>", out)
        self.assertEqual(reports, [])
