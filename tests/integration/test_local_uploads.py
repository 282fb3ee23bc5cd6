# SPDX-License-Identifier: Apache-2.0
"""The local origin's upload rules through the real broadcastd (sqlite store,
http frontend, local provider), with a raw HTTP client: wrong or missing
tokens, path traversal (plain and percent-encoded), wrong extensions and
oversize bodies are refused with nothing written; stop closes uploads and
ends the playlist; across a daemon restart the host resumes a live stream and
its token works again, while a stopped one's stays refused (the provider keeps
no state file: issue 18); the retention deletes a stopped stream's files; the
player page is served."""
import http.client
import os
import shutil
import tempfile
import time
import unittest

import bctest

def config(retention):
    return bctest.config(providers="""
- type: local
  listen: "127.0.0.1:@PORT1@"
  root: "@TMP@/hls"
  max_segment_bytes: 64k
  retention: %s
""" % retention)


CONFIG = config("2s")

PLAYLIST = b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nseg0.ts\n"


def origin(d, method, path, body=None, token=None, headers=None):
    """One request to the origin's listener; returns (status, headers, body)."""
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = "Bearer " + token
    conn = http.client.HTTPConnection("127.0.0.1", d.ports[0], timeout=10)
    try:
        # skip_host etc. are not needed; the path is sent exactly as given.
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in h.items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        if body is not None:
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the origin may refuse before reading the body
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


class LocalUploads(unittest.TestCase):
    def start(self, d):
        status, _, body = d.request("POST", "/stream/start/", params={"type": "hls"})
        self.assertEqual(status, 200, body)
        return body["stream"]["id"], body["endpoint"]["HTTP"]

    def files(self, d, sid):
        folder = os.path.join(d.tmp, "hls", sid)
        return sorted(f for f in os.listdir(folder) if not f.startswith("."))

    def test_refusals_write_nothing(self):
        with bctest.Daemon(CONFIG) as d:
            sid, ep = self.start(d)
            other, ep2 = self.start(d)
            tok = ep["upload_token"]
            p = "/live/%s/" % sid
            # Tokens: missing, wrong, another stream's.
            st, hdrs, body = origin(d, "PUT", p + "seg0.ts", b"x")
            self.assertEqual(st, 401, body)
            self.assertIn("bearer", hdrs["www-authenticate"].lower())
            self.assertIn(b'"code":"local.no_token"', body)
            self.assertEqual(origin(d, "PUT", p + "seg0.ts", b"x", token="wrong")[0], 401)
            self.assertEqual(origin(d, "PUT", p + "seg0.ts", b"x", token=tok[:-1])[0], 401)
            self.assertEqual(origin(d, "PUT", p + "seg0.ts", b"x",
                                    token=ep2["upload_token"])[0], 401)
            # Traversal, plain and encoded, into the other stream or out of root.
            for path in (p + "../%s/seg0.ts" % other,
                         p + "%2e%2e/" + other + "/seg0.ts",
                         p + "%2E%2E%2F" + other + "%2Fseg0.ts",
                         p + "..%2f..%2fevil.ts",
                         "/live/../live/%s/seg0.ts" % sid,
                         p + ".stream",
                         p + "sub/seg0.ts"):
                st, _, body = origin(d, "PUT", path, b"evil", token=tok)
                self.assertTrue(400 <= st < 500, "%s: %d %s" % (path, st, body))
            # Wrong extensions.
            for name in ("x.sh", "x.html", "index", "x.m3u8.php"):
                st, _, body = origin(d, "PUT", p + name, b"evil", token=tok)
                self.assertEqual(st, 415, name)
                self.assertIn(b"local.bad_extension", body)
            # Oversize: declared, and over the limit by one byte.
            st, _, body = origin(d, "PUT", p + "big.ts", b"\0" * (64 * 1024 + 1), token=tok)
            self.assertEqual(st, 413, body)
            self.assertIn(b"local.too_large", body)
            # Not even a folder: a start makes none, and a refused upload
            # neither (issue 24: the first accepted upload makes it).
            self.assertEqual(os.listdir(os.path.join(d.tmp, "hls")), [])
            # The limit itself is fine.
            self.assertEqual(origin(d, "PUT", p + "big.ts", b"\0" * (64 * 1024), token=tok)[0], 201)
            self.assertEqual(self.files(d, sid), ["big.ts"])
            self.assertNotIn(tok, d.log_text())

    def test_stop_ends_playlist_and_retention_removes(self):
        with bctest.Daemon(CONFIG) as d:
            sid, ep = self.start(d)
            tok = ep["upload_token"]
            p = "/live/%s/" % sid
            self.assertEqual(origin(d, "PUT", p + "seg0.ts", b"\x47" * 188, token=tok)[0], 201)
            self.assertEqual(origin(d, "PUT", p + "index.m3u8", PLAYLIST, token=tok)[0], 201)
            st, hdrs, body = origin(d, "GET", p)
            self.assertEqual(st, 200)
            self.assertTrue(hdrs["content-type"].startswith("text/html"))
            self.assertIn(b"/player/hls.light.min.js", body)
            st, hdrs, body = origin(d, "GET", "/player/hls.light.min.js")
            self.assertEqual(st, 200)
            self.assertGreater(len(body), 100000)

            status, _, body = d.request("POST", "/stream/stop/", params={"id": sid})
            self.assertEqual(status, 200, body)
            st, _, body = origin(d, "PUT", p + "seg1.ts", b"x", token=tok)
            self.assertEqual(st, 403, body)
            self.assertIn(b"local.stream_stopped", body)
            self.assertEqual(self.files(d, sid), ["index.m3u8", "seg0.ts"])
            st, _, body = origin(d, "GET", p + "index.m3u8")
            self.assertEqual(st, 200)
            self.assertEqual(body, PLAYLIST + b"#EXT-X-ENDLIST\n")
            # retention: 2s, then the folder is gone and playback is 404.
            deadline = time.monotonic() + 10
            while os.path.exists(os.path.join(d.tmp, "hls", sid)) and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertFalse(os.path.exists(os.path.join(d.tmp, "hls", sid)))
            self.assertEqual(origin(d, "GET", p + "index.m3u8")[0], 404)

    def test_restart_keeps_live_stream_uploadable(self):
        # Two daemons in turn on one store and one root (each with its own
        # temp dir and ports), as across a restart.
        shared = tempfile.mkdtemp(prefix="bc-local-restart-")
        text = bctest.config(store="type: sqlite\npath: %s/streams.db\n" % shared,
                             providers="""
- type: local
  listen: "127.0.0.1:@PORT1@"
  root: "%s/hls"
  retention: 1h
""" % shared)
        try:
            with bctest.Daemon(text) as d:
                sid, ep = self.start(d)
                stopped, ep2 = self.start(d)
                self.assertEqual(origin(d, "PUT", "/live/%s/index.m3u8" % stopped, PLAYLIST,
                                        token=ep2["upload_token"])[0], 201)
                self.assertEqual(d.request("POST", "/stream/stop/", params={"id": stopped})[0],
                                 200)
            # What the provider left on disk: the stopped one's folder with
            # its stop marker, no state file (the store is the record), and
            # no folder for the live one, never uploaded to (issue 24: the
            # first upload makes it).
            hls = os.path.join(shared, "hls")
            self.assertFalse(os.path.exists(os.path.join(hls, sid)))
            self.assertEqual(sorted(os.listdir(os.path.join(hls, stopped))),
                             [".stopped", "index.m3u8"])
            with bctest.Daemon(text) as d2:
                log = d2.log_text()
                self.assertIn("found 1 stream folder(s) in %s, 1 of them stopped" % hls, log)
                # the host resumed the live one, and only it
                self.assertIn("stream %s: resumed, uploads open" % sid, log)
                self.assertNotIn("stream %s: resumed" % stopped, log)
                self.assertIn("resumed 1 live stream(s)", log)
                p = "/live/%s/" % sid
                self.assertEqual(origin(d2, "PUT", p + "seg0.ts", b"x",
                                        token=ep["upload_token"])[0], 201)
                self.assertEqual(origin(d2, "PUT", p + "seg1.ts", b"x", token="nope")[0], 401)
                # the stopped stream's token stays refused; it stays playable
                st, _, body = origin(d2, "PUT", "/live/%s/seg0.ts" % stopped, b"x",
                                     token=ep2["upload_token"])
                self.assertEqual(st, 401, body)
                st, _, body = origin(d2, "GET", "/live/%s/index.m3u8" % stopped)
                self.assertEqual((st, body), (200, PLAYLIST + b"#EXT-X-ENDLIST\n"))
                status, _, body = d2.request("POST", "/stream/stop/", params={"id": sid})
                self.assertEqual(status, 200, body)
                self.assertEqual(origin(d2, "PUT", p + "seg2.ts", b"x",
                                        token=ep["upload_token"])[0], 403)
                self.assertNotIn(ep["upload_token"], d2.log_text())
            self.assertFalse(os.path.exists(os.path.join(hls, sid, ".stream")))
        finally:
            shutil.rmtree(shared, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
