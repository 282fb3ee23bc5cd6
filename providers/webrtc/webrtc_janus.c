/* SPDX-License-Identifier: Apache-2.0 */
/*
 * webrtc_janus.c: the Janus HTTP API over libcurl, with jansson for its
 * JSON (see webrtc_janus.h for what is offered and why).
 *
 * Janus's HTTP transport: POST {base} {"janus":"create"} makes a session;
 * POST {base}/{session} {"janus":"attach","plugin":...} a handle; POST
 * {base}/{session}/{handle} {"janus":"message","body":...,"jsep":...} sends
 * a plugin request, answered at once for synchronous requests ("success"
 * with plugindata) and with "ack" for asynchronous ones, whose result comes
 * later as an event carrying the same "transaction". Events are read with
 * a long poll, GET {base}/{session}?maxev=N, which Janus holds up to 30 s
 * and which it also counts as the session's keepalive (janus_http.c passes
 * a fake "keepalive" request to the core for each poll), so a polled
 * session never reaches session_timeout.
 *
 * Central type: struct webrtc_janus_session; its thread (wj_poll_main) is
 * the only reader of the session's events. A caller waiting for the answer
 * to its request registers the transaction first, then sends, then waits
 * on the session's condition variable; requests that wait are serialised
 * by req_lock, so one slot is enough.
 */
#include <config.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "webrtc_janus.h"

#define WJ_REPLY_MAX (1024 * 1024) /* an SDP with every candidate fits easily */
#define WJ_URL_MAX 2048
#define WJ_POLL_TIMEOUT_MS 45000   /* Janus answers a poll within 30 s */
#define WJ_PLUGIN "janus.plugin.videoroom"

struct webrtc_janus {
	const struct bc_host_api *api;
	struct bc_host *host;
	char *url;         /* without a trailing slash */
	char *api_secret;  /* NULL: none */
	char *admin_key;   /* NULL: none */
	char *video_codecs;
	char *audio_codecs;
	int64_t timeout_ms;
	unsigned long tx_counter; /* atomic */
};

struct webrtc_janus_session {
	struct webrtc_janus *j;
	uint64_t session_id, handle_id;
	webrtc_janus_event_fn fn;
	void *user;
	pthread_t thread;
	int thread_started;
	int stop;                 /* atomic: close() asked the thread to end */
	pthread_mutex_t req_lock; /* one waiting request at a time */
	pthread_mutex_t lock;     /* guards the fields below */
	pthread_cond_t cond;
	char want_tx[32];         /* the transaction a caller waits for, or "" */
	json_t *got;              /* its event, handed over by the thread */
	int dead;                 /* the thread ended: no answer will come */
	int destroyed;            /* atomic: "destroy" was sent to Janus */
};

/* ---- HTTP ------------------------------------------------------------------------ */

struct wj_buf {
	char *data;
	size_t len;
	int too_big;
};

static size_t wj_write(char *data, size_t size, size_t nmemb, void *user)
{
	struct wj_buf *b = user;
	size_t n = size * nmemb;
	char *p;

	if (b->len + n > WJ_REPLY_MAX) {
		b->too_big = 1;
		return 0;
	}
	p = realloc(b->data, b->len + n + 1);
	if (p == NULL)
		return 0;
	b->data = p;
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* libcurl's progress callback: a nonzero return aborts the transfer, so a
 * long poll ends within a second of close(). */
static int wj_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const int *stop = user;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return stop != NULL && __atomic_load_n(stop, __ATOMIC_RELAXED);
}

enum wj_http {
	WJ_HTTP_OK = 0,       /* 2xx with a JSON body, in *reply */
	WJ_HTTP_DOWN = -1,    /* no connection, timeout, aborted */
	WJ_HTTP_BAD = -2,     /* an answer that is not Janus's JSON */
	WJ_HTTP_NOTFOUND = -3 /* 404: a session or handle Janus does not know */
};

/* One request to `path` under the base URL: POST `body` (with a fresh
 * transaction and the API secret added) or, body NULL, a GET (the long
 * poll). `stop`: abort when it turns nonzero. */
static enum wj_http wj_http(struct webrtc_janus *j, const char *path, json_t *body,
                            int64_t timeout_ms, const int *stop, json_t **reply)
{
	char url[WJ_URL_MAX];
	struct wj_buf buf = { NULL, 0, 0 };
	struct curl_slist *hdrs = NULL;
	char *text = NULL;
	CURL *h = NULL;
	CURLcode rc;
	long status = 0;
	json_error_t jerr;
	enum wj_http result = WJ_HTTP_DOWN;
	int n;

	*reply = NULL;
	if (body == NULL && j->api_secret != NULL) {
		char *esc = curl_easy_escape(NULL, j->api_secret, 0);
		if (esc == NULL)
			return WJ_HTTP_DOWN;
		n = snprintf(url, sizeof(url), "%s%s?maxev=8&apisecret=%s", j->url, path, esc);
		explicit_bzero(esc, strlen(esc));
		curl_free(esc);
	} else {
		n = snprintf(url, sizeof(url), "%s%s%s", j->url, path, body == NULL ? "?maxev=8" : "");
	}
	if (n < 0 || (size_t)n >= sizeof(url))
		goto out;
	if (body != NULL) {
		char tx[32];
		unsigned long c = __atomic_add_fetch(&j->tx_counter, 1, __ATOMIC_RELAXED);
		if (json_object_get(body, "transaction") == NULL) {
			snprintf(tx, sizeof(tx), "bc%lu", c);
			json_object_set_new(body, "transaction", json_string(tx));
		}
		if (j->api_secret != NULL)
			json_object_set_new(body, "apisecret", json_string(j->api_secret));
		text = json_dumps(body, JSON_COMPACT);
		json_object_del(body, "apisecret");
		if (text == NULL)
			goto out;
	}
	h = curl_easy_init();
	if (h == NULL)
		goto out;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)(j->timeout_ms < timeout_ms ? j->timeout_ms : timeout_ms));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, wj_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &buf);
	if (stop != NULL) {
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, wj_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, stop);
	}
	if (text != NULL) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
	}
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		if (stop == NULL || !__atomic_load_n(stop, __ATOMIC_RELAXED))
			j->api->log(j->host, BC_LOG_DEBUG, "Janus %s %s: %s",
			            text != NULL ? "POST" : "GET", path, curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status == 404) {
		result = WJ_HTTP_NOTFOUND;
		goto out;
	}
	result = WJ_HTTP_BAD;
	if (status < 200 || status > 299 || buf.data == NULL) {
		j->api->log(j->host, BC_LOG_WARN, "Janus %s %s: HTTP %ld",
		            text != NULL ? "POST" : "GET", path, status);
		goto out;
	}
	*reply = json_loads(buf.data, 0, &jerr);
	if (*reply == NULL) {
		j->api->log(j->host, BC_LOG_WARN, "Janus %s: an answer that is not JSON", path);
		goto out;
	}
	result = WJ_HTTP_OK;
out:
	if (text != NULL) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	curl_slist_free_all(hdrs);
	if (h != NULL)
		curl_easy_cleanup(h);
	free(buf.data);
	return result;
}

static enum bc_status wj_unavailable(struct webrtc_janus *j, struct webrtc_err *err)
{
	return wj_err(j->api, err, BC_E_UNAVAILABLE, "webrtc.janus_unavailable",
	                    "Janus does not answer at its janus_url; try again when it is up");
}

/* The error a Janus answer carries: the core's {"janus":"error","error":
 * {"code","reason"}} or a plugin's {"error_code","error"} in its data.
 * Returns the code (0: none) and copies the reason. */
static int wj_error_of(json_t *reply, char *reason, size_t len)
{
	json_t *e = json_object_get(reply, "error");
	json_t *data = json_object_get(json_object_get(reply, "plugindata"), "data");
	const char *r = NULL;
	int code = 0;

	if (json_is_object(e)) {
		code = (int)json_integer_value(json_object_get(e, "code"));
		r = json_string_value(json_object_get(e, "reason"));
	} else if (json_is_object(data) && json_object_get(data, "error_code") != NULL) {
		code = (int)json_integer_value(json_object_get(data, "error_code"));
		r = json_string_value(json_object_get(data, "error"));
	}
	snprintf(reason, len, "%s", r != NULL ? r : "no reason given");
	return code;
}

/* Map a Janus error to ours. */
static enum bc_status wj_fail(struct webrtc_janus *j, int code, const char *reason,
                              struct webrtc_err *err)
{
	const struct bc_host_api *api = j->api;

	switch (code) {
	case 432: /* JANUS_VIDEOROOM_ERROR_PUBLISHERS_FULL */
	case 434: /* ALREADY_PUBLISHED */
		return wj_err(api, err, BC_E_CONFLICT, "webrtc.publisher_exists",
		                 "the stream has its publisher already; DELETE its session first");
	case 426: /* NO_SUCH_ROOM */
		return wj_err(api, err, BC_E_NOT_FOUND, "webrtc.no_room",
		                 "Janus has no room for this stream");
	case 428: /* NO_SUCH_FEED */
		return wj_err(api, err, BC_E_NOT_FOUND, "webrtc.not_publishing",
		                 "nobody publishes this stream now");
	case 431: /* INVALID_SDP_TYPE */
	case 437: /* INVALID_SDP */
	case 464: /* JSEP_UNKNOWN_TYPE */
	case 465: /* JSEP_INVALID_SDP */
	case 469: /* UNEXPECTED_ANSWER */
		return wj_err(api, err, BC_E_INVALID, "webrtc.bad_sdp", "Janus refused the SDP: %s",
		                 reason);
	case 458: /* SESSION_NOT_FOUND */
	case 459: /* HANDLE_NOT_FOUND */
		return wj_err(api, err, BC_E_UNAVAILABLE, "webrtc.janus_session_lost",
		                 "Janus lost the session (did it restart?); try again");
	case 403:
		j->api->log(j->host, BC_LOG_ERROR,
		            "Janus refused our api secret or admin key: check janus_api_secret "
		            "and janus_admin_key");
		return wj_err(api, err, BC_E_UNAVAILABLE, "webrtc.janus_refused",
		                 "Janus refused the provider's credentials; see the daemon's log");
	default:
		/* Not the reason: it may quote a request. */
		j->api->log(j->host, BC_LOG_WARN, "Janus error %d: %s", code, reason);
		return wj_err(api, err, BC_E_UPSTREAM, "webrtc.janus_error",
		                 "Janus refused the request (error %d); see the daemon's log", code);
	}
}

/* POST and expect an answer of kind `want` ("success", "ack"); else fail. */
static enum bc_status wj_call(struct webrtc_janus *j, const char *path, json_t *body,
                              const char *want, json_t **reply, struct webrtc_err *err)
{
	json_t *r = NULL;
	enum wj_http h = wj_http(j, path, body, j->timeout_ms, NULL, &r);
	const char *kind;
	char reason[256];
	int code;

	*reply = NULL;
	if (h == WJ_HTTP_NOTFOUND)
		return wj_fail(j, 458, "not found", err);
	if (h != WJ_HTTP_OK)
		return wj_unavailable(j, err);
	kind = json_string_value(json_object_get(r, "janus"));
	code = wj_error_of(r, reason, sizeof(reason));
	if (kind == NULL || strcmp(kind, want) != 0 || code != 0) {
		enum bc_status st = wj_fail(j, code != 0 ? code : 490, reason, err);
		json_decref(r);
		return st;
	}
	*reply = r;
	return BC_OK;
}

/* POST body (consumed; NULL: out of memory) to path and take the id Janus
 * answers with ("success", data.id); `missing` is the failure without one. */
static enum bc_status wj_call_for_id(struct webrtc_janus *j, const char *path, json_t *body,
                                     const char *missing, uint64_t *id, struct webrtc_err *err)
{
	json_t *r = NULL;
	json_int_t v;
	enum bc_status st;

	if (body == NULL)
		return wj_err(j->api, err, BC_E_NOMEM, "webrtc.nomem", "out of memory");
	st = wj_call(j, path, body, "success", &r, err);
	json_decref(body);
	if (st != BC_OK)
		return st;
	v = json_integer_value(json_object_get(json_object_get(r, "data"), "id"));
	json_decref(r);
	*id = v > 0 ? (uint64_t)v : 0;
	if (*id == 0)
		return wj_err(j->api, err, BC_E_UPSTREAM, "webrtc.janus_error", "%s", missing);
	return BC_OK;
}

/* A Janus session and a VideoRoom handle. */
static enum bc_status wj_attach(struct webrtc_janus *j, uint64_t *session, uint64_t *handle,
                                struct webrtc_err *err)
{
	char path[64];
	enum bc_status st;

	*session = *handle = 0;
	st = wj_call_for_id(j, "", json_pack("{ss}", "janus", "create"),
	                    "Janus made a session without an id", session, err);
	if (st != BC_OK)
		return st;
	snprintf(path, sizeof(path), "/%" PRIu64, *session);
	return wj_call_for_id(j, path, json_pack("{ssss}", "janus", "attach", "plugin", WJ_PLUGIN),
	                      "Janus attached a handle without an id", handle, err);
}

static void wj_session_destroy(struct webrtc_janus *j, uint64_t session)
{
	json_t *body = json_pack("{ss}", "janus", "destroy"), *r = NULL;
	char path[64];

	if (body == NULL || session == 0) {
		json_decref(body);
		return;
	}
	snprintf(path, sizeof(path), "/%" PRIu64, session);
	(void)wj_http(j, path, body, j->timeout_ms, NULL, &r);
	json_decref(r);
	json_decref(body);
}

/* One synchronous VideoRoom request on a session of its own; *data is its
 * plugindata.data on success. */
static enum bc_status wj_room_request(struct webrtc_janus *j, json_t *request, json_t **data,
                                      struct webrtc_err *err)
{
	uint64_t session = 0, handle = 0;
	json_t *body = NULL, *r = NULL;
	char path[96];
	enum bc_status st;

	*data = NULL;
	st = wj_attach(j, &session, &handle, err);
	if (st != BC_OK)
		goto out;
	body = json_pack("{sssO}", "janus", "message", "body", request);
	if (body == NULL) {
		st = wj_err(j->api, err, BC_E_NOMEM, "webrtc.nomem", "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), "/%" PRIu64 "/%" PRIu64, session, handle);
	st = wj_call(j, path, body, "success", &r, err);
	if (st != BC_OK)
		goto out;
	*data = json_incref(json_object_get(json_object_get(r, "plugindata"), "data"));
	if (*data == NULL)
		st = wj_err(j->api, err, BC_E_UPSTREAM, "webrtc.janus_error",
		                  "Janus answered without plugin data");
out:
	json_decref(r);
	json_decref(body);
	wj_session_destroy(j, session);
	return st;
}

/* ---- client ------------------------------------------------------------------------- */

static char *wj_strdup_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? strdup(s) : NULL;
}

enum bc_status webrtc_janus_create(struct webrtc_janus **out, const struct bc_host_api *api,
                                   struct bc_host *host, const struct webrtc_janus_cfg *cfg,
                                   struct webrtc_err *err)
{
	struct webrtc_janus *j = NULL;
	size_t len;

	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return wj_err(api, err, BC_E_INTERNAL, "webrtc.curl", "curl_global_init failed");
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		curl_global_cleanup();
		return wj_err(api, err, BC_E_NOMEM, "webrtc.nomem", "out of memory");
	}
	j->api = api;
	j->host = host;
	j->timeout_ms = cfg->timeout_ms;
	j->url = strdup(cfg->url);
	j->api_secret = wj_strdup_or_null(cfg->api_secret);
	j->admin_key = wj_strdup_or_null(cfg->admin_key);
	j->video_codecs = strdup(cfg->video_codecs);
	j->audio_codecs = strdup(cfg->audio_codecs);
	if (j->url == NULL || j->video_codecs == NULL || j->audio_codecs == NULL ||
	    (cfg->api_secret != NULL && cfg->api_secret[0] != '\0' && j->api_secret == NULL) ||
	    (cfg->admin_key != NULL && cfg->admin_key[0] != '\0' && j->admin_key == NULL)) {
		webrtc_janus_destroy(j);
		return wj_err(api, err, BC_E_NOMEM, "webrtc.nomem", "out of memory");
	}
	len = strlen(j->url);
	while (len > 0 && j->url[len - 1] == '/')
		j->url[--len] = '\0';
	*out = j;
	return BC_OK;
}

void webrtc_janus_destroy(struct webrtc_janus *j)
{
	if (j == NULL)
		return;
	free(j->url);
	if (j->api_secret != NULL) {
		explicit_bzero(j->api_secret, strlen(j->api_secret));
		free(j->api_secret);
	}
	if (j->admin_key != NULL) {
		explicit_bzero(j->admin_key, strlen(j->admin_key));
		free(j->admin_key);
	}
	free(j->video_codecs);
	free(j->audio_codecs);
	free(j);
	curl_global_cleanup();
}

enum bc_status webrtc_janus_ping(struct webrtc_janus *j, struct webrtc_err *err)
{
	json_t *body = json_pack("{ss}", "janus", "info"), *r = NULL;
	enum bc_status st;

	if (body == NULL)
		return wj_err(j->api, err, BC_E_NOMEM, "webrtc.nomem", "out of memory");
	st = wj_call(j, "/info", body, "server_info", &r, err);
	json_decref(body);
	json_decref(r);
	return st;
}

/* ---- rooms ------------------------------------------------------------------------------ */

/* Send a room request (req consumed; NULL: out of memory) and judge
 * Janus's answer: BC_OK for success and for `ok_code`, the error Janus
 * names that the request's aim is met anyway. */
static enum bc_status wj_room_change(struct webrtc_janus *j, json_t *req, int ok_code,
                                     struct webrtc_err *err)
{
	json_t *data = NULL, *wrap = NULL;
	char reason[256];
	enum bc_status st;
	int code;

	if (req == NULL)
		return wj_err(j->api, err, BC_E_NOMEM, "webrtc.nomem", "out of memory");
	st = wj_room_request(j, req, &data, err);
	json_decref(req);
	if (st != BC_OK)
		return st;
	wrap = json_pack("{s{sO}}", "plugindata", "data", data);
	code = wj_error_of(wrap, reason, sizeof(reason));
	json_decref(wrap);
	json_decref(data);
	if (code == 0 || code == ok_code)
		return BC_OK;
	return wj_fail(j, code, reason, err);
}

enum bc_status webrtc_janus_room_create(struct webrtc_janus *j, uint64_t room,
                                        const char *secret, const char *description,
                                        struct webrtc_err *err)
{
	json_t *req;

	req = json_pack("{sssIsssssisbsbssss}", "request", "create", "room", (json_int_t)room,
	                "secret", secret, "description", description, "publishers", 1,
	                "is_private", 1, "permanent", 0, "videocodec", j->video_codecs,
	                "audiocodec", j->audio_codecs);
	if (req != NULL && j->admin_key != NULL)
		json_object_set_new(req, "admin_key", json_string(j->admin_key));
	return wj_room_change(j, req, 427, err); /* ROOM_EXISTS: ours from before */
}

enum bc_status webrtc_janus_room_destroy(struct webrtc_janus *j, uint64_t room,
                                         const char *secret, struct webrtc_err *err)
{
	json_t *req = json_pack("{sssIss}", "request", "destroy", "room", (json_int_t)room,
	                        "secret", secret);

	return wj_room_change(j, req, 426, err); /* NO_SUCH_ROOM: gone already */
}

int webrtc_janus_room_kick_all(struct webrtc_janus *j, uint64_t room, const char *secret)
{
	json_t *req, *data = NULL, *list, *p;
	size_t i;
	int kicked = 0;

	req = json_pack("{sssI}", "request", "listparticipants", "room", (json_int_t)room);
	if (req == NULL || wj_room_request(j, req, &data, NULL) != BC_OK) {
		json_decref(req);
		return -1;
	}
	json_decref(req);
	list = json_object_get(data, "participants");
	json_array_foreach(list, i, p) {
		json_t *kick, *r = NULL;
		json_int_t id = json_integer_value(json_object_get(p, "id"));
		kick = json_pack("{sssIsIss}", "request", "kick", "room", (json_int_t)room, "id", id,
		                 "secret", secret);
		if (kick != NULL && wj_room_request(j, kick, &r, NULL) == BC_OK)
			kicked++;
		json_decref(r);
		json_decref(kick);
	}
	json_decref(data);
	return kicked;
}

/* ---- media sessions ----------------------------------------------------------------------- */

static void wj_emit(struct webrtc_janus_session *s, enum webrtc_janus_event ev,
                   const char *detail)
{
	if (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
		s->fn(s->user, ev, detail);
}

/* One event from the long poll. Returns 1 when the session is over. */
static int wj_dispatch(struct webrtc_janus_session *s, json_t *ev)
{
	const char *kind = json_string_value(json_object_get(ev, "janus"));
	const char *tx = json_string_value(json_object_get(ev, "transaction"));
	json_t *data = json_object_get(json_object_get(ev, "plugindata"), "data");
	const char *vr = json_string_value(json_object_get(data, "videoroom"));

	if (kind == NULL)
		return 0;
	if (strcmp(kind, "event") == 0 && tx != NULL) {
		int taken = 0;
		pthread_mutex_lock(&s->lock);
		if (s->want_tx[0] != '\0' && strcmp(s->want_tx, tx) == 0 && s->got == NULL) {
			s->got = json_incref(ev);
			taken = 1;
			pthread_cond_broadcast(&s->cond);
		}
		pthread_mutex_unlock(&s->lock);
		if (taken)
			return 0;
	}
	if (strcmp(kind, "webrtcup") == 0) {
		wj_emit(s, WEBRTC_JANUS_UP, NULL);
	} else if (strcmp(kind, "media") == 0) {
		json_t *rx = json_object_get(ev, "receiving");
		if (json_is_boolean(rx))
			wj_emit(s, json_is_true(rx) ? WEBRTC_JANUS_MEDIA_ON : WEBRTC_JANUS_MEDIA_OFF,
			        json_string_value(json_object_get(ev, "type")));
	} else if (strcmp(kind, "hangup") == 0) {
		/* A WHIP or viewer session is one PeerConnection: once it is
		 * closed the client must come again (RFC 9725 §4.3), so the
		 * Janus session goes too (wj_poll_main). */
		wj_emit(s, WEBRTC_JANUS_HANGUP, json_string_value(json_object_get(ev, "reason")));
		return 1;
	} else if (strcmp(kind, "timeout") == 0 || strcmp(kind, "detached") == 0) {
		wj_emit(s, WEBRTC_JANUS_GONE, kind);
		return 1;
	} else if (strcmp(kind, "event") == 0 && vr != NULL && strcmp(vr, "destroyed") == 0) {
		wj_emit(s, WEBRTC_JANUS_GONE, "room destroyed");
		return 1;
	} else if (strcmp(kind, "event") == 0 && vr != NULL &&
	           json_object_get(data, "leaving") != NULL &&
	           json_is_string(json_object_get(data, "leaving")) &&
	           strcmp(json_string_value(json_object_get(data, "leaving")), "ok") == 0) {
		wj_emit(s, WEBRTC_JANUS_HANGUP, "kicked");
	}
	return 0;
}

static void *wj_poll_main(void *arg)
{
	struct webrtc_janus_session *s = arg;
	char path[64];
	int over = 0;

	snprintf(path, sizeof(path), "/%" PRIu64, s->session_id);
	while (!over && !__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		json_t *r = NULL, *ev;
		size_t i;
		enum wj_http h = wj_http(s->j, path, NULL, WJ_POLL_TIMEOUT_MS, &s->stop, &r);

		if (__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
			json_decref(r);
			break;
		}
		if (h == WJ_HTTP_OK && json_is_array(r)) {
			json_array_foreach(r, i, ev) {
				if (!over)
					over = wj_dispatch(s, ev);
			}
		} else if (h == WJ_HTTP_OK) {
			over = wj_dispatch(s, r);
		} else {
			/* Janus down, restarted (404: it knows the session no more) or
			 * answering nonsense: the session is lost either way. */
			s->j->api->log(s->j->host, BC_LOG_INFO, "Janus session %" PRIu64 " lost (%s)",
			               s->session_id, h == WJ_HTTP_NOTFOUND ? "unknown to Janus"
			                                                    : "Janus unreachable");
			wj_emit(s, WEBRTC_JANUS_GONE, "Janus unreachable");
			over = 1;
		}
		json_decref(r);
	}
	pthread_mutex_lock(&s->lock);
	s->dead = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	/* Over on its own (a hangup, the room destroyed): free Janus of it
	 * now rather than at close(), which may come much later. */
	if (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED) &&
	    !__atomic_exchange_n(&s->destroyed, 1, __ATOMIC_RELAXED))
		wj_session_destroy(s->j, s->session_id);
	return NULL;
}

enum bc_status webrtc_janus_session_open(struct webrtc_janus *j, webrtc_janus_event_fn fn,
                                         void *user, struct webrtc_janus_session **out,
                                         struct webrtc_err *err)
{
	struct webrtc_janus_session *s;
	enum bc_status st;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return wj_err(j->api, err, BC_E_NOMEM, "webrtc.nomem", "out of memory");
	s->j = j;
	s->fn = fn;
	s->user = user;
	pthread_mutex_init(&s->req_lock, NULL);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	st = wj_attach(j, &s->session_id, &s->handle_id, err);
	if (st != BC_OK)
		goto fail;
	if (pthread_create(&s->thread, NULL, wj_poll_main, s) != 0) {
		st = wj_err(j->api, err, BC_E_INTERNAL, "webrtc.thread_failed",
		                  "cannot start a thread for the Janus session");
		goto fail;
	}
	s->thread_started = 1;
	*out = s;
	return BC_OK;
fail:
	webrtc_janus_session_close(s);
	return st;
}

void webrtc_janus_session_close(struct webrtc_janus_session *s)
{
	if (s == NULL)
		return;
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	/* Destroying the session ends its PeerConnection and answers the
	 * pending long poll at once. */
	if (!__atomic_exchange_n(&s->destroyed, 1, __ATOMIC_RELAXED))
		wj_session_destroy(s->j, s->session_id);
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	json_decref(s->got);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->req_lock);
	free(s);
}

/* Send a VideoRoom request (with an optional JSEP) on the session's handle
 * and wait for its asynchronous answer; *data is the answer's plugin data
 * and *jsep_sdp a copy of its JSEP SDP, if any. */
static enum bc_status wj_session_ask(struct webrtc_janus_session *s, json_t *request,
                                     const char *jsep_type, const char *sdp, json_t **data,
                                     char **jsep_sdp, struct webrtc_err *err)
{
	struct webrtc_janus *j = s->j;
	json_t *body = NULL, *r = NULL, *ev = NULL;
	char path[96], tx[32], reason[256];
	unsigned long c = __atomic_add_fetch(&j->tx_counter, 1, __ATOMIC_RELAXED);
	struct timespec until;
	enum bc_status st;
	int code;

	*data = NULL;
	if (jsep_sdp != NULL)
		*jsep_sdp = NULL;
	pthread_mutex_lock(&s->req_lock);
	snprintf(tx, sizeof(tx), "bcw%lu", c);
	body = json_pack("{sssssO}", "janus", "message", "transaction", tx, "body", request);
	if (body != NULL && sdp != NULL)
		json_object_set_new(body, "jsep", json_pack("{ssss}", "type", jsep_type, "sdp", sdp));
	if (body == NULL) {
		st = wj_err(j->api, err, BC_E_NOMEM, "webrtc.nomem", "out of memory");
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	snprintf(s->want_tx, sizeof(s->want_tx), "%s", tx);
	json_decref(s->got);
	s->got = NULL;
	pthread_mutex_unlock(&s->lock);

	snprintf(path, sizeof(path), "/%" PRIu64 "/%" PRIu64, s->session_id, s->handle_id);
	st = wj_call(j, path, body, "ack", &r, err);
	if (st != BC_OK)
		goto out;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)(j->timeout_ms / 1000);
	until.tv_nsec += (long)(j->timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (s->got == NULL && !s->dead) {
		if (pthread_cond_timedwait(&s->cond, &s->lock, &until) != 0)
			break;
	}
	ev = s->got;
	s->got = NULL;
	s->want_tx[0] = '\0';
	pthread_mutex_unlock(&s->lock);
	if (ev == NULL) {
		st = wj_unavailable(j, err);
		goto out;
	}
	code = wj_error_of(ev, reason, sizeof(reason));
	if (code != 0) {
		st = wj_fail(j, code, reason, err);
		goto out;
	}
	*data = json_incref(json_object_get(json_object_get(ev, "plugindata"), "data"));
	if (jsep_sdp != NULL) {
		const char *v = json_string_value(json_object_get(json_object_get(ev, "jsep"), "sdp"));
		if (v != NULL && (*jsep_sdp = strdup(v)) == NULL) {
			st = wj_err(j->api, err, BC_E_NOMEM, "webrtc.nomem", "out of memory");
			goto out;
		}
	}
	st = BC_OK;
out:
	if (st != BC_OK) {
		json_decref(*data);
		*data = NULL;
	}
	json_decref(ev);
	json_decref(r);
	json_decref(body);
	pthread_mutex_unlock(&s->req_lock);
	return st;
}

enum bc_status webrtc_janus_publish(struct webrtc_janus_session *s, uint64_t room,
                                    const char *display, const char *offer, char **answer,
                                    uint64_t *feed, struct webrtc_err *err)
{
	json_t *req, *data = NULL;
	const char *kind;
	enum bc_status st;

	*answer = NULL;
	*feed = 0;
	req = json_pack("{sssssIss}", "request", "joinandconfigure", "ptype", "publisher",
	                "room", (json_int_t)room, "display", display);
	if (req == NULL)
		return wj_err(s->j->api, err, BC_E_NOMEM, "webrtc.nomem", "out of memory");
	st = wj_session_ask(s, req, "offer", offer, &data, answer, err);
	json_decref(req);
	if (st != BC_OK)
		return st;
	kind = json_string_value(json_object_get(data, "videoroom"));
	if (kind == NULL || strcmp(kind, "joined") != 0 || *answer == NULL) {
		st = wj_err(s->j->api, err, BC_E_UPSTREAM, "webrtc.janus_error",
		                     "Janus did not answer the offer");
		free(*answer);
		*answer = NULL;
	} else {
		json_int_t id = json_integer_value(json_object_get(data, "id"));
		*feed = id > 0 ? (uint64_t)id : 0;
	}
	json_decref(data);
	return st;
}

enum bc_status webrtc_janus_subscribe(struct webrtc_janus_session *s, uint64_t room,
                                      uint64_t feed, char **offer, struct webrtc_err *err)
{
	json_t *req, *data = NULL;
	const char *kind;
	enum bc_status st;

	*offer = NULL;
	req = json_pack("{sssssIs[{sI}]}", "request", "join", "ptype", "subscriber", "room",
	                (json_int_t)room, "streams", "feed", (json_int_t)feed);
	if (req == NULL)
		return wj_err(s->j->api, err, BC_E_NOMEM, "webrtc.nomem", "out of memory");
	st = wj_session_ask(s, req, NULL, NULL, &data, offer, err);
	json_decref(req);
	if (st != BC_OK)
		return st;
	kind = json_string_value(json_object_get(data, "videoroom"));
	if (kind == NULL || strcmp(kind, "attached") != 0 || *offer == NULL) {
		st = wj_err(s->j->api, err, BC_E_UPSTREAM, "webrtc.janus_error",
		                     "Janus made no offer for the subscription");
		free(*offer);
		*offer = NULL;
	}
	json_decref(data);
	return st;
}

enum bc_status webrtc_janus_start(struct webrtc_janus_session *s, const char *answer,
                                  struct webrtc_err *err)
{
	json_t *req, *data = NULL;
	enum bc_status st;

	req = json_pack("{ss}", "request", "start");
	if (req == NULL)
		return wj_err(s->j->api, err, BC_E_NOMEM, "webrtc.nomem", "out of memory");
	st = wj_session_ask(s, req, "answer", answer, &data, NULL, err);
	json_decref(req);
	json_decref(data);
	return st;
}

enum bc_status webrtc_janus_trickle(struct webrtc_janus_session *s,
                                    const struct webrtc_janus_candidate *c, size_t n,
                                    int completed, struct webrtc_err *err)
{
	struct webrtc_janus *j = s->j;
	json_t *body = NULL, *list = NULL, *r = NULL;
	char path[96];
	size_t i;
	enum bc_status st;

	body = json_pack("{ss}", "janus", "trickle");
	list = json_array();
	if (body == NULL || list == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		json_t *o = json_pack("{ss}", "candidate", c[i].candidate);
		if (o == NULL)
			goto nomem;
		if (c[i].mid != NULL)
			json_object_set_new(o, "sdpMid", json_string(c[i].mid));
		if (c[i].mline_index >= 0)
			json_object_set_new(o, "sdpMLineIndex", json_integer(c[i].mline_index));
		json_array_append_new(list, o);
	}
	if (completed)
		json_array_append_new(list, json_pack("{sb}", "completed", 1));
	if (json_array_size(list) == 0) {
		st = BC_OK;
		goto out;
	}
	json_object_set(body, "candidates", list);
	snprintf(path, sizeof(path), "/%" PRIu64 "/%" PRIu64, s->session_id, s->handle_id);
	st = wj_call(j, path, body, "ack", &r, err);
	goto out;
nomem:
	st = wj_err(j->api, err, BC_E_NOMEM, "webrtc.nomem", "out of memory");
out:
	json_decref(r);
	json_decref(list);
	json_decref(body);
	return st;
}
