/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_status.c: Check suite "status": the one mapping of a bc_status and
 * dotted code to an HTTP status (framework/error.c, docs/api.md's error
 * table), and the health and reload bodies render.c builds.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bc_render.h"

START_TEST(base_mapping)
{
	static const struct {
		enum bc_status st;
		int http;
	} want[] = {
		{ BC_OK, 200 },
		{ BC_E_INVALID, 400 },
		{ BC_E_UNAUTHENTICATED, 401 },
		{ BC_E_FORBIDDEN, 403 },
		{ BC_E_NOT_FOUND, 404 },
		{ BC_E_CONFLICT, 409 },
		{ BC_E_TOO_LARGE, 413 },
		{ BC_E_RATE_LIMITED, 429 },
		{ BC_E_UNAVAILABLE, 503 },
		{ BC_E_TIMEOUT, 504 },
		{ BC_E_UPSTREAM, 502 },
		{ BC_E_UNSUPPORTED, 405 },
		{ BC_E_NOMEM, 500 },
		{ BC_E_INTERNAL, 500 },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		ck_assert_int_eq(bc_status_http(want[i].st), want[i].http);
		/* A code without an entry of its own, or none, keeps the base. */
		ck_assert_int_eq(bc_http_status(want[i].st, NULL), want[i].http);
		ck_assert_int_eq(bc_http_status(want[i].st, "stream.not_found"), want[i].http);
		ck_assert_int_eq(bc_http_status(want[i].st, ""), want[i].http);
	}
	ck_assert_int_eq(bc_http_status((enum bc_status)999, NULL), 500);
}
END_TEST

START_TEST(dotted_codes)
{
	/* docs/api.md: 415 request.unsupported_media_type, a 400 refined. */
	ck_assert_int_eq(bc_http_status(BC_E_INVALID, "request.unsupported_media_type"), 415);
	/* Only the whole code, with the status it comes with. */
	ck_assert_int_eq(bc_http_status(BC_E_INVALID, "request.unsupported_media"), 400);
	ck_assert_int_eq(bc_http_status(BC_E_INVALID, "request.unsupported_media_type.x"), 400);
	ck_assert_int_eq(bc_http_status(BC_E_INTERNAL, "request.unsupported_media_type"), 500);
	/* The rest of the table are plain base statuses. */
	ck_assert_int_eq(bc_http_status(BC_E_TOO_LARGE, "request.too_large"), 413);
	ck_assert_int_eq(bc_http_status(BC_E_CONFLICT, "stream.already_stopped"), 409);
	ck_assert_int_eq(bc_http_status(BC_E_RATE_LIMITED, "auth.too_many_failures"), 429);
	ck_assert_int_eq(bc_http_status(BC_E_UNSUPPORTED, "api.method_not_allowed"), 405);
	ck_assert_int_eq(bc_http_status(BC_E_NOMEM, BC_CODE_NOMEM), 500);
}
END_TEST

static void assert_json(json_t *j, const char *want)
{
	char *got;
	ck_assert_ptr_nonnull(j);
	got = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(got);
	json_decref(j);
}

START_TEST(health_and_reload_bodies)
{
	struct bc_error err;
	json_t *providers = json_array();

	bc_error_clear(&err);
	ck_assert_ptr_nonnull(providers);
	json_array_append_new(providers, bc_render_health_item("p1", BC_OK, &err, 0));
	assert_json(bc_render_health(1, bc_render_health_item("s", BC_OK, &err, 0), providers),
	            "{\"status\":\"ok\",\"store\":{\"name\":\"s\",\"status\":\"ok\"},"
	            "\"providers\":[{\"name\":\"p1\",\"status\":\"ok\"}]}");

	bc_fail(&err, BC_E_UNAVAILABLE, "x.down", "the disk /srv is full");
	assert_json(bc_render_health(0, bc_render_health_item("s", BC_E_UNAVAILABLE, &err, 1),
	                             json_array()),
	            "{\"status\":\"unavailable\",\"store\":{\"name\":\"s\",\"status\":"
	            "\"unavailable\",\"code\":\"x.down\",\"message\":\"the disk /srv is full\"},"
	            "\"providers\":[]}");
	/* Out of memory in a part gives NULL, and frees the other part. */
	ck_assert_ptr_null(bc_render_health(1, NULL, json_array()));

	assert_json(bc_render_reload(), "{\"reloaded\":true}");
}
END_TEST

static Suite *status_suite(void)
{
	Suite *s = suite_create("status");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, base_mapping);
	tcase_add_test(tc, dotted_codes);
	tcase_add_test(tc, health_and_reload_bodies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(status_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
