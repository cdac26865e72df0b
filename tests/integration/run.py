#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Run the integration tests (tests/integration/test_*.py) against a real
httpd and end with one line "N passed, N failed[, N skipped]".

Usage: run.py [pattern]   e.g. run.py test_ids  (module name filter)
       run.py faults      the fault tests (faults_*.py), outside "make test"
"""

import os
import signal
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


# No test may take longer than this; a hung one fails instead of stalling.
TEST_LIMIT_SECONDS = 120


class TestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise TestTimeout("test exceeded %d s" % TEST_LIMIT_SECONDS)


class Result(unittest.TextTestResult):
    passed = 0

    def startTest(self, test):
        self._t0 = time.monotonic()
        signal.alarm(TEST_LIMIT_SECONDS)
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
    pattern = sys.argv[1] if len(sys.argv) > 1 else None
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    prefix = "faults_" if pattern and pattern.startswith("faults") else "test_"
    for name in sorted(os.listdir(HERE)):
        if name.startswith(prefix) and name.endswith(".py"):
            mod = name[:-3]
            if pattern and pattern not in mod:
                continue
            suite.addTests(loader.loadTestsFromName(mod))
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
