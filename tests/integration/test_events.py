# SPDX-License-Identifier: Apache-2.0
"""ABI 1.1 through the real broadcastd (docs/events.md): the event feed
(GET /events, its long-poll and owner filter), the new record fields, the
host's timers (idle_timeout, max_duration) and their survival of a SIGKILL,
and media reported by the local provider on real uploads.

The feed and timer tests run on three stores: sqlite; the test store
`memory` (tests/plugins/store_memory.c), which has the 1.1 store ops; and
the 1.0 test store `memory_v10` (tests/plugins/abi/store_v10.c), which
lacks them, so the host's in-memory fallback runs. The SIGKILL test needs
a durable store: sqlite."""
import hashlib
import http.client
import os
import signal
import threading
import time
import unittest

import bctest

SQLITE = "type: sqlite\npath: @TMP@/streams.db\n"
MEMORY = "type: memory\n"
MEMORY_V10 = "type: memory_v10\n"
V10_DIR = os.path.join(bctest.BUILDDIR, "tests", "plugins", "abi", "v10", ".libs")


def daemon(store, providers=None, frontends=None):
    """A Daemon on `store` (one of the texts above)."""
    env = None
    if store == MEMORY_V10:
        if not os.path.isdir(V10_DIR):
            raise unittest.SkipTest("the 1.0 test store is not built")
        env = {"BROADCAST_PLUGIN_PATH": os.environ.get("BROADCAST_PLUGIN_PATH", "") + ":" +
               V10_DIR}
    return bctest.Daemon(bctest.config(store=store, providers=providers,
                                       frontends=frontends), env=env)


def tokens_file(tmp, names):
    """Write a tokens file for `names`; returns {name: token}."""
    toks = {n: "tok-%s-%s" % (n, os.urandom(8).hex()) for n in names}
    path = os.path.join(tmp, "tokens")
    with open(path, "w") as f:
        for n, t in toks.items():
            f.write("%s:%s\n" % (n, hashlib.sha256(t.encode()).hexdigest()))
    os.chmod(path, 0o600)
    return toks


def start(d, token=None, **params):
    params.setdefault("type", "hls")
    status, _, body = d.request("POST", "/stream/start/", params=params, token=token)
    assert status == 200, body
    return body["stream"]["id"]


def events(d, after=0, limit=None, wait=None, token=None, timeout=40.0):
    q = {"after": str(after)}
    if limit is not None:
        q["limit"] = str(limit)
    if wait is not None:
        q["wait"] = str(wait)
    status, _, body = d.request("GET", "/events", params=q, token=token, timeout=timeout)
    assert status == 200, (status, body)
    return body


def wait_for(pred, timeout, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Feed(unittest.TestCase):
    """Started and stopped events, seq, cursors, the long-poll."""

    def run_feed(self, store):
        with daemon(store) as d:
            body = events(d)
            self.assertEqual(body, {"events": [], "next": 0})
            sid = start(d, name="cam")
            st, _, stopped = d.request("POST", "/stream/stop/", params={"id": sid})
            self.assertEqual(st, 200, stopped)
            # the seed's stop body is unchanged
            self.assertEqual(list(stopped["stream"].keys()), ["id", "name", "start_date",
                                                              "stop_date"])
            body = events(d)
            evs = [e for e in body["events"] if e["stream"]["id"] == sid]
            self.assertEqual([e["type"] for e in evs], ["stream.started", "stream.stopped"])
            self.assertEqual([e["seq"] for e in evs], [1, 2])
            self.assertLess(evs[0]["cursor"], evs[1]["cursor"])
            self.assertEqual(body["next"], body["events"][-1]["cursor"])
            self.assertEqual(list(evs[0].keys())[:4], ["cursor", "type", "seq", "time"])
            self.assertEqual(evs[0]["stream"]["state"], "live")
            self.assertEqual(evs[0]["stream"]["media"], "idle")
            self.assertEqual(evs[1]["stream"]["state"], "stopped")
            self.assertEqual(evs[1]["stream"]["stop_reason"], "api")
            self.assertEqual(evs[1]["reason"], "api")
            self.assertEqual(evs[0]["time"], evs[0]["stream"]["start_date"])
            # the record's new fields
            st, _, got = d.request("GET", "/streams/%s" % sid)
            self.assertEqual(st, 200, got)
            rec = got["stream"]
            self.assertEqual(rec["media"], "idle")
            self.assertIsNone(rec["publish_date"])
            self.assertEqual(rec["stop_reason"], "api")
            # nothing after the last cursor; limit
            self.assertEqual(events(d, after=body["next"])["events"], [])
            self.assertEqual(events(d, after=body["next"])["next"], body["next"])
            self.assertEqual(len(events(d, limit=1)["events"]), 1)
            for bad in ({"limit": "0"}, {"limit": "1001"}, {"wait": "31"}, {"after": "-1"},
                        {"after": "x"}):
                st, _, err = d.request("GET", "/events", params=bad)
                bctest.assert_error(self, st, err, 400, "request.bad_parameter")
            st, hdrs, err = d.request("POST", "/events")
            self.assertEqual(st, 405, err)
            # the list filter
            live = start(d)
            st, _, lst = d.request("GET", "/streams/", params={"media": "idle"})
            self.assertEqual([r["id"] for r in lst["streams"]], [live])
            st, _, lst = d.request("GET", "/streams/", params={"media": "publishing"})
            self.assertEqual(lst["streams"], [])
            st, _, err = d.request("GET", "/streams/", params={"media": "loud"})
            bctest.assert_error(self, st, err, 400, "request.bad_parameter")
            self.assertNotIn("stop_reason", lst and [r for r in
                             d.request("GET", "/streams/%s" % live)[2]["stream"]])
            # the long-poll: empty after the wait; prompt on an event
            t0 = time.monotonic()
            last = events(d)["next"]
            self.assertEqual(events(d, after=last, wait=1)["events"], [])
            self.assertGreaterEqual(time.monotonic() - t0, 0.9)
            got = {}

            def poll():
                got["body"] = events(d, after=last, wait=20)
                got["t"] = time.monotonic()
            th = threading.Thread(target=poll)
            th.start()
            time.sleep(0.5)
            t1 = time.monotonic()
            d.request("POST", "/stream/stop/", params={"id": live})
            th.join(25)
            self.assertFalse(th.is_alive())
            self.assertLess(got["t"] - t1, 2.0)
            self.assertEqual([e["type"] for e in got["body"]["events"]], ["stream.stopped"])
            m = d.request("GET", "/metrics")[2]
            self.assertIn('broadcast_events_total{type="stream.started"} 2', m)
            self.assertIn("broadcast_streams_publishing 0", m)

    def test_feed_sqlite(self):
        self.run_feed(SQLITE)

    def test_feed_memory_store(self):
        self.run_feed(MEMORY)

    def test_feed_v10_store(self):
        self.run_feed(MEMORY_V10)

    def run_owner_filter(self, store):
        d = daemon(store, frontends='- type: http\n  listen: "127.0.0.1:@HTTP_PORT@"\n'
                   '  tokens_file: "@TMP@/tokens"\n')
        toks = tokens_file(d.tmp, ["alice", "bob"])
        with d:
            a = start(d, token=toks["alice"])
            b = start(d, token=toks["bob"])
            ea = events(d, token=toks["alice"])["events"]
            eb = events(d, token=toks["bob"])["events"]
            self.assertEqual({e["stream"]["id"] for e in ea}, {a})
            self.assertEqual({e["stream"]["id"] for e in eb}, {b})
            st, _, err = d.request("GET", "/events")
            self.assertEqual(st, 401, err)
            # bob's long-poll does not wake for alice's stop
            last = events(d, token=toks["bob"])["next"]
            d.request("POST", "/stream/stop/", params={"id": a}, token=toks["alice"])
            self.assertEqual(events(d, after=last, wait=1, token=toks["bob"])["events"], [])

    def test_owner_filter_sqlite(self):
        self.run_owner_filter(SQLITE)

    def test_owner_filter_v10_store(self):
        self.run_owner_filter(MEMORY_V10)


class Timers(unittest.TestCase):
    """The host stops streams past idle_timeout and max_duration."""

    def stopped_event(self, d, sid, timeout):
        def find():
            for e in events(d)["events"]:
                if e["type"] == "stream.stopped" and e["stream"]["id"] == sid:
                    return e
            return None
        return wait_for(find, timeout)

    def run_idle(self, store):
        with daemon(store, providers="- name: test\n  type: test\n  idle_timeout: 2s\n") as d:
            t0 = time.monotonic()
            sid = start(d)
            ev = self.stopped_event(d, sid, 8)
            self.assertIsNotNone(ev, d.log_text())
            self.assertGreaterEqual(time.monotonic() - t0, 1.9)
            self.assertEqual(ev["reason"], "idle_timeout")
            self.assertEqual(ev["stream"]["stop_reason"], "idle_timeout")
            rec = d.request("GET", "/streams/%s" % sid)[2]["stream"]
            self.assertEqual((rec["state"], rec["stop_reason"]), ("stopped", "idle_timeout"))
            m = d.request("GET", "/metrics")[2]
            self.assertIn('broadcast_auto_stops_total{instance="test",reason="idle_timeout"} 1', m)
            # an API stop of it now is a 409, as for any stopped stream
            st, _, body = d.request("POST", "/stream/stop/", params={"id": sid})
            self.assertEqual(st, 409, body)

    def test_idle_timeout_sqlite(self):
        self.run_idle(SQLITE)

    def test_idle_timeout_memory_store(self):
        self.run_idle(MEMORY)

    def test_idle_timeout_v10_store(self):
        self.run_idle(MEMORY_V10)

    def test_max_duration(self):
        with daemon(MEMORY, providers="- name: test\n  type: test\n  max_duration: 2s\n"
                    "  idle_timeout: 1h\n") as d:
            sid = start(d)
            ev = self.stopped_event(d, sid, 8)
            self.assertIsNotNone(ev, d.log_text())
            self.assertEqual(ev["reason"], "max_duration")

    def run_many(self, store):
        """Hundreds of streams, most stopped through the API in random
        order (the host's table of live streams moves entries and shifts
        its index on every removal; framework/media.c), the rest stopped
        by idle_timeout: each record ends with the right reason and the
        gauge at 0, so no stream was lost or found twice."""
        import random
        with daemon(store, providers="- name: test\n  type: test\n  idle_timeout: 6s\n") as d:
            ids = [start(d) for _ in range(400)]
            by_api = set()
            for sid in random.Random(7).sample(ids, 270):
                st, _, body = d.request("POST", "/stream/stop/", params={"id": sid})
                self.assertIn(st, (200, 409), body)  # 409: its idle_timeout came first
                if st == 200:
                    by_api.add(sid)
            self.assertGreater(len(by_api), 100, "the machine is too slow for this test")

            def live():
                m = d.request("GET", "/metrics")[2]
                return [ln for ln in m.splitlines() if ln.startswith("broadcast_streams_live ")]
            self.assertTrue(wait_for(lambda: live() == ["broadcast_streams_live 0"], 20),
                            (live(), d.log_text()[-3000:]))
            for sid in ids:
                rec = d.request("GET", "/streams/%s" % sid)[2]["stream"]
                want = "api" if sid in by_api else "idle_timeout"
                self.assertEqual((rec["state"], rec["stop_reason"]), ("stopped", want), sid)

    def test_many_streams_sqlite(self):
        self.run_many(SQLITE)

    def test_many_streams_v10_store(self):
        self.run_many(MEMORY_V10)

    def test_timers_survive_sigkill(self):
        d = daemon(SQLITE, providers="- name: test\n  type: test\n  idle_timeout: 3s\n")
        with d:
            t0 = time.monotonic()
            sid = start(d)
            before = events(d)["events"]
            self.assertEqual([e["type"] for e in before], ["stream.started"])
            d.kill()
            d._log.close()
            d.start()
            rec = d.request("GET", "/streams/%s" % sid)[2]["stream"]
            self.assertEqual(rec["state"], "live")
            ev = self.stopped_event(d, sid, 12)
            elapsed = time.monotonic() - t0
            self.assertIsNotNone(ev, d.log_text())
            self.assertEqual(ev["reason"], "idle_timeout")
            # ~3 s after its start; a store without media times (sqlite
            # before 1.1) counts from the restart instead: allow for that
            self.assertGreaterEqual(elapsed, 2.9)
            self.assertLess(elapsed, 9)
            if "stream.started" in [e["type"] for e in events(d)["events"]]:
                # a durable store kept the event across the kill
                seqs = [e["seq"] for e in events(d)["events"] if e["stream"]["id"] == sid]
                self.assertEqual(seqs, [1, 2])


class Ctl(unittest.TestCase):
    """broadcastctl events over the unix socket, and --follow."""

    def test_events_and_follow(self):
        import json
        import subprocess
        fe = ('- type: http\n  listen: "127.0.0.1:@HTTP_PORT@"\n'
              '- type: unix\n  path: "@TMP@/control.sock"\n')
        with daemon(MEMORY, frontends=fe) as d:
            sock = os.path.join(d.tmp, "control.sock")
            sid = start(d)
            out = subprocess.run([bctest.BROADCASTCTL, "--socket", sock, "events"],
                                 capture_output=True, text=True, timeout=20)
            self.assertEqual(out.returncode, 0, out.stderr)
            lines = [json.loads(x) for x in out.stdout.splitlines()]
            self.assertEqual([(e["type"], e["stream"]["id"]) for e in lines],
                             [("stream.started", sid)])
            out = subprocess.run([bctest.BROADCASTCTL, "--socket", sock, "list"],
                                 capture_output=True, text=True, timeout=20)
            self.assertIn("MEDIA", out.stdout)
            p = subprocess.Popen([bctest.BROADCASTCTL, "--socket", sock, "events", "--follow",
                                  "--after", str(lines[-1]["cursor"])],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                time.sleep(0.5)
                d.request("POST", "/stream/stop/", params={"id": sid})
                line = p.stdout.readline()
                self.assertEqual(json.loads(line)["type"], "stream.stopped")
                p.send_signal(signal.SIGINT)
                self.assertEqual(p.wait(10), 0)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                p.stdout.close()
                p.stderr.close()


PLAYLIST = b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nseg0.ts\n"


def upload(d, sid, token, name, body):
    conn = http.client.HTTPConnection("127.0.0.1", d.ports[0], timeout=10)
    try:
        conn.request("PUT", "/live/%s/%s" % (sid, name), body=body,
                     headers={"Authorization": "Bearer " + token})
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


class LocalMedia(unittest.TestCase):
    """Media reported by the local provider on real uploads: publishing on
    the first upload, idle after its idle_after, the host's idle_timeout
    counting from there."""

    def run_local(self, store):
        providers = """
- type: local
  listen: "127.0.0.1:@PORT1@"
  root: "@TMP@/hls"
  idle_after: 1s
  idle_timeout: 3s
"""
        with daemon(store, providers=providers) as d:
            st, _, body = d.request("POST", "/stream/start/", params={"type": "hls"})
            self.assertEqual(st, 200, body)
            sid, tok = body["stream"]["id"], body["endpoint"]["HTTP"]["upload_token"]
            self.assertIn(upload(d, sid, tok, "seg0.ts", b"\x47" * 188), (200, 201, 204))
            self.assertIn(upload(d, sid, tok, "index.m3u8", PLAYLIST), (200, 201, 204))

            def media():
                return d.request("GET", "/streams/%s" % sid)[2]["stream"]
            pub = wait_for(lambda: media()["media"] == "publishing" and media(), 3)
            self.assertTrue(pub, d.log_text())
            self.assertIsNotNone(pub["publish_date"])
            # keep publishing past the idle_timeout (3 s): not stopped. An
            # upload every 0.25 s stays far inside idle_after (1 s) even on
            # a loaded machine.
            for i in range(1, 15):
                time.sleep(0.25)
                upload(d, sid, tok, "seg%d.ts" % i, b"\x47" * 188)
            self.assertEqual(media()["state"], "live")
            # then stop uploading: idle after ~1 s, stopped ~3 s later
            rec = wait_for(lambda: media()["state"] == "stopped" and media(), 10)
            self.assertTrue(rec, d.log_text())
            self.assertEqual(rec["stop_reason"], "idle_timeout")
            types = [e["type"] for e in events(d)["events"] if e["stream"]["id"] == sid]
            self.assertEqual(types, ["stream.started", "stream.publishing", "stream.idle",
                                     "stream.stopped"])
            idle = [e for e in events(d)["events"] if e["type"] == "stream.idle"][0]
            self.assertEqual(idle["cause"], "idle")
            self.assertEqual([e["seq"] for e in events(d)["events"]
                              if e["stream"]["id"] == sid], [1, 2, 3, 4])

    def test_local_sqlite(self):
        self.run_local(SQLITE)

    def test_local_memory_store(self):
        self.run_local(MEMORY)


if __name__ == "__main__":
    unittest.main()
