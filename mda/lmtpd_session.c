/*
 * lmtpd_session.c: the LMTP dialogue (RFC 2033) on one connection, in its
 * own thread: greeting, LHLO, MAIL, RCPT (each recipient checked against
 * the database and its quota at once), DATA (read into the store's
 * temporary file, dot-unstuffed, line ends made CRLF), RSET, NOOP, VRFY,
 * QUIT. A command table drives it, with the state each command needs.
 *
 * Trust: the peer is the local MTA (sluice-qmgr) or whoever can reach the
 * socket, so every line is bounded and every parameter checked; replies
 * never echo input. Replies are flushed only when no pipelined command is
 * waiting (RFC 2920 via RFC 2033 4.1). A session ends after too many
 * errors, on a deadline, or at shutdown between commands.
 */
#include "lmtpd.h"

#include "iostream.h"
#include "log.h"
#include "server.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 5321 4.5.3.1.4: 512 octets a command line; extensions may add, allow more. */
#define LMTP_MAX_LINE 4096
/* A message line is read in parts of at most this many bytes. */
#define LMTP_DATA_PART 8192
#define LMTP_MAX_ERRORS 20

enum cmd_flags {
	CMD_NEEDS_LHLO = 1 << 0,
	CMD_NEEDS_MAIL = 1 << 1,
	CMD_NO_MAIL = 1 << 2,
};

struct lmtp_cmd {
	const char *name;
	void (*run)(struct lmtpd_session *sess, const char *arg, size_t len);
	unsigned flags;
};

void lmtpd_reply(struct lmtpd_session *sess, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	iostream_write(sess->s, line, (size_t)n);
}

static void reset_transaction(struct lmtpd_session *sess)
{
	sess->in_mail = false;
	sess->sender[0] = '\0';
	sess->declared_size = 0;
	sess->nrcpts = 0;
	sess->queue_id[0] = '\0';
	log_set_queue_id(NULL);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static void cmd_lhlo(struct lmtpd_session *sess, const char *arg, size_t len)
{
	const struct lmtpd_settings *set = &sess->d->set;

	(void)arg;
	if (len == 0) {
		lmtpd_reply(sess, "501 5.5.4 LHLO needs a host name");
		return;
	}
	/* RFC 5321 4.1.4: LHLO, like EHLO, resets the transaction */
	reset_transaction(sess);
	sess->lhlo = true;
	lmtpd_reply(sess, "250-%s", set->hostname);
	lmtpd_reply(sess, "250-PIPELINING");
	lmtpd_reply(sess, "250-ENHANCEDSTATUSCODES");
	lmtpd_reply(sess, "250-8BITMIME");
	lmtpd_reply(sess, "250-SMTPUTF8");
	lmtpd_reply(sess, "250-XFORWARD IDENT");
	lmtpd_reply(sess, "250 SIZE %lld", (long long)set->max_message_size);
}

/*
 * XFORWARD IDENT=<id> (Postfix's extension, IDENT only): the client's queue
 * id, put on every log line of the next transaction so one id follows a
 * message through smtpd, qmgr and lmtpd. Only before MAIL; the id is
 * letters and digits, at most LMTPD_QUEUE_ID_MAX, else refused.
 */
static void cmd_xforward(struct lmtpd_session *sess, const char *arg, size_t len)
{
	static const char kw[] = "IDENT=";
	size_t n = sizeof(kw) - 1, idlen;
	const char *id;

	if (len <= n || !ascii_strncaseeq(arg, n, kw)) {
		lmtpd_reply(sess, "501 5.5.4 Only XFORWARD IDENT=queue-id is supported");
		sess->errors++;
		return;
	}
	id = arg + n;
	idlen = len - n;
	if (idlen > LMTPD_QUEUE_ID_MAX) {
		lmtpd_reply(sess, "501 5.5.4 IDENT too long");
		sess->errors++;
		return;
	}
	for (size_t i = 0; i < idlen; i++) {
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= 'a' && id[i] <= 'z'))) {
			lmtpd_reply(sess, "501 5.5.4 Bad IDENT");
			sess->errors++;
			return;
		}
	}
	memcpy(sess->queue_id, id, idlen);
	sess->queue_id[idlen] = '\0';
	log_set_queue_id(sess->queue_id);
	lmtpd_reply(sess, "250 2.0.0 Ok");
}

static void cmd_helo(struct lmtpd_session *sess, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	/* RFC 2033 4.1: an LMTP server must not accept HELO or EHLO */
	lmtpd_reply(sess, "500 5.5.1 This is LMTP: use LHLO");
	sess->errors++;
}

/* The text after "FROM:" / "TO:" (case-insensitive), or NULL. */
static const char *after_keyword(const char *arg, size_t len, const char *kw, size_t *rest_r)
{
	size_t n = strlen(kw);

	if (len < n || !ascii_strncaseeq(arg, n, kw))
		return NULL;
	*rest_r = len - n;
	return arg + n;
}

/* ESMTP parameters after a path: calls check for each "KEY[=VALUE]"; -1 stops. */
static int each_param(struct lmtpd_session *sess, const char *p, size_t len,
                      int (*check)(struct lmtpd_session *, const char *, size_t, const char *,
                                   size_t))
{
	size_t i = 0;

	while (i < len) {
		size_t start, klen, vstart, vlen = 0;

		while (i < len && is_space(p[i]))
			i++;
		if (i >= len)
			break;
		start = i;
		while (i < len && !is_space(p[i]) && p[i] != '=')
			i++;
		klen = i - start;
		vstart = i;
		if (i < len && p[i] == '=') {
			vstart = ++i;
			while (i < len && !is_space(p[i]))
				i++;
			vlen = i - vstart;
		}
		if (check(sess, p + start, klen, p + vstart, vlen) < 0)
			return -1;
	}
	return 0;
}

static int mail_param(struct lmtpd_session *sess, const char *k, size_t klen, const char *v,
                      size_t vlen)
{
	char num[24];

	if (ascii_strncaseeq(k, klen, "SIZE")) {
		char *end;

		if (vlen == 0 || vlen >= sizeof(num)) {
			lmtpd_reply(sess, "501 5.5.4 Bad SIZE parameter");
			return -1;
		}
		memcpy(num, v, vlen);
		num[vlen] = '\0';
		sess->declared_size = strtoll(num, &end, 10);
		if (*end != '\0' || sess->declared_size < 0) {
			lmtpd_reply(sess, "501 5.5.4 Bad SIZE parameter");
			return -1;
		}
		/* RFC 1870 6 */
		if (sess->declared_size > sess->d->set.max_message_size) {
			lmtpd_reply(sess,
			            "552 5.3.4 Message size exceeds fixed maximum message size");
			return -1;
		}
		return 0;
	}
	if (ascii_strncaseeq(k, klen, "BODY")) {
		if (!ascii_strncaseeq(v, vlen, "7BIT") && !ascii_strncaseeq(v, vlen, "8BITMIME")) {
			lmtpd_reply(sess, "501 5.5.4 Bad BODY parameter");
			return -1;
		}
		return 0;
	}
	/* accepted and not needed here: the MTA keeps DSN state (RFC 3461) */
	if (ascii_strncaseeq(k, klen, "SMTPUTF8") || ascii_strncaseeq(k, klen, "RET") ||
	    ascii_strncaseeq(k, klen, "ENVID") || ascii_strncaseeq(k, klen, "AUTH"))
		return 0;
	lmtpd_reply(sess, "555 5.5.4 Unsupported MAIL parameter");
	return -1;
}

static void cmd_mail(struct lmtpd_session *sess, const char *arg, size_t len)
{
	struct mail_address addr;
	const char *path, *error;
	size_t rest, consumed;

	if ((path = after_keyword(arg, len, "FROM:", &rest)) == NULL) {
		lmtpd_reply(sess, "501 5.5.4 Syntax: MAIL FROM:<address>");
		sess->errors++;
		return;
	}
	if (addr_parse_path(path, rest,
	                    ADDR_SMTPUTF8 | ADDR_ALLOW_LITERAL | ADDR_ALLOW_NULL |
	                        ADDR_ALLOW_SPACE_BEFORE,
	                    &addr, &consumed, &error) < 0) {
		lmtpd_reply(sess, "501 5.1.7 Bad sender address syntax");
		sess->errors++;
		return;
	}
	sess->declared_size = 0;
	if (each_param(sess, path + consumed, rest - consumed, mail_param) < 0) {
		sess->declared_size = 0;
		return;
	}
	addr_format(&addr, sess->sender);
	sess->in_mail = true;
	sess->nrcpts = 0;
	lmtpd_reply(sess, "250 2.1.0 Ok");
}

static int rcpt_param(struct lmtpd_session *sess, const char *k, size_t klen, const char *v,
                      size_t vlen)
{
	(void)v;
	(void)vlen;
	if (ascii_strncaseeq(k, klen, "ORCPT") || ascii_strncaseeq(k, klen, "NOTIFY"))
		return 0;
	lmtpd_reply(sess, "555 5.5.4 Unsupported RCPT parameter");
	return -1;
}

/* Look a recipient up: the address, else its base without the +extension. */
static int rcpt_lookup(struct lmtpd_session *sess, const struct mail_address *addr,
                       struct lmtpd_rcpt *r, const char **error_r)
{
	struct store *st = sess->d->store;
	char base[ADDR_LOCAL_BUFSZ];
	const char *ext;
	size_t base_len;
	char delim;
	int rc;

	r->detail[0] = '\0';
	rc = store_mailbox_lookup(st, addr->local, addr->domain, &r->mailbox, error_r);
	if (rc != STORE_NOT_FOUND ||
	    !addr_split_extension(addr->local, sess->d->set.recipient_delimiter, &base_len, &ext,
	                          &delim))
		return rc;
	memcpy(base, addr->local, base_len);
	base[base_len] = '\0';
	snprintf(r->detail, sizeof(r->detail), "%s", ext);
	return store_mailbox_lookup(st, base, addr->domain, &r->mailbox, error_r);
}

static void cmd_rcpt(struct lmtpd_session *sess, const char *arg, size_t len)
{
	const struct lmtpd_settings *set = &sess->d->set;
	struct mail_address addr;
	struct lmtpd_rcpt *r;
	const char *path, *error = NULL;
	char logbuf[LOG_UNTRUSTED_BUFSZ];
	size_t rest, consumed;
	int rc;

	if ((path = after_keyword(arg, len, "TO:", &rest)) == NULL) {
		lmtpd_reply(sess, "501 5.5.4 Syntax: RCPT TO:<address>");
		sess->errors++;
		return;
	}
	if (addr_parse_path(path, rest, ADDR_SMTPUTF8 | ADDR_ALLOW_SPACE_BEFORE, &addr, &consumed,
	                    &error) < 0) {
		lmtpd_reply(sess, "501 5.1.3 Bad recipient address syntax");
		sess->errors++;
		return;
	}
	if (each_param(sess, path + consumed, rest - consumed, rcpt_param) < 0)
		return;
	if (sess->nrcpts >= set->max_recipients) {
		lmtpd_reply(sess, "452 4.5.3 Too many recipients");
		return;
	}
	if (sess->nrcpts == sess->rcpt_cap) {
		sess->rcpt_cap = sess->rcpt_cap == 0 ? 4 : sess->rcpt_cap * 2;
		sess->rcpts = xrealloc(sess->rcpts, sess->rcpt_cap * sizeof(*sess->rcpts));
	}
	r = &sess->rcpts[sess->nrcpts];
	memset(r, 0, sizeof(*r));
	addr_format(&addr, r->address);
	rc = rcpt_lookup(sess, &addr, r, &error);
	if (rc == STORE_OK && !r->mailbox.active) {
		lmtpd_reply(sess, "550 5.2.1 <%s> Mailbox disabled", r->address);
		return;
	}
	if (rc == STORE_OK)
		rc = store_mailbox_init(sess->d->store, &r->mailbox, &error);
	if (rc == STORE_NOT_FOUND) {
		lmtpd_reply(sess, "550 5.1.1 <%s> User unknown", r->address);
		return;
	}
	if (rc != STORE_OK) {
		log_warn("RCPT %s: %s", log_untrusted(logbuf, r->address, strlen(r->address)),
		         error != NULL ? error : store_status_name(rc));
		lmtpd_reply(sess, "451 4.3.0 <%s> Temporary lookup failure", r->address);
		return;
	}
	{
		struct quota_state q = {
		    .limit_bytes = r->mailbox.quota_bytes,
		    .limit_messages = r->mailbox.quota_messages,
		    .domain_limit_bytes = r->mailbox.domain_quota_bytes,
		    .used_bytes = r->mailbox.used_bytes,
		    .used_messages = r->mailbox.used_messages,
		    .domain_used_bytes = r->mailbox.domain_used_bytes,
		};
		/* full already, or too full for the SIZE announced (RFC 1870) */
		if (quota_check(&q, sess->declared_size, sess->declared_size > 0 ? 1 : 0) !=
		    QUOTA_FITS) {
			if (set->quota_tempfail)
				lmtpd_reply(sess, "452 4.2.2 <%s> Mailbox is full", r->address);
			else
				lmtpd_reply(sess, "552 5.2.2 <%s> Mailbox is full", r->address);
			return;
		}
	}
	sess->nrcpts++;
	lmtpd_reply(sess, "250 2.1.5 Ok");
}

/* Write one line part of the message, CRLF-terminated when it ends a line. */
static int data_write(struct store_msg *msg, const struct iostream_line *line, int64_t *size,
                      int64_t max, bool *too_big, const char **error_r)
{
	int64_t add = (int64_t)line->len + (line->eol != IOSTREAM_EOL_NONE ? 2 : 0);
	int rc;

	*size += add;
	if (*size > max)
		*too_big = true;
	if (*too_big || msg == NULL)
		return STORE_OK;
	if ((rc = store_msg_write(msg, line->data, line->len, error_r)) != STORE_OK)
		return rc;
	if (line->eol != IOSTREAM_EOL_NONE)
		rc = store_msg_write(msg, "\r\n", 2, error_r);
	return rc;
}

static void cmd_data(struct lmtpd_session *sess, const char *arg, size_t len)
{
	struct store_msg *msg = NULL;
	struct iostream_line line;
	enum iostream_status ios;
	const char *error = NULL;
	int64_t size = 0;
	bool at_line_start = true, too_big = false;
	int rc;

	(void)arg;
	(void)len;
	/* RFC 2033 4.2: no successful RCPT, no DATA */
	if (sess->nrcpts == 0) {
		lmtpd_reply(sess, "503 5.5.1 No valid recipients");
		return;
	}
	rc = store_msg_begin(sess->d->store, &msg, &error);
	if (rc != STORE_OK)
		log_warn("DATA: %s", error);
	lmtpd_reply(sess, "354 Start mail input; end with <CRLF>.<CRLF>");
	if (iostream_flush(sess->s) != IOSTREAM_OK)
		goto lost;
	for (;;) {
		ios = iostream_read_line_part(sess->s, LMTP_DATA_PART, &line);
		if (ios != IOSTREAM_OK)
			goto lost;
		if (at_line_start && line.eol != IOSTREAM_EOL_NONE && line.len == 1 &&
		    line.data[0] == '.')
			break;
		/* RFC 5321 4.5.2: a leading dot of a line was doubled */
		if (at_line_start && line.len > 0 && line.data[0] == '.') {
			line.data++;
			line.len--;
		}
		at_line_start = line.eol != IOSTREAM_EOL_NONE;
		if (rc == STORE_OK) {
			rc = data_write(msg, &line, &size, sess->d->set.max_message_size, &too_big,
			                &error);
			if (rc != STORE_OK)
				log_warn("DATA: %s", error);
		}
	}
	if (rc == STORE_OK && !too_big && (rc = store_msg_finish(msg, &error)) != STORE_OK)
		log_warn("DATA: %s", error);
	lmtpd_deliver(sess, msg, rc, too_big);
	store_msg_free(&msg);
	sess->transactions++;
	reset_transaction(sess);
	return;
lost:
	/* nothing was acknowledged: the client will try again */
	store_msg_free(&msg);
	reset_transaction(sess);
	sess->errors = LMTP_MAX_ERRORS + 1;
	log_info("connection lost during DATA: %s", iostream_error(sess->s));
}

static void cmd_rset(struct lmtpd_session *sess, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	reset_transaction(sess);
	lmtpd_reply(sess, "250 2.0.0 Ok");
}

static void cmd_noop(struct lmtpd_session *sess, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	lmtpd_reply(sess, "250 2.0.0 Ok");
}

static void cmd_vrfy(struct lmtpd_session *sess, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	/* RFC 5321 3.5.3: neither verified nor denied */
	lmtpd_reply(sess, "252 2.5.2 Send some mail, I will try my best");
}

static void cmd_quit(struct lmtpd_session *sess, const char *arg, size_t len)
{
	(void)arg;
	(void)len;
	lmtpd_reply(sess, "221 2.0.0 Bye");
}

static const struct lmtp_cmd commands[] = {
    {"LHLO", cmd_lhlo, 0},
    {"HELO", cmd_helo, 0},
    {"EHLO", cmd_helo, 0},
    {"MAIL", cmd_mail, CMD_NEEDS_LHLO | CMD_NO_MAIL},
    {"RCPT", cmd_rcpt, CMD_NEEDS_LHLO | CMD_NEEDS_MAIL},
    {"DATA", cmd_data, CMD_NEEDS_LHLO | CMD_NEEDS_MAIL},
    {"RSET", cmd_rset, 0},
    {"XFORWARD", cmd_xforward, CMD_NEEDS_LHLO | CMD_NO_MAIL},
    {"NOOP", cmd_noop, 0},
    {"VRFY", cmd_vrfy, 0},
    {"QUIT", cmd_quit, 0},
};

/* Run one command line; false when the session should end. */
static bool dispatch(struct lmtpd_session *sess, const char *line, size_t len)
{
	size_t vlen = 0, i;

	while (vlen < len && line[vlen] != ' ')
		vlen++;
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct lmtp_cmd *c = &commands[i];
		const char *arg = line + vlen;
		size_t alen = len - vlen;

		if (!ascii_strncaseeq(line, vlen, c->name))
			continue;
		if (alen > 0) {
			arg++;
			alen--;
		}
		if ((c->flags & CMD_NEEDS_LHLO) && !sess->lhlo) {
			lmtpd_reply(sess, "503 5.5.1 Say LHLO first");
			sess->errors++;
		} else if ((c->flags & CMD_NEEDS_MAIL) && !sess->in_mail) {
			lmtpd_reply(sess, "503 5.5.1 Need MAIL first");
			sess->errors++;
		} else if ((c->flags & CMD_NO_MAIL) && sess->in_mail) {
			lmtpd_reply(sess, "503 5.5.1 Nested MAIL command");
			sess->errors++;
		} else {
			c->run(sess, arg, alen);
		}
		return c->run != cmd_quit;
	}
	lmtpd_reply(sess, "500 5.5.2 Unknown command");
	sess->errors++;
	return true;
}

void lmtpd_session_run(struct server_conn *conn)
{
	struct lmtpd_session sess = {.d = conn->context, .conn = conn, .s = conn->stream};
	struct iostream_line line;
	enum iostream_status ios;

	lmtpd_reply(&sess, "220 %s LMTP ready", sess.d->set.hostname);
	for (;;) {
		if (iostream_pending(sess.s) == 0 && iostream_flush(sess.s) != IOSTREAM_OK)
			break;
		if (sess.errors > LMTP_MAX_ERRORS) {
			lmtpd_reply(&sess, "421 4.7.0 Too many errors");
			break;
		}
		if (server_stopping(sess.d->server) && iostream_pending(sess.s) == 0) {
			lmtpd_reply(&sess, "421 4.3.2 Shutting down");
			break;
		}
		ios = iostream_read_line(sess.s, LMTP_MAX_LINE, &line);
		if (ios == IOSTREAM_TOO_LONG) {
			lmtpd_reply(&sess, "500 5.5.2 Line too long");
			sess.errors++;
			continue;
		}
		if (ios == IOSTREAM_INTERRUPTED) {
			lmtpd_reply(&sess, "421 4.3.2 Shutting down");
			break;
		}
		if (ios == IOSTREAM_TIMEOUT) {
			lmtpd_reply(&sess, "421 4.4.2 Timeout");
			break;
		}
		if (ios != IOSTREAM_OK)
			break;
		if (!dispatch(&sess, line.data, line.len))
			break;
	}
	iostream_flush(sess.s);
	log_debug("session ended: %u transactions", sess.transactions);
	free(sess.rcpts);
}
