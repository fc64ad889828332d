/*
 * decide.c - one MAIL FROM judged on the daemon's store and checker,
 *	whichever door it came through; see decide.h.
 *
 * SYNOPSIS
 *	void decide_init(store, checkerd);
 *	void decide_fini(void);
 *	void decide_sender(cfg, rq, res);
 *	void decide_log(rq, f, d);
 *	void decide_mailbox(cfg, local, local_cut, domain, f, d);
 *	bool decide_hold_index(domain, queue_id, mailbox, reason, door);
 *	int decide_metrics_register(m, err, errlen);
 *	size_t decide_state_label(f);
 *	void decide_count(action, state_label);
 *
 * DESCRIPTION
 *	Store readers come from a pool without locks (an atomic exchange
 *	to take one, another to give it back): a lookup takes one, reads and
 *	gives it back, so reader slots do not grow with connections and
 *	deciding threads never wait for each other.
 *
 *	decide_sender() gives sender.c its reads and its wait (struct
 *	sender_env on the reader pool and the checker thread), has
 *	policy_decide() pick the action and logs it.  A door that must not
 *	block (the policy door's event loop) asks without the wait: when the
 *	rules want one, nothing is logged and wanted_wait says so, and the
 *	door asks again from a thread that may wait.  A door that logs
 *	later (the milter with FromCheck, whose line at end of headers names
 *	both identities) asks quietly and calls decide_log() itself when the
 *	envelope settles the transaction.  decide_mailbox() runs the same
 *	rules and policy on a mailbox parsed elsewhere (the From header's,
 *	through sender_facts_domain()) and logs nothing.  A door that can
 *	replace the sender (the milter, SMFIF_CHGFROM) names the fallback
 *	address in the request: OnMailFromNotReady fallback then applies
 *	(fallback.c), and the line says fallback=; decide_mailbox() always
 *	applies it (a From needs no envelope change).  Both tell the
 *	rules when the replica (replica.c, StoreDSN) is ReplicaMaxLag behind
 *	(registry_stale): an unregistered domain is then a tempfail, not a
 *	reject, whichever door asked.
 *
 *	Metrics (metricsd.c serves them): every decision is counted by
 *	action and state where it is logged (decide_log(), or the milter's
 *	line at end of headers through decide_count()), whether the line
 *	is written or not; each judgement's time, the check it waited for
 *	included, goes into a histogram by identity (envelope or From);
 *	a judgement that waited for a check is counted as answered or timed
 *	out.  One relaxed atomic add each; nothing else on the path.
 *
 * DIAGNOSTICS
 *	Every judged MAIL FROM is one log line: session or queue ID, client,
 *	sender, domain, state, action and reason, all sanitized, and an
 *	oddity of the reverse-path that was let through (oddity=).  A store
 *	that cannot be read gives a tempfail, never a reject.
 *	decide_hold_index() writes the held entry and, with WebhookURL, its
 *	"held" event (outbox.h) in one transaction.
 */
#include "decide.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fallback.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "release.h"
#include "replica.h"
#include "snapshot.h"
#include "state.h"
#include "text.h"

/* Idle readers: a slot holds one or NULL, the first slots first.  Taking
 * and giving back are an atomic exchange each, so deciding threads never
 * wait for each other; a search passes only the slots whose readers are
 * in use at that moment. */
struct decide_pool {
	_Atomic(struct store_reader *) slot[DECIDE_READERS_MAX];
};

/* The label values of the decision metrics: the readiness names (enum
 * domain_readiness), then these two; the action names are policy.c's
 * (filled by decide_metrics_register). */
#define DECIDE_STATE_UNREGISTERED 5
#define DECIDE_STATE_NONE 6 /* the path gave no domain */
static const char *const decide_state_labels[] = {
    "unknown", "pending",      "verified", "degraded",
    "failed",  "unregistered", "none",
};
static const char *decide_action_labels[POLICY_ACTIONS];
static const char *const decide_identity_labels[] = {"envelope", "from"};
static const char *const decide_wait_labels[] = {"answered", "timed_out"};

static struct metrics_family decide_decisions = {
    .name = "authready_decisions_total",
    .help = "Judged senders by the action taken and the state of the "
            "domain that decided it.",
    .type = METRICS_COUNTER,
    .nlabels = 2,
    .label = {{"action", (const char *const *)decide_action_labels,
               POLICY_ACTIONS},
              {"state", decide_state_labels, 7}},
};
static struct metrics_family decide_seconds = {
    .name = "authready_decision_duration_seconds",
    .help = "Time to judge one identity, a wait for its check included.",
    .type = METRICS_HISTOGRAM,
    .nlabels = 1,
    .label = {{"identity", decide_identity_labels, 2}},
    .bounds_us = metrics_latency_bounds_us,
};
static struct metrics_family decide_waits = {
    .name = "authready_check_waits_total",
    .help = "Judgements that waited for a check (CheckWait), by whether "
            "the check answered in time.",
    .type = METRICS_COUNTER,
    .nlabels = 1,
    .label = {{"outcome", decide_wait_labels, 2}},
};

/* Set once by decide_init() before a door opens; read-only afterwards. */
static struct store *decide_store;
static struct checkerd *decide_checkerd;
static struct replica *decide_replica; /* NULL: no StoreDSN */
static struct decide_pool decide_pool;

/* Reader pool ----------------------------------------------------------- */

/* decide_reader_get - an idle reader, or a new one. */
static struct store_reader *
decide_reader_get(void)
{
	struct store_reader *rd;
	char err[256];

	for (unsigned k = 0; k < DECIDE_READERS_MAX; k++) {
		if (atomic_load_explicit(&decide_pool.slot[k],
		                         memory_order_relaxed) == NULL)
			continue;
		rd = atomic_exchange(&decide_pool.slot[k], NULL);
		if (rd != NULL)
			return rd;
	}
	if (store_reader_open(decide_store, &rd, err, sizeof(err)) != 0) {
		log_msg(LOG_ERR, "event=store-error error=\"%s\"", err);
		return NULL;
	}
	return rd;
}

/* decide_reader_put - back to the pool; an extra reader is closed. */
static void
decide_reader_put(struct store_reader *rd)
{
	for (unsigned k = 0; k < DECIDE_READERS_MAX; k++) {
		struct store_reader *empty = NULL;

		if (atomic_compare_exchange_strong(&decide_pool.slot[k], &empty,
		                                   rd))
			return;
	}
	store_reader_close(rd); /* more readers than slots: the extra goes */
}

void
decide_init(struct store *store, struct checkerd *checkerd,
            struct replica *replica)
{
	decide_store = store;
	decide_checkerd = checkerd;
	decide_replica = replica;
}

void
decide_fini(void)
{
	for (unsigned i = 0; i < DECIDE_READERS_MAX; i++)
		store_reader_close(atomic_exchange(&decide_pool.slot[i], NULL));
}

/* The sender module's env: the store and the checker thread ----------- */

/* One MAIL FROM's reads and wait (sender.h's struct sender_env). */
struct decide_io {
	struct store_reader *rd; /* between begin and end */
	uint64_t gen;            /* checker commits seen */
	struct timespec deadline;
	bool may_wait;
	bool wanted_wait;
};

/* decide_corrupt - log a record that failed validation. */
static int
decide_corrupt(int rc, const char *domain, const char *err, const char *then)
{
	if (rc == STORE_CORRUPT)
		log_msg(LOG_WARNING,
		        "event=store-corrupt domain=%s error=\"%s\"%s", domain,
		        err, then);
	return rc;
}

/* decide_begin - a pooled reader and one read snapshot. */
static int
decide_begin(void *impl)
{
	struct decide_io *io = impl;
	char err[256];

	if ((io->rd = decide_reader_get()) == NULL)
		return STORE_ERROR;
	if (store_read_begin(io->rd, err, sizeof(err)) != STORE_OK) {
		log_msg(LOG_ERR, "event=store-error error=\"%s\"", err);
		decide_reader_put(io->rd);
		io->rd = NULL;
		return STORE_ERROR;
	}
	return STORE_OK;
}

/* decide_end - end the snapshot; the reader goes back to the pool. */
static void
decide_end(void *impl)
{
	struct decide_io *io = impl;

	store_read_end(io->rd);
	decide_reader_put(io->rd);
	io->rd = NULL;
}

/* decide_state - a state summary inside the snapshot. */
static int
decide_state(void *impl, const char *domain,
             struct storecodec_state_summary *sum)
{
	struct decide_io *io = impl;
	char err[256];

	return decide_corrupt(
	    store_read_state(io->rd, domain, sum, err, sizeof(err)), domain,
	    err, " (re-checked)");
}

/* decide_reg - a corrupt entry counts as absent (the CLI's check
 * reports it). */
static int
decide_reg(void *impl, const char *domain, struct storecodec_reg_summary *reg)
{
	struct decide_io *io = impl;
	char err[256];

	return decide_corrupt(
	    store_read_reg(io->rd, domain, reg, err, sizeof(err)), domain, err,
	    "");
}

/* decide_peek - a state summary in a read of its own. */
static int
decide_peek(void *impl, const char *domain,
            struct storecodec_state_summary *sum)
{
	struct store_reader *rd = decide_reader_get();
	char err[256];
	int rc;

	(void)impl;
	if (rd == NULL)
		return STORE_ERROR;
	rc = store_state_peek(rd, domain, sum, err, sizeof(err));
	decide_reader_put(rd);
	return decide_corrupt(rc, domain, err, " (re-checked)");
}

/* decide_request - queue a check; the wait ends wait_ms from now.  A
 * caller that may not wait queues nothing: it asks again from a thread
 * that may. */
static bool
decide_request(void *impl, const char *domain, bool unregistered,
               unsigned wait_ms)
{
	struct decide_io *io = impl;
	struct checkerd *cd = decide_checkerd;

	if (cd == NULL)
		return false;
	if (!io->may_wait) {
		io->wanted_wait = true;
		return false;
	}
	clock_gettime(CLOCK_MONOTONIC, &io->deadline);
	io->deadline.tv_sec += wait_ms / 1000;
	io->deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (io->deadline.tv_nsec >= 1000000000) {
		io->deadline.tv_sec++;
		io->deadline.tv_nsec -= 1000000000;
	}
	io->gen = checkerd_generation(cd);
	return checkerd_request(cd, domain, unregistered);
}

/* decide_wait - until the checker commits again, or the deadline. */
static bool
decide_wait(void *impl)
{
	struct decide_io *io = impl;

	if (!checkerd_wait(decide_checkerd, io->gen, &io->deadline))
		return false;
	io->gen = checkerd_generation(decide_checkerd);
	return true;
}

/* decide_note_use - tell the checker thread mail used the state. */
static void
decide_note_use(void *impl, const char *domain)
{
	(void)impl;
	if (decide_checkerd != NULL)
		checkerd_note_use(decide_checkerd, domain);
}

/* decide_now - the wall clock, unix seconds. */
static int64_t
decide_now(void *impl)
{
	(void)impl;
	return (int64_t)time(NULL);
}

/* The sender rules' reads and waits, on the store and the checker. */
static const struct sender_env decide_env_fns = {
    .begin = decide_begin,
    .end = decide_end,
    .state = decide_state,
    .reg = decide_reg,
    .peek = decide_peek,
    .request = decide_request,
    .wait = decide_wait,
    .note_use = decide_note_use,
    .now = decide_now,
};

/* Decisions -------------------------------------------------------------- */

/* decide_clock_us - the wall clock in microseconds. */
static uint64_t
decide_clock_us(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000u + (uint64_t)ts->tv_nsec / 1000u;
}

/* decide_rules - the sender rules under cfg; registry_stale when the
 * replica has not heard from PostgreSQL for ReplicaMaxLag (never
 * without StoreDSN).  The wall clock it read, in microseconds: the
 * judgement's start (one clock read fewer on the decision path). */
static uint64_t
decide_rules(const struct config *cfg, struct sender_rules *rules)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	rules->policy = &cfg->policy;
	rules->mail_from = cfg->mail_from;
	rules->check_wait_ms = cfg->check_wait_ms;
	rules->registry_stale =
	    replica_behind(decide_replica, cfg->replica_max_lag,
	                   (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	return decide_clock_us(&ts);
}

int
decide_metrics_register(struct metrics *m, char *err, size_t errlen)
{
	for (unsigned a = 0; a < POLICY_ACTIONS; a++)
		decide_action_labels[a] =
		    policy_action_name((enum policy_action)a);
	decide_seconds.nbounds = metrics_latency_nbounds;
	if (metrics_register(m, &decide_decisions, err, errlen) != 0 ||
	    metrics_register(m, &decide_seconds, err, errlen) != 0 ||
	    metrics_register(m, &decide_waits, err, errlen) != 0)
		return -1;
	return 0;
}

size_t
decide_state_label(const struct sender_facts *f)
{
	if (f->code != REVPATH_OK)
		return DECIDE_STATE_NONE;
	if (f->lk.have_state)
		return (unsigned)f->lk.sum.state < DECIDE_STATE_UNREGISTERED
		           ? (size_t)f->lk.sum.state
		           : DECIDE_STATE_NONE;
	return f->lk.registered ? READINESS_UNKNOWN : DECIDE_STATE_UNREGISTERED;
}

void
decide_count(enum policy_action action, size_t state_label)
{
	metrics_add(&decide_decisions, action, state_label, 1);
}

/* decide_judged - a judgement's time (since t0_us, decide_rules' wall
 * clock; 0 when the clock stepped back) and its wait. */
static void
decide_judged(const struct sender_facts *f, size_t identity, uint64_t t0_us)
{
	struct timespec ts;
	uint64_t now;

	if (metrics_on(&decide_seconds)) { /* else not even the clock */
		clock_gettime(CLOCK_REALTIME, &ts);
		now = decide_clock_us(&ts);
		metrics_observe_us(&decide_seconds, identity, 0,
		                   now > t0_us ? now - t0_us : 0);
	}
	if (f->waited)
		metrics_add(&decide_waits, f->timed_out ? 1 : 0, 0, 1);
}

void
decide_log(const struct decide_request *rq, const struct sender_facts *f,
           const struct policy_decision *d)
{
	struct log_line line;

	decide_count(d->action, decide_state_label(f));
	if (!d->log)
		return;
	log_line_init(&line);
	/* From the client: sanitized.  Ours (an address we formatted, a
	 * normalized domain, names from tables): log_field_text, which
	 * still sanitizes anything that is not printable ASCII. */
	log_field(&line, "session", rq->session);
	log_field_text(&line, "client", rq->client_text);
	log_field(&line, "sender", rq->sender_text);
	log_field_text(&line, "domain",
	               f->code == REVPATH_OK ? f->lk.domain : "");
	log_field_text(&line, "state", sender_state_name(f));
	log_field_text(&line, "action", policy_action_name(d->action));
	if (d->action == POLICY_MONITOR)
		log_field_text(&line, "would", policy_action_name(d->would_be));
	if (d->smtp_code[0] != '\0')
		log_field_text(&line, "reply", d->smtp_code);
	log_field_text(&line, "reason", d->reason);
	if (f->oddity != NULL)
		log_field_text(&line, "oddity", f->oddity);
	if (d->fallback && rq->fallback != NULL)
		log_field_text(&line, "fallback", rq->fallback);
	log_emit(d->log_warning ? LOG_WARNING : LOG_INFO, &line);
}

void
decide_sender(const struct config *cfg, const struct decide_request *rq,
              struct decide_result *res)
{
	struct decide_io io = {.may_wait = rq->may_wait};
	struct sender_env env = decide_env_fns;
	struct sender_rules rules;
	uint64_t t0;

	res->judged = false;
	res->wanted_wait = false;
	if (!policy_outbound(&cfg->policy, rq->client, rq->auth))
		return;
	env.impl = &io;
	t0 = decide_rules(cfg, &rules);
	sender_facts(&env, &rules, rq->path, &res->facts);
	if (io.wanted_wait) {
		res->wanted_wait = true;
		return;
	}
	res->judged = true;
	policy_decide(&cfg->policy, &res->facts.in, &res->decision);
	if (rq->fallback != NULL)
		fallback_decide(&cfg->fallback, &res->facts.in, &res->decision);
	decide_judged(&res->facts, 0, t0);
	if (!rq->quiet)
		decide_log(rq, &res->facts, &res->decision);
}

void
decide_mailbox(const struct config *cfg, const char *local, bool local_cut,
               const char *domain, struct sender_facts *f,
               struct policy_decision *d)
{
	struct decide_io io = {.may_wait = true};
	struct sender_env env = decide_env_fns;
	struct sender_rules rules;
	uint64_t t0;

	env.impl = &io;
	t0 = decide_rules(cfg, &rules);
	sender_facts_domain(&env, &rules, local, local_cut, domain, f);
	policy_decide(&cfg->policy, &f->in, d);
	fallback_decide(&cfg->fallback, &f->in, d);
	decide_judged(f, 1, t0);
}

/* decide_door_name - the door in the log. */
static const char *
decide_door_name(enum held_door door)
{
	return door == HELD_DOOR_INET ? "inet" : "unix";
}

/* decide_hold_write - the held entry and its "held" webhook event
 * (outbox.h) in one transaction. */
static int
decide_hold_write(const struct held_msg *msg, char *err, size_t errlen)
{
	struct snapshot *snap = snapshot_acquire();
	struct webhook_event ev = {
	    .type = WEBHOOK_HELD,
	    .domain = msg->domain,
	    .time = msg->held_at,
	    .queue_id = msg->queue_id,
	    .reason = msg->reason,
	};
	struct store_batch *b;
	struct domain_state s;
	char summary[1024];
	int rc;

	if ((rc = store_batch_begin(decide_store, &b, err, errlen)) !=
	    STORE_OK) {
		snapshot_release(snap);
		return rc;
	}
	if ((rc = store_batch_put_held(b, msg, err, errlen)) == STORE_OK &&
	    snap != NULL && outbox_enabled(&snap->cfg)) {
		if (store_batch_get_state(b, msg->domain, &s, err, errlen) ==
		    STORE_OK) {
			state_describe(&s, msg->held_at, summary,
			               sizeof(summary));
			ev.previous = ev.state = s.state;
			ev.st = &s;
			ev.summary = summary;
		}
		rc = outbox_put(b, &snap->cfg, &ev, err, errlen);
	}
	snapshot_release(snap);
	if (rc != STORE_OK) {
		store_batch_abort(b);
		return rc;
	}
	return store_batch_commit(b, err, errlen);
}

bool
decide_hold_index(const char *domain, const char *queue_id, const char *mailbox,
                  const char *reason, enum held_door door)
{
	struct held_msg msg;
	char err[256];

	memset(&msg, 0, sizeof(msg));
	text_copy(msg.domain, sizeof(msg.domain), domain);
	text_copy(msg.queue_id, sizeof(msg.queue_id), queue_id);
	text_copy(msg.sender, sizeof(msg.sender), mailbox);
	text_copy(msg.reason, sizeof(msg.reason), reason);
	msg.held_at = (int64_t)time(NULL);
	msg.door = door;
	if (decide_hold_write(&msg, err, sizeof(err)) != STORE_OK) {
		log_msg(LOG_ERR,
		        "event=held-index-failed domain=%s queue_id=%s "
		        "error=\"%s\"",
		        domain, queue_id, err);
		return false;
	}
	log_msg(LOG_NOTICE, "event=quarantine domain=%s queue_id=%s door=%s",
	        domain, queue_id, decide_door_name(door));
	return true;
}
