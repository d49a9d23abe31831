/*
 * addr.c: the address forms of RFC 5321 and of the command line: domain names
 * (LDH rules, IDN to A-labels via libidn2, address literals via inet_pton),
 * canonical local parts, MAIL FROM / RCPT TO paths, bare "local@domain" and
 * "@domain" names, the recipient delimiter and lookup keys.
 *
 * Input is untrusted (SMTP command arguments): every scan is bounded by the
 * given length and the RFC 5321 4.5.3.1 size limits, and NUL octets are
 * rejected like any other invalid character. Touches only the buffers it is
 * given; no global state, so it is safe from any thread. The RFC 5322 header
 * lists are in addr_list.c.
 */
#include "addr.h"
#include "util.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A non-ASCII label is handed to libidn2 in a NUL-terminated copy this big. */
#define ULABEL_INPUT_MAX 252

bool addr_is_atext(unsigned char c)
{
	/* RFC 5322 3.2.3: ALPHA / DIGIT and these printable specials. */
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static char ascii_lc(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

/* Length of the valid UTF-8 sequence at s (RFC 3629 4: no overlong forms, no
 * surrogates, nothing past U+10FFFF), or 0 when it is not one. */
static size_t utf8_char_len(const unsigned char *s, size_t len)
{
	unsigned int cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * An all-ASCII domain name: RFC 5321 4.1.2 sub-domain = Let-dig [Ldh-str]
 * (RFC 1035 2.3.1), labels of 1..63 octets (RFC 1035 2.3.4), 253 octets in
 * all. Written lowercased into out. A label "xn--..." must decode as Punycode
 * so that every stored domain can be shown with addr_domain_to_utf8().
 */
static int ascii_domain(const char *s, size_t len, char *out, const char **error_r)
{
	size_t i, label_start = 0;

	if (len == 0) {
		*error_r = "empty domain";
		return -1;
	}
	if (len > ADDR_DNS_NAME_MAX) {
		*error_r = "domain too long";
		return -1;
	}
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!is_ldh((unsigned char)s[i])) {
				*error_r = "invalid character in domain";
				return -1;
			}
			out[i] = ascii_lc(s[i]);
			continue;
		}
		if (i == label_start) {
			*error_r = "empty label in domain";
			return -1;
		}
		if (i - label_start > ADDR_LABEL_MAX) {
			*error_r = "domain label longer than 63 octets";
			return -1;
		}
		if (s[label_start] == '-' || s[i - 1] == '-') {
			*error_r = "domain label starts or ends with a hyphen";
			return -1;
		}
		if (i - label_start >= 4 && strncmp(out + label_start, "xn--", 4) == 0) {
			char label[ADDR_LABEL_MAX + 1];
			char *ulabel = NULL;
			int rc;

			memcpy(label, out + label_start, i - label_start);
			label[i - label_start] = '\0';
			rc = idn2_to_unicode_8z8z(label, &ulabel, 0);
			if (rc != IDN2_OK || ulabel == NULL || ulabel[0] == '\0') {
				idn2_free(ulabel);
				*error_r = "invalid A-label in domain";
				return -1;
			}
			idn2_free(ulabel);
		}
		if (i < len)
			out[i] = '.';
		label_start = i + 1;
	}
	out[len] = '\0';
	return 0;
}

/* A domain with U-labels (RFC 5890 2.3.2.1): each non-ASCII label becomes an
 * A-label with IDNA2008 non-transitional processing, then the whole name is
 * checked as an ASCII one. */
static int idn_domain(const char *s, size_t len, char *out, const char **error_r)
{
	char ascii[2 * ADDR_DOMAIN_BUFSZ];
	size_t i, n, alen = 0, label_start = 0;

	for (i = 0; i < len; i += n) {
		unsigned char c = (unsigned char)s[i];

		n = utf8_char_len((const unsigned char *)s + i, len - i);
		if (n == 0) {
			*error_r = "domain is not valid UTF-8";
			return -1;
		}
		if (c < 0x80 && c != '.' && !is_ldh(c)) {
			*error_r = "invalid character in domain";
			return -1;
		}
	}
	for (i = 0; i <= len; i++) {
		const char *label = s + label_start;
		size_t llen = i - label_start;
		bool eight_bit = false;
		size_t j;

		if (i < len && s[i] != '.')
			continue;
		for (j = 0; j < llen; j++)
			eight_bit |= (unsigned char)label[j] >= 0x80;
		if (!eight_bit) {
			if (alen + llen + 1 > sizeof(ascii))
				goto too_long;
			memcpy(ascii + alen, label, llen);
			alen += llen;
		} else {
			char input[ULABEL_INPUT_MAX + 1];
			uint8_t *alabel = NULL;
			size_t rlen;
			int rc;

			if (llen > ULABEL_INPUT_MAX)
				goto too_long;
			memcpy(input, label, llen);
			input[llen] = '\0';
			rc = idn2_lookup_u8((const uint8_t *)input, &alabel,
			                    IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
			if (rc != IDN2_OK) {
				*error_r = errorf("invalid international domain name: %s",
				                  idn2_strerror(rc));
				return -1;
			}
			rlen = strlen((const char *)alabel);
			if (alen + rlen + 1 > sizeof(ascii)) {
				idn2_free(alabel);
				goto too_long;
			}
			memcpy(ascii + alen, alabel, rlen);
			alen += rlen;
			idn2_free(alabel);
		}
		if (i < len)
			ascii[alen++] = '.';
		label_start = i + 1;
	}
	return ascii_domain(ascii, alen, out, error_r);
too_long:
	*error_r = "domain too long";
	return -1;
}

int addr_literal_normalize(const char *s, size_t len, char *out, const char **error_r)
{
	char text[INET6_ADDRSTRLEN + 1];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *inner;
	size_t ilen;
	int af = AF_INET;

	/* RFC 5321 4.1.3: "[" IPv4-address-literal / IPv6-address-literal "]";
	 * a General-address-literal names no address family we can use. */
	if (len < 3 || s[0] != '[' || s[len - 1] != ']' || memchr(s, '\0', len) != NULL) {
		*error_r = "invalid address literal";
		return -1;
	}
	inner = s + 1;
	ilen = len - 2;
	if (ilen >= 5 && strncasecmp(inner, "IPv6:", 5) == 0) {
		af = AF_INET6;
		inner += 5;
		ilen -= 5;
	} else if (memchr(inner, ':', ilen) != NULL) {
		*error_r = "unsupported address literal";
		return -1;
	}
	if (ilen == 0 || ilen >= sizeof(text)) {
		*error_r = "invalid address literal";
		return -1;
	}
	memcpy(text, inner, ilen);
	text[ilen] = '\0';
	if (inet_pton(af, text, bin) != 1 || inet_ntop(af, bin, text, sizeof(text)) == NULL) {
		*error_r = af == AF_INET6 ? "invalid IPv6 address literal"
		                          : "invalid IPv4 address literal";
		return -1;
	}
	snprintf(out, ADDR_DOMAIN_BUFSZ, "[%s%s]", af == AF_INET6 ? "IPv6:" : "", text);
	return 0;
}

int addr_domain_normalize(const char *s, size_t len, unsigned flags, char *out,
                          const char **error_r)
{
	size_t i;

	out[0] = '\0';
	if (len > 0 && s[0] == '[') {
		if ((flags & ADDR_ALLOW_LITERAL) == 0) {
			*error_r = "address literal not allowed here";
			return -1;
		}
		return addr_literal_normalize(s, len, out, error_r);
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80) {
			/* RFC 6531 3.3: U-labels only under SMTPUTF8. */
			if ((flags & ADDR_UTF8_DOMAIN) == 0) {
				*error_r = "non-ASCII domain needs SMTPUTF8";
				return -1;
			}
			if (idn_domain(s, len, out, error_r) < 0) {
				out[0] = '\0';
				return -1;
			}
			return 0;
		}
	}
	if (ascii_domain(s, len, out, error_r) < 0) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int addr_domain_to_utf8(const char *domain, char *out, size_t outsz, const char **error_r)
{
	char *ulabels = NULL;
	size_t n;
	int rc;

	if (domain[0] == '[' || strstr(domain, "xn--") == NULL) {
		n = strlen(domain);
		if (n >= outsz) {
			*error_r = "output buffer too small";
			return -1;
		}
		memcpy(out, domain, n + 1);
		return 0;
	}
	rc = idn2_to_unicode_8z8z(domain, &ulabels, 0);
	if (rc != IDN2_OK) {
		*error_r = errorf("cannot decode domain: %s", idn2_strerror(rc));
		return -1;
	}
	n = strlen(ulabels);
	if (n >= outsz) {
		idn2_free(ulabels);
		*error_r = "output buffer too small";
		return -1;
	}
	memcpy(out, ulabels, n + 1);
	idn2_free(ulabels);
	return 0;
}

int addr_local_canonical(const char *content, size_t len, unsigned flags, char *out,
                         const char **error_r)
{
	const unsigned char *s = (const unsigned char *)content;
	bool dot_atom = true, prev_dot = true;
	size_t i, n, o;

	for (i = 0; i < len; i += n) {
		n = 1;
		if (s[i] >= 0x80) {
			/* RFC 6531 3.3: atext and qtextSMTP =/ UTF8-non-ascii. */
			if ((flags & ADDR_UTF8_LOCAL) == 0) {
				*error_r = "non-ASCII local part needs SMTPUTF8";
				return -1;
			}
			n = utf8_char_len(s + i, len - i);
			if (n == 0) {
				*error_r = "local part is not valid UTF-8";
				return -1;
			}
			prev_dot = false;
		} else if (s[i] == '.') {
			if (prev_dot)
				dot_atom = false;
			prev_dot = true;
		} else if (addr_is_atext(s[i])) {
			prev_dot = false;
		} else if (s[i] < 32 || s[i] > 126) {
			/* RFC 5321 4.1.2: qtextSMTP and quoted-pairSMTP are %d32-126. */
			*error_r = "control character in local part";
			return -1;
		} else {
			dot_atom = false;
		}
	}
	if (prev_dot)
		dot_atom = false; /* empty, or a trailing dot */
	if (dot_atom) {
		if (len > ADDR_LOCAL_MAX)
			goto too_long;
		memcpy(out, content, len);
		out[len] = '\0';
		return 0;
	}
	/* RFC 5321 4.1.2: quote only when needed, escape only '"' and '\'. */
	o = 0;
	out[o++] = '"';
	for (i = 0; i < len; i++) {
		bool esc = s[i] == '"' || s[i] == '\\';

		if (o + (esc ? 2 : 1) + 1 > ADDR_LOCAL_MAX)
			goto too_long;
		if (esc)
			out[o++] = '\\';
		out[o++] = (char)s[i];
	}
	out[o++] = '"';
	out[o] = '\0';
	return 0;
too_long:
	out[0] = '\0';
	*error_r = "local part longer than 64 octets";
	return -1;
}

/* RFC 5321 4.1.2: Local-part = Dot-string / Quoted-string, starting at
 * s[*pos]; stops before the first octet that is not part of it. */
static int parse_local(const char *s, size_t len, size_t *pos, unsigned flags, char *out,
                       const char **error_r)
{
	char content[ADDR_LOCAL_MAX];
	size_t i = *pos, start, n = 0;

	if (i < len && s[i] == '"') {
		for (i++;; i++) {
			unsigned char c;

			if (i >= len) {
				*error_r = "unterminated quoted local part";
				return -1;
			}
			c = (unsigned char)s[i];
			if (c == '"')
				break;
			if (c == '\\') {
				/* quoted-pairSMTP = %d92 %d32-126 */
				if (++i >= len) {
					*error_r = "unterminated quoted local part";
					return -1;
				}
				c = (unsigned char)s[i];
				if (c < 32 || c > 126) {
					*error_r = "invalid quoted pair in local part";
					return -1;
				}
			} else if (c < 32 || c == 127) {
				*error_r = "control character in local part";
				return -1;
			}
			if (n >= sizeof(content)) {
				*error_r = "local part longer than 64 octets";
				return -1;
			}
			content[n++] = (char)c;
		}
		*pos = i + 1;
		return addr_local_canonical(content, n, flags, out, error_r);
	}
	/* Dot-string = Atom *("." Atom) */
	for (start = i; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!addr_is_atext(c) && c != '.' && c < 0x80)
			break;
		if (c == '.' && (i == start || s[i - 1] == '.')) {
			*error_r = "leading or double dot in local part";
			return -1;
		}
	}
	if (i == start) {
		*error_r = "missing local part";
		return -1;
	}
	if (s[i - 1] == '.') {
		*error_r = "trailing dot in local part";
		return -1;
	}
	*pos = i;
	return addr_local_canonical(s + start, i - start, flags, out, error_r);
}

int addr_parse_path(const char *s, size_t len, unsigned flags, struct mail_address *addr,
                    size_t *consumed_r, const char **error_r)
{
	char scratch[ADDR_DOMAIN_BUFSZ];
	const char *gt;
	size_t i = 0, start;

	memset(addr, 0, sizeof(*addr));
	*consumed_r = 0;
	if ((flags & ADDR_ALLOW_SPACE_BEFORE) != 0) {
		while (i < len && s[i] == ' ')
			i++;
	}
	if (i >= len || s[i] != '<') {
		*error_r = i < len && s[i] == ' ' ? "space before path not allowed"
		                                  : "path must be enclosed in <>";
		return -1;
	}
	start = i++;
	if (i < len && s[i] == '>') {
		/* RFC 5321 4.5.5: the null reverse-path */
		if ((flags & ADDR_ALLOW_NULL) == 0) {
			*error_r = "null path not allowed here";
			return -1;
		}
		i++;
		goto done;
	}
	/* RFC 5321 4.1.2 A-d-l = At-domain *( "," At-domain ) ":"; appendix C:
	 * a source route is accepted and ignored. */
	while (i < len && s[i] == '@') {
		size_t dstart = ++i;

		while (i < len && s[i] != ',' && s[i] != ':' && s[i] != '>')
			i++;
		if (addr_domain_normalize(s + dstart, i - dstart, flags & ~ADDR_ALLOW_LITERAL,
		                          scratch, error_r) < 0)
			return -1;
		if (i < len && s[i] == ',') {
			i++;
			if (i >= len || s[i] != '@') {
				*error_r = "invalid source route";
				return -1;
			}
		} else if (i < len && s[i] == ':') {
			i++;
		} else {
			*error_r = "invalid source route";
			return -1;
		}
	}
	if (parse_local(s, len, &i, flags, addr->local, error_r) < 0)
		return -1;
	if (i < len && s[i] == '>' && (flags & ADDR_ALLOW_POSTMASTER) != 0 &&
	    strcasecmp(addr->local, "postmaster") == 0) {
		/* RFC 5321 4.1.1.3: "<Postmaster>" needs no domain. */
		strcpy(addr->local, "postmaster");
		i++;
		goto done;
	}
	if (i >= len || s[i] != '@') {
		*error_r = i >= len || s[i] == '>' ? "missing @domain" : "invalid local part";
		return -1;
	}
	i++;
	gt = memchr(s + i, '>', len - i);
	if (gt == NULL) {
		*error_r = "missing > at the end of the path";
		return -1;
	}
	if ((size_t)(gt + 1 - (s + start)) > ADDR_PATH_MAX) {
		*error_r = "path longer than 256 octets";
		return -1;
	}
	if (addr_domain_normalize(s + i, (size_t)(gt - (s + i)), flags, addr->domain, error_r) < 0)
		return -1;
	i = (size_t)(gt - s) + 1;
done:
	if (i - start > ADDR_PATH_MAX) {
		*error_r = "path longer than 256 octets";
		return -1;
	}
	/* RFC 5321 4.1.1.2: the path ends the argument or is followed by SP and
	 * Mail-parameters / Rcpt-parameters. */
	if (i < len && s[i] != ' ') {
		*error_r = "unexpected text after path";
		return -1;
	}
	*consumed_r = i;
	return 0;
}

int addr_parse_mailbox(const char *s, size_t len, unsigned flags, struct mail_address *addr,
                       const char **error_r)
{
	size_t i = 0;

	memset(addr, 0, sizeof(*addr));
	if (len > 0 && s[0] == '@' && (flags & ADDR_ALLOW_CATCHALL) != 0)
		return addr_domain_normalize(s + 1, len - 1, flags, addr->domain, error_r);
	if (parse_local(s, len, &i, flags, addr->local, error_r) < 0)
		return -1;
	if (i == len && (flags & ADDR_ALLOW_NO_DOMAIN) != 0)
		return 0;
	if (i >= len || s[i] != '@') {
		*error_r = i >= len ? "missing @domain" : "invalid local part";
		return -1;
	}
	i++;
	if (addr_domain_normalize(s + i, len - i, flags, addr->domain, error_r) < 0) {
		addr->local[0] = '\0';
		return -1;
	}
	return 0;
}

bool addr_is_null(const struct mail_address *addr)
{
	return addr->local[0] == '\0' && addr->domain[0] == '\0';
}

bool addr_needs_smtputf8(const struct mail_address *addr)
{
	const unsigned char *p;

	for (p = (const unsigned char *)addr->local; *p != '\0'; p++) {
		if (*p >= 0x80)
			return true;
	}
	return false;
}

void addr_format(const struct mail_address *addr, char *out)
{
	if (addr->domain[0] == '\0')
		snprintf(out, ADDR_BUFSZ, "%s", addr->local);
	else
		snprintf(out, ADDR_BUFSZ, "%s@%s", addr->local, addr->domain);
}

bool addr_split_extension(const char *local, const char *delimiters, size_t *base_len_r,
                          const char **ext_r, char *delim_r)
{
	size_t i;

	*base_len_r = strlen(local);
	*ext_r = NULL;
	*delim_r = '\0';
	if (delimiters == NULL || delimiters[0] == '\0' || local[0] == '"')
		return false;
	for (i = 0; local[i] != '\0'; i++) {
		unsigned char c = (unsigned char)local[i];

		/* Only ASCII delimiters: a UTF-8 octet is never cut off its character. */
		if (c < 0x80 && strchr(delimiters, c) != NULL)
			break;
	}
	if (i == 0 || local[i] == '\0')
		return false;
	*base_len_r = i;
	*ext_r = local + i + 1;
	*delim_r = local[i];
	return true;
}

int addr_lookup_key(const char *local, size_t local_len, const char *domain, char *out,
                    const char **error_r)
{
	size_t i, dlen = strlen(domain);

	if (dlen == 0) {
		*error_r = "address has no domain";
		return -1;
	}
	if (local_len > ADDR_LOCAL_MAX || dlen > ADDR_DOMAIN_MAX) {
		*error_r = "address too long";
		return -1;
	}
	/* RFC 5321 2.4 lets a server treat local parts case-insensitively,
	 * which users expect; only ASCII letters fold, UTF-8 stays as is. */
	for (i = 0; i < local_len; i++)
		out[i] = ascii_lc(local[i]);
	out[local_len] = '@';
	for (i = 0; i <= dlen; i++)
		out[local_len + 1 + i] = ascii_lc(domain[i]);
	return 0;
}
