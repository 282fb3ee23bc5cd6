# SPDX-License-Identifier: Apache-2.0
"""Parameters over HTTP: the query string, an x-www-form-urlencoded body and
a JSON body (django-broadcast read all of them), plus-and-percent decoding
done right, duplicates refused, and the percent-decoded id of
/streams/{id}. The frontend passes the raw query and body; these tests show
the whole path decodes them as a browser or curl encoded them."""
import http.client
import json
import unittest
import urllib.parse

import bctest


def call(d, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        text = r.read().decode()
        return r.status, json.loads(text)
    finally:
        conn.close()


class Encodings(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = bctest.Daemon(bctest.config()).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.kill()

    def name_of(self, sid):
        status, body = call(self.d, "GET", "/streams/" + sid)
        self.assertEqual(status, 200, body)
        return body["stream"]["name"]

    def test_query_string_plus_and_percent(self):
        status, body = call(self.d, "POST", "/stream/start/?type=hls&name=a+b%2Bc%20d%26e%3D")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["stream"]["name"], "a b+c d&e=")

    def test_form_body(self):
        form = urllib.parse.urlencode({"type": "hls", "name": "caf\u00e9 & co+1"})
        status, body = call(self.d, "POST", "/stream/start", form,
                            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["stream"]["name"], "caf\u00e9 & co+1")
        self.assertEqual(self.name_of(body["stream"]["id"]), "caf\u00e9 & co+1")

    def test_form_body_with_charset_parameter(self):
        status, body = call(self.d, "POST", "/stream/start/", "name=x%2By",
                            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["stream"]["name"], "x+y")

    def test_json_body(self):
        status, body = call(self.d, "POST", "/stream/start/",
                            json.dumps({"type": "hls", "name": "j+s%20on"}),
                            {"Content-Type": "application/json"})
        self.assertEqual(status, 200, body)
        # JSON strings are taken literally: no URL decoding
        self.assertEqual(body["stream"]["name"], "j+s%20on")
        sid = body["stream"]["id"]
        status, body = call(self.d, "POST", "/stream/stop/", json.dumps({"id": sid}),
                            {"Content-Type": "application/json"})
        self.assertEqual(status, 200, body)

    def test_stop_with_form_body_and_query(self):
        for how in ("query", "form"):
            status, body = call(self.d, "POST", "/stream/start/?name=" + how)
            sid = body["stream"]["id"]
            if how == "query":
                status, body = call(self.d, "POST", "/stream/stop?id=" + sid)
            else:
                status, body = call(self.d, "POST", "/stream/stop", "id=" + sid,
                                    {"Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(status, 200, body)
            self.assertEqual(body["stream"]["id"], sid)

    def test_duplicates_are_refused_in_any_mix(self):
        cases = [
            ("/stream/start/?name=a&name=b", None, None),
            ("/stream/start/?name=a", "name=b", "application/x-www-form-urlencoded"),
            ("/stream/start/?name=a", json.dumps({"name": "b"}), "application/json"),
            ("/stream/start/", "type=hls&type=hls", "application/x-www-form-urlencoded"),
        ]
        for path, body, ctype in cases:
            with self.subTest(path=path, body=body):
                status, answer = call(self.d, "POST", path, body,
                                      {"Content-Type": ctype} if ctype else {})
                bctest.assert_error(self, status, answer, 400, answer["error"]["code"])
                self.assertTrue(answer["error"]["code"].startswith("request."), answer)
                self.assertIn("name" if "name" in path else "type", answer["error"]["message"])

    def test_get_id_percent_encoded_in_path(self):
        status, body = call(self.d, "POST", "/stream/start/?name=pct")
        sid = body["stream"]["id"]
        encoded = "".join("%%%02X" % ord(c) for c in sid)
        status, body = call(self.d, "GET", "/streams/" + encoded + "/")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["stream"]["id"], sid)

    def test_get_bad_id_in_path_is_400(self):
        status, body = call(self.d, "GET", "/streams/not%20a%20uuid")
        bctest.assert_error(self, status, body, 400, "stream.bad_id")

    def test_list_parameters_from_query(self):
        status, body = call(self.d, "GET", "/streams?state=all&limit=2")
        self.assertEqual(status, 200, body)
        self.assertLessEqual(len(body["streams"]), 2)
        status, body = call(self.d, "GET", "/streams?limit=0")
        bctest.assert_error(self, status, body, 400, "request.bad_parameter")
        status, body = call(self.d, "GET", "/streams?state=sleeping")
        bctest.assert_error(self, status, body, 400, "request.bad_parameter")


if __name__ == "__main__":
    unittest.main()
