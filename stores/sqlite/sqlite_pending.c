/* SPDX-License-Identifier: Apache-2.0 */
/* sqlite_pending.c: reserved starts in memory (see sqlite_pending.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sqlite_pending.h"

int sqlite_pending_init(struct sqlite_pending *p)
{
	p->head = NULL;
	return pthread_mutex_init(&p->lock, NULL) == 0 ? 0 : -1;
}

void sqlite_pending_destroy(struct sqlite_pending *p)
{
	struct sqlite_reserved *r, *next;

	for (r = p->head; r != NULL; r = next) {
		next = r->next;
		free(r);
	}
	p->head = NULL;
	pthread_mutex_destroy(&p->lock);
}

/* The entry for `id`, and the link pointing to it; caller holds the lock. */
static struct sqlite_reserved *sqlite_pending_find(struct sqlite_pending *p, const char *id,
                                                   struct sqlite_reserved ***link)
{
	struct sqlite_reserved **l;

	for (l = &p->head; *l != NULL; l = &(*l)->next)
		if (strcmp((*l)->rec.id, id) == 0) {
			if (link != NULL)
				*link = l;
			return *l;
		}
	return NULL;
}

/* Copy s into the block at *at; returns the copy. */
static const char *sqlite_pending_copy(char **at, const char *s)
{
	char *copy = *at;
	size_t len = strlen(s) + 1;

	memcpy(copy, s, len);
	*at += len;
	return copy;
}

enum bc_status sqlite_pending_add(struct sqlite_pending *p, const struct bc_record *rec)
{
	const char *name = rec->name ? rec->name : "", *type = rec->type ? rec->type : "";
	const char *provider = rec->provider ? rec->provider : "";
	const char *owner = rec->owner ? rec->owner : "";
	const char *meta = rec->meta && rec->meta[0] ? rec->meta : "{}";
	size_t len = strlen(rec->id) + strlen(name) + strlen(type) + strlen(provider) +
	             strlen(owner) + strlen(meta) + 6;
	struct sqlite_reserved *r = malloc(sizeof *r + len);
	char *at;

	if (r == NULL)
		return BC_E_NOMEM;
	memset(r, 0, sizeof *r);
	at = (char *)(r + 1);
	r->rec.struct_size = sizeof r->rec;
	r->rec.id = sqlite_pending_copy(&at, rec->id);
	r->rec.name = sqlite_pending_copy(&at, name);
	r->rec.type = sqlite_pending_copy(&at, type);
	r->rec.provider = sqlite_pending_copy(&at, provider);
	r->rec.owner = sqlite_pending_copy(&at, owner);
	r->rec.meta = sqlite_pending_copy(&at, meta);
	r->rec.state = BC_STATE_PENDING;
	r->rec.start_ms = rec->start_ms;
	pthread_mutex_lock(&p->lock);
	if (sqlite_pending_find(p, rec->id, NULL) != NULL) {
		pthread_mutex_unlock(&p->lock);
		free(r);
		return BC_E_CONFLICT;
	}
	r->next = p->head;
	p->head = r;
	pthread_mutex_unlock(&p->lock);
	return BC_OK;
}

struct sqlite_reserved *sqlite_pending_begin_commit(struct sqlite_pending *p, const char *id)
{
	struct sqlite_reserved *r;

	pthread_mutex_lock(&p->lock);
	r = sqlite_pending_find(p, id, NULL);
	if (r != NULL && r->committing)
		r = NULL;
	if (r != NULL)
		r->committing = 1;
	pthread_mutex_unlock(&p->lock);
	return r;
}

void sqlite_pending_end_commit(struct sqlite_pending *p, struct sqlite_reserved *r, int written)
{
	struct sqlite_reserved **link = NULL;

	pthread_mutex_lock(&p->lock);
	r->committing = 0;
	if ((written || r->aborted) && sqlite_pending_find(p, r->rec.id, &link) == r)
		*link = r->next;
	else
		r = NULL; /* reserved again */
	pthread_mutex_unlock(&p->lock);
	free(r);
}

int sqlite_pending_abort(struct sqlite_pending *p, const char *id)
{
	struct sqlite_reserved **link = NULL, *r;

	pthread_mutex_lock(&p->lock);
	r = sqlite_pending_find(p, id, &link);
	if (r != NULL && r->committing) {
		r->aborted = 1; /* its commit frees it, whatever it wrote */
		pthread_mutex_unlock(&p->lock);
		return 1;
	}
	if (r != NULL)
		*link = r->next;
	pthread_mutex_unlock(&p->lock);
	free(r);
	return r != NULL;
}

void sqlite_pending_lock(struct sqlite_pending *p)
{
	pthread_mutex_lock(&p->lock);
}

void sqlite_pending_unlock(struct sqlite_pending *p)
{
	pthread_mutex_unlock(&p->lock);
}

const struct bc_record *sqlite_pending_lookup(struct sqlite_pending *p, const char *id)
{
	struct sqlite_reserved *r = sqlite_pending_find(p, id, NULL);

	return r != NULL ? &r->rec : NULL;
}

int sqlite_pending_order(int64_t a_start_ms, const char *a_id, int64_t b_start_ms,
                         const char *b_id)
{
	if (a_start_ms != b_start_ms)
		return a_start_ms > b_start_ms ? 1 : -1;
	/* SQLite compares TEXT with memcmp(), as strcmp() does for ids. */
	return strcmp(a_id, b_id);
}

static int sqlite_pending_cmp(const void *a, const void *b)
{
	const struct bc_record *x = *(const struct bc_record *const *)a;
	const struct bc_record *y = *(const struct bc_record *const *)b;

	return sqlite_pending_order(y->start_ms, y->id, x->start_ms, x->id);
}

int sqlite_pending_collect(struct sqlite_pending *p, const char *owner, int64_t after_start_ms,
                           const char *after_id, const struct bc_record ***out, size_t *n)
{
	const struct bc_record **v = NULL;
	size_t count = 0, cap = 0;

	for (struct sqlite_reserved *r = p->head; r != NULL; r = r->next) {
		if (owner != NULL && strcmp(r->rec.owner, owner) != 0)
			continue;
		if (after_id != NULL &&
		    sqlite_pending_order(r->rec.start_ms, r->rec.id, after_start_ms, after_id) >= 0)
			continue;
		if (count == cap) {
			size_t grown = cap ? cap * 2 : 16;
			const struct bc_record **nv = realloc(v, grown * sizeof *nv);
			if (nv == NULL) {
				free(v);
				return -1;
			}
			v = nv;
			cap = grown;
		}
		v[count++] = &r->rec;
	}
	if (count > 1)
		qsort(v, count, sizeof *v, sqlite_pending_cmp);
	*out = v;
	*n = count;
	return 0;
}
