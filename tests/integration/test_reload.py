# SPDX-License-Identifier: Apache-2.0
"""SIGHUP reload of the real broadcastd.

- A changed config (a provider added) is taken: the daemon logs
  "configuration reloaded" and the new provider serves starts, while streams
  of the old one can still be read and stopped.
- A broken config (YAML syntax, an unknown key, an unknown plugin type, a
  bad value, a plugin whose create() fails) is refused with "reload failed" and the old configuration keeps serving; a
  good reload afterwards still works.
- Only the plugins the configuration names are mapped into the daemon
  (/proc/PID/maps); a reload that names a new type loads its plugin then.
- An http frontend whose options did not change keeps its listening socket
  (the same socket inode in /proc/net/tcp) and its connections: an open
  keep-alive connection gets answers before and after the reload, on the
  same TCP connection.
- Pointing an http frontend's tokens_file at another file, or changing only
  the options the host reads itself (rate_limit, rate_burst,
  auth_fail_limit, max_body), keeps its listening socket: the new tokens and
  limits apply without a rebind; an unreadable tokens_file is refused and
  the old tokens stay in force.
"""
import hashlib
import json
import os
import signal
import socket
import unittest

import bctest

TIMEOUT_S = 55

PROVIDERS = '''
- name: test
  type: test
'''
PROVIDERS_2 = PROVIDERS + '''
- name: second
  type: test
  section: HTTP
'''

CONFIG = bctest.config(providers=PROVIDERS)


def on_alarm(signum, frame):
    raise TimeoutError("a test_reload test took longer than %ss" % TIMEOUT_S)


def listen_inode(port):
    """The socket inode of the listening TCP socket on 127.0.0.1:port, or None."""
    want = "0100007F:%04X" % port
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if parts[1] == want and parts[3] == "0A":  # 0A: LISTEN
                return parts[9]
    return None


class RawConnection:
    """One keep-alive HTTP/1.1 connection on a plain socket, so the test knows
    that every request really went over the same TCP connection (http.client
    would reconnect without saying so)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def close(self):
        self.sock.close()

    def request(self, method, path, body=b""):
        head = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n"
                "Content-Length: %d\r\n" % (method, path, len(body)))
        if body:
            head += "Content-Type: application/x-www-form-urlencoded\r\n"
        self.sock.sendall(head.encode() + b"\r\n" + body)
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the keep-alive connection")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection mid-body")
            self.buf += chunk
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, json.loads(body) if body else None


class Reload(unittest.TestCase):
    def setUp(self):
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(TIMEOUT_S)
        self.d = bctest.Daemon(CONFIG).start()

    def tearDown(self):
        signal.alarm(0)
        try:
            rc = self.d.stop()
        finally:
            self.d.kill()
            self.d._log.close()
        # A clean exit after reloads: under BC_DAEMON_WRAPPER (valgrind) or a
        # sanitizer build this is also where leaks and memory errors show.
        self.assertEqual(rc, 0, self.d.log_text()[-3000:])

    def config_with(self, providers):
        """The running config text with its providers section replaced."""
        text = self.d.config_text
        head = text[:text.index("providers:\n")]
        return head + "providers:\n" + bctest._indent(providers, 2) + "\n"

    def start(self, **params):
        st, _, body = self.d.request("POST", "/stream/start/", params=params)
        return st, body

    def test_added_provider_is_served_after_reload(self):
        st, body = self.start(name="before")
        self.assertEqual(st, 200, body)
        old_id = body["stream"]["id"]
        st, body = self.start(provider="second")
        self.assertEqual(st, 400, body)  # not configured yet

        self.d.reload(self.config_with(PROVIDERS_2))
        st, body = self.start(provider="second", name="after")
        self.assertEqual(st, 200, body)
        self.assertIn("HTTP", body["endpoint"], body)
        st, _, got = self.d.request("GET", "/streams/%s" % body["stream"]["id"])
        self.assertEqual(st, 200, got)
        self.assertEqual(got["stream"]["provider"], "second")
        # The provider that was kept still serves, and old streams stop.
        st, body = self.start(provider="test")
        self.assertEqual(st, 200, body)
        self.assertIn("S3", body["endpoint"], body)
        st, _, body = self.d.request("POST", "/stream/stop/", params={"id": old_id})
        self.assertEqual(st, 200, body)
        self.assertIsNotNone(body["stream"]["stop_date"])
        self.assertNotIn("reload failed", self.d.log_text())

    def mapped_plugins(self):
        with open("/proc/%d/maps" % self.d.proc.pid) as f:
            return {line.split("/")[-1].strip() for line in f
                    if line.rstrip().endswith(".so") and "/.libs/" in line}

    def test_only_named_plugins_are_loaded_and_reload_loads_new_ones(self):
        if bctest.os.environ.get("BC_DAEMON_WRAPPER"):
            self.skipTest("under a wrapper /proc/PID/maps is the wrapper's")
        mapped = self.mapped_plugins()
        self.assertIn("provider_test.so", mapped)
        self.assertIn("store_sqlite.so", mapped)
        for unused in ("provider_s3.so", "provider_local.so", "store_postgres.so",
                       "frontend_unix.so", "store_memory.so"):
            self.assertNotIn(unused, mapped)
        tmp = self.d.tmp
        self.d.reload(self.config_with(PROVIDERS + '''
- name: origin
  type: local
  stream_types: [hls]
  root: %s/hls
  listen: "127.0.0.1:%d"
''' % (tmp, bctest.free_port())))
        self.assertIn("provider_local.so", self.mapped_plugins())
        st, body = self.start(provider="origin", type="hls")
        self.assertEqual(st, 200, body)
        st, _, got = self.d.request("GET", "/streams/%s" % body["stream"]["id"])
        self.assertEqual(got["stream"]["provider"], "origin", got)
        # An unknown type still lists every plugin found, loaded or not.
        bad = self.config_with(PROVIDERS + "- name: x\n  type: nosuch\n")
        self.d.reload(bad, wait_for="reload failed")
        self.assertRegex(self.d.log_text(), r"nosuch.*s3")

    def test_broken_config_is_refused_and_the_old_one_serves(self):
        good = self.config_with(PROVIDERS_2)
        broken = {
            "syntax": good.replace("providers:\n", "providers: [\n", 1),
            "unknown key": good.replace("section: HTTP", "section: HTTP\n    sectoin: x"),
            "unknown type": good.replace("type: test\n    section", "type: nosuch\n    section"),
            "bad value": good.replace("section: HTTP", "section: HTTP\n    delay_start: soon"),
            "create fails": good.replace("section: HTTP", "section: HTTP\n    fail_create: true"),
        }
        for what, text in broken.items():
            with self.subTest(what):
                self.assertNotEqual(text, good, what)
                self.d.reload(text, wait_for="reload failed")
                self.assertIsNone(self.d.proc.poll(), "the daemon exited on a bad reload")
                st, body = self.start(name="still " + what)
                self.assertEqual(st, 200, body)
                st, body = self.start(provider="second")
                self.assertEqual(st, 400, body)  # the broken config's provider
        self.assertNotIn("configuration reloaded", self.d.log_text())
        # The refusal names what is wrong.
        log = self.d.log_text()
        self.assertRegex(log, r"reload failed: .*sectoin")
        self.assertRegex(log, r"reload failed: .*nosuch")
        # And a good config is still taken afterwards.
        self.d.reload(good)
        st, body = self.start(provider="second")
        self.assertEqual(st, 200, body)

    def test_unchanged_http_frontend_keeps_socket_and_connections(self):
        port = self.d.http_port
        inode = listen_inode(port)
        self.assertIsNotNone(inode, "no listening socket on port %d" % port)
        conn = RawConnection(port)
        try:
            st, _, body = conn.request("POST", "/stream/start/", b"name=keepalive")
            self.assertEqual(st, 200, body)
            sid = body["stream"]["id"]
            local = conn.sock.getsockname()

            self.d.reload(self.config_with(PROVIDERS_2))
            self.assertEqual(listen_inode(port), inode,
                             "the http frontend reopened its listening socket")
            # The same TCP connection still gets answers, from the new config.
            st, _, body = conn.request("GET", "/streams/%s" % sid)
            self.assertEqual(st, 200, body)
            st, _, body = conn.request("POST", "/stream/start/", b"provider=second")
            self.assertEqual(st, 200, body)
            st, _, body = conn.request("POST", "/stream/stop/", ("id=%s" % sid).encode())
            self.assertEqual(st, 200, body)
            self.assertEqual(conn.sock.getsockname(), local)
            # A second reload (nothing changed) keeps it as well.
            self.d.reload()
            st, _, body = conn.request("GET", "/streams/%s" % sid)
            self.assertEqual(st, 200, body)
            self.assertEqual(listen_inode(port), inode)
        finally:
            conn.close()
        # New connections are accepted too.
        st, _, body = self.d.request("GET", "/healthz")
        self.assertEqual(st, 200, body)

    def write_tokens(self, name, owner, token):
        path = os.path.join(self.d.tmp, name)
        with open(path, "w") as f:
            f.write("%s:%s\n" % (owner, hashlib.sha256(token.encode()).hexdigest()))
        os.chmod(path, 0o600)
        return path

    def frontend_config(self, extra):
        """The running config text with its http frontend given `extra`."""
        text = self.d.config_text
        line = '  listen: "127.0.0.1:%d"\n' % self.d.http_port
        self.assertIn(line, text)
        text = text[:text.index(line) + len(line)] + bctest._indent(extra, 4) + "\n"
        return text + "providers:\n" + bctest._indent(PROVIDERS, 2) + "\n"

    def test_tokens_file_and_limits_change_keeps_the_listener(self):
        """Pointing tokens_file at another file, and changing the other
        options the host reads itself (rate_limit, rate_burst,
        auth_fail_limit, max_body), keeps the running frontend: no rebind
        ("Address already in use"), the same listening socket and open
        connections, and the new settings in force."""
        # A daemon whose frontend has a tokens_file from the start (adding or
        # removing one changes the frontend's own rules: a new instance).
        self.d.stop()
        self.d._log.close()
        a = self.write_tokens("tokens-a", "alice", "token-of-alice-0123456789")
        b = self.write_tokens("tokens-b", "bob", "token-of-bob-0123456789ab")
        self.d = bctest.Daemon(bctest.config(
            providers=PROVIDERS, frontends='- type: http\n  listen: "127.0.0.1:@HTTP_PORT@"\n'
            '  tokens_file: %s\n' % a), tmp=self.d.tmp).start()
        port = self.d.http_port
        inode = listen_inode(port)
        st, _, body = self.d.request("GET", "/streams", token="token-of-alice-0123456789")
        self.assertEqual(st, 200, body)

        self.d.reload(self.frontend_config(
            "tokens_file: %s\nrate_limit: 1000/s\nrate_burst: 50\n"
            "auth_fail_limit: 50/m\nmax_body: 1k" % b))
        self.assertNotIn("listen_failed", self.d.log_text())
        self.assertEqual(listen_inode(port), inode, "the http frontend was rebound")
        st, _, body = self.d.request("GET", "/streams", token="token-of-alice-0123456789")
        self.assertEqual(st, 401, body)  # the old file's token is gone
        st, _, body = self.d.request("POST", "/stream/start/", params={"name": "b"},
                                     token="token-of-bob-0123456789ab")
        self.assertEqual(st, 200, body)
        st, _, body = self.d.request("GET", "/streams/%s" % body["stream"]["id"],
                                     token="token-of-bob-0123456789ab")
        self.assertEqual((st, body["stream"]["owner"]), (200, "bob"), body)
        st, _, body = self.d.request("POST", "/stream/start/", body="name=" + "x" * 2000,
                                     headers={"Content-Type":
                                              "application/x-www-form-urlencoded"},
                                     token="token-of-bob-0123456789ab")
        self.assertEqual(st, 413, body)  # the new max_body

        # Editing the file in place and reloading works as before.
        self.write_tokens("tokens-b", "carol", "token-of-carol-0123456789")
        self.d.reload()
        st, _, body = self.d.request("GET", "/streams", token="token-of-bob-0123456789ab")
        self.assertEqual(st, 401, body)
        st, _, body = self.d.request("GET", "/streams", token="token-of-carol-0123456789")
        self.assertEqual(st, 200, body)
        self.assertEqual(listen_inode(port), inode)

        # A tokens_file that cannot be read is refused; the old tokens stay.
        self.d.reload(self.frontend_config("tokens_file: %s/nonexistent" % self.d.tmp),
                      wait_for="reload failed")
        st, _, body = self.d.request("GET", "/streams", token="token-of-carol-0123456789")
        self.assertEqual(st, 200, body)
        self.assertEqual(listen_inode(port), inode)


if __name__ == "__main__":
    unittest.main()
