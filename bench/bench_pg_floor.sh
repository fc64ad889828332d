#!/bin/sh
# bench_pg_floor.sh - what a shared refresh costs PostgreSQL itself, with
# no client: the floor under bench_fleet.sh's refresh figures.
#
# SYNOPSIS
#	bench/bench_pg_floor.sh [DOMAINS]
#
# DESCRIPTION
#	Starts a private PostgreSQL 15 (tests/integration/pg-harness.sh,
#	shared_buffers 128MB as bench_fleet.sh) and, inside one backend (a
#	DO block: no client, no protocol, no network), does a refresh's
#	database work for DOMAINS domains (default 100000) the way the
#	checkers do it (bench/pg-floor.sh, after src/lib/pgcheck.c), in
#	batches of 128, each
#	committed: the claim (a window of keys, FOR UPDATE SKIP LOCKED,
#	the lease written, the registry and state entries read), then the
#	write-back (the states of 481 bytes, the bench's size, the leases
#	released with the next checks).  Two layouts, alternated, PASSES
#	(default 2) passes of RUNS (default 3) runs each:
#	  - two: the schema's (authready_checks: lease and next check,
#	    fillfactor 50; authready_state: entry and version, its version
#	    index, fillfactor 70);
#	  - one: the lease and next check in the state row (one row
#	    written a domain by the write-back instead of two).
#	Then the states alone, rewritten as the write-back's upsert, with
#	and without the version index (without it every update may be HOT).
#	Each run prints its milliseconds; compare the layouts within a run
#	of this script, never across machines or days.
#
#	Measured by it: bench/README.md, "Session 15".
#
# EXIT STATUS
#	0 done; 77 no PostgreSQL; 99 the harness failed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ndom=${1:-100000}
passes=${PASSES:-2}
runs=${RUNS:-3}
# shellcheck source=tests/integration/pg-harness.sh
. "$top/tests/integration/pg-harness.sh"
pg_find
PG_OPTS="-c shared_buffers=128MB ${PG_OPTS:-}"
pg_start
trap 'pg_stop' EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/pg-floor.sh
. "$top/bench/pg-floor.sh"
floor_q() {
	pg_psql "$1"
}
floor_notice() {
	pg_psql "$1" 2>&1 | sed -n 's/^NOTICE: *//p'
}

echo "PostgreSQL alone, $ndom domains, batches of 128 (ms a run)"
p=1
while [ $p -le "$passes" ]; do
	for layout in two one; do
		floor_tables $layout "$ndom"
		r=1
		while [ $r -le "$runs" ]; do
			floor_refresh $layout | awk -v p="$p" '{ printf "pass %s: " \
			    "refresh, %s table(s): %d domains, %d ms " \
			    "(%.1f us a domain)\n", p, $1, $2, $3,
			    1000 * $3 / $2 }'
			r=$((r + 1))
		done
	done
	for index in index hot; do
		floor_states $index "$ndom" | awk -v p="$p" '{ printf "pass %s: states " \
		    "alone, %s: %d rows, %d ms (%.1f us a row)\n", p,
		    $1 == "hot" ? "no version index" : "version index",
		    $2, $3, 1000 * $3 / $2 }'
	done
	p=$((p + 1))
done
