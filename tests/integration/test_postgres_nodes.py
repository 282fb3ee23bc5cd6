# SPDX-License-Identifier: Apache-2.0
"""Two real broadcastd nodes sharing one PostgreSQL store (issue 8).

A throwaway PostgreSQL server (tests/support/pg-cluster.sh, loopback, free
port, temp dir) holds the streams; two daemons, each with the test provider
and an http frontend on its own port, use the same schema. Checks: a stream
started on A is read and stopped on B and conflicts on A; both list the
same; 50 concurrent stops of one stream across both nodes give exactly one
200; PostgreSQL stopped and restarted under load gives only 503
store.unavailable meanwhile (and /healthz 503), then recovers without
restarting either daemon, with every acknowledged start and stop still
there; the password never reaches a log.

Exits 77 (skipped) only when PostgreSQL's server cannot be installed here.
"""
import os
import subprocess
import sys
import threading
import time
import unittest

import bctest

SCRIPT = os.path.join(bctest.SRCDIR, "tests", "support", "pg-cluster.sh")
PG = {}


def cluster(action):
    subprocess.run(["sh", SCRIPT, action, PG["PG_DIR"]], check=True,
                   stdout=subprocess.DEVNULL, timeout=60)


def start_cluster():
    """Start the server; returns 0, or pg-cluster.sh's exit status."""
    p = subprocess.run(["sh", SCRIPT, "start"], capture_output=True, text=True, timeout=600)
    sys.stderr.write(p.stderr)
    if p.returncode != 0:
        return p.returncode
    for line in p.stdout.splitlines():
        key, _, value = line.partition("=")
        PG[key] = value.strip("'")
    return 0


def plugin_built(name):
    return any(os.path.exists(os.path.join(p, name))
               for p in os.environ.get("BROADCAST_PLUGIN_PATH", "").split(":") if p)


def main_with_cluster(plugins=("store_postgres.so",)):
    """The __main__ of every test on a throwaway PostgreSQL: SKIP (77) when a
    plugin it needs is not built or the server cannot be installed, else the
    tests of the calling script with the server up, then the server gone."""
    for plugin in plugins:
        if not plugin_built(plugin):
            print("SKIP: %s is not built (configure without it)" % plugin)
            sys.exit(77)
    rc = start_cluster()
    if rc == 77:
        print("SKIP: PostgreSQL's server cannot be installed here (see above)")
        sys.exit(77)
    if rc != 0:
        print("pg-cluster.sh start failed with exit status %d" % rc)
        sys.exit(1)
    try:
        prog = unittest.main(module="__main__", verbosity=2, exit=False)
        ok = prog.result.wasSuccessful()
    finally:
        subprocess.run(["sh", SCRIPT, "destroy", PG["PG_DIR"]], stdout=subprocess.DEVNULL)
    sys.exit(0 if ok else 1)


def node_config(schema):
    return bctest.config(store="""
        type: postgres
        conninfo: "%s"
        schema: %s
        statement_timeout: 5s
        connect_timeout: 10s
        pool_size: 4
    """ % (PG["PG_CONNINFO"], schema))


class ConformanceKit(unittest.TestCase):
    """broadcast-plugin-check on the postgres store against the real server:
    its whole store lifecycle, which tests/check-plugins.sh can only skip (it
    has no server)."""

    def test_kit_passes_on_the_postgres_store(self):
        kit = os.path.join(bctest.BUILDDIR, "tests", "support", "broadcast-plugin-check")
        so = os.path.join(bctest.BUILDDIR, "stores", "postgres", ".libs", "store_postgres.so")
        cfg = os.path.join(PG["PG_DIR"], "kit.yaml")
        with open(cfg, "w") as f:
            f.write('conninfo: "%s"\nschema: kit\nconnect_timeout: 10s\n' % PG["PG_CONNINFO"])
        p = subprocess.run([kit, so, "--config", cfg], capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn("# SKIP", p.stdout)  # the lifecycle ran, not skipped
        self.assertRegex(p.stdout, r"(?m)^ok \d+ .*(reserve|commit)")
        self.assertNotIn(PG["PG_PASSWORD"], p.stdout + p.stderr)


class TwoNodes(unittest.TestCase):
    counter = 0

    def setUp(self):
        TwoNodes.counter += 1
        schema = "it_%d_%d" % (os.getpid(), TwoNodes.counter)
        self.a = bctest.Daemon(node_config(schema)).start()
        try:
            self.b = bctest.Daemon(node_config(schema)).start()
        except Exception:
            self.a.stop()
            raise

    def tearDown(self):
        for d in (self.a, self.b):
            try:
                d.stop()
            finally:
                d.kill()
            self.assertNotIn(PG["PG_PASSWORD"], d.log_text())

    def start_stream(self, node, name="s"):
        status, _, body = node.request("POST", "/stream/start/", params={"type": "hls",
                                                                        "name": name})
        self.assertEqual(status, 200, body)
        return body["stream"]["id"]

    def test_start_on_a_get_and_stop_on_b_conflict_on_a(self):
        sid = self.start_stream(self.a, "shared")
        status, _, body = self.b.request("GET", "/streams/" + sid)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["stream"]["state"], "live")
        self.assertEqual(body["stream"]["name"], "shared")
        self.assertIsNone(body["stream"]["stop_date"])
        status, _, stopped = self.b.request("POST", "/stream/stop/", params={"id": sid})
        self.assertEqual(status, 200, stopped)
        status, _, body = self.a.request("POST", "/stream/stop/", params={"id": sid})
        self.assertEqual(status, 409, body)
        self.assertEqual(body["error"]["code"], "stream.already_stopped")
        self.assertEqual(body["stream"]["stop_date"], stopped["stream"]["stop_date"])
        # Both nodes list the same streams, in the same order.
        other = self.start_stream(self.b, "second")
        lists = []
        for node in (self.a, self.b):
            status, _, body = node.request("GET", "/streams", params={"state": "all"})
            self.assertEqual(status, 200, body)
            lists.append([(s["id"], s["state"]) for s in body["streams"]])
        self.assertEqual(lists[0], lists[1])
        self.assertEqual(sorted(lists[0]), sorted([(sid, "stopped"), (other, "live")]))
        # Keyset pagination across nodes: page 1 from A, page 2 from B.
        status, _, p1 = self.a.request("GET", "/streams", params={"state": "all", "limit": 1})
        self.assertEqual(status, 200, p1)
        self.assertIsNotNone(p1["next_cursor"])
        status, _, p2 = self.b.request("GET", "/streams", params={
            "state": "all", "limit": 1, "cursor": p1["next_cursor"]})
        self.assertEqual(status, 200, p2)
        self.assertEqual([s["id"] for s in p1["streams"] + p2["streams"]],
                         [i for i, _ in lists[0]])

    def test_fifty_concurrent_stops_one_winner(self):
        for _ in range(2):
            sid = self.start_stream(self.a)
            results = []
            lock = threading.Lock()
            go = threading.Barrier(50)

            def stop(node):
                go.wait()
                status, _, body = node.request("POST", "/stream/stop/", params={"id": sid},
                                               timeout=30)
                with lock:
                    results.append((status, body))

            threads = [threading.Thread(target=stop, args=(self.a if i % 2 else self.b,))
                       for i in range(50)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            statuses = sorted(s for s, _ in results)
            self.assertEqual(statuses, [200] + [409] * 49, results)
            winner = [b for s, b in results if s == 200][0]
            for s, b in results:
                if s == 409:
                    self.assertEqual(b["error"]["code"], "stream.already_stopped")
                    self.assertEqual(b["stream"]["stop_date"], winner["stream"]["stop_date"])

    def test_postgres_restart_under_load(self):
        acked_starts, acked_stops, bad, unavailable = [], [], [], []
        lock = threading.Lock()
        stop_load = threading.Event()

        def load(node):
            while not stop_load.is_set():
                try:
                    status, _, body = node.request("POST", "/stream/start/",
                                                   params={"type": "hls"}, timeout=15)
                except OSError as e:
                    with lock:
                        bad.append(("start", repr(e)))
                    continue
                if status == 200:
                    sid = body["stream"]["id"]
                    with lock:
                        acked_starts.append(sid)
                    status, _, body = node.request("POST", "/stream/stop/",
                                                   params={"id": sid}, timeout=15)
                    if status == 200:
                        with lock:
                            acked_stops.append(sid)
                        continue
                if status == 503:
                    with lock:
                        unavailable.append(body["error"]["code"])
                        if body["error"]["code"] != "store.unavailable":
                            bad.append((status, body))
                    time.sleep(0.02)
                    continue
                with lock:
                    bad.append((status, body))

        threads = [threading.Thread(target=load, args=(n,)) for n in
                   (self.a, self.b, self.a, self.b)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        before = len(acked_starts)
        cluster("stop")
        time.sleep(0.5)
        status, headers, body = self.a.request("GET", "/healthz")
        self.assertEqual(status, 503, body)
        self.assertEqual(body["status"], "unavailable")
        time.sleep(1.0)
        down_count = len(acked_starts)
        cluster("start")
        # Recovery without restarting broadcastd: both answer 200 again soon.
        deadline = time.monotonic() + 15
        healthy = set()
        while time.monotonic() < deadline and len(healthy) < 2:
            for name, node in (("a", self.a), ("b", self.b)):
                if node.request("GET", "/healthz")[0] == 200:
                    healthy.add(name)
            time.sleep(0.1)
        self.assertEqual(healthy, {"a", "b"})
        time.sleep(1.0)
        stop_load.set()
        for t in threads:
            t.join(60)
        self.assertEqual(bad, [])
        self.assertGreater(len(unavailable), 0, "the outage was not seen")
        self.assertGreater(before, 0)
        self.assertGreater(len(acked_starts), down_count, "no start succeeded after recovery")
        # Nothing acknowledged was lost: every 200 start exists, every 200
        # stop is stopped, whichever node asks.
        for i, sid in enumerate(acked_starts):
            node = self.a if i % 2 else self.b
            status, _, body = node.request("GET", "/streams/" + sid)
            self.assertEqual(status, 200, (sid, body))
            if sid in acked_stops:
                self.assertEqual(body["stream"]["state"], "stopped", body)
        for d in (self.a, self.b):
            self.assertIn("unreachable", d.log_text())
            self.assertIsNone(d.proc.poll())


if __name__ == "__main__":
    main_with_cluster()
