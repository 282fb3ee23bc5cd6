# SPDX-License-Identifier: Apache-2.0
"""The rtmp provider end to end (issue 22): the real broadcastd with the rtmp
provider, the real nginx with libnginx-mod-rtmp running the nginx.conf of
docs/providers/rtmp.md (only its ports and folders changed), and ffmpeg
publishing to the endpoint's url + "/" + stream_key.

nginx, its RTMP module, ffmpeg and ffprobe are required: CI installs them
(.ci/build), so a missing one fails the test instead of skipping it."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import bctest

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
DOC = os.path.join(bctest.SRCDIR, "docs", "providers", "rtmp.md")

missing = [t for t in ("ffmpeg", "ffprobe") if shutil.which(t) is None]
if not os.access(NGINX, os.X_OK):
    missing.append("nginx")
if not os.path.exists(RTMP_MODULE):
    missing.append("libnginx-mod-rtmp (%s)" % RTMP_MODULE)
if missing:
    print("FAIL: needs %s (apt-get install nginx libnginx-mod-rtmp ffmpeg)" % ", ".join(missing))
    sys.exit(1)


def doc_nginx_conf():
    """The one ```nginx block of docs/providers/rtmp.md."""
    with open(DOC) as f:
        blocks = re.findall(r"^```nginx\n(.*?)^```", f.read(), re.M | re.S)
    assert len(blocks) == 1, "docs/providers/rtmp.md must hold exactly one nginx block"
    return blocks[0]


def wait_port(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("nginx exited with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nothing listens on %d after %.0f s" % (port, timeout))


class Nginx:
    """nginx in the foreground on the documented config, with free loopback
    ports and a temp prefix."""

    def __init__(self, callback_port):
        self.rtmp_port = bctest.free_port()
        self.http_port = bctest.free_port()
        self.prefix = tempfile.mkdtemp(prefix="bctest-nginx-")
        # The worker runs as www-data when nginx starts as root: it must
        # reach the prefix and write the HLS folder.
        os.chmod(self.prefix, 0o755)
        os.makedirs(os.path.join(self.prefix, "hls"))
        os.makedirs(os.path.join(self.prefix, "logs"))
        if os.geteuid() == 0:
            import pwd
            pw = pwd.getpwnam("www-data")
            os.chown(os.path.join(self.prefix, "hls"), pw.pw_uid, pw.pw_gid)
        conf = doc_nginx_conf()
        for old, new in (("1935", str(self.rtmp_port)), ("8088", str(self.http_port)),
                         ("8082", str(callback_port)),
                         ("/var/lib/nginx/rtmp", self.prefix),
                         ("/var/log/nginx", os.path.join(self.prefix, "logs"))):
            assert old in conf, old
            conf = conf.replace(old, new)
        self.conf = os.path.join(self.prefix, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.log_path = os.path.join(self.prefix, "logs", "stderr.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [NGINX, "-p", self.prefix, "-c", self.conf, "-e", "stderr",
             "-g", "daemon off; pid %s/nginx.pid;" % self.prefix],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            wait_port(self.rtmp_port, self.proc)
            wait_port(self.http_port, self.proc)
        except AssertionError:
            self.stop()
            raise AssertionError("nginx did not start:\n" + self.log_text())

    @property
    def rtmp_url(self):
        return "rtmp://127.0.0.1:%d/live" % self.rtmp_port

    @property
    def control_url(self):
        return "http://127.0.0.1:%d/control" % self.http_port

    @property
    def hls_base_url(self):
        return "http://127.0.0.1:%d/hls" % self.http_port

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        shutil.rmtree(self.prefix, ignore_errors=True)


def daemon_config(nginx, callback_port, control=True, extra=""):
    return bctest.config(providers="""
- type: rtmp
  rtmp_url: "%s"
  callback_listen: "127.0.0.1:%d"
  hls_base_url: "%s"
  notify_update_timeout: 5s
%s%s""" % (nginx.rtmp_url, callback_port, nginx.hls_base_url,
           '  control_url: "%s"\n' % nginx.control_url if control else "", extra))


def publish(url, seconds, pattern="testsrc"):
    """The doc's ffmpeg command, small and short."""
    return subprocess.Popen(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
         "-re", "-f", "lavfi", "-i", "%s=size=320x240:rate=25" % pattern,
         "-f", "lavfi", "-i", "sine=frequency=440", "-t", str(seconds),
         "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
         "-c:a", "aac", "-f", "flv", url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def refused(url, timeout=15):
    """ffmpeg cannot publish to url: it fails well before its 10 s."""
    p = publish(url, 10)
    out, err = p.communicate(timeout=timeout)
    return p.returncode != 0, err


class Rtmp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.callback_port = bctest.free_port()
        cls.nginx = Nginx(cls.callback_port)

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()

    def daemon(self, **kw):
        return bctest.Daemon(daemon_config(self.nginx, self.callback_port, **kw))

    def start(self, d):
        status, _, body = d.request("POST", "/stream/start/", params={"type": "rtmp"})
        self.assertEqual(status, 200, body)
        return body["stream"]["id"], body["endpoint"]["RTMP"]

    def media(self, d, sid):
        status, _, body = d.request("GET", "/streams/" + sid)
        self.assertEqual(status, 200, body)
        return body["stream"]

    def wait_media(self, d, sid, want, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rec = self.media(d, sid)
            if rec.get("media") == want:
                return rec
            time.sleep(0.1)
        self.fail("media of %s not %s after %.0f s: %r\nnginx:\n%s" % (
            sid, want, timeout, self.media(d, sid), self.nginx.log_text()[-3000:]))

    def events(self, d, sid):
        status, _, body = d.request("GET", "/events?after=0&limit=1000")
        self.assertEqual(status, 200, body)
        return [e for e in body["events"] if e["stream"]["id"] == sid]

    def wait_event(self, d, sid, want, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.events(d, sid)
            if any(e["type"] == want for e in got):
                return got
            time.sleep(0.1)
        self.fail("no %s for %s in %.0f s: %r" % (want, sid, timeout, self.events(d, sid)))

    def test_publish_play_and_refusals(self):
        with self.daemon() as d:
            sid, ep = self.start(d)
            self.assertEqual(set(ep), {"url", "stream_key", "playback_url", "expires_in"})
            self.assertEqual(ep["url"], self.nginx.rtmp_url)
            self.assertRegex(ep["stream_key"], r"^[A-Za-z0-9_-]{43}$")  # 256 bits
            self.assertEqual(ep["playback_url"], "%s/%s.m3u8" % (self.nginx.hls_base_url, sid))
            self.assertEqual(ep["expires_in"], 12 * 3600)
            self.assertEqual(self.media(d, sid)["media"], "idle")
            url = ep["url"] + "/" + ep["stream_key"]

            pub = publish(url, 8)
            try:
                rec = self.wait_media(d, sid, "publishing")
                self.assertIsNotNone(rec["publish_date"])
                # One publisher at a time: a second one with the same key fails.
                bad, err = refused(url)
                self.assertTrue(bad, "a second publisher was let in")
                self.assertIn("refused for key", d.log_text())
                self.assertIn("another publisher holds the stream", d.log_text())
                self.assertIsNone(pub.poll(), "the first publisher was cut by the second")
                # A wrong key of the right shape fails.
                bad, _ = refused(ep["url"] + "/" + "A" * 43)
                self.assertTrue(bad, "a wrong key was let in")
                self.assertIn("no live stream has this key", d.log_text())
                # HLS under the stream id, never the key.
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    p = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                                        "stream=codec_type", "-of", "csv=p=0",
                                        ep["playback_url"]],
                                       capture_output=True, text=True, timeout=20)
                    if p.returncode == 0:
                        break
                    time.sleep(0.5)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(sorted(set(p.stdout.split())), ["audio", "video"])
                files = os.listdir(os.path.join(self.nginx.prefix, "hls"))
                self.assertIn(sid + ".m3u8", files)
                self.assertEqual([f for f in files if ep["stream_key"] in f], [])
            finally:
                out, err = pub.communicate(timeout=30)
            self.assertEqual(pub.returncode, 0, err)
            rec = self.wait_media(d, sid, "idle")
            events = self.wait_event(d, sid, "stream.idle")
            self.assertEqual([e["type"] for e in events],
                             ["stream.started", "stream.publishing", "stream.idle"])
            self.assertEqual(events[2]["cause"], "gone")

            # The key works again while the stream is live...
            pub = publish(url, 2)
            self.wait_media(d, sid, "publishing")
            pub.communicate(timeout=30)
            self.assertEqual(pub.returncode, 0)
            self.wait_media(d, sid, "idle")
            # ...and never after its stop.
            status, _, body = d.request("POST", "/stream/stop/", params={"id": sid})
            self.assertEqual(status, 200, body)
            bad, _ = refused(url)
            self.assertTrue(bad, "a stopped stream's key was let in")

            log = d.log_text()
            self.assertNotIn(ep["stream_key"], log)
            self.assertNotIn(ep["stream_key"], self.nginx.log_text())
            self.assertIn("stream %s: key " % sid, log)

    def test_stop_cuts_the_publisher(self):
        with self.daemon() as d:
            sid, ep = self.start(d)
            url = ep["url"] + "/" + ep["stream_key"]
            pub = publish(url, 60)
            try:
                self.wait_media(d, sid, "publishing")
                t0 = time.monotonic()
                status, _, body = d.request("POST", "/stream/stop/", params={"id": sid})
                self.assertEqual(status, 200, body)
                self.assertIsNotNone(body["stream"]["stop_date"])
                pub.communicate(timeout=2)
                self.assertLess(time.monotonic() - t0, 2.0)
            finally:
                pub.kill()
                pub.communicate()
            self.assertIsNotNone(self.media(d, sid)["stop_date"])
            bad, _ = refused(url)
            self.assertTrue(bad, "a stopped stream's key was let in")

    def test_without_control_url_on_update_cuts_the_publisher(self):
        with self.daemon(control=False) as d:
            sid, ep = self.start(d)
            url = ep["url"] + "/" + ep["stream_key"]
            pub = publish(url, 60)
            try:
                self.wait_media(d, sid, "publishing")
                t0 = time.monotonic()
                status, _, body = d.request("POST", "/stream/stop/", params={"id": sid})
                self.assertEqual(status, 200, body)
                # nginx.conf's notify_update_timeout is 5 s: the next update is refused.
                pub.communicate(timeout=8)
                self.assertLess(time.monotonic() - t0, 7.0)
            finally:
                pub.kill()
                pub.communicate()

    def test_idle_timeout_after_the_publisher_leaves(self):
        with self.daemon(extra="  idle_timeout: 3s\n") as d:
            sid, ep = self.start(d)
            pub = publish(ep["url"] + "/" + ep["stream_key"], 2)
            self.wait_media(d, sid, "publishing", timeout=3)
            pub.communicate(timeout=30)
            self.assertEqual(pub.returncode, 0)
            events = self.wait_event(d, sid, "stream.stopped", timeout=10)
            self.assertEqual([e["type"] for e in events],
                             ["stream.started", "stream.publishing", "stream.idle",
                              "stream.stopped"])
            self.assertEqual(events[-1]["reason"], "idle_timeout")
            self.assertEqual(self.media(d, sid)["stop_reason"], "idle_timeout")
            bad, _ = refused(ep["url"] + "/" + ep["stream_key"])
            self.assertTrue(bad)


if __name__ == "__main__":
    unittest.main(verbosity=2)
