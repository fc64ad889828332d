#!/bin/sh
# bench_fleet.sh - the replica's propagation and initial sync, one run.
#
# A private PostgreSQL on loopback (tests/integration/pg-harness.sh, as
# tests/integration/replica.sh: the schema of `authready db init`, the
# GRANTs of `authready db grants`, the daemons as authready_replica with
# a password) with DOMAINS registered domains (default
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
# counts of the propagation runs.  Needs PostgreSQL 15's server binaries
# (PG_BINDIR: pg-harness.sh) and the build's tests/replica-rows (make
# check builds it, or make tests/replica-rows).  As root the daemons run
# as nobody and PostgreSQL as postgres.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: bench_fleet.sh BUILDDIR [DOMAINS [SYNC]]}" && pwd)
ndomains=${2:-10000}
nsync=${3:-100000}
commits=${COMMITS:-200}
interval=${INTERVAL:-20}
milter=$build/authready-milter
cli=$build/authready
rows=$build/tests/replica-rows
for p in "$milter" "$cli" "$rows"; do
	[ -x "$p" ] || { echo "bench_fleet: $p missing (build first)" >&2; exit 1; }
done
unset PGPASSWORD PGPASSFILE PGSERVICE
# shellcheck source=tests/integration/pg-harness.sh
. "$top/tests/integration/pg-harness.sh"
pg_find

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-fleet.XXXXXX")
chmod 0755 "$T"
PIDS=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || :; done
	for p in $PIDS; do wait "$p" 2>/dev/null || :; done
	pg_cleanup
	rm -rf "$T"
}
# sql ARGS... - psql as the superuser on the harness's unix socket.
sql() {
	"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" \
	    -U postgres -d authready "$@"
}

# PostgreSQL (its own traps, replaced by ours), the schema and GRANTs.
pg_start
trap cleanup EXIT
trap 'exit 130' INT TERM
{
	echo "StateDir $T/admin"
	echo "StoreDSN $PG_DSN"
	echo "StoreDSNPasswordFile $PG_PASSWORD_FILE"
} >"$T/admin.conf"
mkdir "$T/admin"
"$cli" -c "$T/admin.conf" db init >/dev/null
sql -c "SET ROLE authready_admin; $("$cli" -c "$T/admin.conf" db grants)" \
    >/dev/null
# the rows loaded below are at version 1
sql -c "UPDATE authready_clock SET version = 1" >/dev/null
cp "$PG_PASSWORD_FILE_REPLICA" "$T/replica.password"
[ "$(id -u)" -eq 0 ] && chown nobody "$T/replica.password"
chmod 0600 "$T/replica.password"

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
		echo "StoreDSN $PG_DSN_REPLICA"
		echo "StoreDSNPasswordFile $T/replica.password"
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
	# a replica LISTENs before its snapshot (replica_session): once it
	# logged the snapshot, every commit below wakes it
	for n in $names; do wait_snapshot "$n"; done
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
