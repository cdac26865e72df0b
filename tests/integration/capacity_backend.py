# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""A backend that serves a given number of requests at its own pace and
shares itself beyond that, as a busy service does: a request that arrives
with n in progress takes SERVICE * n / capacity seconds (at least
SERVICE).  Run as its own process (no lock shared with the test's clients):

    capacity_backend.py PORT SERVICE_SECONDS CAPACITY

GET /capacity/K sets the capacity; GET /fail/S makes every request
answered with status S after its time (0: 200 again); GET /stall/MS adds MS
milliseconds to every request (0: none); any other GET is a request
served."""

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    port, service, capacity = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    state = {"capacity": capacity, "in": 0, "fail": 0, "stall": 0.0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body: no delayed-ACK wait

        def log_message(self, *args):
            pass

        def do_GET(self):
            status = 200
            if self.path.startswith("/capacity/"):
                with lock:
                    state["capacity"] = max(1, int(self.path.rsplit("/", 1)[1]))
                body = b"capacity\n"
            elif self.path.startswith("/fail/"):
                with lock:
                    state["fail"] = int(self.path.rsplit("/", 1)[1])
                body = b"fail\n"
            elif self.path.startswith("/stall/"):
                with lock:
                    state["stall"] = int(self.path.rsplit("/", 1)[1]) / 1000.0
                body = b"stall\n"
            else:
                with lock:
                    state["in"] += 1
                    n, cap = state["in"], state["capacity"]
                    fail, stall = state["fail"], state["stall"]
                try:
                    time.sleep(service * max(1.0, n / cap) + stall)
                finally:
                    with lock:
                        state["in"] -= 1
                body = b"done\n"
                status = fail or 200
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

        def handle_error(self, request, client_address):
            pass                        # a client gone: nothing to say

    srv = Server(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
