/*
 * test_addr.c: lib/addr.c and lib/addr_list.c, table-driven: domains (LDH,
 * IDN, literals), canonical local parts, RFC 5321 paths with ESMTP
 * parameters after them, bare command-line addresses, the recipient
 * delimiter, lookup keys, and RFC 5322 header address lists. Every header
 * list and path is also parsed in each of its prefixes, copied to a buffer
 * of exactly that size so that AddressSanitizer catches a read past the end,
 * and the list iterator runs over generated garbage to show it always ends.
 */
#include "addr.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A label of n copies of c. */
static const char *repeat(char c, size_t n)
{
	static char buf[320];

	ck_assert_uint_lt(n, sizeof(buf));
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/* "<local>@" followed by a valid domain of exactly dlen octets. */
static const char *long_domain(size_t dlen)
{
	static char buf[512];
	size_t i;

	ck_assert_uint_lt(dlen, sizeof(buf));
	for (i = 0; i < dlen; i++)
		buf[i] = (i + 1) % 50 == 0 ? '.' : 'a';
	if (buf[dlen - 1] == '.')
		buf[dlen - 1] = 'b';
	buf[dlen] = '\0';
	return buf;
}

/* Error expectations match by prefix, so messages with details still match. */
static void check_error(const char *what, const char *input, int r, const char *error,
                        const char *want_error)
{
	ck_assert_msg(r == -1, "%s('%s'): succeeded, want error '%s'", what, input, want_error);
	ck_assert_msg(error != NULL && strncmp(error, want_error, strlen(want_error)) == 0,
	              "%s('%s'): error '%s', want '%s'", what, input, error ? error : "(null)",
	              want_error);
}

struct domain_case {
	const char *in;
	unsigned flags;
	const char *want; /* NULL: want_error */
	const char *want_error;
};

START_TEST(test_domains)
{
	static const struct domain_case cases[] = {
	    {"example.com", 0, "example.com", NULL},
	    {"Example.COM", 0, "example.com", NULL},
	    {"a-b.example", 0, "a-b.example", NULL},
	    {"ab--cd.example", 0, "ab--cd.example", NULL},
	    {"localhost", 0, "localhost", NULL},
	    {"192.0.2.1", 0, "192.0.2.1", NULL},
	    {"bücher.example", ADDR_UTF8_DOMAIN, "xn--bcher-kva.example", NULL},
	    {"BÜCHER.Example", ADDR_UTF8_DOMAIN, "xn--bcher-kva.example", NULL},
	    {"Bücher.EXAMPLE", ADDR_SMTPUTF8, "xn--bcher-kva.example", NULL},
	    {"XN--BCHER-KVA.example", 0, "xn--bcher-kva.example", NULL},
	    {"faß.de", ADDR_UTF8_DOMAIN, "xn--fa-hia.de", NULL},
	    {"例子.广告", ADDR_UTF8_DOMAIN, "xn--fsqu00a.xn--4rr70v", NULL},
	    {"bücher\xe3\x80\x82"
	     "example",
	     ADDR_UTF8_DOMAIN, "xn--bcher-kva.example", NULL},
	    {"ab--cd.bücher.example", ADDR_UTF8_DOMAIN, "ab--cd.xn--bcher-kva.example", NULL},
	    {"bücher.example", 0, NULL, "non-ASCII domain needs SMTPUTF8"},
	    {"bücher.example", ADDR_UTF8_LOCAL, NULL, "non-ASCII domain needs SMTPUTF8"},
	    {"b\xff"
	     "cher.example",
	     ADDR_UTF8_DOMAIN, NULL, "domain is not valid UTF-8"},
	    {"b\xc3", ADDR_UTF8_DOMAIN, NULL, "domain is not valid UTF-8"},
	    {"\xf0\x9f\x92\xa9.la", ADDR_UTF8_DOMAIN, NULL, "invalid international domain name"},
	    {"bücher..example", ADDR_UTF8_DOMAIN, NULL, "empty label in domain"},
	    {"bü_cher.example", ADDR_UTF8_DOMAIN, NULL, "invalid character in domain"},
	    {"xn--zz.example", 0, NULL, "invalid A-label in domain"},
	    {"", 0, NULL, "empty domain"},
	    {"a..b", 0, NULL, "empty label in domain"},
	    {".a", 0, NULL, "empty label in domain"},
	    {"a.", 0, NULL, "empty label in domain"},
	    {".", 0, NULL, "empty label in domain"},
	    {"-a.com", 0, NULL, "domain label starts or ends with a hyphen"},
	    {"a-.com", 0, NULL, "domain label starts or ends with a hyphen"},
	    {"a.-", 0, NULL, "domain label starts or ends with a hyphen"},
	    {"a_b.com", 0, NULL, "invalid character in domain"},
	    {"exa mple.com", 0, NULL, "invalid character in domain"},
	    {"a@b.com", 0, NULL, "invalid character in domain"},
	    {"[192.0.2.1]", ADDR_ALLOW_LITERAL, "[192.0.2.1]", NULL},
	    {"[192.0.2.1]", 0, NULL, "address literal not allowed here"},
	    {"[IPv6:2001:DB8:0:0::1]", ADDR_ALLOW_LITERAL, "[IPv6:2001:db8::1]", NULL},
	    {"[ipv6:::1]", ADDR_ALLOW_LITERAL, "[IPv6:::1]", NULL},
	    {"[IPv6:::ffff:192.0.2.1]", ADDR_ALLOW_LITERAL, "[IPv6:::ffff:192.0.2.1]", NULL},
	    {"[192.0.2.256]", ADDR_ALLOW_LITERAL, NULL, "invalid IPv4 address literal"},
	    {"[1.2.3]", ADDR_ALLOW_LITERAL, NULL, "invalid IPv4 address literal"},
	    {"[192.0.2.01]", ADDR_ALLOW_LITERAL, NULL, "invalid IPv4 address literal"},
	    {"[IPv6:zz::1]", ADDR_ALLOW_LITERAL, NULL, "invalid IPv6 address literal"},
	    {"[IPv6:192.0.2.1]", ADDR_ALLOW_LITERAL, NULL, "invalid IPv6 address literal"},
	    {"[x-tag:foo]", ADDR_ALLOW_LITERAL, NULL, "unsupported address literal"},
	    {"[]", ADDR_ALLOW_LITERAL, NULL, "invalid address literal"},
	    {"[IPv6:]", ADDR_ALLOW_LITERAL, NULL, "invalid address literal"},
	    {"[192.0.2.1", ADDR_ALLOW_LITERAL, NULL, "invalid address literal"},
	};
	char out[ADDR_DOMAIN_BUFSZ];
	char in[1200];
	const char *error;
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct domain_case *c = &cases[i];

		error = NULL;
		r = addr_domain_normalize(c->in, strlen(c->in), c->flags, out, &error);
		if (c->want == NULL) {
			check_error("domain", c->in, r, error, c->want_error);
			ck_assert_str_eq(out, "");
			continue;
		}
		ck_assert_msg(r == 0, "domain('%s'): error '%s', want '%s'", c->in, error, c->want);
		ck_assert_msg(strcmp(out, c->want) == 0, "domain('%s'): got '%s', want '%s'", c->in,
		              out, c->want);
	}

	/* A NUL inside a length-counted name is an invalid character. */
	ck_assert_int_eq(addr_domain_normalize("exa\0mple.com", 12, 0, out, &error), -1);
	ck_assert_str_eq(error, "invalid character in domain");
	ck_assert_int_eq(
	    addr_domain_normalize("[192.0.2.1]\0", 12, ADDR_ALLOW_LITERAL, out, &error), -1);
	ck_assert_int_eq(addr_domain_normalize("b\xc3\xbc\0.x", 6, ADDR_UTF8_DOMAIN, out, &error),
	                 -1);
	ck_assert_str_eq(error, "invalid character in domain");

	/* RFC 1035 2.3.4 lengths: a 63-octet label, a 253-octet name. */
	snprintf(in, sizeof(in), "%s.example", repeat('a', 63));
	ck_assert_int_eq(addr_domain_normalize(in, strlen(in), 0, out, &error), 0);
	snprintf(in, sizeof(in), "%s.example", repeat('a', 64));
	ck_assert_int_eq(addr_domain_normalize(in, strlen(in), 0, out, &error), -1);
	ck_assert_str_eq(error, "domain label longer than 63 octets");
	snprintf(in, sizeof(in), "%s", long_domain(253));
	ck_assert_int_eq(addr_domain_normalize(in, strlen(in), 0, out, &error), 0);
	ck_assert_str_eq(out, in);
	snprintf(in, sizeof(in), "%s", long_domain(254));
	ck_assert_int_eq(addr_domain_normalize(in, strlen(in), 0, out, &error), -1);
	ck_assert_str_eq(error, "domain too long");
	/* U-labels whose A-label is too long. */
	in[0] = '\0';
	for (i = 0; i < 64; i++)
		strcat(in, "ü");
	strcat(in, ".example");
	ck_assert_int_eq(addr_domain_normalize(in, strlen(in), ADDR_UTF8_DOMAIN, out, &error), -1);
	in[0] = '\0';
	for (i = 0; i < 40; i++)
		strcat(in, "ü");
	strcat(in, ".example");
	ck_assert_int_eq(addr_domain_normalize(in, strlen(in), ADDR_UTF8_DOMAIN, out, &error), 0);
	snprintf(in, sizeof(in), "xn--td%s.example", repeat('a', 40));
	ck_assert_str_eq(out, in);
}
END_TEST

START_TEST(test_domain_to_utf8)
{
	static const char *const cases[][2] = {
	    {"xn--bcher-kva.example", "bücher.example"},
	    {"xn--fsqu00a.xn--4rr70v", "例子.广告"},
	    {"example.com", "example.com"},
	    {"[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]"},
	};
	char out[ADDR_DOMAIN_UTF8_BUFSZ];
	char small[8];
	const char *error = NULL;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(addr_domain_to_utf8(cases[i][0], out, sizeof(out), &error), 0);
		ck_assert_str_eq(out, cases[i][1]);
	}
	ck_assert_int_eq(addr_domain_to_utf8("xn--bcher-kva.example", small, sizeof(small), &error),
	                 -1);
	ck_assert_str_eq(error, "output buffer too small");
	ck_assert_int_eq(addr_domain_to_utf8("example.com", small, sizeof(small), &error), -1);
}
END_TEST

struct local_case {
	const char *content;
	unsigned flags;
	const char *want;
	const char *want_error;
};

START_TEST(test_local_canonical)
{
	static const struct local_case cases[] = {
	    {"john.doe", 0, "john.doe", NULL},
	    {"John.Doe", 0, "John.Doe", NULL},
	    {"a+b=c!#$%&'*/?^_`{|}~-", 0, "a+b=c!#$%&'*/?^_`{|}~-", NULL},
	    {"john doe", 0, "\"john doe\"", NULL},
	    {"john..doe", 0, "\"john..doe\"", NULL},
	    {".john", 0, "\".john\"", NULL},
	    {"john.", 0, "\"john.\"", NULL},
	    {"", 0, "\"\"", NULL},
	    {"a\"b", 0, "\"a\\\"b\"", NULL},
	    {"a\\b", 0, "\"a\\\\b\"", NULL},
	    {"a@b", 0, "\"a@b\"", NULL},
	    {"jörg", ADDR_UTF8_LOCAL, "jörg", NULL},
	    {"jörg smith", ADDR_UTF8_LOCAL, "\"jörg smith\"", NULL},
	    {"jörg", 0, NULL, "non-ASCII local part needs SMTPUTF8"},
	    {"jörg", ADDR_UTF8_DOMAIN, NULL, "non-ASCII local part needs SMTPUTF8"},
	    {"j\xc3", ADDR_UTF8_LOCAL, NULL, "local part is not valid UTF-8"},
	    {"j\xc0\xaf", ADDR_UTF8_LOCAL, NULL, "local part is not valid UTF-8"},
	    {"j\xed\xa0\x80", ADDR_UTF8_LOCAL, NULL, "local part is not valid UTF-8"},
	    {"a\tb", 0, NULL, "control character in local part"},
	    {"a\x7f", 0, NULL, "control character in local part"},
	};
	char out[ADDR_LOCAL_BUFSZ];
	const char *error;
	char in[400];
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct local_case *c = &cases[i];

		error = NULL;
		r = addr_local_canonical(c->content, strlen(c->content), c->flags, out, &error);
		if (c->want == NULL) {
			check_error("local", c->content, r, error, c->want_error);
			continue;
		}
		ck_assert_msg(r == 0, "local('%s'): error '%s'", c->content, error);
		ck_assert_msg(strcmp(out, c->want) == 0, "local('%s'): got '%s', want '%s'",
		              c->content, out, c->want);
	}
	/* RFC 5321 4.5.3.1.1: 64 octets, counted in the canonical form. */
	ck_assert_int_eq(addr_local_canonical(repeat('x', 64), 64, 0, out, &error), 0);
	ck_assert_int_eq(addr_local_canonical(repeat('x', 65), 65, 0, out, &error), -1);
	ck_assert_str_eq(error, "local part longer than 64 octets");
	snprintf(in, sizeof(in), "%s y", repeat('x', 60)); /* 62 octets, quoted: 64 */
	ck_assert_int_eq(addr_local_canonical(in, strlen(in), 0, out, &error), 0);
	ck_assert_uint_eq(strlen(out), 64);
	snprintf(in, sizeof(in), "%s y", repeat('x', 61));
	ck_assert_int_eq(addr_local_canonical(in, strlen(in), 0, out, &error), -1);
}
END_TEST

struct path_case {
	const char *in;
	unsigned flags;
	const char *local; /* NULL: want_error */
	const char *domain;
	size_t consumed;
	const char *want_error;
};

#define P_OK(in, flags, local, domain, consumed)                                                   \
	{                                                                                          \
		in, flags, local, domain, consumed, NULL                                           \
	}
#define P_ERR(in, flags, error)                                                                    \
	{                                                                                          \
		in, flags, NULL, NULL, 0, error                                                    \
	}

static const struct path_case path_cases[] = {
    P_OK("<a@b.example>", 0, "a", "b.example", 13),
    P_OK("<A.B@Example.COM> SIZE=100", 0, "A.B", "example.com", 17),
    P_OK("<a@b.example> BODY=8BITMIME SMTPUTF8", 0, "a", "b.example", 13),
    P_OK("<a@b.example> ", 0, "a", "b.example", 13),
    P_OK("<>", ADDR_ALLOW_NULL, "", "", 2),
    P_OK("<> SIZE=10", ADDR_ALLOW_NULL, "", "", 2),
    P_ERR("<>", 0, "null path not allowed here"),
    P_ERR("<>x", ADDR_ALLOW_NULL, "unexpected text after path"),
    P_ERR("<a@b.example>SIZE=1", 0, "unexpected text after path"),
    P_ERR(" <a@b.example>", 0, "space before path not allowed"),
    P_OK(" <a@b.example>", ADDR_ALLOW_SPACE_BEFORE, "a", "b.example", 14),
    P_OK("  <a@b.example> SIZE=5", ADDR_ALLOW_SPACE_BEFORE, "a", "b.example", 15),
    P_OK(" <>", ADDR_ALLOW_SPACE_BEFORE | ADDR_ALLOW_NULL, "", "", 3),
    P_ERR(" ", ADDR_ALLOW_SPACE_BEFORE, "path must be enclosed in <>"),
    P_ERR("", 0, "path must be enclosed in <>"),
    P_ERR("a@b.example", 0, "path must be enclosed in <>"),
    P_ERR("<a@b.example", 0, "missing > at the end of the path"),
    P_ERR("<", 0, "missing local part"),
    /* RFC 5321 4.1.2 / appendix C: source routes are dropped */
    P_OK("<@relay.example:user@d.example>", 0, "user", "d.example", 31),
    P_OK("<@a.example,@b.example:user@d.example>", 0, "user", "d.example", 38),
    P_ERR("<@a.example,b.example:user@d.example>", 0, "invalid source route"),
    P_ERR("<@a.example>", 0, "invalid source route"),
    P_ERR("<@a.example user@d.example>", 0, "invalid character in domain"),
    P_ERR("<@[192.0.2.1]:user@d.example>", ADDR_ALLOW_LITERAL, "address literal not allowed here"),
    P_ERR("<@:user@d.example>", 0, "empty domain"),
    /* quoted local parts, stored canonically */
    P_OK("<\"john doe\"@example.com>", 0, "\"john doe\"", "example.com", 24),
    P_OK("<\"john\"@example.com>", 0, "john", "example.com", 20),
    P_OK("<\"john\\\"q\\\" doe\"@example.com>", 0, "\"john\\\"q\\\" doe\"", "example.com", 29),
    P_OK("<\"a\\b\"@x.example>", 0, "ab", "x.example", 17),
    P_OK("<\"a\\\\b\"@x.example>", 0, "\"a\\\\b\"", "x.example", 18),
    P_OK("<\"a..b\"@x.example>", 0, "\"a..b\"", "x.example", 18),
    P_OK("<\"a@b\"@x.example>", 0, "\"a@b\"", "x.example", 17),
    P_OK("<\"a>b\"@x.example> X=1", 0, "\"a>b\"", "x.example", 17),
    P_OK("<\"\"@x.example>", 0, "\"\"", "x.example", 14),
    P_ERR("<\"abc@x.example>", 0, "unterminated quoted local part"),
    P_ERR("<\"abc\\", 0, "unterminated quoted local part"),
    P_ERR("<\"a\tb\"@x.example>", 0, "control character in local part"),
    P_ERR("<\"a\\\tb\"@x.example>", 0, "invalid quoted pair in local part"),
    P_ERR("<\"ab\"c@x.example>", 0, "invalid local part"),
    /* dot-string: RFC 5321 4.1.2 Atom *("." Atom) */
    P_OK("<first.last@x.example>", 0, "first.last", "x.example", 22),
    P_ERR("<.a@x.example>", 0, "leading or double dot in local part"),
    P_ERR("<a.@x.example>", 0, "trailing dot in local part"),
    P_ERR("<a..b@x.example>", 0, "leading or double dot in local part"),
    P_ERR("<a b@x.example>", 0, "invalid local part"),
    P_ERR("<a(b)@x.example>", 0, "invalid local part"),
    P_ERR("<a@>", 0, "empty domain"),
    P_ERR("<a@b..example>", 0, "empty label in domain"),
    P_ERR("<a@b.example.>", 0, "empty label in domain"),
    P_ERR("<a@b c.example>", 0, "invalid character in domain"),
    P_ERR("<a>", 0, "missing @domain"),
    P_ERR("<a", 0, "missing @domain"),
    /* RFC 5321 4.1.1.3 */
    P_OK("<Postmaster>", ADDR_ALLOW_POSTMASTER, "postmaster", "", 12),
    P_OK("<POSTMASTER> NOTIFY=NEVER", ADDR_ALLOW_POSTMASTER, "postmaster", "", 12),
    P_ERR("<Postmaster>", 0, "missing @domain"),
    P_ERR("<bob>", ADDR_ALLOW_POSTMASTER, "missing @domain"),
    P_OK("<Postmaster@Example.com>", 0, "Postmaster", "example.com", 24),
    /* address literals */
    P_OK("<a@[192.0.2.1]>", ADDR_ALLOW_LITERAL, "a", "[192.0.2.1]", 15),
    P_OK("<a@[IPv6:2001:db8::1]>", ADDR_ALLOW_LITERAL, "a", "[IPv6:2001:db8::1]", 22),
    P_ERR("<a@[192.0.2.1]>", 0, "address literal not allowed here"),
    P_ERR("<a@[300.0.2.1]>", ADDR_ALLOW_LITERAL, "invalid IPv4 address literal"),
    /* RFC 6531: UTF-8 only with SMTPUTF8 */
    P_OK("<用户@例子.广告> SMTPUTF8", ADDR_SMTPUTF8, "用户", "xn--fsqu00a.xn--4rr70v", 22),
    P_ERR("<用户@例子.广告>", 0, "non-ASCII local part needs SMTPUTF8"),
    P_OK("<jörg@Bücher.example>", ADDR_SMTPUTF8, "jörg", "xn--bcher-kva.example", 23),
    P_OK("<bob@bücher.example>", ADDR_UTF8_DOMAIN, "bob", "xn--bcher-kva.example", 21),
    P_ERR("<bob@bücher.example>", 0, "non-ASCII domain needs SMTPUTF8"),
    P_ERR("<jörg@example.com>", ADDR_UTF8_DOMAIN, "non-ASCII local part needs SMTPUTF8"),
    P_OK("<\"jörg smith\"@example.com>", ADDR_SMTPUTF8, "\"jörg smith\"", "example.com", 27),
    P_ERR("<j\xc3@example.com>", ADDR_SMTPUTF8, "local part is not valid UTF-8"),
    P_ERR("<j\xc3\xa4\xa4@example.com>", ADDR_SMTPUTF8, "local part is not valid UTF-8"),
};

START_TEST(test_paths)
{
	struct mail_address addr;
	const char *error;
	size_t i, consumed;
	int r;

	for (i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
		const struct path_case *c = &path_cases[i];

		error = NULL;
		consumed = 999;
		r = addr_parse_path(c->in, strlen(c->in), c->flags, &addr, &consumed, &error);
		if (c->local == NULL) {
			check_error("path", c->in, r, error, c->want_error);
			continue;
		}
		ck_assert_msg(r == 0, "path('%s'): error '%s'", c->in, error);
		ck_assert_msg(strcmp(addr.local, c->local) == 0 &&
		                  strcmp(addr.domain, c->domain) == 0 && consumed == c->consumed,
		              "path('%s'): got '%s' '%s' %zu, want '%s' '%s' %zu", c->in,
		              addr.local, addr.domain, consumed, c->local, c->domain, c->consumed);
	}
}
END_TEST

START_TEST(test_path_limits)
{
	struct mail_address addr;
	const char *error = NULL;
	char in[1200];
	size_t consumed;

	/* RFC 5321 4.5.3.1: local part 64, path 256 octets with its brackets */
	snprintf(in, sizeof(in), "<%s@x.example>", repeat('l', 64));
	ck_assert_int_eq(addr_parse_path(in, strlen(in), 0, &addr, &consumed, &error), 0);
	snprintf(in, sizeof(in), "<%s@x.example>", repeat('l', 65));
	ck_assert_int_eq(addr_parse_path(in, strlen(in), 0, &addr, &consumed, &error), -1);
	ck_assert_str_eq(error, "local part longer than 64 octets");
	snprintf(in, sizeof(in), "<\"%s\"@x.example>", repeat('l', 65));
	ck_assert_int_eq(addr_parse_path(in, strlen(in), 0, &addr, &consumed, &error), -1);
	ck_assert_str_eq(error, "local part longer than 64 octets");
	/* 1 + 64 + 1 + 189 + 1 = 256 */
	snprintf(in, sizeof(in), "<%s@", repeat('l', 64));
	snprintf(in + strlen(in), sizeof(in) - strlen(in), "%s>", long_domain(189));
	ck_assert_int_eq(addr_parse_path(in, strlen(in), 0, &addr, &consumed, &error), 0);
	ck_assert_uint_eq(consumed, 256);
	snprintf(in, sizeof(in), "<%s@", repeat('l', 64));
	snprintf(in + strlen(in), sizeof(in) - strlen(in), "%s>", long_domain(190));
	ck_assert_int_eq(addr_parse_path(in, strlen(in), 0, &addr, &consumed, &error), -1);
	ck_assert_str_eq(error, "path longer than 256 octets");
	/* a source route counts towards the path */
	snprintf(in, sizeof(in), "<@%s:a@b.example>", long_domain(250));
	ck_assert_int_eq(addr_parse_path(in, strlen(in), 0, &addr, &consumed, &error), -1);
	ck_assert_str_eq(error, "path longer than 256 octets");
	/* a NUL in a length-counted argument is not the end of it */
	ck_assert_int_eq(addr_parse_path("<a@b\0c>", 7, 0, &addr, &consumed, &error), -1);
	ck_assert_str_eq(error, "invalid character in domain");
	ck_assert_int_eq(addr_parse_path("<a\0b@c>", 7, 0, &addr, &consumed, &error), -1);
	/* parsing stops at len */
	ck_assert_int_eq(addr_parse_path("<a@b.example>", 12, 0, &addr, &consumed, &error), -1);
	ck_assert_str_eq(error, "missing > at the end of the path");
}
END_TEST

struct mailbox_case {
	const char *in;
	unsigned flags;
	const char *local;
	const char *domain;
	const char *want_error;
};

START_TEST(test_mailboxes)
{
	static const struct mailbox_case cases[] = {
	    {"bob@example.com", 0, "bob", "example.com", NULL},
	    {"Bob.Smith@EXAMPLE.com", 0, "Bob.Smith", "example.com", NULL},
	    {"\"bob smith\"@example.com", 0, "\"bob smith\"", "example.com", NULL},
	    {"\"bob\"@example.com", 0, "bob", "example.com", NULL},
	    {"@example.com", ADDR_ALLOW_CATCHALL, "", "example.com", NULL},
	    {"@Bücher.example", ADDR_ALLOW_CATCHALL | ADDR_UTF8_DOMAIN, "", "xn--bcher-kva.example",
	     NULL},
	    {"@example.com", 0, NULL, NULL, "missing local part"},
	    {"@", ADDR_ALLOW_CATCHALL, NULL, NULL, "empty domain"},
	    {"bob", ADDR_ALLOW_NO_DOMAIN, "bob", "", NULL},
	    {"bob", 0, NULL, NULL, "missing @domain"},
	    {"bob@bücher.example", ADDR_UTF8_DOMAIN, "bob", "xn--bcher-kva.example", NULL},
	    {"bob@bücher.example", 0, NULL, NULL, "non-ASCII domain needs SMTPUTF8"},
	    {"bob@[192.0.2.1]", ADDR_ALLOW_LITERAL, "bob", "[192.0.2.1]", NULL},
	    {"bob@exa mple.com", 0, NULL, NULL, "invalid character in domain"},
	    {"bob@@example.com", 0, NULL, NULL, "invalid character in domain"},
	    {"bob@example.com ", 0, NULL, NULL, "invalid character in domain"},
	    {"bob smith@example.com", 0, NULL, NULL, "invalid local part"},
	    {"<bob@example.com>", 0, NULL, NULL, "missing local part"},
	    {"bob.@example.com", 0, NULL, NULL, "trailing dot in local part"},
	    {"", 0, NULL, NULL, "missing local part"},
	    {"", ADDR_ALLOW_CATCHALL | ADDR_ALLOW_NO_DOMAIN, NULL, NULL, "missing local part"},
	};
	struct mail_address addr;
	const char *error;
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mailbox_case *c = &cases[i];

		error = NULL;
		r = addr_parse_mailbox(c->in, strlen(c->in), c->flags, &addr, &error);
		if (c->local == NULL) {
			check_error("mailbox", c->in, r, error, c->want_error);
			continue;
		}
		ck_assert_msg(r == 0, "mailbox('%s'): error '%s'", c->in, error);
		ck_assert_msg(strcmp(addr.local, c->local) == 0 &&
		                  strcmp(addr.domain, c->domain) == 0,
		              "mailbox('%s'): got '%s' '%s', want '%s' '%s'", c->in, addr.local,
		              addr.domain, c->local, c->domain);
	}
}
END_TEST

START_TEST(test_format_and_flags)
{
	struct mail_address addr;
	const char *error;
	char out[ADDR_BUFSZ];
	size_t consumed;

	ck_assert_int_eq(addr_parse_path("<>", 2, ADDR_ALLOW_NULL, &addr, &consumed, &error), 0);
	ck_assert(addr_is_null(&addr));
	addr_format(&addr, out);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(addr_parse_mailbox("@example.com", 12, ADDR_ALLOW_CATCHALL, &addr, &error),
	                 0);
	ck_assert(!addr_is_null(&addr));
	addr_format(&addr, out);
	ck_assert_str_eq(out, "@example.com");
	ck_assert_int_eq(addr_parse_mailbox("bob", 3, ADDR_ALLOW_NO_DOMAIN, &addr, &error), 0);
	addr_format(&addr, out);
	ck_assert_str_eq(out, "bob");
	ck_assert_int_eq(addr_parse_mailbox("\"a b\"@x.example", 15, 0, &addr, &error), 0);
	addr_format(&addr, out);
	ck_assert_str_eq(out, "\"a b\"@x.example");
	ck_assert(!addr_needs_smtputf8(&addr));
	ck_assert_int_eq(
	    addr_parse_mailbox("jörg@bücher.example", 21, ADDR_SMTPUTF8, &addr, &error), 0);
	ck_assert(addr_needs_smtputf8(&addr));
	addr_format(&addr, out);
	ck_assert_str_eq(out, "jörg@xn--bcher-kva.example");
	ck_assert_int_eq(addr_parse_mailbox("bob@bücher.example", 19, ADDR_SMTPUTF8, &addr, &error),
	                 0);
	ck_assert(!addr_needs_smtputf8(&addr));
}
END_TEST

struct split_case {
	const char *local;
	const char *delims;
	bool split;
	size_t base_len;
	const char *ext;
	char delim;
};

START_TEST(test_split_extension)
{
	static const struct split_case cases[] = {
	    {"bob+tag", "+", true, 3, "tag", '+'},
	    {"bob+", "+", true, 3, "", '+'},
	    {"+tag", "+", false, 4, NULL, 0},
	    {"bob", "+", false, 3, NULL, 0},
	    {"bob+tag", "", false, 7, NULL, 0},
	    {"bob+tag", NULL, false, 7, NULL, 0},
	    {"bob+tag", "-", false, 7, NULL, 0},
	    {"bob-foo+bar", "+-", true, 3, "foo+bar", '-'},
	    {"bob+foo-bar", "+-", true, 3, "foo-bar", '+'},
	    {"bob+a+b", "+", true, 3, "a+b", '+'},
	    {"b.o.b+x.y", "+", true, 5, "x.y", '+'},
	    {"\"bob+x y\"", "+", false, 9, NULL, 0},
	    {"jörg+x", "+", true, 5, "x", '+'},
	    {"jörg", "\xc3\xb6", false, 5, NULL, 0},
	    {"", "+", false, 0, NULL, 0},
	};
	const char *ext;
	size_t i, base_len;
	char delim;
	bool split;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct split_case *c = &cases[i];

		split = addr_split_extension(c->local, c->delims, &base_len, &ext, &delim);
		ck_assert_msg(split == c->split && base_len == c->base_len && delim == c->delim,
		              "split('%s', '%s'): got %d %zu '%c', want %d %zu '%c'", c->local,
		              c->delims ? c->delims : "(null)", split, base_len,
		              delim ? delim : '0', c->split, c->base_len,
		              c->delim ? c->delim : '0');
		if (c->ext == NULL)
			ck_assert_ptr_null(ext);
		else
			ck_assert_str_eq(ext, c->ext);
	}
}
END_TEST

START_TEST(test_lookup_key)
{
	char out[ADDR_BUFSZ];
	const char *error = NULL;
	const char *ext;
	size_t base_len;
	char delim;

	ck_assert_int_eq(addr_lookup_key("Bob.Smith", 9, "example.com", out, &error), 0);
	ck_assert_str_eq(out, "bob.smith@example.com");
	ck_assert_int_eq(addr_lookup_key("JÖRG", strlen("JÖRG"), "Example.COM", out, &error), 0);
	ck_assert_str_eq(out, "jÖrg@example.com");
	ck_assert_int_eq(addr_lookup_key("\"A B\"", 5, "x.example", out, &error), 0);
	ck_assert_str_eq(out, "\"a b\"@x.example");
	ck_assert_int_eq(addr_lookup_key("", 0, "example.com", out, &error), 0);
	ck_assert_str_eq(out, "@example.com");
	ck_assert(addr_split_extension("Bob+Tag", "+", &base_len, &ext, &delim));
	ck_assert_int_eq(addr_lookup_key("Bob+Tag", base_len, "example.com", out, &error), 0);
	ck_assert_str_eq(out, "bob@example.com");
	ck_assert_int_eq(addr_lookup_key("bob", 3, "", out, &error), -1);
	ck_assert_str_eq(error, "address has no domain");
	ck_assert_int_eq(addr_lookup_key(repeat('x', 65), 65, "example.com", out, &error), -1);
	ck_assert_str_eq(error, "address too long");
	ck_assert_int_eq(addr_lookup_key(repeat('x', 64), 64, long_domain(253), out, &error), 0);
	ck_assert_uint_eq(strlen(out), 64 + 1 + 253);
}
END_TEST

/*
 * Header address lists. want lists the iterator's results joined by "|":
 * a mailbox as "display<address>" (prefixed "g:" inside a group), an error
 * as "!message".
 */
struct list_case {
	const char *in;
	unsigned flags;
	unsigned max;
	const char *want;
	size_t len; /* 0: strlen(in) */
};

static const struct list_case list_cases[] = {
    {"a@b.example", 0, 100, "<a@b.example>"},
    {"John Doe <john@example.com>", 0, 100, "John Doe<john@example.com>"},
    {"\"Doe, John\" <john@example.com>, jane@example.com", 0, 100,
     "Doe, John<john@example.com>|<jane@example.com>"},
    {"\"Joe \\\"JD\\\" Q\" <j@x.example>", 0, 100, "Joe \"JD\" Q<j@x.example>"},
    {"\"\" <a@b.example>", 0, 100, "<a@b.example>"},
    {"<a@b.example>", 0, 100, "<a@b.example>"},
    {"John Q. Public <jqp@example.com>", 0, 100, "John Q. Public<jqp@example.com>"},
    {"jqp@example.com (John Q. Public)", 0, 100, "<jqp@example.com>"},
    /* RFC 5322 appendix A.1.2 and A.5 */
    {"Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>", 0, 100,
     "Mary Smith<mary@x.test>|<jdoe@example.org>|Who?<one@y.test>"},
    {"<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>", 0, 100,
     "<boss@nil.test>|Giant; \"Big\" Box<sysservices@example.net>"},
    {"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", 0, 100,
     "Pete<pete@silly.test>"},
    {"A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
     "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the "
     "group)",
     0, 100, "g:Chris Jones<c@public.example>|g:<joe@example.org>|g:John<jdoe@one.test>"},
    {"(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;", 0, 100, ""},
    /* groups */
    {"undisclosed-recipients:;", 0, 100, ""},
    {"undisclosed-recipients: ;, a@b.example", 0, 100, "<a@b.example>"},
    {"team: a@b.example, c@d.example;, e@f.example", 0, 100,
     "g:<a@b.example>|g:<c@d.example>|<e@f.example>"},
    {"team: a@b.example, Bob <bob@x.example>; other: ; x@y.example", 0, 100,
     "g:<a@b.example>|g:Bob<bob@x.example>|!unexpected text after group"},
    {"team: , a@b.example,, ;", 0, 100, "g:<a@b.example>"},
    {"team: a@b.example", 0, 100, "g:<a@b.example>"},
    {"a: b: c@d.example;;", 0, 100, "!group inside a group|!unexpected text after group"},
    {": a@b.example;", 0, 100, "!group without a name"},
    {"a@b.example; c@d.example", 0, 100, "!unexpected text after address"},
    {"team: x; y@z.example", 0, 100,
     "!not an address: missing @domain|!unexpected text after group"},
    /* empty elements and folding (RFC 5322 4.4 obs-addr-list, 3.2.2) */
    {",,a@b.example,,, c@d.example,", 0, 100, "<a@b.example>|<c@d.example>"},
    {"", 0, 100, ""},
    {" \t\r\n ", 0, 100, ""},
    {"John\r\n Doe <john@example.com>,\r\n\tjane@example.com", 0, 100,
     "John Doe<john@example.com>|<jane@example.com>"},
    {"a@b.example\r\n", 0, 100, "<a@b.example>"},
    {"a@b.example,\r\nc@d.example", 0, 100, "<a@b.example>|!invalid character in address"},
    {"\"long\r\n name\" <a@b.example>", 0, 100, "long name<a@b.example>"},
    {"\"bad\rname\" <a@b.example>, c@d.example", 0, 100,
     "!line break in quoted string|<c@d.example>"},
    /* obsolete forms */
    {"<@route.example,@r2.example:user@d.example>", 0, 100, "<user@d.example>"},
    {"Joe <@route.example:joe@d.example>", 0, 100, "Joe<joe@d.example>"},
    {"<@route.example joe@d.example>", 0, 100, "!invalid route"},
    {"john . doe @ example . com", 0, 100, "<john.doe@example.com>"},
    {"\"john\".doe@example.com", 0, 100, "<john.doe@example.com>"},
    {"\"john..doe\"@example.com", 0, 100, "<\"john..doe\"@example.com>"},
    {"\"quoted, comma\"@x.example", 0, 100, "<\"quoted, comma\"@x.example>"},
    {"a@b.example <a@b.example>", 0, 100, "a@b.example<a@b.example>"},
    {"Dev [ops] <x@y.example>", 0, 100, "Dev [ops]<x@y.example>"},
    {"Giant; \"Big\" Box <x@y.example>", 0, 100, "Giant; \"Big\" Box<x@y.example>"},
    {"=?utf-8?q?J=C3=B6rg?= <j@example.com>", 0, 100, "=?utf-8?q?J=C3=B6rg?=<j@example.com>"},
    {"Jörg <j@example.com>", 0, 100, "Jörg<j@example.com>"},
    /* comments */
    {"a@b.example (comment, with comma), c@d.example", 0, 100, "<a@b.example>|<c@d.example>"},
    {"(((((((((((((((((x))))))))))))))))) a@b.example, c@d.example", 0, 100,
     "!comments nested too deeply|<c@d.example>"},
    {"((((((((((((((((x)))))))))))))))) a@b.example", 0, 100, "<a@b.example>"},
    {"(unterminated comment a@b.example", 0, 100, "!unterminated comment"},
    {"a@b.example (x\\", 0, 100, "!unterminated comment"},
    /* garbage */
    {"a@b.example, garbage, c@d.example", 0, 100,
     "<a@b.example>|!not an address: missing @domain|<c@d.example>"},
    {"\"unterminated a@b.example", 0, 100, "!unterminated quoted string"},
    {"a@b.example, \"unterminated, c@d.example", 0, 100,
     "<a@b.example>|!unterminated quoted string"},
    {"<>", 0, 100, "!empty address <>"},
    {"John <john@example.com", 0, 100, "!missing > after address"},
    {"John <john@example.com> extra, x@y.example", 0, 100,
     "!unexpected text after address|<x@y.example>"},
    {"John <a@b, c@d.example>, e@f.example", 0, 100, "!missing > after address|<e@f.example>"},
    {"John Doe john@example.com, x@y.example", 0, 100, "!invalid local part|<x@y.example>"},
    {"john..doe@example.com", 0, 100, "!invalid local part"},
    {".john@example.com", 0, 100, "!invalid local part"},
    {"@example.com", 0, 100, "!missing local part"},
    {"user@example.com.", 0, 100, "!invalid domain"},
    {"user@", 0, 100, "!missing domain"},
    {"user@exa_mple.com", 0, 100, "!invalid character in domain"},
    {"; <a@b.example>, c@d.example", 0, 100, "!invalid character in address|<c@d.example>"},
    {">>>, a@b.example", 0, 100, "!invalid character in address|<a@b.example>"},
    {"a@b.example]", 0, 100, "!unexpected text after address"},
    {"[x] a@b.example", 0, 100, "!invalid character in address"},
    {"\"a\x01\" <a@b.example>, c@d.example", 0, 100,
     "!control character in quoted string|<c@d.example>"},
    {"a@b.example, \x00, c@d.example", 0, 100,
     "<a@b.example>|!invalid character in address|<c@d.example>",
     sizeof("a@b.example, \x00, c@d.example") - 1},
    {"x@y.example, a@[192.0.2.1]", 0, 100, "<x@y.example>|!address literal not allowed here"},
    {"a@[192.0.2.1], b@[IPv6:::1]", ADDR_ALLOW_LITERAL, 100, "<a@[192.0.2.1]>|<b@[IPv6:::1]>"},
    {"a@[192.0.2.1", ADDR_ALLOW_LITERAL, 100, "!unterminated domain literal"},
    /* RFC 6532 UTF-8 */
    {"Jörg <jörg@bücher.example>", ADDR_SMTPUTF8, 100, "Jörg<jörg@xn--bcher-kva.example>"},
    {"jörg@bücher.example, a@b.example", 0, 100,
     "!non-ASCII local part needs SMTPUTF8|<a@b.example>"},
    /* local parts alone, for sendmail -t */
    {"bob, <alice>, Carol <carol>", ADDR_ALLOW_NO_DOMAIN, 100, "<bob>|<alice>|Carol<carol>"},
    {"bob", 0, 100, "!not an address: missing @domain"},
    {"<alice>", 0, 100, "!missing @domain"},
    {"team: bob;", ADDR_ALLOW_NO_DOMAIN, 100, "g:<bob>"},
    /* limits */
    {"a@b.example, c@d.example, e@f.example", 0, 2,
     "<a@b.example>|<c@d.example>|!too many addresses"},
    {"a@b.example, c@d.example,, ", 0, 2, "<a@b.example>|<c@d.example>"},
    {"x, y, z", 0, 2,
     "!not an address: missing @domain|!not an address: missing @domain|"
     "!too many addresses"},
    {"a@b.example", 0, 0, "!too many addresses"},
};

/* Run the iterator to its end and describe what it returned; fails when it
 * does not end within a bound linear in the input. */
static void run_list(const char *in, size_t len, unsigned flags, unsigned max, char *out,
                     size_t outsz)
{
	struct addr_list it;
	struct addr_mailbox mb;
	const char *error;
	size_t calls = 0, o = 0;
	char addr[ADDR_BUFSZ];
	int r;

	out[0] = '\0';
	addr_list_init(&it, in, len, flags, max);
	for (;;) {
		error = NULL;
		r = addr_list_next(&it, &mb, &error);
		ck_assert_msg(++calls <= len + 2, "iterator does not end on '%.*s'", (int)len, in);
		if (r == 0)
			break;
		if (o > 0)
			o += (size_t)snprintf(out + o, outsz - o, "|");
		if (r < 0) {
			ck_assert_ptr_nonnull(error);
			o += (size_t)snprintf(out + o, outsz - o, "!%s", error);
		} else {
			ck_assert_int_eq(r, 1);
			ck_assert_uint_lt(strlen(mb.display), sizeof(mb.display));
			addr_format(&mb.addr, addr);
			o += (size_t)snprintf(out + o, outsz - o, "%s%s<%s>",
			                      mb.in_group ? "g:" : "", mb.display, addr);
		}
		ck_assert_uint_lt(o, outsz);
	}
	/* the end is sticky */
	ck_assert_int_eq(addr_list_next(&it, &mb, &error), 0);
}

static size_t case_len(const struct list_case *c)
{
	return c->len > 0 ? c->len : strlen(c->in);
}

START_TEST(test_lists)
{
	char got[2048];
	size_t i;

	for (i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]); i++) {
		const struct list_case *c = &list_cases[i];

		run_list(c->in, case_len(c), c->flags, c->max, got, sizeof(got));
		ck_assert_msg(strcmp(got, c->want) == 0, "list('%s'):\n got '%s'\nwant '%s'", c->in,
		              got, c->want);
	}
}
END_TEST

START_TEST(test_list_display_truncation)
{
	struct addr_list it;
	struct addr_mailbox mb;
	const char *error = NULL;
	char in[1024];
	size_t n, i;

	/* 300 octets of display name: cut to 255 */
	snprintf(in, sizeof(in), "\"%s\" <a@b.example>", repeat('d', 300));
	addr_list_init(&it, in, strlen(in), 0, 10);
	ck_assert_int_eq(addr_list_next(&it, &mb, &error), 1);
	ck_assert(mb.display_truncated);
	ck_assert_uint_eq(strlen(mb.display), ADDR_DISPLAY_BUFSZ - 1);
	ck_assert_str_eq(mb.addr.domain, "b.example");
	/* a cut never leaves half a UTF-8 character */
	n = 0;
	in[n++] = 'x';
	in[n++] = 'y';
	for (i = 0; i < 200; i++) {
		memcpy(in + n, "ü", 2);
		n += 2;
	}
	memcpy(in + n, " <a@b.example>", 15);
	addr_list_init(&it, in, strlen(in), 0, 10);
	ck_assert_int_eq(addr_list_next(&it, &mb, &error), 1);
	ck_assert(mb.display_truncated);
	ck_assert_uint_eq(strlen(mb.display), 254);
	ck_assert_int_eq((unsigned char)mb.display[253], 0xbc);
	/* short names are not flagged */
	addr_list_init(&it, "Bob <b@c.example>", 17, 0, 10);
	ck_assert_int_eq(addr_list_next(&it, &mb, &error), 1);
	ck_assert(!mb.display_truncated);
	ck_assert_str_eq(mb.display, "Bob");
}
END_TEST

/* Every prefix of every input, in a buffer of exactly its size. */
START_TEST(test_list_prefixes)
{
	char got[4096];
	size_t i, k, len;

	for (i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]); i++) {
		const struct list_case *c = &list_cases[i];

		len = case_len(c);
		for (k = 0; k <= len; k++) {
			char *buf = malloc(k == 0 ? 1 : k);

			ck_assert_ptr_nonnull(buf);
			memcpy(buf, c->in, k);
			run_list(buf, k, c->flags | ADDR_SMTPUTF8 | ADDR_ALLOW_LITERAL, c->max, got,
			         sizeof(got));
			run_list(buf, k, ADDR_ALLOW_NO_DOMAIN, 3, got, sizeof(got));
			free(buf);
		}
	}
}
END_TEST

START_TEST(test_path_prefixes)
{
	struct mail_address addr;
	const char *error;
	size_t i, k, len, consumed;

	for (i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
		len = strlen(path_cases[i].in);
		for (k = 0; k <= len; k++) {
			char *buf = malloc(k == 0 ? 1 : k);

			ck_assert_ptr_nonnull(buf);
			memcpy(buf, path_cases[i].in, k);
			if (addr_parse_path(buf, k, 0xff, &addr, &consumed, &error) == 0)
				ck_assert_uint_le(consumed, k);
			addr_parse_mailbox(buf, k, 0xff, &addr, &error);
			free(buf);
		}
	}
}
END_TEST

/* Generated garbage from the characters that matter to the grammar. */
START_TEST(test_list_garbage)
{
	static const char alphabet[] = "ab.@,;:<>()\"\\[] \t\r\n\xc3\xbc";
	char got[8192];
	uint32_t seed = 12345;
	size_t round, i, len;

	for (round = 0; round < 20000; round++) {
		char *buf;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 16) % 48;
		buf = malloc(len == 0 ? 1 : len);
		ck_assert_ptr_nonnull(buf);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		run_list(buf, len, (unsigned)round & 0xff, 1000, got, sizeof(got));
		free(buf);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_domains);
	tcase_add_test(tc, test_domain_to_utf8);
	tcase_add_test(tc, test_local_canonical);
	tcase_add_test(tc, test_paths);
	tcase_add_test(tc, test_path_limits);
	tcase_add_test(tc, test_mailboxes);
	tcase_add_test(tc, test_format_and_flags);
	tcase_add_test(tc, test_split_extension);
	tcase_add_test(tc, test_lookup_key);
	tcase_add_test(tc, test_lists);
	tcase_add_test(tc, test_list_display_truncation);
	tcase_add_test(tc, test_list_prefixes);
	tcase_add_test(tc, test_path_prefixes);
	tcase_add_test(tc, test_list_garbage);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
