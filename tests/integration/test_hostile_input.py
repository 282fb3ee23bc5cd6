# SPDX-License-Identifier: Apache-2.0
"""Hostile input against the real broadcastd (issue 17, findings 1, 2 and the
public-route parts of 8): each request gets its exact status and error code,
and after each one the daemon is still alive, `GET /streams` and the Unix
socket's `list` still answer 200, and no stream was created.

- Deep JSON nesting (1000 levels overflowed a CivetWeb worker's 100 KiB stack
  inside jansson) in bodies of every route, over HTTP and the Unix socket.
- Text that is not UTF-8, NUL and control characters in every parameter and
  source (query, form body, path, Unix socket), refused before anything is
  reserved; a record that is not UTF-8 already in the store (an old database)
  still lists, reads and stops.
- /healthz shows a component's own message only to administrators, and wrong
  or missing bearer tokens are limited per client address (429), while a
  valid token is not.

Bounded: every socket has a timeout and the whole file runs in seconds.
"""
import hashlib
import json
import os
import socket
import sqlite3
import tempfile
import unittest
import urllib.parse

import bctest

TOKEN = "hostile-test-token-0123456789abcdef"

FRONTENDS = """
- type: http
  listen: "127.0.0.1:@HTTP_PORT@"
- type: http
  name: authed
  listen: "127.0.0.1:@PORT1@"
  tokens_file: "@TMP@/tokens"
  auth_fail_limit: 3/m
- type: unix
  path: "@TMP@/control.sock"
"""

SICK_FRONTENDS = """
- type: http
  listen: "127.0.0.1:@HTTP_PORT@"
  tokens_file: "@TMP@/tokens"
- type: unix
  path: "@TMP@/control.sock"
"""
SICK_PROVIDERS = """
- name: test
  type: test
- name: sick
  type: test
  stream_types: [webrtc]
  fail_start: unavailable
"""


def make_tmp():
    tmp = tempfile.mkdtemp(prefix="bctest-hostile-")
    path = os.path.join(tmp, "tokens")
    with open(path, "w") as f:
        f.write("alice:%s\n" % hashlib.sha256(TOKEN.encode()).hexdigest())
    os.chmod(path, 0o600)
    return tmp


def unix_exchange(d, raw, timeout=10.0):
    """Send raw bytes (one or more lines) and read one response line."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(os.path.join(d.tmp, "control.sock"))
        s.sendall(raw)
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError("the unix socket closed without an answer to %r"
                                     % raw[:80])
            buf += chunk
        return json.loads(buf.split(b"\n", 1)[0])
    finally:
        s.close()


def unix_call(d, op, params=None):
    req = {"op": op}
    if params is not None:
        req["params"] = params
    resp = unix_exchange(d, json.dumps(req).encode() + b"\n")
    return resp["status"], resp["body"]


def raw_http(d, method, target, body=b"", ctype=None, port=None, headers=None):
    """A request with the target sent byte for byte (http.client would
    re-encode it)."""
    hdrs = dict(headers or {})
    if ctype is not None:
        hdrs["Content-Type"] = ctype
    return d.request(method, target, body=body if body else None, headers=hdrs, port=port)


class HostileInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = bctest.Daemon(bctest.config(frontends=FRONTENDS), tmp=make_tmp()).start()
        cls.authed = cls.d.ports[0]

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.kill()

    def count_streams(self):
        """Every stream, as the admin sees them through the unix socket."""
        status, body = unix_call(self.d, "list", {"state": "all", "limit": 1000})
        self.assertEqual(status, 200, body)
        return len(body["streams"])

    def setUp(self):
        self.before = self.count_streams()

    def assert_serving(self):
        """Alive, listing over both transports, and nothing was created."""
        self.assertIsNone(self.d.proc.poll(), "broadcastd died:\n" + self.d.log_text()[-3000:])
        status, _, body = self.d.request("GET", "/streams")
        self.assertEqual(status, 200, body)
        status, _, body = self.d.request("GET", "/healthz")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.count_streams(), self.before)

    def expect(self, method, target, want_status, want_code, body=b"", ctype=None, port=None,
               headers=None):
        status, _, got = raw_http(self.d, method, target, body, ctype, port, headers)
        bctest.assert_error(self, status, got, want_status, want_code)
        self.assert_serving()
        return got

    # -- finding 1: nesting ------------------------------------------------------
    def test_deep_json_body_on_api_routes(self):
        js = "application/json"
        for body in (b"[" * 1000, b"[" * 60000, b'{"a":' * 1000,
                     b'{"name":' + b"[" * 1000 + b"]" * 1000 + b"}"):
            for target in ("/stream/start/", "/stream/stop/", "/stream/start"):
                self.expect("POST", target, 400, "request.too_deep", body, js)
            self.expect("GET", "/streams", 400, "request.too_deep", body, js)
            # and with a token, on the frontend that needs one
            self.expect("POST", "/stream/start/", 400, "request.too_deep", body, js,
                        port=self.authed, headers={"Authorization": "Bearer " + TOKEN})

    def test_deep_json_body_on_public_routes_is_not_parsed(self):
        body = b"[" * 1000
        for port in (None, self.authed):  # no token needed on either
            status, _, got = raw_http(self.d, "GET", "/healthz", body, "application/json",
                                      port=port)
            self.assertEqual(status, 200, got)
            self.assertEqual(got["status"], "ok")
            # not even a bad media type is looked at: there is no body to read
            status, _, got = raw_http(self.d, "GET", "/healthz", b"\xff" * 100, "text/x-evil",
                                      port=port)
            self.assertEqual(status, 200, got)
        status, _, got = raw_http(self.d, "GET", "/metrics", body, "application/json")
        self.assertEqual(status, 200, got)
        self.assert_serving()

    def test_deep_json_depth_limit_is_eight(self):
        js = "application/json"
        # 8 levels: parsed, then refused as a nested value with the usual code
        self.expect("POST", "/stream/start/", 400, "request.bad_json",
                    b'{"name":' + b"[" * 7 + b"]" * 7 + b"}", js)
        self.expect("POST", "/stream/start/", 400, "request.too_deep",
                    b'{"name":' + b"[" * 8 + b"]" * 8 + b"}", js)
        # brackets inside strings are text
        status, _, got = raw_http(self.d, "POST", "/stream/start/",
                                  json.dumps({"name": "[{" * 100}).encode(), js)
        self.assertEqual(status, 200, got)
        self.assertEqual(got["stream"]["name"], "[{" * 100)
        self.before += 1
        status, _, got = self.d.request("POST", "/stream/stop/",
                                        params={"id": got["stream"]["id"]})
        self.assertEqual(status, 200, got)

    def test_deep_json_unix_socket(self):
        for line in (b'{"op":"start","params":' + b"[" * 1000 + b"}\n",
                     b'{"op":"list","params":' + b'{"a":' * 1000 + b"}\n",
                     b"[" * 50000 + b"\n"):
            resp = unix_exchange(self.d, line)
            self.assertEqual(resp["status"], 400, resp)
            self.assertEqual(resp["body"]["error"]["code"], "unix.too_deep", resp)
            self.assert_serving()

    # -- finding 2: text that is not UTF-8, NUL, control characters -------------
    def test_bad_utf8_in_every_parameter(self):
        sid = "00000000-0000-4000-8000-000000000000"
        for target in ("/stream/start/?name=%ff%fe", "/stream/start/?provider=%ff",
                       "/stream/start/?type=%ff", "/stream/start/?name=%c0%af",
                       "/stream/start/?name=%ed%a0%80", "/stream/start/?na%ffme=x",
                       "/stream/stop/?id=%ff" + sid):
            self.expect("POST", target, 400, "request.bad_utf8")
        self.expect("POST", "/stream/start/", 400, "request.bad_utf8", b"name=%ff%fe",
                    "application/x-www-form-urlencoded")
        self.expect("GET", "/streams?state=%ff", 400, "request.bad_utf8")
        self.expect("GET", "/streams?cursor=%fe", 400, "request.bad_utf8")
        self.expect("POST", "/stream/start/?name=%ff%fe", 400, "request.bad_utf8",
                    port=self.authed, headers={"Authorization": "Bearer " + TOKEN})
        # a JSON body cannot carry it at all
        self.expect("POST", "/stream/start/", 400, "request.bad_json", b'{"name":"\xff\xfe"}',
                    "application/json")

    def test_nul_and_control_characters(self):
        self.expect("POST", "/stream/start/?name=a%00b", 400, "request.bad_encoding")
        self.expect("POST", "/stream/start/?provider=test%00", 400, "request.bad_encoding")
        self.expect("GET", "/streams?state=live%00", 400, "request.bad_encoding")
        for target in ("/stream/start/?name=a%0d%0aX-Evil:%201", "/stream/start/?name=%1b[31m",
                       "/stream/start/?type=hls%09", "/stream/start/?name=%7f"):
            self.expect("POST", target, 400, "request.control_character")
        self.expect("POST", "/stream/start/", 400, "request.control_character",
                    b'{"name":"a\\u0001"}', "application/json")

    def test_bad_text_unix_socket(self):
        # raw bytes that are not UTF-8: the line is not JSON
        resp = unix_exchange(self.d, b'{"op":"start","params":{"name":"\xff\xfe"}}\n')
        self.assertEqual((resp["status"], resp["body"]["error"]["code"]), (400, "unix.bad_json"))
        resp = unix_exchange(self.d, b'{"op":\xff\xfe}\n')
        self.assertEqual((resp["status"], resp["body"]["error"]["code"]), (400, "unix.bad_json"))
        resp = unix_exchange(self.d, b'{"op":"start","params":{"name":"a\\u0000"}}\n')
        self.assertEqual((resp["status"], resp["body"]["error"]["code"]), (400, "unix.bad_json"))
        status, body = unix_call(self.d, "start", {"name": "a\u0007"})
        self.assertEqual((status, body["error"]["code"]), (400, "request.control_character"))
        status, body = unix_call(self.d, "start", {"provider": "te\nst"})
        self.assertEqual((status, body["error"]["code"]), (400, "request.control_character"))
        self.assert_serving()

    def test_unicode_names_still_work(self):
        name = "caf\u00e9 \U0001f3a5 \u00a0[live]"
        status, _, got = self.d.request("POST", "/stream/start/", params={"name": name})
        self.assertEqual(status, 200, got)
        self.assertEqual(got["stream"]["name"], name)
        sid = got["stream"]["id"]
        status, _, got = self.d.request("GET", "/streams/" + sid)
        self.assertEqual((status, got["stream"]["name"]), (200, name))
        status, _, got = self.d.request("POST", "/stream/stop/", params={"id": sid})
        self.assertEqual(status, 200, got)
        self.before += 1
        self.assert_serving()

    def test_stored_record_that_is_not_utf8_still_renders(self):
        # A record an older version (or a hand edit) left in the database.
        sid = "11111111-2222-4333-8444-555555555555"
        db = sqlite3.connect(os.path.join(self.d.tmp, "streams.db"), timeout=10)
        try:
            db.execute("INSERT INTO streams (id, name, type, provider, owner, state, start_ms,"
                       " stop_ms, meta, created_ms, updated_ms) VALUES (?, CAST(? AS TEXT),"
                       " 'hls', 'test', 'anonymous', 2, 1700000000000, 0, '{}', 1, 1)",
                       (sid, b"bad\xff\xfename"))
            db.commit()
        finally:
            db.close()
        self.before += 1
        want = "bad\ufffd\ufffdname"
        status, _, got = self.d.request("GET", "/streams")
        self.assertEqual(status, 200, got)
        self.assertIn(want, [s["name"] for s in got["streams"]])
        status, _, got = self.d.request("GET", "/streams/" + sid)
        self.assertEqual((status, got["stream"]["name"]), (200, want), got)
        status, body = unix_call(self.d, "list", {"state": "all"})
        self.assertEqual(status, 200, body)
        status, _, got = self.d.request("POST", "/stream/stop/", params={"id": sid})
        self.assertEqual((status, got["stream"]["name"]), (200, want), got)
        status, _, got = self.d.request("POST", "/stream/stop/", params={"id": sid})
        self.assertEqual((status, got["error"]["code"]), (409, "stream.already_stopped"), got)
        self.assertEqual(got["stream"]["name"], want)
        self.assert_serving()

    # -- finding 8: failed tokens are limited per address -------------------------
    def test_failed_tokens_are_rate_limited(self):
        port = self.authed
        # auth_fail_limit is 3/m: three failures, then 429 (no other test
        # sends a wrong token to this frontend).
        codes = []
        for i in range(3):
            status, hdrs, got = raw_http(self.d, "GET", "/streams", port=port,
                                         headers={"Authorization": "Bearer wrong%d" % i})
            codes.append((status, got["error"]["code"]))
        self.assertEqual(codes, [(401, "auth.bad_token")] * 3)
        status, hdrs, got = raw_http(self.d, "GET", "/streams", port=port,
                                     headers={"Authorization": "Bearer wrong"})
        bctest.assert_error(self, status, got, 429, "auth.too_many_failures")
        self.assertGreaterEqual(int(hdrs["retry-after"]), 1)
        status, hdrs, got = raw_http(self.d, "GET", "/streams", port=port)
        bctest.assert_error(self, status, got, 429, "auth.too_many_failures")
        # a valid token from the same address is not slowed, many times over
        for _ in range(10):
            status, _, got = raw_http(self.d, "GET", "/streams", port=port,
                                      headers={"Authorization": "Bearer " + TOKEN})
            self.assertEqual(status, 200, got)
        # the public route needs no token and is not limited
        status, _, got = raw_http(self.d, "GET", "/healthz", port=port,
                                  headers={"Authorization": "Bearer wrong"})
        self.assertEqual(status, 200, got)
        # the other frontend (no tokens) is not affected
        self.assert_serving()


class HealthDetail(unittest.TestCase):
    """/healthz is public: a component's own message (which may name paths)
    goes only to administrators (the Unix socket's root or daemon uid)."""

    @classmethod
    def setUpClass(cls):
        cfg = bctest.config(frontends=SICK_FRONTENDS, providers=SICK_PROVIDERS,
                            store="type: memory\n")
        cls.d = bctest.Daemon(cfg, tmp=make_tmp()).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.kill()

    def test_public_health_has_no_detail(self):
        for headers in ({}, {"Authorization": "Bearer " + TOKEN}):
            status, hdrs, got = self.d.request("GET", "/healthz", headers=headers)
            self.assertEqual(status, 503, got)
            sick = [p for p in got["providers"] if p["name"] == "sick"][0]
            self.assertEqual(sick["status"], "unavailable")
            self.assertEqual(sick["code"], "test.unhealthy")
            self.assertEqual(sick["message"], "not healthy; the daemon's log says why")
            self.assertNotIn("configured to fail starts", json.dumps(got))
            self.assertNotIn(self.d.tmp, json.dumps(got))
        status, body = unix_call(self.d, "health")
        self.assertEqual(status, 503, body)
        sick = [p for p in body["providers"] if p["name"] == "sick"][0]
        self.assertEqual(sick["message"], "configured to fail starts")
        self.assertIn("configured to fail starts", self.d.log_text())


class EventsRoute(unittest.TestCase):
    """GET /events (issue 18's long-poll route) takes the same hostile
    parameters as the others: each a clear 400 at once, nothing written to
    the feed, the daemon alive."""

    def test_hostile_parameters(self):
        with bctest.Daemon(bctest.config()) as d:
            status, _, before = d.request("GET", "/events?after=0&limit=1000")
            self.assertEqual(status, 200, before)
            cases = {"after=%ff": "request.bad_utf8", "after=%00": "request.bad_encoding",
                     "after=-1": "request.bad_parameter",
                     "after=99999999999999999999999": "request.bad_parameter",
                     "after=1e3": "request.bad_parameter", "limit=0": "request.bad_parameter",
                     "limit=100000": "request.bad_parameter",
                     "wait=abc": "request.bad_parameter", "wait=1e9": "request.bad_parameter",
                     "wait=-1": "request.bad_parameter", "wait=31": "request.bad_parameter"}
            for query, code in cases.items():
                with self.subTest(query=query):
                    status, _, body = d.request("GET", "/events?" + query, timeout=10)
                    self.assertEqual(status, 400, body)
                    self.assertEqual(body["error"]["code"], code)
            status, _, body = d.request("GET", "/events", body=b"[" * 3000,
                                        headers={"Content-Type": "application/json"})
            self.assertEqual(status, 400, body)
            self.assertEqual(body["error"]["code"], "request.too_deep")
            status, _, _ = d.request("GET", "/events?wait=0", headers={"Host": "evil.example"})
            self.assertEqual(status, 421)
            self.assertIsNone(d.proc.poll())
            status, _, after = d.request("GET", "/events?after=0&limit=1000")
            self.assertEqual(status, 200)
            self.assertEqual(after["events"], before["events"])


if __name__ == "__main__":
    unittest.main()
