/*
 * checkerd.c - the milter's checker thread; see checkerd.h.
 *
 * SYNOPSIS
 *	int checkerd_start(out, st, err, errlen);
 *	bool checkerd_stop(cd, wait_seconds);
 *	bool checkerd_request(cd, domain, unregistered);
 *	uint64_t checkerd_generation(cd);
 *	bool checkerd_wait(cd, seen, deadline);
 *	void checkerd_note_use(cd, domain);
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
 *	Uses of domains are noted in a lock-free table (usage.h) by the
 *	milter threads; each due round, and the thread's exit, drains it
 *	and has checker_upkeep() record them in the unregistered states
 *	and remove the states unused for UnregisteredExpiry.
 *
 * DIAGNOSTICS
 *	Every state change and every failure is one log line.
 */
#include "checkerd.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "dns.h"
#include "log.h"
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
};

/* The domains that became verified in one run: their mail is released. */
struct checkerd_run {
	struct checkerd *cd;
	char (*verified)[DOMAIN_BUF];
	size_t nverified, cap;
};

static void checkerd_finished(struct checkerd *cd);

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

/* checkerd_release - held mail of domains that just became verified. */
static void
checkerd_release(struct checkerd *cd, const struct config *cfg,
                 const struct checkerd_run *run)
{
	struct release_result res;
	char err[512];
	size_t i;

	for (i = 0; i < run->nverified; i++) {
		if (release_domain(cd->st, run->verified[i],
		                   cfg->release_command,
		                   cfg->hold_queue_command, cfg->mta, &res, err,
		                   sizeof(err)) != 0)
			log_msg(
			    LOG_ERR,
			    "event=release domain=%s error=\"%s\" (held mail "
			    "stays held; run authready release %s)",
			    run->verified[i], err, run->verified[i]);
		else if (res.released + res.invalid + res.refused +
		                 res.unverified + res.kept >
		             0 ||
		         res.corrupt[0] != '\0')
			log_msg(
			    res.refused + res.unverified + res.kept > 0 ||
			            res.corrupt[0] != '\0'
			        ? LOG_WARNING
			        : LOG_NOTICE,
			    "event=release domain=%s released=%zu invalid=%zu "
			    "refused=%zu unverified=%zu kept=%zu%s%s%s%s%s%s",
			    run->verified[i], res.released, res.invalid,
			    res.refused, res.unverified, res.kept,
			    res.first_refused[0] ? " first_refused=\"" : "",
			    res.first_refused, res.first_refused[0] ? "\"" : "",
			    res.corrupt[0] ? " corrupt=\"" : "", res.corrupt,
			    res.corrupt[0] ? "\"" : "");
	}
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

/* checkerd_run_names - check names, and the requests that come, on a
 * fresh channel of the snapshot. */
static void
checkerd_run_names(struct checkerd *cd, char **names, size_t n,
                   bool unregistered)
{
	struct checker_options opt;
	struct checker_stats stats;
	struct checkerd_run run = {.cd = cd};
	struct snapshot *snap;
	struct dns *dns;
	char err[512];

	if (n == 0 && !checkerd_queued(cd))
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
	if (checker_run(cd->st, dns, &opt, names, n, &stats, err,
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

/* checkerd_run_due - one bounded round of due domains, registered ones
 * first, after the upkeep of the unregistered ones. */
static void
checkerd_run_due(struct checkerd *cd)
{
	char **names = NULL, err[512];
	size_t n = 0;

	checkerd_upkeep(cd);
	if (checker_list(cd->st, true, (int64_t)time(NULL), &names, &n, err,
	                 sizeof(err)) != 0) {
		log_msg(LOG_ERR, "event=store-error error=\"%s\"", err);
		return;
	}
	checkerd_run_names(
	    cd, names, n < CHECKERD_ROUND_MAX ? n : CHECKERD_ROUND_MAX, true);
	checker_list_free(names, n);
}

/* checkerd_finished - a run ended or stored states: wake the waiters. */
static void
checkerd_finished(struct checkerd *cd)
{
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

static void *
checkerd_main(void *arg)
{
	struct checkerd *cd = arg;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&cd->lock);
	while (!cd->stop) {
		struct timespec now;

		if (cd->nqueue > 0) {
			/* the run takes the queue itself (checkerd_take) */
			pthread_mutex_unlock(&cd->lock);
			checkerd_run_names(cd, NULL, 0, false);
			checkerd_finished(cd);
			pthread_mutex_lock(&cd->lock);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec >= next.tv_sec) {
			pthread_mutex_unlock(&cd->lock);
			checkerd_run_due(cd);
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
