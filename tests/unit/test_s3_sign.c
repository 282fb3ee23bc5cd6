/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_s3_sign.c: Check suite of providers/s3/s3_sign.c, the SigV4 signer.
 *
 * The main case runs AWS's Signature Version 4 test suite (botocore's copy,
 * shared/vectors/sigv4; found at $BC_SIGV4_VECTORS, else
 * $BC_SRCDIR/../shared/vectors/sigv4; missing, the test fails in a git
 * checkout and exits 77, SKIP, in a release tarball, which does not ship
 * them): every folder holding NAME.req is one
 * case, found by walking the tree, so a vector added later runs too. Each
 * .req is parsed as raw HTTP (folded header lines joined, duplicate headers
 * kept in order, the body after the blank line), signed with the suite's
 * credentials, and the canonical request, string to sign and Authorization
 * value are compared with .creq, .sts and .authz.
 *
 * Skipped: none. botocore skips five cases because its HTTP parser or SDK
 * cannot read them (get-space has a raw space in the request line; the
 * query-order cases repeat a key); our parser takes the request line's last
 * " HTTP/" as the end of the URI and our signer sorts repeated keys by value,
 * so all of them run here. Two cases need the session token: in
 * get-vanilla-with-session-token it appears only in the .creq (botocore adds
 * it from its credentials), so it is added as X-Amz-Security-Token before
 * signing; post-sts-header-after signs without it (the token is added after
 * signing) and post-sts-header-before has it in the .req.
 * The .sreq files are checked too, but for get-vanilla-with-session-token,
 * whose .sreq contradicts its .authz (see test_vector).
 * The generic vectors expect path normalisation (the normalize-path cases), which S3
 * must not get: a separate case checks normalize_path = 0 keeps "//".
 */
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "s3_sign.h"

#define VEC_ACCESS "AKIDEXAMPLE"
#define VEC_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define VEC_REGION "us-east-1"
#define VEC_SERVICE "service"
#define VEC_DATE "20150830T123600Z"
#define MAX_CASES 256
#define MAX_HEADERS 32

static char vec_root[PATH_MAX];
static char *case_dirs[MAX_CASES]; /* the folder of each case */
static char *case_names[MAX_CASES];
static int n_cases;

static char *read_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)len + 1);
		if (buf != NULL && fread(buf, 1, (size_t)len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		} else if (buf != NULL) {
			buf[len] = '\0';
			if (len_out)
				*len_out = (size_t)len;
		}
	}
	fclose(f);
	return buf;
}

/* The expected text: '\r' removed (as botocore does), trailing newline kept
 * out since .authz has none and .creq/.sts end without one too. */
static char *read_expected(const char *dir, const char *name, const char *ext)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
	char *t = read_file(path, NULL);
	ck_assert_msg(t != NULL, "%s: cannot read %s", name, path);
	char *w = t;
	for (char *r = t; *r; r++)
		if (*r != '\r')
			*w++ = *r;
	*w = '\0';
	return t;
}

/* Runs before the suite, so it reports with fprintf rather than ck_assert. */
static int find_cases(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (d == NULL) {
		fprintf(stderr, "test_s3_sign: cannot open %s\n", dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX * 2];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (find_cases(path) != 0) {
				closedir(d);
				return -1;
			}
			continue;
		}
		size_t n = strlen(e->d_name);
		if (n > 4 && strcmp(e->d_name + n - 4, ".req") == 0) {
			if (n_cases == MAX_CASES) {
				fprintf(stderr, "test_s3_sign: more than %d vectors\n", MAX_CASES);
				closedir(d);
				return -1;
			}
			case_dirs[n_cases] = strdup(dir);
			case_names[n_cases] = strndup(e->d_name, n - 4);
			if (case_dirs[n_cases] == NULL || case_names[n_cases] == NULL) {
				closedir(d);
				return -1;
			}
			n_cases++;
		}
	}
	closedir(d);
	return 0;
}

static int locate_vectors(void)
{
	const char *env = getenv("BC_SIGV4_VECTORS");
	const char *src = getenv("BC_SRCDIR");
	struct stat st;
	if (env != NULL && *env)
		snprintf(vec_root, sizeof(vec_root), "%s", env);
	else
		snprintf(vec_root, sizeof(vec_root), "%s/../shared/vectors/sigv4",
		         src != NULL ? src : "..");
	return stat(vec_root, &st) == 0 && S_ISDIR(st.st_mode);
}

struct parsed_req {
	char *text; /* owns all strings below */
	const char *method;
	char *path;
	char *query;
	struct s3_sign_header h[MAX_HEADERS];
	size_t nh;
	const char *body;
	size_t body_len;
	char *folded[MAX_HEADERS]; /* values rebuilt from folded lines, freed by free_req */
};

static void free_req(struct parsed_req *r)
{
	for (size_t i = 0; i < MAX_HEADERS; i++)
		free(r->folded[i]);
}

/* Parse raw HTTP in place. Folded lines (starting with white space) continue
 * the previous header's value. */
static void parse_req(struct parsed_req *r, char *text, size_t len, const char *name)
{
	char *p = text, *end = text + len;
	memset(r, 0, sizeof(*r));
	r->text = text;
	char *eol = strchr(p, '\n');
	ck_assert_msg(eol != NULL, "%s: no request line", name);
	*eol = '\0';
	if (eol > p && eol[-1] == '\r')
		eol[-1] = '\0';
	char *sp = strchr(p, ' ');
	char *ver = strstr(p, " HTTP/");
	for (char *v = ver; v != NULL; v = strstr(v + 1, " HTTP/"))
		ver = v;
	ck_assert_msg(sp != NULL && ver != NULL && ver > sp, "%s: bad request line", name);
	*sp = '\0';
	*ver = '\0';
	r->method = p;
	r->path = sp + 1;
	char *q = strchr(r->path, '?');
	if (q != NULL) {
		*q = '\0';
		r->query = q + 1;
	}
	p = eol + 1;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line_end = nl ? nl : end;
		if (line_end > p && line_end[-1] == '\r')
			line_end[-1] = '\0';
		if (nl)
			*nl = '\0';
		else
			*end = '\0';
		if (*p == '\0') { /* blank line: the body follows */
			r->body = nl ? nl + 1 : end;
			r->body_len = (size_t)(end - r->body);
			break;
		}
		if ((*p == ' ' || *p == '\t') && r->nh > 0) {
			/* A folded line: glue it onto the previous value, keeping the
			 * white space that the signer must collapse. */
			const char *prev = r->h[r->nh - 1].value;
			size_t n = strlen(prev) + strlen(p) + 2;
			char *joined = malloc(n);
			ck_assert_ptr_nonnull(joined);
			snprintf(joined, n, "%s\n%s", prev, p);
			free(r->folded[r->nh - 1]);
			r->folded[r->nh - 1] = joined;
			r->h[r->nh - 1].value = joined;
		} else {
			char *colon = strchr(p, ':');
			ck_assert_msg(colon != NULL, "%s: header without ':'", name);
			ck_assert_uint_lt(r->nh, MAX_HEADERS);
			*colon = '\0';
			r->h[r->nh].name = p;
			r->h[r->nh].value = colon + 1;
			r->nh++;
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

static int has_header(const struct parsed_req *r, const char *name)
{
	for (size_t i = 0; i < r->nh; i++)
		if (strcasecmp(r->h[i].name, name) == 0)
			return 1;
	return 0;
}

START_TEST(test_vector)
{
	const char *dir = case_dirs[_i], *name = case_names[_i];
	char path[PATH_MAX * 2], *token = NULL;
	size_t len = 0;
	struct parsed_req r;
	struct s3_sign_output out;
	struct s3_signer *s = s3_signer_new(VEC_ACCESS, VEC_SECRET, VEC_REGION, VEC_SERVICE);
	ck_assert_ptr_nonnull(s);

	snprintf(path, sizeof(path), "%s/%s.req", dir, name);
	char *text = read_file(path, &len);
	ck_assert_msg(text != NULL, "%s: cannot read %s", name, path);
	parse_req(&r, text, len, name);
	char *creq = read_expected(dir, name, "creq");
	char *sts = read_expected(dir, name, "sts");
	char *authz = read_expected(dir, name, "authz");

	/* get-vanilla-with-session-token: the token is in the .creq only. */
	char *tok = strstr(creq, "\nx-amz-security-token:");
	if (tok != NULL && !has_header(&r, "X-Amz-Security-Token")) {
		tok += strlen("\nx-amz-security-token:");
		token = strndup(tok, strcspn(tok, "\n"));
		r.h[r.nh].name = "X-Amz-Security-Token";
		r.h[r.nh].value = token;
		r.nh++;
	}

	struct s3_sign_input in = {
		.method = r.method, .path = r.path, .query = r.query, .headers = r.h,
		.n_headers = r.nh, .body = r.body, .body_len = r.body_len,
		.amz_date = VEC_DATE, .normalize_path = 1,
	};
	ck_assert_int_eq(s3_sign(s, &in, &out), BC_OK);
	ck_assert_msg(strcmp(out.canonical_request, creq) == 0,
	              "%s: canonical request\n--- got\n%s\n--- want\n%s", name,
	              out.canonical_request, creq);
	ck_assert_msg(strcmp(out.string_to_sign, sts) == 0,
	              "%s: string to sign\n--- got\n%s\n--- want\n%s", name, out.string_to_sign,
	              sts);
	ck_assert_msg(strcmp(out.authorization, authz) == 0,
	              "%s: authorization\n--- got\n%s\n--- want\n%s", name, out.authorization,
	              authz);

	/* And the .sreq carries exactly that header. Except in one case: the
	 * suite's get-vanilla-with-session-token.sreq holds get-vanilla's
	 * signature (5fa00fa3...), not the one its own .authz and .sts give; the
	 * .authz is what AWS's and botocore's drivers compare, and it passed. */
	char *sreq = read_expected(dir, name, "sreq");
	char line[1024];
	snprintf(line, sizeof(line), "\nAuthorization: %s", authz);
	const char *at = strstr(sreq, line);
	if (strcmp(name, "get-vanilla-with-session-token") != 0)
		ck_assert_msg(at != NULL &&
		              (at[strlen(line)] == '\n' || at[strlen(line)] == '\0'),
		              "%s: .sreq lacks %s", name, line + 1);

	s3_sign_output_clear(&out);
	free_req(&r);
	free(sreq);
	free(token);
	free(creq);
	free(sts);
	free(authz);
	free(text);
	s3_signer_free(s);
}
END_TEST

START_TEST(test_all_vectors_found)
{
	/* 34 cases in the snapshot the README describes; fewer means a walker
	 * or path problem skipped some. */
	ck_assert_int_ge(n_cases, 34);
	for (int i = 0; i < n_cases; i++)
		fprintf(stderr, "sigv4 vector %s/%s\n", case_dirs[i] + strlen(vec_root),
		        case_names[i]);
}
END_TEST

START_TEST(test_key_cache)
{
	struct s3_signer *s = s3_signer_new(VEC_ACCESS, VEC_SECRET, VEC_REGION, VEC_SERVICE);
	struct s3_sign_header h[] = { { "Host", "example.amazonaws.com" },
	                              { "X-Amz-Date", VEC_DATE } };
	struct s3_sign_input in = { .method = "GET", .path = "/", .headers = h, .n_headers = 2,
	                            .amz_date = VEC_DATE, .normalize_path = 1 };
	struct s3_sign_output a, b;
	ck_assert_int_eq(s3_sign(s, &in, &a), BC_OK);
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(s3_sign(s, &in, &b), BC_OK);
		ck_assert_str_eq(a.authorization, b.authorization);
		s3_sign_output_clear(&b);
	}
	ck_assert_uint_eq(s3_signer_key_derivations(s), 1);
	/* get-vanilla's signature, from the cache. */
	ck_assert_ptr_nonnull(strstr(a.authorization, "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
	/* Another day: a new key. */
	in.amz_date = "20150831T000000Z";
	ck_assert_int_eq(s3_sign(s, &in, &b), BC_OK);
	ck_assert_uint_eq(s3_signer_key_derivations(s), 2);
	ck_assert_ptr_nonnull(strstr(b.authorization, "Credential=AKIDEXAMPLE/20150831/"));
	s3_sign_output_clear(&a);
	s3_sign_output_clear(&b);
	s3_signer_free(s);
}
END_TEST

START_TEST(test_s3_paths_and_errors)
{
	struct s3_signer *s = s3_signer_new(VEC_ACCESS, VEC_SECRET, VEC_REGION, "s3");
	struct s3_sign_header h[] = { { "Host", "b.s3.amazonaws.com" } };
	struct s3_sign_input in = { .method = "PUT", .path = "/my-object//example//photo.user",
	                            .headers = h, .n_headers = 1, .amz_date = VEC_DATE };
	struct s3_sign_output o;
	ck_assert_int_eq(s3_sign(s, &in, &o), BC_OK);
	ck_assert_ptr_nonnull(strstr(o.canonical_request, "\n/my-object//example//photo.user\n"));
	s3_sign_output_clear(&o);
	in.amz_date = "2015-08-30";
	ck_assert_int_eq(s3_sign(s, &in, &o), BC_E_INVALID);
	ck_assert_ptr_null(o.authorization);
	ck_assert_ptr_null(s3_signer_new("", VEC_SECRET, VEC_REGION, "s3"));
	s3_signer_free(s);
	s3_signer_free(NULL);

	char *e = s3_sign_uri_encode("a b/c~ሴ+=", strlen("a b/c~ሴ+="), 0);
	ck_assert_str_eq(e, "a%20b%2Fc~%E1%88%B4%2B%3D");
	free(e);
	char d[17];
	s3_sign_amz_date(1440938160000LL, d);
	ck_assert_str_eq(d, VEC_DATE);
}
END_TEST

int main(void)
{
	if (!locate_vectors()) {
		/* In a git checkout the vectors sit beside it and their absence is
		 * a failure. A release tarball (make distcheck) does not ship them:
		 * there the test says so and reports SKIP (77), never a silent pass. */
		char git[PATH_MAX];
		struct stat st;
		const char *src = getenv("BC_SRCDIR");
		snprintf(git, sizeof(git), "%s/.git", src != NULL ? src : ".");
		int checkout = stat(git, &st) == 0;
		fprintf(stderr, "test_s3_sign: SigV4 vectors not found at %s; set "
		        "BC_SIGV4_VECTORS to the sigv4 folder%s\n", vec_root,
		        checkout ? "" : " (not a git checkout: skipping)");
		return checkout ? 1 : 77;
	}
	if (find_cases(vec_root) != 0)
		return 1;
	Suite *su = suite_create("s3_sign");
	TCase *tc = tcase_create("vectors");
	tcase_add_test(tc, test_all_vectors_found);
	tcase_add_loop_test(tc, test_vector, 0, n_cases);
	suite_add_tcase(su, tc);
	tc = tcase_create("signer");
	tcase_add_test(tc, test_key_cache);
	tcase_add_test(tc, test_s3_paths_and_errors);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (int i = 0; i < n_cases; i++) {
		free(case_dirs[i]);
		free(case_names[i]);
	}
	return failed == 0 ? 0 : 1;
}
