/*
 * addr_list.c: the iterator over RFC 5322 3.4 address lists in header field
 * values (From, To, Cc, Reply-To ...): mailboxes with or without display
 * names, groups, comments, quoted strings, folding whitespace, and the
 * obsolete forms of RFC 5322 4.4 that real mail still carries (routes in
 * angle addresses, empty list elements, CFWS around dots, unquoted dots and
 * specials in display names).
 *
 * The value is untrusted (any received message). Scanning is linear, never
 * recursive: comment nesting is only counted (ADDR_COMMENT_DEPTH_MAX), the
 * number of elements is capped by the caller, and a bad element is skipped
 * up to the next top-level comma so the rest of the list still parses. Local
 * parts and domains are checked and normalized by addr.c.
 */
#include "addr.h"

#include <string.h>

/* Longest domain text taken in before IDN conversion (U-labels are longer). */
#define RAW_DOMAIN_MAX 1023

enum tok_type { TOK_END, TOK_ATOM, TOK_QSTRING, TOK_LITERAL, TOK_SPECIAL, TOK_ERROR };

struct token {
	enum tok_type type;
	const char *p; /* raw text: the atom, or with its quotes / brackets */
	size_t len;
	char c;            /* TOK_SPECIAL: the character */
	bool ws_before;    /* folding whitespace or a comment came before it */
	const char *error; /* TOK_ERROR */
};

/* A bounded output: what does not fit is dropped and remembered. */
struct sink {
	char *buf; /* cap + 1 octets */
	size_t cap;
	size_t len;
	bool overflow;
};

/* Display name and local-part candidate, built from the same words. */
struct phrase {
	struct sink display;
	struct sink local;
	char local_buf[ADDR_LOCAL_MAX + 1];
	unsigned words;
	bool local_ok; /* RFC 5322 4.4 obs-local-part: word *("." word) so far */
	bool expect_word;
};

static void sink_put(struct sink *k, const char *p, size_t n)
{
	if (k->overflow)
		return;
	if (n > k->cap - k->len) {
		memcpy(k->buf + k->len, p, k->cap - k->len);
		k->len = k->cap;
		k->overflow = true;
		return;
	}
	memcpy(k->buf + k->len, p, n);
	k->len += n;
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 5322 3.2.2 FWS at i: WSP, or a line break followed by WSP (unfolding);
 * a line break that ends the value is tolerated too. 0 when none. */
static size_t fws_len(const struct addr_list *it, size_t i)
{
	const char *s = it->data;

	if (is_wsp(s[i]))
		return 1;
	if (s[i] == '\r' && i + 1 < it->len && s[i + 1] == '\n')
		return i + 2 == it->len || is_wsp(s[i + 2]) ? 2 : 0;
	if (s[i] == '\n')
		return i + 1 == it->len || is_wsp(s[i + 1]) ? 1 : 0;
	return 0;
}

/* RFC 5322 3.2.2 CFWS: folding whitespace and (nested) comments. */
static int skip_cfws(struct addr_list *it, bool *ws_r, const char **error_r)
{
	const char *s = it->data;
	size_t n;
	int depth;

	for (;;) {
		if (it->pos >= it->len)
			return 0;
		n = fws_len(it, it->pos);
		if (n > 0) {
			it->pos += n;
			*ws_r = true;
			continue;
		}
		if (s[it->pos] != '(')
			return 0;
		/* comment = "(" *([FWS] ccontent) [FWS] ")"; ccontent = ctext /
		 * quoted-pair / comment */
		depth = 0;
		do {
			if (it->pos >= it->len) {
				*error_r = "unterminated comment";
				return -1;
			}
			if (s[it->pos] == '(') {
				if (++depth > ADDR_COMMENT_DEPTH_MAX) {
					*error_r = "comments nested too deeply";
					return -1;
				}
			} else if (s[it->pos] == ')') {
				depth--;
			} else if (s[it->pos] == '\\' && it->pos + 1 < it->len) {
				it->pos++;
			}
			it->pos++;
		} while (depth > 0);
		*ws_r = true;
	}
}

/* 3.2.4 quoted-string = DQUOTE *([FWS] qcontent) [FWS] DQUOTE, from the
 * opening quote at it->pos to after the closing one. NULL or an error. */
static const char *scan_qstring(struct addr_list *it)
{
	const char *s = it->data;
	size_t n;

	for (it->pos++; it->pos < it->len; it->pos++) {
		if (s[it->pos] == '"') {
			it->pos++;
			return NULL;
		}
		if (s[it->pos] == '\\') {
			if (++it->pos >= it->len)
				break;
		} else if (s[it->pos] == '\r' || s[it->pos] == '\n') {
			n = fws_len(it, it->pos);
			if (n == 0)
				return "line break in quoted string";
			it->pos += n - 1;
		}
	}
	return "unterminated quoted string";
}

/* 3.4.1 domain-literal from "[" to after "]"; the content is checked later
 * as an address literal. NULL or an error. */
static const char *scan_literal(struct addr_list *it)
{
	const char *s = it->data;

	for (it->pos++; it->pos < it->len; it->pos++) {
		if (s[it->pos] == ']') {
			it->pos++;
			return NULL;
		}
		if (s[it->pos] == '[' || s[it->pos] == '\\')
			return "invalid domain literal";
	}
	return "unterminated domain literal";
}

/* RFC 5322 3.2: the next lexical token after any CFWS. */
static void next_token(struct addr_list *it, struct token *t)
{
	const char *s = it->data;
	size_t start;

	memset(t, 0, sizeof(*t));
	if (skip_cfws(it, &t->ws_before, &t->error) < 0) {
		t->type = TOK_ERROR;
		return;
	}
	if (it->pos >= it->len) {
		t->type = TOK_END;
		return;
	}
	start = it->pos;
	if (s[start] == '"') {
		t->type = TOK_QSTRING;
		t->error = scan_qstring(it);
	} else if (s[start] == '[') {
		t->type = TOK_LITERAL;
		t->error = scan_literal(it);
	} else if (addr_is_atext((unsigned char)s[start]) || (unsigned char)s[start] >= 0x80) {
		/* 3.2.3 atom; RFC 6532 3.2 adds UTF-8 to atext */
		while (it->pos < it->len && (addr_is_atext((unsigned char)s[it->pos]) ||
		                             (unsigned char)s[it->pos] >= 0x80))
			it->pos++;
		t->type = TOK_ATOM;
	} else {
		it->pos++;
		t->type = TOK_SPECIAL;
		t->c = s[start];
	}
	if (t->error != NULL)
		t->type = TOK_ERROR;
	t->p = s + start;
	t->len = it->pos - start;
}

static bool is_special(const struct token *t, char c)
{
	return t->type == TOK_SPECIAL && t->c == c;
}

/* The content of a quoted-string token: quotes and quoted-pair backslashes
 * removed, line breaks of folding dropped (RFC 5322 3.2.4, 3.2.2). */
static int decode_qstring(const struct token *t, struct sink *out, const char **error_r)
{
	size_t i;

	for (i = 1; i + 1 < t->len; i++) {
		unsigned char c = (unsigned char)t->p[i];

		if (c == '\r' || c == '\n')
			continue;
		if (c == '\\')
			c = (unsigned char)t->p[++i];
		/* obs-qtext control characters are not taken */
		if ((c < 32 && c != '\t') || c == 127) {
			*error_r = "control character in quoted string";
			return -1;
		}
		sink_put(out, (const char *)&c, 1);
	}
	return 0;
}

static void phrase_init(struct phrase *ph, char *display_buf, size_t display_size)
{
	memset(ph, 0, sizeof(*ph));
	ph->display.buf = display_buf;
	ph->display.cap = display_size - 1;
	ph->local.buf = ph->local_buf;
	ph->local.cap = ADDR_LOCAL_MAX;
	ph->local_ok = true;
	ph->expect_word = true;
}

/* Add an atom, a quoted string or a "." to both readings of a phrase. */
static int phrase_add(struct phrase *ph, const struct token *t, const char **error_r)
{
	if (t->ws_before && ph->display.len > 0)
		sink_put(&ph->display, " ", 1);
	if (is_special(t, '.')) {
		sink_put(&ph->display, ".", 1);
		sink_put(&ph->local, ".", 1);
		if (ph->expect_word)
			ph->local_ok = false;
		ph->expect_word = true;
		return 0;
	}
	if (!ph->expect_word)
		ph->local_ok = false; /* two words without a dot: not a local part */
	ph->expect_word = false;
	ph->words++;
	if (t->type == TOK_ATOM) {
		sink_put(&ph->display, t->p, t->len);
		sink_put(&ph->local, t->p, t->len);
		return 0;
	}
	if (decode_qstring(t, &ph->display, error_r) < 0)
		return -1;
	return decode_qstring(t, &ph->local, error_r);
}

/* The local part the phrase spells, canonicalized (RFC 5322 3.4.1: the
 * quoting is not part of its meaning). */
static int phrase_local(const struct addr_list *it, const struct phrase *ph, char *out,
                        const char **error_r)
{
	if (ph->words == 0) {
		*error_r = "missing local part";
		return -1;
	}
	if (!ph->local_ok || ph->expect_word) {
		*error_r = "invalid local part";
		return -1;
	}
	if (ph->local.overflow) {
		*error_r = "local part longer than 64 octets";
		return -1;
	}
	return addr_local_canonical(ph->local.buf, ph->local.len, it->flags, out, error_r);
}

/* NUL-terminate a display name; when it was cut, drop a partial UTF-8
 * character and trailing spaces. */
static void display_finish(struct sink *k, bool *truncated_r)
{
	size_t n = k->len, j = n;

	if (k->overflow) {
		*truncated_r = true;
		while (j > 0 && n - j < 3 && ((unsigned char)k->buf[j - 1] & 0xc0) == 0x80)
			j--;
		if (j > 0 && (unsigned char)k->buf[j - 1] >= 0xc0) {
			unsigned char lead = (unsigned char)k->buf[j - 1];
			size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;

			if (n - (j - 1) < need)
				n = j - 1;
		}
		while (n > 0 && k->buf[n - 1] == ' ')
			n--;
	}
	k->buf[n] = '\0';
	k->len = n;
}

/*
 * From i, the first octet outside quoted strings and comments (and, with
 * skip_angle, outside "<...>") that is in stops; len when there is none.
 */
static size_t scan_to(const struct addr_list *it, size_t i, const char *stops, bool skip_angle)
{
	const char *s = it->data;
	bool quoted = false, angle = false;
	size_t depth = 0;

	for (; i < it->len; i++) {
		char c = s[i];

		if (c == '\\' && (quoted || depth > 0)) {
			i++;
		} else if (quoted) {
			quoted = c != '"';
		} else if (depth > 0) {
			depth += c == '(';
			depth -= c == ')';
		} else if (c == '"') {
			quoted = true;
		} else if (c == '(') {
			depth = 1;
		} else if (skip_angle && angle) {
			angle = c != '>';
		} else if (skip_angle && c == '<') {
			angle = true;
		} else if (c != '\0' && strchr(stops, c) != NULL) {
			return i;
		}
	}
	return it->len;
}

/* Skip a bad element from its start: to after the next top-level comma, or
 * to the ";" that closes the current group. */
static void recover(struct addr_list *it, size_t start)
{
	size_t i = scan_to(it, start, it->in_group ? ",;" : ",", true);

	if (i < it->len && it->data[i] == ',')
		i++;
	it->pos = i;
}

/* RFC 5322 3.4.1 domain = dot-atom / domain-literal / obs-domain. */
static int parse_domain(struct addr_list *it, char *out, const char **error_r)
{
	char raw[RAW_DOMAIN_MAX + 1];
	struct sink k = {raw, RAW_DOMAIN_MAX, 0, false};
	struct token t;
	size_t save;

	next_token(it, &t);
	if (t.type == TOK_LITERAL)
		return addr_domain_normalize(t.p, t.len, it->flags, out, error_r);
	if (t.type != TOK_ATOM) {
		*error_r = t.type == TOK_ERROR ? t.error : "missing domain";
		return -1;
	}
	sink_put(&k, t.p, t.len);
	for (;;) {
		save = it->pos;
		next_token(it, &t);
		if (!is_special(&t, '.')) {
			it->pos = save;
			break;
		}
		next_token(it, &t);
		if (t.type != TOK_ATOM) {
			*error_r = "invalid domain";
			return -1;
		}
		sink_put(&k, ".", 1);
		sink_put(&k, t.p, t.len);
	}
	if (k.overflow) {
		*error_r = "domain too long";
		return -1;
	}
	return addr_domain_normalize(raw, k.len, it->flags, out, error_r);
}

/* After "<": RFC 5322 3.4 angle-addr, or 4.4 obs-angle-addr whose route is
 * dropped, up to and including ">". */
static int parse_angle(struct addr_list *it, struct mail_address *addr, const char **error_r)
{
	char unused[1];
	struct phrase ph;
	struct token t;
	size_t save = it->pos;

	next_token(it, &t);
	if (is_special(&t, '@')) {
		/* obs-route = obs-domain-list ":" */
		do {
			next_token(it, &t);
			if (t.type != TOK_ATOM && t.type != TOK_LITERAL && !is_special(&t, '.') &&
			    !is_special(&t, '@') && !is_special(&t, ',') && !is_special(&t, ':')) {
				*error_r = t.type == TOK_ERROR ? t.error : "invalid route";
				return -1;
			}
		} while (!is_special(&t, ':'));
	} else {
		it->pos = save;
	}
	phrase_init(&ph, unused, sizeof(unused));
	for (;;) {
		next_token(it, &t);
		if (t.type != TOK_ATOM && t.type != TOK_QSTRING && !is_special(&t, '.'))
			break;
		if (phrase_add(&ph, &t, error_r) < 0)
			return -1;
	}
	if (t.type == TOK_ERROR) {
		*error_r = t.error;
		return -1;
	}
	if (is_special(&t, '>') && ph.words == 0) {
		*error_r = "empty address <>";
		return -1;
	}
	if (is_special(&t, '>') && (it->flags & ADDR_ALLOW_NO_DOMAIN) != 0)
		return phrase_local(it, &ph, addr->local, error_r);
	if (!is_special(&t, '@')) {
		*error_r = is_special(&t, '>') ? "missing @domain" : "invalid address in <>";
		return -1;
	}
	if (phrase_local(it, &ph, addr->local, error_r) < 0 ||
	    parse_domain(it, addr->domain, error_r) < 0)
		return -1;
	next_token(it, &t);
	if (!is_special(&t, '>')) {
		*error_r = t.type == TOK_ERROR ? t.error : "missing > after address";
		return -1;
	}
	return 0;
}

/* After a mailbox: the end, a comma (taken), or the group's ";" (left). */
static int element_end(struct addr_list *it, const char **error_r)
{
	struct token t;
	size_t save = it->pos;

	next_token(it, &t);
	if (t.type == TOK_END || is_special(&t, ','))
		return 0;
	if (is_special(&t, ';') && it->in_group) {
		it->pos = save;
		return 0;
	}
	*error_r = t.type == TOK_ERROR ? t.error : "unexpected text after address";
	return -1;
}

/* A display name with specials that should have been quoted ("a@b <a@b>",
 * "Dev [ops] <x@y>"): when the element ends in an angle-addr, take the raw
 * text before "<" as the display name, whitespace runs folded. 0 when that
 * worked, 1 when there is no angle-addr, -1 when the angle-addr is bad. */
static int raw_display_fallback(struct addr_list *it, size_t start, struct addr_mailbox *mb,
                                const char **error_r)
{
	size_t lt = scan_to(it, start, it->in_group ? ",;<" : ",<", false);
	struct sink k = {mb->display, ADDR_DISPLAY_BUFSZ - 1, 0, false};
	bool space = false;
	size_t i;

	if (lt >= it->len || it->data[lt] != '<')
		return 1;
	for (i = start; i < lt; i++) {
		char c = it->data[i];

		if (is_wsp(c) || c == '\r' || c == '\n') {
			space = k.len > 0;
			continue;
		}
		if (space)
			sink_put(&k, " ", 1);
		space = false;
		sink_put(&k, &c, 1);
	}
	display_finish(&k, &mb->display_truncated);
	it->pos = lt + 1;
	if (parse_angle(it, &mb->addr, error_r) < 0)
		return -1;
	return element_end(it, error_r);
}

static int fallback_result(int r, const char **error_r)
{
	if (r == 0)
		return 1;
	if (r > 0)
		*error_r = "invalid character in address";
	return -1;
}

/* One element of the list at it->pos: 1 for a mailbox, 2 when a group
 * started (its members follow), -1 on error. */
static int parse_element(struct addr_list *it, size_t start, struct addr_mailbox *mb,
                         const char **error_r)
{
	struct phrase ph;
	struct token t;
	size_t save;

	memset(mb, 0, sizeof(*mb));
	mb->in_group = it->in_group;
	phrase_init(&ph, mb->display, sizeof(mb->display));
	/* display-name = phrase (3.2.5, 4.1 obs-phrase), or a local part */
	for (;;) {
		save = it->pos;
		next_token(it, &t);
		if (t.type != TOK_ATOM && t.type != TOK_QSTRING && !is_special(&t, '.'))
			break;
		if (phrase_add(&ph, &t, error_r) < 0)
			return -1;
	}
	if (t.type == TOK_ERROR) {
		*error_r = t.error;
		return -1;
	}
	if (is_special(&t, '<')) {
		/* 3.4 name-addr = [display-name] angle-addr */
		display_finish(&ph.display, &mb->display_truncated);
		if (parse_angle(it, &mb->addr, error_r) < 0)
			return -1;
		return element_end(it, error_r) < 0 ? -1 : 1;
	}
	if (is_special(&t, ':')) {
		/* 3.4 group = display-name ":" [group-list] ";" [CFWS] */
		if (it->in_group) {
			*error_r = "group inside a group";
			return -1;
		}
		if (ph.words == 0) {
			*error_r = "group without a name";
			return -1;
		}
		it->in_group = true;
		return 2;
	}
	mb->display[0] = '\0';
	if (is_special(&t, '@')) {
		/* 3.4.1 addr-spec = local-part "@" domain */
		if (phrase_local(it, &ph, mb->addr.local, error_r) < 0 ||
		    parse_domain(it, mb->addr.domain, error_r) < 0)
			return -1;
		save = it->pos;
		next_token(it, &t);
		if (is_special(&t, '<')) {
			memset(&mb->addr, 0, sizeof(mb->addr));
			return fallback_result(raw_display_fallback(it, start, mb, error_r),
			                       error_r);
		}
		it->pos = save;
		return element_end(it, error_r) < 0 ? -1 : 1;
	}
	if (t.type == TOK_END || is_special(&t, ',') || (is_special(&t, ';') && it->in_group)) {
		if (is_special(&t, ';'))
			it->pos = save;
		if ((it->flags & ADDR_ALLOW_NO_DOMAIN) != 0 && ph.words > 0)
			return phrase_local(it, &ph, mb->addr.local, error_r) < 0 ? -1 : 1;
		*error_r = "not an address: missing @domain";
		return -1;
	}
	if (ph.words == 0) {
		*error_r = "invalid character in address";
		return -1;
	}
	return fallback_result(raw_display_fallback(it, start, mb, error_r), error_r);
}

void addr_list_init(struct addr_list *it, const char *s, size_t len, unsigned flags,
                    unsigned max_addresses)
{
	memset(it, 0, sizeof(*it));
	it->data = s;
	it->len = len;
	it->flags = flags;
	it->max_addresses = max_addresses;
}

int addr_list_next(struct addr_list *it, struct addr_mailbox *mb, const char **error_r)
{
	struct token t;
	size_t before;
	int r;

	for (;;) {
		if (it->done)
			return 0;
		before = it->pos;
		next_token(it, &t);
		if (t.type == TOK_END) {
			/* a group left open at the end is taken as closed */
			it->done = true;
			it->in_group = false;
			return 0;
		}
		if (is_special(&t, ','))
			continue; /* 4.4 obs-addr-list: empty elements */
		if (is_special(&t, ';') && it->in_group) {
			it->in_group = false;
			before = it->pos;
			next_token(it, &t);
			if (t.type == TOK_END || is_special(&t, ','))
				continue;
			r = -1;
			*error_r = t.type == TOK_ERROR ? t.error : "unexpected text after group";
		} else {
			it->pos = before;
			if (it->count >= it->max_addresses) {
				it->done = true;
				*error_r = "too many addresses";
				return -1;
			}
			r = parse_element(it, before, mb, error_r);
			if (r == 2)
				continue;
		}
		it->count++;
		if (r < 0) {
			memset(mb, 0, sizeof(*mb));
			recover(it, before);
			return -1;
		}
		return 1;
	}
}
