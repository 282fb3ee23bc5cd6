/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_s3_policy.c: Check suite of providers/s3/s3_policy.c, and of the real
 * provider_s3.so (through the stub host) against the STS double.
 *
 * TCase "policy": path templates (placeholders, every refusal), the policy
 * JSON statement by statement (parsed back with jansson), STS names.
 * TCase "xml": s3_xml.c on STS answers as the API reference prints them,
 * error answers (STS's and S3's), hostile documents, and the error-code
 * verdicts.
 * TCase "provider": loads provider_s3.so by its entry symbol, creates
 * instances from key/value options, and starts streams against
 * tests/integration/sts_double.py (python3 + python3-botocore), run as a
 * child process on a free loopback port. The double verifies each request's
 * SigV4 signature with botocore and records the call as JSON lines, which
 * the tests read back: Name, DurationSeconds, Policy, RoleSessionName.
 * Failure modes (wrong secret, throttling, 5xx, garbage, hang, nobody
 * listening) are checked for their status and dotted code, and every log
 * line for the absence of secrets; create_bucket against the double's S3
 * side (HEAD and PUT Bucket, signatures checked by botocore).
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "s3_policy.h"
#include "s3_xml.h"
#include "stubhost.h"

#define BASE_KEY "AKIDBASEEXAMPLE0001"
#define BASE_SECRET "base/Secret+Key0123456789abcdefEXAMPLE00"
/* Temporary base credentials (for assume-role), also known to the double. */
#define TEMP_KEY "ASIABASETEMPORARY01"
#define TEMP_SECRET "temp/secret+1"
#define TEMP_TOKEN "IQoJb3JpZ2luX2VjEBASETOKEN/base+token=="

/* ---- policy ---------------------------------------------------------------- */

static const struct s3_policy_vars vars = { "alice", "6f1c3d52-0000-4000-8000-00000000abcd",
                                            "my show", "hls" };

static int expand(const char *tmpl, const struct s3_policy_vars *v, char *out, char *why)
{
	return s3_policy_expand_path(tmpl, v, out, S3_POLICY_PATH_MAX + 1, why, 256);
}

START_TEST(test_expand_ok)
{
	char out[S3_POLICY_PATH_MAX + 1], why[256];
	ck_assert_int_eq(expand("{owner}/{stream_id}/", &vars, out, why), 0);
	ck_assert_str_eq(out, "alice/6f1c3d52-0000-4000-8000-00000000abcd/");
	ck_assert_int_eq(expand("{owner_id}/{stream_id}/", &vars, out, why), 0);
	ck_assert_str_eq(out, "alice/6f1c3d52-0000-4000-8000-00000000abcd/");
	ck_assert_int_eq(expand("live/{type}/{name}/{stream_id}/", &vars, out, why), 0);
	ck_assert_str_eq(out, "live/hls/my show/6f1c3d52-0000-4000-8000-00000000abcd/");
	ck_assert_int_eq(expand("streams/", &vars, out, why), 0);
	ck_assert_str_eq(out, "streams/");
}
END_TEST

START_TEST(test_expand_refused)
{
	char out[S3_POLICY_PATH_MAX + 1], why[256], big[700];
	struct s3_policy_vars v = vars;
	ck_assert_int_eq(expand("{owner}/{nope}/", &vars, out, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "unknown placeholder"));
	ck_assert_int_eq(expand("{owner/", &vars, out, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "unclosed"));
	ck_assert_int_eq(expand("/{owner}/", &vars, out, why), -1);
	ck_assert_int_eq(expand("", &vars, out, why), -1);
	ck_assert_int_eq(expand("{name}", &(struct s3_policy_vars){ "a", "b", "", "c" }, out, why),
	                 -1);
	const char *bad_names[] = { "..", "a/../b", "*", "x?", "${aws:username}", "a\nb", "\x7f",
	                            NULL };
	for (int i = 0; bad_names[i] != NULL; i++) {
		v.name = bad_names[i];
		ck_assert_msg(expand("{owner}/{name}/", &v, out, why) == -1, "accepted name %s",
		              bad_names[i]);
	}
	v = vars;
	v.owner = "/root";
	ck_assert_int_eq(expand("{owner}/{stream_id}/", &v, out, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "starts with '/'"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	v = vars;
	v.name = big;
	ck_assert_int_eq(expand("{name}/", &v, out, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "too long"));
}
END_TEST

/* The policy grants exactly two statements; check each member. */
START_TEST(test_policy_json)
{
	char *text = s3_policy_json("my-bucket", "alice/6f1c/");
	json_error_t je;
	ck_assert_ptr_nonnull(text);
	json_t *doc = json_loads(text, 0, &je);
	ck_assert_msg(doc != NULL, "not JSON: %s", text);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "Version")), "2012-10-17");
	json_t *sts = json_object_get(doc, "Statement");
	ck_assert_int_eq(json_array_size(sts), 2);
	ck_assert_int_eq(json_object_size(doc), 2);

	json_t *s0 = json_array_get(sts, 0), *s1 = json_array_get(sts, 1);
	ck_assert_str_eq(json_string_value(json_object_get(s0, "Effect")), "Allow");
	json_t *a0 = json_object_get(s0, "Action");
	const char *want0[] = { "s3:PutObject", "s3:PutObjectAcl", "s3:GetObject",
	                        "s3:DeleteObject", "s3:AbortMultipartUpload",
	                        "s3:ListMultipartUploadParts" };
	ck_assert_int_eq(json_array_size(a0), 6);
	for (size_t i = 0; i < 6; i++)
		ck_assert_str_eq(json_string_value(json_array_get(a0, i)), want0[i]);
	json_t *r0 = json_object_get(s0, "Resource");
	ck_assert_int_eq(json_array_size(r0), 1);
	ck_assert_str_eq(json_string_value(json_array_get(r0, 0)), "arn:aws:s3:::my-bucket/alice/6f1c/*");
	ck_assert_ptr_null(json_object_get(s0, "Condition"));

	ck_assert_str_eq(json_string_value(json_object_get(s1, "Effect")), "Allow");
	json_t *a1 = json_object_get(s1, "Action");
	ck_assert_int_eq(json_array_size(a1), 1);
	ck_assert_str_eq(json_string_value(json_array_get(a1, 0)), "s3:ListBucket");
	json_t *r1 = json_object_get(s1, "Resource");
	ck_assert_int_eq(json_array_size(r1), 1);
	ck_assert_str_eq(json_string_value(json_array_get(r1, 0)), "arn:aws:s3:::my-bucket");
	json_t *pfx = json_object_get(json_object_get(json_object_get(s1, "Condition"),
	                                              "StringLike"), "s3:prefix");
	ck_assert_int_eq(json_array_size(pfx), 1);
	ck_assert_str_eq(json_string_value(json_array_get(pfx, 0)), "alice/6f1c/*");
	ck_assert_int_eq(json_object_size(json_object_get(s1, "Condition")), 1);
	json_decref(doc);
	free(text);
}
END_TEST

START_TEST(test_sts_names)
{
	char out[65];
	ck_assert_str_eq(s3_policy_sts_name("uid:1000", 32, out), "uid_1000");
	ck_assert_str_eq(s3_policy_sts_name("alice@example.com", 32, out), "alice@example.com");
	ck_assert_str_eq(s3_policy_sts_name("a", 32, out), "a_");
	ck_assert_str_eq(s3_policy_sts_name("", 32, out), "__");
	ck_assert_str_eq(s3_policy_sts_name("0123456789abcdef0123456789ABCDEF-tail", 32, out),
	                 "0123456789abcdef0123456789ABCDEF");
	ck_assert_str_eq(s3_policy_sts_name("j\xc3\xa9r\xc3\xb4me m", 32, out), "j__r__me_m");
	ck_assert_str_eq(s3_policy_sts_name("a+b=c,d.e-f_g", 32, out), "a+b=c,d.e-f_g");
}
END_TEST

/* ---- STS XML ------------------------------------------------------------------- */

START_TEST(test_xml_federation)
{
	/* The GetFederationToken example of the STS API Reference. */
	const char *doc =
		"<GetFederationTokenResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
		"  <GetFederationTokenResult>\n"
		"    <Credentials>\n"
		"      <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764&amp;bNrC9</SessionToken>\n"
		"      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
		"      <Expiration>2011-07-15T23:28:33.359Z</Expiration>\n"
		"      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
		"    </Credentials>\n"
		"    <FederatedUser>\n"
		"      <Arn>arn:aws:sts::123456789012:federated-user/Bob</Arn>\n"
		"      <FederatedUserId>123456789012:Bob</FederatedUserId>\n"
		"    </FederatedUser>\n"
		"    <PackedPolicySize>6</PackedPolicySize>\n"
		"  </GetFederationTokenResult>\n"
		"  <ResponseMetadata>\n"
		"    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"
		"  </ResponseMetadata>\n"
		"</GetFederationTokenResponse>\n";
	struct s3_sts_xml x;
	ck_assert_int_eq(s3_xml_parse_sts(doc, strlen(doc), &x), 0);
	ck_assert_int_eq(x.is_error, 0);
	ck_assert_str_eq(x.access_key_id, "ASIAIOSFODNN7EXAMPLE");
	ck_assert_str_eq(x.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
	ck_assert_str_eq(x.session_token, "AQoDYXdzEPT//////////wEXAMPLEtc764&bNrC9");
	ck_assert_str_eq(x.expiration, "2011-07-15T23:28:33.359Z");
	ck_assert_str_eq(x.request_id, "c6104cbe-af31-11e0-8154-cbc7ccf896c7");
	ck_assert_ptr_null(x.error_code);
	s3_xml_clear(&x);
	ck_assert_ptr_null(x.access_key_id);
	s3_xml_clear(NULL);
}
END_TEST

START_TEST(test_xml_errors)
{
	const char *err =
		"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
		"  <Error>\n    <Type>Sender</Type>\n    <Code>InvalidClientTokenId</Code>\n"
		"    <Message>The security token included in the request is invalid.</Message>\n"
		"  </Error>\n  <RequestId>4c3a1b2e-0000-11e0-8154-cbc7ccf896c7</RequestId>\n"
		"</ErrorResponse>\n";
	struct s3_sts_xml x;
	ck_assert_int_eq(s3_xml_parse_sts(err, strlen(err), &x), 0);
	ck_assert_int_eq(x.is_error, 1);
	ck_assert_str_eq(x.error_code, "InvalidClientTokenId");
	ck_assert_str_eq(x.error_message, "The security token included in the request is invalid.");
	ck_assert_str_eq(x.request_id, "4c3a1b2e-0000-11e0-8154-cbc7ccf896c7");
	ck_assert_ptr_null(x.access_key_id);
	s3_xml_clear(&x);

	/* Not XML; a DOCTYPE (entity expansion) is refused outright. */
	ck_assert_int_eq(s3_xml_parse_sts("<oops", 5, &x), -1);
	s3_xml_clear(&x);
	ck_assert_int_eq(s3_xml_parse_sts("", 0, &x), -1);
	s3_xml_clear(&x);
	const char *bomb = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaa\">"
	                   "<!ENTITY b \"&a;&a;&a;&a;\">]><r><Credentials><AccessKeyId>&b;"
	                   "</AccessKeyId></Credentials></r>";
	ck_assert_int_eq(s3_xml_parse_sts(bomb, strlen(bomb), &x), -1);
	ck_assert_ptr_null(x.access_key_id);
	s3_xml_clear(&x);
}
END_TEST

START_TEST(test_xml_s3_error)
{
	/* CreateBucket's 409, as the S3 API Reference prints an error. */
	const char *owned =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Error>\n  <Code>BucketAlreadyOwnedByYou</Code>\n"
		"  <Message>Your previous request to create the named bucket succeeded and you "
		"already own it.</Message>\n  <BucketName>unit-bucket</BucketName>\n"
		"  <RequestId>4442587FB7D0A2F9</RequestId>\n  <HostId>x&amp;y</HostId>\n"
		"</Error>\n";
	struct s3_xml_error e;
	ck_assert_int_eq(s3_xml_parse_error(owned, strlen(owned), &e), 0);
	ck_assert_str_eq(e.code, "BucketAlreadyOwnedByYou");
	ck_assert_str_eq(e.message, "Your previous request to create the named bucket "
	                            "succeeded and you already own it.");
	ck_assert_str_eq(e.request_id, "4442587FB7D0A2F9");
	s3_xml_error_clear(&e);
	ck_assert_ptr_null(e.code);
	s3_xml_error_clear(NULL);

	/* STS's shape is an error too; entities are decoded. */
	const char *sts = "<ErrorResponse><Error><Code>AccessDenied</Code>"
	                  "<Message>a &lt;b&gt;</Message></Error></ErrorResponse>";
	ck_assert_int_eq(s3_xml_parse_error(sts, strlen(sts), &e), 0);
	ck_assert_str_eq(e.code, "AccessDenied");
	ck_assert_str_eq(e.message, "a <b>");
	ck_assert_ptr_null(e.request_id);
	s3_xml_error_clear(&e);

	/* "<Code>" outside an Error element, which strstr would have taken. */
	const char *other = "<ListBucketResult><Code>NotAnError</Code></ListBucketResult>";
	ck_assert_int_eq(s3_xml_parse_error(other, strlen(other), &e), -1);
	ck_assert_ptr_null(e.code);
	s3_xml_error_clear(&e);
	const char *html = "<html><body><Code>Oops</Code></body></html>";
	ck_assert_int_eq(s3_xml_parse_error(html, strlen(html), &e), -1);
	s3_xml_error_clear(&e);

	/* An error element without a code: well-formed, the caller checks. */
	ck_assert_int_eq(s3_xml_parse_error("<Error/>", 8, &e), 0);
	ck_assert_ptr_null(e.code);
	s3_xml_error_clear(&e);

	/* Not XML, nothing at all (a HEAD answer), cut short, a DOCTYPE. */
	ck_assert_int_eq(s3_xml_parse_error("<Error><Code>Slow", 17, &e), -1);
	s3_xml_error_clear(&e);
	ck_assert_int_eq(s3_xml_parse_error(NULL, 0, &e), -1);
	ck_assert_ptr_null(e.code);
	s3_xml_error_clear(&e);
	const char *dtd = "<!DOCTYPE Error [<!ENTITY c \"SlowDown\">]><Error><Code>&c;</Code></Error>";
	ck_assert_int_eq(s3_xml_parse_error(dtd, strlen(dtd), &e), -1);
	ck_assert_ptr_null(e.code);
	s3_xml_error_clear(&e);
}
END_TEST

START_TEST(test_xml_classify)
{
	struct s3_xml_verdict v;
	v = s3_xml_classify(400, "Throttling");
	ck_assert_int_eq(v.status, BC_E_UNAVAILABLE);
	ck_assert_str_eq(v.code, "s3.sts_throttled");
	ck_assert_int_eq(v.retryable, 1);
	v = s3_xml_classify(429, NULL);
	ck_assert_str_eq(v.code, "s3.sts_throttled");
	ck_assert_str_eq(v.label, "throttled");
	v = s3_xml_classify(403, "SignatureDoesNotMatch");
	ck_assert_int_eq(v.status, BC_E_UPSTREAM);
	ck_assert_str_eq(v.code, "s3.credentials_rejected");
	ck_assert_str_eq(v.label, "denied");
	ck_assert_int_eq(v.retryable, 0);
	v = s3_xml_classify(403, "InvalidClientTokenId");
	ck_assert_str_eq(v.code, "s3.credentials_rejected");
	v = s3_xml_classify(403, "AccessDenied");
	ck_assert_str_eq(v.code, "s3.credentials_rejected");
	v = s3_xml_classify(400, "ExpiredToken");
	ck_assert_str_eq(v.code, "s3.credentials_rejected");
	v = s3_xml_classify(503, "ServiceUnavailable");
	ck_assert_int_eq(v.status, BC_E_UPSTREAM);
	ck_assert_str_eq(v.code, "s3.sts_error");
	ck_assert_int_eq(v.retryable, 1);
	v = s3_xml_classify(400, "MalformedPolicyDocument");
	ck_assert_str_eq(v.code, "s3.sts_rejected");
	ck_assert_str_eq(v.label, "rejected");
	ck_assert_int_eq(v.retryable, 0);
}
END_TEST

/* ---- the provider against the double ----------------------------------------- */

static const struct bc_plugin *plugin;
static const struct bc_provider_ops *ops;
static char tmpdir[64], record_path[128], url[64];
static int double_port;
static pid_t double_pid = -1;

/* Start the double once per test case (an unchecked fixture: it runs in the
 * parent, so every forked test talks to the same process). botocore takes
 * seconds to import on a loaded machine; paying that once keeps the suite
 * quick. On failure url stays empty and every test says why. */
static void double_up(void)
{
	char port_file[128], script[1024];
	const char *src = getenv("BC_SRCDIR");
	const char *argv[] = { "python3", script, "--key", BASE_KEY ":" BASE_SECRET,
		               "--key", TEMP_KEY ":" TEMP_SECRET ":" TEMP_TOKEN,
		               "--port-file", port_file, "--record", record_path,
		               "--lifetime", "600", NULL };

	url[0] = '\0';
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bc-test-s3-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return;
	snprintf(script, sizeof(script), "%s/tests/integration/sts_double.py", src ? src : ".");
	snprintf(port_file, sizeof(port_file), "%s/port", tmpdir);
	snprintf(record_path, sizeof(record_path), "%s/records.jsonl", tmpdir);
	double_pid = fork();
	if (double_pid < 0)
		return;
	if (double_pid == 0) {
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 1200; i++) { /* 60 s */
		FILE *f = fopen(port_file, "r");
		int port = 0, status;
		if (f != NULL) {
			int got = fscanf(f, "%d", &port);
			fclose(f);
			if (got == 1 && port > 0) {
				double_port = port;
				snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
				return;
			}
		}
		if (waitpid(double_pid, &status, WNOHANG) != 0) {
			double_pid = -1;
			return;
		}
		usleep(50000);
	}
}

static void double_down(void)
{
	char cmd[128];
	if (double_pid > 0) {
		kill(double_pid, SIGTERM);
		waitpid(double_pid, NULL, 0);
		double_pid = -1;
	}
	if (tmpdir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
}

/* Tell the double how to answer from now on, and forget its records: one
 * HTTP/1.0 POST to /__double/config over a plain socket. */
static void double_mode(const char *mode, int count, int hang_seconds)
{
	char body[160], req[512], resp[256];
	struct sockaddr_in sa;
	ssize_t n;
	int fd;

	ck_assert_msg(url[0] != '\0', "sts_double.py did not start (is python3-botocore "
	                               "installed?)");
	char cnt[16] = "null";
	if (count > 0)
		snprintf(cnt, sizeof(cnt), "%d", count);
	snprintf(body, sizeof(body), "{\"mode\": \"%s\", \"count\": %s, \"hang_seconds\": %d, "
	         "\"reset\": true}", mode, cnt, hang_seconds > 0 ? hang_seconds : 30);
	snprintf(req, sizeof(req), "POST /__double/config HTTP/1.0\r\nHost: 127.0.0.1\r\n"
	         "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	         strlen(body), body);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)double_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	n = read(fd, resp, sizeof(resp) - 1);
	close(fd);
	ck_assert_int_gt(n, 12);
	resp[n] = '\0';
	ck_assert_msg(strncmp(resp, "HTTP/1.0 200", 12) == 0 ||
	              strncmp(resp, "HTTP/1.1 200", 12) == 0, "double said %s", resp);
}

/* The double's records, a JSON array (new reference). */
static json_t *double_records(void)
{
	json_t *all = json_array();
	FILE *f = fopen(record_path, "r");
	char line[65536];
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		json_error_t je;
		json_t *r = json_loads(line, 0, &je);
		ck_assert_msg(r != NULL, "bad record line: %s", je.text);
		json_array_append_new(all, r);
	}
	if (f != NULL)
		fclose(f);
	return all;
}

static const char *rec_param(json_t *rec, const char *key)
{
	return json_string_value(json_object_get(json_object_get(rec, "params"), key));
}

struct inst {
	struct stubhost *sh;
	void *p;
	struct bc_error err;
};

/* Create an instance pointing at the double; kv adds or overrides options. */
static enum bc_status inst_create(struct inst *in, const char *const *kv_extra)
{
	const char *defaults[] = { "bucket", "stream-bucket", "access_key_id", BASE_KEY,
		                   "secret_access_key", BASE_SECRET, "sts_endpoint", url, NULL };
	const char *kv[48];
	size_t n = 0;
	for (size_t i = 0; kv_extra != NULL && kv_extra[i] != NULL; i++)
		kv[n++] = kv_extra[i];
	/* A default only for a key kv_extra does not give (twice is refused). */
	for (size_t d = 0; defaults[d] != NULL; d += 2) {
		int given = 0;
		for (size_t i = 0; kv_extra != NULL && kv_extra[i] != NULL; i += 2)
			given |= strcmp(kv_extra[i], defaults[d]) == 0;
		if (!given) {
			kv[n++] = defaults[d];
			kv[n++] = defaults[d + 1];
		}
	}
	kv[n] = NULL;
	memset(&in->err, 0, sizeof(in->err));
	in->p = NULL;
	in->sh = stubhost_new("s3-test", plugin, kv);
	return ops->create(stubhost_api(), stubhost_host(in->sh), stubhost_config(in->sh), &in->p,
	                   &in->err);
}

static void inst_destroy(struct inst *in)
{
	if (in->p != NULL)
		ops->destroy(in->p);
	stubhost_free(in->sh);
	memset(in, 0, sizeof(*in));
}

static enum bc_status inst_start(struct inst *in, const char *id, const char *owner,
                                 struct bc_endpoint *ep)
{
	struct bc_stream_info info;
	stubhost_stream_info(&info, id, "", "hls", owner, ep);
	memset(&in->err, 0, sizeof(in->err));
	return ops->start(in->p, &info, ep, &in->err);
}

#define ID1 "0b7e4f5a-1c2d-4e3f-8a9b-0c1d2e3f4a5b"

static void setup(void)
{
	char so[1024];
	const char *b = getenv("BC_BUILDDIR");
	snprintf(so, sizeof(so), "%s/providers/s3/.libs/provider_s3.so", b ? b : ".");
	plugin = stubhost_load_plugin(so, BC_KIND_PROVIDER, "s3");
	ops = plugin->ops;
	double_mode("ok", 0, 0);
}

static void assert_no_secrets(struct inst *in, struct bc_endpoint *ep)
{
	ck_assert(!stubhost_log_contains(in->sh, BASE_SECRET));
	if (ep != NULL) {
		const char *s = stubhost_ep_value(ep, "S3", "aws_secret_access_key");
		const char *t = stubhost_ep_value(ep, "S3", "aws_session_token");
		ck_assert(s == NULL || !stubhost_log_contains(in->sh, s));
		ck_assert(t == NULL || !stubhost_log_contains(in->sh, t));
	}
}

/* The stub host builds the instance's options as broadcastd does: a bare
 * DURATION is seconds, unknown and missing keys are refused with the
 * framework's own message, secrets are not quoted. */
START_TEST(test_stubhost_config_is_real)
{
	static const char *const bare[] = { "bucket", "b", "access_key_id", BASE_KEY,
		                            "secret_access_key", BASE_SECRET, "duration", "3600",
		                            NULL };
	static const char *const unknown[] = { "bucket", "b", "access_key_id", BASE_KEY,
		                               "secret_access_key", BASE_SECRET, "durration",
		                               "1h", NULL };
	static const char *const missing[] = { "bucket", "b", "access_key_id", BASE_KEY, NULL };
	static const char *const badval[] = { "bucket", "b", "access_key_id", BASE_KEY,
		                              "secret_access_key", BASE_SECRET, "timeout", "10",
		                              "retries", "two", NULL };
	struct stubhost *sh = stubhost_new("s3-test", plugin, bare);
	char *msg;

	ck_assert_int_eq(stubhost_api()->cfg_int(stubhost_config(sh), "duration"), 3600000);
	ck_assert_int_eq(stubhost_api()->cfg_int(stubhost_config(sh), "timeout"), 10000);
	ck_assert_str_eq(stubhost_api()->cfg_str(stubhost_config(sh), "type"), "s3");
	stubhost_free(sh);

	msg = stubhost_config_error("s3-test", plugin, unknown);
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(strstr(msg, "provider s3-test (type s3): unknown option 'durration'; "
	                          "did you mean 'duration'?") != NULL, "%s", msg);
	free(msg);
	msg = stubhost_config_error("s3-test", plugin, missing);
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(strstr(msg, "missing required option 'secret_access_key'") != NULL, "%s",
	              msg);
	free(msg);
	msg = stubhost_config_error("s3-test", plugin, badval);
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(strstr(msg, "retries") != NULL && strstr(msg, BASE_SECRET) == NULL, "%s",
	              msg);
	free(msg);
}
END_TEST

START_TEST(test_federation_start_stop)
{
	struct inst in;
	struct bc_endpoint *ep = stubhost_endpoint_new();
	const char *owner = "a-very-long-owner-name-that-is-over-32@example.com";
	ck_assert_int_eq(inst_create(&in, NULL), BC_OK); /* duration: 3600 by default */
	ck_assert_msg(inst_start(&in, ID1, owner, ep) == BC_OK, "%s: %s", in.err.code,
	              in.err.message);

	json_t *recs = double_records();
	ck_assert_int_eq(json_array_size(recs), 1);
	json_t *r = json_array_get(recs, 0);
	ck_assert(json_is_true(json_object_get(r, "verified")));
	ck_assert_str_eq(rec_param(r, "Action"), "GetFederationToken");
	ck_assert_str_eq(rec_param(r, "Version"), "2011-06-15");
	ck_assert_str_eq(rec_param(r, "Name"), "a-very-long-owner-name-that-is-o");
	ck_assert_str_eq(rec_param(r, "DurationSeconds"), "3600");
	json_t *pol = json_object_get(r, "policy");
	json_t *res = json_object_get(json_array_get(json_object_get(pol, "Statement"), 0),
	                              "Resource");
	char want[256];
	snprintf(want, sizeof(want), "arn:aws:s3:::stream-bucket/%s/%s/*", owner, ID1);
	ck_assert_str_eq(json_string_value(json_array_get(res, 0)), want);

	/* The endpoint: the seed's fields, the double's credentials. */
	ck_assert_str_eq(stubhost_ep_value(ep, "S3", "aws_access_key_id"),
	                 json_string_value(json_object_get(r, "minted_access_key_id")));
	ck_assert_str_eq(stubhost_ep_value(ep, "S3", "aws_secret_access_key"),
	                 json_string_value(json_object_get(r, "minted_secret")));
	ck_assert_str_eq(stubhost_ep_value(ep, "S3", "aws_session_token"),
	                 json_string_value(json_object_get(r, "minted_token")));
	ck_assert_str_eq(stubhost_ep_value(ep, "S3", "aws_expiration"), "3600.0");
	ck_assert_str_eq(stubhost_ep_value(ep, "S3", "s3_bucket_name"), "stream-bucket");
	snprintf(want, sizeof(want), "%s/%s/", owner, ID1);
	ck_assert_str_eq(stubhost_ep_value(ep, "S3", "s3_bucket_path"), want);
	ck_assert_str_eq(stubhost_ep_value(ep, "S3", "s3_bucket_region"), "us-west-1");
	{
		/* STS's "2026-01-01T13:00:00Z" as "2026-01-01 13:00:00"; no s3_endpoint. */
		char date[32];
		snprintf(date, sizeof(date), "%.19s",
		         json_string_value(json_object_get(r, "expiration")));
		date[10] = ' ';
		ck_assert_str_eq(stubhost_ep_value(ep, "S3", "aws_expiration_date"), date);
		ck_assert_ptr_null(stubhost_ep_value(ep, "S3", "s3_endpoint"));
	}
	ck_assert_uint_ne(stubhost_ep_flags(ep, "S3", "aws_secret_access_key") & BC_EP_SECRET, 0);
	ck_assert_uint_ne(stubhost_ep_flags(ep, "S3", "aws_session_token") & BC_EP_SECRET, 0);
	ck_assert_uint_eq(stubhost_ep_flags(ep, "S3", "aws_access_key_id") & BC_EP_SECRET, 0);
	ck_assert_str_eq(stubhost_ep_meta(ep, "s3_path"), want);
	ck_assert_uint_eq(stubhost_counter(in.sh, "s3_sts_requests_total", "result=\"ok\""), 1);

	/* A second start reuses the pooled connection and the cached key. */
	struct bc_endpoint *ep2 = stubhost_endpoint_new();
	ck_assert_int_eq(inst_start(&in, "1b7e4f5a-1c2d-4e3f-8a9b-0c1d2e3f4a5b", "uid:1000", ep2),
	                 BC_OK);
	json_decref(recs);
	recs = double_records();
	ck_assert_str_eq(rec_param(json_array_get(recs, 1), "Name"), "uid_1000");

	/* Stop: nothing to revoke, an info line, BC_OK, idempotent. */
	struct bc_stream_info info;
	stubhost_stream_info(&info, ID1, "", "hls", owner, ep);
	ck_assert_int_eq(ops->stop(in.p, &info, &in.err), BC_OK);
	ck_assert_int_eq(ops->stop(in.p, &info, &in.err), BC_OK);
	ck_assert(stubhost_log_contains(in.sh, "cannot be revoked"));
	ck_assert_int_eq(ops->health(in.p, &in.err), BC_OK);
	assert_no_secrets(&in, ep);
	assert_no_secrets(&in, ep2);
	json_decref(recs);
	stubhost_endpoint_free(ep);
	stubhost_endpoint_free(ep2);
	inst_destroy(&in);
}
END_TEST

START_TEST(test_assume_role)
{
	struct inst in;
	struct bc_endpoint *ep = stubhost_endpoint_new();
	ck_assert_int_eq(inst_create(&in, (const char *[]){
		"credentials", "assume-role", "role_arn", "arn:aws:iam::123456789012:role/uploader",
		"external_id", "ext-42", "duration", "1h", "path", "live/{type}/{stream_id}/",
		"region", "eu-west-3", NULL }), BC_OK);
	ck_assert_msg(inst_start(&in, ID1, "uid:1000", ep) == BC_OK, "%s: %s", in.err.code,
	              in.err.message);
	json_t *recs = double_records();
	json_t *r = json_array_get(recs, 0);
	ck_assert(json_is_true(json_object_get(r, "verified")));
	ck_assert_str_eq(rec_param(r, "Action"), "AssumeRole");
	ck_assert_str_eq(rec_param(r, "RoleArn"), "arn:aws:iam::123456789012:role/uploader");
	ck_assert_str_eq(rec_param(r, "RoleSessionName"), "uid_1000." ID1);
	ck_assert_str_eq(rec_param(r, "ExternalId"), "ext-42");
	ck_assert_str_eq(rec_param(r, "DurationSeconds"), "3600");
	ck_assert_str_eq(stubhost_ep_value(ep, "S3", "s3_bucket_path"), "live/hls/" ID1 "/");
	ck_assert_str_eq(stubhost_ep_value(ep, "S3", "s3_bucket_region"), "eu-west-3");
	assert_no_secrets(&in, ep);
	json_decref(recs);
	stubhost_endpoint_free(ep);
	inst_destroy(&in);
}
END_TEST

START_TEST(test_create_errors)
{
	struct inst in;
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "credentials", "assume-role", NULL }),
	                 BC_E_INVALID);
	ck_assert_str_eq(in.err.code, "s3.bad_option");
	ck_assert_ptr_nonnull(strstr(in.err.message, "role_arn"));
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "duration", "37h", NULL }),
	                 BC_E_INVALID);
	ck_assert_str_eq(in.err.code, "s3.bad_option");
	ck_assert_ptr_nonnull(strstr(in.err.message, "129600"));
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "duration", "10m", NULL }),
	                 BC_E_INVALID);
	ck_assert_str_eq(in.err.code, "s3.bad_option");
	inst_destroy(&in);
	/* At STS's limits; a bare number is seconds, as in broadcast.yaml. */
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "duration", "899", NULL }),
	                 BC_E_INVALID);
	ck_assert_str_eq(in.err.code, "s3.bad_option");
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "duration", "900", NULL }), BC_OK);
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "duration", "129600", NULL }), BC_OK);
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "duration", "899s", NULL }),
	                 BC_E_INVALID);
	ck_assert_str_eq(in.err.code, "s3.bad_option");
	ck_assert_ptr_nonnull(strstr(in.err.message, "900"));
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "duration", "129601s", NULL }),
	                 BC_E_INVALID);
	ck_assert_str_eq(in.err.code, "s3.bad_option");
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "duration", "129600s", NULL }), BC_OK);
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "duration", "900s", NULL }), BC_OK);
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "credentials", "assume-role",
	                                                    "role_arn", "arn:aws:iam::1:role/r",
	                                                    "duration", "43200s", NULL }),
	                 BC_OK);
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "credentials", "assume-role",
	                                                    "role_arn", "arn:aws:iam::1:role/r",
	                                                    "duration", "43201s", NULL }),
	                 BC_E_INVALID);
	ck_assert_str_eq(in.err.code, "s3.bad_option");
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "credentials", "assume-role",
	                                                    "role_arn", "arn:aws:iam::1:role/r",
	                                                    "duration", "13h", NULL }),
	                 BC_E_INVALID);
	ck_assert_str_eq(in.err.code, "s3.bad_option");
	ck_assert_ptr_nonnull(strstr(in.err.message, "43200"));
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "path", "{owner}/{id}/", NULL }),
	                 BC_E_INVALID);
	ck_assert_str_eq(in.err.code, "s3.bad_option");
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "sts_endpoint", "ftp://x/", NULL }),
	                 BC_E_INVALID);
	ck_assert_str_eq(in.err.code, "s3.bad_option");
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "ca_file", "/nonexistent.pem", NULL }),
	                 BC_E_INVALID);
	ck_assert_str_eq(in.err.code, "s3.bad_option");
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "role_arn", "arn:aws:iam::1:role/r",
	                                                    NULL }),
	                 BC_E_INVALID);
	ck_assert_str_eq(in.err.code, "s3.bad_option");
	inst_destroy(&in);
}
END_TEST

/* Start one stream with the double in `mode` (NULL: as it is); check status
 * and code, and that it took at most max_ms. */
static void start_fails(const char *mode, const char *const *kv, enum bc_status want,
                        const char *want_code, int64_t max_ms)
{
	struct inst in;
	struct bc_endpoint *ep = stubhost_endpoint_new();
	if (mode != NULL)
		double_mode(mode, 0, 20);
	ck_assert_int_eq(inst_create(&in, kv), BC_OK);
	int64_t t0 = stubhost_api()->monotonic_ms();
	enum bc_status st = inst_start(&in, ID1, "alice", ep);
	int64_t took = stubhost_api()->monotonic_ms() - t0;
	ck_assert_msg(st == want && strcmp(in.err.code, want_code) == 0,
	              "got %d %s (%s), want %d %s", st, in.err.code, in.err.message, want, want_code);
	ck_assert_msg(took <= max_ms, "took %lld ms, more than %lld", (long long)took,
	              (long long)max_ms);
	ck_assert_ptr_null(stubhost_ep_value(ep, "S3", "aws_access_key_id"));
	assert_no_secrets(&in, NULL);
	stubhost_endpoint_free(ep);
	inst_destroy(&in);
}

START_TEST(test_wrong_secret)
{
	start_fails(NULL, (const char *[]){ "secret_access_key", "not-the-secret", NULL },
	            BC_E_UPSTREAM, "s3.credentials_rejected", 5000);
	json_t *recs = double_records();
	ck_assert_int_eq(json_array_size(recs), 1); /* not retried */
	ck_assert(json_is_false(json_object_get(json_array_get(recs, 0), "verified")));
	json_decref(recs);
}
END_TEST

START_TEST(test_throttled)
{
	start_fails("throttle",
	            (const char *[]){ "retries", "2", NULL }, BC_E_UNAVAILABLE, "s3.sts_throttled",
	            5000);
	json_t *recs = double_records();
	ck_assert_int_eq(json_array_size(recs), 3); /* 1 + 2 retries */
	json_decref(recs);
}
END_TEST

START_TEST(test_throttled_then_ok)
{
	struct inst in;
	struct bc_endpoint *ep = stubhost_endpoint_new();
	double_mode("throttle", 1, 0);
	ck_assert_int_eq(inst_create(&in, NULL), BC_OK);
	ck_assert_int_eq(inst_start(&in, ID1, "alice", ep), BC_OK);
	ck_assert_uint_eq(stubhost_counter(in.sh, "s3_sts_requests_total", "result=\"throttled\""),
	                  1);
	ck_assert_uint_eq(stubhost_counter(in.sh, "s3_sts_requests_total", "result=\"ok\""), 1);
	stubhost_endpoint_free(ep);
	inst_destroy(&in);
}
END_TEST

START_TEST(test_server_error)
{
	start_fails("error",
	            (const char *[]){ "retries", "1", NULL }, BC_E_UPSTREAM, "s3.sts_error", 5000);
}
END_TEST

START_TEST(test_bad_xml)
{
	start_fails("badxml", NULL, BC_E_UPSTREAM,
	            "s3.sts_bad_response", 5000);
}
END_TEST

START_TEST(test_hang)
{
	start_fails("hang",
	            (const char *[]){ "timeout", "1s", NULL }, BC_E_TIMEOUT,
	            "s3.sts_timeout", 2500);
}
END_TEST

START_TEST(test_unreachable)
{
	/* Port 9 (discard) on loopback: nothing listens in a test sandbox.
	 * Retried (a restart may be under way), but within timeout: 504. */
	start_fails(NULL, (const char *[]){ "sts_endpoint", "http://127.0.0.1:9", "timeout", "1s",
	                                    "retries", "5", NULL },
	            BC_E_TIMEOUT, "s3.sts_unreachable", 1500);
}
END_TEST

START_TEST(test_denied_and_rejected)
{
	start_fails("deny", NULL, BC_E_UPSTREAM, "s3.credentials_rejected", 5000);
	start_fails("reject", NULL, BC_E_UPSTREAM,
	            "s3.sts_rejected", 5000);
}
END_TEST

/* Temporary base credentials: the token is sent, signed, and never logged. */
START_TEST(test_base_session_token)
{
	struct inst in;
	struct bc_endpoint *ep = stubhost_endpoint_new();
	const char *token = TEMP_TOKEN;
	ck_assert_int_eq(inst_create(&in, (const char *[]){
		"access_key_id", TEMP_KEY, "secret_access_key", TEMP_SECRET,
		"session_token", token, "credentials", "assume-role",
		"role_arn", "arn:aws:iam::123456789012:role/uploader", "duration", "15m", NULL }),
	                 BC_OK);
	ck_assert_msg(inst_start(&in, ID1, "alice", ep) == BC_OK, "%s: %s", in.err.code,
	              in.err.message);
	json_t *recs = double_records();
	json_t *r = json_array_get(recs, 0);
	ck_assert(json_is_true(json_object_get(r, "verified")));
	ck_assert_str_eq(json_string_value(json_object_get(r, "access_key_id")), TEMP_KEY);
	ck_assert_str_eq(rec_param(r, "DurationSeconds"), "900");
	ck_assert(!stubhost_log_contains(in.sh, token));
	ck_assert(!stubhost_log_contains(in.sh, TEMP_SECRET));
	assert_no_secrets(&in, ep);
	json_decref(recs);
	stubhost_endpoint_free(ep);
	inst_destroy(&in);
}
END_TEST

/* create_bucket against the double's S3 side (HEAD, then PUT Bucket), and
 * s3_endpoint in the endpoint after the seed's fields. */
START_TEST(test_create_bucket)
{
	struct inst in;
	struct bc_endpoint *ep = stubhost_endpoint_new();
	ck_assert_msg(inst_create(&in, (const char *[]){ "create_bucket", "true", "s3_endpoint", url,
	                                                 "bucket", "unit-bucket", NULL }) == BC_OK,
	              "%s: %s", in.err.code, in.err.message);
	ck_assert(stubhost_log_contains(in.sh, "created bucket unit-bucket"));
	ck_assert_int_eq(inst_start(&in, ID1, "alice", ep), BC_OK);
	ck_assert_str_eq(stubhost_ep_value(ep, "S3", "s3_endpoint"), url);
	assert_no_secrets(&in, ep);
	inst_destroy(&in);
	/* It exists now: no second creation. */
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "create_bucket", "true", "s3_endpoint",
	                                                    url, "bucket", "unit-bucket", NULL }),
	                 BC_OK);
	ck_assert(!stubhost_log_contains(in.sh, "created bucket"));
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "create_bucket", "true", "s3_endpoint",
	                                                    url, "secret_access_key",
	                                                    "Wr0ng/Secret+Key", NULL }),
	                 BC_E_UPSTREAM);
	ck_assert_str_eq(in.err.code, "s3.bucket_denied");
	ck_assert_ptr_null(strstr(in.err.message, "Wr0ng/Secret+Key"));
	ck_assert(!stubhost_log_contains(in.sh, "Wr0ng/Secret+Key"));
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "create_bucket", "true", "s3_endpoint",
	                                                    "http://127.0.0.1:9", NULL }),
	                 BC_E_TIMEOUT);
	ck_assert_str_eq(in.err.code, "s3.bucket_unreachable");
	inst_destroy(&in);
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "create_bucket", "true", "s3_endpoint",
	                                                    "ftp://x/", NULL }),
	                 BC_E_INVALID);
	inst_destroy(&in);
	stubhost_endpoint_free(ep);
}
END_TEST

START_TEST(test_bad_stream_name)
{
	struct inst in;
	struct bc_endpoint *ep = stubhost_endpoint_new();
	struct bc_stream_info info;
	ck_assert_int_eq(inst_create(&in, (const char *[]){ "path", "{name}/{stream_id}/", NULL }),
	                 BC_OK);
	stubhost_stream_info(&info, ID1, "../other", "hls", "alice", ep);
	ck_assert_int_eq(ops->start(in.p, &info, ep, &in.err), BC_E_INVALID);
	ck_assert_str_eq(in.err.code, "s3.bad_path");
	json_t *recs = double_records();
	ck_assert_int_eq(json_array_size(recs), 0); /* STS never asked */
	json_decref(recs);
	stubhost_endpoint_free(ep);
	inst_destroy(&in);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("s3_policy");
	TCase *tc = tcase_create("policy");
	tcase_add_test(tc, test_expand_ok);
	tcase_add_test(tc, test_expand_refused);
	tcase_add_test(tc, test_policy_json);
	tcase_add_test(tc, test_sts_names);
	suite_add_tcase(su, tc);
	tc = tcase_create("xml");
	tcase_add_test(tc, test_xml_federation);
	tcase_add_test(tc, test_xml_errors);
	tcase_add_test(tc, test_xml_s3_error);
	tcase_add_test(tc, test_xml_classify);
	suite_add_tcase(su, tc);
	tc = tcase_create("provider");
	tcase_add_unchecked_fixture(tc, double_up, double_down);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_stubhost_config_is_real);
	tcase_add_test(tc, test_federation_start_stop);
	tcase_add_test(tc, test_assume_role);
	tcase_add_test(tc, test_create_errors);
	tcase_add_test(tc, test_wrong_secret);
	tcase_add_test(tc, test_throttled);
	tcase_add_test(tc, test_throttled_then_ok);
	tcase_add_test(tc, test_server_error);
	tcase_add_test(tc, test_bad_xml);
	tcase_add_test(tc, test_hang);
	tcase_add_test(tc, test_unreachable);
	tcase_add_test(tc, test_bad_stream_name);
	tcase_add_test(tc, test_denied_and_rejected);
	tcase_add_test(tc, test_base_session_token);
	tcase_add_test(tc, test_create_bucket);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
