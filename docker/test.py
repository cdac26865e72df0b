#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""make docker-test: the image, proven with a real Docker daemon.

Starts dockerd if it is not running, makes the base image (docker/
base-image.sh), builds docker/Dockerfile, runs the image with host
networking on a free loopback port, checks routes and IDs through it, then
drives a rolling update as kubelet would: the preStop drain file, /readyz
503 while /healthz stays 200, the load balancer (here: the load) stopping
new requests, then "docker stop" (SIGWINCH) with slow requests in flight;
and the same without a preStop hook, GoapiShutdownDelay covering a load
balancer that learns of the stop late.
Then two containers of the image share one ledger in a Redis container
(docker/redis.Dockerfile): a retry answered by the other container is a
replay, also after one container is replaced.
Ends with "N passed, N failed".
"""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest
import http.client

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from harness import UUID7, free_port, parse_raw, read_to_close  # noqa: E402

IMAGE = "mod_goapi:test"
REDIS_IMAGE = "mod_goapi-redis:test"
SHUTDOWN_WINDOW = 3.0           # GoapiShutdownTimeout in conf/goapi.conf
READINESS_PERIOD = 2.0          # docker/k8s.yaml
LIVENESS_PERIOD = 10.0
BAD = re.compile(r"\[(error|crit|alert|emerg)\]|\[[a-z_0-9]+:(error|crit|alert|emerg)\]"
                 r"|exit signal")


def sh(*cmd, timeout=900, check=True):
    res = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s%s" % (" ".join(cmd), res.returncode,
                                                      res.stdout[-3000:], res.stderr[-3000:]))
    return res


class Dockerd:
    """The daemon: the running one, or one started (and stopped) here."""

    def __init__(self):
        self.proc = None

    def up(self):
        if sh("docker", "info", check=False, timeout=30).returncode == 0:
            return
        log = open("/tmp/goapi-dockerd.log", "ab")
        for args in ([], ["--storage-driver=vfs"]):
            self.proc = subprocess.Popen(["dockerd"] + args, stdout=log, stderr=log,
                                         start_new_session=True)
            for _ in range(60):
                if sh("docker", "info", check=False, timeout=30).returncode == 0:
                    return
                if self.proc.poll() is not None:
                    break
                time.sleep(0.5)
            self.down()
        raise RuntimeError("dockerd did not start (see /tmp/goapi-dockerd.log)")

    def down(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


def get(port, path, headers=None, timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def docker_ready(dockerd):
    """The daemon up, the base image made, a container run.  What this
    machine cannot do is a skip, said as such; what the image or the
    package does wrong is a failure."""
    try:
        dockerd.up()
    except RuntimeError as e:
        raise unittest.SkipTest("this machine cannot start dockerd: %s" % e)
    try:
        sh(os.path.join(HERE, "base-image.sh"))
    except RuntimeError as e:
        dockerd.down()
        raise unittest.SkipTest("no base image (no registry, no Debian mirror): %s" % e)
    probe = sh("docker", "run", "--rm", "--network", "host", "debian:bookworm-slim",
               "true", check=False, timeout=120)
    if probe.returncode != 0:
        dockerd.down()
        raise unittest.SkipTest("this machine cannot run containers: %s"
                                % probe.stderr.strip()[-300:])


class ContainerTest(unittest.TestCase):
    dockerd = Dockerd()

    @classmethod
    def setUpClass(cls):
        docker_ready(cls.dockerd)
        t0 = time.monotonic()
        sh("docker", "build", "--network", "host", "-f", os.path.join(HERE, "Dockerfile"),
           "-t", IMAGE, TOP, timeout=1800)
        cls.build_seconds = time.monotonic() - t0
        cls.size = int(sh("docker", "image", "inspect", "--format", "{{.Size}}",
                          IMAGE).stdout.strip())
        cls.port = free_port()
        cls.name = "goapi-test-%d" % os.getpid()
        t0 = time.monotonic()
        sh("docker", "run", "-d", "--network", "host", "-e", "GOAPI_PORT=%d" % cls.port,
           "--name", cls.name, IMAGE)
        cls.startup = None
        while time.monotonic() - t0 < 30:
            try:
                if get(cls.port, "/startupz", timeout=1)[0] == 200:
                    cls.startup = time.monotonic() - t0
                    break
            except OSError:
                pass
            time.sleep(0.05)
        print("image %s: %.1f MB, built in %.0f s; docker run to /startupz 200: %s"
              % (IMAGE, cls.size / 1e6, cls.build_seconds,
                 "%.2f s" % cls.startup if cls.startup else "never"), flush=True)

    @classmethod
    def tearDownClass(cls):
        sh("docker", "rm", "-f", cls.name, check=False)

    def logs(self):
        res = sh("docker", "logs", self.name, check=False)
        return res.stdout + res.stderr

    # ---------------------------------------------------------------------
    def test_1_started(self):
        self.assertIsNotNone(self.startup, self.logs())
        self.assertLess(self.startup, 10)
        # the image's HEALTHCHECK (every 10 s) reports the container healthy
        status = None
        for _ in range(60):
            status = sh("docker", "inspect", "--format", "{{.State.Health.Status}}",
                        self.name).stdout.strip()
            if status == "healthy":
                break
            time.sleep(0.5)
        self.assertEqual(status, "healthy")

    def test_2_routes_and_ids(self):
        st, h, body = get(self.port, "/")
        self.assertEqual((st, body), (200, b"parcel service is reachable\n"))
        self.assertRegex(h["x-request-id"], UUID7)
        self.assertEqual(h["x-correlation-id"], h["x-request-id"])
        for path, want in (("/healthz", b"ok\n"), ("/readyz", b"ready\n"),
                           ("/startupz", b"started\n"),
                           ("/parcels/PX-1", b"parcel lookup accepted for PX-1\n")):
            st, h, body = get(self.port, path, {"X-Request-ID": "req-docker-1",
                                                "X-Correlation-ID": "corr-docker-1"})
            self.assertEqual((st, body), (200, want), path)
            self.assertEqual(h["x-request-id"], "req-docker-1")
            self.assertEqual(h["x-correlation-id"], "corr-docker-1")
            self.assertEqual(h["content-type"], "text/plain; charset=utf-8")
        st, h, _ = get(self.port, "/healthz", {"X-Request-ID": "bad id <script>"})
        self.assertRegex(h["x-request-id"], UUID7)
        self.assertEqual(get(self.port, "/nope")[0], 404)

    def test_3_idempotent_dispatch(self):
        answers = []
        for _ in range(3):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("POST", "/parcels/p-9/dispatch", body=b"{}",
                         headers={"Idempotency-Key": '"docker-key-1"'})
            r = conn.getresponse()
            answers.append((r.status, r.getheader("Location"), r.read(),
                            r.getheader("Idempotent-Replayed")))
            conn.close()
        self.assertEqual(answers[0][0], 201)
        self.assertEqual({a[:3] for a in answers}, {answers[0][:3]})
        self.assertEqual([a[3] for a in answers], [None, "true", "true"])
        # counted in the image's metrics: one execution, two replays (a
        # request is counted once logged, just after its response)
        deadline = time.monotonic() + 5
        while True:
            st, h, body = get(self.port, "/metrics")
            if b'http_route="/parcels/{parcelID}/dispatch",network_protocol_version="1.1",' \
               b'url_scheme="http"} 3' in body or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        text = body.decode()
        self.assertRegex(text, r'(?m)^goapi_idempotency_requests_total\{outcome="executed"\} 1$')
        self.assertRegex(text, r'(?m)^goapi_idempotency_requests_total\{outcome="replayed"\} 2$')
        self.assertRegex(text, r'(?m)^http_server_request_duration_seconds_count\{'
                               r'http_request_method="POST",http_response_status_code="201",'
                               r'http_route="/parcels/\{parcelID\}/dispatch",'
                               r'network_protocol_version="1.1",url_scheme="http"\} 3$')

    def test_4_access_log_on_stdout(self):
        time.sleep(0.3)
        self.assertRegex(self.logs(), r"request_id=req-docker-1 correlation_id=corr-docker-1 "
                                      r"path=/healthz method=GET status=200")

    def test_5_probes_fast_path_and_mpm(self):
        # the image enables only what the service uses: "apachectl -t"
        # says the probes take the fast path, and the shipped MPM settings
        # are the ones in force
        # -c: after the configuration, whose own LogLevel would win over -C
        res = sh("docker", "exec", self.name, "/usr/sbin/apache2", "-t", "-c",
                 "LogLevel goapi:info", check=False)
        self.assertIn("Syntax OK", res.stdout + res.stderr)
        self.assertRegex(res.stderr, r"GOAPI00066: the main server: GET /healthz, /livez, "
                                     r"/readyz and /startupz of GoapiProbes On or mapped "
                                     r"to SetHandler goapi")
        self.assertRegex(sh("docker", "exec", self.name, "/usr/sbin/apache2", "-V",
                            check=False).stdout, r"Server MPM:\s+event")
        conf = sh("docker", "exec", self.name, "cat",
                  "/etc/apache2/conf-enabled/goapi-mpm.conf").stdout
        self.assertIn("AsyncRequestWorkerFactor 40", conf)
        # the image carries the license
        lic = sh("docker", "exec", self.name, "head", "-c", "200",
                 "/usr/share/doc/mod_goapi/LICENSE").stdout
        self.assertIn("Apache License", lic)

    def test_8_docker_stop_sigterm_drains(self):
        """A runtime that sends SIGTERM (here: --stop-signal SIGTERM) drains
        as well: the request in flight completes."""
        port, name = free_port(), self.name + "-term"
        sh("docker", "run", "-d", "--network", "host", "-e", "GOAPI_PORT=%d" % port,
           "--stop-signal", "SIGTERM", "--name", name, IMAGE)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if get(port, "/startupz", timeout=1)[0] == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.05)
            out = {}

            def slow():
                s = socket.create_connection(("127.0.0.1", port), timeout=15)
                s.sendall(b"POST /parcels/term-1/dispatch HTTP/1.1\r\nHost: localhost\r\n"
                          b"Idempotency-Key: term-1\r\nContent-Length: 5\r\n"
                          b"Connection: close\r\n\r\n")
                for _ in range(5):              # 1 s of body
                    time.sleep(0.2)
                    s.sendall(b"x")
                out["status"] = parse_raw(read_to_close(s)).status
                s.close()

            t = threading.Thread(target=slow)
            t.start()
            time.sleep(0.3)
            t0 = time.monotonic()
            sh("docker", "stop", "-t", "10", name, timeout=60)
            took = time.monotonic() - t0
            t.join(15)
            self.assertEqual(out.get("status"), 201)
            self.assertLess(took, SHUTDOWN_WINDOW + 1.0)
            state = json.loads(sh("docker", "inspect", "--format", "{{json .State}}",
                                  name).stdout)
            self.assertEqual(state["ExitCode"], 0)
            logs = sh("docker", "logs", name, check=False)
            text = logs.stdout + logs.stderr
            self.assertIn("GOAPI00074: SIGTERM was taken as a graceful stop", text)
            self.assertEqual([l for l in text.splitlines() if BAD.search(l)], [])
        finally:
            sh("docker", "rm", "-f", name, check=False)

    def test_9_rolling_update(self):
        port, results, lock = self.port, [], threading.Lock()
        lb_routes = threading.Event()           # the load balancer still sends here
        lb_routes.set()

        def load():
            conn = None
            for _ in range(5000):               # bounded
                if not lb_routes.is_set():
                    break
                t = time.monotonic()
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    conn.request("GET", "/parcels/load-1")
                    r = conn.getresponse()
                    r.read()
                    ok = r.status == 200
                except (OSError, http.client.HTTPException):
                    ok, conn = False, None
                with lock:
                    results.append((t, ok))
            if conn:
                conn.close()

        def slow_dispatch(i, out):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=15)
                s.sendall(b"POST /parcels/slow-%d/dispatch HTTP/1.1\r\nHost: localhost\r\n"
                          b"Idempotency-Key: slow-%d\r\nContent-Length: 10\r\n"
                          b"Connection: close\r\n\r\n" % (i, i))
                for _ in range(10):             # 2 s of body, one byte at a time
                    time.sleep(0.2)
                    s.sendall(b"x")
                out[i] = parse_raw(read_to_close(s)).status
                s.close()
            except OSError as e:
                out[i] = repr(e)

        # kubelet's probes, at the periods of docker/k8s.yaml: readiness
        # every 2 s (one failure takes the pod out of the endpoints),
        # liveness every 10 s; the first poll of each at once
        probes = {"readyz": [], "healthz": []}
        stop_probing = threading.Event()

        def prober():
            next_ready = next_live = time.monotonic()
            while not stop_probing.is_set():
                now = time.monotonic()
                for name, due, period in (("readyz", next_ready, READINESS_PERIOD),
                                          ("healthz", next_live, LIVENESS_PERIOD)):
                    if now >= due:
                        try:
                            st = get(port, "/" + name, timeout=1)[0]
                        except OSError:
                            st = None
                        probes[name].append((now, st))
                        if name == "readyz":
                            next_ready = now + period
                            if st != 200:
                                lb_routes.clear()   # endpoints updated
                        else:
                            next_live = now + period
                time.sleep(0.05)

        loaders = [threading.Thread(target=load) for _ in range(4)]
        probe_thread = threading.Thread(target=prober)
        probe_thread.start()
        for t in loaders:
            t.start()
        time.sleep(1.0)
        # preStop: the drain file; the readiness probe notices within one period
        sh("docker", "exec", self.name, "touch", "/tmp/goapi-drain")
        t_drain = time.monotonic()
        for t in loaders:
            t.join(30)
        self.assertFalse(lb_routes.is_set(), "the readiness probe never failed")
        removed = [t for (t, st) in probes["readyz"] if st == 503][0]
        self.assertLessEqual(removed - t_drain, READINESS_PERIOD + 1.0)
        st, _, body = get(port, "/readyz")
        self.assertEqual((st, body), (503, b"draining\n"))
        self.assertEqual(get(port, "/healthz")[0], 200)      # still alive
        # requests still in flight when the stop signal comes
        slow = {}
        slowers = [threading.Thread(target=slow_dispatch, args=(i, slow)) for i in range(3)]
        for t in slowers:
            t.start()
        time.sleep(0.4)
        t0 = time.monotonic()
        sh("docker", "stop", "-t", "10", self.name, timeout=60)
        took = time.monotonic() - t0
        for t in slowers:
            t.join(20)
        stop_probing.set()
        probe_thread.join(10)
        # liveness never failed while the pod drained
        self.assertTrue(all(st == 200 for (t, st) in probes["healthz"] if t < t0),
                        probes["healthz"])

        before = [ok for (t, ok) in results if t < t_drain]
        print("rolling update: %d requests before the drain, %d failed; %d slow requests "
              "in flight: %r; docker stop took %.2f s" % (
                  len(before), before.count(False), len(slow), sorted(slow.values()), took),
              flush=True)
        self.assertGreater(len(before), 100)
        self.assertEqual(before.count(False), 0)
        self.assertEqual(sorted(slow.values()), [201, 201, 201])
        self.assertLess(took, SHUTDOWN_WINDOW + 1.0)
        state = json.loads(sh("docker", "inspect", "--format", "{{json .State}}",
                              self.name).stdout)
        self.assertEqual(state["ExitCode"], 0)
        logs = self.logs()
        self.assertIn("caught SIGWINCH, shutting down gracefully", logs)
        self.assertEqual([l for l in logs.splitlines() if BAD.search(l)], [])


    def test_9b_rolling_update_with_shutdown_delay(self):
        """Kubernetes without a preStop hook: the stop signal comes at once,
        and the load balancer learns of it late (the next readiness poll,
        then the endpoints change spreading).  GoapiShutdownDelay fails
        /readyz at once and serves on, closing kept-alive connections after
        their next answer, so that no request is lost; then the graceful
        stop ends within delay + window."""
        delay, lag = 5.0, 1.0
        port, name = free_port(), self.name + "-delay"
        sh("docker", "run", "-d", "--network", "host", "-e", "GOAPI_PORT=%d" % port,
           "-e", "GOAPI_SHUTDOWN_DELAY=%ds" % delay, "--name", name, IMAGE)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if get(port, "/startupz", timeout=1)[0] == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.05)
            results, lock = [], threading.Lock()
            lb_routes = threading.Event()
            lb_routes.set()

            def load():
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                for _ in range(20000):          # bounded
                    if not lb_routes.is_set():
                        break
                    t = time.monotonic()
                    try:
                        conn.request("GET", "/parcels/load-1")
                        r = conn.getresponse()
                        r.read()
                        res = (r.status, r.getheader("Connection"))
                    except (OSError, http.client.HTTPException) as e:
                        res = (repr(e), None)
                        conn.close()
                    with lock:
                        results.append((t, res))
                conn.close()

            ready, stop_probing = [], threading.Event()

            def prober():
                # kubelet: readiness every READINESS_PERIOD; the endpoints
                # change reaches the load balancer `lag` after the failure
                for _ in range(200):            # bounded
                    if stop_probing.is_set():
                        break
                    try:
                        st, _, body = get(port, "/readyz", timeout=1)
                    except OSError:
                        st, body = None, b""
                    ready.append((time.monotonic(), st, body))
                    if st != 200 and lb_routes.is_set():
                        time.sleep(lag)
                        lb_routes.clear()
                    stop_probing.wait(READINESS_PERIOD)

            loaders = [threading.Thread(target=load) for _ in range(4)]
            probe_thread = threading.Thread(target=prober)
            probe_thread.start()
            for t in loaders:
                t.start()
            time.sleep(1.0)
            stop = {}

            def stopper():
                t0 = time.monotonic()
                sh("docker", "stop", "-t", "20", name, timeout=60)
                stop["took"] = time.monotonic() - t0

            t_stop = time.monotonic()
            stopping = threading.Thread(target=stopper)
            stopping.start()
            # /readyz fails at once, with the reason
            failed = None
            for _ in range(100):
                st, _, body = get(port, "/readyz", timeout=1)
                if st == 503:
                    failed = time.monotonic() - t_stop
                    self.assertEqual(body, b"shutting down\n")
                    break
                time.sleep(0.01)
            self.assertIsNotNone(failed, "/readyz never failed")
            for t in loaders:
                t.join(30)
            stopping.join(60)
            stop_probing.set()
            probe_thread.join(10)
            self.assertFalse(lb_routes.is_set(), "the readiness probe never failed")
            after = [res for (t, res) in results if t >= t_stop]
            lost = [res for (t, res) in results if res[0] != 200]
            closes = sum(1 for res in after if res[1] == "close")
            print("rolling update with GoapiShutdownDelay %gs: /readyz 503 %.0f ms after "
                  "the signal; %d requests, %d after it (%d with Connection: close), "
                  "%d lost; docker stop took %.2f s" % (
                      delay, failed * 1000, len(results), len(after), closes, len(lost),
                      stop.get("took", -1)), flush=True)
            self.assertEqual(lost, [])
            self.assertGreater(len(after), 20)      # served on after the signal
            self.assertGreater(closes, 0)
            self.assertIn("took", stop)
            self.assertGreaterEqual(stop["took"], delay)
            self.assertLess(stop["took"], delay + SHUTDOWN_WINDOW + 1.0)
            state = json.loads(sh("docker", "inspect", "--format", "{{json .State}}",
                                  name).stdout)
            self.assertEqual(state["ExitCode"], 0)
            logs = sh("docker", "logs", name, check=False)
            text = logs.stdout + logs.stderr
            self.assertEqual([l for l in text.splitlines() if BAD.search(l)], [])
        finally:
            sh("docker", "rm", "-f", name, check=False)

def post(port, path, key, timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body=b"{}", headers={"Idempotency-Key": key})
        r = conn.getresponse()
        return r.status, r.getheader("Location"), r.read(), r.getheader("Idempotent-Replayed")
    finally:
        conn.close()


class SharedLedgerTest(unittest.TestCase):
    """Two replicas of the image, one Redis: the deployment of k8s.yaml."""

    @classmethod
    def setUpClass(cls):
        if not getattr(ContainerTest, "port", None):
            raise unittest.SkipTest("the image was not built (see ContainerTest)")
        sh("docker", "build", "--network", "host", "-f", os.path.join(HERE, "redis.Dockerfile"),
           "-t", REDIS_IMAGE, HERE, timeout=1800)
        cls.redis_port = free_port()
        cls.names = []
        cls.redis = cls.run_container(REDIS_IMAGE, "redis", [], ["--port", str(cls.redis_port),
                                                                 "--bind", "127.0.0.1"])
        cls.ports = [free_port(), free_port()]
        cls.replicas = [cls.replica(i) for i in range(2)]

    @classmethod
    def run_container(cls, image, role, env, args):
        name = "goapi-%s-%d-%d" % (role, os.getpid(), len(cls.names))
        cmd = ["docker", "run", "-d", "--network", "host", "--name", name]
        for e in env:
            cmd += ["-e", e]
        sh(*(cmd + [image] + args))
        cls.names.append(name)
        return name

    @classmethod
    def replica(cls, i):
        name = cls.run_container(IMAGE, "replica", [
            "GOAPI_PORT=%d" % cls.ports[i],
            "GOAPI_STORE=redis://127.0.0.1:%d/0" % cls.redis_port], [])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if get(cls.ports[i], "/readyz", timeout=1)[0] == 200:
                    return name
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("replica %d never ready:\n%s" % (
            i, sh("docker", "logs", name, check=False).stderr[-2000:]))

    @classmethod
    def tearDownClass(cls):
        for name in cls.names:
            sh("docker", "rm", "-f", name, check=False)

    def test_retry_on_the_other_replica_is_a_replay(self):
        a, b = self.ports
        first = post(a, "/parcels/p-7/dispatch", "shared-docker-1")
        self.assertEqual(first[0], 201)
        self.assertIsNone(first[3])
        again = post(b, "/parcels/p-7/dispatch", "shared-docker-1")
        self.assertEqual(again, first[:3] + ("true",))
        # the verbose readiness of a replica names the ledger's check
        st, _, body = get(b, "/readyz?verbose")
        self.assertEqual(st, 200)
        self.assertIn(b"[+]idempotency-store ok", body)

        # replica A replaced mid-run (a rolling update): the new one knows
        # the key, and what it runs the other knows too
        sh("docker", "rm", "-f", self.replicas[0])
        self.replicas[0] = self.replica(0)
        self.assertEqual(post(a, "/parcels/p-7/dispatch", "shared-docker-1"),
                         first[:3] + ("true",))
        new = post(a, "/parcels/p-8/dispatch", "shared-docker-2")
        self.assertEqual(new[0], 201)
        self.assertNotEqual(new[1], first[1])       # dispatch numbers: one counter
        self.assertEqual(post(b, "/parcels/p-8/dispatch", "shared-docker-2"),
                         new[:3] + ("true",))
        print("shared ledger: replay across replicas, and after one was replaced",
              flush=True)
        for name in self.replicas:
            logs = sh("docker", "logs", name, check=False)
            text = logs.stdout + logs.stderr
            self.assertEqual([l for l in text.splitlines() if BAD.search(l)], [], name)


class Result(unittest.TextTestResult):
    pass


def main(cases):
    """Runs the test cases, stops the dockerd started for them, prints
    "N passed, N failed" and returns the exit status (docker/test_deb.py
    too)."""
    runner = unittest.TextTestRunner(verbosity=2, resultclass=Result)
    suite = unittest.TestSuite()
    for case in cases:
        suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(case))
    try:
        res = runner.run(suite)
    finally:
        ContainerTest.dockerd.down()
    failed = len(res.failures) + len(res.errors)
    skipped = len(res.skipped)
    # a skipped setUpClass skips the class without running its tests
    passed = max(res.testsRun - failed - skipped, 0)
    print("%d passed, %d failed%s" % (passed, failed,
                                      ", %d skipped" % skipped if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main((ContainerTest, SharedLedgerTest)))
