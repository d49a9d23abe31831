/*
 * test_store_file.c: the mail store's filesystem side without a database:
 * blob names, refused paths, durable directory creation, hard links, the
 * shared directory fsync under many threads, array literals, and a message
 * written through store_msg (tmp file, fsync, map, cached IMAP data).
 */
#include "store_private.h"

#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];
static struct store *st;

static void setup(void)
{
	struct store_settings set;
	const char *error = NULL;

	snprintf(root, sizeof(root), "/tmp/sluice-test-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	set.mail_root = root;
	ck_assert_int_eq(store_create(&set, NULL, &st, &error), STORE_OK);
}

static void teardown(void)
{
	char cmd[128];

	store_destroy(&st);
	ck_assert_ptr_null(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_blob_names)
{
	char a[STORE_BLOB_MAX], b[STORE_BLOB_MAX], path[PATH_MAX];

	/* 2026-11-25 00:00:00 UTC */
	store_blob_name(1795564800, a);
	store_blob_name(1795564800, b);
	ck_assert_int_eq(strncmp(a, "msg/202611/1795564800.", 22), 0);
	ck_assert_uint_eq(strlen(a), 22 + 20);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(store_blob_path(st, "d.test/u.1", a, path, sizeof(path)), 0);
	ck_assert_int_eq(strncmp(path, root, strlen(root)), 0);
	/* storage_dir and blob must stay below mail_root */
	ck_assert_int_eq(store_blob_path(st, "../etc", a, path, sizeof(path)), -1);
	ck_assert_int_eq(store_blob_path(st, "d/../../x", a, path, sizeof(path)), -1);
	ck_assert_int_eq(store_blob_path(st, "/abs", a, path, sizeof(path)), -1);
	ck_assert_int_eq(store_blob_path(st, "d//x", a, path, sizeof(path)), -1);
	ck_assert_int_eq(store_blob_path(st, "d", "msg/../../x", path, sizeof(path)), -1);
	ck_assert_int_eq(store_blob_path(st, "", a, path, sizeof(path)), -1);
}
END_TEST

START_TEST(test_link_and_mkdirs)
{
	char src[PATH_MAX], blob[STORE_BLOB_MAX], path[PATH_MAX];
	const char *error = NULL;
	struct stat sb;
	FILE *f;

	snprintf(src, sizeof(src), "%s/source", root);
	f = fopen(src, "w");
	ck_assert_ptr_nonnull(f);
	fputs("data\r\n", f);
	fclose(f);
	store_blob_name(time(NULL), blob);
	/* the mailbox directory does not exist yet: made on the way */
	ck_assert_int_eq(store_blob_link(st, src, "a.test/bob.1", blob, &error), STORE_OK);
	ck_assert_int_eq(store_blob_link(st, src, "a.test/ann.2", blob, &error), STORE_OK);
	ck_assert_int_eq(store_blob_path(st, "a.test/ann.2", blob, path, sizeof(path)), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_nlink, 3);
	{
		struct stat ssb;

		/* one file, three names */
		ck_assert_int_eq(stat(src, &ssb), 0);
		ck_assert_uint_eq(ssb.st_ino, sb.st_ino);
	}
	/* a second link of the same name is refused */
	ck_assert_int_eq(store_blob_link(st, src, "a.test/ann.2", blob, &error), STORE_IO_ERROR);
	ck_assert_ptr_nonnull(strstr(error, "File exists"));
	ck_assert_int_eq(store_blob_link(st, src, "../x", blob, &error), STORE_IO_ERROR);
	store_blob_unlink(st, "a.test/ann.2", blob);
	store_blob_unlink(st, "a.test/ann.2", blob); /* twice is fine */
	ck_assert_int_eq(stat(path, &sb), -1);
	snprintf(path, sizeof(path), "%s/a.test/ann.2/msg", root);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0700);
	ck_assert_int_eq(store_mkdirs(st, "x/../y", &error), STORE_IO_ERROR);
	ck_assert_int_eq(store_mkdirs(st, "x/y/z", &error), STORE_OK);
	ck_assert_int_eq(store_mkdirs(st, "x/y/z", &error), STORE_OK);
}
END_TEST

struct syncer {
	int rounds;
	int failures;
	char dir[PATH_MAX];
};

static void *sync_thread(void *arg)
{
	struct syncer *s = arg;
	const char *error = NULL;

	for (int i = 0; i < s->rounds; i++) {
		if (store_dir_sync(st, s->dir, &error) != STORE_OK)
			s->failures++;
	}
	return NULL;
}

/* Many threads, two directories: every call returns, none fails. */
START_TEST(test_dir_sync_shared)
{
	struct syncer s[8];
	pthread_t th[8];
	const char *error = NULL;

	ck_assert_int_eq(store_mkdirs(st, "one", &error), STORE_OK);
	ck_assert_int_eq(store_mkdirs(st, "two", &error), STORE_OK);
	for (int i = 0; i < 8; i++) {
		s[i].rounds = 50;
		s[i].failures = 0;
		snprintf(s[i].dir, sizeof(s[i].dir), "%s/%s", root, i % 2 ? "one" : "two");
		ck_assert_int_eq(pthread_create(&th[i], NULL, sync_thread, &s[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(s[i].failures, 0);
	}
	/* every waiter left: the table is empty again */
	ck_assert_ptr_null(st->syncs);
	/* a directory that is not there fails, and says which */
	ck_assert_int_eq(store_dir_sync(st, "/nonexistent-sluice-dir", &error), STORE_IO_ERROR);
	ck_assert_ptr_nonnull(strstr(error, "/nonexistent-sluice-dir"));
}
END_TEST

START_TEST(test_arrays)
{
	const int64_t ids[] = {1, -2, 30};
	const char *const words[] = {"a", "b\"c", "d\\e", "x,y"};
	char *s, **items;
	size_t n;

	s = store_int_array(ids, 3);
	ck_assert_str_eq(s, "{1,-2,30}");
	free(s);
	s = store_int_array(ids, 0);
	ck_assert_str_eq(s, "{}");
	free(s);
	s = store_text_array(words, 4);
	ck_assert_str_eq(s, "{\"a\",\"b\\\"c\",\"d\\\\e\",\"x,y\"}");
	ck_assert_int_eq(store_parse_text_array(s, &items, &n), 0);
	ck_assert_uint_eq(n, 4);
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(items[i], words[i]);
		free(items[i]);
	}
	free(items);
	free(s);
	ck_assert_int_eq(store_parse_text_array("{$Seen,foo}", &items, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(items[0], "$Seen");
	free(items[0]);
	free(items[1]);
	free(items);
}
END_TEST

START_TEST(test_msg)
{
	static const char text[] = "From: a@b.test\r\nSubject: s\r\n\r\nbody text\r\n";
	struct store_msg *msg = NULL;
	const char *error = NULL, *data;
	char tmp[PATH_MAX];
	struct stat sb;
	size_t len;

	ck_assert_int_eq(store_msg_begin(st, &msg, &error), STORE_OK);
	/* in parts, across the write buffer */
	for (size_t i = 0; i < sizeof(text) - 1; i += 7)
		ck_assert_int_eq(
		    store_msg_write(msg, text + i,
		                    sizeof(text) - 1 - i < 7 ? sizeof(text) - 1 - i : 7, &error),
		    STORE_OK);
	ck_assert_int_eq(store_msg_finish(msg, &error), STORE_OK);
	data = store_msg_data(msg, &len);
	ck_assert_uint_eq(len, sizeof(text) - 1);
	ck_assert_int_eq(memcmp(data, text, len), 0);
	ck_assert_int_eq(store_msg_size(msg), (int64_t)len);
	ck_assert_str_eq(store_msg_preview(msg), "body text");
	ck_assert_ptr_nonnull(strstr(store_msg_envelope(msg), "\"s\""));
	ck_assert_ptr_nonnull(strstr(store_msg_bodystructure(msg), "\"PLAIN\""));
	snprintf(tmp, sizeof(tmp), "%s", store_msg_tmp_path(msg));
	ck_assert_int_eq(strncmp(tmp, root, strlen(root)), 0);
	ck_assert_int_eq(stat(tmp, &sb), 0);
	store_msg_free(&msg);
	ck_assert_ptr_null(msg);
	/* the temporary file goes with it */
	ck_assert_int_eq(stat(tmp, &sb), -1);
	store_msg_free(&msg);

	/* an empty message is a message too */
	ck_assert_int_eq(store_msg_begin(st, &msg, &error), STORE_OK);
	ck_assert_int_eq(store_msg_finish(msg, &error), STORE_OK);
	store_msg_data(msg, &len);
	ck_assert_uint_eq(len, 0);
	store_msg_free(&msg);
}
END_TEST

START_TEST(test_status_and_names)
{
	ck_assert_str_eq(store_status_name(STORE_DISK_FULL), "disk full");
	ck_assert_int_eq(store_errno_status(28 /* ENOSPC */), STORE_DISK_FULL);
	ck_assert_int_eq(store_errno_status(5 /* EIO */), STORE_IO_ERROR);
	ck_assert(store_folder_name_valid("INBOX"));
	ck_assert(store_folder_name_valid("Lists/sluice-dev"));
	ck_assert(store_folder_name_valid("Caf\xc3\xa9"));
	ck_assert(!store_folder_name_valid(""));
	ck_assert(!store_folder_name_valid("/a"));
	ck_assert(!store_folder_name_valid("a/"));
	ck_assert(!store_folder_name_valid("a//b"));
	ck_assert(!store_folder_name_valid("a*"));
	ck_assert(!store_folder_name_valid("a\r\nb"));
	ck_assert(!store_folder_name_valid("bad\xff"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store_file");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_blob_names);
	tcase_add_test(tc, test_link_and_mkdirs);
	tcase_add_test(tc, test_dir_sync_shared);
	tcase_add_test(tc, test_arrays);
	tcase_add_test(tc, test_msg);
	tcase_add_test(tc, test_status_and_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
