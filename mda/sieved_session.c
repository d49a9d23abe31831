/*
 * sieved_session.c: one ManageSieve connection (RFC 5804), top to bottom:
 * the greeting with the capabilities, then commands until LOGOUT, a broken
 * stream, too many errors or the server's stop. Commands are read through
 * the bounded line reader of lib/iostream.h and sieved_parser.c (literal
 * data with iostream_read_exact), checked against the command table's
 * state flags and argument counts in one place, and run. This file also
 * holds the session commands: CAPABILITY, STARTTLS, AUTHENTICATE (Cyrus SASL
 * through lib/sasl_server.h, which asks sluice-authd), UNAUTHENTICATE,
 * LOGOUT and NOOP. Trust: reads untrusted network input; touches only its
 * own session and the connections it borrows from the pool.
 */
#include "sieved.h"
#include "sieved_scripts.h"

#include "db.h"
#include "iostream.h"
#include "log.h"
#include "sasl_server.h"
#include "server.h"
#include "tls.h"

#include <stdlib.h>
#include <string.h>

enum read_result {
	READ_COMMAND,
	READ_SYNTAX,   /* a syntax error, the line skipped */
	READ_TOO_BIG,  /* a literal over the script size, skipped */
	READ_TOO_LONG, /* a line over max_line */
	READ_STOP,     /* the server is stopping and the session was idle */
	READ_CLOSED,   /* EOF, timeout, broken stream or unrecoverable input */
};

void sieved_write(struct sieved_session *ss, const char *data, size_t len)
{
	if (ss->quit || len == 0)
		return;
	if (iostream_write(ss->s, data, len) != IOSTREAM_OK) {
		log_info("write failed: %s", iostream_error(ss->s));
		ss->quit = true;
	}
}

static void flush(struct sieved_session *ss)
{
	if (ss->quit)
		return;
	if (iostream_flush(ss->s) != IOSTREAM_OK) {
		log_info("write failed: %s", iostream_error(ss->s));
		ss->quit = true;
	}
}

void sieved_reply_len(struct sieved_session *ss, const char *status, const char *code,
                      const char *text, size_t len)
{
	sbuf_reset(&ss->out);
	sbuf_append_str(&ss->out, status);
	if (code != NULL)
		sbuf_appendf(&ss->out, " (%s)", code);
	if (text != NULL) {
		sbuf_append(&ss->out, " ", 1);
		sieved_string_append(&ss->out, text, len);
	}
	sbuf_append(&ss->out, "\r\n", 2);
	sieved_write(ss, ss->out.data, ss->out.len);
}

void sieved_reply(struct sieved_session *ss, const char *status, const char *code, const char *text)
{
	sieved_reply_len(ss, status, code, text, text != NULL ? strlen(text) : 0);
}

void sieved_reply_trylater(struct sieved_session *ss, const char *what, const char *error)
{
	log_warn("%s: database unavailable: %s", what, error != NULL ? error : "unknown error");
	sieved_reply(ss, "NO", "TRYLATER", "Database unavailable, try again later");
}

struct db_conn *sieved_db(struct sieved_session *ss)
{
	const char *error = NULL;
	struct db_conn *c = db_acquire(ss->d->pool, &error);

	if (c == NULL)
		sieved_reply_trylater(ss, "connect", error);
	return c;
}

static bool auth_allowed(const struct sieved_session *ss)
{
	switch (ss->d->set.plaintext_auth) {
	case SIEVED_PLAINTEXT_ALWAYS:
		return true;
	case SIEVED_PLAINTEXT_LOOPBACK:
		return ss->tls || ss->conn->peer_loopback;
	default:
		return ss->tls;
	}
}

static void cap_line(struct sbuf *b, const char *name, const char *value)
{
	sieved_string_append(b, name, strlen(name));
	if (value != NULL) {
		sbuf_append(b, " ", 1);
		sieved_string_append(b, value, strlen(value));
	}
	sbuf_append(b, "\r\n", 2);
}

/* RFC 5804 1.7: the capability lines (the caller adds the OK). */
static void write_capabilities(struct sieved_session *ss)
{
	const struct sieved *d = ss->d;
	struct sbuf b = {0};
	char num[16];

	cap_line(&b, "IMPLEMENTATION", d->set.implementation);
	/* without TLS where it is required the list is empty (RFC 5804 1.7) */
	cap_line(&b, "SASL", auth_allowed(ss) ? sasl_session_mechanisms(ss->sasl) : "");
	cap_line(&b, "SIEVE", d->sieve_capability);
	if (!ss->tls && d->tls != NULL && ss->user == NULL)
		cap_line(&b, "STARTTLS", NULL);
	if (d->notify_mailto)
		cap_line(&b, "NOTIFY", "mailto");
	snprintf(num, sizeof(num), "%u", d->set.max_redirects);
	cap_line(&b, "MAXREDIRECTS", num);
	cap_line(&b, "UNAUTHENTICATE", NULL);
	if (ss->user != NULL)
		cap_line(&b, "OWNER", ss->user);
	cap_line(&b, "VERSION", "1.0");
	sieved_write(ss, b.data, b.len);
	sbuf_free(&b);
}

void sieved_cmd_capability(struct sieved_session *ss, const struct sieved_command *cmd)
{
	(void)cmd;
	write_capabilities(ss);
	sieved_reply(ss, "OK", NULL, "Capability completed");
}

void sieved_cmd_noop(struct sieved_session *ss, const struct sieved_command *cmd)
{
	struct sbuf code = {0};

	if (cmd->count < 2) {
		sieved_reply(ss, "OK", NULL, "NOOP completed");
		return;
	}
	if (cmd->tokens[1].type != SIEVED_TOKEN_STRING) {
		sieved_reply(ss, "NO", NULL, "NOOP takes a string");
		return;
	}
	/* RFC 5804 2.15: the string comes back in a TAG response code */
	sbuf_append_str(&code, "TAG ");
	sieved_string_append(&code, cmd->tokens[1].data, cmd->tokens[1].len);
	sieved_reply(ss, "OK", code.data, "Done");
	sbuf_free(&code);
}

void sieved_cmd_logout(struct sieved_session *ss, const struct sieved_command *cmd)
{
	(void)cmd;
	sieved_reply(ss, "OK", NULL, "Logout completed");
	flush(ss);
	ss->quit = true;
}

void sieved_cmd_starttls(struct sieved_session *ss, const struct sieved_command *cmd)
{
	struct tls_ctx *ctx;
	const char *error = NULL;
	size_t discarded = 0;
	int rc;

	(void)cmd;
	if (ss->tls) {
		sieved_reply(ss, "NO", NULL, "TLS is already active");
		return;
	}
	if (ss->d->tls == NULL) {
		sieved_reply(ss, "NO", NULL, "TLS is not available");
		return;
	}
	sieved_reply(ss, "OK", NULL, "Begin TLS negotiation now");
	flush(ss);
	if (ss->quit)
		return;
	ctx = tls_holder_get(ss->d->tls);
	rc = iostream_starttls_server(ss->s, ctx, &discarded, &error);
	tls_ctx_unref(&ctx);
	if (rc < 0) {
		log_info("STARTTLS failed: %s", error);
		ss->quit = true;
		return;
	}
	if (discarded > 0)
		log_warn("STARTTLS: %zu bytes sent before the handshake were discarded", discarded);
	ss->tls = true;
	sieved_parser_reset(ss->parser);
	/* RFC 5804 2.2: the capabilities again, now over TLS */
	write_capabilities(ss);
	sieved_reply(ss, "OK", NULL, "TLS negotiation successful");
}

/* Read one command (or, during AUTHENTICATE, one client response). */
static enum read_result read_command(struct sieved_session *ss, const struct sieved_command **cmd_r)
{
	char buf[16384];

	for (;;) {
		uint64_t left = sieved_parser_literal_left(ss->parser);
		enum sieved_parse_status pst;
		enum iostream_status st;
		size_t used;

		if (left > 0) {
			size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);

			st = iostream_read_exact(ss->s, buf, n);
			if (st != IOSTREAM_OK) {
				log_info("reading a literal: %s", iostream_error(ss->s));
				return READ_CLOSED;
			}
			pst = sieved_parser_feed(ss->parser, buf, n, &used);
		} else {
			struct iostream_line line;

			st = iostream_read_line(ss->s, ss->d->set.max_line, &line);
			if (st == IOSTREAM_TOO_LONG) {
				sieved_parser_reset(ss->parser);
				return READ_TOO_LONG;
			}
			if (st == IOSTREAM_INTERRUPTED)
				return READ_STOP;
			if (st != IOSTREAM_OK) {
				if (st == IOSTREAM_TIMEOUT) {
					sieved_reply(ss, "BYE", NULL,
					             "Disconnected for inactivity");
					flush(ss);
				}
				log_info("connection ended: %s", iostream_status_name(st));
				return READ_CLOSED;
			}
			pst = sieved_parser_feed(ss->parser, line.data, line.len, &used);
			if (pst == SIEVED_PARSE_MORE)
				pst = sieved_parser_feed(ss->parser, "\r\n", 2, &used);
		}
		switch (pst) {
		case SIEVED_PARSE_MORE:
			continue;
		case SIEVED_PARSE_DONE:
			*cmd_r = sieved_parser_command(ss->parser);
			return READ_COMMAND;
		case SIEVED_PARSE_ERROR:
			return READ_SYNTAX;
		case SIEVED_PARSE_TOO_BIG:
			return READ_TOO_BIG;
		case SIEVED_PARSE_FATAL:
			sieved_reply(ss, "BYE", NULL, "Literal too large");
			flush(ss);
			log_info("ending the session: %s", sieved_parser_error(ss->parser));
			return READ_CLOSED;
		}
	}
}

static void count_error(struct sieved_session *ss)
{
	if (++ss->errors >= ss->d->set.max_errors) {
		sieved_reply(ss, "BYE", NULL, "Too many errors");
		flush(ss);
		log_info("too many errors: disconnecting");
		ss->quit = true;
	}
}

/* Send a SASL challenge: a string on its own line (RFC 5804 2.1). */
static void send_challenge(struct sieved_session *ss, const char *data, size_t len)
{
	struct sbuf b64 = {0};

	sasl_base64_encode(data, len, &b64);
	sbuf_reset(&ss->out);
	sieved_string_append(&ss->out, sbuf_str(&b64), b64.len);
	sbuf_append(&ss->out, "\r\n", 2);
	sieved_write(ss, ss->out.data, ss->out.len);
	flush(ss);
	sbuf_free(&b64);
}

/* A client's SASL response; -1 after replying (or when the session ended). */
static int read_response(struct sieved_session *ss, struct sbuf *decoded)
{
	const struct sieved_command *resp = NULL;
	enum read_result r = read_command(ss, &resp);

	if (r == READ_CLOSED || r == READ_STOP) {
		ss->quit = true;
		return -1;
	}
	if (r != READ_COMMAND || resp->count != 1 || resp->tokens[0].type != SIEVED_TOKEN_STRING) {
		sieved_reply(ss, "NO", NULL, "Invalid SASL response: a string was expected");
		return -1;
	}
	/* RFC 5804 2.1: "*" cancels the exchange and must be answered NO */
	if (resp->tokens[0].len == 1 && resp->tokens[0].data[0] == '*') {
		sieved_reply(ss, "NO", NULL, "Authentication canceled");
		return -1;
	}
	if (sasl_base64_decode(resp->tokens[0].data, resp->tokens[0].len, decoded) < 0) {
		sieved_reply(ss, "NO", NULL, "Invalid base64 in the SASL response");
		return -1;
	}
	return 0;
}

static void auth_failed(struct sieved_session *ss, const char *mech)
{
	char m[LOG_UNTRUSTED_BUFSZ];

	log_info("authentication failed: mechanism=%s rip=%s", log_untrusted(m, mech, strlen(mech)),
	         ss->conn->peer_ip);
	if (++ss->auth_failures >= ss->d->set.max_auth_failures) {
		sieved_reply(ss, "BYE", NULL, "Too many authentication failures");
		flush(ss);
		ss->quit = true;
		return;
	}
	sieved_reply(ss, "NO", NULL, "Authentication failed");
}

/* Authenticated as `login`: find the mailbox and enter the authenticated state. */
static void auth_done(struct sieved_session *ss, const char *login)
{
	char u[LOG_UNTRUSTED_BUFSZ];
	const char *error = NULL;
	enum sieve_store_status st;
	struct db_conn *c;
	int64_t id;

	if ((c = sieved_db(ss)) == NULL)
		return;
	st = sieve_store_mailbox(c, login, &id, &error);
	db_release(&c);
	log_untrusted(u, login, strlen(login));
	if (st == SIEVE_STORE_TEMPFAIL || st == SIEVE_STORE_ERROR) {
		sieved_reply_trylater(ss, "mailbox lookup", error);
		return;
	}
	if (st != SIEVE_STORE_OK) {
		log_info("login refused: user=<%s>: %s", u, error);
		sieved_reply(ss, "NO", NULL, "Authentication failed");
		return;
	}
	ss->user = xstrdup(login);
	ss->mailbox_id = id;
	ss->auth_failures = 0;
	log_info("login: user=<%s> rip=%s tls=%s", u, ss->conn->peer_ip, ss->tls ? "yes" : "no");
	sieved_reply(ss, "OK", NULL, "Logged in");
}

void sieved_cmd_authenticate(struct sieved_session *ss, const struct sieved_command *cmd)
{
	const struct sieved_token *mech = &cmd->tokens[1];
	struct sbuf in = {0};
	const char *out = NULL, *error = NULL;
	size_t out_len = 0;
	enum sasl_step step;
	char mechname[32];

	if (!auth_allowed(ss)) {
		/* RFC 5804 1.3: ENCRYPT-NEEDED: use STARTTLS first */
		sieved_reply(ss, "NO", "ENCRYPT-NEEDED",
		             "Authentication requires TLS: use STARTTLS first");
		return;
	}
	if (mech->len == 0 || mech->len >= sizeof(mechname) ||
	    memchr(mech->data, '\0', mech->len)) {
		sieved_reply(ss, "NO", NULL, "Unsupported SASL mechanism");
		return;
	}
	memcpy(mechname, mech->data, mech->len + 1);
	if (cmd->count > 2) {
		if (cmd->tokens[2].type != SIEVED_TOKEN_STRING ||
		    sasl_base64_decode(cmd->tokens[2].data, cmd->tokens[2].len, &in) < 0) {
			sieved_reply(ss, "NO", NULL, "Invalid base64 in the initial response");
			sbuf_free(&in);
			return;
		}
		sbuf_append(&in, "", 0); /* an empty initial response is "" and not none */
	}
	step = sasl_session_start(ss->sasl, mechname, cmd->count > 2 ? in.data : NULL, in.len, &out,
	                          &out_len);
	while (step == SASL_STEP_CONTINUE) {
		send_challenge(ss, out != NULL ? out : "", out_len);
		if (in.data != NULL)
			memset(in.data, 0, in.cap); /* it may hold a password */
		sbuf_reset(&in);
		if (read_response(ss, &in) < 0)
			goto end;
		step = sasl_session_step(ss->sasl, in.data != NULL ? in.data : "", in.len, &out,
		                         &out_len);
	}
	switch (step) {
	case SASL_STEP_OK:
		auth_done(ss, sasl_session_user(ss->sasl));
		break;
	case SASL_STEP_NOMECH:
		sieved_reply(ss, "NO", NULL, "Unsupported SASL mechanism");
		break;
	case SASL_STEP_TEMPFAIL:
		sieved_reply(ss, "NO", "TRYLATER",
		             "Authentication is unavailable, try again later");
		break;
	default:
		auth_failed(ss, mechname);
		break;
	}
end:
	if (in.data != NULL)
		memset(in.data, 0, in.cap);
	sbuf_free(&in);
	if (ss->user == NULL && sasl_session_reset(ss->sasl, &error) < 0) {
		log_error("SASL: %s", error);
		ss->quit = true;
	}
}

void sieved_cmd_unauthenticate(struct sieved_session *ss, const struct sieved_command *cmd)
{
	const char *error = NULL;

	(void)cmd;
	/* RFC 5804 2.14: back to the non-authenticated state */
	free(ss->user);
	ss->user = NULL;
	ss->mailbox_id = 0;
	if (sasl_session_reset(ss->sasl, &error) < 0) {
		log_error("SASL: %s", error);
		ss->quit = true;
		return;
	}
	sieved_reply(ss, "OK", NULL, "Unauthenticate completed");
}

static const struct sieved_cmd *find_command(const struct sieved_token *name)
{
	if (name->type != SIEVED_TOKEN_ATOM)
		return NULL;
	for (const struct sieved_cmd *c = sieved_commands; c->name != NULL; c++) {
		if (sieved_token_is(name, c->name))
			return c;
	}
	return NULL;
}

static void dispatch(struct sieved_session *ss, const struct sieved_command *cmd)
{
	const struct sieved_cmd *c = find_command(&cmd->tokens[0]);
	size_t nargs = cmd->count - 1;
	char name[LOG_UNTRUSTED_BUFSZ];

	if (c == NULL) {
		log_debug("unknown command %s",
		          log_untrusted(name, cmd->tokens[0].data, cmd->tokens[0].len));
		sieved_reply(ss, "NO", NULL, "Unknown command");
		count_error(ss);
		return;
	}
	log_debug("command %s", c->name);
	if ((c->flags & SIEVED_CMD_AUTH) && ss->user == NULL) {
		sieved_reply(ss, "NO", NULL, "Authenticate first");
		count_error(ss);
		return;
	}
	if ((c->flags & SIEVED_CMD_NOAUTH) && ss->user != NULL) {
		sieved_reply(ss, "NO", NULL, "Already authenticated");
		count_error(ss);
		return;
	}
	if (nargs < c->min_args || nargs > c->max_args) {
		sieved_reply(ss, "NO", NULL, "Wrong number of arguments");
		count_error(ss);
		return;
	}
	c->run(ss, cmd);
}

void sieved_session_run(struct server_conn *conn)
{
	struct sieved *d = conn->context;
	struct sieved_parser_limits limits = {
	    .max_line = d->set.max_line,
	    .max_literal = d->set.max_script_size,
	    /* a too large upload is read and dropped up to this, then the session ends */
	    .max_discard = (uint64_t)d->set.max_script_size * 4 + 1024 * 1024,
	    .max_tokens = 8,
	};
	struct sasl_session_settings sasl_set = {
	    .service = "sieve",
	    .auth_socket = d->set.auth_socket,
	    .auth_timeout_ms = d->set.auth_timeout_ms,
	    .client_ip = conn->is_unix ? NULL : conn->peer_ip,
	};
	struct sieved_session ss = {.d = d, .conn = conn, .s = conn->stream};
	const char *error = NULL;

	ss.tls = iostream_is_tls(conn->stream);
	if (d->set.session_timeout_ms > 0)
		iostream_set_deadline(conn->stream, conn->start_ms + d->set.session_timeout_ms);
	if (sasl_session_create(&sasl_set, &ss.sasl, &error) < 0) {
		log_error("SASL: %s", error);
		sieved_reply(&ss, "BYE", "TRYLATER", "Temporarily unavailable");
		flush(&ss);
		return;
	}
	ss.parser = sieved_parser_create(&limits);
	write_capabilities(&ss);
	sieved_reply(&ss, "OK", NULL, "Sluice ManageSieve ready");
	flush(&ss);
	while (!ss.quit) {
		const struct sieved_command *cmd = NULL;
		enum read_result r;

		if (server_stopping(d->server)) {
			sieved_reply(&ss, "BYE", NULL, "Server shutting down");
			flush(&ss);
			break;
		}
		r = read_command(&ss, &cmd);
		switch (r) {
		case READ_COMMAND:
			dispatch(&ss, cmd);
			break;
		case READ_SYNTAX:
			sieved_reply(&ss, "NO", NULL,
			             errorf("Syntax error: %s", sieved_parser_error(ss.parser)));
			count_error(&ss);
			break;
		case READ_TOO_BIG:
			sieved_reply(&ss, "NO", "QUOTA/MAXSIZE", "Script too large");
			break;
		case READ_TOO_LONG:
			sieved_reply(&ss, "NO", NULL, "Line too long");
			count_error(&ss);
			break;
		case READ_STOP:
			sieved_reply(&ss, "BYE", NULL, "Server shutting down");
			flush(&ss);
			ss.quit = true;
			break;
		case READ_CLOSED:
			ss.quit = true;
			break;
		}
		flush(&ss);
	}
	if (ss.user != NULL) {
		char u[LOG_UNTRUSTED_BUFSZ];
		log_info("logout: user=<%s>", log_untrusted(u, ss.user, strlen(ss.user)));
	}
	free(ss.user);
	sasl_session_destroy(&ss.sasl);
	sieved_parser_destroy(&ss.parser);
	sbuf_free(&ss.out);
}
