#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""The log tags of mod_goapi, kept as httpd keeps its AH numbers: every
ap_log_*error() call carries a GOAPI_LOGNO(n) in its format, each n is
written at exactly one call site, never outside a logging call (a tag
passed through "%s" cannot be found by grep), and the "Next free" number in
src/mod_goapi.h is above every number used.  Exit status 1 on a finding.

    scripts/check-lognos.py [TOP]"""

import glob
import os
import re
import sys

CALL = re.compile(r"\bap_log_(?:error|rerror|cerror|perror|cserror)\s*\(")
TAG = re.compile(r"GOAPI_LOGNO\((\d{5})\)")
NEXT = re.compile(r"Next free: GOAPI(\d{5})")


def call_end(text, i):
    """Index just past the parenthesis that closes the call opened before i."""
    depth = 1
    while depth:
        c = text[i]
        if c == '"' or c == "'":
            i += 1
            while text[i] != c:
                i += 2 if text[i] == "\\" else 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        i += 1
    return i


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    files = [os.path.join(top, "mod_goapi.c")] + sorted(glob.glob(os.path.join(top, "src", "*.c")))
    findings, seen = [], {}
    for path in files:
        with open(path) as f:
            text = f.read()
        name = os.path.relpath(path, top)
        spans = []
        for m in CALL.finditer(text):
            end = call_end(text, m.end())
            spans.append((m.start(), end))
            line = text.count("\n", 0, m.start()) + 1
            tags = TAG.findall(text, m.start(), end)
            if not tags:
                findings.append("%s:%d: a log call without a GOAPI_LOGNO tag" % (name, line))
            elif len(tags) > 1:
                findings.append("%s:%d: a log call with %d tags" % (name, line, len(tags)))
        for m in TAG.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            if not any(a <= m.start() < b for a, b in spans):
                findings.append("%s:%d: GOAPI%s outside a log call's format"
                                % (name, line, m.group(1)))
            n = int(m.group(1))
            if n in seen:
                findings.append("%s:%d: GOAPI%05d is already used at %s"
                                % (name, line, n, seen[n]))
            else:
                seen[n] = "%s:%d" % (name, line)
    with open(os.path.join(top, "src", "mod_goapi.h")) as f:
        m = NEXT.search(f.read())
    if not m:
        findings.append("src/mod_goapi.h: no \"Next free: GOAPInnnnn\" line")
    elif seen and int(m.group(1)) <= max(seen):
        findings.append("src/mod_goapi.h: next free GOAPI%s is not above GOAPI%05d, the "
                        "highest in use" % (m.group(1), max(seen)))
    for f in findings:
        print("lognos: " + f)
    if findings:
        return 1
    print("lognos: %d tags, each at one call site; next free GOAPI%s"
          % (len(seen), m.group(1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
