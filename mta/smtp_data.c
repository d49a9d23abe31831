/*
 * smtp_data.c: reading a message's content in sluice-smtpd: DATA with
 * dot-unstuffing and the end-of-data line, and BDAT chunks.
 *
 * SMTP smuggling: a message that one server ends at a line the next server
 * does not take for the end lets an attacker append commands of its own.
 * So the end of data here is exactly <CR><LF>.<CR><LF> (RFC 5321 4.1.1.4):
 * the "." line must end with CRLF and so must the line before it. Lines
 * that end with a bare LF, and bare CRs inside lines, are either refused
 * (smtpd_bare_newline = reject: a bare LF ends the session with 521, as
 * Postfix's smtpd_forbid_bare_newline = yes does; a bare CR fails the
 * message with 554) or normalized to CRLF (= normalize, Postfix's
 * "normalize"), so what we queue and pass on has CRLF line ends only and no
 * later hop can find a line end we did not see. Trusted clients are always
 * normalized. BDAT has no end marker to confuse, but its content is
 * normalized the same way unless it is BINARYMIME.
 *
 * Trust: the content is untrusted and only framed, measured and copied.
 */
#include "smtp_data.h"

#include "iostream.h"
#include "log.h"
#include "server.h"
#include "smtp_message.h"
#include "smtp_parser.h"
#include "smtp_session.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Content lines are read in parts of at most this many bytes (long lines are fine). */
#define DATA_PART_MAX 8190
/* BDAT chunks are copied through a buffer of this size. */
#define BDAT_BUFFER 65536
/* The Message-ID kept for the log line. */
#define MESSAGE_ID_MAX 200

/* What reading the content found. */
struct data_state {
	uint64_t size;      /* content bytes, as queued */
	bool too_big;       /* over smtpd_max_message_size: the rest is read and dropped */
	bool bare_cr;       /* refused for a bare CR (reject mode) */
	const char *failed; /* the queue could not be written: the reply */
	bool in_header;
	char message_id[MESSAGE_ID_MAX + 1];
};

static void write_content(struct smtp_session *sess, struct data_state *ds, const char *data,
                          size_t len)
{
	if (ds->too_big || ds->bare_cr || ds->failed != NULL || len == 0)
		return;
	if (ds->size + len > sess->set->max_message_size) {
		ds->too_big = true;
		return;
	}
	ds->size += len;
	(void)smtp_message_write(sess, data, len, &ds->failed);
}

/* Keep the Message-ID of the header for the log (first line of the field only). */
static void note_header(struct data_state *ds, const char *data, size_t len)
{
	size_t i = 11, n = 0;

	if (len == 0) {
		ds->in_header = false;
		return;
	}
	if (len < 11 || strncasecmp(data, "Message-ID:", 11) != 0)
		return;
	while (i < len && (data[i] == ' ' || data[i] == '\t'))
		i++;
	while (i < len && n < MESSAGE_ID_MAX && data[i] != '\r')
		ds->message_id[n++] = data[i++];
	ds->message_id[n] = '\0';
}

/* Write one line (or part) of DATA content, normalizing bare CRs when allowed. */
static void data_line(struct smtp_session *sess, struct data_state *ds, const char *data,
                      size_t len, bool normalize)
{
	const char *cr;

	while ((cr = memchr(data, '\r', len)) != NULL) {
		if (!normalize) {
			ds->bare_cr = true;
			return;
		}
		write_content(sess, ds, data, (size_t)(cr - data));
		write_content(sess, ds, "\r\n", 2);
		len -= (size_t)(cr - data) + 1;
		data = cr + 1;
	}
	write_content(sess, ds, data, len);
}

/* Read the content up to <CR><LF>.<CR><LF>. Returns false when the session must end. */
static bool read_data(struct smtp_session *sess, struct data_state *ds)
{
	bool normalize = sess->set->bare_newline == SMTP_BARE_NEWLINE_NORMALIZE || sess->trusted;
	bool line_start = true, prev_crlf = true;
	struct iostream_line line;
	enum iostream_status st;
	char client[SMTP_CLIENT_BUFSZ];

	for (;;) {
		st = iostream_read_line_part(sess->s, DATA_PART_MAX, &line);
		if (st != IOSTREAM_OK) {
			smtp_client_text(sess, client, sizeof(client));
			if (st == IOSTREAM_TIMEOUT) {
				log_info("timeout after DATA (%llu bytes) from %s",
				         (unsigned long long)ds->size, client);
				smtp_replyf(sess, "421 4.4.2 %s Error: timeout exceeded",
				            sess->set->hostname);
			} else {
				log_info("lost connection after DATA (%llu bytes) from %s",
				         (unsigned long long)ds->size, client);
			}
			return false;
		}
		const char *data = line.data;
		size_t len = line.len;

		if (line.eol == IOSTREAM_EOL_LF && !normalize) {
			log_info("bare <LF> received after DATA from %s",
			         smtp_client_text(sess, client, sizeof(client)));
			smtp_reply(sess, "521 5.5.2 Error: bare <LF> received");
			return false;
		}
		if (line_start) {
			/* RFC 5321 4.1.1.4: the end is CRLF "." CRLF, nothing looser. */
			if (len == 1 && data[0] == '.' && line.eol == IOSTREAM_EOL_CRLF &&
			    prev_crlf)
				return true;
			/* RFC 5321 4.5.2: remove one leading dot (a lone "." ending in a bare
			 * LF is no end of data and is kept as content). */
			if (len > 1 && data[0] == '.') {
				data++;
				len--;
			}
			if (ds->in_header)
				note_header(ds, data, len);
		}
		data_line(sess, ds, data, len, normalize);
		if (line.eol != IOSTREAM_EOL_NONE) {
			write_content(sess, ds, "\r\n", 2);
			prev_crlf = line.eol == IOSTREAM_EOL_CRLF;
		}
		line_start = line.eol != IOSTREAM_EOL_NONE;
	}
}

void smtp_cmd_data(struct smtp_session *sess, const char *args, size_t len)
{
	struct data_state ds = {.in_header = true};
	bool go_on;

	(void)args;
	(void)len;
	if (sess->rcpt_count == 0) {
		smtp_reply(sess, "554 5.5.1 Error: no valid recipients");
		smtp_count_error(sess);
		return;
	}
	if (sess->mail.body == QUEUE_BODY_BINARYMIME) {
		/* RFC 3030 3: BINARYMIME content only travels in BDAT chunks. */
		smtp_reply(sess, "503 5.5.1 Error: BODY=BINARYMIME requires BDAT");
		smtp_count_error(sess);
		return;
	}
	if (smtp_message_begin(sess) < 0) {
		smtp_transaction_reset(sess);
		return;
	}
	smtp_reply(sess, "354 End data with <CR><LF>.<CR><LF>");
	if (!smtp_flush(sess)) {
		sess->quit = true;
		smtp_transaction_reset(sess);
		return;
	}
	/* A transfer in progress goes on through a shutdown's grace period. */
	iostream_set_interrupt_fd(sess->s, -1);
	go_on = read_data(sess, &ds);
	iostream_set_interrupt_fd(sess->s, server_stop_fd(sess->d->srv));
	if (!go_on) {
		sess->quit = true;
	} else if (ds.too_big) {
		smtp_reply(sess, "552 5.3.4 Message size exceeds fixed limit");
	} else if (ds.bare_cr) {
		char client[SMTP_CLIENT_BUFSZ];

		log_info("bare <CR> in message content from %s: refused",
		         smtp_client_text(sess, client, sizeof(client)));
		smtp_reply(sess, "554 5.6.0 Error: bare <CR> received in message content");
	} else if (ds.failed != NULL) {
		smtp_reply(sess, ds.failed);
	} else {
		smtp_message_commit(sess, ds.message_id);
	}
	smtp_transaction_reset(sess);
}

/* Read and drop n bytes of a chunk. */
static bool bdat_discard(struct smtp_session *sess, uint64_t n, char *buf)
{
	while (n > 0) {
		size_t want = n < BDAT_BUFFER ? (size_t)n : BDAT_BUFFER, got;

		if (iostream_read_some(sess->s, buf, want, &got) != IOSTREAM_OK)
			return false;
		n -= got;
	}
	return true;
}

/* Read a chunk into the queue file (normalized unless BINARYMIME). */
static bool bdat_copy(struct smtp_session *sess, uint64_t n, char *buf, char *norm,
                      struct data_state *ds)
{
	bool binary = sess->mail.body == QUEUE_BODY_BINARYMIME;

	while (n > 0) {
		size_t want = n < BDAT_BUFFER ? (size_t)n : BDAT_BUFFER, got;

		if (iostream_read_some(sess->s, buf, want, &got) != IOSTREAM_OK)
			return false;
		n -= got;
		if (binary)
			write_content(sess, ds, buf, got);
		else
			write_content(sess, ds, norm,
			              smtp_normalize_line_ends(buf, got, &sess->bdat_cr, norm));
	}
	return true;
}

/* Fail the rest of this BDAT transaction with reply (sent now and for each later chunk). */
static void bdat_fail(struct smtp_session *sess, const char *reply, bool last)
{
	queue_writer_abort(&sess->writer);
	log_set_queue_id(NULL);
	smtp_reply(sess, reply);
	smtp_count_error(sess);
	if (last) {
		smtp_transaction_reset(sess);
	} else {
		sess->bdat_started = sess->bdat_failed = true;
		sess->bdat_reply = reply;
	}
}

void smtp_cmd_bdat(struct smtp_session *sess, const char *args, size_t len)
{
	struct data_state ds = {0};
	const char *reply;
	uint64_t size;
	bool last, ok;
	char *buf, *norm;

	if (smtp_parse_bdat(args, len, &size, &last, &reply) < 0) {
		/* Without a size the chunk cannot be skipped: end the session. */
		smtp_reply(sess, reply);
		sess->quit = true;
		return;
	}
	buf = xmalloc(BDAT_BUFFER);
	norm = xmalloc(2 * BDAT_BUFFER + 2);
	iostream_set_interrupt_fd(sess->s, -1);
	if (!sess->helo_seen || !sess->in_mail || sess->rcpt_count == 0 || sess->bdat_failed) {
		/* RFC 3030 2: a refused chunk is still read, to stay in step. */
		ok = bdat_discard(sess, size, buf);
		if (ok) {
			if (sess->bdat_failed)
				bdat_fail(sess, sess->bdat_reply, last);
			else if (!sess->helo_seen)
				bdat_fail(sess, "503 5.5.1 Error: send HELO/EHLO first", last);
			else if (!sess->in_mail)
				bdat_fail(sess, "503 5.5.1 Error: need MAIL command", last);
			else
				bdat_fail(sess, "554 5.5.1 Error: no valid recipients", last);
		}
		goto out;
	}
	if (!sess->bdat_started) {
		if (smtp_message_begin(sess) < 0) {
			/* the reply is sent; read the chunk, fail the rest the same way */
			ok = bdat_discard(sess, size, buf);
			if (ok && !last) {
				sess->bdat_started = sess->bdat_failed = true;
				sess->bdat_reply = "451 4.3.0 Error: queue file write error";
			} else if (ok) {
				smtp_transaction_reset(sess);
			}
			goto out;
		}
		sess->bdat_started = true;
	}
	ds.size = queue_writer_size(sess->writer);
	ok = bdat_copy(sess, size, buf, norm, &ds);
	if (ok && last && sess->mail.body != QUEUE_BODY_BINARYMIME)
		write_content(sess, &ds, norm,
		              smtp_normalize_line_ends(NULL, 0, &sess->bdat_cr, norm));
	if (!ok) {
		char client[SMTP_CLIENT_BUFSZ];

		log_info("lost connection after BDAT from %s",
		         smtp_client_text(sess, client, sizeof(client)));
		sess->quit = true;
	} else if (ds.too_big) {
		bdat_fail(sess, "552 5.3.4 Message size exceeds fixed limit", last);
	} else if (ds.failed != NULL) {
		bdat_fail(sess, ds.failed, last);
	} else if (!last) {
		smtp_replyf(sess, "250 2.0.0 Ok: %llu octets received", (unsigned long long)size);
	} else {
		smtp_message_commit(sess, NULL);
		smtp_transaction_reset(sess);
	}
out:
	iostream_set_interrupt_fd(sess->s, server_stop_fd(sess->d->srv));
	free(buf);
	free(norm);
}
