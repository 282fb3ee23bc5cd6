# SPDX-License-Identifier: Apache-2.0
"""broadcastd itself: --version, --list-plugins, --describe, --hash-token,
--check-config, startup errors, SIGTERM drain and SIGHUP reload. Uses the
memory store and test provider (tests/plugins) and no frontend, so it
depends on nothing but the framework."""
import os
import re
import signal
import subprocess
import tempfile
import unittest

import bctest

BASE = """log: {level: debug}
store: {type: memory}
providers:
  - {name: test, type: test, secret: "s3cr3t-value-never-logged"}
"""


def run(*args, env=None, input=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([bctest.BROADCASTD] + list(args), capture_output=True, text=True,
                       env=e, timeout=30, input=input)
    return p.returncode, p.stdout, p.stderr


def write(text):
    fd, path = tempfile.mkstemp(suffix=".yaml", prefix="bc-daemon-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


class Informational(unittest.TestCase):
    def test_version(self):
        rc, out, _ = run("--version")
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^broadcastd \S+ \(plugin ABI 1\.1\)\n$")

    def test_list_plugins_shows_every_built_plugin_with_abi(self):
        rc, out, _ = run("--list-plugins")
        self.assertEqual(rc, 0, out)
        rows = {}
        for line in out.splitlines()[2:]:
            parts = line.split()
            if len(parts) >= 5 and parts[0] in ("provider", "store", "frontend"):
                rows[(parts[0], parts[1])] = parts
        self.assertIn(("provider", "test"), rows, out)
        self.assertIn(("store", "memory"), rows, out)
        # Every plugin .so the build made is listed with its ABI version.
        build = bctest.BUILDDIR
        for kind, folder, name in [("store", "stores/sqlite", "sqlite"),
                                   ("store", "stores/postgres", "postgres"),
                                   ("provider", "providers/local", "local"),
                                   ("provider", "providers/s3", "s3"),
                                   ("frontend", "frontends/http", "http"),
                                   ("frontend", "frontends/unix", "unix")]:
                so = os.path.join(build, folder, ".libs",
                                  "%s_%s.so" % (folder.split("/")[0].rstrip("s"), name))
                if os.path.exists(so):
                    self.assertIn((kind, name), rows, out)
                    self.assertEqual(rows[(kind, name)][3], "1.1", out)
        self.assertNotIn("rejected", out)

    def test_describe_prints_options_without_secret_defaults(self):
        rc, out, _ = run("--describe", "test")
        self.assertEqual(rc, 0, out)
        for opt in ("section", "fail_start", "delay_start", "secret", "stream_types"):
            self.assertIn(opt, out)
        rc, out, err = run("--describe", "no-such-plugin")
        self.assertEqual(rc, 1)
        self.assertIn("no plugin named 'no-such-plugin'", err)

    def test_hash_token(self):
        rc, out, _ = run("--hash-token", "alice")
        self.assertEqual(rc, 0)
        lines = [l for l in out.splitlines() if not l.startswith("#")]
        self.assertEqual(len(lines), 2, out)
        self.assertRegex(lines[0], r"^alice:[0-9a-f]{64}$")
        self.assertRegex(lines[1], r"^[A-Za-z0-9_-]{43}$")
        import hashlib
        self.assertEqual(lines[0].split(":")[1], hashlib.sha256(lines[1].encode()).hexdigest())
        rc, _, _ = run("--hash-token", "bad name!")
        self.assertEqual(rc, 2)

    def test_usage(self):
        rc, _, err = run("--no-such-flag")
        self.assertEqual(rc, 2)
        self.assertIn("Usage", err)


class CheckConfig(unittest.TestCase):
    def test_good(self):
        path = write(BASE)
        rc, out, err = run("-c", path, "--check-config")
        self.assertEqual(rc, 0, err)
        self.assertIn("configuration OK", out)

    def test_errors_name_file_line_column(self):
        path = write(BASE + "frontends:\n  - {type: test-nothing}\n")
        rc, _, err = run("-c", path, "--check-config")
        self.assertEqual(rc, 1)
        self.assertRegex(err, re.escape(path) + r":6:12: unknown frontend type 'test-nothing'")

    def test_env_interpolation(self):
        path = write(BASE.replace("section", "x") + "")
        text = BASE.replace('secret: "s3cr3t-value-never-logged"', 'section: "${BC_T_SECTION}"')
        path = write(text)
        rc, _, err = run("-c", path, "--check-config")
        self.assertEqual(rc, 1)
        self.assertIn("BC_T_SECTION", err)
        rc, _, err = run("-c", path, "--check-config", env={"BC_T_SECTION": "S3"})
        self.assertEqual(rc, 0, err)

    def test_missing_file(self):
        rc, _, err = run("-c", "/nonexistent/broadcast.yaml", "--check-config")
        self.assertEqual(rc, 1)
        self.assertIn("/nonexistent/broadcast.yaml", err)


class Lifecycle(unittest.TestCase):
    def test_sigterm_exits_zero(self):
        d = bctest.Daemon(BASE)
        with d:
            self.assertIn("broadcastd ready", d.log_text())
        self.assertEqual(d.proc.returncode, 0)
        self.assertIn("stopped", d.log_text())
        self.assertNotIn("s3cr3t-value-never-logged", d.log_text())

    def test_sigint_exits_zero(self):
        d = bctest.Daemon(BASE)
        d.start()
        self.assertEqual(d.stop(sig=signal.SIGINT), 0)

    def test_sighup_reload_good_and_bad(self):
        d = bctest.Daemon(BASE)
        with d:
            d.reload(BASE.replace("name: test,", "name: test2,"))
            d.reload("store: [this is: not valid\n", wait_for="reload failed")
            self.assertIsNone(d.proc.poll())
            # Still serving the good configuration: a later good reload works.
            d.reload(BASE)
        self.assertEqual(d.proc.returncode, 0)

    def test_bad_config_exits_one(self):
        d = bctest.Daemon(BASE.replace("type: memory", "type: nosuchstore"))
        with self.assertRaises(bctest.DaemonError) as cm:
            d.start()
        self.assertIn("unknown store type 'nosuchstore'", str(cm.exception))
        self.assertEqual(d.proc.returncode, 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
