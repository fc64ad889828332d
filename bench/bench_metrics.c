/*
 * bench_metrics.c - what metrics add to one decision, in CPU time.
 *
 * SYNOPSIS
 *	bench_metrics [threads [decisions-per-thread [rounds]]]
 *
 * DESCRIPTION
 *	THREADS threads (default 2, the CI machine's cores) each run
 *	DECISIONS (default 5,000,000) times exactly what decide.c adds to a
 *	decision with MetricsListen on: one add to a two-label counter
 *	(authready_decisions_total's shape), a clock read and one
 *	observation in a histogram with the daemon's latency buckets.
 *	Rounds alternate: "on" (the families registered), "off" (not
 *	registered: what every decision pays without MetricsListen, a
 *	pointer test each) and "clock" (the clock read alone).  The time
 *	is the process's CPU time (CLOCK_PROCESS_CPUTIME_ID), so other
 *	programs on a shared machine move it less than wall time; printed
 *	per decision, median of ROUNDS (default 5).  Compare "on" with the
 *	milter's CPU per decision from bench_milter.sh (about 14 to 17 us
 *	on the CI machine): the goal there is metrics on >= 0.98 of off.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"

#define BENCH_ROUNDS_MAX 101

static const char *const actions[] = {"accept",     "tempfail", "reject",
                                      "quarantine", "tag",      "monitor"};
static const char *const states[] = {"unknown",  "pending", "verified",
                                     "degraded", "failed",  "unregistered",
                                     "none"};
static const char *const identities[] = {"envelope", "from"};

static struct metrics_family decisions = {
    .name = "bench_decisions_total",
    .help = "h",
    .type = METRICS_COUNTER,
    .nlabels = 2,
    .label = {{"action", actions, 6}, {"state", states, 7}},
};
static struct metrics_family seconds = {
    .name = "bench_decision_duration_seconds",
    .help = "h",
    .type = METRICS_HISTOGRAM,
    .nlabels = 1,
    .label = {{"identity", identities, 2}},
};

static unsigned long per_thread = 5000000;
static int mode; /* 0 on/off: the adds; 1: the clock alone */

/* cpu_now - the process's CPU time in seconds. */
static double
cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* worker - per_thread decisions' worth of metrics. */
static void *
worker(void *arg)
{
	volatile uint64_t sink = 0;

	(void)arg;
	for (unsigned long i = 0; i < per_thread; i++) {
		uint64_t t0 = metrics_now_us();

		if (mode == 1) {
			sink += t0;
			continue;
		}
		metrics_add(&decisions, 0, 2, 1);
		if (metrics_on(&seconds))
			metrics_observe_us(&seconds, 0, 0,
			                   metrics_now_us() - t0);
	}
	(void)sink;
	return NULL;
}

/* round_ns - one round of nthreads workers: CPU ns per decision. */
static double
round_ns(int nthreads)
{
	pthread_t t[64];
	double start = cpu_now();

	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	return (cpu_now() - start) * 1e9 / (double)per_thread /
	       (double)nthreads;
}

/* cmp - doubles ascending, for qsort. */
static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	double on[BENCH_ROUNDS_MAX], off[BENCH_ROUNDS_MAX],
	    clock[BENCH_ROUNDS_MAX];
	int nthreads = argc > 1 ? atoi(argv[1]) : 2;
	int rounds = argc > 3 ? atoi(argv[3]) : 5;
	struct metrics m;
	char err[256];

	if (argc > 2)
		per_thread = strtoul(argv[2], NULL, 10);
	if (nthreads < 1 || nthreads > 64 || rounds < 1 ||
	    rounds > BENCH_ROUNDS_MAX || per_thread == 0) {
		fprintf(stderr, "usage: bench_metrics [threads (1-64) "
		                "[decisions-per-thread [rounds (1-101)]]]\n");
		return 64;
	}
	seconds.bounds_us = metrics_latency_bounds_us;
	seconds.nbounds = metrics_latency_nbounds;
	for (int r = 0; r < rounds; r++) {
		mode = 0;
		off[r] = round_ns(nthreads);
		metrics_init(&m);
		if (metrics_register(&m, &decisions, err, sizeof(err)) != 0 ||
		    metrics_register(&m, &seconds, err, sizeof(err)) != 0) {
			fprintf(stderr, "bench_metrics: %s\n", err);
			return 1;
		}
		on[r] = round_ns(nthreads);
		metrics_fini(&m);
		mode = 1;
		clock[r] = round_ns(nthreads);
	}
	qsort(on, (size_t)rounds, sizeof(double), cmp);
	qsort(off, (size_t)rounds, sizeof(double), cmp);
	qsort(clock, (size_t)rounds, sizeof(double), cmp);
	printf("threads %d, %lu decisions each, %d rounds (median CPU ns per "
	       "decision)\n",
	       nthreads, per_thread, rounds);
	printf("on %.1f  off %.1f  clock %.1f  added by metrics %.1f\n",
	       on[rounds / 2], off[rounds / 2], clock[rounds / 2],
	       on[rounds / 2] - off[rounds / 2]);
	return 0;
}
