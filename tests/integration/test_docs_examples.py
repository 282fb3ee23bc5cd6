# SPDX-License-Identifier: Apache-2.0
"""The shell examples of the README and docs/, run as a user would (issue 20).

Every ```sh block of README.md, docs/*.md and docs/*/*.md is split into
commands (a line, with its `\\` continuations). Each command is either run
here or skipped for a stated reason (SKIP: it needs root, a network, ffmpeg,
an installed package...); a command that is neither fails the test, so a
new example gets a decision. The commands that run are fed, block by block,
to one bash, in a folder laid out like the checkout after `.ci/build run`
(`_build/run-state/control.sock` is the daemon's socket), against a real
daemon set up as the README says (sqlite, the local provider, the http
frontend on loopback, the unix socket) with these substitutions only:
127.0.0.1:8080 becomes the daemon's port, `3f1c…` and `$ID` the id of the
stream the block last started, `$NEXT_CURSOR` the last list's cursor, and
`broadcastctl`/`broadcastd` are the build tree's.

Then each output is held to what the docs say: the `# {...}` or `# -> {...}`
comment after a curl is parsed as JSON (`…` and `...` stand for any value)
and the answer must have the same keys in the same order, the same literal
values and dates where the comment has them; every JSON answer is checked
against docs/openapi.yaml for its route (test_openapi.check); broadcastctl
must exit 0. Also here: the http.md refusal quote against the real log
line, the built broadcastd(8) against `broadcastd --help`, metric names and
error codes the docs cite against the sources, and broadcastctl's "more:"
hint, which must give the next page when run as printed.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

import bctest
import test_openapi

DOCS = ["README.md"] + sorted(
    os.path.relpath(os.path.join(root, f), bctest.SRCDIR)
    for root, _, files in os.walk(os.path.join(bctest.SRCDIR, "docs"))
    for f in files if f.endswith(".md"))

# First words of commands that are not run here, and why.
SKIP = {
    ".ci/build": "installs packages and runs the whole suite: it is CI itself",
    "ffmpeg": "tests/integration/test_local_ffmpeg.py pushes with ffmpeg",
    "openssl": "makes a certificate; test_http_security.py does the same",
    "sudo": "needs root and PostgreSQL; test_postgres_nodes.py covers it",
    "systemctl": "needs systemd; tests/check-hardening.sh checks the unit",
    "journalctl": "needs systemd",
    "cc": "tests/check-installed-headers.sh builds a plugin from the headers",
    "cp": "installs into the system plugin folder",
    "make": "builds examples/provider-hello: tests/check-sdk.sh does, from an installed copy",
    "BROADCAST_PLUGIN_PATH=$PWD": "a plugin built in the current folder: tests/check-sdk.sh",
    "broadcast-plugin-check": "tests/check-plugins.sh and tests/check-sdk.sh run the kit",
    "LOAD_SECONDS=600": "ten minutes of load: test_load_wrk.py runs it shorter",
    "aws": "needs AWS; test_s3_sts.py uploads with the minted keys to the STS double",
    "./configure": "builds the whole tree: .ci/build check does, and make distcheck",
    "dpkg-buildpackage": "builds the Debian packages: tests/packaging/build-debs.sh",
    "lintian": "tests/packaging/build-debs.sh runs it on the packages it builds",
    "git": "reads or changes the checkout",
}
# Commands run here only for their setting or their output's shape.
RUN_PREFIXES = ("curl ", "broadcastctl ", "broadcastd --hash-token", "export BROADCAST_SOCKET=",
                "resp=$(curl", "UPLOAD_URL=$(", "UPLOAD_TOKEN=$(", "echo \"open ")
# Not runnable as written: a host that is not the test daemon.
FOREIGN = ("https://", "broadcastd -c /etc/", "export DJ_BROADCAST_", "export AWS_", "pkg-config",
           "broadcastd --list-plugins", "broadcastd --describe hello",
           "broadcastctl --socket /run/broadcast/")

PLACEHOLDER = re.compile(r"…|\.\.\.")
DATE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def sh_blocks():
    """[(doc, line, [(command, [comment lines after it])])] of ```sh blocks."""
    out = []
    for doc in DOCS:
        with open(os.path.join(bctest.SRCDIR, doc), encoding="utf-8") as f:
            lines = f.read().split("\n")
        i = 0
        while i < len(lines):
            if lines[i].strip() in ("```sh", "```bash", "```shell"):
                start = i + 1
                body = []
                i += 1
                while i < len(lines) and lines[i].strip() != "```":
                    body.append(lines[i])
                    i += 1
                out.append((doc, start, commands(body)))
            i += 1
    return out


def commands(body):
    """Logical commands of a block, each with the comment lines (or bare
    output lines) that follow it."""
    cmds = []
    j = 0
    while j < len(body):
        line = body[j]
        if not line.strip():
            j += 1
            continue
        if line.lstrip().startswith("#") or (cmds and not looks_like_command(line)):
            if cmds:
                cmds[-1][1].append(line)
            j += 1
            continue
        text = line
        while text.endswith("\\") and j + 1 < len(body):
            j += 1
            text = text[:-1] + " " + body[j].strip()
        cmds.append((text.strip(), []))
        j += 1
    return cmds


def looks_like_command(line):
    word = line.split()[0]
    return (re.match(r"^[A-Za-z_.][\w./-]*(=|$)", word) is not None and ":" not in word
            and not re.match(r"^[A-Za-z0-9+/]{3}\.\.\.", word))


def classify(cmd):
    """'run', 'foreign' or a SKIP reason (None: not classified)."""
    first = cmd.split()[0]
    if first in SKIP:
        return SKIP[first]
    if any(f in cmd for f in FOREIGN):
        return "foreign"
    for part in re.split(r";\s+(?=broadcastctl |curl )", cmd):
        if not part.startswith(RUN_PREFIXES):
            return None
    return "run"


def documented_json(comments):
    """The JSON value a `# {...}` / `# -> {...}` comment shows, or None."""
    text = " ".join(re.sub(r"^\s*#\s?(->\s*)?", "", c) for c in comments)
    start = text.find("{")
    if start < 0 or not comments or not re.match(r"^\s*#\s*(->\s*)?\{", comments[0]):
        return None
    text = re.sub(r"\{\s*(…|\.\.\.)\s*\}", "{}", text[start:])
    return json.JSONDecoder().raw_decode(text)[0]


def same_shape(tc, doc, real, where):
    """`real` has what the documented value `doc` shows."""
    if isinstance(doc, dict):
        tc.assertIsInstance(real, dict, where)
        if not doc:
            return  # {…}: any object
        keys = [k for k in doc]
        tc.assertEqual([k for k in real if k in doc], keys, "%s: keys or their order" % where)
        for k in keys:
            same_shape(tc, doc[k], real[k], "%s.%s" % (where, k))
    elif isinstance(doc, str):
        tc.assertIsInstance(real, str, where)
        if DATE.match(doc):
            tc.assertRegex(real, DATE, where)
        elif not PLACEHOLDER.search(doc):
            tc.assertEqual(real, doc, where)
    elif isinstance(doc, bool) or doc is None:
        tc.assertEqual(real, doc, where)
    elif isinstance(doc, (int, float)):
        tc.assertIsInstance(real, (int, float), where)


def route_of(url_path):
    """The openapi path of an URL path (None: not an API route)."""
    path = url_path.split("?")[0].rstrip("/")
    if re.match(r"^/streams/[^/]+$", path):
        return "/streams/{id}"
    for p in test_openapi.SPEC["paths"]:
        if p.rstrip("/") == path:
            return p
    return None


class Shell:
    """One bash for a block, so its variables carry from line to line."""

    def __init__(self, cwd, env):
        # stderr apart: curl without -s draws its progress meter there
        self.err = tempfile.TemporaryFile(mode="w+")
        self.p = subprocess.Popen(["bash", "--noprofile", "--norc"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err,
                                  cwd=cwd, env=env, text=True)

    def stderr(self):
        self.err.seek(0)
        return self.err.read()

    def run(self, cmd):
        self.p.stdin.write("%s\nprintf '\\n@@END@@ %%d\\n' $?\n" % cmd)
        self.p.stdin.flush()
        out = []
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise AssertionError("bash ended during %r: %s" % (cmd, "".join(out)))
            if line.startswith("@@END@@ "):
                text = "".join(out)
                return int(line.split()[1]), text[:-1] if text.endswith("\n") else text
            out.append(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait(10)
        self.p.stdout.close()
        self.err.close()


class TestDocsExamples(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.home = tempfile.mkdtemp(prefix="bctest-docs-ex-")
        run_state = os.path.join(cls.home, "_build", "run-state")
        os.makedirs(os.path.join(run_state, "hls"))
        cls.d = test_openapi.readme_daemon(frontends=(
            '- type: http\n  listen: "127.0.0.1:@HTTP_PORT@"\n'
            '- type: unix\n  path: %s/control.sock\n' % run_state)).start()
        cls.env = dict(os.environ)
        cls.env["PATH"] = os.path.join(bctest.BUILDDIR, "framework") + ":" + cls.env["PATH"]
        cls.env.pop("BROADCAST_SOCKET", None)
        cls.blocks = sh_blocks()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.kill()
        shutil.rmtree(cls.home, ignore_errors=True)

    def test_every_command_is_classified(self):
        seen = 0
        for doc, line, cmds in self.blocks:
            for cmd, _ in cmds:
                seen += 1
                self.assertIsNotNone(classify(cmd), "%s:%d: %r is neither run by this test "
                                     "nor in its SKIP list" % (doc, line, cmd))
        self.assertGreater(seen, 20)

    def run_block(self, doc, line, cmds):
        sh = Shell(self.home, self.env)
        sid = cursor = None
        ran = 0
        try:
            for cmd, comments in cmds:
                if classify(cmd) != "run":
                    continue
                where = "%s:%d: %s" % (doc, line, cmd)
                real_cmd = cmd.replace("127.0.0.1:8080", "127.0.0.1:%d" % self.d.http_port)
                if sid is not None:
                    real_cmd = real_cmd.replace("3f1c…", sid)
                exports = "ID=%s NEXT_CURSOR=%s" % (shlex.quote(sid or ""),
                                                   shlex.quote(cursor or ""))
                rc, out = sh.run(exports + "; " + real_cmd)
                ran += 1
                self.assertEqual(rc, 0, "%s\n%s\n%s" % (where, out, sh.stderr()))
                if cmd.startswith("curl ") and "/metrics" not in cmd:
                    body = json.loads(out)
                    self.assertNotIn("error", body, where)
                    url = re.search(r"https?://[^/\s'\"]+(/[^\s'\"]*)", real_cmd).group(1)
                    route = route_of(url)
                    self.assertIsNotNone(route, where)
                    method = "post" if ("-X POST" in cmd or " -d " in cmd) else "get"
                    schema = (test_openapi.operation(route, method)["responses"]["200"]
                              ["content"]["application/json"]["schema"])
                    self.assertEqual(test_openapi.check(schema, body), [], where)
                    shown = documented_json(comments)
                    if shown is not None:
                        # endpoint kinds other providers give are checked
                        # against openapi instead of this daemon's answer
                        for kind, fields in list(shown.get("endpoint", {}).items()):
                            if kind not in body.get("endpoint", {}):
                                sch = test_openapi.resolve(
                                    test_openapi.SPEC["components"]["schemas"]
                                    ["StartResponse"]["properties"]["endpoint"]
                                    ["properties"][kind])
                                self.assertEqual([k for k in sch["properties"] if k in fields],
                                                 list(fields), where)
                                self.assertEqual(set(sch["required"]) - set(fields),
                                                 set(), where)
                                del shown["endpoint"][kind]
                                shown["endpoint"][next(iter(body["endpoint"]))] = {}
                        same_shape(self, shown, body, where)
                    if "stream" in body and "stop_date" not in body["stream"]:
                        sid = body["stream"]["id"]
                    if "next_cursor" in body:
                        cursor = body["next_cursor"]
                elif cmd.startswith("curl "):
                    self.assertIn("# TYPE broadcast_", out, where)
                elif cmd.startswith("broadcastctl start"):
                    sid = re.search(r"\bid\s+([0-9a-f-]{36})", out).group(1)
                elif cmd.startswith("broadcastd --hash-token"):
                    shown = [c for c in comments]
                    got = out.rstrip("\n").split("\n")
                    self.assertEqual(len(got), len(shown), (shown, got))
                    for s, g in zip(shown, got):
                        if "..." in s:
                            # "alice:3f1c...e9": random but for "alice:"
                            pre = s.split("...", 1)[0]
                            self.assertTrue(g.startswith(pre[:pre.rfind(":") + 1]), (s, g))
                        else:
                            self.assertEqual(g, s)
                    self.assertRegex(got[1], r"^alice:[0-9a-f]{64}$")
                elif cmd.startswith("echo \"open "):
                    url = re.search(r"open (\S+) in a browser", out).group(1)
                    self.assertRegex(url, r"^http://127\.0\.0\.1:\d+/live/[0-9a-f-]{36}/$")
                    page = subprocess.run(["curl", "-s", "-f", url], capture_output=True,
                                          text=True, timeout=30)
                    self.assertEqual(page.returncode, 0, url)
                    self.assertIn("<", page.stdout)
        finally:
            sh.close()
        return ran

    def test_run_the_examples(self):
        ran = {}
        # a second page for `... limit=50&cursor=$NEXT_CURSOR` (docs/http.md)
        for i in range(51):
            self.assertEqual(self.d.request("POST", "/stream/start/",
                                            params={"name": "bulk%d" % i})[0], 200)
        for doc, line, cmds in self.blocks:
            with self.subTest(doc=doc, line=line):
                ran[doc] = ran.get(doc, 0) + self.run_block(doc, line, cmds)
        self.assertGreaterEqual(ran.get("README.md", 0), 10, ran)
        self.assertGreaterEqual(ran.get("docs/http.md", 0), 10, ran)

    def test_broadcastctl_more_hint(self):
        """The "more:" line of a list, run as printed, gives the next page of
        the same list."""
        for i in range(3):
            self.d.request("POST", "/stream/start/", params={"name": "more%d" % i})
        env = dict(self.env)
        env["BROADCAST_SOCKET"] = os.path.join(self.home, "_build", "run-state", "control.sock")
        p = subprocess.run(["broadcastctl", "list", "--live", "--limit", "2"], env=env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        more = re.search(r"^more: (broadcastctl list --live --limit 2 --cursor \S+)$",
                         p.stdout, re.M)
        self.assertIsNotNone(more, p.stdout)
        q = subprocess.run(shlex.split(more.group(1)), env=env, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(q.returncode, 0, q.stderr)
        first = set(re.findall(r"[0-9a-f-]{36}", p.stdout.split("more:")[0]))
        second = set(re.findall(r"[0-9a-f-]{36}", q.stdout.split("more:")[0]))
        self.assertEqual(len(first), 2)
        self.assertTrue(second and not first & second, (first, second))


class TestDocsText(unittest.TestCase):
    """What the docs quote or name, against the daemon and the sources."""

    def sources(self):
        text = []
        for top in ("framework", "providers", "stores", "frontends"):
            for root, _, files in os.walk(os.path.join(bctest.SRCDIR, top)):
                for f in files:
                    if f.endswith(".c"):
                        with open(os.path.join(root, f), encoding="utf-8") as fh:
                            text.append(fh.read())
        return "\n".join(text)

    def docs_text(self, extra=("docs/openapi.yaml",)):
        out = {}
        for doc in DOCS + list(extra):
            with open(os.path.join(bctest.SRCDIR, doc), encoding="utf-8") as f:
                out[doc] = f.read()
        return out

    def test_http_md_quotes_the_real_refusal(self):
        with open(os.path.join(bctest.SRCDIR, "docs", "http.md"), encoding="utf-8") as f:
            text = f.read()
        quote = re.search(r"\n((?:    ERROR \[broadcastd\].*\n)(?:    .*\n)*)", text).group(1)
        quote = " ".join(l.strip() for l in quote.splitlines())
        listen = re.search(r'listen "([^"]+)"', quote).group(1)
        cfg = bctest.config(frontends='- type: http\n  listen: "%s"\n' % listen)
        d = bctest.Daemon(cfg)
        with self.assertRaises(bctest.DaemonError):
            d.start()
        d.kill()
        line = next(l for l in d.log_text().splitlines() if " ERROR " in l)
        line = line.split(" ", 1)[1]  # the time stamp
        norm = lambda s: re.sub(r"\S+\.yaml:\d+:\d+:", "FILE:LINE:COL:", re.sub(r"\s+", " ", s))
        self.assertEqual(norm(line).strip(), norm(quote).strip())
        shutil.rmtree(d.tmp, ignore_errors=True)

    def test_man_page_paths_are_the_build_s(self):
        page = os.path.join(bctest.BUILDDIR, "docs", "broadcastd.8")
        with open(page, encoding="utf-8") as f:
            text = f.read()
        self.assertNotRegex(text, r"@[a-z_]+@")
        helptext = subprocess.run([bctest.BROADCASTD, "--help"], capture_output=True,
                                  text=True, timeout=30).stdout
        default = re.search(r"configuration \(default (\S+)\)", helptext).group(1)
        self.assertIn(".IR %s )." % default, text)
        plugindir = re.search(r"configuration's plugin_dir\s+and (\S+)\.", helptext).group(1)
        self.assertIn(".IR %s ." % plugindir, text)
        self.assertNotIn("RTMP", helptext)  # no RTMP provider exists

    def test_metric_names_have_their_prefix(self):
        src = self.sources()
        names = set(re.findall(r'(?:counter_add|gauge_set|counter_inc|gauge_add)\s*\([^"]*"'
                               r'([a-z_]+)"', src))
        names |= set(re.findall(r'bc_metrics_\w+\([^"]*"([a-z_]+)"', src))
        self.assertIn("sqlite_write_transactions_total", names)
        for doc, text in self.docs_text().items():
            for tok in re.findall(r"`([a-z_]+)(?:\{[^`]*\})?`", text):
                with self.subTest(doc=doc, name=tok):
                    self.assertNotIn(tok, names, "%s names metric %s without its "
                                     "broadcast_ prefix" % (doc, tok))
                    if tok.startswith("broadcast_"):
                        base = re.sub(r"_(bucket|sum|count)$", "", tok[len("broadcast_"):])
                        self.assertTrue(base in names or '"%s"' % base in src
                                        or "broadcast_" + base in src,
                                        "%s names %s, which no source writes" % (doc, tok))

    def test_error_codes_exist(self):
        """Codes the API docs cite (`s3.credentials_rejected`...) are codes
        the sources really give."""
        src = self.sources()
        spaces = ("s3", "sqlite", "postgres", "local", "http", "unix", "request", "api",
                  "auth", "store")
        for doc in ("docs/api.md", "docs/openapi.yaml", "docs/http.md"):
            with open(os.path.join(bctest.SRCDIR, doc), encoding="utf-8") as f:
                text = f.read()
            for code in set(re.findall(r"`((?:%s)\.[a-z_]+)`" % "|".join(spaces), text)):
                space, name = code.split(".", 1)
                with self.subTest(doc=doc, code=code):
                    # http_guard.c names CivetWeb's refusals by their part
                    # after "http."
                    self.assertTrue('"%s"' % code in src or '"%%s.%s"' % name in src or
                                    (space == "http" and 'name = "%s"' % name in src),
                                    "%s cites %s, which no source gives" % (doc, code))


if __name__ == "__main__":
    unittest.main()
