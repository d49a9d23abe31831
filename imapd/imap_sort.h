/*
 * imap_sort.h: what SORT and THREAD (RFC 5256) know of each message that
 * matched their search: dates, size, the first addresses' mailboxes and
 * the base subject, taken from the index row and the cached ENVELOPE
 * (imap_sort.c), and for THREAD=REFERENCES the message ids
 * (imap_thread.c reads References from the header).
 */
#ifndef SLUICE_IMAP_SORT_H
#define SLUICE_IMAP_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_search.h"

struct sort_msg {
	size_t idx;   /* view index */
	uint32_t id;  /* what the client calls it: sequence number, or UID */
	int row;      /* in the search result */
	int64_t arrival, sent, size; /* sent: the Date field, else the arrival (RFC 5256 2.2) */
	char *from, *to, *cc;        /* addr-mailbox of the first address, case-folded */
	char *subject;               /* base subject (RFC 5256 2.1), case-folded */
	bool reply;                  /* the subject was a reply or forward */
	char *message_id, *in_reply_to; /* "<...>" from the envelope, or NULL */
};

/* The sort data of every match of r (in r's order). */
struct sort_msg *imap_sort_load(struct imap_session *sess, const struct imap_search_result *r);
void imap_sort_free(struct sort_msg *msgs, size_t n);
/* RFC 5256 2.1: the base subject of a raw Subject; *reply_r when a Re:/Fwd: was taken off. */
void imap_base_subject(const char *raw, struct sbuf *out, bool *reply_r);
/* Order by sent date, then sequence number (RFC 5256 3). */
int imap_sort_by_sent(const struct sort_msg *a, const struct sort_msg *b);

#endif
