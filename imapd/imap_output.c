/*
 * imap_output.c: what sluice-imapd writes to clients: untagged and tagged
 * responses, strings (quoted or literal, RFC 3501 4.3), mailbox names in
 * the session's encoding (modified UTF-7, or UTF-8 after ENABLE), the
 * capability list, store failures as response codes (RFC 5530), and the
 * reverse: a client's mailbox name checked and made a store folder name.
 * Touches only the session's stream and buffers.
 */
#include "imapd.h"

#include "imap_utf7.h"
#include "iostream.h"
#include "log.h"
#include "server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Strings longer than this go as literals even when they could be quoted. */
#define QUOTED_MAX 1024

void imap_write(struct imap_session *sess, const void *data, size_t len)
{
	iostream_write(sess->s, data, len);
}

static void vformat(struct sbuf *out, const char *fmt, va_list ap)
{
	char buf[512];
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(buf, sizeof(buf), fmt, copy);
	va_end(copy);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(buf)) {
		sbuf_append(out, buf, (size_t)n);
	} else {
		char *big = xmalloc((size_t)n + 1);

		vsnprintf(big, (size_t)n + 1, fmt, ap);
		sbuf_append(out, big, (size_t)n);
		free(big);
	}
}

void imap_untagged(struct imap_session *sess, const char *fmt, ...)
{
	struct sbuf line = {0};
	va_list ap;

	sbuf_append(&line, "* ", 2);
	va_start(ap, fmt);
	vformat(&line, fmt, ap);
	va_end(ap);
	sbuf_append(&line, "\r\n", 2);
	iostream_write(sess->s, line.data, line.len);
	sbuf_free(&line);
}

void imap_tagged(struct imap_session *sess, const char *fmt, ...)
{
	va_list ap;

	sbuf_reset(&sess->tagged);
	va_start(ap, fmt);
	vformat(&sess->tagged, fmt, ap);
	va_end(ap);
}

void imap_tagged_store_error(struct imap_session *sess, int status, const char *error)
{
	switch (status) {
	case STORE_TEMPFAIL:
		log_warn("temporary failure: %s", error != NULL ? error : "database unavailable");
		imap_tagged(sess, "NO [UNAVAILABLE] Temporary failure, please try again later");
		break;
	case STORE_DISK_FULL:
		log_error("mail store: %s", error != NULL ? error : "disk full");
		imap_tagged(sess, "NO [UNAVAILABLE] Not enough disk space, please try again later");
		break;
	case STORE_OVER_QUOTA:
	case STORE_OVER_DOMAIN_QUOTA:
		imap_tagged(sess, "NO [OVERQUOTA] Quota exceeded");
		break;
	case STORE_NOT_FOUND:
		imap_tagged(sess, "NO [NONEXISTENT] No such mailbox");
		break;
	case STORE_EXISTS:
		imap_tagged(sess, "NO [ALREADYEXISTS] Mailbox already exists");
		break;
	case STORE_INVALID:
		imap_tagged(sess, "NO [CANNOT] %s", error != NULL ? error : "Not permitted");
		break;
	default:
		log_error("mail store: %s: %s", store_status_name(status),
			  error != NULL ? error : "");
		imap_tagged(sess, "NO [SERVERBUG] Internal error");
		break;
	}
}

static bool quotable(const char *s, size_t len, bool utf8)
{
	if (len > QUOTED_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* RFC 3501 9: QUOTED-CHAR is 7-bit without CR, LF; RFC 9051 adds UTF-8 */
		if (c == 0 || c == '\r' || c == '\n' || (c >= 0x80 && !utf8))
			return false;
	}
	return true;
}

static void append_quoted(struct sbuf *out, const char *s, size_t len)
{
	sbuf_append(out, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			sbuf_append(out, "\\", 1);
		sbuf_append(out, &s[i], 1);
	}
	sbuf_append(out, "\"", 1);
}

static void append_literal(struct sbuf *out, const char *s, size_t len)
{
	sbuf_appendf(out, "{%zu}\r\n", len);
	sbuf_append(out, s, len);
}

void imap_append_string(struct sbuf *out, const char *s, size_t len)
{
	if (quotable(s, len, false))
		append_quoted(out, s, len);
	else
		append_literal(out, s, len);
}

void imap_append_astring(struct sbuf *out, const char *s, size_t len)
{
	bool atom = len > 0 && !(len == 3 && strncasecmp(s, "NIL", 3) == 0);

	for (size_t i = 0; i < len && atom; i++) {
		unsigned char c = (unsigned char)s[i];

		atom = c > 0x20 && c < 0x7f && strchr("(){ %*\"\\", c) == NULL;
	}
	if (atom)
		sbuf_append(out, s, len);
	else
		imap_append_string(out, s, len);
}

void imap_format_datetime(int64_t epoch, char *buf)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)epoch;
	struct tm tm;

	gmtime_r(&t, &tm);
	/* date-day-fixed: a space before a one-digit day */
	snprintf(buf, IMAP_DATETIME_BUFSZ, "%2d-%s-%04d %02d:%02d:%02d +0000", tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

bool imap_is_tls(const struct imap_session *sess)
{
	return sess->compress != NULL ? sess->tls_under_compress : iostream_is_tls(sess->s);
}

bool imap_utf8_names(const struct imap_session *sess)
{
	return (sess->enabled & (IMAP_ENABLED_UTF8 | IMAP_ENABLED_REV2)) != 0;
}

void imap_append_mailbox(const struct imap_session *sess, struct sbuf *out, const char *name)
{
	size_t len = strlen(name);

	if (imap_utf8_names(sess)) {
		if (quotable(name, len, true))
			append_quoted(out, name, len);
		else
			append_literal(out, name, len);
		return;
	}
	{
		struct sbuf enc = {0};

		if (imap_utf8_to_utf7(name, len, &enc) < 0)
			sbuf_append(&enc, name, len); /* the store holds only UTF-8 */
		imap_append_string(out, sbuf_str(&enc), enc.len);
		sbuf_free(&enc);
	}
}

/* Extensions, in the order CAPABILITY lists them. */
static const char *const extensions[] = {
    "LITERAL+",      "LITERAL-",    "SASL-IR",           "ID",                 "ENABLE",
    "NAMESPACE",     "UNSELECT",    "CHILDREN",          "LIST-EXTENDED",      "LIST-STATUS",
    "SPECIAL-USE",   "CREATE-SPECIAL-USE",               "STATUS=SIZE",        "UIDPLUS",
    "MOVE",          "CONDSTORE",   "QRESYNC",           "QUOTA",              "QUOTA=RES-STORAGE",
    "QUOTA=RES-MESSAGE",            "MULTIAPPEND",       "BINARY",             "UTF8=ACCEPT",
    "IDLE",          "ESEARCH",     "SEARCHRES",         "SORT",               "COMPRESS=DEFLATE",
    "THREAD=REFERENCES",            "THREAD=ORDEREDSUBJECT",
};

void imap_capabilities(const struct imap_session *sess, struct sbuf *out)
{
	bool tls = imap_is_tls(sess);

	sbuf_append_str(out, "IMAP4rev1 IMAP4rev2");
	for (size_t i = 0; i < ARRAY_SIZE(extensions); i++)
		sbuf_appendf(out, " %s", extensions[i]);
	/* RFC 7889 */
	sbuf_appendf(out, " APPENDLIMIT=%lld", (long long)sess->d->set.max_message_size);
	if (sess->state != IMAP_STATE_NOT_AUTH)
		return;
	if (!tls && sess->d->tls != NULL)
		sbuf_append_str(out, " STARTTLS");
	/* RFC 3501 6.2.3, 7.2.1: no plaintext passwords without TLS unless allowed */
	if (!tls && !sess->d->set.plaintext_auth && !sess->conn->peer_loopback)
		sbuf_append_str(out, " LOGINDISABLED");
	else
		sbuf_append_str(out, " AUTH=PLAIN AUTH=LOGIN");
}

/* A folder name's levels: none empty, none "." or "..". */
static bool levels_ok(const char *name)
{
	const char *p = name;

	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (slash == NULL)
			return true;
		p = slash + 1;
	}
}

int imap_mailbox_name(const struct imap_session *sess, const struct imap_arg *arg, char *buf,
		      const char **error_r)
{
	const char *text = imap_arg_astring(arg);
	struct sbuf dec = {0};

	if (text == NULL) {
		*error_r = "Invalid mailbox name";
		return -1;
	}
	if (imap_utf8_names(sess))
		sbuf_append(&dec, text, strlen(text));
	else if (imap_utf7_to_utf8(text, strlen(text), &dec) < 0) {
		sbuf_free(&dec);
		*error_r = "Invalid modified UTF-7 in mailbox name";
		return -1;
	}
	if (dec.len == 0 || dec.len > STORE_FOLDER_NAME_MAX) {
		*error_r = dec.len == 0 ? "Empty mailbox name" : "Mailbox name too long";
		sbuf_free(&dec);
		return -1;
	}
	memcpy(buf, dec.data, dec.len + 1);
	sbuf_free(&dec);
	/* RFC 3501 5.1: INBOX in any case is the INBOX */
	if (strncasecmp(buf, "INBOX", 5) == 0 && (buf[5] == '\0' || buf[5] == '/'))
		memcpy(buf, "INBOX", 5);
	if (!levels_ok(buf) || !store_folder_name_valid(buf)) {
		*error_r = "Invalid mailbox name";
		return -1;
	}
	return 0;
}
