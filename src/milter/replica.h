/*
 * replica.h - the daemon's LMDB kept a replica of PostgreSQL (StoreDSN).
 *
 * SYNOPSIS
 *	#include "replica.h"
 *
 *	The functions: see replica.c.
 *
 * DESCRIPTION
 *	With StoreDSN set, authready-milter starts one replica thread.  It
 *	takes a snapshot of the registry and the states from PostgreSQL
 *	when the store has no position, then follows the change stream by
 *	version (LISTEN authready_changes as the wake-up, a poll every
 *	REPLICA_POLL_MS without one, a catch-up after every reconnect).
 *	The milter threads never talk to PostgreSQL: they read LMDB, and
 *	replica_heard_ms() (an atomic) to know how long the replica has
 *	been out of touch (ReplicaMaxLag).
 */
#ifndef AUTHREADY_REPLICA_H
#define AUTHREADY_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include "configfile.h"
#include "store.h"

#define REPLICA_POLL_MS 2000         /* catch-up without a NOTIFY */
#define REPLICA_FETCH_ROWS 5000      /* rows per FETCH and LMDB batch */
#define REPLICA_BACKOFF_MIN_MS 250   /* first reconnect delay */
#define REPLICA_BACKOFF_MAX_MS 10000 /* reconnect delay ceiling */
#define REPLICA_CONNECT_TIMEOUT_MS 10000
#define REPLICA_HEARD_WRITE_MS 5000 /* last heard kept in LMDB this often */
#define REPLICA_CHANNEL "authready_changes"

struct replica;

/* replica_start - copy the fleet settings of cfg and start the thread
 * on st (which must outlive it); on_applied(arg, release) (may be NULL),
 * on the replica's thread, after a pass that applied rows (release: a
 * verified state among them while the held index holds anything); it
 * must return at once.  0 ok, -1 with err. */
int replica_start(struct replica **out, struct store *st,
                  const struct config *cfg,
                  void (*on_applied)(void *arg, bool release), void *arg,
                  char *err, size_t errlen);

/* replica_stop - stop the thread and free rp; false when it did not end
 * within wait_seconds (rp is then left to the process's exit). */
bool replica_stop(struct replica *rp, int wait_seconds);

/* replica_heard_ms - unix ms when PostgreSQL last answered (kept across
 * restarts in the store); 0 never. */
int64_t replica_heard_ms(const struct replica *rp);

/* replica_behind - has rp not heard from PostgreSQL for max_lag_s at
 * unix ms now_ms?  One atomic load; false when rp is NULL (no
 * StoreDSN). */
bool replica_behind(const struct replica *rp, int64_t max_lag_s,
                    int64_t now_ms);

#endif
