/*
 * imap_view_cache.c: folder snapshots shared by a process's sessions (see
 * imap_view_cache.h). A small array searched linearly: a process has a few
 * folders in it at a time, and a lookup is one per SELECT.
 */
#include "imap_view_cache.h"

#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Folders at most, whatever their size. */
#define CACHE_ENTRIES 64

struct entry {
	struct imap_snapshot *snap;
	uint64_t used; /* the tick of its last use */
};

struct imap_view_cache {
	pthread_mutex_t lock;
	struct entry e[CACHE_ENTRIES];
	size_t n;
	size_t messages, max_messages;
	uint64_t tick;
};

struct imap_view_cache *imap_view_cache_create(size_t max_messages)
{
	struct imap_view_cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	c->max_messages = max_messages;
	return c;
}

static void snapshot_free(struct imap_snapshot *s)
{
	for (size_t i = 0; s->keywords != NULL && i < s->count; i++)
		free(s->keywords[i]);
	free(s->keywords);
	free(s->msgs);
	free(s);
}

/* Drop one reference; the lock is held. */
static void unref(struct imap_snapshot *s)
{
	if (--s->refs == 0)
		snapshot_free(s);
}

void imap_view_cache_destroy(struct imap_view_cache **cache)
{
	struct imap_view_cache *c = *cache;

	if (c == NULL)
		return;
	*cache = NULL;
	for (size_t i = 0; i < c->n; i++)
		unref(c->e[i].snap);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

struct imap_snapshot *imap_snapshot_new(const struct imap_folder_state *state, size_t count)
{
	struct imap_snapshot *s = xcalloc(1, sizeof(*s));

	s->state = *state;
	s->count = count;
	s->msgs = xcalloc(count > 0 ? count : 1, sizeof(*s->msgs));
	s->refs = 1;
	return s;
}

static struct entry *find(struct imap_view_cache *c, int64_t folder_id)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->e[i].snap->state.folder_id == folder_id)
			return &c->e[i];
	}
	return NULL;
}

static void drop(struct imap_view_cache *c, struct entry *e)
{
	c->messages -= e->snap->count;
	unref(e->snap);
	*e = c->e[--c->n];
	memset(&c->e[c->n], 0, sizeof(c->e[c->n]));
}

struct imap_snapshot *imap_view_cache_get(struct imap_view_cache *c,
					  const struct imap_folder_state *state)
{
	struct imap_snapshot *s = NULL;
	struct entry *e;

	pthread_mutex_lock(&c->lock);
	e = find(c, state->folder_id);
	if (e != NULL && e->snap->state.uidvalidity == state->uidvalidity &&
	    e->snap->state.uidnext == state->uidnext &&
	    e->snap->state.highestmodseq == state->highestmodseq) {
		s = e->snap;
		s->refs++;
		e->used = ++c->tick;
	}
	pthread_mutex_unlock(&c->lock);
	return s;
}

void imap_view_cache_put(struct imap_view_cache *c, struct imap_snapshot *snap)
{
	struct entry *e;

	if (c->max_messages == 0 || snap->count > c->max_messages)
		return;
	pthread_mutex_lock(&c->lock);
	e = find(c, snap->state.folder_id);
	if (e != NULL && e->snap->state.highestmodseq > snap->state.highestmodseq) {
		pthread_mutex_unlock(&c->lock); /* a newer load is in already */
		return;
	}
	if (e != NULL)
		drop(c, e);
	/* make room: the least recently used go first */
	while (c->n > 0 && (c->n == CACHE_ENTRIES || c->messages + snap->count > c->max_messages)) {
		struct entry *old = &c->e[0];

		for (size_t i = 1; i < c->n; i++) {
			if (c->e[i].used < old->used)
				old = &c->e[i];
		}
		drop(c, old);
	}
	e = &c->e[c->n++];
	e->snap = snap;
	e->used = ++c->tick;
	snap->refs++;
	c->messages += snap->count;
	pthread_mutex_unlock(&c->lock);
}

void imap_snapshot_release(struct imap_view_cache *c, struct imap_snapshot **snap)
{
	if (*snap == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	unref(*snap);
	pthread_mutex_unlock(&c->lock);
	*snap = NULL;
}
