# SPDX-License-Identifier: Apache-2.0
"""Headless Chromium for the webrtc provider's tests, driven over the W3C
WebDriver protocol by Debian's chromedriver, spoken with urllib as
test_local_browser.py does (no Selenium), with what WebRTC needs: fake
camera and microphone, no permission prompt, and host candidates shown as
addresses (not mDNS names), since Janus cannot resolve .local names.

One chromedriver serves several sessions (each its own Chromium): the
publisher and the viewer."""
import base64
import functools
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import bctest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FIXTURES = os.path.join(bctest.SRCDIR, "tests", "fixtures", "webrtc")


def missing():
    out = []
    if CHROMIUM is None:
        out.append("chromium")
    if CHROMEDRIVER is None:
        out.append("chromium-driver")
    return out


class Driver:
    """One chromedriver process."""

    def __init__(self):
        self.port = bctest.free_port()
        self.proc = subprocess.Popen([CHROMEDRIVER, "--port=%d" % self.port],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = "http://127.0.0.1:%d" % self.port
        self.sessions = []
        deadline = time.monotonic() + 15
        while True:
            try:
                if self.call("GET", "/status")["value"].get("ready"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("chromedriver did not start")
            time.sleep(0.1)

    def call(self, method, path, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise RuntimeError("WebDriver %s %s: %s" % (method, path, e.read()[:800]))

    def browser(self):
        b = Browser(self)
        self.sessions.append(b)
        return b

    def close(self):
        for b in self.sessions:
            b.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Browser:
    """One Chromium, one window."""

    def __init__(self, driver):
        self.driver = driver
        self.sid = None
        self.profile = tempfile.mkdtemp(prefix="bc-chromium-")
        # Everything Chromium might reach for besides our loopback pages
        # (updates, DNS, probes) is pointed at nowhere. WebRTC's own
        # candidates use the machine's interface address (Janus gathers on
        # no loopback interface), which needs no name resolution.
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--mute-audio", "--autoplay-policy=no-user-gesture-required",
                "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-component-update",
                "--disable-domain-reliability", "--disable-sync", "--no-pings",
                "--dns-prefetch-disable",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                "--disable-features=WebRtcHideLocalIpsWithMdns",
                "--allow-loopback-in-peer-connection",
                "--user-data-dir=" + self.profile]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}}
        self.sid = driver.call("POST", "/session", caps)["value"]["sessionId"]

    def get(self, url):
        self.driver.call("POST", "/session/%s/url" % self.sid, {"url": url})

    def script(self, js, *args):
        """Run js (a function body); a returned Promise is awaited."""
        return self.driver.call("POST", "/session/%s/execute/sync" % self.sid,
                                {"script": js, "args": list(args)})["value"]

    def screenshot(self, path):
        png = self.driver.call("GET", "/session/%s/screenshot" % self.sid)["value"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))

    def close(self):
        try:
            if self.sid is not None:
                self.driver.call("DELETE", "/session/" + self.sid, timeout=20)
        except (OSError, RuntimeError):
            pass
        self.sid = None
        shutil.rmtree(self.profile, ignore_errors=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class PageServer:
    """tests/fixtures/webrtc/ over HTTP on loopback: the publisher page,
    from an origin other than the WHIP listener's (so CORS is exercised)."""

    def __init__(self):
        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=FIXTURES))
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name):
        return "http://127.0.0.1:%d/%s" % (self.port, name)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
