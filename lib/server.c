/*
 * server.c: the server core's main loop (see server.h): accepting, the caps
 * per daemon and per client IP, one detached thread per connection, and the
 * signals (SIGHUP reload, SIGTERM/SIGINT graceful stop, SIGPIPE ignored).
 *
 * The main thread owns the listeners and runs the reload callback; signal
 * handlers only write a byte to a pipe the main loop polls. Connection
 * threads start with those signals blocked and write nothing shared but the
 * counters and the list of open connections, under srv->lock; that list lets
 * the main thread shut down the sockets of sessions still open when the grace
 * period ends. Binding is in server_listen.c, what a connection is (its
 * addresses, id and per-client key) in server_conn.c, the privilege drop in
 * server_privdrop.c.
 */
#include "iostream.h"
#include "log.h"
#include "server_internal.h"
#include "tls.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Connections accepted from one listener per poll round, for fairness. */
#define ACCEPT_BATCH 64
/* How long accepting pauses when out of fds or memory. */
#define ACCEPT_PAUSE_MS 100
/* Refusals are logged at most once per this interval, with a count. */
#define REFUSAL_LOG_INTERVAL_MS 1000

/* Bytes on the wake pipe besides signal numbers. */
#define WAKE_STOP 200
#define WAKE_CONN_END 201

struct conn_priv {
	struct server_conn pub; /* first: a server_conn pointer is a conn_priv pointer */
	struct conn_priv *prev, *next;
	struct server_ip_key key;
	bool per_ip;
};

struct server {
	struct server_config cfg; /* cfg.listeners unused: see listeners */
	char *name;
	char *run_user;
	struct server_listener *listeners;
	size_t nlisteners;

	int wake_pipe[2]; /* signals and session ends wake the main loop */
	int stop_pipe[2]; /* write end closed at stop: read end readable for all */
	atomic_bool stopping;

	pthread_mutex_t lock; /* guards what follows */
	unsigned int active;
	struct conn_priv *conns;
	struct server_ip_table per_ip;

	/* Main thread only. */
	bool threads_left;
	int64_t accept_pause_until;
	int64_t refusal_logged_ms;
	unsigned int refusals_unlogged;
};

/* The wake pipe of the running server, for the signal handler. */
static volatile int signal_wake_fd = -1;

static void on_signal(int signo)
{
	int saved = errno;
	unsigned char b = (unsigned char)signo;
	ssize_t r = write(signal_wake_fd, &b, 1);

	(void)r;
	errno = saved;
}

static void wake(struct server *srv, unsigned char what)
{
	ssize_t r = write(srv->wake_pipe[1], &what, 1);

	(void)r; /* a full pipe already wakes the loop */
}

/* Undo what accounting did for c; the caller holds the lock. */
static void conn_unlink(struct server *srv, struct conn_priv *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (srv->conns == c)
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* ---- connections ---- */

static const char *refusal_text(enum server_refusal why)
{
	return why == SERVER_REFUSE_TOTAL ? "too many connections"
	                                  : "too many connections from this client";
}

/* Tell the client why (without waiting), log with a rate limit, close. */
static void refuse(struct server *srv, struct conn_priv *c, enum server_refusal why)
{
	struct server_conn *conn = &c->pub;
	int64_t now = monotonic_ms();

	iostream_set_timeouts(conn->stream, 0, 0);
	if (srv->cfg.refuse != NULL && !conn->listener->implicit_tls) {
		srv->cfg.refuse(conn, why);
		(void)iostream_flush(conn->stream);
	}
	if (now - srv->refusal_logged_ms >= REFUSAL_LOG_INTERVAL_MS) {
		if (srv->refusals_unlogged > 0)
			log_info("refused connection from %s on %s: %s (and %u more refused "
			         "since the last such line)",
			         conn->peer_ip, conn->listener->name, refusal_text(why),
			         srv->refusals_unlogged);
		else
			log_info("refused connection from %s on %s: %s", conn->peer_ip,
			         conn->listener->name, refusal_text(why));
		srv->refusal_logged_ms = now;
		srv->refusals_unlogged = 0;
	} else {
		srv->refusals_unlogged++;
	}
	iostream_destroy(&conn->stream);
	free(c);
}

static void *conn_thread(void *arg)
{
	struct conn_priv *c = arg;
	struct server_conn *conn = &c->pub;
	struct server *srv = conn->server;
	enum log_level level = srv->cfg.quiet ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
	struct server_ip_key key = c->key;
	bool per_ip = c->per_ip;
	bool run = true;

	log_set_session(conn->session_id);
	if (conn->is_unix)
		log_msg(level, "connect on %s (pid %ld, uid %ld)", conn->listener->name,
		        (long)conn->peer_pid, (long)conn->peer_uid);
	else
		log_msg(level, "connect from %s port %u to %s port %u (%s)", conn->peer_ip,
		        conn->peer_port, conn->local_ip, conn->local_port, conn->listener->name);
	iostream_set_timeouts(conn->stream, srv->cfg.read_timeout_ms, srv->cfg.write_timeout_ms);
	iostream_set_interrupt_fd(conn->stream, srv->stop_pipe[0]);
	if (conn->listener->implicit_tls) {
		struct tls_ctx *ctx = tls_holder_get(srv->cfg.tls);
		const char *error;
		size_t discarded;

		if (iostream_starttls_server(conn->stream, ctx, &discarded, &error) < 0) {
			log_msg(level, "%s", error);
			run = false;
		}
		tls_ctx_unref(&ctx);
	}
	if (run)
		srv->cfg.handler(conn);
	log_msg(level, "disconnect after %.3f s",
	        (double)(monotonic_ms() - conn->start_ms) / 1000.0);

	/* Off the list before the fd closes, so the main thread never shuts
	 * down a reused fd number; counted down only after the close. */
	pthread_mutex_lock(&srv->lock);
	conn_unlink(srv, c);
	pthread_mutex_unlock(&srv->lock);
	iostream_destroy(&conn->stream);
	free(c);
	pthread_mutex_lock(&srv->lock);
	srv->active--;
	if (per_ip)
		server_ip_dec(&srv->per_ip, &key);
	if (atomic_load(&srv->stopping))
		wake(srv, WAKE_CONN_END);
	pthread_mutex_unlock(&srv->lock);
	log_set_session(NULL);
	return NULL;
}

/* Start a thread with the process signals blocked: they belong to the main loop. */
static int spawn(struct conn_priv *c)
{
	static const int blocked[] = {SIGTERM, SIGINT,  SIGHUP,  SIGPIPE,
	                              SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2};
	sigset_t set, old;
	pthread_attr_t attr;
	pthread_t tid;
	int r;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(blocked); i++)
		sigaddset(&set, blocked[i]);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	r = pthread_create(&tid, &attr, conn_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return r;
}

static void new_connection(struct server *srv, struct server_listener *l, int fd,
                           struct sockaddr_storage *ss, socklen_t len)
{
	struct conn_priv *c = xcalloc(1, sizeof(*c));
	struct server_conn *conn = &c->pub;
	int why = -1, r;

	conn->server = srv;
	conn->context = srv->cfg.context;
	conn->listener = &l->cfg;
	conn->start_ms = monotonic_ms();
	server_conn_fill(conn, fd, ss, len);
	conn->stream = iostream_create(fd);
	c->per_ip = !conn->is_unix && srv->cfg.max_per_ip > 0;
	if (c->per_ip)
		server_ip_key(&conn->peer_addr, srv->cfg.ipv6_prefix, &c->key);

	pthread_mutex_lock(&srv->lock);
	if (srv->active >= srv->cfg.max_connections) {
		why = SERVER_REFUSE_TOTAL;
	} else if (c->per_ip && server_ip_count(&srv->per_ip, &c->key) >= srv->cfg.max_per_ip) {
		why = SERVER_REFUSE_PER_IP;
	} else {
		srv->active++;
		if (c->per_ip)
			server_ip_inc(&srv->per_ip, &c->key);
		c->next = srv->conns;
		if (srv->conns != NULL)
			srv->conns->prev = c;
		srv->conns = c;
	}
	pthread_mutex_unlock(&srv->lock);
	if (why >= 0) {
		refuse(srv, c, (enum server_refusal)why);
		return;
	}
	server_session_id(conn->session_id);
	r = spawn(c);
	if (r != 0) {
		log_error("cannot start a thread for %s: %s", conn->peer_ip, strerror(r));
		pthread_mutex_lock(&srv->lock);
		conn_unlink(srv, c);
		srv->active--;
		if (c->per_ip)
			server_ip_dec(&srv->per_ip, &c->key);
		pthread_mutex_unlock(&srv->lock);
		iostream_destroy(&conn->stream);
		free(c);
	}
}

static void accept_some(struct server *srv, struct server_listener *l, int lfd)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			new_connection(srv, l, fd, &ss, len);
			continue;
		}
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			return;
		/* accept(2) on Linux passes on pending network errors: retry. */
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
		case ENETDOWN:
		case ENOPROTOOPT:
		case EHOSTDOWN:
		case ENONET:
		case EHOSTUNREACH:
		case EOPNOTSUPP:
		case ENETUNREACH:
			continue;
		default:
			/* EMFILE, ENFILE, ENOBUFS, ENOMEM: back off instead of spinning. */
			log_error("accept on %s: %s", l->cfg.name, strerror(errno));
			srv->accept_pause_until = monotonic_ms() + ACCEPT_PAUSE_MS;
			return;
		}
	}
}

/* ---- stopping ---- */

static void begin_stop(struct server *srv)
{
	if (atomic_exchange(&srv->stopping, true))
		return;
	for (size_t i = 0; i < srv->nlisteners; i++)
		server_listener_close(&srv->listeners[i]);
	/* Every poll on the read end now sees EOF: idle sessions wake up. */
	close(srv->stop_pipe[1]);
	srv->stop_pipe[1] = -1;
}

/* Read the wake pipe; returns a mask: 1 stop asked, 2 reload asked. */
static int drain_wake(struct server *srv)
{
	unsigned char buf[64];
	ssize_t n;
	int mask = 0;

	while ((n = read(srv->wake_pipe[0], buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == SIGTERM || buf[i] == SIGINT || buf[i] == WAKE_STOP)
				mask |= 1;
			else if (buf[i] == SIGHUP)
				mask |= 2;
		}
	}
	return mask;
}

static unsigned int active_count(struct server *srv)
{
	unsigned int n;

	pthread_mutex_lock(&srv->lock);
	n = srv->active;
	pthread_mutex_unlock(&srv->lock);
	return n;
}

/* Wait until no session runs or `until`; true if a new stop signal came (hurry). */
static bool wait_sessions(struct server *srv, int64_t until, bool hurry_on_signal)
{
	struct pollfd p = {.fd = srv->wake_pipe[0], .events = POLLIN};

	while (active_count(srv) > 0) {
		int64_t left = until - monotonic_ms();

		if (left <= 0)
			return false;
		if (poll(&p, 1, left > 1000 ? 1000 : (int)left) > 0 && (drain_wake(srv) & 1) != 0 &&
		    hurry_on_signal) {
			log_info("stop signal repeated: ending sessions now");
			return true;
		}
	}
	return false;
}

static int finish_sessions(struct server *srv)
{
	unsigned int n = active_count(srv);

	log_info("%s stopping: %u sessions running, waiting up to %d ms", srv->name, n,
	         srv->cfg.grace_ms);
	(void)wait_sessions(srv, monotonic_ms() + srv->cfg.grace_ms, true);
	n = active_count(srv);
	if (n > 0) {
		log_warn("closing %u sessions still running", n);
		pthread_mutex_lock(&srv->lock);
		for (struct conn_priv *c = srv->conns; c != NULL; c = c->next)
			(void)shutdown(iostream_fd(c->pub.stream), SHUT_RDWR);
		pthread_mutex_unlock(&srv->lock);
		(void)wait_sessions(srv, monotonic_ms() + SERVER_HARD_STOP_MS, false);
		n = active_count(srv);
	}
	if (n > 0) {
		log_error("%u sessions did not end; exiting anyway", n);
		srv->threads_left = true;
		return -1;
	}
	log_info("%s stopped", srv->name);
	return 0;
}

int server_run(struct server *srv)
{
	struct sigaction sa, old_term, old_int, old_hup, old_pipe;
	struct pollfd *pfds = xcalloc(1 + 2 * srv->nlisteners, sizeof(*pfds));
	struct server_listener **owner = xcalloc(1 + 2 * srv->nlisteners, sizeof(*owner));
	int ret;

	signal_wake_fd = srv->wake_pipe[1];
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGHUP, &sa, &old_hup);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);

	while (!atomic_load(&srv->stopping)) {
		int64_t now = monotonic_ms();
		bool paused = srv->accept_pause_until > now;
		nfds_t n = 1;
		int r, mask;

		pfds[0].fd = srv->wake_pipe[0];
		pfds[0].events = POLLIN;
		for (size_t i = 0; i < srv->nlisteners && !paused; i++) {
			for (size_t j = 0; j < srv->listeners[i].nfds; j++) {
				pfds[n].fd = srv->listeners[i].fds[j];
				pfds[n].events = POLLIN;
				owner[n++] = &srv->listeners[i];
			}
		}
		r = poll(pfds, n, paused ? (int)(srv->accept_pause_until - now) : -1);
		if (r < 0 && errno != EINTR)
			log_fatal(1, "poll: %s", strerror(errno));
		if (r <= 0)
			continue;
		if (pfds[0].revents != 0) {
			mask = drain_wake(srv);
			if ((mask & 1) != 0) {
				begin_stop(srv);
				break;
			}
			if ((mask & 2) != 0) {
				log_info("SIGHUP: reloading");
				if (srv->cfg.reload != NULL)
					srv->cfg.reload(srv, srv->cfg.context);
			}
		}
		for (nfds_t i = 1; i < n; i++) {
			if ((pfds[i].revents & POLLIN) != 0)
				accept_some(srv, owner[i], pfds[i].fd);
		}
	}
	begin_stop(srv);
	ret = finish_sessions(srv);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	signal_wake_fd = -1;
	free(pfds);
	free(owner);
	return ret;
}

void server_stop(struct server *srv)
{
	wake(srv, WAKE_STOP);
}

bool server_stopping(const struct server *srv)
{
	return atomic_load(&srv->stopping);
}

int server_stop_fd(const struct server *srv)
{
	return srv->stop_pipe[0];
}

unsigned int server_connection_count(struct server *srv)
{
	return active_count(srv);
}

unsigned int server_listener_port(const struct server *srv, size_t i)
{
	if (i >= srv->nlisteners || srv->listeners[i].nfds == 0)
		return 0;
	return server_fd_port(srv->listeners[i].fds[0]);
}

/* ---- creation ---- */

static int check_config(const struct server_config *cfg, const char **error_r)
{
	if (cfg->handler == NULL || cfg->listener_count == 0 || cfg->max_connections == 0) {
		*error_r = "server: a handler, a listener and max_connections > 0 are required";
		return -1;
	}
	if (cfg->ipv6_prefix > 128) {
		*error_r = "server: ipv6_prefix must be at most 128";
		return -1;
	}
	for (size_t i = 0; i < cfg->listener_count; i++) {
		if (cfg->listeners[i].implicit_tls && cfg->tls == NULL) {
			*error_r =
			    errorf("listener %s uses TLS but no certificate is loaded",
			           cfg->listeners[i].name != NULL ? cfg->listeners[i].name : "?");
			return -1;
		}
		if (cfg->listeners[i].implicit_tls && cfg->listeners[i].unix_path != NULL) {
			*error_r = "implicit TLS on a UNIX socket is not supported";
			return -1;
		}
	}
	return 0;
}

static void log_listener(const struct server_listener *l)
{
	for (size_t j = 0; j < l->nfds; j++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char ip[INET6_ADDRSTRLEN];
		unsigned int port;

		if (l->cfg.unix_path != NULL) {
			log_info("listening on %s (%s)", l->cfg.unix_path, l->cfg.name);
			continue;
		}
		if (getsockname(l->fds[j], (struct sockaddr *)&ss, &len) < 0)
			continue;
		(void)server_addr_text(&ss, ip, &port);
		log_info(ss.ss_family == AF_INET6 ? "listening on [%s]:%u (%s%s)"
		                                  : "listening on %s:%u (%s%s)",
		         ip, port, l->cfg.name, l->cfg.implicit_tls ? ", TLS" : "");
	}
}

int server_create(const struct server_config *cfg, struct server **srv_r, const char **error_r)
{
	struct server *srv;

	*srv_r = NULL;
	if (check_config(cfg, error_r) < 0)
		return -1;
	srv = xcalloc(1, sizeof(*srv));
	srv->cfg = *cfg;
	srv->cfg.listeners = NULL;
	srv->cfg.listener_count = 0;
	srv->name = xstrdup(cfg->name != NULL ? cfg->name : "server");
	srv->run_user = xstrdup(cfg->run_user != NULL ? cfg->run_user : "");
	srv->cfg.name = srv->name;
	srv->cfg.run_user = srv->run_user;
	if (srv->cfg.read_timeout_ms == 0)
		srv->cfg.read_timeout_ms = IOSTREAM_DEFAULT_TIMEOUT_MS;
	if (srv->cfg.write_timeout_ms == 0)
		srv->cfg.write_timeout_ms = IOSTREAM_DEFAULT_TIMEOUT_MS;
	if (srv->cfg.grace_ms <= 0)
		srv->cfg.grace_ms = SERVER_DEFAULT_GRACE_MS;
	if (srv->cfg.ipv6_prefix == 0)
		srv->cfg.ipv6_prefix = 64;
	srv->wake_pipe[0] = srv->wake_pipe[1] = srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
	pthread_mutex_init(&srv->lock, NULL);
	atomic_init(&srv->stopping, false);
	server_ip_table_init(&srv->per_ip);
	srv->listeners = xcalloc(cfg->listener_count, sizeof(*srv->listeners));
	if (pipe2(srv->wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    pipe2(srv->stop_pipe, O_CLOEXEC) < 0) {
		*error_r = errorf("pipe: %s", strerror(errno));
		server_destroy(&srv);
		return -1;
	}
	for (size_t i = 0; i < cfg->listener_count; i++) {
		server_listener_init(&srv->listeners[i], &cfg->listeners[i]);
		srv->nlisteners++;
		if (server_listener_open(&srv->listeners[i], srv->run_user, error_r) < 0) {
			server_destroy(&srv);
			return -1;
		}
	}
	/* Bound everything: now give up root, before any thread exists. */
	if (server_drop_privileges(srv->run_user, error_r) < 0) {
		server_destroy(&srv);
		return -1;
	}
	for (size_t i = 0; i < srv->nlisteners; i++)
		log_listener(&srv->listeners[i]);
	*srv_r = srv;
	return 0;
}

void server_destroy(struct server **srvp)
{
	struct server *srv = *srvp;

	if (srv == NULL)
		return;
	*srvp = NULL;
	for (size_t i = 0; i < srv->nlisteners; i++)
		server_listener_close(&srv->listeners[i]);
	if (srv->threads_left) {
		/* Threads still use it: leave it to the process exit. */
		return;
	}
	for (size_t i = 0; i < srv->nlisteners; i++)
		server_listener_free(&srv->listeners[i]);
	free(srv->listeners);
	server_ip_table_free(&srv->per_ip);
	for (int i = 0; i < 2; i++) {
		if (srv->wake_pipe[i] >= 0)
			close(srv->wake_pipe[i]);
		if (srv->stop_pipe[i] >= 0)
			close(srv->stop_pipe[i]);
	}
	pthread_mutex_destroy(&srv->lock);
	free(srv->name);
	free(srv->run_user);
	free(srv);
}
