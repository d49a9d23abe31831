/*
 * server_internal.h: what server.c (accepting, sessions, signals) shares with
 * server_listen.c (binding listening sockets) and server_conn.c (addresses,
 * session ids, per-client counting). Nothing else includes it.
 */
#ifndef SLUICE_SERVER_INTERNAL_H
#define SLUICE_SERVER_INTERNAL_H

#include "server.h"

#include <sys/stat.h>

/* One configured listener: a TCP one may own two sockets ("*": IPv6 and IPv4). */
struct server_listener {
	struct server_listener_config cfg; /* its strings are the copies below */
	char *name, *address, *port, *unix_path;
	int fds[2];
	size_t nfds;
	bool unix_bound; /* the socket file is ours: remove it when closing */
	dev_t unix_dev;
	ino_t unix_ino;
};

/* The per-client counting key: an IPv4 address or an IPv6 network. */
struct server_ip_key {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
};

#define SERVER_IP_BUCKETS 1024

struct server_ip_node;

/* Connections per client key; the caller serializes access. */
struct server_ip_table {
	struct server_ip_node *buckets[SERVER_IP_BUCKETS];
	uint64_t seed;
};

/* The key of an IPv4 or IPv6 peer; IPv6 addresses cut to prefix bits. */
void server_ip_key(const struct sockaddr_storage *ss, unsigned int prefix,
                   struct server_ip_key *key);
void server_ip_table_init(struct server_ip_table *t);
unsigned int server_ip_count(struct server_ip_table *t, const struct server_ip_key *key);
void server_ip_inc(struct server_ip_table *t, const struct server_ip_key *key);
void server_ip_dec(struct server_ip_table *t, const struct server_ip_key *key);
void server_ip_table_free(struct server_ip_table *t);

/* A new random session id of SERVER_SESSION_ID_LEN characters, NUL-terminated. */
void server_session_id(char *id);
/* Address text and port of ss; returns whether it is a loopback address. */
bool server_addr_text(const struct sockaddr_storage *ss, char *ip, unsigned int *port);
/* Fill a connection's addresses and peer credentials from an accepted fd. */
void server_conn_fill(struct server_conn *conn, int fd, struct sockaddr_storage *ss, socklen_t len);

/* Copy cfg into l (fds closed), for server_listener_open(). */
void server_listener_init(struct server_listener *l, const struct server_listener_config *cfg);
/* Bind and listen; UNIX sockets are given to run_user when running as root. */
int server_listener_open(struct server_listener *l, const char *run_user, const char **error_r);
/* Close the sockets and remove our UNIX socket file; may be called twice. */
void server_listener_close(struct server_listener *l);
/* The local port of a TCP socket; 0 otherwise. */
unsigned int server_fd_port(int fd);
/* Free the copied strings (after closing). */
void server_listener_free(struct server_listener *l);

#endif
