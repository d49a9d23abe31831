/*
 * sieved_main.c: sluice-sieved, the ManageSieve server (RFC 5804).
 *
 * Usage: sluice-sieved [-c sluice.conf] [-f]. Loads the configuration and
 * the Sieve settings (the compiler's extensions and limits, so the SIEVE
 * capability is exactly what uploads are compiled with), loads the TLS
 * certificate for STARTTLS, binds sieved_listen (port 4190 by default),
 * drops privileges to run_user, and serves one thread per connection until
 * SIGTERM; SIGHUP reloads the certificate. Owns the process-wide objects:
 * the configuration, the PostgreSQL pool (sieved_db_url, a role in
 * sluice_sieved), the TLS holder and Cyrus SASL's global state; sessions
 * only borrow them. Stays in the foreground; logs to stderr unless
 * log_syslog is set.
 */
#include "sieved.h"

#include "config.h"
#include "daemon.h"
#include "db.h"
#include "iostream.h"
#include "log.h"
#include "sasl_server.h"
#include "server.h"
#include "tls.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROGNAME "sluice-sieved"

static void load_settings(const struct config *cfg, struct sieved *d)
{
	struct sieved_settings *set = &d->set;
	const char *plain = config_str(cfg, "sieved_plaintext_auth"), *error;
	struct sbuf caps = {0};

	/* the settings table allows only no, loopback or yes */
	if (strcmp(plain, "no") == 0)
		set->plaintext_auth = SIEVED_PLAINTEXT_NEVER;
	else if (strcmp(plain, "yes") == 0)
		set->plaintext_auth = SIEVED_PLAINTEXT_ALWAYS;
	else
		set->plaintext_auth = SIEVED_PLAINTEXT_LOOPBACK;
	set->auth_socket = config_str(cfg, "auth_socket");
	set->auth_timeout_ms = config_duration_ms(cfg, "sieved_auth_timeout");
	set->session_timeout_ms = config_duration_ms(cfg, "sieved_session_timeout");
	set->max_scripts = (unsigned int)config_int(cfg, "sieved_max_scripts");
	set->max_name_chars = (unsigned int)config_int(cfg, "sieved_max_script_name");
	set->max_line = (size_t)config_size(cfg, "sieved_max_line_length");
	set->max_errors = (unsigned int)config_int(cfg, "sieved_max_errors");
	set->max_auth_failures = (unsigned int)config_int(cfg, "sieved_max_auth_failures");
	set->implementation = "Sluice " SLUICE_VERSION;

	if (sieve_settings_load(cfg, &d->sieve, &error) < 0)
		log_fatal(78, "%s: %s", config_file(cfg) != NULL ? config_file(cfg) : "defaults",
		          error);
	set->max_script_size = d->sieve.compile.max_script_size;
	set->max_redirects = d->sieve.env.limits.max_redirects;
	/* RFC 5804 1.7: SIEVE lists what the compiler accepts, nothing more */
	sieve_extensions_string(d->sieve.compile.extensions, &caps);
	d->sieve_capability = xstrdup(sbuf_str(&caps));
	sbuf_free(&caps);
	d->notify_mailto = (d->sieve.compile.extensions & (UINT64_C(1) << SIEVE_EXT_ENOTIFY)) != 0;
}

static void refuse(struct server_conn *conn, enum server_refusal why)
{
	(void)iostream_printf(conn->stream, "BYE \"Too many connections%s\"\r\n",
	                      why == SERVER_REFUSE_PER_IP ? " from your address" : "");
	(void)iostream_flush(conn->stream);
}

static void reload(struct server *srv, void *context)
{
	struct sieved *d = context;
	const char *error;

	(void)srv;
	if (d->tls != NULL && tls_holder_reload(d->tls, NULL, NULL, &error) < 0) {
		log_error("reload: TLS: %s (keeping the old certificate)", error);
		return;
	}
	log_info("reloaded the TLS certificate (other settings need a restart)");
}

int main(int argc, char **argv)
{
	static struct sieved daemon;
	struct server_listener_list listeners = {0};
	struct db_pool_settings db_set;
	struct config *cfg;
	struct sieved *d = &daemon;
	const char *error = NULL;
	int rc;

	cfg = daemon_start(PROGNAME, argc, argv, NULL);
	load_settings(cfg, d);

	if (config_str(cfg, "tls_cert_file")[0] != '\0' &&
	    tls_holder_create(config_str(cfg, "tls_cert_file"), config_str(cfg, "tls_key_file"),
	                      &d->tls, &error) < 0)
		log_fatal(78, "%s: %s", config_where(cfg, "tls_cert_file"), error);
	if (d->tls == NULL && d->set.plaintext_auth != SIEVED_PLAINTEXT_ALWAYS)
		log_warn("no TLS certificate (tls_cert_file): only %s can log in",
		         d->set.plaintext_auth == SIEVED_PLAINTEXT_LOOPBACK ? "loopback clients"
		                                                            : "nobody");
	if (server_listeners_parse(config_str(cfg, "sieved_listen"), "managesieve", false, 0600,
	                           &listeners, &error) < 0)
		log_fatal(78, "%s: %s", config_where(cfg, "sieved_listen"), error);
	if (listeners.count == 0)
		log_fatal(78, "%s: no listener", config_where(cfg, "sieved_listen"));

	struct server_config scfg = {
	    .name = PROGNAME,
	    .listeners = listeners.items,
	    .listener_count = listeners.count,
	    .max_connections = (unsigned int)config_int(cfg, "sieved_max_connections"),
	    .max_per_ip = (unsigned int)config_int(cfg, "sieved_max_per_ip"),
	    .read_timeout_ms = (int)config_duration_ms(cfg, "sieved_timeout"),
	    .write_timeout_ms = (int)config_duration_ms(cfg, "sieved_timeout"),
	    .run_user = config_str(cfg, "run_user"),
	    .tls = d->tls,
	    .handler = sieved_session_run,
	    .refuse = refuse,
	    .reload = reload,
	    .context = d,
	};
	/* binds and drops root before any thread (the pool's included) runs */
	if (server_create(&scfg, &d->server, &error) < 0)
		log_fatal(71, "%s", error); /* EX_OSERR */
	if (sasl_server_setup(&error) < 0)
		log_fatal(69, "%s", error); /* EX_UNAVAILABLE */

	db_pool_settings_from_config(&db_set, cfg, "sieved");
	d->pool = db_pool_create(&db_set);
	log_info("ready: %zu listener(s) on port %u, STARTTLS %s, max script size %zu",
	         listeners.count, server_listener_port(d->server, 0), d->tls != NULL ? "on" : "off",
	         d->set.max_script_size);
	rc = server_run(d->server);
	if (rc < 0)
		_exit(0); /* threads still hold the shared objects: do not free them */
	server_destroy(&d->server);
	db_pool_destroy(&d->pool);
	tls_holder_destroy(&d->tls);
	sieve_settings_free(&d->sieve);
	free(d->sieve_capability);
	server_listener_list_free(&listeners);
	config_free(&cfg);
	return 0;
}
