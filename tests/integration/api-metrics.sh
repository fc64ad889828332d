#!/bin/sh
# api-metrics.sh - authready-api's APIMetricsListen: /metrics and /healthz
# scraped with curl after requests of every kind.
#
# SYNOPSIS
#	make check TESTS=tests/integration/api-metrics.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/api-metrics.sh
#
# DESCRIPTION
#	Starts authready-api on a random loopback port with APIMetricsListen
#	on another, and sends a known set of requests with curl: lists
#	(200, and 401 without a token), a domain registered (201) and again
#	(409), read (200, and 404 for one not registered), refreshed (202)
#	and removed (204), a path that is no route (404) and a method that is
#	not allowed (405).  Then /metrics is scraped: every
#	authready_api_requests_total{route,status} series equals the number
#	of requests of that route and status sent, their sum equals the
#	event=api-request lines the daemon logged, each route's
#	authready_api_request_duration_seconds_count equals its requests,
#	authready_api_registered_domains counts the registry, and the text
#	parses (every sample line a name, optional labels and a number, each
#	family with # HELP and # TYPE).  /healthz is 200, and 503 naming the
#	store while data.mdb is moved away (200 again once it is back).  On
#	the metrics listener an unknown path is 404 and POST is 405; no
#	token is asked.
#
#	Start-up: APIMetricsListen on APIListen's own port is refused by -n
#	(78), one beyond loopback is accepted with a warning, a name is
#	refused, and a port another daemon holds fails the start (78, the
#	port named).  SIGTERM stops the daemon (0).
#
#	The cases depend on each other and run in order (lib.sh).
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 curl is missing, 99 the
#	harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir (from make check); AUTHREADY_API overrides
#	the binary; TIME_SCALE.

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY_API=${AUTHREADY_API:-$top_builddir/authready-api}

. "$top_srcdir/tests/integration/lib.sh"

DUSER=nobody
DGROUP=nogroup
getent group "$DGROUP" >/dev/null 2>&1 || DGROUP=nobody
RTOK=read-token-0123456789abcdef
WTOK=write-token-0123456789abcdef
START_WAIT_TENTHS=$(scaled 100)
PORT_TRIES=20

[ -x "$AUTHREADY_API" ] || lib_die "$AUTHREADY_API not built"
if ! command -v curl >/dev/null 2>&1; then
	echo "SKIP: curl not found"
	exit 77
fi
if [ "$(id -u)" -eq 0 ] && ! getent passwd "$DUSER" >/dev/null 2>&1; then
	echo "SKIP: running as root needs the user $DUSER"
	exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-apimetrics.XXXXXX") || exit 99
chmod 755 "$T"
at_exit 'rm -rf "$T"'
at_exit 'stop_all'
LIB_OUT=$T/out LIB_ERR=$T/err
mkdir "$T/state" "$T/run" || exit 99
[ "$(id -u)" -eq 0 ] && chown "$DUSER:$DGROUP" "$T/state" "$T/run"
chmod 750 "$T/state"
printf '# the test tokens\n%s read\n%s write\n' "$RTOK" "$WTOK" >"$T/tokens"
chmod 600 "$T/tokens"

# stop_all - every daemon this script started.
stop_all() {
	for f in "$T"/run/*.dpid; do
		[ -f "$f" ] && stop_pid "$(cat "$f")"
	done
	return 0
}

# mkconf NAME PORT MPORT [LINE...] - $T/NAME.conf: APIListen on PORT,
# APIMetricsListen on MPORT.
mkconf() {
	name=$1 port=$2 mport=$3
	shift 3
	{
		echo "StateDir $T/state"
		echo "APIListen 127.0.0.1:$port"
		echo "APIMetricsListen 127.0.0.1:$mport"
		echo "APITokenFile $T/tokens"
		echo "Syslog no"
		echo "DNSServers 127.0.0.1:9"
		echo "DNSTimeout 0.2"
		[ "$(id -u)" -eq 0 ] && echo "APIUserID $DUSER:$DGROUP"
		for line in "$@"; do
			echo "$line"
		done
	} >"$T/$name.conf"
	chmod 644 "$T/$name.conf"
}

# rport - a random port number (20000-31999: below the ephemeral ports).
rport() {
	echo $((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
}

# api_start NAME - start a daemon on two free ports (tried again while
# one is taken); sets PORT and MPORT; 0 once it serves.
api_start() {
	name=$1
	tries=0
	while [ $tries -lt $PORT_TRIES ]; do
		tries=$((tries + 1))
		PORT=$(rport)
		MPORT=$(rport)
		[ "$PORT" = "$MPORT" ] && continue
		mkconf "$name" "$PORT" "$MPORT"
		"$AUTHREADY_API" -c "$T/$name.conf" -f </dev/null \
		    >"$T/$name.stdout" 2>"$T/$name.log" &
		echo $! >"$T/run/$name.dpid"
		i=0
		while [ $i -lt "$START_WAIT_TENTHS" ]; do
			grep -q 'event=start ' "$T/$name.log" 2>/dev/null && return 0
			kill -0 "$(cat "$T/run/$name.dpid")" 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		wait "$(cat "$T/run/$name.dpid")" 2>/dev/null
		rm -f "$T/run/$name.dpid"
		grep -q 'Address already in use' "$T/$name.log" || return 1
	done
	return 1
}

# req METHOD PATH TOKEN [CURL ARGS...] - one request to the API; sets
# status, the body in $T/body.
req() {
	m=$1 p=$2 tok=$3
	shift 3
	last_cmd="curl -X $m $URL$p"
	if [ -n "$tok" ]; then
		set -- -H "Authorization: Bearer $tok" "$@"
	fi
	status=$(curl -sS -o "$T/body" -w '%{http_code}' \
	    --max-time "$(scaled 20)" -X "$m" "$@" "$URL$p" 2>"$LIB_ERR")
	rc=$?
}

# sent ROUTE STATUS METHOD PATH TOKEN [CURL ARGS...] - a request that must
# get STATUS; counted in $T/sent as "ROUTE STATUS".
sent() {
	route=$1 want=$2
	shift 2
	req "$@"
	echo "$route $want" >>"$T/sent"
	[ "$status" = "$want" ] || echo "$* : HTTP $status, expected $want" \
	    >>"$T/wrong"
}

# mget PATH [CURL ARGS...] - GET PATH on the metrics listener; the body in
# $T/scrape, the status in code.
mget() {
	p=$1
	shift
	last_cmd="curl $* $MURL$p"
	code=$(curl -s -o "$T/scrape" -w '%{http_code}' \
	    --max-time "$(scaled 10)" "$@" "$MURL$p" 2>"$LIB_ERR")
	rc=$?
}

# sample SERIES - its value in the last scrape ("" when absent).
sample() {
	awk -v s="$1" '$1 == s { print $2; exit }' "$T/scrape"
}

# Start-up -------------------------------------------------------------------

case_ n-refuses-metrics-on-apilisten
mkconf same 28125 28125
"$AUTHREADY_API" -c "$T/same.conf" -n >"$LIB_OUT" 2>"$LIB_ERR"
rc=$?
last_cmd="authready-api -n (APIMetricsListen = APIListen)"
if [ $rc -eq 78 ] && grep -q "APIListen's address and port" "$LIB_ERR"; then
	ok
else
	ko "exit $rc"
fi

case_ n-warns-wide-metrics
mkconf wide 28125 28126
sed -i 's/^APIMetricsListen .*/APIMetricsListen 0.0.0.0:28126/' \
    "$T/wide.conf"
"$AUTHREADY_API" -c "$T/wide.conf" -n >"$LIB_OUT" 2>"$LIB_ERR"
rc=$?
last_cmd="authready-api -n (APIMetricsListen 0.0.0.0:28126)"
if [ $rc -eq 0 ] && grep -q 'configuration OK' "$LIB_OUT" &&
    grep -q 'APIMetricsListen is not a loopback address' "$LIB_ERR"; then
	ok
else
	ko "exit $rc"
fi

case_ n-refuses-a-name
mkconf name 28125 28126
sed -i 's/^APIMetricsListen .*/APIMetricsListen localhost:28126/' \
    "$T/name.conf"
"$AUTHREADY_API" -c "$T/name.conf" -n >"$LIB_OUT" 2>"$LIB_ERR"
rc=$?
last_cmd="authready-api -n (APIMetricsListen localhost:28126)"
if [ $rc -eq 78 ] && grep -q 'APIMetricsListen' "$LIB_ERR"; then
	ok
else
	ko "exit $rc"
fi

case_ start
if api_start main; then
	URL=http://127.0.0.1:$PORT
	MURL=http://127.0.0.1:$MPORT
	ok "API port $PORT, metrics port $MPORT"
else
	ko "did not start" && evidence "$T/main.log"
	finish
fi

case_ busy-metrics-port-refused-at-start
p2=$PORT
while [ "$p2" = "$PORT" ] || [ "$p2" = "$MPORT" ]; do
	p2=$(rport)
done
mkconf busy "$p2" "$MPORT"
timeout "$(scaled 30)" "$AUTHREADY_API" -c "$T/busy.conf" -f </dev/null \
    >"$LIB_OUT" 2>"$LIB_ERR"
rc=$?
last_cmd="authready-api -f (APIMetricsListen on the main daemon's port)"
if [ $rc -eq 78 ] &&
    grep -q "APIMetricsListen 127.0.0.1:$MPORT: Address already in use" \
        "$LIB_ERR"; then
	ok
else
	ko "exit $rc"
fi

case_ healthz-ok
mget /healthz
if [ "$code" = 200 ] && grep -q '^ok$' "$T/scrape"; then
	ok
else
	ko "HTTP $code"
fi

case_ metrics-before-requests
mget /metrics
if [ "$code" != 200 ]; then
	ko "HTTP $code"
elif [ "$(sample 'authready_api_build_info{version="'"$(sed -n \
    's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' \
    "$top_builddir/ac-config.h")"'"}')" != 1 ]; then
	ko "no authready_api_build_info of this version"
elif grep -q '^authready_api_requests_total{' "$T/scrape" &&
    [ "$(awk '/^authready_api_requests_total\{/ { n += $2 }
        END { print n + 0 }' "$T/scrape")" != 0 ]; then
	ko "requests counted before any was sent"
elif [ "$(sample authready_api_registered_domains)" != 0 ]; then
	ko "authready_api_registered_domains" \
	    "'$(sample authready_api_registered_domains)', expected 0"
else
	ok
fi

case_ requests-sent
: >"$T/sent"
: >"$T/wrong"
for i in 1 2 3; do
	sent list 200 GET /v1/domains "$RTOK"
done
sent list 401 GET /v1/domains ""
printf '{"domain": "m.api.test", "selectors": ["s1"]}' >"$T/add.json"
sent add 201 POST /v1/domains "$WTOK" -H 'Content-Type: application/json' \
    --data-binary "@$T/add.json"
sent add 409 POST /v1/domains "$WTOK" -H 'Content-Type: application/json' \
    --data-binary "@$T/add.json"
printf '{"domain": "n.api.test", "selectors": ["s1"]}' >"$T/add2.json"
sent add 201 POST /v1/domains "$WTOK" -H 'Content-Type: application/json' \
    --data-binary "@$T/add2.json"
sent get 200 GET /v1/domains/m.api.test "$RTOK"
sent get 200 GET /v1/domains/m.api.test "$RTOK"
sent get 404 GET /v1/domains/nosuch.api.test "$RTOK"
sent records 200 GET /v1/domains/m.api.test/records "$RTOK"
sent refresh 202 POST /v1/domains/m.api.test/refresh "$WTOK"
sent delete 204 DELETE /v1/domains/m.api.test "$WTOK"
sent none 404 GET /v1/nothing-here "$RTOK"
sent none 405 PUT /v1/domains "$WTOK"
if [ -s "$T/wrong" ]; then
	cp "$T/wrong" "$LIB_ERR"
	ko "a request got another status than expected"
else
	ok "$(wc -l <"$T/sent") requests"
fi

# The requests are counted as each ends, its log line with it; wait for
# the lines (the log is written from a thread of its own).
case_ requests-counted-by-route-and-status
nsent=$(wc -l <"$T/sent")
i=0
while [ "$(grep -c 'event=api-request ' "$T/main.log")" -lt "$nsent" ] &&
    [ $i -lt "$START_WAIT_TENTHS" ]; do
	sleep 0.1
	i=$((i + 1))
done
mget /metrics
sort "$T/sent" | uniq -c >"$T/want"
bad=
while read -r n route st; do
	got=$(sample "authready_api_requests_total{route=\"$route\",status=\"$st\"}")
	[ "$got" = "$n" ] || bad="$bad $route/$st:${got:-absent}!=$n"
done <"$T/want"
total=$(awk '/^authready_api_requests_total\{/ { n += $2 }
    END { print n + 0 }' "$T/scrape")
logged=$(grep -c 'event=api-request ' "$T/main.log")
if [ "$code" != 200 ]; then
	ko "HTTP $code"
elif [ -n "$bad" ]; then
	ko "series that differ from the requests sent:$bad"
elif [ "$total" != "$nsent" ] || [ "$logged" != "$nsent" ]; then
	ko "$total counted, $logged logged, $nsent sent"
else
	ok "$total requests in $(wc -l <"$T/want") series"
fi

case_ latency-histogram-per-route
bad=
for route in $(awk '{ print $2 }' "$T/want" | sort -u); do
	want=$(awk -v r="$route" '$2 == r { n += $1 } END { print n }' \
	    "$T/want")
	cnt=$(sample "authready_api_request_duration_seconds_count{route=\"$route\"}")
	inf=$(sample "authready_api_request_duration_seconds_bucket{route=\"$route\",le=\"+Inf\"}")
	[ "$cnt" = "$want" ] && [ "$inf" = "$want" ] ||
	    bad="$bad $route:${cnt:-absent}/${inf:-absent}!=$want"
done
if [ -n "$bad" ]; then
	ko "histogram counts that differ from the requests:$bad"
else
	ok
fi

case_ registered-domains-gauge
if [ "$(sample authready_api_registered_domains)" = 1 ]; then
	ok
else
	ko "authready_api_registered_domains" \
	    "'$(sample authready_api_registered_domains)', expected 1"
fi

case_ text-format-parses
bad=$(awk '
    /^# HELP / { help[$3] = 1; next }
    /^# TYPE / { type[$3] = $4; next }
    /^#/ { print "a comment line: " $0; next }
    {
	if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInfNa]+$/) {
		print "bad line: " $0
		next
	}
	name = $1
	sub(/\{.*/, "", name)
	base = name
	sub(/_(bucket|sum|count)$/, "", base)
	if (!(name in type) && !(base in type))
		print "no TYPE for " name
	if (!(name in help) && !(base in help))
		print "no HELP for " name
    }' "$T/scrape")
if [ -z "$bad" ]; then
	ok
else
	printf '%s\n' "$bad" | head -n 5 >"$LIB_ERR"
	ko "see stderr"
fi

case_ not-found-and-method
mget /v1/domains
c1=$code
mget /metrics -X POST
if [ "$c1" = 404 ] && [ "$code" = 405 ]; then
	ok
else
	ko "GET /v1/domains: $c1 (404), POST /metrics: $code (405)"
fi

case_ healthz-503-store-moved
mv "$T/state/data.mdb" "$T/state/data.mdb.away"
mget /healthz
c1=$code
cp "$T/scrape" "$T/why"
mv "$T/state/data.mdb.away" "$T/state/data.mdb"
mget /healthz
if [ "$c1" = 503 ] && grep -q 'data.mdb was removed or replaced' \
    "$T/why" && [ "$code" = 200 ]; then
	ok
else
	cp "$T/why" "$LIB_OUT"
	ko "moved away: $c1 (503), back: $code (200)"
fi

case_ stop
pid=$(cat "$T/run/main.dpid")
if stop_wait "$pid" "$(scaled 50)" && [ "$rc" -eq 0 ] &&
    grep -q 'event=stop' "$T/main.log"; then
	rm -f "$T/run/main.dpid"
	ok
else
	ko "exit ${rc:-?}" && evidence "$T/main.log"
fi

case_ no-crash
if grep -Eq 'AddressSanitizer|runtime error|Fatal|event=metrics-error' \
    "$T"/*.log; then
	ko "a sanitizer, fatal or metrics-error message" &&
	    evidence "$T/main.log"
else
	ok
fi

finish
