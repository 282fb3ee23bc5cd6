/* SPDX-License-Identifier: Apache-2.0 */
/*
 * webrtc_streams.c: the table of live streams and their sessions (see
 * webrtc_streams.h).
 *
 * Central types: struct wr_stream (one live stream) and struct wr_session
 * (one WHIP publisher or one viewer, with its Janus session). A session is
 * reference-counted: the table holds one reference while it is linked, and
 * every request working on it (a join that waits for Janus, a trickle)
 * holds one, taken under the table's lock. The last put() closes the Janus
 * session, which joins its long-poll thread, so a session is never freed
 * on that thread nor while a request uses it. A stop that unlinks a stream
 * whose publisher is still joining only drops the table's reference; the
 * join then finds its stream gone and answers 404.
 *
 * Media facts (ABI 1.1): the publisher's Janus events become host facts:
 * webrtcup -> publishing, "media" receiving false/true -> idle/publishing,
 * hangup or a lost Janus session -> gone.
 */
#include <config.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webrtc_sdp.h"
#include "webrtc_streams.h"

#define WR_MAX_CANDIDATES 64

struct wr_session {
	struct webrtc_streams *t;
	char stream_id[WEBRTC_ID_LEN + 1];
	char resource[WEBRTC_RESOURCE_LEN + 1];
	char peer[64];
	int is_viewer;
	int refs;     /* atomic */
	int gone;     /* atomic: the PeerConnection or the Janus session ended */
	int up;       /* atomic: webrtcup seen */
	uint64_t feed; /* a publisher's id in the room, once joined (under the lock) */
	struct webrtc_janus_session *js;
	struct wr_session *next; /* in its stream's viewer list */
};

struct wr_stream {
	char id[WEBRTC_ID_LEN + 1];
	char token_sha256[65];
	int64_t expires_ms;
	uint64_t room;
	char room_secret[WEBRTC_SECRET_LEN + 1];
	struct wr_session *publisher;
	struct wr_session *viewers;
	size_t nviewers;
	struct wr_stream *next;
};

struct webrtc_streams {
	const struct bc_host_api *api;
	struct bc_host *host;
	struct webrtc_janus *janus;
	size_t max_viewers;
	pthread_mutex_t lock;
	struct wr_stream *list;
	size_t count;
};

/* ---- ids ---------------------------------------------------------------------------- */

int webrtc_id_is_valid(const char *id)
{
	size_t i;

	if (id == NULL || strlen(id) != WEBRTC_ID_LEN)
		return 0;
	for (i = 0; i < WEBRTC_ID_LEN; i++) {
		char c = id[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

int webrtc_resource_is_valid(const char *s)
{
	return s != NULL && strlen(s) == WEBRTC_RESOURCE_LEN &&
	       strspn(s, "0123456789abcdef") == WEBRTC_RESOURCE_LEN;
}

/* ---- sessions --------------------------------------------------------------------------- */

/* Drop n references at once (a failed request drops the table's and its
 * own together). */
static void wr_session_put_n(struct wr_session *s, int n)
{
	if (s == NULL || __atomic_sub_fetch(&s->refs, n, __ATOMIC_ACQ_REL) != 0)
		return;
	webrtc_janus_session_close(s->js); /* joins its thread: no callback after this */
	free(s);
}

static void wr_session_put(struct wr_session *s)
{
	wr_session_put_n(s, 1);
}

static void wr_session_get(struct wr_session *s)
{
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
}

/* Janus's events about one session, on its long-poll thread. */
static void wr_on_event(void *user, enum webrtc_janus_event ev, const char *detail)
{
	struct wr_session *s = user;
	struct webrtc_streams *t = s->t;
	const struct bc_host_api *api = t->api;
	char text[160];

	if (s->is_viewer) {
		if (ev == WEBRTC_JANUS_HANGUP || ev == WEBRTC_JANUS_GONE)
			__atomic_store_n(&s->gone, 1, __ATOMIC_RELAXED);
		return;
	}
	switch (ev) {
	case WEBRTC_JANUS_UP:
		__atomic_store_n(&s->up, 1, __ATOMIC_RELAXED);
		snprintf(text, sizeof(text), "WHIP from %s", s->peer);
		api->log(t->host, BC_LOG_INFO, "stream %s: publisher %s is up", s->stream_id, s->peer);
		api->media_report(t->host, s->stream_id, BC_MEDIA_FACT_PUBLISHING, text);
		break;
	case WEBRTC_JANUS_MEDIA_ON:
		if (__atomic_load_n(&s->up, __ATOMIC_RELAXED))
			api->media_report(t->host, s->stream_id, BC_MEDIA_FACT_PUBLISHING, detail);
		break;
	case WEBRTC_JANUS_MEDIA_OFF:
		snprintf(text, sizeof(text), "no %s from %s", detail != NULL ? detail : "media",
		         s->peer);
		api->media_report(t->host, s->stream_id, BC_MEDIA_FACT_IDLE, text);
		break;
	case WEBRTC_JANUS_HANGUP:
	case WEBRTC_JANUS_GONE:
		if (__atomic_exchange_n(&s->gone, 1, __ATOMIC_RELAXED))
			break;
		snprintf(text, sizeof(text), "%s: %s", s->peer, detail != NULL ? detail : "hung up");
		api->log(t->host, BC_LOG_INFO, "stream %s: publisher %s", s->stream_id, text);
		api->media_report(t->host, s->stream_id, BC_MEDIA_FACT_GONE, text);
		break;
	}
}

static struct wr_session *wr_session_new(struct webrtc_streams *t, const char *stream_id,
                                         int is_viewer, const char *peer, struct webrtc_err *e)
{
	struct wr_session *s = calloc(1, sizeof(*s));
	unsigned char raw[WEBRTC_RESOURCE_LEN / 2];
	size_t i;

	if (s == NULL) {
		wj_err(t->api, e, BC_E_NOMEM, "webrtc.nomem", "out of memory");
		return NULL;
	}
	if (t->api->random(raw, sizeof(raw)) != BC_OK) {
		free(s);
		wj_err(t->api, e, BC_E_INTERNAL, "webrtc.random", "the random generator failed");
		return NULL;
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(s->resource + 2 * i, 3, "%02x", raw[i]);
	s->t = t;
	snprintf(s->stream_id, sizeof(s->stream_id), "%s", stream_id);
	snprintf(s->peer, sizeof(s->peer), "%s", peer != NULL ? peer : "?");
	s->is_viewer = is_viewer;
	s->refs = 1; /* the caller's */
	return s;
}

/* ---- table ---------------------------------------------------------------------------------- */

static struct wr_stream *wr_find(struct webrtc_streams *t, const char *id)
{
	struct wr_stream *s;

	for (s = t->list; s != NULL; s = s->next)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

enum bc_status webrtc_streams_create(struct webrtc_streams **out, const struct bc_host_api *api,
                                     struct bc_host *host, struct webrtc_janus *janus,
                                     int max_viewers, struct webrtc_err *e)
{
	struct webrtc_streams *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (t == NULL)
		return wj_err(api, e, BC_E_NOMEM, "webrtc.nomem", "out of memory");
	t->api = api;
	t->host = host;
	t->janus = janus;
	t->max_viewers = max_viewers > 0 ? (size_t)max_viewers : 0; /* 0: none */
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return BC_OK;
}

/* Unlink every session of a stream that is out of the table; the caller
 * puts them once the lock is released. Returns the list through `next`. */
static struct wr_session *wr_stream_detach(struct wr_stream *s)
{
	struct wr_session *all = s->viewers;

	if (s->publisher != NULL) {
		s->publisher->next = all;
		all = s->publisher;
	}
	s->publisher = NULL;
	s->viewers = NULL;
	s->nviewers = 0;
	return all;
}

static void wr_put_list(struct wr_session *all)
{
	while (all != NULL) {
		struct wr_session *next = all->next;
		wr_session_put(all);
		all = next;
	}
}

void webrtc_streams_destroy(struct webrtc_streams *t)
{
	struct wr_stream *s;

	if (t == NULL)
		return;
	while ((s = t->list) != NULL) {
		t->list = s->next;
		wr_put_list(wr_stream_detach(s));
		explicit_bzero(s->room_secret, sizeof(s->room_secret));
		free(s);
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
}

enum bc_status webrtc_streams_add(struct webrtc_streams *t, const char *id,
                                  const char *token_sha256, int64_t expires_ms, uint64_t room,
                                  const char *room_secret, struct webrtc_err *e)
{
	struct wr_stream *s;

	if (!webrtc_id_is_valid(id))
		return wj_err(t->api, e, BC_E_INVALID, "webrtc.bad_id", "not a stream id");
	pthread_mutex_lock(&t->lock);
	s = wr_find(t, id);
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL) {
			pthread_mutex_unlock(&t->lock);
			return wj_err(t->api, e, BC_E_NOMEM, "webrtc.nomem", "out of memory");
		}
		snprintf(s->id, sizeof(s->id), "%s", id);
		s->next = t->list;
		t->list = s;
		t->count++;
	}
	snprintf(s->token_sha256, sizeof(s->token_sha256), "%s", token_sha256);
	s->expires_ms = expires_ms;
	s->room = room;
	snprintf(s->room_secret, sizeof(s->room_secret), "%s", room_secret);
	pthread_mutex_unlock(&t->lock);
	return BC_OK;
}

int webrtc_streams_remove(struct webrtc_streams *t, const char *id)
{
	struct wr_stream **pp, *s = NULL;
	struct wr_session *all = NULL;

	pthread_mutex_lock(&t->lock);
	for (pp = &t->list; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->id, id) == 0) {
			s = *pp;
			*pp = s->next;
			t->count--;
			all = wr_stream_detach(s);
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	wr_put_list(all);
	if (s == NULL)
		return 0;
	explicit_bzero(s->room_secret, sizeof(s->room_secret));
	free(s);
	return 1;
}

size_t webrtc_streams_live_count(struct webrtc_streams *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

/* ---- the listener's requests --------------------------------------------------------------- */

enum bc_status webrtc_streams_authorize(struct webrtc_streams *t, const char *id,
                                        const char *token, struct webrtc_err *e)
{
	const struct bc_host_api *api = t->api;
	struct wr_stream *s;
	char hash[65];
	int ok, expired;

	if (token == NULL)
		return wj_err(api, e, BC_E_UNAUTHENTICATED, "webrtc.bad_token",
		              "send the stream's bearer_token as Authorization: Bearer");
	api->sha256_hex(token, strlen(token), hash);
	pthread_mutex_lock(&t->lock);
	s = wr_find(t, id);
	if (s == NULL) {
		pthread_mutex_unlock(&t->lock);
		return wj_err(api, e, BC_E_NOT_FOUND, "webrtc.not_found",
		              "no such live stream (it may have been stopped)");
	}
	ok = api->secure_equal(hash, 64, s->token_sha256, strlen(s->token_sha256));
	expired = s->expires_ms > 0 && api->now_ms() >= s->expires_ms;
	pthread_mutex_unlock(&t->lock);
	if (!ok)
		return wj_err(api, e, BC_E_UNAUTHENTICATED, "webrtc.bad_token",
		              "the bearer token is not this stream's");
	if (expired)
		return wj_err(api, e, BC_E_UNAUTHENTICATED, "webrtc.token_expired",
		              "the bearer token has expired; start a new stream");
	return BC_OK;
}

/* Undo a session that did not make it: unlink it if it is still its
 * stream's publisher, and drop both references. */
static void wr_publisher_abandon(struct webrtc_streams *t, struct wr_session *ns)
{
	struct wr_stream *s;
	int linked = 0;

	pthread_mutex_lock(&t->lock);
	s = wr_find(t, ns->stream_id);
	if (s != NULL && s->publisher == ns) {
		s->publisher = NULL;
		linked = 1;
	}
	pthread_mutex_unlock(&t->lock);
	wr_session_put_n(ns, linked ? 2 : 1);
}

/* One attempt to join with the offer, on a fresh Janus session: a handle
 * that saw the offer once (and set up ICE for it) refuses it again. */
static enum bc_status wr_publish_once(struct webrtc_streams *t, struct wr_session *ns,
                                      uint64_t room, const char *offer, char **answer,
                                      uint64_t *feed, struct webrtc_err *e)
{
	enum bc_status st;

	if (ns->js != NULL) {
		struct webrtc_janus_session *old = ns->js;
		ns->js = NULL;
		webrtc_janus_session_close(old);
	}
	st = webrtc_janus_session_open(t->janus, wr_on_event, ns, &ns->js, e);
	if (st != BC_OK)
		return st;
	return webrtc_janus_publish(ns->js, room, "broadcast", offer, answer, feed, e);
}

enum bc_status webrtc_streams_publish(struct webrtc_streams *t, const char *id,
                                      const char *offer, const char *peer, char **answer,
                                      char resource[WEBRTC_RESOURCE_LEN + 1],
                                      struct webrtc_err *e)
{
	const struct bc_host_api *api = t->api;
	struct wr_session *ns = NULL, *old = NULL;
	struct wr_stream *s;
	char secret[WEBRTC_SECRET_LEN + 1];
	uint64_t room, feed = 0;
	enum bc_status st;
	int still;

	*answer = NULL;
	ns = wr_session_new(t, id, 0, peer, e);
	if (ns == NULL)
		return e != NULL ? e->status : BC_E_NOMEM;
	pthread_mutex_lock(&t->lock);
	s = wr_find(t, id);
	if (s == NULL) {
		pthread_mutex_unlock(&t->lock);
		wr_session_put(ns);
		return wj_err(api, e, BC_E_NOT_FOUND, "webrtc.not_found",
		              "no such live stream (it may have been stopped)");
	}
	if (s->publisher != NULL && !__atomic_load_n(&s->publisher->gone, __ATOMIC_RELAXED)) {
		pthread_mutex_unlock(&t->lock);
		wr_session_put(ns);
		return wj_err(api, e, BC_E_CONFLICT, "webrtc.publisher_exists",
		              "the stream has its publisher already; it must DELETE its session "
		              "(or hang up) first");
	}
	old = s->publisher; /* gone: replaced */
	s->publisher = ns;
	wr_session_get(ns); /* the table's */
	room = s->room;
	memcpy(secret, s->room_secret, sizeof(secret));
	pthread_mutex_unlock(&t->lock);
	wr_session_put(old);

	st = wr_publish_once(t, ns, room, offer, answer, &feed, e);
	if (st == BC_E_NOT_FOUND && e != NULL && strcmp(e->code, "webrtc.no_room") == 0) {
		/* Janus restarted since start: rooms are not permanent, make it again. */
		api->log(t->host, BC_LOG_INFO, "stream %s: Janus lost room %" PRIu64 ", recreating it",
		         id, room);
		st = webrtc_janus_room_create(t->janus, room, secret, id, e);
		if (st == BC_OK)
			st = wr_publish_once(t, ns, room, offer, answer, &feed, e);
	} else if (st == BC_E_CONFLICT &&
	           webrtc_janus_room_kick_all(t->janus, room, secret) > 0) {
		/* A publisher we do not know holds the room: one whose Janus
		 * session a restart of broadcastd orphaned. Our table says nobody
		 * publishes, and the token holder is here: the newcomer wins. */
		api->log(t->host, BC_LOG_INFO, "stream %s: kicked a publisher left from before", id);
		st = wr_publish_once(t, ns, room, offer, answer, &feed, e);
	}
	explicit_bzero(secret, sizeof(secret));
	if (st != BC_OK)
		goto fail;

	pthread_mutex_lock(&t->lock);
	s = wr_find(t, id);
	still = s != NULL && s->publisher == ns;
	if (still)
		ns->feed = feed;
	pthread_mutex_unlock(&t->lock);
	if (!still) {
		free(*answer);
		*answer = NULL;
		wr_session_put(ns); /* the stream was stopped meanwhile: the last put */
		return wj_err(api, e, BC_E_NOT_FOUND, "webrtc.not_found",
		              "the stream was stopped");
	}
	memcpy(resource, ns->resource, WEBRTC_RESOURCE_LEN + 1);
	api->log(t->host, BC_LOG_INFO, "stream %s: WHIP session %.8s from %s joined the room", id,
	         ns->resource, ns->peer);
	api->counter_add(t->host, "webrtc_whip_sessions_total", NULL, 1);
	wr_session_put(ns);
	return BC_OK;
fail:
	explicit_bzero(secret, sizeof(secret));
	wr_publisher_abandon(t, ns);
	return st;
}

enum bc_status webrtc_streams_watch(struct webrtc_streams *t, const char *id, char **offer,
                                    char resource[WEBRTC_RESOURCE_LEN + 1],
                                    struct webrtc_err *e)
{
	const struct bc_host_api *api = t->api;
	struct wr_session *ns, **pp, *pruned = NULL;
	struct wr_stream *s;
	uint64_t room = 0, feed = 0;
	enum bc_status st = BC_OK;
	int linked = 0;

	*offer = NULL;
	ns = wr_session_new(t, id, 1, NULL, e);
	if (ns == NULL)
		return e != NULL ? e->status : BC_E_NOMEM;
	pthread_mutex_lock(&t->lock);
	s = wr_find(t, id);
	if (s == NULL) {
		st = wj_err(api, e, BC_E_NOT_FOUND, "webrtc.not_found", "no such live stream");
	} else if (s->publisher == NULL || s->publisher->feed == 0 ||
	           __atomic_load_n(&s->publisher->gone, __ATOMIC_RELAXED) ||
	           !__atomic_load_n(&s->publisher->up, __ATOMIC_RELAXED)) {
		st = wj_err(api, e, BC_E_CONFLICT, "webrtc.not_publishing",
		            "nobody publishes this stream now; try again later");
	} else {
		/* Viewers that hung up make room first. */
		for (pp = &s->viewers; *pp != NULL;) {
			struct wr_session *v = *pp;
			if (__atomic_load_n(&v->gone, __ATOMIC_RELAXED)) {
				*pp = v->next;
				v->next = pruned;
				pruned = v;
				s->nviewers--;
			} else {
				pp = &v->next;
			}
		}
		if (s->nviewers >= t->max_viewers) {
			st = wj_err(api, e, BC_E_UNAVAILABLE, "webrtc.too_many_viewers",
			            "this stream has max_viewers viewers already");
		} else {
			room = s->room;
			feed = s->publisher->feed;
			ns->next = s->viewers;
			s->viewers = ns;
			s->nviewers++;
			wr_session_get(ns); /* the table's */
			linked = 1;
		}
	}
	pthread_mutex_unlock(&t->lock);
	wr_put_list(pruned);
	if (!linked) {
		wr_session_put(ns);
		return st;
	}
	st = webrtc_janus_session_open(t->janus, wr_on_event, ns, &ns->js, e);
	if (st == BC_OK)
		st = webrtc_janus_subscribe(ns->js, room, feed, offer, e);
	if (st == BC_OK) {
		memcpy(resource, ns->resource, WEBRTC_RESOURCE_LEN + 1);
		api->counter_add(t->host, "webrtc_viewer_sessions_total", NULL, 1);
		wr_session_put(ns);
		return BC_OK;
	}
	/* unlink again */
	pthread_mutex_lock(&t->lock);
	s = wr_find(t, id);
	linked = 0;
	for (pp = s != NULL ? &s->viewers : NULL; pp != NULL && *pp != NULL; pp = &(*pp)->next) {
		if (*pp == ns) {
			*pp = ns->next;
			s->nviewers--;
			linked = 1;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	wr_session_put_n(ns, linked ? 2 : 1);
	return st;
}

/* Find session `resource` of stream `id` and take a reference. */
static struct wr_session *wr_session_find(struct webrtc_streams *t, const char *id,
                                          int is_viewer, const char *resource,
                                          struct webrtc_err *e)
{
	struct wr_stream *s;
	struct wr_session *x = NULL, *v;

	pthread_mutex_lock(&t->lock);
	s = wr_find(t, id);
	if (s != NULL && !is_viewer && s->publisher != NULL &&
	    strcmp(s->publisher->resource, resource) == 0)
		x = s->publisher;
	for (v = s != NULL && is_viewer ? s->viewers : NULL; v != NULL && x == NULL; v = v->next)
		if (strcmp(v->resource, resource) == 0)
			x = v;
	if (x != NULL)
		wr_session_get(x);
	pthread_mutex_unlock(&t->lock);
	if (x == NULL)
		wj_err(t->api, e, BC_E_NOT_FOUND, "webrtc.no_session",
		       s == NULL ? "no such live stream" : "no such session (it has ended)");
	return x;
}

enum bc_status webrtc_streams_watch_answer(struct webrtc_streams *t, const char *id,
                                           const char *resource, const char *answer,
                                           struct webrtc_err *e)
{
	struct wr_session *x = wr_session_find(t, id, 1, resource, e);
	enum bc_status st;

	if (x == NULL)
		return e != NULL ? e->status : BC_E_NOT_FOUND;
	st = x->js != NULL ? webrtc_janus_start(x->js, answer, e)
	                   : wj_err(t->api, e, BC_E_CONFLICT, "webrtc.not_ready",
	                            "the session is not set up yet");
	wr_session_put(x);
	return st;
}

enum bc_status webrtc_streams_trickle(struct webrtc_streams *t, const char *id, int is_viewer,
                                      const char *resource, char *frag, struct webrtc_err *e)
{
	struct webrtc_janus_candidate c[WR_MAX_CANDIDATES];
	struct wr_session *x;
	const char *ufrag = NULL, *why = NULL;
	int completed = 0, n;
	enum bc_status st;

	n = webrtc_sdp_frag_parse(frag, c, WR_MAX_CANDIDATES, &completed, &ufrag, &why);
	if (n < 0)
		return wj_err(t->api, e, BC_E_INVALID, "webrtc.bad_fragment", "%s", why);
	x = wr_session_find(t, id, is_viewer, resource, e);
	if (x == NULL)
		return e != NULL ? e->status : BC_E_NOT_FOUND;
	st = x->js != NULL ? webrtc_janus_trickle(x->js, c, (size_t)n, completed, e)
	                   : wj_err(t->api, e, BC_E_CONFLICT, "webrtc.not_ready",
	                            "the session is not set up yet");
	wr_session_put(x);
	return st;
}

enum bc_status webrtc_streams_end(struct webrtc_streams *t, const char *id, int is_viewer,
                                  const char *resource, struct webrtc_err *e)
{
	struct wr_stream *s;
	struct wr_session *x = NULL, **pp;

	pthread_mutex_lock(&t->lock);
	s = wr_find(t, id);
	if (s != NULL && !is_viewer && s->publisher != NULL &&
	    strcmp(s->publisher->resource, resource) == 0) {
		x = s->publisher;
		s->publisher = NULL;
	}
	for (pp = s != NULL && is_viewer ? &s->viewers : NULL; pp != NULL && *pp != NULL;
	     pp = &(*pp)->next) {
		if (strcmp((*pp)->resource, resource) == 0) {
			x = *pp;
			*pp = x->next;
			s->nviewers--;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (x == NULL)
		return wj_err(t->api, e, BC_E_NOT_FOUND, "webrtc.no_session",
		              "no such session (it has ended)");
	if (!is_viewer && !__atomic_exchange_n(&x->gone, 1, __ATOMIC_RELAXED))
		t->api->media_report(t->host, id, BC_MEDIA_FACT_GONE, "the WHIP session was deleted");
	t->api->log(t->host, BC_LOG_INFO, "stream %s: %s session %.8s ended by its client", id,
	            is_viewer ? "viewer" : "WHIP", resource);
	wr_session_put(x); /* the table's: closes it unless a request still holds it */
	return BC_OK;
}
