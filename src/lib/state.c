/*
 * state.c - the readiness state machine: transitions, schedule, words.
 *
 * NAME
 *	state - per-domain readiness transitions with an injected clock
 *
 * SYNOPSIS
 *	#include "state.h"
 *
 *	const char *state_readiness_name(s);
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
 *
 * DESCRIPTION
 *	state_rules[state][verdict] names the state a check leads to and
 *	whether a time window can turn it into failed.  Windows are measured
 *	from "since", which moves only when the state changes, and a check at
 *	exactly the end of a window (elapsed == window) fails: the window has
 *	then run out.
 *
 *	Undecided checks (DNS trouble) keep every state as it is.  This holds
 *	even past a window: a pending domain whose window ran out during a DNS
 *	outage stays pending, and a degraded domain whose grace ran out stays
 *	degraded, until a decisive check says "not ready".  An outage on our
 *	side must never be what fails a domain; the cost is that a failing
 *	domain is failed one decisive check late.
 *
 *	Scheduling (next_check) comes from state_schedule[]: unknown and
 *	pending back off through pending_backoff (1, 2, 5, 15 min, then the
 *	last delay, hourly, repeats), indexed by the decisive checks made
 *	while pending; verified and degraded use refresh_interval; failed
 *	uses failed_interval.  An undecided check retries after dns_retry
 *	indexed by the run of undecided checks, never later than the state's
 *	own delay.  A check is never scheduled past the moment a window runs
 *	out, so pending and degraded domains fail on time.
 *
 *	The confirmation mail: state_apply() asks for it (send_confirmation)
 *	when a domain becomes verified and no mail was handed to the MTA yet,
 *	and again at each check while verified after a failed attempt, up to
 *	notify_attempts_max attempts.  The caller sends only when the domain
 *	has a contact address; a domain verified while it had none is not
 *	mailed until it becomes verified again.
 *
 *	Unregistered domains: their states go when no mail used them for an
 *	expiry (UnregisteredExpiry).  last_used is the time of the last use
 *	recorded; state_note_use() moves it only when it lags by more than
 *	a sixteenth of the expiry (at most a day), so a busy domain costs
 *	one write per step, not one per message, and still never expires.
 *
 *	Record texts are copied through sanitize_again(): cut to fit with a
 *	"..." mark, never trusting NUL termination of the report's fields,
 *	and not escaping their escapes again.
 *	When a report has more results than the state holds, the failing
 *	ones are kept first.
 */
#include "state.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "domainname.h"
#include "sanitize.h"

#define NELEM(a) (sizeof(a) / sizeof(*(a)))

#define MINUTE 60
#define HOUR (60 * MINUTE)

#define STATE_NSTATES (READINESS_FAILED + 1)
#define STATE_NVERDICTS (VERDICT_UNDECIDED + 1)
#define STATE_TIME_BUF 32 /* "2024-05-01T10:00:00Z" or "@-9223..." */
#define STATE_DURATION_BUF 32

static const char *const readiness_names[] = {
    [READINESS_UNKNOWN] = "unknown",   [READINESS_PENDING] = "pending",
    [READINESS_VERIFIED] = "verified", [READINESS_DEGRADED] = "degraded",
    [READINESS_FAILED] = "failed",
};

static const char *const state_type_labels[] = {
    [CHECK_SPF] = "SPF",
    [CHECK_DKIM] = "DKIM",
    [CHECK_DMARC] = "DMARC",
    [CHECK_MX] = "MX",
};

/* Default delays (seconds). */
static const int64_t state_default_pending_backoff[] = {
    1 * MINUTE, 2 * MINUTE, 5 * MINUTE, 15 * MINUTE, HOUR,
};
static const int64_t state_default_dns_retry[] = {
    1 * MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    15 * MINUTE,
};
static const int64_t state_default_notify_retry[] = {
    5 * MINUTE,
    15 * MINUTE,
    HOUR,
    6 * HOUR,
};

/* Transitions ------------------------------------------------------------ */

enum state_expiry {
	EXPIRY_NONE,
	EXPIRY_PENDING, /* pending_window from since, then failed */
	EXPIRY_GRACE,   /* grace_period from since, then failed */
};

struct state_rule {
	int8_t to;      /* enum domain_readiness */
	uint8_t expiry; /* enum state_expiry */
};

/*
 * One row per state, as the table it is (clang-format would scatter it).
 * TO(s): the check leads to s.  UNTIL(s, w): stays s until window w has
 * run out since entering s, then failed.
 */
/* clang-format off */
#define TO(s) {READINESS_##s, EXPIRY_NONE}
#define UNTIL(s, w) {READINESS_##s, EXPIRY_##w}
_Static_assert(VERDICT_READY == 0 && VERDICT_NOT_READY == 1 &&
    VERDICT_UNDECIDED == 2, "state_rules columns follow report_verdict");
_Static_assert(READINESS_UNKNOWN == 0 && READINESS_PENDING == 1 &&
    READINESS_VERIFIED == 2 && READINESS_DEGRADED == 3 &&
    READINESS_FAILED == 4, "state_rules rows follow domain_readiness");

static const struct state_rule state_rules[STATE_NSTATES][STATE_NVERDICTS] = {
	/* READY       NOT_READY                UNDECIDED */
	{TO(VERIFIED), TO(PENDING),             TO(UNKNOWN)},	/* unknown */
	{TO(VERIFIED), UNTIL(PENDING, PENDING), TO(PENDING)},	/* pending */
	{TO(VERIFIED), TO(DEGRADED),            TO(VERIFIED)},	/* verified */
	{TO(VERIFIED), UNTIL(DEGRADED, GRACE),  TO(DEGRADED)},	/* degraded */
	{TO(VERIFIED), TO(FAILED),              TO(FAILED)},	/* failed */
};
#undef TO
#undef UNTIL
/* clang-format on */

/* How each state picks its next check. */
enum state_sched {
	SCHED_BACKOFF, /* pending_backoff */
	SCHED_REFRESH, /* refresh_interval */
	SCHED_FAILED,  /* failed_interval */
};

static const uint8_t state_schedule[STATE_NSTATES] = {
    [READINESS_UNKNOWN] = SCHED_BACKOFF,  [READINESS_PENDING] = SCHED_BACKOFF,
    [READINESS_VERIFIED] = SCHED_REFRESH, [READINESS_DEGRADED] = SCHED_REFRESH,
    [READINESS_FAILED] = SCHED_FAILED,
};

/* state_readiness_name - "pending" etc.; "invalid" out of range. */
const char *
state_readiness_name(enum domain_readiness s)
{
	if ((size_t)s >= NELEM(readiness_names))
		return "invalid";
	return readiness_names[s];
}

/* state_valid - a state value this module knows. */
static bool
state_valid(int32_t s)
{
	return s >= 0 && s < STATE_NSTATES;
}

/* state_type_label - "DKIM" etc. for a stored record type. */
const char *
state_type_label(unsigned type)
{
	if (type >= NELEM(state_type_labels))
		return "record";
	return state_type_labels[type];
}

/* Time arithmetic that cannot overflow --------------------------------- */

/* time_add - t + d, saturating at INT64_MAX (d >= 0). */
static int64_t
time_add(int64_t t, int64_t d)
{
	int64_t r;

	if (__builtin_add_overflow(t, d, &r))
		return d > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* time_elapsed - now - since, 0 when since is later, saturating. */
static int64_t
time_elapsed(int64_t now, int64_t since)
{
	int64_t r;

	if (now <= since)
		return 0;
	if (__builtin_sub_overflow(now, since, &r))
		return INT64_MAX;
	return r;
}

/* delay_at - entry idx of a delay table, the last one repeating. */
static int64_t
delay_at(const int64_t *tab, size_t n, uint32_t idx, int64_t fallback)
{
	int64_t d;

	if (tab == NULL || n == 0)
		d = fallback;
	else
		d = tab[idx < n ? idx : n - 1];
	return d > 0 ? d : 1;
}

/* Policy ------------------------------------------------------------------ */

/* state_timing_defaults - the documented defaults. */
struct state_timing
state_timing_defaults(void)
{
	struct state_timing pol = {
	    .pending_window = 72 * HOUR,
	    .grace_period = 72 * HOUR,
	    .refresh_interval = HOUR,
	    .failed_interval = 6 * HOUR,
	    .pending_backoff = state_default_pending_backoff,
	    .npending_backoff = NELEM(state_default_pending_backoff),
	    .dns_retry = state_default_dns_retry,
	    .ndns_retry = NELEM(state_default_dns_retry),
	    .notify_retry = state_default_notify_retry,
	    .nnotify_retry = NELEM(state_default_notify_retry),
	    .notify_attempts_max = 10,
	};

	return pol;
}

static const struct {
	const char *name;
	size_t off;
} state_timing_intervals[] = {
    {"pending_window", offsetof(struct state_timing, pending_window)},
    {"grace_period", offsetof(struct state_timing, grace_period)},
    {"refresh_interval", offsetof(struct state_timing, refresh_interval)},
    {"failed_interval", offsetof(struct state_timing, failed_interval)},
};

/* timing_table_ok - a delay table is present and every delay positive. */
static bool
timing_table_ok(const int64_t *tab, size_t n)
{
	size_t i;

	if (tab == NULL || n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (tab[i] <= 0)
			return false;
	return true;
}

/* state_timing_check - every interval and delay must be positive. */
int
state_timing_check(const struct state_timing *pol, char *err, size_t errlen)
{
	size_t i;
	int64_t v;

	for (i = 0; i < NELEM(state_timing_intervals); i++) {
		memcpy(&v, (const char *)pol + state_timing_intervals[i].off,
		       sizeof(v));
		if (v <= 0) {
			snprintf(err, errlen, "%s must be positive, not %lld",
			         state_timing_intervals[i].name, (long long)v);
			return -1;
		}
	}
	if (!timing_table_ok(pol->pending_backoff, pol->npending_backoff)) {
		snprintf(err, errlen, "pending backoff needs positive delays");
		return -1;
	}
	if (!timing_table_ok(pol->dns_retry, pol->ndns_retry)) {
		snprintf(err, errlen, "DNS retry needs positive delays");
		return -1;
	}
	if (!timing_table_ok(pol->notify_retry, pol->nnotify_retry)) {
		snprintf(err, errlen, "notify retry needs positive delays");
		return -1;
	}
	return 0;
}

/* Bounded text ------------------------------------------------------------ */

struct sbuf {
	char *p;
	size_t len;
	size_t used;
};

/* sb_printf - append; a cut is marked with "..." at the end. */
static void __attribute__((format(printf, 2, 3)))
sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	if (sb->len == 0)
		return;
	room = sb->len - sb->used;
	va_start(ap, fmt);
	n = vsnprintf(sb->p + sb->used, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->p[sb->used] = '\0';
		return;
	}
	if ((size_t)n < room) {
		sb->used += (size_t)n;
		return;
	}
	sb->used = sb->len - 1;
	if (sb->len > 3)
		memcpy(sb->p + sb->len - 4, "...", 4);
}

/* fmt_time - UTC "2024-05-01T10:00:00Z", or "@secs" if out of range. */
static const char *
fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
	return buf;
}

/* fmt_duration - "3d", "3h12m", "1m30s", "0s": two units at most. */
static const char *
fmt_duration(int64_t secs, char *buf, size_t len)
{
	static const struct {
		int64_t size;
		char unit;
	} units[] = {{24 * HOUR, 'd'}, {HOUR, 'h'}, {MINUTE, 'm'}, {1, 's'}};
	size_t i;
	int64_t big, small;

	if (secs <= 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	for (i = 0; units[i].size > secs; i++)
		;
	big = secs / units[i].size;
	small = i + 1 < NELEM(units)
	            ? (secs % units[i].size) / units[i + 1].size
	            : 0;
	if (small > 0)
		snprintf(buf, len, "%lld%c%lld%c", (long long)big,
		         units[i].unit, (long long)small, units[i + 1].unit);
	else
		snprintf(buf, len, "%lld%c", (long long)big, units[i].unit);
	return buf;
}

/* Records -------------------------------------------------------------- */

/* copy_text - maybe unterminated report field into a state field; the
 * report's text is already escaped, and is not escaped twice. */
static void
copy_text(char *dst, size_t dstlen, const char *src, size_t srcmax)
{
	sanitize_again(dst, dstlen, (const unsigned char *)src,
	               strnlen(src, srcmax));
}

/* state_copy_records - report results into st->records, problems first. */
static void
state_copy_records(struct domain_state *st, const struct report *rep)
{
	bool keep[REPORT_CHECKS_MAX] = {false};
	size_t n, i, j, room = DOMAIN_RECORDS_MAX;

	n = rep->nchecks < REPORT_CHECKS_MAX ? rep->nchecks : REPORT_CHECKS_MAX;
	for (i = 0; i < n && room > 0; i++)
		if (rep->checks[i].status != CHECK_PASS) {
			keep[i] = true;
			room--;
		}
	for (i = 0; i < n && room > 0; i++)
		if (!keep[i]) {
			keep[i] = true;
			room--;
		}
	memset(st->records, 0, sizeof(st->records));
	for (i = 0, j = 0; i < n; i++) {
		const struct check_result *c = &rep->checks[i];
		struct domain_record_status *r;

		if (!keep[i])
			continue;
		r = &st->records[j++];
		r->type = (uint8_t)c->type;
		r->status = (uint8_t)c->status;
		copy_text(r->name, sizeof(r->name), c->name, sizeof(c->name));
		copy_text(r->detail, sizeof(r->detail), c->detail,
		          sizeof(c->detail));
	}
	st->nrecords = (uint32_t)j;
}

/* state_verdict - a report too large to be real decides nothing. */
static enum report_verdict
state_verdict(const struct report *rep)
{
	if (rep == NULL || rep->nchecks > REPORT_CHECKS_MAX)
		return VERDICT_UNDECIDED;
	return report_verdict(rep);
}

/* Transition ------------------------------------------------------------ */

/* state_window - the window of an expiry kind. */
static int64_t
state_window(const struct state_timing *pol, unsigned expiry)
{
	return expiry == EXPIRY_PENDING ? pol->pending_window
	                                : pol->grace_period;
}

/* state_deadline - when the current state's window runs out, or max. */
static int64_t
state_deadline(const struct domain_state *st, const struct state_timing *pol)
{
	if (st->state == READINESS_PENDING)
		return time_add(st->since, pol->pending_window);
	if (st->state == READINESS_DEGRADED)
		return time_add(st->since, pol->grace_period);
	return INT64_MAX;
}

/* state_next_check - the table delay, shortened by DNS trouble and
 * by the window deadline. */
static int64_t
state_next_check(const struct domain_state *st, enum report_verdict verdict,
                 int64_t now, const struct state_timing *pol)
{
	int64_t delay, retry, at, deadline;

	switch (state_schedule[st->state]) {
	case SCHED_BACKOFF:
		delay = delay_at(pol->pending_backoff, pol->npending_backoff,
		                 st->pending_checks, pol->refresh_interval);
		break;
	case SCHED_REFRESH:
		delay = delay_at(NULL, 0, 0, pol->refresh_interval);
		break;
	default:
		delay = delay_at(NULL, 0, 0, pol->failed_interval);
		break;
	}
	if (verdict == VERDICT_UNDECIDED) {
		retry = delay_at(pol->dns_retry, pol->ndns_retry,
		                 st->dns_errors - 1, delay);
		if (retry < delay)
			delay = retry;
	}
	at = time_add(now, delay);
	deadline = state_deadline(st, pol);
	if (deadline > now && deadline < at)
		at = deadline;
	return at;
}

/* state_transit - the table lookup and the window escalation. Returns
 * the expiry that failed the domain, or EXPIRY_NONE. */
static unsigned
state_transit(int32_t from, enum report_verdict verdict, int64_t since,
              int64_t now, const struct state_timing *pol, int32_t *to)
{
	const struct state_rule *rule = &state_rules[from][verdict];

	*to = rule->to;
	if (rule->expiry != EXPIRY_NONE &&
	    time_elapsed(now, since) >= state_window(pol, rule->expiry)) {
		*to = READINESS_FAILED;
		return rule->expiry;
	}
	return EXPIRY_NONE;
}

/* state_counters - check times and the two counters. */
static void
state_counters(struct domain_state *st, const struct domain_state *cur,
               enum report_verdict verdict, int64_t now)
{
	if (st->first_seen == 0)
		st->first_seen = now;
	st->last_check = now;
	if (verdict == VERDICT_READY)
		st->last_success = now;
	if (verdict != VERDICT_UNDECIDED)
		st->dns_errors = 0;
	else if (st->dns_errors < UINT32_MAX)
		st->dns_errors++;
	if (st->state != READINESS_PENDING || cur->state != READINESS_PENDING)
		st->pending_checks = 0;
}

/* Effects -------------------------------------------------------------- */

/* first_problem - the first record that is not a pass, or NULL. */
static const struct domain_record_status *
first_problem(const struct domain_state *st)
{
	uint32_t i;

	for (i = 0; i < st->nrecords && i < DOMAIN_RECORDS_MAX; i++)
		if (st->records[i].status != CHECK_PASS)
			return &st->records[i];
	return NULL;
}

/* reason_what - the first half of the reason: what the check saw. */
static void
reason_what(struct sbuf *sb, const struct domain_state *st,
            enum report_verdict verdict)
{
	const struct domain_record_status *r = first_problem(st);

	if (r != NULL && r->status == CHECK_TEMPERROR)
		sb_printf(sb,
		          "DNS trouble hid the %s record at %.*s (%u in a row)",
		          state_type_label(r->type), (int)sizeof(r->name),
		          r->name, st->dns_errors);
	else if (r != NULL)
		sb_printf(sb, "%s record at %.*s is %s",
		          state_type_label(r->type), (int)sizeof(r->name),
		          r->name, check_status_name(r->status));
	else if (verdict == VERDICT_UNDECIDED)
		sb_printf(sb, "check undecided (%u in a row)", st->dns_errors);
	else if (st->nrecords == 0)
		sb_printf(sb, "no record was checked");
	else
		sb_printf(sb, "every record is valid");
}

/* state_reason - one sentence: what was seen, and the state it led to. */
static void
state_reason(char *buf, size_t len, const struct domain_state *st,
             int64_t from_since, int32_t from, enum report_verdict verdict,
             unsigned expired, const struct state_timing *pol)
{
	struct sbuf sb = {buf, len, 0};
	char t[STATE_TIME_BUF], d[STATE_DURATION_BUF];

	buf[0] = '\0';
	reason_what(&sb, st, verdict);
	if (expired != EXPIRY_NONE) {
		sb_printf(
		    &sb, "; failed: %s since %s, past the %s %s",
		    state_readiness_name(from),
		    fmt_time(from_since, t, sizeof(t)),
		    fmt_duration(state_window(pol, expired), d, sizeof(d)),
		    expired == EXPIRY_PENDING ? "window" : "grace period");
		return;
	}
	sb_printf(&sb, "; %s since %s", state_readiness_name(st->state),
	          fmt_time(st->since, t, sizeof(t)));
	if (from != st->state)
		sb_printf(&sb, " (was %s)", state_readiness_name(from));
}

/* state_confirm - whether to (re)send the confirmation mail now. */
static bool
state_confirm(const struct domain_state *st, bool became_verified,
              const struct state_timing *pol)
{
	if (st->state != READINESS_VERIFIED || st->notified)
		return false;
	if (pol->notify_attempts_max != 0 &&
	    st->notify_attempts >= pol->notify_attempts_max)
		return false;
	return became_verified || st->notify_attempts > 0;
}

/* state_apply - one check in, the next state and its effects out. */
void
state_apply(const struct domain_state *cur, const struct report *rep,
            int64_t now, const struct state_timing *pol,
            struct domain_state *next, struct state_effects *fx)
{
	struct state_timing defpol;
	struct domain_state st = *cur;
	enum report_verdict verdict = state_verdict(rep);
	int32_t from = state_valid(cur->state) ? cur->state : READINESS_UNKNOWN;
	int32_t to;
	unsigned expired;
	bool changed;

	if (pol == NULL) {
		defpol = state_timing_defaults();
		pol = &defpol;
	}
	expired = state_transit(from, verdict, cur->since, now, pol, &to);
	changed = to != cur->state;
	st.state = to;
	if (changed || (to == READINESS_UNKNOWN && st.since == 0))
		st.since = now;
	if (st.domain[0] == '\0' && rep != NULL)
		copy_text(st.domain, sizeof(st.domain), rep->domain,
		          sizeof(rep->domain));
	if (rep != NULL && rep->nchecks <= REPORT_CHECKS_MAX)
		state_copy_records(&st, rep);
	/* A check whose tree walk DNS cut short keeps the last org known. */
	if (rep != NULL && rep->org[0] != '\0')
		copy_text(st.org, sizeof(st.org), rep->org, sizeof(rep->org));
	/* The same for the alignment modes: kept until a record is read. */
	if (rep != NULL && rep->adkim != 0 && rep->aspf != 0) {
		st.adkim = rep->adkim;
		st.aspf = rep->aspf;
	}
	state_counters(&st, cur, verdict, now);
	st.next_check = state_next_check(&st, verdict, now, pol);
	if (st.state == READINESS_PENDING && verdict != VERDICT_UNDECIDED &&
	    st.pending_checks < UINT32_MAX)
		st.pending_checks++;
	if (fx != NULL) {
		memset(fx, 0, sizeof(*fx));
		fx->state_changed = changed;
		fx->became_verified = changed && to == READINESS_VERIFIED;
		fx->send_confirmation =
		    state_confirm(&st, fx->became_verified, pol);
		fx->from = from;
		fx->to = to;
		state_reason(fx->reason, sizeof(fx->reason), &st, cur->since,
		             from, verdict, expired, pol);
	}
	*next = st;
}

/* Scheduling and notification ------------------------------------------ */

/* state_due - next_check has come. */
bool
state_due(const struct domain_state *st, int64_t now)
{
	return now >= st->next_check;
}

/* state_request_now - next_check in the past for any clock. */
void
state_request_now(struct domain_state *st)
{
	st->next_check = INT64_MIN;
}

/* state_mark_notified - the mail is with the MTA; never send again. */
void
state_mark_notified(struct domain_state *st)
{
	st->notified = 1;
	if (st->notify_attempts < UINT32_MAX)
		st->notify_attempts++;
}

/* state_note_notify_failure - one more attempt; retry at the next delay. */
void
state_note_notify_failure(struct domain_state *st, int64_t now,
                          const struct state_timing *pol)
{
	struct state_timing defpol;
	int64_t at;

	if (pol == NULL) {
		defpol = state_timing_defaults();
		pol = &defpol;
	}
	if (st->notify_attempts < UINT32_MAX)
		st->notify_attempts++;
	if (pol->notify_attempts_max != 0 &&
	    st->notify_attempts >= pol->notify_attempts_max)
		return;
	at = time_add(now,
	              delay_at(pol->notify_retry, pol->nnotify_retry,
	                       st->notify_attempts - 1, pol->refresh_interval));
	if (at < st->next_check)
		st->next_check = at;
}

/* Use of unregistered domains ------------------------------------------ */

/* state_use_step - how far last_used may lag: a fraction of the expiry,
 * at most a day, so a used domain costs few writes and never expires. */
static int64_t
state_use_step(int64_t expiry)
{
	int64_t step = expiry / STATE_USE_STEPS;

	return step < STATE_USE_STEP_MAX ? step : STATE_USE_STEP_MAX;
}

/* state_use_lags - a use at `at` would move last_used. */
bool
state_use_lags(const struct domain_state *st, int64_t at, int64_t expiry)
{
	if (at <= st->last_used)
		return false;
	return st->last_used <= 0 ||
	       time_elapsed(at, st->last_used) >= state_use_step(expiry);
}

/* state_note_use - mail used the domain at `at`; true when last_used moved
 * (the state needs writing). */
bool
state_note_use(struct domain_state *st, int64_t at, int64_t expiry)
{
	if (!state_use_lags(st, at, expiry))
		return false;
	st->last_used = at;
	return true;
}

/* state_unused - no mail for expiry seconds; an unknown last use (0, a
 * state written before uses were recorded) is never unused. */
bool
state_unused(const struct domain_state *st, int64_t now, int64_t expiry)
{
	return expiry > 0 && st->last_used > 0 &&
	       time_elapsed(now, st->last_used) >= expiry;
}

/* Status text ------------------------------------------------------------ */

/* describe_records - every record that is not a pass, with its detail. */
static void
describe_records(struct sbuf *sb, const struct domain_state *st)
{
	uint32_t i, n = st->nrecords;
	const char *sep = ": ";
	bool any = false;

	if (n > DOMAIN_RECORDS_MAX)
		n = DOMAIN_RECORDS_MAX;
	for (i = 0; i < n; i++) {
		const struct domain_record_status *r = &st->records[i];

		if (r->status == CHECK_PASS)
			continue;
		sb_printf(sb, "%s%s %.*s %s", sep, state_type_label(r->type),
		          (int)sizeof(r->name), r->name,
		          check_status_name(r->status));
		if (r->detail[0] != '\0')
			sb_printf(sb, ": %.*s", (int)sizeof(r->detail),
			          r->detail);
		sep = "; ";
		any = true;
	}
	if (!any && n > 0)
		sb_printf(sb, ": all %u records valid", n);
}

/* state_describe - "pending for 3h12m: DKIM x._domainkey... missing: ...". */
size_t
state_describe(const struct domain_state *st, int64_t now, char *buf,
               size_t len)
{
	struct sbuf sb = {buf, len, 0};
	char d[STATE_DURATION_BUF];

	if (buf == NULL || len == 0)
		return 0;
	buf[0] = '\0';
	if (st->state == READINESS_UNKNOWN && st->first_seen == 0) {
		sb_printf(&sb, "unknown: not checked yet");
		return sb.used;
	}
	sb_printf(&sb, "%s for %s",
	          state_readiness_name((enum domain_readiness)st->state),
	          fmt_duration(time_elapsed(now, st->since), d, sizeof(d)));
	describe_records(&sb, st);
	if (st->dns_errors == 1)
		sb_printf(&sb, "; DNS trouble on the last check");
	else if (st->dns_errors > 1)
		sb_printf(&sb, "; DNS trouble on the last %u checks",
		          st->dns_errors);
	if (st->state == READINESS_VERIFIED && !st->notified &&
	    st->notify_attempts > 0)
		sb_printf(&sb, "; confirmation mail failed %u time%s",
		          st->notify_attempts,
		          st->notify_attempts == 1 ? "" : "s");
	if (state_due(st, now))
		sb_printf(&sb, "; check due now");
	else
		sb_printf(&sb, "; next check in %s",
		          fmt_duration(time_elapsed(st->next_check, now), d,
		                       sizeof(d)));
	return sb.used;
}

const char *
state_org_of(const char *domain, const char *org)
{
	if (org == NULL || org[0] == '\0')
		return domain;
	/* an org that is not the domain or one of its parents is ignored */
	if (strcmp(org, domain) != 0 && !domain_is_below(domain, org))
		return domain;
	return org;
}

bool
state_org_covers(const struct domain_state *st, const char *name)
{
	const char *org = state_org_of(st->domain, st->org);

	if (st->domain[0] == '\0' || name == NULL || name[0] == '\0')
		return false;
	return strcmp(name, org) == 0 || domain_is_below(name, org);
}
