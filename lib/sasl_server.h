/*
 * sasl_server.h: server-side SASL (RFC 4422) for every protocol that takes a
 * password (SMTP AUTH, IMAP AUTHENTICATE and LOGIN, ManageSieve AUTHENTICATE),
 * through Cyrus SASL's server API. Credentials are checked by sluice-authd
 * (lib/auth_client.h) from Cyrus SASL's checkpass hook, so no server process
 * reads a password database; Cyrus SASL's own password backends (sasldb,
 * saslauthd, auxprop) are switched off. Mechanisms: PLAIN and LOGIN.
 *
 * The protocol code does the base64 framing; this module sees decoded bytes.
 * A session object lives for one connection; it may be reused for several
 * attempts (sasl_session_reset) and is used by one thread at a time.
 */
#ifndef SLUICE_SASL_SERVER_H
#define SLUICE_SASL_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct sbuf;

/* Initialise Cyrus SASL for this process; once, before threads start. */
int sasl_server_setup(const char **error_r);

struct sasl_session_settings {
	const char *service;     /* "smtp", "imap", "sieve": also the authd service */
	const char *auth_socket; /* sluice-authd's socket */
	int64_t auth_timeout_ms; /* deadline for one authd verification */
	const char *client_ip;   /* for authd's penalties and logs; NULL when local */
};

enum sasl_step {
	SASL_STEP_CONTINUE, /* send the challenge and read another response */
	SASL_STEP_OK,       /* authenticated: sasl_session_user() says as whom */
	SASL_STEP_FAIL,     /* wrong credentials or a malformed response */
	SASL_STEP_TEMPFAIL, /* authd or its database unavailable: try later */
	SASL_STEP_NOMECH,   /* unknown or disabled mechanism */
};

struct sasl_session;

int sasl_session_create(const struct sasl_session_settings *set, struct sasl_session **s_r,
			const char **error_r);
void sasl_session_destroy(struct sasl_session **s);
/* Forget a finished or abandoned exchange, ready for another AUTH. */
int sasl_session_reset(struct sasl_session *s, const char **error_r);

/* The mechanisms offered, space-separated ("PLAIN LOGIN"). */
const char *sasl_session_mechanisms(const struct sasl_session *s);

/*
 * Begin an exchange. `in` is the decoded initial response, or NULL when the
 * client sent none (an empty initial response is in != NULL, in_len 0). On
 * CONTINUE *out_r / *out_len_r is the challenge to send (owned by the
 * session, valid until the next call).
 */
enum sasl_step sasl_session_start(struct sasl_session *s, const char *mech, const void *in,
				  size_t in_len, const char **out_r, size_t *out_len_r);
/* Continue with the client's decoded response. */
enum sasl_step sasl_session_step(struct sasl_session *s, const void *in, size_t in_len,
				 const char **out_r, size_t *out_len_r);
/* After OK: the canonical login name sluice-authd gave. */
const char *sasl_session_user(const struct sasl_session *s);

/* Base64 (RFC 4648, padded) for the protocols' SASL framing. */
void sasl_base64_encode(const void *data, size_t len, struct sbuf *out);
/* Decode into out (appended); -1 on bad input. */
int sasl_base64_decode(const char *text, size_t len, struct sbuf *out);

#endif
