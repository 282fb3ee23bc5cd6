# SPDX-License-Identifier: Apache-2.0
"""The HTTP listener probed as an attacker would (issue 17, findings 3-6, 8).

Raw sockets send exact bytes to the real broadcastd: smuggled framing
(Content-Length with Transfer-Encoding, two lengths, "3abc", bare LF, folded
lines, no Host), foreign Host headers (DNS rebinding) and Origins (a web page's
POST), bodies and headers sent a byte at a time, more connections from one
address than it may hold, a local process posing as the TLS relay, and
requests CivetWeb refuses itself. Each test checks the exact status and error
code, that the connection ends where it must (nothing smuggled after it is
served), that no stream was made, and that the daemon still serves."""
import hashlib
import json
import os
import re
import secrets
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import bctest


def read_all(s, timeout=10.0):
    """What socket `s` receives until the server closes it (or `timeout`).
    Returns (bytes, closed_by_server)."""
    s.settimeout(timeout)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                return out, True
            out += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return out, False


def raw(port, data, src="127.0.0.1", timeout=10.0):
    """Send `data` on a new connection from `src`, then read until the
    server closes (or `timeout`). Returns (bytes, closed_by_server)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    s.sendall(data)
    out = read_all(s, timeout)
    s.close()
    return out


def responses(data):
    """The status codes of the HTTP responses in `data`, in order."""
    return [int(m) for m in re.findall(rb"HTTP/1\.[01] (\d{3}) ", data)]


def error_code(data):
    """The error code of the first response in `data`."""
    head, rest = data.split(b"\r\n\r\n", 1)
    n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    return json.loads(rest[:n])["error"]["code"]


def stream_count(d):
    status, _, body = d.request("GET", "/streams")
    assert status == 200, (status, body)
    return len(body["streams"])


def frontend(*lines):
    return bctest.config(frontends="- type: http\n  listen: \"127.0.0.1:@HTTP_PORT@\"\n" +
                         "".join("  %s\n" % line for line in lines))


def loopback_alias_usable():
    try:
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.close()
        return True
    except OSError:
        return False


class Framing(unittest.TestCase):
    """RFC 9112 §6.3: ambiguous framing is refused with 400 and the
    connection closed; the request smuggled behind it is never served."""

    @classmethod
    def setUpClass(cls):
        cls.d = bctest.Daemon(bctest.config()).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    SMUGGLED = b"POST /stream/start/?name=smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    def refused(self, head, body=b"", code="http.bad_framing"):
        before = stream_count(self.d)
        data, closed = raw(self.d.http_port, head + body + self.SMUGGLED)
        self.assertEqual(responses(data), [400], data)
        self.assertEqual(error_code(data), code, data)
        self.assertIn(b"Connection: close", data)
        self.assertTrue(closed, "the connection stayed open")
        self.assertEqual(stream_count(self.d), before, "a smuggled request was served")
        return data

    def test_content_length_with_transfer_encoding(self):
        self.refused(b"POST /stream/start/?name=a HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", b"0\r\n\r\n")

    def test_two_content_lengths(self):
        self.refused(b"POST /stream/start/?name=a HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Length: 0\r\nContent-Length: 71\r\n\r\n")

    def test_two_equal_content_lengths(self):
        self.refused(b"POST /stream/start/?name=a HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Length: 0\r\nContent-Length: 0\r\n\r\n")

    def test_content_length_with_trailing_garbage(self):
        self.refused(b"POST /stream/start/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 3abc\r\n\r\n", b"n=x")

    def test_signed_content_length(self):
        self.refused(b"POST /stream/start/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Length: +0\r\n\r\n")

    def test_negative_content_length(self):
        # CivetWeb refuses it itself (411): the answer is still JSON
        data, closed = raw(self.d.http_port, b"POST /stream/start/ HTTP/1.1\r\n"
                           b"Host: 127.0.0.1\r\nContent-Length: -1\r\n\r\n")
        self.assertEqual(responses(data), [411], data)
        self.assertEqual(error_code(data), "http.length_required")
        self.assertTrue(closed)

    def test_bare_lf(self):
        self.refused(b"POST /stream/start/?name=a HTTP/1.1\nHost: 127.0.0.1\n"
                     b"Content-Length: 0\n\n")

    def test_bare_lf_in_one_line(self):
        self.refused(b"POST /stream/start/?name=a HTTP/1.1\r\nHost: 127.0.0.1\n"
                     b"Content-Length: 0\r\n\r\n")

    def test_bare_lf_ending_headers(self):
        self.refused(b"POST /stream/start/?name=a HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Length: 0\n\n")

    def test_folded_header_hides_content_length(self):
        # CivetWeb stops parsing at the folded line, so it would not see the
        # Content-Length that a proxy in front saw
        self.refused(b"POST /stream/start/?name=a HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"X-A: b\r\n c\r\nContent-Length: 5\r\n\r\n", b"12345")

    def test_http11_without_host(self):
        self.refused(b"GET /healthz HTTP/1.1\r\n\r\n")

    def test_two_hosts(self):
        self.refused(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n")

    def test_transfer_encoding_other_than_chunked(self):
        data, closed = raw(self.d.http_port, b"POST /stream/start/ HTTP/1.1\r\n"
                           b"Host: 127.0.0.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" +
                           self.SMUGGLED)
        self.assertEqual(responses(data), [400], data)
        self.assertTrue(error_code(data).startswith("http.bad_"), data)
        self.assertTrue(closed)

    def test_chunked_on_http10(self):
        self.refused(b"POST /stream/start/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                     b"0\r\n\r\n")

    def test_sound_keep_alive_still_works(self):
        # the control: two well-framed requests on one connection, both served
        one = (b"POST /stream/start/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Type: application/x-www-form-urlencoded\r\n"
               b"Content-Length: 6\r\n\r\nname=k")
        data, _ = raw(self.d.http_port, one + b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
                      b"Connection: close\r\n\r\n")
        self.assertEqual(responses(data), [200, 200], data)

    def test_chunked_body_is_served(self):
        data, _ = raw(self.d.http_port, b"POST /stream/start/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\n"
                      b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                      b"6\r\nname=c\r\n0\r\n\r\n")
        self.assertEqual(responses(data), [200], data)

    def test_civetweb_refusals_are_json(self):
        long_uri = b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        for req in (long_uri,
                    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X: y\r\n" * 80 + b"\r\n",
                    b"TRACE / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                    b"GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n"):
            data, _ = raw(self.d.http_port, req)
            st = responses(data)
            self.assertEqual(len(st), 1, data[:300])
            self.assertGreaterEqual(st[0], 400, data[:300])
            self.assertIn(b"Content-Type: application/json", data, data[:300])
            self.assertRegex(error_code(data), r"^http\.[a-z_]+$")
        self.assertEqual(self.d.request("GET", "/healthz")[0], 200)


class HostAndOrigin(unittest.TestCase):
    """DNS rebinding and cross-site requests against the tokenless default."""

    def start(self, d, host=None, origin=None, name="x"):
        headers = {}
        if host is not None:
            headers["Host"] = host
        if origin is not None:
            headers["Origin"] = origin
        return d.request("POST", "/stream/start/?name=" + name, headers=headers)

    def test_foreign_host_is_refused_without_tokens(self):
        with bctest.Daemon(bctest.config()) as d:
            status, _, body = self.start(d, host="attacker.example")
            self.assertEqual(status, 421, body)
            self.assertEqual(body["error"]["code"], "http.unknown_host")
            status, _, body = d.request("GET", "/streams", headers={"Host": "attacker.example"})
            self.assertEqual(status, 421, body)
            self.assertEqual(stream_count(d), 0)
            for ok in ("localhost", "localhost:%d" % d.http_port, "127.0.0.1:%d" % d.http_port,
                       "[::1]:%d" % d.http_port, "LOCALHOST"):
                self.assertEqual(self.start(d, host=ok)[0], 200, ok)
            for bad in ("localhost.", "127.0.0.1:x", "[::1", "evil.localhost"):
                self.assertEqual(self.start(d, host=bad)[0], 421, bad)

    def test_allowed_hosts(self):
        with bctest.Daemon(frontend("allowed_hosts: [api.example.com]")) as d:
            self.assertEqual(self.start(d, host="api.example.com:8080")[0], 200)
            self.assertEqual(self.start(d, host="API.example.com")[0], 200)
            self.assertEqual(self.start(d, host="attacker.example")[0], 421)
            self.assertEqual(self.start(d, host="localhost")[0], 200)

    def test_bad_allowed_host_is_a_config_error(self):
        d = bctest.Daemon(frontend("allowed_hosts: [\"http://api.example.com\"]"))
        with self.assertRaises(bctest.DaemonError) as cm:
            d.start()
        d.kill()
        self.assertIn("http.bad_allowed_host", str(cm.exception))

    def test_any_host_with_tokens(self):
        tmp = tempfile.mkdtemp(prefix="bc-hostile-")
        token = secrets.token_urlsafe(24)
        path = os.path.join(tmp, "tokens")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("ops:%s\n" % hashlib.sha256(token.encode()).hexdigest())
        with bctest.Daemon(frontend("tokens_file: %s" % path)) as d:
            status, _, _ = d.request("GET", "/streams", headers={
                "Host": "api.example.com", "Authorization": "Bearer " + token})
            self.assertEqual(status, 200)

    def test_foreign_origin_may_not_change_anything(self):
        with bctest.Daemon(bctest.config()) as d:
            status, _, body = self.start(d, origin="http://evil.example")
            self.assertEqual(status, 403, body)
            self.assertEqual(body["error"]["code"], "http.cross_origin")
            self.assertEqual(self.start(d, origin="null")[0], 403)
            self.assertEqual(stream_count(d), 0)
            # the same origin, and no Origin at all (curl, apps), are served
            self.assertEqual(self.start(d, host="127.0.0.1:%d" % d.http_port,
                                        origin="http://127.0.0.1:%d" % d.http_port)[0], 200)
            self.assertEqual(self.start(d)[0], 200)
            # reading is not changing: a GET with a foreign Origin is answered,
            # without CORS headers, so the page cannot read it
            status, headers, _ = d.request("GET", "/streams",
                                           headers={"Origin": "http://evil.example"})
            self.assertEqual(status, 200)
            self.assertNotIn("access-control-allow-origin", {k.lower() for k in headers})

    def test_cors_origin_may_change(self):
        with bctest.Daemon(frontend("cors_origins: [\"http://app.example\"]")) as d:
            self.assertEqual(self.start(d, origin="http://app.example")[0], 200)
            self.assertEqual(self.start(d, origin="http://evil.example")[0], 403)


class SlowClients(unittest.TestCase):
    """request_timeout is one deadline for headers and body; one address
    cannot hold every worker."""

    T = 3.0

    def slow(self, port, head, results, i, src="127.0.0.1", every=0.5, limit=20.0):
        """Send `head`, then a body byte every `every` s until the server
        answers or closes; results[i] = (status list, seconds taken)."""
        t0 = time.monotonic()
        data = b""
        try:
            s = socket.socket()
            s.bind((src, 0))
            s.connect(("127.0.0.1", port))
            s.sendall(head)
            s.settimeout(every)
            while time.monotonic() - t0 < limit:
                try:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                except socket.timeout:
                    pass
                except ConnectionResetError:
                    break
                try:
                    s.sendall(b"x")
                except OSError:
                    # the server closed: read what it said
                    try:
                        data += s.recv(4096)
                    except OSError:
                        pass
                    break
            s.close()
        except OSError:
            pass
        results[i] = (responses(data), data, time.monotonic() - t0)

    def run_slow(self, d, n, head, src="127.0.0.1"):
        results = [None] * n
        threads = [threading.Thread(target=self.slow, args=(d.http_port, head, results, i, src))
                   for i in range(n)]
        for t in threads:
            t.start()
        return threads, results

    HEAD = (b"POST /stream/stop/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\n")

    def healthz_time(self, d):
        t0 = time.monotonic()
        status, _, _ = d.request("GET", "/healthz", timeout=30)
        self.assertEqual(status, 200)
        return time.monotonic() - t0

    def test_slow_bodies_meet_the_deadline(self):
        with bctest.Daemon(frontend("threads: 4", "request_timeout: 3s")) as d:
            threads, results = self.run_slow(d, 5, self.HEAD)
            time.sleep(0.5)
            took = self.healthz_time(d)
            for t in threads:
                t.join()
            # every worker is free again within the deadline (+ the time the
            # fifth waited for a worker, + scheduling slack)
            self.assertLess(took, 2 * self.T + 1.5)
            for st, data, secs in results:
                self.assertEqual(st, [408], data)
                self.assertEqual(error_code(data), "http.request_timeout")
                self.assertLess(secs, 2 * self.T + 2)

    def test_one_request_deadline_is_request_timeout(self):
        with bctest.Daemon(frontend("threads: 4", "request_timeout: 2s")) as d:
            results = [None]
            self.slow(d.http_port, self.HEAD, results, 0, every=0.4)
            st, data, secs = results[0]
            self.assertEqual(st, [408], data)
            self.assertLess(secs, 2.0 + 1.0)
            self.assertGreater(secs, 0.9)

    def test_slow_headers_are_cut(self):
        with bctest.Daemon(frontend("threads: 4", "request_timeout: 2s")) as d:
            t0 = time.monotonic()
            s = socket.create_connection(("127.0.0.1", d.http_port))
            s.settimeout(0.3)
            closed = False
            for ch in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100:
                try:
                    s.sendall(bytes([ch]))
                    if s.recv(4096) == b"":
                        closed = True
                        break
                except socket.timeout:
                    continue
                except OSError:
                    closed = True
                    break
            s.close()
            self.assertTrue(closed)
            self.assertLess(time.monotonic() - t0, 2.0 + 1.5)

    @unittest.skipUnless(loopback_alias_usable(), "127.0.0.2 cannot be bound here")
    def test_connections_per_address(self):
        with bctest.Daemon(frontend("threads: 4", "request_timeout: 3s",
                                    "max_connections_per_address: 2")) as d:
            threads, results = self.run_slow(d, 5, self.HEAD, src="127.0.0.2")
            time.sleep(1.0)
            # two workers are taken by 127.0.0.2, the rest serve others at once
            self.assertLess(self.healthz_time(d), 1.0)
            for t in threads:
                t.join()
            statuses = sorted(r[0][0] for r in results if r[0])
            self.assertEqual(statuses, [408, 408, 503, 503, 503], results)
            for st, data, secs in results:
                if st == [503]:
                    self.assertEqual(error_code(data), "http.too_many_connections")
                    self.assertIn(b"Retry-After: 1", data)
                    self.assertLess(secs, 1.0)
            # released: the address may connect again
            data, _ = raw(d.http_port, b"GET /healthz HTTP/1.1\r\nHost: x.invalid\r\n"
                          b"Connection: close\r\n\r\n", src="127.0.0.2")
            self.assertEqual(responses(data), [421])

    def test_default_bound_exempts_loopback(self):
        # the load test and a local reverse proxy bring many connections
        # from 127.0.0.1: by default they are not bounded per address
        with bctest.Daemon(frontend("threads: 4")) as d:
            socks = [socket.create_connection(("127.0.0.1", d.http_port)) for _ in range(3)]
            for s in socks:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            for s in socks:
                s.settimeout(5)
                self.assertRegex(s.recv(4096), rb"^HTTP/1\.1 200 ")
                s.close()


class Oversize(unittest.TestCase):
    def test_413_closes_the_connection(self):
        with bctest.Daemon(frontend("max_body: 1024")) as d:
            s = socket.create_connection(("127.0.0.1", d.http_port))
            s.settimeout(5)
            s.sendall(b"POST /stream/start/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\n"
                      b"Content-Length: 50000000\r\n\r\n" + b"n" * 4096)
            t0 = time.monotonic()
            data, _ = read_all(s, 5)
            self.assertEqual(responses(data), [413], data)
            # closed: a request sent next on this socket is never answered
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                more = s.recv(4096)
            except OSError:
                more = b""
            self.assertEqual(more, b"")
            s.close()
            self.assertLess(time.monotonic() - t0, 3)


def relay_source_ports(internal_port):
    """Local ports of established connections to 127.0.0.1:internal_port."""
    ports = []
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            local, remote, state = parts[1], parts[2], parts[3]
            if state == "01" and remote == "0100007F:%04X" % internal_port:
                ports.append(int(local.split(":")[1], 16))
    return ports


class TlsRelay(unittest.TestCase):
    @unittest.skipUnless(loopback_alias_usable(), "127.0.0.2 cannot be bound here")
    def test_posing_as_a_relay_port_is_refused(self):
        tmp = tempfile.mkdtemp(prefix="bc-hostile-tls-")
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"],
                       check=True, capture_output=True, timeout=60)
        token = secrets.token_urlsafe(24)
        tokens = os.path.join(tmp, "tokens")
        with open(tokens, "w") as f:
            f.write("ops:%s\n" % hashlib.sha256(token.encode()).hexdigest())
        os.chmod(tokens, 0o600)
        os.chmod(key, 0o600)
        import ssl
        with bctest.Daemon(frontend("tls: {cert: %s, key: %s}" % (cert, key),
                                    "tokens_file: %s" % tokens)) as d:
            internal = int(re.search(r"relayed to 127\.0\.0\.1:(\d+)", d.log_text()).group(1))
            ctx = ssl.create_default_context(cafile=cert)
            ctx.check_hostname = False
            # a real client whose relay stays connected to the internal port
            real = ctx.wrap_socket(socket.create_connection(("127.0.0.1", d.http_port)),
                                   server_hostname="localhost")
            real.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            real.settimeout(5)
            self.assertRegex(real.recv(4096), rb"^HTTP/1\.1 200 ")
            ports = relay_source_ports(internal)
            self.assertTrue(ports, "no relay connection found")
            s = socket.socket()
            s.bind(("127.0.0.2", ports[0]))
            s.settimeout(5)
            s.connect(("127.0.0.1", internal))
            s.sendall(b"GET /streams HTTP/1.1\r\nHost: localhost\r\n"
                      b"Authorization: Bearer " + token.encode() + b"\r\n\r\n")
            data, _ = read_all(s, 5)
            s.close()
            real.close()
            self.assertEqual(responses(data), [403], data)
            self.assertEqual(error_code(data), "http.tls_required")


if __name__ == "__main__":
    unittest.main()
