#!/bin/sh
# bench_fleet.sh - the replica's propagation and initial sync, one run.
#
# A private PostgreSQL on loopback (initdb in a scratch directory, as in
# tests/integration/replica.sh) with DOMAINS registered domains (default
# 10000, each with a verified state), then:
#   - propagation at 1 and at 5 replicas (REPLICAS) (authready-milter daemons, each
#     its own StateDir, all on the one database): COMMITS registrations
#     (default 200), one transaction each with the clock version and a
#     NOTIFY, INTERVAL ms apart (default 20); for every commit and every
#     replica, the time from the commit to the replica's LMDB commit of
#     that version (the event=replica-apply line that reaches it, which
#     is logged after the LMDB commit); p50, p99 and max over all;
#   - initial sync: SYNC domains (default 100000) in the database, one
#     daemon on an empty StateDir: the snapshot's own time
#     (event=replica-snapshot ms=) and the time from the daemon's start
#     to the end of the snapshot.
#
# usage: bench/bench_fleet.sh BUILDDIR [DOMAINS [SYNC]]
# COMMITS, INTERVAL as above; REPLICAS (default "1 5"): the replica
# counts of the propagation runs.  Needs PostgreSQL 15's server binaries and
# the build's tests/replica-rows (make check builds it, or make
# tests/replica-rows).  As root the daemons run as nobody and
# PostgreSQL as postgres.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: bench_fleet.sh BUILDDIR [DOMAINS [SYNC]]}" && pwd)
ndomains=${2:-10000}
nsync=${3:-100000}
commits=${COMMITS:-200}
interval=${INTERVAL:-20}
milter=$build/authready-milter
rows=$build/tests/replica-rows
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V |
    tail -n 1)}
for p in "$milter" "$rows" "$PGBIN/initdb"; do
	[ -x "$p" ] || { echo "bench_fleet: $p missing (build first)" >&2; exit 1; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-fleet.XXXXXX")
chmod 0755 "$T"
PIDS=
PGPORT=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || :; done
	for p in $PIDS; do wait "$p" 2>/dev/null || :; done
	[ -n "$PGPORT" ] && as_pg "$PGBIN/pg_ctl" -D "$T/pg/data" -m fast -w \
	    stop >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid postgres --regid postgres --clear-groups -- "$@"
	else
		"$@"
	fi
}
sql() {
	as_pg "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$T/pg" \
	    -p "$PGPORT" -U postgres -d "${DB:-authready}" "$@"
}

# PostgreSQL and the schema (the contract's version 1).
mkdir -p "$T/pg"
[ "$(id -u)" -eq 0 ] && chown postgres "$T/pg"
as_pg "$PGBIN/initdb" -D "$T/pg/data" -A trust -U postgres >/dev/null
PGPORT=$(shuf -i 20000-60000 -n 1)
as_pg "$PGBIN/pg_ctl" -D "$T/pg/data" -l "$T/pg/log" -w -o \
    "-c listen_addresses=127.0.0.1 -p $PGPORT -k $T/pg" start >/dev/null
DB=postgres sql -c "CREATE DATABASE authready" >/dev/null
sql -c "CREATE TABLE authready_meta (key text PRIMARY KEY, value text NOT NULL);
INSERT INTO authready_meta VALUES ('schema_version', '1');
CREATE TABLE authready_clock (id int PRIMARY KEY CHECK (id = 1),
  version bigint NOT NULL);
INSERT INTO authready_clock VALUES (1, 1);
CREATE TABLE authready_registry (domain text PRIMARY KEY, entry bytea,
  version bigint NOT NULL, deleted boolean NOT NULL DEFAULT false);
CREATE INDEX authready_registry_version ON authready_registry (version);
CREATE TABLE authready_state (domain text PRIMARY KEY, entry bytea,
  readiness text NOT NULL, version bigint NOT NULL,
  deleted boolean NOT NULL DEFAULT false);
CREATE INDEX authready_state_version ON authready_state (version);
CREATE TABLE authready_replicas (host text PRIMARY KEY,
  position bigint NOT NULL, last_seen timestamptz NOT NULL);"

# load PREFIX COUNT - COUNT domains with verified states at version 1.
load() {
	"$rows" copy "$1" "$2" 1 |
	    sql -c "COPY authready_registry FROM STDIN"
	"$rows" copy-state "$1" "$2" 1 |
	    sql -c "COPY authready_state FROM STDIN"
}

# start NAME - a daemon on an empty StateDir; its log is $T/NAME.log.
start() {
	mkdir -p "$T/$1" "$T/run"
	[ "$(id -u)" -eq 0 ] && chown nobody "$T/$1" "$T/run"
	chmod 0750 "$T/$1"
	{
		echo "StateDir $T/$1"
		echo "Socket inet:$(shuf -i 20000-60000 -n 1)@127.0.0.1"
		echo "Syslog no"
		echo "PidFile $T/run/$1.pid"
		echo "DNSServers 127.0.0.1:9"
		echo "StoreDSN postgresql://postgres@127.0.0.1:$PGPORT/authready"
		echo "HostName $1"
		[ "$(id -u)" -eq 0 ] && echo "UserID nobody"
	} >"$T/$1.conf"
	chmod 0644 "$T/$1.conf"
	: >"$T/$1.log"
	"$milter" -c "$T/$1.conf" -f </dev/null >/dev/null 2>"$T/$1.log" &
	PIDS="$PIDS $!"
}

# wait_snapshot NAME - until NAME logged its snapshot (10 min at most).
wait_snapshot() {
	i=0
	until grep -q 'event=replica-snapshot' "$T/$1.log"; do
		i=$((i + 1))
		[ $i -lt 6000 ] || { echo "no snapshot: $1" >&2; exit 1; }
		sleep 0.1
	done
}

stop_all() {
	for p in $PIDS; do kill "$p" 2>/dev/null || :; done
	for p in $PIDS; do wait "$p" 2>/dev/null || :; done
	PIDS=
}

# ms of day of a log line's "YYYY-MM-DDTHH:MM:SS.mmmZ" (field 1).
logms='{ split(substr($1, 12, 12), t, ":");
	printf "%d %s\n", (t[1] * 3600 + t[2] * 60 + t[3]) * 1000, $0 }'

# propagation R - COMMITS registrations seen by R replicas.
propagation() {
	r=$1
	names=
	k=1
	while [ $k -le "$r" ]; do
		start "p$r-$k"
		names="$names p$r-$k"
		k=$((k + 1))
	done
	for n in $names; do wait_snapshot "$n"; done
	sleep 1
	# one psql session: each commit, then its version and ms of day
	: >"$T/commits.sql"
	c=0
	while [ $c -lt "$commits" ]; do
		d=prop$r-$c.example
		hex=$("$rows" reg "$d")
		cat >>"$T/commits.sql" <<EOF
BEGIN;
UPDATE authready_clock SET version = version + 1;
INSERT INTO authready_registry SELECT '$d', decode('$hex', 'hex'), version, false FROM authready_clock;
SELECT pg_notify('authready_changes', version::text) FROM authready_clock;
COMMIT;
SELECT version, (extract(epoch FROM clock_timestamp()) * 1000)::bigint % 86400000 FROM authready_clock;
SELECT pg_sleep($interval / 1000.0);
EOF
		c=$((c + 1))
	done
	sql -F ' ' -f "$T/commits.sql" | grep -E '^[0-9]+ [0-9]+$' \
	    >"$T/commits.$r"
	last=$(tail -n 1 "$T/commits.$r" | cut -d' ' -f1)
	for n in $names; do
		i=0
		until grep 'event=replica-apply' "$T/$n.log" |
		    grep -q "position=$last "; do
			i=$((i + 1))
			[ $i -lt 600 ] || { echo "$n never reached $last" >&2; exit 1; }
			sleep 0.1
		done
	done
	q=0
	for n in $names; do
		q=$((q + 1))
		grep 'event=replica-apply' "$T/$n.log" | awk "$logms" |
		    sed -n "s/^\([0-9]*\) .* position=\([0-9]*\) .*/$q \2 \1/p"
	done >"$T/applies.$r"
	# for each commit and replica: the first apply reaching the version
	awk -v r="$r" 'NR == FNR { cv[NR] = $1; ct[NR] = $2; nc = NR; next }
	    { rp[++na] = $1; pos[na] = $2; at[na] = $3; if ($1 > k) k = $1 }
	    END {
		n = 0
		for (c = 1; c <= nc; c++)
			for (q = 1; q <= k; q++) {
				best = -1
				for (a = 1; a <= na; a++)
					if (rp[a] == q && pos[a] >= cv[c]) {
						best = at[a]; break
					}
				if (best >= 0) lat[++n] = best - ct[c]
			}
		# insertion sort: no gawk needed
		for (i = 2; i <= n; i++) {
			v = lat[i]
			for (j = i - 1; j >= 1 && lat[j] > v; j--)
				lat[j + 1] = lat[j]
			lat[j + 1] = v
		}
		printf "%d replicas: %d samples, p50 %d ms, p99 %d ms, max %d ms\n",
		    r, n, lat[int(n * 0.5 + 0.5)], lat[int(n * 0.99 + 0.5)], lat[n]
	    }' "$T/commits.$r" "$T/applies.$r"
	stop_all
}

echo "loading $ndomains domains"
load d "$ndomains"
for r in ${REPLICAS:-1 5}; do
	propagation "$r"
done

if [ "$nsync" -gt "$ndomains" ]; then
	echo "loading $((nsync - ndomains)) more domains"
	load s $((nsync - ndomains))
fi
t0=$(date +%s%3N)
start sync
wait_snapshot sync
t1=$(date +%s%3N)
line=$(grep 'event=replica-snapshot' "$T/sync.log")
echo "initial sync of $nsync domains: $(echo "$line" |
    sed -n 's/.*\(rows=[0-9]*\).*\(ms=[0-9]*\).*/\1 \2/p'), start to" \
    "snapshot $((t1 - t0)) ms"
stop_all
