/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broadcast/plugin.h: what every plugin shared object exports.
 *
 * A plugin is a shared object (a libtool module) that exports exactly one
 * symbol, bc_plugin_entry(). The host calls it once after dlopen() with its
 * own ABI version; the plugin answers with a NULL-terminated array of
 * descriptors (one .so may hold several plugins, of any kinds) or NULL to
 * decline. The descriptor names the plugin (its YAML `type`), its kind, the
 * options it accepts and a kind-specific table of operations, declared in
 * provider.h, store.h and frontend.h.
 *
 * Versioning rules (docs/abi.md has the whole story):
 *  - BC_ABI_MAJOR must be equal in host and plugin. It changes only when an
 *    existing member is removed or changes meaning, which we intend never to do.
 *  - A plugin's abi_minor is the lowest host minor it needs. The host refuses
 *    a plugin whose abi_minor is greater than its own.
 *  - Every struct that crosses the boundary begins with `struct_size`, set by
 *    whoever fills it to sizeof() as compiled. Structs only grow at their end.
 *    The host copies what a plugin hands it into a zeroed struct of its own
 *    size, so members an older plugin lacks read as zero or NULL; a plugin
 *    reads members of host structs only when BC_HAS_MEMBER() says they exist.
 *  - Enum values are frozen: new values are appended, never renumbered.
 *
 * Every addition is recorded in docs/abi-history with the minor that added it;
 * a test compares that file with these headers.
 *
 * Since ABI 1.0.
 */
#ifndef BROADCAST_PLUGIN_H
#define BROADCAST_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI major version these headers describe. Since ABI 1.0. */
#define BC_ABI_MAJOR 1
/** The ABI minor version these headers describe. Since ABI 1.0. */
#define BC_ABI_MINOR 1

/**
 * The lowest host minor a plugin built with these headers needs, which
 * BC_PLUGIN_INIT() writes into bc_plugin.abi_minor. By default the headers'
 * own minor: a plugin that uses what they declare without checking needs a
 * host that has it. A plugin that guards every member newer than minor N
 * with BC_HAS_MEMBER() defines BC_PLUGIN_MIN_MINOR to N before including any
 * <broadcast/...> header (or with -DBC_PLUGIN_MIN_MINOR=N) and then loads on
 * hosts of minor N and later. Since ABI 1.1.
 */
#ifndef BC_PLUGIN_MIN_MINOR
#define BC_PLUGIN_MIN_MINOR BC_ABI_MINOR
#endif

/**
 * Marks bc_plugin_entry() exported whatever the compiler's default
 * visibility: a plugin built with -fvisibility=hidden still exports it (the
 * declaration below carries it, so the definition needs nothing more).
 * Since ABI 1.1.
 */
#if defined(__GNUC__) || defined(__clang__)
#define BC_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define BC_PLUGIN_EXPORT
#endif

/**
 * Option names the host reads itself for every instance of a kind, and
 * that a plugin therefore may not declare (the loader refuses a plugin that
 * does, naming the option):
 *  - every kind: "name", "type";
 *  - providers: "stream_types", "idle_timeout", "max_duration" (since 1.1);
 *  - stores: "event_retention", "event_max" (since 1.1);
 *  - frontends: "tokens_file", "rate_limit", "rate_burst", "auth_fail_limit"
 *    (since 1.1), "max_body".
 * New host-wide names are added only with a new minor. A plugin built for
 * an older minor that declares a name reserved since is refused too, with a
 * message naming it (the host could not tell which of the two meanings the
 * YAML means): rename the option. Since ABI 1.1.
 */

/** The name of the one symbol a plugin exports. Since ABI 1.0. */
#define BC_PLUGIN_ENTRY_SYMBOL "bc_plugin_entry"

/**
 * BC_HAS_MEMBER(ptr, type, member): true when the struct `ptr` points to,
 * whose struct_size was filled by its producer, is large enough to hold
 * `member`. Use it before reading a member added after ABI 1.0 in a struct
 * the other side filled, for example a host function:
 *
 *     if (BC_HAS_MEMBER(api, struct bc_host_api, some_new_fn) && api->some_new_fn)
 *
 * Since ABI 1.0.
 */
#define BC_HAS_MEMBER(ptr, type, member)                                      \
	((ptr) != NULL &&                                                     \
	 (ptr)->struct_size >= offsetof(type, member) + sizeof(((type *)0)->member))

/**
 * The status every fallible call across the ABI returns. Frozen: values are
 * never renumbered, new ones are only appended before nothing (there is no
 * "count" member on purpose). The host maps each to an HTTP status and a
 * broadcastctl exit code; the dotted code given to bc_host_api.fail() refines
 * it for programs. Since ABI 1.0.
 */
enum bc_status {
	BC_OK = 0,             /**< success */
	BC_E_INVALID = 1,      /**< bad parameter or configuration (HTTP 400) */
	BC_E_UNAUTHENTICATED = 2, /**< no or bad credentials (HTTP 401) */
	BC_E_FORBIDDEN = 3,    /**< authenticated but not allowed (HTTP 403) */
	BC_E_NOT_FOUND = 4,    /**< no such stream or object (HTTP 404) */
	BC_E_CONFLICT = 5,     /**< state does not allow it, e.g. stopped (HTTP 409) */
	BC_E_TOO_LARGE = 6,    /**< input over a size limit (HTTP 413) */
	BC_E_RATE_LIMITED = 7, /**< caller over its rate (HTTP 429) */
	BC_E_UNAVAILABLE = 8,  /**< a dependency is down or busy (HTTP 503) */
	BC_E_TIMEOUT = 9,      /**< a dependency did not answer in time (HTTP 504) */
	BC_E_UPSTREAM = 10,    /**< a dependency answered wrongly or refused (HTTP 502) */
	BC_E_UNSUPPORTED = 11, /**< operation or method not supported (HTTP 405) */
	BC_E_NOMEM = 12,       /**< out of memory (HTTP 500) */
	BC_E_INTERNAL = 13     /**< a bug or an unexpected failure (HTTP 500) */
};

/** Plugin kinds. Frozen. Since ABI 1.0. */
enum bc_kind {
	BC_KIND_PROVIDER = 1, /**< mints ingest endpoints: ops is struct bc_provider_ops */
	BC_KIND_STORE = 2,    /**< keeps stream records: ops is struct bc_store_ops */
	BC_KIND_FRONTEND = 3  /**< a transport for the API: ops is struct bc_frontend_ops */
};

/**
 * Option value types. The host parses the YAML scalar into the type, and the
 * plugin reads it back through the getters in struct bc_host_api. Frozen.
 * Since ABI 1.0.
 */
enum bc_opt_type {
	BC_OPT_STRING = 1,   /**< any scalar, read with cfg_str */
	BC_OPT_INT = 2,      /**< signed 64-bit integer, read with cfg_int */
	BC_OPT_BOOL = 3,     /**< true/false/yes/no/on/off, read with cfg_bool */
	BC_OPT_DURATION = 4, /**< "250ms", "30s", "5m", "2h", "1d" or a bare number
	                          of seconds; cfg_int returns milliseconds */
	BC_OPT_SIZE = 5,     /**< "512", "64k", "10M", "1G" (powers of 1024);
	                          cfg_int returns bytes */
	BC_OPT_LIST = 6,     /**< a YAML sequence of scalars, or one scalar taken as
	                          a one-item list; read with cfg_list_len/cfg_list_at */
	BC_OPT_ENUM = 7      /**< one of bc_option.enum_values, read with cfg_str */
};

/** bc_option.flags bits. Since ABI 1.0. */
#define BC_OPT_REQUIRED 0x1u /**< the YAML must set it (a default makes no sense then) */
#define BC_OPT_SECRET 0x2u   /**< never printed, logged or shown; the host redacts
                                  its value from every log line */
/**
 * The value may not be empty: the host refuses `key: ""` (and a LIST with
 * no items or an empty item) before create(), naming the option, so the
 * plugin need not check it again. An option that is not set at all is
 * refused only if it is BC_OPT_REQUIRED too. A host of ABI 1.0 ignores the
 * bit: a plugin that must load on one (BC_PLUGIN_MIN_MINOR 0) keeps its own
 * check. Since ABI 1.1.
 */
#define BC_OPT_NONEMPTY 0x4u

/**
 * One declared option of a plugin. A plugin declares its options once, in a
 * static array ending with an element whose struct_size is 0 (BC_OPTION_END).
 * The host walks the array by each element's struct_size, validates the
 * instance's YAML against it before create() (unknown keys are rejected with
 * the list of valid ones), fills defaults, and prints it for
 * `broadcastd --describe TYPE`. Nested YAML maps are addressed with dots:
 * an option named "tls.cert" is set by `tls: {cert: ...}`.
 *
 * All pointers are borrowed from the plugin's static data and must stay valid
 * until the plugin is unloaded. Since ABI 1.0.
 */
struct bc_option {
	size_t struct_size;         /**< sizeof(struct bc_option); 0 ends the array */
	const char *name;           /**< key in the instance's YAML map */
	enum bc_opt_type type;      /**< how the value is parsed */
	unsigned flags;             /**< BC_OPT_REQUIRED, BC_OPT_SECRET, BC_OPT_NONEMPTY */
	const char *default_value;  /**< YAML text of the default, or NULL for none */
	const char *description;    /**< one or two sentences for --describe and docs */
	const char *const *enum_values; /**< BC_OPT_ENUM: NULL-terminated choices */
	int64_t min;                /**< BC_OPT_INT/DURATION/SIZE: smallest value (in ms
	                                 or bytes) when min < max; ignored otherwise */
	int64_t max;                /**< largest value when min < max */
};

/** A convenience initialiser: BC_OPTION(.name = "bucket", .type = BC_OPT_STRING, ...). */
#define BC_OPTION(...) { .struct_size = sizeof(struct bc_option), __VA_ARGS__ }
/** The element that ends an option array. */
#define BC_OPTION_END { .struct_size = 0 }

/** Plugin-wide flags, bc_plugin.flags. Since ABI 1.0. */
#define BC_PLUGIN_THREAD_SAFE 0x1u /**< the host may call one instance from several
                                        threads at once; without it the host
                                        serialises calls into each instance */

/**
 * The descriptor of one plugin, returned (by pointer, in an array) from
 * bc_plugin_entry(). It must be static data of the plugin: the host keeps the
 * pointer until it unloads the .so. Since ABI 1.0.
 */
struct bc_plugin {
	size_t struct_size;       /**< sizeof(struct bc_plugin) as the plugin compiled it */
	unsigned abi_major;       /**< BC_ABI_MAJOR the plugin was built against */
	unsigned abi_minor;       /**< the lowest host minor the plugin needs */
	enum bc_kind kind;        /**< which table `ops` points to */
	const char *name;         /**< the YAML `type`, [a-z0-9_-]{1,32}, unique per kind */
	const char *version;      /**< the plugin's own version, free text */
	const char *description;  /**< one line for --list-plugins */
	unsigned flags;           /**< BC_PLUGIN_THREAD_SAFE */
	const struct bc_option *options; /**< declared options, or NULL for none */
	const void *ops;          /**< struct bc_provider_ops, bc_store_ops or
	                               bc_frontend_ops, by kind; its own struct_size */
};

/**
 * The initialiser every plugin uses for its descriptor, so struct_size and
 * the versions are always right (abi_minor is BC_PLUGIN_MIN_MINOR):
 *
 *     static const struct bc_plugin my = BC_PLUGIN_INIT(.kind = ..., .name = ...);
 */
#define BC_PLUGIN_INIT(...)                                                   \
	{ .struct_size = sizeof(struct bc_plugin), .abi_major = BC_ABI_MAJOR, \
	  .abi_minor = BC_PLUGIN_MIN_MINOR, __VA_ARGS__ }

/**
 * bc_plugin_entry: the one symbol a plugin exports.
 *
 * host_major, host_minor: the host's ABI version.
 *
 * Returns a NULL-terminated array of descriptors, static in the plugin, or
 * NULL to decline loading (for example when host_major differs and the plugin
 * knows it cannot work). It must be pure: no allocation, no threads, no I/O,
 * no global state; the host may call it more than once and from any thread.
 * The host checks each descriptor's versions itself and reports mismatches.
 *
 * Since ABI 1.0.
 */
typedef const struct bc_plugin *const *(*bc_plugin_entry_fn)(unsigned host_major,
                                                             unsigned host_minor);

/** The declaration a plugin's source implements (and the only one it
 *  exports). BC_PLUGIN_EXPORT since ABI 1.1. */
BC_PLUGIN_EXPORT const struct bc_plugin *const *bc_plugin_entry(unsigned host_major,
                                                                unsigned host_minor);

#ifdef __cplusplus
}
#endif

#endif /* BROADCAST_PLUGIN_H */
