/*
 * sieve_ext_enotify.c: notifications (RFC 5435) with the mailto method
 * (RFC 5436): the notify action, the valid_notify_method and
 * notify_method_capability tests. (The :encodeurl modifier is in
 * sieve_strings.c.)
 *
 * mailto URIs (RFC 6068) are parsed here: recipients from the path and the
 * "to"/"cc" fields, "subject" and "body"; other header fields are ignored
 * (RFC 5436 2.2). A URI with an invalid recipient is invalid: a compile
 * error when constant, a runtime error otherwise; one with no recipient at
 * all is valid but sends nothing. A notification about a message
 * that is itself auto-submitted is not sent (RFC 5436 2.7).
 */
#include "sieve_private.h"
#include "sieve_commands.h"

#include <string.h>

#define NOTIFY_MAX_RECIPIENTS 16

struct mailto {
	char *recipients[NOTIFY_MAX_RECIPIENTS];
	size_t nrecipients;
	char *subject, *body;
};

static void mailto_clear(struct mailto *m)
{
	size_t i;

	for (i = 0; i < m->nrecipients; i++)
		free(m->recipients[i]);
	free(m->subject);
	free(m->body);
	memset(m, 0, sizeof(*m));
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..len); -1 on a bad escape or a NUL. */
static int pct_decode(const char *s, size_t len, struct sbuf *out)
{
	size_t i;

	sbuf_reset(out);
	sbuf_append(out, "", 0);
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= len || hexv(s[i + 1]) < 0 || hexv(s[i + 2]) < 0)
				return -1;
			c = (char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
			if (c == '\0')
				return -1;
			i += 2;
		}
		sbuf_append(out, &c, 1);
	}
	return 0;
}

/* Add the comma-separated addresses of s[0..len) (percent-encoded). */
static int add_recipients(struct mailto *m, const char *s, size_t len)
{
	struct sbuf dec = {0};
	size_t start = 0, i;
	char buf[512];
	int r = 0;

	for (i = 0; i <= len && r == 0; i++) {
		if (i < len && s[i] != ',')
			continue;
		if (i > start) {
			if (pct_decode(s + start, i - start, &dec) < 0 ||
			    sieve_address_normalize(dec.data, dec.len, buf, sizeof(buf)) < 0 ||
			    m->nrecipients >= NOTIFY_MAX_RECIPIENTS)
				r = -1;
			else
				m->recipients[m->nrecipients++] = xstrdup(buf);
		}
		start = i + 1;
	}
	sbuf_free(&dec);
	return r;
}

static int mailto_parse(const char *uri, struct mailto *m)
{
	const char *q, *p;
	struct sbuf dec = {0};

	memset(m, 0, sizeof(*m));
	if (strncasecmp(uri, "mailto:", 7) != 0)
		return -1;
	uri += 7;
	q = strchr(uri, '?');
	if (add_recipients(m, uri, q != NULL ? (size_t)(q - uri) : strlen(uri)) < 0)
		goto fail;
	for (p = q != NULL ? q + 1 : NULL; p != NULL && *p != '\0';) {
		size_t flen = strcspn(p, "&"), nlen = strcspn(p, "=");
		if (nlen >= flen)
			goto fail;
		if (ascii_strncaseeq(p, nlen, "to") || ascii_strncaseeq(p, nlen, "cc")) {
			if (add_recipients(m, p + nlen + 1, flen - nlen - 1) < 0)
				goto fail;
		} else if (ascii_strncaseeq(p, nlen, "subject") ||
		           ascii_strncaseeq(p, nlen, "body")) {
			char **dst = ascii_strncaseeq(p, nlen, "body") ? &m->body : &m->subject;
			if (pct_decode(p + nlen + 1, flen - nlen - 1, &dec) < 0)
				goto fail;
			free(*dst);
			*dst = xstrdup(sbuf_str(&dec));
		}
		p += flen;
		if (*p == '&')
			p++;
	}
	sbuf_free(&dec);
	/* "mailto:" with no recipient is valid (RFC 6068 2); nothing is sent. */
	return 0;
fail:
	sbuf_free(&dec);
	mailto_clear(m);
	return -1;
}

static int method_valid(const char *uri)
{
	struct mailto m;

	if (mailto_parse(uri, &m) < 0)
		return 0;
	mailto_clear(&m);
	return 1;
}

SIEVE_VALIDATE(notify)
{
	const struct sieve_string *method = &node->pos[0]->strs[0];
	struct sieve_arg *a;
	char buf[512];

	if (method->is_const && !method_valid(method->data))
		return sieve_vc_error(vc, method->line, method->column,
		                      "notify: unsupported or invalid method '%s'", method->data);
	a = sieve_node_tag(node, TAG_FROM);
	if (a != NULL && a->strs[0].is_const &&
	    sieve_address_normalize(a->strs[0].data, a->strs[0].len, buf, sizeof(buf)) < 0)
		return sieve_vc_error(vc, a->line, a->column, "notify: invalid :from address");
	a = sieve_node_tag(node, TAG_IMPORTANCE);
	if (a != NULL && a->strs[0].is_const && strcmp(a->strs[0].data, "1") != 0 &&
	    strcmp(a->strs[0].data, "2") != 0 && strcmp(a->strs[0].data, "3") != 0)
		return sieve_vc_error(vc, a->line, a->column,
		                      "notify: :importance must be \"1\", \"2\" or \"3\"");
	return 0;
}

SIEVE_EXEC(notify)
{
	const struct message_header *hdr = &run->msg->header;
	const struct message_field *f;
	struct sieve_notify *n = xcalloc(1, sizeof(*n));
	struct sieve_arg *a;
	struct mailto m;
	struct sbuf tmp = {0};
	char buf[512];
	size_t i;

	n->method = sieve_expand_dup(run, &node->pos[0]->strs[0]);
	if (mailto_parse(n->method, &m) < 0) {
		sieve_notify_free(n);
		return sieve_run_error(run, "notify: invalid method");
	}
	n->importance = 2;
	if ((a = sieve_node_tag(node, TAG_IMPORTANCE)) != NULL) {
		char *imp = sieve_expand_dup(run, &a->strs[0]);
		if (imp[0] >= '1' && imp[0] <= '3' && imp[1] == '\0')
			n->importance = imp[0] - '0';
		free(imp);
	}
	if ((a = sieve_node_tag(node, TAG_FROM)) != NULL) {
		char *from = sieve_expand_dup(run, &a->strs[0]);
		if (sieve_address_normalize(from, strlen(from), buf, sizeof(buf)) == 0)
			n->from = xstrdup(buf);
		free(from);
	}
	if ((a = sieve_node_tag(node, TAG_OPTIONS)) != NULL) {
		n->options = xcalloc(a->nstrs + 1, sizeof(char *));
		for (i = 0; i < a->nstrs; i++)
			n->options[n->noptions++] = sieve_expand_dup(run, &a->strs[i]);
	}
	if ((a = sieve_node_tag(node, TAG_MESSAGE)) != NULL) {
		n->message = sieve_expand_dup(run, &a->strs[0]);
	} else {
		/* RFC 5435 3.5: the default message names the sender and the subject. */
		sbuf_append_str(&tmp, "[SIEVE] ");
		if ((f = message_header_get(hdr, "from", 0)) != NULL)
			mime_header_decode(f->value, f->value_len, &tmp);
		sbuf_append_str(&tmp, ": ");
		if ((f = message_header_get(hdr, "subject", 0)) != NULL)
			mime_header_decode(f->value, f->value_len, &tmp);
		n->message = xstrdup(sbuf_str(&tmp));
	}
	n->recipients = xcalloc(m.nrecipients + 1, sizeof(char *));
	for (i = 0; i < m.nrecipients; i++) {
		n->recipients[i] = m.recipients[i];
		m.recipients[i] = NULL;
	}
	n->nrecipients = m.nrecipients;
	m.nrecipients = 0;
	n->subject = xstrdup(m.subject != NULL ? m.subject : n->message);
	n->body = m.body;
	m.body = NULL;
	mailto_clear(&m);
	f = message_header_get(hdr, "auto-submitted", 0);
	n->send =
	    n->nrecipients > 0 && (f == NULL || ascii_strncaseeq(f->value, f->value_len, "no"));
	sbuf_free(&tmp);
	return sieve_result_add_notify(run, n);
}

SIEVE_TEST(valid_notify_method)
{
	struct sbuf uri = {0};
	size_t i;
	int ok = 1;

	for (i = 0; i < node->pos[0]->nstrs && ok; i++) {
		sieve_expand(run, &node->pos[0]->strs[i], &uri);
		ok = method_valid(sbuf_str(&uri));
	}
	sbuf_free(&uri);
	return ok;
}

/* RFC 5435 5: the only capability is "online"; for mail it is never known: "maybe". */
SIEVE_TEST(notify_method_capability)
{
	struct sieve_matcher m;
	struct sbuf uri = {0}, cap = {0};

	sieve_matcher_init(&m, run, node, node->pos[2]);
	sieve_expand(run, &node->pos[0]->strs[0], &uri);
	sieve_expand(run, &node->pos[1]->strs[0], &cap);
	if (method_valid(sbuf_str(&uri)) && strcasecmp(sbuf_str(&cap), "online") == 0)
		sieve_matcher_value(&m, "maybe", 5);
	sbuf_free(&uri);
	sbuf_free(&cap);
	return sieve_matcher_finish(&m);
}
