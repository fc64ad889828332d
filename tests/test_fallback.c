/*
 * test_fallback.c - OnMailFromNotReady fallback: which records allow it,
 * which decisions fall back, Mode monitor, the From check, the keys.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_fallback
 *
 * DESCRIPTION
 *	The decisions come from policy_decide() on inputs built here as
 *	sender.c builds them (the record types from the stored state), then
 *	fallback_decide(), as decide.c calls them; the record masks are
 *	also read back from a state encoded and peeked by storecodec.c, so
 *	the milter's path from the store to the decision is covered.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "configfile.h"
#include "fallback.h"
#include "fromcheck.h"
#include "policy.h"
#include "storecodec.h"

#define BIT(t) (1u << (unsigned)(t))
#define SPF BIT(CHECK_SPF)
#define DKIM BIT(CHECK_DKIM)
#define DMARC BIT(CHECK_DMARC)
#define MX BIT(CHECK_MX)
#define ADDR "bounces@mail.operator.example"

static struct config *cfg;

static void
setup(void)
{
	char err[256];

	cfg = malloc(sizeof(*cfg));
	ck_assert_ptr_nonnull(cfg);
	config_defaults(cfg);
	ck_assert_int_eq(
	    config_set(cfg, "OnMailFromNotReady", "fallback", err, sizeof(err)),
	    0);
	ck_assert_int_eq(
	    config_set(cfg, "FallbackMailFrom", ADDR, err, sizeof(err)), 0);
}

static void
teardown(void)
{
	free(cfg);
}

/* input - a registered, fresh domain in state with records by type. */
static struct policy_input
input(enum domain_readiness state, unsigned pass, unsigned problem)
{
	struct policy_input in;

	memset(&in, 0, sizeof(in));
	in.outbound = true;
	in.sender = "news@mail.shop.example";
	in.domain = "shop.example";
	in.registered = true;
	in.have_state = true;
	in.state = state;
	in.pass_types = (uint8_t)pass;
	in.problem_types = (uint8_t)problem;
	in.first_problem = problem ? "MX mail.shop.example missing" : NULL;
	return in;
}

/* decide - policy_decide, then fallback_decide, as decide.c does. */
static bool
decide(const struct policy_input *in, struct policy_decision *d)
{
	policy_decide(&cfg->policy, in, d);
	return fallback_decide(&cfg->fallback, in, d);
}

/* The record rule, every combination of the four types both ways. */
START_TEST(test_records)
{
	for (unsigned pass = 0; pass < 16; pass++)
		for (unsigned prob = 0; prob < 16; prob++) {
			unsigned p =
			    (pass & 1 ? SPF : 0) | (pass & 2 ? DKIM : 0) |
			    (pass & 4 ? DMARC : 0) | (pass & 8 ? MX : 0);
			unsigned f =
			    (prob & 1 ? SPF : 0) | (prob & 2 ? DKIM : 0) |
			    (prob & 4 ? DMARC : 0) | (prob & 8 ? MX : 0);
			bool want = f != 0 && (f & (DKIM | DMARC)) == 0 &&
			            (p & (DKIM | DMARC)) == (DKIM | DMARC);

			ck_assert_msg(fallback_records_ok(p, f) == want,
			              "pass %#x problem %#x: want %d", p, f,
			              want);
		}
	/* DKIM of two selectors, one failing: no */
	ck_assert(!fallback_records_ok(DKIM | DMARC, MX | DKIM));
	ck_assert(fallback_records_ok(DKIM | DMARC | SPF, MX));
	ck_assert(fallback_records_ok(DKIM | DMARC, MX | SPF));
	ck_assert(!fallback_records_ok(DKIM | DMARC | SPF | MX, 0));
}
END_TEST

/* A pending domain, only MX and SPF failing: accept, no reply,
 * fallback set, a warning, the reason says so; failed alike. */
START_TEST(test_falls_back)
{
	enum domain_readiness states[] = {READINESS_PENDING, READINESS_FAILED};
	struct policy_decision d;

	for (unsigned i = 0; i < 2; i++) {
		struct policy_input in =
		    input(states[i], DKIM | DMARC, MX | SPF);

		ck_assert(decide(&in, &d));
		ck_assert_int_eq(d.action, POLICY_ACCEPT);
		ck_assert_int_eq(d.would_be, POLICY_ACCEPT);
		ck_assert(d.fallback);
		ck_assert(d.log_warning);
		ck_assert(!policy_sends_reply(&d));
		ck_assert_str_eq(d.smtp_code, "");
		ck_assert_str_eq(d.source, "OnMailFromNotReady");
		ck_assert_msg(
		    strstr(d.reason, "fallback MAIL FROM") != NULL &&
		        strstr(d.reason, "not reject by On") != NULL &&
		        strstr(d.reason, "MX mail.shop.example") != NULL,
		    "reason: %s", d.reason);
	}
}
END_TEST

/* The default (reject), and fallback without an address: the same
 * domain is rejected with the usual reply. */
START_TEST(test_default_rejects)
{
	struct policy_input in = input(READINESS_PENDING, DKIM | DMARC, MX);
	struct policy_decision d;

	fallback_config_defaults(&cfg->fallback);
	ck_assert(!decide(&in, &d));
	ck_assert_int_eq(d.action, POLICY_REJECT);
	ck_assert(!d.fallback);
	ck_assert_str_eq(d.smtp_code, "550");

	cfg->fallback.mode = FALLBACK_ON; /* no address: never */
	ck_assert(!decide(&in, &d));
	ck_assert_int_eq(d.action, POLICY_REJECT);
}
END_TEST

/* What never falls back: a DKIM or DMARC problem, no DKIM or DMARC
 * checked, verified and degraded (accepted anyway), stale or DNS
 * trouble (tempfail), no state, an unregistered domain refused by
 * UnregisteredDomains, an operator's quarantine or tag. */
START_TEST(test_never)
{
	struct policy_decision d;
	struct policy_input in;
	char err[256];

	in = input(READINESS_PENDING, DMARC, MX | DKIM);
	ck_assert(!decide(&in, &d));
	ck_assert_int_eq(d.action, POLICY_REJECT);
	in = input(READINESS_PENDING, DKIM | MX, DMARC);
	ck_assert(!decide(&in, &d));
	in = input(READINESS_PENDING, DKIM, MX);
	ck_assert(!decide(&in, &d));
	in = input(READINESS_PENDING, DKIM | DMARC, 0);
	ck_assert(!decide(&in, &d));

	in = input(READINESS_DEGRADED, DKIM | DMARC, MX);
	ck_assert(!decide(&in, &d));
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert(!d.fallback);

	in = input(READINESS_PENDING, DKIM | DMARC, MX);
	in.stale = true;
	ck_assert(!decide(&in, &d));
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);
	in = input(READINESS_PENDING, DKIM | DMARC, MX);
	in.dns_trouble = true;
	ck_assert(!decide(&in, &d));
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);

	in = input(READINESS_UNKNOWN, 0, 0);
	in.have_state = false;
	ck_assert(!decide(&in, &d));
	ck_assert_int_eq(d.action, POLICY_TEMPFAIL);

	ck_assert_int_eq(
	    config_set(cfg, "UnregisteredDomains", "reject", err, sizeof(err)),
	    0);
	in = input(READINESS_PENDING, DKIM | DMARC, MX);
	in.registered = false;
	ck_assert(!decide(&in, &d));
	ck_assert_int_eq(d.action, POLICY_REJECT);

	ck_assert_int_eq(
	    config_set(cfg, "OnPending", "quarantine", err, sizeof(err)), 0);
	in = input(READINESS_PENDING, DKIM | DMARC, MX);
	ck_assert(!decide(&in, &d));
	ck_assert_int_eq(d.action, POLICY_QUARANTINE);
	ck_assert_int_eq(config_set(cfg, "OnPending", "tag", err, sizeof(err)),
	                 0);
	ck_assert(!decide(&in, &d));
	ck_assert_int_eq(d.action, POLICY_TAG);
}
END_TEST

/* A DomainActions reject falls back as OnPending's does; Mode monitor
 * and an On<Situation> monitor stay monitor, would accept. */
START_TEST(test_monitor_and_overrides)
{
	struct policy_input in = input(READINESS_FAILED, DKIM | DMARC, SPF);
	struct policy_decision d;
	char err[256];

	ck_assert_int_eq(config_set(cfg, "DomainActions",
	                            "shop.example reject failed", err,
	                            sizeof(err)),
	                 0);
	ck_assert(decide(&in, &d));
	ck_assert_int_eq(d.action, POLICY_ACCEPT);
	ck_assert_msg(strstr(d.reason, "not reject by DomainActions"),
	              "reason: %s", d.reason);

	ck_assert_int_eq(config_set(cfg, "Mode", "monitor", err, sizeof(err)),
	                 0);
	ck_assert(decide(&in, &d));
	ck_assert_int_eq(d.action, POLICY_MONITOR);
	ck_assert_int_eq(d.would_be, POLICY_ACCEPT);
	ck_assert(d.fallback);
	ck_assert_msg(strstr(d.reason, "would accept with the fallback"),
	              "reason: %s", d.reason);
}
END_TEST

/* The From check: a From domain that falls back is an accept, so a
 * verified or fallen-back envelope decides (no 550 at end of headers);
 * a fallen-back envelope loses to a From that is refused. */
START_TEST(test_fromcheck)
{
	struct policy_input env = input(READINESS_PENDING, DKIM | DMARC, MX);
	struct policy_input from = input(READINESS_PENDING, DKIM | DMARC, MX);
	struct policy_decision de, df;
	struct fromcheck_decision out;
	struct fromhdr fh;
	struct fromcheck_facts hf = {1, FROMHDR_OK, &fh};
	char err[FROMHDR_ERR_MAX];
	const char *hdr = "News <news@shop.example>";

	ck_assert_int_eq(fromhdr_parse(hdr, strlen(hdr), &fh, err, sizeof(err)),
	                 FROMHDR_OK);
	ck_assert(decide(&env, &de));
	ck_assert(decide(&from, &df));
	fromcheck_decide(&cfg->from, &cfg->policy, &de, &hf, &df, &out);
	ck_assert_int_eq(out.d.action, POLICY_ACCEPT);
	ck_assert(out.d.fallback);
	ck_assert_int_eq(out.by, FROMCHECK_BY_ENVELOPE);

	from = input(READINESS_PENDING, DMARC, DKIM);
	ck_assert(!decide(&from, &df));
	fromcheck_decide(&cfg->from, &cfg->policy, &de, &hf, &df, &out);
	ck_assert_int_eq(out.d.action, POLICY_REJECT);
	ck_assert_int_eq(out.by, FROMCHECK_BY_FROM);
}
END_TEST

/* The state summary the milter reads carries the record types. */
START_TEST(test_peek_types)
{
	struct domain_state st;
	struct storecodec_state_summary sum;
	unsigned char buf[STORECODEC_STATE_MAX];
	size_t len;
	char err[256];
	static const struct {
		uint8_t type, status;
	} rec[] = {
	    {CHECK_MX, CHECK_MISSING}, {CHECK_SPF, CHECK_FAIL},
	    {CHECK_DKIM, CHECK_PASS},  {CHECK_DKIM, CHECK_PASS},
	    {CHECK_DMARC, CHECK_PASS},
	};

	memset(&st, 0, sizeof(st));
	snprintf(st.domain, sizeof(st.domain), "shop.example");
	st.state = READINESS_PENDING;
	st.nrecords = sizeof(rec) / sizeof(rec[0]);
	for (unsigned i = 0; i < st.nrecords; i++) {
		st.records[i].type = rec[i].type;
		st.records[i].status = rec[i].status;
		snprintf(st.records[i].name, sizeof(st.records[i].name),
		         "r%u.shop.example", i);
		snprintf(st.records[i].detail, sizeof(st.records[i].detail),
		         "detail %u", i);
	}
	ck_assert_int_eq(storecodec_state_encode(&st, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 0);
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), 0);
	ck_assert(sum.problem);
	ck_assert_int_eq(sum.problem_type, CHECK_MX);
	ck_assert_str_eq(sum.problem_name, "r0.shop.example");
	ck_assert_uint_eq(sum.problem_types, MX | SPF);
	ck_assert_uint_eq(sum.pass_types, DKIM | DMARC);
	ck_assert(fallback_records_ok(sum.pass_types, sum.problem_types));

	st.records[3].status = CHECK_FAIL; /* the second selector breaks */
	ck_assert_int_eq(storecodec_state_encode(&st, buf, sizeof(buf), &len,
	                                         err, sizeof(err)),
	                 0);
	ck_assert_int_eq(
	    storecodec_state_peek(buf, len, &sum, err, sizeof(err)), 0);
	ck_assert_uint_eq(sum.problem_types, MX | SPF | DKIM);
	ck_assert(!fallback_records_ok(sum.pass_types, sum.problem_types));
}
END_TEST

/* The keys: values, the address parse, and fallback without an
 * address refused by the config parser. */
START_TEST(test_config)
{
	struct config *c = malloc(sizeof(*c));
	char err[512];
	static const char *const bad[] = {
	    "",
	    "bounces",
	    "@mail.example.com",
	    "bounces@",
	    "<bounces@mail.example.com>",
	    "a b@mail.example.com",
	    "bounces@mail..example.com",
	    "bounces@[127.0.0.1]",
	    "bounces@mail.example.com\r\nRCPT TO:<x@y>",
	    "x@y@mail.example.com",
	    "\"q\"@mail.example.com",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "@mail.example.com",
	};
	const char *conf;

	ck_assert_ptr_nonnull(c);
	config_defaults(c);
	ck_assert_int_eq(c->fallback.mode, FALLBACK_REJECT);
	ck_assert_str_eq(c->fallback.address, "");
	ck_assert_str_eq(fallback_mode_name(FALLBACK_ON), "fallback");
	ck_assert_int_eq(
	    config_set(c, "OnMailFromNotReady", "Fallback", err, sizeof(err)),
	    0);
	ck_assert_int_eq(c->fallback.mode, FALLBACK_ON);
	ck_assert_int_eq(
	    config_set(c, "OnMailFromNotReady", "accept", err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, "OnMailFromNotReady: 'accept' is not reject "
	                          "or fallback"),
	              "err: %s", err);
	ck_assert_int_eq(config_set(c, "FallbackMailFrom",
	                            "Bounces@MAIL.Operator.Example.", err,
	                            sizeof(err)),
	                 0);
	ck_assert_str_eq(c->fallback.address, "Bounces@mail.operator.example");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(config_set(c, "FallbackMailFrom", bad[i], err,
		                         sizeof(err)) == -1,
		              "accepted '%s'", bad[i]);
		ck_assert_str_eq(c->fallback.address,
		                 "Bounces@mail.operator.example");
	}

	config_defaults(c);
	conf = "OnMailFromNotReady fallback\n";
	ck_assert_int_eq(
	    config_parse(conf, strlen(conf), "t.conf", c, err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, "t.conf: OnMailFromNotReady fallback needs "
	                          "FallbackMailFrom"),
	              "err: %s", err);
	ck_assert_int_eq(c->fallback.mode, FALLBACK_REJECT);
	conf = "OnMailFromNotReady fallback\n"
	       "FallbackMailFrom bounces@mail.example.com\n";
	ck_assert_int_eq(
	    config_parse(conf, strlen(conf), "t.conf", c, err, sizeof(err)), 0);
	ck_assert_int_eq(c->fallback.mode, FALLBACK_ON);
	/* an address alone is fine: the default still rejects */
	config_defaults(c);
	conf = "FallbackMailFrom bounces@mail.example.com\n";
	ck_assert_int_eq(
	    config_parse(conf, strlen(conf), "t.conf", c, err, sizeof(err)), 0);
	free(c);
}
END_TEST

static Suite *
fallback_suite(void)
{
	Suite *s = suite_create("fallback");
	TCase *tc = tcase_create("decide");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_records);
	tcase_add_test(tc, test_falls_back);
	tcase_add_test(tc, test_default_rejects);
	tcase_add_test(tc, test_never);
	tcase_add_test(tc, test_monitor_and_overrides);
	tcase_add_test(tc, test_fromcheck);
	tcase_add_test(tc, test_peek_types);
	tcase_add_test(tc, test_config);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fallback_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
