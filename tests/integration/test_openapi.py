# SPDX-License-Identifier: Apache-2.0
"""docs/openapi.yaml against the real daemon's answers (issue 20).

Every operation of the file is called on a real broadcastd (the README's
setup: sqlite store, local provider, loopback http frontend; a second one
with a tokens_file and a rate limit for 401, 403 and 429; a third with the
s3 provider against the STS double for the S3 endpoint), and each answer
is checked against what the file documents for that status: the status
must be listed, the body must match the schema, documented headers must be
there. Objects are checked strictly: a key the schema does not declare
(unless it allows additionalProperties) is an error, so a field the daemon
adds without the file naming it fails here. The routes the http frontend
serves (frontends/http/http_routes.c) must all be in the file.

`check(schema, value)` is a small checker for the subset of JSON Schema /
OpenAPI 3.0 the file uses; test_docs_examples.py uses it too.
"""
import hashlib
import json
import os
import re
import shutil
import tempfile
import unittest

import yaml

import bctest

SPEC_PATH = os.path.join(bctest.SRCDIR, "docs", "openapi.yaml")
DATE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def spec_text():
    with open(SPEC_PATH, encoding="utf-8") as f:
        return f.read()


def load_spec():
    return yaml.safe_load(spec_text())


SPEC = load_spec()


def resolve(schema, spec=SPEC):
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/"), ref
        node = spec
        for part in ref[2:].split("/"):
            node = node[part]
        schema = node
    return schema


def check(schema, value, path="$", spec=SPEC):
    """The list of ways `value` breaks `schema` (empty: it conforms)."""
    schema = resolve(schema, spec)
    errors = []
    if value is None:
        if schema.get("nullable"):
            return []
        if not schema or set(schema) <= {"description", "example"}:
            return []
        return ["%s: null, but the schema is not nullable" % path]
    for sub in schema.get("allOf", []):
        errors += check(sub, value, path, spec)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            results = [check(sub, value, path, spec) for sub in schema[key]]
            ok = sum(1 for r in results if not r)
            if ok == 0 or (key == "oneOf" and ok > 1):
                errors.append("%s: %r matches %d of the %s alternatives" % (path, value, ok, key))
    typ = schema.get("type")
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool}
    if typ in kinds:
        if not isinstance(value, kinds[typ]):
            return errors + ["%s: %r is not of type %s" % (path, value, typ)]
    elif typ == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return errors + ["%s: %r is not an integer" % (path, value)]
    elif typ == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return errors + ["%s: %r is not a number" % (path, value)]
    elif typ is not None:
        raise AssertionError("checker: unknown type %r at %s" % (typ, path))
    if "enum" in schema and value not in schema["enum"]:
        errors.append("%s: %r is not one of %r" % (path, value, schema["enum"]))
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append("%s: %r does not match %s" % (path, value, schema["pattern"]))
        if schema.get("format") == "uuid" and not UUID.match(value):
            errors.append("%s: %r is not a UUIDv4" % (path, value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append("%s: %r < minimum %r" % (path, value, schema["minimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            errors.append("%s: %r > maximum %r" % (path, value, schema["maximum"]))
    if isinstance(value, dict) and (typ == "object" or "properties" in schema):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append("%s: required key %r missing" % (path, name))
        extra = schema.get("additionalProperties")
        for name, v in value.items():
            if name in props:
                errors += check(props[name], v, "%s.%s" % (path, name), spec)
            elif isinstance(extra, dict):
                errors += check(extra, v, "%s.%s" % (path, name), spec)
            elif extra is not True:
                # strict: an undeclared key is drift between file and daemon
                errors.append("%s: key %r is not in the schema (%s)"
                              % (path, name, sorted(props)))
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += check(schema["items"], item, "%s[%d]" % (path, i), spec)
    return errors


def operation(path, method="get"):
    return SPEC["paths"][path][method]


def response_spec(op, status):
    """The documented response of `op` for `status`, resolved."""
    resp = op["responses"].get(str(status))
    return None if resp is None else resolve(resp)


class OpenApiCase(unittest.TestCase):
    maxDiff = None

    def conforms(self, path, method, status, headers, body):
        """The answer (status, headers, parsed body) is what the file says
        `method path` answers with that status."""
        item = SPEC["paths"][path]
        if method in item:
            op = operation(path, method)
        else:
            # a method the route does not take: only its 405 is documented
            self.assertEqual(status, 405, "%s %s" % (method.upper(), path))
            op = next(item[m] for m in ("get", "post") if m in item)
        resp = response_spec(op, status)
        self.assertIsNotNone(resp, "%s %s answered %d, which openapi.yaml does not list (%s)"
                             % (method.upper(), path, status, sorted(op["responses"])))
        for name in resp.get("headers", {}):
            self.assertIn(name.lower(), headers, "%s %s %d: documented header %s missing"
                          % (method.upper(), path, status, name))
        content = resp.get("content", {})
        ctype = headers.get("content-type", "")
        if "application/json" in content:
            self.assertTrue(ctype.startswith("application/json"), (status, ctype, body))
            errs = check(content["application/json"]["schema"], body)
            self.assertEqual(errs, [], "%s %s %d: %s" % (method.upper(), path, status,
                                                         json.dumps(body)))
        elif content:
            media = next(iter(content))
            self.assertTrue(ctype.startswith(media.split(";")[0]), (media, ctype))


README_PROVIDERS = '''
- name: local
  type: local
  stream_types: [hls]
  root: @TMP@/hls
  listen: "127.0.0.1:@PORT1@"
'''


def readme_daemon(frontends=None, tmp=None):
    """The README's setup: sqlite, the local provider, loopback http (and
    the unix socket), substituted into a temp folder and free ports."""
    if frontends is None:
        frontends = ('- type: http\n  listen: "127.0.0.1:@HTTP_PORT@"\n'
                     '- type: unix\n  path: @TMP@/control.sock\n')
    tmp = tmp or tempfile.mkdtemp(prefix="bctest-docs-")
    os.makedirs(os.path.join(tmp, "hls"), exist_ok=True)
    return bctest.Daemon(bctest.config(providers=README_PROVIDERS, frontends=frontends),
                         tmp=tmp)


class TestOpenApiFile(unittest.TestCase):
    def test_routes_of_the_frontend_are_documented(self):
        with open(os.path.join(bctest.SRCDIR, "frontends", "http", "http_routes.c")) as f:
            routes = re.findall(r'\{ "(/[a-z/]+)", "[a-z]+" \}', f.read())
        self.assertTrue(routes)
        documented = {p.rstrip("/") for p in SPEC["paths"]}
        for r in routes:
            self.assertIn(r, documented, "route %s is served but not in openapi.yaml" % r)
        self.assertIn("/streams/{id}", SPEC["paths"])

    def test_every_ref_resolves(self):
        text = spec_text()
        for ref in set(re.findall(r'\$ref: "(#/[^"]+)"', text)):
            self.assertIsInstance(resolve({"$ref": ref}), dict, ref)

    def test_endpoint_kinds_have_a_provider(self):
        """Each endpoint kind the file names comes from a provider that exists."""
        kinds = resolve(SPEC["components"]["schemas"]["StartResponse"])["properties"]
        names = set(resolve(kinds["endpoint"])["properties"])
        self.assertEqual(names, {"S3", "HTTP", "RTMP", "WebRTC"})


class TestOpenApiAnswers(OpenApiCase):
    """The README's daemon: every operation's success and the errors it can
    be made to give without a broken store or provider."""

    @classmethod
    def setUpClass(cls):
        cls.d = readme_daemon().start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.kill()

    def call(self, method, path, route, **kw):
        status, headers, body = self.d.request(method.upper(), path, **kw)
        self.conforms(route, method, status, headers, body)
        return status, body

    def test_start_get_list_stop_events(self):
        st, body = self.call("post", "/stream/start/?type=hls&name=spec", "/stream/start/")
        self.assertEqual(st, 200)
        self.assertEqual(list(body), ["stream", "endpoint"])
        self.assertEqual(list(body["stream"]), ["id", "name", "start_date"])
        sid = body["stream"]["id"]
        st, body = self.call("get", "/streams/" + sid, "/streams/{id}")
        self.assertEqual(st, 200)
        st, body = self.call("get", "/streams?state=live&limit=1", "/streams")
        self.assertEqual(st, 200)
        st, body = self.call("get", "/streams?media=idle", "/streams")
        self.assertEqual(st, 200)
        st, body = self.call("post", "/stream/stop/", "/stream/stop/", params={"id": sid})
        self.assertEqual(st, 200)
        self.assertEqual(list(body["stream"]), ["id", "name", "start_date", "stop_date"])
        st, body = self.call("post", "/stream/stop/", "/stream/stop/", params={"id": sid})
        self.assertEqual(st, 409)
        st, body = self.call("get", "/streams/" + sid, "/streams/{id}")
        self.assertEqual(body["stream"]["stop_reason"], "api")
        st, body = self.call("get", "/events?after=0&limit=10", "/events")
        self.assertEqual(st, 200)
        self.assertTrue(body["events"])

    def test_pages(self):
        for i in range(3):
            self.assertEqual(self.d.request("POST", "/stream/start/",
                                            params={"name": "p%d" % i})[0], 200)
        st, body = self.call("get", "/streams?state=all&limit=2", "/streams")
        self.assertIsInstance(body["next_cursor"], str)
        st, body = self.call("get", "/streams?state=all&limit=2&cursor=" + body["next_cursor"],
                             "/streams")
        self.assertEqual(st, 200)

    def test_health_and_metrics(self):
        sid = self.d.request("POST", "/stream/start/")[2]["stream"]["id"]
        self.assertEqual(self.d.request("POST", "/stream/stop/", params={"id": sid})[0], 200)
        st, _ = self.call("get", "/healthz", "/healthz")
        self.assertEqual(st, 200)
        st, body = self.call("get", "/metrics", "/metrics")
        self.assertEqual(st, 200)
        for name in re.findall(r"`(broadcast_[a-z_]+)",
                               operation("/metrics")["description"]):
            if name == "broadcast_provider_errors_total" or name == "broadcast_store_errors_total":
                continue  # only after a failure
            self.assertIn(name, body)

    def test_errors(self):
        cases = [
            ("get", "/streams/not-an-id", "/streams/{id}", {}, 400),
            ("get", "/streams/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12, "/streams/{id}",
             {}, 404),
            ("get", "/stream/start/", "/stream/start/", {}, 405),
            ("get", "/stream/stop/", "/stream/stop/", {}, 405),
            ("post", "/stream/stop/", "/stream/stop/", {}, 400),
            ("post", "/stream/start/?type=nope", "/stream/start/", {}, 400),
            ("post", "/stream/start/", "/stream/start/",
             {"body": "x", "headers": {"Content-Type": "text/plain"}}, 415),
            ("post", "/stream/start/", "/stream/start/",
             {"body": "name=" + "x" * 70000,
              "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 413),
            ("post", "/stream/start/", "/stream/start/", {"body": {"name": {"a": 1}}}, 400),
            ("get", "/streams?limit=0", "/streams", {}, 400),
            ("get", "/events?wait=31", "/events", {}, 400),
            ("post", "/healthz", "/healthz", {}, 405),
            ("post", "/metrics", "/metrics", {}, 405),
        ]
        for method, path, route, kw, want in cases:
            with self.subTest(path=path, method=method):
                st, body = self.call(method, path, route, **kw)
                self.assertEqual(st, want, body)

    def test_json_body_values(self):
        """What the file says of JSON bodies: strings taken literally, a
        number as its decimal text, null as not given, objects refused."""
        st, body = self.call("post", "/stream/start/", "/stream/start/", body={"name": 5})
        self.assertEqual((st, body["stream"]["name"]), (200, "5"))
        st, body = self.call("post", "/stream/start/", "/stream/start/",
                             body={"name": None, "type": "hls"})
        self.assertEqual((st, body["stream"]["name"]), (200, ""))
        st, body = self.call("get", "/streams", "/streams", body={"limit": 1},
                             headers={"Content-Type": "application/json"})
        self.assertEqual((st, len(body["streams"])), (200, 1))
        st, body = self.call("post", "/stream/start/", "/stream/start/", body={"name": [1]})
        self.assertEqual((st, body["error"]["code"]), (400, "request.bad_json"))

    def test_unix_owner(self):
        """Record.owner documents uid:N: a stream started over the socket."""
        import socket
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(os.path.join(self.d.tmp, "control.sock"))
        s.sendall(b'{"op":"start","params":{"name":"u"}}\n')
        line = b""
        while not line.endswith(b"\n"):
            chunk = s.recv(65536)
            self.assertTrue(chunk)
            line += chunk
        s.close()
        sid = json.loads(line)["body"]["stream"]["id"]
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(os.path.join(self.d.tmp, "control.sock"))
        s.sendall(json.dumps({"op": "get", "params": {"id": sid}}).encode() + b"\n")
        line = b""
        while not line.endswith(b"\n"):
            line += s.recv(65536)
        s.close()
        rec = json.loads(line)["body"]["stream"]
        self.assertEqual(rec["owner"], "uid:%d" % os.getuid())
        self.assertEqual(check({"$ref": "#/components/schemas/Record"}, rec), [])
        desc = SPEC["components"]["schemas"]["Record"]["properties"]["owner"]["description"]
        self.assertIn("uid:N", desc)


class TestOpenApiTokens(OpenApiCase):
    """401, 403 and 429 from a daemon with a tokens_file and a rate limit."""

    @classmethod
    def setUpClass(cls):
        tmp = tempfile.mkdtemp(prefix="bctest-docs-")
        with open(os.path.join(tmp, "tokens"), "w") as f:
            for name in ("alice", "bob"):
                f.write("%s:%s\n" % (name, hashlib.sha256(("tok-" + name).encode())
                                     .hexdigest()))
        os.chmod(os.path.join(tmp, "tokens"), 0o600)
        cls.d = readme_daemon(frontends='''
- type: http
  listen: "127.0.0.1:@HTTP_PORT@"
  tokens_file: @TMP@/tokens
  rate_limit: "20/m"
  rate_burst: 20
''', tmp=tmp).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.kill()

    def call(self, method, path, route, **kw):
        status, headers, body = self.d.request(method.upper(), path, **kw)
        self.conforms(route, method, status, headers, body)
        return status, body

    def test_tokens_and_rate_limit(self):
        st, _ = self.call("post", "/stream/start/", "/stream/start/")
        self.assertEqual(st, 401)
        st, _ = self.call("get", "/streams", "/streams", token="wrong")
        self.assertEqual(st, 401)
        st, _ = self.call("get", "/healthz", "/healthz")
        self.assertEqual(st, 200)
        st, body = self.call("post", "/stream/start/", "/stream/start/", token="tok-alice")
        self.assertEqual(st, 200)
        sid = body["stream"]["id"]
        st, _ = self.call("get", "/streams/" + sid, "/streams/{id}", token="tok-bob")
        self.assertEqual(st, 403)
        st, _ = self.call("post", "/stream/stop/", "/stream/stop/", params={"id": sid},
                          token="tok-bob")
        self.assertEqual(st, 403)
        st, body = self.call("get", "/streams/" + sid, "/streams/{id}", token="tok-alice")
        self.assertEqual(body["stream"]["owner"], "alice")
        for _ in range(40):
            st, _ = self.call("get", "/streams", "/streams", token="tok-bob")
            if st == 429:
                break
        self.assertEqual(st, 429)


S3_SO = os.path.join(bctest.BUILDDIR, "providers", "s3", ".libs", "provider_s3.so")


@unittest.skipUnless(os.path.exists(S3_SO), "the s3 provider is not built")
class TestOpenApiS3(OpenApiCase):
    """The S3 endpoint of the s3 provider, against the STS double, with
    s3_endpoint set: every field it writes must be in S3Endpoint."""

    def test_s3_endpoint_fields(self):
        try:
            from sts_double import StsDouble
        except ImportError as e:  # python3-botocore
            self.skipTest("sts_double needs %s" % e)
        key, secret = "AKIDDOCSOPENAPI00001", "docs/Secret+Key0123456789abcdEXAMPLE0"
        with StsDouble({key: (secret, None)}) as sts:
            providers = '''
- name: s3-main
  type: s3
  bucket: stream-bucket
  access_key_id: "%s"
  secret_access_key: "%s"
  sts_endpoint: "%s"
  s3_endpoint: "%s"
  create_bucket: true
  timeout: 5s
  retries: 1
''' % (key, secret, sts.url, sts.url)
            tmp = tempfile.mkdtemp(prefix="bctest-docs-s3-")
            with bctest.Daemon(bctest.config(providers=providers), tmp=tmp) as d:
                status, headers, body = d.request("POST", "/stream/start/?name=s3")
                self.conforms("/stream/start/", "post", status, headers, body)
                self.assertEqual(status, 200, body)
                s3 = body["endpoint"]["S3"]
                self.assertIn("aws_expiration_date", s3)
                self.assertIn("s3_endpoint", s3)
            shutil.rmtree(tmp, ignore_errors=True)


RTMP_SO = os.path.join(bctest.BUILDDIR, "providers", "rtmp", ".libs", "provider_rtmp.so")


@unittest.skipUnless(os.path.exists(RTMP_SO), "the rtmp provider is not built")
class TestOpenApiRTMP(OpenApiCase):
    """The rtmp provider's endpoint (a start needs no nginx): every field it
    writes must be in RTMPEndpoint. The WebRTC endpoint needs Janus:
    test_webrtc.py checks its fields, the same set as WebRTCEndpoint's."""

    def test_rtmp_endpoint_fields(self):
        providers = '''
- type: rtmp
  rtmp_url: "rtmp://media.example:1935/live"
  callback_listen: "127.0.0.1:@PORT1@"
  hls_base_url: "http://media.example/hls"
'''
        tmp = tempfile.mkdtemp(prefix="bctest-docs-rtmp-")
        with bctest.Daemon(bctest.config(providers=providers), tmp=tmp) as d:
            status, headers, body = d.request("POST", "/stream/start/?type=rtmp")
            self.conforms("/stream/start/", "post", status, headers, body)
            self.assertEqual(status, 200, body)
            self.assertEqual(set(body["endpoint"]["RTMP"]),
                             set(resolve(SPEC["components"]["schemas"]["RTMPEndpoint"])
                                 ["properties"]))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
