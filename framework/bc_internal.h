/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bc_internal.h: the interfaces between libbroadcast's own files.
 *
 * Nothing here is installed or exported to plugins (the library's exported
 * symbols are the bc_context_* embedding API of broadcast/embed.h). Each
 * section names the file that implements it. Internal names use the bc_
 * prefix too, but only embed.h symbols are exported from libbroadcast.so
 * (libtool -export-symbols-regex).
 *
 * What the prefixes around a context mean (bc_runtime.h):
 *  - bc_context_*, bc_stream_*, bc_response_*: the public embedding API
 *    (broadcast/embed.h), exported, stable since ABI 1.0; never renamed.
 *  - bc_ctx_*: internal accessors and operations of one struct bc_context
 *    (context.c) for the framework's other files: bc_ctx_metrics,
 *    bc_ctx_media, bc_ctx_open_checked, bc_ctx_request_reload ...
 *  - bc_gen_*: one configuration generation of a context (acquire and
 *    release around a request).
 *  - bc_daemon_*: hooks only broadcastd itself calls (bc_daemon_set_wakeup).
 *  - bc_log_*, bc_media_*, bc_metrics_*, bc_instance_*, bc_registry_* ...:
 *    the module of that name (log.c, media.c, metrics.c ...).
 */
#ifndef BC_INTERNAL_H
#define BC_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <broadcast/broadcast.h>

struct bc_context; /* context.c: one loaded configuration, see broadcast/embed.h */
struct bc_loaded_so; /* loader.c */

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
                        const char *fmt, va_list ap) BC_PRINTF(4, 0);
/* The one code of an out-of-memory failure the framework answers itself
 * (BC_E_NOMEM, HTTP 500); plugins use their own "<plugin>.nomem". */
#define BC_CODE_NOMEM "internal.nomem"
/* Clear err to BC_OK with empty code and message. */
void bc_error_clear(struct bc_error *err);
/* The HTTP status for a bc_status (BC_OK: 200). */
int bc_status_http(enum bc_status status);
/* The HTTP status of an answer: bc_status_http(status), except for the few
 * dotted codes error.c's table gives another (request.unsupported_media_type:
 * 415). Every status the dispatcher answers with comes from here. */
int bc_http_status(enum bc_status status, const char *code);
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

/* Load and interpolate a YAML file. BC_OK, or the failure's status
 * (BC_E_INVALID: unreadable or not valid YAML; BC_E_NOMEM) with *errmsg
 * (malloc'd, caller frees) "FILE:LINE:COLUMN: what is wrong; how to fix".
 * Every function of the framework that builds a configuration reports the
 * same way: an enum bc_status, plus a malloc'd message when it is not BC_OK
 * (a message can be longer than struct bc_error's, e.g. the list of valid
 * keys). */
enum bc_status bc_doc_load_file(const char *path, struct bc_doc **out, char **errmsg);
/* The same from memory; `name` is used as the file name in messages. */
enum bc_status bc_doc_load_string(const char *name, const char *text, size_t len,
                                  struct bc_doc **out, char **errmsg);
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
 * range or not in an enum: BC_E_INVALID with *errmsg "FILE:LINE:COL: ..."
 * naming the fix (for unknown keys, the list of valid ones); BC_E_NOMEM.
 * Defaults are applied. `owner` names the instance in messages ("provider
 * s3-main (type s3)"). */
enum bc_status bc_config_build(const struct bc_doc *doc, const struct bc_node *node,
                               const char *owner, const struct bc_option *plugin_opts,
                               const struct bc_option *common_opts, struct bc_config **out,
                               char **errmsg);
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
/* The same, ignoring the options named in `skip` (NULL-terminated). */
int bc_config_equal_except(const struct bc_config *a, const struct bc_config *b,
                           const char *const *skip);
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
/* The option table `opts` as a Markdown table (name, type, default, flags
 * and range, description), for `broadcastd --describe --markdown`. */
void bc_options_markdown(FILE *out, const struct bc_option *opts);

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
/* A condition variable whose timed waits run on CLOCK_MONOTONIC, so that a
 * step of the wall clock (NTP, an operator) neither stalls nor hurries a
 * timer, a poll or a backoff. Every condition variable the framework waits
 * on with a timeout is made with it; pthread_cond_init()'s result. */
int bc_cond_init(pthread_cond_t *cond);
/* *ts = CLOCK_MONOTONIC now + ms: the absolute time pthread_cond_timedwait()
 * wants for a wait of ms on a condition variable made by bc_cond_init(). */
struct timespec;
void bc_cond_deadline(struct timespec *ts, int64_t ms);
/* 1 when s is a name of instances and webhooks: 1 to 64 of [A-Za-z0-9_.-]. */
int bc_name_valid(const char *s);
int bc_secure_equal(const void *a, size_t a_len, const void *b, size_t b_len);
void bc_sha256_hex(const void *data, size_t len, char out[65]);
void bc_fingerprint(const char *secret, char out[17]);
enum bc_status bc_random(void *buf, size_t len);
/* malloc'd printf; NULL on failure. */
char *bc_strdup_printf(const char *fmt, ...) BC_PRINTF(1, 2);
/* 1 when the len bytes at s are well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF); 0 otherwise. NUL bytes are
 * well-formed UTF-8: callers that refuse them check that themselves. */
int bc_utf8_valid(const char *s, size_t len);
/* How deeply JSON text nests: the greatest number of '[' and '{' open at
 * once, counted outside strings (escapes are skipped), stopping early once
 * it passes `limit` (then limit + 1 is returned). Needs no valid JSON and no
 * NUL terminator, uses no recursion and O(1) memory, so it can guard
 * jansson, whose parser recurses once per level: about 1000 levels overflow
 * a CivetWeb worker's 100 KiB stack (docs/testing.md, "Hostile input"). */
unsigned bc_json_depth(const char *text, size_t len, unsigned limit);
/* The deepest JSON the API reads from an outsider. A request body is a flat
 * object (depth 1); nested values are refused after parsing with a clear
 * message, so this only has to be small enough for any thread's stack. */
#define BC_JSON_MAX_DEPTH 8

/* ------------------------------------------------------------------------
 * log.c: the one logger. Lines go to stderr (or a file) as
 * "2026-01-01T00:00:00.123Z LEVEL [instance] message", with every registered
 * secret replaced by "[redacted]". The level and the secrets are process-wide
 * state, owned by one context at a time (bc_log_attach).
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
/* Make ctx the one context whose configuration sets the level and the
 * secrets: BC_OK, or BC_E_CONFLICT with a message in errbuf while another
 * is attached (broadcast/embed.h: one context per process). Contexts opened
 * check-only do not attach. */
enum bc_status bc_log_attach(const struct bc_context *ctx, char *errbuf, size_t errlen);
/* ctx is closing: when it is the attached one, forget every secret, set the
 * level back to info and let another context attach. Else a no-op. */
void bc_log_detach(const struct bc_context *ctx);


/* ------------------------------------------------------------------------
 * tokens.c: bearer tokens of a frontend's `tokens_file`. Each line is
 * "name:sha256-hex-of-token"; '#' starts a comment; blank lines are ignored.
 * The file keeps only hashes, so reading it leaks no token.
 */
struct bc_tokens;

/* Load a tokens file. On failure BC_E_INVALID (BC_E_NOMEM when memory ran
 * out) and *errmsg (malloc'd) "FILE:LINE: what is wrong; the fix" (bad
 * name, hash not 64 hex digits, duplicate name, unreadable file, or a file
 * other users may write). An empty file is valid (nobody gets in). */
enum bc_status bc_tokens_load(const char *path, struct bc_tokens **out, char **errmsg);
/* The name whose token is `bearer`, or NULL. Hashes bearer once and compares
 * with every entry in constant time, without stopping at a match. The
 * returned name is borrowed from t. */
const char *bc_tokens_check(const struct bc_tokens *t, const char *bearer);
size_t bc_tokens_count(const struct bc_tokens *t);
void bc_tokens_free(struct bc_tokens *t);
/* Make a new random token (32 bytes of CSPRNG, base64url without padding)
 * and its tokens-file line "name:sha256hex". Both malloc'd. -1 on a bad name
 * ([A-Za-z0-9_.@-]{1,64}) or failure. */
int bc_tokens_generate(const char *name, char **token, char **line);

/* ------------------------------------------------------------------------
 * ratelimit.c: per-caller token buckets, for a frontend's `rate_limit`.
 */
struct bc_ratelimit;

/* rate: requests per second refilled; burst: bucket size (>= 1). NULL on
 * failure. Thread-safe; memory stays bounded (idle buckets are evicted). */
struct bc_ratelimit *bc_ratelimit_create(double rate, double burst);
/* Take one request for `key` at time now_ms. 1: allowed. 0: limited, and
 * *retry_after_s is the whole seconds (>= 1) until one is available. */
int bc_ratelimit_take(struct bc_ratelimit *rl, const char *key, int64_t now_ms,
                      unsigned *retry_after_s);
void bc_ratelimit_free(struct bc_ratelimit *rl);
/* The number of buckets held now (for the bounded-memory test). */
size_t bc_ratelimit_size(struct bc_ratelimit *rl);


/* ------------------------------------------------------------------------
 * loader.c: finding plugin .so files, checking their ABI, keeping them.
 */
struct bc_loaded_plugin {
	struct bc_plugin desc;          /* the descriptor, zero-extended to our size */
	union {                         /* the ops table, zero-extended to our size */
		struct bc_provider_ops provider;
		struct bc_store_ops store;
		struct bc_frontend_ops frontend;
	} ops;
	char *path;                     /* the .so it came from */
	struct bc_loaded_so *so;        /* shared by all descriptors of one .so */
};

struct bc_registry;

/* Scan every directory of `dirs` (NULL-terminated; missing directories are
 * skipped) for "*.so", dlopen each with RTLD_NOW | RTLD_LOCAL, call its entry
 * and check every descriptor. Rejected files and descriptors are logged at
 * warn level with file, plugin, both ABI versions and the fix, and kept for
 * bc_registry_reject_count() and bc_registry_reject_at(). A plugin name
 * found twice for one kind: the first directory wins (a warning names both
 * files). Returns NULL only when out of memory. */
struct bc_registry *bc_registry_load(const char *const *dirs);
/* Whether the configuration names a plugin of `kind` called `name`. */
typedef int (*bc_plugin_wanted_fn)(enum bc_kind kind, const char *name, void *arg);
/* bc_registry_load(), keeping loaded only the files that declare a plugin
 * `want` asks for: a daemon maps no code (nor libcurl, libpq ...) for plugins
 * its configuration does not use. Every file is still opened and checked
 * once, so rejects are reported and "unknown type" errors list every plugin
 * found (bc_registry_known_at). */
struct bc_registry *bc_registry_load_wanted(const char *const *dirs, bc_plugin_wanted_fn want,
                                            void *arg);
/* Scan `dirs` again and add the wanted plugins of files not loaded yet (a
 * reload naming a new type). Plugins already loaded stay loaded until
 * bc_registry_free(): instances of the running configuration use them. */
void bc_registry_scan(struct bc_registry *reg, const char *const *dirs,
                      bc_plugin_wanted_fn want, void *arg);
void bc_registry_free(struct bc_registry *reg);
/* Every plugin name any scan found, loaded or not (a file the scan skipped
 * counts by the name its file name gives). bc_registry_known_at() returns
 * NULL for an index whose entry is no longer current: skip it. */
size_t bc_registry_known_count(const struct bc_registry *reg);
const char *bc_registry_known_at(const struct bc_registry *reg, size_t i, enum bc_kind *kind);
/* bc_registry_find(), and when no loaded plugin has the name: open the
 * files of `kind` that a scan skipped by their file name (KIND_NAME.so),
 * keeping the one that declares `name`. Only the main thread calls it
 * (configuration load and reload). The plugin, or NULL. */
const struct bc_loaded_plugin *bc_registry_find_or_open(const struct bc_registry *reg,
                                                        enum bc_kind kind, const char *name);
/* Why a file that holds (by declaration or by file name) the plugin `name`
 * of `kind` was refused, or NULL; *path is the file. Both borrowed from the
 * registry. Names match with '-' and '_' taken as the same character. */
const char *bc_registry_refusal(const struct bc_registry *reg, enum bc_kind kind,
                                const char *name, const char **path);
/* 1 when a and b are equal taking '-' and '_' as the same character. */
int bc_plugin_names_match(const char *a, const char *b);
/* The Levenshtein distance of a and b (99 when either is over 64 bytes). */
size_t bc_edit_distance(const char *a, const char *b);
/* The plugin of `kind` named `name`, or NULL. */
const struct bc_loaded_plugin *bc_registry_find(const struct bc_registry *reg,
                                                enum bc_kind kind, const char *name);
/* All accepted plugins, in load order. */
size_t bc_registry_count(const struct bc_registry *reg);
const struct bc_loaded_plugin *bc_registry_at(const struct bc_registry *reg, size_t i);
/* Messages of rejected files, in load order (each "FILE: why; fix"). */
size_t bc_registry_reject_count(const struct bc_registry *reg);
const char *bc_registry_reject_at(const struct bc_registry *reg, size_t i);
/* The same check bc_registry_load applies to one file, for tests and for
 * --list-plugins on a single path: BC_OK and a registry holding its
 * plugins (some of a file's plugins may still be refused: see
 * bc_registry_reject_count()), or BC_E_INVALID (nothing accepted; BC_E_NOMEM
 * when memory ran out) with *errmsg. */
enum bc_status bc_registry_load_file(struct bc_registry *reg, const char *path,
                                     char **errmsg);
/* The plugin search path: $BROADCAST_PLUGIN_PATH (':'-separated) if set,
 * then `configured` (NULL-terminated, may be NULL), then BC_PLUGIN_DIR.
 * Returns a malloc'd NULL-terminated array; free with bc_strv_free(). */
char **bc_plugin_search_path(const char *const *configured);
void bc_strv_free(char **v);
/* bc_registry_load_file() as a host of ABI hmaj.hmin would do it: the
 * version-negotiation tests play a newer host with it. */
enum bc_status bc_registry_load_file_as(struct bc_registry *reg, const char *path,
                                        unsigned hmaj, unsigned hmin, char **errmsg);
/* An empty registry, for bc_registry_load_file() alone. */
struct bc_registry *bc_registry_new_empty(void);
/* "provider", "store" or "frontend". */
const char *bc_kind_name(enum bc_kind kind);

/* ------------------------------------------------------------------------
 * instance.c: one configured instance of a plugin, and the host table it
 * receives. Calls into an instance go through these wrappers, which
 * serialise them when the plugin is not BC_PLUGIN_THREAD_SAFE.
 */
struct bc_instance;

/* The options every instance of a kind accepts besides its plugin's own
 * (name, type; providers: stream_types, idle_timeout, max_duration; stores:
 * event_retention, event_max; frontends: tokens_file, rate_limit, rate_burst,
 * auth_fail_limit, max_body). */
const struct bc_option *bc_common_options(enum bc_kind kind);

/* Validate `map` (a YAML map with a `type` key) against the plugin of
 * `kind` with that type and create the instance. BC_OK, or the failure's
 * status with *errmsg "FILE:LINE:COL: ..." (or the plugin's own failure,
 * prefixed with the instance name and dotted code): BC_E_INVALID for the
 * configuration, BC_E_NOMEM, or what the plugin's check() or create()
 * returned (BC_E_UNAVAILABLE: a store or listener could not be opened). */
enum bc_status bc_instance_create(const struct bc_registry *reg, enum bc_kind kind,
                                  const struct bc_doc *doc, const struct bc_node *map,
                                  struct bc_context *ctx, struct bc_instance **out,
                                  char **errmsg);
/* The host's own checks of a frontend's common options (rate_limit,
 * auth_fail_limit) beyond their declared types: BC_OK, or BC_E_INVALID
 * with *errmsg. */
enum bc_status bc_instance_check_host_options(enum bc_kind kind, const struct bc_doc *doc,
                                              const struct bc_node *map, const char *owner,
                                              const struct bc_config *cfg, char **errmsg);
void bc_instance_destroy(struct bc_instance *inst);
const char *bc_instance_name(const struct bc_instance *inst);
const struct bc_loaded_plugin *bc_instance_plugin(const struct bc_instance *inst);
const struct bc_config *bc_instance_config(const struct bc_instance *inst);
/* The plugin's own state (what its create() returned). */
void *bc_instance_state(const struct bc_instance *inst);
/* Take and release the instance's call lock (no-op for thread-safe plugins). */
void bc_instance_enter(struct bc_instance *inst);
void bc_instance_leave(struct bc_instance *inst);
/* The provider instance's stop(), under its call lock: the API stop, the
 * auto-stop and a start's rollback all go through it. */
enum bc_status bc_instance_provider_stop(struct bc_instance *inst,
                                         const struct bc_stream_info *info, struct bc_error *err);

/* ------------------------------------------------------------------------
 * records.c: the record sink stores write into (struct bc_record_sink), with
 * copies the framework owns.
 */
struct bc_record_copy {
	char *id, *name, *type, *provider, *owner, *meta;
	enum bc_stream_state state;
	int64_t start_ms, stop_ms;
	/* since ABI 1.1 (zero / "" from a 1.0 store) */
	enum bc_media_state media;
	int64_t publish_ms, media_ms;
	char *stop_reason;          /* never NULL once put; may be NULL in a
	                               hand-made copy (read as "") */
	uint64_t event_seq;
};

struct bc_record_sink {
	struct bc_record_copy *items;
	size_t n, cap;
	enum bc_status status; /* first failure of record_put (BC_E_NOMEM, BC_E_INVALID) */
};

void bc_record_sink_init(struct bc_record_sink *sink);
void bc_record_sink_free(struct bc_record_sink *sink);
/* The implementation of bc_host_api.record_put. */
enum bc_status bc_record_put(struct bc_record_sink *sink, const struct bc_record *record);

/* ------------------------------------------------------------------------
 * records.c: the event sink stores' events() write into (struct
 * bc_event_sink, bc_host_api.event_put), with copies the framework owns.
 * Since ABI 1.1.
 */
struct bc_event_copy {
	uint64_t cursor, seq;
	char *stream_id, *type, *owner, *data;
	int64_t time_ms;
};

struct bc_event_sink {
	struct bc_event_copy *items;
	size_t n, cap;
	enum bc_status status; /* first failure of event_put (BC_E_NOMEM, BC_E_INVALID) */
};

void bc_event_sink_init(struct bc_event_sink *sink);
void bc_event_sink_free(struct bc_event_sink *sink);
/* The implementation of bc_host_api.event_put: copies the event (zero-
 * extended); BC_E_INVALID without stream_id or type. */
enum bc_status bc_event_put(struct bc_event_sink *sink, const struct bc_event *event);

#endif /* BC_INTERNAL_H */
