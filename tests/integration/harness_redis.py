# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""A real redis-server (and redis-sentinel) for the tests, started on a
free loopback port in a temp dir and stopped by pid; RESP by hand."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from harness_core import Httpd, free_port, wait_for_port

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
