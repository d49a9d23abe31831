/*
 * smtp_parser.c: SMTP command lines, MAIL/RCPT paths and ESMTP parameters,
 * xtext, BDAT and AUTH arguments, line-end normalizing (see smtp_parser.h).
 *
 * Trust: every byte is the client's. Scans are bounded by the given length;
 * results go into fixed-size fields that are checked before each write.
 * Grammar: RFC 5321 4.1.2 (Mail-parameters, esmtp-keyword, esmtp-value),
 * RFC 6531 3.3 (UTF-8 in esmtp-value with SMTPUTF8), RFC 1870 (SIZE),
 * RFC 6152 and RFC 3030 (BODY), RFC 3461 4 (RET, ENVID, NOTIFY, ORCPT),
 * RFC 4954 4-5 (AUTH).
 */
#include "smtp_parser.h"

#include "util.h"

#include <string.h>
#include <strings.h>

/* RFC 1870 3: SIZE's value is 1*20DIGIT. */
#define SIZE_DIGITS_MAX 20
/* RFC 4954 5: an AUTH= mailbox, xtext-decoded, is kept to this length when checked. */
#define AUTH_PARAM_MAX 500

static bool is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

void smtp_parse_command(const char *line, size_t len, struct smtp_command_line *cmd_r)
{
	size_t i = 0;

	memset(cmd_r, 0, sizeof(*cmd_r));
	cmd_r->args = "";
	while (i < len && is_alpha((unsigned char)line[i]))
		i++;
	if (i == 0 || i > SMTP_VERB_MAX || (i < len && line[i] != ' '))
		return;
	for (size_t j = 0; j < i; j++)
		cmd_r->verb[j] = upper(line[j]);
	cmd_r->verb[i] = '\0';
	while (i < len && line[i] == ' ')
		i++;
	/* Trailing blanks are a common client habit, not part of the argument. */
	while (len > i && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	cmd_r->args = line + i;
	cmd_r->args_len = len - i;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10; /* RFC 3461 asks for upper case; lower case is harmless */
	return -1;
}

int smtp_xtext_decode(const char *in, size_t len, char *out, size_t outsz)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '+') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			hi = hexval(in[i + 1]);
			lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		} else if (c < '!' || c > '~' || c == '=') {
			return -1;
		}
		/* Decoded values must be printable US-ASCII (RFC 3461 4.2, 4.4). */
		if (c < ' ' || c > '~')
			return -1;
		if (o + 1 >= outsz)
			return -1;
		out[o++] = (char)c;
	}
	if (outsz == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

/* One parameter of a MAIL or RCPT command. */
struct param {
	const char *key, *value; /* value NULL when there is no "=" */
	size_t key_len, value_len;
};

/*
 * The next parameter at *pos (after one or more spaces): 1 with *p filled,
 * 0 at the end, -1 on bad syntax. Values may hold UTF-8 with utf8.
 */
static int next_param(const char *s, size_t len, size_t *pos, bool utf8, struct param *p)
{
	size_t i = *pos;

	while (i < len && s[i] == ' ')
		i++;
	if (i >= len)
		return 0;
	/* RFC 5321 4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
	p->key = s + i;
	if (!is_alpha((unsigned char)s[i]) && !is_digit((unsigned char)s[i]))
		return -1;
	while (i < len &&
	       (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) || s[i] == '-'))
		i++;
	p->key_len = (size_t)(s + i - p->key);
	p->value = NULL;
	p->value_len = 0;
	if (i < len && s[i] == '=') {
		/* esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 with SMTPUTF8 */
		p->value = s + ++i;
		while (i < len && s[i] != ' ') {
			unsigned char c = (unsigned char)s[i];

			if (c == '=' || c < 33 || c == 127 || (c > 127 && !utf8))
				return -1;
			i++;
		}
		p->value_len = (size_t)(s + i - p->value);
		if (p->value_len == 0)
			return -1;
	}
	if (i < len && s[i] != ' ')
		return -1;
	*pos = i;
	return 1;
}

static bool key_is(const struct param *p, const char *name)
{
	return ascii_strncaseeq(p->key, p->key_len, name);
}

static bool value_is(const struct param *p, const char *name)
{
	return p->value != NULL && ascii_strncaseeq(p->value, p->value_len, name);
}

static int parse_size(const struct param *p, uint64_t *size_r)
{
	uint64_t v = 0;

	if (p->value == NULL || p->value_len > SIZE_DIGITS_MAX)
		return -1;
	for (size_t i = 0; i < p->value_len; i++) {
		unsigned d = (unsigned char)p->value[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*size_r = v;
	return 0;
}

/* The "FROM:" or "TO:" before a path; tolerates nothing else. */
static int skip_prefix(const char *args, size_t len, const char *prefix, size_t *pos_r)
{
	size_t n = strlen(prefix);

	if (len < n || strncasecmp(args, prefix, n) != 0)
		return -1;
	*pos_r = n;
	return 0;
}

static int mail_param(const struct param *p, const struct smtp_parse_caps *caps,
                      struct smtp_mail_params *mp, const char **reply_r)
{
	if (key_is(p, "SIZE")) {
		if (mp->size_given || parse_size(p, &mp->size) < 0) {
			*reply_r = "501 5.5.4 Bad SIZE parameter";
			return -1;
		}
		mp->size_given = true;
	} else if (key_is(p, "BODY")) {
		if (mp->body_given)
			goto dup;
		if (value_is(p, "7BIT"))
			mp->body = QUEUE_BODY_7BIT;
		else if (value_is(p, "8BITMIME"))
			mp->body = QUEUE_BODY_8BITMIME;
		else if (value_is(p, "BINARYMIME") && caps->binarymime)
			mp->body = QUEUE_BODY_BINARYMIME;
		else {
			*reply_r = "501 5.5.4 Unsupported BODY type";
			return -1;
		}
		mp->body_given = true;
	} else if (key_is(p, "SMTPUTF8") && caps->smtputf8) {
		if (p->value != NULL) {
			*reply_r = "501 5.5.4 SMTPUTF8 takes no value";
			return -1;
		}
		if (mp->smtputf8)
			goto dup;
		mp->smtputf8 = true;
	} else if (key_is(p, "RET") && caps->dsn) {
		if (mp->ret != QUEUE_RET_DEFAULT)
			goto dup;
		if (value_is(p, "FULL"))
			mp->ret = QUEUE_RET_FULL;
		else if (value_is(p, "HDRS"))
			mp->ret = QUEUE_RET_HDRS;
		else {
			*reply_r = "501 5.5.4 Bad RET parameter";
			return -1;
		}
	} else if (key_is(p, "ENVID") && caps->dsn) {
		if (mp->envid_given)
			goto dup;
		if (p->value == NULL ||
		    smtp_xtext_decode(p->value, p->value_len, mp->envid, sizeof(mp->envid)) < 0) {
			*reply_r = "501 5.5.4 Bad ENVID parameter";
			return -1;
		}
		mp->envid_given = true;
	} else if (key_is(p, "AUTH") && caps->auth) {
		char scratch[AUTH_PARAM_MAX + 1];

		if (mp->auth_given)
			goto dup;
		if (p->value == NULL ||
		    smtp_xtext_decode(p->value, p->value_len, scratch, sizeof(scratch)) < 0) {
			*reply_r = "501 5.5.4 Bad AUTH parameter";
			return -1;
		}
		mp->auth_given = true;
	} else {
		*reply_r = "555 5.5.4 Unsupported MAIL parameter";
		return -1;
	}
	return 0;
dup:
	*reply_r = "501 5.5.4 Duplicate MAIL parameter";
	return -1;
}

int smtp_parse_mail(const char *args, size_t len, const struct smtp_parse_caps *caps,
                    struct mail_address *addr_r, struct smtp_mail_params *params_r,
                    const char **reply_r)
{
	unsigned flags = ADDR_ALLOW_NULL | ADDR_ALLOW_LITERAL | ADDR_ALLOW_SPACE_BEFORE;
	size_t pos, consumed;
	const char *error;
	struct param p;
	int rc;

	memset(params_r, 0, sizeof(*params_r));
	if (skip_prefix(args, len, "FROM:", &pos) < 0) {
		*reply_r = "501 5.5.4 Syntax: MAIL FROM:<address>";
		return -1;
	}
	/* The path may hold UTF-8 only with SMTPUTF8, which comes after it:
	 * parse leniently first, then again strictly when it was not given. */
	if (addr_parse_path(args + pos, len - pos, flags | (caps->smtputf8 ? ADDR_SMTPUTF8 : 0),
	                    addr_r, &consumed, &error) < 0) {
		*reply_r = "501 5.1.7 Bad sender address syntax";
		return -1;
	}
	const char *rest = args + pos + consumed;
	size_t rest_len = len - pos - consumed, at = 0;

	while ((rc = next_param(rest, rest_len, &at, caps->smtputf8, &p)) > 0) {
		if (mail_param(&p, caps, params_r, reply_r) < 0)
			return -1;
	}
	if (rc < 0) {
		*reply_r = "501 5.5.4 Syntax error in MAIL parameters";
		return -1;
	}
	if (!params_r->smtputf8 &&
	    addr_parse_path(args + pos, len - pos, flags, addr_r, &consumed, &error) < 0) {
		/* RFC 6531 3.7.4.1 */
		*reply_r = "553 5.6.7 Non-ASCII sender address needs SMTPUTF8";
		return -1;
	}
	return 0;
}

/* RFC 3461 4.1: NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY. */
static int parse_notify(const struct param *p, unsigned int *notify_r)
{
	size_t i = 0;
	unsigned int bits = 0;

	if (p->value == NULL)
		return -1;
	while (i < p->value_len) {
		size_t start = i;
		unsigned int bit;

		while (i < p->value_len && p->value[i] != ',')
			i++;
		if (ascii_strncaseeq(p->value + start, i - start, "NEVER"))
			bit = QUEUE_NOTIFY_NEVER;
		else if (ascii_strncaseeq(p->value + start, i - start, "SUCCESS"))
			bit = QUEUE_NOTIFY_SUCCESS;
		else if (ascii_strncaseeq(p->value + start, i - start, "FAILURE"))
			bit = QUEUE_NOTIFY_FAILURE;
		else if (ascii_strncaseeq(p->value + start, i - start, "DELAY"))
			bit = QUEUE_NOTIFY_DELAY;
		else
			return -1;
		if ((bits & bit) != 0)
			return -1;
		bits |= bit;
		if (i < p->value_len && ++i == p->value_len)
			return -1; /* a trailing comma */
	}
	/* NEVER stands alone. */
	if ((bits & QUEUE_NOTIFY_NEVER) != 0 && bits != QUEUE_NOTIFY_NEVER)
		return -1;
	*notify_r = bits;
	return 0;
}

/* RFC 3461 4.2: ORCPT=addr-type ";" xtext; addr-type is an atom. */
static int parse_orcpt(const struct param *p, char *out, size_t outsz)
{
	const char *semi;
	size_t type_len;

	if (p->value == NULL || (semi = memchr(p->value, ';', p->value_len)) == NULL)
		return -1;
	type_len = (size_t)(semi - p->value);
	if (type_len == 0 || type_len + 2 > outsz)
		return -1;
	for (size_t i = 0; i < type_len; i++) {
		if (!addr_is_atext((unsigned char)p->value[i]))
			return -1;
	}
	memcpy(out, p->value, type_len + 1);
	if (smtp_xtext_decode(semi + 1, p->value_len - type_len - 1, out + type_len + 1,
	                      outsz - type_len - 1) < 0 ||
	    out[type_len + 1] == '\0')
		return -1;
	return 0;
}

int smtp_parse_rcpt(const char *args, size_t len, const struct smtp_parse_caps *caps, bool smtputf8,
                    struct mail_address *addr_r, struct smtp_rcpt_params *params_r,
                    const char **reply_r)
{
	unsigned flags = ADDR_ALLOW_LITERAL | ADDR_ALLOW_SPACE_BEFORE | ADDR_ALLOW_POSTMASTER |
	                 (smtputf8 ? ADDR_SMTPUTF8 : 0);
	size_t pos, consumed, at = 0;
	const char *error;
	struct param p;
	int rc;

	memset(params_r, 0, sizeof(*params_r));
	if (skip_prefix(args, len, "TO:", &pos) < 0) {
		*reply_r = "501 5.5.4 Syntax: RCPT TO:<address>";
		return -1;
	}
	if (addr_parse_path(args + pos, len - pos, flags, addr_r, &consumed, &error) < 0) {
		if (!smtputf8 && addr_parse_path(args + pos, len - pos, flags | ADDR_SMTPUTF8,
		                                 addr_r, &consumed, &error) == 0)
			*reply_r = "553 5.6.7 Non-ASCII recipient address needs SMTPUTF8";
		else
			*reply_r = "501 5.1.3 Bad recipient address syntax";
		return -1;
	}
	const char *rest = args + pos + consumed;
	size_t rest_len = len - pos - consumed;

	while ((rc = next_param(rest, rest_len, &at, smtputf8, &p)) > 0) {
		if (key_is(&p, "NOTIFY") && caps->dsn) {
			if (params_r->notify != 0 || parse_notify(&p, &params_r->notify) < 0) {
				*reply_r = "501 5.5.4 Bad NOTIFY parameter";
				return -1;
			}
		} else if (key_is(&p, "ORCPT") && caps->dsn) {
			if (params_r->orcpt_given ||
			    parse_orcpt(&p, params_r->orcpt, sizeof(params_r->orcpt)) < 0) {
				*reply_r = "501 5.5.4 Bad ORCPT parameter";
				return -1;
			}
			params_r->orcpt_given = true;
		} else {
			*reply_r = "555 5.5.4 Unsupported RCPT parameter";
			return -1;
		}
	}
	if (rc < 0) {
		*reply_r = "501 5.5.4 Syntax error in RCPT parameters";
		return -1;
	}
	return 0;
}

int smtp_parse_bdat(const char *args, size_t len, uint64_t *size_r, bool *last_r,
                    const char **reply_r)
{
	size_t i = 0;
	uint64_t v = 0;

	*last_r = false;
	while (i < len && is_digit((unsigned char)args[i])) {
		unsigned d = (unsigned char)args[i] - '0';

		if (i >= SIZE_DIGITS_MAX || v > (UINT64_MAX - d) / 10)
			goto bad;
		v = v * 10 + d;
		i++;
	}
	if (i == 0)
		goto bad;
	if (i < len) {
		if (args[i] != ' ')
			goto bad;
		while (i < len && args[i] == ' ')
			i++;
		if (!ascii_strncaseeq(args + i, len - i, "LAST"))
			goto bad;
		*last_r = true;
	}
	*size_r = v;
	return 0;
bad:
	*reply_r = "501 5.5.4 Syntax: BDAT <size> [LAST]";
	return -1;
}

int smtp_parse_auth(const char *args, size_t len, struct smtp_auth_args *auth_r,
                    const char **reply_r)
{
	size_t i = 0;

	memset(auth_r, 0, sizeof(*auth_r));
	/* RFC 4422 3.1: sasl-mech = 1*20mech-char; mech-char = ALPHA / DIGIT / "-" / "_" */
	while (i < len && args[i] != ' ') {
		char c = upper(args[i]);

		if (i >= sizeof(auth_r->mech) - 1 ||
		    !((c >= 'A' && c <= 'Z') || is_digit((unsigned char)c) || c == '-' ||
		      c == '_')) {
			*reply_r = "501 5.5.4 Syntax: AUTH mechanism [initial-response]";
			return -1;
		}
		auth_r->mech[i++] = c;
	}
	if (i == 0) {
		*reply_r = "501 5.5.4 Syntax: AUTH mechanism [initial-response]";
		return -1;
	}
	auth_r->mech[i] = '\0';
	if (i < len) {
		while (i < len && args[i] == ' ')
			i++;
		if (i == len) {
			*reply_r = "501 5.5.4 Syntax: AUTH mechanism [initial-response]";
			return -1;
		}
		auth_r->initial = args + i;
		auth_r->initial_len = len - i;
	}
	return 0;
}

size_t smtp_normalize_line_ends(const char *data, size_t len, bool *pending_cr, char *out)
{
	size_t o = 0;

	if (data == NULL) {
		if (*pending_cr) {
			out[o++] = '\r';
			out[o++] = '\n';
			*pending_cr = false;
		}
		return o;
	}
	for (size_t i = 0; i < len; i++) {
		char c = data[i];

		if (*pending_cr) {
			*pending_cr = false;
			out[o++] = '\r';
			out[o++] = '\n';
			if (c == '\n')
				continue; /* that was a CRLF */
		}
		if (c == '\r') {
			*pending_cr = true;
		} else if (c == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
		} else {
			out[o++] = c;
		}
	}
	return o;
}
