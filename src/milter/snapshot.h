/*
 * snapshot.h - the current configuration of the daemon, swapped whole.
 *
 * SYNOPSIS
 *	#include "snapshot.h"
 *
 *	The functions: see snapshot.c.
 *
 * DESCRIPTION
 *	The daemon's only global mutable state.  A snapshot is an immutable,
 *	reference-counted struct config.  A connection takes a reference at
 *	its start (snapshot_acquire) and drops it at its end, so it never sees
 *	a half-loaded config; a reload builds a new snapshot off to the side
 *	and installs it only when the whole file was valid, keeping the old one
 *	otherwise.
 */
#ifndef AUTHREADY_SNAPSHOT_H
#define AUTHREADY_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "configfile.h"

struct snapshot {
	struct config cfg;
	uint64_t generation;   /* 1 for the first, +1 per reload */
	_Atomic unsigned refs; /* owned by snapshot.c */
};

/*
 * snapshot_load - read path into a new snapshot and install it.  0 ok;
 * -1 with err, the current snapshot (if any) unchanged.
 */
int snapshot_load(const char *path, bool must_exist, char *err, size_t errlen);

/* A check of a loaded config beyond its syntax (files it names): 0 ok,
 * -1 with err. */
typedef int snapshot_vet_fn(const struct config *cfg, char *err, size_t errlen);

/*
 * snapshot_load_vetted - snapshot_load(), installing the new snapshot
 * only when vet (if not NULL) also accepts it.
 */
int snapshot_load_vetted(const char *path, bool must_exist,
                         snapshot_vet_fn *vet, char *err, size_t errlen);

/* snapshot_acquire - the current snapshot, with a reference; NULL before
 * the first load. */
struct snapshot *snapshot_acquire(void);

/* snapshot_release - drop a reference; the last one frees it. */
void snapshot_release(struct snapshot *snap);

/* snapshot_shutdown - release the current snapshot (at exit). */
void snapshot_shutdown(void);

#endif
