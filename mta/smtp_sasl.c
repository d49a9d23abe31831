/*
 * smtp_sasl.c: SMTP AUTH (RFC 4954) in sluice-smtpd: the command, its
 * base64 framing ("334" challenges, "*" to cancel, "=" for an empty initial
 * response) and the replies. The mechanisms run in Cyrus SASL behind
 * lib/sasl_server.h, whose checkpass hook asks sluice-authd, so smtpd reads
 * no password database.
 *
 * Trust: the exchange is untrusted base64, bounded by the AUTH line limit;
 * passwords only pass through to sluice-authd and are never logged, and the
 * decoded buffers are wiped. Failures count toward smtpd_max_auth_failures,
 * after which the session ends (sluice-authd adds its own delays per IP and
 * user). Where AUTH may run at all is smtp_policy.c's decision.
 */
#include "smtp_sasl.h"

#include "iostream.h"
#include "log.h"
#include "sasl_server.h"
#include "server.h"
#include "smtp_policy.h"
#include "smtp_session.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int smtp_sasl_init(const char **error_r)
{
	return sasl_server_setup(error_r);
}

const char *smtp_sasl_mechanisms(void)
{
	return sasl_session_mechanisms(NULL);
}

void smtp_sasl_free(struct sasl_session **sasl)
{
	sasl_session_destroy(sasl);
}

static void sbuf_wipe(struct sbuf *b)
{
	if (b->data != NULL)
		sodium_memzero(b->data, b->cap);
	sbuf_free(b);
}

/*
 * Send "334 <challenge>" and read the client's response into in, decoded.
 * 0, -1 with *reply_r (a failed attempt), or -2 when the connection is gone.
 */
static int challenge(struct smtp_session *sess, const char *out, size_t out_len, struct sbuf *in,
                     const char **reply_r)
{
	struct sbuf enc = {0};
	struct iostream_line line;
	enum iostream_status st;

	sasl_base64_encode(out, out_len, &enc);
	smtp_replyf(sess, "334 %s", sbuf_str(&enc));
	sbuf_free(&enc);
	if (!smtp_flush(sess))
		return -2;
	st = iostream_read_line(sess->s, SMTP_AUTH_LINE_MAX, &line);
	if (st == IOSTREAM_TOO_LONG) {
		*reply_r = "500 5.5.6 Authentication exchange line is too long";
		return -1;
	}
	if (st != IOSTREAM_OK)
		return -2;
	if (line.len == 1 && line.data[0] == '*') {
		*reply_r = "501 5.7.0 Authentication aborted"; /* RFC 4954 4 */
		return -1;
	}
	sbuf_wipe(in);
	if (sasl_base64_decode(line.data, line.len, in) < 0) {
		*reply_r = "501 5.5.2 Cannot decode response";
		return -1;
	}
	return 0;
}

static void auth_failed(struct smtp_session *sess, const char *mech, const char *reply,
                        const char *why)
{
	char client[SMTP_CLIENT_BUFSZ];

	smtp_client_text(sess, client, sizeof(client));
	/* Postfix's wording, which fail2ban filters know. */
	log_warn("%s: SASL %s authentication failed: %s", client, mech, why);
	smtp_reply(sess, reply);
	if (++sess->auth_failures >= sess->set->max_auth_failures) {
		smtp_replyf(sess, "421 4.7.0 %s Error: too many failed authentications",
		            sess->set->hostname);
		sess->quit = true;
		return;
	}
	smtp_count_error(sess);
}

static bool start_session(struct smtp_session *sess)
{
	const char *error;

	if (sess->sasl != NULL) {
		if (sasl_session_reset(sess->sasl, &error) == 0)
			return true;
		log_warn("SASL: %s", error);
		return false;
	}
	struct sasl_session_settings set = {
	    .service = "smtp",
	    .auth_socket = sess->set->auth_socket,
	    .auth_timeout_ms = sess->set->auth_timeout_ms,
	    .client_ip = sess->conn->is_unix ? NULL : sess->client_ip,
	};
	if (sasl_session_create(&set, &sess->sasl, &error) < 0) {
		log_warn("SASL: %s", error);
		return false;
	}
	return true;
}

void smtp_cmd_auth(struct smtp_session *sess, const char *args, size_t len)
{
	struct smtp_auth_args auth;
	struct sbuf in = {0};
	const char *reply, *out;
	size_t out_len;
	enum sasl_step step;

	if ((reply = smtp_policy_auth_refusal(sess)) != NULL ||
	    smtp_parse_auth(args, len, &auth, &reply) < 0) {
		smtp_reply(sess, reply);
		smtp_count_error(sess);
		return;
	}
	if (!start_session(sess)) {
		smtp_reply(sess, "454 4.7.0 Temporary authentication failure");
		return;
	}
	if (auth.initial != NULL && !(auth.initial_len == 1 && auth.initial[0] == '=') &&
	    sasl_base64_decode(auth.initial, auth.initial_len, &in) < 0) {
		auth_failed(sess, auth.mech, "501 5.5.2 Cannot decode response", "bad base64");
		goto out;
	}
	/* RFC 4954 4: "=" is an empty initial response, which is not no response. */
	step =
	    sasl_session_start(sess->sasl, auth.mech, auth.initial != NULL ? sbuf_str(&in) : NULL,
	                       in.len, &out, &out_len);
	while (step == SASL_STEP_CONTINUE) {
		int rc = challenge(sess, out, out_len, &in, &reply);

		if (rc == -2) {
			sess->quit = true;
			goto out;
		}
		if (rc < 0) {
			auth_failed(sess, auth.mech, reply, "exchange aborted or malformed");
			goto out;
		}
		step = sasl_session_step(sess->sasl, sbuf_str(&in), in.len, &out, &out_len);
	}
	switch (step) {
	case SASL_STEP_OK: {
		char client[SMTP_CLIENT_BUFSZ], user[LOG_UNTRUSTED_BUFSZ];

		sess->auth_user = xstrdup(sasl_session_user(sess->sasl));
		log_info("%s: sasl_method=%s, sasl_username=%s",
		         smtp_client_text(sess, client, sizeof(client)), auth.mech,
		         log_untrusted(user, sess->auth_user, strlen(sess->auth_user)));
		smtp_reply(sess, "235 2.7.0 Authentication successful");
		break;
	}
	case SASL_STEP_TEMPFAIL:
		smtp_reply(sess, "454 4.7.0 Temporary authentication failure");
		break;
	case SASL_STEP_NOMECH:
		smtp_reply(sess, "504 5.5.4 Unrecognized authentication type");
		smtp_count_error(sess);
		break;
	case SASL_STEP_FAIL:
	case SASL_STEP_CONTINUE:
		auth_failed(sess, auth.mech, "535 5.7.8 Authentication credentials invalid",
		            "wrong credentials");
		break;
	}
out:
	sbuf_wipe(&in);
}
