/*
 * sieved_parser.h: the ManageSieve (RFC 5804 4) command reader of
 * sluice-sieved, and the writer of the strings it answers with.
 *
 * A command is a line of tokens: atoms (the command name, numbers) and
 * strings, each a quoted string or a literal ({N+} or {N} then CRLF then N
 * octets; the line goes on after the literal). The parser is a push parser:
 * feed it bytes in any pieces, one at a time if need be, and it says when a
 * command is complete. Everything is bounded: line length (literals aside),
 * literal size, token count. A syntax error is reported once the rest of the
 * line has been skipped (literals announced on it included), so the next
 * command starts in sync; a literal too large to keep is skipped and the
 * command reported unusable (for QUOTA/MAXSIZE); one too large even to skip
 * is fatal. Trust: parses raw network input.
 */
#ifndef SLUICE_SIEVED_PARSER_H
#define SLUICE_SIEVED_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbuf;

struct sieved_parser_limits {
	size_t max_line;      /* bytes of one line, literals and its end excluded */
	size_t max_literal;   /* largest literal kept */
	uint64_t max_discard; /* largest literal skipped when too large to keep */
	unsigned int max_tokens;
};

enum sieved_token_type {
	SIEVED_TOKEN_ATOM,
	SIEVED_TOKEN_STRING,
};

struct sieved_token {
	enum sieved_token_type type;
	char *data; /* NUL-terminated after len bytes; a literal may hold NULs itself */
	size_t len;
	bool literal;
};

struct sieved_command {
	struct sieved_token *tokens;
	size_t count; /* at least 1 */
};

enum sieved_parse_status {
	SIEVED_PARSE_MORE,    /* everything fed was taken: feed more */
	SIEVED_PARSE_DONE,    /* a command is complete: sieved_parser_command() */
	SIEVED_PARSE_ERROR,   /* a syntax error, line skipped: sieved_parser_error() */
	SIEVED_PARSE_TOO_BIG, /* a literal over max_literal was skipped; the command is lost */
	SIEVED_PARSE_FATAL,   /* a literal over max_discard: the stream cannot be resynchronized */
};

struct sieved_parser;

struct sieved_parser *sieved_parser_create(const struct sieved_parser_limits *limits);
void sieved_parser_destroy(struct sieved_parser **p);
/* Forget any partial command (after the stream lost a piece of it). */
void sieved_parser_reset(struct sieved_parser *p);
/*
 * Take bytes. *used_r says how many were taken: all of them with MORE; up to
 * and including the line feed that ended the command otherwise. After any
 * status but MORE, the next feed starts a new command (FATAL stays FATAL).
 */
enum sieved_parse_status sieved_parser_feed(struct sieved_parser *p, const void *data, size_t len,
                                            size_t *used_r);
/* The command after DONE, valid until the next feed or reset. */
const struct sieved_command *sieved_parser_command(const struct sieved_parser *p);
/* Why the last ERROR, TOO_BIG or FATAL happened. */
const char *sieved_parser_error(const struct sieved_parser *p);
/*
 * Octets of a literal still expected (0 outside a literal): the caller reads
 * exactly these as data instead of as a line.
 */
uint64_t sieved_parser_literal_left(const struct sieved_parser *p);

/* Whether a token is the atom `word` (case-insensitive). */
bool sieved_token_is(const struct sieved_token *t, const char *word);

/*
 * Append a string for a response (RFC 5804 4): quoted when short and free of
 * CR, LF and NUL (with " and \ escaped), a literal {N}CRLF... otherwise.
 */
void sieved_string_append(struct sbuf *out, const char *data, size_t len);

#endif
