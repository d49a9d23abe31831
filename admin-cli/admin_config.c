/*
 * admin_config.c: `sluice-admin config show [-n] [NAME...]`, the effective
 * configuration like `postconf` (every setting) and `postconf -n` (only those
 * the file sets). Plain output is `name = value` lines as config_dump()
 * writes them; --json gives typed values (sizes in bytes,
 * durations in milliseconds). Reads only sluice.conf, never the database.
 */
#include "admin.h"
#include "admin_output.h"
#include "config.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int find(const char *name)
{
	for (unsigned int i = 0; i < settings_count; i++) {
		if (strcmp(settings_table[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

static void json_value(struct json_obj *o, const struct config *cfg, const struct setting_def *s)
{
	switch (s->type) {
	case SETTING_STRING:
		json_obj_str(o, s->name, config_str(cfg, s->name));
		break;
	case SETTING_INT:
		json_obj_int(o, s->name, config_int(cfg, s->name));
		break;
	case SETTING_SIZE:
		json_obj_int(o, s->name, config_size(cfg, s->name));
		break;
	case SETTING_DURATION:
		json_obj_int(o, s->name, config_duration_ms(cfg, s->name));
		break;
	case SETTING_BOOL:
		json_obj_bool(o, s->name, config_bool(cfg, s->name));
		break;
	}
}

/*
 * Plain output is config_dump()'s, the values as the file writes them (like
 * postconf), filtered to the names asked for.
 */
static void plain_show(const struct config *cfg, int only_set, int argc, char **argv)
{
	char *text = NULL, *line, *save = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&text, &size);

	if (mem == NULL)
		log_panic("config show: open_memstream failed");
	config_dump(cfg, mem, only_set);
	fclose(mem);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		int wanted = argc == 0;

		for (int a = 0; a < argc && !wanted; a++) {
			size_t n = strlen(argv[a]);

			wanted = strncmp(line, argv[a], n) == 0 && strncmp(line + n, " = ", 3) == 0;
		}
		if (wanted)
			puts(line);
	}
	free(text);
}

static int cmd_show(struct admin_ctx *ctx, int argc, char **argv)
{
	struct json_obj o;
	int rc, only_set = 0;

	if ((rc = admin_flag_option(ctx, &argc, &argv, "non-default", 'n', &only_set, 0, -1)) != 0)
		return rc;
	for (int i = 0; i < argc; i++) {
		if (find(argv[i]) < 0)
			return admin_error(EX_DATAERR, "unknown setting '%s'", argv[i]);
	}
	if ((rc = admin_config(ctx)) != 0)
		return rc;
	if (!ctx->json) {
		plain_show(ctx->cfg, only_set, argc, argv);
		return 0;
	}
	json_obj_init(&o);
	for (unsigned int i = 0; i < settings_count; i++) {
		const struct setting_def *s = &settings_table[i];
		int wanted = argc == 0;

		for (int a = 0; a < argc && !wanted; a++)
			wanted = strcmp(argv[a], s->name) == 0;
		if (!wanted || (only_set && config_line(ctx->cfg, s->name) == 0))
			continue;
		json_value(&o, ctx->cfg, s);
	}
	puts(json_obj_finish(&o));
	json_obj_free(&o);
	return 0;
}

const struct admin_cmd admin_config_cmds[] = {
    {"config", "show", cmd_show, "[-n] [NAME...]", "Print the effective configuration",
     "Prints every setting as 'name = value' with the value in effect: the one\n"
     "sluice.conf sets, else the default (like postconf). With NAMEs, only those.\n"
     "--json prints one object with typed values: sizes in bytes, durations in\n"
     "milliseconds, yes/no as true/false.\n\n"
     "Options:\n  -n, --non-default   only the settings the file sets (like postconf -n)\n"},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
