# pg-floor.sh - a shared refresh's database work done inside one
# PostgreSQL backend (a DO block: no client, no protocol, no network),
# sourced by bench_pg_floor.sh (the floor alone) and bench_fleet.sh
# (PARTS=bound: the floor beside an LMDB refresh).
#
# The caller defines floor_q SQL (run it, quietly, as a superuser) and
# floor_notice SQL (run it, print its NOTICE lines without the prefix).
# Tables floor_rg, floor_st and floor_ck: the registry, the states (481
# bytes an entry, the bench's size) and the checks, as the schema has
# them (src/lib/pgschema.c); floor_refresh claims and writes back the
# way the checkers do (src/lib/pgcheck.c), in batches of 128 (FLOOR_BATCH
# sets another for floor_refresh: a RefreshConcurrency), each
# committed: the claim (a window of keys, FOR UPDATE SKIP LOCKED, the
# lease written, the registry and state entries read), then the
# write-back (the states, the leases released with the next checks).

# floor_tables LAYOUT N - the registry, the states and (two) the checks,
# N rows each.
floor_tables() {
	fn=$2
	floor_q "DROP TABLE IF EXISTS floor_st, floor_ck, floor_rg" 2>/dev/null
	floor_q "CREATE TABLE floor_rg (domain text PRIMARY KEY, entry bytea)"
	if [ "$1" = two ]; then
		floor_q "CREATE TABLE floor_st (domain text PRIMARY KEY, entry bytea,
		    readiness text NOT NULL, version bigint NOT NULL,
		    deleted boolean NOT NULL DEFAULT false)
		    WITH (fillfactor = 70)"
		floor_q "CREATE TABLE floor_ck (domain text PRIMARY KEY,
		    next_check timestamptz NOT NULL DEFAULT '-infinity',
		    checked timestamptz, lease_owner text,
		    lease_until timestamptz, lease_token bigint)
		    WITH (fillfactor = 50)"
		floor_q "INSERT INTO floor_ck (domain) SELECT 'r' || i || '.example'
		    FROM generate_series(1, $fn) i"
	else
		floor_q "CREATE TABLE floor_st (domain text PRIMARY KEY, entry bytea,
		    readiness text NOT NULL, version bigint NOT NULL,
		    deleted boolean NOT NULL DEFAULT false,
		    next_check timestamptz NOT NULL DEFAULT '-infinity',
		    checked timestamptz, lease_owner text,
		    lease_until timestamptz, lease_token bigint)
		    WITH (fillfactor = 70)"
	fi
	floor_q "CREATE INDEX floor_st_version ON floor_st (version)"
	floor_q "INSERT INTO floor_rg SELECT 'r' || i || '.example',
	    convert_to(repeat('g', 54), 'UTF8') FROM generate_series(1, $fn) i"
	floor_q "INSERT INTO floor_st (domain, entry, readiness, version)
	    SELECT 'r' || i || '.example', convert_to(repeat('x', 481), 'UTF8'),
	    'verified', i FROM generate_series(1, $fn) i"
	for t in floor_rg floor_st floor_ck; do
		[ "$t" != floor_ck ] || [ "$1" = two ] || continue
		floor_q "VACUUM ANALYZE $t"
	done
}

# floor_refresh LAYOUT [SPREAD] - one refresh of every domain; prints
# "LAYOUT ROWS MS".  The checks table is floor_ck (two) or floor_st
# itself (one).  SPREAD ms: the batches paced over that time, as a
# fleet's claims and write-backs come while its checks run (a batch
# that would be ahead sleeps); 0 or none: as fast as it can.
floor_refresh() {
	spread=${2:-0}
	fb=${FLOOR_BATCH:-128}
	if [ "$1" = two ]; then
		k=floor_ck
		state="(SELECT s.entry FROM floor_st s WHERE s.domain = u.domain LIMIT 1)"
		ret="c.domain, c.lease_token, c.ctid"
		write="INSERT INTO floor_st (domain, entry, readiness, version, deleted)
		    SELECT d, convert_to(repeat('y', 481), 'UTF8'), 'verified',
		    v + i, false FROM unnest(doms) WITH ORDINALITY AS x(d, i)
		    ON CONFLICT (domain) DO UPDATE SET entry = EXCLUDED.entry,
		    readiness = EXCLUDED.readiness, version = EXCLUDED.version,
		    deleted = false;
		    UPDATE floor_ck c SET lease_owner = NULL, lease_until = NULL,
		    lease_token = NULL, checked = now(),
		    next_check = now() + interval '1 day'
		    FROM unnest(doms, tids, toks) AS x(d, t, tk)
		    WHERE c.ctid = x.t AND c.domain = x.d
		    AND c.lease_token = x.tk;"
	else
		k=floor_st
		state="u.entry"
		ret="c.domain, c.lease_token, c.ctid, c.entry"
		write="UPDATE floor_st c SET entry = convert_to(repeat('y', 481),
		    'UTF8'), readiness = 'verified', version = v + x.i,
		    lease_owner = NULL, lease_until = NULL, lease_token = NULL,
		    checked = now(), next_check = now() + interval '1 day'
		    FROM unnest(doms, tids, toks) WITH ORDINALITY
		    AS x(d, t, tk, i) WHERE c.ctid = x.t AND c.domain = x.d
		    AND c.lease_token = x.tk;"
	fi
	floor_notice "DO \$\$ DECLARE cur text := ''; n int := 0; got int;
	    sz int; doms text[]; toks bigint[]; tids tid[];
	    t0 timestamptz := clock_timestamp();
	    v bigint := (SELECT max(version) FROM floor_st);
	BEGIN
	LOOP
		WITH w AS (SELECT domain FROM $k WHERE domain > cur
		    ORDER BY domain LIMIT $((4 * fb))),
		d AS (SELECT c.ctid AS t FROM $k c WHERE (c.lease_until IS NULL
		    OR c.lease_until < now()) AND c.next_check <= now()
		    AND c.domain > cur
		    AND c.domain <= (SELECT max(domain) FROM w)
		    ORDER BY c.domain LIMIT $fb FOR UPDATE OF c SKIP LOCKED),
		u AS (UPDATE $k c SET lease_owner = 'bench',
		    lease_until = now() + interval '30 s', lease_token = 7
		    WHERE c.ctid = ANY(ARRAY(SELECT t FROM d)) RETURNING $ret)
		SELECT array_agg(u.domain ORDER BY u.domain),
		    array_agg(u.lease_token ORDER BY u.domain),
		    array_agg(u.ctid ORDER BY u.domain), count(*),
		    max(length((SELECT r.entry FROM floor_rg r
		    WHERE r.domain = u.domain))) + max(length($state))
		    INTO doms, toks, tids, got, sz FROM u;
		COMMIT;
		EXIT WHEN got IS NULL OR got = 0;
		cur := doms[array_length(doms, 1)];
		$write
		COMMIT;
		v := v + got;
		n := n + got;
		IF $spread > 0 THEN
			PERFORM pg_sleep(greatest(0, extract(epoch FROM t0
			    + interval '1 ms' * ($spread::float8 * n / $fn)
			    - clock_timestamp())));
		END IF;
	END LOOP;
	RAISE NOTICE '$1 % %', n,
	    round(extract(epoch FROM clock_timestamp() - t0) * 1000);
	END \$\$"
	floor_q "UPDATE $k SET next_check = '-infinity'"
}

# floor_states INDEX N - N states rewritten as upserts, 128 a commit,
# with (index) or without (hot) the version index; prints "INDEX ROWS MS".
floor_states() {
	floor_tables two "$2"
	[ "$1" = index ] || floor_q "DROP INDEX floor_st_version"
	floor_notice "DO \$\$ DECLARE b int; t0 timestamptz := clock_timestamp();
	    v bigint := (SELECT max(version) FROM floor_st);
	BEGIN
	FOR b IN 0..($fn - 1) / 128 LOOP
		INSERT INTO floor_st (domain, entry, readiness, version, deleted)
		SELECT 'r' || i || '.example', convert_to(repeat('y', 481),
		    'UTF8'), 'verified', v + i, false
		FROM generate_series(b * 128 + 1, least(b * 128 + 128, $fn)) i
		ON CONFLICT (domain) DO UPDATE SET entry = EXCLUDED.entry,
		    readiness = EXCLUDED.readiness, version = EXCLUDED.version,
		    deleted = false;
		COMMIT;
	END LOOP;
	RAISE NOTICE '$1 % %', $fn,
	    round(extract(epoch FROM clock_timestamp() - t0) * 1000);
	END \$\$"
}

