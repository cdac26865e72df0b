#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Run the integration tests (tests/integration/test_*.py) against a real
httpd and end with one line "N passed, N failed[, N skipped]".

Usage: run.py [--suite faults] [pattern]   e.g. run.py test_ids  (module
name filter).  A module that says SUITE = "faults" (the long fault runs:
children killed, memory under hostile clients) belongs to "make faults"
and is left out of "make test"; --suite faults runs those only.
"""

import importlib
import os
import signal
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


# No test may take longer than this (or than its class's TIME_LIMIT, for
# the few long runs that say so); a hung one fails instead of stalling.
TEST_LIMIT_SECONDS = 120


class TestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise TestTimeout("test exceeded its time limit (%d s unless its class says "
                      "TIME_LIMIT)" % TEST_LIMIT_SECONDS)


class Result(unittest.TextTestResult):
    passed = 0

    def startTest(self, test):
        self._t0 = time.monotonic()
        signal.alarm(int(getattr(test, "TIME_LIMIT", TEST_LIMIT_SECONDS)))
        super().startTest(test)

    def stopTest(self, test):
        signal.alarm(0)
        super().stopTest(test)

    def _line(self, test, word):
        t0 = getattr(self, "_t0", time.monotonic())
        self.stream.write("%-4s %s (%.2fs)\n" % (word, test.id(), time.monotonic() - t0))
        self.stream.flush()

    def addSuccess(self, test):
        unittest.TestResult.addSuccess(self, test)
        Result.passed += 1
        self._line(test, "ok")

    def addFailure(self, test, err):
        unittest.TestResult.addFailure(self, test, err)
        self._line(test, "FAIL")

    def addError(self, test, err):
        unittest.TestResult.addError(self, test, err)
        self._line(test, "ERR")

    def addSkip(self, test, reason):
        unittest.TestResult.addSkip(self, test, reason)
        self._line(test, "skip")
        self.stream.write("     %s\n" % reason)


def main():
    signal.signal(signal.SIGALRM, _on_alarm)
    args = sys.argv[1:]
    want = "main"
    if args[:1] == ["--suite"] and len(args) > 1:
        want, args = args[1], args[2:]
    pattern = args[0] if args else None
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for name in sorted(os.listdir(HERE)):
        if name.startswith("test_") and name.endswith(".py"):
            mod = name[:-3]
            if pattern and pattern not in mod:
                continue
            module = importlib.import_module(mod)
            # a module named on the command line runs whatever its suite
            if not pattern and getattr(module, "SUITE", "main") != want:
                continue
            suite.addTests(loader.loadTestsFromModule(module))
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=0, resultclass=Result)
    t0 = time.monotonic()
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = Result.passed
    print("integration: %.1fs" % (time.monotonic() - t0))
    line = "%d passed, %d failed" % (passed, failed)
    if result.skipped:
        line += ", %d skipped" % len(result.skipped)
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
