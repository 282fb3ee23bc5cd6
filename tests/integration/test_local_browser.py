# SPDX-License-Identifier: Apache-2.0
"""A person watching a stream: the real broadcastd with the local origin,
ffmpeg pushing a live stream, and the origin's player page (hls.js) loaded
in Debian's headless Chromium, driven over the W3C WebDriver protocol by
Debian's chromedriver (spoken here with urllib: no Selenium needed). The
test passes when the page's <video> element plays past currentTime 1 s.

Needs ffmpeg, chromium and chromium-driver; without them the test is
skipped (exit 77), except under CI=true, where a missing tool is a failure."""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import bctest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if shutil.which("ffmpeg") is None or CHROMIUM is None or CHROMEDRIVER is None:
    print("SKIP: needs ffmpeg, chromium and chromedriver "
          "(apt-get install ffmpeg chromium chromium-driver)")
    sys.exit(1 if os.environ.get("CI") == "true" else 77)

CONFIG = bctest.config(providers="""
- type: local
  listen: "127.0.0.1:@PORT1@"
  root: "@TMP@/hls"
""")


class WebDriver:
    """Just enough of W3C WebDriver: a session, navigate, run a script."""

    def __init__(self):
        self.port = bctest.free_port()
        self.profile = tempfile.mkdtemp(prefix="bc-chromium-")
        self.proc = subprocess.Popen([CHROMEDRIVER, "--port=%d" % self.port],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = "http://127.0.0.1:%d" % self.port
        self.sid = None
        deadline = time.monotonic() + 15
        while True:
            try:
                if self._call("GET", "/status")["value"].get("ready"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("chromedriver did not start")
            time.sleep(0.1)
        # The page and its stream are on loopback; everything else Chromium
        # might reach for (updates, DNS, probes) is pointed at nowhere, so
        # the test sends no traffic off the machine.
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--mute-audio", "--autoplay-policy=no-user-gesture-required",
                "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-component-update",
                "--disable-domain-reliability", "--disable-sync", "--no-pings",
                "--dns-prefetch-disable",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--proxy-server=http://127.0.0.1:9",
                "--user-data-dir=" + self.profile]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}}
        self.sid = self._call("POST", "/session", caps)["value"]["sessionId"]

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise RuntimeError("WebDriver %s %s: %s" % (method, path, e.read()[:500]))

    def get(self, url):
        self._call("POST", "/session/%s/url" % self.sid, {"url": url})

    def screenshot(self, path):
        png = self._call("GET", "/session/%s/screenshot" % self.sid)["value"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))

    def script(self, js):
        return self._call("POST", "/session/%s/execute/sync" % self.sid,
                          {"script": js, "args": []})["value"]

    def close(self):
        try:
            if self.sid is not None:
                self._call("DELETE", "/session/" + self.sid)
        except (OSError, RuntimeError):
            pass
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            shutil.rmtree(self.profile, ignore_errors=True)


class WatchInChromium(unittest.TestCase):
    def test_player_page_plays_live_stream(self):
        with bctest.Daemon(CONFIG) as d:
            status, _, body = d.request("POST", "/stream/start/", params={"type": "hls"})
            self.assertEqual(status, 200, body)
            ep = body["endpoint"]["HTTP"]
            sid = body["stream"]["id"]
            self.assertEqual(ep["watch_url"], ep["upload_url"])
            ff = subprocess.Popen(
                ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
                 "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
                 "-f", "lavfi", "-i", "sine=frequency=440", "-t", "25",
                 "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac",
                 "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "event",
                 "-method", "PUT", "-headers", "Authorization: Bearer " + ep["upload_token"],
                 ep["upload_url"] + ep["playlist"]],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            wd = None
            try:
                wd = WebDriver()
                # The page would retry until the playlist exists; waiting for
                # three segments (hls.js starts that far from the live edge)
                # just keeps the test short.
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    try:
                        with urllib.request.urlopen(ep["playback_url"], timeout=5) as r:
                            if r.read().count(b"#EXTINF") >= 3:
                                break
                    except urllib.error.HTTPError:
                        pass
                    time.sleep(0.2)
                wd.get(ep["watch_url"])
                # hls.js may seek to the live edge before anything plays, so a
                # large currentTime alone proves nothing: wait for the
                # 'playing' event, then for the clock to run on by over 1 s.
                state, started = None, None
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    state = wd.script(
                        "var v = document.querySelector('video');"
                        "return {t: v.currentTime, ready: v.readyState, paused: v.paused,"
                        " w: v.videoWidth, h: v.videoHeight,"
                        " status: document.getElementById('status').textContent,"
                        " error: v.error ? v.error.message : null};")
                    if state["status"] == "Playing" and state["ready"] >= 3:
                        if started is None:
                            started = state["t"]
                        elif state["t"] - started > 1:
                            break
                    time.sleep(0.25)
                self.assertIsNotNone(started, state)
                self.assertGreater(state["t"], 1, state)
                self.assertGreater(state["t"] - started, 1, state)
                self.assertFalse(state["paused"], state)
                self.assertEqual((state["w"], state["h"]), (320, 240), state)
                self.assertIsNone(state["error"], state)
                # For a person to look at when the test fails or is in doubt.
                wd.screenshot(os.path.join(d.tmp, "player.png"))
            finally:
                if wd is not None:
                    wd.close()
                ff.terminate()
                ff.communicate(timeout=10)
            status, _, body = d.request("POST", "/stream/stop/", params={"id": sid})
            self.assertEqual(status, 200, body)


if __name__ == "__main__":
    unittest.main(verbosity=2)
