/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stubhost.h: a small host for unit tests of one plugin, loaded through
 * dlopen() and its entry symbol like the real loader does (STYLE rule 13).
 *
 * The stub keeps the instance's options as plain key/value pairs (a LIST is
 * the same key given several times), records every log line so a test can
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
/* A host for one instance. kv is NULL-terminated: key, value, key, value...
 * Options the YAML would not set get the declared default of `opts`.
 * DURATION values are written as the YAML would ("30s", "250ms"). */
struct stubhost *stubhost_new(const char *instance_name, const struct bc_option *opts,
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

#endif /* BC_STUBHOST_H */
