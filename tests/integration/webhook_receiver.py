# SPDX-License-Identifier: Apache-2.0
"""webhook_receiver: a real webhook receiver for the integration tests.

A python3 http.server on loopback that does what docs/webhooks.md asks of
a receiver: it verifies X-Broadcast-Signature (HMAC-SHA256 of "t.body"
under the secret, `t` not older than five minutes) with a constant-time
compare, and records every request it gets, acknowledged or not.

    rx = Receiver(secret).start()      # answers 200
    rx.mode = "fail"                   # answers 500 from now on
    rx.mode = "hang"                   # answers nothing for `hang_s`
    rx.mode = "redirect"               # answers 302 to the same URL
    rx.mode = "endless"                # answers 200 and a body that never ends
    rx.mode = "bigheaders"             # answers 200 with a 256 KiB header line
    rx.stop()                          # connection refused from now on
    rx.start()                         # again, on the same port

`rx.url` is the URL to configure; `rx.requests` every request as it
arrives (dicts with time, attempt, delivery, event, signature_ok, body, and
status once answered), `rx.acked()`
the bodies of the acknowledged ones, in arrival order.
"""
import hashlib
import hmac
import http.server
import json
import socket
import ssl
import sys
import threading
import time

TOLERANCE_S = 300


def verify(secret, header, body, now=None):
    """The recipe of docs/webhooks.md: True when `header` signs `body`."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - t) > TOLERANCE_S:
        return False
    want = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, parts.get("v1", ""))


class Receiver:
    def __init__(self, secret, port=None, hang_s=30.0, tls=None):
        self.secret = secret
        self.port = port or self._free_port()
        self.tls = tls  # (cert, key) files: serve https
        self.url = "%s://127.0.0.1:%d/hooks/broadcast?token=querytoken" % (
            "https" if tls else "http", self.port)
        self.mode = "ok"
        self.hang_s = hang_s
        self.requests = []
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.server = None
        self.thread = None
        self.release = threading.Event()  # ends every hang at once
        self.conns = set()  # open connections (keep-alive), closed by stop()

    @staticmethod
    def _free_port():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def start(self):
        rx = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                with rx.lock:
                    rx.conns.add(self.connection)

            def finish(self):
                with rx.lock:
                    rx.conns.discard(self.connection)
                super().finish()

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                mode = rx.mode
                sig = self.headers.get("X-Broadcast-Signature", "")
                ok = verify(rx.secret, sig, body)
                rec = {"time": time.monotonic(), "path": self.path,
                       "attempt": int(self.headers.get("X-Broadcast-Attempt", "0")),
                       "delivery": self.headers.get("X-Broadcast-Delivery"),
                       "event": self.headers.get("X-Broadcast-Event"),
                       "content_type": self.headers.get("Content-Type"),
                       "signature": sig, "signature_ok": ok, "raw": body,
                       "status": None}
                try:
                    rec["body"] = json.loads(body)
                except ValueError:
                    rec["body"] = None
                with rx.cond:
                    rx.requests.append(rec)
                    rx.cond.notify_all()
                if mode == "hang":
                    rx.release.wait(rx.hang_s)
                status = (400 if not ok else 200 if mode in ("ok", "endless", "bigheaders")
                          else 302 if mode == "redirect" else 500)
                with rx.cond:
                    # A 200 the client cannot read is no acknowledgement.
                    rec["status"] = "oversized" if mode == "bigheaders" else status
                    rx.cond.notify_all()
                try:
                    self.send_response(status)
                    if status == 302:
                        self.send_header("Location", self.path)
                    if mode == "bigheaders":
                        # A 256 KiB header line: more than a client should
                        # buffer (libcurl refuses one over 100 KiB).
                        self.send_header("X-Padding", "p" * (256 * 1024))
                    if mode == "endless" and ok:
                        # A terabyte announced, sent until the client hangs
                        # up (or hang_s passes, or stop()).
                        self.send_header("Content-Length", str(1 << 40))
                        self.end_headers()
                        chunk, until = b"x" * 65536, time.monotonic() + rx.hang_s
                        while time.monotonic() < until and not rx.release.is_set():
                            self.wfile.write(chunk)
                        self.close_connection = True
                        return
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

        self.release.clear()
        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # A client that hangs up (as the sender does after an answer
                # it refuses) is not the receiver's error.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        """Close the listener and every open connection: connections are
        refused from now on."""
        if self.server is not None:
            self.release.set()
            self.server.shutdown()
            self.server.server_close()
            self.server = None
            with self.lock:
                for c in self.conns:
                    try:
                        c.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

    def acked(self):
        with self.lock:
            return [r for r in self.requests if r["status"] == 200]

    def wait_acked(self, n, timeout):
        """Wait until at least n requests were acknowledged; returns them."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while sum(r["status"] == 200 for r in self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("%d of %d deliveries acknowledged after %.0f s: %r"
                                         % (sum(r["status"] == 200 for r in self.requests),
                                            n, timeout,
                                            [(r["event"], r["status"]) for r in self.requests]))
                self.cond.wait(left)
            return [r for r in self.requests if r["status"] == 200]

    def wait_requests(self, n, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("%d of %d requests after %.0f s"
                                         % (len(self.requests), n, timeout))
                self.cond.wait(left)
            return list(self.requests)
