/*
 * auth_protocol.c: parse sluice-authd requests and format its answers
 * (docs/auth-protocol.md, version 1).
 *
 * Trust: the request line comes from a local daemon acting for an untrusted
 * end user, so every field is checked: exact field count, escapes, no NUL,
 * the id's alphabet and length, and the client IP's syntax. The unescaped
 * fields live in one buffer that is wiped on clear because it holds the
 * password. Touches only the memory it is given.
 */
#include "auth_protocol.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

enum { F_COMMAND, F_ID, F_SERVICE, F_USER, F_PASSWORD, F_IP, F_COUNT };

int auth_client_ip_parse(const char *text, char *out)
{
	unsigned char addr[sizeof(struct in6_addr)];

	if (strcmp(text, "-") == 0) {
		out[0] = '\0';
		return 0;
	}
	if (inet_pton(AF_INET, text, addr) == 1) {
		inet_ntop(AF_INET, addr, out, INET6_ADDRSTRLEN);
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr) == 1) {
		static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
		                                           0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(addr, v4mapped, sizeof(v4mapped)) == 0)
			inet_ntop(AF_INET, addr + 12, out, INET6_ADDRSTRLEN);
		else
			inet_ntop(AF_INET6, addr, out, INET6_ADDRSTRLEN);
		return 0;
	}
	return -1;
}

void auth_request_clear(struct auth_request *req)
{
	if (req->fields != NULL) {
		sodium_memzero(req->fields, req->fields_size);
		free(req->fields);
	}
	memset(req, 0, sizeof(*req));
}

/* Unescape field f into the request's buffer at *pos; returns its start. */
static const char *take(const struct auth_wire_field *f, struct auth_request *req, size_t *pos,
                        size_t *len_r, const char **error_r)
{
	char *dst = req->fields + *pos;
	size_t n;

	if (auth_wire_unescape(f->data, f->len, dst, &n, error_r) < 0)
		return NULL;
	*pos += n + 1;
	if (len_r != NULL)
		*len_r = n;
	return dst;
}

int auth_request_parse(const char *line, size_t len, struct auth_request *req, const char **error_r)
{
	struct auth_wire_field f[F_COUNT];
	size_t pos = 0, service_len;
	int n;

	memset(req, 0, sizeof(*req));
	if (memchr(line, '\0', len) != NULL) {
		*error_r = "NUL byte in request";
		return -1;
	}
	const char *tab = memchr(line, '\t', len);
	size_t cmd_len = tab != NULL ? (size_t)(tab - line) : len;
	if (!(cmd_len == 4 && memcmp(line, "AUTH", 4) == 0)) {
		*error_r = "unknown command";
		return -1;
	}
	n = auth_wire_split(line, len, f, F_COUNT);
	if (n != F_COUNT) {
		*error_r = "wrong number of fields";
		return -1;
	}
	if (!auth_wire_id_valid(f[F_ID].data, f[F_ID].len)) {
		*error_r = "bad request id";
		return -1;
	}
	memcpy(req->id, f[F_ID].data, f[F_ID].len);
	req->id[f[F_ID].len] = '\0';

	/* Unescaping never grows a field: len bytes plus one NUL per field. */
	req->fields_size = len + F_COUNT;
	req->fields = xmalloc(req->fields_size);
	if ((req->service = take(&f[F_SERVICE], req, &pos, &service_len, error_r)) == NULL ||
	    (req->user = take(&f[F_USER], req, &pos, &req->user_len, error_r)) == NULL ||
	    (req->password = take(&f[F_PASSWORD], req, &pos, &req->password_len, error_r)) == NULL)
		goto fail;
	if (service_len == 0) {
		*error_r = "empty service";
		goto fail;
	}
	if (req->user_len == 0) {
		*error_r = "empty user";
		goto fail;
	}
	/* The IP field has no escapes in any valid form: take it as is. */
	char ip[INET6_ADDRSTRLEN + 1];
	if (f[F_IP].len >= sizeof(ip)) {
		*error_r = "bad client ip";
		goto fail;
	}
	memcpy(ip, f[F_IP].data, f[F_IP].len);
	ip[f[F_IP].len] = '\0';
	if (auth_client_ip_parse(ip, req->client_ip) < 0) {
		*error_r = "bad client ip";
		goto fail;
	}
	return 0;
fail:
	auth_request_clear(req);
	return -1;
}

static void append_escaped(struct sbuf *out, const char *s)
{
	size_t len = strlen(s);
	char *tmp = xmalloc(auth_wire_escaped_len(s, len) + 1);
	char *end = auth_wire_escape(tmp, s, len);
	sbuf_append(out, tmp, (size_t)(end - tmp));
	free(tmp);
}

void auth_answer_ok(struct sbuf *out, const char *id, const char *user)
{
	sbuf_appendf(out, "OK\t%s\t", id);
	append_escaped(out, user);
	sbuf_append_str(out, "\n");
}

void auth_answer_fail(struct sbuf *out, const char *id)
{
	sbuf_appendf(out, "FAIL\t%s\n", id);
}

void auth_answer_tempfail(struct sbuf *out, const char *id, const char *reason)
{
	sbuf_appendf(out, "TEMPFAIL\t%s\t", id);
	append_escaped(out, reason);
	sbuf_append_str(out, "\n");
}

void auth_answer_error(struct sbuf *out, const char *reason)
{
	sbuf_append_str(out, "ERROR\t");
	append_escaped(out, reason);
	sbuf_append_str(out, "\n");
}
