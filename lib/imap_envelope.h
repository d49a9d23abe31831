/*
 * imap_envelope.h: what the IMAP index caches for each message, computed
 * once when it is stored: the ENVELOPE (RFC 3501 7.4.2, RFC 9051 7.5.2),
 * the BODYSTRUCTURE with extension data (RFC 3501 7.4.2, RFC 9051 7.5.2),
 * a short text preview (RFC 8970) and the header fields clients list in
 * their message views, over lib/message.h and lib/mime.h; and reading a
 * cached ENVELOPE back.
 *
 * The ENVELOPE and BODYSTRUCTURE are IMAP syntax ready to send: strings are
 * quoted when they are 7-bit and plain, literals ({n} CRLF bytes) otherwise. Input is
 * untrusted; header text that is not UTF-8 is replaced (U+FFFD) and NULs
 * dropped, so the results are always valid UTF-8 text for PostgreSQL.
 */
#ifndef SLUICE_IMAP_ENVELOPE_H
#define SLUICE_IMAP_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "message.h"
#include "mime.h"
#include "util.h"

/* RFC 8970 3: a preview is at most 256 characters; we keep 200. */
#define IMAP_PREVIEW_MAX_CHARS 200

/* Append s as an IMAP nstring (NIL when s is NULL). */
void imap_append_nstring(struct sbuf *out, const char *s, size_t len);
/* Append the ENVELOPE of a header: "(date subject from ...)". */
void imap_envelope(const struct message_header *hdr, struct sbuf *out);
/*
 * Reading a cached ENVELOPE back (SEARCH, SORT, THREAD) without a general
 * IMAP parser: the text is what imap_envelope() wrote, but it comes from
 * the database, so a malformed one is refused, never trusted.
 */
struct imap_env_string {
	const char *data; /* NULL for NIL; inside the envelope text, still quoted */
	size_t len;
	bool escaped; /* a quoted string with \" or \\ in it: see imap_env_string_append() */
};

/* An address list's span, walked with imap_env_next_address(). */
struct imap_env_list {
	const char *p, *end;
};

struct imap_env_address {
	struct imap_env_string name, adl, mailbox, host;
};

struct imap_env {
	struct imap_env_string date, subject, in_reply_to, message_id;
	/* from, sender, reply-to, to, cc, bcc */
	struct imap_env_list addr[6];
};

enum imap_env_field { IMAP_ENV_FROM, IMAP_ENV_SENDER, IMAP_ENV_REPLY_TO, IMAP_ENV_TO, IMAP_ENV_CC,
                      IMAP_ENV_BCC };

/* Split an ENVELOPE into its fields; -1 when it is not one. */
int imap_env_read(const char *env, size_t len, struct imap_env *e);
/* The next address of a list: false at its end (or at something that is not an address). */
bool imap_env_next_address(struct imap_env_list *list, struct imap_env_address *a);
/* Append the string's value (unquoted) to out; false for NIL (nothing appended). */
bool imap_env_string_append(const struct imap_env_string *s, struct sbuf *out);

/*
 * The header fields IMAP clients list in their message views
 * (BODY.PEEK[HEADER.FIELDS (From To Subject Date ...)]), which the index
 * keeps per message (messages.header_fields, schema 0009) so that such a
 * FETCH, THREAD REFERENCES and SEARCH HEADER of these names open no file.
 * Changing the set needs a migration that sets the column to NULL: a row
 * cached with the old set would answer for fields it does not hold.
 */
bool imap_header_cached(const char *name, size_t len);
/*
 * RFC 3501 6.4.5 HEADER.FIELDS (listed) or HEADER.FIELDS.NOT (not listed)
 * of names (compared without case): the fields as written, then the blank
 * line. The cache is this over the set above, so a FETCH of a subset reads
 * the same from the cache as from the message.
 */
void imap_header_fields(const struct message_header *hdr, char *const *names, size_t nnames,
                        bool listed, struct sbuf *out);
/*
 * The cached fields of a stored message (its bytes, without the index's
 * header prefix) into out; false when they must not be cached: a header over
 * the parser's limits or near them (the prefix counts at FETCH time), one
 * starting with white space (the prefix's last field would take it), or
 * fields that are not UTF-8 text without NUL (a text column).
 */
bool imap_header_cache(const char *msg, size_t len, struct sbuf *out);

/* Append the BODYSTRUCTURE (extended) or BODY (not) of a MIME tree over data. */
void imap_bodystructure(const struct mime_part *root, const char *data, bool extended,
                        struct sbuf *out);
/* Append the preview (plain UTF-8, white space collapsed, at most max_chars characters). */
void imap_preview(const struct mime_part *root, const char *data, size_t max_chars,
                  struct sbuf *out);

#endif
