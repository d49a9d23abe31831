/*
 * sieve_tool.c: sluice-sieve, the command-line Sieve tester. It compiles a
 * script, runs it on a message file and prints what would happen, in the
 * line format of shared/sieve/FORMAT.md; it delivers, sends and stores
 * nothing.
 *
 *   sluice-sieve [-f FROM] [-r TO] [-m FOLDER] [-c CONFIG] [-B SCRIPT]... [-A SCRIPT]...
 *                SCRIPT MESSAGE
 *
 * Exit 0 when the script ran, 1 when it does not compile ("error compile"),
 * 2 on a runtime error ("error runtime"). Diagnostics go to stderr.
 * include :personal reads NAME.sieve (or NAME) next to SCRIPT, include
 * :global reads it from sieve_global_dir. -B / -A run global scripts before
 * and after SCRIPT, as sluice-lmtpd does. Only INBOX exists for
 * mailboxexists; duplicate and vacation databases are empty.
 */
#include "config.h"
#include "log.h"
#include "message.h"
#include "sieve.h"
#include "sieve_settings.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOOL_MAX_MESSAGE (256 * 1024 * 1024)
#define TOOL_MAX_SCRIPTS 8

struct tool_loader {
	char *personal_dir;
	const char *global_dir;
};

static int read_file(const char *path, size_t max, char **data_r, size_t *len_r,
                     const char **error_r)
{
	struct sbuf b = {0};
	char buf[65536];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		*error_r = errorf("%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (b.len + n > max) {
			fclose(f);
			sbuf_free(&b);
			*error_r = errorf("%s: too large", path);
			return -1;
		}
		sbuf_append(&b, buf, n);
	}
	if (ferror(f)) {
		*error_r = errorf("%s: %s", path, strerror(errno));
		fclose(f);
		sbuf_free(&b);
		return -1;
	}
	fclose(f);
	sbuf_append(&b, "", 0);
	*data_r = b.data;
	*len_r = b.len;
	return 0;
}

static int load_include(void *ctx, enum sieve_script_location loc, const char *name, char **data_r,
                        size_t *len_r, const char **error_r)
{
	struct tool_loader *l = ctx;
	const char *dir = loc == SIEVE_LOCATION_GLOBAL ? l->global_dir : l->personal_dir;
	char *path = xasprintf("%s/%s.sieve", dir, name);

	if (access(path, F_OK) != 0) {
		free(path);
		path = xasprintf("%s/%s", dir, name);
		if (access(path, F_OK) != 0) {
			free(path);
			return 0;
		}
	}
	if (read_file(path, 64 * 1024 * 1024, data_r, len_r, error_r) < 0) {
		free(path);
		return -1;
	}
	free(path);
	return 1;
}

static int only_inbox(void *ctx, const char *mailbox)
{
	(void)ctx;
	return strcasecmp(mailbox, "INBOX") == 0;
}

static int compile_file(const char *path, const struct sieve_compile_options *opts,
                        struct sieve_program **prog_r)
{
	struct sieve_errors errors;
	struct sbuf text = {0};
	const char *error;
	char *data;
	size_t len;

	if (read_file(path, 64 * 1024 * 1024, &data, &len, &error) < 0) {
		fprintf(stderr, "sluice-sieve: %s\n", error);
		return -1;
	}
	if (sieve_compile(data, len, opts, prog_r, &errors) < 0) {
		sieve_errors_format(&errors, &text);
		fprintf(stderr, "%s: %s", path, sbuf_str(&text));
		sbuf_free(&text);
		sieve_errors_clear(&errors);
		free(data);
		return -1;
	}
	free(data);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: sluice-sieve [-f FROM] [-r TO] [-m FOLDER] [-c CONFIG] "
	                "[-B SCRIPT]... [-A SCRIPT]... SCRIPT MESSAGE\n");
	exit(64);
}

int main(int argc, char **argv)
{
	const char *from = "alice@example.org", *to = "bob@example.com", *folder = "INBOX";
	const char *conf = NULL, *error, *before_paths[TOOL_MAX_SCRIPTS],
	           *after_paths[TOOL_MAX_SCRIPTS];
	struct sieve_program *before[TOOL_MAX_SCRIPTS] = {0}, *after[TOOL_MAX_SCRIPTS] = {0};
	struct sieve_program *prog = NULL;
	size_t nbefore = 0, nafter = 0, len, i;
	struct config *cfg = NULL;
	struct sieve_settings settings;
	struct tool_loader loader;
	struct sieve_envelope envelope;
	struct message *msg = NULL;
	struct sieve_result *result;
	struct sbuf out = {0};
	char *data, *script_copy;
	int opt, rc = 0, failed = 0;

	log_init("sluice-sieve", 0, LOG_LEVEL_WARN);
	while ((opt = getopt(argc, argv, "f:r:m:c:B:A:")) != -1) {
		switch (opt) {
		case 'f':
			from = optarg;
			break;
		case 'r':
			to = optarg;
			break;
		case 'm':
			folder = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'B':
			if (nbefore == TOOL_MAX_SCRIPTS)
				usage();
			before_paths[nbefore++] = optarg;
			break;
		case 'A':
			if (nafter == TOOL_MAX_SCRIPTS)
				usage();
			after_paths[nafter++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	/* The configuration is optional: without a file the defaults apply. */
	if (config_load(config_path(conf), conf == NULL, &cfg, &error) < 0) {
		fprintf(stderr, "sluice-sieve: %s (using the defaults)\n", error);
		cfg = NULL;
	}
	if (sieve_settings_load(cfg, &settings, &error) < 0) {
		fprintf(stderr, "sluice-sieve: %s\n", error);
		config_free(&cfg);
		return 64;
	}
	config_free(&cfg);
	script_copy = xstrdup(argv[optind]);
	loader.personal_dir = xstrdup(dirname(script_copy));
	loader.global_dir = settings.global_dir;
	settings.compile.include_loader = load_include;
	settings.compile.include_ctx = &loader;

	for (i = 0; i < nbefore && !failed; i++)
		failed = compile_file(before_paths[i], &settings.compile, &before[i]) < 0;
	for (i = 0; i < nafter && !failed; i++)
		failed = compile_file(after_paths[i], &settings.compile, &after[i]) < 0;
	if (!failed)
		failed = compile_file(argv[optind], &settings.compile, &prog) < 0;
	if (failed) {
		printf("error compile\n");
		rc = 1;
		goto out;
	}
	if (read_file(argv[optind + 1], TOOL_MAX_MESSAGE, &data, &len, &error) < 0) {
		fprintf(stderr, "sluice-sieve: %s\n", error);
		rc = 66;
		goto out;
	}
	if (message_parse(data, len, &settings.env.message_limits, &msg, &error) < 0) {
		fprintf(stderr, "sluice-sieve: %s: %s\n", argv[optind + 1], error);
		free(data);
		printf("error runtime\n");
		rc = 2;
		goto out;
	}
	free(data);
	memset(&envelope, 0, sizeof(envelope));
	envelope.from = from;
	envelope.to = to;
	settings.env.default_mailbox = folder;
	settings.env.mailbox_exists = only_inbox;

	result = sieve_run_chain((const struct sieve_program *const *)before, nbefore, prog,
	                         (const struct sieve_program *const *)after, nafter, msg, &envelope,
	                         &settings.env);
	if (result->failed) {
		fprintf(stderr, "sluice-sieve: runtime error at line %u: %s\n", result->error_line,
		        result->error != NULL ? result->error : "");
		rc = 2;
	}
	sieve_result_format(result, folder, &out);
	fputs(sbuf_str(&out), stdout);
	sbuf_free(&out);
	sieve_result_free(&result);
out:
	message_free(&msg);
	sieve_program_free(&prog);
	for (i = 0; i < TOOL_MAX_SCRIPTS; i++) {
		sieve_program_free(&before[i]);
		sieve_program_free(&after[i]);
	}
	free(loader.personal_dir);
	free(script_copy);
	sieve_settings_free(&settings);
	return rc;
}
