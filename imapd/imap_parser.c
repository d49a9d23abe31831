/*
 * imap_parser.c: the IMAP command parser (see imap_parser.h).
 *
 * A byte-at-a-time state machine: tag, command name, then arguments
 * (atoms, quoted strings, literals, parenthesized lists) up to the end of
 * the line, where a literal announcement ({n}, {n+}, ~{n}) hands control
 * back to the caller. Fetch attributes keep their section as one atom
 * ("BODY[HEADER.FIELDS (FROM TO)]<0.100>", RFC 3501 6.4.5): a '[' after
 * BODY, BODY.PEEK or BINARY[.PEEK|.SIZE] opens a bracket that holds spaces
 * and parentheses until its ']'. Trust: everything here is network input;
 * bytes, arguments and nesting are counted against the limits.
 */
#include "imap_parser.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum pstate {
	P_TAG,
	P_COMMAND,
	P_ARG_START,   /* an argument, ')', or the end of the line may come */
	P_AFTER_ARG,   /* SP, ')' or the end of the line */
	P_ATOM,
	P_QUOTED,
	P_QUOTED_ESC,
	P_LITERAL8,    /* after '~': '{' */
	P_LIT_SIZE,    /* digits of {n} */
	P_LIT_PLUS,    /* after '+': '}' */
	P_LIT_END,     /* after '}': CR LF */
	P_LIT_LF,      /* after the CR of a literal announcement */
	P_LIT_PENDING, /* waiting for the caller's decision */
	P_LIT_DATA,
	P_CR,          /* a CR ended the line: LF */
	P_DONE,
	P_SKIP,        /* an error: throw away to the end of the line */
	P_SKIP_LF,     /* the skipped line ended with CR */
	P_SKIP_LITERAL,
	P_ERROR,       /* ERROR reported; only reset helps */
};

struct frame {
	struct imap_arg *items;
	size_t count, cap;
};

struct imap_parser {
	struct imap_parser_limits lim;
	enum pstate state;
	struct sbuf tok;
	char *tag;
	char command[32];
	size_t command_len;
	struct frame *frames; /* max_depth + 1 */
	unsigned int depth;
	unsigned int nargs;
	size_t line_len, total;
	bool in_values; /* imap_parser_parse_values(): no tag, no command */
	/* atom bracket depth, for BODY[...] */
	unsigned int bracket;
	/* literal being announced or read */
	struct imap_literal lit;
	uint64_t lit_left;
	const char *error;
	/* skipping: the tail of the line, to see a {n+} at its end */
	char tail[32];
	size_t tail_len;
};

static void args_free(struct imap_arg *items, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (items[i].type == IMAP_ARG_LIST)
			args_free(items[i].list, items[i].count);
		free(items[i].str);
	}
	free(items);
}

struct imap_parser *imap_parser_create(const struct imap_parser_limits *limits)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	p->lim = *limits;
	if (p->lim.max_depth == 0)
		p->lim.max_depth = 1;
	p->frames = xcalloc(p->lim.max_depth + 1, sizeof(*p->frames));
	return p;
}

void imap_parser_reset(struct imap_parser *p)
{
	for (unsigned int i = 0; i <= p->lim.max_depth; i++) {
		args_free(p->frames[i].items, p->frames[i].count);
		memset(&p->frames[i], 0, sizeof(p->frames[i]));
	}
	sbuf_free(&p->tok);
	free(p->tag);
	p->tag = NULL;
	p->command_len = 0;
	p->command[0] = '\0';
	p->depth = 0;
	p->nargs = 0;
	p->line_len = 0;
	p->total = 0;
	p->bracket = 0;
	p->lit_left = 0;
	p->error = NULL;
	p->tail_len = 0;
	memset(&p->lit, 0, sizeof(p->lit));
	p->state = p->in_values ? P_ARG_START : P_TAG;
}

void imap_parser_destroy(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;

	if (p == NULL)
		return;
	*pp = NULL;
	p->in_values = false;
	imap_parser_reset(p);
	free(p->frames);
	free(p);
}

/* A syntax error: skip the rest of the command, then report it. */
static void fail(struct imap_parser *p, const char *error)
{
	if (p->error == NULL)
		p->error = error;
	/* a command name cut short is no name (imap_parser_command() gives NULL) */
	if (p->state == P_COMMAND)
		p->command_len = 0;
	p->state = P_SKIP;
	p->tail_len = 0;
}

static bool atom_char(unsigned char c)
{
	/* RFC 3501 9 ATOM-CHAR, leniently: list wildcards, ']' and 8-bit bytes
	 * are let through (LIST patterns, sequence sets, UTF-8 names are checked
	 * by the commands) */
	if (c <= 0x20 || c == 0x7f)
		return false;
	return c != '(' && c != ')' && c != '{' && c != '"';
}

static bool tag_char(unsigned char c)
{
	/* RFC 3501 9: tag = 1*<any ASTRING-CHAR except "+"> */
	return atom_char(c) && c != '+' && c < 0x80 && c != '%' && c != '*' && c != '\\';
}

/* Whether an atom so far may open a section bracket (RFC 3501 6.4.5, RFC 3516). */
static bool section_prefix(const struct sbuf *t)
{
	static const char *const names[] = {"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK",
					    "BINARY.SIZE"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (ascii_strncaseeq(t->data != NULL ? t->data : "", t->len, names[i]))
			return true;
	}
	return false;
}

static struct imap_arg *new_arg(struct imap_parser *p, enum imap_arg_type type)
{
	struct frame *f = &p->frames[p->depth];
	struct imap_arg *a;

	if (++p->nargs > p->lim.max_args) {
		fail(p, "Too many arguments");
		return NULL;
	}
	if (f->count == f->cap) {
		f->cap = f->cap == 0 ? 8 : f->cap * 2;
		f->items = xrealloc(f->items, f->cap * sizeof(*f->items));
	}
	a = &f->items[f->count++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	return a;
}

/* Turn the token into an argument (it takes the token's buffer). */
static void push_token(struct imap_parser *p, enum imap_arg_type type)
{
	struct imap_arg *a = new_arg(p, type);

	if (a == NULL) {
		sbuf_free(&p->tok);
		return;
	}
	a->literal8 = type == IMAP_ARG_LITERAL && p->lit.literal8;
	if (p->tok.data == NULL)
		sbuf_append(&p->tok, "", 0);
	a->str = p->tok.data;
	a->len = p->tok.len;
	memset(&p->tok, 0, sizeof(p->tok));
}

static void open_list(struct imap_parser *p)
{
	if (p->depth >= p->lim.max_depth) {
		fail(p, "Lists nested too deep");
		return;
	}
	if (++p->nargs > p->lim.max_args) {
		fail(p, "Too many arguments");
		return;
	}
	p->depth++;
	memset(&p->frames[p->depth], 0, sizeof(p->frames[p->depth]));
	p->state = P_ARG_START;
}

static void close_list(struct imap_parser *p)
{
	struct frame inner = p->frames[p->depth];
	struct imap_arg *a;

	if (p->depth == 0) {
		fail(p, "Unexpected ')'");
		return;
	}
	memset(&p->frames[p->depth], 0, sizeof(p->frames[p->depth]));
	p->depth--;
	p->nargs--; /* counted at '(' already */
	a = new_arg(p, IMAP_ARG_LIST);
	if (a == NULL) {
		args_free(inner.items, inner.count);
		return;
	}
	a->list = inner.items;
	a->count = inner.count;
	p->state = P_AFTER_ARG;
}

static enum imap_parse_result skip_line_end(struct imap_parser *p);

/* The end of a line where a command may end. */
static enum imap_parse_result line_end(struct imap_parser *p)
{
	if (p->depth > 0) {
		fail(p, "Missing ')'");
		return skip_line_end(p);
	}
	p->state = P_DONE;
	return IMAP_PARSE_DONE;
}

static void remember_tail(struct imap_parser *p, unsigned char c)
{
	if (p->tail_len == sizeof(p->tail)) {
		memmove(p->tail, p->tail + 1, sizeof(p->tail) - 1);
		p->tail_len--;
	}
	p->tail[p->tail_len++] = (char)c;
}

/*
 * A skipped line ended: if it announced a non-synchronizing literal, its
 * bytes and the line after it belong to the bad command too (RFC 7888 4).
 */
static enum imap_parse_result skip_line_end(struct imap_parser *p)
{
	size_t i = p->tail_len, digits_end;
	bool plus = false;

	if (i > 0 && p->tail[i - 1] == '}') {
		i--;
		if (i > 0 && p->tail[i - 1] == '+') {
			plus = true;
			i--;
		}
		digits_end = i;
		while (i > 0 && p->tail[i - 1] >= '0' && p->tail[i - 1] <= '9')
			i--;
		if (plus && i == 0 && digits_end > 0 && p->tail_len == sizeof(p->tail)) {
			/* digits past what the tail keeps: a size we cannot know, bytes we cannot skip */
			p->state = P_ERROR;
			p->error = "Literal too large to skip";
			return IMAP_PARSE_FATAL;
		}
		if (plus && i < digits_end && i > 0 && p->tail[i - 1] == '{') {
			int64_t n = imap_parse_number(p->tail + i, digits_end - i, INT64_MAX);

			if (n < 0 || (uint64_t)n > p->lim.max_skip) {
				p->state = P_ERROR;
				p->error = "Literal too large to skip";
				return IMAP_PARSE_FATAL;
			}
			memset(&p->lit, 0, sizeof(p->lit));
			p->lit.size = (uint64_t)n;
			p->lit.skipping = true;
			p->lit.top_index = p->frames[0].count;
			p->state = P_LIT_PENDING;
			p->tail_len = 0;
			return IMAP_PARSE_LITERAL;
		}
	}
	p->state = P_ERROR;
	return IMAP_PARSE_ERROR;
}

/* End of a literal announcement line: hand it to the caller. */
static enum imap_parse_result literal_announced(struct imap_parser *p)
{
	p->lit.depth = p->depth;
	p->lit.top_index = p->frames[0].count;
	p->lit.skipping = false;
	p->state = P_LIT_PENDING;
	p->line_len = 0;
	return IMAP_PARSE_LITERAL;
}

/* After a literal's bytes: the same line goes on. */
static void literal_done(struct imap_parser *p)
{
	if (!p->lit.literal8 && memchr(p->tok.data != NULL ? p->tok.data : "", '\0', p->tok.len)) {
		/* RFC 3501 9: CHAR8 excludes NUL; only literal8 may hold it (RFC 3516) */
		sbuf_free(&p->tok);
		fail(p, "NUL in a literal");
		return;
	}
	push_token(p, IMAP_ARG_LITERAL);
	if (p->state != P_SKIP)
		p->state = P_AFTER_ARG;
	p->line_len = 0;
}

static enum imap_parse_result step(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case P_TAG:
		if (c == ' ' && p->tok.len > 0) {
			p->tag = p->tok.data;
			memset(&p->tok, 0, sizeof(p->tok));
			p->state = P_COMMAND;
		} else if (c == '\r' || c == '\n') {
			fail(p, p->tok.len == 0 ? "Empty command line" : "Missing command");
			if (p->tok.len > 0) {
				p->tag = p->tok.data;
				memset(&p->tok, 0, sizeof(p->tok));
			}
			return c == '\n' ? skip_line_end(p) : IMAP_PARSE_MORE;
		} else if (tag_char(c)) {
			sbuf_append(&p->tok, &c, 1);
		} else {
			sbuf_free(&p->tok);
			fail(p, "Invalid tag");
		}
		return IMAP_PARSE_MORE;
	case P_COMMAND:
		if (c == ' ' || c == '\r' || c == '\n') {
			if (p->command_len == 0) {
				fail(p, "Missing command");
				return c == '\n' ? skip_line_end(p) : IMAP_PARSE_MORE;
			}
			p->command[p->command_len] = '\0';
			if (c == ' ') {
				p->state = P_ARG_START;
				return IMAP_PARSE_MORE;
			}
			if (c == '\r') {
				p->state = P_CR;
				return IMAP_PARSE_MORE;
			}
			return line_end(p);
		}
		/* command names are letters, digits and '-' (X-... commands) */
		if (p->command_len + 1 >= sizeof(p->command) ||
		    !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.')) {
			fail(p, "Invalid command name");
			return IMAP_PARSE_MORE;
		}
		p->command[p->command_len++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
		return IMAP_PARSE_MORE;
	case P_ARG_START:
		if (c == ' ') /* leniently, several spaces between arguments */
			return IMAP_PARSE_MORE;
		if (c == '\r') {
			p->state = P_CR;
			return IMAP_PARSE_MORE;
		}
		if (c == '\n')
			return line_end(p);
		if (c == '(') {
			open_list(p);
		} else if (c == ')') {
			close_list(p);
		} else if (c == '"') {
			p->state = P_QUOTED;
		} else if (c == '{') {
			memset(&p->lit, 0, sizeof(p->lit));
			p->state = P_LIT_SIZE;
			p->lit.sync = true;
		} else if (c == '~') {
			p->state = P_LITERAL8;
		} else if (atom_char(c)) {
			p->bracket = 0;
			sbuf_append(&p->tok, &c, 1);
			p->state = P_ATOM;
		} else {
			fail(p, "Invalid character");
		}
		return IMAP_PARSE_MORE;
	case P_AFTER_ARG:
		if (c == ' ') {
			p->state = P_ARG_START;
		} else if (c == ')') {
			close_list(p);
		} else if (c == '\r') {
			p->state = P_CR;
		} else if (c == '\n') {
			return line_end(p);
		} else {
			fail(p, "Missing space between arguments");
		}
		return IMAP_PARSE_MORE;
	case P_ATOM:
		if (p->bracket > 0) {
			if (c == '\r' || c == '\n' || c == 0) {
				sbuf_free(&p->tok);
				fail(p, "Missing ']'");
				return c == '\n' ? skip_line_end(p) : IMAP_PARSE_MORE;
			}
			if (c == ']')
				p->bracket--;
			sbuf_append(&p->tok, &c, 1);
			return IMAP_PARSE_MORE;
		}
		if (c == '[' && section_prefix(&p->tok)) {
			p->bracket++;
			sbuf_append(&p->tok, &c, 1);
			return IMAP_PARSE_MORE;
		}
		if (atom_char(c)) {
			sbuf_append(&p->tok, &c, 1);
			return IMAP_PARSE_MORE;
		}
		push_token(p, IMAP_ARG_ATOM);
		if (p->state == P_SKIP)
			return c == '\n' ? skip_line_end(p) : IMAP_PARSE_MORE;
		p->state = P_AFTER_ARG;
		return step(p, c);
	case P_QUOTED:
		if (c == '"') {
			push_token(p, IMAP_ARG_STRING);
			if (p->state != P_SKIP)
				p->state = P_AFTER_ARG;
		} else if (c == '\\') {
			p->state = P_QUOTED_ESC;
		} else if (c == '\r' || c == '\n' || c == 0) {
			/* RFC 3501 9: QUOTED-CHAR excludes CR, LF (and NUL) */
			sbuf_free(&p->tok);
			fail(p, "Unterminated quoted string");
			return c == '\n' ? skip_line_end(p) : IMAP_PARSE_MORE;
		} else {
			sbuf_append(&p->tok, &c, 1);
		}
		return IMAP_PARSE_MORE;
	case P_QUOTED_ESC:
		if (c != '"' && c != '\\') {
			sbuf_free(&p->tok);
			fail(p, "Invalid escape in a quoted string");
			return c == '\n' ? skip_line_end(p) : IMAP_PARSE_MORE;
		}
		sbuf_append(&p->tok, &c, 1);
		p->state = P_QUOTED;
		return IMAP_PARSE_MORE;
	case P_LITERAL8:
		if (c != '{') {
			fail(p, "Invalid character");
			return c == '\n' ? skip_line_end(p) : IMAP_PARSE_MORE;
		}
		memset(&p->lit, 0, sizeof(p->lit));
		p->lit.sync = true;
		p->lit.literal8 = true;
		p->state = P_LIT_SIZE;
		return IMAP_PARSE_MORE;
	case P_LIT_SIZE:
		if (c >= '0' && c <= '9') {
			/* RFC 9051 9: number64; we stop well before overflow */
			if (p->lit.size > (UINT64_MAX - 9) / 10 / 1024) {
				fail(p, "Literal size too large");
				return IMAP_PARSE_MORE;
			}
			p->lit.size = p->lit.size * 10 + (uint64_t)(c - '0');
			p->tail_len++; /* counts digits here */
			return IMAP_PARSE_MORE;
		}
		if (p->tail_len == 0 || (c != '}' && c != '+')) {
			fail(p, "Invalid literal");
			return c == '\n' ? skip_line_end(p) : IMAP_PARSE_MORE;
		}
		p->tail_len = 0;
		if (c == '+') {
			p->lit.sync = false;
			p->state = P_LIT_PLUS;
		} else {
			p->state = P_LIT_END;
		}
		return IMAP_PARSE_MORE;
	case P_LIT_PLUS:
		if (c != '}') {
			fail(p, "Invalid literal");
			return c == '\n' ? skip_line_end(p) : IMAP_PARSE_MORE;
		}
		p->state = P_LIT_END;
		return IMAP_PARSE_MORE;
	case P_LIT_END:
		if (c == '\r') {
			p->state = P_LIT_LF;
			return IMAP_PARSE_MORE;
		}
		if (c == '\n')
			return literal_announced(p);
		fail(p, "A literal must end its line");
		return IMAP_PARSE_MORE;
	case P_LIT_LF:
		if (c == '\n')
			return literal_announced(p);
		fail(p, "A literal must end its line");
		return IMAP_PARSE_MORE;
	case P_CR:
		if (c == '\n')
			return line_end(p);
		fail(p, "CR without LF");
		return IMAP_PARSE_MORE;
	case P_SKIP:
		if (c == '\n')
			return skip_line_end(p);
		if (c != '\r')
			remember_tail(p, c);
		return IMAP_PARSE_MORE;
	default:
		/* P_LIT_PENDING, P_LIT_DATA, P_SKIP_LITERAL, P_DONE, P_ERROR: handled by the caller */
		return IMAP_PARSE_MORE;
	}
}

enum imap_parse_result imap_parser_feed(struct imap_parser *p, const void *data, size_t len,
					size_t *used_r)
{
	const unsigned char *in = data;
	size_t i = 0;
	enum imap_parse_result r;

	*used_r = 0;
	while (i < len) {
		if (p->state == P_DONE || p->state == P_ERROR || p->state == P_LIT_PENDING) {
			/* nothing more belongs to this command: a caller bug */
			*used_r = i;
			return p->state == P_DONE ? IMAP_PARSE_DONE
			       : p->state == P_ERROR ? IMAP_PARSE_ERROR
						      : IMAP_PARSE_LITERAL;
		}
		if (p->state == P_LIT_DATA || p->state == P_SKIP_LITERAL) {
			size_t n = len - i;

			if ((uint64_t)n > p->lit_left)
				n = (size_t)p->lit_left;
			if (p->state == P_LIT_DATA)
				sbuf_append(&p->tok, in + i, n);
			i += n;
			p->lit_left -= n;
			if (p->lit_left == 0) {
				if (p->state == P_SKIP_LITERAL) {
					p->state = P_SKIP;
					p->tail_len = 0;
				} else {
					literal_done(p);
				}
			}
			continue;
		}
		if (p->state != P_SKIP && p->state != P_SKIP_LF) {
			if (in[i] != '\n' && in[i] != '\r' && ++p->line_len > p->lim.max_line) {
				sbuf_free(&p->tok);
				fail(p, "Line too long");
			}
			if (++p->total > p->lim.max_command && p->state != P_SKIP) {
				sbuf_free(&p->tok);
				fail(p, "Command too long");
			}
		}
		r = step(p, in[i++]);
		if (r != IMAP_PARSE_MORE) {
			*used_r = i;
			return r;
		}
	}
	*used_r = i;
	return IMAP_PARSE_MORE;
}

const struct imap_literal *imap_parser_literal(const struct imap_parser *p)
{
	return &p->lit;
}

static enum imap_parse_result start_skip_literal(struct imap_parser *p)
{
	if (p->lit.sync) {
		/* the client waits for a go-ahead that will not come */
		p->state = P_ERROR;
		return IMAP_PARSE_ERROR;
	}
	if (p->lit.size > p->lim.max_skip) {
		p->state = P_ERROR;
		p->error = "Literal too large to skip";
		return IMAP_PARSE_FATAL;
	}
	p->lit_left = p->lit.size;
	p->state = P_SKIP_LITERAL;
	if (p->lit_left == 0) {
		p->state = P_SKIP;
		p->tail_len = 0;
	}
	return IMAP_PARSE_MORE;
}

enum imap_parse_result imap_parser_literal_accept(struct imap_parser *p)
{
	if (p->state != P_LIT_PENDING)
		return IMAP_PARSE_FATAL;
	if (p->lit.skipping)
		return start_skip_literal(p);
	if (p->total > p->lim.max_command || p->lit.size > p->lim.max_command - p->total) {
		if (p->error == NULL)
			p->error = "Literal too large";
		return start_skip_literal(p);
	}
	p->total += (size_t)p->lit.size;
	p->lit_left = p->lit.size;
	sbuf_free(&p->tok);
	p->state = P_LIT_DATA;
	if (p->lit_left == 0)
		literal_done(p);
	return IMAP_PARSE_MORE;
}

void imap_parser_literal_streamed(struct imap_parser *p, size_t stream_index)
{
	struct imap_arg *a;

	if (p->state != P_LIT_PENDING || p->lit.skipping)
		return;
	a = new_arg(p, IMAP_ARG_STREAMED);
	if (a == NULL)
		return;
	a->literal8 = p->lit.literal8;
	a->stream_index = stream_index;
	a->len = (size_t)p->lit.size;
	a->str = xstrdup("");
	p->state = P_AFTER_ARG;
	p->line_len = 0;
}

enum imap_parse_result imap_parser_literal_skip(struct imap_parser *p, const char *error)
{
	if (p->state != P_LIT_PENDING)
		return IMAP_PARSE_FATAL;
	if (p->error == NULL)
		p->error = error;
	return start_skip_literal(p);
}

const char *imap_parser_tag(const struct imap_parser *p)
{
	return p->tag;
}

const char *imap_parser_command(const struct imap_parser *p)
{
	return p->command_len > 0 && p->state != P_TAG && p->state != P_COMMAND ? p->command
										 : NULL;
}

const struct imap_arg *imap_parser_args(const struct imap_parser *p, size_t *count_r)
{
	*count_r = p->frames[0].count;
	return p->frames[0].items;
}

const char *imap_parser_error(const struct imap_parser *p)
{
	return p->error != NULL ? p->error : "Syntax error";
}

const struct imap_arg *imap_parser_parse_values(struct imap_parser *p, const char *data,
						size_t len, size_t *count_r, const char **error_r)
{
	static const struct imap_arg no_values;
	enum imap_parse_result r;
	size_t used, pos = 0;

	p->in_values = true;
	imap_parser_reset(p);
	for (;;) {
		r = imap_parser_feed(p, data + pos, len - pos, &used);
		pos += used;
		if (r == IMAP_PARSE_LITERAL) {
			if (imap_parser_literal_accept(p) != IMAP_PARSE_MORE)
				break;
			continue;
		}
		if (r != IMAP_PARSE_MORE)
			break;
		/* the end of the data ends the line */
		r = imap_parser_feed(p, "\n", 1, &used);
		break;
	}
	p->in_values = false;
	if (r != IMAP_PARSE_DONE || pos != len) {
		*error_r = r == IMAP_PARSE_DONE ? "Data after the values" : imap_parser_error(p);
		return NULL;
	}
	*count_r = p->frames[0].count;
	/* no values at all is a success too: never NULL then */
	return p->frames[0].items != NULL ? p->frames[0].items : &no_values;
}

bool imap_arg_is_atom(const struct imap_arg *arg, const char *upper)
{
	return arg != NULL && arg->type == IMAP_ARG_ATOM && strcasecmp(arg->str, upper) == 0;
}

const char *imap_arg_astring(const struct imap_arg *arg)
{
	if (arg == NULL)
		return NULL;
	switch (arg->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_STRING:
	case IMAP_ARG_LITERAL:
		/* a string with a NUL inside cannot be used as one */
		return strlen(arg->str) == arg->len ? arg->str : NULL;
	default:
		return NULL;
	}
}

const char *imap_arg_string(const struct imap_arg *arg)
{
	if (arg == NULL || arg->type == IMAP_ARG_ATOM)
		return NULL;
	return imap_arg_astring(arg);
}

int64_t imap_parse_number(const char *s, size_t len, int64_t max)
{
	int64_t v = 0;

	if (len == 0 || len > 19)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		/* 19 digits may pass INT64_MAX: stop before the overflow */
		if (v > (INT64_MAX - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

int64_t imap_arg_number(const struct imap_arg *arg, int64_t max)
{
	if (arg == NULL || arg->type != IMAP_ARG_ATOM)
		return -1;
	return imap_parse_number(arg->str, arg->len, max);
}
