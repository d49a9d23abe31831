/*
 * daemon.c: the start-up every Sluice daemon shares (see daemon.h): the
 * command line `[-c sluice.conf] [-f]`, loading sluice.conf, logging as
 * log_level and log_syslog say, and two helpers for the checks a daemon adds
 * on top of the settings table (where a setting was set, octal file modes).
 * Reads argv, $SLUICE_CONF and the configuration file; writes only stderr
 * and the logging state, once, in the main thread before any other starts.
 * Exit codes are sysexits.h's, the same in every daemon.
 */
#include "daemon.h"

#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

static void usage(const char *progname)
{
	fprintf(stderr, "usage: %s [-c sluice.conf] [-f]\n", progname);
	exit(EX_USAGE);
}

const char *daemon_init(const char *progname, int argc, char **argv)
{
	const char *path = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "c:fh")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			break; /* always in the foreground */
		default:
			usage(progname);
		}
	}
	if (optind != argc)
		usage(progname);
	log_init(progname, 0, LOG_LEVEL_INFO);
	return config_path(path);
}

void daemon_apply_logging(const char *progname, const struct config *cfg)
{
	int level = log_level_parse(config_str(cfg, "log_level"));

	if (level < 0) /* config_load() refuses such a file */
		log_panic("log_level '%s' passed config_load()", config_str(cfg, "log_level"));
	log_init(progname, config_bool(cfg, "log_syslog"), (enum log_level)level);
}

struct config *daemon_start(const char *progname, int argc, char **argv, const char **config_path_r)
{
	const char *path = daemon_init(progname, argc, argv), *error = NULL;
	struct config *cfg = NULL;

	if (config_load(path, 0, &cfg, &error) < 0)
		log_fatal(EX_CONFIG, "%s", error);
	daemon_apply_logging(progname, cfg);
	if (config_path_r != NULL)
		*config_path_r = path;
	return cfg;
}

int daemon_octal_mode(const struct config *cfg, const char *name, mode_t *mode_r,
                      const char **error_r)
{
	const char *text = config_str(cfg, name);
	char *end;
	unsigned long v;

	if (text[0] < '0' || text[0] > '7' || (v = strtoul(text, &end, 8)) > 0777 || *end != '\0') {
		*error_r = errorf("%s: not an octal mode like 0660", config_where(cfg, name));
		return -1;
	}
	*mode_r = (mode_t)v;
	return 0;
}
