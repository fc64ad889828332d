/*
 * metrics.h - counters, gauges and histograms, and their Prometheus text.
 *
 * SYNOPSIS
 *	#include "metrics.h"
 *
 *	The functions: see metrics.c.
 *
 * DESCRIPTION
 *	A family (struct metrics_family) is defined by the module that
 *	counts it, as a static object: name, help, type, at most
 *	METRICS_LABELS_MAX labels each with a fixed table of values (the
 *	caller passes indexes into those tables, never text), and for a
 *	histogram its bucket bounds.  A program that serves metrics
 *	registers the families it wants into a struct metrics (the
 *	registry), which gives each one its cells; until then a family has
 *	no cells and every add to it is a no-op, so the CLI, which links the
 *	same modules, pays one test of a pointer per event.
 *
 *	The hot path is one relaxed atomic add on a cell (counters,
 *	histogram buckets and sums) or one store (gauges): no lock, no
 *	allocation, no text.  Counters and histograms have METRICS_SHARDS
 *	copies of their cells, each on cache lines of its own; a thread
 *	adds to the copy its first add picked (round robin), and a scrape
 *	sums the copies, so two cores deciding at once do not pass the
 *	same cache line back and forth on every decision.  A gauge may instead
 *be read at scrape time through its read function (the replica's lag, the held
 *index's size).  metrics_render() writes the registry in the Prometheus text
 *	exposition format 0.0.4 (# HELP, # TYPE, label values escaped,
 *	histograms as cumulative _bucket{le=...}, _sum and _count) into a
 *	bounded buffer.
 *
 *	A family may be registered while other threads already add to it
 *	(its cells are published with a release store, read with an
 *	acquire load: a plain load on x86 and arm64's ldar); adds before
 *	that are lost.  The registry's list is guarded by a mutex that only
 *	registration and rendering take.
 */
#ifndef AUTHREADY_METRICS_H
#define AUTHREADY_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_LABELS_MAX 2
#define METRICS_NAME_MAX 128   /* a family's name, bytes */
#define METRICS_BOUNDS_MAX 32  /* histogram buckets before +Inf */
#define METRICS_CELLS_MAX 4096 /* label combinations of one family */
#define METRICS_SHARDS 8       /* copies of a counter's cells, by thread */
#define METRICS_LINE_CELLS 8   /* cells in a 64-octet cache line */

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,
};

struct metrics_label {
	const char *name;
	const char *const *values; /* indexed by the caller */
	size_t nvalues;
};

struct metrics_family;

/* A gauge read at scrape time: the value of the series at cell. */
typedef double (*metrics_read_fn)(void *arg, size_t cell);

struct metrics_family {
	/* set by the module that defines the family */
	const char *name; /* authready_..., units in the name */
	const char *help;
	enum metrics_type type;
	size_t nlabels;
	struct metrics_label label[METRICS_LABELS_MAX];
	const uint64_t *bounds_us; /* histogram: upper bounds, ascending */
	size_t nbounds;
	metrics_read_fn read; /* gauge: read at scrape (NULL: stored) */
	void *read_arg;
	/* set by metrics_register() */
	/* NULL: not registered, adds ignored (published with release) */
	_Atomic uint64_t *_Atomic cells;
	size_t nseries;
	size_t stride;      /* cells per series: 1, or nbounds + 2 */
	size_t nshards;     /* copies of the cells: 1 for a gauge */
	size_t shard_cells; /* cells per copy, whole cache lines */
	struct metrics_family *next;
};

/* The registry: the families one program serves. */
struct metrics {
	pthread_mutex_t lock;
	struct metrics_family *head, *tail;
};

/* Latency buckets shared by the daemon's histograms (microseconds). */
extern const uint64_t metrics_latency_bounds_us[];
extern const size_t metrics_latency_nbounds;

/* metrics_init - an empty registry. */
void metrics_init(struct metrics *m);

/* metrics_fini - unregister every family and free its cells (after the
 * threads that add have stopped). */
void metrics_fini(struct metrics *m);

/* metrics_register - validate f (names, labels, bounds; a name not yet
 * registered) and give it zeroed cells; 0, or -1 with err. */
int metrics_register(struct metrics *m, struct metrics_family *f, char *err,
                     size_t errlen);

/* metrics_on - f is registered (its adds count). */
bool metrics_on(const struct metrics_family *f);

/* metrics_add - add n to the counter (or gauge) series of label values
 * (i, j); indexes of labels the family lacks are ignored, out of range
 * ones drop the add. */
void metrics_add(struct metrics_family *f, size_t i, size_t j, uint64_t n);

/* metrics_set - set the gauge series (i, j) to v. */
void metrics_set(struct metrics_family *f, size_t i, size_t j, int64_t v);

/* metrics_observe_us - count one observation of us microseconds in the
 * histogram series (i, j). */
void metrics_observe_us(struct metrics_family *f, size_t i, size_t j,
                        uint64_t us);

/* metrics_value - a counter or stored gauge series' value (tests). */
int64_t metrics_value(const struct metrics_family *f, size_t i, size_t j);

/* metrics_now_us - CLOCK_MONOTONIC in microseconds (for durations). */
uint64_t metrics_now_us(void);

/* metrics_escape_label - a label value escaped for the text format
 * (backslash, double quote, newline) into dst of dstlen; the length
 * written, cut at a whole escape when dst is short. */
size_t metrics_escape_label(char *dst, size_t dstlen, const char *src);

/* metrics_escape_help - the same for a HELP text (backslash, newline). */
size_t metrics_escape_help(char *dst, size_t dstlen, const char *src);

/* metrics_render - the registry in the text format into buf of len
 * (NUL-terminated); the length the whole text needs, as snprintf: the
 * text is whole when that is below len. */
size_t metrics_render(struct metrics *m, char *buf, size_t len);

#endif
