/*
 * smtp_commands.c: the command table of sluice-smtpd and the small verbs.
 *
 * Each verb's row says what it needs (a greeting first, a transaction, no
 * argument, the longer line limit of MAIL/RCPT or AUTH, not between BDAT
 * chunks, whether it counts as junk), so those checks live in one function,
 * smtp_command_run(), and the handlers only do their own work. Access
 * decisions are asked of smtp_policy.c. Trust: arguments are untrusted and
 * parsed by smtp_parser.c; nothing but the session is written.
 */
#include "smtp_commands.h"

#include "iostream.h"
#include "log.h"
#include "server.h"
#include "smtp_data.h"
#include "smtp_parser.h"
#include "smtp_policy.h"
#include "smtp_sasl.h"
#include "smtp_session.h"
#include "tls.h"
#include "util.h"

#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

enum smtp_cmd_flags {
	CMD_NEEDS_HELO = 1 << 0,  /* after EHLO or HELO (RFC 5321 4.1.4) */
	CMD_IN_MAIL = 1 << 1,     /* inside a transaction, after MAIL */
	CMD_NO_ARGS = 1 << 2,     /* takes no argument */
	CMD_PARAMS = 1 << 3,      /* MAIL, RCPT: lines longer by their parameters */
	CMD_AUTH_LINE = 1 << 4,   /* AUTH: RFC 4954 4's 12288 octets */
	CMD_NOT_IN_BDAT = 1 << 5, /* not between BDAT chunks (RFC 3030 2) */
	CMD_JUNK = 1 << 6,        /* counts toward smtpd_max_junk_commands */
};

struct smtp_command {
	const char *verb;
	smtp_cmd_fn *fn;
	unsigned int flags;
};

static smtp_cmd_fn cmd_ehlo, cmd_helo, cmd_starttls, cmd_mail, cmd_rcpt, cmd_rset, cmd_noop,
    cmd_vrfy, cmd_expn, cmd_help, cmd_quit;

static const struct smtp_command commands[] = {
    {"EHLO", cmd_ehlo, CMD_NOT_IN_BDAT},
    {"HELO", cmd_helo, CMD_NOT_IN_BDAT},
    {"STARTTLS", cmd_starttls, CMD_NEEDS_HELO | CMD_NO_ARGS | CMD_NOT_IN_BDAT},
    {"AUTH", smtp_cmd_auth, CMD_NEEDS_HELO | CMD_AUTH_LINE | CMD_NOT_IN_BDAT},
    {"MAIL", cmd_mail, CMD_NEEDS_HELO | CMD_PARAMS | CMD_NOT_IN_BDAT},
    {"RCPT", cmd_rcpt, CMD_NEEDS_HELO | CMD_PARAMS | CMD_IN_MAIL | CMD_NOT_IN_BDAT},
    {"DATA", smtp_cmd_data, CMD_NEEDS_HELO | CMD_NO_ARGS | CMD_IN_MAIL | CMD_NOT_IN_BDAT},
    /* BDAT checks the rest itself: a refused chunk must still be read (RFC 3030 2). */
    {"BDAT", smtp_cmd_bdat, 0},
    {"RSET", cmd_rset, CMD_NO_ARGS | CMD_JUNK},
    {"NOOP", cmd_noop, CMD_JUNK},
    {"VRFY", cmd_vrfy, CMD_JUNK | CMD_NOT_IN_BDAT},
    {"EXPN", cmd_expn, CMD_JUNK | CMD_NOT_IN_BDAT},
    {"HELP", cmd_help, CMD_JUNK},
    {"QUIT", cmd_quit, CMD_NO_ARGS},
};
_Static_assert(ARRAY_SIZE(commands) <= SMTP_COMMAND_KINDS, "SMTP_COMMAND_KINDS too small");

/* Reply and count the error toward smtpd_max_errors. */
static void error_reply(struct smtp_session *sess, const char *line)
{
	smtp_reply(sess, line);
	smtp_count_error(sess);
}

void smtp_command_run(struct smtp_session *sess, const char *line, size_t len)
{
	const struct smtp_command *cmd = NULL;
	struct smtp_command_line cl;
	size_t max;

	smtp_parse_command(line, len, &cl);
	for (size_t i = 0; i < ARRAY_SIZE(commands) && cl.verb[0] != '\0'; i++) {
		if (strcmp(commands[i].verb, cl.verb) == 0) {
			cmd = &commands[i];
			sess->counts[i]++;
			break;
		}
	}
	if (cmd == NULL) {
		sess->unknown_count++;
		sess->last_verb = "UNKNOWN";
		error_reply(sess, "500 5.5.2 Error: command not recognized");
		return;
	}
	sess->last_verb = cmd->verb;
	/* RFC 5321 4.5.3.1.4, widened for MAIL/RCPT parameters and AUTH. */
	max = (cmd->flags & CMD_AUTH_LINE) != 0 ? SMTP_AUTH_LINE_MAX
	      : (cmd->flags & CMD_PARAMS) != 0  ? SMTP_PARAM_COMMAND_MAX
	                                        : SMTP_COMMAND_MAX;
	if (len > max) {
		error_reply(sess, "500 5.5.2 Error: line too long");
		return;
	}
	if ((cmd->flags & CMD_JUNK) != 0 && ++sess->junk > sess->set->max_junk) {
		smtp_count_error(sess);
		if (sess->quit)
			return;
	}
	if ((cmd->flags & CMD_NOT_IN_BDAT) != 0 && sess->bdat_started) {
		error_reply(sess, "503 5.5.1 Error: BDAT in progress: send BDAT or RSET");
		return;
	}
	if ((cmd->flags & CMD_NEEDS_HELO) != 0 && !sess->helo_seen) {
		error_reply(sess, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if ((cmd->flags & CMD_IN_MAIL) != 0 && !sess->in_mail) {
		error_reply(sess, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if ((cmd->flags & CMD_NO_ARGS) != 0 && cl.args_len > 0) {
		smtp_replyf(sess, "501 5.5.4 Syntax: %s", cmd->verb);
		smtp_count_error(sess);
		return;
	}
	cmd->fn(sess, cl.args, cl.args_len);
}

const char *smtp_commands_last(const struct smtp_session *sess)
{
	return sess->last_verb != NULL ? sess->last_verb : "CONNECT";
}

void smtp_commands_log_disconnect(const struct smtp_session *sess)
{
	char client[SMTP_CLIENT_BUFSZ], buf[512];
	unsigned int total = sess->unknown_count;
	size_t o = 0;

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		char verb[SMTP_VERB_MAX + 1];

		if (sess->counts[i] == 0)
			continue;
		snprintf(verb, sizeof(verb), "%s", commands[i].verb);
		for (char *p = verb; *p != '\0'; p++)
			*p = (char)(*p - 'A' + 'a');
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, " %s=%u", verb, sess->counts[i]);
		total += sess->counts[i];
	}
	if (sess->unknown_count > 0)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, " unknown=%u", sess->unknown_count);
	snprintf(buf + o, sizeof(buf) - o, " commands=%u", total);
	log_info("disconnect from %s%s", smtp_client_text(sess, client, sizeof(client)), buf);
}

/* Keep the helo name (printable ASCII only, cut at SMTP_HELO_MAX) for logs and Received. */
static bool set_helo(struct smtp_session *sess, const char *args, size_t len)
{
	size_t n = len < SMTP_HELO_MAX ? len : SMTP_HELO_MAX;

	if (len == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)args[i];
		sess->helo[i] = c > ' ' && c < 127 ? (char)c : '?';
	}
	sess->helo[n] = '\0';
	return true;
}

static void cmd_ehlo(struct smtp_session *sess, const char *args, size_t len)
{
	if (!set_helo(sess, args, len)) {
		error_reply(sess, "501 5.5.4 Syntax: EHLO hostname");
		return;
	}
	/* RFC 5321 4.1.4: EHLO resets the state like RSET. */
	smtp_transaction_reset(sess);
	sess->helo_seen = sess->esmtp = true;
	smtp_replyf(sess, "250-%s", sess->set->hostname);
	smtp_reply(sess, "250-PIPELINING");
	smtp_replyf(sess, "250-SIZE %llu", (unsigned long long)sess->set->max_message_size);
	if (smtp_policy_starttls_offered(sess))
		smtp_reply(sess, "250-STARTTLS");
	if (smtp_policy_auth_offered(sess))
		smtp_replyf(sess, "250-AUTH %s", smtp_sasl_mechanisms());
	smtp_reply(sess, "250-ENHANCEDSTATUSCODES");
	smtp_reply(sess, "250-8BITMIME");
	smtp_reply(sess, "250-BINARYMIME");
	smtp_reply(sess, "250-CHUNKING");
	smtp_reply(sess, "250-DSN");
	smtp_reply(sess, "250 SMTPUTF8");
}

static void cmd_helo(struct smtp_session *sess, const char *args, size_t len)
{
	if (!set_helo(sess, args, len)) {
		error_reply(sess, "501 5.5.4 Syntax: HELO hostname");
		return;
	}
	smtp_transaction_reset(sess);
	sess->helo_seen = true;
	sess->esmtp = false;
	smtp_replyf(sess, "250 %s", sess->set->hostname);
}

static void cmd_starttls(struct smtp_session *sess, const char *args, size_t len)
{
	struct tls_ctx *ctx;
	const char *error;
	char client[SMTP_CLIENT_BUFSZ];
	size_t discarded = 0;
	int rc;

	(void)args;
	(void)len;
	if (iostream_is_tls(sess->s)) {
		error_reply(sess, "503 5.5.1 Error: TLS already active");
		return;
	}
	if (!smtp_policy_starttls_offered(sess)) {
		error_reply(sess, "454 4.7.0 TLS not available");
		return;
	}
	smtp_reply(sess, "220 2.0.0 Ready to start TLS");
	/* RFC 3207 5: what the client sent after STARTTLS, before the handshake,
	 * is dropped by iostream_starttls_server(), never read as commands. */
	ctx = tls_holder_get(sess->d->tls);
	rc = iostream_starttls_server(sess->s, ctx, &discarded, &error);
	tls_ctx_unref(&ctx);
	smtp_client_text(sess, client, sizeof(client));
	if (discarded > 0)
		log_warn("%s sent %zu bytes pipelined after STARTTLS: discarded", client,
		         discarded);
	if (rc < 0) {
		log_info("TLS handshake with %s failed: %s", client, error);
		sess->quit = sess->dead = true;
		return;
	}
	/* RFC 3207 4.2: forget everything learnt before TLS. */
	smtp_transaction_reset(sess);
	sess->helo_seen = sess->esmtp = false;
	sess->helo[0] = '\0';
}

/* RFC 1870 and Postfix's queue_minfree: refuse early when the queue's disk is short. */
static bool queue_has_room(const struct smtp_session *sess, uint64_t size)
{
	struct statvfs sv;
	uint64_t free_bytes;

	if (statvfs(sess->set->queue_dir, &sv) != 0)
		return true; /* the writer will tell */
	free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	return free_bytes >= sess->set->queue_min_free + size;
}

static void cmd_mail(struct smtp_session *sess, const char *args, size_t len)
{
	struct smtp_parse_caps caps = {.dsn = sess->esmtp,
	                               .smtputf8 = sess->esmtp,
	                               .binarymime = sess->esmtp,
	                               .auth = sess->esmtp};
	const char *reply, *refusal;
	char sender[ADDR_BUFSZ];
	bool allowed;

	if (sess->in_mail) {
		error_reply(sess, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if ((refusal = smtp_policy_mail_refusal(sess)) != NULL) {
		error_reply(sess, refusal);
		return;
	}
	if (smtp_parse_mail(args, len, &caps, &sess->sender, &sess->mail, &reply) < 0) {
		error_reply(sess, reply);
		return;
	}
	if (sess->mail.size_given && sess->mail.size > sess->set->max_message_size) {
		error_reply(sess, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	if (!queue_has_room(sess, sess->mail.size_given ? sess->mail.size : 0)) {
		log_warn("queue file system %s has too little free space", sess->set->queue_dir);
		error_reply(sess, "452 4.3.1 Insufficient system storage");
		return;
	}
	if (smtp_policy_sender(sess, &sess->sender, &allowed) < 0) {
		error_reply(sess, "451 4.3.0 Temporary lookup failure");
		return;
	}
	addr_format(&sess->sender, sender);
	if (!allowed) {
		char s1[LOG_UNTRUSTED_BUFSZ], client[SMTP_CLIENT_BUFSZ];

		log_info("NOQUEUE: reject: MAIL from %s: 553 5.7.1 <%s>: Sender address rejected: "
		         "not owned by user %s",
		         smtp_client_text(sess, client, sizeof(client)),
		         log_untrusted(s1, sender, strlen(sender)), sess->auth_user);
		smtp_replyf(sess, "553 5.7.1 <%s>: Sender address rejected: not owned by user %s",
		            sender, sess->auth_user);
		smtp_count_error(sess);
		return;
	}
	sess->in_mail = true;
	smtp_reply(sess, "250 2.1.0 Ok");
}

static void cmd_rcpt(struct smtp_session *sess, const char *args, size_t len)
{
	struct smtp_parse_caps caps = {.dsn = sess->esmtp};
	struct smtp_rcpt_params params;
	struct mail_address addr;
	const char *reply;

	if (sess->rcpt_count >= sess->set->max_recipients) {
		/* RFC 5321 4.5.3.1.10: the client sends the rest later. */
		smtp_reply(sess, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (smtp_parse_rcpt(args, len, &caps, sess->mail.smtputf8, &addr, &params, &reply) < 0) {
		error_reply(sess, reply);
		return;
	}
	if (smtp_policy_rcpt(sess, &addr, &params))
		sess->rcpt_count++;
	else
		smtp_count_error(sess);
}

static void cmd_rset(struct smtp_session *sess, const char *args, size_t len)
{
	(void)args;
	(void)len;
	smtp_transaction_reset(sess);
	smtp_reply(sess, "250 2.0.0 Ok");
}

static void cmd_noop(struct smtp_session *sess, const char *args, size_t len)
{
	(void)args;
	(void)len;
	smtp_reply(sess, "250 2.0.0 Ok");
}

static void cmd_vrfy(struct smtp_session *sess, const char *args, size_t len)
{
	(void)args;
	if (len == 0) {
		error_reply(sess, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	/* RFC 5321 3.5.3: no address harvesting, and no false "unknown". */
	smtp_reply(sess,
	           "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
}

static void cmd_expn(struct smtp_session *sess, const char *args, size_t len)
{
	(void)args;
	(void)len;
	smtp_reply(sess, "502 5.5.1 Error: EXPN not available");
}

static void cmd_help(struct smtp_session *sess, const char *args, size_t len)
{
	(void)args;
	(void)len;
	smtp_reply(sess, "214 2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA BDAT RSET "
	                 "NOOP VRFY HELP QUIT (RFC 5321)");
}

static void cmd_quit(struct smtp_session *sess, const char *args, size_t len)
{
	(void)args;
	(void)len;
	smtp_reply(sess, "221 2.0.0 Bye");
	sess->quit = true;
}
