/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bc_internal.h: the interfaces between libbroadcast's own files.
 *
 * Nothing here is installed or exported to plugins (the library's exported
 * symbols are the bc_context_* embedding API of broadcast/embed.h). Each
 * section names the file that implements it. Internal names use the bc_
 * prefix too, but only embed.h symbols are exported from libbroadcast.so
 * (libtool -export-symbols-regex).
 */
#ifndef BC_INTERNAL_H
#define BC_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <broadcast/broadcast.h>

/* ------------------------------------------------------------------------
 * error.c: struct bc_error, the failure description every call fills.
 */
struct bc_error {
	enum bc_status status;
	char code[64];     /* dotted machine code, e.g. "stream.not_found" */
	char message[512]; /* for people */
};

/* Set err (if not NULL) and return status; the same contract as
 * bc_host_api.fail. */
enum bc_status bc_fail(struct bc_error *err, enum bc_status status, const char *code,
                       const char *fmt, ...) BC_PRINTF(4, 5);
enum bc_status bc_vfail(struct bc_error *err, enum bc_status status, const char *code,
                        const char *fmt, va_list ap);
/* Clear err to BC_OK with empty code and message. */
void bc_error_clear(struct bc_error *err);
/* The HTTP status for a bc_status (BC_OK: 200). */
int bc_status_http(enum bc_status status);
/* A short name for a bc_status, e.g. "BC_E_NOT_FOUND". */
const char *bc_status_name(enum bc_status status);

/* ------------------------------------------------------------------------
 * yamldoc.c: a YAML file as a tree of nodes that remember where they were,
 * with ${VAR} and ${VAR:-default} taken from the environment.
 */
enum bc_node_kind { BC_NODE_SCALAR = 1, BC_NODE_MAP = 2, BC_NODE_SEQ = 3 };

struct bc_node {
	enum bc_node_kind kind;
	char *key;              /* the key when this node is a map member, else NULL */
	char *value;            /* scalars: the interpolated text; else NULL */
	bool quoted;            /* scalars: was written quoted ('x' or "x") */
	struct bc_node **items; /* maps: members (each has key), seqs: items */
	size_t n_items;
	unsigned line, column;  /* 1-based position of the value */
	unsigned key_line, key_column; /* 1-based position of the key (map members) */
};

struct bc_doc {
	char *path;             /* the file name used in messages */
	struct bc_node *root;   /* never NULL after a successful load; an empty
	                           document loads as an empty map */
};

/* Load and interpolate a YAML file. On failure returns -1 and sets *errmsg
 * (malloc'd, caller frees) to "FILE:LINE:COLUMN: what is wrong; how to fix". */
int bc_doc_load_file(const char *path, struct bc_doc **out, char **errmsg);
/* The same from memory; `name` is used as the file name in messages. */
int bc_doc_load_string(const char *name, const char *text, size_t len, struct bc_doc **out,
                       char **errmsg);
void bc_doc_free(struct bc_doc *doc);
/* The member of map `map` with key `key`, or NULL (also when map is not a map). */
const struct bc_node *bc_node_get(const struct bc_node *map, const char *key);
/* A malloc'd "FILE:LINE:COLUMN: <formatted text>" for node (at its value). */
char *bc_doc_error_at(const struct bc_doc *doc, const struct bc_node *node, const char *fmt, ...)
	BC_PRINTF(3, 4);
/* The same at the node's key (for "unknown key" messages). */
char *bc_doc_error_at_key(const struct bc_doc *doc, const struct bc_node *node,
                          const char *fmt, ...) BC_PRINTF(3, 4);

/* ------------------------------------------------------------------------
 * options.c: one instance's YAML map validated against declared options,
 * and the struct bc_config view plugins read through the host getters.
 */

/* The next element of an option array (stepping by struct_size), or NULL at
 * the end. bc_option_first(NULL) is NULL. */
const struct bc_option *bc_option_first(const struct bc_option *array);
const struct bc_option *bc_option_next(const struct bc_option *opt);

/* Validate the map `node` of `doc` against `plugin_opts` and then
 * `common_opts` (host-declared keys such as name and type; either may be
 * NULL). Unknown keys, wrong types, missing required options, values out of
 * range or not in an enum: -1 with *errmsg "FILE:LINE:COL: ..." naming the
 * fix (for unknown keys, the list of valid ones). Defaults are applied.
 * `owner` names the instance in messages ("provider s3-main (type s3)"). */
int bc_config_build(const struct bc_doc *doc, const struct bc_node *node, const char *owner,
                    const struct bc_option *plugin_opts, const struct bc_option *common_opts,
                    struct bc_config **out, char **errmsg);
void bc_config_free(struct bc_config *cfg);

/* The getters behind bc_host_api (same contracts). */
const char *bc_config_str(const struct bc_config *cfg, const char *key);
int64_t bc_config_int(const struct bc_config *cfg, const char *key);
int bc_config_bool(const struct bc_config *cfg, const char *key);
int bc_config_is_set(const struct bc_config *cfg, const char *key);
size_t bc_config_list_len(const struct bc_config *cfg, const char *key);
const char *bc_config_list_at(const struct bc_config *cfg, const char *key, size_t index);

/* 1 when both views hold the same options with the same values (reload keeps
 * such instances running). */
int bc_config_equal(const struct bc_config *a, const struct bc_config *b);
/* Call fn for every non-empty value of an option marked BC_OPT_SECRET. */
void bc_config_each_secret(const struct bc_config *cfg,
                           void (*fn)(const char *secret, void *arg), void *arg);

/* Parse a duration ("250ms", "30s", "5m", "2h", "1d", bare number = seconds)
 * into milliseconds, or a size ("512", "64k", "10M", "1G", bare = bytes) into
 * bytes. Return 0 on success, -1 when the text is not one. */
int bc_parse_duration_ms(const char *text, int64_t *out);
int bc_parse_size(const char *text, int64_t *out);

/* Print the option table of a plugin for --describe: name, type, required,
 * default (secret defaults are never printed), description; then the common
 * options. */
void bc_options_describe(FILE *out, const struct bc_option *plugin_opts,
                         const struct bc_option *common_opts);

/* ------------------------------------------------------------------------
 * params.c: request parameters from the query string, a form or JSON body,
 * and transport-decoded pairs, with duplicates rejected.
 */
struct bc_params {
	size_t n;
	char **keys;
	char **values;
};

/* Decode every parameter of `req` into `out` (zeroed by the caller).
 * Query and form: application/x-www-form-urlencoded rules ('+' is a space,
 * %XX bytes; bad escapes and NUL bytes are 400 "request.bad_encoding").
 * JSON body: a flat object of strings, numbers, booleans or null (null =
 * absent); anything else 400 "request.bad_json". Other media types: 415
 * "request.unsupported_media_type". A key given twice, in any mix of
 * sources: 400 "request.duplicate_parameter". Body over max_body bytes: 413
 * "request.too_large". On failure `out` is emptied. */
enum bc_status bc_params_parse(const struct bc_request *req, size_t max_body,
                               struct bc_params *out, struct bc_error *err);
/* The value of key, or NULL. */
const char *bc_params_get(const struct bc_params *p, const char *key);
void bc_params_free(struct bc_params *p);

/* ------------------------------------------------------------------------
 * util.c
 */
/* A random (v4) UUID, lowercase, into out (37 bytes). */
enum bc_status bc_uuid4(char out[37]);
/* 1 when s is a lowercase or uppercase canonical UUID text. */
int bc_uuid_valid(const char *s);
/* Format ms since the epoch as GMT "YYYY-MM-DD HH:MM:SS" into out (20 bytes). */
void bc_format_gmt(int64_t ms, char out[20]);
int64_t bc_now_ms(void);
int64_t bc_monotonic_ms(void);
int bc_secure_equal(const void *a, size_t a_len, const void *b, size_t b_len);
void bc_sha256_hex(const void *data, size_t len, char out[65]);
void bc_fingerprint(const char *secret, char out[17]);
enum bc_status bc_random(void *buf, size_t len);
/* malloc'd printf; NULL on failure. */
char *bc_strdup_printf(const char *fmt, ...) BC_PRINTF(1, 2);

/* ------------------------------------------------------------------------
 * log.c: the one logger. Lines go to stderr (or a file) as
 * "2026-01-01T00:00:00.123Z LEVEL [instance] message", with every registered
 * secret replaced by "[redacted]".
 */
void bc_log_set_level(enum bc_log_level level);
enum bc_log_level bc_log_get_level(void);
/* Parse "error", "warn", "info", "debug"; -1 when none of them. */
int bc_log_level_parse(const char *text);
void bc_log(enum bc_log_level level, const char *who, const char *fmt, ...) BC_PRINTF(3, 4);
void bc_vlog(enum bc_log_level level, const char *who, const char *fmt, va_list ap);
/* Add a value to redact from every line from now on (copied; ignored when
 * shorter than 4 characters, which would mangle ordinary text). */
void bc_log_add_secret(const char *secret);
/* Forget every registered secret (before a reload registers the new set). */
void bc_log_clear_secrets(void);

#endif /* BC_INTERNAL_H */
