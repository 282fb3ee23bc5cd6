/* SPDX-License-Identifier: Apache-2.0 */
/*
 * options.c: one instance's YAML map checked against the options its plugin
 * declared (struct bc_option) plus the host's common ones, and the
 * read-only struct bc_config view plugins read through the cfg_* getters.
 *
 * Nested YAML maps are addressed with dotted names: an option "tls.cert" is
 * written `tls: {cert: x}`. Every error names file:line:column and the fix;
 * values of options marked secret are never quoted. Parsing of the YAML
 * itself is yamldoc.c's.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bc_internal.h"

struct cfg_opt {
	struct bc_option decl; /* zero-extended copy of the declaration */
	int is_set;            /* by the YAML or a default */
	char *str;             /* the text (first item for lists) */
	int64_t num;           /* INT, DURATION (ms), SIZE (bytes) */
	int flag;              /* BOOL */
	char **list;
	size_t n_list;
};

struct bc_config {
	char *owner;
	struct cfg_opt *opts;
	size_t n;
};

const struct bc_option *bc_option_first(const struct bc_option *array)
{
	if (array == NULL || array->struct_size == 0)
		return NULL;
	return array;
}

const struct bc_option *bc_option_next(const struct bc_option *opt)
{
	const struct bc_option *next;
	if (opt == NULL || opt->struct_size == 0)
		return NULL;
	next = (const struct bc_option *)((const char *)opt + opt->struct_size);
	return next->struct_size == 0 ? NULL : next;
}

/* A declaration read safely whatever struct_size the plugin compiled. */
static void decl_copy(struct bc_option *dst, const struct bc_option *src)
{
	memset(dst, 0, sizeof *dst);
	memcpy(dst, src, src->struct_size < sizeof *dst ? src->struct_size : sizeof *dst);
	dst->struct_size = sizeof *dst;
}

/* ---- value parsing ------------------------------------------------------ */

static int parse_scaled(const char *text, int64_t *out, const char *const *units,
                        const int64_t *factors, int64_t bare_factor)
{
	char *end = NULL;
	long long v;
	if (text == NULL)
		return -1;
	while (isspace((unsigned char)*text))
		text++;
	if (*text == '\0' || *text == '-' || *text == '+')
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || end == text || v < 0)
		return -1;
	while (*end == ' ')
		end++;
	int64_t factor = bare_factor;
	if (*end != '\0') {
		size_t i;
		for (i = 0; units[i] != NULL; i++)
			if (strcmp(end, units[i]) == 0)
				break;
		if (units[i] == NULL)
			return -1;
		factor = factors[i];
	}
	if (v > INT64_MAX / factor)
		return -1;
	*out = (int64_t)v * factor;
	return 0;
}

int bc_parse_duration_ms(const char *text, int64_t *out)
{
	static const char *const units[] = { "ms", "s", "m", "h", "d", NULL };
	static const int64_t factors[] = { 1, 1000, 60000, 3600000, 86400000 };
	return parse_scaled(text, out, units, factors, 1000);
}

int bc_parse_size(const char *text, int64_t *out)
{
	static const char *const units[] = { "k", "K", "M", "G", "KiB", "MiB", "GiB", NULL };
	static const int64_t factors[] = { 1024, 1024, 1024 * 1024, 1024 * 1024 * 1024,
		                           1024, 1024 * 1024, 1024 * 1024 * 1024 };
	return parse_scaled(text, out, units, factors, 1);
}

static int parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1", NULL };
	static const char *const no[] = { "false", "no", "off", "0", NULL };
	for (size_t i = 0; yes[i]; i++)
		if (strcasecmp(v, yes[i]) == 0)
			return *out = 1, 0;
	for (size_t i = 0; no[i]; i++)
		if (strcasecmp(v, no[i]) == 0)
			return *out = 0, 0;
	return -1;
}

static const char *type_name(enum bc_opt_type t)
{
	switch (t) {
	case BC_OPT_STRING: return "string";
	case BC_OPT_INT: return "integer";
	case BC_OPT_BOOL: return "boolean";
	case BC_OPT_DURATION: return "duration";
	case BC_OPT_SIZE: return "size";
	case BC_OPT_LIST: return "list";
	case BC_OPT_ENUM: return "enum";
	}
	return "unknown";
}

static void enum_choices(const struct bc_option *d, char *out, size_t size)
{
	out[0] = '\0';
	for (size_t i = 0; d->enum_values && d->enum_values[i]; i++) {
		if (i)
			strncat(out, ", ", size - strlen(out) - 1);
		strncat(out, d->enum_values[i], size - strlen(out) - 1);
	}
}

static void format_limit(const struct bc_option *d, int64_t v, char *out, size_t size)
{
	if (d->type == BC_OPT_DURATION)
		snprintf(out, size, "%" PRId64 "ms", v);
	else if (d->type == BC_OPT_SIZE)
		snprintf(out, size, "%" PRId64 " bytes", v);
	else
		snprintf(out, size, "%" PRId64, v);
}

static int is_blank(const char *text)
{
	while (isspace((unsigned char)*text))
		text++;
	return *text == '\0';
}

/* Set one option from scalar text. NULL on success, else a malloc'd
 * message without location (the caller adds it). */
static char *set_scalar(struct cfg_opt *o, const char *text)
{
	const struct bc_option *d = &o->decl;
	int secret = (d->flags & BC_OPT_SECRET) != 0;
	char shown[80];
	char *copy;

	/* Quote the offending value in messages, except a secret's. */
	if (secret)
		snprintf(shown, sizeof shown, "the value");
	else
		snprintf(shown, sizeof shown, "'%.60s'", text);

	if ((d->flags & BC_OPT_NONEMPTY) && is_blank(text))
		return bc_strdup_printf("option '%s' may not be empty (%s); %s", d->name,
		                        d->description ? d->description : "no description",
		                        d->flags & BC_OPT_REQUIRED ? "give it a value"
		                        : "give it a value or remove the line");
	switch (d->type) {
	case BC_OPT_INT: {
		char *end = NULL;
		long long v;
		errno = 0;
		v = strtoll(text, &end, 10);
		if (errno != 0 || end == text || *end != '\0')
			return bc_strdup_printf("option '%s': %s is not an integer", d->name, shown);
		o->num = v;
		break;
	}
	case BC_OPT_BOOL:
		if (parse_bool(text, &o->flag) != 0)
			return bc_strdup_printf("option '%s': %s is not a boolean; write true or false",
			                        d->name, shown);
		break;
	case BC_OPT_DURATION:
		if (bc_parse_duration_ms(text, &o->num) != 0)
			return bc_strdup_printf("option '%s': %s is not a duration; write e.g. 250ms, "
			                        "30s, 5m, 2h, 1d (a bare number is seconds)", d->name,
			                        shown);
		break;
	case BC_OPT_SIZE:
		if (bc_parse_size(text, &o->num) != 0)
			return bc_strdup_printf("option '%s': %s is not a size; write e.g. 512, 64k, "
			                        "10M, 1G", d->name, shown);
		break;
	case BC_OPT_ENUM: {
		int ok = 0;
		for (size_t i = 0; d->enum_values && d->enum_values[i] && !ok; i++)
			ok = strcmp(d->enum_values[i], text) == 0;
		if (!ok) {
			char choices[512];
			enum_choices(d, choices, sizeof choices);
			return bc_strdup_printf("option '%s': %s is not one of: %s", d->name, shown,
			                        choices);
		}
		break;
	}
	case BC_OPT_STRING:
	case BC_OPT_LIST:
		break;
	}
	if ((d->type == BC_OPT_INT || d->type == BC_OPT_DURATION || d->type == BC_OPT_SIZE) &&
	    d->min < d->max && (o->num < d->min || o->num > d->max)) {
		char lo[48], hi[48];
		format_limit(d, d->min, lo, sizeof lo);
		format_limit(d, d->max, hi, sizeof hi);
		return bc_strdup_printf("option '%s': %s is out of range; use %s to %s", d->name, shown,
		                        lo, hi);
	}
	copy = strdup(text);
	if (copy == NULL)
		return strdup("out of memory");
	free(o->str);
	o->str = copy;
	o->is_set = 1;
	return NULL;
}

static char *list_add(struct cfg_opt *o, const char *text)
{
	if ((o->decl.flags & BC_OPT_NONEMPTY) && is_blank(text))
		return bc_strdup_printf("option '%s' may not have an empty item", o->decl.name);
	char **v = realloc(o->list, (o->n_list + 1) * sizeof *v);
	if (v == NULL)
		return strdup("out of memory");
	o->list = v;
	if ((o->list[o->n_list] = strdup(text)) == NULL)
		return strdup("out of memory");
	o->n_list++;
	o->is_set = 1;
	if (o->str == NULL && (o->str = strdup(text)) == NULL)
		return strdup("out of memory");
	return NULL;
}

/* A LIST default is YAML text: "[a, b]" is a flow sequence of two items,
 * anything else one item (as the same text in the YAML would be). */
static char *list_default(struct cfg_opt *o)
{
	const char *d = o->decl.default_value;
	struct bc_doc *doc = NULL;
	char *err = NULL, *why = NULL;
	if (d[0] != '[')
		return list_add(o, d);
	if (bc_doc_load_string("(default)", d, strlen(d), &doc, &err) != 0) {
		free(err);
		return strdup("not a YAML list");
	}
	if (doc->root->kind != BC_NODE_SEQ) {
		why = strdup("not a YAML list");
		goto done;
	}
	o->is_set = 1; /* "[]" is a set, empty list */
	for (size_t i = 0; i < doc->root->n_items && why == NULL; i++) {
		if (doc->root->items[i]->kind != BC_NODE_SCALAR)
			why = strdup("list items must be single values");
		else
			why = list_add(o, doc->root->items[i]->value);
	}
done:
	bc_doc_free(doc);
	return why;
}

/* ---- building ------------------------------------------------------------ */

static void opt_clear(struct cfg_opt *o)
{
	for (size_t i = 0; i < o->n_list; i++)
		free(o->list[i]);
	free(o->list);
	free(o->str);
	o->list = NULL;
	o->n_list = 0;
	o->str = NULL;
}

void bc_config_free(struct bc_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->n; i++)
		opt_clear(&cfg->opts[i]);
	free(cfg->opts);
	free(cfg->owner);
	free(cfg);
}

static struct cfg_opt *find_opt(const struct bc_config *cfg, const char *name)
{
	for (size_t i = 0; cfg != NULL && i < cfg->n; i++)
		if (strcmp(cfg->opts[i].decl.name, name) == 0)
			return &cfg->opts[i];
	return NULL;
}

size_t bc_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[65], cur[65];
	if (la > 64 || lb > 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof *prev);
	}
	return prev[lb];
}

/* "bucket, region, ...": the options valid under `prefix` ("" or "tls."). */
static void valid_keys(const struct bc_config *cfg, const char *prefix, char *out, size_t size)
{
	size_t pl = strlen(prefix);
	out[0] = '\0';
	for (size_t i = 0; i < cfg->n; i++) {
		const char *name = cfg->opts[i].decl.name;
		if (strncmp(name, prefix, pl) != 0)
			continue;
		const char *rest = name + pl;
		size_t len = strcspn(rest, ".");
		char part[80];
		snprintf(part, sizeof part, "%.*s", (int)len, rest);
		/* list nested groups once */
		char *hit = strstr(out, part);
		if (hit && (hit == out || hit[-1] == ' ') && (hit[len] == ',' || hit[len] == '\0'))
			continue;
		if (out[0])
			strncat(out, ", ", size - strlen(out) - 1);
		strncat(out, part, size - strlen(out) - 1);
	}
}

static int has_group(const struct bc_config *cfg, const char *group)
{
	size_t gl = strlen(group);
	for (size_t i = 0; i < cfg->n; i++)
		if (strncmp(cfg->opts[i].decl.name, group, gl) == 0 && cfg->opts[i].decl.name[gl] == '.')
			return 1;
	return 0;
}

static int assign(const struct bc_doc *doc, struct bc_config *cfg, const struct bc_node *map,
                  const char *prefix, char **errmsg)
{
	for (size_t i = 0; i < map->n_items; i++) {
		const struct bc_node *it = map->items[i];
		char full[256];
		struct cfg_opt *o;
		char *why = NULL;

		snprintf(full, sizeof full, "%s%s", prefix, it->key);
		o = find_opt(cfg, full);
		if (o == NULL && it->kind == BC_NODE_MAP && has_group(cfg, full)) {
			char sub[260];
			snprintf(sub, sizeof sub, "%s.", full);
			if (assign(doc, cfg, it, sub, errmsg) != 0)
				return -1;
			continue;
		}
		if (o == NULL) {
			char keys[1024], hint[128] = "";
			valid_keys(cfg, prefix, keys, sizeof keys);
			for (size_t k = 0; k < cfg->n; k++) {
				const char *name = cfg->opts[k].decl.name;
				if (strncmp(name, prefix, strlen(prefix)) == 0 &&
				    bc_edit_distance(name + strlen(prefix), it->key) <= 2) {
					snprintf(hint, sizeof hint, "did you mean '%s'? ", name + strlen(prefix));
					break;
				}
			}
			*errmsg = bc_doc_error_at_key(doc, it, "%s: unknown option '%s'; %svalid "
			                              "options%s%s: %s", cfg->owner, full, hint,
			                              prefix[0] ? " under " : "", prefix, keys);
			return -1;
		}
		if (o->is_set) {
			*errmsg = bc_doc_error_at_key(doc, it, "%s: option '%s' given twice; remove one",
			                              cfg->owner, full);
			return -1;
		}
		if (o->decl.type == BC_OPT_LIST) {
			if (it->kind == BC_NODE_MAP) {
				why = bc_strdup_printf("option '%s' must be a list, e.g. [a, b]", full);
			} else if (it->kind == BC_NODE_SCALAR) {
				why = list_add(o, it->value);
			} else {
				o->is_set = 1; /* an empty list is a set, empty list */
				for (size_t k = 0; k < it->n_items && why == NULL; k++) {
					if (it->items[k]->kind != BC_NODE_SCALAR) {
						*errmsg = bc_doc_error_at(doc, it->items[k], "%s: option '%s': "
						                          "list items must be single values",
						                          cfg->owner, full);
						return -1;
					}
					why = list_add(o, it->items[k]->value);
				}
			}
		} else if (it->kind != BC_NODE_SCALAR) {
			why = bc_strdup_printf("option '%s' must be a single %s value, not a %s", full,
			                       type_name(o->decl.type),
			                       it->kind == BC_NODE_MAP ? "map" : "list");
		} else {
			why = set_scalar(o, it->value);
		}
		if (why != NULL) {
			*errmsg = bc_doc_error_at(doc, it, "%s: %s", cfg->owner, why);
			free(why);
			return -1;
		}
	}
	return 0;
}

static int add_decls(struct bc_config *cfg, const struct bc_option *opts)
{
	for (const struct bc_option *o = bc_option_first(opts); o; o = bc_option_next(o)) {
		struct bc_option d;
		decl_copy(&d, o);
		if (d.name == NULL || find_opt(cfg, d.name) != NULL)
			continue; /* the plugin's own declaration wins over a common one */
		struct cfg_opt *v = realloc(cfg->opts, (cfg->n + 1) * sizeof *v);
		if (v == NULL)
			return -1;
		cfg->opts = v;
		memset(&cfg->opts[cfg->n], 0, sizeof cfg->opts[cfg->n]);
		cfg->opts[cfg->n].decl = d;
		cfg->n++;
	}
	return 0;
}

enum bc_status bc_config_build(const struct bc_doc *doc, const struct bc_node *node,
                               const char *owner, const struct bc_option *plugin_opts,
                               const struct bc_option *common_opts, struct bc_config **out,
                               char **errmsg)
{
	struct bc_config *cfg = calloc(1, sizeof *cfg);
	*out = NULL;
	*errmsg = NULL;
	if (cfg == NULL || (cfg->owner = strdup(owner ? owner : "instance")) == NULL ||
	    add_decls(cfg, plugin_opts) != 0 || add_decls(cfg, common_opts) != 0) {
		bc_config_free(cfg);
		*errmsg = strdup("out of memory");
		return BC_E_NOMEM;
	}
	if (node == NULL || node->kind != BC_NODE_MAP) {
		*errmsg = bc_doc_error_at(doc, node, "%s: expected a map of options", cfg->owner);
		bc_config_free(cfg);
		return BC_E_INVALID;
	}
	if (assign(doc, cfg, node, "", errmsg) != 0) {
		bc_config_free(cfg);
		return BC_E_INVALID;
	}
	for (size_t i = 0; i < cfg->n; i++) {
		struct cfg_opt *o = &cfg->opts[i];
		if (o->is_set && o->decl.type == BC_OPT_LIST && o->n_list == 0 &&
		    (o->decl.flags & BC_OPT_NONEMPTY)) {
			const struct bc_node *at = bc_node_get(node, o->decl.name);
			*errmsg = bc_doc_error_at(doc, at ? at : node, "%s: option '%s' may not be an "
			                          "empty list; give at least one item or remove the "
			                          "line", cfg->owner, o->decl.name);
			bc_config_free(cfg);
			return BC_E_INVALID;
		}
		if (o->is_set)
			continue;
		if (o->decl.flags & BC_OPT_REQUIRED) {
			*errmsg = bc_doc_error_at(doc, node, "%s: missing required option '%s' (%s); "
			                          "add `%s: ...`", cfg->owner, o->decl.name,
			                          o->decl.description ? o->decl.description : "no description",
			                          o->decl.name);
			bc_config_free(cfg);
			return BC_E_INVALID;
		}
		if (o->decl.default_value != NULL) {
			char *why = o->decl.type == BC_OPT_LIST ? list_default(o)
			                                        : set_scalar(o, o->decl.default_value);
			if (why != NULL) {
				*errmsg = bc_strdup_printf("%s: the plugin's default for '%s' is invalid "
				                           "(%s); this is a plugin bug", cfg->owner,
				                           o->decl.name, why);
				free(why);
				bc_config_free(cfg);
				return BC_E_INVALID;
			}
		}
	}
	*out = cfg;
	return BC_OK;
}

/* ---- getters -------------------------------------------------------------- */

static struct cfg_opt *get(const struct bc_config *cfg, const char *key)
{
	struct cfg_opt *o = find_opt(cfg, key);
	if (o == NULL && cfg != NULL)
		bc_log(BC_LOG_ERROR, cfg->owner, "read of undeclared option '%s' (plugin bug)",
		       key ? key : "(null)");
	return o;
}

const char *bc_config_str(const struct bc_config *cfg, const char *key)
{
	struct cfg_opt *o = get(cfg, key);
	return o != NULL && o->is_set ? o->str : NULL;
}

int64_t bc_config_int(const struct bc_config *cfg, const char *key)
{
	struct cfg_opt *o = get(cfg, key);
	return o != NULL && o->is_set ? o->num : 0;
}

int bc_config_bool(const struct bc_config *cfg, const char *key)
{
	struct cfg_opt *o = get(cfg, key);
	return o != NULL && o->is_set ? o->flag : 0;
}

int bc_config_is_set(const struct bc_config *cfg, const char *key)
{
	struct cfg_opt *o = get(cfg, key);
	return o != NULL && o->is_set;
}

size_t bc_config_list_len(const struct bc_config *cfg, const char *key)
{
	struct cfg_opt *o = get(cfg, key);
	return o != NULL ? o->n_list : 0;
}

const char *bc_config_list_at(const struct bc_config *cfg, const char *key, size_t index)
{
	struct cfg_opt *o = get(cfg, key);
	return o != NULL && index < o->n_list ? o->list[index] : NULL;
}

static int str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int name_in(const char *name, const char *const *names)
{
	for (size_t i = 0; names != NULL && names[i] != NULL; i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

int bc_config_equal(const struct bc_config *a, const struct bc_config *b)
{
	return bc_config_equal_except(a, b, NULL);
}

int bc_config_equal_except(const struct bc_config *a, const struct bc_config *b,
                           const char *const *skip)
{
	if (a == NULL || b == NULL || a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct cfg_opt *x = &a->opts[i], *y = &b->opts[i];
		if (strcmp(x->decl.name, y->decl.name) != 0)
			return 0;
		if (name_in(x->decl.name, skip))
			continue;
		if (x->is_set != y->is_set ||
		    !str_eq(x->str, y->str) || x->num != y->num || x->flag != y->flag ||
		    x->n_list != y->n_list)
			return 0;
		for (size_t k = 0; k < x->n_list; k++)
			if (strcmp(x->list[k], y->list[k]) != 0)
				return 0;
	}
	return 1;
}

void bc_config_each_secret(const struct bc_config *cfg, void (*fn)(const char *secret, void *arg),
                           void *arg)
{
	for (size_t i = 0; cfg != NULL && i < cfg->n; i++) {
		const struct cfg_opt *o = &cfg->opts[i];
		if (!(o->decl.flags & BC_OPT_SECRET) || !o->is_set)
			continue;
		if (o->n_list > 0) {
			for (size_t k = 0; k < o->n_list; k++)
				if (o->list[k][0] != '\0')
					fn(o->list[k], arg);
		} else if (o->str != NULL && o->str[0] != '\0') {
			fn(o->str, arg);
		}
	}
}

/* ---- --describe -------------------------------------------------------------- */

static void limits(const struct bc_option *d, char *out, size_t size);

static void describe_table(FILE *out, const struct bc_option *opts)
{
	for (const struct bc_option *o = bc_option_first(opts); o; o = bc_option_next(o)) {
		struct bc_option d;
		char type[256], dflt[160];
		decl_copy(&d, o);
		if (d.type == BC_OPT_ENUM) {
			char choices[200];
			enum_choices(&d, choices, sizeof choices);
			snprintf(type, sizeof type, "enum (%s)", choices);
		} else {
			snprintf(type, sizeof type, "%s", type_name(d.type));
		}
		if (d.flags & BC_OPT_SECRET)
			snprintf(dflt, sizeof dflt, "(secret)");
		else if (d.default_value != NULL)
			snprintf(dflt, sizeof dflt, "default %s", d.default_value[0] ? d.default_value : "\"\"");
		else
			dflt[0] = '\0';
		fprintf(out, "  %-22s %-10s %s%s%s\n", d.name ? d.name : "?", type,
		        d.flags & BC_OPT_REQUIRED ? "required" : "optional", dflt[0] ? ", " : "", dflt);
		limits(&d, type, sizeof type);
		if (type[0] != '\0')
			fprintf(out, "  %-22s %s\n", "", type);
		if (d.description != NULL)
			fprintf(out, "  %-22s %s\n", "", d.description);
	}
}

/* 90000 ms -> "90s", 3 MiB -> "3M": the units a YAML value would use. */
static void human_value(const struct bc_option *d, int64_t v, char *out, size_t size)
{
	static const struct { int64_t f; const char *u; } ms[] = {
		{ 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" }, { 1, "ms" } };
	static const struct { int64_t f; const char *u; } bytes[] = {
		{ 1024 * 1024 * 1024, "G" }, { 1024 * 1024, "M" }, { 1024, "k" }, { 1, "" } };
	if (d->type == BC_OPT_DURATION) {
		for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
			if (v == 0 || v % ms[i].f == 0) {
				snprintf(out, size, "%" PRId64 "%s", v / ms[i].f, v == 0 ? "" : ms[i].u);
				return;
			}
	} else if (d->type == BC_OPT_SIZE) {
		for (size_t i = 0; i < sizeof bytes / sizeof bytes[0]; i++)
			if (v == 0 || v % bytes[i].f == 0) {
				snprintf(out, size, "%" PRId64 "%s", v / bytes[i].f, v == 0 ? "" : bytes[i].u);
				return;
			}
	}
	snprintf(out, size, "%" PRId64, v);
}

/* "range 1s to 12h; non-empty": what the first line of an option does not
 * say, or "" when nothing. */
static void limits(const struct bc_option *d, char *out, size_t size)
{
	out[0] = '\0';
	if ((d->type == BC_OPT_INT || d->type == BC_OPT_DURATION || d->type == BC_OPT_SIZE) &&
	    d->min < d->max) {
		char lo[48], hi[48];
		human_value(d, d->min, lo, sizeof lo);
		human_value(d, d->max, hi, sizeof hi);
		snprintf(out, size, "range %s to %s", lo, hi);
	}
	if (d->flags & BC_OPT_NONEMPTY)
		snprintf(out + strlen(out), size - strlen(out), "%snon-empty", out[0] ? "; " : "");
}

static void md_cell(FILE *out, const char *text)
{
	for (; text != NULL && *text != '\0'; text++) {
		if (*text == '|')
			fputs("\\|", out);
		else if (*text == '\n')
			fputc(' ', out);
		else
			fputc(*text, out);
	}
}

/* A default as the docs show it: the configured folders (which differ
 * between builds, --prefix) by the name of their configure variable, so the
 * reference in docs/configuration.md is the same for every build. */
static void md_default(FILE *out, const char *value)
{
	static const struct { const char *dir, *name; } dirs[] = {
		{ BC_STATE_DIR, "$localstatedir/lib/broadcast" },
		{ BC_SYSCONF_DIR, "$sysconfdir/broadcast" },
		{ BC_PLUGIN_DIR, "$pkglibdir" },
	};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		size_t n = strlen(dirs[i].dir);
		if (strncmp(value, dirs[i].dir, n) == 0 && (value[n] == '/' || value[n] == '\0')) {
			fprintf(out, "`%s%s`", dirs[i].name, value + n);
			return;
		}
	}
	fprintf(out, "`%s`", value[0] ? value : "\"\"");
}

void bc_options_markdown(FILE *out, const struct bc_option *opts)
{
	if (bc_option_first(opts) == NULL) {
		fprintf(out, "No options.\n\n");
		return;
	}
	fprintf(out, "| Option | Type | Default | Flags | Description |\n");
	fprintf(out, "|---|---|---|---|---|\n");
	for (const struct bc_option *o = bc_option_first(opts); o; o = bc_option_next(o)) {
		struct bc_option d;
		char type[256], lim[160];
		decl_copy(&d, o);
		if (d.type == BC_OPT_ENUM) {
			char choices[200];
			enum_choices(&d, choices, sizeof choices);
			snprintf(type, sizeof type, "enum: %s", choices);
		} else {
			snprintf(type, sizeof type, "%s", type_name(d.type));
		}
		fprintf(out, "| `%s` | ", d.name ? d.name : "?");
		md_cell(out, type);
		fprintf(out, " | ");
		if (d.default_value != NULL && !(d.flags & BC_OPT_SECRET))
			md_default(out, d.default_value);
		fprintf(out, " | ");
		limits(&d, lim, sizeof lim);
		fprintf(out, "%s%s%s%s%s", d.flags & BC_OPT_REQUIRED ? "required" : "",
		        (d.flags & BC_OPT_REQUIRED) && (d.flags & BC_OPT_SECRET) ? ", " : "",
		        d.flags & BC_OPT_SECRET ? "secret" : "",
		        (d.flags & (BC_OPT_REQUIRED | BC_OPT_SECRET)) && lim[0] ? ", " : "", lim);
		fprintf(out, " | ");
		md_cell(out, d.description);
		fprintf(out, " |\n");
	}
	fprintf(out, "\n");
}

void bc_options_describe(FILE *out, const struct bc_option *plugin_opts,
                         const struct bc_option *common_opts)
{
	fprintf(out, "options:\n");
	if (bc_option_first(plugin_opts) == NULL)
		fprintf(out, "  (none)\n");
	describe_table(out, plugin_opts);
	fprintf(out, "\ncommon options (every instance of this kind):\n");
	describe_table(out, common_opts);
}
