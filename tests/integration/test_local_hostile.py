# SPDX-License-Identifier: Apache-2.0
"""Hostile requests to the local origin through the real broadcastd (issue
17), sent as exact bytes on a raw socket so that no client library
normalises them first: NUL and percent-encoded slashes, backslashes and dots
in paths (for every method and route), a body without framing (411), a body
trickled past request_timeout (408), nosniff on every response, and a
health answer that names no server path. Each case asserts the exact status
and code, that nothing was stored, and that the daemon still answers."""
import json
import os
import shutil
import socket
import unittest

import bctest

CONFIG = bctest.config(providers="""
- type: local
  listen: "127.0.0.1:@PORT1@"
  root: "@TMP@/hls"
  request_timeout: 2s
""")


def raw(d, data, trickle=None, timeout=10.0):
    """bctest.raw_http to the origin: (status, headers, body, seconds)."""
    return bctest.raw_http(d.ports[0], data, trickle=trickle, timeout=timeout)


def request(method, path, token=None, body=b"", version="1.1", extra=b""):
    h = b"%s %s HTTP/%s\r\nHost: 127.0.0.1\r\nConnection: close\r\n" % (
        method.encode(), path if isinstance(path, bytes) else path.encode(), version.encode())
    if token is not None:
        h += b"Authorization: Bearer " + token.encode() + b"\r\n"
    if body is not None:
        h += b"Content-Length: %d\r\n" % len(body)
    return h + extra + b"\r\n" + (body or b"")


class LocalHostile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = bctest.Daemon(CONFIG).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.kill()

    def start(self):
        status, _, body = self.d.request("POST", "/stream/start/", params={"type": "hls"})
        self.assertEqual(status, 200, body)
        return body["stream"]["id"], body["endpoint"]["HTTP"]["upload_token"]

    def folder(self, sid):
        return os.path.join(self.d.tmp, "hls", sid)

    def files(self, sid):
        # A stream nobody uploaded to has no folder yet (issue 24).
        if not os.path.isdir(self.folder(sid)):
            return []
        return sorted(os.listdir(self.folder(sid)))

    def assert_error(self, got, status, code):
        st, hdrs, body, _ = got
        self.assertEqual(st, status, body)
        self.assertEqual(hdrs.get("x-content-type-options"), "nosniff")
        if body:
            err = json.loads(body)["error"]
            self.assertEqual(err["code"], code, body)
            self.assertNotIn(self.d.tmp, err["message"])

    def assert_alive(self):
        self.assertIsNone(self.d.proc.poll(), self.d.log_text()[-2000:])
        st, _, body, _ = raw(self.d, request("GET", "/player/hls.js-LICENSE", body=None))
        self.assertEqual(st, 200, body)
        self.assertEqual(self.d.request("GET", "/healthz")[0], 200)

    def test_raw_paths(self):
        sid, tok = self.start()
        other, _ = self.start()
        st = raw(self.d, request("PUT", "/live/%s/index.m3u8" % sid, tok, b"#EXTM3U\n"))[0]
        self.assertEqual(st, 201)
        before = self.files(sid)
        p = "/live/%s/" % sid
        bad = [p + "nul.ts%00.m3u8", p + "index.m3u8%00.ts", "/live/%s%%2findex.m3u8" % sid,
               "/live/%s%%2Findex.m3u8" % sid, p + "..%5c" + other + "%5cindex.m3u8",
               p + "%2e%2e/" + other + "/index.m3u8", p + "%2E%2E%2F" + other + "%2Findex.m3u8",
               p + "seg%30.ts", p + "index.m3u8;x=1", p + "index.m3u8%3f.ts",
               p + "/index.m3u8", "/live//%s/index.m3u8" % sid, p + "a\\b.ts", p + ".stream",
               p + "%2estream", "/player/hls.js%2DLICENSE", "/player/../player/hls.js-LICENSE",
               "/%2e%2e/%2e%2e/etc/passwd"]
        for path in bad:
            for method in ("PUT", "POST", "DELETE", "GET", "HEAD", "OPTIONS"):
                with self.subTest(method=method, path=path):
                    got = raw(self.d, request(method, path, tok, b"evil"))
                    self.assert_error(got, 400, "local.bad_path")
                    if method == "HEAD":
                        self.assertEqual(got[2], b"")
        # very long paths: 414
        got = raw(self.d, request("PUT", p + "a" * 300 + ".ts", tok, b"evil"))
        self.assert_error(got, 414, "local.path_too_long")
        # a query is not part of the path
        st, hdrs, body, _ = raw(self.d, request("GET", p + "index.m3u8?_=1", body=None))
        self.assertEqual((st, body), (200, b"#EXTM3U\n"))
        # token scope: this stream's token on the other's playlist
        got = raw(self.d, request("PUT", "/live/%s/index.m3u8" % other, tok, b"evil"))
        self.assert_error(got, 401, "local.bad_token")
        self.assertEqual(self.files(sid), before)
        self.assertNotIn("nul.ts", self.files(sid))
        self.assertEqual([f for f in self.files(other) if not f.startswith(".")], [])
        self.assert_alive()

    def test_length_required(self):
        sid, tok = self.start()
        for version in ("1.0", "1.1"):
            with self.subTest(version=version):
                got = raw(self.d, request("PUT", "/live/%s/seg0.ts" % sid, tok, None, version)
                          + b"unframed body bytes")
                self.assert_error(got, 411, "local.length_required")
                self.assertEqual(got[1].get("connection"), "close")
                self.assertFalse(os.path.exists(os.path.join(self.folder(sid), "seg0.ts")))
        got = raw(self.d, request("PUT", "/live/%s/seg0.ts" % sid, tok, None, "1.1",
                                  b"Transfer-Encoding: chunked\r\n") + b"3\r\nabc\r\n0\r\n\r\n")
        self.assertEqual(got[0], 201, got[2])
        self.assert_alive()

    def test_slow_body(self):
        sid, tok = self.start()
        head = request("PUT", "/live/%s/slow.ts" % sid, tok, None,
                       extra=b"Content-Length: 1000\r\n")
        got = raw(self.d, head, trickle=(b"x", 0.3, 8.0))
        self.assertIsNotNone(got[0], "no answer in %.1f s" % got[3])
        self.assertLess(got[3], 4.5)
        self.assert_error(got, 408, "local.request_timeout")
        self.assertEqual(got[1].get("connection"), "close")
        self.assertEqual([f for f in self.files(sid) if not f.startswith(".")], [])
        self.assert_alive()

    def test_nosniff(self):
        sid, tok = self.start()
        p = "/live/%s/" % sid
        self.assertEqual(raw(self.d, request("PUT", p + "seg0.ts", tok, b"\x47" * 188))[0], 201)
        self.assertEqual(raw(self.d, request("PUT", p + "index.m3u8", tok, b"#EXTM3U\n"))[0], 201)
        for method, path, cache in (("GET", p + "seg0.ts", "public, max-age=86400"),
                                    ("HEAD", p + "seg0.ts", "public, max-age=86400"),
                                    ("GET", p + "index.m3u8", "no-cache"),
                                    ("GET", p, None), ("OPTIONS", p + "seg0.ts", None),
                                    ("GET", "/player/hls.light.min.js", None),
                                    ("GET", p + "nothing.ts", None), ("GET", "/", None)):
            with self.subTest(method=method, path=path):
                st, hdrs, _, _ = raw(self.d, request(method, path, body=None))
                self.assertEqual(hdrs.get("x-content-type-options"), "nosniff", (st, hdrs))
                if cache is not None:
                    self.assertEqual(hdrs.get("cache-control"), cache)

    def test_health_names_no_path(self):
        hls = os.path.join(self.d.tmp, "hls")
        moved = hls + ".moved"
        os.rename(hls, moved)
        try:
            for _ in range(2):
                status, _, body = self.d.request("GET", "/healthz")
                self.assertEqual(status, 503, body)
                self.assertNotIn(self.d.tmp, json.dumps(body))
                self.assertNotIn("/hls", json.dumps(body))
        finally:
            os.rename(moved, hls)
        self.assertEqual(self.d.log_text().count("the HLS folder %s is not writable" % hls), 1)
        self.assertEqual(self.d.request("GET", "/healthz")[0], 200)

    def test_smuggled_framing(self):
        # the request guard of the API applies to the origin too
        # (frontends/http/http_guard.c): an ambiguous upload is refused and
        # nothing sent behind it is stored
        sid, tok = self.start()
        p = "/live/%s/" % sid
        smuggled = request("PUT", p + "smuggled.ts", tok, b"\x47" * 188)
        for framing, body in ((b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                               b"0\r\n\r\n"),
                              (b"Content-Length: 0\r\nContent-Length: 188\r\n", b""),
                              (b"Content-Length: 3abc\r\n", b"abc")):
            with self.subTest(framing=framing):
                head = (b"PUT " + p.encode() + b"seg.ts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"Authorization: Bearer " + tok.encode() + b"\r\n" + framing + b"\r\n")
                got = raw(self.d, head + body + smuggled)
                self.assert_error(got, 400, "local.bad_framing")
                self.assertEqual(got[1].get("connection"), "close")
                self.assertNotIn(b"HTTP/1.1 201", got[2])
                self.assertEqual([f for f in self.files(sid) if not f.startswith(".")], [])
        self.assert_alive()

    def test_civetweb_refusals_are_json(self):
        got = raw(self.d, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.assertIsNotNone(got[0])
        self.assertGreaterEqual(got[0], 400)
        self.assertEqual(got[1].get("content-type"), "application/json")
        self.assertRegex(json.loads(got[2])["error"]["code"], r"^local\.[a-z_]+$")
        self.assert_alive()


@unittest.skipUnless(socket.socket().bind(("127.0.0.2", 0)) is None, "no 127.0.0.2")
class LocalConnectionsPerAddress(unittest.TestCase):
    def test_bound(self):
        cfg = bctest.config(providers="""
        - type: local
          listen: "127.0.0.1:@PORT1@"
          root: "@TMP@/hls"
          threads: 4
          keep_alive_timeout: 20s
          max_connections_per_address: 2
        """)
        with bctest.Daemon(cfg) as d:
            held = []
            for _ in range(2):
                s = socket.socket()
                s.bind(("127.0.0.2", 0))
                s.connect(("127.0.0.1", d.ports[0]))
                s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                s.settimeout(5)
                self.assertIn(b" 200 ", s.recv(4096))
                held.append(s)  # kept alive: counted
            s = socket.socket()
            s.bind(("127.0.0.2", 0))
            s.settimeout(5)
            s.connect(("127.0.0.1", d.ports[0]))
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while True:
                c = s.recv(4096)
                if not c:
                    break
                data += c
            self.assertIn(b" 503 ", data)
            self.assertIn(b"local.too_many_connections", data)
            self.assertIn(b"Retry-After: 1", data)
            # other addresses are served meanwhile
            st, _, _, _ = raw(d, request("GET", "/", body=None))
            self.assertEqual(st, 200)
            for h in held:
                h.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
