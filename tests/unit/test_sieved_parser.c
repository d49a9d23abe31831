/*
 * test_sieved_parser.c: the ManageSieve command reader of sluice-sieved
 * (mda/sieved_parser.c): atoms, quoted strings, literals {N+} and {N}, line
 * ends, every error and how the parser resynchronizes after it, and the
 * limits (line, literal kept, literal skipped, tokens). Each case is fed
 * whole, one byte at a time and in random pieces, and must give the same
 * results. Also the response string writer and the script name rules
 * (mda/sieved_scripts.c).
 */
#include "sieved_parser.h"
#include "sieved_scripts.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sieved_parser_limits limits = {
    .max_line = 64,
    .max_literal = 16,
    .max_discard = 1000,
    .max_tokens = 4,
};

static void describe_bytes(struct sbuf *out, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			sbuf_append(out, &data[i], 1);
		else
			sbuf_appendf(out, "\\x%02x", c);
	}
}

/* Feed input in pieces of `step` bytes (0: random sizes); describe every result. */
static void run_feed(const char *input, size_t len, size_t step, struct sbuf *out)
{
	struct sieved_parser *p = sieved_parser_create(&limits);
	size_t pos = 0;
	unsigned int seed = 7;

	while (pos < len) {
		size_t n = step != 0 ? step : 1 + (size_t)(rand_r(&seed) % 7);
		size_t used;
		enum sieved_parse_status st;

		if (n > len - pos)
			n = len - pos;
		st = sieved_parser_feed(p, input + pos, n, &used);
		ck_assert_uint_le(used, n);
		pos += used;
		if (st == SIEVED_PARSE_MORE) {
			ck_assert_uint_eq(used, n);
			continue;
		}
		if (st == SIEVED_PARSE_DONE) {
			const struct sieved_command *cmd = sieved_parser_command(p);
			sbuf_append_str(out, "OK");
			for (size_t i = 0; i < cmd->count; i++) {
				const struct sieved_token *t = &cmd->tokens[i];
				sbuf_append_str(out, t->type == SIEVED_TOKEN_ATOM ? " a:"
				                     : t->literal                 ? " l:"
				                                                  : " s:");
				ck_assert(t->data[t->len] == '\0');
				describe_bytes(out, t->data, t->len);
			}
		} else if (st == SIEVED_PARSE_ERROR) {
			sbuf_appendf(out, "ERR %s", sieved_parser_error(p));
		} else if (st == SIEVED_PARSE_TOO_BIG) {
			sbuf_append_str(out, "BIG");
		} else {
			sbuf_append_str(out, "FATAL|");
			break;
		}
		sbuf_append_str(out, "|");
	}
	if (sieved_parser_literal_left(p) > 0)
		sbuf_appendf(out, "literal %llu left|",
		             (unsigned long long)sieved_parser_literal_left(p));
	sieved_parser_destroy(&p);
	ck_assert_ptr_null(p);
}

struct parse_case {
	const char *input;
	size_t len; /* 0: strlen */
	const char *want;
};

static const struct parse_case parse_cases[] = {
    {"CAPABILITY\r\n", 0, "OK a:CAPABILITY|"},
    {"noop \"tag\"\r\n", 0, "OK a:noop s:tag|"},
    {"NOOP\n", 0, "OK a:NOOP|"},
    {"NOOP   \"x\"  \r\n", 0, "OK a:NOOP s:x|"},
    {"NOOP\r\nLOGOUT\r\n", 0, "OK a:NOOP|OK a:LOGOUT|"},
    {"PUTSCRIPT \"a\" {5+}\r\nkeep;\r\n", 0, "OK a:PUTSCRIPT s:a l:keep;|"},
    {"PUTSCRIPT \"a\" {5}\r\nkeep;\r\n", 0, "OK a:PUTSCRIPT s:a l:keep;|"},
    {"PUTSCRIPT \"a\" {5+}\nkeep;\n", 0, "OK a:PUTSCRIPT s:a l:keep;|"},
    {"RENAMESCRIPT {1+}\r\na {1+}\r\nb\r\n", 0, "OK a:RENAMESCRIPT l:a l:b|"},
    {"PUTSCRIPT \"x\" {4+}\r\n\r\n\0x\r\n", 26, "OK a:PUTSCRIPT s:x l:\\x0d\\x0a\\x00x|"},
    {"PUTSCRIPT \"x\" {0+}\r\n\r\n", 0, "OK a:PUTSCRIPT s:x l:|"},
    {"NOOP \"a\\\"b\\\\c\"\r\n", 0, "OK a:NOOP s:a\"b\\x5cc|"},
    {"NOOP \"caf\xc3\xa9\"\r\n", 0, "OK a:NOOP s:caf\\xc3\\xa9|"},
    {"\"*\"\r\n", 0, "OK s:*|"},
    /* errors, each followed by a command that must parse */
    {"\r\nNOOP\r\n", 0, "ERR empty command|OK a:NOOP|"},
    {"NOOP \"a\\nb\"\r\nNOOP\r\n", 0, "ERR invalid escape in a quoted string|OK a:NOOP|"},
    {"NOOP \"abc\r\nNOOP\r\n", 0, "ERR unterminated or invalid quoted string|OK a:NOOP|"},
    {"NOOP \"abc\nNOOP\r\n", 0, "ERR unterminated or invalid quoted string|OK a:NOOP|"},
    {"NOOP \"a\0b\"\r\nNOOP\r\n", 18, "ERR unterminated or invalid quoted string|OK a:NOOP|"},
    {"NOOP )\r\nNOOP\r\n", 0, "ERR unexpected character|OK a:NOOP|"},
    {"NOOP\rX\r\nNOOP\r\n", 0, "ERR CR without LF|OK a:NOOP|"},
    {"NOOP\"x\"\r\nNOOP\r\n", 0, "ERR unexpected character after an atom|OK a:NOOP|"},
    {"NOOP \"x\"y\r\nNOOP\r\n", 0,
     "ERR a string must be followed by a space or the end of the line|OK a:NOOP|"},
    {"X {5x}\r\nNOOP\r\n", 0, "ERR invalid literal|OK a:NOOP|"},
    {"X {+}\r\nNOOP\r\n", 0, "ERR invalid literal|OK a:NOOP|"},
    {"X {5+} \r\nNOOP\r\n", 0, "ERR a literal's length must end the line|OK a:NOOP|"},
    {"X {12345678901234567890+}\r\nNOOP\r\n", 0, "ERR literal length too long|OK a:NOOP|"},
    {"A B C D E\r\nNOOP\r\n", 0, "ERR too many arguments|OK a:NOOP|"},
    {"NOOP xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\nNOOP\r\n", 0,
     "ERR line too long|OK a:NOOP|"},
    /* a literal announced on a line with an error is skipped, not read as commands */
    {"X ( {8+}\r\nLOGOUT\r\n\r\nNOOP\r\n", 0, "ERR unexpected character|OK a:NOOP|"},
    {"X ( {8}\r\nLOGOUT\r\n tail\r\nNOOP\r\n", 0, "ERR unexpected character|OK a:NOOP|"},
    {"A B C D {3+}\r\nabc\r\nNOOP\r\n", 0, "ERR too many arguments|OK a:NOOP|"},
    /* limits on literals */
    {"PUTSCRIPT \"x\" {20+}\r\n01234567890123456789\r\nNOOP\r\n", 0, "BIG|OK a:NOOP|"},
    {"PUTSCRIPT \"x\" {20+}\r\n01234567890123456789 \"y\"\r\nNOOP\r\n", 0, "BIG|OK a:NOOP|"},
    {"PUTSCRIPT \"x\" {1001+}\r\nNOOP\r\n", 0, "FATAL|"},
    {"X ( {1001+}\r\nNOOP\r\n", 0, "FATAL|"},
    {"PUTSCRIPT \"x\" {16+}\r\n0123456789", 0, "literal 6 left|"},
    /* the line limit restarts after a literal */
    {"NOOP {40+}\r\n0123456789012345678901234567890123456789 "
     "\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\"\r\n",
     0, "BIG|"},
};

START_TEST(test_parse_cases)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->input);
		static const size_t steps[] = {SIZE_MAX, 1, 2, 3, 0};

		for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			struct sbuf got = {0};
			size_t step = steps[s] == SIZE_MAX ? len : steps[s];

			run_feed(c->input, len, step, &got);
			ck_assert_msg(strcmp(sbuf_str(&got), c->want) == 0,
			              "case %zu, pieces of %zu: got '%s', want '%s'", i, step,
			              sbuf_str(&got), c->want);
			sbuf_free(&got);
		}
	}
}
END_TEST

START_TEST(test_reset_and_reuse)
{
	struct sieved_parser *p = sieved_parser_create(&limits);
	const char part[] = "PUTSCRIPT \"a\" {10+}\r\nkee";
	const char next[] = "NOOP \"again\"\r\n";
	size_t used;

	ck_assert_int_eq(sieved_parser_feed(p, part, strlen(part), &used), SIEVED_PARSE_MORE);
	ck_assert_uint_eq(sieved_parser_literal_left(p), 7);
	/* the stream lost its place (a line too long): the partial command goes */
	sieved_parser_reset(p);
	ck_assert_uint_eq(sieved_parser_literal_left(p), 0);
	ck_assert_int_eq(sieved_parser_feed(p, next, strlen(next), &used), SIEVED_PARSE_DONE);
	ck_assert_uint_eq(used, strlen(next));
	ck_assert_uint_eq(sieved_parser_command(p)->count, 2);
	ck_assert(sieved_token_is(&sieved_parser_command(p)->tokens[0], "noop"));
	ck_assert(!sieved_token_is(&sieved_parser_command(p)->tokens[1], "again"));
	/* FATAL stays FATAL */
	ck_assert_int_eq(sieved_parser_feed(p, "{5000+}\r\n", 9, &used), SIEVED_PARSE_FATAL);
	ck_assert_int_eq(sieved_parser_feed(p, "NOOP\r\n", 6, &used), SIEVED_PARSE_FATAL);
	sieved_parser_reset(p);
	ck_assert_int_eq(sieved_parser_feed(p, "NOOP\r\n", 6, &used), SIEVED_PARSE_FATAL);
	sieved_parser_destroy(&p);
	sieved_parser_destroy(&p);
}
END_TEST

/* Random input built from the bytes that matter: never a crash, always progress. */
START_TEST(test_random_input)
{
	static const char alphabet[] = "{}+0123456789\"\\ \r\nAZaz()*\x00\xc3\xa9";
	struct sieved_parser *p = sieved_parser_create(&limits);
	unsigned int seed = 12345, commands = 0, errors = 0;
	char buf[64];

	for (int round = 0; round < 20000; round++) {
		size_t n = 1 + (size_t)(rand_r(&seed) % sizeof(buf)), pos = 0;

		for (size_t i = 0; i < n; i++)
			buf[i] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		while (pos < n) {
			size_t used = 0;
			enum sieved_parse_status st =
			    sieved_parser_feed(p, buf + pos, n - pos, &used);

			ck_assert_uint_le(used, n - pos);
			if (st == SIEVED_PARSE_FATAL) {
				sieved_parser_destroy(&p);
				p = sieved_parser_create(&limits);
				break;
			}
			ck_assert_uint_gt(used, 0);
			pos += used;
			if (st == SIEVED_PARSE_DONE) {
				const struct sieved_command *cmd = sieved_parser_command(p);
				ck_assert_uint_ge(cmd->count, 1);
				ck_assert_uint_le(cmd->count, limits.max_tokens);
				for (size_t i = 0; i < cmd->count; i++) {
					ck_assert(cmd->tokens[i].len <= limits.max_literal ||
					          cmd->tokens[i].len <= limits.max_line);
					ck_assert(cmd->tokens[i].data[cmd->tokens[i].len] == '\0');
				}
				commands++;
			} else if (st != SIEVED_PARSE_MORE) {
				errors++;
			}
		}
	}
	/* the alphabet makes both happen often */
	ck_assert_uint_gt(commands, 100);
	ck_assert_uint_gt(errors, 100);
	sieved_parser_destroy(&p);
}
END_TEST

START_TEST(test_string_append)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
		size_t want_len;
	} cases[] = {
	    {"abc", 3, "\"abc\"", 5},
	    {"", 0, "\"\"", 2},
	    {"a\"b\\c", 5, "\"a\\\"b\\\\c\"", 9},
	    {"a\nb", 3, "{3}\r\na\nb", 8},
	    {"a\rb", 3, "{3}\r\na\rb", 8},
	    {"a\0b", 3, "{3}\r\na\0b", 8},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sbuf b = {0};
		sieved_string_append(&b, cases[i].in, cases[i].len);
		ck_assert_uint_eq(b.len, cases[i].want_len);
		ck_assert_msg(memcmp(b.data, cases[i].want, b.len) == 0, "case %zu: got '%s'", i,
		              b.data);
		sbuf_free(&b);
	}
	/* long text goes as a literal even without line ends */
	char long_text[1100];
	struct sbuf b = {0};
	memset(long_text, 'x', sizeof(long_text));
	sieved_string_append(&b, long_text, sizeof(long_text));
	ck_assert(strncmp(b.data, "{1100}\r\n", 8) == 0);
	ck_assert_uint_eq(b.len, 8 + sizeof(long_text));
	sbuf_free(&b);
}
END_TEST

START_TEST(test_script_names)
{
	static const struct {
		const char *name;
		unsigned int max;
		const char *want; /* NULL: valid; else a word of the reason */
	} cases[] = {
	    {"main", 10, NULL},
	    {"vacation rules", 20, NULL},
	    {"caf\xc3\xa9", 4, NULL}, /* 4 characters, 5 octets */
	    {"caf\xc3\xa9", 3, "at most 3"},
	    {"\xe2\x82\xac\xe2\x82\xac", 2, NULL}, /* two euro signs */
	    {"", 10, "empty"},
	    {"a\tb", 10, "control"},
	    {"a\x7f", 10, "control"},
	    {"a\xc2\x85", 10, "control"},     /* U+0085 NEL */
	    {"a\xe2\x80\xa8", 10, "control"}, /* U+2028 LINE SEPARATOR */
	    {"a\xe2\x80\xa9", 10, "control"}, /* U+2029 PARAGRAPH SEPARATOR */
	    {"a/b", 10, "\"/\""},
	    {"\xff", 10, "UTF-8"},
	    {"\xc0\xaf", 10, "UTF-8"},     /* overlong "/" */
	    {"\xed\xa0\x80", 10, "UTF-8"}, /* a surrogate */
	    {"\xe2\x82", 10, "UTF-8"},     /* cut short */
	    {"abc", 300, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why =
		    sieve_script_name_check(cases[i].name, strlen(cases[i].name), cases[i].max);
		if (cases[i].want == NULL)
			ck_assert_msg(why == NULL, "case %zu: refused: %s", i, why);
		else
			ck_assert_msg(why != NULL && strstr(why, cases[i].want) != NULL,
			              "case %zu: got '%s', want '%s'", i, why ? why : "(valid)",
			              cases[i].want);
	}
	/* NUL inside a name given with its length */
	ck_assert_ptr_nonnull(sieve_script_name_check("a\0b", 3, 10));
	/* the schema's bound holds whatever the setting says */
	char longname[300];
	memset(longname, 'n', sizeof(longname));
	ck_assert_ptr_nonnull(sieve_script_name_check(longname, 256, 1000));
	ck_assert_ptr_null(sieve_script_name_check(longname, 255, 1000));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sieved_parser");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_parse_cases);
	tcase_add_test(tc, test_reset_and_reuse);
	tcase_add_test(tc, test_random_input);
	tcase_add_test(tc, test_string_append);
	tcase_add_test(tc, test_script_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
