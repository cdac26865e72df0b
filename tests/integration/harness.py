# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Real-httpd harness for mod_goapi integration tests.

Each server gets a temp dir as its ServerRoot, a generated config, a free
loopback port, and runs in the foreground in its own session (prefork sends
its stop signal to the whole process group); it is stopped by its pid.
After every test the error log lines it added are scanned for [error],
[crit], [alert] and [emerg]; a test lists the ones it expects.

The parts: harness_core (httpd, ports, raw HTTP), harness_crash (crash
reports), harness_backends, harness_redis (Redis and Sentinel), harness_pg
(PostgreSQL), harness_h2 (an HTTP/2 client); this module gathers them for
the tests and holds the test case classes.
"""

import time
import unittest

from harness_backends import *  # noqa: F401,F403
from harness_core import *  # noqa: F401,F403
from harness_crash import *  # noqa: F401,F403
from harness_h2 import *  # noqa: F401,F403
from harness_pg import *  # noqa: F401,F403
from harness_redis import *  # noqa: F401,F403
from harness_backends import EchoBackend
from harness_core import UUID7, Httpd, free_port


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
