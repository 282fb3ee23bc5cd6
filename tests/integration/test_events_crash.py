# SPDX-License-Identifier: Apache-2.0
"""The durable event feed (docs/events.md) across SIGKILLs of broadcastd.

The real broadcastd runs on an SQLite store with two instances of the local
provider, so media reports come from real uploads: `plain` (idle_after 1s,
no timers) and `timed` (idle_after 1s, idle_timeout 3s). Each round, a few
client threads start streams on either instance, upload a small .ts segment
to some of them with the upload token, and stop some of them, while a reader
long-polls GET /events; the daemon gets SIGKILL at a random moment, is
started again on the same state folder, and then:

* every start the clients saw acknowledged (200) has exactly one
  stream.started event; every acknowledged stop exactly one stream.stopped
  event, with reason "api";
* the other direction is checked against the store, not the acks (a start
  committed just before the kill exists without its ack): every event's
  stream exists; every LIVE or STOPPED record has exactly one started event,
  every STOPPED one exactly one stopped event whose reason is the record's
  stop_reason, no LIVE one has a stopped event; streams nobody uploaded to
  have no media event; a stopped record's media is that of its last media
  event;
* per stream, seq is 1..n without gaps or duplicates, started first and
  stopped last; cursors strictly increase through the paged feed;
* every event the reader saw before the kill is still there, unchanged, and
  no event appeared later at or below a cursor already seen (the feed only
  grows at its end), also across rounds;
* the timers resume: a `timed` stream that was never published and is LIVE
  after the restart is stopped within idle_timeout + a generous margin, with
  reason idle_timeout (and not before idle_timeout after its start).

The random seed is printed (BC_SEED=N repeats a run's choices)."""
import datetime
import http.client
import json
import os
import random
import shutil
import signal
import threading
import time
import unittest
import urllib.parse

import bctest

TIMEOUT_S = 170          # the whole test, hard bound (a hung daemon or client)
ROUNDS = 6
THREADS = 3
IDLE_TIMEOUT_S = 3
IDLE_AFTER_S = 1
MARGIN_S = 12            # for a timer after the restart: generous (ASan, 2 cores)
SEGMENT = b"\x47" + b"\x00" * 187     # one MPEG-TS packet

CONFIG = bctest.config(providers="""
- name: plain
  type: local
  listen: "127.0.0.1:@PORT1@"
  root: "@TMP@/hls-plain"
  idle_after: %ds
- name: timed
  type: local
  listen: "127.0.0.1:@PORT2@"
  root: "@TMP@/hls-timed"
  idle_after: %ds
  idle_timeout: %ds
""" % (IDLE_AFTER_S, IDLE_AFTER_S, IDLE_TIMEOUT_S))

ORIGIN_PORT = {"plain": 0, "timed": 1}   # index into Daemon.ports


def on_alarm(signum, frame):
    raise TimeoutError("test_events_crash took longer than %ss" % TIMEOUT_S)


def parse_date(text):
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


class Dead(Exception):
    """The daemon did not answer: killed (or in the middle of it)."""


def call(port, method, path, params=None, body=None, token=None, timeout=15):
    """One request on a fresh connection; (status, parsed JSON or bytes).
    A connection that breaks raises Dead."""
    headers = {}
    if params is not None:
        body = urllib.parse.urlencode(params).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        raw = r.read()
    except (OSError, http.client.HTTPException) as e:
        raise Dead(repr(e))
    finally:
        conn.close()
    if r.getheader("Content-Type", "").startswith("application/json"):
        try:
            return r.status, json.loads(raw)
        except ValueError:
            pass
    return r.status, raw


class Client(threading.Thread):
    """Start, upload to and stop streams until the daemon dies or `halt` is
    set; record what was acknowledged."""

    def __init__(self, d, rng, halt, tag):
        super().__init__(daemon=True)
        self.d, self.rng, self.halt, self.tag = d, rng, halt, tag
        self.started = {}       # id -> instance, for starts answered 200
        self.stopped = set()    # ids whose stop was answered 200
        self.conflicts = set()  # ids whose stop was a 409 (an auto-stop won)
        self.uploaded = set()   # ids an upload was at least sent to
        self.tokens = {}        # id -> upload token
        self.errors = []        # unexpected answers

    def run(self):
        i = 0
        try:
            while not self.halt.is_set():
                i += 1
                inst = self.rng.choice(("plain", "timed"))
                st, body = call(self.d.http_port, "POST", "/stream/start/",
                                params={"type": "hls", "provider": inst,
                                        "name": "%s-%d" % (self.tag, i)})
                if st != 200:
                    self.errors.append(("start", st, body))
                    continue
                sid = body["stream"]["id"]
                self.started[sid] = inst
                tok = body["endpoint"]["HTTP"]["upload_token"]
                self.tokens[sid] = tok
                if self.rng.random() < 0.6:
                    self.uploaded.add(sid)   # before sending: it may land unanswered
                    st, body = call(self.d.ports[ORIGIN_PORT[inst]], "PUT",
                                    "/live/%s/seg0.ts" % sid, body=SEGMENT, token=tok)
                    if st not in (200, 201, 204):
                        self.errors.append(("upload", sid, st, body))
                if self.rng.random() < 0.5:
                    if self.rng.random() < 0.5:
                        time.sleep(self.rng.uniform(0, 0.2))
                    st, body = call(self.d.http_port, "POST", "/stream/stop/",
                                    params={"id": sid})
                    if st == 200:
                        self.stopped.add(sid)
                    elif st == 409 and inst == "timed":
                        self.conflicts.add(sid)
                    else:
                        self.errors.append(("stop", sid, st, body))
        except Dead:
            pass


class Reader(threading.Thread):
    """Long-polls GET /events from `after` until the daemon dies."""

    def __init__(self, d, after, halt):
        super().__init__(daemon=True)
        self.d, self.after, self.halt = d, after, halt
        self.seen = []
        self.errors = []

    def run(self):
        after = self.after
        try:
            while not self.halt.is_set():
                st, body = call(self.d.http_port, "GET",
                                "/events?after=%d&limit=50&wait=1" % after, timeout=20)
                if st != 200:
                    self.errors.append((st, body))
                    time.sleep(0.05)
                    continue
                self.seen += body["events"]
                after = body["next"]
        except Dead:
            pass


def key(e):
    """What must not change about a stored event."""
    return (e["cursor"], e["type"], e["seq"], e["stream"]["id"], e["time"],
            e.get("reason"), e.get("cause"))


class EventsCrash(unittest.TestCase):
    def setUp(self):
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(TIMEOUT_S)
        seed = int(os.environ.get("BC_SEED", random.randrange(1 << 30)))
        print("BC_SEED=%d" % seed)
        self.rng = random.Random(seed)
        self.d = bctest.Daemon(CONFIG)

    def tearDown(self):
        signal.alarm(0)
        self.d.kill()
        if getattr(self.d, "_log", None):
            self.d._log.close()

    # -- reading the daemon ---------------------------------------------------
    def feed(self):
        """The whole feed, paged with after/limit; checks the paging."""
        out, after = [], 0
        for _ in range(10000):
            st, body = call(self.d.http_port, "GET", "/events?after=%d&limit=37" % after)
            self.assertEqual(st, 200, body)
            evs = body["events"]
            if not evs:
                self.assertEqual(body["next"], after, body)
                return out
            self.assertEqual(body["next"], evs[-1]["cursor"], body)
            out += evs
            after = body["next"]
        self.fail("the feed does not end")

    def records(self):
        """Every stream in the store: {id: record}."""
        out, cursor = {}, None
        for _ in range(10000):
            q = {"state": "all", "limit": "100"}
            if cursor:
                q["cursor"] = cursor
            st, body = call(self.d.http_port, "GET", "/streams?" + urllib.parse.urlencode(q))
            self.assertEqual(st, 200, body)
            for r in body["streams"]:
                self.assertNotIn(r["id"], out, "a stream listed twice")
                out[r["id"]] = r
            cursor = body["next_cursor"]
            if not cursor:
                return out
        self.fail("the list does not end")

    def log_tail(self):
        return self.d.log_text()[-3000:]

    # -- one round -------------------------------------------------------------
    def load_and_kill(self, rnd):
        """Load, SIGKILL at a random moment; returns (clients, reader)."""
        start_feed = self.feed()
        after = start_feed[-1]["cursor"] if start_feed else 0
        halt = threading.Event()
        clients = [Client(self.d, random.Random(self.rng.random()), halt, "r%dc%d" % (rnd, n))
                   for n in range(THREADS)]
        reader = Reader(self.d, after, halt)
        for t in clients + [reader]:
            t.start()
        # A random moment, but only once some work was acknowledged (a slow
        # machine or ASan takes longer to get there).
        time.sleep(self.rng.uniform(0.3, 2.0))
        deadline = time.monotonic() + 15
        while (sum(len(c.started) for c in clients) < 4 and time.monotonic() < deadline):
            time.sleep(0.05)
        os.kill(self.d.proc.pid, signal.SIGKILL)
        self.d.proc.wait(10)
        halt.set()
        self.assertEqual(self.d.proc.returncode, -signal.SIGKILL)
        for t in clients + [reader]:
            t.join(30)
            self.assertFalse(t.is_alive(), "a client thread hung after the kill")
        self.d._log.close()
        errors = [e for c in clients for e in c.errors] + reader.errors
        self.assertEqual(errors, [], "unexpected answers under load:\n" + self.log_tail())
        self.assertGreaterEqual(sum(len(c.started) for c in clients), 1,
                                "no start acknowledged before the kill:\n" + self.log_tail())
        return clients, start_feed + reader.seen

    # -- the checks --------------------------------------------------------------
    def check(self, acked_starts, acked_stops, uploaded, known):
        """Feed vs store vs acks; returns (feed, records). `known`: events
        read earlier, a gapless stretch of the feed from its start (the
        feed of an earlier check, plus what the reader then saw)."""
        feed, recs = self.feed(), self.records()
        cursors = [e["cursor"] for e in feed]
        self.assertEqual(cursors, sorted(set(cursors)), "cursors not strictly increasing")
        # Nothing read before is lost or changed, and nothing new appeared
        # at or below a cursor already read (the feed only grows at its end).
        now = {e["cursor"]: e for e in feed}
        for e in known:
            self.assertIn(e["cursor"], now, "an event read before the SIGKILL is gone: %r" % e)
            self.assertEqual(key(now[e["cursor"]]), key(e), "an event changed after the SIGKILL")
        top = max([e["cursor"] for e in known] + [0])
        old = {e["cursor"] for e in known}
        late = [e for e in feed if e["cursor"] <= top and e["cursor"] not in old]
        self.assertEqual(late, [], "events appeared at or below cursor %d, already read" % top)

        by_stream = {}
        for e in feed:
            by_stream.setdefault(e["stream"]["id"], []).append(e)
        for sid, evs in by_stream.items():
            self.assertIn(sid, recs, "an event of a stream not in the store: %r" % evs[0])
            rec = recs[sid]
            seqs = [e["seq"] for e in evs]
            self.assertEqual(seqs, list(range(1, len(evs) + 1)),
                             "stream %s: seq not 1..n: %r" % (sid, [(e["seq"], e["type"])
                                                                    for e in evs]))
            types = [e["type"] for e in evs]
            self.assertEqual(types[0], "stream.started", (sid, types))
            self.assertEqual(types.count("stream.started"), 1, (sid, types))
            self.assertLessEqual(types.count("stream.stopped"), 1,
                                 "stream %s stopped twice: %r" % (sid, types))
            if "stream.stopped" in types:
                self.assertEqual(types[-1], "stream.stopped", (sid, types))
            for e in evs:
                self.assertEqual(e["stream"]["id"], sid)
            if sid not in uploaded:
                self.assertEqual([t for t in types if t in ("stream.publishing", "stream.idle")],
                                 [], "stream %s got media events without an upload" % sid)
        for sid, rec in recs.items():
            evs = by_stream.get(sid, [])
            types = [e["type"] for e in evs]
            self.assertIn(rec["state"], ("live", "stopped"), rec)
            self.assertEqual(types.count("stream.started"), 1,
                             "record %s (%s) has %d started events"
                             % (sid, rec["state"], types.count("stream.started")))
            if rec["state"] == "live":
                self.assertNotIn("stream.stopped", types, "a LIVE record with a stopped event")
            else:
                self.assertEqual(types.count("stream.stopped"), 1,
                                 "STOPPED record %s has %d stopped events: %r"
                                 % (sid, types.count("stream.stopped"), types))
                stop = evs[-1]
                self.assertEqual(stop["reason"], rec["stop_reason"], (rec, stop))
                self.assertEqual(stop["stream"]["stop_reason"], rec["stop_reason"])
                self.assertEqual(stop["stream"]["stop_date"], rec["stop_date"])
                media = [e for e in evs if e["type"] in ("stream.publishing", "stream.idle")]
                want = "publishing" if media and media[-1]["type"] == "stream.publishing" \
                    else "idle"
                self.assertEqual(rec["media"], want,
                                 "stopped record %s: media %r, last media event says %r"
                                 % (sid, rec["media"], want))
        # The acknowledged writes.
        for sid in acked_starts:
            self.assertIn(sid, recs, "an acknowledged start is not in the store")
            types = [e["type"] for e in by_stream.get(sid, [])]
            self.assertEqual(types.count("stream.started"), 1,
                             "acknowledged start %s: %r" % (sid, types))
        for sid in acked_stops:
            self.assertEqual(recs[sid]["state"], "stopped", recs[sid])
            self.assertEqual(recs[sid]["stop_reason"], "api", recs[sid])
            stops = [e for e in by_stream.get(sid, []) if e["type"] == "stream.stopped"]
            self.assertEqual(len(stops), 1, "acknowledged stop %s: %d stopped events"
                             % (sid, len(stops)))
            self.assertEqual(stops[0]["reason"], "api")
        return feed, recs

    def wait_timers(self, recs, uploaded, ready, all_timed):
        """The `timed` streams LIVE at the restart (never published ones, or
        all of them) get stopped by the resumed timer."""
        want = [sid for sid, r in recs.items() if r["provider"] == "timed" and
                r["state"] == "live" and (all_timed or sid not in uploaded)]
        limit = IDLE_TIMEOUT_S + MARGIN_S + (IDLE_AFTER_S if all_timed else 0)
        pending = set(want)
        while pending and time.monotonic() < ready + limit:
            for sid in list(pending):
                st, body = call(self.d.http_port, "GET", "/streams/%s" % sid)
                self.assertEqual(st, 200, body)
                if body["stream"]["state"] == "stopped":
                    pending.discard(sid)
            time.sleep(0.2)
        self.assertEqual(pending, set(), "timed streams still LIVE %ss after the restart:\n%s"
                         % (limit, self.log_tail()))
        for sid in want:
            st, body = call(self.d.http_port, "GET", "/streams/%s" % sid)
            rec = body["stream"]
            self.assertEqual(rec["stop_reason"], "idle_timeout", rec)
            lived = (parse_date(rec["stop_date"]) - parse_date(rec["start_date"])).total_seconds()
            # dates have whole seconds: one second of slack for the rounding
            self.assertGreaterEqual(lived, IDLE_TIMEOUT_S - 1, "stopped too early: %r" % rec)
        return len(want)

    def test_feed_survives_sigkill(self):
        acked_starts, acked_stops, uploaded, tokens = set(), set(), set(), {}
        feed = []
        self.d.start()
        t0 = time.monotonic()
        totals = [0, 0, 0, 0]
        for rnd in range(ROUNDS):
            clients, known = self.load_and_kill(rnd)
            self.assertEqual([key(e) for e in known[:len(feed)]], [key(e) for e in feed],
                             "the feed changed while the daemon ran")
            for c in clients:
                acked_starts |= set(c.started)
                acked_stops |= c.stopped
                uploaded |= c.uploaded
                tokens.update(c.tokens)
            self.d.start()
            ready = time.monotonic()
            feed, recs = self.check(acked_starts, acked_stops, uploaded, known)
            last = rnd == ROUNDS - 1
            resumed = self.wait_timers(recs, uploaded, ready, all_timed=last)
            # A LIVE stream is still uploadable after the restart (its
            # token re-admitted), also one whose unacknowledged stop reached
            # the provider but not the store.
            live = sorted(sid for sid, r in recs.items() if r["state"] == "live" and
                          r["provider"] == "plain" and sid in tokens)
            for sid in live[:8]:
                uploaded.add(sid)
                st, body = call(self.d.ports[ORIGIN_PORT["plain"]], "PUT",
                                "/live/%s/after%d.ts" % (sid, rnd), body=SEGMENT,
                                token=tokens[sid])
                self.assertIn(st, (200, 201, 204), "upload to LIVE stream %s after the restart: "
                              "%s %r\n%s" % (sid, st, body, self.log_tail()))
            # once the timers have run: the same checks again
            feed, recs = self.check(acked_starts, acked_stops, uploaded, feed)
            n = (sum(len(c.started) for c in clients), sum(len(c.stopped) for c in clients),
                 len(known), resumed)
            totals = [a + b for a, b in zip(totals, n)]
            print("round %d: %d starts and %d stops acknowledged, %d events read before the kill, "
                  "%d timers resumed" % ((rnd,) + n))
        reasons = {}
        for r in recs.values():
            reasons[r.get("stop_reason")] = reasons.get(r.get("stop_reason"), 0) + 1
        print("%d rounds in %.1fs: %d streams, %d events, reasons %r"
              % (ROUNDS, time.monotonic() - t0, len(recs), len(feed), reasons))
        self.assertGreater(totals[3], 0, "no timer was resumed after a restart in any round")
        self.assertGreater(reasons.get("idle_timeout", 0), 0)
        self.assertGreater(reasons.get("api", 0), 0)
        self.assertTrue(any(e["type"] == "stream.publishing" for e in feed),
                        "no upload was ever reported as publishing:\n" + self.log_tail())
        self.assertEqual(self.d.stop(), 0, self.log_tail())
        shutil.rmtree(self.d.tmp, ignore_errors=True)


if __name__ == "__main__":
    if not any(os.path.exists(os.path.join(p, "provider_local.so"))
               for p in os.environ.get("BROADCAST_PLUGIN_PATH", "").split(":") if p):
        print("SKIP: the local provider is not built")
        raise SystemExit(77)
    unittest.main(verbosity=2)
