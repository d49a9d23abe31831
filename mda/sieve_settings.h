/*
 * sieve_settings.h: the sieve_* settings of sluice.conf turned into the
 * structures the Sieve library takes, so sluice-lmtpd, sluice-sieved and
 * sluice-sieve configure it the same way.
 */
#ifndef SLUICE_SIEVE_SETTINGS_H
#define SLUICE_SIEVE_SETTINGS_H

#include "config.h"
#include "sieve.h"

struct sieve_settings {
	struct sieve_env env;                 /* limits, spam/virus sources; no callbacks */
	struct sieve_compile_options compile; /* extensions and size limits; no loader */
	char *global_dir;                     /* where include :global and global scripts live */
	char **before, **after;               /* global script names run around the user's */
	size_t nbefore, nafter;
	/* storage behind env.spam*.text_values and env.virus.text_values */
	char **spam_text, **virus_text;
	size_t nspam_text, nvirus_text;
	char *spam_header, *virus_header;
};

/* Fill from a loaded configuration (NULL: the defaults). */
int sieve_settings_load(const struct config *cfg, struct sieve_settings *s, const char **error_r);
void sieve_settings_free(struct sieve_settings *s);

#endif
