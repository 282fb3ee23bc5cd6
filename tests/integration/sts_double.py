# SPDX-License-Identifier: Apache-2.0
"""sts_double: a test double of AWS STS (and of S3 PutObject) for the s3 provider.

It answers the STS query protocol (POST, form body, Version 2011-06-15) for
GetFederationToken and AssumeRole with XML shaped as the STS API Reference
documents it, and it checks every request's SigV4 signature by recomputing
it with botocore's own signer (python3-botocore: botocore.auth.SigV4Auth on
an AWSRequest rebuilt from the headers the request says it signed). A wrong
secret, a missing signed header, a stale X-Amz-Date or an unknown key gets the
403 ErrorResponse AWS sends (SignatureDoesNotMatch, InvalidClientTokenId).

It records every STS call (action, form parameters, parsed Policy, which key
signed it) and can be told to misbehave: throttle (400 Throttling), fail
(500 InternalFailure), answer garbage (200 with non-XML), hang, or refuse
(403 AccessDenied), or reject the call (400 MalformedPolicyDocument), for
`count` calls or for all of them.

Minted credentials work against the double's S3 side: a path-style
`PUT /BUCKET/KEY` signed with them (botocore's S3SigV4Auth, session token
required) is accepted only when the policy minted with them allows
s3:PutObject on arn:aws:s3:::BUCKET/KEY.

The S3 side also answers HeadBucket (`HEAD /BUCKET`: 200 when the double
knows the bucket, else 404) and CreateBucket (`PUT /BUCKET` with an optional
CreateBucketConfiguration; 409 BucketAlreadyOwnedByYou when it exists), signed
by the base keys (or minted ones, held to their policy: s3:ListBucket,
s3:CreateBucket). Every S3 request's signature is checked with botocore and
its X-Amz-Content-SHA256 against the body. `buckets` (name -> region) holds
what exists; `bucket_records` what was asked.

Use it in-process (tests/integration/test_s3_*.py):

    with StsDouble(keys={"AKIDBASE": ("secret", None)}) as sts:
        ... sts.url, sts.records, sts.configure(mode="throttle", count=2)

or as a program (the Check test test_s3_policy.c does):

    python3 sts_double.py --key AKIDBASE:secret --port-file F [--mode throttle]
        [--count N] [--record FILE] [--bucket NAME] [--tls-cert C --tls-key K]

The program writes its port to the port file once it listens and each STS
record as one JSON line to --record. POST /__double/config (JSON
{"mode": ..., "count": ..., "hang_seconds": ..., "reset": true}),
GET /__double/records and GET /__double/buckets control and inspect a
running double.
"""
import argparse
import base64
import datetime
import hmac
import hashlib
import http.server
import json
import os
import re
import secrets
import ssl
import string
import sys
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
ACCOUNT = "123456789012"
NAME_RE = re.compile(r"^[\w+=,.@-]+$")
AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,"
                     r" ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$")


def _xml_escape(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def error_xml(code, message, kind="Sender"):
    return ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n    <Code>%s</Code>\n'
            '    <Message>%s</Message>\n  </Error>\n  <RequestId>%s</RequestId>\n'
            '</ErrorResponse>\n' % (STS_NS, kind, code, _xml_escape(message), uuid.uuid4()))


class SignatureError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class StsDouble:
    """The double: an HTTP(S) server on 127.0.0.1 in a thread."""

    def __init__(self, keys, port=0, tls_cert=None, tls_key=None, region=None, record_path=None,
                 buckets=None):
        # keys: access key id -> (secret, session token or None)
        self.keys = dict(keys)
        self.region = region  # None: accept any region in the credential scope
        self.lock = threading.Lock()
        self.records = []
        self.minted = {}  # access key id -> {"secret", "token", "policy"}
        self.s3_records = []
        self.buckets = dict(buckets or {})  # name -> region
        self.bucket_records = []
        self.mode, self.count, self.hang_seconds = "ok", None, 30.0
        self.record_path = record_path
        self.tls = tls_cert is not None
        double = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # quiet: tests print what matters
                pass

            def do_POST(self):
                double._handle(self, "POST")

            def do_GET(self):
                double._handle(self, "GET")

            def do_PUT(self):
                double._handle(self, "PUT")

            def do_HEAD(self):
                double._handle(self, "HEAD")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_cert, tls_key)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)
        self.thread = None

    # -- lifecycle -------------------------------------------------------------
    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def configure(self, mode="ok", count=None, hang_seconds=None):
        """mode: ok | throttle | error | badxml | hang | deny | reject; count: how many
        STS calls misbehave before the double answers normally again (None:
        all of them)."""
        with self.lock:
            self.mode, self.count = mode, count
            if hang_seconds is not None:
                self.hang_seconds = float(hang_seconds)

    def reset(self):
        """Forget every record (and empty the record file)."""
        with self.lock:
            self.records.clear()
            self.s3_records.clear()
            self.bucket_records.clear()
            if self.record_path:
                open(self.record_path, "w").close()

    def sts_records(self):
        with self.lock:
            return list(self.records)

    # -- request handling --------------------------------------------------------
    def _reply(self, h, status, body, ctype="text/xml"):
        data = body.encode() if isinstance(body, str) else body
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        h.end_headers()
        h.wfile.write(data)

    def _handle(self, h, method):
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        path = urllib.parse.urlsplit(h.path).path
        try:
            if path.startswith("/__double/"):
                return self._control(h, method, path, body)
            if method in ("PUT", "HEAD"):
                _, _, key = path.lstrip("/").partition("/")
                if not key:
                    return self._s3_bucket(h, method, body)
                if method == "PUT":
                    return self._s3_put(h, body)
            if method != "POST":
                return self._reply(h, 405, error_xml("InvalidAction", "use POST"))
            return self._sts(h, body)
        except SignatureError as e:
            if method == "HEAD":  # no body, as S3
                return self._reply_empty(h, e.status)
            return self._reply(h, e.status, error_xml(e.code, e.message))
        except BrokenPipeError:
            return None

    def _control(self, h, method, path, body):
        if path == "/__double/config" and method == "POST":
            cfg = json.loads(body or b"{}")
            self.configure(cfg.get("mode", "ok"), cfg.get("count"), cfg.get("hang_seconds"))
            if cfg.get("reset"):
                self.reset()
            return self._reply(h, 200, b"{}", "application/json")
        if path == "/__double/buckets":
            with self.lock:
                data = {"buckets": dict(self.buckets), "requests": list(self.bucket_records)}
            return self._reply(h, 200, json.dumps(data).encode(), "application/json")
        if path == "/__double/records":
            return self._reply(h, 200, json.dumps(self.sts_records()).encode(), "application/json")
        return self._reply(h, 404, b"{}", "application/json")

    def verify(self, h, body, service, creds_for):
        """Recompute the request's signature with botocore; return the access
        key id. creds_for(key id) -> (secret, token or None) or None."""
        authz = h.headers.get("Authorization", "")
        m = AUTH_RE.match(authz)
        if not m:
            raise SignatureError(403, "IncompleteSignature",
                                 "Authorization header requires Credential, SignedHeaders, Signature")
        akid, day, region, svc, signed, signature = m.groups()
        known = creds_for(akid)
        if known is None:
            raise SignatureError(403, "InvalidClientTokenId",
                                 "The security token included in the request is invalid.")
        secret, token = known
        if svc != service or (self.region and region != self.region):
            raise SignatureError(403, "SignatureDoesNotMatch",
                                 "Credential should be scoped to a valid region/service.")
        names = signed.split(";")
        for need in ("host", "x-amz-date"):
            if need not in names:
                raise SignatureError(403, "SignatureDoesNotMatch", "%s must be signed" % need)
        if token is not None:
            if h.headers.get("X-Amz-Security-Token") != token:
                raise SignatureError(403, "InvalidClientTokenId",
                                     "The security token included in the request is invalid.")
            if "x-amz-security-token" not in names:
                raise SignatureError(403, "SignatureDoesNotMatch",
                                     "x-amz-security-token must be signed")
        amz_date = h.headers.get("X-Amz-Date", "")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            raise SignatureError(403, "IncompleteSignature", "bad X-Amz-Date")
        if abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 900:
            raise SignatureError(403, "SignatureDoesNotMatch", "Signature expired")
        if amz_date[:8] != day:
            raise SignatureError(403, "SignatureDoesNotMatch", "date mismatch")
        if service == "s3":
            sha = h.headers.get("X-Amz-Content-SHA256")
            if sha is None or "x-amz-content-sha256" not in names:
                raise SignatureError(400, "InvalidRequest",
                                     "Missing required header for this request: "
                                     "x-amz-content-sha256")
            if sha != "UNSIGNED-PAYLOAD" and sha != hashlib.sha256(body).hexdigest():
                raise SignatureError(400, "XAmzContentSHA256Mismatch",
                                     "The provided 'x-amz-content-sha256' header does not "
                                     "match what was computed.")
        headers = {}
        for name in names:
            values = h.headers.get_all(name)
            if values is None:
                raise SignatureError(403, "SignatureDoesNotMatch", "signed header %s missing" % name)
            headers[name] = ",".join(values)
        url = "%s://%s%s" % ("https" if self.tls else "http", h.headers.get("Host"), h.path)
        req = AWSRequest(method=h.command, url=url, data=body, headers=headers)
        req.context["timestamp"] = amz_date
        cls = S3SigV4Auth if service == "s3" else SigV4Auth
        auth = cls(Credentials(akid, secret, token), service, region)
        canonical = auth.canonical_request(req)
        want = auth.signature(auth.string_to_sign(req, canonical), req)
        if not hmac.compare_digest(want, signature):
            raise SignatureError(403, "SignatureDoesNotMatch",
                                 "The request signature we calculated does not match the "
                                 "signature you provided. Check your AWS Secret Access Key "
                                 "and signing method.")
        return akid

    def _misbehave(self):
        """The mode for this call (and count it down)."""
        with self.lock:
            mode = self.mode
            if mode != "ok" and self.count is not None:
                self.count -= 1
                if self.count <= 0:
                    self.mode, self.count = "ok", None
            return mode, self.hang_seconds

    def _sts(self, h, body):
        params = dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                             strict_parsing=False))
        rec = {"action": params.get("Action"), "params": params, "verified": False,
               "time": time.time(), "peer_port": h.client_address[1]}
        try:
            return self._sts_answer(h, body, params, rec)
        finally:
            if not rec.get("recorded"):
                self._record(rec)

    def _sts_answer(self, h, body, params, rec):
        mode, hang = self._misbehave()
        rec["mode"] = mode
        akid = self.verify(h, body, "sts", lambda k: self.keys.get(k))
        rec["verified"] = True
        rec["access_key_id"] = akid
        if mode == "hang":
            self._record(rec)
            rec["recorded"] = True
            time.sleep(hang)
            return None
        if mode == "throttle":
            return self._answer(h, rec, 400, error_xml("Throttling", "Rate exceeded"))
        if mode == "error":
            return self._answer(h, rec, 500, error_xml("InternalFailure", "internal failure", "Receiver"))
        if mode == "deny":
            return self._answer(h, rec, 403, error_xml("AccessDenied", "not allowed"))
        if mode == "reject":
            return self._answer(h, rec, 400, error_xml("MalformedPolicyDocument",
                                                       "policy rejected by the double"))
        if mode == "badxml":
            return self._answer(h, rec, 200, "<GetFederationTokenResponse><oops")
        action = params.get("Action")
        if params.get("Version") != "2011-06-15":
            return self._answer(h, rec, 400, error_xml("InvalidParameterValue", "bad Version"))
        policy = params.get("Policy")
        try:
            rec["policy"] = json.loads(policy) if policy is not None else None
        except ValueError:
            return self._answer(h, rec, 400, error_xml("MalformedPolicyDocument", "not JSON"))
        try:
            duration = int(params.get("DurationSeconds", "0"))
        except ValueError:
            duration = 0
        if action == "GetFederationToken":
            name = params.get("Name", "")
            if not (2 <= len(name) <= 32 and NAME_RE.match(name)):
                return self._answer(h, rec, 400, error_xml("ValidationError", "bad Name %r" % name))
            if not 900 <= duration <= 129600:
                return self._answer(h, rec, 400, error_xml("ValidationError", "bad DurationSeconds"))
        elif action == "AssumeRole":
            name = params.get("RoleSessionName", "")
            if not (2 <= len(name) <= 64 and NAME_RE.match(name)):
                return self._answer(h, rec, 400, error_xml("ValidationError", "bad RoleSessionName"))
            if not params.get("RoleArn", "").startswith("arn:aws:iam::"):
                return self._answer(h, rec, 400, error_xml("ValidationError", "bad RoleArn"))
            if not 900 <= duration <= 43200:
                return self._answer(h, rec, 400, error_xml("ValidationError", "bad DurationSeconds"))
        else:
            return self._answer(h, rec, 400, error_xml("InvalidAction", "unknown action %r" % action))
        new_key = "ASIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits)
                                   for _ in range(16))
        new_secret = base64.b64encode(secrets.token_bytes(30)).decode()
        new_token = "FwoGZXIvYXdzE" + base64.b64encode(secrets.token_bytes(180)).decode()
        expires = (datetime.datetime.now(datetime.timezone.utc) +
                   datetime.timedelta(seconds=duration)).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.lock:
            self.minted[new_key] = {"secret": new_secret, "token": new_token,
                                    "policy": rec["policy"]}
            rec.update(minted_access_key_id=new_key, minted_secret=new_secret,
                       minted_token=new_token, expiration=expires)
        creds = ("    <Credentials>\n      <SessionToken>%s</SessionToken>\n"
                 "      <SecretAccessKey>%s</SecretAccessKey>\n"
                 "      <Expiration>%s</Expiration>\n      <AccessKeyId>%s</AccessKeyId>\n"
                 "    </Credentials>\n" % (new_token, new_secret, expires, new_key))
        rid = uuid.uuid4()
        if action == "GetFederationToken":
            xml = ('<GetFederationTokenResponse xmlns="%s">\n  <GetFederationTokenResult>\n%s'
                   '    <FederatedUser>\n      <Arn>arn:aws:sts::%s:federated-user/%s</Arn>\n'
                   '      <FederatedUserId>%s:%s</FederatedUserId>\n    </FederatedUser>\n'
                   '    <PackedPolicySize>6</PackedPolicySize>\n  </GetFederationTokenResult>\n'
                   '  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n  </ResponseMetadata>\n'
                   '</GetFederationTokenResponse>\n'
                   % (STS_NS, creds, ACCOUNT, _xml_escape(name), ACCOUNT, _xml_escape(name), rid))
        else:
            role = params["RoleArn"].rsplit("/", 1)[-1]
            xml = ('<AssumeRoleResponse xmlns="%s">\n  <AssumeRoleResult>\n'
                   '    <AssumedRoleUser>\n      <Arn>arn:aws:sts::%s:assumed-role/%s/%s</Arn>\n'
                   '      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:%s</AssumedRoleId>\n'
                   '    </AssumedRoleUser>\n%s    <PackedPolicySize>6</PackedPolicySize>\n'
                   '  </AssumeRoleResult>\n  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n'
                   '  </ResponseMetadata>\n</AssumeRoleResponse>\n'
                   % (STS_NS, ACCOUNT, _xml_escape(role), _xml_escape(name), _xml_escape(name),
                      creds, rid))
        return self._answer(h, rec, 200, xml)

    def _answer(self, h, rec, status, body):
        """Record, then reply: a client that reads the records after its
        answer finds this call there."""
        self._record(rec)
        rec["recorded"] = True
        return self._reply(h, status, body)

    def _record(self, rec):
        with self.lock:
            rec = {k: v for k, v in rec.items() if k != "recorded"}
            self.records.append(rec)
            if self.record_path:
                with open(self.record_path, "a") as f:
                    f.write(json.dumps(rec) + "\n")

    # -- the S3 side: PutObject with minted credentials ------------------------
    def _s3_creds_for(self, k):
        m = self.minted.get(k)
        return None if m is None else (m["secret"], m["token"])

    def _reply_empty(self, h, status):
        h.send_response(status)
        h.send_header("Content-Length", "0")
        h.send_header("x-amz-request-id", secrets.token_hex(8))
        h.end_headers()

    def _s3_bucket(self, h, method, body):
        """HeadBucket and CreateBucket, signed by a base key or a minted one."""
        def creds_for(k):
            return self.keys.get(k) or self._s3_creds_for(k)
        path = urllib.parse.unquote(urllib.parse.urlsplit(h.path).path)
        bucket = path.strip("/")
        rec = {"method": method, "bucket": bucket, "verified": False}
        try:
            akid = self.verify(h, body, "s3", creds_for)
        except SignatureError:
            with self.lock:
                self.bucket_records.append(rec)
            raise
        rec.update(verified=True, access_key_id=akid)
        action = "s3:ListBucket" if method == "HEAD" else "s3:CreateBucket"
        if akid in self.minted and not policy_allows(self.minted[akid]["policy"], action,
                                                      "arn:aws:s3:::%s" % bucket):
            with self.lock:
                self.bucket_records.append(rec)
            if method == "HEAD":
                return self._reply_empty(h, 403)
            return self._reply(h, 403, '<Error><Code>AccessDenied</Code><Message>Access Denied'
                                       '</Message></Error>', "application/xml")
        if method == "HEAD":
            with self.lock:
                exists = bucket in self.buckets
                self.bucket_records.append(rec)
            return self._reply_empty(h, 200 if exists else 404)
        location = "us-east-1"
        if body:
            try:
                root = ET.fromstring(body)
            except ET.ParseError:
                return self._reply(h, 400, '<Error><Code>MalformedXML</Code></Error>',
                                   "application/xml")
            el = root.find("{http://s3.amazonaws.com/doc/2006-03-01/}LocationConstraint")
            if el is None or not el.text:
                return self._reply(h, 400, '<Error><Code>MalformedXML</Code></Error>',
                                   "application/xml")
            location = el.text
        rec["location"] = location if body else None
        with self.lock:
            self.bucket_records.append(rec)
            if bucket in self.buckets:
                return self._reply(h, 409, '<Error><Code>BucketAlreadyOwnedByYou</Code>'
                                           '<Message>Your previous request to create the named '
                                           'bucket succeeded and you already own it.</Message>'
                                           '</Error>', "application/xml")
            self.buckets[bucket] = location
        h.send_response(200)
        h.send_header("Location", "/" + bucket)
        h.send_header("Content-Length", "0")
        h.end_headers()
        return None

    def _s3_put(self, h, body):
        akid = self.verify(h, body, "s3", self._s3_creds_for)
        path = urllib.parse.unquote(urllib.parse.urlsplit(h.path).path)
        bucket, _, key = path.lstrip("/").partition("/")
        resource = "arn:aws:s3:::%s/%s" % (bucket, key)
        allowed = policy_allows(self.minted[akid]["policy"], "s3:PutObject", resource)
        with self.lock:
            self.s3_records.append({"bucket": bucket, "key": key, "allowed": allowed})
        if not allowed:
            return self._reply(h, 403, '<Error><Code>AccessDenied</Code><Message>Access Denied'
                                       '</Message></Error>', "application/xml")
        h.send_response(200)
        h.send_header("ETag", '"%s"' % secrets.token_hex(16))
        h.send_header("Content-Length", "0")
        h.end_headers()
        return None


def _glob(pattern, value):
    """IAM's resource matching: '*' any run of characters, '?' one."""
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, re.S) is not None


def policy_allows(policy, action, resource):
    """Whether an Allow statement without conditions grants action on
    resource (enough for PutObject; nothing here is ever denied)."""
    if not policy:
        return False
    for st in policy.get("Statement", []):
        if st.get("Effect") != "Allow" or "Condition" in st:
            continue
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = st.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(_glob(a, action) for a in actions) and any(_glob(r, resource) for r in resources):
            return True
    return False


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--key", action="append", default=[],
                    help="ACCESS_KEY_ID:SECRET[:SESSION_TOKEN] the double accepts")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--record", help="append one JSON line per STS call here")
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--count", type=int)
    ap.add_argument("--hang-seconds", type=float, default=30.0)
    ap.add_argument("--bucket", action="append", default=[],
                    help="a bucket that exists (NAME or NAME:REGION)")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--lifetime", type=float, default=120.0,
                    help="exit after this many seconds (a test that dies leaves nothing)")
    args = ap.parse_args(argv)
    keys = {}
    for k in args.key:
        parts = k.split(":", 2)
        keys[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else None)
    d = StsDouble(keys, port=args.port, tls_cert=args.tls_cert, tls_key=args.tls_key,
                  record_path=args.record,
                  buckets=dict((b.split(":", 1) + ["us-east-1"])[:2] for b in args.bucket))
    d.configure(args.mode, args.count, args.hang_seconds)
    d.start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % d.port)
        os.rename(tmp, args.port_file)
    # Exit with the process that started us, or after --lifetime, so a test
    # that dies half way leaves no double behind.
    parent, deadline = os.getppid(), time.monotonic() + args.lifetime
    try:
        while time.monotonic() < deadline and os.getppid() == parent:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    d.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
