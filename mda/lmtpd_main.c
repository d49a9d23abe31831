/*
 * lmtpd_main.c: sluice-lmtpd, the local delivery agent (LMTP, RFC 2033).
 *
 * Usage: sluice-lmtpd [-c sluice.conf] [-f]. Loads the configuration, binds
 * lmtpd_socket (mode lmtpd_socket_mode) and any lmtpd_listen addresses,
 * drops privileges to run_user, and serves one thread per connection until
 * SIGTERM (sessions finish their transaction first). SIGHUP compiles the
 * global Sieve scripts again (lmtpd_sieve_reload()); other settings are read
 * once, at start. Owns the process-wide objects: the configuration, the
 * PostgreSQL pool (lmtpd_db_url, a role in sluice_mda) and the mail store
 * over mail_root; sessions only borrow them.
 * Stays in the foreground; logs to stderr unless log_syslog is set.
 */
#include "lmtpd.h"
#include "lmtpd_sieve.h"

#include "config.h"
#include "daemon.h"
#include "db.h"
#include "log.h"
#include "server.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROGNAME "sluice-lmtpd"

static const char *conf_name(const struct config *cfg)
{
	return config_file(cfg) != NULL ? config_file(cfg) : "defaults";
}

static mode_t socket_mode(const struct config *cfg)
{
	const char *error;
	mode_t mode;

	if (daemon_octal_mode(cfg, "lmtpd_socket_mode", &mode, &error) < 0)
		log_fatal(78, "%s", error);
	return mode;
}

/* LMTP has no authentication: TCP listeners only on loopback addresses. */
static void check_loopback(const struct config *cfg, const struct server_listener_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		const char *a = list->items[i].address;
		struct in6_addr a6;
		struct in_addr a4;
		bool ok = false;

		if (list->items[i].unix_path != NULL)
			continue;
		if (a != NULL && inet_pton(AF_INET, a, &a4) == 1)
			ok = (ntohl(a4.s_addr) >> 24) == 127;
		else if (a != NULL && inet_pton(AF_INET6, a, &a6) == 1)
			ok = IN6_IS_ADDR_LOOPBACK(&a6);
		if (!ok)
			log_fatal(78,
			          "%s:%u: lmtpd_listen: %s is not a loopback address (LMTP has no "
			          "authentication)",
			          conf_name(cfg), config_line(cfg, "lmtpd_listen"),
			          a != NULL ? a : "*");
	}
}

static void load_settings(const struct config *cfg, struct lmtpd_settings *set)
{
	const char *error;

	memset(set, 0, sizeof(*set));
	snprintf(set->hostname, sizeof(set->hostname), "%s", config_str(cfg, "lmtpd_hostname"));
	if (set->hostname[0] == '\0' && gethostname(set->hostname, sizeof(set->hostname) - 1) < 0)
		snprintf(set->hostname, sizeof(set->hostname), "localhost");
	set->max_recipients = (unsigned int)config_int(cfg, "lmtpd_max_recipients");
	set->max_message_size = config_size(cfg, "lmtpd_max_message_size");
	set->max_delivered_to = (unsigned int)config_int(cfg, "lmtpd_max_delivered_to");
	set->quota_tempfail = config_bool(cfg, "quota_exceeded_tempfail");
	set->warning_from = config_str(cfg, "quota_warning_from");
	set->recipient_delimiter = config_str(cfg, "recipient_delimiter");
	if (quota_thresholds_parse(config_str(cfg, "quota_warning_thresholds"), set->thresholds,
	                           &set->nthresholds, &error) < 0)
		log_fatal(78, "%s:%u: quota_warning_thresholds: %s", conf_name(cfg),
		          config_line(cfg, "quota_warning_thresholds"), error);
}

/* SIGHUP, in the main thread: deliveries running keep the programs they started with. */
static void reload(struct server *srv, void *context)
{
	(void)srv;
	(void)context;
	lmtpd_sieve_reload();
}

int main(int argc, char **argv)
{
	const char *error = NULL;
	struct server_listener_list listeners = {0};
	struct db_pool_settings db_set;
	struct store_settings store_set;
	struct config *cfg;
	struct db_pool *pool;
	struct server *srv = NULL;
	struct lmtpd d;
	int rc;

	cfg = daemon_start(PROGNAME, argc, argv, NULL);
	memset(&d, 0, sizeof(d));
	load_settings(cfg, &d.set);
	if (lmtpd_sieve_init(cfg, &error) < 0)
		log_fatal(78, "%s: sieve: %s", conf_name(cfg), error);

	if (server_listeners_parse(config_str(cfg, "lmtpd_socket"), "lmtp", false, socket_mode(cfg),
	                           &listeners, &error) < 0)
		log_fatal(78, "%s: lmtpd_socket: %s", conf_name(cfg), error);
	if (server_listeners_parse(config_str(cfg, "lmtpd_listen"), "lmtp-tcp", false, 0600,
	                           &listeners, &error) < 0)
		log_fatal(78, "%s: lmtpd_listen: %s", conf_name(cfg), error);
	check_loopback(cfg, &listeners);
	if (listeners.count == 0)
		log_fatal(78, "%s: lmtpd_socket is empty and lmtpd_listen names nothing",
		          conf_name(cfg));

	struct server_config scfg = {
	    .name = PROGNAME,
	    .listeners = listeners.items,
	    .listener_count = listeners.count,
	    .max_connections = (unsigned int)config_int(cfg, "lmtpd_max_connections"),
	    .read_timeout_ms = (int)config_duration_ms(cfg, "lmtpd_timeout"),
	    .write_timeout_ms = (int)config_duration_ms(cfg, "lmtpd_timeout"),
	    .run_user = config_str(cfg, "run_user"),
	    .handler = lmtpd_session_run,
	    .reload = reload,
	    .context = &d,
	    .quiet = true,
	};
	/* binds and drops root before any thread (the pool's included) runs */
	if (server_create(&scfg, &srv, &error) < 0)
		log_fatal(71, "%s", error); /* EX_OSERR */
	d.server = srv;

	db_pool_settings_from_config(&db_set, cfg, "lmtpd");
	pool = db_pool_create(&db_set);
	store_set.mail_root = config_str(cfg, "mail_root");
	if (store_create(&store_set, pool, &d.store, &error) != STORE_OK)
		log_fatal(73, "mail store: %s", error); /* EX_CANTCREAT */

	log_info("ready: %zu listener(s), mail_root %s, max message size %lld", listeners.count,
	         store_mail_root(d.store), (long long)d.set.max_message_size);
	rc = server_run(srv);
	if (rc < 0)
		_exit(0); /* threads still hold the shared objects: do not free them */
	server_destroy(&srv);
	store_destroy(&d.store);
	db_pool_destroy(&pool);
	server_listener_list_free(&listeners);
	config_free(&cfg);
	return 0;
}
