# SPDX-License-Identifier: Apache-2.0
"""What only the HTTP transport can get wrong: a slow client is cut off after
request_timeout while others are served; 200 concurrent clients all
succeed; keep-alive connections are reused; "Expect: 100-continue" is
answered at once; CORS preflights are answered for listed origins only (and
not at all by default); SIGTERM lets a request in flight finish."""
import http.client
import json
import signal
import socket
import subprocess
import threading
import time
import unittest

import bctest


def call(port, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


class SlowClients(unittest.TestCase):
    def test_half_request_times_out_and_others_are_served(self):
        cfg = bctest.config(frontends='''
        - type: http
          listen: "127.0.0.1:@HTTP_PORT@"
          request_timeout: 1s
          threads: 4
        ''')
        with bctest.Daemon(cfg) as d:
            slow = socket.create_connection(("127.0.0.1", d.http_port), timeout=10)
            slow_body = socket.create_connection(("127.0.0.1", d.http_port), timeout=10)
            try:
                t0 = time.monotonic()
                slow.sendall(b"POST /stream/start/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line
                slow_body.sendall(b"POST /stream/start/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  b"Content-Type: application/x-www-form-urlencoded\r\n"
                                  b"Content-Length: 100\r\n\r\nname=half")
                # meanwhile everybody else is served
                for _ in range(5):
                    self.assertEqual(call(d.http_port, "GET", "/healthz")[0], 200)
                served = time.monotonic() - t0
                # headers never completed: CivetWeb itself answers (400 or
                # 408, its choice) and hangs up
                data = slow.recv(4096)
                elapsed = time.monotonic() - t0
                self.assertLess(served, elapsed)
                self.assertRegex(data, rb"^(HTTP/1\.[01] (400|408) |$)")
                # request_timeout is one deadline for headers and body:
                # the headers have half of it
                self.assertGreater(elapsed, 0.4)
                self.assertLess(elapsed, 6)
                # a body that stops arriving gets 408 and the connection ends
                data = b""
                while True:
                    chunk = slow_body.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.assertTrue(data.startswith(b"HTTP/1.1 408"), data)
                self.assertIn(b"http.request_timeout", data)
                self.assertLess(time.monotonic() - t0, 6)
            finally:
                slow.close()
                slow_body.close()
            self.assertEqual(call(d.http_port, "GET", "/healthz")[0], 200)
            # the stream of the half-sent start was never created
            status, _, body = call(d.http_port, "GET", "/streams?state=all")
            self.assertEqual(json.loads(body)["streams"], [])


class Concurrency(unittest.TestCase):
    def test_200_concurrent_clients_all_succeed(self):
        with bctest.Daemon(bctest.config()) as d:
            n = 200
            barrier = threading.Barrier(n)
            results = [None] * n

            def client(i):
                try:
                    barrier.wait(10)
                    status, _, body = call(d.http_port, "POST",
                                           "/stream/start/?name=c%d" % i)
                    results[i] = (status, json.loads(body)["stream"]["id"])
                except Exception as e:  # reported below with its index
                    results[i] = (repr(e), None)

            threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
            t0 = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join(50)
            bad = [(i, r) for i, r in enumerate(results) if r is None or r[0] != 200]
            self.assertEqual(bad, [], "failed clients")
            self.assertEqual(len({r[1] for r in results}), n)
            self.assertLess(time.monotonic() - t0, 45)

    def test_keep_alive_connection_is_reused(self):
        with bctest.Daemon(bctest.config()) as d:
            conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10)
            try:
                socks = set()
                for _ in range(20):
                    conn.request("GET", "/healthz")
                    r = conn.getresponse()
                    r.read()
                    self.assertEqual(r.status, 200)
                    self.assertNotEqual(r.getheader("Connection"), "close")
                    socks.add(id(conn.sock))
                self.assertEqual(len(socks), 1)
            finally:
                conn.close()

    def test_response_head_as_civetweb_wrote_it(self):
        # The frontend writes the status line, headers and body itself, in
        # one write (CivetWeb's header API sent each header line with a
        # send() of its own). What CivetWeb added must still be there: the
        # request's HTTP version, Date, Connection (keep-alive for 1.1,
        # close for 1.0), and exactly Content-Length bytes of body.
        with bctest.Daemon(bctest.config()) as d:
            for version, connection in ((b"1.1", b"keep-alive"), (b"1.0", b"close")):
                s = socket.create_connection(("127.0.0.1", d.http_port), timeout=10)
                try:
                    s.sendall(b"GET /healthz HTTP/" + version + b"\r\nHost: 127.0.0.1\r\n\r\n")
                    data = s.recv(65536)
                finally:
                    s.close()
                head, sep, body = data.partition(b"\r\n\r\n")
                self.assertEqual(sep, b"\r\n\r\n", data)
                lines = head.split(b"\r\n")
                self.assertEqual(lines[0], b"HTTP/" + version + b" 200 OK")
                headers = dict(l.split(b": ", 1) for l in lines[1:])
                self.assertEqual(headers[b"Connection"], connection)
                self.assertRegex(headers[b"Date"], rb"^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} "
                                                   rb"\d\d:\d\d:\d\d GMT$")
                self.assertEqual(len(body), int(headers[b"Content-Length"]), data)
                self.assertEqual(json.loads(body)["status"], "ok")

    def test_expect_100_continue_is_answered_at_once(self):
        # curl sends "Expect: 100-continue" for larger bodies and waits 1 s
        # for the interim answer before sending the body anyway
        with bctest.Daemon(bctest.config()) as d:
            s = socket.create_connection(("127.0.0.1", d.http_port), timeout=10)
            try:
                s.sendall(b"POST /stream/start/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Content-Type: application/x-www-form-urlencoded\r\n"
                          b"Expect: 100-continue\r\nContent-Length: 8\r\n\r\n")
                s.settimeout(0.9)
                self.assertEqual(s.recv(25), b"HTTP/1.1 100 Continue\r\n\r\n")
                s.settimeout(10)
                s.sendall(b"name=exp")
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            finally:
                s.close()
            head, _, body = data.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 200 "), data)
            self.assertEqual(json.loads(body)["stream"]["name"], "exp")
            # and with curl itself
            out = subprocess.run(["curl", "-sS", "-H", "Expect: 100-continue", "-d", "name=exp",
                                  "-o", "/dev/null", "-w", "%{http_code}",
                                  d.url("/stream/start/")],
                                 capture_output=True, text=True, timeout=20)
            self.assertEqual(out.stdout, "200", out.stderr)


class Cors(unittest.TestCase):
    PREFLIGHT = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization"}

    def test_off_by_default(self):
        with bctest.Daemon(bctest.config()) as d:
            status, headers, _ = call(d.http_port, "OPTIONS", "/stream/start/",
                                      headers=dict(self.PREFLIGHT, Origin="https://a.example"))
            self.assertEqual(status, 405)
            self.assertNotIn("access-control-allow-origin", headers)
            status, headers, _ = call(d.http_port, "GET", "/healthz",
                                      headers={"Origin": "https://a.example"})
            self.assertNotIn("access-control-allow-origin", headers)

    def test_listed_origins_only(self):
        cfg = bctest.config(frontends='''
        - type: http
          listen: "127.0.0.1:@HTTP_PORT@"
          cors_origins: ["https://app.example", "http://localhost:3000"]
        ''')
        with bctest.Daemon(cfg) as d:
            status, headers, body = call(d.http_port, "OPTIONS", "/stream/start/",
                                         headers=dict(self.PREFLIGHT,
                                                      Origin="https://app.example"))
            self.assertEqual(status, 204, body)
            self.assertEqual(headers["access-control-allow-origin"], "https://app.example")
            self.assertIn("POST", headers["access-control-allow-methods"])
            self.assertIn("authorization", headers["access-control-allow-headers"].lower())
            self.assertEqual(headers["vary"], "Origin")
            # another origin gets no preflight answer
            status, headers, _ = call(d.http_port, "OPTIONS", "/stream/start/",
                                      headers=dict(self.PREFLIGHT, Origin="https://evil.example"))
            self.assertEqual(status, 405)
            self.assertNotIn("access-control-allow-origin", headers)
            # nor for a path that is no route
            status, headers, _ = call(d.http_port, "OPTIONS", "/nothing",
                                      headers=dict(self.PREFLIGHT, Origin="https://app.example"))
            self.assertEqual(status, 404)
            # actual requests from a listed origin carry the header
            status, headers, _ = call(d.http_port, "POST", "/stream/start/?name=cors",
                                      headers={"Origin": "http://localhost:3000"})
            self.assertEqual(status, 200)
            self.assertEqual(headers["access-control-allow-origin"], "http://localhost:3000")

    def test_wildcard_origin_refused(self):
        cfg = bctest.config(frontends='''
        - type: http
          listen: "127.0.0.1:@HTTP_PORT@"
          cors_origins: ["*"]
        ''')
        with self.assertRaises(bctest.DaemonError) as cm:
            bctest.Daemon(cfg).start()
        self.assertIn("is not an origin", str(cm.exception))


class Drain(unittest.TestCase):
    def test_sigterm_lets_the_request_in_flight_finish(self):
        d = bctest.Daemon(bctest.config())
        with d:
            result = {}

            def slow():
                result["r"] = call(d.http_port, "POST", "/stream/start/?name=slow-start-1500")

            t = threading.Thread(target=slow)
            t.start()
            time.sleep(0.4)
            rc = d.stop(signal.SIGTERM)
            t.join(20)
            self.assertEqual(rc, 0, d.log_text())
            self.assertEqual(result["r"][0], 200, result)
            self.assertIn("slow-start-1500", result["r"][2].decode())
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", d.http_port), timeout=2).close()


if __name__ == "__main__":
    unittest.main()
