/*
 * imap_cmd_auth.c: getting in: STARTTLS (RFC 3501 6.2.1, RFC 9051 6.2.1),
 * LOGIN (6.2.3) through sluice-authd (lib/auth_client.h), AUTHENTICATE
 * PLAIN and LOGIN with SASL-IR (RFC 4959) through Cyrus SASL
 * (lib/sasl_server.h), and what follows a success: the mailbox looked up
 * in the store, the per-user connection cap, the change notifications.
 *
 * Policy lives here: passwords only over TLS unless the client is on
 * loopback or imapd_plaintext_auth allows it (LOGINDISABLED otherwise).
 * No password is ever logged; failures are logged with the client's
 * address and the name it gave, escaped.
 */
#include "imap_commands.h"

#include "auth_client.h"
#include "imap_db.h"
#include "imap_message.h"
#include "imap_notify.h"
#include "imap_view.h"
#include "iostream.h"
#include "log.h"
#include "sasl_server.h"
#include "server.h"
#include "tls.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct imapd_user_count {
	int64_t mailbox_id;
	unsigned int n;
	struct imapd_user_count *next;
};

bool imapd_user_login(struct imapd *d, int64_t mailbox_id)
{
	struct imapd_user_count *u;
	bool ok = true;

	pthread_mutex_lock(&d->users_lock);
	for (u = d->users; u != NULL && u->mailbox_id != mailbox_id; u = u->next)
		;
	if (u == NULL) {
		u = xcalloc(1, sizeof(*u));
		u->mailbox_id = mailbox_id;
		u->next = d->users;
		d->users = u;
	}
	if (d->set.max_per_user > 0 && u->n >= d->set.max_per_user)
		ok = false;
	else
		u->n++;
	pthread_mutex_unlock(&d->users_lock);
	return ok;
}

void imapd_user_logout(struct imapd *d, int64_t mailbox_id)
{
	struct imapd_user_count **up, *u;

	pthread_mutex_lock(&d->users_lock);
	for (up = &d->users; (u = *up) != NULL; up = &u->next) {
		if (u->mailbox_id != mailbox_id)
			continue;
		if (u->n > 0)
			u->n--;
		if (u->n == 0) {
			*up = u->next;
			free(u);
		}
		break;
	}
	pthread_mutex_unlock(&d->users_lock);
}

void imap_login_end(struct imap_session *sess)
{
	imap_view_close(sess);
	imap_notify_unsubscribe(sess->d->notify, &sess->sub);
	imap_msg_forget_dir(sess);
	if (sess->counted)
		imapd_user_logout(sess->d, sess->mailbox.id);
	sess->counted = false;
}

/* Whether a password may be sent on this connection. */
static bool plaintext_ok(const struct imap_session *sess)
{
	return imap_is_tls(sess) || sess->d->set.plaintext_auth || sess->conn->peer_loopback;
}

static const char *client_ip(const struct imap_session *sess)
{
	return sess->conn->is_unix ? NULL : sess->conn->peer_ip;
}

void imap_cmd_starttls(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	struct tls_ctx *ctx;
	const char *error = NULL;
	size_t discarded = 0;
	int rc;

	(void)args;
	if (nargs != 0) {
		imap_tagged(sess, "BAD STARTTLS takes no arguments");
		return;
	}
	if (imap_is_tls(sess)) {
		imap_tagged(sess, "BAD TLS is already active");
		return;
	}
	if (sess->d->tls == NULL) {
		imap_tagged(sess, "NO [UNAVAILABLE] TLS is not configured");
		return;
	}
	/* the go-ahead goes out now, before the handshake, not after the command */
	iostream_printf(sess->s, "%s OK Begin TLS negotiation now\r\n", sess->tag);
	ctx = tls_holder_get(sess->d->tls);
	rc = iostream_starttls_server(sess->s, ctx, &discarded, &error);
	tls_ctx_unref(&ctx);
	/* RFC 3501 6.2.1: what came after STARTTLS before the handshake is not a command */
	if (discarded > 0)
		log_warn("%zu bytes pipelined after STARTTLS: discarded", discarded);
	if (rc < 0) {
		log_info("TLS handshake failed: %s", error);
		sess->state = IMAP_STATE_LOGOUT;
	}
	/* the tagged reply was sent; the session sends nothing more for it */
	sess->tag = NULL;
}

static const struct db_stmt stmt_mailbox_id = {
    "imapd_login_mailbox",
    "SELECT id FROM mailbox_directory WHERE lower(local_part) = lower($1) AND domain = $2"};

/*
 * The mailbox of a canonical name from sluice-authd: its domain is the
 * mailbox's own (alias domains were followed there), so the directory is
 * enough; the store then loads it by id.
 */
static int mailbox_of(struct imap_session *sess, const char *local, const char *domain,
		      struct store_mailbox *mb, const char **error_r)
{
	const char *params[2] = {local, domain};
	PGresult *res;
	int64_t id;
	int rc;

	rc = imap_query(sess->d, &stmt_mailbox_id, 2, params, &res, error_r);
	if (rc != STORE_OK)
		return rc;
	id = PQntuples(res) == 1 ? imap_col_i64(res, 0, 0) : 0;
	PQclear(res);
	if (id == 0) {
		*error_r = "no such mailbox";
		return STORE_NOT_FOUND;
	}
	return store_mailbox_by_id(sess->d->store, id, mb, error_r);
}

/* After a successful authentication as `user` (canonical local@domain). */
static void login_done(struct imap_session *sess, const char *user)
{
	char logbuf[LOG_UNTRUSTED_BUFSZ], local[ADDR_LOCAL_BUFSZ];
	const char *at = strrchr(user, '@'), *error = NULL;
	struct sbuf caps = {0};
	int rc;

	if (at == NULL || (size_t)(at - user) >= sizeof(local)) {
		log_warn("login: authd gave an unusable user name %s",
			 log_untrusted(logbuf, user, strlen(user)));
		imap_tagged(sess, "NO [AUTHENTICATIONFAILED] Authentication failed");
		return;
	}
	memcpy(local, user, (size_t)(at - user));
	local[at - user] = '\0';
	rc = mailbox_of(sess, local, at + 1, &sess->mailbox, &error);
	if (rc == STORE_OK && !sess->mailbox.active)
		rc = STORE_NOT_FOUND;
	if (rc == STORE_OK)
		rc = store_mailbox_init(sess->d->store, &sess->mailbox, &error);
	if (rc == STORE_NOT_FOUND) {
		log_info("login: %s has no active mailbox", log_untrusted(logbuf, user, strlen(user)));
		imap_tagged(sess, "NO [AUTHENTICATIONFAILED] Authentication failed");
		return;
	}
	if (rc != STORE_OK) {
		imap_tagged_store_error(sess, rc, error);
		return;
	}
	if (!imapd_user_login(sess->d, sess->mailbox.id)) {
		log_info("login: %s is at imapd_max_per_user", log_untrusted(logbuf, user, strlen(user)));
		imap_tagged(sess, "NO [LIMIT] Too many connections for this user");
		return;
	}
	sess->counted = true;
	snprintf(sess->user, sizeof(sess->user), "%s", user);
	sess->sub = imap_notify_subscribe(sess->d->notify, sess->mailbox.id);
	sess->state = IMAP_STATE_AUTH;
	log_info("login: %s%s", log_untrusted(logbuf, user, strlen(user)),
		 imap_is_tls(sess) ? " (TLS)" : "");
	/* RFC 3501 7.1: the capabilities may change at login; tell them at once */
	imap_capabilities(sess, &caps);
	imap_tagged(sess, "OK [CAPABILITY %s] Logged in", sbuf_str(&caps));
	sbuf_free(&caps);
}

void imap_cmd_login(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	const char *user, *pass, *error = NULL;
	char logbuf[LOG_UNTRUSTED_BUFSZ];
	char *canonical = NULL;
	enum auth_client_result r;

	if (nargs != 2 || (user = imap_arg_astring(&args[0])) == NULL ||
	    (pass = imap_arg_astring(&args[1])) == NULL) {
		imap_tagged(sess, "BAD Syntax: LOGIN user password");
		return;
	}
	if (!plaintext_ok(sess)) {
		/* RFC 3501 6.2.3: LOGINDISABLED */
		imap_tagged(sess, "NO [PRIVACYREQUIRED] Plaintext login is disabled without TLS");
		return;
	}
	struct auth_client_request req = {
	    .service = "imap",
	    .user = user,
	    .password = pass,
	    .password_len = strlen(pass),
	    .client_ip = client_ip(sess),
	};
	r = auth_client_verify(sess->d->set.auth_socket, sess->d->set.auth_timeout_ms, &req,
			       &canonical, &error);
	sodium_memzero(args[1].str, args[1].len);
	if (r == AUTH_CLIENT_OK) {
		login_done(sess, canonical);
	} else if (r == AUTH_CLIENT_TEMPFAIL) {
		log_warn("login: authentication service: %s", error);
		imap_tagged(sess, "NO [UNAVAILABLE] Authentication service unavailable, try again later");
	} else {
		log_info("login failed: %s", log_untrusted(logbuf, user, strlen(user)));
		imap_tagged(sess, "NO [AUTHENTICATIONFAILED] Authentication failed");
	}
	free(canonical);
}

/* Send a SASL challenge and read the client's decoded response; -1 with the reply set. */
static int sasl_exchange(struct imap_session *sess, const char *out, size_t out_len,
			 struct sbuf *resp)
{
	struct sbuf line = {0};
	const char *data;
	size_t len;
	int rc;

	sasl_base64_encode(out, out_len, &line);
	iostream_printf(sess->s, "+ %s\r\n", sbuf_str(&line));
	sbuf_free(&line);
	rc = imap_read_continuation(sess, &data, &len);
	if (rc == -1)
		return -1;
	if (rc == -2) {
		imap_tagged(sess, "BAD Response line too long");
		return -1;
	}
	/* RFC 3501 6.2.2: "*" cancels the exchange */
	if (len == 1 && data[0] == '*') {
		imap_tagged(sess, "BAD Authentication cancelled");
		return -1;
	}
	sbuf_reset(resp);
	if (sasl_base64_decode(data, len, resp) < 0) {
		imap_tagged(sess, "BAD Invalid base64 in response");
		return -1;
	}
	return 0;
}

void imap_cmd_authenticate(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	struct sasl_session_settings set = {
	    .service = "imap",
	    .auth_socket = sess->d->set.auth_socket,
	    .auth_timeout_ms = sess->d->set.auth_timeout_ms,
	    .client_ip = client_ip(sess),
	};
	struct sbuf resp = {0};
	const char *mech, *out = NULL, *error = NULL;
	size_t out_len = 0;
	enum sasl_step step;
	bool have_ir = false;

	if (nargs < 1 || nargs > 2 || args[0].type != IMAP_ARG_ATOM ||
	    (nargs == 2 && args[1].type != IMAP_ARG_ATOM)) {
		imap_tagged(sess, "BAD Syntax: AUTHENTICATE mechanism [initial-response]");
		return;
	}
	mech = args[0].str;
	if (!plaintext_ok(sess)) {
		imap_tagged(sess, "NO [PRIVACYREQUIRED] Authentication is disabled without TLS");
		return;
	}
	if (nargs == 2) {
		/* RFC 4959 3: "=" is an empty initial response */
		have_ir = true;
		if (!(args[1].len == 1 && args[1].str[0] == '=') &&
		    sasl_base64_decode(args[1].str, args[1].len, &resp) < 0) {
			imap_tagged(sess, "BAD Invalid base64 in initial response");
			return;
		}
	}
	if (sess->sasl == NULL ? sasl_session_create(&set, &sess->sasl, &error) < 0
			       : sasl_session_reset(sess->sasl, &error) < 0) {
		log_error("SASL: %s", error);
		imap_tagged(sess, "NO [UNAVAILABLE] Authentication is unavailable");
		sbuf_free(&resp);
		return;
	}
	step = sasl_session_start(sess->sasl, mech, have_ir ? sbuf_str(&resp) : NULL, resp.len,
				  &out, &out_len);
	while (step == SASL_STEP_CONTINUE) {
		if (sasl_exchange(sess, out, out_len, &resp) < 0) {
			sodium_memzero(resp.data != NULL ? resp.data : "", resp.len);
			sbuf_free(&resp);
			return;
		}
		step = sasl_session_step(sess->sasl, sbuf_str(&resp), resp.len, &out, &out_len);
	}
	if (resp.data != NULL)
		sodium_memzero(resp.data, resp.len);
	sbuf_free(&resp);
	if (nargs == 2)
		sodium_memzero(args[1].str, args[1].len);
	switch (step) {
	case SASL_STEP_OK:
		login_done(sess, sasl_session_user(sess->sasl));
		break;
	case SASL_STEP_TEMPFAIL:
		imap_tagged(sess, "NO [UNAVAILABLE] Authentication service unavailable, try again later");
		break;
	case SASL_STEP_NOMECH:
		imap_tagged(sess, "NO Unsupported authentication mechanism");
		break;
	default: {
		char logbuf[LOG_UNTRUSTED_BUFSZ];

		log_info("AUTHENTICATE %s failed", log_untrusted(logbuf, mech, strlen(mech)));
		imap_tagged(sess, "NO [AUTHENTICATIONFAILED] Authentication failed");
		break;
	}
	}
}
