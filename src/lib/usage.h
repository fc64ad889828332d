/*
 * usage.h - which sender domains mail used, noted without locks.
 *
 * SYNOPSIS
 *	#include "usage.h"
 *
 *	struct usage *usage_new(void);
 *	void usage_free(struct usage *u);
 *	uint64_t usage_hash(const char *domain);
 *	void usage_note(struct usage *u, const char *domain);
 *	size_t usage_drain(struct usage *u, uint64_t *out, size_t max,
 *	    uint64_t *dropped);
 *	bool usage_seen(const uint64_t *sorted, size_t n, const char *domain);
 *
 * DESCRIPTION
 *	The milter notes each domain whose state it used at MAIL FROM; the
 *	checker thread drains the notes once a round and records the use
 *	in the states of unregistered domains (so they are not pruned),
 *	without a store write on a milter thread.
 *
 *	The table holds 64-bit hashes of domain names (FNV-1a; never 0) in
 *	USAGE_SLOTS atomic slots, probed linearly at most USAGE_PROBES
 *	times.  usage_note() is a few atomic loads and at most one
 *	compare-and-swap: decision threads never wait for each other or for
 *	the drain.  usage_drain() empties every slot with an atomic
 *	exchange; a note that races with it lands in this drain or the next,
 *	never nowhere.  The drained hashes are sorted and unique, for
 *	usage_seen().  A hash says "maybe used": two names with one hash
 *	keep each other's state one expiry longer, which is harmless.
 *
 * DIAGNOSTICS
 *	A note that finds no free slot among its probes is counted as
 *	dropped (reported by the next drain); that domain's use is simply
 *	not recorded this round.  usage_new() returns NULL when out of memory.
 */
#ifndef AUTHREADY_USAGE_H
#define AUTHREADY_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USAGE_SLOTS 65536 /* distinct domains noted between two drains */
#define USAGE_PROBES 32   /* slots a note tries */

struct usage;

/* usage_new - an empty table; NULL when out of memory. */
struct usage *usage_new(void);

/* usage_free - free u (NULL is fine). */
void usage_free(struct usage *u);

/* usage_hash - the 64-bit hash of a normalized domain, never 0. */
uint64_t usage_hash(const char *domain);

/* usage_note - note that mail used domain; safe from any thread. */
void usage_note(struct usage *u, const char *domain);

/*
 * usage_drain - take every note: at most max hashes into out, sorted and
 * unique; returns their count.  *dropped (may be NULL) gets the notes lost
 * since the last drain.  One thread drains at a time.
 */
size_t usage_drain(struct usage *u, uint64_t *out, size_t max,
                   uint64_t *dropped);

/* usage_seen - domain's hash is in sorted[0..n). */
bool usage_seen(const uint64_t *sorted, size_t n, const char *domain);

#endif
