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
	ck_assert_int_eq(build(text, &cfg, &err), -1);
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
	};
	struct old_option old[3] = {
		{sizeof(struct old_option), "a", BC_OPT_STRING},
		{sizeof(struct old_option), "b", BC_OPT_INT},
		{0, NULL, 0},
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
	           "t.yaml:5:1: " OWNER ": unknown option 'bukket'; valid options: bucket, region, "
	           "retries, verbose, timeout, max_body, hosts, mode, secret_key, pin, tokens, "
	           "tls.cert, tls.verify, tls.client.key, name, type; did you mean 'bucket'?");
	ASSERT_ERR_PREFIX(BASE "zzzzzzzz: x\n", "t.yaml:5:1: " OWNER ": unknown option 'zzzzzzzz'; "
	                  "valid options: bucket,");
	char *e = build_err(BASE "zzzzzzzz: x\n");
	ck_assert_ptr_null(strstr(e, "did you mean"));
	free(e);
	/* unknown keys inside a nested map, named with their dotted path */
	ASSERT_ERR_PREFIX(BASE0 "tls:\n  client: {key: k}\n  cerd: x\n",
	                  "t.yaml:6:3: " OWNER ": unknown option 'tls.cerd'; valid options:");
	e = build_err(BASE0 "tls:\n  client: {key: k}\n  cerd: x\n");
	ck_assert_ptr_nonnull(strstr(e, "did you mean 'tls.cert'?"));
	free(e);
	ASSERT_ERR_PREFIX(BASE0 "tls: {client: {key: k, pass: y}}\n",
	                  "t.yaml:4:24: " OWNER ": unknown option 'tls.client.pass';");
}
END_TEST

START_TEST(wrong_types)
{
	ASSERT_ERR(BASE "bucket2: 1\nregion: {a: 1}\n",
	           "t.yaml:5:1: " OWNER ": unknown option 'bucket2'; valid options: bucket, region, "
	           "retries, verbose, timeout, max_body, hosts, mode, secret_key, pin, tokens, "
	           "tls.cert, tls.verify, tls.client.key, name, type; did you mean 'bucket'?");
	ASSERT_ERR(BASE "region: {a: 1}\n",
	           "t.yaml:5:9: " OWNER ": option 'region' takes a single string value, not a map");
	ASSERT_ERR(BASE "region: [a]\n",
	           "t.yaml:5:9: " OWNER ": option 'region' takes a single string value, not a list");
	ASSERT_ERR(BASE "retries: 2x\n",
	           "t.yaml:5:10: " OWNER ": option 'retries': '2x' is not an integer; write a whole "
	           "number such as 10");
	ASSERT_ERR(BASE "retries: 99999999999999999999\n",
	           "t.yaml:5:10: " OWNER ": option 'retries': '99999999999999999999' is not an "
	           "integer; write a whole number such as 10");
	ASSERT_ERR(BASE "verbose: maybe\n",
	           "t.yaml:5:10: " OWNER ": option 'verbose': 'maybe' is not a boolean; write true "
	           "or false");
	ASSERT_ERR_PREFIX(BASE "timeout: 5 min\n",
	                  "t.yaml:5:10: " OWNER ": option 'timeout': '5 min' is not a duration;");
	ASSERT_ERR_PREFIX(BASE "max_body: 10Q\n",
	                  "t.yaml:5:11: " OWNER ": option 'max_body': '10Q' is not a size;");
	ASSERT_ERR(BASE "mode: slow\n",
	           "t.yaml:5:7: " OWNER ": option 'mode': 'slow' is not one of the choices; use one "
	           "of: fast, safe");
	ASSERT_ERR(BASE "hosts: {a: b}\n",
	           "t.yaml:5:8: " OWNER ": option 'hosts' is a list; write `hosts: [A, B]` or one "
	           "value, not a map");
	ASSERT_ERR(BASE "hosts:\n  - a\n  - [b]\n",
	           "t.yaml:7:5: " OWNER ": option 'hosts' is a list of single values; an item "
	           "cannot be a list");
	ASSERT_ERR(BASE0 "tls: x\n",
	           "t.yaml:4:1: " OWNER ": unknown option 'tls'; valid options: bucket, region, "
	           "retries, verbose, timeout, max_body, hosts, mode, secret_key, pin, tokens, "
	           "tls.cert, tls.verify, tls.client.key, name, type");
	ASSERT_ERR(BASE "[1]\n", "");
}
END_TEST
