# SPDX-License-Identifier: Apache-2.0
"""The HTTP frontend's routes, end to end: the real broadcastd with the test
provider and the sqlite store, called with python's http.client and curl.

Every route in both slash forms; the start and stop bodies checked field by
field, in key order, against django-broadcast's wire format (DESIGN.md §2);
get, list with its cursor, health, metrics, HEAD; the response headers the
frontend adds; and the access log line (never the query string)."""
import json
import re
import subprocess
import unittest
import uuid

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

DATE = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"
S3_FIELDS = ["aws_access_key_id", "aws_secret_access_key", "aws_session_token",
             "aws_expiration", "s3_bucket_name", "s3_bucket_path", "s3_bucket_region"]


def ordered(text):
    """JSON text as nested lists of (key, value) pairs, to check key order."""
    return json.loads(text, object_pairs_hook=lambda pairs: pairs)


def raw(d, method, path, body=None, headers=None):
    """(status, headers, body text) of one request, the body unparsed."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        conn.close()


class Routes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = bctest.Daemon(bctest.config()).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.kill()

    def start(self, path="/stream/start/", name="cam1"):
        status, headers, text = raw(self.d, "POST", path + "?type=hls&name=" + name)
        self.assertEqual(status, 200, text)
        return headers, text

    def check_start_body(self, text, name):
        body = ordered(text)
        self.assertEqual([k for k, _ in body], ["stream", "endpoint"], text)
        stream = dict(body[0][1])
        self.assertEqual([k for k, _ in body[0][1]], ["id", "name", "start_date"], text)
        uuid.UUID(stream["id"])
        self.assertEqual(stream["name"], name)
        self.assertRegex(stream["start_date"], DATE)
        endpoint = body[1][1]
        self.assertEqual([k for k, _ in endpoint], ["S3"], text)
        s3 = endpoint[0][1]
        self.assertEqual([k for k, _ in s3], S3_FIELDS, text)
        s3 = dict(s3)
        for f in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token"):
            self.assertIsInstance(s3[f], str)
            self.assertTrue(s3[f])
        self.assertIsInstance(s3["aws_expiration"], float)
        self.assertEqual(s3["aws_expiration"], 3600.0)
        self.assertIn('"aws_expiration":3600.0', text.replace(" ", ""))
        self.assertEqual(s3["s3_bucket_name"], "test-bucket")
        self.assertEqual(s3["s3_bucket_path"], "anonymous/%s/" % stream["id"])
        self.assertEqual(s3["s3_bucket_region"], "us-west-1")
        return stream

    def test_start_and_stop_both_slash_forms_seed_shape(self):
        for start_path, stop_path in (("/stream/start/", "/stream/stop/"),
                                      ("/stream/start", "/stream/stop")):
            with self.subTest(start=start_path, stop=stop_path):
                headers, text = self.start(start_path, "cam1")
                self.assertEqual(headers["content-type"], "application/json")
                self.assertEqual(headers["cache-control"], "no-store")
                self.assertEqual(int(headers["content-length"]), len(text.encode()))
                stream = self.check_start_body(text, "cam1")

                status, headers, text = raw(self.d, "POST", stop_path + "?id=" + stream["id"])
                self.assertEqual(status, 200, text)
                self.assertEqual(headers["content-type"], "application/json")
                body = ordered(text)
                self.assertEqual([k for k, _ in body], ["stream"], text)
                self.assertEqual([k for k, _ in body[0][1]],
                                 ["id", "name", "start_date", "stop_date"], text)
                s = dict(body[0][1])
                self.assertEqual(s["id"], stream["id"])
                self.assertEqual(s["name"], "cam1")
                self.assertEqual(s["start_date"], stream["start_date"])
                self.assertRegex(s["stop_date"], DATE)
                self.assertGreaterEqual(s["stop_date"], s["start_date"])

    def test_type_defaults_to_hls_and_name_is_optional(self):
        status, _, text = raw(self.d, "POST", "/stream/start/")
        self.assertEqual(status, 200, text)
        self.check_start_body(text, "")

    def test_get_both_slash_forms_live_then_stopped(self):
        _, text = self.start(name="getme")
        sid = json.loads(text)["stream"]["id"]
        for path in ("/streams/" + sid, "/streams/" + sid + "/"):
            with self.subTest(path=path):
                status, headers, body = self.d.request("GET", path)
                self.assertEqual(status, 200, body)
                self.assertEqual(headers["cache-control"], "no-store")
                s = body["stream"]
                self.assertEqual(s["id"], sid)
                self.assertEqual(s["name"], "getme")
                self.assertEqual(s["state"], "live")
                self.assertIsNone(s["stop_date"])
                self.assertEqual(s["type"], "hls")
                self.assertEqual(s["provider"], "test")
                self.assertEqual(s["owner"], "anonymous")
        self.d.request("POST", "/stream/stop/", params={"id": sid})
        status, _, body = self.d.request("GET", "/streams/" + sid.upper())
        self.assertEqual(status, 200, body)
        self.assertEqual(body["stream"]["state"], "stopped")
        self.assertRegex(body["stream"]["stop_date"], DATE)

    def test_list_both_slash_forms_and_cursor(self):
        ids = [json.loads(self.start(name="list%d" % i)[1])["stream"]["id"] for i in range(3)]
        for path in ("/streams", "/streams/"):
            with self.subTest(path=path):
                status, _, body = self.d.request("GET", path + "?state=live&limit=1000")
                self.assertEqual(status, 200, body)
                self.assertEqual(list(body.keys()), ["streams", "next_cursor"])
                listed = [s["id"] for s in body["streams"]]
                for i in ids:
                    self.assertIn(i, listed)
                self.assertIsNone(body["next_cursor"])
        seen, cursor = [], None
        for _ in range(100):
            q = "/streams/?state=live&limit=1" + ("&cursor=" + cursor if cursor else "")
            status, _, body = self.d.request("GET", q)
            self.assertEqual(status, 200, body)
            self.assertLessEqual(len(body["streams"]), 1)
            seen += [s["id"] for s in body["streams"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(len(seen), len(set(seen)))
        for i in ids:
            self.assertIn(i, seen)

    def test_healthz(self):
        for path in ("/healthz", "/healthz/"):
            status, headers, body = self.d.request("GET", path)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["status"], "ok")
            self.assertIn("store", body)
            self.assertEqual([p["name"] for p in body["providers"]], ["test"])

    def test_metrics_prometheus_text(self):
        self.start(name="metrics")
        status, headers, text = self.d.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/plain; version=0.0.4")
        self.assertRegex(text, r'(?m)^broadcast_requests_total\{.*op="start".*\} \d+$')
        self.assertIn("broadcast_streams_started_total", text)
        self.assertIn("broadcast_streams_live", text)
        status, _, _ = self.d.request("GET", "/metrics/")
        self.assertEqual(status, 200)

    def test_head_has_headers_but_no_body(self):
        status, headers, text = raw(self.d, "HEAD", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(text, "")
        self.assertGreater(int(headers["content-length"]), 0)

    def test_with_curl(self):
        out = subprocess.run(
            ["curl", "-sS", "-X", "POST", "-d", "type=hls", "-d", "name=curl cam",
             "-w", "\n%{http_code} %{content_type}", self.d.url("/stream/start/")],
            capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        text, meta = out.stdout.rsplit("\n", 1)
        self.assertEqual(meta, "200 application/json")
        self.check_start_body(text, "curl cam")

    def test_unknown_paths_are_404_not_prefix_matches(self):
        for path in ("/", "/stream", "/stream/start//", "/stream/startx", "/streams/a/b",
                     "/stream/x/../start", "/STREAM/START", "/healthzz", "/streams//"):
            with self.subTest(path=path):
                status, _, body = self.d.request("POST" if "stream/" in path else "GET", path)
                bctest.assert_error(self, status, body, 404, "api.not_found")

    def test_access_log_line_without_query_string(self):
        secret = "query-secret-%s" % uuid.uuid4().hex
        raw(self.d, "POST", "/stream/start/?name=" + secret)
        pattern = r"INFO +\[http\] POST /stream/start/ 200 anonymous \d+ms"
        log = wait_log(self.d, pattern)
        self.assertNotIn(secret, log)
        self.assertRegex(log, pattern)


if __name__ == "__main__":
    unittest.main()
