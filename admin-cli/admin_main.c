/*
 * admin_main.c: sluice-admin, the administration command line (the job of
 * PostfixAdmin): global options, the table of commands, --help for every one
 * of them, per-command option parsing, and opening the configuration and the
 * one database connection a run uses. Whatever a command leaves open when it
 * fails (a transaction) is rolled back here, so a failed command changes
 * nothing. Runs with the privileges of whoever starts it; reads sluice.conf,
 * the database (as admin_db_url's role), stdin or the terminal for passwords.
 */
#include "admin.h"
#include "admin_sql.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGNAME "sluice-admin"

static const struct admin_cmd *const cmd_tables[] = {
    admin_domain_cmds, admin_mailbox_cmds, admin_alias_cmds,  admin_alias_domain_cmds,
    admin_quota_cmds,  admin_db_cmds,      admin_config_cmds, admin_store_cmds,
    admin_sieve_cmds,  admin_vacation_cmds,
};

static const char global_usage[] =
    "Usage: " PROGNAME " [-c FILE] [--json] [-v] COMMAND [ARGS] [OPTIONS]\n";
static const char common_help[] =
    "Options every command takes:\n"
    "  -c, --config FILE  read FILE instead of $SLUICE_CONF or " CONFIG_DEFAULT_PATH "\n"
    "      --json         print results as JSON\n"
    "  -v, --verbose      show the libraries' log lines (connection attempts)\n"
    "  -h, --help         show the help of the command and change nothing\n";
static const char exit_help[] =
    "Exit codes (sysexits.h): 0 done; 64 bad usage or a missing --yes; 65 invalid name\n"
    "or value, or an alias loop; 67 no such domain, mailbox, alias or destination;\n"
    "73 already exists, or over a domain limit; 75 database unavailable (try again);\n"
    "77 permission denied; 78 bad configuration or schema not migrated; 70 internal error.\n";

static void verror(const char *kind, const char *fmt, va_list ap)
{
	char line[1024];
	size_t len;

	vsnprintf(line, sizeof(line), fmt, ap);
	/* One line, always: a database message may carry a line feed. */
	for (len = 0; line[len] != '\0'; len++) {
		if (line[len] == '\n' || line[len] == '\r')
			line[len] = ' ';
	}
	while (len > 0 && line[len - 1] == ' ')
		line[--len] = '\0';
	fflush(stdout);
	fprintf(stderr, "%s: %s: %s\n", PROGNAME, kind, line);
}

int admin_error(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror("error", fmt, ap);
	va_end(ap);
	return status;
}

void admin_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror("note", fmt, ap);
	va_end(ap);
}

char *admin_vasprintf(const char *fmt, va_list ap)
{
	va_list again;
	char *s;
	int len;

	va_copy(again, ap);
	len = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (len < 0)
		log_panic("admin_vasprintf: bad format '%s'", fmt);
	s = xmalloc((size_t)len + 1);
	vsnprintf(s, (size_t)len + 1, fmt, ap);
	return s;
}

int admin_unavailable(const char *why)
{
	return admin_error(EX_TEMPFAIL, "database unavailable, try again later: %s", why);
}

static const char *cmd_name(const struct admin_cmd *cmd, char *buf, size_t size)
{
	if (cmd->verb != NULL)
		snprintf(buf, size, "%s %s", cmd->group, cmd->verb);
	else
		snprintf(buf, size, "%s", cmd->group);
	return buf;
}

int admin_usage(struct admin_ctx *ctx, const char *fmt, ...)
{
	char msg[512], name[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cmd_name(ctx->cmd, name, sizeof(name));
	return admin_error(EX_USAGE, "%s: %s (see '%s %s --help')", name, msg, PROGNAME, name);
}

int admin_confirm(int yes, const char *fmt, ...)
{
	va_list ap;
	char *what;
	int rc;

	if (yes)
		return 0;
	va_start(ap, fmt);
	what = admin_vasprintf(fmt, ap);
	va_end(ap);
	rc = admin_error(EX_USAGE, "not deleted: %s; run again with --yes to delete it", what);
	free(what);
	return rc;
}

/* The argv element that held the long option getopt_long just returned. */
static const char *option_token(char **argv, const struct option *opt)
{
	/* A separate value is the last element consumed, the option the one before. */
	if (opt->has_arg != no_argument && optarg != NULL && optind >= 2 &&
	    optarg == argv[optind - 1])
		return argv[optind - 2];
	return argv[optind - 1];
}

static int exact_long_option(char **argv, const struct option *opt)
{
	const char *token = option_token(argv, opt);
	size_t len = strlen(opt->name);

	return strncmp(token, "--", 2) == 0 && strncmp(token + 2, opt->name, len) == 0 &&
	       (token[2 + len] == '\0' || token[2 + len] == '=');
}

int admin_getopt(struct admin_ctx *ctx, int argc, char **argv, const char *shortopts,
                 const struct option *longopts)
{
	for (;;) {
		int longindex = -1;
		int c = getopt_long(argc, argv, shortopts, longopts, &longindex);

		/*
		 * getopt_long takes any unambiguous prefix ("--password" for
		 * "--password-stdin"); we do not: a mistyped option must fail as
		 * what it is, and never turn a password into an argument.
		 */
		if (c != '?' && c != ':' && longindex >= 0 &&
		    !exact_long_option(argv, &longopts[longindex])) {
			admin_usage(ctx, "unknown option '%s'",
			            option_token(argv, &longopts[longindex]));
			return '?';
		}
		switch (c) {
		case ADMIN_OPT_JSON:
			ctx->json = 1;
			continue;
		case ADMIN_OPT_CONFIG:
			ctx->conf_path = optarg;
			continue;
		case ADMIN_OPT_VERBOSE:
			ctx->verbose = 1;
			log_init(PROGNAME, 0, LOG_LEVEL_DEBUG);
			continue;
		case '?':
			if (optopt != 0)
				admin_usage(ctx, "unknown option '-%c'", optopt);
			else
				admin_usage(ctx, "unknown option '%s'", argv[optind - 1]);
			return '?';
		case ':':
			admin_usage(ctx, "option '%s' needs a value", argv[optind - 1]);
			return '?';
		default:
			return c;
		}
	}
}

int admin_nargs(struct admin_ctx *ctx, int argc, int min, int max)
{
	if (argc < min)
		return admin_usage(ctx, "missing argument");
	if (max >= 0 && argc > max)
		return admin_usage(ctx, "too many arguments");
	return 0;
}

int admin_operands(struct admin_ctx *ctx, int *argc, char ***argv, int min, int max)
{
	*argc -= optind;
	*argv += optind;
	return admin_nargs(ctx, *argc, min, max);
}

int admin_no_options(struct admin_ctx *ctx, int *argc, char ***argv, int min, int max)
{
	static const struct option longopts[] = {ADMIN_COMMON_OPTIONS};

	/* admin_getopt() handles the common options itself and said what was wrong. */
	if (admin_getopt(ctx, *argc, *argv, ADMIN_COMMON_SHORTOPTS, longopts) != -1)
		return EX_USAGE;
	return admin_operands(ctx, argc, argv, min, max);
}

int admin_flag_option(struct admin_ctx *ctx, int *argc, char ***argv, const char *long_name,
                      char short_name, int *flag, int min, int max)
{
	enum { O_FLAG = 0x100 };
	const struct option longopts[] = {
	    {long_name, no_argument, NULL, O_FLAG},
	    ADMIN_COMMON_OPTIONS,
	};
	char shortopts[sizeof(ADMIN_COMMON_SHORTOPTS) + 1];
	int c;

	/* A short_name of '\0' ends the string where the common options end. */
	snprintf(shortopts, sizeof(shortopts), "%s%c", ADMIN_COMMON_SHORTOPTS, short_name);
	while ((c = admin_getopt(ctx, *argc, *argv, shortopts, longopts)) != -1) {
		if (c != O_FLAG && (short_name == '\0' || c != short_name))
			return EX_USAGE;
		*flag = 1;
	}
	return admin_operands(ctx, argc, argv, min, max);
}

int admin_list_options(struct admin_ctx *ctx, int argc, char **argv, const struct option *longopts,
                       struct admin_list_opts *o)
{
	int c, rc;

	memset(o, 0, sizeof(*o));
	while ((c = admin_getopt(ctx, argc, argv, ADMIN_COMMON_SHORTOPTS, longopts)) != -1) {
		switch (c) {
		case ADMIN_OPT_DOMAIN:
			o->domain = optarg;
			break;
		case ADMIN_OPT_DESTINATION:
			o->destination = optarg;
			break;
		case ADMIN_OPT_LIMIT:
			if ((rc = admin_parse_count("--limit", optarg, 0, &o->limit)) != 0)
				return rc;
			break;
		default:
			return EX_USAGE;
		}
	}
	return 0;
}

int admin_mailbox_or_domain(struct admin_ctx *ctx, int *argc, char ***argv, const char *domain_arg)
{
	int rc;

	if ((rc = admin_operands(ctx, argc, argv, 0, 1)) != 0)
		return rc;
	if (*argc == 1 && domain_arg != NULL)
		return admin_usage(ctx, "give a mailbox or --domain, not both");
	return 0;
}

int admin_config(struct admin_ctx *ctx)
{
	const char *path, *error;
	int missing_ok;

	if (ctx->cfg != NULL)
		return 0;
	path = config_path(ctx->conf_path);
	/* Only the default file may be missing: a file named by -c or SLUICE_CONF must exist. */
	missing_ok = strcmp(path, CONFIG_DEFAULT_PATH) == 0;
	if (config_load(path, missing_ok, &ctx->cfg, &error) < 0)
		return admin_error(EX_CONFIG, "%s", error);
	return 0;
}

int admin_conn(struct admin_ctx *ctx)
{
	struct db_pool_settings set;
	const char *error = NULL;
	int rc;

	if (ctx->conn != NULL)
		return 0;
	if ((rc = admin_config(ctx)) != 0)
		return rc;
	if (ctx->pool == NULL) {
		db_pool_settings_from_config(&set, ctx->cfg, "admin");
		if (ctx->conninfo != NULL)
			set.conninfo = ctx->conninfo;
		set.size = 1;
		set.application_name = PROGNAME;
		ctx->pool = db_pool_create(&set);
	}
	ctx->conn = db_acquire(ctx->pool, &error);
	if (ctx->conn == NULL) {
		char msg[512];
		size_t len;

		snprintf(msg, sizeof(msg), "%s", error != NULL ? error : "unknown error");
		len = strcspn(msg, "\r\n");
		msg[len] = '\0';
		return admin_unavailable(msg);
	}
	return 0;
}

static void print_command_line(FILE *out, const struct admin_cmd *cmd)
{
	char name[64], left[160];

	cmd_name(cmd, name, sizeof(name));
	snprintf(left, sizeof(left), "%s %s", name, cmd->args);
	if (strlen(left) < 38)
		fprintf(out, "  %-38s %s\n", left, cmd->summary);
	else
		fprintf(out, "  %s\n  %-38s %s\n", left, "", cmd->summary);
}

static void print_commands(FILE *out, const char *group)
{
	for (size_t t = 0; t < ARRAY_SIZE(cmd_tables); t++) {
		for (const struct admin_cmd *c = cmd_tables[t]; c->group != NULL; c++) {
			if (group == NULL || strcmp(c->group, group) == 0)
				print_command_line(out, c);
		}
	}
}

static void print_global_help(FILE *out)
{
	fputs(global_usage, out);
	fputs("\nManage the domains, mailboxes, aliases and alias domains of a Sluice mail\n"
	      "system in its PostgreSQL database. Every change is one transaction that\n"
	      "also writes the audit log.\n\nCommands:\n",
	      out);
	print_commands(out, NULL);
	fputs("\nRun '" PROGNAME " COMMAND --help' for the options of a command.\n\n", out);
	fputs(common_help, out);
	fputs("\n", out);
	fputs(exit_help, out);
}

static void print_cmd_help(const struct admin_cmd *cmd)
{
	char name[64];

	cmd_name(cmd, name, sizeof(name));
	printf("Usage: %s %s %s\n\n%s.\n\n%s\n", PROGNAME, name, cmd->args, cmd->summary,
	       cmd->help);
	fputs(common_help, stdout);
}

static const struct admin_cmd *find_cmd(const char *group, const char *verb, int *group_known)
{
	*group_known = 0;
	for (size_t t = 0; t < ARRAY_SIZE(cmd_tables); t++) {
		for (const struct admin_cmd *c = cmd_tables[t]; c->group != NULL; c++) {
			if (strcmp(c->group, group) != 0)
				continue;
			*group_known = 1;
			if (verb != NULL && c->verb != NULL && strcmp(c->verb, verb) == 0)
				return c;
		}
	}
	return NULL;
}

static int wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	}
	return 0;
}

static int dispatch(struct admin_ctx *ctx, int argc, char **argv)
{
	const struct admin_cmd *cmd;
	const char *group = argv[0];
	const char *verb = argc > 1 ? argv[1] : NULL;
	int known;

	if (strcmp(group, "help") == 0) {
		print_global_help(stdout);
		return EX_OK;
	}
	cmd = find_cmd(group, verb, &known);
	if (!known)
		return admin_error(EX_USAGE, "unknown command '%s' (see '%s --help')", group,
		                   PROGNAME);
	if (cmd == NULL) {
		int help = verb != NULL && (strcmp(verb, "--help") == 0 ||
		                            strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0);
		FILE *out = help ? stdout : stderr;

		if (!help && verb != NULL)
			return admin_error(EX_USAGE, "unknown command '%s %s' (see '%s %s --help')",
			                   group, verb, PROGNAME, group);
		if (!help)
			admin_error(EX_USAGE, "'%s' needs a subcommand", group);
		fprintf(out, "Commands of '%s':\n", group);
		print_commands(out, group);
		fprintf(out, "Run '%s %s SUBCOMMAND --help' for its options.\n", PROGNAME, group);
		return help ? EX_OK : EX_USAGE;
	}
	ctx->cmd = cmd;
	if (wants_help(argc - 2, argv + 2)) {
		print_cmd_help(cmd);
		return EX_OK;
	}
	/* getopt_long scans from index 1: hand the command argv with the verb at [0]. */
	optind = 0;
	opterr = 0;
	return cmd->run(ctx, argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
	    {"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	struct admin_ctx ctx = {.progname = PROGNAME};
	int c, rc;

	/* Library log lines (connection retries) only with -v: errors are ours to print. */
	log_init(PROGNAME, 0, LOG_LEVEL_ERROR);
	opterr = 0;
	for (;;) {
		int longindex = -1;

		c = getopt_long(argc, argv, "+:c:vhV", longopts, &longindex);
		if (c == -1)
			break;
		if (c != '?' && c != ':' && longindex >= 0 &&
		    !exact_long_option(argv, &longopts[longindex]))
			return admin_error(EX_USAGE, "unknown option '%s' (see '%s --help')",
			                   option_token(argv, &longopts[longindex]), PROGNAME);
		switch (c) {
		case 'c':
			ctx.conf_path = optarg;
			break;
		case 'j':
			ctx.json = 1;
			break;
		case 'v':
			ctx.verbose = 1;
			log_init(PROGNAME, 0, LOG_LEVEL_DEBUG);
			break;
		case 'h':
			print_global_help(stdout);
			return EX_OK;
		case 'V':
			printf("%s %s\n", PROGNAME, SLUICE_VERSION);
			return EX_OK;
		case ':':
			return admin_error(EX_USAGE, "option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt != 0)
				return admin_error(EX_USAGE,
				                   "unknown option '-%c' (see '%s --help')", optopt,
				                   PROGNAME);
			return admin_error(EX_USAGE, "unknown option '%s' (see '%s --help')",
			                   argv[optind - 1], PROGNAME);
		}
	}
	if (optind >= argc) {
		print_global_help(stderr);
		return EX_USAGE;
	}
	rc = dispatch(&ctx, argc - optind, argv + optind);

	/* A command that failed half-way leaves its transaction open: undo it. */
	admin_rollback(&ctx);
	db_release(&ctx.conn);
	db_pool_destroy(&ctx.pool);
	config_free(&ctx.cfg);
	free(ctx.actor);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (rc == EX_OK)
			rc = admin_error(EX_IOERR, "writing the output failed");
	}
	return rc;
}
