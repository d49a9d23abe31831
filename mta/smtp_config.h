/*
 * smtp_config.h: sluice-smtpd's settings snapshots: built from sluice.conf
 * at start-up and on SIGHUP, shared by reference with the sessions that
 * started under them, freed when the last one ends.
 */
#ifndef SLUICE_SMTP_CONFIG_H
#define SLUICE_SMTP_CONFIG_H

#include "smtp_session.h"

/* Load path (NULL: the default path rules of config_path()) into a new snapshot. */
int smtpd_conf_load(const char *path, struct smtpd_conf **conf_r, const char **error_r);
/* The current snapshot, with a reference for the caller. */
struct smtpd_conf *smtpd_conf_get(struct smtpd *d);
/* Drop a reference (the last one frees); sets *conf to NULL. */
void smtpd_conf_unref(struct smtpd *d, struct smtpd_conf **conf);
/* Make conf current (it comes with one reference, which d takes over). */
void smtpd_conf_swap(struct smtpd *d, struct smtpd_conf *conf);

#endif
