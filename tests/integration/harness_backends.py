# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Backends behind mod_proxy for the tests: one loopback server (Backend)
and what it answers: what it was sent (EchoBackend), executions counted
per Idempotency-Key (CountingBackend)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Backend:
    """A loopback HTTP/1.1 server on a thread of the test, on a free port
    (self.port): every request goes to self.handle(h), h being its
    BaseHTTPRequestHandler.  A subclass sets up its state, then calls
    Backend.__init__(); stop() ends it."""

    QUEUE = 256                         # connections waiting to be accepted

    def __init__(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True      # headers and body: no 40 ms stall

            def log_message(self, *args):
                pass

            def answer(self):
                outer.handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = self.QUEUE

            def handle_error(self, request, client_address):
                pass        # a peer cut mid-answer (a killed child) is what tests do

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, h):
        raise NotImplementedError

    @staticmethod
    def send(h, status, body=b"", headers=()):
        """status, the headers, Content-Length and body."""
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class EchoBackend(Backend):
    """Answers with the request headers it got as JSON; paths starting
    /echo-ids also send back an X-Request-ID of their own, /status/NNN
    answers with that status, /sleep/S answers after S seconds, /create...
    answers 201 with Location and ETag numbered by a counter, /big/N sends
    N bytes, /broken/N sends N of the 2N bytes it announced and hangs up."""

    def __init__(self):
        self.requests = []
        self.created = 0
        self.lock = threading.Lock()
        Backend.__init__(self)

    def handle(self, h):
        length = int(h.headers.get("Content-Length") or 0)
        body_in = h.rfile.read(length) if length else b""
        got = {"method": h.command, "path": h.path,
               "headers": [[k, v] for k, v in h.headers.items()],
               "body": body_in.decode("latin-1")}
        with self.lock:
            self.requests.append(got)
        status, extra = 200, [("Content-Type", "application/json")]
        if h.path.startswith("/status/"):
            status = int(h.path.split("/")[2])
        if h.path.startswith("/sleep/"):
            time.sleep(float(h.path.split("/")[2]))
        data = json.dumps(got).encode()
        if h.path.startswith("/create"):
            with self.lock:
                self.created += 1
                n = self.created
            status = 201
            extra = [("Location", "/things/%d" % n), ("ETag", '"thing-%d"' % n),
                     ("Cache-Control", "private")] + extra
        if h.path.startswith("/big/"):
            data = b"b" * int(h.path.split("/")[2])
        if h.path.startswith("/broken/"):
            # promises twice what it sends, then hangs up
            n = int(h.path.split("/")[2])
            h.send_response(200)
            h.send_header("Content-Type", "application/octet-stream")
            h.send_header("Content-Length", str(2 * n))
            h.end_headers()
            h.wfile.write(b"x" * n)
            h.wfile.flush()
            h.close_connection = True
            return
        if h.path.startswith("/echo-ids"):
            extra += [("X-Request-ID", "backend-own-id"),
                      ("X-Correlation-ID", "backend-own-corr")]
        self.send(h, status, data, extra)


class CountingBackend(Backend):
    """Executes each POST: counts it under its Idempotency-Key, takes
    `delay` seconds (`first_delay` for the first execution of a key),
    answers 201 with a body of `size` bytes that names the key and which
    execution of it this was."""

    def __init__(self, delay=0.3, size=64, first_delay=None):
        self.counts = {}
        self.lock = threading.Lock()
        self.delay, self.size, self.first_delay = delay, size, first_delay
        Backend.__init__(self)

    def handle(self, h):
        if h.command != "POST":
            return h.send_error(501)
        n = int(h.headers.get("Content-Length") or 0)
        h.rfile.read(n)
        key = h.headers.get("Idempotency-Key", "")
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            nth = self.counts[key]
        time.sleep(self.first_delay if self.first_delay is not None and nth == 1
                   else self.delay)
        body = json.dumps({"key": key, "run": nth}).encode().ljust(self.size)
        self.send(h, 201, body, (("Content-Type", "application/json"),))

    def executions(self):
        with self.lock:
            return dict(self.counts)
