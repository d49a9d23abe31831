/*
 * test_mime.c: lib/mime.c: Content-Type with quoted, commented and RFC 2231
 * parameters; RFC 2047 encoded-words; base64 and quoted-printable; charset
 * conversion; the multipart tree with nesting, message/rfc822, digest
 * defaults, missing close delimiters and the depth, part and boundary
 * limits; walking the tree; decoded part bodies.
 */
#include "mime.h"
#include "util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_content_type)
{
	struct mime_content_type ct;
	const char *v2;
	static const char v[] = "Multipart/Mixed (comment) ; boundary=\"a b;c\" ; CHARSET=UTF-8;"
	                        " junk ; name*0*=utf-8''Gr%C3%BC; name*1=\"n.txt\"";

	ck_assert_int_eq(mime_content_type_parse(v, strlen(v), &ct), 0);
	ck_assert_str_eq(ct.type, "multipart");
	ck_assert_str_eq(ct.subtype, "mixed");
	ck_assert_str_eq(mime_content_type_param(&ct, "boundary"), "a b;c");
	ck_assert_str_eq(mime_content_type_param(&ct, "charset"), "UTF-8");
	ck_assert_str_eq(mime_content_type_param(&ct, "NAME"), "Grün.txt");
	ck_assert_ptr_null(mime_content_type_param(&ct, "junk"));
	mime_content_type_clear(&ct);

	ck_assert_int_eq(mime_content_type_parse("text", 4, &ct), -1);
	ck_assert_ptr_null(ct.type);
	ck_assert_int_eq(mime_content_type_parse("/plain", 6, &ct), -1);
	ck_assert_int_eq(mime_content_type_parse("text/", 5, &ct), -1);
	ck_assert_int_eq(mime_content_type_parse("", 0, &ct), -1);
	v2 = "a/b; title*=iso-8859-1'en'%E9t%E9";
	ck_assert_int_eq(mime_content_type_parse(v2, strlen(v2), &ct), 0);
	ck_assert_str_eq(mime_content_type_param(&ct, "title"), "été");
	mime_content_type_clear(&ct);
}
END_TEST

static void check_decode(const char *in, const char *want)
{
	struct sbuf out = {0};

	mime_header_decode(in, strlen(in), &out);
	ck_assert_msg(strcmp(out.data != NULL ? out.data : "", want) == 0,
	              "decode '%s': got '%s' want '%s'", in, out.data, want);
	sbuf_free(&out);
}

START_TEST(test_encoded_words)
{
	check_decode("=?utf-8?q?Gr=C3=BC=C3=9Fe?=", "Grüße");
	check_decode("=?ISO-8859-1?Q?J=F6rg_M=FCller?= <j@x>", "Jörg Müller <j@x>");
	check_decode("=?utf-8?b?R3LDvMOfZSBhdXMgQmVybGlu?= =?utf-8?q?_und_K=C3=B6ln?=",
	             "Grüße aus Berlin und Köln");
	check_decode("a =?utf-8?q?b?= c", "a b c");
	check_decode("=?utf-8?q?x?=\r\n =?utf-8?q?y?=", "xy");
	check_decode("=?utf-8*en?q?lang?=", "lang");
	check_decode("=?utf-8?x?bad?= =?utf-8?q?no end", "=?utf-8?x?bad?= =?utf-8?q?no end");
	check_decode("=?bogus-charset?q?abc?=", "abc");
	check_decode("raw \xff byte", "raw \xef\xbf\xbd byte");
	check_decode("", "");
}
END_TEST

/* Encode, check every word's length and the separators, and decode back. */
static void encode_roundtrip(const char *text, const char *sep, const char *want_start)
{
	struct sbuf enc = {0}, dec = {0};
	const char *p;

	mime_header_encode(text, strlen(text), 0, sep, &enc);
	ck_assert_msg(strncmp(sbuf_str(&enc), want_start, strlen(want_start)) == 0, "%s",
		      sbuf_str(&enc));
	for (p = sbuf_str(&enc); *p != '\0';) {
		const char *end = strstr(p, "?=");

		ck_assert_msg(strncmp(p, "=?utf-8?", 8) == 0 && end != NULL, "%s", p);
		ck_assert_int_le(end + 2 - p, 75); /* RFC 2047 2 */
		p = end + 2;
		if (*p != '\0') {
			ck_assert_msg(strncmp(p, sep, strlen(sep)) == 0, "%s", p);
			p += strlen(sep);
		}
	}
	for (p = sbuf_str(&enc); *p != '\0'; p++)
		ck_assert((unsigned char)*p < 0x80 && (*p != '\r' || strcmp(sep, "\r\n ") == 0));
	/* a folded header value is unfolded before it is decoded */
	mime_header_decode(sbuf_str(&enc), enc.len, &dec);
	if (strcmp(sep, " ") == 0)
		ck_assert_str_eq(sbuf_str(&dec), text);
	sbuf_free(&enc);
	sbuf_free(&dec);
}

START_TEST(test_encode_words)
{
	encode_roundtrip("J\xc3\xb6rg Nobody", " ", "=?utf-8?Q?J=C3=B6rg_Nobody?=");
	encode_roundtrip("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", " ",
			 "=?utf-8?B?0J/RgNC40LLQtdGC?=");
	/* control characters and quotes are encoded, never raw (header injection) */
	encode_roundtrip("a\r\nBcc: x \"\xc3\xa9\"", " ", "=?utf-8?Q?a=0D=0ABcc=3A_x_=22=C3=A9=22?=");
	/* long text: several words, whole UTF-8 characters in each */
	encode_roundtrip("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
			 " ", "=?utf-8?B?");
	encode_roundtrip("Abwesenheit: R\xc3\xbc" "ckkehr am Montag, dem 7. Dezember, "
			 "bitte wenden Sie sich an die Vertretung", "\r\n ", "=?utf-8?Q?Abwesenheit");
}
END_TEST

START_TEST(test_transfer_encodings)
{
	struct sbuf out = {0};

	mime_base64_decode("SGVs\r\nbG8g!!d29y bGQ=\r\n", 23, &out);
	ck_assert_str_eq(out.data, "Hello world");
	sbuf_reset(&out);
	mime_qp_decode("a=3Db =\r\nc  \r\nd=ZZ=\n", 20, &out);
	ck_assert_str_eq(out.data, "a=b c\r\nd=ZZ");
	sbuf_reset(&out);
	mime_transfer_decode("QUOTED-PRINTABLE", "x=41", 4, &out);
	ck_assert_str_eq(out.data, "xA");
	sbuf_reset(&out);
	mime_transfer_decode("8bit", "=41", 3, &out);
	ck_assert_str_eq(out.data, "=41");
	sbuf_free(&out);
}
END_TEST

START_TEST(test_charsets)
{
	struct sbuf out = {0};

	ck_assert_int_eq(mime_charset_to_utf8("iso-8859-1", "K\xf6ln", 4, &out), 0);
	ck_assert_str_eq(out.data, "Köln");
	sbuf_reset(&out);
	ck_assert_int_eq(mime_charset_to_utf8("x-no-such-charset", "abc\xff", 4, &out), -1);
	ck_assert_str_eq(out.data, "abc\xef\xbf\xbd");
	sbuf_reset(&out);
	ck_assert_int_eq(mime_charset_to_utf8("utf-8", "\xc3\xa9\xc3", 3, &out), 0);
	ck_assert_str_eq(out.data, "é\xef\xbf\xbd");
	sbuf_reset(&out);
	ck_assert_int_eq(mime_charset_to_utf8("../../etc/passwd", "x", 1, &out), -1);
	sbuf_free(&out);
	ck_assert_uint_eq(mime_utf8_char_len("\xe2\x82\xac", 3), 3);
	ck_assert_uint_eq(mime_utf8_char_len("\xe2\x82", 2), 1);
	ck_assert_uint_eq(mime_utf8_char_len("\xed\xa0\x80", 3), 1); /* surrogate */
	ck_assert_uint_eq(mime_utf8_char_len("\xc0\xaf", 2), 1);     /* overlong */
}
END_TEST

static const char nested[] = "Content-Type: multipart/mixed; boundary=\"outer\"\n"
                             "\n"
                             "prologue\n"
                             "--outer\n"
                             "Content-Type: multipart/alternative; boundary=inner\n"
                             "\n"
                             "--inner\n"
                             "\n"
                             "plain default\n"
                             "--inner\n"
                             "Content-Type: text/html; charset=iso-8859-1\n"
                             "Content-Transfer-Encoding: quoted-printable\n"
                             "\n"
                             "<p>K=F6ln</p>\n"
                             "--inner--\n"
                             "--outer\n"
                             "Content-Type: message/rfc822\n"
                             "\n"
                             "Subject: inner message\n"
                             "\n"
                             "inner body\n"
                             "--outer--\n"
                             "epilogue\n";

START_TEST(test_tree)
{
	struct mime_part *root, *alt, *plain, *html, *msg, *inner;
	const struct mime_part *p;
	struct sbuf out = {0};
	const char *error;
	int n = 0;

	ck_assert_int_eq(mime_parse(nested, strlen(nested), NULL, &root, &error), 0);
	ck_assert_str_eq(root->ct.subtype, "mixed");
	ck_assert_uint_eq(root->prologue_len, strlen("prologue"));
	ck_assert(memcmp(nested + root->prologue_offset, "prologue", 8) == 0);
	ck_assert(memcmp(nested + root->epilogue_offset, "epilogue\n", root->epilogue_len) == 0);
	alt = root->children;
	plain = alt->children;
	html = plain->next;
	msg = alt->next;
	inner = msg->children;
	ck_assert_str_eq(plain->ct.type, "text");
	ck_assert_str_eq(plain->ct.subtype, "plain");
	ck_assert_uint_eq(plain->body_len, strlen("plain default"));
	ck_assert_str_eq(html->encoding, "quoted-printable");
	ck_assert_ptr_null(html->next);
	ck_assert_ptr_nonnull(inner);
	ck_assert_uint_eq(inner->depth, 2);
	ck_assert_str_eq(message_header_get(&inner->header, "subject", 0)->value, "inner message");
	mime_part_decoded(html, nested, 1, &out);
	ck_assert_str_eq(out.data, "<p>Köln</p>");
	sbuf_free(&out);
	for (p = root; p != NULL; p = mime_part_next(p, root))
		n++;
	ck_assert_int_eq(n, 6);
	/* A walk below a part stays below it. */
	n = 0;
	for (p = mime_part_next(alt, alt); p != NULL; p = mime_part_next(p, alt))
		n++;
	ck_assert_int_eq(n, 2);
	mime_part_free(&root);
	ck_assert_ptr_null(root);
}
END_TEST

START_TEST(test_tree_limits)
{
	struct message_limits limits;
	struct mime_part *root;
	struct sbuf deep = {0};
	const char *error;
	int i, n = 0;
	const struct mime_part *p;

	/* 50 nested multiparts: parsing stops descending at the depth limit. */
	for (i = 0; i < 50; i++)
		sbuf_appendf(&deep, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	sbuf_append_str(&deep, "\nleaf\n");
	message_limits_default(&limits);
	limits.max_mime_depth = 5;
	ck_assert_int_eq(mime_parse(deep.data, deep.len, &limits, &root, &error), 0);
	for (p = root; p != NULL; p = mime_part_next(p, root)) {
		ck_assert_uint_le(p->depth, 5);
		n++;
	}
	ck_assert_int_eq(n, 6);
	mime_part_free(&root);

	/* Many parts: at most max_mime_parts. */
	sbuf_reset(&deep);
	sbuf_append_str(&deep, "Content-Type: multipart/mixed; boundary=x\n\n");
	for (i = 0; i < 100; i++)
		sbuf_append_str(&deep, "--x\n\npart\n");
	message_limits_default(&limits);
	limits.max_mime_parts = 10;
	ck_assert_int_eq(mime_parse(deep.data, deep.len, &limits, &root, &error), 0);
	n = 0;
	for (p = root; p != NULL; p = mime_part_next(p, root))
		n++;
	ck_assert_int_eq(n, 10);
	mime_part_free(&root);

	/* A boundary longer than the limit: not split. */
	sbuf_reset(&deep);
	sbuf_append_str(&deep, "Content-Type: multipart/mixed; boundary=");
	for (i = 0; i < 300; i++)
		sbuf_append_str(&deep, "z");
	sbuf_append_str(&deep, "\n\n--zzz\n\nx\n");
	ck_assert_int_eq(mime_parse(deep.data, deep.len, NULL, &root, &error), 0);
	ck_assert_ptr_null(root->children);
	mime_part_free(&root);
	sbuf_free(&deep);
}
END_TEST

START_TEST(test_tree_oddities)
{
	static const char unterminated[] = "Content-Type: multipart/mixed; boundary=b\n\n"
	                                   "--b\n\nfirst\n--bx not a delimiter\n--b\n\nlast";
	static const char digest[] = "Content-Type: multipart/digest; boundary=d\n\n"
	                             "--d\n\nSubject: in digest\n\nx\n--d--\n";
	struct mime_part *root;
	const char *error;

	ck_assert_int_eq(mime_parse(unterminated, strlen(unterminated), NULL, &root, &error), 0);
	ck_assert_ptr_nonnull(root->children);
	ck_assert(memcmp(unterminated + root->children->body_offset, "first\n--bx not a delimiter",
	                 root->children->body_len) == 0);
	ck_assert(memcmp(unterminated + root->children->next->body_offset, "last",
	                 root->children->next->body_len) == 0);
	ck_assert_uint_eq(root->epilogue_len, 0);
	mime_part_free(&root);

	ck_assert_int_eq(mime_parse(digest, strlen(digest), NULL, &root, &error), 0);
	ck_assert_str_eq(root->children->ct.type, "message");
	ck_assert_ptr_nonnull(root->children->children);
	mime_part_free(&root);

	ck_assert_int_eq(mime_parse("", 0, NULL, &root, &error), 0);
	ck_assert_str_eq(root->ct.type, "text");
	mime_part_free(&root);
}
END_TEST

static Suite *mime_suite(void)
{
	Suite *s = suite_create("mime");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_content_type);
	tcase_add_test(tc, test_encoded_words);
	tcase_add_test(tc, test_encode_words);
	tcase_add_test(tc, test_transfer_encodings);
	tcase_add_test(tc, test_charsets);
	tcase_add_test(tc, test_tree);
	tcase_add_test(tc, test_tree_limits);
	tcase_add_test(tc, test_tree_oddities);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mime_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
