# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the mod_goapi authors; see LICENSE.
"""The documentation against the code: the directive table of
docs/directives.md against mod_goapi.c's command table, and every relative
link of README.md and docs/*.md.  Needs no httpd."""

import glob
import os
import re
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_C = os.path.join(TOP, "mod_goapi.c")
DIRECTIVES_MD = os.path.join(TOP, "docs", "directives.md")

# The contexts httpd's documentation names; the table writes "location" for
# <Location> (httpd counts it as "directory").
CONTEXTS = {"server config", "virtual host", "directory", ".htaccess", "location"}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def strip_c(text):
    """C source without comments and with string literals emptied."""
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"',
                  lambda m: '""' if m.group(0).startswith('"') else " ", text, flags=re.S)


def code_directives():
    """{name: set of req_override tokens} from mod_goapi.c's AP_INIT_* entries."""
    text = read(MODULE_C)
    text = re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.S)
    starts = [(m.start(), m.group(1))
              for m in re.finditer(r'AP_INIT_[A-Z0-9_]+\(\s*"(Goapi\w+)"', text)]
    out = {}
    for i, (pos, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        body = strip_c(text[pos:end])
        out.setdefault(name, set()).update(
            re.findall(r"\b(RSRC_CONF|ACCESS_CONF|OR_[A-Z]+)\b", body))
    return out, [n for _, n in starts]


def split_row(line):
    """Cells of a Markdown table row; `\\|` is a pipe inside a cell."""
    cells = re.split(r"(?<!\\)\|", line.strip())
    if cells and cells[0] == "":
        cells = cells[1:]
    if cells and cells[-1] == "":
        cells = cells[:-1]
    return [c.strip() for c in cells]


def doc_directive_rows():
    """[(name, context, line number)] from the tables of docs/directives.md
    whose rows begin with a backticked directive name and that have a
    Context column."""
    rows = []
    lines = read(DIRECTIVES_MD).split("\n")
    i = 0
    while i < len(lines):
        if not lines[i].startswith("|"):
            i += 1
            continue
        block = []
        while i < len(lines) and lines[i].startswith("|"):
            block.append((i + 1, lines[i]))
            i += 1
        header = [c.lower() for c in split_row(block[0][1])]
        if "context" not in header:
            continue
        ctx = header.index("context")
        for lineno, line in block[2:]:
            cells = split_row(line)
            m = re.match(r"`(Goapi\w+)`", cells[0]) if cells else None
            if m:
                rows.append((m.group(1), cells[ctx] if ctx < len(cells) else "", lineno))
    return rows


def strip_code(text):
    """Markdown without fenced blocks and inline code (links inside them are
    not links)."""
    text = re.sub(r"^```.*?^```[^\n]*$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "x", text)


def slug(heading):
    """GitHub's anchor of a heading."""
    h = heading.strip().lower().replace("`", "")
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def anchors(path):
    out, seen, fence = set(), {}, False
    for line in read(path).split("\n"):
        if line.startswith("```"):
            fence = not fence
            continue
        m = None if fence else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            a = slug(m.group(1))
            n = seen.get(a, 0)
            seen[a] = n + 1
            out.add(a if n == 0 else "%s-%d" % (a, n))
    return out


def doc_files():
    return [os.path.join(TOP, "README.md")] + sorted(
        glob.glob(os.path.join(TOP, "docs", "*.md")))


class DirectiveTableTest(unittest.TestCase):
    def test_directive_sets_equal(self):
        code, order = code_directives()
        rows = doc_directive_rows()
        self.assertTrue(code, "no AP_INIT_* entry found in mod_goapi.c")
        self.assertTrue(rows, "no directive table found in docs/directives.md")
        dups = sorted({n for n in order if order.count(n) > 1})
        self.assertEqual(dups, [], "mod_goapi.c defines these more than once")
        names = [r[0] for r in rows]
        dups = sorted({n for n in names if names.count(n) > 1})
        self.assertEqual(dups, [], "docs/directives.md has more than one row for")
        in_code, in_doc = set(code), set(names)
        self.assertEqual(
            in_code, in_doc,
            "mod_goapi.c and docs/directives.md disagree; missing from "
            "docs/directives.md: %s; missing from mod_goapi.c: %s"
            % (sorted(in_code - in_doc) or "none", sorted(in_doc - in_code) or "none"))

    def test_contexts_are_httpd_contexts(self):
        for name, context, lineno in doc_directive_rows():
            with self.subTest(directive=name):
                parts = [p.strip() for p in context.split(",")]
                self.assertTrue(context, "docs/directives.md:%d: %s has no context"
                                % (lineno, name))
                bad = [p for p in parts if p not in CONTEXTS]
                self.assertEqual(bad, [], "docs/directives.md:%d: %s: not an httpd "
                                 "context (one of %s)" % (lineno, name, sorted(CONTEXTS)))

    def test_contexts_match_code(self):
        # RSRC_CONF: server config, virtual host; ACCESS_CONF: directory and
        # location too; OR_*: .htaccess.  (A directive of the main server
        # only says "server config" alone: the flags cannot tell.)
        code, _ = code_directives()
        for name, context, lineno in doc_directive_rows():
            if name not in code:
                continue     # reported by test_directive_sets_equal
            with self.subTest(directive=name):
                parts = {p.strip() for p in context.split(",")}
                flags = code[name]
                where = "docs/directives.md:%d: %s (mod_goapi.c: %s)" % (
                    lineno, name, " | ".join(sorted(flags)) or "no context flag")
                per_dir = "ACCESS_CONF" in flags or any(f.startswith("OR_") for f in flags)
                self.assertEqual("server config" in parts, "RSRC_CONF" in flags, where)
                if "virtual host" in parts:
                    self.assertIn("RSRC_CONF", flags, where)
                self.assertEqual(bool(parts & {"directory", "location"}), per_dir, where)
                self.assertEqual(".htaccess" in parts,
                                 any(f.startswith("OR_") for f in flags), where)


class LinkTest(unittest.TestCase):
    def test_relative_links_resolve(self):
        files = doc_files()
        self.assertIn(os.path.join(TOP, "docs", "directives.md"), files)
        cache = {}
        bad = []
        count = 0
        for path in files:
            text = strip_code(read(path))
            for m in re.finditer(r"\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)",
                                 text):
                target = m.group(1)
                if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):
                    continue    # http:, https:, mailto:
                count += 1
                file_part, _, anchor = target.partition("#")
                dest = (os.path.normpath(os.path.join(os.path.dirname(path), file_part))
                        if file_part else path)
                rel = os.path.relpath(path, TOP)
                if not os.path.exists(dest):
                    bad.append("%s: %s: no such file" % (rel, target))
                    continue
                if anchor:
                    if not dest.endswith(".md") or not os.path.isfile(dest):
                        bad.append("%s: %s: an anchor into a file that is not Markdown"
                                   % (rel, target))
                        continue
                    if dest not in cache:
                        cache[dest] = anchors(dest)
                    if anchor not in cache[dest]:
                        bad.append("%s: %s: no heading with that anchor in %s"
                                   % (rel, target, os.path.relpath(dest, TOP)))
        self.assertGreater(count, 20, "too few links found: is the parser broken?")
        self.assertEqual(bad, [], "broken links:\n  " + "\n  ".join(bad))


if __name__ == "__main__":
    unittest.main()


class LogTagsTest(unittest.TestCase):
    """Every log tag of the code has its row in docs/logs.md, and the table
    names no tag the code does not use."""

    def test_log_tags_documented(self):
        used = set()
        for path in [MODULE_C] + glob.glob(os.path.join(TOP, "src", "*.c")):
            used.update(int(n) for n in re.findall(r"GOAPI_LOGNO\((\d{5})\)", read(path)))
        documented = set()
        for line in read(os.path.join(TOP, "docs", "logs.md")).split("\n"):
            if not line.startswith("| GOAPI"):
                continue
            tags = split_row(line)[0]
            for a, b in re.findall(r"GOAPI(\d{5})(?:-(\d{5}))?", tags):
                documented.update(range(int(a), int(b or a) + 1))
        self.assertEqual(sorted(used - documented), [], "tags without a row in docs/logs.md")
        self.assertEqual(sorted(documented - used), [], "rows of docs/logs.md for unused tags")
