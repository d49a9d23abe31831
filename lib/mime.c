/*
 * mime.c: MIME decoding for every reader of messages: Content-Type with
 * RFC 2231 parameters, RFC 2047 encoded-words, base64 and
 * quoted-printable (RFC 2045 6.7, 6.8), charset conversion with iconv, and
 * the multipart tree (RFC 2046 5.1).
 *
 * Trust: all input is untrusted. Nothing here fails on bad content: it
 * decodes what it can. The tree is bounded by nesting depth, part count and
 * boundary length (struct message_limits); past a limit a part stays a leaf.
 * Parts point into the caller's buffer, they never copy bodies.
 */
#include "mime.h"

#include <errno.h>
#include <iconv.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define MIME_CHARSET_MAX 64
#define MIME_RFC2231_MAX_SECTIONS 100

/* RFC 2045 5.1: tspecials; a token is any CHAR but these, SPACE and CTLs. */
static int is_token_char(unsigned char c)
{
	return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Skip white space and RFC 822 comments (nested, bounded by the input). */
static size_t skip_cfws(const char *s, size_t len, size_t i)
{
	while (i < len) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
			i++;
		} else if (s[i] == '(') {
			unsigned int depth = 0;
			for (; i < len; i++) {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				else if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && --depth == 0) {
					i++;
					break;
				}
			}
		} else {
			break;
		}
	}
	return i;
}

static char *lower_dup(const char *s, size_t len)
{
	char *r = xstrndup(s, len);
	ascii_lower(r);
	return r;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

struct raw_param {
	char *name;   /* base name, lower case */
	int section;  /* RFC 2231 section number, -1 when not split */
	int extended; /* value is charset'lang'%XX encoded */
	char *value;
};

/* RFC 2231 3-4: join name*0, name*1* ... and decode extended values. */
static void add_param(struct mime_content_type *ct, struct raw_param *raw, size_t nraw, size_t idx)
{
	struct sbuf joined = {0};
	char *charset = NULL;
	const char *name = raw[idx].name;
	size_t i;
	int section, any_extended = 0;

	for (i = 0; i < ct->nparams; i++) {
		if (strcmp(ct->params[i].name, name) == 0)
			return; /* first occurrence wins */
	}
	for (section = raw[idx].section < 0 ? -1 : 0; section < MIME_RFC2231_MAX_SECTIONS;
	     section++) {
		const struct raw_param *r = NULL;
		const char *v;
		for (i = 0; i < nraw; i++) {
			if (strcmp(raw[i].name, name) == 0 && raw[i].section == section) {
				r = &raw[i];
				break;
			}
		}
		if (r == NULL)
			break;
		v = r->value;
		if (r->extended) {
			if (!any_extended && (section <= 0)) {
				const char *q1 = strchr(v, '\''),
				           *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
				if (q1 != NULL && q2 != NULL) {
					charset = xstrndup(v, (size_t)(q1 - v));
					v = q2 + 1;
				}
			}
			any_extended = 1;
			for (; *v != '\0'; v++) {
				if (*v == '%' && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
					char c = (char)(hexval(v[1]) * 16 + hexval(v[2]));
					sbuf_append(&joined, &c, 1);
					v += 2;
				} else {
					sbuf_append(&joined, v, 1);
				}
			}
		} else {
			sbuf_append_str(&joined, v);
		}
		if (section < 0)
			break;
	}
	ct->params = xrealloc(ct->params, (ct->nparams + 1) * sizeof(*ct->params));
	ct->params[ct->nparams].name = xstrdup(name);
	if (any_extended) {
		struct sbuf conv = {0};
		mime_charset_to_utf8(charset != NULL && *charset != '\0' ? charset : NULL,
		                     sbuf_str(&joined), joined.len, &conv);
		ct->params[ct->nparams].value = xstrdup(sbuf_str(&conv));
		sbuf_free(&conv);
	} else {
		ct->params[ct->nparams].value = xstrdup(sbuf_str(&joined));
	}
	ct->nparams++;
	free(charset);
	sbuf_free(&joined);
}

int mime_content_type_parse(const char *s, size_t len, struct mime_content_type *ct)
{
	struct raw_param *raw = NULL;
	size_t nraw = 0, i = 0, start, k;

	memset(ct, 0, sizeof(*ct));
	i = skip_cfws(s, len, 0);
	for (start = i; i < len && is_token_char((unsigned char)s[i]); i++)
		;
	if (i == start)
		return -1;
	ct->type = lower_dup(s + start, i - start);
	i = skip_cfws(s, len, i);
	if (i >= len || s[i] != '/') {
		mime_content_type_clear(ct);
		return -1;
	}
	i = skip_cfws(s, len, i + 1);
	for (start = i; i < len && is_token_char((unsigned char)s[i]); i++)
		;
	if (i == start) {
		mime_content_type_clear(ct);
		return -1;
	}
	ct->subtype = lower_dup(s + start, i - start);
	/* Parameters: bad ones are skipped up to the next ';'. */
	while (i < len && nraw < 256) {
		struct sbuf value = {0};
		char *name, *star;
		i = skip_cfws(s, len, i);
		if (i >= len)
			break;
		if (s[i] != ';') {
			while (i < len && s[i] != ';')
				i++;
			continue;
		}
		i = skip_cfws(s, len, i + 1);
		for (start = i; i < len && is_token_char((unsigned char)s[i]); i++)
			;
		if (i == start)
			continue;
		name = lower_dup(s + start, i - start);
		i = skip_cfws(s, len, i);
		if (i >= len || s[i] != '=') {
			free(name);
			continue;
		}
		i = skip_cfws(s, len, i + 1);
		if (i < len && s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				if (s[i] != '\r' && s[i] != '\n')
					sbuf_append(&value, &s[i], 1);
			}
			if (i < len)
				i++;
		} else {
			for (start = i; i < len && is_token_char((unsigned char)s[i]); i++)
				;
			sbuf_append(&value, s + start, i - start);
		}
		raw = xrealloc(raw, (nraw + 1) * sizeof(*raw));
		raw[nraw].section = -1;
		raw[nraw].extended = 0;
		star = strchr(name, '*');
		if (star != NULL) {
			char *end;
			long n;
			*star = '\0';
			if (star[1] == '\0') {
				raw[nraw].extended = 1;
			} else {
				n = strtol(star + 1, &end, 10);
				if (end != star + 1 && n >= 0 && n < MIME_RFC2231_MAX_SECTIONS &&
				    (*end == '\0' || (end[0] == '*' && end[1] == '\0'))) {
					raw[nraw].section = (int)n;
					raw[nraw].extended = *end == '*';
				}
			}
		}
		raw[nraw].name = name;
		raw[nraw].value = value.data != NULL ? value.data : xstrdup("");
		nraw++;
	}
	for (k = 0; k < nraw; k++) {
		if (raw[k].section <= 0)
			add_param(ct, raw, nraw, k);
	}
	for (k = 0; k < nraw; k++) {
		free(raw[k].name);
		free(raw[k].value);
	}
	free(raw);
	return 0;
}

const char *mime_content_type_param(const struct mime_content_type *ct, const char *name)
{
	size_t i;

	for (i = 0; i < ct->nparams; i++) {
		if (strcasecmp(ct->params[i].name, name) == 0)
			return ct->params[i].value;
	}
	return NULL;
}

void mime_content_type_clear(struct mime_content_type *ct)
{
	size_t i;

	free(ct->type);
	free(ct->subtype);
	for (i = 0; i < ct->nparams; i++) {
		free(ct->params[i].name);
		free(ct->params[i].value);
	}
	free(ct->params);
	memset(ct, 0, sizeof(*ct));
}

size_t mime_utf8_char_len(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n, i;
	unsigned int cp;

	if (len == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 1;
	if (n > len)
		return 1;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 1;
	return n;
}

void mime_utf8_sanitize(const char *in, size_t len, struct sbuf *out)
{
	size_t i = 0, run = 0;

	while (i < len) {
		size_t n = mime_utf8_char_len(in + i, len - i);
		if (n == 1 && (unsigned char)in[i] >= 0x80) {
			sbuf_append(out, in + run, i - run);
			sbuf_append_str(out, "\xef\xbf\xbd");
			run = i + 1;
		}
		i += n;
	}
	sbuf_append(out, in + run, len - run);
}

static int charset_is_utf8(const char *cs)
{
	return cs == NULL || *cs == '\0' || strcasecmp(cs, "utf-8") == 0 ||
	       strcasecmp(cs, "utf8") == 0 || strcasecmp(cs, "us-ascii") == 0 ||
	       strcasecmp(cs, "ascii") == 0;
}

int mime_charset_to_utf8(const char *charset, const char *in, size_t len, struct sbuf *out)
{
	char name[MIME_CHARSET_MAX + 1], buf[4096];
	iconv_t cd;
	char *inp = (char *)(uintptr_t)in;
	size_t inleft = len, i;

	if (charset_is_utf8(charset)) {
		mime_utf8_sanitize(in, len, out);
		return 0;
	}
	for (i = 0; charset[i] != '\0'; i++) {
		unsigned char c = (unsigned char)charset[i];
		if (i >= MIME_CHARSET_MAX || !(is_token_char(c) || c == '/' || c == ':')) {
			mime_utf8_sanitize(in, len, out);
			return -1;
		}
		name[i] = (char)c;
	}
	name[i] = '\0';
	cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1) {
		mime_utf8_sanitize(in, len, out);
		return -1;
	}
	while (inleft > 0) {
		char *outp = buf;
		size_t outleft = sizeof(buf);
		size_t r = iconv(cd, &inp, &inleft, &outp, &outleft);
		sbuf_append(out, buf, sizeof(buf) - outleft);
		if (r == (size_t)-1) {
			if (errno == E2BIG)
				continue;
			/* EILSEQ or EINVAL: replace the bad byte and go on. */
			sbuf_append_str(out, "\xef\xbf\xbd");
			inp++;
			inleft--;
			iconv(cd, NULL, NULL, NULL, NULL);
		}
	}
	iconv_close(cd);
	return 0;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* RFC 2047 5(3): the characters a Q encoded-word may hold as they are, in any context. */
static int q_literal(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

/* RFC 2047 4.2: "_" for a space, the literal characters, else =XX. */
static size_t q_cost(unsigned char c)
{
	return q_literal(c) || c == ' ' ? 1 : 3;
}

static void append_b(const char *s, size_t len, struct sbuf *out)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *tmp = xmalloc(n);

	sodium_bin2base64(tmp, n, (const unsigned char *)s, len, sodium_base64_VARIANT_ORIGINAL);
	sbuf_append(out, tmp, n - 1);
	free(tmp);
}

static void append_q(const char *s, size_t len, struct sbuf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ')
			sbuf_append(out, "_", 1);
		else if (q_literal(c))
			sbuf_append(out, &s[i], 1);
		else
			sbuf_appendf(out, "=%02X", c);
	}
}

void mime_header_encode(const char *s, size_t len, size_t first_max, const char *sep,
			struct sbuf *out)
{
	size_t chars = 0, ascii = 0, start = 0;
	int b;

	for (size_t i = 0; i < len; i += mime_utf8_char_len(s + i, len - i)) {
		chars++;
		if ((unsigned char)s[i] < 0x80)
			ascii++;
	}
	b = ascii * 2 <= chars;
	if (first_max == 0 || first_max > MIME_ENCODED_TEXT_MAX)
		first_max = MIME_ENCODED_TEXT_MAX;
	while (start < len) {
		size_t end = start, cost = 0, max = start == 0 ? first_max : MIME_ENCODED_TEXT_MAX;

		while (end < len) {
			size_t n = mime_utf8_char_len(s + end, len - end), c = 0;

			if (b) {
				c = (end + n - start + 2) / 3 * 4 - cost;
			} else {
				for (size_t i = 0; i < n; i++)
					c += q_cost((unsigned char)s[end + i]);
			}
			if (cost + c > max && end > start)
				break;
			cost += c;
			end += n;
		}
		if (start > 0)
			sbuf_append_str(out, sep);
		sbuf_append_str(out, b ? "=?utf-8?B?" : "=?utf-8?Q?");
		if (b)
			append_b(s + start, end - start, out);
		else
			append_q(s + start, end - start, out);
		sbuf_append(out, "?=", 2);
		start = end;
	}
}

void mime_base64_decode(const char *in, size_t len, struct sbuf *out)
{
	unsigned int acc = 0, bits = 0;
	size_t i;

	/* RFC 2045 6.8: characters outside the alphabet are ignored; '=' ends the data. */
	for (i = 0; i < len; i++) {
		int v = b64val((unsigned char)in[i]);
		if (in[i] == '=')
			break;
		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			char c;
			bits -= 8;
			c = (char)((acc >> bits) & 0xff);
			sbuf_append(out, &c, 1);
		}
	}
}

void mime_qp_decode(const char *in, size_t len, struct sbuf *out)
{
	size_t i = 0;

	/* Line by line: RFC 2045 6.7 (3) drops trailing white space, '=' at the end is a soft
	 * break. */
	while (i < len) {
		size_t eol = i, end, le_start, j;
		int has_lf, soft = 0;

		while (eol < len && in[eol] != '\n')
			eol++;
		has_lf = eol < len;
		end = eol;
		if (end > i && in[end - 1] == '\r')
			end--;
		le_start = end;
		while (end > i && (in[end - 1] == ' ' || in[end - 1] == '\t'))
			end--;
		for (j = i; j < end; j++) {
			if (in[j] != '=') {
				sbuf_append(out, &in[j], 1);
			} else if (j + 1 == end) {
				soft = 1;
			} else if (j + 2 < end && hexval(in[j + 1]) >= 0 &&
			           hexval(in[j + 2]) >= 0) {
				char c = (char)(hexval(in[j + 1]) * 16 + hexval(in[j + 2]));
				sbuf_append(out, &c, 1);
				j += 2;
			} else {
				sbuf_append(out, "=", 1);
			}
		}
		if (has_lf && !soft)
			sbuf_append(out, in + le_start, eol + 1 - le_start);
		i = has_lf ? eol + 1 : len;
	}
}

void mime_transfer_decode(const char *encoding, const char *in, size_t len, struct sbuf *out)
{
	if (encoding != NULL && strcasecmp(encoding, "base64") == 0)
		mime_base64_decode(in, len, out);
	else if (encoding != NULL && strcasecmp(encoding, "quoted-printable") == 0)
		mime_qp_decode(in, len, out);
	else
		sbuf_append(out, in, len);
}

/* RFC 2047 2: one encoded-word at s; its length, or 0 when s does not start one. */
static size_t encoded_word(const char *s, size_t len, struct sbuf *out)
{
	size_t i, cs_end, text_start, text_end;
	char charset[MIME_CHARSET_MAX + 1], enc;
	struct sbuf raw = {0};
	char *star;

	if (len < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	for (i = 2; i < len && s[i] != '?' && is_token_char((unsigned char)s[i]); i++)
		;
	cs_end = i;
	if (cs_end == 2 || cs_end - 2 > MIME_CHARSET_MAX || i + 3 >= len || s[i] != '?' ||
	    s[i + 2] != '?')
		return 0;
	enc = s[i + 1];
	if (enc != 'Q' && enc != 'q' && enc != 'B' && enc != 'b')
		return 0;
	text_start = i + 3;
	for (i = text_start; i + 1 < len; i++) {
		if (s[i] == '?' && s[i + 1] == '=')
			break;
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
			return 0;
	}
	if (i + 1 >= len)
		return 0;
	text_end = i;
	memcpy(charset, s + 2, cs_end - 2);
	charset[cs_end - 2] = '\0';
	star = strchr(charset, '*'); /* RFC 2231 5: charset*language */
	if (star != NULL)
		*star = '\0';
	if (enc == 'B' || enc == 'b') {
		mime_base64_decode(s + text_start, text_end - text_start, &raw);
	} else {
		for (i = text_start; i < text_end; i++) {
			if (s[i] == '_') {
				sbuf_append(&raw, " ", 1);
			} else if (s[i] == '=' && i + 2 < text_end && hexval(s[i + 1]) >= 0 &&
			           hexval(s[i + 2]) >= 0) {
				char c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
				sbuf_append(&raw, &c, 1);
				i += 2;
			} else {
				sbuf_append(&raw, &s[i], 1);
			}
		}
	}
	mime_charset_to_utf8(charset, sbuf_str(&raw), raw.len, out);
	sbuf_free(&raw);
	return text_end + 2;
}

void mime_header_decode(const char *value, size_t len, struct sbuf *out)
{
	size_t i = 0, run = 0;
	int after_word = 0;

	while (i < len) {
		size_t n = 0;
		if (value[i] == '=' && i + 1 < len && value[i + 1] == '?') {
			struct sbuf word = {0};
			n = encoded_word(value + i, len - i, &word);
			if (n > 0) {
				/* White space between two encoded-words is dropped (RFC 2047 6.2).
				 */
				if (after_word)
					run = i;
				mime_utf8_sanitize(value + run, i - run, out);
				sbuf_append(out, sbuf_str(&word), word.len);
				sbuf_free(&word);
				i += n;
				run = i;
				after_word = 1;
				continue;
			}
			sbuf_free(&word);
		}
		if (value[i] != ' ' && value[i] != '\t' && value[i] != '\r' && value[i] != '\n') {
			after_word = 0;
		}
		i++;
	}
	mime_utf8_sanitize(value + run, len - run, out);
}

struct mime_ctx {
	const char *data;
	const struct message_limits *limits;
	unsigned int nparts;
	const char *error;
};

static const char *find_delimiter(const char *data, size_t from, size_t end, const char *b,
                                  size_t blen, size_t *line_end_r, int *close_r)
{
	size_t i = from;

	while (i + 2 + blen <= end) {
		const char *hit = memmem(data + i, end - i, "--", 2);
		size_t pos, j;
		if (hit == NULL)
			return NULL;
		pos = (size_t)(hit - data);
		i = pos + 1;
		if (pos != from && data[pos - 1] != '\n')
			continue;
		if (pos + 2 + blen > end || memcmp(data + pos + 2, b, blen) != 0)
			continue;
		j = pos + 2 + blen;
		*close_r = 0;
		if (j + 2 <= end && data[j] == '-' && data[j + 1] == '-') {
			*close_r = 1;
			j += 2;
		}
		while (j < end && (data[j] == ' ' || data[j] == '\t'))
			j++;
		if (j < end && data[j] == '\r' && j + 1 < end && data[j + 1] == '\n')
			j++;
		if (j < end && data[j] != '\n')
			continue; /* "--boundary" followed by other text: not a delimiter */
		*line_end_r = j < end ? j + 1 : end;
		return data + pos;
	}
	return NULL;
}

/* End of the text before a delimiter at pos: the line end before it belongs to it. */
static size_t before_delimiter(const char *data, size_t start, size_t pos)
{
	if (pos > start && data[pos - 1] == '\n')
		pos--;
	if (pos > start && data[pos - 1] == '\r')
		pos--;
	return pos;
}

static struct mime_part *parse_part(struct mime_ctx *ctx, size_t start, size_t end,
                                    unsigned int depth, int digest_child);

static void split_multipart(struct mime_ctx *ctx, struct mime_part *part, const char *boundary)
{
	const char *data = ctx->data;
	size_t blen = strlen(boundary), body = part->body_offset,
	       end = part->body_offset + part->body_len, line_end, pos, part_start;
	struct mime_part **tail = &part->children;
	int close = 0, digest = strcmp(part->ct.subtype, "digest") == 0;
	const char *d = find_delimiter(data, body, end, boundary, blen, &line_end, &close);

	if (d == NULL) {
		part->prologue_offset = body;
		part->prologue_len = end - body;
		return;
	}
	pos = (size_t)(d - data);
	part->prologue_offset = body;
	part->prologue_len = before_delimiter(data, body, pos) - body;
	while (!close) {
		size_t next_end;
		struct mime_part *child;
		part_start = line_end;
		d = find_delimiter(data, part_start, end, boundary, blen, &line_end, &close);
		next_end = d != NULL ? before_delimiter(data, part_start, (size_t)(d - data)) : end;
		if (ctx->nparts >= ctx->limits->max_mime_parts)
			break;
		child = parse_part(ctx, part_start, next_end, part->depth + 1, digest);
		if (child == NULL)
			return;
		child->parent = part;
		*tail = child;
		tail = &child->next;
		if (d == NULL) {
			line_end = end;
			break;
		}
	}
	if (close) {
		part->epilogue_offset = line_end;
		part->epilogue_len = end - line_end;
	}
}

static struct mime_part *parse_part(struct mime_ctx *ctx, size_t start, size_t end,
                                    unsigned int depth, int digest_child)
{
	struct mime_part *part = xcalloc(1, sizeof(*part));
	const struct message_field *f;
	size_t hsize = 0;
	const char *boundary;

	ctx->nparts++;
	part->depth = depth;
	part->offset = start;
	if (message_header_parse(ctx->data + start, end - start, ctx->limits, &part->header, &hsize,
	                         &ctx->error) < 0) {
		free(part);
		return NULL;
	}
	part->body_offset = start + hsize;
	part->body_len = end - part->body_offset;
	f = message_header_get(&part->header, "content-type", 0);
	if (f == NULL || mime_content_type_parse(f->value, f->value_len, &part->ct) < 0) {
		/* RFC 2045 5.2 and RFC 2046 5.1.5: the defaults. */
		part->ct.type = xstrdup(digest_child ? "message" : "text");
		part->ct.subtype = xstrdup(digest_child ? "rfc822" : "plain");
	}
	f = message_header_get(&part->header, "content-transfer-encoding", 0);
	if (f != NULL && f->value_len > 0)
		part->encoding = lower_dup(f->value, f->value_len);
	if (depth >= ctx->limits->max_mime_depth)
		return part;
	if (strcmp(part->ct.type, "multipart") == 0) {
		boundary = mime_content_type_param(&part->ct, "boundary");
		if (boundary != NULL && *boundary != '\0' &&
		    strlen(boundary) <= ctx->limits->max_boundary_len)
			split_multipart(ctx, part, boundary);
	} else if (strcmp(part->ct.type, "message") == 0 &&
	           strcmp(part->ct.subtype, "rfc822") == 0 &&
	           (part->encoding == NULL || strcmp(part->encoding, "7bit") == 0 ||
	            strcmp(part->encoding, "8bit") == 0 || strcmp(part->encoding, "binary") == 0) &&
	           ctx->nparts < ctx->limits->max_mime_parts) {
		part->children = parse_part(ctx, part->body_offset, end, depth + 1, 0);
		if (part->children != NULL)
			part->children->parent = part;
	}
	if (ctx->error != NULL) {
		mime_part_free(&part);
		return NULL;
	}
	return part;
}

int mime_parse(const char *data, size_t size, const struct message_limits *limits,
               struct mime_part **root_r, const char **error_r)
{
	struct message_limits defaults;
	struct mime_ctx ctx;

	if (limits == NULL) {
		message_limits_default(&defaults);
		limits = &defaults;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.data = data;
	ctx.limits = limits;
	*root_r = parse_part(&ctx, 0, size, 0, 0);
	if (*root_r == NULL) {
		*error_r = ctx.error != NULL ? ctx.error : "MIME part header too large";
		return -1;
	}
	return 0;
}

void mime_part_free(struct mime_part **rootp)
{
	struct mime_part *p = *rootp, *child, *next;

	if (p == NULL)
		return;
	for (child = p->children; child != NULL; child = next) {
		next = child->next;
		mime_part_free(&child);
	}
	message_header_clear(&p->header);
	mime_content_type_clear(&p->ct);
	free(p->encoding);
	free(p);
	*rootp = NULL;
}

struct mime_part *mime_part_next(const struct mime_part *p, const struct mime_part *top)
{
	if (p->children != NULL)
		return p->children;
	while (p != NULL && p != top) {
		if (p->next != NULL)
			return p->next;
		p = p->parent;
	}
	return NULL;
}

void mime_part_decoded(const struct mime_part *part, const char *data, int to_utf8,
                       struct sbuf *out)
{
	struct sbuf raw = {0};

	mime_transfer_decode(part->encoding, data + part->body_offset, part->body_len, &raw);
	if (to_utf8 && strcmp(part->ct.type, "text") == 0)
		mime_charset_to_utf8(mime_content_type_param(&part->ct, "charset"), sbuf_str(&raw),
		                     raw.len, out);
	else
		sbuf_append(out, sbuf_str(&raw), raw.len);
	sbuf_free(&raw);
}
