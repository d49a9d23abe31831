/*
 * smtp_session.c: one SMTP connection of sluice-smtpd, in its own thread:
 * who the client is (address, confirmed reverse name, trust), the greeting,
 * the command loop with its limits (line length, idle and total deadlines,
 * errors, shutdown), replies and their flushing for PIPELINING (RFC 2920:
 * replies are sent when no further command is waiting), and the
 * transaction's final recipients.
 *
 * Trust: every line is untrusted; it passes the bounded line reader and then
 * smtp_commands.c. Access decisions are not made here but in smtp_policy.c.
 * Owns the session struct and everything hanging off it; shares only the
 * daemon's settings snapshot (by reference) and pool.
 */
#include "smtp_session.h"

#include "iostream.h"
#include "log.h"
#include "server.h"
#include "smtp_commands.h"
#include "smtp_config.h"
#include "smtp_policy.h"
#include "smtp_sasl.h"
#include "util.h"

#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

void smtp_reply(struct smtp_session *sess, const char *line)
{
	if (sess->dead)
		return;
	(void)iostream_write_str(sess->s, line);
	(void)iostream_write(sess->s, "\r\n", 2);
}

void smtp_replyf(struct smtp_session *sess, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	smtp_reply(sess, buf);
}

bool smtp_flush(struct smtp_session *sess)
{
	return !sess->dead && iostream_flush(sess->s) == IOSTREAM_OK;
}

const char *smtp_client_text(const struct smtp_session *sess, char *buf, size_t size)
{
	snprintf(buf, size, "%s[%s]", sess->client_name, sess->client_ip);
	return buf;
}

void smtp_count_error(struct smtp_session *sess)
{
	char client[SMTP_CLIENT_BUFSZ];

	if (++sess->errors < sess->set->max_errors)
		return;
	log_info("too many errors from %s", smtp_client_text(sess, client, sizeof(client)));
	smtp_replyf(sess, "421 4.7.0 %s Error: too many errors", sess->set->hostname);
	sess->quit = true;
}

void smtp_dest_add(struct smtp_session *sess, const char *address, const char *given,
                   const char *orcpt, unsigned int notify, bool local)
{
	struct smtp_dest *d;

	/* Postfix's cleanup removes duplicates the same way: the first one counts. */
	for (size_t i = 0; i < sess->dest_count; i++) {
		if (strcasecmp(sess->dests[i].address, address) == 0)
			return;
	}
	if (sess->dest_count == sess->dest_cap) {
		sess->dest_cap = sess->dest_cap == 0 ? 8 : sess->dest_cap * 2;
		sess->dests = xrealloc(sess->dests, sess->dest_cap * sizeof(*sess->dests));
	}
	d = &sess->dests[sess->dest_count++];
	d->address = xstrdup(address);
	d->given = xstrdup(given);
	d->orcpt = orcpt != NULL ? xstrdup(orcpt) : NULL;
	d->notify = notify;
	d->local = local;
}

void smtp_transaction_reset(struct smtp_session *sess)
{
	for (size_t i = 0; i < sess->dest_count; i++) {
		free(sess->dests[i].address);
		free(sess->dests[i].given);
		free(sess->dests[i].orcpt);
	}
	free(sess->dests);
	sess->dests = NULL;
	sess->dest_count = sess->dest_cap = 0;
	if (sess->writer != NULL) {
		queue_writer_abort(&sess->writer);
		log_set_queue_id(NULL);
	}
	sess->in_mail = false;
	memset(&sess->sender, 0, sizeof(sess->sender));
	memset(&sess->mail, 0, sizeof(sess->mail));
	sess->rcpt_count = 0;
	sess->bdat_started = sess->bdat_failed = sess->bdat_cr = false;
	sess->bdat_reply = NULL;
}

/* The client's name from reverse DNS, kept only when it maps back to the address. */
static void reverse_lookup(struct smtp_session *sess)
{
	const struct server_conn *conn = sess->conn;
	char name[NI_MAXHOST];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	bool confirmed = false;

	snprintf(sess->client_name, sizeof(sess->client_name), "unknown");
	if (getnameinfo((const struct sockaddr *)&conn->peer_addr, conn->peer_addr_len, name,
	                sizeof(name), NULL, 0, NI_NAMEREQD) != 0)
		return;
	hints.ai_family = conn->peer_addr.ss_family;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return;
	for (ai = res; ai != NULL && !confirmed; ai = ai->ai_next) {
		char ip[NI_MAXHOST];

		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof(ip), NULL, 0,
		                NI_NUMERICHOST) == 0 &&
		    strcmp(ip, conn->peer_ip) == 0)
			confirmed = true;
	}
	freeaddrinfo(res);
	if (!confirmed)
		return;
	/* Only host name characters: the name goes into logs and Received. */
	for (const char *p = name; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return;
	}
	if (strlen(name) < sizeof(sess->client_name))
		memcpy(sess->client_name, name, strlen(name) + 1);
}

static enum smtp_service service_of(const struct server_conn *conn)
{
	const char *name = conn->listener->name;

	if (strcmp(name, "submission") == 0)
		return SMTP_SERVICE_SUBMISSION;
	if (strcmp(name, "submissions") == 0)
		return SMTP_SERVICE_SUBMISSIONS;
	if (strcmp(name, "inject") == 0)
		return SMTP_SERVICE_INJECT;
	return SMTP_SERVICE_MX;
}

/* Whether the session may go on after a read that did not return a line. */
static void read_failed(struct smtp_session *sess, enum iostream_status st, const char *after)
{
	char client[SMTP_CLIENT_BUFSZ];

	smtp_client_text(sess, client, sizeof(client));
	switch (st) {
	case IOSTREAM_TIMEOUT:
		log_info("timeout after %s from %s", after, client);
		smtp_replyf(sess, "421 4.4.2 %s Error: timeout exceeded", sess->set->hostname);
		break;
	case IOSTREAM_INTERRUPTED:
		smtp_replyf(sess, "421 4.3.2 %s Service shutting down", sess->set->hostname);
		break;
	case IOSTREAM_EOF:
	case IOSTREAM_ERROR:
	default:
		log_info("lost connection after %s from %s", after, client);
		break;
	}
	sess->quit = true;
}

static void session_loop(struct smtp_session *sess)
{
	struct iostream_line line;
	enum iostream_status st;
	char client[SMTP_CLIENT_BUFSZ];

	while (!sess->quit) {
		if (server_stopping(sess->d->srv)) {
			smtp_replyf(sess, "421 4.3.2 %s Service shutting down",
			            sess->set->hostname);
			break;
		}
		/* RFC 2920 3.2: replies go out when no further command is waiting. */
		if (iostream_pending(sess->s) == 0 && !smtp_flush(sess))
			break;
		st = iostream_read_line(sess->s, SMTP_AUTH_LINE_MAX, &line);
		if (st == IOSTREAM_TOO_LONG) {
			smtp_reply(sess, "500 5.5.2 Line too long");
			smtp_count_error(sess);
			continue;
		}
		if (st != IOSTREAM_OK) {
			read_failed(sess, st, smtp_commands_last(sess));
			break;
		}
		if (line.eol == IOSTREAM_EOL_LF &&
		    sess->set->bare_newline == SMTP_BARE_NEWLINE_REJECT && !sess->trusted) {
			/* Postfix's smtpd_forbid_bare_newline = yes: the client's line
			 * ends cannot be trusted to frame anything that follows. */
			log_info("bare <LF> received from %s",
			         smtp_client_text(sess, client, sizeof(client)));
			smtp_reply(sess, "521 5.5.2 Error: bare <LF> received");
			break;
		}
		smtp_command_run(sess, line.data, line.len);
	}
	(void)smtp_flush(sess);
}

void smtp_session_run(struct server_conn *conn)
{
	struct smtpd *d = conn->context;
	struct smtp_session sess = {0};
	char client[SMTP_CLIENT_BUFSZ];

	sess.d = d;
	sess.conn = conn;
	sess.s = conn->stream;
	sess.conf = smtpd_conf_get(d);
	sess.set = &sess.conf->set;
	sess.service = service_of(conn);
	iostream_set_timeouts(sess.s, sess.set->timeout_ms, sess.set->timeout_ms);
	iostream_set_deadline(sess.s, conn->start_ms + sess.set->session_timeout_ms);
	snprintf(sess.client_name, sizeof(sess.client_name), "unknown");
	if (conn->is_unix) {
		/* The injection socket: its mode and group decide who may write. */
		snprintf(sess.client_ip, sizeof(sess.client_ip), "local");
		snprintf(sess.client_name, sizeof(sess.client_name), "localhost");
		sess.trusted = true;
	} else {
		snprintf(sess.client_ip, sizeof(sess.client_ip), "%s", conn->peer_ip);
		sess.trusted = smtp_networks_match(sess.conf->trusted, &conn->peer_addr);
		/* The rate first: a flood costs no DNS lookups. */
		if (!sess.trusted &&
		    !smtp_ratelimit_allow(d->rate, &conn->peer_addr, sess.set->connection_rate,
		                          monotonic_ms())) {
			log_info("refused %s: over %u connections a minute", sess.client_ip,
			         sess.set->connection_rate);
			smtp_replyf(&sess, "421 4.7.0 %s Error: too many connections from %s",
			            sess.set->hostname, sess.client_ip);
			(void)smtp_flush(&sess);
			smtpd_conf_unref(d, &sess.conf);
			return;
		}
		if (sess.set->reverse_dns)
			reverse_lookup(&sess);
	}
	log_info("connect from %s", smtp_client_text(&sess, client, sizeof(client)));
	/* RFC 5321 4.2: the greeting; RFC 2034 exempts it from enhanced codes. */
	smtp_replyf(&sess, "220 %s ESMTP Sluice", sess.set->hostname);
	session_loop(&sess);
	(void)smtp_flush(&sess);
	smtp_commands_log_disconnect(&sess);

	smtp_transaction_reset(&sess);
	smtp_sasl_free(&sess.sasl);
	free(sess.auth_user);
	smtpd_conf_unref(d, &sess.conf);
}
