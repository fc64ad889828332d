/*
 * test_spf.c - SPF (RFC 7208): parser, macros, check_host(), validation.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_spf
 *
 * DESCRIPTION
 *	A fake resolver answers from a table of canned records; answers are
 *	delivered from run_loop(), never from inside query(), as resolver.h
 *	requires, and every query is counted.  The check_host() cases follow
 *	RFC 7208 section by section, most of them transcribed from the
 *	openspf/pyspf rfc7208-tests.yml suite (release 2014.04), with its zone
 *	data: each case names the section it covers.  Records of type SPF in
 *	that suite are served as TXT, as its drivers do.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dnsmsg.h"
#include "fake_answer.h"
#include "report.h"
#include "spf.h"

/* ---- the fake resolver ---- */

#define T_TIMEOUT 0xffff /* any query of the name times out */

struct rr {
	const char *name;
	uint16_t type;
	const char *value; /* TXT bytes, A/AAAA text, "PREF HOST", PTR name */
	size_t len;        /* TXT only; 0: strlen */
};

#define TXT(n, v)                                                              \
	{                                                                      \
		n, DNS_TYPE_TXT, v, sizeof(v) - 1                              \
	}
#define A(n, v)                                                                \
	{                                                                      \
		n, DNS_TYPE_A, v, 0                                            \
	}
#define AAAA(n, v)                                                             \
	{                                                                      \
		n, DNS_TYPE_AAAA, v, 0                                         \
	}
#define MX(n, v)                                                               \
	{                                                                      \
		n, DNS_TYPE_MX, v, 0                                           \
	}
#define PTR(n, v)                                                              \
	{                                                                      \
		n, DNS_TYPE_PTR, v, 0                                          \
	}
#define TIMEOUT(n)                                                             \
	{                                                                      \
		n, T_TIMEOUT, NULL, 0                                          \
	}
#define END                                                                    \
	{                                                                      \
		NULL, 0, NULL, 0                                               \
	}

#define PENDING_MAX 64

struct pending {
	char name[DNS_NAME_TEXT_MAX];
	uint16_t type;
	resolver_cb cb;
	void *arg;
};

struct fake {
	const struct rr *zone;
	struct pending q[PENDING_MAX];
	size_t head, tail; /* ring of queued queries */
	unsigned queries;
	unsigned refuse_after; /* refuse query number > this; 0: never */
	unsigned delay_ms;     /* sleep before each answer */
	int in_query;          /* a callback ran inside query(): a bug */
};

static bool
name_eq(const char *a, const char *b)
{
	return dnsmsg_name_equal(a, b);
}

static int
fake_query(void *impl, const char *name, uint16_t qtype, resolver_cb cb,
           void *arg)
{
	struct fake *f = impl;
	struct pending *p;

	f->in_query++;
	if (f->refuse_after != 0 && f->queries >= f->refuse_after) {
		f->in_query--;
		return -1;
	}
	ck_assert_msg(f->tail - f->head < PENDING_MAX, "too many queries");
	f->queries++;
	p = &f->q[f->tail++ % PENDING_MAX];
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->type = qtype;
	p->cb = cb;
	p->arg = arg;
	f->in_query--;
	return 0;
}

/* fake_build - the answer for one pending query from the zone. */
static void
fake_build(const struct fake *f, const struct pending *p,
           struct dns_answer *ans)
{
	const struct rr *r;
	bool exists = false;

	dns_answer_init(ans, p->name, p->type, DNS_NXDOMAIN, NULL);
	for (r = f->zone; r != NULL && r->name != NULL; r++) {
		if (!name_eq(r->name, p->name))
			continue;
		exists = true;
		if (r->type == T_TIMEOUT) {
			dns_answer_free(ans);
			dns_answer_init(ans, p->name, p->type, DNS_TIMEOUT,
			                "timed out");
			return;
		}
	}
	if (exists)
		ans->outcome = DNS_NODATA;
	for (r = f->zone; r != NULL && r->name != NULL; r++) {
		unsigned char buf[16];
		struct dns_answer one;
		const char *v = r->value;

		if (!name_eq(r->name, p->name) || r->type != p->type)
			continue;
		if (r->type == DNS_TYPE_TXT) {
			fake_answer_add_txt(ans, (const unsigned char *)v,
			                    r->len ? r->len : strlen(v));
			continue;
		}
		if (r->type == DNS_TYPE_A || r->type == DNS_TYPE_AAAA) {
			int af = r->type == DNS_TYPE_A ? AF_INET : AF_INET6;

			ck_assert(inet_pton(af, v, buf) == 1);
			fake_answer_add_txt(ans, buf, af == AF_INET ? 4 : 16);
			ans->rrs[ans->count - 1].type = r->type;
			continue;
		}
		fake_answer(&one, p->name, r->type, DNS_OK, 1, &v);
		fake_answer_add_txt(ans, one.rrs[0].data, one.rrs[0].len);
		ans->rrs[ans->count - 1].type = r->type;
		ans->rrs[ans->count - 1].preference = one.rrs[0].preference;
		dns_answer_free(&one);
	}
}

/* run_loop - deliver answers until no query is pending. */
static void
run_loop(struct fake *f)
{
	while (f->head != f->tail) {
		struct pending p = f->q[f->head++ % PENDING_MAX];
		struct dns_answer ans;

		if (f->delay_ms) {
			struct timespec ts = {0, (long)f->delay_ms * 1000000L};

			nanosleep(&ts, NULL);
		}
		fake_build(f, &p, &ans);
		p.cb(p.arg, &ans);
		dns_answer_free(&ans);
	}
}

static struct resolver
fake_resolver(struct fake *f)
{
	struct resolver r = {f, fake_query, NULL};

	return r;
}

/* ---- check_host() driver ---- */

struct done {
	int calls;
	struct spf_outcome *out;
};

static void
on_done(void *arg, struct spf_outcome *out)
{
	struct done *d = arg;

	d->calls++;
	d->out = out;
}

/* check - run check_host() to the end; exactly one result. */
static void
check_fake(struct fake *f, const char *ip, const char *sender, const char *helo,
           struct spf_outcome *out)
{
	struct resolver res = fake_resolver(f);
	struct spf_request req = {.sender = sender,
	                          .helo = helo,
	                          .now = 1400000000,
	                          .receiver = "rx.example.org"};
	struct done d = {0, NULL};
	int rc;

	ck_assert_msg(spf_addr_parse(ip, &req.ip) == 0, "bad ip %s", ip);
	rc = spf_check_host(&res, &req, out, on_done, &d);
	ck_assert_int_eq(f->in_query, 0);
	if (rc == 1) {
		ck_assert_int_eq(f->head, f->tail);
		ck_assert_int_eq(d.calls, 0);
		return;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(d.calls, 0); /* never from inside spf_check_host */
	run_loop(f);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_ptr_eq(d.out, out);
}

static enum spf_result
check(const struct rr *zone, const char *ip, const char *sender,
      const char *helo, struct spf_outcome *out)
{
	struct fake f = {.zone = zone};

	check_fake(&f, ip, sender, helo, out);
	return out->result;
}

/* ---- the suite's cases ---- */

#define R2(a, b) ((1u << (a)) | (1u << (b)))
#define R1(a) (1u << (a))

struct tcase_spf {
	const char *name;
	const char *spec; /* RFC 7208 section */
	const char *helo, *host, *mailfrom;
	unsigned results; /* accepted results, R1()/R2() */
	const char *exp;  /* NULL: not checked; "": no explanation */
};

/* run_cases - one loop test body over a table with its zone. */
static void
run_case(const struct rr *zone, const struct tcase_spf *c)
{
	struct spf_outcome out;

	check(zone, c->host, c->mailfrom, c->helo, &out);
	ck_assert_msg((c->results & (1u << out.result)) != 0,
	              "%s (section %s): got %s: %s", c->name, c->spec,
	              spf_result_name(out.result), out.reason);
	if (c->exp != NULL)
		ck_assert_msg(
		    strcasecmp(out.explanation, c->exp) == 0,
		    "%s (section %s): explanation \"%s\", want \"%s\"", c->name,
		    c->spec, out.explanation, c->exp);
}

#define SUITE_SECTION(id, zone, cases)                                         \
	START_TEST(id)                                                         \
	{                                                                      \
		run_case(zone, &cases[_i]);                                    \
	}                                                                      \
	END_TEST

/* ---- section 4.3: initial processing ---- */

static const struct rr zone_initial[] = {
    TIMEOUT("example.com"),
    TXT("example.net", "v=spf1 -all exp=exp.example.net"),
    TXT("a.example.net", "v=spf1 -all exp=exp.example.net"),
    TXT("exp.example.net", "%{l}"),
    TXT("a12345678901234567890123456789012345678901234567890123456789012."
        "example.com",
        "v=spf1 -all"),
    TXT("hosed.example.com", "v=spf1 a:\xEF\xBB\xBFgarbage.example.net -all"),
    TXT("hosed2.example.com", "v=spf1 \x80"
                              "a:example.net -all"),
    TXT("hosed3.example.com", "v=spf1 a:example.net \x96"
                              "all"),
    TXT("nothosed.example.com", "v=spf1 a:example.net -all"),
    TXT("nothosed.example.com", "\x96"),
    TXT("ctrl.example.com", "v=spf1 a:ctrl.example.com\rptr -all"),
    A("ctrl.example.com", "192.0.2.3"),
    TXT("fine.example.com", "v=spf1 a  -all"),
    END,
};

static const struct tcase_spf cases_initial[] = {
    {"toolonglabel", "4.3/1", "mail.example.net", "1.2.3.5",
     "lyme.eater@A123456789012345678901234567890123456789012345678901234"
     "567890123.example.com",
     R1(SPF_NONE), NULL},
    {"longlabel", "4.3/1", "mail.example.net", "1.2.3.5",
     "lyme.eater@A12345678901234567890123456789012345678901234567890123"
     "456789012.example.com",
     R1(SPF_FAIL), NULL},
    {"emptylabel", "4.3/1", "mail.example.net", "1.2.3.5",
     "lyme.eater@A...example.com", R1(SPF_NONE), NULL},
    {"helo-not-fqdn", "4.3/1", "A2345678", "1.2.3.5", "", R1(SPF_NONE), NULL},
    {"helo-domain-literal", "4.3/1", "[1.2.3.5]", "1.2.3.5", "", R1(SPF_NONE),
     NULL},
    {"nolocalpart", "4.3/2", "mail.example.net", "1.2.3.4", "@example.net",
     R1(SPF_FAIL), "postmaster"},
    {"domain-literal", "4.3/1", "OEMCOMPUTER", "1.2.3.5", "foo@[1.2.3.5]",
     R1(SPF_NONE), NULL},
    {"non-ascii-policy", "3.1/1", "hosed", "1.2.3.4",
     "foobar@hosed.example.com", R1(SPF_PERMERROR), NULL},
    {"non-ascii-mech", "3.1/1", "hosed", "1.2.3.4", "foobar@hosed2.example.com",
     R1(SPF_PERMERROR), NULL},
    {"non-ascii-result", "3.1/1", "hosed", "1.2.3.4",
     "foobar@hosed3.example.com", R1(SPF_PERMERROR), NULL},
    {"non-ascii-non-spf", "4.5/1", "hosed", "1.2.3.4",
     "foobar@nothosed.example.com", R1(SPF_FAIL), ""},
    {"control-char-policy", "4.6.1/2", "hosed", "192.0.2.3",
     "foobar@ctrl.example.com", R1(SPF_PERMERROR), NULL},
    {"two-spaces", "4.6.1", "hosed", "1.2.3.4", "actually@fine.example.com",
     R1(SPF_FAIL), NULL},
};
SUITE_SECTION(suite_initial, zone_initial, cases_initial)

/* ---- section 4.4: record lookup (TXT only) ---- */

static const struct rr zone_lookup[] = {
    TXT("both.example.net", "v=spf1 -all"),
    TXT("txtonly.example.net", "v=spf1 -all"),
    A("spfonly.example.net", "192.0.2.1"), /* SPF type only: TXT NODATA */
    TXT("spftimeout.example.net", "v=spf1 -all"),
    TIMEOUT("txttimeout.example.net"),
    TIMEOUT("nospftxttimeout.example.net"),
    TIMEOUT("alltimeout.example.net"),
    END,
};

static const struct tcase_spf cases_lookup[] = {
    {"both", "4.4/1", "mail.example.net", "1.2.3.4", "foo@both.example.net",
     R1(SPF_FAIL), NULL},
    {"txtonly", "4.4/1", "mail.example.net", "1.2.3.4",
     "foo@txtonly.example.net", R1(SPF_FAIL), NULL},
    {"spfonly", "4.4/1", "mail.example.net", "1.2.3.4",
     "foo@spfonly.example.net", R1(SPF_NONE), NULL},
    {"spftimeout", "4.4/1", "mail.example.net", "1.2.3.4",
     "foo@spftimeout.example.net", R1(SPF_FAIL), NULL},
    {"txttimeout", "4.4/1", "mail.example.net", "1.2.3.4",
     "foo@txttimeout.example.net", R1(SPF_TEMPERROR), NULL},
    {"nospftxttimeout", "4.4/1", "mail.example.net", "1.2.3.4",
     "foo@nospftxttimeout.example.net", R1(SPF_TEMPERROR), NULL},
    {"alltimeout", "4.4/2", "mail.example.net", "1.2.3.4",
     "foo@alltimeout.example.net", R1(SPF_TEMPERROR), NULL},
    {"nxdomain", "4.3/1", "mail.example.net", "1.2.3.4",
     "foo@nowhere.example.net", R1(SPF_NONE), NULL},
};
SUITE_SECTION(suite_lookup, zone_lookup, cases_lookup)

/* ---- section 4.5: selecting records ---- */

static const struct rr zone_select[] = {
    TXT("example3.com", "v=spf10"),
    TXT("example3.com", "v=spf1 mx"),
    MX("example3.com", "0 mail.example1.com"),
    TXT("example1.com", "v=spf1"),
    TXT("example2.com", "v=spf1"
                        "mx"), /* two strings, joined */
    A("mail.example1.com", "1.2.3.4"),
    TXT("example4.com", "v=spf1 -all"),
    TXT("example5.com", "v=spf1 -all"),
    TXT("example5.com", "v=spf1 +all"),
    TXT("example6.com", "v=spf1 -all"),
    TXT("example6.com", "V=sPf1 +all"),
    TXT("example7.com", "v=spf1 -all"),
    TXT("example7.com", "v=spf1 -all"),
    TXT("example8.com", "v=spf1 +all"),
    TXT("example9.com", "v=SpF1 ~all"),
    END,
};

static const struct tcase_spf cases_select[] = {
    {"nospace1", "4.5/4", "mail.example1.com", "1.2.3.4", "foo@example2.com",
     R1(SPF_NONE), NULL},
    {"empty", "4.5/4", "mail1.example1.com", "1.2.3.4", "foo@example1.com",
     R1(SPF_NEUTRAL), NULL},
    {"nospace2", "4.5/4", "mail.example1.com", "1.2.3.4", "foo@example3.com",
     R1(SPF_PASS), NULL},
    {"spfoverride", "4.5/5", "mail.example1.com", "1.2.3.4", "foo@example4.com",
     R1(SPF_FAIL), NULL},
    {"multitxt1", "4.5/5", "mail.example1.com", "1.2.3.4", "foo@example5.com",
     R1(SPF_PERMERROR), NULL},
    {"multitxt2", "4.5/6", "mail.example1.com", "1.2.3.4", "foo@example6.com",
     R1(SPF_PERMERROR), NULL},
    {"multispf1", "4.5/6", "mail.example1.com", "1.2.3.4", "foo@example7.com",
     R2(SPF_PERMERROR, SPF_FAIL), NULL},
    {"multispf2", "4.5/6", "mail.example1.com", "1.2.3.4", "foo@example8.com",
     R1(SPF_PASS), NULL},
    {"nospf", "4.5/7", "mail.example1.com", "1.2.3.4", "foo@mail.example1.com",
     R1(SPF_NONE), NULL},
    {"case-insensitive", "4.5/6", "mail.example1.com", "1.2.3.4",
     "foo@example9.com", R1(SPF_SOFTFAIL), NULL},
};
SUITE_SECTION(suite_select, zone_select, cases_select)

/* ---- section 4.6: record evaluation ---- */

static const struct rr zone_eval[] = {
    A("mail.example.com", "1.2.3.4"),
    TXT("t1.example.com", "v=spf1 ip4:1.2.3.4 -all moo"),
    TXT("t2.example.com", "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 "
                          "-all"),
    TXT("t3.example.com", "v=spf1 moo.cow/far_out=man:dog/cat ip4:1.2.3.4 "
                          "-all"),
    TXT("t4.example.com", "v=spf1 moo.cow:far_out=man:dog/cat ip4:1.2.3.4 "
                          "-all"),
    TXT("t5.example.com", "v=spf1 redirect=t5.example.com ~all"),
    TXT("t6.example.com", "v=spf1 ip4:1.2.3.4 redirect=t2.example.com"),
    TXT("t7.example.com", "v=spf1 ip4:1.2.3.4"),
    TXT("t8.example.com", "v=spf1 ip4:1.2.3.4 redirect:t2.example.com"),
    TXT("t9.example.com", "v=spf1 a:foo-bar -all"),
    TXT("t10.example.com", "v=spf1 a:mail.example...com -all"),
    TXT("t11.example.com", "v=spf1 a:a123456789012345678901234567890123456"
                           "789012345678901234567890123.example.com -all"),
    TXT("t12.example.com", "v=spf1 a:%{H}.bar -all"),
    END,
};

static const struct tcase_spf cases_eval[] = {
    {"detect-errors-anywhere", "4.6", "mail.example.com", "1.2.3.4",
     "foo@t1.example.com", R1(SPF_PERMERROR), NULL},
    {"modifier-charset-good", "4.6.1/2", "mail.example.com", "1.2.3.4",
     "foo@t2.example.com", R1(SPF_PASS), NULL},
    {"modifier-charset-bad1", "4.6.1/4", "mail.example.com", "1.2.3.4",
     "foo@t3.example.com", R1(SPF_PERMERROR), NULL},
    {"modifier-charset-bad2", "4.6.1/4", "mail.example.com", "1.2.3.4",
     "foo@t4.example.com", R1(SPF_PERMERROR), NULL},
    {"redirect-after-mechanisms1", "4.6.3", "mail.example.com", "1.2.3.4",
     "foo@t5.example.com", R1(SPF_SOFTFAIL), NULL},
    {"redirect-after-mechanisms2", "4.6.3", "mail.example.com", "1.2.3.5",
     "foo@t6.example.com", R1(SPF_FAIL), NULL},
    {"default-result", "4.7/1", "mail.example.com", "1.2.3.5",
     "foo@t7.example.com", R1(SPF_NEUTRAL), NULL},
    {"redirect-is-modifier", "4.6.1/4", "mail.example.com", "1.2.3.4",
     "foo@t8.example.com", R1(SPF_PERMERROR), NULL},
    {"invalid-domain", "7.1/2", "mail.example.com", "1.2.3.4",
     "foo@t9.example.com", R1(SPF_PERMERROR), NULL},
    {"invalid-domain-empty-label", "4.3/1, 4.8/5", "mail.example.com",
     "1.2.3.4", "foo@t10.example.com", R2(SPF_FAIL, SPF_PERMERROR), NULL},
    {"invalid-domain-long", "4.3/1, 4.8/5", "mail.example.com", "1.2.3.4",
     "foo@t11.example.com", R2(SPF_FAIL, SPF_PERMERROR), NULL},
    {"invalid-domain-long-via-macro", "4.3/1, 4.8/5", "%%%%%%%%%%%%%%%%%%%%%%",
     "1.2.3.4", "foo@t12.example.com", R2(SPF_FAIL, SPF_PERMERROR), NULL},
};
SUITE_SECTION(suite_eval, zone_eval, cases_eval)

/* ---- section 5.1: all ---- */

static const struct rr zone_all[] = {
    A("mail.example.com", "1.2.3.4"),
    TXT("e1.example.com", "v=spf1 -all."),
    TXT("e2.example.com", "v=spf1 -all:foobar"),
    TXT("e3.example.com", "v=spf1 -all/8"),
    TXT("e4.example.com", "v=spf1 ?all"),
    TXT("e5.example.com", "v=spf1 all -all"),
    END,
};

static const struct tcase_spf cases_all[] = {
    {"all-dot", "5.1/1", "mail.example.com", "1.2.3.4", "foo@e1.example.com",
     R1(SPF_PERMERROR), NULL},
    {"all-arg", "5.1/1", "mail.example.com", "1.2.3.4", "foo@e2.example.com",
     R1(SPF_PERMERROR), NULL},
    {"all-cidr", "5.1/1", "mail.example.com", "1.2.3.4", "foo@e3.example.com",
     R1(SPF_PERMERROR), NULL},
    {"all-neutral", "5.1/1", "mail.example.com", "1.2.3.4",
     "foo@e4.example.com", R1(SPF_NEUTRAL), NULL},
    {"all-double", "5.1/1", "mail.example.com", "1.2.3.4", "foo@e5.example.com",
     R1(SPF_PASS), NULL},
};
SUITE_SECTION(suite_all, zone_all, cases_all)

/* ---- section 5.5: ptr ---- */

static const struct rr zone_ptr[] = {
    A("mail.example.com", "1.2.3.4"),
    AAAA("mail.example.com", "2001:db8::1"),
    TXT("e1.example.com", "v=spf1 ptr/0 -all"),
    TXT("e2.example.com", "v=spf1 ptr:example.com -all"),
    PTR("4.3.2.1.in-addr.arpa", "e3.example.com"),
    PTR("4.3.2.1.in-addr.arpa", "e4.example.com"),
    PTR("4.3.2.1.in-addr.arpa", "mail.example.com"),
    PTR("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.E.B.A.B.E.F.A.C."
        "ip6.arpa",
        "e3.example.com"),
    PTR("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.D.0.1.0.0.2."
        "ip6.arpa",
        "mail.Example.com"),
    TXT("e3.example.com", "v=spf1 ptr -all"),
    A("e3.example.com", "1.2.3.4"),
    AAAA("e3.example.com", "CAFE:BABE::1"),
    TXT("e4.example.com", "v=spf1 ptr -all"),
    TXT("e5.example.com", "v=spf1 ptr:"),
    TXT("e6.example.com", "v=spf1 ptr:example.Com -all"),
    END,
};

static const struct tcase_spf cases_ptr[] = {
    {"ptr-cidr", "5.5/2", "mail.example.com", "1.2.3.4", "foo@e1.example.com",
     R1(SPF_PERMERROR), NULL},
    {"ptr-match-target", "5.5/5", "mail.example.com", "1.2.3.4",
     "foo@e2.example.com", R1(SPF_PASS), NULL},
    {"ptr-match-implicit", "5.5/5", "mail.example.com", "1.2.3.4",
     "foo@e3.example.com", R1(SPF_PASS), NULL},
    {"ptr-nomatch-invalid", "5.5/5", "mail.example.com", "1.2.3.4",
     "foo@e4.example.com", R1(SPF_FAIL), NULL},
    {"ptr-match-ip6", "5.5/5", "mail.example.com", "CAFE:BABE::1",
     "foo@e3.example.com", R1(SPF_PASS), NULL},
    {"ptr-empty-domain", "5.5/2", "mail.example.com", "1.2.3.4",
     "foo@e5.example.com", R1(SPF_PERMERROR), NULL},
    {"ptr-case-change", "5.5/2", "mail.example.com", "2001:db8::1",
     "bar@e6.example.com", R1(SPF_PASS), NULL},
};
SUITE_SECTION(suite_ptr, zone_ptr, cases_ptr)

/* ---- section 5.3: a ---- */

static const struct rr zone_a[] = {
    A("mail.example.com", "1.2.3.4"),
    TXT("e1.example.com", "v=spf1 a/0 -all"),
    A("e2.example.com", "1.1.1.1"),
    AAAA("e2.example.com", "1234::2"),
    TXT("e2.example.com", "v=spf1 a/0 -all"),
    AAAA("e2a.example.com", "1234::1"),
    TXT("e2a.example.com", "v=spf1 a//0 -all"),
    A("e2b.example.com", "1.1.1.1"),
    TXT("e2b.example.com", "v=spf1 a//0 -all"),
    AAAA("ipv6.example.com", "1234::1"),
    A("ipv6.example.com", "1.1.1.1"),
    TXT("ipv6.example.com", "v=spf1 a -all"),
    TXT("e3.example.com", "v=spf1 a:foo.example.com\0"),
    TXT("e4.example.com", "v=spf1 a:111.222.33.44"),
    TXT("e5.example.com", "v=spf1 a:abc.123"),
    TXT("e5a.example.com", "v=spf1 a:museum"),
    TXT("e5b.example.com", "v=spf1 a:museum."),
    TXT("e6.example.com", "v=spf1 a//33 -all"),
    TXT("e6a.example.com", "v=spf1 a/33 -all"),
    TXT("e7.example.com", "v=spf1 a//129 -all"),
    A("e8.example.com", "1.2.3.5"),
    AAAA("e8.example.com", "2001:db8:1234::dead:beef"),
    TXT("e8.example.com", "v=spf1 a/24//64 -all"),
    A("e8e.example.com", "1.2.3.5"),
    AAAA("e8e.example.com", "2001:db8:1234::dead:beef"),
    TXT("e8e.example.com", "v=spf1 a/24/64 -all"),
    A("e8a.example.com", "1.2.3.5"),
    AAAA("e8a.example.com", "2001:db8:1234::dead:beef"),
    TXT("e8a.example.com", "v=spf1 a/24 -all"),
    A("e8b.example.com", "1.2.3.5"),
    AAAA("e8b.example.com", "2001:db8:1234::dead:beef"),
    TXT("e8b.example.com", "v=spf1 a//64 -all"),
    TXT("e9.example.com", "v=spf1 a:example.com:8080"),
    TXT("e10.example.com", "v=spf1 a:foo.example.com/24"),
    A("foo.example.com", "1.1.1.1"),
    A("foo.example.com", "1.2.3.5"),
    TXT("e11.example.com", "v=spf1 a:foo:bar/baz.example.com"),
    A("foo:bar/baz.example.com", "1.2.3.4"),
    TXT("e12.example.com", "v=spf1 a:example.-com"),
    TXT("e13.example.com", "v=spf1 a:"),
    TXT("e14.example.com", "v=spf1 a:foo.example.xn--zckzah -all"),
    A("foo.example.xn--zckzah", "1.2.3.4"),
    END,
};

#define MEC "mail.example.com"
static const struct tcase_spf cases_a[] = {
    {"a-cidr6", "5.3/2", MEC, "1.2.3.4", "foo@e6.example.com", R1(SPF_FAIL),
     NULL},
    {"a-bad-cidr4", "5.3/2", MEC, "1.2.3.4", "foo@e6a.example.com",
     R1(SPF_PERMERROR), NULL},
    {"a-bad-cidr6", "5.3/2", MEC, "1.2.3.4", "foo@e7.example.com",
     R1(SPF_PERMERROR), NULL},
    {"a-dual-cidr-ip4-match", "5.3/2", MEC, "1.2.3.4", "foo@e8.example.com",
     R1(SPF_PASS), NULL},
    {"a-dual-cidr-ip4-err", "5.3/2", MEC, "1.2.3.4", "foo@e8e.example.com",
     R1(SPF_PERMERROR), NULL},
    {"a-dual-cidr-ip6-match", "5.3/2", MEC, "2001:db8:1234::cafe:babe",
     "foo@e8.example.com", R1(SPF_PASS), NULL},
    {"a-dual-cidr-ip4-default", "5.3/2", MEC, "1.2.3.4", "foo@e8b.example.com",
     R1(SPF_FAIL), NULL},
    {"a-dual-cidr-ip6-default", "5.3/2", MEC, "2001:db8:1234::cafe:babe",
     "foo@e8a.example.com", R1(SPF_FAIL), NULL},
    {"a-multi-ip1", "5.3/3", MEC, "1.2.3.4", "foo@e10.example.com",
     R1(SPF_PASS), NULL},
    {"a-bad-domain", "7.1/2", MEC, "1.2.3.4", "foo@e9.example.com",
     R1(SPF_PERMERROR), NULL},
    {"a-nxdomain", "5.3/3", MEC, "1.2.3.4", "foo@e1.example.com", R1(SPF_FAIL),
     NULL},
    {"a-cidr4-0", "5.3/3", MEC, "1.2.3.4", "foo@e2.example.com", R1(SPF_PASS),
     NULL},
    {"a-cidr4-0-ip6", "5.3/3", MEC, "1234::1", "foo@e2.example.com",
     R1(SPF_FAIL), NULL},
    {"a-cidr6-0-ip4", "5.3/3", MEC, "1.2.3.4", "foo@e2a.example.com",
     R1(SPF_FAIL), NULL},
    {"a-cidr6-0-ip4mapped", "5.3/3", MEC, "::FFFF:1.2.3.4",
     "foo@e2a.example.com", R1(SPF_FAIL), NULL},
    {"a-cidr6-0-ip6", "5.3/3", MEC, "1234::1", "foo@e2a.example.com",
     R1(SPF_PASS), NULL},
    {"a-ip6-dualstack", "5.3/3", MEC, "1234::1", "foo@ipv6.example.com",
     R1(SPF_PASS), NULL},
    {"a-cidr6-0-nxdomain", "5.3/3", MEC, "1234::1", "foo@e2b.example.com",
     R1(SPF_FAIL), NULL},
    {"a-null", "7.1/2", MEC, "1.2.3.5", "foo@e3.example.com", R1(SPF_PERMERROR),
     NULL},
    {"a-numeric", "7.1/2", MEC, "1.2.3.4", "foo@e4.example.com",
     R1(SPF_PERMERROR), NULL},
    {"a-numeric-toplabel", "7.1/2", MEC, "1.2.3.4", "foo@e5.example.com",
     R1(SPF_PERMERROR), NULL},
    {"a-dash-in-toplabel", "7.1/2", MEC, "1.2.3.4", "foo@e14.example.com",
     R1(SPF_PASS), NULL},
    {"a-bad-toplabel", "7.1/2", MEC, "1.2.3.4", "foo@e12.example.com",
     R1(SPF_PERMERROR), NULL},
    {"a-only-toplabel", "7.1/2", MEC, "1.2.3.4", "foo@e5a.example.com",
     R1(SPF_PERMERROR), NULL},
    {"a-only-toplabel-trailing-dot", "7.1/2", MEC, "1.2.3.4",
     "foo@e5b.example.com", R1(SPF_PERMERROR), NULL},
    {"a-colon-domain", "7.1/2", MEC, "1.2.3.4", "foo@e11.example.com",
     R1(SPF_PASS), NULL},
    {"a-colon-domain-ip4mapped", "7.1/2", MEC, "::FFFF:1.2.3.4",
     "foo@e11.example.com", R1(SPF_PASS), NULL},
    {"a-empty-domain", "5.3/2", MEC, "1.2.3.4", "foo@e13.example.com",
     R1(SPF_PERMERROR), NULL},
};
SUITE_SECTION(suite_a, zone_a, cases_a)

/* ---- section 5.2: include ---- */

static const struct rr zone_include[] = {
    A("mail.example.com", "1.2.3.4"),
    TXT("ip5.example.com", "v=spf1 ip4:1.2.3.5 -all"),
    TXT("ip6.example.com", "v=spf1 ip4:1.2.3.6 ~all"),
    TXT("ip7.example.com", "v=spf1 ip4:1.2.3.7 ?all"),
    TIMEOUT("ip8.example.com"),
    TXT("erehwon.example.com", "v=spfl am not an SPF record"),
    TXT("e1.example.com", "v=spf1 include:ip5.example.com ~all"),
    TXT("e2.example.com", "v=spf1 include:ip6.example.com all"),
    TXT("e3.example.com", "v=spf1 include:ip7.example.com -all"),
    TXT("e4.example.com", "v=spf1 include:ip8.example.com -all"),
    TXT("e5.example.com", "v=spf1 include:e6.example.com -all"),
    TXT("e6.example.com", "v=spf1 include +all"),
    TXT("e7.example.com", "v=spf1 include:erehwon.example.com -all"),
    TXT("e8.example.com", "v=spf1 include: -all"),
    TXT("e9.example.com", "v=spf1 include:ip5.example.com/24 -all"),
    TXT("e10.example.com", "v=spf1 include:nxd.example.com -all"),
    END,
};

static const struct tcase_spf cases_include[] = {
    {"include-fail", "5.2/9", MEC, "1.2.3.4", "foo@e1.example.com",
     R1(SPF_SOFTFAIL), NULL},
    {"include-softfail", "5.2/9", MEC, "1.2.3.4", "foo@e2.example.com",
     R1(SPF_PASS), NULL},
    {"include-neutral", "5.2/9", MEC, "1.2.3.4", "foo@e3.example.com",
     R1(SPF_FAIL), NULL},
    {"include-temperror", "5.2/9", MEC, "1.2.3.4", "foo@e4.example.com",
     R1(SPF_TEMPERROR), NULL},
    {"include-permerror", "5.2/9", MEC, "1.2.3.4", "foo@e5.example.com",
     R1(SPF_PERMERROR), NULL},
    {"include-syntax-error", "5.2/1", MEC, "1.2.3.4", "foo@e6.example.com",
     R1(SPF_PERMERROR), NULL},
    {"include-cidr", "5.2/1", MEC, "1.2.3.4", "foo@e9.example.com",
     R1(SPF_PERMERROR), NULL},
    {"include-none", "5.2/9", MEC, "1.2.3.4", "foo@e7.example.com",
     R1(SPF_PERMERROR), NULL},
    {"include-empty-domain", "5.2/1", MEC, "1.2.3.4", "foo@e8.example.com",
     R1(SPF_PERMERROR), NULL},
    {"include-nxdomain", "5.2/9", MEC, "1.2.3.4", "foo@e10.example.com",
     R1(SPF_PERMERROR), NULL},
    {"include-pass", "5.2/9", MEC, "1.2.3.5", "foo@e1.example.com",
     R1(SPF_PASS), NULL},
};
SUITE_SECTION(suite_include, zone_include, cases_include)

/* ---- section 5.4: mx ---- */

static const struct rr zone_mx[] = {
    A("mail.example.com", "1.2.3.4"),
    MX("mail.example.com", "0 ."),
    TXT("mail.example.com", "v=spf1 mx"),
    TXT("e1.example.com", "v=spf1 mx/0 -all"),
    MX("e1.example.com", "0 e1.example.com"),
    A("e2.example.com", "1.1.1.1"),
    AAAA("e2.example.com", "1234::2"),
    MX("e2.example.com", "0 e2.example.com"),
    TXT("e2.example.com", "v=spf1 mx/0 -all"),
    AAAA("e2a.example.com", "1234::1"),
    MX("e2a.example.com", "0 e2a.example.com"),
    TXT("e2a.example.com", "v=spf1 mx//0 -all"),
    A("e2b.example.com", "1.1.1.1"),
    MX("e2b.example.com", "0 e2b.example.com"),
    TXT("e2b.example.com", "v=spf1 mx//0 -all"),
    TXT("e3.example.com", "v=spf1 mx:foo.example.com\0"),
    TXT("e4.example.com", "v=spf1 mx"),
    A("e4.example.com", "1.2.3.4"),
    TXT("e5.example.com", "v=spf1 mx:abc.123"),
    TXT("e6.example.com", "v=spf1 mx//33 -all"),
    TXT("e6a.example.com", "v=spf1 mx/33 -all"),
    TXT("e7.example.com", "v=spf1 mx//129 -all"),
    TXT("e9.example.com", "v=spf1 mx:example.com:8080"),
    TXT("e10.example.com", "v=spf1 mx:foo.example.com/24"),
    MX("foo.example.com", "0 foo1.example.com"),
    A("foo1.example.com", "1.1.1.1"),
    A("foo1.example.com", "1.2.3.5"),
    TXT("e11.example.com", "v=spf1 mx:foo:bar/baz.example.com"),
    MX("foo:bar/baz.example.com", "0 foo:bar/baz.example.com"),
    A("foo:bar/baz.example.com", "1.2.3.4"),
    TXT("e12.example.com", "v=spf1 mx:example.-com"),
    TXT("e13.example.com", "v=spf1 mx: -all"),
    END,
};

static const struct tcase_spf cases_mx[] = {
    {"mx-cidr6", "5.4/2", MEC, "1.2.3.4", "foo@e6.example.com", R1(SPF_FAIL),
     NULL},
    {"mx-bad-cidr4", "5.4/2", MEC, "1.2.3.4", "foo@e6a.example.com",
     R1(SPF_PERMERROR), NULL},
    {"mx-bad-cidr6", "5.4/2", MEC, "1.2.3.4", "foo@e7.example.com",
     R1(SPF_PERMERROR), NULL},
    {"mx-multi-ip1", "5.4/3", MEC, "1.2.3.4", "foo@e10.example.com",
     R1(SPF_PASS), NULL},
    {"mx-bad-domain", "7.1/2", MEC, "1.2.3.4", "foo@e9.example.com",
     R1(SPF_PERMERROR), NULL},
    {"mx-nxdomain", "5.4/3", MEC, "1.2.3.4", "foo@e1.example.com", R1(SPF_FAIL),
     NULL},
    {"mx-cidr4-0", "5.4/3", MEC, "1.2.3.4", "foo@e2.example.com", R1(SPF_PASS),
     NULL},
    {"mx-cidr4-0-ip6", "5.4/3", MEC, "1234::1", "foo@e2.example.com",
     R1(SPF_FAIL), NULL},
    {"mx-cidr6-0-ip4", "5.4/3", MEC, "1.2.3.4", "foo@e2a.example.com",
     R1(SPF_FAIL), NULL},
    {"mx-cidr6-0-ip4mapped", "5.4/3", MEC, "::FFFF:1.2.3.4",
     "foo@e2a.example.com", R1(SPF_FAIL), NULL},
    {"mx-cidr6-0-ip6", "5.3/3", MEC, "1234::1", "foo@e2a.example.com",
     R1(SPF_PASS), NULL},
    {"mx-cidr6-0-nxdomain", "5.4/3", MEC, "1234::1", "foo@e2b.example.com",
     R1(SPF_FAIL), NULL},
    {"mx-null", "7.1/2", MEC, "1.2.3.5", "foo@e3.example.com",
     R1(SPF_PERMERROR), NULL},
    {"mx-numeric-top-label", "7.1/2", MEC, "1.2.3.4", "foo@e5.example.com",
     R1(SPF_PERMERROR), NULL},
    {"mx-colon-domain", "7.1/2", MEC, "1.2.3.4", "foo@e11.example.com",
     R1(SPF_PASS), NULL},
    {"mx-colon-domain-ip4mapped", "7.1/2", MEC, "::FFFF:1.2.3.4",
     "foo@e11.example.com", R1(SPF_PASS), NULL},
    {"mx-bad-toplab", "7.1/2", MEC, "1.2.3.4", "foo@e12.example.com",
     R1(SPF_PERMERROR), NULL},
    {"mx-empty", "5.4/3", MEC, "1.2.3.4", "", R1(SPF_NEUTRAL), NULL},
    {"mx-implicit", "5.4/4", MEC, "1.2.3.4", "foo@e4.example.com",
     R1(SPF_NEUTRAL), NULL},
    {"mx-empty-domain", "5.2/1", MEC, "1.2.3.4", "foo@e13.example.com",
     R1(SPF_PERMERROR), NULL},
};
SUITE_SECTION(suite_mx, zone_mx, cases_mx)

/* ---- section 5.7: exists ---- */

static const struct rr zone_exists[] = {
    A("mail.example.com", "1.2.3.4"),
    AAAA("mail6.example.com", "CAFE:BABE::4"),
    TIMEOUT("err.example.com"),
    TXT("e1.example.com", "v=spf1 exists:"),
    TXT("e2.example.com", "v=spf1 exists"),
    TXT("e3.example.com", "v=spf1 exists:mail.example.com/24"),
    TXT("e4.example.com", "v=spf1 exists:mail.example.com"),
    TXT("e5.example.com", "v=spf1 exists:mail6.example.com -all"),
    TXT("e6.example.com", "v=spf1 exists:err.example.com -all"),
    END,
};

static const struct tcase_spf cases_exists[] = {
    {"exists-empty-domain", "5.7/2", MEC, "1.2.3.4", "foo@e1.example.com",
     R1(SPF_PERMERROR), NULL},
    {"exists-implicit", "5.7/2", MEC, "1.2.3.4", "foo@e2.example.com",
     R1(SPF_PERMERROR), NULL},
    {"exists-cidr", "5.7/2", MEC, "1.2.3.4", "foo@e3.example.com",
     R1(SPF_PERMERROR), NULL},
    {"exists-ip4", "5.7/3", MEC, "1.2.3.4", "foo@e4.example.com", R1(SPF_PASS),
     NULL},
    {"exists-ip6", "5.7/3", MEC, "CAFE:BABE::3", "foo@e4.example.com",
     R1(SPF_PASS), NULL},
    {"exists-ip6only", "5.7/3", MEC, "CAFE:BABE::3", "foo@e5.example.com",
     R1(SPF_FAIL), NULL},
    {"exists-dnserr", "5/8", MEC, "CAFE:BABE::3", "foo@e6.example.com",
     R1(SPF_TEMPERROR), NULL},
};
SUITE_SECTION(suite_exists, zone_exists, cases_exists)

/* ---- section 5.6: ip4 and ip6 ---- */

static const struct rr zone_ip[] = {
    A("mail.example.com", "1.2.3.4"),
    TXT("e1.example.com", "v=spf1 ip4:1.1.1.1/0 -all"),
    TXT("e2.example.com", "v=spf1 ip4:1.2.3.4/32 -all"),
    TXT("e3.example.com", "v=spf1 ip4:1.2.3.4/33 -all"),
    TXT("e4.example.com", "v=spf1 ip4:1.2.3.4/032 -all"),
    TXT("e5.example.com", "v=spf1 ip4"),
    TXT("e6.example.com", "v=spf1 ip4:1.2.3.4//32"),
    TXT("e7.example.com", "v=spf1 -ip4:1.2.3.4 ip6:::FFFF:1.2.3.4"),
    TXT("e8.example.com", "v=spf1 ip4:1.2.3.4:8080"),
    TXT("e9.example.com", "v=spf1 ip4:1.2.3"),
    TXT("f1.example.com", "v=spf1 -all ip6"),
    TXT("f2.example.com", "v=spf1 ip6:::1.1.1.1/0"),
    TXT("f3.example.com", "v=spf1 ip6:::1.1.1.1/129"),
    TXT("f4.example.com", "v=spf1 ip6:::1.1.1.1//33"),
    TXT("f5.example.com", "v=spf1 ip6:Cafe:Babe:8000::/33"),
    TXT("f6.example.com", "v=spf1 ip6::CAFE::BABE"),
    TXT("f7.example.com", "v=spf1 ip4:01.2.3.4 -all"),
    END,
};

static const struct tcase_spf cases_ip[] = {
    {"cidr4-0", "5.6/2", MEC, "1.2.3.4", "foo@e1.example.com", R1(SPF_PASS),
     NULL},
    {"cidr4-32", "5.6/2", MEC, "1.2.3.4", "foo@e2.example.com", R1(SPF_PASS),
     NULL},
    {"cidr4-33", "5.6/2", MEC, "1.2.3.4", "foo@e3.example.com",
     R1(SPF_PERMERROR), NULL},
    {"cidr4-032", "5.6/2", MEC, "1.2.3.4", "foo@e4.example.com",
     R1(SPF_PERMERROR), NULL},
    {"bare-ip4", "5.6/2", MEC, "1.2.3.4", "foo@e5.example.com",
     R1(SPF_PERMERROR), NULL},
    {"bad-ip4-port", "5.6/2", MEC, "1.2.3.4", "foo@e8.example.com",
     R1(SPF_PERMERROR), NULL},
    {"bad-ip4-short", "5.6/4", MEC, "1.2.3.4", "foo@e9.example.com",
     R1(SPF_PERMERROR), NULL},
    {"ip4-dual-cidr", "5.6/2", MEC, "1.2.3.4", "foo@e6.example.com",
     R1(SPF_PERMERROR), NULL},
    {"ip4-mapped-ip6", "5/9/2", MEC, "::FFFF:1.2.3.4", "foo@e7.example.com",
     R1(SPF_FAIL), NULL},
    {"ip4-leading-zero", "5.6/2", MEC, "1.2.3.4", "foo@f7.example.com",
     R1(SPF_PERMERROR), NULL},
    {"bare-ip6", "5.6/2", MEC, "1.2.3.4", "foo@f1.example.com",
     R1(SPF_PERMERROR), NULL},
    {"cidr6-0-ip4", "5/9/2", MEC, "1.2.3.4", "foo@f2.example.com",
     R1(SPF_NEUTRAL), NULL},
    {"cidr6-ip4", "5/9/2", MEC, "::FFFF:1.2.3.4", "foo@f2.example.com",
     R1(SPF_NEUTRAL), NULL},
    {"cidr6-0", "5/8", MEC, "DEAF:BABE::CAB:FEE", "foo@f2.example.com",
     R1(SPF_PASS), NULL},
    {"cidr6-129", "5.6/2", MEC, "1.2.3.4", "foo@f3.example.com",
     R1(SPF_PERMERROR), NULL},
    {"cidr6-bad", "5.6/2", MEC, "1.2.3.4", "foo@f4.example.com",
     R1(SPF_PERMERROR), NULL},
    {"cidr6-33", "5.6/2", MEC, "CAFE:BABE:8000::", "foo@f5.example.com",
     R1(SPF_PASS), NULL},
    {"cidr6-33-ip4", "5.6/2", MEC, "1.2.3.4", "foo@f5.example.com",
     R1(SPF_NEUTRAL), NULL},
    {"ip6-bad1", "5.6/2", MEC, "1.2.3.4", "foo@f6.example.com",
     R1(SPF_PERMERROR), NULL},
};
SUITE_SECTION(suite_ip, zone_ip, cases_ip)

/* ---- section 6: redirect, exp and other modifiers ---- */

static const struct rr zone_mod[] = {
    A("mail.example.com", "1.2.3.4"),
    TXT("e1.example.com",
        "v=spf1 exp=exp1.example.com redirect=e2.example.com"),
    TXT("e2.example.com", "v=spf1 -all"),
    TXT("e3.example.com",
        "v=spf1 exp=exp1.example.com redirect=e4.example.com"),
    TXT("e4.example.com", "v=spf1 -all exp=exp2.example.com"),
    TXT("exp1.example.com", "No-see-um"),
    TXT("exp2.example.com", "See me."),
    TXT("exp3.example.com", "Correct!"),
    TXT("exp4.example.com", "%{l} in implementation"),
    TXT("e5.example.com", "v=spf1 1up=foo"),
    TXT("e6.example.com", "v=spf1 =all"),
    TXT("e7.example.com", "v=spf1 include:e3.example.com -all "
                          "exp=exp3.example.com"),
    TXT("e8.example.com", "v=spf1 -all exp=exp4.example.com"),
    TXT("e9.example.com", "v=spf1 -all foo=%abc"),
    TXT("e10.example.com", "v=spf1 redirect=erehwon.example.com"),
    TXT("e11.example.com", "v=spf1 -all exp=e11msg.example.com"),
    TXT("e11msg.example.com", "Answer a fool according to his folly."),
    TXT("e11msg.example.com", "Do not answer a fool according to his folly."),
    TXT("e12.example.com", "v=spf1 exp= -all"),
    TXT("e13.example.com", "v=spf1 exp=e13msg.example.com -all"),
    TXT("e13msg.example.com", "The %{x}-files."),
    TXT("e14.example.com", "v=spf1 exp=e13msg.example.com -all "
                           "exp=e11msg.example.com"),
    TXT("e15.example.com", "v=spf1 redirect=e12.example.com -all "
                           "redirect=e12.example.com"),
    TXT("e16.example.com", "v=spf1 exp=-all"),
    TXT("e17.example.com", "v=spf1 redirect=-all ?all"),
    TXT("e18.example.com", "v=spf1 ?all redirect="),
    TXT("e19.example.com", "v=spf1 default=pass"),
    TXT("e20.example.com", "v=spf1 default=+"),
    TXT("e21.example.com", "v=spf1 exp=e21msg.example.com -all"),
    TIMEOUT("e21msg.example.com"),
    TXT("e22.example.com", "v=spf1 exp=mail.example.com -all"),
    TXT("nonascii.example.com", "v=spf1 exp=badexp.example.com -all"),
    TXT("badexp.example.com", "\xEF\xBB\xBF"
                              "Explanation"),
    TXT("tworecs.example.com", "v=spf1 exp=twoexp.example.com -all"),
    TXT("twoexp.example.com", "one"),
    TXT("twoexp.example.com", "two"),
    TXT("e23.example.com", "v=spf1 a:erehwon.example.com a:foobar.com "
                           "exp=nxdomain.com -all"),
    TXT("e24.example.com", "v=spf1 redirect=testimplicit.example.com"),
    A("e24.example.com", "192.0.2.1"),
    TXT("testimplicit.example.com", "v=spf1 a -all"),
    A("testimplicit.example.com", "192.0.2.2"),
    END,
};

static const struct tcase_spf cases_mod[] = {
    {"redirect-none", "6.1/4", MEC, "1.2.3.4", "foo@e10.example.com",
     R1(SPF_PERMERROR), NULL},
    {"redirect-cancels-exp", "6.2/13", MEC, "1.2.3.4", "foo@e1.example.com",
     R1(SPF_FAIL), ""},
    {"redirect-syntax-error", "6.1/2", MEC, "1.2.3.4", "foo@e17.example.com",
     R1(SPF_PERMERROR), NULL},
    {"include-ignores-exp", "6.2/13", MEC, "1.2.3.4", "foo@e7.example.com",
     R1(SPF_FAIL), "Correct!"},
    {"redirect-cancels-prior-exp", "6.2/13", MEC, "1.2.3.4",
     "foo@e3.example.com", R1(SPF_FAIL), "See me."},
    {"invalid-modifier", "A/3", MEC, "1.2.3.4", "foo@e5.example.com",
     R1(SPF_PERMERROR), NULL},
    {"empty-modifier-name", "A/3", MEC, "1.2.3.4", "foo@e6.example.com",
     R1(SPF_PERMERROR), NULL},
    {"dorky-sentinel", "7.1/6", MEC, "1.2.3.4", "Macro Error@e8.example.com",
     R1(SPF_FAIL), "Macro Error in implementation"},
    {"exp-multiple-txt", "6.2/4", MEC, "1.2.3.4", "foo@e11.example.com",
     R1(SPF_FAIL), ""},
    {"exp-no-txt", "6.2/4", MEC, "1.2.3.4", "foo@e22.example.com", R1(SPF_FAIL),
     ""},
    {"exp-dns-error", "6.2/4", MEC, "1.2.3.4", "foo@e21.example.com",
     R1(SPF_FAIL), ""},
    {"exp-empty-domain", "6.2/4", MEC, "1.2.3.4", "foo@e12.example.com",
     R1(SPF_PERMERROR), NULL},
    {"explanation-syntax-error", "6.2/4", MEC, "1.2.3.4", "foo@e13.example.com",
     R1(SPF_FAIL), ""},
    {"exp-syntax-error", "6.2/1", MEC, "1.2.3.4", "foo@e16.example.com",
     R1(SPF_PERMERROR), NULL},
    {"exp-twice", "6/2", MEC, "1.2.3.4", "foo@e14.example.com",
     R1(SPF_PERMERROR), NULL},
    {"redirect-empty-domain", "6.2/4", MEC, "1.2.3.4", "foo@e18.example.com",
     R1(SPF_PERMERROR), NULL},
    {"redirect-twice", "6/2", MEC, "1.2.3.4", "foo@e15.example.com",
     R1(SPF_PERMERROR), NULL},
    {"unknown-modifier-syntax", "A/3", MEC, "1.2.3.4", "foo@e9.example.com",
     R1(SPF_PERMERROR), NULL},
    {"default-modifier-obsolete", "6/3", MEC, "1.2.3.4", "foo@e19.example.com",
     R1(SPF_NEUTRAL), NULL},
    {"default-modifier-obsolete2", "6/3", MEC, "1.2.3.4", "foo@e20.example.com",
     R1(SPF_NEUTRAL), NULL},
    {"non-ascii-exp", "6.2/5", "hosed", "1.2.3.4",
     "foobar@nonascii.example.com", R1(SPF_FAIL), ""},
    {"two-exp-records", "6.2/4", "hosed", "1.2.3.4",
     "foobar@tworecs.example.com", R1(SPF_FAIL), ""},
    {"exp-void", "4.6.4/1, 6/2", MEC, "1.2.3.4", "foo@e23.example.com",
     R1(SPF_FAIL), NULL},
    {"redirect-implicit", "6.1/4", "e24.example.com", "192.0.2.2",
     "bar@e24.example.com", R1(SPF_PASS), NULL},
};
SUITE_SECTION(suite_mod, zone_mod, cases_mod)

/* ---- section 7: macros ---- */

#define MSG "msgbas2x.cos.example.com"
static const struct rr zone_macro[] = {
    TXT("example.com.d.spf.example.com", "v=spf1 redirect=a.spf.example.com"),
    TXT("a.spf.example.com", "v=spf1 include:o.spf.example.com. ~all"),
    TXT("o.spf.example.com", "v=spf1 ip4:192.168.218.40"),
    A("msgbas2x.cos.example.com", "192.168.218.40"),
    A("example.com", "192.168.90.76"),
    TXT("example.com", "v=spf1 redirect=%{d}.d.spf.example.com."),
    TXT("exp.example.com", "v=spf1 exp=msg.example.com. -all"),
    TXT("msg.example.com", "This is a test."),
    TXT("e1.example.com", "v=spf1 -exists:%(ir).sbl.example.com ?all"),
    TXT("e1e.example.com", "v=spf1 exists:foo%(ir).sbl.example.com ?all"),
    TXT("e1t.example.com", "v=spf1 exists:foo%.sbl.example.com ?all"),
    TXT("e1a.example.com",
        "v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all"),
    A("macro%percent  space%20url-space.example.com", "1.2.3.4"),
    TXT("e2.example.com", "v=spf1 -all exp=%{r}.example.com"),
    TXT("e3.example.com", "v=spf1 -all exp=%{ir}.example.com"),
    TXT("40.218.168.192.example.com", "Connections from %{c} not authorized."),
    TXT("somewhat.long.exp.example.com",
        "v=spf1 -all exp=foobar.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}."
        "example.com"),
    TXT("somewhat.long.exp.example.com.somewhat.long.exp.example.com."
        "somewhat.long.exp.example.com.somewhat.long.exp.example.com."
        "somewhat.long.exp.example.com.somewhat.long.exp.example.com."
        "somewhat.long.exp.example.com.somewhat.long.exp.example.com."
        "example.com",
        "Congratulations!  That was tricky."),
    TXT("e4.example.com", "v=spf1 -all exp=e4msg.example.com"),
    TXT("e4msg.example.com", "%{c} is queried as %{ir}.%{v}.arpa"),
    TXT("e5.example.com", "v=spf1 a:%{a}.example.com -all"),
    TXT("e6.example.com", "v=spf1 -all exp=e6msg.example.com"),
    TXT("e6msg.example.com", "connect from %{p}"),
    A("mx.example.com", "192.168.218.41"),
    A("mx.example.com", "192.168.218.42"),
    AAAA("mx.example.com", "CAFE:BABE::2"),
    AAAA("mx.example.com", "CAFE:BABE::3"),
    PTR("40.218.168.192.in-addr.arpa", "mx.example.com"),
    PTR("41.218.168.192.in-addr.arpa", "mx.example.com"),
    PTR("42.218.168.192.in-addr.arpa", "mx.example.com"),
    PTR("42.218.168.192.in-addr.arpa", "mx.e7.example.com"),
    PTR("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.E.B.A.B.E.F.A.C."
        "ip6.arpa",
        "mx.example.com"),
    PTR("3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.E.B.A.B.E.F.A.C."
        "ip6.arpa",
        "mx.example.com"),
    A("mx.e7.example.com", "192.168.218.42"),
    A("mx.e7.example.com.should.example.com", "127.0.0.2"),
    A("mx.example.com.ok.example.com", "127.0.0.2"),
    TXT("e7.example.com", "v=spf1 exists:%{p}.should.example.com "
                          "~exists:%{p}.ok.example.com"),
    TXT("e8.example.com", "v=spf1 -all exp=msg8.%{D2}"),
    TXT("msg8.example.com", "http://example.com/why.html?l=%{L}"),
    TXT("e9.example.com", "v=spf1 a:%{H} -all"),
    TXT("e10.example.com", "v=spf1 -include:_spfh.%{d2} ip4:1.2.3.0/24 -all"),
    TXT("_spfh.example.com", "v=spf1 -a:%{h} +all"),
    TXT("e11.example.com", "v=spf1 exists:%{i}.%{l2r-}.user.%{d2}"),
    A("1.2.3.4.gladstone.philip.user.example.com", "127.0.0.2"),
    TXT("e12.example.com", "v=spf1 exists:%{l2r+-}.user.%{d2}"),
    A("bar.foo.user.example.com", "127.0.0.2"),
    END,
};

static const struct tcase_spf cases_macro[] = {
    {"trailing-dot-domain", "7.1/16", MSG, "192.168.218.40", "test@example.com",
     R1(SPF_PASS), NULL},
    {"trailing-dot-exp", "7.1", MSG, "192.168.218.40", "test@exp.example.com",
     R1(SPF_FAIL), "This is a test."},
    {"exp-only-macro-char", "7.1/8", MSG, "192.168.218.40",
     "test@e2.example.com", R1(SPF_PERMERROR), NULL},
    {"invalid-macro-char", "7.1/9", MSG, "192.168.218.40",
     "test@e1.example.com", R1(SPF_PERMERROR), NULL},
    {"invalid-embedded-macro-char", "7.1/9", MSG, "192.168.218.40",
     "test@e1e.example.com", R1(SPF_PERMERROR), NULL},
    {"invalid-trailing-macro-char", "7.1/9", MSG, "192.168.218.40",
     "test@e1t.example.com", R1(SPF_PERMERROR), NULL},
    {"macro-mania-in-domain", "7.1/3, 7.1/4", MEC, "1.2.3.4",
     "test@e1a.example.com", R1(SPF_PASS), NULL},
    {"exp-txt-macro-char", "7.1/20", MSG, "192.168.218.40",
     "test@e3.example.com", R1(SPF_FAIL),
     "Connections from 192.168.218.40 not authorized."},
    {"domain-name-truncation", "7.1/25", MSG, "192.168.218.40",
     "test@somewhat.long.exp.example.com", R1(SPF_FAIL),
     "Congratulations!  That was tricky."},
    {"v-macro-ip4", "7.1/6", MSG, "192.168.218.40", "test@e4.example.com",
     R1(SPF_FAIL), "192.168.218.40 is queried as 40.218.168.192.in-addr.arpa"},
    {"v-macro-ip6", "7.1/6", MSG, "CAFE:BABE::1", "test@e4.example.com",
     R1(SPF_FAIL),
     "cafe:babe::1 is queried as 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
     "0.0.0.E.B.A.B.E.F.A.C.ip6.arpa"},
    {"undef-macro", "7.1/6", MSG, "CAFE:BABE::192.168.218.40",
     "test@e5.example.com", R1(SPF_PERMERROR), NULL},
    {"p-macro-ip4-novalid", "7.1/22", MSG, "192.168.218.40",
     "test@e6.example.com", R1(SPF_FAIL), "connect from unknown"},
    {"p-macro-ip4-valid", "7.1/22", MSG, "192.168.218.41",
     "test@e6.example.com", R1(SPF_FAIL), "connect from mx.example.com"},
    {"p-macro-ip6-novalid", "7.1/22", MSG, "CAFE:BABE::1",
     "test@e6.example.com", R1(SPF_FAIL), "connect from unknown"},
    {"p-macro-ip6-valid", "7.1/22", MSG, "CAFE:BABE::3", "test@e6.example.com",
     R1(SPF_FAIL), "connect from mx.example.com"},
    {"p-macro-multiple", "7.1/22", MSG, "192.168.218.42", "test@e7.example.com",
     R2(SPF_PASS, SPF_SOFTFAIL), NULL},
    {"upper-macro", "7.1/26", MSG, "192.168.218.42",
     "~jack&jill=up-a_b3.c@e8.example.com", R1(SPF_FAIL),
     "http://example.com/why.html?l=~jack%26jill%3Dup-a_b3.c"},
    {"hello-macro", "7.1/6", MSG, "192.168.218.40", "test@e9.example.com",
     R1(SPF_PASS), NULL},
    {"invalid-hello-macro", "7.1/2", "JUMPIN' JUPITER", "192.168.218.40",
     "test@e9.example.com", R1(SPF_FAIL), NULL},
    {"hello-domain-literal", "7.1/2", "[192.168.218.40]", "192.168.218.40",
     "test@e9.example.com", R1(SPF_FAIL), NULL},
    {"require-valid-helo", "7.1/6", "OEMCOMPUTER", "1.2.3.4",
     "test@e10.example.com", R1(SPF_FAIL), NULL},
    {"macro-reverse-split-on-dash", "7.1/15-18", MEC, "1.2.3.4",
     "philip-gladstone-test@e11.example.com", R1(SPF_PASS), NULL},
    {"macro-multiple-delimiters", "7.1/15, 7.1/16", MEC, "1.2.3.4",
     "foo-bar+zip+quux@e12.example.com", R1(SPF_PASS), NULL},
};
SUITE_SECTION(suite_macro, zone_macro, cases_macro)

/* ---- section 4.6.4: processing limits ---- */

static const struct rr zone_limits[] = {
    A("mail.example.com", "1.2.3.4"),
    TXT("e1.example.com", "v=spf1 ip4:1.1.1.1 redirect=e1.example.com"),
    A("e1.example.com", "1.2.3.6"),
    TXT("e2.example.com", "v=spf1 include:e3.example.com"),
    A("e2.example.com", "1.2.3.7"),
    TXT("e3.example.com", "v=spf1 include:e2.example.com"),
    A("e3.example.com", "1.2.3.8"),
    TXT("e4.example.com", "v=spf1 mx"),
    MX("e4.example.com", "0 mail.example.com"),
    MX("e4.example.com", "1 mail.example.com"),
    MX("e4.example.com", "2 mail.example.com"),
    MX("e4.example.com", "3 mail.example.com"),
    MX("e4.example.com", "4 mail.example.com"),
    MX("e4.example.com", "5 mail.example.com"),
    MX("e4.example.com", "6 mail.example.com"),
    MX("e4.example.com", "7 mail.example.com"),
    MX("e4.example.com", "8 mail.example.com"),
    MX("e4.example.com", "9 mail.example.com"),
    MX("e4.example.com", "10 e4.example.com"),
    A("e4.example.com", "1.2.3.5"),
    TXT("e5.example.com", "v=spf1 ptr"),
    A("e5.example.com", "1.2.3.5"),
    PTR("5.3.2.1.in-addr.arpa", "e1.example.com"),
    PTR("5.3.2.1.in-addr.arpa", "e2.example.com"),
    PTR("5.3.2.1.in-addr.arpa", "e3.example.com"),
    PTR("5.3.2.1.in-addr.arpa", "e4.example.com"),
    PTR("5.3.2.1.in-addr.arpa", "example.com"),
    PTR("5.3.2.1.in-addr.arpa", "e6.example.com"),
    PTR("5.3.2.1.in-addr.arpa", "e7.example.com"),
    PTR("5.3.2.1.in-addr.arpa", "e8.example.com"),
    PTR("5.3.2.1.in-addr.arpa", "e9.example.com"),
    PTR("5.3.2.1.in-addr.arpa", "e10.example.com"),
    PTR("5.3.2.1.in-addr.arpa", "e5.example.com"),
    TXT("e6.example.com", "v=spf1 a mx a mx a mx a mx a ptr ip4:1.2.3.4 -all"),
    A("e6.example.com", "1.2.3.8"),
    MX("e6.example.com", "10 e6.example.com"),
    TXT("e7.example.com", "v=spf1 a mx a mx a mx a mx a ptr a ip4:1.2.3.4 "
                          "-all"),
    A("e7.example.com", "1.2.3.20"),
    TXT("e8.example.com", "v=spf1 a include:inc.example.com ip4:1.2.3.4 mx "
                          "-all"),
    A("e8.example.com", "1.2.3.4"),
    TXT("inc.example.com", "v=spf1 a a a a a a a a"),
    A("inc.example.com", "1.2.3.10"),
    TXT("e9.example.com", "v=spf1 a include:inc.example.com a ip4:1.2.3.4 "
                          "-all"),
    A("e9.example.com", "1.2.3.21"),
    TXT("e10.example.com", "v=spf1 a -all"),
    A("e10.example.com", "1.2.3.1"),
    A("e10.example.com", "1.2.3.2"),
    A("e10.example.com", "1.2.3.3"),
    A("e10.example.com", "1.2.3.4"),
    A("e10.example.com", "1.2.3.5"),
    A("e10.example.com", "1.2.3.6"),
    A("e10.example.com", "1.2.3.7"),
    A("e10.example.com", "1.2.3.8"),
    A("e10.example.com", "1.2.3.9"),
    A("e10.example.com", "1.2.3.10"),
    A("e10.example.com", "1.2.3.11"),
    A("e10.example.com", "1.2.3.12"),
    TXT("e11.example.com", "v=spf1 a:err.example.com a:err1.example.com "
                           "a:err2.example.com ?all"),
    TXT("e12.example.com", "v=spf1 a:err.example.com a:err1.example.com ?all"),
    END,
};

static const struct tcase_spf cases_limits[] = {
    {"redirect-loop", "4.6.4/1", MEC, "1.2.3.4", "foo@e1.example.com",
     R1(SPF_PERMERROR), NULL},
    {"include-loop", "4.6.4/1", MEC, "1.2.3.4", "foo@e2.example.com",
     R1(SPF_PERMERROR), NULL},
    {"mx-limit", "4.6.4/2", MEC, "1.2.3.5", "foo@e4.example.com",
     R1(SPF_PERMERROR), NULL},
    {"ptr-limit", "4.6.4/3", MEC, "1.2.3.5", "foo@e5.example.com",
     R2(SPF_NEUTRAL, SPF_PASS), NULL},
    {"false-a-limit", "4.6.4", MEC, "1.2.3.12", "foo@e10.example.com",
     R1(SPF_PASS), NULL},
    {"mech-at-limit", "4.6.4/1", MEC, "1.2.3.4", "foo@e6.example.com",
     R1(SPF_PASS), NULL},
    {"mech-over-limit", "4.6.4/1", MEC, "1.2.3.4", "foo@e7.example.com",
     R1(SPF_PERMERROR), NULL},
    {"include-at-limit", "4.6.4/1", MEC, "1.2.3.4", "foo@e8.example.com",
     R1(SPF_PASS), NULL},
    {"include-over-limit", "4.6.4/1", MEC, "1.2.3.4", "foo@e9.example.com",
     R1(SPF_PERMERROR), NULL},
    {"void-at-limit", "4.6.4/7", MEC, "1.2.3.4", "foo@e12.example.com",
     R1(SPF_NEUTRAL), NULL},
    {"void-over-limit", "4.6.4/7", MEC, "1.2.3.4", "foo@e11.example.com",
     R1(SPF_PERMERROR), NULL},
};
SUITE_SECTION(suite_limits, zone_limits, cases_limits)

/* ---- regressions the suite records from other implementations ---- */

static const struct rr zone_bugs[] = {
    TXT("example.org", "v=spf1 mx redirect=_spf.example.com"),
    MX("example.org", "10 smtp.example.org"),
    MX("example.org", "10 smtp1.example.com"),
    A("smtp.example.org", "198.51.100.2"),
    AAAA("smtp.example.org", "2001:db8:ff0:100::3"),
    A("smtp1.example.com", "192.0.2.26"),
    AAAA("smtp1.example.com", "2001:db8:ff0:200::2"),
    PTR("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.F.F.0.8.B.D.0.1.0.0.2."
        "ip6.arpa",
        "smtp6-v.fe.example.org"),
    AAAA("smtp6-v.fe.example.org", "2001:db8:ff0:100::2"),
    TXT("_spf.example.com", "v=spf1 ptr:fe.example.org ptr:sgp.example.com "
                            "exp=_expspf.example.org -all"),
    TXT("_expspf.example.org", "Sender domain not allowed from this host. "
                               "Please see http://www.openspf.org/Why?s=mfrom&"
                               "id=%{S}&ip=%{C}&r=%{R}"),
    END,
};

static const struct tcase_spf cases_bugs[] = {
    {"bytes-bug", "5.4/4", "example.org", "2001:db8:ff0:100::2",
     "test@example.org", R1(SPF_PASS), NULL},
};
SUITE_SECTION(suite_bugs, zone_bugs, cases_bugs)

/* ---- parser (sections 4.5, 4.6, 5, 12) ---- */

static int
parse_s(const char *s, struct spf_record *r, char *err, size_t errlen)
{
	return spf_parse((const unsigned char *)s, strlen(s), r, err, errlen);
}

static const char *const good_records[] = {
    "v=spf1",
    "v=spf1 ",
    "V=SPF1 -ALL",
    "v=spf1 include:_spf.google.com ~all",
    "v=spf1 a mx ptr ip4:192.0.2.0/24 ip6:2001:db8::/32 -all",
    "v=spf1 a:mail.example.com/24//64 mx:example.com//48 ?all",
    "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all",
    "v=spf1 redirect=_spf.example.com",
    "v=spf1 exp=explain._spf.%{d} -all",
    "v=spf1 foo-bar.baz_q=%{c}%{r}%{t}anything -all",
    "v=spf1 a:%{d}",
    "v=spf1 a:foo.%-",
    "v=spf1 include:o.spf.example.com.",
    "v=spf1 ip4:0.0.0.0/0 ip6:::/0",
    "v=spf1 +all",
};

START_TEST(parse_good)
{
	struct spf_record r;
	char err[256];
	const char *s = good_records[_i];

	ck_assert_msg(parse_s(s, &r, err, sizeof(err)) == 0, "\"%s\": %s", s,
	              err);
}
END_TEST

static const struct {
	const char *rec, *needle;
} bad_records[] = {
    {"v=spf10", "v=spf1"},
    {"spf1 -all", "v=spf1"},
    {"v=spf1 -all moo", "\"moo\""},
    {"v=spf1 a:foo-bar", "\"a:foo-bar\""},
    {"v=spf1 ip4:1.2.3.4/33", "CIDR"},
    {"v=spf1 ip4:1.2.3.04", "address"},
    {"v=spf1 ip4:256.2.3.4", "address"},
    {"v=spf1 ip6:1::2::3", "address"},
    {"v=spf1 a/0/0", "a/0/0"},
    {"v=spf1 a:example.com/", "top label"},
    {"v=spf1 mx:%{z}.example.com", "macro"},
    {"v=spf1 exists:%{c}.example.com", "macro"},
    {"v=spf1 exists:%{d0}.example.com", "macro"},
    {"v=spf1 exists:%{d}x%", "macro"},
    {"v=spf1 redirect=a.example.com redirect=b.example.com", "twice"},
    {"v=spf1 include", "domain-spec"},
    {"v=spf1 exists", "domain-spec"},
    {"v=spf1 ptr/24", "ptr/24"},
    {"v=spf1 all:x", "all"},
    {"v=spf1 \t-all", "printable"},
    {"v=spf1 -al\x01l", "printable"},
    {"v=spf1 ~", "unknown mechanism"},
    {"v=spf1 +redirect=x.example.com", "unknown mechanism"},
    {"v=spf1 exp=%{d}.", "top label"},
};

START_TEST(parse_bad)
{
	struct spf_record r;
	char err[256];
	const char *s = bad_records[_i].rec;

	ck_assert_msg(parse_s(s, &r, err, sizeof(err)) == -1, "\"%s\" accepted",
	              s);
	ck_assert_msg(strstr(err, bad_records[_i].needle) != NULL,
	              "\"%s\": error \"%s\" lacks \"%s\"", s, err,
	              bad_records[_i].needle);
}
END_TEST

/* Section 5.3 and 5.6: dual CIDR lengths and addresses land in the term. */
START_TEST(parse_fields)
{
	struct spf_record r;
	char err[256];
	const char *s = "v=spf1 -a:x.example.com/24//64 ~ip6:2001:db8::/32 "
	                "?mx//0 ip4:192.0.2.1 redirect=r.example.com "
	                "exp=e.example.com all";

	ck_assert_int_eq(parse_s(s, &r, err, sizeof(err)), 0);
	ck_assert_uint_eq(r.nterms, 7);
	ck_assert_int_eq(r.terms[0].mech, SPF_MECH_A);
	ck_assert_int_eq(r.terms[0].qual, SPF_FAIL);
	ck_assert_uint_eq(r.terms[0].cidr4, 24);
	ck_assert_uint_eq(r.terms[0].cidr6, 64);
	ck_assert_uint_eq(r.terms[0].arg_len, strlen("x.example.com"));
	ck_assert(memcmp(s + r.terms[0].arg_off, "x.example.com", 13) == 0);
	ck_assert_int_eq(r.terms[1].qual, SPF_SOFTFAIL);
	ck_assert_uint_eq(r.terms[1].cidr6, 32);
	ck_assert_int_eq(r.terms[2].qual, SPF_NEUTRAL);
	ck_assert_uint_eq(r.terms[2].cidr4, 32);
	ck_assert_uint_eq(r.terms[2].cidr6, 0);
	ck_assert_uint_eq(r.terms[3].net.a[3], 1);
	ck_assert_int_eq(r.redirect, 4);
	ck_assert_int_eq(r.exp, 5);
	ck_assert_int_eq(r.all, 6);
	ck_assert_uint_eq(r.dns_terms, 2); /* redirect ignored: all present */
}
END_TEST

/* Section 4.5: selection by the version term. */
START_TEST(is_record)
{
	ck_assert(spf_is_record((const unsigned char *)"v=spf1", 6));
	ck_assert(spf_is_record((const unsigned char *)"V=Spf1 a", 8));
	ck_assert(!spf_is_record((const unsigned char *)"v=spf1a", 7));
	ck_assert(!spf_is_record((const unsigned char *)"v=spf", 5));
	ck_assert(!spf_is_record((const unsigned char *)"v=spf1\ta", 8));
	ck_assert(!spf_is_record((const unsigned char *)" v=spf1", 7));
}
END_TEST

/* Bounds: hostile records give an error or a result, never a crash. */
START_TEST(parse_hostile)
{
	static unsigned char buf[SPF_RECORD_MAX * 2];
	struct spf_record r;
	char err[64];
	size_t i, len;
	unsigned seed = 7;

	memcpy(buf, "v=spf1", 6);
	memset(buf + 6, ' ', sizeof(buf) - 6);
	ck_assert_int_eq(spf_parse(buf, sizeof(buf), &r, err, sizeof(err)),
	                 -1); /* over SPF_RECORD_MAX */
	for (i = 6; i + 2 <= SPF_RECORD_MAX; i += 2)
		memcpy(buf + i, " a", 2);
	ck_assert_int_eq(spf_parse(buf, SPF_RECORD_MAX, &r, err, sizeof(err)),
	                 -1); /* over SPF_TERMS_MAX terms */
	ck_assert(strstr(err, "terms") != NULL);
	ck_assert(strlen(err) < sizeof(err));
	for (i = 0; i < 20000; i++) {
		size_t k;

		len = 6 + (seed = seed * 1103515245 + 12345) % 200;
		for (k = 6; k < len; k++) {
			seed = seed * 1103515245 + 12345;
			buf[k] =
			    (unsigned char)"a:%{}/.-1 =ip46xr~"[(seed >> 16) %
			                                        18];
		}
		(void)spf_parse(buf, len, &r, err, sizeof(err));
	}
}
END_TEST

/* ---- macros (section 7, examples of section 7.4) ---- */

static void
ctx_rfc(struct spf_macro_ctx *ctx, const char *ip)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->sender = "strong-bad@email.example.com";
	ctx->local = "strong-bad";
	ctx->sender_domain = "email.example.com";
	ctx->domain = "email.example.com";
	ctx->helo = "mx.example.org";
	ctx->p = "unknown";
	ctx->now = 1234567890;
	ck_assert_int_eq(spf_addr_parse(ip, &ctx->ip), 0);
}

static const struct {
	const char *in, *want, *ip;
	bool exp;
} macro_cases[] = {
    {"%{s}", "strong-bad@email.example.com", "192.0.2.3", false},
    {"%{o}", "email.example.com", "192.0.2.3", false},
    {"%{d}", "email.example.com", "192.0.2.3", false},
    {"%{d4}", "email.example.com", "192.0.2.3", false},
    {"%{d3}", "email.example.com", "192.0.2.3", false},
    {"%{d2}", "example.com", "192.0.2.3", false},
    {"%{d1}", "com", "192.0.2.3", false},
    {"%{dr}", "com.example.email", "192.0.2.3", false},
    {"%{d2r}", "example.email", "192.0.2.3", false},
    {"%{l}", "strong-bad", "192.0.2.3", false},
    {"%{l-}", "strong.bad", "192.0.2.3", false},
    {"%{lr}", "strong-bad", "192.0.2.3", false},
    {"%{lr-}", "bad.strong", "192.0.2.3", false},
    {"%{l1r-}", "strong", "192.0.2.3", false},
    {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com", "192.0.2.3",
     false},
    {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com", "192.0.2.3",
     false},
    {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
     "bad.strong.lp.3.2.0.192.in-addr._spf.example.com", "192.0.2.3", false},
    {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
     "3.2.0.192.in-addr.strong.lp._spf.example.com", "192.0.2.3", false},
    {"%{d2}.trusted-domains.example.net",
     "example.com.trusted-domains.example.net", "192.0.2.3", false},
    {"%{ir}.%{v}._spf.%{d2}",
     "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6."
     "_spf.example.com",
     "2001:db8::cb01", false},
    {"%{i}", "192.0.2.3", "::ffff:192.0.2.3", false}, /* 4.x: mapped */
    {"%{h}.%{p}", "mx.example.org.unknown", "192.0.2.3", false},
    {"%%%_%-", "% %20", "192.0.2.3", false},
    {"%{S}", "strong-bad%40email.example.com", "192.0.2.3", false},
    {"%{c} %{t} %{r}", "2001:db8::cb01 1234567890 unknown", "2001:db8::cb01",
     true},
    {"%{d999r}", "com.example.email", "192.0.2.3", false},
    {"%{d2.-+,/_=}", "example.com", "192.0.2.3", false},
    {"%{L}%{O}", "strong-bademail.example.com", "192.0.2.3", false},
};

START_TEST(macro_expand)
{
	struct spf_macro_ctx ctx;
	char out[512], err[128];
	const char *in = macro_cases[_i].in;

	ctx_rfc(&ctx, macro_cases[_i].ip);
	ck_assert_msg(spf_macro_expand(in, strlen(in), &ctx,
	                               macro_cases[_i].exp, out, sizeof(out),
	                               NULL, err, sizeof(err)) == 0,
	              "%s: %s", in, err);
	ck_assert_str_eq(out, macro_cases[_i].want);
}
END_TEST

static const char *const bad_macros[] = {
    "%",    "%a",   "%{",   "%{d", "%{x}",  "%{d0}", "%{d2r", "%{dr2}",
    "%{c}", "%{r}", "%{t}", "a b", "%{d}%", "%(d)",  "x\x01",
};

/* Section 7.1: a bad macro is an error; c, r, t only in exp text. */
START_TEST(macro_bad)
{
	struct spf_macro_ctx ctx;
	char out[64], err[128];
	const char *in = bad_macros[_i];

	ctx_rfc(&ctx, "192.0.2.3");
	ck_assert_msg(spf_macro_expand(in, strlen(in), &ctx, false, out,
	                               sizeof(out), NULL, err,
	                               sizeof(err)) == -1,
	              "\"%s\" accepted", in);
	ck_assert_str_eq(out, "");
}
END_TEST

/* Section 7.3: %{p} unknown makes the caller look it up first. */
START_TEST(macro_need_p)
{
	struct spf_macro_ctx ctx;
	char out[64], err[128];

	ctx_rfc(&ctx, "192.0.2.3");
	ctx.p = NULL;
	ck_assert_int_eq(spf_macro_expand("%{p}", 4, &ctx, false, out,
	                                  sizeof(out), NULL, err, sizeof(err)),
	                 SPF_MACRO_NEED_P);
	ck_assert_int_eq(spf_macro_expand("%{d}", 4, &ctx, false, out,
	                                  sizeof(out), NULL, err, sizeof(err)),
	                 0);
}
END_TEST

/* Output is bounded: overflow is an error, the text cut and terminated. */
START_TEST(macro_bounded)
{
	static char in[SPF_RECORD_MAX];
	struct spf_macro_ctx ctx;
	char out[300], err[128];
	bool cut;
	size_t i;
	char big[SPF_SENDER_MAX];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ctx_rfc(&ctx, "2001:db8::1");
	ctx.helo = big;
	for (i = 0; i + 4 <= sizeof(in); i += 4)
		memcpy(in + i, "%{H}", 4);
	ck_assert_int_eq(spf_macro_expand(in, i, &ctx, true, out, sizeof(out),
	                                  &cut, err, sizeof(err)),
	                 -1);
	ck_assert(cut);
	ck_assert_uint_eq(strlen(out), sizeof(out) - 1);
	ck_assert_int_eq(spf_macro_expand("%{i}", 4, &ctx, false, out, 8, &cut,
	                                  err, sizeof(err)),
	                 -1);
	ck_assert_uint_eq(strlen(out), 7);
}
END_TEST

/* Section 7.3 (and 4.3): the 253-byte cut and label checks. */
START_TEST(target_name)
{
	char n[600];
	size_t i;

	snprintf(n, sizeof(n), "example.com.");
	ck_assert_int_eq(spf_target_name(n), 0);
	ck_assert_str_eq(n, "example.com");
	snprintf(n, sizeof(n), "a..b");
	ck_assert_int_eq(spf_target_name(n), -1);
	snprintf(n, sizeof(n), ".");
	ck_assert_int_eq(spf_target_name(n), -1);
	for (i = 0; i < 50; i++)
		memcpy(n + i * 10, "abcdefghi.", 10);
	memcpy(n + 500, "com", 4);
	ck_assert_int_eq(spf_target_name(n), 0);
	ck_assert_uint_le(strlen(n), 253);
	ck_assert_uint_gt(strlen(n), 243);
	ck_assert(strncmp(n, "abcdefghi.", 10) == 0);
	memset(n, 'a', 300);
	n[300] = '\0';
	ck_assert_int_eq(spf_target_name(n), -1);
	memset(n, 'a', 64);
	memcpy(n + 64, ".com", 5);
	ck_assert_int_eq(spf_target_name(n), -1);
}
END_TEST

/* Section 5: IPv4-mapped IPv6 is IPv4; bad text is refused. */
START_TEST(addr_parse)
{
	struct spf_addr a;

	ck_assert_int_eq(spf_addr_parse("::ffff:192.0.2.1", &a), 0);
	ck_assert_int_eq(a.family, AF_INET);
	ck_assert_uint_eq(a.a[0], 192);
	ck_assert_uint_eq(a.a[3], 1);
	ck_assert_int_eq(spf_addr_parse("2001:db8::1", &a), 0);
	ck_assert_int_eq(a.family, AF_INET6);
	ck_assert_int_eq(spf_addr_parse("192.0.2.01", &a), -1);
	ck_assert_int_eq(spf_addr_parse("example.com", &a), -1);
	ck_assert_int_eq(spf_addr_parse("", &a), -1);
}
END_TEST

/* ---- check_host() beyond the suite ---- */

static const struct rr zone_misc[] = {
    TXT("pass.example.com", "v=spf1 ip4:192.0.2.0/24 -all"),
    TXT("inc.example.com", "v=spf1 include:pass.example.com -all"),
    TXT("slow.example.com", "v=spf1 a:a1.example.com a:a2.example.com "
                            "a:a3.example.com -all"),
    A("a1.example.com", "198.51.100.1"),
    A("a2.example.com", "198.51.100.2"),
    A("a3.example.com", "198.51.100.3"),
    TXT("fan.example.com", "v=spf1 mx -all"),
    MX("fan.example.com", "1 m1.example.com"),
    MX("fan.example.com", "2 m2.example.com"),
    MX("fan.example.com", "3 m3.example.com"),
    A("m3.example.com", "192.0.2.7"),
    TXT("mxtemp.example.com", "v=spf1 mx -all"),
    MX("mxtemp.example.com", "1 mt.example.com"),
    TIMEOUT("mt.example.com"),
    TXT("ptrtemp.example.com", "v=spf1 ptr -all"),
    TIMEOUT("7.2.0.192.in-addr.arpa"),
    TXT("exp.example.com", "v=spf1 -all exp=why.example.com"),
    TXT("why.example.com", "%{i} is not one of %{d}'s servers (%{p})"),
    TXT("redir.example.com", "v=spf1 redirect=pass.example.com"),
    TXT("deep0.example.com", "v=spf1 include:deep1.example.com -all"),
    TXT("deep1.example.com", "v=spf1 include:deep2.example.com -all"),
    TXT("deep2.example.com", "v=spf1 include:deep3.example.com -all"),
    TXT("deep3.example.com", "v=spf1 include:deep4.example.com -all"),
    TXT("deep4.example.com", "v=spf1 include:deep5.example.com -all"),
    TXT("deep5.example.com", "v=spf1 include:deep6.example.com -all"),
    TXT("deep6.example.com", "v=spf1 include:deep7.example.com -all"),
    TXT("deep7.example.com", "v=spf1 include:deep8.example.com -all"),
    TXT("deep8.example.com", "v=spf1 include:deep9.example.com -all"),
    TXT("deep9.example.com", "v=spf1 include:pass.example.com -all"),
    TXT("deep10.example.com", "v=spf1 include:deep0.example.com -all"),
    END,
};

/* Section 4.3: the empty sender is postmaster@HELO. */
START_TEST(eval_null_sender)
{
	struct spf_outcome out;

	ck_assert_int_eq(
	    check(zone_misc, "192.0.2.7", "", "pass.example.com", &out),
	    SPF_PASS);
	ck_assert_str_eq(out.domain, "pass.example.com");
	ck_assert_str_eq(out.mechanism, "ip4:192.0.2.0/24");
	ck_assert(strstr(out.reason, "ip4:192.0.2.0/24") != NULL);
	ck_assert_int_eq(
	    check(zone_misc, "198.51.100.1", "", "pass.example.com", &out),
	    SPF_FAIL);
	ck_assert_str_eq(out.explanation, "");
}
END_TEST

/* Sections 4.6.4, 5.2: ten nested includes are allowed, eleven are not. */
START_TEST(eval_include_depth)
{
	struct spf_outcome out;

	ck_assert_int_eq(check(zone_misc, "192.0.2.1", "x@deep0.example.com",
	                       "h.example.com", &out),
	                 SPF_PASS);
	ck_assert_uint_eq(out.dns_terms, 10);
	ck_assert_int_eq(check(zone_misc, "192.0.2.1", "x@deep10.example.com",
	                       "h.example.com", &out),
	                 SPF_PERMERROR);
	ck_assert(strstr(out.reason, "More than 10") != NULL);
}
END_TEST

/* Section 5.4: exchange addresses are fanned out and all are awaited. */
START_TEST(eval_mx_fanout)
{
	struct fake f = {.zone = zone_misc};
	struct spf_outcome out;

	check_fake(&f, "192.0.2.7", "x@fan.example.com", "h.example.com", &out);
	ck_assert_int_eq(out.result, SPF_PASS);
	ck_assert_uint_eq(f.queries, 5); /* TXT, MX, three A */
	ck_assert_int_eq(check(zone_misc, "192.0.2.7", "x@mxtemp.example.com",
	                       "h.example.com", &out),
	                 SPF_TEMPERROR);
}
END_TEST

/* Section 5.5: a PTR lookup error is no match, never temperror. */
START_TEST(eval_ptr_error)
{
	struct spf_outcome out;

	ck_assert_int_eq(check(zone_misc, "192.0.2.7", "x@ptrtemp.example.com",
	                       "h.example.com", &out),
	                 SPF_FAIL);
}
END_TEST

/* Section 6.2: the explanation is expanded with the exp-only macros. */
START_TEST(eval_explanation)
{
	struct spf_outcome out;

	ck_assert_int_eq(check(zone_misc, "192.0.2.9", "x@exp.example.com",
	                       "h.example.com", &out),
	                 SPF_FAIL);
	ck_assert_str_eq(
	    out.explanation,
	    "192.0.2.9 is not one of exp.example.com's servers (unknown)");
}
END_TEST

/* Section 6.1: redirect hands over the whole result. */
START_TEST(eval_redirect)
{
	struct spf_outcome out;

	ck_assert_int_eq(check(zone_misc, "192.0.2.9", "x@redir.example.com",
	                       "h.example.com", &out),
	                 SPF_PASS);
	ck_assert_uint_eq(out.dns_terms, 1);
	ck_assert_int_eq(check(zone_misc, "192.0.3.9", "x@redir.example.com",
	                       "h.example.com", &out),
	                 SPF_FAIL);
}
END_TEST

/* Section 4.6.4: the overall time limit gives temperror. */
START_TEST(eval_deadline)
{
	struct fake f = {.zone = zone_misc, .delay_ms = 30};
	struct resolver res = fake_resolver(&f);
	struct spf_request req = {.sender = "x@slow.example.com",
	                          .helo = "h.example.com",
	                          .timeout_ms = 50};
	struct spf_outcome out;
	struct done d = {0, NULL};

	ck_assert_int_eq(spf_addr_parse("192.0.2.1", &req.ip), 0);
	ck_assert_int_eq(spf_check_host(&res, &req, &out, on_done, &d), 0);
	run_loop(&f);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_int_eq(out.result, SPF_TEMPERROR);
	ck_assert(strstr(out.reason, "time limit") != NULL);
	ck_assert_uint_lt(f.queries, 4);
}
END_TEST

/* A lookup that cannot be queued: temperror, once, at once or later. */
START_TEST(eval_refused)
{
	struct fake f = {.zone = zone_misc, .refuse_after = 1};
	struct resolver res = fake_resolver(&f);
	struct spf_request req = {.sender = "x@inc.example.com",
	                          .helo = "h.example.com"};
	struct spf_outcome out;
	struct done d = {0, NULL};

	ck_assert_int_eq(spf_addr_parse("192.0.2.1", &req.ip), 0);
	ck_assert_int_eq(spf_check_host(&res, &req, &out, on_done, &d), 0);
	run_loop(&f);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_int_eq(out.result, SPF_TEMPERROR);

	f = (struct fake){.zone = zone_misc, .refuse_after = 0};
	f.queries = 1;
	f.refuse_after = 1;
	d.calls = 0;
	ck_assert_int_eq(spf_check_host(&res, &req, &out, on_done, &d), 1);
	ck_assert_int_eq(d.calls, 0);
	ck_assert_int_eq(out.result, SPF_TEMPERROR);
}
END_TEST

/* Section 4.3: a malformed domain is none at once, without DNS. */
START_TEST(eval_bad_domain_sync)
{
	struct fake f = {.zone = zone_misc};
	struct resolver res = fake_resolver(&f);
	struct spf_request req = {.sender = "x@-\x01.example.com", .helo = "h"};
	struct spf_outcome out;
	struct done d = {0, NULL};
	char big[SPF_SENDER_MAX + 10];

	ck_assert_int_eq(spf_addr_parse("192.0.2.1", &req.ip), 0);
	ck_assert_int_eq(spf_check_host(&res, &req, &out, on_done, &d), 1);
	ck_assert_int_eq(out.result, SPF_NONE);
	ck_assert(strstr(out.reason, "\\x01") != NULL); /* sanitized */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	req.sender = big;
	ck_assert_int_eq(spf_check_host(&res, &req, &out, on_done, &d), 1);
	ck_assert_int_eq(out.result, SPF_NONE);
	ck_assert_uint_eq(f.queries, 0);
	ck_assert_int_eq(d.calls, 0);
}
END_TEST

/* Hostile records at every step: bounded, one callback, no crash. */
START_TEST(eval_hostile)
{
	static char rec[SPF_RECORD_MAX + 100];
	struct rr zone[] = {
	    {"h.example.com", DNS_TYPE_TXT, rec, 0},
	    END,
	};
	struct spf_outcome out;
	size_t i;

	memcpy(rec, "v=spf1", 6);
	for (i = 6; i + 12 < SPF_RECORD_MAX - 20; i += 12)
		memcpy(rec + i, " a:%{h}.%{h}", 12);
	memcpy(rec + i, " -all", 6);
	ck_assert_int_eq(check(zone, "192.0.2.1", "x@h.example.com",
	                       "%{H}%{H}%{H}%{H}", &out),
	                 SPF_PERMERROR); /* too many terms */
	snprintf(rec, sizeof(rec), "v=spf1 a:%%{h}%%{h}%%{h}%%{h}.x -all");
	ck_assert_int_eq(
	    check(zone, "192.0.2.1", "x@h.example.com",
	          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	          &out),
	    SPF_FAIL); /* a 400-byte label: no such name, no match */
	memset(rec + 6, ' ', SPF_RECORD_MAX + 50);
	rec[SPF_RECORD_MAX + 56] = '\0';
	ck_assert_int_eq(
	    check(zone, "192.0.2.1", "x@h.example.com", "h.example.com", &out),
	    SPF_PERMERROR); /* record over SPF_RECORD_MAX */
	ck_assert(strlen(out.reason) < sizeof(out.reason));
}
END_TEST

/* ---- spf_validate(): readiness ---- */

static const struct rr zone_val[] = {
    TXT("mail.example.com", "v=spf1 include:amazonses.com ~all"),
    TXT("amazonses.com", "v=spf1 ip4:199.255.192.0/22 ip4:54.240.0.0/18 "
                         "-all"),
    TXT("nested.example.com", "v=spf1 include:spf.example.net -all"),
    TXT("spf.example.net", "v=spf1 ip4:192.0.2.0/24 include:amazonses.com "
                           "-all"),
    TXT("redir.example.com", "v=spf1 redirect=amazonses.com"),
    TXT("two.example.com", "v=spf1 -all"),
    TXT("two.example.com", "v=spf1 ~all"),
    TXT("syntax.example.com", "v=spf1 ip4:192.0.2.300 -all"),
    TXT("loop1.example.com", "v=spf1 include:loop2.example.com -all"),
    TXT("loop2.example.com", "v=spf1 include:LOOP1.example.com. -all"),
    TXT("many.example.com", "v=spf1 a mx a mx include:amazonses.com "
                            "include:i2.example.com -all"),
    TXT("i2.example.com", "v=spf1 a a a a a -all"),
    A("i2.example.com", "192.0.2.1"),
    A("many.example.com", "192.0.2.1"),
    MX("many.example.com", "10 many.example.com"),
    TXT("void.example.com", "v=spf1 a:nx1.example.com a:nx2.example.com "
                            "mx:nx3.example.com -all"),
    TXT("plus.example.com", "v=spf1 +all"),
    TXT("qmark.example.com", "v=spf1 ptr include:amazonses.com ?all"),
    TXT("after.example.com", "v=spf1 include:amazonses.com -all "
                             "ip4:192.0.2.1"),
    TXT("noinc.example.com", "v=spf1 ip4:54.240.0.0/18 -all"),
    TXT("badinc.example.com", "v=spf1 include:nx.example.com -all"),
    TXT("tempinc.example.com", "v=spf1 include:slow.example.com -all"),
    TIMEOUT("slow.example.com"),
    TXT("macro.example.com", "v=spf1 include:%{d}.x.example.com "
                             "exists:%{i}.x.example.com -all"),
    TXT("hole.example.com", "v=spf1 ip4:192.0.2.0/25 ip4:192.0.2.192/26 "
                            "-all"),
    TXT("cover.example.com", "v=spf1 ip4:192.0.2.0/25 "
                             "include:cover2.example.com -all"),
    TXT("cover2.example.com", "v=spf1 ip4:192.0.2.192/26 "
                              "ip4:192.0.2.128/26 -all"),
    TXT("carve.example.com", "v=spf1 -ip4:192.0.2.130 ip4:192.0.2.0/24 "
                             "-all"),
    TXT("hole6.example.com", "v=spf1 ip6:2001:db8::/33 "
                             "ip6:2001:db8:c000::/34 -all"),
    TXT("big.example.com",
        "v=spf1 include:amazonses.com "
        "ip4:192.0.2.1 ip4:192.0.2.2 ip4:192.0.2.3 ip4:192.0.2.4 ip4:192.0.2.5 "
        "ip4:192.0.2.6 ip4:192.0.2.7 ip4:192.0.2.8 ip4:192.0.2.9 "
        "ip4:192.0.2.10 ip4:192.0.2.11 ip4:192.0.2.12 ip4:192.0.2.13 "
        "ip4:192.0.2.14 ip4:192.0.2.15 ip4:192.0.2.16 ip4:192.0.2.17 "
        "ip4:192.0.2.18 ip4:192.0.2.19 ip4:192.0.2.20 ip4:192.0.2.21 "
        "ip4:192.0.2.22 ip4:192.0.2.23 ip4:192.0.2.24 ip4:192.0.2.25 "
        "ip4:192.0.2.26 ip4:192.0.2.27 ip4:192.0.2.28 ip4:198.51.100.1 "
        "ip4:198.51.100.2 ip4:198.51.100.3 ip4:198.51.100.4 ~all"),
    END,
};

struct vdone {
	int calls;
	struct check_result *res;
};

static void
on_vdone(void *arg, struct check_result *res)
{
	struct vdone *d = arg;

	d->calls++;
	d->res = res;
}

/* validate - run spf_validate() to the end and check status and words. */
static void
validate(const char *domain, const char *egress, const char *include,
         enum check_status want, const char *needle)
{
	struct fake f = {.zone = zone_val};
	struct resolver res = fake_resolver(&f);
	struct spf_validate_request req;
	struct check_result out;
	struct vdone d = {0, NULL};
	int rc;

	memset(&req, 0, sizeof(req));
	snprintf(req.domain, sizeof(req.domain), "%s", domain);
	snprintf(req.include, sizeof(req.include), "%s", include);
	if (egress != NULL) {
		ck_assert_int_eq(spf_range_parse(egress, &req.egress[0]), 0);
		req.negress = 1;
	}
	rc = spf_validate(&res, &req, &out, on_vdone, &d);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(d.calls, 0);
	run_loop(&f);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_ptr_eq(d.res, &out);
	ck_assert_int_eq(out.type, CHECK_SPF);
	ck_assert_str_eq(out.name, domain);
	ck_assert_msg(out.status == want, "%s: status %s: %s", domain,
	              check_status_name(out.status), out.detail);
	ck_assert_msg(strstr(out.detail, needle) != NULL,
	              "%s: detail \"%s\" lacks \"%s\"", domain, out.detail,
	              needle);
}

START_TEST(val_ready)
{
	validate("mail.example.com", "54.240.1.1", "amazonses.com", CHECK_PASS,
	         "1 of 10 DNS-querying terms");
	validate("nested.example.com", "54.240.1.1", "amazonses.com",
	         CHECK_PASS, "valid");
	validate("redir.example.com", "54.240.1.1", "amazonses.com", CHECK_PASS,
	         "valid");
	validate("mail.example.com", NULL, "", CHECK_PASS, "no warnings");
}
END_TEST

START_TEST(val_problems)
{
	validate("none.example.com", NULL, "", CHECK_MISSING, "No SPF record");
	validate("two.example.com", NULL, "", CHECK_FAIL, "2 SPF records");
	validate("syntax.example.com", NULL, "", CHECK_FAIL, "ip4:192.0.2.300");
	validate("loop1.example.com", NULL, "", CHECK_FAIL, "loop");
	validate("many.example.com", NULL, "", CHECK_FAIL,
	         "11 DNS-querying terms");
	validate("void.example.com", NULL, "", CHECK_FAIL, "void lookups");
	validate("plus.example.com", NULL, "", CHECK_FAIL, "every host");
	validate("badinc.example.com", NULL, "", CHECK_FAIL,
	         "nx.example.com, which the policy names, has no SPF record");
	validate("tempinc.example.com", NULL, "", CHECK_TEMPERROR, "try again");
}
END_TEST

START_TEST(val_warnings)
{
	validate("qmark.example.com", NULL, "amazonses.com", CHECK_PASS,
	         "?all");
	validate("qmark.example.com", NULL, "amazonses.com", CHECK_PASS,
	         "ptr is slow");
	validate("after.example.com", NULL, "", CHECK_PASS, "terms after all");
	validate("big.example.com", NULL, "", CHECK_PASS, "450 bytes");
}
END_TEST

START_TEST(val_egress_and_include)
{
	validate("mail.example.com", "192.0.2.1", "amazonses.com", CHECK_FAIL,
	         "softfail, not pass, for the egress address 192.0.2.1");
	validate("noinc.example.com", "54.240.1.1", "amazonses.com", CHECK_FAIL,
	         "does not include amazonses.com");
	validate("macro.example.com", NULL, "amazonses.com", CHECK_FAIL,
	         "macro terms were not followed");
	validate("mail.example.com", "2001:db8::1", "", CHECK_FAIL,
	         "2001:db8::1");
}
END_TEST

/* An egress range passes only when every address of it does: the range
 * is probed at each cut its policy's ip4/ip6 networks make in it. */
START_TEST(val_egress_range)
{
	validate("cover.example.com", "192.0.2.0/24", "", CHECK_PASS,
	         "is valid");
	validate("cover.example.com", "192.0.2.77/24", "", CHECK_PASS,
	         "is valid");
	validate("hole.example.com", "192.0.2.0/24", "", CHECK_FAIL,
	         "for the egress address 192.0.2.128 (in the egress range "
	         "192.0.2.0/24)");
	validate("hole.example.com", "192.0.2.0/25", "", CHECK_PASS,
	         "is valid");
	validate("carve.example.com", "192.0.2.0/24", "", CHECK_FAIL,
	         "192.0.2.130 (in the egress range");
	validate("hole6.example.com", "2001:db8::/32", "", CHECK_FAIL,
	         "2001:db8:8000:: (in the egress range 2001:db8::/32)");
	validate("hole6.example.com", "2001:db8:c000::/34", "", CHECK_PASS,
	         "is valid");
	validate("big.example.com", "0.0.0.0/0", "", CHECK_FAIL,
	         "more than 32 pieces");
}
END_TEST

/* The egress check_host() runs need DNS too; refusal is temperror. */
START_TEST(val_refused)
{
	struct fake f = {.zone = zone_val, .refuse_after = 1};
	struct resolver res = fake_resolver(&f);
	struct spf_validate_request req;
	struct check_result out;
	struct vdone d = {0, NULL};

	memset(&req, 0, sizeof(req));
	snprintf(req.domain, sizeof(req.domain), "nested.example.com");
	ck_assert_int_eq(spf_validate(&res, &req, &out, on_vdone, &d), 0);
	run_loop(&f);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_int_eq(out.status, CHECK_TEMPERROR);
	f.queries = 5;
	d.calls = 0;
	ck_assert_int_eq(spf_validate(&res, &req, &out, on_vdone, &d), 1);
	ck_assert_int_eq(d.calls, 0);
	ck_assert_int_eq(out.status, CHECK_TEMPERROR);
}
END_TEST

/* ---- suite ---- */

#define ADD_SECTION(tc, id, cases)                                             \
	tcase_add_loop_test(tc, id, 0, (int)(sizeof(cases) / sizeof(cases[0])))

static Suite *
spf_suite(void)
{
	Suite *s = suite_create("spf");
	TCase *tc;

	tc = tcase_create("parse");
	ADD_SECTION(tc, parse_good, good_records);
	ADD_SECTION(tc, parse_bad, bad_records);
	tcase_add_test(tc, parse_fields);
	tcase_add_test(tc, is_record);
	tcase_add_test(tc, parse_hostile);
	suite_add_tcase(s, tc);

	tc = tcase_create("macro");
	ADD_SECTION(tc, macro_expand, macro_cases);
	ADD_SECTION(tc, macro_bad, bad_macros);
	tcase_add_test(tc, macro_need_p);
	tcase_add_test(tc, macro_bounded);
	tcase_add_test(tc, target_name);
	tcase_add_test(tc, addr_parse);
	suite_add_tcase(s, tc);

	tc = tcase_create("rfc7208-suite");
	ADD_SECTION(tc, suite_initial, cases_initial);
	ADD_SECTION(tc, suite_lookup, cases_lookup);
	ADD_SECTION(tc, suite_select, cases_select);
	ADD_SECTION(tc, suite_eval, cases_eval);
	ADD_SECTION(tc, suite_all, cases_all);
	ADD_SECTION(tc, suite_ptr, cases_ptr);
	ADD_SECTION(tc, suite_a, cases_a);
	ADD_SECTION(tc, suite_include, cases_include);
	ADD_SECTION(tc, suite_mx, cases_mx);
	ADD_SECTION(tc, suite_exists, cases_exists);
	ADD_SECTION(tc, suite_ip, cases_ip);
	ADD_SECTION(tc, suite_mod, cases_mod);
	ADD_SECTION(tc, suite_macro, cases_macro);
	ADD_SECTION(tc, suite_limits, cases_limits);
	ADD_SECTION(tc, suite_bugs, cases_bugs);
	suite_add_tcase(s, tc);

	tc = tcase_create("check_host");
	tcase_add_test(tc, eval_null_sender);
	tcase_add_test(tc, eval_include_depth);
	tcase_add_test(tc, eval_mx_fanout);
	tcase_add_test(tc, eval_ptr_error);
	tcase_add_test(tc, eval_explanation);
	tcase_add_test(tc, eval_redirect);
	tcase_add_test(tc, eval_deadline);
	tcase_add_test(tc, eval_refused);
	tcase_add_test(tc, eval_bad_domain_sync);
	tcase_add_test(tc, eval_hostile);
	suite_add_tcase(s, tc);

	tc = tcase_create("validate");
	tcase_add_test(tc, val_ready);
	tcase_add_test(tc, val_problems);
	tcase_add_test(tc, val_warnings);
	tcase_add_test(tc, val_egress_and_include);
	tcase_add_test(tc, val_egress_range);
	tcase_add_test(tc, val_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(spf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
