/*
 * test_domainname.c - domain normalization, organizational domain, joins.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_domainname
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domainname.h"

/* norm - domain_normalize on a C string; 0 or -1, out and err filled. */
static int
norm(const char *in, char *out, char *err)
{
	out[0] = '\0';
	err[0] = '\0';
	return domain_normalize(in, strlen(in), out, DOMAIN_BUF, err, 256);
}

/* ok - the name normalizes to want. */
static void
ok(const char *in, const char *want)
{
	char out[DOMAIN_BUF], err[256];

	ck_assert_msg(norm(in, out, err) == 0, "'%s': %s", in, err);
	ck_assert_str_eq(out, want);
}

/* bad - the name is refused with a message containing why. */
static void
bad(const char *in, size_t len, const char *why)
{
	char out[DOMAIN_BUF] = "untouched", err[256] = "";

	ck_assert_int_eq(
	    domain_normalize(in, len, out, sizeof(out), err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, why) != NULL, "'%s' lacks '%s'", err, why);
	ck_assert_str_eq(out, "untouched");
}

/* repeat - n copies of c followed by suffix. */
static char *
repeat(char c, size_t n, const char *suffix)
{
	size_t sl = strlen(suffix);
	char *s = malloc(n + sl + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	memcpy(s + n, suffix, sl + 1);
	return s;
}

/* name_of_len - a valid name of exactly len octets (labels of 63). */
static void
name_of_len(char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (i % 64 == 63) ? '.' : 'a';
	buf[len] = '\0';
	if (buf[len - 1] == '.') {
		buf[len - 2] = '.';
		buf[len - 1] = 'b';
	}
}

START_TEST(test_case_and_dot)
{
	ok("Example.COM", "example.com");
	ok("example.com.", "example.com");
	ok("MAIL.Example.Com.", "mail.example.com");
	ok("_dmarc.example.com", "_dmarc.example.com");
	ok("1234rpr._domainkey.example.com", "1234rpr._domainkey.example.com");
	ok("a-b.c_d.example", "a-b.c_d.example");
	ok("localhost", "localhost");
	ok("xn--bcher-kva.example", "xn--bcher-kva.example");
	ok("XN--BCHER-KVA.EXAMPLE", "xn--bcher-kva.example");
}
END_TEST

START_TEST(test_length_not_nul_terminated)
{
	char out[DOMAIN_BUF], err[256];
	const char buf[] = "example.comGARBAGE";

	ck_assert_int_eq(
	    domain_normalize(buf, 11, out, sizeof(out), err, sizeof(err)), 0);
	ck_assert_str_eq(out, "example.com");
}
END_TEST

START_TEST(test_idn)
{
	ok("b\xc3\xbc"
	   "cher.example",
	   "xn--bcher-kva.example");
	ok("B\xc3\x9c"
	   "CHER.Example.",
	   "xn--bcher-kva.example");
	ok("_dmarc.b\xc3\xbc"
	   "cher.example",
	   "_dmarc.xn--bcher-kva.example");
	/* non-transitional: sharp s stays an s-sharp A-label */
	ok("fa\xc3\x9f.de", "xn--fa-hia.de");
	/* NFC: u + combining diaeresis is the same name */
	ok("bu\xcc\x88"
	   "cher.example",
	   "xn--bcher-kva.example");
	/* ideographic full stop separates labels */
	ok("b\xc3\xbc"
	   "cher\xe3\x80\x82"
	   "example",
	   "xn--bcher-kva.example");
}
END_TEST

START_TEST(test_idn_invalid)
{
	/* invalid UTF-8 */
	bad("\xff\xfe.example", 10, "not a valid internationalized");
	/* emoji are disallowed by IDNA2008 */
	bad("\xf0\x9f\x98\x80.example", 12, "not a valid internationalized");
	/* hyphen at the edge of a U-label */
	bad("-\xc3\xa4.example", 11, "not a valid internationalized");
	/* ZWJ without context */
	bad("\xe2\x80\x8d.example", 11, "not a valid internationalized");
	/* space survives TR46 mapping; our label check catches it */
	bad("a b.ex\xc3\xa4mple", 12, "contains ' '");
	/* a trailing ideographic full stop after the ASCII dot was stripped */
	bad("b\xc3\xbc"
	    "cher.example\xe3\x80\x82.",
	    19, "empty label");
}
END_TEST

START_TEST(test_label_length)
{
	char *s63 = repeat('a', 63, ".example");
	char *s64 = repeat('a', 64, ".example");
	char *s70 = repeat('x', 70, ".example");
	char out[DOMAIN_BUF], err[256];

	ok(s63, s63);
	bad(s64, strlen(s64), "is 64 octets; at most 63 allowed");
	ck_assert_int_eq(norm(s70, out, err), -1);
	ck_assert_msg(strstr(err,
	                     "label 'xxxxxxxxxxxxxxxxxxxx...' is 70 octets; "
	                     "at most 63 allowed") != NULL,
	              "%s", err);
	free(s63);
	free(s64);
	free(s70);
}
END_TEST

START_TEST(test_total_length)
{
	char name[300], dotted[300], out[DOMAIN_BUF], err[256];

	name_of_len(name, 253);
	ck_assert_uint_eq(strlen(name), 253);
	ok(name, name);
	/* 253 plus the trailing dot is still 253 */
	snprintf(dotted, sizeof(dotted), "%s.", name);
	ok(dotted, name);
	name_of_len(name, 254);
	ck_assert_int_eq(norm(name, out, err), -1);
	ck_assert_msg(strstr(err, "254 octets; at most 253") != NULL, "%s",
	              err);
	name_of_len(name, 290);
	ck_assert_int_eq(norm(name, out, err), -1);
	ck_assert_msg(strstr(err, "290 octets; at most 253") != NULL, "%s",
	              err);
}
END_TEST

/* idn_name - 3 labels of 63 'a', one of nb 'b', then U-label "ä". */
static void
idn_name(char *buf, size_t nb)
{
	size_t n = 0, i;

	for (i = 0; i < 3; i++) {
		memset(buf + n, 'a', 63);
		n += 63;
		buf[n++] = '.';
	}
	memset(buf + n, 'b', nb);
	n += nb;
	memcpy(buf + n, ".\xc3\xa4", 4);
}

START_TEST(test_total_length_idn)
{
	char in[400], out[DOMAIN_BUF], err[256], *big;
	size_t n = 0, i;

	/* the A-label form ("xn--4ca") is 253 octets: accepted */
	idn_name(in, 53);
	ck_assert_msg(norm(in, out, err) == 0, "%s", err);
	ck_assert_uint_eq(strlen(out), 253);
	ck_assert_str_eq(out + 245, ".xn--4ca");
	/* 254 octets only after conversion (libidn2 refuses it itself) */
	idn_name(in, 54);
	ck_assert_int_eq(norm(in, out, err), -1);
	ck_assert_msg(strstr(err, "longer") != NULL ||
	                  strstr(err, "254 octets") != NULL,
	              "%s", err);
	/* 40 labels "\xc3\xa4." grow from 120 to 320 octets */
	for (i = 0; i < 40; i++) {
		in[n++] = '\xc3';
		in[n++] = '\xa4';
		in[n++] = '.';
	}
	memcpy(in + n, "example", 8);
	ck_assert_int_eq(norm(in, out, err), -1);
	ck_assert_msg(strstr(err, "internationalized") != NULL, "%s", err);
	/* a U-label whose A-label exceeds 63 octets */
	for (n = 0; n < 62; n++)
		in[n] = (char)('a' + n % 26);
	memcpy(in + n, "\xc3\xa4.example", 11);
	ck_assert_int_eq(norm(in, out, err), -1);
	/* input far beyond any name, even in U-labels */
	big = malloc(1101);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i < 1100; i++)
		big[i] = (i % 2 == 0) ? 'a' : '.';
	big[1100] = '\0';
	ck_assert_int_eq(norm(big, out, err), -1);
	ck_assert_msg(strstr(err, "1099 octets; at most 253") != NULL, "%s",
	              err);
	free(big);
}
END_TEST

START_TEST(test_output_too_small)
{
	char out[8] = "", err[256];

	ck_assert_int_eq(domain_normalize("example.com", 11, out, sizeof(out),
	                                  err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "output buffer"));
	ck_assert_int_eq(
	    domain_normalize("example.com", 11, out, 0, err, sizeof(err)), -1);
	/* exactly enough */
	ck_assert_int_eq(domain_normalize("abc.de.", 7, out, 7, err, 256), 0);
	ck_assert_str_eq(out, "abc.de");
}
END_TEST

START_TEST(test_empty_labels)
{
	bad("", 0, "empty");
	bad(".", 1, "empty");
	bad("..", 2, "starts with a dot");
	bad(".example.com", 12, "starts with a dot");
	bad("a..b", 4, "empty label");
	bad("example.com..", 13, "empty label");
	bad("example..com.", 13, "empty label");
	bad("\xc3\xbc..example", 11, "empty label");
	bad("\xc3\xbc.example..", 12, "empty label");
}
END_TEST

START_TEST(test_nul_and_controls)
{
	bad("exa\0mple.com", 12, "NUL");
	bad("example.com\0", 12, "NUL");
	bad("example.com\r\n", 13, "control character \\x0d");
	bad("exa\nmple.com", 12, "\\x0a");
	bad("\x1b[31mred.example", 16, "\\x1b");
	bad("example.com\x7f", 12, "control character \\x7f");
	bad("a\tb.example", 11, "\\x09");
}
END_TEST

START_TEST(test_bad_characters)
{
	bad("exa mple.com", 12, "label 'exa mple' contains ' '");
	bad("*.example.com", 13, "contains '*'");
	bad("user@example.com", 16, "contains '@'");
	bad("exa/mple.com", 12, "contains '/'");
	bad("ex\\ample.com", 12, "contains '\\\\'");
	bad("-mail.example.com", 17, "label '-mail' starts with a hyphen");
	bad("mail-.example.com", 17, "label 'mail-' ends with a hyphen");
	bad("example.-", 9, "starts with a hyphen");
	ok("_-x.example", "_-x.example");
}
END_TEST

START_TEST(test_err_buffer_small)
{
	char out[DOMAIN_BUF], err[4];

	ck_assert_int_eq(
	    domain_normalize("a..b", 4, out, sizeof(out), err, sizeof(err)),
	    -1);
	ck_assert_uint_lt(strlen(err), sizeof(err));
	ck_assert_int_eq(domain_normalize("a..b", 4, out, sizeof(out), NULL, 0),
	                 -1);
}
END_TEST

/* org - domain_org into a buffer; returns rc. */
static int
org(const char *name, char *out)
{
	out[0] = '\0';
	return domain_org(name, out, DOMAIN_BUF);
}

START_TEST(test_org)
{
	char out[DOMAIN_BUF];

	ck_assert_int_eq(org("example.com", out), 0);
	ck_assert_str_eq(out, "example.com");
	ck_assert_int_eq(org("mail.example.com", out), 0);
	ck_assert_str_eq(out, "example.com");
	ck_assert_int_eq(org("_dmarc.mail.example.com", out), 0);
	ck_assert_str_eq(out, "example.com");
	ck_assert_int_eq(org("a.b.example.co.uk", out), 0);
	ck_assert_str_eq(out, "example.co.uk");
	ck_assert_int_eq(org("example.co.uk", out), 0);
	ck_assert_str_eq(out, "example.co.uk");
	ck_assert_int_eq(org("mail.xn--bcher-kva.de", out), 0);
	ck_assert_str_eq(out, "xn--bcher-kva.de");
}
END_TEST

START_TEST(test_org_public_suffix)
{
	char out[DOMAIN_BUF] = "untouched";

	ck_assert_int_eq(domain_org("co.uk", out, sizeof(out)), -1);
	ck_assert_int_eq(domain_org("com", out, sizeof(out)), -1);
	ck_assert_int_eq(domain_org("uk", out, sizeof(out)), -1);
	ck_assert_int_eq(domain_org("localhost", out, sizeof(out)), -1);
	ck_assert_int_eq(domain_org("", out, sizeof(out)), -1);
	ck_assert_int_eq(domain_org(NULL, out, sizeof(out)), -1);
}
END_TEST

START_TEST(test_org_small_buffer)
{
	char out[8];

	ck_assert_int_eq(domain_org("mail.example.com", out, sizeof(out)), -1);
	ck_assert_int_eq(domain_org("mail.example.com", out, 0), -1);
	ck_assert_int_eq(domain_org("a.b.c", out, 4), 0);
	ck_assert_str_eq(out, "b.c");
}
END_TEST

START_TEST(test_is_below)
{
	ck_assert(domain_is_below("mail.example.com", "example.com"));
	ck_assert(domain_is_below("a.b.example.com", "example.com"));
	ck_assert(domain_is_below("MAIL.Example.COM", "example.com"));
	ck_assert(domain_is_below("mail.example.com", "EXAMPLE.com"));
	ck_assert(domain_is_below("mail.example.com.", "example.com"));
	ck_assert(domain_is_below("mail.example.com", "example.com."));
	ck_assert(domain_is_below("x.com", "com"));

	ck_assert(!domain_is_below("example.com", "example.com"));
	ck_assert(!domain_is_below("example.com.", "example.com"));
	ck_assert(!domain_is_below("notexample.com", "example.com"));
	ck_assert(!domain_is_below("mail.notexample.com", "example.com"));
	ck_assert(!domain_is_below("example.com", "mail.example.com"));
	ck_assert(!domain_is_below("example.com.evil", "example.com"));
	ck_assert(!domain_is_below(".example.com", "example.com"));
	ck_assert(!domain_is_below("a..example.com", "example.com"));
	ck_assert(!domain_is_below("com", "com"));
	ck_assert(!domain_is_below("example.com", ""));
	ck_assert(!domain_is_below("example.com", "."));
	ck_assert(!domain_is_below("example.com", ".com"));
	ck_assert(!domain_is_below("", "example.com"));
	ck_assert(!domain_is_below(NULL, "example.com"));
	ck_assert(!domain_is_below("example.com", NULL));
}
END_TEST

START_TEST(test_join)
{
	char out[DOMAIN_BUF], small[12];
	char *label = repeat('a', 63, "");
	char parent[300];

	ck_assert_int_eq(domain_join("_dmarc", "example.com", out, sizeof(out)),
	                 0);
	ck_assert_str_eq(out, "_dmarc.example.com");
	ck_assert_int_eq(
	    domain_join("1234rpr._domainkey", "example.com.", out, sizeof(out)),
	    0);
	ck_assert_str_eq(out, "1234rpr._domainkey.example.com");
	/* "mail.example.com" is 16 octets: needs 17 */
	ck_assert_int_eq(
	    domain_join("mail", "example.com", small, sizeof(small)), -1);
	ck_assert_int_eq(domain_join("mail", "example.com", out, 17), 0);
	ck_assert_int_eq(domain_join("mail", "example.com", out, 16), -1);
	ck_assert_int_eq(domain_join("", "example.com", out, sizeof(out)), -1);
	ck_assert_int_eq(domain_join("mail", "", out, sizeof(out)), -1);
	ck_assert_int_eq(domain_join(".mail", "example.com", out, sizeof(out)),
	                 -1);
	ck_assert_int_eq(domain_join("mail.", "example.com", out, sizeof(out)),
	                 -1);
	/* 63 + 1 + 189 = 253 fits; one more octet does not */
	name_of_len(parent, 189);
	ck_assert_int_eq(domain_join(label, parent, out, sizeof(out)), 0);
	ck_assert_uint_eq(strlen(out), 253);
	name_of_len(parent, 190);
	ck_assert_int_eq(domain_join(label, parent, out, sizeof(out)), -1);
	free(label);
}
END_TEST

static Suite *
address_suite(void)
{
	Suite *s = suite_create("domainname");
	TCase *tc = tcase_create("normalize");

	tcase_add_test(tc, test_case_and_dot);
	tcase_add_test(tc, test_length_not_nul_terminated);
	tcase_add_test(tc, test_idn);
	tcase_add_test(tc, test_idn_invalid);
	tcase_add_test(tc, test_label_length);
	tcase_add_test(tc, test_total_length);
	tcase_add_test(tc, test_total_length_idn);
	tcase_add_test(tc, test_output_too_small);
	tcase_add_test(tc, test_empty_labels);
	tcase_add_test(tc, test_nul_and_controls);
	tcase_add_test(tc, test_bad_characters);
	tcase_add_test(tc, test_err_buffer_small);
	suite_add_tcase(s, tc);
	tc = tcase_create("org");
	tcase_add_test(tc, test_org);
	tcase_add_test(tc, test_org_public_suffix);
	tcase_add_test(tc, test_org_small_buffer);
	suite_add_tcase(s, tc);
	tc = tcase_create("below_join");
	tcase_add_test(tc, test_is_below);
	tcase_add_test(tc, test_join);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(address_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
