/*
 * smtp_main.c: sluice-smtpd, the SMTP server: port 25 (inbound MX), 587
 * (submission), 465 (submission over implicit TLS) and a UNIX socket for
 * trusted local programs.
 *
 * Usage: sluice-smtpd [-c sluice.conf] [-f]. Loads the configuration,
 * creates the queue folders (owned by run_user), binds every listener,
 * drops privileges, starts Cyrus SASL, and serves one thread per connection
 * (smtp_session.c) until SIGTERM. SIGHUP loads sluice.conf again into a new
 * settings snapshot (sessions keep the one they started with) and reloads
 * the TLS certificate; listeners and the database pool stay as they are.
 * Owns the process-wide objects; sessions only borrow them.
 */
#include "config.h"
#include "daemon.h"
#include "db.h"
#include "iostream.h"
#include "log.h"
#include "queue_dir.h"
#include "server.h"
#include "smtp_config.h"
#include "smtp_policy.h"
#include "smtp_sasl.h"
#include "smtp_session.h"
#include "tls.h"
#include "util.h"

#include <pwd.h>
#include <unistd.h>

#define PROGNAME "sluice-smtpd"

static void listeners_from_config(const struct config *cfg, bool have_tls,
                                  struct server_listener_list *list)
{
	static const struct {
		const char *setting, *name;
		bool implicit_tls;
	} tcp[] = {
	    {"smtpd_listen", "smtp", false},
	    {"smtpd_submission_listen", "submission", false},
	    {"smtpd_submissions_listen", "submissions", true},
	};
	const char *error, *inject = config_str(cfg, "smtpd_inject_socket");
	mode_t mode;

	for (size_t i = 0; i < ARRAY_SIZE(tcp); i++) {
		const char *spec = config_str(cfg, tcp[i].setting);

		if (spec[0] == '\0')
			continue;
		if (tcp[i].implicit_tls && !have_tls)
			log_fatal(78, "%s: needs tls_cert_file and tls_key_file",
			          config_where(cfg, tcp[i].setting));
		if (server_listeners_parse(spec, tcp[i].name, tcp[i].implicit_tls, 0, list,
		                           &error) < 0)
			log_fatal(78, "%s: %s", config_where(cfg, tcp[i].setting), error);
	}
	if (config_str(cfg, "smtpd_submission_listen")[0] != '\0' && !have_tls)
		log_warn("no tls_cert_file: submission offers no STARTTLS, so AUTH only to trusted "
		         "networks with smtpd_auth_plaintext_trusted");
	if (inject[0] != '\0') {
		if (daemon_octal_mode(cfg, "smtpd_inject_socket_mode", &mode, &error) < 0)
			log_fatal(78, "%s", error);
		if (server_listeners_parse(inject, "inject", false, mode, list, &error) < 0)
			log_fatal(78, "%s: %s", config_where(cfg, "smtpd_inject_socket"), error);
	}
	if (list->count == 0)
		log_fatal(
		    78,
		    "sluice-smtpd: no listener configured (smtpd_listen and the others are empty)");
}

static void refuse(struct server_conn *conn, enum server_refusal why)
{
	struct smtpd *d = conn->context;

	(void)iostream_printf(conn->stream, "421 4.7.0 %s Error: too many connections%s\r\n",
	                      d->conf->set.hostname,
	                      why == SERVER_REFUSE_PER_IP ? " from you" : "");
	(void)iostream_flush(conn->stream);
}

static void reload(struct server *srv, void *context)
{
	struct smtpd *d = context;
	struct smtpd_conf *conf;
	const char *error;

	(void)srv;
	if (smtpd_conf_load(d->conf_path, &conf, &error) < 0) {
		log_error("reload: %s (keeping the old settings)", error);
		return;
	}
	if (d->tls != NULL && tls_holder_reload(d->tls, config_str(conf->cfg, "tls_cert_file"),
	                                        config_str(conf->cfg, "tls_key_file"), &error) < 0)
		log_error("reload: TLS: %s (keeping the old certificate)", error);
	smtpd_conf_swap(d, conf);
	log_info("reloaded %s (listeners and the database pool need a restart to change)",
	         config_file(conf->cfg) != NULL ? config_file(conf->cfg) : "defaults");
}

/* Make the queue folders, owned by run_user when we are root. */
static void queue_setup(const struct config *cfg)
{
	const char *user = config_str(cfg, "run_user"), *error;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (geteuid() == 0 && user[0] != '\0') {
		struct passwd *pw = getpwnam(user);

		if (pw == NULL)
			log_fatal(67, "%s: no such user '%s'", config_where(cfg, "run_user"),
			          user); /* EX_NOUSER */
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (queue_dirs_init(config_str(cfg, "queue_directory"), uid, gid, &error) < 0)
		log_fatal(73, "queue: %s", error); /* EX_CANTCREAT */
}

int main(int argc, char **argv)
{
	struct smtpd d = {0};
	struct server_listener_list listeners = {0};
	struct db_pool_settings db_set;
	const struct config *cfg;
	const char *error;
	int rc;

	/* sluice.conf is loaded into a settings snapshot that SIGHUP replaces */
	d.conf_path = daemon_init(PROGNAME, argc, argv);
	pthread_mutex_init(&d.lock, NULL);
	if (smtpd_conf_load(d.conf_path, &d.conf, &error) < 0)
		log_fatal(78, "%s", error); /* EX_CONFIG */
	cfg = d.conf->cfg;
	daemon_apply_logging(PROGNAME, cfg);

	if (config_str(cfg, "tls_cert_file")[0] != '\0' &&
	    tls_holder_create(config_str(cfg, "tls_cert_file"), config_str(cfg, "tls_key_file"),
	                      &d.tls, &error) < 0)
		log_fatal(78, "%s: %s", config_where(cfg, "tls_cert_file"), error);
	listeners_from_config(cfg, d.tls != NULL, &listeners);
	queue_setup(cfg);

	struct server_config scfg = {
	    .name = PROGNAME,
	    .listeners = listeners.items,
	    .listener_count = listeners.count,
	    .max_connections = (unsigned int)config_int(cfg, "smtpd_max_connections"),
	    .max_per_ip = (unsigned int)config_int(cfg, "smtpd_max_per_ip"),
	    .read_timeout_ms = d.conf->set.timeout_ms,
	    .write_timeout_ms = d.conf->set.timeout_ms,
	    .run_user = config_str(cfg, "run_user"),
	    .tls = d.tls,
	    .handler = smtp_session_run,
	    .refuse = refuse,
	    .reload = reload,
	    .context = &d,
	    .quiet = true, /* smtp_session.c logs "connect from name[ip]" itself */
	};
	/* Binds the sockets and drops root before any thread (the pool's included) runs. */
	if (server_create(&scfg, &d.srv, &error) < 0)
		log_fatal(71, "%s", error); /* EX_OSERR */
	server_listener_list_free(&listeners);
	if (smtp_sasl_init(&error) < 0)
		log_fatal(69, "%s", error); /* EX_UNAVAILABLE */

	db_pool_settings_from_config(&db_set, cfg, "smtpd");
	d.pool = db_pool_create(&db_set);
	d.rate = smtp_ratelimit_create();
	log_info("ready: %s, max message size %llu, queue %s", d.conf->set.hostname,
	         (unsigned long long)d.conf->set.max_message_size, d.conf->set.queue_dir);
	rc = server_run(d.srv);
	if (rc < 0)
		_exit(0); /* threads still hold the shared objects: do not free them */
	server_destroy(&d.srv);
	smtp_ratelimit_destroy(&d.rate);
	db_pool_destroy(&d.pool);
	tls_holder_destroy(&d.tls);
	smtpd_conf_unref(&d, &d.conf);
	pthread_mutex_destroy(&d.lock);
	return 0;
}
