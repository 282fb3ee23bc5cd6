# SPDX-License-Identifier: Apache-2.0
"""The local origin end to end with a real broadcaster: the real broadcastd
(sqlite store, http frontend, local provider), Debian's ffmpeg pushing HLS
over HTTP PUT to the upload_url a start returned, and playback checked with
plain HTTP GETs and ffprobe/ffmpeg decoding the playback_url.

Needs ffmpeg and ffprobe; without them the test is skipped (exit 77), except
under CI=true, where a missing tool is a failure."""
import json
import os
import shutil
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

import bctest

TOOLS = ("ffmpeg", "ffprobe")
if any(shutil.which(t) is None for t in TOOLS):
    print("SKIP: needs %s (apt-get install ffmpeg)" % " and ".join(TOOLS))
    sys.exit(1 if os.environ.get("CI") == "true" else 77)

CONFIG = bctest.config(providers="""
- type: local
  listen: "127.0.0.1:@PORT1@"
  root: "@TMP@/hls"
""")


def push_cmd(upload_url, token, seconds=5, pattern="testsrc"):
    """The README's ffmpeg command: testsrc + a sine tone, H.264 + AAC, 1 s
    HLS segments PUT to the origin with the stream's token."""
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
            "-re", "-f", "lavfi", "-i", "%s=size=320x240:rate=25" % pattern,
            "-f", "lavfi", "-i", "sine=frequency=440",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
            "-c:a", "aac", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "event",
            "-method", "PUT", "-headers", "Authorization: Bearer %s" % token,
            upload_url + "index.m3u8"]


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def http_put(url, body, token=None):
    req = urllib.request.Request(url, data=body, method="PUT")
    if token is not None:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def ffprobe(url):
    p = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                        "format=duration:stream=codec_type,codec_name", "-of", "json", url],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


class FfmpegToLocalOrigin(unittest.TestCase):
    def start(self, d, name):
        status, _, body = d.request("POST", "/stream/start/", params={"type": "hls", "name": name})
        self.assertEqual(status, 200, body)
        self.assertEqual(set(body), {"stream", "endpoint"}, body)
        self.assertEqual(set(body["stream"]), {"id", "name", "start_date"}, body)
        return body["stream"]["id"], body["endpoint"]["HTTP"]

    def check_playback(self, ep, sid):
        status, hdrs, playlist = http_get(ep["playback_url"])
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "application/vnd.apple.mpegurl")
        self.assertEqual(hdrs["access-control-allow-origin"], "*")
        text = playlist.decode()
        self.assertTrue(text.startswith("#EXTM3U"), text)
        self.assertIn("#EXT-X-ENDLIST", text)  # ffmpeg ends its playlist itself
        segments = [l for l in text.splitlines() if l and not l.startswith("#")]
        self.assertGreaterEqual(len(segments), 4, text)
        for seg in segments:
            status, hdrs, data = http_get(ep["upload_url"] + seg)
            self.assertEqual(status, 200, seg)
            self.assertEqual(hdrs["content-type"], "video/mp2t")
            self.assertEqual(int(hdrs["content-length"]), len(data))
            # MPEG-TS: 188-byte packets, each starting with the sync byte.
            self.assertEqual(len(data) % 188, 0, seg)
            self.assertTrue(all(data[i] == 0x47 for i in range(0, len(data), 188)), seg)
        probe = ffprobe(ep["playback_url"])
        kinds = sorted(s["codec_type"] for s in probe["streams"])
        self.assertEqual(kinds, ["audio", "video"], probe)
        self.assertGreaterEqual(float(probe["format"]["duration"]), 4.0, probe)
        # Every frame decodes.
        p = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-xerror",
                            "-i", ep["playback_url"], "-f", "null", "-"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.strip(), "")

    def test_two_ffmpeg_streams_then_stop(self):
        with bctest.Daemon(CONFIG) as d:
            id_a, ep_a = self.start(d, "cam-a")
            id_b, ep_b = self.start(d, "cam-b")
            base = "http://127.0.0.1:%d/live/" % d.ports[0]
            self.assertEqual(ep_a["upload_url"], base + id_a + "/")
            self.assertEqual(ep_a["playback_url"], base + id_a + "/index.m3u8")
            self.assertEqual(ep_a["playlist"], "index.m3u8")
            self.assertEqual(ep_a["method"], "PUT")
            self.assertIsInstance(ep_a["expires_in"], int)
            self.assertGreater(ep_a["expires_in"], 0)
            self.assertNotEqual(ep_a["upload_token"], ep_b["upload_token"])

            # Two broadcasters at once, each into its own stream.
            t0 = time.monotonic()
            procs = [subprocess.Popen(push_cmd(ep["upload_url"], ep["upload_token"],
                                               pattern=pat),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for ep, pat in ((ep_a, "testsrc"), (ep_b, "testsrc2"))]
            for p in procs:
                out, err = p.communicate(timeout=40)
                self.assertEqual(p.returncode, 0, err)
            self.assertLess(time.monotonic() - t0, 30)

            for sid, ep in ((id_a, ep_a), (id_b, ep_b)):
                self.check_playback(ep, sid)
            # Isolated: each folder holds its own files only, and one stream's
            # token does not open the other.
            root = os.path.join(d.tmp, "hls")
            self.assertEqual(sorted(os.listdir(root)), sorted([id_a, id_b]))
            _, _, pa = http_get(ep_a["playback_url"])
            _, _, sa = http_get(ep_a["upload_url"] + "index0.ts")
            _, _, sb = http_get(ep_b["upload_url"] + "index0.ts")
            self.assertNotEqual(sa, sb)
            self.assertEqual(http_put(ep_b["upload_url"] + "x.ts", b"x", ep_a["upload_token"]), 401)
            self.assertNotIn("x.ts", os.listdir(os.path.join(root, id_b)))

            # Stop A: its token is dead, B's still works, A stays playable.
            status, _, body = d.request("POST", "/stream/stop/", params={"id": id_a})
            self.assertEqual(status, 200, body)
            self.assertIsNotNone(body["stream"]["stop_date"])
            self.assertIn(http_put(ep_a["upload_url"] + "index9.ts", b"x", ep_a["upload_token"]),
                          (401, 403))
            self.assertNotIn("index9.ts", os.listdir(os.path.join(root, id_a)))
            # ffmpeg itself carries on (its hls muxer only warns when a segment
            # upload fails), so judge by what the origin kept: nothing new.
            before = {f: os.path.getmtime(os.path.join(root, id_a, f))
                      for f in os.listdir(os.path.join(root, id_a))}
            subprocess.run(push_cmd(ep_a["upload_url"], ep_a["upload_token"], seconds=2),
                           capture_output=True, text=True, timeout=30)
            after_files = {f: os.path.getmtime(os.path.join(root, id_a, f))
                           for f in os.listdir(os.path.join(root, id_a))}
            self.assertEqual(after_files, before)
            self.assertEqual(http_put(ep_b["upload_url"] + "extra.ts", b"x", ep_b["upload_token"]),
                             201)
            status, _, after = http_get(ep_a["playback_url"])
            self.assertEqual(status, 200)
            self.assertEqual(after, pa)
            self.assertTrue(after.decode().rstrip().endswith("#EXT-X-ENDLIST"))

            # No token in the daemon's log; its fingerprint is there.
            log = d.log_text()
            for ep in (ep_a, ep_b):
                self.assertNotIn(ep["upload_token"], log)
            self.assertIn("upload open at " + ep_a["upload_url"], log)



# idle_after 2s against ffmpeg's 1 s segments: a second of slack for a
# loaded machine (the watcher reports idle exactly idle_after after the last
# upload since issue 24; it used to tick every 250 ms, which was the slack).
MEDIA_CONFIG = bctest.config(providers="""
- type: local
  listen: "127.0.0.1:@PORT1@"
  root: "@TMP@/hls"
  idle_after: 2s
  idle_timeout: 4s
- name: capped
  type: local
  listen: "127.0.0.1:@PORT2@"
  root: "@TMP@/hls2"
  idle_after: 2s
  max_duration: 3s
""")


def feed(d, sid, want_type, timeout=30.0):
    """The stream's events once one of type want_type is in the feed."""
    deadline = time.monotonic() + timeout
    after = 0
    got = []
    while time.monotonic() < deadline:
        status, _, body = d.request("GET", "/events?after=%d&limit=1000&wait=2" % after,
                                    timeout=30)
        assert status == 200, body
        got += [e for e in body["events"] if e["stream"]["id"] == sid]
        after = body["next"]
        if any(e["type"] == want_type for e in got):
            return got
    raise AssertionError("no %s event for %s in %.0f s: %r" % (want_type, sid, timeout, got))


class FfmpegMediaState(unittest.TestCase):
    """Issue 18 with a real broadcaster: ffmpeg's uploads make the stream
    publishing, their end makes it idle, and idle_timeout stops it; a
    stream still publishing is stopped by max_duration."""

    def test_publish_idle_and_idle_timeout(self):
        with bctest.Daemon(MEDIA_CONFIG) as d:
            status, _, body = d.request("POST", "/stream/start/",
                                        params={"type": "hls", "name": "cam"})
            self.assertEqual(status, 200, body)
            sid, ep = body["stream"]["id"], body["endpoint"]["HTTP"]
            self.assertEqual(set(body["stream"]), {"id", "name", "start_date"})
            status, _, rec = d.request("GET", "/streams/" + sid)
            self.assertEqual(rec["stream"]["media"], "idle")
            push = subprocess.Popen(push_cmd(ep["upload_url"], ep["upload_token"], seconds=4),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                feed(d, sid, "stream.publishing", timeout=20)
                status, _, rec = d.request("GET", "/streams/" + sid)
                self.assertEqual(rec["stream"]["media"], "publishing")
                self.assertIsNotNone(rec["stream"]["publish_date"])
                status, _, lst = d.request("GET", "/streams?media=publishing")
                self.assertIn(sid, [r["id"] for r in lst["streams"]])
            finally:
                push.communicate(timeout=60)
            self.assertEqual(push.returncode, 0)
            events = feed(d, sid, "stream.stopped", timeout=40)
            self.assertEqual([e["type"] for e in events],
                             ["stream.started", "stream.publishing", "stream.idle",
                              "stream.stopped"])
            self.assertEqual([e["seq"] for e in events], [1, 2, 3, 4])
            cursors = [e["cursor"] for e in events]
            self.assertEqual(cursors, sorted(set(cursors)))
            self.assertEqual(events[2]["cause"], "idle")
            self.assertEqual(events[3]["reason"], "idle_timeout")
            status, _, rec = d.request("GET", "/streams/" + sid)
            self.assertEqual(rec["stream"]["stop_reason"], "idle_timeout")
            self.assertIsNotNone(rec["stream"]["stop_date"])

    def test_max_duration_stops_a_publishing_stream(self):
        with bctest.Daemon(MEDIA_CONFIG) as d:
            status, _, body = d.request("POST", "/stream/start/",
                                        params={"type": "hls", "provider": "capped"})
            self.assertEqual(status, 200, body)
            sid, ep = body["stream"]["id"], body["endpoint"]["HTTP"]
            push = subprocess.Popen(push_cmd(ep["upload_url"], ep["upload_token"], seconds=8),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                events = feed(d, sid, "stream.stopped", timeout=30)
            finally:
                push.kill()
                push.communicate(timeout=30)
            types = [e["type"] for e in events]
            self.assertEqual(types[0], "stream.started")
            self.assertIn("stream.publishing", types)
            self.assertEqual(types[-1], "stream.stopped")
            self.assertEqual(events[-1]["reason"], "max_duration")
            # still publishing when it was stopped: no idle in between
            self.assertEqual(types[-2], "stream.publishing")
            self.assertEqual(events[-1]["stream"]["media"], "publishing")
            self.assertEqual([e["seq"] for e in events], list(range(1, len(events) + 1)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
