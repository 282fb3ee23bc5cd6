/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_yamldoc.c: Check suite for framework/yamldoc.c, the YAML loader that
 * remembers positions and interpolates ${VAR} from the environment.
 *
 * Documents are loaded from strings (named "t.yaml" in messages) and from the
 * fixture file tests/fixtures/config/basic.yaml; every error path asserts the
 * exact "FILE:LINE:COLUMN: ..." message start.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bc_internal.h"

static struct bc_doc *load_ok(const char *text)
{
	struct bc_doc *doc = NULL;
	char *err = NULL;
	int rc = bc_doc_load_string("t.yaml", text, strlen(text), &doc, &err);
	ck_assert_msg(rc == 0, "load failed: %s", err ? err : "(null)");
	ck_assert_ptr_null(err);
	ck_assert_ptr_nonnull(doc);
	ck_assert_ptr_nonnull(doc->root);
	return doc;
}

/* Load text expecting failure; returns the message (caller frees). */
static char *load_err(const char *text)
{
	struct bc_doc *doc = NULL;
	char *err = NULL;
	int rc = bc_doc_load_string("t.yaml", text, strlen(text), &doc, &err);
	ck_assert_int_eq(rc, BC_E_INVALID);
	ck_assert_ptr_null(doc);
	ck_assert_ptr_nonnull(err);
	return err;
}

#define ASSERT_ERR(text, expected)                                                        \
	do {                                                                                  \
		char *e_ = load_err(text);                                                        \
		ck_assert_msg(strncmp(e_, expected, strlen(expected)) == 0,                       \
		              "got '%s', want prefix '%s'", e_, expected);                        \
		free(e_);                                                                         \
	} while (0)

START_TEST(positions)
{
	struct bc_doc *doc = load_ok("name: s3-main\n"
	                             "tls:\n"
	                             "  cert:   /x.pem\n"
	                             "list:\n"
	                             "  - a\n"
	                             "  - 'b'\n");
	const struct bc_node *r = doc->root, *n;
	ck_assert_int_eq(r->kind, BC_NODE_MAP);
	ck_assert_uint_eq(r->n_items, 3);
	n = bc_node_get(r, "name");
	ck_assert_str_eq(n->value, "s3-main");
	ck_assert_uint_eq(n->key_line, 1);
	ck_assert_uint_eq(n->key_column, 1);
	ck_assert_uint_eq(n->line, 1);
	ck_assert_uint_eq(n->column, 7);
	ck_assert(!n->quoted);
	n = bc_node_get(bc_node_get(r, "tls"), "cert");
	ck_assert_str_eq(n->value, "/x.pem");
	ck_assert_uint_eq(n->key_line, 3);
	ck_assert_uint_eq(n->key_column, 3);
	ck_assert_uint_eq(n->line, 3);
	ck_assert_uint_eq(n->column, 11);
	n = bc_node_get(r, "list");
	ck_assert_int_eq(n->kind, BC_NODE_SEQ);
	ck_assert_uint_eq(n->n_items, 2);
	ck_assert_str_eq(n->items[1]->value, "b");
	ck_assert(n->items[1]->quoted);
	ck_assert_uint_eq(n->items[1]->line, 6);
	ck_assert_uint_eq(n->items[1]->column, 5);
	ck_assert_ptr_null(bc_node_get(r, "missing"));
	ck_assert_ptr_null(bc_node_get(n, "a")); /* not a map */

	char *m = bc_doc_error_at(doc, n->items[1], "bad %s", "thing");
	ck_assert_str_eq(m, "t.yaml:6:5: bad thing");
	free(m);
	m = bc_doc_error_at_key(doc, n, "unknown %d", 7);
	ck_assert_str_eq(m, "t.yaml:4:1: unknown 7");
	free(m);
	bc_doc_free(doc);
}
END_TEST

START_TEST(empty_document)
{
	struct bc_doc *doc = load_ok("");
	ck_assert_int_eq(doc->root->kind, BC_NODE_MAP);
	ck_assert_uint_eq(doc->root->n_items, 0);
	bc_doc_free(doc);
	doc = load_ok("# only a comment\n");
	ck_assert_int_eq(doc->root->kind, BC_NODE_MAP);
	bc_doc_free(doc);
}
END_TEST

START_TEST(file_fixture)
{
	char path[1024];
	const char *src = getenv("BC_SRCDIR");
	struct bc_doc *doc = NULL;
	char *err = NULL;
	snprintf(path, sizeof path, "%s/tests/fixtures/config/basic.yaml", src ? src : SRCDIR_FALLBACK);
	ck_assert_msg(bc_doc_load_file(path, &doc, &err) == 0, "%s", err ? err : "");
	ck_assert_str_eq(doc->path, path);
	ck_assert_str_eq(bc_node_get(doc->root, "type")->value, "s3");
	const struct bc_node *b = bc_node_get(bc_node_get(doc->root, "nested"), "b");
	ck_assert_uint_eq(b->n_items, 2);
	ck_assert_uint_eq(b->line, 5);
	ck_assert_uint_eq(b->column, 6);
	bc_doc_free(doc);

	ck_assert_int_eq(bc_doc_load_file("/nonexistent/x.yaml", &doc, &err), BC_E_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/x.yaml: cannot read"));
	free(err);
}
END_TEST

START_TEST(duplicate_keys)
{
	ASSERT_ERR("a: 1\nb: 2\na: 3\n", "t.yaml:3:1: key 'a' given twice (first at line 1); remove one");
	ASSERT_ERR("m:\n  x: 1\n  x: 2\n", "t.yaml:3:3: key 'x' given twice (first at line 2); remove one");
	/* the same key in different maps is fine */
	struct bc_doc *doc = load_ok("a: {x: 1}\nb: {x: 2}\n");
	bc_doc_free(doc);
}
END_TEST

START_TEST(syntax_errors)
{
	char *e = load_err("a: [1, 2\nb: 3\n");
	ck_assert_msg(strncmp(e, "t.yaml:", 7) == 0, "%s", e);
	ck_assert_ptr_nonnull(strstr(e, "invalid YAML"));
	free(e);
	ASSERT_ERR("a: 1\n\tb: 2\n", "t.yaml:2:1: invalid YAML:");
	ASSERT_ERR("a: 'open\n", "t.yaml:2:1: invalid YAML: found unexpected end of stream");
	ASSERT_ERR("a: 1\n b: 2\n", "t.yaml:2:3: invalid YAML: mapping values are not allowed");
	ASSERT_ERR("a: 1\n---\nb: 2\n", "t.yaml:2:1: a second YAML document");
}
END_TEST

START_TEST(unsupported)
{
	ASSERT_ERR("a: &x 1\nb: *x\n", "t.yaml:1:4: anchors (&name) are not supported");
	ASSERT_ERR("a: 1\nb: *x\n", "t.yaml:2:4:");
	ASSERT_ERR("a: !!int 1\n", "t.yaml:1:4: tags (!!type) are not supported");
	ASSERT_ERR("a: !!map {x: 1}\n", "t.yaml:1:4: tags (!!type) are not supported");
	ASSERT_ERR("? [a, b]\n: 1\n", "t.yaml:1:3: a key must be a plain word, not a list");
}
END_TEST

START_TEST(interpolation)
{
	setenv("BC_T_HOST", "example.org", 1);
	setenv("BC_T_EMPTY", "", 1);
	unsetenv("BC_T_UNSET");
	struct bc_doc *doc = load_ok("a: ${BC_T_HOST}\n"
	                             "b: x${BC_T_HOST}y\n"
	                             "c: ${BC_T_UNSET:-fallback}\n"
	                             "d: ${BC_T_UNSET:-}\n"
	                             "e: cost $$5\n"
	                             "f: \"q ${BC_T_HOST}\"\n"
	                             "g: '${BC_T_UNSET:-s q}'\n"
	                             "h: ${BC_T_HOST:-other}\n"
	                             "i: ${BC_T_EMPTY}\n"
	                             "j: ${BC_T_EMPTY:-dflt}\n"
	                             "k: a$b\n"
	                             "${BC_T_HOST}: keys are not interpolated\n"
	                             "l:\n  - ${BC_T_HOST}\n  - '$$'\n");
	const struct bc_node *r = doc->root;
	ck_assert_str_eq(bc_node_get(r, "a")->value, "example.org");
	ck_assert_str_eq(bc_node_get(r, "b")->value, "xexample.orgy");
	ck_assert_str_eq(bc_node_get(r, "c")->value, "fallback");
	ck_assert_str_eq(bc_node_get(r, "d")->value, "");
	ck_assert_str_eq(bc_node_get(r, "e")->value, "cost $5");
	ck_assert_str_eq(bc_node_get(r, "f")->value, "q example.org");
	ck_assert(bc_node_get(r, "f")->quoted);
	ck_assert_str_eq(bc_node_get(r, "g")->value, "s q");
	ck_assert(bc_node_get(r, "g")->quoted);
	ck_assert_str_eq(bc_node_get(r, "h")->value, "example.org");
	ck_assert_str_eq(bc_node_get(r, "i")->value, "");
	ck_assert_str_eq(bc_node_get(r, "j")->value, "dflt");
	ck_assert_str_eq(bc_node_get(r, "k")->value, "a$b");
	ck_assert_ptr_nonnull(bc_node_get(r, "${BC_T_HOST}"));
	ck_assert_str_eq(bc_node_get(r, "l")->items[0]->value, "example.org");
	ck_assert_str_eq(bc_node_get(r, "l")->items[1]->value, "$");
	bc_doc_free(doc);
}
END_TEST

START_TEST(interpolation_errors)
{
	unsetenv("DJ_X");
	ASSERT_ERR("a: 1\nb:  ${DJ_X}\n",
	           "t.yaml:2:5: environment variable DJ_X is not set; export it or write "
	           "${DJ_X:-default}");
	ASSERT_ERR("a: \"x ${DJ_X}\"\n", "t.yaml:1:4: environment variable DJ_X is not set");
	ASSERT_ERR("a: ${DJ_X\n", "t.yaml:1:4: unterminated ${ in a value");
	ASSERT_ERR("a: ${}\n", "t.yaml:1:4: '${}' is not a variable reference");
	ASSERT_ERR("a: ${1X}\n", "t.yaml:1:4: '${1X}' is not a variable reference");
	ASSERT_ERR("a: ${A-B}\n", "t.yaml:1:4: '${A-B}' is not a variable reference");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("yamldoc");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, positions);
	tcase_add_test(tc, empty_document);
	tcase_add_test(tc, file_fixture);
	tcase_add_test(tc, duplicate_keys);
	tcase_add_test(tc, syntax_errors);
	tcase_add_test(tc, unsupported);
	tcase_add_test(tc, interpolation);
	tcase_add_test(tc, interpolation_errors);
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
