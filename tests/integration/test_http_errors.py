# SPDX-License-Identifier: Apache-2.0
"""Every error status over HTTP, with the headers that belong to it: 400,
404, 405 + Allow, 409, 413 (and the connection closed, so an unread body is
never taken for the next request), 415, 429 + Retry-After, and 502/503/504
from the test provider's failure injection by stream name. 401 and 403 are
in test_http_auth.py. Each body is {"error": {"code", "message"}}."""
import http.client
import json
import socket
import time
import unittest

import bctest

CONFIG = bctest.config(frontends='''
- type: http
  listen: "127.0.0.1:@HTTP_PORT@"
  max_body: 1k
''')


def call(d, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        text = r.read().decode()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, json.loads(text)
    finally:
        conn.close()


class Errors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = bctest.Daemon(CONFIG).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.kill()

    def test_400_bad_type_lists_supported_types(self):
        status, _, body = call(self.d, "POST", "/stream/start/?type=webrtc")
        bctest.assert_error(self, status, body, 400, "stream.bad_type")
        self.assertIn("hls", body["error"]["message"])

    def test_400_stop_without_id(self):
        status, _, body = call(self.d, "POST", "/stream/stop/")
        bctest.assert_error(self, status, body, 400, "request.missing_parameter")

    def test_404_unknown_stream_and_route(self):
        status, _, body = call(self.d, "POST",
                               "/stream/stop/?id=00000000-0000-4000-8000-000000000000")
        bctest.assert_error(self, status, body, 404, "stream.not_found")
        status, _, body = call(self.d, "GET", "/streams/00000000-0000-4000-8000-000000000000")
        bctest.assert_error(self, status, body, 404, "stream.not_found")
        status, _, body = call(self.d, "GET", "/no/such/route")
        bctest.assert_error(self, status, body, 404, "api.not_found")

    def test_405_with_allow(self):
        for method, path, allow in (("GET", "/stream/start/", "POST"),
                                    ("GET", "/stream/stop", "POST"),
                                    ("PUT", "/stream/start", "POST"),
                                    ("DELETE", "/streams/", "GET"),
                                    ("POST", "/healthz", "GET"),
                                    ("POST", "/metrics", "GET")):
            with self.subTest(method=method, path=path):
                status, headers, body = call(self.d, method, path)
                bctest.assert_error(self, status, body, 405, "api.method_not_allowed")
                self.assertEqual(headers.get("allow"), allow)

    def test_409_second_stop_carries_the_stream(self):
        _, _, body = call(self.d, "POST", "/stream/start/?name=twice")
        sid = body["stream"]["id"]
        status, _, _ = call(self.d, "POST", "/stream/stop/?id=" + sid)
        self.assertEqual(status, 200)
        status, _, body = call(self.d, "POST", "/stream/stop/?id=" + sid)
        self.assertEqual(status, 409, body)
        self.assertEqual(body["error"]["code"], "stream.already_stopped")
        self.assertEqual(body["stream"]["id"], sid)

    def test_413_over_max_body_then_connection_closed(self):
        form = "name=" + "x" * 2000
        conn = http.client.HTTPConnection("127.0.0.1", self.d.http_port, timeout=10)
        try:
            conn.request("POST", "/stream/start/", body=form,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            r = conn.getresponse()
            body = json.loads(r.read())
            bctest.assert_error(self, r.status, body, 413, "request.too_large")
            self.assertEqual(r.getheader("Connection"), "close")
        finally:
            conn.close()
        # exactly max_body is fine
        form = "name=" + "y" * (1024 - 5)
        status, _, body = call(self.d, "POST", "/stream/start/", form,
                               {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertNotEqual(status, 413, body)

    def test_413_huge_body_is_not_read_to_the_end(self):
        # 64 MiB announced: the answer must come long before it could be sent
        s = socket.create_connection(("127.0.0.1", self.d.http_port), timeout=10)
        try:
            s.sendall(b"POST /stream/start/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\n"
                      b"Content-Length: 67108864\r\n\r\n" + b"n" * 4096)
            t0 = time.monotonic()
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            self.assertTrue(data.startswith(b"HTTP/1.1 413"), data[:200])
            self.assertLess(time.monotonic() - t0, 5)
        finally:
            s.close()

    def test_413_chunked_body(self):
        # The daemon answers 413 as soon as the chunks pass max_body and closes;
        # the rest of the body may then meet a closed socket (EPIPE/RST), which
        # is the point, so the request goes out raw and only the answer counts.
        body = b"5\r\nname=\r\n" + b"%x\r\n" % 3000 + b"z" * 3000 + b"\r\n0\r\n\r\n"
        s = socket.create_connection(("127.0.0.1", self.d.http_port), timeout=10)
        data = b""
        try:
            try:
                s.sendall(b"POST /stream/start/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Content-Type: application/x-www-form-urlencoded\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n" + body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except ConnectionResetError:
                pass
        finally:
            s.close()
        head, _, payload = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 413"), data[:300])
        length = int([h.split(b":", 1)[1] for h in head.split(b"\r\n")
                      if h.lower().startswith(b"content-length:")][0])
        bctest.assert_error(self, 413, json.loads(payload[:length]), 413, "request.too_large")

    def test_415_unsupported_content_type(self):
        status, _, body = call(self.d, "POST", "/stream/start/", "name=x",
                               {"Content-Type": "text/plain"})
        bctest.assert_error(self, status, body, 415, "request.unsupported_media_type")

    def test_provider_failures_map_to_502_503_504(self):
        for word, want in (("upstream", 502), ("unavailable", 503), ("timeout", 504)):
            with self.subTest(word=word):
                status, headers, body = call(self.d, "POST",
                                             "/stream/start/?name=fail-start-" + word)
                self.assertEqual(status, want, body)
                self.assertEqual(set(body), {"error"})
                self.assertTrue(body["error"]["code"])
                if want == 503:
                    self.assertGreaterEqual(int(headers["retry-after"]), 1)
        # a failed start leaves nothing behind
        status, _, body = call(self.d, "GET", "/streams?state=all&limit=1000")
        self.assertFalse([s for s in body["streams"] if s["name"].startswith("fail-start-")])

    def test_stop_failure_503_keeps_the_stream_live(self):
        _, _, body = call(self.d, "POST", "/stream/start/?name=fail-stop-unavailable")
        sid = body["stream"]["id"]
        status, headers, body = call(self.d, "POST", "/stream/stop/?id=" + sid)
        self.assertEqual(status, 503, body)
        self.assertIn("retry-after", headers)
        status, _, body = call(self.d, "GET", "/streams/" + sid)
        self.assertEqual(body["stream"]["state"], "live")


class RateLimit(unittest.TestCase):
    def test_429_with_retry_after_per_caller(self):
        cfg = bctest.config(frontends='''
        - type: http
          listen: "127.0.0.1:@HTTP_PORT@"
          rate_limit: "2/m"
          rate_burst: 2
        ''')
        with bctest.Daemon(cfg) as d:
            codes = [call(d, "GET", "/streams")[0] for _ in range(2)]
            self.assertEqual(codes, [200, 200])
            status, headers, body = call(d, "GET", "/streams")
            bctest.assert_error(self, status, body, 429, "api.rate_limited")
            self.assertGreaterEqual(int(headers["retry-after"]), 1)
            # health stays answerable for load balancers
            self.assertEqual(call(d, "GET", "/healthz")[0], 200)


if __name__ == "__main__":
    unittest.main()
