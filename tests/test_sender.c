/*
 * test_sender.c - the sender rules from registry and state rows held in
 * memory: ownership (exact, MAIL FROM name of a registered parent,
 * organizational domain, unregistered), the wait, staleness, store
 * errors, the reverse-path (malformed, null, a long local part), exempt
 * senders and the noting of uses; each through policy_decide() where
 * the rule shows in the reply.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_sender
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "sender.h"
#include "store.h"

#define NOW 1700000000
#define ROWS_MAX 8

struct reg_row {
	const char *domain;
	const char *mail_from; /* "" the global MailFrom */
};

struct state_row {
	const char *domain;
	struct storecodec_state_summary sum;
};

/* The fake store and checker: rows, failures and what was asked. */
struct fake {
	struct reg_row reg[ROWS_MAX];
	size_t nreg;
	struct state_row state[ROWS_MAX];
	size_t nstate;
	bool begin_fails, state_fails;
	/* a check stores this row at the first wait (domain NULL: none) */
	struct state_row after_check;
	bool request_fails;
	/* what was done */
	unsigned begins, reg_reads, requests, waits, uses;
	char requested[DOMAIN_BUF], used[DOMAIN_BUF];
	bool req_unregistered;
	unsigned req_wait_ms;
};

static struct fake fk;
static struct policy_config *pc;
static struct sender_facts f;
static struct policy_decision d;

static int
fake_begin(void *impl)
{
	(void)impl;
	fk.begins++;
	return fk.begin_fails ? STORE_ERROR : STORE_OK;
}

static void
fake_end(void *impl)
{
	(void)impl;
}

static int
fake_state(void *impl, const char *domain, struct storecodec_state_summary *sum)
{
	(void)impl;
	memset(sum, 0, sizeof(*sum));
	if (fk.state_fails)
		return STORE_ERROR;
	for (size_t i = 0; i < fk.nstate; i++)
		if (strcmp(fk.state[i].domain, domain) == 0) {
			*sum = fk.state[i].sum;
			return STORE_OK;
		}
	return STORE_NOTFOUND;
}

static int
fake_reg(void *impl, const char *domain, struct storecodec_reg_summary *reg)
{
	(void)impl;
	fk.reg_reads++;
	memset(reg, 0, sizeof(*reg));
	for (size_t i = 0; i < fk.nreg; i++)
		if (strcmp(fk.reg[i].domain, domain) == 0) {
			snprintf(reg->mail_from, sizeof(reg->mail_from), "%s",
			         fk.reg[i].mail_from);
			return STORE_OK;
		}
	return STORE_NOTFOUND;
}

static bool
fake_request(void *impl, const char *domain, bool unregistered,
             unsigned wait_ms)
{
	(void)impl;
	fk.requests++;
	snprintf(fk.requested, sizeof(fk.requested), "%s", domain);
	fk.req_unregistered = unregistered;
	fk.req_wait_ms = wait_ms;
	return !fk.request_fails;
}

/* fake_wait - the first wait ends with the check's state stored; the
 * next one with CheckWait passed. */
static bool
fake_wait(void *impl)
{
	(void)impl;
	if (++fk.waits > 1 || fk.after_check.domain == NULL)
		return false;
	ck_assert_uint_lt(fk.nstate, ROWS_MAX);
	fk.state[fk.nstate++] = fk.after_check;
	return true;
}

static void
fake_note_use(void *impl, const char *domain)
{
	(void)impl;
	fk.uses++;
	snprintf(fk.used, sizeof(fk.used), "%s", domain);
}

static int64_t
fake_now(void *impl)
{
	(void)impl;
	return NOW;
}

static const struct sender_env env = {
    .begin = fake_begin,
    .end = fake_end,
    .state = fake_state,
    .reg = fake_reg,
    .peek = fake_state,
    .request = fake_request,
    .wait = fake_wait,
    .note_use = fake_note_use,
    .now = fake_now,
};

static void
setup(void)
{
	memset(&fk, 0, sizeof(fk));
	pc = malloc(sizeof(*pc));
	ck_assert_ptr_nonnull(pc);
	policy_config_defaults(pc);
}

static void
teardown(void)
{
	free(pc);
}

static void
add_reg(const char *domain, const char *mail_from)
{
	ck_assert_uint_lt(fk.nreg, ROWS_MAX);
	fk.reg[fk.nreg].domain = domain;
	fk.reg[fk.nreg].mail_from = mail_from;
	fk.nreg++;
}

/* add_state - a state row; next_check relative to NOW. */
static struct storecodec_state_summary *
add_state(const char *domain, enum domain_readiness state, int64_t next_in)
{
	struct state_row *r;

	ck_assert_uint_lt(fk.nstate, ROWS_MAX);
	r = &fk.state[fk.nstate++];
	memset(r, 0, sizeof(*r));
	r->domain = domain;
	r->sum.state = state;
	r->sum.next_check = NOW + next_in;
	return &r->sum;
}

/* judge - the facts for MAIL FROM arg and the policy's decision. */
static void
judge(const char *arg)
{
	struct sender_rules rules = {pc, "mail", 3000};

	sender_facts(&env, &rules, arg, &f);
	policy_decide(pc, &f.in, &d);
}

START_TEST(test_exact)
{
	add_state("example.com", READINESS_VERIFIED, 3600);
	add_reg("example.com", "");
	judge("<u@example.com>");
	ck_assert_int_eq(f.code, REVPATH_OK);
	ck_assert_str_eq(f.in.domain, "example.com");
	ck_assert(f.in.registered && f.in.have_state);
	ck_assert_int_eq(f.in.state, READINESS_VERIFIED);
	ck_assert(!f.in.stale && !f.in.dns_trouble);
	/* the hot path: a verified state is taken as registered, unread */
	ck_assert_uint_eq(fk.reg_reads, 0);
	ck_assert_uint_eq(fk.requests, 0);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert_str_eq(sender_state_name(&f), "verified");
	ck_assert_ptr_null(f.oddity);
}
END_TEST

START_TEST(test_registry_stale)
{
	struct sender_rules rules = {pc, "mail", 3000, true};

	/* a replica out of touch: the unregistered domain is not refused */
	pc->unregistered = POLICY_UNREG_REJECT;
	sender_facts(&env, &rules, "<u@unknown.example>", &f);
	ck_assert(!f.in.registered && f.in.registry_stale);
	policy_decide(pc, &f.in, &d);
	ck_assert_str_eq(d.smtp_code, "451");
	/* the From domain (FromCheck) is judged with the same rules */
	sender_facts_domain(&env, &rules, "u", false, "unknown.example", &f);
	ck_assert(!f.in.registered && f.in.registry_stale);
	policy_decide(pc, &f.in, &d);
	ck_assert_str_eq(d.smtp_code, "451");
	/* a registered domain is decided as always */
	add_reg("example.com", "");
	add_state("example.com", READINESS_PENDING, 3600);
	sender_facts(&env, &rules, "<u@mail.example.com>", &f);
	policy_decide(pc, &f.in, &d);
	ck_assert(f.in.registered);
	ck_assert_str_eq(d.smtp_code, "550");
	/* in touch: the unregistered reject again */
	judge("<u@unknown.example>");
	ck_assert(!f.in.registry_stale);
	ck_assert_str_eq(d.smtp_code, "550");
}
END_TEST

START_TEST(test_parent_mail_from)
{
	/* shop.example.com's MAIL FROM name is the global "mail" */
	add_reg("shop.example.com", "");
	add_state("shop.example.com", READINESS_VERIFIED, 3600);
	judge("<bounces@mail.shop.example.com>");
	ck_assert_str_eq(f.in.domain, "shop.example.com");
	ck_assert(f.in.registered && f.in.have_state);
	/* a sibling is not its MAIL FROM name, but shop.example.com is its
	 * nearest registered parent (the DMARC tree walk's names) */
	judge("<u@news.shop.example.com>");
	ck_assert_str_eq(f.in.domain, "shop.example.com");
	ck_assert(f.in.registered);
	/* nothing registered above it: the organizational domain by the
	 * public suffix list (no org stored to say otherwise) */
	judge("<u@news.other.example.com>");
	ck_assert_str_eq(f.in.domain, "example.com");
	ck_assert(!f.in.registered);
	/* a registered label of its own, and an FQDN */
	fk.reg[0].mail_from = "bounce";
	judge("<u@bounce.shop.example.com>");
	ck_assert_str_eq(f.in.domain, "shop.example.com");
	/* no longer its MAIL FROM name, still below it */
	judge("<u@mail.shop.example.com>");
	ck_assert_str_eq(f.in.domain, "shop.example.com");
	fk.reg[0].mail_from = "em.shop.example.com";
	judge("<u@em.shop.example.com>");
	ck_assert_str_eq(f.in.domain, "shop.example.com");
}
END_TEST

/* The org of the sender domain (the From's alignment reads it): the
 * one the checker stored with the owner's state; the public suffix
 * list's only when none is stored; a stored org that is not the owner
 * or a parent of it is ignored. */
START_TEST(test_stored_org)
{
	struct storecodec_state_summary *sum;

	add_reg("news.example.co.uk", "");
	sum = add_state("news.example.co.uk", READINESS_VERIFIED, 3600);
	snprintf(sum->org, sizeof(sum->org), "example.co.uk");
	judge("<u@mail.news.example.co.uk>");
	ck_assert_str_eq(f.lk.domain, "news.example.co.uk");
	ck_assert_str_eq(f.lk.org, "example.co.uk");
	/* a name deeper down is owned by its nearest registered parent */
	judge("<u@a.b.news.example.co.uk>");
	ck_assert_str_eq(f.lk.domain, "news.example.co.uk");
	ck_assert_str_eq(f.lk.org, "example.co.uk");
	/* the walk found the domain itself to be its org */
	snprintf(sum->org, sizeof(sum->org), "news.example.co.uk");
	judge("<u@a.news.example.co.uk>");
	ck_assert_str_eq(f.lk.org, "news.example.co.uk");
	/* a stored org below the domain is no org of it */
	snprintf(sum->org, sizeof(sum->org), "x.news.example.co.uk");
	judge("<u@a.news.example.co.uk>");
	ck_assert_str_eq(f.lk.org, "news.example.co.uk");
	/* none stored (never checked, an older state): the PSL's */
	sum->org[0] = '\0';
	judge("<u@a.news.example.co.uk>");
	ck_assert_str_eq(f.lk.org, "example.co.uk");
	/* unowned: the PSL's too */
	judge("<u@shop.example.net>");
	ck_assert_str_eq(f.lk.org, "example.net");
	/* a state an unregistered check left at a short name ("net": a
	 * sender u@net) owns nothing below it; one at the organizational
	 * domain (where unregistered checks go) is found as before */
	add_state("net", READINESS_PENDING, 3600);
	judge("<u@shop.example.net>");
	ck_assert_str_eq(f.in.domain, "example.net");
	ck_assert(!f.lk.found);
	add_state("example.net", READINESS_PENDING, 3600);
	judge("<u@shop.example.net>");
	ck_assert_str_eq(f.in.domain, "example.net");
	ck_assert(f.lk.found && !f.in.registered);
}
END_TEST

START_TEST(test_org)
{
	struct storecodec_state_summary *s;

	add_reg("example.com", "");
	s = add_state("example.com", READINESS_PENDING, 3600);
	s->problem = true;
	s->problem_type = CHECK_DKIM;
	s->problem_status = CHECK_MISSING;
	snprintf(s->problem_name, sizeof(s->problem_name),
	         "x._domainkey.example.com");
	judge("<u@a.b.example.com>");
	ck_assert_str_eq(f.in.domain, "example.com");
	ck_assert(f.in.registered);
	ck_assert_int_eq(f.in.state, READINESS_PENDING);
	/* the first problem comes from the state read, once */
	ck_assert_str_eq(f.in.first_problem,
	                 "DKIM x._domainkey.example.com missing");
	ck_assert_int_eq(d.action, POLICY_REJECT);
	ck_assert_str_eq(d.smtp_code, "550");
	ck_assert_str_eq(d.xcode, "5.7.1");
	ck_assert_ptr_nonnull(
	    strstr(d.text, "DKIM x._domainkey.example.com missing"));
	ck_assert_uint_eq(fk.requests, 0);
}
END_TEST

/* The state's record types reach the policy input (OnMailFromNotReady
 * reads them), for the envelope and for a From mailbox; none without a
 * state. */
START_TEST(test_record_types)
{
	struct storecodec_state_summary *s;
	struct sender_rules rules = {pc, "mail", 3000};

	add_reg("example.com", "");
	s = add_state("example.com", READINESS_PENDING, 3600);
	s->pass_types = (1u << CHECK_DKIM) | (1u << CHECK_DMARC);
	s->problem_types = 1u << CHECK_MX;
	judge("<u@mail.example.com>");
	ck_assert_uint_eq(f.in.pass_types,
	                  (1u << CHECK_DKIM) | (1u << CHECK_DMARC));
	ck_assert_uint_eq(f.in.problem_types, 1u << CHECK_MX);
	sender_facts_domain(&env, &rules, "u", false, "example.com", &f);
	ck_assert_uint_eq(f.in.problem_types, 1u << CHECK_MX);
	judge("<u@unknown.example>");
	ck_assert(!f.in.have_state);
	ck_assert_uint_eq(f.in.pass_types, 0);
	ck_assert_uint_eq(f.in.problem_types, 0);
}
END_TEST

START_TEST(test_unregistered)
{
	pc->unregistered = POLICY_UNREG_ACCEPT;
	judge("<u@mail.other.example>");
	ck_assert_str_eq(f.in.domain, "other.example");
	ck_assert(!f.in.registered && !f.in.have_state);
	ck_assert_uint_eq(fk.requests, 0); /* it cannot matter */
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert_str_eq(sender_state_name(&f), "unregistered");
	pc->unregistered = POLICY_UNREG_REJECT;
	judge("<u@mail.other.example>");
	ck_assert_uint_eq(fk.requests, 0);
	ck_assert_int_eq(d.action, POLICY_REJECT);
	/* check: a check of the organizational domain, as unregistered */
	pc->unregistered = POLICY_UNREG_CHECK;
	judge("<u@mail.other.example>");
	ck_assert_uint_eq(fk.requests, 1);
	ck_assert_str_eq(fk.requested, "other.example");
	ck_assert(fk.req_unregistered);
}
END_TEST

START_TEST(test_wait)
{
	add_reg("example.com", "");
	fk.after_check.domain = "example.com";
	fk.after_check.sum.state = READINESS_VERIFIED;
	fk.after_check.sum.next_check = NOW + 3600;
	judge("<u@example.com>");
	ck_assert_uint_eq(fk.requests, 1);
	ck_assert_str_eq(fk.requested, "example.com");
	ck_assert(!fk.req_unregistered);
	ck_assert_uint_eq(fk.req_wait_ms, 3000); /* CheckWait */
	ck_assert(f.waited && !f.timed_out);
	ck_assert(f.in.have_state && !f.in.check_timed_out);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
}
END_TEST

START_TEST(test_wait_dns_trouble)
{
	/* a check that DNS trouble left undecided ends the wait too */
	add_reg("example.com", "");
	fk.after_check.domain = "example.com";
	fk.after_check.sum.state = READINESS_UNKNOWN;
	fk.after_check.sum.dns_errors = 1;
	fk.after_check.sum.next_check = NOW + 60;
	judge("<u@example.com>");
	ck_assert_uint_eq(fk.waits, 1);
	ck_assert(f.waited && !f.timed_out);
	ck_assert(f.in.dns_trouble && !f.in.have_state);
	ck_assert_str_eq(d.xcode, "4.4.3");
}
END_TEST

START_TEST(test_wait_times_out)
{
	add_reg("example.com", "");
	judge("<u@example.com>");
	ck_assert_uint_eq(fk.requests, 1);
	ck_assert(f.timed_out && f.in.check_timed_out);
	ck_assert_str_eq(sender_state_name(&f), "unknown");
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);
	ck_assert_str_eq(d.xcode, "4.7.1");
	/* a check that cannot be queued is a wait that timed out */
	memset(&fk, 0, sizeof(fk));
	add_reg("example.com", "");
	fk.request_fails = true;
	judge("<u@example.com>");
	ck_assert(f.timed_out);
	ck_assert_uint_eq(fk.waits, 0);
}
END_TEST

START_TEST(test_wait_dns_retry_ahead)
{
	struct storecodec_state_summary *s;

	add_reg("example.com", "");
	s = add_state("example.com", READINESS_UNKNOWN, 60);
	s->dns_errors = 2;
	judge("<u@example.com>");
	ck_assert_uint_eq(fk.requests, 0); /* its retry is ahead */
	ck_assert(f.in.dns_trouble);
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);
	ck_assert_str_eq(d.xcode, "4.4.3");
	s->next_check = NOW; /* due: ask again */
	judge("<u@example.com>");
	ck_assert_uint_eq(fk.requests, 1);
}
END_TEST

START_TEST(test_stale_verified)
{
	struct storecodec_state_summary *s;

	s = add_state("example.com", READINESS_VERIFIED, -SENDER_STALE_SLACK);
	judge("<u@example.com>");
	ck_assert(!f.in.stale); /* within the slack */
	s->next_check = NOW - SENDER_STALE_SLACK - 1;
	judge("<u@example.com>");
	ck_assert(f.in.stale);
	/* served (stale-while-revalidate), with a warning */
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert(d.log_warning);
	ck_assert_uint_eq(fk.requests, 0);
}
END_TEST

START_TEST(test_stale_pending)
{
	struct storecodec_state_summary *s;

	add_reg("example.com", "");
	s = add_state("example.com", READINESS_PENDING, 3600);
	judge("<u@example.com>");
	ck_assert_str_eq(d.smtp_code, "550"); /* fresh: the reject */
	s->next_check = NOW - SENDER_STALE_SLACK - 1;
	judge("<u@example.com>");
	ck_assert(f.in.stale);
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);
	ck_assert_str_eq(d.smtp_code, "451");
	/* DNS trouble makes a fresh state stale too: never a 5xx */
	s->next_check = NOW + 3600;
	s->dns_errors = 1;
	judge("<u@example.com>");
	ck_assert(f.in.stale && f.in.dns_trouble);
	ck_assert_str_eq(d.smtp_code, "451");
	ck_assert_str_eq(d.xcode, "4.4.3");
}
END_TEST

START_TEST(test_store_error)
{
	add_reg("example.com", "");
	add_state("example.com", READINESS_FAILED, 3600);
	fk.begin_fails = true;
	judge("<u@example.com>");
	ck_assert(f.lk.store_error && f.in.dns_trouble);
	ck_assert_uint_eq(fk.requests, 0); /* no wait on a broken store */
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);
	ck_assert_str_eq(d.xcode, "4.4.3");
	fk.begin_fails = false;
	fk.state_fails = true;
	judge("<u@example.com>");
	ck_assert(f.in.dns_trouble);
	ck_assert_str_eq(d.smtp_code, "451");
}
END_TEST

START_TEST(test_bad_path)
{
	judge("<u@exa!mple.com>");
	ck_assert_int_eq(f.code, REVPATH_SYNTAX);
	ck_assert_uint_eq(fk.begins, 0); /* nothing to look up */
	ck_assert_int_eq(d.action, POLICY_REJECT);
	ck_assert_str_eq(d.smtp_code, "550");
	ck_assert_str_eq(d.xcode, "5.1.7");
	ck_assert_str_eq(d.text, "Bad sender address syntax");
	ck_assert_ptr_nonnull(strstr(d.reason, "bad reverse-path: "));
	ck_assert(d.log && d.log_warning);
	ck_assert_str_eq(sender_state_name(&f), "-");
	/* refused in monitor mode too, and before any exemption */
	pc->mode = POLICY_MODE_MONITOR;
	ck_assert_int_eq(policy_exempt_domains_parse(&pc->exempt_domains,
	                                             "example.com", 11, NULL,
	                                             NULL, 0),
	                 0);
	judge("<@a.example:u@example.com,>");
	ck_assert_int_eq(d.action, POLICY_REJECT);
	ck_assert_str_eq(d.xcode, "5.1.7");
}
END_TEST

START_TEST(test_long_local)
{
	char path[300];

	add_state("example.com", READINESS_VERIFIED, 3600);
	/* an SRS sender: a local part of 100 octets */
	snprintf(path, sizeof(path), "<SRS0=HHH=TT=%0*d@example.com>", 88, 0);
	judge(path);
	ck_assert_int_eq(f.code, REVPATH_OK);
	ck_assert_str_eq(f.in.domain, "example.com");
	ck_assert_ptr_nonnull(f.oddity);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert_uint_eq(strlen(f.mailbox), 100 + strlen("@example.com"));
	judge("<u@example.com>");
	ck_assert_ptr_null(f.oddity);
}
END_TEST

START_TEST(test_long_path)
{
	char path[2100], *p;
	int n, i;

	/* a VERP sender over 256 octets: judged by its domain */
	add_reg("example.com", "");
	add_state("example.com", READINESS_PENDING, 3600);
	n = snprintf(path, sizeof(path), "<%0*d@example.com>", 300, 0);
	ck_assert_int_eq(n, 314);
	judge(path);
	ck_assert_int_eq(f.code, REVPATH_OK);
	ck_assert_str_eq(f.in.domain, "example.com");
	ck_assert_str_eq(f.oddity, "path-over-256,local-part-over-64");
	ck_assert_int_eq(d.action, POLICY_REJECT);
	ck_assert_str_eq(d.xcode, "5.7.1");
	fk.state[0].sum.state = READINESS_VERIFIED;
	snprintf(path, sizeof(path), "<%0*d@example.com>", 2000, 0);
	judge(path);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert_str_eq(f.oddity, "path-over-256,local-part-over-64");
	/* a local part too long to keep whole is logged cut */
	ck_assert_uint_eq(strlen(f.mailbox),
	                  REVPATH_LOCAL_BUF - 1 + strlen("@example.com"));
	/* a long domain with a short local part */
	snprintf(path, sizeof(path), "<u@%0*d.example.com>", 63, 0);
	judge(path);
	ck_assert_ptr_null(f.oddity);
	/* "<u12@" a 253-octet domain ">": 259 octets */
	p = path + snprintf(path, sizeof(path), "<u12@");
	for (i = 0; i < 3; i++, p += LABEL_MAX + 1) {
		memset(p, 'a' + i, LABEL_MAX);
		p[LABEL_MAX] = '.';
	}
	memset(p, 'd', DOMAIN_MAX - 3 * (LABEL_MAX + 1));
	strcpy(p + DOMAIN_MAX - 3 * (LABEL_MAX + 1), ">");
	ck_assert_uint_eq(strlen(path), REVPATH_PATH_MAX + 3);
	judge(path);
	ck_assert_int_eq(f.code, REVPATH_OK);
	ck_assert_str_eq(f.oddity, "path-over-256");
	/* no domain in a long path: refused */
	snprintf(path, sizeof(path), "<%0*d>", 2000, 0);
	judge(path);
	ck_assert_int_eq(f.code, REVPATH_SYNTAX);
	ck_assert_int_eq(d.action, POLICY_REJECT);
	ck_assert_str_eq(d.xcode, "5.1.7");
}
END_TEST

START_TEST(test_long_path_exempt)
{
	char path[400], exempt[300], local[300];
	size_t n;

	/* the kept start of a cut local part (253 ASCII octets, cut before
	 * a 3-octet character) is never matched as an exempt sender */
	add_reg("x", "");
	n = (size_t)snprintf(exempt, sizeof(exempt), "%0*d@x", 253, 0);
	ck_assert_int_eq(policy_exempt_senders_parse(&pc->exempt_senders,
	                                             exempt, n, NULL, NULL, 0),
	                 0);
	judge("<u@x>");
	ck_assert_str_ne(d.reason, "exempt sender");
	snprintf(path, sizeof(path), "<%0*d@x>", 253, 0);
	judge(path);
	ck_assert_str_eq(d.reason, "exempt sender");
	snprintf(path, sizeof(path), "<%0*d\xe2\x82\xac\xe2\x82\xac@x>", 253,
	         0);
	judge(path);
	ck_assert_int_eq(f.code, REVPATH_OK);
	ck_assert(f.rp.local_cut);
	snprintf(local, sizeof(local), "%0*d", 253, 0);
	ck_assert_str_eq(f.rp.local, local);
	ck_assert_str_ne(d.reason, "exempt sender");
	ck_assert_ptr_null(f.in.sender);
	ck_assert_uint_eq(fk.requests, 2);
}
END_TEST

START_TEST(test_null_sender)
{
	judge("<>");
	ck_assert_int_eq(f.code, REVPATH_NULL);
	ck_assert(f.in.null_sender);
	ck_assert_ptr_null(f.in.sender);
	ck_assert_uint_eq(fk.begins, 0);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert_str_eq(d.reason, "null sender");
	judge("<u@[192.0.2.1]>"); /* a literal: no domain to look up */
	ck_assert_ptr_null(f.in.domain);
	ck_assert_uint_eq(fk.begins, 0);
	ck_assert_str_eq(d.reason, "no sender domain");
}
END_TEST

START_TEST(test_exempt)
{
	add_reg("example.com", "");
	ck_assert_int_eq(policy_exempt_senders_parse(&pc->exempt_senders,
	                                             "u@example.com", 13, NULL,
	                                             NULL, 0),
	                 0);
	judge("<u@EXAMPLE.com>");
	/* its readiness cannot matter: no check, no wait */
	ck_assert_uint_eq(fk.requests, 0);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert_str_eq(d.reason, "exempt sender");
	judge("<v@example.com>");
	ck_assert_uint_eq(fk.requests, 1);
}
END_TEST

/* A mailbox parsed elsewhere (the From header's) goes through the same
 * rules: ownership, exemption by mailbox, a cut local part never
 * exempt. */
START_TEST(test_facts_domain)
{
	struct sender_rules rules = {pc, "mail", 3000};

	add_reg("example.com", "");
	add_state("example.com", READINESS_PENDING, 3600);
	sender_facts_domain(&env, &rules, "jane", false, "mail.example.com",
	                    &f);
	ck_assert_int_eq(f.code, REVPATH_OK);
	ck_assert_str_eq(f.mailbox, "jane@mail.example.com");
	ck_assert_str_eq(f.in.domain, "example.com");
	ck_assert(f.in.registered && f.in.have_state);
	ck_assert_int_eq(f.in.state, READINESS_PENDING);
	policy_decide(pc, &f.in, &d);
	ck_assert_int_eq(d.action, POLICY_REJECT);
	ck_assert_ptr_nonnull(strstr(d.text, "example.com"));
	ck_assert_int_eq(policy_exempt_senders_parse(&pc->exempt_senders,
	                                             "jane@mail.example.com",
	                                             21, NULL, NULL, 0),
	                 0);
	sender_facts_domain(&env, &rules, "jane", false, "mail.example.com",
	                    &f);
	policy_decide(pc, &f.in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert_str_eq(d.reason, "exempt sender");
	sender_facts_domain(&env, &rules, "jane", true, "mail.example.com", &f);
	ck_assert_ptr_null(f.in.sender);
	policy_decide(pc, &f.in, &d);
	ck_assert_int_eq(d.action, POLICY_REJECT);
}
END_TEST

START_TEST(test_note_use)
{
	add_state("other.example", READINESS_PENDING, 3600);
	pc->unregistered = POLICY_UNREG_CHECK;
	judge("<u@mail.other.example>");
	ck_assert_uint_eq(fk.uses, 1);
	ck_assert_str_eq(fk.used, "other.example");
	/* a verified state is read as registered without a registry read:
	 * it may be an unregistered domain's */
	fk.state[0].sum.state = READINESS_VERIFIED;
	judge("<u@other.example>");
	ck_assert_uint_eq(fk.uses, 2);
	/* with accept (or reject) no state is used */
	pc->unregistered = POLICY_UNREG_ACCEPT;
	judge("<u@other.example>");
	ck_assert_uint_eq(fk.uses, 2);
	/* a registered domain's state is not noted */
	pc->unregistered = POLICY_UNREG_CHECK;
	fk.state[0].sum.state = READINESS_PENDING;
	add_reg("other.example", "");
	judge("<u@other.example>");
	ck_assert_uint_eq(fk.uses, 2);
}
END_TEST

static Suite *
sender_suite(void)
{
	Suite *s = suite_create("sender");
	TCase *tc = tcase_create("rules");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_exact);
	tcase_add_test(tc, test_facts_domain);
	tcase_add_test(tc, test_parent_mail_from);
	tcase_add_test(tc, test_registry_stale);
	tcase_add_test(tc, test_org);
	tcase_add_test(tc, test_stored_org);
	tcase_add_test(tc, test_unregistered);
	tcase_add_test(tc, test_wait);
	tcase_add_test(tc, test_wait_dns_trouble);
	tcase_add_test(tc, test_wait_times_out);
	tcase_add_test(tc, test_wait_dns_retry_ahead);
	tcase_add_test(tc, test_stale_verified);
	tcase_add_test(tc, test_stale_pending);
	tcase_add_test(tc, test_store_error);
	tcase_add_test(tc, test_bad_path);
	tcase_add_test(tc, test_long_local);
	tcase_add_test(tc, test_null_sender);
	tcase_add_test(tc, test_exempt);
	tcase_add_test(tc, test_long_path);
	tcase_add_test(tc, test_long_path_exempt);
	tcase_add_test(tc, test_note_use);
	tcase_add_test(tc, test_record_types);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sender_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
