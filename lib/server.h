/*
 * server.h: the server core every Sluice daemon runs on.
 *
 * A daemon describes its listeners (TCP on IPv4/IPv6, UNIX sockets, implicit
 * TLS or not), its caps and its handler; server_create() binds every socket
 * and then drops root privileges, before any thread exists; server_run()
 * accepts connections and runs the handler in one thread per connection,
 * refusing connections over the per-daemon or per-client-IP cap. SIGHUP calls
 * the reload callback in the main thread; SIGTERM or SIGINT stop accepting,
 * let sessions finish for a grace period (idle line reads are interrupted so
 * sessions can say goodbye), then shut down the sockets of the rest.
 *
 * Connection threads share nothing written but the counters, under a lock.
 */
#ifndef SLUICE_SERVER_H
#define SLUICE_SERVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct iostream;
struct server;
struct tls_holder;

/* Grace period for sessions after SIGTERM, unless the daemon says otherwise. */
#define SERVER_DEFAULT_GRACE_MS 30000
/* After the grace period and the sockets' shutdown, how long to wait for threads. */
#define SERVER_HARD_STOP_MS 5000
/* Length of a session id (letters and digits). */
#define SERVER_SESSION_ID_LEN 12

struct server_listener_config {
	const char *name;      /* label for logs: "smtp", "submissions", "lmtp" */
	const char *address;   /* numeric IPv4 or IPv6; NULL or "*": both 0.0.0.0 and [::] */
	const char *port;      /* numeric; "0" takes a free port (tests) */
	const char *unix_path; /* set: a UNIX socket at this path instead of TCP */
	mode_t unix_mode;      /* the UNIX socket's permissions; 0 means 0660 */
	bool implicit_tls;     /* TLS handshake before the handler (ports 465, 993) */
};

/* One accepted connection, as the handler sees it. Read-only but for stream. */
struct server_conn {
	struct iostream *stream; /* owned by the server: the handler must not destroy it */
	const struct server_listener_config *listener;
	struct sockaddr_storage peer_addr; /* IPv4-mapped IPv6 addresses come as IPv4 */
	socklen_t peer_addr_len;
	char peer_ip[INET6_ADDRSTRLEN]; /* "192.0.2.1", "2001:db8::1"; "unix" for UNIX sockets */
	unsigned int peer_port;
	char local_ip[INET6_ADDRSTRLEN];
	unsigned int local_port;
	bool is_unix;
	bool peer_loopback; /* 127.0.0.0/8 or ::1 (false for UNIX sockets) */
	/* The peer process of a UNIX socket (SO_PEERCRED); -1 otherwise. */
	pid_t peer_pid;
	uid_t peer_uid;
	gid_t peer_gid;
	char session_id[SERVER_SESSION_ID_LEN + 1]; /* already set with log_set_session() */
	int64_t start_ms;                           /* monotonic_ms() at accept */
	struct server *server;
	void *context; /* server_config.context */
};

enum server_refusal {
	SERVER_REFUSE_TOTAL,  /* the daemon is at max_connections */
	SERVER_REFUSE_PER_IP, /* this client is at max_per_ip */
};

/* Serve one connection; when it returns the server closes the stream. */
typedef void server_handler_fn(struct server_conn *conn);
/*
 * Say why a connection is refused ("421 4.7.0 Too many connections",
 * "* BYE ..."). Runs in the main thread on a stream that never waits: write
 * one short line and flush. Not called for implicit-TLS listeners.
 */
typedef void server_refuse_fn(struct server_conn *conn, enum server_refusal why);
/* SIGHUP: reload configuration and TLS (tls_holder_reload()); main thread. */
typedef void server_reload_fn(struct server *srv, void *context);

struct server_config {
	const char *name; /* the daemon, for logs */
	const struct server_listener_config *listeners;
	size_t listener_count;
	unsigned int max_connections; /* at least 1 */
	unsigned int max_per_ip;      /* 0: no per-client cap; UNIX peers are never capped per IP */
	/* The per-client cap counts an IPv6 client by its network of this many
	 * bits (a host usually owns a whole /64); 0 means 64, 128 exact addresses. */
	unsigned int ipv6_prefix;
	int read_timeout_ms;    /* the stream's first timeouts; 0: IOSTREAM_DEFAULT_TIMEOUT_MS */
	int write_timeout_ms;   /* (the implicit TLS handshake runs within read_timeout_ms) */
	int grace_ms;           /* 0: SERVER_DEFAULT_GRACE_MS */
	const char *run_user;   /* switch to this user after binding (NULL or "": stay) */
	struct tls_holder *tls; /* needed by implicit_tls listeners; not owned */
	server_handler_fn *handler;
	server_refuse_fn *refuse; /* NULL: close without a word */
	server_reload_fn *reload; /* NULL: SIGHUP is logged and ignored */
	void *context;
	bool quiet; /* log connects and disconnects at debug level (busy local sockets) */
};

/*
 * Bind every listener (UNIX sockets: a stale socket is replaced, one in use
 * is an error; the socket is given to run_user), then drop privileges to
 * run_user. Call before any thread is started. The configuration is copied.
 */
int server_create(const struct server_config *cfg, struct server **srv_r, const char **error_r);
/*
 * Accept connections until SIGTERM, SIGINT or server_stop(), then stop as
 * described above. Only one server may run in a process. Returns 0 when every
 * session ended, -1 when some threads did not end even after their sockets
 * were shut down (the caller should just exit).
 */
int server_run(struct server *srv);
/* Begin the stop, as SIGTERM does. Safe from any thread and from signal handlers. */
void server_stop(struct server *srv);
/* Whether the stop has begun: sessions check it between commands. */
bool server_stopping(const struct server *srv);
/* An fd that becomes readable when the stop begins (for a session's own poll). */
int server_stop_fd(const struct server *srv);
/* Sessions running now. */
unsigned int server_connection_count(struct server *srv);
/* The port listener i is bound to (its first socket); 0 for UNIX sockets. */
unsigned int server_listener_port(const struct server *srv, size_t i);
/* Close the listeners, remove their UNIX sockets and free; accepts NULL. */
void server_destroy(struct server **srv);

/*
 * Switch to user (its uid, gid and supplementary groups) for good, and check
 * that root cannot be regained. NULL or "" does nothing. Not being root is
 * fine when already running as that user, an error otherwise.
 */
int server_drop_privileges(const char *user, const char **error_r);

/* Listeners parsed from a setting, with the strings they point to. */
struct server_listener_list {
	struct server_listener_config *items;
	size_t count;
	char **strings; /* the copies items point into, freed with the list */
	size_t string_count;
};
/*
 * Append the listeners of a setting to list (start from a zeroed list): words separated by spaces
 * or commas, each `address:port` (`192.0.2.1:25`, `[::1]:25`, `*:25`), a bare port (every address),
 * or an absolute path (a UNIX socket with unix_mode).
 */
int server_listeners_parse(const char *spec, const char *name, bool implicit_tls, mode_t unix_mode,
                           struct server_listener_list *list, const char **error_r);
void server_listener_list_free(struct server_listener_list *list);

#endif
