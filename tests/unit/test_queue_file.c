/*
 * test_queue_file.c: the queue on disk: the writer (mta/queue_file.c), the
 * reader and in-place updater (mta/queue_msg.c), the layout helpers
 * (mta/queue_dir.c), xtext (mta/queue_format.c), maildrop files
 * (mta/queue_maildrop.c), the delivery log (mta/bounce_log.c) and DSN
 * composition (mta/bounce_dsn.c), on real files in a temporary queue
 * directory, with real fsync.
 */
#include "bounce_dsn.h"
#include "bounce_log.h"
#include "queue_dir.h"
#include "queue_file.h"
#include "queue_format.h"
#include "queue_maildrop.h"
#include "queue_msg.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char qdir[64];

static void setup(void)
{
	const char *error = NULL;

	snprintf(qdir, sizeof(qdir), "/tmp/sluice-test-queue-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(qdir));
	ck_assert_msg(queue_dirs_init(qdir, (uid_t)-1, (gid_t)-1, &error) == 0, "%s", error);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", qdir);
	ck_assert_int_eq(system(cmd), 0);
}

static const struct queue_envelope test_env = {
    .sender = "alice@example.test",
    .envid = "env 1+2=3",
    .ret = QUEUE_RET_HDRS,
    .body = QUEUE_BODY_8BITMIME,
    .smtputf8 = 1,
    .auth_user = "alice@example.test",
    .client_ip = "192.0.2.7",
    .client_helo = "client.example",
    .origin = "submission",
    .arrival = 0,
};

/* Write a message with the given recipients and content; returns its id. */
static char *write_msg(const struct queue_envelope *env, const struct queue_recipient *rcpts,
                       size_t n, const char *content, size_t clen)
{
	struct queue_writer *w;
	const char *error = NULL;
	char *id;

	ck_assert_msg(queue_writer_begin(qdir, env, &w, &error) == 0, "%s", error);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(queue_writer_add_recipient(w, &rcpts[i], &error) == 0, "%s", error);
	/* Odd-sized pieces, as a DATA reader hands them over. */
	for (size_t off = 0; off < clen;) {
		size_t piece = clen - off < 7777 ? clen - off : 7777;
		ck_assert_msg(queue_writer_write(w, content + off, piece, &error) == 0, "%s",
		              error);
		off += piece;
	}
	ck_assert_uint_eq(queue_writer_size(w), clen);
	id = strdup(queue_writer_id(w));
	ck_assert(queue_id_valid(id));
	ck_assert_msg(queue_writer_commit(&w, &error) == 0, "%s", error);
	ck_assert_ptr_null(w);
	return id;
}

static struct queue_msg *open_msg(enum queue_sub sub, const char *id, bool writable)
{
	struct queue_msg *msg = NULL;
	const char *error = NULL;
	char *path = queue_path(qdir, sub, id);

	ck_assert_msg(queue_msg_open(path, writable, &msg, &error) == 0, "%s", error);
	free(path);
	return msg;
}

START_TEST(test_roundtrip)
{
	static const char content[] = "Subject: hi\r\nFrom: a@b\r\n\r\nbody\r\n.\r\n";
	struct queue_recipient rcpts[] = {
	    {.address = "bob@example.test",
	     .orig_rcpt = "rfc822;list@example.test",
	     .given = "list@example.test",
	     .notify = QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE,
	     .local = 1},
	    {.address = "\"odd one\"@remote.example", .notify = QUEUE_NOTIFY_NEVER, .local = 0},
	    {.address = "j\xc3\xb6rg+x=y@example.test", .notify = 0, .local = 1},
	};
	char *id = write_msg(&test_env, rcpts, 3, content, strlen(content));
	struct queue_msg *msg = open_msg(QUEUE_SUB_INCOMING, id, false);
	struct sbuf hdr = {0};
	const char *error = NULL;
	char buf[256];
	time_t now = time(NULL);

	ck_assert_str_eq(msg->id, id);
	ck_assert_str_eq(msg->sender, "alice@example.test");
	ck_assert_str_eq(msg->envid, "env 1+2=3");
	ck_assert_int_eq(msg->ret, QUEUE_RET_HDRS);
	ck_assert_int_eq(msg->body, QUEUE_BODY_8BITMIME);
	ck_assert(msg->smtputf8);
	ck_assert_str_eq(msg->auth_user, "alice@example.test");
	ck_assert_str_eq(msg->client_ip, "192.0.2.7");
	ck_assert_str_eq(msg->client_helo, "client.example");
	ck_assert_str_eq(msg->origin, "submission");
	ck_assert_int_ge(msg->arrival_ms / 1000, now - 2);
	ck_assert_int_le(msg->arrival_ms / 1000, now);
	ck_assert_uint_eq(msg->attempts, 0);
	ck_assert_int_eq(msg->next_attempt, 0);
	ck_assert_int_eq(msg->flag, QUEUE_FLAG_NONE);
	ck_assert_uint_eq(msg->size, strlen(content));
	ck_assert_uint_eq(msg->rcpt_count, 3);
	ck_assert_str_eq(msg->rcpts[0].address, "bob@example.test");
	ck_assert_str_eq(msg->rcpts[0].orig_rcpt, "rfc822;list@example.test");
	ck_assert_str_eq(msg->rcpts[0].given, "list@example.test");
	ck_assert_uint_eq(msg->rcpts[0].notify, QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE);
	ck_assert(msg->rcpts[0].local);
	ck_assert_int_eq(msg->rcpts[0].status, QUEUE_RCPT_PENDING);
	ck_assert_str_eq(msg->rcpts[0].dsn, "");
	ck_assert_str_eq(msg->rcpts[1].address, "\"odd one\"@remote.example");
	ck_assert_ptr_null(msg->rcpts[1].orig_rcpt);
	ck_assert_ptr_null(msg->rcpts[1].given);
	ck_assert_uint_eq(msg->rcpts[1].notify, QUEUE_NOTIFY_NEVER);
	ck_assert(!msg->rcpts[1].local);
	ck_assert_str_eq(msg->rcpts[2].address, "j\xc3\xb6rg+x=y@example.test");
	ck_assert_uint_eq(msg->rcpts[2].notify, 0);

	ck_assert_int_eq(queue_msg_read(msg, 0, buf, sizeof(buf), &error),
	                 (ssize_t)strlen(content));
	ck_assert_int_eq(memcmp(buf, content, strlen(content)), 0);
	ck_assert_int_eq(queue_msg_read(msg, 5, buf, 3, &error), 3);
	ck_assert_int_eq(memcmp(buf, "ct:", 3), 0);
	ck_assert_int_eq(queue_msg_read(msg, strlen(content), buf, 10, &error), 0);
	ck_assert_int_eq(queue_msg_read_header(msg, 65536, &hdr, &error), 0);
	ck_assert_str_eq(hdr.data, "Subject: hi\r\nFrom: a@b\r\n\r\n");
	sbuf_free(&hdr);
	queue_msg_free(&msg);
	ck_assert_ptr_null(msg);
	free(id);
}
END_TEST

START_TEST(test_updates_in_place)
{
	struct queue_recipient rcpts[] = {
	    {.address = "a@example.test", .local = 1},
	    {.address = "b@example.test", .local = 1},
	};
	char *id = write_msg(&test_env, rcpts, 2, "x\r\n", 3);
	struct queue_msg *msg = open_msg(QUEUE_SUB_INCOMING, id, true);
	const char *error = NULL;
	char *path = queue_path(qdir, QUEUE_SUB_INCOMING, id);
	struct stat st1, st2;

	ck_assert_int_eq(stat(path, &st1), 0);
	ck_assert_int_eq(queue_msg_set_rcpt(msg, 0, QUEUE_RCPT_SENT, "2.0.0", &error), 0);
	ck_assert_int_eq(queue_msg_set_rcpt(msg, 1, QUEUE_RCPT_DEFERRED, "4.123.456", &error), 0);
	ck_assert_int_eq(queue_msg_set_state(msg, 3, 1900000000, QUEUE_FLAG_WARNED, &error), 0);
	ck_assert_int_eq(queue_msg_sync(msg, &error), 0);
	queue_msg_free(&msg);
	ck_assert_int_eq(stat(path, &st2), 0);
	ck_assert_int_eq(st1.st_size, st2.st_size);

	msg = open_msg(QUEUE_SUB_INCOMING, id, true);
	ck_assert_int_eq(msg->rcpts[0].status, QUEUE_RCPT_SENT);
	ck_assert_str_eq(msg->rcpts[0].dsn, "2.0.0");
	ck_assert_int_eq(msg->rcpts[1].status, QUEUE_RCPT_DEFERRED);
	ck_assert_str_eq(msg->rcpts[1].dsn, "4.123.456");
	ck_assert_uint_eq(msg->attempts, 3);
	ck_assert_int_eq(msg->next_attempt, 1900000000);
	ck_assert_int_eq(msg->flag, QUEUE_FLAG_WARNED);
	/* A shorter code replaces a longer one completely; NULL keeps the code. */
	ck_assert_int_eq(queue_msg_set_rcpt(msg, 1, QUEUE_RCPT_FAILED, "5.1.1", &error), 0);
	ck_assert_int_eq(queue_msg_set_rcpt(msg, 0, QUEUE_RCPT_DELIVERED, NULL, &error), 0);
	queue_msg_free(&msg);
	msg = open_msg(QUEUE_SUB_INCOMING, id, false);
	ck_assert_str_eq(msg->rcpts[1].dsn, "5.1.1");
	ck_assert_int_eq(msg->rcpts[1].status, QUEUE_RCPT_FAILED);
	ck_assert_str_eq(msg->rcpts[0].dsn, "2.0.0");
	ck_assert_int_eq(msg->rcpts[0].status, QUEUE_RCPT_DELIVERED);
	ck_assert(!queue_rcpt_status_final(QUEUE_RCPT_DELIVERED));
	ck_assert(queue_rcpt_status_final(QUEUE_RCPT_BOUNCED));
	ck_assert(queue_rcpt_status_pending(QUEUE_RCPT_DEFERRED));
	ck_assert_str_eq(queue_rcpt_status_name(QUEUE_RCPT_FAILED), "failed");
	queue_msg_free(&msg);
	free(path);
	free(id);
}
END_TEST

START_TEST(test_big_content)
{
	size_t len = 3 * 1024 * 1024 + 17;
	char *content = malloc(len), buf[65536];
	struct queue_recipient r = {.address = "big@example.test", .local = 1};
	const char *error = NULL;
	char *id;
	struct queue_msg *msg;
	uint64_t off = 0;

	for (size_t i = 0; i < len; i++)
		content[i] = (char)(i * 7 + i / 1000);
	id = write_msg(&test_env, &r, 1, content, len);
	msg = open_msg(QUEUE_SUB_INCOMING, id, false);
	ck_assert_uint_eq(msg->size, len);
	while (off < len) {
		ssize_t n = queue_msg_read(msg, off, buf, sizeof(buf), &error);
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(memcmp(buf, content + off, (size_t)n), 0);
		off += (uint64_t)n;
	}
	queue_msg_free(&msg);
	free(content);
	free(id);
}
END_TEST

static int count_files(enum queue_sub sub)
{
	struct queue_id_list list;
	const char *error = NULL;
	int n;

	ck_assert_msg(queue_list(qdir, sub, &list, &error) == 0, "%s", error);
	n = (int)list.count;
	queue_id_list_free(&list);
	return n;
}

START_TEST(test_abort_and_failures)
{
	struct queue_writer *w;
	const char *error = NULL;
	struct queue_recipient r = {.address = "a@example.test", .local = 1};
	struct queue_recipient empty = {.address = "", .local = 1};

	/* Abort leaves nothing behind. */
	ck_assert_int_eq(queue_writer_begin(qdir, &test_env, &w, &error), 0);
	ck_assert_int_eq(queue_writer_add_recipient(w, &r, &error), 0);
	ck_assert_int_eq(queue_writer_write(w, "abc", 3, &error), 0);
	ck_assert_int_eq(count_files(QUEUE_SUB_TMP), 1);
	queue_writer_abort(&w);
	ck_assert_ptr_null(w);
	queue_writer_abort(&w);
	ck_assert_int_eq(count_files(QUEUE_SUB_TMP), 0);

	/* No recipients: commit fails and removes the file. */
	ck_assert_int_eq(queue_writer_begin(qdir, &test_env, &w, &error), 0);
	ck_assert_int_eq(queue_writer_add_recipient(w, &empty, &error), -1);
	ck_assert_int_eq(queue_writer_write(w, "abc", 3, &error), 0);
	ck_assert_int_eq(queue_writer_commit(&w, &error), -1);
	ck_assert_str_eq(error, "a message without recipients");
	ck_assert_int_eq(count_files(QUEUE_SUB_TMP), 0);
	ck_assert_int_eq(count_files(QUEUE_SUB_INCOMING), 0);

	/* Recipients after content are refused. */
	ck_assert_int_eq(queue_writer_begin(qdir, &test_env, &w, &error), 0);
	ck_assert_int_eq(queue_writer_add_recipient(w, &r, &error), 0);
	ck_assert_int_eq(queue_writer_write(w, "abc", 3, &error), 0);
	ck_assert_int_eq(queue_writer_add_recipient(w, &r, &error), -1);
	ck_assert_int_eq(queue_writer_commit(&w, &error), 0);
	ck_assert_int_eq(count_files(QUEUE_SUB_INCOMING), 1);

	/* A missing queue folder is an error at begin. */
	ck_assert_int_eq(queue_writer_begin("/nonexistent/queue", &test_env, &w, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "/nonexistent/queue/tmp/"));
}
END_TEST

START_TEST(test_damaged_files)
{
	struct queue_recipient r = {.address = "a@example.test", .local = 1};
	char *id = write_msg(&test_env, &r, 1, "hello\r\n", 7);
	char *path = queue_path(qdir, QUEUE_SUB_INCOMING, id);
	struct queue_msg *msg = NULL;
	const char *error = NULL;
	int fd;

	/* A file cut short (or grown) no longer matches its size field. */
	ck_assert_int_eq(truncate(path, 10), 0);
	ck_assert_int_eq(queue_msg_open(path, false, &msg, &error), -1);
	ck_assert_ptr_null(msg);
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "garbage\n", 8), 8);
	close(fd);
	ck_assert_int_eq(queue_msg_open(path, false, &msg, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "not a queue file"));
	ck_assert_int_eq(queue_msg_open("/nonexistent", false, &msg, &error), -1);
	free(path);
	free(id);
}
END_TEST

START_TEST(test_xtext)
{
	static const char *const cases[][2] = {
	    {"", ""},
	    {"plain@example.test", "plain@example.test"},
	    {"a+b=c", "a+2Bb+3Dc"},
	    {"two words", "two+20words"},
	    {"tab\there\r\n", "tab+09here+0D+0A"},
	    {"\xc3\xa9", "+C3+A9"},
	};
	struct sbuf b = {0};
	char *out;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sbuf_reset(&b);
		queue_xtext_encode(&b, cases[i][0], strlen(cases[i][0]));
		ck_assert_msg(strcmp(sbuf_str(&b), cases[i][1]) == 0,
		              "encode '%s': got '%s' want '%s'", cases[i][0], sbuf_str(&b),
		              cases[i][1]);
		ck_assert_int_eq(queue_xtext_decode(b.data ? b.data : "", b.len, &out), 0);
		ck_assert_str_eq(out, cases[i][0]);
		free(out);
	}
	sbuf_free(&b);
	ck_assert_int_eq(queue_xtext_decode("a+2", 3, &out), -1);
	ck_assert_int_eq(queue_xtext_decode("a+ZZ", 4, &out), -1);
	ck_assert_int_eq(queue_xtext_decode("a+00", 4, &out), -1);
	ck_assert_int_eq(queue_xtext_decode("a b", 3, &out), -1);
	ck_assert_int_eq(queue_xtext_decode("a=b", 3, &out), -1);
}
END_TEST

START_TEST(test_ids_and_layout)
{
	char a[QUEUE_ID_BUFSZ], b[QUEUE_ID_BUFSZ];
	struct queue_recipient r = {.address = "a@example.test", .local = 1};
	const char *error = NULL;
	enum queue_sub sub;
	struct stat st;
	char *path, *id1, *id2;
	struct timespec ts;

	queue_id_new(a);
	usleep(2000);
	queue_id_new(b);
	ck_assert(queue_id_valid(a));
	ck_assert(queue_id_valid(b));
	ck_assert_int_lt(strcmp(a, b), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	ck_assert_int_le(queue_id_time_us(b), (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	ck_assert_int_ge(queue_id_time_us(b), ((int64_t)ts.tv_sec - 2) * 1000000);
	ck_assert(!queue_id_valid("0123456789abcdef"));
	ck_assert(!queue_id_valid("0123456789ABCDE"));
	ck_assert(!queue_id_valid("0123456789ABCDEFG"));
	ck_assert(!queue_id_valid("../../etc/passwd"));

	/* maildrop/ is 1733, the rest 0700. */
	path = queue_path(qdir, QUEUE_SUB_MAILDROP, NULL);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 01733);
	free(path);
	path = queue_path(qdir, QUEUE_SUB_DEFERRED, NULL);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	free(path);

	id1 = write_msg(&test_env, &r, 1, "1", 1);
	id2 = write_msg(&test_env, &r, 1, "2", 1);
	ck_assert_int_eq(queue_locate(qdir, id1, &sub, &error), 0);
	ck_assert_int_eq(sub, QUEUE_SUB_INCOMING);
	ck_assert_int_eq(queue_move(qdir, id1, QUEUE_SUB_INCOMING, QUEUE_SUB_HOLD), 0);
	ck_assert_int_eq(queue_locate(qdir, id1, &sub, &error), 0);
	ck_assert_int_eq(sub, QUEUE_SUB_HOLD);
	ck_assert_int_eq(queue_move(qdir, id1, QUEUE_SUB_INCOMING, QUEUE_SUB_HOLD), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* A move never replaces a file. */
	path = queue_path(qdir, QUEUE_SUB_INCOMING, id1);
	{
		char *p2 = queue_path(qdir, QUEUE_SUB_INCOMING, id2);
		ck_assert_int_eq(link(p2, path), 0);
		free(p2);
	}
	ck_assert_int_eq(queue_move(qdir, id1, QUEUE_SUB_INCOMING, QUEUE_SUB_HOLD), -1);
	ck_assert_int_eq(errno, EEXIST);
	unlink(path);
	free(path);
	ck_assert_int_eq(queue_locate(qdir, "0000000000ZZZZZZ", &sub, &error), 1);
	ck_assert_int_eq(queue_locate(qdir, "nonsense", &sub, &error), 1);
	ck_assert_int_eq(count_files(QUEUE_SUB_INCOMING), 1);
	ck_assert_int_eq(count_files(QUEUE_SUB_HOLD), 1);
	free(id1);
	free(id2);
}
END_TEST

START_TEST(test_maildrop_roundtrip)
{
	const char *rcpts[] = {"bob", "carol@example.test"};
	struct maildrop_envelope env = {
	    .sender = "",
	    .fullname = "Alice Example",
	    .rcpts = rcpts,
	    .rcpt_count = 2,
	    .notify = QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_DELAY,
	    .ret = QUEUE_RET_FULL,
	    .envid = "E 1",
	};
	struct maildrop_writer *w;
	struct maildrop_file *f = NULL;
	const char *error = NULL;
	char buf[64], *dir = queue_path(qdir, QUEUE_SUB_MAILDROP, NULL), name[256] = "";
	struct dirent *de;
	DIR *d;

	ck_assert_int_eq(maildrop_writer_begin(qdir, &env, &w, &error), 0);
	ck_assert_int_eq(maildrop_writer_write(w, "Subject: x\r\n\r\nbody\r\n", 21, &error), 0);
	ck_assert_uint_eq(maildrop_writer_size(w), 21);
	ck_assert_int_eq(maildrop_writer_commit(&w, &error), 0);
	ck_assert_ptr_null(w);
	d = opendir(dir);
	while ((de = readdir(d)) != NULL) {
		ck_assert_msg(strncmp(de->d_name, ".tmp.", 5) != 0, "temporary file left");
		if (maildrop_name_valid(de->d_name))
			snprintf(name, sizeof(name), "%s", de->d_name);
	}
	closedir(d);
	ck_assert_str_ne(name, "");
	ck_assert_int_eq(maildrop_open(qdir, name, 1000, 10, &f, &error), 0);
	ck_assert_str_eq(f->sender, "");
	ck_assert_str_eq(f->fullname, "Alice Example");
	ck_assert_str_eq(f->envid, "E 1");
	ck_assert_uint_eq(f->rcpt_count, 2);
	ck_assert_str_eq(f->rcpts[0], "bob");
	ck_assert_uint_eq(f->notify, QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_DELAY);
	ck_assert_int_eq(f->ret, QUEUE_RET_FULL);
	ck_assert_uint_eq(f->uid, getuid());
	ck_assert_int_eq(maildrop_read(f, 14, buf, sizeof(buf), &error), 7);
	ck_assert_int_eq(memcmp(buf, "body\r\n", 6), 0);
	maildrop_free(&f);
	/* Limits: size and recipient count are checked. */
	ck_assert_int_eq(maildrop_open(qdir, name, 20, 10, &f, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "over the limit"));
	ck_assert_int_eq(maildrop_open(qdir, name, 1000, 1, &f, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "too many recipients"));
	free(dir);
}
END_TEST

START_TEST(test_bounce_log)
{
	struct bounce_log_entry e[] = {
	    {.rcpt = 0, .time = 100, .status = 'D', .dsn = "4.2.0", .text = "451 4.2.0 busy now"},
	    {.rcpt = 2, .time = 101, .status = 'F', .dsn = "5.1.1", .text = "550 5.1.1 no\tsuch"},
	    {.rcpt = 0, .time = 200, .status = 'S', .dsn = "2.0.0", .text = ""},
	};
	struct bounce_log_last *last = NULL;
	const char *error = NULL;
	char *path;
	FILE *f;

	ck_assert_int_eq(bounce_log_append(qdir, "0000000000LOGLOG", e, 2, true, &error), 0);
	ck_assert_int_eq(bounce_log_append(qdir, "0000000000LOGLOG", e + 2, 1, false, &error), 0);
	/* A line cut by a crash is skipped. */
	path = queue_path(qdir, QUEUE_SUB_BOUNCE, "0000000000LOGLOG.log");
	f = fopen(path, "a");
	fputs("1 300 D 4.4", f);
	fclose(f);
	ck_assert_int_eq(bounce_log_read(qdir, "0000000000LOGLOG", 3, &last, &error), 0);
	ck_assert_int_eq(last[0].time, 200);
	ck_assert_int_eq(last[0].status, 'S');
	ck_assert_str_eq(last[0].text, "");
	ck_assert_int_eq(last[1].time, 0);
	ck_assert_ptr_null(last[1].text);
	ck_assert_str_eq(last[2].dsn, "5.1.1");
	ck_assert_str_eq(last[2].text, "550 5.1.1 no\tsuch");
	bounce_log_last_free(&last, 3);
	bounce_log_remove(qdir, "0000000000LOGLOG");
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(bounce_log_read(qdir, "0000000000LOGLOG", 3, &last, &error), 0);
	bounce_log_last_free(&last, 3);
	free(path);
}
END_TEST

START_TEST(test_dsn_composition)
{
	static const char content[] = "Subject: original\r\nFrom: a@b\r\n\r\nthe body\r\n";
	struct queue_recipient rcpts[] = {
	    {.address = "bob@example.test", .orig_rcpt = "rfc822;list@example.test", .local = 1},
	    {.address = "carol@example.test", .given = "team@example.test", .local = 1},
	};
	struct queue_envelope env = test_env;
	struct bounce_rcpt br[] = {
	    {.index = 0,
	     .status = "5.1.1",
	     .diagnostic = "550 5.1.1 unknown",
	     .last_attempt = 1700000000},
	    {.index = 1, .status = "4.4.7", .diagnostic = "message too old", .last_attempt = 0},
	};
	struct bounce_settings set = {
	    .queue_dir = qdir, .hostname = "mx.example.test", .size_limit = 1000};
	struct bounce_to to = {.address = "alice@example.test", .local = 1};
	struct queue_msg *orig, *dsn;
	char new_id[QUEUE_ID_BUFSZ], *id, *text;
	const char *error = NULL;

	env.smtputf8 = 0;
	env.ret = QUEUE_RET_FULL;
	id = write_msg(&env, rcpts, 2, content, strlen(content));
	orig = open_msg(QUEUE_SUB_INCOMING, id, false);
	ck_assert_msg(bounce_dsn_queue(&set, orig, BOUNCE_FAILURE, br, 2, &to, 1, "bounce", 0,
	                               new_id, &error) == 0,
	              "%s", error);
	dsn = open_msg(QUEUE_SUB_INCOMING, new_id, false);
	ck_assert_str_eq(dsn->sender, "");
	ck_assert_str_eq(dsn->origin, "bounce");
	ck_assert_uint_eq(dsn->rcpt_count, 1);
	ck_assert_str_eq(dsn->rcpts[0].address, "alice@example.test");
	ck_assert_uint_eq(dsn->rcpts[0].notify, QUEUE_NOTIFY_NEVER);
	text = calloc(1, dsn->size + 1);
	ck_assert_int_eq(queue_msg_read(dsn, 0, text, dsn->size, &error), (ssize_t)dsn->size);
	{
		char trace[128];
		snprintf(trace, sizeof(trace), "Received: by mx.example.test (Sluice) id %s; ",
		         new_id);
		ck_assert_ptr_nonnull(strstr(text, trace));
	}
	ck_assert_ptr_nonnull(
	    strstr(text, "Content-Type: multipart/report; report-type=delivery-status;"));
	ck_assert_ptr_nonnull(strstr(text, "\r\nReporting-MTA: dns; mx.example.test\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "\r\nOriginal-Envelope-Id: env 1+2=3\r\n"));
	ck_assert_ptr_nonnull(strstr(text,
	                             "\r\nFinal-Recipient: rfc822; bob@example.test\r\n"
	                             "Original-Recipient: rfc822; list@example.test\r\n"
	                             "Action: failed\r\nStatus: 5.1.1\r\n"
	                             "Diagnostic-Code: smtp; 550 5.1.1 unknown\r\n"
	                             "Last-Attempt-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "\r\nFinal-Recipient: rfc822; carol@example.test\r\n"
	                                   "Original-Recipient: rfc822; team@example.test\r\n"
	                                   "Action: failed\r\nStatus: 4.4.7\r\n"
	                                   "Diagnostic-Code: X-Sluice; message too old\r\n"));
	/* RET=FULL and small enough: the whole message comes back. */
	ck_assert_ptr_nonnull(strstr(text, "Content-Type: message/rfc822\r\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "\r\n\r\nSubject: original\r\nFrom: a@b\r\n\r\nthe body\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "Auto-Submitted: auto-replied\r\n"));
	free(text);
	queue_msg_free(&dsn);

	/* Over the size limit: only the header. */
	set.size_limit = 10;
	ck_assert_int_eq(bounce_dsn_queue(&set, orig, BOUNCE_DELAY, br, 1, &to, 1, "bounce",
	                                  1800000000, new_id, &error),
	                 0);
	dsn = open_msg(QUEUE_SUB_INCOMING, new_id, false);
	text = calloc(1, dsn->size + 1);
	ck_assert_int_eq(queue_msg_read(dsn, 0, text, dsn->size, &error), (ssize_t)dsn->size);
	ck_assert_ptr_nonnull(strstr(text, "Action: delayed\r\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "Will-Retry-Until: Fri, 15 Jan 2027 08:00:00 +0000\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "Content-Type: text/rfc822-headers\r\n"));
	ck_assert_ptr_null(strstr(text, "the body"));
	free(text);
	queue_msg_free(&dsn);
	queue_msg_free(&orig);
	free(id);
}
END_TEST

/* Read a whole file into memory. */
static char *slurp(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	data = malloc((size_t)n + 1);
	ck_assert_int_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len_r = (size_t)n;
	return data;
}

static void spill(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Both parsers of files others write, on mutated copies of valid files: never a crash. */
START_TEST(test_parsers_mutated)
{
	struct queue_recipient r[] = {
	    {.address = "a@example.test", .given = "x y", .local = 1},
	    {.address = "b@example.test", .orig_rcpt = "rfc822;b", .local = 0}};
	const char *mrcpts[] = {"bob"};
	struct maildrop_envelope menv = {.sender = "s@x", .rcpts = mrcpts, .rcpt_count = 1};
	struct maildrop_writer *mw;
	char *id = write_msg(&test_env, r, 2, "Subject: s\r\n\r\nb\r\n", 17);
	char *qpath = queue_path(qdir, QUEUE_SUB_INCOMING, id);
	char *mpath = queue_path(qdir, QUEUE_SUB_MAILDROP, "0000000000MUTANT");
	const char *error = NULL;
	size_t qlen, mlen;
	char *qorig = slurp(qpath, &qlen), *morig, *buf;
	unsigned int seed = 12345, accepted = 0;

	ck_assert_int_eq(maildrop_writer_begin(qdir, &menv, &mw, &error), 0);
	ck_assert_int_eq(maildrop_writer_write(mw, "x\r\n", 3, &error), 0);
	ck_assert_int_eq(maildrop_writer_commit(&mw, &error), 0);
	{
		struct queue_id_list l;
		ck_assert_int_eq(queue_list(qdir, QUEUE_SUB_MAILDROP, &l, &error), 0);
		ck_assert_uint_eq(l.count, 1);
		char *p = queue_path(qdir, QUEUE_SUB_MAILDROP, l.ids[0]);
		morig = slurp(p, &mlen);
		unlink(p);
		free(p);
		queue_id_list_free(&l);
	}
	buf = malloc((qlen > mlen ? qlen : mlen) + 1);
	for (int i = 0; i < 1000; i++) {
		bool maildrop = i % 2 == 1;
		const char *orig = maildrop ? morig : qorig;
		size_t len = maildrop ? mlen : qlen, n;

		memcpy(buf, orig, len);
		n = len;
		/* 1-3 random bytes changed (often to a space, digit or LF), sometimes cut short. */
		for (int k = 0, m = 1 + (int)(rand_r(&seed) % 3); k < m; k++) {
			static const char pick[] = " \n+=09-A\x00\xff";
			buf[rand_r(&seed) % len] = pick[rand_r(&seed) % (sizeof(pick) - 1)];
		}
		if (rand_r(&seed) % 4 == 0)
			n = rand_r(&seed) % len;
		if (maildrop) {
			struct maildrop_file *f = NULL;
			spill(mpath, buf, n);
			if (maildrop_open(qdir, "0000000000MUTANT", 1000, 10, &f, &error) == 0) {
				accepted++;
				maildrop_free(&f);
			}
		} else {
			struct queue_msg *m = NULL;
			spill(qpath, buf, n);
			if (queue_msg_open(qpath, false, &m, &error) == 0) {
				accepted++;
				for (size_t j = 0; j < m->rcpt_count; j++)
					ck_assert_ptr_nonnull(m->rcpts[j].address);
				queue_msg_free(&m);
			}
		}
	}
	/* Some mutations are harmless (a letter in a value), most are refused. */
	ck_assert_uint_gt(accepted, 0);
	ck_assert_uint_lt(accepted, 1000);
	free(buf);
	free(qorig);
	free(morig);
	free(qpath);
	free(mpath);
	free(id);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("queue_file");
	TCase *tc = tcase_create("queue_file");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	/* Real fsyncs on a busy machine (tests run two at a time): more than Check's 4 s. */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_updates_in_place);
	tcase_add_test(tc, test_big_content);
	tcase_add_test(tc, test_abort_and_failures);
	tcase_add_test(tc, test_damaged_files);
	tcase_add_test(tc, test_xtext);
	tcase_add_test(tc, test_ids_and_layout);
	tcase_add_test(tc, test_maildrop_roundtrip);
	tcase_add_test(tc, test_bounce_log);
	tcase_add_test(tc, test_dsn_composition);
	tcase_add_test(tc, test_parsers_mutated);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
