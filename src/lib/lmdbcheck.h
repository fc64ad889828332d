/*
 * lmdbcheck.h - the page structure of an LMDB data file, read with pread.
 *
 * SYNOPSIS
 *	#include "lmdbcheck.h"
 *
 *	int lmdbcheck_fd(int fd, struct lmdbcheck_report *rep);
 *
 * DESCRIPTION
 *	LMDB does not checksum its pages and trusts every header and node
 *	it maps: a page number past the file, a node offset outside its
 *	page or a free-space bound that lies makes liblmdb fault, or write
 *	over its own heap.  lmdbcheck_fd() reads data.mdb itself, page by
 *	page with pread(2) (no map, no liblmdb: nothing here can fault),
 *	and walks every page reachable from the current meta page: LMDB's
 *	free list, the main database and every named database in it.
 *
 *	Each page: its number is in the file and not reached twice, it
 *	names itself, it is a branch or a leaf at the depth its database
 *	records, its bounds (lower, upper) are sane, every node lies
 *	inside the page above upper and overlaps no other, a branch's
 *	children and a leaf's overflow pages are in the file.  Each
 *	database: as many leaf entries as its record counts.
 *
 *	It reads without a reader slot, so a writer may reuse pages of the
 *	snapshot being walked: a walk counts only when the current meta
 *	page is the same after it as before; otherwise it is done again.
 *
 *	The layout is LMDB 0.9's data format version 1 (mdb.c: MDB_meta,
 *	MDB_db, MDB_page, MDB_node) on a 64-bit little- or big-endian host,
 *	as the file is written in host order; named databases without
 *	MDB_DUPSORT, which is all authready uses.
 *
 * DIAGNOSTICS
 *	0 sound; 1 damaged, the first finding in rep->problem; -1 the file
 *	could not be read (rep->problem says why).
 */
#ifndef AUTHREADY_LMDBCHECK_H
#define AUTHREADY_LMDBCHECK_H

#include <stddef.h>
#include <stdint.h>

#define LMDBCHECK_PROBLEM_MAX 256

struct lmdbcheck_report {
	uint64_t pages;   /* pages reached (overflow pages included) */
	uint64_t last_pg; /* the last page the meta page claims */
	size_t dbs;       /* databases walked */
	int busy;         /* writers never let a walk finish on one
	                     snapshot: not checked, taken as sound */
	char problem[LMDBCHECK_PROBLEM_MAX];
};

int lmdbcheck_fd(int fd, struct lmdbcheck_report *rep);

#endif
