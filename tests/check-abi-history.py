#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""check-abi-history: the structs, enums and flag bits of include/broadcast/
against docs/abi-history.

Every struct that crosses the ABI only grows at its end, and no member ever
changes type. This test lists the members of every struct (with their types),
the values of every enum and the bits of every flag macro (`#define BC_X_Y
0x4u`, grouped by prefix as bc_x_flags) defined in the installed headers, in order, and
compares them with docs/abi-history. It fails on:

  - a member removed, renamed, reordered or added without a line there;
  - a member whose type differs from the one recorded (types never change:
    add a new member instead), or an enum value renumbered;
  - a version newer than the headers' BC_ABI_MAJOR.BC_ABI_MINOR, or a
    member recorded older than one before it in its struct;
  - against every released ABI kept in tests/plugins/abi-M.N/broadcast/ (the
    1.0 headers today): a released struct that is not a prefix of today's, a
    released member whose type changed, a released member recorded with a
    later version, or a member the release lacks recorded with the released
    version or older (a new member needs a new minor: bump BC_ABI_MINOR and
    record it with that version).

`--generate` prints the whole file from the headers (versions kept from
docs/abi-history, taken from the releases for members it lacks, and the
headers' version for new ones): `tests/check-abi-history.py --generate >
docs/abi-history`. `--selftest` feeds the check mutated copies of the
headers and history and expects each to fail; a run without arguments does
both the check and the self-test (that is what `make check` runs).
"""
import glob
import os
import re
import shutil
import sys
import tempfile

SRC = os.environ.get("BC_SRCDIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
HEADERS = ["plugin.h", "host.h", "provider.h", "store.h", "frontend.h", "embed.h"]
HISTORY_HEAD = """\
# SPDX-License-Identifier: Apache-2.0
#
# docs/abi-history: every member of every struct of include/broadcast/, in
# order, with the ABI version that added it and its type, and every value of
# every enum. New members are appended at the end of their struct with the
# new minor version (STYLE rule 5); a member never changes type.
# tests/check-abi-history.py fails when the headers and this file disagree,
# or when they disagree with a released ABI kept in tests/plugins/abi-M.N/,
# the way curl's test1119 checks its symbols; `--generate` prints this file.
#
# struct.member or enum.NAME=VALUE        since type (struct members only)
"""
C_TYPE_WORDS = {"void", "char", "short", "int", "long", "float", "double", "signed",
                "unsigned", "const", "volatile", "_Bool"}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def tokens(text):
    return re.findall(r"\.\.\.|\w+|[^\s\w]", text)


def spell(toks):
    """Tokens of a type as one canonical string: "const char *const *"."""
    out, prev = "", None
    for t in toks:
        word = re.match(r"\w|\.\.\.", t) is not None
        prev_word = prev is not None and re.match(r"\w|\.\.\.", prev) is not None
        if prev is None or t in ")],[" or prev in "([" or (prev == ")" and t == "("):
            sep = ""
        elif prev == "*":
            sep = " " if t == "(" else ""
        elif prev == ",":
            sep = " "
        else:
            sep = " " if (prev_word or prev == ")") and (word or t in "*(") else ""
        out += sep + t
        prev = t
    return out


def param_type(param):
    """A parameter's type without its name: "const char *key" -> "const char *"."""
    toks, dims = tokens(param), []
    while toks and toks[-1] == "]" and "[" in toks:  # "char out[65]": keep [65]
        start = len(toks) - 1 - toks[::-1].index("[")
        dims, toks = toks[start:] + dims, toks[:start]
    words = [t for t in toks if re.match(r"\w", t)]
    if (len(words) >= 2 and toks and re.match(r"\w", toks[-1]) and toks[-1] not in C_TYPE_WORDS
            and (len(toks) < 2 or toks[-2] not in ("struct", "enum", "union"))):
        toks = toks[:-1]
    return spell(toks + dims)


def split_top(text, sep):
    """Split on `sep` outside parentheses."""
    depth, cur, parts = 0, "", []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def members(text):
    """[(struct, member, type)] in declaration order."""
    out = []
    for m in re.finditer(r"struct\s+(bc_\w+)\s*\{(.*?)\};", text, flags=re.S):
        name, body = m.group(1), m.group(2)
        for d in split_top(body, ";"):
            d = " ".join(d.split())
            if not d or d.startswith("#"):
                continue
            d = re.sub(r"\s*\bBC_[A-Z_]+\s*\([^()]*\)$", "", d)  # BC_PRINTF(3, 4)
            fp = re.match(r"^(.*?)\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)$", d)
            if fp:
                params = [param_type(p) for p in split_top(fp.group(3), ",")]
                out.append((name, fp.group(2),
                            "%s (*)(%s)" % (spell(tokens(fp.group(1))), ", ".join(params))))
                continue
            base = None
            for part in d.split(","):
                toks = tokens(part.strip())
                ident = re.findall(r"(\w+)\s*((?:\[[^\]]*\]\s*)*)$", part.strip())
                if not ident:
                    continue
                member, dims = ident[0][0], tokens(ident[0][1])
                n_dims = len(dims)
                decl = toks[:len(toks) - n_dims - 1]
                if base is None:  # the first declarator: base type and its stars
                    first_star = decl.index("*") if "*" in decl else len(decl)
                    base = decl[:first_star]
                else:
                    decl = base + decl
                out.append((name, member, spell(decl + dims)))
    return out


def enums(text):
    """[(enum, "NAME=VALUE", None)]: the frozen numbering of every enum."""
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
            out.append((m.group(1), "%s=%d" % (name, value), None))
    return out


def flags(text):
    """[(group, "NAME=0xVALUE", None)]: the frozen bits of the flag macros
    (`#define BC_OPT_SECRET 0x2u`), grouped by their prefix (bc_opt_flags)
    and recorded like enum values: a bit is never renumbered, and a new one
    is appended with the minor that added it."""
    out = []
    for m in re.finditer(r"^[ \t]*#define\s+(BC_([A-Z]+)_[A-Z0-9_]+)\s+(0x[0-9a-fA-F]+)[uU]?\b",
                         text, flags=re.M):
        out.append(("bc_%s_flags" % m.group(2).lower(), "%s=0x%x" % (m.group(1),
                                                                    int(m.group(3), 16)), None))
    return out


def abi_version(text):
    major = int(re.search(r"#define BC_ABI_MAJOR (\d+)", text).group(1))
    minor = int(re.search(r"#define BC_ABI_MINOR (\d+)", text).group(1))
    return major, minor


def read_headers(folder, names):
    """[(struct, member, type)] of the headers of `names` found in `folder`,
    the version its plugin.h declares, and the names found."""
    found, version, present = [], None, []
    for h in names:
        path = os.path.join(folder, h)
        if not os.path.exists(path):
            continue
        present.append(h)
        with open(path) as f:
            text = f.read()
        if h == "plugin.h":
            version = abi_version(text)
        found += (members(strip_comments(text)) + enums(strip_comments(text)) +
                  flags(strip_comments(text)))
    return found, version, present


def releases(src):
    """[((major, minor), entries)] of the released ABIs kept in the tree."""
    out = []
    for plugin_h in glob.glob(os.path.join(src, "tests", "plugins", "abi-*", "broadcast",
                                           "plugin.h")):
        entries, version, _ = read_headers(os.path.dirname(plugin_h), HEADERS)
        out.append((version, entries, os.path.relpath(os.path.dirname(os.path.dirname(
            plugin_h)), src)))
    return sorted(out)


def read_history(path):
    """{key: (line, (major, minor), type)} and the keys in file order, or
    raise ValueError with a message."""
    recorded, order = {}, []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(None, 2)
            if len(parts) < 2 or not re.match(r"^\d+\.\d+$", parts[1]):
                raise ValueError("docs/abi-history:%d: expected `struct.member VERSION TYPE`"
                                 % n)
            key, ver = parts[0], tuple(int(x) for x in parts[1].split("."))
            typ = " ".join(parts[2].split()) if len(parts) == 3 else None
            if "=" not in key and typ is None:
                raise ValueError("docs/abi-history:%d: %s has no type" % (n, key))
            if key in recorded:
                raise ValueError("docs/abi-history:%d: %s is listed twice" % (n, key))
            recorded[key] = (n, ver, typ)
            order.append(key)
    return recorded, order


def fmt(v):
    return "%d.%d" % v


def check(src, out):
    """The check on the tree at `src`; messages go to out(); returns 0 or 1."""
    found, (major, minor), _ = read_headers(os.path.join(src, "include", "broadcast"), HEADERS)
    try:
        recorded, order = read_history(os.path.join(src, "docs", "abi-history"))
    except ValueError as e:
        out(str(e))
        return 1
    ok = True

    # Each recorded version exists already, and never goes back in a struct.
    last = {}
    for key in order:
        n, ver, _ = recorded[key]
        struct = key.split(".", 1)[0]
        if ver > (major, minor):
            out("docs/abi-history:%d: %s is marked %s, newer than the headers' ABI %d.%d: "
                "bump BC_ABI_MINOR in plugin.h with the member" % (n, key, fmt(ver), major, minor))
            ok = False
        if struct in last and ver < last[struct][1]:
            out("docs/abi-history:%d: %s is marked %s after %s (%s): members are only "
                "appended, with the newest minor" % (n, key, fmt(ver), last[struct][0],
                                                    fmt(last[struct][1])))
            ok = False
        last[struct] = (key, ver)

    # The headers and the history list the same members in the same order.
    rec_pairs = [tuple(k.split(".", 1)) for k in order]
    for struct in sorted({s for s, _, _ in found} | {s for s, _ in rec_pairs}):
        have = [m for s, m, _ in found if s == struct]
        want = [m for s, m in rec_pairs if s == struct]
        if have == want:
            continue
        ok = False
        common = 0
        while common < min(len(have), len(want)) and have[common] == want[common]:
            common += 1
        out("struct %s differs from docs/abi-history at member %d:" % (struct, common + 1))
        out("  headers: %s" % (", ".join(have[common:common + 4]) or "(end)"))
        out("  history: %s" % (", ".join(want[common:common + 4]) or "(end)"))
        out("  members may only be appended, each with a line in docs/abi-history "
            "and a minor version bump")

    # Types never change.
    for s, m, typ in found:
        key = s + "." + m
        if typ is not None and key in recorded and recorded[key][2] != typ:
            out("docs/abi-history:%d: %s has type `%s` in the headers but `%s` in the "
                "history: a member never changes type (add a new member instead)"
                % (recorded[key][0], key, typ, recorded[key][2]))
            ok = False

    # Against each release kept in the tree.
    for version, rel, where in releases(src):
        rel_structs = {s for s, _, _ in rel}
        for struct in sorted(rel_structs):
            old = [(m, t) for s, m, t in rel if s == struct]
            new = [(m, t) for s, m, t in found if s == struct]
            if [m for m, _ in new[:len(old)]] != [m for m, _ in old]:
                out("%s %s of the released ABI %s (%s) is not a prefix of today's: "
                    "released members are never removed, renamed or reordered"
                    % ("enum" if "=" in old[0][0] else "struct", struct, fmt(version), where))
                ok = False
                continue
            for (m, t), (_, t_now) in zip(old, new):
                key = struct + "." + m
                if t != t_now:
                    out("%s has type `%s` in the released ABI %s (%s) but `%s` now: a "
                        "member never changes type" % (key, t, fmt(version), where, t_now))
                    ok = False
                if key in recorded and recorded[key][1] > version:
                    out("docs/abi-history:%d: %s is marked %s but the released ABI %s (%s) "
                        "has it" % (recorded[key][0], key, fmt(recorded[key][1]),
                                    fmt(version), where))
                    ok = False
        rel_keys = {s + "." + m for s, m, _ in rel}
        _, _, rel_headers = read_headers(os.path.join(src, where, "broadcast"), HEADERS)
        covered = set()
        for h in rel_headers:
            path = os.path.join(src, "include", "broadcast", h)
            if os.path.exists(path):
                with open(path) as f:
                    text = strip_comments(f.read())
                covered |= {s + "." + m for s, m, _ in members(text) + enums(text) + flags(text)}
        for key in order:
            if key in covered and key not in rel_keys and recorded[key][1] <= version:
                out("docs/abi-history:%d: %s is not in the released ABI %s (%s) but is marked "
                    "%s: a new member needs a new minor: bump BC_ABI_MINOR past %s and record "
                    "it with that version" % (recorded[key][0], key, fmt(version), where,
                                              fmt(recorded[key][1]), fmt(version)))
                ok = False
    if ok:
        out("ok: %d members of %d structs and enums match docs/abi-history (ABI %d.%d)"
            % (len(found), len({s for s, _, _ in found}), major, minor))
    return 0 if ok else 1


def generate(src):
    found, version, _ = read_headers(os.path.join(src, "include", "broadcast"), HEADERS)
    try:
        recorded, _ = read_history(os.path.join(src, "docs", "abi-history"))
    except (ValueError, OSError):
        recorded = {}
    rels = releases(src)
    lines = [HISTORY_HEAD]
    for s, m, typ in found:
        key = s + "." + m
        if key in recorded:
            ver = recorded[key][1]
        else:
            ver = next((v for v, rel, _ in rels if any(s == x and m == y for x, y, _ in rel)),
                       version)
        line = "%-40s %s" % (key, fmt(ver))
        if typ is not None:
            line += " " + typ
        lines.append(line + "\n")
    return "".join(lines)


# ---- self-test ---------------------------------------------------------------

def mutate(path, old, new, count=1):
    with open(path) as f:
        text = f.read()
    if old not in text:
        raise AssertionError("self-test: %r not found in %s" % (old, path))
    with open(path, "w") as f:
        f.write(text.replace(old, new, count))


def selftest(src):
    """Copies of the tree's headers, history and releases, each mutated one
    way that must fail (or, for the first, pass); returns 0 or 1."""
    inc, hist = "include/broadcast/", "docs/abi-history"
    cases = [
        ("unchanged", None, []),
        ("a member's type changed in the headers and the history", "type `int64_t` in the "
         "released ABI 1.0", [(inc + "plugin.h", "int64_t min;", "int64_t min_;"),
                              (inc + "plugin.h", "int64_t min_;", "int32_t min;"),
                              (hist, "bc_option.min                            1.0 int64_t",
                               "bc_option.min                            1.0 int32_t")]),
        ("a member's type changed in the headers only", "has type `int32_t` in the headers",
         [(inc + "plugin.h", "int64_t max;", "int32_t max;")]),
        ("a function pointer's parameter type changed", "a member never changes type",
         [(inc + "store.h", "enum bc_status (*events)(void *instance, const struct "
           "bc_event_query *query,", "enum bc_status (*events)(void *instance, struct "
           "bc_event_query *query,")]),
        ("a member inserted before the end", "differs from docs/abi-history",
         [(inc + "store.h", "\tint64_t publish_ms;", "\tint extra;\n\tint64_t publish_ms;")]),
        ("a member recorded with a minor the headers do not have", "newer than the "
         "headers' ABI 1.1",
         [(inc + "store.h", "\tuint64_t event_seq;", "\tuint64_t event_seq;\n\tint extra;"),
          (hist, "bc_record.event_seq                      1.1 uint64_t\n",
           "bc_record.event_seq                      1.1 uint64_t\n"
           "bc_record.extra                          1.2 int\n")]),
        ("a new member without a minor bump (headers back at 1.0)", "not in the released "
         "ABI 1.0",
         [(inc + "plugin.h", "#define BC_ABI_MINOR 1", "#define BC_ABI_MINOR 0"),
          (hist, "bc_record.media                          1.1",
           "bc_record.media                          1.0")]),
        ("a new member recorded with the released minor", "not in the released ABI 1.0",
         [(inc + "store.h", "\tuint64_t event_seq;", "\tuint64_t event_seq;\n\tint extra;"),
          (hist, "bc_record.event_seq                      1.1 uint64_t\n",
           "bc_record.event_seq                      1.1 uint64_t\n"
           "bc_record.extra                          1.0 int\n")]),
        ("a released member moved after a new one, in both files", "is not a prefix",
         [(inc + "store.h", "\tconst char *meta;", "\tconst char *meta_;"),
          (inc + "store.h", "\tuint64_t event_seq;",
           "\tuint64_t event_seq;\n\tconst char *meta;"),
          (inc + "store.h", "\tconst char *meta_;", ""),
          (hist, "bc_record.meta                           1.0 const char *\n", ""),
          (hist, "bc_record.event_seq                      1.1 uint64_t\n",
           "bc_record.event_seq                      1.1 uint64_t\n"
           "bc_record.meta                           1.0 const char *\n")]),
        ("a released member's version changed", "but the released ABI 1.0",
         [(hist, "bc_record.meta                           1.0",
           "bc_record.meta                           1.1")]),
        ("an enum value renumbered", "differs from docs/abi-history",
         [(inc + "plugin.h", "BC_E_INTERNAL = 13", "BC_E_INTERNAL = 14")]),
        ("a flag bit renumbered", "differs from docs/abi-history",
         [(inc + "plugin.h", "#define BC_OPT_SECRET 0x2u", "#define BC_OPT_SECRET 0x8u")]),
        ("a new flag bit recorded with the released minor", "not in the released ABI 1.0",
         [(hist, "bc_opt_flags.BC_OPT_NONEMPTY=0x4         1.1",
           "bc_opt_flags.BC_OPT_NONEMPTY=0x4         1.0")]),
        ("a new flag bit without a line in the history", "differs from docs/abi-history",
         [(inc + "plugin.h", "#define BC_OPT_NONEMPTY 0x4u",
           "#define BC_OPT_NONEMPTY 0x4u\n#define BC_OPT_EXTRA 0x8u")]),
        ("a member without a type in the history", "has no type",
         [(hist, "bc_plugin.flags                          1.0 unsigned",
           "bc_plugin.flags                          1.0")]),
    ]
    failures = 0
    for name, want, edits in cases:
        tmp = tempfile.mkdtemp(prefix="bc-abi-history-")
        try:
            shutil.copytree(os.path.join(src, "include", "broadcast"),
                            os.path.join(tmp, "include", "broadcast"))
            os.makedirs(os.path.join(tmp, "docs"))
            shutil.copy(os.path.join(src, "docs", "abi-history"), os.path.join(tmp, "docs"))
            for rel in glob.glob(os.path.join(src, "tests", "plugins", "abi-*")):
                shutil.copytree(rel, os.path.join(tmp, os.path.relpath(rel, src)))
            for path, old, new in edits:
                mutate(os.path.join(tmp, path), old, new)
            msgs = []
            rc = check(tmp, msgs.append)
            text = "\n".join(msgs)
            if want is None and rc != 0:
                print("FAIL: self-test %s: the unchanged copy fails:\n%s" % (name, text))
                failures += 1
            elif want is not None and (rc == 0 or want not in text):
                print("FAIL: self-test %s: expected a failure saying %r, got rc %d:\n%s"
                      % (name, want, rc, text))
                failures += 1
            else:
                print("ok: self-test %s" % name)
        except AssertionError as e:
            print("FAIL: %s (the self-test's mutation no longer applies: update it)" % e)
            failures += 1
        finally:
            shutil.rmtree(tmp)
    return 1 if failures else 0


def main():
    if "--generate" in sys.argv:
        sys.stdout.write(generate(SRC))
        return 0
    if "--selftest" in sys.argv:
        return selftest(SRC)
    rc = check(SRC, print)
    return rc or selftest(SRC)


if __name__ == "__main__":
    sys.exit(main())
