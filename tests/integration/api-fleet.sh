#!/bin/sh
# api-fleet.sh - authready-api with StoreDSN: the same writes as the CLI.
#
# SYNOPSIS
#	make check TESTS=tests/integration/api-fleet.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/api-fleet.sh
#
# DESCRIPTION
#	Runs authready-api on a host whose config has StoreDSN (a private
#	PostgreSQL from pg-harness.sh, schema made by "authready db init")
#	and checks that its writes take the CLI's path: POST /v1/domains is
#	a row of authready_registry (PostgreSQL first), and a domain the CLI
#	of another host registered in PostgreSQL is refused by the API
#	(409) as the CLI refuses it; POST .../refresh moves the domain's
#	next check in authready_checks to -infinity (a checker claims it at
#	its next round); DELETE leaves a tombstone; POST /v1/domains:import
#	commits its rows in PostgreSQL.  With PostgreSQL stopped, a POST is
#	503 database-unavailable and nothing is registered, in PostgreSQL
#	or locally; once it is back the same POST is 201.
#
#	The cases depend on each other and run in order (lib.sh).
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 PostgreSQL or curl is missing,
#	99 the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir (from make check); AUTHREADY and
#	AUTHREADY_API override the binaries; PG_BINDIR (pg-harness.sh).

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY=${AUTHREADY:-$top_builddir/authready}
AUTHREADY_API=${AUTHREADY_API:-$top_builddir/authready-api}
JSONFLAT=$top_srcdir/tests/integration/jsonflat.awk

. "$top_srcdir/tests/integration/lib.sh"
# shellcheck source=tests/integration/pg-harness.sh
. "$top_srcdir/tests/integration/pg-harness.sh"

DUSER=nobody
DGROUP=nogroup
getent group "$DGROUP" >/dev/null 2>&1 || DGROUP=nobody
WTOK=write-token-0123456789abcdef
START_WAIT_TENTHS=$(scaled 100)

if ! command -v curl >/dev/null 2>&1; then
	echo "SKIP: curl not found"
	exit 77
fi
[ -x "$AUTHREADY_API" ] || lib_die "$AUTHREADY_API not built"
pg_find

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-api-fleet.XXXXXX") || exit 99
chmod 755 "$T"
at_exit 'rm -rf "$T"'
LIB_OUT=$T/out LIB_ERR=$T/err
API_PID=
at_exit 'stop_pid "$API_PID"'

pg_start

# The API's host (run as DUSER when root) and a second host for the CLI.
mkdir "$T/api" "$T/cli"
cp "$PG_PASSWORD_FILE" "$T/pg.password"
chmod 600 "$T/pg.password"
if [ "$(id -u)" -eq 0 ]; then
	chown "$DUSER:$DGROUP" "$T/api" "$T/pg.password"
fi
chmod 750 "$T/api"
printf '%s write\n' "$WTOK" >"$T/tokens"
chmod 600 "$T/tokens"
PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
{
	echo "StateDir $T/api"
	echo "StoreDSN $PG_DSN"
	echo "StoreDSNPasswordFile $T/pg.password"
	echo "HostName api.fleet.test"
	echo "APIListen 127.0.0.1:$PORT"
	echo "APITokenFile $T/tokens"
	echo "Syslog no"
	[ "$(id -u)" -eq 0 ] && echo "APIUserID $DUSER:$DGROUP"
} >"$T/api.conf"
{
	echo "StateDir $T/cli"
	echo "StoreDSN $PG_DSN"
	echo "StoreDSNPasswordFile $PG_PASSWORD_FILE"
	echo "HostName cli.fleet.test"
} >"$T/cli.conf"
chmod 644 "$T/api.conf" "$T/cli.conf"
URL=http://127.0.0.1:$PORT

# req METHOD PATH [CURL ARGS...] - as api.sh: status, $T/body.
req() {
	m=$1 p=$2
	shift 2
	last_cmd="curl -X $m $URL$p"
	status=$(curl -sS -o "$T/body" -w '%{http_code}' -X "$m" \
	    -H "Authorization: Bearer $WTOK" --max-time "$(scaled 30)" "$@" \
	    "$URL$p" 2>"$LIB_ERR")
	rc=$?
	cp "$T/body" "$LIB_OUT"
}

# jpost PATH JSON - POST JSON.
jpost() {
	req POST "$1" -H 'Content-Type: application/json' --data-binary "$2"
}

# ptype - the problem type of the last answer.
ptype() {
	awk -f "$JSONFLAT" <"$T/body" | awk -F'\t' '$1 == ".type" { print $2 }'
}

# sql SQL - rows from PostgreSQL.
sql() {
	pg_psql "$1" 2>>"$T/psql.err"
}

case_ db-init
cli "$T/cli.conf" db init
if [ "$rc" -eq 0 ]; then ok; else ko "exit $rc"; fi

case_ start
"$AUTHREADY_API" -c "$T/api.conf" -f </dev/null >"$T/api.stdout" \
    2>"$T/api.log" &
API_PID=$!
i=0
while ! grep -q 'event=start ' "$T/api.log" 2>/dev/null &&
    kill -0 "$API_PID" 2>/dev/null && [ $i -lt "$START_WAIT_TENTHS" ]; do
	sleep 0.1
	i=$((i + 1))
done
if grep -q 'event=start ' "$T/api.log"; then
	ok
else
	ko "did not start" && evidence "$T/api.log"
	finish
fi

case_ add-writes-postgresql
jpost /v1/domains '{"domain": "shop.fleet.test", "selectors": ["s1"]}'
n=$(sql "SELECT count(*) FROM authready_registry
    WHERE domain = 'shop.fleet.test' AND NOT deleted")
if [ "$status" = 201 ] && [ "$n" = 1 ]; then
	ok
else
	ko "HTTP $status, $n row(s) in PostgreSQL"
fi

case_ registered-elsewhere-409
cli "$T/cli.conf" domain add other.fleet.test --selector s1
jpost /v1/domains '{"domain": "other.fleet.test", "selectors": ["s1"]}'
s1=$status t1=$(ptype)
cli "$T/cli.conf" domain add shop.fleet.test --selector s1
if [ "$s1" = 409 ] && [ "$t1" = urn:authready:problem:domain-exists ] &&
    [ "$rc" -eq 1 ]; then
	ok
else
	ko "API $s1 $t1, CLI exit $rc for the API's domain"
fi

case_ refresh-asks-the-checkers
sql "UPDATE authready_checks SET next_check = now() + interval '1 day'
    WHERE domain = 'shop.fleet.test'" >/dev/null
sql "INSERT INTO authready_checks (domain, next_check)
    VALUES ('shop.fleet.test', now() + interval '1 day')
    ON CONFLICT (domain) DO NOTHING" >/dev/null
req POST /v1/domains/shop.fleet.test/refresh
due=$(sql "SELECT next_check = '-infinity' FROM authready_checks
    WHERE domain = 'shop.fleet.test'")
if [ "$status" = 202 ] && [ "$due" = t ]; then
	ok
else
	ko "HTTP $status, due in PostgreSQL: $due"
fi

case_ import-commits-postgresql
req POST /v1/domains:import -H 'Content-Type: text/csv' \
    --data-binary "$(printf 'domain,selectors\nimp1.fleet.test,s1\nimp2.fleet.test,s1\nother.fleet.test,s1')"
n=$(sql "SELECT count(*) FROM authready_registry
    WHERE domain LIKE 'imp%.fleet.test' AND NOT deleted")
if [ "$status" = 200 ] && [ "$n" = 2 ] &&
    grep -q 'other.fleet.test is already registered' "$T/body"; then
	ok
else
	ko "HTTP $status, $n row(s)"
fi

case_ delete-tombstone
req DELETE /v1/domains/shop.fleet.test
d=$(sql "SELECT deleted FROM authready_registry
    WHERE domain = 'shop.fleet.test'")
if [ "$status" = 204 ] && [ "$d" = t ]; then
	ok
else
	ko "HTTP $status, deleted: $d"
fi

case_ postgresql-down-503-nothing-written
pg_stop
jpost /v1/domains '{"domain": "down.fleet.test", "selectors": ["s1"]}'
s1=$status t1=$(ptype)
req GET /v1/domains/down.fleet.test
local_status=$status
pg_restart
n=$(sql "SELECT count(*) FROM authready_registry
    WHERE domain = 'down.fleet.test'")
if [ "$s1" = 503 ] && [ "$t1" = urn:authready:problem:database-unavailable ] &&
    [ "$n" = 0 ] && [ "$local_status" = 404 ]; then
	ok
else
	ko "HTTP $s1 $t1, $n row(s), locally $local_status"
fi

case_ postgresql-back-201
jpost /v1/domains '{"domain": "down.fleet.test", "selectors": ["s1"]}'
if [ "$status" = 201 ]; then ok; else ko "HTTP $status"; fi

case_ stop
if stop_wait "$API_PID" "$(scaled 50)" && [ "$rc" -eq 0 ]; then
	API_PID=
	ok
else
	ko "exit ${rc:-?}"
fi

finish
