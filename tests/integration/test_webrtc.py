# SPDX-License-Identifier: Apache-2.0
"""The webrtc provider end to end (issue 23): the real broadcastd with the
webrtc provider, the real Janus (Debian's janus, its VideoRoom plugin) on a
generated minimal configuration with an api_secret and a VideoRoom
admin_key, and headless Chromium publishing over WHIP (our own small page,
tests/fixtures/webrtc/whip_publish.html) and watching through the
provider's watch page.

janus, chromium and chromium-driver are required: CI installs them, so a
missing one fails the test instead of skipping it. Chromium makes the
suite heavy (about a minute), so it runs once per CI run: when the
environment variable BC_SLOW_SUITES is unset (a plain `make check`) or
lists "webrtc" (or "all"); the CI's ASan and distcheck passes set it to
"none" and the suite is skipped there (exit 77)."""
import json
import os
import signal
import sys
import time
import unittest
import urllib.request

import bctest

_slow = os.environ.get("BC_SLOW_SUITES")
if _slow is not None and not ({"webrtc", "all"} & set(_slow.replace(",", " ").split())):
    print("SKIP: BC_SLOW_SUITES=%r does not list webrtc" % _slow)
    sys.exit(77)

import janus_runner  # noqa: E402
import webrtc_browser  # noqa: E402

_missing = janus_runner.missing() + webrtc_browser.missing()
if _missing:
    print("FAIL: needs %s (apt-get install janus chromium chromium-driver)" % ", ".join(_missing))
    sys.exit(1)
ICE_IP = janus_runner.ice_address()
if ICE_IP is None:
    print("FAIL: no non-loopback IPv4 address: Janus gathers ICE candidates on none other")
    sys.exit(1)

SECRETS = (janus_runner.Janus.API_SECRET, janus_runner.Janus.ADMIN_SECRET,
           janus_runner.Janus.ADMIN_KEY)


def config(janus):
    return bctest.config(providers="""
- type: webrtc
  janus_url: "%s"
  janus_api_secret: "%s"
  janus_admin_key: "%s"
  janus_timeout: 5s
  listen: "127.0.0.1:@PORT1@"
  ice_servers: ["stun:stun.invalid:3478"]
""" % (janus.url, janus.API_SECRET, janus.ADMIN_KEY))


def raw_request(method, url, body=None, headers=None, timeout=15):
    """(status, headers, text) of one request, errors included."""
    req = urllib.request.Request(url, data=body.encode() if isinstance(body, str) else body,
                                 method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()


class WebRTCEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.seen = []  # every response body and header broadcastd gave
        cls.janus = janus_runner.Janus(ICE_IP).start()
        cls.daemon = bctest.Daemon(config(cls.janus))
        cls.daemon.start()
        cls.pages = webrtc_browser.PageServer()
        cls.driver = webrtc_browser.Driver()
        cls.pub = cls.driver.browser()
        cls.pub.get(cls.pages.url("whip_publish.html"))

    @classmethod
    def tearDownClass(cls):
        for x in ("driver", "pages"):
            if hasattr(cls, x):
                getattr(cls, x).close()
        try:
            cls.daemon.stop()
        finally:
            cls.daemon.kill()
            cls.janus.cleanup()

    # -- helpers ---------------------------------------------------------------------
    def api(self, method, path, params=None):
        status, headers, body = self.daemon.request(method, path, params=params)
        self.seen.append(json.dumps(body) + json.dumps(headers))
        return status, body

    def whip(self, method, url, body=None, headers=None):
        status, headers, text = raw_request(method, url, body, headers)
        self.seen.append(text + json.dumps(headers))
        return status, headers, text

    def start_stream(self):
        status, body = self.api("POST", "/stream/start/", {"type": "webrtc"})
        self.assertEqual(status, 200, body)
        return body["stream"]["id"], body["endpoint"]["WebRTC"]

    def room_of(self, sid):
        rooms = [r for r in self.janus.rooms().values() if r.get("description") == sid]
        return rooms[0]["room"] if rooms else None

    def media(self, sid):
        status, body = self.api("GET", "/streams/" + sid)
        self.assertEqual(status, 200, body)
        return body["stream"].get("media")

    def wait(self, what, fn, timeout=20.0, step=0.25):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(step)
        self.fail("%s: not after %.0f s (last %r)\nbroadcastd:\n%s\njanus:\n%s" % (
            what, timeout, last, self.daemon.log_text()[-3000:],
            self.janus.log_text()[-2000:]))

    def assert_error(self, got, status, code):
        self.assertEqual(got[0], status, got)
        self.assertEqual(json.loads(got[2])["error"]["code"], code, got)

    # -- the scenario ----------------------------------------------------------------
    def test_1_publish_watch_refuse_stop(self):
        sid, ep = self.start_stream()
        self.assertEqual(set(ep), {"whip_url", "bearer_token", "ice_servers", "expires_in",
                                   "watch_url"}, ep)
        self.assertTrue(ep["whip_url"].endswith("/whip/" + sid), ep)
        self.assertTrue(ep["watch_url"].endswith("/watch/" + sid), ep)
        self.assertEqual(ep["ice_servers"], [{"urls": "stun:stun.invalid:3478"}])
        room = self.room_of(sid)
        self.assertIsNotNone(room, self.janus.rooms())
        self.assertEqual(self.janus.rooms()[room]["max_publishers"], 1)

        # CORS preflight, as the browser sends it before its POST
        st, h, _ = self.whip("OPTIONS", ep["whip_url"], headers={
            "Origin": "http://127.0.0.1:%d" % self.pages.port,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        self.assertEqual(st, 204)
        self.assertEqual(h.get("access-control-allow-origin"), "*")
        self.assertIn("Authorization", h.get("access-control-allow-headers", ""))
        self.assertEqual(h.get("accept-post"), "application/sdp")

        # publish from Chromium
        res = self.pub.script("return bcPublish(arguments[0], arguments[1]);",
                              ep["whip_url"], ep["bearer_token"])
        self.assertEqual(res["status"], 201, res)
        self.assertIn("/whip/%s/" % sid, res["location"])
        self.assertTrue(res["etag"].startswith('"'), res)
        self.assertIn('rel="ice-server"', res["link"] or "")
        self.wait("publisher connected",
                  lambda: (self.pub.script("return bcState();") or {}).get("connection")
                  == "connected")
        self.wait("media publishing", lambda: self.media(sid) == "publishing")
        parts = self.janus.participants(room)
        self.assertEqual(len(parts), 1, parts)
        self.assertTrue(parts[0]["publisher"], parts)
        b1 = self.wait("bytes at Janus", lambda: self.janus.publisher_bytes(room))
        b2 = self.wait("bytes at Janus growing",
                       lambda: self.janus.publisher_bytes(room) > b1)
        self.assertTrue(b2)

        # refusals, with a real offer from the browser
        offer = self.pub.script("return bcOffer();")
        sdp_headers = {"Content-Type": "application/sdp",
                       "Authorization": "Bearer " + ep["bearer_token"]}
        self.assert_error(self.whip("POST", ep["whip_url"], offer, dict(
            sdp_headers, Authorization="Bearer wrong-token")), 401, "webrtc.bad_token")
        self.assert_error(self.whip("POST", ep["whip_url"], offer, {
            "Content-Type": "application/sdp"}), 401, "webrtc.bad_token")
        self.assert_error(self.whip("POST", ep["whip_url"], offer, sdp_headers),
                          409, "webrtc.publisher_exists")
        got = self.whip("POST", ep["whip_url"], "hello, this is not SDP\r\n", sdp_headers)
        self.assert_error(got, 400, "webrtc.bad_sdp")
        self.assertIn("SDP", json.loads(got[2])["error"]["message"])
        got = self.whip("POST", ep["whip_url"], "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n",
                        sdp_headers)
        self.assert_error(got, 400, "webrtc.bad_sdp")
        self.assertIn("m=", json.loads(got[2])["error"]["message"])
        self.assert_error(self.whip("POST", ep["whip_url"], offer, dict(
            sdp_headers, **{"Content-Type": "text/plain"})), 415, "webrtc.bad_content_type")
        # trickle: a stale ETag, then an end-of-candidates
        frag = "a=ice-ufrag:x\r\na=ice-pwd:y\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n" \
               "a=end-of-candidates\r\n"
        patch_headers = {"Content-Type": "application/trickle-ice-sdpfrag",
                         "Authorization": "Bearer " + ep["bearer_token"]}
        self.assert_error(self.whip("PATCH", res["location"], frag, dict(
            patch_headers, **{"If-Match": '"stale"'})), 412, "webrtc.etag_mismatch")
        st, _, text = self.whip("PATCH", res["location"], frag, dict(
            patch_headers, **{"If-Match": res["etag"]}))
        self.assertEqual(st, 204, text)
        # the publisher is still up after all that
        self.assertEqual(len(self.janus.participants(room)), 1)
        self.assertEqual(self.pub.script("return bcState();")["connection"], "connected")

        # a second Chromium plays the watch page
        viewer = self.driver.browser()
        viewer.get(ep["watch_url"])
        frames = self.wait("frames decoded by the viewer", lambda: viewer.script(
            "if (!window.bcPeer) return 0; return window.bcPeer.getStats().then(function (r) {"
            " var n = 0; r.forEach(function (s) { if (s.type === 'inbound-rtp' &&"
            " s.kind === 'video') n += s.framesDecoded || 0; }); return n; });"), timeout=25)
        self.assertGreater(frames, 0)
        viewer.screenshot(os.path.join(self.daemon.tmp, "viewer.png"))
        viewer.close()

        # stop: the room goes, the publisher's connection ends, events are there
        t0 = time.monotonic()
        status, body = self.api("POST", "/stream/stop/", {"id": sid})
        self.assertEqual(status, 200, body)
        self.assertNotIn(room, self.janus.rooms())
        self.wait("publisher's connection ended",
                  lambda: self.pub.script("return bcState();")["connection"]
                  in ("disconnected", "failed", "closed"), timeout=15)
        self.assertLess(time.monotonic() - t0, 15)
        status, body = self.api("GET", "/events?after=0&limit=1000")
        self.assertEqual(status, 200, body)
        types = [e["type"] for e in body["events"] if e["stream"]["id"] == sid]
        self.assertEqual(types[0], "stream.started", types)
        self.assertIn("stream.publishing", types)
        self.assertEqual(types[-1], "stream.stopped", types)
        # the stopped stream is gone from the listener
        self.assert_error(self.whip("POST", ep["whip_url"], offer, sdp_headers),
                          404, "webrtc.not_found")
        self.assert_error(self.whip("DELETE", res["location"], None, sdp_headers),
                          404, "webrtc.not_found")

    def test_2_delete_then_republish(self):
        sid, ep = self.start_stream()
        res = self.pub.script("return bcPublish(arguments[0], arguments[1]);",
                              ep["whip_url"], ep["bearer_token"])
        self.assertEqual(res["status"], 201, res)
        self.wait("media publishing", lambda: self.media(sid) == "publishing")
        auth = {"Authorization": "Bearer " + ep["bearer_token"]}
        st, _, text = self.whip("DELETE", res["location"], None, auth)
        self.assertEqual(st, 200, text)
        self.assertEqual(self.janus.participants(self.room_of(sid)), [])
        self.assert_error(self.whip("DELETE", res["location"], None, auth),
                          404, "webrtc.no_session")
        # a new session takes the freed place
        res = self.pub.script("return bcPublish(arguments[0], arguments[1]);",
                              ep["whip_url"], ep["bearer_token"])
        self.assertEqual(res["status"], 201, res)
        self.wait("publisher connected again",
                  lambda: (self.pub.script("return bcState();") or {}).get("connection")
                  == "connected")
        self.wait("media publishing again", lambda: self.media(sid) == "publishing")
        # the publisher hangs up without a DELETE: gone, and its place is free
        self.pub.script("bcHangup();")
        self.wait("media idle after the hangup", lambda: self.media(sid) == "idle")
        res = self.pub.script("return bcPublish(arguments[0], arguments[1]);",
                              ep["whip_url"], ep["bearer_token"])
        self.assertEqual(res["status"], 201, res)
        self.wait("media publishing after the hangup", lambda: self.media(sid) == "publishing")
        status, body = self.api("GET", "/events?after=0&limit=1000")
        types = [e["type"] for e in body["events"] if e["stream"]["id"] == sid]
        self.assertIn("stream.idle", types)
        status, body = self.api("POST", "/stream/stop/", {"id": sid})
        self.assertEqual(status, 200, body)

    def test_2b_restart_resumes(self):
        """broadcastd crashes while a stream is live: resume() takes the
        token and the room back from the meta; the room is still in Janus,
        held by the old publisher (its Janus session now orphaned), which a
        new WHIP POST with the token kicks out."""
        sid, ep = self.start_stream()
        res = self.pub.script("return bcPublish(arguments[0], arguments[1]);",
                              ep["whip_url"], ep["bearer_token"])
        self.assertEqual(res["status"], 201, res)
        self.wait("media publishing", lambda: self.media(sid) == "publishing")
        self.daemon.kill()  # SIGKILL: nothing closes the publisher's Janus session
        self.daemon._log.close()
        self.daemon.start()
        self.assertIn("stream %s: resumed" % sid, self.daemon.log_text())
        self.wait("media idle after the restart", lambda: self.media(sid) == "idle")
        room = self.room_of(sid)
        self.assertIsNotNone(room)
        # a wrong token is still refused, and the stream is still known
        self.assert_error(self.whip("POST", ep["whip_url"], "v=0\r\n", {
            "Content-Type": "application/sdp", "Authorization": "Bearer nope"}),
            401, "webrtc.bad_token")
        res = self.pub.script("return bcPublish(arguments[0], arguments[1]);",
                              ep["whip_url"], ep["bearer_token"])
        self.assertEqual(res["status"], 201, res)
        self.wait("publisher connected after the restart",
                  lambda: (self.pub.script("return bcState();") or {}).get("connection")
                  == "connected")
        self.assertEqual(len(self.janus.participants(room)), 1)
        self.assertIn("kicked a publisher left from before", self.daemon.log_text())
        self.wait("media publishing again", lambda: self.media(sid) == "publishing")
        status, body = self.api("POST", "/stream/stop/", {"id": sid})
        self.assertEqual(status, 200, body)
        self.assertIsNone(self.room_of(sid))

    def test_3_janus_down(self):
        sid, ep = self.start_stream()
        offer = self.pub.script("return bcOffer();")
        sdp_headers = {"Content-Type": "application/sdp",
                       "Authorization": "Bearer " + ep["bearer_token"]}
        # A Janus that hangs (stopped, its port still open): janus_timeout, then 503.
        os.kill(self.janus.proc.pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            got = self.whip("POST", ep["whip_url"], offer, sdp_headers)
            self.assert_error(got, 503, "webrtc.janus_unavailable")
            self.assertLess(time.monotonic() - t0, 9)
        finally:
            os.kill(self.janus.proc.pid, signal.SIGCONT)
        self.janus.stop()
        try:
            t0 = time.monotonic()
            got = self.whip("POST", ep["whip_url"], offer, sdp_headers)
            self.assert_error(got, 503, "webrtc.janus_unavailable")
            self.assertEqual(got[1].get("retry-after"), "2")
            status, body = self.api("POST", "/stream/start/", {"type": "webrtc"})
            self.assertEqual(status, 503, body)
            self.assertEqual(body["error"]["code"], "webrtc.janus_unavailable")
            self.assertLess(time.monotonic() - t0, 10)
            status, body = self.api("GET", "/streams/" + sid)
            self.assertEqual(status, 200, body)
        finally:
            self.janus.start()
        # Janus is back, without the room (it keeps rooms in memory): the
        # next publish makes it again.
        res = self.pub.script("return bcPublish(arguments[0], arguments[1]);",
                              ep["whip_url"], ep["bearer_token"])
        self.assertEqual(res["status"], 201, res)
        self.wait("media publishing after Janus came back",
                  lambda: self.media(sid) == "publishing")
        status, body = self.api("POST", "/stream/stop/", {"id": sid})
        self.assertEqual(status, 200, body)
        self.assertIsNone(self.room_of(sid))

    def test_4_secrets_never_leave(self):
        for text in self.seen + [self.daemon.log_text()]:
            for secret in SECRETS:
                self.assertNotIn(secret, text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
