/*
 * test_fromhdr.c - From header field parsing: corpus, rules, robustness.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_fromhdr
 *
 * DESCRIPTION
 *	The corpus (tests/fromhdr-corpus.txt, format at its top) is found
 *	through $top_srcdir or, when run by hand, next to this source file.
 *	Every input is handed to fromhdr_parse() in a heap buffer of exactly
 *	its length, so that AddressSanitizer sees any read past the end.
 *	The robustness cases feed random mutations of From forms and check
 *	the invariants: a code in range, a sentence exactly when there is no
 *	mailbox, kept domains that are normalized.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fromhdr.h"

#define CORPUS_NAME "fromhdr-corpus.txt"
#define CORPUS_MIN 60     /* cases the corpus must hold */
#define LINE_MAX_LEN 8192 /* longest corpus line */
#define CASE_MAX 20000    /* longest unescaped field */
#define MUTATIONS 40000   /* random inputs in the robustness test */
#define MUTANT_MAX 600    /* longest mutated input */

/* A field after unescaping; may hold NUL bytes. */
struct field {
	char buf[CASE_MAX];
	size_t len;
};

/* corpus_path - where the corpus lives. */
static void
corpus_path(char *buf, size_t buflen)
{
	const char *top = getenv("top_srcdir");
	const char *slash;

	if (top != NULL && *top != '\0') {
		snprintf(buf, buflen, "%s/tests/%s", top, CORPUS_NAME);
		return;
	}
	slash = strrchr(__FILE__, '/');
	snprintf(buf, buflen, "%.*s%s",
	         slash != NULL ? (int)(slash - __FILE__ + 1) : 0, __FILE__,
	         CORPUS_NAME);
}
/* hexval - value of one hex digit, -1 if none. */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* put - append one byte to f; -1 when full. */
static int
put(struct field *f, int c)
{
	if (f->len >= sizeof(f->buf))
		return -1;
	f->buf[f->len++] = (char)c;
	return 0;
}

/* repeat_prev - the \*N escape: the last byte until it occurs N times. */
static int
repeat_prev(struct field *f, const char **sp, const char *end)
{
	const char *s = *sp;
	unsigned long n = 0;
	size_t have;

	if (f->len == 0 || s >= end || *s < '0' || *s > '9')
		return -1;
	while (s < end && *s >= '0' && *s <= '9')
		n = n * 10 + (unsigned long)(*s++ - '0');
	if (n == 0 || n > sizeof(f->buf))
		return -1;
	for (have = 1; have < n; have++)
		if (put(f, f->buf[f->len - 1]) != 0)
			return -1;
	*sp = s;
	return 0;
}

/* unescape - s[len] with the corpus escapes into f; -1 on bad syntax. */
static int
unescape(const char *s, size_t len, struct field *f)
{
	const char *end = s + len;
	int hi, lo;

	f->len = 0;
	while (s < end) {
		if (*s != '\\') {
			if (put(f, *s++) != 0)
				return -1;
			continue;
		}
		if (++s == end)
			return -1;
		switch (*s++) {
		case '\\':
			hi = '\\';
			break;
		case '"':
			hi = '"';
			break;
		case 't':
			hi = '\t';
			break;
		case 'r':
			hi = '\r';
			break;
		case 'n':
			hi = '\n';
			break;
		case '0':
			hi = '\0';
			break;
		case '*':
			if (repeat_prev(f, &s, end) != 0)
				return -1;
			continue;
		case 'x':
			if (end - s < 2 || (hi = hexval(s[0])) < 0 ||
			    (lo = hexval(s[1])) < 0)
				return -1;
			s += 2;
			hi = hi * 16 + lo;
			break;
		default:
			return -1;
		}
		if (put(f, hi) != 0)
			return -1;
	}
	return 0;
}

/* unquote - a double-quoted corpus field into f; -1 if malformed. */
static int
unquote(const char *s, size_t len, struct field *f)
{
	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		return -1;
	/* the closing quote must not be escaped */
	if (len > 2 && s[len - 2] == '\\') {
		size_t bs = 0, i = len - 2;

		while (i > 0 && s[i] == '\\')
			bs++, i--;
		if (bs % 2 == 1)
			return -1;
	}
	return unescape(s + 1, len - 2, f);
}

/* parse_exact - fromhdr_parse() on a heap copy of exactly len bytes. */
static int
parse_exact(const char *s, size_t len, struct fromhdr *fh, char *err,
            size_t errlen)
{
	char *copy = malloc(len > 0 ? len : 1);
	int rc;

	ck_assert_ptr_nonnull(copy);
	if (len > 0)
		memcpy(copy, s, len);
	rc = fromhdr_parse(copy, len, fh, err, errlen);
	free(copy);
	return rc;
}

/* result - the corpus's expect column for a parse: "N d1,d2" or
 * "error:CODE". */
static void
result(int rc, const struct fromhdr *fh, char *buf, size_t buflen)
{
	size_t n;

	if (rc != FROMHDR_OK) {
		snprintf(buf, buflen, "error:%s", fromhdr_code_name(rc));
		return;
	}
	n = (size_t)snprintf(buf, buflen, "%u ", fh->count);
	for (unsigned i = 0; i < fh->kept && n < buflen; i++)
		n += (size_t)snprintf(buf + n, buflen - n, "%s%s",
		                      i > 0 ? "," : "", fh->box[i].domain);
}

/* corpus_line - check one non-comment line; -1 if it is malformed. */
static int
corpus_line(const char *line, size_t len, unsigned lineno)
{
	static struct field in, want;
	static char got[CASE_MAX + 64];
	const char *tab = memchr(line, '\t', len);
	char err[FROMHDR_ERR_MAX];
	struct fromhdr fh;
	int rc;

	if (tab == NULL || unquote(line, (size_t)(tab - line), &in) != 0 ||
	    unescape(tab + 1, len - (size_t)(tab - line) - 1, &want) != 0 ||
	    want.len >= sizeof(want.buf))
		return -1;
	want.buf[want.len] = '\0';
	rc = parse_exact(in.buf, in.len, &fh, err, sizeof(err));
	result(rc, &fh, got, sizeof(got));
	ck_assert_msg(strcmp(got, want.buf) == 0,
	              "corpus line %u: got %s (%s), want %s", lineno, got, err,
	              want.buf);
	ck_assert_msg((rc == FROMHDR_OK) == (err[0] == '\0'),
	              "corpus line %u: error sentence '%s' with %s", lineno,
	              err, fromhdr_code_name(rc));
	return 0;
}

START_TEST(test_corpus)
{
	static char line[LINE_MAX_LEN];
	char path[1024];
	unsigned lineno = 0, cases = 0;
	size_t len;
	FILE *fp;

	corpus_path(path, sizeof(path));
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		len = strlen(line);
		ck_assert_msg(len > 0 && line[len - 1] == '\n',
		              "corpus line %u is too long or unterminated",
		              lineno);
		line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		ck_assert_msg(corpus_line(line, len, lineno) == 0,
		              "corpus line %u is malformed", lineno);
		cases++;
	}
	fclose(fp);
	ck_assert_msg(cases >= CORPUS_MIN, "corpus has %u cases, want %d",
	              cases, CORPUS_MIN);
}
END_TEST

/* run - parse a C string. */
static int
run(const char *in, struct fromhdr *fh, char *err)
{
	return parse_exact(in, strlen(in), fh, err, FROMHDR_ERR_MAX);
}

/* bad - in is refused with code and a message containing why. */
static void
bad(const char *in, int code, const char *why)
{
	char err[FROMHDR_ERR_MAX];
	struct fromhdr fh;
	int rc = run(in, &fh, err);

	ck_assert_msg(rc == code, "'%s': got %s (%s)", in,
	              fromhdr_code_name(rc), err);
	ck_assert_msg(strstr(err, why) != NULL, "'%s': '%s' lacks '%s'", in,
	              err, why);
	ck_assert_uint_eq(fh.count, 0);
	ck_assert_uint_eq(fh.kept, 0);
	ck_assert_str_eq(fh.local, "");
}

START_TEST(test_messages)
{
	bad("x@good.example@evil.example", FROMHDR_SYNTAX,
	    "'@' where ',' was expected at octet 14");
	bad("Jane <j@example.com", FROMHDR_SYNTAX, "the end where '>'");
	bad("\"open <j@example.com>", FROMHDR_SYNTAX,
	    "a quoted string not closed by '\"' at octet 0");
	bad("(open j@example.com", FROMHDR_SYNTAX, "comment not closed");
	bad("Team: a@b.example", FROMHDR_SYNTAX, "group not closed by ';'");
	bad("j@example.com>", FROMHDR_SYNTAX, "'>' without a '<'");
	bad("Jane Doe j@example.com", FROMHDR_SYNTAX,
	    "two words without a '.'");
	bad("j@-x.example", FROMHDR_SYNTAX, "the domain at octet 2");
	bad("", FROMHDR_EMPTY, "no mailbox");
	bad("G:;", FROMHDR_EMPTY, "no mailbox");
	bad("a\x01@example.com", FROMHDR_SYNTAX, "control octet \\x01");
}
END_TEST

START_TEST(test_nul)
{
	char err[FROMHDR_ERR_MAX];
	struct fromhdr fh;
	static const char in[] = "j@example.com\0, a@good.example";

	ck_assert_int_eq(parse_exact(in, sizeof(in) - 1, &fh, err, sizeof(err)),
	                 FROMHDR_SYNTAX);
	ck_assert_ptr_nonnull(strstr(err, "a NUL octet at octet 13"));
	/* the value ends at len, not at a NUL: the part before is read */
	ck_assert_int_eq(parse_exact(in, 13, &fh, err, sizeof(err)),
	                 FROMHDR_OK);
	ck_assert_str_eq(fh.box[0].domain, "example.com");
	ck_assert_int_eq(fromhdr_parse(NULL, 10, &fh, err, sizeof(err)),
	                 FROMHDR_EMPTY);
}
END_TEST

START_TEST(test_fields)
{
	char err[FROMHDR_ERR_MAX];
	struct fromhdr fh;

	ck_assert_int_eq(run("\"J D\" <\"j d\".x@Example.COM.>", &fh, err),
	                 FROMHDR_OK);
	ck_assert_str_eq(fh.local, "\"j d\".x");
	ck_assert(!fh.name_at && !fh.local_cut && fh.routes == 0);
	ck_assert_int_eq(
	    run("a@good.example <@r1.example,@r2.example:x@evil.example>", &fh,
	        err),
	    FROMHDR_OK);
	ck_assert(fh.name_at);
	ck_assert_uint_eq(fh.routes, 2);
	ck_assert_str_eq(fh.local, "x");
	ck_assert_int_eq(run("G: a@one.example;, b@two.example", &fh, err),
	                 FROMHDR_OK);
	ck_assert_uint_eq(fh.groups, 1);
	ck_assert_uint_eq(fh.count, 2);
	ck_assert_str_eq(fh.local, "a");
	ck_assert_int_eq(run("a@[192.0.2.1]", &fh, err), FROMHDR_OK);
	ck_assert(fh.box[0].literal);
	ck_assert(!fh.box[1].literal);
}
END_TEST

START_TEST(test_err_buffer)
{
	char err[8];
	struct fromhdr fh;

	ck_assert_int_eq(fromhdr_parse("x", 1, &fh, err, sizeof(err)),
	                 FROMHDR_SYNTAX);
	ck_assert_uint_lt(strlen(err), sizeof(err));
	ck_assert_int_eq(fromhdr_parse("x", 1, &fh, NULL, 0), FROMHDR_SYNTAX);
	ck_assert_str_eq(fromhdr_code_name(FROMHDR_TOO_LONG), "too_long");
	ck_assert_str_eq(fromhdr_code_name(99), "invalid");
	ck_assert_str_eq(fromhdr_code_name(-1), "invalid");
}
END_TEST

/* rng - xorshift64. */
static uint64_t
rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* check_invariants - what every parse must give. */
static void
check_invariants(const char *buf, size_t len, int rc, const struct fromhdr *fh,
                 const char *err)
{
	ck_assert_msg(rc >= FROMHDR_OK && rc <= FROMHDR_TOO_LONG,
	              "code %d for %.*s", rc, (int)len, buf);
	if (rc != FROMHDR_OK) {
		ck_assert(err[0] != '\0');
		ck_assert_uint_eq(fh->count, 0);
		return;
	}
	ck_assert_str_eq(err, "");
	ck_assert(fh->count >= 1 && fh->kept >= 1 && fh->kept <= FROMHDR_KEEP);
	for (unsigned i = 0; i < fh->kept; i++) {
		const char *d = fh->box[i].domain;

		ck_assert(d[0] != '\0');
		if (fh->box[i].literal)
			continue;
		for (; *d; d++)
			ck_assert_msg((*d >= 'a' && *d <= 'z') ||
			                  (*d >= '0' && *d <= '9') ||
			                  *d == '-' || *d == '_' || *d == '.',
			              "domain %s", fh->box[i].domain);
		ck_assert(d[-1] != '.');
	}
}

START_TEST(test_mutations)
{
	static const char *const seeds[] = {
	    "\"a@good.example\" <x@evil.example>",
	    "x@evil.example (a@good.example)",
	    "G: a@one.example, B <b@two.example>;, c@three.example",
	    "<@r.example:x@evil(c).example.>",
	    "J\xc3\xb6rg <j@b\xc3\xbc"
	    "cher.example>",
	};
	static const char pool[] = "\"\\()<>@,;:.[] \t\r\n\0\x01\x80\xff=?aZ";
	char buf[MUTANT_MAX], err[FROMHDR_ERR_MAX];
	uint64_t st = 7;
	struct fromhdr fh;
	size_t len, k;
	unsigned i;
	int rc;

	for (i = 0; i < MUTATIONS; i++) {
		const char *seed =
		    seeds[i % (sizeof(seeds) / sizeof(seeds[0]))];

		len = strlen(seed);
		memcpy(buf, seed, len);
		for (k = rng(&st) % 4 + 1; k > 0; k--) {
			size_t at = rng(&st) % (len + 1);
			char c = pool[rng(&st) % (sizeof(pool) - 1)];

			if (rng(&st) % 2 == 0 && at < len)
				buf[at] = c; /* replace */
			else if (len < sizeof(buf)) {
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = c; /* insert */
				len++;
			}
		}
		rc = parse_exact(buf, len, &fh, err, sizeof(err));
		check_invariants(buf, len, rc, &fh, err);
	}
}
END_TEST

/* fromhdr_suite - every test above. */
static Suite *
fromhdr_suite(void)
{
	Suite *s = suite_create("fromhdr");
	TCase *tc = tcase_create("grammar");
	TCase *tr = tcase_create("robustness");

	tcase_add_test(tc, test_corpus);
	tcase_add_test(tc, test_messages);
	tcase_add_test(tc, test_nul);
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_err_buffer);
	suite_add_tcase(s, tc);
	tcase_add_test(tr, test_mutations);
	tcase_set_timeout(tr, 60);
	suite_add_tcase(s, tr);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fromhdr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
