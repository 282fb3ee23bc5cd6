/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_webrtc_sdp.c: Check suite for the webrtc provider's SDP helpers
 * (providers/webrtc/webrtc_sdp.c), which its WHIP listener runs on every
 * body before Janus sees it: UTF-8 (overlong forms, surrogates, cut
 * sequences, NUL), the shape of a WebRTC offer (the 400 messages), and the
 * trickle-ICE fragments of RFC 8840 (mids, end-of-candidates, limits). The
 * source is internal to the .so, so it is compiled into this test; the
 * end-to-end paths run through the daemon, Janus and Chromium
 * (tests/integration/test_webrtc*.py).
 */
#include "config.h"

#include <string.h>

/* Before check.h, which defines a macro `fail` that webrtc_err.h's
 * api->fail() would meet. */
#include "webrtc_sdp.h"

#include <check.h>

static int utf8(const char *s)
{
	return webrtc_utf8_is_valid(s, strlen(s));
}

START_TEST(utf8_accepts_text_refuses_the_rest)
{
	ck_assert(utf8("v=0\r\ns=caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xa5\r\n"));
	ck_assert(utf8(""));
	ck_assert(!webrtc_utf8_is_valid("a\0b", 3));
	ck_assert(!utf8("\xff"));
	ck_assert(!utf8("\xc3"));             /* cut short */
	ck_assert(!utf8("\xe2\x82"));         /* cut short */
	ck_assert(!utf8("\xc0\xaf"));         /* overlong '/' */
	ck_assert(!utf8("\xe0\x80\xaf"));     /* overlong */
	ck_assert(!utf8("\xed\xa0\x80"));     /* a surrogate */
	ck_assert(!utf8("\xf4\x90\x80\x80")); /* past U+10FFFF */
	ck_assert(!utf8("\x80"));             /* a lone continuation byte */
}
END_TEST

#define OFFER_HEAD "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
#define OFFER_MEDIA "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n"
#define OFFER_ICE "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
#define OFFER_FP "a=fingerprint:sha-256 AB:CD\r\n"

START_TEST(sdp_check_names_what_is_missing)
{
	const char *why;

	ck_assert_ptr_null(webrtc_sdp_check(OFFER_HEAD OFFER_FP OFFER_MEDIA OFFER_ICE));
	/* bare LF lines are taken too */
	ck_assert_ptr_null(webrtc_sdp_check("v=0\nm=audio 9 x 0\na=ice-ufrag:a\na=ice-pwd:b\n"
	                                    "a=fingerprint:x\n"));
	ck_assert_ptr_nonnull(strstr(webrtc_sdp_check(""), "empty"));
	ck_assert_ptr_nonnull(strstr(webrtc_sdp_check("hello"), "x=value"));
	ck_assert_ptr_nonnull(strstr(webrtc_sdp_check("s=-\r\nv=0\r\n"), "v=0"));
	why = webrtc_sdp_check(OFFER_HEAD OFFER_FP OFFER_ICE);
	ck_assert_ptr_nonnull(strstr(why, "m="));
	why = webrtc_sdp_check(OFFER_HEAD OFFER_FP OFFER_MEDIA);
	ck_assert_ptr_nonnull(strstr(why, "ice-ufrag"));
	why = webrtc_sdp_check(OFFER_HEAD OFFER_MEDIA OFFER_ICE);
	ck_assert_ptr_nonnull(strstr(why, "fingerprint"));
	ck_assert_ptr_nonnull(webrtc_sdp_check("v=0\r\nM=video\r\n"));
	ck_assert_ptr_nonnull(webrtc_sdp_check("v=0\r\nm=a\rb\r\n"));
}
END_TEST

START_TEST(frag_reads_candidates_by_mid)
{
	char frag[] = "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n"
	              "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
	              "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host\r\n"
	              "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n"
	              "a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host\r\n"
	              "a=end-of-candidates\r\n";
	struct webrtc_janus_candidate c[4];
	const char *ufrag = NULL, *why = NULL;
	int completed = 0;

	ck_assert_int_eq(webrtc_sdp_frag_parse(frag, c, 4, &completed, &ufrag, &why), 2);
	ck_assert_int_eq(completed, 1);
	ck_assert_str_eq(ufrag, "EsAw");
	ck_assert_str_eq(c[0].mid, "0");
	ck_assert_str_eq(c[1].mid, "1");
	ck_assert_int_eq(c[1].mline_index, -1);
	ck_assert_str_eq(c[0].candidate,
	                 "candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host");
}
END_TEST

START_TEST(frag_without_mid_uses_the_index)
{
	char frag[] = "m=audio 9 RTP/AVP 0\na=candidate:1 1 udp 1 192.0.2.1 1 typ host\n";
	struct webrtc_janus_candidate c[1];
	const char *ufrag, *why;
	int completed;

	ck_assert_int_eq(webrtc_sdp_frag_parse(frag, c, 1, &completed, &ufrag, &why), 1);
	ck_assert_ptr_null(c[0].mid);
	ck_assert_int_eq(c[0].mline_index, 0);
	ck_assert_int_eq(completed, 0);
	ck_assert_ptr_null(ufrag);
}
END_TEST

START_TEST(frag_refuses_garbage_and_floods)
{
	char bad[] = "a=candidate:1 1 udp 1 192.0.2.1 1 typ host\r\nnot a line\r\n";
	char many[] = "a=candidate:1\r\na=candidate:2\r\na=candidate:3\r\n";
	char empty[] = "";
	struct webrtc_janus_candidate c[2];
	const char *ufrag, *why;
	int completed;

	ck_assert_int_eq(webrtc_sdp_frag_parse(bad, c, 2, &completed, &ufrag, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(webrtc_sdp_frag_parse(many, c, 2, &completed, &ufrag, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "too many"));
	ck_assert_int_eq(webrtc_sdp_frag_parse(empty, c, 2, &completed, &ufrag, &why), 0);
}
END_TEST

static Suite *webrtc_sdp_suite(void)
{
	Suite *s = suite_create("webrtc_sdp");
	TCase *tc = tcase_create("sdp");

	tcase_add_test(tc, utf8_accepts_text_refuses_the_rest);
	tcase_add_test(tc, sdp_check_names_what_is_missing);
	tcase_add_test(tc, frag_reads_candidates_by_mid);
	tcase_add_test(tc, frag_without_mid_uses_the_index);
	tcase_add_test(tc, frag_refuses_garbage_and_floods);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(webrtc_sdp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
