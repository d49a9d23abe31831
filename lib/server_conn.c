/*
 * server_conn.c: what the server core knows about a connection: its peer
 * and local addresses as text, the peer process of a UNIX socket, its
 * session id, and the key it is counted under for the per-client cap, with
 * the table of those counts.
 *
 * Trust: addresses come from the kernel, not from the client. The count
 * table hashes keys with a random seed, so clients cannot aim for one bucket;
 * it is not locked here: server.c calls it under its lock.
 */
#include "log.h"
#include "server_internal.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

struct server_ip_node {
	struct server_ip_key key;
	unsigned int count;
	struct server_ip_node *next;
};

void server_ip_key(const struct sockaddr_storage *ss, unsigned int prefix,
                   struct server_ip_key *key)
{
	memset(key, 0, sizeof(*key));
	if (ss->ss_family == AF_INET) {
		key->family = 4;
		memcpy(key->addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return;
	}
	key->family = 6;
	memcpy(key->addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	for (unsigned int i = 0; i < 16; i++) {
		if (prefix >= 8) {
			prefix -= 8;
		} else {
			key->addr[i] &= (uint8_t)(0xff00 >> prefix);
			prefix = 0;
		}
	}
}

void server_ip_table_init(struct server_ip_table *t)
{
	memset(t, 0, sizeof(*t));
	if (getrandom(&t->seed, sizeof(t->seed), 0) != (ssize_t)sizeof(t->seed))
		log_panic("getrandom failed: %s", strerror(errno));
}

static struct server_ip_node **ip_find(struct server_ip_table *t, const struct server_ip_key *key)
{
	/* FNV-1a over the seed and the key. */
	uint64_t h = 14695981039346656037ULL ^ t->seed;
	const uint8_t *p = (const uint8_t *)key;
	struct server_ip_node **np;

	for (size_t i = 0; i < sizeof(*key); i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	np = &t->buckets[(h ^ (h >> 32)) % SERVER_IP_BUCKETS];
	while (*np != NULL && memcmp(&(*np)->key, key, sizeof(*key)) != 0)
		np = &(*np)->next;
	return np;
}

unsigned int server_ip_count(struct server_ip_table *t, const struct server_ip_key *key)
{
	struct server_ip_node *n = *ip_find(t, key);

	return n != NULL ? n->count : 0;
}

void server_ip_inc(struct server_ip_table *t, const struct server_ip_key *key)
{
	struct server_ip_node **np = ip_find(t, key);

	if (*np == NULL) {
		*np = xcalloc(1, sizeof(**np));
		(*np)->key = *key;
	}
	(*np)->count++;
}

void server_ip_dec(struct server_ip_table *t, const struct server_ip_key *key)
{
	struct server_ip_node **np = ip_find(t, key);
	struct server_ip_node *n = *np;

	if (n == NULL || n->count == 0)
		log_panic("server: per-client count underflow");
	if (--n->count == 0) {
		*np = n->next;
		free(n);
	}
}

void server_ip_table_free(struct server_ip_table *t)
{
	for (size_t i = 0; i < SERVER_IP_BUCKETS; i++) {
		while (t->buckets[i] != NULL) {
			struct server_ip_node *n = t->buckets[i];
			t->buckets[i] = n->next;
			free(n);
		}
	}
}

void server_session_id(char *id)
{
	/* 32 letters and digits without look-alikes: 60 random bits. */
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
	unsigned char rnd[SERVER_SESSION_ID_LEN];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		log_panic("getrandom failed: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(rnd); i++)
		id[i] = alphabet[rnd[i] & 31];
	id[SERVER_SESSION_ID_LEN] = '\0';
}

bool server_addr_text(const struct sockaddr_storage *ss, char *ip, unsigned int *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, ip, INET6_ADDRSTRLEN);
		*port = ntohs(sin->sin_port);
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, INET6_ADDRSTRLEN);
		*port = ntohs(sin6->sin6_port);
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	snprintf(ip, INET6_ADDRSTRLEN, "unix");
	*port = 0;
	return false;
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is an IPv4 client. */
static void unmap_v4(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin = {.sin_family = AF_INET};

	if (ss->ss_family != AF_INET6)
		return;
	memcpy(&sin6, ss, sizeof(sin6));
	if (!IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr))
		return;
	sin.sin_port = sin6.sin6_port;
	memcpy(&sin.sin_addr, &sin6.sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &sin, sizeof(sin));
	*len = sizeof(sin);
}

void server_conn_fill(struct server_conn *conn, int fd, struct sockaddr_storage *ss, socklen_t len)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);

	conn->peer_pid = -1;
	conn->peer_uid = (uid_t)-1;
	conn->peer_gid = (gid_t)-1;
	conn->is_unix = ss->ss_family == AF_UNIX;
	if (conn->is_unix) {
		struct ucred cred;
		socklen_t clen = sizeof(cred);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
			conn->peer_pid = cred.pid;
			conn->peer_uid = cred.uid;
			conn->peer_gid = cred.gid;
		}
	} else {
		int one = 1;

		/*
		 * Replies leave through the stream's buffer in whole pieces, so
		 * Nagle's algorithm only holds a reply's last segment back until the
		 * client's delayed ACK (up to 40 ms per reply on Linux).
		 */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		unmap_v4(ss, &len);
	}
	conn->peer_addr = *ss;
	conn->peer_addr_len = len;
	conn->peer_loopback = server_addr_text(ss, conn->peer_ip, &conn->peer_port);
	if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0) {
		unmap_v4(&local, &llen);
		(void)server_addr_text(&local, conn->local_ip, &conn->local_port);
	} else {
		snprintf(conn->local_ip, sizeof(conn->local_ip), "?");
	}
}
