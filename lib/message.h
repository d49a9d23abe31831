/*
 * message.h: RFC 5322 message headers, parsed once for every reader (the
 * Sieve interpreter, sluice-lmtpd, sluice-imapd).
 *
 * The header parser is a resumable iterator: feed it bytes as they arrive
 * (one at a time or all at once), ask for the next complete field. Fields
 * come out unfolded (RFC 5322 2.2.3) with their raw folded text kept beside.
 * Every size is bounded by struct message_limits; input is untrusted.
 * struct message holds a whole message in memory with its parsed header,
 * and struct message_header is an editable list of fields (Sieve editheader
 * works on a copy of one).
 */
#ifndef SLUICE_MESSAGE_H
#define SLUICE_MESSAGE_H

#include <stddef.h>

#include "util.h"

struct message_limits {
	size_t max_header_size;        /* bytes in one header block (message or MIME part) */
	unsigned int max_fields;       /* fields in one header block; more are dropped */
	unsigned int max_mime_depth;   /* nesting of multiparts and message/rfc822 */
	unsigned int max_mime_parts;   /* MIME parts in one message */
	unsigned int max_boundary_len; /* RFC 2046 5.1.1 allows 70; longer is not multipart */
};

/* The defaults: 1 MiB of header, 10000 fields, depth 20, 500 parts, boundary 200. */
void message_limits_default(struct message_limits *limits);

struct message_field {
	char *name; /* as written, NUL-terminated */
	size_t name_len;
	char *value; /* unfolded, leading and trailing white space removed, raw octets */
	size_t value_len;
	char *raw; /* the folded text after the colon, without the final line end */
	size_t raw_len;
};

struct message_header {
	struct message_field *fields;
	size_t count, cap;
};

enum header_parse_result {
	HEADER_PARSE_ERROR = -1, /* a limit was exceeded; error_r says which */
	HEADER_PARSE_MORE = 0,   /* feed more bytes (or call header_parser_finish) */
	HEADER_PARSE_FIELD = 1,  /* *field_r holds a field the caller now owns */
	HEADER_PARSE_END = 2,    /* the blank line (or the end of input) was reached */
};

struct header_parser;

struct header_parser *header_parser_create(const struct message_limits *limits);
/* Give the parser more input. Bytes past the end of the header are kept aside. */
void header_parser_feed(struct header_parser *p, const void *data, size_t len);
/* No more input will come: a pending field is complete, the header ends. */
void header_parser_finish(struct header_parser *p);
/* The next field, or MORE / END / ERROR. */
int header_parser_next(struct header_parser *p, struct message_field *field_r,
                       const char **error_r);
/* After END: bytes of the header block including the blank line. */
size_t header_parser_header_size(const struct header_parser *p);
/* After END: input fed beyond the header block (the start of the body). */
const char *header_parser_rest(const struct header_parser *p, size_t *len_r);
void header_parser_free(struct header_parser **p);

/* Parse a whole header block from a buffer. *size_r: bytes of the block. */
int message_header_parse(const void *data, size_t len, const struct message_limits *limits,
                         struct message_header *hdr, size_t *size_r, const char **error_r);

void message_field_clear(struct message_field *field);
/* RFC 5322 3.6.8: field-name = 1*ftext, printable US-ASCII except ':'. */
int message_field_name_valid(const char *name, size_t len);

/* Fields named `name` (case-insensitive). */
size_t message_header_count(const struct message_header *hdr, const char *name);
/* The nth (0-based) field named `name`, or NULL. */
const struct message_field *message_header_get(const struct message_header *hdr, const char *name,
                                               size_t nth);
/* Insert a field at position pos (0 = first, hdr->count = last). value may hold CR LF. */
void message_header_insert(struct message_header *hdr, size_t pos, const char *name,
                           const char *value, size_t value_len);
void message_header_remove(struct message_header *hdr, size_t pos);
void message_header_copy(struct message_header *dst, const struct message_header *src);
void message_header_clear(struct message_header *hdr);
/* Write the header block (fields as raw text, CRLF line ends, blank line at the end). */
void message_header_write(const struct message_header *hdr, struct sbuf *out);

struct message {
	char *data; /* the whole message as given, NUL-terminated */
	size_t size;
	struct message_header header;
	size_t body_offset; /* where the body starts in data */
};

/* Parse a message held in memory (copied). Fails only when a limit is exceeded. */
int message_parse(const void *data, size_t size, const struct message_limits *limits,
                  struct message **msg_r, const char **error_r);
void message_free(struct message **msg);
/* The body: the bytes after the header block. */
const char *message_body(const struct message *msg, size_t *len_r);

#endif
