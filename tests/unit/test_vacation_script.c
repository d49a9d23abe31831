/*
 * test_vacation_script.c: the Sieve script lib/vacation.c writes for an
 * administrator's vacation (`sluice-admin vacation set`), compiled with
 * sluice's Sieve compiler and run by its interpreter: replies inside the
 * --from/--until window and none outside it, the texts coming back exactly,
 * the RFC 3834 / RFC 5230 rules that keep it from looping (auto-submitted
 * mail, lists, the null sender, once per sender), :days and :addresses, and
 * the texts it refuses to write.
 */
#include "sieve.h"
#include "vacation.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 2024-06-01T00:00:00Z and 2024-06-15T12:00:00Z */
#define JUNE_1 INT64_C(1717200000)
#define JUNE_15_NOON INT64_C(1718452800)
#define DAY INT64_C(86400)

static const char plain_message[] = "From: Carol <carol@example.net>\r\n"
                                    "To: Bob <bob@example.com>\r\n"
                                    "Subject: Lunch?\r\n"
                                    "Message-ID: <m1@example.net>\r\n"
                                    "\r\n"
                                    "Are you free on Friday?\r\n";

struct run_ctx {
	int replied; /* what the vacation database answers */
	char last_handle[128];
	uint64_t last_seconds;
};

static int cb_replied(void *ctx, const char *sender, const char *handle, uint64_t seconds)
{
	struct run_ctx *r = ctx;

	(void)sender;
	snprintf(r->last_handle, sizeof(r->last_handle), "%s", handle);
	r->last_seconds = seconds;
	return r->replied;
}

static struct sieve_program *compile_vacation(const struct vacation *v)
{
	struct sieve_program *prog = NULL;
	struct sieve_errors errors = {0};
	struct sbuf script = {0}, text = {0};
	const char *error = NULL;

	ck_assert_msg(vacation_script(v, &script, &error) == 0, "vacation_script: %s", error);
	if (sieve_compile(script.data, script.len, NULL, &prog, &errors) < 0) {
		sieve_errors_format(&errors, &text);
		ck_abort_msg("the script does not compile:\n%s\n%s", sbuf_str(&script),
		             sbuf_str(&text));
	}
	sbuf_free(&script);
	return prog;
}

/*
 * Run prog on a message at time `now`; the vacation action's copy, or NULL
 * when the result has none. The result must not have failed.
 */
static struct sieve_vacation *run_at(const struct sieve_program *prog, const char *text,
                                     const char *from, int64_t now, struct run_ctx *rc)
{
	struct sieve_envelope envelope = {.from = from, .to = "bob@example.com"};
	struct sieve_vacation *copy = NULL;
	struct sieve_result *result;
	struct message *msg = NULL;
	struct sieve_env env;
	const char *error;

	ck_assert_int_eq(message_parse(text, strlen(text), NULL, &msg, &error), 0);
	sieve_env_default(&env);
	env.ctx = rc;
	env.vacation_replied = cb_replied;
	env.now = (time_t)now;
	result = sieve_run(prog, msg, &envelope, &env);
	ck_assert_msg(!result->failed, "runtime error: %s", result->error);
	/* the vacation never takes the message away: it is kept (implicit keep) */
	ck_assert(result->implicit_keep);
	for (size_t i = 0; i < result->count; i++) {
		const struct sieve_vacation *v = result->actions[i].vacation;
		if (result->actions[i].type != SIEVE_ACTION_VACATION)
			continue;
		copy = xcalloc(1, sizeof(*copy));
		copy->to = xstrdup(v->to);
		copy->subject = xstrdup(v->subject);
		copy->reason = xstrdup(v->reason);
		copy->handle = xstrdup(v->handle);
		copy->seconds = v->seconds;
		copy->send = v->send;
	}
	sieve_result_free(&result);
	message_free(&msg);
	return copy;
}

static void vac_free(struct sieve_vacation *v)
{
	if (v == NULL)
		return;
	free(v->to);
	free(v->subject);
	free(v->reason);
	free(v->handle);
	free(v);
}

static void vacation_init(struct vacation *v)
{
	memset(v, 0, sizeof(*v));
	v->mailbox_id = 42;
	v->active = true;
	v->subject = "Out of office";
	v->body = "I am away until the 30th.\nUrgent: \"Alice\" <alice@example.com>, C:\\temp,"
	          " ${not-a-variable}.\n";
	v->modified = 1717000000;
}

/* Whether a reply would go out at `now`. */
static bool replies_at(const struct sieve_program *prog, int64_t now)
{
	struct run_ctx rc = {0};
	struct sieve_vacation *v = run_at(prog, plain_message, "carol@example.net", now, &rc);
	bool sent = v != NULL && v->send;

	vac_free(v);
	return sent;
}

START_TEST(test_window)
{
	struct vacation v;
	struct sieve_program *prog;

	vacation_init(&v);
	v.starts = JUNE_1;
	v.ends = JUNE_1 + 30 * DAY;
	prog = compile_vacation(&v);
	ck_assert(!replies_at(prog, JUNE_1 - 1)); /* the second before: nothing */
	ck_assert(replies_at(prog, JUNE_1));      /* from the first second */
	ck_assert(replies_at(prog, JUNE_15_NOON));
	ck_assert(replies_at(prog, v.ends - 1));
	ck_assert(!replies_at(prog, v.ends)); /* it ends by itself */
	ck_assert(!replies_at(prog, v.ends + 365 * DAY));
	sieve_program_free(&prog);

	/* only a start */
	vacation_init(&v);
	v.starts = JUNE_15_NOON;
	prog = compile_vacation(&v);
	ck_assert(!replies_at(prog, JUNE_1));
	ck_assert(replies_at(prog, JUNE_15_NOON + 3600));
	ck_assert(replies_at(prog, JUNE_15_NOON + 3650 * DAY));
	sieve_program_free(&prog);

	/* only an end */
	vacation_init(&v);
	v.ends = JUNE_15_NOON;
	prog = compile_vacation(&v);
	ck_assert(replies_at(prog, JUNE_1));
	ck_assert(!replies_at(prog, JUNE_15_NOON));
	sieve_program_free(&prog);

	/* neither: always */
	vacation_init(&v);
	prog = compile_vacation(&v);
	ck_assert(replies_at(prog, 1000000000));
	ck_assert(replies_at(prog, JUNE_15_NOON));
	sieve_program_free(&prog);
}
END_TEST

START_TEST(test_reply_content)
{
	struct vacation v;
	struct sieve_program *prog;
	struct run_ctx rc = {0};
	struct sieve_vacation *r;
	char handle[64];

	vacation_init(&v);
	v.days = 3;
	prog = compile_vacation(&v);
	r = run_at(prog, plain_message, "carol@example.net", JUNE_1, &rc);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->send, 1);
	ck_assert_str_eq(r->to, "carol@example.net");
	ck_assert_str_eq(r->subject, "Out of office");
	/* quotes, backslashes and "${...}" come back as written */
	ck_assert_msg(strstr(r->reason,
	                     "\"Alice\" <alice@example.com>, C:\\temp, ${not-a-variable}.") != NULL,
	              "reason: %s", r->reason);
	ck_assert_uint_eq(r->seconds, 3 * 86400);
	snprintf(handle, sizeof(handle), "sluice-vacation-42-%lld", (long long)v.modified);
	ck_assert_str_eq(r->handle, handle);
	ck_assert_str_eq(rc.last_handle, handle);
	vac_free(r);
	sieve_program_free(&prog);

	/* a new `vacation set` is a new handle, so senders hear the new text */
	v.modified += 60;
	prog = compile_vacation(&v);
	r = run_at(prog, plain_message, "carol@example.net", JUNE_1, &rc);
	ck_assert_str_ne(r->handle, handle);
	vac_free(r);
	sieve_program_free(&prog);

	/* no :days: the configured default period */
	vacation_init(&v);
	prog = compile_vacation(&v);
	r = run_at(prog, plain_message, "carol@example.net", JUNE_1, &rc);
	struct sieve_limits lim;
	sieve_limits_default(&lim);
	ck_assert_uint_eq(r->seconds, lim.vacation_default_period);
	vac_free(r);
	sieve_program_free(&prog);
}
END_TEST

/* RFC 3834 and RFC 5230 4.5/4.6: the cases where no reply may go out. */
START_TEST(test_never_loops)
{
	static const char *const no_reply[] = {
	    "From: robot@example.net\r\nTo: bob@example.com\r\nSubject: x\r\n"
	    "Auto-Submitted: auto-replied\r\n\r\nbody\r\n",
	    "From: robot@example.net\r\nTo: bob@example.com\r\nSubject: x\r\n"
	    "Auto-Submitted: auto-generated\r\n\r\nbody\r\n",
	    "From: list@example.net\r\nTo: bob@example.com\r\nSubject: x\r\n"
	    "Precedence: list\r\n\r\nbody\r\n",
	    "From: news@example.net\r\nTo: bob@example.com\r\nSubject: x\r\n"
	    "Precedence: bulk\r\n\r\nbody\r\n",
	    "From: list@example.net\r\nTo: bob@example.com\r\nSubject: x\r\n"
	    "List-Id: <dev.example.net>\r\n\r\nbody\r\n",
	    /* not addressed to the mailbox (a Bcc or a list it is on) */
	    "From: carol@example.net\r\nTo: someone@example.org\r\nSubject: x\r\n\r\nbody\r\n",
	};
	struct vacation v;
	struct sieve_program *prog;
	struct run_ctx rc = {0};
	struct sieve_vacation *r;

	vacation_init(&v);
	prog = compile_vacation(&v);
	for (size_t i = 0; i < sizeof(no_reply) / sizeof(no_reply[0]); i++) {
		r = run_at(prog, no_reply[i], "sender@example.net", JUNE_1, &rc);
		ck_assert_msg(r == NULL || !r->send, "case %zu would be answered", i);
		vac_free(r);
	}
	/* the null sender (bounces) and system senders */
	r = run_at(prog, plain_message, "", JUNE_1, &rc);
	ck_assert(r == NULL || !r->send);
	vac_free(r);
	r = run_at(prog, plain_message, "MAILER-DAEMON@example.net", JUNE_1, &rc);
	ck_assert(r == NULL || !r->send);
	vac_free(r);
	r = run_at(prog, plain_message, "owner-dev@example.net", JUNE_1, &rc);
	ck_assert(r == NULL || !r->send);
	vac_free(r);
	/* once per sender and period: the database says it was answered */
	rc.replied = 1;
	r = run_at(prog, plain_message, "carol@example.net", JUNE_1, &rc);
	ck_assert(r == NULL || !r->send);
	vac_free(r);
	sieve_program_free(&prog);
}
END_TEST

START_TEST(test_addresses)
{
	static const char to_alias[] = "From: carol@example.net\r\nTo: sales@example.com\r\n"
	                               "Subject: Offer\r\n\r\nbody\r\n";
	char *addresses[] = {"sales@example.com", "info@example.com"};
	struct vacation v;
	struct sieve_program *prog;
	struct run_ctx rc = {0};
	struct sieve_vacation *r;

	vacation_init(&v);
	prog = compile_vacation(&v);
	r = run_at(prog, to_alias, "carol@example.net", JUNE_1, &rc);
	ck_assert(r == NULL || !r->send); /* sales@ is not the mailbox's own address */
	vac_free(r);
	sieve_program_free(&prog);

	v.addresses = addresses;
	v.naddresses = 2;
	prog = compile_vacation(&v);
	r = run_at(prog, to_alias, "carol@example.net", JUNE_1, &rc);
	ck_assert(r != NULL && r->send);
	vac_free(r);
	sieve_program_free(&prog);
}
END_TEST

START_TEST(test_refused)
{
	struct vacation v;
	struct sbuf out = {0};
	const char *error = NULL;
	char *bad_addr[] = {"a\"b@example.com"};

	vacation_init(&v);
	v.subject = "two\r\nlines";
	ck_assert_int_eq(vacation_script(&v, &out, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "subject"));
	vacation_init(&v);
	v.subject = "";
	ck_assert_int_eq(vacation_script(&v, &out, &error), -1);
	vacation_init(&v);
	v.body = "caf\xe9"; /* Latin-1, not UTF-8 */
	ck_assert_int_eq(vacation_script(&v, &out, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "UTF-8"));
	vacation_init(&v);
	v.starts = JUNE_15_NOON;
	v.ends = JUNE_1;
	ck_assert_int_eq(vacation_script(&v, &out, &error), -1);
	vacation_init(&v);
	v.addresses = bad_addr;
	v.naddresses = 1;
	ck_assert_int_eq(vacation_script(&v, &out, &error), -1);
	ck_assert_uint_eq(out.len, 0);
	/* UTF-8 texts are fine */
	vacation_init(&v);
	v.subject = "Abwesenheitsnotiz \xe2\x80\x93 zur\xc3\xbc"
	            "ck am 30.";
	ck_assert_int_eq(vacation_script(&v, &out, &error), 0);
	sbuf_free(&out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vacation_script");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	/* the window is in UTC whatever the host's zone: run far from UTC */
	setenv("TZ", "America/New_York", 1);
	tzset();

	tcase_add_test(tc, test_window);
	tcase_add_test(tc, test_reply_content);
	tcase_add_test(tc, test_never_loops);
	tcase_add_test(tc, test_addresses);
	tcase_add_test(tc, test_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
