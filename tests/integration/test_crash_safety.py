# SPDX-License-Identifier: Apache-2.0
"""Crash safety: an acknowledged write survives SIGKILL.

The real broadcastd runs on an SQLite store with the test provider. A few
client threads start and stop streams as fast as it answers, each over its
own keep-alive HTTP connection, and remember every start and every stop the
daemon acknowledged with a 2xx. In the middle of that load the daemon gets
SIGKILL (no drain, no cleanup). A new daemon is then started on the same
database file, and every acknowledged start must be there (GET
/streams/{id}: 200) and every acknowledged stop must have its stop_date and
state "stopped". Requests that were in flight at the kill have no answer and
may have landed or not; they are not checked, except that the database must
open and pass SQLite's integrity check. Two rounds run against the same file,
so the second daemon also recovers a database that a killed daemon left.
"""
import http.client
import json
import os
import shutil
import signal
import sqlite3
import tempfile
import threading
import time
import unittest

import bctest

TIMEOUT_S = 55      # the whole test, hard bound
THREADS = 4
LOAD_S = 1.5        # least load before the kill
MIN_ACKED = 40      # a round must have done real work to mean anything

CONFIG = bctest.config(store='''
type: sqlite
path: "@DB@"
''')


def on_alarm(signum, frame):
    raise TimeoutError("test_crash_safety took longer than %ss" % TIMEOUT_S)


class Client(threading.Thread):
    """Start, and every other time stop, streams until the daemon dies or
    `halt` is set; record what was acknowledged."""

    def __init__(self, port, n, halt):
        super().__init__(daemon=True)
        self.port, self.n, self.halt = port, n, halt
        self.started = []   # ids whose start got a 2xx
        self.stopped = []   # ids whose stop got a 2xx
        self.errors = []    # unexpected answers (not a dead connection)
        self.died = False   # the connection broke: the daemon was killed

    def call(self, conn, path, params):
        body = "&".join("%s=%s" % kv for kv in params.items())
        conn.request("POST", path, body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        return r.status, r.read()

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        i = 0
        try:
            while not self.halt.is_set():
                i += 1
                st, raw = self.call(conn, "/stream/start/",
                                    {"type": "hls", "name": "t%d-%d" % (self.n, i)})
                if st // 100 != 2:
                    self.errors.append((st, raw[:200]))
                    continue
                sid = json.loads(raw)["stream"]["id"]
                self.started.append(sid)
                if i % 2 == 0:
                    st, raw = self.call(conn, "/stream/stop/", {"id": sid})
                    if st // 100 != 2:
                        self.errors.append((st, raw[:200]))
                        continue
                    self.stopped.append(sid)
        except (OSError, http.client.HTTPException):
            # ConnectionResetError, RemoteDisconnected, BrokenPipe: the kill.
            self.died = True
        finally:
            conn.close()


class CrashSafety(unittest.TestCase):
    def setUp(self):
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(TIMEOUT_S)
        self.dbdir = tempfile.mkdtemp(prefix="bctest-crash-")
        self.db = os.path.join(self.dbdir, "streams.db")
        self.daemons = []

    def tearDown(self):
        signal.alarm(0)
        for d in self.daemons:
            d.kill()
            if getattr(d, "_log", None):
                d._log.close()

    def daemon(self):
        d = bctest.Daemon(CONFIG.replace("@DB@", self.db))
        self.daemons.append(d)
        return d.start()

    def load_and_kill(self):
        """One round: load, SIGKILL mid-load; returns (started, stopped)."""
        d = self.daemon()
        halt = threading.Event()
        clients = [Client(d.http_port, n, halt) for n in range(THREADS)]
        for c in clients:
            c.start()
        # At least LOAD_S of load, and enough acknowledged work to mean
        # something even on a slow machine or under valgrind.
        time.sleep(LOAD_S)
        deadline = time.monotonic() + 15
        while (sum(len(c.started) for c in clients) < MIN_ACKED
               and time.monotonic() < deadline and all(c.is_alive() for c in clients)):
            time.sleep(0.05)
        alive = [c.is_alive() for c in clients]
        os.kill(d.proc.pid, signal.SIGKILL)
        d.proc.wait(10)
        halt.set()
        for c in clients:
            c.join(15)
            self.assertFalse(c.is_alive(), "a client thread hung after the kill")
        # The kill really came in the middle of the load.
        self.assertTrue(all(alive), "a client stopped before the kill")
        self.assertEqual(d.proc.returncode, -signal.SIGKILL)
        errors = [e for c in clients for e in c.errors]
        self.assertEqual(errors, [], "non-2xx answers under load")
        started = [s for c in clients for s in c.started]
        stopped = [s for c in clients for s in c.stopped]
        self.assertGreaterEqual(len(started), MIN_ACKED,
                                "too few starts acknowledged to test anything:\n"
                                + d.log_text()[-2000:])
        print("round: %d starts and %d stops acknowledged before SIGKILL"
              % (len(started), len(stopped)))
        return started, stopped

    def check_survived(self, d, started, stopped):
        conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10)
        missing, not_stopped = [], []
        stopped_set = set(stopped)
        try:
            for sid in started:
                conn.request("GET", "/streams/%s" % sid)
                r = conn.getresponse()
                raw = r.read()
                if r.status != 200:
                    missing.append((sid, r.status, raw[:200]))
                    continue
                stream = json.loads(raw)["stream"]
                self.assertEqual(stream["id"], sid)
                if sid in stopped_set and (stream.get("stop_date") is None
                                           or stream.get("state") != "stopped"):
                    not_stopped.append((sid, stream))
        finally:
            conn.close()
        if missing:
            self.fail("%d of %d acknowledged starts lost in the crash, e.g. %r"
                      % (len(missing), len(started), missing[:3]))
        if not_stopped:
            self.fail("%d of %d acknowledged stops lost in the crash, e.g. %r"
                      % (len(not_stopped), len(stopped), not_stopped[:3]))

    def test_acknowledged_writes_survive_sigkill(self):
        all_started, all_stopped = [], []
        for _ in range(2):
            started, stopped = self.load_and_kill()
            all_started += started
            all_stopped += stopped
            d = self.daemon()
            self.check_survived(d, all_started, all_stopped)
            # The restarted daemon takes new work on the recovered file.
            st, _, body = d.request("POST", "/stream/start/", params={"name": "after"})
            self.assertEqual(st, 200, body)
            self.assertEqual(d.stop(), 0, d.log_text()[-2000:])
        con = sqlite3.connect(self.db)
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        finally:
            con.close()
        for d in self.daemons:
            shutil.rmtree(d.tmp, ignore_errors=True)
        shutil.rmtree(self.dbdir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
