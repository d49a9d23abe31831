/*
 * bounce_dsn.c: composes RFC 3464 delivery status notifications and queues
 * them through the queue writer (see bounce_dsn.h).
 *
 * The report is multipart/report (RFC 6522) with three parts: a note for
 * people, the machine-readable message/delivery-status (RFC 3464 2), and
 * the original header (text/rfc822-headers) or, when the sender asked with
 * RET=FULL and it is small enough, the whole message (message/rfc822). For
 * SMTPUTF8 messages the RFC 6533 types are used (message/global-*). The
 * original message is only read; the report is a new queue file.
 */
#include "bounce_dsn.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void bounce_rfc5322_date(int64_t t, char *out, size_t outsz)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	/* Names spelled out here: strftime's %a and %b follow the locale. */
	snprintf(out, outsz, "%s, %d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
	         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static bool is_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return false;
	}
	return true;
}

/* Printable ASCII only: safe as a header value as it is. */
static bool is_printable(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	}
	return true;
}

/* A diagnostic that is an LMTP/SMTP reply starts with its code. */
static bool is_reply(const char *text)
{
	return text[0] >= '2' && text[0] <= '5' && text[1] >= '0' && text[1] <= '9' &&
	       text[2] >= '0' && text[2] <= '9' && (text[3] == ' ' || text[3] == '\0');
}

static void append_addr_field(struct sbuf *b, const char *name, const char *addr)
{
	/* RFC 6533 3: a UTF-8 address has the utf-8 address type. */
	sbuf_appendf(b, "%s: %s; %s\r\n", name, is_ascii(addr) ? "rfc822" : "utf-8", addr);
}

static const char *const subjects[] = {
    [BOUNCE_FAILURE] = "Mail could not be delivered",
    [BOUNCE_DELAY] = "Mail delivery delayed",
    [BOUNCE_SUCCESS] = "Mail delivered",
};
static const char *const actions[] = {
    [BOUNCE_FAILURE] = "failed",
    [BOUNCE_DELAY] = "delayed",
    [BOUNCE_SUCCESS] = "delivered",
};

static void human_part(struct sbuf *b, const struct bounce_settings *set,
                       const struct queue_msg *msg, enum bounce_kind kind,
                       const struct bounce_rcpt *rcpts, size_t n, int64_t will_retry_until,
                       bool utf8)
{
	char date[64];

	sbuf_appendf(b,
	             "Content-Description: Notification\r\n"
	             "Content-Type: text/plain; charset=%s\r\n"
	             "Content-Transfer-Encoding: %s\r\n\r\n",
	             utf8 ? "utf-8" : "us-ascii", utf8 ? "8bit" : "7bit");
	sbuf_appendf(b, "This is the mail system at %s.\r\n\r\n", set->hostname);
	switch (kind) {
	case BOUNCE_FAILURE:
		sbuf_append_str(b,
		                "Your message could not be delivered to the recipients below.\r\n"
		                "The reasons follow; the delivery report and your message's\r\n"
		                "header are attached.\r\n\r\n"
		                "For help, write to the postmaster of this system and include\r\n"
		                "this report.\r\n\r\n");
		break;
	case BOUNCE_DELAY:
		bounce_rfc5322_date(will_retry_until, date, sizeof(date));
		sbuf_appendf(b,
		             "Your message has not been delivered yet to the recipients below.\r\n"
		             "It stays queued and will be tried again until\r\n%s;\r\n"
		             "you do not need to send it again.\r\n\r\n",
		             date);
		break;
	case BOUNCE_SUCCESS:
		sbuf_append_str(
		    b, "Your message was delivered to the recipients below, as you asked\r\n"
		       "when you sent it (NOTIFY=SUCCESS).\r\n\r\n");
		break;
	}
	for (size_t i = 0; i < n; i++) {
		const struct queue_msg_rcpt *r = &msg->rcpts[rcpts[i].index];
		sbuf_appendf(b, "<%s>", r->address);
		if (r->given != NULL && strcmp(r->given, r->address) != 0)
			sbuf_appendf(b, " (sent to <%s>)", r->given);
		sbuf_appendf(b, ": %s\r\n",
		             rcpts[i].diagnostic != NULL && rcpts[i].diagnostic[0] != '\0'
		                 ? rcpts[i].diagnostic
		                 : rcpts[i].status);
	}
	sbuf_append_str(b, "\r\n");
}

/* RFC 3464 2.2 and 2.3: the per-message and per-recipient fields. */
static void status_part(struct sbuf *b, const struct bounce_settings *set,
                        const struct queue_msg *msg, enum bounce_kind kind,
                        const struct bounce_rcpt *rcpts, size_t n, int64_t will_retry_until,
                        bool global)
{
	char date[64];

	sbuf_appendf(b,
	             "Content-Description: Delivery report\r\n"
	             "Content-Type: %s\r\n",
	             global ? "message/global-delivery-status" : "message/delivery-status");
	if (global)
		sbuf_append_str(b, "Content-Transfer-Encoding: 8bit\r\n");
	sbuf_append_str(b, "\r\n");
	sbuf_appendf(b, "Reporting-MTA: dns; %s\r\n", set->hostname);
	sbuf_appendf(b, "X-Sluice-Queue-ID: %s\r\n", msg->id);
	if (msg->sender[0] != '\0')
		append_addr_field(b, "X-Sluice-Sender", msg->sender);
	if (msg->envid != NULL) {
		/* RFC 3461 4.4: given as xtext; decoded it is printable ASCII, else we re-encode.
		 */
		if (is_printable(msg->envid)) {
			sbuf_appendf(b, "Original-Envelope-Id: %s\r\n", msg->envid);
		} else {
			sbuf_append_str(b, "Original-Envelope-Id: ");
			for (const char *p = msg->envid; *p != '\0'; p++) {
				unsigned char c = (unsigned char)*p;
				if (c > 32 && c < 127 && c != '+' && c != '=')
					sbuf_append(b, p, 1);
				else
					sbuf_appendf(b, "+%02X", c);
			}
			sbuf_append_str(b, "\r\n");
		}
	}
	bounce_rfc5322_date(msg->arrival_ms / 1000, date, sizeof(date));
	sbuf_appendf(b, "Arrival-Date: %s\r\n", date);
	for (size_t i = 0; i < n; i++) {
		const struct queue_msg_rcpt *r = &msg->rcpts[rcpts[i].index];
		const char *diag = rcpts[i].diagnostic;

		sbuf_append_str(b, "\r\n");
		append_addr_field(b, "Final-Recipient", r->address);
		if (r->orig_rcpt != NULL && strchr(r->orig_rcpt, ';') != NULL &&
		    is_printable(r->orig_rcpt)) {
			/* RFC 3461 4.2: ORCPT is "addr-type;address". */
			const char *semi = strchr(r->orig_rcpt, ';');
			sbuf_appendf(b, "Original-Recipient: %.*s; %s\r\n",
			             (int)(semi - r->orig_rcpt), r->orig_rcpt, semi + 1);
		} else if (r->given != NULL && strcmp(r->given, r->address) != 0) {
			append_addr_field(b, "Original-Recipient", r->given);
		}
		sbuf_appendf(b, "Action: %s\r\n", actions[kind]);
		sbuf_appendf(b, "Status: %s\r\n", rcpts[i].status);
		if (diag != NULL && diag[0] != '\0') {
			if (is_reply(diag))
				sbuf_appendf(b, "Diagnostic-Code: smtp; %s\r\n", diag);
			else
				sbuf_appendf(b, "Diagnostic-Code: X-Sluice; %s\r\n", diag);
		}
		if (rcpts[i].last_attempt > 0) {
			bounce_rfc5322_date(rcpts[i].last_attempt, date, sizeof(date));
			sbuf_appendf(b, "Last-Attempt-Date: %s\r\n", date);
		}
		if (kind == BOUNCE_DELAY && will_retry_until > 0) {
			bounce_rfc5322_date(will_retry_until, date, sizeof(date));
			sbuf_appendf(b, "Will-Retry-Until: %s\r\n", date);
		}
	}
	sbuf_append_str(b, "\r\n");
}

static int put(struct queue_writer *w, struct sbuf *b, const char **error_r)
{
	int r = queue_writer_write(w, b->data != NULL ? b->data : "", b->len, error_r);

	sbuf_reset(b);
	return r;
}

/* The third part: the original header, or the whole message. */
static int original_part(struct queue_writer *w, struct sbuf *b, const struct bounce_settings *set,
                         struct queue_msg *msg, enum bounce_kind kind, bool global,
                         const char **error_r)
{
	/* RFC 3461 4.3: RET applies to failure reports; others carry the header only. */
	bool full = kind == BOUNCE_FAILURE && msg->ret == QUEUE_RET_FULL &&
	            msg->size <= set->size_limit && msg->body != QUEUE_BODY_BINARYMIME;
	struct sbuf hdr = {0};

	if (full) {
		char buf[65536];
		uint64_t off = 0;
		char last = '\n';

		sbuf_appendf(b,
		             "Content-Description: Undelivered message\r\n"
		             "Content-Type: %s\r\n",
		             global ? "message/global" : "message/rfc822");
		if (msg->body == QUEUE_BODY_8BITMIME || global)
			sbuf_append_str(b, "Content-Transfer-Encoding: 8bit\r\n");
		sbuf_append_str(b, "\r\n");
		if (put(w, b, error_r) < 0)
			return -1;
		while (off < msg->size) {
			ssize_t n = queue_msg_read(msg, off, buf, sizeof(buf), error_r);
			if (n <= 0)
				return -1;
			if (queue_writer_write(w, buf, (size_t)n, error_r) < 0)
				return -1;
			last = buf[n - 1];
			off += (uint64_t)n;
		}
		if (last != '\n')
			sbuf_append_str(b, "\r\n");
		return 0;
	}
	if (queue_msg_read_header(msg, 1024 * 1024, &hdr, error_r) < 0)
		return -1;
	sbuf_appendf(b,
	             "Content-Description: %s\r\n"
	             "Content-Type: %s\r\n",
	             kind == BOUNCE_FAILURE ? "Undelivered message header" : "Message header",
	             global ? "message/global-headers" : "text/rfc822-headers");
	if (global || !is_ascii(sbuf_str(&hdr)))
		sbuf_append_str(b, "Content-Transfer-Encoding: 8bit\r\n");
	sbuf_append_str(b, "\r\n");
	sbuf_append(b, sbuf_str(&hdr), hdr.len);
	if (hdr.len > 0 && hdr.data[hdr.len - 1] != '\n')
		sbuf_append_str(b, "\r\n");
	sbuf_free(&hdr);
	return 0;
}

int bounce_dsn_queue(const struct bounce_settings *set, struct queue_msg *msg,
                     enum bounce_kind kind, const struct bounce_rcpt *rcpts, size_t n,
                     const struct bounce_to *to, size_t nto, const char *origin,
                     int64_t will_retry_until, char *new_id, const char **error_r)
{
	bool global = msg->smtputf8, utf8 = false;
	struct queue_envelope env = {
	    .sender = "",
	    .ret = QUEUE_RET_HDRS,
	    .body = msg->body == QUEUE_BODY_7BIT ? QUEUE_BODY_7BIT : QUEUE_BODY_8BITMIME,
	    .smtputf8 = msg->smtputf8,
	    .client_ip = "local",
	    .origin = origin,
	};
	struct queue_writer *w;
	struct sbuf b = {0};
	char date[64], boundary[128];
	int64_t now = (int64_t)time(NULL);

	for (size_t i = 0; i < n; i++) {
		const struct queue_msg_rcpt *r = &msg->rcpts[rcpts[i].index];
		if (!is_ascii(r->address) || (r->given != NULL && !is_ascii(r->given)) ||
		    (rcpts[i].diagnostic != NULL && !is_ascii(rcpts[i].diagnostic)))
			utf8 = true;
	}
	if (utf8 && env.body == QUEUE_BODY_7BIT)
		env.body = QUEUE_BODY_8BITMIME;
	if (queue_writer_begin(set->queue_dir, &env, &w, error_r) < 0)
		return -1;
	for (size_t i = 0; i < nto; i++) {
		/* A report about a report is never asked for (RFC 3461 5.2.1 sets NOTIFY=NEVER
		 * on bounces); ours go to the postmaster instead, by origin. */
		struct queue_recipient qr = {
		    .address = to[i].address,
		    .given = to[i].given,
		    .notify = QUEUE_NOTIFY_NEVER,
		    .local = to[i].local,
		};
		if (queue_writer_add_recipient(w, &qr, error_r) < 0)
			goto fail;
	}
	snprintf(boundary, sizeof(boundary), "%s.%lld/%s", queue_writer_id(w), (long long)now,
	         set->hostname);
	bounce_rfc5322_date(now, date, sizeof(date));
	/* RFC 5321 4.4: a trace field, with the report's own queue id, like any queued message. */
	sbuf_appendf(&b, "Received: by %s (Sluice) id %s; %s\r\n", set->hostname,
	             queue_writer_id(w), date);
	sbuf_appendf(&b, "Date: %s\r\n", date);
	sbuf_appendf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", set->hostname);
	sbuf_appendf(&b, "Subject: %s\r\n", subjects[kind]);
	if (to[0].given != NULL)
		sbuf_appendf(&b, "To: <%s>\r\n", to[0].given);
	else
		sbuf_appendf(&b, "To: <%s>\r\n", nto > 0 ? to[0].address : msg->sender);
	sbuf_appendf(&b, "Message-ID: <%s@%s>\r\n", queue_writer_id(w), set->hostname);
	/* RFC 3834 5: a DSN is an automatic response. */
	sbuf_append_str(&b, "Auto-Submitted: auto-replied\r\n");
	sbuf_append_str(&b, "MIME-Version: 1.0\r\n");
	sbuf_appendf(&b, "Content-Type: multipart/report; report-type=%s;\r\n\tboundary=\"%s\"\r\n",
	             global ? "global-delivery-status" : "delivery-status", boundary);
	if (env.body != QUEUE_BODY_7BIT)
		sbuf_append_str(&b, "Content-Transfer-Encoding: 8bit\r\n");
	sbuf_append_str(&b,
	                "\r\nThis is a MIME-encapsulated delivery status notification.\r\n\r\n");
	sbuf_appendf(&b, "--%s\r\n", boundary);
	human_part(&b, set, msg, kind, rcpts, n, will_retry_until, utf8);
	sbuf_appendf(&b, "--%s\r\n", boundary);
	status_part(&b, set, msg, kind, rcpts, n, will_retry_until, global);
	sbuf_appendf(&b, "--%s\r\n", boundary);
	if (put(w, &b, error_r) < 0 || original_part(w, &b, set, msg, kind, global, error_r) < 0)
		goto fail;
	sbuf_appendf(&b, "\r\n--%s--\r\n", boundary);
	if (put(w, &b, error_r) < 0)
		goto fail;
	snprintf(new_id, QUEUE_ID_BUFSZ, "%s", queue_writer_id(w));
	sbuf_free(&b);
	return queue_writer_commit(&w, error_r);
fail:
	sbuf_free(&b);
	queue_writer_abort(&w);
	return -1;
}
