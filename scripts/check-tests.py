#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Tests that can swallow their own assertions: an assertion (an assert
statement, self.assert...(), self.fail()) inside the body of a try whose
handler can catch the AssertionError it raises (a bare except, or one
naming AssertionError, Exception or BaseException) is reported, in every
Python file under tests/ and docker/.  An assertion in a function or class
defined inside the try does not run there and is not counted.  Exit
status 1 on a finding.

    scripts/check-tests.py [TOP]      check the tree
    scripts/check-tests.py --self-test"""

import ast
import os
import sys

DIRS = ("tests", "docker")
CATCHERS = {"AssertionError", "Exception", "BaseException"}


def handler_catches(handler):
    """Whether an except clause catches an AssertionError."""
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for t in types:
        name = t.attr if isinstance(t, ast.Attribute) else getattr(t, "id", None)
        if name in CATCHERS:
            return True
    return False


def is_assertion(node):
    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        name = node.func.attr
        return name.startswith("assert") or name == "fail"
    return False


def assertions(stmts):
    """The assertions these statements run, not those of nested definitions."""
    todo = list(stmts)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if is_assertion(node):
            yield node
        todo.extend(ast.iter_child_nodes(node))


def findings(source, filename="<test>"):
    """(line, message) for each swallowed assertion in source."""
    out = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Try):
            continue
        catching = [h for h in node.handlers if handler_catches(h)]
        if not catching:
            continue
        caught = "bare except" if catching[0].type is None else ast.unparse(catching[0].type)
        for a in assertions(node.body):
            out.append((a.lineno, "an assertion inside try whose except (%s, line %d) "
                        "catches AssertionError: the test cannot fail"
                        % (caught, catching[0].lineno)))
    return sorted(out)


def python_files(top):
    for d in DIRS:
        for root, dirs, files in os.walk(os.path.join(top, d)):
            dirs[:] = sorted(x for x in dirs if x != "__pycache__")
            for f in sorted(files):
                if f.endswith(".py"):
                    yield os.path.join(root, f)


# (source, number of findings) — the checker's own cases.
SELF_TESTS = (
    # the pattern it exists for
    ("try:\n    r = get()\n    self.assertLess(len(r), 6)\nexcept Exception:\n    pass\n", 1),
    ("try:\n    assert x\nexcept:\n    pass\n", 1),
    ("try:\n    self.fail('x')\nexcept (OSError, AssertionError):\n    pass\n", 1),
    ("try:\n    self.assertEqual(a, b)\nexcept BaseException:\n    raise\n", 1),
    ("try:\n    self.assertTrue(a)\nexcept unittest.case.AssertionError:\n    pass\n", 1),
    ("try:\n    if a:\n        for x in y:\n            self.assertIn(x, z)\n"
     "except ValueError:\n    pass\nexcept Exception:\n    pass\n", 1),
    # nested try: the outer handler still catches
    ("try:\n    try:\n        self.assertIn(a, b)\n    finally:\n        c()\n"
     "except Exception:\n    pass\n", 1),
    # what is allowed
    ("try:\n    r = get()\nexcept Exception:\n    r = None\nself.assertIsNone(r)\n", 0),
    ("try:\n    self.assertEqual(a, b)\nexcept OSError:\n    pass\n", 0),
    ("try:\n    self.assertEqual(a, b)\nfinally:\n    c()\n", 0),
    ("try:\n    x = 1\nexcept Exception:\n    self.fail('x')\n", 0),
    ("try:\n    def f():\n        self.assertTrue(a)\n    g(f)\nexcept Exception:\n    pass\n", 0),
    ("try:\n    g(lambda: self.assertTrue(a))\nexcept Exception:\n    pass\n", 0),
)


def self_test():
    bad = 0
    for source, want in SELF_TESTS:
        got = len(findings(source))
        if got != want:
            bad += 1
            print("check-tests self-test: %d findings, expected %d, in:\n%s" % (got, want, source))
    if bad:
        return 1
    print("check-tests: self-test passed (%d cases)" % len(SELF_TESTS))
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    n, bad = 0, 0
    for path in python_files(top):
        n += 1
        with open(path, encoding="utf-8") as f:
            source = f.read()
        for line, msg in findings(source, path):
            bad += 1
            print("%s:%d: %s" % (os.path.relpath(path, top), line, msg))
    if bad:
        print("check-tests: %d swallowed assertions" % bad)
        return 1
    print("check-tests: %d Python files, no assertion inside a try that catches it" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
