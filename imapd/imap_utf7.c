/*
 * imap_utf7.c: modified UTF-7 mailbox names (RFC 3501 5.1.3, RFC 2152).
 *
 * Printable US-ASCII but '&' stands for itself, '&' is "&-", anything else
 * is a shifted run: '&', UTF-16BE in base64 with ',' for '/' and no
 * padding, then '-'. Decoding is strict so that a name has one spelling
 * only: what a client sends is untrusted and becomes a folder name.
 */
#include "imap_utf7.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* Decode one UTF-8 character at s (len bytes left): its code point and length, or -1. */
static int utf8_decode(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	uint32_t cp;
	int n;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
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
		return -1;
	}
	if ((size_t)n > len)
		return -1;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*cp_r = cp;
	return n;
}

static void utf8_encode(uint32_t cp, struct sbuf *out)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sbuf_append(out, b, n);
}

int imap_utf8_to_utf7(const char *in, size_t len, struct sbuf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t start = out->len, i = 0;

	while (i < len) {
		uint32_t bits = 0;
		int nbits = 0;

		if (s[i] >= 0x20 && s[i] < 0x7f) {
			if (s[i] == '&')
				sbuf_append(out, "&-", 2);
			else
				sbuf_append(out, &s[i], 1);
			i++;
			continue;
		}
		/* a shifted run over every character that is not printable ASCII */
		sbuf_append(out, "&", 1);
		while (i < len && !(s[i] >= 0x20 && s[i] < 0x7f)) {
			uint32_t cp, units[2];
			int n = utf8_decode(s + i, len - i, &cp), nunits;

			if (n < 0) {
				out->len = start;
				if (out->data != NULL)
					out->data[start] = '\0';
				return -1;
			}
			i += (size_t)n;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				units[0] = 0xd800 | (cp >> 10);
				units[1] = 0xdc00 | (cp & 0x3ff);
				nunits = 2;
			} else {
				units[0] = cp;
				nunits = 1;
			}
			for (int u = 0; u < nunits; u++) {
				bits = (bits << 16) | units[u];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					sbuf_append(out, &b64chars[(bits >> nbits) & 0x3f], 1);
				}
				bits &= (1u << nbits) - 1;
			}
		}
		if (nbits > 0)
			sbuf_append(out, &b64chars[(bits << (6 - nbits)) & 0x3f], 1);
		sbuf_append(out, "-", 1);
	}
	return 0;
}

/* Decode the base64 of one shifted run (between '&' and '-'). */
static int decode_run(const unsigned char *s, size_t n, struct sbuf *out)
{
	uint32_t bits = 0, high = 0;
	int nbits = 0;

	for (size_t i = 0; i < n; i++) {
		int v = b64value(s[i]);

		if (v < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits >= 16) {
			uint32_t unit;

			nbits -= 16;
			unit = (bits >> nbits) & 0xffff;
			bits &= (1u << nbits) - 1;
			if (high != 0) {
				if (unit < 0xdc00 || unit > 0xdfff)
					return -1;
				utf8_encode(0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00), out);
				high = 0;
			} else if (unit >= 0xd800 && unit <= 0xdbff) {
				high = unit;
			} else if (unit >= 0xdc00 && unit <= 0xdfff) {
				return -1;
			} else if (unit >= 0x20 && unit < 0x7f) {
				/* printable ASCII must stand for itself */
				return -1;
			} else {
				utf8_encode(unit, out);
			}
		}
	}
	/* left-over bits are padding: fewer than 6 of them, all zero */
	if (high != 0 || nbits >= 6 || bits != 0)
		return -1;
	return 0;
}

int imap_utf7_to_utf8(const char *in, size_t len, struct sbuf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t start = out->len, i = 0;
	bool after_run = false;

	while (i < len) {
		size_t end;

		if (s[i] < 0x20 || s[i] >= 0x7f)
			goto bad;
		if (s[i] != '&') {
			sbuf_append(out, &s[i], 1);
			i++;
			after_run = false;
			continue;
		}
		for (end = i + 1; end < len && s[end] != '-'; end++)
			;
		if (end >= len)
			goto bad;
		if (end == i + 1) {
			sbuf_append(out, "&", 1);
			after_run = false;
		} else {
			/* two runs in a row should have been one */
			if (after_run || decode_run(s + i + 1, end - i - 1, out) < 0)
				goto bad;
			after_run = true;
		}
		i = end + 1;
	}
	return 0;
bad:
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return -1;
}
