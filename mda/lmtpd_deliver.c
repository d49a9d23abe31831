/*
 * lmtpd_deliver.c: what happens after the final dot of an LMTP DATA: for
 * each recipient, in RCPT order, a loop check (Delivered-To), the decision
 * where the message goes (lmtpd_sieve_decide(): the Sieve scripts, which
 * may also reject it, at once with 550 for ereject, or ask for a retry), the
 * header fields added for that recipient (Return-Path, Delivered-To), then
 * one store_deliver() for every recipient (one file, hard links, one
 * transaction) and one reply per recipient (RFC 2033 4.2). A folder whose
 * Sieve result carries a header editheader changed (RFC 5293) gets a file of
 * its own, that header and the body as received; every folder that asks for
 * the same header, of any recipient, shares that file.
 * A recipient hears 250 only when its copy is on disk and committed.
 * Last, quota warnings for mailboxes that crossed a threshold.
 */
#include "lmtpd.h"
#include "lmtpd_sieve.h"

#include "iostream.h"
#include "log.h"
#include "message.h"
#include "server.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void lmtpd_decision_clear(struct lmtpd_decision *decision)
{
	for (size_t i = 0; i < decision->ninto; i++) {
		for (size_t k = 0; k < decision->into[i].nkeywords; k++)
			free(decision->into[i].keywords[k]);
		free(decision->into[i].keywords);
		free(decision->into[i].header);
	}
	memset(decision, 0, sizeof(*decision));
}

/* Delivered-To fields of the header naming address (without case, <> allowed). */
static unsigned count_delivered_to(const struct message_header *hdr, const char *address)
{
	size_t alen = strlen(address);
	unsigned n = 0;

	for (size_t i = 0;; i++) {
		const struct message_field *f = message_header_get(hdr, "delivered-to", i);
		const char *v;
		size_t len;

		if (f == NULL)
			break;
		v = f->value;
		len = f->value_len;
		if (len >= 2 && v[0] == '<' && v[len - 1] == '>') {
			v++;
			len -= 2;
		}
		if (len == alen && strncasecmp(v, address, alen) == 0)
			n++;
	}
	return n;
}

/* The files of one delivery that differ from the message received: one per edited header. */
struct edited_copy {
	const char *header; /* borrowed from a decision */
	size_t header_len, body_offset;
	struct store_msg *msg;
};
struct edited_copies {
	struct edited_copy *items;
	size_t count;
};

/*
 * The file with in->header instead of the message's own header: made at its
 * first use, shared afterwards. STORE_OK with *msg_r, else the store's status.
 */
static int edited_copy(struct store *st, struct edited_copies *c, const char *data, size_t len,
                       const struct lmtpd_fileinto *in, size_t body_offset,
                       struct store_msg **msg_r, const char **error_r)
{
	struct edited_copy *e;
	struct store_msg *m = NULL;
	int rc;

	for (size_t i = 0; i < c->count; i++) {
		e = &c->items[i];
		if (e->header_len == in->header_len && e->body_offset == body_offset &&
		    memcmp(e->header, in->header, in->header_len) == 0) {
			*msg_r = e->msg;
			return STORE_OK;
		}
	}
	if (body_offset > len)
		body_offset = len;
	if ((rc = store_msg_begin(st, &m, error_r)) != STORE_OK)
		return rc;
	if ((rc = store_msg_write(m, in->header, in->header_len, error_r)) != STORE_OK ||
	    (rc = store_msg_write(m, data + body_offset, len - body_offset, error_r)) != STORE_OK ||
	    (rc = store_msg_finish(m, error_r)) != STORE_OK) {
		store_msg_free(&m);
		return rc;
	}
	c->items = xrealloc(c->items, (c->count + 1) * sizeof(*c->items));
	e = &c->items[c->count++];
	e->header = in->header;
	e->header_len = in->header_len;
	e->body_offset = body_offset;
	e->msg = m;
	*msg_r = m;
	return STORE_OK;
}

static void edited_copies_free(struct edited_copies *c)
{
	for (size_t i = 0; i < c->count; i++)
		store_msg_free(&c->items[i].msg);
	free(c->items);
	memset(c, 0, sizeof(*c));
}

/* The size a target's row gets: its file and its header prefix. */
static size_t target_size(const struct store_target *t, size_t len)
{
	if (t->msg != NULL)
		store_msg_data(t->msg, &len);
	return len + (t->header_prefix != NULL ? strlen(t->header_prefix) : 0);
}

/* The reply for a failed store status. */
static void reply_failure(struct lmtpd_session *sess, const char *address, int status)
{
	switch (status) {
	case STORE_DISK_FULL:
		lmtpd_reply(sess, "452 4.3.1 <%s> Insufficient system storage", address);
		break;
	case STORE_OVER_QUOTA:
	case STORE_OVER_DOMAIN_QUOTA:
		if (sess->d->set.quota_tempfail)
			lmtpd_reply(sess, "452 4.2.2 <%s> Mailbox is full", address);
		else
			lmtpd_reply(sess, "552 5.2.2 <%s> Mailbox is full", address);
		break;
	case STORE_NOT_FOUND:
		lmtpd_reply(sess, "550 5.1.1 <%s> User unknown", address);
		break;
	default:
		lmtpd_reply(sess, "451 4.3.0 <%s> Temporary failure, try again later", address);
		break;
	}
}

/* A warning message into the INBOX of a mailbox that crossed `threshold`. */
static void send_warning(struct lmtpd_session *sess, const struct lmtpd_rcpt *r, int threshold,
                         const struct store_target *t)
{
	const struct lmtpd_settings *set = &sess->d->set;
	struct store *st = sess->d->store;
	struct store_msg *msg = NULL;
	struct store_target wt = {0};
	struct sbuf text = {0};
	char from[ADDR_BUFSZ], address[ADDR_BUFSZ];
	const char *error = NULL;
	bool claimed;
	struct quota_state q = {
	    .limit_bytes = r->mailbox.quota_bytes,
	    .limit_messages = r->mailbox.quota_messages,
	    .used_bytes = t->used_bytes,
	    .used_messages = t->used_messages,
	};

	/* once per crossing, whichever delivery (of any process) gets there first */
	if (store_quota_claim_warning(st, r->mailbox.id, threshold, &claimed, &error) != STORE_OK) {
		log_warn("quota warning for %s: %s", r->address, error);
		return;
	}
	if (!claimed)
		return;
	snprintf(address, sizeof(address), "%s@%s", r->mailbox.local, r->mailbox.domain);
	if (set->warning_from[0] != '\0')
		snprintf(from, sizeof(from), "%s", set->warning_from);
	else
		snprintf(from, sizeof(from), "postmaster@%s", r->mailbox.domain);
	quota_warning_message(from, address, threshold, &q, time(NULL), set->hostname, &text);
	wt.mailbox = &r->mailbox;
	wt.header_prefix = "Return-Path: <>\r\n";
	wt.check_quota = false;
	if (store_msg_begin(st, &msg, &error) != STORE_OK ||
	    store_msg_write(msg, text.data, text.len, &error) != STORE_OK ||
	    store_msg_finish(msg, &error) != STORE_OK) {
		log_warn("quota warning for %s: %s", address, error);
	} else {
		store_deliver(st, msg, 0, &wt, 1);
		if (wt.status == STORE_OK)
			log_info("quota warning sent to %s: %d%% full", address, threshold);
		else
			log_warn("quota warning for %s: %s", address, wt.error);
	}
	store_msg_free(&msg);
	sbuf_free(&text);
}

void lmtpd_deliver(struct lmtpd_session *sess, struct store_msg *msg, int data_status, bool too_big)
{
	const struct lmtpd_settings *set = &sess->d->set;
	size_t n = sess->nrcpts, i, k, ntargets = 0;
	struct lmtpd_sieve_outcome *outcomes = xcalloc(n, sizeof(*outcomes));
	struct store_target *targets = xcalloc(n * LMTPD_MAX_FILEINTO, sizeof(*targets));
	size_t *first = xcalloc(n, sizeof(*first));
	/* 1: loop, 2: answered by Sieve, 3: its edited copy failed (copy_status), 0: go on */
	int *status = xcalloc(n, sizeof(*status));
	int *copy_status = xcalloc(n, sizeof(*copy_status));
	char **prefixes = xcalloc(n, sizeof(*prefixes));
	struct edited_copies copies = {0};
	struct message_header hdr = {0};
	struct message_limits limits;
	const char *data = "", *error = NULL;
	size_t len = 0, hsize;

	if (data_status != STORE_OK || too_big) {
		for (i = 0; i < n; i++) {
			if (too_big)
				lmtpd_reply(sess, "552 5.3.4 <%s> Message too big",
				            sess->rcpts[i].address);
			else
				reply_failure(sess, sess->rcpts[i].address, data_status);
		}
		goto done;
	}
	data = store_msg_data(msg, &len);
	message_limits_default(&limits);
	if (message_header_parse(data, len, &limits, &hdr, &hsize, &error) < 0) {
		for (i = 0; i < n; i++)
			lmtpd_reply(sess, "554 5.6.0 <%s> Message header too large",
			            sess->rcpts[i].address);
		goto done;
	}
	for (i = 0; i < n; i++) {
		struct lmtpd_rcpt *r = &sess->rcpts[i];

		first[i] = ntargets;
		/* a message that was here before is in a loop */
		if (count_delivered_to(&hdr, r->address) >= set->max_delivered_to) {
			status[i] = 1;
			continue;
		}
		/* a broken script never loses mail: lmtpd_sieve_decide() keeps it then */
		lmtpd_sieve_decide(sess, r, data, len, &outcomes[i]);
		if (outcomes[i].reply != LMTPD_SIEVE_STORE) {
			status[i] = 2;
			continue;
		}
		/* RFC 5321 4.4: Return-Path at delivery; Delivered-To names the recipient */
		prefixes[i] = xasprintf("Return-Path: <%s>\r\nDelivered-To: %s\r\n", sess->sender,
		                        r->address);
		for (k = 0; k < outcomes[i].decision.ninto; k++) {
			struct store_target *t = &targets[ntargets++];
			const struct lmtpd_fileinto *in = &outcomes[i].decision.into[k];

			if (in->header != NULL) {
				copy_status[i] =
				    edited_copy(sess->d->store, &copies, data, len, in,
				                outcomes[i].decision.body_offset, &t->msg, &error);
				if (copy_status[i] != STORE_OK) {
					log_warn("to=<%s> the copy with the edited header: %s",
					         r->address, error);
					status[i] = 3;
					memset(&targets[first[i]], 0,
					       (ntargets - first[i]) * sizeof(*targets));
					ntargets = first[i];
					break;
				}
			}
			t->mailbox = &r->mailbox;
			t->folder = in->folder;
			t->create_folder = in->create;
			t->flags = in->flags;
			t->keywords = (const char *const *)in->keywords;
			t->nkeywords = in->nkeywords;
			t->header_prefix = prefixes[i];
			t->check_quota = true;
		}
	}
	if (ntargets > 0)
		store_deliver(sess->d->store, msg, 0, targets, ntargets);
	for (i = 0; i < n; i++) {
		struct lmtpd_rcpt *r = &sess->rcpts[i];
		size_t end = i + 1 < n ? first[i + 1] : ntargets;
		int failed = STORE_OK;

		if (status[i] == 1) {
			log_info("to=<%s> loop: Delivered-To already names it", r->address);
			lmtpd_reply(sess, "554 5.4.6 <%s> Mail loop detected", r->address);
			continue;
		}
		if (status[i] == 2 && outcomes[i].reply == LMTPD_SIEVE_EREJECT) {
			log_info("to=<%s> rejected by filter (ereject): %s", r->address,
			         outcomes[i].reason);
			lmtpd_reply(sess, "550 5.7.1 <%s> %s", r->address, outcomes[i].reason);
			continue;
		}
		if (status[i] == 2) {
			log_info("to=<%s> filter failed temporarily: %s", r->address,
			         outcomes[i].reason);
			lmtpd_reply(sess, "451 4.3.0 <%s> Temporary failure, try again later",
			            r->address);
			continue;
		}
		if (status[i] == 3) {
			log_info("to=<%s> status=%s: edited copy not written", r->address,
			         store_status_name(copy_status[i]));
			reply_failure(sess, r->address, copy_status[i]);
			continue;
		}
		for (k = first[i]; k < end && failed == STORE_OK; k++)
			failed = targets[k].status;
		if (failed != STORE_OK) {
			log_info("to=<%s> status=%s: %s", r->address, store_status_name(failed),
			         targets[k - 1].error);
			reply_failure(sess, r->address, failed);
			continue;
		}
		for (k = first[i]; k < end; k++) {
			if (targets[k].fell_back)
				log_warn("sieve: mailbox %s: folder %s missing or not made: "
				         "kept in INBOX",
				         r->address, targets[k].folder);
		}
		if (end == first[i]) {
			log_info("to=<%s> %s by filter", r->address,
			         outcomes[i].rejected ? "rejected" : "discarded");
		} else {
			log_info("to=<%s> mailbox=%lld folder=%lld uid=%lld size=%zu delivered",
			         r->address, (long long)r->mailbox.id,
			         (long long)targets[first[i]].stored_folder_id,
			         (long long)targets[first[i]].uid,
			         target_size(&targets[first[i]], len));
		}
		lmtpd_reply(sess, "250 2.0.0 <%s> Saved", r->address);
	}
	/* the replies go out before any quota warning is written */
	iostream_flush(sess->s);
	for (i = 0; i < n && set->nthresholds > 0; i++) {
		size_t end = i + 1 < n ? first[i + 1] : ntargets;

		for (k = first[i]; k < end; k++) {
			const struct store_target *t = &targets[k];
			struct quota_state q = {
			    .limit_bytes = sess->rcpts[i].mailbox.quota_bytes,
			    .limit_messages = sess->rcpts[i].mailbox.quota_messages,
			    .used_bytes = t->used_bytes,
			    .used_messages = t->used_messages,
			};
			int due;

			if (t->status != STORE_OK)
				continue;
			due = quota_warning_due(set->thresholds, set->nthresholds,
			                        t->warned_percent, quota_percent(&q));
			if (due > 0)
				send_warning(sess, &sess->rcpts[i], due, t);
		}
	}
done:
	for (i = 0; i < n; i++) {
		lmtpd_decision_clear(&outcomes[i].decision);
		free(prefixes[i]);
	}
	edited_copies_free(&copies);
	message_header_clear(&hdr);
	free(outcomes);
	free(targets);
	free(first);
	free(status);
	free(copy_status);
	free(prefixes);
}
