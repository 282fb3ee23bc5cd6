# SPDX-License-Identifier: Apache-2.0
"""Every YAML configuration in the README and docs/ is one the daemon takes
(issue 20).

Each ```yaml block of README.md, docs/*.md and docs/*/*.md is read:

- Every block must parse as YAML.
- A block preceded by `<!-- not a whole config -->` is a fragment (one
  option, an indented line) and is not checked further.
- Any other block is a configuration or sections of one: a map whose keys
  are top-level keys of the file (log, plugin_dir, store, providers,
  frontends, webhooks). Sections it lacks are filled from the README's setup (sqlite,
  the local provider, a loopback http frontend), so `providers:` of
  docs/providers/s3.md is checked as it would run. Paths under /etc,
  /var/lib and /run/broadcast are moved into a temp folder (a tokens file
  and a self-signed certificate are made there), the environment variables
  the docs tell users to export are set, and `broadcastd --check-config`
  must say OK.
- A block with a `store` and `frontends` (a whole configuration: the
  README's, the multi-node one) must also really start: the store made
  sqlite (no PostgreSQL here), each `listen` moved to a free port, keeping
  whether it is loopback (a non-loopback address becomes 0.0.0.0), so the
  http frontend's rule for reachable listeners (tokens_file and tls) is
  applied as on the real host.
"""
import grp
import hashlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import yaml

import bctest

DOCS = ["README.md"] + sorted(
    os.path.relpath(os.path.join(root, f), bctest.SRCDIR)
    for root, _, files in os.walk(os.path.join(bctest.SRCDIR, "docs"))
    for f in files if f.endswith(".md"))
MARK = "<!-- not a whole config -->"
TOP_KEYS = {"log", "plugin_dir", "store", "providers", "frontends", "webhooks"}
ENV = {"DJ_BROADCAST_AWS_ACCESS_KEY": "AKIADOCSEXAMPLE00001",
       "DJ_BROADCAST_AWS_ACCESS_SECRET": "docs-example-secret",
       "DJ_BROADCAST_S3_BUCKET": "my-bucket",
       "BROADCAST_PG_PASSWORD": "docs-example-password",
       "BROADCAST_WEBHOOK_SECRET": "docs-example-webhook-secret"}
BASE = {
    "store": "store: {type: sqlite, path: /var/lib/broadcast/streams.db}\n",
    "providers": "providers:\n  - {name: local, type: local, root: /var/lib/broadcast/hls}\n",
    "frontends": 'frontends:\n  - {type: http, listen: "127.0.0.1:8080"}\n',
}


def yaml_blocks():
    """[(doc, line, text, marked)] for every ```yaml block."""
    out = []
    for doc in DOCS:
        with open(os.path.join(bctest.SRCDIR, doc), encoding="utf-8") as f:
            lines = f.read().split("\n")
        i = 0
        while i < len(lines):
            if lines[i].strip() == "```yaml":
                start = i
                prev = next((lines[j].strip() for j in range(i - 1, -1, -1)
                             if lines[j].strip()), "")
                i += 1
                body = []
                while i < len(lines) and lines[i].strip() != "```":
                    body.append(lines[i])
                    i += 1
                out.append((doc, start + 1, "\n".join(body) + "\n", prev == MARK))
            i += 1
    return out


class Sandbox:
    """A temp folder standing in for /etc/broadcast, /var/lib/broadcast and
    /run/broadcast, with a tokens file and a self-signed certificate."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="bctest-docs-cfg-")
        for d in ("etc", "state", "state/hls", "run", "creds"):
            os.makedirs(os.path.join(self.tmp, d), exist_ok=True)
        for tokens in ("etc/tokens", "creds/tokens"):
            path = os.path.join(self.tmp, tokens)
            with open(path, "w") as f:
                f.write("alice:%s\n" % ("0" * 64))
            os.chmod(path, 0o600)
        self.cert = os.path.join(self.tmp, "etc", "cert.pem")
        self.key = os.path.join(self.tmp, "etc", "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-days", "2", "-subj", "/CN=localhost", "-keyout", self.key,
                        "-out", self.cert], check=True, capture_output=True)
        os.chmod(self.key, 0o600)
        shutil.copy(self.key, os.path.join(self.tmp, "creds", "tls.key"))
        os.chmod(os.path.join(self.tmp, "creds", "tls.key"), 0o600)
        self.env = dict(os.environ)
        self.env.update(ENV)
        self.env["CREDENTIALS_DIRECTORY"] = os.path.join(self.tmp, "creds")

    def substitute(self, text):
        t = self.tmp
        text = re.sub(r"/etc/broadcast/[\w./-]*key[\w.-]*", self.key, text)
        text = re.sub(r"/etc/broadcast/[\w./-]+\.(crt|pem)", self.cert, text)
        text = text.replace("/etc/broadcast/tokens", t + "/etc/tokens")
        text = text.replace("/var/lib/broadcast", t + "/state")
        text = text.replace("/run/broadcast", t + "/run")
        # docs/unix.md's group `broadcast` exists on a real host only
        group = grp.getgrgid(os.getgid()).gr_name
        text = re.sub(r"(group:\s*)broadcast\b", r"\g<1>" + group, text)
        text = re.sub(r"(allow_gids:\s*\[)broadcast\]", r"\g<1>" + group + "]", text)
        return text

    def complete(self, text, data):
        """The block with the sections it lacks taken from BASE."""
        for key in ("store", "providers", "frontends"):
            if key not in data:
                text += BASE[key]
        return text

    def check_config(self, text):
        path = os.path.join(self.tmp, "broadcast.yaml")
        with open(path, "w") as f:
            f.write(text)
        return subprocess.run([bctest.BROADCASTD, "-c", path, "--check-config"],
                              capture_output=True, text=True, env=self.env, timeout=60)

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def for_a_real_start(text):
    """The whole config with the store made sqlite and every `listen` on a
    free port (0.0.0.0 for a non-loopback address), as bctest placeholders."""
    data = yaml.safe_load(text)
    data["store"] = {"type": "sqlite", "path": "@TMP@/streams.db"}
    n = [0]

    def move(addr):
        host = addr.rsplit(":", 1)[0]
        n[0] += 1
        port = "@HTTP_PORT@" if n[0] == 1 else "@PORT%d@" % n[0]
        return ("127.0.0.1" if host.startswith("127.") or host == "localhost"
                else "0.0.0.0") + ":" + port
    for section in ("frontends", "providers"):
        for inst in data.get(section) or []:
            if isinstance(inst.get("listen"), str):
                inst["listen"] = move(inst["listen"])
    return yaml.safe_dump(data, sort_keys=False)


class TestDocsConfigs(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.box = Sandbox()
        cls.blocks = yaml_blocks()

    @classmethod
    def tearDownClass(cls):
        cls.box.close()

    def test_found_the_blocks(self):
        docs = {b[0] for b in self.blocks}
        for doc in ("README.md", "docs/deploy/multi-node.md", "docs/stores.md"):
            self.assertIn(doc, docs)

    def test_every_block_is_yaml_and_a_config_unless_marked(self):
        for doc, line, text, marked in self.blocks:
            with self.subTest(doc=doc, line=line):
                data = yaml.safe_load(text)
                if marked:
                    continue
                self.assertIsInstance(data, dict, "%s:%d is not a map of config sections; "
                                      "mark a fragment with %s" % (doc, line, MARK))
                self.assertLessEqual(set(data), TOP_KEYS, "%s:%d" % (doc, line))
                p = self.box.check_config(self.box.substitute(self.box.complete(text, data)))
                self.assertEqual(p.returncode, 0, "%s:%d: --check-config: %s%s"
                                 % (doc, line, p.stdout, p.stderr))
                self.assertIn("configuration OK", p.stdout)

    def whole_configs(self):
        out = []
        for doc, line, text, marked in self.blocks:
            data = None if marked else yaml.safe_load(text)
            if isinstance(data, dict) and "store" in data and "frontends" in data:
                out.append((doc, line, text))
        return out

    def test_whole_configs_start(self):
        whole = self.whole_configs()
        self.assertIn("docs/deploy/multi-node.md", {w[0] for w in whole})
        for doc, line, text in whole:
            with self.subTest(doc=doc, line=line):
                cfg = for_a_real_start(self.box.substitute(text))
                d = bctest.Daemon(cfg, env=self.box.env)
                try:
                    d.start()
                finally:
                    d.stop()
                    d.kill()
                shutil.rmtree(d.tmp, ignore_errors=True)

    def test_multi_node_needs_its_tls(self):
        """The multi-node frontend without its tls (what docs/stores.md once
        showed) does not start: the example is tested where it matters."""
        doc = next(w for w in self.whole_configs() if w[0] == "docs/deploy/multi-node.md")
        data = yaml.safe_load(for_a_real_start(self.box.substitute(doc[2])))
        http = next(f for f in data["frontends"] if f["type"] == "http")
        self.assertTrue(http["listen"].startswith("0.0.0.0:"), http)
        del http["tls"]
        d = bctest.Daemon(yaml.safe_dump(data, sort_keys=False), env=self.box.env)
        with self.assertRaises(bctest.DaemonError) as cm:
            d.start()
        d.kill()
        self.assertIn("http.insecure_listen", str(cm.exception))


NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                  else None)


@unittest.skipUnless(NGINX, "nginx is not installed")
class TestMultiNodeNginx(unittest.TestCase):
    """docs/deploy/multi-node.md's nginx block in front of a node: it must
    verify the node's certificate (a CA it does not trust: 502)."""

    def openssl(self, *args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True,
                       cwd=self.tmp)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bctest-docs-nginx-")
        with open(os.path.join(bctest.SRCDIR, "docs", "deploy", "multi-node.md")) as f:
            text = f.read()
        self.block = re.search(r"```nginx\n(.*?)```", text, re.S).group(1)
        self.name = re.search(r"proxy_ssl_name\s+([^;\s]+);", self.block).group(1)
        for ca in ("ca", "other-ca"):
            self.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                         "-subj", "/CN=" + ca, "-keyout", ca + ".key", "-out", ca + ".crt")
        with open(os.path.join(self.tmp, "san.ext"), "w") as f:
            f.write("subjectAltName=DNS:%s,DNS:node-a.internal\n" % self.name)
        self.openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=node-a",
                     "-keyout", "node.key", "-out", "node.csr")
        self.openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                     "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "node.crt")
        os.chmod(os.path.join(self.tmp, "node.key"), 0o600)
        with open(os.path.join(self.tmp, "tokens"), "w") as f:
            f.write("alice:%s\n" % hashlib.sha256(b"docs-token").hexdigest())
        os.chmod(os.path.join(self.tmp, "tokens"), 0o600)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def nginx(self, node_port, ca):
        port = bctest.free_port()
        t = self.tmp
        block = re.sub(r"server 10\.0\.0\.11:\d+", "server 127.0.0.1:%d" % node_port,
                       self.block)
        block = re.sub(r"\n\s*server 10\.0\.0\.12:[^\n]*", "", block)
        block = block.replace("listen 443 ssl;", "listen 127.0.0.1:%d ssl;" % port)
        block = block.replace("/etc/nginx/broadcast.crt", t + "/node.crt")
        block = block.replace("/etc/nginx/broadcast.key", t + "/node.key")
        block = block.replace("/etc/nginx/broadcast-nodes-ca.crt", "%s/%s.crt" % (t, ca))
        os.makedirs(os.path.join(t, "ngx"), exist_ok=True)
        conf = os.path.join(t, "nginx.conf")
        with open(conf, "w") as f:
            f.write("error_log %s/ngx/error.log;\npid %s/ngx/nginx.pid;\nevents {}\nhttp {\n"
                    "access_log off;\n" % (t, t) +
                    "".join("%s_temp_path %s/ngx;\n" % (k, t)
                            for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")) +
                    block + "}\n")
        p = subprocess.Popen([NGINX, "-p", t, "-c", conf, "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                if p.poll() is not None:
                    raise AssertionError("nginx: %s" % p.stderr.read().decode())
                time.sleep(0.05)
        return p, port

    def get(self, port, path, token=None):
        cmd = ["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}",
               "https://127.0.0.1:%d%s" % (port, path)]
        if token:
            cmd[1:1] = ["-H", "Authorization: Bearer " + token]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout

    def test_nginx_verifies_the_node(self):
        cfg = bctest.config(frontends='''
- type: http
  listen: "127.0.0.1:@HTTP_PORT@"
  tokens_file: %s/tokens
  tls: {cert: %s/node.crt, key: %s/node.key}
''' % (self.tmp, self.tmp, self.tmp))
        with bctest.Daemon(cfg) as d:
            for ca, want in (("ca", "200"), ("other-ca", "502")):
                p, port = self.nginx(d.http_port, ca)
                try:
                    self.assertEqual(self.get(port, "/healthz"), want, ca)
                    self.assertEqual(self.get(port, "/streams", "docs-token"), want, ca)
                finally:
                    p.terminate()
                    p.wait(10)
                    p.stderr.close()
        shutil.rmtree(d.tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
