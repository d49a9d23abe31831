/*
 * imap_view_cache.h: folder snapshots shared by the sessions of one
 * sluice-imapd process, the in-memory index of the folders selected lately.
 *
 * A snapshot is a folder's messages (UID, size, flags, keywords) as of one
 * (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ). The store gives every change of a
 * folder (new message, flags, expunge) a new HIGHESTMODSEQ, so a snapshot
 * with the folder's current triple is exactly the folder: SELECT then reads
 * no message rows, and a session whose view is still at that state answers
 * FETCH of flags, UIDs and sizes from it. Snapshots never change; they are
 * shared by reference (counted under the cache's lock) and the least
 * recently used leave the cache when it holds more messages than its bound.
 */
#ifndef SLUICE_IMAP_VIEW_CACHE_H
#define SLUICE_IMAP_VIEW_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_view_cache;

/* The identity of one state of a folder. */
struct imap_folder_state {
	int64_t folder_id;
	uint32_t uidvalidity, uidnext;
	int64_t highestmodseq;
};

struct imap_snapshot_msg {
	uint32_t uid;
	uint32_t size;  /* RFC822.SIZE; UINT32_MAX: too large to hold here, ask the index */
	uint8_t flags;  /* STORE_FLAG_* */
};

struct imap_snapshot {
	struct imap_folder_state state;
	struct imap_snapshot_msg *msgs; /* ascending UIDs */
	char **keywords;                /* NULL, or per message: NULL or "kw1 kw2" */
	size_t count;
	unsigned int refs; /* the cache's lock guards it */
};

/* A cache holding up to max_messages messages over all its folders (0: none). */
struct imap_view_cache *imap_view_cache_create(size_t max_messages);
void imap_view_cache_destroy(struct imap_view_cache **cache);

/* A new snapshot to fill (msgs for count messages, no keywords yet), one reference. */
struct imap_snapshot *imap_snapshot_new(const struct imap_folder_state *state, size_t count);

/* The folder at exactly `state`, with a reference for the caller; NULL if not cached. */
struct imap_snapshot *imap_view_cache_get(struct imap_view_cache *cache,
					  const struct imap_folder_state *state);
/* Keep snap (the cache takes a reference of its own). */
void imap_view_cache_put(struct imap_view_cache *cache, struct imap_snapshot *snap);
/* Drop the caller's reference (NULL is fine). */
void imap_snapshot_release(struct imap_view_cache *cache, struct imap_snapshot **snap);

#endif
