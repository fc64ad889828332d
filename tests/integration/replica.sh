#!/bin/sh
# replica.sh - two authready-milter daemons keep their LMDB a replica of
# one PostgreSQL (StoreDSN): snapshot, change stream, a database that
# goes away and comes back, a store deleted under a daemon.
#
# SYNOPSIS
#	make check TESTS=tests/integration/replica.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/replica.sh
#
# DESCRIPTION
#	A private PostgreSQL (tests/integration/pg-harness.sh: 127.0.0.1
#	on a free port, password authentication over TCP, the roles of
#	docs/fleet.md) with the schema `authready db init` makes and the
#	GRANTs of `authready db grants` (the test writes rows as the
#	superuser the way a writer must: the next clock version, NOTIFY
#	authready_changes, one transaction; entries encoded by
#	tests/replica-rows).  Two daemons, host-a and host-b, each with its
#	StateDir and socket (host-a a policy door too), the same StoreDSN
#	(the authready_replica role, its password in StoreDSNPasswordFile),
#	UnregisteredDomains reject (so the one 550 without DNS is the
#	registry's) and a small ReplicaMaxLag.  The cases run in order, each building on the last:
#
#	1. both daemons start and take a snapshot holding a domain
#	   registered (and verified, with the organizational domain and the
#	   DMARC alignment modes of a version-4 state) before they started;
#	2. a domain registered by SQL appears in both LMDBs (authready
#	   status DOMAIN), waited for on event=replica-apply; the daemons
#	   accept its mail; an unregistered domain gets 550;
#	   authready_replicas shows both hosts at the position; authready
#	   status prints the replica line;
#	3. a tombstone removes the domain from both LMDBs;
#	4. PostgreSQL stopped: event=replica-lost; mail of the verified
#	   domain is still accepted from LMDB; after ReplicaMaxLag the
#	   unregistered domain gets 451 4.7.1 (registry-stale), not 550,
#	   and so does an unregistered From domain behind a verified
#	   envelope (FromCheck enforce, the default), and the same sender
#	   asked through host-a's Postfix policy door (PolicySocket);
#	5. PostgreSQL back (first on its unix socket only, so a row is
#	   written before any replica can reconnect, then on TCP): both
#	   replicas reconnect without a restart and the row written while
#	   they were away appears; the unregistered domain gets 550 again;
#	6. host-a's store deleted under the running daemon:
#	   event=replica-store-lost, a new store and a new snapshot with
#	   every domain, the daemon still running; a domain registered
#	   after that is accepted by its sessions (they read the new store);
#	7. held mail stays on its host: a message of a pending domain is
#	   quarantined on host-a (OnPending quarantine; the hold queue a
#	   stand-in postqueue, the release command one that records the
#	   IDs) and held there alone; the domain's verified state, written
#	   as another host's checker would (these daemons' checkers cannot
#	   claim), reaches host-a's replica, which has host-a's checker
#	   thread release it (event=release released=1, the ID handed to
#	   the release command, nothing held after); host-b releases
#	   nothing;
#	8. host-d (CheckWait long) gets a MAIL FROM for a registered domain
#	   never checked, which its checker cannot claim
#	   (event=check-error): the state written
#	   as another host's checker would reaches its replica, whose apply
#	   wakes the waiting MAIL FROM: accepted long before CheckWait;
#	9. a third daemon, host-c, against a schema version newer than it
#	   knows: refused (event=replica-lost naming it), no snapshot.
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 PostgreSQL's server
#	binaries, miltertest or (as root) setpriv and the postgres and
#	nobody users are missing, 99 the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir (from make check); AUTHREADY,
#	AUTHREADY_MILTER, MILTERTEST override the programs (PG_BINDIR:
#	pg-harness.sh);
#	TIME_SCALE=N stretches the time limits (lib.sh); CASE=PATTERN
#	(lib.sh) selects the cases to report (all run, in order).

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY=${AUTHREADY:-$top_builddir/authready}
AUTHREADY_MILTER=${AUTHREADY_MILTER:-$top_builddir/authready-milter}
ROWS=${ROWS:-$top_builddir/tests/replica-rows}
MILTERTEST=${MILTERTEST:-$(command -v miltertest 2>/dev/null)}
LUADIR=$top_srcdir/tests/milter
DUSER=nobody
DGROUP=nogroup
getent group "$DGROUP" >/dev/null 2>&1 || DGROUP=nobody

# The passwords are the harness's files, nothing from the environment.
unset PGPASSWORD PGPASSFILE PGSERVICE

# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/integration/pg-harness.sh
. "$here/pg-harness.sh"
LAG=$(scaled 3)             # ReplicaMaxLag, seconds
CHECK_WAIT_D=$(scaled 20)   # host-d's CheckWait, seconds
WAIT_TENTHS=$(scaled 300)   # an event the test waits for
START_WAIT_TENTHS=$(scaled 100)
STOP_WAIT_TENTHS=$(scaled 150)
MILTERTEST_TIMEOUT=$(scaled 30)
RUN_TIMEOUT=$(scaled 30)
PORT_TRIES=20

for p in "$AUTHREADY" "$AUTHREADY_MILTER" "$ROWS"; do
	if [ ! -x "$p" ]; then
		echo "ERROR: $p not built" >&2
		exit 99
	fi
done
pg_find
if [ -z "$MILTERTEST" ] || [ ! -x "$MILTERTEST" ]; then
	echo "SKIP: miltertest not found"
	exit 77
fi
if [ "$(id -u)" -eq 0 ] && { ! command -v setpriv >/dev/null 2>&1 ||
    ! getent passwd "$DUSER" >/dev/null 2>&1; }; then
	echo "SKIP: as root this test needs setpriv and $DUSER"
	exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-replica.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
chmod 0755 "$T"
LIB_OUT=$T/out
LIB_ERR=$T/err
PID_a=
PID_b=
PID_c=
PID_d=

# PostgreSQL ----------------------------------------------------------------

# sql TEXT - run TEXT in the authready database as the superuser (the
# harness's pg_psql, on its unix socket); rows on stdout, unaligned.
sql() {
	pg_psql "$1"
}

# put_domain DOMAIN [STATE [ORG [ADKIM ASPF]]] - register DOMAIN (and
# its state, with ORG as its organizational domain and the DMARC
# record's alignment modes) in one transaction with the next clock
# version and a NOTIFY; prints it.
put_domain() {
	reg=$("$ROWS" reg "$1") || return 1
	st=
	# shellcheck disable=SC2086
	[ -n "${2:-}" ] &&
	    { st=$("$ROWS" state "$1" "$2" 3600 ${3:+"$3"} ${4:-} ${5:-}) ||
	    return 1; }
	q="BEGIN;
	UPDATE authready_clock SET version = version + 1;
	INSERT INTO authready_registry (domain, entry, version, deleted)
	  SELECT '$1', decode('$reg', 'hex'), version, false
	  FROM authready_clock
	  ON CONFLICT (domain) DO UPDATE SET entry = excluded.entry,
	  version = excluded.version, deleted = false;
	INSERT INTO authready_checks (domain) VALUES ('$1')
	  ON CONFLICT (domain) DO UPDATE SET lease_owner = NULL,
	  lease_until = NULL, lease_token = NULL, next_check = '-infinity';"
	[ -n "$st" ] && q="$q
	INSERT INTO authready_state (domain, entry, readiness, version)
	  SELECT '$1', decode('$st', 'hex'), '$2', version
	  FROM authready_clock
	  ON CONFLICT (domain) DO UPDATE SET entry = excluded.entry,
	  readiness = excluded.readiness, version = excluded.version,
	  deleted = false;"
	sql "$q
	SELECT pg_notify('authready_changes', version::text)
	  FROM authready_clock;
	COMMIT; SELECT version FROM authready_clock;" | tail -n 1
}

# del_domain DOMAIN - the tombstone of DOMAIN (registry and state).
del_domain() {
	sql "BEGIN;
	UPDATE authready_clock SET version = version + 1;
	UPDATE authready_registry SET entry = NULL, deleted = true,
	  version = (SELECT version FROM authready_clock) WHERE domain = '$1';
	DELETE FROM authready_checks WHERE domain = '$1';
	UPDATE authready_state SET entry = NULL, deleted = true,
	  version = (SELECT version FROM authready_clock) WHERE domain = '$1';
	SELECT pg_notify('authready_changes', version::text)
	  FROM authready_clock;
	COMMIT; SELECT version FROM authready_clock;" | tail -n 1
}

# The daemons ---------------------------------------------------------------

# daemon_start H - host H's daemon on a free port; 0 once event=start.
daemon_start() {
	n=0
	while [ $n -lt $PORT_TRIES ]; do
		sock=inet:$(shuf -i 20000-32000 -n 1)@127.0.0.1
		{
			echo "# written by replica.sh"
			echo "StateDir $T/$1"
			echo "Socket $sock"
			echo "Syslog no"
			echo "PidFile $T/run/$1.pid"
			echo "DNSServers 127.0.0.1:9"
			echo "UnregisteredDomains reject"
			# host-d waits long for a check (case 8)
			if [ "$1" = d ]; then
				echo "CheckWait $CHECK_WAIT_D"
			else
				echo "CheckWait 0.5"
			fi
			echo "StoreDSN $PG_DSN_REPLICA"
			echo "StoreDSNPasswordFile $T/replica.password"
			echo "ReplicaMaxLag $LAG"
			echo "HostName host-$1"
			echo "OnPending quarantine"
			echo "UnsafeInetQuarantine yes" # the test's own MTA
			echo "HoldQueueCommand $T/bin/postqueue"
			echo "ReleaseCommand $T/bin/release"
			[ "$1" = a ] && echo "PolicySocket unix:$T/run/a.policy"
			[ "$(id -u)" -eq 0 ] && echo "UserID $DUSER:$DGROUP"
		} >"$T/$1.conf"
		chmod 0644 "$T/$1.conf"
		: >>"$T/$1.log"
		"$AUTHREADY_MILTER" -c "$T/$1.conf" -f </dev/null >/dev/null \
		    2>>"$T/$1.log" &
		pid=$!
		eval "PID_$1=\$pid SOCK_$1=\$sock"
		i=0
		while [ $i -lt "$START_WAIT_TENTHS" ]; do
			grep -q 'event=start ' "$T/$1.log" && return 0
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		stop_pid "$pid"
		eval "PID_$1="
		grep -q 'cannot open the milter socket' "$T/$1.log" || break
		n=$((n + 1))
	done
	return 1
}

cleanup() {
	stop_pid "$PID_a" "$PID_b" "$PID_c" "$PID_d"
	PID_a=
	PID_b=
	PID_c=
}
at_exit cleanup

# wait_log H NEEDLE [COUNT] - until COUNT (default 1) lines of host H's
# log hold NEEDLE (a grep -E pattern); 1 after WAIT_TENTHS.
wait_log() {
	i=0
	while [ "$(grep -c -E "$2" "$T/$1.log")" -lt "${3:-1}" ]; do
		[ $i -ge "$WAIT_TENTHS" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 0
}

# wait_position H V - until host H logged a snapshot or an apply that
# reached version V or later.
wait_position() {
	i=0
	while :; do
		got=$(grep -E 'event=replica-(snapshot|apply) ' "$T/$1.log" |
		    sed -n 's/.* position=\([0-9]*\).*/\1/p' | sort -n |
		    tail -n 1)
		[ -n "$got" ] && [ "$got" -ge "$2" ] && return 0
		[ $i -ge "$WAIT_TENTHS" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# status H DOMAIN - authready status DOMAIN on host H's store (rc, LIB_*).
status() {
	CLI_AS=
	[ "$(id -u)" -eq 0 ] && CLI_AS=as_daemon_user
	cli "$T/$1.conf" status "$2"
}

qn=0
EOM=0
# decide H SENDER [FROM] - one message through host H (FromCheck, the
# default: a From header of FROM, default SENDER, and the end of
# headers); sets d to "ACTION REPLY" from the daemon's log line of it
# (session=$qid).  With EOM=1 the message goes on to its end (a
# quarantine is taken there).
decide() {
	qn=$((qn + 1))
	qid=RQ$qn
	eval "d_sock=\$SOCK_$1"
	timeout "$MILTERTEST_TIMEOUT" "$MILTERTEST" -D "SOCK=$d_sock" \
	    -D "SENDER=$2" -D "FROM=${3:-}" -D "QID=$qid" -D "EOM=$EOM" \
	    -s "$LUADIR/replica.lua" \
	    >"$T/mt.out" 2>&1 </dev/null
	line=$(grep "session=$qid " "$T/$1.log" | tail -n 1)
	act=$(printf '%s\n' "$line" | sed -n 's/.* action=\([a-z]*\).*/\1/p')
	rep=$(printf '%s\n' "$line" | sed -n 's/.* reply=\([0-9]*\).*/\1/p')
	d="${act:-none} ${rep:--}"
}

# policy H SENDER - one Postfix policy request (RCPT) for SENDER to host
# H's policy door; sets d as decide does (queue ID RP<n>) and reply to
# the door's action= line.
policy() {
	qn=$((qn + 1))
	qid=RP$qn
	printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=127.0.0.1\nsender=%s\nrecipient=rcpt@example.net\nqueue_id=%s\ninstance=rp.%s\n\n' \
	    "$2" "$qid" "$qn" >"$T/policy.req"
	reply=$(timeout "$MILTERTEST_TIMEOUT" perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "$!\n";
		open(my $in, "<", $ARGV[1]) or die "$!\n";
		local $/; my $req = <$in>; $/ = "\n";
		print $s $req; $s->flush;
		while (my $l = <$s>) { last if $l eq "\n"; print $l; }' \
	    "$T/run/$1.policy" "$T/policy.req" 2>"$T/policy.err" |
	    grep '^action=')
	line=$(grep "session=$qid " "$T/$1.log" | tail -n 1)
	act=$(printf '%s\n' "$line" | sed -n 's/.* action=\([a-z]*\).*/\1/p')
	rep=$(printf '%s\n' "$line" | sed -n 's/.* reply=\([0-9]*\).*/\1/p')
	d="${act:-none} ${rep:--}"
}

# Setup ---------------------------------------------------------------------

mkdir "$T/a" "$T/b" "$T/run" "$T/bin"
# The MTA's hold queue: postqueue -j shows the message quarantined in
# case 7 on hold (its queue ID in $T/run/held, written by the test),
# and the release command records the queue IDs it is given.
cat >"$T/bin/postqueue" <<STUB
#!/bin/sh
[ -s "$T/run/held" ] || exit 0
printf '{"queue_name": "hold", "queue_id": "%s", "arrival_time": %s, "sender": "bounces@mail.held.test", "recipients": []}\n' "\$(cat "$T/run/held")" "\$(/bin/date +%s)"
STUB
printf '#!/bin/sh\ncat >>"%s/run/released"\n' "$T" >"$T/bin/release"
chmod 0755 "$T/bin" "$T/bin/postqueue" "$T/bin/release"
[ "$(id -u)" -eq 0 ] && chown "$DUSER:$DGROUP" "$T/a" "$T/b" "$T/run"
chmod 0750 "$T/a" "$T/b"
pg_start
# The schema and the GRANTs as an operator makes them (docs/fleet.md).
{
	echo "StateDir $T/admin"
	echo "StoreDSN $PG_DSN"
	echo "StoreDSNPasswordFile $PG_PASSWORD_FILE"
} >"$T/admin.conf"
mkdir "$T/admin"
chmod 0700 "$T/admin"
cli "$T/admin.conf" db init
if [ "$rc" -ne 0 ]; then
	cat "$LIB_ERR" >&2
	echo "ERROR: authready db init: exit $rc" >&2
	exit 99
fi
cli "$T/admin.conf" db grants
if [ "$rc" -ne 0 ] ||
    ! sql "SET ROLE authready_admin; $(cat "$LIB_OUT")" >/dev/null; then
	echo "ERROR: authready db grants did not apply" >&2
	exit 99
fi
# The daemons log in as authready_replica alone: their checkers cannot
# claim checks (event=fleet-error), so every state here is the test's
# own and the positions below are exact.  A production host needs both
# roles (docs/fleet.md); fleet-checkers.sh runs the checkers.
# the daemons' copy of the replica role's password (they run as UserID)
cp "$PG_PASSWORD_FILE_REPLICA" "$T/replica.password"
[ "$(id -u)" -eq 0 ] && chown "$DUSER:$DGROUP" "$T/replica.password"
chmod 0600 "$T/replica.password"
V0=$(put_domain pre.test verified pre.test s r) || exit 99

# 1. start and snapshot -----------------------------------------------------

for h in a b; do
	case_ "host-$h starts and takes a snapshot"
	evidence "$T/$h.log"
	if ! daemon_start $h; then
		ko "no event=start"
	elif ! wait_log $h 'event=replica-snapshot rows=2 .*position='"$V0"; then
		ko "no event=replica-snapshot rows=2 position=$V0"
	else
		status $h pre.test
		if [ "$rc" -ne 0 ] || ! grep -q verified "$LIB_OUT"; then
			ko "status pre.test: exit $rc"
		elif ! grep -q 'organizational domain pre.test' "$LIB_OUT"; then
			ko "the state's organizational domain did not come through"
		elif ! grep -q 'DMARC alignment adkim=s aspf=r' "$LIB_OUT"; then
			ko "the state's alignment modes did not come through"
		else
			ok
		fi
	fi
done

# 2. a registration reaches both --------------------------------------------

V1=$(put_domain new.test verified)
for h in a b; do
	case_ "host-$h: a domain registered in PostgreSQL appears in its LMDB"
	evidence "$T/$h.log"
	t0=$(now_ms)
	if ! wait_position $h "$V1"; then
		ko "no event=replica-apply to position $V1"
		continue
	fi
	ms=$(($(now_ms) - t0))
	status $h new.test
	if [ "$rc" -ne 0 ] || ! grep -q verified "$LIB_OUT"; then
		ko "status new.test: exit $rc"
	else
		ok "in $ms ms"
	fi
done
for h in a b; do
	case_ "host-$h: its mail is accepted, an unregistered domain's gets 550"
	evidence "$T/$h.log"
	decide $h user@mail.new.test
	d1=$d
	decide $h user@other.test
	d2=$d
	if [ "$d1" != "accept -" ] || [ "$d2" != "reject 550" ]; then
		ko "new.test: $d1; other.test: $d2"
	else
		ok
	fi
done
case_ "authready_replicas: both hosts at the position"
i=0
while :; do
	rows=$(sql "SELECT host || ':' || position FROM authready_replicas
	    ORDER BY host" | tr '\n' ' ')
	[ "$rows" = "host-a:$V1 host-b:$V1 " ] && break
	[ $i -ge "$WAIT_TENTHS" ] && break
	sleep 0.1
	i=$((i + 1))
done
if [ "$rows" = "host-a:$V1 host-b:$V1 " ]; then
	ok
else
	ko "rows: $rows"
fi
case_ "authready status: the replica line"
status a new.test
if grep -q -E "^replica: position $V1, last heard [0-9]+ s ago" "$LIB_OUT"; then
	ok
else
	ko "no replica line"
fi
case_ "host-a: its replica thread is named ar-replica (top -H)"
pid=$(cat "$T/run/a.pid" 2>/dev/null)
if [ -n "$pid" ] && grep -qx ar-replica /proc/"$pid"/task/*/comm; then
	ok
else
	ko "threads of ${pid:-no PID}:" \
	    "$(cat /proc/"$pid"/task/*/comm 2>/dev/null | sort -u | tr '\n' ' ')"
fi

# 3. a tombstone ------------------------------------------------------------

V2=$(del_domain new.test)
for h in a b; do
	case_ "host-$h: a tombstone removes the domain"
	evidence "$T/$h.log"
	if ! wait_position $h "$V2"; then
		ko "no event=replica-apply to position $V2"
		continue
	fi
	status $h new.test
	if [ "$rc" -ne 1 ] || ! grep -q 'not registered' "$LIB_ERR"; then
		ko "status new.test: exit $rc"
	else
		ok
	fi
done

# 4. PostgreSQL stopped -----------------------------------------------------

pg_stop
for h in a b; do
	case_ "host-$h: PostgreSQL stopped: replica-lost, mail goes on from LMDB"
	evidence "$T/$h.log"
	if ! wait_log $h 'event=replica-lost'; then
		ko "no event=replica-lost"
		continue
	fi
	decide $h user@mail.pre.test
	d1=$d
	if [ "$d1" != "accept -" ]; then
		ko "pre.test: $d1"
	else
		ok
	fi
done
for h in a b; do
	case_ "host-$h: after ReplicaMaxLag an unregistered domain gets 451"
	evidence "$T/$h.log"
	i=0
	while :; do
		decide $h user@other.test
		d2=$d
		[ "$d2" = "tempfail 451" ] && break
		[ $i -ge "$WAIT_TENTHS" ] && break
		sleep 0.5
		i=$((i + 5))
	done
	if [ "$d2" != "tempfail 451" ]; then
		ko "other.test: $d2"
	elif ! grep "session=$qid " "$T/$h.log" | grep -q registry-stale; then
		ko "the reason does not say registry-stale"
	else
		ok
	fi
done
case_ "host-a: after ReplicaMaxLag an unregistered From domain gets 451 too"
evidence "$T/a.log"
decide a user@mail.pre.test user@other.test
if [ "$d" != "tempfail 451" ]; then
	ko "pre.test with From other.test: $d"
elif ! grep "session=$qid " "$T/a.log" | grep -q 'from_domain=other.test'; then
	ko "the decision is not the From domain's"
elif ! grep "session=$qid " "$T/a.log" | grep -q registry-stale; then
	ko "the reason does not say registry-stale"
else
	ok
fi
case_ "host-a: after ReplicaMaxLag the policy door answers 451 too"
evidence "$T/a.log"
policy a user@other.test
case $reply in
'action=451 4.7.1 '*)
	if [ "$d" != "tempfail 451" ]; then
		ko "other.test through the policy door logged: $d"
	elif ! grep "session=$qid " "$T/a.log" | grep -q registry-stale; then
		ko "the reason does not say registry-stale"
	else
		ok
	fi
	;;
*) ko "other.test through the policy door: ${reply:-no reply} ($(cat "$T/policy.err"))" ;;
esac

# 5. PostgreSQL back --------------------------------------------------------

case_ "a row written while the replicas cannot reach PostgreSQL"
pg_restart unix
if ! V3=$(put_domain late.test verified); then
	evidence "$PG_DIR/pg.log"
	ko "PostgreSQL on its unix socket"
else
	ok "version $V3"
fi
pg_stop
pg_restart
for h in a b; do
	case_ "host-$h: reconnects without a restart and catches up"
	evidence "$T/$h.log"
	if ! wait_log $h 'event=replica-reconnected'; then
		ko "no event=replica-reconnected"
	elif ! wait_position $h "${V3:-999999}"; then
		ko "no event=replica-apply to position ${V3:-?}"
	else
		status $h late.test
		decide $h user@other.test
		d2=$d
		if [ "$rc" -ne 0 ] || ! grep -q verified "$LIB_OUT"; then
			ko "status late.test: exit $rc"
		elif [ "$d2" != "reject 550" ]; then
			ko "other.test after the catch-up: $d2"
		else
			ok
		fi
	fi
done

# 6. the store deleted under a running daemon -------------------------------

case_ "host-a: its store deleted under it: a new store, a new snapshot"
evidence "$T/a.log"
rm -f "$T/a/data.mdb" "$T/a/lock.mdb"
if ! wait_log a 'event=replica-store-lost'; then
	ko "no event=replica-store-lost"
elif ! wait_log a 'event=replica-snapshot rows=6 '; then
	ko "no new snapshot of the 6 rows"
elif ! kill -0 "$PID_a" 2>/dev/null; then
	ko "the daemon stopped"
else
	status a late.test
	if [ "$rc" -ne 0 ] || ! grep -q verified "$LIB_OUT"; then
		ko "status late.test: exit $rc"
	else
		ok
	fi
fi
case_ "host-a: after the rebuild its sessions read the new store"
evidence "$T/a.log"
V5=$(put_domain post.test verified)
if ! wait_position a "$V5"; then
	ko "no event=replica-apply to position $V5"
else
	decide a user@mail.post.test
	d1=$d
	decide a user@other.test
	if [ "$d1" != "accept -" ] || [ "$d" != "reject 550" ]; then
		ko "post.test: $d1; other.test: $d"
	else
		ok
	fi
fi

# 7. held mail stays on its host, released when its replica sees the ------
#    domain verified (these daemons' checkers claim nothing: the state
#    is the test's, as another host's checker would write it)

case_ "host-a: mail of a pending domain is quarantined and held there alone"
evidence "$T/a.log"
V6=$(put_domain held.test pending)
held_qid=
if ! wait_position a "$V6" || ! wait_position b "$V6"; then
	ko "no event=replica-apply to position $V6"
else
	EOM=1
	decide a bounces@mail.held.test
	EOM=0
	held_qid=$qid
	echo "$held_qid" >"$T/run/held"
	status a held.test
	a_out=$(cat "$LIB_OUT")
	status b held.test
	if ! grep -q QUARANTINED "$T/mt.out"; then
		ko "no quarantine at the end of the message: $d"
	elif ! printf '%s\n' "$a_out" | grep -q "held  $held_qid "; then
		ko "host-a's status shows no held $held_qid"
	elif grep -q "held  " "$LIB_OUT"; then
		ko "host-b holds it too"
	else
		ok
	fi
fi
case_ "host-a: verified by another host: its replica's apply releases it"
evidence "$T/a.log"
V7=$(put_domain held.test verified)
if [ -z "$held_qid" ]; then
	ko "nothing was held"
elif ! wait_position a "$V7"; then
	ko "no event=replica-apply to position $V7"
elif ! wait_log a "event=release domain=held.test released=1 "; then
	ko "no event=release domain=held.test released=1"
elif ! grep -qx "$held_qid" "$T/run/released" 2>/dev/null; then
	ko "the release command was not given $held_qid"
else
	status a held.test
	if grep -q "held  " "$LIB_OUT"; then
		ko "host-a still holds it"
	elif grep -q 'event=release ' "$T/b.log"; then
		ko "host-b released something"
	else
		ok
	fi
fi

# 8. a MAIL FROM waiting for a state another checker makes ------------------

case_ "host-d: a MAIL FROM waiting for a check gets the state the replica applies"
# A registered domain never checked; host-d's checker cannot claim it
# (the replica role: event=check-error for the domain, "claiming a
# domain": the MAIL FROM is waiting then), so its state can only come as
# another host's checker would write it, through the replica.  The
# replica's apply wakes the waiting MAIL FROM, which is answered from
# it, long before CheckWait (CHECK_WAIT_D) ends.
evidence "$T/d.log"
mkdir "$T/d"
[ "$(id -u)" -eq 0 ] && chown "$DUSER:$DGROUP" "$T/d"
chmod 0750 "$T/d"
V8=$(put_domain waited.test)
if ! daemon_start d; then
	ko "no event=start"
elif ! wait_position d "$V8"; then
	ko "no snapshot to position $V8"
else
	qn=$((qn + 1))
	wq=$qn
	( qn=$((wq - 1)); decide d user@mail.waited.test; echo "$d" \
	    >"$T/waited.d" ) &
	wpid=$!
	if ! wait_log d 'event=check-error domain=waited.test .*claiming'; then
		ko "host-d's checker was not asked (no event=check-error" \
		    "claiming the domain)"
	else
		t0=$(now_ms)
		V9=$(put_domain waited.test verified)
		wait "$wpid"
		took=$(($(now_ms) - t0))
		got=$(cat "$T/waited.d" 2>/dev/null)
		if [ "$got" != "accept -" ]; then
			ko "waited.test: ${got:-no decision} after $took ms" \
			    "(version $V9)"
		elif [ "$took" -ge $((CHECK_WAIT_D * 1000)) ]; then
			ko "answered after $took ms: CheckWait ran out"
		else
			ok "answered $took ms after the state was written"
		fi
	fi
	wait "$wpid" 2>/dev/null
fi
stop_pid "$PID_d"
PID_d=

# 9. a schema newer than the program ----------------------------------------

case_ "host-c: a schema newer than it knows is refused, nothing applied"
evidence "$T/c.log"
mkdir "$T/c"
[ "$(id -u)" -eq 0 ] && chown "$DUSER:$DGROUP" "$T/c"
chmod 0750 "$T/c"
known=$(sql "SELECT value FROM authready_meta WHERE key = 'schema_version'")
newer=$((known + 1))
sql "UPDATE authready_meta SET value = '$newer' WHERE key = 'schema_version'"
if ! daemon_start c; then
	ko "no event=start"
elif ! wait_log c "event=replica-lost .*schema version $newer is newer than"; then
	ko "no event=replica-lost naming the schema"
elif grep -q 'event=replica-snapshot' "$T/c.log"; then
	ko "a snapshot was taken"
else
	ok
fi
stop_pid "$PID_c"
PID_c=
sql "UPDATE authready_meta SET value = '$known' WHERE key = 'schema_version'"

for h in a b; do
	case_ "host-$h: no sanitizer report"
	evidence "$T/$h.log"
	if grep -q -E 'Sanitizer|runtime error:' "$T/$h.log"; then
		ko "see the log"
	else
		ok
	fi
done
case_ "both daemons stop on SIGTERM"
evidence "$T/a.log" "$T/b.log"
if stop_wait "$PID_a" "$STOP_WAIT_TENTHS" && [ "$rc" -eq 0 ] &&
    stop_wait "$PID_b" "$STOP_WAIT_TENTHS" && [ "$rc" -eq 0 ]; then
	PID_a=
	PID_b=
	ok
else
	ko "exit $rc"
fi

finish
