/*
 * test_csv.c - the CSV reader on well-formed, odd and hostile input.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_csv
 *
 * DESCRIPTION
 *	read_all() renders everything the reader returns as one string:
 *	"L<line>[f1|f2|...]" per record and "E<line>" per bad record, so one
 *	comparison checks fields, line numbers and resynchronization together.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

#define OUT_MAX 8192

static char last_err[CSV_ERR_MAX];

/* read_all - every record of buf[0..len) rendered into out. */
static void
read_all(const char *buf, size_t len, char *out, size_t outlen)
{
	static struct csv_record rec;
	struct csv_reader rd;
	size_t used = 0, i, calls = 0;
	char err[CSV_ERR_MAX];
	int rc;

	out[0] = '\0';
	last_err[0] = '\0';
	csv_init(&rd, buf, len);
	while ((rc = csv_next(&rd, &rec, err, sizeof(err))) != 0) {
		ck_assert_uint_lt(++calls, 100000);
		if (rc < 0) {
			ck_assert_uint_gt(strlen(err), 0);
			snprintf(last_err, sizeof(last_err), "%s", err);
			used += (size_t)snprintf(out + used, outlen - used,
			                         "E%zu", rec.line);
			continue;
		}
		ck_assert_int_eq(rc, 1);
		ck_assert_uint_ge(rec.nfields, 1);
		used += (size_t)snprintf(out + used, outlen - used, "L%zu[",
		                         rec.line);
		for (i = 0; i < rec.nfields; i++) {
			ck_assert_uint_eq(strlen(rec.fields[i].value),
			                  rec.fields[i].len);
			used +=
			    (size_t)snprintf(out + used, outlen - used, "%s%s",
			                     i ? "|" : "", rec.fields[i].value);
		}
		used += (size_t)snprintf(out + used, outlen - used, "]");
		ck_assert_uint_lt(used, outlen);
	}
}

/* check_str - read a NUL-terminated text and compare the rendering. */
static void
check_str(const char *text, const char *want)
{
	char out[OUT_MAX];

	read_all(text, strlen(text), out, sizeof(out));
	ck_assert_str_eq(out, want);
}

START_TEST(test_simple)
{
	check_str("a,b,c\nd,e,f\n", "L1[a|b|c]L2[d|e|f]");
	check_str("a,b\nc,d", "L1[a|b]L2[c|d]");
	check_str("a,b\r\nc,d\r\n", "L1[a|b]L2[c|d]");
	check_str("a,b\r\nc,d", "L1[a|b]L2[c|d]");
	check_str("single", "L1[single]");
}
END_TEST

START_TEST(test_empty_input)
{
	char out[OUT_MAX];

	check_str("", "");
	check_str("\n\n\r\n", "");
	check_str("   \t \n  ", "");
	check_str("\xef\xbb\xbf", "");
	read_all(NULL, 0, out, sizeof(out));
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_empty_lines_skipped)
{
	check_str("\n\na\n  \n\r\nb\n\n", "L3[a]L6[b]");
}
END_TEST

START_TEST(test_empty_fields)
{
	check_str("a,,b,\n", "L1[a||b|]");
	check_str(",\n", "L1[|]");
	check_str("\"\"\n", "L1[]");
	check_str("a, ,b\n", "L1[a||b]");
}
END_TEST

START_TEST(test_trim)
{
	check_str("  a  ,\tb\t, \"c \" ,d e\n", "L1[a|b|c |d e]");
	check_str("\" x\"\t\r\n", "L1[ x]");
}
END_TEST

START_TEST(test_quotes)
{
	check_str("\"a,b\",\"say \"\"hi\"\"\",c\n", "L1[a,b|say \"hi\"|c]");
	check_str("\"\"\"\"\n", "L1[\"]");
	check_str("\"tab\tin\"\n", "L1[tab\tin]");
}
END_TEST

START_TEST(test_embedded_newline)
{
	check_str("x,\"line1\nline2\",y\nz\n", "L1[x|line1\nline2|y]L3[z]");
	check_str("h\r\n\"a\r\nb\r\nc\",d\r\ne\r\n",
	          "L1[h]L2[a\r\nb\r\nc|d]L5[e]");
}
END_TEST

START_TEST(test_bom)
{
	check_str("\xef\xbb\xbf"
	          "domain,mx\nexample.com,mx.example.net\n",
	          "L1[domain|mx]L2[example.com|mx.example.net]");
	/* only at the start: elsewhere it is data */
	check_str("a\n\xef\xbb\xbf"
	          "b\n",
	          "L1[a]L2[\xef\xbb\xbf"
	          "b]");
}
END_TEST

START_TEST(test_unterminated_quote_resync)
{
	check_str("a,\"b\nc,d\ne,f\n", "E1L2[c|d]L3[e|f]");
	ck_assert_str_eq(last_err, "line 1: field 2: the quoted field is "
	                           "never closed");
	check_str("ok\nx,\"", "L1[ok]E2");
}
END_TEST

START_TEST(test_stray_quote_many_lines)
{
	char buf[OUT_MAX], out[OUT_MAX * 2];
	size_t used, i;

	used = (size_t)snprintf(buf, sizeof(buf), "a,\"b\n");
	for (i = 0; i < 100; i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used,
		                         "d%zu\n", i);
	read_all(buf, used, out, sizeof(out));
	ck_assert(strncmp(out, "E1L2[d0]L3[d1]", 14) == 0);
	ck_assert_ptr_nonnull(strstr(out, "L101[d99]"));
}
END_TEST

START_TEST(test_text_after_quote)
{
	check_str("\"a\"b,c\nd\n", "E1L2[d]");
	ck_assert_str_eq(last_err, "line 1: field 1: text after the closing "
	                           "quote (0x62)");
	check_str("x,\"a\" \"b\"\ny\n", "E1L2[y]");
}
END_TEST

START_TEST(test_bare_quote)
{
	check_str("ab\"c,d\nx\n", "E1L2[x]");
	ck_assert_ptr_nonnull(strstr(last_err, "line 1: field 1: a quote "
	                                       "inside an unquoted field"));
}
END_TEST

START_TEST(test_field_limit)
{
	static char buf[CSV_FIELD_MAX + 64];
	char out[OUT_MAX * 2];
	size_t n;

	/* exactly the limit is fine */
	memset(buf, 'a', CSV_FIELD_MAX);
	memcpy(buf + CSV_FIELD_MAX, "\nok\n", 4);
	read_all(buf, CSV_FIELD_MAX + 4, out, sizeof(out));
	ck_assert_uint_eq(strlen(out), 3 + CSV_FIELD_MAX + 7);
	ck_assert(strncmp(out, "L1[aaa", 6) == 0);
	ck_assert_str_eq(out + strlen(out) - 7, "]L2[ok]");

	/* one more byte is not */
	memset(buf, 'a', CSV_FIELD_MAX + 1);
	memcpy(buf + CSV_FIELD_MAX + 1, "\nok\n", 4);
	read_all(buf, CSV_FIELD_MAX + 5, out, sizeof(out));
	ck_assert_str_eq(out, "E1L2[ok]");
	ck_assert_str_eq(
	    last_err, "line 1: field 1: the field is longer than 4096 bytes");

	/* a quoted field over the limit: the quote is suspect */
	buf[0] = '"';
	memset(buf + 1, 'q', CSV_FIELD_MAX + 10);
	n = CSV_FIELD_MAX + 11;
	memcpy(buf + n, "\"\nok\n", 5);
	read_all(buf, n + 5, out, sizeof(out));
	ck_assert_str_eq(out, "E1L2[ok]");
	ck_assert_ptr_nonnull(strstr(last_err, "closing quote missing"));
}
END_TEST

START_TEST(test_record_limit)
{
	static char buf[CSV_RECORD_MAX + 4096];
	char out[OUT_MAX];
	size_t used = 0, i;

	/* five fields of 4000 bytes: each fits, the record does not */
	for (i = 0; i < 5; i++) {
		if (i)
			buf[used++] = ',';
		memset(buf + used, 'x', 4000);
		used += 4000;
	}
	memcpy(buf + used, "\nnext\n", 6);
	used += 6;
	read_all(buf, used, out, sizeof(out));
	ck_assert_str_eq(out, "E1L2[next]");
	ck_assert_str_eq(last_err,
	                 "line 1: the record is longer than 16384 bytes");
}
END_TEST

START_TEST(test_field_count)
{
	char buf[256], out[OUT_MAX];
	size_t used = 0, i;
	struct csv_reader rd;
	static struct csv_record rec;
	char err[CSV_ERR_MAX];

	for (i = 0; i < CSV_FIELDS_MAX; i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used,
		                         "%s%zu", i ? "," : "", i);
	used += (size_t)snprintf(buf + used, sizeof(buf) - used, "\n");
	csv_init(&rd, buf, used);
	ck_assert_int_eq(csv_next(&rd, &rec, err, sizeof(err)), 1);
	ck_assert_uint_eq(rec.nfields, CSV_FIELDS_MAX);
	ck_assert_str_eq(rec.fields[31].value, "31");

	/* 33 fields */
	used--;
	used +=
	    (size_t)snprintf(buf + used, sizeof(buf) - used, ",32\nafter\n");
	read_all(buf, used, out, sizeof(out));
	ck_assert_str_eq(out, "E1L2[after]");
	ck_assert_str_eq(last_err, "line 1: more than 32 fields");
	/* a trailing comma after 32 fields is a 33rd, empty field */
	check_str("a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,"
	          "a,a,a,\n",
	          "E1");
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char in[] = "a\0b,c\nd\n\"x\0y\"\ne\n";
	char out[OUT_MAX];

	read_all(in, sizeof(in) - 1, out, sizeof(out));
	ck_assert_str_eq(out, "E1L2[d]E3L4[e]");
	ck_assert_str_eq(last_err, "line 3: field 1: a NUL byte");
}
END_TEST

START_TEST(test_control_bytes)
{
	check_str("a\x01"
	          "b\nok\n",
	          "E1L2[ok]");
	ck_assert_str_eq(last_err, "line 1: field 1: a control byte (0x01)");
	check_str("a,b\x7f\nok\n", "E1L2[ok]");
	check_str("\"esc\x1b[2J\"\nok\n", "E1L2[ok]");
	/* a lone CR is no line end */
	check_str("a\rb\nok\n", "E1L2[ok]");
	check_str("a\r", "E1");
	/* an error on a later line of a quoted record names both lines */
	check_str("h\n\"a\nb\x02\"\nok\n", "L1[h]E2L4[ok]");
	ck_assert_str_eq(last_err,
	                 "line 2: field 1: a control byte (0x02) on line 3");
}
END_TEST

START_TEST(test_not_nul_terminated)
{
	char out[OUT_MAX];
	char *buf = malloc(7);

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, "a,b\nc,d", 7); /* no NUL: ASan catches an over-read */
	read_all(buf, 7, out, sizeof(out));
	ck_assert_str_eq(out, "L1[a|b]L2[c|d]");
	read_all(buf, 5, out, sizeof(out));
	ck_assert_str_eq(out, "L1[a|b]L2[c]");
	memcpy(buf, "x,\"abcd", 7);
	read_all(buf, 7, out, sizeof(out));
	ck_assert_str_eq(out, "E1");
	memcpy(buf, "\"ab\"\"c\"", 7);
	read_all(buf, 7, out, sizeof(out));
	ck_assert_str_eq(out, "L1[ab\"c]");
	memcpy(buf, "a\r\n\r\n\r\n", 7);
	read_all(buf, 7, out, sizeof(out));
	ck_assert_str_eq(out, "L1[a]");
	memcpy(buf, "abcdef\r", 7);
	read_all(buf, 7, out, sizeof(out));
	ck_assert_str_eq(out, "E1");
	free(buf);
}
END_TEST

START_TEST(test_record_is_reset)
{
	struct csv_reader rd;
	static struct csv_record rec;
	char err[CSV_ERR_MAX];
	static const char in[] = "a,b,c\n\"bad\n";

	csv_init(&rd, in, sizeof(in) - 1);
	ck_assert_int_eq(csv_next(&rd, &rec, err, sizeof(err)), 1);
	ck_assert_int_eq(csv_next(&rd, &rec, err, sizeof(err)), -1);
	ck_assert_uint_eq(rec.nfields, 0);
	ck_assert_uint_eq(rec.line, 2);
	ck_assert_int_eq(csv_next(&rd, &rec, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_next(&rd, &rec, err, sizeof(err)), 0);
	/* a NULL or empty error buffer is allowed */
	csv_init(&rd, in, sizeof(in) - 1);
	ck_assert_int_eq(csv_next(&rd, &rec, NULL, 0), 1);
	ck_assert_int_eq(csv_next(&rd, &rec, NULL, 0), -1);
}
END_TEST

/* Random bytes over a small alphabet: every call must make progress and
 * every returned record must respect the limits. */
START_TEST(test_random_progress)
{
	static const char alpha[] = "a,\"\r\n \t\x01";
	static char buf[4096];
	static struct csv_record rec;
	struct csv_reader rd;
	char err[CSV_ERR_MAX];
	unsigned seed = 12345;
	size_t round, i, calls, last;
	int rc;

	for (round = 0; round < 2000; round++) {
		size_t len = (round * 37) % sizeof(buf);

		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
		}
		csv_init(&rd, buf, len);
		calls = 0;
		last = 0;
		/* plain ifs: a ck_assert per call costs a write(2) */
		while ((rc = csv_next(&rd, &rec, err, sizeof(err))) != 0) {
			if (rd.pos <= last || rd.pos > len ||
			    rec.nfields > CSV_FIELDS_MAX || ++calls > len + 1)
				ck_abort_msg("no progress at %zu (round %zu)",
				             rd.pos, round);
			if (rc < 0 && strncmp(err, "line ", 5) != 0)
				ck_abort_msg("error without a line: %s", err);
			last = rd.pos;
		}
	}
}
END_TEST

static Suite *
csv_suite(void)
{
	Suite *s = suite_create("csv");
	TCase *tc = tcase_create("reader");

	tcase_add_test(tc, test_simple);
	tcase_add_test(tc, test_empty_input);
	tcase_add_test(tc, test_empty_lines_skipped);
	tcase_add_test(tc, test_empty_fields);
	tcase_add_test(tc, test_trim);
	tcase_add_test(tc, test_quotes);
	tcase_add_test(tc, test_embedded_newline);
	tcase_add_test(tc, test_bom);
	tcase_add_test(tc, test_unterminated_quote_resync);
	tcase_add_test(tc, test_stray_quote_many_lines);
	tcase_add_test(tc, test_text_after_quote);
	tcase_add_test(tc, test_bare_quote);
	tcase_add_test(tc, test_field_limit);
	tcase_add_test(tc, test_record_limit);
	tcase_add_test(tc, test_field_count);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_control_bytes);
	tcase_add_test(tc, test_not_nul_terminated);
	tcase_add_test(tc, test_record_is_reset);
	tcase_add_test(tc, test_random_progress);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(csv_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
