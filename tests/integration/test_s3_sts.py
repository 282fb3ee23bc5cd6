# SPDX-License-Identifier: Apache-2.0
"""The s3 provider end to end: the real broadcastd, its http frontend, and the
STS double (sts_double.py), which verifies every request's SigV4 signature
with botocore.

Checked: start returns the seed's shape with the double's credentials (the
seven seed keys first, then aws_expiration_date, then s3_endpoint when set);
the signature is botocore-valid (and a wrong secret is refused: 502
s3.credentials_rejected); the recorded Policy allows only the stream's path,
statement by statement; Name is the owner cut to 32 characters;
DurationSeconds (3600 by default); assume-role mode (RoleArn,
RoleSessionName, ExternalId); minted credentials can PutObject under the
stream's path and nowhere else (botocore signs, the double checks the
policy); throttling -> 503 after retries and no stream left; STS hanging ->
504 s3.sts_timeout within timeout; STS down -> 504 s3.sts_unreachable within
timeout; /healthz says the s3 instance is unavailable while STS fails
starts, and ok again after a success; garbage -> 502; create_bucket (HEAD then PUT Bucket with the region,
botocore-verified, to s3_endpoint); TLS to the double with ca_file; and no
secret in the daemon's log.
"""
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse

import bctest
from sts_double import StsDouble

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

BASE_KEY = "AKIDBASEINTEGRATION1"
BASE_SECRET = "integration/Secret+Key0123456789abcdEXAMP"
OWNER = "broadcaster.with-a-very-long-name@example.com"  # 45 characters
TOKEN = "s3-test-token-0123456789abcdef"
SEED_FIELDS = ["aws_access_key_id", "aws_secret_access_key", "aws_session_token",
               "aws_expiration", "s3_bucket_name", "s3_bucket_path", "s3_bucket_region"]


def provider_yaml(url, **extra):
    opts = {"name": "s3-main", "type": "s3", "bucket": "stream-bucket",
            "access_key_id": BASE_KEY, "secret_access_key": BASE_SECRET,
            "sts_endpoint": url, "timeout": "5s", "retries": "1"}
    opts.update(extra)
    lines = ["- name: %s" % opts.pop("name")]
    for k, v in opts.items():
        lines.append("  %s: %s" % (k, json.dumps(str(v))))
    return "\n".join(lines) + "\n"


def frontend_yaml():
    return ('- type: http\n  listen: "127.0.0.1:@HTTP_PORT@"\n'
            '  tokens_file: "@TMP@/tokens"\n')


class S3Daemon(bctest.Daemon):
    """broadcastd with one s3 provider and a tokens file naming OWNER."""

    def __init__(self, url, **extra):
        tmp = tempfile.mkdtemp(prefix="bctest-s3-")
        with open(os.path.join(tmp, "tokens"), "w") as f:
            f.write("%s:%s\n" % (OWNER, hashlib.sha256(TOKEN.encode()).hexdigest()))
        super().__init__(bctest.config(providers=provider_yaml(url, **extra),
                                       frontends=frontend_yaml()), tmp=tmp)

    def __exit__(self, exc_type, *rest):
        super().__exit__(exc_type, *rest)
        if exc_type is None:  # keep the log of a failed test for reading
            shutil.rmtree(self.tmp, ignore_errors=True)
        return False

    def start_stream(self, name="show"):
        return self.request("POST", "/stream/start/", params={"type": "hls", "name": name},
                            token=TOKEN)

    def streams(self):
        status, _, body = self.request("GET", "/streams", params={"state": "all"}, token=TOKEN)
        assert status == 200, body
        return body["streams"]


def raw_json(d, path, **kw):
    """The start response parsed keeping key order, and its raw text."""
    conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10)
    try:
        conn.request("POST", path, body=urllib.parse.urlencode(kw),
                     headers={"Content-Type": "application/x-www-form-urlencoded",
                              "Authorization": "Bearer " + TOKEN})
        resp = conn.getresponse()
        text = resp.read().decode()
    finally:
        conn.close()
    return resp.status, text, json.loads(text, object_pairs_hook=lambda p: p)


class S3ProviderTest(unittest.TestCase):
    def setUp(self):
        self.sts = StsDouble({BASE_KEY: (BASE_SECRET, None)}).start()

    def tearDown(self):
        self.sts.stop()

    def assert_clean_log(self, d, extra_secrets=()):
        log = d.log_text()
        for secret in (BASE_SECRET,) + tuple(extra_secrets):
            self.assertNotIn(secret, log)
        for rec in self.sts.sts_records():
            for k in ("minted_secret", "minted_token"):
                if k in rec:
                    self.assertNotIn(rec[k], log)

    def test_start_federation(self):
        with S3Daemon(self.sts.url) as d:
            status, text, pairs = raw_json(d, "/stream/start/", type="hls", name="show")
            self.assertEqual(status, 200, text)
            self.assertEqual([k for k, _ in pairs], ["stream", "endpoint"])
            endpoint = dict(pairs)["endpoint"]
            self.assertEqual([k for k, _ in endpoint], ["S3"])
            s3_pairs = dict(endpoint)["S3"]
            self.assertEqual([k for k, _ in s3_pairs], SEED_FIELDS + ["aws_expiration_date"])
            self.assertIn('"aws_expiration": 3600.0', text.replace('":3600.0', '": 3600.0'))
            s3 = dict(s3_pairs)
            stream = dict(dict(pairs)["stream"])
            sid = stream["id"]

            recs = self.sts.sts_records()
            self.assertEqual(len(recs), 1)
            rec = recs[0]
            self.assertTrue(rec["verified"], rec)
            self.assertEqual(rec["access_key_id"], BASE_KEY)
            p = rec["params"]
            self.assertEqual(p["Action"], "GetFederationToken")
            self.assertEqual(p["Version"], "2011-06-15")
            self.assertEqual(p["Name"], OWNER[:32])
            self.assertEqual(p["DurationSeconds"], "3600")

            path = "%s/%s/" % (OWNER, sid)
            self.assertEqual(s3["aws_access_key_id"], rec["minted_access_key_id"])
            self.assertEqual(s3["aws_secret_access_key"], rec["minted_secret"])
            self.assertEqual(s3["aws_session_token"], rec["minted_token"])
            self.assertEqual(s3["aws_expiration"], 3600.0)
            self.assertEqual(s3["s3_bucket_name"], "stream-bucket")
            self.assertEqual(s3["s3_bucket_path"], path)
            self.assertEqual(s3["s3_bucket_region"], "us-west-1")
            # STS's Expiration ("2026-01-01T13:00:00Z") in the API's date format.
            self.assertEqual(s3["aws_expiration_date"],
                             rec["expiration"].replace("T", " ").rstrip("Z"))

            # The policy: two statements, nothing else.
            pol = rec["policy"]
            self.assertEqual(set(pol), {"Version", "Statement"})
            self.assertEqual(pol["Version"], "2012-10-17")
            objects, listing = pol["Statement"]
            self.assertEqual(objects["Effect"], "Allow")
            self.assertEqual(sorted(objects["Action"]),
                             sorted(["s3:PutObject", "s3:PutObjectAcl", "s3:GetObject",
                                     "s3:DeleteObject", "s3:AbortMultipartUpload",
                                     "s3:ListMultipartUploadParts"]))
            self.assertEqual(objects["Resource"], ["arn:aws:s3:::stream-bucket/%s*" % path])
            self.assertNotIn("Condition", objects)
            self.assertEqual(listing["Effect"], "Allow")
            self.assertEqual(listing["Action"], ["s3:ListBucket"])
            self.assertEqual(listing["Resource"], ["arn:aws:s3:::stream-bucket"])
            self.assertEqual(listing["Condition"], {"StringLike": {"s3:prefix": [path + "*"]}})

            # The minted credentials write under the path and nowhere else.
            creds = Credentials(s3["aws_access_key_id"], s3["aws_secret_access_key"],
                                s3["aws_session_token"])
            self.assertEqual(self.s3_put(creds, "stream-bucket", path + "index.m3u8"), 200)
            self.assertEqual(self.s3_put(creds, "stream-bucket", path + "seg/0001.ts"), 200)
            self.assertEqual(self.s3_put(creds, "stream-bucket", "%s/other/x.ts" % OWNER), 403)
            self.assertEqual(self.s3_put(creds, "other-bucket", path + "index.m3u8"), 403)

            # Stop: 200, and the log says the credentials live on.
            status, _, body = d.request("POST", "/stream/stop/", params={"id": sid}, token=TOKEN)
            self.assertEqual(status, 200, body)
            self.assertIsNotNone(body["stream"]["stop_date"])
            deadline = time.monotonic() + 5
            while "cannot be revoked" not in d.log_text() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertIn("cannot be revoked", d.log_text())
            self.assert_clean_log(d)

    def s3_put(self, creds, bucket, key):
        url = "%s/%s/%s" % (self.sts.url, bucket, urllib.parse.quote(key))
        req = AWSRequest(method="PUT", url=url, data=b"#EXTM3U\n")
        S3SigV4Auth(creds, "s3", "us-west-1").add_auth(req)
        conn = http.client.HTTPConnection("127.0.0.1", self.sts.port, timeout=10)
        try:
            conn.request("PUT", urllib.parse.urlsplit(url).path, body=b"#EXTM3U\n",
                         headers=dict(req.headers.items()))
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    def test_connections_reused_and_concurrent_starts(self):
        import concurrent.futures
        with S3Daemon(self.sts.url) as d:
            for _ in range(5):
                status, _, body = d.start_stream()
                self.assertEqual(status, 200, body)
            ports = {r["peer_port"] for r in self.sts.sts_records()}
            self.assertEqual(len(ports), 1, "5 sequential starts used %d connections" % len(ports))
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                results = list(pool.map(lambda i: d.start_stream("c%d" % i), range(16)))
            self.assertEqual([r[0] for r in results], [200] * 16, results)
            keys = {r[2]["endpoint"]["S3"]["aws_access_key_id"] for r in results}
            self.assertEqual(len(keys), 16)
            self.assertTrue(all(r["verified"] for r in self.sts.sts_records()))
            self.assertEqual(len(d.streams()), 21)

    def test_assume_role(self):
        with S3Daemon(self.sts.url, credentials="assume-role",
                      role_arn="arn:aws:iam::123456789012:role/uploader", external_id="ext-7",
                      path="live/{stream_id}/", region="eu-west-3") as d:
            status, _, body = d.start_stream()
            self.assertEqual(status, 200, body)
            rec = self.sts.sts_records()[0]
            self.assertTrue(rec["verified"])
            p = rec["params"]
            self.assertEqual(p["Action"], "AssumeRole")
            self.assertEqual(p["RoleArn"], "arn:aws:iam::123456789012:role/uploader")
            self.assertEqual(p["ExternalId"], "ext-7")
            self.assertEqual(p["RoleSessionName"], OWNER[:27] + "." + body["stream"]["id"])
            self.assertEqual(p["DurationSeconds"], "3600")
            s3 = body["endpoint"]["S3"]
            self.assertEqual(s3["s3_bucket_path"], "live/%s/" % body["stream"]["id"])
            self.assertEqual(s3["s3_bucket_region"], "eu-west-3")
            self.assertEqual(rec["policy"]["Statement"][0]["Resource"],
                             ["arn:aws:s3:::stream-bucket/live/%s/*" % body["stream"]["id"]])
            self.assert_clean_log(d)

    def test_wrong_secret_denied(self):
        wrong = "WrongSecretKey/0123456789abcdefghijklmn"
        with S3Daemon(self.sts.url, secret_access_key=wrong) as d:
            status, _, body = d.start_stream()
            bctest.assert_error(self, status, body, 502, "s3.credentials_rejected")
            recs = self.sts.sts_records()
            self.assertEqual(len(recs), 1)  # a refusal is not retried
            self.assertFalse(recs[0]["verified"])
            self.assertEqual(d.streams(), [])
            self.assert_clean_log(d, (wrong,))

    def test_throttled_leaves_no_stream(self):
        self.sts.configure(mode="throttle")
        with S3Daemon(self.sts.url, retries=2) as d:
            status, headers, body = d.start_stream()
            bctest.assert_error(self, status, body, 503, "s3.sts_throttled")
            self.assertEqual(len(self.sts.sts_records()), 3)
            self.assertEqual(d.streams(), [])
            self.sts.configure(mode="ok")
            status, _, body = d.start_stream()
            self.assertEqual(status, 200, body)
            self.assertEqual(len(d.streams()), 1)

    def test_throttled_once_then_ok(self):
        self.sts.configure(mode="throttle", count=1)
        with S3Daemon(self.sts.url, duration="7200") as d:  # bare seconds
            status, _, body = d.start_stream()
            self.assertEqual(status, 200, body)
            recs = self.sts.sts_records()
            self.assertEqual(len(recs), 2)
            self.assertEqual(recs[1]["params"]["DurationSeconds"], "7200")
            self.assertEqual(body["endpoint"]["S3"]["aws_expiration"], 7200.0)

    def test_hang_times_out(self):
        self.sts.configure(mode="hang", hang_seconds=10)
        with S3Daemon(self.sts.url, timeout="1s") as d:
            t0 = time.monotonic()
            status, _, body = d.start_stream()
            took = time.monotonic() - t0
            bctest.assert_error(self, status, body, 504, "s3.sts_timeout")
            self.assertLess(took, 2.5)
            self.assertEqual(d.streams(), [])

    def test_server_error_and_garbage(self):
        with S3Daemon(self.sts.url) as d:
            self.sts.configure(mode="error")
            status, _, body = d.start_stream()
            bctest.assert_error(self, status, body, 502, "s3.sts_error")
            self.sts.configure(mode="badxml")
            status, _, body = d.start_stream()
            bctest.assert_error(self, status, body, 502, "s3.sts_bad_response")
            self.assertEqual(d.streams(), [])

    def test_duration_limits(self):
        # Outside STS's limits broadcastd refuses to start, naming them.
        for extra, limit in (({"duration": "899"}, "900"), ({"duration": "129601"}, "129600"),
                             ({"duration": "43201", "credentials": "assume-role",
                               "role_arn": "arn:aws:iam::123456789012:role/r"}, "43200")):
            d = S3Daemon(self.sts.url, **extra)
            with self.assertRaises(bctest.DaemonError) as cm:
                d.start()
            self.assertIn(limit, str(cm.exception))
            shutil.rmtree(d.tmp, ignore_errors=True)

    def test_sts_down(self):
        port = bctest.free_port()
        with S3Daemon("http://127.0.0.1:%d" % port, timeout="2s", retries=3) as d:
            t0 = time.monotonic()
            status, _, body = d.start_stream()
            took = time.monotonic() - t0
            bctest.assert_error(self, status, body, 504, "s3.sts_unreachable")
            self.assertLess(took, 3.0)
            self.assertEqual(d.streams(), [])
            self.assert_clean_log(d)

    def test_health_follows_sts(self):
        """/healthz is not "ok" for an s3 instance whose STS calls fail: after
        two failed starts in a row (504 s3.sts_unreachable) it answers 503
        with the s3 instance unavailable and the last failure's code; the
        next successful start makes it ok again."""
        port = self.sts.port
        self.sts.stop()  # nothing listens there until the double comes back
        with S3Daemon("http://127.0.0.1:%d" % port, timeout="2s", retries=1) as d:
            status, _, body = d.request("GET", "/healthz")
            self.assertEqual(status, 200, body)  # no call made yet: configured is ok
            status, _, body = d.start_stream()
            bctest.assert_error(self, status, body, 504, "s3.sts_unreachable")
            status, _, body = d.request("GET", "/healthz")
            self.assertEqual(status, 200, body)  # one failure is not yet a pattern
            status, _, body = d.start_stream()
            bctest.assert_error(self, status, body, 504, "s3.sts_unreachable")
            status, headers, body = d.request("GET", "/healthz")
            self.assertEqual(status, 503, body)
            self.assertEqual(body["status"], "unavailable", body)
            s3 = [p for p in body["providers"] if p["name"] == "s3-main"]
            self.assertEqual(len(s3), 1, body)
            self.assertEqual(s3[0]["status"], "unavailable", body)
            self.assertEqual(s3[0]["code"], "s3.sts_unreachable", body)
            self.assertEqual(body["store"]["status"], "ok", body)
            self.assertIn("retry-after", headers)
            self.assertIn("s3.sts_unreachable", d.log_text())

            self.sts = StsDouble({BASE_KEY: (BASE_SECRET, None)}, port=port).start()
            status, _, body = d.start_stream()
            self.assertEqual(status, 200, body)
            status, _, body = d.request("GET", "/healthz")
            self.assertEqual(status, 200, body)
            self.assertEqual([p["status"] for p in body["providers"]], ["ok"], body)
            self.assert_clean_log(d)

    def test_create_bucket_and_s3_endpoint(self):
        # Missing: HEAD says 404, then PUT Bucket names the region.
        with S3Daemon(self.sts.url, bucket="new-bucket", region="eu-west-3",
                      create_bucket="true", s3_endpoint=self.sts.url + "/") as d:
            self.assertEqual(self.sts.buckets, {"new-bucket": "eu-west-3"})
            reqs = self.sts.bucket_records
            self.assertEqual([(r["method"], r["bucket"], r["verified"]) for r in reqs],
                             [("HEAD", "new-bucket", True), ("PUT", "new-bucket", True)])
            self.assertEqual(reqs[1]["access_key_id"], BASE_KEY)
            self.assertEqual(reqs[1]["location"], "eu-west-3")
            status, text, pairs = raw_json(d, "/stream/start/", type="hls")
            self.assertEqual(status, 200, text)
            s3_pairs = dict(dict(pairs)["endpoint"])["S3"]
            self.assertEqual([k for k, _ in s3_pairs],
                             SEED_FIELDS + ["aws_expiration_date", "s3_endpoint"])
            self.assertEqual(dict(s3_pairs)["s3_endpoint"], self.sts.url + "/")
            self.assertIn("created bucket new-bucket", d.log_text())
            self.assert_clean_log(d)
        # Present: HEAD only. us-east-1: a PUT without a body.
        self.sts.bucket_records.clear()
        with S3Daemon(self.sts.url, bucket="new-bucket", region="eu-west-3",
                      create_bucket="true", s3_endpoint=self.sts.url):
            self.assertEqual([r["method"] for r in self.sts.bucket_records], ["HEAD"])
        self.sts.bucket_records.clear()
        with S3Daemon(self.sts.url, bucket="east-bucket", region="us-east-1",
                      create_bucket="true", s3_endpoint=self.sts.url):
            self.assertEqual([r["method"] for r in self.sts.bucket_records], ["HEAD", "PUT"])
            self.assertIsNone(self.sts.bucket_records[1]["location"])
            self.assertEqual(self.sts.buckets["east-bucket"], "us-east-1")
        # Refused (a wrong secret): broadcastd does not start, and says why.
        wrong = "WrongSecretKey/0123456789abcdefghijklmn"
        d = S3Daemon(self.sts.url, bucket="third-bucket", create_bucket="true",
                     s3_endpoint=self.sts.url, secret_access_key=wrong)
        with self.assertRaises(bctest.DaemonError) as cm:
            d.start()
        self.assertIn("create_bucket", str(cm.exception))
        self.assertIn("s3.bucket_denied", str(cm.exception))
        self.assertNotIn(wrong, str(cm.exception))
        self.assertNotIn("third-bucket", self.sts.buckets)
        shutil.rmtree(d.tmp, ignore_errors=True)
        # create_bucket off (the default): S3 is never asked.
        self.sts.bucket_records.clear()
        with S3Daemon(self.sts.url, bucket="other-bucket", s3_endpoint=self.sts.url):
            self.assertEqual(self.sts.bucket_records, [])


@unittest.skipUnless(shutil.which("openssl"), "openssl(1) is needed to make a test certificate")
class S3ProviderTlsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bctest-s3-tls-")
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", self.key, "-out", self.cert],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.sts = StsDouble({BASE_KEY: (BASE_SECRET, None)}, tls_cert=self.cert,
                             tls_key=self.key).start()

    def tearDown(self):
        self.sts.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_https_with_ca_file(self):
        self.assertTrue(self.sts.url.startswith("https://"))
        with S3Daemon(self.sts.url, ca_file=self.cert) as d:
            status, _, body = d.start_stream()
            self.assertEqual(status, 200, body)
            self.assertTrue(self.sts.sts_records()[0]["verified"])

    def test_https_untrusted(self):
        with S3Daemon(self.sts.url) as d:
            status, _, body = d.start_stream()
            bctest.assert_error(self, status, body, 502, "s3.sts_tls")
            self.assertEqual(self.sts.sts_records(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
