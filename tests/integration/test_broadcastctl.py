# SPDX-License-Identifier: Apache-2.0
"""broadcastctl against the real broadcastd: every command, readable and
--json output, and each exit code (0 ok, 1 API error, 2 usage, 3 cannot
connect or no answer). Also checks the bash completion script and the man
page. Bounded: each run of broadcastctl has a 20 s timeout.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest

import bctest

CTL = bctest.BROADCASTCTL
FRONTENDS = '- type: unix\n  path: "@TMP@/control.sock"\n'


def run_ctl(*args, env=None, sock=None):
    e = dict(os.environ)
    e.pop("BROADCAST_SOCKET", None)
    e.update(env or {})
    argv = [CTL] + (["--socket", sock] if sock else []) + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=20, env=e)


class BroadcastctlUsageTest(unittest.TestCase):
    """No daemon needed."""

    def test_help_and_version(self):
        for args in (["--help"], ["-h"], ["help"], ["list", "--help"]):
            r = run_ctl(*args)
            self.assertEqual(r.returncode, 0, r)
            self.assertIn("Usage: broadcastctl", r.stdout)
            self.assertIn("start [--type T]", r.stdout)
        r = run_ctl("--version")
        self.assertEqual(r.returncode, 0, r)
        self.assertRegex(r.stdout, r"^broadcastctl \(broadcast\) \d+\.\d+")

    def test_usage_errors_exit_2(self):
        for args in ([], ["frobnicate"], ["stop"], ["get", "a", "b"], ["--bogus", "health"],
                     ["list", "--limit", "ten"], ["list", "--live", "--stopped"],
                     ["health", "extra"], ["start", "--type"], ["--timeout", "0", "health"],
                     ["--socket"]):
            r = run_ctl(*args)
            self.assertEqual(r.returncode, 2, (args, r))
            self.assertIn("Usage: broadcastctl", r.stderr, args)
            self.assertEqual(r.stdout, "", args)

    def test_cannot_connect_exit_3(self):
        missing = "/nonexistent-dir/control.sock"
        r = run_ctl("health", sock=missing)
        self.assertEqual(r.returncode, 3, r)
        self.assertIn("cannot connect to %s" % missing, r.stderr)
        self.assertIn("No such file or directory", r.stderr)
        # $BROADCAST_SOCKET is the default, --socket wins over it
        r = run_ctl("health", env={"BROADCAST_SOCKET": "/nonexistent-env/s.sock"})
        self.assertEqual(r.returncode, 3, r)
        self.assertIn("/nonexistent-env/s.sock", r.stderr)
        r = run_ctl("health", env={"BROADCAST_SOCKET": "/nonexistent-env/s.sock"}, sock=missing)
        self.assertIn(missing, r.stderr)
        # without either: the frontend's documented default
        r = run_ctl("health")
        if r.returncode == 3:
            self.assertIn("/run/broadcast/control.sock", r.stderr)

    def test_no_answer_exit_3(self):
        tmp = tempfile.mkdtemp(prefix="bctest-ctl-")
        path = os.path.join(tmp, "mute.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(4)
        held = []

        def accept_and_hold():
            try:
                for _ in range(2):
                    conn, _ = srv.accept()
                    held.append(conn)
                    if len(held) == 2:
                        conn.close()   # the second one: closed without an answer
            except OSError:
                pass

        t = threading.Thread(target=accept_and_hold, daemon=True)
        t.start()
        try:
            r = run_ctl("--timeout", "0.5", "health", sock=path)
            self.assertEqual(r.returncode, 3, r)
            self.assertIn("no answer from %s within 0.5 s" % path, r.stderr)
            r = run_ctl("health", sock=path)
            self.assertEqual(r.returncode, 3, r)
            self.assertIn("closed the connection without an answer", r.stderr)
        finally:
            srv.close()
            for c in held:
                c.close()
            shutil.rmtree(tmp, ignore_errors=True)

    def test_bash_completion(self):
        script = os.path.join(bctest.SRCDIR, "contrib", "bash-completion", "broadcastctl")
        if shutil.which("bash") is None:
            self.skipTest("no bash")

        def complete(*words):
            cmd = ('source "%s"; COMP_WORDS=(%s); COMP_CWORD=%d; _broadcastctl; '
                   'printf "%%s\\n" "${COMPREPLY[@]}"'
                   % (script, " ".join("'%s'" % w for w in words), len(words) - 1))
            r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 0, r.stderr)
            return set(r.stdout.split())

        self.assertEqual(complete("broadcastctl", "st"), {"start", "stop"})
        self.assertIn("--live", complete("broadcastctl", "list", "--"))
        self.assertIn("--provider", complete("broadcastctl", "--json", "start", "--p"))
        self.assertIn("--socket", complete("broadcastctl", "--"))

    def test_man_page(self):
        page = os.path.join(bctest.SRCDIR, "docs", "broadcastctl.1")
        if shutil.which("groff") is None:
            self.skipTest("no groff")
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        with open(page) as f:
            text = f.read()
        for word in ("start", "stop", "get", "list", "health", "plugins", "reload",
                     "metrics", "BROADCAST_SOCKET", "EXIT STATUS"):
            self.assertIn(word, text)


class BroadcastctlDaemonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = bctest.Daemon(bctest.config(frontends=FRONTENDS, store="type: memory\n"))
        cls.d.start()
        cls.sock = os.path.join(cls.d.tmp, "control.sock")

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.kill()

    def ctl(self, *args, want=0):
        r = run_ctl(*args, sock=self.sock)
        self.assertEqual(r.returncode, want, "%s -> %r\n%s" % (args, r, self.d.log_text()[-3000:]))
        return r

    def ctl_json(self, *args, want=0):
        return json.loads(self.ctl("--json", *args, want=want).stdout)

    def test_health(self):
        r = self.ctl("health")
        self.assertRegex(r.stdout, r"(?m)^status\s+ok$")
        body = self.ctl_json("health")
        self.assertEqual(body["status"], "ok")

    def test_plugins(self):
        r = self.ctl("plugins")
        header = r.stdout.splitlines()[0]
        self.assertIn("NAME", header)
        self.assertIn("KIND", header)
        self.assertRegex(r.stdout, r"(?m)^unix\s+frontend")
        body = self.ctl_json("plugins")
        self.assertIn("test", {p["name"] for p in body["plugins"]})

    def test_start_get_stop(self):
        body = self.ctl_json("start", "--type", "hls", "--name", "ctl-one", "--provider", "test")
        sid = body["stream"]["id"]
        self.assertEqual(body["stream"]["name"], "ctl-one")
        self.assertEqual(body["endpoint"]["S3"]["aws_expiration"], 3600.0)

        r = self.ctl("get", sid)
        self.assertRegex(r.stdout, r"(?m)^  id\s+%s$" % sid)
        self.assertRegex(r.stdout, r"(?m)^  owner\s+uid:%d$" % os.getuid())
        self.assertRegex(r.stdout, r"(?m)^  state\s+live$")
        self.assertRegex(r.stdout, r"(?m)^  stop_date\s+-$")

        r = self.ctl("stop", sid)
        self.assertRegex(r.stdout, r"(?m)^  stop_date\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
        r = self.ctl("stop", sid, want=1)
        self.assertIn("stream.already_stopped", r.stderr)
        self.assertEqual(r.stdout, "")
        # with --json the error body is printed too, for scripts
        body = self.ctl_json("stop", sid, want=1)
        self.assertEqual(body["error"]["code"], "stream.already_stopped")

    def test_start_readable_output(self):
        r = self.ctl("start", "--name", "ctl-readable")
        self.assertRegex(r.stdout, r"(?m)^stream:$")
        self.assertRegex(r.stdout, r"(?m)^  name\s+ctl-readable$")
        self.assertRegex(r.stdout, r"(?m)^endpoint:$")
        self.assertRegex(r.stdout, r"(?m)^  S3:$")
        self.assertRegex(r.stdout, r"(?m)^    s3_bucket_name\s+test-bucket$")

    def test_api_errors_exit_1(self):
        r = self.ctl("start", "--type", "nope", want=1)
        self.assertRegex(r.stderr, r"^broadcastctl: stream.bad_type: .+")
        r = self.ctl("get", "not-a-uuid", want=1)
        self.assertIn("stream.bad_id", r.stderr)
        r = self.ctl("get", "00000000-0000-4000-8000-000000000000", want=1)
        self.assertIn("stream.not_found", r.stderr)
        r = self.ctl("start", "--provider", "no-such-provider", want=1)
        self.assertIn("broadcastctl: ", r.stderr)
        r = self.ctl("list", "--limit", "5000", want=1)
        self.assertIn("broadcastctl: request.", r.stderr)

    def test_list(self):
        ids = [self.ctl_json("start", "--name", "ctl-list-%d" % i)["stream"]["id"] for i in range(3)]
        self.ctl("stop", ids[0])
        r = self.ctl("list")
        lines = r.stdout.splitlines()
        self.assertRegex(lines[0], r"^ID\s+NAME\s+")
        for sid in ids:
            self.assertIn(sid, r.stdout)
        live = self.ctl_json("list", "--live")
        live_ids = {s["id"] for s in live["streams"]}
        self.assertNotIn(ids[0], live_ids)
        self.assertIn(ids[1], live_ids)
        stopped = self.ctl_json("list", "--stopped")
        self.assertIn(ids[0], {s["id"] for s in stopped["streams"]})
        self.assertTrue(all(s["state"] == "stopped" for s in stopped["streams"]))
        # paging: --limit 1 gives a cursor, --cursor continues
        page = self.ctl_json("list", "--all", "--limit", "1")
        self.assertEqual(len(page["streams"]), 1)
        self.assertTrue(page["next_cursor"])
        nxt = self.ctl_json("list", "--limit", "1", "--cursor", page["next_cursor"])
        self.assertNotEqual(nxt["streams"][0]["id"], page["streams"][0]["id"])
        r = self.ctl("list", "--limit", "1")
        self.assertIn("more: broadcastctl list --limit 1 --cursor ", r.stdout)
        # options after the command, and before it, both work
        self.assertEqual(self.ctl_json("list", "--live", "--limit", "2")["streams"][0]["state"],
                         "live")

    def test_reload(self):
        r = self.ctl("reload")
        self.assertRegex(r.stdout, r"(?m)^reloaded\s+true$")
        self.assertEqual(self.ctl_json("reload"), {"reloaded": True})

    def test_metrics(self):
        r = self.ctl("metrics")
        self.assertIn("# TYPE broadcast_", r.stdout)
        self.assertIsInstance(self.ctl_json("metrics"), str)

    def test_env_socket(self):
        r = run_ctl("--json", "health", env={"BROADCAST_SOCKET": self.sock})
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(json.loads(r.stdout)["status"], "ok")


if __name__ == "__main__":
    unittest.main()
