#!/bin/sh
# bench_api.sh - GET /v1/domains/{domain} per second: authready-api
# against a plain libmicrohttpd handler answering a fixed body, in
# interleaved rounds of one run.
#
# SYNOPSIS
#	bench/bench_api.sh BUILDDIR
#
# DESCRIPTION
#	Registers example.com in a fresh state directory and checks it once
#	(DNS pointed at a closed port: a state with records to show), then
#	starts side by side, on loopback:
#	  - authready-api (APIUserID nobody when root), logging one line
#	    per request to syslog as in production: to the syslog daemon
#	    when /dev/log exists, else to bench/syslog_sink started on
#	    /dev/log for the run (what bench_milter.sh does; it counts and
#	    drops the lines) and removed after it;
#	  - bench/api_null: libmicrohttpd set up as authready-api sets it
#	    (a pool of 4 epoll threads, the same connection limit, timeout
#	    and memory per connection), every request answered 200 with the
#	    same headers and the same body octets: the API's own answer to
#	    the first request, saved and given to api_null, built once.
#	For each connection count of CONNS, ROUNDS times: null then api in
#	odd rounds, api then null in even ones, ROUND_SECONDS each
#	(bench/http_load: keep-alive connections, GET in a loop, every
#	answer must be 200 or the run stops).  The API's
#	requests carry a read token.  Prints per connection count the median
#	requests/s of each, the ratio of the medians and the median of the
#	per-round ratios (neighbouring rounds, less exposed to load changes)
#	against the goal api/null >= 0.7, and the load average; and the
#	median CPU time per request of each server (user and system, all its
#	threads, from /proc: the API's log writer included, the syslog
#	reader not), which moves less with the load than the rates.
#	With bench/syslog_sink, the datagram queue of /dev/log is the
#	kernel's net.unix.max_dgram_qlen, printed: 10 unless set (systemd
#	sets 512 on its hosts); at 10 the API's log writer waits for the
#	reader every 10 lines.
#
# ENVIRONMENT
#	CONNS (default "1 8"), ROUNDS (3), ROUND_SECONDS (3): the default run
#	takes about 40 s.  The full campaign: CONNS="1 8 64" ROUNDS=7
#	ROUND_SECONDS=5 (about 4 min).  AUTHREADY_API: another build's
#	daemon to measure (an older commit's, for a before and after).
#
# EXIT STATUS
#	0 measured, 1 a run failed, 64 usage.

set -u
LC_ALL=C
export LC_ALL

build=$(cd "${1:?usage: bench_api.sh BUILDDIR}" && pwd) || exit 64
src=$(cd "$(dirname "$0")/.." && pwd)
CONNS=${CONNS:-"1 8"}
ROUNDS=${ROUNDS:-3}
ROUND_SECONDS=${ROUND_SECONDS:-3}
TOKEN=bench-read-token-0123456789abcdef

make -s -C "$build" authready authready-api bench/api_null bench/http_load \
    bench/syslog_sink || exit 1
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-api.XXXXXX") || exit 1
chmod 755 "$T"
pids=""
sink_made=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    [ -n "$sink_made" ] && rm -f /dev/log; rm -rf "$T"' EXIT INT TERM
mkdir "$T/state"
as_user=""
if [ "$(id -u)" -eq 0 ]; then
	chown nobody "$T/state"
	as_user="setpriv --reuid nobody --regid nogroup --clear-groups --"
fi
printf '%s read\n' "$TOKEN" >"$T/tokens"
chmod 600 "$T/tokens"
port() { echo $((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000)); }
P_API=$(port)
P_NULL=$(port)
while [ "$P_NULL" = "$P_API" ]; do P_NULL=$(port); done
{
	echo "StateDir $T/state"
	echo "APIListen 127.0.0.1:$P_API"
	echo "APITokenFile $T/tokens"
	echo "Syslog yes"
	echo "DNSServers 127.0.0.1:9"
	echo "DNSTimeout 0.2"
	echo "CheckTimeout 1"
	[ "$(id -u)" -eq 0 ] && echo "APIUserID nobody:nogroup"
} >"$T/api.conf"
chmod 644 "$T/api.conf"
$as_user "$build/authready" -c "$T/api.conf" domain add example.com \
    --selector 1234rpr >/dev/null || exit 1
$as_user "$build/authready" -c "$T/api.conf" refresh example.com \
    >/dev/null 2>&1
qlen=$(cat /proc/sys/net/unix/max_dgram_qlen 2>/dev/null || echo unknown)

if [ ! -e /dev/log ]; then
	"$build/bench/syslog_sink" /dev/log "$T/sink.count" &
	pids="$pids $!"
	sink_made=1
	i=0
	while [ ! -S /dev/log ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
fi
"${AUTHREADY_API:-$build/authready-api}" -c "$T/api.conf" -f 2>"$T/api.log" &
pid_api=$!
pids="$pids $pid_api"
i=0
until curl -sf -H "Authorization: Bearer $TOKEN" -o "$T/body.json" \
    "http://127.0.0.1:$P_API/v1/domains/example.com"; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "bench_api: authready-api did not start" >&2
		cat "$T/api.log" >&2
		exit 1
	fi
	sleep 0.1
done
"$build/bench/api_null" "$P_NULL" "$T/body.json" >"$T/null.out" &
pid_null=$!
pids="$pids $pid_null"
i=0
until grep -q ready "$T/null.out"; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "bench_api: api_null did not start" >&2
		exit 1
	fi
	sleep 0.1
done
hz=$(getconf CLK_TCK)

# ticks PID - the CPU time (user and system, every thread) of PID so far.
ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# rate PID PORT PATH CONNS [HEADER] - one round: "requests/s cpu-us/request".
rate() {
	t0=$(ticks "$1")
	out=$("$build/bench/http_load" ${5:+-H "$5"} -c "$4" \
	    -t "$ROUND_SECONDS" "$2" "$3")
	t1=$(ticks "$1")
	echo "$out" | awk -v t0="$t0" -v t1="$t1" -v hz="$hz" \
	    '/ rate / && $2 > 0 {
		printf "%s %.2f\n", $6, (t1 - t0) * 1e6 / hz / $2 }'
}

# median - of the numbers on stdin.
median() {
	sort -g | awk '{ v[NR] = $1 } END {
	    if (NR % 2) print v[(NR + 1) / 2];
	    else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "bench_api: $ROUNDS rounds of ${ROUND_SECONDS}s, body $(wc -c <"$T/body.json") octets, max_dgram_qlen $qlen, load: $(uptime)"
status=0
for c in $CONNS; do
	: >"$T/null.$c" && : >"$T/api.$c" && : >"$T/ratio.$c"
	: >"$T/ncpu.$c" && : >"$T/acpu.$c"
	r=1
	while [ $r -le "$ROUNDS" ]; do
		# Alternate which goes first, so neither always follows
		# the other's leftovers.
		if [ $((r % 2)) -eq 1 ]; then
			n=$(rate "$pid_null" "$P_NULL" /v1/domains/example.com \
			    "$c")
		fi
		a=$(rate "$pid_api" "$P_API" /v1/domains/example.com "$c" \
		    "Authorization: Bearer $TOKEN")
		if [ $((r % 2)) -eq 0 ]; then
			n=$(rate "$pid_null" "$P_NULL" /v1/domains/example.com \
			    "$c")
		fi
		if [ -z "$n" ] || [ -z "$a" ]; then
			echo "bench_api: a round failed" >&2
			status=1
			break 2
		fi
		set -- $n $a
		echo "$1" >>"$T/null.$c"
		echo "$3" >>"$T/api.$c"
		echo "$2" >>"$T/ncpu.$c"
		echo "$4" >>"$T/acpu.$c"
		awk -v a="$3" -v n="$1" 'BEGIN { printf "%.4f\n", a / n }' \
		    >>"$T/ratio.$c"
		echo "  conns $c round $r: null $1/s ($2 us CPU)" \
		    "api $3/s ($4 us CPU)"
		r=$((r + 1))
	done
	mn=$(median <"$T/null.$c")
	ma=$(median <"$T/api.$c")
	mr=$(median <"$T/ratio.$c")
	cn=$(median <"$T/ncpu.$c")
	ca=$(median <"$T/acpu.$c")
	awk -v c="$c" -v n="$mn" -v a="$ma" -v r="$mr" -v cn="$cn" \
	    -v ca="$ca" 'BEGIN {
	    printf "conns %s: null %.0f/s, api %.0f/s: ratio of medians %.3f, " \
		"median of round ratios %.3f (goal >= 0.7); CPU per request " \
		"null %.2f us, api %.2f us\n", c, n, a, a / n, r, cn, ca }'
done
echo "load after: $(uptime)"
exit $status
