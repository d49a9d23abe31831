/*
 * smtp_parser.h: parsing SMTP command lines for sluice-smtpd: the verb and
 * its argument, MAIL FROM and RCPT TO with their ESMTP parameters (SIZE,
 * BODY, SMTPUTF8, AUTH, RET, ENVID, NOTIFY, ORCPT), xtext (RFC 3461 4),
 * BDAT's arguments and the SASL AUTH command's, and the line-end
 * normalizer for message content (SMTP smuggling). Pure functions over
 * length-counted untrusted input: no I/O, no allocation, no global state.
 * Errors come back as a whole SMTP reply line (static text) that the
 * session sends as is.
 */
#ifndef SLUICE_SMTP_PARSER_H
#define SLUICE_SMTP_PARSER_H

#include "addr.h"
#include "queue_file.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 3461 4.4: an ENVID is at most 100 characters. */
#define SMTP_ENVID_MAX 100
/* RFC 3461 4.2: an ORCPT value (type ";" address, decoded) kept to 500 characters. */
#define SMTP_ORCPT_MAX 500
/* Longest verb we know ("STARTTLS"), with room to spare. */
#define SMTP_VERB_MAX 16

/* A command line split at its first space. */
struct smtp_command_line {
	char verb[SMTP_VERB_MAX + 1]; /* upper-cased; "" when the line has no valid verb */
	const char *args;             /* after the space(s), into the line */
	size_t args_len;
};

/* Split a line into verb and argument; the verb is letters only, at most SMTP_VERB_MAX. */
void smtp_parse_command(const char *line, size_t len, struct smtp_command_line *cmd_r);

struct smtp_mail_params {
	bool size_given;
	uint64_t size; /* SIZE= (RFC 1870), the client's estimate */
	bool body_given;
	enum queue_body body; /* BODY= (RFC 6152, RFC 3030) */
	bool smtputf8;        /* SMTPUTF8 (RFC 6531) */
	enum queue_ret ret;   /* RET= (RFC 3461) */
	bool envid_given;
	char envid[SMTP_ENVID_MAX + 1]; /* ENVID=, xtext decoded */
	bool auth_given;                /* AUTH= (RFC 4954 5), accepted and not trusted */
};

struct smtp_rcpt_params {
	unsigned int notify; /* enum queue_notify bits; 0 when NOTIFY was not given */
	bool orcpt_given;
	char orcpt[SMTP_ORCPT_MAX + 1]; /* "rfc822;bob@example.com", the address xtext decoded */
};

/* What the server offers, which decides the parameters it accepts. */
struct smtp_parse_caps {
	bool dsn;        /* RET, ENVID, NOTIFY, ORCPT */
	bool smtputf8;   /* SMTPUTF8 */
	bool binarymime; /* BODY=BINARYMIME (with CHUNKING) */
	bool auth;       /* AUTH= on MAIL */
};

/*
 * The argument of MAIL ("FROM:<a@b> SIZE=10 BODY=8BITMIME"): the path
 * (null allowed; UTF-8 only when the SMTPUTF8 parameter is given) and the
 * parameters. 0, or -1 with *reply_r a whole reply ("501 5.5.4 ...").
 */
int smtp_parse_mail(const char *args, size_t len, const struct smtp_parse_caps *caps,
                    struct mail_address *addr_r, struct smtp_mail_params *params_r,
                    const char **reply_r);
/*
 * The argument of RCPT ("TO:<a@b> NOTIFY=NEVER"); smtputf8 says whether
 * MAIL gave SMTPUTF8. "<Postmaster>" comes back with an empty domain.
 */
int smtp_parse_rcpt(const char *args, size_t len, const struct smtp_parse_caps *caps, bool smtputf8,
                    struct mail_address *addr_r, struct smtp_rcpt_params *params_r,
                    const char **reply_r);

/*
 * Decode xtext (RFC 3461 4: "+" and two upper-case hex digits stand for an
 * octet; other characters are "!".."~" but "+" and "="). out has outsz bytes;
 * the result is NUL-terminated. -1 on bad xtext, a decoded NUL or control
 * character, or when it does not fit.
 */
int smtp_xtext_decode(const char *in, size_t len, char *out, size_t outsz);

/* BDAT's argument: "<size>" or "<size> LAST" (RFC 3030 2). */
int smtp_parse_bdat(const char *args, size_t len, uint64_t *size_r, bool *last_r,
                    const char **reply_r);

/* AUTH's argument: a mechanism name, then optionally an initial response. */
struct smtp_auth_args {
	char mech[21];       /* RFC 4422 3.1: at most 20 characters, upper-cased */
	const char *initial; /* NULL when none; "=" means an empty one (RFC 4954 4) */
	size_t initial_len;
};
int smtp_parse_auth(const char *args, size_t len, struct smtp_auth_args *auth_r,
                    const char **reply_r);

/*
 * Message content with every bare LF and bare CR made a CRLF, so no later
 * hop can read a line end we did not see (BDAT chunks). *pending_cr carries
 * a CR that ended the previous piece (it may be the first half of a CRLF);
 * at the end of the message, pass data NULL to flush it. Writes into out,
 * which has room for 2 * len + 2 bytes; returns the bytes written.
 */
size_t smtp_normalize_line_ends(const char *data, size_t len, bool *pending_cr, char *out);

#endif
