# SPDX-License-Identifier: Apache-2.0
"""Hostile requests to the webrtc provider's WHIP listener through the real
broadcastd and the real Janus (issue 23), sent as exact bytes on a raw
socket so that no client library normalises them first: ambiguous framing,
an SDP over max_sdp_bytes (declared or chunked), bytes that are not UTF-8,
a body trickled past request_timeout, a foreign Host, odd paths and
methods. Each case asserts the exact status and code, that nothing reached
Janus (the room has no participant), and that the daemon still answers.

Needs janus (no browser): CI installs it, so a missing one fails."""
import json
import sys
import unittest

import bctest
import janus_runner

if janus_runner.missing():
    print("FAIL: needs janus (apt-get install janus)")
    sys.exit(1)

OFFER = ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
         "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\n"
         "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
         "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=sendonly\r\n"
         "a=rtpmap:96 VP8/90000\r\n")


def raw(port, data, trickle=None, timeout=10.0):
    """bctest.raw_http: (status, headers, body, seconds)."""
    return bctest.raw_http(port, data, trickle=trickle, timeout=timeout)


def request(method, path, body=b"", headers=(), host=b"127.0.0.1", length=True):
    h = b"%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (
        method.encode(), path.encode() if isinstance(path, str) else path, host)
    for k, v in headers:
        h += k.encode() + b": " + (v.encode() if isinstance(v, str) else v) + b"\r\n"
    if length and body is not None:
        h += b"Content-Length: %d\r\n" % len(body)
    return h + b"\r\n" + (body or b"")


class WebRTCHostile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ip = janus_runner.ice_address() or "127.0.0.1"
        cls.janus = janus_runner.Janus(ip).start()
        cls.d = bctest.Daemon(bctest.config(providers="""
- type: webrtc
  janus_url: "%s"
  janus_api_secret: "%s"
  janus_admin_key: "%s"
  janus_timeout: 2s
  listen: "127.0.0.1:@PORT1@"
  request_timeout: 2s
  max_sdp_bytes: 4k
""" % (cls.janus.url, cls.janus.API_SECRET, cls.janus.ADMIN_KEY)))
        cls.d.start()
        cls.port = cls.d.ports[0]
        status, _, body = cls.d.request("POST", "/stream/start/", params={"type": "webrtc"})
        assert status == 200, body
        cls.sid = body["stream"]["id"]
        cls.token = body["endpoint"]["WebRTC"]["bearer_token"]
        cls.path = "/whip/" + cls.sid
        cls.room = [r["room"] for r in cls.janus.rooms().values()
                    if r.get("description") == cls.sid][0]

    @classmethod
    def tearDownClass(cls):
        try:
            cls.d.stop()
        finally:
            cls.d.kill()
            cls.janus.cleanup()

    def auth(self, content_type="application/sdp"):
        return [("Authorization", "Bearer " + self.token), ("Content-Type", content_type)]

    def assert_refused(self, got, status, code):
        self.assertEqual(got[0], status, got)
        body = json.loads(got[2])
        self.assertEqual(body["error"]["code"], code, got)
        self.assertTrue(body["error"]["message"], got)
        self.assertEqual(got[1].get("x-content-type-options"), "nosniff", got)

    def tearDown(self):
        # nothing got through to Janus, and both still answer
        self.assertEqual(self.janus.participants(self.room), [])
        status, _, body = self.d.request("GET", "/streams/" + self.sid)
        self.assertEqual(status, 200, body)

    def test_framing(self):
        got = raw(self.port, request("POST", self.path, OFFER.encode(), self.auth() + [
            ("Transfer-Encoding", "chunked")]))
        self.assertEqual(got[0], 400, got)
        self.assertEqual(json.loads(got[2])["error"]["code"], "webrtc.bad_framing")
        got = raw(self.port, request("POST", self.path, OFFER.encode(), self.auth() + [
            ("Content-Length", "5")]))
        self.assertEqual(got[0], 400, got)
        got = raw(self.port, request("POST", self.path, None, self.auth(), length=False))
        self.assert_refused(got, 411, "webrtc.length_required")

    def test_oversize(self):
        big = OFFER.encode() + b"a=x:" + b"y" * 5000 + b"\r\n"
        self.assert_refused(raw(self.port, request("POST", self.path, big, self.auth())),
                            413, "webrtc.too_large")
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big)
        self.assert_refused(raw(self.port, request("POST", self.path, chunked, self.auth() + [
            ("Transfer-Encoding", "chunked")], length=False)), 413, "webrtc.too_large")

    def test_encoding_and_sdp(self):
        self.assert_refused(raw(self.port, request("POST", self.path, b"v=0\r\n\xff\xfe\r\n",
                                                   self.auth())), 400, "webrtc.bad_encoding")
        self.assert_refused(raw(self.port, request("POST", self.path, b"v=0\r\n\x00\r\n",
                                                   self.auth())), 400, "webrtc.bad_encoding")
        for bad in (b"", b"hello", b"v=0\r\ns=-\r\n", OFFER.replace(
                "a=fingerprint", "a=fxngerprint").encode(), OFFER.replace(
                "a=ice-ufrag:abcd\r\n", "").encode()):
            got = raw(self.port, request("POST", self.path, bad, self.auth()))
            self.assert_refused(got, 400, "webrtc.bad_sdp")
        self.assert_refused(raw(self.port, request("POST", self.path, OFFER.encode(),
                                                   self.auth("text/plain"))),
                            415, "webrtc.bad_content_type")

    def test_tokens(self):
        self.assert_refused(raw(self.port, request(
            "POST", self.path, OFFER.encode(), [("Content-Type", "application/sdp")])),
            401, "webrtc.bad_token")
        got = raw(self.port, request("POST", self.path, OFFER.encode(), [
            ("Authorization", "Bearer x" + self.token), ("Content-Type", "application/sdp")]))
        self.assert_refused(got, 401, "webrtc.bad_token")
        self.assertIn("Bearer", got[1].get("www-authenticate", ""))
        self.assert_refused(raw(self.port, request(
            "POST", "/whip/00000000-0000-4000-8000-000000000000", OFFER.encode(),
            self.auth())), 404, "webrtc.not_found")
        self.assertNotIn(self.token, self.d.log_text())

    def test_slow_body(self):
        head = request("POST", self.path, None, self.auth() + [
            ("Content-Length", str(len(OFFER)))], length=False)
        got = raw(self.port, head + OFFER[:10].encode(), trickle=(b"a", 0.5, 8))
        self.assertIsNotNone(got[0], "no answer to a trickled body")
        self.assert_refused(got, 408, "webrtc.request_timeout")
        self.assertLess(got[3], 5)

    def test_foreign_host(self):
        for host in (b"evil.example", b"evil.example:%d" % self.port, b"localhost.evil.example",
                     b"127.0.0.1.evil.example", b"[::1]:%d" % self.port):
            got = raw(self.port, request("GET", "/watch/" + self.sid, None, host=host))
            self.assert_refused(got, 421, "webrtc.bad_host")
        got = raw(self.port, request("GET", "/watch/" + self.sid, None,
                                     host=b"127.0.0.1:%d" % self.port))
        self.assertEqual(got[0], 200, got)
        self.assertIn(b"RTCPeerConnection", got[2])

    def test_paths_and_methods(self):
        for p in ("/whip/%2e%2e/", "/whip/" + self.sid.upper(), "/WHIP/" + self.sid,
                  "/whip/" + self.sid + "/../x", "/whip//" + self.sid, "/whip/" + self.sid + "%00",
                  "/whip/" + self.sid + "/" + "0" * 31 + "g", "/watch/x", "/nothing"):
            got = raw(self.port, request("POST", p, OFFER.encode(), self.auth()))
            self.assertIn(got[0], (404,), (p, got))
        got = raw(self.port, request("GET", self.path, None))
        self.assertEqual(got[0], 405, got)
        self.assertEqual(got[1].get("allow"), "POST, OPTIONS")
        got = raw(self.port, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.assertIsNotNone(got[0], got)
        self.assertGreaterEqual(got[0], 400, got)
        # CivetWeb's own refusals are JSON too
        self.assertTrue(json.loads(got[2])["error"]["code"].startswith("webrtc."), got)


if __name__ == "__main__":
    unittest.main(verbosity=2)
