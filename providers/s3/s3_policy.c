/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_policy.c: path templates, the inline session policy and STS-safe names
 * (declared in s3_policy.h).
 *
 * The policy is the point of the whole provider: a broadcaster's temporary
 * credentials may touch only its own stream's folder. The original
 * django-broadcast granted a non-existent action and put s3:ListBucket on an
 * object ARN (where it never applies); here listing is granted on the bucket
 * ARN and narrowed with an s3:prefix condition, and object actions are the
 * six issue 6 lists: what an HLS uploader does in its own folder (write, set
 * a canned ACL such as public-read on segments, read back, delete segments
 * that slid out of a live playlist, multipart uploads for large segments).
 * The path is checked before it reaches the policy, since '*', '?' and "${"
 * mean something inside an IAM resource.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "s3_policy.h"

static const char *const s3_policy_object_actions[] = {
	"s3:PutObject", "s3:PutObjectAcl", "s3:GetObject", "s3:DeleteObject",
	"s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", NULL
};

static int s3_policy_fail(char *why, size_t whysz, const char *fmt, const char *arg)
{
	if (why != NULL && whysz > 0)
		snprintf(why, whysz, fmt, arg);
	return -1;
}

int s3_policy_expand_path(const char *tmpl, const struct s3_policy_vars *vars, char *out,
                          size_t outsz, char *why, size_t whysz)
{
	size_t n = 0;
	if (tmpl == NULL || outsz == 0)
		return s3_policy_fail(why, whysz, "%s", "no path template");
	for (const char *p = tmpl; *p;) {
		const char *val;
		size_t vlen;
		if (*p == '{') {
			const char *end = strchr(p, '}');
			if (end == NULL)
				return s3_policy_fail(why, whysz, "unclosed '{' in path template \"%s\"",
				                      tmpl);
			size_t klen = (size_t)(end - p - 1);
#define S3_KEY_IS(k) (klen == strlen(k) && strncmp(p + 1, k, klen) == 0)
			if (S3_KEY_IS("owner") || S3_KEY_IS("owner_id"))
				val = vars->owner;
			else if (S3_KEY_IS("stream_id"))
				val = vars->stream_id;
			else if (S3_KEY_IS("name"))
				val = vars->name;
			else if (S3_KEY_IS("type"))
				val = vars->type;
			else
				return s3_policy_fail(why, whysz,
				                      "unknown placeholder in path template \"%s\" "
				                      "(use {owner}, {stream_id}, {name}, {type})",
				                      tmpl);
#undef S3_KEY_IS
			val = val ? val : "";
			vlen = strlen(val);
			p = end + 1;
		} else {
			val = p;
			vlen = 1;
			p++;
		}
		if (n + vlen >= outsz || n + vlen > S3_POLICY_PATH_MAX)
			return s3_policy_fail(why, whysz, "the path of template \"%s\" is too long",
			                      tmpl);
		memcpy(out + n, val, vlen);
		n += vlen;
	}
	out[n] = '\0';
	if (n == 0)
		return s3_policy_fail(why, whysz, "the path of template \"%s\" is empty", tmpl);
	if (out[0] == '/')
		return s3_policy_fail(why, whysz, "the path \"%s\" starts with '/'", out);
	if (strstr(out, "..") != NULL)
		return s3_policy_fail(why, whysz, "the path \"%s\" contains \"..\"", out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c == '*' || c == '?' || c == '$')
			return s3_policy_fail(why, whysz,
			                      "the path \"%s\" contains a wildcard or policy "
			                      "variable ('*', '?' or '$')",
			                      out);
		if (c < 0x20 || c == 0x7f)
			return s3_policy_fail(why, whysz, "the path of template \"%s\" contains a "
			                      "control character", tmpl);
	}
	return 0;
}

/* json_array of C strings; NULL when out of memory. */
static json_t *s3_policy_strings(const char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && v[i] != NULL; i++)
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

char *s3_policy_json(const char *bucket, const char *path)
{
	json_t *doc = NULL;
	char *text = NULL, *objects = NULL, *bucket_arn = NULL, *prefix = NULL;
	size_t blen = strlen(bucket), plen = strlen(path);

	objects = malloc(blen + plen + 16 + 2);
	bucket_arn = malloc(blen + 16);
	prefix = malloc(plen + 2);
	if (objects == NULL || bucket_arn == NULL || prefix == NULL)
		goto out;
	snprintf(objects, blen + plen + 18, "arn:aws:s3:::%s/%s*", bucket, path);
	snprintf(bucket_arn, blen + 16, "arn:aws:s3:::%s", bucket);
	snprintf(prefix, plen + 2, "%s*", path);

	/* json_pack's "o" steals each reference, and on failure it frees them. */
	doc = json_pack("{s:s, s:[{s:s, s:s, s:o, s:[s]}, {s:s, s:s, s:[s], s:[s], "
	                "s:{s:{s:[s]}}}]}",
	                "Version", "2012-10-17", "Statement",
	                "Sid", "StreamObjects", "Effect", "Allow",
	                "Action", s3_policy_strings(s3_policy_object_actions),
	                "Resource", objects,
	                "Sid", "StreamListing", "Effect", "Allow",
	                "Action", "s3:ListBucket", "Resource", bucket_arn,
	                "Condition", "StringLike", "s3:prefix", prefix);
	if (doc == NULL)
		goto out;
	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(doc);
	free(objects);
	free(bucket_arn);
	free(prefix);
	return text;
}

char *s3_policy_sts_name(const char *owner, size_t maxlen, char *out)
{
	size_t n = 0;
	for (const char *p = owner ? owner : ""; *p && n < maxlen; p++, n++) {
		char c = *p;
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		         strchr("_+=,.@-", c) != NULL;
		out[n] = ok ? c : '_';
	}
	while (n < 2 && n < maxlen)
		out[n++] = '_';
	out[n] = '\0';
	return out;
}
