/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_config.c: a libFuzzer target for the configuration path:
 * framework/yamldoc.c (YAML text to a node tree, with ${VAR} interpolation)
 * and framework/options.c (one instance's map validated against declared
 * options into a struct bc_config).
 *
 * The input is the YAML text. When it loads, the target validates against
 * one option table of every type (with ranges, an enum, a secret, a required
 * option and defaults) plus a copy of the frontend common options:
 *   - the root, when it is a map;
 *   - every member of the root that is a map (like `store:`);
 *   - every map inside a sequence member (like `providers:`).
 * Each config that builds is read back through every getter, compared with
 * itself and its secrets are walked, as the daemon does on start and reload.
 * Duration and size parsing also runs over every scalar.
 *
 * A few environment variables are set once so ${VAR} and ${VAR:-default}
 * find both present and absent names.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bc_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *const fuzz_modes[] = { "federation", "assume-role", "static", NULL };

static const struct bc_option fuzz_options[] = {
	BC_OPTION(.name = "bucket", .type = BC_OPT_STRING, .flags = BC_OPT_REQUIRED,
	          .description = "a required string"),
	BC_OPTION(.name = "region", .type = BC_OPT_STRING, .default_value = "us-west-1",
	          .description = "a string with a default"),
	BC_OPTION(.name = "secret", .type = BC_OPT_STRING, .flags = BC_OPT_SECRET,
	          .description = "a secret string"),
	BC_OPTION(.name = "count", .type = BC_OPT_INT, .min = -5, .max = 1000000,
	          .default_value = "3", .description = "a bounded integer"),
	BC_OPTION(.name = "big", .type = BC_OPT_INT, .description = "an unbounded integer"),
	BC_OPTION(.name = "on", .type = BC_OPT_BOOL, .default_value = "false",
	          .description = "a boolean"),
	BC_OPTION(.name = "timeout", .type = BC_OPT_DURATION, .default_value = "5s", .min = 1,
	          .max = 86400000, .description = "a duration"),
	BC_OPTION(.name = "limit", .type = BC_OPT_SIZE, .default_value = "64k", .min = 1,
	          .max = (int64_t)1 << 40, .description = "a size"),
	BC_OPTION(.name = "types", .type = BC_OPT_LIST, .default_value = "[hls, rtmp]",
	          .description = "a list"),
	BC_OPTION(.name = "mode", .type = BC_OPT_ENUM, .enum_values = fuzz_modes,
	          .default_value = "federation", .description = "an enum"),
	BC_OPTION_END
};

/* The frontend common options of framework/instance.c, copied so this
 * target needs no loader or instance code. */
static const struct bc_option fuzz_common[] = {
	BC_OPTION(.name = "name", .type = BC_OPT_STRING, .description = "instance name"),
	BC_OPTION(.name = "type", .type = BC_OPT_STRING, .description = "plugin type"),
	BC_OPTION(.name = "tokens_file", .type = BC_OPT_STRING, .description = "tokens"),
	BC_OPTION(.name = "rate_limit", .type = BC_OPT_STRING, .description = "N/s"),
	BC_OPTION(.name = "rate_burst", .type = BC_OPT_INT, .min = 1, .max = 1000000,
	          .description = "burst"),
	BC_OPTION(.name = "max_body", .type = BC_OPT_SIZE, .default_value = "64k", .min = 1,
	          .max = 16 * 1024 * 1024, .description = "body limit"),
	BC_OPTION_END
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("BC_FUZZ_SET", "value", 1);
	setenv("BC_FUZZ_EMPTY", "", 1);
	setenv("BC_FUZZ_DOLLAR", "${BC_FUZZ_SET}", 1);
	unsetenv("BC_FUZZ_UNSET");
	/* Secrets are redacted from log lines; keep the log quiet but the
	 * redaction code still runs at error level. */
	bc_log_set_level(BC_LOG_ERROR);
	return 0;
}

static void fuzz_count_secret(const char *secret, void *arg)
{
	assert(secret != NULL && secret[0] != '\0');
	(*(size_t *)arg)++;
}

static void fuzz_read_back(const struct bc_config *cfg)
{
	size_t n_secrets = 0;
	int64_t v;

	for (const struct bc_option *o = bc_option_first(fuzz_options); o != NULL;
	     o = bc_option_next(o)) {
		int set = bc_config_is_set(cfg, o->name);

		switch (o->type) {
		case BC_OPT_STRING:
		case BC_OPT_ENUM: {
			const char *s = bc_config_str(cfg, o->name);
			if (s != NULL)
				(void)strlen(s);
			break;
		}
		case BC_OPT_INT:
		case BC_OPT_DURATION:
		case BC_OPT_SIZE:
			v = bc_config_int(cfg, o->name);
			/* A value that passed validation is inside its range. */
			if (set && o->min < o->max)
				assert(v >= o->min && v <= o->max);
			break;
		case BC_OPT_BOOL:
			(void)bc_config_bool(cfg, o->name);
			break;
		case BC_OPT_LIST: {
			size_t n = bc_config_list_len(cfg, o->name);
			for (size_t i = 0; i < n; i++)
				assert(bc_config_list_at(cfg, o->name, i) != NULL);
			assert(bc_config_list_at(cfg, o->name, n) == NULL);
			break;
		}
		}
	}
	assert(bc_config_str(cfg, "bucket") != NULL);
	(void)bc_config_str(cfg, "no-such-option");
	(void)bc_config_int(cfg, "max_body");
	assert(bc_config_equal(cfg, cfg) == 1);
	bc_config_each_secret(cfg, fuzz_count_secret, &n_secrets);
	assert(n_secrets <= 1);
}

static void fuzz_build(const struct bc_doc *doc, const struct bc_node *map)
{
	struct bc_config *cfg = NULL;
	char *errmsg = NULL;

	if (map == NULL || map->kind != BC_NODE_MAP)
		return;
	if (bc_config_build(doc, map, "provider fuzz (type fuzz)", fuzz_options, fuzz_common,
	                    &cfg, &errmsg) == 0) {
		assert(cfg != NULL);
		fuzz_read_back(cfg);
	} else {
		/* Every refusal says where and why. */
		assert(errmsg != NULL && errmsg[0] != '\0');
	}
	free(errmsg);
	bc_config_free(cfg);
}

static void fuzz_scalars(const struct bc_doc *doc, const struct bc_node *n, int depth)
{
	int64_t v;

	if (n == NULL || depth > 64)
		return;
	if (n->kind == BC_NODE_SCALAR) {
		assert(n->value != NULL);
		(void)bc_parse_duration_ms(n->value, &v);
		(void)bc_parse_size(n->value, &v);
		return;
	}
	for (size_t i = 0; i < n->n_items; i++)
		fuzz_scalars(doc, n->items[i], depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bc_doc *doc = NULL;
	char *errmsg = NULL;
	char *at = NULL;
	const struct bc_node *root;

	/* Configuration files are small; yamldoc.c caps files at a few MiB
	 * anyway, and a huge input only slows the search. */
	if (size > 64 * 1024)
		return 0;
	if (bc_doc_load_string("fuzz.yaml", (const char *)data, size, &doc, &errmsg) != 0) {
		assert(doc == NULL);
		assert(errmsg != NULL);
		goto out;
	}
	root = doc->root;
	assert(root != NULL);
	fuzz_scalars(doc, root, 0);
	at = bc_doc_error_at(doc, root, "fuzz %s", "message");
	assert(at != NULL);
	fuzz_build(doc, root);
	if (root->kind == BC_NODE_MAP) {
		(void)bc_node_get(root, "providers");
		for (size_t i = 0; i < root->n_items; i++) {
			const struct bc_node *m = root->items[i];

			assert(m->key != NULL);
			free(at);
			at = bc_doc_error_at_key(doc, m, "unknown key %s", m->key);
			fuzz_build(doc, m);
			if (m->kind == BC_NODE_SEQ) {
				for (size_t j = 0; j < m->n_items && j < 16; j++)
					fuzz_build(doc, m->items[j]);
			}
		}
	}
out:
	free(at);
	free(errmsg);
	bc_doc_free(doc);
	return 0;
}
