/*
 * authd_main.c: sluice-authd, the only process that reads password hashes.
 *
 * Usage: sluice-authd [-c sluice.conf] [-f]. Loads the configuration, binds
 * auth_socket (mode authd_socket_mode, group of run_user), drops privileges,
 * and answers docs/auth-protocol.md in one thread per connection until
 * SIGTERM. It always stays in the foreground (supervisors manage it; -f is
 * accepted for symmetry) and logs to stderr unless log_syslog is set. Owns
 * the process-wide objects: the configuration, the PostgreSQL pool (with
 * authd_db_url, the role allowed to read hashes), the penalty table and the
 * verifier; sessions only borrow them.
 */
#include "auth_penalty.h"
#include "auth_session.h"
#include "auth_verify.h"
#include "config.h"
#include "daemon.h"
#include "db.h"
#include "log.h"
#include "password.h"
#include "server.h"
#include "util.h"

#include <sys/stat.h>
#include <unistd.h>

#define PROGNAME "sluice-authd"

/* Checks beyond the settings table's ranges; the socket mode is parsed here too. */
static int check_config(const struct config *cfg, mode_t *socket_mode_r, const char **error_r)
{
	if (daemon_octal_mode(cfg, "authd_socket_mode", socket_mode_r, error_r) < 0)
		return -1;
	if (config_duration_ms(cfg, "authd_penalty_max") <
	    config_duration_ms(cfg, "authd_penalty_initial")) {
		*error_r = errorf("%s is below authd_penalty_initial",
		                  config_where(cfg, "authd_penalty_max"));
		return -1;
	}
	return 0;
}

static void penalty_settings(const struct config *cfg, struct auth_penalty_settings *pset)
{
	pset->initial_ms = config_duration_ms(cfg, "authd_penalty_initial");
	pset->max_ms = config_duration_ms(cfg, "authd_penalty_max");
	pset->expire_ms = config_duration_ms(cfg, "authd_penalty_expire");
	pset->max_entries = (unsigned int)config_int(cfg, "authd_penalty_table_size");
}

/*
 * SIGHUP, in the main thread: re-read sluice.conf and apply what can change
 * live (log level and destination, penalty delays). A bad file keeps the
 * running settings. The socket, the database and the worker count need a
 * restart.
 */
static void authd_reload(struct server *srv, void *context)
{
	struct authd *authd = context;
	struct auth_penalty_settings pset;
	struct config *cfg = NULL;
	const char *error = NULL;
	mode_t mode;

	(void)srv;
	if (config_load(authd->config_path, 0, &cfg, &error) < 0 ||
	    check_config(cfg, &mode, &error) < 0) {
		log_error("reload: %s; keeping the running settings", error);
		config_free(&cfg);
		return;
	}
	daemon_apply_logging(PROGNAME, cfg);
	penalty_settings(cfg, &pset);
	auth_penalty_set_timing(authd->penalty, &pset);
	log_info("reloaded %s: penalty %lld ms doubling to %lld ms", authd->config_path,
	         (long long)pset.initial_ms, (long long)pset.max_ms);
	config_free(&cfg);
}

int main(int argc, char **argv)
{
	const char *error = NULL;
	struct config *cfg = NULL;
	struct db_pool_settings db_set;
	struct db_pool *pool;
	struct authd authd = {0};
	struct server *srv = NULL;
	mode_t socket_mode;
	int rc;

	/* The socket mode and penalty checks fail before logging moves to syslog. */
	authd.config_path = daemon_init(PROGNAME, argc, argv);
	if (config_load(authd.config_path, 0, &cfg, &error) < 0 ||
	    check_config(cfg, &socket_mode, &error) < 0)
		log_fatal(78, "%s", error); /* EX_CONFIG */
	daemon_apply_logging(PROGNAME, cfg);
	if (password_init(cfg, &error) < 0)
		log_fatal(78, "passwords: %s", error);

	struct server_listener_config listener = {
	    .name = "auth",
	    .unix_path = config_str(cfg, "auth_socket"),
	    .unix_mode = socket_mode,
	};
	struct server_config scfg = {
	    .name = PROGNAME,
	    .listeners = &listener,
	    .listener_count = 1,
	    .max_connections = (unsigned int)config_int(cfg, "authd_max_connections"),
	    .read_timeout_ms = (int)config_duration_ms(cfg, "authd_request_timeout"),
	    .write_timeout_ms = (int)config_duration_ms(cfg, "authd_request_timeout"),
	    .run_user = config_str(cfg, "run_user"),
	    .handler = auth_session_run,
	    .reload = authd_reload,
	    .context = &authd,
	    .quiet = true,
	};
	/* Binds the socket and drops root before any thread (the pool's included) runs. */
	if (server_create(&scfg, &srv, &error) < 0)
		log_fatal(71, "%s", error); /* EX_OSERR */

	db_pool_settings_from_config(&db_set, cfg, "authd");
	pool = db_pool_create(&db_set);
	struct auth_verify_settings vset = {
	    .hash_workers = (unsigned int)config_int(cfg, "authd_hash_workers"),
	    .hash_wait_ms = config_duration_ms(cfg, "authd_hash_wait_timeout"),
	    .rehash_legacy = config_bool(cfg, "authd_rehash_legacy"),
	};
	struct auth_penalty_settings pset;
	penalty_settings(cfg, &pset);
	authd.verify = auth_verify_create(pool, &vset);
	authd.penalty = auth_penalty_create(&pset);
	authd.server = srv;

	log_info("ready: protocol version 1, %u hash workers, penalty %lld ms doubling to %lld ms",
	         vset.hash_workers, (long long)pset.initial_ms, (long long)pset.max_ms);
	rc = server_run(srv);
	if (rc < 0)
		_exit(0); /* threads still hold the shared objects: do not free them */
	server_destroy(&srv);
	auth_penalty_destroy(&authd.penalty);
	auth_verify_destroy(&authd.verify);
	db_pool_destroy(&pool);
	config_free(&cfg);
	return 0;
}
