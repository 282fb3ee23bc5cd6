# SPDX-License-Identifier: Apache-2.0
"""Run the real Janus (Debian's `janus` package) for the webrtc provider's
tests: a minimal generated configuration in a temp dir (only the VideoRoom
plugin and the HTTP transport, its API and Admin API on free loopback
ports, an api_secret, an admin_secret and a VideoRoom admin_key), ICE
gathering limited to one non-loopback IPv4 address of this machine (Janus
never gathers on loopback interfaces: src/ice.c skips IFF_LOOPBACK), and a
small client of its Admin API to check what the tests expect."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

JANUS = shutil.which("janus") or "/usr/bin/janus"
LIBDIR = "/usr/lib/x86_64-linux-gnu/janus"
for _d in ("/usr/lib/x86_64-linux-gnu/janus", "/usr/lib/aarch64-linux-gnu/janus",
           "/usr/lib/janus"):
    if os.path.isdir(os.path.join(_d, "plugins")):
        LIBDIR = _d
        break


def missing():
    """What is missing to run Janus, as a list of words (empty: nothing)."""
    out = []
    if not os.access(JANUS, os.X_OK):
        out.append("janus")
    elif not os.path.exists(os.path.join(LIBDIR, "plugins", "libjanus_videoroom.so")):
        out.append("janus (its VideoRoom plugin)")
    return out


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ice_address():
    """An IPv4 address of a non-loopback interface that is up: the one ICE
    runs on (Janus skips loopback, and so Chromium must offer it too)."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "up"], capture_output=True,
                         text=True).stdout if shutil.which("ip") else ""
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] != "lo" and parts[2] == "inet":
            addr = parts[3].split("/")[0]
            if not addr.startswith("127."):
                return addr
    # No ip(8): ask the routing table which source address it would use.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            addr = s.getsockname()[0]
            if not addr.startswith("127.") and addr != "0.0.0.0":
                return addr
        except OSError:
            pass
    return None


class Janus:
    """Janus in the foreground on a generated configuration."""

    API_SECRET = "bctest-janus-api-secret-0d9c3f"
    ADMIN_SECRET = "bctest-janus-admin-secret-77ab1e"
    ADMIN_KEY = "bctest-videoroom-admin-key-5e2a90"

    def __init__(self, ice_ip):
        self.dir = tempfile.mkdtemp(prefix="bc-janus-")
        self.port = free_port()
        self.admin_port = free_port()
        self.ice_ip = ice_ip
        self.proc = None
        self.log_path = os.path.join(self.dir, "janus.log")
        self._write_config()

    @property
    def url(self):
        return "http://127.0.0.1:%d/janus" % self.port

    def _write_config(self):
        plugins = [p for p in os.listdir(os.path.join(LIBDIR, "plugins"))
                   if p.endswith(".so") and p != "libjanus_videoroom.so"]
        transports = [p for p in os.listdir(os.path.join(LIBDIR, "transports"))
                      if p.endswith(".so") and p != "libjanus_http.so"]
        loggers = [p for p in os.listdir(os.path.join(LIBDIR, "loggers"))
                   if p.endswith(".so")] if os.path.isdir(os.path.join(LIBDIR, "loggers")) else []
        files = {
            "janus.jcfg": """
general: {
	configs_folder = "%(dir)s"
	plugins_folder = "%(lib)s/plugins"
	transports_folder = "%(lib)s/transports"
	events_folder = "%(lib)s/events"
	loggers_folder = "%(lib)s/loggers"
	debug_level = 4
	server_name = "bctest"
	session_timeout = 60
	api_secret = "%(api_secret)s"
	admin_secret = "%(admin_secret)s"
	protected_folders = ["/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/var"]
}
media: {
	rtp_port_range = "40000-60000"
	no_media_timer = 2
}
nat: {
	ice_enforce_list = "%(ice_ip)s"
	ice_lite = false
	ice_tcp = false
}
plugins: {
	disable = "%(plugins)s"
}
transports: {
	disable = "%(transports)s"
}
loggers: {
	disable = "%(loggers)s"
}
events: {
	broadcast = false
}
""",
            "janus.transport.http.jcfg": """
general: {
	json = "compact"
	base_path = "/janus"
	http = true
	port = %(port)d
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_base_path = "/admin"
	admin_http = true
	admin_port = %(admin_port)d
	admin_ip = "127.0.0.1"
	admin_https = false
}
""",
            "janus.plugin.videoroom.jcfg": """
general: {
	admin_key = "%(admin_key)s"
	lock_rtp_forward = true
}
""",
        }
        values = {"dir": self.dir, "lib": LIBDIR, "api_secret": self.API_SECRET,
                  "admin_secret": self.ADMIN_SECRET, "admin_key": self.ADMIN_KEY,
                  "ice_ip": self.ice_ip, "port": self.port, "admin_port": self.admin_port,
                  "plugins": ",".join(plugins), "transports": ",".join(transports),
                  "loggers": ",".join(loggers)}
        for name, text in files.items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text % values)

    def start(self, timeout=20.0):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [JANUS, "-F", self.dir, "-C", os.path.join(self.dir, "janus.jcfg"), "-o"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("janus exited with %s:\n%s" % (self.proc.returncode,
                                                                   self.log_text()[-3000:]))
            try:
                if self.api({"janus": "info"}).get("janus") == "server_info":
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("janus not ready after %.0f s:\n%s" % (timeout, self.log_text()[-3000:]))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    # -- the Janus API and Admin API ------------------------------------------------
    def _post(self, url, body, timeout=5.0):
        req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def api(self, body, path=""):
        body = dict(body, transaction="t%d" % time.monotonic_ns(), apisecret=self.API_SECRET)
        return self._post(self.url + path, body)

    def admin(self, body, path=""):
        body = dict(body, transaction="a%d" % time.monotonic_ns(),
                    admin_secret=self.ADMIN_SECRET)
        return self._post("http://127.0.0.1:%d/admin%s" % (self.admin_port, path), body)

    def videoroom(self, request):
        """One synchronous VideoRoom request on a session of its own."""
        sid = self.api({"janus": "create"})["data"]["id"]
        try:
            hid = self.api({"janus": "attach", "plugin": "janus.plugin.videoroom"},
                           "/%d" % sid)["data"]["id"]
            r = self.api({"janus": "message", "body": request}, "/%d/%d" % (sid, hid))
            return r["plugindata"]["data"]
        finally:
            self.api({"janus": "destroy"}, "/%d" % sid)

    def rooms(self):
        data = self.videoroom({"request": "list", "admin_key": self.ADMIN_KEY})
        return {r["room"]: r for r in data.get("list", [])}

    def participants(self, room):
        return self.videoroom({"request": "listparticipants", "room": room}).get(
            "participants", [])

    def handles(self):
        """Every (session, handle) Janus holds, through the Admin API."""
        out = []
        for sid in self.admin({"janus": "list_sessions"}).get("sessions", []):
            r = self.admin({"janus": "list_handles"}, "/%d" % sid)
            for hid in r.get("handles", []):
                out.append((sid, hid))
        return out

    def handle_info(self, sid, hid):
        return self.admin({"janus": "handle_info"}, "/%d/%d" % (sid, hid)).get("info", {})

    def publisher_bytes(self, room):
        """Bytes Janus received from the publisher of `room` (0: none)."""
        for sid, hid in self.handles():
            try:
                info = self.handle_info(sid, hid)
            except (OSError, KeyError, ValueError):
                continue
            pd = info.get("plugin_specific", {})
            if pd.get("type") != "publisher" or pd.get("room") != room:
                continue
            # Janus 1.x: webrtc.media is a map of mid -> {..., "stats": {"in":
            # {"bytes": N, ...}, "out": {...}}}
            media = info.get("webrtc", {}).get("media", {})
            return sum(m.get("stats", {}).get("in", {}).get("bytes", 0)
                       for m in (media.values() if isinstance(media, dict) else media))
        return 0
