/*
 * store_probe.c: drives the mail store library (lib/store.h) from the
 * command line for the integration tests, the way sluice-imapd will: one
 * operation per run, results on stdout as "key value" lines.
 *
 *   store_probe -c CONF lookup ADDRESS
 *   store_probe -c CONF append ADDRESS FOLDER FILE [FLAGS [KEYWORD...]]
 *   store_probe -c CONF read ADDRESS FOLDER UID          (the bytes on stdout)
 *   store_probe -c CONF row ADDRESS FOLDER UID           (the index row)
 *   store_probe -c CONF copy|move ADDRESS SRC UID,UID.. DST
 *   store_probe -c CONF expunge ADDRESS FOLDER UID,UID..
 *   store_probe -c CONF flags ADDRESS FOLDER UID,UID.. add|remove|replace FLAGS [KW...]
 *   store_probe -c CONF mkdir|rmdir ADDRESS FOLDER
 *   store_probe -c CONF rename ADDRESS FOLDER NEWNAME
 *
 * FLAGS is a number (enum store_flag bits). Exit 0 on STORE_OK, else 1
 * with "status <name>" printed. Test code: trusts its arguments.
 */
#include "config.h"
#include "db.h"
#include "log.h"
#include "store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct store *st;
static struct db_pool *pool;

static int finish(int rc, const char *error)
{
	if (rc == STORE_OK)
		return 0;
	printf("status %s\n", store_status_name(rc));
	fprintf(stderr, "store_probe: %s: %s\n", store_status_name(rc), error ? error : "");
	return 1;
}

static size_t parse_uids(const char *s, int64_t **uids_r)
{
	size_t n = 0;
	char *copy = xstrdup(s), *tok, *save = NULL;

	*uids_r = NULL;
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		*uids_r = xrealloc(*uids_r, (n + 1) * sizeof(int64_t));
		(*uids_r)[n++] = strtoll(tok, NULL, 10);
	}
	free(copy);
	return n;
}

static int folder_id(struct store_mailbox *mb, const char *name, int64_t *id_r,
                     const char **error_r)
{
	return store_folder_find(st, mb, name, id_r, error_r);
}

static const struct db_stmt stmt_row = {
    "probe_row", "SELECT blob, header_prefix, size, modseq, flags, keywords, envelope,"
                 " bodystructure, preview FROM messages WHERE folder_id = $1 AND uid = $2"};

static int get_row(int64_t folder, const char *uid, PGresult **res_r, const char **error_r)
{
	char buf[24];
	const char *params[2] = {buf, uid};
	struct db_conn *conn = db_acquire(pool, error_r);
	int rc;

	snprintf(buf, sizeof(buf), "%lld", (long long)folder);
	if (conn == NULL)
		return STORE_TEMPFAIL;
	rc = db_exec(conn, &stmt_row, 2, params, res_r, error_r) == DB_OK ? STORE_OK
	                                                                  : STORE_TEMPFAIL;
	db_release(&conn);
	if (rc == STORE_OK && PQntuples(*res_r) == 0) {
		PQclear(*res_r);
		*error_r = "no such message";
		return STORE_NOT_FOUND;
	}
	return rc;
}

static int run(int argc, char **argv)
{
	const char *op = argv[0], *error = NULL;
	struct store_mailbox mb;
	struct mail_address addr;
	int64_t fid = 0, fid2 = 0, *uids = NULL;
	size_t n;
	int rc;

	if (argc < 2 ||
	    addr_parse_mailbox(argv[1], strlen(argv[1]), ADDR_SMTPUTF8, &addr, &error) < 0)
		return finish(STORE_INVALID, "usage");
	if ((rc = store_mailbox_lookup(st, addr.local, addr.domain, &mb, &error)) != STORE_OK ||
	    (rc = store_mailbox_init(st, &mb, &error)) != STORE_OK)
		return finish(rc, error);
	if (strcmp(op, "lookup") == 0) {
		printf("id %lld\nstorage_dir %s\ninbox %lld\nused_bytes %lld\nused_messages %lld\n",
		       (long long)mb.id, mb.storage_dir, (long long)mb.inbox_id,
		       (long long)mb.used_bytes, (long long)mb.used_messages);
		return 0;
	}
	if (strcmp(op, "mkdir") == 0 && argc == 3) {
		rc = store_folder_create(st, &mb, argv[2], NULL, &fid, &error);
		if (rc == STORE_OK)
			printf("folder %lld\n", (long long)fid);
		return finish(rc, error);
	}
	if (argc < 3 || (rc = folder_id(&mb, argv[2], &fid, &error)) != STORE_OK)
		return finish(argc < 3 ? STORE_INVALID : rc, error);
	if (strcmp(op, "rmdir") == 0) {
		rc = store_folder_delete(st, &mb, fid, &error);
		return finish(rc, error);
	}
	if (strcmp(op, "rename") == 0 && argc == 4) {
		rc = store_folder_rename(st, &mb, fid, argv[3], &error);
		return finish(rc, error);
	}
	if (strcmp(op, "append") == 0 && argc >= 4) {
		struct store_target t = {.mailbox = &mb, .folder_id = fid, .check_quota = true};
		struct store_msg *msg = NULL;
		char buf[65536];
		FILE *f = fopen(argv[3], "rb");
		size_t got;

		if (f == NULL)
			return finish(STORE_IO_ERROR, "cannot open the file");
		if ((rc = store_msg_begin(st, &msg, &error)) != STORE_OK) {
			fclose(f);
			return finish(rc, error);
		}
		while ((got = fread(buf, 1, sizeof(buf), f)) > 0 && rc == STORE_OK)
			rc = store_msg_write(msg, buf, got, &error);
		fclose(f);
		if (rc == STORE_OK)
			rc = store_msg_finish(msg, &error);
		if (rc == STORE_OK) {
			t.flags = argc >= 5 ? (unsigned)atoi(argv[4]) : 0;
			t.keywords = (const char *const *)(argv + 5);
			t.nkeywords = argc > 5 ? (size_t)(argc - 5) : 0;
			store_deliver(st, msg, 0, &t, 1);
			rc = t.status;
			error = t.error;
			if (rc == STORE_OK)
				printf("uid %lld\nmodseq %lld\n", (long long)t.uid,
				       (long long)t.modseq);
		}
		store_msg_free(&msg);
		return finish(rc, error);
	}
	if ((strcmp(op, "read") == 0 || strcmp(op, "row") == 0) && argc == 4) {
		PGresult *res;
		struct sbuf out = {0};

		if ((rc = get_row(fid, argv[3], &res, &error)) != STORE_OK)
			return finish(rc, error);
		if (strcmp(op, "row") == 0) {
			for (int i = 0; i < PQnfields(res); i++)
				printf("%s %s\n", PQfname(res, i), PQgetvalue(res, 0, i));
		} else {
			rc = store_message_read(st, &mb, PQgetvalue(res, 0, 0),
			                        PQgetvalue(res, 0, 1), &out, &error);
			if (rc == STORE_OK)
				fwrite(out.data, 1, out.len, stdout);
		}
		sbuf_free(&out);
		PQclear(res);
		return finish(rc, error);
	}
	if ((strcmp(op, "copy") == 0 || strcmp(op, "move") == 0) && argc == 5) {
		struct store_uid_pair *pairs = NULL;
		size_t np = 0;

		if ((rc = folder_id(&mb, argv[4], &fid2, &error)) != STORE_OK)
			return finish(rc, error);
		n = parse_uids(argv[3], &uids);
		if (strcmp(op, "copy") == 0)
			rc = store_copy(st, &mb, fid, uids, n, fid2, true, &pairs, &np, &error);
		else
			rc = store_move(st, &mb, fid, uids, n, fid2, &pairs, &np, &error);
		for (size_t i = 0; i < np; i++)
			printf("pair %lld %lld\n", (long long)pairs[i].src_uid,
			       (long long)pairs[i].dst_uid);
		free(pairs);
		free(uids);
		return finish(rc, error);
	}
	if (strcmp(op, "expunge") == 0 && argc == 4) {
		int64_t *gone = NULL;
		size_t ng = 0;

		n = parse_uids(argv[3], &uids);
		rc = store_expunge(st, &mb, fid, uids, n, &gone, &ng, &error);
		for (size_t i = 0; i < ng; i++)
			printf("expunged %lld\n", (long long)gone[i]);
		free(gone);
		free(uids);
		return finish(rc, error);
	}
	if (strcmp(op, "flags") == 0 && argc >= 6) {
		struct store_flag_change *ch = NULL;
		size_t nc = 0;
		enum store_flag_mode mode = strcmp(argv[4], "add") == 0      ? STORE_FLAGS_ADD
		                            : strcmp(argv[4], "remove") == 0 ? STORE_FLAGS_REMOVE
		                                                             : STORE_FLAGS_REPLACE;

		n = parse_uids(argv[3], &uids);
		rc = store_set_flags(st, &mb, fid, uids, n, mode, (unsigned)atoi(argv[5]),
		                     (const char *const *)(argv + 6), (size_t)(argc - 6), -1, &ch,
		                     &nc, &error);
		for (size_t i = 0; i < nc; i++) {
			printf("changed %lld modseq %lld flags %u keywords", (long long)ch[i].uid,
			       (long long)ch[i].modseq, ch[i].flags);
			for (size_t k = 0; k < ch[i].nkeywords; k++)
				printf(" %s", ch[i].keywords[k]);
			printf("\n");
		}
		store_flag_changes_free(&ch, nc);
		free(uids);
		return finish(rc, error);
	}
	return finish(STORE_INVALID, "unknown operation or arguments");
}

int main(int argc, char **argv)
{
	struct db_pool_settings set;
	struct store_settings sset;
	struct config *cfg = NULL;
	const char *conf = NULL, *error;
	int opt, rc;

	log_init("store_probe", 0, LOG_LEVEL_WARN);
	while ((opt = getopt(argc, argv, "+c:")) != -1) {
		if (opt != 'c')
			return 64;
		conf = optarg;
	}
	if (optind >= argc || config_load(config_path(conf), 0, &cfg, &error) < 0) {
		fprintf(stderr, "usage: store_probe -c CONF OP ARGS...\n");
		return 64;
	}
	db_pool_settings_from_config(&set, cfg, "lmtpd");
	pool = db_pool_create(&set);
	sset.mail_root = config_str(cfg, "mail_root");
	if (store_create(&sset, pool, &st, &error) != STORE_OK) {
		fprintf(stderr, "store_probe: %s\n", error);
		return 1;
	}
	rc = run(argc - optind, argv + optind);
	store_destroy(&st);
	db_pool_destroy(&pool);
	config_free(&cfg);
	return rc;
}
