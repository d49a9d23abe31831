/*
 * store_imap.h: mail store operations only IMAP needs, beside lib/store.h:
 * APPEND of several messages at once, all or none (MULTIAPPEND, RFC 3502).
 * Same rules as store_deliver(): files linked and fsynced before the rows
 * that name them commit, quota checked by the database under its lock.
 */
#ifndef SLUICE_STORE_IMAP_H
#define SLUICE_STORE_IMAP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store.h"

struct store_imap_append {
	/* in */
	struct store_msg *msg; /* finished */
	unsigned int flags;    /* enum store_flag bits */
	const char *const *keywords;
	size_t nkeywords;
	time_t internal_date; /* 0: now */
	/* out */
	int64_t uid, modseq;
};

/*
 * Store the messages into folder (of mb) in one transaction, in order:
 * STORE_OK and every uid set, or a failure and none stored
 * (STORE_OVER_QUOTA, STORE_OVER_DOMAIN_QUOTA, STORE_NOT_FOUND for a folder
 * gone, STORE_TEMPFAIL, STORE_DISK_FULL, STORE_IO_ERROR).
 */
int store_imap_append(struct store *st, const struct store_mailbox *mb, int64_t folder,
		      struct store_imap_append *items, size_t n, const char **error_r);

#endif
