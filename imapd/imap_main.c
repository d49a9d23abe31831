/*
 * imap_main.c: sluice-imapd, the IMAP4rev1/IMAP4rev2 server over the mail
 * store.
 *
 * Usage: sluice-imapd [-c sluice.conf] [-f]. Loads the configuration,
 * binds imapd_listen (STARTTLS) and imapd_listen_tls (implicit TLS, RFC
 * 8314), drops privileges to run_user, and serves one thread per
 * connection until SIGTERM (idle sessions get BYE). SIGHUP reloads the
 * TLS certificate. Owns the process-wide objects: the configuration, the
 * PostgreSQL pool (imapd_db_url, a role in sluice_imapd), the mail store,
 * the notification listener; sessions only borrow them. Stays in the
 * foreground; logs to stderr unless log_syslog is set.
 */
#include "imap_notify.h"
#include "imap_view_cache.h"
#include "imapd.h"

#include "config.h"
#include "daemon.h"
#include "db.h"
#include "log.h"
#include "sasl_server.h"
#include "server.h"
#include "tls.h"
#include "util.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define PROGNAME "sluice-imapd"

static const char *conf_name(const struct config *cfg)
{
	return config_file(cfg) != NULL ? config_file(cfg) : "defaults";
}

static void load_settings(const struct config *cfg, struct imapd_settings *set)
{
	memset(set, 0, sizeof(*set));
	snprintf(set->hostname, sizeof(set->hostname), "%s", config_str(cfg, "imapd_hostname"));
	if (set->hostname[0] == '\0' && gethostname(set->hostname, sizeof(set->hostname) - 1) < 0)
		snprintf(set->hostname, sizeof(set->hostname), "localhost");
	set->plaintext_auth = config_bool(cfg, "imapd_plaintext_auth");
	set->max_line = (size_t)config_size(cfg, "imapd_max_line_length");
	set->max_command = (size_t)config_size(cfg, "imapd_max_command_size");
	set->max_message_size = config_size(cfg, "imapd_max_message_size");
	set->max_bad_commands = (unsigned int)config_int(cfg, "imapd_max_bad_commands");
	set->max_per_user = (unsigned int)config_int(cfg, "imapd_max_per_user");
	set->idle_timeout_ms = config_duration_ms(cfg, "imapd_idle_timeout");
	set->login_timeout_ms = config_duration_ms(cfg, "imapd_login_timeout");
	set->idle_keepalive_ms = config_duration_ms(cfg, "imapd_idle_keepalive");
	set->auth_timeout_ms = config_duration_ms(cfg, "imapd_auth_timeout");
	set->auth_socket = config_str(cfg, "auth_socket");
	if (set->max_command < set->max_line)
		log_fatal(78, "%s:%u: imapd_max_command_size must be at least imapd_max_line_length",
			  conf_name(cfg), config_line(cfg, "imapd_max_command_size"));
}

static void reload(struct server *srv, void *context)
{
	struct imapd *d = context;
	const char *error;

	(void)srv;
	if (d->tls == NULL)
		return;
	if (tls_holder_reload(d->tls, NULL, NULL, &error) < 0)
		log_error("TLS reload failed, the old certificate stays: %s", error);
	else
		log_info("TLS certificate reloaded");
}

/* Thousands of idle sessions need as many descriptors. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open files limit");
	}
}

int main(int argc, char **argv)
{
	const char *error = NULL;
	struct server_listener_list listeners = {0};
	struct db_pool_settings db_set;
	struct store_settings store_set;
	struct config *cfg;
	struct server *srv = NULL;
	struct imapd d;
	const char *cert, *key;
	int rc;
	size_t plain_count;

	/* towlower() for SEARCH and SORT needs a UTF-8 character type */
	setlocale(LC_CTYPE, "C.UTF-8");
	cfg = daemon_start(PROGNAME, argc, argv, NULL);
	memset(&d, 0, sizeof(d));
	pthread_mutex_init(&d.users_lock, NULL);
	load_settings(cfg, &d.set);

	cert = config_str(cfg, "tls_cert_file");
	key = config_str(cfg, "tls_key_file");
	if (cert[0] != '\0' && tls_holder_create(cert, key, &d.tls, &error) < 0)
		log_fatal(78, "%s: TLS: %s", conf_name(cfg), error);
	if (server_listeners_parse(config_str(cfg, "imapd_listen"), "imap", false, 0, &listeners,
				   &error) < 0)
		log_fatal(78, "%s:%u: imapd_listen: %s", conf_name(cfg),
			  config_line(cfg, "imapd_listen"), error);
	plain_count = listeners.count;
	if (server_listeners_parse(config_str(cfg, "imapd_listen_tls"), "imaps", true, 0,
				   &listeners, &error) < 0)
		log_fatal(78, "%s:%u: imapd_listen_tls: %s", conf_name(cfg),
			  config_line(cfg, "imapd_listen_tls"), error);
	if (listeners.count > plain_count && d.tls == NULL)
		log_fatal(78, "%s:%u: imapd_listen_tls needs tls_cert_file and tls_key_file",
			  conf_name(cfg), config_line(cfg, "imapd_listen_tls"));
	if (listeners.count == 0)
		log_fatal(78, "%s: imapd_listen and imapd_listen_tls are both empty", conf_name(cfg));
	if (sasl_server_setup(&error) < 0)
		log_fatal(70, "%s", error); /* EX_SOFTWARE */
	raise_fd_limit();

	struct server_config scfg = {
	    .name = PROGNAME,
	    .listeners = listeners.items,
	    .listener_count = listeners.count,
	    .max_connections = (unsigned int)config_int(cfg, "imapd_max_connections"),
	    .max_per_ip = (unsigned int)config_int(cfg, "imapd_max_per_ip"),
	    .read_timeout_ms = (int)d.set.login_timeout_ms,
	    .write_timeout_ms = IMAPD_WRITE_TIMEOUT_MS,
	    .run_user = config_str(cfg, "run_user"),
	    .tls = d.tls,
	    .handler = imap_session_run,
	    .refuse = imap_session_refuse,
	    .reload = reload,
	    .context = &d,
	};
	/* binds and drops root before any thread (the pool's included) runs */
	if (server_create(&scfg, &srv, &error) < 0)
		log_fatal(71, "%s", error); /* EX_OSERR */
	d.server = srv;

	db_pool_settings_from_config(&db_set, cfg, "imapd");
	d.pool = db_pool_create(&db_set);
	store_set.mail_root = config_str(cfg, "mail_root");
	if (store_create(&store_set, d.pool, &d.store, &error) != STORE_OK)
		log_fatal(73, "mail store: %s", error); /* EX_CANTCREAT */
	if (imap_notify_create(&db_set, &d.notify, &error) < 0)
		log_fatal(71, "%s", error);
	d.view_cache = imap_view_cache_create((size_t)config_int(cfg, "imapd_view_cache_messages"));

	for (size_t i = 0; i < listeners.count; i++)
		log_info("listening on %s port %u%s", listeners.items[i].name,
			 server_listener_port(srv, i), listeners.items[i].implicit_tls ? " (TLS)" : "");
	log_info("ready: mail_root %s", store_mail_root(d.store));
	rc = server_run(srv);
	if (rc < 0)
		_exit(0); /* threads still hold the shared objects: do not free them */
	server_destroy(&srv);
	imap_notify_destroy(&d.notify);
	imap_view_cache_destroy(&d.view_cache);
	store_destroy(&d.store);
	db_pool_destroy(&d.pool);
	tls_holder_destroy(&d.tls);
	server_listener_list_free(&listeners);
	config_free(&cfg);
	pthread_mutex_destroy(&d.users_lock);
	return 0;
}
