# SPDX-License-Identifier: Apache-2.0
"""The current broadcastd on a state folder written by release 0.1 (issue 24).

tests/fixtures/local-0.1/state.tar.gz was made by the broadcastd of commit
ad216a9 (tests/fixtures/local-0.1/make-fixture.py says how): an sqlite store
(schema version 2) and a local origin `root` whose stream folders each hold
the old ".stream" state file (token hash, expiry, stop times). Four streams:
live with uploads, stopped after uploads, live never uploaded to, and
stopped never uploaded to (fixture.json has their ids and upload tokens).

What an upgrade keeps (docs/providers/local.md, "Upgrading from 0.1"):
- the daemon starts on it; the store's schema is migrated; every ".stream"
  is converted (a stopped stream's stop time becomes its ".stopped" marker,
  mtime = the old stopped_ms, so the retention still counts from the stop)
  and removed;
- a stream the store says is live takes uploads again with the token the old
  daemon handed out (the host resumes it from the store's meta, which 0.1
  already wrote) and stops as today (the playlist gets its end);
- a stopped stream's token stays refused, and its files stay playable;
- a second start of the new daemon on the converted folder changes nothing
  (the conversion ran once; the live streams still resume).
"""
import glob
import http.client
import json
import os
import shutil
import tarfile
import tempfile
import unittest

import bctest

FIXTURE = os.path.join(bctest.SRCDIR, "tests", "fixtures", "local-0.1")

# token_ttl 0: the fixture's tokens were minted with no expiry (a stream
# started by 0.1 has no token_expires_ms meta; resume() then gives it
# start_ms + token_ttl, which for the default 36h would have run out by the
# time this test runs).
CONFIG = bctest.config(store="type: sqlite\npath: @TMP@/state/streams.db\n", providers="""
- name: local
  type: local
  stream_types: [hls]
  listen: "127.0.0.1:@PORT1@"
  root: "@TMP@/state/hls"
  token_ttl: 0
""")

SEG = b"\x47 a segment uploaded after the upgrade"


def origin(d, method, path, body=None, token=None):
    conn = http.client.HTTPConnection("127.0.0.1", d.ports[0], timeout=10)
    try:
        h = {}
        if token is not None:
            h["Authorization"] = "Bearer " + token
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def old_stop_ms(path):
    """The stop time release 0.1's reader took from a .stream: the last
    complete "stopped_ms N" line."""
    with open(path) as f:
        text = f.read()
    text = text[:text.rfind("\n") + 1]
    stop = 0
    for line in text.splitlines():
        if line.startswith("stopped_ms "):
            stop = int(line.split()[1])
    return stop


class LocalCompat(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bctest-compat-")
        with tarfile.open(os.path.join(FIXTURE, "state.tar.gz")) as tar:
            tar.extractall(self.tmp)
        with open(os.path.join(FIXTURE, "fixture.json")) as f:
            self.streams = json.load(f)["streams"]
        self.hls = os.path.join(self.tmp, "state", "hls")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def folder(self, label):
        return os.path.join(self.hls, self.streams[label]["id"])

    def put(self, d, label, name, token=None):
        s = self.streams[label]
        return origin(d, "PUT", "/live/%s/%s" % (s["id"], name), SEG,
                      s["upload_token"] if token is None else token)[0]

    def test_release_0_1_state_loads(self):
        old = {label: old_stop_ms(os.path.join(self.folder(label), ".stream"))
               for label in self.streams}
        self.assertEqual(old["live_uploaded"], 0)
        self.assertEqual(old["live_empty"], 0)
        self.assertGreater(old["stopped_uploaded"], 0)
        self.assertGreater(old["stopped_empty"], 0)

        with bctest.Daemon(CONFIG, tmp=self.tmp) as d:
            log = d.log_text()
            self.assertIn("converted the state files of 4 stream folder(s)", log)
            self.assertEqual(glob.glob(os.path.join(self.hls, "*", ".stream")), [])
            # The old stop times became markers; live streams got none.
            for label in ("stopped_uploaded", "stopped_empty"):
                st = os.stat(os.path.join(self.folder(label), ".stopped"))
                self.assertEqual(st.st_mtime_ns // 1000000, old[label], label)
            for label in ("live_uploaded", "live_empty"):
                self.assertFalse(os.path.exists(os.path.join(self.folder(label), ".stopped")))
                self.assertIn("stream %s: resumed, uploads open" % self.streams[label]["id"],
                              log)

            # The store still knows all four, in their states.
            for label, state in (("live_uploaded", "live"), ("live_empty", "live"),
                                 ("stopped_uploaded", "stopped"),
                                 ("stopped_empty", "stopped")):
                status, _, body = d.request("GET", "/streams/" + self.streams[label]["id"])
                self.assertEqual(status, 200, body)
                self.assertEqual(body["stream"]["state"], state, (label, body))

            # Live streams take uploads with the tokens 0.1 handed out.
            self.assertEqual(self.put(d, "live_uploaded", "seg1.ts"), 201)
            self.assertEqual(self.put(d, "live_uploaded", "seg0.ts"), 204)
            self.assertEqual(self.put(d, "live_empty", "seg0.ts"), 201)
            self.assertEqual(self.put(d, "live_uploaded", "seg2.ts", token="x" * 43), 401)
            # Stopped ones stay closed; their files still play.
            self.assertEqual(self.put(d, "stopped_uploaded", "seg1.ts"), 401)
            self.assertEqual(self.put(d, "stopped_empty", "seg0.ts"), 401)
            sid = self.streams["stopped_uploaded"]["id"]
            status, body = origin(d, "GET", "/live/%s/index.m3u8" % sid)
            self.assertEqual(status, 200)
            self.assertIn(b"#EXT-X-ENDLIST", body)

            # A live stream of 0.1 stops as today: the playlist gets its end.
            sid = self.streams["live_uploaded"]["id"]
            status, _, body = d.request("POST", "/stream/stop/", params={"id": sid})
            self.assertEqual(status, 200, body)
            with open(os.path.join(self.folder("live_uploaded"), "index.m3u8"), "rb") as f:
                self.assertTrue(f.read().endswith(b"\n#EXT-X-ENDLIST\n"))
            self.assertTrue(os.path.exists(os.path.join(self.folder("live_uploaded"),
                                                        ".stopped")))
            self.assertEqual(self.put(d, "live_uploaded", "seg3.ts"), 403)

            # A new stream on the upgraded folder: no folder until its first upload.
            status, _, body = d.request("POST", "/stream/start/", params={"type": "hls"})
            self.assertEqual(status, 200, body)
            new_id = body["stream"]["id"]
            self.assertFalse(os.path.exists(os.path.join(self.hls, new_id)))
            status, _ = origin(d, "PUT", "/live/%s/seg0.ts" % new_id, SEG,
                               body["endpoint"]["HTTP"]["upload_token"])
            self.assertEqual(status, 201)
            self.assertTrue(os.path.isdir(os.path.join(self.hls, new_id)))
        self.assertNotIn(" ERROR ", d.log_text())

        # Once more on the converted folder: nothing left to convert, the
        # stopped ones' markers unchanged, the live one of 0.1 resumes.
        with bctest.Daemon(CONFIG, tmp=self.tmp) as d:
            log = d.log_text()[d._log_start:]
            self.assertNotIn("converted the state files", log)
            st = os.stat(os.path.join(self.folder("stopped_uploaded"), ".stopped"))
            self.assertEqual(st.st_mtime_ns // 1000000, old["stopped_uploaded"])
            self.assertEqual(self.put(d, "live_empty", "seg1.ts"), 201)
            self.assertEqual(self.put(d, "stopped_uploaded", "seg1.ts"), 401)
        self.assertNotIn(" ERROR ", d.log_text())


if __name__ == "__main__":
    unittest.main()
