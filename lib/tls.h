/*
 * tls.h: TLS contexts (OpenSSL) for the streams of iostream.h.
 *
 * A struct tls_ctx is a reference-counted OpenSSL context: a server context
 * built from a PEM certificate chain and key, or a client context. A struct
 * tls_holder keeps the current server context of a daemon and swaps it
 * atomically when the certificate is reloaded (SIGHUP): a session takes a
 * reference when its handshake starts and keeps that context to its end, so a
 * reload never disturbs a session; a failed reload leaves the old context in
 * place. Protocol code never sees OpenSSL: it calls iostream_starttls_*().
 */
#ifndef SLUICE_TLS_H
#define SLUICE_TLS_H

#include <stdbool.h>

struct ssl_ctx_st; /* OpenSSL's SSL_CTX */
struct tls_ctx;
struct tls_holder;

/*
 * A server context from a PEM chain (leaf first) and a PEM key: TLS 1.2 at
 * least, no compression, no renegotiation, the server's cipher order, forward
 * secret ciphers only. Fails when the key does not match the certificate.
 */
int tls_server_ctx_create(const char *cert_file, const char *key_file, struct tls_ctx **ctx_r,
                          const char **error_r);
/*
 * A client context. ca_file NULL trusts the system's CA store. With verify,
 * a handshake with an untrusted or misnamed server fails; without it, the
 * handshake goes on and iostream_tls_info() tells whether the peer verified.
 */
int tls_client_ctx_create(const char *ca_file, bool verify, struct tls_ctx **ctx_r,
                          const char **error_r);
/* Take one more reference. Returns ctx. */
struct tls_ctx *tls_ctx_ref(struct tls_ctx *ctx);
/* Drop a reference (the last one frees); sets *ctx to NULL; accepts NULL. */
void tls_ctx_unref(struct tls_ctx **ctx);
/* The OpenSSL context, for the rare caller that needs more (e.g. DANE). */
struct ssl_ctx_st *tls_ctx_openssl(struct tls_ctx *ctx);
/* Whether the context is for the client side. */
bool tls_ctx_is_client(const struct tls_ctx *ctx);
/* Whether a client context fails handshakes with unverified servers. */
bool tls_ctx_verifies(const struct tls_ctx *ctx);
/* Subject and expiry of a server context's certificate, for logs; "" for clients. */
const char *tls_ctx_description(const struct tls_ctx *ctx);

/* Load cert_file and key_file into a new holder. */
int tls_holder_create(const char *cert_file, const char *key_file, struct tls_holder **holder_r,
                      const char **error_r);
/*
 * Load a certificate and key (NULL: the paths loaded last) into a new context
 * and make it current. On error the old context stays current and the paths
 * are not changed. Safe to call while sessions use the holder.
 */
int tls_holder_reload(struct tls_holder *holder, const char *cert_file, const char *key_file,
                      const char **error_r);
/* The current context, with a reference the caller drops with tls_ctx_unref(). */
struct tls_ctx *tls_holder_get(struct tls_holder *holder);
/* Free the holder (sessions keep their own references); accepts NULL. */
void tls_holder_destroy(struct tls_holder **holder);

/*
 * Write a new self-signed certificate for common_name (also its DNS
 * subjectAltName, ECDSA P-256, valid `days` days) to cert_file and its key to
 * key_file (mode 0600). For tests and the quickstart, not for production.
 */
int tls_selfsigned_write(const char *cert_file, const char *key_file, const char *common_name,
                         int days, const char **error_r);

/* The first queued OpenSSL error as text ("unknown" when none), and clear the queue. */
const char *tls_last_error(void);

#endif
