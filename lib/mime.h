/*
 * mime.h: MIME (RFC 2045-2047, 2231) for every reader of messages: the
 * Content-Type field, RFC 2047 encoded-words, the base64 and
 * quoted-printable transfer encodings, charset conversion to UTF-8 (iconv),
 * and the tree of body parts of a multipart message.
 *
 * Everything here reads untrusted input and is bounded by the limits in
 * struct message_limits (nesting depth, part count, boundary length).
 * Decoders never fail: bad input decodes to what can be recovered.
 */
#ifndef SLUICE_MIME_H
#define SLUICE_MIME_H

#include <stddef.h>

#include "message.h"
#include "util.h"

struct mime_param {
	char *name;  /* lower case */
	char *value; /* unquoted; RFC 2231 continuations joined and decoded to UTF-8 */
};

struct mime_content_type {
	char *type, *subtype; /* lower case */
	struct mime_param *params;
	size_t nparams;
};

/* RFC 2045 5.1. Returns -1 (and leaves ct empty) when the value is not a valid type. */
int mime_content_type_parse(const char *value, size_t len, struct mime_content_type *ct);
/* A parameter's value, NULL when absent. */
const char *mime_content_type_param(const struct mime_content_type *ct, const char *name);
void mime_content_type_clear(struct mime_content_type *ct);

/* RFC 2047: decode the encoded-words of a header value and append UTF-8 to out. */
void mime_header_decode(const char *value, size_t len, struct sbuf *out);
/* RFC 2047 2: the text of an encoded-word, 75 characters less "=?utf-8?Q?" and "?=". */
#define MIME_ENCODED_TEXT_MAX (75 - 12)
/*
 * RFC 2047: UTF-8 text as encoded-words, each holding whole characters (RFC
 * 2047 5) and at most MIME_ENCODED_TEXT_MAX characters of encoded text (the
 * first at most first_max; 0: the same), separated by sep (" ", or "\r\n " to
 * fold). Q when most characters are ASCII, else B (RFC 2047 4); Q keeps only
 * the characters allowed in every context (RFC 2047 5(3)), so the words may
 * stand in a phrase (a display name) too. Line breaks and controls end up
 * encoded, never raw.
 */
void mime_header_encode(const char *s, size_t len, size_t first_max, const char *sep,
			struct sbuf *out);

void mime_base64_decode(const char *in, size_t len, struct sbuf *out);
void mime_qp_decode(const char *in, size_t len, struct sbuf *out);
/* Decode by Content-Transfer-Encoding value (NULL or unknown: copied as is). */
void mime_transfer_decode(const char *encoding, const char *in, size_t len, struct sbuf *out);

/* Convert text in `charset` (NULL: US-ASCII/UTF-8) to UTF-8 and append it.
   Returns -1 when the charset is unknown (the text is then copied as UTF-8). */
int mime_charset_to_utf8(const char *charset, const char *in, size_t len, struct sbuf *out);
/* Append text, replacing byte sequences that are not UTF-8 by U+FFFD. */
void mime_utf8_sanitize(const char *in, size_t len, struct sbuf *out);
/* Length of the valid UTF-8 character at s (1 for an invalid byte). */
size_t mime_utf8_char_len(const char *s, size_t len);

struct mime_part {
	struct mime_part *parent, *children, *next;
	unsigned int depth; /* 0 for the message itself */
	struct message_header header;
	struct mime_content_type ct; /* defaulted when absent or invalid */
	char *encoding;              /* Content-Transfer-Encoding, lower case, NULL if absent */
	size_t offset;               /* where the part (its header) starts in the data */
	size_t body_offset, body_len;
	/* multipart only: text before the first and after the last delimiter */
	size_t prologue_offset, prologue_len, epilogue_offset, epilogue_len;
};

/*
 * Build the part tree of a message in data[0..size) (the data must outlive
 * the tree). Past the depth or part limits, parts are kept as leaves.
 * Fails only when a part header exceeds its limits.
 */
int mime_parse(const char *data, size_t size, const struct message_limits *limits,
               struct mime_part **root_r, const char **error_r);
void mime_part_free(struct mime_part **root);
/* Depth-first pre-order walk below `top`: the part after p, NULL at the end. */
struct mime_part *mime_part_next(const struct mime_part *p, const struct mime_part *top);
/* The decoded body of a leaf part, converted to UTF-8 when it is text/x. */
void mime_part_decoded(const struct mime_part *part, const char *data, int to_utf8,
                       struct sbuf *out);

#endif
