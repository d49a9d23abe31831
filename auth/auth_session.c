/*
 * auth_session.c: the dialogue on one sluice-authd connection, in its own
 * thread (see auth_session.h and docs/auth-protocol.md).
 *
 * Trust: the peer is a local daemon (smtpd, imapd, sieved) relaying what an
 * untrusted end user typed, so every line goes through the bounded reader and
 * the strict parser; a malformed line gets ERROR and the connection ends. The
 * penalty delay is served here, in this connection's thread, before the
 * credentials are checked, so it never blocks other clients; a shutdown cuts
 * it short with TEMPFAIL. Log lines are made for fail2ban: the user and
 * service are escaped so that they cannot forge a `rip=` field, and neither
 * the password nor any hash is ever logged.
 */
#include "auth_session.h"

#include "addr.h"
#include "auth_penalty.h"
#include "auth_protocol.h"
#include "auth_verify.h"
#include "iostream.h"
#include "log.h"
#include "server.h"
#include "util.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

/*
 * Untrusted text for a `key=<...>` or `key=...` log field: log_untrusted()
 * and then space, `<`, `>` and `=` as \xHH too, so one field cannot pose as
 * another. out has LOG_UNTRUSTED_BUFSZ bytes; only single bytes of
 * log_untrusted()'s output are expanded, and it leaves room for that.
 */
static const char *log_field(char *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char tmp[LOG_UNTRUSTED_BUFSZ];
	size_t o = 0;

	log_untrusted(tmp, s, len);
	for (const char *p = tmp; *p != '\0' && o + 5 < LOG_UNTRUSTED_BUFSZ; p++) {
		if (*p == ' ' || *p == '<' || *p == '>' || *p == '=') {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[(unsigned char)*p >> 4];
			out[o++] = hex[*p & 15];
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return out;
}

static void log_answer(const struct auth_request *req, const char *what, const char *reason)
{
	char service[LOG_UNTRUSTED_BUFSZ], user[LOG_UNTRUSTED_BUFSZ];
	const char *rip = req->client_ip[0] != '\0' ? req->client_ip : "-";

	log_field(service, req->service, strlen(req->service));
	log_field(user, req->user, req->user_len);
	if (reason == NULL)
		log_info("auth %s: service=%s user=<%s> rip=%s", what, service, user, rip);
	else if (strcmp(what, "tempfail") == 0)
		log_warn("auth %s: service=%s user=<%s> rip=%s reason=%s", what, service, user, rip,
		         reason);
	else
		log_info("auth %s: service=%s user=<%s> rip=%s reason=%s", what, service, user, rip,
		         reason);
}

/* Wait until the monotonic time `until`; 0 on time, -1 when the server stops first. */
static int penalty_wait(struct authd *authd, int64_t until)
{
	struct pollfd pfd = {.fd = server_stop_fd(authd->server), .events = POLLIN};
	int64_t now;

	while ((now = monotonic_ms()) < until) {
		int64_t left = until - now;

		if (server_stopping(authd->server))
			return -1;
		if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) > 0)
			return -1;
	}
	return 0;
}

/* Answer one parsed request into out. */
static void handle_request(struct authd *authd, const struct auth_request *req, struct sbuf *out)
{
	struct mail_address addr;
	char key[ADDR_BUFSZ];
	const char *error, *reason = NULL;
	char *canonical = NULL;
	enum auth_verify_result result;
	int valid_name;

	/* The penalty key: the lookup form of the name, or the text itself. */
	valid_name =
	    addr_parse_mailbox(req->user, req->user_len, ADDR_SMTPUTF8, &addr, &error) == 0 &&
	    addr.domain[0] != '\0' &&
	    addr_lookup_key(addr.local, strlen(addr.local), addr.domain, key, &error) == 0;
	if (!valid_name) {
		size_t n = req->user_len < sizeof(key) - 1 ? req->user_len : sizeof(key) - 1;
		memcpy(key, req->user, n);
		key[n] = '\0';
		ascii_lower(key);
	}

	int64_t not_before =
	    auth_penalty_not_before(authd->penalty, req->client_ip, key, monotonic_ms());
	if (not_before > 0 && penalty_wait(authd, not_before) < 0) {
		auth_answer_tempfail(out, req->id, "shutting down");
		log_answer(req, "tempfail", "shutting down");
		return;
	}

	if (!valid_name) {
		result = AUTH_VERIFY_FAIL;
		reason = "invalid user name";
	} else {
		result = auth_verify_login(authd->verify, &addr, req->password, req->password_len,
		                           &canonical, &reason);
	}
	switch (result) {
	case AUTH_VERIFY_OK:
		auth_penalty_success(authd->penalty, req->client_ip, key);
		auth_answer_ok(out, req->id, canonical);
		log_answer(req, "ok", NULL);
		break;
	case AUTH_VERIFY_FAIL:
		auth_penalty_failure(authd->penalty, req->client_ip, key, req->password,
		                     req->password_len, monotonic_ms());
		auth_answer_fail(out, req->id);
		log_answer(req, "failed", reason);
		break;
	case AUTH_VERIFY_TEMPFAIL:
		auth_answer_tempfail(out, req->id, reason);
		log_answer(req, "tempfail", reason);
		break;
	}
	free(canonical);
}

/* Send ERROR, log why, and let the caller close. */
static void protocol_error(struct server_conn *conn, const char *reason)
{
	struct sbuf out = {0};

	log_warn("protocol error from pid %ld: %s", (long)conn->peer_pid, reason);
	auth_answer_error(&out, reason);
	if (iostream_write(conn->stream, out.data, out.len) == IOSTREAM_OK)
		(void)iostream_flush(conn->stream);
	sbuf_free(&out);
}

void auth_session_run(struct server_conn *conn)
{
	struct authd *authd = conn->context;
	struct iostream *s = conn->stream;
	struct iostream_line line;
	enum iostream_status st;
	struct sbuf out = {0};

	/* fail2ban reads these lines: keep them exactly as documented. */
	log_set_session(NULL);
	if (iostream_write_str(s, AUTH_VERSION_LINE) != IOSTREAM_OK ||
	    iostream_flush(s) != IOSTREAM_OK)
		return;
	while (!server_stopping(authd->server)) {
		struct auth_request req;
		const char *error;

		/* AUTH_LINE_MAX counts the LF. */
		st = iostream_read_line(s, AUTH_LINE_MAX - 1, &line);
		if (st == IOSTREAM_TOO_LONG) {
			protocol_error(conn, "line too long");
			break;
		}
		if (st == IOSTREAM_EOF && line.len > 0) {
			log_warn("client from pid %ld closed inside a line", (long)conn->peer_pid);
			break;
		}
		if (st == IOSTREAM_TIMEOUT)
			log_debug("client idle too long: %s", iostream_error(s));
		if (st == IOSTREAM_ERROR)
			log_warn("reading a request: %s", iostream_error(s));
		if (st != IOSTREAM_OK)
			break;
		if (line.eol == IOSTREAM_EOL_CRLF) {
			protocol_error(conn, "unescaped CR");
			break;
		}
		if (auth_request_parse(line.data, line.len, &req, &error) < 0) {
			protocol_error(conn, error);
			break;
		}
		sbuf_reset(&out);
		handle_request(authd, &req, &out);
		auth_request_clear(&req);
		if (iostream_write(s, out.data, out.len) != IOSTREAM_OK ||
		    iostream_flush(s) != IOSTREAM_OK) {
			log_warn("sending an answer: %s", iostream_error(s));
			break;
		}
	}
	sbuf_free(&out);
}
