/*
 * imap_cmd_any.c: the commands that change no mailbox: CAPABILITY, NOOP,
 * LOGOUT (RFC 3501 6.1), ID (RFC 2971), ENABLE (RFC 5161), NAMESPACE
 * (RFC 2342) and COMPRESS (RFC 4978, the relay is imap_compress.c).
 * ENABLE switches on only extensions this server implements and lists in
 * CAPABILITY; the session's `enabled` bits are what the other commands
 * consult.
 */
#include "imap_commands.h"

#include "imap_compress.h"
#include "iostream.h"
#include "log.h"
#include "server.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void imap_cmd_capability(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	struct sbuf caps = {0};

	(void)args;
	if (nargs != 0) {
		imap_tagged(sess, "BAD CAPABILITY takes no arguments");
		return;
	}
	imap_capabilities(sess, &caps);
	imap_untagged(sess, "CAPABILITY %s", sbuf_str(&caps));
	sbuf_free(&caps);
}

void imap_cmd_noop(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	(void)args;
	/* RFC 3501 6.1.2: the point is the untagged updates the session sends after it */
	if (nargs != 0)
		imap_tagged(sess, "BAD NOOP takes no arguments");
}

void imap_cmd_logout(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	(void)args;
	if (nargs != 0) {
		imap_tagged(sess, "BAD LOGOUT takes no arguments");
		return;
	}
	/* RFC 3501 6.1.3: BYE, then the tagged OK, then close */
	imap_untagged(sess, "BYE Logging out");
	imap_tagged(sess, "OK LOGOUT completed");
	sess->state = IMAP_STATE_LOGOUT;
}

/* RFC 2971 3.3: at most 30 pairs, names of 30 octets, values of 1024. */
#define ID_MAX_PAIRS 30
#define ID_MAX_NAME 30
#define ID_MAX_VALUE 1024

void imap_cmd_id(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	char logbuf[LOG_UNTRUSTED_BUFSZ];
	struct sbuf seen = {0};

	if (nargs != 1 || (!imap_arg_is_atom(&args[0], "NIL") && args[0].type != IMAP_ARG_LIST)) {
		imap_tagged(sess, "BAD Syntax: ID (name value ...) or ID NIL");
		return;
	}
	if (args[0].type == IMAP_ARG_LIST) {
		const struct imap_arg *l = args[0].list;
		size_t n = args[0].count;

		if (n % 2 != 0 || n / 2 > ID_MAX_PAIRS) {
			imap_tagged(sess, "BAD ID takes up to 30 name/value pairs");
			return;
		}
		for (size_t i = 0; i < n; i += 2) {
			const char *name = imap_arg_string(&l[i]);
			const char *value = imap_arg_string(&l[i + 1]);

			if (name == NULL || strlen(name) > ID_MAX_NAME ||
			    (value == NULL && !imap_arg_is_atom(&l[i + 1], "NIL")) ||
			    (value != NULL && strlen(value) > ID_MAX_VALUE)) {
				imap_tagged(sess, "BAD Invalid ID field");
				sbuf_free(&seen);
				return;
			}
			if (value != NULL && (strcasecmp(name, "name") == 0 ||
					      strcasecmp(name, "version") == 0))
				sbuf_appendf(&seen, "%s%s", seen.len > 0 ? " " : "", value);
		}
	}
	if (seen.len > 0)
		log_info("client: %s", log_untrusted(logbuf, seen.data, seen.len));
	sbuf_free(&seen);
	imap_untagged(sess, "ID (\"name\" \"Sluice\" \"version\" \"%s\")", SLUICE_VERSION);
}

struct enable_ext {
	const char *name;
	unsigned int bits;
};

/* What ENABLE accepts: only extensions that work and are advertised. */
static const struct enable_ext enable_exts[] = {
    {"CONDSTORE", IMAP_ENABLED_CONDSTORE},
    /* RFC 7162 3.2.3: QRESYNC implies CONDSTORE */
    {"QRESYNC", IMAP_ENABLED_QRESYNC | IMAP_ENABLED_CONDSTORE},
    {"UTF8=ACCEPT", IMAP_ENABLED_UTF8},
    /* RFC 9051 3: the IMAP4rev2 behaviour (UTF-8 names, ESEARCH, no \\Recent) */
    {"IMAP4rev2", IMAP_ENABLED_REV2},
};

void imap_cmd_enable(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	struct sbuf enabled = {0};

	if (nargs == 0) {
		imap_tagged(sess, "BAD Syntax: ENABLE capability...");
		return;
	}
	for (size_t i = 0; i < nargs; i++) {
		if (args[i].type != IMAP_ARG_ATOM) {
			imap_tagged(sess, "BAD Syntax: ENABLE capability...");
			sbuf_free(&enabled);
			return;
		}
		for (size_t k = 0; k < ARRAY_SIZE(enable_exts); k++) {
			const struct enable_ext *e = &enable_exts[k];

			/* RFC 5161 3.2: list only what this command newly enabled */
			if (strcasecmp(args[i].str, e->name) != 0 ||
			    (sess->enabled & e->bits) == e->bits)
				continue;
			sess->enabled |= e->bits;
			sbuf_appendf(&enabled, " %s", e->name);
		}
	}
	imap_untagged(sess, "ENABLED%s", sbuf_str(&enabled));
	sbuf_free(&enabled);
}

void imap_cmd_namespace(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	(void)args;
	if (nargs != 0) {
		imap_tagged(sess, "BAD NAMESPACE takes no arguments");
		return;
	}
	/* RFC 2342 5: one personal namespace, no others; '/' separates levels */
	imap_untagged(sess, "NAMESPACE ((\"\" \"/\")) NIL NIL");
}

void imap_cmd_compress(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	struct iostream *inner;
	const char *error;
	bool tls = imap_is_tls(sess);

	if (nargs != 1 || !imap_arg_is_atom(&args[0], "DEFLATE")) {
		imap_tagged(sess, "BAD Syntax: COMPRESS DEFLATE");
		return;
	}
	if (sess->compress != NULL) {
		imap_tagged(sess, "NO [COMPRESSIONACTIVE] DEFLATE is active already");
		return;
	}
	/* RFC 4978 3: the OK is the last thing sent without compression */
	iostream_printf(sess->s, "%s OK DEFLATE active\r\n", sess->tag);
	sess->tag = NULL;
	if (iostream_flush(sess->s) != IOSTREAM_OK) {
		sess->state = IMAP_STATE_LOGOUT;
		return;
	}
	if (imap_compress_start(sess->s, &sess->compress, &inner, &error) < 0) {
		log_error("COMPRESS: %s", error);
		sess->state = IMAP_STATE_LOGOUT;
		return;
	}
	sess->tls_under_compress = tls;
	iostream_set_timeouts(inner, (int)sess->d->set.idle_timeout_ms, IMAPD_WRITE_TIMEOUT_MS);
	iostream_set_interrupt_fd(inner, server_stop_fd(sess->d->server));
	sess->s = inner;
}
