/*
 * server_listen.c: listening sockets for the server core: parsing listener
 * settings, binding TCP sockets on IPv4 and IPv6 and UNIX sockets, and
 * removing our UNIX socket files again.
 *
 * Runs in the main thread before privileges are dropped (binding port 25
 * needs root). Touches only the socket files named by the configuration: a
 * stale socket (nobody accepting) is replaced, a live one or any other file is
 * an error, and a socket file is removed at the end only if it is still ours.
 */
#include "log.h"
#include "server_internal.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_UNIX_MODE 0660

static char *list_keep(struct server_listener_list *list, const char *s, size_t len)
{
	char *copy = xstrndup(s, len);

	list->strings = xrealloc(list->strings, (list->string_count + 1) * sizeof(*list->strings));
	list->strings[list->string_count++] = copy;
	return copy;
}

static bool valid_port(const char *port)
{
	size_t len = strlen(port);
	char *end;
	long v;

	if (len == 0 || len > 5 || strspn(port, "0123456789") != len)
		return false;
	v = strtol(port, &end, 10);
	return v >= 0 && v <= 65535;
}

/* One word of a listener setting into cfg (strings kept by list). */
static int parse_word(const char *w, size_t len, struct server_listener_list *list,
                      struct server_listener_config *cfg, const char **error_r)
{
	const char *colon, *addr_start = w, *addr_end;
	unsigned char buf[16];
	char *addr, *port;

	if (w[0] == '/') {
		cfg->unix_path = list_keep(list, w, len);
		if (strlen(cfg->unix_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			*error_r = errorf("UNIX socket path too long: %s", cfg->unix_path);
			return -1;
		}
		return 0;
	}
	if (w[0] == '[') {
		addr_start = w + 1;
		addr_end = memchr(w, ']', len);
		if (addr_end == NULL || addr_end + 1 >= w + len || addr_end[1] != ':') {
			*error_r = errorf("bad listener '%.*s': want [address]:port", (int)len, w);
			return -1;
		}
		colon = addr_end + 1;
	} else {
		colon = memrchr(w, ':', len);
		addr_end = colon;
		if (colon != NULL && memchr(w, ':', (size_t)(colon - w)) != NULL) {
			*error_r = errorf("bad listener '%.*s': put IPv6 addresses in brackets",
			                  (int)len, w);
			return -1;
		}
	}
	if (colon == NULL) {
		addr = list_keep(list, "*", 1);
		port = list_keep(list, w, len);
	} else {
		addr = list_keep(list, addr_start, (size_t)(addr_end - addr_start));
		port = list_keep(list, colon + 1, (size_t)(w + len - colon - 1));
	}
	if (!valid_port(port)) {
		*error_r = errorf("bad listener '%.*s': bad port '%s'", (int)len, w, port);
		return -1;
	}
	if (strcmp(addr, "*") != 0 && inet_pton(AF_INET, addr, buf) != 1 &&
	    inet_pton(AF_INET6, addr, buf) != 1) {
		*error_r =
		    errorf("bad listener '%.*s': '%s' is not a numeric address", (int)len, w, addr);
		return -1;
	}
	cfg->address = addr;
	cfg->port = port;
	return 0;
}

int server_listeners_parse(const char *spec, const char *name, bool implicit_tls, mode_t unix_mode,
                           struct server_listener_list *list, const char **error_r)
{
	const char *p = spec;
	const char *kept_name = list_keep(list, name, strlen(name));

	for (;;) {
		struct server_listener_config cfg = {
		    .name = kept_name, .implicit_tls = implicit_tls, .unix_mode = unix_mode};
		size_t len;

		p += strspn(p, " \t,");
		if (*p == '\0')
			return 0;
		len = strcspn(p, " \t,");
		if (parse_word(p, len, list, &cfg, error_r) < 0)
			return -1;
		list->items = xrealloc(list->items, (list->count + 1) * sizeof(*list->items));
		list->items[list->count++] = cfg;
		p += len;
	}
}

void server_listener_list_free(struct server_listener_list *list)
{
	for (size_t i = 0; i < list->string_count; i++)
		free(list->strings[i]);
	free(list->strings);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void server_listener_init(struct server_listener *l, const struct server_listener_config *cfg)
{
	memset(l, 0, sizeof(*l));
	l->cfg = *cfg;
	l->cfg.name = l->name = xstrdup(cfg->name != NULL ? cfg->name : "listener");
	l->cfg.address = l->address = dup_or_null(cfg->address);
	l->cfg.port = l->port = dup_or_null(cfg->port);
	l->cfg.unix_path = l->unix_path = dup_or_null(cfg->unix_path);
	if (l->cfg.unix_mode == 0)
		l->cfg.unix_mode = DEFAULT_UNIX_MODE;
	l->fds[0] = l->fds[1] = -1;
}

/* Bind one TCP socket; *unsupported_r when the host lacks the address family. */
static int bind_tcp(struct server_listener *l, const char *address, const char *port,
                    bool *unsupported_r, const char **error_r)
{
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
	                         .ai_socktype = SOCK_STREAM};
	struct addrinfo *res;
	const char *fmt = strchr(address, ':') != NULL ? "[%s]:%s" : "%s:%s";
	char where[INET6_ADDRSTRLEN + 16];
	int fd, one = 1, r;

	*unsupported_r = false;
	snprintf(where, sizeof(where), fmt, address, port);
	r = getaddrinfo(address, port, &hints, &res);
	if (r != 0) {
		*error_r =
		    errorf("listener %s: bad address %s: %s", l->cfg.name, where, gai_strerror(r));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*unsupported_r = errno == EAFNOSUPPORT;
		*error_r =
		    errorf("listener %s: socket for %s: %s", l->cfg.name, where, strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] means IPv6 only; IPv4 gets its own socket, never mapped addresses. */
	if (res->ai_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) {
		*error_r = errorf("listener %s: IPV6_V6ONLY: %s", l->cfg.name, strerror(errno));
		goto fail;
	}
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
		*unsupported_r = errno == EADDRNOTAVAIL && res->ai_family == AF_INET6;
		*error_r =
		    errorf("listener %s: cannot bind %s: %s", l->cfg.name, where, strerror(errno));
		goto fail;
	}
	if (listen(fd, SOMAXCONN) < 0) {
		*error_r =
		    errorf("listener %s: listen on %s: %s", l->cfg.name, where, strerror(errno));
		goto fail;
	}
	freeaddrinfo(res);
	l->fds[l->nfds++] = fd;
	return 0;
fail:
	close(fd);
	freeaddrinfo(res);
	return -1;
}

unsigned int server_fd_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

static int open_tcp(struct server_listener *l, const char **error_r)
{
	const char *addr = l->cfg.address;
	bool unsupported;
	char port[8];

	if (addr != NULL && strcmp(addr, "*") != 0)
		return bind_tcp(l, addr, l->cfg.port, &unsupported, error_r);
	/* Every address: IPv6 first, then IPv4 on the same port (even port 0). */
	if (bind_tcp(l, "::", l->cfg.port, &unsupported, error_r) < 0) {
		if (!unsupported)
			return -1;
		log_warn("%s; listening on IPv4 only", *error_r);
		return bind_tcp(l, "0.0.0.0", l->cfg.port, &unsupported, error_r);
	}
	snprintf(port, sizeof(port), "%u", server_fd_port(l->fds[0]));
	return bind_tcp(l, "0.0.0.0", port, &unsupported, error_r);
}

/* Remove a socket file left by a dead process; refuse a live one or a non-socket. */
static int clear_stale_socket(const char *path, const struct sockaddr_un *sun, const char **error_r)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = errorf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		*error_r = errorf("%s exists and is not a socket", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = errorf("socket: %s", strerror(errno));
		return -1;
	}
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (r == 0) {
		*error_r = errorf("%s is in use by a running process", path);
		return -1;
	}
	if (errno != ECONNREFUSED) {
		*error_r = errorf("cannot probe %s: %s", path, strerror(errno));
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		*error_r = errorf("cannot remove stale socket %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int open_unix(struct server_listener *l, const char *run_user, const char **error_r)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *path = l->cfg.unix_path;
	struct stat st;
	mode_t old_umask;
	int fd, r;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		*error_r = errorf("listener %s: socket path too long: %s", l->cfg.name, path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (clear_stale_socket(path, &sun, error_r) < 0) {
		*error_r = errorf("listener %s: %s", l->cfg.name, *error_r);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = errorf("listener %s: socket: %s", l->cfg.name, strerror(errno));
		return -1;
	}
	/* Create the file with its final mode: no moment with wider access.
	 * The umask is process-wide; no other thread runs yet. */
	old_umask = umask(~l->cfg.unix_mode & 0777);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_umask);
	if (r < 0) {
		*error_r =
		    errorf("listener %s: cannot bind %s: %s", l->cfg.name, path, strerror(errno));
		close(fd);
		return -1;
	}
	l->fds[l->nfds++] = fd;
	if (lstat(path, &st) == 0) {
		l->unix_bound = true;
		l->unix_dev = st.st_dev;
		l->unix_ino = st.st_ino;
	}
	if (chmod(path, l->cfg.unix_mode) < 0) {
		*error_r = errorf("listener %s: chmod %s: %s", l->cfg.name, path, strerror(errno));
		return -1;
	}
	if (run_user != NULL && run_user[0] != '\0' && geteuid() == 0) {
		struct passwd pw, *pwp = NULL;
		char buf[4096];

		if (getpwnam_r(run_user, &pw, buf, sizeof(buf), &pwp) != 0 || pwp == NULL) {
			*error_r = errorf("unknown run_user '%s'", run_user);
			return -1;
		}
		if (chown(path, pw.pw_uid, pw.pw_gid) < 0) {
			*error_r =
			    errorf("listener %s: chown %s: %s", l->cfg.name, path, strerror(errno));
			return -1;
		}
	}
	if (listen(fd, SOMAXCONN) < 0) {
		*error_r =
		    errorf("listener %s: listen on %s: %s", l->cfg.name, path, strerror(errno));
		return -1;
	}
	return 0;
}

int server_listener_open(struct server_listener *l, const char *run_user, const char **error_r)
{
	int r;

	if (l->cfg.unix_path != NULL) {
		r = open_unix(l, run_user, error_r);
	} else if (l->cfg.port == NULL || !valid_port(l->cfg.port)) {
		*error_r = errorf("listener %s: bad or missing port", l->cfg.name);
		r = -1;
	} else {
		r = open_tcp(l, error_r);
	}
	if (r < 0)
		server_listener_close(l);
	return r;
}

void server_listener_close(struct server_listener *l)
{
	struct stat st;

	for (size_t i = 0; i < l->nfds; i++)
		close(l->fds[i]);
	l->nfds = 0;
	l->fds[0] = l->fds[1] = -1;
	if (l->unix_bound) {
		/* Only if still ours: a newer instance may have replaced it. */
		if (lstat(l->cfg.unix_path, &st) == 0 && st.st_dev == l->unix_dev &&
		    st.st_ino == l->unix_ino && unlink(l->cfg.unix_path) < 0)
			log_warn("cannot remove %s: %s", l->cfg.unix_path, strerror(errno));
		l->unix_bound = false;
	}
}

void server_listener_free(struct server_listener *l)
{
	free(l->name);
	free(l->address);
	free(l->port);
	free(l->unix_path);
}
