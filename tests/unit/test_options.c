/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_options.c: Check suite for framework/options.c: validation of an
 * instance's YAML map against declared options, the bc_config getters,
 * equality, secret enumeration, duration/size parsing and --describe.
 *
 * YAML comes from real documents loaded with bc_doc_load_string ("t.yaml");
 * every error asserts the exact "FILE:LINE:COL: ..." text or its start.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bc_internal.h"

#define OWNER "provider s3-main (type s3)"
#define SECRET_VALUE "hunter2-very-secret"

static const char *const modes[] = {"fast", "safe", NULL};

static const struct bc_option opts[] = {
	BC_OPTION(.name = "bucket", .type = BC_OPT_STRING, .flags = BC_OPT_REQUIRED,
	          .description = "the S3 bucket name"),
	BC_OPTION(.name = "region", .type = BC_OPT_STRING, .default_value = "us-east-1",
	          .description = "the AWS region"),
	BC_OPTION(.name = "retries", .type = BC_OPT_INT, .default_value = "3", .min = 0, .max = 10),
	BC_OPTION(.name = "verbose", .type = BC_OPT_BOOL, .default_value = "false"),
	BC_OPTION(.name = "timeout", .type = BC_OPT_DURATION, .default_value = "30s", .min = 1000,
	          .max = 600000),
	BC_OPTION(.name = "max_body", .type = BC_OPT_SIZE, .default_value = "1M"),
	BC_OPTION(.name = "hosts", .type = BC_OPT_LIST, .default_value = "[a.example, b.example]"),
	BC_OPTION(.name = "mode", .type = BC_OPT_ENUM, .enum_values = modes, .default_value = "safe"),
	BC_OPTION(.name = "secret_key", .type = BC_OPT_STRING, .flags = BC_OPT_SECRET,
	          .default_value = "default-secret-xyz"),
	BC_OPTION(.name = "pin", .type = BC_OPT_INT, .flags = BC_OPT_SECRET),
	BC_OPTION(.name = "tokens", .type = BC_OPT_LIST, .flags = BC_OPT_SECRET),
	BC_OPTION(.name = "tls.cert", .type = BC_OPT_STRING),
	BC_OPTION(.name = "tls.verify", .type = BC_OPT_BOOL, .default_value = "yes"),
	BC_OPTION(.name = "tls.client.key", .type = BC_OPT_STRING, .flags = BC_OPT_REQUIRED),
	BC_OPTION_END,
};

static const struct bc_option common[] = {
	BC_OPTION(.name = "name", .type = BC_OPT_STRING, .flags = BC_OPT_REQUIRED,
	          .description = "the instance name"),
	BC_OPTION(.name = "type", .type = BC_OPT_STRING, .flags = BC_OPT_REQUIRED),
	BC_OPTION_END,
};

#define BASE0 "name: s3-main\ntype: s3\nbucket: media\n"
#define BASE BASE0 "tls: {client: {key: /k.pem}}\n"

static struct bc_doc *doc;

static void teardown(void)
{
	bc_doc_free(doc);
	doc = NULL;
}

/* Build cfg from YAML text; returns 0/-1, *err set on failure. */
static int build(const char *text, struct bc_config **cfg, char **err)
{
	char *lerr = NULL;
	bc_doc_free(doc);
	doc = NULL;
	ck_assert_msg(bc_doc_load_string("t.yaml", text, strlen(text), &doc, &lerr) == 0, "%s",
	              lerr ? lerr : "");
	return bc_config_build(doc, doc->root, OWNER, opts, common, cfg, err);
}

static struct bc_config *build_ok(const char *text)
{
	struct bc_config *cfg = NULL;
	char *err = NULL;
	int rc = build(text, &cfg, &err);
	ck_assert_msg(rc == 0, "build failed: %s", err ? err : "");
	ck_assert_ptr_nonnull(cfg);
	return cfg;
}

static char *build_err(const char *text)
{
	struct bc_config *cfg = NULL;
	char *err = NULL;
	ck_assert_int_eq(build(text, &cfg, &err), BC_E_INVALID);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, SECRET_VALUE) == NULL, "secret leaked: %s", err);
	return err;
}

#define ASSERT_ERR(text, expected)                                                   \
	do {                                                                             \
		char *e_ = build_err(text);                                                  \
		ck_assert_msg(strcmp(e_, expected) == 0, "got '%s'\nwant '%s'", e_, expected); \
		free(e_);                                                                    \
	} while (0)

#define ASSERT_ERR_PREFIX(text, expected)                                            \
	do {                                                                             \
		char *e_ = build_err(text);                                                  \
		ck_assert_msg(strncmp(e_, expected, strlen(expected)) == 0,                  \
		              "got '%s'\nwant prefix '%s'", e_, expected);                   \
		free(e_);                                                                    \
	} while (0)

START_TEST(walk_arrays)
{
	/* An older plugin's smaller elements: struct_size shorter than ours. */
	struct old_option {
		size_t struct_size;
		const char *name;
		enum bc_opt_type type;
		unsigned flags; /* ends on a member boundary, as a real older ABI did */
	};
	struct old_option old[3] = {
		{sizeof(struct old_option), "a", BC_OPT_STRING, 0},
		{sizeof(struct old_option), "b", BC_OPT_INT, 0},
		{0, NULL, 0, 0},
	};
	const struct bc_option *p = bc_option_first((const struct bc_option *)(void *)old);
	ck_assert_str_eq(p->name, "a");
	p = bc_option_next(p);
	ck_assert_str_eq(p->name, "b");
	ck_assert_ptr_null(bc_option_next(p));
	ck_assert_ptr_null(bc_option_first(NULL));

	size_t n = 0;
	for (p = bc_option_first(opts); p; p = bc_option_next(p))
		n++;
	ck_assert_uint_eq(n, sizeof opts / sizeof opts[0] - 1);

	/* Build against the old array: members beyond its size read as zero. */
	struct bc_config *cfg = NULL;
	char *err = NULL;
	const char *text = "a: x\nb: 5\n";
	ck_assert_int_eq(bc_doc_load_string("t.yaml", text, strlen(text), &doc, &err), 0);
	ck_assert_int_eq(bc_config_build(doc, doc->root, OWNER,
	                                 (const struct bc_option *)(void *)old, NULL, &cfg, &err), 0);
	ck_assert_str_eq(bc_config_str(cfg, "a"), "x");
	ck_assert_int_eq(bc_config_int(cfg, "b"), 5);
	bc_config_free(cfg);
}
END_TEST

START_TEST(defaults_and_getters)
{
	struct bc_config *cfg = build_ok(BASE);
	ck_assert_str_eq(bc_config_str(cfg, "name"), "s3-main");
	ck_assert_str_eq(bc_config_str(cfg, "bucket"), "media");
	ck_assert_str_eq(bc_config_str(cfg, "region"), "us-east-1");
	ck_assert_int_eq(bc_config_int(cfg, "retries"), 3);
	ck_assert_int_eq(bc_config_bool(cfg, "verbose"), 0);
	ck_assert_int_eq(bc_config_is_set(cfg, "verbose"), 1);
	ck_assert_int_eq(bc_config_int(cfg, "timeout"), 30000);
	ck_assert_int_eq(bc_config_int(cfg, "max_body"), 1024 * 1024);
	ck_assert_uint_eq(bc_config_list_len(cfg, "hosts"), 2);
	ck_assert_str_eq(bc_config_list_at(cfg, "hosts", 1), "b.example");
	ck_assert_ptr_null(bc_config_list_at(cfg, "hosts", 2));
	ck_assert_str_eq(bc_config_str(cfg, "hosts"), "a.example");
	ck_assert_str_eq(bc_config_str(cfg, "mode"), "safe");
	ck_assert_int_eq(bc_config_bool(cfg, "tls.verify"), 1);
	ck_assert_str_eq(bc_config_str(cfg, "tls.client.key"), "/k.pem");
	ck_assert_int_eq(bc_config_is_set(cfg, "tls.cert"), 0);
	ck_assert_ptr_null(bc_config_str(cfg, "tls.cert"));
	ck_assert_int_eq(bc_config_is_set(cfg, "pin"), 0);
	ck_assert_int_eq(bc_config_int(cfg, "pin"), 0);
	ck_assert_uint_eq(bc_config_list_len(cfg, "tokens"), 0);
	/* undeclared keys: NULL/0 (and an error log line) */
	ck_assert_ptr_null(bc_config_str(cfg, "nope"));
	ck_assert_int_eq(bc_config_int(cfg, "nope"), 0);
	ck_assert_int_eq(bc_config_bool(cfg, "nope"), 0);
	ck_assert_int_eq(bc_config_is_set(cfg, "nope"), 0);
	ck_assert_uint_eq(bc_config_list_len(cfg, "nope"), 0);
	ck_assert_ptr_null(bc_config_list_at(cfg, "nope", 0));
	bc_config_free(cfg);
}
END_TEST

START_TEST(values)
{
	struct bc_config *cfg = build_ok(BASE0 "retries: 10\nverbose: On\ntimeout: 1500ms\n"
	                                      "max_body: 64k\nhosts: single.example\nmode: fast\n"
	                                      "tls:\n  cert: /c.pem\n  verify: no\n  client:\n"
	                                      "    key: /k2.pem\n");
	ck_assert_int_eq(bc_config_int(cfg, "retries"), 10);
	ck_assert_int_eq(bc_config_bool(cfg, "verbose"), 1);
	ck_assert_int_eq(bc_config_int(cfg, "timeout"), 1500);
	ck_assert_int_eq(bc_config_int(cfg, "max_body"), 65536);
	ck_assert_uint_eq(bc_config_list_len(cfg, "hosts"), 1);
	ck_assert_str_eq(bc_config_list_at(cfg, "hosts", 0), "single.example");
	ck_assert_str_eq(bc_config_str(cfg, "mode"), "fast");
	ck_assert_str_eq(bc_config_str(cfg, "tls.cert"), "/c.pem");
	ck_assert_int_eq(bc_config_bool(cfg, "tls.verify"), 0);
	ck_assert_str_eq(bc_config_str(cfg, "tls.client.key"), "/k2.pem");
	bc_config_free(cfg);
}
END_TEST

START_TEST(unknown_keys)
{
	ASSERT_ERR(BASE "bukket: x\n",
	           "t.yaml:5:1: " OWNER ": unknown option 'bukket'; did you mean 'bucket'? valid "
	           "options: bucket, region, retries, verbose, timeout, max_body, hosts, mode, "
	           "secret_key, pin, tokens, tls, name, type");
	ASSERT_ERR_PREFIX(BASE "zzzzzzzz: x\n", "t.yaml:5:1: " OWNER ": unknown option 'zzzzzzzz'; "
	                  "valid options: bucket,");
	char *e = build_err(BASE "zzzzzzzz: x\n");
	ck_assert_ptr_null(strstr(e, "did you mean"));
	free(e);
	/* unknown keys inside a nested map, named with their dotted path */
	ASSERT_ERR(BASE0 "tls:\n  client: {key: k}\n  cerd: x\n",
	           "t.yaml:6:3: " OWNER ": unknown option 'tls.cerd'; did you mean 'cert'? valid "
	           "options under tls.: cert, verify, client");
	ASSERT_ERR_PREFIX(BASE0 "tls: {client: {key: k, pass: y}}\n",
	                  "t.yaml:4:24: " OWNER ": unknown option 'tls.client.pass';");
}
END_TEST

START_TEST(wrong_types)
{
	ASSERT_ERR(BASE "region: {a: 1}\n",
	           "t.yaml:5:9: " OWNER ": option 'region' must be a single string value, not a map");
	ASSERT_ERR(BASE "region: [a]\n",
	           "t.yaml:5:9: " OWNER ": option 'region' must be a single string value, not a list");
	ASSERT_ERR(BASE "retries: 2x\n",
	           "t.yaml:5:10: " OWNER ": option 'retries': '2x' is not an integer");
	ASSERT_ERR(BASE "retries: 99999999999999999999\n",
	           "t.yaml:5:10: " OWNER ": option 'retries': '99999999999999999999' is not an "
	           "integer");
	ASSERT_ERR(BASE "verbose: maybe\n",
	           "t.yaml:5:10: " OWNER ": option 'verbose': 'maybe' is not a boolean; write true "
	           "or false");
	ASSERT_ERR_PREFIX(BASE "timeout: 5 min\n",
	                  "t.yaml:5:10: " OWNER ": option 'timeout': '5 min' is not a duration;");
	ASSERT_ERR_PREFIX(BASE "max_body: 10Q\n",
	                  "t.yaml:5:11: " OWNER ": option 'max_body': '10Q' is not a size;");
	ASSERT_ERR(BASE "mode: slow\n",
	           "t.yaml:5:7: " OWNER ": option 'mode': 'slow' is not one of: fast, safe");
	ASSERT_ERR(BASE "hosts: {a: b}\n",
	           "t.yaml:5:8: " OWNER ": option 'hosts' must be a list, e.g. [a, b]");
	ASSERT_ERR(BASE "hosts:\n  - a\n  - [b]\n",
	           "t.yaml:7:5: " OWNER ": option 'hosts': list items must be single values");
	ASSERT_ERR_PREFIX(BASE0 "tls: x\n", "t.yaml:4:1: " OWNER ": unknown option 'tls'; ");
}
END_TEST

START_TEST(ranges)
{
	struct bc_config *cfg = build_ok(BASE "retries: 0\ntimeout: 10m\n");
	ck_assert_int_eq(bc_config_int(cfg, "retries"), 0);
	ck_assert_int_eq(bc_config_int(cfg, "timeout"), 600000);
	bc_config_free(cfg);
	ASSERT_ERR(BASE "retries: 11\n",
	           "t.yaml:5:10: " OWNER ": option 'retries': '11' is out of range; use "
	           "0 to 10");
	ASSERT_ERR(BASE "retries: -1\n",
	           "t.yaml:5:10: " OWNER ": option 'retries': '-1' is out of range; use "
	           "0 to 10");
	ASSERT_ERR(BASE "timeout: 999ms\n",
	           "t.yaml:5:10: " OWNER ": option 'timeout': '999ms' is out of range; use "
	           "1000ms to 600000ms");
	ASSERT_ERR(BASE "timeout: 11m\n",
	           "t.yaml:5:10: " OWNER ": option 'timeout': '11m' is out of range; use "
	           "1000ms to 600000ms");
}
END_TEST

START_TEST(required)
{
	ASSERT_ERR("name: a\ntype: s3\ntls: {client: {key: k}}\n",
	           "t.yaml:1:1: " OWNER ": missing required option 'bucket' (the S3 bucket name); "
	           "add `bucket: ...`");
	ASSERT_ERR("  name: a\n  type: s3\n  bucket: b\n",
	           "t.yaml:1:3: " OWNER ": missing required option 'tls.client.key' (no "
	           "description); add `tls.client.key: ...`");
	ASSERT_ERR("name: a\nbucket: b\ntls: {client: {key: k}}\n",
	           "t.yaml:1:1: " OWNER ": missing required option 'type' (no description); add `type: ...`");
	/* the map node's own position (a nested instance map) */
	struct bc_config *cfg = NULL;
	char *err = NULL, *lerr = NULL;
	const char *text = "providers:\n  - name: a\n    type: s3\n";
	bc_doc_free(doc);
	doc = NULL;
	ck_assert_int_eq(bc_doc_load_string("t.yaml", text, strlen(text), &doc, &lerr), 0);
	const struct bc_node *m = bc_node_get(doc->root, "providers")->items[0];
	ck_assert_int_eq(bc_config_build(doc, m, OWNER, opts, common, &cfg, &err), BC_E_INVALID);
	ck_assert_str_eq(err, "t.yaml:2:5: " OWNER ": missing required option 'bucket' (the S3 "
	                 "bucket name); add `bucket: ...`");
	free(err);
	/* a scalar where a map of options is wanted */
	ck_assert_int_eq(bc_config_build(doc, m->items[0], OWNER, opts, common, &cfg, &err), BC_E_INVALID);
	ck_assert_str_eq(err, "t.yaml:2:11: " OWNER ": expected a map of options");
	free(err);
	/* NULL option arrays: only an empty map is valid */
	ck_assert_int_eq(bc_config_build(doc, m, OWNER, NULL, NULL, &cfg, &err), BC_E_INVALID);
	ck_assert_str_eq(err, "t.yaml:2:5: " OWNER ": unknown option 'name'; valid options: ");
	free(err);
}
END_TEST

START_TEST(secrets_never_shown)
{
	/* build_err asserts SECRET_VALUE is absent from every message */
	char *e = build_err(BASE "pin: " SECRET_VALUE "\n");
	ck_assert_str_eq(e, "t.yaml:5:6: " OWNER ": option 'pin': the value is not an "
	                 "integer");
	free(e);
	e = build_err(BASE "secret_key: {a: " SECRET_VALUE "}\n");
	free(e);
	e = build_err(BASE "secret_key: " SECRET_VALUE "\nbukket: 1\n");
	free(e);

	setenv("BC_T_SECRET", SECRET_VALUE, 1);
	struct bc_config *cfg = build_ok(BASE "secret_key: ${BC_T_SECRET}\n"
	                                      "tokens: [tok-one, '', tok-two]\n");
	ck_assert_str_eq(bc_config_str(cfg, "secret_key"), SECRET_VALUE);
	bc_config_free(cfg);

	char buf[8192] = "";
	FILE *f = fmemopen(buf, sizeof buf - 1, "w");
	ck_assert_ptr_nonnull(f);
	bc_options_describe(f, opts, common);
	fclose(f);
	ck_assert_ptr_null(strstr(buf, "default-secret-xyz"));
	ck_assert_ptr_nonnull(strstr(buf, "(secret)"));
}
END_TEST

static void collect(const char *secret, void *arg)
{
	char *acc = arg;
	strcat(acc, secret);
	strcat(acc, ";");
}

START_TEST(equal_and_secrets)
{
	struct bc_config *a = build_ok(BASE "tokens: [t1, '', t2]\n");
	struct bc_config *b = build_ok(BASE "tokens: [t1, '', t2]\n");
	struct bc_config *c = build_ok(BASE "tokens: [t1, '', t3]\n");
	struct bc_config *d = build_ok(BASE "region: us-east-1\ntokens: [t1, '', t2]\n");
	struct bc_config *e = build_ok(BASE "region: eu\ntokens: [t1, '', t2]\n");
	ck_assert_int_eq(bc_config_equal(a, b), 1);
	ck_assert_int_eq(bc_config_equal(a, c), 0);
	ck_assert_int_eq(bc_config_equal(a, d), 1); /* the default and the same value written */
	ck_assert_int_eq(bc_config_equal(a, e), 0);
	ck_assert_int_eq(bc_config_equal(a, NULL), 0);

	char acc[256] = "";
	bc_config_each_secret(a, collect, acc);
	ck_assert_str_eq(acc, "default-secret-xyz;t1;t2;");
	struct bc_config *g = build_ok(BASE "secret_key: ''\npin: 1234\n");
	acc[0] = '\0';
	bc_config_each_secret(g, collect, acc);
	ck_assert_str_eq(acc, "1234;");
	bc_config_free(a);
	bc_config_free(b);
	bc_config_free(c);
	bc_config_free(d);
	bc_config_free(e);
	bc_config_free(g);
}
END_TEST

START_TEST(durations)
{
	int64_t v;
	ck_assert_int_eq(bc_parse_duration_ms("250ms", &v), 0);
	ck_assert_int_eq(v, 250);
	ck_assert_int_eq(bc_parse_duration_ms("30s", &v), 0);
	ck_assert_int_eq(v, 30000);
	ck_assert_int_eq(bc_parse_duration_ms("5m", &v), 0);
	ck_assert_int_eq(v, 300000);
	ck_assert_int_eq(bc_parse_duration_ms("2h", &v), 0);
	ck_assert_int_eq(v, 7200000);
	ck_assert_int_eq(bc_parse_duration_ms("1d", &v), 0);
	ck_assert_int_eq(v, 86400000);
	ck_assert_int_eq(bc_parse_duration_ms("7", &v), 0);
	ck_assert_int_eq(v, 7000);
	ck_assert_int_eq(bc_parse_duration_ms("0", &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(bc_parse_duration_ms("9223372036854775ms", &v), 0);
	const char *bad[] = {"", "-1", "-5s", "s", "1x", "1.5s", "1sms", "1S",
	                     "9223372036854776s", "99999999999999999999", "106751991167301d",
	                     NULL};
	for (size_t i = 0; bad[i]; i++)
		ck_assert_msg(bc_parse_duration_ms(bad[i], &v) == -1, "accepted '%s'", bad[i]);
	ck_assert_int_eq(bc_parse_duration_ms(NULL, &v), -1);
}
END_TEST

START_TEST(sizes)
{
	int64_t v;
	ck_assert_int_eq(bc_parse_size("512", &v), 0);
	ck_assert_int_eq(v, 512);
	ck_assert_int_eq(bc_parse_size("64k", &v), 0);
	ck_assert_int_eq(v, 65536);
	ck_assert_int_eq(bc_parse_size("64K", &v), 0);
	ck_assert_int_eq(v, 65536);
	ck_assert_int_eq(bc_parse_size("10M", &v), 0);
	ck_assert_int_eq(v, 10485760);
	ck_assert_int_eq(bc_parse_size("1G", &v), 0);
	ck_assert_int_eq(v, 1073741824);
	ck_assert_int_eq(bc_parse_size("8589934591G", &v), 0);
	const char *bad[] = {"", "-1", "k", "1kb", "1.5M", "1X", "8589934592G",
	                     "9223372036854775808", NULL};
	for (size_t i = 0; bad[i]; i++)
		ck_assert_msg(bc_parse_size(bad[i], &v) == -1, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(describe)
{
	char buf[8192] = "";
	FILE *f = fmemopen(buf, sizeof buf - 1, "w");
	ck_assert_ptr_nonnull(f);
	bc_options_describe(f, opts, common);
	fclose(f);
	ck_assert_msg(strstr(buf, "options:\n  bucket                 string     required\n"
	                          "                         the S3 bucket name\n") == buf, "%s", buf);
	ck_assert_msg(strstr(buf, "\n  mode                   enum (fast, safe) optional, "
	                          "default safe\n") != NULL, "%s", buf);
	ck_assert_msg(strstr(buf, "\n  secret_key             string     optional, (secret)\n")
	              != NULL, "%s", buf);
	ck_assert_ptr_nonnull(strstr(buf, "\n\ncommon options"));
	ck_assert_ptr_nonnull(strstr(buf, "the instance name"));

	f = fmemopen(buf, sizeof buf - 1, "w");
	bc_options_describe(f, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "options:\n  (none)\n"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, walk_arrays);
	tcase_add_test(tc, defaults_and_getters);
	tcase_add_test(tc, values);
	tcase_add_test(tc, unknown_keys);
	tcase_add_test(tc, wrong_types);
	tcase_add_test(tc, ranges);
	tcase_add_test(tc, required);
	tcase_add_test(tc, secrets_never_shown);
	tcase_add_test(tc, equal_and_secrets);
	tcase_add_test(tc, durations);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, describe);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
