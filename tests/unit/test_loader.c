/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_loader.c: Check suite "loader": version negotiation and every
 * reject path of framework/loader.c, with real .so files built from
 * tests/plugins/abi/abi_plugin.c, and ABI 1.1's compatibility in both
 * directions: plugins built against the 1.0 headers (tests/plugins/abi/v10)
 * load on this host, a 1.1 plugin with BC_PLUGIN_MIN_MINOR 0 loads on a
 * host presenting 1.0 (bc_registry_load_file_as) and one without does not.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bc_internal.h"

static char *so_path(const char *name)
{
	const char *b = getenv("BC_BUILDDIR");
	char *p = bc_strdup_printf("%s/tests/plugins/abi/.libs/%s.so", b ? b : ".", name);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* Load one file as a host of ABI maj.min; returns 0 or -1 with *msg. */
static enum bc_status load_as(const char *name, unsigned maj, unsigned min,
                              struct bc_registry **reg, char **msg)
{
	char *path = so_path(name);
	*reg = bc_registry_new_empty();
	ck_assert_ptr_nonnull(*reg);
	*msg = NULL;
	enum bc_status rc = bc_registry_load_file_as(*reg, path, maj, min, msg);
	free(path);
	return rc;
}

START_TEST(same_version_loads)
{
	struct bc_registry *reg;
	char *msg;
	ck_assert_int_eq(load_as("abi_same", BC_ABI_MAJOR, BC_ABI_MINOR, &reg, &msg), BC_OK);
	ck_assert_ptr_null(msg);
	const struct bc_loaded_plugin *p = bc_registry_find(reg, BC_KIND_PROVIDER, "abi-same");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->desc.struct_size, sizeof(struct bc_plugin));
	ck_assert_ptr_nonnull(p->ops.provider.start);
	ck_assert_ptr_null(p->ops.provider.health); /* zero-extended, optional */
	ck_assert_uint_eq(bc_registry_reject_count(reg), 0);
	bc_registry_free(reg);
}
END_TEST

START_TEST(older_minor_loads_on_newer_host)
{
	/* The plugin needs minor BC_ABI_MINOR; a host one minor newer takes it. */
	struct bc_registry *reg;
	char *msg;
	ck_assert_int_eq(load_as("abi_same", BC_ABI_MAJOR, BC_ABI_MINOR + 1, &reg, &msg), BC_OK);
	ck_assert_ptr_nonnull(bc_registry_find(reg, BC_KIND_PROVIDER, "abi-same"));
	bc_registry_free(reg);
}
END_TEST

START_TEST(newer_minor_refused)
{
	struct bc_registry *reg;
	char *msg, want[128];
	ck_assert_int_eq(load_as("abi_newer_minor", BC_ABI_MAJOR, BC_ABI_MINOR, &reg, &msg), BC_E_INVALID);
	ck_assert_ptr_nonnull(msg);
	snprintf(want, sizeof want, "needs ABI %d.%d but this broadcastd has ABI %d.%d",
	         BC_ABI_MAJOR, BC_ABI_MINOR + 1, BC_ABI_MAJOR, BC_ABI_MINOR);
	ck_assert_msg(strstr(msg, want) != NULL, "message: %s", msg);
	ck_assert_msg(strstr(msg, "abi_newer_minor.so") != NULL, "no file in: %s", msg);
	ck_assert_msg(strstr(msg, "abi-newer-minor") != NULL, "no plugin in: %s", msg);
	ck_assert_msg(strstr(msg, "upgrade broadcast") != NULL, "no fix in: %s", msg);
	ck_assert_uint_eq(bc_registry_count(reg), 0);
	ck_assert_uint_eq(bc_registry_reject_count(reg), 1);
	free(msg);
	bc_registry_free(reg);
}
END_TEST

START_TEST(other_major_refused)
{
	struct bc_registry *reg;
	char *msg, want[128];
	ck_assert_int_eq(load_as("abi_other_major", BC_ABI_MAJOR, BC_ABI_MINOR, &reg, &msg), BC_E_INVALID);
	snprintf(want, sizeof want, "built for ABI %d.%d but this broadcastd has ABI %d.%d",
	         BC_ABI_MAJOR + 1, BC_ABI_MINOR, BC_ABI_MAJOR, BC_ABI_MINOR);
	ck_assert_msg(strstr(msg, want) != NULL, "message: %s", msg);
	ck_assert_msg(strstr(msg, "majors must be equal") != NULL, "message: %s", msg);
	free(msg);
	bc_registry_free(reg);
}
END_TEST

START_TEST(missing_symbol_refused)
{
	struct bc_registry *reg;
	char *msg;
	ck_assert_int_eq(load_as("abi_no_entry", BC_ABI_MAJOR, BC_ABI_MINOR, &reg, &msg), BC_E_INVALID);
	ck_assert_msg(strstr(msg, "no exported bc_plugin_entry symbol") != NULL, "message: %s",
	              msg);
	ck_assert_msg(strstr(msg, "abi_no_entry.so") != NULL, "message: %s", msg);
	ck_assert_msg(strstr(msg, "remove it from the plugin directory") != NULL, "message: %s",
	              msg);
	free(msg);
	bc_registry_free(reg);
}
END_TEST

START_TEST(short_struct_refused)
{
	struct bc_registry *reg;
	char *msg;
	ck_assert_int_eq(load_as("abi_short_struct", BC_ABI_MAJOR, BC_ABI_MINOR, &reg, &msg), BC_E_INVALID);
	ck_assert_msg(strstr(msg, "descriptor is 8 bytes") != NULL, "message: %s", msg);
	ck_assert_msg(strstr(msg, "rebuild the plugin") != NULL, "message: %s", msg);
	free(msg);
	bc_registry_free(reg);
}
END_TEST

START_TEST(missing_op_refused)
{
	struct bc_registry *reg;
	char *msg;
	ck_assert_int_eq(load_as("abi_missing_op", BC_ABI_MAJOR, BC_ABI_MINOR, &reg, &msg), BC_E_INVALID);
	ck_assert_msg(strstr(msg, "required operation stop()") != NULL, "message: %s", msg);
	free(msg);
	bc_registry_free(reg);
}
END_TEST

START_TEST(decline_refused)
{
	struct bc_registry *reg;
	char *msg;
	ck_assert_int_eq(load_as("abi_decline", BC_ABI_MAJOR, BC_ABI_MINOR, &reg, &msg), BC_E_INVALID);
	ck_assert_msg(strstr(msg, "declined to load") != NULL, "message: %s", msg);
	free(msg);
	bc_registry_free(reg);
}
END_TEST

START_TEST(not_a_shared_object_refused)
{
	struct bc_registry *reg = bc_registry_new_empty();
	char *msg = NULL;
	char path[] = "/tmp/bc-loader-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "not elf", 7), 7);
	close(fd);
	ck_assert_int_eq(bc_registry_load_file(reg, path, &msg), BC_E_INVALID);
	ck_assert_msg(strstr(msg, "cannot load") != NULL, "message: %s", msg);
	unlink(path);
	free(msg);
	bc_registry_free(reg);
}
END_TEST

START_TEST(directory_scan_and_duplicates)
{
	const char *b = getenv("BC_BUILDDIR");
	char *dir = bc_strdup_printf("%s/tests/plugins/abi/.libs", b ? b : ".");
	char other[] = "/tmp/bc-loader-dup-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(other));
	char *src = bc_strdup_printf("%s/abi_same.so", dir);
	char *copy = bc_strdup_printf("%s/abi_same.so", other);
	ck_assert_int_eq(symlink(src, copy), 0);
	const char *dirs[] = { dir, dir, other, "/nonexistent/dir", NULL };
	struct bc_registry *reg = bc_registry_load(dirs);
	ck_assert_ptr_nonnull(reg);
	/* abi-same loads once; the same file listed twice is one file, a
	 * second copy elsewhere is a reject naming both files; the bad ones
	 * are rejected and listed once each. The good ones besides abi-same:
	 * abi-min0, abi-hidden, abi-fe-idle. */
	ck_assert_ptr_nonnull(bc_registry_find(reg, BC_KIND_PROVIDER, "abi-same"));
	ck_assert_uint_eq(bc_registry_count(reg), 4);
	int dup = 0;
	for (size_t i = 0; i < bc_registry_reject_count(reg); i++)
		dup += strstr(bc_registry_reject_at(reg, i), "was already loaded from") != NULL;
	ck_assert_int_eq(dup, 1);
	bc_registry_free(reg);
	unlink(copy);
	rmdir(other);
	free(src);
	free(copy);
	free(dir);
}
END_TEST

static int want_only(enum bc_kind kind, const char *name, void *arg)
{
	return kind == BC_KIND_PROVIDER && strcmp(name, (const char *)arg) == 0;
}

/* The daemon keeps loaded only what its configuration names; every plugin
 * found is still known (for "unknown type" errors), and a later scan (a
 * reload) adds a newly named one without touching what is loaded. */
START_TEST(wanted_plugins_only)
{
	const char *b = getenv("BC_BUILDDIR");
	char *dir = bc_strdup_printf("%s/tests/plugins/.libs", b ? b : ".");
	const char *dirs[] = { dir, NULL };
	struct bc_registry *reg = bc_registry_load_wanted(dirs, want_only, "none");
	enum bc_kind kind;
	int known_test = 0;
	ck_assert_ptr_nonnull(reg);
	ck_assert_uint_eq(bc_registry_count(reg), 0);
	for (size_t i = 0; i < bc_registry_known_count(reg); i++) {
		const char *n = bc_registry_known_at(reg, i, &kind);
		known_test += kind == BC_KIND_PROVIDER && strcmp(n, "test") == 0;
	}
	ck_assert_int_eq(known_test, 1);
	bc_registry_scan(reg, dirs, want_only, "test");
	const struct bc_loaded_plugin *p = bc_registry_find(reg, BC_KIND_PROVIDER, "test");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(bc_registry_find(reg, BC_KIND_STORE, "memory"));
	bc_registry_scan(reg, dirs, want_only, "test");
	ck_assert_ptr_eq(bc_registry_find(reg, BC_KIND_PROVIDER, "test"), p);
	ck_assert_uint_eq(bc_registry_count(reg), 1);
	bc_registry_free(reg);
	free(dir);

	/* A file not named KIND_NAME.so is opened, checked and closed again. */
	dir = bc_strdup_printf("%s/tests/plugins/abi/.libs", b ? b : ".");
	dirs[0] = dir;
	reg = bc_registry_load_wanted(dirs, want_only, "none");
	ck_assert_uint_eq(bc_registry_count(reg), 0);
	known_test = 0;
	for (size_t i = 0; i < bc_registry_known_count(reg); i++)
		known_test += strcmp(bc_registry_known_at(reg, i, &kind), "abi-same") == 0;
	ck_assert_int_eq(known_test, 1);
	ck_assert_uint_gt(bc_registry_reject_count(reg), 0);
	bc_registry_free(reg);
	free(dir);
}
END_TEST

/* ---- ABI 1.1 ------------------------------------------------------------ */

static char *v10_path(const char *name)
{
	const char *b = getenv("BC_BUILDDIR");
	char *p = bc_strdup_printf("%s/tests/plugins/abi/v10/.libs/%s.so", b ? b : ".", name);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* Plugins built against the 1.0 headers load on this host as 1.0 plugins,
 * their ops zero-extended: no resume(), no event operations. */
START_TEST(plugins_built_against_1_0_load)
{
	for (unsigned hmin = 0; hmin <= BC_ABI_MINOR; hmin++) {
		struct bc_registry *reg = bc_registry_new_empty();
		char *msg = NULL, *store = v10_path("store_memory_v10");
		char *prov = v10_path("provider_test_v10");
		ck_assert_int_eq(bc_registry_load_file_as(reg, store, BC_ABI_MAJOR, hmin, &msg), BC_OK);
		ck_assert_ptr_null(msg);
		ck_assert_int_eq(bc_registry_load_file_as(reg, prov, BC_ABI_MAJOR, hmin, &msg), BC_OK);
		ck_assert_ptr_null(msg);
		const struct bc_loaded_plugin *s = bc_registry_find(reg, BC_KIND_STORE, "memory_v10");
		const struct bc_loaded_plugin *p = bc_registry_find(reg, BC_KIND_PROVIDER, "test_v10");
		ck_assert_ptr_nonnull(s);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(s->desc.abi_minor, 0);
		ck_assert_uint_eq(p->desc.abi_minor, 0);
		ck_assert_ptr_nonnull(s->ops.store.list);
		ck_assert_ptr_null(s->ops.store.commit_event);
		ck_assert_ptr_null(s->ops.store.events_prune);
		ck_assert_ptr_nonnull(p->ops.provider.destroy);
		ck_assert_ptr_null(p->ops.provider.resume);
		ck_assert_uint_eq(bc_registry_reject_count(reg), 0);
		bc_registry_free(reg);
		free(store);
		free(prov);
	}
}
END_TEST

/* Built against the 1.1 headers with -DBC_PLUGIN_MIN_MINOR=0: abi_minor 0,
 * so a host presenting 1.0 takes it (and this one too). */
START_TEST(min_minor_0_loads_on_host_1_0)
{
	struct bc_registry *reg;
	char *msg;
	ck_assert_int_eq(BC_ABI_MINOR, 1);
	for (unsigned hmin = 0; hmin <= BC_ABI_MINOR; hmin++) {
		ck_assert_int_eq(load_as("abi_min0", BC_ABI_MAJOR, hmin, &reg, &msg), BC_OK);
		ck_assert_ptr_null(msg);
		const struct bc_loaded_plugin *p = bc_registry_find(reg, BC_KIND_PROVIDER, "abi-min0");
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(p->desc.abi_minor, 0);
		/* Built with 1.1's headers: its ops table has 1.1's size. */
		ck_assert_ptr_null(p->ops.provider.resume);
		bc_registry_free(reg);
	}
}
END_TEST

/* The same source without BC_PLUGIN_MIN_MINOR needs 1.1: refused by a host
 * presenting 1.0, with the fix. */
START_TEST(default_min_minor_refused_on_host_1_0)
{
	struct bc_registry *reg;
	char *msg;
	ck_assert_int_eq(load_as("abi_same", BC_ABI_MAJOR, 0, &reg, &msg), BC_E_INVALID);
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(strstr(msg, "abi_same.so: plugin 'abi-same' needs ABI 1.1 but this "
	                          "broadcastd has ABI 1.0") != NULL, "message: %s", msg);
	ck_assert_msg(strstr(msg, "upgrade broadcast") != NULL, "message: %s", msg);
	ck_assert_msg(strstr(msg, "-DBC_PLUGIN_MIN_MINOR=0") != NULL, "message: %s", msg);
	ck_assert_uint_eq(bc_registry_count(reg), 0);
	free(msg);
	bc_registry_free(reg);
}
END_TEST

/* -fvisibility=hidden: the header's declaration exports the entry. */
START_TEST(hidden_visibility_with_header_loads)
{
	struct bc_registry *reg;
	char *msg;
	ck_assert_int_eq(load_as("abi_hidden", BC_ABI_MAJOR, BC_ABI_MINOR, &reg, &msg), BC_OK);
	ck_assert_ptr_null(msg);
	ck_assert_ptr_nonnull(bc_registry_find(reg, BC_KIND_PROVIDER, "abi-hidden"));
	bc_registry_free(reg);
}
END_TEST

/* -fvisibility=hidden and an entry without the header's declaration: not
 * exported; the message says why and what to do. */
START_TEST(hidden_visibility_without_declaration_refused)
{
	struct bc_registry *reg;
	char *msg;
	ck_assert_int_eq(load_as("abi_hidden_nodecl", BC_ABI_MAJOR, BC_ABI_MINOR, &reg, &msg), BC_E_INVALID);
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(strstr(msg, "abi_hidden_nodecl.so: no exported bc_plugin_entry symbol "
	                          "(host ABI 1.1)") != NULL, "message: %s", msg);
	ck_assert_msg(strstr(msg, "-fvisibility=hidden or a linker version script") != NULL,
	              "message: %s", msg);
	ck_assert_msg(strstr(msg, "<broadcast/plugin.h> of ABI 1.1 or later") != NULL,
	              "message: %s", msg);
	ck_assert_msg(strstr(msg, "BC_PLUGIN_EXPORT") != NULL, "message: %s", msg);
	ck_assert_msg(strstr(msg, "__attribute__((visibility(\"default\")))") != NULL,
	              "message: %s", msg);
	free(msg);
	bc_registry_free(reg);
}
END_TEST

static void check_reserved(const char *file, const char *plugin, const char *kind,
                           const char *option)
{
	struct bc_registry *reg;
	char *msg, want[256];
	ck_assert_int_eq(load_as(file, BC_ABI_MAJOR, BC_ABI_MINOR, &reg, &msg), BC_E_INVALID);
	ck_assert_ptr_nonnull(msg);
	snprintf(want, sizeof want, "%s.so: %s plugin '%s' (ABI 1.1, host 1.1) declares the "
	         "option '%s', but '%s' is a host-wide option of every %s instance", file, kind,
	         plugin, option, option, kind);
	ck_assert_msg(strstr(msg, want) != NULL, "message: %s\nwanted: %s", msg, want);
	snprintf(want, sizeof want, "rename the plugin's option (for example to '%s_%s')",
	         plugin, option);
	ck_assert_msg(strstr(msg, want) != NULL, "message: %s", msg);
	ck_assert_uint_eq(bc_registry_count(reg), 0);
	ck_assert_uint_eq(bc_registry_reject_count(reg), 1);
	free(msg);
	bc_registry_free(reg);
}

START_TEST(reserved_provider_option_refused)
{
	check_reserved("abi_reserved_provider", "abi-reserved", "provider", "idle_timeout");
}
END_TEST

START_TEST(reserved_frontend_option_refused)
{
	check_reserved("abi_reserved_frontend", "abi-reserved-fe", "frontend", "tokens_file");
}
END_TEST

/* Names are reserved per kind: a frontend may have its own idle_timeout
 * (frontends/unix does), and a plugin's other options are untouched. */
START_TEST(reserved_names_are_per_kind)
{
	struct bc_registry *reg;
	char *msg;
	ck_assert_int_eq(load_as("abi_fe_idle", BC_ABI_MAJOR, BC_ABI_MINOR, &reg, &msg), BC_OK);
	ck_assert_ptr_nonnull(bc_registry_find(reg, BC_KIND_FRONTEND, "abi-fe-idle"));
	bc_registry_free(reg);
}
END_TEST

START_TEST(partial_event_ops_refused)
{
	struct bc_registry *reg;
	char *msg;
	ck_assert_int_eq(load_as("abi_store_partial", BC_ABI_MAJOR, BC_ABI_MINOR, &reg, &msg), BC_E_INVALID);
	ck_assert_msg(strstr(msg, "store plugin 'abi-store-partial' (ABI 1.1, host 1.1) implements "
	                          "some of the ABI 1.1 event operations but not stop_event()") !=
	              NULL, "message: %s", msg);
	free(msg);
	bc_registry_free(reg);
}
END_TEST

START_TEST(half_cursor_ops_refused)
{
	struct bc_registry *reg;
	char *msg;
	ck_assert_int_eq(load_as("abi_store_cursor_half", BC_ABI_MAJOR, BC_ABI_MINOR, &reg, &msg),
	                 BC_E_INVALID);
	ck_assert_msg(strstr(msg, "store plugin 'abi-store-cursor-half' (ABI 1.1, host 1.1) "
	                          "implements some of the ABI 1.1 event operations but not "
	                          "cursor_advance()") != NULL, "message: %s", msg);
	free(msg);
	bc_registry_free(reg);
}
END_TEST

START_TEST(search_path_order)
{
	const char *conf[] = { "/conf/a", NULL };
	setenv("BROADCAST_PLUGIN_PATH", "/env/1:/env/2", 1);
	char **v = bc_plugin_search_path(conf);
	ck_assert_str_eq(v[0], "/env/1");
	ck_assert_str_eq(v[1], "/env/2");
	ck_assert_str_eq(v[2], "/conf/a");
	ck_assert_str_eq(v[3], BC_PLUGIN_DIR);
	ck_assert_ptr_null(v[4]);
	bc_strv_free(v);
}
END_TEST

static Suite *loader_suite(void)
{
	Suite *s = suite_create("loader");
	TCase *tc = tcase_create("negotiation");
	tcase_add_test(tc, same_version_loads);
	tcase_add_test(tc, older_minor_loads_on_newer_host);
	tcase_add_test(tc, newer_minor_refused);
	tcase_add_test(tc, other_major_refused);
	tcase_add_test(tc, missing_symbol_refused);
	tcase_add_test(tc, short_struct_refused);
	tcase_add_test(tc, missing_op_refused);
	tcase_add_test(tc, decline_refused);
	tcase_add_test(tc, not_a_shared_object_refused);
	tcase_add_test(tc, directory_scan_and_duplicates);
	tcase_add_test(tc, wanted_plugins_only);
	tcase_add_test(tc, search_path_order);
	tcase_add_test(tc, plugins_built_against_1_0_load);
	tcase_add_test(tc, min_minor_0_loads_on_host_1_0);
	tcase_add_test(tc, default_min_minor_refused_on_host_1_0);
	tcase_add_test(tc, hidden_visibility_with_header_loads);
	tcase_add_test(tc, hidden_visibility_without_declaration_refused);
	tcase_add_test(tc, reserved_provider_option_refused);
	tcase_add_test(tc, reserved_frontend_option_refused);
	tcase_add_test(tc, reserved_names_are_per_kind);
	tcase_add_test(tc, partial_event_ops_refused);
	tcase_add_test(tc, half_cursor_ops_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(loader_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
