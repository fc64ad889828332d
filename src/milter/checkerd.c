/*
 * checkerd.c - the milter's checker thread; see checkerd.h.
 *
 * SYNOPSIS
 *	int checkerd_start(out, st, err, errlen);
 *	bool checkerd_stop(cd, wait_seconds);
 *	bool checkerd_request(cd, domain, unregistered);
 *	void checkerd_replica_applied(cd, release);
 *	uint64_t checkerd_generation(cd);
 *	bool checkerd_wait(cd, seen, deadline);
 *	void checkerd_note_use(cd, domain);
 *	bool checkerd_alive(cd, why, whylen);
 *	int checkerd_metrics_register(m, err, errlen);
 *
 * DESCRIPTION
 *	One mutex guards the request queue (a ring, oldest first), the
 *	generation counter and the stop flag; two condition variables (on
 *	CLOCK_MONOTONIC) wake the thread and the waiters.  Every run, of
 *	the queue or of due domains, takes queued requests into its free
 *	job slots as it goes (checker_run's take, with CHECKERD_RESERVE
 *	slots kept for them), so a request never waits for a run to end:
 *	not for a slow domain (a check ends within CheckTimeout) nor for a
 *	due round.  Each commit of states counts as a generation, so a
 *	waiting MAIL FROM reads its state as soon as it is stored.
 *
 *	With StoreDSN a due round claims PostgreSQL's due domains beside
 *	the fleet's other checkers (pgcheck.h); with FleetRefresh no it
 *	leaves them to those (event=fleet-refresh-off, logged once) and
 *	checks only the requests and the host's own unregistered states,
 *	so a large fleet's database is not walked by every host.
 *
 *	Held mail: a domain this thread makes verified has its held mail
 *	released after the run.  One another host's checker made verified
 *	comes through the replica (replica.h), which asks with
 *	checkerd_replica_applied(); so does the thread's start (a domain
 *	verified while the daemon was down, or a release a crash cut
 *	short): the thread then walks the domains with held mail and
 *	releases those whose state in the store is verified, between runs,
 *	so a release never waits on DNS and never holds the replica up.
 *
 *	Uses of domains are noted in a lock-free table (usage.h) by the
 *	milter threads; each due round, and the thread's exit, drains it
 *	and has checker_upkeep() record them in the unregistered states
 *	and remove the states unused for UnregisteredExpiry.
 *
 *	Metrics: each run is counted by kind (a due round, or requests)
 *	with its duration; the due round's listing, which reads every
 *	state anyway, counts the domains by registration and state into a
 *	gauge (checker_list_census), so a scrape never walks the store.
 *	The thread notes the time of its last progress (an idle wake-up, a
 *	commit, the end of a run): checkerd_alive() says it is stalled past
 *	CHECKERD_STALL_SECONDS, or gone.
 *
 * DIAGNOSTICS
 *	Every state change and every failure is one log line.
 */
#include "checkerd.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "dns.h"
#include "log.h"
#include "metrics.h"
#include "pgcheck.h"
#include "pgconn.h"
#include "release.h"
#include "snapshot.h"
#include "state.h"
#include "usage.h"

struct checkerd_item {
	char domain[DOMAIN_BUF];
	bool unregistered;
};

struct checkerd {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_cond_t done;
	struct checkerd_item *queue; /* ring of CHECKERD_QUEUE_MAX */
	size_t qhead, nqueue;
	uint64_t generation;
	bool stop;
	bool exited; /* checkerd_main has returned its last word */
	struct store *st;
	struct usage *usage; /* domains the milter used (lock-free) */
	uint64_t *used;      /* drained hashes: checker thread only */
	uint64_t dropped;    /* notes lost since the last line about it */
	int64_t dropped_logged;
	PGconn *pg;         /* StoreDSN: checker thread only; NULL: down */
	bool pg_down;       /* ... and said so in the log */
	time_t pg_retry;    /* no new connection before (monotonic s) */
	bool rounds_off;    /* FleetRefresh no, as last logged */
	bool release_asked; /* walk the held mail for verified domains */
	_Atomic int64_t progress; /* monotonic s of the last progress */
};

/* The metrics' label values. */
enum { CHECKERD_RUN_DUE, CHECKERD_RUN_REQUESTS };
static const char *const checkerd_run_labels[] = {"due", "requests"};
static const char *const checkerd_reg_labels[] = {"registered", "unregistered"};
static const char *const checkerd_state_labels[] = {
    "unknown", "pending", "verified", "degraded", "failed",
};

static struct metrics_family checkerd_rounds = {
    .name = "authready_refresh_rounds_total",
    .help = "Runs of the checker thread: due rounds, and runs of "
            "requested checks.",
    .type = METRICS_COUNTER,
    .nlabels = 1,
    .label = {{"kind", checkerd_run_labels, 2}},
};
static struct metrics_family checkerd_round_seconds = {
    .name = "authready_refresh_round_duration_seconds",
    .help = "Duration of the checker thread's runs, by kind.",
    .type = METRICS_HISTOGRAM,
    .nlabels = 1,
    .label = {{"kind", checkerd_run_labels, 2}},
    .bounds_us = metrics_latency_bounds_us,
};
static struct metrics_family checkerd_domains = {
    .name = "authready_domains",
    .help = "Domains by registration and readiness state, counted at "
            "each due round (registered, never checked: unknown).",
    .type = METRICS_GAUGE,
    .nlabels = 2,
    .label = {{"registration", checkerd_reg_labels, 2},
              {"state", checkerd_state_labels, CHECKER_READINESS}},
};

/* The domains that became verified in one run: their mail is released. */
struct checkerd_run {
	struct checkerd *cd;
	char (*verified)[DOMAIN_BUF];
	size_t nverified, cap;
};

static void checkerd_finished(struct checkerd *cd);

/* checkerd_progress - the thread did something: note when. */
static void
checkerd_progress(struct checkerd *cd)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	atomic_store_explicit(&cd->progress, (int64_t)now.tv_sec,
	                      memory_order_relaxed);
}

/* checkerd_census - the domains gauge from a due round's listing. */
static void
checkerd_census(const struct checker_census *c)
{
	for (size_t s = 0; s < CHECKER_READINESS; s++) {
		size_t reg = c->registered[s] +
		             (s == READINESS_UNKNOWN
		                  ? c->registered[CHECKER_NEVER_CHECKED]
		                  : 0);

		metrics_set(&checkerd_domains, 0, s, (int64_t)reg);
		metrics_set(&checkerd_domains, 1, s,
		            (int64_t)c->unregistered[s]);
	}
}

/* checkerd_take - the oldest queued request, for a free job slot. */
static bool
checkerd_take(void *arg, char *name, size_t namelen, bool *unregistered)
{
	struct checkerd *cd = ((struct checkerd_run *)arg)->cd;
	struct checkerd_item *it;
	bool took = false;

	pthread_mutex_lock(&cd->lock);
	if (cd->nqueue > 0 && !cd->stop) {
		it = &cd->queue[cd->qhead];
		snprintf(name, namelen, "%s", it->domain);
		*unregistered = it->unregistered;
		cd->qhead = (cd->qhead + 1) % CHECKERD_QUEUE_MAX;
		cd->nqueue--;
		took = true;
	}
	pthread_mutex_unlock(&cd->lock);
	return took;
}

/* checkerd_committed - states were stored: waiters look again. */
static void
checkerd_committed(void *arg)
{
	checkerd_finished(((struct checkerd_run *)arg)->cd);
}

/* checkerd_event - a domain that could not be checked (a change of state
 * is logged by checkerd_stored, once it is stored). */
static void
checkerd_event(void *arg, const struct domain_state *st,
               const struct state_effects *fx, const struct report *rep)
{
	struct log_line line;

	(void)arg;
	if (rep != NULL)
		return;
	log_line_init(&line);
	log_field(&line, "event", "check-error");
	log_field(&line, "domain", st->domain);
	log_field_text(&line, "reason", fx->reason);
	log_emit(LOG_WARNING, &line);
}

/* checkerd_stored - a committed change of state is logged, and held mail
 * of a domain that became verified is released; a lost one is logged. */
static void
checkerd_stored(void *arg, const char *domain, const struct state_effects *fx,
                const char *err)
{
	struct checkerd_run *run = arg;
	struct log_line line;

	log_line_init(&line);
	log_field(&line, "event", err ? "check-unstored" : "check");
	log_field(&line, "domain", domain);
	log_field(&line, "from", state_readiness_name(fx->from));
	log_field(&line, "to", state_readiness_name(fx->to));
	log_field_text(&line, "reason", fx->reason);
	if (err != NULL)
		log_field_text(&line, "error", err);
	if (err != NULL || fx->state_changed)
		log_emit(err ? LOG_ERR : LOG_NOTICE, &line);
	if (err != NULL || !fx->became_verified)
		return;
	if (run->nverified == run->cap) {
		size_t cap = run->cap ? run->cap * 2 : 16;
		char(*grown)[DOMAIN_BUF] =
		    realloc(run->verified, cap * sizeof(*grown));

		if (grown == NULL)
			return;
		run->verified = grown;
		run->cap = cap;
	}
	snprintf(run->verified[run->nverified++], DOMAIN_BUF, "%s", domain);
}

/* checkerd_release_one - release domain's held mail; one log line when
 * there was any, or the release failed. */
static void
checkerd_release_one(struct checkerd *cd, const struct config *cfg,
                     const char *domain)
{
	struct release_result res;
	char err[512];

	if (release_domain_cfg(cd->st, domain, cfg, &res, err, sizeof(err)) !=
	    0)
		log_msg(LOG_ERR,
		        "event=release domain=%s error=\"%s\" (held mail "
		        "stays held; run authready release %s)",
		        domain, err, domain);
	else if (res.released + res.invalid + res.refused + res.unverified +
	                 res.kept >
	             0 ||
	         res.corrupt[0] != '\0')
		log_msg(res.refused + res.unverified + res.kept > 0 ||
		                res.corrupt[0] != '\0'
		            ? LOG_WARNING
		            : LOG_NOTICE,
		        "event=release domain=%s released=%zu invalid=%zu "
		        "refused=%zu unverified=%zu kept=%zu%s%s%s%s%s%s",
		        domain, res.released, res.invalid, res.refused,
		        res.unverified, res.kept,
		        res.first_refused[0] ? " first_refused=\"" : "",
		        res.first_refused, res.first_refused[0] ? "\"" : "",
		        res.corrupt[0] ? " corrupt=\"" : "", res.corrupt,
		        res.corrupt[0] ? "\"" : "");
}

/* checkerd_release - held mail of domains that just became verified. */
static void
checkerd_release(struct checkerd *cd, const struct config *cfg,
                 const struct checkerd_run *run)
{
	for (size_t i = 0; i < run->nverified; i++)
		checkerd_release_one(cd, cfg, run->verified[i]);
}

/* checkerd_stopping - checkerd_stop() was called. */
static bool
checkerd_stopping(struct checkerd *cd)
{
	bool stop;

	pthread_mutex_lock(&cd->lock);
	stop = cd->stop;
	pthread_mutex_unlock(&cd->lock);
	return stop;
}

/* checkerd_release_held - held mail of every domain whose state in the
 * store is verified (checkerd_replica_applied asked). */
static void
checkerd_release_held(struct checkerd *cd)
{
	char(*domains)[DOMAIN_BUF] = NULL;
	struct domain_state state;
	struct snapshot *snap;
	size_t n = 0;
	char err[512];

	if (store_held_domains(cd->st, &domains, &n, err, sizeof(err)) !=
	    STORE_OK) {
		log_msg(LOG_ERR, "event=store-error error=\"%s\"", err);
		return;
	}
	if (n == 0) {
		free(domains);
		return;
	}
	if ((snap = snapshot_acquire()) == NULL) {
		free(domains);
		return;
	}
	for (size_t i = 0; i < n && !checkerd_stopping(cd); i++)
		if (store_state_get(cd->st, domains[i], &state, err,
		                    sizeof(err)) == STORE_OK &&
		    state.state == READINESS_VERIFIED)
			checkerd_release_one(cd, &snap->cfg, domains[i]);
	snapshot_release(snap);
	free(domains);
}

/* checkerd_queued - whether requests wait. */
static bool
checkerd_queued(struct checkerd *cd)
{
	bool queued;

	pthread_mutex_lock(&cd->lock);
	queued = cd->nqueue > 0;
	pthread_mutex_unlock(&cd->lock);
	return queued;
}

/* checkerd_drop - no run can start: the queued requests are dropped (their
 * MAIL FROM gets what CheckWait gives) rather than retried at once. */
static void
checkerd_drop(struct checkerd *cd)
{
	pthread_mutex_lock(&cd->lock);
	cd->nqueue = 0;
	pthread_mutex_unlock(&cd->lock);
}

#define CHECKERD_PG_RETRY_SECONDS 5

/* checkerd_pg - the connection to StoreDSN, made again when lost; NULL
 * while PostgreSQL cannot be reached (logged once per outage). */
static PGconn *
checkerd_pg(struct checkerd *cd, const struct config *cfg)
{
	char err[PGCONN_ERR_MAX];
	struct timespec now;
	int rc;

	if (cd->pg != NULL && PQstatus(cd->pg) != CONNECTION_OK) {
		PQfinish(cd->pg);
		cd->pg = NULL;
	}
	if (cd->pg != NULL)
		return cd->pg;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < cd->pg_retry)
		return NULL; /* a request must not wait for a dead server */
	cd->pg_retry = now.tv_sec + CHECKERD_PG_RETRY_SECONDS;
	rc = pgconn_open(cfg, &cd->pg, err, sizeof(err));
	if (rc == PGCONN_OK)
		rc = pgconn_check_schema(cd->pg, err, sizeof(err));
	if (rc != PGCONN_OK) {
		PQfinish(cd->pg);
		cd->pg = NULL;
		if (!cd->pg_down)
			log_msg(LOG_ERR,
			        "event=fleet-db-down error=\"%s\" (due rounds "
			        "wait; requests are checked into the local "
			        "store)",
			        err);
		cd->pg_down = true;
		return NULL;
	}
	if (cd->pg_down)
		log_msg(LOG_NOTICE, "event=fleet-db-reconnected");
	cd->pg_down = false;
	return cd->pg;
}

/* checkerd_takes_rounds - whether this host's due rounds claim PostgreSQL's
 * due domains (FleetRefresh); a change is logged, "no" when first
 * seen. */
static bool
checkerd_takes_rounds(struct checkerd *cd, const struct config *cfg)
{
	if (!cfg->fleet_refresh && !cd->rounds_off)
		log_msg(LOG_NOTICE,
		        "event=fleet-refresh-off (FleetRefresh no: the due "
		        "rounds are left to authready checkerd and the other "
		        "hosts; this host checks what its mail asks for)");
	else if (cfg->fleet_refresh && cd->rounds_off)
		log_msg(LOG_NOTICE, "event=fleet-refresh-on");
	cd->rounds_off = !cfg->fleet_refresh;
	return cfg->fleet_refresh;
}

/* checkerd_run_fleet - with StoreDSN: a due round of leases (due; with
 * FleetRefresh no, none), or the requests alone, written back to
 * PostgreSQL first; then the fleet's notices.  false when PostgreSQL is
 * down (nothing done). */
static bool
checkerd_run_fleet(struct checkerd *cd, const struct config *cfg,
                   struct dns *dns, const struct checker_options *opt,
                   char **names, size_t n, bool due)
{
	struct checker_options inner;
	struct checker_stats stats;
	struct pgcheck pc;
	char err[PGCONN_ERR_MAX];
	size_t sent = 0, failed = 0;
	PGconn *pg = checkerd_pg(cd, cfg);
	int rc;

	if (pg == NULL)
		return false;
	if (pgcheck_open(&pc, pg, cfg, err, sizeof(err)) != 0) {
		log_msg(LOG_ERR, "event=fleet-error error=\"%s\"", err);
		return true;
	}
	rc = due && checkerd_takes_rounds(cd, cfg)
	         ? pgcheck_round(&pc, cd->st, dns, opt, false, NULL, &stats,
	                         err, sizeof(err))
	         : 0;
	/* The requests, or the due unregistered states (names): a name
	 * PostgreSQL does not register stays local (pgcheck_options). */
	if (rc == 0 && (!due || n > 0)) {
		pgcheck_options(&pc, opt, &inner);
		if (checker_run(cd->st, dns, &inner, names, n, &stats, err,
		                sizeof(err)) != 0)
			rc = PGCHECK_LOCAL;
	}
	if (rc == 0)
		rc = pgcheck_notices(&pc, cfg->sendmail_path, &sent, &failed,
		                     err, sizeof(err));
	pgcheck_close(&pc);
	if (rc == PGCHECK_LOCAL)
		log_msg(LOG_ERR, "event=store-error error=\"%s\"", err);
	else if (rc != 0)
		log_msg(LOG_ERR, "event=fleet-error error=\"%s\"", err);
	return true;
}

/* checkerd_run_names - check names, and the requests that come, on a
 * fresh channel of the snapshot; with StoreDSN, a due round (due) or
 * the requests through PostgreSQL (names are not used then). */
static void
checkerd_run_names(struct checkerd *cd, char **names, size_t n,
                   bool unregistered, bool due)
{
	struct checker_options opt;
	struct checker_stats stats;
	struct checkerd_run run = {.cd = cd};
	struct snapshot *snap;
	bool fleet;
	struct dns *dns;
	char err[512];

	if (n == 0 && !due && !checkerd_queued(cd))
		return;
	if ((snap = snapshot_acquire()) == NULL) {
		checkerd_drop(cd);
		return;
	}
	if (dns_open(&dns, &snap->cfg.dns, err, sizeof(err)) != 0) {
		log_msg(LOG_ERR, "event=dns-error error=\"%s\"", err);
		snapshot_release(snap);
		checkerd_drop(cd);
		return;
	}
	checker_options_init(&opt, &snap->cfg, (int64_t)time(NULL));
	opt.unregistered = unregistered;
	opt.on_event = checkerd_event;
	opt.on_stored = checkerd_stored;
	opt.take = checkerd_take;
	opt.on_commit = checkerd_committed;
	opt.reserve = CHECKERD_RESERVE;
	opt.arg = &run;
	/* With StoreDSN, PostgreSQL first; while it is down, the requests
	 * (a MAIL FROM waits) go to the local store alone, rounds wait. */
	fleet = snap->cfg.store_dsn[0] != '\0';
	/* A fleet's confirmation mail is PostgreSQL's notice, written with
	 * the state that verified: a state verified into the local store
	 * while PostgreSQL is down sends none (once it is back, the check
	 * there verifies it and its one notice goes out). */
	if (fleet)
		opt.notify = false;
	if ((!fleet ||
	     (!checkerd_run_fleet(cd, &snap->cfg, dns, &opt, names, n, due) &&
	      !due)) &&
	    checker_run(cd->st, dns, &opt, names, n, &stats, err,
	                sizeof(err)) != 0)
		log_msg(LOG_ERR, "event=store-error error=\"%s\"", err);
	dns_close(dns);
	checkerd_release(cd, &snap->cfg, &run);
	free(run.verified);
	snapshot_release(snap);
}

/* checkerd_pruned - one log line per removed state. */
static void
checkerd_pruned(void *arg, const char *domain, int64_t last_used)
{
	struct log_line line;
	char when[32];
	time_t t = (time_t)last_used;
	struct tm tm;

	(void)arg;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)last_used);
	log_line_init(&line);
	log_field(&line, "event", "prune");
	log_field(&line, "domain", domain);
	log_field(&line, "last_used", when);
	log_field_text(&line, "reason",
	               "unregistered, no mail for UnregisteredExpiry");
	log_emit(LOG_NOTICE, &line);
}

/* checkerd_upkeep - record the uses the milter noted in the unregistered
 * states; remove those no mail used for UnregisteredExpiry. */
static void
checkerd_upkeep(struct checkerd *cd)
{
	struct checker_upkeep up;
	struct snapshot *snap;
	uint64_t dropped = 0;
	char err[512];

	if ((snap = snapshot_acquire()) == NULL)
		return;
	memset(&up, 0, sizeof(up));
	up.now = (int64_t)time(NULL);
	up.expiry = snap->cfg.unreg_expiry;
	snapshot_release(snap);
	up.used = cd->used;
	up.nused = usage_drain(cd->usage, cd->used, USAGE_SLOTS, &dropped);
	up.on_prune = checkerd_pruned;
	cd->dropped += dropped;
	if (cd->dropped > 0 &&
	    up.now - cd->dropped_logged >= CHECKERD_DROP_LOG_SECONDS) {
		log_msg(
		    LOG_WARNING,
		    "event=usage-dropped count=%llu (more sender domains in "
		    "one round than the table holds; a use is recorded when "
		    "the domain sends again)",
		    (unsigned long long)cd->dropped);
		cd->dropped = 0;
		cd->dropped_logged = up.now;
	}
	if (checker_upkeep(cd->st, &up, err, sizeof(err)) != 0)
		log_msg(LOG_ERR, "event=store-error error=\"%s\"", err);
}

/* checkerd_fleet - whether the config has StoreDSN (a fleet). */
static bool
checkerd_fleet(void)
{
	struct snapshot *snap = snapshot_acquire();
	bool fleet = snap != NULL && snap->cfg.store_dsn[0] != '\0';

	if (snap != NULL)
		snapshot_release(snap);
	return fleet;
}

/* checkerd_unregistered_first - move the names without a registry
 * entry in the store to the front; how many there are. */
static size_t
checkerd_unregistered_first(struct checkerd *cd, char **names, size_t n)
{
	struct domain_reg reg;
	char err[256], *swap;
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (store_reg_get(cd->st, names[i], &reg, err, sizeof(err)) !=
		    STORE_NOTFOUND)
			continue;
		swap = names[k];
		names[k++] = names[i];
		names[i] = swap;
	}
	return k;
}

/* checkerd_run_due - one bounded round of due domains, registered ones
 * first, after the upkeep of the unregistered ones. */
static void
checkerd_run_due(struct checkerd *cd)
{
	struct checker_census census;
	char **names = NULL, err[512];
	size_t n = 0;

	checkerd_upkeep(cd);
	if (checker_list_census(cd->st, (int64_t)time(NULL), &names, &n,
	                        &census, err, sizeof(err)) != 0) {
		log_msg(LOG_ERR, "event=store-error error=\"%s\"", err);
		return;
	}
	checkerd_census(&census);
	if (checkerd_fleet()) {
		/* PostgreSQL's due domains come with the claims; of the
		 * local list, only the unregistered states are left. */
		size_t k = checkerd_unregistered_first(cd, names, n);

		checkerd_run_names(
		    cd, names, k < CHECKERD_ROUND_MAX ? k : CHECKERD_ROUND_MAX,
		    true, true);
		checker_list_free(names, n);
		return;
	}
	checkerd_run_names(cd, names,
	                   n < CHECKERD_ROUND_MAX ? n : CHECKERD_ROUND_MAX,
	                   true, false);
	checker_list_free(names, n);
}

/* checkerd_finished - a run ended or stored states: wake the waiters. */
static void
checkerd_finished(struct checkerd *cd)
{
	checkerd_progress(cd);
	pthread_mutex_lock(&cd->lock);
	cd->generation++;
	pthread_cond_broadcast(&cd->done);
	pthread_mutex_unlock(&cd->lock);
}

/* checkerd_exit - tell checkerd_stop() the thread is done. */
static void *
checkerd_exit(struct checkerd *cd)
{
	pthread_mutex_lock(&cd->lock);
	cd->exited = true;
	pthread_cond_broadcast(&cd->done);
	pthread_mutex_unlock(&cd->lock);
	return NULL;
}

/* checkerd_ran - count a run of kind that began at t0_us. */
static void
checkerd_ran(size_t kind, uint64_t t0_us)
{
	metrics_add(&checkerd_rounds, kind, 0, 1);
	metrics_observe_us(&checkerd_round_seconds, kind, 0,
	                   metrics_now_us() - t0_us);
}

static void *
checkerd_main(void *arg)
{
	struct checkerd *cd = arg;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&cd->lock);
	while (!cd->stop) {
		struct timespec now;

		uint64_t t0;

		if (cd->nqueue > 0) {
			/* the run takes the queue itself (checkerd_take) */
			pthread_mutex_unlock(&cd->lock);
			t0 = metrics_now_us();
			checkerd_run_names(cd, NULL, 0, false, false);
			checkerd_ran(CHECKERD_RUN_REQUESTS, t0);
			checkerd_finished(cd);
			pthread_mutex_lock(&cd->lock);
			continue;
		}
		if (cd->release_asked) {
			cd->release_asked = false;
			pthread_mutex_unlock(&cd->lock);
			checkerd_release_held(cd);
			checkerd_progress(cd);
			pthread_mutex_lock(&cd->lock);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		atomic_store_explicit(&cd->progress, (int64_t)now.tv_sec,
		                      memory_order_relaxed);
		if (now.tv_sec >= next.tv_sec) {
			pthread_mutex_unlock(&cd->lock);
			t0 = metrics_now_us();
			checkerd_run_due(cd);
			checkerd_ran(CHECKERD_RUN_DUE, t0);
			checkerd_finished(cd);
			clock_gettime(CLOCK_MONOTONIC, &next);
			next.tv_sec += CHECKERD_TICK_SECONDS;
			pthread_mutex_lock(&cd->lock);
			continue;
		}
		pthread_cond_timedwait(&cd->wake, &cd->lock, &next);
	}
	pthread_mutex_unlock(&cd->lock);
	checkerd_upkeep(cd); /* the uses noted since the last round */
	PQfinish(cd->pg);
	cd->pg = NULL;
	return checkerd_exit(cd);
}

int
checkerd_start(struct checkerd **out, struct store *st, char *err,
               size_t errlen)
{
	struct checkerd *cd;
	pthread_condattr_t attr;
	int rc;

	if ((cd = calloc(1, sizeof(*cd))) == NULL ||
	    (cd->queue = calloc(CHECKERD_QUEUE_MAX, sizeof(*cd->queue))) ==
	        NULL ||
	    (cd->usage = usage_new()) == NULL ||
	    (cd->used = calloc(USAGE_SLOTS, sizeof(*cd->used))) == NULL) {
		if (cd != NULL) {
			free(cd->queue);
			usage_free(cd->usage);
		}
		free(cd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cd->st = st;
	cd->release_asked = true; /* what was verified while it was down */
	checkerd_progress(cd);
	pthread_mutex_init(&cd->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&cd->wake, &attr);
	pthread_cond_init(&cd->done, &attr);
	pthread_condattr_destroy(&attr);
	if ((rc = pthread_create(&cd->thread, NULL, checkerd_main, cd)) != 0) {
		snprintf(err, errlen, "cannot start the checker thread: %s",
		         strerror(rc));
		free(cd->queue);
		usage_free(cd->usage);
		free(cd->used);
		free(cd);
		return -1;
	}
	(void)pthread_setname_np(cd->thread, "ar-checker"); /* top -H */
	*out = cd;
	return 0;
}

bool
checkerd_stop(struct checkerd *cd, unsigned wait_seconds)
{
	struct timespec deadline;
	bool exited;

	if (cd == NULL)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)wait_seconds;
	pthread_mutex_lock(&cd->lock);
	cd->stop = true;
	pthread_cond_signal(&cd->wake);
	pthread_cond_broadcast(&cd->done);
	while (!cd->exited)
		if (pthread_cond_timedwait(&cd->done, &cd->lock, &deadline) ==
		    ETIMEDOUT)
			break;
	exited = cd->exited;
	pthread_mutex_unlock(&cd->lock);
	if (!exited)
		return false; /* still in a run: left to the process's exit */
	pthread_join(cd->thread, NULL);
	pthread_cond_destroy(&cd->wake);
	pthread_cond_destroy(&cd->done);
	pthread_mutex_destroy(&cd->lock);
	free(cd->queue);
	usage_free(cd->usage);
	free(cd->used);
	free(cd);
	return true;
}

void
checkerd_replica_applied(struct checkerd *cd, bool release)
{
	pthread_mutex_lock(&cd->lock);
	cd->generation++; /* a state a MAIL FROM waits for may be here */
	pthread_cond_broadcast(&cd->done);
	if (release) {
		cd->release_asked = true;
		pthread_cond_signal(&cd->wake);
	}
	pthread_mutex_unlock(&cd->lock);
}

void
checkerd_note_use(struct checkerd *cd, const char *domain)
{
	usage_note(cd->usage, domain);
}

bool
checkerd_request(struct checkerd *cd, const char *domain, bool unregistered)
{
	struct checkerd_item *it;
	size_t i;
	bool ok = true;

	pthread_mutex_lock(&cd->lock);
	for (i = 0; i < cd->nqueue; i++)
		if (strcmp(
		        cd->queue[(cd->qhead + i) % CHECKERD_QUEUE_MAX].domain,
		        domain) == 0)
			break;
	if (i == cd->nqueue) {
		if (cd->nqueue == CHECKERD_QUEUE_MAX) {
			ok = false;
		} else {
			it = &cd->queue[(cd->qhead + i) % CHECKERD_QUEUE_MAX];
			snprintf(it->domain, sizeof(it->domain), "%s", domain);
			it->unregistered = unregistered;
			cd->nqueue++;
		}
	}
	pthread_cond_signal(&cd->wake);
	pthread_mutex_unlock(&cd->lock);
	return ok;
}

uint64_t
checkerd_generation(struct checkerd *cd)
{
	uint64_t g;

	pthread_mutex_lock(&cd->lock);
	g = cd->generation;
	pthread_mutex_unlock(&cd->lock);
	return g;
}

bool
checkerd_wait(struct checkerd *cd, uint64_t seen,
              const struct timespec *deadline)
{
	bool finished;

	pthread_mutex_lock(&cd->lock);
	while (cd->generation == seen && !cd->stop)
		if (pthread_cond_timedwait(&cd->done, &cd->lock, deadline) ==
		    ETIMEDOUT)
			break;
	finished = cd->generation != seen;
	pthread_mutex_unlock(&cd->lock);
	return finished;
}

bool
checkerd_alive(struct checkerd *cd, char *why, size_t whylen)
{
	struct timespec now;
	int64_t idle;
	bool exited;

	if (cd == NULL) {
		snprintf(why, whylen, "no checker thread");
		return false;
	}
	pthread_mutex_lock(&cd->lock);
	exited = cd->exited || cd->stop;
	pthread_mutex_unlock(&cd->lock);
	if (exited) {
		snprintf(why, whylen, "the checker thread is stopping");
		return false;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	idle = (int64_t)now.tv_sec -
	       atomic_load_explicit(&cd->progress, memory_order_relaxed);
	if (idle > CHECKERD_STALL_SECONDS) {
		snprintf(why, whylen,
		         "the checker thread has made no progress for %llds",
		         (long long)idle);
		return false;
	}
	return true;
}

int
checkerd_metrics_register(struct metrics *m, char *err, size_t errlen)
{
	checkerd_round_seconds.nbounds = metrics_latency_nbounds;
	if (metrics_register(m, &checkerd_rounds, err, errlen) != 0 ||
	    metrics_register(m, &checkerd_round_seconds, err, errlen) != 0 ||
	    metrics_register(m, &checkerd_domains, err, errlen) != 0)
		return -1;
	return 0;
}
