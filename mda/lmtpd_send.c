/*
 * lmtpd_send.c: the small SMTP client sluice-lmtpd uses to hand mail that
 * Sieve makes (redirected copies, vacation replies, reject notices,
 * notifications) to sluice-smtpd's local injection socket
 * (smtpd_inject_socket), which queues it like any trusted local submission.
 *
 * One connection per message: greeting, EHLO, MAIL FROM, RCPT TO per
 * recipient, DATA with dot-stuffing (RFC 5321 4.5.2), QUIT. The message
 * counts as sent only when the server answered 250 to the final dot; any
 * other answer or a broken connection is a failure for the caller to decide
 * about (a redirect is retried by answering 451 4.3.0). Every wait is bounded
 * by one deadline.
 *
 * Below it, the messages Sieve makes: a redirected copy (X-Sluice-Loop
 * added), a reject notice (RFC 5429 2.1 in the form of RFC 3464), a vacation
 * reply (RFC 5230, RFC 3834) and a mailto notification (RFC 5436).
 */
#include "lmtpd_sieve.h"

#include "iostream.h"
#include "message.h"
#include "mime.h"
#include "util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* A whole submission may take this long at most. */
#define SEND_DEADLINE_MS (60 * 1000)
/* RFC 5321 4.5.3.1.5: a reply line is at most 512 octets with CRLF. */
#define REPLY_LINE_MAX 510

/* Read a (multi-line) reply; its code, or -1 with *error_r. */
static int read_reply(struct iostream *s, char *text, size_t text_size, const char **error_r)
{
	struct iostream_line line;

	for (;;) {
		enum iostream_status st = iostream_read_line(s, REPLY_LINE_MAX, &line);

		if (st != IOSTREAM_OK) {
			*error_r = errorf("injection socket: %s", iostream_error(s));
			return -1;
		}
		if (line.len < 3 || line.data[0] < '2' || line.data[0] > '5' ||
		    line.data[1] < '0' || line.data[1] > '9' || line.data[2] < '0' ||
		    line.data[2] > '9' ||
		    (line.len > 3 && line.data[3] != ' ' && line.data[3] != '-')) {
			*error_r = "injection socket: malformed reply";
			return -1;
		}
		snprintf(text, text_size, "%.*s", (int)line.len, line.data);
		if (line.len == 3 || line.data[3] == ' ')
			return (line.data[0] - '0') * 100 + (line.data[1] - '0') * 10 +
			       (line.data[2] - '0');
	}
}

/* Send a command line and expect a reply with code `want` (x00 class match). */
static int command(struct iostream *s, int want, const char **error_r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int command(struct iostream *s, int want, const char **error_r, const char *fmt, ...)
{
	char text[REPLY_LINE_MAX + 1], line[1024];
	va_list ap;
	int code, n;

	if (fmt != NULL) {
		va_start(ap, fmt);
		n = vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		if (n < 0 || (size_t)n >= sizeof(line)) {
			*error_r = "injection: command line too long";
			return -1;
		}
		if (iostream_write_str(s, line) != IOSTREAM_OK ||
		    iostream_write_str(s, "\r\n") != IOSTREAM_OK ||
		    iostream_flush(s) != IOSTREAM_OK) {
			*error_r = errorf("injection socket: %s", iostream_error(s));
			return -1;
		}
	}
	code = read_reply(s, text, sizeof(text), error_r);
	if (code < 0)
		return -1;
	if (code / 100 != want / 100) {
		*error_r = errorf("injection socket said: %s", text);
		return -1;
	}
	return 0;
}

/* Write bytes as DATA content: dot-stuffed, LF made CRLF, ending in CRLF. */
static int write_stuffed(struct iostream *s, const char *data, size_t len, bool *bol)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - data) : len;
		size_t linelen = end - i;

		if (linelen > 0 && data[end - 1] == '\r')
			linelen--;
		if (*bol && linelen > 0 && data[i] == '.' &&
		    iostream_write(s, ".", 1) != IOSTREAM_OK)
			return -1;
		if (iostream_write(s, data + i, linelen) != IOSTREAM_OK)
			return -1;
		if (nl == NULL) {
			*bol = linelen == 0 ? *bol : false;
			break;
		}
		if (iostream_write(s, "\r\n", 2) != IOSTREAM_OK)
			return -1;
		*bol = true;
		i = end + 1;
	}
	return 0;
}

int lmtpd_send(const char *socket_path, const char *helo, const char *from,
               const char *const *rcpts, size_t nrcpts, const char *prefix, const char *data,
               size_t len, const char **error_r)
{
	struct iostream *s = NULL;
	bool bol = true;
	int ret = -1;

	if (socket_path == NULL || socket_path[0] == '\0') {
		*error_r = "no injection socket configured (smtpd_inject_socket)";
		return -1;
	}
	if (nrcpts == 0) {
		*error_r = "no recipient";
		return -1;
	}
	if (iostream_connect_unix(socket_path, 10 * 1000, &s, error_r) < 0) {
		*error_r = errorf("injection socket %s: %s", socket_path, *error_r);
		return -1;
	}
	iostream_set_deadline(s, monotonic_ms() + SEND_DEADLINE_MS);
	if (command(s, 220, error_r, NULL) < 0 || command(s, 250, error_r, "EHLO %s", helo) < 0 ||
	    command(s, 250, error_r, "MAIL FROM:<%s>", from) < 0)
		goto out;
	for (size_t i = 0; i < nrcpts; i++) {
		if (command(s, 250, error_r, "RCPT TO:<%s>", rcpts[i]) < 0)
			goto out;
	}
	if (command(s, 354, error_r, "DATA") < 0)
		goto out;
	if ((prefix != NULL && write_stuffed(s, prefix, strlen(prefix), &bol) < 0) ||
	    write_stuffed(s, data, len, &bol) < 0 ||
	    (!bol && iostream_write(s, "\r\n", 2) != IOSTREAM_OK)) {
		*error_r = errorf("injection socket: %s", iostream_error(s));
		goto out;
	}
	if (command(s, 250, error_r, ".") < 0)
		goto out;
	ret = 0;
	/* the message is queued; a failed QUIT changes nothing */
	(void)command(s, 221, error_r, "QUIT");
out:
	iostream_destroy(&s);
	return ret;
}

/* --- the messages Sieve makes --- */

/* RFC 5322 3.3 date, in UTC. */
static void mail_date(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, size, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

static void message_id(const struct lmtpd_sieve_mail *m, struct sbuf *out)
{
	static unsigned long counter;
	unsigned char rnd[8] = {0};
	unsigned long n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);

	if (getrandom(rnd, sizeof(rnd), 0) < 0)
		memset(rnd, 0, sizeof(rnd));
	sbuf_appendf(out, "Message-ID: <%lld.%ld.%lu.", (long long)time(NULL), (long)getpid(), n);
	for (size_t i = 0; i < sizeof(rnd); i++)
		sbuf_appendf(out, "%02x", rnd[i]);
	sbuf_appendf(out, "@%s>\r\n", m->hostname);
}

/* A header field value: as is when printable ASCII, else RFC 2047 encoded-words, folded. */
static void header_text(struct sbuf *out, const char *text)
{
	size_t len = strlen(text);

	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)text[i] >= 0x80 || text[i] == '\r' || text[i] == '\n') {
			mime_header_encode(text, len, 0, "\r\n ", out);
			return;
		}
	}
	sbuf_append(out, text, len);
}

/* The header block of the message (up to the empty line), for notices. */
static size_t header_len(const char *data, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (data[i] == '\n' &&
		    (data[i + 1] == '\n' ||
		     (data[i + 1] == '\r' && i + 2 < len && data[i + 2] == '\n')))
			return i + 1;
	}
	return len;
}

int lmtpd_sieve_redirect(const struct lmtpd_sieve_mail *m, const char *address,
                         const struct message_header *edited, const char **error_r)
{
	const char *rcpts[1] = {address};
	struct sbuf b = {0};
	int r;

	sbuf_appendf(&b, "X-Sluice-Loop: %s\r\n", m->rcpt);
	if (edited != NULL && m->body_offset <= m->len) {
		message_header_write(edited, &b);
		sbuf_append(&b, m->data + m->body_offset, m->len - m->body_offset);
		r = lmtpd_send(m->inject_socket, m->hostname, m->sender, rcpts, 1, NULL, b.data,
		               b.len, error_r);
	} else {
		r = lmtpd_send(m->inject_socket, m->hostname, m->sender, rcpts, 1, sbuf_str(&b),
		               m->data, m->len, error_r);
	}
	sbuf_free(&b);
	return r;
}

int lmtpd_sieve_reject_notice(const struct lmtpd_sieve_mail *m, const char *reason,
                              const char **error_r)
{
	const char *rcpts[1] = {m->sender};
	struct sbuf b = {0};
	char date[64], boundary[64];
	int r;

	mail_date(date, sizeof(date));
	snprintf(boundary, sizeof(boundary), "sluice-reject-%lld-%ld", (long long)time(NULL),
	         (long)getpid());
	sbuf_appendf(&b, "From: Mail Delivery System <postmaster@%s>\r\n", m->domain);
	sbuf_appendf(&b, "To: <%s>\r\nDate: %s\r\n", m->sender, date);
	sbuf_appendf(&b, "Subject: Rejected: your message to %s\r\n", m->rcpt);
	message_id(m, &b);
	sbuf_append_str(&b, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n");
	sbuf_appendf(&b,
	             "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	             " boundary=\"%s\"\r\n\r\n",
	             boundary);
	sbuf_appendf(&b,
	             "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
	             "Content-Transfer-Encoding: 8bit\r\n\r\n",
	             boundary);
	sbuf_appendf(&b,
	             "Your message to <%s> was rejected by the recipient's mail filter.\r\n\r\n",
	             m->rcpt);
	sbuf_append_str(&b, reason != NULL ? reason : "");
	sbuf_append_str(&b, "\r\n\r\n");
	/* RFC 3464 2.2 and 2.3: the per-message and per-recipient fields */
	sbuf_appendf(&b, "--%s\r\nContent-Type: message/delivery-status\r\n\r\n", boundary);
	sbuf_appendf(&b, "Reporting-MTA: dns; %s\r\n\r\n", m->hostname);
	sbuf_appendf(&b, "Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.7.1\r\n",
	             m->rcpt);
	sbuf_append_str(&b, "Diagnostic-Code: X-Sieve; rejected by the recipient's filter\r\n\r\n");
	sbuf_appendf(&b, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary);
	sbuf_append(&b, m->data, header_len(m->data, m->len));
	sbuf_appendf(&b, "\r\n--%s--\r\n", boundary);
	r = lmtpd_send(m->inject_socket, m->hostname, "", rcpts, 1, NULL, b.data, b.len, error_r);
	sbuf_free(&b);
	return r;
}

int lmtpd_sieve_vacation(const struct lmtpd_sieve_mail *m, const struct sieve_vacation *v,
                         const char **error_r)
{
	const char *rcpts[1] = {v->to};
	struct sbuf b = {0};
	char date[64];
	int r;

	mail_date(date, sizeof(date));
	sbuf_append_str(&b, "From: ");
	header_text(&b, v->from != NULL ? v->from : m->rcpt);
	sbuf_appendf(&b, "\r\nTo: <%s>\r\nDate: %s\r\nSubject: ", v->to, date);
	header_text(&b, v->subject != NULL ? v->subject : "Automatic reply");
	sbuf_append_str(&b, "\r\n");
	message_id(m, &b);
	if (v->in_reply_to != NULL)
		sbuf_appendf(&b, "In-Reply-To: %s\r\n", v->in_reply_to);
	if (v->references != NULL)
		sbuf_appendf(&b, "References: %s\r\n", v->references);
	/* RFC 3834 5 */
	sbuf_append_str(&b, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n");
	if (!v->mime)
		sbuf_append_str(&b, "Content-Type: text/plain; charset=utf-8\r\n"
		                    "Content-Transfer-Encoding: 8bit\r\n\r\n");
	sbuf_append_str(&b, v->reason != NULL ? v->reason : "");
	r = lmtpd_send(m->inject_socket, m->hostname, "", rcpts, 1, NULL, b.data, b.len, error_r);
	sbuf_free(&b);
	return r;
}

int lmtpd_sieve_notify(const struct lmtpd_sieve_mail *m, const struct sieve_notify *n,
                       const char **error_r)
{
	struct sbuf b = {0};
	char date[64];
	int r;

	if (strncasecmp(n->method, "mailto:", 7) != 0) {
		*error_r = "only mailto notifications are supported";
		return -1;
	}
	if (n->nrecipients == 0) {
		*error_r = "no recipient";
		return -1;
	}
	mail_date(date, sizeof(date));
	sbuf_append_str(&b, "From: ");
	if (n->from != NULL)
		header_text(&b, n->from);
	else
		sbuf_appendf(&b, "<postmaster@%s>", m->domain);
	sbuf_appendf(&b, "\r\nTo: <%s>\r\nDate: %s\r\nSubject: ", n->recipients[0], date);
	header_text(&b, n->subject != NULL   ? n->subject
	                : n->message != NULL ? n->message
	                                     : "Notification");
	sbuf_append_str(&b, "\r\n");
	message_id(m, &b);
	if (n->importance == 1)
		sbuf_append_str(&b, "Importance: high\r\nX-Priority: 1\r\n");
	else if (n->importance == 3)
		sbuf_append_str(&b, "Importance: low\r\nX-Priority: 5\r\n");
	/* RFC 5436 2.7 */
	sbuf_append_str(&b, "Auto-Submitted: auto-notified\r\nMIME-Version: 1.0\r\n"
	                    "Content-Type: text/plain; charset=utf-8\r\n"
	                    "Content-Transfer-Encoding: 8bit\r\n\r\n");
	sbuf_append_str(&b, n->body != NULL ? n->body : n->message != NULL ? n->message : "");
	sbuf_append_str(&b, "\r\n");
	r = lmtpd_send(m->inject_socket, m->hostname, "", (const char *const *)n->recipients,
	               n->nrecipients, NULL, b.data, b.len, error_r);
	sbuf_free(&b);
	return r;
}
