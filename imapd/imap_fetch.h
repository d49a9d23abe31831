/*
 * imap_fetch.h: FETCH (RFC 3501 6.4.5, RFC 9051 6.4.5) in three parts:
 * the request parsed from the client's items (imap_fetch_parse.c), the
 * body sections cut out of a message (imap_fetch_body.c: BODY[section],
 * BINARY[section], partial ranges), and the command that reads the index
 * and writes the responses (imap_cmd_fetch.c).
 */
#ifndef SLUICE_IMAP_FETCH_H
#define SLUICE_IMAP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imapd.h"
#include "mime.h"

enum fetch_bits {
	FETCH_FLAGS = 1 << 0,
	FETCH_UID = 1 << 1,
	FETCH_INTERNALDATE = 1 << 2,
	FETCH_SIZE = 1 << 3, /* RFC822.SIZE */
	FETCH_ENVELOPE = 1 << 4,
	FETCH_BODYSTRUCTURE = 1 << 5,
	FETCH_BODY = 1 << 6, /* BODY: the structure without extension data */
	FETCH_MODSEQ = 1 << 7, /* RFC 7162 */
};

enum section_kind {
	SECTION_BODY,        /* BODY[...] and BODY.PEEK[...], RFC822, RFC822.HEADER/.TEXT */
	SECTION_BINARY,      /* BINARY[...] (RFC 3516) */
	SECTION_BINARY_SIZE, /* BINARY.SIZE[...] */
};

enum section_spec {
	SPEC_NONE,  /* the whole part (or message) */
	SPEC_HEADER,
	SPEC_HEADER_FIELDS,
	SPEC_HEADER_FIELDS_NOT,
	SPEC_TEXT,
	SPEC_MIME,
};

#define FETCH_MAX_PART_DEPTH 32

struct fetch_section {
	enum section_kind kind;
	bool peek;
	unsigned int part[FETCH_MAX_PART_DEPTH]; /* "1.2.3" */
	size_t nparts;
	enum section_spec spec;
	char **fields; /* HEADER.FIELDS names, upper case */
	size_t nfields;
	bool partial;
	uint64_t offset, length;
	char *name; /* how the response names it: "BODY[1.HEADER]<0>", "RFC822" */
};

struct fetch_request {
	unsigned int bits; /* enum fetch_bits */
	struct fetch_section *sections;
	size_t nsections;
	int64_t changedsince; /* -1: none (RFC 7162 3.1.4) */
	bool vanished;        /* UID FETCH ... (CHANGEDSINCE n VANISHED), RFC 7162 3.2.6 */
	bool sets_seen;       /* a section without PEEK: \Seen is set (RFC 3501 6.4.5) */
	bool needs_header;    /* only the message header is read */
	bool needs_message;   /* the whole message is read */
};

/*
 * Parse the items (and modifiers) after the sequence set. With `uid`, UID
 * is always returned. -1 with *error_r for a BAD reply.
 */
int imap_fetch_parse(const struct imap_arg *args, size_t nargs, bool uid,
		     struct fetch_request *req, const char **error_r);
void imap_fetch_request_free(struct fetch_request *req);

/* How a section's content came out. */
enum section_result {
	SECTION_OK,
	SECTION_NIL,         /* no such part: NIL (BODY) or empty */
	SECTION_UNKNOWN_CTE, /* BINARY of a part in an encoding we cannot undo (RFC 3516 4.3) */
};

/*
 * The bytes of a section of a message (data[0..size), parsed into root;
 * root may be NULL when only the header was read and the section needs no
 * more): appended to out, before any partial range is applied.
 */
enum section_result imap_fetch_section(const struct fetch_section *sec, const char *data,
				       size_t size, const struct mime_part *root, struct sbuf *out);
/* Whether the section is the whole message as stored (streamed from the file). */
bool imap_fetch_section_whole(const struct fetch_section *sec);
/* Whether the section needs only the top-level header of the message. */
bool imap_fetch_section_header_only(const struct fetch_section *sec);

#endif
