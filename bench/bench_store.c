/*
 * NAME
 *	bench_store - store hit lookup against a raw mdb_get
 * SYNOPSIS
 *	bench_store [domains [lookups-per-round [rounds]]]
 * DESCRIPTION
 *	Fills a temporary store with DOMAINS readiness states (default
 *	1,000,000; three records each, as a verified domain has), then
 *	alternates rounds over one random key sequence:
 *
 *	    raw    the same environment opened with plain LMDB: per lookup
 *	           mdb_txn_renew, mdb_get, read of the state byte,
 *	           mdb_txn_reset, as any reader that wants a fresh snapshot
 *	           per request must do;
 *	    long   mdb_get and the state byte inside one long read
 *	           transaction (the floor: no snapshot refresh at all);
 *	    store  store_state_peek() on a store_reader: renew, mdb_get,
 *	           header validation and key check, reset.
 *
 *	Prints lookups per second per method (best round) and the ratios
 *	store/raw and store/long in time per lookup.  The target is
 *	store/raw <= 1.2.  The environment is opened by one handle at a
 *	time (LMDB forbids two in a process), so the methods alternate by
 *	round with the page cache warm.
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define BENCH_KEY_MAX 32
#define BENCH_BATCH 10000

static char tmpl[] = "/tmp/bench_store.XXXXXX";

/* now_ns - monotonic nanoseconds. */
static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* die - print and exit. */
static void
die(const char *what, const char *err)
{
	fprintf(stderr, "bench_store: %s: %s\n", what, err);
	exit(1);
}

/* key - the i-th domain name. */
static void
key(char *buf, size_t i)
{
	snprintf(buf, BENCH_KEY_MAX, "d%07zu.example", i);
}

/* fill - create n states, BENCH_BATCH per transaction. */
static void
fill(const char *dir, size_t n)
{
	static struct domain_state s;
	static const char *const labels[] = {"mail", "s1._domainkey", "_dmarc"};
	struct store_batch *b = NULL;
	struct store *st;
	char err[512], d[BENCH_KEY_MAX];

	if (store_open(dir, STORE_CREATE, NULL, &st, err, sizeof(err)) != 0)
		die("open", err);
	for (size_t i = 0; i < n; i++) {
		if (b == NULL && store_batch_begin(st, &b, err, sizeof(err)))
			die("begin", err);
		memset(&s, 0, sizeof(s));
		key(d, i);
		snprintf(s.domain, sizeof(s.domain), "%s", d);
		s.state = READINESS_VERIFIED;
		s.since = s.last_success = 1700000000;
		s.next_check = 1700003600 + (int64_t)i;
		s.nrecords = 3;
		for (int r = 0; r < 3; r++) {
			s.records[r].type = (uint8_t)r;
			snprintf(s.records[r].name, sizeof(s.records[r].name),
			         "%s.%s", labels[r], d);
			snprintf(s.records[r].detail,
			         sizeof(s.records[r].detail), "published");
		}
		if (store_batch_put_state(b, &s, err, sizeof(err)) != 0)
			die("put", err);
		if ((i + 1) % BENCH_BATCH == 0 || i + 1 == n) {
			if (store_batch_commit(b, err, sizeof(err)) != 0)
				die("commit", err);
			b = NULL;
		}
	}
	store_close(st);
}

/* run_raw - plain LMDB; renew per lookup unless long_txn. */
static double
run_raw(const char *dir, char (*keys)[BENCH_KEY_MAX], size_t m, int long_txn)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	size_t hits = 0;
	double t0, t1;

	if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 4) ||
	    mdb_env_set_mapsize(env, STORE_MAPSIZE_DEFAULT) ||
	    mdb_env_open(env, dir, MDB_NOTLS | MDB_RDONLY, 0640) ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) ||
	    mdb_dbi_open(txn, "state", 0, &dbi) || mdb_txn_commit(txn) ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn))
		die("raw", "cannot open environment");
	if (!long_txn)
		mdb_txn_reset(txn);
	t0 = now_ns();
	for (size_t i = 0; i < m; i++) {
		k.mv_size = strlen(keys[i]);
		k.mv_data = keys[i];
		if (!long_txn && mdb_txn_renew(txn) != 0)
			die("raw", "renew");
		/* Read the state byte: a lookup that never looks at the
		 * value answers nothing. */
		if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size > 4 &&
		    ((const unsigned char *)v.mv_data)[4] == READINESS_VERIFIED)
			hits++;
		if (!long_txn)
			mdb_txn_reset(txn);
	}
	t1 = now_ns();
	mdb_txn_abort(txn);
	mdb_env_close(env);
	if (hits != m)
		die("raw", "missed keys");
	return (t1 - t0) / (double)m;
}

/* run_store - store_state_peek on a store_reader. */
static double
run_store(const char *dir, char (*keys)[BENCH_KEY_MAX], size_t m)
{
	struct storecodec_state_summary sum;
	struct store_reader *rd;
	struct store *st;
	char err[512];
	size_t hits = 0;
	double t0, t1;

	if (store_open(dir, STORE_RDONLY, NULL, &st, err, sizeof(err)) != 0 ||
	    store_reader_open(st, &rd, err, sizeof(err)) != 0)
		die("store", err);
	t0 = now_ns();
	for (size_t i = 0; i < m; i++)
		if (store_state_peek(rd, keys[i], &sum, err, sizeof(err)) ==
		        STORE_OK &&
		    sum.state == READINESS_VERIFIED)
			hits++;
	t1 = now_ns();
	store_reader_close(rd);
	store_close(st);
	if (hits != m)
		die("store", "missed keys");
	return (t1 - t0) / (double)m;
}

/* cmp_double - qsort order for doubles. */
static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* cleanup - remove the temporary store. */
static void
cleanup(const char *dir)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	size_t m = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
	int rounds = argc > 3 ? atoi(argv[3]) : 5;
	double best[3] = {1e18, 1e18, 1e18}, ratio[64], t;
	char(*keys)[BENCH_KEY_MAX];
	unsigned seed = 42;
	char *dir;

	if (n == 0 || m == 0 || rounds <= 0 || rounds > 64)
		die("usage", "bench_store [domains [lookups [rounds]]]");
	if ((dir = mkdtemp(tmpl)) == NULL ||
	    (keys = calloc(m, BENCH_KEY_MAX)) == NULL)
		die("setup", "no temp dir or memory");
	t = now_ns();
	fill(dir, n);
	printf("filled %zu states in %.1f s\n", n, (now_ns() - t) / 1e9);
	for (size_t i = 0; i < m; i++)
		key(keys[i],
		    ((size_t)rand_r(&seed) << 16 ^ (size_t)rand_r(&seed)) % n);
	for (int r = 0; r < rounds; r++) {
		double ns[3] = {run_raw(dir, keys, m, 0),
		                run_raw(dir, keys, m, 1),
		                run_store(dir, keys, m)};

		for (int j = 0; j < 3; j++)
			best[j] = ns[j] < best[j] ? ns[j] : best[j];
		ratio[r] = ns[2] / ns[0];
		printf("round %d: raw %.0f ns, long %.0f ns, store %.0f ns\n",
		       r, ns[0], ns[1], ns[2]);
	}
	printf("raw   (renew+get+reset): %10.0f lookups/s\n", 1e9 / best[0]);
	printf("long  (get, one txn):    %10.0f lookups/s\n", 1e9 / best[1]);
	printf("store (state_peek):      %10.0f lookups/s\n", 1e9 / best[2]);
	printf("ratio store/raw %.3f, store/long %.3f (best rounds; "
	       "target <= 1.2)\n",
	       best[2] / best[0], best[2] / best[1]);
	qsort(ratio, (size_t)rounds, sizeof(ratio[0]), cmp_double);
	printf("median per-round store/raw %.3f\n", ratio[rounds / 2]);
	free(keys);
	cleanup(dir);
	return 0;
}
