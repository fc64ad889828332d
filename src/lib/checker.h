/*
 * checker.h - re-check registered domains and keep their state.
 *
 * SYNOPSIS
 *	#include "checker.h"
 *
 *	The functions: see checker.c.
 *
 * DESCRIPTION
 *	checker_run() checks a list of domains concurrently on one
 *	c-ares channel: at most `window` readiness jobs in flight, each answer
 *	turned into a state transition (state.c) and written to the store in
 *	batches, so a crash loses at most the uncommitted tail and never
 *	half-writes a state.  After the DNS work, first-time verifications with
 *	a contact address get the confirmation mail (notify.c); its success or
 *	failure is recorded so it is sent once and retried on failure.
 *
 *	The daemon also hands a run the domains it needs now (a MAIL FROM
 *	waits for them): take() is asked for them whenever a job slot is free,
 *	before the next name of the list; `reserve` slots beyond the window are
 *	theirs alone, so they never queue behind a long list or a slow domain,
 *	and their states are committed as soon as they are in (on_commit).
 *
 *	With a flush hook (a fleet's PostgreSQL), finished checks are held,
 *	their job slots kept, and handed over together: when flush_max of
 *	them are held, when one is on demand, at least every
 *	CHECKER_COMMIT_MS, and at the end of the run; what the hook wrote
 *	then goes to the local store.  With submit and reap, the hook
 *	writes one flush in the background while the run checks on (and
 *	holds up to twice flush_max meanwhile before it waits for it).
 *
 *	checker_request() builds the readiness request of one registered domain
 *	from its registry entry and the global config (the entry wins).
 *
 *	Unregistered domains (UnregisteredDomains check) have a state and no
 *	registry entry: they are listed and re-checked with the global
 *	expectations like any other domain, and checker_upkeep() records the
 *	uses the milter noted (usage.h) and removes the states no mail used for
 *	UnregisteredExpiry.
 */
#ifndef AUTHREADY_CHECKER_H
#define AUTHREADY_CHECKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "configfile.h"
#include "dns.h"
#include "domain.h"
#include "readiness.h"
#include "state.h"
#include "store.h"

#define CHECKER_WINDOW_DEFAULT 128 /* readiness jobs in flight */
#define CHECKER_BATCH_DEFAULT 4096 /* states per write transaction */
#define CHECKER_COMMIT_MS 1000     /* and at least this often */

/* checker_event - one domain's outcome, for logs and the CLI.  With a
 * report it is the check's result, not yet stored: see checker_stored. */
typedef void (*checker_event_cb)(void *arg, const struct domain_state *st,
                                 const struct state_effects *fx,
                                 const struct report *rep);
/* checker_stored - a state transition once its write transaction ended:
 * committed (err NULL), or lost with it (err says why). */
typedef void (*checker_stored_cb)(void *arg, const char *domain,
                                  const struct state_effects *fx,
                                  const char *err);
typedef void (*checker_progress_cb)(void *arg, size_t done, size_t total);
/* checker_take - the next on-demand name into name[namelen]; false: none */
typedef bool (*checker_take_cb)(void *arg, char *name, size_t namelen,
                                bool *unregistered);
/* checker_more - the list is done: the next names (a fleet's next claim)
 * into *names[0..*n), valid until the next call; false: no more */
typedef bool (*checker_more_cb)(void *arg, char *const **names, size_t *n);
/* checker_commit - states were committed (readers can see them) */
typedef void (*checker_commit_cb)(void *arg);
/* checker_reg - name's registry entry from elsewhere (a fleet's
 * PostgreSQL) instead of the store: a STORE_ status, err when not OK */
typedef int (*checker_reg_cb)(void *arg, const char *name,
                              struct domain_reg *reg, char *err, size_t errlen);
/* One finished check for checker_flush: the check, then what the flush
 * made of it. */
struct checker_result {
	const char *domain;
	const char *contact;
	const struct report *rep;
	bool urgent; /* an on-demand name (a MAIL FROM waits for it) */
	/* out: 0 written upstream (the state in next, its effects in fx);
	 * CHECKER_DROPPED not written and must not be (a lost lease);
	 * CHECKER_LOCAL not upstream's (the local store alone, as without
	 * flush); -1 not written (err says why, for each) */
	int rc;
	struct domain_state next;
	struct state_effects fx;
	char err[1024];
};
/* checker_flush - store finished checks upstream first (a fleet's
 * PostgreSQL), res[0..n) in one go, setting each res[i].rc; then the
 * local store gets each next that was written */
typedef void (*checker_flush_cb)(void *arg, struct checker_result *res,
                                 size_t n);
/* checker_submit - as checker_flush, in the background: res[0..n) are
 * the hook's until checker_reap gives them back; false: not now (the run
 * calls flush instead) */
typedef bool (*checker_submit_cb)(void *arg, struct checker_result *res,
                                  size_t n);
/* checker_reap - the submitted res once upstream wrote it (each rc set),
 * NULL while it has not; wait: until it has */
typedef struct checker_result *(*checker_reap_cb)(void *arg, bool wait);
#define CHECKER_DROPPED 1
#define CHECKER_LOCAL 2

struct checker_options {
	const struct config *cfg;
	struct state_timing timing;
	size_t window;
	size_t batch;
	int64_t now;       /* the clock, unix seconds (injected) */
	bool notify;       /* send confirmation mails */
	bool unregistered; /* names without an entry: the global expectations */
	int64_t unreg_expiry; /* UnregisteredExpiry: stamps a first use */
	const char *notify_from;
	checker_event_cb on_event;
	checker_stored_cb on_stored;
	checker_progress_cb on_progress;
	checker_take_cb take;        /* NULL: the list only */
	checker_commit_cb on_commit; /* may be NULL */
	size_t reserve;              /* slots beyond window for take() */
	checker_reg_cb reg_get;      /* NULL: the store's registry */
	checker_flush_cb flush;      /* NULL: the store alone (and its mail) */
	checker_more_cb more;        /* NULL: the list given alone */
	size_t flush_max;            /* results held per flush; 0: window */
	checker_submit_cb submit;    /* NULL: every flush in the run's turn */
	checker_reap_cb reap;        /* with submit */
	int wake_fd; /* with submit: readable once a submitted flush ended */
	void *arg;
};

struct checker_stats {
	size_t total, done;
	size_t by_state[READINESS_FAILED + 1];
	size_t changed;
	size_t notified, notify_failed;
	size_t errors;   /* domains that could not be checked or stored */
	size_t unstored; /* of those, checked but lost with a failed write */
	size_t dropped;  /* flush: results not written (a lost lease) */
};

/* checker_options_init - defaults from the config. */
void checker_options_init(struct checker_options *opt, const struct config *cfg,
                          int64_t now);

/* checker_request - the request for reg; 0 ok, -1 with err (key file). */
int checker_request(const struct domain_reg *reg, const struct config *cfg,
                    struct readiness_request *req, char *err, size_t errlen);

/*
 * checker_list - domain names: every registered domain, then every
 * unregistered one that has a state; all of them, or (due_only) those
 * whose state is due at now (never-checked registered ones are due).
 * Check them with opt.unregistered set.  *names is an array of malloc'd
 * strings; free with checker_list_free.  0 ok, -1 with err.
 */
int checker_list(struct store *st, bool due_only, int64_t now, char ***names,
                 size_t *n, char *err, size_t errlen);

/* Domains by readiness, counted by the listing that reads their states
 * anyway (registered[CHECKER_NEVER_CHECKED]: no state yet). */
#define CHECKER_READINESS 5 /* enum domain_readiness */
#define CHECKER_NEVER_CHECKED CHECKER_READINESS
struct checker_census {
	size_t registered[CHECKER_READINESS + 1];
	size_t unregistered[CHECKER_READINESS];
};

/* checker_list_census - checker_list(), due_only, and the census of
 * every state it read (census may be NULL). */
int checker_list_census(struct store *st, int64_t now, char ***names, size_t *n,
                        struct checker_census *census, char *err,
                        size_t errlen);
void checker_list_free(char **names, size_t n);

/* One round of upkeep of unregistered states; see checker_upkeep(). */
typedef void (*checker_prune_cb)(void *arg, const char *domain,
                                 int64_t last_used);

struct checker_upkeep {
	int64_t now;
	int64_t expiry;       /* UnregisteredExpiry; 0 prunes nothing */
	const uint64_t *used; /* usage_drain(): domains mail used */
	size_t nused;
	checker_prune_cb on_prune; /* after the removal is committed */
	void *arg;
	/* results */
	size_t unregistered; /* states without a registry entry */
	size_t recorded;     /* ... whose use was written */
	size_t pruned;       /* ... removed */
};

/*
 * checker_upkeep - record the uses in up->used in the states of
 * unregistered domains (state_note_use: at most once a step), then remove
 * those no mail used for up->expiry (state_unused) unless mail is held
 * for them.  Each change is re-read and re-judged in the write
 * transaction, so a domain registered meanwhile is left alone.  0 ok, -1
 * with err (what was committed before stays).
 */
int checker_upkeep(struct store *st, struct checker_upkeep *up, char *err,
                   size_t errlen);

/*
 * checker_run - check names[0..n), and what opt->take hands over until
 * the run ends; 0 ok (see stats), -1 with err.
 */
int checker_run(struct store *st, struct dns *dns,
                const struct checker_options *opt, char *const *names, size_t n,
                struct checker_stats *stats, char *err, size_t errlen);

#endif
