/*
 * qmgr_notify.c: the DSNs a message owes (RFC 3461 NOTIFY), queued as new
 * messages: failure reports for recipients in state F, success reports for
 * recipients in state N, delay reports for the recipients the caller names.
 *
 * Reports go to the envelope sender, alias-expanded like any recipient.
 * Mail from the null sender gets no report, except a bounce (origin
 * "bounce") that could not be delivered: that one is reported to the
 * postmaster (origin "double-bounce"), and a double bounce that fails is
 * only logged, so reports never loop. Touches the message's states (in
 * place, synced by the caller), its bounce log (read) and new queue files.
 */
#include "bounce_dsn.h"
#include "bounce_log.h"
#include "log.h"
#include "qmgr.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Resolve where a report goes: the sender, or the postmaster for a failed bounce. */
static int report_destination(struct qmgr *q, const struct qmgr_settings *set, const char *address,
                              struct qmgr_dest_list *dests, struct bounce_to **to_r,
                              const char **error_r)
{
	struct bounce_to *to;

	if (qmgr_resolve(q, set, address, 100, dests, error_r) < 0)
		return -1;
	to = xcalloc(dests->count, sizeof(*to));
	for (size_t i = 0; i < dests->count; i++) {
		to[i].address = dests->items[i].address;
		to[i].local = dests->items[i].local;
		to[i].given = strcasecmp(dests->items[i].address, address) != 0 ? address : NULL;
	}
	*to_r = to;
	return 0;
}

static int send_report(struct qmgr *q, const struct qmgr_settings *set, struct queue_msg *msg,
                       enum bounce_kind kind, const struct bounce_rcpt *rcpts, size_t n,
                       const char **error_r)
{
	static const char *const what[] = {"non-delivery", "delay", "delivery status"};
	struct bounce_settings bset = {
	    .queue_dir = set->queue_dir,
	    .hostname = set->hostname,
	    .size_limit = set->bounce_size_limit,
	};
	bool to_postmaster = msg->sender[0] == '\0';
	const char *address = to_postmaster ? set->postmaster : msg->sender;
	struct qmgr_dest_list dests = {0};
	struct bounce_to *to = NULL;
	char new_id[QUEUE_ID_BUFSZ];
	int64_t until = msg->arrival_ms / 1000 +
	                (to_postmaster ? set->bounce_lifetime_ms : set->queue_lifetime_ms) / 1000;
	int rc;

	if (report_destination(q, set, address, &dests, &to, error_r) < 0)
		return -1;
	rc = bounce_dsn_queue(&bset, msg, kind, rcpts, n, to, dests.count,
	                      to_postmaster ? "double-bounce" : "bounce", until, new_id, error_r);
	if (rc == 0)
		log_info("%s %s notification: %s", to_postmaster ? "postmaster" : "sender",
		         what[kind], new_id);
	free(to);
	qmgr_dest_list_free(&dests);
	return rc;
}

/* Fill a report's recipient entries for the given indices from the bounce log. */
static void fill(struct bounce_rcpt *out, const size_t *idx, size_t n, const struct queue_msg *msg,
                 const struct bounce_log_last *last)
{
	for (size_t i = 0; i < n; i++) {
		const struct queue_msg_rcpt *r = &msg->rcpts[idx[i]];

		out[i].index = idx[i];
		out[i].status = r->dsn[0] != '\0' ? r->dsn : "5.0.0";
		out[i].diagnostic = last[idx[i]].text;
		out[i].last_attempt = last[idx[i]].time;
	}
}

int qmgr_notify(struct qmgr *q, const struct qmgr_settings *set, struct queue_msg *msg,
                const size_t *delay_rcpts, size_t n_delay, const char **error_r)
{
	size_t *failed = xcalloc(msg->rcpt_count, sizeof(size_t));
	size_t *delivered = xcalloc(msg->rcpt_count, sizeof(size_t));
	struct bounce_rcpt *rcpts = xcalloc(msg->rcpt_count, sizeof(*rcpts));
	struct bounce_log_last *last = NULL;
	size_t nf = 0, nd = 0;
	int rc = -1;

	for (size_t i = 0; i < msg->rcpt_count; i++) {
		if (msg->rcpts[i].status == QUEUE_RCPT_FAILED)
			failed[nf++] = i;
		else if (msg->rcpts[i].status == QUEUE_RCPT_DELIVERED)
			delivered[nd++] = i;
	}
	if (nf == 0 && nd == 0 && n_delay == 0) {
		rc = 0;
		goto out;
	}
	if (bounce_log_read(set->queue_dir, msg->id, msg->rcpt_count, &last, error_r) < 0)
		goto out;
	if (nf > 0) {
		fill(rcpts, failed, nf, msg, last);
		if (send_report(q, set, msg, BOUNCE_FAILURE, rcpts, nf, error_r) < 0)
			goto out;
		for (size_t i = 0; i < nf; i++) {
			if (queue_msg_set_rcpt(msg, failed[i], QUEUE_RCPT_BOUNCED, NULL, error_r) <
			    0)
				goto out;
		}
	}
	if (nd > 0 && msg->sender[0] != '\0') {
		fill(rcpts, delivered, nd, msg, last);
		if (send_report(q, set, msg, BOUNCE_SUCCESS, rcpts, nd, error_r) < 0)
			goto out;
	}
	for (size_t i = 0; i < nd; i++) {
		if (queue_msg_set_rcpt(msg, delivered[i], QUEUE_RCPT_SENT, NULL, error_r) < 0)
			goto out;
	}
	if (n_delay > 0 && msg->sender[0] != '\0') {
		fill(rcpts, delay_rcpts, n_delay, msg, last);
		if (send_report(q, set, msg, BOUNCE_DELAY, rcpts, n_delay, error_r) < 0)
			goto out;
	}
	rc = 0;
out:
	bounce_log_last_free(&last, msg->rcpt_count);
	free(rcpts);
	free(failed);
	free(delivered);
	return rc;
}
