/*
 * test_mx.c - the MX check of the MAIL FROM domain.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_mx
 *
 * DESCRIPTION
 *	Answers come from fake_answer(); every DNS outcome, null MX (RFC 7505),
 *	expected-host matching (case, trailing dot, look-alike names), ordering
 *	of several MX and hostile exchange names are covered.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"
#include "fake_answer.h"
#include "mx.h"
#include "report.h"

#define QNAME "mail.example.com"

/* run - evaluate n MX values ("PREF HOST") for QNAME. */
static void
run(enum dns_outcome o, size_t n, const char *const *v, const char *host,
    struct check_result *res)
{
	struct dns_answer a;

	fake_answer(&a, QNAME, DNS_TYPE_MX, o, n, v);
	memset(res, 0, sizeof(*res));
	snprintf(res->name, sizeof(res->name), "caller's name");
	mx_evaluate(&a, host, res);
	dns_answer_free(&a);
}

/* has - the detail contains needle. */
static void
has(const struct check_result *res, const char *needle)
{
	ck_assert_msg(strstr(res->detail, needle) != NULL,
	              "detail \"%s\" lacks \"%s\"", res->detail, needle);
}

START_TEST(pass_any)
{
	const char *v[] = {"10 mx.example.net"};
	struct check_result res;

	run(DNS_OK, 1, v, NULL, &res);
	ck_assert_int_eq(res.type, CHECK_MX);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_str_eq(res.expected, "an MX record");
	ck_assert_str_eq(res.seen, "10 mx.example.net");
	ck_assert_str_eq(res.name, "caller's name");
	run(DNS_OK, 1, v, "", &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_str_eq(res.expected, "an MX record");
}
END_TEST

START_TEST(several_sorted)
{
	const char *v[] = {"20 b.example.com", "10 a.example.com",
	                   "30 d.example.com", "10 c.example.com",
	                   "0 z.example.com"};
	struct check_result res;

	run(DNS_OK, 5, v, NULL, &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_str_eq(res.seen, "0 z.example.com, 10 a.example.com, "
	                           "10 c.example.com, 20 b.example.com, "
	                           "30 d.example.com");
	run(DNS_OK, 5, v, "d.example.com", &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_str_eq(res.expected, "MX pointing to d.example.com");
}
END_TEST

START_TEST(duplicate_entries_listed)
{
	const char *v[] = {"10 a.example.com", "10 a.example.com"};
	struct check_result res;

	run(DNS_OK, 2, v, NULL, &res);
	ck_assert_str_eq(res.seen, "10 a.example.com, 10 a.example.com");
}
END_TEST

static const struct {
	const char *exchange;
	const char *expect;
	enum check_status want;
} host_cases[] = {
    {"10 mx.example.net", "mx.example.net", CHECK_PASS},
    {"10 mx.example.net", "MX.Example.NET", CHECK_PASS},
    {"10 mx.example.net", "mx.example.net.", CHECK_PASS},
    {"10 mx.example.net.", "mx.example.net", CHECK_PASS},
    {"10 MX.EXAMPLE.NET.", "mx.example.net.", CHECK_PASS},
    {"10 mx.example.net", "example.net", CHECK_FAIL},
    {"10 evilmx.example.net", "mx.example.net", CHECK_FAIL},
    {"10 mx.example.net.evil", "mx.example.net", CHECK_FAIL},
    {"10 mx.example.net", "mx.example.net..", CHECK_FAIL},
    {"10 mx.example.ne", "mx.example.net", CHECK_FAIL},
};

START_TEST(expected_host)
{
	const char *v[1] = {host_cases[_i].exchange};
	struct check_result res;

	run(DNS_OK, 1, v, host_cases[_i].expect, &res);
	ck_assert_msg(res.status == host_cases[_i].want, "%s vs %s: %s",
	              host_cases[_i].exchange, host_cases[_i].expect,
	              res.detail);
}
END_TEST

START_TEST(expected_host_mismatch_detail)
{
	const char *v[] = {"20 b.example.org", "10 a.example.org"};
	struct check_result res;

	run(DNS_OK, 2, v, "feedback-smtp.example.net", &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	ck_assert_str_eq(res.expected,
	                 "MX pointing to feedback-smtp.example.net");
	has(&res, "no MX of mail.example.com points to "
	          "feedback-smtp.example.net; found 10 a.example.org, "
	          "20 b.example.org");
}
END_TEST

START_TEST(expected_host_among_several)
{
	const char *v[] = {"10 a.example.org", "20 feedback-smtp.example.net",
	                   "30 c.example.org"};
	struct check_result res;

	run(DNS_OK, 3, v, "Feedback-SMTP.example.net.", &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	has(&res, "points to Feedback-SMTP.example.net.");
}
END_TEST

START_TEST(missing)
{
	struct check_result res;

	run(DNS_NXDOMAIN, 0, NULL, "mx.example.net", &res);
	ck_assert_int_eq(res.status, CHECK_MISSING);
	ck_assert_str_eq(res.detail, "Publish an MX record for "
	                             "mail.example.com (e.g. mail.example.com "
	                             "MX 10 mx.example.net).");
	ck_assert_str_eq(res.seen, "");
	ck_assert_str_eq(res.name, "caller's name");
	run(DNS_NODATA, 0, NULL, "mx.example.net", &res);
	ck_assert_int_eq(res.status, CHECK_MISSING);
	run(DNS_OK, 0, NULL, "mx.example.net", &res);
	ck_assert_int_eq(res.status, CHECK_MISSING);
	run(DNS_NXDOMAIN, 0, NULL, NULL, &res);
	ck_assert_int_eq(res.status, CHECK_MISSING);
	has(&res, "Publish an MX record for mail.example.com");
}
END_TEST

START_TEST(temporary)
{
	static const enum dns_outcome t[] = {
	    DNS_SERVFAIL, DNS_REFUSED,         DNS_TIMEOUT,
	    DNS_FORMERR,  DNS_CNAME_PENDING,   DNS_CNAME_LOOP,
	    DNS_ERROR,    (enum dns_outcome)77};
	struct check_result res;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		run(t[i], 0, NULL, "mx.example.net", &res);
		ck_assert_msg(res.status == CHECK_TEMPERROR, "outcome %d",
		              (int)t[i]);
		has(&res, "DNS lookup of MX mail.example.com failed");
		has(&res, dns_outcome_name(t[i]));
	}
	memset(&res, 0, sizeof(res));
	mx_evaluate(NULL, NULL, &res);
	ck_assert_int_eq(res.type, CHECK_MX);
	ck_assert_int_eq(res.status, CHECK_TEMPERROR);
}
END_TEST

START_TEST(temporary_error_text_sanitized)
{
	struct dns_answer a;
	struct check_result res;

	dns_answer_init(&a, QNAME, DNS_TYPE_MX, DNS_ERROR,
	                "socket\n\x1b[1mclosed");
	mx_evaluate(&a, NULL, &res);
	ck_assert_int_eq(res.status, CHECK_TEMPERROR);
	ck_assert_ptr_null(strchr(res.detail, '\n'));
	ck_assert_ptr_null(strchr(res.detail, '\x1b'));
	has(&res, "socket\\x0a\\x1b[1mclosed");
}
END_TEST

START_TEST(null_mx)
{
	const char *dot[] = {"0 ."};
	const char *empty[] = {"0 "};
	struct check_result res;

	run(DNS_OK, 1, dot, NULL, &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(&res, "null MX: the domain accepts no mail");
	ck_assert_str_eq(res.seen, "0 .");
	run(DNS_OK, 1, empty, "mx.example.net", &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(&res, "null MX");
	has(&res, "mail.example.com MX 10 mx.example.net");
	ck_assert_str_eq(res.seen, "0 .");
	/* "." is not a host one can expect */
	run(DNS_OK, 1, dot, ".", &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
}
END_TEST

START_TEST(null_mx_mixed)
{
	const char *v[] = {"10 mx.example.net", "0 ."};
	struct check_result res;

	run(DNS_OK, 2, v, "mx.example.net", &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(&res, "mixes a null MX");
	ck_assert_str_eq(res.seen, "0 ., 10 mx.example.net");
}
END_TEST

START_TEST(other_types_ignored)
{
	const char *v[] = {"10 mx.example.net"};
	struct dns_answer a;
	struct check_result res;

	fake_answer(&a, QNAME, DNS_TYPE_MX, DNS_OK, 1, v);
	a.rrs[0].type = DNS_TYPE_CNAME;
	mx_evaluate(&a, "mx.example.net", &res);
	ck_assert_int_eq(res.status, CHECK_MISSING);
	dns_answer_free(&a);
}
END_TEST

START_TEST(hostile_exchange)
{
	const char *v[] = {"10 mx.example.net.evil"};
	struct dns_answer a;
	struct check_result res;

	/* "mx.example.net\0evil": the NUL must not end the comparison. */
	fake_answer(&a, QNAME, DNS_TYPE_MX, DNS_OK, 1, v);
	a.rrs[0].data[14] = '\0';
	mx_evaluate(&a, "mx.example.net", &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	ck_assert_str_eq(res.seen, "10 mx.example.net\\x00evil");
	/* control bytes */
	a.rrs[0].data[14] = '\n';
	a.rrs[0].data[15] = 0x1b;
	mx_evaluate(&a, NULL, &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_ptr_null(strchr(res.seen, '\n'));
	ck_assert_ptr_null(strchr(res.detail, '\n'));
	ck_assert_ptr_null(strchr(res.seen, '\x1b'));
	dns_answer_free(&a);
}
END_TEST

START_TEST(hostile_expected_host)
{
	const char *v[] = {"10 mx.example.net"};
	struct check_result res;
	char host[3000];

	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	host[3] = '\r';
	run(DNS_OK, 1, v, host, &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	ck_assert_ptr_null(strchr(res.expected, '\r'));
	ck_assert_ptr_null(strchr(res.detail, '\r'));
	ck_assert_uint_lt(strlen(res.expected), sizeof(res.expected));
}
END_TEST

START_TEST(many_bounded)
{
	enum { N = 300 };
	static char bufs[N][80];
	const char *v[N];
	struct check_result res;
	size_t i;

	for (i = 0; i < N; i++) {
		snprintf(bufs[i], sizeof(bufs[i]),
		         "%zu mx%03zu.a-rather-long-name.example.net", N - i,
		         i);
		v[i] = bufs[i];
	}
	run(DNS_OK, N, v, "mx000.a-rather-long-name.example.net", &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_uint_lt(strlen(res.seen), sizeof(res.seen));
	ck_assert_str_eq(res.seen + strlen(res.seen) - 3, "...");
	ck_assert(strncmp(res.seen, "1 mx299.", 8) == 0);
	run(DNS_OK, N, v, "not-there.example.net", &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	ck_assert_uint_lt(strlen(res.detail), sizeof(res.detail));
}
END_TEST

START_TEST(long_exchange_bounded)
{
	struct dns_answer a;
	struct check_result res;
	char name[DNS_NAME_TEXT_MAX + 100];
	const char *v[1] = {name};

	name[0] = '5';
	name[1] = ' ';
	memset(name + 2, 'x', sizeof(name) - 3);
	name[sizeof(name) - 1] = '\0';
	fake_answer(&a, QNAME, DNS_TYPE_MX, DNS_OK, 1, v);
	mx_evaluate(&a, NULL, &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_uint_lt(strlen(res.seen), sizeof(res.seen));
	ck_assert_uint_lt(strlen(res.detail), sizeof(res.detail));
	dns_answer_free(&a);
}
END_TEST

static Suite *
mx_suite(void)
{
	Suite *s = suite_create("mx");
	TCase *tc = tcase_create("evaluate");

	tcase_add_test(tc, pass_any);
	tcase_add_test(tc, several_sorted);
	tcase_add_test(tc, duplicate_entries_listed);
	tcase_add_loop_test(tc, expected_host, 0,
	                    (int)(sizeof(host_cases) / sizeof(*host_cases)));
	tcase_add_test(tc, expected_host_mismatch_detail);
	tcase_add_test(tc, expected_host_among_several);
	tcase_add_test(tc, missing);
	tcase_add_test(tc, temporary);
	tcase_add_test(tc, temporary_error_text_sanitized);
	tcase_add_test(tc, null_mx);
	tcase_add_test(tc, null_mx_mixed);
	tcase_add_test(tc, other_types_ignored);
	tcase_add_test(tc, hostile_exchange);
	tcase_add_test(tc, hostile_expected_host);
	tcase_add_test(tc, many_bounded);
	tcase_add_test(tc, long_exchange_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(mx_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
