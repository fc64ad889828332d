/*
 * test_state.c - readiness transitions, windows, schedule, notification
 * and status text, all on an injected clock.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_state
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "report.h"
#include "state.h"

#define T0 INT64_C(1700000000) /* 2023-11-14T22:13:20Z */
#define MIN 60
#define HOUR 3600
#define WINDOW (72 * HOUR)

static const char dkim_name[] = "1234rpr._domainkey.example.com";

static void
add(struct report *rep, enum check_type type, enum check_status status,
    const char *name, const char *detail)
{
	struct check_result *c = &rep->checks[rep->nchecks++];

	memset(c, 0, sizeof(*c));
	c->type = type;
	c->status = status;
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->detail, sizeof(c->detail), "%s", detail);
}

/* mkrep - a three-record report whose verdict is v. */
static void
mkrep(struct report *rep, enum report_verdict v)
{
	static const enum check_status dkim[] = {
	    [VERDICT_READY] = CHECK_PASS,
	    [VERDICT_NOT_READY] = CHECK_MISSING,
	    [VERDICT_UNDECIDED] = CHECK_TEMPERROR,
	};

	memset(rep, 0, sizeof(*rep));
	snprintf(rep->domain, sizeof(rep->domain), "example.com");
	add(rep, CHECK_MX, CHECK_PASS, "example.com", "");
	add(rep, CHECK_DKIM, dkim[v], dkim_name,
	    v == VERDICT_NOT_READY ? "publish the key" : "");
	add(rep, CHECK_DMARC, CHECK_PASS, "_dmarc.example.com", "");
	ck_assert_int_eq(report_verdict(rep), v);
}

/* step - apply a check with verdict v at now, with policy pol (or NULL). */
static void
step(struct domain_state *st, enum report_verdict v, int64_t now,
     const struct state_timing *pol, struct state_effects *fx)
{
	static struct report rep;

	mkrep(&rep, v);
	state_apply(st, &rep, now, pol, st, fx);
}

/* in_state - a state that has been s since `since`. */
static void
in_state(struct domain_state *st, int32_t s, int64_t since)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->domain, sizeof(st->domain), "example.com");
	st->state = s;
	st->since = since;
	st->first_seen = since;
	st->last_check = since;
}

START_TEST(test_names)
{
	ck_assert_str_eq(state_readiness_name(READINESS_UNKNOWN), "unknown");
	ck_assert_str_eq(state_readiness_name(READINESS_PENDING), "pending");
	ck_assert_str_eq(state_readiness_name(READINESS_VERIFIED), "verified");
	ck_assert_str_eq(state_readiness_name(READINESS_DEGRADED), "degraded");
	ck_assert_str_eq(state_readiness_name(READINESS_FAILED), "failed");
	ck_assert_str_eq(state_readiness_name((enum domain_readiness)5),
	                 "invalid");
	ck_assert_str_eq(state_readiness_name((enum domain_readiness) - 1),
	                 "invalid");
}
END_TEST

/* Every [state][verdict] cell, well inside every window. */
static const int32_t expect_to[5][3] = {
    [READINESS_UNKNOWN] = {READINESS_VERIFIED, READINESS_PENDING,
                           READINESS_UNKNOWN},
    [READINESS_PENDING] = {READINESS_VERIFIED, READINESS_PENDING,
                           READINESS_PENDING},
    [READINESS_VERIFIED] = {READINESS_VERIFIED, READINESS_DEGRADED,
                            READINESS_VERIFIED},
    [READINESS_DEGRADED] = {READINESS_VERIFIED, READINESS_DEGRADED,
                            READINESS_DEGRADED},
    [READINESS_FAILED] = {READINESS_VERIFIED, READINESS_FAILED,
                          READINESS_FAILED},
};

START_TEST(test_table_cell)
{
	int32_t s = _i / 3;
	enum report_verdict v = (enum report_verdict)(_i % 3);
	struct domain_state st;
	struct state_effects fx;
	int32_t to = expect_to[s][v];

	in_state(&st, s, T0);
	step(&st, v, T0 + HOUR, NULL, &fx);
	ck_assert_msg(st.state == to, "%s x %s -> %s, want %s",
	              state_readiness_name(s), report_verdict_name(v),
	              state_readiness_name(st.state), state_readiness_name(to));
	ck_assert_int_eq(fx.state_changed, to != s);
	ck_assert_int_eq(fx.from, s);
	ck_assert_int_eq(fx.to, to);
	ck_assert_int_eq(fx.became_verified,
	                 to == READINESS_VERIFIED && s != READINESS_VERIFIED);
	/* since moves exactly when the state does */
	ck_assert_int_eq(st.since, to != s ? T0 + HOUR : T0);
	ck_assert_int_eq(st.last_check, T0 + HOUR);
	ck_assert_int_eq(st.last_success, v == VERDICT_READY ? T0 + HOUR : 0);
	ck_assert_uint_eq(st.dns_errors, v == VERDICT_UNDECIDED ? 1 : 0);
	ck_assert_uint_eq(st.nrecords, 3);
	ck_assert(strlen(fx.reason) > 0);
}
END_TEST

/* Window boundary: at window-1 still in state, at and after it failed. */
static void
window_edges(int32_t s, int64_t window)
{
	static const int64_t off[] = {-1, 0, 1};
	size_t i;

	for (i = 0; i < 3; i++) {
		struct domain_state st;
		struct state_effects fx;
		int32_t want = off[i] < 0 ? s : READINESS_FAILED;

		in_state(&st, s, T0);
		st.first_seen = T0 - 100 * 24 * HOUR; /* measured from since */
		step(&st, VERDICT_NOT_READY, T0 + window + off[i], NULL, &fx);
		ck_assert_msg(st.state == want, "%s at window%+lld -> %s",
		              state_readiness_name(s), (long long)off[i],
		              state_readiness_name(st.state));
		ck_assert_int_eq(fx.state_changed, want != s);
		if (want == READINESS_FAILED) {
			ck_assert_int_eq(st.since, T0 + window + off[i]);
			ck_assert_ptr_nonnull(strstr(fx.reason, "past the 3d"));
			ck_assert_ptr_nonnull(
			    strstr(fx.reason, "since 2023-11-14T22:13:20Z"));
		}
		/* DNS trouble never lets the window fail a domain */
		in_state(&st, s, T0);
		step(&st, VERDICT_UNDECIDED, T0 + window + off[i], NULL, &fx);
		ck_assert_int_eq(st.state, s);
		ck_assert_int_eq(fx.state_changed, 0);
		ck_assert_int_eq(st.since, T0);
	}
}

START_TEST(test_pending_window)
{
	window_edges(READINESS_PENDING, WINDOW);
}
END_TEST

START_TEST(test_grace_period)
{
	window_edges(READINESS_DEGRADED, WINDOW);
}
END_TEST

START_TEST(test_custom_windows)
{
	struct state_timing pol = state_timing_defaults();
	struct domain_state st;

	pol.pending_window = 10 * MIN;
	pol.grace_period = 20 * MIN;
	in_state(&st, READINESS_PENDING, T0);
	step(&st, VERDICT_NOT_READY, T0 + 10 * MIN - 1, &pol, NULL);
	ck_assert_int_eq(st.state, READINESS_PENDING);
	step(&st, VERDICT_NOT_READY, T0 + 10 * MIN, &pol, NULL);
	ck_assert_int_eq(st.state, READINESS_FAILED);
	in_state(&st, READINESS_DEGRADED, T0);
	step(&st, VERDICT_NOT_READY, T0 + 20 * MIN - 1, &pol, NULL);
	ck_assert_int_eq(st.state, READINESS_DEGRADED);
	step(&st, VERDICT_NOT_READY, T0 + 20 * MIN, &pol, NULL);
	ck_assert_int_eq(st.state, READINESS_FAILED);
}
END_TEST

/* A pending window expired under DNS trouble fails on the next decisive
 * check, and a fix still verifies. */
START_TEST(test_expiry_waits_for_decisive_check)
{
	struct domain_state st;

	in_state(&st, READINESS_PENDING, T0);
	step(&st, VERDICT_UNDECIDED, T0 + WINDOW + HOUR, NULL, NULL);
	ck_assert_int_eq(st.state, READINESS_PENDING);
	step(&st, VERDICT_READY, T0 + WINDOW + 2 * HOUR, NULL, NULL);
	ck_assert_int_eq(st.state, READINESS_VERIFIED);

	in_state(&st, READINESS_DEGRADED, T0);
	step(&st, VERDICT_UNDECIDED, T0 + WINDOW + HOUR, NULL, NULL);
	ck_assert_int_eq(st.state, READINESS_DEGRADED);
	step(&st, VERDICT_NOT_READY, T0 + WINDOW + 2 * HOUR, NULL, NULL);
	ck_assert_int_eq(st.state, READINESS_FAILED);
}
END_TEST

/* The whole life: new, pending, verified, degraded, failed, fixed. */
START_TEST(test_lifecycle)
{
	struct domain_state st;
	struct state_effects fx;

	memset(&st, 0, sizeof(st));
	step(&st, VERDICT_NOT_READY, T0, NULL, &fx);
	ck_assert_int_eq(st.state, READINESS_PENDING);
	ck_assert_int_eq(st.first_seen, T0);
	ck_assert_str_eq(st.domain, "example.com");
	ck_assert_ptr_nonnull(strstr(fx.reason, "DKIM record at "
	                                        "1234rpr._domainkey.example.com"
	                                        " is missing; pending since "
	                                        "2023-11-14T22:13:20Z"));
	step(&st, VERDICT_READY, T0 + HOUR, NULL, &fx);
	ck_assert_int_eq(st.state, READINESS_VERIFIED);
	ck_assert_int_eq(st.first_seen, T0);
	ck_assert_ptr_nonnull(strstr(fx.reason, "(was pending)"));
	step(&st, VERDICT_NOT_READY, T0 + 2 * HOUR, NULL, &fx);
	ck_assert_int_eq(st.state, READINESS_DEGRADED);
	ck_assert_int_eq(st.since, T0 + 2 * HOUR);
	ck_assert_int_eq(st.last_success, T0 + HOUR);
	step(&st, VERDICT_NOT_READY, T0 + 2 * HOUR + WINDOW, NULL, &fx);
	ck_assert_int_eq(st.state, READINESS_FAILED);
	ck_assert_ptr_nonnull(strstr(fx.reason, "grace period"));
	step(&st, VERDICT_READY, T0 + 200 * HOUR, NULL, &fx);
	ck_assert_int_eq(st.state, READINESS_VERIFIED);
	ck_assert_int_eq(fx.became_verified, 1);
	ck_assert_int_eq(st.first_seen, T0);
}
END_TEST

START_TEST(test_since_only_on_change)
{
	struct domain_state st;
	int i;

	in_state(&st, READINESS_VERIFIED, T0);
	for (i = 1; i <= 5; i++) {
		step(&st, i % 2 ? VERDICT_READY : VERDICT_UNDECIDED,
		     T0 + i * HOUR, NULL, NULL);
		ck_assert_int_eq(st.since, T0);
		ck_assert_int_eq(st.last_check, T0 + i * HOUR);
	}
	ck_assert_int_eq(st.last_success, T0 + 5 * HOUR);
	/* unknown: the first check stamps since, later ones keep it */
	memset(&st, 0, sizeof(st));
	step(&st, VERDICT_UNDECIDED, T0, NULL, NULL);
	ck_assert_int_eq(st.since, T0);
	step(&st, VERDICT_UNDECIDED, T0 + MIN, NULL, NULL);
	ck_assert_int_eq(st.since, T0);
	ck_assert_int_eq(st.state, READINESS_UNKNOWN);
}
END_TEST

START_TEST(test_pending_backoff)
{
	static const int64_t want[] = {1 * MIN, 2 * MIN, 5 * MIN, 15 * MIN,
	                               HOUR,    HOUR,    HOUR};
	struct domain_state st;
	int64_t now = T0;
	size_t i;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < sizeof(want) / sizeof(*want); i++) {
		step(&st, VERDICT_NOT_READY, now, NULL, NULL);
		ck_assert_int_eq(st.state, READINESS_PENDING);
		ck_assert_msg(st.next_check - now == want[i],
		              "check %zu: delay %lld, want %lld", i,
		              (long long)(st.next_check - now),
		              (long long)want[i]);
		ck_assert_uint_eq(st.pending_checks, i + 1);
		ck_assert_int_eq(st.since, T0);
		now = st.next_check;
	}
	/* leaving pending resets the count; coming back starts over */
	step(&st, VERDICT_READY, now, NULL, NULL);
	ck_assert_uint_eq(st.pending_checks, 0);
	ck_assert_int_eq(st.next_check - now, HOUR);
	st.state = READINESS_FAILED;
	st.since = now;
	step(&st, VERDICT_NOT_READY, now + 1, NULL, NULL);
	ck_assert_int_eq(st.next_check - (now + 1), 6 * HOUR);
}
END_TEST

START_TEST(test_intervals_by_state)
{
	struct domain_state st;

	in_state(&st, READINESS_VERIFIED, T0);
	step(&st, VERDICT_READY, T0 + 10, NULL, NULL);
	ck_assert_int_eq(st.next_check, T0 + 10 + HOUR);
	in_state(&st, READINESS_DEGRADED, T0);
	step(&st, VERDICT_NOT_READY, T0 + 10, NULL, NULL);
	ck_assert_int_eq(st.next_check, T0 + 10 + HOUR);
	in_state(&st, READINESS_FAILED, T0);
	step(&st, VERDICT_NOT_READY, T0 + 10, NULL, NULL);
	ck_assert_int_eq(st.next_check, T0 + 10 + 6 * HOUR);
	/* unknown under DNS trouble: the first pending delay at most */
	memset(&st, 0, sizeof(st));
	step(&st, VERDICT_UNDECIDED, T0, NULL, NULL);
	ck_assert_int_eq(st.next_check, T0 + MIN);
}
END_TEST

/* The next check never lands after a window runs out. */
START_TEST(test_deadline_cap)
{
	struct domain_state st;
	int64_t now;

	in_state(&st, READINESS_PENDING, T0);
	st.pending_checks = 10; /* hourly by now */
	now = T0 + WINDOW - 10 * MIN;
	step(&st, VERDICT_NOT_READY, now, NULL, NULL);
	ck_assert_int_eq(st.next_check, T0 + WINDOW);
	step(&st, VERDICT_NOT_READY, st.next_check, NULL, NULL);
	ck_assert_int_eq(st.state, READINESS_FAILED);

	in_state(&st, READINESS_DEGRADED, T0);
	step(&st, VERDICT_UNDECIDED, T0 + WINDOW - 30, NULL, NULL);
	ck_assert_int_eq(st.next_check, T0 + WINDOW);
	/* past the deadline (undecided): the ordinary retry applies */
	step(&st, VERDICT_UNDECIDED, T0 + WINDOW + 5, NULL, NULL);
	ck_assert_int_eq(st.next_check, T0 + WINDOW + 5 + 2 * MIN);
}
END_TEST

START_TEST(test_dns_errors)
{
	static const int64_t want[] = {1 * MIN,  2 * MIN,  5 * MIN,
	                               15 * MIN, 15 * MIN, 15 * MIN};
	struct domain_state st;
	struct state_effects fx;
	int64_t now = T0 + 1;
	size_t i;

	in_state(&st, READINESS_VERIFIED, T0);
	st.last_success = T0;
	for (i = 0; i < sizeof(want) / sizeof(*want); i++) {
		step(&st, VERDICT_UNDECIDED, now, NULL, &fx);
		ck_assert_int_eq(st.state, READINESS_VERIFIED);
		ck_assert_uint_eq(st.dns_errors, i + 1);
		ck_assert_int_eq(st.next_check - now, want[i]);
		ck_assert_int_eq(st.last_success, T0);
		ck_assert_ptr_nonnull(strstr(fx.reason, "DNS trouble"));
		now = st.next_check;
	}
	step(&st, VERDICT_READY, now, NULL, NULL);
	ck_assert_uint_eq(st.dns_errors, 0);
	ck_assert_int_eq(st.next_check - now, HOUR);
	step(&st, VERDICT_UNDECIDED, now, NULL, NULL);
	ck_assert_uint_eq(st.dns_errors, 1);
	step(&st, VERDICT_NOT_READY, now, NULL, NULL);
	ck_assert_uint_eq(st.dns_errors, 0);
}
END_TEST

/* The DNS retry is capped by the state's own delay. */
START_TEST(test_dns_retry_cap)
{
	static const int64_t slow[] = {2 * HOUR};
	struct state_timing pol = state_timing_defaults();
	struct domain_state st;

	pol.dns_retry = slow;
	pol.ndns_retry = 1;
	in_state(&st, READINESS_VERIFIED, T0);
	step(&st, VERDICT_UNDECIDED, T0, &pol, NULL);
	ck_assert_int_eq(st.next_check, T0 + HOUR);
	/* pending at its first delay: 1 minute, however long DNS is down */
	in_state(&st, READINESS_PENDING, T0);
	step(&st, VERDICT_UNDECIDED, T0, NULL, NULL);
	step(&st, VERDICT_UNDECIDED, T0, NULL, NULL);
	step(&st, VERDICT_UNDECIDED, T0, NULL, NULL);
	ck_assert_uint_eq(st.dns_errors, 3);
	ck_assert_uint_eq(st.pending_checks, 0);
	ck_assert_int_eq(st.next_check, T0 + MIN);
	/* the counter saturates */
	st.dns_errors = UINT32_MAX;
	step(&st, VERDICT_UNDECIDED, T0, NULL, NULL);
	ck_assert_uint_eq(st.dns_errors, UINT32_MAX);
}
END_TEST

START_TEST(test_confirmation_once)
{
	struct domain_state st;
	struct state_effects fx;

	memset(&st, 0, sizeof(st));
	step(&st, VERDICT_READY, T0, NULL, &fx);
	ck_assert_int_eq(fx.became_verified, 1);
	ck_assert_int_eq(fx.send_confirmation, 1);
	state_mark_notified(&st);
	ck_assert_int_eq(st.notified, 1);
	ck_assert_uint_eq(st.notify_attempts, 1);
	step(&st, VERDICT_READY, T0 + HOUR, NULL, &fx);
	ck_assert_int_eq(fx.became_verified, 0);
	ck_assert_int_eq(fx.send_confirmation, 0);
	step(&st, VERDICT_NOT_READY, T0 + 2 * HOUR, NULL, &fx);
	ck_assert_int_eq(fx.send_confirmation, 0);
	step(&st, VERDICT_READY, T0 + 3 * HOUR, NULL, &fx);
	ck_assert_int_eq(fx.became_verified, 1);
	ck_assert_int_eq(fx.send_confirmation, 0);
}
END_TEST

/* Without a contact the caller never records an attempt: only a new
 * transition into verified asks again. */
START_TEST(test_confirmation_no_contact)
{
	struct domain_state st;
	struct state_effects fx;

	memset(&st, 0, sizeof(st));
	step(&st, VERDICT_READY, T0, NULL, &fx);
	ck_assert_int_eq(fx.send_confirmation, 1);
	step(&st, VERDICT_READY, T0 + HOUR, NULL, &fx);
	ck_assert_int_eq(fx.send_confirmation, 0);
	step(&st, VERDICT_NOT_READY, T0 + 2 * HOUR, NULL, &fx);
	step(&st, VERDICT_READY, T0 + 3 * HOUR, NULL, &fx);
	ck_assert_int_eq(fx.send_confirmation, 1);
}
END_TEST

START_TEST(test_notify_retry)
{
	struct domain_state st;
	struct state_effects fx;
	int64_t now = T0;

	memset(&st, 0, sizeof(st));
	step(&st, VERDICT_READY, now, NULL, &fx);
	ck_assert_int_eq(fx.send_confirmation, 1);
	state_note_notify_failure(&st, now, NULL);
	ck_assert_uint_eq(st.notify_attempts, 1);
	ck_assert_int_eq(st.next_check, now + 5 * MIN);
	ck_assert(!state_due(&st, now + 5 * MIN - 1));
	now = st.next_check;
	ck_assert(state_due(&st, now));
	step(&st, VERDICT_READY, now, NULL, &fx);
	ck_assert_int_eq(fx.became_verified, 0);
	ck_assert_int_eq(fx.send_confirmation, 1);
	state_note_notify_failure(&st, now, NULL);
	ck_assert_int_eq(st.next_check, now + 15 * MIN);
	/* not while degraded */
	now = st.next_check;
	step(&st, VERDICT_NOT_READY, now, NULL, &fx);
	ck_assert_int_eq(fx.send_confirmation, 0);
	/* back to verified: retried, then delivered, then never again */
	step(&st, VERDICT_READY, now + 1, NULL, &fx);
	ck_assert_int_eq(fx.send_confirmation, 1);
	state_mark_notified(&st);
	ck_assert_uint_eq(st.notify_attempts, 3);
	step(&st, VERDICT_READY, now + 2, NULL, &fx);
	ck_assert_int_eq(fx.send_confirmation, 0);
}
END_TEST

START_TEST(test_notify_give_up)
{
	struct state_timing pol = state_timing_defaults();
	struct domain_state st;
	struct state_effects fx;
	int64_t before;
	int i;

	pol.notify_attempts_max = 3;
	memset(&st, 0, sizeof(st));
	step(&st, VERDICT_READY, T0, &pol, &fx);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(fx.send_confirmation, 1);
		state_note_notify_failure(&st, T0, &pol);
		step(&st, VERDICT_READY, T0 + i + 1, &pol, &fx);
	}
	ck_assert_int_eq(fx.send_confirmation, 1);
	before = st.next_check;
	state_note_notify_failure(&st, T0 + 3, &pol);
	ck_assert_uint_eq(st.notify_attempts, 3);
	ck_assert_int_eq(st.next_check, before); /* no retry scheduled */
	step(&st, VERDICT_READY, T0 + 4, &pol, &fx);
	ck_assert_int_eq(fx.send_confirmation, 0);
	/* the retry never postpones a check already due */
	pol.notify_attempts_max = 0;
	st.next_check = T0;
	state_note_notify_failure(&st, T0 + 100, &pol);
	ck_assert_int_eq(st.next_check, T0);
}
END_TEST

/* The org domain the tree walk found is kept; a check that did not find
 * one (DNS trouble) leaves the last one known. */
START_TEST(test_org_kept)
{
	static struct report rep;
	struct domain_state st;

	in_state(&st, READINESS_VERIFIED, T0);
	mkrep(&rep, VERDICT_READY);
	snprintf(rep.org, sizeof(rep.org), "example.com");
	state_apply(&st, &rep, T0 + 10, NULL, &st, NULL);
	ck_assert_str_eq(st.org, "example.com");
	mkrep(&rep, VERDICT_UNDECIDED);
	rep.org[0] = '\0';
	state_apply(&st, &rep, T0 + 20, NULL, &st, NULL);
	ck_assert_str_eq(st.org, "example.com");
	mkrep(&rep, VERDICT_READY);
	snprintf(rep.org, sizeof(rep.org), "shop.example.com");
	state_apply(&st, &rep, T0 + 30, NULL, &st, NULL);
	ck_assert_str_eq(st.org, "shop.example.com");
}
END_TEST

/* The DMARC record's alignment modes are kept the same way: a check
 * that read no record leaves the last ones known. */
START_TEST(test_modes_kept)
{
	static struct report rep;
	struct domain_state st;

	in_state(&st, READINESS_VERIFIED, T0);
	ck_assert_int_eq(st.adkim, 0);
	mkrep(&rep, VERDICT_READY);
	rep.adkim = 's';
	rep.aspf = 'r';
	state_apply(&st, &rep, T0 + 10, NULL, &st, NULL);
	ck_assert_int_eq(st.adkim, 's');
	ck_assert_int_eq(st.aspf, 'r');
	mkrep(&rep, VERDICT_UNDECIDED);
	rep.adkim = rep.aspf = 0;
	state_apply(&st, &rep, T0 + 20, NULL, &st, NULL);
	ck_assert_int_eq(st.adkim, 's');
	mkrep(&rep, VERDICT_READY);
	rep.adkim = 'r';
	rep.aspf = 's';
	state_apply(&st, &rep, T0 + 30, NULL, &st, NULL);
	ck_assert_int_eq(st.adkim, 'r');
	ck_assert_int_eq(st.aspf, 's');
}
END_TEST

/* The org domain the tree walk found says which names are the domain's
 * organization; without one, only the domain's own subtree. */
START_TEST(test_org_covers)
{
	struct domain_state st;

	in_state(&st, READINESS_VERIFIED, T0);
	snprintf(st.domain, sizeof(st.domain), "shop.example.com");
	ck_assert(state_org_covers(&st, "shop.example.com"));
	ck_assert(state_org_covers(&st, "mail.shop.example.com"));
	ck_assert(!state_org_covers(&st, "example.com"));
	ck_assert(!state_org_covers(&st, "news.example.com"));
	snprintf(st.org, sizeof(st.org), "example.com");
	ck_assert(state_org_covers(&st, "news.example.com"));
	ck_assert(state_org_covers(&st, "example.com"));
	ck_assert(!state_org_covers(&st, "example.net"));
	ck_assert(!state_org_covers(&st, "badexample.com"));
	/* an org that is not a parent of the domain is not trusted */
	snprintf(st.org, sizeof(st.org), "example.net");
	ck_assert(!state_org_covers(&st, "example.net"));
	ck_assert(state_org_covers(&st, "a.shop.example.com"));
	ck_assert(!state_org_covers(&st, ""));
}
END_TEST

START_TEST(test_records_truncated)
{
	static struct report rep;
	struct domain_state st;
	const struct domain_record_status *r;

	memset(&rep, 'a', sizeof(rep)); /* no NUL anywhere */
	rep.nchecks = 1;
	rep.checks[0].type = CHECK_DKIM;
	rep.checks[0].status = CHECK_FAIL;
	rep.checks[0].detail[0] = '\x1b';
	rep.checks[0].detail[1] = '\n';
	memset(&st, 0, sizeof(st));
	state_apply(&st, &rep, T0, NULL, &st, NULL);
	ck_assert_int_eq(st.state, READINESS_PENDING);
	ck_assert_uint_eq(st.nrecords, 1);
	r = &st.records[0];
	ck_assert_uint_eq(r->type, CHECK_DKIM);
	ck_assert_uint_eq(r->status, CHECK_FAIL);
	ck_assert_uint_eq(strlen(r->name), sizeof(r->name) - 1);
	ck_assert_str_eq(r->name + sizeof(r->name) - 4, "...");
	ck_assert_uint_eq(strlen(r->detail), sizeof(r->detail) - 1);
	ck_assert(strncmp(r->detail, "\\x1b\\x0aaa", 10) == 0);
	ck_assert_str_eq(r->detail + sizeof(r->detail) - 4, "...");
	ck_assert_uint_eq(strlen(st.domain), sizeof(st.domain) - 1);
}
END_TEST

/* More results than the state holds: every problem is kept. */
START_TEST(test_records_overflow)
{
	static struct report rep;
	struct domain_state st;
	char name[32];
	uint32_t i, fails = 0;

	memset(&rep, 0, sizeof(rep));
	for (i = 0; i < REPORT_CHECKS_MAX; i++) {
		snprintf(name, sizeof(name), "r%u.example.com", i);
		add(&rep, CHECK_MX, i >= 12 ? CHECK_MISSING : CHECK_PASS, name,
		    "");
	}
	memset(&st, 0, sizeof(st));
	state_apply(&st, &rep, T0, NULL, &st, NULL);
	ck_assert_uint_eq(st.nrecords, DOMAIN_RECORDS_MAX);
	for (i = 0; i < st.nrecords; i++)
		fails += st.records[i].status == CHECK_MISSING;
	ck_assert_uint_eq(fails, 4);
	ck_assert_str_eq(st.records[0].name, "r0.example.com");
	ck_assert_str_eq(st.records[11].name, "r15.example.com");
}
END_TEST

/* A report claiming more results than it can hold decides nothing. */
START_TEST(test_bogus_report)
{
	static struct report rep;
	struct domain_state st;
	struct state_effects fx;

	mkrep(&rep, VERDICT_NOT_READY);
	rep.nchecks = 100000;
	in_state(&st, READINESS_VERIFIED, T0);
	st.nrecords = 1;
	st.records[0].status = CHECK_PASS;
	state_apply(&st, &rep, T0 + WINDOW * 10, NULL, &st, &fx);
	ck_assert_int_eq(st.state, READINESS_VERIFIED);
	ck_assert_uint_eq(st.nrecords, 1);
	ck_assert_uint_eq(st.dns_errors, 1);
	state_apply(&st, NULL, T0 + WINDOW * 11, NULL, &st, &fx);
	ck_assert_int_eq(st.state, READINESS_VERIFIED);
	ck_assert_uint_eq(st.dns_errors, 2);
}
END_TEST

/* A corrupt stored state is treated as unknown; cur is left alone. */
START_TEST(test_invalid_state)
{
	static struct report rep;
	struct domain_state cur, next;
	struct state_effects fx;

	in_state(&cur, 42, T0);
	mkrep(&rep, VERDICT_UNDECIDED);
	state_apply(&cur, &rep, T0 + 5, NULL, &next, &fx);
	ck_assert_int_eq(next.state, READINESS_UNKNOWN);
	ck_assert_int_eq(fx.state_changed, 1);
	ck_assert_int_eq(next.since, T0 + 5);
	ck_assert_int_eq(cur.state, 42);
	ck_assert_int_eq(cur.last_check, T0);
	in_state(&cur, -3, T0);
	mkrep(&rep, VERDICT_NOT_READY);
	state_apply(&cur, &rep, T0 + 5, NULL, &next, &fx);
	ck_assert_int_eq(next.state, READINESS_PENDING);
	/* a stale pending count does not survive entering pending */
	in_state(&cur, READINESS_UNKNOWN, T0);
	cur.pending_checks = 7;
	state_apply(&cur, &rep, T0 + 5, NULL, &next, &fx);
	ck_assert_int_eq(next.next_check, T0 + 5 + MIN);
	ck_assert_uint_eq(next.pending_checks, 1);
}
END_TEST

/* Clock skew and extreme times: no overflow, no early failure. */
START_TEST(test_extreme_times)
{
	struct domain_state st;

	in_state(&st, READINESS_PENDING, T0);
	step(&st, VERDICT_NOT_READY, T0 - WINDOW * 2, NULL, NULL);
	ck_assert_int_eq(st.state, READINESS_PENDING);
	in_state(&st, READINESS_PENDING, INT64_MIN);
	step(&st, VERDICT_NOT_READY, INT64_MAX - 1, NULL, NULL);
	ck_assert_int_eq(st.state, READINESS_FAILED);
	ck_assert_int_eq(st.next_check, INT64_MAX);
	in_state(&st, READINESS_DEGRADED, INT64_MAX - 5);
	step(&st, VERDICT_UNDECIDED, INT64_MAX - 4, NULL, NULL);
	ck_assert_int_eq(st.state, READINESS_DEGRADED);
	ck_assert_int_eq(st.next_check, INT64_MAX);
	state_note_notify_failure(&st, INT64_MAX, NULL);
	ck_assert_int_eq(st.next_check, INT64_MAX);
}
END_TEST

START_TEST(test_due)
{
	struct domain_state st;

	memset(&st, 0, sizeof(st));
	ck_assert(state_due(&st, 0));
	ck_assert(state_due(&st, T0));
	st.next_check = T0;
	ck_assert(!state_due(&st, T0 - 1));
	ck_assert(state_due(&st, T0));
	ck_assert(state_due(&st, T0 + 1));
	st.next_check = INT64_MAX;
	ck_assert(!state_due(&st, T0));
	state_request_now(&st);
	ck_assert(state_due(&st, T0));
	ck_assert(state_due(&st, 0));
	ck_assert(state_due(&st, INT64_MIN));
}
END_TEST

/*
 * Use of unregistered domains: last_used moves at most once a step (a
 * sixteenth of the expiry, at most a day), so a busy domain is one write
 * per step; it expires only after a whole expiry without use, never when
 * its last use is unknown; a check (state_apply) keeps it.
 */
START_TEST(test_use_and_expiry)
{
	static struct domain_state st, next;
	static struct report rep;
	const int64_t expiry = 16 * HOUR; /* step: one hour */
	const int64_t month = 30 * 24 * HOUR;

	memset(&st, 0, sizeof(st));
	snprintf(st.domain, sizeof(st.domain), "unreg.example");
	ck_assert(!state_unused(&st, T0 + 10 * month, expiry));
	ck_assert(state_use_lags(&st, T0, expiry));
	ck_assert(state_note_use(&st, T0, expiry));
	ck_assert(st.last_used == T0);
	ck_assert(!state_use_lags(&st, T0 + HOUR - 1, expiry));
	ck_assert(!state_note_use(&st, T0 + HOUR - 1, expiry));
	ck_assert(st.last_used == T0);
	ck_assert(!state_note_use(&st, T0 - 5, expiry)); /* clock went back */
	ck_assert(state_note_use(&st, T0 + HOUR, expiry));
	ck_assert(st.last_used == T0 + HOUR);

	ck_assert(!state_unused(&st, T0 + HOUR + expiry - 1, expiry));
	ck_assert(state_unused(&st, T0 + HOUR + expiry, expiry));
	ck_assert(!state_unused(&st, T0 + HOUR + expiry, 0));
	ck_assert(!state_unused(&st, INT64_MIN, expiry));

	/* The step is at most a day, however long the expiry. */
	ck_assert(!state_note_use(&st, T0 + HOUR + 24 * HOUR - 1, 10 * month));
	ck_assert(state_note_use(&st, T0 + HOUR + 24 * HOUR, 10 * month));
	/* A tiny expiry records every use. */
	ck_assert(state_note_use(&st, st.last_used + 1, 5));

	/* A check keeps last_used. */
	mkrep(&rep, VERDICT_READY);
	state_apply(&st, &rep, T0 + 2 * month, NULL, &next, NULL);
	ck_assert(next.last_used == st.last_used);
}
END_TEST

START_TEST(test_policy_check)
{
	static const int64_t bad[] = {60, 0};
	struct state_timing pol = state_timing_defaults();
	char err[128];

	ck_assert_int_eq(state_timing_check(&pol, err, sizeof(err)), 0);
	ck_assert_int_eq(pol.pending_window, WINDOW);
	ck_assert_int_eq(pol.grace_period, WINDOW);
	ck_assert_int_eq(pol.refresh_interval, HOUR);
	ck_assert_int_eq(pol.failed_interval, 6 * HOUR);
	pol.grace_period = 0;
	ck_assert_int_eq(state_timing_check(&pol, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "grace_period must be positive, not 0");
	pol = state_timing_defaults();
	pol.failed_interval = -1;
	ck_assert_int_eq(state_timing_check(&pol, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "failed_interval"));
	pol = state_timing_defaults();
	pol.npending_backoff = 0;
	ck_assert_int_eq(state_timing_check(&pol, err, sizeof(err)), -1);
	pol = state_timing_defaults();
	pol.dns_retry = bad;
	pol.ndns_retry = 2;
	ck_assert_int_eq(state_timing_check(&pol, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "DNS retry"));
	pol = state_timing_defaults();
	pol.notify_retry = NULL;
	ck_assert_int_eq(state_timing_check(&pol, err, sizeof(err)), -1);
}
END_TEST

/* An unchecked bad policy still yields sane, positive delays. */
START_TEST(test_bad_policy_tolerated)
{
	static const int64_t zero[] = {0};
	struct state_timing pol = state_timing_defaults();
	struct domain_state st;

	pol.pending_backoff = zero;
	pol.npending_backoff = 1;
	pol.dns_retry = NULL;
	pol.ndns_retry = 0;
	memset(&st, 0, sizeof(st));
	step(&st, VERDICT_NOT_READY, T0, &pol, NULL);
	ck_assert_int_eq(st.next_check, T0 + 1);
	pol.refresh_interval = 0;
	in_state(&st, READINESS_VERIFIED, T0);
	step(&st, VERDICT_UNDECIDED, T0, &pol, NULL);
	ck_assert_int_eq(st.next_check, T0 + 1);
}
END_TEST

START_TEST(test_describe)
{
	struct domain_state st;
	char buf[512];
	size_t n;

	memset(&st, 0, sizeof(st));
	n = state_describe(&st, T0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "unknown: not checked yet");
	ck_assert_uint_eq(n, strlen(buf));

	step(&st, VERDICT_NOT_READY, T0, NULL, NULL);
	n = state_describe(&st, T0 + 3 * HOUR + 12 * MIN, buf, sizeof(buf));
	ck_assert_str_eq(buf, "pending for 3h12m: DKIM "
	                      "1234rpr._domainkey.example.com missing: "
	                      "publish the key; check due now");
	ck_assert_uint_eq(n, strlen(buf));

	step(&st, VERDICT_READY, T0, NULL, NULL);
	state_describe(&st, T0 + 51 * HOUR, buf, sizeof(buf));
	ck_assert_str_eq(buf, "verified for 2d3h: all 3 records valid; "
	                      "check due now");
	state_describe(&st, T0 + 30, buf, sizeof(buf));
	ck_assert_str_eq(buf, "verified for 30s: all 3 records valid; "
	                      "next check in 59m30s");

	state_note_notify_failure(&st, T0, NULL);
	step(&st, VERDICT_UNDECIDED, T0 + 90, NULL, NULL);
	state_describe(&st, T0 + 90, buf, sizeof(buf));
	ck_assert_str_eq(buf, "verified for 1m30s: DKIM "
	                      "1234rpr._domainkey.example.com temperror; "
	                      "DNS trouble on the last check; "
	                      "confirmation mail failed 1 time; "
	                      "next check in 1m");
}
END_TEST

START_TEST(test_describe_bounds)
{
	struct domain_state st;
	char buf[16];
	uint32_t i;

	in_state(&st, READINESS_DEGRADED, T0);
	st.nrecords = UINT32_MAX; /* corrupt: capped at the array */
	for (i = 0; i < DOMAIN_RECORDS_MAX; i++) {
		st.records[i].status = CHECK_MISSING;
		st.records[i].type = 200;
		memset(st.records[i].name, 'n', sizeof(st.records[i].name));
		memset(st.records[i].detail, 'd', sizeof(st.records[i].detail));
	}
	ck_assert_uint_eq(state_describe(&st, T0, buf, sizeof(buf)), 15);
	ck_assert_str_eq(buf, "degraded for...");
	ck_assert_uint_eq(state_describe(&st, T0, buf, 1), 0);
	ck_assert_str_eq(buf, "");
	buf[0] = 'x';
	ck_assert_uint_eq(state_describe(&st, T0, buf, 0), 0);
	ck_assert_int_eq(buf[0], 'x');
	{
		static char big[8192];

		state_describe(&st, T0, big, sizeof(big));
		ck_assert_ptr_nonnull(strstr(big, "record nnnn"));
		ck_assert_uint_lt(strlen(big), sizeof(big));
	}
	st.state = 99;
	state_describe(&st, T0, buf, sizeof(buf));
	ck_assert(strncmp(buf, "invalid for", 11) == 0);
}
END_TEST

static Suite *
state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_names);
	tcase_add_loop_test(tc, test_table_cell, 0, 15);
	tcase_add_test(tc, test_pending_window);
	tcase_add_test(tc, test_grace_period);
	tcase_add_test(tc, test_custom_windows);
	tcase_add_test(tc, test_expiry_waits_for_decisive_check);
	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_since_only_on_change);
	tcase_add_test(tc, test_pending_backoff);
	tcase_add_test(tc, test_intervals_by_state);
	tcase_add_test(tc, test_deadline_cap);
	tcase_add_test(tc, test_dns_errors);
	tcase_add_test(tc, test_dns_retry_cap);
	tcase_add_test(tc, test_confirmation_once);
	tcase_add_test(tc, test_confirmation_no_contact);
	tcase_add_test(tc, test_notify_retry);
	tcase_add_test(tc, test_notify_give_up);
	tcase_add_test(tc, test_records_truncated);
	tcase_add_test(tc, test_org_kept);
	tcase_add_test(tc, test_modes_kept);
	tcase_add_test(tc, test_org_covers);
	tcase_add_test(tc, test_records_overflow);
	tcase_add_test(tc, test_bogus_report);
	tcase_add_test(tc, test_invalid_state);
	tcase_add_test(tc, test_extreme_times);
	tcase_add_test(tc, test_due);
	tcase_add_test(tc, test_use_and_expiry);
	tcase_add_test(tc, test_policy_check);
	tcase_add_test(tc, test_bad_policy_tolerated);
	tcase_add_test(tc, test_describe);
	tcase_add_test(tc, test_describe_bounds);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(state_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
