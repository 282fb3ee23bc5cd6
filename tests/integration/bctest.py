# SPDX-License-Identifier: Apache-2.0
"""bctest: run the real broadcastd for integration tests.

Every integration test starts the daemon it talks to: the real binary from
the build tree (BC_BUILDDIR), on free loopback ports, with a YAML file the
test writes, and stops it at the end. Plugins come from BROADCAST_PLUGIN_PATH,
which `make check` sets to the build tree's plugin folders.

    cfg = bctest.config(providers='''
      - name: test
        type: test
    ''')
    with bctest.Daemon(cfg) as d:
        status, headers, body = d.request("POST", "/stream/start/?type=hls")

`config()` fills in an sqlite store in the daemon's temp dir and one http
frontend on a free port unless the test gives its own sections. Placeholders
in a config text are replaced when the daemon starts: @TMP@ (the daemon's
temp dir), @HTTP_PORT@ (a free port, also d.http_port), @PORT1@..@PORT4@ (more
free ports, in d.ports), @SRCDIR@, @BUILDDIR@.
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
import urllib.parse

BUILDDIR = os.environ.get("BC_BUILDDIR", os.getcwd())
SRCDIR = os.environ.get("BC_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BROADCASTD = os.path.join(BUILDDIR, "framework", "broadcastd")
BROADCASTCTL = os.path.join(BUILDDIR, "framework", "broadcastctl")


SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak|Thread)Sanitizer|runtime error:|"
                              r"==\d+== (Invalid (read|write|free)|.*definitely lost: [1-9])")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _indent(text, n):
    return textwrap.indent(textwrap.dedent(text).strip("\n"), " " * n)


def config(providers=None, frontends=None, store=None, extra=""):
    """A daemon config text. Each section is YAML text of a list (providers,
    frontends) or a map (store), written as it would be in the file."""
    if store is None:
        store = "type: sqlite\npath: @TMP@/streams.db\n"
    if frontends is None:
        frontends = '- type: http\n  listen: "127.0.0.1:@HTTP_PORT@"\n'
    if providers is None:
        providers = "- name: test\n  type: test\n"
    return ("log:\n  level: debug\n" + textwrap.dedent(extra) +
            "store:\n" + _indent(store, 2) + "\n" +
            "frontends:\n" + _indent(frontends, 2) + "\n" +
            "providers:\n" + _indent(providers, 2) + "\n")


class DaemonError(Exception):
    pass


class Daemon:
    """The real broadcastd, started on __enter__ and stopped on __exit__."""

    def __init__(self, config_text, env=None, args=(), ready_timeout=20.0, tmp=None):
        self.tmp = tmp or tempfile.mkdtemp(prefix="bctest-")
        self.config_path = os.path.join(self.tmp, "broadcast.yaml")
        self._template = config_text
        self._render()
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.args = list(args)
        self.ready_timeout = ready_timeout
        self.log_path = os.path.join(self.tmp, "broadcastd.log")
        self.proc = None

    def _render(self):
        """Pick free ports and write the config with its placeholders filled."""
        self.http_port = free_port()
        self.ports = [free_port() for _ in range(4)]
        text = (self._template.replace("@TMP@", self.tmp)
                .replace("@HTTP_PORT@", str(self.http_port))
                .replace("@SRCDIR@", SRCDIR).replace("@BUILDDIR@", BUILDDIR))
        for i, p in enumerate(self.ports):
            text = text.replace("@PORT%d@" % (i + 1), str(p))
        self.config_text = text
        with open(self.config_path, "w") as f:
            f.write(text)

    # -- lifecycle -----------------------------------------------------------
    def start(self):
        """Start the daemon and wait for its ready line. A port that was
        free when picked can be taken before the daemon binds it (tests run
        in parallel, and every client's outgoing connection takes a port of
        the same ephemeral range): when the daemon exits on "Address already
        in use", pick new ports and start again, at most three times."""
        for attempt in range(3):
            try:
                return self._start_once()
            except DaemonError as e:
                if attempt == 2 or "Address already in use" not in str(e):
                    raise
                self._render()

    def _start_once(self):
        self._log = open(self.log_path, "ab")
        # A reused tmp dir appends to the old log: look only past its end.
        self._log_start = self._log.tell()
        # BC_DAEMON_WRAPPER (e.g. "valgrind --error-exitcode=99") runs the
        # daemon under a tool; `make check-valgrind` sets it.
        wrapper = os.environ.get("BC_DAEMON_WRAPPER", "").split()
        self.proc = subprocess.Popen(wrapper + [BROADCASTD, "-c", self.config_path] + self.args,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     env=self.env, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if "broadcastd ready" in self.log_text()[self._log_start:]:
                return self
            if self.proc.poll() is not None:
                self._log.close()
                raise DaemonError("broadcastd exited with %s before ready:\n%s"
                                  % (self.proc.returncode, self.log_text()))
            time.sleep(0.02)
        self.kill()
        self._log.close()
        raise DaemonError("broadcastd not ready after %ss:\n%s" % (self.ready_timeout, self.log_text()))

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        """Signal the daemon and wait; returns its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
            if getattr(self, "_log", None):
                self._log.close()
            # A sanitizer or valgrind report fails the test even when the
            # test itself does not look at the exit code.
            m = SANITIZER_REPORT.search(self.log_text())
            if m:
                raise DaemonError("broadcastd reported a memory error (%s):\n%s"
                                  % (m.group(0), self.log_text()[-4000:]))
            return rc
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise DaemonError("broadcastd did not exit within %ss of %s" % (timeout, sig))

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def reload(self, config_text=None, wait_for="configuration reloaded", timeout=10.0):
        """Optionally rewrite the config, send SIGHUP, and wait for a log line."""
        if config_text is not None:
            with open(self.config_path, "w") as f:
                f.write(config_text)
        before = self.log_text().count(wait_for)
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_text().count(wait_for) > before:
                return
            time.sleep(0.02)
        raise DaemonError("no %r after SIGHUP:\n%s" % (wait_for, self.log_text()))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            self.kill()
            if getattr(self, "_log", None):
                self._log.close()
        return False

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    # -- HTTP -----------------------------------------------------------------
    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.http_port, path)

    def request(self, method, path, params=None, body=None, headers=None, token=None,
                port=None, timeout=10.0):
        """One HTTP request to the http frontend. params: dict sent as a form
        body (POST) or query (GET). body: bytes/str sent as is (or a dict:
        sent as JSON). Returns (status, headers dict lowercased, parsed JSON or
        text)."""
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        if params is not None:
            enc = urllib.parse.urlencode(params)
            if method in ("GET", "HEAD", "DELETE"):
                path += ("&" if "?" in path else "?") + enc
            else:
                body = enc
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if isinstance(body, dict):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        conn = http.client.HTTPConnection("127.0.0.1", port or self.http_port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()
        text = raw.decode("utf-8", "replace")
        if hdrs.get("content-type", "").startswith("application/json"):
            try:
                return resp.status, hdrs, json.loads(text)
            except ValueError:
                pass
        return resp.status, hdrs, text


def raw_http(port, data, source=None, trickle=None, timeout=10.0):
    """Send `data` as is to 127.0.0.1:`port` (from `source`, an address on
    lo, when given) on a new connection, then, with `trickle` = (byte,
    every_s, for_s), one more byte every every_s seconds until an answer
    comes or for_s pass; then read until the server closes or `timeout`.
    For probing listeners with what no HTTP client sends. Returns (status,
    headers with lower-case names, body bytes, seconds taken); status None
    when nothing came (body b"") or what came is not HTTP (body: all of it)."""
    t0 = time.monotonic()
    chunks = []
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        if source:
            s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(data)
        if trickle is not None:
            byte, every, limit = trickle
            s.settimeout(every)
            while not chunks and time.monotonic() - t0 < limit:
                try:
                    chunks.append(s.recv(65536))
                except socket.timeout:
                    try:
                        s.sendall(byte)
                    except OSError:
                        break
            if not chunks:
                return None, {}, b"", time.monotonic() - t0
            s.settimeout(timeout)
        while True:
            try:
                c = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not c:
                break
            chunks.append(c)
    took = time.monotonic() - t0
    resp = b"".join(chunks)
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1."):
        return None, {}, resp, took
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), hdrs, body, took


def assert_error(testcase, status, body, want_status, want_code):
    """The API's error shape: {"error": {"code": ..., "message": ...}}."""
    testcase.assertEqual(status, want_status, body)
    testcase.assertIsInstance(body, dict, body)
    testcase.assertEqual(set(body.keys()), {"error"}, body)
    testcase.assertEqual(body["error"]["code"], want_code, body)
    testcase.assertTrue(body["error"]["message"], body)
