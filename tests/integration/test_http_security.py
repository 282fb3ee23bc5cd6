# SPDX-License-Identifier: Apache-2.0
"""The HTTP frontend's safety rules at startup, and TLS.

A listener others can reach needs tokens_file and TLS, or broadcastd refuses
to start with a message saying why and how to fix it (insecure: true
overrides). Listen addresses are checked before "ready". TLS uses a
self-signed certificate made here with `openssl req -x509`; curl must
connect with --cacert and fail with --tls-max 1.1. Whether the linked
CivetWeb can do TLS (and IPv6) is asked of the library itself: when it
cannot, the frontend must refuse the configuration with a clear message
rather than open a port that would crash on the first handshake."""
import ctypes
import ctypes.util
import hashlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import unittest

import bctest


def civetweb_features():
    """(tls, ipv6) as this machine's libcivetweb reports them, asked in a
    child process so loading OpenSSL does not touch this one."""
    code = ("import ctypes\n"
            "lib = ctypes.CDLL('libcivetweb.so.1')\n"
            "lib.mg_init_library.restype = ctypes.c_uint\n"
            "lib.mg_check_feature.restype = ctypes.c_uint\n"
            "print(int(lib.mg_init_library(2) & 2 != 0), int(lib.mg_check_feature(8) != 0))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=20)
    tls, ipv6 = out.stdout.split()
    return tls == "1", ipv6 == "1"


TLS_WORKS, IPV6_WORKS = civetweb_features()


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

    def curl(self, d, *args):
        return subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", self.cert,
                               "-H", "Authorization: Bearer " + self.token,
                               "-o", "/dev/null", "-w", "%{http_code}"] + list(args) +
                              ["https://localhost:%d/streams" % d.http_port],
                              capture_output=True, text=True, timeout=30)

    def test_tls_serves_1_2_and_newer_only(self):
        if not TLS_WORKS:
            # Debian bookworm's libcivetweb 1.15 cannot load OpenSSL 3: the
            # configuration must be refused, never half-served.
            refused(self, self.config(), "cannot serve TLS", "reverse proxy")
            return
        with bctest.Daemon(self.config()) as d:
            out = self.curl(d)
            self.assertEqual(out.stdout, "200", out.stderr)
            out = self.curl(d, "--tlsv1.2", "--tls-max", "1.2")
            self.assertEqual(out.stdout, "200", out.stderr)
            out = self.curl(d, "--tlsv1", "--tls-max", "1.1")
            self.assertNotEqual(out.returncode, 0, out.stdout)
            # plain HTTP on the TLS port gets no API answer
            out = subprocess.run(["curl", "-sS", "--max-time", "5", "-o", "/dev/null", "-w",
                                  "%{http_code}", "http://127.0.0.1:%d/healthz" % d.http_port],
                                 capture_output=True, text=True, timeout=20)
            self.assertNotEqual(out.stdout, "200")

    def test_non_loopback_with_tokens_and_tls_is_allowed(self):
        cfg = self.config('"0.0.0.0:@HTTP_PORT@"')
        if not TLS_WORKS:
            refused(self, cfg, "cannot serve TLS")
            return
        with bctest.Daemon(cfg) as d:
            self.assertEqual(self.curl(d).stdout, "200")

    @unittest.skipUnless(TLS_WORKS, "this libcivetweb cannot serve TLS (checked above)")
    def test_unreadable_key_is_refused(self):
        cfg = frontend(["tls: {cert: %s, key: %s/missing.pem}" % (self.cert, self.tmp)])
        refused(self, cfg, "tls.key", "cannot be read")


if __name__ == "__main__":
    unittest.main()
