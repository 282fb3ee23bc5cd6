# SPDX-License-Identifier: Apache-2.0
"""Hostile and forged nginx-rtmp callbacks to the rtmp provider (issue 22),
sent as exact bytes on a raw socket to the real broadcastd: missing, doubled,
forged and non-ASCII parameters, an oversized or trickled body, a foreign
Host or an Origin, smuggled framing (Content-Length with Transfer-Encoding),
a caller outside `allow`. Each is refused with its exact status and code,
and nothing changes: the stream's media state and events stay as they were,
and its publisher keeps the stream. No nginx is needed: the test plays it."""
import json
import os
import subprocess
import time
import unittest
import urllib.parse

import bctest

CONFIG = bctest.config(providers="""
- type: rtmp
  rtmp_url: "rtmp://127.0.0.1:1935/live"
  callback_listen: "127.0.0.1:@PORT1@"
  allow: [127.0.0.1]
  request_timeout: 1s
""")


def raw(d, data, source=None, trickle=None, timeout=10.0):
    """bctest.raw_http to the callback listener from `source` (an address
    on lo): (status, headers, body)."""
    return bctest.raw_http(d.ports[0], data, source, trickle, timeout)[:3]


def form(**params):
    """nginx-rtmp's form for a publish of `name` (params override; None drops one)."""
    base = {"app": "live", "flashver": "FMLE/3.0", "tcurl": "rtmp://127.0.0.1:1935/live",
            "addr": "127.0.0.1", "clientid": "7", "call": "publish", "type": "live"}
    base.update(params)
    return urllib.parse.urlencode({k: v for k, v in base.items() if v is not None}).encode()


def post(path, body, host=b"127.0.0.1", extra=b"", ctype=b"application/x-www-form-urlencoded",
         length=None, version=b"1.0"):
    h = b"POST " + path.encode() + b" HTTP/" + version + b"\r\n"
    if host is not None:
        h += b"Host: " + host + b"\r\n"
    if ctype is not None:
        h += b"Content-Type: " + ctype + b"\r\n"
    if length is not False:
        h += b"Content-Length: %d\r\n" % (len(body) if length is None else length)
    return h + b"Connection: Close\r\n" + extra + b"\r\n" + body


class RtmpHostile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = bctest.Daemon(CONFIG).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.kill()

    def setUp(self):
        status, _, body = self.d.request("POST", "/stream/start/", params={"type": "rtmp"})
        self.assertEqual(status, 200, body)
        self.sid = body["stream"]["id"]
        self.key = body["endpoint"]["RTMP"]["stream_key"]
        # nginx says the encoder publishes with the key: accepted, renamed
        st, hdrs, _ = raw(self.d, post("/rtmp/on_publish", form(name=self.key)))
        self.assertEqual(st, 302)
        self.assertEqual(hdrs["location"], self.sid)
        self.wait_media("publishing")

    def record(self):
        status, _, body = self.d.request("GET", "/streams/" + self.sid)
        self.assertEqual(status, 200, body)
        return body["stream"]

    def wait_media(self, want):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.record()["media"] == want:
                return
            time.sleep(0.05)
        self.fail("media is %s, not %s" % (self.record()["media"], want))

    def event_types(self):
        status, _, body = self.d.request("GET", "/events?after=0&limit=1000")
        self.assertEqual(status, 200, body)
        return [e["type"] for e in body["events"] if e["stream"]["id"] == self.sid]

    def assert_refused(self, got, status, code):
        st, hdrs, body = got
        self.assertEqual(st, status, body)
        if code is not None:
            err = json.loads(body)["error"]
            self.assertEqual(err["code"], code, body)
            self.assertTrue(err["message"])
            self.assertNotIn(self.key, err["message"])

    def assert_unchanged(self):
        time.sleep(0.3)  # facts are applied by the host's worker: give one a chance
        self.assertEqual(self.record()["media"], "publishing")
        self.assertIsNone(self.record()["stop_date"])
        self.assertEqual(self.event_types(), ["stream.started", "stream.publishing"])
        self.assertIsNone(self.d.proc.poll())

    def test_forged_and_missing_parameters(self):
        for drop in ("name", "app", "addr", "clientid", "call"):
            params = {"name": self.key, "call": "publish_done"}
            params[drop] = None
            got = raw(self.d, post("/rtmp/on_publish_done", form(**params)))
            self.assert_refused(got, 400, "rtmp.missing_param")
        cases = [
            # the call of another route
            (post("/rtmp/on_publish_done", form(name=self.key)), 400, "rtmp.bad_call"),
            # another application
            (post("/rtmp/on_publish_done", form(name=self.key, call="publish_done", app="other")),
             403, "rtmp.wrong_app"),
            # a parameter twice: which one would count?
            (post("/rtmp/on_publish_done", form(name=self.key, call="publish_done") +
                  b"&name=x"), 400, "rtmp.bad_param"),
            # invalid UTF-8, escaped and raw, and a control character
            (post("/rtmp/on_publish", form(clientid="8") + b"&name=%FF%FE"), 400, "rtmp.bad_param"),
            (post("/rtmp/on_publish", form(clientid="8") + b"&name=\xc3\x28"), 400,
             "rtmp.bad_param"),
            (post("/rtmp/on_publish", form(clientid="8") + b"&name=a%0Ab"), 400, "rtmp.bad_param"),
            (post("/rtmp/on_publish", form(clientid="8") + b"&name=%G1"), 400, "rtmp.bad_param"),
            (post("/rtmp/on_publish_done", form(name=self.key, call="publish_done",
                                                clientid="7 or 1")), 400, "rtmp.bad_param"),
            # a key that is not this stream's
            (post("/rtmp/on_publish", form(name="A" * 43, clientid="8")), 403, "rtmp.bad_key"),
            (post("/rtmp/on_update", form(name="A" * 43, call="update_publish")), 403,
             "rtmp.bad_key"),
            # the right key, another client: a second publisher, a forged done
            (post("/rtmp/on_publish", form(name=self.key, clientid="8")), 409, "rtmp.busy"),
            (post("/rtmp/on_publish_done", form(name=self.key, call="publish_done",
                                                clientid="8")), 409, "rtmp.not_publisher"),
            (post("/rtmp/on_update", form(name=self.key, call="update_publish",
                                          clientid="8")), 409, "rtmp.not_publisher"),
        ]
        for data, status, code in cases:
            with self.subTest(data=data[-80:]):
                self.assert_refused(raw(self.d, data), status, code)
        self.assert_unchanged()
        log = self.d.log_text()
        self.assertNotIn(self.key, log)

    def test_transport(self):
        body = form(name=self.key, call="publish_done")
        cases = [
            # not from an allowed address (127.0.0.2 is on lo too)
            (dict(data=post("/rtmp/on_publish_done", body), source="127.0.0.2"), 403,
             "rtmp.forbidden_address"),
            # a web page: a foreign Host (DNS rebinding) or an Origin
            (dict(data=post("/rtmp/on_publish_done", body, host=b"evil.example")), 400,
             "rtmp.bad_host"),
            (dict(data=post("/rtmp/on_publish_done", body,
                            extra=b"Origin: http://evil.example\r\n")), 403,
             "rtmp.browser_request"),
            # smuggling: Content-Length and Transfer-Encoding together
            (dict(data=post("/rtmp/on_publish_done", body, version=b"1.1",
                            extra=b"Transfer-Encoding: chunked\r\n")), 400, "rtmp.bad_framing"),
            # oversized, unframed, not a form, wrong method or path
            (dict(data=post("/rtmp/on_publish_done", body + b"&x=" + b"a" * 9000)), 413,
             "rtmp.too_large"),
            (dict(data=post("/rtmp/on_publish_done", body, length=False)), 411,
             "rtmp.length_required"),
            (dict(data=post("/rtmp/on_publish_done", body, ctype=b"application/json")), 415,
             "rtmp.bad_content_type"),
            (dict(data=b"GET /rtmp/on_publish_done HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"), 405,
             "rtmp.bad_method"),
            (dict(data=post("/rtmp/on_play", body)), 404, "rtmp.not_found"),
            (dict(data=post("/rtmp/on_publish_done%00", body)), 404, "rtmp.not_found"),
            # a body that trickles past request_timeout (1 s)
            (dict(data=post("/rtmp/on_publish_done", body, length=len(body) + 50),
                  trickle=(b"a", 0.3, 6)), 408, "rtmp.timeout"),
        ]
        for kw, status, code in cases:
            with self.subTest(data=kw["data"][:60]):
                t0 = time.monotonic()
                self.assert_refused(raw(self.d, **kw), status, code)
                self.assertLess(time.monotonic() - t0, 4)
        self.assert_unchanged()

    def test_publisher_leaves_then_stop_revokes(self):
        st, _, _ = raw(self.d, post("/rtmp/on_update", form(name=self.key, call="update_publish")))
        self.assertEqual(st, 200)
        st, _, _ = raw(self.d, post("/rtmp/on_publish_done",
                                    form(name=self.key, call="publish_done")))
        self.assertEqual(st, 200)
        self.wait_media("idle")
        status, _, body = self.d.request("POST", "/stream/stop/", params={"id": self.sid})
        self.assertEqual(status, 200, body)
        for path, call in (("/rtmp/on_publish", "publish"), ("/rtmp/on_update", "update_publish"),
                           ("/rtmp/on_publish_done", "publish_done")):
            self.assert_refused(raw(self.d, post(path, form(name=self.key, call=call))), 403,
                                "rtmp.bad_key")


class RtmpRestartAndCheck(unittest.TestCase):
    def test_restart_keeps_live_keys_only(self):
        """After a restart, resume() rebuilds the table from the store's
        meta: a live stream's key publishes, a stopped one's stays refused."""
        d = bctest.Daemon(CONFIG).start()
        try:
            keys = {}
            for n in ("live", "stopped"):
                status, _, body = d.request("POST", "/stream/start/", params={"type": "rtmp"})
                self.assertEqual(status, 200, body)
                keys[n] = (body["stream"]["id"], body["endpoint"]["RTMP"]["stream_key"])
            status, _, body = d.request("POST", "/stream/stop/", params={"id": keys["stopped"][0]})
            self.assertEqual(status, 200, body)
            d.stop()
            d = bctest.Daemon(CONFIG, tmp=d.tmp).start()
            st, hdrs, _ = raw(d, post("/rtmp/on_publish", form(name=keys["live"][1])))
            self.assertEqual(st, 302)
            self.assertEqual(hdrs["location"], keys["live"][0])
            st, _, _ = raw(d, post("/rtmp/on_publish", form(name=keys["stopped"][1], clientid="9")))
            self.assertEqual(st, 403)
            log = d.log_text()
            for _, key in keys.values():
                self.assertNotIn(key, log)
            # only hashes are stored
            with open(os.path.join(d.tmp, "streams.db"), "rb") as f:
                db = f.read()
            for _, key in keys.values():
                self.assertNotIn(key.encode(), db)
        finally:
            d.stop()
            d.kill()

    def test_stop_succeeds_when_the_control_module_is_down(self):
        """A control URL nobody answers: the stop still succeeds, revokes
        the key, and says at warn level why the publisher was not cut."""
        dead = bctest.free_port()
        d = bctest.Daemon(CONFIG + '    control_url: "http://127.0.0.1:%d/control"\n'
                          '    control_timeout: 500ms\n' % dead).start()
        try:
            status, _, body = d.request("POST", "/stream/start/", params={"type": "rtmp"})
            self.assertEqual(status, 200, body)
            sid, key = body["stream"]["id"], body["endpoint"]["RTMP"]["stream_key"]
            st, _, _ = raw(d, post("/rtmp/on_publish", form(name=key)))
            self.assertEqual(st, 302)
            t0 = time.monotonic()
            status, _, body = d.request("POST", "/stream/stop/", params={"id": sid})
            self.assertEqual(status, 200, body)
            self.assertLess(time.monotonic() - t0, 3)
            self.assertRegex(d.log_text(), r"WARN.*cannot drop the publisher of %s" % sid)
            st, _, _ = raw(d, post("/rtmp/on_update", form(name=key, call="update_publish")))
            self.assertEqual(st, 403)
            self.assertNotIn(key, d.log_text())
        finally:
            d.stop()
            d.kill()

    def test_silent_publisher_is_taken_as_gone(self):
        """nginx killed: no on_publish_done. Three missed on_update later
        the publisher is reported gone, so idle_timeout applies."""
        d = bctest.Daemon(CONFIG + "    notify_update_timeout: 1s\n"
                                   "    idle_timeout: 2s\n").start()
        try:
            status, _, body = d.request("POST", "/stream/start/", params={"type": "rtmp"})
            self.assertEqual(status, 200, body)
            sid, key = body["stream"]["id"], body["endpoint"]["RTMP"]["stream_key"]
            st, _, _ = raw(d, post("/rtmp/on_publish", form(name=key)))
            self.assertEqual(st, 302)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                status, _, body = d.request("GET", "/events?after=0&limit=100")
                types = [(e["type"], e.get("cause"), e.get("reason"))
                         for e in body["events"] if e["stream"]["id"] == sid]
                if types and types[-1][0] == "stream.stopped":
                    break
                time.sleep(0.2)
            self.assertEqual(types, [("stream.started", None, None),
                                     ("stream.publishing", None, None),
                                     ("stream.idle", "gone", None),
                                     ("stream.stopped", None, "idle_timeout")])
            self.assertIn("its publisher stopped calling back", d.log_text())
        finally:
            d.stop()
            d.kill()

    def test_check_config_names_the_fix(self):
        cases = [
            ('rtmp_url: "http://x/live"', "rtmp.bad_rtmp_url"),
            ('rtmp_url: "rtmp://x:1935/a/b"', "rtmp_url must be rtmp://HOST[:PORT]/APP"),
            ('rtmp_url: "rtmp://x/live"\n  callback_listen: "127.0.0.1"', "callback_listen"),
            ('rtmp_url: "rtmp://x/live"\n  allow: ["10.0.0.0/33"]', "10.0.0.0/33"),
            ('rtmp_url: "rtmp://x/live"\n  control_url: "ftp://x"', "control_url"),
            ('rtmp_url: "rtmp://x/live"\n  hls_base_url: "x/hls"', "hls_base_url"),
        ]
        for opts, want in cases:
            with self.subTest(opts=opts):
                d = bctest.Daemon(bctest.config(providers="- type: rtmp\n  " + opts))
                p = subprocess.run([bctest.BROADCASTD, "-c", d.config_path, "--check-config"],
                                   capture_output=True, text=True, timeout=20,
                                   stdin=subprocess.DEVNULL)
                self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertIn(want, p.stdout + p.stderr)
        d = bctest.Daemon(bctest.config(providers='- type: rtmp\n  rtmp_url: "rtmp://x/live"'))
        p = subprocess.run([bctest.BROADCASTD, "-c", d.config_path, "--check-config"],
                           capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
