/*
 * state.h - readiness state transitions, scheduling and their words.
 *
 * NAME
 *	state - the per-domain readiness state machine
 *
 * SYNOPSIS
 *	struct state_timing state_timing_defaults(void);
 *	int state_timing_check(pol, err, errlen);
 *	void state_apply(cur, rep, now, pol, next, fx);
 *	bool state_due(st, now);
 *	void state_request_now(st);
 *	void state_mark_notified(st);
 *	void state_note_notify_failure(st, now, pol);
 *	bool state_use_lags(st, at, expiry);
 *	bool state_note_use(st, at, expiry);
 *	bool state_unused(st, now, expiry);
 *	size_t state_describe(st, now, buf, len);
 *	const char *state_type_label(type);
 *	bool state_org_covers(st, name);
 *	const char *state_org_of(domain, org);
 *
 * DESCRIPTION
 *	state_apply() is a pure function: the result of one check (a report),
 *	the current state and the time in; the next state and what the caller
 *	must do about it out.  No clock is read anywhere in this module; the
 *	caller passes "now" (unix seconds).
 *
 *	Transitions come from a table indexed by [state][verdict]; see
 *	state.c.  In short: every record valid makes any state verified;
 *	a broken record makes unknown pending and verified degraded; pending
 *	past pending_window and degraded past grace_period become failed,
 *	both measured from "since" (entering the state).  DNS trouble (the
 *	undecided verdict) never changes a state, not even to let a window
 *	expire: the expiry waits for the next decisive check.
 *
 *	Times are int64_t unix seconds; intervals are seconds.
 *
 *	state_org_covers() is how a decision without DNS (the milter's owner
 *	lookup) uses the organizational domain the checker's DMARC tree walk
 *	found (st->org): a name belongs to the registered domain's
 *	organization when it is at or below that org.
 */
#ifndef AUTHREADY_STATE_H
#define AUTHREADY_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain.h"
#include "report.h"

#define STATE_REASON_MAX 512
#define STATE_USE_STEPS 16       /* last_used lags at most expiry/16 */
#define STATE_USE_STEP_MAX 86400 /* ... and at most a day */

struct state_timing {
	int64_t pending_window;   /* pending this long -> failed */
	int64_t grace_period;     /* degraded this long -> failed */
	int64_t refresh_interval; /* verified and degraded re-check */
	int64_t failed_interval;  /* failed re-check */
	/* Delays between checks while pending; the last one repeats. */
	const int64_t *pending_backoff;
	size_t npending_backoff;
	/* Delays after 1, 2, ... consecutive undecided checks; the last one
	 * repeats; never later than the state's own interval. */
	const int64_t *dns_retry;
	size_t ndns_retry;
	/* Delays after 1, 2, ... failed confirmation mails; last repeats. */
	const int64_t *notify_retry;
	size_t nnotify_retry;
	uint32_t notify_attempts_max; /* give up after this many; 0 never */
};

struct state_effects {
	bool state_changed;     /* next->state != cur->state */
	bool became_verified;   /* moved into verified: release held mail */
	bool send_confirmation; /* send the confirmation mail (if a contact) */
	int32_t from;           /* enum domain_readiness */
	int32_t to;
	char reason[STATE_REASON_MAX]; /* one sentence for the log */
};

/* state_readiness_name - "pending" etc.; "invalid" out of range. */
const char *state_readiness_name(enum domain_readiness s);

/* state_timing_defaults - 72h windows, 1h refresh, 6h for failed. */
struct state_timing state_timing_defaults(void);

/* state_timing_check - 0 ok; -1 with a sentence in err. */
int state_timing_check(const struct state_timing *pol, char *err,
                       size_t errlen);

/*
 * state_apply - compute the state after a check.  cur may be all zero
 * (unknown, never checked); next may be the same object as cur; fx may be
 * NULL; pol NULL means the defaults.  The report's per-record results are
 * copied (sanitized, cut to fit) into next->records.
 */
void state_apply(const struct domain_state *cur, const struct report *rep,
                 int64_t now, const struct state_timing *pol,
                 struct domain_state *next, struct state_effects *fx);

/* state_due - true when the checker should look at the domain now. */
bool state_due(const struct domain_state *st, int64_t now);

/* state_request_now - make the domain due at once (operator request). */
void state_request_now(struct domain_state *st);

/* state_mark_notified - the confirmation mail was handed to the MTA. */
void state_mark_notified(struct domain_state *st);

/* state_note_notify_failure - count a failed attempt, schedule a retry. */
void state_note_notify_failure(struct domain_state *st, int64_t now,
                               const struct state_timing *pol);

/* state_use_lags - true when state_note_use(st, at, expiry) would move
 * last_used. */
bool state_use_lags(const struct domain_state *st, int64_t at, int64_t expiry);

/*
 * state_note_use - mail used the domain at `at` (unix seconds): move
 * last_used when it lags by a step of the expiry or more.  true when it
 * moved, so the state must be stored.
 */
bool state_note_use(struct domain_state *st, int64_t at, int64_t expiry);

/*
 * state_unused - true when an unregistered domain's state may be removed:
 * no mail used it for expiry seconds.  Never when last_used is unknown (0)
 * or expiry is 0.
 */
bool state_unused(const struct domain_state *st, int64_t now, int64_t expiry);

/* state_type_label - "SPF", "DKIM", "DMARC", "MX" for a stored record
 * type (enum check_type), "record" out of range. */
const char *state_type_label(unsigned type);

/*
 * state_describe - what is wrong, in words, for "authready status".
 * Always NUL-terminates when len > 0; returns the length written.
 */
size_t state_describe(const struct domain_state *st, int64_t now, char *buf,
                      size_t len);

/*
 * state_org_covers - name (normalized) is st->domain, below it, or, when
 * the tree walk found an organizational domain above st->domain, at or
 * below that org.  Without a known org only the domain's own subtree is
 * covered: nothing is guessed from a public suffix list.
 */
bool state_org_covers(const struct domain_state *st, const char *name);

/*
 * state_org_of - the organizational domain of domain by a stored org:
 * org when it is domain or one of its parents, else domain itself (an
 * org "" is unknown).  What state_org_covers() judges by.
 */
const char *state_org_of(const char *domain, const char *org);

#endif
