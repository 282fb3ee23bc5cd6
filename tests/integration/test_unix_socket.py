# SPDX-License-Identifier: Apache-2.0
"""The Unix socket frontend's socket file and access control, with the real
broadcastd: file mode, stale socket replaced, a non-socket path refused, a
live socket of another daemon refused, the file removed on exit, a reload
that changes the frontend, and peers refused or allowed by SO_PEERCRED (the
client runs as `nobody` through setpriv; skipped when not root).
"""
import grp
import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import unittest

import bctest

STORE = "type: memory\n"


def unix_frontend(extra=""):
    return '- type: unix\n  path: "@TMP@/control.sock"\n' + extra


def call(path, op, params=None, timeout=10.0):
    """One request on a fresh connection: (status, body)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        req = {"op": op}
        if params is not None:
            req["params"] = params
        s.sendall(json.dumps(req).encode() + b"\n")
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError("closed without an answer")
            buf += chunk
        resp = json.loads(buf.split(b"\n", 1)[0])
        return resp["status"], resp["body"]


# A client for `nobody`: it cannot read root's pyenv, so the system python
# runs it. It prints the first response line, or the connect error.
NOBODY_CLIENT = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("CONNECT-ERROR", e.errno)
    sys.exit(0)
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while b"\n" not in buf:
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
print(buf.split(b"\n", 1)[0].decode())
"""

SYSTEM_PYTHON = "/usr/bin/python3"


def can_switch_to_nobody():
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    try:
        pwd.getpwnam("nobody")
        grp.getgrnam("nogroup")
    except KeyError:
        return False
    return os.access(SYSTEM_PYTHON, os.X_OK)


def as_nobody(argv, **kw):
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
                          + argv, capture_output=True, text=True, timeout=20, **kw)


class UnixSocketFileTest(unittest.TestCase):
    def test_default_mode_and_removed_on_exit(self):
        cfg = bctest.config(frontends=unix_frontend(), store=STORE)
        with bctest.Daemon(cfg) as d:
            path = os.path.join(d.tmp, "control.sock")
            st = os.lstat(path)
            self.assertTrue(stat.S_ISSOCK(st.st_mode))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
            self.assertEqual(call(path, "health")[0], 200)
            # no temporary names left in the directory
            self.assertEqual([n for n in os.listdir(d.tmp) if n.endswith(".sock")],
                             ["control.sock"])
            self.assertEqual(d.stop(), 0, d.log_text())
            self.assertFalse(os.path.exists(path), "socket not removed on exit")

    def test_custom_mode(self):
        cfg = bctest.config(frontends=unix_frontend('  mode: "0600"\n'), store=STORE)
        with bctest.Daemon(cfg) as d:
            st = os.lstat(os.path.join(d.tmp, "control.sock"))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)

    def test_bad_mode_refused(self):
        cfg = bctest.config(frontends=unix_frontend('  mode: "rw-rw----"\n'), store=STORE)
        with self.assertRaises(bctest.DaemonError) as cm:
            with bctest.Daemon(cfg, ready_timeout=10):
                pass
        self.assertIn("unix.bad_mode", str(cm.exception))

    def test_stale_socket_replaced(self):
        cfg = bctest.config(frontends=unix_frontend(), store=STORE)
        d = bctest.Daemon(cfg)
        path = os.path.join(d.tmp, "control.sock")
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(path)   # bound, never listening: what a crashed daemon leaves
        stale.close()
        self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))
        with d:
            self.assertEqual(call(path, "health")[0], 200)
            self.assertIn("stale socket", d.log_text())

    def test_non_socket_path_refused(self):
        cfg = bctest.config(frontends=unix_frontend(), store=STORE)
        d = bctest.Daemon(cfg, ready_timeout=10)
        path = os.path.join(d.tmp, "control.sock")
        with open(path, "w") as f:
            f.write("precious data\n")
        with self.assertRaises(bctest.DaemonError) as cm:
            with d:
                pass
        self.assertIn("not a socket", str(cm.exception))
        with open(path) as f:
            self.assertEqual(f.read(), "precious data\n")

    def test_live_socket_of_another_daemon_refused(self):
        cfg = bctest.config(frontends=unix_frontend(), store=STORE)
        with bctest.Daemon(cfg) as first:
            path = os.path.join(first.tmp, "control.sock")
            cfg2 = bctest.config(frontends='- type: unix\n  path: "%s"\n' % path, store=STORE)
            with self.assertRaises(bctest.DaemonError) as cm:
                with bctest.Daemon(cfg2, ready_timeout=10):
                    pass
            self.assertIn("already in use", str(cm.exception))
            # the first daemon keeps its socket and serves on
            self.assertEqual(call(path, "health")[0], 200)

    def test_reload_with_changed_options_keeps_serving(self):
        cfg = bctest.config(frontends=unix_frontend(), store=STORE)
        with bctest.Daemon(cfg) as d:
            path = os.path.join(d.tmp, "control.sock")
            self.assertEqual(call(path, "health")[0], 200)
            new = bctest.config(frontends=unix_frontend('  mode: "0640"\n'), store=STORE)
            d.reload(new.replace("@TMP@", d.tmp))
            self.assertEqual(stat.S_IMODE(os.lstat(path).st_mode), 0o640)
            self.assertEqual(call(path, "health")[0], 200)
            self.assertEqual(d.stop(), 0, d.log_text())
            self.assertFalse(os.path.exists(path))


@unittest.skipUnless(can_switch_to_nobody(), "needs root, setpriv, nobody/nogroup")
class UnixPeerAccessTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        nobody = pwd.getpwnam("nobody").pw_uid
        nogroup = grp.getgrnam("nogroup").gr_gid
        frontends = (unix_frontend('  mode: "0666"\n') +
                     '- type: unix\n  name: for-nobody\n  path: "@TMP@/nobody.sock"\n'
                     '  mode: "0666"\n  allow_uids: [%d]\n' % nobody +
                     '- type: unix\n  name: for-nogroup\n  path: "@TMP@/nogroup.sock"\n'
                     '  mode: "0666"\n  allow_gids: [nogroup]\n' +
                     '- type: unix\n  name: closed\n  path: "@TMP@/closed.sock"\n')
        cls.nobody, cls.nogroup = nobody, nogroup
        cls.d = bctest.Daemon(bctest.config(frontends=frontends, store=STORE))
        os.chmod(cls.d.tmp, 0o755)   # nobody must reach the sockets
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.kill()

    def nobody_call(self, sock, line):
        r = as_nobody([SYSTEM_PYTHON, "-c", NOBODY_CLIENT, os.path.join(self.d.tmp, sock), line])
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def test_nobody_refused_by_default(self):
        out = self.nobody_call("control.sock", '{"op":"health"}')
        resp = json.loads(out)
        self.assertEqual(resp["status"], 403, resp)
        self.assertEqual(resp["body"]["error"]["code"], "unix.forbidden")
        self.assertIn("uid %d" % self.nobody, resp["body"]["error"]["message"])
        self.assertIn("refused uid:%d" % self.nobody, self.d.log_text())
        # and the daemon serves its allowed users on
        self.assertEqual(call(os.path.join(self.d.tmp, "control.sock"), "health")[0], 200)

    def test_file_mode_is_the_first_gate(self):
        out = self.nobody_call("closed.sock", '{"op":"health"}')
        self.assertEqual(out, "CONNECT-ERROR 13")   # EACCES: mode 0660, owner root

    def test_allow_uids_admits_nobody_as_owner(self):
        resp = json.loads(self.nobody_call(
            "nobody.sock", '{"op":"start","params":{"name":"from-nobody"}}'))
        self.assertEqual(resp["status"], 200, resp)
        sid = resp["body"]["stream"]["id"]
        status, body = call(os.path.join(self.d.tmp, "control.sock"), "get", {"id": sid})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["stream"]["owner"], "uid:%d" % self.nobody)
        # nobody is no admin: reload is the dispatcher's to refuse
        resp = json.loads(self.nobody_call("nobody.sock", '{"op":"reload"}'))
        self.assertEqual(resp["status"], 403, resp)

    def test_allow_gids_admits_group_members(self):
        resp = json.loads(self.nobody_call("nogroup.sock", '{"op":"health"}'))
        self.assertEqual(resp["status"], 200, resp)

    def test_broadcastctl_as_nobody_is_refused_clearly(self):
        ctl = bctest.BROADCASTCTL
        probe = as_nobody(["test", "-x", ctl])
        if probe.returncode != 0:
            self.skipTest("nobody cannot execute %s" % ctl)
        r = as_nobody([ctl, "--socket", os.path.join(self.d.tmp, "control.sock"), "health"])
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("unix.forbidden", r.stderr)
        self.assertIn("uid %d may not use this socket" % self.nobody, r.stderr)
        r = as_nobody([ctl, "--socket", os.path.join(self.d.tmp, "closed.sock"), "health"])
        self.assertEqual(r.returncode, 3, r)
        self.assertIn("closed.sock", r.stderr)
        self.assertIn("Permission denied", r.stderr)


if __name__ == "__main__":
    unittest.main()
