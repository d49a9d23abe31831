/*
 * smtp_message.c: sluice-smtpd's side of the queue (see smtp_message.h).
 *
 * The queue file gets the envelope, the transaction's final recipients
 * (aliases already expanded at RCPT time, each with the address the client
 * gave), then a Received: field (RFC 5321 4.4) naming the client, the TLS
 * version and cipher, the authenticated user only when
 * smtpd_received_auth_user says so, and the queue id. The client hears 250
 * only after queue_writer_commit() made the file durable. Logs follow
 * Postfix's shape so one grep on the queue id follows a message through
 * smtpd, qmgr and lmtpd: "ID: client=...", "ID: message-id=<...>",
 * "ID: from=<...>, size=N, nrcpt=N (queued)".
 */
#include "smtp_message.h"

#include "iostream.h"
#include "log.h"
#include "smtp_session.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *origin_name(const struct smtp_session *sess)
{
	switch (sess->service) {
	case SMTP_SERVICE_SUBMISSION:
	case SMTP_SERVICE_SUBMISSIONS:
		return "submission";
	case SMTP_SERVICE_INJECT:
		return "inject";
	case SMTP_SERVICE_MX:
		break;
	}
	return "smtpd";
}

/* RFC 3848 and RFC 6531 3.7.3: the "with" protocol name. */
static const char *with_protocol(const struct smtp_session *sess)
{
	bool tls = iostream_is_tls(sess->s), auth = sess->auth_user != NULL;
	static const char *const names[2][2][2] = {
	    {{"ESMTP", "ESMTPA"}, {"ESMTPS", "ESMTPSA"}},
	    {{"UTF8SMTP", "UTF8SMTPA"}, {"UTF8SMTPS", "UTF8SMTPSA"}},
	};

	if (!sess->esmtp)
		return "SMTP";
	return names[sess->mail.smtputf8 ? 1 : 0][tls ? 1 : 0][auth ? 1 : 0];
}

const char *smtp_message_failure_reply(int err, const char *error)
{
	if (err == ENOSPC || err == EDQUOT || strstr(error, strerror(ENOSPC)) != NULL ||
	    strstr(error, strerror(EDQUOT)) != NULL)
		return "452 4.3.1 Insufficient system storage";
	return "451 4.3.0 Error: queue file write error";
}

static void received_field(struct smtp_session *sess, struct sbuf *b)
{
	struct iostream_tls_info tls;
	char date[64];
	struct tm tm;
	time_t now = time(NULL);

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	sbuf_appendf(b, "Received: from %s (%s [%s])\r\n",
	             sess->helo[0] != '\0' ? sess->helo : "unknown", sess->client_name,
	             sess->client_ip);
	if (iostream_tls_info(sess->s, &tls) == 0)
		sbuf_appendf(b, "\t(using %s with cipher %s (%d/%d bits))\r\n", tls.version,
		             tls.cipher, tls.cipher_bits, tls.cipher_alg_bits);
	if (sess->auth_user != NULL && sess->set->received_auth_user)
		sbuf_appendf(b, "\t(Authenticated sender: %s)\r\n", sess->auth_user);
	sbuf_appendf(b, "\tby %s (Sluice) with %s id %s", sess->set->hostname, with_protocol(sess),
	             queue_writer_id(sess->writer));
	/* One recipient only: more would tell each one about the others. */
	if (sess->rcpt_count == 1 && sess->dest_count > 0)
		sbuf_appendf(b, "\r\n\tfor <%s>", sess->dests[0].given);
	sbuf_appendf(b, "; %s\r\n", date);
}

int smtp_message_begin(struct smtp_session *sess)
{
	char sender[ADDR_BUFSZ], client[SMTP_CLIENT_BUFSZ], user[LOG_UNTRUSTED_BUFSZ];
	const char *error;
	struct sbuf b = {0};
	int err;

	addr_format(&sess->sender, sender);
	struct queue_envelope env = {
	    .sender = sender,
	    .envid = sess->mail.envid_given ? sess->mail.envid : NULL,
	    .ret = sess->mail.ret,
	    .body = sess->mail.body,
	    .smtputf8 = sess->mail.smtputf8,
	    .auth_user = sess->auth_user,
	    .client_ip = sess->client_ip,
	    .client_helo = sess->helo[0] != '\0' ? sess->helo : NULL,
	    .origin = origin_name(sess),
	};
	if (queue_writer_begin(sess->set->queue_dir, &env, &sess->writer, &error) < 0) {
		err = errno;
		log_warn("queue: %s", error);
		smtp_reply(sess, smtp_message_failure_reply(err, error));
		return -1;
	}
	for (size_t i = 0; i < sess->dest_count; i++) {
		const struct smtp_dest *d = &sess->dests[i];
		struct queue_recipient r = {
		    .address = d->address,
		    .orig_rcpt = d->orcpt,
		    .given = strcmp(d->given, d->address) != 0 ? d->given : NULL,
		    .notify = d->notify,
		    .local = d->local,
		};

		if (queue_writer_add_recipient(sess->writer, &r, &error) < 0)
			goto failed;
	}
	log_set_queue_id(queue_writer_id(sess->writer));
	smtp_client_text(sess, client, sizeof(client));
	if (sess->auth_user != NULL)
		log_info("client=%s, sasl_username=%s", client,
		         log_untrusted(user, sess->auth_user, strlen(sess->auth_user)));
	else
		log_info("client=%s", client);
	received_field(sess, &b);
	if (queue_writer_write(sess->writer, b.data, b.len, &error) < 0) {
		sbuf_free(&b);
		goto failed;
	}
	sbuf_free(&b);
	return 0;
failed:
	err = errno;
	log_warn("queue: %s", error);
	queue_writer_abort(&sess->writer);
	log_set_queue_id(NULL);
	smtp_reply(sess, smtp_message_failure_reply(err, error));
	return -1;
}

int smtp_message_write(struct smtp_session *sess, const void *data, size_t len,
                       const char **reply_r)
{
	const char *error;
	int err;

	if (queue_writer_write(sess->writer, data, len, &error) == 0)
		return 0;
	err = errno;
	log_warn("queue: %s", error);
	*reply_r = smtp_message_failure_reply(err, error);
	return -1;
}

void smtp_message_commit(struct smtp_session *sess, const char *message_id)
{
	char id[QUEUE_ID_BUFSZ], sender[ADDR_BUFSZ], esc[LOG_UNTRUSTED_BUFSZ];
	uint64_t size = queue_writer_size(sess->writer);
	const char *error;
	int err;

	snprintf(id, sizeof(id), "%s", queue_writer_id(sess->writer));
	if (message_id != NULL && message_id[0] != '\0')
		log_info("message-id=%s", log_untrusted(esc, message_id, strlen(message_id)));
	if (queue_writer_commit(&sess->writer, &error) < 0) {
		err = errno;
		log_warn("queue: %s: not acknowledged", error);
		smtp_reply(sess, smtp_message_failure_reply(err, error));
		log_set_queue_id(NULL);
		return;
	}
	addr_format(&sess->sender, sender);
	log_info("from=<%s>, size=%llu, nrcpt=%zu (queued)",
	         log_untrusted(esc, sender, strlen(sender)), (unsigned long long)size,
	         sess->dest_count);
	log_set_queue_id(NULL);
	smtp_replyf(sess, "250 2.0.0 Ok: queued as %s", id);
}
