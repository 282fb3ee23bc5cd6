# SPDX-License-Identifier: Apache-2.0
# providers/s3: per-stream temporary AWS credentials from STS
# (GetFederationToken or AssumeRole), scoped to the stream's path of a bucket.
# s3.c lifecycle, s3_sts.c STS client, s3_bucket.c create_bucket,
# s3_http.c the one signed-request path (libcurl), s3_sign.c SigV4 (OpenSSL),
# s3_xml.c STS answers and S3 errors (expat), s3_policy.c policy JSON (jansson).

if BUILD_PLUGIN_PROVIDER_S3
pkglib_LTLIBRARIES += providers/s3/provider_s3.la
providers_s3_provider_s3_la_SOURCES = \
	providers/s3/s3.c \
	providers/s3/s3_bucket.c \
	providers/s3/s3_bucket.h \
	providers/s3/s3_http.c \
	providers/s3/s3_http.h \
	providers/s3/s3_policy.c \
	providers/s3/s3_policy.h \
	providers/s3/s3_sign.c \
	providers/s3/s3_sign.h \
	providers/s3/s3_sts.c \
	providers/s3/s3_sts.h \
	providers/s3/s3_xml.c \
	providers/s3/s3_xml.h
providers_s3_provider_s3_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(EXPAT_CFLAGS) \
	$(CRYPTO_CFLAGS) $(JANSSON_CFLAGS)
providers_s3_provider_s3_la_LDFLAGS = $(bc_plugin_ldflags)
providers_s3_provider_s3_la_LIBADD = $(CURL_LIBS) $(EXPAT_LIBS) $(CRYPTO_LIBS) \
	$(JANSSON_LIBS)

if HAVE_CHECK
# test_s3_sign: the signer against AWS's SigV4 suite (shared/vectors/sigv4,
# or $BC_SIGV4_VECTORS). The signer is internal to the .so, so its source is
# compiled into the test.
# test_s3_policy: path templates, the policy, STS names, STS XML, and the real
# provider_s3.so through the stub host against tests/integration/sts_double.py.
check_PROGRAMS += tests/unit/test_s3_sign tests/unit/test_s3_policy
TESTS += tests/unit/test_s3_sign tests/unit/test_s3_policy
tests_unit_test_s3_sign_SOURCES = tests/unit/test_s3_sign.c \
	providers/s3/s3_sign.c providers/s3/s3_sign.h
tests_unit_test_s3_sign_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/providers/s3
tests_unit_test_s3_sign_CFLAGS = $(bc_unit_cflags)
tests_unit_test_s3_sign_LDADD = $(CHECK_LIBS) $(CRYPTO_LIBS)
tests_unit_test_s3_policy_SOURCES = tests/unit/test_s3_policy.c \
	providers/s3/s3_policy.c providers/s3/s3_policy.h \
	providers/s3/s3_xml.c providers/s3/s3_xml.h
tests_unit_test_s3_policy_CPPFLAGS = $(bc_plugin_test_cppflags) -I$(srcdir)/providers/s3
tests_unit_test_s3_policy_CFLAGS = $(bc_unit_cflags) $(EXPAT_CFLAGS)
tests_unit_test_s3_policy_LDADD = $(bc_plugin_test_ldadd) $(JANSSON_LIBS) $(EXPAT_LIBS) \
	$(CRYPTO_LIBS)
# test_s3_sts, test_s3_bucket: the static helpers of s3_sts.c (the STS form)
# and s3_bucket.c (URL, error code); each test includes its .c.
check_PROGRAMS += tests/unit/test_s3_sts tests/unit/test_s3_bucket
TESTS += tests/unit/test_s3_sts tests/unit/test_s3_bucket
bc_s3_helper_sources = providers/s3/s3_sign.c providers/s3/s3_sign.h \
	providers/s3/s3_xml.c providers/s3/s3_xml.h providers/s3/s3_http.c providers/s3/s3_http.h
tests_unit_test_s3_sts_SOURCES = tests/unit/test_s3_sts.c $(bc_s3_helper_sources)
tests_unit_test_s3_sts_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/providers/s3
tests_unit_test_s3_sts_CFLAGS = $(bc_unit_cflags) $(CURL_CFLAGS) $(EXPAT_CFLAGS)
tests_unit_test_s3_sts_LDADD = $(CHECK_LIBS) $(CURL_LIBS) $(EXPAT_LIBS) $(CRYPTO_LIBS)
tests_unit_test_s3_bucket_SOURCES = tests/unit/test_s3_bucket.c $(bc_s3_helper_sources)
tests_unit_test_s3_bucket_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/providers/s3
tests_unit_test_s3_bucket_CFLAGS = $(bc_unit_cflags) $(CURL_CFLAGS) $(EXPAT_CFLAGS)
tests_unit_test_s3_bucket_LDADD = $(CHECK_LIBS) $(CURL_LIBS) $(EXPAT_LIBS) $(CRYPTO_LIBS)
endif

# End to end: the real broadcastd with this provider against the STS double,
# which checks every signature with botocore (python3-botocore).
TESTS += tests/integration/test_s3_sts.py
# docs/providers/s3.md's option table against `broadcastd --describe s3`.
TESTS += tests/integration/test_s3_docs.py
endif
