/*
 * checker.c - re-check registered domains and keep their state.
 *
 * SYNOPSIS
 *	void checker_options_init(opt, cfg, now);
 *	int checker_request(reg, cfg, req, err, errlen);
 *	int checker_list(st, due_only, now, names, n, err, errlen);
 *	int checker_list_census(st, now, names, n, census, err, errlen);
 *	int checker_upkeep(st, up, err, errlen);
 *	int checker_run(st, dns, opt, names, n, stats, err, errlen);
 *
 * DESCRIPTION
 *	checker_run() keeps a fixed pool of `window` + `reserve` job slots.
 *	A free slot takes an on-demand name from take() if there is one,
 *	else (while fewer than `window` list jobs run) the next name of the
 *	list; it reads the registry entry, starts a readiness job on the
 *	shared resolver and, when the job calls back, applies the state
 *	transition inside the open write batch.  With opt->flush, a finished
 *	job keeps its slot (and its report) until the held results are
 *	handed over together (checker_flush), so that upstream writes one
 *	transaction per flush, not per domain; the slots for them come on
 *	top of the window, which stays full meanwhile.  With opt->submit
 *	too, a flush is written in the background (one at a time): the
 *	run goes on checking and holding the next results while upstream
 *	writes the last ones (up to twice the usual hold before it waits
 *	for them: the next flush is bigger, the checks never stop for an
 *	ordinary one), takes them back with opt->reap (woken by
 *	opt->wake_fd, watched with the DNS sockets) and only then stores
 *	them locally and frees their slots.  The batch is committed
 *	every `batch` states, at least every CHECKER_COMMIT_MS, and at once
 *	after an on-demand job, so readers see progress (a waiting MAIL
 *	FROM its answer) and other writers are never held long.
 *	Confirmation mails wait until the DNS work is done: a slow MTA must
 *	not stall hundreds of lookups.  A registered domain's change of
 *	state that is a webhook event (webhook_type_of()) is put in the
 *	outbox in the same batch as the state (outbox.h).
 *
 *	checker_upkeep() reads the unregistered states in one read
 *	transaction to pick the candidates, then writes in batches of
 *	CHECKER_BATCH_DEFAULT, judging each candidate again inside the
 *	write transaction.
 *
 * DIAGNOSTICS
 *	A domain whose entry is missing or corrupt, or whose key file cannot
 *	be read, is counted in stats->errors and reported through on_event
 *	with no report; the run goes on.  Only a store write failure stops
 *	the run (-1 with err).  A transition is counted in stats->by_state
 *	and stats->changed, and reported through on_stored, only once its
 *	batch is committed; the transitions of a batch that cannot be
 *	written (a full disk) are reported through on_stored with the error
 *	and counted in stats->errors and stats->unstored.
 */
#include "checker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "outbox.h"
#include "usage.h"
#include "text.h"

struct checker_notice {
	char domain[DOMAIN_BUF];
	char contact[DOMAIN_CONTACT_MAX];
};

struct checker_run;

/* A transition written to the open batch, reported when it ends. */
struct checker_pending {
	char domain[DOMAIN_BUF];
	struct state_effects fx;
};

struct checker_job {
	struct checker_run *run;
	int busy;          /* 1 in flight; 2 finished, held for opt->flush
	                    * (or in the flush opt->submit writes) */
	bool unregistered; /* no registry entry: the global expectations */
	bool had_state;    /* ... and a state when the check began */
	bool urgent;       /* an on-demand name, not one of the list */
	char contact[DOMAIN_CONTACT_MAX];
	struct readiness_request req;
	struct report rep;
};

struct checker_run {
	struct store *st;
	const struct checker_options *opt;
	struct checker_stats *stats;
	struct store_batch *batch;
	size_t in_batch;
	long long batch_started;
	size_t inflight;
	size_t listed;     /* jobs of the list in flight */
	char *const *list; /* the names, and more from opt->more */
	size_t nlist, next;
	bool more_left;
	bool commit_now; /* an on-demand state waits in the batch */
	struct checker_notice *notices;
	size_t nnotices, notices_cap;
	struct checker_pending *pending; /* transitions in the open batch */
	size_t npending, pending_cap;
	struct checker_job **held;      /* finished, waiting for opt->flush */
	struct checker_result *results; /* their flush, as many slots */
	size_t nheld;
	struct checker_job **flying;        /* opt->submit's flush, out */
	struct checker_result *fly_results; /* its results */
	size_t nflying;
	long long held_since;
	bool flush_now; /* an on-demand result is held */
	int failed;
	char *err;
	size_t errlen;
};

void
checker_options_init(struct checker_options *opt, const struct config *cfg,
                     int64_t now)
{
	memset(opt, 0, sizeof(*opt));
	opt->cfg = cfg;
	opt->timing = state_timing_defaults();
	opt->timing.refresh_interval = cfg->refresh_interval;
	opt->timing.pending_window = cfg->pending_window;
	opt->timing.grace_period = cfg->grace_period;
	opt->window = cfg->refresh_concurrency ? cfg->refresh_concurrency
	                                       : CHECKER_WINDOW_DEFAULT;
	opt->batch = CHECKER_BATCH_DEFAULT;
	opt->now = now;
	opt->notify = true;
	opt->notify_from = cfg->notify_from;
	opt->unreg_expiry = cfg->unreg_expiry;
}

int
checker_request(const struct domain_reg *reg, const struct config *cfg,
                struct readiness_request *req, char *err, size_t errlen)
{
	const char *mail_from =
	    reg->mail_from[0] ? reg->mail_from : cfg->mail_from;
	char why[512];
	size_t i;

	memset(req, 0, sizeof(*req));
	snprintf(req->domain, sizeof(req->domain), "%s", reg->domain);
	if (readiness_mail_from(reg->domain, mail_from, req->mail_from,
	                        sizeof(req->mail_from), why,
	                        sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: MAIL FROM '%s': %s", reg->domain,
		         mail_from, why);
		return -1;
	}
	req->checks = READINESS_CHECK_ALL;
	req->budget_ms = cfg->check_timeout_ms;
	/* AlignmentRequired: a record that can never align what it needs
	 * fails instead of warning. */
	req->spf_alignment_required = cfg->from.align == FROMCHECK_ALIGN_SPF ||
	                              cfg->from.align == FROMCHECK_ALIGN_BOTH;
	req->dkim_alignment_required =
	    cfg->from.align == FROMCHECK_ALIGN_DKIM ||
	    cfg->from.align == FROMCHECK_ALIGN_BOTH;
	snprintf(req->mx_host, sizeof(req->mx_host), "%s",
	         reg->mx_host[0] ? reg->mx_host : cfg->mx_host);
	snprintf(req->spf_include, sizeof(req->spf_include), "%s",
	         reg->spf_include[0] ? reg->spf_include : cfg->spf_include);
	/* Never dropped silently: a bad one is the domain's error. */
	for (i = 0; i < reg->negress; i++)
		if (readiness_add_egress(req, reg->egress[i]) != 0) {
			snprintf(err, errlen,
			         "%s: egress address '%s' cannot be checked",
			         reg->domain, reg->egress[i]);
			return -1;
		}
	for (i = 0; reg->negress == 0 && i < cfg->egress.count; i++)
		if (readiness_add_egress(req, cfg->egress.ip[i]) != 0) {
			snprintf(err, errlen,
			         "EgressIPs: '%s' cannot be checked",
			         cfg->egress.ip[i]);
			return -1;
		}
	req->dmarc_min_policy = reg->dmarc_min_policy >= 0
	                            ? (enum dmarc_policy)reg->dmarc_min_policy
	                            : cfg->dmarc_min_policy;
	for (i = 0; i < reg->nselectors && i < READINESS_SELECTORS_MAX; i++) {
		struct readiness_selector *sel = &req->selectors[i];

		snprintf(sel->name, sizeof(sel->name), "%s",
		         reg->selectors[i].name);
		req->nselectors++;
		if (reg->selectors[i].key_path[0] != '\0' &&
		    readiness_load_key(sel, reg->selectors[i].key_path, err,
		                       errlen) != 0) {
			readiness_request_free(req);
			return -1;
		}
	}
	if (req->nselectors == 0 && cfg->selector[0] != '\0') {
		snprintf(req->selectors[0].name, sizeof(req->selectors[0].name),
		         "%s", cfg->selector);
		req->nselectors = 1;
		if (cfg->key_file[0] != '\0' &&
		    readiness_load_key(&req->selectors[0], cfg->key_file, err,
		                       errlen) != 0) {
			readiness_request_free(req);
			return -1;
		}
	}
	return 0;
}

/* Listing -------------------------------------------------------------- */

struct checker_lister {
	struct store *st;
	bool due_only;
	int64_t now;
	char **names;
	size_t n, cap;
	int oom;
	struct checker_census *census; /* NULL: not counted */
};

/* checker_list_name - append a copy of name. */
static int
checker_list_name(struct checker_lister *ls, const char *name)
{
	if (ls->n == ls->cap) {
		size_t cap = ls->cap ? ls->cap * 2 : 1024;
		char **grown = realloc(ls->names, cap * sizeof(*grown));

		if (grown == NULL) {
			ls->oom = 1;
			return 1;
		}
		ls->names = grown;
		ls->cap = cap;
	}
	if ((ls->names[ls->n] = strdup(name)) == NULL) {
		ls->oom = 1;
		return 1;
	}
	ls->n++;
	return 0;
}

static int
checker_list_add(void *ctx, const struct domain_reg *reg)
{
	struct checker_lister *ls = ctx;
	struct domain_state state;
	char err[256];

	if (ls->due_only) {
		int rc = store_state_get(ls->st, reg->domain, &state, err,
		                         sizeof(err));

		if (ls->census != NULL)
			ls->census->registered[rc == STORE_OK &&
			                               (unsigned)state.state <
			                                   CHECKER_READINESS
			                           ? state.state
			                           : CHECKER_NEVER_CHECKED]++;
		/* Never checked, or unreadable: due. */
		if (rc == STORE_OK && !state_due(&state, ls->now))
			return 0;
	}
	return checker_list_name(ls, reg->domain);
}

/* checker_list_unreg - an unregistered domain's state, when due. */
static int
checker_list_unreg(void *ctx, const struct domain_state *state, bool held)
{
	struct checker_lister *ls = ctx;

	(void)held;
	if (ls->census != NULL && (unsigned)state->state < CHECKER_READINESS)
		ls->census->unregistered[state->state]++;
	if (ls->due_only && !state_due(state, ls->now))
		return 0;
	return checker_list_name(ls, state->domain);
}

/* checker_list_run - the listing, with a census when ls has one. */
static int
checker_list_run(struct checker_lister ls, char ***names, size_t *n, char *err,
                 size_t errlen)
{
	struct store *st = ls.st;
	size_t ncorrupt = 0;
	int rc;

	rc = store_reg_iter(st, checker_list_add, &ls, &ncorrupt, err, errlen);
	if (rc == STORE_OK && !ls.oom)
		rc = store_unreg_iter(st, checker_list_unreg, &ls, &ncorrupt,
		                      err, errlen);
	if (ls.oom) {
		snprintf(err, errlen, "out of memory listing domains");
		rc = -1;
	}
	if (rc != STORE_OK) {
		checker_list_free(ls.names, ls.n);
		return -1;
	}
	*names = ls.names;
	*n = ls.n;
	return 0;
}

int
checker_list(struct store *st, bool due_only, int64_t now, char ***names,
             size_t *n, char *err, size_t errlen)
{
	struct checker_lister ls = {.st = st, .due_only = due_only, .now = now};

	return checker_list_run(ls, names, n, err, errlen);
}

int
checker_list_census(struct store *st, int64_t now, char ***names, size_t *n,
                    struct checker_census *census, char *err, size_t errlen)
{
	struct checker_lister ls = {
	    .st = st, .due_only = true, .now = now, .census = census};

	if (census != NULL)
		memset(census, 0, sizeof(*census));
	return checker_list_run(ls, names, n, err, errlen);
}

void
checker_list_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Upkeep of unregistered states --------------------------------------- */

struct checker_tend {
	char domain[DOMAIN_BUF];
	int64_t last_used; /* as removed, for on_prune */
	bool prune;        /* else: record a use */
};

struct checker_tending {
	struct checker_upkeep *up;
	struct checker_tend *v;
	size_t n, cap;
	int oom;
};

/* checker_tend_pick - does this unregistered state need a write? */
static int
checker_tend_pick(void *ctx, const struct domain_state *state, bool held)
{
	struct checker_tending *tg = ctx;
	const struct checker_upkeep *up = tg->up;
	bool used = usage_seen(up->used, up->nused, state->domain);
	bool prune;

	tg->up->unregistered++;
	if (used)
		prune = false;
	else if (!held && state_unused(state, up->now, up->expiry))
		prune = true;
	else
		return 0;
	if (used && !state_use_lags(state, up->now, up->expiry))
		return 0;
	if (tg->n == tg->cap) {
		size_t cap = tg->cap ? tg->cap * 2 : 64;
		struct checker_tend *grown =
		    realloc(tg->v, cap * sizeof(*grown));

		if (grown == NULL) {
			tg->oom = 1;
			return 1;
		}
		tg->v = grown;
		tg->cap = cap;
	}
	snprintf(tg->v[tg->n].domain, DOMAIN_BUF, "%s", state->domain);
	tg->v[tg->n].prune = prune;
	tg->v[tg->n].last_used = state->last_used;
	tg->n++;
	return 0;
}

/* checker_tend_one - write one candidate if it still needs it; 1 when it
 * was removed, 0 when written or left, -1 on a store error. */
static int
checker_tend_one(struct store_batch *b, struct checker_upkeep *up,
                 struct checker_tend *t, char *err, size_t errlen)
{
	struct domain_state s;
	char why[256];
	bool held;

	/* Registered meanwhile, gone, or corrupt: not ours to touch. */
	if (store_batch_get_unreg(b, t->domain, &s, &held, why, sizeof(why)) !=
	    STORE_OK)
		return 0;
	if (!t->prune) {
		if (!state_note_use(&s, up->now, up->expiry))
			return 0;
		if (store_batch_put_state(b, &s, err, errlen) != STORE_OK)
			return -1;
		up->recorded++;
		return 0;
	}
	if (held || !state_unused(&s, up->now, up->expiry))
		return 0;
	if (store_batch_del_state(b, t->domain, err, errlen) != STORE_OK)
		return -1;
	t->last_used = s.last_used;
	return 1;
}

int
checker_upkeep(struct store *st, struct checker_upkeep *up, char *err,
               size_t errlen)
{
	struct checker_tending tg = {.up = up};
	struct store_batch *b = NULL;
	size_t ncorrupt = 0, i, first = 0, k;
	int rc;

	up->unregistered = up->recorded = up->pruned = 0;
	rc = store_unreg_iter(st, checker_tend_pick, &tg, &ncorrupt, err,
	                      errlen);
	if (tg.oom) {
		snprintf(err, errlen,
		         "out of memory tending unregistered "
		         "domains");
		rc = -1;
	}
	for (i = 0; rc == STORE_OK && i < tg.n; i++) {
		if (b == NULL) {
			if (store_batch_begin(st, &b, err, errlen) != STORE_OK)
				break;
			first = i;
		}
		rc = checker_tend_one(b, up, &tg.v[i], err, errlen);
		if (rc < 0) {
			store_batch_abort(b);
			b = NULL;
			break;
		}
		tg.v[i].prune = rc == 1;
		rc = STORE_OK;
		if (i + 1 < tg.n && (i + 1 - first) < CHECKER_BATCH_DEFAULT)
			continue;
		if (store_batch_commit(b, err, errlen) != STORE_OK) {
			b = NULL;
			rc = -1;
			break;
		}
		b = NULL;
		for (k = first; k <= i; k++) {
			if (!tg.v[k].prune)
				continue;
			up->pruned++;
			if (up->on_prune)
				up->on_prune(up->arg, tg.v[k].domain,
				             tg.v[k].last_used);
		}
	}
	free(tg.v);
	return rc == STORE_OK && i == tg.n ? 0 : -1;
}

/* Batching ------------------------------------------------------------- */

/* checker_pending_add - remember a transition written to the open batch;
 * -1 when there is no memory for it (the run stops: it could not be
 * reported). */
static int
checker_pending_add(struct checker_run *run, const struct state_effects *fx,
                    const char *domain)
{
	struct checker_pending *p;

	if (run->npending == run->pending_cap) {
		size_t cap = run->pending_cap ? run->pending_cap * 2 : 64;
		struct checker_pending *grown =
		    realloc(run->pending, cap * sizeof(*grown));

		if (grown == NULL) {
			snprintf(run->err, run->errlen,
			         "out of memory after checking %s", domain);
			run->failed = 1;
			return -1;
		}
		run->pending = grown;
		run->pending_cap = cap;
	}
	p = &run->pending[run->npending++];
	snprintf(p->domain, sizeof(p->domain), "%s", domain);
	p->fx = *fx;
	return 0;
}

/* checker_pending_end - the open batch's transitions are committed, or
 * (err non-NULL) lost: count and report each. */
static void
checker_pending_end(struct checker_run *run, const char *err)
{
	size_t i;

	for (i = 0; i < run->npending; i++) {
		const struct state_effects *fx = &run->pending[i].fx;

		if (err != NULL) {
			run->stats->errors++;
			run->stats->unstored++;
		} else {
			if (fx->to >= 0 && fx->to <= READINESS_FAILED)
				run->stats->by_state[fx->to]++;
			if (fx->state_changed)
				run->stats->changed++;
		}
		if (run->opt->on_stored)
			run->opt->on_stored(run->opt->arg,
			                    run->pending[i].domain, fx, err);
	}
	run->npending = 0;
}

static int
checker_batch_commit(struct checker_run *run)
{
	if (run->batch == NULL)
		return 0;
	if (store_batch_commit(run->batch, run->err, run->errlen) != STORE_OK) {
		run->batch = NULL;
		run->failed = 1;
		checker_pending_end(run, run->err);
		return -1;
	}
	run->batch = NULL;
	run->in_batch = 0;
	checker_pending_end(run, NULL);
	run->commit_now = false;
	if (run->opt->on_commit)
		run->opt->on_commit(run->opt->arg);
	return 0;
}

static struct store_batch *
checker_batch(struct checker_run *run)
{
	if (run->batch == NULL) {
		if (store_batch_begin(run->st, &run->batch, run->err,
		                      run->errlen) != STORE_OK) {
			run->batch = NULL;
			run->failed = 1;
			return NULL;
		}
		run->batch_started = (long long)text_now_ms();
	}
	return run->batch;
}

/* checker_note - remember a first verification that needs its mail. */
static void
checker_note(struct checker_run *run, const char *domain, const char *contact)
{
	struct checker_notice *nt;

	if (run->nnotices == run->notices_cap) {
		size_t cap = run->notices_cap ? run->notices_cap * 2 : 16;
		struct checker_notice *grown =
		    realloc(run->notices, cap * sizeof(*grown));

		if (grown == NULL) {
			run->stats->notify_failed++;
			return;
		}
		run->notices = grown;
		run->notices_cap = cap;
	}
	nt = &run->notices[run->nnotices++];
	snprintf(nt->domain, sizeof(nt->domain), "%s", domain);
	snprintf(nt->contact, sizeof(nt->contact), "%s", contact);
}

/* checker_store_result - what opt->flush wrote upstream goes to the open
 * batch (its mail is sent upstream too); a result it did not write is
 * counted and reported. */
static void
checker_store_result(struct checker_run *run, struct checker_job *job,
                     struct store_batch *b, struct checker_result *r)
{
	if (r->rc != 0) {
		memset(&r->fx, 0, sizeof(r->fx));
		if (r->rc == CHECKER_DROPPED)
			run->stats->dropped++;
		else {
			run->stats->errors++;
			run->stats->unstored++;
		}
		if (run->opt->on_stored)
			run->opt->on_stored(run->opt->arg, job->req.domain,
			                    &r->fx, r->err);
		return;
	}
	if (checker_pending_add(run, &r->fx, job->req.domain) != 0)
		return;
	if (store_batch_put_state(b, &r->next, run->err, run->errlen) !=
	    STORE_OK) {
		run->failed = 1;
		return;
	}
	run->in_batch++;
	if (job->urgent)
		run->commit_now = true;
	if (run->opt->on_event)
		run->opt->on_event(run->opt->arg, &r->next, &r->fx, &job->rep);
}

/* checker_event - a registered domain's change of state is a webhook
 * event, written in the batch of the state (outbox.h). */
static int
checker_event(struct checker_run *run, const struct checker_job *job,
              const struct state_effects *fx, const struct domain_state *next,
              struct store_batch *b)
{
	if (job->unregistered || !fx->state_changed)
		return STORE_OK;
	return outbox_state(b, run->opt->cfg, webhook_type_of(fx->from, fx->to),
	                    fx->from, next, run->opt->now, run->err,
	                    run->errlen);
}

/* checker_store_local - apply the transition of a finished job to the
 * local store's state, in the open batch. */
static void
checker_store_local(struct checker_run *run, struct checker_job *job,
                    struct store_batch *b)
{
	struct domain_state cur, next;
	struct state_effects fx;
	char err[512];
	int rc;

	rc = store_batch_get_state(b, job->req.domain, &cur, err, sizeof(err));
	if (rc == STORE_NOTFOUND && job->unregistered && job->had_state)
		return; /* removed (pruned, deleted) while it was checked */
	if (rc != STORE_OK) {
		/* Never checked, or a corrupt record: start from unknown. */
		memset(&cur, 0, sizeof(cur));
		snprintf(cur.domain, sizeof(cur.domain), "%s", job->req.domain);
	}
	state_apply(&cur, &job->rep, run->opt->now, &run->opt->timing, &next,
	            &fx);
	/* A first check of an unregistered domain comes from its mail; so
	 * does the first re-check of a state kept before uses were. */
	if (job->unregistered && next.last_used == 0)
		state_note_use(&next, run->opt->now, run->opt->unreg_expiry);
	if (checker_pending_add(run, &fx, job->req.domain) != 0)
		return;
	if (store_batch_put_state(b, &next, run->err, run->errlen) !=
	        STORE_OK ||
	    checker_event(run, job, &fx, &next, b) != STORE_OK) {
		run->failed = 1;
		return;
	}
	run->in_batch++;
	if (job->urgent)
		run->commit_now = true;
	if (fx.send_confirmation && job->contact[0] != '\0')
		checker_note(run, job->req.domain, job->contact);
	if (run->opt->on_event)
		run->opt->on_event(run->opt->arg, &next, &fx, &job->rep);
}

/* checker_finish - a job is done: held for opt->flush, or its transition
 * stored at once. */
static void
checker_finish(struct checker_job *job)
{
	struct checker_run *run = job->run;
	struct store_batch *b;

	job->busy = 0;
	run->inflight--;
	if (!job->urgent)
		run->listed--;
	run->stats->done++;
	readiness_request_free(&job->req);
	if (!run->failed && run->opt->flush != NULL) {
		/* The slot (and its report) stays the job's until then. */
		job->busy = 2;
		if (run->nheld == 0)
			run->held_since = (long long)text_now_ms();
		run->held[run->nheld++] = job;
		if (job->urgent)
			run->flush_now = true;
		return;
	}
	if (run->failed || (b = checker_batch(run)) == NULL) {
		/* Checked after the store failed: the result is lost. */
		run->stats->errors++;
		run->stats->unstored++;
		return;
	}
	checker_store_local(run, job, b);
}

/* checker_complete - what a flush made of jobs[0..n): each stored in
 * the open batch (what upstream wrote, or, not upstream's, the local
 * transition) and its slot free again. */
static void
checker_complete(struct checker_run *run, struct checker_job **jobs,
                 struct checker_result *results, size_t n)
{
	struct store_batch *b;
	size_t i;

	for (i = 0; i < n; i++) {
		struct checker_job *job = jobs[i];

		if (run->failed || (b = checker_batch(run)) == NULL) {
			/* Checked after the store failed: the result is lost.
			 */
			run->stats->errors++;
			run->stats->unstored++;
		} else if (results[i].rc == CHECKER_LOCAL)
			checker_store_local(run, job, b);
		else
			checker_store_result(run, job, b, &results[i]);
		job->busy = 0;
	}
}

/* checker_reap - take back opt->submit's flush once upstream wrote it
 * (wait: until then) and complete it. */
static void
checker_reap(struct checker_run *run, bool wait)
{
	struct checker_result *done;

	if (run->nflying == 0 ||
	    (done = run->opt->reap(run->opt->arg, wait)) == NULL)
		return;
	if (done == run->fly_results) {
		checker_complete(run, run->flying, run->fly_results,
		                 run->nflying);
		run->nflying = 0;
	}
}

/* checker_flush - hand the held results to opt->flush together (or to
 * opt->submit, in the background), then complete them.  With defer and
 * a flush still out, the results stay held instead (fewer than `limit`
 * of them, none on demand): the run checks on and flushes them when the
 * last one is back. */
static void
checker_flush(struct checker_run *run, bool defer, size_t limit)
{
	size_t i, n = run->nheld;
	struct checker_job **jobs;
	struct checker_result *results;

	if (n == 0)
		return;
	if (defer && run->nflying > 0 && !run->failed) {
		checker_reap(run, false);
		if (run->nflying > 0 && !run->flush_now && n < limit)
			return;
	}
	for (i = 0; i < n; i++) {
		struct checker_result *r = &run->results[i];
		const struct checker_job *job = run->held[i];

		r->domain = job->req.domain;
		r->contact = job->contact;
		r->rep = &job->rep;
		r->urgent = job->urgent;
		r->rc = -1;
		snprintf(r->err, sizeof(r->err), "not written");
	}
	run->nheld = 0;
	run->flush_now = false;
	if (!run->failed && run->opt->submit != NULL) {
		/* One flush out at a time: the last one back first. */
		checker_reap(run, true);
		if (run->nflying == 0 &&
		    run->opt->submit(run->opt->arg, run->results, n)) {
			jobs = run->flying;
			results = run->fly_results;
			run->flying = run->held;
			run->fly_results = run->results;
			run->nflying = n;
			run->held = jobs;
			run->results = results;
			return;
		}
	}
	if (!run->failed)
		run->opt->flush(run->opt->arg, run->results, n);
	checker_complete(run, run->held, run->results, n);
}

static void
checker_done(void *arg, struct report *rep)
{
	(void)rep;
	checker_finish(arg);
}

/* checker_start - take one name into a free slot; urgent: on demand. */
static void
checker_start(struct checker_run *run, struct checker_job *job,
              struct resolver *res, const char *name, bool unregistered,
              bool urgent)
{
	struct domain_state cur;
	struct domain_reg reg;
	char err[512];
	int rc;

	rc =
	    run->opt->reg_get != NULL
	        ? run->opt->reg_get(run->opt->arg, name, &reg, err, sizeof(err))
	        : store_reg_get(run->st, name, &reg, err, sizeof(err));
	job->unregistered = rc == STORE_NOTFOUND && unregistered;
	job->had_state =
	    job->unregistered && store_state_get(run->st, name, &cur, err,
	                                         sizeof(err)) != STORE_NOTFOUND;
	if (job->unregistered) {
		memset(&reg, 0, sizeof(reg));
		snprintf(reg.domain, sizeof(reg.domain), "%s", name);
		reg.dmarc_min_policy = -1;
		rc = STORE_OK;
	}
	if (rc == STORE_OK)
		rc = checker_request(&reg, run->opt->cfg, &job->req, err,
		                     sizeof(err));
	if (rc != STORE_OK) {
		run->stats->errors++;
		run->stats->done++;
		if (run->opt->on_event) {
			struct state_effects fx;
			struct domain_state none;

			memset(&fx, 0, sizeof(fx));
			memset(&none, 0, sizeof(none));
			snprintf(none.domain, sizeof(none.domain), "%s", name);
			snprintf(fx.reason, sizeof(fx.reason), "%s", err);
			run->opt->on_event(run->opt->arg, &none, &fx, NULL);
		}
		return;
	}
	snprintf(job->contact, sizeof(job->contact), "%s", reg.contact);
	job->run = run;
	job->busy = 1;
	job->urgent = urgent;
	run->inflight++;
	if (!urgent)
		run->listed++;
	if (readiness_start(res, &job->req, &job->rep, checker_done, job) != 0)
		checker_finish(job); /* complete at once */
}

/*
 * checker_fill - free slots take on-demand names first, then names of
 * the list while fewer than window of those run.
 */
static void
checker_fill(struct checker_run *run, struct checker_job *jobs, size_t nslots,
             size_t window, struct resolver *res)
{
	const struct checker_options *opt = run->opt;
	bool more = opt->take != NULL, unregistered;
	char name[DOMAIN_BUF];
	size_t i;

	for (i = 0; i < nslots && !run->failed; i++) {
		if (jobs[i].busy)
			continue;
		if (more && (more = opt->take(opt->arg, name, sizeof(name),
		                              &unregistered))) {
			run->stats->total++;
			checker_start(run, &jobs[i], res, name, unregistered,
			              true);
			continue;
		}
		/* The list is done: its next part, while the window
		 * still runs the end of this one. */
		if (run->next >= run->nlist && run->more_left &&
		    run->listed < window) {
			run->more_left =
			    opt->more(opt->arg, &run->list, &run->nlist) &&
			    run->nlist > 0;
			run->next = 0;
			if (!run->more_left)
				run->nlist = 0;
			run->stats->total += run->nlist;
		}
		if (run->next < run->nlist && run->listed < window)
			checker_start(run, &jobs[i], res,
			              run->list[run->next++], opt->unregistered,
			              false);
		else if (!more)
			break;
	}
}

/* checker_send_notices - the confirmation mails, then their outcome. */
static void
checker_send_notices(struct checker_run *run)
{
	char host[200], from[CONFIG_ADDRESS_MAX], err[512];
	char msg[NOTIFY_MESSAGE_MAX];
	struct domain_state state;
	struct store_batch *b;
	size_t i;
	int len;

	if (run->opt->notify_from != NULL && run->opt->notify_from[0] != '\0')
		snprintf(from, sizeof(from), "%s", run->opt->notify_from);
	else {
		if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(from, sizeof(from), "postmaster@%s", host);
	}
	for (i = 0; i < run->nnotices && !run->failed; i++) {
		const struct checker_notice *nt = &run->notices[i];
		int sent = 0;

		if ((b = checker_batch(run)) == NULL ||
		    store_batch_get_state(b, nt->domain, &state, err,
		                          sizeof(err)) != STORE_OK)
			continue;
		/* Hand the message over outside the write transaction. */
		if (checker_batch_commit(run) != 0)
			break;
		len = notify_compose(&state, nt->contact, from,
		                     (time_t)run->opt->now, msg, sizeof(msg));
		if (len > 0 && notify_send(run->opt->cfg->sendmail_path, msg,
		                           (size_t)len, err, sizeof(err)) == 0)
			sent = 1;
		if ((b = checker_batch(run)) == NULL ||
		    store_batch_get_state(b, nt->domain, &state, err,
		                          sizeof(err)) != STORE_OK)
			continue;
		if (sent) {
			state_mark_notified(&state);
			run->stats->notified++;
		} else {
			state_note_notify_failure(&state, run->opt->now,
			                          &run->opt->timing);
			run->stats->notify_failed++;
		}
		if (store_batch_put_state(b, &state, run->err, run->errlen) !=
		    STORE_OK)
			run->failed = 1;
	}
}

int
checker_run(struct store *st, struct dns *dns,
            const struct checker_options *opt, char *const *names, size_t n,
            struct checker_stats *stats, char *err, size_t errlen)
{
	struct checker_run run;
	struct checker_job *jobs;
	struct resolver res = dns_resolver(dns);
	size_t window = opt->window ? opt->window : CHECKER_WINDOW_DEFAULT;
	size_t nslots = window + (opt->take != NULL ? opt->reserve : 0);
	size_t batch = opt->batch ? opt->batch : CHECKER_BATCH_DEFAULT;
	size_t hold = opt->flush_max ? opt->flush_max : window;

	memset(stats, 0, sizeof(*stats));
	stats->total = n;
	memset(&run, 0, sizeof(run));
	run.st = st;
	run.opt = opt;
	run.stats = stats;
	run.err = err;
	run.errlen = errlen;
	run.list = names;
	run.nlist = n;
	run.more_left = opt->more != NULL;
	/* Held results keep their slots: room for them beyond the rest;
	 * and for a flush out (at most what was held: hold, and what one
	 * turn of DNS finished on top), with as many more held while it
	 * is out (checker_flush defers up to twice the hold). */
	if (opt->flush != NULL)
		nslots += hold;
	if (opt->flush != NULL && opt->submit != NULL)
		nslots += 2 * hold + window + opt->reserve;
	jobs = calloc(nslots, sizeof(*jobs));
	if (jobs != NULL && opt->flush != NULL &&
	    ((run.held = calloc(nslots, sizeof(*run.held))) == NULL ||
	     (run.results = calloc(nslots, sizeof(*run.results))) == NULL ||
	     (opt->submit != NULL &&
	      ((run.flying = calloc(nslots, sizeof(*run.flying))) == NULL ||
	       (run.fly_results = calloc(nslots, sizeof(*run.fly_results))) ==
	           NULL)))) {
		free(jobs);
		jobs = NULL;
	}
	if (jobs == NULL) {
		free(run.held);
		free(run.results);
		free(run.flying);
		free(run.fly_results);
		snprintf(err, errlen, "out of memory for %zu jobs", nslots);
		return -1;
	}
	if (opt->submit != NULL)
		dns_set_wake_fd(dns, opt->wake_fd);
	while (!run.failed) {
		checker_reap(&run, false);
		checker_fill(&run, jobs, nslots, window, &res);
		if (run.inflight == 0 && run.next >= run.nlist &&
		    !run.more_left)
			break;
		if (run.inflight > 0)
			dns_run_once(dns, 100);
		if (run.nheld > 0 &&
		    (run.nheld >= hold || run.flush_now ||
		     (long long)text_now_ms() - run.held_since >=
		         CHECKER_COMMIT_MS))
			checker_flush(&run, true, 2 * hold);
		if (run.batch != NULL &&
		    (run.in_batch >= batch || run.commit_now ||
		     (long long)text_now_ms() - run.batch_started >=
		         CHECKER_COMMIT_MS))
			checker_batch_commit(&run);
		if (opt->on_progress)
			opt->on_progress(opt->arg, stats->done, n);
	}
	/* A failed store leaves jobs in flight: let them finish unheard. */
	while (run.inflight > 0 && run.failed)
		dns_run_once(dns, 100);
	checker_flush(&run, false, 0); /* after a failure: counted as lost */
	while (run.nflying > 0)
		checker_reap(&run, true);
	if (opt->submit != NULL)
		dns_set_wake_fd(dns, -1);
	if (!run.failed)
		checker_batch_commit(&run);
	if (!run.failed && opt->notify)
		checker_send_notices(&run);
	if (!run.failed)
		checker_batch_commit(&run);
	if (run.batch != NULL)
		store_batch_abort(run.batch);
	checker_pending_end(&run, err); /* after a failure: lost */
	free(run.pending);
	free(run.notices);
	free(run.held);
	free(run.results);
	free(run.flying);
	free(run.fly_results);
	free(jobs);
	return run.failed ? -1 : 0;
}
