#!/bin/sh
# bench_fleet.sh - the fleet's figures: shared refresh, propagation (idle
# and during a full refresh), initial sync; one run.
#
# A private PostgreSQL on loopback (tests/integration/pg-harness.sh, as
# tests/integration/replica.sh: the schema of `authready db init`, the
# GRANTs of `authready db grants`, the daemons as authready_replica with
# a password, the checkers as authready_checker), then the PARTS
# (default "refresh bound busy propagation sync"), in this order:
#   - refresh: REFRESH domains (default 20000; the issue's campaign is
#     100000) served by NSD on loopback (four records each, the seed's
#     shape, as bench_refresh.sh), registered in PostgreSQL and in a
#     StateDir of its own without StoreDSN; ROUNDS (default 3)
#     interleaved rounds of: `authready refresh --all` on the LMDB-only
#     StateDir, then 1 and then CHECKERS (default 3) `authready
#     checkerd` processes (each its own StateDir, StoreDSN as
#     authready_checker) started at once after every domain was made due
#     in authready_checks, until every domain was written back (the
#     last event=fleet-round line).  Per round: the times, the CPU time
#     of the refresh or the checkers and of PostgreSQL's backends (the
#     postmaster's reaped children), the checks per domain counted from
#     the checkers' event=fleet-check lines (goal: none twice) and the
#     domains PostgreSQL says were checked in the round; then the
#     median of the rounds' ratios LMDB/fleet (goal >= 0.8);
#   - bound: what no fleet refresh can beat here: per round (ROUNDS),
#     the LMDB refresh of the REFRESH domains alone, the database's own
#     work for as many inside one backend alone (bench/pg-floor.sh, as
#     bench_pg_floor.sh), then both started together, the floor at once
#     and then paced over BOUND_PACE (1.25) times the LMDB time (the
#     time the goal of 0.8 allows); the LMDB time alone against the
#     time until both ended (medians: the bound on the refresh part's
#     ratio), and the LMDB refresh's CPU beside the floor against alone;
#     BOUND_LAYOUT=one: the floor of a one-table layout (the lease and
#     next check in the state row) instead of the schema's two tables;
#   - busy: propagation (below) at BUSY_REPLICAS replicas (default 1)
#     on top of the REFRESH domains, while CHECKERS `authready refresh
#     --all` loops rewrite every state (a full refresh, again and again,
#     so every commit measured lands in one): goal p99 < 1 s;
#   - propagation at 1 and at 5 replicas (REPLICAS) (authready-milter
#     daemons, each its own StateDir, all on the one database) on top
#     of DOMAINS (default 10000) domains with verified states: COMMITS
#     registrations
#     (default 200), one transaction each with the clock version and a
#     NOTIFY, INTERVAL ms apart (default 20); for every commit and every
#     replica, the time from the commit to the replica's LMDB commit of
#     that version (the event=replica-apply line that reaches it, which
#     is logged after the LMDB commit); p50, p99 and max over all;
#   - idle (not in the default PARTS): the REFRESH domains with none
#     due; PostgreSQL's CPU for one round that finds nothing, and a
#     second of an idle `authready checkerd` (which spaces its rounds
#     out up to 15 s: event=checkerd-idle) over IDLE_SECONDS; then a
#     milter daemon (its checker as authready_checker) over
#     IDLE_SECONDS with FleetRefresh yes (a walk each 15 s) and no;
#   - initial sync: SYNC domains (default 100000) in the database, one
#     daemon on an empty StateDir: the snapshot's own time
#     (event=replica-snapshot ms=) and the time from the daemon's start
#     to the end of the snapshot.
#
# usage: bench/bench_fleet.sh BUILDDIR [DOMAINS [SYNC]]
# COMMITS, INTERVAL as above; REPLICAS (default "1 5"): the replica
# counts of the propagation runs.  Needs PostgreSQL 15's server binaries
# (PG_BINDIR: pg-harness.sh), NSD for the refresh parts, and the build's
# tests/replica-rows (make check builds it, or make tests/replica-rows).
# As root the daemons run as nobody and PostgreSQL as postgres.
# PostgreSQL runs with shared_buffers 128MB (Debian's default;
# BENCH_PG_SHARED_BUFFERS sets another, 16MB is the test harness's) and
# Debian's max_connections 100 (the harness's 40 is too few for 20
# replicas).  The refresh rounds report the WAL each fleet run wrote,
# and the part the average state and registry entry and the tables'
# sizes.
# BENCH_PGSTAT=FILE: PostgreSQL with pg_stat_statements; FILE gets the
# statements of the refresh part by total time: calls, execution ms,
# planning ms, rows, us per row, the statement (where the database's
# share goes: claims or write-back).
# BENCH_CONCURRENCY=N: RefreshConcurrency N for the LMDB refresh and
# the checkers alike (the window, and a fleet's claim and flush size).
# BENCH_HOST_CPUS and BENCH_PG_CPUS (taskset CPU lists, e.g. 0 and 1):
# the script and everything it starts on the first, PostgreSQL moved to
# the second once up, as a fleet whose database has a machine of its
# own; the LMDB baseline then runs on the host's CPUs too.
# The issue's campaign (several minutes):
#   REFRESH=100000 COMMITS=500 REPLICAS="1 5 20" BUSY_REPLICAS="1 5 20" \
#       bench/bench_fleet.sh BUILDDIR 100000 1000000
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: bench_fleet.sh BUILDDIR [DOMAINS [SYNC]]}" && pwd)
ndomains=${2:-10000}
nsync=${3:-100000}
commits=${COMMITS:-200}
interval=${INTERVAL:-20}
parts=${PARTS:-refresh bound busy propagation sync}
nref=${REFRESH:-20000}
rounds=${ROUNDS:-3}
ncheckers=${CHECKERS:-3}
milter=$build/authready-milter
cli=$build/authready
rows=$build/tests/replica-rows
for p in "$milter" "$cli" "$rows"; do
	[ -x "$p" ] || { echo "bench_fleet: $p missing (build first)" >&2; exit 1; }
done
unset PGPASSWORD PGPASSFILE PGSERVICE
# shellcheck source=tests/integration/pg-harness.sh
. "$top/tests/integration/pg-harness.sh"
# shellcheck source=tests/integration/nsd-harness.sh
. "$top/tests/integration/nsd-harness.sh"
pg_find
# Debian's postgresql.conf gives a cluster 128MB of shared_buffers; the
# test harness's 16MB would make 100,000 domains' tables a round trip to
# the page cache (PG_OPTS goes after this and may set it again).  And
# Debian's 100 connections, not the harness's 40: 20 replicas take two
# each (the replica's and the checker's), the refresh loops more.
PG_OPTS="-c shared_buffers=${BENCH_PG_SHARED_BUFFERS:-128MB}
    -c max_connections=100 ${PG_OPTS:-}"
if [ -n "${BENCH_PGSTAT:-}" ]; then
	PG_OPTS="${PG_OPTS:-} -c shared_preload_libraries=pg_stat_statements"
	PG_OPTS="$PG_OPTS -c pg_stat_statements.track=all"
	PG_OPTS="$PG_OPTS -c pg_stat_statements.track_planning=on"
fi

# BENCH_HOST_CPUS: this script and all it starts (the refreshes, the
# checkers, NSD) on those CPUs; BENCH_PG_CPUS: PostgreSQL moved to
# those once started (a fleet's database on cores of its own).
if [ -n "${BENCH_HOST_CPUS:-}" ]; then
	taskset -pc "$BENCH_HOST_CPUS" $$ >/dev/null
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-fleet.XXXXXX")
chmod 0755 "$T"
PIDS=
NSD_PID=
cleanup() {
	[ ! -d "$T" ] || touch "$T/stop"
	for p in $PIDS; do kill "$p" 2>/dev/null || :; done
	for p in $PIDS; do wait "$p" 2>/dev/null || :; done
	[ -z "$NSD_PID" ] || nsd_cleanup >/dev/null 2>&1 || :
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
if [ -n "${BENCH_PG_CPUS:-}" ]; then
	for p in $PG_PID $(pgrep -P "$PG_PID"); do
		taskset -apc "$BENCH_PG_CPUS" "$p" >/dev/null
	done
fi
trap cleanup EXIT
trap 'exit 130' INT TERM
{
	echo "StateDir $T/admin"
	echo "StoreDSN $PG_DSN"
	echo "StoreDSNPasswordFile $PG_PASSWORD_FILE"
} >"$T/admin.conf"
mkdir "$T/admin"
"$cli" -c "$T/admin.conf" db init >/dev/null
[ -z "${BENCH_PGSTAT:-}" ] ||
    sql -c "CREATE EXTENSION pg_stat_statements" >/dev/null
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
	# their rows in authready_checks, as a registration inserts them
	sql -c "INSERT INTO authready_checks (domain) SELECT domain
	    FROM authready_registry WHERE domain LIKE '$1%.example'" >/dev/null
	"$rows" copy-state "$1" "$2" 1 |
	    sql -c "COPY authready_state FROM STDIN"
}

# free_port - a TCP port nobody listens on.
free_port() {
	while :; do
		p=$(shuf -i 20000-32000 -n 1)
		ss -ltn "sport = :$p" | grep -q LISTEN || { echo "$p"; return; }
	done
}

# start NAME - a daemon on an empty StateDir; its log is $T/NAME.log;
# as authready_replica, DNS nowhere, unless DAEMON_DSN, DAEMON_PASSWORD,
# DAEMON_DNS say otherwise; DAEMON_EXTRA: one more config line.
start() {
	mkdir -p "$T/$1" "$T/run"
	[ "$(id -u)" -eq 0 ] && chown nobody "$T/$1" "$T/run"
	chmod 0750 "$T/$1"
	{
		echo "StateDir $T/$1"
		echo "Socket inet:$(free_port)@127.0.0.1"
		echo "Syslog no"
		echo "PidFile $T/run/$1.pid"
		echo "DNSServers ${DAEMON_DNS:-127.0.0.1:9}"
		echo "StoreDSN ${DAEMON_DSN:-$PG_DSN_REPLICA}"
		echo "StoreDSNPasswordFile ${DAEMON_PASSWORD:-$T/replica.password}"
		echo "HostName $1"
		[ -z "${DAEMON_EXTRA:-}" ] || echo "$DAEMON_EXTRA"
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
		if grep -q 'event=start-failed' "$T/$1.log"; then
			cat "$T/$1.log" >&2
			exit 1
		fi
		i=$((i + 1))
		[ $i -lt 6000 ] || {
			echo "no snapshot: $1; its log ends:" >&2
			tail -n 5 "$T/$1.log" >&2
			exit 1
		}
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

# propagation R [busy] - COMMITS registrations seen by R replicas; busy:
# while the refresh loops run (refresh_loops).
propagation() {
	r=$1
	tag=${2:-p}$r
	names=
	k=1
	while [ $k -le "$r" ]; do
		start "$tag-$k"
		names="$names $tag-$k"
		k=$((k + 1))
	done
	# a replica LISTENs before its snapshot (replica_session): once it
	# logged the snapshot, every commit below wakes it
	for n in $names; do wait_snapshot "$n"; done
	[ -z "${2:-}" ] || refresh_loops
	# one psql session: each commit, then its version and ms of day
	: >"$T/commits.sql"
	c=0
	while [ $c -lt "$commits" ]; do
		d=prop$tag-$c.example
		hex=$("$rows" reg "$d")
		cat >>"$T/commits.sql" <<EOF
BEGIN;
UPDATE authready_clock SET version = version + 1;
INSERT INTO authready_registry SELECT '$d', decode('$hex', 'hex'), version, false FROM authready_clock;
INSERT INTO authready_checks (domain) VALUES ('$d');
SELECT pg_notify('authready_changes', version::text) FROM authready_clock;
COMMIT;
SELECT version, (extract(epoch FROM clock_timestamp()) * 1000)::bigint % 86400000 FROM authready_clock;
SELECT pg_sleep($interval / 1000.0);
EOF
		c=$((c + 1))
	done
	sql -F ' ' -f "$T/commits.sql" | grep -E '^[0-9]+ [0-9]+$' \
	    >"$T/commits.$r"
	[ -z "${2:-}" ] || refresh_loops_stop
	last=$(tail -n 1 "$T/commits.$r" | cut -d' ' -f1)
	for n in $names; do
		i=0
		# at or past it: during a refresh the writes go on
		until grep 'event=replica-apply' "$T/$n.log" |
		    sed -n 's/.* position=\([0-9]*\) .*/\1/p' |
		    awk -v l="$last" '$1 >= l { f = 1 } END { exit !f }'; do
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
		printf "%d replicas%s: %d samples, p50 %d ms, p99 %d ms, max %d ms\n",
		    r, busy, n, lat[int(n * 0.5 + 0.5)], lat[int(n * 0.99 + 0.5)],
		    lat[n]
	    }' busy="${2:+ during a full refresh}" "$T/commits.$r" "$T/applies.$r"
	stop_all
}

# reset_db - no domain, no state, no check, the clock at 1.
reset_db() {
	sql -c "TRUNCATE authready_registry, authready_state, authready_checks,
	    authready_notices, authready_replicas;
	    UPDATE authready_clock SET version = 1" >/dev/null
}

now_ms() { date +%s%3N; }

HZ=$(getconf CLK_TCK)
# kids_ms - KIDS: CPU ms (user + system) of this shell's waited-for
# children, the refresh and the checkers (called, not in $(...): a
# subshell's children would be its own).
kids_ms() {
	times >"$T/times"
	KIDS=$(tail -n 1 "$T/times" | awk '{ split($1, u, "m")
	    split($2, s, "m")
	    printf "%d\n", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1000 }')
}

# pg_ms - CPU ms of PostgreSQL's backends that ended (the postmaster's
# reaped children: a checker's backend once it disconnected).
pg_ms() {
	awk -v hz="$HZ" '{ printf "%d\n", ($16 + $17) * 1000 / hz }' \
	    "/proc/$PG_PID/stat"
}

# pg_live_ms - CPU ms of PostgreSQL's backends, the running ones (a
# live checker's backend) and those that ended (pg_ms).
pg_live_ms() {
	pl=$(pg_ms)
	for pp in $(pgrep -P "$PG_PID"); do
		pl=$((pl + $(awk -v hz="$HZ" \
		    '{ printf "%d", ($14 + $15) * 1000 / hz }' \
		    "/proc/$pp/stat" 2>/dev/null || echo 0)))
	done
	echo "$pl"
}

# median - the median of the numbers on stdin.
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# refresh_setup - REFRESH domains r0.example ... served by NSD (the
# seed's four records, as bench_refresh.sh), registered in PostgreSQL
# (replica-rows: MAIL FROM label mail, selector 1234rpr) and in an
# LMDB-only StateDir; checker configs ck1 .. ckCHECKERS.  Once.
refresh_setup() {
	[ ! -e "$T/refresh.ready" ] || return 0
	mkdir -p "$T/zones" "$T/lmdb"
	key=$(cat "$top/tests/keys/rsa2048.p")
	awk -v n="$nref" -v key="$key" 'BEGIN {
		print "$ORIGIN example.\n$TTL 3600"
		print "@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns"
		print "ns A 127.0.0.1\nfeedback A 127.0.0.1"
		for (i = 0; i < n; i++) {
			d = "r" i
			printf "mail.%s MX 10 feedback.example.\n", d
			printf "mail.%s TXT \"v=spf1 ip4:127.0.0.0/8 ~all\"\n", d
			printf "1234rpr._domainkey.%s TXT \"v=DKIM1; k=rsa; p=%s\" \"%s\"\n",
			    d, substr(key, 1, 200), substr(key, 201)
			printf "_dmarc.%s TXT \"v=DMARC1; p=none;\"\n", d
		}
	}' >"$T/zones/example.zone"
	NSD_WAIT_TENTHS=600 nsd_start "$T/zones" >/dev/null 2>&1
	# nsd_start set its own traps: ours again (cleanup stops NSD too)
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	awk -v n="$nref" 'BEGIN { print "domain,selectors"
		for (i = 0; i < n; i++) printf "r%d.example,1234rpr\n", i }' \
	    >"$T/refresh.csv"
	printf 'StateDir %s/lmdb\nDNSServers 127.0.0.1:%s\nDNSTimeout 5\n' \
	    "$T" "$NSD_PORT" >"$T/lmdb.conf"
	[ -z "${BENCH_CONCURRENCY:-}" ] ||
	    echo "RefreshConcurrency $BENCH_CONCURRENCY" >>"$T/lmdb.conf"
	"$cli" -c "$T/lmdb.conf" domain import "$T/refresh.csv" >/dev/null
	reset_db
	"$rows" copy r "$nref" 1 | sql -c "COPY authready_registry FROM STDIN"
	sql -c "INSERT INTO authready_checks (domain) SELECT domain
	    FROM authready_registry WHERE domain LIKE 'r%.example'" >/dev/null
	k=1
	while [ $k -le "$ncheckers" ]; do
		mkdir -p "$T/ck$k"
		{
			echo "StateDir $T/ck$k"
			echo "DNSServers 127.0.0.1:$NSD_PORT"
			echo "DNSTimeout 5"
			[ -z "${BENCH_CONCURRENCY:-}" ] ||
			    echo "RefreshConcurrency $BENCH_CONCURRENCY"
			echo "StoreDSN $PG_DSN_CHECKER"
			echo "StoreDSNPasswordFile $PG_PASSWORD_FILE_CHECKER"
			echo "HostName ck$k"
		} >"$T/ck$k.conf"
		k=$((k + 1))
	done
	touch "$T/refresh.ready"
}

# lmdb_run - refresh --all of the LMDB-only StateDir; prints "ms cpu-ms";
# its end (now_ms) in $T/lmdb.t1.
lmdb_run() {
	kids_ms
	c0=$KIDS
	t0=$(now_ms)
	"$cli" -c "$T/lmdb.conf" refresh --all >"$T/lmdb.out"
	t1=$(now_ms)
	echo "$t1" >"$T/lmdb.t1"
	kids_ms
	c1=$KIDS
	grep -q "^checked $nref: $nref verified" "$T/lmdb.out" || {
		echo "LMDB refresh: $(cat "$T/lmdb.out")" >&2
		exit 1
	}
	echo $((t1 - t0)) $((c1 - c0))
}

# fleet_run K - every domain made due, then K checkerd at once, until
# their rounds wrote every domain back (the last event=fleet-round
# line); prints "ms checks domains-checked-twice written cpu-ms
# postgres-cpu-ms waited-claim-ms waited-write-ms".
fleet_run() {
	k=$1
	kids_ms
	c0=$KIDS
	g0=$(pg_ms)
	sql -c "UPDATE authready_checks SET next_check = '-infinity'" \
	    >/dev/null
	since=$(sql -c "SELECT now()")
	wal0=$(sql -c "SELECT pg_current_wal_lsn()")
	logs=
	pids=
	t0=$(now_ms)
	i=1
	while [ $i -le "$k" ]; do
		: >"$T/ck$i.log"
		"$cli" -c "$T/ck$i.conf" checkerd 2>"$T/ck$i.log" &
		pids="$pids $!"
		logs="$logs $T/ck$i.log"
		i=$((i + 1))
	done
	# Until their rounds' event=fleet-round lines add up to every
	# domain: the logs read once, as they grow (a scan of them all at
	# every poll would take the CPU the checkers are measured on).
	rm -f "$T/logs.fifo" "$T/rounds.fifo"
	mkfifo "$T/logs.fifo" "$T/rounds.fifo"
	# shellcheck disable=SC2086 # the logs of this run
	tail -q -n +1 -F $logs >"$T/logs.fifo" 2>/dev/null &
	tailpid=$!
	grep --line-buffered 'event=fleet-round ' <"$T/logs.fifo" \
	    >"$T/rounds.fifo" &
	greppid=$!
	# shellcheck disable=SC2016 # the inner shell's
	timeout 600 sh -c 's=0
		while IFS= read -r line; do
			c=${line##* checked=}
			s=$((s + ${c%% *}))
			[ "$s" -lt "$1" ] || exit 0
		done
		exit 1' sh "$nref" <"$T/rounds.fifo" || {
		echo "checkers never done" >&2
		exit 1
	}
	kill "$tailpid" 2>/dev/null || :
	wait "$tailpid" "$greppid" 2>/dev/null || :
	for p in $pids; do kill "$p" 2>/dev/null || :; done
	for p in $pids; do wait "$p" 2>/dev/null || :; done
	kids_ms
	c1=$KIDS
	# their backends' CPU reaches the postmaster once they ended
	i=0
	while [ "$(sql -c "SELECT count(*) FROM pg_stat_activity
	    WHERE usename = 'authready_checker'")" -gt 0 ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	g1=$(pg_ms)
	# shellcheck disable=SC2086
	t1=$(grep -h 'event=fleet-round' $logs | awk "$logms" |
	    sort -n | tail -n 1 | cut -d' ' -f1)
	# shellcheck disable=SC2086
	checks=$(grep -h 'event=fleet-check ' $logs | wc -l)
	# shellcheck disable=SC2086
	twice=$(grep -h 'event=fleet-check ' $logs |
	    sed -n 's/.* domain=\([^ ]*\).*/\1/p' | sort | uniq -d | wc -l)
	written=$(sql -c "SELECT count(*) FROM authready_checks
	    WHERE checked >= '$since'")
	walkb=$(sql -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(),
	    '$wal0') / 1024")
	# how long the checkers waited for their writers: a claim made
	# ahead, a flush out (their rounds' sums)
	# shellcheck disable=SC2086
	waited=$(grep -h 'event=fleet-round ' $logs | awk '{
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "waited_claim_ms") c += kv[2]
			if (kv[1] == "waited_write_ms") w += kv[2]
		}
	} END { printf "%d %d", c, w }')
	echo "$(( (t1 - t0 % 86400000 + 86400000) % 86400000 )) $checks" \
	    "$twice $written $((c1 - c0)) $((g1 - g0)) $waited ${walkb%.*}"
}

# part_refresh - LMDB against 1 and CHECKERS checkers, ROUNDS rounds.
part_refresh() {
	echo "refresh --all of $nref domains: LMDB alone against 1 and" \
	    "$ncheckers checkers ($rounds rounds; load $(cut -d' ' -f1-3 \
	    /proc/loadavg))"
	refresh_setup
	[ -z "${BENCH_PGSTAT:-}" ] ||
	    sql -c "SELECT pg_stat_statements_reset()" >/dev/null
	: >"$T/r1"
	: >"$T/rk"
	r=1
	while [ $r -le "$rounds" ]; do
		set -- $(lmdb_run)
		l=$1
		echo "round $r: LMDB $1 ms (CPU $2 ms)"
		set -- $(fleet_run 1)
		one=$1
		echo "round $r: 1 checker $1 ms ($2 checks, $3 domains twice," \
		    "$4 written; CPU: checker $5 ms, PostgreSQL $6 ms;" \
		    "waited for claims $7 ms, write-backs $8 ms; WAL $9 kB)"
		set -- $(fleet_run "$ncheckers")
		echo "round $r: $ncheckers checkers $1 ms ($2 checks, $3" \
		    "domains twice, $4 written; CPU: checkers $5 ms," \
		    "PostgreSQL $6 ms; waited for claims $7 ms, write-backs" \
		    "$8 ms; WAL $9 kB)"
		awk -v a="$l" -v b="$one" 'BEGIN { printf "%.4f\n", a / b }' \
		    >>"$T/r1"
		awk -v a="$l" -v b="$1" 'BEGIN { printf "%.4f\n", a / b }' \
		    >>"$T/rk"
		r=$((r + 1))
	done
	[ -z "${BENCH_PGSTAT:-}" ] || sql -c "SELECT calls,
	    round(total_exec_time) AS ms, round(total_plan_time) AS plan_ms,
	    rows,
	    round((1000 * total_exec_time / greatest(rows, 1))::numeric, 1)
	    AS us_per_row, regexp_replace(query, '\\s+', ' ', 'g')
	    FROM pg_stat_statements ORDER BY total_exec_time DESC
	    LIMIT 20" >"$BENCH_PGSTAT"
	echo "states in PostgreSQL: $(sql -c "SELECT readiness || ' ' ||
	    count(*) FROM authready_state GROUP BY readiness" | tr '\n' ' ')"
	echo "sizes: $(sql -c "SELECT 'state entry ' ||
	    (SELECT round(avg(octet_length(entry))) FROM authready_state) ||
	    ' B, registry entry ' || (SELECT round(avg(octet_length(entry)))
	    FROM authready_registry) || ' B; ' || string_agg(relname || ' ' ||
	    pg_relation_size(oid) / 1024 || ' kB', ', ' ORDER BY relname)
	    FROM pg_class WHERE relname LIKE 'authready_state%'
	    OR relname LIKE 'authready_checks%'")"
	echo "ratio LMDB/fleet, median of rounds: 1 checker" \
	    "$(median <"$T/r1"), $ncheckers checkers $(median <"$T/rk")" \
	    "(goal >= 0.8; load after $(cut -d' ' -f1-3 /proc/loadavg))"
}

# refresh_loops - CHECKERS `refresh --all` loops, until $T/stop; returns
# once the first state was written back.
refresh_loops() {
	rm -f "$T/stop"
	LOOPS=
	k=1
	while [ $k -le "$ncheckers" ]; do
		: >"$T/loop$k.log"
		(
			while [ ! -e "$T/stop" ]; do
				"$cli" -c "$T/ck$k.conf" refresh --all \
				    >/dev/null 2>>"$T/loop$k.log" || :
			done
		) &
		LOOPS="$LOOPS $!"
		k=$((k + 1))
	done
	i=0
	until cat "$T"/loop*.log | grep -q 'event=fleet-write'; do
		i=$((i + 1))
		[ $i -lt 600 ] || { echo "no refresh under way" >&2; exit 1; }
		sleep 0.1
	done
}

# refresh_loops_stop - the loops end after their refresh in progress.
refresh_loops_stop() {
	touch "$T/stop"
	for p in $LOOPS; do wait "$p" 2>/dev/null || :; done
	echo "  (during the commits: $(cat "$T"/loop*.log |
	    grep -c 'event=fleet-write') states written back by" \
	    "$ncheckers refresh --all loops)"
}

# part_busy - propagation while full refreshes rewrite every state.
part_busy() {
	refresh_setup
	echo "propagation during a full refresh of $nref domains" \
	    "($ncheckers refresh --all loops; load $(cut -d' ' -f1-3 \
	    /proc/loadavg))"
	for r in ${BUSY_REPLICAS:-1}; do
		propagation "$r" busy
	done
}

# part_propagation - idle propagation at REPLICAS replicas.
part_propagation() {
	reset_db
	echo "loading $ndomains domains"
	load d "$ndomains"
	for r in ${REPLICAS:-1 5}; do
		propagation "$r"
	done
}

# part_sync - one daemon's snapshot of SYNC domains.
part_sync() {
	reset_db
	echo "loading $nsync domains"
	load s "$nsync"
	t0=$(now_ms)
	start sync
	wait_snapshot sync
	t1=$(now_ms)
	line=$(grep 'event=replica-snapshot' "$T/sync.log")
	echo "initial sync of $nsync domains: $(echo "$line" |
	    sed -n 's/.*\(rows=[0-9]*\).*\(ms=[0-9]*\).*/\1 \2/p'), start" \
	    "to snapshot $((t1 - t0)) ms"
	stop_all
}

# part_idle - an idle fleet: the REFRESH domains, none due.  What one
# round that finds nothing costs PostgreSQL (IDLE_WALKS runs of
# `refresh --due`, default 5; each with its connection), then one
# `authready checkerd` once it spaced its rounds out
# (event=checkerd-idle): PostgreSQL's CPU a second over IDLE_SECONDS
# (default 60), against a round a second (the walk's cost, a second:
# checkerd until session 14).
part_idle() {
	refresh_setup
	sql -c "UPDATE authready_checks SET checked = now(),
	    next_check = now() + interval '1 day', lease_owner = NULL,
	    lease_until = NULL, lease_token = NULL" >/dev/null
	sql -c "VACUUM ANALYZE authready_checks" >/dev/null
	walks=${IDLE_WALKS:-5}
	secs=${IDLE_SECONDS:-60}
	echo "idle: $nref domains, none due"
	g0=$(pg_live_ms)
	i=0
	while [ $i -lt "$walks" ]; do
		"$cli" -c "$T/ck1.conf" refresh --due >/dev/null
		i=$((i + 1))
	done
	g1=$(pg_live_ms)
	walk=$(((g1 - g0) / walks))
	echo "a round with nothing due (refresh --due, $walks runs):" \
	    "PostgreSQL $walk ms of CPU each"
	: >"$T/idle.log"
	"$cli" -c "$T/ck1.conf" checkerd 2>"$T/idle.log" &
	ipid=$!
	PIDS="$PIDS $ipid"
	i=0
	while ! grep -q 'event=checkerd-idle ' "$T/idle.log"; do
		[ $i -lt 1200 ] || { echo "checkerd never idle" >&2; exit 1; }
		sleep 0.1
		i=$((i + 1))
	done
	g0=$(pg_live_ms)
	t0=$(now_ms)
	sleep "$secs"
	g1=$(pg_live_ms)
	t1=$(now_ms)
	kill "$ipid" 2>/dev/null || :
	wait "$ipid" 2>/dev/null || :
	awk -v g=$((g1 - g0)) -v t=$((t1 - t0)) -v w="$walk" 'BEGIN {
		r = g * 1000 / t
		printf "idle checkerd over %.1f s: PostgreSQL %d ms of CPU, " \
		    "%.1f ms a second; a round a second would cost %d ms a " \
		    "second: %.1f times less\n", t / 1000, g, r, w,
		    (r > 0 ? w / r : 0) }'
	# The milter daemon's checker (as authready_checker): a due round
	# every 15 s, each a walk; with FleetRefresh no, none.
	cp "$PG_PASSWORD_FILE_CHECKER" "$T/daemon-checker.password"
	[ "$(id -u)" -ne 0 ] || chown nobody "$T/daemon-checker.password"
	for fr in yes no; do
		DAEMON_DSN=$PG_DSN_CHECKER
		DAEMON_PASSWORD=$T/daemon-checker.password
		DAEMON_DNS=127.0.0.1:$NSD_PORT
		DAEMON_EXTRA="FleetRefresh $fr"
		start "idle-$fr"
		unset DAEMON_DSN DAEMON_PASSWORD DAEMON_DNS DAEMON_EXTRA
		wait_snapshot "idle-$fr"
		g0=$(pg_live_ms)
		t0=$(now_ms)
		sleep "$secs"
		g1=$(pg_live_ms)
		t1=$(now_ms)
		stop_all
		awk -v g=$((g1 - g0)) -v t=$((t1 - t0)) -v fr="$fr" 'BEGIN {
			printf "idle milter daemon, FleetRefresh %s, over %.1f " \
			    "s: PostgreSQL %d ms of CPU, %.1f ms a second\n",
			    fr, t / 1000, g, g * 1000 / t }'
	done
}

# part_bound - what no fleet refresh can beat on this machine: the LMDB
# refresh (the checks and the local store, as a checker makes them) while
# one PostgreSQL backend does the database's own work for as many
# domains (bench/pg-floor.sh: the claims and write-backs in a DO block,
# no client, no protocol), started together; the time until both ended,
# against the LMDB refresh alone.  A fleet adds to that its protocol, its
# writer thread and their hand-overs, never less.  ROUNDS rounds, each:
# the LMDB refresh alone, the floor alone, both started together (the
# floor as fast as it can), both again with the floor's batches paced
# over BOUND_PACE (default 1.25) times the LMDB refresh's time alone:
# as a fleet's claims and write-backs come while its checks run, over
# the time the goal of 0.8 gives it.  When the LMDB refresh beside the
# floor so paced takes longer than that time, no fleet refresh meets
# the goal on this machine: the fairer bound (the LMDB time alone
# against the LMDB refresh's time beside the paced floor; at once,
# against the time until both ended).
part_bound() {
	refresh_setup
	# shellcheck source=bench/pg-floor.sh
	. "$top/bench/pg-floor.sh"
	floor_q() { sql -c "$1" >/dev/null; }
	floor_notice() { sql -c "$1" 2>&1 | sed -n 's/^NOTICE: *//p'; }
	layout=${BOUND_LAYOUT:-two}
	floor_tables "$layout" "$nref"
	pace=${BOUND_PACE:-1.25}
	echo "bound: refresh --all of $nref domains beside the database's" \
	    "floor for as many ($layout table(s); $rounds rounds; load $(cut -d' ' -f1-3 \
	    /proc/loadavg))"
	: >"$T/rb"
	: >"$T/rp"
	: >"$T/crb"
	: >"$T/crp"
	r=1
	while [ $r -le "$rounds" ]; do
		set -- $(lmdb_run)
		l=$1
		lc=$2
		g0=$(pg_live_ms)
		set -- $(floor_refresh "$layout")
		f=$3
		fc=$(($(pg_live_ms) - g0))
		# together: the floor as fast as it can, then paced over the
		# LMDB refresh's time alone (as a fleet's database work comes)
		line="round $r: LMDB alone $l ms (CPU $lc ms), the floor alone"
		line="$line $f ms (PostgreSQL CPU $fc ms)"
		for spread in 0 "$(awk -v l="$l" -v p="$pace" \
		    'BEGIN { printf "%d", l * p }')"; do
			g0=$(pg_live_ms)
			t0=$(now_ms)
			( floor_refresh "$layout" "$spread" >"$T/floor.out"
			  now_ms >"$T/floor.t1" ) &
			fpid=$!
			set -- $(lmdb_run)
			bl=$1
			blc=$2
			wait "$fpid"
			fc2=$(($(pg_live_ms) - g0))
			bf=$(($(cat "$T/floor.t1") - t0))
			both=$(($(cat "$T/lmdb.t1") - t0))
			[ "$bf" -le "$both" ] || both=$bf
			grep -q "^$layout $nref " "$T/floor.out" || {
				echo "floor: $(cat "$T/floor.out")" >&2
				exit 1
			}
			if [ "$spread" = 0 ]; then
				how="together"
				out=rb
			else
				how="paced over $spread ms"
				out=rp
			fi
			line="$line; $how: LMDB $bl ms (CPU $blc ms), the floor"
			line="$line $bf ms (CPU $fc2 ms), both done in $both ms"
			# paced, the floor ends at the pace by construction:
			# the bound is where the checks beside it end (kind
			# to a fleet: a floor behind its pace is not counted)
			[ "$spread" = 0 ] ||
			    both=$(($(cat "$T/lmdb.t1") - t0))
			awk -v a="$l" -v b="$both" \
			    'BEGIN { printf "%.4f\n", a / b }' >>"$T/$out"
			awk -v a="$lc" -v b="$blc" \
			    'BEGIN { printf "%.4f\n", b / a }' >>"$T/c$out"
		done
		echo "$line"
		r=$((r + 1))
	done
	floor_q "SET client_min_messages = warning;
	    DROP TABLE IF EXISTS floor_st, floor_ck, floor_rg"
	echo "bound LMDB alone/(LMDB beside the floor), median of rounds:" \
	    "the floor paced $(median <"$T/rp"), at once $(median <"$T/rb");" \
	    "the LMDB refresh's CPU beside the floor, median" \
	    "$(median <"$T/crp") and $(median <"$T/crb") times its own" \
	    "alone (load after $(cut -d' ' -f1-3 /proc/loadavg))"
}

echo "parts: $parts; load average $(cut -d' ' -f1-3 /proc/loadavg)," \
    "cpus $(nproc)"
for part in $parts; do
	case $part in
	refresh) part_refresh ;;
	busy) part_busy ;;
	propagation) part_propagation ;;
	sync) part_sync ;;
	idle) part_idle ;;
	bound) part_bound ;;
	*) echo "bench_fleet: unknown part $part" >&2; exit 64 ;;
	esac
done
