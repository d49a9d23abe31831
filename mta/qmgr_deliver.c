/*
 * qmgr_deliver.c: one delivery attempt of one message in active/.
 *
 * Local recipients go to sluice-lmtpd in one LMTP transaction (or a few,
 * past qmgr_lmtp_recipient_limit); remote recipients are deferred until
 * outbound SMTP exists. Each result becomes the recipient's new state,
 * written in place and logged Postfix-style (to=, relay=, delay=, dsn=,
 * status=). A message whose recipients are all final is removed, after the
 * DSNs it owes are durably queued; otherwise it is synced and moved to
 * deferred/ with its next attempt time. A crash anywhere leaves the file in
 * active/ or deferred/ with states no newer than the truth, so recipients
 * are delivered at least once. Touches active/<id>, deferred/<id>, hold/<id>
 * (damaged files), bounce/<id>.log and the LMTP connection it is given.
 */
#include "bounce_log.h"
#include "lmtp_client.h"
#include "log.h"
#include "qmgr.h"
#include "queue_dir.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum result_kind { R_NONE, R_SENT, R_DEFERRED, R_BOUNCED, R_EXPIRED };

struct rcpt_result {
	enum result_kind kind;
	char dsn[QUEUE_DSN_BUFSZ];
	char *text;        /* the reply or our reason, one line */
	const char *relay; /* "lmtp" or "none" */
	int64_t done_ms;   /* when the result came */
};

static int64_t realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t qmgr_backoff_s(const struct qmgr_settings *set, unsigned int attempts)
{
	int64_t d = set->first_retry_ms;

	/* Doubling from the first retry, capped (Postfix's minimal/maximal backoff). */
	for (unsigned int i = 1; i < attempts && d < set->max_retry_ms; i++)
		d *= 2;
	if (d > set->max_retry_ms)
		d = set->max_retry_ms;
	return d / 1000 > 0 ? d / 1000 : 1;
}

static ssize_t read_content(void *context, uint64_t offset, void *buf, size_t len,
                            const char **error_r)
{
	return queue_msg_read(context, offset, buf, len, error_r);
}

/* RFC 3461 4.1: NOTIFY absent means FAILURE (and DELAY at our discretion). */
static bool wants_failure_report(const struct queue_msg *msg, const struct queue_msg_rcpt *r)
{
	if (strcmp(msg->origin, "double-bounce") == 0)
		return false;
	if (msg->sender[0] == '\0')
		return strcmp(msg->origin, "bounce") == 0; /* a failed bounce: to the postmaster */
	if (r->notify & QUEUE_NOTIFY_NEVER)
		return false;
	return r->notify == 0 || (r->notify & QUEUE_NOTIFY_FAILURE) != 0;
}

static bool wants_success_report(const struct queue_msg *msg, const struct queue_msg_rcpt *r)
{
	return msg->sender[0] != '\0' && !(r->notify & QUEUE_NOTIFY_NEVER) &&
	       (r->notify & QUEUE_NOTIFY_SUCCESS) != 0;
}

static void set_result(struct rcpt_result *res, enum result_kind kind, const char *dsn,
                       const char *text, const char *relay)
{
	free(res->text);
	res->kind = kind;
	snprintf(res->dsn, sizeof(res->dsn), "%s", dsn);
	res->text = xstrdup(text);
	res->relay = relay;
	res->done_ms = realtime_ms();
}

/* Deliver the local pending recipients in idx[0..n) in one LMTP transaction. */
static void deliver_batch(struct lmtp_client *lmtp, struct queue_msg *msg, const size_t *idx,
                          size_t n, struct rcpt_result *results)
{
	const char **addrs = xcalloc(n, sizeof(*addrs));
	struct lmtp_rcpt_result *lres = xcalloc(n, sizeof(*lres));
	const char *error = NULL;
	int rc;

	for (size_t i = 0; i < n; i++)
		addrs[i] = msg->rcpts[idx[i]].address;
	struct lmtp_txn txn = {
	    .queue_id = msg->id,
	    .sender = msg->sender,
	    .body = msg->body,
	    .smtputf8 = msg->smtputf8,
	    .rcpts = addrs,
	    .rcpt_count = n,
	    .size = msg->size,
	    .read = read_content,
	    .read_context = msg,
	};
	rc = lmtp_client_deliver(lmtp, &txn, lres, &error);
	if (rc == 0) {
		for (size_t i = 0; i < n; i++) {
			int cls = lres[i].code / 100;
			enum result_kind kind = cls == 2   ? R_SENT
			                        : cls == 5 ? R_BOUNCED
			                                   : R_DEFERRED;
			set_result(&results[idx[i]], kind, lres[i].dsn, lres[i].text, "lmtp");
		}
	} else {
		char esc[LOG_UNTRUSTED_BUFSZ];

		/* The server went away or never answered: nobody is bounced for that. */
		log_untrusted(esc, error, strlen(error));
		log_warn("lmtp: %s", esc);
		for (size_t i = 0; i < n; i++)
			set_result(&results[idx[i]], R_DEFERRED, rc == -2 ? "4.4.1" : "4.4.2", esc,
			           "lmtp");
	}
	lmtp_rcpt_results_free(lres, n);
	free(lres);
	free(addrs);
}

static const char *kind_word(enum result_kind kind)
{
	switch (kind) {
	case R_SENT:
		return "sent";
	case R_DEFERRED:
		return "deferred";
	case R_BOUNCED:
		return "bounced";
	case R_EXPIRED:
		return "expired";
	default:
		return "none";
	}
}

static void log_result(const struct queue_msg *msg, const struct queue_msg_rcpt *r,
                       const struct rcpt_result *res)
{
	char a[LOG_UNTRUSTED_BUFSZ], g[LOG_UNTRUSTED_BUFSZ];
	double delay = (double)(res->done_ms - msg->arrival_ms) / 1000.0;

	log_untrusted(a, r->address, strlen(r->address));
	if (r->given != NULL && strcmp(r->given, r->address) != 0) {
		log_untrusted(g, r->given, strlen(r->given));
		log_info("to=<%s>, orig_to=<%s>, relay=%s, delay=%.2f, dsn=%s, status=%s (%s)", a,
		         g, res->relay, delay < 0 ? 0.0 : delay, res->dsn, kind_word(res->kind),
		         res->text);
	} else {
		log_info("to=<%s>, relay=%s, delay=%.2f, dsn=%s, status=%s (%s)", a, res->relay,
		         delay < 0 ? 0.0 : delay, res->dsn, kind_word(res->kind), res->text);
	}
}

static bool any_status(const struct queue_msg *msg, bool (*pred)(char))
{
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		if (pred(msg->rcpts[i].status))
			return true;
	}
	return false;
}

static bool owes_report(char status)
{
	return status == QUEUE_RCPT_FAILED || status == QUEUE_RCPT_DELIVERED;
}

/* Write each attempted recipient's new state into the file (not synced). */
static int record_states(struct queue_msg *msg, const struct rcpt_result *results,
                         const char *new_status, const char **error_r)
{
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		if (results[i].kind == R_NONE)
			continue;
		if (queue_msg_set_rcpt(msg, i, new_status[i], results[i].dsn, error_r) < 0)
			return -1;
	}
	return 0;
}

static int append_log(const struct qmgr_settings *set, const struct queue_msg *msg,
                      const struct rcpt_result *results, const char *new_status,
                      const char **error_r)
{
	struct bounce_log_entry *e = xcalloc(msg->rcpt_count, sizeof(*e));
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < msg->rcpt_count; i++) {
		if (results[i].kind == R_NONE)
			continue;
		e[n].rcpt = i;
		e[n].time = results[i].done_ms / 1000;
		e[n].status = new_status[i];
		e[n].dsn = results[i].dsn;
		e[n].text = results[i].text;
		n++;
	}
	rc = n > 0 ? bounce_log_append(set->queue_dir, msg->id, e, n, true, error_r) : 0;
	free(e);
	return rc;
}

/* All recipients final and no report owed: the message leaves the queue. */
static enum qmgr_outcome remove_message(const struct qmgr_settings *set, struct queue_msg *msg,
                                        const char *path, const struct rcpt_result *results,
                                        const char *new_status)
{
	const char *error;

	if (unlink(path) < 0) {
		if (errno != ENOENT) {
			log_error("unlink %s: %s", path, strerror(errno));
			return QMGR_GONE;
		}
		/* Held or moved by the administrator meanwhile: record what happened. */
		if (record_states(msg, results, new_status, &error) < 0 ||
		    queue_msg_sync(msg, &error) < 0)
			log_error("%s", error);
		log_info("moved away while being delivered; recipient states recorded");
		return QMGR_GONE;
	}
	bounce_log_remove(set->queue_dir, msg->id);
	log_info("removed");
	return QMGR_DONE;
}

enum qmgr_outcome qmgr_deliver(struct qmgr *q, const struct qmgr_settings *set,
                               struct lmtp_client *lmtp, const char *id, bool from_deferred,
                               int64_t *next_r)
{
	char *path = queue_path(set->queue_dir, QUEUE_SUB_ACTIVE, id);
	struct queue_msg *msg = NULL;
	struct rcpt_result *results = NULL;
	char *new_status = NULL;
	size_t *idx = NULL, nidx = 0, *delay_idx = NULL, ndelay = 0;
	const char *error = NULL;
	enum qmgr_outcome outcome = QMGR_GONE;
	int64_t now_ms, lifetime_ms, next;
	char esc[LOG_UNTRUSTED_BUFSZ];
	bool expired, pending, owes, notify_failed = false;
	char flag;

	log_set_queue_id(id);
	if (queue_msg_open(path, true, &msg, &error) < 0) {
		if (access(path, F_OK) < 0 && errno == ENOENT) {
			log_debug("gone before delivery (held or deleted)");
		} else {
			log_error("damaged queue file, moved to hold/: %s", error);
			if (queue_move(set->queue_dir, id, QUEUE_SUB_ACTIVE, QUEUE_SUB_HOLD) < 0)
				log_error("move to hold/: %s", strerror(errno));
		}
		goto out;
	}
	now_ms = realtime_ms();
	if (from_deferred && msg->next_attempt > now_ms / 1000 + 1) {
		/* An old heap entry (the message was flushed and deferred again meanwhile). */
		*next_r = msg->next_attempt;
		outcome = queue_move(set->queue_dir, id, QUEUE_SUB_ACTIVE, QUEUE_SUB_DEFERRED) == 0
		              ? QMGR_DEFERRED
		              : QMGR_GONE;
		goto out;
	}
	log_info("from=<%s>, size=%llu, nrcpt=%zu (queue active)",
	         log_untrusted(esc, msg->sender, strlen(msg->sender)),
	         (unsigned long long)msg->size, msg->rcpt_count);

	results = xcalloc(msg->rcpt_count, sizeof(*results));
	new_status = xcalloc(msg->rcpt_count, 1);
	idx = xcalloc(msg->rcpt_count, sizeof(*idx));
	delay_idx = xcalloc(msg->rcpt_count, sizeof(*delay_idx));

	/* Local recipients: LMTP, in batches of at most lmtp_recipient_limit. */
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		if (msg->rcpts[i].local && queue_rcpt_status_pending(msg->rcpts[i].status)) {
			idx[nidx++] = i;
			if (nidx == set->lmtp_recipient_limit) {
				deliver_batch(lmtp, msg, idx, nidx, results);
				nidx = 0;
			}
		}
	}
	if (nidx > 0)
		deliver_batch(lmtp, msg, idx, nidx, results);
	/* Remote recipients wait in the queue until outbound SMTP delivery exists. */
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		if (!msg->rcpts[i].local && queue_rcpt_status_pending(msg->rcpts[i].status))
			set_result(&results[i], R_DEFERRED, "4.4.0",
			           "remote delivery is not available yet", "none");
	}

	lifetime_ms = msg->sender[0] == '\0' ? set->bounce_lifetime_ms : set->queue_lifetime_ms;
	expired = realtime_ms() - msg->arrival_ms >= lifetime_ms;
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		struct rcpt_result *res = &results[i];
		const struct queue_msg_rcpt *r = &msg->rcpts[i];

		new_status[i] = r->status;
		if (res->kind == R_NONE)
			continue;
		if (res->kind == R_DEFERRED && expired) {
			/* Out of time: a failure, with the last temporary reason. */
			char *text = xasprintf(
			    "message too old (%lld s in the queue), last error: %s",
			    (long long)((res->done_ms - msg->arrival_ms) / 1000), res->text);
			free(res->text);
			res->text = text;
			res->kind = R_EXPIRED;
		}
		switch (res->kind) {
		case R_SENT:
			new_status[i] =
			    wants_success_report(msg, r) ? QUEUE_RCPT_DELIVERED : QUEUE_RCPT_SENT;
			break;
		case R_BOUNCED:
		case R_EXPIRED:
			new_status[i] =
			    wants_failure_report(msg, r) ? QUEUE_RCPT_FAILED : QUEUE_RCPT_BOUNCED;
			break;
		default:
			new_status[i] = QUEUE_RCPT_DEFERRED;
			break;
		}
		log_result(msg, r, res);
	}

	/* RFC 3461 4.1: a delay report only when the sender asked for NOTIFY=DELAY. */
	flag = msg->flag;
	if (set->delay_warning_ms > 0 && flag != QUEUE_FLAG_WARNED && msg->sender[0] != '\0' &&
	    realtime_ms() - msg->arrival_ms >= set->delay_warning_ms) {
		for (size_t i = 0; i < msg->rcpt_count; i++) {
			const struct queue_msg_rcpt *r = &msg->rcpts[i];
			if (queue_rcpt_status_pending(new_status[i]) &&
			    (r->notify & QUEUE_NOTIFY_DELAY) && !(r->notify & QUEUE_NOTIFY_NEVER))
				delay_idx[ndelay++] = i;
		}
	}

	pending = owes = false;
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		pending |= queue_rcpt_status_pending(new_status[i]);
		owes |= owes_report(new_status[i]);
	}
	if (!pending && !owes && ndelay == 0) {
		outcome = remove_message(set, msg, path, results, new_status);
		goto out;
	}

	/* The message stays (for now): its diagnostics and states go to disk. */
	if (append_log(set, msg, results, new_status, &error) < 0)
		log_warn("%s", error);
	if (record_states(msg, results, new_status, &error) < 0) {
		log_error("%s", error);
		goto out; /* left in active/: the next start tries again */
	}
	if (owes || ndelay > 0) {
		if (qmgr_notify(q, set, msg, delay_idx, ndelay, &error) < 0) {
			log_warn("cannot queue a delivery status notification now: %s", error);
			notify_failed = true;
		} else if (ndelay > 0) {
			flag = QUEUE_FLAG_WARNED;
		}
	}
	pending = any_status(msg, queue_rcpt_status_pending);
	owes = any_status(msg, owes_report);
	if (!pending && !owes && !notify_failed) {
		/* The reports are durably queued: the message itself may go. */
		outcome = remove_message(set, msg, path, results, new_status);
		goto out;
	}
	now_ms = realtime_ms();
	next = now_ms / 1000 +
	       (pending ? qmgr_backoff_s(set, msg->attempts + 1) : set->first_retry_ms / 1000);
	if (notify_failed && next > now_ms / 1000 + set->first_retry_ms / 1000)
		next = now_ms / 1000 + set->first_retry_ms / 1000;
	if (queue_msg_set_state(msg, msg->attempts + 1, next, flag, &error) < 0 ||
	    queue_msg_sync(msg, &error) < 0) {
		log_error("%s", error);
		goto out;
	}
	if (queue_move(set->queue_dir, id, QUEUE_SUB_ACTIVE, QUEUE_SUB_DEFERRED) < 0) {
		if (errno != ENOENT)
			log_error("move to deferred/: %s", strerror(errno));
		goto out;
	}
	*next_r = next;
	outcome = QMGR_DEFERRED;
out:
	if (results != NULL) {
		for (size_t i = 0; i < msg->rcpt_count; i++)
			free(results[i].text);
	}
	free(results);
	free(new_status);
	free(idx);
	free(delay_idx);
	queue_msg_free(&msg);
	free(path);
	log_set_queue_id(NULL);
	return outcome;
}
