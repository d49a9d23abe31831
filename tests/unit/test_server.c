/*
 * test_server.c: the server core with real sockets: an echo handler on
 * 127.0.0.1:0, [::1]:0 and a UNIX socket, many concurrent clients, the caps
 * per daemon and per client IP with the refusal callback, an implicit TLS
 * listener, UNIX socket files (stale, in use, mode, removal), listener
 * parsing, and, in forked children, SIGTERM's grace period, SIGHUP reload
 * and the privilege drop.
 */
#include "iostream.h"
#include "server.h"
#include "tls.h"
#include "util.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int refusals;
static atomic_int last_refusal;
static atomic_int reloads;

static void echo_handler(struct server_conn *conn)
{
	struct iostream *s = conn->stream;
	struct iostream_line line;
	struct iostream_tls_info info;

	iostream_printf(s, "HELLO %s\r\n", conn->session_id);
	iostream_flush(s);
	for (;;) {
		enum iostream_status st = iostream_read_line(s, 200, &line);

		if (st == IOSTREAM_INTERRUPTED) {
			iostream_write_str(s, "BYE stopping\r\n");
			iostream_flush(s);
			return;
		}
		if (st != IOSTREAM_OK)
			return;
		if (strcmp(line.data, "QUIT") == 0) {
			iostream_write_str(s, "BYE\r\n");
			iostream_flush(s);
			return;
		} else if (strcmp(line.data, "INFO") == 0) {
			iostream_printf(
			    s, "INFO ip=%s loopback=%d unix=%d uid=%ld listener=%s tls=%d\r\n",
			    conn->peer_ip, conn->peer_loopback, conn->is_unix,
			    conn->peer_uid == (uid_t)-1 ? -1L : (long)conn->peer_uid,
			    conn->listener->name, iostream_tls_info(s, &info) == 0);
		} else if (strcmp(line.data, "HOLD") == 0) {
			/* A transfer in progress: not interrupted by a stop. */
			char buf[100];
			st = iostream_read_exact(s, buf, sizeof(buf));
			iostream_printf(s, "HELD %s\r\n", iostream_status_name(st));
			iostream_flush(s);
			return;
		} else if (strcmp(line.data, "RELOADS") == 0) {
			iostream_printf(s, "RELOADS %d\r\n", atomic_load(&reloads));
		} else if (strcmp(line.data, "STOPPING") == 0) {
			iostream_printf(s, "STOPPING %d\r\n", server_stopping(conn->server));
		} else {
			iostream_printf(s, "ECHO %s\r\n", line.data);
		}
		iostream_flush(s);
	}
}

static void refuse_cb(struct server_conn *conn, enum server_refusal why)
{
	atomic_fetch_add(&refusals, 1);
	atomic_store(&last_refusal, (int)why);
	iostream_write_str(conn->stream, why == SERVER_REFUSE_PER_IP
	                                     ? "421 4.7.0 Too many connections from your IP\r\n"
	                                     : "421 4.7.0 Too many connections\r\n");
}

static void reload_cb(struct server *srv, void *context)
{
	(void)srv;
	(void)context;
	atomic_fetch_add(&reloads, 1);
}

static struct server_config base_config(const struct server_listener_config *l, size_t n)
{
	struct server_config cfg = {
	    .name = "test",
	    .listeners = l,
	    .listener_count = n,
	    .max_connections = 100,
	    .read_timeout_ms = 10000,
	    .write_timeout_ms = 10000,
	    .grace_ms = 2000,
	    .handler = echo_handler,
	    .refuse = refuse_cb,
	    .reload = reload_cb,
	};
	signal(SIGPIPE, SIG_IGN);
	atomic_store(&refusals, 0);
	atomic_store(&reloads, 0);
	return cfg;
}

/* ---- a server in a thread of the test process ---- */

struct running {
	struct server *srv;
	pthread_t tid;
	int ret;
};

static void *run_main(void *arg)
{
	struct running *r = arg;

	r->ret = server_run(r->srv);
	return NULL;
}

static void start(struct running *r, const struct server_config *cfg)
{
	const char *error = NULL;

	memset(r, 0, sizeof(*r));
	ck_assert_msg(server_create(cfg, &r->srv, &error) == 0, "%s", error);
	ck_assert_int_eq(pthread_create(&r->tid, NULL, run_main, r), 0);
}

static void stop(struct running *r)
{
	server_stop(r->srv);
	pthread_join(r->tid, NULL);
	ck_assert_int_eq(r->ret, 0);
	server_destroy(&r->srv);
	ck_assert_ptr_null(r->srv);
}

static void wait_count(struct server *srv, unsigned int want)
{
	int64_t until = monotonic_ms() + 5000;

	while (server_connection_count(srv) != want && monotonic_ms() < until)
		usleep(10000);
	ck_assert_uint_eq(server_connection_count(srv), want);
}

/* ---- client helpers ---- */

static const char *read_line(struct iostream *c)
{
	static _Thread_local char buf[512];
	struct iostream_line line;
	enum iostream_status st = iostream_read_line(c, 500, &line);

	if (st != IOSTREAM_OK)
		snprintf(buf, sizeof(buf), "<%s>", iostream_status_name(st));
	else
		snprintf(buf, sizeof(buf), "%s", line.data);
	return buf;
}

static void send_line(struct iostream *c, const char *text)
{
	ck_assert_int_eq(iostream_printf(c, "%s\r\n", text), IOSTREAM_OK);
	ck_assert_int_eq(iostream_flush(c), IOSTREAM_OK);
}

static struct iostream *tcp_client(const char *host, unsigned int port)
{
	struct iostream *c = NULL;
	const char *error = NULL;
	char p[16];

	snprintf(p, sizeof(p), "%u", port);
	ck_assert_msg(iostream_connect_tcp(host, p, 5000, &c, &error) == 0, "%s", error);
	iostream_set_timeouts(c, 10000, 10000);
	return c;
}

/* Connect and expect the greeting. */
static struct iostream *greeted(const char *host, unsigned int port)
{
	struct iostream *c = tcp_client(host, port);
	const char *hello = read_line(c);

	ck_assert_msg(strncmp(hello, "HELLO ", 6) == 0, "got '%s'", hello);
	ck_assert_uint_eq(strlen(hello + 6), SERVER_SESSION_ID_LEN);
	return c;
}

static void quit(struct iostream **c)
{
	send_line(*c, "QUIT");
	ck_assert_str_eq(read_line(*c), "BYE");
	iostream_destroy(c);
}

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sluice-test-server-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* ---- tests ---- */

START_TEST(test_echo_tcp_and_unix)
{
	char path[128], want[256];
	struct server_listener_config l[] = {
	    {.name = "tcp", .address = "127.0.0.1", .port = "0"},
	    {.name = "local", .unix_path = path, .unix_mode = 0600},
	};
	struct server_config cfg = base_config(l, ARRAY_SIZE(l));
	struct running r;
	struct iostream *c;
	const char *error;
	struct stat st;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/echo.sock", tmpdir);
	start(&r, &cfg);
	ck_assert_uint_ne(server_listener_port(r.srv, 0), 0);
	ck_assert_uint_eq(server_listener_port(r.srv, 1), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0600);

	c = greeted("127.0.0.1", server_listener_port(r.srv, 0));
	send_line(c, "INFO");
	ck_assert_str_eq(read_line(c),
	                 "INFO ip=127.0.0.1 loopback=1 unix=0 uid=-1 listener=tcp tls=0");
	send_line(c, "hello world");
	ck_assert_str_eq(read_line(c), "ECHO hello world");
	quit(&c);

	ck_assert_msg(iostream_connect_unix(path, 5000, &c, &error) == 0, "%s", error);
	ck_assert_str_ne(read_line(c), "<eof>");
	send_line(c, "INFO");
	snprintf(want, sizeof(want), "INFO ip=unix loopback=0 unix=1 uid=%ld listener=local tls=0",
	         (long)getuid());
	ck_assert_str_eq(read_line(c), want);
	quit(&c);

	wait_count(r.srv, 0);
	stop(&r);
	/* The socket file went with the server. */
	ck_assert_int_eq(stat(path, &st), -1);
	rmdir(tmpdir);
}
END_TEST

struct client_job {
	unsigned int port;
	int id;
	bool ok;
};

static void *client_main(void *arg)
{
	struct client_job *j = arg;
	struct iostream *c = greeted("127.0.0.1", j->port);

	j->ok = true;
	for (int i = 0; i < 25 && j->ok; i++) {
		char msg[64], want[80];
		snprintf(msg, sizeof(msg), "client %d line %d", j->id, i);
		snprintf(want, sizeof(want), "ECHO %s", msg);
		send_line(c, msg);
		j->ok = strcmp(read_line(c), want) == 0;
	}
	quit(&c);
	return NULL;
}

START_TEST(test_many_clients)
{
	struct server_listener_config l[] = {{.name = "tcp", .address = "127.0.0.1", .port = "0"}};
	struct server_config cfg = base_config(l, 1);
	struct client_job jobs[40];
	pthread_t tids[ARRAY_SIZE(jobs)];
	struct running r;

	cfg.max_per_ip = ARRAY_SIZE(jobs);
	start(&r, &cfg);
	for (size_t i = 0; i < ARRAY_SIZE(jobs); i++) {
		jobs[i].port = server_listener_port(r.srv, 0);
		jobs[i].id = (int)i;
		ck_assert_int_eq(pthread_create(&tids[i], NULL, client_main, &jobs[i]), 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(jobs); i++) {
		pthread_join(tids[i], NULL);
		ck_assert_msg(jobs[i].ok, "client %zu got a wrong echo", i);
	}
	ck_assert_int_eq(atomic_load(&refusals), 0);
	wait_count(r.srv, 0);
	stop(&r);
}
END_TEST

START_TEST(test_per_ip_cap)
{
	struct server_listener_config l[] = {{.name = "tcp", .address = "127.0.0.1", .port = "0"}};
	struct server_config cfg = base_config(l, 1);
	struct iostream *c[3], *extra;
	struct running r;
	unsigned int port;

	cfg.max_per_ip = 3;
	start(&r, &cfg);
	port = server_listener_port(r.srv, 0);
	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		c[i] = greeted("127.0.0.1", port);
	wait_count(r.srv, 3);

	/* The fourth from the same address hears why and is closed. */
	extra = tcp_client("127.0.0.1", port);
	ck_assert_str_eq(read_line(extra), "421 4.7.0 Too many connections from your IP");
	ck_assert_str_eq(read_line(extra), "<eof>");
	iostream_destroy(&extra);
	ck_assert_int_eq(atomic_load(&refusals), 1);
	ck_assert_int_eq(atomic_load(&last_refusal), SERVER_REFUSE_PER_IP);

	/* One leaves; a newcomer is let in. */
	quit(&c[0]);
	wait_count(r.srv, 2);
	c[0] = greeted("127.0.0.1", port);
	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		quit(&c[i]);
	wait_count(r.srv, 0);
	stop(&r);
}
END_TEST

START_TEST(test_total_cap)
{
	char path[128];
	struct server_listener_config l[] = {
	    {.name = "tcp", .address = "127.0.0.1", .port = "0"},
	    {.name = "local", .unix_path = path},
	};
	struct server_config cfg = base_config(l, ARRAY_SIZE(l));
	struct iostream *a, *b, *extra;
	const char *error;
	struct running r;
	unsigned int port;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/cap.sock", tmpdir);
	cfg.max_connections = 2;
	cfg.max_per_ip = 1;
	start(&r, &cfg);
	port = server_listener_port(r.srv, 0);
	a = greeted("127.0.0.1", port);
	/* UNIX peers are not capped per IP, only in total. */
	ck_assert_msg(iostream_connect_unix(path, 5000, &b, &error) == 0, "%s", error);
	ck_assert_str_ne(read_line(b), "<eof>");
	wait_count(r.srv, 2);
	ck_assert_msg(iostream_connect_unix(path, 5000, &extra, &error) == 0, "%s", error);
	ck_assert_str_eq(read_line(extra), "421 4.7.0 Too many connections");
	iostream_destroy(&extra);
	ck_assert_int_eq(atomic_load(&last_refusal), SERVER_REFUSE_TOTAL);
	quit(&a);
	quit(&b);
	wait_count(r.srv, 0);
	stop(&r);
	rmdir(tmpdir);
}
END_TEST

START_TEST(test_implicit_tls)
{
	char cert[128], key[128];
	struct server_listener_config l[] = {
	    {.name = "tls", .address = "127.0.0.1", .port = "0", .implicit_tls = true},
	};
	struct server_config cfg = base_config(l, 1);
	struct tls_holder *holder;
	struct tls_ctx *cctx;
	struct iostream *c, *extra;
	const char *error = NULL;
	struct running r;
	size_t discarded;

	make_tmpdir();
	snprintf(cert, sizeof(cert), "%s/s.crt", tmpdir);
	snprintf(key, sizeof(key), "%s/s.key", tmpdir);
	ck_assert_msg(tls_selfsigned_write(cert, key, "mx.test", 2, &error) == 0, "%s", error);
	ck_assert_msg(tls_holder_create(cert, key, &holder, &error) == 0, "%s", error);
	ck_assert_msg(tls_client_ctx_create(cert, true, &cctx, &error) == 0, "%s", error);

	/* Without a certificate, a TLS listener is a configuration error. */
	ck_assert_int_eq(server_create(&cfg, &r.srv, &error), -1);
	ck_assert_ptr_null(r.srv);

	cfg.tls = holder;
	cfg.max_connections = 1;
	start(&r, &cfg);
	c = tcp_client("127.0.0.1", server_listener_port(r.srv, 0));
	ck_assert_msg(iostream_starttls_client(c, cctx, "mx.test", &discarded, &error) == 0, "%s",
	              error);
	ck_assert_str_ne(read_line(c), "<eof>");
	send_line(c, "INFO");
	ck_assert_str_eq(read_line(c),
	                 "INFO ip=127.0.0.1 loopback=1 unix=0 uid=-1 listener=tls tls=1");

	/* Over the cap on a TLS listener: closed without a word (no plaintext
	 * reply can be sent before a handshake), and no refusal callback. */
	extra = tcp_client("127.0.0.1", server_listener_port(r.srv, 0));
	ck_assert_int_eq(iostream_starttls_client(extra, cctx, "mx.test", &discarded, &error), -1);
	iostream_destroy(&extra);
	ck_assert_int_eq(atomic_load(&refusals), 0);

	/* A plaintext client on the TLS port gets nothing to read. */
	quit(&c);
	wait_count(r.srv, 0);
	c = tcp_client("127.0.0.1", server_listener_port(r.srv, 0));
	send_line(c, "INFO");
	{
		/* Closed, or reset since the server left our line unread. */
		const char *got = read_line(c);
		ck_assert_msg(strcmp(got, "<eof>") == 0 || strcmp(got, "<error>") == 0, "got %s",
		              got);
	}
	iostream_destroy(&c);

	stop(&r);
	tls_ctx_unref(&cctx);
	tls_holder_destroy(&holder);
	unlink(cert);
	unlink(key);
	rmdir(tmpdir);
}
END_TEST

static bool have_ipv6_loopback(void)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

START_TEST(test_ipv6_and_any)
{
	struct server_listener_config l[] = {{.name = "any", .address = "*", .port = "0"}};
	struct server_config cfg = base_config(l, 1);
	struct running r;
	struct iostream *c;

	if (!have_ipv6_loopback()) {
		/* IPv6 is disabled here: "*" must still serve IPv4. */
		start(&r, &cfg);
		c = greeted("127.0.0.1", server_listener_port(r.srv, 0));
		quit(&c);
		stop(&r);
		return;
	}
	start(&r, &cfg);
	/* "*" is two sockets, IPv6-only and IPv4, on one port. */
	c = greeted("::1", server_listener_port(r.srv, 0));
	send_line(c, "INFO");
	ck_assert_str_eq(read_line(c), "INFO ip=::1 loopback=1 unix=0 uid=-1 listener=any tls=0");
	quit(&c);
	c = greeted("127.0.0.1", server_listener_port(r.srv, 0));
	send_line(c, "INFO");
	ck_assert_str_eq(read_line(c),
	                 "INFO ip=127.0.0.1 loopback=1 unix=0 uid=-1 listener=any tls=0");
	quit(&c);
	stop(&r);
}
END_TEST

/* Bind a UNIX socket at path and leave it as a process would at a crash. */
static int make_socket_file(const char *path, bool listening)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (listening)
		ck_assert_int_eq(listen(fd, 1), 0);
	return fd;
}

START_TEST(test_unix_socket_files)
{
	char path[128];
	struct server_listener_config l[] = {{.name = "local", .unix_path = path}};
	struct server_config cfg = base_config(l, 1);
	struct server *srv = NULL;
	const char *error = NULL;
	struct stat st;
	int fd;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/s.sock", tmpdir);

	/* A stale socket (nobody listening) is replaced. */
	fd = make_socket_file(path, false);
	close(fd);
	ck_assert_msg(server_create(&cfg, &srv, &error) == 0, "%s", error);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0660);
	server_destroy(&srv);
	ck_assert_int_eq(stat(path, &st), -1);

	/* A live one belongs to someone else. */
	fd = make_socket_file(path, true);
	ck_assert_int_eq(server_create(&cfg, &srv, &error), -1);
	ck_assert_msg(strstr(error, "in use") != NULL, "%s", error);
	close(fd);
	unlink(path);

	/* Not a socket: never removed. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	ck_assert_int_eq(server_create(&cfg, &srv, &error), -1);
	ck_assert_msg(strstr(error, "not a socket") != NULL, "%s", error);
	ck_assert_int_eq(stat(path, &st), 0);
	unlink(path);

	/* A newer instance's socket is not removed by the old one. */
	ck_assert_msg(server_create(&cfg, &srv, &error) == 0, "%s", error);
	unlink(path);
	fd = make_socket_file(path, false);
	server_destroy(&srv);
	ck_assert_int_eq(stat(path, &st), 0);
	close(fd);
	unlink(path);
	rmdir(tmpdir);
}
END_TEST

START_TEST(test_config_errors)
{
	struct server_listener_config l[] = {{.name = "tcp", .address = "127.0.0.1", .port = "x"}};
	struct server_listener_config l2[] = {{.name = "tcp", .address = "127.0.0.1", .port = "0"},
	                                      {.name = "tcp2", .address = "127.0.0.1"}};
	struct server_config cfg = base_config(l, 1);
	struct server *srv = NULL;
	const char *error = NULL;
	int fd;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	char port[16];

	ck_assert_int_eq(server_create(&cfg, &srv, &error), -1);
	ck_assert_msg(strstr(error, "port") != NULL, "%s", error);
	cfg.max_connections = 0;
	ck_assert_int_eq(server_create(&cfg, &srv, &error), -1);
	/* A failure in the second listener closes the first. */
	cfg = base_config(l2, 2);
	ck_assert_int_eq(server_create(&cfg, &srv, &error), -1);
	ck_assert_ptr_null(srv);

	/* A port in use. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	listen(fd, 1);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	snprintf(port, sizeof(port), "%u", ntohs(sin.sin_port));
	l[0].port = port;
	cfg = base_config(l, 1);
	ck_assert_int_eq(server_create(&cfg, &srv, &error), -1);
	ck_assert_msg(strstr(error, "in use") != NULL, "%s", error);
	close(fd);
}
END_TEST

START_TEST(test_listeners_parse)
{
	struct server_listener_list list = {0};
	const char *error = NULL;

	ck_assert_msg(server_listeners_parse("0.0.0.0:25 [::]:25, *:587 2525 /run/x.sock", "smtp",
	                                     false, 0660, &list, &error) == 0,
	              "%s", error);
	ck_assert_msg(
	    server_listeners_parse("[2001:db8::1]:465", "smtps", true, 0, &list, &error) == 0, "%s",
	    error);
	ck_assert_uint_eq(list.count, 6);
	ck_assert_str_eq(list.items[0].address, "0.0.0.0");
	ck_assert_str_eq(list.items[0].port, "25");
	ck_assert_str_eq(list.items[0].name, "smtp");
	ck_assert_str_eq(list.items[1].address, "::");
	ck_assert_str_eq(list.items[2].address, "*");
	ck_assert_str_eq(list.items[2].port, "587");
	ck_assert_str_eq(list.items[3].address, "*");
	ck_assert_str_eq(list.items[3].port, "2525");
	ck_assert_str_eq(list.items[4].unix_path, "/run/x.sock");
	ck_assert_int_eq(list.items[4].unix_mode, 0660);
	ck_assert(!list.items[4].implicit_tls);
	ck_assert_str_eq(list.items[5].address, "2001:db8::1");
	ck_assert_str_eq(list.items[5].name, "smtps");
	ck_assert(list.items[5].implicit_tls);
	server_listener_list_free(&list);
	ck_assert_uint_eq(list.count, 0);

	static const char *const bad[] = {
	    "::1:25",        "[::1]25",         "[::1]",      "1.2.3.4:",
	    "1.2.3.4:99999", "host.example:25", "1.2.3.4:2x",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_msg(server_listeners_parse(bad[i], "x", false, 0, &list, &error) == -1,
		              "'%s' accepted", bad[i]);
		server_listener_list_free(&list);
	}
}
END_TEST

/* ---- signals, in a forked child running the server ---- */

struct child {
	pid_t pid;
	unsigned int port;
};

static void fork_server(struct child *ch, int grace_ms)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ch->pid = fork();
	ck_assert_int_ge(ch->pid, 0);
	if (ch->pid == 0) {
		struct server_listener_config l[] = {
		    {.name = "tcp", .address = "127.0.0.1", .port = "0"}};
		struct server_config cfg = base_config(l, 1);
		struct server *srv;
		const char *error;
		unsigned int port;
		int ret;

		close(p[0]);
		cfg.grace_ms = grace_ms;
		if (server_create(&cfg, &srv, &error) < 0)
			_exit(2);
		port = server_listener_port(srv, 0);
		if (write(p[1], &port, sizeof(port)) != sizeof(port))
			_exit(2);
		close(p[1]);
		ret = server_run(srv);
		server_destroy(&srv);
		exit(ret == 0 ? 0 : 3);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &ch->port, sizeof(ch->port)), sizeof(ch->port));
	close(p[0]);
}

/* Wait for the child; returns its exit status, or -1 on a timeout. */
static int reap(struct child *ch, int timeout_ms)
{
	int64_t until = monotonic_ms() + timeout_ms;
	int status;

	while (monotonic_ms() < until) {
		pid_t r = waitpid(ch->pid, &status, WNOHANG);
		if (r == ch->pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(10000);
	}
	kill(ch->pid, SIGKILL);
	waitpid(ch->pid, &status, 0);
	return -1;
}

START_TEST(test_sigterm_grace)
{
	struct child ch;
	struct iostream *idle, *busy, *late = NULL;
	const char *error;
	char port[16];
	int64_t t0, t_bye;
	int status;

	fork_server(&ch, 1500);
	idle = greeted("127.0.0.1", ch.port);
	busy = greeted("127.0.0.1", ch.port);
	/* The busy session is inside a transfer: HOLD then 10 of 100 bytes. */
	ck_assert_int_eq(iostream_write_str(busy, "HOLD\r\n0123456789"), IOSTREAM_OK);
	ck_assert_int_eq(iostream_flush(busy), IOSTREAM_OK);
	usleep(200000);

	t0 = monotonic_ms();
	ck_assert_int_eq(kill(ch.pid, SIGTERM), 0);
	/* The idle session is woken at once and says goodbye. */
	ck_assert_str_eq(read_line(idle), "BYE stopping");
	t_bye = monotonic_ms() - t0;
	ck_assert_int_lt(t_bye, 1400);
	iostream_destroy(&idle);

	/* No new connections. */
	snprintf(port, sizeof(port), "%u", ch.port);
	ck_assert_int_eq(iostream_connect_tcp("127.0.0.1", port, 2000, &late, &error), -1);

	/* The transfer runs to the end of the grace period, then its socket
	 * is shut down both ways: the handler's read ends, and so does ours. */
	ck_assert_str_eq(read_line(busy), "<eof>");
	ck_assert_int_ge(monotonic_ms() - t0, 1400);
	iostream_destroy(&busy);
	status = reap(&ch, 10000);
	ck_assert_int_eq(status, 0);
	ck_assert_int_lt(monotonic_ms() - t0, 1500 + SERVER_HARD_STOP_MS);
}
END_TEST

START_TEST(test_sighup_and_hurry)
{
	struct child ch;
	struct iostream *c, *busy;
	int64_t t0, until;
	bool seen = false;

	fork_server(&ch, 30000);
	c = greeted("127.0.0.1", ch.port);
	send_line(c, "RELOADS");
	ck_assert_str_eq(read_line(c), "RELOADS 0");
	ck_assert_int_eq(kill(ch.pid, SIGHUP), 0);
	until = monotonic_ms() + 5000;
	while (!seen && monotonic_ms() < until) {
		send_line(c, "RELOADS");
		seen = strcmp(read_line(c), "RELOADS 1") == 0;
		if (!seen)
			usleep(20000);
	}
	ck_assert_msg(seen, "the reload callback did not run");
	/* The session lives on through the reload. */
	send_line(c, "STOPPING");
	ck_assert_str_eq(read_line(c), "STOPPING 0");
	quit(&c);

	/* A second SIGTERM cuts the 30 s grace period short. */
	busy = greeted("127.0.0.1", ch.port);
	ck_assert_int_eq(iostream_write_str(busy, "HOLD\r\n"), IOSTREAM_OK);
	ck_assert_int_eq(iostream_flush(busy), IOSTREAM_OK);
	usleep(200000);
	t0 = monotonic_ms();
	kill(ch.pid, SIGTERM);
	usleep(300000);
	kill(ch.pid, SIGTERM);
	ck_assert_str_eq(read_line(busy), "<eof>");
	iostream_destroy(&busy);
	ck_assert_int_eq(reap(&ch, 10000), 0);
	ck_assert_int_lt(monotonic_ms() - t0, 10000);
}
END_TEST

/* ---- privileges ---- */

START_TEST(test_privdrop)
{
	const char *error = NULL;
	struct passwd *pw = getpwnam("nobody");
	pid_t pid;
	int status;

	ck_assert_int_eq(server_drop_privileges(NULL, &error), 0);
	ck_assert_int_eq(server_drop_privileges("", &error), 0);
	ck_assert_int_eq(server_drop_privileges("no-such-user-sluice", &error), -1);
	ck_assert_msg(strstr(error, "unknown") != NULL, "%s", error);
	ck_assert_int_eq(server_drop_privileges("root", &error), -1);
	ck_assert_ptr_nonnull(pw);
	if (geteuid() != 0) {
		ck_assert_int_eq(server_drop_privileges("nobody", &error), -1);
		ck_assert_msg(strstr(error, "not started as root") != NULL, "%s", error);
		return;
	}

	/* As root, in a child: bind a UNIX socket, drop to nobody, and check
	 * that the socket was given to nobody and that root is gone for good. */
	make_tmpdir();
	ck_assert_int_eq(chmod(tmpdir, 0777), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char path[128];
		struct server_listener_config l[] = {{.name = "local", .unix_path = path}};
		struct server_config cfg = base_config(l, 1);
		struct server *srv;
		struct stat st;
		gid_t groups[64];
		int n;

		snprintf(path, sizeof(path), "%s/p.sock", tmpdir);
		cfg.run_user = "nobody";
		if (server_create(&cfg, &srv, &error) < 0)
			_exit(10);
		if (stat(path, &st) < 0 || st.st_uid != pw->pw_uid)
			_exit(11);
		if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid || getegid() != pw->pw_gid)
			_exit(12);
		if (setuid(0) != -1 || setgid(0) != -1)
			_exit(13);
		n = getgroups(ARRAY_SIZE(groups), groups);
		for (int i = 0; i < n; i++) {
			if (groups[i] == 0)
				_exit(14);
		}
		server_destroy(&srv);
		/* Removed even as nobody (the folder is world-writable here). */
		if (stat(path, &st) == 0)
			_exit(15);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	rmdir(tmpdir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_echo_tcp_and_unix);
	tcase_add_test(tc, test_many_clients);
	tcase_add_test(tc, test_per_ip_cap);
	tcase_add_test(tc, test_total_cap);
	tcase_add_test(tc, test_implicit_tls);
	tcase_add_test(tc, test_ipv6_and_any);
	tcase_add_test(tc, test_unix_socket_files);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_listeners_parse);
	tcase_add_test(tc, test_sigterm_grace);
	tcase_add_test(tc, test_sighup_and_hurry);
	tcase_add_test(tc, test_privdrop);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
