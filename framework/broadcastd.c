/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broadcastd.c: the daemon, a thin main() over libbroadcast: arguments,
 * the informational modes (--version, --list-plugins, --describe,
 * --check-plugin, --check-config, --hash-token) and the signal loop. SIGTERM and SIGINT
 * drain the frontends and exit 0; SIGHUP (and the API's reload operation)
 * re-read the configuration. Everything else is the library's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bc_runtime.h"

#define DEFAULT_CONFIG BC_SYSCONF_DIR "/broadcast.yaml"
#define DRAIN_MS 10000

static int wake_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	char c = sig == SIGHUP ? 'H' : 'T';
	if (write(wake_pipe[1], &c, 1) < 0) {
		/* nothing to do in a signal handler */
	}
	errno = saved;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: broadcastd [-c FILE] [--check-config]\n"
	        "       broadcastd [-c FILE] --list-plugins | --describe TYPE|FILE.so [--markdown]\n"
	        "       broadcastd [-c FILE] --describe all --markdown | --check-plugin FILE.so\n"
	        "       broadcastd --hash-token NAME | --version\n"
	        "\n"
	        "Provision live-video ingest endpoints (S3 credentials, uploads to a local HLS\n"
	        "origin) behind an HTTP and Unix-socket API.\n"
	        "\n"
	        "  -c, --config FILE    configuration (default %s); its plugin_dir is\n"
	        "                       searched by --list-plugins and --describe too\n"
	        "      --check-config   validate the configuration and plugins, then exit\n"
	        "      --list-plugins   list the plugins found, the files refused and why, and\n"
	        "                       the folders searched\n"
	        "      --describe TYPE  print the options of plugin TYPE, or of every plugin of\n"
	        "                       a .so file given by path; `all` for every plugin\n"
	        "      --markdown       with --describe: the option reference as Markdown\n"
	        "                       (docs/configuration.md's reference is `--describe all\n"
	        "                       --markdown`)\n"
	        "      --check-plugin FILE.so  what the file declares (name, kind, ABI, options,\n"
	        "                       thread safety); exit 1 with the reason if the loader\n"
	        "                       would refuse it\n"
	        "      --hash-token NAME  make a new bearer token and its tokens_file line\n"
	        "      --version        print the version and the plugin ABI version\n"
	        "  -h, --help           this text\n"
	        "\n"
	        "Plugins are searched in $BROADCAST_PLUGIN_PATH (':'-separated), the\n"
	        "configuration's plugin_dir and %s. See broadcastd(8)\n"
	        "and broadcast-plugin(7).\n",
	        DEFAULT_CONFIG, BC_PLUGIN_DIR);
}

/* The plugin folders: $BROADCAST_PLUGIN_PATH, the plugin_dir of the
 * configuration at `config` and BC_PLUGIN_DIR. The configuration is read
 * only for plugin_dir; a default one that does not exist is no error, one
 * given with -c that cannot be read is (NULL, message on stderr). */
static char **search_dirs(const char *config, int config_given)
{
	struct bc_doc *doc = NULL;
	char *err = NULL, **dirs;
	const char *conf[65];
	size_t n = 0;

	if (access(config, F_OK) == 0 || config_given) {
		if (bc_doc_load_file(config, &doc, &err) != BC_OK) {
			fprintf(stderr, "broadcastd: %s%s\n", err ? err : "out of memory",
			        config_given ? "" : " (its plugin_dir is not searched)");
			free(err);
			if (config_given)
				return NULL;
			doc = NULL;
		}
	}
	if (doc != NULL) {
		const struct bc_node *pd = bc_node_get(doc->root, "plugin_dir");
		if (pd != NULL && pd->kind == BC_NODE_SCALAR)
			conf[n++] = pd->value;
		for (size_t i = 0; pd != NULL && pd->kind == BC_NODE_SEQ && i < pd->n_items && n < 64;
		     i++)
			if (pd->items[i]->kind == BC_NODE_SCALAR)
				conf[n++] = pd->items[i]->value;
	}
	conf[n] = NULL;
	dirs = bc_plugin_search_path(conf);
	bc_doc_free(doc);
	if (dirs == NULL)
		fprintf(stderr, "broadcastd: out of memory\n");
	return dirs;
}

static void print_searched(FILE *out, char *const *dirs)
{
	fprintf(out, "searched:");
	for (size_t i = 0; dirs[i] != NULL; i++)
		fprintf(out, "%s %s%s", i ? "," : "", dirs[i],
		        access(dirs[i], F_OK) != 0 ? " (missing)"
		        : access(dirs[i], R_OK | X_OK) != 0 ? " (not readable)" : "");
	fprintf(out, "\n");
}

/* A file of a .so path, or NULL for a plugin name. */
static int is_so_path(const char *arg)
{
	size_t n = strlen(arg);
	return strchr(arg, '/') != NULL || (n > 3 && strcmp(arg + n - 3, ".so") == 0);
}

/* Whether the file name of p follows the KIND_NAME.so rule for its
 * declared name ('-' may be written '_'). */
static int file_name_follows_rule(const struct bc_loaded_plugin *p)
{
	const char *base = strrchr(p->path, '/');
	char want[64];
	size_t n;
	base = base ? base + 1 : p->path;
	snprintf(want, sizeof want, "%s_", bc_kind_name(p->desc.kind));
	n = strlen(want);
	if (strncmp(base, want, n) != 0)
		return 0;
	snprintf(want, sizeof want, "%.*s", (int)(strlen(base + n) > 3 ? strlen(base + n) - 3 : 0),
	         base + n);
	return strcmp(base + strlen(base) - 3, ".so") == 0 && bc_plugin_names_match(want,
	                                                                           p->desc.name);
}

static int list_plugins(char *const *dirs)
{
	struct bc_registry *reg = bc_registry_load((const char *const *)dirs);
	size_t mismatched = 0;
	if (reg == NULL) {
		fprintf(stderr, "broadcastd: out of memory\n");
		return 1;
	}
	printf("broadcastd %s, plugin ABI %d.%d\n", PACKAGE_VERSION, BC_ABI_MAJOR, BC_ABI_MINOR);
	printf("%-9s %-10s %-10s %-5s %s\n", "KIND", "NAME", "VERSION", "ABI", "PATH");
	for (size_t i = 0; i < bc_registry_count(reg); i++) {
		const struct bc_loaded_plugin *p = bc_registry_at(reg, i);
		char abi[16];
		snprintf(abi, sizeof abi, "%u.%u", p->desc.abi_major, p->desc.abi_minor);
		printf("%-9s %-10s %-10s %-5s %s\n", bc_kind_name(p->desc.kind), p->desc.name,
		       p->desc.version ? p->desc.version : "-", abi, p->path);
		mismatched += !file_name_follows_rule(p);
	}
	for (size_t i = 0; i < bc_registry_reject_count(reg); i++)
		printf("rejected: %s\n", bc_registry_reject_at(reg, i));
	for (size_t i = 0; mismatched > 0 && i < bc_registry_count(reg); i++) {
		const struct bc_loaded_plugin *p = bc_registry_at(reg, i);
		if (!file_name_follows_rule(p))
			printf("note: %s declares %s '%s' (use `type: %s`); name the file %s_%s.so so "
			       "that broadcastd need not open it while unused\n", p->path,
			       bc_kind_name(p->desc.kind), p->desc.name, p->desc.name,
			       bc_kind_name(p->desc.kind), p->desc.name);
	}
	if (bc_registry_count(reg) == 0 && bc_registry_reject_count(reg) == 0)
		printf("no plugins found\n");
	print_searched(stdout, dirs);
	bc_registry_free(reg);
	return 0;
}

static const char *ops_list(const struct bc_loaded_plugin *p, char *buf, size_t size)
{
	buf[0] = '\0';
#define OP(set, name)                                                            \
	do {                                                                     \
		if (set)                                                         \
			snprintf(buf + strlen(buf), size - strlen(buf), "%s%s",  \
			         buf[0] ? " " : "", name);                       \
	} while (0)
	switch (p->desc.kind) {
	case BC_KIND_PROVIDER: {
		const struct bc_provider_ops *o = &p->ops.provider;
		OP(o->create, "create"); OP(o->start, "start"); OP(o->stop, "stop");
		OP(o->health, "health"); OP(o->destroy, "destroy"); OP(o->check, "check");
		OP(o->resume, "resume");
		break;
	}
	case BC_KIND_STORE: {
		const struct bc_store_ops *o = &p->ops.store;
		OP(o->create, "create"); OP(o->reserve, "reserve"); OP(o->commit, "commit");
		OP(o->abort, "abort"); OP(o->get, "get"); OP(o->stop, "stop"); OP(o->list, "list");
		OP(o->health, "health"); OP(o->destroy, "destroy"); OP(o->check, "check");
		OP(o->commit_event, "commit_event"); OP(o->stop_event, "stop_event");
		OP(o->media, "media"); OP(o->events, "events"); OP(o->events_prune, "events_prune");
		break;
	}
	case BC_KIND_FRONTEND: {
		const struct bc_frontend_ops *o = &p->ops.frontend;
		OP(o->create, "create"); OP(o->start, "start"); OP(o->drain, "drain");
		OP(o->destroy, "destroy"); OP(o->check, "check");
		break;
	}
	}
#undef OP
	return buf;
}

static void describe_one(const struct bc_loaded_plugin *p, int details)
{
	printf("%s %s %s (ABI %u.%u): %s\n", bc_kind_name(p->desc.kind), p->desc.name,
	       p->desc.version ? p->desc.version : "", p->desc.abi_major, p->desc.abi_minor,
	       p->desc.description ? p->desc.description : "");
	printf("from %s%s\n", p->path, p->desc.flags & BC_PLUGIN_THREAD_SAFE ? " (thread-safe)" : "");
	if (details) {
		char ops[512];
		printf("YAML:          type: %s\n", p->desc.name);
		printf("kind:          %s\n", bc_kind_name(p->desc.kind));
		printf("version:       %s\n", p->desc.version ? p->desc.version : "-");
		printf("ABI:           %u.%u (needs a host of ABI %u.%u or later; this host: %d.%d)\n",
		       p->desc.abi_major, p->desc.abi_minor, p->desc.abi_major, p->desc.abi_minor,
		       BC_ABI_MAJOR, BC_ABI_MINOR);
		printf("thread safety: %s\n", p->desc.flags & BC_PLUGIN_THREAD_SAFE
		       ? "thread-safe: the host may call one instance from several threads at once"
		       : "not declared thread-safe: the host serialises calls into each instance");
		printf("operations:    %s\n", ops_list(p, ops, sizeof ops));
		printf("file name:     %s\n", file_name_follows_rule(p)
		       ? "follows the KIND_NAME.so rule"
		       : "does not follow the KIND_NAME.so rule: broadcastd opens it at every start "
		         "to learn its name");
	}
	printf("\n");
	bc_options_describe(stdout, p->desc.options, bc_common_options(p->desc.kind));
}

static int by_kind_name(const void *a, const void *b)
{
	const struct bc_loaded_plugin *x = *(const struct bc_loaded_plugin *const *)a;
	const struct bc_loaded_plugin *y = *(const struct bc_loaded_plugin *const *)b;
	if (x->desc.kind != y->desc.kind)
		return (int)x->desc.kind - (int)y->desc.kind;
	return strcmp(x->desc.name, y->desc.name);
}

/* The option reference of every plugin found, as Markdown, sorted by kind
 * then name; docs/configuration.md's reference is this text. */
static int describe_markdown(const struct bc_registry *reg, const char *type)
{
	size_t n = bc_registry_count(reg), m = 0;
	const struct bc_loaded_plugin **v = calloc(n + 1, sizeof *v);
	if (v == NULL)
		return 1;
	for (size_t i = 0; i < n; i++) {
		const struct bc_loaded_plugin *p = bc_registry_at(reg, i);
		if (type == NULL || strcmp(p->desc.name, type) == 0)
			v[m++] = p;
	}
	if (m > 0)
		qsort(v, m, sizeof *v, by_kind_name);
	for (enum bc_kind k = BC_KIND_PROVIDER; type == NULL && k <= BC_KIND_FRONTEND; k++) {
		printf("<!-- BEGIN %s common -->\n### Every %s\n\n", bc_kind_name(k),
		       bc_kind_name(k));
		printf("Options the host reads for every %s instance, whatever its type.\n\n",
		       bc_kind_name(k));
		bc_options_markdown(stdout, bc_common_options(k));
		printf("<!-- END %s common -->\n\n", bc_kind_name(k));
	}
	for (size_t i = 0; i < m; i++) {
		const struct bc_loaded_plugin *p = v[i];
		printf("<!-- BEGIN %s %s -->\n### %s `%s`\n\n", bc_kind_name(p->desc.kind),
		       p->desc.name, bc_kind_name(p->desc.kind), p->desc.name);
		if (p->desc.description != NULL)
			printf("%s%s\n\n", p->desc.description,
			       p->desc.flags & BC_PLUGIN_THREAD_SAFE ? " (thread-safe)" : "");
		bc_options_markdown(stdout, p->desc.options);
		printf("<!-- END %s %s -->\n\n", bc_kind_name(p->desc.kind), p->desc.name);
	}
	free(v);
	return m > 0 ? 0 : 1;
}

static int describe(char *const *dirs, const char *type, int markdown)
{
	struct bc_registry *reg;
	int found = 0;
	if (is_so_path(type)) {
		char *err = NULL;
		reg = bc_registry_new_empty();
		if (reg == NULL)
			return 1;
		if (bc_registry_load_file(reg, type, &err) != BC_OK) {
			fprintf(stderr, "broadcastd: %s\n", err ? err : "out of memory");
			free(err);
			bc_registry_free(reg);
			return 1;
		}
		free(err);
		type = NULL; /* every plugin of the file */
	} else {
		reg = bc_registry_load((const char *const *)dirs);
		if (reg == NULL)
			return 1;
		if (strcmp(type, "all") == 0)
			type = NULL;
	}
	if (markdown) {
		found = describe_markdown(reg, type) == 0;
	} else {
		for (size_t i = 0; i < bc_registry_count(reg); i++) {
			const struct bc_loaded_plugin *p = bc_registry_at(reg, i);
			if (type != NULL && strcmp(p->desc.name, type) != 0)
				continue;
			if (found++)
				printf("\n");
			describe_one(p, 0);
		}
	}
	if (!found && type != NULL) {
		const char *refused_path = NULL, *why = NULL;
		for (enum bc_kind k = BC_KIND_PROVIDER; why == NULL && k <= BC_KIND_FRONTEND; k++)
			why = bc_registry_refusal(reg, k, type, &refused_path);
		if (why != NULL)
			fprintf(stderr, "broadcastd: no plugin named '%s': found %s but refused: %s\n",
			        type, refused_path, why);
		else
			fprintf(stderr, "broadcastd: no plugin named '%s'; see broadcastd "
			        "--list-plugins\n", type);
		print_searched(stderr, dirs);
	} else if (!found) {
		fprintf(stderr, "broadcastd: no plugins found\n");
		print_searched(stderr, dirs);
	}
	bc_registry_free(reg);
	return found ? 0 : 1;
}

/* `broadcastd --check-plugin FILE.so`: what gst-inspect-1.0 FILE says of a
 * GStreamer plugin, with the loader's own verdict. */
static int check_plugin(const char *path)
{
	struct bc_registry *reg = bc_registry_new_empty();
	char *err = NULL;
	int rc;

	if (reg == NULL)
		return 1;
	rc = bc_registry_load_file(reg, path, &err) == BC_OK ? 0 : 1;
	printf("file:          %s\n", path);
	printf("host ABI:      %d.%d\n\n", BC_ABI_MAJOR, BC_ABI_MINOR);
	for (size_t i = 0; i < bc_registry_count(reg); i++) {
		if (i)
			printf("\n");
		describe_one(bc_registry_at(reg, i), 1);
	}
	for (size_t i = 0; i < bc_registry_reject_count(reg); i++) {
		printf("refused: %s\n", bc_registry_reject_at(reg, i));
		rc = 1;
	}
	if (rc != 0)
		fprintf(stderr, "broadcastd: %s would be refused: %s\n", path,
		        err ? err : bc_registry_reject_count(reg) ? bc_registry_reject_at(reg, 0)
		                                                 : "unknown reason");
	free(err);
	bc_registry_free(reg);
	return rc;
}

static int hash_token(const char *name)
{
	char *token = NULL, *line = NULL;
	if (bc_tokens_generate(name, &token, &line) != 0) {
		fprintf(stderr, "broadcastd: a token name is 1-64 of [A-Za-z0-9_.@-]\n");
		return 2;
	}
	printf("# add this line to the tokens_file:\n%s\n"
	       "# give this token to %s (it is not stored anywhere, keep it secret):\n%s\n",
	       line, name, token);
	free(token);
	free(line);
	return 0;
}

static int run(const char *path, int check_only)
{
	struct bc_context *ctx = NULL;
	char err[1024];
	int rc = 1;

	if (bc_ctx_open_checked(path, check_only, &ctx, err, sizeof err) != BC_OK) {
		bc_log(BC_LOG_ERROR, "broadcastd", "%s", err);
		return 1;
	}
	if (check_only) {
		/* Every plugin's check() ran; what only a real start finds is not. */
		printf("%s: configuration OK (not checked: ports, sockets in use, databases, "
		       "upstream services)\n", path);
		bc_context_close(ctx);
		return 0;
	}
	if (pipe(wake_pipe) != 0) {
		bc_log(BC_LOG_ERROR, "broadcastd", "pipe: %s", strerror(errno));
		goto out;
	}
	fcntl(wake_pipe[0], F_SETFD, FD_CLOEXEC);
	fcntl(wake_pipe[1], F_SETFD, FD_CLOEXEC);
	{
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
		/* A file over RLIMIT_FSIZE (ulimit -f) must fail the write with
		 * EFBIG, which the store reports as 503, not kill the daemon. */
		sigaction(SIGXFSZ, &sa, NULL);
	}
	bc_daemon_set_wakeup(ctx, wake_pipe[1]);
	if (bc_context_serve(ctx, err, sizeof err) != BC_OK) {
		bc_log(BC_LOG_ERROR, "broadcastd", "%s", err);
		goto out;
	}
	bc_log(BC_LOG_INFO, "broadcastd", "broadcastd ready (%s %s, plugin ABI %d.%d)",
	       PACKAGE_NAME, PACKAGE_VERSION, BC_ABI_MAJOR, BC_ABI_MINOR);
	for (;;) {
		char c;
		ssize_t n = read(wake_pipe[0], &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1)
			break;
		if (c == 'T') {
			bc_log(BC_LOG_INFO, "broadcastd", "stopping: draining requests");
			break;
		}
		bc_log(BC_LOG_INFO, "broadcastd", "reloading %s (%s)", path,
		       c == 'H' ? "SIGHUP" : "API request");
		bc_context_reload(ctx, err, sizeof err);
	}
	bc_context_drain(ctx, DRAIN_MS);
	rc = 0;
out:
	bc_context_close(ctx);
	if (rc == 0)
		bc_log(BC_LOG_INFO, "broadcastd", "stopped");
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "list-plugins", no_argument, NULL, 'L' },
		{ "describe", required_argument, NULL, 'D' },
		{ "markdown", no_argument, NULL, 'M' },
		{ "check-plugin", required_argument, NULL, 'P' },
		{ "hash-token", required_argument, NULL, 'T' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_CONFIG, *arg = NULL;
	int opt, check_only = 0, markdown = 0, mode = 0, config_given = 0, rc;
	char **dirs;

	/* Modes act after every option is read, so `--list-plugins -c FILE`
	 * searches FILE's plugin_dir as `-c FILE --list-plugins` does. */
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; config_given = 1; break;
		case 'C': check_only = 1; break;
		case 'M': markdown = 1; break;
		case 'L':
		case 'D':
		case 'P':
		case 'T':
			if (mode != 0 && mode != opt) {
				fprintf(stderr, "broadcastd: give one of --list-plugins, --describe, "
				        "--check-plugin, --hash-token\n");
				return 2;
			}
			mode = opt;
			arg = optarg;
			break;
		case 'V':
			printf("broadcastd %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, BC_ABI_MAJOR,
			       BC_ABI_MINOR);
			return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "broadcastd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (markdown && mode != 'D') {
		fprintf(stderr, "broadcastd: --markdown goes with --describe\n");
		return 2;
	}
	switch (mode) {
	case 'T': return hash_token(arg);
	case 'P': return check_plugin(arg);
	case 'L':
	case 'D':
		if ((dirs = search_dirs(path, config_given)) == NULL)
			return 1;
		rc = mode == 'L' ? list_plugins(dirs) : describe(dirs, arg, markdown);
		bc_strv_free(dirs);
		return rc;
	default:
		return run(path, check_only);
	}
}
