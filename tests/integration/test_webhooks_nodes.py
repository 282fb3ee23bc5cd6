# SPDX-License-Identifier: Apache-2.0
"""Webhooks on two broadcastd nodes sharing one PostgreSQL store (issue 21,
docs/webhooks.md, "Several nodes").

A throwaway PostgreSQL (tests/support/pg-cluster.sh, through the helpers of
test_postgres_nodes.py) holds one schema per test; nodes A and B use it
with the same webhook, whose delivery cursor (and its lease) lives in the
store. The receiver is webhook_receiver.py. Checks:

* streams started and stopped on both nodes: every event arrives exactly
  once (no duplicate in a normal run), signed, in cursor order, with the
  body both nodes' /events give;
* the node delivering is SIGKILLed while the receiver is down: once its
  lease runs out the other node takes over and delivers every event;
* the node delivering is paused (SIGSTOP) past its lease while it retries
  an event; the other takes over, delivers that event and the next, and
  stops (giving its claim up); the paused node, resumed, has the claim
  again but finds the cursor moved on: it sends neither event again.

Exits 77 (skipped) only when PostgreSQL's server cannot be installed here.
"""
import os
import shutil
import signal
import time
import unittest

import bctest
from test_postgres_nodes import PG, main_with_cluster
from webhook_receiver import Receiver

SECRET = "whsec-nodes-0123456789abcdef"


def node_config(schema, url, lease):
    return bctest.config(store="""
        type: postgres
        conninfo: "%s"
        schema: %s
        statement_timeout: 5s
        connect_timeout: 10s
        pool_size: 4
    """ % (PG["PG_CONNINFO"], schema), extra="""webhooks:
  - name: app
    url: "%s"
    secret: "%s"
    timeout: 1s
    retry_base: 200ms
    retry_max: 1s
    lease: %s
""" % (url, SECRET, lease))



class WebhookNodes(unittest.TestCase):
    counter = 0

    def setUp(self):
        WebhookNodes.counter += 1
        schema = "wh_%d_%d" % (os.getpid(), WebhookNodes.counter)
        self.rx = Receiver(SECRET)
        url = self.rx.url
        # A long lease where the test wants one node to deliver all along
        # (a loaded machine must not hand over midway), a short one where it
        # waits for a takeover.
        lease = "2s" if "takeover" in self.id() else "10s"
        self.a = bctest.Daemon(node_config(schema, url, lease)).start()
        try:
            self.b = bctest.Daemon(node_config(schema, url, lease)).start()
        except Exception:
            self.a.stop()
            raise

    def tearDown(self):
        self.rx.stop()
        for d in (self.a, self.b):
            try:
                d.stop()
            finally:
                d.kill()
            self.assertNotIn(PG["PG_PASSWORD"], d.log_text())
            self.assertNotIn(SECRET, d.log_text())
            if not os.environ.get("BC_KEEP_TMP"):
                shutil.rmtree(d.tmp, ignore_errors=True)

    def start_stop(self, nodes, n):
        ids = []
        for i in range(n):
            d = nodes[i % len(nodes)]
            st, _, body = d.request("POST", "/stream/start/", params={"type": "hls"})
            self.assertEqual(st, 200, body)
            ids.append((d, body["stream"]["id"]))
        for i, (_, sid) in enumerate(ids):
            d = nodes[(i + 1) % len(nodes)]  # stopped through the other node
            st, _, body = d.request("POST", "/stream/stop/", params={"id": sid})
            self.assertEqual(st, 200, body)

    def feed(self, d):
        st, _, body = d.request("GET", "/events", params={"after": "0", "limit": "1000"})
        self.assertEqual(st, 200, body)
        return body["events"]

    def test_each_event_delivered_once_across_two_nodes(self):
        self.rx.start()
        self.start_stop([self.a, self.b], 6)  # 12 events, from both nodes
        acked = self.rx.wait_acked(12, 20)
        time.sleep(1.5)  # a second delivery, if any, would come by now
        events = self.feed(self.a)
        self.assertEqual(events, self.feed(self.b))
        self.assertEqual(len(events), 12)
        self.assertEqual(len(self.rx.requests), 12,
                         [(r["body"]["cursor"], r["status"]) for r in self.rx.requests])
        self.assertEqual([r["body"] for r in acked], events)
        self.assertEqual(len({r["delivery"] for r in acked}), 12)
        self.assertTrue(all(r["signature_ok"] for r in acked))
        # One node delivered, the other saw the cursor held.
        delivering = [d for d in (self.a, self.b) if "acknowledged by" in d.log_text()]
        self.assertEqual(len(delivering), 1)

    def test_takeover_after_the_delivering_node_dies(self):
        self.rx.start()
        self.start_stop([self.a], 1)
        self.rx.wait_acked(2, 10)
        holder = self.a if "acknowledged by" in self.a.log_text() else self.b
        other = self.b if holder is self.a else self.a
        self.rx.stop()  # refused from now on
        self.start_stop([other, holder], 2)  # 4 more events
        time.sleep(0.5)
        holder.proc.send_signal(signal.SIGKILL)
        holder.proc.wait()
        self.rx.start()
        acked = self.rx.wait_acked(6, 20)
        events = self.feed(other)
        self.assertEqual(len(events), 6)
        # At least once, in order: the deliveries acknowledged are the feed.
        got = []
        for r in acked:
            if not got or got[-1]["cursor"] != r["body"]["cursor"]:
                got.append(r["body"])
        self.assertEqual(got, events)
        self.assertIn("this node delivers this webhook now", other.log_text())

    def test_takeover_then_the_paused_node_resumes_and_sends_nothing_again(self):
        self.rx.mode = "fail"
        self.rx.start()
        st, _, body = self.a.request("POST", "/stream/start/", params={"type": "hls"})
        self.assertEqual(st, 200, body)
        sid = body["stream"]["id"]
        self.rx.wait_requests(2, 10)  # the holder retries it
        holder = self.a if "not acknowledged by" in self.a.log_text() else self.b
        other = self.b if holder is self.a else self.a
        holder.proc.send_signal(signal.SIGSTOP)
        try:
            self.rx.mode = "ok"
            self.rx.wait_acked(1, 15)  # the lease (2 s) lapsed: the other delivered it
            st, _, body = other.request("POST", "/stream/stop/", params={"id": sid})
            self.assertEqual(st, 200, body)
            self.rx.wait_acked(2, 10)
            self.assertEqual(other.stop(), 0)  # gives the claim up
        finally:
            holder.proc.send_signal(signal.SIGCONT)
        time.sleep(3)  # its backoff ends, it renews: the claim is free again
        events = self.feed(holder)
        self.assertEqual(len(events), 2)
        self.assertEqual([r["body"]["cursor"] for r in self.rx.acked()],
                         [e["cursor"] for e in events],
                         [(r["body"]["cursor"], r["status"]) for r in self.rx.requests])
        self.assertIn("lost the claim on the delivery cursor", holder.log_text())


if __name__ == "__main__":
    main_with_cluster(("store_postgres.so",))
