#!/bin/sh
# api.sh - authready-api(8) through curl: every route, bad input, limits.
#
# SYNOPSIS
#	make check TESTS=tests/integration/api.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/api.sh
#
# DESCRIPTION
#	Starts authready-api on a random loopback port with a token file of
#	a read and a write token, and drives it with curl the way an
#	operator's application does: POST /v1/domains registers (201, the
#	records to publish, the CLI then lists the domain: one store, one
#	path), a duplicate is 409; GET /v1/domains pages (limit, after,
#	next) and filters by state; GET /v1/domains/{domain} is `authready
#	status DOMAIN --json` and .../records is `authready records --json`,
#	field for field; POST .../refresh answers 202 and a `refresh --due`
#	(what a checker runs) then checks the domain it skipped before;
#	.../held and .../release; DELETE (204, then 404); POST
#	/v1/domains:import with CSV (bad lines listed, the rest
#	registered).
#
#	Refused input, each with its problem type: no token and a wrong one
#	(401), a read token writing (403), malformed JSON, a JSON array, an
#	unknown field, a field of the wrong type, invalid and over-long
#	domains in the body and in the path, a bad query, the wrong media
#	type (415), an oversized body by Content-Length and chunked (413),
#	header fields of 32 KiB (200) and one octet more (431 problem), a
#	header block past libmicrohttpd's memory (its own 431), unknown
#	routes (404) and methods (405,
#	with Allow).  A client that trickles its body past APIRequestTimeout
#	gets 408; one that stalls is closed while others are served; failed
#	tokens from one address get 429 (Retry-After) and do not slow
#	another address; past APIMaxConnections a request gets 503; 1,000
#	concurrent requests (four curl processes of 250 parallel transfers)
#	all get 200.  docs/openapi.json is the contract: every route it lists
#	answers with a status it documents, every other method on its paths
#	is 405, and paths it does not list are 404.  TLS (APITLSCertificate,
#	APITLSKey) with a certificate made here; SIGUSR1 reads new tokens;
#	-n refuses a token file others can read, a missing one, and a
#	certificate without its key (78); SIGTERM stops it (0).
#
#	The cases depend on each other and run in order (lib.sh).
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 curl or openssl is missing, 99
#	the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir (from make check); AUTHREADY and
#	AUTHREADY_API override the binaries.

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY=${AUTHREADY:-$top_builddir/authready}
AUTHREADY_API=${AUTHREADY_API:-$top_builddir/authready-api}
HELD_ADD=${HELD_ADD:-$top_builddir/tests/held-add}
JSONFLAT=$top_srcdir/tests/integration/jsonflat.awk
OPENAPI=$top_srcdir/docs/openapi.json
KEY=$top_srcdir/tests/keys/rsa2048.pem

. "$top_srcdir/tests/integration/lib.sh"

# Root runs the daemon as this user (APIUserID) and the CLI through setpriv.
DUSER=nobody
DGROUP=nogroup
getent group "$DGROUP" >/dev/null 2>&1 || DGROUP=nobody
RTOK=read-token-0123456789abcdef
WTOK=write-token-0123456789abcdef
START_WAIT_TENTHS=$(scaled 100)
PORT_TRIES=20
TIMEOUT_S=$(scaled 2) # APIRequestTimeout of the main daemon

for tool in curl openssl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool not found"
		exit 77
	fi
done
if [ "$(id -u)" -eq 0 ] && { ! command -v setpriv >/dev/null 2>&1 ||
    ! getent passwd "$DUSER" >/dev/null 2>&1; }; then
	echo "SKIP: running as root needs setpriv and the user $DUSER"
	exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-api.XXXXXX") || exit 99
chmod 755 "$T"
at_exit 'rm -rf "$T"'
at_exit 'stop_all'
LIB_OUT=$T/out LIB_ERR=$T/err
mkdir "$T/state" "$T/run" || exit 99
[ "$(id -u)" -eq 0 ] && chown "$DUSER:$DGROUP" "$T/state" "$T/run"
chmod 750 "$T/state"
CLI_AS=as_daemon_user
printf '# the test tokens\n%s read\n%s write\n' "$RTOK" "$WTOK" >"$T/tokens"
# ReleaseCommand: the queue IDs it is given (on stdin) go to a file.
printf '#!/bin/sh\ncat >>"%s/run/released"\n' "$T" >"$T/release"
chmod 755 "$T/release"
chmod 600 "$T/tokens"

# stop_all - every daemon this script started.
stop_all() {
	for f in "$T"/run/*.dpid; do
		[ -f "$f" ] && stop_pid "$(cat "$f")"
	done
	return 0
}

# mkconf NAME PORT [LINE...] - $T/NAME.conf for a daemon on PORT.
mkconf() {
	name=$1 port=$2
	shift 2
	{
		echo "StateDir $T/state"
		echo "APIListen 127.0.0.1:$port"
		echo "APITokenFile $T/tokens"
		echo "APIRequestTimeout $TIMEOUT_S"
		echo "APIPidFile $T/run/$name.pid"
		echo "Syslog no"
		echo "DNSServers 127.0.0.1:9"
		echo "DNSTimeout 0.2"
		echo "CheckTimeout 1"
		echo "ReleaseCommand $T/release"
		echo "HoldQueueCommand none"
		[ "$(id -u)" -eq 0 ] && echo "APIUserID $DUSER:$DGROUP"
		for line in "$@"; do
			echo "$line"
		done
	} >"$T/$name.conf"
	chmod 644 "$T/$name.conf"
}

# api_start NAME [LINE...] - start a daemon on a free port; sets PORT and
# URL_NAME-less URL (http or https by TLS lines); 0 once it serves.
api_start() {
	name=$1
	shift
	tries=0
	while [ $tries -lt $PORT_TRIES ]; do
		tries=$((tries + 1))
		PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
		mkconf "$name" "$PORT" "$@"
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

# req METHOD PATH TOKEN [CURL ARGS...] - one request to $URL; sets
# status, the body in $T/body and the headers in $T/hdr.
req() {
	m=$1 p=$2 tok=$3
	shift 3
	last_cmd="curl -X $m $URL$p"
	if [ -n "$tok" ]; then
		set -- -H "Authorization: Bearer $tok" "$@"
	fi
	status=$(curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}' \
	    --max-time "$(scaled 20)" -X "$m" "$@" "$URL$p" 2>"$LIB_ERR")
	rc=$?
	cp "$T/body" "$LIB_OUT"
}

# jpost PATH TOKEN JSON - POST JSON.
jpost() {
	printf '%s' "$3" >"$T/req.json"
	req POST "$1" "$2" -H 'Content-Type: application/json' \
	    --data-binary "@$T/req.json"
}

# jget PATH [FILE] - the value at PATH (jsonflat) of the body.
jget() {
	awk -f "$JSONFLAT" <"${2:-$T/body}" | awk -F'\t' -v p="$1" \
	    '$1 == p { print $2; exit }'
}

# is STATUS [TYPE] - the answer had STATUS (and the problem TYPE).
is() {
	[ "$status" = "$1" ] || return 1
	[ $# -lt 2 ] && return 0
	grep -qi '^content-type: application/problem+json' "$T/hdr" &&
	    [ "$(jget .type)" = "urn:authready:problem:$2" ]
}

# says - ko with the status seen.
says() {
	ko "HTTP $status, type $(jget .type 2>/dev/null): $*"
}

# Start --------------------------------------------------------------------

case_ config-ok
cat >"$T/n.conf" <<EOF
StateDir $T/state
APITokenFile $T/tokens
$([ "$(id -u)" -eq 0 ] && echo "APIUserID $DUSER:$DGROUP")
EOF
"$AUTHREADY_API" -c "$T/n.conf" -n >"$LIB_OUT" 2>"$LIB_ERR"
rc=$?
if [ $rc -eq 0 ] && grep -q 'configuration OK' "$LIB_OUT"; then
	ok
else
	ko "exit $rc"
fi

case_ usage
"$AUTHREADY_API" --help >"$LIB_OUT" 2>"$LIB_ERR"
rc1=$?
"$AUTHREADY_API" --bogus >>"$LIB_OUT" 2>>"$LIB_ERR"
rc=$?
if [ $rc1 -eq 0 ] && [ $rc -eq 64 ] && grep -q '^usage: authready-api' \
    "$LIB_OUT"; then
	ok
else
	ko "--help exit $rc1, --bogus exit $rc"
fi

case_ config-token-file-readable-refused
cp "$T/tokens" "$T/tokens.644"
chmod 644 "$T/tokens.644"
sed "s|^APITokenFile .*|APITokenFile $T/tokens.644|" "$T/n.conf" \
    >"$T/n644.conf"
"$AUTHREADY_API" -c "$T/n644.conf" -n >"$LIB_OUT" 2>"$LIB_ERR"
rc=$?
if [ $rc -eq 78 ] && grep -q 'group or others may read' "$LIB_ERR"; then
	ok
else
	ko "exit $rc"
fi

case_ config-token-file-missing-refused
grep -v '^APITokenFile' "$T/n.conf" >"$T/nnone.conf"
"$AUTHREADY_API" -c "$T/nnone.conf" -n >"$LIB_OUT" 2>"$LIB_ERR"
rc=$?
if [ $rc -eq 78 ] && grep -q 'APITokenFile is not set' "$LIB_ERR"; then
	ok
else
	ko "exit $rc"
fi

case_ config-bad-listen-and-lonely-cert-refused
{ cat "$T/n.conf"; echo "APIListen localhost:80"; } >"$T/nl.conf"
"$AUTHREADY_API" -c "$T/nl.conf" -n >"$LIB_OUT" 2>"$LIB_ERR"
rc1=$?
{ cat "$T/n.conf"; echo "APITLSCertificate $T/tokens"; } >"$T/nc.conf"
"$AUTHREADY_API" -c "$T/nc.conf" -n >>"$LIB_OUT" 2>>"$LIB_ERR"
rc=$?
if [ $rc1 -eq 78 ] && [ $rc -eq 78 ] &&
    grep -q 'APIListen' "$LIB_ERR" && grep -q 'go together' "$LIB_ERR"; then
	ok
else
	ko "exit $rc1 and $rc"
fi

case_ start
if api_start main; then
	MAIN_PORT=$PORT
	URL=http://127.0.0.1:$PORT
	ok "port $PORT"
else
	ko "did not start" && evidence "$T/main.log"
	finish
fi

# Tokens -------------------------------------------------------------------

case_ no-token-401
req GET /v1/domains ""
if is 401 unauthorized; then ok; else says "expected 401"; fi

case_ wrong-token-401
req GET /v1/domains "not-a-token-0123456789abcdef"
if is 401 unauthorized; then ok; else says "expected 401"; fi

case_ read-token-writing-403
jpost /v1/domains "$RTOK" '{"domain": "shop.api.test"}'
if is 403 forbidden; then ok; else says "expected 403"; fi

# Registering --------------------------------------------------------------

case_ add-201
jpost /v1/domains "$WTOK" \
    '{"domain": "Shop.API.test.", "selectors": ["s1", {"name": "s2", "key_file": "'"$(cd "$(dirname "$KEY")" && pwd)/$(basename "$KEY")"'"}], "mx": "feedback.api.test", "contact": "ops@shop.api.test", "dmarc_min_policy": "quarantine"}'
if is 201 && grep -qi '^location: /v1/domains/shop.api.test' "$T/hdr" &&
    [ "$(jget .domain)" = shop.api.test ] &&
    [ "$(jget '.records.#')" -ge 4 ] 2>/dev/null; then
	ok
else
	says "expected 201 with the records"
fi

case_ add-seen-by-cli
cli "$T/main.conf" domain list --json
if [ $rc -eq 0 ] && grep -q '"shop.api.test"' "$LIB_OUT" &&
    grep -q 's1,s2' "$LIB_OUT"; then
	ok
else
	ko "the CLI does not list it"
fi

case_ add-duplicate-409
jpost /v1/domains "$WTOK" '{"domain": "shop.api.test"}'
if is 409 domain-exists; then ok; else says "expected 409"; fi

case_ add-more
ok_all=1
for d in a.api.test b.api.test c.api.test; do
	jpost /v1/domains "$WTOK" '{"domain": "'$d'", "selectors": ["s1"]}'
	is 201 || ok_all=0
done
if [ $ok_all -eq 1 ]; then ok; else says "a domain was not registered"; fi

# Reading ------------------------------------------------------------------

case_ list-paged
req GET '/v1/domains?limit=2' "$RTOK"
first=$(jget .domains.0.domain) second=$(jget .domains.1.domain)
next=$(jget .next)
n1=$(jget '.domains.#')
req GET "/v1/domains?limit=2&after=$next" "$RTOK"
third=$(jget .domains.0.domain) fourth=$(jget .domains.1.domain)
last=$(jget .next)
if [ "$n1" = 2 ] && [ "$first $second $third $fourth" = \
    "a.api.test b.api.test c.api.test shop.api.test" ] &&
    [ "$next" = b.api.test ] && [ "$last" = null ]; then
	ok
else
	ko "pages: $first $second / $third $fourth, next $next then $last"
fi

case_ list-filter-state
req GET '/v1/domains?state=unknown' "$RTOK"
n_unknown=$(jget '.domains.#')
req GET '/v1/domains?state=verified' "$RTOK"
n_verified=$(jget '.domains.#')
if [ "$n_unknown" = 4 ] && [ "$n_verified" = 0 ]; then
	ok
else
	ko "unknown $n_unknown, verified $n_verified"
fi

case_ list-bad-query-400
req GET '/v1/domains?limit=0' "$RTOK"
s1=$status
req GET '/v1/domains?state=happy' "$RTOK"
if [ "$s1" = 400 ] && is 400 invalid-query; then
	ok
else
	says "limit=0 gave $s1"
fi

case_ status-equals-cli
cli "$T/main.conf" refresh shop.api.test # DNS trouble: a state to show
req GET /v1/domains/shop.api.test "$RTOK"
awk -f "$JSONFLAT" <"$T/body" | grep -v '^\.summary' | sort >"$T/api.flat"
cli "$T/main.conf" status shop.api.test --json
awk -f "$JSONFLAT" <"$LIB_OUT" | grep -v '^\.domains\.#' |
    sed 's/^\.domains\.0\././' | grep -v '^\.summary' | sort >"$T/cli.flat"
if is 200 && [ -s "$T/api.flat" ] && cmp -s "$T/api.flat" "$T/cli.flat" &&
    [ "$(jget .registered)" = true ] && [ "$(jget .dns_errors)" -ge 1 ]
then
	ok
else
	diff "$T/cli.flat" "$T/api.flat" >"$LIB_OUT"
	says "the API's status differs from the CLI's"
fi

case_ records-equal-cli
req GET /v1/domains/shop.api.test/records "$RTOK"
awk -f "$JSONFLAT" <"$T/body" | sort >"$T/api.flat"
cli "$T/main.conf" records shop.api.test --json
awk -f "$JSONFLAT" <"$LIB_OUT" | sort >"$T/cli.flat"
if is 200 && cmp -s "$T/api.flat" "$T/cli.flat" &&
    grep -q 'v=DKIM1' "$T/api.flat"; then
	ok
else
	diff "$T/cli.flat" "$T/api.flat" >"$LIB_OUT"
	says "the API's records differ from the CLI's"
fi

case_ status-unregistered-404
req GET /v1/domains/nobody.api.test "$RTOK"
if is 404 domain-not-found; then ok; else says "expected 404"; fi

case_ refresh-202-then-checked
cli "$T/main.conf" refresh --due
before=$(sed -n 's/^checked \([0-9]*\):.*/\1/p' "$LIB_OUT")
req POST /v1/domains/shop.api.test/refresh "$WTOK"
s=$status
cli "$T/main.conf" refresh --due
after=$(sed -n 's/^checked \([0-9]*\):.*/\1/p' "$LIB_OUT")
status=$s
if is 202 && [ "$(jget .status)" = queued ] && [ "$before" = 3 ] &&
    [ "$after" = 1 ]; then
	ok "due before: $before (the never-checked ones), after: $after"
else
	says "due before $before, after $after"
fi

case_ refresh-unregistered-404
req POST /v1/domains/nobody.api.test/refresh "$WTOK"
if is 404 domain-not-found; then ok; else says "expected 404"; fi

case_ held-empty
req GET /v1/domains/shop.api.test/held "$RTOK"
if is 200 && [ "$(jget '.held.#')" = 0 ]; then
	ok
else
	says "expected an empty list"
fi

case_ release-none
req POST /v1/domains/shop.api.test/release "$WTOK"
if is 200 && [ "$(jget .released)" = 0 ]; then
	ok
else
	says "expected 0 released"
fi

case_ held-listed
# The status answer is cached per store commit and second (api.c): one
# read just before the message is held must not hide it.
req GET /v1/domains/a.api.test "$RTOK"
before=$(jget '.held.#')
as_daemon_user "$HELD_ADD" "$T/state" a.api.test 4Xyz12AbC \
    bounces@mail.a.api.test
req GET /v1/domains/a.api.test "$RTOK"
after=$(jget '.held.#')
req GET /v1/domains/a.api.test/held "$RTOK"
if is 200 && [ "$(jget '.held.#')" = 1 ] &&
    [ "$(jget .held.0.queue_id)" = 4Xyz12AbC ] &&
    [ "$(jget .held.0.door)" = unix ] && [ "$before" = 0 ] &&
    [ "$after" = 1 ]; then
	ok
else
	says "held in the status: $before then $after"
fi

case_ delete-refused-while-held-409
req DELETE /v1/domains/a.api.test "$WTOK"
s1=$status
cp "$T/body" "$T/body.409"
cli "$T/main.conf" domain remove a.api.test
if [ "$s1" = 409 ] && [ "$(jget .type "$T/body.409")" = \
    urn:authready:problem:mail-held ] && [ "$rc" -eq 1 ] &&
    grep -q 'held for a.api.test' "$LIB_ERR"; then
	ok
else
	ko "API $s1, CLI exit $rc"
fi

case_ release-one
req POST /v1/domains/a.api.test/release "$WTOK"
s1=$status
released=$(jget .released)
req GET /v1/domains/a.api.test/held "$RTOK"
if [ "$s1" = 200 ] && [ "$released" = 1 ] &&
    [ "$(jget '.held.#')" = 0 ] && grep -q 4Xyz12AbC "$T/run/released"
then
	ok
else
	ko "HTTP $s1, released $released, still held $(jget '.held.#')"
fi

case_ release-read-token-403
req POST /v1/domains/shop.api.test/release "$RTOK"
if is 403 forbidden; then ok; else says "expected 403"; fi

# Removing and importing ---------------------------------------------------

case_ delete-204-then-404
req DELETE /v1/domains/c.api.test "$WTOK"
s=$status
req GET /v1/domains/c.api.test "$RTOK"
s2=$status
req DELETE /v1/domains/c.api.test "$WTOK"
if [ "$s" = 204 ] && [ "$s2" = 404 ] && is 404 domain-not-found; then
	ok
else
	ko "DELETE $s, GET $s2, DELETE again $status"
fi

case_ import-csv
printf 'domain,selectors,contact\nimp1.api.test,s1,\nimp..api.test,s1,\nimp2.api.test,s1 s2,ops@imp2.api.test\nshop.api.test,s1,\n' \
    >"$T/imp.csv"
req POST /v1/domains:import "$WTOK" -H 'Content-Type: text/csv' \
    --data-binary "@$T/imp.csv"
if is 200 && [ "$(jget .registered)" = 2 ] &&
    [ "$(jget .bad_lines)" = 2 ] && grep -q 'line 3' "$T/body" &&
    grep -q 'line 5: shop.api.test is already registered' "$T/body"; then
	ok
else
	says "expected 2 registered, 2 bad lines"
fi

case_ import-no-header-400
printf '' >"$T/empty.csv"
req POST /v1/domains:import "$WTOK" -H 'Content-Type: text/csv' \
    --data-binary "@$T/empty.csv"
if is 400 invalid-csv; then ok; else says "expected 400"; fi

case_ import-wrong-media-415
req POST /v1/domains:import "$WTOK" -H 'Content-Type: application/json' \
    --data-binary "@$T/imp.csv"
if is 415 unsupported-media; then ok; else says "expected 415"; fi

# Bad input ----------------------------------------------------------------

case_ malformed-json-400
jpost /v1/domains "$WTOK" '{"domain": "x.api.test",'
if is 400 invalid-json; then ok; else says "expected 400"; fi

case_ json-array-400
jpost /v1/domains "$WTOK" '["x.api.test"]'
if is 400 invalid-json; then ok; else says "expected 400"; fi

case_ duplicate-key-400
jpost /v1/domains "$WTOK" '{"domain": "x.api.test", "domain": "y.api.test"}'
if is 400 invalid-json; then ok; else says "expected 400"; fi

case_ unknown-field-400
jpost /v1/domains "$WTOK" '{"domain": "x.api.test", "owner": "me"}'
if is 400 unknown-field && grep -q owner "$T/body"; then
	ok
else
	says "expected 400 naming the field"
fi

case_ wrong-type-400
jpost /v1/domains "$WTOK" '{"domain": "x.api.test", "selectors": "s1"}'
if is 400 invalid-field; then ok; else says "expected 400"; fi

case_ invalid-field-value-400
jpost /v1/domains "$WTOK" \
    '{"domain": "x.api.test", "dmarc_min_policy": "maybe"}'
if is 400 invalid-field; then ok; else says "expected 400"; fi

case_ invalid-domain-400
jpost /v1/domains "$WTOK" '{"domain": "bad..api.test"}'
s1=$status
jpost /v1/domains "$WTOK" '{"domain": "with space.test"}'
if [ "$s1" = 400 ] && is 400 invalid-domain; then
	ok
else
	says "first $s1"
fi

case_ overlong-domain-400
long=$(printf '%0250d' 0 | tr 0 a)
jpost /v1/domains "$WTOK" '{"domain": "'"$long"'.api.test"}'
s1=$status
req GET "/v1/domains/$long$long.test" "$RTOK"
if [ "$s1" = 400 ] && is 400 invalid-domain; then
	ok
else
	says "body $s1"
fi

case_ no-domain-field-400
jpost /v1/domains "$WTOK" '{"contact": "a@b.test"}'
if is 400 invalid-domain; then ok; else says "expected 400"; fi

case_ wrong-media-415
req POST /v1/domains "$WTOK" -H 'Content-Type: text/plain' \
    --data-binary '{"domain": "x.api.test"}'
if is 415 unsupported-media; then ok; else says "expected 415"; fi

case_ oversized-json-413
head -c 1100000 /dev/zero | tr '\0' ' ' >"$T/big.json"
req POST /v1/domains "$WTOK" -H 'Content-Type: application/json' \
    --data-binary "@$T/big.json"
s1=$status
req POST /v1/domains "$WTOK" -H 'Content-Type: application/json' \
    -H 'Transfer-Encoding: chunked' --data-binary "@$T/big.json"
if [ "$s1" = 413 ] && is 413 body-too-large; then
	ok
else
	says "by length $s1, chunked"
fi

# pad_to N - a value for X-Padding that makes the header fields of
# req GET (Host, Authorization, X-Padding; curl's User-Agent and Accept
# left out) N octets, each counted as "Name: value" and CRLF.
pad_to() {
	host=${URL#*://}
	fixed=$((4 + 4 + ${#host} + 13 + 4 + 7 + ${#RTOK} + 9 + 4))
	printf "%0$(($1 - fixed))d" 0
}

case_ header-fields-at-limit-200
req GET /v1/domains "$RTOK" -H 'User-Agent:' -H 'Accept:' \
    -H "X-Padding: $(pad_to 32768)"
if is 200; then ok; else says "expected 200 at 32768 octets"; fi

case_ header-fields-over-limit-431-problem
req GET /v1/domains "$RTOK" -H 'User-Agent:' -H 'Accept:' \
    -H "X-Padding: $(pad_to 32769)"
if is 431 headers-too-large; then ok; else says "expected 431 problem"; fi

case_ header-block-past-libmicrohttpd-431-its-own
# Past what libmicrohttpd holds for a connection (API_MHD_MEMORY) it
# answers itself, before the API sees the request: not a problem.
printf 'X-Padding: %0200000d\r\n' 0 >"$T/padding" # too long for argv
req GET /v1/domains "$RTOK" -H "@$T/padding"
if [ "$status" = 431 ] &&
    ! grep -qi '^content-type: application/problem+json' "$T/hdr"; then
	ok
else
	says "expected libmicrohttpd's own 431"
fi

case_ unknown-routes-404
all=""
for p in / /v1 /v1/domains/ /v2/domains /v1/domains/a.api.test/records/x \
    /v1/domains/a.api.test/status /v1/domains:export; do
	req GET "$p" "$RTOK"
	is 404 no-such-route || all="$all $p:$status"
done
if [ -z "$all" ]; then ok; else ko "not 404:$all"; fi

case_ wrong-method-405
req PUT /v1/domains/a.api.test "$WTOK"
if is 405 method-not-allowed &&
    grep -qi '^allow: GET, DELETE' "$T/hdr"; then
	ok
else
	says "expected 405 with Allow"
fi

# The contract -------------------------------------------------------------

# openapi_routes - "PATH METHOD STATUS..." for each route of the document.
openapi_routes() {
	awk -f "$JSONFLAT" <"$OPENAPI" | awk -F'\t' '
	    match($1, /^\.paths\.[^.]+\.(get|post|delete|put|patch)\.responses\.[0-9]+\.description$/) {
		n = split($1, p, ".")
		key = p[3] " " p[4]
		if (!(key in codes)) order[++k] = key
		codes[key] = codes[key] " " p[6]
	    }
	    END { for (i = 1; i <= k; i++) print order[i] codes[order[i]] }'
}

case_ openapi-every-route-answers-as-documented
openapi_routes >"$T/routes"
bad=""
n=0
while read -r path method codes; do
	n=$((n + 1))
	p=$(echo "$path" | sed 's/{domain}/a.api.test/')
	M=$(echo "$method" | tr a-z A-Z)
	case "$M $path" in
	"POST /v1/domains")
		jpost "$p" "$WTOK" '{"domain": "contract.api.test"}' ;;
	"POST /v1/domains:import")
		req POST "$p" "$WTOK" -H 'Content-Type: text/csv' \
		    --data-binary "$(printf 'domain\ncontract2.api.test')" ;;
	"DELETE "*)
		req "$M" "$(echo "$path" | sed 's/{domain}/b.api.test/')" \
		    "$WTOK" ;;
	*)
		req "$M" "$p" "$WTOK" ;;
	esac
	case " $codes " in
	*" $status "*) ;;
	*) bad="$bad $M:$path:$status" ;;
	esac
done <"$T/routes"
if [ $n -eq 9 ] && [ -z "$bad" ]; then
	ok "$n routes"
else
	ko "$n routes; undocumented answers:$bad"
fi

case_ openapi-no-other-method
bad=""
cut -d' ' -f1 "$T/routes" | sort -u >"$T/paths"
while read -r path; do
	p=$(echo "$path" | sed 's/{domain}/a.api.test/')
	for M in GET POST PUT PATCH DELETE; do
		m=$(echo "$M" | tr A-Z a-z)
		grep -q "^$path $m " "$T/routes" && continue
		req "$M" "$p" "$WTOK"
		is 405 method-not-allowed || bad="$bad $M:$path:$status"
	done
done <"$T/paths"
if [ -z "$bad" ]; then ok; else ko "not 405:$bad"; fi

# Slow clients, throttling, connections ------------------------------------

case_ slow-body-408
# At 200 octets a second it takes twice APIRequestTimeout to arrive.
printf '{"domain": "slow.api.test"}%0*d' $((TIMEOUT_S * 400)) 0 |
    tr 0 ' ' >"$T/slow.json"
t0=$(now_ms)
req POST /v1/domains "$WTOK" -H 'Content-Type: application/json' \
    --limit-rate 200 --data-binary "@$T/slow.json"
if is 408 request-timeout; then
	ok "$(($(now_ms) - t0)) ms"
else
	says "expected 408"
fi

case_ stalled-client-closed-others-served
# It declares 100 octets and sends 27: libmicrohttpd waits for the rest,
# and closes the connection once it has been idle for APIRequestTimeout.
t0=$(now_ms)
curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $WTOK" \
    -H 'Content-Type: application/json' -H 'Content-Length: 100' \
    --data-binary '{"domain": "stall.api.test"' --max-time "$(scaled 20)" \
    "$URL/v1/domains" >"$T/stalled.code" 2>"$T/stalled.err" &
stalled=$!
sleep 0.5
req GET /v1/domains/a.api.test "$RTOK"
served=$status
wait $stalled
took=$(($(now_ms) - t0))
if [ "$served" = 200 ] && [ $took -ge $((TIMEOUT_S * 1000)) ] &&
    [ $took -lt $(($(scaled 10) * 1000)) ] &&
    [ "$(cat "$T/stalled.code")" = 000 ]; then
	ok "closed after $took ms"
else
	ko "served $served, the stalled client took $took ms," \
	    "answer $(cat "$T/stalled.code")"
fi

case_ throttle-429-per-address
i=0
while [ $i -lt 6 ]; do
	req GET /v1/domains "bad-token-0123456789abcdef" --interface 127.0.0.2
	i=$((i + 1))
done
req GET /v1/domains "$RTOK" --interface 127.0.0.2
s1=$status
cp "$T/hdr" "$T/hdr.429"
req GET /v1/domains "$RTOK"
if [ "$s1" = 429 ] && grep -qi '^retry-after:' "$T/hdr.429" && is 200; then
	ok
else
	ko "127.0.0.2 got $s1 with the right token, 127.0.0.1 $status"
fi

case_ concurrent-1000
: >"$T/codes"
pids=""
for k in 1 2 3 4; do
	curl -s --parallel --parallel-immediate --parallel-max 250 \
	    -H "Authorization: Bearer $RTOK" -o /dev/null \
	    -w '%{http_code}\n' --max-time "$(scaled 60)" \
	    "$URL/v1/domains/a.api.test?n=[1-250]" >"$T/codes.$k" 2>&1 &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p"
done
cat "$T"/codes.* >"$T/codes"
n200=$(grep -c '^200$' "$T/codes")
if [ "$n200" -eq 1000 ]; then
	ok
else
	ko "$n200 of 1000 answered 200: $(sort "$T/codes" | uniq -c | tr '\n' ' ')"
fi

case_ connections-503
if api_start few "APIMaxConnections 2"; then
	FEW=http://127.0.0.1:$PORT
	rm -f "$T/fifo2"
	mkfifo "$T/fifo2"
	(sleep "$(scaled 10)" >"$T/fifo2") &
	holder=$!
	hold=""
	for k in 1 2; do
		curl -s -o /dev/null -H "Authorization: Bearer $WTOK" \
		    -H 'Content-Type: application/json' -T "$T/fifo2" \
		    -X POST --max-time "$(scaled 10)" "$FEW/v1/domains" &
		hold="$hold $!"
	done
	sleep 0.5
	saved=$URL
	URL=$FEW
	req GET /v1/domains "$RTOK"
	URL=$saved
	kill $holder $hold 2>/dev/null
	wait $holder $hold 2>/dev/null
	if is 503 too-many-connections; then
		ok
	else
		says "expected 503"
	fi
	stop_pid "$(cat "$T/run/few.dpid")"
	rm -f "$T/run/few.dpid"
else
	ko "the second daemon did not start" && evidence "$T/few.log"
fi

# TLS, reload, stop --------------------------------------------------------

case_ tls
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -days 1 -keyout "$T/tls.key" \
    -out "$T/tls.crt" >/dev/null 2>&1
chmod 600 "$T/tls.key"
if api_start tls "APITLSCertificate $T/tls.crt" "APITLSKey $T/tls.key"; then
	saved=$URL
	URL=https://127.0.0.1:$PORT
	req GET /v1/domains/a.api.test "$RTOK" --cacert "$T/tls.crt"
	s1=$status
	URL=$saved
	stop_pid "$(cat "$T/run/tls.dpid")"
	rm -f "$T/run/tls.dpid"
	if [ "$s1" = 200 ]; then ok; else ko "HTTPS answered $s1"; fi
else
	ko "the TLS daemon did not start" && evidence "$T/tls.log"
fi

case_ reload-tokens
NEWTOK=new-token-0123456789abcdef
req GET /v1/domains "$NEWTOK"
s1=$status
printf '%s read\n%s write\n%s read\n' "$RTOK" "$WTOK" "$NEWTOK" \
    >"$T/tokens.new"
chmod 600 "$T/tokens.new"
# SIGUSR1 reads the file as APIUserID (authready-api(8)).
[ "$(id -u)" -eq 0 ] && chown "$DUSER" "$T/tokens.new"
mv "$T/tokens.new" "$T/tokens"
kill -USR1 "$(cat "$T/run/main.dpid")"
i=0
while ! grep -q 'event=reload tokens=3' "$T/main.log" &&
    [ $i -lt "$(scaled 50)" ]; do
	sleep 0.1
	i=$((i + 1))
done
req GET /v1/domains "$NEWTOK"
if [ "$s1" = 401 ] && is 200; then
	ok
else
	says "before the reload $s1"
fi

case_ token-per-request-on-keepalive
# A connection remembers the token it last authenticated with (api.c,
# struct api_conn), so a polling application's keep-alive requests are
# not hashed again.  On one connection each, a token that differs in one
# octet, a read token after a write token, and a token revoked by a
# reload while the connection stays open must be judged afresh.  (An
# answer given before the body, as 401 and 403 are, closes the
# connection: libmicrohttpd 0.9.75; so each of them ends its connection.)
BADTOK=$(printf '%s' "$RTOK" | sed 's/.$/X/')
A=/v1/domains/a.api.test
cat >"$T/keepalive.pl" <<'EOF_PL'
# keepalive.pl PORT TENTHS STEP... - the steps on one connection, a
# status line each: "METHOD PATH TOKEN", or "wait FILE -" (at most TENTHS
# tenths of a second).
use IO::Socket::INET;
use Time::HiRes qw(sleep);
my ($port, $wait, @steps) = @ARGV;
$| = 1;
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port)
    or die "connect: $!\n";
for my $step (@steps) {
	my ($m, $p, $tok) = split / /, $step;
	if ($m eq "wait") {
		my $n = 0;
		until (-e $p) { sleep 0.1; exit 2 if ++$n > $wait }
		next;
	}
	print $s "$m $p HTTP/1.1\r\nHost: 127.0.0.1\r\n",
	    "Authorization: Bearer $tok\r\nContent-Length: 0\r\n\r\n";
	my $line = <$s>;
	defined $line or do { print "closed\n"; exit 1 };
	my ($code) = $line =~ m{^HTTP/1\.1 (\d+)} or do { print "bad\n"; exit 1 };
	my $len = 0;
	while (my $h = <$s>) {
		last if $h eq "\r\n";
		$len = $1 if $h =~ /^content-length:\s*(\d+)/i;
	}
	my $body = "";
	while (length($body) < $len) {
		read($s, $body, $len - length($body), length($body)) > 0
		    or do { print "short\n"; exit 1 };
	}
	print "$code\n";
}
EOF_PL
if ! command -v perl >/dev/null 2>&1; then
	skip "perl not found (the keep-alive client is a Perl script)"
else
	ka() {
		perl "$T/keepalive.pl" "${URL##*:}" "$(scaled 200)" "$@" \
		    2>>"$T/keepalive.err" | tr '\n' ' '
	}
	got1=$(ka "GET $A $RTOK" "GET $A $RTOK" "GET $A $BADTOK")
	got2=$(ka "POST $A/refresh $WTOK" "POST $A/refresh $RTOK")
	printf '%s read\n%s write\n' "$RTOK" "$WTOK" >"$T/tokens.new"
	chmod 600 "$T/tokens.new"
	[ "$(id -u)" -eq 0 ] && chown "$DUSER" "$T/tokens.new"
	reloads=$(grep -c 'event=reload ' "$T/main.log")
	rm -f "$T/go"
	perl "$T/keepalive.pl" "${URL##*:}" "$(scaled 200)" "GET $A $NEWTOK" \
	    "wait $T/go -" "GET $A $NEWTOK" >"$T/keepalive.out" \
	    2>>"$T/keepalive.err" &
	client=$!
	i=0
	while [ ! -s "$T/keepalive.out" ] && kill -0 $client 2>/dev/null &&
	    [ $i -lt "$(scaled 100)" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	mv "$T/tokens.new" "$T/tokens" # NEWTOK revoked
	kill -USR1 "$(cat "$T/run/main.dpid")"
	i=0
	while [ "$(grep -c 'event=reload ' "$T/main.log")" -le "$reloads" ] &&
	    [ $i -lt "$(scaled 50)" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	touch "$T/go"
	wait $client
	got3=$(tr '\n' ' ' <"$T/keepalive.out")
	if [ "$got1" = "200 200 401 " ] && [ "$got2" = "202 403 " ] &&
	    [ "$got3" = "200 401 " ]; then
		ok
	else
		ko "one octet changed: $got1(expected 200 200 401);" \
		    "read after write: $got2(expected 202 403);" \
		    "revoked meanwhile: $got3(expected 200 401)" &&
		    evidence "$T/keepalive.err"
	fi
fi

case_ stop
pid=$(cat "$T/run/main.dpid")
if stop_wait "$pid" "$(scaled 50)" && [ "$rc" -eq 0 ] &&
    grep -q 'event=stop' "$T/main.log" && [ ! -e "$T/run/main.pid" ]; then
	rm -f "$T/run/main.dpid"
	ok
else
	ko "exit ${rc:-?}" && evidence "$T/main.log"
fi

case_ no-crash
if grep -Eq 'AddressSanitizer|runtime error|Fatal' "$T"/*.log; then
	ko "a sanitizer or fatal message" && evidence "$T/main.log"
else
	ok
fi

finish
