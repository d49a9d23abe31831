/*
 * test_auth_penalty.c: sluice-authd's penalty table with a simulated clock:
 * the doubling and its cap, per IP and per user, the same wrong password not
 * escalating, success clearing, expiry, IPv6 /64 grouping, the bound on
 * entries, and many threads at once.
 */
#include "auth_penalty.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct auth_penalty *make(int64_t initial, int64_t max, int64_t expire, unsigned entries)
{
	struct auth_penalty_settings set = {
	    .initial_ms = initial, .max_ms = max, .expire_ms = expire, .max_entries = entries};
	return auth_penalty_create(&set);
}

static void fail_login(struct auth_penalty *p, const char *ip, const char *user, const char *pw,
                       int64_t now)
{
	auth_penalty_failure(p, ip, user, pw, strlen(pw), now);
}

START_TEST(test_doubling_and_cap)
{
	struct auth_penalty *p = make(2000, 15000, 3600000, 100);
	static const int64_t want[] = {2000, 4000, 8000, 15000, 15000, 15000};
	int64_t now = 1000000;
	char pw[16];

	ck_assert_int_eq(auth_penalty_not_before(p, "192.0.2.7", "bob@example.test", now), 0);
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(pw, sizeof(pw), "guess%u", i);
		fail_login(p, "192.0.2.7", "bob@example.test", pw, now);
		int64_t nb = auth_penalty_not_before(p, "192.0.2.7", "bob@example.test", now);
		ck_assert_msg(nb - now == want[i], "failure %u: got %lld, want %lld", i + 1,
		              (long long)(nb - now), (long long)want[i]);
		ck_assert_uint_eq(auth_penalty_failures(p, "192.0.2.7", "bob@example.test", now),
		                  i + 1);
		now = nb; /* the next attempt comes as soon as allowed */
	}
	auth_penalty_destroy(&p);
	ck_assert_ptr_null(p);
	auth_penalty_destroy(&p);
}
END_TEST

START_TEST(test_ip_and_user_separately)
{
	struct auth_penalty *p = make(1000, 8000, 3600000, 100);
	int64_t now = 5000;

	/* An IP guessing many users: its own penalty grows, each user's stays at one. */
	fail_login(p, "198.51.100.1", "a@x.test", "pw", now);
	fail_login(p, "198.51.100.1", "b@x.test", "pw", now);
	fail_login(p, "198.51.100.1", "c@x.test", "pw", now);
	ck_assert_int_eq(auth_penalty_not_before(p, "198.51.100.1", "new@x.test", now), now + 4000);
	ck_assert_int_eq(auth_penalty_not_before(p, "203.0.113.9", "a@x.test", now), now + 1000);
	ck_assert_int_eq(auth_penalty_not_before(p, "203.0.113.9", "new@x.test", now), 0);
	/* Many IPs guessing one user: the user's penalty grows. */
	fail_login(p, "203.0.113.1", "v@x.test", "1", now);
	fail_login(p, "203.0.113.2", "v@x.test", "2", now);
	fail_login(p, "203.0.113.3", "v@x.test", "3", now);
	fail_login(p, "203.0.113.4", "v@x.test", "4", now);
	ck_assert_int_eq(auth_penalty_not_before(p, "192.0.2.200", "v@x.test", now), now + 8000);
	/* Local clients ("") are penalized by user only. */
	ck_assert_int_eq(auth_penalty_not_before(p, "", "v@x.test", now), now + 8000);
	fail_login(p, "", "w@x.test", "pw", now);
	ck_assert_int_eq(auth_penalty_not_before(p, "", "w@x.test", now), now + 1000);
	auth_penalty_destroy(&p);
}
END_TEST

START_TEST(test_same_password_no_escalation)
{
	struct auth_penalty *p = make(1000, 60000, 3600000, 100);
	int64_t now = 0;

	fail_login(p, "192.0.2.1", "bob@x.test", "oldpassword", now);
	for (int i = 0; i < 5; i++) {
		now += 500;
		fail_login(p, "192.0.2.1", "bob@x.test", "oldpassword", now);
	}
	ck_assert_uint_eq(auth_penalty_failures(p, "192.0.2.1", "bob@x.test", now), 1);
	/* The retry refreshes the time of the last failure. */
	ck_assert_int_eq(auth_penalty_not_before(p, "192.0.2.1", "bob@x.test", now), now + 1000);
	fail_login(p, "192.0.2.1", "bob@x.test", "another", now);
	ck_assert_uint_eq(auth_penalty_failures(p, "192.0.2.1", "bob@x.test", now), 2);
	/* Both are remembered; the first again does not count. */
	fail_login(p, "192.0.2.1", "bob@x.test", "oldpassword", now);
	ck_assert_uint_eq(auth_penalty_failures(p, "192.0.2.1", "bob@x.test", now), 2);
	/* The same password for another user from this IP is a new guess for the IP. */
	fail_login(p, "192.0.2.1", "eve@x.test", "oldpassword", now);
	ck_assert_uint_eq(auth_penalty_failures(p, "192.0.2.1", "nobody@x.test", now), 3);
	/* Only AUTH_PENALTY_REMEMBERED passwords are kept: the oldest is forgotten. */
	for (int i = 0; i < AUTH_PENALTY_REMEMBERED; i++) {
		char pw[16];
		snprintf(pw, sizeof(pw), "pw%d", i);
		fail_login(p, "", "carol@x.test", pw, now);
	}
	ck_assert_uint_eq(auth_penalty_failures(p, "", "carol@x.test", now),
	                  AUTH_PENALTY_REMEMBERED);
	/* All are remembered; one more pushes out pw0, which then counts again. */
	fail_login(p, "", "carol@x.test", "pw0", now);
	ck_assert_uint_eq(auth_penalty_failures(p, "", "carol@x.test", now),
	                  AUTH_PENALTY_REMEMBERED);
	fail_login(p, "", "carol@x.test", "newest", now);
	ck_assert_uint_eq(auth_penalty_failures(p, "", "carol@x.test", now),
	                  AUTH_PENALTY_REMEMBERED + 1);
	fail_login(p, "", "carol@x.test", "pw0", now);
	ck_assert_uint_eq(auth_penalty_failures(p, "", "carol@x.test", now),
	                  AUTH_PENALTY_REMEMBERED + 2);
	fail_login(p, "", "carol@x.test", "pw0", now);
	ck_assert_uint_eq(auth_penalty_failures(p, "", "carol@x.test", now),
	                  AUTH_PENALTY_REMEMBERED + 2);
	auth_penalty_destroy(&p);
}
END_TEST

START_TEST(test_success_clears)
{
	struct auth_penalty *p = make(1000, 8000, 3600000, 100);

	fail_login(p, "192.0.2.1", "bob@x.test", "a", 0);
	fail_login(p, "192.0.2.1", "bob@x.test", "b", 0);
	fail_login(p, "192.0.2.1", "alice@x.test", "c", 0);
	ck_assert_uint_eq(auth_penalty_entries(p), 3);
	auth_penalty_success(p, "192.0.2.1", "bob@x.test");
	ck_assert_int_eq(auth_penalty_not_before(p, "192.0.2.1", "bob@x.test", 1), 0);
	/* alice's own penalty stays. */
	ck_assert_int_eq(auth_penalty_not_before(p, "192.0.2.99", "alice@x.test", 1), 1000);
	ck_assert_uint_eq(auth_penalty_entries(p), 1);
	auth_penalty_success(p, "", "nobody@x.test");
	ck_assert_uint_eq(auth_penalty_entries(p), 1);
	auth_penalty_destroy(&p);
}
END_TEST

START_TEST(test_expiry)
{
	struct auth_penalty *p = make(1000, 8000, 60000, 100);

	fail_login(p, "192.0.2.1", "bob@x.test", "a", 0);
	fail_login(p, "192.0.2.1", "bob@x.test", "b", 10000);
	ck_assert_uint_eq(auth_penalty_failures(p, "192.0.2.1", "bob@x.test", 69999), 2);
	ck_assert_uint_eq(auth_penalty_failures(p, "192.0.2.1", "bob@x.test", 70000), 0);
	ck_assert_uint_eq(auth_penalty_entries(p), 0);
	ck_assert_int_eq(auth_penalty_not_before(p, "192.0.2.1", "bob@x.test", 70000), 0);
	/* After expiry the count starts over. */
	fail_login(p, "192.0.2.1", "bob@x.test", "c", 80000);
	ck_assert_uint_eq(auth_penalty_failures(p, "192.0.2.1", "bob@x.test", 80000), 1);
	auth_penalty_destroy(&p);
}
END_TEST

START_TEST(test_ipv6_prefix)
{
	struct auth_penalty *p = make(1000, 8000, 60000, 100);

	fail_login(p, "2001:db8:1:2::1", "a@x.test", "a", 0);
	fail_login(p, "2001:db8:1:2:ffff::9", "b@x.test", "b", 0);
	ck_assert_uint_eq(auth_penalty_failures(p, "2001:db8:1:2::77", "c@x.test", 0), 2);
	ck_assert_uint_eq(auth_penalty_failures(p, "2001:db8:1:3::1", "c@x.test", 0), 0);
	/* Text that is no address is no IP key (never a crash). */
	ck_assert_uint_eq(auth_penalty_failures(p, "not an ip", "c@x.test", 0), 0);
	auth_penalty_destroy(&p);
}
END_TEST

START_TEST(test_bounded)
{
	struct auth_penalty *p = make(1000, 8000, 3600000, 64);
	char ip[32], user[32];

	for (int i = 0; i < 1000; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 256, i % 256);
		snprintf(user, sizeof(user), "u%d@x.test", i);
		fail_login(p, ip, user, "pw", i);
		ck_assert_uint_le(auth_penalty_entries(p), 64);
	}
	ck_assert_uint_eq(auth_penalty_entries(p), 64);
	/* The newest are kept, the oldest evicted. */
	ck_assert_uint_eq(auth_penalty_failures(p, "10.0.3.231", "", 1000), 1);
	ck_assert_uint_eq(auth_penalty_failures(p, "10.0.0.1", "u1@x.test", 1000), 0);
	auth_penalty_destroy(&p);
}
END_TEST

START_TEST(test_zero_initial)
{
	struct auth_penalty *p = make(0, 0, 60000, 16);

	fail_login(p, "192.0.2.1", "bob@x.test", "a", 0);
	ck_assert_int_eq(auth_penalty_not_before(p, "192.0.2.1", "bob@x.test", 0), 0);
	auth_penalty_destroy(&p);
}
END_TEST

struct thread_arg {
	struct auth_penalty *p;
	int n;
};

static void *hammer(void *arg)
{
	struct thread_arg *a = arg;
	char ip[32], user[32], pw[16];

	for (int i = 0; i < 2000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", a->n, i % 50);
		snprintf(user, sizeof(user), "u%d@x.test", i % 70);
		snprintf(pw, sizeof(pw), "%d", i);
		if (i % 7 == 0)
			auth_penalty_success(a->p, ip, user);
		else
			fail_login(a->p, ip, user, pw, i);
		(void)auth_penalty_not_before(a->p, ip, user, i);
	}
	return NULL;
}

START_TEST(test_threads)
{
	struct auth_penalty *p = make(10, 100, 500, 128);
	pthread_t t[8];
	struct thread_arg args[8];

	for (int i = 0; i < 8; i++) {
		args[i].p = p;
		args[i].n = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, &args[i]), 0);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	ck_assert_uint_le(auth_penalty_entries(p), 128);
	auth_penalty_destroy(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth_penalty");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_doubling_and_cap);
	tcase_add_test(tc, test_ip_and_user_separately);
	tcase_add_test(tc, test_same_password_no_escalation);
	tcase_add_test(tc, test_success_clears);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_ipv6_prefix);
	tcase_add_test(tc, test_bounded);
	tcase_add_test(tc, test_zero_initial);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
