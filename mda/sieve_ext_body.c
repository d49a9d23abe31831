/*
 * sieve_ext_body.c: the body test (RFC 5173) with its :raw, :content and
 * :text transforms, and the text of a MIME part that body :text and
 * extracttext (RFC 5703 7) read: transfer-decoded, converted to UTF-8, and
 * HTML reduced to its text.
 *
 * :content "type" matches parts of that type, "type/subtype" exactly, ""
 * every part; a multipart part offers its prologue and epilogue, a
 * message/rfc822 part the header of the message inside (RFC 5173 5.2).
 * Body tests never set match variables (RFC 5173 6). Work is bounded by the
 * MIME part limits and charged to the run's budget.
 */
#include "sieve_private.h"
#include "sieve_commands.h"

#include <string.h>

struct entity {
	const char *name;
	uint32_t cp;
};

static const struct entity entities[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},     {"apos", '\''},
    {"nbsp", 0xa0},    {"copy", 0xa9},    {"reg", 0xae},     {"trade", 0x2122}, {"hellip", 0x2026},
    {"mdash", 0x2014}, {"ndash", 0x2013}, {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201c},
    {"rdquo", 0x201d}, {"euro", 0x20ac},  {"pound", 0xa3},   {"yen", 0xa5},     {"cent", 0xa2},
    {"sect", 0xa7},    {"deg", 0xb0},     {"plusmn", 0xb1},  {"middot", 0xb7},  {"laquo", 0xab},
    {"raquo", 0xbb},   {"bull", 0x2022},  {"times", 0xd7},   {"divide", 0xf7},  {"szlig", 0xdf},
    {"auml", 0xe4},    {"ouml", 0xf6},    {"uuml", 0xfc},    {"Auml", 0xc4},    {"Ouml", 0xd6},
    {"Uuml", 0xdc},    {"eacute", 0xe9},  {"egrave", 0xe8},  {"ecirc", 0xea},   {"aacute", 0xe1},
    {"agrave", 0xe0},  {"acirc", 0xe2},   {"ccedil", 0xe7},  {"ntilde", 0xf1},  {"oacute", 0xf3},
    {"iacute", 0xed},  {"uacute", 0xfa},  {"Eacute", 0xc9},
};

static void put_cp(struct sbuf *out, uint32_t cp)
{
	char b[4];

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		b[0] = (char)cp;
		sbuf_append(out, b, 1);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		sbuf_append(out, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		sbuf_append(out, b, 3);
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		sbuf_append(out, b, 4);
	}
}

/* "&name;" / "&#N;" / "&#xH;" at s; its length, 0 when it is not an entity. */
static size_t entity(const char *s, size_t len, struct sbuf *out)
{
	size_t i, end;
	uint32_t cp = 0;

	for (end = 1; end < len && end < 12 && s[end] != ';'; end++)
		;
	if (end >= len || s[end] != ';' || end < 2)
		return 0;
	if (s[1] == '#') {
		int hex = end > 2 && (s[2] == 'x' || s[2] == 'X');
		for (i = hex ? 3 : 2; i < end; i++) {
			char c = s[i];
			int d = c >= '0' && c <= '9'          ? c - '0'
			        : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
			        : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
			                                      : -1;
			if (d < 0 || cp > 0x10ffff)
				return 0;
			cp = cp * (hex ? 16 : 10) + (uint32_t)d;
		}
		if (i == (size_t)(hex ? 3 : 2))
			return 0;
		put_cp(out, cp);
		return end + 1;
	}
	for (i = 0; i < ARRAY_SIZE(entities); i++) {
		if (strlen(entities[i].name) == end - 1 &&
		    memcmp(entities[i].name, s + 1, end - 1) == 0) {
			put_cp(out, entities[i].cp);
			return end + 1;
		}
	}
	return 0;
}

static int last_is_space(const struct sbuf *out)
{
	char c;

	if (out->len == 0)
		return 1;
	c = out->data[out->len - 1];
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Skip from "<" past the tag's ">", honoring quoted attribute values. */
static size_t skip_tag(const char *s, size_t len, size_t i)
{
	char quote = 0;

	for (i++; i < len; i++) {
		if (quote != 0) {
			if (s[i] == quote)
				quote = 0;
		} else if (s[i] == '"' || s[i] == '\'') {
			quote = s[i];
		} else if (s[i] == '>') {
			return i + 1;
		}
	}
	return len;
}

int sieve_ext_html_to_text(const char *s, size_t len, struct sbuf *out)
{
	size_t i = 0;

	sbuf_append(out, "", 0);
	while (i < len) {
		if (s[i] == '<') {
			size_t start = i + 1, nlen = 0;
			/* Comments end at "-->". */
			if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
				const char *end = memmem(s + i + 4, len - i - 4, "-->", 3);
				i = end != NULL ? (size_t)(end - s) + 3 : len;
			} else {
				if (start < len && s[start] == '/')
					start++;
				while (start + nlen < len &&
				       ((s[start + nlen] >= 'a' && s[start + nlen] <= 'z') ||
				        (s[start + nlen] >= 'A' && s[start + nlen] <= 'Z') ||
				        (s[start + nlen] >= '0' && s[start + nlen] <= '9')))
					nlen++;
				i = skip_tag(s, len, i);
				/* Script and style content is not text. */
				if (s[start - 1] != '/' &&
				    (ascii_strncaseeq(s + start, nlen, "script") ||
				     ascii_strncaseeq(s + start, nlen, "style"))) {
					const char *name = nlen == 6 ? "</script" : "</style";
					size_t nl = strlen(name);
					while (i + nl <= len && !ascii_strncaseeq(s + i, nl, name))
						i++;
					i = i + nl <= len ? skip_tag(s, len, i) : len;
				}
			}
			/* A tag separates words: one space unless there is one already. */
			if (!last_is_space(out))
				sbuf_append(out, " ", 1);
			continue;
		}
		if (s[i] == '&') {
			size_t n = entity(s + i, len - i, out);
			if (n > 0) {
				i += n;
				continue;
			}
		}
		sbuf_append(out, &s[i], 1);
		i++;
	}
	return 0;
}

static int is_html(const struct mime_part *p)
{
	return (strcmp(p->ct.type, "text") == 0 && strcmp(p->ct.subtype, "html") == 0) ||
	       (strcmp(p->ct.type, "application") == 0 && strcmp(p->ct.subtype, "xhtml+xml") == 0);
}

void sieve_part_text(struct sieve_run *run, const struct mime_part *part, struct sbuf *out)
{
	struct sbuf decoded = {0};

	sbuf_append(out, "", 0);
	if (strcmp(part->ct.type, "text") != 0 && !is_html(part))
		return; /* RFC 5703 7: not text, no text */
	mime_part_decoded(part, run->msg->data, 1, &decoded);
	if (is_html(part))
		sieve_ext_html_to_text(sbuf_str(&decoded), decoded.len, out);
	else
		sbuf_append(out, sbuf_str(&decoded), decoded.len);
	sbuf_free(&decoded);
}

/* RFC 5173 5.2: does a part's type match one of the :content types? */
static int content_matches(const struct mime_part *p, const struct sbuf *types, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *t = sbuf_str(&types[i]), *slash = strchr(t, '/');
		if (*t == '\0')
			return 1;
		if (slash == NULL) {
			if (strcasecmp(t, p->ct.type) == 0)
				return 1;
			continue;
		}
		/* "/x", "x/" and "a/b/c" match nothing. */
		if (slash == t || slash[1] == '\0' || strchr(slash + 1, '/') != NULL)
			continue;
		if (strlen(p->ct.type) == (size_t)(slash - t) &&
		    strncasecmp(t, p->ct.type, (size_t)(slash - t)) == 0 &&
		    strcasecmp(slash + 1, p->ct.subtype) == 0)
			return 1;
	}
	return 0;
}

SIEVE_VALIDATE(body)
{
	(void)vc;
	(void)node;
	return 0;
}

static int offer_content(struct sieve_run *run, struct sieve_matcher *m, const struct mime_part *p)
{
	const char *data = run->msg->data;
	struct sbuf text = {0};
	int r;

	if (strcmp(p->ct.type, "multipart") == 0) {
		r = sieve_matcher_value(m, data + p->prologue_offset, p->prologue_len);
		if (r == 0)
			r = sieve_matcher_value(m, data + p->epilogue_offset, p->epilogue_len);
		return r;
	}
	if (p->children != NULL && strcmp(p->ct.type, "message") == 0) {
		const struct mime_part *inner = p->children;
		return sieve_matcher_value(m, data + inner->offset,
		                           inner->body_offset - inner->offset);
	}
	mime_part_decoded(p, data, 1, &text);
	r = sieve_matcher_value(m, sbuf_str(&text), text.len);
	sbuf_free(&text);
	return r;
}

SIEVE_TEST(body)
{
	const struct mime_part *root, *p;
	struct sieve_matcher m;
	struct sbuf *types = NULL, text = {0};
	struct sieve_arg *content = sieve_node_tag(node, TAG_CONTENT);
	size_t ntypes = 0, i;

	sieve_matcher_init(&m, run, node, node->pos[0]);
	m.set_vars = 0;
	if (NODE_HAS(node, TAG_RAW)) {
		size_t len;
		const char *body = message_body(run->msg, &len);
		sieve_matcher_value(&m, body, len);
		return sieve_matcher_finish(&m);
	}
	root = sieve_run_mime(run);
	if (root == NULL)
		return sieve_matcher_finish(&m);
	if (content != NULL) {
		ntypes = content->nstrs;
		types = xcalloc(ntypes, sizeof(*types));
		for (i = 0; i < ntypes; i++)
			sieve_expand(run, &content->strs[i], &types[i]);
	}
	for (p = root; p != NULL && !m.matched && !m.error; p = mime_part_next(p, root)) {
		if (sieve_run_charge(run, 1 + p->body_len / 4096) < 0) {
			m.error = 1;
			break;
		}
		if (content != NULL) {
			if (content_matches(p, types, ntypes))
				offer_content(run, &m, p);
			continue;
		}
		/* :text (the default): every text part, decoded, HTML as text. */
		if (p->children != NULL || strcmp(p->ct.type, "multipart") == 0 ||
		    (strcmp(p->ct.type, "text") != 0 && !is_html(p)))
			continue;
		sbuf_reset(&text);
		sieve_part_text(run, p, &text);
		sieve_matcher_value(&m, sbuf_str(&text), text.len);
	}
	for (i = 0; i < ntypes; i++)
		sbuf_free(&types[i]);
	free(types);
	sbuf_free(&text);
	return sieve_matcher_finish(&m);
}
