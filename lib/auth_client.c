/*
 * auth_client.c: the client side of the sluice-authd protocol and the wire
 * codec both sides use (see auth_client.h and docs/auth-protocol.md).
 *
 * Trust: the server's answers are parsed with bounds checks like any network
 * input (the server is trusted not to lie, not to be well-formed). The
 * request line, which holds the password, is built in a stack buffer wiped
 * with sodium_memzero() before returning (the stream's own write buffer is
 * freed with the stream). Touches nothing but its own socket.
 */
#include "auth_client.h"
#include "iostream.h"
#include "log.h"
#include "util.h"

#include <limits.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint auth_client_next_id;

/* Build "AUTH\tid\tservice\tuser\tpassword\tip\n" into line; -1 when too long. */
static int build_request(char *line, size_t *len_r, const char *id,
                         const struct auth_client_request *req)
{
	const char *ip = req->client_ip != NULL && req->client_ip[0] != '\0' ? req->client_ip : "-";
	const struct {
		const void *data;
		size_t len;
	} fields[] = {
	    {"AUTH", 4},
	    {id, strlen(id)},
	    {req->service, strlen(req->service)},
	    {req->user, strlen(req->user)},
	    {req->password, req->password_len},
	    {ip, strlen(ip)},
	};
	size_t total = 0;
	char *p = line;

	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		total += auth_wire_escaped_len(fields[i].data, fields[i].len) + 1;
	if (total > AUTH_LINE_MAX)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		p = auth_wire_escape(p, fields[i].data, fields[i].len);
		*p++ = i + 1 < ARRAY_SIZE(fields) ? '\t' : '\n';
	}
	*len_r = (size_t)(p - line);
	return 0;
}

static int is_field(const struct auth_wire_field *f, const char *s)
{
	return f->len == strlen(s) && memcmp(f->data, s, f->len) == 0;
}

/* A field from the server, unescaped into a new string; NULL when malformed. */
static char *field_dup(const struct auth_wire_field *f)
{
	char *out = xmalloc(f->len + 1);
	const char *error;
	size_t len;

	if (auth_wire_unescape(f->data, f->len, out, &len, &error) < 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Parse the answer to request id. */
static enum auth_client_result parse_answer(const struct iostream_line *line, const char *id,
                                            char **user_r, const char **error_r)
{
	struct auth_wire_field f[4];
	char logbuf[LOG_UNTRUSTED_BUFSZ];
	int n = auth_wire_split(line->data, line->len, f, ARRAY_SIZE(f));
	char *text;

	if (n >= 2 && is_field(&f[0], "ERROR")) {
		text = field_dup(&f[1]);
		*error_r = errorf("sluice-authd rejected the request: %s",
		                  text != NULL ? log_untrusted(logbuf, text, strlen(text)) : "?");
		free(text);
		return AUTH_CLIENT_TEMPFAIL;
	}
	if (n < 2 || !is_field(&f[1], id)) {
		*error_r = "sluice-authd sent a malformed answer";
		return AUTH_CLIENT_TEMPFAIL;
	}
	if (n == 3 && is_field(&f[0], "OK")) {
		if ((text = field_dup(&f[2])) == NULL || text[0] == '\0') {
			free(text);
			*error_r = "sluice-authd sent a malformed user name";
			return AUTH_CLIENT_TEMPFAIL;
		}
		*user_r = text;
		return AUTH_CLIENT_OK;
	}
	if (n == 2 && is_field(&f[0], "FAIL")) {
		*error_r = "authentication failed";
		return AUTH_CLIENT_FAIL;
	}
	if (n == 3 && is_field(&f[0], "TEMPFAIL")) {
		text = field_dup(&f[2]);
		*error_r = errorf("sluice-authd: %s",
		                  text != NULL ? log_untrusted(logbuf, text, strlen(text)) : "?");
		free(text);
		return AUTH_CLIENT_TEMPFAIL;
	}
	*error_r = "sluice-authd sent a malformed answer";
	return AUTH_CLIENT_TEMPFAIL;
}

/* "VERSION\t1", possibly with more fields a later minor version adds. */
static int version_ok(const struct iostream_line *line)
{
	static const char want[] = "VERSION\t1";
	size_t n = sizeof(want) - 1;

	return line->len >= n && memcmp(line->data, want, n) == 0 &&
	       (line->len == n || line->data[n] == '\t');
}

static enum auth_client_result stream_failed(struct iostream *s, enum iostream_status st,
                                             const char *what, const char **error_r)
{
	*error_r = errorf("sluice-authd %s: %s", what,
	                  st == IOSTREAM_TOO_LONG ? "line too long" : iostream_error(s));
	return AUTH_CLIENT_TEMPFAIL;
}

enum auth_client_result auth_client_verify(const char *socket_path, int64_t timeout_ms,
                                           const struct auth_client_request *req, char **user_r,
                                           const char **error_r)
{
	char line[AUTH_LINE_MAX], id[16];
	struct iostream *s = NULL;
	struct iostream_line answer;
	enum iostream_status st;
	enum auth_client_result result;
	int64_t deadline;
	size_t len;
	int wait_ms;

	*user_r = NULL;
	if (timeout_ms < 1)
		timeout_ms = 1;
	if (timeout_ms > INT_MAX)
		timeout_ms = INT_MAX;
	wait_ms = (int)timeout_ms;
	deadline = monotonic_ms() + timeout_ms;
	if (req->password_len > 0 && memchr(req->password, '\0', req->password_len) != NULL) {
		*error_r = "authentication failed";
		return AUTH_CLIENT_FAIL;
	}
	snprintf(id, sizeof(id), "%u", atomic_fetch_add(&auth_client_next_id, 1) + 1);
	if (build_request(line, &len, id, req) < 0) {
		sodium_memzero(line, sizeof(line));
		*error_r = "authentication failed";
		return AUTH_CLIENT_FAIL;
	}
	if (iostream_connect_unix(socket_path, wait_ms, &s, error_r) < 0) {
		sodium_memzero(line, sizeof(line));
		*error_r = errorf("sluice-authd at %s: %s", socket_path, *error_r);
		return AUTH_CLIENT_TEMPFAIL;
	}
	iostream_set_deadline(s, deadline);
	iostream_set_timeouts(s, wait_ms, wait_ms);
	if ((st = iostream_read_line(s, AUTH_LINE_MAX - 1, &answer)) != IOSTREAM_OK) {
		result = stream_failed(s, st, "greeting", error_r);
	} else if (!version_ok(&answer)) {
		*error_r = "sluice-authd speaks another protocol version";
		result = AUTH_CLIENT_TEMPFAIL;
	} else if ((st = iostream_write(s, line, len)) != IOSTREAM_OK ||
	           (st = iostream_flush(s)) != IOSTREAM_OK) {
		result = stream_failed(s, st, "request", error_r);
	} else if ((st = iostream_read_line(s, AUTH_LINE_MAX - 1, &answer)) != IOSTREAM_OK) {
		result = stream_failed(s, st, "answer", error_r);
	} else {
		result = parse_answer(&answer, id, user_r, error_r);
	}
	sodium_memzero(line, sizeof(line));
	iostream_destroy(&s);
	return result;
}

size_t auth_wire_escaped_len(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t n = len;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')
			n++;
	}
	return n;
}

char *auth_wire_escape(char *out, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		switch (p[i]) {
		case '\\':
			*out++ = '\\';
			*out++ = '\\';
			break;
		case '\t':
			*out++ = '\\';
			*out++ = 't';
			break;
		case '\n':
			*out++ = '\\';
			*out++ = 'n';
			break;
		case '\r':
			*out++ = '\\';
			*out++ = 'r';
			break;
		default:
			*out++ = (char)p[i];
		}
	}
	return out;
}

int auth_wire_unescape(const char *in, size_t len, char *out, size_t *out_len_r,
                       const char **error_r)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == '\0') {
			*error_r = "NUL byte in field";
			return -1;
		}
		if (c == '\n' || c == '\r' || c == '\t') {
			*error_r = "unescaped control character in field";
			return -1;
		}
		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		if (++i == len) {
			*error_r = "field ends inside an escape";
			return -1;
		}
		switch (in[i]) {
		case '\\':
			out[o++] = '\\';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 'r':
			out[o++] = '\r';
			break;
		default:
			*error_r = "unknown escape in field";
			return -1;
		}
	}
	out[o] = '\0';
	*out_len_r = o;
	return 0;
}

int auth_wire_split(const char *line, size_t len, struct auth_wire_field *fields, unsigned int max)
{
	unsigned int n = 0;
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != '\t')
			continue;
		if (n == max)
			return -1;
		fields[n].data = line + start;
		fields[n].len = i - start;
		n++;
		start = i + 1;
	}
	return (int)n;
}

int auth_wire_id_valid(const char *s, size_t len)
{
	if (len < 1 || len > AUTH_ID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}
