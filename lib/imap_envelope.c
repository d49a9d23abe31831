/*
 * imap_envelope.c: the IMAP ENVELOPE, BODYSTRUCTURE, preview and the
 * header fields clients list, of a message (see imap_envelope.h), computed
 * when it is stored and cached in its index row; and the reader that takes
 * a cached ENVELOPE apart again.
 *
 * Trust: the input is untrusted message text, already parsed with limits by
 * lib/message.c and lib/mime.c; nothing here recurses deeper than the MIME
 * tree (bounded by max_mime_depth). Output strings are sanitized to UTF-8
 * without NULs. RFC 3501 7.4.2 and RFC 9051 7.5.2 give the formats.
 */
#include "imap_envelope.h"

#include "addr.h"

#include <stdio.h>
#include <string.h>

/* Address list elements taken from one header field at most. */
#define ENVELOPE_MAX_ADDRESSES 1000

/* Whether s can be sent as an IMAP quoted string (RFC 3501 9: QUOTED-CHAR). */
static bool quotable(const char *s, size_t len)
{
	if (len > 1024)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

void imap_append_nstring(struct sbuf *out, const char *s, size_t len)
{
	struct sbuf clean = {0};

	if (s == NULL) {
		sbuf_append_str(out, "NIL");
		return;
	}
	/* valid UTF-8, no NUL: the result goes into a text column */
	mime_utf8_sanitize(s, len, &clean);
	s = sbuf_str(&clean);
	len = 0;
	for (size_t i = 0; i < clean.len; i++) {
		if (clean.data[i] != '\0')
			clean.data[len++] = clean.data[i];
	}
	if (quotable(s, len)) {
		sbuf_append(out, "\"", 1);
		for (size_t i = 0; i < len; i++) {
			if (s[i] == '"' || s[i] == '\\')
				sbuf_append(out, "\\", 1);
			sbuf_append(out, s + i, 1);
		}
		sbuf_append(out, "\"", 1);
	} else {
		sbuf_appendf(out, "{%zu}\r\n", len);
		sbuf_append(out, s, len);
	}
	sbuf_free(&clean);
}

/* --- the cached header fields --- */

/*
 * What Thunderbird, Apple Mail, Evolution, K-9, Roundcube and mutt list in
 * their HEADER.FIELDS, plus what threading and list views read.
 */
static const char *const cached_fields[] = {
    "bcc",
    "cc",
    "chat-version",
    "content-type",
    "date",
    "disposition-notification-to",
    "from",
    "importance",
    "in-reply-to",
    "list-id",
    "list-post",
    "list-unsubscribe",
    "message-id",
    "mime-version",
    "newsgroups",
    "priority",
    "references",
    "reply-to",
    "return-receipt-to",
    "sender",
    "subject",
    "to",
    "x-k9mail-identity",
    "x-mailer",
    "x-msmail-priority",
    "x-priority",
    "x-spam-flag",
    "x-uniform-type-identifier",
    "x-universally-unique-identifier",
};

/* Headers near the parser's limits are not cached: the prefix at FETCH time adds to them. */
#define CACHE_HEADER_MARGIN 8192
#define CACHE_FIELDS_MARGIN 16
/* A cached block larger than this is not worth a row's space: the file answers. */
#define CACHE_MAX 16384

bool imap_header_cached(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(cached_fields); i++) {
		if (ascii_strncaseeq(name, len, cached_fields[i]))
			return true;
	}
	return false;
}

static bool name_listed(char *const *names, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (ascii_strncaseeq(name, len, names[i]))
			return true;
	}
	return false;
}

/* A field as written: its name, the colon, its raw (folded) value, CRLF. */
static void append_field_line(struct sbuf *out, const struct message_field *f)
{
	sbuf_append(out, f->name, f->name_len);
	sbuf_append(out, ":", 1);
	sbuf_append(out, f->raw, f->raw_len);
	sbuf_append(out, "\r\n", 2);
}

void imap_header_fields(const struct message_header *hdr, char *const *names, size_t nnames,
                        bool listed, struct sbuf *out)
{
	for (size_t i = 0; i < hdr->count; i++) {
		const struct message_field *f = &hdr->fields[i];

		if (name_listed(names, nnames, f->name, f->name_len) == listed)
			append_field_line(out, f);
	}
	sbuf_append(out, "\r\n", 2);
}

/* UTF-8 text without NUL: what a text column takes. */
static bool text_column_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = mime_utf8_char_len(s + i, len - i);

		if (s[i] == '\0' || (n == 1 && (unsigned char)s[i] >= 0x80))
			return false;
		i += n;
	}
	return true;
}

bool imap_header_cache(const char *msg, size_t len, struct sbuf *out)
{
	struct message_limits lim;
	struct message_header hdr = {0};
	const char *error;
	size_t hsize = 0, start = out->len;
	bool ok;

	message_limits_default(&lim);
	if (len > 0 && (msg[0] == ' ' || msg[0] == '\t'))
		return false;
	if (message_header_parse(msg, len, NULL, &hdr, &hsize, &error) < 0)
		return false;
	ok = hsize + CACHE_HEADER_MARGIN <= lim.max_header_size &&
	     hdr.count + CACHE_FIELDS_MARGIN <= lim.max_fields;
	if (ok) {
		for (size_t i = 0; i < hdr.count; i++) {
			if (imap_header_cached(hdr.fields[i].name, hdr.fields[i].name_len))
				append_field_line(out, &hdr.fields[i]);
		}
		sbuf_append(out, "\r\n", 2);
		ok = out->len - start <= CACHE_MAX && text_column_ok(out->data + start, out->len - start);
	}
	message_header_clear(&hdr);
	if (!ok && out->data != NULL) {
		out->len = start;
		out->data[start] = '\0';
	}
	return ok;
}

/* --- reading a cached ENVELOPE back --- */

/* An nstring at *pp: NIL, a quoted string or a literal {n} CRLF. */
static bool read_nstring(const char **pp, const char *end, struct imap_env_string *s)
{
	const char *p = *pp;

	memset(s, 0, sizeof(*s));
	if (end - p >= 3 && memcmp(p, "NIL", 3) == 0) {
		*pp = p + 3;
		return true;
	}
	if (p < end && *p == '"') {
		s->data = ++p;
		while (p < end && *p != '"') {
			if (*p == '\\') {
				if (++p == end)
					return false;
				s->escaped = true;
			}
			p++;
		}
		if (p == end)
			return false;
		s->len = (size_t)(p - s->data);
		*pp = p + 1;
		return true;
	}
	if (p < end && *p == '{') {
		size_t n = 0;

		for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
			if (n > (size_t)(end - p))
				return false; /* longer than what is left */
			n = n * 10 + (size_t)(*p - '0');
		}
		if (end - p < 3 || memcmp(p, "}\r\n", 3) != 0 || n > (size_t)(end - p - 3))
			return false;
		s->data = p + 3;
		s->len = n;
		*pp = p + 3 + n;
		return true;
	}
	return false;
}

static bool read_char(const char **pp, const char *end, char c)
{
	if (*pp == end || **pp != c)
		return false;
	(*pp)++;
	return true;
}

/* NIL or "(" addresses ")": the span of the addresses. */
static bool read_list(const char **pp, const char *end, struct imap_env_list *l)
{
	const char *p = *pp;
	int depth = 0;

	l->p = l->end = p;
	if (end - p >= 3 && memcmp(p, "NIL", 3) == 0) {
		*pp = p + 3;
		return true;
	}
	if (!read_char(&p, end, '('))
		return false;
	l->p = p;
	/* find the closing parenthesis, stepping over strings */
	while (p < end) {
		struct imap_env_string skip;

		if (*p == '"' || *p == '{') {
			if (!read_nstring(&p, end, &skip))
				return false;
			continue;
		}
		if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			if (depth == 0) {
				l->end = p;
				*pp = p + 1;
				return true;
			}
			depth--;
		}
		p++;
	}
	return false;
}

int imap_env_read(const char *env, size_t len, struct imap_env *e)
{
	const char *p = env, *end = env + len;
	struct imap_env_string *strings[4] = {&e->date, &e->subject, &e->in_reply_to,
	                                      &e->message_id};

	memset(e, 0, sizeof(*e));
	if (!read_char(&p, end, '(') || !read_nstring(&p, end, strings[0]) ||
	    !read_char(&p, end, ' ') || !read_nstring(&p, end, strings[1]))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(e->addr); i++) {
		if (!read_char(&p, end, ' ') || !read_list(&p, end, &e->addr[i]))
			return -1;
	}
	for (size_t i = 2; i < ARRAY_SIZE(strings); i++) {
		if (!read_char(&p, end, ' ') || !read_nstring(&p, end, strings[i]))
			return -1;
	}
	return read_char(&p, end, ')') && p == end ? 0 : -1;
}

bool imap_env_next_address(struct imap_env_list *l, struct imap_env_address *a)
{
	const char *p = l->p;

	if (!read_char(&p, l->end, '(') || !read_nstring(&p, l->end, &a->name) ||
	    !read_char(&p, l->end, ' ') || !read_nstring(&p, l->end, &a->adl) ||
	    !read_char(&p, l->end, ' ') || !read_nstring(&p, l->end, &a->mailbox) ||
	    !read_char(&p, l->end, ' ') || !read_nstring(&p, l->end, &a->host) ||
	    !read_char(&p, l->end, ')')) {
		l->p = l->end;
		return false;
	}
	l->p = p;
	return true;
}

bool imap_env_string_append(const struct imap_env_string *s, struct sbuf *out)
{
	if (s->data == NULL)
		return false;
	if (!s->escaped) {
		sbuf_append(out, s->data, s->len);
		return true;
	}
	for (size_t i = 0; i < s->len; i++) {
		if (s->data[i] == '\\' && i + 1 < s->len)
			i++;
		sbuf_append(out, &s->data[i], 1);
	}
	return true;
}

static void append_cstr(struct sbuf *out, const char *s)
{
	imap_append_nstring(out, s, s != NULL ? strlen(s) : 0);
}

static void append_field(struct sbuf *out, const struct message_header *hdr, const char *name)
{
	const struct message_field *f = message_header_get(hdr, name, 0);

	if (f == NULL)
		sbuf_append_str(out, "NIL");
	else
		imap_append_nstring(out, f->value, f->value_len);
}

/* An address list field: "((name adl mailbox host) ...)" or NIL; returns the count. */
static unsigned append_addresses(struct sbuf *out, const struct message_field *f)
{
	struct addr_list it;
	struct addr_mailbox mb;
	const char *error;
	unsigned count = 0;
	int rc;

	if (f == NULL) {
		sbuf_append_str(out, "NIL");
		return 0;
	}
	addr_list_init(&it, f->value, f->value_len,
	               ADDR_SMTPUTF8 | ADDR_ALLOW_LITERAL | ADDR_ALLOW_NO_DOMAIN,
	               ENVELOPE_MAX_ADDRESSES);
	while ((rc = addr_list_next(&it, &mb, &error)) != 0) {
		if (rc < 0)
			continue; /* a bad element is left out */
		sbuf_append_str(out, count == 0 ? "((" : "(");
		if (mb.display[0] != '\0')
			append_cstr(out, mb.display);
		else
			sbuf_append_str(out, "NIL");
		sbuf_append_str(out, " NIL ");
		append_cstr(out, mb.addr.local);
		sbuf_append_str(out, " ");
		/* RFC 3501: NIL host means group syntax; a bare local part has no domain */
		append_cstr(out, mb.addr.domain[0] != '\0' ? mb.addr.domain : "MISSING_DOMAIN");
		sbuf_append_str(out, ")");
		count++;
	}
	sbuf_append_str(out, count > 0 ? ")" : "NIL");
	return count;
}

/* The first non-empty field of a name, for Sender and Reply-To defaults. */
static const struct message_field *nonempty(const struct message_header *hdr, const char *name)
{
	const struct message_field *f = message_header_get(hdr, name, 0);

	return f != NULL && f->value_len > 0 ? f : NULL;
}

void imap_envelope(const struct message_header *hdr, struct sbuf *out)
{
	const struct message_field *from = message_header_get(hdr, "from", 0);
	const struct message_field *f;

	sbuf_append_str(out, "(");
	append_field(out, hdr, "date");
	sbuf_append_str(out, " ");
	append_field(out, hdr, "subject");
	sbuf_append_str(out, " ");
	append_addresses(out, from);
	/* RFC 3501 7.4.2: absent or empty Sender and Reply-To are the From */
	sbuf_append_str(out, " ");
	f = nonempty(hdr, "sender");
	append_addresses(out, f != NULL ? f : from);
	sbuf_append_str(out, " ");
	f = nonempty(hdr, "reply-to");
	append_addresses(out, f != NULL ? f : from);
	sbuf_append_str(out, " ");
	append_addresses(out, message_header_get(hdr, "to", 0));
	sbuf_append_str(out, " ");
	append_addresses(out, message_header_get(hdr, "cc", 0));
	sbuf_append_str(out, " ");
	append_addresses(out, message_header_get(hdr, "bcc", 0));
	sbuf_append_str(out, " ");
	append_field(out, hdr, "in-reply-to");
	sbuf_append_str(out, " ");
	append_field(out, hdr, "message-id");
	sbuf_append_str(out, ")");
}

static void append_upper(struct sbuf *out, const char *s)
{
	char buf[128];
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < sizeof(buf); i++)
		buf[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) : s[i];
	buf[i] = '\0';
	append_cstr(out, buf);
}

static void append_params(struct sbuf *out, const struct mime_content_type *ct, bool text)
{
	bool has_charset = mime_content_type_param(ct, "charset") != NULL;

	if (ct->nparams == 0 && !text) {
		sbuf_append_str(out, "NIL");
		return;
	}
	sbuf_append_str(out, "(");
	for (size_t i = 0; i < ct->nparams; i++) {
		if (i > 0)
			sbuf_append_str(out, " ");
		append_upper(out, ct->params[i].name);
		sbuf_append_str(out, " ");
		append_cstr(out, ct->params[i].value);
	}
	/* RFC 2045 5.2: text without a charset is US-ASCII */
	if (text && !has_charset)
		sbuf_append_str(out, ct->nparams > 0 ? " \"CHARSET\" \"us-ascii\""
		                                     : "\"CHARSET\" \"us-ascii\"");
	sbuf_append_str(out, ")");
}

static size_t count_lines(const char *s, size_t len)
{
	size_t n = 0;

	for (const char *p = s; (p = memchr(p, '\n', len - (size_t)(p - s))) != NULL; p++)
		n++;
	if (len > 0 && s[len - 1] != '\n')
		n++;
	return n;
}

/* Content-Disposition (RFC 2183): ("type" (params)) or NIL. */
static void append_disposition(struct sbuf *out, const struct message_header *hdr)
{
	const struct message_field *f = message_header_get(hdr, "content-disposition", 0);
	struct mime_content_type ct = {0};
	struct sbuf v = {0};

	if (f == NULL) {
		sbuf_append_str(out, "NIL");
		return;
	}
	/* the same grammar as Content-Type after the slash: reuse its parser */
	sbuf_append_str(&v, "x/");
	sbuf_append(&v, f->value, f->value_len);
	if (mime_content_type_parse(v.data, v.len, &ct) < 0) {
		sbuf_append_str(out, "NIL");
	} else {
		sbuf_append_str(out, "(");
		append_upper(out, ct.subtype);
		sbuf_append_str(out, " ");
		append_params(out, &ct, false);
		sbuf_append_str(out, ")");
	}
	mime_content_type_clear(&ct);
	sbuf_free(&v);
}

/* Content-Language (RFC 3282): "tag", ("a" "b") or NIL. */
static void append_language(struct sbuf *out, const struct message_header *hdr)
{
	const struct message_field *f = message_header_get(hdr, "content-language", 0);
	char tags[8][64];
	size_t n = 0, i = 0;

	if (f != NULL) {
		while (i < f->value_len && n < 8) {
			size_t len = 0;

			while (i < f->value_len &&
			       (f->value[i] == ',' || f->value[i] == ' ' || f->value[i] == '\t'))
				i++;
			while (i < f->value_len && f->value[i] != ',' && f->value[i] != ' ' &&
			       f->value[i] != '\t') {
				if (len + 1 < sizeof(tags[0]))
					tags[n][len++] = f->value[i];
				i++;
			}
			if (len > 0) {
				tags[n][len] = '\0';
				n++;
			}
		}
	}
	if (n == 0) {
		sbuf_append_str(out, "NIL");
	} else if (n == 1) {
		append_cstr(out, tags[0]);
	} else {
		sbuf_append_str(out, "(");
		for (i = 0; i < n; i++) {
			if (i > 0)
				sbuf_append_str(out, " ");
			append_cstr(out, tags[i]);
		}
		sbuf_append_str(out, ")");
	}
}

static void append_part(struct sbuf *out, const struct mime_part *part, const char *data,
                        bool extended);

static void append_multipart(struct sbuf *out, const struct mime_part *part, const char *data,
                             bool extended)
{
	if (part->children == NULL) {
		/* IMAP needs at least one part: an empty text part stands in */
		sbuf_append_str(out, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL "
		                     "\"7BIT\" 0 0)");
	}
	for (const struct mime_part *c = part->children; c != NULL; c = c->next)
		append_part(out, c, data, extended);
	sbuf_append_str(out, " ");
	append_upper(out, part->ct.subtype);
	if (extended) {
		sbuf_append_str(out, " ");
		append_params(out, &part->ct, false);
		sbuf_append_str(out, " ");
		append_disposition(out, &part->header);
		sbuf_append_str(out, " ");
		append_language(out, &part->header);
		sbuf_append_str(out, " ");
		append_field(out, &part->header, "content-location");
	}
}

static void append_part(struct sbuf *out, const struct mime_part *part, const char *data,
                        bool extended)
{
	bool text = strcmp(part->ct.type, "text") == 0;
	bool rfc822 = strcmp(part->ct.type, "message") == 0 &&
	              strcmp(part->ct.subtype, "rfc822") == 0 && part->children != NULL;

	sbuf_append_str(out, "(");
	if (strcmp(part->ct.type, "multipart") == 0) {
		append_multipart(out, part, data, extended);
		sbuf_append_str(out, ")");
		return;
	}
	append_upper(out, part->ct.type);
	sbuf_append_str(out, " ");
	append_upper(out, part->ct.subtype);
	sbuf_append_str(out, " ");
	append_params(out, &part->ct, text);
	sbuf_append_str(out, " ");
	append_field(out, &part->header, "content-id");
	sbuf_append_str(out, " ");
	append_field(out, &part->header, "content-description");
	sbuf_append_str(out, " ");
	append_upper(out, part->encoding != NULL ? part->encoding : "7bit");
	sbuf_appendf(out, " %zu", part->body_len);
	if (rfc822) {
		sbuf_append_str(out, " ");
		imap_envelope(&part->children->header, out);
		sbuf_append_str(out, " ");
		append_part(out, part->children, data, extended);
	}
	if (text || rfc822)
		sbuf_appendf(out, " %zu", count_lines(data + part->body_offset, part->body_len));
	if (extended) {
		sbuf_append_str(out, " ");
		append_field(out, &part->header, "content-md5");
		sbuf_append_str(out, " ");
		append_disposition(out, &part->header);
		sbuf_append_str(out, " ");
		append_language(out, &part->header);
		sbuf_append_str(out, " ");
		append_field(out, &part->header, "content-location");
	}
	sbuf_append_str(out, ")");
}

void imap_bodystructure(const struct mime_part *root, const char *data, bool extended,
                        struct sbuf *out)
{
	append_part(out, root, data, extended);
}

static bool is_attachment(const struct mime_part *p)
{
	const struct message_field *f = message_header_get(&p->header, "content-disposition", 0);

	return f != NULL && f->value_len >= 10 && ascii_strncaseeq(f->value, 10, "attachment");
}

/* Strip HTML tags, drop <style>/<script> content, turn a few entities into text. */
static void html_to_text(const char *s, size_t len, struct sbuf *out)
{
	static const struct {
		const char *name, *text;
	} entities[] = {{"&nbsp;", " "}, {"&amp;", "&"},   {"&lt;", "<"},
	                {"&gt;", ">"},   {"&quot;", "\""}, {"&#39;", "'"}};
	size_t i = 0;

	while (i < len) {
		if (s[i] == '<') {
			bool skip_content = len - i > 7 && (ascii_strncaseeq(s + i, 6, "<style") ||
			                                    ascii_strncaseeq(s + i, 7, "<script"));
			const char *end = memchr(s + i, '>', len - i);

			if (end == NULL)
				break;
			i = (size_t)(end - s) + 1;
			if (skip_content) {
				const char *close = memmem(s + i, len - i, "</", 2);

				while (close != NULL && !(ascii_strncaseeq(close, 7, "</style") ||
				                          ascii_strncaseeq(close, 8, "</script")))
					close = memmem(close + 2, len - (size_t)(close + 2 - s),
					               "</", 2);
				i = close != NULL ? (size_t)(close - s) : len;
			}
			sbuf_append(out, " ", 1);
			continue;
		}
		if (s[i] == '&') {
			size_t k;

			for (k = 0; k < sizeof(entities) / sizeof(entities[0]); k++) {
				size_t n = strlen(entities[k].name);

				if (len - i >= n && ascii_strncaseeq(s + i, n, entities[k].name)) {
					sbuf_append_str(out, entities[k].text);
					i += n;
					break;
				}
			}
			if (k < sizeof(entities) / sizeof(entities[0]))
				continue;
		}
		sbuf_append(out, s + i, 1);
		i++;
	}
}

void imap_preview(const struct mime_part *root, const char *data, size_t max_chars,
                  struct sbuf *out)
{
	const struct mime_part *p, *html = NULL, *plain = NULL;
	struct sbuf text = {0}, raw = {0};
	size_t chars = 0, i;
	bool space = false;

	for (p = root; p != NULL; p = mime_part_next(p, root)) {
		if (p->children != NULL || strcmp(p->ct.type, "text") != 0 || is_attachment(p))
			continue;
		if (plain == NULL && strcmp(p->ct.subtype, "plain") == 0)
			plain = p;
		else if (html == NULL && strcmp(p->ct.subtype, "html") == 0)
			html = p;
	}
	p = plain != NULL ? plain : html;
	if (p == NULL)
		return;
	/* a preview needs only the start of the part */
	{
		struct mime_part head = *p;

		if (head.body_len > 64 * 1024)
			head.body_len = 64 * 1024;
		mime_part_decoded(&head, data, 1, &raw);
	}
	if (p == html)
		html_to_text(sbuf_str(&raw), raw.len, &text);
	else
		sbuf_append(&text, sbuf_str(&raw), raw.len);
	sbuf_reset(&raw);
	mime_utf8_sanitize(sbuf_str(&text), text.len, &raw);
	/* RFC 8970 3: white space collapsed, no control characters */
	for (i = 0; i < raw.len && chars < max_chars;) {
		unsigned char c = (unsigned char)raw.data[i];
		size_t n = mime_utf8_char_len(raw.data + i, raw.len - i);

		if (c < 0x20 || c == 0x7f || c == ' ') {
			space = chars > 0;
			i++;
			continue;
		}
		if (space) {
			/* a space only between words: none as the last character */
			if (chars + 1 >= max_chars)
				break;
			sbuf_append(out, " ", 1);
			chars++;
			space = false;
		}
		sbuf_append(out, raw.data + i, n);
		chars++;
		i += n;
	}
	sbuf_free(&text);
	sbuf_free(&raw);
}
