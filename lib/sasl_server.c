/*
 * sasl_server.c: Cyrus SASL server glue (see sasl_server.h).
 *
 * Cyrus SASL runs the mechanisms (PLAIN, LOGIN); the password check is our
 * SASL_CB_SERVER_USERDB_CHECKPASS hook, which asks sluice-authd and records
 * the outcome in the session. Cyrus SASL falls through to its own verifiers
 * when the hook fails, so pwcheck_method names none that exist ("sluice"):
 * no sasldb or saslauthd is ever consulted, and the recorded outcome (not
 * Cyrus SASL's return code) tells a wrong password from an unavailable
 * authd. Touches only the session given; the process-wide part is set up
 * once by sasl_server_setup() before threads start.
 */
#include "sasl_server.h"
#include "auth_client.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <sasl/sasl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* The mechanisms we offer; others installed on the system are never listed. */
#define SASL_MECHANISMS "PLAIN LOGIN"

enum check_outcome { CHECK_NONE, CHECK_OK, CHECK_FAIL, CHECK_TEMPFAIL };

struct sasl_session {
	struct sasl_session_settings set;
	char *service, *auth_socket, *client_ip;
	sasl_conn_t *conn;
	sasl_callback_t callbacks[2];
	enum check_outcome outcome;
	char *user; /* canonical name from authd */
};

static int sasl_getopt_cb(void *context, const char *plugin, const char *option,
			  const char **result, unsigned *len)
{
	(void)context;
	(void)plugin;
	if (strcmp(option, "mech_list") == 0)
		*result = SASL_MECHANISMS;
	else if (strcmp(option, "pwcheck_method") == 0)
		*result = "sluice"; /* no built-in verifier: only our hook */
	else if (strcmp(option, "auxprop_plugin") == 0)
		*result = "sluice-none"; /* never open sasldb */
	else
		return SASL_FAIL;
	if (len != NULL)
		*len = (unsigned)strlen(*result);
	return SASL_OK;
}

static int sasl_log_cb(void *context, int level, const char *message)
{
	(void)context;
	/* Cyrus SASL's own lines may name users but never passwords (level PASS is dropped). */
	if (level == SASL_LOG_PASS || message == NULL)
		return SASL_OK;
	log_debug("sasl: %s", message);
	return SASL_OK;
}

static void *mutex_alloc(void)
{
	pthread_mutex_t *m = xmalloc(sizeof(*m));
	pthread_mutex_init(m, NULL);
	return m;
}

static int mutex_lock(void *m)
{
	return pthread_mutex_lock(m) == 0 ? SASL_OK : SASL_FAIL;
}

static int mutex_unlock(void *m)
{
	return pthread_mutex_unlock(m) == 0 ? SASL_OK : SASL_FAIL;
}

static void mutex_free(void *m)
{
	pthread_mutex_destroy(m);
	free(m);
}

int sasl_server_setup(const char **error_r)
{
	static sasl_callback_t global_callbacks[] = {
		{SASL_CB_GETOPT, (int (*)(void))(void (*)(void))sasl_getopt_cb, NULL},
		{SASL_CB_LOG, (int (*)(void))(void (*)(void))sasl_log_cb, NULL},
		{SASL_CB_LIST_END, NULL, NULL},
	};
	int rc;

	sasl_set_mutex(mutex_alloc, mutex_lock, mutex_unlock, mutex_free);
	rc = sasl_server_init(global_callbacks, "sluice");
	if (rc != SASL_OK) {
		*error_r = errorf("Cyrus SASL initialisation failed: %s", sasl_errstring(rc, NULL, NULL));
		return -1;
	}
	return 0;
}

/* Cyrus SASL's checkpass hook: ask sluice-authd. */
static int checkpass_cb(sasl_conn_t *conn, void *context, const char *user, const char *pass,
			unsigned passlen, struct propctx *propctx)
{
	struct sasl_session *s = context;
	struct auth_client_request req = {
		.service = s->service,
		.user = user,
		.password = pass,
		.password_len = passlen,
		.client_ip = s->client_ip,
	};
	const char *error = NULL;
	char *canonical = NULL;

	(void)conn;
	(void)propctx;
	switch (auth_client_verify(s->auth_socket, s->set.auth_timeout_ms, &req, &canonical, &error)) {
	case AUTH_CLIENT_OK:
		free(s->user);
		s->user = canonical;
		s->outcome = CHECK_OK;
		return SASL_OK;
	case AUTH_CLIENT_FAIL:
		s->outcome = CHECK_FAIL;
		return SASL_BADAUTH;
	case AUTH_CLIENT_TEMPFAIL:
		log_warn("authentication unavailable: %s", error);
		s->outcome = CHECK_TEMPFAIL;
		return SASL_TRYAGAIN;
	}
	s->outcome = CHECK_TEMPFAIL;
	return SASL_TRYAGAIN;
}

static int new_conn(struct sasl_session *s, const char **error_r)
{
	sasl_security_properties_t secprops;
	int rc;

	rc = sasl_server_new(s->service, NULL, NULL, NULL, NULL, s->callbacks, 0, &s->conn);
	if (rc != SASL_OK) {
		*error_r = errorf("sasl_server_new: %s", sasl_errstring(rc, NULL, NULL));
		s->conn = NULL;
		return -1;
	}
	/* Plaintext mechanisms are allowed: the protocols decide when (after TLS). */
	memset(&secprops, 0, sizeof(secprops));
	secprops.security_flags = SASL_SEC_NOANONYMOUS;
	rc = sasl_setprop(s->conn, SASL_SEC_PROPS, &secprops);
	if (rc != SASL_OK) {
		*error_r = errorf("sasl_setprop: %s", sasl_errstring(rc, NULL, NULL));
		sasl_dispose(&s->conn);
		return -1;
	}
	s->outcome = CHECK_NONE;
	return 0;
}

int sasl_session_create(const struct sasl_session_settings *set, struct sasl_session **s_r,
			const char **error_r)
{
	struct sasl_session *s = xcalloc(1, sizeof(*s));

	s->set = *set;
	s->service = xstrdup(set->service);
	s->auth_socket = xstrdup(set->auth_socket);
	s->client_ip = set->client_ip != NULL ? xstrdup(set->client_ip) : NULL;
	s->callbacks[0].id = SASL_CB_SERVER_USERDB_CHECKPASS;
	s->callbacks[0].proc = (int (*)(void))(void (*)(void))checkpass_cb;
	s->callbacks[0].context = s;
	s->callbacks[1].id = SASL_CB_LIST_END;
	if (new_conn(s, error_r) < 0) {
		sasl_session_destroy(&s);
		return -1;
	}
	*s_r = s;
	return 0;
}

void sasl_session_destroy(struct sasl_session **sp)
{
	struct sasl_session *s = *sp;

	if (s == NULL)
		return;
	if (s->conn != NULL)
		sasl_dispose(&s->conn);
	free(s->service);
	free(s->auth_socket);
	free(s->client_ip);
	free(s->user);
	free(s);
	*sp = NULL;
}

int sasl_session_reset(struct sasl_session *s, const char **error_r)
{
	if (s->conn != NULL)
		sasl_dispose(&s->conn);
	free(s->user);
	s->user = NULL;
	return new_conn(s, error_r);
}

const char *sasl_session_mechanisms(const struct sasl_session *s)
{
	(void)s;
	return SASL_MECHANISMS;
}

static int mech_offered(const char *mech)
{
	const char *p = SASL_MECHANISMS;
	size_t len = strlen(mech);

	while (*p != '\0') {
		size_t n = strcspn(p, " ");
		if (n == len && strncasecmp(p, mech, len) == 0)
			return 1;
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

static enum sasl_step interpret(struct sasl_session *s, int rc, const char *out, unsigned out_len,
				const char **out_r, size_t *out_len_r)
{
	*out_r = out;
	*out_len_r = out_len;
	/* Our hook's outcome wins over the code Cyrus SASL passes back. */
	if (s->outcome == CHECK_TEMPFAIL)
		return SASL_STEP_TEMPFAIL;
	switch (rc) {
	case SASL_CONTINUE:
		return SASL_STEP_CONTINUE;
	case SASL_OK:
		return s->outcome == CHECK_OK && s->user != NULL ? SASL_STEP_OK : SASL_STEP_FAIL;
	case SASL_NOMECH:
		return s->outcome == CHECK_NONE ? SASL_STEP_NOMECH : SASL_STEP_FAIL;
	case SASL_TRYAGAIN:
	case SASL_NOMEM:
		return SASL_STEP_TEMPFAIL;
	default:
		return SASL_STEP_FAIL;
	}
}

enum sasl_step sasl_session_start(struct sasl_session *s, const char *mech, const void *in,
				  size_t in_len, const char **out_r, size_t *out_len_r)
{
	const char *out = NULL;
	unsigned out_len = 0;
	int rc;

	*out_r = NULL;
	*out_len_r = 0;
	if (!mech_offered(mech))
		return SASL_STEP_NOMECH;
	if (in_len > 65535)
		return SASL_STEP_FAIL;
	s->outcome = CHECK_NONE;
	/* Cyrus SASL takes "" for an empty initial response and NULL for none. */
	rc = sasl_server_start(s->conn, mech, in != NULL ? (const char *)in : NULL, (unsigned)in_len,
			       &out, &out_len);
	return interpret(s, rc, out, out_len, out_r, out_len_r);
}

enum sasl_step sasl_session_step(struct sasl_session *s, const void *in, size_t in_len,
				 const char **out_r, size_t *out_len_r)
{
	const char *out = NULL;
	unsigned out_len = 0;
	int rc;

	*out_r = NULL;
	*out_len_r = 0;
	if (in_len > 65535)
		return SASL_STEP_FAIL;
	rc = sasl_server_step(s->conn, in_len > 0 ? (const char *)in : "", (unsigned)in_len, &out,
			      &out_len);
	return interpret(s, rc, out, out_len, out_r, out_len_r);
}

const char *sasl_session_user(const struct sasl_session *s)
{
	return s->outcome == CHECK_OK ? s->user : NULL;
}

void sasl_base64_encode(const void *data, size_t len, struct sbuf *out)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *tmp = xmalloc(n);

	sodium_bin2base64(tmp, n, data, len, sodium_base64_VARIANT_ORIGINAL);
	sbuf_append(out, tmp, n - 1);
	free(tmp);
}

int sasl_base64_decode(const char *text, size_t len, struct sbuf *out)
{
	size_t max = len / 4 * 3 + 3, got = 0;
	unsigned char *tmp = xmalloc(max);
	int rc;

	rc = sodium_base642bin(tmp, max, text, len, NULL, &got, NULL,
			       sodium_base64_VARIANT_ORIGINAL);
	if (rc == 0)
		sbuf_append(out, tmp, got);
	sodium_memzero(tmp, max);
	free(tmp);
	return rc == 0 ? 0 : -1;
}
