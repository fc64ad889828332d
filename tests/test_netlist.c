/*
 * test_netlist.c - CIDR lists: parsing, errors, bounds, v4-mapped matching.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_netlist
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netlist.h"

static struct netlist nl;

/* parse - a C string into nl; asserts success. */
static void
parse(const char *text)
{
	char err[256] = "";

	ck_assert_msg(
	    netlist_parse(&nl, text, strlen(text), err, sizeof(err)) == 0,
	    "%s: %s", text, err);
}

/* parse_bad - the text is refused, err quotes want, nl is unchanged. */
static void
parse_bad(const char *text, size_t len, const char *want)
{
	struct netlist before;
	char err[256] = "";

	netlist_loopback(&nl);
	before = nl;
	ck_assert_int_eq(netlist_parse(&nl, text, len, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, want) != NULL, "'%s' lacks '%s'", err, want);
	ck_assert_int_eq(memcmp(&nl, &before, sizeof(nl)), 0);
}

START_TEST(test_example_list)
{
	parse("127.0.0.0/8, ::1, 192.0.2.0/24, 2001:db8::/32");
	ck_assert_uint_eq(nl.count, 4);
	ck_assert(netlist_match_text(&nl, "127.0.0.1"));
	ck_assert(netlist_match_text(&nl, "127.255.255.255"));
	ck_assert(netlist_match_text(&nl, "::1"));
	ck_assert(netlist_match_text(&nl, "192.0.2.0"));
	ck_assert(netlist_match_text(&nl, "192.0.2.255"));
	ck_assert(netlist_match_text(&nl, "2001:db8::1"));
	ck_assert(netlist_match_text(&nl, "2001:db8:ffff:ffff::1"));
	ck_assert(!netlist_match_text(&nl, "128.0.0.1"));
	ck_assert(!netlist_match_text(&nl, "126.255.255.255"));
	ck_assert(!netlist_match_text(&nl, "192.0.3.1"));
	ck_assert(!netlist_match_text(&nl, "::2"));
	ck_assert(!netlist_match_text(&nl, "2001:db9::1"));
	ck_assert(!netlist_match_text(&nl, "not an address"));
	ck_assert(!netlist_match_text(&nl, ""));
	ck_assert(!netlist_match_text(&nl, NULL));
}
END_TEST

START_TEST(test_v4_mapped)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;

	parse("192.0.2.0/24");
	ck_assert(netlist_match_text(&nl, "::ffff:192.0.2.9"));
	ck_assert(!netlist_match_text(&nl, "::ffff:192.0.3.9"));
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:192.0.2.200", &s6.sin6_addr);
	ck_assert(netlist_match(&nl, (struct sockaddr *)&s6));
	/* the IPv4-compatible (deprecated) form is not mapped */
	inet_pton(AF_INET6, "::192.0.2.200", &s6.sin6_addr);
	ck_assert(!netlist_match(&nl, (struct sockaddr *)&s6));
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &s4.sin_addr);
	ck_assert(netlist_match(&nl, (struct sockaddr *)&s4));
	inet_pton(AF_INET, "198.51.100.1", &s4.sin_addr);
	ck_assert(!netlist_match(&nl, (struct sockaddr *)&s4));

	/* a mapped entry matches IPv4 clients too */
	parse("::ffff:198.51.100.0/120");
	ck_assert(netlist_match(&nl, (struct sockaddr *)&s4));
	ck_assert(netlist_match_text(&nl, "198.51.100.77"));
	ck_assert(!netlist_match_text(&nl, "198.51.101.77"));
	/* "any IPv6" does not silently mean "any IPv4" */
	parse("::/0");
	ck_assert(netlist_match_text(&nl, "2001:db8::1"));
	ck_assert(!netlist_match_text(&nl, "192.0.2.1"));
	ck_assert(!netlist_match_text(&nl, "::ffff:192.0.2.1"));
	parse("0.0.0.0/0");
	ck_assert(netlist_match_text(&nl, "203.0.113.5"));
	ck_assert(netlist_match_text(&nl, "::ffff:203.0.113.5"));
	ck_assert(!netlist_match_text(&nl, "2001:db8::1"));
}
END_TEST

START_TEST(test_sockaddr_kinds)
{
	struct sockaddr_un su;
	struct sockaddr_in6 s6;

	netlist_loopback(&nl);
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_addr = in6addr_loopback;
	ck_assert(netlist_match(&nl, (struct sockaddr *)&s6));
	ck_assert(netlist_match_text(&nl, "127.0.0.1"));
	ck_assert(netlist_match_text(&nl, "127.1.2.3"));
	ck_assert(!netlist_match_text(&nl, "10.0.0.1"));
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	ck_assert(!netlist_match(&nl, (struct sockaddr *)&su));
	ck_assert(!netlist_match(&nl, NULL));
	netlist_init(&nl);
	ck_assert(!netlist_match(&nl, (struct sockaddr *)&s6));
}
END_TEST

START_TEST(test_forms)
{
	/* bare addresses, brackets, comments, newlines, prefix edges */
	parse("192.0.2.5 [2001:db8::7]\n# a comment, with commas\n"
	      "[2001:db8:1::]/48,\t198.51.100.0/32 # trailing\r\n");
	ck_assert_uint_eq(nl.count, 4);
	ck_assert(netlist_match_text(&nl, "192.0.2.5"));
	ck_assert(!netlist_match_text(&nl, "192.0.2.6"));
	ck_assert(netlist_match_text(&nl, "2001:db8::7"));
	ck_assert(!netlist_match_text(&nl, "2001:db8::8"));
	ck_assert(netlist_match_text(&nl, "2001:db8:1:ffff::1"));
	ck_assert(netlist_match_text(&nl, "198.51.100.0"));
	ck_assert(!netlist_match_text(&nl, "198.51.100.1"));
	/* odd prefix lengths compare the partial octet */
	parse("10.0.0.0/9, 2001:db8:8000::/33");
	ck_assert(netlist_match_text(&nl, "10.127.255.255"));
	ck_assert(!netlist_match_text(&nl, "10.128.0.0"));
	ck_assert(netlist_match_text(&nl, "2001:db8:ffff::1"));
	ck_assert(!netlist_match_text(&nl, "2001:db8:7fff::1"));
	parse("");
	ck_assert_uint_eq(nl.count, 0);
	parse(" , ,\n# only a comment");
	ck_assert_uint_eq(nl.count, 0);
}
END_TEST

START_TEST(test_negation)
{
	/* an exclusion wins wherever it is in the list */
	parse("!192.0.2.5, 192.0.2.0/24");
	ck_assert(netlist_match_text(&nl, "192.0.2.4"));
	ck_assert(!netlist_match_text(&nl, "192.0.2.5"));
	parse("192.0.2.0/24, !192.0.2.128/25");
	ck_assert(netlist_match_text(&nl, "192.0.2.127"));
	ck_assert(!netlist_match_text(&nl, "192.0.2.200"));
	parse("!10.0.0.1");
	ck_assert(!netlist_match_text(&nl, "10.0.0.1"));
	ck_assert(!netlist_match_text(&nl, "10.0.0.2"));
}
END_TEST

START_TEST(test_errors)
{
	char nul[] = "127.0.0.1\0garbage";
	char big[NETLIST_ENTRY_MAX + 10];

	parse_bad("127.0.0.0/8, example.com", 24, "'example.com'");
	parse_bad("192.0.2.0/33", 12, "0..32");
	parse_bad("2001:db8::/129", 14, "0..128");
	parse_bad("192.0.2.1/24", 12, "past its prefix");
	parse_bad("2001:db8::1/32", 14, "past its prefix");
	parse_bad("1.2.3", 5, "'1.2.3'");
	parse_bad("1.2.3.256", 9, "'1.2.3.256'");
	parse_bad("[1.2.3.4]", 9, "brackets");
	parse_bad("/24", 3, "'/24'");
	parse_bad("192.0.2.0/", 10, "0..32");
	parse_bad("192.0.2.0/-1", 12, "0..32");
	parse_bad("192.0.2.0/+8", 12, "0..32");
	parse_bad("192.0.2.0/24x", 13, "0..32");
	parse_bad("192.0.2.0/0024", 14, "0..32");
	parse_bad("::1/1a", 6, "0..128");
	parse_bad("!", 1, "'!'");
	parse_bad("!!1.2.3.4", 9, "'!!1.2.3.4'");
	parse_bad("[::1", 4, "'[::1'");
	parse_bad(nul, sizeof(nul) - 1, "\\x00");
	parse_bad("10.0.0.1\x1b[2J", 12, "\\x1b");
	memset(big, '1', sizeof(big));
	parse_bad(big, sizeof(big), "not an IPv4 or IPv6");
}
END_TEST

START_TEST(test_length_respected)
{
	/* the parser stops at len: "127.0.0.1" followed by junk */
	const char text[] = "127.0.0.1junk";
	char err[128];

	ck_assert_int_eq(netlist_parse(&nl, text, 9, err, sizeof(err)), 0);
	ck_assert_uint_eq(nl.count, 1);
	ck_assert(netlist_match_text(&nl, "127.0.0.1"));
	ck_assert(!netlist_match_text(&nl, "127.0.0.2"));
	ck_assert_int_eq(netlist_parse(&nl, text, 0, err, sizeof(err)), 0);
	ck_assert_uint_eq(nl.count, 0);
}
END_TEST

START_TEST(test_bounded)
{
	char *text = malloc(NETLIST_MAX * 24 + 32), err[256];
	size_t n = 0, i;

	ck_assert_ptr_nonnull(text);
	for (i = 0; i < NETLIST_MAX; i++)
		n += (size_t)sprintf(text + n, "10.%zu.%zu.0/24,", i / 256,
		                     i % 256);
	ck_assert_int_eq(netlist_parse(&nl, text, n, err, sizeof(err)), 0);
	ck_assert_uint_eq(nl.count, NETLIST_MAX);
	ck_assert(netlist_match_text(&nl, "10.0.255.1"));
	n += (size_t)sprintf(text + n, "192.0.2.1");
	ck_assert_int_eq(netlist_parse(&nl, text, n, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "'192.0.2.1'") && strstr(err, "full"), "%s",
	              err);
	/* unchanged on error */
	ck_assert_uint_eq(nl.count, NETLIST_MAX);
	ck_assert_int_eq(netlist_add(&nl, "::1", 3, err, sizeof(err)), -1);
	free(text);
}
END_TEST

static Suite *
netlist_suite(void)
{
	Suite *s = suite_create("netlist");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_example_list);
	tcase_add_test(tc, test_v4_mapped);
	tcase_add_test(tc, test_sockaddr_kinds);
	tcase_add_test(tc, test_forms);
	tcase_add_test(tc, test_negation);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_length_respected);
	tcase_add_test(tc, test_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(netlist_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
