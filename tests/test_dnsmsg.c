/*
 * test_dnsmsg.c - dnsmsg_parse() against hand-built wire messages.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_dnsmsg
 *
 * DESCRIPTION
 *	Each test builds a response with the small writer below (header,
 *	question, records, compression pointers by offset) and checks the
 *	outcome, the records and the reason.  Hostile input: pointer loops,
 *	forward pointers, long labels and names, RDATA past RDLENGTH or the
 *	message, and a few thousand random mutations of a valid message.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"

#define MSG_MAX 70000
#define QR 0x8000
#define RD 0x0100
#define RA 0x0080
#define TC 0x0200
#define FL_OK (QR | RD | RA)
#define CLASS_IN 1
#define QNAME_PTR 0xc00c /* pointer to the question name */

struct msg {
	unsigned char b[MSG_MAX];
	size_t len;
};

static struct msg M; /* each test runs in its own process */

static void
put8(struct msg *m, unsigned v)
{
	ck_assert_uint_lt(m->len, MSG_MAX);
	m->b[m->len++] = (unsigned char)v;
}

static void
put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8 & 0xff);
	put8(m, v & 0xff);
}

static void
put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static void
put_bytes(struct msg *m, const void *p, size_t n)
{
	ck_assert_uint_le(m->len + n, MSG_MAX);
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

/* put_labels - "a.b.c" as labels, without the root label. */
static void
put_labels(struct msg *m, const char *dotted)
{
	while (*dotted != '\0') {
		size_t n = strcspn(dotted, ".");

		put8(m, (unsigned)n);
		put_bytes(m, dotted, n);
		dotted += n;
		if (*dotted == '.')
			dotted++;
	}
}

/* put_name - a full name; returns its offset. */
static size_t
put_name(struct msg *m, const char *dotted)
{
	size_t off = m->len;

	put_labels(m, dotted);
	put8(m, 0);
	return off;
}

static void
put_ptr(struct msg *m, size_t off)
{
	put16(m, 0xc000 | (unsigned)off);
}

static void
msg_start(struct msg *m, unsigned flags, unsigned qd, unsigned an)
{
	m->len = 0;
	put16(m, 0x1234);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
}

/* msg_query - header and one question. */
static void
msg_query(struct msg *m, unsigned flags, unsigned an, const char *qname,
          unsigned qtype)
{
	msg_start(m, flags, 1, an);
	put_name(m, qname);
	put16(m, qtype);
	put16(m, CLASS_IN);
}

/* rr_begin - type, class, TTL after an owner the caller wrote. */
static size_t
rr_begin(struct msg *m, unsigned type)
{
	put16(m, type);
	put16(m, CLASS_IN);
	put32(m, 3600);
	put16(m, 0);
	return m->len;
}

/* rr_end - fill in RDLENGTH. */
static void
rr_end(struct msg *m, size_t rdstart)
{
	size_t n = m->len - rdstart;

	m->b[rdstart - 2] = (unsigned char)(n >> 8);
	m->b[rdstart - 1] = (unsigned char)(n & 0xff);
}

/* put_owner - an owner name: inline when dotted, else a pointer. */
static void
put_owner(struct msg *m, const char *dotted, size_t ptr)
{
	if (dotted != NULL)
		put_name(m, dotted);
	else
		put_ptr(m, ptr);
}

/* rr_txt_at - a TXT record with the given strings. */
static void
rr_txt_at(struct msg *m, const char *owner, size_t ptr, size_t n,
          const char *const *strs)
{
	size_t rd, i;

	put_owner(m, owner, ptr);
	rd = rr_begin(m, DNS_TYPE_TXT);
	for (i = 0; i < n; i++) {
		put8(m, (unsigned)strlen(strs[i]));
		put_bytes(m, strs[i], strlen(strs[i]));
	}
	rr_end(m, rd);
}

/* rr_cname - a CNAME to target (inline); returns the target's offset. */
static size_t
rr_cname(struct msg *m, const char *owner, size_t ptr, const char *target)
{
	size_t rd, off;

	put_owner(m, owner, ptr);
	rd = rr_begin(m, DNS_TYPE_CNAME);
	off = put_name(m, target);
	rr_end(m, rd);
	return off;
}

static int
parse(const char *qname, uint16_t qtype, unsigned hops, struct dns_answer *ans)
{
	return dnsmsg_parse(M.b, M.len, qname, qtype, hops, ans);
}

static void
expect_formerr(const char *qname, uint16_t qtype)
{
	struct dns_answer ans;

	ck_assert_int_eq(parse(qname, qtype, 0, &ans), -1);
	ck_assert_int_eq(ans.outcome, DNS_FORMERR);
	ck_assert_uint_eq(ans.count, 0);
	ck_assert_ptr_null(ans.rrs);
	ck_assert(ans.error[0] != '\0');
	dns_answer_free(&ans);
}

/* expect_formerr_why - malformed, for a reason that mentions why. */
static void
expect_formerr_why(const char *qname, uint16_t qtype, const char *why)
{
	struct dns_answer ans;

	ck_assert_int_eq(parse(qname, qtype, 0, &ans), -1);
	ck_assert_int_eq(ans.outcome, DNS_FORMERR);
	ck_assert_msg(strstr(ans.error, why) != NULL, "reason '%s', not '%s'",
	              ans.error, why);
	dns_answer_free(&ans);
}

START_TEST(test_txt_concatenated)
{
	static const char *const strs[] = {"p=aaaaaa", "bbbbb"};
	struct dns_answer ans;

	msg_query(&M, FL_OK, 1, "sel._domainkey.example.com", DNS_TYPE_TXT);
	rr_txt_at(&M, NULL, 12, 2, strs);
	ck_assert_int_eq(
	    parse("sel._domainkey.example.com", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_OK);
	ck_assert_uint_eq(ans.count, 1);
	ck_assert_uint_eq(ans.rrs[0].len, 13);
	ck_assert_str_eq((char *)ans.rrs[0].data, "p=aaaaaabbbbb");
	ck_assert_uint_eq(ans.rrs[0].type, DNS_TYPE_TXT);
	ck_assert_uint_eq(ans.rrs[0].ttl, 3600);
	ck_assert_str_eq(ans.qname, "sel._domainkey.example.com");
	ck_assert_str_eq(ans.final_name, "sel._domainkey.example.com");
	ck_assert_uint_eq(ans.cname_hops, 0);
	dns_answer_free(&ans);
	ck_assert_ptr_null(ans.rrs);
}
END_TEST

START_TEST(test_txt_two_records)
{
	static const char *const a[] = {"v=spf1 -all"};
	static const char *const b[] = {"v=spf1 ", "+all"};
	struct dns_answer ans;

	msg_query(&M, FL_OK, 2, "example.com", DNS_TYPE_TXT);
	rr_txt_at(&M, NULL, 12, 1, a);
	rr_txt_at(&M, NULL, 12, 2, b);
	ck_assert_int_eq(parse("example.com.", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_OK);
	ck_assert_uint_eq(ans.count, 2);
	ck_assert_str_eq((char *)ans.rrs[0].data, "v=spf1 -all");
	ck_assert_str_eq((char *)ans.rrs[1].data, "v=spf1 +all");
	dns_answer_free(&ans);
}
END_TEST

START_TEST(test_txt_empty)
{
	static const char *const one_empty[] = {""};
	struct dns_answer ans;
	size_t rd;

	/* zero strings, then one empty string */
	msg_query(&M, FL_OK, 2, "example.com", DNS_TYPE_TXT);
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_TXT);
	rr_end(&M, rd);
	rr_txt_at(&M, NULL, 12, 1, one_empty);
	ck_assert_int_eq(parse("example.com", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_OK);
	ck_assert_uint_eq(ans.count, 2);
	ck_assert_uint_eq(ans.rrs[0].len, 0);
	ck_assert_uint_eq(ans.rrs[0].data[0], 0);
	ck_assert_uint_eq(ans.rrs[1].len, 0);
	dns_answer_free(&ans);
}
END_TEST

START_TEST(test_txt_binary)
{
	static const unsigned char s1[] = {'a', 0, 'b', '\r', '\n'};
	static const unsigned char s2[] = {0x1b, '[', '2', 'J', 0xff, 0};
	unsigned char want[sizeof(s1) + sizeof(s2)];
	struct dns_answer ans;
	size_t rd;

	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_TXT);
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_TXT);
	put8(&M, sizeof(s1));
	put_bytes(&M, s1, sizeof(s1));
	put8(&M, sizeof(s2));
	put_bytes(&M, s2, sizeof(s2));
	rr_end(&M, rd);
	memcpy(want, s1, sizeof(s1));
	memcpy(want + sizeof(s1), s2, sizeof(s2));
	ck_assert_int_eq(parse("example.com", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_uint_eq(ans.count, 1);
	ck_assert_uint_eq(ans.rrs[0].len, sizeof(want));
	ck_assert_mem_eq(ans.rrs[0].data, want, sizeof(want));
	ck_assert_uint_eq(ans.rrs[0].data[sizeof(want)], 0);
	dns_answer_free(&ans);
}
END_TEST

START_TEST(test_txt_64k)
{
	struct dns_answer ans;
	char s[256];
	size_t rd, i;

	memset(s, 'k', 255);
	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_TXT);
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_TXT);
	for (i = 0; i < 250; i++) {
		s[0] = (char)('A' + i % 26);
		put8(&M, 255);
		put_bytes(&M, s, 255);
	}
	rr_end(&M, rd);
	ck_assert_uint_le(M.len, 65535);
	ck_assert_int_eq(parse("example.com", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_OK);
	ck_assert_uint_eq(ans.rrs[0].len, 250 * 255);
	ck_assert_int_eq(ans.rrs[0].data[0], 'A');
	ck_assert_int_eq(ans.rrs[0].data[1], 'k');
	ck_assert_int_eq(ans.rrs[0].data[255], 'B');
	ck_assert_int_eq(ans.rrs[0].data[249 * 255], 'A' + 249 % 26);
	dns_answer_free(&ans);
}
END_TEST

START_TEST(test_too_many_records)
{
	static const char *const x[] = {"x"};
	struct dns_answer ans;
	unsigned i;

	msg_query(&M, FL_OK, 300, "example.com", DNS_TYPE_TXT);
	for (i = 0; i < 300; i++)
		rr_txt_at(&M, NULL, 12, 1, x);
	ck_assert_int_eq(parse("example.com", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_OK);
	ck_assert_uint_eq(ans.count, DNS_ANSWER_RRS_MAX);
	dns_answer_free(&ans);
}
END_TEST

START_TEST(test_mx_compression)
{
	struct dns_answer ans;
	size_t rd, dom;

	msg_query(&M, FL_OK, 3, "Mail.Example.COM", DNS_TYPE_MX);
	dom = 12 + 5; /* "Example.COM" inside the question */
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_MX);
	put16(&M, 10);
	put_labels(&M, "MX1");
	put_ptr(&M, dom);
	rr_end(&M, rd);
	/* null MX: the root */
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_MX);
	put16(&M, 0);
	put8(&M, 0);
	rr_end(&M, rd);
	/* a label with a space and a dot in it */
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_MX);
	put16(&M, 20);
	put8(&M, 4);
	put_bytes(&M, "a b.", 4);
	put_ptr(&M, dom);
	rr_end(&M, rd);
	ck_assert_int_eq(parse("mail.example.com", DNS_TYPE_MX, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_OK);
	ck_assert_uint_eq(ans.count, 3);
	ck_assert_uint_eq(ans.rrs[0].preference, 10);
	ck_assert_str_eq((char *)ans.rrs[0].data, "mx1.example.com");
	ck_assert_uint_eq(ans.rrs[0].len, strlen("mx1.example.com"));
	ck_assert_uint_eq(ans.rrs[1].preference, 0);
	ck_assert_str_eq((char *)ans.rrs[1].data, ".");
	ck_assert_str_eq((char *)ans.rrs[2].data, "a\\032b\\046.example.com");
	dns_answer_free(&ans);
}
END_TEST

START_TEST(test_mx_bad_rdata)
{
	size_t rd;

	/* exchange shorter than RDLENGTH */
	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_MX);
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_MX);
	put16(&M, 10);
	put_ptr(&M, 12);
	put8(&M, 0);
	rr_end(&M, rd);
	expect_formerr("example.com", DNS_TYPE_MX);
	/* RDATA with a preference only */
	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_MX);
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_MX);
	put16(&M, 10);
	rr_end(&M, rd);
	expect_formerr("example.com", DNS_TYPE_MX);
	/* exchange running past RDLENGTH into the next bytes */
	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_MX);
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_MX);
	put16(&M, 10);
	put8(&M, 3);
	put_bytes(&M, "abc", 3);
	rr_end(&M, rd);
	put8(&M, 0);
	expect_formerr("example.com", DNS_TYPE_MX);
}
END_TEST

START_TEST(test_cname_chain)
{
	static const char *const v[] = {"v=spf1 -all"};
	struct dns_answer ans;

	/* out of order, owners in mixed case */
	msg_query(&M, FL_OK, 3, "www.example.com", DNS_TYPE_TXT);
	rr_txt_at(&M, "B.example.NET", 0, 1, v);
	rr_cname(&M, "a.EXAMPLE.net", 0, "b.example.net");
	rr_cname(&M, NULL, 12, "A.example.net");
	ck_assert_int_eq(parse("WWW.example.com", DNS_TYPE_TXT, 1, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_OK);
	ck_assert_uint_eq(ans.count, 1);
	ck_assert_str_eq((char *)ans.rrs[0].data, "v=spf1 -all");
	ck_assert_str_eq(ans.qname, "WWW.example.com");
	ck_assert_str_eq(ans.final_name, "b.example.net");
	ck_assert_uint_eq(ans.cname_hops, 3);
	dns_answer_free(&ans);
}
END_TEST

START_TEST(test_cname_pending)
{
	static const char *const v[] = {"not for us"};
	struct dns_answer ans;

	/* a TXT at the first name must not be taken: it is an alias */
	msg_query(&M, FL_OK, 2, "_dmarc.example.com", DNS_TYPE_TXT);
	rr_cname(&M, NULL, 12, "_dmarc.Provider.example");
	rr_txt_at(&M, "other.example", 0, 1, v);
	ck_assert_int_eq(parse("_dmarc.example.com", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_CNAME_PENDING);
	ck_assert_str_eq(ans.final_name, "_dmarc.provider.example");
	ck_assert_uint_eq(ans.cname_hops, 1);
	ck_assert_uint_eq(ans.count, 0);
	ck_assert(dns_outcome_is_temporary(ans.outcome));
	dns_answer_free(&ans);
}
END_TEST

START_TEST(test_cname_qtype_cname)
{
	struct dns_answer ans;

	/* asking for the CNAME itself does not follow it */
	msg_query(&M, FL_OK, 1, "www.example.com", DNS_TYPE_CNAME);
	rr_cname(&M, NULL, 12, "target.example.com");
	ck_assert_int_eq(parse("www.example.com", DNS_TYPE_CNAME, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_OK);
	ck_assert_str_eq((char *)ans.rrs[0].data, "target.example.com");
	ck_assert_uint_eq(ans.cname_hops, 0);
	dns_answer_free(&ans);
}
END_TEST

START_TEST(test_cname_loop)
{
	struct dns_answer ans;
	size_t a;

	msg_query(&M, FL_OK, 3, "www.example.com", DNS_TYPE_TXT);
	a = rr_cname(&M, NULL, 12, "a.example.com");
	rr_cname(&M, NULL, a, "b.example.com");
	rr_cname(&M, "b.example.com", 0, "A.example.com");
	ck_assert_int_eq(parse("www.example.com", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_CNAME_LOOP);
	ck_assert(ans.error[0] != '\0');
	dns_answer_free(&ans);

	/* a name that is its own alias */
	msg_query(&M, FL_OK, 1, "www.example.com", DNS_TYPE_TXT);
	rr_cname(&M, NULL, 12, "WWW.example.com");
	ck_assert_int_eq(parse("www.example.com", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_CNAME_LOOP);
	dns_answer_free(&ans);
}
END_TEST

/* chain_msg - n CNAMEs q -> c1 -> ... -> cn, then a TXT at cn. */
static void
chain_msg(unsigned n)
{
	static const char *const v[] = {"end"};
	char name[32];
	size_t prev = 12;
	unsigned i;

	msg_query(&M, FL_OK, n + 1, "q.example", DNS_TYPE_TXT);
	for (i = 1; i <= n; i++) {
		snprintf(name, sizeof(name), "c%u.example", i);
		prev = rr_cname(&M, NULL, prev, name);
	}
	rr_txt_at(&M, NULL, prev, 1, v);
}

START_TEST(test_cname_hops_bound)
{
	struct dns_answer ans;

	chain_msg(DNS_CNAME_HOPS_MAX);
	ck_assert_int_eq(parse("q.example", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_OK);
	ck_assert_uint_eq(ans.cname_hops, DNS_CNAME_HOPS_MAX);
	dns_answer_free(&ans);
	/* the same chain after one hop in an earlier query */
	ck_assert_int_eq(parse("q.example", DNS_TYPE_TXT, 1, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_CNAME_LOOP);
	dns_answer_free(&ans);

	chain_msg(DNS_CNAME_HOPS_MAX + 1);
	ck_assert_int_eq(parse("q.example", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_CNAME_LOOP);
	dns_answer_free(&ans);

	chain_msg(1);
	ck_assert_int_eq(
	    parse("q.example", DNS_TYPE_TXT, DNS_CNAME_HOPS_MAX - 1, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_OK);
	dns_answer_free(&ans);
	ck_assert_int_eq(
	    parse("q.example", DNS_TYPE_TXT, DNS_CNAME_HOPS_MAX, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_CNAME_LOOP);
	dns_answer_free(&ans);

	/* no CNAME at all: hops already used do not matter */
	chain_msg(0);
	ck_assert_int_eq(
	    parse("q.example", DNS_TYPE_TXT, DNS_CNAME_HOPS_MAX, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_OK);
	dns_answer_free(&ans);
}
END_TEST

START_TEST(test_nxdomain)
{
	struct dns_answer ans;

	msg_query(&M, FL_OK | 3, 0, "nope.example.com", DNS_TYPE_TXT);
	ck_assert_int_eq(parse("nope.example.com", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_NXDOMAIN);
	ck_assert(!dns_outcome_is_temporary(ans.outcome));
	ck_assert(ans.error[0] != '\0');
	dns_answer_free(&ans);

	/* RFC 6604: NXDOMAIN is about the last name of the chain */
	msg_query(&M, FL_OK | 3, 1, "www.example.com", DNS_TYPE_TXT);
	rr_cname(&M, NULL, 12, "gone.example.org");
	ck_assert_int_eq(parse("www.example.com", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_NXDOMAIN);
	ck_assert_str_eq(ans.final_name, "gone.example.org");
	ck_assert_uint_eq(ans.cname_hops, 1);
	dns_answer_free(&ans);
}
END_TEST

START_TEST(test_nodata)
{
	struct dns_answer ans;
	size_t rd;

	msg_query(&M, FL_OK, 0, "example.com", DNS_TYPE_TXT);
	ck_assert_int_eq(parse("example.com", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_NODATA);
	ck_assert(!dns_outcome_is_temporary(ans.outcome));
	dns_answer_free(&ans);

	/* records of other types, classes or owners do not count */
	msg_query(&M, FL_OK, 3, "example.com", DNS_TYPE_TXT);
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_A);
	put32(&M, 0x7f000001);
	rr_end(&M, rd);
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_TXT);
	M.b[rd - 8] = 0;
	M.b[rd - 7] = 3; /* class CH */
	put8(&M, 1);
	put8(&M, 'x');
	rr_end(&M, rd);
	put_name(&M, "www.example.com");
	rd = rr_begin(&M, DNS_TYPE_TXT);
	put8(&M, 1);
	put8(&M, 'y');
	rr_end(&M, rd);
	ck_assert_int_eq(parse("example.com", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_NODATA);
	ck_assert_uint_eq(ans.count, 0);
	dns_answer_free(&ans);
}
END_TEST

/* rcode_outcome - outcome for a response with this RCODE. */
static enum dns_outcome
rcode_outcome(unsigned rcode, int *rc)
{
	struct dns_answer ans;
	enum dns_outcome o;

	msg_query(&M, FL_OK | rcode, 0, "example.com", DNS_TYPE_TXT);
	*rc = parse("example.com", DNS_TYPE_TXT, 0, &ans);
	o = ans.outcome;
	ck_assert(o == DNS_NODATA || ans.error[0] != '\0');
	dns_answer_free(&ans);
	return o;
}

START_TEST(test_rcodes)
{
	int rc;

	ck_assert_int_eq(rcode_outcome(2, &rc), DNS_SERVFAIL);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(rcode_outcome(5, &rc), DNS_REFUSED);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(rcode_outcome(1, &rc), DNS_FORMERR);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(rcode_outcome(4, &rc), DNS_ERROR);
	ck_assert_int_eq(rcode_outcome(9, &rc), DNS_ERROR);
	ck_assert_int_eq(rcode_outcome(15, &rc), DNS_ERROR);
	ck_assert_int_eq(rcode_outcome(0, &rc), DNS_NODATA);
	ck_assert(dns_outcome_is_temporary(DNS_SERVFAIL));
	ck_assert(dns_outcome_is_temporary(DNS_REFUSED));
}
END_TEST

START_TEST(test_servfail_ignores_answers)
{
	static const char *const v[] = {"v=spf1 +all"};
	struct dns_answer ans;

	msg_query(&M, FL_OK | 2, 1, "example.com", DNS_TYPE_TXT);
	rr_txt_at(&M, NULL, 12, 1, v);
	ck_assert_int_eq(parse("example.com", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_SERVFAIL);
	ck_assert_uint_eq(ans.count, 0);
	dns_answer_free(&ans);
}
END_TEST

START_TEST(test_header_checks)
{
	struct dns_answer ans;

	/* a query, not a response */
	msg_query(&M, RD, 0, "example.com", DNS_TYPE_TXT);
	expect_formerr("example.com", DNS_TYPE_TXT);
	/* opcode STATUS */
	msg_query(&M, FL_OK | 2u << 11, 0, "example.com", DNS_TYPE_TXT);
	expect_formerr("example.com", DNS_TYPE_TXT);
	/* truncated: not an answer to trust */
	msg_query(&M, FL_OK | TC, 0, "example.com", DNS_TYPE_TXT);
	ck_assert_int_eq(parse("example.com", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_ERROR);
	dns_answer_free(&ans);
	/* header only, one octet short, nothing */
	msg_start(&M, FL_OK, 0, 0);
	expect_formerr("example.com", DNS_TYPE_TXT);
	M.len = 11;
	expect_formerr("example.com", DNS_TYPE_TXT);
	M.len = 0;
	expect_formerr("example.com", DNS_TYPE_TXT);
	ck_assert_int_eq(
	    dnsmsg_parse(NULL, 0, "example.com", DNS_TYPE_TXT, 0, &ans), -1);
	ck_assert_int_eq(ans.outcome, DNS_FORMERR);
	dns_answer_free(&ans);
	/* longer than any DNS message */
	msg_query(&M, FL_OK, 0, "example.com", DNS_TYPE_TXT);
	M.len = 65536;
	expect_formerr("example.com", DNS_TYPE_TXT);
}
END_TEST

START_TEST(test_question_mismatch)
{
	struct dns_answer ans;

	msg_query(&M, FL_OK, 0, "example.com", DNS_TYPE_TXT);
	expect_formerr("example.org", DNS_TYPE_TXT);
	expect_formerr("example.com", DNS_TYPE_MX);
	expect_formerr("www.example.com", DNS_TYPE_TXT);
	expect_formerr("a..b", DNS_TYPE_TXT);
	/* case and the final dot do not matter */
	ck_assert_int_eq(parse("EXAMPLE.Com.", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_NODATA);
	dns_answer_free(&ans);
	/* question class CH */
	M.b[M.len - 1] = 3;
	expect_formerr("example.com", DNS_TYPE_TXT);
	/* no question, two questions */
	msg_start(&M, FL_OK, 0, 0);
	expect_formerr("example.com", DNS_TYPE_TXT);
	msg_query(&M, FL_OK, 0, "example.com", DNS_TYPE_TXT);
	M.b[5] = 2;
	put_ptr(&M, 12);
	put16(&M, DNS_TYPE_TXT);
	put16(&M, CLASS_IN);
	expect_formerr("example.com", DNS_TYPE_TXT);
	/* question cut short */
	msg_query(&M, FL_OK, 0, "example.com", DNS_TYPE_TXT);
	M.len -= 1;
	expect_formerr("example.com", DNS_TYPE_TXT);
}
END_TEST

START_TEST(test_escaped_names)
{
	struct dns_answer ans;

	/* a label holding a dot: "a.b" under example.com */
	msg_start(&M, FL_OK, 1, 0);
	put8(&M, 3);
	put_bytes(&M, "a.b", 3);
	put_name(&M, "example.com");
	put16(&M, DNS_TYPE_TXT);
	put16(&M, CLASS_IN);
	ck_assert_int_eq(parse("a\\.b.example.com", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_NODATA);
	dns_answer_free(&ans);
	ck_assert_int_eq(parse("a\\046b.example.com", DNS_TYPE_TXT, 0, &ans),
	                 0);
	ck_assert_int_eq(ans.outcome, DNS_NODATA);
	dns_answer_free(&ans);
	expect_formerr("a.b.example.com", DNS_TYPE_TXT);
	expect_formerr("a\\256b.example.com", DNS_TYPE_TXT);
	expect_formerr("example.com\\", DNS_TYPE_TXT);
}
END_TEST

START_TEST(test_pointer_loops)
{
	/* question name is a pointer to itself */
	msg_start(&M, FL_OK, 1, 0);
	put_ptr(&M, 12);
	put16(&M, DNS_TYPE_TXT);
	put16(&M, CLASS_IN);
	expect_formerr("example.com", DNS_TYPE_TXT);

	/* a label, then a pointer back to that label: a cycle */
	msg_start(&M, FL_OK, 1, 0);
	put_labels(&M, "abc");
	put_ptr(&M, 12);
	put16(&M, DNS_TYPE_TXT);
	put16(&M, CLASS_IN);
	expect_formerr_why("abc.abc.abc", DNS_TYPE_TXT, "pointer");

	/* two pointers to each other via an answer owner */
	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_TXT);
	put_ptr(&M, M.len + 2);
	put_ptr(&M, M.len - 2);
	expect_formerr_why("example.com", DNS_TYPE_TXT, "pointer");

	/* pointer forward, to a valid name further on */
	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_TXT);
	put_ptr(&M, M.len + 12);
	put16(&M, DNS_TYPE_TXT);
	put16(&M, CLASS_IN);
	put32(&M, 0);
	put16(&M, 0);
	put_name(&M, "example.com");
	expect_formerr_why("example.com", DNS_TYPE_TXT, "pointer");

	/* pointer past the end; pointer cut in half */
	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_TXT);
	put_ptr(&M, 0x3fff);
	expect_formerr("example.com", DNS_TYPE_TXT);
	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_TXT);
	put8(&M, 0xc0);
	expect_formerr("example.com", DNS_TYPE_TXT);
}
END_TEST

START_TEST(test_label_types_and_lengths)
{
	struct dns_answer ans;
	char label63[64], qname[300];
	size_t i, rd;

	/* 0x40 and 0x80 label types */
	msg_start(&M, FL_OK, 1, 0);
	put8(&M, 0x40);
	put_bytes(&M, "xxxxxxxx", 8);
	put8(&M, 0);
	put16(&M, DNS_TYPE_TXT);
	put16(&M, CLASS_IN);
	expect_formerr("example.com", DNS_TYPE_TXT);
	M.b[12] = 0x81;
	expect_formerr("example.com", DNS_TYPE_TXT);

	/* 63-octet label fine; a 64-octet label cannot be asked */
	memset(label63, 'x', 63);
	label63[63] = '\0';
	snprintf(qname, sizeof(qname), "%s.example", label63);
	msg_query(&M, FL_OK, 0, qname, DNS_TYPE_TXT);
	ck_assert_int_eq(parse(qname, DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_NODATA);
	dns_answer_free(&ans);
	snprintf(qname, sizeof(qname), "x%s.example", label63);
	expect_formerr(qname, DNS_TYPE_TXT);

	/* a 255-octet exchange is fine, 257 is not */
	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_MX);
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_MX);
	put16(&M, 1);
	for (i = 0; i < 3; i++)
		put_labels(&M, label63);
	put8(&M, 61);
	put_bytes(&M, label63, 61);
	put8(&M, 0);
	rr_end(&M, rd);
	ck_assert_int_eq(parse("example.com", DNS_TYPE_MX, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_OK);
	ck_assert_uint_eq(ans.rrs[0].len, 63 * 3 + 61 + 3);
	dns_answer_free(&ans);
	M.b[rd + 2 + 3 * 64] = 62; /* one more octet: 256 */
	M.len = rd + 2 + 3 * 64;
	put8(&M, 62);
	put_bytes(&M, label63, 62);
	put8(&M, 0);
	rr_end(&M, rd);
	expect_formerr_why("example.com", DNS_TYPE_MX, "255");

	/* long name built from pointers onto a long name */
	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_TXT);
	rd = M.len;
	put_labels(&M, label63);
	put_labels(&M, label63);
	put_ptr(&M, 12);
	put16(&M, DNS_TYPE_TXT);
	put16(&M, CLASS_IN);
	put32(&M, 0);
	put16(&M, 0);
	put_labels(&M, label63);
	put_labels(&M, label63);
	put_ptr(&M, rd);
	put16(&M, DNS_TYPE_TXT);
	put16(&M, CLASS_IN);
	put32(&M, 0);
	put16(&M, 0);
	M.b[7] = 2;
	expect_formerr_why("example.com", DNS_TYPE_TXT, "255");
}
END_TEST

START_TEST(test_rdata_bounds)
{
	struct dns_answer ans;
	size_t rd;

	/* TXT string longer than what is left of RDLENGTH */
	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_TXT);
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_TXT);
	put8(&M, 10);
	put_bytes(&M, "abc", 3);
	rr_end(&M, rd);
	put_bytes(&M, "defghij", 7); /* the bytes are there, outside */
	expect_formerr("example.com", DNS_TYPE_TXT);

	/* RDLENGTH past the end of the message */
	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_TXT);
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_TXT);
	put8(&M, 3);
	put_bytes(&M, "abc", 3);
	rr_end(&M, rd);
	M.b[rd - 1] += 1;
	expect_formerr("example.com", DNS_TYPE_TXT);

	/* record header cut short */
	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_TXT);
	put_ptr(&M, 12);
	put16(&M, DNS_TYPE_TXT);
	put16(&M, CLASS_IN);
	expect_formerr("example.com", DNS_TYPE_TXT);

	/* ANCOUNT larger than the records present */
	msg_query(&M, FL_OK, 2, "example.com", DNS_TYPE_TXT);
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_TXT);
	rr_end(&M, rd);
	expect_formerr("example.com", DNS_TYPE_TXT);

	/* a broken record of another type still makes it malformed */
	msg_query(&M, FL_OK, 2, "example.com", DNS_TYPE_TXT);
	rr_txt_at(&M, NULL, 12, 0, NULL);
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_A);
	M.b[rd - 1] = 200;
	expect_formerr("example.com", DNS_TYPE_TXT);

	/* A with three octets */
	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_A);
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_A);
	put_bytes(&M, "\x7f\0\0", 3);
	rr_end(&M, rd);
	expect_formerr("example.com", DNS_TYPE_A);

	/* CNAME target not filling its RDATA */
	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_TXT);
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_CNAME);
	put_name(&M, "x.example");
	put8(&M, 0);
	rr_end(&M, rd);
	expect_formerr("example.com", DNS_TYPE_TXT);

	/* well formed A and AAAA, and a TTL with the top bit set */
	msg_query(&M, FL_OK, 1, "example.com", DNS_TYPE_AAAA);
	put_ptr(&M, 12);
	rd = rr_begin(&M, DNS_TYPE_AAAA);
	put_bytes(&M, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	rr_end(&M, rd);
	M.b[rd - 6] = 0x80;
	ck_assert_int_eq(parse("example.com", DNS_TYPE_AAAA, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_OK);
	ck_assert_uint_eq(ans.rrs[0].len, 16);
	ck_assert_uint_eq(ans.rrs[0].data[0], 0x20);
	ck_assert_uint_eq(ans.rrs[0].ttl, 0);
	dns_answer_free(&ans);
}
END_TEST

/* valid_msg - a response using compression, CNAME, TXT and MX. */
static void
valid_msg(void)
{
	static const char *const v[] = {"v=spf1 ", "include:_spf.example -all"};
	size_t t, rd;

	msg_query(&M, FL_OK, 4, "www.example.com", DNS_TYPE_TXT);
	t = rr_cname(&M, NULL, 12, "t.example.com");
	rr_txt_at(&M, NULL, t, 2, v);
	rr_txt_at(&M, NULL, t, 1, v);
	put_ptr(&M, t);
	rd = rr_begin(&M, DNS_TYPE_MX);
	put16(&M, 5);
	put_labels(&M, "mx");
	put_ptr(&M, 16);
	rr_end(&M, rd);
}

static uint32_t
xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* check_sane - whatever the input, the answer is consistent. */
static void
check_sane(int rc, const struct dns_answer *ans)
{
	size_t i;

	ck_assert((unsigned)ans->outcome <= DNS_ERROR);
	if (rc < 0)
		ck_assert(ans->outcome == DNS_FORMERR ||
		          ans->outcome == DNS_ERROR);
	if (ans->outcome != DNS_OK)
		ck_assert_uint_eq(ans->count, 0);
	else
		ck_assert_uint_gt(ans->count, 0);
	ck_assert_uint_le(ans->count, DNS_ANSWER_RRS_MAX);
	ck_assert_uint_le(ans->cname_hops, DNS_CNAME_HOPS_MAX);
	ck_assert_uint_lt(strlen(ans->final_name), sizeof(ans->final_name));
	for (i = 0; i < ans->count; i++) {
		ck_assert_ptr_nonnull(ans->rrs[i].data);
		ck_assert_uint_eq(ans->rrs[i].data[ans->rrs[i].len], 0);
	}
}

START_TEST(test_random_mutations)
{
	static const uint16_t types[] = {DNS_TYPE_TXT, DNS_TYPE_MX,
	                                 DNS_TYPE_CNAME, DNS_TYPE_A};
	struct dns_answer ans;
	unsigned char orig[512];
	size_t olen;
	uint32_t seed = 0x9e3779b9u;
	unsigned iter, ok = 0;

	valid_msg();
	ck_assert_int_eq(parse("www.example.com", DNS_TYPE_TXT, 0, &ans), 0);
	ck_assert_int_eq(ans.outcome, DNS_OK);
	ck_assert_uint_eq(ans.count, 2);
	ck_assert_str_eq((char *)ans.rrs[0].data,
	                 "v=spf1 include:_spf.example -all");
	dns_answer_free(&ans);
	ck_assert_uint_le(M.len, sizeof(orig));
	memcpy(orig, M.b, M.len);
	olen = M.len;
	for (iter = 0; iter < 5000; iter++) {
		unsigned n = 1 + xorshift(&seed) % 4, k;
		int rc;

		memcpy(M.b, orig, olen);
		M.len = olen;
		for (k = 0; k < n; k++)
			M.b[12 + xorshift(&seed) % (olen - 12)] =
			    (unsigned char)xorshift(&seed);
		if (xorshift(&seed) % 8 == 0)
			M.len = xorshift(&seed) % (olen + 1);
		/* the copy ends where the message does, for ASan */
		{
			unsigned char *copy = malloc(M.len ? M.len : 1);

			ck_assert_ptr_nonnull(copy);
			memcpy(copy, M.b, M.len);
			rc = dnsmsg_parse(copy, M.len, "www.example.com",
			                  types[iter % 4], iter % 3, &ans);
			check_sane(rc, &ans);
			ok += ans.outcome == DNS_OK;
			dns_answer_free(&ans);
			free(copy);
		}
	}
	ck_assert_uint_gt(ok, 0); /* some mutations leave it valid */
}
END_TEST

START_TEST(test_random_garbage)
{
	struct dns_answer ans;
	uint32_t seed = 12345;
	unsigned iter;

	for (iter = 0; iter < 3000; iter++) {
		size_t len = xorshift(&seed) % 600, i;
		unsigned char *buf = malloc(len ? len : 1);
		int rc;

		ck_assert_ptr_nonnull(buf);
		for (i = 0; i < len; i++)
			buf[i] = (unsigned char)xorshift(&seed);
		if (len >= 6) {
			buf[2] |= 0x80; /* a response, */
			buf[2] &= 0x87; /* opcode QUERY, */
			buf[4] = 0;     /* one question: get past the */
			buf[5] = 1;     /* header most of the time */
		}
		rc = dnsmsg_parse(buf, len, "example.com", DNS_TYPE_TXT, 0,
		                  &ans);
		check_sane(rc, &ans);
		dns_answer_free(&ans);
		free(buf);
	}
}
END_TEST

START_TEST(test_helpers)
{
	struct dns_answer ans;

	ck_assert(dnsmsg_name_equal("Example.COM.", "example.com"));
	ck_assert(!dnsmsg_name_equal("example.com", "example.co"));
	ck_assert_str_eq(dns_outcome_name(DNS_CNAME_PENDING), "cname-pending");
	ck_assert_str_eq(dns_outcome_name((enum dns_outcome)99), "unknown");
	dns_answer_init(&ans, "x.example", DNS_TYPE_TXT, DNS_TIMEOUT, "slow");
	ck_assert_str_eq(ans.final_name, "x.example");
	ck_assert_str_eq(ans.error, "slow");
	dns_answer_free(&ans);
}
END_TEST

static Suite *
dnsmsg_suite(void)
{
	Suite *s = suite_create("dnsmsg");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_txt_concatenated);
	tcase_add_test(tc, test_txt_two_records);
	tcase_add_test(tc, test_txt_empty);
	tcase_add_test(tc, test_txt_binary);
	tcase_add_test(tc, test_txt_64k);
	tcase_add_test(tc, test_too_many_records);
	tcase_add_test(tc, test_mx_compression);
	tcase_add_test(tc, test_mx_bad_rdata);
	tcase_add_test(tc, test_cname_chain);
	tcase_add_test(tc, test_cname_pending);
	tcase_add_test(tc, test_cname_qtype_cname);
	tcase_add_test(tc, test_cname_loop);
	tcase_add_test(tc, test_cname_hops_bound);
	tcase_add_test(tc, test_nxdomain);
	tcase_add_test(tc, test_nodata);
	tcase_add_test(tc, test_rcodes);
	tcase_add_test(tc, test_servfail_ignores_answers);
	tcase_add_test(tc, test_header_checks);
	tcase_add_test(tc, test_question_mismatch);
	tcase_add_test(tc, test_escaped_names);
	tcase_add_test(tc, test_pointer_loops);
	tcase_add_test(tc, test_label_types_and_lengths);
	tcase_add_test(tc, test_rdata_bounds);
	tcase_add_test(tc, test_random_mutations);
	tcase_add_test(tc, test_random_garbage);
	tcase_add_test(tc, test_helpers);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dnsmsg_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
