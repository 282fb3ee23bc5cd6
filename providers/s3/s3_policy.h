/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3_policy.h: what a stream's credentials may do, and where.
 *
 * Three small pure functions used by s3.c: expand the `path` template for one
 * stream (rejecting anything that could widen the policy), render the inline
 * session policy as JSON (with jansson, the only file that uses it), and turn
 * an owner into a name STS accepts (GetFederationToken's Name,
 * AssumeRole's RoleSessionName). No I/O, no state: any thread.
 */
#ifndef S3_POLICY_H
#define S3_POLICY_H

#include <stddef.h>

/* The longest expanded path accepted (S3 keys are at most 1024 bytes, and the
 * stream's own object names come after it). */
#define S3_POLICY_PATH_MAX 512

/* The values placeholders expand to; every pointer borrowed, may be NULL
 * (expands to ""). */
struct s3_policy_vars {
	const char *owner;     /* {owner}, also {owner_id} as in the seed */
	const char *stream_id; /* {stream_id} */
	const char *name;      /* {name} */
	const char *type;      /* {type} */
};

/*
 * s3_policy_expand_path: expand `tmpl` with `vars` into out (outsz bytes).
 * Returns 0, or -1 with a reason for people in why (whysz bytes) when the
 * template names an unknown placeholder or has an unclosed '{', or when the
 * result is empty, longer than S3_POLICY_PATH_MAX, starts with '/', contains
 * "..", a wildcard ('*' or '?'), a policy variable ('$') or a control byte:
 * each could make the policy's resource match more than the stream's folder.
 */
int s3_policy_expand_path(const char *tmpl, const struct s3_policy_vars *vars, char *out,
                          size_t outsz, char *why, size_t whysz);

/*
 * s3_policy_json: the inline policy for bucket and an expanded path:
 * object actions (s3:PutObject, s3:PutObjectAcl, s3:GetObject,
 * s3:DeleteObject, s3:AbortMultipartUpload, s3:ListMultipartUploadParts, in
 * that order) on arn:aws:s3:::BUCKET/PATH* and s3:ListBucket on
 * arn:aws:s3:::BUCKET only where s3:prefix is like PATH*; nothing else
 * (issue 6). Compact JSON.
 * Returns a malloc()ed string (free()), or NULL when out of memory.
 */
char *s3_policy_json(const char *bucket, const char *path);

/*
 * s3_policy_sts_name: write into out (maxlen + 1 bytes) `owner` cut to maxlen
 * bytes with every byte outside STS's [A-Za-z0-9_+=,.@-] replaced by '_',
 * padded with '_' to at least 2 characters (STS's minimum).
 * Returns out.
 */
char *s3_policy_sts_name(const char *owner, size_t maxlen, char *out);

#endif /* S3_POLICY_H */
