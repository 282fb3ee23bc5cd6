/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stubhost.h: a small host for unit tests of one plugin, loaded through
 * dlopen() and its entry symbol like the real loader does (STYLE rule 13).
 *
 * The instance's options are built as broadcastd builds them: the key/value
 * pairs become the instance's YAML map, read by yamldoc.c and checked by
 * bc_config_build() against the plugin's options and bc_common_options(),
 * so types, units, defaults, unknown and missing keys behave as in
 * production. The stub records every log line so a test can
 * assert that no secret was written, and collects what start() writes with
 * the endpoint builders. Record sinks are the framework's own (records.c).
 */
#ifndef BC_STUBHOST_H
#define BC_STUBHOST_H

#include <broadcast/broadcast.h>

#include "bc_internal.h"

struct stubhost;

/* Load `so_path`, find the descriptor of `kind` named `name` and check its
 * versions. Aborts the test (ck_abort) on failure. */
const struct bc_plugin *stubhost_load_plugin(const char *so_path, enum bc_kind kind,
                                             const char *name);
/* A host for one instance of `plugin`. kv is NULL-terminated: key, value,
 * key, value... Each value is one YAML scalar, taken verbatim; a LIST is the
 * same key given several times (or once). `type` and `name` are added
 * unless given. Values mean what they mean in broadcast.yaml: a bare
 * DURATION is seconds ("3600" is an hour; write "250ms"). A configuration
 * broadcastd would refuse (unknown key, missing required key, bad value)
 * aborts the test with the framework's message. */
struct stubhost *stubhost_new(const char *instance_name, const struct bc_plugin *plugin,
                              const char *const *kv);
/* The framework's message for a configuration broadcastd would refuse
 * (malloc'd), or NULL when it is accepted. */
char *stubhost_config_error(const char *instance_name, const struct bc_plugin *plugin,
                            const char *const *kv);
void stubhost_free(struct stubhost *sh);
const struct bc_host_api *stubhost_api(void);
struct bc_host *stubhost_host(struct stubhost *sh);
const struct bc_config *stubhost_config(struct stubhost *sh);
/* 1 when any log line so far contains needle. */
int stubhost_log_contains(const struct stubhost *sh, const char *needle);
/* All log lines so far, '\n'-separated (borrowed). */
const char *stubhost_log_text(const struct stubhost *sh);
/* The value of a counter (sum over label sets when labels is NULL). */
uint64_t stubhost_counter(const struct stubhost *sh, const char *name, const char *labels);

/* An endpoint for one start() call, and what was written into it. Values of
 * ep_real/ep_int/ep_bool read back as text ("3600.0", "42", "true"). */
struct bc_endpoint *stubhost_endpoint_new(void);
void stubhost_endpoint_free(struct bc_endpoint *ep);
const char *stubhost_ep_value(const struct bc_endpoint *ep, const char *section,
                              const char *field);
unsigned stubhost_ep_flags(const struct bc_endpoint *ep, const char *section,
                           const char *field);
const char *stubhost_ep_meta(const struct bc_endpoint *ep, const char *key);

/* Fill `info` for a stream whose meta_get() answers from ep's meta (ep may
 * be NULL). Strings are borrowed. */
void stubhost_stream_info(struct bc_stream_info *info, const char *id, const char *name,
                          const char *type, const char *owner,
                          const struct bc_endpoint *ep);

/* ---- since ABI 1.1 ---- */

/* The host table as a 1.0 host lends it: struct_size stops before log_v, so
 * BC_HAS_MEMBER() finds no 1.1 member (media_report included). */
const struct bc_host_api *stubhost_api_1_0(void);
/* One api->media_report() call the stub recorded (in call order). */
struct stubhost_media {
	char stream_id[64];
	enum bc_media_fact fact;
	char detail[256]; /* "" when NULL was passed */
	int detail_null;
};
/* Number of media reports so far; for stream_id when not NULL, and of
 * `fact` when fact != 0. */
size_t stubhost_media_count(const struct stubhost *sh, const char *stream_id,
                            enum bc_media_fact fact);
/* Copy report `index` (of all, in order) into out; 0, or -1 when none. */
int stubhost_media_at(const struct stubhost *sh, size_t index, struct stubhost_media *out);
/* Make the next media_report() calls answer `status` (BC_OK: normal; e.g.
 * BC_E_UNAVAILABLE for a full queue). Not recorded while failing. */
void stubhost_media_fail(struct stubhost *sh, enum bc_status status);
/* Resume stream `id` through ops->resume() as the host does after a
 * restart, with ep's meta (ep may be NULL). Returns its status; err may be
 * NULL. */
enum bc_status stubhost_resume(const struct bc_provider_ops *ops, void *instance,
                               const char *id, const struct bc_endpoint *ep,
                               struct bc_error *err);
/* Make api->now_ms() and api->monotonic_ms() of the stub's tables (1.0 and
 * 1.1) answer `ms` later than the real clocks from now on, for a plugin's
 * timers measured in minutes; 0 puts them back. Process-wide. */
void stubhost_clock_skew(int64_t ms);

#endif /* BC_STUBHOST_H */
