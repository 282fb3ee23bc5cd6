# SPDX-License-Identifier: Apache-2.0
# libFuzzer targets for the parsers that take outside input (tests/fuzz/*.c),
# their seed corpora (tests/fuzz/corpus/<target>/) and a short run of each
# as a test (tests/fuzz/run-short.sh); the daemon's reliability tests; and
# `make check-valgrind`. docs/testing.md says how to run them and what they
# found.
#
# The targets need clang with libFuzzer (Debian: clang-14 and
# libclang-rt-14-dev) and are compiled with it from the sources themselves,
# not from the gcc-built libtool archives: libFuzzer needs its coverage
# instrumentation in the code under test. Nothing here is part of `all`, so
# plain `make` never needs clang; `make fuzz` builds every target, and
# `make check` builds them first only when $(FUZZ_CC) can link a fuzzer,
# otherwise run-short.sh reports a skip (exit 77).

FUZZ_CC = clang-14
bc_fuzz_sanitize = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
bc_fuzz_cppflags = -I$(top_srcdir)/include -I$(top_srcdir)/framework -I$(top_builddir) \
	-I$(top_srcdir)/providers/s3 -I$(top_srcdir)/frontends/unix -I$(top_srcdir)/providers/local \
	-DBC_PLUGIN_DIR='"$(pkglibdir)"' -DBC_SYSCONF_DIR='"$(sysconfdir)/broadcast"' \
	-DBC_STATE_DIR='"$(localstatedir)/lib/broadcast"'
bc_fuzz_cflags = -std=gnu11 -g -O1 -Wall -Wextra -Wno-unused-parameter $(bc_fuzz_sanitize) \
	$(YAML_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS) $(EXPAT_CFLAGS)
bc_fuzz_libs = $(YAML_LIBS) $(JANSSON_LIBS) $(CRYPTO_LIBS) -ldl -lpthread

# The framework files the targets reach. They go into one static archive so
# a target links only the members it uses.
bc_fuzz_core_sources = framework/error.c framework/util.c framework/log.c \
	framework/yamldoc.c framework/options.c framework/params.c framework/tokens.c
bc_fuzz_core_objects = $(bc_fuzz_core_sources:%.c=tests/fuzz/obj/%.o)
bc_fuzz_targets = tests/fuzz/fuzz_params tests/fuzz/fuzz_config tests/fuzz/fuzz_tokens

# Library code gets coverage instrumentation without libFuzzer's main().
tests/fuzz/obj/%.o: $(srcdir)/%.c $(srcdir)/framework/bc_internal.h config.h
	@$(MKDIR_P) $(@D)
	$(AM_V_CC)$(FUZZ_CC) $(bc_fuzz_cppflags) $(bc_fuzz_cflags) -fsanitize=fuzzer-no-link \
		-c -o $@ $<

tests/fuzz/libfuzzcore.a: $(bc_fuzz_core_objects)
	$(AM_V_GEN)rm -f $@ && $(AR) rcs $@ $(bc_fuzz_core_objects)

tests/fuzz/fuzz_%: $(srcdir)/tests/fuzz/fuzz_%.c $(srcdir)/tests/fuzz/fuzz_thread.h \
		tests/fuzz/libfuzzcore.a
	@$(MKDIR_P) $(@D)
	$(AM_V_CCLD)$(FUZZ_CC) $(bc_fuzz_cppflags) $(bc_fuzz_cflags) -fsanitize=fuzzer \
		-o $@ $< tests/fuzz/libfuzzcore.a $(bc_fuzz_libs)

# Plugin parsers are internal to their .so, so their sources are compiled
# into the target, as their unit tests do.
if BUILD_PLUGIN_PROVIDER_S3
bc_fuzz_targets += tests/fuzz/fuzz_s3_xml tests/fuzz/fuzz_s3_sign
endif
tests/fuzz/fuzz_s3_xml: $(srcdir)/tests/fuzz/fuzz_s3_xml.c tests/fuzz/obj/providers/s3/s3_xml.o
	$(AM_V_CCLD)$(FUZZ_CC) $(bc_fuzz_cppflags) $(bc_fuzz_cflags) -fsanitize=fuzzer \
		-o $@ $(srcdir)/tests/fuzz/fuzz_s3_xml.c tests/fuzz/obj/providers/s3/s3_xml.o \
		$(EXPAT_LIBS) $(CRYPTO_LIBS)
tests/fuzz/fuzz_s3_sign: $(srcdir)/tests/fuzz/fuzz_s3_sign.c tests/fuzz/obj/providers/s3/s3_sign.o
	$(AM_V_CCLD)$(FUZZ_CC) $(bc_fuzz_cppflags) $(bc_fuzz_cflags) -fsanitize=fuzzer \
		-o $@ $(srcdir)/tests/fuzz/fuzz_s3_sign.c tests/fuzz/obj/providers/s3/s3_sign.o \
		$(CRYPTO_LIBS) -lpthread
if BUILD_PLUGIN_FRONTEND_UNIX
bc_fuzz_targets += tests/fuzz/fuzz_unix_conn
endif
tests/fuzz/fuzz_unix_conn: $(srcdir)/tests/fuzz/fuzz_unix_conn.c \
		tests/fuzz/obj/frontends/unix/unix_conn.o tests/fuzz/libfuzzcore.a
	$(AM_V_CCLD)$(FUZZ_CC) $(bc_fuzz_cppflags) $(bc_fuzz_cflags) -fsanitize=fuzzer \
		-o $@ $(srcdir)/tests/fuzz/fuzz_unix_conn.c tests/fuzz/obj/frontends/unix/unix_conn.o \
		tests/fuzz/libfuzzcore.a $(bc_fuzz_libs)
if BUILD_PLUGIN_PROVIDER_LOCAL
bc_fuzz_targets += tests/fuzz/fuzz_local_paths
endif
tests/fuzz/fuzz_local_paths: $(srcdir)/tests/fuzz/fuzz_local_paths.c \
		tests/fuzz/obj/providers/local/local_streams.o
	$(AM_V_CCLD)$(FUZZ_CC) $(bc_fuzz_cppflags) $(bc_fuzz_cflags) -fsanitize=fuzzer \
		-o $@ $(srcdir)/tests/fuzz/fuzz_local_paths.c \
		tests/fuzz/obj/providers/local/local_streams.o $(CRYPTO_LIBS) -lpthread

# The HTTP request path: a real CivetWeb server in the process, with the
# handler and callbacks of frontends/http/http.c around http_guard.c (linked
# against the distribution's libcivetweb, which is not instrumented).
if BUILD_PLUGIN_FRONTEND_HTTP
bc_fuzz_targets += tests/fuzz/fuzz_http_request
endif
tests/fuzz/fuzz_http_request: $(srcdir)/tests/fuzz/fuzz_http_request.c \
		$(srcdir)/frontends/http/http_guard.h tests/fuzz/obj/frontends/http/http_guard.o
	$(AM_V_CCLD)$(FUZZ_CC) $(bc_fuzz_cppflags) -I$(top_srcdir)/frontends/http \
		$(bc_fuzz_cflags) -fsanitize=fuzzer -o $@ $(srcdir)/tests/fuzz/fuzz_http_request.c \
		tests/fuzz/obj/frontends/http/http_guard.o $(CIVETWEB_LIBS) -lpthread

fuzz: $(bc_fuzz_targets)

# Build the targets for `make check` when clang with libFuzzer is there; the
# probe links an empty fuzzer, so a clang without libclang-rt is caught too.
fuzz-if-possible:
	@if printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ return 0; }\n' \
	    | $(FUZZ_CC) -x c -fsanitize=fuzzer -o tests/fuzz-probe - >/dev/null 2>&1; then \
	  rm -f tests/fuzz-probe; $(MAKE) $(AM_MAKEFLAGS) fuzz; \
	else \
	  rm -f tests/fuzz-probe; \
	  echo "fuzz: $(FUZZ_CC) cannot link a libFuzzer target (apt-get install clang-14 libclang-rt-14-dev); fuzz tests will be skipped"; \
	fi
.PHONY: fuzz fuzz-if-possible

TESTS += tests/fuzz/run-short.sh
tests/fuzz/run-short.log: fuzz-if-possible

# The reliability tests of the real daemon (docs/testing.md): secrets never
# logged, acknowledged writes surviving SIGKILL, SIGHUP reload. They are
# listed here so this file is the one include the reliability checks need.
TESTS += tests/integration/test_secrets.py tests/integration/test_crash_safety.py \
	tests/integration/test_reload.py

CLEANFILES += $(bc_fuzz_targets) $(bc_fuzz_core_objects) tests/fuzz/libfuzzcore.a \
	tests/fuzz/obj/providers/s3/s3_xml.o tests/fuzz/obj/providers/s3/s3_sign.o \
	tests/fuzz/obj/frontends/unix/unix_conn.o tests/fuzz/obj/providers/local/local_streams.o \
	tests/fuzz/obj/frontends/http/http_guard.o \
	tests/fuzz/fuzz-*.log
EXTRA_DIST += tests/fuzz/run-short.sh tests/fuzz/corpus tests/fuzz/fuzz_params.c \
	tests/fuzz/fuzz_config.c tests/fuzz/fuzz_tokens.c tests/fuzz/fuzz_s3_xml.c \
	tests/fuzz/fuzz_s3_sign.c tests/fuzz/fuzz_unix_conn.c tests/fuzz/fuzz_local_paths.c \
	tests/fuzz/fuzz_http_request.c tests/fuzz/fuzz_thread.h

# `make check-valgrind`: the test suite under valgrind memcheck. Check unit
# tests run in-process (CK_FORK=no, so valgrind sees the tests themselves and
# leaks are counted at exit) through LOG_COMPILER; integration tests wrap
# broadcastd in valgrind through BC_DAEMON_WRAPPER (tests/integration/
# bctest.py), so a memory error or a definite leak makes the daemon exit 1 and
# the test fail. --keep-debuginfo keeps the names of dlclose()d plugins in
# stacks. The fuzz run is left out: it has its own sanitizers. It lives here
# so that tests/fuzz/local.mk is the only include the reliability checks need.
VALGRIND = valgrind
bc_valgrind = $(VALGRIND) -q --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=1 --keep-debuginfo=yes
check-valgrind:
	@command -v $(VALGRIND) >/dev/null 2>&1 || \
	  { echo "check-valgrind: $(VALGRIND) not found (apt-get install valgrind)"; exit 1; }
	CK_FORK=no BC_DAEMON_WRAPPER='$(bc_valgrind)' \
	  $(MAKE) $(AM_MAKEFLAGS) check LOG_COMPILER='$(bc_valgrind)' \
	  TESTS='$(filter-out tests/fuzz/run-short.sh,$(TESTS))'
.PHONY: check-valgrind

# What the short runs leave: new inputs libFuzzer found and any crash
# artifacts (folders, so not CLEANFILES).
clean-local: clean-fuzz-work
clean-fuzz-work:
	rm -rf tests/fuzz/work tests/fuzz/obj tests/fuzz/crash-* tests/fuzz/fuzz-*.log
.PHONY: clean-fuzz-work
