# SPDX-License-Identifier: Apache-2.0
"""Webhooks (issue 21, docs/webhooks.md) against a real receiver.

The receiver (webhook_receiver.py) is a python3 http.server on loopback
that verifies every signature the way docs/webhooks.md tells receivers to,
and records every request. The daemon is the real broadcastd with the
sqlite store. Checks:

* start, publish (ffmpeg to the local origin), idle, stop: every event
  arrives once, signed, in order, with the body GET /events gives for it
  and the documented headers;
* the receiver refusing connections, then answering 500, then 200: every
  event is delivered, in order, each once acknowledged; the attempts of one
  event share one delivery id, and their spacing follows retry_base
  doubling, +-20 % jitter; /metrics counts retries and deliveries;
* max_attempts reached: the event is given up (WARN with the event id,
  counted in /metrics) and the next one is delivered;
* broadcastd SIGKILLed with undelivered events and restarted: all are
  delivered after the restart;
* a receiver that hangs: starts are answered fast meanwhile, the attempt
  times out, and the daemon stops promptly with a request in flight;
* a receiver answering 200 with a body that never ends: acknowledged, once
  (the body is read up to a bound, not until the timeout);
* https verified with ca_file (the system CAs refuse the receiver's
  self-signed certificate), and a redirect counted as a failure, not
  followed;
* stores without the cursor ops (the test store, a 1.0 store): the cursor
  is kept in memory and every event is delivered;
* a reload that adds a webhook starts it at the feed's head;
* --check-config refuses bad webhooks with FILE:LINE:COLUMN and the fix;
* the secret is in no log line (the daemon logs at debug level).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

import bctest
from webhook_receiver import Receiver, verify

SECRET = "whsec-0123456789abcdef-SECRET"


def webhook_yaml(url, extra=""):
    return """webhooks:
  - name: app
    url: "%s"
    secret: "%s"
    timeout: 1s
    retry_base: 200ms
    retry_max: 1s
    lease: 2s
%s""" % (url, SECRET, extra)


def daemon_config(url, extra="", providers=None, wh_extra=""):
    return bctest.config(providers=providers, extra=webhook_yaml(url, wh_extra) + extra)


def metric(d, name, labels):
    text = d.request("GET", "/metrics")[2]
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else 0.0


def wait_metric(d, name, labels, want, timeout=5.0):
    """The metric once it reaches `want`, or its last value after `timeout`:
    the receiver records a delivery before the daemon has read the answer and
    counted it."""
    deadline = time.monotonic() + timeout
    while True:
        got = metric(d, name, labels)
        if got >= want or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def feed(d):
    st, _, body = d.request("GET", "/events", params={"after": "0", "limit": "1000"})
    assert st == 200, body
    return body["events"]


class Webhooks(unittest.TestCase):
    def setUp(self):
        self.daemons = []
        self.rx = Receiver(SECRET)

    def tearDown(self):
        self.rx.stop()
        for d in self.daemons:
            try:
                d.stop()
            finally:
                d.kill()
            # debug level, deliveries, failures and retries: never the secret
            self.assertNotIn(SECRET, d.log_text())
            self.assertNotIn("querytoken", d.log_text())
            if not os.environ.get("BC_KEEP_TMP"):
                shutil.rmtree(d.tmp, ignore_errors=True)

    def daemon(self, text, tmp=None):
        d = bctest.Daemon(text, tmp=tmp)
        self.daemons.append(d)
        return d.start()

    def start_stop(self, d, n):
        ids = []
        for i in range(n):
            st, _, body = d.request("POST", "/stream/start/", params={"type": "hls",
                                                                      "name": "s%d" % i})
            self.assertEqual(st, 200, body)
            ids.append(body["stream"]["id"])
        for sid in ids:
            st, _, body = d.request("POST", "/stream/stop/", params={"id": sid})
            self.assertEqual(st, 200, body)
        return ids

    def check_delivered(self, d, acked, n):
        """acked: the receiver's acknowledged requests; the feed's n events
        each exactly once, in cursor order, bodies equal to the feed's."""
        events = feed(d)
        self.assertEqual(len(events), n, events)
        self.assertEqual([r["body"]["cursor"] for r in acked], [e["cursor"] for e in events])
        self.assertEqual([r["body"] for r in acked], events)
        self.assertEqual(len({r["delivery"] for r in acked}), n)
        for r in acked:
            self.assertTrue(r["signature_ok"], r)
            self.assertEqual(r["event"], r["body"]["type"])
            self.assertEqual(r["content_type"], "application/json")
            self.assertRegex(r["delivery"], r"^[0-9a-f]{32}$")
            self.assertRegex(r["signature"], r"^t=\d+,v1=[0-9a-f]{64}$")
            self.assertEqual(r["path"], "/hooks/broadcast?token=querytoken")
        return events

    # -- the happy path with a real broadcaster -----------------------------------
    def test_publish_with_ffmpeg_every_event_once_signed_in_order(self):
        if shutil.which("ffmpeg") is None:
            # CI installs it (.ci/build); elsewhere this one test is skipped
            self.assertNotEqual(os.environ.get("CI"), "true", "ffmpeg is missing")
            self.skipTest("needs ffmpeg (apt-get install ffmpeg)")
        if not any(os.path.exists(os.path.join(p, "provider_local.so"))
                   for p in os.environ.get("BROADCAST_PLUGIN_PATH", "").split(":") if p):
            self.skipTest("the local provider is not built")
        from test_local_ffmpeg import push_cmd
        self.rx.start()
        d = self.daemon(daemon_config(self.rx.url, providers="""
- type: local
  listen: "127.0.0.1:@PORT1@"
  root: "@TMP@/hls"
  idle_after: 1s
"""))
        st, _, body = d.request("POST", "/stream/start/", params={"type": "hls", "name": "cam"})
        self.assertEqual(st, 200, body)
        sid, ep = body["stream"]["id"], body["endpoint"]["HTTP"]
        self.rx.wait_acked(1, 10)
        push = subprocess.run(push_cmd(ep["upload_url"], ep["upload_token"], seconds=2),
                              capture_output=True, timeout=60)
        self.assertEqual(push.returncode, 0, push.stderr)
        self.rx.wait_acked(3, 20)  # started, publishing, idle
        st, _, body = d.request("POST", "/stream/stop/", params={"id": sid})
        self.assertEqual(st, 200, body)
        acked = self.rx.wait_acked(4, 10)
        time.sleep(0.5)  # nothing more comes
        self.assertEqual(len(self.rx.requests), 4, self.rx.requests)
        events = self.check_delivered(d, acked, 4)
        self.assertEqual([e["type"] for e in events],
                         ["stream.started", "stream.publishing", "stream.idle",
                          "stream.stopped"])
        self.assertEqual([e["seq"] for e in events], [1, 2, 3, 4])
        self.assertEqual(events[3]["reason"], "api")
        self.assertEqual(wait_metric(d, "broadcast_webhook_delivered_total", 'webhook="app"', 4), 4)

    # -- retries -------------------------------------------------------------------
    def test_down_then_500_then_up_delivers_all_in_order_with_backoff(self):
        d = self.daemon(daemon_config(self.rx.url, wh_extra="    max_attempts: 1000\n"))
        self.start_stop(d, 2)  # 4 events; the receiver refuses connections
        time.sleep(1.5)
        self.assertEqual(self.rx.requests, [])
        self.rx.mode = "fail"
        self.rx.start()
        time.sleep(2.5)
        failed = list(self.rx.requests)
        self.assertGreaterEqual(len(failed), 2, failed)
        self.assertTrue(all(r["status"] == 500 for r in failed))
        # Strictly one event at a time: the first, again and again.
        self.assertEqual({r["body"]["cursor"] for r in failed}, {feed(d)[0]["cursor"]})
        self.assertEqual(len({r["delivery"] for r in failed}), 1)
        # Attempt n+1 comes backoff(n) after attempt n: retry_base (200 ms)
        # doubled per failure, at most retry_max (1 s), +-20 %.
        for a, b in zip(failed, failed[1:]):
            want = min(0.2 * 2 ** (a["attempt"] - 1), 1.0)
            gap = b["time"] - a["time"]
            self.assertEqual(b["attempt"], a["attempt"] + 1)
            self.assertGreaterEqual(gap, 0.8 * want - 0.05, (a["attempt"], gap))
            self.assertLessEqual(gap, 1.2 * want + 0.5, (a["attempt"], gap))
        self.assertGreaterEqual(failed[0]["attempt"], 2)  # refused ones counted too
        self.rx.mode = "ok"
        acked = self.rx.wait_acked(4, 10)
        events = self.check_delivered(d, acked, 4)
        per_stream = {}
        for e in events:
            per_stream.setdefault(e["stream"]["id"], []).append(e["seq"])
        self.assertEqual(sorted(per_stream.values()), [[1, 2], [1, 2]])
        self.assertGreaterEqual(metric(d, "broadcast_webhook_retries_total", 'webhook="app"'),
                                len(failed))
        self.assertEqual(wait_metric(d, "broadcast_webhook_delivered_total", 'webhook="app"', 4), 4)
        self.assertIn("not acknowledged by http://127.0.0.1:%d" % self.rx.port, d.log_text())

    def test_max_attempts_gives_up_and_goes_on(self):
        self.rx.mode = "fail"
        self.rx.start()
        d = self.daemon(daemon_config(self.rx.url, wh_extra="    max_attempts: 3\n"))
        st, _, body = d.request("POST", "/stream/start/", params={"type": "hls"})
        self.assertEqual(st, 200, body)
        self.rx.wait_requests(3, 10)
        time.sleep(0.3)
        self.rx.mode = "ok"
        st, _, body = d.request("POST", "/stream/stop/", params={"id": body["stream"]["id"]})
        self.assertEqual(st, 200, body)
        acked = self.rx.wait_acked(1, 10)
        self.assertEqual([r["event"] for r in acked], ["stream.stopped"])
        first = feed(d)[0]
        self.assertEqual(sum(r["body"]["cursor"] == first["cursor"] for r in self.rx.requests), 3)
        self.assertRegex(d.log_text(), r"WARN\s+\[app\] gave up on event %d \(stream.started"
                         % first["cursor"])
        self.assertEqual(metric(d, "broadcast_webhook_given_up_total", 'webhook="app"'), 1)

    # -- crash ---------------------------------------------------------------------------
    def test_sigkill_with_undelivered_events_then_restart(self):
        text = daemon_config(self.rx.url)
        d = self.daemon(text)
        self.start_stop(d, 3)  # 6 events, the receiver down
        time.sleep(0.5)
        want = feed(d)
        self.assertEqual(len(want), 6)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        self.rx.start()
        d2 = bctest.Daemon(text, tmp=d.tmp)
        self.daemons.append(d2)
        d2.start()
        # The dead process's lease (2 s here) runs out, then all six come.
        acked = self.rx.wait_acked(6, 20)
        self.check_delivered(d2, acked, 6)

    # -- a receiver that hangs -----------------------------------------------------------
    def test_hanging_receiver_does_not_slow_the_api(self):
        self.rx.mode = "hang"
        self.rx.start()
        # Each attempt hangs for `timeout` (3 s); a start waiting on one
        # would take that long.
        d = self.daemon(daemon_config(self.rx.url).replace("timeout: 1s", "timeout: 3s")
                        .replace("lease: 2s", "lease: 6s"))
        worst = 0.0
        for i in range(20):
            t0 = time.monotonic()
            st, _, body = d.request("POST", "/stream/start/", params={"type": "hls"})
            worst = max(worst, time.monotonic() - t0)
            self.assertEqual(st, 200, body)
        self.assertLess(worst, 1.0)
        self.rx.wait_requests(2, 15)  # the first attempt timed out, and a retry came
        self.assertRegex(d.log_text(), r"not acknowledged by .*(timed out|Timeout)")
        # A stop with a request in flight is prompt: the request is cancelled.
        t0 = time.monotonic()
        self.assertEqual(d.stop(), 0)
        self.assertLess(time.monotonic() - t0, 5)

    # -- a receiver answering 2xx with a body that never ends --------------------
    def test_endless_answer_body_acknowledges_and_frees_the_worker(self):
        # The status counts; the body is read up to a bound, not until
        # `timeout` (1 s here) turns the 2xx into a failure and the event
        # into a duplicate.
        self.rx.mode = "endless"
        self.rx.start()
        d = self.daemon(daemon_config(self.rx.url))
        self.start_stop(d, 1)
        acked = self.rx.wait_acked(2, 10)
        time.sleep(1.5)  # a retry would come by now (retry_base 200 ms)
        self.assertEqual(len(self.rx.requests), 2, [(r["event"], r["attempt"])
                                                    for r in self.rx.requests])
        self.check_delivered(d, acked, 2)
        self.assertEqual(wait_metric(d, "broadcast_webhook_delivered_total", 'webhook="app"', 2), 2)
        self.assertEqual(metric(d, "broadcast_webhook_retries_total", 'webhook="app"'), 0)
        self.assertNotIn("not acknowledged", d.log_text())

    def test_oversized_answer_headers_are_a_failed_attempt(self):
        # Whatever answers at the webhook's address may be hostile: a 200
        # with a 256 KiB header line is an answer the sender cannot read, so the
        # attempt fails and is retried; the daemon keeps serving, and
        # delivers each event once the answers are sane again.
        self.rx.mode = "bigheaders"
        self.rx.start()
        d = self.daemon(daemon_config(self.rx.url))
        self.start_stop(d, 1)
        self.rx.wait_requests(3, 10)
        self.assertEqual(self.rx.acked(), [])
        self.assertGreaterEqual(
            wait_metric(d, "broadcast_webhook_retries_total", 'webhook="app"', 2), 2)
        st, _, body = d.request("GET", "/healthz")
        self.assertEqual(st, 200, body)
        self.rx.mode = "ok"
        acked = self.rx.wait_acked(2, 15)
        self.check_delivered(d, acked, 2)

    # -- https and redirects ------------------------------------------------------
    def test_https_verified_with_ca_file_and_redirects_not_followed(self):
        tmp = bctest.Daemon(bctest.config()).tmp
        cert, key = os.path.join(tmp, "rx.crt"), os.path.join(tmp, "rx.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        self.rx = Receiver(SECRET, tls=(cert, key)).start()
        text = daemon_config(self.rx.url, wh_extra="    ca_file: %s\n" % cert).replace(
            "webhooks:\n", """webhooks:
  - name: system-cas
    url: "%s"
    secret: "%s"
    retry_base: 200ms
    retry_max: 1s
""" % (self.rx.url, SECRET), 1)
        d = self.daemon(text, tmp=tmp)
        self.start_stop(d, 1)
        acked = self.rx.wait_acked(2, 10)
        time.sleep(1)
        # Only `app` (ca_file) got through; the system CAs do not know the
        # receiver's certificate, so `system-cas` never reached it.
        self.assertEqual(len(self.rx.requests), 2)
        self.check_delivered(d, acked, 2)
        self.assertRegex(d.log_text(), r"\[system-cas\] event \d+ \(delivery \w+\) not "
                         r"acknowledged by https://127.0.0.1:%d: .*(certificate|SSL)" % self.rx.port)
        # A redirect is an answer, not an acknowledgement, and is not followed.
        self.rx.mode = "redirect"
        self.start_stop(d, 1)
        reqs = self.rx.wait_requests(5, 10)[2:]
        self.assertEqual([r["attempt"] for r in reqs], list(range(1, len(reqs) + 1)))
        self.assertEqual({r["status"] for r in reqs}, {302})
        self.assertIn("HTTP 302; attempt 1", d.log_text())

    # -- stores without the cursor ops: cursors in memory ------------------------
    def test_stores_without_cursor_ops(self):
        plugin_path = os.environ.get("BROADCAST_PLUGIN_PATH", "")
        v10 = os.path.join(bctest.BUILDDIR, "tests", "plugins", "abi", "v10", ".libs")
        for store in ("type: memory\n", "type: memory_v10\n"):
            with self.subTest(store=store):
                self.rx = Receiver(SECRET).start()
                text = bctest.config(store=store, extra=webhook_yaml(self.rx.url))
                d = bctest.Daemon(text, env={"BROADCAST_PLUGIN_PATH": v10 + ":" + plugin_path})
                self.daemons.append(d)
                d.start()
                self.start_stop(d, 2)
                acked = self.rx.wait_acked(4, 10)
                self.check_delivered(d, acked, 4)
                self.rx.stop()

    # -- reload --------------------------------------------------------------------------
    def test_reload_adds_a_webhook_at_the_head(self):
        self.rx.start()
        rx2 = Receiver(SECRET).start()
        try:
            d = self.daemon(daemon_config(self.rx.url))
            self.start_stop(d, 1)
            self.rx.wait_acked(2, 10)
            text = d.config_text.replace("webhooks:\n", """webhooks:
  - name: second
    url: "%s"
    secret: "%s"
""" % (rx2.url, SECRET), 1)
            d.reload(text)
            self.start_stop(d, 1)
            self.rx.wait_acked(4, 10)
            acked2 = rx2.wait_acked(2, 10)
            time.sleep(0.3)
            self.assertEqual([r["event"] for r in rx2.requests],
                             ["stream.started", "stream.stopped"])
            self.assertEqual([r["body"]["cursor"] for r in acked2],
                             [e["cursor"] for e in feed(d)[2:]])
            self.assertEqual(len(self.rx.requests), 4)  # the kept one did not restart
        finally:
            rx2.stop()


class CheckConfig(unittest.TestCase):
    """--check-config validates webhooks: FILE:LINE:COLUMN, what, the fix."""

    def check(self, wh, want):
        tmp = bctest.Daemon(bctest.config()).tmp
        path = os.path.join(tmp, "bad.yaml")
        with open(path, "w") as f:
            f.write(bctest.config().replace("@TMP@", tmp).replace("@HTTP_PORT@", "1") + wh)
        p = subprocess.run([bctest.BROADCASTD, "-c", path, "--check-config"],
                           capture_output=True, text=True, timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout + p.stderr, want)
        self.assertNotIn("not-a-long-secret", p.stdout + p.stderr)
        self.assertNotIn(SECRET, p.stdout + p.stderr)
        return p.stdout + p.stderr

    def test_bad_webhooks(self):
        self.check('webhooks:\n  - url: "ftp://x"\n    secret: "%s"\n' % SECRET,
                   r"bad\.yaml:\d+:\d+: webhook 1: url must be an http:// or https:// URL")
        self.check('webhooks:\n  - url: "https://x"\n    secret: "not-a-long"\n',
                   r"bad\.yaml:\d+:\d+: webhook 1: secret must be at least 16 characters")
        self.check('webhooks:\n  - url: "https://x"\n', r"bad\.yaml:\d+:\d+: .*secret")
        self.check('webhooks:\n  - url: "https://x"\n    secret: "%s"\n    events: [stream.x]\n'
                   % SECRET, r"unknown event type 'stream.x'")
        self.check('webhooks:\n  - url: "https://x"\n    secret: "%s"\n    retries: 3\n'
                   % SECRET, r"bad\.yaml:\d+:\d+: .*retries.*max_attempts")
        self.check('webhooks:\n  - {name: a, url: "https://x", secret: "%s"}\n'
                   '  - {name: a, url: "https://y", secret: "%s"}\n' % (SECRET, SECRET),
                   r"two webhooks are named 'a'")
        self.check('webhooks: {url: "https://x"}\n', r"`webhooks` must be a list")
        self.check('webhooks:\n  - url: "https://x"\n    secret: "%s"\n    lease: 5s\n'
                   % SECRET, r"lease must be at least twice the timeout")

    def test_good_webhook_passes(self):
        tmp = bctest.Daemon(bctest.config()).tmp
        path = os.path.join(tmp, "good.yaml")
        with open(path, "w") as f:
            f.write(bctest.config().replace("@TMP@", tmp).replace("@HTTP_PORT@", "1") +
                    webhook_yaml("https://app.example.com/hooks"))
        p = subprocess.run([bctest.BROADCASTD, "-c", path, "--check-config"],
                           capture_output=True, text=True, timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn(SECRET, p.stdout + p.stderr)


def doc_text():
    with open(os.path.join(bctest.SRCDIR, "docs", "webhooks.md"), encoding="utf-8") as f:
        return f.read()


def doc_block(lang):
    m = re.search(r"^```%s\n(.*?)^```$" % lang, doc_text(), re.S | re.M)
    assert m, "docs/webhooks.md has no ```%s block" % lang
    return m.group(1)


class Docs(unittest.TestCase):
    """docs/webhooks.md's recipes verify real deliveries, and its option
    table is the one of framework/webhook.c."""

    def test_recipes_verify_a_real_delivery(self):
        rx = Receiver(SECRET).start()
        d = bctest.Daemon(daemon_config(rx.url))
        try:
            d.start()
            st, _, body = d.request("POST", "/stream/start/", params={"type": "hls"})
            self.assertEqual(st, 200, body)
            got = rx.wait_acked(1, 10)[0]
        finally:
            rx.stop()
            d.stop()
            d.kill()
        self.assertNotIn(SECRET, d.log_text())
        # Python
        ns = {}
        exec(doc_block("python"), ns)
        self.assertTrue(ns["verify"](SECRET, got["signature"], got["raw"]))
        self.assertFalse(ns["verify"](SECRET, got["signature"], got["raw"] + b" "))
        self.assertFalse(ns["verify"]("x" * 20, got["signature"], got["raw"]))
        # Shell with openssl
        with open(os.path.join(d.tmp, "body.json"), "wb") as f:
            f.write(got["raw"])
        for secret, want in ((SECRET, "valid"), ("wrong-secret-0123456789", "INVALID")):
            p = subprocess.run(["bash", "-e", "-c", doc_block("console")], cwd=d.tmp,
                               capture_output=True, text=True, timeout=30,
                               env=dict(os.environ, SIG=got["signature"],
                                        BROADCAST_WEBHOOK_SECRET=secret))
            self.assertEqual(p.stdout.strip(), want, p.stderr)
        shutil.rmtree(d.tmp, ignore_errors=True)

    def test_option_table_matches_the_source(self):
        with open(os.path.join(bctest.SRCDIR, "framework", "webhook.c"), encoding="utf-8") as f:
            src = f.read()
        table = src[src.index("webhook_options[] = {"):src.index("BC_OPTION_END")]
        doc = doc_text()
        for m in re.finditer(r'BC_OPTION\(\.name = "(\w+)"(.*?)\.description = ((?:\s*"(?:[^"\\]|\\.)*")+)\)',
                             table, re.S):
            name = m.group(1)
            desc = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(3))).replace('\\"', '"')
            row = re.search(r"^\| `%s` \|.*\| (.*) \|$" % name, doc, re.M)
            self.assertIsNotNone(row, "docs/webhooks.md has no row for %s" % name)
            self.assertEqual(row.group(1), desc, name)


class Signature(unittest.TestCase):
    def test_receiver_recipe_refuses_tampering_and_stale_t(self):
        body = b'{"cursor":1}'
        t = int(time.time())
        import hashlib
        import hmac
        v1 = hmac.new(SECRET.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
        self.assertTrue(verify(SECRET, "t=%d,v1=%s" % (t, v1), body))
        self.assertFalse(verify(SECRET, "t=%d,v1=%s" % (t, v1), body + b" "))
        self.assertFalse(verify("other-secret-0123456789", "t=%d,v1=%s" % (t, v1), body))
        old = t - 3600
        v1 = hmac.new(SECRET.encode(), b"%d." % old + body, hashlib.sha256).hexdigest()
        self.assertFalse(verify(SECRET, "t=%d,v1=%s" % (old, v1), body))


if __name__ == "__main__":
    unittest.main(verbosity=2)
