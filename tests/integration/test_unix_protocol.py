# SPDX-License-Identifier: Apache-2.0
"""The Unix socket frontend's wire protocol, against the real broadcastd.

One daemon with two unix frontends: `control.sock` with the defaults and
`small.sock` with tight limits (max_line 1k, idle_timeout 1s, max_clients 2).
A real client (python sockets) sends JSON lines and checks that the
dispatcher's status and body come back unchanged, that transport errors
(bad JSON, oversize lines, stalled half lines, too many clients) are clear and
leave the daemon serving, and that 100 clients at once are all answered.
Bounded: every socket has a timeout and the whole file runs in seconds.
"""
import json
import os
import signal
import socket
import threading
import time
import unittest

import bctest

FRONTENDS = """
- type: unix
  path: "@TMP@/control.sock"
- type: unix
  name: small
  path: "@TMP@/small.sock"
  max_line: 1k
  idle_timeout: 1s
  max_clients: 2
"""
STORE = "type: memory\n"


class UnixClient:
    """One connection: JSON lines out, JSON lines in."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_line(self):
        """The next response line parsed, or None at end of stream."""
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, op, params=None, **extra):
        req = dict(extra)
        if op is not None:
            req["op"] = op
        if params is not None:
            req["params"] = params
        self.send_raw(json.dumps(req).encode() + b"\n")
        resp = self.read_line()
        if resp is None:
            raise AssertionError("connection closed without a response to %r" % req)
        return resp["status"], resp["body"]

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def assert_unix_error(tc, resp, status, code):
    tc.assertIsNotNone(resp, "no response line")
    tc.assertEqual(resp["status"], status, resp)
    tc.assertEqual(set(resp["body"].keys()), {"error"}, resp)
    tc.assertEqual(resp["body"]["error"]["code"], code, resp)
    tc.assertTrue(resp["body"]["error"]["message"], resp)


class UnixProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = bctest.Daemon(bctest.config(frontends=FRONTENDS, store=STORE))
        cls.d.start()
        cls.path = os.path.join(cls.d.tmp, "control.sock")
        cls.small = os.path.join(cls.d.tmp, "small.sock")

    @classmethod
    def tearDownClass(cls):
        code = cls.d.stop()
        cls.d.kill()
        assert code == 0, "broadcastd exited with %s:\n%s" % (code, cls.d.log_text())

    def client(self, small=False):
        return UnixClient(self.small if small else self.path)

    def assert_serving(self):
        """The daemon still answers on a fresh connection."""
        with self.client() as c:
            status, body = c.call("health")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["status"], "ok", body)

    # -- operations --------------------------------------------------------------
    def test_health(self):
        self.assert_serving()

    def test_start_get_stop_with_owner_from_peer_uid(self):
        with self.client() as c:
            status, body = c.call("start", {"type": "hls", "name": "unix-one"})
            self.assertEqual(status, 200, body)
            sid = body["stream"]["id"]
            self.assertEqual(body["stream"]["name"], "unix-one")
            self.assertIn("S3", body["endpoint"])
            # a JSON real keeps its form through the frontend (3600.0)
            self.assertIsInstance(body["endpoint"]["S3"]["aws_expiration"], float)
            status, body = c.call("get", {"id": sid})
            self.assertEqual(status, 200, body)
            self.assertEqual(body["stream"]["owner"], "uid:%d" % os.getuid())
            self.assertEqual(body["stream"]["state"], "live")
            status, body = c.call("stop", {"id": sid})
            self.assertEqual(status, 200, body)
            self.assertTrue(body["stream"]["stop_date"])
            status, body = c.call("stop", {"id": sid})
            self.assertEqual(status, 409, body)
            self.assertEqual(body["error"]["code"], "stream.already_stopped")

    def test_response_body_is_the_dispatchers_bytes(self):
        # the body member is the dispatcher's JSON, spliced in unchanged
        with self.client() as c:
            c.send_raw(b'{"op":"start","params":{"name":"raw"}}\n')
            while b"\n" not in c.buf:
                c.buf += c.sock.recv(65536)
            line = c.buf.split(b"\n", 1)[0]
        self.assertTrue(line.startswith(b'{"status":200,"body":{"stream":'), line)
        self.assertIn(b'"aws_expiration":3600.0', line)

    def test_list_plugins_metrics(self):
        with self.client() as c:
            status, body = c.call("list", {"state": "all", "limit": 5})
            self.assertEqual(status, 200, body)
            self.assertIn("streams", body)
            status, body = c.call("plugins")
            self.assertEqual(status, 200, body)
            names = {(p["kind"], p["name"]) for p in body["plugins"]}
            self.assertIn(("frontend", "unix"), names)
            status, body = c.call("metrics")
            self.assertEqual(status, 200, body)
            self.assertIsInstance(body, str)
            self.assertIn("broadcast_", body)

    def test_dispatcher_errors_pass_through(self):
        with self.client() as c:
            status, body = c.call("frobnicate")
            self.assertEqual(status, 404, body)
            self.assertEqual(body["error"]["code"], "api.not_found")
            status, body = c.call(None, {"id": "x"})
            self.assertEqual(status, 404, body)
            self.assertEqual(body["error"]["code"], "api.not_found")
            status, body = c.call("start", {"type": "nope"})
            self.assertEqual(status, 400, body)
            self.assertEqual(body["error"]["code"], "stream.bad_type")
            status, body = c.call("get", {"id": "not-a-uuid"})
            self.assertEqual(status, 400, body)
            self.assertEqual(body["error"]["code"], "stream.bad_id")
            # nested values are the dispatcher's to refuse, like an HTTP JSON body
            status, body = c.call("start", {"name": {"nested": 1}})
            self.assertEqual(status, 400, body)
            # an explicit method is passed on and checked by the dispatcher
            c.send_raw(b'{"op":"stop","method":"GET","params":{"id":"x"}}\n')
            resp = c.read_line()
            self.assertEqual(resp["status"], 405, resp)
            self.assertIn("POST", resp.get("allow", ""), resp)
            # the connection is still fine after all of it
            status, body = c.call("health")
            self.assertEqual(status, 200, body)

    # -- framing -------------------------------------------------------------------
    def test_many_requests_one_connection_and_pipelined(self):
        with self.client() as c:
            for _ in range(20):
                self.assertEqual(c.call("health")[0], 200)
            c.send_raw(b'{"op":"health"}\n' * 10 + b'\n  \n' + b'{"op":"health"}\r\n')
            for _ in range(11):
                resp = c.read_line()
                self.assertEqual(resp["status"], 200, resp)

    def test_malformed_json_keeps_connection(self):
        with self.client() as c:
            for bad in (b"this is not json", b'{"op":', b"[1,2]", b'"health"',
                        b'{"op":"health","op":"start"}', b"\xff\xfe{}"):
                c.send_raw(bad + b"\n")
                assert_unix_error(self, c.read_line(), 400, "unix.bad_json")
            for bad in (b'{"op":5}', b'{"op":"start","params":[1]}', b'{"op":"x","method":1}'):
                c.send_raw(bad + b"\n")
                assert_unix_error(self, c.read_line(), 400, "unix.bad_request")
            self.assertEqual(c.call("health")[0], 200)

    def test_oversize_line_closes_with_clear_error(self):
        with self.client(small=True) as c:
            c.send_raw(b'{"op":"health","params":{"name":"' + b"x" * 4000 + b'"}}\n')
            resp = c.read_line()
            assert_unix_error(self, resp, 413, "unix.line_too_long")
            self.assertIn("1024", resp["body"]["error"]["message"])
            self.assertIsNone(c.read_line(), "connection should be closed")
        # a line of exactly max_line bytes is fine. The small socket allows
        # two clients, and the server notices earlier tests' closed
        # connections asynchronously: retry while it answers unix.busy.
        deadline = time.monotonic() + 5
        while True:
            with self.client(small=True) as c:
                pad = 1024 - len(b'{"op":"health","pad":""}')
                c.send_raw(b'{"op":"health","pad":"' + b"p" * pad + b'"}\n')
                resp = c.read_line()
            if resp["status"] != 503 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(resp["status"], 200, resp)
        self.assert_serving()

    def test_half_written_request_then_disconnect(self):
        for _ in range(5):
            c = self.client()
            c.send_raw(b'{"op":"start","params":{"name":"half')
            c.close()
        c = self.client()
        c.send_raw(b'{"op":"start"')
        c.sock.shutdown(socket.SHUT_WR)
        self.assertIsNone(c.read_line())
        c.close()
        self.assert_serving()
        self.assertNotIn("half", self.d.log_text())

    def test_idle_timeout(self):
        with self.client(small=True) as c:
            t0 = time.monotonic()
            self.assertIsNone(c.read_line())  # silent peer: plain close
            self.assertLess(time.monotonic() - t0, 5)
        with self.client(small=True) as c:
            c.send_raw(b'{"op":"hea')
            assert_unix_error(self, c.read_line(), 408, "unix.timeout")
            self.assertIsNone(c.read_line())

    def test_max_clients(self):
        a, b = self.client(small=True), self.client(small=True)
        try:
            self.assertEqual(a.call("health")[0], 200)
            self.assertEqual(b.call("health")[0], 200)
            with self.client(small=True) as c:
                assert_unix_error(self, c.read_line(), 503, "unix.busy")
        finally:
            a.close()
            b.close()
        # slots come back once those two are gone
        deadline = time.monotonic() + 5
        while True:
            with self.client(small=True) as c:
                resp = None
                try:
                    c.send_raw(b'{"op":"health"}\n')
                    resp = c.read_line()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if resp is not None and resp["status"] == 200:
                    break
            self.assertLess(time.monotonic(), deadline, "slots not freed")
            time.sleep(0.05)

    def test_100_concurrent_clients(self):
        n = 100
        results = [None] * n
        barrier = threading.Barrier(n)

        def worker(i):
            try:
                with UnixClient(self.path, timeout=30) as c:
                    barrier.wait(10)
                    status, body = c.call("start", {"name": "conc-%d" % i})
                    if status != 200:
                        results[i] = ("start", status, body)
                        return
                    sid = body["stream"]["id"]
                    status, body = c.call("get", {"id": sid})
                    results[i] = (status, body["stream"]["name"], sid)
            except Exception as e:  # recorded and asserted below
                results[i] = ("exception", repr(e))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(40)
        for i, r in enumerate(results):
            self.assertIsNotNone(r, "client %d did not finish" % i)
            self.assertEqual(r[:2], (200, "conc-%d" % i), r)
        self.assertEqual(len({r[2] for r in results}), n)
        self.assert_serving()


class UnixDrainTest(unittest.TestCase):
    def test_sigterm_finishes_request_in_flight(self):
        cfg = bctest.config(frontends=FRONTENDS, store=STORE)
        with bctest.Daemon(cfg) as d:
            path = os.path.join(d.tmp, "control.sock")
            with UnixClient(path) as c, UnixClient(path) as idle:
                self.assertEqual(idle.call("health")[0], 200)
                c.send_raw(b'{"op":"start","params":{"name":"slow-start-1200"}}\n')
                time.sleep(0.3)  # the request is in the provider now
                d.proc.send_signal(signal.SIGTERM)
                resp = c.read_line()
                self.assertIsNotNone(resp, "request in flight was cut off:\n" + d.log_text())
                self.assertEqual(resp["status"], 200, resp)
                self.assertIsNone(c.read_line())   # then closed
                self.assertIsNone(idle.read_line())
            self.assertEqual(d.proc.wait(20), 0, d.log_text())
            self.assertFalse(os.path.exists(path), "socket left behind")


if __name__ == "__main__":
    unittest.main()
