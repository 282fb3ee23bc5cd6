# SPDX-License-Identifier: Apache-2.0
"""ABI 1.1 backward compatibility, end to end (docs/abi.md "Compatibility").

The real broadcastd of this tree (ABI 1.1) with a store and a provider
written and built against the ABI 1.0 headers (tests/plugins/abi/store_v10.c
and provider_v10.c, compiled with tests/plugins/abi-1.0 first on the include
path): both load as ABI 1.0 plugins, and streams start, are listed, got and
stopped. Such a store has no media state or event operations; the host keeps
them in memory, so get and list still show "media" ("idle": a 1.0 provider
reports no media), "publish_date" and, once stopped, "stop_reason".

The other direction (a plugin built against 1.1 with BC_PLUGIN_MIN_MINOR 0
on a host presenting 1.0) is in tests/unit/test_loader.c, which can make the
loader present any minor.
"""
import json
import os
import subprocess
import unittest

import bctest

V10_DIR = os.path.join(bctest.BUILDDIR, "tests", "plugins", "abi", "v10", ".libs")
HTTP_DIR = os.path.join(bctest.BUILDDIR, "frontends", "http", ".libs")
ENV = {"BROADCAST_PLUGIN_PATH": V10_DIR + ":" + HTTP_DIR}
DATE = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"

CONFIG = bctest.config(store="type: memory_v10\n",
                       providers="- name: v10\n  type: test_v10\n")


class ListPlugins(unittest.TestCase):
    def test_1_0_plugins_load_as_1_0(self):
        env = dict(os.environ, **ENV)
        out = subprocess.run([bctest.BROADCASTD, "--list-plugins"], env=env, check=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=30).stdout.decode()
        self.assertRegex(out, r"plugin ABI 1\.1\n", out)
        self.assertRegex(out, r"(?m)^store +memory_v10 +\S+ +1\.0 +\S*store_memory_v10\.so$",
                         out)
        self.assertRegex(out, r"(?m)^provider +test_v10 +\S+ +1\.0 +\S*provider_test_v10\.so$",
                         out)
        self.assertNotIn("rejected", out)


class OldPluginsOnNewHost(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = bctest.Daemon(CONFIG, env=ENV).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.d.stop()
        finally:
            cls.d.kill()

    def start(self, name):
        status, _, body = self.d.request("POST", "/stream/start/?type=hls&name=" + name)
        self.assertEqual(status, 200, body)
        self.assertEqual(list(body.keys()), ["stream", "endpoint"], body)
        self.assertEqual(body["stream"]["name"], name)
        s3 = body["endpoint"]["S3"]
        self.assertTrue(s3["aws_access_key_id"].startswith("ASIA"), body)
        self.assertEqual(s3["s3_bucket_name"], "v10-bucket")
        return body["stream"]["id"]

    def get(self, sid):
        status, _, body = self.d.request("GET", "/streams/" + sid)
        self.assertEqual(status, 200, body)
        return body["stream"]

    def check_media(self, s, state):
        """The media state the host keeps for a 1.0 store (ABI 1.1 API)."""
        self.assertIn("media", s, "GET does not render ABI 1.1's media state: %s" % s)
        self.assertEqual(s["media"], "idle", s)  # a 1.0 provider reports nothing
        self.assertIsNone(s["publish_date"], s)
        if state == "live":
            self.assertNotIn("stop_reason", s)
        else:
            self.assertEqual(s["stop_reason"], "api", s)

    def test_instances_created_without_loader_warnings(self):
        log = self.d.log_text()
        self.assertIn("created store memory_v10 (type memory_v10)", log)
        self.assertIn("created provider v10 (type test_v10)", log)
        self.assertNotRegex(log, r"WARN +\[loader\]")

    def test_start_get_list_stop(self):
        sid = self.start("cam-v10")
        s = self.get(sid)
        self.assertEqual((s["id"], s["state"], s["type"], s["provider"]),
                         (sid, "live", "hls", "v10"), s)
        self.assertIsNone(s["stop_date"])
        self.assertRegex(s["start_date"], DATE)
        self.check_media(s, "live")

        status, _, body = self.d.request("GET", "/streams?state=live&limit=1000")
        self.assertEqual(status, 200, body)
        listed = {x["id"]: x for x in body["streams"]}
        self.assertIn(sid, listed)
        self.check_media(listed[sid], "live")

        # ?media= is filtered by the host for a 1.0 store.
        status, _, body = self.d.request("GET", "/streams?media=idle&limit=1000")
        self.assertEqual(status, 200, body)
        self.assertIn(sid, [x["id"] for x in body["streams"]])
        status, _, body = self.d.request("GET", "/streams?media=publishing&limit=1000")
        self.assertEqual(status, 200, body)
        self.assertNotIn(sid, [x["id"] for x in body["streams"]])

        status, _, body = self.d.request("POST", "/stream/stop/", params={"id": sid})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["stream"]["id"], sid)
        self.assertRegex(body["stream"]["stop_date"], DATE)
        s = self.get(sid)
        self.assertEqual(s["state"], "stopped", s)
        self.check_media(s, "stopped")
        status, _, body = self.d.request("GET", "/streams?state=stopped&limit=1000")
        self.assertEqual(status, 200, body)
        stopped = {x["id"]: x for x in body["streams"]}
        self.assertIn(sid, stopped)
        self.check_media(stopped[sid], "stopped")
        self.assertIn("test_v10 finished stream " + sid, self.d.log_text())

        status, _, body = self.d.request("POST", "/stream/stop/", params={"id": sid})
        self.assertEqual(status, 409, body)

    def test_events_kept_in_memory(self):
        sid = self.start("ev-v10")
        status, _, body = self.d.request("POST", "/stream/stop/", params={"id": sid})
        self.assertEqual(status, 200, body)
        status, _, body = self.d.request("GET", "/events?after=0&limit=1000")
        self.assertEqual(status, 200, body)
        mine = [e for e in body["events"] if e["stream"]["id"] == sid]
        self.assertEqual([e["type"] for e in mine], ["stream.started", "stream.stopped"],
                         json.dumps(body))
        self.assertEqual([e["seq"] for e in mine], [1, 2])
        self.assertLess(mine[0]["cursor"], mine[1]["cursor"])
        self.assertEqual(mine[1]["reason"], "api")
        self.assertRegex(mine[0]["time"], DATE)
        self.assertGreaterEqual(body["next"], mine[1]["cursor"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
