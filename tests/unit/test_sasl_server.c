/*
 * test_sasl_server.c: SASL PLAIN and LOGIN through Cyrus SASL with the
 * password check answered by a fake sluice-authd on a UNIX socket (a thread
 * speaking docs/auth-protocol.md): right and wrong passwords, an unavailable
 * authd (TEMPFAIL, not FAIL), an authzid that differs from the login (refused),
 * unknown mechanisms, and the base64 helpers.
 */
#include "sasl_server.h"
#include "util.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char sock_path[108];
static int listen_fd = -1;
static pthread_t fake_thread;

/* Answers AUTH lines: password "secret" for user "bob@example.test" → OK, "down" → TEMPFAIL. */
static void *fake_authd(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		char buf[4096];
		ssize_t n;

		if (fd < 0)
			return NULL;
		if (write(fd, "VERSION\t1\n", 10) != 10) {
			close(fd);
			continue;
		}
		n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0) {
			char *f[7] = {0}, *p = buf, answer[256];
			int i = 0;

			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			while (i < 7 && (f[i] = strsep(&p, "\t")) != NULL)
				i++;
			if (i == 6 && strcmp(f[5], "192.0.2.1") == 0 && strcmp(f[4], "down") == 0)
				snprintf(answer, sizeof(answer), "TEMPFAIL\t%s\tdatabase\n", f[1]);
			else if (i == 6 && strcmp(f[3], "bob@example.test") == 0 &&
				 strcmp(f[4], "secret") == 0 && strcmp(f[2], "imap") == 0)
				snprintf(answer, sizeof(answer), "OK\t%s\tbob@example.test\n", f[1]);
			else
				snprintf(answer, sizeof(answer), "FAIL\t%s\n", i > 1 ? f[1] : "x");
			if (write(fd, answer, strlen(answer)) < 0)
				perror("write");
		}
		close(fd);
	}
}

static void setup(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *error = NULL;
	static int initialised;

	snprintf(sock_path, sizeof(sock_path), "/tmp/sluice-sasl-test-%d.sock", (int)getpid());
	unlink(sock_path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(listen_fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(listen_fd, 16), 0);
	pthread_create(&fake_thread, NULL, fake_authd, NULL);
	if (!initialised) {
		ck_assert_msg(sasl_server_setup(&error) == 0, "%s", error);
		initialised = 1;
	}
}

static void teardown(void)
{
	shutdown(listen_fd, SHUT_RDWR);
	close(listen_fd);
	pthread_join(fake_thread, NULL);
	unlink(sock_path);
}

static struct sasl_session *session(const char *ip)
{
	struct sasl_session_settings set = {
		.service = "imap", .auth_socket = sock_path, .auth_timeout_ms = 5000, .client_ip = ip};
	struct sasl_session *s = NULL;
	const char *error = NULL;

	ck_assert_msg(sasl_session_create(&set, &s, &error) == 0, "%s", error);
	return s;
}

START_TEST(test_plain)
{
	struct sasl_session *s = session("192.0.2.1");
	static const char good[] = "\0bob@example.test\0secret";
	static const char bad[] = "\0bob@example.test\0wrong";
	static const char other_authz[] = "alice@example.test\0bob@example.test\0secret";
	const char *out, *error;
	size_t out_len;

	ck_assert_str_eq(sasl_session_mechanisms(s), "PLAIN LOGIN");
	ck_assert_int_eq(sasl_session_start(s, "PLAIN", good, sizeof(good) - 1, &out, &out_len),
			 SASL_STEP_OK);
	ck_assert_str_eq(sasl_session_user(s), "bob@example.test");

	ck_assert_int_eq(sasl_session_reset(s, &error), 0);
	ck_assert_ptr_null(sasl_session_user(s));
	ck_assert_int_eq(sasl_session_start(s, "plain", bad, sizeof(bad) - 1, &out, &out_len),
			 SASL_STEP_FAIL);
	ck_assert_ptr_null(sasl_session_user(s));

	/* No initial response: an empty challenge, then the response. */
	ck_assert_int_eq(sasl_session_reset(s, &error), 0);
	ck_assert_int_eq(sasl_session_start(s, "PLAIN", NULL, 0, &out, &out_len),
			 SASL_STEP_CONTINUE);
	ck_assert_uint_eq(out_len, 0);
	ck_assert_int_eq(sasl_session_step(s, good, sizeof(good) - 1, &out, &out_len),
			 SASL_STEP_OK);

	/* Acting as someone else (an authzid) is refused. */
	ck_assert_int_eq(sasl_session_reset(s, &error), 0);
	ck_assert_int_eq(
		sasl_session_start(s, "PLAIN", other_authz, sizeof(other_authz) - 1, &out, &out_len),
		SASL_STEP_FAIL);

	/* Garbage responses fail cleanly. */
	ck_assert_int_eq(sasl_session_reset(s, &error), 0);
	ck_assert_int_eq(sasl_session_start(s, "PLAIN", "junk", 4, &out, &out_len), SASL_STEP_FAIL);

	ck_assert_int_eq(sasl_session_reset(s, &error), 0);
	ck_assert_int_eq(sasl_session_start(s, "CRAM-MD5", NULL, 0, &out, &out_len),
			 SASL_STEP_NOMECH);
	ck_assert_int_eq(sasl_session_start(s, "ANONYMOUS", "x", 1, &out, &out_len),
			 SASL_STEP_NOMECH);
	sasl_session_destroy(&s);
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_login)
{
	struct sasl_session *s = session(NULL);
	const char *out;
	size_t out_len;

	ck_assert_int_eq(sasl_session_start(s, "LOGIN", NULL, 0, &out, &out_len),
			 SASL_STEP_CONTINUE);
	ck_assert_int_eq(sasl_session_step(s, "bob@example.test", 16, &out, &out_len),
			 SASL_STEP_CONTINUE);
	ck_assert_int_eq(sasl_session_step(s, "secret", 6, &out, &out_len), SASL_STEP_OK);
	ck_assert_str_eq(sasl_session_user(s), "bob@example.test");
	sasl_session_destroy(&s);
}
END_TEST

START_TEST(test_tempfail)
{
	struct sasl_session *s = session("192.0.2.1");
	static const char down[] = "\0bob@example.test\0down";
	const char *out;
	size_t out_len;

	ck_assert_int_eq(sasl_session_start(s, "PLAIN", down, sizeof(down) - 1, &out, &out_len),
			 SASL_STEP_TEMPFAIL);
	sasl_session_destroy(&s);

	/* No authd at all: temporary, never a rejection. */
	struct sasl_session_settings set = {.service = "imap",
					    .auth_socket = "/nonexistent/auth.sock",
					    .auth_timeout_ms = 1000};
	static const char good[] = "\0bob@example.test\0secret";
	const char *error;
	ck_assert_int_eq(sasl_session_create(&set, &s, &error), 0);
	ck_assert_int_eq(sasl_session_start(s, "PLAIN", good, sizeof(good) - 1, &out, &out_len),
			 SASL_STEP_TEMPFAIL);
	sasl_session_destroy(&s);
}
END_TEST

START_TEST(test_base64)
{
	struct sbuf b = {0};

	sasl_base64_encode("\0bob\0pw", 7, &b);
	ck_assert_str_eq(sbuf_str(&b), "AGJvYgBwdw==");
	sbuf_reset(&b);
	ck_assert_int_eq(sasl_base64_decode("AGJvYgBwdw==", 12, &b), 0);
	ck_assert_uint_eq(b.len, 7);
	ck_assert_int_eq(memcmp(b.data, "\0bob\0pw", 7), 0);
	sbuf_reset(&b);
	ck_assert_int_eq(sasl_base64_decode("", 0, &b), 0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(sasl_base64_decode("A*==", 4, &b), -1);
	ck_assert_int_eq(sasl_base64_decode("AGJvYgBwdw", 10, &b), -1);
	sbuf_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sasl_server");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_plain);
	tcase_add_test(tc, test_login);
	tcase_add_test(tc, test_tempfail);
	tcase_add_test(tc, test_base64);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
