/*
 * storecheck.h - verify a store, and read its registry, in a child process.
 *
 * SYNOPSIS
 *	#include "storecheck.h"
 *
 *	int storecheck_verify(const char *dir, storecheck_setup setup,
 *	    void *ctx, struct storecheck_result *res);
 *	void storecheck_message(const struct storecheck_result *res,
 *	    const char *dir, char *buf, size_t len);
 *
 *	int storecheck_export(const char *dir, store_reg_cb cb,
 *	    store_problem_cb bad, void *ctx,
 *	    struct storecheck_export_result *res);
 *
 * DESCRIPTION
 *	LMDB reads its pages through a memory map and does not checksum
 *	them: a damaged page can fault inside liblmdb (SIGBUS, SIGSEGV).
 *	These functions touch the map only in a forked child, so such a
 *	fault ends the child and the caller reports it.
 *
 *	storecheck_verify() reads the page structure of data.mdb without
 *	liblmdb (lmdbcheck.c: every page reachable from the meta page),
 *	then runs store_check() (every entry of every
 *	database, through a cursor and through its own lookup; every value
 *	decoded) in a child that first calls setup (for example to drop
 *	privileges; may be NULL) and opens the store read-only.  The report
 *	lives in a shared anonymous mapping, so the database and key the
 *	child had reached survive its death.  A store that does not exist
 *	yet is sound (res->absent).  The child gets STORECHECK_TIMEOUT
 *	seconds.
 *
 *	storecheck_export() reads every decodable registry entry in key
 *	order and hands it to cb in the caller; undecodable ones go to bad.
 *	When the forward walk dies or fails part way, a second child walks
 *	from the last key down until it meets the first walk, so damage in
 *	the middle loses only what lies in the damaged pages, and the gap
 *	is named in res.  The registry's entry count (LMDB's, read before
 *	the walk) tells whether anything was actually left unread: a
 *	damaged page can fault after the last entry on it was read.
 *
 * DIAGNOSTICS
 *	storecheck_verify: STORECHECK_SOUND, STORECHECK_DAMAGED (the walk
 *	faulted, failed, timed out or found corrupt or damaged entries) or
 *	STORECHECK_ERROR (the store could not be opened or the child not
 *	started), with a sentence in res->error.  storecheck_export: 0 when
 *	every entry was read and decoded (res->faulted may still say the
 *	store is damaged), 1 when some were not (res says which part), -1
 *	when nothing could be read (res->error).
 */
#ifndef AUTHREADY_STORECHECK_H
#define AUTHREADY_STORECHECK_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORECHECK_TIMEOUT 600     /* seconds a child may take */
#define STORECHECK_PROBLEMS_MAX 16 /* findings kept for the report */
#define STORECHECK_LINE_MAX 384    /* one finding, sanitized */
#define STORECHECK_ERR_MAX 512

enum storecheck_outcome {
	STORECHECK_ERROR = -1,
	STORECHECK_SOUND = 0,
	STORECHECK_DAMAGED = 1,
};

struct storecheck_result {
	int outcome;    /* enum storecheck_outcome */
	int absent;     /* no store yet: nothing to check */
	int signal;     /* the child died by this signal; 0 when not */
	int timed_out;  /* ... by STORECHECK_TIMEOUT */
	uint64_t pages; /* pages reached by the structure check */
	struct store_check_report rep;
	size_t nproblems; /* damage findings; the first ones kept below */
	char problems[STORECHECK_PROBLEMS_MAX][STORECHECK_LINE_MAX];
	char error[STORECHECK_ERR_MAX];
};

/* storecheck_setup - run in the child before it opens the store; 0 ok,
 * else a sentence in err. */
typedef int (*storecheck_setup)(void *ctx, char *err, size_t errlen);

/* storecheck_verify - the whole store, checked in a child process. */
int storecheck_verify(const char *dir, storecheck_setup setup, void *ctx,
                      struct storecheck_result *res);

/* storecheck_message - "store DIR is damaged: WHAT; recover with: ..."
 * (or why it could not be checked) for a result that is not sound. */
void storecheck_message(const struct storecheck_result *res, const char *dir,
                        char *buf, size_t len);

struct storecheck_export_result {
	size_t exported; /* entries handed to cb */
	size_t corrupt;  /* entries handed to bad */
	size_t entries;  /* what LMDB counts; 0 when unknown */
	int faulted;     /* a walk died or failed (why says how) */
	int gap;         /* ... and entries were left unread */
	char gap_after[STORECHECK_LINE_MAX];  /* last key before it ("" none) */
	char gap_before[STORECHECK_LINE_MAX]; /* first key after it ("" none) */
	char why[STORECHECK_ERR_MAX];         /* what stopped the walk */
	char error[STORECHECK_ERR_MAX];
};

/* storecheck_export - every registry entry that can still be read. */
int storecheck_export(const char *dir, store_reg_cb cb, store_problem_cb bad,
                      void *ctx, struct storecheck_export_result *res);

#endif
