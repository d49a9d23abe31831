/*
 * test_imap_seqset.c: sequence sets (imapd/imap_seqset.c): parsing with
 * '*', normalizing reversed and overlapping ranges, membership, the
 * compact form written back, and the syntax errors.
 */
#include "imap_seqset.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *in;
	uint32_t star;
	const char *want; /* NULL: a syntax error */
} cases[] = {
    {"1", 10, "1"},
    {"1:4,7", 10, "1:4,7"},
    {"4:1", 10, "1:4"},
    {"5,1:3,4", 10, "1:5"},
    {"1:*", 10, "1:10"},
    {"*:3", 10, "3:10"},
    {"*", 10, "10"},
    {"1:*", 0, "1"},
    {"*", 0, ""},
    {"2,4,6,3", 10, "2:4,6"},
    {"4294967295", 1, "4294967295"},
    {"1:4294967295,5", 1, "1:4294967295"},
    {"0", 10, NULL},
    {"1:0", 10, NULL},
    {"", 10, NULL},
    {"1,", 10, NULL},
    {",1", 10, NULL},
    {"1,,2", 10, NULL},
    {"1:2:3", 10, NULL},
    {"a", 10, NULL},
    {"4294967296", 10, NULL},
    {"01", 10, NULL},
};

START_TEST(test_cases)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imap_seqset set = {0};
		struct sbuf out = {0};
		int rc = imap_seqset_parse(cases[i].in, strlen(cases[i].in), cases[i].star, &set);

		if (cases[i].want == NULL) {
			ck_assert_msg(rc == -1, "%s parsed", cases[i].in);
			ck_assert_uint_eq(set.n, 0);
		} else {
			ck_assert_msg(rc == 0, "%s: syntax error", cases[i].in);
			imap_seqset_format(&set, &out);
			ck_assert_msg(strcmp(sbuf_str(&out), cases[i].want) == 0, "%s: got %s want %s",
				      cases[i].in, sbuf_str(&out), cases[i].want);
		}
		sbuf_free(&out);
		imap_seqset_clear(&set);
	}
}
END_TEST

START_TEST(test_membership)
{
	struct imap_seqset set = {0}, copy = {0};

	ck_assert_int_eq(imap_seqset_parse("3:5,9,20:30", 11, 100, &set), 0);
	ck_assert(!imap_seqset_contains(&set, 2));
	ck_assert(imap_seqset_contains(&set, 3));
	ck_assert(imap_seqset_contains(&set, 5));
	ck_assert(!imap_seqset_contains(&set, 6));
	ck_assert(imap_seqset_contains(&set, 9));
	ck_assert(imap_seqset_contains(&set, 25));
	ck_assert(!imap_seqset_contains(&set, 31));
	ck_assert_uint_eq(imap_seqset_count(&set), 3 + 1 + 11);
	imap_seqset_add(&set, 6, 8);
	imap_seqset_normalize(&set);
	ck_assert_uint_eq(set.n, 2);
	imap_seqset_copy(&copy, &set);
	ck_assert_uint_eq(copy.n, 2);
	ck_assert_uint_eq(copy.r[0].lo, 3);
	ck_assert_uint_eq(copy.r[0].hi, 9);
	imap_seqset_clear(&set);
	imap_seqset_clear(&copy);
	ck_assert_ptr_null(set.r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("imap_seqset");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_cases);
	tcase_add_test(tc, test_membership);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
