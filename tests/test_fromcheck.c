/*
 * test_fromcheck.c - the header From decision: header problems, the
 * severity rule, the null sender, Mode and FromCheck monitor, the
 * config keys.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_fromcheck
 *
 * DESCRIPTION
 *	The envelope's and the From domain's decisions come from
 *	policy_decide() on inputs built here, as the milter builds them, so
 *	the table checks the decision the milter takes, not a mock of it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "configfile.h"
#include "fromcheck.h"
#include "fromhdr.h"
#include "policy.h"

static struct config *cfg;

static void
setup(void)
{
	cfg = malloc(sizeof(*cfg));
	ck_assert_ptr_nonnull(cfg);
	config_defaults(cfg);
}

static void
teardown(void)
{
	free(cfg);
}

/* input - an outbound, registered, fresh domain in state (NULL sender:
 * the null sender). */
static struct policy_input
input(const char *sender, const char *domain, enum domain_readiness state)
{
	struct policy_input in;

	memset(&in, 0, sizeof(in));
	in.outbound = true;
	in.null_sender = sender == NULL;
	in.sender = sender;
	in.domain = sender != NULL ? domain : NULL;
	in.registered = true;
	in.have_state = true;
	in.state = state;
	return in;
}

/* decide - policy_decide on one identity. */
static void
decide(const char *sender, const char *domain, enum domain_readiness state,
       struct policy_decision *d)
{
	struct policy_input in = input(sender, domain, state);

	policy_decide(&cfg->policy, &in, d);
}

/* parsed - the facts of one From field with value v. */
static struct fromcheck_facts
parsed(const char *v, struct fromhdr *fh)
{
	struct fromcheck_facts hf;
	char err[FROMHDR_ERR_MAX];

	hf.fields = 1;
	hf.code = fromhdr_parse(v, strlen(v), fh, err, sizeof(err));
	hf.fh = fh;
	return hf;
}

/* run - envelope in env_state, From v in from_state: the decision. */
static struct fromcheck_decision
run(const char *sender, enum domain_readiness env_state, const char *v,
    enum domain_readiness from_state)
{
	struct policy_decision e, f;
	struct fromcheck_decision out;
	struct fromcheck_facts hf;
	struct fromhdr fh;

	decide(sender, "env.example", env_state, &e);
	hf = parsed(v, &fh);
	if (fromcheck_problem(&hf) == FROMCHECK_NONE)
		decide("x@from.example", fh.box[0].domain, from_state, &f);
	fromcheck_decide(&cfg->from, &cfg->policy, &e, &hf,
	                 fromcheck_problem(&hf) == FROMCHECK_NONE ? &f : NULL,
	                 &out);
	return out;
}

START_TEST(test_defaults)
{
	ck_assert_int_eq(cfg->from.mode, FROMCHECK_ENFORCE);
	for (unsigned i = 0; i < FROMCHECK_PROBLEMS; i++)
		ck_assert_int_eq(cfg->from.on[i], POLICY_REJECT);
}
END_TEST

START_TEST(test_problems)
{
	struct fromcheck_facts hf = {0, FROMHDR_OK, NULL};
	struct fromhdr fh;

	ck_assert_int_eq(fromcheck_problem(&hf), FROMCHECK_MISSING);
	hf = parsed("a@b.example", &fh);
	ck_assert_int_eq(fromcheck_problem(&hf), FROMCHECK_NONE);
	hf.fields = 2;
	ck_assert_int_eq(fromcheck_problem(&hf), FROMCHECK_MULTIPLE);
	hf = parsed("a@b.example, c@d.example", &fh);
	ck_assert_int_eq(fromcheck_problem(&hf), FROMCHECK_MAILBOXES);
	hf = parsed("G: a@b.example, c@b.example;", &fh);
	ck_assert_int_eq(fromcheck_problem(&hf), FROMCHECK_MAILBOXES);
	hf = parsed("undisclosed:;", &fh);
	ck_assert_int_eq(fromcheck_problem(&hf), FROMCHECK_MISSING);
	hf = parsed("a@good.example@evil.example", &fh);
	ck_assert_int_eq(fromcheck_problem(&hf), FROMCHECK_INVALID);
	hf = parsed("a@[192.0.2.1]", &fh);
	ck_assert_int_eq(fromcheck_problem(&hf), FROMCHECK_INVALID);
	ck_assert_str_eq(fromcheck_problem_name(FROMCHECK_MAILBOXES),
	                 "from-mailboxes");
	ck_assert_str_eq(fromcheck_problem_name(FROMCHECK_NONE), "-");
}
END_TEST

/* The decision table: envelope state x From state, enforce. */
START_TEST(test_table)
{
	static const struct {
		enum domain_readiness env, from;
		enum policy_action action;
		enum fromcheck_by by;
	} rows[] = {
	    {READINESS_VERIFIED, READINESS_VERIFIED, POLICY_ACCEPT,
	     FROMCHECK_BY_ENVELOPE},
	    {READINESS_VERIFIED, READINESS_PENDING, POLICY_REJECT,
	     FROMCHECK_BY_FROM},
	    {READINESS_VERIFIED, READINESS_FAILED, POLICY_REJECT,
	     FROMCHECK_BY_FROM},
	    {READINESS_VERIFIED, READINESS_DEGRADED, POLICY_ACCEPT,
	     FROMCHECK_BY_ENVELOPE},
	    {READINESS_DEGRADED, READINESS_VERIFIED, POLICY_ACCEPT,
	     FROMCHECK_BY_ENVELOPE},
	};
	struct fromcheck_decision d;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		d = run("a@env.example", rows[i].env, "Jane <j@from.example>",
		        rows[i].from);
		ck_assert_msg(
		    d.d.action == rows[i].action && d.by == rows[i].by,
		    "row %zu: %s by %s", i, policy_action_name(d.d.action),
		    fromcheck_by_name(d.by));
		ck_assert_int_eq(d.problem, FROMCHECK_NONE);
	}
	/* the From's reject names the From domain */
	d = run("a@env.example", READINESS_VERIFIED, "j@from.example",
	        READINESS_PENDING);
	ck_assert_str_eq(d.d.smtp_code, "550");
	ck_assert_ptr_nonnull(strstr(d.d.text, "from.example"));
	/* a From tempfail (OnFailed tempfail) beats an envelope tag */
	cfg->policy.on[POLICY_ON_FAILED] = POLICY_TEMPFAIL;
	cfg->policy.on[POLICY_ON_PENDING] = POLICY_TAG;
	d = run("a@env.example", READINESS_PENDING, "j@from.example",
	        READINESS_FAILED);
	ck_assert_int_eq(d.d.action, POLICY_TEMPFAIL);
	ck_assert_int_eq(d.by, FROMCHECK_BY_FROM);
	/* and an envelope tag beats a From accept: the tag is kept */
	d = run("a@env.example", READINESS_PENDING, "j@from.example",
	        READINESS_VERIFIED);
	ck_assert_int_eq(d.d.action, POLICY_TAG);
	ck_assert_int_eq(d.by, FROMCHECK_BY_ENVELOPE);
}
END_TEST

START_TEST(test_tricks)
{
	struct fromcheck_decision d;

	/* the domain judged is the addr-spec's, whatever the name says */
	d = run("a@env.example", READINESS_VERIFIED,
	        "\"ok@env.example\" <x@from.example>", READINESS_PENDING);
	ck_assert_int_eq(d.d.action, POLICY_REJECT);
	ck_assert_int_eq(d.by, FROMCHECK_BY_FROM);
	d = run("a@env.example", READINESS_VERIFIED,
	        "<x@from.example>, ok@env.example", READINESS_VERIFIED);
	ck_assert_int_eq(d.d.action, POLICY_REJECT);
	ck_assert_int_eq(d.by, FROMCHECK_BY_HEADER);
	ck_assert_int_eq(d.problem, FROMCHECK_MAILBOXES);
	ck_assert_str_eq(d.d.smtp_code, "550");
	ck_assert_str_eq(d.d.xcode, "5.7.1");
	ck_assert_ptr_nonnull(strstr(d.d.text, "more than one mailbox"));
}
END_TEST

START_TEST(test_null_sender)
{
	struct fromcheck_decision d;

	/* judged on its From alone */
	d = run(NULL, READINESS_VERIFIED, "j@from.example", READINESS_PENDING);
	ck_assert_int_eq(d.d.action, POLICY_REJECT);
	ck_assert_int_eq(d.by, FROMCHECK_BY_FROM);
	d = run(NULL, READINESS_VERIFIED, "j@from.example", READINESS_VERIFIED);
	ck_assert_int_eq(d.d.action, POLICY_ACCEPT);
}
END_TEST

START_TEST(test_problem_actions)
{
	struct fromcheck_decision d;
	struct policy_decision e;
	struct fromcheck_facts none = {0, FROMHDR_OK, NULL};

	decide("a@env.example", "env.example", READINESS_VERIFIED, &e);
	fromcheck_decide(&cfg->from, &cfg->policy, &e, &none, NULL, &d);
	ck_assert_int_eq(d.d.action, POLICY_REJECT);
	ck_assert_int_eq(d.problem, FROMCHECK_MISSING);
	ck_assert_ptr_nonnull(strstr(d.d.text, "no From header field"));
	cfg->from.on[FROMCHECK_MISSING] = POLICY_TEMPFAIL;
	fromcheck_decide(&cfg->from, &cfg->policy, &e, &none, NULL, &d);
	ck_assert_int_eq(d.d.action, POLICY_TEMPFAIL);
	ck_assert_str_eq(d.d.smtp_code, "451");
	ck_assert_str_eq(d.d.xcode, "4.7.1");
	/* accept: the envelope decides alone */
	cfg->from.on[FROMCHECK_MISSING] = POLICY_ACCEPT;
	fromcheck_decide(&cfg->from, &cfg->policy, &e, &none, NULL, &d);
	ck_assert_int_eq(d.d.action, POLICY_ACCEPT);
	ck_assert_int_eq(d.by, FROMCHECK_BY_ENVELOPE);
	ck_assert_int_eq(d.problem, FROMCHECK_MISSING);
	/* two fields, each fine on its own */
	{
		struct fromhdr fh;
		struct fromcheck_facts two = parsed("j@env.example", &fh);

		two.fields = 2;
		fromcheck_decide(&cfg->from, &cfg->policy, &e, &two, NULL, &d);
		ck_assert_int_eq(d.d.action, POLICY_REJECT);
		ck_assert_int_eq(d.problem, FROMCHECK_MULTIPLE);
	}
	cfg->from.on[FROMCHECK_INVALID] = POLICY_ACCEPT;
	d = run("a@env.example", READINESS_VERIFIED, "j@@from.example",
	        READINESS_VERIFIED);
	ck_assert_int_eq(d.d.action, POLICY_ACCEPT);
	ck_assert_int_eq(d.problem, FROMCHECK_INVALID);
}
END_TEST

START_TEST(test_monitors)
{
	struct fromcheck_decision d;

	/* FromCheck monitor: the envelope acts, the log learns the rest */
	cfg->from.mode = FROMCHECK_MONITOR;
	d = run("a@env.example", READINESS_VERIFIED, "j@from.example",
	        READINESS_PENDING);
	ck_assert_int_eq(d.d.action, POLICY_ACCEPT);
	ck_assert_int_eq(d.by, FROMCHECK_BY_ENVELOPE);
	ck_assert_int_eq(d.from_would, POLICY_REJECT);
	d = run("a@env.example", READINESS_VERIFIED, "a@x.example, b@y.example",
	        READINESS_VERIFIED);
	ck_assert_int_eq(d.d.action, POLICY_ACCEPT);
	ck_assert_int_eq(d.from_would, POLICY_REJECT);
	ck_assert_int_eq(d.problem, FROMCHECK_MAILBOXES);
	/* Mode monitor: a header problem is monitored, not refused */
	cfg->from.mode = FROMCHECK_ENFORCE;
	cfg->policy.mode = POLICY_MODE_MONITOR;
	d = run("a@env.example", READINESS_VERIFIED, "a@x.example, b@y.example",
	        READINESS_VERIFIED);
	ck_assert_int_eq(d.d.action, POLICY_MONITOR);
	ck_assert_int_eq(d.d.would_be, POLICY_REJECT);
	ck_assert_int_eq(d.by, FROMCHECK_BY_HEADER);
	d = run("a@env.example", READINESS_VERIFIED, "j@from.example",
	        READINESS_FAILED);
	ck_assert_int_eq(d.d.action, POLICY_MONITOR);
	ck_assert_int_eq(d.d.would_be, POLICY_REJECT);
	ck_assert_int_eq(d.by, FROMCHECK_BY_FROM);
}
END_TEST

START_TEST(test_config)
{
	char err[256];

	ck_assert_int_eq(
	    config_set(cfg, "FromCheck", "monitor", err, sizeof(err)), 0);
	ck_assert_int_eq(cfg->from.mode, FROMCHECK_MONITOR);
	ck_assert_int_eq(config_set(cfg, "fromcheck", "OFF", err, sizeof(err)),
	                 0);
	ck_assert_int_eq(cfg->from.mode, FROMCHECK_OFF);
	ck_assert_int_eq(config_set(cfg, "FromCheck", "yes", err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "FromCheck: 'yes' is not off"));
	ck_assert_int_eq(
	    config_set(cfg, "OnFromMultiple", "tempfail", err, sizeof(err)), 0);
	ck_assert_int_eq(cfg->from.on[FROMCHECK_MULTIPLE], POLICY_TEMPFAIL);
	ck_assert_int_eq(cfg->from.on[FROMCHECK_MISSING], POLICY_REJECT);
	ck_assert_int_eq(
	    config_set(cfg, "OnFromMailboxes", "accept", err, sizeof(err)), 0);
	ck_assert_int_eq(cfg->from.on[FROMCHECK_MAILBOXES], POLICY_ACCEPT);
	ck_assert_int_eq(
	    config_set(cfg, "OnFromInvalid", "quarantine", err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "not accept, tempfail or reject"));
	ck_assert_int_eq(cfg->from.on[FROMCHECK_INVALID], POLICY_REJECT);
	ck_assert_int_eq(
	    config_set(cfg, "OnFromMissing", "accept", err, sizeof(err)), 0);
	ck_assert_int_eq(cfg->from.on[FROMCHECK_MISSING], POLICY_ACCEPT);
}
END_TEST

/* facts - From from (org from_org), MAIL FROM env (NULL: the null
 * sender) with org env_org, and one signer (NULL: none). */
static struct fromcheck_align_facts
facts(const char *from, const char *from_org, const char *env,
      const char *env_org, const char *signer, const char *signer_org)
{
	struct fromcheck_align_facts af;

	memset(&af, 0, sizeof(af));
	af.from_domain = from;
	af.from_org = from_org;
	af.env_domain = env;
	af.env_org = env_org;
	if (signer != NULL) {
		af.signer[0].domain = signer;
		af.signer[0].org = signer_org;
		af.nsigners = 1;
	}
	return af;
}

/* What aligns, relaxed and strict, and what each AlignmentRequired
 * needs of it. */
START_TEST(test_align)
{
	struct fromcheck_align_facts af;

	/* the seed's layout: MAIL FROM mail.example.com, key of example.com */
	af = facts("example.com", "example.com", "mail.example.com",
	           "example.com", "example.com", "example.com");
	ck_assert_uint_eq(fromcheck_align(&af),
	                  FROMCHECK_ALIGNED_DKIM | FROMCHECK_ALIGNED_SPF);
	ck_assert_str_eq(fromcheck_aligned_name(fromcheck_align(&af)),
	                 "dkim+spf");
	/* aspf=s: the MAIL FROM subdomain no longer aligns */
	af.aspf = 's';
	ck_assert_uint_eq(fromcheck_align(&af), FROMCHECK_ALIGNED_DKIM);
	af.env_domain = "example.com";
	ck_assert_uint_eq(fromcheck_align(&af),
	                  FROMCHECK_ALIGNED_DKIM | FROMCHECK_ALIGNED_SPF);
	/* adkim=s: a From subdomain does not align with d=example.com */
	af = facts("news.example.com", "example.com", "bounce.other.example",
	           "other.example", "example.com", "example.com");
	ck_assert_uint_eq(fromcheck_align(&af), FROMCHECK_ALIGNED_DKIM);
	af.adkim = 's';
	ck_assert_uint_eq(fromcheck_align(&af), 0);
	ck_assert_str_eq(fromcheck_aligned_name(0), "none");
	/* a signer of the same organization aligns relaxed */
	af = facts("example.co.uk", "example.co.uk", "mail.other.example",
	           "other.example", "news.example.co.uk", "example.co.uk");
	ck_assert_uint_eq(fromcheck_align(&af), FROMCHECK_ALIGNED_DKIM);
	/* an unknown org never aligns relaxed */
	af = facts("example.com", "", "mail.example.com", "", NULL, NULL);
	ck_assert_uint_eq(fromcheck_align(&af), 0);

	/* AlignmentRequired */
	ck_assert(fromcheck_align_ok(FROMCHECK_ALIGN_EITHER,
	                             FROMCHECK_ALIGNED_SPF, false));
	ck_assert(fromcheck_align_ok(FROMCHECK_ALIGN_EITHER,
	                             FROMCHECK_ALIGNED_DKIM, false));
	ck_assert(!fromcheck_align_ok(FROMCHECK_ALIGN_EITHER, 0, false));
	ck_assert(!fromcheck_align_ok(FROMCHECK_ALIGN_DKIM,
	                              FROMCHECK_ALIGNED_SPF, false));
	ck_assert(fromcheck_align_ok(FROMCHECK_ALIGN_SPF, FROMCHECK_ALIGNED_SPF,
	                             false));
	ck_assert(!fromcheck_align_ok(FROMCHECK_ALIGN_SPF,
	                              FROMCHECK_ALIGNED_DKIM, false));
	ck_assert(!fromcheck_align_ok(FROMCHECK_ALIGN_BOTH,
	                              FROMCHECK_ALIGNED_DKIM, false));
	ck_assert(fromcheck_align_ok(
	    FROMCHECK_ALIGN_BOTH,
	    FROMCHECK_ALIGNED_DKIM | FROMCHECK_ALIGNED_SPF, false));
	/* the null sender: its From alone, through DKIM */
	ck_assert(fromcheck_align_ok(FROMCHECK_ALIGN_BOTH,
	                             FROMCHECK_ALIGNED_DKIM, true));
	ck_assert(!fromcheck_align_ok(FROMCHECK_ALIGN_SPF, 0, true));
}
END_TEST

/* aligned_run - a verified envelope and From with the facts af. */
static struct fromcheck_decision
aligned_run(const char *sender, const struct fromcheck_align_facts *af)
{
	struct policy_decision e, f;
	struct fromcheck_decision out;
	struct fromcheck_facts hf;
	static struct fromhdr fh;

	decide(sender, "env.example", READINESS_VERIFIED, &e);
	hf = parsed("a@example.com", &fh);
	decide("a@example.com", "example.com", READINESS_VERIFIED, &f);
	fromcheck_decide_aligned(&cfg->from, &cfg->policy, &e, &hf, &f, af,
	                         &out);
	return out;
}

/* OnMisaligned: the reply, every action, Mode and FromCheck monitor,
 * and how it weighs against the other decisions. */
START_TEST(test_misaligned)
{
	struct fromcheck_align_facts af =
	    facts("example.com", "example.com", "bounce.other.example",
	          "other.example", NULL, NULL);
	struct fromcheck_decision out;
	struct policy_decision e, f;
	struct fromcheck_facts hf;
	struct fromhdr fh;

	ck_assert_int_eq(cfg->from.align, FROMCHECK_ALIGN_EITHER);
	ck_assert_int_eq(cfg->from.on_misaligned, POLICY_REJECT);
	out = aligned_run("u@bounce.other.example", &af);
	ck_assert(out.align_judged && out.misaligned);
	ck_assert_int_eq(out.by, FROMCHECK_BY_ALIGNMENT);
	ck_assert_str_eq(fromcheck_by_name(out.by), "alignment");
	ck_assert_int_eq(out.d.action, POLICY_REJECT);
	ck_assert_str_eq(out.d.smtp_code, "550");
	ck_assert_str_eq(out.d.xcode, "5.7.1");
	ck_assert_ptr_nonnull(strstr(out.d.text, "From domain example.com"));
	ck_assert_ptr_nonnull(
	    strstr(out.d.text, "MAIL FROM domain bounce.other.example"));
	ck_assert_ptr_nonnull(strstr(
	    out.d.text, "sign with a verified DKIM key of example.com or "
	                "send with a MAIL FROM under example.com"));
	ck_assert_ptr_nonnull(strstr(out.d.reason, "misaligned"));
	ck_assert_ptr_null(strchr(out.d.text, '%'));
	/* what aligns is enough */
	af.signer[0].domain = "example.com";
	af.signer[0].org = "example.com";
	af.nsigners = 1;
	out = aligned_run("u@bounce.other.example", &af);
	ck_assert(out.align_judged && !out.misaligned);
	ck_assert_int_eq(out.by, FROMCHECK_BY_ENVELOPE);
	ck_assert_int_eq(out.d.action, POLICY_ACCEPT);
	/* ... unless SPF is: the reply says so */
	cfg->from.align = FROMCHECK_ALIGN_SPF;
	out = aligned_run("u@bounce.other.example", &af);
	ck_assert(out.misaligned);
	ck_assert_uint_eq(out.aligned, FROMCHECK_ALIGNED_DKIM);
	ck_assert_ptr_nonnull(strstr(out.d.text,
	                             "does not align with MAIL FROM domain "
	                             "bounce.other.example (SPF alignment is "
	                             "required)"));
	/* ... or both: the fix names the missing one */
	cfg->from.align = FROMCHECK_ALIGN_BOTH;
	out = aligned_run("u@bounce.other.example", &af);
	ck_assert(out.misaligned);
	ck_assert_ptr_nonnull(
	    strstr(out.d.text, ": send with a MAIL FROM under example.com"));
	ck_assert_ptr_nonnull(
	    strstr(out.d.text, "does not align with both MAIL FROM domain "
	                       "bounce.other.example and a verified DKIM key "
	                       "(both are required)"));
	ck_assert_ptr_null(strstr(out.d.text, "sign with"));
	af.aspf = 's';
	af.env_domain = "mail.example.com";
	af.env_org = "example.com";
	out = aligned_run("u@mail.example.com", &af);
	ck_assert_ptr_nonnull(
	    strstr(out.d.text, "send with a MAIL FROM of exactly example.com "
	                       "(aspf=s)"));
	/* the null sender: its From alone, through DKIM */
	af.env_domain = NULL;
	out = aligned_run(NULL, &af);
	ck_assert(!out.misaligned);
	af.nsigners = 0;
	out = aligned_run(NULL, &af);
	ck_assert(out.misaligned);
	ck_assert_int_eq(out.d.action, POLICY_REJECT);
	ck_assert_ptr_nonnull(strstr(
	    out.d.text, "does not align with a verified DKIM key (MAIL FROM "
	                "<>: the null sender aligns through DKIM alone)"));
	cfg->from.align = FROMCHECK_ALIGN_EITHER;
	af.env_domain = "bounce.other.example";
	af.env_org = "other.example";
	af.aspf = 0;

	/* every action */
	cfg->from.on_misaligned = POLICY_TEMPFAIL;
	out = aligned_run("u@bounce.other.example", &af);
	ck_assert_int_eq(out.d.action, POLICY_TEMPFAIL);
	ck_assert_str_eq(out.d.smtp_code, "451");
	ck_assert_str_eq(out.d.xcode, "4.7.1");
	cfg->from.on_misaligned = POLICY_QUARANTINE;
	out = aligned_run("u@bounce.other.example", &af);
	ck_assert_int_eq(out.d.action, POLICY_QUARANTINE);
	ck_assert_int_eq(out.by, FROMCHECK_BY_ALIGNMENT);
	cfg->from.on_misaligned = POLICY_TAG;
	out = aligned_run("u@bounce.other.example", &af);
	ck_assert_int_eq(out.d.action, POLICY_TAG);
	ck_assert_str_eq(out.d.tag_value, "misaligned; from=example.com; "
	                                  "mail_from=bounce.other.example");
	cfg->from.on_misaligned = POLICY_ACCEPT;
	out = aligned_run("u@bounce.other.example", &af);
	ck_assert(out.misaligned);
	ck_assert_int_eq(out.by, FROMCHECK_BY_ENVELOPE);
	ck_assert_int_eq(out.d.action, POLICY_ACCEPT);
	cfg->from.on_misaligned = POLICY_MONITOR;
	out = aligned_run("u@bounce.other.example", &af);
	ck_assert_int_eq(out.d.action, POLICY_MONITOR);
	ck_assert_int_eq(out.d.would_be, POLICY_REJECT);
	ck_assert_str_eq(out.d.smtp_code, "550");
	cfg->from.on_misaligned = POLICY_REJECT;
	/* Mode monitor: logged, not sent */
	cfg->policy.mode = POLICY_MODE_MONITOR;
	out = aligned_run("u@bounce.other.example", &af);
	ck_assert_int_eq(out.d.action, POLICY_MONITOR);
	ck_assert_int_eq(out.d.would_be, POLICY_REJECT);
	cfg->policy.mode = POLICY_MODE_ENFORCE;
	/* FromCheck monitor: the envelope's decision, from_would reject */
	cfg->from.mode = FROMCHECK_MONITOR;
	out = aligned_run("u@bounce.other.example", &af);
	ck_assert_int_eq(out.d.action, POLICY_ACCEPT);
	ck_assert_int_eq(out.from_would, POLICY_REJECT);
	cfg->from.mode = FROMCHECK_ENFORCE;

	/* a pending From rejects by its readiness first (a tie) */
	decide("u@bounce.other.example", "env.example", READINESS_VERIFIED, &e);
	hf = parsed("a@example.com", &fh);
	decide("a@example.com", "example.com", READINESS_PENDING, &f);
	fromcheck_decide_aligned(&cfg->from, &cfg->policy, &e, &hf, &f, &af,
	                         &out);
	ck_assert(out.misaligned);
	ck_assert_int_eq(out.by, FROMCHECK_BY_FROM);
	/* a header problem: alignment is not judged */
	hf.fields = 2;
	fromcheck_decide_aligned(&cfg->from, &cfg->policy, &e, &hf, &f, &af,
	                         &out);
	ck_assert(!out.align_judged && !out.misaligned);
	ck_assert_int_eq(out.by, FROMCHECK_BY_HEADER);
	/* no facts: not judged (fromcheck_decide) */
	out = aligned_run("u@bounce.other.example", NULL);
	ck_assert(!out.align_judged);
	ck_assert_int_eq(out.d.action, POLICY_ACCEPT);
}
END_TEST

START_TEST(test_align_config)
{
	char err[256];

	ck_assert_int_eq(
	    config_set(cfg, "AlignmentRequired", "both", err, sizeof(err)), 0);
	ck_assert_int_eq(cfg->from.align, FROMCHECK_ALIGN_BOTH);
	ck_assert_int_eq(
	    config_set(cfg, "alignmentrequired", "SPF", err, sizeof(err)), 0);
	ck_assert_int_eq(cfg->from.align, FROMCHECK_ALIGN_SPF);
	ck_assert_int_eq(
	    config_set(cfg, "AlignmentRequired", "any", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not either, dkim, spf or both"));
	ck_assert_int_eq(cfg->from.align, FROMCHECK_ALIGN_SPF);
	ck_assert_int_eq(
	    config_set(cfg, "OnMisaligned", "quarantine", err, sizeof(err)), 0);
	ck_assert_int_eq(cfg->from.on_misaligned, POLICY_QUARANTINE);
	ck_assert_int_eq(
	    config_set(cfg, "OnMisaligned", "bounce", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "OnMisaligned: 'bounce' is not an"));
	ck_assert_int_eq(cfg->from.on_misaligned, POLICY_QUARANTINE);
	ck_assert_str_eq(fromcheck_align_req_name(FROMCHECK_ALIGN_EITHER),
	                 "either");
}
END_TEST

/* fromcheck_suite - every test above. */
static Suite *
fromcheck_suite(void)
{
	Suite *s = suite_create("fromcheck");
	TCase *tc = tcase_create("decide");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_problems);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_tricks);
	tcase_add_test(tc, test_null_sender);
	tcase_add_test(tc, test_problem_actions);
	tcase_add_test(tc, test_monitors);
	tcase_add_test(tc, test_config);
	tcase_add_test(tc, test_align);
	tcase_add_test(tc, test_misaligned);
	tcase_add_test(tc, test_align_config);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fromcheck_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
