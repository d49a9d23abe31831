/*
 * sieved_parser.c: the ManageSieve command reader (see sieved_parser.h).
 *
 * RFC 5804 4: a command is tokens separated by spaces, ended by CRLF; a
 * string is a quoted string (QUOTED-CHAR: any octet but NUL, CR, LF, with
 * only \" and \\ as escapes) or a literal. Clients send non-synchronizing
 * literals {N+}; the synchronizing form {N} is taken the same way, since
 * ManageSieve has no continuation for literals (RFC 5804 4 lists {N} as the
 * server's form; accepting it costs nothing and some clients send it). A bare
 * LF ends a line as CRLF does. One state machine, one byte at a time outside
 * literals; literal data is copied in runs. Trust: raw network input.
 */
#include "sieved_parser.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

enum state {
	ST_TOKEN_START, /* at the start of the line or after a space */
	ST_ATOM,
	ST_QUOTED,
	ST_QUOTED_ESC,
	ST_AFTER,     /* after a string: a space or the line end */
	ST_LIT_NUM,   /* in "{123" */
	ST_LIT_CLOSE, /* after "+": "}" */
	ST_LIT_CRLF,  /* after "}": the line end */
	ST_LIT_LF,    /* after "}" CR */
	ST_LITERAL,   /* literal octets */
	ST_CR,        /* CR at the end of a line: LF */
	ST_SKIP,      /* after an error: to the end of the line */
	ST_SKIP_LITERAL,
	ST_FATAL,
};

/* While skipping: was a literal announced at the end of the line? */
enum skip_lit {
	SKIP_NONE,
	SKIP_NUM,   /* "{" digits */
	SKIP_PLUS,  /* "{" digits "+" */
	SKIP_CLOSE, /* ... "}" */
	SKIP_CR,    /* ... "}" CR */
};

struct sieved_parser {
	struct sieved_parser_limits limits;
	enum state state;
	struct sieved_token *tokens; /* max_tokens slots */
	struct sbuf *bufs;           /* their data */
	size_t count;                /* tokens started */
	size_t line_len;             /* bytes of the current line outside literals */
	uint64_t lit_num;            /* the literal being announced */
	unsigned int lit_digits;
	uint64_t lit_left; /* octets still to come */
	bool lit_discard;  /* the literal is too large to keep */
	bool too_big;      /* a literal was discarded: the command is lost */
	enum skip_lit skip;
	bool done; /* the last feed ended a command: start anew */
	struct sieved_command command;
	const char *error;
};

/* A quoted string or atom cannot outgrow the line; twenty digits overflow 2^64. */
#define LIT_MAX_DIGITS 19

struct sieved_parser *sieved_parser_create(const struct sieved_parser_limits *limits)
{
	struct sieved_parser *p = xcalloc(1, sizeof(*p));

	p->limits = *limits;
	if (p->limits.max_tokens == 0)
		p->limits.max_tokens = 1;
	p->tokens = xcalloc(p->limits.max_tokens, sizeof(*p->tokens));
	p->bufs = xcalloc(p->limits.max_tokens, sizeof(*p->bufs));
	p->state = ST_TOKEN_START;
	return p;
}

void sieved_parser_destroy(struct sieved_parser **pp)
{
	struct sieved_parser *p = *pp;

	if (p == NULL)
		return;
	for (size_t i = 0; i < p->limits.max_tokens; i++)
		sbuf_free(&p->bufs[i]);
	free(p->bufs);
	free(p->tokens);
	free(p);
	*pp = NULL;
}

static void clear_command(struct sieved_parser *p)
{
	for (size_t i = 0; i < p->count; i++) {
		/* A big literal's buffer is not kept for the rest of the session. */
		if (p->bufs[i].cap > 65536)
			sbuf_free(&p->bufs[i]);
		else
			sbuf_reset(&p->bufs[i]);
	}
	p->count = 0;
	p->line_len = 0;
	p->lit_left = 0;
	p->lit_discard = false;
	p->too_big = false;
	p->skip = SKIP_NONE;
	p->error = NULL;
}

void sieved_parser_reset(struct sieved_parser *p)
{
	clear_command(p);
	p->done = false;
	if (p->state != ST_FATAL)
		p->state = ST_TOKEN_START;
}

const struct sieved_command *sieved_parser_command(const struct sieved_parser *p)
{
	return &p->command;
}

const char *sieved_parser_error(const struct sieved_parser *p)
{
	return p->error != NULL ? p->error : "syntax error";
}

uint64_t sieved_parser_literal_left(const struct sieved_parser *p)
{
	return p->state == ST_LITERAL || p->state == ST_SKIP_LITERAL ? p->lit_left : 0;
}

bool sieved_token_is(const struct sieved_token *t, const char *word)
{
	return t->type == SIEVED_TOKEN_ATOM && ascii_strncaseeq(t->data, t->len, word);
}

/* RFC 5804 4 has no atom rule of its own; this is IMAP's ATOM-CHAR, less "{". */
static bool atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){\"\\%*]", c) == NULL;
}

static bool start_token(struct sieved_parser *p, enum sieved_token_type type, bool literal)
{
	struct sieved_token *t;

	if (p->count == p->limits.max_tokens) {
		p->error = "too many arguments";
		return false;
	}
	t = &p->tokens[p->count];
	sbuf_reset(&p->bufs[p->count]);
	sbuf_append(&p->bufs[p->count], "", 0);
	t->type = type;
	t->literal = literal;
	p->count++;
	return true;
}

static void token_append(struct sieved_parser *p, const void *data, size_t len)
{
	sbuf_append(&p->bufs[p->count - 1], data, len);
}

/* Enter skipping after an error; the error is reported at the line's end. */
static void fail(struct sieved_parser *p, const char *error)
{
	if (p->error == NULL)
		p->error = error;
	p->skip = SKIP_NONE;
	p->state = ST_SKIP;
}

/* The command's line ended: the status to report. */
static enum sieved_parse_status end_line(struct sieved_parser *p)
{
	p->done = true;
	p->state = ST_TOKEN_START;
	if (p->too_big) {
		p->error = "literal too large";
		return SIEVED_PARSE_TOO_BIG;
	}
	if (p->count == 0) {
		p->error = "empty command";
		return SIEVED_PARSE_ERROR;
	}
	for (size_t i = 0; i < p->count; i++) {
		p->tokens[i].data = p->bufs[i].data;
		p->tokens[i].len = p->bufs[i].len;
	}
	p->command.tokens = p->tokens;
	p->command.count = p->count;
	return SIEVED_PARSE_DONE;
}

/* The literal's header ended ("}" CRLF): take its octets next. */
static enum sieved_parse_status begin_literal(struct sieved_parser *p)
{
	p->line_len = 0;
	if (p->lit_num > p->limits.max_literal) {
		if (p->lit_num > p->limits.max_discard) {
			p->error = "literal too large to skip";
			p->state = ST_FATAL;
			return SIEVED_PARSE_FATAL;
		}
		p->lit_discard = true;
		p->too_big = true;
	} else {
		p->lit_discard = false;
	}
	p->lit_left = p->lit_num;
	p->state = p->lit_left > 0 ? ST_LITERAL : ST_AFTER;
	return SIEVED_PARSE_MORE;
}

/* One byte of a line being skipped; tracks a literal announced at its end. */
static enum sieved_parse_status skip_byte(struct sieved_parser *p, unsigned char c)
{
	if (c == '\n') {
		if (p->skip == SKIP_CLOSE || p->skip == SKIP_CR) {
			p->skip = SKIP_NONE;
			if (p->lit_num > p->limits.max_discard) {
				p->state = ST_FATAL;
				return SIEVED_PARSE_FATAL;
			}
			p->lit_left = p->lit_num;
			if (p->lit_left > 0)
				p->state = ST_SKIP_LITERAL;
			return SIEVED_PARSE_MORE;
		}
		p->done = true;
		p->state = ST_TOKEN_START;
		return SIEVED_PARSE_ERROR;
	}
	switch (p->skip) {
	case SKIP_NUM:
		if (c >= '0' && c <= '9' && p->lit_digits < LIT_MAX_DIGITS) {
			p->lit_num = p->lit_num * 10 + (uint64_t)(c - '0');
			p->lit_digits++;
			return SIEVED_PARSE_MORE;
		}
		if (c == '+' && p->lit_digits > 0) {
			p->skip = SKIP_PLUS;
			return SIEVED_PARSE_MORE;
		}
		if (c == '}' && p->lit_digits > 0) {
			p->skip = SKIP_CLOSE;
			return SIEVED_PARSE_MORE;
		}
		break;
	case SKIP_PLUS:
		if (c == '}') {
			p->skip = SKIP_CLOSE;
			return SIEVED_PARSE_MORE;
		}
		break;
	case SKIP_CLOSE:
		if (c == '\r') {
			p->skip = SKIP_CR;
			return SIEVED_PARSE_MORE;
		}
		break;
	default:
		break;
	}
	p->skip = SKIP_NONE;
	if (c == '{') {
		p->skip = SKIP_NUM;
		p->lit_num = 0;
		p->lit_digits = 0;
	}
	return SIEVED_PARSE_MORE;
}

/* One byte outside literal data. */
static enum sieved_parse_status parse_byte(struct sieved_parser *p, unsigned char c)
{
	if (p->state == ST_SKIP)
		return skip_byte(p, c);
	if (c != '\r' && c != '\n' && ++p->line_len > p->limits.max_line) {
		fail(p, "line too long");
		return SIEVED_PARSE_MORE;
	}
	switch (p->state) {
	case ST_TOKEN_START:
		if (c == ' ')
			return SIEVED_PARSE_MORE;
		if (c == '\r') {
			p->state = ST_CR;
			return SIEVED_PARSE_MORE;
		}
		if (c == '\n')
			return end_line(p);
		if (c == '"') {
			if (!start_token(p, SIEVED_TOKEN_STRING, false))
				fail(p, p->error);
			else
				p->state = ST_QUOTED;
			return SIEVED_PARSE_MORE;
		}
		if (c == '{') {
			if (!start_token(p, SIEVED_TOKEN_STRING, true)) {
				fail(p, p->error);
				/* the skipper must still see this literal's header */
				p->skip = SKIP_NUM;
				p->lit_num = 0;
				p->lit_digits = 0;
			} else {
				p->lit_num = 0;
				p->lit_digits = 0;
				p->state = ST_LIT_NUM;
			}
			return SIEVED_PARSE_MORE;
		}
		if (atom_char(c)) {
			if (!start_token(p, SIEVED_TOKEN_ATOM, false)) {
				fail(p, p->error);
			} else {
				token_append(p, &c, 1);
				p->state = ST_ATOM;
			}
			return SIEVED_PARSE_MORE;
		}
		fail(p, "unexpected character");
		return SIEVED_PARSE_MORE;
	case ST_ATOM:
		if (atom_char(c)) {
			token_append(p, &c, 1);
			return SIEVED_PARSE_MORE;
		}
		if (c == ' ') {
			p->state = ST_TOKEN_START;
			return SIEVED_PARSE_MORE;
		}
		if (c == '\r') {
			p->state = ST_CR;
			return SIEVED_PARSE_MORE;
		}
		if (c == '\n')
			return end_line(p);
		fail(p, "unexpected character after an atom");
		return SIEVED_PARSE_MORE;
	case ST_QUOTED:
		if (c == '"') {
			p->state = ST_AFTER;
		} else if (c == '\\') {
			p->state = ST_QUOTED_ESC;
		} else if (c == '\r' || c == '\n' || c == '\0') {
			p->error = "unterminated or invalid quoted string";
			if (c == '\n') {
				p->done = true;
				p->state = ST_TOKEN_START;
				return SIEVED_PARSE_ERROR;
			}
			fail(p, p->error);
		} else {
			token_append(p, &c, 1);
		}
		return SIEVED_PARSE_MORE;
	case ST_QUOTED_ESC:
		/* RFC 5804 4: QUOTED-SPECIALS are only DQUOTE and "\" */
		if (c == '"' || c == '\\') {
			token_append(p, &c, 1);
			p->state = ST_QUOTED;
			return SIEVED_PARSE_MORE;
		}
		if (c == '\n') {
			p->error = "invalid escape in a quoted string";
			p->done = true;
			p->state = ST_TOKEN_START;
			return SIEVED_PARSE_ERROR;
		}
		fail(p, "invalid escape in a quoted string");
		return SIEVED_PARSE_MORE;
	case ST_AFTER:
		if (c == ' ') {
			p->state = ST_TOKEN_START;
			return SIEVED_PARSE_MORE;
		}
		if (c == '\r') {
			p->state = ST_CR;
			return SIEVED_PARSE_MORE;
		}
		if (c == '\n')
			return end_line(p);
		fail(p, "a string must be followed by a space or the end of the line");
		return SIEVED_PARSE_MORE;
	case ST_LIT_NUM:
		if (c >= '0' && c <= '9') {
			if (p->lit_digits == LIT_MAX_DIGITS) {
				fail(p, "literal length too long");
				return SIEVED_PARSE_MORE;
			}
			p->lit_num = p->lit_num * 10 + (uint64_t)(c - '0');
			p->lit_digits++;
			return SIEVED_PARSE_MORE;
		}
		if (p->lit_digits > 0 && c == '+') {
			p->state = ST_LIT_CLOSE;
			return SIEVED_PARSE_MORE;
		}
		if (p->lit_digits > 0 && c == '}') {
			p->state = ST_LIT_CRLF;
			return SIEVED_PARSE_MORE;
		}
		fail(p, "invalid literal");
		return SIEVED_PARSE_MORE;
	case ST_LIT_CLOSE:
		if (c == '}') {
			p->state = ST_LIT_CRLF;
			return SIEVED_PARSE_MORE;
		}
		fail(p, "invalid literal");
		return SIEVED_PARSE_MORE;
	case ST_LIT_CRLF:
		if (c == '\r') {
			p->state = ST_LIT_LF;
			return SIEVED_PARSE_MORE;
		}
		if (c == '\n')
			return begin_literal(p);
		fail(p, "a literal's length must end the line");
		return SIEVED_PARSE_MORE;
	case ST_LIT_LF:
		if (c == '\n')
			return begin_literal(p);
		fail(p, "a literal's length must end the line");
		return SIEVED_PARSE_MORE;
	case ST_CR:
		if (c == '\n')
			return end_line(p);
		fail(p, "CR without LF");
		return SIEVED_PARSE_MORE;
	default:
		return SIEVED_PARSE_FATAL;
	}
}

enum sieved_parse_status sieved_parser_feed(struct sieved_parser *p, const void *data, size_t len,
                                            size_t *used_r)
{
	const unsigned char *in = data;
	size_t pos = 0;

	*used_r = 0;
	if (p->state == ST_FATAL)
		return SIEVED_PARSE_FATAL;
	if (p->done) {
		clear_command(p);
		p->done = false;
	}
	while (pos < len) {
		enum sieved_parse_status st;

		if (p->state == ST_LITERAL || p->state == ST_SKIP_LITERAL) {
			size_t n = len - pos;
			if ((uint64_t)n > p->lit_left)
				n = (size_t)p->lit_left;
			if (p->state == ST_LITERAL && !p->lit_discard)
				token_append(p, in + pos, n);
			pos += n;
			p->lit_left -= n;
			if (p->lit_left == 0) {
				p->line_len = 0;
				p->state = p->state == ST_LITERAL ? ST_AFTER : ST_SKIP;
			}
			continue;
		}
		st = parse_byte(p, in[pos++]);
		if (st != SIEVED_PARSE_MORE) {
			*used_r = pos;
			return st;
		}
	}
	*used_r = pos;
	return SIEVED_PARSE_MORE;
}

void sieved_string_append(struct sbuf *out, const char *data, size_t len)
{
	bool quote = len <= 1024 && memchr(data, '\r', len) == NULL &&
	             memchr(data, '\n', len) == NULL && memchr(data, '\0', len) == NULL;

	if (!quote) {
		sbuf_appendf(out, "{%zu}\r\n", len);
		sbuf_append(out, data, len);
		return;
	}
	sbuf_append(out, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '"' || data[i] == '\\')
			sbuf_append(out, "\\", 1);
		sbuf_append(out, &data[i], 1);
	}
	sbuf_append(out, "\"", 1);
}
