#!/bin/sh
# bench_refresh.sh - bulk refresh throughput against dnsperf, one run.
#
# Serves N sender domains (default 100000) from NSD on loopback, registers
# them (domain import), then measures in the same run:
#   - dnsperf: the same DNS questions authready asks (MX and SPF TXT of the
#     MAIL FROM name, the DKIM key, the DMARC record), as fast as the
#     server answers, with as many queries in flight as authready keeps;
#   - authready refresh --all: the same questions, plus parsing, the
#     evaluators, the state transitions and the LMDB writes.
# and prints both rates in queries per second and their ratio (target:
# authready at least 0.8 of dnsperf).
#
# usage: bench/bench_refresh.sh BUILDDIR [DOMAINS]
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
trap 'nsd_stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT INT TERM
NSD_WAIT_TENTHS=600 nsd_start "$zones" >/dev/null 2>&1
printf 'DNSServers 127.0.0.1:%s\nDNSTimeout 5\nStateDir %s/state\n' \
    "$NSD_PORT" "$work" > "$work/authready.conf"
"$authready" -c "$work/authready.conf" domain import "$work/domains.csv" \
    >/dev/null

now_ms() { date +%s%3N; }

echo "domains: $ndomains, queries per pass: $queries"
dnsperf -s 127.0.0.1 -p "$NSD_PORT" -d "$work/queries" -n 1 -c 1 \
    -q 1024 -t 5 > "$work/dnsperf.out" 2>&1
perf_qps=$(awk '/Queries per second/ { print $4 }' "$work/dnsperf.out")
perf_lost=$(awk '/Queries lost/ { print $3 }' "$work/dnsperf.out")

t0=$(now_ms)
"$authready" -c "$work/authready.conf" refresh --all > "$work/refresh.out"
t1=$(now_ms)
elapsed_ms=$((t1 - t0))
ours_qps=$(awk -v q="$queries" -v ms="$elapsed_ms" \
    'BEGIN { printf "%.0f", q * 1000 / ms }')
tail -n 1 "$work/refresh.out"

echo "dnsperf:   $perf_qps queries/s (lost: $perf_lost)"
echo "authready: $ours_qps queries/s ($ndomains domains in $elapsed_ms ms)"
awk -v a="$ours_qps" -v b="$perf_qps" 'BEGIN {
	r = a / b
	printf "ratio authready/dnsperf: %.2f (target >= 0.80) %s\n", r,
	    (r >= 0.8) ? "MET" : "NOT MET"
}'
