/*
 * admin_mailbox.c: `sluice-admin mailbox add|passwd|edit|delete`, the
 * commands that change mailboxes (list and show are in admin_mailbox_list.c).
 *
 * A new mailbox is checked against its domain's limits with the domain row
 * locked, so two concurrent adds cannot both take the last place. Its
 * storage_dir is fixed at creation as "<domain>/<local part>.<id>" made of
 * safe characters only, so a local part can never make a path with "/" or
 * ".." and a recreated address never finds the old mailbox's files.
 * Passwords are read before the transaction (argon2id takes a while) from
 * stdin or a no-echo prompt, and only their hash reaches the database; the
 * admin role can write password_hash but never read it. The mailbox's
 * usage row and standard folders are made in the same transaction by the
 * store's sluice_store_mailbox_init(), so it is complete from the start.
 */
#include "admin.h"
#include "admin_output.h"
#include "admin_sql.h"
#include "config.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DISPLAY_NAME_MAX 255
/* Characters kept from a local part in its storage_dir; the rest become '_'. */
#define STORAGE_SAFE "abcdefghijklmnopqrstuvwxyz0123456789-_."

enum {
	O_NAME = 0x100,
	O_QUOTA,
	O_QUOTA_MESSAGES,
	O_PASSWORD_STDIN,
	O_NO_PASSWORD,
	O_SEND_AS_DOMAIN,
	O_INACTIVE,
	O_ACTIVE,
};

/* The settable fields of a mailbox, from the options of add or edit. */
struct mailbox_fields {
	const char *display; /* --name; NULL: not given (edit) */
	int64_t quota, quota_messages;
	int set_quota, set_qm;
	int active, send_as;       /* -1: not given (edit) */
	int pw_stdin, no_password; /* add only */
};

/* One option of add or edit; EX_USAGE for an option this command does not know. */
static int mailbox_option(struct mailbox_fields *f, int c, int editing)
{
	switch (c) {
	case O_NAME:
		f->display = optarg;
		return admin_check_text("--name", optarg, DISPLAY_NAME_MAX);
	case O_QUOTA:
		f->set_quota = 1;
		return admin_parse_size("--quota", optarg, &f->quota);
	case O_QUOTA_MESSAGES:
		f->set_qm = 1;
		return admin_parse_count("--quota-messages", optarg, 0, &f->quota_messages);
	case O_PASSWORD_STDIN:
		f->pw_stdin = 1;
		return 0;
	case O_NO_PASSWORD:
		f->no_password = 1;
		return 0;
	case O_SEND_AS_DOMAIN:
		if (!editing) {
			f->send_as = 1;
			return 0;
		}
		return admin_parse_bool("--send-as-domain", optarg, &f->send_as);
	case O_INACTIVE:
		f->active = 0;
		return 0;
	case O_ACTIVE:
		return admin_parse_bool("--active", optarg, &f->active);
	default:
		return EX_USAGE;
	}
}

/* The options of add or edit (longopts), then the mailbox's address into addr. */
static int mailbox_args(struct admin_ctx *ctx, int *argc, char ***argv,
                        const struct option *longopts, int editing, struct mailbox_fields *f,
                        struct mail_address *addr)
{
	int c, rc;

	while ((c = admin_getopt(ctx, *argc, *argv, ADMIN_COMMON_SHORTOPTS, longopts)) != -1) {
		if ((rc = mailbox_option(f, c, editing)) != 0)
			return rc;
	}
	if ((rc = admin_operands(ctx, argc, argv, 1, 1)) != 0)
		return rc;
	if (!editing && f->pw_stdin && f->no_password)
		return admin_usage(ctx, "--password-stdin and --no-password exclude each other");
	return admin_parse_address((*argv)[0], 0, addr);
}

/*
 * The storage_dir prefix of a new mailbox, "<domain>/<safe local part>.";
 * the id is appended by the INSERT. The domain is already lower-case A-labels
 * and letters, digits, '-' and '.' only; checked again here because this
 * string becomes a path.
 */
static char *storage_prefix(const struct mail_address *addr)
{
	struct sbuf b = {0};
	size_t n = 0;

	if (addr->domain[0] == '.' || strspn(addr->domain, STORAGE_SAFE) != strlen(addr->domain) ||
	    strstr(addr->domain, "..") != NULL)
		log_panic("mailbox: unsafe domain for a path");
	sbuf_append_str(&b, addr->domain);
	sbuf_append_str(&b, "/");
	for (const char *p = addr->local; *p != '\0' && n < 64; p++, n++) {
		char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;

		/* No leading dot (hidden, "." or ".."), and no ".." anywhere. */
		if (strchr(STORAGE_SAFE, c) == NULL ||
		    (c == '.' && (n == 0 || b.data[b.len - 1] == '.')))
			c = '_';
		sbuf_append(&b, &c, 1);
	}
	sbuf_append_str(&b, ".");
	return b.data;
}

/* A mailbox's quota must fit the domain's: every mailbox has one, and their sum fits. */
static int check_domain_quota(const struct admin_domain *d, int64_t others, int64_t quota)
{
	char a[32], b[32], c[32];

	if (d->quota_bytes == 0)
		return 0;
	if (quota == 0)
		return admin_error(EX_DATAERR,
		                   "domain %s has a quota, so its mailboxes need one: give --quota",
		                   d->name);
	if (others + quota > d->quota_bytes) {
		admin_format_size(quota, 0, a, sizeof(a));
		admin_format_size(d->quota_bytes, 0, b, sizeof(b));
		admin_format_size(d->quota_bytes - others, 0, c, sizeof(c));
		return admin_error(EX_CANTCREAT,
		                   "a mailbox quota of %s does not fit in the domain quota of %s "
		                   "(%s: %s left)",
		                   a, b, d->name, c);
	}
	return 0;
}

static const struct db_stmt stmt_quota_sum = {
    "admin_mailbox_quota_sum", "SELECT count(*), coalesce(sum(quota_bytes), 0) FROM mailboxes"
                               " WHERE domain_id = $1 AND id <> $2"};

/* How many mailboxes the domain has and the sum of their quotas, but for mailbox `except`. */
static int domain_allocation(struct admin_ctx *ctx, int64_t domain_id, int64_t except,
                             int64_t *count_r, int64_t *sum_r)
{
	char b[2][ADMIN_I64_BUFSZ];
	const char *params[2] = {admin_i64(b[0], domain_id), admin_i64(b[1], except)};
	PGresult *res;
	int rc;

	if ((rc = admin_exec(ctx, &stmt_quota_sum, 2, params, &res)) != 0)
		return rc;
	*count_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*sum_r = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return 0;
}

static const struct db_stmt stmt_mailbox_insert = {
    "admin_mailbox_insert",
    "INSERT INTO mailboxes (id, domain_id, local_part, display_name, password_hash,"
    " quota_bytes, quota_messages, active, send_as_domain, storage_dir)"
    " SELECT s.id, $1, $2, $3, $4, $5, $6, $7, $8, $9 || s.id"
    " FROM (SELECT nextval(pg_get_serial_sequence('mailboxes', 'id')) AS id) s"
    " RETURNING id, storage_dir"};
/* The store's own setup (schema 0002): usage row, INBOX and the special-use folders. */
static const struct db_stmt stmt_mailbox_init = {"admin_mailbox_init",
                                                 "SELECT sluice_store_mailbox_init($1)"};

/* Checks that need no lock, made before asking for a password. */
static int precheck_add(struct admin_ctx *ctx, const struct mail_address *addr, const char *full)
{
	struct admin_domain d;
	int64_t id;
	int rc;

	if ((rc = admin_domain_get(ctx, addr->domain, 0, &d)) != 0 ||
	    (rc = admin_mailbox_id(ctx, d.id, addr->local, &id)) != 0)
		return rc;
	if (id != 0)
		return admin_error(EX_CANTCREAT, "mailbox %s already exists", full);
	return 0;
}

static int cmd_add(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"name", required_argument, NULL, O_NAME},
	    {"quota", required_argument, NULL, O_QUOTA},
	    {"quota-messages", required_argument, NULL, O_QUOTA_MESSAGES},
	    {"password-stdin", no_argument, NULL, O_PASSWORD_STDIN},
	    {"no-password", no_argument, NULL, O_NO_PASSWORD},
	    {"send-as-domain", no_argument, NULL, O_SEND_AS_DOMAIN},
	    {"inactive", no_argument, NULL, O_INACTIVE},
	    ADMIN_COMMON_OPTIONS,
	};
	struct mailbox_fields f = {.display = "", .active = 1};
	int64_t count, allocated, alias_id, id;
	int rc;
	char full[ADDR_BUFSZ], b[4][ADMIN_I64_BUFSZ], *plain = NULL, *hash = NULL, *prefix = NULL;
	char qbuf[32];
	struct mail_address addr;
	struct admin_domain d;
	struct json_obj details;
	PGresult *res;

	if ((rc = mailbox_args(ctx, &argc, &argv, longopts, 0, &f, &addr)) != 0)
		return rc;
	addr_format(&addr, full);
	if ((rc = precheck_add(ctx, &addr, full)) != 0)
		return rc;
	if (!f.no_password) {
		if ((rc = admin_read_password(f.pw_stdin, full, &plain)) != 0)
			return rc;
		rc = admin_hash_password(ctx, plain, &hash);
		admin_password_free(&plain);
		if (rc != 0)
			return rc;
	}

	prefix = storage_prefix(&addr);
	if ((rc = admin_begin(ctx)) != 0 || (rc = admin_domain_get(ctx, addr.domain, 1, &d)) != 0)
		goto out;
	if (d.backup_mx) {
		rc = admin_error(EX_DATAERR,
		                 "%s is a backup MX domain: it relays mail and holds "
		                 "no mailboxes",
		                 d.name);
		goto out;
	}
	if ((rc = admin_mailbox_id(ctx, d.id, addr.local, &id)) != 0)
		goto out;
	if (id != 0) {
		rc = admin_error(EX_CANTCREAT, "mailbox %s already exists", full);
		goto out;
	}
	if ((rc = domain_allocation(ctx, d.id, 0, &count, &allocated)) != 0)
		goto out;
	if (d.max_mailboxes > 0 && count >= d.max_mailboxes) {
		rc = admin_error(EX_CANTCREAT,
		                 "domain %s is at its limit of %" PRId64
		                 " mailboxes (--max-mailboxes)",
		                 d.name, d.max_mailboxes);
		goto out;
	}
	if (!f.set_quota)
		f.quota = d.default_mailbox_quota_bytes;
	if ((rc = check_domain_quota(&d, allocated, f.quota)) != 0)
		goto out;
	const char *params[9] = {
	    admin_i64(b[0], d.id),
	    addr.local,
	    f.display,
	    hash != NULL ? hash : "",
	    admin_i64(b[1], f.quota),
	    admin_i64(b[2], f.quota_messages),
	    f.active ? "true" : "false",
	    f.send_as ? "true" : "false",
	    prefix,
	};
	if ((rc = admin_exec(ctx, &stmt_mailbox_insert, 9, params, &res)) != 0)
		goto out;
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	json_obj_init(&details);
	json_obj_int(&details, "id", id);
	json_obj_str(&details, "display_name", f.display);
	json_obj_int(&details, "quota_bytes", f.quota);
	json_obj_int(&details, "quota_messages", f.quota_messages);
	json_obj_bool(&details, "active", f.active);
	json_obj_bool(&details, "send_as_domain", f.send_as);
	json_obj_bool(&details, "password_set", hash != NULL);
	json_obj_str(&details, "storage_dir", PQgetvalue(res, 0, 1));
	PQclear(res);
	admin_format_size(f.quota, 1, qbuf, sizeof(qbuf));
	const char *p1[1] = {admin_i64(b[3], id)};
	if ((rc = admin_exec(ctx, &stmt_mailbox_init, 1, p1, NULL)) == 0 &&
	    (rc = admin_alias_id(ctx, d.id, addr.local, &alias_id)) == 0 &&
	    (rc = admin_change(ctx, "mailbox.add", full, json_obj_finish(&details),
	                       "added mailbox %s (quota %s)%s", full, qbuf,
	                       hash == NULL ? " without a password: set one with "
	                                      "'sluice-admin mailbox passwd'"
	                                    : "")) == 0 &&
	    alias_id != 0)
		admin_note("the alias %s takes precedence over the mailbox; add %s as "
		           "one of its destinations to deliver here too",
		           full, full);
	json_obj_free(&details);
out:
	free(prefix);
	if (hash != NULL) {
		explicit_bzero(hash, strlen(hash));
		free(hash);
	}
	return rc;
}

static const struct db_stmt stmt_mailbox_passwd = {
    "admin_mailbox_passwd",
    "UPDATE mailboxes SET password_hash = $2, modified = now() WHERE id = $1"};

static int cmd_passwd(struct admin_ctx *ctx, int argc, char **argv)
{
	char full[ADDR_BUFSZ], idbuf[ADMIN_I64_BUFSZ], *plain = NULL, *hash = NULL;
	int rc, pw_stdin = 0;
	int64_t id;

	rc = admin_flag_option(ctx, &argc, &argv, "password-stdin", '\0', &pw_stdin, 1, 1);
	if (rc != 0 || (rc = admin_mailbox_arg(ctx, argv[0], full, &id)) != 0)
		return rc;
	if ((rc = admin_read_password(pw_stdin, full, &plain)) != 0)
		return rc;
	rc = admin_hash_password(ctx, plain, &hash);
	admin_password_free(&plain);
	if (rc != 0)
		return rc;

	const char *params[2] = {admin_i64(idbuf, id), hash};
	PGresult *res;
	if ((rc = admin_begin(ctx)) == 0 &&
	    (rc = admin_exec(ctx, &stmt_mailbox_passwd, 2, params, &res)) == 0) {
		if (strcmp(PQcmdTuples(res), "1") != 0)
			rc = admin_error(EX_NOUSER, "no such mailbox: %s", full);
		PQclear(res);
	}
	explicit_bzero(hash, strlen(hash));
	free(hash);
	if (rc != 0)
		return rc;
	return admin_change(ctx, "mailbox.passwd", full, "{}", "changed the password of %s", full);
}

static const struct db_stmt stmt_mailbox_update = {
    "admin_mailbox_update",
    "UPDATE mailboxes SET display_name = coalesce($2, display_name),"
    " quota_bytes = coalesce($3::bigint, quota_bytes),"
    " quota_messages = coalesce($4::bigint, quota_messages),"
    " active = coalesce($5::boolean, active),"
    " send_as_domain = coalesce($6::boolean, send_as_domain), modified = now()"
    " WHERE id = $1"};

/* SQL true/false, or NULL (unchanged) for -1. */
static const char *sql_bool(int value)
{
	return value < 0 ? NULL : value ? "true" : "false";
}

static int cmd_edit(struct admin_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"name", required_argument, NULL, O_NAME},
	    {"quota", required_argument, NULL, O_QUOTA},
	    {"quota-messages", required_argument, NULL, O_QUOTA_MESSAGES},
	    {"active", required_argument, NULL, O_ACTIVE},
	    {"send-as-domain", required_argument, NULL, O_SEND_AS_DOMAIN},
	    ADMIN_COMMON_OPTIONS,
	};
	struct mailbox_fields f = {.display = NULL, .active = -1, .send_as = -1};
	int64_t count, others, id;
	int rc;
	char full[ADDR_BUFSZ], b[3][ADMIN_I64_BUFSZ];
	struct mail_address addr;
	struct admin_domain d;
	struct json_obj details;

	if ((rc = mailbox_args(ctx, &argc, &argv, longopts, 1, &f, &addr)) != 0)
		return rc;
	if (f.display == NULL && !f.set_quota && !f.set_qm && f.active < 0 && f.send_as < 0)
		return admin_usage(ctx, "nothing to change");
	addr_format(&addr, full);
	if ((rc = admin_begin(ctx)) != 0 ||
	    (rc = admin_mailbox_find(ctx, &addr, full, 1, &d, &id)) != 0)
		return rc;
	if (f.set_quota) {
		if ((rc = domain_allocation(ctx, d.id, id, &count, &others)) != 0 ||
		    (rc = check_domain_quota(&d, others, f.quota)) != 0)
			return rc;
	}
	const char *params[6] = {
	    admin_i64(b[0], id),
	    f.display,
	    f.set_quota ? admin_i64(b[1], f.quota) : NULL,
	    f.set_qm ? admin_i64(b[2], f.quota_messages) : NULL,
	    sql_bool(f.active),
	    sql_bool(f.send_as),
	};
	if ((rc = admin_exec(ctx, &stmt_mailbox_update, 6, params, NULL)) != 0)
		return rc;
	json_obj_init(&details);
	if (f.display != NULL)
		json_obj_str(&details, "display_name", f.display);
	if (f.set_quota)
		json_obj_int(&details, "quota_bytes", f.quota);
	if (f.set_qm)
		json_obj_int(&details, "quota_messages", f.quota_messages);
	if (f.active >= 0)
		json_obj_bool(&details, "active", f.active);
	if (f.send_as >= 0)
		json_obj_bool(&details, "send_as_domain", f.send_as);
	rc = admin_change(ctx, "mailbox.edit", full, json_obj_finish(&details),
	                  "changed mailbox %s", full);
	json_obj_free(&details);
	return rc;
}

static const struct db_stmt stmt_mailbox_facts = {
    "admin_mailbox_facts",
    "SELECT m.storage_dir, coalesce(q.messages, 0), coalesce(q.bytes, 0),"
    " (SELECT count(*) FROM alias_destinations x WHERE lower(x.destination) = lower($2))"
    " FROM mailboxes m LEFT JOIN quota_usage q ON q.mailbox_id = m.id WHERE m.id = $1"};
/* The "keep a copy" self-destination of the alias of the same address goes with the mailbox. */
static const struct db_stmt stmt_drop_self_destination = {
    "admin_mailbox_drop_self_destination",
    "DELETE FROM alias_destinations x USING aliases a WHERE x.alias_id = a.id"
    " AND a.domain_id = $1 AND lower(a.local_part) = lower($2)"
    " AND lower(x.destination) = lower($3)"};
static const struct db_stmt stmt_drop_empty_alias = {
    "admin_mailbox_drop_empty_alias",
    "DELETE FROM aliases a WHERE a.domain_id = $1 AND lower(a.local_part) = lower($2)"
    " AND NOT EXISTS (SELECT 1 FROM alias_destinations x WHERE x.alias_id = a.id)"};
static const struct db_stmt stmt_mailbox_delete = {"admin_mailbox_delete",
                                                   "DELETE FROM mailboxes WHERE id = $1"};

static int cmd_delete(struct admin_ctx *ctx, int argc, char **argv)
{
	char full[ADDR_BUFSZ], b[2][ADMIN_I64_BUFSZ], used[32], *files = NULL;
	int64_t id, messages, bytes, pointing;
	struct mail_address addr;
	struct admin_domain d;
	struct json_obj details;
	PGresult *res;
	int rc, yes = 0;

	if ((rc = admin_flag_option(ctx, &argc, &argv, "yes", 'y', &yes, 1, 1)) != 0 ||
	    (rc = admin_parse_address(argv[0], 0, &addr)) != 0)
		return rc;
	addr_format(&addr, full);
	if ((rc = admin_begin(ctx)) != 0 ||
	    (rc = admin_mailbox_find(ctx, &addr, full, 1, &d, &id)) != 0)
		return rc;
	const char *pf[2] = {admin_i64(b[0], id), full};
	if ((rc = admin_exec(ctx, &stmt_mailbox_facts, 2, pf, &res)) != 0)
		return rc;
	files = xasprintf("%s/%s", config_str(ctx->cfg, "mail_root"), PQgetvalue(res, 0, 0));
	messages = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	bytes = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	pointing = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	PQclear(res);
	admin_format_size(bytes, 0, used, sizeof(used));
	if (strspn(used, "0123456789") == strlen(used))
		strncat(used, " bytes", sizeof(used) - strlen(used) - 1);
	const char *pd[3] = {admin_i64(b[1], d.id), addr.local, full};
	const char *addrs[1] = {full};
	if ((rc = admin_confirm(yes,
	                        "mailbox %s holds %" PRId64 " messages (%s); deleting it "
	                        "removes it, its folders, message index and Sieve scripts from "
	                        "the database and leaves its mail files under %s on disk",
	                        full, messages, used, files)) != 0 ||
	    (rc = admin_exec(ctx, &stmt_drop_self_destination, 3, pd, &res)) != 0)
		goto out;
	pointing -= strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if ((rc = admin_exec(ctx, &stmt_drop_empty_alias, 2, pd, NULL)) != 0 ||
	    (rc = admin_exec(ctx, &stmt_mailbox_delete, 1, pf, NULL)) != 0 ||
	    /* Mail to the address may now fall to a catch-all: it must not come back. */
	    (rc = admin_check_loops(ctx, addrs, 1)) != 0)
		goto out;
	json_obj_init(&details);
	json_obj_int(&details, "messages", messages);
	json_obj_int(&details, "bytes", bytes);
	json_obj_str(&details, "mail_files_left", files);
	rc = admin_change(ctx, "mailbox.delete", full, json_obj_finish(&details),
	                  "deleted mailbox %s with %" PRId64 " messages (%s); its mail files "
	                  "under %s are left on disk",
	                  full, messages, used, files);
	if (rc == 0 && pointing > 0)
		admin_note("%" PRId64 " alias destinations still name %s; see "
		           "'sluice-admin alias list --destination %s'",
		           pointing, full, full);
	json_obj_free(&details);
out:
	free(files);
	return rc;
}

const struct admin_cmd admin_mailbox_cmds[] = {
    {"mailbox", "add", cmd_add, "ADDRESS [options]", "Add a mailbox",
     "Adds a mailbox in an existing domain, within the domain's limits. The new\n"
     "password is asked twice on the terminal without echo, or read as one line\n"
     "from standard input with --password-stdin; it is never given on the\n"
     "command line. It is stored as an argon2id hash.\n\n"
     "Options:\n"
     "  --name TEXT            the display name\n"
     "  --quota SIZE           storage quota, e.g. 1G or 500M (0: unlimited; default:\n"
     "                         the domain's default mailbox quota)\n"
     "  --quota-messages N     at most N messages (0: unlimited, the default)\n"
     "  --password-stdin       read the password from standard input\n"
     "  --no-password          add it without a password (no login until 'passwd')\n"
     "  --send-as-domain       may send as any address of its domain\n"
     "  --inactive             add it switched off\n"},
    {"mailbox", "list", admin_mailbox_list, "[--domain DOMAIN] [--limit N]", "List mailboxes",
     "Lists the mailboxes of one domain, or of all domains, with their quota and\n"
     "usage, a page at a time (indexed queries: fast with any number of them).\n"
     "--json adds the display name, message counts, the storage folder and more.\n\n"
     "Options:\n"
     "  --domain DOMAIN   only this domain's mailboxes\n"
     "  --limit N         stop after N mailboxes\n"},
    {"mailbox", "show", admin_mailbox_show, "ADDRESS", "Show a mailbox",
     "Shows a mailbox's settings, quota and usage, its storage folder under\n"
     "mail_root, and the aliases that deliver to it. Never its password hash.\n"},
    {"mailbox", "passwd", cmd_passwd, "ADDRESS [--password-stdin]", "Set a mailbox's password",
     "Asks for the new password twice on the terminal without echo, or reads one\n"
     "line from standard input with --password-stdin, and stores its argon2id hash.\n\n"
     "Options:\n  --password-stdin   read the password from standard input\n"},
    {"mailbox", "edit", cmd_edit, "ADDRESS [options]", "Change a mailbox",
     "Changes only what is given; a new quota must fit the domain quota.\n\n"
     "Options:\n"
     "  --name TEXT               the display name\n"
     "  --quota SIZE              storage quota (0: unlimited)\n"
     "  --quota-messages N        at most N messages (0: unlimited)\n"
     "  --active yes|no           switch the mailbox on or off\n"
     "  --send-as-domain yes|no   may send as any address of its domain\n"},
    {"mailbox", "delete", cmd_delete, "ADDRESS --yes", "Delete a mailbox",
     "Deletes the mailbox with its folders, message index, quota usage and Sieve\n"
     "scripts from the database, and the 'keep a copy' destination of the alias\n"
     "of the same address. Its mail files under mail_root/STORAGE_DIR are left on\n"
     "disk for the administrator to archive or remove. Without --yes nothing is\n"
     "deleted: the command says what it would remove and exits with 64.\n\n"
     "Options:\n  -y, --yes   really delete\n"},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
