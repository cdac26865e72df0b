#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Every source file of mod_goapi carries the license header (the Apache
License 2.0, LICENSE) in its first lines.  Exit status 1 when one does not.

    scripts/check-headers.py [TOP]"""

import os
import subprocess
import sys

SPDX = "SPDX-License-Identifier: Apache-2.0"
SUFFIXES = (".c", ".h", ".py", ".sh", ".go", ".conf", ".load", ".yaml")
NAMES = ("Makefile", "Dockerfile", "redis.Dockerfile", "run")


def sources(top):
    out = subprocess.run(["git", "-C", top, "ls-files", "--cached", "--others",
                          "--exclude-standard"], capture_output=True, text=True,
                         check=True).stdout.split()
    for path in out:
        if "/corpus/" in path or not os.path.exists(os.path.join(top, path)):
            continue
        if path.endswith(SUFFIXES) or os.path.basename(path) in NAMES:
            yield path


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    missing = []
    n = 0
    for path in sources(top):
        n += 1
        with open(os.path.join(top, path), encoding="utf-8", errors="replace") as f:
            head = "".join(f.readline() for _ in range(4))
        if SPDX not in head:
            missing.append(path)
    for path in missing:
        print("headers: %s has no license header (%s in its first lines)" % (path, SPDX))
    if missing:
        return 1
    print("headers: %d source files, each with its license header" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
