# SPDX-License-Identifier: Apache-2.0
"""Bearer tokens over HTTP: a tokens_file made with `broadcastd --hash-token`
(and one line hashed here, the way an operator's script might), then
missing, wrong, other-scheme and right tokens, the owner rule (another
token's stream: 403), health without a token, and a SIGHUP reload of the
tokens file that does not drop an open keep-alive connection."""
import hashlib
import http.client
import json
import os
import re
import secrets
import subprocess
import unittest

import bctest


def wait_log(d, pattern, timeout=10.0):
    """The daemon's log once `pattern` is in it (the access log line is
    written after the response, so it may trail the client by a moment)."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        log = d.log_text()
        if re.search(pattern, log) or time.monotonic() > deadline:
            return log
        time.sleep(0.02)


def hashed_line(name, token):
    return "%s:%s\n" % (name, hashlib.sha256(token.encode()).hexdigest())


def write_tokens(path, text):
    fd = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(path + ".new", path)


def new_token(name):
    """(tokens_file line, token) from broadcastd --hash-token NAME."""
    out = subprocess.run([bctest.BROADCASTD, "--hash-token", name], capture_output=True,
                         text=True, timeout=20, check=True).stdout
    lines = [l for l in out.splitlines() if l and not l.startswith("#")]
    return lines[0] + "\n", lines[1]


CONFIG = bctest.config(frontends='''
- type: http
  listen: "127.0.0.1:@HTTP_PORT@"
  tokens_file: "@TMP@/tokens"
''')


def call(conn, method, path, token=None, auth=None):
    headers = {}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    if auth is not None:
        headers["Authorization"] = auth
    conn.request(method, path, headers=headers)
    r = conn.getresponse()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, json.loads(r.read())


class Tokens(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        line, cls.alice = new_token("alice")
        cls.bob = secrets.token_urlsafe(32)
        cls.d = bctest.Daemon(CONFIG)
        write_tokens(os.path.join(cls.d.tmp, "tokens"), line + hashed_line("bob", cls.bob))
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.kill()

    def conn(self):
        c = http.client.HTTPConnection("127.0.0.1", self.d.http_port, timeout=10)
        self.addCleanup(c.close)
        return c

    def test_missing_token_401_with_www_authenticate(self):
        for method, path in (("POST", "/stream/start/"), ("GET", "/streams"),
                             ("GET", "/metrics")):
            status, headers, body = call(self.conn(), method, path)
            bctest.assert_error(self, status, body, 401, "auth.missing_token")
            self.assertTrue(headers["www-authenticate"].startswith("Bearer"), headers)

    def test_wrong_token_and_other_schemes_401(self):
        status, headers, body = call(self.conn(), "POST", "/stream/start/", token="nope")
        bctest.assert_error(self, status, body, 401, "auth.bad_token")
        self.assertIn('error="invalid_token"', headers["www-authenticate"])
        for auth in ("Basic YWxpY2U6eA==", "Token " + self.alice, "Bearer"):
            with self.subTest(auth=auth):
                status, headers, body = call(self.conn(), "POST", "/stream/start/", auth=auth)
                self.assertEqual(status, 401, body)
                self.assertTrue(headers["www-authenticate"].startswith("Bearer"))

    def test_right_token_owner_and_other_owner_403(self):
        status, _, body = call(self.conn(), "POST", "/stream/start/?name=a", token=self.alice)
        self.assertEqual(status, 200, body)
        sid = body["stream"]["id"]
        self.assertEqual(body["endpoint"]["S3"]["s3_bucket_path"], "alice/%s/" % sid)
        status, _, body = call(self.conn(), "GET", "/streams/" + sid, token=self.alice)
        self.assertEqual(body["stream"]["owner"], "alice")
        # bob may neither read nor stop alice's stream, nor see it listed
        status, _, body = call(self.conn(), "GET", "/streams/" + sid, token=self.bob)
        bctest.assert_error(self, status, body, 403, "stream.forbidden")
        status, _, body = call(self.conn(), "POST", "/stream/stop/?id=" + sid, token=self.bob)
        bctest.assert_error(self, status, body, 403, "stream.forbidden")
        status, _, body = call(self.conn(), "GET", "/streams?limit=1000", token=self.bob)
        self.assertNotIn(sid, [s["id"] for s in body["streams"]])
        status, _, body = call(self.conn(), "POST", "/stream/stop/?id=" + sid, token=self.alice)
        self.assertEqual(status, 200, body)

    def test_health_needs_no_token(self):
        status, _, body = call(self.conn(), "GET", "/healthz")
        self.assertEqual(status, 200, body)

    def test_tokens_never_logged(self):
        call(self.conn(), "GET", "/streams", token=self.alice)
        call(self.conn(), "GET", "/streams", token="wrong-" + self.bob)
        pattern = r"INFO +\[http\] GET /streams 200 alice \d+ms"
        log = wait_log(self.d, pattern)
        self.assertNotIn(self.alice, log)
        self.assertNotIn(self.bob, log)
        self.assertRegex(log, pattern)


class Reload(unittest.TestCase):
    def test_sighup_reloads_tokens_keeping_keep_alive_connection(self):
        old, new = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        d = bctest.Daemon(CONFIG)
        path = os.path.join(d.tmp, "tokens")
        write_tokens(path, hashed_line("carol", old))
        with d:
            conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10)
            try:
                status, _, _ = call(conn, "GET", "/streams", token=old)
                self.assertEqual(status, 200)
                sock = conn.sock
                write_tokens(path, hashed_line("carol", new))
                d.reload()
                # the same TCP connection still answers, with the new tokens
                status, _, body = call(conn, "GET", "/streams", token=new)
                self.assertEqual(status, 200, body)
                self.assertIs(conn.sock, sock, "the keep-alive connection was replaced")
                status, _, body = call(conn, "GET", "/streams", token=old)
                bctest.assert_error(self, status, body, 401, "auth.bad_token")
            finally:
                conn.close()


if __name__ == "__main__":
    unittest.main()
