# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Backends behind mod_proxy for the tests: one that echoes what it was
sent, one that counts executions per Idempotency-Key."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
