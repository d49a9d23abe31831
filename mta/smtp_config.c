/*
 * smtp_config.c: sluice-smtpd's settings, read from sluice.conf into a
 * snapshot (see smtp_config.h). Every smtpd_ setting is read here, checked
 * for combinations the table's ranges cannot express, and named with its
 * file and line when it is wrong. The listeners, the database pool and the
 * TLS certificate's paths are read by smtp_main.c at start-up (listeners and
 * the pool are not changed by a reload; the certificate is reloaded).
 */
#include "smtp_config.h"

#include "config.h"
#include "log.h"
#include "smtp_policy.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void conf_free(struct smtpd_conf *conf)
{
	smtp_networks_free(&conf->trusted);
	free(conf->postmaster_buf);
	config_free(&conf->cfg);
	free(conf);
}

/* Fill hostname from smtpd_hostname or the system's name. */
static void set_hostname(struct smtpd_settings *set, const struct config *cfg)
{
	const char *name = config_str(cfg, "smtpd_hostname");

	if (name[0] != '\0') {
		snprintf(set->hostname, sizeof(set->hostname), "%s", name);
		return;
	}
	if (gethostname(set->hostname, sizeof(set->hostname) - 1) != 0 || set->hostname[0] == '\0')
		snprintf(set->hostname, sizeof(set->hostname), "localhost");
	set->hostname[sizeof(set->hostname) - 1] = '\0';
}

int smtpd_conf_load(const char *path, struct smtpd_conf **conf_r, const char **error_r)
{
	struct smtpd_conf *conf = xcalloc(1, sizeof(*conf));
	struct smtpd_settings *set = &conf->set;
	struct config *cfg;
	const char *mode, *error;
	struct mail_address pm;

	if (config_load(config_path(path), 0, &conf->cfg, error_r) < 0) {
		free(conf);
		return -1;
	}
	cfg = conf->cfg;
	conf->refs = 1;
	set_hostname(set, cfg);
	set->max_message_size = (uint64_t)config_size(cfg, "smtpd_max_message_size");
	set->max_recipients = (unsigned int)config_int(cfg, "smtpd_max_recipients");
	set->max_errors = (unsigned int)config_int(cfg, "smtpd_max_errors");
	set->max_junk = (unsigned int)config_int(cfg, "smtpd_max_junk_commands");
	set->max_auth_failures = (unsigned int)config_int(cfg, "smtpd_max_auth_failures");
	set->timeout_ms = (int)config_duration_ms(cfg, "smtpd_timeout");
	set->session_timeout_ms = config_duration_ms(cfg, "smtpd_session_timeout");
	set->received_auth_user = config_bool(cfg, "smtpd_received_auth_user");
	set->auth_plaintext_trusted = config_bool(cfg, "smtpd_auth_plaintext_trusted");
	set->sender_login_check = config_bool(cfg, "smtpd_sender_login_check");
	set->reverse_dns = config_bool(cfg, "smtpd_reverse_dns");
	set->queue_dir = config_str(cfg, "queue_directory");
	set->queue_min_free = (uint64_t)config_size(cfg, "smtpd_queue_min_free");
	set->auth_socket = config_str(cfg, "auth_socket");
	set->auth_timeout_ms = config_duration_ms(cfg, "smtpd_auth_timeout");
	set->connection_rate = (unsigned int)config_int(cfg, "smtpd_connection_rate");

	/* the settings table allows only reject or normalize */
	mode = config_str(cfg, "smtpd_bare_newline");
	set->bare_newline = strcmp(mode, "reject") == 0 ? SMTP_BARE_NEWLINE_REJECT
	                                                : SMTP_BARE_NEWLINE_NORMALIZE;

	if (config_str(cfg, "smtpd_postmaster")[0] != '\0')
		conf->postmaster_buf = xstrdup(config_str(cfg, "smtpd_postmaster"));
	else
		conf->postmaster_buf = xasprintf("postmaster@%s", set->hostname);
	if (addr_parse_mailbox(conf->postmaster_buf, strlen(conf->postmaster_buf), ADDR_SMTPUTF8,
	                       &pm, &error) < 0 ||
	    pm.domain[0] == '\0') {
		*error_r =
		    errorf("%s: '%s': %s", config_where(cfg, "smtpd_postmaster"), conf->postmaster_buf,
		           pm.domain[0] == '\0' ? "needs a domain" : error);
		goto fail;
	}
	set->postmaster = conf->postmaster_buf;

	if (smtp_networks_parse(config_str(cfg, "trusted_networks"), &conf->trusted, &error) < 0) {
		*error_r = errorf("%s: %s", config_where(cfg, "trusted_networks"), error);
		goto fail;
	}
	conf->rset.delimiters = config_str(cfg, "recipient_delimiter");
	conf->rset.max_depth = (unsigned int)config_int(cfg, "smtpd_alias_max_depth");
	conf->rset.max_destinations = (unsigned int)config_int(cfg, "smtpd_alias_max_destinations");
	*conf_r = conf;
	return 0;
fail:
	conf_free(conf);
	return -1;
}

struct smtpd_conf *smtpd_conf_get(struct smtpd *d)
{
	struct smtpd_conf *conf;

	pthread_mutex_lock(&d->lock);
	conf = d->conf;
	conf->refs++;
	pthread_mutex_unlock(&d->lock);
	return conf;
}

void smtpd_conf_unref(struct smtpd *d, struct smtpd_conf **confp)
{
	struct smtpd_conf *conf = *confp;
	bool last;

	if (conf == NULL)
		return;
	*confp = NULL;
	pthread_mutex_lock(&d->lock);
	last = --conf->refs == 0;
	pthread_mutex_unlock(&d->lock);
	if (last)
		conf_free(conf);
}

void smtpd_conf_swap(struct smtpd *d, struct smtpd_conf *conf)
{
	struct smtpd_conf *old;

	pthread_mutex_lock(&d->lock);
	old = d->conf;
	d->conf = conf;
	pthread_mutex_unlock(&d->lock);
	smtpd_conf_unref(d, &old);
}
