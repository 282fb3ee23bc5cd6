# SPDX-License-Identifier: Apache-2.0
"""Secrets never reach the logs: a full run of the real broadcastd at debug
level, then a search of everything it wrote for every secret it was given or
handed out.

The daemon gets two test providers with `secret` options (one written in the
file, one through ${VAR} from the environment), a local origin provider and
an http frontend with a tokens_file. Traffic covers what a day of service would: starts and stops
under two bearer tokens (form, JSON and query parameters), a local origin
stream with an upload done with its upload token and one refused with a
wrong token, reads and lists,
wrong and malformed tokens, another caller's stream, provider failures on
start and stop, bad parameters, health and metrics, a SIGHUP reload that
changes a secret, and SIGTERM. The search then looks in the daemon's whole
log, in the output of --check-config (good and bad configs) and in every
file the daemon wrote (SQLite files, the origin's state files) for: both
configured secrets (old and new), every bearer and upload token sent (good
or bad), and every aws_secret_access_key, aws_session_token and
upload_token a start returned. Besides the whole value, any 12-byte
piece of a long secret counts, so a truncated or split secret is caught too.
"""
import base64
import hashlib
import http.client
import os
import secrets
import shutil
import signal
import subprocess
import unittest

import bctest

# Whole-file bound: a hang must fail the test, not stall `make check`.
TIMEOUT_S = 55

CONFIG = bctest.config(
    providers='''
- name: test
  type: test
  secret: "@SECRET1@"
- name: other
  type: test
  secret: "${BC_TEST_PROVIDER_SECRET}"
- name: origin
  type: local
  listen: "127.0.0.1:@PORT1@"
  root: "@TMP@/hls"
''',
    frontends='''
- type: http
  listen: "127.0.0.1:@HTTP_PORT@"
  tokens_file: "@TMP@/tokens"
''')


def pieces(secret, n=12):
    """The value itself and, for long values, every n-byte window of it."""
    out = {secret}
    if len(secret) >= 2 * n:
        out.update(secret[i:i + n] for i in range(len(secret) - n + 1))
    return out


def on_alarm(signum, frame):
    raise TimeoutError("test_secrets took longer than %ss" % TIMEOUT_S)


class SecretsNeverLogged(unittest.TestCase):
    def setUp(self):
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(TIMEOUT_S)

    def tearDown(self):
        signal.alarm(0)

    def find_leaks(self, text, label, found):
        for what, value in self.secrets:
            for piece in pieces(value):
                if piece in text:
                    found.append("%s: %s (%s...)" % (label, what, value[:4]))
                    break

    def test_full_run_at_debug_leaks_nothing(self):
        self.secrets = []  # (description, value)
        secret1 = secrets.token_urlsafe(30)
        secret2 = secrets.token_urlsafe(30)
        secret1_new = secrets.token_urlsafe(30)
        alice = secrets.token_urlsafe(32)
        bob = secrets.token_urlsafe(32)
        self.secrets += [("provider secret", secret1), ("env provider secret", secret2),
                         ("reloaded provider secret", secret1_new),
                         ("bearer token alice", alice), ("bearer token bob", bob)]

        d = bctest.Daemon(CONFIG.replace("@SECRET1@", secret1),
                          env={"BC_TEST_PROVIDER_SECRET": secret2})
        with open(os.path.join(d.tmp, "tokens"), "w") as f:
            for name, tok in (("alice", alice), ("bob", bob)):
                f.write("%s:%s\n" % (name, hashlib.sha256(tok.encode()).hexdigest()))

        handed_out = []

        def note_endpoint(body):
            s3 = body.get("endpoint", {}).get("S3", {})
            for field in ("aws_secret_access_key", "aws_session_token"):
                if s3.get(field):
                    handed_out.append((field, s3[field]))
            local = body.get("endpoint", {}).get("HTTP", {})
            if local.get("upload_token"):
                handed_out.append(("upload_token", local["upload_token"]))

        with d:
            ids = {"alice": [], "bob": []}
            # Starts in every parameter form, under both tokens.
            for i in range(6):
                st, _, body = d.request("POST", "/stream/start/?type=hls&name=q%d" % i,
                                        token=alice)
                self.assertEqual(st, 200, body)
                note_endpoint(body)
                ids["alice"].append(body["stream"]["id"])
                st, _, body = d.request("POST", "/stream/start/",
                                        params={"type": "hls", "name": "form %d" % i},
                                        token=bob)
                self.assertEqual(st, 200, body)
                note_endpoint(body)
                ids["bob"].append(body["stream"]["id"])
            st, _, body = d.request("POST", "/stream/start", body={"name": "json",
                                                                    "provider": "other"},
                                    token=alice)
            self.assertEqual(st, 200, body)
            note_endpoint(body)
            ids["alice"].append(body["stream"]["id"])

            # The local origin: an upload token, used right and wrong.
            st, _, body = d.request("POST", "/stream/start/", params={"provider": "origin"},
                                    token=bob)
            self.assertEqual(st, 200, body)
            note_endpoint(body)
            origin_id = body["stream"]["id"]
            upload = body["endpoint"]["HTTP"]["upload_token"]
            wrong_upload = secrets.token_urlsafe(32)
            self.secrets.append(("wrong upload token", wrong_upload))
            for tok, want in ((upload, (200, 201, 204)), (wrong_upload, (401, 403))):
                conn = http.client.HTTPConnection("127.0.0.1", d.ports[0], timeout=10)
                try:
                    conn.request("PUT", "/live/%s/seg0.ts" % origin_id, body=b"x" * 188,
                                 headers={"Authorization": "Bearer " + tok})
                    r = conn.getresponse()
                    r.read()
                    self.assertIn(r.status, want)
                finally:
                    conn.close()

            # Reads and lists.
            for who, tok in (("alice", alice), ("bob", bob)):
                st, _, body = d.request("GET", "/streams/%s" % ids[who][0], token=tok)
                self.assertEqual(st, 200, body)
                st, _, body = d.request("GET", "/streams/", params={"state": "all"},
                                        token=tok)
                self.assertEqual(st, 200, body)

            # Wrong tokens, in the places a client might put one.
            bad = [secrets.token_urlsafe(32) for _ in range(3)]
            self.secrets += [("wrong bearer token", b) for b in bad]
            st, _, body = d.request("POST", "/stream/start/", token=bad[0])
            self.assertEqual(st, 401, body)
            st, _, body = d.request("POST", "/stream/start/",
                                    headers={"Authorization": "Bearer  " + bad[1] + " x"})
            self.assertEqual(st, 401, body)
            basic = base64.b64encode(("alice:" + bad[2]).encode()).decode()
            st, _, body = d.request("POST", "/stream/start/",
                                    headers={"Authorization": "Basic " + basic})
            self.assertEqual(st, 401, body)
            st, _, body = d.request("POST", "/stream/start/?access_token=" + bad[0])
            self.assertEqual(st, 401, body)

            # Another caller's stream, unknown ids, bad parameters.
            st, _, body = d.request("POST", "/stream/stop/", params={"id": ids["alice"][0]},
                                    token=bob)
            self.assertEqual(st, 403, body)
            st, _, body = d.request("POST", "/stream/stop/",
                                    params={"id": "00000000-0000-4000-8000-000000000000"},
                                    token=alice)
            self.assertEqual(st, 404, body)
            st, _, body = d.request("POST", "/stream/start/?type=nope", token=alice)
            self.assertEqual(st, 400, body)
            st, _, body = d.request("POST", "/stream/start/", body="{not json",
                                    headers={"Content-Type": "application/json"},
                                    token=alice)
            self.assertEqual(st, 400, body)

            # Provider failures on start and stop.
            for status in ("invalid", "unavailable", "timeout", "upstream", "internal"):
                st, _, body = d.request("POST", "/stream/start/",
                                        params={"name": "fail-start-" + status}, token=alice)
                self.assertGreaterEqual(st, 400, body)
            st, _, body = d.request("POST", "/stream/start/",
                                    params={"name": "fail-stop-upstream"}, token=bob)
            self.assertEqual(st, 200, body)
            note_endpoint(body)
            st, _, body = d.request("POST", "/stream/stop/",
                                    params={"id": body["stream"]["id"]}, token=bob)
            self.assertGreaterEqual(st, 400, body)

            # Stops, and a second stop of the same stream (409).
            for who, tok in (("alice", alice), ("bob", bob)):
                for sid in ids[who][:3]:
                    st, _, body = d.request("POST", "/stream/stop/", params={"id": sid},
                                            token=tok)
                    self.assertEqual(st, 200, body)
            st, _, body = d.request("POST", "/stream/stop/", params={"id": ids["bob"][0]},
                                    token=bob)
            self.assertEqual(st, 409, body)

            st, _, _ = d.request("GET", "/healthz")
            self.assertIn(st, (200, 503))
            st, _, text = d.request("GET", "/metrics", token=alice)
            self.assertEqual(st, 200, text)

            # Reload with the first provider's secret changed, then use it.
            with open(d.config_path) as f:
                text = f.read()
            d.reload(text.replace(secret1, secret1_new))
            st, _, body = d.request("POST", "/stream/start/", params={"name": "after"},
                                    token=alice)
            self.assertEqual(st, 200, body)
            note_endpoint(body)
            st, _, body = d.request("POST", "/stream/stop/",
                                    params={"id": body["stream"]["id"]}, token=alice)
            self.assertEqual(st, 200, body)
            config_path, tmp = d.config_path, d.tmp
        self.assertEqual(d.proc.returncode, 0, d.log_text()[-3000:])

        self.assertGreaterEqual(len(handed_out), 2 * 15, handed_out)
        self.secrets += handed_out
        log = d.log_text()
        # The run really was at debug level and logged the requests.
        self.assertIn("DEBUG", log)
        self.assertIn("configuration reloaded", log)
        self.assertGreater(log.count("/stream/start"), 10, log[-2000:])
        # A control for the search below: values from the responses that are
        # not secret (stream ids) are found in the log the same way.
        self.assertIn(ids["alice"][0], log)
        self.assertIn(ids["bob"][-1], log)

        found = []
        self.find_leaks(log, "daemon log", found)

        # --check-config of the good file, and of a broken one that names
        # an unknown key next to the secret.
        env = dict(os.environ, BC_TEST_PROVIDER_SECRET=secret2)
        p = subprocess.run([bctest.BROADCASTD, "--check-config", "-c", config_path],
                           capture_output=True, text=True, env=env, timeout=20)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.find_leaks(p.stdout + p.stderr, "--check-config", found)
        with open(config_path) as f:
            text = f.read()
        broken = os.path.join(tmp, "broken.yaml")
        with open(broken, "w") as f:
            lines = []
            for line in text.splitlines(True):
                lines.append(line)
                if secret1_new in line:  # the same value under a misspelt key
                    lines.append(line.replace("secret:", "secert:"))
            f.write("".join(lines))
        p = subprocess.run([bctest.BROADCASTD, "--check-config", "-c", broken],
                           capture_output=True, text=True, env=env, timeout=20)
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("secert", p.stdout + p.stderr)
        self.find_leaks(p.stdout + p.stderr, "--check-config of a broken file", found)

        # Every file the daemon wrote: the stream records (metadata is for
        # stop, never for secrets) and the local origin's state files. Only
        # the config files hold the provider secrets, by design.
        for root, _, names in os.walk(tmp):
            for name in names:
                if name in ("broadcast.yaml", "broken.yaml") or name == "broadcastd.log":
                    continue
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    self.find_leaks(f.read().decode("latin-1"), os.path.relpath(path, tmp),
                                    found)

        self.assertEqual(found, [], "secrets found:\n" + "\n".join(found))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
