#!/bin/sh
# webhooks-fleet.sh - webhooks of a fleet: the PostgreSQL outbox, claimed
# per domain with a lease by two milter hosts, across a kill -9 of the
# host that delivers.
#
# SYNOPSIS
#	make check TESTS=tests/integration/webhooks-fleet.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/webhooks-fleet.sh
#
# DESCRIPTION
#	A private PostgreSQL (pg-harness.sh), NSD serving a zone of this
#	test (whf.test), one webhook receiver (tests/webhook-receiver.pl:
#	checks every signature, keeps each event once by id, answers 500
#	while told to) and two authready-milter hosts, a and b, with the
#	same WebhookURL, logging in as a host role (the checker's and the
#	replica's rights, from `authready db grants`).  The operator's CLI
#	(the admin role) registers and removes.
#
#	  - "db migrate" moves a version 2 schema to 3 (the outbox table);
#	  - WebhookURL with StoreDSN is accepted (-n);
#	  - three domains are registered and verified by the hosts'
#	    checkers: three "verified" events delivered;
#	  - a message of a pending domain quarantined on host a
#	    (miltertest): its "held" event goes through a's LMDB outbox,
#	    never PostgreSQL's (held mail is each host's own);
#	  - the receiver then answers 500 to everything: x and y are made
#	    degraded (DKIM key removed, made due) and recovered, z removed
#	    from the CLI; the events wait in PostgreSQL's outbox, claimed
#	    with a lease, retried; the other host never tried an event of a
#	    domain while the first held it;
#	  - the host holding x's events is killed with -9, the receiver
#	    recovers: the other host takes the events once the lease ran
#	    out (2 x WebhookTimeout + 5 s) and delivers them;
#	  - in the end the receiver holds every event exactly once by id,
#	    in order per domain, every signature good; the outbox is empty
#	    ("db status" counts the events waiting and leased);
#	  - the deliverer is woken by the NOTIFY of the write that inserts
#	    an event: ten domains removed one after the other from the CLI,
#	    at least nine of their events reach the receiver within 100 ms
#	    (scaled) of the insert (noted by a trigger of this test inside
#	    the writer's transaction, so before its COMMIT), where polling
#	    every 250 ms would take 125 ms on average; and an event inserted
#	    with no NOTIFY is still delivered by the slow poll (safety net);
#	  - a reload (SIGUSR1) hands the fleet's thread a new WebhookTimeout
#	    (its lease follows), and it is still woken by NOTIFY.
#
#	The cases depend on each other and run in order.
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 PostgreSQL, NSD, perl,
#	miltertest or setpriv/nobody missing, 99 the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir, NSD (from make check); AUTHREADY,
#	AUTHREADY_MILTER, MILTERTEST; PG_BINDIR (pg-harness.sh); TIME_SCALE.

set -u
LC_ALL=C
export LC_ALL
unset PGPASSWORD PGPASSFILE PGSERVICE

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY=${AUTHREADY:-$top_builddir/authready}
AUTHREADY_MILTER=${AUTHREADY_MILTER:-$top_builddir/authready-milter}
MILTERTEST=${MILTERTEST:-$(command -v miltertest 2>/dev/null)}
RECEIVER=$top_srcdir/tests/webhook-receiver.pl
KEY_SRC=$top_srcdir/tests/keys/rsa2048.pem
DUSER=nobody
DGROUP=nogroup
getent group "$DGROUP" >/dev/null 2>&1 || DGROUP=nobody

# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/integration/pg-harness.sh
. "$here/pg-harness.sh"
# shellcheck source=tests/integration/nsd-harness.sh
. "$here/nsd-harness.sh"

WAIT_TENTHS=$(scaled 600) # back-off after many 500s is several seconds
# The last deliveries wait out the back-off the 500s built up (a minute
# or two after a long outage of the receiver).
LONG_TENTHS=$(scaled 2400)
START_WAIT_TENTHS=$(scaled 150)
HOOK_TIMEOUT=$(scaled 2) # WebhookTimeout: the lease is 2x + 5 s

ZONE=whf.test
X=x.$ZONE
Y=y.$ZONE
Z=z.$ZONE
P=p.$ZONE # no records: pending; its mail is held on host a
SEEDMX=feedback-smtp.ap-northeast-1.amazonses.com
NEVENTS=9 # 3 verified, 2 degraded, 2 recovered, 1 removed, 1 held

for p in "$AUTHREADY" "$AUTHREADY_MILTER"; do
	[ -x "$p" ] || lib_die "$p not built"
done
pg_find
nsd_find
if [ -z "$MILTERTEST" ] || [ ! -x "$MILTERTEST" ]; then
	echo "SKIP: miltertest is not installed"
	exit 77
fi
if ! perl -MDigest::SHA -MIO::Socket::INET -e 1 2>/dev/null; then
	echo "SKIP: perl with Digest::SHA and IO::Socket::INET is missing"
	exit 77
fi
if ! command -v setpriv >/dev/null 2>&1 ||
    ! getent passwd "$DUSER" >/dev/null 2>&1; then
	echo "SKIP: this test needs setpriv and $DUSER"
	exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-whf.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
chmod 0755 "$T"
LIB_OUT=$T/out
LIB_ERR=$T/err
PID_a=
PID_b=
RPID=

# cleanup - stop the hosts and the receiver.
cleanup() {
	stop_pid "$PID_a" "$PID_b" "$RPID"
	PID_a=
	PID_b=
	RPID=
}

mkdir "$T/zones" "$T/run" "$T/keys" "$T/scratch" "$T/recv" "$T/a" \
    "$T/b" "$T/cli" || exit 99
cat >"$T/zones/$ZONE.zone" <<EOF
; $ZONE - written by webhooks-fleet.sh; the test publishes the records.
\$ORIGIN $ZONE.
\$TTL 300
@	SOA	ns.$ZONE. hostmaster.$ZONE. ( 1 3600 600 86400 300 )
@	NS	ns.$ZONE.
ns	A	127.0.0.1
EOF
nsd_start "$top_srcdir/tests/zones" "$T/zones"
ZF=$NSD_DIR/zones/$ZONE.zone
serial=1
pg_start
at_exit cleanup

chown "$DUSER:$DGROUP" "$T/run" "$T/scratch" "$T/a" "$T/b" "$T/cli"
chmod 0750 "$T/a" "$T/b" "$T/cli"
cp "$KEY_SRC" "$T/keys/key.pem"
chown -R "$DUSER:$DGROUP" "$T/keys"
chmod 0600 "$T/keys/key.pem"
KEY=$T/keys/key.pem
printf 'webhook secret of the fleet test %s\n' "$$" >"$T/secret"
chown "$DUSER:$DGROUP" "$T/secret"
chmod 0600 "$T/secret"
echo 0 >"$T/recv/fail"
: >"$T/recv/log"

# sql TEXT - TEXT in the authready database as the superuser.
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

# receiver_start - the receiver on any free port (PORT); waits for it.
receiver_start() {
	rm -f "$T/recv/port"
	perl "$RECEIVER" "$T/recv" "$T/secret" 0 2>>"$T/recv/log" &
	RPID=$!
	j=0
	while [ ! -s "$T/recv/port" ] && [ $j -lt "$WAIT_TENTHS" ]; do
		sleep 0.1
		j=$((j + 1))
	done
	[ -s "$T/recv/port" ] ||
	    lib_die "the receiver did not start: $(cat "$T/recv/log")"
	PORT=$(cat "$T/recv/port")
}

# held - how many events the receiver holds.
held() {
	if [ -f "$T/recv/events" ]; then
		wc -l <"$T/recv/events"
	else
		echo 0
	fi
}

# wait_events N - until the receiver holds N events.
wait_events() {
	j=0
	while [ "$(held)" -lt "$1" ]; do
		[ $j -ge "$WAIT_TENTHS" ] && return 1
		sleep 0.1
		j=$((j + 1))
	done
	return 0
}

# types DOMAIN - the types of the events the receiver holds for DOMAIN.
types() {
	awk -v d="$1" '$3 == d { printf "%s%s", s, $2; s = " " }' \
	    "$T/recv/events" 2>/dev/null
}

# reload_zone - bump the serial, make NSD serve the zone again.
reload_zone() {
	serial=$((serial + 1))
	sed "s/( [0-9]* 3600/( $serial 3600/" "$ZF" >"$ZF.new" &&
	    mv "$ZF.new" "$ZF"
	nsd_reload "$ZONE" "$serial"
}

# records DOMAIN - its records (a scratch registration without StoreDSN
# with the same expectations) on stdout.
records() {
	CLI_AS=as_daemon_user cli "$T/scratch.conf" domain add "$1" \
	    --selector 1234rpr --key "$KEY" --mx "$SEEDMX" \
	    --spf-include amazonses.com
	CLI_AS=as_daemon_user cli "$T/scratch.conf" records "$1"
	grep -v '^;' "$LIB_OUT"
}

# due DOMAIN - the domain's next check now (a checker takes it).
due() {
	sql "UPDATE authready_checks SET next_check = '-infinity'
	    WHERE domain = '$1'" >/dev/null
}

# readiness DOMAIN - its state in PostgreSQL.
readiness() {
	sql "SELECT readiness FROM authready_state WHERE domain = '$1'
	    AND NOT deleted"
}

# ------------------------------------------------------------------ setup

receiver_start
password_copy() {
	cp "$1" "$T/$2.password"
	chown "$DUSER:$DGROUP" "$T/$2.password"
	chmod 0600 "$T/$2.password"
}
password_copy "$PG_PASSWORD_FILE" admin
{
	echo "# the operator's CLI, written by webhooks-fleet.sh"
	echo "StateDir $T/cli"
	echo "StoreDSN $PG_DSN"
	echo "StoreDSNPasswordFile $T/admin.password"
	echo "HostName operator"
	echo "DNSServers 127.0.0.1:$NSD_PORT"
	echo "WebhookURL http://127.0.0.1:$PORT/hook"
	echo "WebhookSecretFile $T/secret"
} >"$T/cli.conf"
{
	echo "StateDir $T/scratch"
	echo "DNSServers 127.0.0.1:$NSD_PORT"
} >"$T/scratch.conf"
chmod 0644 "$T/cli.conf" "$T/scratch.conf"
CLI_AS=as_daemon_user
cli "$T/cli.conf" db init
[ "$rc" -eq 0 ] || lib_die "authready db init: exit $rc: $(cat "$LIB_ERR")"

case_ db-migrate-2-to-5
sql "DROP TABLE authready_webhook_outbox;
    UPDATE authready_meta SET value = '2' WHERE key = 'schema_version'" \
    >/dev/null
cli "$T/cli.conf" db migrate
if [ "$rc" -ne 0 ]; then
	ko "exit $rc"
elif [ "$(sql "SELECT value FROM authready_meta
    WHERE key = 'schema_version'")" != 5 ]; then
	ko "schema_version is not 5"
elif [ "$(sql "SELECT count(*) FROM pg_tables
    WHERE tablename = 'authready_webhook_outbox'")" != 1 ]; then
	ko "no authready_webhook_outbox"
else
	ok
fi

cli "$T/cli.conf" db grants
[ "$rc" -eq 0 ] || lib_die "authready db grants: exit $rc"
sql "SET ROLE authready_admin; $(cat "$LIB_OUT")" >/dev/null ||
    lib_die "the GRANTs did not apply: $(cat "$T/psql.err")"
hostpw=$(pg_password)
sql "CREATE ROLE authready_host LOGIN PASSWORD '$hostpw';
    GRANT authready_checker, authready_replica TO authready_host" \
    >/dev/null || lib_die "cannot create authready_host"
echo "$hostpw" >"$T/host.password"
chown "$DUSER:$DGROUP" "$T/host.password"
chmod 0600 "$T/host.password"

# host_conf H - host H's daemon config.
host_conf() {
	{
		echo "# host $1, written by webhooks-fleet.sh"
		echo "StateDir $T/$1"
		echo "Socket unix:$T/run/$1.sock"
		echo "PidFile $T/run/$1.pid"
		echo "UserID $DUSER:$DGROUP"
		echo "Syslog no"
		echo "DNSServers 127.0.0.1:$NSD_PORT"
		echo "DNSTimeout $(scaled 2)"
		echo "StoreDSN postgresql://authready_host@127.0.0.1:$PG_PORT/authready"
		echo "StoreDSNPasswordFile $T/host.password"
		echo "HostName host-$1"
		echo "WebhookURL http://127.0.0.1:$PORT/hook"
		echo "WebhookSecretFile $T/secret"
		echo "WebhookTimeout $HOOK_TIMEOUT"
		echo "FromCheck off"
		echo "OnPending quarantine"
		echo "HoldQueueCommand none"
	} >"$T/$1.conf"
	chmod 0644 "$T/$1.conf"
}

# host_start H - host H's daemon; 0 once it logged event=start.
host_start() {
	: >>"$T/$1.log"
	"$AUTHREADY_MILTER" -c "$T/$1.conf" -f </dev/null >/dev/null \
	    2>>"$T/$1.log" &
	eval "PID_$1=$!"
	i=0
	while [ $i -lt "$START_WAIT_TENTHS" ]; do
		grep -q 'event=start ' "$T/$1.log" && return 0
		eval "kill -0 \$PID_$1" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

case_ "-n accepts WebhookURL with StoreDSN"
host_conf a
"$AUTHREADY_MILTER" -n -c "$T/a.conf" >"$T/out" 2>"$T/err"
rc=$?
last_cmd="authready-milter -n -c a.conf"
[ $rc -eq 0 ] && ok || ko "exit $rc"

for h in a b; do
	host_conf $h
	case_ "host-$h-starts"
	evidence "$T/$h.log"
	if host_start $h; then
		ok
	else
		ko "no event=start"
	fi
done

# ------------------------------------------------------------ verified

for d in "$X" "$Y" "$Z"; do
	records "$d" >>"$ZF"
done
reload_zone

case_ "three domains verified: three events, once each"
bad=
for d in "$X" "$Y" "$Z"; do
	CLI_AS=as_daemon_user cli "$T/cli.conf" domain add "$d" \
	    --selector 1234rpr --key "$KEY" --mx "$SEEDMX" \
	    --spf-include amazonses.com
	[ "$rc" -eq 0 ] || bad="$bad $d($rc)"
done
if [ -n "$bad" ]; then
	ko "domain add:$bad"
elif ! wait_events 3; then
	ko "the receiver holds $(held) events, expected 3"
elif [ "$(types "$X") $(types "$Y") $(types "$Z")" != \
    "verified verified verified" ]; then
	ko "types: $(types "$X") / $(types "$Y") / $(types "$Z")"
else
	ok
fi

# --------------------------------------------- held: the host's own outbox

# The message: MAIL FROM of p (pending) with a queue ID, then its end.
{
	echo 'local conn = mt.connect(SOCK, 50, 0.1)'
	echo 'if conn == nil then error("cannot connect to " .. SOCK) end'
	echo 'mt.set_timeout(WAIT)'
	echo 'local e = mt.conninfo(conn, "localhost", "127.0.0.1")'
	echo 'if e ~= nil then error("conninfo: " .. e) end'
	echo 'e = mt.macro(conn, SMFIC_MAIL, "i", "FLEETQ1")'
	echo 'if e ~= nil then error("macro: " .. e) end'
	echo 'e = mt.mailfrom(conn, "<u@mail." .. DOMAIN .. ">")'
	echo 'if e ~= nil then error("mailfrom: " .. e) end'
	echo 'e = mt.eom(conn)'
	echo 'if e ~= nil then error("eom: " .. e) end'
	echo 'if not mt.eom_check(conn, MT_QUARANTINE) then'
	echo '	error("no quarantine at end of message")'
	echo 'end'
	echo 'mt.disconnect(conn)'
} >"$T/hold.lua"

case_ "held on host a: its event from a's LMDB outbox, not PostgreSQL's"
evidence "$T/a.log" "$T/out" "$T/err"
CLI_AS=as_daemon_user cli "$T/cli.conf" domain add "$P" \
    --selector 1234rpr --key "$KEY"
r1=$rc
wait_sql "SELECT readiness FROM authready_state WHERE domain = '$P'" pending
r2=$?
wait_sql "SELECT count(*) FROM authready_replicas WHERE host = 'host-a'
    AND position >= (SELECT version FROM authready_clock)" 1
r3=$?
timeout "$(scaled 30)" "$MILTERTEST" -D "SOCK=unix:$T/run/a.sock" \
    -D "DOMAIN=$P" -D "WAIT=$(scaled 25)" -s "$T/hold.lua" >"$T/out" \
    2>"$T/err" </dev/null
m_rc=$?
if [ $r1 -ne 0 ] || [ $r2 -ne 0 ] || [ $r3 -ne 0 ]; then
	ko "domain add exit $r1, pending $r2, host a's replica $r3"
elif [ $m_rc -ne 0 ]; then
	ko "miltertest: exit $m_rc"
elif ! wait_events 4; then
	ko "no held event ($(held) events)"
elif [ "$(types "$P")" != held ]; then
	ko "$P: '$(types "$P")', expected 'held'"
elif ! wait_line "$T/a.log" \
    "event=webhook-delivered seq=[0-9]* domain=$P "; then
	ko "host a did not deliver it"
elif [ "$(sql "SELECT count(*) FROM authready_webhook_outbox
    WHERE domain = '$P'")" != 0 ]; then
	ko "the held event is in PostgreSQL's outbox"
else
	ok
fi

# ------------------------------------------- events waiting under a lease

# broken DOMAIN - the zone without DOMAIN's DKIM key.
broken() {
	grep -v "_domainkey\\.$1" "$ZF" >"$ZF.new" && mv "$ZF.new" "$ZF"
}

case_ "receiver failing: degraded, recovered and removed wait, leased"
evidence "$T/a.log" "$T/b.log"
echo 100000 >"$T/recv/fail"
cp "$ZF" "$T/zone.good"
broken "$X"
broken "$Y"
reload_zone
due "$X"
due "$Y"
wait_sql "SELECT count(*) FROM authready_state WHERE domain IN
    ('$X', '$Y') AND readiness = 'degraded'" 2
r1=$?
cp "$T/zone.good" "$ZF"
reload_zone
due "$X"
due "$Y"
wait_sql "SELECT count(*) FROM authready_state WHERE domain IN
    ('$X', '$Y') AND readiness = 'verified'" 2
r2=$?
CLI_AS=as_daemon_user cli "$T/cli.conf" domain remove "$Z"
r3=$rc
if [ $r1 -ne 0 ] || [ $r2 -ne 0 ] || [ $r3 -ne 0 ]; then
	ko "degraded $r1, recovered $r2, remove exit $r3"
elif ! wait_sql "SELECT count(*) FROM authready_webhook_outbox
    WHERE claimed_until > now()" 5; then
	ko "$(sql "SELECT count(*) FROM authready_webhook_outbox") event(s)," \
	    "not all of 5 leased"
elif [ "$(sql "SELECT count(DISTINCT claimed_by) FROM
    authready_webhook_outbox GROUP BY domain ORDER BY 1 DESC LIMIT 1")" \
    != 1 ]; then
	ko "two hosts hold the events of one domain"
elif ! wait_sql "SELECT count(*) FROM authready_webhook_outbox
    WHERE domain = '$X'" 2; then
	ko "$X's two events are not in the outbox"
else
	ok "$(sql "SELECT string_agg(domain || '=' || claimed_by, ' ')
	    FROM (SELECT DISTINCT domain, claimed_by
	    FROM authready_webhook_outbox) s")"
fi

case_ "db status: the events waiting, leased"
cli "$T/cli.conf" db status
if [ "$rc" -ne 0 ]; then
	ko "exit $rc"
elif ! grep -q '^webhook events waiting: 5 (5 leased to a host)' \
    "$LIB_OUT"; then
	ko "no line 'webhook events waiting: 5 (5 leased to a host)'"
else
	ok
fi

# The host that holds x's events, and their seqs.
holder=$(sql "SELECT DISTINCT claimed_by FROM authready_webhook_outbox
    WHERE domain = '$X'")
seqs=$(sql "SELECT seq FROM authready_webhook_outbox
    WHERE claimed_by = '$holder' ORDER BY seq")
case $holder in
host-a/*) dead=a live=b ;;
*) dead=b live=a ;;
esac

# tried H SEQ - host H logged an attempt at SEQ.
tried() {
	grep -E -q "event=webhook-(retry|delivered) seq=$2 " "$T/$1.log"
}

# The first of each domain's events it holds: tried (the later ones wait
# for it, in order per domain).
firsts=$(sql "SELECT min(seq) FROM authready_webhook_outbox
    WHERE claimed_by = '$holder' GROUP BY domain ORDER BY 1")

case_ "each event tried by the host that holds it, not by the other"
evidence "$T/$dead.log" "$T/$live.log"
bad=
for s in $firsts; do
	j=0
	while ! tried "$dead" "$s" && [ $j -lt "$WAIT_TENTHS" ]; do
		sleep 0.1
		j=$((j + 1))
	done
	tried "$dead" "$s" || bad="$bad $s(not tried)"
done
stop_pid -KILL "$(eval "echo \$PID_$dead")"
eval "PID_$dead="
killed_ms=$(now_ms)
for s in $seqs; do
	tried "$live" "$s" && bad="$bad $s(by host-$live)"
done
if [ -z "$holder" ]; then
	ko "nobody holds $X's events"
elif [ -n "$bad" ]; then
	ko "seqs:$bad"
else
	ok "host-$dead held seqs $(echo $seqs), killed -9"
fi

# ------------------------------------------------ taken over, delivered

case_ "kill -9: the other host takes the events once the lease ran out"
evidence "$T/$live.log"
echo 0 >"$T/recv/fail"
first=$(echo "$seqs" | head -n 1)
wait_line "$T/$live.log" "event=webhook-delivered seq=$first " || :
took_ms=$(($(now_ms) - killed_ms))
lease_ms=$((2 * HOOK_TIMEOUT * 1000 + 5000))
bad=
for s in $seqs; do
	wait_line "$T/$live.log" "event=webhook-delivered seq=$s " ||
	    bad="$bad $s"
done
if [ -n "$bad" ]; then
	ko "host-$live did not deliver seqs$bad"
elif [ "$took_ms" -lt $((lease_ms - 2000)) ]; then
	ko "delivered ${took_ms} ms after the kill, before the lease" \
	    "(${lease_ms} ms) ran out"
else
	ok "${took_ms} ms after the kill (lease ${lease_ms} ms)"
fi

case_ "every event once by id, in order per domain, signatures good"
evidence "$T/recv/events"
WAIT_TENTHS=$LONG_TENTHS wait_events "$NEVENTS"
ids=$(awk '{ print $1 }' "$T/recv/events" | sort -u | wc -l)
want_xy="verified degraded recovered"
if [ "$(types "$X")" != "$want_xy" ]; then
	ko "$X: '$(types "$X")', expected '$want_xy'"
elif [ "$(types "$Y")" != "$want_xy" ]; then
	ko "$Y: '$(types "$Y")', expected '$want_xy'"
elif [ "$(types "$Z")" != "verified removed" ]; then
	ko "$Z: '$(types "$Z")', expected 'verified removed'"
elif [ "$ids" -ne "$NEVENTS" ] || [ "$(held)" -ne "$NEVENTS" ]; then
	ko "$ids ids in $(held) events, expected $NEVENTS"
elif [ -s "$T/recv/bad" ]; then
	cp "$T/recv/bad" "$T/err"
	ko "the receiver refused some signatures"
else
	ok "$(cat "$T/recv/dups" 2>/dev/null | wc -l) delivered twice"
fi

case_ "the outbox empties"
if ! WAIT_TENTHS=$LONG_TENTHS wait_sql \
    "SELECT count(*) FROM authready_webhook_outbox" 0; then
	ko "$(sql "SELECT count(*) FROM authready_webhook_outbox") left"
else
	cli "$T/cli.conf" db status
	if ! grep -q '^webhook events waiting: 0 ' "$LIB_OUT"; then
		ko "db status does not say 0 waiting"
	else
		ok
	fi
fi

# ------------------------------------------------------- woken by NOTIFY

# Each event's insert time, noted by a trigger in the writer's own
# transaction: before its COMMIT and its NOTIFY, so the arrival minus it
# is at least the delay from the commit to the delivery.
sql "CREATE TABLE whf_inserted (id text, at_ms bigint);
    CREATE FUNCTION whf_note() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER AS \$\$ BEGIN
    INSERT INTO whf_inserted VALUES ((NEW.event::json)->>'id',
        (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
    RETURN NEW; END \$\$;
    CREATE TRIGGER whf_note AFTER INSERT ON authready_webhook_outbox
    FOR EACH ROW EXECUTE FUNCTION whf_note()" >/dev/null ||
    lib_die "cannot create the insert trigger: $(cat "$T/psql.err")"

NQUICK=10
QUICK_MS=$(scaled 100)

# holds TYPE DOMAIN - the receiver holds that event.
holds() {
	grep -q " $1 $2\$" "$T/recv/events" 2>/dev/null
}

# wait_holds TYPE DOMAIN - until the receiver holds it; 1 at the deadline.
wait_holds() {
	j=0
	while ! holds "$1" "$2"; do
		[ $j -lt "$WAIT_TENTHS" ] || return 1
		sleep 0.1
		j=$((j + 1))
	done
}

case_ "a NOTIFY wakes the deliverer: events within $QUICK_MS ms of the insert"
evidence "$T/$live.log"
bad=
i=1
while [ $i -le $NQUICK ]; do
	CLI_AS=as_daemon_user cli "$T/cli.conf" domain add "q$i.$ZONE" \
	    --selector 1234rpr --key "$KEY"
	[ "$rc" -eq 0 ] || bad="$bad add:q$i($rc)"
	i=$((i + 1))
done
i=1
while [ -z "$bad" ] && [ $i -le $NQUICK ]; do
	CLI_AS=as_daemon_user cli "$T/cli.conf" domain remove "q$i.$ZONE"
	[ "$rc" -eq 0 ] || bad="$bad remove:q$i($rc)"
	wait_holds removed "q$i.$ZONE" || bad="$bad q$i(not delivered)"
	i=$((i + 1))
done
sql "SELECT id, at_ms FROM whf_inserted" >"$T/inserted"
# The delay of each removal's event: its arrival minus its insert.
awk '$2 == "removed" && $3 ~ /^q[0-9]+\./ { print $1 }' \
    "$T/recv/events" >"$T/quick.ids"
awk 'FILENAME == ARGV[1] { split($0, f, "|"); at[f[1]] = f[2]; next }
    FILENAME == ARGV[2] { want[$1] = 1; next }
    ($1 in want) && ($1 in at) { print $2 - at[$1] }' \
    "$T/inserted" "$T/quick.ids" "$T/recv/arrivals" | sort -n >"$T/quick.ms"
late=$(awk -v b="$QUICK_MS" '$1 > b' "$T/quick.ms" | wc -l)
if [ -n "$bad" ]; then
	ko "$bad"
elif [ "$(wc -l <"$T/quick.ms")" -lt $NQUICK ]; then
	ko "$(wc -l <"$T/quick.ms") delays measured, expected $NQUICK"
elif [ "$late" -gt 1 ]; then
	ko "$late of $NQUICK events later than $QUICK_MS ms:" \
	    "$(tr '\n' ' ' <"$T/quick.ms")ms"
else
	ok "delays $(tr '\n' ' ' <"$T/quick.ms")ms"
fi

case_ "an event with no NOTIFY: delivered by the slow poll"
evidence "$T/$live.log"
qid=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
sql "INSERT INTO authready_webhook_outbox (domain, event) VALUES
    ('quiet.$ZONE', '{\"id\":\"$qid\",\"type\":\"removed\",\"domain\":\"quiet.$ZONE\"}')" \
    >/dev/null
t0=$(now_ms)
if ! wait_holds removed "quiet.$ZONE"; then
	ko "not delivered"
else
	ok "$(($(now_ms) - t0)) ms"
fi

case_ "reload: the fleet's thread takes the new WebhookTimeout, still woken"
evidence "$T/$live.log"
NEW_TIMEOUT=$(scaled 3)
sed "s/^WebhookTimeout .*/WebhookTimeout $NEW_TIMEOUT/" "$T/$live.conf" \
    >"$T/$live.conf.new" && mv "$T/$live.conf.new" "$T/$live.conf"
chmod 0644 "$T/$live.conf"
kill -USR1 "$(eval "echo \$PID_$live")"
wait_line "$T/$live.log" "event=webhook-reload outbox=fleet urls=1 kept=1 added=0 removed=0 timeout_ms=$((NEW_TIMEOUT * 1000)) " || :
CLI_AS=as_daemon_user cli "$T/cli.conf" domain add "r.$ZONE" \
    --selector 1234rpr --key "$KEY"
r1=$rc
CLI_AS=as_daemon_user cli "$T/cli.conf" domain remove "r.$ZONE"
r2=$rc
if ! grep -q "event=webhook-reload outbox=fleet urls=1 kept=1 added=0 removed=0 timeout_ms=$((NEW_TIMEOUT * 1000)) " \
    "$T/$live.log"; then
	ko "no event=webhook-reload outbox=fleet with the new timeout"
elif [ $r1 -ne 0 ] || [ $r2 -ne 0 ]; then
	ko "domain add, remove: exit $r1, $r2"
elif ! wait_holds removed "r.$ZONE"; then
	ko "r.$ZONE's removed event was not delivered after the reload"
else
	ok
fi

case_ "host-$live: clean stop, log free of errors"
evidence "$T/$live.log"
stop_wait "$(eval "echo \$PID_$live")" "$(scaled 100)"
eval "PID_$live="
bad='Sanitizer|runtime error:|event=(webhook-outbox-error|webhook-discarded)'
if [ "$rc" -ne 0 ]; then
	ko "exit $rc"
elif grep -q -E "$bad" "$T/$live.log"; then
	grep -E "$bad" "$T/$live.log" | head -n 5 >"$T/err"
	ko "see stderr"
else
	ok
fi

finish
