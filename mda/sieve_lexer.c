/*
 * sieve_lexer.c: the lexical layer of RFC 5228 section 2 (and 8.1):
 * identifiers, tags, numbers with K/M/G quantifiers, quoted strings,
 * multi-line "text:" strings with dot-stuffing, and both comment forms.
 *
 * Trust: the script is untrusted (users upload it). The lexer reads the
 * buffer once, front to back, never past its length; every token is
 * bounded by the script size. Errors carry the line and column.
 */
#include "sieve_private.h"

#include <string.h>

void sieve_lexer_init(struct sieve_lexer *lx, const char *src, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->src = src;
	lx->len = len;
	lx->line = 1;
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void newline(struct sieve_lexer *lx)
{
	lx->line++;
	lx->line_start = lx->pos;
}

/* Skip white space and comments; -1 on an unterminated bracket comment. */
static int skip_space(struct sieve_lexer *lx, const char **error_r)
{
	while (lx->pos < lx->len) {
		char c = lx->src[lx->pos];
		if (c == ' ' || c == '\t' || c == '\r') {
			lx->pos++;
		} else if (c == '\n') {
			lx->pos++;
			newline(lx);
		} else if (c == '#') {
			while (lx->pos < lx->len && lx->src[lx->pos] != '\n')
				lx->pos++;
		} else if (c == '/' && lx->pos + 1 < lx->len && lx->src[lx->pos + 1] == '*') {
			lx->pos += 2;
			for (;;) {
				if (lx->pos + 1 >= lx->len) {
					*error_r = "unterminated comment";
					return -1;
				}
				if (lx->src[lx->pos] == '*' && lx->src[lx->pos + 1] == '/') {
					lx->pos += 2;
					break;
				}
				if (lx->src[lx->pos++] == '\n')
					newline(lx);
			}
		} else {
			break;
		}
	}
	return 0;
}

static int lex_quoted(struct sieve_lexer *lx, struct sieve_token *tok, const char **error_r)
{
	struct sbuf s = {0};

	lx->pos++; /* the opening quote */
	for (;;) {
		char c;
		if (lx->pos >= lx->len) {
			sbuf_free(&s);
			*error_r = "unterminated string";
			return -1;
		}
		c = lx->src[lx->pos++];
		if (c == '"')
			break;
		if (c == '\\') {
			/* RFC 5228 2.4.2: "\\" and "\"" are defined; any other "\x" is "x". */
			if (lx->pos >= lx->len)
				continue;
			c = lx->src[lx->pos++];
		}
		if (c == '\n')
			newline(lx);
		sbuf_append(&s, &c, 1);
	}
	tok->type = TOK_STRING;
	tok->str = s.data != NULL ? s.data : xstrdup("");
	tok->str_len = s.len;
	return 0;
}

/* RFC 5228 2.4.2 multi-line: "text:" *(SP / HTAB) (hash-comment / CRLF) *lines "." CRLF */
static int lex_multiline(struct sieve_lexer *lx, struct sieve_token *tok, const char **error_r)
{
	struct sbuf s = {0};

	lx->pos += 5;
	while (lx->pos < lx->len && (lx->src[lx->pos] == ' ' || lx->src[lx->pos] == '\t'))
		lx->pos++;
	if (lx->pos < lx->len && lx->src[lx->pos] == '#') {
		while (lx->pos < lx->len && lx->src[lx->pos] != '\n')
			lx->pos++;
	} else if (lx->pos < lx->len && lx->src[lx->pos] == '\r') {
		lx->pos++;
	}
	if (lx->pos >= lx->len || lx->src[lx->pos] != '\n') {
		*error_r = "text: must be followed by a line break";
		return -1;
	}
	lx->pos++;
	newline(lx);
	for (;;) {
		size_t start = lx->pos, end, content_end;
		if (start >= lx->len) {
			sbuf_free(&s);
			*error_r = "unterminated multi-line string (missing \".\" line)";
			return -1;
		}
		for (end = start; end < lx->len && lx->src[end] != '\n'; end++)
			;
		content_end = end;
		if (content_end > start && lx->src[content_end - 1] == '\r')
			content_end--;
		lx->pos = end < lx->len ? end + 1 : end;
		if (end < lx->len)
			newline(lx);
		if (content_end - start == 1 && lx->src[start] == '.')
			break;
		/* Dot-stuffing: a line starting with "." had one more added. */
		if (lx->src[start] == '.')
			start++;
		sbuf_append(&s, lx->src + start, lx->pos - start);
	}
	tok->type = TOK_STRING;
	tok->str = s.data != NULL ? s.data : xstrdup("");
	tok->str_len = s.len;
	return 0;
}

static int lex_number(struct sieve_lexer *lx, struct sieve_token *tok, const char **error_r)
{
	uint64_t n = 0, mult = 1;

	while (lx->pos < lx->len && is_digit(lx->src[lx->pos])) {
		unsigned int d = (unsigned int)(lx->src[lx->pos++] - '0');
		if (n > (UINT64_MAX - d) / 10) {
			*error_r = "number too large";
			return -1;
		}
		n = n * 10 + d;
	}
	if (lx->pos < lx->len) {
		switch (lx->src[lx->pos]) {
		case 'k':
		case 'K':
			mult = UINT64_C(1) << 10;
			break;
		case 'm':
		case 'M':
			mult = UINT64_C(1) << 20;
			break;
		case 'g':
		case 'G':
			mult = UINT64_C(1) << 30;
			break;
		default:
			break;
		}
		if (mult != 1)
			lx->pos++;
	}
	if (n > UINT64_MAX / mult) {
		*error_r = "number too large";
		return -1;
	}
	if (lx->pos < lx->len && (is_alpha(lx->src[lx->pos]) || is_digit(lx->src[lx->pos]))) {
		*error_r = "invalid number";
		return -1;
	}
	tok->type = TOK_NUMBER;
	tok->number = n * mult;
	return 0;
}

int sieve_lexer_next(struct sieve_lexer *lx, struct sieve_token *tok, const char **error_r)
{
	char c;

	memset(tok, 0, sizeof(tok[0]));
	if (skip_space(lx, error_r) < 0) {
		tok->line = lx->line;
		tok->column = (unsigned int)(lx->pos - lx->line_start) + 1;
		return -1;
	}
	tok->line = lx->line;
	tok->column = (unsigned int)(lx->pos - lx->line_start) + 1;
	if (lx->pos >= lx->len) {
		tok->type = TOK_EOF;
		return 0;
	}
	c = lx->src[lx->pos];
	if (is_alpha(c)) {
		size_t start = lx->pos;
		while (lx->pos < lx->len &&
		       (is_alpha(lx->src[lx->pos]) || is_digit(lx->src[lx->pos])))
			lx->pos++;
		if (lx->pos - start == 4 && ascii_strncaseeq(lx->src + start, 4, "text") &&
		    lx->pos < lx->len && lx->src[lx->pos] == ':') {
			lx->pos = start;
			return lex_multiline(lx, tok, error_r);
		}
		tok->type = TOK_IDENT;
		tok->text = lx->src + start;
		tok->len = lx->pos - start;
		return 0;
	}
	if (c == ':') {
		size_t start = ++lx->pos;
		while (lx->pos < lx->len &&
		       (is_alpha(lx->src[lx->pos]) || is_digit(lx->src[lx->pos])))
			lx->pos++;
		if (lx->pos == start || is_digit(lx->src[start])) {
			*error_r = "invalid tag";
			return -1;
		}
		tok->type = TOK_TAG;
		tok->text = lx->src + start;
		tok->len = lx->pos - start;
		return 0;
	}
	if (is_digit(c))
		return lex_number(lx, tok, error_r);
	if (c == '"')
		return lex_quoted(lx, tok, error_r);
	lx->pos++;
	switch (c) {
	case '[':
		tok->type = TOK_LBRACKET;
		return 0;
	case ']':
		tok->type = TOK_RBRACKET;
		return 0;
	case '{':
		tok->type = TOK_LBRACE;
		return 0;
	case '}':
		tok->type = TOK_RBRACE;
		return 0;
	case '(':
		tok->type = TOK_LPAREN;
		return 0;
	case ')':
		tok->type = TOK_RPAREN;
		return 0;
	case ',':
		tok->type = TOK_COMMA;
		return 0;
	case ';':
		tok->type = TOK_SEMICOLON;
		return 0;
	default:
		break;
	}
	*error_r = "unexpected character";
	return -1;
}
