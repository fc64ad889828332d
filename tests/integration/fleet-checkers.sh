#!/bin/sh
#
# fleet-checkers.sh - checkers sharing refreshes through PostgreSQL.
#
# NAME
#	fleet-checkers.sh - leases, fencing and one notice per verification
#
# SYNOPSIS
#	make check TESTS=tests/integration/fleet-checkers.sh
#
# DESCRIPTION
#	A real PostgreSQL (pg-harness.sh) and the test NSD (nsd-harness.sh,
#	tests/zones).  Cases: "db migrate" moves a version 1 schema to 3;
#	two `authready checkerd` processes (the checker role, their own
#	StateDirs) share one due round: every registered domain is checked
#	exactly once (event=fleet-check lines counted over both logs) and
#	each domain's state is in PostgreSQL; the domain that became
#	verified got exactly one confirmation mail in all (a stand-in
#	sendmail records its input) with its notice's Message-ID, marked
#	sent; a checker killed with SIGKILL while its checks hang (DNS on
#	the blackhole) leaves its leases, which run out, and the other
#	checker then does the work, once; a refresh whose lease was taken
#	meanwhile drops its late result (event=fleet-dropped) and writes
#	no state (fencing), and so does one whose lease a thief took
#	without committing before the fence read it (the write-back waits
#	for the row, sees the lease gone and does the flush again with the
#	rows locked: event=fleet-lease-moved); one batch whose lease of one domain was
#	taken is written back in one transaction (versions clock+1 .. in
#	one bump) without that domain; a result whose domain was removed
#	meanwhile is dropped too (its tombstone stays); one whose domain
#	was removed and registered again meanwhile is written from its
#	tombstone, not from the state its claim read (the first try fails
#	on the state's version: event=fleet-lease-moved); a notice handed to sendmail and never marked
#	sent (a crash between the two) is sent once more, with the same
#	Message-ID, then marked sent; a notice another sender took while
#	the batch's first was handed over is not sent (its claim is
#	renewed before each hand-off: event=fleet-notice-lost); two
#	`refresh --due` at once check
#	every domain once between them, and `refresh --all` every domain,
#	due or not; with PostgreSQL stopped refresh exits 75 and a running
#	checkerd works again once it is back, without a restart; a domain
#	registered while a checkerd runs is listed and checked by its next
#	round (rounds list only the newer registrations); a round over
#	more than a page of keys (400 more domains) starts at a key at
#	random and claims every domain once; an idle checkerd spaces its
#	rounds out (event=checkerd-idle) and a notification on
#	authready_due, then a registration, wakes it
#	(event=checkerd-woken).  The milter daemon's checker with
#	StoreDSN claims a newly registered domain, writes its state to
#	PostgreSQL and to its own LMDB; `db status` shows the leases and the
#	notices waiting.  With FleetRefresh no its due rounds claim nothing
#	(a due domain keeps no state) while a MAIL FROM still has its
#	domain checked into PostgreSQL.  A round whose background writer
#	planned its claim while authready_state was empty by its statistics
#	(VACUUM of the empty table) still looks each state up by key: the
#	table's scans (seq_scan) grow by the first claim's 2 at most, not
#	by one per domain.
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 PostgreSQL or NSD is not
#	installed, 99 the harness could not run.

set -u
LC_ALL=C
export LC_ALL
unset PGPASSWORD PGPASSFILE PGSERVICE

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY=${AUTHREADY:-$top_builddir/authready}
AUTHREADY_MILTER=${AUTHREADY_MILTER:-$top_builddir/authready-milter}
BLACKHOLE=${BLACKHOLE:-$top_builddir/tests/dns-blackhole}
ROWS=${ROWS:-$top_builddir/tests/replica-rows}
KEYS=$top_srcdir/tests/keys
SHOW_COLUMNS=400

# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
# shellcheck source=tests/integration/pg-harness.sh
. "$top_srcdir/tests/integration/pg-harness.sh"
# shellcheck source=tests/integration/nsd-harness.sh
. "$top_srcdir/tests/integration/nsd-harness.sh"

[ -x "$AUTHREADY" ] || lib_die "$AUTHREADY not built"
[ -x "$BLACKHOLE" ] || lib_die "$BLACKHOLE not built"
pg_find

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-fleetck.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
LIB_OUT=$T/out
LIB_ERR=$T/err
C1_PID=
C2_PID=
BH_PID=
M_PID=
WAIT_TENTHS=$(scaled 600)
CHECK_TIMEOUT=$(scaled 2)

nsd_start "$top_srcdir/tests/zones"
pg_start

# cleanup - stop what a failed case left running.
cleanup() {
	stop_pid "$C1_PID"
	stop_pid "$C2_PID"
	stop_pid "$BH_PID"
	stop_pid "$M_PID"
	stop_pid "${TH_PID:-}"
	M_PID=
	TH_PID=
	C1_PID=
	C2_PID=
	BH_PID=
}
at_exit cleanup

mkdir -p "$T/bin" "$T/mail"
cat >"$T/bin/rec-sendmail" <<REC
#!/bin/sh
# A stand-in sendmail: each message in its own file.
n=\$(ls "$T/mail" | wc -l)
cat >"$T/mail/msg.\$n.\$\$"
REC
chmod 0755 "$T/bin/rec-sendmail"

"$BLACKHOLE" "$T/bh.port" </dev/null >/dev/null 2>"$T/bh.err" &
BH_PID=$!
i=0
while [ ! -s "$T/bh.port" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
BH_PORT=$(tr -dc 0-9 <"$T/bh.port" 2>/dev/null)
[ -n "$BH_PORT" ] || lib_die "dns-blackhole wrote no port"

# conf NAME DNSPORT [admin] - host NAME's config: the checker role (the
# admin with "admin"), its own StateDir, DNS on 127.0.0.1:DNSPORT.
conf() {
	mkdir -p "$T/$1"
	chmod 0700 "$T/$1"
	{
		echo "StateDir $T/$1"
		if [ "${3:-}" = admin ]; then
			echo "StoreDSN $PG_DSN"
			echo "StoreDSNPasswordFile $PG_PASSWORD_FILE"
		else
			echo "StoreDSN $PG_DSN_CHECKER"
			echo "StoreDSNPasswordFile $PG_PASSWORD_FILE_CHECKER"
		fi
		echo "HostName $1.fleet.test"
		echo "DNSServers 127.0.0.1:$2"
		# slow's checks hang on the blackhole for DNSTimeout: long
		# enough (scaled under valgrind) for the SQL and CLI steps
		# the cases below take while one is in progress
		if [ "$1" = slow ]; then
			echo "DNSTimeout $(scaled 2)"
		else
			echo "DNSTimeout 1"
		fi
		echo "CheckTimeout $CHECK_TIMEOUT"
		echo "SendmailPath $T/bin/rec-sendmail -t -oi"
		echo "NotifyFrom noreply@operator.test"
	} >"$T/$1.conf"
}

conf admin "$NSD_PORT" admin
conf c1 "$NSD_PORT"
conf c2 "$NSD_PORT"
conf slow "$BH_PORT"
# w1, w2: a window of 2, so that a round of the 4 domains claims full
# batches and runs the background writer
for w in w1 w2; do
	conf "$w" "$NSD_PORT"
	echo "RefreshConcurrency 2" >>"$T/$w.conf"
done
ADMIN=$T/admin.conf

# sql SQL - one value from the database.
sql() {
	pg_psql "$1" 2>>"$T/psql.err"
}

# wait_sql SQL WANT - until SQL gives WANT; 1 at the deadline.
wait_sql() {
	i=0
	while [ "$(sql "$1")" != "$2" ]; do
		[ $i -lt "$WAIT_TENTHS" ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# checkerd NAME - start `authready checkerd` with NAME.conf; log in
# NAME.log; its PID in CK_PID.
checkerd() {
	"$AUTHREADY" -c "$T/$1.conf" checkerd </dev/null >/dev/null \
	    2>"$T/$1.log" &
	CK_PID=$!
}

# checks DOMAIN - event=fleet-check lines for DOMAIN in all logs.
checks() {
	cat "$T"/*.log 2>/dev/null |
	    grep 'event=fleet-check ' | grep -c "domain=$1 " || true
}

# wait_checks DOMAIN... - until each DOMAIN has an event=fleet-check
# line in the logs (a running checkerd's lines are written by a thread
# of their own, a batch at a time: they can come after its write-back
# is seen in PostgreSQL); 1 at the deadline.
wait_checks() {
	i=0
	for wc_d in "$@"; do
		while [ "$(checks "$wc_d")" -lt 1 ]; do
			[ $i -lt "$WAIT_TENTHS" ] || return 1
			sleep 0.1
			i=$((i + 1))
		done
	done
}

# ---------------------------------------------------------------- schema

case_ db-migrate-1-to-5
cli "$ADMIN" db init
pg_psql "DROP TABLE authready_checks, authready_notices,
    authready_webhook_outbox;
    DROP SEQUENCE authready_lease_token;
    UPDATE authready_meta SET value = '1' WHERE key = 'schema_version'" \
    >/dev/null 2>&1
cli "$ADMIN" db migrate
if [ "$rc" -ne 0 ]; then
	ko "exit $rc"
elif [ "$(sql "SELECT value FROM authready_meta
    WHERE key = 'schema_version'")" != 5 ]; then
	ko "schema_version is not 5"
elif [ "$(sql "SELECT count(*) FROM pg_tables WHERE tablename IN
    ('authready_checks', 'authready_notices',
    'authready_webhook_outbox')")" != 3 ]; then
	ko "tables missing"
elif [ "$(sql "SELECT count(*) FROM pg_indexes
    WHERE indexname = 'authready_checks_next'")" != 0 ]; then
	ko "version 4 keeps the index on next_check"
elif [ "$(sql "SELECT array_to_string(reloptions, ',') FROM pg_class
    WHERE relname = 'authready_checks'")" != fillfactor=50 ]; then
	ko "authready_checks without fillfactor 50"
else
	ok
fi

case_ db-migrate-4-to-5-a-check-row-per-registered-domain
# Version 5: a row in authready_checks for each registered domain and
# none other (the registry's writes keep it so from then on).  Made of
# a version 4 database holding a registered domain without its row and
# a removed one with its row.
sql "INSERT INTO authready_registry (domain, entry, version, deleted)
    VALUES ('listed.test', '\\x00', 1, false),
    ('gone.test', NULL, 1, true);
    INSERT INTO authready_checks (domain) VALUES ('gone.test');
    UPDATE authready_meta SET value = '4' WHERE key = 'schema_version'" \
    >/dev/null
cli "$ADMIN" db migrate
if [ "$rc" -ne 0 ]; then
	ko "exit $rc"
elif [ "$(sql "SELECT string_agg(domain, ' ' ORDER BY domain)
    FROM authready_checks")" != listed.test ]; then
	ko "rows: $(sql "SELECT string_agg(domain, ' ') FROM authready_checks")"
else
	ok
fi
sql "DELETE FROM authready_checks; DELETE FROM authready_registry" >/dev/null

# The checker role's privileges: what `db grants` prints.
"$AUTHREADY" -c "$ADMIN" db grants >"$T/grants.sql"
pg_psql "$(grep -v '^--' "$T/grants.sql")" >/dev/null 2>"$T/grants.err" ||
    lib_die "the GRANTs failed: $(cat "$T/grants.err")"

# ---------------------------------------------------------------- rounds

DOMAINS="example.com example.net example.org spf.test"
cli "$ADMIN" domain add example.com --selector 1234rpr \
    --key "$KEYS/rsa2048.pem" --contact owner@example.com
for d in example.net example.org spf.test; do
	cli "$ADMIN" domain add "$d"
done

case_ registry-writes-keep-a-check-row-per-domain
# Each registration inserts its row in authready_checks, due at once;
# a removal deletes it (no round seeds them any more).
n0=$(sql "SELECT count(*) FROM authready_checks")
cli "$ADMIN" domain add rowkeep.test
n1=$(sql "SELECT count(*) FROM authready_checks
    WHERE domain = 'rowkeep.test' AND next_check = '-infinity'")
cli "$ADMIN" domain remove rowkeep.test
n2=$(sql "SELECT count(*) FROM authready_checks
    WHERE domain = 'rowkeep.test'")
if [ "$n0" != 4 ]; then
	ko "$n0 rows for the 4 domains registered"
elif [ "$n1" != 1 ]; then
	ko "no row due at once after domain add"
elif [ "$n2" != 0 ]; then
	ko "the row stays after domain remove"
else
	ok
fi
sql "DELETE FROM authready_state WHERE domain = 'rowkeep.test';
    DELETE FROM authready_registry WHERE domain = 'rowkeep.test'" >/dev/null

case_ two-checkers-each-domain-once
checkerd c1
C1_PID=$CK_PID
checkerd c2
C2_PID=$CK_PID
if ! wait_sql "SELECT count(*) FROM authready_checks WHERE checked
    IS NOT NULL" 4; then
	ko "not every domain was written back: $(sql "SELECT
	    string_agg(domain, ' ') FROM authready_checks
	    WHERE checked IS NULL")"
elif ! wait_sql "SELECT count(*) FROM authready_state" 4; then
	ko "states missing in PostgreSQL"
else
	# shellcheck disable=SC2086 # the list of domains
	wait_checks $DOMAINS || :
	bad=
	for d in $DOMAINS; do
		n=$(checks "$d")
		[ "$n" = 1 ] || bad="$bad $d:$n"
	done
	if [ -n "$bad" ]; then
		ko "checked other than once:$bad"
	else
		ok
	fi
fi

case_ one-confirmation-mail
st=$(sql "SELECT readiness FROM authready_state WHERE domain =
    'example.com'")
if [ "$st" != verified ]; then
	skip "example.com is $st after one check, not verified"
elif ! wait_sql "SELECT count(*) FROM authready_notices WHERE sent_at
    IS NOT NULL" 1; then
	ko "the notice was not marked sent"
else
	id=$(sql "SELECT message_id FROM authready_notices")
	n=$(ls "$T/mail" | wc -l)
	if [ "$n" != 1 ]; then
		ko "$n mails, want 1"
	elif ! grep -qF "Message-ID: $id" "$T"/mail/msg.*; then
		ko "the mail does not carry the notice's Message-ID $id"
	else
		ok
	fi
fi
stop_wait "$C1_PID" "$WAIT_TENTHS"
stop_wait "$C2_PID" "$WAIT_TENTHS"
C1_PID=
C2_PID=

case_ killed-checker-leases-expire
# Due again; the slow checker (DNS on the blackhole) claims them, hangs
# and is killed; the other finishes once its leases have run out.
: >"$T/c1.log"
: >"$T/c2.log"
sql "UPDATE authready_checks SET next_check = '-infinity'" >/dev/null
checkerd slow
S_PID=$CK_PID
if ! wait_sql "SELECT count(*) FROM authready_checks
    WHERE lease_owner LIKE 'slow.fleet.test/%'" 4; then
	ko "the slow checker claimed nothing"
	kill -9 "$S_PID" 2>/dev/null
else
	until=$(sql "SELECT min(lease_until) FROM authready_checks")
	kill -9 "$S_PID"
	wait "$S_PID" 2>/dev/null
	mv "$T/slow.log" "$T/slow.killed"
	checkerd c2
	C2_PID=$CK_PID
	if ! wait_sql "SELECT count(*) FROM authready_checks
	    WHERE lease_owner IS NULL AND checked > now() - interval '1 min'
	    AND next_check > now()" 4; then
		ko "the leases were not taken over"
	else
		# shellcheck disable=SC2086 # the list of domains
		wait_checks $DOMAINS || :
		bad=
		for d in $DOMAINS; do
			n=$(checks "$d")
			[ "$n" = 1 ] || bad="$bad $d:$n"
		done
		early=$(sql "SELECT string_agg(domain, ' ') FROM
		    authready_checks WHERE checked < '$until'")
		if [ -n "$bad" ]; then
			ko "checked by the survivor other than once:$bad"
		elif [ -n "$early" ]; then
			ko "taken over before the lease ran out ($until): $early"
		elif [ "$(ls "$T/mail" | wc -l)" != 1 ]; then
			ko "a second confirmation mail"
		else
			ok
		fi
	fi
	stop_wait "$C2_PID" "$WAIT_TENTHS"
	C2_PID=
fi

# slow_refresh_net - `refresh example.net` with the slow checker in the
# background (R_PID; its log in $T/err), until it holds the lease.
slow_refresh_net() {
	"$AUTHREADY" -c "$T/slow.conf" refresh example.net >"$T/out" \
	    2>"$T/err" &
	R_PID=$!
	wait_sql "SELECT count(*) FROM authready_checks WHERE domain =
	    'example.net' AND lease_owner LIKE 'slow.fleet.test/%'" 1
}

# late_result_dropped V - that refresh's result came after the thief
# took its lease: dropped and logged, no state written (example.net
# still at version V), the thief's lease kept.
late_result_dropped() {
	if ! grep -q 'event=fleet-dropped .*domain=example.net' "$T/err"; then
		ko "no event=fleet-dropped"
	elif [ "$(sql "SELECT version FROM authready_state
	    WHERE domain = 'example.net'")" != "$1" ]; then
		ko "the late result was written"
	elif [ "$(sql "SELECT lease_owner FROM authready_checks
	    WHERE domain = 'example.net'")" != thief ]; then
		ko "the thief's lease was released"
	else
		ok
	fi
}

case_ lost-lease-result-dropped
v=$(sql "SELECT version FROM authready_state WHERE domain = 'example.net'")
if ! slow_refresh_net; then
	ko "the refresh claimed nothing"
else
	# Another checker took it (as after the lease ran out).
	sql "UPDATE authready_checks SET lease_owner = 'thief',
	    lease_token = nextval('authready_lease_token')
	    WHERE domain = 'example.net'" >/dev/null
	wait "$R_PID"
	late_result_dropped "$v"
fi
R_PID=

case_ lease-moved-during-write-back
# A thief's claim of the lease, not yet committed when the checker's
# fence reads it: the write-back waits for that row, finds the lease
# gone, and the whole flush is done again with the rows locked; the
# late result is dropped, nothing of it written.
sql "UPDATE authready_checks SET lease_owner = NULL, lease_until = NULL,
    lease_token = NULL WHERE domain = 'example.net'" >/dev/null
v=$(sql "SELECT version FROM authready_state WHERE domain = 'example.net'")
if ! slow_refresh_net; then
	ko "the refresh claimed nothing"
else
	rm -f "$T/thief.fifo"
	mkfifo "$T/thief.fifo"
	"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" \
	    -U postgres -d authready <"$T/thief.fifo" >"$T/thief.out" 2>&1 &
	TH_PID=$!
	exec 4>"$T/thief.fifo"
	echo "BEGIN; UPDATE authready_checks SET lease_owner = 'thief',
	    lease_token = nextval('authready_lease_token')
	    WHERE domain = 'example.net';" >&4
	# the thief holds the row; the checker's write-back waits for it
	if ! wait_sql "SELECT count(*) FROM pg_stat_activity WHERE
	    usename = 'authready_checker' AND wait_event_type = 'Lock'" 1
	then
		ko "the write-back never waited for the thief's row"
		echo "ROLLBACK;" >&4
	else
		echo "COMMIT;" >&4
	fi
	exec 4>&-
	wait "$TH_PID"
	wait "$R_PID"
	if ! grep -q 'event=fleet-lease-moved ' "$T/err"; then
		ko "no event=fleet-lease-moved"
	else
		late_result_dropped "$v"
	fi
fi
R_PID=
TH_PID=

case_ one-batch-one-transaction-fenced-per-result
# A refresh holds every domain (its checks hang on the blackhole); one
# lease is taken meanwhile.  The batch is written back in one
# transaction (one xmin), its versions the next ones after the clock,
# one each, the clock at the last; the stolen domain alone is dropped.
# (The thief's lease of the case before is let go, as after it ran out.)
sql "UPDATE authready_checks SET lease_owner = NULL, lease_until = NULL,
    lease_token = NULL WHERE lease_owner = 'thief'" >/dev/null
v0=$(sql "SELECT version FROM authready_clock")
nv=$(sql "SELECT version FROM authready_state WHERE domain = 'example.net'")
n=$(sql "SELECT count(*) FROM authready_registry WHERE NOT deleted")
"$AUTHREADY" -c "$T/slow.conf" refresh --all >"$T/out" 2>"$T/err" &
R_PID=$!
if ! wait_sql "SELECT count(*) FROM authready_checks
    WHERE lease_owner LIKE 'slow.fleet.test/%'" "$n"; then
	ko "the refresh did not claim the $n domains"
	wait "$R_PID"
else
	sql "UPDATE authready_checks SET lease_owner = 'thief',
	    lease_token = nextval('authready_lease_token')
	    WHERE domain = 'example.net'" >/dev/null
	wait "$R_PID"
	got=$(sql "SELECT count(*) || ' ' || count(DISTINCT xmin::text) ||
	    ' ' || min(version) || ' ' || max(version) FROM authready_state
	    WHERE version > $v0")
	want="$((n - 1)) 1 $((v0 + 1)) $((v0 + n - 1))"
	if ! grep -q 'event=fleet-dropped .*domain=example.net' "$T/err"; then
		ko "no event=fleet-dropped"
	elif [ "$got" != "$want" ]; then
		ko "written (rows, transactions, versions): $got, not $want"
	elif [ "$(sql "SELECT version FROM authready_clock")" -ne \
	    $((v0 + n - 1)) ]; then
		ko "clock $(sql "SELECT version FROM authready_clock")," \
		    "not $((v0 + n - 1))"
	elif [ "$(sql "SELECT version FROM authready_state
	    WHERE domain = 'example.net'")" != "$nv" ]; then
		ko "the stolen domain's late result was written"
	elif [ "$(sql "SELECT count(*) FROM authready_checks
	    WHERE lease_owner IS NOT NULL")" -ne 1 ]; then
		ko "leases left: $(sql "SELECT string_agg(domain, ' ')
		    FROM authready_checks WHERE lease_owner IS NOT NULL")"
	else
		ok
	fi
fi
R_PID=
sql "UPDATE authready_checks SET lease_owner = NULL, lease_until = NULL,
    lease_token = NULL WHERE lease_owner = 'thief'" >/dev/null

case_ removed-while-checked-stays-removed
"$AUTHREADY" -c "$T/slow.conf" refresh example.org >"$T/out" 2>"$T/err" &
R_PID=$!
if ! wait_sql "SELECT count(*) FROM authready_checks WHERE domain =
    'example.org' AND lease_owner LIKE 'slow.fleet.test/%'" 1; then
	ko "the refresh claimed nothing"
	wait "$R_PID"
else
	cli "$ADMIN" domain remove example.org
	wait "$R_PID"
	if [ "$rc" -ne 0 ]; then
		ko "domain remove: exit $rc"
	elif ! grep -q 'event=fleet-dropped .*domain=example.org' \
	    "$T/err"; then
		ko "no event=fleet-dropped"
	elif [ "$(sql "SELECT deleted FROM authready_state
	    WHERE domain = 'example.org'")" != t ]; then
		ko "the removed domain's state was written again"
	else
		ok
	fi
fi
R_PID=
cli "$ADMIN" domain add example.org

case_ removed-and-added-while-checked-dropped-then-due
# A domain removed and registered again while its check hangs: the
# registration takes the lease away (the check read the old entry:
# its issued values, its contact), so the write-back finds its token
# gone, rolls back, and after the fence drops the result
# (event=fleet-dropped) instead of writing it; the new registration is
# due at once, and the next refresh writes it from the tombstone.
# (Checked first: a live state, not the tombstone of the case before,
# is what the claim reads; the lease of that case's dropped result let
# go, as after it ran out.)
sql "UPDATE authready_checks SET lease_owner = NULL, lease_until = NULL,
    lease_token = NULL WHERE domain = 'example.org'" >/dev/null
cli "$T/c1.conf" refresh example.org
"$AUTHREADY" -c "$T/slow.conf" refresh example.org >"$T/slow.out" \
    2>"$T/slow.err" &
R_PID=$!
if [ "$(sql "SELECT deleted FROM authready_state
    WHERE domain = 'example.org'")" != f ]; then
	ko "example.org has no live state to start from"
	wait "$R_PID"
elif ! wait_sql "SELECT count(*) FROM authready_checks WHERE domain =
    'example.org' AND lease_owner LIKE 'slow.fleet.test/%'" 1; then
	ko "the refresh claimed nothing"
	wait "$R_PID"
else
	cli "$ADMIN" domain remove example.org
	rc1=$rc
	cli "$ADMIN" domain add example.org
	rc2=$rc
	vt=$(sql "SELECT version FROM authready_state
	    WHERE domain = 'example.org'")
	due=$(sql "SELECT (lease_token IS NULL AND next_check <= now())::text
	    FROM authready_checks WHERE domain = 'example.org'")
	wait "$R_PID"
	cli "$T/c1.conf" refresh example.org
	if [ "$rc1" -ne 0 ] || [ "$rc2" -ne 0 ]; then
		ko "domain remove, add: exit $rc1, $rc2"
	elif [ "$due" != true ]; then
		ko "the new registration is not due at once, its lease free"
	elif ! grep -q 'event=fleet-lease-moved ' "$T/slow.err"; then
		ko "no event=fleet-lease-moved (written over the state read)"
	elif ! grep -q 'event=fleet-dropped .*domain=example.org' "$T/slow.err"; then
		ko "the old registration's result was not dropped"
	elif grep -q 'event=fleet-write .*domain=example.org' "$T/slow.err"; then
		ko "the old registration's result was written"
	elif [ "$(sql "SELECT deleted::text || ' ' || (version > $vt)::text
	    FROM authready_state WHERE domain = 'example.org'")" != \
	    "false true" ]; then
		ko "state $(sql "SELECT deleted, version FROM authready_state
		    WHERE domain = 'example.org'"), tombstone at $vt"
	else
		ok
	fi
fi
R_PID=

case_ handed-notice-resent-once
sql "UPDATE authready_notices SET sent_at = NULL, claimed_by = 'gone',
    claimed_until = now() - interval '1 s', handed_at = now()" >/dev/null
cli "$T/c1.conf" refresh --due
n=$(ls "$T/mail" | wc -l)
id=$(sql "SELECT message_id FROM authready_notices")
if [ "$(sql "SELECT count(*) FROM authready_notices")" = 0 ]; then
	skip "no notice (example.com not verified)"
elif [ "$n" != 2 ]; then
	ko "$n mails in all, want 2 (one resend)"
elif [ "$(grep -lF "Message-ID: $id" "$T"/mail/msg.* | wc -l)" != 2 ]; then
	ko "the resend has another Message-ID"
elif [ "$(sql "SELECT count(*) FROM authready_notices
    WHERE sent_at IS NOT NULL")" != 1 ]; then
	ko "not marked sent after the resend"
else
	cli "$T/c1.conf" refresh --due
	if [ "$(ls "$T/mail" | wc -l)" != 2 ]; then
		ko "sent a third time"
	else
		ok
	fi
fi

case_ notice-taken-by-another-sender-not-sent
# Two notices wait; while the first is handed to sendmail, another
# sender takes the second (as when the batch's claim ran out under a
# slow hand-off: the stand-in sendmail plays that sender, by SQL).  The
# checker renews each notice's claim before its hand-off, finds the
# second one gone (event=fleet-notice-lost) and does not send it: one
# mail, not two; the other sender's claim is left as it is.
if [ "$(sql "SELECT count(*) FROM authready_notices")" = 0 ]; then
	skip "no notice (example.com not verified)"
else
	cat >"$T/bin/thief-sendmail" <<REC
#!/bin/sh
"$PSQL" -X -q -h "$PG_DIR" -p "$PG_PORT" -U postgres -d authready -c \
    "UPDATE authready_notices SET claimed_by = 'thief',
    claimed_until = now() + interval '1 hour'
    WHERE domain = 'second.notice.test'" >/dev/null 2>&1
n=\$(ls "$T/mail" | wc -l)
cat >"$T/mail/msg.\$n.\$\$"
REC
	chmod 0755 "$T/bin/thief-sendmail"
	sed "s|^SendmailPath .*|SendmailPath $T/bin/thief-sendmail -t -oi|" \
	    "$T/c1.conf" >"$T/thief.conf"
	sql "UPDATE authready_notices SET sent_at = NULL, claimed_by = NULL,
	    claimed_until = NULL, handed_at = NULL,
	    created = now() - interval '2 s'" >/dev/null
	sql "INSERT INTO authready_notices (domain, verified_version,
	    message_id, message, created) SELECT 'second.notice.test',
	    verified_version, '<second@notice.test>', message,
	    now() - interval '1 s' FROM authready_notices LIMIT 1" >/dev/null
	before=$(ls "$T/mail" | wc -l)
	cli "$T/thief.conf" refresh --due
	after=$(ls "$T/mail" | wc -l)
	left=$(sql "SELECT claimed_by || ' ' || (sent_at IS NULL) || ' ' ||
	    (handed_at IS NULL) FROM authready_notices
	    WHERE domain = 'second.notice.test'")
	evidence "$LIB_ERR"
	if [ "$rc" -ne 0 ]; then
		ko "refresh --due: exit $rc"
	elif [ $((after - before)) -ne 1 ]; then
		ko "$((after - before)) mails, want 1"
	elif ! grep -q 'event=fleet-notice-lost .*domain=second.notice.test' \
	    "$LIB_ERR"; then
		ko "no event=fleet-notice-lost for the notice taken"
	elif [ "$left" != "thief true true" ]; then
		ko "the taken notice was touched: $left"
	else
		ok
	fi
	sql "DELETE FROM authready_notices
	    WHERE domain = 'second.notice.test'" >/dev/null
fi

case_ refresh-due-each-once-then-all
# Two refresh --due at once share one round: every domain once between
# them; then a refresh --all checks every domain, due or not.
sql "UPDATE authready_checks SET lease_owner = NULL, lease_until = NULL,
    lease_token = NULL, next_check = '-infinity'" >/dev/null
: >"$T/c1.log"
: >"$T/c2.log"
mv "$T/slow.log" "$T/slow.before" 2>/dev/null
"$AUTHREADY" -c "$T/c1.conf" refresh --due >"$T/r1.out" 2>"$T/c1.log" &
r1=$!
"$AUTHREADY" -c "$T/c2.conf" refresh --due >"$T/r2.out" 2>"$T/c2.log" &
r2=$!
wait "$r1"
rc1=$?
wait "$r2"
rc2=$?
bad=
for d in $DOMAINS; do
	n=$(checks "$d")
	[ "$n" = 1 ] || bad="$bad $d:$n"
done
if [ "$rc1" -ne 0 ] || [ "$rc2" -ne 0 ]; then
	ko "exit $rc1 and $rc2"
elif [ -n "$bad" ]; then
	ko "checked other than once:$bad"
else
	: >"$T/c1.log"
	: >"$T/c2.log"
	"$AUTHREADY" -c "$T/c1.conf" refresh --all >"$T/r1.out" \
	    2>"$T/c1.log"
	rc1=$?
	for d in $DOMAINS; do
		n=$(checks "$d")
		[ "$n" = 1 ] || bad="$bad $d:$n"
	done
	if [ "$rc1" -ne 0 ]; then
		ko "refresh --all: exit $rc1"
	elif [ -n "$bad" ]; then
		ko "refresh --all checked other than once:$bad"
	elif ! grep -q '^checked 4: ' "$T/r1.out"; then
		ko "refresh --all: $(cat "$T/r1.out")"
	else
		ok
	fi
fi

case_ background-writer-each-domain-once
# Two refresh --due at once, each round's first claim full (a window of
# 2, 4 domains): each runs the background writer (claims made ahead,
# write-backs on its second connection).  Every domain checked once,
# written back once at the next versions, no lease left behind.
sql "UPDATE authready_checks SET lease_owner = NULL, lease_until = NULL,
    lease_token = NULL, next_check = '-infinity'" >/dev/null
v0=$(sql "SELECT version FROM authready_clock")
"$AUTHREADY" -c "$T/w1.conf" refresh --due >"$T/w1.out" 2>"$T/w1.err" &
r1=$!
"$AUTHREADY" -c "$T/w2.conf" refresh --due >"$T/w2.out" 2>"$T/w2.err" &
r2=$!
wait "$r1"
rc1=$?
wait "$r2"
rc2=$?
bad=
for d in $DOMAINS; do
	n=$(cat "$T/w1.err" "$T/w2.err" | grep 'event=fleet-check ' |
	    grep -c "domain=$d " || true)
	[ "$n" = 1 ] || bad="$bad $d:$n"
done
got=$(sql "SELECT count(*) || ' ' || count(DISTINCT version) || ' ' ||
    max(version) FROM authready_state WHERE version > $v0")
if [ "$rc1" -ne 0 ] || [ "$rc2" -ne 0 ]; then
	ko "exit $rc1 and $rc2: $(cat "$T/w1.err" "$T/w2.err")"
elif ! grep -q 'event=fleet-writer ' "$T/w1.err" "$T/w2.err"; then
	ko "no round ran the background writer"
elif [ -n "$bad" ]; then
	ko "checked other than once:$bad"
elif [ "$got" != "4 4 $(sql "SELECT version FROM authready_clock")" ]; then
	ko "written (rows, versions, last): $got"
elif [ "$(sql "SELECT count(*) FROM authready_checks
    WHERE lease_owner IS NOT NULL")" -ne 0 ]; then
	ko "leases left: $(sql "SELECT string_agg(domain, ' ')
	    FROM authready_checks WHERE lease_owner IS NOT NULL")"
else
	ok
fi

case_ big-round-from-a-random-key-each-domain-once
# A round over more than a page of keys starts at a key picked at
# random, walks to the last key, then from the first up to where it
# started: 400 more domains (r0.example ...: NXDOMAIN, quickly failed)
# in one `refresh --all`, every domain claimed and written once.
if ! "$ROWS" copy r 400 1 >"$T/rows.copy"; then
	ko "replica-rows failed"
else
	pg_psql "COPY authready_registry FROM STDIN" <"$T/rows.copy" \
	    >/dev/null
	# their rows in authready_checks, as a registration inserts them
	sql "INSERT INTO authready_checks (domain) SELECT domain
	    FROM authready_registry WHERE domain LIKE 'r%.example'" >/dev/null
	n=$(sql "SELECT count(*) FROM authready_registry WHERE NOT deleted")
	cli "$T/c1.conf" refresh --all
	cp "$LIB_ERR" "$T/big.err"
	checked=$(grep -c 'event=fleet-check ' "$T/big.err")
	twice=$(grep 'event=fleet-check ' "$T/big.err" |
	    sed -n 's/.* domain=\([^ ]*\).*/\1/p' | sort | uniq -d | wc -l)
	pages=$(sql "SELECT pg_relation_size('authready_checks') /
	    current_setting('block_size')::bigint")
	if [ "$rc" -ne 0 ]; then
		evidence "$T/big.err"
		ko "refresh --all: exit $rc"
	elif [ "$pages" -le 1 ]; then
		ko "authready_checks is $pages page: no random start"
	elif [ "$checked" -ne "$n" ] || [ "$twice" -ne 0 ]; then
		ko "$checked checks of $n domains, $twice twice"
	elif [ "$(sql "SELECT count(*) FROM authready_state s JOIN
	    authready_registry r USING (domain) WHERE NOT r.deleted")" -ne \
	    "$n" ]; then
		ko "not every domain's state was written"
	else
		ok
	fi
fi
sql "DELETE FROM authready_state WHERE domain LIKE 'r%.example';
    DELETE FROM authready_checks WHERE domain LIKE 'r%.example';
    DELETE FROM authready_registry WHERE domain LIKE 'r%.example'" \
    >/dev/null

case_ unregistered-row-let-go-missing-row-made
# A row in authready_checks of a domain not registered (by hand here;
# a race of an older authready) is let go and never due by the claim
# that finds it, and not checked (its result would write a live state
# over the removal's tombstone); a registered domain whose row is
# missing gets it back from a check asked for by name.
sql "INSERT INTO authready_checks (domain) VALUES ('stray.example');
    DELETE FROM authready_checks WHERE domain = 'example.net'" >/dev/null
cli "$T/c1.conf" refresh --due
cp "$LIB_ERR" "$T/stray.err"
parked=$(sql "SELECT (lease_token IS NULL AND next_check = 'infinity')::text
    FROM authready_checks WHERE domain = 'stray.example'")
cli "$T/c1.conf" refresh example.net
made=$(sql "SELECT count(*) FROM authready_checks
    WHERE domain = 'example.net' AND checked IS NOT NULL")
if ! grep -q 'event=fleet-unregistered-row .*domain=stray.example' \
    "$T/stray.err"; then
	evidence "$T/stray.err"
	ko "no event=fleet-unregistered-row for stray.example"
elif [ "$parked" != true ]; then
	ko "stray.example's row not let go and never due ($parked)"
elif grep -q 'event=fleet-check .*domain=stray.example' "$T/stray.err"; then
	ko "stray.example was checked"
elif [ "$(sql "SELECT count(*) FROM authready_state
    WHERE domain = 'stray.example'")" != 0 ]; then
	ko "a state was written for stray.example"
elif [ "$rc" -ne 0 ] || [ "$made" != 1 ]; then
	ko "example.net's row not made and checked (exit $rc, $made)"
else
	ok
fi
sql "DELETE FROM authready_checks WHERE domain = 'stray.example'" >/dev/null

case_ db-status-leases-notices
sql "UPDATE authready_checks SET lease_owner = 'c9.fleet.test/1',
    lease_until = now() + interval '1 h' WHERE domain = 'spf.test'" \
    >/dev/null
# a check due two hours ago that no checker took
sql "UPDATE authready_checks SET lease_owner = NULL, lease_until = NULL,
    lease_token = NULL, next_check = now() - interval '2 hours'
    WHERE domain = 'example.net'" >/dev/null
cli "$ADMIN" db status
if [ "$rc" -ne 0 ]; then
	ko "exit $rc"
elif ! grep -q 'c9\.fleet\.test/1' "$LIB_OUT"; then
	ko "the lease is not shown"
elif ! grep -q '^notices waiting: 0' "$LIB_OUT"; then
	ko "no count of waiting notices"
elif ! grep -Eq '^checks due: [1-9][0-9]*.*; the longest waiting due since [0-9T:-]+Z, (71|72)[0-9][0-9]s ago$' \
    "$LIB_OUT"; then
	ko "no line of the checks due since two hours"
else
	ok
fi

case_ running-checkerd-checks-later-registrations
# A registration made while a checkerd runs (after its first round) is
# due at once (its row in authready_checks comes with it) and checked
# by the next round.
sql "UPDATE authready_checks SET next_check = '-infinity',
    lease_owner = NULL, lease_until = NULL, lease_token = NULL
    WHERE domain = 'example.net'" >/dev/null
: >"$T/c1.log"
checkerd c1
C1_PID=$CK_PID
wait_line "$T/c1.log" 'event=fleet-round ' || :
cli "$ADMIN" domain add late.example.org
if ! grep -q 'event=fleet-round ' "$T/c1.log"; then
	evidence "$T/c1.log"
	ko "checkerd made no round"
elif [ "$rc" -ne 0 ]; then
	ko "domain add: exit $rc"
elif ! wait_sql "SELECT count(*) FROM authready_state
    WHERE domain = 'late.example.org'" 1; then
	evidence "$T/c1.log"
	ko "the later registration was never checked"
else
	ok
fi
stop_wait "$C1_PID" "$WAIT_TENTHS"
C1_PID=
cli "$ADMIN" domain remove late.example.org

case_ postgresql-down-checkerd-converges
# refresh with PostgreSQL down: 75, nothing done; a running checkerd
# rides out the outage and works again once it is back, no restart.
: >"$T/c1.log"
checkerd c1
C1_PID=$CK_PID
wait_line "$T/c1.log" 'event=checkerd-start' || :
pg_stop
cli "$T/c2.conf" refresh --due
r75=$rc
wait_line "$T/c1.log" 'event=checkerd-db-down' || :
pg_restart
sql "UPDATE authready_checks SET next_check = '-infinity',
    lease_owner = NULL, lease_until = NULL, lease_token = NULL
    WHERE domain = 'example.net'" >/dev/null
back=$(sql "SELECT now()")
if [ "$r75" -ne 75 ]; then
	ko "refresh with PostgreSQL down: exit $r75, want 75"
elif ! grep -q 'event=checkerd-db-down' "$T/c1.log"; then
	evidence "$T/c1.log"
	ko "checkerd did not notice the outage"
elif ! wait_sql "SELECT count(*) FROM authready_checks WHERE domain =
    'example.net' AND checked > '$back'" 1; then
	evidence "$T/c1.log"
	ko "checkerd did not check again after PostgreSQL came back"
elif ! wait_line "$T/c1.log" 'event=checkerd-db-reconnected'; then
	ko "no event=checkerd-db-reconnected"
else
	ok
fi
stop_wait "$C1_PID" "$WAIT_TENTHS"
C1_PID=

case_ idle-checkerd-waits-longer-woken-by-notifications
# A checkerd with nothing due spaces its rounds out (each idle round
# reads every key of authready_checks) up to the daemon's tick
# (event=checkerd-idle), and a notification cuts the wait short
# (event=checkerd-woken): a check asked for (authready_due, as
# pgreg_check_row sends it), then a registration (authready_changes).
sql "UPDATE authready_checks SET next_check = now() + interval '1 day',
    lease_owner = NULL, lease_until = NULL, lease_token = NULL" >/dev/null
: >"$T/c1.log"
checkerd c1
C1_PID=$CK_PID
wait_line "$T/c1.log" 'event=checkerd-idle ' || :
before=$(checks example.net)
sql "BEGIN; UPDATE authready_checks SET next_check = '-infinity'
    WHERE domain = 'example.net';
    SELECT pg_notify('authready_due', 'example.net'); COMMIT" >/dev/null
wait_line "$T/c1.log" 'event=checkerd-woken ' || :
i=0
while [ "$(checks example.net)" -le "$before" ] && [ $i -lt "$WAIT_TENTHS" ]; do
	sleep 0.1
	i=$((i + 1))
done
# idle again, then woken by a registration
i=0
while [ "$(grep -c 'event=checkerd-idle ' "$T/c1.log")" -lt 2 ] &&
    [ $i -lt "$WAIT_TENTHS" ]; do
	sleep 0.1
	i=$((i + 1))
done
cli "$ADMIN" domain add woken.example.org
added=$rc
wait_checks woken.example.org || :
if ! grep -q 'event=checkerd-idle ' "$T/c1.log"; then
	evidence "$T/c1.log"
	ko "an idle checkerd never spaced its rounds out"
elif [ "$(checks example.net)" -le "$before" ]; then
	evidence "$T/c1.log"
	ko "the check asked for was never made"
elif [ "$(grep -c 'event=checkerd-idle ' "$T/c1.log")" -lt 2 ]; then
	evidence "$T/c1.log"
	ko "the checkerd did not space its rounds out again"
elif [ "$added" -ne 0 ]; then
	ko "domain add: exit $added"
elif [ "$(checks woken.example.org)" -lt 1 ]; then
	evidence "$T/c1.log"
	ko "the registration was never checked"
elif [ "$(grep -c 'event=checkerd-woken ' "$T/c1.log")" -lt 2 ]; then
	evidence "$T/c1.log"
	ko "not woken by both notifications"
else
	ok
fi
stop_wait "$C1_PID" "$WAIT_TENTHS"
C1_PID=
cli "$ADMIN" domain remove woken.example.org

case_ daemon-checker-writes-postgresql
dgroup=nogroup
getent group "$dgroup" >/dev/null 2>&1 || dgroup=nobody
conf m "$NSD_PORT"
mkdir -p "$T/sock"
{
	echo "Socket unix:$T/sock/milter.sock"
	echo "Syslog no"
	echo "PidFile $T/sock/milter.pid"
} >>"$T/m.conf"
if [ "$(id -u)" -eq 0 ]; then
	# Root runs the daemon as nobody: it must reach its files.
	chmod 0755 "$T"
	cp "$PG_PASSWORD_FILE_CHECKER" "$T/m.password"
	sed -i "s|^StoreDSNPasswordFile .*|StoreDSNPasswordFile $T/m.password|" \
	    "$T/m.conf"
	echo "UserID nobody:$dgroup" >>"$T/m.conf"
	chown -R "nobody:$dgroup" "$T/m" "$T/sock" "$T/m.password"
	chmod 0644 "$T/m.conf"
fi
cli "$ADMIN" domain add amazonses.com
"$AUTHREADY_MILTER" -c "$T/m.conf" -f </dev/null >/dev/null \
    2>"$T/m.log" &
M_PID=$!
evidence "$T/m.log"
if ! wait_sql "SELECT count(*) FROM authready_state
    WHERE domain = 'amazonses.com'" 1; then
	pg_psql "SELECT * FROM authready_checks" >"$T/checks.txt" 2>&1
	evidence "$T/checks.txt"
	ko "no state in PostgreSQL from the daemon's checker"
elif ! wait_line "$T/m.log" 'event=fleet-check .*domain=amazonses.com'; then
	ko "the daemon did not log its claim"
else
	cli "$T/m.conf" status amazonses.com
	if grep -q "never checked" "$LIB_OUT" "$LIB_ERR"; then
		ko "the daemon's LMDB has no state"
	else
		ok
	fi
fi

case_ daemon-mail-from-miss-checked-into-postgresql
# A domain registered on this host (PostgreSQL and its LMDB) and never
# checked: the first MAIL FROM asks the daemon's checker, which claims
# it and writes its result to PostgreSQL within CheckWait, long before
# the next due round (every 15 s).
MILTERTEST=${MILTERTEST:-$(command -v miltertest 2>/dev/null)}
if [ -z "$MILTERTEST" ]; then
	skip "miltertest not found"
elif ! kill -0 "$M_PID" 2>/dev/null; then
	skip "the daemon is not running (the case before failed)"
else
	sed "s|^StoreDSN .*|StoreDSN $PG_DSN|;
	    s|^StoreDSNPasswordFile .*|StoreDSNPasswordFile $PG_PASSWORD_FILE|" \
	    "$T/m.conf" | grep -v '^UserID' >"$T/madmin.conf"
	cli "$T/madmin.conf" domain add fresh.fleet.test
	arc=$rc
	cat >"$T/mail.lua" <<'LUA'
local conn = mt.connect(SOCK, 50, 0.1)
assert(conn ~= nil, "no connection")
assert(mt.conninfo(conn, "localhost", "127.0.0.1") == nil)
assert(mt.mailfrom(conn, "<user@fresh.fleet.test>") == nil)
mt.disconnect(conn)
LUA
	t0=$(now_ms)
	timeout "$(scaled 30)" "$MILTERTEST" -D "SOCK=unix:$T/sock/milter.sock" \
	    -s "$T/mail.lua" >"$T/mt.out" 2>&1 </dev/null
	mrc=$?
	saved=$WAIT_TENTHS
	WAIT_TENTHS=$(scaled 80)
	wait_sql "SELECT count(*) FROM authready_state
	    WHERE domain = 'fresh.fleet.test'" 1
	got=$?
	WAIT_TENTHS=$saved
	took=$(($(now_ms) - t0))
	evidence "$T/mt.out"
	if [ "$arc" -ne 0 ]; then
		ko "domain add: exit $arc"
	elif [ "$mrc" -ne 0 ]; then
		ko "miltertest exited $mrc"
	elif [ "$got" -ne 0 ]; then
		ko "no state in PostgreSQL ${took} ms after the MAIL FROM"
	elif ! grep -q 'event=fleet-check .*domain=fresh.fleet.test' \
	    "$T/m.log"; then
		ko "the daemon's checker did not claim it"
	else
		ok "in PostgreSQL ${took} ms after the MAIL FROM"
	fi
fi
stop_pid "$M_PID"
M_PID=

case_ daemon-fleetrefresh-no-leaves-rounds-checks-its-mail
# FleetRefresh no: the daemon's due round (the first runs at start)
# claims nothing of PostgreSQL's, so a due domain no mail asked for
# keeps no state; a MAIL FROM still has its domain checked into
# PostgreSQL, by name.
if [ -z "$MILTERTEST" ] || [ ! -f "$T/madmin.conf" ]; then
	skip "miltertest not found, or the case before did not run"
else
	cli "$T/madmin.conf" domain add leftalone.fleet.test
	arc=$rc
	cli "$T/madmin.conf" domain add asked.fleet.test
	arc=$((arc + rc))
	echo "FleetRefresh no" >>"$T/m.conf"
	"$AUTHREADY_MILTER" -c "$T/m.conf" -f </dev/null >/dev/null \
	    2>"$T/m2.log" &
	M_PID=$!
	evidence "$T/m2.log"
	sed 's/fresh\.fleet\.test/asked.fleet.test/' "$T/mail.lua" \
	    >"$T/asked.lua"
	if [ "$arc" -ne 0 ]; then
		ko "domain add failed"
	elif ! wait_line "$T/m2.log" 'event=fleet-refresh-off'; then
		ko "no event=fleet-refresh-off from the daemon"
	elif ! timeout "$(scaled 30)" "$MILTERTEST" \
	    -D "SOCK=unix:$T/sock/milter.sock" -s "$T/asked.lua" \
	    >"$T/mt2.out" 2>&1 </dev/null; then
		evidence "$T/mt2.out"
		ko "miltertest failed"
	elif ! wait_sql "SELECT count(*) FROM authready_state
	    WHERE domain = 'asked.fleet.test'" 1; then
		ko "the mail's domain was not checked into PostgreSQL"
	elif [ "$(sql "SELECT count(*) FROM authready_state
	    WHERE domain = 'leftalone.fleet.test'")" != 0 ]; then
		ko "the due round claimed a domain with FleetRefresh no"
	elif grep -q 'event=fleet-check .*domain=leftalone' "$T/m2.log"; then
		ko "the daemon checked leftalone.fleet.test"
	else
		ok
	fi
	stop_pid "$M_PID"
	M_PID=
fi

case_ daemon-postgresql-down-no-local-confirmation-mail
# With PostgreSQL down the daemon checks what its mail asks for into its
# own store.  A domain verified so sends no confirmation mail from the
# host: a fleet's one mail is PostgreSQL's notice, written with the
# state that verified.  Once PostgreSQL is back and a checker verifies
# it there: one mail in all.
if [ -z "$MILTERTEST" ] || [ ! -f "$T/madmin.conf" ]; then
	skip "miltertest not found, or the daemon cases did not run"
else
	cli "$ADMIN" domain remove example.com
	arc=$rc
	cli "$ADMIN" domain add example.com --selector 1234rpr \
	    --key "$KEYS/rsa2048.pem" --contact owner@example.com
	arc=$((arc + rc))
	ver=$(sql "SELECT version FROM authready_clock")
	"$AUTHREADY_MILTER" -c "$T/m.conf" -f </dev/null >/dev/null \
	    2>"$T/m3.log" &
	M_PID=$!
	evidence "$T/m3.log"
	# the daemon's replica has the registration again, with no state
	i=0
	while :; do
		pos=$(grep -E 'event=replica-(snapshot|apply) ' "$T/m3.log" |
		    sed -n 's/.* position=\([0-9]*\).*/\1/p' | sort -n |
		    tail -n 1)
		[ -n "$pos" ] && [ "$pos" -ge "$ver" ] && break
		[ $i -ge "$WAIT_TENTHS" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	sed 's/user@fresh\.fleet\.test/user@mail.example.com/' \
	    "$T/mail.lua" >"$T/down.lua"
	chmod 1777 "$T/mail" # the daemon's user may hand over mail too
	before=$(ls "$T/mail" | wc -l)
	pg_stop
	# MAIL FROMs until the daemon's checker took one into its store
	# (the first may find its connection gone, not yet known down)
	n=0
	while ! grep -q 'event=check domain=example.com ' "$T/m3.log" &&
	    [ $n -lt 10 ]; do
		timeout "$(scaled 30)" "$MILTERTEST" \
		    -D "SOCK=unix:$T/sock/milter.sock" -s "$T/down.lua" \
		    >"$T/mt3.out" 2>&1 </dev/null
		n=$((n + 1))
	done
	during=$(ls "$T/mail" | wc -l)
	pg_restart
	cli "$T/c1.conf" refresh example.com
	rrc=$rc
	after=$(ls "$T/mail" | wc -l)
	if [ "$arc" -ne 0 ]; then
		ko "domain remove and add: exit $arc"
	elif ! grep -q 'event=check domain=example.com .*to=verified' \
	    "$T/m3.log"; then
		ko "the daemon did not verify example.com into its store"
	elif [ "$during" -ne "$before" ]; then
		ko "$((during - before)) mail(s) sent by the host while" \
		    "PostgreSQL was down, want none"
	elif [ "$rrc" -ne 0 ]; then
		ko "refresh example.com after the outage: exit $rrc"
	elif [ $((after - before)) -ne 1 ]; then
		ko "$((after - before)) mails in all, want 1"
	else
		ok
	fi
	stop_pid "$M_PID"
	M_PID=
fi

case_ writer-plans-find-states-by-key-from-an-empty-table
# A new fleet's first round: authready_state empty by its statistics (a
# VACUUM of the empty table) when the background writer plans its
# claim.  The claim must still look each state up by its key: planned
# as a scan, it read the whole table for every domain claimed while the
# round filled it (a refresh of 100,000 domains took 77 s, not 7).
# PostgreSQL counts the scans of the table (a lookup made as a scan
# counts one): with 100 more domains (NXDOMAIN, quickly failed) in
# claims of 2 (w1), a scan per lookup would be over a hundred; the
# round may make only its first claim's 2, on its main connection,
# planned for itself while the table was empty.
"$ROWS" copy r 100 1 >"$T/rows.copy" &&
    pg_psql "COPY authready_registry FROM STDIN" <"$T/rows.copy" \
    >/dev/null &&
    sql "INSERT INTO authready_checks (domain) SELECT domain
    FROM authready_registry WHERE domain LIKE 'r%.example'" >/dev/null
sql "DELETE FROM authready_state" >/dev/null
sql "VACUUM authready_state" >/dev/null
sql "UPDATE authready_checks SET lease_owner = NULL, lease_until = NULL,
    lease_token = NULL, next_check = '-infinity'" >/dev/null
nreg=$(sql "SELECT count(*) FROM authready_checks")
scans() {
	sql "SELECT seq_scan FROM pg_stat_user_tables
	    WHERE relname = 'authready_state'"
}
s0=$(scans)
"$AUTHREADY" -c "$T/w1.conf" refresh --all >"$T/wp.out" 2>"$T/wp.err"
wrc=$?
evidence "$T/wp.err"
# the backends' counts reach the statistics when they end
wait_sql "SELECT count(*) FROM pg_stat_activity
    WHERE usename = 'authready_checker'" 0
ended=$?
s1=$(scans)
if [ "$wrc" -ne 0 ]; then
	ko "refresh --all exited $wrc"
elif [ "$ended" -ne 0 ]; then
	ko "the round's backends never ended: their scans are not counted"
elif ! grep -q 'event=fleet-writer ' "$T/wp.err"; then
	ko "the round did not run the background writer"
elif [ "$(sql "SELECT count(*) FROM authready_state")" != "$nreg" ]; then
	ko "states written: $(sql "SELECT count(*) FROM authready_state"),"
	    "not $nreg"
elif [ "$nreg" -lt 100 ]; then
	ko "only $nreg domains registered"
elif [ -z "$s0" ] || [ -z "$s1" ] || [ $((s1 - s0)) -gt 2 ]; then
	ko "authready_state scanned by the round: seq_scan $s0 -> $s1"
else
	ok "$nreg domains, $((s1 - s0)) scans of authready_state"
fi

finish
