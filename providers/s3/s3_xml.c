/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_xml.c: expat parsing of STS answers and S3 error bodies, and the
 * meaning of STS error codes (declared in s3_xml.h).
 *
 * STS answers are small documents of one of two shapes (AWS STS API
 * Reference, "Common Errors" and each action's "Response Elements"):
 *
 *   <GetFederationTokenResponse|AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
 *     <...Result><Credentials><AccessKeyId/><SecretAccessKey/><SessionToken/>
 *       <Expiration/></Credentials>...</...Result>
 *     <ResponseMetadata><RequestId/></ResponseMetadata></...Response>
 *   <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
 *
 * S3 errors (S3 API Reference, "Error responses") are the inner part alone:
 *
 *   <Error><Code/><Message/><RequestId/>...</Error>
 *
 * So the parser keeps the name of the parent element and collects the text
 * of the handful of leaves it wants; it does not build a tree. Namespaces are
 * not processed: STS uses one default namespace, and element local names are
 * what identify the parts.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <expat.h>
#include <openssl/crypto.h>

#include "s3_xml.h"

#define S3_XML_TEXT_MAX (64 * 1024)
#define S3_XML_DEPTH_MAX 32

struct s3_xml_state {
	XML_Parser parser;
	struct s3_sts_xml *out;
	int depth;
	char stack[S3_XML_DEPTH_MAX][64];
	char root[64];          /* the document element's local name */
	char **target;          /* where the current leaf's text goes, or NULL */
	char *text;
	size_t text_len;
	int failed;             /* -1 bad document, -2 out of memory */
};

static void s3_xml_abort(struct s3_xml_state *s, int why)
{
	if (s->failed == 0)
		s->failed = why;
	XML_StopParser(s->parser, XML_FALSE);
}

/* Local name: the part after a namespace prefix, if any. */
static const char *s3_xml_local(const char *name)
{
	const char *c = strrchr(name, ':');
	return c ? c + 1 : name;
}

static void XMLCALL s3_xml_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct s3_xml_state *s = ud;
	const char *local = s3_xml_local(name);
	const char *parent = s->depth > 0 ? s->stack[s->depth - 1] : "";
	(void)attrs;
	if (s->depth >= S3_XML_DEPTH_MAX) {
		s3_xml_abort(s, -1);
		return;
	}
	if (s->depth == 0) {
		snprintf(s->root, sizeof(s->root), "%s", local);
		if (strcmp(local, "ErrorResponse") == 0)
			s->out->is_error = 1;
	}
	s->target = NULL;
	if (strcmp(parent, "Credentials") == 0) {
		if (strcmp(local, "AccessKeyId") == 0)
			s->target = &s->out->access_key_id;
		else if (strcmp(local, "SecretAccessKey") == 0)
			s->target = &s->out->secret_access_key;
		else if (strcmp(local, "SessionToken") == 0)
			s->target = &s->out->session_token;
		else if (strcmp(local, "Expiration") == 0)
			s->target = &s->out->expiration;
	} else if (strcmp(parent, "Error") == 0) {
		if (strcmp(local, "Code") == 0)
			s->target = &s->out->error_code;
		else if (strcmp(local, "Message") == 0)
			s->target = &s->out->error_message;
	}
	if (s->target == NULL && strcmp(local, "RequestId") == 0)
		s->target = &s->out->request_id; /* S3 puts it in Error, STS beside it */
	strncpy(s->stack[s->depth], local, sizeof(s->stack[0]) - 1);
	s->stack[s->depth][sizeof(s->stack[0]) - 1] = '\0';
	s->depth++;
	s->text_len = 0;
}

static void XMLCALL s3_xml_end(void *ud, const XML_Char *name)
{
	struct s3_xml_state *s = ud;
	(void)name;
	if (s->target != NULL) {
		char *v = malloc(s->text_len + 1);
		if (v == NULL) {
			s3_xml_abort(s, -2);
			return;
		}
		if (s->text_len > 0)
			memcpy(v, s->text, s->text_len);
		v[s->text_len] = '\0';
		if (*s->target != NULL) {
			OPENSSL_cleanse(*s->target, strlen(*s->target));
			free(*s->target);
		}
		*s->target = v;
		s->target = NULL;
	}
	if (s->text != NULL)
		OPENSSL_cleanse(s->text, s->text_len);
	s->text_len = 0;
	if (s->depth > 0)
		s->depth--;
}

static void XMLCALL s3_xml_chars(void *ud, const XML_Char *t, int len)
{
	struct s3_xml_state *s = ud;
	if (s->target == NULL || len <= 0)
		return;
	if (s->text_len + (size_t)len > S3_XML_TEXT_MAX) {
		s3_xml_abort(s, -1);
		return;
	}
	char *n = realloc(s->text, s->text_len + (size_t)len + 1);
	if (n == NULL) {
		s3_xml_abort(s, -2);
		return;
	}
	s->text = n;
	memcpy(s->text + s->text_len, t, (size_t)len);
	s->text_len += (size_t)len;
}

/* A DOCTYPE could declare entities; STS never sends one. */
static void XMLCALL s3_xml_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                                   const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	s3_xml_abort(ud, -1);
}

/* Parse into out; root gets the document element's local name ("" if none). */
static int s3_xml_run(const char *body, size_t len, struct s3_sts_xml *out, char root[64])
{
	struct s3_xml_state s;
	int rc = 0;
	root[0] = '\0';
	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	s.out = out;
	if (len > (size_t)1 << 30)
		return -1;
	s.parser = XML_ParserCreate(NULL);
	if (s.parser == NULL)
		return -2;
	XML_SetUserData(s.parser, &s);
	XML_SetElementHandler(s.parser, s3_xml_start, s3_xml_end);
	XML_SetCharacterDataHandler(s.parser, s3_xml_chars);
	XML_SetStartDoctypeDeclHandler(s.parser, s3_xml_doctype);
	if (XML_Parse(s.parser, body != NULL ? body : "", (int)len, XML_TRUE) != XML_STATUS_OK)
		rc = s.failed != 0 ? s.failed : -1;
	else if (s.failed != 0)
		rc = s.failed;
	XML_ParserFree(s.parser);
	if (s.text != NULL) {
		OPENSSL_cleanse(s.text, s.text_len);
		free(s.text);
	}
	memcpy(root, s.root, sizeof(s.root));
	return rc;
}

int s3_xml_parse_sts(const char *body, size_t len, struct s3_sts_xml *out)
{
	char root[64];
	return s3_xml_run(body, len, out, root);
}

int s3_xml_parse_error(const char *body, size_t len, struct s3_xml_error *out)
{
	struct s3_sts_xml x;
	char root[64];
	int rc = s3_xml_run(body, len, &x, root);
	out->code = x.error_code;
	out->message = x.error_message;
	out->request_id = x.request_id;
	x.error_code = x.error_message = x.request_id = NULL;
	s3_xml_clear(&x); /* whatever else it held, wiped */
	if (rc == 0 && strcmp(root, "Error") != 0 && strcmp(root, "ErrorResponse") != 0)
		rc = -1;
	return rc;
}

void s3_xml_error_clear(struct s3_xml_error *e)
{
	if (e == NULL)
		return;
	free(e->code);
	free(e->message);
	free(e->request_id);
	memset(e, 0, sizeof(*e));
}

static void s3_xml_free_secret(char **p)
{
	if (*p != NULL) {
		OPENSSL_cleanse(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

void s3_xml_clear(struct s3_sts_xml *x)
{
	if (x == NULL)
		return;
	s3_xml_free_secret(&x->access_key_id);
	s3_xml_free_secret(&x->secret_access_key);
	s3_xml_free_secret(&x->session_token);
	free(x->expiration);
	free(x->error_code);
	free(x->error_message);
	free(x->request_id);
	memset(x, 0, sizeof(*x));
}

static int s3_xml_code_in(const char *code, const char *const *list)
{
	for (size_t i = 0; code != NULL && list[i] != NULL; i++)
		if (strcasecmp(code, list[i]) == 0)
			return 1;
	return 0;
}

struct s3_xml_verdict s3_xml_classify(long http_status, const char *error_code)
{
	static const char *const throttling[] = {
		"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
		"RequestThrottledException", "RequestLimitExceeded", "TooManyRequestsException",
		"SlowDown", "PriorRequestNotComplete", "BandwidthLimitExceeded", NULL
	};
	static const char *const denied[] = {
		"InvalidClientTokenId", "SignatureDoesNotMatch", "AccessDenied",
		"AccessDeniedException", "ExpiredToken", "ExpiredTokenException",
		"IncompleteSignature", "MissingAuthenticationToken", "InvalidAccessKeyId",
		"UnrecognizedClientException", "AuthFailure", "NotAuthorized", "RequestExpired",
		"InvalidToken", NULL
	};
	struct s3_xml_verdict v = { BC_E_UPSTREAM, "s3.sts_rejected", "rejected", 0 };
	if (s3_xml_code_in(error_code, throttling) || http_status == 429) {
		v.status = BC_E_UNAVAILABLE;
		v.code = "s3.sts_throttled";
		v.label = "throttled";
		v.retryable = 1;
	} else if (s3_xml_code_in(error_code, denied) || http_status == 401 ||
	           http_status == 403) {
		/* Our own base credentials were refused: an operator must fix the
		 * config, so the code names them rather than STS. */
		v.code = "s3.credentials_rejected";
		v.label = "denied";
	} else if (http_status >= 500) {
		v.code = "s3.sts_error";
		v.label = "error";
		v.retryable = 1;
	}
	return v;
}
