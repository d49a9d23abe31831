/*
 * sieve_settings.c: reads the sieve_* settings (declared in lib/settings.c)
 * into struct sieve_settings. Values were range-checked when the file was
 * loaded; what is left to check here is the extension list and the score
 * types, reported with the setting's name.
 */
#include "sieve_settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char **split_words(const char *s, size_t *n_r)
{
	char *copy = xstrdup(s), *save = NULL, *w;
	char **words = NULL;
	size_t n = 0;

	for (w = strtok_r(copy, " \t,", &save); w != NULL; w = strtok_r(NULL, " \t,", &save)) {
		words = xrealloc(words, (n + 1) * sizeof(*words));
		words[n++] = xstrdup(w);
	}
	free(copy);
	*n_r = n;
	return words;
}

static void free_words(char **w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(w[i]);
	free(w);
}

static int score_source(const struct config *cfg, const char *prefix,
                        struct sieve_score_source *src, char **header, char ***text, size_t *ntext,
                        const char **error_r)
{
	char key[64];
	const char *type;

	snprintf(key, sizeof(key), "%s_header", prefix);
	*header = xstrdup(config_str(cfg, key));
	src->header = *header;
	snprintf(key, sizeof(key), "%s_max", prefix);
	src->max = (double)config_int(cfg, key);
	snprintf(key, sizeof(key), "%s_type", prefix);
	type = config_str(cfg, key);
	if (strcmp(type, "score") == 0)
		src->type = SIEVE_SCORE_NUMBER;
	else if (strcmp(type, "strlen") == 0)
		src->type = SIEVE_SCORE_STRLEN;
	else if (strcmp(type, "text") == 0)
		src->type = SIEVE_SCORE_TEXT;
	else {
		*error_r = errorf("%s = %s: must be score, strlen or text", key, type);
		return -1;
	}
	snprintf(key, sizeof(key), "%s_text", prefix);
	*text = split_words(config_str(cfg, key), ntext);
	src->text_values = (const char *const *)*text;
	src->text_count = *ntext;
	return 0;
}

int sieve_settings_load(const struct config *cfg, struct sieve_settings *s, const char **error_r)
{
	struct config *defaults = NULL;
	const char *exts;
	int r = 0;

	memset(s, 0, sizeof(*s));
	if (cfg == NULL)
		cfg = defaults = config_defaults();
	sieve_env_default(&s->env);
	sieve_compile_options_default(&s->compile);
	exts = config_str(cfg, "sieve_extensions");
	if (*exts != '\0' && sieve_extensions_parse(exts, &s->compile.extensions, error_r) < 0) {
		*error_r = errorf("sieve_extensions: %s", *error_r);
		r = -1;
	}
	s->compile.max_script_size = (size_t)config_size(cfg, "sieve_max_script_size");
	s->env.limits.max_actions = (unsigned int)config_int(cfg, "sieve_max_actions");
	s->env.limits.max_redirects = (unsigned int)config_int(cfg, "sieve_max_redirects");
	s->env.limits.max_cpu_ms = (unsigned int)config_duration_ms(cfg, "sieve_max_cpu_time");
	s->env.limits.vacation_min_period =
	    (uint64_t)config_duration_ms(cfg, "sieve_vacation_min_period") / 1000;
	s->env.limits.vacation_max_period =
	    (uint64_t)config_duration_ms(cfg, "sieve_vacation_max_period") / 1000;
	s->env.limits.vacation_default_period =
	    (uint64_t)config_duration_ms(cfg, "sieve_vacation_default_period") / 1000;
	if (r == 0 && score_source(cfg, "sieve_spamtest", &s->env.spam, &s->spam_header,
	                           &s->spam_text, &s->nspam_text, error_r) < 0)
		r = -1;
	s->env.spam_percent = s->env.spam;
	if (r == 0 && score_source(cfg, "sieve_virustest", &s->env.virus, &s->virus_header,
	                           &s->virus_text, &s->nvirus_text, error_r) < 0)
		r = -1;
	s->global_dir = xstrdup(config_str(cfg, "sieve_global_dir"));
	s->before = split_words(config_str(cfg, "sieve_before"), &s->nbefore);
	s->after = split_words(config_str(cfg, "sieve_after"), &s->nafter);
	config_free(&defaults);
	if (r < 0)
		sieve_settings_free(s);
	return r;
}

void sieve_settings_free(struct sieve_settings *s)
{
	free(s->global_dir);
	free(s->spam_header);
	free(s->virus_header);
	free_words(s->before, s->nbefore);
	free_words(s->after, s->nafter);
	free_words(s->spam_text, s->nspam_text);
	free_words(s->virus_text, s->nvirus_text);
	memset(s, 0, sizeof(*s));
}
