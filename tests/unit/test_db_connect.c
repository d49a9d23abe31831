/*
 * test_db_connect.c: lib/db.c without a PostgreSQL server: pool settings
 * taken from sluice.conf, and connecting to a port that refuses, to a host
 * that swallows the TCP handshake (a listener whose backlog is full drops
 * SYNs, like a black-holed address) and to a server that never answers, each
 * ending in a temporary failure within the deadline. The pool against a real
 * server is tested in tests/integration/test_db.py.
 */
#include "config.h"
#include "db.h"
#include "util.h"

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

START_TEST(test_settings_from_config)
{
	struct db_pool_settings set;
	struct config *cfg = config_defaults();
	const char *error = NULL;
	char path[] = "/tmp/sluice-test-db-XXXXXX";
	const char *text = "db_url = host=db1 dbname=sluice\n"
	                   "authd_db_url = host=db1 dbname=sluice user=authd\n"
	                   "db_pool_size = 9\ndb_connect_timeout = 2s\n"
	                   "db_query_timeout = 1500ms\ndb_wait_timeout = 1m\n";
	int fd;

	db_pool_settings_from_config(&set, cfg, "authd");
	ck_assert_str_eq(set.conninfo, "dbname=sluice");
	ck_assert_uint_eq(set.size, 4);
	ck_assert_int_eq(set.connect_timeout_ms, 5000);
	ck_assert_int_eq(set.query_timeout_ms, 10000);
	ck_assert_int_eq(set.wait_timeout_ms, 5000);
	ck_assert_str_eq(set.application_name, "authd");
	config_free(&cfg);

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_int_eq(config_load(path, 0, &cfg, &error), 0);
	unlink(path);
	/* the program's own URL when set */
	db_pool_settings_from_config(&set, cfg, "authd");
	ck_assert_str_eq(set.conninfo, "host=db1 dbname=sluice user=authd");
	ck_assert_uint_eq(set.size, 9);
	ck_assert_int_eq(set.connect_timeout_ms, 2000);
	ck_assert_int_eq(set.query_timeout_ms, 1500);
	ck_assert_int_eq(set.wait_timeout_ms, 60000);
	/* declared but empty, or not declared at all: db_url */
	db_pool_settings_from_config(&set, cfg, "admin");
	ck_assert_str_eq(set.conninfo, "host=db1 dbname=sluice");
	db_pool_settings_from_config(&set, cfg, "nosuchprogram");
	ck_assert_str_eq(set.conninfo, "host=db1 dbname=sluice");
	db_pool_settings_from_config(&set, cfg, NULL);
	ck_assert_str_eq(set.conninfo, "host=db1 dbname=sluice");
	config_free(&cfg);
}
END_TEST

/* A TCP listener on 127.0.0.1 with an ephemeral port; *port_r set. */
static int listener(int backlog, unsigned int *port_r)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, backlog), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port_r = ntohs(sin.sin_port);
	return fd;
}

static struct db_pool *make_pool(unsigned int port, unsigned int size, int64_t connect_ms,
                                 int64_t wait_ms)
{
	struct db_pool_settings set;
	char conninfo[128];

	snprintf(conninfo, sizeof(conninfo),
	         "host=127.0.0.1 port=%u dbname=x user=x sslmode=disable", port);
	memset(&set, 0, sizeof(set));
	set.conninfo = conninfo;
	set.size = size;
	set.connect_timeout_ms = connect_ms;
	set.query_timeout_ms = 1000;
	set.wait_timeout_ms = wait_ms;
	set.application_name = "test";
	return db_pool_create(&set);
}

/* Acquire, expect a failure whose text holds `want`, and return how long it took. */
static int64_t acquire_fails(struct db_pool *pool, const char *want)
{
	int64_t start = monotonic_ms();
	const char *error = NULL;
	struct db_conn *conn = db_acquire(pool, &error);

	ck_assert_ptr_null(conn);
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(strstr(error, want) != NULL, "got '%s', want '%s'", error, want);
	return monotonic_ms() - start;
}

START_TEST(test_refused)
{
	unsigned int port;
	int fd = listener(1, &port);
	struct db_pool *pool;
	int64_t ms;

	close(fd); /* nothing listens on the port now */
	pool = make_pool(port, 2, 3000, 1000);
	ms = acquire_fails(pool, "cannot connect to PostgreSQL");
	ck_assert_msg(ms < 1000, "refused after %lld ms", (long long)ms);
	/* the failed slot was given back: the next try connects again, no pool wait */
	ms = acquire_fails(pool, "Connection refused");
	ck_assert_msg(ms < 1000, "refused after %lld ms", (long long)ms);
	db_pool_destroy(&pool);
	ck_assert_ptr_null(pool);
	db_pool_destroy(&pool);
}
END_TEST

struct acquire_thread {
	struct db_pool *pool;
	int64_t ms;
	char *error;
};

static void *acquire_in_thread(void *arg)
{
	struct acquire_thread *a = arg;
	int64_t start = monotonic_ms();
	const char *error = NULL;
	struct db_conn *conn = db_acquire(a->pool, &error);

	a->ms = monotonic_ms() - start;
	a->error = conn == NULL ? xstrdup(error) : NULL;
	db_release(&conn);
	return NULL;
}

START_TEST(test_syn_black_hole)
{
	unsigned int port, i;
	int fd = listener(0, &port), fillers[3];
	struct acquire_thread a = {0};
	struct db_pool *pool;
	pthread_t thread;
	int64_t ms;

	/* fill the accept queue, which makes the kernel drop further SYNs */
	for (i = 0; i < ARRAY_SIZE(fillers); i++) {
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons((uint16_t)port);
		fillers[i] = socket(AF_INET, SOCK_STREAM, 0);
		fcntl(fillers[i], F_SETFL, O_NONBLOCK);
		(void)connect(fillers[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(200000);

	pool = make_pool(port, 1, 600, 150);
	/* one thread hangs in the handshake; a second one waits only wait_timeout */
	a.pool = pool;
	ck_assert_int_eq(pthread_create(&thread, NULL, acquire_in_thread, &a), 0);
	usleep(100000);
	ms = acquire_fails(pool, "no free PostgreSQL connection within 150 ms");
	ck_assert_msg(ms >= 140 && ms < 500, "pool wait took %lld ms", (long long)ms);
	pthread_join(thread, NULL);
	ck_assert_ptr_nonnull(a.error);
	ck_assert_msg(strstr(a.error, "no answer within 600 ms") != NULL, "got '%s'", a.error);
	ck_assert_msg(a.ms >= 590 && a.ms < 1500, "connect took %lld ms", (long long)a.ms);
	free(a.error);
	db_pool_destroy(&pool);
	for (i = 0; i < ARRAY_SIZE(fillers); i++)
		close(fillers[i]);
	close(fd);
}
END_TEST

START_TEST(test_silent_server)
{
	unsigned int port;
	int fd = listener(16, &port);
	struct db_pool *pool = make_pool(port, 1, 400, 1000);
	int64_t ms;

	/* the handshake completes in the kernel; no startup reply ever comes */
	ms = acquire_fails(pool, "no answer within 400 ms");
	ck_assert_msg(ms >= 390 && ms < 1500, "took %lld ms", (long long)ms);
	db_pool_destroy(&pool);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("db_connect");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_settings_from_config);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_syn_black_hole);
	tcase_add_test(tc, test_silent_server);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
