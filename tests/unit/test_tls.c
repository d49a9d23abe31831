/*
 * test_tls.c: real TLS over socketpairs with certificates generated at run
 * time: contexts and their errors, handshakes with and without verification,
 * line and bulk I/O over TLS, STARTTLS throwing away what was pipelined
 * before the handshake (both sides), failed and timed-out handshakes, and a
 * certificate reload that leaves running sessions alone while new sessions
 * get the new certificate.
 */
#include "iostream.h"
#include "tls.h"
#include "util.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char cert_a[128], key_a[128], cert_b[128], key_b[128];

static void make_certs(void)
{
	const char *error = NULL;

	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/sluice-test-tls-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cert_a, sizeof(cert_a), "%s/a.crt", dir);
	snprintf(key_a, sizeof(key_a), "%s/a.key", dir);
	snprintf(cert_b, sizeof(cert_b), "%s/b.crt", dir);
	snprintf(key_b, sizeof(key_b), "%s/b.key", dir);
	ck_assert_msg(tls_selfsigned_write(cert_a, key_a, "a.test", 2, &error) == 0, "%s", error);
	ck_assert_msg(tls_selfsigned_write(cert_b, key_b, "b.test", 2, &error) == 0, "%s", error);
}

static void remove_certs(void)
{
	const char *files[] = {cert_a, key_a, cert_b, key_b};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		unlink(files[i]);
	rmdir(dir);
}

static struct tls_ctx *server_ctx(const char *cert, const char *key)
{
	struct tls_ctx *ctx = NULL;
	const char *error = NULL;

	ck_assert_msg(tls_server_ctx_create(cert, key, &ctx, &error) == 0, "%s", error);
	return ctx;
}

static struct tls_ctx *client_ctx(const char *ca, bool verify)
{
	struct tls_ctx *ctx = NULL;
	const char *error = NULL;

	ck_assert_msg(tls_client_ctx_create(ca, verify, &ctx, &error) == 0, "%s", error);
	return ctx;
}

/* A server side run by a thread: handshake (optionally after a plaintext
 * STARTTLS exchange), then echo lines upper-cased until QUIT or EOF. */
struct server_side {
	struct iostream *s;
	struct tls_ctx *ctx;
	bool starttls;   /* read "STARTTLS", answer, then handshake */
	bool junk_after; /* send a plaintext line after the go-ahead (an attack on the client) */
	int ret;         /* handshake result */
	char error[256];
	size_t discarded;
	char first_line[64];
	pthread_t tid;
};

static void *server_main(void *arg)
{
	struct server_side *ss = arg;
	struct iostream_line line;
	const char *error = "";

	if (ss->starttls) {
		ck_assert_int_eq(iostream_read_line(ss->s, 100, &line), IOSTREAM_OK);
		ck_assert_str_eq(line.data, "STARTTLS");
		iostream_write_str(ss->s, "220 2.0.0 Ready to start TLS\r\n");
		if (ss->junk_after)
			iostream_write_str(ss->s, "250 injected\r\n");
		ck_assert_int_eq(iostream_flush(ss->s), IOSTREAM_OK);
	}
	ss->ret = iostream_starttls_server(ss->s, ss->ctx, &ss->discarded, &error);
	snprintf(ss->error, sizeof(ss->error), "%s", ss->ret < 0 ? error : "");
	if (ss->ret < 0)
		return NULL;
	for (bool first = true;; first = false) {
		enum iostream_status st = iostream_read_line(ss->s, 1000, &line);
		if (st != IOSTREAM_OK)
			break;
		if (first)
			snprintf(ss->first_line, sizeof(ss->first_line), "%s", line.data);
		if (strcmp(line.data, "QUIT") == 0) {
			iostream_write_str(ss->s, "BYE\r\n");
			iostream_flush(ss->s);
			break;
		}
		for (size_t i = 0; i < line.len; i++) {
			char c = line.data[i];
			iostream_write(ss->s, c >= 'a' && c <= 'z' ? &(char){(char)(c - 32)} : &c,
			               1);
		}
		iostream_write_str(ss->s, "\r\n");
		if (iostream_pending(ss->s) == 0)
			iostream_flush(ss->s);
	}
	return NULL;
}

/* Start a server side on one end of a new socketpair; returns the client fd. */
static int start_server(struct server_side *ss, struct tls_ctx *ctx, bool starttls)
{
	int sv[2];

	memset(ss, 0, sizeof(*ss));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ss->s = iostream_create(sv[0]);
	iostream_set_timeouts(ss->s, 5000, 5000);
	ss->ctx = ctx;
	ss->starttls = starttls;
	return sv[1];
}

static void run_server(struct server_side *ss)
{
	ck_assert_int_eq(pthread_create(&ss->tid, NULL, server_main, ss), 0);
}

static void end_server(struct server_side *ss)
{
	pthread_join(ss->tid, NULL);
	iostream_destroy(&ss->s);
}

static void expect_line(struct iostream *s, const char *want)
{
	struct iostream_line line;
	enum iostream_status st = iostream_read_line(s, 1000, &line);

	ck_assert_msg(st == IOSTREAM_OK, "read: %s (%s)", iostream_status_name(st),
	              iostream_error(s));
	ck_assert_str_eq(line.data, want);
}

/* Connect a client over fd; returns the stream or NULL with *error_r. */
static struct iostream *client_connect(int fd, struct tls_ctx *ctx, const char *name,
                                       const char **error_r)
{
	struct iostream *c = iostream_create(fd);
	size_t discarded = 99;

	iostream_set_timeouts(c, 5000, 5000);
	if (iostream_starttls_client(c, ctx, name, &discarded, error_r) < 0) {
		iostream_destroy(&c);
		return NULL;
	}
	ck_assert_uint_eq(discarded, 0);
	return c;
}

START_TEST(test_ctx_errors)
{
	struct tls_ctx *ctx = NULL;
	const char *error = NULL;

	make_certs();
	ck_assert_int_eq(tls_server_ctx_create("/nonexistent.crt", key_a, &ctx, &error), -1);
	ck_assert_ptr_null(ctx);
	ck_assert_msg(strstr(error, "/nonexistent.crt") != NULL, "%s", error);
	ck_assert_int_eq(tls_server_ctx_create(cert_a, key_b, &ctx, &error), -1);
	ck_assert_msg(strstr(error, "does not match") != NULL, "%s", error);
	ck_assert_int_eq(tls_server_ctx_create("", "", &ctx, &error), -1);
	/* A key is written private. */
	{
		struct stat st;
		ck_assert_int_eq(stat(key_a, &st), 0);
		ck_assert_int_eq(st.st_mode & 0777, 0600);
	}
	ctx = server_ctx(cert_a, key_a);
	ck_assert_msg(strstr(tls_ctx_description(ctx), "CN=a.test") != NULL, "%s",
	              tls_ctx_description(ctx));
	ck_assert(!tls_ctx_is_client(ctx));
	ck_assert_ptr_nonnull(tls_ctx_openssl(ctx));
	tls_ctx_unref(&ctx);
	ck_assert_ptr_null(ctx);
	tls_ctx_unref(&ctx);
	ck_assert_int_eq(tls_client_ctx_create("/nonexistent-ca.pem", true, &ctx, &error), -1);
	remove_certs();
}
END_TEST

START_TEST(test_handshake_and_lines)
{
	struct tls_ctx *sctx, *cctx;
	struct server_side ss;
	struct iostream *c;
	struct iostream_tls_info info;
	const char *error = NULL;
	int fd;

	make_certs();
	sctx = server_ctx(cert_a, key_a);
	cctx = client_ctx(cert_a, true); /* trusts a.test's own certificate */
	fd = start_server(&ss, sctx, false);
	run_server(&ss);
	c = client_connect(fd, cctx, "a.test", &error);
	ck_assert_msg(c != NULL, "%s", error);
	ck_assert(iostream_is_tls(c));
	ck_assert_int_eq(iostream_tls_info(c, &info), 0);
	ck_assert_msg(strncmp(info.version, "TLSv1.", 6) == 0, "%s", info.version);
	ck_assert_str_ne(info.cipher, "");
	ck_assert_int_ge(info.cipher_bits, 128);
	ck_assert(info.peer_cert);
	ck_assert(info.peer_verified);
	ck_assert_msg(strstr(info.peer_subject, "CN=a.test") != NULL, "%s", info.peer_subject);

	/* Lines both ways, several in one flush (pipelining over TLS). */
	iostream_write_str(c, "hello\r\nworld\nthird\r\n");
	ck_assert_int_eq(iostream_flush(c), IOSTREAM_OK);
	expect_line(c, "HELLO");
	expect_line(c, "WORLD");
	expect_line(c, "THIRD");
	iostream_write_str(c, "QUIT\r\n");
	iostream_flush(c);
	expect_line(c, "BYE");
	end_server(&ss);
	ck_assert_int_eq(ss.ret, 0);
	ck_assert_uint_eq(ss.discarded, 0);
	/* The server closed with close_notify: a clean EOF. */
	{
		struct iostream_line line;
		ck_assert_int_eq(iostream_read_line(c, 100, &line), IOSTREAM_EOF);
	}
	iostream_destroy(&c);
	tls_ctx_unref(&sctx);
	tls_ctx_unref(&cctx);
	remove_certs();
}
END_TEST

START_TEST(test_verify)
{
	struct tls_ctx *sctx, *cverify, *cloose;
	struct server_side ss;
	struct iostream *c;
	struct iostream_tls_info info;
	const char *error = NULL;
	int fd;

	make_certs();
	sctx = server_ctx(cert_a, key_a);
	cverify = client_ctx(cert_a, true);
	cloose = client_ctx(cert_b, false); /* trusts only b.test */

	/* Wrong name with verification: the client refuses. */
	fd = start_server(&ss, sctx, false);
	run_server(&ss);
	c = client_connect(fd, cverify, "other.test", &error);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(error, "verif") != NULL, "%s", error);
	end_server(&ss);
	ck_assert_int_eq(ss.ret, -1);

	/* Untrusted without verification: goes on, reported unverified. */
	fd = start_server(&ss, sctx, false);
	run_server(&ss);
	c = client_connect(fd, cloose, "a.test", &error);
	ck_assert_msg(c != NULL, "%s", error);
	ck_assert_int_eq(iostream_tls_info(c, &info), 0);
	ck_assert(info.peer_cert);
	ck_assert(!info.peer_verified);
	iostream_write_str(c, "QUIT\r\n");
	iostream_flush(c);
	expect_line(c, "BYE");
	iostream_destroy(&c);
	end_server(&ss);

	/* A client context cannot serve. */
	{
		struct iostream *s = NULL;
		int sv[2];
		size_t d;

		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		s = iostream_create(sv[0]);
		ck_assert_int_eq(iostream_starttls_server(s, cloose, &d, &error), -1);
		ck_assert_int_eq(iostream_tls_info(s, &info), -1);
		iostream_destroy(&s);
		close(sv[1]);
	}
	tls_ctx_unref(&sctx);
	tls_ctx_unref(&cverify);
	tls_ctx_unref(&cloose);
	remove_certs();
}
END_TEST

START_TEST(test_starttls_discards_pipelined)
{
	struct tls_ctx *sctx, *cctx;
	struct server_side ss;
	struct iostream *c;
	const char *error = NULL;
	size_t discarded = 0;
	int fd;

	make_certs();
	sctx = server_ctx(cert_a, key_a);
	cctx = client_ctx(cert_a, true);
	fd = start_server(&ss, sctx, true);
	ss.junk_after = true;
	c = iostream_create(fd);
	iostream_set_timeouts(c, 5000, 5000);
	/* The attack of RFC 3207 5 / CVE-2011-0411: a command pipelined in
	 * plaintext after STARTTLS, in the same packet, before the server runs. */
	iostream_write_str(c, "STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n");
	ck_assert_int_eq(iostream_flush(c), IOSTREAM_OK);
	run_server(&ss);
	expect_line(c, "220 2.0.0 Ready to start TLS");
	/* Give the server's injected line time to arrive in our buffer. */
	usleep(100000);
	ck_assert_uint_gt(iostream_pending(c), 0);
	ck_assert_msg(iostream_starttls_client(c, cctx, "a.test", &discarded, &error) == 0, "%s",
	              error);
	ck_assert_uint_eq(discarded, strlen("250 injected\r\n"));
	iostream_write_str(c, "ehlo client\r\n");
	iostream_flush(c);
	expect_line(c, "EHLO CLIENT");
	iostream_write_str(c, "QUIT\r\n");
	iostream_flush(c);
	expect_line(c, "BYE");
	end_server(&ss);
	ck_assert_int_eq(ss.ret, 0);
	ck_assert_uint_eq(ss.discarded, strlen("MAIL FROM:<evil@example.org>\r\n"));
	ck_assert_str_eq(ss.first_line, "ehlo client");
	iostream_destroy(&c);
	tls_ctx_unref(&sctx);
	tls_ctx_unref(&cctx);
	remove_certs();
}
END_TEST

START_TEST(test_handshake_failures)
{
	struct tls_ctx *sctx;
	struct server_side ss;
	struct iostream_line line;
	int fd;
	int64_t t0;

	make_certs();
	sctx = server_ctx(cert_a, key_a);

	/* Plaintext where a ClientHello should be. */
	fd = start_server(&ss, sctx, false);
	run_server(&ss);
	ck_assert_int_eq(write(fd, "EHLO plain\r\n\r\n\r\n\r\n", 18), 18);
	end_server(&ss);
	ck_assert_int_eq(ss.ret, -1);
	ck_assert_msg(strstr(ss.error, "TLS handshake failed") != NULL, "%s", ss.error);
	close(fd);

	/* A silent client: the handshake ends at the read timeout. */
	fd = start_server(&ss, sctx, false);
	iostream_set_timeouts(ss.s, 200, 200);
	t0 = monotonic_ms();
	run_server(&ss);
	pthread_join(ss.tid, NULL);
	ck_assert_int_eq(ss.ret, -1);
	ck_assert_int_ge(monotonic_ms() - t0, 190);
	ck_assert_msg(strstr(ss.error, "timed out") != NULL, "%s", ss.error);
	/* After a failed handshake the stream refuses everything. */
	ck_assert_int_eq(iostream_read_line(ss.s, 100, &line), IOSTREAM_ERROR);
	ck_assert_int_eq(iostream_write_str(ss.s, "x"), IOSTREAM_OK);
	ck_assert_int_eq(iostream_flush(ss.s), IOSTREAM_ERROR);
	iostream_destroy(&ss.s);
	close(fd);
	tls_ctx_unref(&sctx);
	remove_certs();
}
END_TEST

/* Bulk data both ways through TLS over small socket buffers, so that
 * WANT_READ and WANT_WRITE come up on both sides. */
struct bulk {
	struct iostream *s;
	struct tls_ctx *ctx;
	size_t n;
	int ret;
	bool read_ok, write_ok;
};

static void fill_pattern(char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(i % 251);
}

static bool check_pattern(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] != (char)(i % 251))
			return false;
	}
	return true;
}

static void *bulk_server(void *arg)
{
	struct bulk *b = arg;
	const char *error;
	size_t d;
	char *buf = xmalloc(b->n);

	b->ret = iostream_starttls_server(b->s, b->ctx, &d, &error);
	if (b->ret == 0) {
		b->read_ok =
		    iostream_read_exact(b->s, buf, b->n) == IOSTREAM_OK && check_pattern(buf, b->n);
		b->write_ok = iostream_write(b->s, buf, b->n) == IOSTREAM_OK &&
		              iostream_flush(b->s) == IOSTREAM_OK;
	}
	free(buf);
	return NULL;
}

START_TEST(test_bulk)
{
	struct tls_ctx *sctx, *cctx;
	struct iostream *c;
	struct bulk b;
	pthread_t tid;
	const char *error = NULL;
	size_t n = 3 * 1024 * 1024;
	char *data = xmalloc(n), *back = xmalloc(n);
	int sv[2], small = 8192;

	make_certs();
	sctx = server_ctx(cert_a, key_a);
	cctx = client_ctx(NULL, false);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	memset(&b, 0, sizeof(b));
	b.s = iostream_create(sv[0]);
	iostream_set_timeouts(b.s, 20000, 20000);
	b.ctx = sctx;
	b.n = n;
	pthread_create(&tid, NULL, bulk_server, &b);
	c = client_connect(sv[1], cctx, NULL, &error);
	ck_assert_msg(c != NULL, "%s", error);
	fill_pattern(data, n);
	ck_assert_int_eq(iostream_write(c, data, n), IOSTREAM_OK);
	ck_assert_int_eq(iostream_flush(c), IOSTREAM_OK);
	ck_assert_int_eq(iostream_read_exact(c, back, n), IOSTREAM_OK);
	ck_assert(check_pattern(back, n));
	pthread_join(tid, NULL);
	ck_assert_int_eq(b.ret, 0);
	ck_assert(b.read_ok);
	ck_assert(b.write_ok);
	iostream_destroy(&b.s);
	iostream_destroy(&c);
	tls_ctx_unref(&sctx);
	tls_ctx_unref(&cctx);
	free(data);
	free(back);
	remove_certs();
}
END_TEST

/* A session from the holder's current context; checks the CN the client sees. */
static struct iostream *holder_session(struct tls_holder *h, struct tls_ctx *cctx,
                                       struct server_side *ss, const char *want_cn)
{
	struct tls_ctx *ctx = tls_holder_get(h);
	struct iostream_tls_info info;
	const char *error = NULL;
	struct iostream *c;
	int fd;

	fd = start_server(ss, ctx, false);
	run_server(ss);
	c = client_connect(fd, cctx, NULL, &error);
	ck_assert_msg(c != NULL, "%s", error);
	/* The session keeps its context alive without this reference. */
	tls_ctx_unref(&ctx);
	ck_assert_int_eq(iostream_tls_info(c, &info), 0);
	ck_assert_msg(strstr(info.peer_subject, want_cn) != NULL, "got %s, want %s",
	              info.peer_subject, want_cn);
	return c;
}

static void session_end(struct iostream *c, struct server_side *ss)
{
	iostream_write_str(c, "QUIT\r\n");
	iostream_flush(c);
	expect_line(c, "BYE");
	end_server(ss);
	iostream_destroy(&c);
}

START_TEST(test_reload)
{
	struct tls_holder *h = NULL;
	struct tls_ctx *cctx;
	struct server_side s1, s2, s3;
	struct iostream *c1, *c2, *c3;
	const char *error = NULL;

	make_certs();
	cctx = client_ctx(NULL, false);
	ck_assert_msg(tls_holder_create(cert_a, key_a, &h, &error) == 0, "%s", error);
	c1 = holder_session(h, cctx, &s1, "CN=a.test");
	iostream_write_str(c1, "before\r\n");
	iostream_flush(c1);
	expect_line(c1, "BEFORE");

	/* New certificate: the running session goes on untouched. */
	ck_assert_msg(tls_holder_reload(h, cert_b, key_b, &error) == 0, "%s", error);
	iostream_write_str(c1, "after\r\n");
	iostream_flush(c1);
	expect_line(c1, "AFTER");
	c2 = holder_session(h, cctx, &s2, "CN=b.test");
	session_end(c2, &s2);

	/* A failed reload leaves the current context and paths in place. */
	ck_assert_int_eq(tls_holder_reload(h, "/nonexistent.crt", NULL, &error), -1);
	ck_assert_msg(strstr(error, "/nonexistent.crt") != NULL, "%s", error);
	ck_assert_int_eq(tls_holder_reload(h, cert_b, key_a, &error), -1);
	c2 = holder_session(h, cctx, &s2, "CN=b.test");
	session_end(c2, &s2);

	/* A renewed certificate at the same paths (SIGHUP after a renewal). */
	ck_assert_msg(tls_selfsigned_write(cert_b, key_b, "c.test", 2, &error) == 0, "%s", error);
	ck_assert_msg(tls_holder_reload(h, NULL, NULL, &error) == 0, "%s", error);
	c3 = holder_session(h, cctx, &s3, "CN=c.test");
	session_end(c3, &s3);

	/* The first session outlives even the holder. */
	tls_holder_destroy(&h);
	ck_assert_ptr_null(h);
	iostream_write_str(c1, "still\r\n");
	iostream_flush(c1);
	expect_line(c1, "STILL");
	session_end(c1, &s1);
	tls_ctx_unref(&cctx);
	remove_certs();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_ctx_errors);
	tcase_add_test(tc, test_handshake_and_lines);
	tcase_add_test(tc, test_verify);
	tcase_add_test(tc, test_starttls_discards_pipelined);
	tcase_add_test(tc, test_handshake_failures);
	tcase_add_test(tc, test_bulk);
	tcase_add_test(tc, test_reload);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
