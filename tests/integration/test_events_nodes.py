# SPDX-License-Identifier: Apache-2.0
"""The event feed and the host's timers on two broadcastd nodes sharing one
PostgreSQL store (docs/events.md, "on several nodes").

A throwaway PostgreSQL (tests/support/pg-cluster.sh, through the helpers of
test_postgres_nodes.py) holds one schema per test; two daemons A and B use
it, each with the same provider instances: `timed` (test provider,
idle_timeout 2s, max_duration 1m), `capped` (test provider, max_duration 2s)
and `media` (the local provider, its own origin port and root per node,
idle_after 4s: longer than node B's re-read of the feed, every second, so
the publishing event reaches B before the stream goes idle). Streams are never published unless said. Checks:

* every stream is auto-stopped exactly once (one stream.stopped event, seq
  2, the reason in the event and in the record), also when the node that
  started it is frozen (SIGSTOP) past its deadline, so the other node stops
  it and the frozen one, thawed, loses with its stale deadline; and when
  both nodes are SIGKILLed and restarted past the deadline at once, so both
  find every stream overdue;
* both nodes' /events give the same feed (same cursors, seq, types);
* an API stop racing the auto-stop (on both nodes at once) gives one
  stopped event: reason api when a stop got the 200, else idle_timeout;
* an upload to node A's origin gives one stream.publishing event that
  node B's /events shows (long-poll), then stream.idle; a stop through B
  ends it, and uploads A's origin still takes afterwards add no event.

Exits 77 (skipped) only when PostgreSQL's server cannot be installed here.
"""
import datetime
import http.client
import os
import re
import shutil
import signal
import threading
import time
import unittest

import bctest
from test_postgres_nodes import PG, main_with_cluster

IDLE_S = 2
CAP_S = 2
SEGMENT = b"\x47" + b"\x00" * 187
PROVIDERS = """
- name: timed
  type: test
  idle_timeout: %ds
  max_duration: 1m
- name: capped
  type: test
  max_duration: %ds
- name: media
  type: local
  listen: "127.0.0.1:@PORT1@"
  root: "@TMP@/hls"
  idle_after: 4s
""" % (IDLE_S, CAP_S)


def node_config(schema):
    return bctest.config(providers=PROVIDERS, store="""
        type: postgres
        conninfo: "%s"
        schema: %s
        statement_timeout: 5s
        connect_timeout: 10s
        pool_size: 4
    """ % (PG["PG_CONNINFO"], schema))



def parse_date(text):
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def key(e):
    return (e["cursor"], e["type"], e["seq"], e["stream"]["id"], e.get("reason"),
            e.get("cause"))


def metric(d, name, labels):
    """A counter's value from /metrics, 0 when absent."""
    text = d.request("GET", "/metrics")[2]
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else 0.0


class EventNodes(unittest.TestCase):
    counter = 0

    def setUp(self):
        EventNodes.counter += 1
        schema = "ev_%d_%d" % (os.getpid(), EventNodes.counter)
        self.a = bctest.Daemon(node_config(schema)).start()
        try:
            self.b = bctest.Daemon(node_config(schema)).start()
        except Exception:
            self.a.stop()
            raise

    def tearDown(self):
        for d in (self.a, self.b):
            if d.proc is not None and d.proc.poll() is None:
                d.proc.send_signal(signal.SIGCONT)
            try:
                d.stop()
            finally:
                d.kill()
            self.assertNotIn(PG["PG_PASSWORD"], d.log_text())
            if not os.environ.get("BC_KEEP_TMP"):
                shutil.rmtree(d.tmp, ignore_errors=True)

    # -- helpers --------------------------------------------------------------
    def logs(self):
        return "\n--- node A ---\n%s\n--- node B ---\n%s" % (self.a.log_text()[-3000:],
                                                          self.b.log_text()[-3000:])

    def start(self, node, provider):
        st, _, body = node.request("POST", "/stream/start/",
                                   params={"type": "hls", "provider": provider})
        self.assertEqual(st, 200, body)
        return body

    def feed(self, node, limit=7):
        """The whole feed, paged with after/limit."""
        out, after = [], 0
        for _ in range(1000):
            st, _, body = node.request("GET", "/events",
                                       params={"after": str(after), "limit": str(limit)})
            self.assertEqual(st, 200, body)
            if not body["events"]:
                self.assertEqual(body["next"], after)
                break
            out += body["events"]
            after = body["next"]
        cursors = [e["cursor"] for e in out]
        self.assertEqual(cursors, sorted(set(cursors)), "cursors not strictly increasing")
        return out

    def same_feed(self):
        """Both nodes' feeds, which must be the same; returns it."""
        fa, fb = self.feed(self.a), self.feed(self.b, limit=3)
        self.assertEqual([key(e) for e in fa], [key(e) for e in fb],
                         "nodes A and B show different feeds")
        return fa

    def wait_stopped(self, node, ids, timeout):
        pending, end = set(ids), time.monotonic() + timeout
        while pending and time.monotonic() < end:
            for sid in list(pending):
                st, _, body = node.request("GET", "/streams/" + sid)
                self.assertEqual(st, 200, body)
                if body["stream"]["state"] == "stopped":
                    pending.discard(sid)
            time.sleep(0.2)
        self.assertEqual(pending, set(), "streams not auto-stopped within %ss%s"
                         % (timeout, self.logs()))

    def check_auto_stopped(self, feed, want_reason):
        """Each stream of want_reason ({id: reason}) has exactly started and
        one stopped event with that reason, seq 1 and 2, as both nodes'
        records say."""
        by = {}
        for e in feed:
            by.setdefault(e["stream"]["id"], []).append(e)
        for sid, reason in want_reason.items():
            evs = by.get(sid, [])
            self.assertEqual([(e["type"], e["seq"]) for e in evs],
                             [("stream.started", 1), ("stream.stopped", 2)],
                             "stream %s (%s): events %r" % (sid, reason,
                                                           [(e["type"], e["seq"], e.get("reason"))
                                                            for e in evs]))
            stop = evs[1]
            self.assertEqual(stop["reason"], reason, stop)
            self.assertEqual(stop["stream"]["stop_reason"], reason, stop)
            for node in (self.a, self.b):
                rec = node.request("GET", "/streams/" + sid)[2]["stream"]
                self.assertEqual((rec["state"], rec["stop_reason"]), ("stopped", reason), rec)
                self.assertEqual(rec["stop_date"], stop["stream"]["stop_date"])
            if reason in ("idle_timeout", "max_duration"):
                lived = (parse_date(stop["stream"]["stop_date"]) -
                         parse_date(stop["stream"]["start_date"])).total_seconds()
                # whole-second dates: one second of slack for the rounding
                self.assertGreaterEqual(lived, min(IDLE_S, CAP_S) - 1, stop)

    def stopped_written(self):
        """stream.stopped events the two processes say they wrote."""
        return sum(metric(d, "broadcast_events_total", 'type="stream.stopped"')
                   for d in (self.a, self.b))

    # -- tests ----------------------------------------------------------------
    def test_auto_stop_once_with_starting_node_frozen(self):
        t0 = time.monotonic()
        on_a = {self.start(self.a, "timed")["stream"]["id"]: "idle_timeout" for _ in range(3)}
        on_a.update({self.start(self.a, "capped")["stream"]["id"]: "max_duration"
                     for _ in range(2)})
        # Freeze A before its own deadlines: B must stop A's streams (it sees
        # them at its next re-read of the store, within 5 s); A, thawed, finds
        # its stale deadlines past and must lose the conditional stop.
        self.a.proc.send_signal(signal.SIGSTOP)
        frozen_early = time.monotonic() - t0 < min(IDLE_S, CAP_S) - 0.5
        try:
            on_b = {self.start(self.b, "timed")["stream"]["id"]: "idle_timeout"
                    for _ in range(3)}
            on_b.update({self.start(self.b, "capped")["stream"]["id"]: "max_duration"
                         for _ in range(2)})
            self.wait_stopped(self.b, list(on_a) + list(on_b), 30)
        finally:
            self.a.proc.send_signal(signal.SIGCONT)
        # A's timekeeper looks every 250 ms and re-reads every 5 s: give it
        # time to try its stale deadlines (and to write a duplicate, if it did).
        time.sleep(2.0)
        self.assertEqual(self.a.request("GET", "/healthz")[0], 200)
        feed = self.same_feed()
        self.check_auto_stopped(feed, dict(on_a, **on_b))
        self.assertEqual(len(feed), 20, [(e["type"], e["stream"]["id"]) for e in feed])
        if frozen_early:
            # B stopped A's streams: A wrote no stopped event.
            self.assertEqual(metric(self.a, "broadcast_events_total", 'type="stream.stopped"'),
                             0, "node A wrote a stopped event although B stopped its streams"
                             + self.logs())
        self.assertEqual(self.stopped_written(), 10, "stopped events written by A + B")

    def test_both_nodes_restart_past_deadline(self):
        ids = {}
        for i in range(8):
            node = self.a if i % 2 else self.b
            ids[self.start(node, "timed")["stream"]["id"]] = "idle_timeout"
        t_started = time.monotonic()
        for d in (self.a, self.b):
            d.kill()
            d._log.close()
        # Past every deadline while both are down; then both come up at
        # once and both find every stream overdue.
        time.sleep(max(0, IDLE_S + 0.5 - (time.monotonic() - t_started)))
        errors = []

        def up(d):
            try:
                d.start()
            except Exception as e:  # reported below
                errors.append(e)
        threads = [threading.Thread(target=up, args=(d,)) for d in (self.a, self.b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.wait_stopped(self.a, ids, 20)
        time.sleep(1.0)
        feed = self.same_feed()
        self.check_auto_stopped(feed, ids)
        self.assertEqual(len(feed), 16)
        self.assertEqual(self.stopped_written(), 8, "stopped events written by A + B")

    def test_api_stop_races_auto_stop(self):
        n = 10
        streams = []
        for i in range(n):
            node = self.a if i % 2 else self.b
            streams.append((self.start(node, "timed")["stream"]["id"], time.monotonic()))
        results = {sid: [] for sid, _ in streams}
        lock = threading.Lock()

        def race(sid, t_start, offset):
            go = threading.Barrier(2)

            def stop(node):
                go.wait()
                st, _, body = node.request("POST", "/stream/stop/", params={"id": sid},
                                           timeout=30)
                with lock:
                    results[sid].append((st, body))
            time.sleep(max(0, t_start + IDLE_S + offset - time.monotonic()))
            ts = [threading.Thread(target=stop, args=(d,)) for d in (self.a, self.b)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(40)

        # Around the deadline: from 0.2 s before to 0.6 s after, where the
        # timekeeper (every 250 ms) does its stop.
        threads = [threading.Thread(target=race, args=(sid, t, -0.2 + 0.8 * i / (n - 1)))
                   for i, (sid, t) in enumerate(streams)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.wait_stopped(self.a, results, 15)
        time.sleep(1.0)
        want, api_wins = {}, 0
        for sid, res in results.items():
            statuses = sorted(s for s, _ in res)
            self.assertIn(statuses, ([200, 409], [409, 409]), (sid, res))
            for s, body in res:
                if s == 409:
                    self.assertEqual(body["error"]["code"], "stream.already_stopped", body)
            if 200 in statuses:
                api_wins += 1
                want[sid] = "api"
            else:
                want[sid] = "idle_timeout"
        feed = self.same_feed()
        self.check_auto_stopped(feed, want)
        for sid, res in results.items():
            for s, body in res:
                if s == 200:
                    rec = self.b.request("GET", "/streams/" + sid)[2]["stream"]
                    self.assertEqual(body["stream"]["stop_date"], rec["stop_date"])
        self.assertEqual(self.stopped_written(), n, "stopped events written by A + B")
        print("API stop won %d of %d races, the timer %d" % (api_wins, n, n - api_wins))

    def test_media_on_a_seen_on_b(self):
        body = self.start(self.a, "media")
        sid, tok = body["stream"]["id"], body["endpoint"]["HTTP"]["upload_token"]
        last = self.feed(self.b)[-1]["cursor"]

        def upload(name):
            conn = http.client.HTTPConnection("127.0.0.1", self.a.ports[0], timeout=10)
            try:
                conn.request("PUT", "/live/%s/%s" % (sid, name), body=SEGMENT,
                             headers={"Authorization": "Bearer " + tok})
                r = conn.getresponse()
                r.read()
                return r.status
            finally:
                conn.close()

        def poll_b(want_type, timeout):
            """Long-poll B's /events until an event of want_type for sid."""
            nonlocal last
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                st, _, got = self.b.request("GET", "/events",
                                            params={"after": str(last), "wait": "2"},
                                            timeout=30)
                self.assertEqual(st, 200, got)
                last = got["next"]
                for e in got["events"]:
                    if e["stream"]["id"] == sid and e["type"] == want_type:
                        return e
            self.fail("no %s event on node B within %ss%s" % (want_type, timeout, self.logs()))

        self.assertIn(upload("seg0.ts"), (200, 201, 204))
        pub = poll_b("stream.publishing", 15)
        self.assertEqual(pub["seq"], 2)
        self.assertEqual(pub["stream"]["media"], "publishing")
        rec = self.b.request("GET", "/streams/" + sid)[2]["stream"]
        self.assertEqual(rec["media"], "publishing")
        self.assertIsNotNone(rec["publish_date"])
        # more uploads while publishing: no new event
        for i in (1, 2):
            self.assertIn(upload("seg%d.ts" % i), (200, 201, 204))
        idle = poll_b("stream.idle", 15)
        self.assertEqual((idle["seq"], idle["cause"]), (3, "idle"))
        st, _, stopped = self.b.request("POST", "/stream/stop/", params={"id": sid})
        self.assertEqual(st, 200, stopped)
        # A's origin does not know of B's stop and still takes uploads; its
        # publishing report is about a stream no longer LIVE: no event.
        upload("seg3.ts")
        time.sleep(2.5)
        feed = self.same_feed()
        evs = [e for e in feed if e["stream"]["id"] == sid]
        self.assertEqual([(e["type"], e["seq"]) for e in evs],
                         [("stream.started", 1), ("stream.publishing", 2), ("stream.idle", 3),
                          ("stream.stopped", 4)], "events of the published stream")
        self.assertEqual(evs[-1]["reason"], "api")
        rec = self.a.request("GET", "/streams/" + sid)[2]["stream"]
        self.assertEqual((rec["state"], rec["stop_reason"], rec["media"]),
                         ("stopped", "api", "idle"))


if __name__ == "__main__":
    main_with_cluster(("store_postgres.so", "provider_local.so"))
