/* SPDX-License-Identifier: Apache-2.0 */
/*
 * s3.c: the `s3` provider: per-stream temporary AWS credentials that may
 * write only under the stream's own folder of a bucket (django-broadcast's
 * reason to exist, DESIGN §2).
 *
 * Central type: struct s3_instance, one per YAML instance. create() checks
 * the options and builds the STS client (s3_sts.c); start() expands the path
 * template for the stream and builds its inline policy (s3_policy.c), asks
 * STS for credentials (GetFederationToken or AssumeRole, signed by
 * s3_sign.c, answers parsed by s3_xml.c) and returns them under endpoint
 * "S3" with the seed's seven fields first, then aws_expiration_date and,
 * with a custom S3 service, s3_endpoint (additions issue 6 allows). With
 * create_bucket, create() also makes sure the bucket exists (s3_bucket.c).
 * stop() only logs, because STS
 * credentials cannot be revoked: `duration` bounds the exposure. This file
 * holds the lifecycle, the option table, the descriptor and the entry point,
 * in that order.
 *
 * Secrets (the base secret key and session token, the minted secret key and
 * session token) are never logged: log lines carry api->fingerprint() of them.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <broadcast/provider.h>

#include "s3_bucket.h"
#include "s3_http.h"
#include "s3_policy.h"
#include "s3_sts.h"

#define S3_SECTION "S3"
/* STS limits on DurationSeconds (STS API Reference). */
#define S3_FEDERATION_MIN_S 900
#define S3_FEDERATION_MAX_S 129600
#define S3_ASSUME_ROLE_MIN_S 900
#define S3_ASSUME_ROLE_MAX_S 43200
/* GetFederationToken's Name and AssumeRole's RoleSessionName lengths. */
#define S3_FEDERATION_NAME_MAX 32
#define S3_SESSION_NAME_MAX 64
#define S3_UUID_LEN 36

struct s3_instance {
	const struct bc_host_api *api;
	struct bc_host *host;
	const char *bucket;      /* borrowed from the config view */
	const char *region;
	const char *path;        /* the template */
	const char *s3_endpoint; /* NULL: AWS */
	int assume_role;
	const char *role_arn;
	const char *external_id;
	int64_t duration_s;
	struct s3_sts *sts;
};

/* ---- lifecycle ---------------------------------------------------------- */

static void s3_destroy(void *instance)
{
	struct s3_instance *in = instance;
	if (in == NULL)
		return;
	s3_sts_free(in->sts);
	free(in);
}

/* The options, read and checked: what s3_check() validates and s3_create()
 * builds on. Strings are borrowed from the config view. */
struct s3_settings {
	const char *bucket, *region, *path, *s3_endpoint, *role_arn, *external_id;
	const char *akid, *secret, *token, *ca_file;
	const char *sts_endpoint; /* NULL: AWS's, made from region */
	int assume_role;
	int64_t duration_s, timeout_ms, connect_timeout_ms;
};

/* An http:// or https:// URL as s3_http.c will parse it, without keeping it. */
static enum bc_status s3_check_url(const struct bc_host_api *api, const char *url,
                                   const char *option, struct bc_error *err)
{
	struct s3_http_target t;
	enum bc_status st = s3_http_target_parse(api, url, option, url, &t, err);
	s3_http_target_clear(&t);
	return st;
}

/* Every check of the options that needs neither the network nor a write:
 * the combinations (credentials and role_arn), STS's duration limits, the
 * path template, the endpoint URLs, ca_file being readable. Fills *o. */
static enum bc_status s3_read_settings(const struct bc_host_api *api,
                                       const struct bc_config *cfg, struct s3_settings *o,
                                       struct bc_error *err)
{
	const char *credentials = api->cfg_str(cfg, "credentials");
	char path[S3_POLICY_PATH_MAX + 1], why[256];
	int64_t duration_ms, min_s, max_s;
	enum bc_status st;

	memset(o, 0, sizeof(*o));
	o->bucket = api->cfg_str(cfg, "bucket");
	o->region = api->cfg_str(cfg, "region");
	o->path = api->cfg_str(cfg, "path");
	o->assume_role = credentials != NULL && strcmp(credentials, "assume-role") == 0;
	o->role_arn = api->cfg_str(cfg, "role_arn");
	o->external_id = api->cfg_str(cfg, "external_id");
	o->akid = api->cfg_str(cfg, "access_key_id");
	o->secret = api->cfg_str(cfg, "secret_access_key");
	o->token = api->cfg_str(cfg, "session_token");
	o->ca_file = api->cfg_str(cfg, "ca_file");
	o->sts_endpoint = api->cfg_str(cfg, "sts_endpoint");
	o->s3_endpoint = api->cfg_str(cfg, "s3_endpoint");
	if (o->s3_endpoint != NULL && *o->s3_endpoint == '\0')
		o->s3_endpoint = NULL;
	o->timeout_ms = api->cfg_int(cfg, "timeout");
	o->connect_timeout_ms = api->cfg_int(cfg, "connect_timeout");
	duration_ms = api->cfg_int(cfg, "duration");

	/* Empty bucket, region and keys never get here: they are BC_OPT_NONEMPTY. */
	if (o->bucket == NULL || strchr(o->bucket, '/') != NULL ||
	    strpbrk(o->bucket, "*?$") != NULL)
		return api->fail(err, BC_E_INVALID, "s3.bad_option",
		                 "bucket must be a bucket name (no '/', '*', '?' or '$'), e.g. "
		                 "\"${DJ_BROADCAST_S3_BUCKET}\"");
	if (o->assume_role) {
		if (o->role_arn == NULL || strncmp(o->role_arn, "arn:", 4) != 0)
			return api->fail(err, BC_E_INVALID, "s3.bad_option",
			                 "credentials: assume-role needs role_arn, the ARN of the role "
			                 "to assume (arn:aws:iam::ACCOUNT:role/NAME)");
		min_s = S3_ASSUME_ROLE_MIN_S;
		max_s = S3_ASSUME_ROLE_MAX_S;
	} else {
		if (o->role_arn != NULL || o->external_id != NULL)
			return api->fail(err, BC_E_INVALID, "s3.bad_option",
			                 "role_arn and external_id apply only to credentials: "
			                 "assume-role");
		min_s = S3_FEDERATION_MIN_S;
		max_s = S3_FEDERATION_MAX_S;
	}
	o->duration_s = duration_ms / 1000;
	if (duration_ms % 1000 != 0 || o->duration_s < min_s || o->duration_s > max_s)
		return api->fail(err, BC_E_INVALID, "s3.bad_option",
		                 "duration must be whole seconds from %llds to %llds for "
		                 "credentials: %s (STS limits)",
		                 (long long)min_s, (long long)max_s,
		                 o->assume_role ? "assume-role" : "federation");
	{
		/* Every placeholder and character check, on a stream like any other. */
		struct s3_policy_vars v = { "owner", "00000000-0000-4000-8000-000000000000",
		                            "name", "hls" };
		if (s3_policy_expand_path(o->path, &v, path, sizeof(path), why, sizeof(why)) != 0)
			return api->fail(err, BC_E_INVALID, "s3.bad_option", "path: %s", why);
	}
	if (o->ca_file != NULL && access(o->ca_file, R_OK) != 0)
		return api->fail(err, BC_E_INVALID, "s3.bad_option",
		                 "ca_file \"%s\" cannot be read", o->ca_file);
	if (o->sts_endpoint != NULL &&
	    (st = s3_check_url(api, o->sts_endpoint, "sts_endpoint", err)) != BC_OK)
		return st;
	if (o->s3_endpoint != NULL &&
	    (st = s3_check_url(api, o->s3_endpoint, "s3_endpoint", err)) != BC_OK)
		return st;
	return BC_OK;
}

/* ABI 1.1 check(): --check-config and every start run it before create(). */
static enum bc_status s3_check(const struct bc_host_api *api, const struct bc_config *cfg,
                               struct bc_error *err)
{
	struct s3_settings o;
	return s3_read_settings(api, cfg, &o, err);
}

static enum bc_status s3_create(const struct bc_host_api *api, struct bc_host *host,
                                const struct bc_config *cfg, void **instance,
                                struct bc_error *err)
{
	struct s3_instance *in = NULL;
	struct s3_sts_config sc;
	struct s3_settings o;
	char endpoint[256];
	const char *sts_endpoint;
	enum bc_status st;

	*instance = NULL;
	/* check() passed before a host calls create(); reading the options
	 * through it again keeps one copy of every rule. */
	st = s3_read_settings(api, cfg, &o, err);
	if (st != BC_OK)
		return st;
	in = calloc(1, sizeof(*in));
	if (in == NULL)
		return api->fail(err, BC_E_NOMEM, "s3.nomem", "out of memory");
	in->api = api;
	in->host = host;
	in->bucket = o.bucket;
	in->region = o.region;
	in->path = o.path;
	in->s3_endpoint = o.s3_endpoint;
	in->assume_role = o.assume_role;
	in->role_arn = o.role_arn;
	in->external_id = o.external_id;
	in->duration_s = o.duration_s;
	if (in->path[strlen(in->path) - 1] != '/')
		api->log(host, BC_LOG_WARN, "path \"%s\" does not end with '/': the policy "
		         "grants PATH*, which also matches names that merely begin with it",
		         in->path);
	sts_endpoint = o.sts_endpoint;
	if (sts_endpoint == NULL) {
		snprintf(endpoint, sizeof(endpoint), "https://sts.%s.amazonaws.com", in->region);
		sts_endpoint = endpoint;
	}
	if (!in->assume_role && o.token != NULL)
		api->log(host, BC_LOG_WARN, "session_token is set, but AWS refuses "
		         "GetFederationToken with temporary credentials; use long-term keys or "
		         "credentials: assume-role");

	memset(&sc, 0, sizeof(sc));
	sc.endpoint = sts_endpoint;
	sc.region = in->region;
	sc.access_key_id = o.akid;
	sc.secret_access_key = o.secret;
	sc.session_token = o.token;
	sc.ca_file = o.ca_file;
	sc.connect_timeout_ms = o.connect_timeout_ms;
	sc.timeout_ms = o.timeout_ms;
	sc.retries = (unsigned)api->cfg_int(cfg, "retries");
	st = s3_sts_new(api, host, &sc, &in->sts, err);
	if (st != BC_OK)
		goto fail;
	if (api->cfg_bool(cfg, "create_bucket")) {
		struct s3_bucket_config bc = {
			.endpoint = in->s3_endpoint, .bucket = in->bucket, .region = in->region,
			.access_key_id = o.akid, .secret_access_key = o.secret,
			.session_token = o.token != NULL && *o.token ? o.token : NULL,
			.ca_file = o.ca_file, .connect_timeout_ms = o.connect_timeout_ms,
			.timeout_ms = o.timeout_ms,
		};
		st = s3_bucket_ensure(api, host, &bc, err);
		if (st != BC_OK)
			goto fail;
	}
	{
		char fp[17];
		api->fingerprint(o.secret, fp);
		api->log(host, BC_LOG_INFO, "s3://%s/%s via %s %s as %s (secret %s), %llds",
		         in->bucket, in->path, in->assume_role ? "AssumeRole" : "GetFederationToken",
		         sts_endpoint, o.akid, fp, (long long)in->duration_s);
	}
	*instance = in;
	return BC_OK;
fail:
	s3_destroy(in);
	return st;
}

/* The credentials' Expiration as STS wrote it (ISO 8601, "2011-07-15T23:28:33.359Z")
 * in the API's date format, "YYYY-MM-DD HH:MM:SS" GMT (DESIGN §2). An answer
 * without a readable one (an STS-compatible service) gets start + duration,
 * which is what STS means by it. */
static void s3_expiration_date(const char *iso, int64_t now_ms, int64_t duration_s,
                               char out[20])
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;
	for (i = 0; iso != NULL && i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? !(iso[i] >= '0' && iso[i] <= '9') : iso[i] != shape[i])
			break;
	if (iso != NULL && i == sizeof(shape) - 1 &&
	    (iso[i] == 'Z' || iso[i] == '.' || iso[i] == '\0')) {
		memcpy(out, iso, 19);
		out[10] = ' ';
		out[19] = '\0';
		return;
	}
	time_t t = (time_t)(now_ms / 1000 + duration_s);
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm) != 19)
		snprintf(out, 20, "1970-01-01 00:00:00");
}

/* RoleSessionName: the owner (cut so the whole fits in 64) and the stream id,
 * so CloudTrail shows which stream a session wrote for. */
static void s3_session_name(const char *owner, const char *stream_id, char *out)
{
	char id[S3_UUID_LEN + 1];
	size_t room = S3_SESSION_NAME_MAX - S3_UUID_LEN - 1;
	s3_policy_sts_name(owner, room, out);
	s3_policy_sts_name(stream_id, S3_UUID_LEN, id);
	strcat(out, ".");
	strcat(out, id);
}

static enum bc_status s3_start(void *instance, const struct bc_stream_info *stream,
                               struct bc_endpoint *out, struct bc_error *err)
{
	struct s3_instance *in = instance;
	const struct bc_host_api *api = in->api;
	struct s3_sts_creds creds = { 0 };
	struct s3_sts_call call;
	struct s3_policy_vars vars = { stream->owner, stream->id, stream->name, stream->type };
	char path[S3_POLICY_PATH_MAX + 1], why[256], name[S3_SESSION_NAME_MAX + 1];
	char expires[20];
	char *policy = NULL;
	enum bc_status st;

	if (s3_policy_expand_path(in->path, &vars, path, sizeof(path), why, sizeof(why)) != 0) {
		st = api->fail(err, BC_E_INVALID, "s3.bad_path",
		               "cannot make this stream's S3 path: %s", why);
		goto out;
	}
	policy = s3_policy_json(in->bucket, path);
	if (policy == NULL) {
		st = api->fail(err, BC_E_NOMEM, "s3.nomem", "out of memory");
		goto out;
	}
	if (in->assume_role)
		s3_session_name(stream->owner, stream->id, name);
	else
		s3_policy_sts_name(stream->owner, S3_FEDERATION_NAME_MAX, name);

	memset(&call, 0, sizeof(call));
	call.assume_role = in->assume_role;
	call.name = name;
	call.policy = policy;
	call.duration_s = in->duration_s;
	call.role_arn = in->role_arn;
	call.external_id = in->external_id;
	st = s3_sts_issue(in->sts, &call, &creds, err);
	if (st != BC_OK)
		goto out; /* the host logs the failure with err's code and message */

	s3_expiration_date(creds.expiration, api->now_ms(), in->duration_s, expires);
	/* The seed's seven fields, in the seed's order (DESIGN §2), then the
	 * additions: clients that know the seed's shape read it unchanged. */
	if ((st = api->ep_str(out, S3_SECTION, "aws_access_key_id", creds.access_key_id, 0)) ||
	    (st = api->ep_str(out, S3_SECTION, "aws_secret_access_key", creds.secret_access_key,
	                      BC_EP_SECRET)) ||
	    (st = api->ep_str(out, S3_SECTION, "aws_session_token", creds.session_token,
	                      BC_EP_SECRET)) ||
	    (st = api->ep_real(out, S3_SECTION, "aws_expiration", (double)in->duration_s)) ||
	    (st = api->ep_str(out, S3_SECTION, "s3_bucket_name", in->bucket, 0)) ||
	    (st = api->ep_str(out, S3_SECTION, "s3_bucket_path", path, 0)) ||
	    (st = api->ep_str(out, S3_SECTION, "s3_bucket_region", in->region, 0)) ||
	    (st = api->ep_str(out, S3_SECTION, "aws_expiration_date", expires, 0)) ||
	    (in->s3_endpoint != NULL &&
	     (st = api->ep_str(out, S3_SECTION, "s3_endpoint", in->s3_endpoint, 0))) ||
	    (st = api->meta_set(out, "s3_path", path)) ||
	    (st = api->meta_set(out, "sts_access_key_id", creds.access_key_id))) {
		st = api->fail(err, st, "s3.endpoint", "cannot write the S3 endpoint");
		goto out;
	}
	{
		char fp_secret[17], fp_token[17];
		api->fingerprint(creds.secret_access_key, fp_secret);
		api->fingerprint(creds.session_token, fp_token);
		api->log(in->host, BC_LOG_INFO,
		         "stream %s: %s credentials %s for s3://%s/%s, valid %llds "
		         "(secret %s, token %s)",
		         stream->id, in->assume_role ? "AssumeRole" : "federation",
		         creds.access_key_id, in->bucket, path, (long long)in->duration_s,
		         fp_secret, fp_token);
	}
	api->counter_add(in->host, "s3_streams_started_total", NULL, 1);
out:
	s3_sts_creds_clear(&creds);
	free(policy);
	return st;
}

/* STS offers no way to revoke a credential before it expires; a stop is
 * bookkeeping the host does. Said once, at info, so operators know. */
static enum bc_status s3_stop(void *instance, const struct bc_stream_info *stream,
                              struct bc_error *err)
{
	struct s3_instance *in = instance;
	const char *key = in->api->meta_get(stream, "sts_access_key_id");
	const char *path = in->api->meta_get(stream, "s3_path");
	(void)err;
	in->api->log(in->host, BC_LOG_INFO,
	             "stream %s stopped: STS credentials %s for s3://%s/%s cannot be revoked "
	             "and stay valid until they expire (at most %llds after start)",
	             stream->id, key ? key : "(unknown)", in->bucket, path ? path : "?",
	             (long long)in->duration_s);
	return BC_OK;
}

/* From the outcome of recent starts' STS calls (s3_sts_health): a signed
 * STS call per health probe would cost money and rate limit, but STS
 * failing the last starts means the next one will likely fail too. */
static enum bc_status s3_health(void *instance, struct bc_error *err)
{
	struct s3_instance *in = instance;
	return s3_sts_health(in->sts, err);
}

/* ---- options, descriptor, entry ---------------------------------------------- */

static const char *const s3_credentials_values[] = { "federation", "assume-role", NULL };

static const struct bc_option s3_options[] = {
	BC_OPTION(.name = "bucket", .type = BC_OPT_STRING,
	          .flags = BC_OPT_REQUIRED | BC_OPT_NONEMPTY,
	          .description = "The S3 bucket streams are written to, e.g. "
	                         "\"${DJ_BROADCAST_S3_BUCKET}\"."),
	BC_OPTION(.name = "region", .type = BC_OPT_STRING, .flags = BC_OPT_NONEMPTY,
	          .default_value = "us-west-1",
	          .description = "The bucket's AWS region; also the STS region signed for."),
	BC_OPTION(.name = "path", .type = BC_OPT_STRING, .default_value = "{owner}/{stream_id}/",
	          .description = "Template of a stream's folder in the bucket: {owner}, "
	                         "{stream_id}, {name}, {type}. End it with '/'. Streams whose "
	                         "path would hold \"..\", '*', '?', '$' or start with '/' are "
	                         "refused."),
	BC_OPTION(.name = "access_key_id", .type = BC_OPT_STRING,
	          .flags = BC_OPT_REQUIRED | BC_OPT_NONEMPTY,
	          .description = "Access key id of the base credentials that call STS, e.g. "
	                         "\"${DJ_BROADCAST_AWS_ACCESS_KEY}\"."),
	BC_OPTION(.name = "secret_access_key", .type = BC_OPT_STRING,
	          .flags = BC_OPT_REQUIRED | BC_OPT_SECRET | BC_OPT_NONEMPTY,
	          .description = "Secret access key of the base credentials, e.g. "
	                         "\"${DJ_BROADCAST_AWS_ACCESS_SECRET}\"."),
	BC_OPTION(.name = "session_token", .type = BC_OPT_STRING, .flags = BC_OPT_SECRET,
	          .description = "Session token when the base credentials are temporary "
	                         "(assume-role only: GetFederationToken refuses them)."),
	BC_OPTION(.name = "credentials", .type = BC_OPT_ENUM, .default_value = "federation",
	          .enum_values = s3_credentials_values,
	          .description = "How credentials are minted: federation (STS "
	                         "GetFederationToken, as django-broadcast) or assume-role (STS "
	                         "AssumeRole of role_arn with the stream's policy as session "
	                         "policy)."),
	BC_OPTION(.name = "role_arn", .type = BC_OPT_STRING,
	          .description = "The role to assume; required with credentials: assume-role."),
	BC_OPTION(.name = "external_id", .type = BC_OPT_STRING,
	          .description = "ExternalId sent with AssumeRole, when the role's trust "
	                         "policy asks for one."),
	BC_OPTION(.name = "duration", .type = BC_OPT_DURATION, .default_value = "3600s",
	          .description = "How long minted credentials stay valid, in seconds "
	                         "(aws_expiration; \"1h\" also works): 900 to 129600 for "
	                         "federation, 900 to 43200 for assume-role (STS limits). They "
	                         "cannot be revoked, so this bounds exposure after stop."),
	BC_OPTION(.name = "sts_endpoint", .type = BC_OPT_STRING,
	          .description = "STS URL. Unset: https://sts.REGION.amazonaws.com. Set it for "
	                         "an STS-compatible service (MinIO, Ceph RGW) or a test double."),
	BC_OPTION(.name = "s3_endpoint", .type = BC_OPT_STRING,
	          .description = "S3 URL of an S3-compatible service (MinIO, Ceph RGW), "
	                         "addressed path-style; returned to clients as s3_endpoint. "
	                         "Unset: AWS S3 in region."),
	BC_OPTION(.name = "create_bucket", .type = BC_OPT_BOOL, .default_value = "false",
	          .description = "At start-up, create the bucket (in region) if S3 says it "
	                         "does not exist; the base credentials then need "
	                         "s3:ListBucket and s3:CreateBucket on it."),
	BC_OPTION(.name = "timeout", .type = BC_OPT_DURATION, .default_value = "10s",
	          .min = 100, .max = 300000,
	          .description = "How long a start may wait for STS in all, retries "
	                         "included; then it fails with 504 s3.sts_timeout (no answer) "
	                         "or 504 s3.sts_unreachable (no connection)."),
	BC_OPTION(.name = "connect_timeout", .type = BC_OPT_DURATION, .default_value = "3s",
	          .min = 100, .max = 60000,
	          .description = "How long one connection to STS may take (within timeout)."),
	BC_OPTION(.name = "retries", .type = BC_OPT_INT, .default_value = "2", .min = 0,
	          .max = 10,
	          .description = "Extra attempts, within timeout, after STS throttles (503 "
	                         "s3.sts_throttled when all fail), answers 5xx or cannot be "
	                         "reached, with jittered exponential backoff."),
	BC_OPTION(.name = "ca_file", .type = BC_OPT_STRING,
	          .description = "PEM file of CA certificates trusted for TLS to STS and "
	                         "s3_endpoint (a private CA). Unset: the system's store."),
	BC_OPTION_END
};

static const char *const s3_stream_types[] = { "hls", NULL };

static const struct bc_provider_ops s3_ops = {
	.struct_size = sizeof(struct bc_provider_ops),
	.stream_types = s3_stream_types,
	.create = s3_create,
	.start = s3_start,
	.stop = s3_stop,
	.health = s3_health,
	.destroy = s3_destroy,
	.check = s3_check,
};

static const struct bc_plugin s3_plugin = BC_PLUGIN_INIT(
	.kind = BC_KIND_PROVIDER, .name = "s3", .version = PACKAGE_VERSION,
	.description = "per-stream temporary AWS credentials (STS) scoped to the stream's S3 path",
	.flags = BC_PLUGIN_THREAD_SAFE, .options = s3_options, .ops = &s3_ops);

static const struct bc_plugin *const s3_plugins[] = { &s3_plugin, NULL };

const struct bc_plugin *const *bc_plugin_entry(unsigned host_major, unsigned host_minor)
{
	(void)host_minor;
	return host_major == BC_ABI_MAJOR ? s3_plugins : NULL;
}
