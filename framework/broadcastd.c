/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broadcastd.c: the daemon, a thin main() over libbroadcast: arguments,
 * the informational modes (--version, --list-plugins, --describe,
 * --check-config, --hash-token) and the signal loop. SIGTERM and SIGINT
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
	        "       broadcastd --list-plugins | --describe TYPE | --hash-token NAME | --version\n"
	        "\n"
	        "Provision live-video ingest endpoints (S3 credentials, uploads to a local HLS\n"
	        "origin) behind an HTTP and Unix-socket API.\n"
	        "\n"
	        "  -c, --config FILE    configuration (default %s)\n"
	        "      --check-config   validate the configuration and plugins, then exit\n"
	        "      --list-plugins   list the plugins found and their ABI versions\n"
	        "      --describe TYPE  print the options a plugin accepts\n"
	        "      --hash-token NAME  make a new bearer token and its tokens_file line\n"
	        "      --version        print the version and the plugin ABI version\n"
	        "  -h, --help           this text\n"
	        "\n"
	        "Plugins are searched in $BROADCAST_PLUGIN_PATH, the configuration's plugin_dir\n"
	        "and %s. See broadcastd(8).\n",
	        DEFAULT_CONFIG, BC_PLUGIN_DIR);
}

static struct bc_registry *load_registry(void)
{
	char **dirs = bc_plugin_search_path(NULL);
	struct bc_registry *reg = dirs ? bc_registry_load((const char *const *)dirs) : NULL;
	bc_strv_free(dirs);
	return reg;
}

static int list_plugins(void)
{
	struct bc_registry *reg = load_registry();
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
	}
	for (size_t i = 0; i < bc_registry_reject_count(reg); i++)
		printf("rejected: %s\n", bc_registry_reject_at(reg, i));
	bc_registry_free(reg);
	return 0;
}

static int describe(const char *type)
{
	struct bc_registry *reg = load_registry();
	int found = 0;
	if (reg == NULL)
		return 1;
	for (size_t i = 0; i < bc_registry_count(reg); i++) {
		const struct bc_loaded_plugin *p = bc_registry_at(reg, i);
		if (strcmp(p->desc.name, type) != 0)
			continue;
		if (found++)
			printf("\n");
		printf("%s %s %s (ABI %u.%u): %s\n", bc_kind_name(p->desc.kind), p->desc.name,
		       p->desc.version ? p->desc.version : "", p->desc.abi_major, p->desc.abi_minor,
		       p->desc.description ? p->desc.description : "");
		printf("from %s%s\n\n", p->path,
		       p->desc.flags & BC_PLUGIN_THREAD_SAFE ? " (thread-safe)" : "");
		bc_options_describe(stdout, p->desc.options, bc_common_options(p->desc.kind));
	}
	bc_registry_free(reg);
	if (!found) {
		fprintf(stderr, "broadcastd: no plugin named '%s'; see broadcastd --list-plugins\n",
		        type);
		return 1;
	}
	return 0;
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
		{ "hash-token", required_argument, NULL, 'T' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_CONFIG;
	int opt, check_only = 0;

	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'C': check_only = 1; break;
		case 'L': return list_plugins();
		case 'D': return describe(optarg);
		case 'T': return hash_token(optarg);
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
	return run(path, check_only);
}
