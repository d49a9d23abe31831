/*
 * addr.h: mail address parsing for every Sluice program: domain names (IDN
 * U-labels to A-labels with libidn2, address literals), RFC 5321 paths from
 * MAIL FROM / RCPT TO, bare addresses given on a command line (including the
 * catch-all form "@domain"), the recipient delimiter, lookup keys, and a
 * bounded iterator over the RFC 5322 address lists of header fields.
 *
 * Input is length-counted and may come from the network (untrusted); results
 * land in fixed-size structs sized from the RFC limits, or in caller buffers.
 * Nothing is global: every function is thread-safe. Errors are static strings
 * suitable for an SMTP reply or a log line; they never quote the input.
 */
#ifndef SLUICE_ADDR_H
#define SLUICE_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 5321 4.5.3.1.1: a local part is at most 64 octets. */
#define ADDR_LOCAL_MAX 64
/* RFC 5321 4.5.3.1.2: a domain is at most 255 octets; a DNS name in text
 * form is at most 253 (RFC 1035 2.3.4, less the root label and length octets). */
#define ADDR_DOMAIN_MAX 255
#define ADDR_DNS_NAME_MAX 253
/* RFC 1035 2.3.4: a label is at most 63 octets. */
#define ADDR_LABEL_MAX 63
/* RFC 5321 4.5.3.1.3: a path, with its punctuation, is at most 256 octets. */
#define ADDR_PATH_MAX 256

#define ADDR_LOCAL_BUFSZ (ADDR_LOCAL_MAX + 1)
#define ADDR_DOMAIN_BUFSZ (ADDR_DOMAIN_MAX + 1)
/* "local@domain" and its NUL: what addr_format() and addr_lookup_key() write. */
#define ADDR_BUFSZ (ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX + 1)
/* A domain in U-label form: each A-label octet may grow to a 4-octet character. */
#define ADDR_DOMAIN_UTF8_BUFSZ (4 * ADDR_DNS_NAME_MAX + 1)
/* Display names longer than this are cut (at a character boundary) and flagged. */
#define ADDR_DISPLAY_BUFSZ 256
/* Deepest nesting of RFC 5322 comments the list iterator follows. */
#define ADDR_COMMENT_DEPTH_MAX 16

enum addr_flags {
	/* RFC 6531 3.3: UTF-8 in local parts (SMTPUTF8, or RFC 6532 header fields). */
	ADDR_UTF8_LOCAL = 1 << 0,
	/* RFC 6531 3.3: U-labels in domains (converted to A-labels). */
	ADDR_UTF8_DOMAIN = 1 << 1,
	ADDR_SMTPUTF8 = ADDR_UTF8_LOCAL | ADDR_UTF8_DOMAIN,
	/* RFC 5321 4.1.3: "[192.0.2.1]" and "[IPv6:2001:db8::1]" as the domain. */
	ADDR_ALLOW_LITERAL = 1 << 2,
	/* Path: "<>", the null reverse-path (RFC 5321 4.5.5), for MAIL FROM. */
	ADDR_ALLOW_NULL = 1 << 3,
	/* Path: spaces before "<", the common "MAIL FROM: <a@b>" client bug. */
	ADDR_ALLOW_SPACE_BEFORE = 1 << 4,
	/* Path: "<Postmaster>" without a domain (RFC 5321 4.1.1.3), for RCPT TO. */
	ADDR_ALLOW_POSTMASTER = 1 << 5,
	/* Bare address: "@domain", the catch-all form of an alias. */
	ADDR_ALLOW_CATCHALL = 1 << 6,
	/* Bare address and header lists: a local part alone ("bob"), domain "". */
	ADDR_ALLOW_NO_DOMAIN = 1 << 7,
};

/*
 * A parsed address. local is the canonical local part: as given when it is a
 * valid dot-atom, else a quoted-string with only '"' and '\' escaped (RFC 5321
 * 4.1.2). Its case is kept: only lookups ignore it. domain is lowercase
 * A-labels, or a canonical address literal ("[192.0.2.1]", "[IPv6:2001:db8::1]").
 * The null path has both empty; "@domain" has local empty; "<Postmaster>" and
 * ADDR_ALLOW_NO_DOMAIN results have domain empty.
 */
struct mail_address {
	char local[ADDR_LOCAL_BUFSZ];
	char domain[ADDR_DOMAIN_BUFSZ];
};

/* True for the RFC 5322 3.2.3 atext characters. */
bool addr_is_atext(unsigned char c);

/*
 * Validate and normalize a domain name (s, len): labels of 1..63 octets made
 * of letters, digits and inner hyphens, at most 253 octets in all, lowercased.
 * With ADDR_UTF8_DOMAIN, U-labels become A-labels (IDNA2008, libidn2); with
 * ADDR_ALLOW_LITERAL, an address literal is accepted and canonicalized.
 * out gets ADDR_DOMAIN_BUFSZ octets.
 */
int addr_domain_normalize(const char *s, size_t len, unsigned flags, char *out,
                          const char **error_r);

/* Validate an address literal "[IPv4]" or "[IPv6:addr]" and write its
 * canonical form (inet_ntop's text) into out (ADDR_DOMAIN_BUFSZ octets). */
int addr_literal_normalize(const char *s, size_t len, char *out, const char **error_r);

/* A normalized domain for display: A-labels become U-labels. out gets outsz
 * octets (ADDR_DOMAIN_UTF8_BUFSZ always suffices); literals are copied. */
int addr_domain_to_utf8(const char *domain, char *out, size_t outsz, const char **error_r);

/*
 * The canonical form of a local part whose quoting is already undone
 * (content, len): as is when it is a dot-atom, quoted otherwise. Octets above
 * 0x7f need ADDR_UTF8_LOCAL and valid UTF-8. out gets ADDR_LOCAL_BUFSZ octets.
 */
int addr_local_canonical(const char *content, size_t len, unsigned flags, char *out,
                         const char **error_r);

/*
 * Parse an RFC 5321 4.1.2 Reverse-path or Forward-path at the start of s (the
 * argument after "MAIL FROM:" or "RCPT TO:"). A source route is accepted and
 * dropped (RFC 5321 4.1.2, appendix C). *consumed_r is the number of octets up
 * to and including ">": what follows is end of input or " " and the ESMTP
 * parameters. flags: ADDR_SMTPUTF8 bits, ADDR_ALLOW_LITERAL, ADDR_ALLOW_NULL,
 * ADDR_ALLOW_SPACE_BEFORE, ADDR_ALLOW_POSTMASTER.
 */
int addr_parse_path(const char *s, size_t len, unsigned flags, struct mail_address *addr,
                    size_t *consumed_r, const char **error_r);

/*
 * Parse a whole string as a bare address "local@domain" (no angle brackets),
 * as given on a command line. flags: ADDR_SMTPUTF8 bits, ADDR_ALLOW_LITERAL,
 * ADDR_ALLOW_CATCHALL ("@domain"), ADDR_ALLOW_NO_DOMAIN ("bob").
 */
int addr_parse_mailbox(const char *s, size_t len, unsigned flags, struct mail_address *addr,
                       const char **error_r);

/* True for the null path: empty local part and empty domain. */
bool addr_is_null(const struct mail_address *addr);

/* True when the local part has octets above 0x7f, so that sending it on
 * needs SMTPUTF8 (the domain is always stored in ASCII). */
bool addr_needs_smtputf8(const struct mail_address *addr);

/* Write "local@domain" ("@domain" for a catch-all, "local" without a domain,
 * "" for the null path) into out (ADDR_BUFSZ octets). */
void addr_format(const struct mail_address *addr, char *out);

/*
 * Split a canonical local part at the first octet that is any of delimiters
 * (e.g. "+" or "+-"; "" disables). Returns true and sets *base_len_r, *ext_r
 * (the extension, after the delimiter, pointing into local) and *delim_r when
 * there is an extension. Returns false with *base_len_r = strlen(local) when
 * there is none: no delimiter, a delimiter as the first octet ("+tag" has no
 * base to deliver to), or a quoted local part.
 */
bool addr_split_extension(const char *local, const char *delimiters, size_t *base_len_r,
                          const char **ext_r, char *delim_r);

/*
 * The key an address is looked up by: the first local_len octets of local
 * with ASCII letters lowercased (other UTF-8 octets untouched), "@", and the
 * domain lowercased. Pass a base from addr_split_extension() as local_len to
 * look up without the extension. out gets ADDR_BUFSZ octets.
 */
int addr_lookup_key(const char *local, size_t local_len, const char *domain, char *out,
                    const char **error_r);

/*
 * One mailbox of an RFC 5322 3.4 address list. display is the display name
 * as given: its words joined by one space, quoting undone, line breaks of
 * folding removed, comments dropped, encoded words (RFC 2047) left encoded;
 * empty when there is none.
 */
struct addr_mailbox {
	struct mail_address addr;
	char display[ADDR_DISPLAY_BUFSZ];
	bool display_truncated;
	/* Member of a group ("team: a@b, c@d;"); the group name is not kept. */
	bool in_group;
};

/* Iterator state over one header field value; treat the fields as private. */
struct addr_list {
	const char *data;
	size_t len;
	size_t pos;
	unsigned flags;
	unsigned max_addresses;
	unsigned count;
	bool in_group;
	bool done;
};

/*
 * Start iterating over the address list in a header field value (s, len),
 * folded or not. flags: ADDR_SMTPUTF8 bits (RFC 6532 header fields),
 * ADDR_ALLOW_LITERAL, ADDR_ALLOW_NO_DOMAIN. At most max_addresses elements
 * (mailboxes and bad elements) are returned; then one "too many" error.
 */
void addr_list_init(struct addr_list *it, const char *s, size_t len, unsigned flags,
                    unsigned max_addresses);

/*
 * The next mailbox: 1 with *mb filled, 0 at the end of the list, or -1 with
 * *error_r when an element is bad; the iterator has then skipped that element
 * (to the next comma outside quotes, comments and angle brackets) and the
 * next call goes on. Groups yield their members; empty groups yield nothing.
 */
int addr_list_next(struct addr_list *it, struct addr_mailbox *mb, const char **error_r);

#endif
