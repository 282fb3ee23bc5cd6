# SPDX-License-Identifier: Apache-2.0
"""Provider faults end, and the daemon recovers without a restart.

tests/integration/test_s3_sts.py already checks the answer to each STS
fault (down -> 504 s3.sts_unreachable, hanging past `timeout` -> 504
s3.sts_timeout, garbage -> 502 s3.sts_bad_response / s3.sts_error,
throttling -> 503 s3.sts_throttled) and that no stream is left; for
throttling it also checks that the next start succeeds. This file adds that
last step for the other three: the same daemon, once the STS double is up
again, answers normally, answers the next start with 200 and stops it.
"""
import time
import unittest

import bctest
from sts_double import StsDouble
from test_s3_sts import BASE_KEY, BASE_SECRET, TOKEN, S3Daemon


class ProviderFaultRecovery(unittest.TestCase):
    def recovered(self, d):
        """The next start and stop on the same daemon succeed."""
        self.assertIsNone(d.proc.poll(), d.log_text()[-3000:])
        status, _, body = d.start_stream(name="after")
        self.assertEqual(status, 200, body)
        sid = body["stream"]["id"]
        status, _, body = d.request("POST", "/stream/stop/", params={"id": sid}, token=TOKEN)
        self.assertEqual(status, 200, body)
        # Only the recovered start is stored: the failed ones left nothing.
        self.assertEqual([s["id"] for s in d.streams()], [sid])

    def test_sts_down_then_up(self):
        port = bctest.free_port()
        with S3Daemon("http://127.0.0.1:%d" % port, timeout="2s", retries=1) as d:
            status, _, body = d.start_stream()
            bctest.assert_error(self, status, body, 504, "s3.sts_unreachable")
            self.assertEqual(d.streams(), [])
            # The STS comes up on the address the daemon was given.
            with StsDouble({BASE_KEY: (BASE_SECRET, None)}, port=port):
                self.recovered(d)

    def test_sts_hangs_then_answers(self):
        with StsDouble({BASE_KEY: (BASE_SECRET, None)}) as sts:
            sts.configure(mode="hang", hang_seconds=5)
            with S3Daemon(sts.url, timeout="1s", retries=1) as d:
                t0 = time.monotonic()
                status, _, body = d.start_stream()
                self.assertLess(time.monotonic() - t0, 2.5)
                bctest.assert_error(self, status, body, 504, "s3.sts_timeout")
                sts.configure(mode="ok")
                # The hung connection is abandoned, not reused.
                self.recovered(d)

    def test_sts_garbage_then_good(self):
        with StsDouble({BASE_KEY: (BASE_SECRET, None)}) as sts:
            with S3Daemon(sts.url) as d:
                for mode, code in (("badxml", "s3.sts_bad_response"), ("error", "s3.sts_error")):
                    sts.configure(mode=mode)
                    status, _, body = d.start_stream()
                    bctest.assert_error(self, status, body, 502, code)
                sts.configure(mode="ok")
                self.recovered(d)


if __name__ == "__main__":
    unittest.main(verbosity=2)
