/*
 * config.h: sluice.conf, the one configuration file of every Sluice program.
 *
 * The file is `key = value` lines; `#` starts a comment line; blank lines are
 * ignored. Every key is declared once in the settings table (settings.c) with
 * its type, default, range and the program that reads it; the key's prefix
 * names that program (smtpd_, imapd_, authd_ ...), keys without a program
 * prefix are shared. Unknown keys and bad values are errors naming the file
 * and line. Values are validated at load, so the getters cannot fail: asking
 * for an undeclared key or with the wrong type is a bug and panics.
 */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stdint.h>
#include <stdio.h>

/* The file read when neither -c nor SLUICE_CONF names another. */
#define CONFIG_DEFAULT_PATH "/etc/sluice/sluice.conf"

enum setting_type {
	SETTING_STRING,
	SETTING_INT,      /* plain integer */
	SETTING_SIZE,     /* bytes; suffixes K, M, G, T (powers of 1024) */
	SETTING_DURATION, /* milliseconds; suffixes ms, s (default), m, h, d */
	SETTING_BOOL,     /* yes/no, true/false, on/off, 1/0 */
};

struct setting_def {
	const char *name;
	enum setting_type type;
	const char *default_value;
	int64_t min, max; /* range for numeric types, in the type's unit */
	const char *help;
	const char *choices; /* SETTING_STRING: the values allowed, "a|b|c" (NULL: any) */
};

/* The settings table, in settings.c. */
extern const struct setting_def settings_table[];
extern const unsigned int settings_count;

struct config;

/* The path to load: `explicit_path` if not NULL, else $SLUICE_CONF, else the default. */
const char *config_path(const char *explicit_path);
/* Load and validate a file. A missing file is an error unless missing_ok. */
int config_load(const char *path, int missing_ok, struct config **cfg_r, const char **error_r);
/* A configuration holding only the defaults. */
struct config *config_defaults(void);
void config_free(struct config **cfg);

/* Typed getters; each panics on an undeclared name or a type mismatch. */
const char *config_str(const struct config *cfg, const char *name);
int64_t config_int(const struct config *cfg, const char *name);
int64_t config_size(const struct config *cfg, const char *name);
int64_t config_duration_ms(const struct config *cfg, const char *name);
int config_bool(const struct config *cfg, const char *name);
/* Where a value came from: the file's line number, or 0 for the default. */
unsigned int config_line(const struct config *cfg, const char *name);
/* The file the configuration was loaded from (NULL for defaults only). */
const char *config_file(const struct config *cfg);
/* "file:line: name" of a setting, for error messages (in errorf()'s buffer). */
const char *config_where(const struct config *cfg, const char *name);

/* Print `name = value` for every setting (only non-default ones when only_set). */
void config_dump(const struct config *cfg, FILE *out, int only_set);

/* Parse a value of a type; exposed for tests and for command-line options. */
int config_parse_value(enum setting_type type, const char *text, int64_t *value_r);

#endif
