/*
 * test_policy.c - the MAIL FROM decision: invariants over every
 * combination of inputs, reply codes and texts, precedence, exemptions,
 * monitor semantics and the config value parsers.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_policy
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "configfile.h"
#include "policy.h"

/* EXPECT - ck_assert without Check's per-call bookkeeping, for the hot
 * loops (ck_assert reports every passing call through a pipe). */
#define EXPECT(c)                                                              \
	do {                                                                   \
		if (!(c))                                                      \
			ck_abort_msg("line %d: %s", __LINE__, #c);             \
	} while (0)

/* The policy keys are rows of the one config table: a whole config
 * holds the policy under test. */
static struct config *cfg;
static struct policy_config *pc;

static void
setup(void)
{
	cfg = malloc(sizeof(*cfg));
	ck_assert_ptr_nonnull(cfg);
	config_defaults(cfg);
	pc = &cfg->policy;
}

static void
teardown(void)
{
	free(cfg);
}

/* input - an outbound, registered sender in the given state. */
static struct policy_input
input(enum domain_readiness state)
{
	struct policy_input in;

	memset(&in, 0, sizeof(in));
	in.outbound = true;
	in.sender = "bounce@mail.example.com";
	in.domain = "mail.example.com";
	in.registered = true;
	in.have_state = true;
	in.state = state;
	in.first_problem = "DKIM 1234rpr._domainkey.example.com missing";
	return in;
}

/* key - set a policy key; asserts it is accepted. */
static void
key(const char *name, const char *value)
{
	char err[512] = "";

	ck_assert_msg(config_set(cfg, name, value, err, sizeof(err)) == 0,
	              "%s %s: %s", name, value, err);
}

/* key_bad - the key refuses value with a message containing want. */
static void
key_bad(const char *name, const char *value, const char *want)
{
	char err[512] = "";

	ck_assert_int_eq(config_set(cfg, name, value, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, want) != NULL, "%s %s: '%s' lacks '%s'", name,
	              value, err, want);
}

/* text_ok - printable, no CR/LF, every '%' doubled. */
static void
text_ok(const char *t, size_t max)
{
	size_t i, n = strlen(t);

	EXPECT(n <= max);
	for (i = 0; i < n; i++) {
		EXPECT(t[i] >= 0x20 && t[i] <= 0x7e);
		if (t[i] == '%') {
			EXPECT(t[i + 1] == '%');
			i++;
		}
	}
}

/* printable_ok - printable ASCII only, at most max octets. */
static void
printable_ok(const char *t, size_t max)
{
	size_t i, n = strlen(t);

	EXPECT(n <= max);
	for (i = 0; i < n; i++)
		EXPECT(t[i] >= 0x20 && t[i] <= 0x7e);
}

/* decide - policy_decide with the checks every decision must pass. */
static void
decide(const struct policy_input *in, struct policy_decision *d)
{
	bool known = in->have_state && in->state >= READINESS_PENDING &&
	             in->state <= READINESS_FAILED;
	bool refusal;

	policy_decide(pc, in, d);
	refusal =
	    d->would_be == POLICY_TEMPFAIL || d->would_be == POLICY_REJECT;
	EXPECT((refusal) == (d->smtp_code[0] != '\0'));
	if (d->action != POLICY_MONITOR)
		EXPECT((d->action) == (d->would_be));
	if (pc->mode == POLICY_MODE_MONITOR)
		EXPECT(d->action == POLICY_ACCEPT ||
		       d->action == POLICY_MONITOR);
	if (strcmp(d->smtp_code, "550") == 0) {
		EXPECT(strcmp(d->xcode, "5.7.1") == 0);
		/* a 5xx only on a fresh known state, or a registry choice */
		EXPECT(!d->judged || (known && !in->stale && !in->dns_trouble));
		EXPECT(d->judged || !in->registered);
		/* never for an unregistered domain while the registry may
		 * be behind */
		EXPECT(in->registered || !in->registry_stale);
	} else if (strcmp(d->smtp_code, "451") == 0) {
		bool dns =
		    in->dns_trouble ||
		    (d->judged && !known && d->situation == POLICY_ON_DNSERROR);
		EXPECT(strcmp(d->xcode, dns ? "4.4.3" : "4.7.1") == 0);
	} else {
		EXPECT(strcmp(d->smtp_code, "") == 0);
		EXPECT(strcmp(d->text, "") == 0);
	}
	if (in->dns_trouble && d->smtp_code[0] == '4')
		EXPECT(strcmp(d->xcode, "4.4.3") == 0);
	EXPECT(policy_sends_reply(d) ==
	       (d->action == POLICY_TEMPFAIL || d->action == POLICY_REJECT));
	text_ok(d->text, 2 * POLICY_TEXT_MAX);
	printable_ok(d->reason, POLICY_REASON_MAX);
	printable_ok(d->tag_value, POLICY_TAG_MAX);
	EXPECT(d->source != NULL);
	EXPECT(d->log || !in->outbound);
}

START_TEST(test_defaults)
{
	struct policy_input in = input(READINESS_VERIFIED);
	struct policy_decision d;

	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert(!d.log_warning);
	ck_assert(d.log);

	in.state = READINESS_DEGRADED;
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert(d.log_warning);

	in.state = READINESS_PENDING;
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_REJECT);
	ck_assert_str_eq(d.smtp_code, "550");
	ck_assert_str_eq(d.xcode, "5.7.1");
	ck_assert_str_eq(d.text, "sender domain mail.example.com is not ready "
	                         "to send mail: fix DKIM "
	                         "1234rpr._domainkey.example.com missing");
	ck_assert_str_eq(d.source, "OnPending");
	ck_assert(strstr(d.reason, "pending") != NULL);
	ck_assert(strstr(d.reason, "1234rpr") != NULL);

	in.state = READINESS_FAILED;
	in.first_problem = NULL;
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_REJECT);
	ck_assert(strstr(d.text, "fix the required DNS records") != NULL);

	in.state = READINESS_UNKNOWN;
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);
	ck_assert_str_eq(d.smtp_code, "451");
	ck_assert_str_eq(d.xcode, "4.7.1");
	ck_assert(strstr(d.text, "readiness check in progress") != NULL);

	in.have_state = false;
	in.check_timed_out = true;
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);
	ck_assert_str_eq(d.xcode, "4.7.1");
	ck_assert(d.log_warning);

	in.dns_trouble = true;
	decide(&in, &d);
	ck_assert_int_eq(d.situation, POLICY_ON_DNSERROR);
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);
	ck_assert_str_eq(d.smtp_code, "451");
	ck_assert_str_eq(d.xcode, "4.4.3");
	ck_assert(strstr(d.text, "DNS trouble") != NULL);
}
END_TEST

START_TEST(test_stale_and_dns)
{
	struct policy_input in = input(READINESS_VERIFIED);
	struct policy_decision d;

	/* stale-while-revalidate: the last good state serves */
	in.stale = in.dns_trouble = true;
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert(d.log_warning);
	in.state = READINESS_DEGRADED;
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);

	/* stale pending or failed: 451, never 550 */
	in.state = READINESS_PENDING;
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);
	ck_assert_str_eq(d.xcode, "4.4.3");
	ck_assert(d.softened);
	ck_assert(strstr(d.reason, "softened") != NULL);
	in.dns_trouble = false;
	in.state = READINESS_FAILED;
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);
	ck_assert_str_eq(d.xcode, "4.7.1");
	ck_assert(d.softened);
	/* DNS trouble on a state not (yet) marked stale */
	in.stale = false;
	in.dns_trouble = true;
	decide(&in, &d);
	ck_assert_str_eq(d.smtp_code, "451");
	ck_assert_str_eq(d.xcode, "4.4.3");
	/* fresh: the 550 comes back */
	in.dns_trouble = false;
	decide(&in, &d);
	ck_assert_str_eq(d.smtp_code, "550");
	ck_assert(!d.softened);
}
END_TEST

/* set_all - every On<Situation> to a, bypassing the parser's refusals. */
static void
set_all(enum policy_action a)
{
	size_t i;

	for (i = 0; i < POLICY_SITUATIONS; i++)
		pc->on[i] = a;
}

/* exhaust_inputs - every input shape against the current config; the
 * config has all On<Situation> at a, a DomainActions entry ov (none when
 * ov == POLICY_ACTIONS) and mode m.  Returns the number of decisions. */
static long
exhaust_inputs(unsigned a, unsigned ov, unsigned m)
{
	static const enum domain_readiness states[] = {
	    READINESS_UNKNOWN,  READINESS_PENDING, READINESS_VERIFIED,
	    READINESS_DEGRADED, READINESS_FAILED,  (enum domain_readiness)99,
	};
	struct policy_decision d;
	struct policy_input in;
	unsigned s, bits;
	long n = 0;

	for (n = 0; n < 6 * 64; n++) {
		s = (unsigned)n / 64;
		bits = (unsigned)n % 64;
		in = input(states[s]);
		in.have_state = bits & 1;
		in.stale = bits & 2;
		in.dns_trouble = bits & 4;
		in.registered = bits & 8;
		in.check_timed_out = bits & 16;
		if (bits & 32)
			in.first_problem = NULL;
		decide(&in, &d);
		/* everything fresh and enforced: the setting is the action */
		if (d.judged && in.have_state && s >= 1 && s <= 4 &&
		    !in.stale && !in.dns_trouble && ov == POLICY_ACTIONS &&
		    m == 0 && a != POLICY_MONITOR)
			EXPECT(d.action == a);
		/* an unregistered domain under check is judged as no state */
		if (!in.registered && pc->unregistered == POLICY_UNREG_CHECK)
			EXPECT(d.judged);
		EXPECT(d.action < POLICY_ACTIONS);
		EXPECT(d.would_be < POLICY_ACTIONS);
		EXPECT(d.would_be != POLICY_MONITOR);
	}
	return n;
}

START_TEST(test_exhaustive)
{
	unsigned c, a, ov, u, m;
	char line[64];
	long n = 0;

	/* every On<Situation> action x DomainActions x unregistered x mode */
	for (c = 0; c < POLICY_ACTIONS * (POLICY_ACTIONS + 1) * 3 * 2; c++) {
		a = c % POLICY_ACTIONS;
		ov = c / POLICY_ACTIONS % (POLICY_ACTIONS + 1);
		u = c / (POLICY_ACTIONS * (POLICY_ACTIONS + 1)) % 3;
		m = c / (POLICY_ACTIONS * (POLICY_ACTIONS + 1) * 3);
		policy_config_defaults(pc);
		set_all((enum policy_action)a);
		pc->unregistered = (enum policy_unregistered)u;
		pc->mode = (enum policy_mode)m;
		if (ov < POLICY_ACTIONS) {
			snprintf(line, sizeof(line), "example.com %s",
			         policy_action_name(ov));
			key("DomainActions", line);
		}
		n += exhaust_inputs(a, ov, m);
	}
	ck_assert_int_eq(n, 6L * 7 * 3 * 2 * 6 * 64);
}
END_TEST

START_TEST(test_scope_null_exempt)
{
	struct policy_input in = input(READINESS_PENDING);
	struct policy_decision d;

	pc->unregistered = POLICY_UNREG_REJECT;
	in.outbound = false;
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert(!d.log);

	in.outbound = true;
	in.null_sender = true;
	in.sender = "";
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert(d.log);
	ck_assert_str_eq(d.reason, "null sender");
	in.registered = false;
	in.have_state = false;
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);

	/* no domain at all: accepted, with a warning */
	in = input(READINESS_PENDING);
	in.domain = NULL;
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert(d.log_warning);
}
END_TEST

START_TEST(test_exemptions)
{
	struct policy_input in = input(READINESS_PENDING);
	struct policy_decision d;

	key("ExemptSenders", "bounce@Mail.Example.COM, \"a.b\"@x.example");
	key("ExemptDomains", "brand.example\nother.example.");
	/* the domain part compares case-insensitively (and a root dot) */
	in.sender = "bounce@MAIL.example.com.";
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert_str_eq(d.reason, "exempt sender");
	/* the local part exactly */
	in.sender = "Bounce@mail.example.com";
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_REJECT);
	in.sender = "bounce@mail.example.com.evil";
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_REJECT);

	/* domains and their subdomains, by whole labels */
	in.sender = "x@news.Brand.Example";
	in.domain = "brand.example";
	decide(&in, &d);
	ck_assert_str_eq(d.reason, "exempt domain");
	in.sender = "x@notbrand.example";
	in.domain = "notbrand.example";
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_REJECT);
	in.sender = "x@brand.example.evil";
	in.domain = "brand.example.evil";
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_REJECT);
	in.sender = "x@a.b.other.example";
	in.domain = "other.example";
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	/* the registry domain alone can make it exempt */
	in.sender = NULL;
	in.domain = "mail.brand.example";
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	/* an unparsable sender is not exempt */
	in.sender = "bounce@@mail.example.com";
	in.domain = "mail.example.com";
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_REJECT);

	key_bad("ExemptSenders", "ok@example.com, no-at-sign", "'no-at-sign'");
	key_bad("ExemptSenders", "@example.com", "not an email");
	key_bad("ExemptDomains", "good.example bad..example", "");
	/* unchanged after an error */
	in.sender = "bounce@mail.example.com";
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);

	/* policy_exempt: the same step 3, asked before the decision */
	ck_assert_str_eq(
	    policy_exempt(pc, "bounce@mail.example.com", "mail.example.com"),
	    "exempt sender");
	ck_assert_str_eq(policy_exempt(pc, NULL, "x.Other.Example."),
	                 "exempt domain");
	ck_assert_str_eq(policy_exempt(pc, "x@news.brand.example", "zzz"),
	                 "exempt domain");
	ck_assert_ptr_null(
	    policy_exempt(pc, "bounce@mail.example.org", "mail.example.org"));
	ck_assert_ptr_null(
	    policy_exempt(pc, "<bounce@mail.example.com>", "example.net"));
	ck_assert_ptr_null(policy_exempt(pc, NULL, NULL));
}
END_TEST

/* With no exemptions configured nothing is exempt, and the decision does
 * not depend on the sender's form. */
START_TEST(test_no_exemptions)
{
	struct policy_input in = input(READINESS_PENDING);
	struct policy_decision d;

	ck_assert_ptr_null(
	    policy_exempt(pc, "bounce@example.com", "example.com"));
	in.sender = "bounce@example.com";
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_REJECT);
	ck_assert_str_eq(d.tag_value, ""); /* set for tag only */
}
END_TEST

START_TEST(test_overrides_precedence)
{
	struct policy_input in = input(READINESS_PENDING);
	struct policy_decision d;

	/* default */
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_REJECT);
	/* per-state beats default */
	key("OnPending", "quarantine");
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_QUARANTINE);
	ck_assert_str_eq(d.source, "OnPending");
	/* a parent's entry for all beats per-state */
	key("DomainActions", "example.com=tag");
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_TAG);
	ck_assert_str_eq(d.source, "DomainActions");
	ck_assert(strstr(d.tag_value, "pending; domain=mail.example.com") ==
	          d.tag_value);
	/* the parent's entry for the situation beats its entry for all */
	key("DomainActions", "example.com=tag, example.com=accept:pending");
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	/* the nearer domain beats the parent, even scoped to all */
	key("DomainActions", "example.com accept pending\n"
	                     "mail.example.com tempfail");
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);
	/* the input domain compares case-insensitively */
	in.domain = "MAIL.Example.COM.";
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);
	in.domain = "mail.example.com";
	/* an entry for another situation does not apply */
	key("DomainActions", "mail.example.com accept failed");
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_QUARANTINE);
	/* no suffix confusion */
	key("DomainActions", "ample.com accept, il.example.com accept");
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_QUARANTINE);
	/* an override reject on a temporary state is still softened */
	key("DomainActions", "mail.example.com reject");
	in.stale = true;
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);
	ck_assert(d.softened);
}
END_TEST

START_TEST(test_monitor)
{
	struct policy_input in = input(READINESS_PENDING);
	struct policy_decision d;

	/* per-state monitor reports the built-in default */
	key("OnPending", "monitor");
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_MONITOR);
	ck_assert_int_eq(d.would_be, POLICY_REJECT);
	ck_assert_str_eq(d.smtp_code, "550");
	ck_assert(!policy_sends_reply(&d));
	ck_assert(strstr(d.reason, "would reject") != NULL);
	/* ... softened when the state is stale */
	in.stale = true;
	decide(&in, &d);
	ck_assert_int_eq(d.would_be, POLICY_TEMPFAIL);
	ck_assert_str_eq(d.smtp_code, "451");
	in.stale = false;
	/* a DomainActions monitor reports the per-state setting */
	key("OnPending", "quarantine");
	key("DomainActions", "mail.example.com monitor");
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_MONITOR);
	ck_assert_int_eq(d.would_be, POLICY_QUARANTINE);
	ck_assert_str_eq(d.smtp_code, "");
	/* ... or the default when the per-state setting is monitor too */
	key("OnPending", "monitor");
	decide(&in, &d);
	ck_assert_int_eq(d.would_be, POLICY_REJECT);

	/* Mode monitor: nothing but accept reaches the mail */
	policy_config_defaults(pc);
	key("Mode", "Monitor");
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_MONITOR);
	ck_assert_int_eq(d.would_be, POLICY_REJECT);
	key("OnPending", "tag");
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_MONITOR);
	ck_assert_int_eq(d.would_be, POLICY_TAG);
	in.state = READINESS_VERIFIED;
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	in.have_state = false;
	in.dns_trouble = true;
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_MONITOR);
	ck_assert_str_eq(d.xcode, "4.4.3");
}
END_TEST

START_TEST(test_registry_stale)
{
	struct policy_input in = input(READINESS_UNKNOWN);
	struct policy_decision d;

	in.registered = false;
	in.have_state = false;
	in.first_problem = NULL;
	in.registry_stale = true;
	/* UnregisteredDomains reject: 451 4.7.1 while the replica is behind */
	key("UnregisteredDomains", "reject");
	decide(&in, &d);
	ck_assert(!d.judged);
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);
	ck_assert_str_eq(d.smtp_code, "451");
	ck_assert_str_eq(d.xcode, "4.7.1");
	ck_assert(d.softened);
	ck_assert(d.log_warning);
	ck_assert(strstr(d.reason, "registry-stale") != NULL);
	/* a DomainActions reject for the unregistered domain too */
	key("UnregisteredDomains", "accept");
	key("DomainActions", "example.com reject");
	decide(&in, &d);
	ck_assert_str_eq(d.smtp_code, "451");
	/* an accept stays an accept */
	key("DomainActions", "example.com accept");
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	/* UnregisteredDomains check: a fresh pending state of the
	 * unregistered domain is not rejected either */
	key("UnregisteredDomains", "check");
	key("DomainActions", "other.example reject");
	in.have_state = true;
	in.state = READINESS_PENDING;
	decide(&in, &d);
	ck_assert_str_eq(d.smtp_code, "451");
	ck_assert_str_eq(d.xcode, "4.7.1");
	/* a registered domain's fresh pending state still gets 550 */
	in.registered = true;
	decide(&in, &d);
	ck_assert_str_eq(d.smtp_code, "550");
	ck_assert(strstr(d.reason, "registry-stale") == NULL);
	/* and the replica in touch: the unregistered reject is back */
	in.registered = false;
	in.registry_stale = false;
	key("UnregisteredDomains", "reject");
	in.have_state = false;
	decide(&in, &d);
	ck_assert_str_eq(d.smtp_code, "550");
}
END_TEST

START_TEST(test_unregistered)
{
	struct policy_input in = input(READINESS_UNKNOWN);
	struct policy_decision d;

	in.registered = false;
	in.have_state = false;
	in.first_problem = NULL;
	/* check (the default): judged as a domain with no state yet */
	decide(&in, &d);
	ck_assert(d.judged);
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);
	ck_assert_str_eq(d.xcode, "4.7.1");
	key("UnregisteredDomains", "reject");
	decide(&in, &d);
	ck_assert(!d.judged);
	ck_assert_str_eq(d.smtp_code, "550");
	ck_assert(strstr(d.text, "not registered") != NULL);
	ck_assert_str_eq(d.source, "UnregisteredDomains");
	key("UnregisteredDomains", "ACCEPT");
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	/* a DomainActions entry for all wins; one for a state does not */
	key("UnregisteredDomains", "reject");
	key("DomainActions", "example.com accept pending");
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_REJECT);
	key("DomainActions", "example.com accept");
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	key("DomainActions", "example.com monitor");
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_MONITOR);
	ck_assert_int_eq(d.would_be, POLICY_REJECT);
}
END_TEST

START_TEST(test_text_sanitized)
{
	struct policy_input in = input(READINESS_PENDING);
	struct policy_decision d;
	char longp[2000];

	in.domain = "evil\r\nexample.com%n";
	in.first_problem = "SPF \"%s%s\x01\xff\" broken";
	decide(&in, &d);
	ck_assert_str_eq(d.text, "sender domain evil\\x0d\\x0aexample.com%%n "
	                         "is not ready to send mail: fix SPF "
	                         "\"%%s%%s\\x01\\xff\" broken");
	ck_assert(strchr(d.reason, '\r') == NULL);
	ck_assert(strchr(d.tag_value, '\n') == NULL);

	/* the plain text is cut at POLICY_TEXT_MAX, ending in "..." */
	memset(longp, '%', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	in.domain = "mail.example.com";
	in.first_problem = longp;
	decide(&in, &d);
	ck_assert_uint_eq(strlen(d.text),
	                  2 * (POLICY_TEXT_MAX - 3) -
	                      strlen("sender domain mail.example.com is not "
	                             "ready to send mail: fix ") +
	                      3);
	ck_assert(strcmp(d.text + strlen(d.text) - 3, "...") == 0);

	/* templates: %s, %%, and the configured text */
	key("RejectReply", "100%% sure: %d is %s; see %r");
	in.first_problem = "MX missing";
	decide(&in, &d);
	ck_assert_str_eq(d.text, "100%% sure: mail.example.com is pending; "
	                         "see MX missing");
	key("DNSErrorReply", "  try later  ");
	in.stale = in.dns_trouble = true;
	decide(&in, &d);
	ck_assert_str_eq(d.text, "try later");
}
END_TEST

START_TEST(test_out_of_range)
{
	struct policy_input in = input((enum domain_readiness)99);
	struct policy_decision d;

	/* an unknown stored state counts as no state: no 5xx */
	set_all(POLICY_REJECT);
	decide(&in, &d);
	ck_assert_int_eq(d.situation, POLICY_ON_UNKNOWN);
	ck_assert_str_eq(d.smtp_code, "451");
	/* an out-of-range action falls back to the default */
	pc->on[POLICY_ON_VERIFIED] = (enum policy_action)42;
	in.state = READINESS_VERIFIED;
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert_str_eq(policy_action_name((enum policy_action)42), "invalid");
	ck_assert_str_eq(policy_situation_name(77), "invalid");
	ck_assert_str_eq(policy_situation_name(POLICY_SCOPE_ALL), "all");
}
END_TEST

START_TEST(test_value_parsers)
{
	enum policy_action a = POLICY_TAG;
	char out[POLICY_REPLY_MAX], err[256], big[POLICY_REPLY_MAX + 10];

	ck_assert_int_eq(policy_parse_action("Reject", 6, &a), 0);
	ck_assert_int_eq(a, POLICY_REJECT);
	ck_assert_int_eq(policy_parse_action(" tempfail ", 10, &a), 0);
	ck_assert_int_eq(a, POLICY_TEMPFAIL);
	ck_assert_int_eq(policy_parse_action("rejectx", 7, &a), -1);
	ck_assert_int_eq(policy_parse_action("rejectx", 6, &a), 0);
	ck_assert_int_eq(policy_parse_action("", 0, &a), -1);

	key("OnPending", "reject");
	key("OnVerified", "tag");
	ck_assert_int_eq(pc->on[POLICY_ON_VERIFIED], POLICY_TAG);
	key_bad("OnUnknown", "reject", "OnUnknown cannot be reject");
	key_bad("OnDNSError", "REJECT", "OnDNSError cannot be reject");
	key_bad("OnFailed", "drop", "'drop' is not an action");
	key("ondnserror", "accept");
	ck_assert_int_eq(pc->on[POLICY_ON_DNSERROR], POLICY_ACCEPT);
	key_bad("UnregisteredDomains", "maybe", "check, reject or accept");
	key_bad("Mode", "on", "enforce or monitor");
	key("OutboundBy", "both");
	ck_assert_int_eq(pc->outbound_by, POLICY_OUT_BOTH);
	key_bad("OutboundBy", "all", "either, hosts, auth or both");

	key_bad("RejectReply", "550 5.7.1 no", "text only");
	key_bad("RejectReply", "5.7.1 no", "text only");
	key_bad("TempfailReply", "100% wrong", "'%'");
	key_bad("TempfailReply", "ends in %", "'%'");
	key_bad("TempfailReply", "tab\there", "printable");
	key_bad("TempfailReply", "   ", "empty");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	key_bad("RejectReply", big, "longer than");
	ck_assert_str_eq(pc->reject_reply, POLICY_REJECT_DEFAULT);
	ck_assert_int_eq(
	    policy_parse_reply("ab%dcd", 3, out, sizeof(out), err, sizeof(err)),
	    -1);
	ck_assert_int_eq(
	    policy_parse_reply("ab%dcd", 4, out, sizeof(out), err, sizeof(err)),
	    0);
	ck_assert_str_eq(out, "ab%d");

	key("TagHeader", "X-Ready");
	ck_assert_str_eq(pc->tag_header, "X-Ready");
	key_bad("TagHeader", "X Ready", "not a header");
	key_bad("TagHeader", "X-Ready:", "not a header");
	key_bad("TagHeader", "", "1 to");
	ck_assert_int_eq(config_set(cfg, "Bogus", "x", err, sizeof(err)), 1);
}
END_TEST

START_TEST(test_overrides_parser)
{
	char err[512], *text;
	size_t n = 0, i;

	key_bad("DomainActions", "example.com", "domain action [state]");
	key_bad("DomainActions", "example.com accept pending extra",
	        "domain action [state]");
	key_bad("DomainActions", "example.com drop", "'drop' is not an action");
	key_bad("DomainActions", "example.com accept soon", "'soon' is not");
	key_bad("DomainActions", "example.com reject unknown", "not allowed");
	key_bad("DomainActions", "example.com reject dnserror", "not allowed");
	key_bad("DomainActions", "Example.com accept, example.COM. tag",
	        "example.com has two entries for all");
	key_bad("DomainActions", "exa mple.com accept", "");
	key("DomainActions", "example.com accept, example.com reject pending");
	ck_assert_uint_eq(pc->overrides.count, 2);

	text = malloc((POLICY_OVERRIDES_MAX + 1) * 32);
	ck_assert_ptr_nonnull(text);
	for (i = 0; i < POLICY_OVERRIDES_MAX; i++)
		n += (size_t)sprintf(text + n, "d%zu.example accept\n", i);
	ck_assert_int_eq(policy_overrides_parse(&pc->overrides, text, n, "big",
	                                        err, sizeof(err)),
	                 0);
	ck_assert_uint_eq(pc->overrides.count, POLICY_OVERRIDES_MAX);
	n += (size_t)sprintf(text + n, "one.more.example accept\n");
	ck_assert_int_eq(policy_overrides_parse(&pc->overrides, text, n, "big",
	                                        err, sizeof(err)),
	                 -1);
	ck_assert_msg(strstr(err, "big:4097: one.more.example does not fit"),
	              "%s", err);
	ck_assert_uint_eq(pc->overrides.count, POLICY_OVERRIDES_MAX);
	free(text);
}
END_TEST

/* tmpfile_with - a temporary file holding text; returns its path. */
static void
tmpfile_with(char path[64], const char *text)
{
	int fd;

	snprintf(path, 64, "/tmp/test_policy.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
}

START_TEST(test_list_files)
{
	struct policy_input in = input(READINESS_PENDING);
	struct policy_decision d;
	char path[64], want[128];

	tmpfile_with(path, "# DomainActions\n"
	                   "\n"
	                   "mail.example.com   quarantine   pending  # hold\n"
	                   "other.example=accept\r\n");
	key("DomainActions", path);
	decide(&in, &d);
	ck_assert_int_eq(d.action, POLICY_QUARANTINE);
	unlink(path);

	tmpfile_with(path, "good.example accept\n# c\nbad.example maybe\n");
	snprintf(want, sizeof(want), "%s:3: 'maybe'", path);
	key_bad("DomainActions", path, want);
	unlink(path);

	tmpfile_with(path, "127.0.0.0/8\n10.0.0.0/8 # office\n");
	key("InternalHosts", path);
	ck_assert(netlist_match_text(&pc->internal_hosts, "10.1.1.1"));
	unlink(path);
	tmpfile_with(path, "127.0.0.0/8\n10.0.0.1/8\n");
	snprintf(want, sizeof(want), "%s: '10.0.0.1/8'", path);
	key_bad("InternalHosts", path, want);
	unlink(path);

	tmpfile_with(path, "a@example.com\nb@example.com c@\n");
	snprintf(want, sizeof(want), "%s:2: 'c@'", path);
	key_bad("ExemptSenders", path, want);
	unlink(path);

	key_bad("DomainActions", "/nonexistent/authready/actions",
	        "No such file");
	key_bad("ExemptDomains", "/tmp", "not a regular file");
	/* a FIFO (no writer) or a device is refused at once, never read */
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	snprintf(want, sizeof(want), "%s: is a FIFO, not a regular file", path);
	key_bad("InternalHosts", path, want);
	key_bad("ExemptSenders", path, want);
	unlink(path);
	key_bad("ExemptDomains", "/dev/zero", "is a character device");
}
END_TEST

START_TEST(test_outbound)
{
	struct sockaddr_in s4;

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &s4.sin_addr);
	ck_assert(policy_outbound(pc, (struct sockaddr *)&s4, NULL));
	ck_assert(policy_outbound(pc, (struct sockaddr *)&s4, ""));
	inet_pton(AF_INET, "192.0.2.1", &s4.sin_addr);
	ck_assert(!policy_outbound(pc, (struct sockaddr *)&s4, NULL));
	ck_assert(!policy_outbound(pc, (struct sockaddr *)&s4, ""));
	ck_assert(policy_outbound(pc, (struct sockaddr *)&s4, "alice"));
	key("OutboundBy", "hosts");
	ck_assert(!policy_outbound(pc, (struct sockaddr *)&s4, "alice"));
	key("InternalHosts", "192.0.2.0/24");
	ck_assert(policy_outbound(pc, (struct sockaddr *)&s4, NULL));
	key("OutboundBy", "both");
	ck_assert(!policy_outbound(pc, (struct sockaddr *)&s4, NULL));
	ck_assert(policy_outbound(pc, (struct sockaddr *)&s4, "alice"));
	key("OutboundBy", "auth");
	ck_assert(!policy_outbound(pc, (struct sockaddr *)&s4, NULL));
	ck_assert(policy_outbound(pc, NULL, "alice"));
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_stale_and_dns);
	tcase_add_test(tc, test_exhaustive);
	tcase_add_test(tc, test_scope_null_exempt);
	tcase_add_test(tc, test_exemptions);
	tcase_add_test(tc, test_no_exemptions);
	tcase_add_test(tc, test_overrides_precedence);
	tcase_add_test(tc, test_monitor);
	tcase_add_test(tc, test_unregistered);
	tcase_add_test(tc, test_registry_stale);
	tcase_add_test(tc, test_text_sanitized);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_value_parsers);
	tcase_add_test(tc, test_overrides_parser);
	tcase_add_test(tc, test_list_files);
	tcase_add_test(tc, test_outbound);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(policy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
