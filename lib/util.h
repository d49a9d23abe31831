/*
 * util.h: small shared helpers: allocation that cannot return NULL, and
 * struct sbuf, a growable, length-counted, binary-safe byte string that always
 * keeps a spare NUL after its data (so it can be printed when known to be text).
 */
#ifndef SLUICE_UTIL_H
#define SLUICE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation failures are treated as a bug-level event: log and abort. */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new heap string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct sbuf {
	char *data; /* NUL-terminated after len bytes; NULL until first append */
	size_t len;
	size_t cap;
};

void sbuf_append(struct sbuf *b, const void *data, size_t len);
void sbuf_append_str(struct sbuf *b, const char *s);
/* Append a number in decimal (for hot paths where printf costs). */
void sbuf_append_u64(struct sbuf *b, uint64_t v);
void sbuf_appendf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_reset(struct sbuf *b);
/* The data as a C string ("" when empty). */
const char *sbuf_str(const struct sbuf *b);
void sbuf_free(struct sbuf *b);

/* Case-insensitive ASCII comparison of a length-counted string with a C string. */
int ascii_strncaseeq(const char *a, size_t alen, const char *b);
/* Lower-case ASCII letters in place. */
void ascii_lower(char *s);
/* Monotonic clock in milliseconds. */
int64_t monotonic_ms(void);

/*
 * Format an error message into a per-thread buffer and return it, for the
 * `const char **error_r` convention when the message needs details (a file
 * name, a line number). Valid until the same thread calls errorf() again.
 */
const char *errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
