/*
 * lmtp_client.c: the LMTP client of sluice-qmgr (see lmtp_client.h).
 *
 * Reads the replies of sluice-lmtpd, a local and trusted peer, but still
 * frames them with bounds: LMTP_REPLY_LINE_MAX per line, LMTP_REPLY_LINES_MAX
 * lines per reply, a deadline on every read and write. Owns its stream; the
 * message content comes through the caller's read function. RFC 2033 4.2:
 * after the end of data there is one reply per recipient that RCPT accepted,
 * in order. RFC 2920 3.1: DATA may end a pipelined group, so MAIL, every RCPT
 * and DATA go out in one write; RFC 5321 4.5.2 dot-stuffing on the way out.
 */
#include "lmtp_client.h"
#include "iostream.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum lmtp_cap {
	CAP_PIPELINING = 1 << 0,
	CAP_8BITMIME = 1 << 1,
	CAP_SMTPUTF8 = 1 << 2,
	CAP_CHUNKING = 1 << 3,
	CAP_BINARYMIME = 1 << 4,
	CAP_SIZE = 1 << 5,
	CAP_XFORWARD_IDENT = 1 << 6, /* Postfix's XFORWARD with the IDENT attribute */
};

struct lmtp_client {
	struct lmtp_client_settings set;
	struct iostream *s;
	unsigned int caps;
	unsigned int transactions;
};

struct reply {
	int code;
	char dsn[10];
	struct sbuf text; /* "250 2.0.0 text" lines joined by '\n' */
	unsigned int lines;
};

struct lmtp_client *lmtp_client_create(const struct lmtp_client_settings *set)
{
	struct lmtp_client *c = xcalloc(1, sizeof(*c));

	c->set = *set;
	return c;
}

bool lmtp_client_connected(const struct lmtp_client *client)
{
	return client->s != NULL;
}

unsigned int lmtp_client_transactions(const struct lmtp_client *client)
{
	return client->transactions;
}

void lmtp_client_disconnect(struct lmtp_client *client, bool quit)
{
	if (client->s == NULL)
		return;
	if (quit) {
		struct iostream_line line;

		/* A short goodbye; the answer is read only so the server sees a clean end. */
		iostream_set_timeouts(client->s, 1000, 1000);
		if (iostream_write_str(client->s, "QUIT\r\n") == IOSTREAM_OK &&
		    iostream_flush(client->s) == IOSTREAM_OK)
			(void)iostream_read_line(client->s, LMTP_REPLY_LINE_MAX, &line);
	}
	iostream_destroy(&client->s);
	client->caps = 0;
	client->transactions = 0;
}

void lmtp_client_destroy(struct lmtp_client **client)
{
	if (*client == NULL)
		return;
	lmtp_client_disconnect(*client, true);
	free(*client);
	*client = NULL;
}

void lmtp_rcpt_results_free(struct lmtp_rcpt_result *results, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(results[i].text);
		results[i].text = NULL;
	}
}

static void reply_free(struct reply *r)
{
	sbuf_free(&r->text);
	memset(r, 0, sizeof(*r));
}

/* RFC 3463: class "." subject "." detail, class matching the reply's first digit. */
static void parse_dsn(struct reply *r, const char *text, size_t len)
{
	size_t i = 0, parts = 0, digits = 0;

	snprintf(r->dsn, sizeof(r->dsn), "%d.0.0", r->code / 100);
	if (len < 5 || text[0] != (char)('0' + r->code / 100) || text[1] != '.')
		return;
	for (i = 0; i < len && i < 9; i++) {
		if (text[i] >= '0' && text[i] <= '9') {
			if (++digits > 3)
				return;
		} else if (text[i] == '.' && digits > 0 && parts < 2) {
			parts++;
			digits = 0;
		} else {
			break;
		}
	}
	if (parts != 2 || digits == 0 || (i < len && text[i] != ' '))
		return;
	memcpy(r->dsn, text, i);
	r->dsn[i] = '\0';
}

/* Read one (possibly multi-line) reply; -1 with *error_r when the stream failed. */
static int read_reply(struct lmtp_client *c, struct reply *r, const char *after,
                      const char **error_r)
{
	struct iostream_line line;

	reply_free(r);
	for (;;) {
		enum iostream_status st = iostream_read_line(c->s, LMTP_REPLY_LINE_MAX, &line);
		int code;

		if (st != IOSTREAM_OK && st != IOSTREAM_TOO_LONG) {
			*error_r = errorf("lost connection with %s after %s: %s",
			                  c->set.socket_path, after, iostream_error(c->s));
			return -1;
		}
		if (line.len < 3 || line.data[0] < '2' || line.data[0] > '5' ||
		    line.data[1] < '0' || line.data[1] > '9' || line.data[2] < '0' ||
		    line.data[2] > '9' ||
		    (line.len > 3 && line.data[3] != ' ' && line.data[3] != '-')) {
			char esc[LOG_UNTRUSTED_BUFSZ];
			*error_r = errorf("%s broke the protocol after %s: %s", c->set.socket_path,
			                  after, log_untrusted(esc, line.data, line.len));
			return -1;
		}
		code =
		    (line.data[0] - '0') * 100 + (line.data[1] - '0') * 10 + (line.data[2] - '0');
		if (r->lines == 0) {
			r->code = code;
			parse_dsn(r, line.len > 4 ? line.data + 4 : "",
			          line.len > 4 ? line.len - 4 : 0);
		} else if (code != r->code) {
			*error_r = errorf("%s broke the protocol after %s: mixed reply codes",
			                  c->set.socket_path, after);
			return -1;
		}
		if (r->lines < LMTP_REPLY_LINES_MAX) {
			if (r->lines > 0)
				sbuf_append(&r->text, "\n", 1);
			sbuf_appendf(&r->text, "%d", code);
			if (line.len > 4) {
				sbuf_append(&r->text, " ", 1);
				sbuf_append(&r->text, line.data + 4, line.len - 4);
			}
		}
		r->lines++;
		if (line.len == 3 || line.data[3] == ' ')
			return 0;
	}
}

/* The reply as one line for logs and DSNs: lines joined by spaces, unprintables escaped. */
static char *reply_flat(const struct reply *r)
{
	char esc[LOG_UNTRUSTED_BUFSZ];
	char *flat = xstrndup(sbuf_str(&r->text), r->text.len);

	for (char *p = flat; *p != '\0'; p++) {
		if (*p == '\n')
			*p = ' ';
	}
	log_untrusted(esc, flat, strlen(flat));
	free(flat);
	return xstrdup(esc);
}

static void set_result(struct lmtp_rcpt_result *res, const struct reply *r)
{
	free(res->text);
	res->code = r->code;
	memcpy(res->dsn, r->dsn, sizeof(res->dsn));
	res->text = reply_flat(r);
}

static void set_result_local(struct lmtp_rcpt_result *res, int code, const char *dsn,
                             const char *text)
{
	free(res->text);
	res->code = code;
	snprintf(res->dsn, sizeof(res->dsn), "%s", dsn);
	res->text = xasprintf("%d %s %s", code, dsn, text);
}

static void clear_results(struct lmtp_rcpt_result *results, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(results[i].text);
		memset(&results[i], 0, sizeof(results[i]));
	}
}

static int flush(struct lmtp_client *c, const char *what, const char **error_r)
{
	if (iostream_flush(c->s) != IOSTREAM_OK) {
		*error_r = errorf("lost connection with %s while sending %s: %s",
		                  c->set.socket_path, what, iostream_error(c->s));
		return -1;
	}
	return 0;
}

static void parse_caps(struct lmtp_client *c, const struct reply *r)
{
	const char *p = sbuf_str(&r->text);

	c->caps = 0;
	/* Skip the first line (the server's name); each further line is "250 KEYWORD params". */
	p = strchr(p, '\n');
	while (p != NULL) {
		const char *kw = p + 1 + 4, *end = strchr(kw, '\n');
		size_t len = end != NULL ? (size_t)(end - kw) : strlen(kw);
		size_t wlen = 0;

		while (wlen < len && kw[wlen] != ' ')
			wlen++;
		if (ascii_strncaseeq(kw, wlen, "PIPELINING"))
			c->caps |= CAP_PIPELINING;
		else if (ascii_strncaseeq(kw, wlen, "8BITMIME"))
			c->caps |= CAP_8BITMIME;
		else if (ascii_strncaseeq(kw, wlen, "SMTPUTF8"))
			c->caps |= CAP_SMTPUTF8;
		else if (ascii_strncaseeq(kw, wlen, "CHUNKING"))
			c->caps |= CAP_CHUNKING;
		else if (ascii_strncaseeq(kw, wlen, "BINARYMIME"))
			c->caps |= CAP_BINARYMIME;
		else if (ascii_strncaseeq(kw, wlen, "SIZE"))
			c->caps |= CAP_SIZE;
		else if (ascii_strncaseeq(kw, wlen, "XFORWARD")) {
			/* "XFORWARD NAME ADDR ... IDENT": the queue id can be passed on. */
			for (size_t i = wlen; i + 5 <= len; i++) {
				if ((i + 5 == len || kw[i + 5] == ' ') && kw[i - 1] == ' ' &&
				    ascii_strncaseeq(kw + i, 5, "IDENT"))
					c->caps |= CAP_XFORWARD_IDENT;
			}
		}
		p = end;
	}
}

static int client_connect(struct lmtp_client *c, const char **error_r)
{
	struct reply r = {0};
	const char *error;

	if (iostream_connect_unix(c->set.socket_path, c->set.connect_timeout_ms, &c->s, &error) <
	    0) {
		*error_r = errorf("connect to %s: %s", c->set.socket_path, error);
		return -1;
	}
	iostream_set_timeouts(c->s, c->set.connect_timeout_ms, c->set.timeout_ms);
	if (read_reply(c, &r, "connect", error_r) < 0)
		goto fail;
	if (r.code != 220) {
		char *flat = reply_flat(&r);
		*error_r = errorf("%s refused the connection: %s", c->set.socket_path, flat);
		free(flat);
		goto fail;
	}
	iostream_set_timeouts(c->s, c->set.timeout_ms, c->set.timeout_ms);
	/* RFC 2033 4.1: LHLO, once per connection. */
	iostream_printf(c->s, "LHLO %s\r\n", c->set.lhlo_name);
	if (flush(c, "LHLO", error_r) < 0 || read_reply(c, &r, "LHLO", error_r) < 0)
		goto fail;
	if (r.code != 250) {
		char *flat = reply_flat(&r);
		*error_r = errorf("%s refused LHLO: %s", c->set.socket_path, flat);
		free(flat);
		goto fail;
	}
	parse_caps(c, &r);
	reply_free(&r);
	c->transactions = 0;
	return 0;
fail:
	reply_free(&r);
	iostream_destroy(&c->s);
	return -1;
}

/* A connection the server closed (or said 421 on) while we did not use it. */
static bool idle_connection_dead(struct lmtp_client *c)
{
	struct pollfd p = {.fd = iostream_fd(c->s), .events = POLLIN};

	if (iostream_pending(c->s) > 0)
		return true;
	return poll(&p, 1, 0) != 0;
}

/* Dot-stuffed content with CRLF line ends, then the final ".". */
static int send_data(struct lmtp_client *c, const struct lmtp_txn *txn, const char **error_r)
{
	char buf[65536];
	uint64_t off = 0;
	bool bol = true;
	char prev = '\n';

	while (off < txn->size) {
		ssize_t n = txn->read(txn->read_context, off, buf, sizeof(buf), error_r);
		size_t start = 0;

		if (n <= 0) {
			if (n == 0)
				*error_r = "the message content ended early";
			return -2;
		}
		for (size_t i = 0; i < (size_t)n; i++) {
			char ch = buf[i];

			/* RFC 5321 4.5.2: a line starting with "." gets one more. */
			if (bol && ch == '.') {
				iostream_write(c->s, buf + start, i - start);
				iostream_write(c->s, ".", 1);
				start = i;
			}
			/* A bare LF becomes CRLF: the data must be CRLF-clean on the wire. */
			if (ch == '\n' && (i > 0 ? buf[i - 1] : prev) != '\r') {
				iostream_write(c->s, buf + start, i - start);
				iostream_write(c->s, "\r", 1);
				start = i;
			}
			bol = ch == '\n';
		}
		iostream_write(c->s, buf + start, (size_t)n - start);
		prev = buf[n - 1];
		off += (uint64_t)n;
	}
	if (!bol)
		iostream_write(c->s, "\r\n", 2);
	iostream_write(c->s, ".\r\n", 3);
	return flush(c, "the message", error_r);
}

/* BINARYMIME (RFC 3030): the content as is, in one last chunk. */
static int send_bdat(struct lmtp_client *c, const struct lmtp_txn *txn, const char **error_r)
{
	char buf[65536];
	uint64_t off = 0;

	iostream_printf(c->s, "BDAT %llu LAST\r\n", (unsigned long long)txn->size);
	while (off < txn->size) {
		ssize_t n = txn->read(txn->read_context, off, buf, sizeof(buf), error_r);
		if (n <= 0) {
			if (n == 0)
				*error_r = "the message content ended early";
			return -2;
		}
		iostream_write(c->s, buf, (size_t)n);
		off += (uint64_t)n;
	}
	return flush(c, "the message", error_r);
}

/* After a transaction that did not complete: RSET, or drop the connection. */
static void reset(struct lmtp_client *c)
{
	struct reply r = {0};
	const char *error;

	iostream_write_str(c->s, "RSET\r\n");
	if (flush(c, "RSET", &error) < 0 || read_reply(c, &r, "RSET", &error) < 0 || r.code != 250)
		lmtp_client_disconnect(c, false);
	reply_free(&r);
}

/*
 * One transaction on a connected client. Returns 0 (results filled), -1
 * (connection failed; results cleared by the caller), -3 when the MAIL reply
 * could not be read on a reused connection (the caller may reconnect once).
 */
static int transaction(struct lmtp_client *c, const struct lmtp_txn *txn,
                       struct lmtp_rcpt_result *results, bool *accepted, const char **error_r)
{
	bool pipelining = (c->caps & CAP_PIPELINING) != 0;
	bool binary = txn->body == QUEUE_BODY_BINARYMIME;
	bool xforward = (c->caps & CAP_XFORWARD_IDENT) && txn->queue_id != NULL;
	struct reply r = {0};
	size_t naccepted = 0;
	int rc;

	iostream_set_timeouts(c->s, c->set.timeout_ms, c->set.timeout_ms);
	if (xforward) {
		/* The server logs our queue id with its own lines (XFORWARD, as Postfix sends it).
		 */
		iostream_printf(c->s, "XFORWARD IDENT=%s\r\n", txn->queue_id);
		if (!pipelining) {
			if (flush(c, "XFORWARD", error_r) < 0)
				return c->transactions > 0 ? -3 : -1;
			if (read_reply(c, &r, "XFORWARD", error_r) < 0) {
				rc = c->transactions > 0 ? -3 : -1;
				goto out;
			}
		}
	}
	iostream_printf(c->s, "MAIL FROM:<%s>", txn->sender);
	if (binary)
		iostream_write_str(c->s, " BODY=BINARYMIME");
	else if (txn->body == QUEUE_BODY_8BITMIME && (c->caps & CAP_8BITMIME))
		iostream_write_str(c->s, " BODY=8BITMIME");
	if (txn->smtputf8)
		iostream_write_str(c->s, " SMTPUTF8");
	if (c->caps & CAP_SIZE)
		iostream_printf(c->s, " SIZE=%llu", (unsigned long long)txn->size);
	iostream_write_str(c->s, "\r\n");
	if (!pipelining) {
		if (flush(c, "MAIL FROM", error_r) < 0)
			return c->transactions > 0 ? -3 : -1;
		if (read_reply(c, &r, "MAIL FROM", error_r) < 0) {
			rc = c->transactions > 0 ? -3 : -1;
			goto out;
		}
		if (r.code / 100 != 2) {
			for (size_t i = 0; i < txn->rcpt_count; i++)
				set_result(&results[i], &r);
			reset(c);
			rc = 0;
			goto out;
		}
	}
	for (size_t i = 0; i < txn->rcpt_count; i++) {
		iostream_printf(c->s, "RCPT TO:<%s>\r\n", txn->rcpts[i]);
		if (pipelining)
			continue;
		if (flush(c, "RCPT TO", error_r) < 0 || read_reply(c, &r, "RCPT TO", error_r) < 0) {
			rc = -1;
			goto out;
		}
		accepted[i] = r.code / 100 == 2;
		if (!accepted[i])
			set_result(&results[i], &r);
		else
			naccepted++;
	}
	if (pipelining) {
		if (!binary)
			iostream_write_str(c->s, "DATA\r\n");
		if (flush(c, "MAIL FROM", error_r) < 0)
			return c->transactions > 0 ? -3 : -1;
		/* XFORWARD's answer says nothing about the delivery: only read it. */
		if ((xforward && read_reply(c, &r, "XFORWARD", error_r) < 0) ||
		    read_reply(c, &r, "MAIL FROM", error_r) < 0) {
			rc = c->transactions > 0 ? -3 : -1;
			goto out;
		}
		struct reply mail = r;
		memset(&r, 0, sizeof(r));
		for (size_t i = 0; i < txn->rcpt_count; i++) {
			if (read_reply(c, &r, "RCPT TO", error_r) < 0) {
				reply_free(&mail);
				rc = -1;
				goto out;
			}
			/* When MAIL failed, the RCPT replies (503) say nothing: MAIL's reply
			 * counts. */
			accepted[i] = mail.code / 100 == 2 && r.code / 100 == 2;
			if (!accepted[i])
				set_result(&results[i], mail.code / 100 == 2 ? &r : &mail);
			else
				naccepted++;
		}
		reply_free(&mail);
		if (!binary) {
			if (read_reply(c, &r, "DATA", error_r) < 0) {
				rc = -1;
				goto out;
			}
			if (r.code == 354 && naccepted == 0) {
				/* Nobody to deliver to, yet the server wants data: end it empty. */
				lmtp_client_disconnect(c, false);
				rc = 0;
				goto out;
			}
		}
	} else if (naccepted > 0 && !binary) {
		iostream_write_str(c->s, "DATA\r\n");
		if (flush(c, "DATA", error_r) < 0 || read_reply(c, &r, "DATA", error_r) < 0) {
			rc = -1;
			goto out;
		}
	}
	if (naccepted == 0) {
		reset(c);
		rc = 0;
		goto out;
	}
	if (!binary && r.code != 354) {
		for (size_t i = 0; i < txn->rcpt_count; i++) {
			if (accepted[i])
				set_result(&results[i], &r);
		}
		reset(c);
		rc = 0;
		goto out;
	}
	rc = binary ? send_bdat(c, txn, error_r) : send_data(c, txn, error_r);
	if (rc < 0) {
		/* -2: our own file failed; the connection is in the middle of data either way. */
		lmtp_client_disconnect(c, false);
		rc = -1;
		goto out;
	}
	/* RFC 2033 4.2: one reply per accepted recipient, in RCPT order. */
	iostream_set_timeouts(c->s, c->set.data_timeout_ms, c->set.timeout_ms);
	for (size_t i = 0; i < txn->rcpt_count; i++) {
		if (!accepted[i])
			continue;
		if (read_reply(c, &r, "end of data", error_r) < 0) {
			rc = -1;
			goto out;
		}
		set_result(&results[i], &r);
	}
	c->transactions++;
	rc = 0;
out:
	reply_free(&r);
	return rc;
}

int lmtp_client_deliver(struct lmtp_client *client, const struct lmtp_txn *txn,
                        struct lmtp_rcpt_result *results, const char **error_r)
{
	bool *accepted;
	int rc = -1;

	if (txn->body == QUEUE_BODY_BINARYMIME && client->s != NULL &&
	    (client->caps & (CAP_CHUNKING | CAP_BINARYMIME)) != (CAP_CHUNKING | CAP_BINARYMIME))
		lmtp_client_disconnect(client, true);
	accepted = xcalloc(txn->rcpt_count, sizeof(*accepted));
	for (int attempt = 0; attempt < 2; attempt++) {
		if (client->s != NULL && idle_connection_dead(client))
			lmtp_client_disconnect(client, false);
		if (client->s == NULL && client_connect(client, error_r) < 0) {
			rc = -2;
			break;
		}
		if (txn->body == QUEUE_BODY_BINARYMIME &&
		    (client->caps & (CAP_CHUNKING | CAP_BINARYMIME)) !=
		        (CAP_CHUNKING | CAP_BINARYMIME)) {
			/* RFC 3030 3: binary content goes only to a server that takes it. */
			for (size_t i = 0; i < txn->rcpt_count; i++)
				set_result_local(&results[i], 554, "5.6.3",
				                 "the LMTP server does not accept BINARYMIME");
			rc = 0;
			break;
		}
		if (txn->smtputf8 && !(client->caps & CAP_SMTPUTF8)) {
			/* RFC 6531 3.4: no SMTPUTF8 on the next hop, no delivery. */
			for (size_t i = 0; i < txn->rcpt_count; i++)
				set_result_local(&results[i], 553, "5.6.7",
				                 "the LMTP server does not support SMTPUTF8");
			rc = 0;
			break;
		}
		memset(accepted, 0, txn->rcpt_count * sizeof(*accepted));
		rc = transaction(client, txn, results, accepted, error_r);
		if (rc == 0)
			break;
		lmtp_client_disconnect(client, false);
		clear_results(results, txn->rcpt_count);
		/* Only a reused connection that died before MAIL's reply is retried. */
		if (rc != -3)
			break;
		rc = -1;
	}
	free(accepted);
	if (rc < 0)
		clear_results(results, txn->rcpt_count);
	return rc;
}
