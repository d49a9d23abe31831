/*
 * tls.c: OpenSSL contexts, the reloadable server context holder, and a
 * self-signed certificate writer (see tls.h).
 *
 * Owns the SSL_CTX objects it creates and the holder's mutex. Reads the
 * certificate and key files it is given; writes files only in
 * tls_selfsigned_write(). A context is immutable once built, so sessions in
 * many threads share it; the holder's pointer swap is the only shared write.
 */
#include "tls.h"
#include "util.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * TLS 1.2 suites with forward secrecy and AEAD first, then CBC ones for old
 * MTAs (opportunistic TLS on port 25 beats plaintext). TLS 1.3 suites are
 * OpenSSL's defaults, all good.
 */
#define TLS12_CIPHERS                                                                              \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                               \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                               \
	"DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-CHACHA20-POLY1305:"           \
	"ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"                                       \
	"ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"                                       \
	"ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA"

struct tls_ctx {
	atomic_int refs;
	SSL_CTX *ssl_ctx;
	bool client;
	bool verify;
	char description[320];
};

struct tls_holder {
	pthread_mutex_t lock;
	struct tls_ctx *current;
	char *cert_file;
	char *key_file;
};

const char *tls_last_error(void)
{
	static _Thread_local char buf[256];
	unsigned long e = ERR_get_error();
	const char *reason;

	if (e == 0) {
		snprintf(buf, sizeof(buf), "unknown");
	} else {
		reason = ERR_reason_error_string(e);
		if (reason != NULL)
			snprintf(buf, sizeof(buf), "%s", reason);
		else
			ERR_error_string_n(e, buf, sizeof(buf));
	}
	ERR_clear_error();
	return buf;
}

static struct tls_ctx *ctx_wrap(SSL_CTX *ssl_ctx, bool client, bool verify)
{
	struct tls_ctx *ctx = xcalloc(1, sizeof(*ctx));

	atomic_init(&ctx->refs, 1);
	ctx->ssl_ctx = ssl_ctx;
	ctx->client = client;
	ctx->verify = verify;
	return ctx;
}

/* Options common to both sides. */
static int ctx_common(SSL_CTX *c, const char **error_r)
{
	SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	                           SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* The stream retries writes after WANT_WRITE with a buffer that may move. */
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(c, TLS12_CIPHERS) != 1) {
		*error_r = errorf("TLS context setup failed: %s", tls_last_error());
		return -1;
	}
	return 0;
}

/* "CN=mail.example.org, expires Jan  1 00:00:00 2030 GMT" of the context's leaf. */
static void describe_cert(SSL_CTX *c, char *buf, size_t size)
{
	X509 *cert = SSL_CTX_get0_certificate(c);
	char subject[200] = "";
	char expiry[64] = "";
	BIO *bio;

	if (cert == NULL) {
		buf[0] = '\0';
		return;
	}
	X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
	bio = BIO_new(BIO_s_mem());
	if (bio != NULL) {
		if (ASN1_TIME_print(bio, X509_get0_notAfter(cert)) == 1) {
			int n = BIO_read(bio, expiry, sizeof(expiry) - 1);
			expiry[n > 0 ? n : 0] = '\0';
		}
		BIO_free(bio);
	}
	snprintf(buf, size, "%s, expires %s", subject, expiry);
}

int tls_server_ctx_create(const char *cert_file, const char *key_file, struct tls_ctx **ctx_r,
                          const char **error_r)
{
	SSL_CTX *c;
	struct tls_ctx *ctx;

	*ctx_r = NULL;
	if (cert_file == NULL || cert_file[0] == '\0' || key_file == NULL || key_file[0] == '\0') {
		*error_r = "TLS certificate and key files must both be set";
		return -1;
	}
	ERR_clear_error();
	c = SSL_CTX_new(TLS_server_method());
	if (c == NULL) {
		*error_r = errorf("SSL_CTX_new failed: %s", tls_last_error());
		return -1;
	}
	if (ctx_common(c, error_r) < 0) {
		SSL_CTX_free(c);
		return -1;
	}
	SSL_CTX_set_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_dh_auto(c, 1);
	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	/* OpenSSL refuses session resumption without a session id context
	 * once client certificates are asked for; set one up front. */
	SSL_CTX_set_session_id_context(c, (const unsigned char *)"sluice", 6);
	if (SSL_CTX_use_certificate_chain_file(c, cert_file) != 1) {
		*error_r =
		    errorf("cannot load TLS certificate %s: %s", cert_file, tls_last_error());
		SSL_CTX_free(c);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(c, key_file, SSL_FILETYPE_PEM) != 1) {
		unsigned long e = ERR_peek_last_error();

		if (ERR_GET_LIB(e) == ERR_LIB_X509 &&
		    ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
			*error_r =
			    errorf("TLS key %s does not match certificate %s", key_file, cert_file);
		else
			*error_r = errorf("cannot load TLS key %s: %s", key_file, tls_last_error());
		ERR_clear_error();
		SSL_CTX_free(c);
		return -1;
	}
	if (SSL_CTX_check_private_key(c) != 1) {
		*error_r = errorf("TLS key %s does not match certificate %s: %s", key_file,
		                  cert_file, tls_last_error());
		SSL_CTX_free(c);
		return -1;
	}
	ctx = ctx_wrap(c, false, false);
	describe_cert(c, ctx->description, sizeof(ctx->description));
	*ctx_r = ctx;
	return 0;
}

int tls_client_ctx_create(const char *ca_file, bool verify, struct tls_ctx **ctx_r,
                          const char **error_r)
{
	SSL_CTX *c;
	int ok;

	*ctx_r = NULL;
	ERR_clear_error();
	c = SSL_CTX_new(TLS_client_method());
	if (c == NULL) {
		*error_r = errorf("SSL_CTX_new failed: %s", tls_last_error());
		return -1;
	}
	if (ctx_common(c, error_r) < 0) {
		SSL_CTX_free(c);
		return -1;
	}
	if (ca_file != NULL)
		ok = SSL_CTX_load_verify_locations(c, ca_file, NULL);
	else
		ok = SSL_CTX_set_default_verify_paths(c);
	if (ok != 1) {
		*error_r = errorf("cannot load CA certificates %s: %s",
		                  ca_file != NULL ? ca_file : "(system default)", tls_last_error());
		SSL_CTX_free(c);
		return -1;
	}
	/* Without verify, OpenSSL still checks the chain and keeps the result
	 * for SSL_get_verify_result(), which iostream_tls_info() reports. */
	SSL_CTX_set_verify(c, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	*ctx_r = ctx_wrap(c, true, verify);
	return 0;
}

struct tls_ctx *tls_ctx_ref(struct tls_ctx *ctx)
{
	atomic_fetch_add(&ctx->refs, 1);
	return ctx;
}

void tls_ctx_unref(struct tls_ctx **ctxp)
{
	struct tls_ctx *ctx = *ctxp;

	if (ctx == NULL)
		return;
	*ctxp = NULL;
	if (atomic_fetch_sub(&ctx->refs, 1) != 1)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

struct ssl_ctx_st *tls_ctx_openssl(struct tls_ctx *ctx)
{
	return ctx->ssl_ctx;
}

bool tls_ctx_is_client(const struct tls_ctx *ctx)
{
	return ctx->client;
}

bool tls_ctx_verifies(const struct tls_ctx *ctx)
{
	return ctx->verify;
}

const char *tls_ctx_description(const struct tls_ctx *ctx)
{
	return ctx->description;
}

int tls_holder_create(const char *cert_file, const char *key_file, struct tls_holder **holder_r,
                      const char **error_r)
{
	struct tls_holder *h;
	struct tls_ctx *ctx;

	*holder_r = NULL;
	if (tls_server_ctx_create(cert_file, key_file, &ctx, error_r) < 0)
		return -1;
	h = xcalloc(1, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	h->current = ctx;
	h->cert_file = xstrdup(cert_file);
	h->key_file = xstrdup(key_file);
	*holder_r = h;
	return 0;
}

int tls_holder_reload(struct tls_holder *h, const char *cert_file, const char *key_file,
                      const char **error_r)
{
	struct tls_ctx *ctx, *old;
	char *cert, *key;

	/* Only the reloading thread changes the paths; readers take the lock. */
	pthread_mutex_lock(&h->lock);
	cert = xstrdup(cert_file != NULL ? cert_file : h->cert_file);
	key = xstrdup(key_file != NULL ? key_file : h->key_file);
	pthread_mutex_unlock(&h->lock);

	/* Build outside the lock: loading files must not stall handshakes. */
	if (tls_server_ctx_create(cert, key, &ctx, error_r) < 0) {
		free(cert);
		free(key);
		return -1;
	}
	pthread_mutex_lock(&h->lock);
	old = h->current;
	h->current = ctx;
	free(h->cert_file);
	free(h->key_file);
	h->cert_file = cert;
	h->key_file = key;
	pthread_mutex_unlock(&h->lock);
	tls_ctx_unref(&old);
	return 0;
}

struct tls_ctx *tls_holder_get(struct tls_holder *h)
{
	struct tls_ctx *ctx;

	pthread_mutex_lock(&h->lock);
	ctx = tls_ctx_ref(h->current);
	pthread_mutex_unlock(&h->lock);
	return ctx;
}

void tls_holder_destroy(struct tls_holder **holderp)
{
	struct tls_holder *h = *holderp;

	if (h == NULL)
		return;
	*holderp = NULL;
	tls_ctx_unref(&h->current);
	pthread_mutex_destroy(&h->lock);
	free(h->cert_file);
	free(h->key_file);
	free(h);
}

/* Write a PEM object to path with the given mode, replacing the file. */
static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert, const char **error_r)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	FILE *f;
	int ok;

	if (fd < 0) {
		*error_r = errorf("cannot create %s: %m", path);
		return -1;
	}
	if (fchmod(fd, mode) < 0) {
		*error_r = errorf("cannot chmod %s: %m", path);
		close(fd);
		return -1;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		*error_r = errorf("fdopen %s: %m", path);
		close(fd);
		return -1;
	}
	if (key != NULL)
		ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_X509(f, cert);
	if (fclose(f) != 0 || ok != 1) {
		*error_r = errorf("cannot write %s: %s", path, tls_last_error());
		return -1;
	}
	return 0;
}

static int add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return 0;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

int tls_selfsigned_write(const char *cert_file, const char *key_file, const char *common_name,
                         int days, const char **error_r)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	char *san = NULL;
	int ret = -1;

	ERR_clear_error();
	if (days <= 0 || strlen(common_name) == 0 || strlen(common_name) > 64) {
		*error_r = "bad self-signed certificate parameters";
		return -1;
	}
	key = EVP_EC_gen("P-256");
	cert = X509_new();
	if (key == NULL || cert == NULL || RAND_bytes(serial, sizeof(serial)) != 1) {
		*error_r = errorf("key generation failed: %s", tls_last_error());
		goto out;
	}
	serial[0] &= 0x7f; /* RFC 5280 4.1.2.2: a positive serial */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	san = xasprintf("DNS:%s", common_name);
	name = X509_get_subject_name(cert);
	if (bn == NULL || X509_set_version(cert, 2) != 1 ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400) == NULL ||
	    X509_set_pubkey(cert, key) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	                               (const unsigned char *)common_name, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(cert, name) != 1 ||
	    add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") != 1 ||
	    add_ext(cert, NID_subject_alt_name, san) != 1 ||
	    add_ext(cert, NID_ext_key_usage, "serverAuth") != 1 ||
	    X509_sign(cert, key, EVP_sha256()) == 0) {
		*error_r = errorf("certificate generation failed: %s", tls_last_error());
		goto out;
	}
	if (write_pem(key_file, 0600, key, NULL, error_r) < 0 ||
	    write_pem(cert_file, 0644, NULL, cert, error_r) < 0)
		goto out;
	ret = 0;
out:
	free(san);
	BN_free(bn);
	X509_free(cert);
	EVP_PKEY_free(key);
	return ret;
}
