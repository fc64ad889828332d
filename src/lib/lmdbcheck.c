/*
 * lmdbcheck.c - the page structure of an LMDB data file, read with pread.
 *
 * SYNOPSIS
 *	See lmdbcheck.h.
 *
 * DESCRIPTION
 *	The constants and offsets below are LMDB 0.9's (mdb.c), named as
 *	there.  A page starts with a 16-byte header (pgno, pad, flags,
 *	lower, upper; an overflow page has a 32-bit page count in place of
 *	lower and upper), then lower - 16 bytes of 16-bit node offsets.  A
 *	node is lo, hi, flags, ksize (16 bits each), the key, then on a
 *	leaf the data (lo | hi << 16 bytes, or a page number for
 *	F_BIGDATA); on a branch lo | hi << 16 | flags << 32 is the child.
 *	Nodes are 2-byte aligned.  The meta page holds magic, version,
 *	address, mapsize, the free and main MDB_db records, last_pg and
 *	txnid; the page size is the free record's pad.
 *
 *	The walk is depth-first with the depth bounded by each database's
 *	md_depth (at most LMDBCHECK_DEPTH_MAX), a bitmap of pages reached
 *	(no page twice: no cycle, no shared subtree), one page buffer and
 *	one array of node extents per level (a named database's levels
 *	below those of the main database, whose leaf names it).
 *
 * DIAGNOSTICS
 *	See lmdbcheck.h.
 */
#include "lmdbcheck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MDB_MAGIC 0xBEEFC0DEu
#define MDB_DATA_VERSION 1u
#define PAGEHDRSZ 16u
#define NODESIZE 8u
#define NUM_METAS 2u
#define P_BRANCH 0x01u
#define P_LEAF 0x02u
#define P_OVERFLOW 0x04u
#define F_BIGDATA 0x01u
#define F_SUBDATA 0x02u
#define F_DUPDATA 0x04u
#define P_INVALID UINT64_MAX
#define MDB_DB_SIZE 48u        /* struct MDB_db */
#define MDB_META_SIZE 136u     /* struct MDB_meta */
#define LMDBCHECK_DEPTH_MAX 32 /* LMDB's CURSOR_STACK */
#define LMDBCHECK_PSIZE_MIN 512
#define LMDBCHECK_PSIZE_MAX 65536
#define LMDBCHECK_KEY_MAX 511 /* MDB_MAXKEYSIZE */
#define LMDBCHECK_TRIES 8     /* walks before a busy store is let be */
/* Page buffers: a named database is walked from a leaf of the main one,
 * below the main database's levels. */
#define LMDBCHECK_LEVELS (2 * LMDBCHECK_DEPTH_MAX)

/* Node extents of one page, to find overlaps. */
struct extent {
	size_t start, end;
};

/* An MDB_db record. */
struct dbrec {
	uint16_t flags, depth;
	uint64_t entries, root;
};

struct walk {
	int fd;
	size_t psize;
	uint64_t last_pg;
	unsigned char *seen; /* a bit per page */
	unsigned char *bufs; /* LMDBCHECK_LEVELS pages */
	struct extent *exts; /* the node extents of each level's page */
	unsigned base;       /* levels used by the main database above */
	uint64_t entries;    /* leaf entries of the database walked */
	int in_main;         /* walking the main database */
	struct lmdbcheck_report *rep;
};

/* damaged - the first finding; returns 1. */
static int __attribute__((format(printf, 2, 3)))
damaged(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->rep->problem, sizeof(w->rep->problem), fmt, ap);
	va_end(ap);
	return 1;
}

/* get16, get32, get64 - host-order fields (LMDB writes host order). */
static uint16_t
get16(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t
get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* get_dbrec - an MDB_db record at p. */
static void
get_dbrec(const unsigned char *p, struct dbrec *db)
{
	db->flags = get16(p + 4);
	db->depth = get16(p + 6);
	db->entries = get64(p + 32);
	db->root = get64(p + 40);
}

/* read_at - exactly len bytes at off; 0, or -1 (short or failed). */
static int
read_at(int fd, void *buf, size_t len, uint64_t off)
{
	unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* reach - mark pages pg..pg+n-1 reached; 1 (damage) when one is out of
 * the file or was reached before. */
static int
reach(struct walk *w, uint64_t pg, uint64_t n, const char *what)
{
	if (pg < NUM_METAS || pg > w->last_pg || n > w->last_pg - pg + 1)
		return damaged(w,
		               "%s: page %llu is outside the file (pages "
		               "2..%llu)",
		               what, (unsigned long long)pg,
		               (unsigned long long)w->last_pg);
	for (uint64_t i = pg; i < pg + n; i++) {
		if (w->seen[i / 8] & (1u << (i % 8)))
			return damaged(w, "%s: page %llu is reached twice",
			               what, (unsigned long long)i);
		w->seen[i / 8] |= (unsigned char)(1u << (i % 8));
	}
	w->rep->pages += n;
	return 0;
}

/* extent_cmp - qsort order by start. */
static int
extent_cmp(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int walk_page(struct walk *w, uint64_t pg, unsigned level,
                     unsigned depth, const char *db);

/* check_overflow - a leaf's F_BIGDATA value: its pages. */
static int
check_overflow(struct walk *w, uint64_t pg, uint32_t dsize, const char *db)
{
	unsigned char hdr[PAGEHDRSZ];
	uint64_t need = (PAGEHDRSZ - 1 + (uint64_t)dsize) / w->psize + 1;
	uint32_t npages;

	if (pg < NUM_METAS || pg > w->last_pg)
		return damaged(w, "%s: overflow page %llu is outside the file",
		               db, (unsigned long long)pg);
	if (read_at(w->fd, hdr, sizeof(hdr), pg * w->psize) != 0)
		return damaged(w, "%s: overflow page %llu cannot be read", db,
		               (unsigned long long)pg);
	npages = get32(hdr + 12);
	if (get64(hdr) != pg || get16(hdr + 10) != P_OVERFLOW || npages < need)
		return damaged(w,
		               "%s: overflow page %llu is not the %llu-page "
		               "run its value needs",
		               db, (unsigned long long)pg,
		               (unsigned long long)need);
	return reach(w, pg, npages, db);
}

/* check_subdb - a named database's record in the main database. */
static int
check_subdb(struct walk *w, const unsigned char *key, size_t ksize,
            const unsigned char *data, uint32_t dsize, unsigned level)
{
	char name[64];
	struct dbrec db;
	uint64_t outer = w->entries;
	int rc;

	if (!w->in_main || dsize != MDB_DB_SIZE)
		return damaged(w, "a database record where none can be");
	snprintf(name, sizeof(name), "%.*s", (int)(ksize < 40 ? ksize : 40),
	         (const char *)key);
	get_dbrec(data, &db);
	w->rep->dbs++;
	if (db.root == P_INVALID)
		return db.entries == 0
		           ? 0
		           : damaged(w, "%s: empty, yet counts %llu entries",
		                     name, (unsigned long long)db.entries);
	if (db.depth == 0 || db.depth > LMDBCHECK_DEPTH_MAX)
		return damaged(w, "%s: depth %u", name, db.depth);
	w->entries = 0;
	w->in_main = 0;
	w->base = level; /* the main database's pages stay in their buffers */
	rc = walk_page(w, db.root, 1, db.depth, name);
	w->base = 0;
	w->in_main = 1;
	if (rc == 0 && w->entries != db.entries)
		rc = damaged(w, "%s: %llu entries in its leaves, %llu counted",
		             name, (unsigned long long)w->entries,
		             (unsigned long long)db.entries);
	w->entries = outer;
	return rc;
}

/* check_node - one node of a page at its offset; fills its extent. */
static int
check_node(struct walk *w, const unsigned char *p, size_t ofs, int leaf,
           unsigned level, unsigned depth, const char *db, struct extent *ext)
{
	uint16_t lo, hi, flags, ksize;
	uint32_t dsize;
	size_t end;

	if (ofs < PAGEHDRSZ || ofs % 2 != 0 || ofs + NODESIZE > w->psize)
		return damaged(w, "%s: a node offset %zu is outside its page",
		               db, ofs);
	lo = get16(p + ofs);
	hi = get16(p + ofs + 2);
	flags = get16(p + ofs + 4);
	ksize = get16(p + ofs + 6);
	end = ofs + NODESIZE + ksize;
	if (ksize > LMDBCHECK_KEY_MAX || end > w->psize)
		return damaged(w,
		               "%s: a key of %u bytes at %zu leaves its page",
		               db, ksize, ofs);
	ext->start = ofs;
	if (!leaf) {
		ext->end = end;
		return walk_page(
		    w, lo | (uint64_t)hi << 16 | (uint64_t)flags << 32,
		    level + 1, depth, db);
	}
	dsize = lo | (uint32_t)hi << 16;
	w->entries++;
	if (flags & ~(F_BIGDATA | F_SUBDATA))
		return damaged(w, "%s: node flags %#x", db, flags);
	if (flags & F_BIGDATA) {
		if (end + 8 > w->psize)
			return damaged(w, "%s: a node at %zu leaves its page",
			               db, ofs);
		ext->end = end + 8;
		return check_overflow(w, get64(p + end), dsize, db);
	}
	if (dsize > w->psize || end + dsize > w->psize)
		return damaged(w,
		               "%s: a value of %u bytes at %zu leaves its "
		               "page",
		               db, dsize, ofs);
	ext->end = end + dsize;
	if (flags & F_SUBDATA)
		return check_subdb(w, p + ofs + NODESIZE, ksize, p + end, dsize,
		                   level);
	return 0;
}

/* walk_page - one branch or leaf page and what hangs below it. */
static int
walk_page(struct walk *w, uint64_t pg, unsigned level, unsigned depth,
          const char *db)
{
	struct extent *ext;
	unsigned char *p;
	uint16_t flags, lower, upper;
	size_t n;
	int leaf;

	if (level > depth || level > LMDBCHECK_DEPTH_MAX)
		return damaged(w, "%s: deeper than its depth %u", db, depth);
	if (reach(w, pg, 1, db) != 0)
		return 1;
	p = w->bufs + (size_t)(w->base + level - 1) * w->psize;
	ext = w->exts +
	      (size_t)(w->base + level - 1) * ((w->psize - PAGEHDRSZ) / 2);
	if (read_at(w->fd, p, w->psize, pg * w->psize) != 0)
		return damaged(w, "%s: page %llu lies past the end of the file",
		               db, (unsigned long long)pg);
	flags = get16(p + 10);
	lower = get16(p + 12);
	upper = get16(p + 14);
	leaf = (flags & P_LEAF) != 0;
	if (get64(p) != pg)
		return damaged(w, "%s: page %llu calls itself %llu", db,
		               (unsigned long long)pg,
		               (unsigned long long)get64(p));
	/* On disk a tree page is a branch or a leaf and nothing else: the
	 * other bits are LMDB's in-memory marks (dirty, loose, keep) or
	 * features authready does not use (LEAF2, SUBP: MDB_DUPSORT). */
	if (flags != P_BRANCH && flags != P_LEAF)
		return damaged(w, "%s: page %llu has flags %#x", db,
		               (unsigned long long)pg, flags);
	if (leaf != (level == depth))
		return damaged(w, "%s: page %llu is a %s at level %u of %u", db,
		               (unsigned long long)pg, leaf ? "leaf" : "branch",
		               level, depth);
	if (lower < PAGEHDRSZ + 2 || lower % 2 != 0 || upper > w->psize ||
	    lower > upper)
		return damaged(w, "%s: page %llu has bounds %u..%u", db,
		               (unsigned long long)pg, lower, upper);
	n = (lower - PAGEHDRSZ) / 2;
	for (size_t i = 0; i < n; i++) {
		size_t ofs = get16(p + PAGEHDRSZ + 2 * i);

		if (ofs < upper)
			return damaged(w,
			               "%s: page %llu has a node at %zu, below "
			               "its free-space bound %u",
			               db, (unsigned long long)pg, ofs, upper);
		if (check_node(w, p, ofs, leaf, level, depth, db, &ext[i]) != 0)
			return 1;
		/* a child's walk used other buffers; p is still this page */
	}
	qsort(ext, n, sizeof(ext[0]), extent_cmp);
	for (size_t i = 1; i < n; i++)
		if (ext[i].start < ext[i - 1].end)
			return damaged(w, "%s: page %llu has overlapping nodes",
			               db, (unsigned long long)pg);
	return 0;
}

/* walk_db - one core database (free list or main) from its record. */
static int
walk_db(struct walk *w, const struct dbrec *db, const char *name)
{
	int rc;

	w->rep->dbs++;
	if (db->root == P_INVALID)
		return db->entries == 0
		           ? 0
		           : damaged(w, "%s: empty, yet counts %llu entries",
		                     name, (unsigned long long)db->entries);
	if (db->depth == 0 || db->depth > LMDBCHECK_DEPTH_MAX)
		return damaged(w, "%s: depth %u", name, db->depth);
	w->entries = 0;
	rc = walk_page(w, db->root, 1, db->depth, name);
	if (rc == 0 && w->entries != db->entries)
		rc = damaged(w, "%s: %llu entries in its leaves, %llu counted",
		             name, (unsigned long long)w->entries,
		             (unsigned long long)db->entries);
	return rc;
}

/* meta_ok - a meta page's magic and version; its fields into out. */
static int
meta_ok(const unsigned char *m, uint64_t *txnid, uint64_t *last_pg,
        uint32_t *psize, struct dbrec *free_db, struct dbrec *main_db)
{
	if (get32(m) != MDB_MAGIC || get32(m + 4) != MDB_DATA_VERSION)
		return 0;
	*psize = get32(m + 24); /* mm_dbs[FREE_DBI].md_pad */
	get_dbrec(m + 24, free_db);
	get_dbrec(m + 24 + MDB_DB_SIZE, main_db);
	*last_pg = get64(m + 24 + 2 * MDB_DB_SIZE);
	*txnid = get64(m + 24 + 2 * MDB_DB_SIZE + 8);
	return 1;
}

/* Both meta pages as read at one moment. */
struct metas {
	int ok[2], cur;
	struct dbrec fdb[2], mdb[2];
	uint64_t txnid[2], last[2];
	uint32_t psize[2];
};

/* read_metas - both meta pages; 0, -1 (unreadable, why in rep), or 1
 * (neither is a meta page). */
static int
read_metas(int fd, struct metas *mt, struct lmdbcheck_report *rep)
{
	unsigned char m[2][PAGEHDRSZ + MDB_META_SIZE];

	mt->cur = 0;
	if (read_at(fd, m[0], sizeof(m[0]), 0) != 0) {
		snprintf(rep->problem, sizeof(rep->problem),
		         "cannot read the data file: %s",
		         errno ? strerror(errno) : "too short");
		return -1;
	}
	mt->ok[0] = meta_ok(m[0] + PAGEHDRSZ, &mt->txnid[0], &mt->last[0],
	                    &mt->psize[0], &mt->fdb[0], &mt->mdb[0]);
	/* The second meta page is one page in: the first one's page size,
	 * or the common 4096 when the first is unreadable. */
	mt->psize[1] = mt->ok[0] ? mt->psize[0] : 4096;
	mt->ok[1] = read_at(fd, m[1], sizeof(m[1]), mt->psize[1]) == 0 &&
	            meta_ok(m[1] + PAGEHDRSZ, &mt->txnid[1], &mt->last[1],
	                    &mt->psize[1], &mt->fdb[1], &mt->mdb[1]);
	if (!mt->ok[0] && !mt->ok[1])
		return 1;
	/* LMDB's choice: the meta page of the larger transaction id. */
	mt->cur =
	    mt->ok[0] && mt->ok[1] ? mt->txnid[0] < mt->txnid[1] : mt->ok[1];
	return 0;
}

/* check_once - one walk from the current meta page. */
static int
check_once(int fd, const struct metas *mt, struct lmdbcheck_report *rep)
{
	struct walk w = {.fd = fd, .rep = rep, .in_main = 1};
	int cur = mt->cur, rc;
	uint64_t fpages;
	struct stat sb;

	memset(rep, 0, sizeof(*rep));
	w.psize = mt->psize[cur];
	w.last_pg = mt->last[cur];
	rep->last_pg = w.last_pg;
	if (w.psize < LMDBCHECK_PSIZE_MIN || w.psize > LMDBCHECK_PSIZE_MAX ||
	    (w.psize & (w.psize - 1)) != 0)
		return damaged(&w, "meta page %d: page size %zu", cur, w.psize);
	if (fstat(fd, &sb) != 0) {
		snprintf(rep->problem, sizeof(rep->problem), "fstat: %s",
		         strerror(errno));
		return -1;
	}
	fpages = (uint64_t)sb.st_size / w.psize;
	if (w.last_pg >= fpages)
		return damaged(&w,
		               "meta page %d: the last page is %llu, the file "
		               "holds %llu",
		               cur, (unsigned long long)w.last_pg,
		               (unsigned long long)fpages);
	w.seen = calloc((size_t)(w.last_pg / 8 + 1), 1);
	w.bufs = malloc(w.psize * LMDBCHECK_LEVELS);
	w.exts = malloc(sizeof(*w.exts) * ((w.psize - PAGEHDRSZ) / 2) *
	                LMDBCHECK_LEVELS);
	if (w.seen == NULL || w.bufs == NULL || w.exts == NULL) {
		free(w.seen);
		free(w.bufs);
		free(w.exts);
		snprintf(rep->problem, sizeof(rep->problem), "out of memory");
		return -1;
	}
	w.in_main = 0;
	rc = walk_db(&w, &mt->fdb[cur], "free list");
	w.in_main = 1;
	if (rc == 0)
		rc = walk_db(&w, &mt->mdb[cur], "main");
	free(w.seen);
	free(w.bufs);
	free(w.exts);
	return rc;
}

/*
 * lmdbcheck_fd - walk, then read the meta pages again: a writer that
 * committed meanwhile may have reused pages of the snapshot walked (this
 * reads without a reader slot), so only a walk during which the current
 * meta page stayed the same counts; otherwise walk again.  A store that
 * never holds still for LMDBCHECK_TRIES walks is taken as sound (busy).
 */
int
lmdbcheck_fd(int fd, struct lmdbcheck_report *rep)
{
	struct metas before, after;
	int rc;

	for (int i = 0; i < LMDBCHECK_TRIES; i++) {
		memset(rep, 0, sizeof(*rep));
		if ((rc = read_metas(fd, &before, rep)) < 0)
			return -1;
		if (rc > 0) {
			snprintf(rep->problem, sizeof(rep->problem),
			         "neither meta page is an LMDB meta page");
			rc = 1;
		} else {
			rc = check_once(fd, &before, rep);
		}
		if (rc < 0 || read_metas(fd, &after, rep) < 0)
			return -1;
		if ((rc > 0 && before.ok[0] + before.ok[1] == 0 &&
		     after.ok[0] + after.ok[1] == 0) ||
		    (before.ok[before.cur] && after.ok[after.cur] &&
		     before.cur == after.cur &&
		     before.txnid[before.cur] == after.txnid[after.cur]))
			return rc;
	}
	memset(rep, 0, sizeof(*rep));
	rep->busy = 1;
	return 0;
}
