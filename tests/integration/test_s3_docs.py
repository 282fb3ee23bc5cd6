# SPDX-License-Identifier: Apache-2.0
"""docs/providers/s3.md's option table against `broadcastd --describe s3`.

The option table in providers/s3/s3.c is the one source of each option's
type, default, and whether it is required or secret; --describe prints it.
The doc keeps a table of the same facts for readers, and this test fails when
the two disagree: an option missing or extra, out of order, or with another
type, default, required or secret flag.
"""
import os
import re
import subprocess
import unittest

import bctest

DOC = os.path.join(bctest.SRCDIR, "docs", "providers", "s3.md")

# "  name   type   required|optional[, default VALUE][, (secret)]"
OPTION_LINE = re.compile(r"^  (\S+)\s+(.+?)\s+(required|optional)"
                         r"(?:, default (.*?))?(, \(secret\))?$")


def described():
    """[(name, type, default or "required" or None, secret)] from --describe."""
    p = subprocess.run([bctest.BROADCASTD, "--describe", "s3"], capture_output=True,
                       text=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError("broadcastd --describe s3 failed: %s" % p.stderr)
    rows, inside = [], False
    for line in p.stdout.splitlines():
        if line == "options:":
            inside = True
            continue
        if not inside:
            continue
        if not line.strip():
            break
        m = OPTION_LINE.match(line)
        if m:
            name, typ, need, default, secret = m.groups()
            rows.append((name, typ, "required" if need == "required" else default,
                         bool(secret)))
    return rows


def documented():
    """The same rows from the table under "### Options" in the doc."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    section = text.split("\n### Options\n", 1)
    if len(section) != 2:
        raise AssertionError("%s has no '### Options' section" % DOC)
    rows = []
    for line in section[1].splitlines():
        if line.startswith("#"):
            break
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name, typ, default, notes = (cells + [""] * 4)[:4]
        if default == "—":
            default = None
        elif default != "required":
            default = default.strip("`")
        rows.append((name.strip("`"), typ, default, notes == "secret"))
    return rows


class S3DocsTest(unittest.TestCase):
    def test_option_table_matches_describe(self):
        want = described()
        self.assertGreater(len(want), 10, "no options parsed from --describe s3")
        got = documented()
        self.assertEqual([r[0] for r in got], [r[0] for r in want],
                         "docs/providers/s3.md lists other options, or in another order, "
                         "than providers/s3/s3.c")
        for doc_row, opt_row in zip(got, want):
            self.assertEqual(doc_row, opt_row,
                             "docs/providers/s3.md says %r, the option table %r"
                             % (doc_row, opt_row))


if __name__ == "__main__":
    unittest.main(verbosity=2)
