/* SPDX-License-Identifier: Apache-2.0 */
/*
 * yamldoc.c: a YAML file as a tree of struct bc_node that remember where
 * they were (line and column of each value and key), with ${VAR} and
 * ${VAR:-default} taken from the environment.
 *
 * libyaml's event parser feeds a small recursive builder. Only what a
 * configuration needs is accepted: maps, sequences and scalars; anchors,
 * aliases and tags are refused with a message, as are duplicate keys and
 * non-scalar keys. Every message reads "FILE:LINE:COLUMN: what; the fix".
 * What the values mean is options.c's and context.c's business.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "bc_internal.h"

#define MAX_DEPTH 64
#define MAX_FILE_SIZE (4 * 1024 * 1024)

struct builder {
	yaml_parser_t parser;
	const char *name;
	char *errmsg;
};

static void node_free(struct bc_node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n_items; i++)
		node_free(n->items[i]);
	free(n->items);
	free(n->key);
	free(n->value);
	free(n);
}

void bc_doc_free(struct bc_doc *doc)
{
	if (doc == NULL)
		return;
	node_free(doc->root);
	free(doc->path);
	free(doc);
}

static void fail_at(struct builder *b, const yaml_mark_t *m, const char *fmt, ...) BC_PRINTF(3, 4);

static void fail_at(struct builder *b, const yaml_mark_t *m, const char *fmt, ...)
{
	char text[600];
	va_list ap;
	if (b->errmsg != NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	b->errmsg = bc_strdup_printf("%s:%lu:%lu: %s", b->name, (unsigned long)m->line + 1,
	                 (unsigned long)m->column + 1, text);
}

/* ${VAR}, ${VAR:-default} and $$ in a scalar. 0, or -1 with b->errmsg. */
static int interpolate(struct builder *b, const yaml_mark_t *m, const char *in, char **out)
{
	size_t cap = strlen(in) + 1, len = 0;
	char *buf = malloc(cap);
	if (buf == NULL)
		goto nomem;
	for (const char *p = in; *p;) {
		const char *add = p;
		size_t add_len = 1;
		char *freeme = NULL;
		if (p[0] == '$' && p[1] == '$') {
			add_len = 1;
			p += 2;
		} else if (p[0] == '$' && p[1] == '{') {
			const char *close = strchr(p + 2, '}');
			const char *name = p + 2, *dflt = NULL;
			size_t name_len;
			if (close == NULL) {
				fail_at(b, m, "unterminated ${ in a value; write ${NAME} or ${NAME:-default}, "
				        "or $$ for a literal $");
				free(buf);
				return -1;
			}
			const char *sep = strstr(name, ":-");
			if (sep != NULL && sep < close) {
				name_len = (size_t)(sep - name);
				dflt = sep + 2;
			} else {
				name_len = (size_t)(close - name);
			}
			int ok = name_len > 0 && !(name[0] >= '0' && name[0] <= '9');
			for (size_t i = 0; ok && i < name_len; i++)
				ok = (name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= 'a' && name[i] <= 'z') ||
				     (name[i] >= '0' && name[i] <= '9') || name[i] == '_';
			if (!ok) {
				fail_at(b, m, "'${%.*s}' is not a variable reference; names are letters, "
				        "digits and _ (write $$ for a literal $)",
				        (int)(close - name > 40 ? 40 : close - name), name);
				free(buf);
				return -1;
			}
			freeme = strndup(name, name_len);
			if (freeme == NULL)
				goto nomem;
			const char *val = getenv(freeme);
			if (val != NULL && (val[0] != '\0' || dflt == NULL)) {
				add = val;
				add_len = strlen(val);
			} else if (dflt != NULL) {
				add = dflt;
				add_len = (size_t)(close - dflt);
			} else {
				fail_at(b, m, "environment variable %s is not set; export it or write "
				        "${%s:-default}", freeme, freeme);
				free(freeme);
				free(buf);
				return -1;
			}
			p = close + 1;
		} else {
			p++;
		}
		if (len + add_len + 1 > cap) {
			cap = (len + add_len + 1) * 2;
			char *nb = realloc(buf, cap);
			if (nb == NULL) {
				free(freeme);
				goto nomem;
			}
			buf = nb;
		}
		memcpy(buf + len, add, add_len);
		len += add_len;
		free(freeme);
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
nomem:
	free(buf);
	if (b->errmsg == NULL)
		b->errmsg = strdup("out of memory");
	return -1;
}

static int next_event(struct builder *b, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&b->parser, ev)) {
		const char *problem = b->parser.problem ? b->parser.problem : "syntax error";
		yaml_mark_t m = b->parser.problem_mark;
		const char *hint = "check indentation, quotes and the ':' after each key";
		if (strstr(problem, "tab") != NULL)
			hint = "indent with spaces, not tabs";
		else if (b->parser.context != NULL)
			hint = b->parser.context;
		fail_at(b, &m, "invalid YAML: %s (%s)", problem, hint);
		return -1;
	}
	return 0;
}

static int add_item(struct bc_node *parent, struct bc_node *child)
{
	struct bc_node **v = realloc(parent->items, (parent->n_items + 1) * sizeof *v);
	if (v == NULL)
		return -1;
	parent->items = v;
	parent->items[parent->n_items++] = child;
	return 0;
}

static struct bc_node *parse_node(struct builder *b, yaml_event_t *ev, int depth);

/* Build the node `ev` starts (ev is consumed). */
static struct bc_node *parse_node(struct builder *b, yaml_event_t *ev, int depth)
{
	struct bc_node *n = calloc(1, sizeof *n);
	yaml_event_t sub;

	if (n == NULL) {
		yaml_event_delete(ev);
		b->errmsg = b->errmsg ? b->errmsg : strdup("out of memory");
		return NULL;
	}
	n->line = (unsigned)ev->start_mark.line + 1;
	n->column = (unsigned)ev->start_mark.column + 1;
	if (depth > MAX_DEPTH) {
		fail_at(b, &ev->start_mark, "nested more than %d levels deep", MAX_DEPTH);
		goto fail;
	}
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		fail_at(b, &ev->start_mark, "aliases (*name) are not supported; write the value out");
		goto fail;
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor) {
			fail_at(b, &ev->start_mark, "anchors (&name) are not supported; remove it");
			goto fail;
		}
		if (ev->data.scalar.tag && !ev->data.scalar.quoted_implicit &&
		    !ev->data.scalar.plain_implicit) {
			fail_at(b, &ev->start_mark, "tags (!!type) are not supported; remove '%s'",
			        (const char *)ev->data.scalar.tag);
			goto fail;
		}
		n->kind = BC_NODE_SCALAR;
		n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		            ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
		if (strlen((const char *)ev->data.scalar.value) != ev->data.scalar.length) {
			fail_at(b, &ev->start_mark, "a value contains a NUL byte; remove it");
			goto fail;
		}
		if (interpolate(b, &ev->start_mark, (const char *)ev->data.scalar.value, &n->value) != 0)
			goto fail;
		yaml_event_delete(ev);
		return n;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		int is_map = ev->type == YAML_MAPPING_START_EVENT;
		const yaml_char_t *anchor = is_map ? ev->data.mapping_start.anchor
		                                   : ev->data.sequence_start.anchor;
		const yaml_char_t *tag = is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
		int implicit = is_map ? ev->data.mapping_start.implicit : ev->data.sequence_start.implicit;
		if (anchor) {
			fail_at(b, &ev->start_mark, "anchors (&name) are not supported; remove it");
			goto fail;
		}
		if (tag && !implicit) {
			fail_at(b, &ev->start_mark, "tags (!!type) are not supported; remove '%s'",
			        (const char *)tag);
			goto fail;
		}
		n->kind = is_map ? BC_NODE_MAP : BC_NODE_SEQ;
		yaml_event_delete(ev);
		for (;;) {
			if (next_event(b, &sub) != 0)
				goto fail_noev;
			if (sub.type == (is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT)) {
				yaml_event_delete(&sub);
				return n;
			}
			char *key = NULL;
			unsigned kl = 0, kc = 0;
			if (is_map) {
				if (sub.type != YAML_SCALAR_EVENT) {
					fail_at(b, &sub.start_mark, "a key must be a plain word, not a %s",
					        sub.type == YAML_MAPPING_START_EVENT ? "map" : "list");
					yaml_event_delete(&sub);
					goto fail_noev;
				}
				key = strdup((const char *)sub.data.scalar.value);
				kl = (unsigned)sub.start_mark.line + 1;
				kc = (unsigned)sub.start_mark.column + 1;
				if (key == NULL) {
					yaml_event_delete(&sub);
					goto fail_noev;
				}
				for (size_t i = 0; i < n->n_items; i++)
					if (strcmp(n->items[i]->key, key) == 0) {
						fail_at(b, &sub.start_mark, "key '%s' given twice (first at line %u); "
						        "remove one", key, n->items[i]->key_line);
						free(key);
						yaml_event_delete(&sub);
						goto fail_noev;
					}
				yaml_event_delete(&sub);
				if (next_event(b, &sub) != 0) {
					free(key);
					goto fail_noev;
				}
			}
			struct bc_node *child = parse_node(b, &sub, depth + 1);
			if (child == NULL) {
				free(key);
				goto fail_noev;
			}
			child->key = key;
			child->key_line = kl;
			child->key_column = kc;
			if (add_item(n, child) != 0) {
				node_free(child);
				goto fail_noev;
			}
		}
	}
	default:
		fail_at(b, &ev->start_mark, "unexpected YAML structure");
		goto fail;
	}
fail:
	yaml_event_delete(ev);
fail_noev:
	node_free(n);
	if (b->errmsg == NULL)
		b->errmsg = strdup("out of memory");
	return NULL;
}

static int build(struct builder *b, struct bc_doc *doc)
{
	yaml_event_t ev;
	int seen_doc = 0;
	for (;;) {
		if (next_event(b, &ev) != 0)
			return -1;
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (seen_doc++) {
				fail_at(b, &ev.start_mark, "a second YAML document ('---'); keep one per file");
				yaml_event_delete(&ev);
				return -1;
			}
			break;
		case YAML_STREAM_END_EVENT:
			yaml_event_delete(&ev);
			if (doc->root == NULL) {
				doc->root = calloc(1, sizeof *doc->root);
				if (doc->root == NULL)
					return -1;
				doc->root->kind = BC_NODE_MAP;
				doc->root->line = doc->root->column = 1;
			}
			return 0;
		default:
			doc->root = parse_node(b, &ev, 0);
			if (doc->root == NULL)
				return -1;
			continue; /* parse_node consumed ev */
		}
		yaml_event_delete(&ev);
	}
}

enum bc_status bc_doc_load_string(const char *name, const char *text, size_t len, struct bc_doc **out,
                                  char **errmsg)
{
	struct builder b;
	struct bc_doc *doc = calloc(1, sizeof *doc);
	*out = NULL;
	*errmsg = NULL;
	memset(&b, 0, sizeof b);
	b.name = name;
	if (doc == NULL || (doc->path = strdup(name)) == NULL) {
		bc_doc_free(doc);
		*errmsg = strdup("out of memory");
		return BC_E_NOMEM;
	}
	if (!yaml_parser_initialize(&b.parser)) {
		bc_doc_free(doc);
		*errmsg = strdup("out of memory");
		return BC_E_NOMEM;
	}
	yaml_parser_set_input_string(&b.parser, (const unsigned char *)text, len);
	int rc = build(&b, doc);
	yaml_parser_delete(&b.parser);
	if (rc != 0) {
		bc_doc_free(doc);
		if (b.errmsg == NULL) {
			*errmsg = strdup("out of memory");
			return BC_E_NOMEM;
		}
		*errmsg = b.errmsg;
		return BC_E_INVALID;
	}
	*out = doc;
	return BC_OK;
}

enum bc_status bc_doc_load_file(const char *path, struct bc_doc **out, char **errmsg)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0, cap = 0;
	enum bc_status rc;
	*out = NULL;
	*errmsg = NULL;
	if (f == NULL) {
		*errmsg = bc_strdup_printf("%s: cannot read the configuration: %s", path, strerror(errno));
		return BC_E_INVALID;
	}
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *t = realloc(text, cap);
			if (t == NULL) {
				fclose(f);
				free(text);
				*errmsg = strdup("out of memory");
				return BC_E_NOMEM;
			}
			text = t;
		}
		size_t n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
		if (len > MAX_FILE_SIZE) {
			fclose(f);
			free(text);
			*errmsg = bc_strdup_printf("%s: the configuration is larger than %d MiB; that is not a "
			               "configuration file", path, MAX_FILE_SIZE / 1024 / 1024);
			return BC_E_INVALID;
		}
	}
	if (ferror(f)) {
		*errmsg = bc_strdup_printf("%s: cannot read the configuration: %s", path, strerror(errno));
		fclose(f);
		free(text);
		return BC_E_INVALID;
	}
	fclose(f);
	rc = bc_doc_load_string(path, text ? text : "", len, out, errmsg);
	free(text);
	return rc;
}

const struct bc_node *bc_node_get(const struct bc_node *map, const char *key)
{
	if (map == NULL || map->kind != BC_NODE_MAP || key == NULL)
		return NULL;
	for (size_t i = 0; i < map->n_items; i++)
		if (strcmp(map->items[i]->key, key) == 0)
			return map->items[i];
	return NULL;
}

static char *vat(const struct bc_doc *doc, unsigned line, unsigned col, const char *fmt, va_list ap)
{
	char text[1024];
	vsnprintf(text, sizeof text, fmt, ap);
	return bc_strdup_printf("%s:%u:%u: %s", doc && doc->path ? doc->path : "(config)", line, col, text);
}

char *bc_doc_error_at(const struct bc_doc *doc, const struct bc_node *node, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	s = vat(doc, node ? node->line : 1, node ? node->column : 1, fmt, ap);
	va_end(ap);
	return s;
}

char *bc_doc_error_at_key(const struct bc_doc *doc, const struct bc_node *node, const char *fmt,
                          ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	s = vat(doc, node && node->key ? node->key_line : node ? node->line : 1,
	        node && node->key ? node->key_column : node ? node->column : 1, fmt, ap);
	va_end(ap);
	return s;
}
