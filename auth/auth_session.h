/*
 * auth_session.h: one client connection of sluice-authd: the greeting, then
 * requests answered one at a time (docs/auth-protocol.md).
 */
#ifndef SLUICE_AUTH_SESSION_H
#define SLUICE_AUTH_SESSION_H

struct server_conn;

/* What every session shares; built by authd_main.c, read-only once running. */
struct authd {
	struct auth_penalty *penalty; /* thread-safe */
	struct auth_verify *verify;   /* thread-safe */
	struct server *server;
	const char *config_path; /* re-read on SIGHUP */
};

/* The server handler: conn->context is the struct authd. */
void auth_session_run(struct server_conn *conn);

#endif
