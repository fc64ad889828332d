#!/bin/sh
# bench_refresh.sh - bulk refresh throughput against dnsperf, one run.
#
# Serves N sender domains (default 100000) from NSD on loopback, registers
# them (domain import), then measures in the same run:
#   - dnsperf: the same DNS questions authready asks (MX and SPF TXT of the
#     MAIL FROM name, the DKIM key, the DMARC record), as fast as the
#     server answers, at 128, 512 and 1024 queries in flight (the best
#     rate of each round is its baseline);
#   - authready refresh --all: the same questions, plus parsing, the
#     evaluators, the state transitions and the LMDB writes.
# and prints both rates in queries per second and their ratio (target:
# authready at least 0.8 of dnsperf).
#
# usage: bench/bench_refresh.sh BUILDDIR [DOMAINS]
# ROUNDS (default 3): interleaved rounds of dnsperf and refresh.
# BENCH_PERF=FILE: one more refresh pass under perf record, report to FILE
# (BENCH_PERF_OPTS: perf record options, default -g).
# Needs nsd and dnsperf (installed from Debian when missing and root).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: bench_refresh.sh BUILDDIR [DOMAINS]}" && pwd)
ndomains=${2:-100000}
authready="$build/authready"
[ -x "$authready" ] || { echo "no $authready; build first" >&2; exit 1; }
if ! command -v dnsperf >/dev/null 2>&1; then
	[ "$(id -u)" -eq 0 ] || { echo "install dnsperf" >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends dnsperf >/dev/null
fi

work=$(mktemp -d)
zones="$work/zones"
mkdir -p "$zones"
key=$(cat "$top/tests/keys/rsa2048.p")
# One zone, four records per domain, the seed's shape.
awk -v n="$ndomains" -v key="$key" 'BEGIN {
	print "$ORIGIN bench.example.\n$TTL 3600"
	print "@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns\nns A 127.0.0.1"
	for (i = 0; i < n; i++) {
		d = sprintf("d%06d", i)
		printf "mail.%s MX 10 feedback.bench.example.\n", d
		printf "mail.%s TXT \"v=spf1 ip4:127.0.0.0/8 ~all\"\n", d
		printf "s1._domainkey.%s TXT \"v=DKIM1; k=rsa; p=%s\" \"%s\"\n", d,
		    substr(key, 1, 200), substr(key, 201)
		printf "_dmarc.%s TXT \"v=DMARC1; p=none;\"\n", d
	}
}' > "$zones/bench.example.zone"
awk -v n="$ndomains" 'BEGIN {
	print "domain,selectors"
	for (i = 0; i < n; i++)
		printf "d%06d.bench.example,s1\n", i
}' > "$work/domains.csv"
awk -v n="$ndomains" 'BEGIN {
	for (i = 0; i < n; i++) {
		d = sprintf("d%06d.bench.example", i)
		printf "mail.%s MX\nmail.%s TXT\ns1._domainkey.%s TXT\n_dmarc.%s TXT\n", d, d, d, d
	}
}' > "$work/queries"
queries=$((ndomains * 4))

# shellcheck source=../tests/integration/nsd-harness.sh
. "$top/tests/integration/nsd-harness.sh"
trap 'nsd_stop >/dev/null 2>&1 || true; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"' EXIT INT TERM
NSD_WAIT_TENTHS=600 nsd_start "$zones" >/dev/null 2>&1
printf 'DNSServers 127.0.0.1:%s\nDNSTimeout 5\nStateDir %s/state\n' \
    "$NSD_PORT" "$work" > "$work/authready.conf"
"$authready" -c "$work/authready.conf" domain import "$work/domains.csv" \
    >/dev/null

now_ms() { date +%s%3N; }

# dnsperf_pass Q - one dnsperf pass over the queries with Q in flight;
# prints "qps lost".
dnsperf_pass() {
	dnsperf -s 127.0.0.1 -p "$NSD_PORT" -d "$work/queries" -n 1 -c 1 \
	    -q "$1" -t 5 > "$work/dnsperf.out" 2>&1
	awk '/Queries per second/ { q = $4 } /Queries lost/ { l = $3 }
	    END { print q, l }' "$work/dnsperf.out"
}

# refresh_pass - one "refresh --all"; prints its rate in queries/s.
refresh_pass() {
	t0=$(now_ms)
	/usr/bin/time -f "cpu: user %U s, sys %S s, wall %e s" -a -o "$work/time.out" \
	    "$authready" -c "$work/authready.conf" refresh --all \
	    > "$work/refresh.out"
	t1=$(now_ms)
	tail -n 1 "$work/refresh.out" >&2
	tail -n 1 "$work/time.out" >&2
	awk -v q="$queries" -v ms="$((t1 - t0))" \
	    'BEGIN { printf "%.0f %d\n", q * 1000 / ms, ms }'
}

# median - the median of the numbers on stdin.
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ROUNDS=${ROUNDS:-3}
echo "domains: $ndomains, queries per pass: $queries, rounds: $ROUNDS"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)  cpus: $(nproc)"
# Interleaved rounds.  Each: dnsperf at 128, 512 and 1024 queries in
# flight (authready keeps RefreshConcurrency domains, 4 queries each, in
# flight: 512 by default), its best rate being the round's baseline; then
# "refresh --all".  Round 1's refresh takes every domain from unknown to
# verified (a state write each); later rounds are the steady state of a
# refresh (nothing changes).
: > "$work/steady.r"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	best=0
	for q in 128 512 1024; do
		set -- $(dnsperf_pass "$q")
		echo "round $r: dnsperf -q $q: $1 queries/s (lost $2)"
		best=$(awk -v a="$1" -v b="$best" \
		    'BEGIN { print (a > b) ? a : b }')
	done
	set -- $(refresh_pass)
	ratio=$(awk -v a="$1" -v b="$best" 'BEGIN { printf "%.4f", a / b }')
	echo "round $r: authready $1 queries/s ($ndomains domains in $2 ms)," \
	    "ratio to the round's best dnsperf $ratio"
	if [ "$r" -eq 1 ]; then
		first=$ratio
	else
		echo "$ratio" >> "$work/steady.r"
	fi
	r=$((r + 1))
done
if [ -n "${BENCH_PERF:-}" ]; then
	# One more pass under perf record -g: the report to FILE.
	perf record ${BENCH_PERF_OPTS:--g} -o "$BENCH_PERF.data" -- "$authready" \
	    -c "$work/authready.conf" refresh --all >/dev/null 2>&1
	perf report -i "$BENCH_PERF.data" --no-children --percent-limit 0.5 \
	    --stdio > "$BENCH_PERF" 2>/dev/null || true
	echo "perf report: $BENCH_PERF"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v r="$first" 'BEGIN {
	printf "ratio first refresh/dnsperf:    %.2f (target >= 0.80) %s\n",
	    r, (r >= 0.8) ? "MET" : "NOT MET" }'
if [ -s "$work/steady.r" ]; then
	awk -v r="$(median < "$work/steady.r")" 'BEGIN {
	printf "ratio steady refresh/dnsperf:   %.2f (median; target >= 0.80) %s\n",
	    r, (r >= 0.8) ? "MET" : "NOT MET" }'
fi
