# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""Crash reports in error logs: httpd's own known stop race, the ledger
checker's child, and the frames of a stack a crash left."""

import re
import sys

def is_httpd_stop_race(text):
    """Is this crash report (core_stacks() text, or a sanitizer's report)
    httpd's stop race?"""
    frames = crash_frames(text)
    return (len(frames) >= 2 and re.search(r"\bapr_os_sock_get\b", frames[0]) is not None
            and "mod_mpm_event.so" in frames[1]
            and not any("goapi" in f.lower() for f in frames))


# The ledger is read in full before use by a child process of its own
# (src/goapi_store_file.c, goapi_store_contained()), which may die of a
# signal on a damaged file: that is how damage shows, not a crash of the
# server.  Under the sanitizers such a death is a report like any other.
def is_ledger_checker_crash(text):
    """Is this sanitizer report the death of the ledger's checking child
    inside LMDB (a fault of mod_goapi's own code there is not)?"""
    frames = [f for f in stack_of(text)
              if not re.search(r"\b(__interceptor_|__asan_|__sanitizer_)\w*", f)]
    return (bool(frames) and "liblmdb.so" in frames[0]
            and any("goapi_lmdb_check" in f for f in frames))


def crash_frames(text):
    """The frames of the crashing thread, innermost first."""
    if "GOAPI-END-OF-CRASHING-THREAD" in text:
        # gdb: the thread where a signal handler was called (httpd's own
        # handler re-raises the signal from the crashing thread), or else
        # the thread gdb names current
        current, rest = text.split("GOAPI-END-OF-CRASHING-THREAD", 1)
        for thread in re.split(r"^Thread \d+ ", rest, flags=re.M)[1:]:
            if "<signal handler called>" in thread:
                return stack_of(thread.split("<signal handler called>", 1)[1])
        return stack_of(current.split("[Current thread is", 1)[-1])
    if "SEGV" in text:
        return stack_of(text)           # a sanitizer: its first stack
    return []


def stack_of(text):
    """The first run of frames in text, without their numbers."""
    out = []
    for m in re.finditer(r"^\s*#(\d+)\s+(.*)$", text, re.M):
        if out and int(m.group(1)) == 0:
            break
        out.append(m.group(2))
    return out


def note_httpd_stop_race(where):
    sys.stderr.write("note: httpd's own crash at an immediate stop (event MPM, "
                     "close_worker_sockets race; docs/known-problems.md): %s\n" % where)
