/*
 * test_sieve_run.c: the Sieve interpreter through its API, for what the
 * sluice-sieve output does not show: the full vacation and notify actions,
 * the callbacks (mailbox, duplicate and vacation databases), edited headers
 * carried by actions, duplicate ids to record, redirect loop protection,
 * runtime errors dropping every action, the step and time budget, the
 * before/user/after chain, score sources, and one program run by many
 * threads at once.
 */
#include "mime.h"
#include "sieve.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char message_text[] = "From: Carol <carol@example.net>\r\n"
                                   "To: Bob <bob@example.com>\r\n"
                                   "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= from Carol\r\n"
                                   "Message-ID: <m1@example.net>\r\n"
                                   "References: <m0@example.net>\r\n"
                                   "X-Spam-Level: *******\r\n"
                                   "X-Scan: maybe\r\n"
                                   "\r\n"
                                   "Hello Bob.\r\n";

struct fixture {
	struct message *msg;
	struct sieve_envelope envelope;
	struct sieve_env env;
	int mailbox_calls, dup_answer, replied_answer, mailbox_answer;
	char last_dup_id[128];
};

static int cb_mailbox(void *ctx, const char *mailbox)
{
	struct fixture *f = ctx;

	f->mailbox_calls++;
	return strcmp(mailbox, "Archive") == 0 ? f->mailbox_answer : 0;
}

static int cb_duplicate(void *ctx, const char *handle, const char *id, uint64_t seconds, int last)
{
	struct fixture *f = ctx;

	(void)handle;
	(void)seconds;
	(void)last;
	snprintf(f->last_dup_id, sizeof(f->last_dup_id), "%s", id);
	return f->dup_answer;
}

static int cb_replied(void *ctx, const char *sender, const char *handle, uint64_t seconds)
{
	struct fixture *f = ctx;

	(void)sender;
	(void)handle;
	(void)seconds;
	return f->replied_answer;
}

static void fixture_init(struct fixture *f, const char *text)
{
	const char *error;

	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(message_parse(text, strlen(text), NULL, &f->msg, &error), 0);
	f->envelope.from = "carol@example.net";
	f->envelope.to = "bob@example.com";
	sieve_env_default(&f->env);
	f->env.ctx = f;
	f->env.mailbox_exists = cb_mailbox;
	f->env.duplicate_check = cb_duplicate;
	f->env.vacation_replied = cb_replied;
	f->mailbox_answer = 1;
	f->env.now = 1700000000; /* 2023-11-14 */
}

static struct sieve_program *compile(const char *script)
{
	struct sieve_program *prog;
	struct sieve_errors errors;
	struct sbuf text = {0};

	if (sieve_compile(script, strlen(script), NULL, &prog, &errors) < 0) {
		sieve_errors_format(&errors, &text);
		ck_abort_msg("compile failed: %s", sbuf_str(&text));
	}
	return prog;
}

static struct sieve_result *run(struct fixture *f, const char *script)
{
	struct sieve_program *prog = compile(script);
	struct sieve_result *r = sieve_run(prog, f->msg, &f->envelope, &f->env);

	sieve_program_free(&prog);
	return r;
}

static char *format(const struct sieve_result *r)
{
	struct sbuf out = {0};

	sieve_result_format(r, "INBOX", &out);
	sbuf_append(&out, "", 0);
	return out.data;
}

START_TEST(test_vacation_action)
{
	struct fixture f;
	struct sieve_result *r;
	const struct sieve_vacation *v;

	fixture_init(&f, message_text);
	r = run(&f, "require [\"vacation\"];\nvacation :handle \"h1\" :days 2 "
	            ":from \"Bob B <bob@example.com>\" \"Away.\";\n");
	ck_assert(!r->failed);
	ck_assert_uint_eq(r->count, 2);
	ck_assert_int_eq(r->actions[0].type, SIEVE_ACTION_VACATION);
	v = r->actions[0].vacation;
	ck_assert_int_eq(v->send, 1);
	ck_assert_str_eq(v->to, "carol@example.net");
	ck_assert_str_eq(v->from, "Bob B <bob@example.com>");
	ck_assert_str_eq(v->from_address, "bob@example.com");
	ck_assert_str_eq(v->subject, "Auto: Grüße from Carol");
	ck_assert_str_eq(v->reason, "Away.");
	ck_assert_str_eq(v->handle, "h1");
	ck_assert_uint_eq(v->seconds, 2 * 86400);
	ck_assert_str_eq(v->in_reply_to, "<m1@example.net>");
	ck_assert_str_eq(v->references, "<m0@example.net> <m1@example.net>");
	ck_assert_int_eq(r->actions[1].type, SIEVE_ACTION_KEEP);
	ck_assert(r->actions[1].implicit);
	ck_assert(r->implicit_keep);
	sieve_result_free(&r);
	ck_assert_ptr_null(r);

	/* Already replied within the period: still an action, but not sent. */
	f.replied_answer = 1;
	r = run(&f, "require \"vacation\";\nvacation \"Away.\";\n");
	v = r->actions[0].vacation;
	ck_assert_int_eq(v->send, 0);
	ck_assert_ptr_nonnull(v->suppress_reason);
	ck_assert_ptr_nonnull(v->handle);
	sieve_result_free(&r);

	/* The maximum period configured applies. */
	f.replied_answer = 0;
	f.env.limits.vacation_max_period = 3 * 86400;
	r = run(&f, "require \"vacation\";\nvacation :days 30 \"Away.\";\n");
	ck_assert_uint_eq(r->actions[0].vacation->seconds, 3 * 86400);
	sieve_result_free(&r);
	message_free(&f.msg);
}
END_TEST

START_TEST(test_notify_action)
{
	static const char auto_text[] =
	    "From: robot@example.org\nAuto-Submitted: auto-generated\n\nx\n";
	struct fixture f;
	struct sieve_result *r;
	const struct sieve_notify *n;

	fixture_init(&f, message_text);
	r = run(
	    &f,
	    "require \"enotify\";\nnotify :importance \"1\" :options [\"o1\"] "
	    "\"mailto:alerts@example.org,ops@Example.org?subject=New%20mail&body=see%20it\";\n");
	ck_assert(!r->failed);
	ck_assert_int_eq(r->actions[0].type, SIEVE_ACTION_NOTIFY);
	n = r->actions[0].notify;
	ck_assert_int_eq(n->send, 1);
	ck_assert_int_eq(n->importance, 1);
	ck_assert_uint_eq(n->nrecipients, 2);
	ck_assert_str_eq(n->recipients[1], "ops@example.org");
	ck_assert_str_eq(n->subject, "New mail");
	ck_assert_str_eq(n->body, "see it");
	ck_assert_uint_eq(n->noptions, 1);
	ck_assert_str_eq(n->message, "[SIEVE] Carol <carol@example.net>: Grüße from Carol");
	sieve_result_free(&r);
	message_free(&f.msg);

	/* RFC 5436 2.7: never about auto-submitted mail. */
	fixture_init(&f, auto_text);
	r = run(&f, "require \"enotify\";\nnotify :message \"m\" \"mailto:a@example.org\";\n"
	            "notify :message \"m\" \"mailto:a@example.org\";\n");
	ck_assert_int_eq(r->actions[0].type, SIEVE_ACTION_NOTIFY);
	ck_assert_int_eq(r->actions[0].notify->send, 0);
	ck_assert_int_eq(r->actions[1].type, SIEVE_ACTION_KEEP); /* the duplicate merged */
	sieve_result_free(&r);
	message_free(&f.msg);
}
END_TEST

START_TEST(test_callbacks)
{
	struct fixture f;
	struct sieve_result *r;
	char *out;

	fixture_init(&f, message_text);
	r = run(&f, "require [\"mailbox\", \"fileinto\", \"duplicate\"];\n"
	            "if mailboxexists \"Archive\" { fileinto :create \"Archive\"; }\n"
	            "if duplicate :handle \"x\" { discard; }\n");
	out = format(r);
	ck_assert_str_eq(out, "fileinto \"Archive\"\n");
	free(out);
	ck_assert_int_eq(r->actions[0].create, 1);
	ck_assert_int_eq(f.mailbox_calls, 1);
	ck_assert_str_eq(f.last_dup_id, "<m1@example.net>");
	ck_assert_uint_eq(r->nduplicates, 1);
	ck_assert_str_eq(r->duplicates[0].handle, "x");
	ck_assert_str_eq(r->duplicates[0].id, "<m1@example.net>");
	ck_assert_uint_eq(r->duplicates[0].seconds, 7 * 86400);
	sieve_result_free(&r);

	f.dup_answer = 1;
	r = run(
	    &f,
	    "require \"duplicate\";\nif duplicate :uniqueid \"abc\" :seconds 60 { discard; }\n");
	out = format(r);
	ck_assert_str_eq(out, "discard\n");
	free(out);
	ck_assert_str_eq(f.last_dup_id, "abc");
	ck_assert_uint_eq(r->duplicates[0].seconds, 60);
	sieve_result_free(&r);

	/* A failing lookup is a runtime error: the caller keeps the message. */
	f.mailbox_answer = -1;
	r = run(&f, "require \"mailbox\";\nif mailboxexists \"Archive\" { discard; }\n");
	ck_assert(r->failed);
	ck_assert_uint_eq(r->count, 0);
	ck_assert_uint_eq(r->error_line, 2);
	out = format(r);
	ck_assert_str_eq(out, "error runtime\n");
	free(out);
	sieve_result_free(&r);
	message_free(&f.msg);
}
END_TEST

START_TEST(test_edited_header_snapshots)
{
	struct fixture f;
	struct sieve_result *r;
	const struct message_header *h;

	fixture_init(&f, message_text);
	r = run(&f, "require [\"editheader\", \"fileinto\", \"copy\"];\n"
	            "fileinto :copy \"Before\";\n"
	            "addheader \"X-Added\" \"yes\";\n"
	            "fileinto :copy \"After\";\n"
	            "deleteheader \"subject\";\n");
	ck_assert_uint_eq(r->count, 3);
	ck_assert_ptr_null(r->actions[0].edited_header);
	h = r->actions[1].edited_header;
	ck_assert_ptr_nonnull(h);
	ck_assert_str_eq(h->fields[0].name, "X-Added");
	ck_assert_ptr_nonnull(message_header_get(h, "subject", 0));
	h = r->actions[2].edited_header; /* the implicit keep: the final header */
	ck_assert(r->actions[2].implicit);
	ck_assert_ptr_null(message_header_get(h, "subject", 0));
	/* The parsed message itself is never changed. */
	ck_assert_ptr_null(message_header_get(&f.msg->header, "x-added", 0));
	sieve_result_free(&r);
	message_free(&f.msg);
}
END_TEST

/* Every line of a field as written (name included) within max, 7-bit, no blank line. */
static void check_lines(const struct message_field *f, size_t max)
{
	const char *line = f->raw, *nl;
	size_t len, first = f->name_len + 1;

	for (size_t i = 0; i < f->raw_len; i++)
		ck_assert_msg((unsigned char)f->raw[i] < 0x80, "8-bit byte in %s: %s", f->name,
		              f->raw);
	for (; line != NULL; line = nl != NULL ? nl + 2 : NULL) {
		nl = strstr(line, "\r\n");
		len = (nl != NULL ? (size_t)(nl - line) : strlen(line)) + first;
		ck_assert_msg(len <= max, "%s: a line of %zu characters: %s", f->name, len, f->raw);
		ck_assert_msg(first > 0 || strspn(line, " \t") < len, "%s: a blank line: %s",
		              f->name, f->raw);
		first = 0;
	}
}

static char *decoded(const struct message_header *h, const char *name)
{
	const struct message_field *f = message_header_get(h, name, 0);
	struct sbuf out = {0};

	ck_assert_ptr_nonnull(f);
	mime_header_decode(f->value, f->value_len, &out);
	sbuf_append(&out, "", 0);
	return out.data;
}

/*
 * RFC 5293 4: a value that is not "unstructured" is written with RFC 2047
 * encoded-words and folding white space; tests see it decoded again.
 */
START_TEST(test_addheader_encoding)
{
	static const char *const values[][2] = {
	    {"X-Note", "Gr\xc3\xbc\303\237e aus K\xc3\xb6ln"},
	    {"X-Mixed", "plain words then K\xc3\xb6ln and more"},
	    {"X-Long",
	     "\xc3\x9cn\303\257c\303\266d\xc3\xa9 a long value with mixed words that "
	     "goes on and on and on well beyond seventy-eight characters \xc3\x84\xc3\x96"},
	    {"X-Emoji", "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	                "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	                "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"},
	    {"X-Look", "not =?utf-8?q?a?= word"},
	    {"X-Ctl", "a\001b"},
	    {"X-A-Long-Field-Name-That-Leaves-Little-Room",
	     "Gr\xc3\xb6\303\237e und Gew\xc3\xa4sser"},
	    {"X-Ascii", "only ascii words here, and a few more of them so that the line has to be "
	                "folded before a word"},
	};
	struct sbuf script = {0}, longword = {0};
	const struct message_header *h;
	struct sieve_result *r;
	struct fixture f;
	char *out, *v;
	size_t i;

	for (i = 0; i < 1000; i++)
		sbuf_append_str(&longword, i % 10 == 0 ? "0" : "a");
	sbuf_append_str(&script,
	                "require [\"editheader\", \"variables\", \"encoded-character\"];\n");
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		sbuf_appendf(&script, "addheader \"%s\" \"%s\";\n", values[i][0],
		             strcmp(values[i][0], "X-Ctl") == 0 ? "a${hex:01}b" : values[i][1]);
	sbuf_appendf(&script, "addheader \"X-Word\" \"x %s\";\n", longword.data);
	sbuf_append_str(&script, "addheader :last \"X-Text\" text:\r\nline one\r\n\r\n  \r\n"
	                         "line tw\xc3\xb6\r\n.\r\n;\n");
	fixture_init(&f, message_text);
	r = run(&f, script.data);
	ck_assert_uint_eq(r->count, 1);
	h = r->actions[0].edited_header;
	ck_assert_ptr_nonnull(h);

	/* The exact forms: only the span of words that need it is encoded; Q when mostly ASCII. */
	ck_assert_str_eq(message_header_get(h, "X-Note", 0)->raw,
	                 " =?utf-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=");
	ck_assert_str_eq(message_header_get(h, "X-Mixed", 0)->raw,
	                 " plain words then =?utf-8?Q?K=C3=B6ln?= and more");
	ck_assert_str_eq(message_header_get(h, "X-Emoji", 0)->raw,
	                 " =?utf-8?B?8J+YgPCfmIDwn5iA8J+YgPCfmIDwn5iA8J+YgPCfmIDwn5iA?=\r\n"
	                 " =?utf-8?B?8J+YgPCfmIDwn5iA?=");
	ck_assert_str_eq(message_header_get(h, "X-Look", 0)->raw,
	                 " not =?utf-8?Q?=3D=3Futf-8=3Fq=3Fa=3F=3D?= word");
	ck_assert_str_eq(message_header_get(h, "X-Ctl", 0)->raw, " =?utf-8?Q?a=01b?=");
	ck_assert_str_eq(message_header_get(h, "X-Text", 0)->raw,
	                 " line one\r\n line =?utf-8?Q?tw=C3=B6?=");
	ck_assert_str_eq(message_header_get(h, "X-Ascii", 0)->raw,
	                 " only ascii words here, and a few more of them so that the line has\r\n"
	                 " to be folded before a word");

	/* Every line short enough (RFC 2047 2: 76 with encoded-words), 7-bit, none blank. */
	for (i = 0; i < h->count; i++) {
		if (strncmp(h->fields[i].name, "X-", 2) == 0)
			check_lines(&h->fields[i], 76);
	}
	/* Decoded, each value is what the script gave. */
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		v = decoded(h, values[i][0]);
		ck_assert_str_eq(v, values[i][1]);
		free(v);
	}
	v = decoded(h, "X-Word");
	ck_assert_str_eq(v + 2, longword.data);
	free(v);
	ck_assert_ptr_null(strstr(message_header_get(h, "X-Word", 0)->raw, longword.data));
	v = decoded(h, "X-Text");
	ck_assert_str_eq(v, "line one line tw\xc3\xb6");
	free(v);
	sieve_result_free(&r);

	/* Tests and deleteheader compare decoded values (RFC 5293 5, RFC 5228 5.7). */
	r = run(&f, "require [\"editheader\", \"fileinto\"];\n"
	            "addheader \"X-Note\" \"Gr\xc3\xbc\303\237e aus K\xc3\xb6ln\";\n"
	            "if header :contains \"X-Note\" \"K\xc3\xb6ln\" { fileinto \"contains\"; }\n"
	            "if header :is \"X-Note\" \"Gr\xc3\xbc\303\237e aus K\xc3\xb6ln\" "
	            "{ fileinto \"is\"; }\n"
	            "deleteheader :contains \"X-Note\" \"\303\237e aus\";\n"
	            "if not exists \"X-Note\" { fileinto \"deleted\"; }\n");
	out = format(r);
	ck_assert_str_eq(out, "fileinto \"contains\"\nfileinto \"is\"\nfileinto \"deleted\"\n");
	free(out);
	sieve_result_free(&r);
	sbuf_free(&script);
	sbuf_free(&longword);
	message_free(&f.msg);
}
END_TEST

START_TEST(test_redirect_loop)
{
	static const char looped[] = "X-Sluice-Loop: bob@example.com\nSubject: x\n\nbody\n";
	struct fixture f;
	struct sieve_result *r;
	char *out;

	fixture_init(&f, looped);
	r = run(&f, "redirect \"elsewhere@example.org\";\n");
	out = format(r);
	ck_assert_str_eq(out, "keep\n"); /* not redirected again, and not lost */
	free(out);
	sieve_result_free(&r);
	f.envelope.to = "other@example.com";
	r = run(&f, "redirect \"elsewhere@example.org\";\n");
	out = format(r);
	ck_assert_str_eq(out, "redirect \"elsewhere@example.org\"\n");
	free(out);
	sieve_result_free(&r);
	message_free(&f.msg);
}
END_TEST

START_TEST(test_budget)
{
	struct fixture f;
	struct sieve_result *r;
	struct sbuf script = {0}, text = {0};
	int64_t start;
	int i;

	/* Many tests: the step limit ends the run with an error. */
	fixture_init(&f, message_text);
	f.env.limits.max_steps = 200;
	sbuf_append_str(&script, "require \"fileinto\";\n");
	for (i = 0; i < 500; i++)
		sbuf_append_str(&script, "if header :contains \"subject\" \"nothing\" { keep; }\n");
	r = run(&f, script.data);
	ck_assert(r->failed);
	ck_assert_ptr_nonnull(strstr(r->error, "step limit"));
	sieve_result_free(&r);
	message_free(&f.msg);

	/* A wildcard pattern with O(value x pattern) work is charged to the budget
	   from inside the match, so even one comparison cannot run away. */
	sbuf_append_str(&text, "Subject: ");
	for (i = 0; i < 200000; i++)
		sbuf_append_str(&text, "a");
	sbuf_append_str(&text, "\n\nbody\n");
	fixture_init(&f, text.data);
	f.env.limits.max_steps = 10000;
	sbuf_reset(&script);
	sbuf_append_str(&script, "if header :matches \"subject\" \"*");
	for (i = 0; i < 300; i++)
		sbuf_append_str(&script, "a");
	sbuf_append_str(&script, "b\" { keep; }\n");
	start = monotonic_ms();
	r = run(&f, script.data);
	ck_assert(r->failed);
	ck_assert_ptr_nonnull(strstr(r->error, "step limit"));
	ck_assert_int_lt(monotonic_ms() - start, 15000);
	sieve_result_free(&r);

	/* The time limit alone also ends a run. */
	f.env.limits.max_steps = 1000000000;
	f.env.limits.max_cpu_ms = 20;
	start = monotonic_ms();
	r = run(&f, script.data);
	ck_assert(r->failed);
	ck_assert_ptr_nonnull(strstr(r->error, "time limit"));
	ck_assert_int_lt(monotonic_ms() - start, 5000);
	sieve_result_free(&r);
	message_free(&f.msg);
	sbuf_free(&script);
	sbuf_free(&text);
}
END_TEST

START_TEST(test_chain)
{
	struct fixture f;
	struct sieve_program *before = compile("require \"imap4flags\";\naddflag \"\\\\Seen\";\n");
	struct sieve_program *stopper = compile("require \"fileinto\";\n"
	                                        "if header :contains \"subject\" \"carol\" "
	                                        "{ fileinto \"Carol\"; stop; }\n");
	struct sieve_program *user = compile("require \"fileinto\";\nfileinto \"Work\";\n");
	struct sieve_program *keeper = compile("keep;\n");
	struct sieve_program *after = compile("require \"fileinto\";\nfileinto \"Late\";\n");
	const struct sieve_program *b[2], *a[1] = {after};
	struct sieve_result *r;
	char *out;

	fixture_init(&f, message_text);
	/* The before script's flag reaches the user's fileinto; the after script does
	   not run because the user's script cancelled the implicit keep. */
	b[0] = before;
	r = sieve_run_chain(b, 1, user, a, 1, f.msg, &f.envelope, &f.env);
	out = format(r);
	ck_assert_str_eq(out, "fileinto \"Work\" \\Seen\n");
	free(out);
	sieve_result_free(&r);

	/* stop in a before script ends everything. */
	b[1] = stopper;
	r = sieve_run_chain(b, 2, user, a, 1, f.msg, &f.envelope, &f.env);
	out = format(r);
	ck_assert_str_eq(out, "fileinto \"Carol\" \\Seen\n");
	free(out);
	sieve_result_free(&r);

	/* An explicit keep also cancels the implicit keep: the after script is skipped. */
	r = sieve_run_chain(b, 1, keeper, a, 1, f.msg, &f.envelope, &f.env);
	out = format(r);
	ck_assert_str_eq(out, "keep \\Seen\n");
	free(out);
	sieve_result_free(&r);

	/* No user script: the after script runs while the message is still kept. */
	r = sieve_run_chain(b, 1, NULL, a, 1, f.msg, &f.envelope, &f.env);
	out = format(r);
	ck_assert_str_eq(out, "fileinto \"Late\" \\Seen\n");
	free(out);
	sieve_result_free(&r);

	sieve_program_free(&before);
	sieve_program_free(&stopper);
	sieve_program_free(&user);
	sieve_program_free(&keeper);
	sieve_program_free(&after);
	message_free(&f.msg);
}
END_TEST

START_TEST(test_scores_and_time)
{
	static const char *const texts[] = {"no", "maybe", "yes"};
	struct fixture f;
	struct sieve_result *r;
	char *out;

	fixture_init(&f, message_text);
	f.env.spam.header = "X-Spam-Level";
	f.env.spam.type = SIEVE_SCORE_STRLEN;
	f.env.spam.max = 10;
	f.env.virus.header = "X-Scan";
	f.env.virus.type = SIEVE_SCORE_TEXT;
	f.env.virus.text_values = texts;
	f.env.virus.text_count = 3;
	r = run(&f,
	        "require [\"spamtest\", \"virustest\", \"fileinto\", \"date\", \"variables\"];\n"
	        "if spamtest \"7\" { fileinto \"spam7\"; }\n"
	        "if virustest \"2\" { fileinto \"virus2\"; }\n"
	        "if currentdate :zone \"+0000\" :matches \"date\" \"*\" { fileinto \"${1}\"; }\n");
	out = format(r);
	ck_assert_str_eq(out, "fileinto \"spam7\"\nfileinto \"virus2\"\nfileinto \"2023-11-14\"\n");
	free(out);
	sieve_result_free(&r);
	message_free(&f.msg);
}
END_TEST

struct thread_arg {
	const struct sieve_program *prog;
	const struct message *msg;
	int ok;
};

static void *thread_main(void *p)
{
	struct thread_arg *t = p;
	struct sieve_envelope envelope = {"carol@example.net", "bob@example.com", NULL, NULL};
	struct sieve_env env;
	int i;

	sieve_env_default(&env);
	t->ok = 1;
	for (i = 0; i < 40; i++) {
		struct sieve_result *r = sieve_run(t->prog, t->msg, &envelope, &env);
		char *out = format(r);
		if (strcmp(
		        out,
		        "fileinto \"Grüße\" $Done\nredirect \"copy@example.org\"\nkeep $Done\n") !=
		    0)
			t->ok = 0;
		free(out);
		sieve_result_free(&r);
	}
	return NULL;
}

START_TEST(test_threads_share_program)
{
	struct fixture f;
	struct sieve_program *prog;
	struct thread_arg args[8];
	pthread_t threads[8];
	int i;

	fixture_init(&f, message_text);
	prog =
	    compile("require [\"variables\", \"fileinto\", \"imap4flags\", \"copy\", \"body\"];\n"
	            "if header :matches \"subject\" \"* from *\" { set \"w\" \"${1}\"; }\n"
	            "addflag \"$Done\";\n"
	            "if body :contains \"hello\" { fileinto :copy \"${w}\"; }\n"
	            "redirect :copy \"copy@example.org\";\n");
	for (i = 0; i < 8; i++) {
		args[i].prog = prog;
		args[i].msg = f.msg;
		ck_assert_int_eq(pthread_create(&threads[i], NULL, thread_main, &args[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(threads[i], NULL);
		ck_assert(args[i].ok);
	}
	sieve_program_free(&prog);
	message_free(&f.msg);
}
END_TEST

static Suite *run_suite(void)
{
	Suite *s = suite_create("sieve_run");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_vacation_action);
	tcase_add_test(tc, test_notify_action);
	tcase_add_test(tc, test_callbacks);
	tcase_add_test(tc, test_edited_header_snapshots);
	tcase_add_test(tc, test_addheader_encoding);
	tcase_add_test(tc, test_redirect_loop);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_chain);
	tcase_add_test(tc, test_scores_and_time);
	tcase_add_test(tc, test_threads_share_program);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(run_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
