/*
 * smtp_session.h: the state sluice-smtpd's files share: the process-wide
 * daemon (struct smtpd, read-only once running but for the parts that lock),
 * a settings snapshot (struct smtpd_conf, swapped whole on SIGHUP), and one
 * connection's session (struct smtp_session, owned by its thread).
 *
 * The session's dialogue is smtp_session.c, the verbs smtp_commands.c,
 * DATA/BDAT smtp_data.c, queueing and the Received field smtp_message.c,
 * AUTH smtp_sasl.c, and every access decision smtp_policy.c.
 */
#ifndef SLUICE_SMTP_SESSION_H
#define SLUICE_SMTP_SESSION_H

#include "addr.h"
#include "queue_file.h"
#include "recipient.h"
#include "smtp_parser.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct db_pool;
struct iostream;
struct server;
struct server_conn;
struct smtp_networks;
struct smtp_ratelimit;
struct sasl_session;
struct tls_holder;

/* RFC 5321 4.5.3.1.4: a command line is 512 octets with its CRLF. */
#define SMTP_COMMAND_MAX 510
/* MAIL and RCPT may grow by their parameters (RFC 1870 3, RFC 3461 5, RFC 4954 5). */
#define SMTP_PARAM_COMMAND_MAX 2046
/* RFC 4954 4: AUTH lines, initial responses included, of 12288 octets. */
#define SMTP_AUTH_LINE_MAX 12286
/* Room for the counters of the command table (smtp_commands.c). */
#define SMTP_COMMAND_KINDS 16
/* The longest helo name kept; longer ones are cut (for logs and Received). */
#define SMTP_HELO_MAX 255

/* Room for smtp_client_text(): "name[ip]". */
#define SMTP_CLIENT_BUFSZ (256 + 64 + 3)

/* What a listener is for. */
enum smtp_service {
	SMTP_SERVICE_MX,          /* port 25: inbound mail, STARTTLS offered, no AUTH */
	SMTP_SERVICE_SUBMISSION,  /* port 587: AUTH required, after STARTTLS */
	SMTP_SERVICE_SUBMISSIONS, /* port 465: implicit TLS, AUTH required */
	SMTP_SERVICE_INJECT,      /* local UNIX socket for trusted programs */
};

enum smtp_bare_newline {
	SMTP_BARE_NEWLINE_REJECT,    /* bare LF: 521 and disconnect; bare CR: 554 */
	SMTP_BARE_NEWLINE_NORMALIZE, /* taken as CRLF; the end of data still needs CRLF.CRLF */
};

/* The values every session reads, from sluice.conf. */
struct smtpd_settings {
	char hostname[256];
	uint64_t max_message_size;
	unsigned int max_recipients;
	unsigned int max_errors;
	unsigned int max_junk;
	unsigned int max_auth_failures;
	int timeout_ms;
	int64_t session_timeout_ms;
	enum smtp_bare_newline bare_newline;
	bool received_auth_user;
	bool auth_plaintext_trusted;
	bool sender_login_check;
	bool reverse_dns;
	const char *postmaster; /* where <Postmaster> goes: "postmaster@host" */
	const char *queue_dir;
	uint64_t queue_min_free;
	const char *auth_socket;
	int64_t auth_timeout_ms;
	unsigned int connection_rate; /* per client IP and minute, 0: no limit */
};

/* A settings snapshot; sessions hold a reference for their lifetime. */
struct smtpd_conf {
	unsigned int refs; /* under smtpd.lock */
	struct config *cfg;
	struct smtpd_settings set;
	struct recipient_settings rset;
	struct smtp_networks *trusted;
	char *postmaster_buf;
};

/* The daemon. */
struct smtpd {
	pthread_mutex_t lock; /* guards conf's swap and reference counts */
	struct smtpd_conf *conf;
	struct db_pool *pool;
	struct tls_holder *tls; /* NULL without a certificate: no STARTTLS */
	struct smtp_ratelimit *rate;
	struct server *srv;
	const char *conf_path;
};

/* A final recipient of the current transaction, as it will be queued. */
struct smtp_dest {
	char *address;
	char *given; /* the RCPT address that led here */
	char *orcpt; /* NULL when the client gave none */
	unsigned int notify;
	bool local;
};

struct smtp_session {
	struct smtpd *d;
	struct smtpd_conf *conf; /* the snapshot taken at connect */
	const struct smtpd_settings *set;
	struct server_conn *conn;
	struct iostream *s;
	enum smtp_service service;

	char client_name[256]; /* reverse DNS (confirmed), or "unknown" */
	char client_ip[64];    /* "192.0.2.1", or "local" on the injection socket */
	bool trusted;          /* trusted_networks, or the injection socket */
	char helo[SMTP_HELO_MAX + 1];
	bool helo_seen, esmtp;
	char *auth_user;           /* the canonical login after AUTH, or NULL */
	struct sasl_session *sasl; /* from the first AUTH on */

	unsigned int errors, junk, auth_failures;
	bool quit; /* end the session after this command */
	bool dead; /* the stream failed (a TLS handshake): nothing more may be sent */
	/* For the disconnect line: commands by table index, unknown ones, the last one. */
	unsigned int counts[SMTP_COMMAND_KINDS];
	unsigned int unknown_count;
	const char *last_verb;

	/* The transaction (MAIL to end of data or RSET). */
	bool in_mail;
	struct mail_address sender;
	struct smtp_mail_params mail;
	unsigned int rcpt_count; /* RCPT commands accepted */
	struct smtp_dest *dests;
	size_t dest_count, dest_cap;
	/* BDAT: the message being written, and whether a chunk failed. */
	struct queue_writer *writer;
	bool bdat_started, bdat_failed;
	const char *bdat_reply; /* the reply for the LAST chunk after a failure */
	bool bdat_cr;           /* the last chunk ended with a CR (normalizing) */
};

/* Send one reply line ("250 2.0.0 Ok"); queued until the session flushes. */
void smtp_reply(struct smtp_session *sess, const char *line);
void smtp_replyf(struct smtp_session *sess, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Flush replies now (before a long wait, STARTTLS, or closing). */
bool smtp_flush(struct smtp_session *sess);
/* Count a client error; at the limit, say 421 and end the session. */
void smtp_count_error(struct smtp_session *sess);
/* Forget the transaction (RSET, end of data, a new EHLO). */
void smtp_transaction_reset(struct smtp_session *sess);
/* Add a final recipient unless it is already there (ignoring case). */
void smtp_dest_add(struct smtp_session *sess, const char *address, const char *given,
                   const char *orcpt, unsigned int notify, bool local);
/* The "name[ip]" of the client, for logs. */
const char *smtp_client_text(const struct smtp_session *sess, char *buf, size_t size);

/* The connection handler (server_handler_fn). */
void smtp_session_run(struct server_conn *conn);

#endif
