#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""check-abi-history: the structs of include/broadcast/ against docs/abi-history.

Every struct that crosses the ABI only grows at its end. This test lists the
members of every struct defined in the installed headers, in order, and
compares them with docs/abi-history: a member removed, renamed, reordered or
added without a line there fails, as does a version newer than the headers'
BC_ABI_MAJOR.BC_ABI_MINOR. `--generate` prints the current list (for a new
member, copy its line and set its version).
"""
import os
import re
import sys

SRC = os.environ.get("BC_SRCDIR", os.path.join(os.path.dirname(__file__), ".."))
HEADERS = ["plugin.h", "host.h", "provider.h", "store.h", "frontend.h", "embed.h"]


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def members(text):
    """[(struct, member)] in declaration order."""
    out = []
    for m in re.finditer(r"struct\s+(bc_\w+)\s*\{(.*?)\};", text, flags=re.S):
        name, body = m.group(1), m.group(2)
        depth, decl, decls = 0, "", []
        for ch in body:  # split on ';' outside parentheses
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            if ch == ";" and depth == 0:
                decls.append(decl)
                decl = ""
            else:
                decl += ch
        for d in decls:
            d = " ".join(d.split())
            if not d or d.startswith("#"):
                continue
            fp = re.search(r"\(\s*\*\s*(\w+)\s*\)", d)
            if fp:
                out.append((name, fp.group(1)))
                continue
            for part in d.split(","):
                ident = re.findall(r"(\w+)\s*(?:\[[^\]]*\])?\s*$", part.strip())
                if ident:
                    out.append((name, ident[0]))
    return out


def enums(text):
    """[(enum, "NAME=VALUE")]: the frozen numbering of every enum."""
    out = []
    for m in re.finditer(r"enum\s+(bc_\w+)\s*\{(.*?)\};", text, flags=re.S):
        value = -1
        for item in m.group(2).split(","):
            item = item.strip()
            if not item:
                continue
            if "=" in item:
                name, v = (x.strip() for x in item.split("=", 1))
                value = int(v, 0)
            else:
                name, value = item, value + 1
            out.append((m.group(1), "%s=%d" % (name, value)))
    return out


def abi_version(text):
    major = int(re.search(r"#define BC_ABI_MAJOR (\d+)", text).group(1))
    minor = int(re.search(r"#define BC_ABI_MINOR (\d+)", text).group(1))
    return major, minor


def main():
    found, texts = [], {}
    for h in HEADERS:
        with open(os.path.join(SRC, "include", "broadcast", h)) as f:
            texts[h] = f.read()
        found += members(strip_comments(texts[h])) + enums(strip_comments(texts[h]))
    major, minor = abi_version(texts["plugin.h"])
    if "--generate" in sys.argv:
        for s, m in found:
            print("%-40s %d.0" % (s + "." + m, major))
        return 0
    recorded = []
    with open(os.path.join(SRC, "docs", "abi-history")) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            key, ver = line.split()
            vmaj, vmin = (int(x) for x in ver.split("."))
            if (vmaj, vmin) > (major, minor):
                print("docs/abi-history:%d: %s is marked %s, newer than the headers' ABI "
                      "%d.%d" % (n, key, ver, major, minor))
                return 1
            recorded.append(tuple(key.split(".", 1)))
    ok = True
    for struct in sorted({s for s, _ in found} | {s for s, _ in recorded}):
        have = [m for s, m in found if s == struct]
        want = [m for s, m in recorded if s == struct]
        if have == want:
            continue
        ok = False
        common = 0
        while common < min(len(have), len(want)) and have[common] == want[common]:
            common += 1
        print("struct %s differs from docs/abi-history at member %d:" % (struct, common + 1))
        print("  headers: %s" % ", ".join(have[common:common + 4]) or "(end)")
        print("  history: %s" % ", ".join(want[common:common + 4]) or "(end)")
        print("  members may only be appended, each with a line in docs/abi-history "
              "and a minor version bump")
    if ok:
        print("ok: %d members of %d structs match docs/abi-history (ABI %d.%d)"
              % (len(found), len({s for s, _ in found}), major, minor))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
