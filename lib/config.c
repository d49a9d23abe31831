/*
 * config.c: loading and validating sluice.conf against the settings table
 * (see config.h). A struct config is immutable once loaded; a reload builds a
 * new one and swaps it, so readers in other threads never see a half-read file.
 */
#include "config.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest line of sluice.conf. */
#define CONFIG_LINE_MAX 4096

struct config_value {
	char *text;        /* as written (or the default) */
	int64_t number;    /* parsed, for numeric and bool types */
	unsigned int line; /* 0: default */
};

struct config {
	char *path;
	struct config_value *values; /* settings_count entries */
};

const char *config_path(const char *explicit_path)
{
	const char *env;

	if (explicit_path != NULL)
		return explicit_path;
	env = getenv("SLUICE_CONF");
	if (env != NULL && env[0] != '\0')
		return env;
	return CONFIG_DEFAULT_PATH;
}

static int find_setting(const char *name, size_t len)
{
	for (unsigned int i = 0; i < settings_count; i++) {
		if (strlen(settings_table[i].name) == len &&
		    memcmp(settings_table[i].name, name, len) == 0)
			return (int)i;
	}
	return -1;
}

static int parse_number(const char *text, int64_t *value_r, const char **end_r)
{
	char *end;
	long long v;

	if (!isdigit((unsigned char)text[0]) && text[0] != '-')
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || end == text)
		return -1;
	*value_r = v;
	*end_r = end;
	return 0;
}

static int scale(int64_t *v, int64_t factor)
{
	if (*v > INT64_MAX / factor || *v < INT64_MIN / factor)
		return -1;
	*v *= factor;
	return 0;
}

int config_parse_value(enum setting_type type, const char *text, int64_t *value_r)
{
	const char *end;
	int64_t v;

	switch (type) {
	case SETTING_STRING:
		*value_r = 0;
		return 0;
	case SETTING_BOOL:
		if (strcasecmp(text, "yes") == 0 || strcasecmp(text, "true") == 0 ||
		    strcasecmp(text, "on") == 0 || strcmp(text, "1") == 0)
			*value_r = 1;
		else if (strcasecmp(text, "no") == 0 || strcasecmp(text, "false") == 0 ||
			 strcasecmp(text, "off") == 0 || strcmp(text, "0") == 0)
			*value_r = 0;
		else
			return -1;
		return 0;
	case SETTING_INT:
		if (parse_number(text, &v, &end) < 0 || *end != '\0')
			return -1;
		*value_r = v;
		return 0;
	case SETTING_SIZE:
		if (parse_number(text, &v, &end) < 0)
			return -1;
		if (*end == '\0' || strcasecmp(end, "B") == 0)
			;
		else if (strcasecmp(end, "K") == 0 || strcasecmp(end, "KB") == 0 ||
			 strcasecmp(end, "KiB") == 0) {
			if (scale(&v, 1024) < 0)
				return -1;
		} else if (strcasecmp(end, "M") == 0 || strcasecmp(end, "MB") == 0 ||
			   strcasecmp(end, "MiB") == 0) {
			if (scale(&v, 1024 * 1024) < 0)
				return -1;
		} else if (strcasecmp(end, "G") == 0 || strcasecmp(end, "GB") == 0 ||
			   strcasecmp(end, "GiB") == 0) {
			if (scale(&v, 1024LL * 1024 * 1024) < 0)
				return -1;
		} else if (strcasecmp(end, "T") == 0 || strcasecmp(end, "TB") == 0 ||
			   strcasecmp(end, "TiB") == 0) {
			if (scale(&v, 1024LL * 1024 * 1024 * 1024) < 0)
				return -1;
		} else
			return -1;
		*value_r = v;
		return 0;
	case SETTING_DURATION:
		if (parse_number(text, &v, &end) < 0)
			return -1;
		if (strcmp(end, "ms") == 0)
			;
		else if (*end == '\0' || strcmp(end, "s") == 0) {
			if (scale(&v, 1000) < 0)
				return -1;
		} else if (strcmp(end, "m") == 0) {
			if (scale(&v, 60 * 1000) < 0)
				return -1;
		} else if (strcmp(end, "h") == 0) {
			if (scale(&v, 3600 * 1000) < 0)
				return -1;
		} else if (strcmp(end, "d") == 0) {
			if (scale(&v, 86400 * 1000) < 0)
				return -1;
		} else
			return -1;
		*value_r = v;
		return 0;
	}
	return -1;
}

static const char *type_name(enum setting_type type)
{
	switch (type) {
	case SETTING_STRING:
		return "string";
	case SETTING_INT:
		return "integer";
	case SETTING_SIZE:
		return "size (e.g. 10M)";
	case SETTING_DURATION:
		return "duration (e.g. 30s, 5m)";
	case SETTING_BOOL:
		return "yes or no";
	}
	return "?";
}

/* Whether text is one of choices ("a|b|c"). */
static int is_choice(const char *choices, const char *text)
{
	size_t len = strlen(text);

	for (const char *p = choices; *p != '\0';) {
		const char *bar = strchr(p, '|');
		size_t n = bar != NULL ? (size_t)(bar - p) : strlen(p);

		if (n == len && strncmp(p, text, n) == 0)
			return 1;
		p += n + (bar != NULL);
	}
	return 0;
}

static int set_value(struct config *cfg, int idx, const char *text, unsigned int line,
		     const char **error_r)
{
	const struct setting_def *def = &settings_table[idx];
	int64_t v;

	if (config_parse_value(def->type, text, &v) < 0) {
		*error_r = errorf("%s = %s: not a valid %s", def->name, text, type_name(def->type));
		return -1;
	}
	/* a fixed set of values is checked here too, so a bad one names its file and line */
	if (def->choices != NULL && !is_choice(def->choices, text)) {
		*error_r = errorf("%s = %s: must be one of %s", def->name, text, def->choices);
		return -1;
	}
	if (def->type != SETTING_STRING && def->type != SETTING_BOOL &&
	    (v < def->min || v > def->max)) {
		*error_r = errorf("%s = %s: out of range (%lld..%lld)", def->name, text,
				  (long long)def->min, (long long)def->max);
		return -1;
	}
	free(cfg->values[idx].text);
	cfg->values[idx].text = xstrdup(text);
	cfg->values[idx].number = v;
	cfg->values[idx].line = line;
	return 0;
}

struct config *config_defaults(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	const char *error;

	cfg->values = xcalloc(settings_count, sizeof(*cfg->values));
	for (unsigned int i = 0; i < settings_count; i++) {
		if (set_value(cfg, (int)i, settings_table[i].default_value, 0, &error) < 0)
			log_panic("settings table: bad default: %s", error);
	}
	return cfg;
}

void config_free(struct config **cfgp)
{
	struct config *cfg = *cfgp;

	if (cfg == NULL)
		return;
	for (unsigned int i = 0; i < settings_count; i++)
		free(cfg->values[i].text);
	free(cfg->values);
	free(cfg->path);
	free(cfg);
	*cfgp = NULL;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
			   end[-1] == '\n'))
		*--end = '\0';
	return s;
}

static int parse_line(struct config *cfg, char *line, unsigned int lineno, const char **error_r)
{
	char *s = trim(line), *eq, *key, *value;
	const char *error;
	int idx;

	if (*s == '\0' || *s == '#')
		return 0;
	eq = strchr(s, '=');
	if (eq == NULL) {
		*error_r = "expected `key = value`";
		return -1;
	}
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	/* Allow "quoted values" so a value may keep leading/trailing spaces. */
	size_t vlen = strlen(value);
	if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
		value[vlen - 1] = '\0';
		value++;
	}
	idx = find_setting(key, strlen(key));
	if (idx < 0) {
		char esc[LOG_UNTRUSTED_BUFSZ];
		*error_r = errorf("unknown setting '%s'", log_untrusted(esc, key, strlen(key)));
		return -1;
	}
	if (cfg->values[idx].line != 0) {
		*error_r = errorf("%s set twice (first on line %u)", key, cfg->values[idx].line);
		return -1;
	}
	if (set_value(cfg, idx, value, lineno, &error) < 0) {
		*error_r = error;
		return -1;
	}
	return 0;
}

int config_load(const char *path, int missing_ok, struct config **cfg_r, const char **error_r)
{
	struct config *cfg;
	char line[CONFIG_LINE_MAX + 2];
	unsigned int lineno = 0;
	const char *error;
	FILE *f;

	f = fopen(path, "r");
	if (f == NULL) {
		if (errno == ENOENT && missing_ok) {
			*cfg_r = config_defaults();
			return 0;
		}
		*error_r = errorf("%s: %s", path, strerror(errno));
		return -1;
	}
	cfg = config_defaults();
	cfg->path = xstrdup(path);
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strlen(line) > CONFIG_LINE_MAX) {
			*error_r = errorf("%s:%u: line too long", path, lineno);
			goto fail;
		}
		if (parse_line(cfg, line, lineno, &error) < 0) {
			*error_r = errorf("%s:%u: %s", path, lineno, error);
			goto fail;
		}
	}
	if (ferror(f)) {
		*error_r = errorf("%s: read error", path);
		goto fail;
	}
	fclose(f);
	*cfg_r = cfg;
	return 0;
fail:
	fclose(f);
	config_free(&cfg);
	return -1;
}

static const struct config_value *get(const struct config *cfg, const char *name,
				      enum setting_type type)
{
	int idx = find_setting(name, strlen(name));

	if (idx < 0)
		log_panic("config: undeclared setting %s", name);
	if (settings_table[idx].type != type)
		log_panic("config: setting %s read with the wrong type", name);
	return &cfg->values[idx];
}

const char *config_str(const struct config *cfg, const char *name)
{
	return get(cfg, name, SETTING_STRING)->text;
}

int64_t config_int(const struct config *cfg, const char *name)
{
	return get(cfg, name, SETTING_INT)->number;
}

int64_t config_size(const struct config *cfg, const char *name)
{
	return get(cfg, name, SETTING_SIZE)->number;
}

int64_t config_duration_ms(const struct config *cfg, const char *name)
{
	return get(cfg, name, SETTING_DURATION)->number;
}

int config_bool(const struct config *cfg, const char *name)
{
	return get(cfg, name, SETTING_BOOL)->number != 0;
}

unsigned int config_line(const struct config *cfg, const char *name)
{
	int idx = find_setting(name, strlen(name));

	if (idx < 0)
		log_panic("config: undeclared setting %s", name);
	return cfg->values[idx].line;
}

const char *config_file(const struct config *cfg)
{
	return cfg->path;
}

const char *config_where(const struct config *cfg, const char *name)
{
	return errorf("%s:%u: %s", cfg->path != NULL ? cfg->path : "defaults",
		      config_line(cfg, name), name);
}

void config_dump(const struct config *cfg, FILE *out, int only_set)
{
	for (unsigned int i = 0; i < settings_count; i++) {
		if (only_set && cfg->values[i].line == 0)
			continue;
		fprintf(out, "%s = %s\n", settings_table[i].name, cfg->values[i].text);
	}
}
