/*
 * test_revpath.c - reverse-path parsing: corpus, grammar rules, mutation.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_revpath
 *
 * DESCRIPTION
 *	The corpus (tests/revpath-corpus.txt, format at its top) is found
 *	through $top_srcdir or, when run by hand, next to this source file.
 *	Every input is handed to revpath_parse() in a buffer of exactly its
 *	length, so that AddressSanitizer sees any read past the end.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domainname.h"
#include "revpath.h"

#define CORPUS_NAME "revpath-corpus.txt"
#define CORPUS_MIN 120    /* cases the corpus must hold */
#define LINE_MAX_LEN 8192 /* longest corpus line */
#define CASE_MAX 8192     /* longest unescaped field */
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

/* parse_exact - revpath_parse() on a heap copy of exactly len bytes. */
static int
parse_exact(const char *s, size_t len, struct revpath *rp, char *err,
            size_t errlen)
{
	char *copy = malloc(len > 0 ? len : 1);
	int rc;

	ck_assert_ptr_nonnull(copy);
	if (len > 0)
		memcpy(copy, s, len);
	rc = revpath_parse(copy, len, rp, err, errlen);
	free(copy);
	return rc;
}

/* reply_class - the corpus's reply column for a code. */
static void
reply_class(int code, char *buf, size_t buflen)
{
	const struct revpath_reply *r = revpath_reply(code);

	if (r->rcode != NULL)
		snprintf(buf, buflen, "%s %s", r->rcode, r->xcode);
	else
		snprintf(buf, buflen, "%s", r->disposition);
}

/* expect_ok - expect names a domain, "null" or "literal:..."; check rp. */
static void
check_expect(const char *where, const struct field *exp, int rc,
             const struct revpath *rp, const char *err)
{
	char want[CASE_MAX + 1];

	memcpy(want, exp->buf, exp->len);
	want[exp->len] = '\0';
	if (strncmp(want, "error:", 6) == 0) {
		ck_assert_msg(strcmp(revpath_code_name(rc), want + 6) == 0,
		              "%s: got %s (%s), want %s", where,
		              revpath_code_name(rc), rp->domain, want);
		ck_assert_msg(err[0] != '\0', "%s: no error message", where);
	} else if (strcmp(want, "null") == 0) {
		ck_assert_msg(rc == REVPATH_NULL && rp->null, "%s: got %s: %s",
		              where, revpath_code_name(rc), err);
	} else if (strncmp(want, "literal:", 8) == 0) {
		ck_assert_msg(rc == REVPATH_LITERAL && rp->literal,
		              "%s: got %s: %s", where, revpath_code_name(rc),
		              err);
		ck_assert_msg(strcmp(rp->domain, want + 8) == 0,
		              "%s: literal %s, want %s", where, rp->domain,
		              want + 8);
	} else {
		ck_assert_msg(rc == REVPATH_OK, "%s: got %s: %s", where,
		              revpath_code_name(rc), err);
		ck_assert_msg(strcmp(rp->domain, want) == 0,
		              "%s: domain %s, want %s", where, rp->domain,
		              want);
	}
}

/* corpus_line - check one non-comment line; -1 if it is malformed. */
static int
corpus_line(const char *line, size_t len, unsigned lineno)
{
	static struct field f[4];
	const char *col[4];
	size_t clen[4], ncol = 0, i, start = 0;
	char where[64], reply[64], err[REVPATH_ERR_MAX];
	struct revpath rp;
	int rc;

	for (i = 0; i <= len && ncol < 4; i++) {
		if (i < len && line[i] != '\t')
			continue;
		col[ncol] = line + start;
		clen[ncol++] = i - start;
		start = i + 1;
	}
	if (ncol < 3 || i <= len || unquote(col[0], clen[0], &f[0]) != 0 ||
	    unescape(col[1], clen[1], &f[1]) != 0 ||
	    (ncol == 4 && unquote(col[3], clen[3], &f[3]) != 0))
		return -1;
	snprintf(where, sizeof(where), "corpus line %u", lineno);
	rc = parse_exact(f[0].buf, f[0].len, &rp, err, sizeof(err));
	check_expect(where, &f[1], rc, &rp, err);
	reply_class(rc, reply, sizeof(reply));
	ck_assert_msg(
	    strlen(reply) == clen[2] && memcmp(reply, col[2], clen[2]) == 0,
	    "%s: reply %s, want %.*s", where, reply, (int)clen[2], col[2]);
	if (ncol == 4)
		ck_assert_msg(strlen(rp.local) == f[3].len &&
		                  memcmp(rp.local, f[3].buf, f[3].len) == 0,
		              "%s: local part %s", where, rp.local);
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

/* The helpers below keep the unit tests short. */

/* run - parse a C string. */
static int
run(const char *in, struct revpath *rp, char *err)
{
	return parse_exact(in, strlen(in), rp, err, REVPATH_ERR_MAX);
}

/* ok - in parses to local@domain. */
static void
ok(const char *in, const char *local, const char *domain)
{
	char err[REVPATH_ERR_MAX];
	struct revpath rp;

	ck_assert_msg(run(in, &rp, err) == REVPATH_OK, "'%s': %s", in, err);
	ck_assert_str_eq(rp.local, local);
	ck_assert_str_eq(rp.domain, domain);
	ck_assert(!rp.null && !rp.literal);
	ck_assert_str_eq(err, "");
}

/* bad - in is refused with code and a message containing why. */
static void
bad(const char *in, size_t len, int code, const char *why)
{
	char err[REVPATH_ERR_MAX];
	struct revpath rp;
	int rc = parse_exact(in, len, &rp, err, sizeof(err));

	ck_assert_msg(rc == code, "'%s': got %s (%s)", in,
	              revpath_code_name(rc), err);
	ck_assert_msg(strstr(err, why) != NULL, "'%s': '%s' lacks '%s'", in,
	              err, why);
	/* nothing half-parsed leaks out */
	ck_assert_str_eq(rp.local, "");
	ck_assert_str_eq(rp.domain, "");
	ck_assert(!rp.null && !rp.literal && rp.routes == 0);
}

/* bad_s - bad() on a C string. */
static void
bad_s(const char *in, int code, const char *why)
{
	bad(in, strlen(in), code, why);
}

START_TEST(test_brackets)
{
	ok("<u@example.com>", "u", "example.com");
	ok("u@example.com", "u", "example.com");
	ok("  <u@example.com>  ", "u", "example.com");
	bad_s("<u@example.com", REVPATH_SYNTAX, "not closed by '>'");
	bad_s("u@example.com>", REVPATH_SYNTAX, "without a matching '<'");
	bad_s("<<u@example.com>>", REVPATH_SYNTAX, "inside the brackets");
	bad_s("<u@example.com> SIZE=1", REVPATH_SYNTAX, "follows the closing");
	bad_s("<u@example.com>>", REVPATH_SYNTAX, "follows the closing");
	bad_s("\t<u@example.com>", REVPATH_SYNTAX, "\\x09");
	bad_s("<u @example.com>", REVPATH_SYNTAX, "a space");
}
END_TEST

START_TEST(test_null)
{
	const char *nulls[] = {"<>", "", " <> ", "   "};
	char err[REVPATH_ERR_MAX];
	struct revpath rp;
	size_t i;

	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
		ck_assert_int_eq(run(nulls[i], &rp, err), REVPATH_NULL);
		ck_assert(rp.null);
		ck_assert_str_eq(rp.domain, "");
	}
	ck_assert_int_eq(revpath_parse(NULL, 0, &rp, err, sizeof(err)),
	                 REVPATH_NULL);
	/* a NULL buffer with a length is read as nothing at all */
	ck_assert_int_eq(revpath_parse(NULL, 10, &rp, err, sizeof(err)),
	                 REVPATH_NULL);
	bad_s("<<>>", REVPATH_SYNTAX, "inside");
	bad_s("< >", REVPATH_SYNTAX, "space");
}
END_TEST

START_TEST(test_source_route)
{
	char err[REVPATH_ERR_MAX];
	struct revpath rp;

	ck_assert_int_eq(run("<@a.example,@b.example:u@c.example>", &rp, err),
	                 REVPATH_OK);
	ck_assert_uint_eq(rp.routes, 2);
	ck_assert_str_eq(rp.domain, "c.example");
	ok("<@A.Example.:u@example.com>", "u", "example.com");
	bad_s("<@a.example>", REVPATH_SYNTAX, "local part is empty");
	bad_s("<@a.example,@b.example>", REVPATH_SYNTAX, "does not end");
	bad_s("<@a.example,b.example:u@c.example>", REVPATH_SYNTAX,
	      "does not start with '@'");
	bad_s("<@:u@c.example>", REVPATH_SYNTAX,
	      "source-route domain is empty");
	bad_s("<@a..b:u@c.example>", REVPATH_SYNTAX, "empty label");
	bad_s("<@a.example:@b.example:u@c.example>", REVPATH_SYNTAX,
	      "local part is empty");
	bad_s("<@[192.0.2.1]:u@c.example>", REVPATH_SYNTAX, "'['");
}
END_TEST

START_TEST(test_quoted)
{
	ok("<\"a b\"@example.com>", "\"a b\"", "example.com");
	ok("<\"a\\\"b\"@example.com>", "\"a\\\"b\"", "example.com");
	ok("<\"a@b>c<\"@example.com>", "\"a@b>c<\"", "example.com");
	ok("<\"\"@example.com>", "\"\"", "example.com");
	ok("\"x\"@example.com", "\"x\"", "example.com");
	bad_s("<\"abc@example.com>", REVPATH_SYNTAX, "not closed");
	bad_s("\"abc@example.com", REVPATH_SYNTAX, "not closed");
	bad_s("<\"a\"b@example.com>", REVPATH_SYNTAX, "after the quoted");
	bad_s("<\"a\\\xc3\xbc\"@example.com>", REVPATH_SYNTAX, "backslash");
	bad_s("\"a\"", REVPATH_SYNTAX, "no '@'");
}
END_TEST

START_TEST(test_dot_string)
{
	ok("<a.b.c@example.com>", "a.b.c", "example.com");
	ok("<\xc3\xbc@example.com>", "\xc3\xbc", "example.com");
	bad_s("<.a@example.com>", REVPATH_SYNTAX, "starts with a dot");
	bad_s("<a.@example.com>", REVPATH_SYNTAX, "ends with a dot");
	bad_s("<a..b@example.com>", REVPATH_SYNTAX, "two dots");
	bad_s("<a(b)@example.com>", REVPATH_SYNTAX, "'('");
	bad_s("<user>", REVPATH_SYNTAX, "no '@'");
	bad_s("<@example.com>", REVPATH_SYNTAX, "local part is empty");
	bad_s("<a@b@example.com>", REVPATH_SYNTAX, "more than one '@'");
}
END_TEST

START_TEST(test_domain)
{
	ok("<u@EXAMPLE.com.>", "u", "example.com");
	ok("<u@b\xc3\xbc"
	   "cher.example>",
	   "u", "xn--bcher-kva.example");
	ok("<u@x_y.example>", "u", "x_y.example");
	ok("<u@localhost>", "u", "localhost");
	bad_s("<u@>", REVPATH_SYNTAX, "domain is empty");
	bad_s("<u@.>", REVPATH_SYNTAX, "domain is empty");
	bad_s("<u@.example>", REVPATH_SYNTAX, "starts with a dot");
	bad_s("<u@a..example>", REVPATH_SYNTAX, "empty label");
	bad_s("<u@example.com..>", REVPATH_SYNTAX, "empty label");
	bad_s("<u@-a.example>", REVPATH_SYNTAX, "starts with a hyphen");
	bad_s("<u@a-.example>", REVPATH_SYNTAX, "ends with a hyphen");
	bad_s("<u@a+b.example>", REVPATH_SYNTAX, "'+'");
	bad_s("<u@192.0.2.1>", REVPATH_SYNTAX, "all-numeric");
	bad_s("<u@\xe2\x98\x83.example>", REVPATH_SYNTAX, "internationalized");
}
END_TEST

START_TEST(test_literal)
{
	char err[REVPATH_ERR_MAX];
	struct revpath rp;

	ck_assert_int_eq(run("<u@[192.0.2.1]>", &rp, err), REVPATH_LITERAL);
	ck_assert(rp.literal);
	ck_assert_str_eq(rp.local, "u");
	ck_assert_str_eq(rp.domain, "[192.0.2.1]");
	ck_assert_int_eq(run("<u@[ipv6:2001:DB8:0::1]>", &rp, err),
	                 REVPATH_LITERAL);
	ck_assert_str_eq(rp.domain, "[IPv6:2001:db8::1]");
	bad_s("<u@[192.0.2.256]>", REVPATH_SYNTAX, "IPv4");
	bad_s("<u@[IPv6:1::2::3]>", REVPATH_SYNTAX, "IPv6");
	bad_s("<u@[tag:x]>", REVPATH_SYNTAX, "tag");
	bad_s("<u@[192.0.2.1>", REVPATH_SYNTAX, "not closed by ']'");
	bad_s("<u@[IPv6:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:"
	      "0000:0000]>",
	      REVPATH_SYNTAX, "no IP address is that long");
}
END_TEST

/* string_of - n copies of c between prefix and suffix, malloc'd. */
static char *
string_of(const char *prefix, char c, size_t n, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	char *s = malloc(pl + n + sl + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, prefix, pl);
	memset(s + pl, c, n);
	memcpy(s + pl + n, suffix, sl + 1);
	return s;
}

START_TEST(test_limits_local)
{
	char *s, local[REVPATH_LOCAL_MAX + 1];
	struct revpath rp;

	memset(local, 'a', REVPATH_LOCAL_MAX);
	local[REVPATH_LOCAL_MAX] = '\0';
	s = string_of("<", 'a', REVPATH_LOCAL_MAX, "@example.com>");
	ok(s, local, "example.com");
	free(s);
	s = string_of("<", 'a', REVPATH_LOCAL_MAX + 1, "@example.com>");
	ck_assert_int_eq(parse_exact(s, strlen(s), &rp, NULL, 0), REVPATH_OK);
	ck_assert(rp.long_local);
	ck_assert_str_eq(rp.domain, "example.com");
	ck_assert_uint_eq(strlen(rp.local), REVPATH_LOCAL_MAX + 1);
	free(s);
	/* VERP and SRS senders: a local part as long as the path limit
	 * allows is kept whole, and the path is not flagged */
	s = string_of("<", 'a', REVPATH_PATH_MAX - 14, "@example.com>");
	ck_assert_int_eq(parse_exact(s, strlen(s), &rp, NULL, 0), REVPATH_OK);
	ck_assert_uint_eq(strlen(rp.local), REVPATH_PATH_MAX - 14);
	ck_assert(!rp.long_path && !rp.local_cut);
	free(s);
}
END_TEST

/* long_ok - "<" n a's "@example.com>" gives example.com, long_path, and
 * a local part of keep octets, cut when keep < n. */
static void
long_ok(size_t n, size_t keep)
{
	char *s = string_of("<", 'a', n, "@example.com>");
	struct revpath rp;

	ck_assert_msg(parse_exact(s, strlen(s), &rp, NULL, 0) == REVPATH_OK,
	              "%zu octets", n);
	ck_assert_str_eq(rp.domain, "example.com");
	ck_assert(rp.long_path && rp.long_local);
	ck_assert_uint_eq(strlen(rp.local), keep);
	ck_assert(rp.local_cut == (keep < n));
	free(s);
}

START_TEST(test_limits_long_path)
{
	char *s, local[REVPATH_LOCAL_BUF];
	struct revpath rp;
	size_t i;

	/* over the path limit: judged by the domain, flagged */
	long_ok(REVPATH_PATH_MAX - 13, REVPATH_PATH_MAX - 13);
	long_ok(300, REVPATH_LOCAL_BUF - 1);
	long_ok(REVPATH_LOCAL_BUF - 1, REVPATH_LOCAL_BUF - 1);
	long_ok(REVPATH_LOCAL_BUF, REVPATH_LOCAL_BUF - 1);
	long_ok(1000, REVPATH_LOCAL_BUF - 1);
	long_ok(2000, REVPATH_LOCAL_BUF - 1);
	/* the whole argument: at most REVPATH_INPUT_MAX octets */
	long_ok(REVPATH_INPUT_MAX - 14, REVPATH_LOCAL_BUF - 1);
	s = string_of("<", 'a', REVPATH_INPUT_MAX - 13, "@example.com>");
	bad_s(s, REVPATH_TOO_LONG, "4097 octets; at most 4096");
	free(s);
	/* no domain, however long the path: refused */
	s = string_of("<", 'a', 2000, ">");
	bad_s(s, REVPATH_SYNTAX, "no '@'");
	free(s);
	s = string_of("<", 'a', 2000, "@a.b..example>");
	bad_s(s, REVPATH_SYNTAX, "empty label");
	free(s);
	s = string_of("<", 'a', 300, "@x.example.123>");
	bad_s(s, REVPATH_SYNTAX, "all-numeric");
	free(s);
	/* the kept copy ends at a character: 200 U+00E9 of 2 octets */
	s = string_of("<", 'x', 2 * 200, "@example.com>");
	for (i = 0; i < 200; i++)
		memcpy(s + 1 + 2 * i, "\xc3\xa9", 2);
	ck_assert_int_eq(parse_exact(s, strlen(s), &rp, NULL, 0), REVPATH_OK);
	ck_assert(rp.local_cut);
	ck_assert_uint_eq(strlen(rp.local), REVPATH_LOCAL_BUF - 2);
	memcpy(local, s + 1, REVPATH_LOCAL_BUF - 2);
	local[REVPATH_LOCAL_BUF - 2] = '\0';
	ck_assert_str_eq(rp.local, local);
	free(s);
	/* a quoted local part is checked whole before it is cut */
	s = string_of("<\"", 'a', 600, "\"@example.com>");
	ck_assert_int_eq(parse_exact(s, strlen(s), &rp, NULL, 0), REVPATH_OK);
	ck_assert(rp.local_cut && rp.local[0] == '"');
	free(s);
	s = string_of("<\"", 'a', 600, "@example.com>");
	bad_s(s, REVPATH_SYNTAX, "not closed");
	free(s);
	/* a source route too */
	s = string_of("<@", 'a', 63, ".example,@b.example:u@example.com>");
	ck_assert_int_eq(parse_exact(s, strlen(s), &rp, NULL, 0), REVPATH_OK);
	ck_assert(!rp.long_path);
	free(s);
}
END_TEST

/* path_of - "<" local "@" labels of 63 octets ">", domain dlen long. */
static void
path_of(char *buf, size_t local, size_t dlen)
{
	size_t i, n = 0;

	buf[n++] = '<';
	memset(buf + n, 'a', local);
	n += local;
	buf[n++] = '@';
	for (i = 0; i < dlen; i++)
		buf[n++] = (i % 64 == 63 || i + 1 == dlen) ? 'z' : 'b';
	for (i = 63; i < dlen - 1; i += 64)
		buf[n - dlen + i] = '.';
	buf[n++] = '>';
	buf[n] = '\0';
}

START_TEST(test_limits_label_path)
{
	char path[REVPATH_PATH_MAX * 2], err[REVPATH_ERR_MAX];
	struct revpath rp;
	char *s;

	s = string_of("<u@", 'a', LABEL_MAX, ".example>");
	ck_assert_int_eq(parse_exact(s, strlen(s), &rp, NULL, 0), REVPATH_OK);
	ck_assert_uint_eq(strlen(rp.domain), LABEL_MAX + 8);
	free(s);
	s = string_of("<u@", 'a', LABEL_MAX + 1, ".example>");
	bad_s(s, REVPATH_TOO_LONG, "is 64 octets");
	free(s);
	/* "<" 64 "@" 189 ">" is exactly 256 octets */
	path_of(path, REVPATH_LOCAL_MAX, 189);
	ck_assert_uint_eq(strlen(path), REVPATH_PATH_MAX);
	ck_assert_int_eq(run(path, &rp, err), REVPATH_OK);
	ck_assert_uint_eq(strlen(rp.domain), 189);
	ck_assert(!rp.long_path);
	/* one octet more: flagged, judged by the domain */
	path_of(path, REVPATH_LOCAL_MAX, 190);
	ck_assert_int_eq(run(path, &rp, err), REVPATH_OK);
	ck_assert(rp.long_path && !rp.local_cut);
	ck_assert_uint_eq(strlen(rp.domain), 190);
	/* the domain's own limits still refuse */
	path_of(path, REVPATH_LOCAL_MAX, DOMAIN_MAX);
	ck_assert_int_eq(run(path, &rp, err), REVPATH_OK);
	ck_assert_uint_eq(strlen(rp.domain), DOMAIN_MAX);
	path_of(path, 1, DOMAIN_MAX + 1);
	bad_s(path, REVPATH_TOO_LONG, "at most 253");
	/* a bare path is measured as if it had its brackets */
	path_of(path, 1, 252);
	ck_assert_int_eq(run(path, &rp, err), REVPATH_OK);
	ck_assert(!rp.long_path);
	path[strlen(path) - 1] = '\0';
	ck_assert_int_eq(run(path + 1, &rp, err), REVPATH_OK);
	ck_assert(!rp.long_path);
	path_of(path, 2, 252);
	path[strlen(path) - 1] = '\0';
	ck_assert_int_eq(run(path + 1, &rp, err), REVPATH_OK);
	ck_assert(rp.long_path);
	s = string_of("<", ' ', 4096, "u@example.com>");
	bad_s(s, REVPATH_TOO_LONG, "at most 4096");
	free(s);
	/* spaces around count as sent */
	s = string_of("<u@example.com>", ' ', 300, "");
	ck_assert_int_eq(run(s, &rp, err), REVPATH_OK);
	ck_assert(rp.long_path);
	free(s);
}
END_TEST

START_TEST(test_bytes)
{
	static const char *const ctl[] = {
	    "<u\r@example.com>",       "<u\n@example.com>",
	    "<u\t@example.com>",       "<u@example.com\x7f>",
	    "<\"a\x01\"@example.com>", "<u\x1b@example.com>"};
	size_t i;

	for (i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++)
		bad_s(ctl[i], REVPATH_SYNTAX, "control character");
	bad("<u\0@example.com>", 16, REVPATH_SYNTAX, "NUL byte");
	bad("<u@example.com>\0", 16, REVPATH_SYNTAX, "NUL byte");
	bad_s("<u\xc2\x80@example.com>", REVPATH_SYNTAX, "U+0080");
	bad_s("<u@ex\xe9mple.com>", REVPATH_SYNTAX,
	      "not valid UTF-8 at octet 6");
	bad_s("<u@\xc0\x80.example>", REVPATH_SYNTAX, "UTF-8");
	bad_s("<u@\xed\xbf\xbf.example>", REVPATH_SYNTAX, "UTF-8");
	bad_s("<u@\xf0\x8f\xbf\xbf.example>", REVPATH_SYNTAX, "UTF-8");
	bad_s("<u@\xf5\x80\x80\x80.example>", REVPATH_SYNTAX, "UTF-8");
	bad_s("<u@x.\xf0\x9f\x98>", REVPATH_SYNTAX, "UTF-8");
	ok("<\xf0\x9f\x98\x80@x.example>", "\xf0\x9f\x98\x80", "x.example");
}
END_TEST

START_TEST(test_no_nul_termination)
{
	const char text[] = "<u@example.com>garbage";
	char err[REVPATH_ERR_MAX];
	struct revpath rp;

	/* only the first len bytes count; what follows is never read */
	ck_assert_int_eq(parse_exact(text, 15, &rp, err, sizeof(err)),
	                 REVPATH_OK);
	ck_assert_str_eq(rp.domain, "example.com");
	ck_assert_int_eq(parse_exact(text, 14, &rp, err, sizeof(err)),
	                 REVPATH_SYNTAX);
	ck_assert_int_eq(parse_exact(text, 0, &rp, err, sizeof(err)),
	                 REVPATH_NULL);
}
END_TEST

START_TEST(test_err_buffer)
{
	char err[8], one[1] = {'x'};
	struct revpath rp;

	ck_assert_int_eq(revpath_parse("<a", 2, &rp, NULL, 0), REVPATH_SYNTAX);
	ck_assert_int_eq(revpath_parse("<a", 2, &rp, one, 1), REVPATH_SYNTAX);
	ck_assert_int_eq(one[0], '\0');
	ck_assert_int_eq(revpath_parse("<a", 2, &rp, err, sizeof(err)),
	                 REVPATH_SYNTAX);
	ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
	ck_assert_int_eq(revpath_parse("<a", 2, NULL, err, sizeof(err)),
	                 REVPATH_SYNTAX);
	/* a success clears a message left by an earlier failure */
	ck_assert_int_eq(
	    revpath_parse("a@b.example", 11, &rp, err, sizeof(err)),
	    REVPATH_OK);
	ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(test_names_replies)
{
	int code;

	for (code = REVPATH_OK; code <= REVPATH_TOO_LONG; code++)
		ck_assert_int_eq(revpath_code_lookup(revpath_code_name(code)),
		                 code);
	ck_assert_str_eq(revpath_code_name(-1), "unknown");
	ck_assert_str_eq(revpath_code_name(99), "unknown");
	ck_assert_int_eq(revpath_code_lookup("nonsense"), -1);
	ck_assert_int_eq(revpath_code_lookup(NULL), -1);
	ck_assert_str_eq(revpath_reply(REVPATH_OK)->disposition, "accept");
	ck_assert_ptr_null(revpath_reply(REVPATH_NULL)->rcode);
	ck_assert_str_eq(revpath_reply(REVPATH_LITERAL)->disposition,
	                 "accept-literal");
	ck_assert_str_eq(revpath_reply(REVPATH_SYNTAX)->rcode, "550");
	ck_assert_str_eq(revpath_reply(REVPATH_TOO_LONG)->xcode, "5.1.7");
	/* an unknown code is refused, never accepted */
	ck_assert_str_eq(revpath_reply(42)->disposition, "reject");
}
END_TEST

/* Seeds for the mutation test: every shape the grammar knows. */
static const char *const seeds[] = {
    "<user@example.com>",
    "bounces@mail.example.com",
    "<>",
    "<@a.example,@b.example:u@c.example>",
    "<\"john \\\"q\\\" doe\"@example.com>",
    "<u@[192.0.2.1]>",
    "<u@[IPv6:2001:db8::1]>",
    ("<u@b\xc3\xbc"
     "cher.example>"),
    "<\xd0\xbf@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.xn--p1ai>",
    "<A.B+c@Sub.Example.COM.>",
    "<u@x_y.example>",
    /* at the label limit: one more octet is too_long */
    "<u@abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk."
    "example>",
    /* a VERP path over 256 octets, its local part kept cut */
    "<bounce-"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "=rcpt=example.net@em.example.com>",
};

/* Bytes the mutator favours: the grammar's punctuation and edges. */
static const char interesting[] = "<>@.,:\"\\[] -_!IPv6xn";

/* rng - xorshift64*, deterministic so that a failure reproduces. */
static uint64_t
rng(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}

/* pick - one of the interesting bytes. */
static char
pick(uint64_t *st)
{
	return interesting[rng(st) % (sizeof(interesting) - 1)];
}

/* mutate - one random edit of buf[*len] in place. */
static void
mutate(char *buf, size_t *len, uint64_t *st)
{
	size_t pos = *len > 0 ? rng(st) % *len : 0;
	unsigned op = (unsigned)(rng(st) % 6);
	char c = rng(st) % 3 == 0 ? (char)(rng(st) & 0xff) : pick(st);

	if (op == 0 && *len > 0) {
		buf[pos] = c;
	} else if (op == 1 && *len > 0) {
		memmove(buf + pos, buf + pos + 1, *len - pos - 1);
		(*len)--;
	} else if (op == 2 && *len > 0) {
		*len = pos;
	} else if (op == 3 && *len > 0 && *len * 2 <= MUTANT_MAX) {
		memcpy(buf + *len, buf, *len); /* doubles the input */
		*len *= 2;
	} else if (*len < MUTANT_MAX) {
		memmove(buf + pos + 1, buf + pos, *len - pos);
		buf[pos] = c;
		(*len)++;
	}
}

/* check_invariants - what any result must satisfy. */
static void
check_invariants(const char *in, size_t len, int rc, const struct revpath *rp,
                 const char *err)
{
	char again[DOMAIN_BUF], why[REVPATH_ERR_MAX], path[600];
	struct revpath rp2;
	int n;

	ck_assert_msg(rc >= REVPATH_OK && rc <= REVPATH_TOO_LONG, "code %d",
	              rc);
	ck_assert(memchr(err, '\0', REVPATH_ERR_MAX) != NULL);
	if (rc == REVPATH_SYNTAX || rc == REVPATH_TOO_LONG) {
		ck_assert_msg(err[0] != '\0', "no message for %.*s", (int)len,
		              in);
		return;
	}
	ck_assert_str_eq(err, "");
	ck_assert(rc != REVPATH_NULL || (rp->null && rp->domain[0] == '\0'));
	if (rc == REVPATH_NULL)
		return;
	ck_assert(rp->local[0] != '\0' &&
	          strlen(rp->local) < REVPATH_LOCAL_BUF);
	ck_assert(rp->long_local == (strlen(rp->local) > REVPATH_LOCAL_MAX));
	/* a cut local part needs a path over the limit; a path within it
	 * is no longer than it */
	ck_assert(!rp->local_cut || rp->long_path);
	ck_assert(rp->long_path || len <= REVPATH_PATH_MAX);
	if (rc == REVPATH_OK) {
		/* a normalized domain normalizes to itself */
		ck_assert_int_eq(
		    domain_normalize(rp->domain, strlen(rp->domain), again,
		                     sizeof(again), why, sizeof(why)),
		    0);
		ck_assert_str_eq(again, rp->domain);
	} else {
		ck_assert(rp->literal && rp->domain[0] == '[' &&
		          rp->domain[strlen(rp->domain) - 1] == ']');
	}
	/* what came out parses again to the same thing */
	n = snprintf(path, sizeof(path), "<%s@%s>", rp->local, rp->domain);
	if (n <= REVPATH_PATH_MAX && !rp->local_cut) {
		ck_assert_int_eq(run(path, &rp2, why), rc);
		ck_assert_str_eq(rp2.local, rp->local);
		ck_assert_str_eq(rp2.domain, rp->domain);
	}
}

START_TEST(test_mutations)
{
	char buf[MUTANT_MAX + 8], err[REVPATH_ERR_MAX];
	unsigned counts[REVPATH_TOO_LONG + 1] = {0};
	uint64_t st = 0x9e3779b97f4a7c15ULL;
	struct revpath rp;
	size_t len, k;
	unsigned i;
	int rc;

	for (i = 0; i < MUTATIONS; i++) {
		const char *seed =
		    seeds[i % (sizeof(seeds) / sizeof(seeds[0]))];

		len = strlen(seed);
		memcpy(buf, seed, len);
		for (k = 1 + rng(&st) % 4; k > 0; k--)
			mutate(buf, &len, &st);
		rc = parse_exact(buf, len, &rp, err, sizeof(err));
		check_invariants(buf, len, rc, &rp, err);
		counts[rc]++;
	}
	/* the mutator reaches every outcome, or it tests too little */
	for (k = 0; k <= REVPATH_TOO_LONG; k++)
		ck_assert_msg(counts[k] > 0, "no %s outcome",
		              revpath_code_name((int)k));
}
END_TEST

START_TEST(test_random_bytes)
{
	char buf[300], err[REVPATH_ERR_MAX];
	uint64_t st = 42;
	struct revpath rp;
	size_t len, k;
	unsigned i;
	int rc;

	for (i = 0; i < MUTATIONS / 4; i++) {
		len = rng(&st) % sizeof(buf);
		for (k = 0; k < len; k++)
			buf[k] = rng(&st) % 4 == 0
			             ? pick(&st)
			             : (char)('a' + rng(&st) % 26);
		rc = parse_exact(buf, len, &rp, err, sizeof(err));
		check_invariants(buf, len, rc, &rp, err);
	}
}
END_TEST

/* revpath_suite - every test above. */
static Suite *
revpath_suite(void)
{
	Suite *s = suite_create("revpath");
	TCase *tc = tcase_create("grammar");
	TCase *tr = tcase_create("robustness");

	tcase_add_test(tc, test_corpus);
	tcase_add_test(tc, test_brackets);
	tcase_add_test(tc, test_null);
	tcase_add_test(tc, test_source_route);
	tcase_add_test(tc, test_quoted);
	tcase_add_test(tc, test_dot_string);
	tcase_add_test(tc, test_domain);
	tcase_add_test(tc, test_literal);
	tcase_add_test(tc, test_limits_local);
	tcase_add_test(tc, test_limits_long_path);
	tcase_add_test(tc, test_limits_label_path);
	tcase_add_test(tc, test_bytes);
	tcase_add_test(tc, test_no_nul_termination);
	tcase_add_test(tc, test_err_buffer);
	tcase_add_test(tc, test_names_replies);
	suite_add_tcase(s, tc);
	tcase_add_test(tr, test_mutations);
	tcase_add_test(tr, test_random_bytes);
	tcase_set_timeout(tr, 60);
	suite_add_tcase(s, tr);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(revpath_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
