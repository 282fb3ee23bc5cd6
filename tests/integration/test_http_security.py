# SPDX-License-Identifier: Apache-2.0
"""The HTTP frontend's safety rules at startup, and TLS.

A listener others can reach needs tokens_file and TLS, or broadcastd refuses
to start with a message saying why and how to fix it (insecure: true
overrides). Listen addresses are checked before "ready". TLS uses a
self-signed certificate made here with `openssl req -x509`; curl must
connect with --cacert and fail with --tls-max 1.1; the internal port the
TLS listener relays to refuses connections that did not come through it.
Whether the linked CivetWeb can do plain IPv6 is asked of the library
itself: when it cannot, the frontend must refuse with a clear message."""
import ctypes
import ctypes.util
import hashlib
import http.client
import json
import os
import re
import secrets
import socket
import ssl
import subprocess
import tempfile
import time
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


def civetweb_has_ipv6():
    """Whether this machine's libcivetweb was built with IPv6 (Debian's is not)."""
    lib = ctypes.CDLL(ctypes.util.find_library("civetweb") or "libcivetweb.so.1")
    lib.mg_check_feature.restype = ctypes.c_uint
    return lib.mg_check_feature(8) != 0


IPV6_WORKS = civetweb_has_ipv6()


def ipv6_loopback_usable():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def refused(test, cfg, *needles):
    """broadcastd must exit non-zero before ready, saying each needle."""
    d = bctest.Daemon(cfg)
    with test.assertRaises(bctest.DaemonError) as cm:
        d.start()
    d.kill()
    test.assertIsNotNone(d.proc.returncode)
    test.assertNotEqual(d.proc.returncode, 0)
    for n in needles:
        test.assertIn(n, str(cm.exception))
    return str(cm.exception)


def frontend(extra, listen='"127.0.0.1:@HTTP_PORT@"'):
    return bctest.config(frontends="- type: http\n  listen: %s\n%s" % (
        listen, "".join("  %s\n" % line for line in extra)))


class Listen(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bc-http-sec-")
        self.tokens = os.path.join(self.tmp, "tokens")
        self.token = secrets.token_urlsafe(32)
        fd = os.open(self.tokens, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("ops:%s\n" % hashlib.sha256(self.token.encode()).hexdigest())

    def test_non_loopback_without_tokens_or_tls_is_refused(self):
        msg = refused(self, frontend([], '"0.0.0.0:@HTTP_PORT@"'),
                      "is not a loopback address", "neither tokens_file nor tls",
                      "insecure: true")
        self.assertIn("0.0.0.0:", msg)

    def test_non_loopback_with_tokens_but_no_tls_is_refused(self):
        refused(self, frontend(["tokens_file: %s" % self.tokens], '"0.0.0.0:@HTTP_PORT@"'),
                "is not a loopback address", "no tls")

    def test_one_bad_address_among_several_is_refused(self):
        refused(self, frontend([], '["127.0.0.1:@HTTP_PORT@", "0.0.0.0:@PORT1@"]'),
                "0.0.0.0:")

    def test_insecure_true_overrides(self):
        cfg = frontend(["insecure: true"], '"0.0.0.0:@HTTP_PORT@"')
        with bctest.Daemon(cfg) as d:
            status, _, body = d.request("GET", "/healthz")
            self.assertEqual(status, 200, body)

    def test_several_loopback_addresses_all_serve(self):
        cfg = frontend([], '["127.0.0.1:@HTTP_PORT@", "127.0.0.2:@PORT1@"]')
        with bctest.Daemon(cfg) as d:
            self.assertEqual(d.request("GET", "/healthz")[0], 200)
            c = socket.create_connection(("127.0.0.2", d.ports[0]), timeout=5)
            c.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            self.assertRegex(c.recv(100), rb"^HTTP/1\.[01] 200 ")
            c.close()

    def test_bad_addresses_are_refused_with_the_fix(self):
        for listen, needle in (('"localhost:@HTTP_PORT@"', "numeric"),
                               ('"@HTTP_PORT@"', "needs a host"),
                               ('"127.0.0.1:0"', "valid port"),
                               ('"127.0.0.1:99999"', "valid port"),
                               ('"[::1:@HTTP_PORT@"', "IPv6")):
            with self.subTest(listen=listen):
                refused(self, frontend([], listen), needle)

    def test_port_in_use_is_refused_before_ready(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        try:
            refused(self, frontend([], '"127.0.0.1:%d"' % busy.getsockname()[1]),
                    "cannot listen on")
        finally:
            busy.close()

    def test_ipv6_loopback(self):
        cfg = frontend([], '"[::1]:@HTTP_PORT@"')
        if not IPV6_WORKS:
            refused(self, cfg, "without IPv6")
            return
        with bctest.Daemon(cfg) as d:
            c = socket.create_connection(("::1", d.http_port), timeout=5)
            c.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            self.assertRegex(c.recv(100), rb"^HTTP/1\.[01] 200 ")
            c.close()


class Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="bc-http-tls-")
        cls.cert = os.path.join(cls.tmp, "cert.pem")
        cls.key = os.path.join(cls.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", cls.key, "-out", cls.cert, "-days", "1",
                        "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
        os.chmod(cls.key, 0o600)
        cls.tokens = os.path.join(cls.tmp, "tokens")
        cls.token = secrets.token_urlsafe(32)
        fd = os.open(cls.tokens, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("ops:%s\n" % hashlib.sha256(cls.token.encode()).hexdigest())

    def config(self, listen='"127.0.0.1:@HTTP_PORT@"'):
        return frontend(["tls: {cert: %s, key: %s}" % (self.cert, self.key),
                         "tokens_file: %s" % self.tokens], listen)

    def curl(self, d, *args, host="localhost"):
        return subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", self.cert,
                               "-H", "Authorization: Bearer " + self.token,
                               "-o", "/dev/null", "-w", "%{http_code}"] + list(args) +
                              ["https://%s:%d/streams" % (host, d.http_port)],
                              capture_output=True, text=True, timeout=30)

    def tls11_handshake(self, port, control=False):
        """Whether a TLS 1.1 handshake with 127.0.0.1:port succeeds. With
        control, first run `openssl s_server` allowing TLS 1.1 there."""
        weak = "DEFAULT:@SECLEVEL=0"
        server = None
        if control:
            server = subprocess.Popen(["openssl", "s_server", "-accept", str(port), "-cert",
                                       self.cert, "-key", self.key, "-tls1_1", "-cipher", weak,
                                       "-www"], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
        try:
            out = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                                  "-tls1_1", "-cipher", weak], stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=20)
            return out.returncode == 0 and "Protocol  : TLSv1.1" in out.stdout
        finally:
            if server is not None:
                server.kill()
                server.wait()

    def test_tls_serves_1_2_and_newer_only(self):
        with bctest.Daemon(self.config()) as d:
            out = self.curl(d)
            self.assertEqual(out.stdout, "200", out.stderr)
            out = self.curl(d, "--tlsv1.2", "--tls-max", "1.2")
            self.assertEqual(out.stdout, "200", out.stderr)
            out = self.curl(d, "--tlsv1", "--tls-max", "1.1")
            self.assertNotEqual(out.returncode, 0, out.stdout)
            self.assertNotEqual(out.stdout, "200")
            # curl's own OpenSSL may refuse TLS 1.1 before asking: a client
            # allowed to speak it (SECLEVEL=0), shown to work against a
            # server that permits it, must still be refused by ours
            self.assertTrue(self.tls11_handshake(d.ports[0], control=True))
            self.assertFalse(self.tls11_handshake(d.http_port))
            # without the token: the dispatcher's 401 comes through TLS
            out = subprocess.run(["curl", "-sS", "--cacert", self.cert, "-o", "/dev/null",
                                  "-w", "%{http_code}",
                                  "https://localhost:%d/streams" % d.http_port],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(out.stdout, "401", out.stderr)
            # plain HTTP on the TLS port gets no API answer
            out = subprocess.run(["curl", "-sS", "--max-time", "5", "-o", "/dev/null", "-w",
                                  "%{http_code}", "http://127.0.0.1:%d/healthz" % d.http_port],
                                 capture_output=True, text=True, timeout=20)
            self.assertNotEqual(out.stdout, "200")
            # a whole start/stop over TLS, with python's ssl client
            ctx = ssl.create_default_context(cafile=self.cert)
            conn = http.client.HTTPSConnection("localhost", d.http_port, context=ctx, timeout=10)
            auth = {"Authorization": "Bearer " + self.token}
            conn.request("POST", "/stream/start/?name=tls", headers=auth)
            r = conn.getresponse()
            body = json.loads(r.read())
            self.assertEqual(r.status, 200, body)
            self.assertEqual(body["endpoint"]["S3"]["s3_bucket_path"],
                             "ops/%s/" % body["stream"]["id"])
            conn.request("POST", "/stream/stop/?id=" + body["stream"]["id"], headers=auth)
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
            conn.close()
            # the real client address reached the dispatcher (access log)
            pattern = r"INFO +\[http\] POST /stream/start/ 200 ops \d+ms"
            self.assertRegex(wait_log(d, pattern), pattern)

    def test_internal_port_refuses_direct_connections(self):
        with bctest.Daemon(self.config()) as d:
            m = re.search(r"relayed to 127\.0\.0\.1:(\d+)", d.log_text())
            self.assertIsNotNone(m, d.log_text())
            c = socket.create_connection(("127.0.0.1", int(m.group(1))), timeout=5)
            c.sendall(b"GET /streams HTTP/1.0\r\nAuthorization: Bearer " +
                      self.token.encode() + b"\r\n\r\n")
            data = b""
            while True:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            c.close()
            self.assertRegex(data, rb"^HTTP/1\.[01] 403 ")
            self.assertIn(b"http.tls_required", data)

    def test_non_loopback_with_tokens_and_tls_is_allowed(self):
        with bctest.Daemon(self.config('"0.0.0.0:@HTTP_PORT@"')) as d:
            self.assertEqual(self.curl(d).stdout, "200")

    @unittest.skipUnless(ipv6_loopback_usable(), "no IPv6 loopback on this host")
    def test_tls_on_ipv6_loopback(self):
        with bctest.Daemon(self.config('"[::1]:@HTTP_PORT@"')) as d:
            out = self.curl(d, "--resolve", "localhost:%d:::1" % d.http_port)
            self.assertEqual(out.stdout, "200", out.stderr)

    def test_unreadable_or_wrong_key_is_refused(self):
        cfg = frontend(["tls: {cert: %s, key: %s/missing.pem}" % (self.cert, self.tmp)])
        refused(self, cfg, "tls.key", "cannot be read")
        other = os.path.join(self.tmp, "other-key.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-out", other],
                       check=True, capture_output=True, timeout=60)
        cfg = frontend(["tls: {cert: %s, key: %s}" % (self.cert, other)])
        refused(self, cfg, "not a usable PEM private key for the certificate")
        cfg = frontend(["tls: {cert: %s}" % self.cert])
        refused(self, cfg, "needs both")


if __name__ == "__main__":
    unittest.main()
