/*
 * auth_client.h: the client side of the sluice-authd protocol (docs/auth-protocol.md),
 * linked by every server that takes a password (sluice-smtpd, sluice-imapd,
 * sluice-sieved), and the wire codec (field escaping) that sluice-authd shares.
 *
 * A verification connects to the auth socket, checks the server's VERSION line,
 * sends one AUTH request and reads its answer, all before one deadline. The
 * result is OK (with the canonical user name), FAIL (wrong credentials: the
 * caller answers with its protocol's permanent authentication failure) or
 * TEMPFAIL (authd unreachable, overloaded, or its database down: the caller
 * answers with a temporary failure). The request line holding the password is
 * built in a stack buffer wiped before returning. Thread-safe.
 */
#ifndef SLUICE_AUTH_CLIENT_H
#define SLUICE_AUTH_CLIENT_H

#include <stddef.h>
#include <stdint.h>

/* The protocol's major version, announced by the server as "VERSION\t1". */
#define AUTH_PROTOCOL_VERSION 1
/* Longest line either side may send, LF included. */
#define AUTH_LINE_MAX 8192
/* Longest request id. */
#define AUTH_ID_MAX 32

enum auth_client_result {
	AUTH_CLIENT_OK,
	AUTH_CLIENT_FAIL,
	AUTH_CLIENT_TEMPFAIL,
};

struct auth_client_request {
	const char *service;  /* "smtp", "imap", "sieve" */
	const char *user;     /* the login name as the end user typed it */
	const void *password; /* any bytes but NUL */
	size_t password_len;
	const char *client_ip; /* the end user's address; NULL or "-" when local */
};

/*
 * Ask sluice-authd at socket_path whether the credentials are valid, within
 * timeout_ms in all. On AUTH_CLIENT_OK *user_r is the canonical login name
 * (heap, free() it). On AUTH_CLIENT_TEMPFAIL *error_r says why (for the log);
 * on AUTH_CLIENT_FAIL *error_r is "authentication failed". A request that
 * cannot be sent (NUL in the password, line too long) is AUTH_CLIENT_FAIL.
 */
enum auth_client_result auth_client_verify(const char *socket_path, int64_t timeout_ms,
                                           const struct auth_client_request *req, char **user_r,
                                           const char **error_r);

/* --- the wire codec, shared with sluice-authd --- */

/* Bytes auth_wire_escape() writes for data (TAB, LF, CR and \ take two). */
size_t auth_wire_escaped_len(const void *data, size_t len);
/*
 * Escape data into out, which has room for auth_wire_escaped_len() bytes.
 * Returns the end of what was written. NUL bytes are copied as is: callers
 * reject them first (the protocol never allows NUL).
 */
char *auth_wire_escape(char *out, const void *data, size_t len);
/*
 * Unescape one field (len bytes at in, no TAB inside) into out, which has room
 * for len + 1 bytes; the result is NUL-terminated and its length stored in
 * *out_len_r. Fails on NUL, on a raw LF or CR, on a `\` that ends the field or
 * is followed by anything but `\`, `t`, `n` or `r`.
 */
int auth_wire_unescape(const char *in, size_t len, char *out, size_t *out_len_r,
                       const char **error_r);

struct auth_wire_field {
	const char *data;
	size_t len;
};

/*
 * Split a line (without its LF) at TABs into at most max fields. Returns the
 * number of fields, or -1 when there are more than max.
 */
int auth_wire_split(const char *line, size_t len, struct auth_wire_field *fields, unsigned int max);

/* Whether s (len bytes) is a valid request id: 1 to 32 of [A-Za-z0-9_-]. */
int auth_wire_id_valid(const char *s, size_t len);

#endif
