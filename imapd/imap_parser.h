/*
 * imap_parser.h: the IMAP command parser (RFC 3501 9, RFC 9051 9): a
 * resumable iterator over a client's bytes with limits.
 *
 * Feed it bytes in any chunks (one at a time or whole lines); it returns
 * MORE when it needs more, LITERAL when a literal's size was announced (the
 * caller decides: accept its bytes into the parser, read them itself as for
 * an APPEND message, or skip them), DONE when a whole command is parsed, and
 * ERROR for a syntax error or a limit, reported only once the bad command's
 * bytes are consumed to the end of its line (and of the non-synchronizing
 * literals announced there, RFC 7888), so the caller can answer BAD and go
 * on with the next command. Input is untrusted: every size is bounded.
 */
#ifndef SLUICE_IMAP_PARSER_H
#define SLUICE_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum imap_arg_type {
	IMAP_ARG_ATOM,     /* atoms, numbers, NIL, flags, sequence sets, "BODY[...]<...>" */
	IMAP_ARG_STRING,   /* a quoted string */
	IMAP_ARG_LITERAL,  /* {n} or ~{n} (literal8), its bytes in str */
	IMAP_ARG_LIST,     /* ( ... ) */
	IMAP_ARG_STREAMED, /* a literal the caller read itself: stream_index says which */
};

struct imap_arg {
	enum imap_arg_type type;
	bool literal8;   /* IMAP_ARG_LITERAL / STREAMED from ~{n} (RFC 3516) */
	char *str;       /* NUL-terminated; a literal may hold NULs of its own */
	size_t len;
	struct imap_arg *list; /* IMAP_ARG_LIST */
	size_t count;
	size_t stream_index;   /* IMAP_ARG_STREAMED */
};

struct imap_parser_limits {
	size_t max_line;        /* bytes of one line, its end not counted */
	size_t max_command;     /* bytes of a command's lines and accepted literals */
	uint64_t max_skip;      /* largest non-synchronizing literal skipped after an error */
	unsigned int max_depth; /* nesting of parenthesized lists */
	unsigned int max_args;  /* arguments in a command, lists and their items counted */
};

enum imap_parse_result {
	IMAP_PARSE_MORE,    /* everything given was consumed: feed more */
	IMAP_PARSE_LITERAL, /* a literal was announced: see imap_parser_literal() */
	IMAP_PARSE_DONE,    /* a command is ready: imap_parser_tag/command/args */
	IMAP_PARSE_ERROR,   /* a bad command was consumed: answer BAD (imap_parser_error) */
	IMAP_PARSE_FATAL,   /* the input cannot be resynchronized: end the session */
};

struct imap_literal {
	uint64_t size;
	bool sync;          /* {n}: the client waits for a continuation request */
	bool literal8;      /* ~{n} */
	bool skipping;      /* announced in a command already in error: only skip it */
	unsigned int depth; /* 0: a top-level argument */
	size_t top_index;   /* index of the top-level argument it is (or is inside) */
};

struct imap_parser;

struct imap_parser *imap_parser_create(const struct imap_parser_limits *limits);
void imap_parser_destroy(struct imap_parser **p);
/* Forget the command (after DONE, ERROR, or to abandon one) and wait for the next. */
void imap_parser_reset(struct imap_parser *p);

/*
 * Consume bytes. *used_r tells how many were taken: all of them for MORE,
 * up to the event otherwise (the end of the literal announcement's line,
 * the end of the command's line).
 */
enum imap_parse_result imap_parser_feed(struct imap_parser *p, const void *data, size_t len,
					size_t *used_r);

/* After LITERAL: what was announced. */
const struct imap_literal *imap_parser_literal(const struct imap_parser *p);
/*
 * After LITERAL: take its bytes, fed next. MORE: accepted (send a
 * continuation request if it is synchronizing and not skipping), then feed
 * exactly `size` bytes. ERROR: a synchronizing literal over the limits:
 * answer BAD now (the client sends nothing more of it) and reset. FATAL: a
 * non-synchronizing one too large even to skip.
 */
enum imap_parse_result imap_parser_literal_accept(struct imap_parser *p);
/* After LITERAL: the caller read the bytes itself; the argument is IMAP_ARG_STREAMED. */
void imap_parser_literal_streamed(struct imap_parser *p, size_t stream_index);
/*
 * After LITERAL: refuse it with `error` (static text). Like accept: MORE
 * when the bytes come anyway (non-synchronizing) and must be fed to be
 * skipped, ERROR for a synchronizing one, FATAL when too large to skip.
 */
enum imap_parse_result imap_parser_literal_skip(struct imap_parser *p, const char *error);

/* The tag once parsed, else NULL. */
const char *imap_parser_tag(const struct imap_parser *p);
/* The command name, upper case, once parsed, else NULL. */
const char *imap_parser_command(const struct imap_parser *p);
/* After DONE: the arguments after the command name. */
const struct imap_arg *imap_parser_args(const struct imap_parser *p, size_t *count_r);
/* After ERROR or FATAL: why. */
const char *imap_parser_error(const struct imap_parser *p);

/*
 * Parse a whole buffer of IMAP values (no tag, no command, no line end),
 * separated by spaces as in a command (RFC 3501's abutting lists of a
 * response, "(...)(...)", are not read). Literals are taken as they come.
 * Returns the values, valid until the parser is reset, or NULL with
 * *error_r set.
 */
const struct imap_arg *imap_parser_parse_values(struct imap_parser *p, const char *data,
						size_t len, size_t *count_r, const char **error_r);

/* Helpers for command code. */
bool imap_arg_is_atom(const struct imap_arg *arg, const char *upper);
/* An astring (atom, quoted or literal): its text, or NULL. */
const char *imap_arg_astring(const struct imap_arg *arg);
/* A string (quoted or literal, no atom): its text, or NULL. */
const char *imap_arg_string(const struct imap_arg *arg);
/* A number of 1 to 20 digits up to max, or -1. */
int64_t imap_arg_number(const struct imap_arg *arg, int64_t max);
/* Parse a decimal number of len bytes (no sign, no leading junk) up to max, or -1. */
int64_t imap_parse_number(const char *s, size_t len, int64_t max);

#endif
