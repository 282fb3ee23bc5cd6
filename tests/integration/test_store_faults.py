# SPDX-License-Identifier: Apache-2.0
"""Store faults: real faults injected under a running broadcastd's sqlite
store, each checked for the documented answer (docs/stores.md, "Faults"),
no partial record, no crash, and recovery without a restart.

The faults, each made real and then lifted while the daemon runs:

 - unwritable: `chattr +i` on the database file and its -wal file. chmod
   would not do: the daemon keeps both files open, and permissions are
   checked only at open(), so writes through its descriptors go on (and
   the tests run as root anyway). The immutable flag is checked on every
   write(2) (EPERM). The -shm file is left alone: it is memory-mapped, and
   the kernel answers a write to a mapping of an immutable file with
   SIGBUS, which no program can survive. -> 503 sqlite.io
 - disk full: the store's folder is a 2 MiB tmpfs, filled up with a filler
   file, then the filler is deleted. -> 503 sqlite.full
 - locked: another process (python's sqlite3) holds BEGIN EXCLUSIVE on the
   file for longer than busy_timeout (300 ms here), then rolls back.
   -> 503 sqlite.busy

For each fault: starts during it (the first finds it at its commit and
its endpoint is rolled back; after that a start fails before any provider
is asked: nothing written, no local-origin folder), a start whose commit
fails because the fault began while the provider was minting (the
provider's endpoint is rolled back, nothing of it in the file), a stop
during it (the stream stays live and is stopped later),
/healthz at 503 during and 200 after, the daemon alive throughout, and one
ERROR line when writes start failing, one INFO line when they succeed again.
A fault the kernel does not offer (chattr or mount not permitted) skips its
tests with the reason; nothing is skipped silently.
"""
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

import bctest

BUSY_TIMEOUT = "300ms"


def make_config(store_dir):
    return bctest.config(store="""
type: sqlite
path: "%s/streams.db"
busy_timeout: %s
""" % (store_dir, BUSY_TIMEOUT), providers="""
- name: test
  type: test
- name: local
  type: local
  listen: "127.0.0.1:@PORT1@"
  root: "@TMP@/hls"
""")


def rows(db):
    """{id: state} of every row, PENDING ones included, read beside the
    daemon (WAL readers never wait for its writer or a lock holder)."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
    try:
        return dict(con.execute("SELECT id, state FROM streams").fetchall())
    finally:
        con.close()


# ---- the faults ----------------------------------------------------------------

class Immutable:
    code = "sqlite.io"

    def __init__(self, store_dir):
        self.store_dir = store_dir
        self.files = []

    def available(self):
        """None if `chattr +i` really stops writes through an open file
        here, else why not."""
        probe = os.path.join(self.store_dir, "probe")
        fd = os.open(probe, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            r = subprocess.run(["chattr", "+i", probe], capture_output=True, text=True)
            if r.returncode != 0:
                return "chattr +i is not supported here: " + r.stderr.strip()
            try:
                os.write(fd, b"x")
                return "chattr +i does not stop writes through an open file here"
            except PermissionError:
                return None
            finally:
                subprocess.run(["chattr", "-i", probe], capture_output=True)
        finally:
            os.close(fd)
            os.unlink(probe)

    def inject(self):
        db = os.path.join(self.store_dir, "streams.db")
        self.files = [db, db + "-wal"]
        subprocess.run(["chattr", "+i"] + self.files, check=True)

    def clear(self):
        if self.files:
            subprocess.run(["chattr", "-i"] + self.files, check=True)
            self.files = []


class DiskFull:
    code = "sqlite.full"

    def __init__(self, store_dir):
        self.store_dir = store_dir
        self.filler = os.path.join(store_dir, "filler")

    def inject(self):
        with open(self.filler, "wb") as f:
            chunk = b"\0" * 65536
            try:
                while True:
                    f.write(chunk)
                    f.flush()
            except OSError:
                pass
        # Not one page left, not even a partial one.
        st = os.statvfs(self.store_dir)
        assert st.f_bavail == 0, "the tmpfs still has %d blocks free" % st.f_bavail

    def clear(self):
        if os.path.exists(self.filler):
            os.unlink(self.filler)


class Lock:
    code = "sqlite.busy"

    def __init__(self, store_dir):
        self.db = os.path.join(store_dir, "streams.db")
        self.con = None

    def inject(self):
        self.con = sqlite3.connect(self.db, isolation_level=None, timeout=5)
        self.con.execute("BEGIN EXCLUSIVE")

    def clear(self):
        if self.con is not None:
            self.con.execute("ROLLBACK")
            self.con.close()
            self.con = None


# ---- the checks, the same for every fault ------------------------------------------

class FaultChecks:
    """Mixed into one TestCase per fault; setUp makes self.store_dir and
    self.fault, then starts the daemon."""

    def start_daemon(self):
        self.d = bctest.Daemon(make_config(self.store_dir)).start()
        self.db = os.path.join(self.store_dir, "streams.db")
        self.addCleanup(self.stop_daemon)

    def stop_daemon(self):
        try:
            self.fault.clear()
        finally:
            rc = self.d.stop()
            self.d.kill()
            shutil.rmtree(self.d.tmp, ignore_errors=True)
        self.assertEqual(rc, 0, self.d.log_text()[-3000:])

    def alive(self):
        self.assertIsNone(self.d.proc.poll(), "broadcastd died:\n" + self.d.log_text()[-3000:])

    def start(self, **params):
        st, hdrs, body = self.d.request("POST", "/stream/start/", params=params)
        self.assertEqual(st, 200, body)
        return body["stream"]["id"], body

    def assert_fault_answer(self, status, headers, body):
        bctest.assert_error(self, status, body, 503, self.fault.code)
        self.assertEqual(headers.get("retry-after"), "1", headers)
        # Clear to an API caller, and no server path in it.
        self.assertNotIn(self.store_dir, body["error"]["message"])

    def assert_unhealthy(self):
        st, _, body = self.d.request("GET", "/healthz")
        self.assertEqual(st, 503, body)
        self.assertEqual(body["store"]["status"], "unavailable", body)
        self.assertEqual(body["store"]["code"], self.fault.code, body)

    def assert_recovered(self):
        """No restart: the next health check, start and stop succeed, and
        the log says writes failed once and succeed again."""
        st, _, body = self.d.request("GET", "/healthz")
        self.assertEqual(st, 200, body)
        sid, _ = self.start(name="after")
        st, _, body = self.d.request("POST", "/stream/stop/", params={"id": sid})
        self.assertEqual(st, 200, body)
        log = self.d.log_text()
        self.assertEqual(log.count("ERROR [sqlite] writes to %s fail: %s:"
                                   % (self.db, self.fault.code)), 1, log[-3000:])
        self.assertIn("INFO  [sqlite] writes to %s succeed again" % self.db, log)
        self.alive()

    # -- the three moments a fault can hit ------------------------------------------

    def test_start_during_fault_writes_nothing(self):
        self.start_daemon()
        before = rows(self.db)
        hls = os.path.join(self.d.tmp, "hls")
        folders = sorted(os.listdir(hls))
        self.fault.inject()
        # The first start finds the fault at its commit (a reservation is
        # only in memory): what the test provider minted is finished again.
        # From then on the store knows writes fail, and a start fails
        # before any provider is asked: the local origin makes no folder.
        for provider in ("test", "local", "test"):
            with self.subTest(provider=provider):
                st, hdrs, body = self.d.request("POST", "/stream/start/",
                                                params={"name": "during", "provider": provider})
                self.assert_fault_answer(st, hdrs, body)
                self.alive()
        self.assert_unhealthy()
        self.fault.clear()
        self.assertEqual(rows(self.db), before)
        log = self.d.log_text()
        minted = re.findall(r"minted \S+ for stream (\S+)", log)
        self.assertEqual(len(minted), 1, log[-3000:])
        self.assertIn("finished stream %s" % minted[0], log)
        self.assertEqual(sorted(os.listdir(hls)), folders)
        self.assert_recovered()

    def test_commit_fault_rolls_back_the_start(self):
        self.start_daemon()
        result = {}

        def slow_start():
            result["answer"] = self.d.request("POST", "/stream/start/",
                                              params={"name": "slow-start-1500"}, timeout=20)

        t = threading.Thread(target=slow_start, daemon=True)
        t.start()
        # The stream is reserved and the provider is minting: now the
        # fault begins, so the commit after it fails.
        deadline = time.monotonic() + 5
        found = None
        while found is None and time.monotonic() < deadline:
            found = re.search(r"stream (\S+): start sleeps", self.d.log_text())
            time.sleep(0.02)
        self.assertIsNotNone(found, "the provider did not start minting within 5s")
        sid = found.group(1)
        self.fault.inject()
        t.join(20)
        self.assertFalse(t.is_alive(), "the start did not answer within 20s")
        self.assert_fault_answer(*result["answer"])
        self.alive()
        log = self.d.log_text()
        # What the provider minted was finished again (the rollback).
        self.assertRegex(log, r"minted \S+ for stream %s" % sid)
        self.assertIn("finished stream %s" % sid, log)
        st, _, body = self.d.request("GET", "/streams/" + sid)
        bctest.assert_error(self, st, body, 404, "stream.not_found")
        self.fault.clear()
        self.assert_recovered()
        # Nothing of the failed start is in the file: the reservation was
        # in memory, and the rollback's abort dropped it.
        self.assertNotIn(sid, rows(self.db))
        self.assertNotIn(1, rows(self.db).values())

    def test_stop_during_fault_keeps_the_stream_live(self):
        self.start_daemon()
        sids = [self.start(name="cam", provider=p)[0] for p in ("test", "local")]
        self.fault.inject()
        for sid in sids:
            st, hdrs, body = self.d.request("POST", "/stream/stop/", params={"id": sid})
            self.assert_fault_answer(st, hdrs, body)
            self.alive()
            st, _, body = self.d.request("GET", "/streams/" + sid)
            self.assertEqual(st, 200, body)
            self.assertEqual(body["stream"]["state"], "live", body)
            self.assertIsNone(body["stream"]["stop_date"], body)
        self.assert_unhealthy()
        self.fault.clear()
        for sid in sids:
            st, _, body = self.d.request("POST", "/stream/stop/", params={"id": sid})
            self.assertEqual(st, 200, body)
            self.assertTrue(body["stream"]["stop_date"], body)
            self.assertEqual(rows(self.db)[sid], 3)
        self.assert_recovered()


# ---- one TestCase per fault ------------------------------------------------------------

class UnwritableFile(FaultChecks, unittest.TestCase):
    def setUp(self):
        self.store_dir = tempfile.mkdtemp(prefix="bc-faults-")
        self.addCleanup(shutil.rmtree, self.store_dir, True)
        self.fault = Immutable(self.store_dir)
        why = self.fault.available()
        if why:
            self.skipTest(why)


class DiskFullTmpfs(FaultChecks, unittest.TestCase):
    def setUp(self):
        self.store_dir = tempfile.mkdtemp(prefix="bc-faults-")
        self.addCleanup(shutil.rmtree, self.store_dir, True)
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs",
                            self.store_dir], capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs here: " + r.stderr.strip())
        # Runs before the rmtree (cleanups are last in, first out).
        self.addCleanup(self.unmount)
        self.fault = DiskFull(self.store_dir)

    def unmount(self):
        r = subprocess.run(["umount", self.store_dir], capture_output=True, text=True)
        if r.returncode != 0:
            subprocess.run(["umount", "-l", self.store_dir], check=True)
            self.fail("umount %s: %s" % (self.store_dir, r.stderr))


class LockedByAnotherProcess(FaultChecks, unittest.TestCase):
    def setUp(self):
        self.store_dir = tempfile.mkdtemp(prefix="bc-faults-")
        self.addCleanup(shutil.rmtree, self.store_dir, True)
        self.fault = Lock(self.store_dir)


if __name__ == "__main__":
    unittest.main(verbosity=2)
