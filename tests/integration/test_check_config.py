# SPDX-License-Identifier: Apache-2.0
"""`broadcastd --check-config` and the real start agree (issue 20).

Every plugin's check() (ABI 1.1) runs in both, right before create() in a
real start, so a file --check-config passes is one the daemon starts with,
unless what only a start can find is wrong (a port taken, a database down),
which --check-config says it did not check.

For each bad configuration below: --check-config exits non-zero, the real
start exits 1, and both print the same error (file:line:col, instance, dotted
code, message). Bad ones: s3 `duration: 100`, `credentials: assume-role`
without role_arn, a path template with an unknown placeholder, an unreadable
ca_file, a malformed sts_endpoint; http `listen: 0.0.0.0:PORT` without tokens
or TLS, `cors_origins: ["*"]`, `allowed_hosts: ["http://x"]`, a TLS key that
is not a key, a key of another certificate, an unreadable certificate;
postgres `schema: pg_x`, an unparsable conninfo; sqlite in a missing folder;
unix on a path that is not a socket, an unknown group. A good file passes and
its output names what was not checked; a file whose only fault needs a
connection (postgres down) passes --check-config and fails to start.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import bctest

ERROR_LINE = re.compile(r"ERROR \[broadcastd\] (.*)")

S3 = {"name": "s3-main", "type": "s3", "bucket": "stream-bucket",
      "access_key_id": "AKIDCHECKCONFIG00001", "secret_access_key": "check/Secret+Key0123",
      "sts_endpoint": "http://127.0.0.1:9"}  # never called by a start


def yaml_map(opts):
    """A YAML flow map; values are quoted strings, but "[...]" is a list."""
    return "{" + ", ".join("%s: %s" % (k, v if v.startswith("[") else '"%s"' % v)
                           for k, v in opts.items()) + "}"


def s3(**extra):
    opts = dict(S3)
    opts.update(extra)
    return yaml_map(opts)


def run(args, timeout):
    p = subprocess.run([bctest.BROADCASTD] + args, capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


class CheckConfig(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="bctest-check-")
        cls.port = bctest.free_port()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def write(self, name, store=None, providers=None, frontends=None):
        store = store or "{type: sqlite, path: %s/%s.db}" % (self.tmp, name)
        providers = providers or ["{name: test, type: test}"]
        frontends = frontends or ['{type: http, listen: "127.0.0.1:%d"}' % self.port]
        text = ("log: {level: info}\nstore: %s\nproviders:\n%s\nfrontends:\n%s\n"
                % (store, "\n".join("  - " + p for p in providers),
                   "\n".join("  - " + f for f in frontends)))
        path = os.path.join(self.tmp, name + ".yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def error_of(self, stderr):
        lines = ERROR_LINE.findall(stderr)
        self.assertTrue(lines, stderr)
        return lines[-1]

    def assert_both_refuse(self, path, code, *words):
        """--check-config and the real start fail with the same message."""
        rc, out, err = run(["-c", path, "--check-config"], 30)
        self.assertNotEqual(rc, 0, out + err)
        self.assertNotIn("configuration OK", out)
        checked = self.error_of(err)
        codes = code if isinstance(code, tuple) else (code,)
        self.assertTrue(any(": %s: " % c in checked for c in codes), (codes, checked))
        self.assertTrue(checked.startswith(path + ":"), checked)
        for w in words:
            self.assertIn(w, checked)
        rc, out, err = run(["-c", path], 30)
        self.assertEqual(rc, 1, out + err)
        self.assertNotIn("broadcastd ready", err)
        self.assertEqual(self.error_of(err), checked)
        self.assertNotIn(S3["secret_access_key"], err)
        return checked

    def test_good_config_passes_and_says_what_was_not_checked(self):
        path = self.write("good", providers=["{name: test, type: test}", s3()])
        rc, out, err = run(["-c", path, "--check-config"], 30)
        self.assertEqual(rc, 0, err)
        self.assertIn("configuration OK", out)
        self.assertRegex(out, r"not checked: ports.*databases.*upstream services")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "good.db")))  # wrote nothing

    def test_s3(self):
        cases = {
            "duration": ({"duration": "100"}, ["900", "129600"]),
            "role_arn": ({"credentials": "assume-role"}, ["role_arn"]),
            "path": ({"path": "{owner}/{bogus}/"}, ["path:", "bogus"]),
            "ca_file": ({"ca_file": "/nope.pem"}, ["ca_file", "/nope.pem"]),
            "sts_endpoint": ({"sts_endpoint": "ftp://sts.example"}, ["sts_endpoint"]),
        }
        for what, (extra, words) in cases.items():
            with self.subTest(what):
                path = self.write("s3-" + what, providers=[s3(**extra)])
                self.assert_both_refuse(path, "s3.bad_option", *words)

    def test_http(self):
        cases = {
            "insecure": ({"listen": "0.0.0.0:%d" % self.port}, "http.insecure_listen"),
            "cors": ({"cors_origins": '["*"]'}, "http.bad_cors_origin"),
            "hosts": ({"allowed_hosts": '["http://x"]'}, "http.bad_allowed_host"),
            "listen": ({"listen": "localhost:%d" % self.port}, "http.bad_listen"),
        }
        for what, (extra, code) in cases.items():
            with self.subTest(what):
                opts = {"type": "http", "listen": "127.0.0.1:%d" % self.port}
                opts.update(extra)
                path = self.write("http-" + what, frontends=[yaml_map(opts)])
                self.assert_both_refuse(path, code)

    @unittest.skipUnless(shutil.which("openssl"), "openssl(1) makes the test certificates")
    def test_http_tls_files(self):
        pairs = []
        for n in ("a", "b"):
            cert, key = (os.path.join(self.tmp, "%s.%s" % (n, ext)) for ext in ("crt", "key"))
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", key,
                            "-out", cert], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            pairs.append((cert, key))
        garbage = os.path.join(self.tmp, "garbage.key")
        with open(garbage, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
        (cert_a, key_a), (_, key_b) = pairs
        cases = {
            "bad key": (cert_a, garbage, "http.tls_bad_key"),
            # OpenSSL 3 already refuses the key when it is loaded
            "mismatch": (cert_a, key_b, ("http.tls_key_mismatch", "http.tls_bad_key")),
            "no cert": (os.path.join(self.tmp, "missing.crt"), key_a,
                        "http.tls_cert_unreadable"),
        }
        for what, (cert, key, code) in cases.items():
            with self.subTest(what):
                fe = ('{type: http, listen: "127.0.0.1:%d", tls: {cert: "%s", key: "%s"}}'
                      % (self.port, cert, key))
                path = self.write("tls-" + what.replace(" ", "-"), frontends=[fe])
                self.assert_both_refuse(path, code)
        # The right pair passes --check-config, and nothing was bound by it.
        fe = ('{type: http, listen: "127.0.0.1:%d", tls: {cert: "%s", key: "%s"}}'
              % (self.port, cert_a, key_a))
        rc, out, err = run(["-c", self.write("tls-good", frontends=[fe]), "--check-config"], 30)
        self.assertEqual(rc, 0, err)
        self.assertIn("configuration OK", out)

    def test_postgres(self):
        closed = bctest.free_port()
        ok = "host=127.0.0.1 port=%d dbname=broadcast connect_timeout=2" % closed
        path = self.write("pg-schema", store='{type: postgres, conninfo: "%s", schema: pg_x}'
                          % ok)
        self.assert_both_refuse(path, "postgres.bad_schema", "pg_x")
        secret = "hunter2secret"
        path = self.write("pg-conninfo", store='{type: postgres, conninfo: "host=127.0.0.1 '
                          'password=%s junk"}' % secret)
        msg = self.assert_both_refuse(path, "postgres.bad_conninfo")
        self.assertNotIn(secret, msg)
        # A database that is down is only found by a start, and --check-config
        # says it did not look.
        path = self.write("pg-down", store='{type: postgres, conninfo: "%s"}' % ok)
        rc, out, err = run(["-c", path, "--check-config"], 30)
        self.assertEqual(rc, 0, err)
        self.assertIn("databases", out)
        rc, out, err = run(["-c", path], 60)
        self.assertEqual(rc, 1, err)
        self.assertIn("store.unavailable", self.error_of(err))

    def test_sqlite_and_unix(self):
        path = self.write("sqlite-folder", store="{type: sqlite, path: %s/no/such/s.db}"
                          % self.tmp)
        self.assert_both_refuse(path, "sqlite.no_directory", "mkdir -p")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "no")))
        plain = os.path.join(self.tmp, "plain-file")
        with open(plain, "w") as f:
            f.write("not a socket\n")
        path = self.write("unix-file", frontends=['{type: unix, path: "%s"}' % plain])
        self.assert_both_refuse(path, "unix.not_a_socket", plain)
        sock = os.path.join(self.tmp, "s", "control.sock")
        path = self.write("unix-group", frontends=['{type: unix, path: "%s", '
                                                   'group: no-such-group-x}' % sock])
        self.assert_both_refuse(path, "unix.bad_id", "no-such-group-x")
        self.assertFalse(os.path.exists(os.path.dirname(sock)))  # check created nothing


if __name__ == "__main__":
    unittest.main(verbosity=2)
