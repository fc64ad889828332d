/*
 * test_sanitize.c - sanitize_text: escaping, truncation, termination.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_sanitize
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

#define CANARY '\x5a'

/* san - sanitize a C string into a dstlen buffer; checks the invariants. */
static size_t
san(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	char buf[512];
	size_t n, i;

	ck_assert_uint_lt(dstlen, sizeof(buf));
	memset(buf, CANARY, sizeof(buf));
	n = sanitize_text(buf, dstlen, (const unsigned char *)src, srclen);
	if (dstlen > 0) {
		ck_assert_uint_lt(n, dstlen);
		ck_assert_uint_eq(strlen(buf), n);
		for (i = 0; i < n; i++)
			ck_assert_msg(buf[i] >= 0x20 && buf[i] <= 0x7e,
			              "unprintable output octet %zu", i);
	} else {
		ck_assert_uint_eq(n, 0);
	}
	/* nothing written past dstlen */
	for (i = dstlen; i < sizeof(buf); i++)
		ck_assert_int_eq(buf[i], CANARY);
	if (dstlen > 0)
		memcpy(dst, buf, n + 1);
	return n;
}

/* expect - the whole of src sanitized into dstlen is want. */
static void
expect(const char *src, size_t srclen, size_t dstlen, const char *want)
{
	char out[512];
	size_t n = san(out, dstlen, src, srclen);

	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(n, strlen(want));
}

START_TEST(test_printable_kept)
{
	char all[96], out[200];
	size_t i, n = 0;

	expect("v=spf1 include:amazonses.com ~all", 33, 100,
	       "v=spf1 include:amazonses.com ~all");
	/* every printable octet but the backslash is copied as is */
	for (i = 0x20; i <= 0x7e; i++)
		if (i != '\\')
			all[n++] = (char)i;
	all[n] = '\0';
	ck_assert_uint_eq(san(out, sizeof(out), all, n), n);
	ck_assert_str_eq(out, all);
	expect("", 0, 10, "");
}
END_TEST

START_TEST(test_escapes)
{
	expect("\0", 1, 20, "\\x00");
	expect("a\r\nb", 4, 20, "a\\x0d\\x0ab");
	expect("\t", 1, 20, "\\x09");
	expect("\x1b[31m", 5, 20, "\\x1b[31m");
	expect("\x7f", 1, 20, "\\x7f");
	expect("\x80\xff", 2, 20, "\\x80\\xff");
	expect("b\xc3\xbc"
	       "cher",
	       7, 40, "b\\xc3\\xbccher");
	expect("\x1f", 1, 20, "\\x1f");
	expect(" ~", 2, 20, " ~");
}
END_TEST

START_TEST(test_backslash)
{
	expect("\\", 1, 20, "\\\\");
	expect("a\\x41", 5, 20, "a\\\\x41");
	/* an escaped byte and a literal "\x00" are told apart */
	expect("\\x00", 4, 20, "\\\\x00");
}
END_TEST

START_TEST(test_embedded_nul_and_length)
{
	/* srclen, not the NUL, ends the input */
	expect("ab\0cd", 5, 40, "ab\\x00cd");
	expect("abcdef", 3, 40, "abc");
}
END_TEST

START_TEST(test_dstlen_zero)
{
	char out[4] = {CANARY, CANARY, CANARY, CANARY};

	ck_assert_uint_eq(
	    sanitize_text(out, 0, (const unsigned char *)"abc", 3), 0);
	ck_assert_int_eq(out[0], CANARY);
	/* dstlen 0 must not touch dst at all, even when it is NULL */
	ck_assert_uint_eq(
	    sanitize_text(NULL, 0, (const unsigned char *)"abc", 3), 0);
}
END_TEST

START_TEST(test_dstlen_tiny)
{
	char out[8];

	expect("abc", 3, 1, "");
	expect("", 0, 1, "");
	expect("a", 1, 2, "a");
	/* too small for the text and for "...": stays a valid string */
	san(out, 2, "abcdef", 6);
	san(out, 3, "abcdef", 6);
	san(out, 3, "\x01", 1);
	ck_assert_str_eq(out, "");
	expect("abcdef", 6, 4, "...");
	expect("abcdef", 6, 5, "a...");
	/* an escape never fits in a 4-octet buffer with its NUL */
	expect("\x01", 1, 4, "...");
	expect("\x01", 1, 5, "\\x01");
}
END_TEST

START_TEST(test_truncation)
{
	expect("abcdefghij", 10, 8, "abcd...");
	/* an escape is never split: "\x0" or "\" never ends the text */
	expect("ab\x01"
	       "cdef",
	       7, 8, "ab...");
	expect("ab\x01"
	       "cdef",
	       7, 9, "ab...");
	expect("ab\x01"
	       "cdef",
	       7, 10, "ab\\x01...");
	expect("\\\\\\\\", 4, 8, "\\\\\\\\...");
	expect("\xff\xff\xff", 3, 11, "\\xff...");
}
END_TEST

START_TEST(test_truncation_never_splits)
{
	char src[64], out[64];
	size_t dstlen, n, i;

	for (i = 0; i < sizeof(src); i++)
		src[i] = (char)(i % 3 == 0 ? 0x01 : (i % 3 == 1 ? '\\' : 'a'));
	for (dstlen = 1; dstlen < sizeof(out); dstlen++) {
		n = san(out, dstlen, src, sizeof(src));
		/* the output is complete escapes plus, when cut, "..." */
		if (n >= 3 && strcmp(out + n - 3, "...") == 0)
			n -= 3;
		for (i = 0; i < n;) {
			if (strncmp(out + i, "\\x01", 4) == 0)
				i += 4;
			else if (strncmp(out + i, "\\\\", 2) == 0)
				i += 2;
			else if (out[i] == 'a')
				i += 1;
			else
				ck_abort_msg("split escape at %zu in '%s'", i,
				             out);
		}
	}
}
END_TEST

START_TEST(test_fits_exactly)
{
	/*
	 * Text whose escaped form fits the buffer is copied whole: there is
	 * nothing to cut, so no room need be kept for "...".
	 */
	expect("abcd", 4, 5, "abcd");
	expect("ab", 2, 3, "ab");
	expect("abcdefghij", 10, 11, "abcdefghij");
	expect("a\x01", 2, 6, "a\\x01");
	expect("\\\\", 2, 5, "\\\\\\\\");
	expect("hello world", 11, 12, "hello world");
	expect("a\\b", 3, 5, "a\\\\b");
}
END_TEST

START_TEST(test_long_input)
{
	size_t len = 100000, n;
	unsigned char *src = malloc(len);
	char out[256];

	ck_assert_ptr_nonnull(src);
	for (size_t i = 0; i < len; i++)
		src[i] = (unsigned char)i;
	n = sanitize_text(out, sizeof(out), src, len);
	ck_assert_uint_lt(n, sizeof(out));
	ck_assert_uint_eq(strlen(out), n);
	ck_assert_str_eq(out + n - 3, "...");
	ck_assert(strncmp(out, "\\x00\\x01\\x02", 12) == 0);
	free(src);
}
END_TEST

/* Escaped text (a state copied from a report, an MX target in DNS
 * presentation form) passes sanitize_again unchanged: not \\x00. */
START_TEST(test_again_keeps_escapes)
{
	char once[64], twice[64];
	const unsigned char raw[] = {'a', 0x00, 0x1b, '\\', 'b'};

	sanitize_text(once, sizeof(once), raw, sizeof(raw));
	ck_assert_str_eq(once, "a\\x00\\x1b\\\\b");
	sanitize_again(twice, sizeof(twice), (const unsigned char *)once,
	               strlen(once));
	ck_assert_str_eq(twice, once);
	sanitize_again(twice, sizeof(twice), (const unsigned char *)"bad\\000.",
	               8);
	ck_assert_str_eq(twice, "bad\\000.");
}
END_TEST

/* Bytes added to escaped text are still escaped, and it is cut to fit. */
START_TEST(test_again_escapes_raw)
{
	char out[12];

	sanitize_again(out, sizeof(out), (const unsigned char *)"x\033y\\z", 5);
	ck_assert_str_eq(out, "x\\x1by\\z");
	sanitize_again(out, sizeof(out),
	               (const unsigned char *)"0123456789abcdef", 16);
	ck_assert_uint_lt(strlen(out), sizeof(out));
	ck_assert_str_eq(out + strlen(out) - 3, "...");
}
END_TEST

static Suite *
sanitize_suite(void)
{
	Suite *s = suite_create("sanitize");
	TCase *tc = tcase_create("escape");

	tcase_add_test(tc, test_printable_kept);
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_backslash);
	tcase_add_test(tc, test_embedded_nul_and_length);
	tcase_add_test(tc, test_again_keeps_escapes);
	tcase_add_test(tc, test_again_escapes_raw);
	suite_add_tcase(s, tc);
	tc = tcase_create("bounds");
	tcase_add_test(tc, test_dstlen_zero);
	tcase_add_test(tc, test_dstlen_tiny);
	tcase_add_test(tc, test_truncation);
	tcase_add_test(tc, test_truncation_never_splits);
	tcase_add_test(tc, test_long_input);
	suite_add_tcase(s, tc);
	tc = tcase_create("fits_exactly");
	tcase_add_test(tc, test_fits_exactly);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sanitize_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
