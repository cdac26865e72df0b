# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""A real PostgreSQL (Debian's postgresql) for the tests: initialised in a
temp dir, on a free loopback port, stopped by pid; a synchronous standby
made with pg_basebackup."""

import os
import shutil
import signal
import subprocess
import tempfile
import time

from harness_core import IS_ROOT, Httpd, free_port, processes


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
        self.frozen = False
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

    def freeze(self):
        """SIGSTOP to the postmaster, then to every server process of it
        (each in a session of its own): a server that holds its connections
        and answers nothing, while the kernel still answers TCP."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.frozen = self._children()
        for pid in self.frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self):
        if self.frozen is not False and self.proc and self.proc.poll() is None:
            for pid in self.frozen:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            os.kill(self.proc.pid, signal.SIGCONT)
        self.frozen = False

    def _children(self):
        """The pids whose parent is the postmaster."""
        return [pid for pid, ppid, _ in processes() if ppid == self.proc.pid]

    def _group_alive(self):
        return bool(self.proc) and any(pgrp == self.proc.pid for _, _, pgrp in processes())

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
        self.thaw()
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
