/*
 * auth_protocol.h: sluice-authd's side of the protocol in docs/auth-protocol.md:
 * parsing one request line into a struct auth_request, and formatting the
 * answers. The field escaping itself is lib/auth_client.h's wire codec, shared
 * with the clients.
 */
#ifndef SLUICE_AUTH_PROTOCOL_H
#define SLUICE_AUTH_PROTOCOL_H

#include "auth_client.h"
#include "util.h"

#include <arpa/inet.h>
#include <stddef.h>

/* The server's greeting. */
#define AUTH_VERSION_LINE "VERSION\t1\n"

struct auth_request {
	char id[AUTH_ID_MAX + 1];
	/* Unescaped fields, NUL-terminated, all in one allocation (fields) that
	 * auth_request_clear() wipes: the password must not linger on the heap. */
	const char *service;
	const char *user;
	size_t user_len;
	const char *password;
	size_t password_len;
	/* The client IP in canonical text form (inet_ntop; an IPv4-mapped IPv6
	 * address as plain IPv4), or "" when the client sent "-". */
	char client_ip[INET6_ADDRSTRLEN];
	char *fields;
	size_t fields_size;
};

/*
 * Parse one request line (len bytes, without its LF). On error *error_r is a
 * reason fit for the ERROR answer, and req holds nothing to clear.
 */
int auth_request_parse(const char *line, size_t len, struct auth_request *req,
                       const char **error_r);
/* Wipe and free what a parsed request holds; safe on a zeroed or cleared one. */
void auth_request_clear(struct auth_request *req);

/*
 * Canonical form of a client IP: "-" gives "", an IPv4 or IPv6 address its
 * inet_ntop() text (IPv4-mapped IPv6 as IPv4). -1 for anything else. out has
 * INET6_ADDRSTRLEN bytes.
 */
int auth_client_ip_parse(const char *text, char *out);

/* Append the answer lines (LF included) to out. */
void auth_answer_ok(struct sbuf *out, const char *id, const char *user);
void auth_answer_fail(struct sbuf *out, const char *id);
void auth_answer_tempfail(struct sbuf *out, const char *id, const char *reason);
void auth_answer_error(struct sbuf *out, const char *reason);

#endif
