#!/bin/sh
# bench_milter.sh - MAIL FROM decisions per second: authready-milter on a
# store hit against a do-nothing milter, interleaved rounds, one run.
#
# SYNOPSIS
#	bench/bench_milter.sh BUILDDIR
#
# DESCRIPTION
#	Serves tests/zones from NSD on loopback, registers example.com
#	(--selector 1234rpr --key tests/keys/rsa2048.pem) in a fresh state
#	directory and refreshes it, so it is verified.  Starts, side by side:
#	  - authready-milter: UserID nobody:nogroup (the state directory is
#	    given to it), Syslog yes, SyslogFacility mail, DNSServers = the
#	    NSD, so every decision costs one syslog line as in production;
#	  - null_milter: the same libmilter and negotiation, MAIL FROM
#	    returns SMFIS_ACCEPT and nothing else happens.
#	  - a second authready-milter with FromCheck enforce (the first has
#	    FromCheck off: the MAIL-FROM-only path), on the same store;
#	  - a third, as the first plus MetricsListen (issue 18: the decision
#	    path adds to atomic counters), scraped once in each of its rounds
#	    with curl, as Prometheus would.
#	Then for each connection count in CONNS, ROUNDS times: null, then
#	authready and authready with metrics (which goes first alternates
#	from round to round), then authready with FromCheck, ROUND_SECONDS each
#	(milter_load: MACRO, MAIL, reply, ABORT in a loop per connection;
#	for FromCheck MAIL is answered continue and the decision is
#	milter_load -f: a From header field BENCH_FROM and end of headers,
#	whose reply is the decision's).  milter_load requires the reply SMFIR_ACCEPT,
#	so a tempfail or a reject stops the run instead of being measured.
#	Prints per connection count the median decisions/s of each, the
#	ratio of the medians and the median of the per-round ratios
#	(neighbouring rounds, less exposed to load changes), against the
#	target authready/null >= 0.95, the FromCheck path against the
#	MAIL-FROM-only path (from/ar, the median of per-round ratios), metrics
#	on against off (met/ar, the median of per-round ratios, target
#	>= 0.98), and the CPU time each costs per
#	decision (medians): the whole machine, the milter process and the
#	syslog sink, so a gap can be told apart from the noise.
#
#	Logging: with a syslog daemon (/dev/log exists) it is used, as in
#	production.  Without one, glibc's syslog() fails fast on the
#	missing socket and logging would cost nothing, so the script starts
#	bench/syslog_sink on /dev/log for the run (a datagram reader that
#	counts and discards the lines with recvmmsg: what a syslog daemon's
#	socket input costs at least, before it parses and writes) and
#	removes it afterwards.  BENCH_SYSLOG=none
#	skips the sink (glibc then tries socket+connect+close per line);
#	BENCH_SYSLOG=stderr sets "Syslog no" (one write(2) per line to a
#	file), to tell the cost of the decision from that of the syslog
#	transport.
#
#	The sender is bounces@mail.example.com, the seed's MAIL FROM name:
#	the milter finds example.com through the MAIL FROM rule (two
#	registry reads and a state peek).  BENCH_SENDER=<u@example.com>
#	measures a direct hit (one peek).
#
#	BENCH_REPLICA=1 adds a fleet: a private PostgreSQL on loopback
#	(tests/integration/pg-harness.sh) where example.com is registered
#	and refreshed (its verified state in PostgreSQL), and a fourth
#	daemon, the same config as the first but for StoreDSN (as
#	authready_replica) and its own state directory, whose replica
#	thread takes a snapshot and then applies the change stream.  A
#	writer (one psql session) commits continuously during all the
#	rounds, every WRITER_MS (default 10) ms a transaction with the
#	next clock version, WRITER_ROWS (default 10) states and one
#	registry entry of 1000 other domains, and a NOTIFY, so the replica
#	applies about 1100 rows a second; every round (null, authready and
#	the others alike) runs beside the writer and PostgreSQL, so that
#	what differs is the daemon with its replica.  Each round adds the
#	replica daemon beside authready's round (metrics, the control
#	pair, on authready's other side; the sides alternate from round
#	to round), and the report its rate against authready's
#	(replica/ar, the median of per-round ratios; target >= 0.98), the
#	changes committed and the replica's position at the end.
#
#	PER_SESSION=N makes every connection quit after N decisions and
#	the load generator open a new one (milter_load -m N), the way
#	Postfix opens a milter connection per SMTP session: PER_SESSION=1
#	measures sessions of one message, connection set-up and the
#	milter's per-session work included.
#
# ENVIRONMENT
#	CONNS (default "1 8 64"), ROUNDS (3), ROUND_SECONDS (2: four daemons
#	a round keep the default run near a minute and a half; the full
#	campaign is ROUNDS=5 ROUND_SECONDS=5), PER_SESSION
#	(decisions per connection, default 0: no limit), BENCH_REPLICA,
#	WRITER_MS, WRITER_ROWS (above), BENCH_SOCKET
#	(unix or inet, default unix), BENCH_SENDER, BENCH_FROM (the From
#	field's value, default "Jane <jane@example.com>"), BENCH_SYSLOG (sink,
#	none or stderr), BENCH_METRICS (off: the third daemon without
#	MetricsListen, a control that shows the noise of the met/ar pair),
#	BENCH_PERF (a file: one more authready round at the last
#	connection count under perf record -g; the report goes to FILE,
#	the data to FILE.data; then one FromCheck round, to FILE.from and
#	FILE.from.data).
#
# EXIT STATUS
#	0 the run completed (whether or not the target was met), 1 an error.
set -eu
LC_ALL=C
export LC_ALL
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: bench_milter.sh BUILDDIR}" && pwd)
CONNS=${CONNS:-1 8 64}
ROUNDS=${ROUNDS:-3}
PER_SESSION=${PER_SESSION:-0}
SECONDS_PER_ROUND=${ROUND_SECONDS:-2}
BENCH_SOCKET=${BENCH_SOCKET:-unix}
BENCH_SENDER=${BENCH_SENDER:-<bounces@mail.example.com>}
BENCH_FROM=${BENCH_FROM:-Jane <jane@example.com>}
BENCH_SYSLOG=${BENCH_SYSLOG:-sink}
TARGET=0.95
MET_TARGET=0.98
HZ=$(getconf CLK_TCK)
START_TENTHS=100

authready=$build/authready
milter=$build/authready-milter
for p in "$authready" "$milter"; do
	[ -x "$p" ] || { echo "no $p; build first" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "run as root (UserID nobody)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-milter.XXXXXX")
chmod 0755 "$work" # nobody must reach the state directory
AR_PID=
MET_PID=
REP_PID=
WRITER_PID=
FROM_PID=
NULL_PID=
SINK_PID=

# stop_pid PID - TERM, wait, KILL if needed.
stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || true
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

cleanup() {
	stop_pid "$WRITER_PID"
	stop_pid "$REP_PID"
	[ -z "${PG_PID:-}" ] || pg_cleanup >/dev/null 2>&1 || true
	stop_pid "$AR_PID"
	stop_pid "$MET_PID"
	stop_pid "$FROM_PID"
	stop_pid "$NULL_PID"
	stop_pid "$SINK_PID"
	[ -z "$SINK_PID" ] || rm -f /dev/log
	nsd_cleanup >/dev/null 2>&1 || true
	rm -rf "$work"
}

# shellcheck source=../tests/integration/nsd-harness.sh
. "$top/tests/integration/nsd-harness.sh"

# tool NAME - the bench program NAME: built by "make bench", else here.
tool() {
	if [ -x "$build/bench/$1" ]; then
		echo "$build/bench/$1"
		return
	fi
	cflags=$(pkg-config --cflags milter)
	libs=
	[ "$1" = null_milter ] && libs=$(pkg-config --libs milter)
	# shellcheck disable=SC2086 # word lists from pkg-config
	gcc -std=c11 -O2 -D_GNU_SOURCE $cflags -o "$work/$1" \
	    "$top/bench/$1.c" $libs -lpthread
	echo "$work/$1"
}

# syslog_sink - a datagram reader on /dev/log that counts lines.
syslog_sink() {
	[ "$BENCH_SYSLOG" = sink ] || return 0
	if [ -e /dev/log ]; then
		echo "syslog: /dev/log exists (a syslog daemon): using it"
		return 0
	fi
	sink=$(tool syslog_sink)
	"$sink" /dev/log "$work/sink.count" &
	SINK_PID=$!
	i=0
	while [ ! -S /dev/log ] && [ $i -lt $START_TENTHS ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S /dev/log ] || { echo "syslog sink did not start" >&2; exit 1; }
	echo "syslog: no daemon; sink on /dev/log (pid $SINK_PID)"
}

# free_port - a TCP port nobody listens on.
free_port() {
	while :; do
		p=$(shuf -i 20000-32000 -n 1)
		ss -ltn "sport = :$p" | grep -q LISTEN || { echo "$p"; return; }
	done
}

# sock NAME - the milter socket spec for NAME.
sock() {
	if [ "$BENCH_SOCKET" = inet ]; then
		echo "inet:$(free_port)@127.0.0.1"
	else
		echo "unix:$work/sock/$1.sock"
	fi
}

# wait_sock SPEC PID [OPTION...] - until the milter at SPEC accepts a
# session (milter_load OPTIONs added).
wait_sock() {
	ws_spec=$1
	ws_pid=$2
	shift 2
	i=0
	while [ $i -lt $START_TENTHS ]; do
		kill -0 "$ws_pid" 2>/dev/null || return 1
		"$load" -c 1 -t 1 -e a "$@" "$ws_spec" >/dev/null 2>&1 &&
		    return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

load=$(tool milter_load)
null=$(tool null_milter)
nsd_start "$top/tests/zones" 2>/dev/null
if [ -n "${BENCH_REPLICA:-}" ]; then
	rows=$build/tests/replica-rows
	[ -x "$rows" ] || { echo "no $rows; make tests/replica-rows" >&2; exit 1; }
	unset PGPASSWORD PGPASSFILE PGSERVICE
	# shellcheck source=../tests/integration/pg-harness.sh
	. "$top/tests/integration/pg-harness.sh"
	pg_find
	pg_start >/dev/null
fi
trap 'cleanup' EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

mkdir -p "$work/sock" "$work/state"
chown nobody:nogroup "$work/sock"
AR_SOCK=$(sock authready)
FROM_SOCK=$(sock from)
MET_SOCK=$(sock metrics)
MET_PORT=$(free_port)
NULL_SOCK=$(sock null)
cat >"$work/authready.conf" <<EOF
DNSServers 127.0.0.1:$NSD_PORT
StateDir $work/state
Socket $AR_SOCK
UserID nobody:nogroup
Syslog $([ "$BENCH_SYSLOG" = stderr ] && echo no || echo yes)
SyslogFacility mail
FromCheck off
EOF
sed -e "s|^Socket .*|Socket $FROM_SOCK|" \
    -e 's|^FromCheck .*|FromCheck enforce|' "$work/authready.conf" \
    >"$work/from.conf"
sed -e "s|^Socket .*|Socket $MET_SOCK|" "$work/authready.conf" \
    >"$work/metrics.conf"
# BENCH_METRICS=off: the control, the same daemon twice (no scrape)
[ "${BENCH_METRICS:-on}" = off ] ||
    echo "MetricsListen 127.0.0.1:$MET_PORT" >>"$work/metrics.conf"
"$authready" -c "$work/authready.conf" domain add example.com \
    --selector 1234rpr --key "$top/tests/keys/rsa2048.pem" >/dev/null
"$authready" -c "$work/authready.conf" refresh example.com >/dev/null
"$authready" -c "$work/authready.conf" status example.com |
    grep -q verified || {
	echo "example.com is not verified:" >&2
	"$authready" -c "$work/authready.conf" status example.com >&2
	exit 1
}
chown -R nobody:nogroup "$work/state"
syslog_sink

# replica_setup - the fleet of BENCH_REPLICA: schema, example.com
# verified in PostgreSQL, 1000 more domains for the writer; the replica
# daemon, its writer.
replica_setup() {
	mkdir -p "$work/admin" "$work/rstate"
	{
		echo "StateDir $work/admin"
		echo "DNSServers 127.0.0.1:$NSD_PORT"
		echo "StoreDSN $PG_DSN"
		echo "StoreDSNPasswordFile $PG_PASSWORD_FILE"
	} >"$work/admin.conf"
	"$authready" -c "$work/admin.conf" db init >/dev/null
	pg_psql "SET ROLE authready_admin;
	    $("$authready" -c "$work/admin.conf" db grants)" >/dev/null
	"$authready" -c "$work/admin.conf" domain add example.com \
	    --selector 1234rpr --key "$top/tests/keys/rsa2048.pem" >/dev/null
	"$authready" -c "$work/admin.conf" refresh example.com >/dev/null \
	    2>"$work/admin.err"
	"$rows" copy w 1000 1 | pg_psql "COPY authready_registry FROM STDIN"
	"$rows" copy-state w 1000 1 | pg_psql "COPY authready_state FROM STDIN"
	# their rows in authready_checks, as a registration inserts them
	pg_psql "INSERT INTO authready_checks (domain) SELECT domain
	    FROM authready_registry WHERE domain LIKE 'w%.example'" >/dev/null
	cp "$PG_PASSWORD_FILE_REPLICA" "$work/replica.password"
	chown nobody "$work/replica.password"
	chmod 0600 "$work/replica.password"
	chown nobody:nogroup "$work/rstate"
	REP_SOCK=$(sock replica)
	sed -e "s|^Socket .*|Socket $REP_SOCK|" \
	    -e "s|^StateDir .*|StateDir $work/rstate|" \
	    "$work/authready.conf" >"$work/replica.conf"
	{
		echo "StoreDSN $PG_DSN_REPLICA"
		echo "StoreDSNPasswordFile $work/replica.password"
		echo "HostName bench-replica"
	} >>"$work/replica.conf"
	"$milter" -f -c "$work/replica.conf" 2>"$work/replica.err" &
	REP_PID=$!
	# accepted once the snapshot brought example.com's verified state
	if ! wait_sock "$REP_SOCK" "$REP_PID"; then
		echo "the replica daemon does not accept $BENCH_SENDER:" >&2
		cat "$work/replica.err" >&2
		exit 1
	fi
	CLOCK0=$(pg_psql "SELECT version FROM authready_clock")
	WRITER_T0=$(date +%s%3N)
	PGAPPNAME=bench-writer "$PSQL" -X -q -h "$PG_DIR" -p "$PG_PORT" \
	    -U postgres -d authready -c "DO \$\$
	DECLARE v bigint; i bigint := 0;
	BEGIN
		LOOP
			UPDATE authready_clock SET version = version + 1
			    WHERE id = 1 RETURNING version INTO v;
			UPDATE authready_state SET version = v WHERE domain IN
			    (SELECT 'w' || ((i * ${WRITER_ROWS:-10} + g) % 1000)
			    || '.example' FROM generate_series(0,
			    ${WRITER_ROWS:-10} - 1) g);
			UPDATE authready_registry SET version = v
			    WHERE domain = 'w' || (i % 1000) || '.example';
			PERFORM pg_notify('authready_changes', v::text);
			COMMIT;
			i := i + 1;
			PERFORM pg_sleep(${WRITER_MS:-10} / 1000.0);
		END LOOP;
	END \$\$" >/dev/null 2>"$work/writer.err" &
	WRITER_PID=$!
	REP_T0=$(date +%s%3N)
	REP_TICKS0=$(thread_ticks "$REP_PID" ar-replica)
}

# thread_ticks PID NAME - user + system ticks of PID's thread NAME so far
# (the daemon names its threads: ar-replica, ar-checker, ...); 0 if none.
thread_ticks() {
	for f in /proc/"$1"/task/*/comm; do
		[ "$(cat "$f" 2>/dev/null)" = "$2" ] || continue
		sed 's/.*) //' "${f%/comm}/stat" | awk '{ print $12 + $13 }'
		return
	done
	echo 0
}

# replica_report - what the writer committed and the replica applied.
replica_report() {
	set -- $(pg_psql "SELECT (SELECT version FROM authready_clock) || ' ' ||
	    position FROM authready_replicas")
	ms=$(($(date +%s%3N) - WRITER_T0))
	rep_ms=$(($(date +%s%3N) - REP_T0))
	rep_ticks=$(($(thread_ticks "$REP_PID" ar-replica) - REP_TICKS0))
	awk -v c=$(($1 - CLOCK0)) -v ms="$ms" -v rows="${WRITER_ROWS:-10}" \
	    -v pos="$2" -v clock="$1" 'BEGIN {
	    printf "writer: %d commits in %.1f s (%.0f/s, %.0f rows/s); the" \
		" replica at position %d of %d\n", c, ms / 1000, c * 1000 / ms,
		c * (rows + 1) * 1000 / ms, pos, clock }'
	# The replica's whole cost is its thread's CPU (the decisions read
	# LMDB as authready's do): its share of the machine bounds what it
	# can take from a CPU-bound decision rate, free of the rounds' noise.
	awk -v t="$rep_ticks" -v hz="$HZ" -v ms="$rep_ms" -v n="$(nproc)" \
	    -v c=$(($1 - CLOCK0)) -v wms="$ms" 'BEGIN {
	    cpu = t * 1000 / hz; share = cpu / ms;
	    per = 0; if (c > 0) per = cpu * 1000 / (c * ms / wms);
	    printf "replica thread (ar-replica): %.0f ms of CPU in %.1f s:" \
		" %.2f %% of one CPU, %.2f %% of the %d CPUs; %.0f us" \
		" a commit applied (bound on replica/ar: >= %.4f)\n", cpu,
		ms / 1000, share * 100, share * 100 / n, n,
		per, 1 - share / n }'
	pg_psql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	    WHERE application_name = 'bench-writer'" >/dev/null
	stop_pid "$WRITER_PID"
	WRITER_PID=
}

"$milter" -f -c "$work/authready.conf" 2>"$work/milter.err" &
AR_PID=$!
"$null" "$NULL_SOCK" 2>"$work/null.err" &
NULL_PID=$!
if ! wait_sock "$AR_SOCK" "$AR_PID"; then
	echo "authready-milter does not accept $BENCH_SENDER:" >&2
	cat "$work/milter.err" >&2
	"$load" -c 1 -t 1 -e a -s "$BENCH_SENDER" "$AR_SOCK" >&2 || true
	exit 1
fi
wait_sock "$NULL_SOCK" "$NULL_PID" || { cat "$work/null.err"; exit 1; }
"$milter" -f -c "$work/metrics.conf" 2>"$work/metrics.err" &
MET_PID=$!
if ! wait_sock "$MET_SOCK" "$MET_PID"; then
	echo "authready-milter (metrics) does not start:" >&2
	cat "$work/metrics.err" >&2
	exit 1
fi
"$milter" -f -c "$work/from.conf" 2>"$work/from.err" &
FROM_PID=$!
if ! wait_sock "$FROM_SOCK" "$FROM_PID" -f "$BENCH_FROM"; then
	echo "authready-milter (FromCheck) does not accept $BENCH_FROM:" >&2
	cat "$work/from.err" >&2
	exit 1
fi
[ -z "${BENCH_REPLICA:-}" ] || replica_setup

# machine_ticks - CPU ticks the whole machine spent busy so far.
machine_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# pid_ticks PID - user + system ticks of one process so far (0 if none).
pid_ticks() {
	if [ -z "$1" ] || [ ! -r "/proc/$1/stat" ]; then echo 0; return; fi
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# round NAME SPEC CONNS PID [OPTION...] - one measurement (milter_load
# OPTIONs added); its rate on stdout, and the CPU it cost per decision
# (machine, the milter PID, the sink) in microseconds appended to
# $work/NAME.cpu.
round() {
	rd_name=$1
	rd_spec=$2
	rd_conns=$3
	rd_pid=$4
	shift 4
	m0=$(machine_ticks)
	p0=$(pid_ticks "$rd_pid")
	s0=$(pid_ticks "$SINK_PID")
	# the metrics daemon is scraped once, mid-round
	[ "$rd_name" != metrics ] || [ "${BENCH_METRICS:-on}" = off ] ||
	    (sleep "$(awk -v s="$SECONDS_PER_ROUND" 'BEGIN { print s / 2 }')"
	    curl -s -o "$work/scrape" "http://127.0.0.1:$MET_PORT/metrics") \
		>/dev/null 2>&1 &
	"$load" -c "$rd_conns" -t "$SECONDS_PER_ROUND" -m "$PER_SESSION" \
	    -e a -s "$BENCH_SENDER" "$@" "$rd_spec" \
	    >"$work/round.out" 2>"$work/round.err" || {
		echo "$rd_name round failed:" >&2
		cat "$work/round.out" "$work/round.err" >&2
		exit 1
	}
	m1=$(machine_ticks)
	p1=$(pid_ticks "$rd_pid")
	s1=$(pid_ticks "$SINK_PID")
	d=$(sed -n 's/.* decisions=\([0-9]*\) .*/\1/p' "$work/round.out")
	awk -v d="$d" -v m=$((m1 - m0)) -v p=$((p1 - p0)) -v s=$((s1 - s0)) \
	    -v hz="$HZ" 'BEGIN { if (d > 0) printf "%.1f %.1f %.1f\n",
		m * 1e6 / hz / d, p * 1e6 / hz / d, s * 1e6 / hz / d }' \
	    >>"$work/$rd_name.cpu"
	sed -n 's/.* rate=\([0-9.]*\) .*/\1/p' "$work/round.out"
}

# cpu_medians NAME - "machine milter sink" medians of NAME's rounds.
cpu_medians() {
	for f in 1 2 3; do
		awk -v f=$f '{ print $f }' "$work/$1.cpu" | median
	done | tr '\n' ' '
}

# median - the median of the numbers on stdin.
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)  cpus: $(nproc)"
echo "socket: $BENCH_SOCKET  sender: $BENCH_SENDER  from: $BENCH_FROM"
echo "rounds: $ROUNDS x" \
    "${SECONDS_PER_ROUND}s each  decisions per session:" \
    "$([ "$PER_SESSION" -gt 0 ] && echo "$PER_SESSION" || echo "no limit")"
printf '%-6s %12s %12s %8s %8s %-12s %12s %8s %12s %8s %-12s\n' conns \
    null/s authready/s ratio med-rr target from/s from/ar metrics/s \
    met/ar met-target
for c in $CONNS; do
	: >"$work/null.r"
	: >"$work/ar.r"
	: >"$work/ratio.r"
	: >"$work/from.r"
	: >"$work/fratio.r"
	: >"$work/met.r"
	: >"$work/mratio.r"
	: >"$work/metrics.cpu"
	: >"$work/null.cpu"
	: >"$work/authready.cpu"
	: >"$work/from.cpu"
	: >"$work/rep.r"
	: >"$work/rratio.r"
	: >"$work/replica.cpu"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		n=$(round null "$NULL_SOCK" "$c" "$NULL_PID")
		if [ -n "${BENCH_REPLICA:-}" ]; then
			# authready between its two comparisons, the
			# replica and the control (metrics), on either
			# side by turns: each pair is neighbours, and
			# neither is always first or last
			if [ $((r % 2)) -eq 0 ]; then
				m=$(round metrics "$MET_SOCK" "$c" "$MET_PID")
				a=$(round authready "$AR_SOCK" "$c" "$AR_PID")
				p=$(round replica "$REP_SOCK" "$c" "$REP_PID")
			else
				p=$(round replica "$REP_SOCK" "$c" "$REP_PID")
				a=$(round authready "$AR_SOCK" "$c" "$AR_PID")
				m=$(round metrics "$MET_SOCK" "$c" "$MET_PID")
			fi
		elif [ $((r % 2)) -eq 0 ]; then
			a=$(round authready "$AR_SOCK" "$c" "$AR_PID")
			m=$(round metrics "$MET_SOCK" "$c" "$MET_PID")
		else
			m=$(round metrics "$MET_SOCK" "$c" "$MET_PID")
			a=$(round authready "$AR_SOCK" "$c" "$AR_PID")
		fi
		echo "$m" >>"$work/met.r"
		awk -v a="$a" -v m="$m" 'BEGIN { printf "%.4f\n", m / a }' \
		    >>"$work/mratio.r"
		f=$(round from "$FROM_SOCK" "$c" "$FROM_PID" -f "$BENCH_FROM")
		if [ -n "${BENCH_REPLICA:-}" ]; then
			echo "$p" >>"$work/rep.r"
			awk -v a="$a" -v p="$p" 'BEGIN { printf "%.4f\n",
			    p / a }' >>"$work/rratio.r"
			echo "  round $((r + 1)) conns=$c replica=$p" >&2
		fi
		echo "$n" >>"$work/null.r"
		echo "$a" >>"$work/ar.r"
		echo "$f" >>"$work/from.r"
		awk -v a="$a" -v n="$n" 'BEGIN { printf "%.4f\n", a / n }' \
		    >>"$work/ratio.r"
		awk -v a="$a" -v f="$f" 'BEGIN { printf "%.4f\n", f / a }' \
		    >>"$work/fratio.r"
		echo "  round $((r + 1)) conns=$c null=$n authready=$a" \
		    "metrics=$m from=$f" >&2
		r=$((r + 1))
	done
	mn=$(median <"$work/null.r")
	ma=$(median <"$work/ar.r")
	mr=$(median <"$work/ratio.r")
	mf=$(median <"$work/from.r")
	mfr=$(median <"$work/fratio.r")
	mm=$(median <"$work/met.r")
	mmr=$(median <"$work/mratio.r")
	awk -v c="$c" -v n="$mn" -v a="$ma" -v rr="$mr" -v t="$TARGET" \
	    -v f="$mf" -v fr="$mfr" -v m="$mm" -v mr="$mmr" -v mt="$MET_TARGET" \
	    'BEGIN { r = a / n; printf "%-6s %12.0f %12.0f %8.3f %8.3f %-12s %12.0f %8.3f %12.0f %8.3f %-12s\n",
		c, n, a, r, rr, (r >= t ? ">= " t " met" : "< " t " MISSED"),
		f, fr, m, mr, (mr >= mt ? ">= " mt " met" : "< " mt " MISSED") }'
	# shellcheck disable=SC2046 # three numbers
	printf '       CPU us/decision (median): %-9s machine %6.1f  milter %5.1f  sink %5.1f\n' \
	    null $(cpu_medians null) authready $(cpu_medians authready) \
	    metrics $(cpu_medians metrics) from $(cpu_medians from)
	if [ -n "${BENCH_REPLICA:-}" ]; then
		# shellcheck disable=SC2046 # three numbers
		awk -v p="$(median <"$work/rep.r")" -v a="$ma" \
		    -v rr="$(median <"$work/rratio.r")" 'BEGIN {
		    printf "       replica: %.0f/s, replica/ar %.3f, median" \
			" of rounds %.3f (target >= 0.98 %s)\n", p, p / a, rr,
			(rr >= 0.98 ? "met" : "MISSED") }'
		# shellcheck disable=SC2046
		printf '       CPU us/decision (median): replica   machine %6.1f  milter %5.1f  sink %5.1f\n' \
		    $(cpu_medians replica)
	fi
done
[ -z "${BENCH_REPLICA:-}" ] || replica_report
# An extra authready round under perf, after the measured ones.
if [ -n "${BENCH_PERF:-}" ]; then
	perf record -g -o "$BENCH_PERF.data" -p "$AR_PID" -- \
	    sleep "$SECONDS_PER_ROUND" >"$work/perf.err" 2>&1 &
	PERF_PID=$!
	round perf "$AR_SOCK" "$c" "$AR_PID" >/dev/null
	wait "$PERF_PID" || cat "$work/perf.err" >&2
	perf report -i "$BENCH_PERF.data" --children --percent-limit 0.5 \
	    --stdio >"$BENCH_PERF" 2>/dev/null || true
	echo "perf report (conns=$c): $BENCH_PERF"
	# and one FromCheck round: what end of headers adds
	perf record -g -o "$BENCH_PERF.from.data" -p "$FROM_PID" -- \
	    sleep "$SECONDS_PER_ROUND" >"$work/perf.err" 2>&1 &
	PERF_PID=$!
	round perf "$FROM_SOCK" "$c" "$FROM_PID" -f "$BENCH_FROM" >/dev/null
	wait "$PERF_PID" || cat "$work/perf.err" >&2
	perf report -i "$BENCH_PERF.from.data" --children --percent-limit 0.5 \
	    --stdio >"$BENCH_PERF.from" 2>/dev/null || true
	echo "perf report, FromCheck (conns=$c): $BENCH_PERF.from"
fi
# The metrics daemon's own count of its decisions (every round's).
: >"$work/scrape"
curl -s -o "$work/scrape" "http://127.0.0.1:$MET_PORT/metrics" || true
echo "metrics daemon: $(awk 'index($1, "authready_decisions_total{") == 1 {
    n += $2 } END { print n + 0 }' "$work/scrape") decisions counted"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$SINK_PID" ]; then
	stop_pid "$SINK_PID"
	SINK_PID=
	rm -f /dev/log
	echo "syslog lines received by the sink: $(cat "$work/sink.count")"
fi
