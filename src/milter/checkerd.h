/*
 * checkerd.h - the milter's checker thread: the only place DNS happens.
 *
 * SYNOPSIS
 *	#include "checkerd.h"
 *
 *	The functions: see checkerd.c.
 *
 * DESCRIPTION
 *	Milter threads never resolve anything.  When a sender domain has no
 *	state, a milter thread queues it here (checkerd_request) and waits at
 *	most CheckWait for its state to be stored (checkerd_wait), then reads
 *	the store again.  Between requests the thread re-checks the domains
 *	that are due, a bounded number per round.  A request is taken into the
 *	run in progress as soon as a job slot is free (CHECKERD_RESERVE slots
 *	are kept for requests), so it never waits behind a due round or a slow
 *	domain, and its state is committed as soon as it is known.  When a
 *	domain becomes verified its held mail is released.  The thread owns its
 *	c-ares channel (c-ares 1.18 has no channel locking), opened per run
 *	from the current config snapshot.  A domain verified by another
 *	host's checker (a fleet) has its held mail released when this host's
 *	replica applies the state (checkerd_replica_applied), which also
 *	wakes the MAIL FROMs waiting for a state another checker made.
 *
 *	Due rounds include the unregistered domains that have a state.  The
 *	milter notes which domains its mail used (checkerd_note_use, no lock,
 *	no store write); each round records those uses in the unregistered
 *	states and removes the ones no mail used for UnregisteredExpiry.
 */
#ifndef AUTHREADY_CHECKERD_H
#define AUTHREADY_CHECKERD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "store.h"

#define CHECKERD_QUEUE_MAX 4096        /* domains waiting for a check */
#define CHECKERD_ROUND_MAX 1000        /* due domains per periodic round */
#define CHECKERD_TICK_SECONDS 15       /* how often due domains are sought */
#define CHECKERD_RESERVE 32            /* job slots only requests may use */
#define CHECKERD_DROP_LOG_SECONDS 3600 /* lost use notes: one line at most */
/* No progress for this long (no idle wake-up, commit or end of a run;
 * a check ends within CheckTimeout, at most 300 s): stalled. */
#define CHECKERD_STALL_SECONDS 600

struct checkerd;

/* checkerd_start - start the thread; 0 ok, -1 with err. */
int checkerd_start(struct checkerd **out, struct store *st, char *err,
                   size_t errlen);

/*
 * checkerd_stop - stop the thread and free it once it has finished its
 * current run, waiting at most wait_seconds.  false when the run did not
 * finish in time: the thread is left running and nothing is freed (the
 * store stays in use), so the caller must only exit; a check cut short
 * that way stores nothing.
 */
bool checkerd_stop(struct checkerd *cd, unsigned wait_seconds);

/*
 * checkerd_request - queue domain for a check now; unregistered asks for
 * the global expectations (no registry entry).  false when the queue is
 * full.
 */
bool checkerd_request(struct checkerd *cd, const char *domain,
                      bool unregistered);

/*
 * checkerd_replica_applied - the replica stored states: the waiters
 * (checkerd_wait) look again, and with release the thread releases the
 * held mail of every domain whose state in the store is verified (the
 * thread also does that once at its start); any thread, returns at once.
 */
void checkerd_replica_applied(struct checkerd *cd, bool release);

/* checkerd_note_use - mail used domain's state; any thread, never
 * blocks. */
void checkerd_note_use(struct checkerd *cd, const char *domain);

/* checkerd_generation - commits and runs finished so far. */
uint64_t checkerd_generation(struct checkerd *cd);

/*
 * checkerd_wait - wait until states were stored (or a run ended) after
 * generation seen, or the absolute CLOCK_MONOTONIC deadline passes.
 * true when that happened.
 */
bool checkerd_wait(struct checkerd *cd, uint64_t seen,
                   const struct timespec *deadline);

/* checkerd_alive - the thread runs and made progress lately; false with
 * the reason in why (stopping, stalled). */
bool checkerd_alive(struct checkerd *cd, char *why, size_t whylen);

struct metrics;

/* checkerd_metrics_register - the checker's metrics into m (runs, their
 * duration, domains by state); 0, or -1 with err. */
int checkerd_metrics_register(struct metrics *m, char *err, size_t errlen);

#endif
