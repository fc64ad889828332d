/*
 * test_readiness.c - the readiness job against a fake resolver.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_readiness
 *
 * DESCRIPTION
 *	The fake resolver answers from a table of canned answers and delivers
 *	them from fake_run(), never from inside query(), as resolver.h requires.
 *	Unlisted names get NXDOMAIN.  It records every name asked so the tests
 *	can check what was (and was not) looked up.  One name and type can be
 *	made to stall: it is answered DNS_TIMEOUT at the deadline its query_by
 *	was given, as dns.c does.
 */
#include <check.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "dnsmsg.h"
#include "fake_answer.h"
#include "readiness.h"

#define FAKE_ENTRIES_MAX 16
#define FAKE_PENDING_MAX 32

struct fake_entry {
	const char *name;
	uint16_t qtype;
	enum dns_outcome outcome;
	size_t n;
	const char *values[4];
};

struct fake_pending {
	char name[DNS_NAME_TEXT_MAX];
	uint16_t qtype;
	uint64_t deadline; /* CLOCK_MONOTONIC ms; UINT64_MAX: none */
	resolver_cb cb;
	void *arg;
};

struct fake_resolver {
	const struct fake_entry *entries;
	size_t nentries;
	struct fake_pending pending[FAKE_PENDING_MAX];
	size_t npending;
	char asked[FAKE_PENDING_MAX][DNS_NAME_TEXT_MAX];
	size_t nasked;
	int refuse;        /* query() fails */
	const char *stall; /* this name and type answer only at the deadline */
	uint16_t stall_type;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int
fake_query_by(void *impl, const char *name, uint16_t qtype, uint64_t deadline,
              resolver_cb cb, void *arg)
{
	struct fake_resolver *f = impl;
	struct fake_pending *p;

	if (f->refuse || f->npending == FAKE_PENDING_MAX)
		return -1;
	p = &f->pending[f->npending++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->qtype = qtype;
	p->deadline = deadline;
	p->cb = cb;
	p->arg = arg;
	snprintf(f->asked[f->nasked++], sizeof(f->asked[0]), "%s", name);
	return 0;
}

static int
fake_query(void *impl, const char *name, uint16_t qtype, resolver_cb cb,
           void *arg)
{
	return fake_query_by(impl, name, qtype, UINT64_MAX, cb, arg);
}

static void
fake_run(struct fake_resolver *f)
{
	while (f->npending > 0) {
		struct fake_pending p = f->pending[0];
		struct dns_answer ans;
		size_t i;

		memmove(&f->pending[0], &f->pending[1],
		        (--f->npending) * sizeof(p));
		if (f->stall != NULL && strcmp(p.name, f->stall) == 0 &&
		    p.qtype == f->stall_type) {
			/* a stalled lookup without a deadline would hang */
			ck_assert_msg(p.deadline != UINT64_MAX,
			              "%s asked without a deadline", p.name);
			while (now_ms() < p.deadline)
				usleep(1000);
			fake_answer(&ans, p.name, p.qtype, DNS_TIMEOUT, 0,
			            NULL);
			p.cb(p.arg, &ans);
			dns_answer_free(&ans);
			continue;
		}
		fake_answer(&ans, p.name, p.qtype, DNS_NXDOMAIN, 0, NULL);
		for (i = 0; i < f->nentries; i++) {
			const struct fake_entry *e = &f->entries[i];

			if (strcmp(e->name, p.name) == 0 &&
			    e->qtype == p.qtype) {
				dns_answer_free(&ans);
				fake_answer(&ans, p.name, p.qtype, e->outcome,
				            e->n, e->values);
			}
		}
		p.cb(p.arg, &ans);
		dns_answer_free(&ans);
	}
}

static int
fake_asked(const struct fake_resolver *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->nasked; i++)
		if (strcmp(f->asked[i], name) == 0)
			return 1;
	return 0;
}

static void
done_cb(void *arg, struct report *rep)
{
	(void)rep;
	(*(int *)arg)++;
}

static const struct fake_entry seed_zone[] = {
    {"mail.example.com",
     DNS_TYPE_MX,
     DNS_OK,
     1,
     {"10 feedback-smtp.ap-northeast-1.amazonses.com"}},
    {"1234rpr._domainkey.example.com",
     DNS_TYPE_TXT,
     DNS_OK,
     1,
     {"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}},
    {"_dmarc.example.com", DNS_TYPE_TXT, DNS_OK, 1, {"v=DMARC1; p=none;"}},
    {"mail.example.com",
     DNS_TYPE_TXT,
     DNS_OK,
     1,
     {"v=spf1 ip4:192.0.2.0/24 ~all"}},
};

static void
request_init(struct readiness_request *req, const char *domain,
             const char *mail_from)
{
	memset(req, 0, sizeof(*req));
	snprintf(req->domain, sizeof(req->domain), "%s", domain);
	snprintf(req->mail_from, sizeof(req->mail_from), "%s", mail_from);
	req->checks = READINESS_CHECK_ALL;
	snprintf(req->selectors[0].name, sizeof(req->selectors[0].name),
	         "1234rpr");
	req->nselectors = 1;
	req->dmarc_min_policy = DMARC_POLICY_NONE;
}

static int
run(struct fake_resolver *f, const struct readiness_request *req,
    struct report *rep)
{
	struct resolver r = {.impl = f, .query = fake_query};
	int done = 0, rc;

	rc = readiness_start(&r, req, rep, done_cb, &done);
	ck_assert_int_eq(done, 0); /* never synchronous */
	fake_run(f);
	if (rc == 0)
		ck_assert_int_eq(done, 1);
	else
		ck_assert_int_eq(done, 0);
	return rc;
}

START_TEST(test_seed_ready)
{
	struct fake_resolver f = {.entries = seed_zone, .nentries = 4};
	struct readiness_request req;
	static struct report rep;

	request_init(&req, "example.com", "mail.example.com");
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_uint_eq(rep.nchecks, 4);
	/* the seed's order: MX, SPF, DKIM, DMARC */
	ck_assert_int_eq(rep.checks[0].type, CHECK_MX);
	ck_assert_str_eq(rep.checks[0].name, "mail.example.com");
	ck_assert_int_eq(rep.checks[1].type, CHECK_SPF);
	ck_assert_str_eq(rep.checks[1].name, "mail.example.com");
	ck_assert_int_eq(rep.checks[2].type, CHECK_DKIM);
	ck_assert_str_eq(rep.checks[2].name, "1234rpr._domainkey.example.com");
	ck_assert_int_eq(rep.checks[3].type, CHECK_DMARC);
	ck_assert_str_eq(rep.checks[3].name, "_dmarc.example.com");
	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(rep.checks[i].status == CHECK_PASS, "%zu: %s", i,
		              rep.checks[i].detail);
	ck_assert_int_eq(report_verdict(&rep), VERDICT_READY);
	ck_assert_int_eq(report_exit_code(&rep), 0);
}
END_TEST

START_TEST(test_missing_everything)
{
	struct fake_resolver f = {0};
	struct readiness_request req;
	static struct report rep;
	size_t i;

	request_init(&req, "example.com", "mail.example.com");
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_uint_eq(rep.nchecks, 4);
	for (i = 0; i < rep.nchecks; i++)
		ck_assert_int_eq(rep.checks[i].status, CHECK_MISSING);
	ck_assert_int_eq(report_exit_code(&rep), 1);
}
END_TEST

START_TEST(test_apex_mail_from_not_queried)
{
	struct fake_resolver f = {.entries = seed_zone, .nentries = 4};
	struct readiness_request req;
	static struct report rep;

	request_init(&req, "example.com", "example.com");
	req.checks =
	    READINESS_CHECK_BIT(CHECK_MX) | READINESS_CHECK_BIT(CHECK_SPF);
	/* nothing to look up: complete at once, done not called */
	ck_assert_int_eq(run(&f, &req, &rep), 1);
	ck_assert_uint_eq(f.nasked, 0);
	ck_assert_int_eq(rep.checks[0].status, CHECK_FAIL);
	ck_assert_ptr_nonnull(strstr(rep.checks[0].detail, "subdomain"));
	ck_assert_int_eq(rep.checks[1].type, CHECK_SPF);
	ck_assert_int_eq(rep.checks[1].status, CHECK_FAIL);
}
END_TEST

START_TEST(test_mail_from_outside_org)
{
	struct fake_resolver f = {.entries = seed_zone, .nentries = 4};
	struct readiness_request req;
	static struct report rep;

	request_init(&req, "example.com", "bounce.example.net");
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_int_eq(rep.checks[0].status, CHECK_FAIL);
	ck_assert(!fake_asked(&f, "bounce.example.net"));
	ck_assert_int_eq(report_exit_code(&rep), 1);
}
END_TEST

START_TEST(test_dmarc_org_discovery)
{
	static const struct fake_entry zone[] = {
	    {"_dmarc.example.com",
	     DNS_TYPE_TXT,
	     DNS_OK,
	     1,
	     {"v=DMARC1; p=reject; sp=quarantine"}},
	};
	struct fake_resolver f = {.entries = zone, .nentries = 1};
	struct readiness_request req;
	static struct report rep;

	request_init(&req, "shop.example.com", "mail.shop.example.com");
	req.checks = READINESS_CHECK_BIT(CHECK_DMARC);
	req.dmarc_min_policy = DMARC_POLICY_QUARANTINE;
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert(fake_asked(&f, "_dmarc.shop.example.com"));
	ck_assert(fake_asked(&f, "_dmarc.example.com"));
	ck_assert_str_eq(rep.checks[0].name, "_dmarc.example.com");
	ck_assert_int_eq(rep.checks[0].status, CHECK_PASS);
}
END_TEST

START_TEST(test_dmarc_temperror_stops_discovery)
{
	static const struct fake_entry zone[] = {
	    {"_dmarc.shop.example.com", DNS_TYPE_TXT, DNS_SERVFAIL, 0, {0}},
	    {"_dmarc.example.com",
	     DNS_TYPE_TXT,
	     DNS_OK,
	     1,
	     {"v=DMARC1; p=reject"}},
	};
	struct fake_resolver f = {.entries = zone, .nentries = 2};
	struct readiness_request req;
	static struct report rep;

	request_init(&req, "shop.example.com", "mail.shop.example.com");
	req.checks = READINESS_CHECK_BIT(CHECK_DMARC);
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert(!fake_asked(&f, "_dmarc.example.com"));
	ck_assert_int_eq(rep.checks[0].status, CHECK_TEMPERROR);
	ck_assert_int_eq(report_exit_code(&rep), 2);
}
END_TEST

/* The tree walk: a record at an intermediate name is the policy, and the
 * walk goes on to the organizational domain, which the report names. */
START_TEST(test_dmarc_walk_intermediate)
{
	static const struct fake_entry zone[] = {
	    {"_dmarc.shop.example.com",
	     DNS_TYPE_TXT,
	     DNS_OK,
	     1,
	     {"v=DMARC1; p=reject"}},
	    {"_dmarc.example.com",
	     DNS_TYPE_TXT,
	     DNS_OK,
	     1,
	     {"v=DMARC1; p=none"}},
	};
	struct fake_resolver f = {.entries = zone, .nentries = 2};
	struct readiness_request req;
	static struct report rep;

	request_init(&req, "eu.shop.example.com", "mail.eu.shop.example.com");
	req.checks = READINESS_CHECK_BIT(CHECK_DMARC);
	req.dmarc_min_policy = DMARC_POLICY_REJECT;
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_uint_eq(f.nasked, 4);
	ck_assert_str_eq(f.asked[0], "_dmarc.eu.shop.example.com");
	ck_assert_str_eq(f.asked[1], "_dmarc.shop.example.com");
	ck_assert_str_eq(f.asked[2], "_dmarc.example.com");
	ck_assert_str_eq(f.asked[3], "_dmarc.com");
	ck_assert_str_eq(rep.checks[0].name, "_dmarc.shop.example.com");
	ck_assert_int_eq(rep.checks[0].status, CHECK_PASS);
	ck_assert_ptr_nonnull(
	    strstr(rep.checks[0].detail, "organizational domain example.com"));
	ck_assert_str_eq(rep.org, "example.com");
}
END_TEST

/* psd=y on a public-suffix operator's name: its policy applies, the org
 * domain is the name one label below, and the walk stops there. */
START_TEST(test_dmarc_walk_psd)
{
	static const struct fake_entry zone[] = {
	    {"_dmarc.gov.example",
	     DNS_TYPE_TXT,
	     DNS_OK,
	     1,
	     {"v=DMARC1; p=reject; psd=y"}},
	};
	struct fake_resolver f = {.entries = zone, .nentries = 1};
	struct readiness_request req;
	static struct report rep;

	request_init(&req, "agency.gov.example", "mail.agency.gov.example");
	req.checks = READINESS_CHECK_BIT(CHECK_DMARC);
	req.dmarc_min_policy = DMARC_POLICY_QUARANTINE;
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_uint_eq(f.nasked, 2);
	ck_assert(!fake_asked(&f, "_dmarc.example"));
	ck_assert_str_eq(rep.checks[0].name, "_dmarc.gov.example");
	ck_assert_int_eq(rep.checks[0].status, CHECK_PASS);
	ck_assert_str_eq(rep.org, "agency.gov.example");
}
END_TEST

/* A long name costs at most eight queries, and no record is missing. */
START_TEST(test_dmarc_walk_cap)
{
	struct fake_resolver f = {.entries = NULL, .nentries = 0};
	struct readiness_request req;
	static struct report rep;

	request_init(&req, "a.b.c.d.e.f.g.h.i.example.com",
	             "mail.a.b.c.d.e.f.g.h.i.example.com");
	req.checks = READINESS_CHECK_BIT(CHECK_DMARC);
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_uint_eq(f.nasked, 8);
	ck_assert_str_eq(f.asked[1], "_dmarc.e.f.g.h.i.example.com");
	ck_assert_str_eq(f.asked[7], "_dmarc.com");
	ck_assert_int_eq(rep.checks[0].status, CHECK_MISSING);
	ck_assert_str_eq(rep.checks[0].name,
	                 "_dmarc.a.b.c.d.e.f.g.h.i.example.com");
	ck_assert_ptr_nonnull(strstr(rep.checks[0].detail,
	                             "the tree walk asked 8 names, up to "
	                             "_dmarc.com"));
	ck_assert_str_eq(rep.org, "a.b.c.d.e.f.g.h.i.example.com");
}
END_TEST

/* DNS trouble past the policy record: the policy is judged, the org
 * domain is unknown this time (a warning; the state keeps the last). */
START_TEST(test_dmarc_walk_temp_after_policy)
{
	static const struct fake_entry zone[] = {
	    {"_dmarc.example.com",
	     DNS_TYPE_TXT,
	     DNS_OK,
	     1,
	     {"v=DMARC1; p=reject"}},
	    {"_dmarc.com", DNS_TYPE_TXT, DNS_TIMEOUT, 0, {0}},
	};
	struct fake_resolver f = {.entries = zone, .nentries = 2};
	struct readiness_request req;
	static struct report rep;

	request_init(&req, "example.com", "mail.example.com");
	req.checks = READINESS_CHECK_BIT(CHECK_DMARC);
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_int_eq(rep.checks[0].status, CHECK_PASS);
	ck_assert_str_eq(rep.checks[0].name, "_dmarc.example.com");
	ck_assert_ptr_nonnull(strstr(rep.checks[0].warning,
	                             "The organizational domain is not known "
	                             "this time: DNS lookup of TXT _dmarc.com "
	                             "failed (timeout)"));
	ck_assert_str_eq(rep.org, "");
}
END_TEST

/* aspf=s with the seed's MAIL FROM subdomain: a warning, and a failure
 * where alignment must hold through SPF. */
START_TEST(test_dmarc_aspf_strict)
{
	static const struct fake_entry zone[] = {
	    {"_dmarc.example.com",
	     DNS_TYPE_TXT,
	     DNS_OK,
	     1,
	     {"v=DMARC1; p=reject; aspf=s"}},
	};
	struct fake_resolver f = {.entries = zone, .nentries = 1};
	struct readiness_request req;
	static struct report rep;

	request_init(&req, "example.com", "mail.example.com");
	req.checks = READINESS_CHECK_BIT(CHECK_DMARC);
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_int_eq(rep.checks[0].status, CHECK_PASS);
	ck_assert_ptr_nonnull(strstr(rep.checks[0].warning,
	                             "the MAIL FROM is mail.example.com, so "
	                             "SPF can never align"));
	memset(&f, 0, sizeof(f));
	f.entries = zone;
	f.nentries = 1;
	req.spf_alignment_required = true;
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_int_eq(rep.checks[0].status, CHECK_FAIL);
	ck_assert_int_eq(report_exit_code(&rep), 1);
}
END_TEST

/* adkim=s: the report carries the modes (stored with the state for the
 * milter's alignment); without the From domains a generic warning,
 * with one that differs from the key's domain a warning naming it, and
 * a failure where alignment must hold through DKIM. */
START_TEST(test_dmarc_adkim_strict)
{
	static const struct fake_entry zone[] = {
	    {"_dmarc.example.com",
	     DNS_TYPE_TXT,
	     DNS_OK,
	     1,
	     {"v=DMARC1; p=none; adkim=s"}},
	};
	struct fake_resolver f = {.entries = zone, .nentries = 1};
	struct readiness_request req;
	static struct report rep;

	request_init(&req, "example.com", "mail.example.com");
	req.checks = READINESS_CHECK_BIT(CHECK_DMARC);
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_int_eq(rep.checks[0].status, CHECK_PASS);
	ck_assert_int_eq(rep.adkim, 's');
	ck_assert_int_eq(rep.aspf, 'r');
	ck_assert_ptr_nonnull(strstr(rep.checks[0].warning,
	                             "unless every From address is at "
	                             "example.com"));
	/* the From domains the operator will use: only the key's own */
	memset(&f, 0, sizeof(f));
	f.entries = zone;
	f.nentries = 1;
	snprintf(req.from_domains[0], sizeof(req.from_domains[0]),
	         "example.com");
	req.nfrom = 1;
	req.dkim_alignment_required = true;
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_int_eq(rep.checks[0].status, CHECK_PASS);
	ck_assert_str_eq(rep.checks[0].warning, "");
	/* and a subdomain: warned, or failed when DKIM must align */
	snprintf(req.from_domains[1], sizeof(req.from_domains[1]),
	         "news.example.com");
	req.nfrom = 2;
	req.dkim_alignment_required = false;
	memset(&f, 0, sizeof(f));
	f.entries = zone;
	f.nentries = 1;
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_int_eq(rep.checks[0].status, CHECK_PASS);
	ck_assert_ptr_nonnull(strstr(rep.checks[0].warning,
	                             "mail will be From news.example.com, so "
	                             "DKIM can never align"));
	req.dkim_alignment_required = true;
	memset(&f, 0, sizeof(f));
	f.entries = zone;
	f.nentries = 1;
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_int_eq(rep.checks[0].status, CHECK_FAIL);
	ck_assert_ptr_nonnull(
	    strstr(rep.checks[0].detail, "DKIM alignment is required here"));
	ck_assert_int_eq(report_exit_code(&rep), 1);
}
END_TEST

/* Only ed25519 keys: a warning on the DKIM result; an RSA key ends it. */
START_TEST(test_dkim_ed25519_only)
{
	static const struct fake_entry rsa[] = {
	    {"1234rpr._domainkey.example.com",
	     DNS_TYPE_TXT,
	     DNS_OK,
	     1,
	     {"v=DKIM1; k=ed25519; "
	      "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}},
	    {"rsa1._domainkey.example.com",
	     DNS_TYPE_TXT,
	     DNS_OK,
	     1,
	     {"v=DKIM1; k=rsa; "
	      "p="
	      "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCvjI0HEBquTIE4Wp8LwHibH1aB"
	      "fSQ6cY"
	      "0yBHVMjnztkBMhjKHfvaKwM3VA054m7c5TEa1qNv0lzDQXeSnIZYKc/"
	      "Xe+gUX6BZ3y9FsvGLgds3DuVnrrpi7UzklcJGeKOGfQ6Ima65IbU7e0+/"
	      "uBsa71W32Kcg0OdbS1sE4Y51uCpQIDAQAB"}},
	};
	struct fake_resolver f = {.entries = seed_zone, .nentries = 4};
	struct readiness_request req;
	static struct report rep;

	request_init(&req, "example.com", "mail.example.com");
	req.checks = READINESS_CHECK_BIT(CHECK_DKIM);
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_int_eq(rep.checks[0].status, CHECK_PASS);
	ck_assert_ptr_nonnull(strstr(rep.checks[0].warning,
	                             "Every DKIM key of example.com is "
	                             "ed25519"));
	memset(&f, 0, sizeof(f));
	f.entries = rsa;
	f.nentries = 2;
	snprintf(req.selectors[1].name, sizeof(req.selectors[1].name), "rsa1");
	req.nselectors = 2;
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_int_eq(rep.checks[0].status, CHECK_PASS);
	ck_assert_int_eq(rep.checks[1].status, CHECK_PASS);
	ck_assert_str_eq(rep.checks[0].warning, "");
	ck_assert_str_eq(rep.checks[1].warning, "");
}
END_TEST

START_TEST(test_temperror_and_fail_is_not_ready)
{
	static const struct fake_entry zone[] = {
	    {"mail.example.com", DNS_TYPE_MX, DNS_TIMEOUT, 0, {0}},
	    {"_dmarc.example.com",
	     DNS_TYPE_TXT,
	     DNS_OK,
	     1,
	     {"v=DMARC1; p=bogus"}},
	};
	struct fake_resolver f = {.entries = zone, .nentries = 2};
	struct readiness_request req;
	static struct report rep;

	request_init(&req, "example.com", "mail.example.com");
	req.checks &=
	    ~(READINESS_CHECK_BIT(CHECK_DKIM) | READINESS_CHECK_BIT(CHECK_SPF));
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_int_eq(rep.checks[0].status, CHECK_TEMPERROR);
	ck_assert_int_eq(rep.checks[1].status, CHECK_FAIL);
	ck_assert_int_eq(report_verdict(&rep), VERDICT_NOT_READY);
}
END_TEST

START_TEST(test_several_selectors)
{
	struct fake_resolver f = {.entries = seed_zone, .nentries = 4};
	struct readiness_request req;
	static struct report rep;

	request_init(&req, "example.com", "mail.example.com");
	snprintf(req.selectors[1].name, sizeof(req.selectors[1].name), "s2");
	req.nselectors = 2;
	req.checks = READINESS_CHECK_BIT(CHECK_DKIM);
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_uint_eq(rep.nchecks, 2);
	ck_assert_int_eq(rep.checks[0].status, CHECK_PASS);
	ck_assert_str_eq(rep.checks[1].name, "s2._domainkey.example.com");
	ck_assert_int_eq(rep.checks[1].status, CHECK_MISSING);
}
END_TEST

START_TEST(test_no_selector_dkim_missing)
{
	struct fake_resolver f = {.entries = seed_zone, .nentries = 4};
	struct readiness_request req;
	static struct report rep;

	/* Everything else is published; no selector is known. */
	request_init(&req, "example.com", "mail.example.com");
	req.nselectors = 0;
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_uint_eq(rep.nchecks, 4);
	ck_assert_int_eq(rep.checks[2].type, CHECK_DKIM);
	ck_assert_str_eq(rep.checks[2].name, "_domainkey.example.com");
	ck_assert_int_eq(rep.checks[2].status, CHECK_MISSING);
	ck_assert_ptr_nonnull(strstr(rep.checks[2].detail, "--selector"));
	ck_assert_ptr_nonnull(
	    strstr(rep.checks[2].detail, "Selector in authready.conf"));
	ck_assert(!fake_asked(&f, "_domainkey.example.com"));
	ck_assert_int_eq(report_verdict(&rep), VERDICT_NOT_READY);
	ck_assert_int_eq(report_exit_code(&rep), 1);

	/* Only DKIM asked for: complete at once, still missing. */
	req.checks = READINESS_CHECK_BIT(CHECK_DKIM);
	ck_assert_int_eq(run(&f, &req, &rep), 1);
	ck_assert_uint_eq(rep.nchecks, 1);
	ck_assert_int_eq(rep.checks[0].status, CHECK_MISSING);
}
END_TEST

START_TEST(test_checker_request_keeps_dkim)
{
	struct readiness_request req;
	struct domain_reg reg;
	struct config cfg;
	char err[256];

	/* Registered without a selector, and no Selector in the config. */
	config_defaults(&cfg);
	cfg.selector[0] = '\0';
	memset(&reg, 0, sizeof(reg));
	snprintf(reg.domain, sizeof(reg.domain), "example.com");
	reg.dmarc_min_policy = -1;
	ck_assert_int_eq(checker_request(&reg, &cfg, &req, err, sizeof(err)),
	                 0);
	ck_assert_uint_eq(req.nselectors, 0);
	ck_assert(req.checks & READINESS_CHECK_BIT(CHECK_DKIM));
	readiness_request_free(&req);

	/* The config's Selector applies to an entry without one. */
	snprintf(cfg.selector, sizeof(cfg.selector), "1234rpr");
	ck_assert_int_eq(checker_request(&reg, &cfg, &req, err, sizeof(err)),
	                 0);
	ck_assert_uint_eq(req.nselectors, 1);
	ck_assert_str_eq(req.selectors[0].name, "1234rpr");
	ck_assert(req.checks & READINESS_CHECK_BIT(CHECK_DKIM));
	/* AlignmentRequired either (the default) requires neither */
	ck_assert(!req.spf_alignment_required && !req.dkim_alignment_required);
	readiness_request_free(&req);
}
END_TEST

/* AlignmentRequired says which alignment a record must allow. */
START_TEST(test_checker_request_alignment)
{
	static const struct {
		enum fromcheck_align_req align;
		bool spf, dkim;
	} rows[] = {
	    {FROMCHECK_ALIGN_EITHER, false, false},
	    {FROMCHECK_ALIGN_SPF, true, false},
	    {FROMCHECK_ALIGN_DKIM, false, true},
	    {FROMCHECK_ALIGN_BOTH, true, true},
	};
	struct readiness_request req;
	struct domain_reg reg;
	static struct config cfg;
	char err[256];

	config_defaults(&cfg);
	memset(&reg, 0, sizeof(reg));
	snprintf(reg.domain, sizeof(reg.domain), "example.com");
	reg.dmarc_min_policy = -1;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		cfg.from.align = rows[i].align;
		ck_assert_int_eq(
		    checker_request(&reg, &cfg, &req, err, sizeof(err)), 0);
		ck_assert(req.spf_alignment_required == rows[i].spf);
		ck_assert(req.dkim_alignment_required == rows[i].dkim);
		readiness_request_free(&req);
	}
}
END_TEST

START_TEST(test_budget_cuts_slow_record)
{
	/* the SPF chain stalls: only its record waits out the budget */
	static const struct fake_entry zone[] = {
	    {"mail.example.com",
	     DNS_TYPE_MX,
	     DNS_OK,
	     1,
	     {"10 feedback-smtp.ap-northeast-1.amazonses.com"}},
	    {"1234rpr._domainkey.example.com",
	     DNS_TYPE_TXT,
	     DNS_OK,
	     1,
	     {"v=DKIM1; k=ed25519; "
	      "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}},
	    {"_dmarc.example.com",
	     DNS_TYPE_TXT,
	     DNS_OK,
	     1,
	     {"v=DMARC1; p=none;"}},
	    {"mail.example.com",
	     DNS_TYPE_TXT,
	     DNS_OK,
	     1,
	     {"v=spf1 include:slow.example.net ~all"}},
	};
	struct fake_resolver f = {.entries = zone,
	                          .nentries = 4,
	                          .stall = "slow.example.net",
	                          .stall_type = DNS_TYPE_TXT};
	struct resolver r = {
	    .impl = &f, .query = fake_query, .query_by = fake_query_by};
	struct readiness_request req;
	static struct report rep;
	uint64_t start;
	int done = 0;
	size_t i;

	request_init(&req, "example.com", "mail.example.com");
	req.budget_ms = 60;
	start = now_ms();
	ck_assert_int_eq(readiness_start(&r, &req, &rep, done_cb, &done), 0);
	fake_run(&f);
	ck_assert_int_eq(done, 1);
	ck_assert(fake_asked(&f, "slow.example.net"));
	ck_assert_uint_ge(now_ms() - start, 60);
	ck_assert_uint_eq(rep.nchecks, 4);
	for (i = 0; i < rep.nchecks; i++) {
		if (rep.checks[i].type != CHECK_SPF) {
			ck_assert_msg(rep.checks[i].status == CHECK_PASS,
			              "%zu: %s", i, rep.checks[i].detail);
			continue;
		}
		ck_assert_int_eq(rep.checks[i].status, CHECK_TEMPERROR);
		ck_assert_msg(strstr(rep.checks[i].detail,
		                     "time budget of 0.060 s") != NULL,
		              "%s", rep.checks[i].detail);
	}
	ck_assert_int_eq(report_exit_code(&rep), 2);
}
END_TEST

START_TEST(test_resolver_refuses)
{
	struct fake_resolver f = {
	    .entries = seed_zone, .nentries = 4, .refuse = 1};
	struct readiness_request req;
	static struct report rep;
	size_t i;

	request_init(&req, "example.com", "mail.example.com");
	ck_assert_int_eq(run(&f, &req, &rep), 1);
	ck_assert_uint_eq(rep.nchecks, 4);
	for (i = 0; i < rep.nchecks; i++)
		ck_assert_int_eq(rep.checks[i].status, CHECK_TEMPERROR);
}
END_TEST

START_TEST(test_mail_from_forms)
{
	char out[DOMAIN_BUF], err[256];

	ck_assert_int_eq(readiness_mail_from("example.com", "mail", out,
	                                     sizeof(out), err, sizeof(err)),
	                 0);
	ck_assert_str_eq(out, "mail.example.com");
	ck_assert_int_eq(readiness_mail_from("example.com",
	                                     "Bounce.Example.COM.", out,
	                                     sizeof(out), err, sizeof(err)),
	                 0);
	ck_assert_str_eq(out, "bounce.example.com");
	ck_assert_int_eq(readiness_mail_from("example.com", "example.com", out,
	                                     sizeof(out), err, sizeof(err)),
	                 0);
	ck_assert_str_eq(out, "example.com");
	ck_assert_int_eq(readiness_mail_from("example.com", "", out,
	                                     sizeof(out), err, sizeof(err)),
	                 -1);
	ck_assert_int_eq(readiness_mail_from("example.com", "a..b", out,
	                                     sizeof(out), err, sizeof(err)),
	                 -1);
}
END_TEST

START_TEST(test_load_key_modes)
{
	struct readiness_selector sel;
	char dir[] = "/tmp/authready-key-XXXXXX", path[64], err[512];
	static char big[READINESS_KEY_MAX + 10];
	FILE *fp;

	memset(&sel, 0, sizeof(sel));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/k.pem", dir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("-----BEGIN PRIVATE KEY-----\n", fp);
	fclose(fp);
	chmod(path, 0600);
	ck_assert_int_eq(readiness_load_key(&sel, path, err, sizeof(err)), 0);
	ck_assert_uint_gt(sel.key_pem_len, 0);
	chmod(path, 0666); /* anyone could swap the key */
	ck_assert_int_eq(readiness_load_key(&sel, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "anyone can write"));
	chmod(path, 0600);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	memset(big, 'k', sizeof(big));
	fwrite(big, 1, sizeof(big), fp);
	fclose(fp);
	ck_assert_int_eq(readiness_load_key(&sel, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is larger than 65536 octets"));
	unlink(path);
	ck_assert_int_eq(readiness_load_key(&sel, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot read"));
	ck_assert_int_eq(readiness_load_key(&sel, dir, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is a directory"));
	/* a FIFO with no writer must be refused at once, not waited on */
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(readiness_load_key(&sel, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is a FIFO, not a regular file"));
	ck_assert_int_eq(
	    readiness_load_key(&sel, "/dev/zero", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is a character device"));
	unlink(path);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fclose(fp);
	ck_assert_int_eq(readiness_load_key(&sel, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is empty"));
	unlink(path);
	rmdir(dir);
	free(sel.key_pem);
}
END_TEST

/* An egress range given as text ("--egress-ip", EgressIPs) is checked
 * whole: covered by the policy it passes, with a hole in the middle
 * (192.0.2.128/26, between two authorized blocks) it fails. */
START_TEST(test_egress_range_check)
{
	static const struct fake_entry holed[] = {
	    {"mail.example.com",
	     DNS_TYPE_TXT,
	     DNS_OK,
	     1,
	     {"v=spf1 ip4:192.0.2.0/25 ip4:192.0.2.192/26 ~all"}},
	};
	struct fake_resolver f = {.entries = seed_zone, .nentries = 4};
	struct readiness_request req;
	static struct report rep;

	request_init(&req, "example.com", "mail.example.com");
	req.checks = READINESS_CHECK_BIT(CHECK_SPF);
	ck_assert_int_eq(readiness_add_egress(&req, "192.0.2.7/24"), 0);
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_uint_eq(rep.nchecks, 1);
	ck_assert_msg(rep.checks[0].status == CHECK_PASS, "%s",
	              rep.checks[0].detail);

	memset(&f, 0, sizeof(f));
	f.entries = holed;
	f.nentries = 1;
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_int_eq(rep.checks[0].status, CHECK_FAIL);
	ck_assert_msg(strstr(rep.checks[0].detail,
	                     "192.0.2.128 (in the "
	                     "egress range 192.0.2.0/24)") != NULL,
	              "%s", rep.checks[0].detail);

	/* The authorized half of it passes. */
	request_init(&req, "example.com", "mail.example.com");
	req.checks = READINESS_CHECK_BIT(CHECK_SPF);
	ck_assert_int_eq(readiness_add_egress(&req, "192.0.2.0/25"), 0);
	memset(&f, 0, sizeof(f));
	f.entries = holed;
	f.nentries = 1;
	ck_assert_int_eq(run(&f, &req, &rep), 0);
	ck_assert_msg(rep.checks[0].status == CHECK_PASS, "%s",
	              rep.checks[0].detail);
}
END_TEST

/* An egress prefix is the whole range, never the address written before
 * the slash; a bad prefix is refused. */
START_TEST(test_egress_prefix)
{
	static struct readiness_request req;
	struct spf_addr want;

	memset(&req, 0, sizeof(req));
	ck_assert_int_eq(readiness_add_egress(&req, "127.0.0.1/0"), 0);
	ck_assert_uint_eq(req.negress, 1);
	ck_assert_int_eq(spf_addr_parse("0.0.0.0", &want), 0);
	ck_assert_mem_eq(&req.egress[0].net, &want, sizeof(want));
	ck_assert_uint_eq(req.egress[0].bits, 0);
	ck_assert_int_eq(readiness_add_egress(&req, "192.0.2.77/27"), 0);
	ck_assert_int_eq(spf_addr_parse("192.0.2.64", &want), 0);
	ck_assert_mem_eq(&req.egress[1].net, &want, sizeof(want));
	ck_assert_uint_eq(req.egress[1].bits, 27);
	ck_assert_int_eq(readiness_add_egress(&req, "2001:db8::1/127"), 0);
	ck_assert_int_eq(spf_addr_parse("2001:db8::", &want), 0);
	ck_assert_mem_eq(&req.egress[2].net, &want, sizeof(want));
	ck_assert_uint_eq(req.egress[2].bits, 127);
	/* An IPv4-mapped prefix is an IPv4 range. */
	ck_assert_int_eq(readiness_add_egress(&req, "::ffff:192.0.2.0/120"), 0);
	ck_assert_int_eq(spf_addr_parse("192.0.2.0", &want), 0);
	ck_assert_mem_eq(&req.egress[3].net, &want, sizeof(want));
	ck_assert_uint_eq(req.egress[3].bits, 24);
	ck_assert_int_eq(readiness_add_egress(&req, "::ffff:0:0/90"), -1);
	/* A whole address: one address, as written. */
	ck_assert_int_eq(readiness_add_egress(&req, "192.0.2.1/32"), 0);
	ck_assert_int_eq(spf_addr_parse("192.0.2.1", &want), 0);
	ck_assert_mem_eq(&req.egress[4].net, &want, sizeof(want));
	ck_assert_uint_eq(req.negress, 5);
	ck_assert_int_eq(readiness_add_egress(&req, "192.0.2.1/33"), -1);
	ck_assert_int_eq(readiness_add_egress(&req, "192.0.2.1/"), -1);
	ck_assert_uint_eq(req.negress, 5);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("readiness");
	TCase *tc = tcase_create("job");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_seed_ready);
	tcase_add_test(tc, test_missing_everything);
	tcase_add_test(tc, test_apex_mail_from_not_queried);
	tcase_add_test(tc, test_mail_from_outside_org);
	tcase_add_test(tc, test_dmarc_org_discovery);
	tcase_add_test(tc, test_dmarc_temperror_stops_discovery);
	tcase_add_test(tc, test_dmarc_walk_intermediate);
	tcase_add_test(tc, test_dmarc_walk_psd);
	tcase_add_test(tc, test_dmarc_walk_cap);
	tcase_add_test(tc, test_dmarc_walk_temp_after_policy);
	tcase_add_test(tc, test_dmarc_aspf_strict);
	tcase_add_test(tc, test_dmarc_adkim_strict);
	tcase_add_test(tc, test_dkim_ed25519_only);
	tcase_add_test(tc, test_temperror_and_fail_is_not_ready);
	tcase_add_test(tc, test_several_selectors);
	tcase_add_test(tc, test_no_selector_dkim_missing);
	tcase_add_test(tc, test_checker_request_keeps_dkim);
	tcase_add_test(tc, test_checker_request_alignment);
	tcase_add_test(tc, test_resolver_refuses);
	tcase_add_test(tc, test_budget_cuts_slow_record);
	tcase_add_test(tc, test_mail_from_forms);
	tcase_add_test(tc, test_load_key_modes);
	tcase_add_test(tc, test_egress_prefix);
	tcase_add_test(tc, test_egress_range_check);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
