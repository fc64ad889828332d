/*
 * test_dmarc.c - DMARC record parsing, selection and evaluation.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_dmarc
 *
 * DESCRIPTION
 *	Records are fed as bytes with explicit lengths; answers are built with
 *	fake_answer(), so no DNS is involved.  Hostile input (NUL, controls,
 *	64 KiB values, 10,000 separators, random mutations) must give an error
 *	or a result, never a crash or an unbounded string (run under ASan).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"
#include "dnsmsg.h"
#include "fake_answer.h"
#include "report.h"

#define ERRLEN 256
#define BIG (64 * 1024)

/* parse_s - dmarc_parse on a C string. */
static int
parse_s(const char *s, struct dmarc_record *r, char *err, size_t errlen)
{
	return dmarc_parse((const unsigned char *)s, strlen(s), r, err, errlen);
}

/* ok - the record parses; fails the test with the error otherwise. */
static struct dmarc_record
ok(const char *s)
{
	struct dmarc_record r;
	char err[ERRLEN];

	ck_assert_msg(parse_s(s, &r, err, sizeof(err)) == 0,
	              "\"%s\" rejected: %s", s, err);
	return r;
}

/* bad - the record is rejected with a message containing needle. */
static void
bad(const char *s, const char *needle)
{
	struct dmarc_record r;
	char err[ERRLEN];

	ck_assert_msg(parse_s(s, &r, err, sizeof(err)) == -1, "\"%s\" accepted",
	              s);
	ck_assert_msg(strstr(err, needle) != NULL,
	              "\"%s\": error \"%s\" lacks \"%s\"", s, err, needle);
}

/* txt - a TXT answer at name with n values (outcome DNS_OK if n > 0). */
static void
txt(struct dns_answer *a, const char *name, enum dns_outcome o, size_t n,
    const char *const *v)
{
	fake_answer(a, name, DNS_TYPE_TXT, o, n, v);
}

/* ---- parsing: valid records ---- */

static const char *const valid_records[] = {
    "v=DMARC1; p=none;",
    "v=DMARC1; p=none",
    "v=DMARC1;p=none",
    "v=DMARC1 ; p = none ;",
    "v=DMARC1;\tp=none;\t",
    "v = DMARC1; p=none",
    "V=DMARC1; P=NONE",
    "v=DMARC1; p=Quarantine",
    "v=DMARC1; p=reject; sp=none; np=quarantine",
    "v=DMARC1; p=none;;; ;",
    "v=DMARC1; rua=mailto:d@example.com; p=none",
    "v=DMARC1; p=none; adkim=s; aspf=R",
    "v=DMARC1; p=none; pct=0",
    "v=DMARC1; p=none; pct=100",
    "v=DMARC1; p=none; pct=050",
    "v=DMARC1; p=none; fo=0:1:d:s",
    "v=DMARC1; p=none; fo=1 : d",
    "v=DMARC1; p=none; rf=afrf",
    "v=DMARC1; p=none; rf=AFRF:afrf",
    "v=DMARC1; p=none; ri=0",
    "v=DMARC1; p=none; ri=4294967295",
    "v=DMARC1; p=none; rua=mailto:a@example.com,mailto:b@example.net",
    "v=DMARC1; p=none; rua=mailto:a@example.com , mailto:b@example.net",
    "v=DMARC1; p=none; rua=mailto:a@example.com!10m",
    "v=DMARC1; p=none; rua=mailto:a@example.com!10",
    "v=DMARC1; p=none; ruf=mailto:a@example.com!5K",
    "v=DMARC1; p=none; rua=https://example.com/dmarc%2Creports",
    "v=DMARC1; p=none; rua=mailto:a!b@example.com",
    "v=DMARC1; p=none; rua=MAILTO:a@example.com?subject=x",
    "v=DMARC1; p=none; psd=y; t=y",
    "v=DMARC1; p=none; psd=n; t=n",
    "v=DMARC1; p=none; psd=u",
    "v=DMARC1; p=none; x=anything goes here",
    "v=DMARC1; p=none; foo_bar2=1; foo_bar2=2",
    "v=DMARC1; p=none; future=",
};

START_TEST(parse_valid)
{
	ok(valid_records[_i]);
}
END_TEST

/* ---- parsing: invalid records ---- */

static const struct {
	const char *rec;
	const char *needle;
} invalid_records[] = {
    {"", "must start with v=DMARC1"},
    {";", "must start with v=DMARC1"},
    {"p=none; v=DMARC1", "must start with v=DMARC1"},
    {" ; v=DMARC1; p=none", "must start with v=DMARC1"},
    {"v=DMARC2; p=none", "exactly DMARC1"},
    {"v=dmarc1; p=none", "exactly DMARC1"},
    {"v=DMARC1x; p=none", "exactly DMARC1"},
    {"v=; p=none", "exactly DMARC1"},
    {"v=DMARC1 p=none", "a ';' must follow v=DMARC1"},
    {"vv=DMARC1; p=none", "must start with v=DMARC1"},
    {"v=DMARC1", "tag p is missing"},
    {"v=DMARC1;", "tag p is missing"},
    {"v=DMARC1; sp=none", "tag p is missing"},
    {"v=DMARC1; pp=none", "without p or a valid rua"},
    {"v=DMARC1; p=none; v=DMARC1", "only once, as the first tag"},
    {"v=DMARC1; p=none; p=reject", "tag p appears twice"},
    {"v=DMARC1; p=none; P=reject", "tag p appears twice"},
    {"v=DMARC1; p=", "tag p has an empty value"},
    {"v=DMARC1; p=nonee", "p=nonee: the policy must be"},
    {"v=DMARC1; p=none reject", "p=none reject"},
    {"v=DMARC1; p=bogus", "RFC 7489 6.6.3"},
    {"v=DMARC1; p=none; sp=all", "sp=all"},
    {"v=DMARC1; p=none; np=maybe", "np=maybe"},
    {"v=DMARC1; p=none; fo=2", "fo=2"},
    {"v=DMARC1; p=none; fo=0:", "fo=0:"},
    {"v=DMARC1; p=none; fo=0,1", "fo=0,1"},
    {"v=DMARC1; p=none; psd=x", "psd=x"},
    {"v=DMARC1; p=none; t=u", "t=u"},
    {"v=DMARC1; p=none; junk", "\"junk\" is not a tag=value pair"},
    {"v=DMARC1; p=none; =x", "not a tag=value pair"},
    {"v=DMARC1; p=none; 1x=2", "not a tag=value pair"},
    {"v=DMARC1; p=none; a-b=2", "not a tag=value pair"},
    {"v=DMARC1; p=none\r\n", "byte 0x0d at offset 16"},
    {"v=DMARC1; p=none; x=\x7f", "byte 0x7f"},
    {"v=DMARC1; p=none; x=\xc3\xa9", "byte 0xc3"},
    {"v=DMARC1;\x1b[31m p=none", "byte 0x1b at offset 9"},
};

START_TEST(parse_invalid)
{
	bad(invalid_records[_i].rec, invalid_records[_i].needle);
}
END_TEST

/* ---- parsing: read leniently, as receivers do, with a warning ---- */

static const struct {
	const char *rec;
	const char *needle; /* in the warning */
	char adkim, aspf;
	enum dmarc_policy p;
	bool has_rua;
} lenient_records[] = {
    {"v=DMARC1; rua=mailto:a@example.com", "read this record as p=none", 'r',
     'r', DMARC_POLICY_NONE, true},
    {"v=DMARC1; rua=mailto:a@example.com,junk; adkim=s",
     "rua=mailto:a@example.com,junk: a report URI needs a scheme, such as "
     "mailto:; receivers drop that URI and keep the rest: fix it or remove "
     "it.",
     's', 'r', DMARC_POLICY_NONE, true},
    {"v=DMARC1; p=none; rua=mailto:a@x.y; rua=mailto:b@x.y",
     "Tag rua appears twice", 'r', 'r', DMARC_POLICY_NONE, true},
    {"v=DMARC1; p=none; pct=1; pct=1", "Tag pct appears twice", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=reject; adkim=x", "adkim=x: not r or s, so receivers use r",
     'r', 'r', DMARC_POLICY_REJECT, false},
    {"v=DMARC1; p=none; aspf=rs", "aspf=rs: not r or s", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; adkim=", "adkim=: not r or s", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; aspf=s; adkim=strict", "adkim=strict", 'r', 's',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; pct=101", "pct is gone from DMARC (RFC 9989)", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; pct=-1", "pct=-1: pct is gone", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; pct=0100", "pct=0100", 'r', 'r', DMARC_POLICY_NONE,
     false},
    {"v=DMARC1; p=none; pct=5.5", "pct=5.5", 'r', 'r', DMARC_POLICY_NONE,
     false},
    {"v=DMARC1; p=none; pct=", "pct=: pct is gone", 'r', 'r', DMARC_POLICY_NONE,
     false},
    {"v=DMARC1; p=none; pct=100", "receivers ignore it", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=reject; pct=0", "pct=0 is read as t=y", 'r', 'r',
     DMARC_POLICY_REJECT, false},
    {"v=DMARC1; p=none; rf=iodef", "rf is gone from DMARC", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; rf=afrf", "rf=afrf: rf is gone", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; rf=afrf:", "rf=afrf:", 'r', 'r', DMARC_POLICY_NONE,
     false},
    {"v=DMARC1; p=none; ri=4294967296", "ri is gone from DMARC", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; ri=86400", "ri=86400: ri is gone", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; ri=99999999999999999999999", "ri=", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; ri=1h", "ri=1h", 'r', 'r', DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; ri=+5", "ri=+5", 'r', 'r', DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; rua=a@example.com", "needs a scheme", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; rua=mailto:", "nothing after its scheme", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; rua=mailto:example.com", "mailto:dmarc@", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; rua=mailto:@example.com", "mailto:dmarc@", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; rua=mailto:a@", "mailto:dmarc@", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; rua=mailto:a@x.y,", "empty entry", 'r', 'r',
     DMARC_POLICY_NONE, true},
    {"v=DMARC1; p=none; rua=,mailto:a@x.y", "empty entry", 'r', 'r',
     DMARC_POLICY_NONE, true},
    {"v=DMARC1; p=none; rua=mailto:a@x.y!", "size limit", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; rua=mailto:a@x.y!10x", "size limit", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; rua=mailto:a@x.y!10mb", "size limit", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; rua=mailto:a b@x.y", "percent-encoded", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; rua=mailto:a@x.y%2", "two hex digits", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; rua=mailto:a@x.y%zz", "two hex digits", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; rua=1mailto:a@x.y", "needs a scheme", 'r', 'r',
     DMARC_POLICY_NONE, false},
    {"v=DMARC1; p=none; ruf=mailto:a\"@x.y", "ruf=", 'r', 'r',
     DMARC_POLICY_NONE, false},
};

START_TEST(parse_lenient)
{
	struct dmarc_record r = ok(lenient_records[_i].rec);

	ck_assert_uint_ge(r.nwarn, 1);
	ck_assert_msg(strstr(r.warn, lenient_records[_i].needle) != NULL,
	              "\"%s\": warning \"%s\" lacks \"%s\"",
	              lenient_records[_i].rec, r.warn,
	              lenient_records[_i].needle);
	ck_assert_int_eq(r.adkim, lenient_records[_i].adkim);
	ck_assert_int_eq(r.aspf, lenient_records[_i].aspf);
	ck_assert_int_eq(r.p, lenient_records[_i].p);
	ck_assert_int_eq(r.has_rua, lenient_records[_i].has_rua);
}
END_TEST

/* The records a strict reading accepts carry no warning. */
START_TEST(parse_clean_no_warning)
{
	struct dmarc_record r =
	    ok("v=DMARC1; p=quarantine; sp=none; np=reject; adkim=s; aspf=r; "
	       "fo=1; rua=mailto:d@example.com; psd=n; t=n; future=1");

	ck_assert_uint_eq(r.nwarn, 0);
	ck_assert_str_eq(r.warn, "");
}
END_TEST

/* A bad rua with no p leaves no valid rua: the record is unusable. */
START_TEST(parse_lenient_limits)
{
	bad("v=DMARC1; rua=junk", "without p or a valid rua");
	bad("v=DMARC1; adkim=x", "without p or a valid rua");
}
END_TEST

/* Test mode: t=y and pct=0 lower what receivers apply by one step. */
START_TEST(parse_test_mode)
{
	struct dmarc_record r = ok("v=DMARC1; p=reject; t=y");

	ck_assert(dmarc_test_mode(&r));
	ck_assert_int_eq(dmarc_enforced(&r, DMARC_POLICY_REJECT),
	                 DMARC_POLICY_QUARANTINE);
	ck_assert_int_eq(dmarc_enforced(&r, DMARC_POLICY_QUARANTINE),
	                 DMARC_POLICY_NONE);
	ck_assert_int_eq(dmarc_enforced(&r, DMARC_POLICY_NONE),
	                 DMARC_POLICY_NONE);
	r = ok("v=DMARC1; p=reject; pct=0");
	ck_assert(dmarc_test_mode(&r));
	r = ok("v=DMARC1; p=reject; pct=50");
	ck_assert(!dmarc_test_mode(&r));
	ck_assert_int_eq(dmarc_enforced(&r, DMARC_POLICY_REJECT),
	                 DMARC_POLICY_REJECT);
	r = ok("v=DMARC1; p=reject; t=n");
	ck_assert(!dmarc_test_mode(&r));
}
END_TEST

START_TEST(parse_defaults)
{
	struct dmarc_record r = ok("v=DMARC1; p=none;");

	ck_assert_int_eq(r.p, DMARC_POLICY_NONE);
	ck_assert_int_eq(r.sp, DMARC_POLICY_UNSET);
	ck_assert_int_eq(r.np, DMARC_POLICY_UNSET);
	ck_assert_int_eq(r.adkim, 'r');
	ck_assert_int_eq(r.aspf, 'r');
	ck_assert_uint_eq(r.pct, 100);
	ck_assert_uint_eq(r.ri, 86400);
	ck_assert_str_eq(r.fo, "0");
	ck_assert(!r.has_rua);
	ck_assert(!r.has_ruf);
	ck_assert_int_eq(r.psd, 'u');
	ck_assert_int_eq(r.t, 'n');
}
END_TEST

START_TEST(parse_values)
{
	struct dmarc_record r =
	    ok("v=DMARC1; p=Reject; sp=quarantine; "
	       "np=none; adkim=S; aspf=s; pct=7; fo=s:D:s:0; "
	       "ri=3600; rua=mailto:a@x.y; ruf=mailto:b@x.y; "
	       "psd=Y; t=Y");

	ck_assert_int_eq(r.p, DMARC_POLICY_REJECT);
	ck_assert_int_eq(r.sp, DMARC_POLICY_QUARANTINE);
	ck_assert_int_eq(r.np, DMARC_POLICY_NONE);
	ck_assert_int_eq(r.adkim, 's');
	ck_assert_int_eq(r.aspf, 's');
	ck_assert_uint_eq(r.pct, 7);
	ck_assert_uint_eq(r.ri, 3600);
	ck_assert_str_eq(r.fo, "s:d:0");
	ck_assert(r.has_rua);
	ck_assert(r.has_ruf);
	ck_assert_int_eq(r.psd, 'y');
	ck_assert_int_eq(r.t, 'y');
}
END_TEST

START_TEST(parse_fo_all_repeated)
{
	struct dmarc_record r = ok("v=DMARC1; p=none; "
	                           "fo=0:1:d:s:0:1:d:s:0:1:d:s:0:1:d:s:s:s:s");

	ck_assert_str_eq(r.fo, "0:1:d:s");
}
END_TEST

START_TEST(parse_not_nul_terminated)
{
	/* The record ends before "; p=bogus": only the length counts. */
	const char buf[] = "v=DMARC1; p=reject; p=bogus";
	struct dmarc_record r;
	char err[ERRLEN];

	ck_assert_int_eq(
	    dmarc_parse((const unsigned char *)buf, 19, &r, err, sizeof(err)),
	    0);
	ck_assert_int_eq(r.p, DMARC_POLICY_REJECT);
	ck_assert_int_eq(
	    dmarc_parse((const unsigned char *)buf, 8, &r, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "tag p is missing"));
}
END_TEST

START_TEST(parse_nul_byte)
{
	static const unsigned char rec[] = "v=DMARC1; p=none\0; p=reject";
	char err[ERRLEN];

	ck_assert_int_eq(
	    dmarc_parse(rec, sizeof(rec) - 1, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "byte 0x00 at offset 16"));
}
END_TEST

START_TEST(parse_null_args)
{
	char err[ERRLEN];

	ck_assert_int_eq(dmarc_parse(NULL, 10, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "must start with v=DMARC1"));
	ck_assert_int_eq(parse_s("v=DMARC1; p=none", NULL, NULL, 0), 0);
	ck_assert_int_eq(parse_s("v=DMARC1; p=nne", NULL, NULL, 0), -1);
	/* A one-byte buffer still gets its NUL. */
	err[0] = 'x';
	ck_assert_int_eq(parse_s("v=DMARC1", NULL, err, 1), -1);
	ck_assert_int_eq(err[0], '\0');
}
END_TEST

START_TEST(parse_error_value_sanitized_and_short)
{
	char rec[600], err[ERRLEN];
	size_t n;

	n = (size_t)snprintf(rec, sizeof(rec), "v=DMARC1; p=");
	memset(rec + n, 'z', 500);
	rec[n + 500] = '\0';
	ck_assert_int_eq(parse_s(rec, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "p=zzz"));
	ck_assert_ptr_nonnull(strstr(err, "..."));
	ck_assert_uint_lt(strlen(err), 200);
	ck_assert_int_eq(
	    parse_s("v=DMARC1; p=none; sp=a\\b", NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "sp=a\\\\b"));
}
END_TEST

/* ---- hostile input ---- */

START_TEST(hostile_semicolons)
{
	size_t n = 10000, pre = strlen("v=DMARC1"), i;
	char *rec = malloc(pre + n + 16);
	char err[ERRLEN];
	struct dmarc_record r;

	ck_assert_ptr_nonnull(rec);
	memcpy(rec, "v=DMARC1", pre);
	for (i = 0; i < n; i++)
		rec[pre + i] = ';';
	ck_assert_int_eq(
	    dmarc_parse((unsigned char *)rec, pre + n, &r, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "tag p is missing"));
	memcpy(rec + pre + n, "p=reject", 8);
	ck_assert_int_eq(dmarc_parse((unsigned char *)rec, pre + n + 8, &r, err,
	                             sizeof(err)),
	                 0);
	ck_assert_int_eq(r.p, DMARC_POLICY_REJECT);
	/* only separators */
	ck_assert_int_eq(
	    dmarc_parse((unsigned char *)rec + pre, n, &r, err, sizeof(err)),
	    -1);
	free(rec);
}
END_TEST

START_TEST(hostile_big_values)
{
	const char *tags[] = {"x=", "rua=mailto:", "p=", "fo=", "ri="};
	unsigned char *rec = malloc(BIG + 64);
	char err[ERRLEN];
	size_t t;

	ck_assert_ptr_nonnull(rec);
	for (t = 0; t < sizeof(tags) / sizeof(*tags); t++) {
		size_t n =
		    (size_t)snprintf((char *)rec, 64, "v=DMARC1; %s", tags[t]);
		int rc;

		memset(rec + n, t == 3 ? '1' : (t == 4 ? '9' : 'a'), BIG);
		rec[n + BIG] = '@';
		rc = dmarc_parse(rec, n + BIG + 1, NULL, err, sizeof(err));
		ck_assert_int_eq(rc, -1);
		ck_assert_uint_lt(strlen(err), sizeof(err));
	}
	free(rec);
}
END_TEST

START_TEST(hostile_many_tags)
{
	size_t n = 10000, i, used;
	char *rec = malloc(n * 8 + 32);

	ck_assert_ptr_nonnull(rec);
	used = (size_t)sprintf(rec, "v=DMARC1; p=none");
	for (i = 0; i < n; i++)
		used += (size_t)sprintf(rec + used, "; x%zu=1", i % 1000);
	ck_assert_int_eq(dmarc_parse((unsigned char *)rec, used, NULL, NULL, 0),
	                 0);
	free(rec);
}
END_TEST

START_TEST(hostile_every_byte)
{
	/* Each byte value in a tag name, a known value and an unknown one. */
	static const char *const around[][2] = {
	    {"v=DMARC1; p=none; ", "=1"},
	    {"v=DMARC1; p=non", ""},
	    {"v=DMARC1; p=none; x=", ""},
	    {"v=DMARC1; p=none; rua=mailto:a", "@x.y"},
	};
	unsigned c;
	size_t f;

	for (f = 0; f < sizeof(around) / sizeof(*around); f++) {
		for (c = 0; c < 256; c++) {
			unsigned char rec[64];
			size_t a = strlen(around[f][0]);
			size_t b = strlen(around[f][1]);
			char err[ERRLEN];
			int rc;

			memcpy(rec, around[f][0], a);
			rec[a] = (unsigned char)c;
			memcpy(rec + a + 1, around[f][1], b);
			rc =
			    dmarc_parse(rec, a + 1 + b, NULL, err, sizeof(err));
			ck_assert(rc == 0 || rc == -1);
			if ((c < 0x20 && c != '\t') || c >= 0x7f)
				ck_assert_msg(rc == -1, "byte %u accepted", c);
		}
	}
}
END_TEST

/* xorshift - a fixed pseudo-random sequence, so failures repeat. */
static uint32_t
xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

START_TEST(hostile_mutations)
{
	static const char seed[] = "v=DMARC1; p=quarantine; sp=none; "
	                           "rua=mailto:a@x.y!10m,https://r.x/%41; "
	                           "fo=0:d; pct=50; ri=3600; t=y";
	uint32_t s = 0x9e3779b9u;
	int round;

	for (round = 0; round < 20000; round++) {
		unsigned char rec[sizeof(seed) + 8];
		size_t len = sizeof(seed) - 1, k, edits;
		char err[ERRLEN];
		struct dmarc_record r;

		memcpy(rec, seed, len);
		edits = 1 + xorshift(&s) % 4;
		for (k = 0; k < edits; k++) {
			static const char pool[] = ";=:,!% \t@vV0DMARC1";
			uint32_t x = xorshift(&s);

			rec[x % len] =
			    (x >> 16) & 1
			        ? (unsigned char)(x >> 8)
			        : (unsigned char)
			              pool[(x >> 8) % (sizeof(pool) - 1)];
		}
		len = xorshift(&s) % (len + 1);
		memset(err, 'Z', sizeof(err));
		if (dmarc_parse(rec, len, &r, err, sizeof(err)) == 0) {
			ck_assert(r.p >= DMARC_POLICY_NONE &&
			          r.p <= DMARC_POLICY_REJECT);
			ck_assert_uint_le(r.pct, 100);
		} else {
			ck_assert_ptr_nonnull(memchr(err, '\0', sizeof(err)));
			ck_assert_uint_gt(strlen(err), 0);
		}
	}
}
END_TEST

/* ---- policies ---- */

START_TEST(policy_names)
{
	enum dmarc_policy p;

	ck_assert_int_eq(dmarc_policy_parse("none", &p), 0);
	ck_assert_int_eq(p, DMARC_POLICY_NONE);
	ck_assert_int_eq(dmarc_policy_parse("QUARANTINE", &p), 0);
	ck_assert_int_eq(p, DMARC_POLICY_QUARANTINE);
	ck_assert_int_eq(dmarc_policy_parse("reject", &p), 0);
	ck_assert_int_eq(p, DMARC_POLICY_REJECT);
	ck_assert_int_eq(dmarc_policy_parse("rejected", &p), -1);
	ck_assert_int_eq(dmarc_policy_parse("", &p), -1);
	ck_assert_int_eq(dmarc_policy_parse(NULL, &p), -1);
	ck_assert_str_eq(dmarc_policy_name(DMARC_POLICY_NONE), "none");
	ck_assert_str_eq(dmarc_policy_name(DMARC_POLICY_QUARANTINE),
	                 "quarantine");
	ck_assert_str_eq(dmarc_policy_name(DMARC_POLICY_REJECT), "reject");
	ck_assert_str_eq(dmarc_policy_name(DMARC_POLICY_UNSET), "unset");
	ck_assert_str_eq(dmarc_policy_name((enum dmarc_policy)42), "unset");
}
END_TEST

/* ---- selection ---- */

START_TEST(select_outcomes)
{
	static const struct {
		enum dns_outcome o;
		enum dmarc_selection want;
	} t[] = {
	    {DNS_NXDOMAIN, DMARC_SELECT_NONE},
	    {DNS_NODATA, DMARC_SELECT_NONE},
	    {DNS_OK, DMARC_SELECT_NONE}, /* OK with no records */
	    {DNS_SERVFAIL, DMARC_SELECT_TEMP},
	    {DNS_REFUSED, DMARC_SELECT_TEMP},
	    {DNS_TIMEOUT, DMARC_SELECT_TEMP},
	    {DNS_FORMERR, DMARC_SELECT_TEMP},
	    {DNS_CNAME_PENDING, DMARC_SELECT_TEMP},
	    {DNS_CNAME_LOOP, DMARC_SELECT_TEMP},
	    {DNS_ERROR, DMARC_SELECT_TEMP},
	};
	struct dns_answer a;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		txt(&a, "_dmarc.example.com", t[i].o, 0, NULL);
		ck_assert_int_eq(dmarc_select(&a, NULL), t[i].want);
		dns_answer_free(&a);
	}
	ck_assert_int_eq(dmarc_select(NULL, NULL), DMARC_SELECT_TEMP);
}
END_TEST

static const struct {
	const char *rec;
	int counts;
} select_records[] = {
    {"v=DMARC1; p=none;", 1},
    {"v=DMARC1", 1},
    {"v=DMARC1;", 1},
    {"v=DMARC1 p=none", 1},
    {"v=DMARC1\tp=none", 1},
    {"v=DMARC1\r\n", 1},
    {"V=DMARC1; p=none", 1},
    {"v = DMARC1; p=none", 1},
    {"v=DMARC1; p=bogus", 1}, /* selected, then fails to parse */
    {"v=DMARC10; p=none", 0},
    {"v=DMARC1x", 0},
    {"v=DMARC", 0},
    {"v=dmarc1; p=none", 0},
    {" v=DMARC1; p=none", 0},
    {"p=none; v=DMARC1", 0},
    {"v=spf1 -all", 0},
    {"", 0},
    {"x", 0},
    {"v", 0},
    {"v=", 0},
};

START_TEST(select_prefix)
{
	struct dns_answer a;
	const char *v[1] = {select_records[_i].rec};
	size_t idx = 99;

	txt(&a, "_dmarc.example.com", DNS_OK, 1, v);
	ck_assert_msg(dmarc_select(&a, &idx) == (select_records[_i].counts
	                                             ? DMARC_SELECT_ONE
	                                             : DMARC_SELECT_NONE),
	              "\"%s\"", select_records[_i].rec);
	ck_assert_uint_eq(idx, select_records[_i].counts ? 0 : 99);
	dns_answer_free(&a);
}
END_TEST

START_TEST(select_one_among_others)
{
	const char *v[] = {"v=spf1 -all", "google-site-verification=x",
	                   "v=DMARC1; p=none", "v=DMARC2; p=none"};
	struct dns_answer a;
	size_t idx = 0;

	txt(&a, "_dmarc.example.com", DNS_OK, 4, v);
	ck_assert_int_eq(dmarc_select(&a, &idx), DMARC_SELECT_ONE);
	ck_assert_uint_eq(idx, 2);
	dns_answer_free(&a);
}
END_TEST

START_TEST(select_many)
{
	const char *v[] = {"v=spf1 -all", "v=DMARC1; p=none",
	                   "v=DMARC1; p=reject"};
	struct dns_answer a;
	size_t idx = 0;

	txt(&a, "_dmarc.example.com", DNS_OK, 3, v);
	ck_assert_int_eq(dmarc_select(&a, &idx), DMARC_SELECT_MANY);
	ck_assert_uint_eq(idx, 1);
	dns_answer_free(&a);
}
END_TEST

START_TEST(select_ignores_other_types)
{
	const char *v[] = {"v=DMARC1; p=none"};
	struct dns_answer a;

	txt(&a, "_dmarc.example.com", DNS_OK, 1, v);
	a.rrs[0].type = DNS_TYPE_CNAME;
	ck_assert_int_eq(dmarc_select(&a, NULL), DMARC_SELECT_NONE);
	dns_answer_free(&a);
}
END_TEST

/* ---- discovery ---- */

START_TEST(needs_org)
{
	const char *one[] = {"v=DMARC1; p=none"};
	const char *two[] = {"v=DMARC1; p=none", "v=DMARC1; p=none"};
	const char *other[] = {"v=spf1 -all"};
	struct dns_answer nx, temp, a1, a2, ao;

	txt(&nx, "_dmarc.shop.example.com", DNS_NXDOMAIN, 0, NULL);
	txt(&temp, "_dmarc.shop.example.com", DNS_TIMEOUT, 0, NULL);
	txt(&a1, "_dmarc.shop.example.com", DNS_OK, 1, one);
	txt(&a2, "_dmarc.shop.example.com", DNS_OK, 2, two);
	txt(&ao, "_dmarc.shop.example.com", DNS_OK, 1, other);
	ck_assert(dmarc_needs_org("shop.example.com", "example.com", &nx));
	ck_assert(dmarc_needs_org("shop.example.com", "example.com", &ao));
	ck_assert(!dmarc_needs_org("shop.example.com", "example.com", &temp));
	ck_assert(!dmarc_needs_org("shop.example.com", "example.com", &a1));
	ck_assert(!dmarc_needs_org("shop.example.com", "example.com", &a2));
	ck_assert(!dmarc_needs_org("example.com", "example.com", &nx));
	ck_assert(!dmarc_needs_org("Example.COM.", "example.com", &nx));
	ck_assert(!dmarc_needs_org("shop.example.com", "", &nx));
	ck_assert(!dmarc_needs_org("shop.example.com", NULL, &nx));
	ck_assert(!dmarc_needs_org(NULL, "example.com", &nx));
	ck_assert(!dmarc_needs_org("shop.example.com", "example.com", NULL));
	dns_answer_free(&nx);
	dns_answer_free(&temp);
	dns_answer_free(&a1);
	dns_answer_free(&a2);
	dns_answer_free(&ao);
}
END_TEST

/* ---- evaluation ---- */

/* eval1 - evaluate with one record (or an outcome) at each level. */
static void
eval1(const char *domain, const char *org, enum dns_outcome od,
      const char *rec_d, enum dns_outcome oo, const char *rec_o, bool ask_org,
      enum dmarc_policy min, struct check_result *res)
{
	struct dns_answer ad, ao;
	const char *vd[1] = {rec_d}, *vo[1] = {rec_o};
	char nd[300], no[300];

	snprintf(nd, sizeof(nd), "_dmarc.%s", domain);
	snprintf(no, sizeof(no), "_dmarc.%s", org);
	txt(&ad, nd, od, rec_d ? 1 : 0, vd);
	txt(&ao, no, oo, rec_o ? 1 : 0, vo);
	memset(res, 'Q', sizeof(*res));
	dmarc_evaluate(domain, org, &ad, ask_org ? &ao : NULL, min, res);
	dns_answer_free(&ad);
	dns_answer_free(&ao);
}

/* has - the detail contains needle. */
static void
has(const struct check_result *res, const char *needle)
{
	ck_assert_msg(strstr(res->detail, needle) != NULL,
	              "detail \"%s\" lacks \"%s\"", res->detail, needle);
}

START_TEST(eval_seed_record)
{
	struct check_result res;

	eval1("example.com", "example.com", DNS_OK, "v=DMARC1; p=none;",
	      DNS_NXDOMAIN, NULL, false, DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.type, CHECK_DMARC);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_str_eq(res.name, "_dmarc.example.com");
	ck_assert_str_eq(res.expected, "v=DMARC1; p=none (or stricter)");
	ck_assert_str_eq(res.seen, "v=DMARC1; p=none;");
	has(&res, "effective policy is none");
	has(&res, "found at _dmarc.example.com");
	ck_assert_ptr_null(strstr(res.detail, "pct"));
	ck_assert_ptr_null(strstr(res.detail, "t=y"));
}
END_TEST

START_TEST(eval_min_policy)
{
	static const struct {
		const char *p;
		enum dmarc_policy min;
		enum check_status want;
	} t[] = {
	    {"none", DMARC_POLICY_NONE, CHECK_PASS},
	    {"none", DMARC_POLICY_UNSET, CHECK_PASS},
	    {"none", DMARC_POLICY_QUARANTINE, CHECK_FAIL},
	    {"none", DMARC_POLICY_REJECT, CHECK_FAIL},
	    {"quarantine", DMARC_POLICY_NONE, CHECK_PASS},
	    {"quarantine", DMARC_POLICY_QUARANTINE, CHECK_PASS},
	    {"quarantine", DMARC_POLICY_REJECT, CHECK_FAIL},
	    {"reject", DMARC_POLICY_NONE, CHECK_PASS},
	    {"reject", DMARC_POLICY_QUARANTINE, CHECK_PASS},
	    {"reject", DMARC_POLICY_REJECT, CHECK_PASS},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		struct check_result res;
		char rec[64];

		snprintf(rec, sizeof(rec), "v=DMARC1; p=%s", t[i].p);
		eval1("example.com", "example.com", DNS_OK, rec, DNS_NXDOMAIN,
		      NULL, false, t[i].min, &res);
		ck_assert_msg(res.status == t[i].want, "p=%s min %d: %s",
		              t[i].p, t[i].min, res.detail);
	}
}
END_TEST

START_TEST(eval_min_policy_messages)
{
	struct check_result res;

	eval1("example.com", "example.com", DNS_OK, "v=DMARC1; p=none",
	      DNS_NXDOMAIN, NULL, false, DMARC_POLICY_QUARANTINE, &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(&res, "effective policy is none; at least quarantine required");
	ck_assert_str_eq(res.expected, "v=DMARC1; p=quarantine (or stricter)");
	eval1("example.com", "example.com", DNS_OK, "v=DMARC1; p=quarantine",
	      DNS_NXDOMAIN, NULL, false, DMARC_POLICY_REJECT, &res);
	has(&res, "effective policy is quarantine; at least reject required");
	ck_assert_str_eq(res.expected, "v=DMARC1; p=reject");
}
END_TEST

START_TEST(eval_sp_ignored_at_domain)
{
	struct check_result res;

	/* sp governs subdomains; the domain itself gets p. */
	eval1("example.com", "example.com", DNS_OK,
	      "v=DMARC1; p=reject; sp=none", DNS_NXDOMAIN, NULL, false,
	      DMARC_POLICY_QUARANTINE, &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	has(&res, "effective policy is reject");
	eval1("example.com", "example.com", DNS_OK,
	      "v=DMARC1; p=none; sp=reject", DNS_NXDOMAIN, NULL, false,
	      DMARC_POLICY_QUARANTINE, &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
}
END_TEST

START_TEST(eval_org_sp)
{
	struct check_result res;

	eval1("shop.example.com", "example.com", DNS_NXDOMAIN, NULL, DNS_OK,
	      "v=DMARC1; p=reject; sp=none", true, DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_str_eq(res.name, "_dmarc.example.com");
	ck_assert_str_eq(res.seen, "v=DMARC1; p=reject; sp=none");
	has(&res, "effective policy is none (sp)");
	has(&res, "found by the tree walk at example.com");

	eval1("shop.example.com", "example.com", DNS_NODATA, NULL, DNS_OK,
	      "v=DMARC1; p=reject; sp=none", true, DMARC_POLICY_QUARANTINE,
	      &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(&res, "effective policy is none; at least quarantine required");
	has(&res, "sp=none at _dmarc.example.com");

	eval1("shop.example.com", "example.com", DNS_NXDOMAIN, NULL, DNS_OK,
	      "v=DMARC1; p=none; sp=quarantine", true, DMARC_POLICY_QUARANTINE,
	      &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	has(&res, "effective policy is quarantine (sp)");
}
END_TEST

START_TEST(eval_org_p_and_np)
{
	struct check_result res;

	eval1("shop.example.com", "example.com", DNS_NXDOMAIN, NULL, DNS_OK,
	      "v=DMARC1; p=reject; np=none", true, DMARC_POLICY_REJECT, &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	has(&res, "effective policy is reject (p)");
	has(&res, "np=none applies only to non-existent subdomains");
}
END_TEST

START_TEST(eval_domain_record_wins)
{
	struct check_result res;

	/* A record at the domain ends discovery, even if at_org is given. */
	eval1("shop.example.com", "example.com", DNS_OK, "v=DMARC1; p=none",
	      DNS_OK, "v=DMARC1; p=reject", true, DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_str_eq(res.name, "_dmarc.shop.example.com");
	ck_assert_str_eq(res.seen, "v=DMARC1; p=none");
	has(&res, "found at _dmarc.shop.example.com");
}
END_TEST

START_TEST(eval_pct_and_t)
{
	struct check_result res;

	eval1("example.com", "example.com", DNS_OK,
	      "v=DMARC1; p=reject; pct=25; t=y", DNS_NXDOMAIN, NULL, false,
	      DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	has(&res, "t=y: test mode, receivers apply quarantine instead");
	ck_assert_ptr_nonnull(strstr(res.warning, "pct=25: pct is gone"));

	/* --dmarc-min-policy sees what receivers apply, not what is stated */
	eval1("example.com", "example.com", DNS_OK, "v=DMARC1; p=reject; t=y",
	      DNS_NXDOMAIN, NULL, false, DMARC_POLICY_REJECT, &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(&res, "effective policy is quarantine; at least reject required");
	has(&res, "with t=y");
	eval1("example.com", "example.com", DNS_OK,
	      "v=DMARC1; p=quarantine; pct=0", DNS_NXDOMAIN, NULL, false,
	      DMARC_POLICY_QUARANTINE, &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(&res, "effective policy is none; at least quarantine required");
	has(&res, "with pct=0");
	eval1("example.com", "example.com", DNS_OK,
	      "v=DMARC1; p=reject; pct=50", DNS_NXDOMAIN, NULL, false,
	      DMARC_POLICY_REJECT, &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
}
END_TEST

START_TEST(eval_many_at_domain)
{
	const char *v[] = {"v=DMARC1; p=none", "v=spf1 -all",
	                   "v=DMARC1; p=reject"};
	struct dns_answer a, o;
	struct check_result res;

	txt(&a, "_dmarc.example.com", DNS_OK, 3, v);
	txt(&o, "_dmarc.example.com", DNS_OK, 0, NULL);
	dmarc_evaluate("example.com", "example.com", &a, NULL,
	               DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	ck_assert_str_eq(res.name, "_dmarc.example.com");
	ck_assert_str_eq(
	    res.detail,
	    "2 DMARC records at _dmarc.example.com; publish exactly one "
	    "(RFC 7489 6.6.3)");
	ck_assert_str_eq(res.seen, "v=DMARC1; p=none | v=DMARC1; p=reject");
	/* MANY at the domain does not go on to the org domain */
	ck_assert(!dmarc_needs_org("shop.example.com", "example.com", &a));
	dns_answer_free(&a);
	dns_answer_free(&o);
}
END_TEST

START_TEST(eval_many_at_org)
{
	const char *v[] = {"v=DMARC1; p=none", "v=DMARC1; p=reject",
	                   "v=DMARC1; p=quarantine"};
	struct dns_answer a, o;
	struct check_result res;

	txt(&a, "_dmarc.shop.example.com", DNS_NXDOMAIN, 0, NULL);
	txt(&o, "_dmarc.example.com", DNS_OK, 3, v);
	dmarc_evaluate("shop.example.com", "example.com", &a, &o,
	               DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	ck_assert_str_eq(res.name, "_dmarc.example.com");
	has(&res, "3 DMARC records at _dmarc.example.com");
	dns_answer_free(&a);
	dns_answer_free(&o);
}
END_TEST

START_TEST(eval_many_huge_seen_bounded)
{
	struct dns_answer a;
	struct check_result res;
	unsigned char *big = malloc(BIG);
	int i;

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', BIG);
	memcpy(big, "v=DMARC1; p=none; x=", 20);
	txt(&a, "_dmarc.example.com", DNS_OK, 0, NULL);
	for (i = 0; i < 5; i++)
		fake_answer_add_txt(&a, big, BIG);
	dmarc_evaluate("example.com", "example.com", &a, NULL,
	               DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(&res, "5 DMARC records");
	ck_assert_uint_lt(strlen(res.seen), sizeof(res.seen));
	ck_assert_ptr_nonnull(strstr(res.seen, "..."));
	dns_answer_free(&a);
	free(big);
}
END_TEST

START_TEST(eval_none_everywhere)
{
	struct check_result res;

	eval1("shop.example.com", "example.com", DNS_NXDOMAIN, NULL,
	      DNS_NXDOMAIN, NULL, true, DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_MISSING);
	ck_assert_str_eq(res.name, "_dmarc.example.com");
	ck_assert_str_eq(res.seen, "");
	has(&res, "No DMARC record at _dmarc.shop.example.com nor at "
	          "_dmarc.example.com");
	has(&res, "Publish a TXT record at _dmarc.shop.example.com such as "
	          "v=DMARC1; p=none;");

	eval1("example.com", "example.com", DNS_NODATA, NULL, DNS_NXDOMAIN,
	      NULL, false, DMARC_POLICY_REJECT, &res);
	ck_assert_int_eq(res.status, CHECK_MISSING);
	ck_assert_str_eq(res.name, "_dmarc.example.com");
	has(&res, "Publish a TXT record at _dmarc.example.com such as "
	          "v=DMARC1; p=reject;");
	ck_assert_ptr_null(strstr(res.detail, "nor at"));
}
END_TEST

START_TEST(eval_none_other_txt)
{
	struct check_result res;

	eval1("example.com", "example.com", DNS_OK, "v=spf1 -all", DNS_NXDOMAIN,
	      NULL, false, DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_MISSING);
	ck_assert_str_eq(res.seen, "v=spf1 -all");
	has(&res, "the TXT record at _dmarc.example.com does not start with "
	          "v=DMARC1");

	eval1("shop.example.com", "example.com", DNS_NXDOMAIN, NULL, DNS_OK,
	      "v=dmarc1; p=none", true, DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_MISSING);
	ck_assert_str_eq(res.seen, "v=dmarc1; p=none");
	has(&res, "the TXT record at _dmarc.example.com does not start");
}
END_TEST

START_TEST(eval_temp_at_domain)
{
	struct check_result res;

	eval1("shop.example.com", "example.com", DNS_SERVFAIL, NULL, DNS_OK,
	      "v=DMARC1; p=reject", true, DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_TEMPERROR);
	ck_assert_str_eq(res.name, "_dmarc.shop.example.com");
	has(&res, "servfail");
	eval1("example.com", "example.com", DNS_TIMEOUT, NULL, DNS_NXDOMAIN,
	      NULL, false, DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_TEMPERROR);
	has(&res, "timeout");
}
END_TEST

START_TEST(eval_temp_at_org)
{
	struct check_result res;

	eval1("shop.example.com", "example.com", DNS_NXDOMAIN, NULL,
	      DNS_REFUSED, NULL, true, DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_TEMPERROR);
	ck_assert_str_eq(res.name, "_dmarc.example.com");
	has(&res, "refused");
}
END_TEST

START_TEST(eval_org_not_queried)
{
	struct check_result res;

	eval1("shop.example.com", "example.com", DNS_NXDOMAIN, NULL, DNS_OK,
	      "v=DMARC1; p=reject", false, DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_TEMPERROR);
	ck_assert_str_eq(res.name, "_dmarc.shop.example.com");
	has(&res, "not queried");
}
END_TEST

START_TEST(eval_temp_error_text_sanitized)
{
	struct dns_answer a;
	struct check_result res;

	dns_answer_init(&a, "_dmarc.example.com", DNS_TYPE_TXT, DNS_ERROR,
	                "bad\r\nInjected: yes");
	dmarc_evaluate("example.com", NULL, &a, NULL, DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_TEMPERROR);
	ck_assert_ptr_null(strchr(res.detail, '\n'));
	has(&res, "bad\\x0d\\x0aInjected");
	dmarc_evaluate("example.com", "example.com", NULL, NULL,
	               DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_TEMPERROR);
	has(&res, "no answer");
}
END_TEST

START_TEST(eval_invalid_record)
{
	struct check_result res;

	eval1("example.com", "example.com", DNS_OK, "v=DMARC1; p=nne",
	      DNS_NXDOMAIN, NULL, false, DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	ck_assert_str_eq(res.seen, "v=DMARC1; p=nne");
	has(&res, "The DMARC record at _dmarc.example.com is invalid: "
	          "p=nne");
	eval1("shop.example.com", "example.com", DNS_NXDOMAIN, NULL, DNS_OK,
	      "v=DMARC1; rua=junk", true, DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(&res, "tag p is missing");
}
END_TEST

/* A record receivers still apply passes, its leniencies as warnings. */
START_TEST(eval_lenient_record_warns)
{
	struct check_result res;

	eval1("shop.example.com", "example.com", DNS_NXDOMAIN, NULL, DNS_OK,
	      "v=DMARC1; rua=mailto:d@example.com; aspf=x", true,
	      DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	has(&res, "effective policy is none (p)");
	ck_assert_ptr_nonnull(strstr(res.warning, "aspf=x: not r or s"));
	ck_assert_ptr_nonnull(strstr(res.warning, "Tag p is missing"));
	eval1("example.com", "example.com", DNS_OK, "v=DMARC1; p=none",
	      DNS_NXDOMAIN, NULL, false, DMARC_POLICY_NONE, &res);
	ck_assert_str_eq(res.warning, "");
}
END_TEST

/* judge1 - dmarc_judge on one record at the domain, with a context. */
static void
judge1(const char *domain, const char *rec, const char *mail_from,
       bool spf_required, struct check_result *res)
{
	struct dmarc_context ctx = {.mail_from = mail_from,
	                            .spf_required = spf_required};
	struct dmarc_record r;
	struct dns_answer a;
	char name[300];
	const char *v[1] = {rec};

	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	txt(&a, name, DNS_OK, 1, v);
	dmarc_judge(domain, domain, &a, NULL, DMARC_POLICY_NONE, &ctx, res, &r);
	dns_answer_free(&a);
}

/* aspf=s and a MAIL FROM subdomain: SPF can never align. */
START_TEST(eval_aspf_strict_subdomain)
{
	struct check_result res;

	judge1("example.com", "v=DMARC1; p=none; aspf=s", "mail.example.com",
	       false, &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_ptr_nonnull(strstr(res.warning, "aspf=s: SPF aligns only"));
	ck_assert_ptr_nonnull(strstr(res.warning, "publish aspf=r"));
	judge1("example.com", "v=DMARC1; p=none; aspf=s", "mail.example.com",
	       true, &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	has(&res, "SPF can never align");
	has(&res, "SPF alignment is required");
	/* relaxed, or the MAIL FROM is the domain itself: nothing to say */
	judge1("example.com", "v=DMARC1; p=none", "mail.example.com", true,
	       &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_str_eq(res.warning, "");
	judge1("example.com", "v=DMARC1; p=none; aspf=s", "example.com", true,
	       &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_str_eq(res.warning, "");
}
END_TEST

/* adkim=s: DKIM aligns only for a From of exactly the key's domain. */
START_TEST(eval_adkim_strict)
{
	struct check_result res;

	judge1("example.com", "v=DMARC1; p=none; adkim=s", "mail.example.com",
	       true, &res);
	ck_assert_int_eq(res.status, CHECK_PASS);
	ck_assert_ptr_nonnull(strstr(res.warning, "adkim=s: DKIM aligns only"));
	ck_assert_ptr_nonnull(strstr(res.warning, "publish adkim=r"));
}
END_TEST

/* ---- the DNS tree walk (RFC 9989 section 4.10) ---- */

/* walk_names_are - the walk of domain queries exactly the names given. */
static void
walk_names_are(const char *domain, const char *const *want, size_t n)
{
	char names[DMARC_WALK_MAX][DMARC_NAME_MAX];
	size_t i, got = dmarc_walk_names(domain, names, DMARC_WALK_MAX);

	ck_assert_uint_eq(got, n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(names[i], want[i]);
}

START_TEST(walk_names)
{
	static const char *const short_name[] = {
	    "a.mail.example.com", "mail.example.com", "example.com", "com"};
	static const char *const tld[] = {"com"};
	/* eight or more labels: the full name, then the last seven */
	static const char *const long_name[] = {
	    "a.b.c.d.e.f.g.h.i.j.mail.example.com", "g.h.i.j.mail.example.com"};
	static const char *const eight[] = {"a.b.c.d.e.f.example.com",
	                                    "b.c.d.e.f.example.com",
	                                    "c.d.e.f.example.com",
	                                    "d.e.f.example.com",
	                                    "e.f.example.com",
	                                    "f.example.com",
	                                    "example.com",
	                                    "com"};
	char names[DMARC_WALK_MAX][DMARC_NAME_MAX];

	walk_names_are("a.mail.example.com", short_name, 4);
	walk_names_are("com", tld, 1);
	walk_names_are("a.b.c.d.e.f.example.com", eight, 8);
	ck_assert_uint_eq(dmarc_walk_names("a.b.c.d.e.f.g.h.i.j.mail.example."
	                                   "com",
	                                   names, DMARC_WALK_MAX),
	                  DMARC_WALK_MAX);
	ck_assert_str_eq(names[0], long_name[0]);
	ck_assert_str_eq(names[1], long_name[1]);
	ck_assert_str_eq(names[7], "com");
	ck_assert_uint_eq(dmarc_walk_names("", names, DMARC_WALK_MAX), 0);
	ck_assert_uint_eq(dmarc_walk_names("a.b.example.com", names, 2), 2);
}
END_TEST

/* walk_run - feed the walk of domain from a table of name -> record
 * (NULL record: NXDOMAIN; "!" : SERVFAIL); the organizational domain
 * into org; returns the number of queries. */
static size_t
walk_run(const char *domain, const char *const (*zone)[2], size_t nzone,
         struct dmarc_walk *w, char *org, size_t orglen)
{
	const char *name;
	size_t q = 0, i;

	ck_assert_int_eq(dmarc_walk_init(w, domain), 0);
	while ((name = dmarc_walk_next(w)) != NULL) {
		struct dns_answer a;
		const char *rec = NULL;
		bool found = false;

		for (i = 0; i < nzone; i++)
			if (strcmp(zone[i][0], name) == 0) {
				rec = zone[i][1];
				found = true;
			}
		if (found && strcmp(rec, "!") == 0)
			txt(&a, name, DNS_SERVFAIL, 0, NULL);
		else if (found)
			txt(&a, name, DNS_OK, 1, &rec);
		else
			txt(&a, name, DNS_NXDOMAIN, 0, NULL);
		q++;
		dmarc_walk_take(w, &a);
		dns_answer_free(&a);
		ck_assert_uint_le(q, DMARC_WALK_MAX);
	}
	dmarc_walk_org(w, org, orglen);
	return q;
}

/* A record at the organizational domain: policy and org there. */
START_TEST(walk_record_at_org)
{
	static const char *const zone[][2] = {
	    {"example.com", "v=DMARC1; p=reject"}};
	struct dmarc_walk w;
	char org[DMARC_NAME_MAX];

	ck_assert_uint_eq(
	    walk_run("a.mail.example.com", zone, 1, &w, org, sizeof(org)), 4);
	ck_assert_int_eq(w.policy, 2);
	ck_assert_str_eq(org, "example.com");
	ck_assert(!w.temp);
}
END_TEST

/* A record at an intermediate name is the policy; the org domain is the
 * shortest name with a record. */
START_TEST(walk_record_intermediate)
{
	static const char *const zone[][2] = {
	    {"mail.example.com", "v=DMARC1; p=quarantine"},
	    {"example.com", "v=DMARC1; p=none"}};
	struct dmarc_walk w;
	char org[DMARC_NAME_MAX];

	walk_run("a.mail.example.com", zone, 2, &w, org, sizeof(org));
	ck_assert_int_eq(w.policy, 1);
	ck_assert_str_eq(w.names[w.policy], "mail.example.com");
	ck_assert_str_eq(org, "example.com");

	/* only the intermediate name has one: it is the org domain too */
	walk_run("a.mail.example.com", zone, 1, &w, org, sizeof(org));
	ck_assert_int_eq(w.policy, 1);
	ck_assert_str_eq(org, "mail.example.com");
}
END_TEST

/* psd=y: the org domain is the name one label below the PSD; psd=n ends
 * the walk at its own name. */
START_TEST(walk_psd)
{
	static const char *const psd_zone[][2] = {
	    {"gov.example", "v=DMARC1; p=reject; psd=y"}};
	static const char *const psd_n[][2] = {
	    {"a.b.example.com", "v=DMARC1; p=none; psd=n"},
	    {"example.com", "v=DMARC1; p=reject"}};
	static const char *const psd_start[][2] = {
	    {"gov.example", "v=DMARC1; p=reject; psd=y"}};
	struct dmarc_walk w;
	char org[DMARC_NAME_MAX];

	/* agency.gov.example has no record: the PSD's policy applies, the
	 * org domain is agency.gov.example, and the walk stops there */
	ck_assert_uint_eq(walk_run("mail.agency.gov.example", psd_zone, 1, &w,
	                           org, sizeof(org)),
	                  3);
	ck_assert_int_eq(w.policy, 2);
	ck_assert_str_eq(org, "agency.gov.example");

	ck_assert_uint_eq(
	    walk_run("x.a.b.example.com", psd_n, 2, &w, org, sizeof(org)), 2);
	ck_assert_str_eq(org, "a.b.example.com");

	/* psd=y at the name the walk starts from does not count */
	walk_run("gov.example", psd_start, 1, &w, org, sizeof(org));
	ck_assert_str_eq(org, "gov.example");
}
END_TEST

/* The walk of a long name stops after eight queries. */
START_TEST(walk_cap)
{
	struct dmarc_walk w;
	char org[DMARC_NAME_MAX];

	ck_assert_uint_eq(walk_run("a.b.c.d.e.f.g.h.i.j.k.l.example.com", NULL,
	                           0, &w, org, sizeof(org)),
	                  DMARC_WALK_MAX);
	ck_assert_int_eq(w.policy, -1);
	ck_assert_str_eq(w.names[1], "h.i.j.k.l.example.com");
	/* no record anywhere: the domain is its own org domain */
	ck_assert_str_eq(org, "a.b.c.d.e.f.g.h.i.j.k.l.example.com");
}
END_TEST

/* DNS trouble ends the walk; an invalid record is still the policy. */
START_TEST(walk_temp_and_invalid)
{
	static const char *const temp[][2] = {{"example.com", "!"}};
	static const char *const invalid[][2] = {
	    {"shop.example.com", "v=DMARC1; p=bogus"},
	    {"example.com", "v=DMARC1; p=none"}};
	struct dmarc_walk w;
	char org[DMARC_NAME_MAX];

	ck_assert_uint_eq(
	    walk_run("shop.example.com", temp, 1, &w, org, sizeof(org)), 2);
	ck_assert(w.temp);
	walk_run("shop.example.com", invalid, 2, &w, org, sizeof(org));
	ck_assert_int_eq(w.policy, 0);
	ck_assert_str_eq(org, "example.com");
}
END_TEST

/*
 * The examples RFC 9989 gives in prose, worked through: a From domain
 * of a.mail.example.com under a com that publishes psd=y has the org
 * domain example.com; and one whose own record says psd=n is its own.
 */
START_TEST(walk_rfc_examples)
{
	static const char *const com_psd[][2] = {
	    {"com", "v=DMARC1; p=none; psd=y"}};
	static const char *const own[][2] = {
	    {"a.mail.example.com", "v=DMARC1; p=reject; psd=n"},
	    {"example.com", "v=DMARC1; p=none"}};
	struct dmarc_walk w;
	char org[DMARC_NAME_MAX];

	ck_assert_uint_eq(
	    walk_run("a.mail.example.com", com_psd, 1, &w, org, sizeof(org)),
	    4);
	ck_assert_str_eq(org, "example.com");
	ck_assert_str_eq(w.names[w.policy], "com");
	ck_assert_uint_eq(
	    walk_run("a.mail.example.com", own, 2, &w, org, sizeof(org)), 1);
	ck_assert_str_eq(org, "a.mail.example.com");
}
END_TEST

START_TEST(eval_hostile_record)
{
	static const unsigned char rec[] = "v=DMARC1; p=none;\0\x1b[2J\n";
	struct dns_answer a;
	struct check_result res;

	txt(&a, "_dmarc.example.com", DNS_OK, 0, NULL);
	fake_answer_add_txt(&a, rec, sizeof(rec) - 1);
	dmarc_evaluate("example.com", "example.com", &a, NULL,
	               DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_FAIL);
	ck_assert_str_eq(res.seen, "v=DMARC1; p=none;\\x00\\x1b[2J\\x0a");
	has(&res, "byte 0x00 at offset 17");
	dns_answer_free(&a);
}
END_TEST

START_TEST(eval_hostile_domain_name)
{
	struct dns_answer a;
	struct check_result res;
	char dom[2000];

	memset(dom, 'a', sizeof(dom) - 1);
	dom[sizeof(dom) - 1] = '\0';
	dom[5] = '\n';
	txt(&a, "x", DNS_NXDOMAIN, 0, NULL);
	dmarc_evaluate(dom, "org\x01.example", &a, NULL, DMARC_POLICY_NONE,
	               &res);
	ck_assert_int_eq(res.status, CHECK_TEMPERROR);
	ck_assert_ptr_null(strchr(res.name, '\n'));
	ck_assert_uint_lt(strlen(res.name), sizeof(res.name));
	ck_assert_uint_lt(strlen(res.detail), sizeof(res.detail));
	dmarc_evaluate(dom, dom, &a, NULL, DMARC_POLICY_NONE, &res);
	ck_assert_int_eq(res.status, CHECK_MISSING);
	ck_assert_ptr_null(strchr(res.detail, '\n'));
	dns_answer_free(&a);
}
END_TEST

static Suite *
dmarc_suite(void)
{
	Suite *s = suite_create("dmarc");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(
	    tc, parse_valid, 0,
	    (int)(sizeof(valid_records) / sizeof(*valid_records)));
	tcase_add_loop_test(
	    tc, parse_invalid, 0,
	    (int)(sizeof(invalid_records) / sizeof(*invalid_records)));
	tcase_add_loop_test(
	    tc, parse_lenient, 0,
	    (int)(sizeof(lenient_records) / sizeof(*lenient_records)));
	tcase_add_test(tc, parse_clean_no_warning);
	tcase_add_test(tc, parse_lenient_limits);
	tcase_add_test(tc, parse_test_mode);
	tcase_add_test(tc, parse_defaults);
	tcase_add_test(tc, parse_values);
	tcase_add_test(tc, parse_fo_all_repeated);
	tcase_add_test(tc, parse_not_nul_terminated);
	tcase_add_test(tc, parse_nul_byte);
	tcase_add_test(tc, parse_null_args);
	tcase_add_test(tc, parse_error_value_sanitized_and_short);
	tcase_add_test(tc, policy_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, hostile_semicolons);
	tcase_add_test(tc, hostile_big_values);
	tcase_add_test(tc, hostile_many_tags);
	tcase_add_test(tc, hostile_every_byte);
	tcase_add_test(tc, hostile_mutations);
	suite_add_tcase(s, tc);

	tc = tcase_create("select");
	tcase_add_test(tc, select_outcomes);
	tcase_add_loop_test(
	    tc, select_prefix, 0,
	    (int)(sizeof(select_records) / sizeof(*select_records)));
	tcase_add_test(tc, select_one_among_others);
	tcase_add_test(tc, select_many);
	tcase_add_test(tc, select_ignores_other_types);
	tcase_add_test(tc, needs_org);
	suite_add_tcase(s, tc);

	tc = tcase_create("evaluate");
	tcase_add_test(tc, eval_seed_record);
	tcase_add_test(tc, eval_min_policy);
	tcase_add_test(tc, eval_min_policy_messages);
	tcase_add_test(tc, eval_sp_ignored_at_domain);
	tcase_add_test(tc, eval_org_sp);
	tcase_add_test(tc, eval_org_p_and_np);
	tcase_add_test(tc, eval_domain_record_wins);
	tcase_add_test(tc, eval_pct_and_t);
	tcase_add_test(tc, eval_many_at_domain);
	tcase_add_test(tc, eval_many_at_org);
	tcase_add_test(tc, eval_many_huge_seen_bounded);
	tcase_add_test(tc, eval_none_everywhere);
	tcase_add_test(tc, eval_none_other_txt);
	tcase_add_test(tc, eval_temp_at_domain);
	tcase_add_test(tc, eval_temp_at_org);
	tcase_add_test(tc, eval_org_not_queried);
	tcase_add_test(tc, eval_temp_error_text_sanitized);
	tcase_add_test(tc, eval_invalid_record);
	tcase_add_test(tc, eval_hostile_record);
	tcase_add_test(tc, eval_hostile_domain_name);
	tcase_add_test(tc, eval_lenient_record_warns);
	tcase_add_test(tc, eval_aspf_strict_subdomain);
	tcase_add_test(tc, eval_adkim_strict);
	suite_add_tcase(s, tc);

	tc = tcase_create("walk");
	tcase_add_test(tc, walk_names);
	tcase_add_test(tc, walk_record_at_org);
	tcase_add_test(tc, walk_record_intermediate);
	tcase_add_test(tc, walk_psd);
	tcase_add_test(tc, walk_cap);
	tcase_add_test(tc, walk_temp_and_invalid);
	tcase_add_test(tc, walk_rfc_examples);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dmarc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
