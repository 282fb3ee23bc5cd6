# SPDX-License-Identifier: Apache-2.0
"""System calls per start and per stop (issue 24): a count, not a time.

broadcastd runs with the sqlite store (synchronous: full) and the http
frontend, once with the test provider and once with the local provider.
After a warm-up, `strace -f -c` attaches to every thread of the daemon,
N start+stop pairs go over one keep-alive connection (python http.client,
one request at a time: no group commit shares a flush between two
requests, so the counts do not depend on timing), strace detaches and its
summary is divided by the number of requests.

Counts on the 2-core CI VM hardly move with load (the calls a request
makes are the same however slowly they run), except the futex calls and
the idle wake-ups (CivetWeb's master thread polls its listening sockets
once a second, the host's media timekeeper ticks every 250 ms): those come
per second, not per request, and add a few hundredths of a call a request
while strace slows the daemon down. Futex counts depend on which thread
gets to a lock first, so their bound is loose. Each bound below is the
measurement of docs/performance.md ("System calls per request") with a
margin, and says what it allows; a change that adds a flush, a file, a
write or a lock round trip per request fails here, and so does a store
that stops flushing its commits.

Skipped (exit 77) without strace or when ptrace is not allowed, and under
AddressSanitizer, whose runtime makes system calls of its own (mmap,
madvise for its allocator) that are not the daemon's.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

import bctest

PAIRS = int(os.environ.get("SYSCALL_PAIRS", "200"))

# Per request (a start or a stop; half of each): (lowest, highest) allowed.
# Measured 2026-12-06 (docs/performance.md, "System calls per request"):
# test + sqlite 32.3 calls a request, local + sqlite 31.4, both with
# pwrite64 14.3 (16.3 since schema 5, 2026-12-07), fcntl 8.1, pread64 3.9,
# fdatasync 1.0, recvfrom, sendto,
# poll 1.0 each, getrandom 1.0 (local) or 2.0 (test), futex 0.03-0.05.
COMMON = {
    # synchronous: full: with one request at a time each start's and each
    # stop's commit is its own batch, so exactly one flush each (the WAL's
    # fdatasync); a checkpoint adds a few over the run. Fewer than one
    # means acknowledged writes are not on disk (the PRAGMA bug fixed in
    # issue 24); more means someone added a flush to the request path.
    "flush": (0.9, 1.2),
    # No file made, opened, renamed or touched a start or a stop (the local
    # provider's folder comes with the first upload): 0 measured.
    "file": (0, 0.05),
    # write(2)/writev: at log level warn nothing is logged a request (the
    # HTTP response goes out with sendto): 0 measured.
    "write": (0, 0.05),
    # SQLite's WAL: two pwrite64 a page written (frame header, page), about
    # eight pages a start and six a stop, plus the checkpoints: 16.3 (14.3
    # before schema 5's partial index of LIVE rows, which a start and a stop
    # each change: one page, shared by a whole batch under load).
    "pwrite": (0, 17.0),
    # Locks handed to another thread: none needed with one request at a
    # time (0.03-0.05 measured: the janitor's and watcher's timers). Loose:
    # one futex wait a request would mean a new hand-off on the path.
    "futex": (0, 1.0),
    # Everything: 33.3-34.3 measured (31.4-32.3 before schema 5).
    "total": (0, 36.0),
}
CASES = {
    "test": ("test", "warn", COMMON),
    "local": ("local", "warn", COMMON),
    # The shipped log level: the host's one line a start and one a stop
    # (STYLE.md 11), each one write(2); the local provider's own lines are
    # debug (they were a second line each: 2.0 before issue 24). 1.0 measured.
    "local_info": ("local", "info", dict(COMMON, write=(0, 1.05), total=(0, 37.0))),
}

GROUPS = {
    "flush": ("fsync", "fdatasync", "syncfs", "sync_file_range", "msync"),
    "file": ("openat", "open", "mkdir", "mkdirat", "creat", "openat2", "rename", "renameat",
             "renameat2", "unlink", "unlinkat", "utimensat", "fchmod", "ftruncate"),
    "write": ("write", "writev", "pwritev", "pwritev2"),
    "pwrite": ("pwrite64",),
    "futex": ("futex",),
}


def is_asan_build():
    try:
        with open(bctest.BROADCASTD, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def config(provider, level="warn"):
    if provider == "local":
        prov = ('- name: local\n  type: local\n  listen: "127.0.0.1:@PORT1@"\n'
                '  root: "@TMP@/hls"\n')
    else:
        prov = "- name: test\n  type: test\n"
    text = bctest.config(providers=prov,
                         store="type: sqlite\npath: @TMP@/streams.db\nsynchronous: full\n",
                         frontends='- type: http\n  listen: "127.0.0.1:@HTTP_PORT@"\n'
                                   '  access_log: false\n')
    return text.replace("level: debug", "level: " + level)


class QuietDaemon(bctest.Daemon):
    """bctest.Daemon at log level warn, where there is no "broadcastd
    ready" line to wait for: ready once the http frontend accepts."""

    def _start_once(self):
        self._log = open(self.log_path, "ab")
        self._log_start = self._log.tell()
        self.proc = subprocess.Popen([bctest.BROADCASTD, "-c", self.config_path],
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     env=self.env, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise bctest.DaemonError("broadcastd exited with %s:\n%s"
                                         % (self.proc.returncode, self.log_text()))
            try:
                socket.create_connection(("127.0.0.1", self.http_port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise bctest.DaemonError("broadcastd not listening after %ss:\n%s"
                                 % (self.ready_timeout, self.log_text()))


def pairs(conn, n):
    for _ in range(n):
        conn.request("POST", "/stream/start/?type=hls", body=b"",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise AssertionError("start answered %d: %r" % (r.status, body))
        sid = json.loads(body)["stream"]["id"]
        conn.request("POST", "/stream/stop/?id=" + sid, body=b"",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise AssertionError("stop answered %d: %r" % (r.status, body))


def parse_summary(path):
    """{syscall: calls} from strace -c's table."""
    calls = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
            if m and m.group(2) != "total":
                calls[m.group(2)] = int(m.group(1))
    return calls


def wait_traced(d, tracer):
    """strace says nothing when it is attached: wait until every thread of
    the daemon is traced (TracerPid in each task's status)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        traced = 0
        tasks = os.listdir("/proc/%d/task" % d.proc.pid)
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/status" % (d.proc.pid, t)) as f:
                    traced += "TracerPid:\t0\n" not in f.read()
            except OSError:
                pass
        if traced == len(tasks):
            return
        if tracer.poll() is not None:
            raise unittest.SkipTest("strace cannot attach: %s" % tracer.stderr.read())
        time.sleep(0.05)
    tracer.kill()
    raise AssertionError("strace did not attach to every thread")


def measure(provider, level="warn", n=PAIRS):
    """Per-request system calls of n start+stop pairs: {syscall: calls/request}."""
    with QuietDaemon(config(provider, level)) as d:
        conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=30)
        pairs(conn, 20)  # warm: worker, SQLite caches, the WAL
        out = os.path.join(d.tmp, "strace.txt")
        tracer = subprocess.Popen(["strace", "-f", "-c", "-o", out, "-p", str(d.proc.pid)],
                                  stderr=subprocess.PIPE)
        wait_traced(d, tracer)
        t0 = time.monotonic()
        pairs(conn, n)
        seconds = time.monotonic() - t0
        conn.close()
        tracer.send_signal(signal.SIGINT)
        tracer.wait(30)
        tracer.stderr.close()
    calls = parse_summary(out)
    per = {k: v / (2.0 * n) for k, v in calls.items()}
    return per, IDLE_CALLS_PER_S * seconds / (2.0 * n)


STOP_PAIRS = 50
# Calls an idle daemon makes a second (measured 10: the host's media
# timekeeper's 250 ms tick, 8 futex calls; CivetWeb's master poll and its
# restart, 2), with a margin: the futex and total bounds grow by this much
# per second of the traced window, so a slow CI machine, on which the same
# requests take longer, does not fail them.
IDLE_CALLS_PER_S = 15


def measure_stops_with_files(n=STOP_PAIRS):
    """Per-stop system calls of n stops of local streams that were uploaded
    to (a media playlist each, so the stop ends it and leaves its marker):
    the starts and uploads happen before strace attaches."""
    with QuietDaemon(config("local")) as d:
        conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=30)
        ids = []
        for _ in range(n + 5):
            conn.request("POST", "/stream/start/?type=hls", body=b"",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            r = conn.getresponse()
            body = json.loads(r.read())
            ep = body["endpoint"]["HTTP"]
            up = http.client.HTTPConnection("127.0.0.1", d.ports[0], timeout=30)
            up.request("PUT", "/live/%s/index.m3u8" % body["stream"]["id"],
                       body=b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nseg0.ts\n",
                       headers={"Authorization": "Bearer " + ep["upload_token"]})
            resp = up.getresponse()
            resp.read()
            up.close()
            if resp.status != 201:
                raise AssertionError("upload answered %d" % resp.status)
            ids.append(body["stream"]["id"])

        def stop(sid):
            conn.request("POST", "/stream/stop/?id=" + sid, body=b"",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise AssertionError("stop answered %d" % r.status)
        for sid in ids[:5]:  # warm
            stop(sid)
        out = os.path.join(d.tmp, "strace-stop.txt")
        tracer = subprocess.Popen(["strace", "-f", "-c", "-o", out, "-p", str(d.proc.pid)],
                                  stderr=subprocess.PIPE)
        wait_traced(d, tracer)
        for sid in ids[5:]:
            stop(sid)
        conn.close()
        tracer.send_signal(signal.SIGINT)
        tracer.wait(30)
        tracer.stderr.close()
    return {k: v / float(n) for k, v in parse_summary(out).items()}


def grouped(per):
    g = {k: sum(per.get(s, 0.0) for s in names) for k, names in GROUPS.items()}
    g["total"] = sum(per.values())
    return g


class Syscalls(unittest.TestCase):
    def check(self, case):
        provider, level, bounds = CASES[case]
        per, idle = measure(provider, level)
        g = grouped(per)
        bounds = dict(bounds, futex=(bounds["futex"][0], bounds["futex"][1] + idle),
                      total=(bounds["total"][0], bounds["total"][1] + idle))
        report = ", ".join("%s %.2f" % (k, v) for k, v in sorted(per.items(), key=lambda kv: -kv[1])
                           if v >= 0.01)
        print("%s + sqlite, log level %s, per request (%d start+stop pairs): %s; total %.1f"
              " (idle allowance %.2f)" % (provider, level, PAIRS, report, g["total"], idle),
              file=sys.stderr)
        for name, (low, high) in bounds.items():
            self.assertTrue(low <= g[name] <= high,
                            "%s + sqlite (%s): %.2f %s calls a request, allowed %s..%s (%s)"
                            % (provider, level, g[name], name, low, high, report))

    def test_test_provider(self):
        self.check("test")

    def test_local_provider(self):
        self.check("local")

    def test_local_provider_info(self):
        self.check("local_info")

    def test_local_stop_with_files(self):
        """A stop of a stream that has a folder and a media playlist: the
        playlist's end and the stop marker are written, and the store's
        commit is still the one flush."""
        per = measure_stops_with_files()
        g = grouped(per)
        report = ", ".join("%s %.2f" % (k, v) for k, v in sorted(per.items(), key=lambda kv: -kv[1])
                           if v >= 0.01)
        print("local + sqlite, per stop of a stream with a playlist (%d stops): %s; total %.1f"
              % (STOP_PAIRS, report, g["total"]), file=sys.stderr)
        # One flush: the store's commit (measured 1.0); the playlist's end
        # and the marker are not flushed (issue 24).
        self.assertTrue(0.9 <= g["flush"] <= 1.2, report)
        # The folder, the playlist (read, then appended to in place) and
        # the marker (created, its mtime set): three opens and a utimensat
        # (measured 4.0, and SQLite's WAL truncation 0.02), no temporary
        # file, no rename.
        self.assertLessEqual(g["file"], 4.2, report)
        self.assertEqual(per.get("rename", 0) + per.get("renameat", 0) +
                         per.get("renameat2", 0), 0, report)
        # The appended "#EXT-X-ENDLIST" line: one write a stop (measured 1.0).
        self.assertLessEqual(g["write"], 1.1, report)


if __name__ == "__main__":
    if shutil.which("strace") is None:
        print("SKIP: strace is not installed (apt-get install strace)")
        sys.exit(77)
    if not any(os.path.exists(os.path.join(p, "provider_local.so"))
               for p in os.environ.get("BROADCAST_PLUGIN_PATH", "").split(":") if p):
        print("SKIP: the local provider is not built")
        sys.exit(77)
    if is_asan_build():
        print("SKIP: AddressSanitizer build (its runtime's system calls would be counted)")
        sys.exit(77)
    res = unittest.main(exit=False).result
    if res.skipped and not res.failures and not res.errors and res.testsRun == len(res.skipped):
        sys.exit(77)
    sys.exit(0 if res.wasSuccessful() else 1)
