#!/bin/sh
# fleet.sh - the fleet's registry on a real PostgreSQL: the schema, the
# CLI's writes and how it fails.
#
# SYNOPSIS
#	make check TESTS=tests/integration/fleet.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/fleet.sh
#
# DESCRIPTION
#	Starts PostgreSQL on loopback (pg-harness.sh: initdb in a temporary
#	directory, password authentication over TCP, the three roles of
#	docs/fleet.md) and two hosts, A and B: each a config of its own with
#	its own StateDir and the same StoreDSN.
#
#	The schema: "db status" on an empty database says to run db init
#	(78); "db init" creates version 1 and a second one refuses (78); "db
#	migrate" has nothing to do; "db grants" applied by psql gives the
#	replica role reads of the registry and no writes.
#
#	The writes: "domain add" on host A is a row of authready_registry
#	with the clock's version, notified on authready_changes with that
#	version (a psql LISTENing sees it) and in A's local store; host B,
#	whose store never saw it, is told it is registered already (exit
#	1): PostgreSQL decides.  "domain remove" leaves a tombstone with a
#	newer version and the domain can be added again over it; "domain
#	import" writes its rows with versions; "db status" shows the counts
#	and a replica's row with its lag.
#
#	The failures: a schema newer than the program is refused by every
#	command with "schema version N is newer than this authready (M):
#	upgrade authready" (78); a malformed StoreDSN is 78; a database that
#	does not exist, a wrong password and no password are 69 with a
#	message that says so; with PostgreSQL stopped "domain add" exits 75
#	and writes nothing locally either, and once it runs again the same
#	add works.
#
#	The cases depend on each other and run in order (lib.sh).
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 PostgreSQL is not installed,
#	99 the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir (from make check); AUTHREADY overrides the
#	binary; PG_BINDIR (pg-harness.sh).

set -u
LC_ALL=C
export LC_ALL
# The passwords are the harness's files, nothing from the environment.
unset PGPASSWORD PGPASSFILE PGSERVICE

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY=${AUTHREADY:-$top_builddir/authready}
SHOW_COLUMNS=400

# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
# shellcheck source=tests/integration/pg-harness.sh
. "$top_srcdir/tests/integration/pg-harness.sh"

[ -x "$AUTHREADY" ] || lib_die "$AUTHREADY not built"
pg_find

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-fleet.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
LIB_OUT=$T/out
LIB_ERR=$T/err
LISTEN_PID=

pg_start

# cleanup - stop a listening psql left behind by a failed case.
cleanup() {
	stop_pid "$LISTEN_PID"
	LISTEN_PID=
}
at_exit cleanup

# host_conf NAME [DSN [PASSWORD-FILE]] - the config of host NAME.
host_conf() {
	mkdir -p "$T/$1"
	chmod 0700 "$T/$1"
	{
		echo "StateDir $T/$1"
		echo "StoreDSN ${2:-$PG_DSN}"
		[ -z "${3-$PG_PASSWORD_FILE}" ] ||
		    echo "StoreDSNPasswordFile ${3-$PG_PASSWORD_FILE}"
		echo "HostName $1.fleet.test"
	} >"$T/$1.conf"
}

host_conf a
host_conf b
A=$T/a.conf
B=$T/b.conf
SHOP=shop.fleet.test

# has TEXT FILE - FILE holds TEXT (a fixed string).
has() {
	grep -qF -- "$1" "$2"
}

# sql SQL - one value from the database; "" when the query fails.
sql() {
	pg_psql "$1" 2>>"$T/psql.err"
}

# listen_start - a psql that LISTENs on authready_changes, up and
# listening when this returns.
listen_start() {
	rm -f "$T/go" "$T/notify.out"
	{
		echo "LISTEN authready_changes;"
		echo "SELECT 'listening';"
		i=0
		while [ ! -e "$T/go" ] && [ $i -lt "$(scaled 300)" ]; do
			sleep 0.1
			i=$((i + 1))
		done
		echo "SELECT 'done';"
	} | "$PSQL" -X -A -t -h "$PG_DIR" -p "$PG_PORT" -U postgres \
	    -d authready >"$T/notify.out" 2>&1 &
	LISTEN_PID=$!
	i=0
	while ! has listening "$T/notify.out" 2>/dev/null; do
		[ $i -lt "$(scaled 300)" ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# listen_end - let the psql read its notifications and end.
listen_end() {
	: >"$T/go"
	i=0
	while ! has "done" "$T/notify.out"; do
		[ $i -lt "$(scaled 300)" ] || break
		sleep 0.1
		i=$((i + 1))
	done
	wait "$LISTEN_PID" 2>/dev/null
	LISTEN_PID=
}

# ---------------------------------------------------------------- schema

case_ db-status-without-schema
cli "$A" db status
if [ "$rc" -ne 78 ]; then
	ko "exit $rc, want 78"
elif ! has "authready db init" "$LIB_ERR"; then
	ko "the message does not say to run db init"
else
	ok
fi

case_ db-init
cli "$A" db init
if [ "$rc" -ne 0 ]; then
	ko "exit $rc"
elif [ "$(sql "SELECT value FROM authready_meta
    WHERE key = 'schema_version'")" != 5 ]; then
	ko "schema_version is not 5"
elif [ "$(sql "SELECT version FROM authready_clock")" != 0 ]; then
	ko "the clock does not start at 0"
elif [ "$(sql "SELECT count(*) FROM pg_tables WHERE tablename IN
    ('authready_registry', 'authready_state', 'authready_replicas')")" != 3 ]; then
	ko "tables missing"
else
	ok
fi

case_ db-init-twice-refused
cli "$A" db init
if [ "$rc" -ne 78 ]; then
	ko "exit $rc, want 78"
elif ! has "already holds an authready schema" "$LIB_ERR"; then
	ko "no clear message"
else
	ok
fi

case_ db-migrate-current
cli "$B" db migrate
if [ "$rc" -ne 0 ]; then
	ko "exit $rc"
elif ! has "nothing to do" "$LIB_OUT"; then
	ko "migrate did not say it had nothing to do"
else
	ok
fi

case_ db-grants
cli "$A" db grants
if [ "$rc" -ne 0 ]; then
	ko "exit $rc"
elif ! pg_psql "SET ROLE authready_admin; $(cat "$LIB_OUT")" \
    >"$T/grants.out" 2>&1; then
	evidence "$T/grants.out"
	ko "the GRANTs do not apply"
elif ! PGPASSWORD=$(cat "$PG_PASSWORD_FILE_REPLICA") "$PSQL" -X -q -A -t \
    "$PG_DSN_REPLICA" -c "SELECT count(*) FROM authready_registry" \
    >"$T/replica.out" 2>&1; then
	evidence "$T/replica.out"
	ko "the replica role cannot read the registry"
elif PGPASSWORD=$(cat "$PG_PASSWORD_FILE_REPLICA") "$PSQL" -X -q -A -t \
    "$PG_DSN_REPLICA" -c "DELETE FROM authready_registry" \
    >"$T/replica.out" 2>&1; then
	ko "the replica role may write the registry"
else
	ok
fi

# ---------------------------------------------------------------- writes

case_ add-on-host-a-in-postgresql
if ! listen_start; then
	ko "psql did not start listening"
else
	cli "$A" domain add "$SHOP" --contact ops@fleet.test
	listen_end
	v=$(sql "SELECT version FROM authready_registry
	    WHERE domain = '$SHOP' AND NOT deleted AND entry IS NOT NULL")
	clock=$(sql "SELECT version FROM authready_clock")
	evidence "$T/notify.out"
	if [ "$rc" -ne 0 ]; then
		ko "exit $rc"
	elif [ -z "$v" ] || [ "$v" != "$clock" ]; then
		ko "registry version '$v', clock '$clock'"
	elif ! has "\"authready_changes\" with payload \"$v\"" "$T/notify.out"; then
		ko "no NOTIFY authready_changes '$v'"
	else
		cli "$A" domain list
		if [ "$rc" -ne 0 ] || ! has "$SHOP" "$LIB_OUT"; then
			ko "not in host A's local store"
		else
			ok "version $v, notified"
		fi
	fi
fi

case_ add-on-host-b-refused-by-postgresql
cli "$B" domain add "$SHOP"
if [ "$rc" -ne 1 ]; then
	ko "exit $rc, want 1"
elif ! has "already registered" "$LIB_ERR"; then
	ko "no clear message"
else
	cli "$B" domain list
	if has "$SHOP" "$LIB_OUT"; then
		ko "host B's store got the refused domain"
	else
		ok
	fi
fi

case_ remove-leaves-a-tombstone
before=$(sql "SELECT version FROM authready_registry WHERE domain = '$SHOP'")
cli "$A" domain remove "$SHOP"
row=$(sql "SELECT deleted, entry IS NULL, version FROM authready_registry
    WHERE domain = '$SHOP'")
if [ "$rc" -ne 0 ]; then
	ko "exit $rc"
elif [ "${row%|*}" != "t|t" ] || [ "${row##*|}" -le "$before" ]; then
	ko "row '$row' after version $before"
else
	cli "$A" domain remove "$SHOP"
	if [ "$rc" -ne 1 ]; then
		ko "a second remove exits $rc, want 1"
	else
		ok "tombstone at version ${row##*|}"
	fi
fi

case_ add-over-tombstone
cli "$B" domain add "$SHOP"
row=$(sql "SELECT deleted, entry IS NULL FROM authready_registry
    WHERE domain = '$SHOP'")
if [ "$rc" -ne 0 ]; then
	ko "exit $rc"
elif [ "$row" != "f|f" ]; then
	ko "row '$row'"
else
	ok
fi

case_ remove-registered-before-storedsn
mkdir -p "$T/c"
chmod 0700 "$T/c"
{
	echo "StateDir $T/c"
	echo "StoreDSNPasswordFile $PG_PASSWORD_FILE"
} >"$T/c.conf"
cli "$T/c.conf" domain add old.fleet.test
rc_add=$rc
cli "$T/c.conf" --store-dsn "$PG_DSN" domain remove old.fleet.test
rc_pg=$rc
cp "$LIB_ERR" "$T/old.err"
cli "$T/c.conf" domain list
if [ "$rc_add" -ne 0 ]; then
	ko "the local add exits $rc_add"
elif [ "$rc_pg" -ne 0 ]; then
	rc=$rc_pg
	evidence "$T/old.err"
	ko "exit $rc_pg, want 0"
elif ! has "not registered in PostgreSQL" "$T/old.err"; then
	evidence "$T/old.err"
	ko "no note that PostgreSQL did not have it"
elif has old.fleet.test "$LIB_OUT"; then
	ko "still in the local store"
else
	cli "$T/c.conf" --store-dsn "$PG_DSN" domain remove old.fleet.test
	if [ "$rc" -ne 1 ]; then
		ko "removing it again exits $rc, want 1"
	else
		ok
	fi
fi

case_ import
printf 'domain,contact\none.fleet.test,a@fleet.test\ntwo.fleet.test,b@fleet.test\n%s,c@fleet.test\n' \
    "$SHOP" >"$T/import.csv"
cli "$A" domain import "$T/import.csv"
n=$(sql "SELECT count(DISTINCT version) FROM authready_registry
    WHERE domain IN ('one.fleet.test', 'two.fleet.test')")
if [ "$rc" -ne 1 ]; then
	ko "exit $rc, want 1 (one line names a registered domain)"
elif ! has "2 domain(s) registered, 1 bad line(s)" "$LIB_OUT"; then
	ko "wrong summary"
elif [ "$n" != 1 ]; then
	ko "the two rows carry $n versions, want one (one transaction)"
else
	ok
fi

case_ db-status
sql "INSERT INTO authready_replicas (host, position, last_seen)
    VALUES ('b.fleet.test', 1, now())" >/dev/null
clock=$(sql "SELECT version FROM authready_clock")
cli "$A" db status
if [ "$rc" -ne 0 ]; then
	ko "exit $rc"
elif ! has "schema version 5" "$LIB_OUT" ||
    ! has "clock version $clock" "$LIB_OUT" ||
    ! has "registry: 3 domain(s)" "$LIB_OUT"; then
	ko "wrong versions or counts"
elif ! grep -q "b\.fleet\.test  *1  *$((clock - 1)) " "$LIB_OUT"; then
	ko "the replica's row or its lag ($((clock - 1))) is missing"
else
	ok
fi

# ---------------------------------------------------------------- failures

case_ schema-newer-refused
sql "UPDATE authready_meta SET value = '6' WHERE key = 'schema_version'" \
    >/dev/null
want="schema version 6 is newer than this authready (5): upgrade authready"
bad=
for cmd in "domain add new.fleet.test" "domain remove $SHOP" "db migrate" \
    "db status" "db init"; do
	# Word splitting of cmd is wanted.
	# shellcheck disable=SC2086
	cli "$A" $cmd
	if [ "$rc" -ne 78 ] || ! has "$want" "$LIB_ERR"; then
		bad="$bad '$cmd' ($rc)"
	fi
done
sql "UPDATE authready_meta SET value = '5' WHERE key = 'schema_version'" \
    >/dev/null
if [ -n "$bad" ]; then
	ko "not refused:$bad"
else
	ok
fi

case_ malformed-dsn
cli "$A" --store-dsn "postgresql://authready_admin@127.0.0.1:%zz/x" \
    domain add new.fleet.test
if [ "$rc" -ne 78 ]; then
	ko "exit $rc, want 78"
elif ! has "StoreDSN is malformed" "$LIB_ERR"; then
	ko "no clear message"
else
	ok
fi

case_ wrong-database
cli "$A" --store-dsn "postgresql://authready_admin@127.0.0.1:$PG_PORT/nosuch" \
    domain add new.fleet.test
if [ "$rc" -ne 69 ]; then
	ko "exit $rc, want 69"
elif ! has "refused the connection" "$LIB_ERR" ||
    ! has '"nosuch" does not exist' "$LIB_ERR"; then
	ko "no clear message"
else
	ok
fi

case_ wrong-password
echo not-the-password >"$T/wrong.password"
host_conf w "$PG_DSN" "$T/wrong.password"
cli "$T/w.conf" domain add new.fleet.test
if [ "$rc" -ne 69 ]; then
	ko "exit $rc, want 69"
elif ! has "password authentication failed" "$LIB_ERR"; then
	ko "no clear message"
else
	ok
fi

case_ no-password
host_conf n "$PG_DSN" ""
PGPASSFILE=$T/none
export PGPASSFILE
cli "$T/n.conf" domain add new.fleet.test
unset PGPASSFILE
if [ "$rc" -ne 69 ]; then
	ko "exit $rc, want 69"
elif ! has "wants a password" "$LIB_ERR"; then
	ko "no clear message"
else
	ok
fi

case_ postgresql-down-write-75
pg_stop
cli "$A" domain add down.fleet.test
rc_down=$rc
cp "$LIB_ERR" "$T/down.err"
cli "$A" domain list
listed=$(grep -c down.fleet.test "$LIB_OUT")
pg_restart
if [ "$rc_down" -ne 75 ]; then
	rc=$rc_down
	ko "exit $rc_down, want 75"
elif ! has "not reachable" "$T/down.err"; then
	evidence "$T/down.err"
	ko "no clear message"
elif [ "$listed" -ne 0 ]; then
	ko "the local store has the domain PostgreSQL did not get"
else
	cli "$A" domain add down.fleet.test
	if [ "$rc" -ne 0 ]; then
		ko "after the restart: exit $rc"
	else
		ok
	fi
fi

finish
