/*
 * iostream_connect.c: how a stream comes to be and becomes TLS: outbound
 * TCP and UNIX connections with a deadline, the server and client TLS
 * handshakes (implicit TLS and STARTTLS alike), and the facts of a TLS
 * session for logs and Received: headers (see iostream.h).
 *
 * Owns nothing beyond the stream it is given. RFC 3207 5: all input read
 * before the handshake is thrown away, so no command pipelined in plaintext
 * can be taken as coming over TLS; the same holds on the client side.
 */
#include "iostream.h"
#include "iostream_private.h"
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Connect fd (non-blocking) to sa within timeout_ms; 0 or -1 with *error_r. */
static int connect_wait(int fd, const struct sockaddr *sa, socklen_t salen, int timeout_ms,
                        const char **error_r)
{
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : monotonic_ms() + timeout_ms;
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0, r;
	socklen_t len = sizeof(err);

	if (connect(fd, sa, salen) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR) {
		*error_r = errorf("%s", strerror(errno));
		return -1;
	}
	for (;;) {
		int ms = -1;

		if (deadline != INT64_MAX) {
			int64_t left = deadline - monotonic_ms();
			ms = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
		}

		r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*error_r = errorf("poll: %s", strerror(errno));
			return -1;
		}
		if (r == 0) {
			*error_r = "connection timed out";
			return -1;
		}
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		*error_r = errorf("%s", strerror(err));
		return -1;
	}
	return 0;
}

int iostream_connect_tcp(const char *host, const char *port, int timeout_ms, struct iostream **s_r,
                         const char **error_r)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
	struct addrinfo *res, *ai;
	const char *last = "no address";
	int r;

	*s_r = NULL;
	r = getaddrinfo(host, port, &hints, &res);
	if (r != 0) {
		*error_r = errorf("cannot resolve %s port %s: %s", host, port, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		                ai->ai_protocol);
		if (fd < 0) {
			last = errorf("socket: %s", strerror(errno));
			continue;
		}
		if (connect_wait(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms, &last) == 0) {
			freeaddrinfo(res);
			*s_r = iostream_create(fd);
			return 0;
		}
		close(fd);
	}
	freeaddrinfo(res);
	*error_r = errorf("cannot connect to %s port %s: %s", host, port, last);
	return -1;
}

int iostream_connect_unix(const char *path, int timeout_ms, struct iostream **s_r,
                          const char **error_r)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *err;
	int fd;

	*s_r = NULL;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*error_r = errorf("socket path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*error_r = errorf("socket: %s", strerror(errno));
		return -1;
	}
	if (connect_wait(fd, (struct sockaddr *)&sun, sizeof(sun), timeout_ms, &err) < 0) {
		*error_r = errorf("cannot connect to %s: %s", path, err);
		close(fd);
		return -1;
	}
	*s_r = iostream_create(fd);
	return 0;
}

/* Why a handshake failed, in words. */
static const char *handshake_error(struct iostream *s, int err)
{
	long verify;

	if (err == SSL_ERROR_SYSCALL) {
		if (errno != 0)
			return errorf("TLS handshake failed: %s", strerror(errno));
		return "TLS handshake failed: connection closed by peer";
	}
	verify = SSL_get_verify_result(s->ssl);
	if (verify != X509_V_OK && SSL_get_verify_mode(s->ssl) != SSL_VERIFY_NONE)
		return errorf("TLS handshake failed: certificate verification: %s",
		              X509_verify_cert_error_string(verify));
	return errorf("TLS handshake failed: %s", tls_last_error());
}

static int start_tls(struct iostream *s, struct tls_ctx *ctx, bool server, const char *servername,
                     size_t *discarded_r, const char **error_r)
{
	int64_t deadline;

	*discarded_r = 0;
	if (s->ssl != NULL || s->broken) {
		*error_r = "TLS is already active on this stream";
		return -1;
	}
	if (tls_ctx_is_client(ctx) == server) {
		*error_r = server ? "a client TLS context cannot serve"
		                  : "a server TLS context cannot connect";
		return -1;
	}
	if (iostream_flush(s) != IOSTREAM_OK) {
		*error_r = errorf("cannot send before TLS: %s", iostream_error(s));
		s->broken = true;
		return -1;
	}
	/* RFC 3207 5: nothing read before the handshake survives it. */
	iostream_unpatch(s);
	*discarded_r = s->rend - s->rstart;
	s->rstart = s->rend = 0;
	s->discarding = false;

	ERR_clear_error();
	s->ssl = SSL_new(tls_ctx_openssl(ctx));
	if (s->ssl == NULL || SSL_set_fd(s->ssl, s->fd) != 1) {
		*error_r = errorf("TLS setup failed: %s", tls_last_error());
		s->broken = true;
		return -1;
	}
	if (server) {
		SSL_set_accept_state(s->ssl);
	} else {
		unsigned char ip[16];
		bool literal = servername != NULL && (inet_pton(AF_INET, servername, ip) == 1 ||
		                                      inet_pton(AF_INET6, servername, ip) == 1);

		SSL_set_connect_state(s->ssl);
		/* RFC 6066 3: SNI carries host names, never address literals. */
		if (servername != NULL && !literal)
			(void)SSL_set_tlsext_host_name(s->ssl, servername);
		if (servername != NULL && tls_ctx_verifies(ctx)) {
			X509_VERIFY_PARAM *param = SSL_get0_param(s->ssl);
			int ok = literal ? X509_VERIFY_PARAM_set1_ip_asc(param, servername)
			                 : SSL_set1_host(s->ssl, servername);
			if (ok != 1) {
				*error_r = errorf("TLS setup failed: bad server name");
				s->broken = true;
				return -1;
			}
		}
	}
	deadline = iostream_call_deadline(s, s->read_timeout_ms);
	for (;;) {
		enum iostream_status st;
		int r, err;

		ERR_clear_error();
		errno = 0;
		r = SSL_do_handshake(s->ssl);
		if (r == 1)
			return 0;
		err = SSL_get_error(s->ssl, r);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
			st = iostream_wait(s, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			                   deadline, false);
			if (st == IOSTREAM_OK)
				continue;
			*error_r = errorf("TLS handshake failed: %s", iostream_error(s));
		} else {
			*error_r = handshake_error(s, err);
		}
		ERR_clear_error();
		s->broken = true;
		s->tls_failed = true;
		iostream_set_error(s, "%s", *error_r);
		return -1;
	}
}

int iostream_starttls_server(struct iostream *s, struct tls_ctx *ctx, size_t *discarded_r,
                             const char **error_r)
{
	return start_tls(s, ctx, true, NULL, discarded_r, error_r);
}

int iostream_starttls_client(struct iostream *s, struct tls_ctx *ctx, const char *servername,
                             size_t *discarded_r, const char **error_r)
{
	return start_tls(s, ctx, false, servername, discarded_r, error_r);
}

int iostream_tls_info(const struct iostream *s, struct iostream_tls_info *info_r)
{
	const SSL_CIPHER *cipher;
	X509 *peer;

	memset(info_r, 0, sizeof(*info_r));
	if (s->ssl == NULL || s->broken)
		return -1;
	info_r->version = SSL_get_version(s->ssl);
	cipher = SSL_get_current_cipher(s->ssl);
	info_r->cipher = cipher != NULL ? SSL_CIPHER_get_name(cipher) : "unknown";
	if (cipher != NULL)
		info_r->cipher_bits = SSL_CIPHER_get_bits(cipher, &info_r->cipher_alg_bits);
	peer = SSL_get0_peer_certificate(s->ssl);
	if (peer != NULL) {
		info_r->peer_cert = true;
		info_r->peer_verified = SSL_get_verify_result(s->ssl) == X509_V_OK;
		X509_NAME_oneline(X509_get_subject_name(peer), info_r->peer_subject,
		                  sizeof(info_r->peer_subject));
	}
	return 0;
}
