/*
 * queue_format.c: the field encodings of queue files (see queue_format.h):
 * RFC 3461 4 xtext for strings and fixed-width decimal numbers for the
 * fields rewritten in place. Pure functions; touch nothing but their buffers.
 */
#include "queue_format.h"

#include <stdlib.h>
#include <string.h>

static const char hexdigits[] = "0123456789ABCDEF";

void queue_xtext_encode(struct sbuf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* RFC 3461 4: xchar is "!" through "~" except "+" and "=". */
		if (c >= 33 && c <= 126 && c != '+' && c != '=') {
			sbuf_append(out, &s[i], 1);
		} else {
			char hex[3] = {'+', hexdigits[c >> 4], hexdigits[c & 15]};
			sbuf_append(out, hex, 3);
		}
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int queue_xtext_decode(const char *s, size_t len, char **out_r)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+') {
			int hi, lo;

			if (len - i < 3)
				goto bad;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (c >= 33 && c <= 126 && c != '=') {
			out[o++] = (char)c;
		} else {
			goto bad;
		}
	}
	out[o] = '\0';
	*out_r = out;
	return 0;
bad:
	free(out);
	return -1;
}

int queue_format_digits(char *out, size_t width, uint64_t v)
{
	for (size_t i = width; i > 0; i--) {
		out[i - 1] = (char)('0' + v % 10);
		v /= 10;
	}
	return v == 0 ? 0 : -1;
}

int queue_parse_digits(const char *s, size_t len, uint64_t *v_r)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*v_r = v;
	return 0;
}
