/*
 * test_report.c - verdicts, exit codes and the two output formats.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_report
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static void
add(struct report *rep, enum check_type type, enum check_status status,
    const char *name)
{
	struct check_result *c = &rep->checks[rep->nchecks++];

	memset(c, 0, sizeof(*c));
	c->type = type;
	c->status = status;
	snprintf(c->name, sizeof(c->name), "%s", name);
}

/* render - print into a memory buffer; caller frees. */
static char *
render(const struct report *rep, int json, int color)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(fp);
	if (json)
		report_print_json(fp, rep);
	else
		report_print_text(fp, rep, color);
	fclose(fp);
	return buf;
}

START_TEST(test_verdicts)
{
	static struct report rep;

	memset(&rep, 0, sizeof(rep));
	ck_assert_int_eq(report_verdict(&rep), VERDICT_NOT_READY);
	add(&rep, CHECK_MX, CHECK_PASS, "mail.example.com");
	ck_assert_int_eq(report_exit_code(&rep), 0);
	add(&rep, CHECK_DKIM, CHECK_TEMPERROR, "s._domainkey.example.com");
	ck_assert_int_eq(report_exit_code(&rep), 2);
	add(&rep, CHECK_DMARC, CHECK_MISSING, "_dmarc.example.com");
	ck_assert_int_eq(report_exit_code(&rep), 1);
	rep.checks[2].status = CHECK_FAIL;
	ck_assert_int_eq(report_verdict(&rep), VERDICT_NOT_READY);
}
END_TEST

START_TEST(test_json_shape_and_escaping)
{
	static struct report rep;
	char *out;

	memset(&rep, 0, sizeof(rep));
	snprintf(rep.domain, sizeof(rep.domain), "example.com");
	add(&rep, CHECK_DMARC, CHECK_FAIL, "_dmarc.example.com");
	check_result_seen(&rep.checks[0],
	                  (const unsigned char *)"v=DMARC1; p=\"x\\\r\n\0", 18);
	check_result_set(&rep.checks[0], CHECK_FAIL, "say \"%s\"", "hi");
	snprintf(rep.checks[0].warning, sizeof(rep.checks[0].warning),
	         "aspf=s: \"fix\"");
	snprintf(rep.org, sizeof(rep.org), "example.com");
	out = render(&rep, 1, 0);
	ck_assert_str_eq(
	    out,
	    "{\"domain\": \"example.com\", \"ready\": false, "
	    "\"verdict\": \"not-ready\", "
	    "\"organizational_domain\": \"example.com\", "
	    "\"checks\": [{\"type\": \"dmarc\", "
	    "\"name\": \"_dmarc.example.com\", \"status\": \"fail\", "
	    "\"expected\": \"\", "
	    "\"seen\": \"v=DMARC1; p=\\\"x\\\\\\\\\\\\x0d\\\\x0a\\\\x00\", "
	    "\"detail\": \"say \\\"hi\\\"\", "
	    "\"warning\": \"aspf=s: \\\"fix\\\"\"}]}\n");
	free(out);
}
END_TEST

START_TEST(test_text_table)
{
	static struct report rep;
	char *out;

	memset(&rep, 0, sizeof(rep));
	snprintf(rep.domain, sizeof(rep.domain), "example.com");
	add(&rep, CHECK_MX, CHECK_PASS, "mail.example.com");
	add(&rep, CHECK_DKIM, CHECK_MISSING,
	    "a-very-long-selector-name-that-is-cut-somewhere._domainkey."
	    "example.com");
	out = render(&rep, 0, 0);
	ck_assert_ptr_nonnull(strstr(out, "NAME"));
	ck_assert_ptr_nonnull(strstr(out, "STATUS"));
	ck_assert_ptr_nonnull(
	    strstr(out, "a-very-long-selector-name-that-is-cut-somewhe..."));
	ck_assert_ptr_nonnull(strstr(out, "example.com: NOT ready"));
	ck_assert_ptr_nonnull(strstr(out, "(1 of 2 checks pass)"));
	ck_assert_ptr_null(strchr(out, '\033'));
	free(out);
	out = render(&rep, 0, 1);
	ck_assert_ptr_nonnull(strchr(out, '\033'));
	free(out);
}
END_TEST

/* A warning is its own line under the detail; the org domain is named. */
START_TEST(test_text_warning)
{
	static struct report rep;
	char *out;

	memset(&rep, 0, sizeof(rep));
	snprintf(rep.domain, sizeof(rep.domain), "example.com");
	add(&rep, CHECK_DMARC, CHECK_PASS, "_dmarc.example.com");
	out = render(&rep, 0, 0);
	ck_assert_ptr_null(strstr(out, "warning:"));
	ck_assert_ptr_null(strstr(out, "organizational domain"));
	free(out);
	snprintf(rep.checks[0].warning, sizeof(rep.checks[0].warning),
	         "rf=afrf: rf is gone");
	snprintf(rep.org, sizeof(rep.org), "example.com");
	out = render(&rep, 0, 0);
	ck_assert_ptr_nonnull(
	    strstr(out, "  dmarc warning: rf=afrf: rf is gone\n"));
	ck_assert_ptr_nonnull(strstr(
	    out, "organizational domain (RFC 9989 tree walk): example.com\n"));
	free(out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_verdicts);
	tcase_add_test(tc, test_json_shape_and_escaping);
	tcase_add_test(tc, test_text_table);
	tcase_add_test(tc, test_text_warning);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
