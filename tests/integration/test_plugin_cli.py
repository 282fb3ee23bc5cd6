# SPDX-License-Identifier: Apache-2.0
"""What a plugin author meets on the command line (issue 25).

- A plugin is matched by its declared name. `provider_rtmp_key.so` declaring
  `rtmp-key` serves `type: rtmp-key` (the file-name rule lets '-' be written
  '_'); `type: rtmp_key` is refused with "did you mean 'rtmp-key'". A file
  that breaks the rule (`provider_other.so` declaring `zeta`) still serves
  `type: zeta`, and --list-plugins says how to name it.
- --list-plugins and --describe search the plugin_dir of `-c FILE` (given
  before or after the mode) and print the folders searched; --describe takes
  a .so path.
- A plugin the loader refuses (a missing operation) makes "unknown type" say
  "found FILE but refused: why".
- --describe prints ranges and the non-empty flag; a typo in `type:` gets a
  "did you mean"; `listen: ""` (BC_OPT_NONEMPTY) is refused by the host.
- --check-plugin FILE prints name, kind, ABI, options and thread safety, and
  exits 1 with the reason for a file the loader would refuse.
- docs/configuration.md's reference is `broadcastd --describe all --markdown`.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import bctest

ABI_PLUGIN = os.path.join(bctest.SRCDIR, "tests", "plugins", "abi", "abi_plugin.c")


def build_plugin(out, name, *defines):
    """Compile tests/plugins/abi/abi_plugin.c as provider `name` into out."""
    cmd = (os.environ.get("CC", "cc").split() +
           ["-std=c11", "-shared", "-fPIC", "-I" + os.path.join(bctest.SRCDIR, "include"),
            "-I" + bctest.BUILDDIR, '-DABI_NAME="%s"' % name] + list(defines) +
           [ABI_PLUGIN, "-o", out])
    subprocess.run(cmd, check=True, timeout=120)


def run(*args, env=None):
    p = subprocess.run([bctest.BROADCASTD] + list(args), capture_output=True, text=True,
                       timeout=60, env=env)
    return p.returncode, p.stdout, p.stderr


class PluginCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="bc-plugin-cli-")
        cls.plugins = os.path.join(cls.tmp, "plugins")
        os.mkdir(cls.plugins)
        build_plugin(os.path.join(cls.plugins, "provider_rtmp_key.so"), "rtmp-key")
        build_plugin(os.path.join(cls.plugins, "provider_other.so"), "zeta")
        build_plugin(os.path.join(cls.plugins, "provider_broken.so"), "broken",
                     "-DABI_MISSING_OP")
        # The in-tree plugins stay on BROADCAST_PLUGIN_PATH; the test ones
        # are found only through the configuration's plugin_dir.
        cls.env = dict(os.environ)
        cls.empty = os.path.join(cls.tmp, "empty")
        os.mkdir(cls.empty)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def config(self, provider_type, extra=""):
        path = os.path.join(self.tmp, "broadcast.yaml")
        with open(path, "w") as f:
            f.write("plugin_dir: %s\n"
                    "store: {type: sqlite, path: %s/streams.db}\n"
                    "providers:\n  - {type: %s%s}\n"
                    "frontends:\n  - {type: http, listen: \"127.0.0.1:9\"}\n"
                    % (self.plugins, self.tmp, provider_type, extra))
        return path

    def check_config(self, provider_type, extra=""):
        return run("-c", self.config(provider_type, extra), "--check-config", env=self.env)

    # ---- names ------------------------------------------------------------

    def test_declared_name_with_dash_loads_from_underscore_file(self):
        rc, out, err = self.check_config("rtmp-key")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("configuration OK", out)

    def test_file_name_spelling_is_not_the_type(self):
        rc, out, err = self.check_config("rtmp_key")
        self.assertNotEqual(rc, 0, out + err)
        self.assertIn("unknown provider type 'rtmp_key'; did you mean 'rtmp-key'?", err)
        self.assertNotRegex(err, r"available: [^(]*\brtmp_key\b", err)

    def test_file_breaking_the_rule_loads_by_declared_name(self):
        rc, out, err = self.check_config("zeta")
        self.assertEqual(rc, 0, out + err)
        rc, out, err = run("-c", self.config("zeta"), "--list-plugins", env=self.env)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"(?m)^provider +zeta +.*provider_other\.so$")
        self.assertRegex(out, r"(?m)^note: .*provider_other\.so declares provider 'zeta'.*"
                              r"provider_zeta\.so")

    def test_typo_gets_did_you_mean(self):
        rc, out, err = self.check_config("locl")
        self.assertNotEqual(rc, 0)
        self.assertIn("unknown provider type 'locl'; did you mean 'local'?", err)

    # ---- refused plugins ------------------------------------------------------

    def test_refused_plugin_is_named_with_its_reason(self):
        rc, out, err = self.check_config("broken")
        self.assertNotEqual(rc, 0, out + err)
        self.assertRegex(err, r"unknown provider type 'broken': found \S*provider_broken\.so "
                              r"but refused: plugin 'broken' does not implement the required "
                              r"operation stop\(\)")

    # ---- -c for the informational modes ---------------------------------------

    def test_list_plugins_uses_config_plugin_dir_and_prints_search_path(self):
        env = dict(self.env, BROADCAST_PLUGIN_PATH=self.empty)
        for args in (("-c", self.config("local"), "--list-plugins"),
                     ("--list-plugins", "-c", self.config("local"))):
            rc, out, err = run(*args, env=env)
            self.assertEqual(rc, 0, err)
            self.assertRegex(out, r"(?m)^provider +rtmp-key +.*provider_rtmp_key\.so$")
            self.assertRegex(out, r"(?m)^rejected: \S*provider_broken\.so: ")
            self.assertRegex(out, r"(?m)^searched: %s, %s" % (re.escape(self.empty),
                                                             re.escape(self.plugins)))

    def test_list_plugins_empty_says_where_it_looked(self):
        env = dict(self.env, BROADCAST_PLUGIN_PATH=self.empty)
        path = os.path.join(self.tmp, "no-dirs.yaml")
        with open(path, "w") as f:
            f.write("store: {type: sqlite}\n")
        rc, out, err = run("-c", path, "--list-plugins", env=env)
        self.assertEqual(rc, 0, err)
        self.assertIn("searched: %s" % self.empty, out)

    def test_describe_uses_config_plugin_dir(self):
        env = dict(self.env, BROADCAST_PLUGIN_PATH=self.empty)
        rc, out, err = run("--describe", "rtmp-key", "-c", self.config("local"), env=env)
        self.assertEqual(rc, 0, err)
        self.assertIn("provider rtmp-key", out)
        self.assertIn("greeting", out)
        rc, out, err = run("--describe", "nothing-here", env=env)
        self.assertEqual(rc, 1)
        self.assertIn("searched: %s" % self.empty, err)

    def test_describe_takes_a_so_path(self):
        rc, out, err = run("--describe", os.path.join(self.plugins, "provider_other.so"))
        self.assertEqual(rc, 0, err)
        self.assertIn("provider zeta", out)
        rc, out, err = run("--describe", os.path.join(self.plugins, "provider_broken.so"))
        self.assertEqual(rc, 1)
        self.assertIn("does not implement the required operation stop()", err)

    def test_describe_prints_range_and_non_empty(self):
        rc, out, err = run("--describe", "local")
        self.assertEqual(rc, 0, err)
        # listen: non-empty; threads: 2 to ...; the common idle_timeout: 0 to 366d.
        self.assertRegex(out, r"(?m)^  listen +string +optional, default 127\.0\.0\.1:8081\n"
                              r" +non-empty$")
        self.assertRegex(out, r"(?m)^ +range 2 to \d+$")
        self.assertRegex(out, r"(?m)^ +range 0 to 366d$")

    # ---- non-empty --------------------------------------------------------------

    def test_non_empty_option_refused_by_host(self):
        rc, out, err = self.check_config("local", ', listen: ""')
        self.assertNotEqual(rc, 0, out + err)
        self.assertRegex(err, r"broadcast\.yaml:\d+:\d+: provider local \(type local\): "
                              r"option 'listen' may not be empty")
        self.assertNotIn("local.bad_listen", err)

    # ---- --check-plugin ---------------------------------------------------------

    def test_check_plugin_describes_a_good_file(self):
        rc, out, err = run("--check-plugin", os.path.join(self.plugins,
                                                          "provider_rtmp_key.so"))
        self.assertEqual(rc, 0, out + err)
        for want in (r"(?m)^provider rtmp-key ", r"(?m)^kind: +provider$",
                     r"(?m)^ABI: +1\.1 ", r"(?m)^thread safety: +not declared thread-safe",
                     r"(?m)^operations: +create start stop destroy$",
                     r"(?m)^  greeting +string", r"(?m)^file name: +follows"):
            self.assertRegex(out, want)

    def test_check_plugin_refuses_with_reason(self):
        rc, out, err = run("--check-plugin", os.path.join(self.plugins, "provider_broken.so"))
        self.assertEqual(rc, 1, out)
        self.assertIn("would be refused", err)
        self.assertIn("does not implement the required operation stop()", err)
        rc, out, err = run("--check-plugin", os.path.join(self.tmp, "missing.so"))
        self.assertEqual(rc, 1, out)
        self.assertIn("cannot load", err)


class ConfigurationReference(unittest.TestCase):
    """docs/configuration.md's reference part is --describe all --markdown."""

    BEGIN = re.compile(r"^<!-- BEGIN (\S+ \S+) -->$", re.M)

    @classmethod
    def sections(cls, text):
        out = {}
        for m in cls.BEGIN.finditer(text):
            end = text.index("<!-- END %s -->" % m.group(1), m.end())
            out[m.group(1)] = text[m.start():end]
        return out

    def test_reference_matches_describe_markdown(self):
        env = dict(os.environ)
        # Only the plugins of the tree: not the test plugins.
        env["BROADCAST_PLUGIN_PATH"] = ":".join(
            p for p in env.get("BROADCAST_PLUGIN_PATH", "").split(":")
            if "/tests/" not in p)
        rc, out, err = run("--describe", "all", "--markdown", env=env)
        self.assertEqual(rc, 0, err)
        with open(os.path.join(bctest.SRCDIR, "docs", "configuration.md"),
                  encoding="utf-8") as f:
            doc = self.sections(f.read())
        made = self.sections(out)
        self.assertIn("provider common", made)
        self.assertIn("store sqlite", made)
        for key, text in made.items():
            self.assertIn(key, doc, "docs/configuration.md has no section for %s: "
                          "paste `broadcastd --describe all --markdown` into it" % key)
            self.assertEqual(doc[key], text, "docs/configuration.md's %s differs from "
                             "`broadcastd --describe all --markdown`: regenerate it" % key)


if __name__ == "__main__":
    unittest.main()
