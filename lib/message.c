/*
 * message.c: RFC 5322 header parsing (a resumable, bounded iterator),
 * header field lists that can be edited, and whole in-memory messages.
 *
 * Trust: everything parsed here is untrusted network input. Limits: bytes
 * per header block, fields per block (extra fields are dropped). A line
 * without a colon, or with an invalid field name, is not a field and is
 * skipped; a continuation line with no field before it is skipped too.
 * Line ends may be CRLF or bare LF. Unfolding (RFC 5322 2.2.3) removes the
 * line ends inside a field; the white space that followed them stays.
 */
#include "message.h"

#include <stdlib.h>
#include <string.h>

struct header_parser {
	struct message_limits limits;
	struct sbuf buf; /* pending input; bytes before `start` are consumed */
	size_t start;
	size_t scan;        /* bytes after start known to hold no field end */
	size_t consumed;    /* header bytes consumed so far */
	size_t header_size; /* after END */
	unsigned int fields;
	int finished, ended;
};

void message_limits_default(struct message_limits *limits)
{
	limits->max_header_size = 1024 * 1024;
	limits->max_fields = 10000;
	limits->max_mime_depth = 20;
	limits->max_mime_parts = 500;
	limits->max_boundary_len = 200;
}

struct header_parser *header_parser_create(const struct message_limits *limits)
{
	struct header_parser *p = xcalloc(1, sizeof(*p));

	if (limits != NULL)
		p->limits = *limits;
	else
		message_limits_default(&p->limits);
	return p;
}

void header_parser_feed(struct header_parser *p, const void *data, size_t len)
{
	if (!p->ended && p->start > 0) {
		/* Drop what was consumed so pending input never holds more than one field. */
		memmove(p->buf.data, p->buf.data + p->start, p->buf.len - p->start);
		p->buf.len -= p->start;
		p->buf.data[p->buf.len] = '\0';
		p->start = 0;
	}
	if (len > 0)
		sbuf_append(&p->buf, data, len);
}

void header_parser_finish(struct header_parser *p)
{
	p->finished = 1;
}

void message_field_clear(struct message_field *field)
{
	free(field->name);
	free(field->value);
	free(field->raw);
	memset(field, 0, sizeof(*field));
}

int message_field_name_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 33 || c > 126 || c == ':')
			return 0;
	}
	return 1;
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Unfold raw field text: drop CR LF / LF line ends, trim white space at both ends. */
static char *unfold(const char *raw, size_t len, size_t *len_r)
{
	char *out = xmalloc(len + 1);
	size_t i, n = 0, a, b;

	for (i = 0; i < len; i++) {
		if (raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n')
			continue;
		if (raw[i] == '\n')
			continue;
		out[n++] = raw[i];
	}
	for (a = 0; a < n && (is_wsp(out[a]) || out[a] == '\r'); a++)
		;
	for (b = n; b > a && (is_wsp(out[b - 1]) || out[b - 1] == '\r'); b--)
		;
	memmove(out, out + a, b - a);
	out[b - a] = '\0';
	*len_r = b - a;
	return out;
}

/* Turn field text (line end excluded) into a field; 0 when it is not a valid field. */
static int make_field(const char *text, size_t len, struct message_field *field)
{
	const char *colon = memchr(text, ':', len);
	size_t name_len, raw_len;

	if (colon == NULL)
		return 0;
	name_len = (size_t)(colon - text);
	while (name_len > 0 && is_wsp(text[name_len - 1]))
		name_len--;
	if (!message_field_name_valid(text, name_len))
		return 0;
	raw_len = len - (size_t)(colon + 1 - text);
	field->name = xstrndup(text, name_len);
	field->name_len = name_len;
	field->raw = xmalloc(raw_len + 1);
	memcpy(field->raw, colon + 1, raw_len);
	field->raw[raw_len] = '\0';
	field->raw_len = raw_len;
	field->value = unfold(field->raw, raw_len, &field->value_len);
	return 1;
}

/* Length of a line end at text[0..len), 0 when there is none. */
static size_t line_end_len(const char *text, size_t len)
{
	if (len >= 2 && text[len - 2] == '\r' && text[len - 1] == '\n')
		return 2;
	if (len >= 1 && text[len - 1] == '\n')
		return 1;
	return 0;
}

int header_parser_next(struct header_parser *p, struct message_field *field_r, const char **error_r)
{
	memset(field_r, 0, sizeof(*field_r));
	for (;;) {
		const char *data = p->buf.data + p->start;
		size_t avail = p->buf.len - p->start, i, field_len = 0;
		int complete = 0;

		if (p->ended)
			return HEADER_PARSE_END;
		if (avail == 0) {
			if (!p->finished)
				return HEADER_PARSE_MORE;
			p->ended = 1;
			p->header_size = p->consumed;
			return HEADER_PARSE_END;
		}
		/* A blank line ends the header. */
		if (data[0] == '\n' || (data[0] == '\r' && avail >= 2 && data[1] == '\n')) {
			size_t n = data[0] == '\n' ? 1 : 2;
			p->start += n;
			p->consumed += n;
			p->ended = 1;
			p->header_size = p->consumed;
			return HEADER_PARSE_END;
		}
		if (data[0] == '\r' && avail == 1 && !p->finished)
			return HEADER_PARSE_MORE;
		/* Find where this field ends: a line end not followed by WSP. */
		for (i = p->scan; i < avail; i++) {
			if (data[i] != '\n')
				continue;
			if (i + 1 == avail)
				break;
			if (!is_wsp(data[i + 1])) {
				field_len = i + 1;
				complete = 1;
				break;
			}
		}
		if (!complete) {
			p->scan = i < avail ? i : avail;
			if (p->consumed + avail > p->limits.max_header_size) {
				*error_r = "message header too large";
				return HEADER_PARSE_ERROR;
			}
			if (!p->finished)
				return HEADER_PARSE_MORE;
			field_len = avail;
		}
		if (p->consumed + field_len > p->limits.max_header_size) {
			*error_r = "message header too large";
			return HEADER_PARSE_ERROR;
		}
		p->start += field_len;
		p->consumed += field_len;
		p->scan = 0;
		if (is_wsp(data[0]))
			continue; /* continuation with no field before it */
		if (p->fields >= p->limits.max_fields)
			continue;
		if (make_field(data, field_len - line_end_len(data, field_len), field_r)) {
			p->fields++;
			return HEADER_PARSE_FIELD;
		}
	}
}

size_t header_parser_header_size(const struct header_parser *p)
{
	return p->header_size;
}

const char *header_parser_rest(const struct header_parser *p, size_t *len_r)
{
	*len_r = p->buf.len - p->start;
	return p->buf.data == NULL ? "" : p->buf.data + p->start;
}

void header_parser_free(struct header_parser **pp)
{
	struct header_parser *p = *pp;

	if (p == NULL)
		return;
	sbuf_free(&p->buf);
	free(p);
	*pp = NULL;
}

static void header_append(struct message_header *hdr, struct message_field *field)
{
	if (hdr->count == hdr->cap) {
		hdr->cap = hdr->cap == 0 ? 16 : hdr->cap * 2;
		hdr->fields = xrealloc(hdr->fields, hdr->cap * sizeof(*hdr->fields));
	}
	hdr->fields[hdr->count++] = *field;
}

int message_header_parse(const void *data, size_t len, const struct message_limits *limits,
                         struct message_header *hdr, size_t *size_r, const char **error_r)
{
	struct message_limits defaults;
	struct header_parser p;
	struct message_field field;
	int r;

	if (limits == NULL) {
		message_limits_default(&defaults);
		limits = &defaults;
	}
	/* Parse in place: the buffer is complete, so the parser never copies it. */
	memset(&p, 0, sizeof(p));
	p.limits = *limits;
	p.buf.data = (char *)(uintptr_t)data;
	p.buf.len = len;
	p.finished = 1;
	memset(hdr, 0, sizeof(*hdr));
	while ((r = header_parser_next(&p, &field, error_r)) == HEADER_PARSE_FIELD)
		header_append(hdr, &field);
	if (r == HEADER_PARSE_ERROR) {
		message_header_clear(hdr);
		return -1;
	}
	*size_r = p.header_size;
	return 0;
}

size_t message_header_count(const struct message_header *hdr, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < hdr->count; i++) {
		if (ascii_strncaseeq(hdr->fields[i].name, hdr->fields[i].name_len, name))
			n++;
	}
	return n;
}

const struct message_field *message_header_get(const struct message_header *hdr, const char *name,
                                               size_t nth)
{
	size_t i;

	for (i = 0; i < hdr->count; i++) {
		if (ascii_strncaseeq(hdr->fields[i].name, hdr->fields[i].name_len, name) &&
		    nth-- == 0)
			return &hdr->fields[i];
	}
	return NULL;
}

/* Bytes of the word at s: up to white space or a line end. */
static size_t word_len(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && !is_wsp(s[n]) && s[n] != '\r' && s[n] != '\n')
		n++;
	return n;
}

void message_header_insert(struct message_header *hdr, size_t pos, const char *name,
                           const char *value, size_t value_len)
{
	struct message_field field;
	struct sbuf raw = {0};
	size_t i, line;
	int text = 1;    /* the current line holds more than white space (the name, at first) */
	int started = 0; /* some of the value is written */

	if (pos > hdr->count)
		pos = hdr->count;
	/*
	 * Raw form: a space after the colon; line ends become CRLF + space, except
	 * those before the value's first text and those that would leave a blank
	 * or white-space-only line (which would end the header). Long values are
	 * folded before white space, before the word that would take the line
	 * past 76 characters (RFC 5322 2.1.1 and 2.2.3: SHOULD stay within 78;
	 * RFC 2047 2: 76 on lines with encoded-words).
	 */
	sbuf_append_str(&raw, " ");
	line = strlen(name) + 2;
	for (i = 0; i < value_len; i++) {
		if (value[i] == '\r')
			continue;
		if (value[i] == '\n') {
			size_t j = i + 1;

			while (j < value_len && (is_wsp(value[j]) || value[j] == '\r'))
				j++;
			if (j == value_len || value[j] == '\n' || !started) {
				i = j - 1; /* a blank line goes, its white space too */
				continue;
			}
			sbuf_append_str(&raw, "\r\n");
			line = 0;
			text = 0;
			if (!is_wsp(value[i + 1])) {
				sbuf_append_str(&raw, " ");
				line = 1;
			}
			continue;
		}
		/* a fold only before a word: before a line end it would leave a white-space line */
		if (is_wsp(value[i]) && i + 1 < value_len && !is_wsp(value[i + 1]) &&
		    value[i + 1] != '\r' && value[i + 1] != '\n' && text) {
			if (line + 1 + word_len(value + i + 1, value_len - i - 1) > 76) {
				sbuf_append_str(&raw, "\r\n");
				line = 0;
				text = 0;
			}
		}
		sbuf_append(&raw, &value[i], 1);
		line++;
		if (!is_wsp(value[i]))
			text = started = 1;
	}
	memset(&field, 0, sizeof(field));
	field.name = xstrdup(name);
	field.name_len = strlen(name);
	field.raw = raw.data != NULL ? raw.data : xstrdup("");
	field.raw_len = raw.len;
	field.value = unfold(field.raw, field.raw_len, &field.value_len);
	header_append(hdr, &field);
	memmove(&hdr->fields[pos + 1], &hdr->fields[pos],
	        (hdr->count - 1 - pos) * sizeof(*hdr->fields));
	hdr->fields[pos] = field;
}

void message_header_remove(struct message_header *hdr, size_t pos)
{
	if (pos >= hdr->count)
		return;
	message_field_clear(&hdr->fields[pos]);
	memmove(&hdr->fields[pos], &hdr->fields[pos + 1],
	        (hdr->count - pos - 1) * sizeof(*hdr->fields));
	hdr->count--;
}

void message_header_copy(struct message_header *dst, const struct message_header *src)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	for (i = 0; i < src->count; i++) {
		struct message_field f;

		f.name = xstrndup(src->fields[i].name, src->fields[i].name_len);
		f.name_len = src->fields[i].name_len;
		f.value = xmalloc(src->fields[i].value_len + 1);
		memcpy(f.value, src->fields[i].value, src->fields[i].value_len + 1);
		f.value_len = src->fields[i].value_len;
		f.raw = xmalloc(src->fields[i].raw_len + 1);
		memcpy(f.raw, src->fields[i].raw, src->fields[i].raw_len + 1);
		f.raw_len = src->fields[i].raw_len;
		header_append(dst, &f);
	}
}

void message_header_clear(struct message_header *hdr)
{
	size_t i;

	for (i = 0; i < hdr->count; i++)
		message_field_clear(&hdr->fields[i]);
	free(hdr->fields);
	memset(hdr, 0, sizeof(*hdr));
}

void message_header_write(const struct message_header *hdr, struct sbuf *out)
{
	size_t i, j;

	for (i = 0; i < hdr->count; i++) {
		const struct message_field *f = &hdr->fields[i];

		sbuf_append(out, f->name, f->name_len);
		sbuf_append_str(out, ":");
		/* Normalize line ends inside the raw text to CRLF. */
		for (j = 0; j < f->raw_len; j++) {
			if (f->raw[j] == '\n' && (j == 0 || f->raw[j - 1] != '\r'))
				sbuf_append_str(out, "\r");
			sbuf_append(out, &f->raw[j], 1);
		}
		sbuf_append_str(out, "\r\n");
	}
	sbuf_append_str(out, "\r\n");
}

int message_parse(const void *data, size_t size, const struct message_limits *limits,
                  struct message **msg_r, const char **error_r)
{
	struct message *msg = xcalloc(1, sizeof(*msg));

	msg->data = xmalloc(size + 1);
	if (size > 0)
		memcpy(msg->data, data, size);
	msg->data[size] = '\0';
	msg->size = size;
	if (message_header_parse(msg->data, size, limits, &msg->header, &msg->body_offset,
	                         error_r) < 0) {
		message_free(&msg);
		return -1;
	}
	*msg_r = msg;
	return 0;
}

void message_free(struct message **msgp)
{
	struct message *msg = *msgp;

	if (msg == NULL)
		return;
	message_header_clear(&msg->header);
	free(msg->data);
	free(msg);
	*msgp = NULL;
}

const char *message_body(const struct message *msg, size_t *len_r)
{
	*len_r = msg->size - msg->body_offset;
	return msg->data + msg->body_offset;
}
