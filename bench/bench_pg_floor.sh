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
#	checkers do it (src/lib/pgcheck.c), in batches of 128, each
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

q() {
	pg_psql "$1"
}

# notice SQL - run SQL, print its NOTICE lines without the prefix.
notice() {
	pg_psql "$1" 2>&1 | sed -n 's/^NOTICE: *//p'
}

# tables LAYOUT - the registry, the states and (two) the checks, n rows.
tables() {
	q "DROP TABLE IF EXISTS st, ck, rg" 2>/dev/null
	q "CREATE TABLE rg (domain text PRIMARY KEY, entry bytea)"
	if [ "$1" = two ]; then
		q "CREATE TABLE st (domain text PRIMARY KEY, entry bytea,
		    readiness text NOT NULL, version bigint NOT NULL,
		    deleted boolean NOT NULL DEFAULT false)
		    WITH (fillfactor = 70)"
		q "CREATE TABLE ck (domain text PRIMARY KEY,
		    next_check timestamptz NOT NULL DEFAULT '-infinity',
		    checked timestamptz, lease_owner text,
		    lease_until timestamptz, lease_token bigint)
		    WITH (fillfactor = 50)"
		q "INSERT INTO ck (domain) SELECT 'r' || i || '.example'
		    FROM generate_series(1, $ndom) i"
	else
		q "CREATE TABLE st (domain text PRIMARY KEY, entry bytea,
		    readiness text NOT NULL, version bigint NOT NULL,
		    deleted boolean NOT NULL DEFAULT false,
		    next_check timestamptz NOT NULL DEFAULT '-infinity',
		    checked timestamptz, lease_owner text,
		    lease_until timestamptz, lease_token bigint)
		    WITH (fillfactor = 70)"
	fi
	q "CREATE INDEX st_version ON st (version)"
	q "INSERT INTO rg SELECT 'r' || i || '.example',
	    convert_to(repeat('g', 54), 'UTF8') FROM generate_series(1, $ndom) i"
	q "INSERT INTO st (domain, entry, readiness, version)
	    SELECT 'r' || i || '.example', convert_to(repeat('x', 481), 'UTF8'),
	    'verified', i FROM generate_series(1, $ndom) i"
	for t in rg st ck; do
		[ "$t" != ck ] || [ "$1" = two ] || continue
		q "VACUUM ANALYZE $t"
	done
}

# refresh LAYOUT - one refresh of every domain; prints "LAYOUT ROWS MS".
# The checks table is ck (two) or st itself (one).
refresh() {
	if [ "$1" = two ]; then
		k=ck
		state="(SELECT s.entry FROM st s WHERE s.domain = u.domain LIMIT 1)"
		ret="c.domain, c.lease_token, c.ctid"
		write="INSERT INTO st (domain, entry, readiness, version, deleted)
		    SELECT d, convert_to(repeat('y', 481), 'UTF8'), 'verified',
		    v + i, false FROM unnest(doms) WITH ORDINALITY AS x(d, i)
		    ON CONFLICT (domain) DO UPDATE SET entry = EXCLUDED.entry,
		    readiness = EXCLUDED.readiness, version = EXCLUDED.version,
		    deleted = false;
		    UPDATE ck c SET lease_owner = NULL, lease_until = NULL,
		    lease_token = NULL, checked = now(),
		    next_check = now() + interval '1 day'
		    FROM unnest(doms, tids, toks) AS x(d, t, tk)
		    WHERE c.ctid = x.t AND c.domain = x.d
		    AND c.lease_token = x.tk;"
	else
		k=st
		state="u.entry"
		ret="c.domain, c.lease_token, c.ctid, c.entry"
		write="UPDATE st c SET entry = convert_to(repeat('y', 481),
		    'UTF8'), readiness = 'verified', version = v + x.i,
		    lease_owner = NULL, lease_until = NULL, lease_token = NULL,
		    checked = now(), next_check = now() + interval '1 day'
		    FROM unnest(doms, tids, toks) WITH ORDINALITY
		    AS x(d, t, tk, i) WHERE c.ctid = x.t AND c.domain = x.d
		    AND c.lease_token = x.tk;"
	fi
	notice "DO \$\$ DECLARE cur text := ''; n int := 0; got int;
	    sz int; doms text[]; toks bigint[]; tids tid[];
	    t0 timestamptz := clock_timestamp();
	    v bigint := (SELECT max(version) FROM st);
	BEGIN
	LOOP
		WITH w AS (SELECT domain FROM $k WHERE domain > cur
		    ORDER BY domain LIMIT 512),
		d AS (SELECT c.ctid AS t FROM $k c WHERE (c.lease_until IS NULL
		    OR c.lease_until < now()) AND c.next_check <= now()
		    AND c.domain > cur
		    AND c.domain <= (SELECT max(domain) FROM w)
		    ORDER BY c.domain LIMIT 128 FOR UPDATE OF c SKIP LOCKED),
		u AS (UPDATE $k c SET lease_owner = 'bench',
		    lease_until = now() + interval '30 s', lease_token = 7
		    WHERE c.ctid = ANY(ARRAY(SELECT t FROM d)) RETURNING $ret)
		SELECT array_agg(u.domain ORDER BY u.domain),
		    array_agg(u.lease_token ORDER BY u.domain),
		    array_agg(u.ctid ORDER BY u.domain), count(*),
		    max(length((SELECT r.entry FROM rg r
		    WHERE r.domain = u.domain))) + max(length($state))
		    INTO doms, toks, tids, got, sz FROM u;
		COMMIT;
		EXIT WHEN got IS NULL OR got = 0;
		cur := doms[array_length(doms, 1)];
		$write
		COMMIT;
		v := v + got;
		n := n + got;
	END LOOP;
	RAISE NOTICE '$1 % %', n,
	    round(extract(epoch FROM clock_timestamp() - t0) * 1000);
	END \$\$"
	q "UPDATE $k SET next_check = '-infinity'"
}

# states INDEX - the states rewritten as upserts, 128 a commit, with
# (index) or without (hot) the version index; prints "INDEX ROWS MS".
states() {
	tables two
	[ "$1" = index ] || q "DROP INDEX st_version"
	notice "DO \$\$ DECLARE b int; t0 timestamptz := clock_timestamp();
	    v bigint := (SELECT max(version) FROM st);
	BEGIN
	FOR b IN 0..($ndom - 1) / 128 LOOP
		INSERT INTO st (domain, entry, readiness, version, deleted)
		SELECT 'r' || i || '.example', convert_to(repeat('y', 481),
		    'UTF8'), 'verified', v + i, false
		FROM generate_series(b * 128 + 1, least(b * 128 + 128, $ndom)) i
		ON CONFLICT (domain) DO UPDATE SET entry = EXCLUDED.entry,
		    readiness = EXCLUDED.readiness, version = EXCLUDED.version,
		    deleted = false;
		COMMIT;
	END LOOP;
	RAISE NOTICE '$1 % %', $ndom,
	    round(extract(epoch FROM clock_timestamp() - t0) * 1000);
	END \$\$"
}

echo "PostgreSQL alone, $ndom domains, batches of 128 (ms a run)"
p=1
while [ $p -le "$passes" ]; do
	for layout in two one; do
		tables $layout
		r=1
		while [ $r -le "$runs" ]; do
			refresh $layout | awk -v p="$p" '{ printf "pass %s: " \
			    "refresh, %s table(s): %d domains, %d ms " \
			    "(%.1f us a domain)\n", p, $1, $2, $3,
			    1000 * $3 / $2 }'
			r=$((r + 1))
		done
	done
	for index in index hot; do
		states $index | awk -v p="$p" '{ printf "pass %s: states " \
		    "alone, %s: %d rows, %d ms (%.1f us a row)\n", p,
		    $1 == "hot" ? "no version index" : "version index",
		    $2, $3, 1000 * $3 / $2 }'
	done
	p=$((p + 1))
done
