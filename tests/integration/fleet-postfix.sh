#!/bin/sh
# fleet-postfix.sh - a fleet of three milter hosts on one PostgreSQL,
# one of them the milter of a real Postfix: registration, checks,
# breakage and removal seen by every host, and a PostgreSQL outage while
# mail flows through that Postfix.
#
# SYNOPSIS
#	make check TESTS=tests/integration/fleet-postfix.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/fleet-postfix.sh
#
# DESCRIPTION
#	A private PostgreSQL (pg-harness.sh) with the schema of `authready
#	db init`, the GRANTs of `authready db grants` and a host role
#	holding the checker's and the replica's rights, as docs/fleet.md
#	tells an operator to make for a milter host; the test NSD
#	(nsd-harness.sh: tests/zones and a zone of this test, fleetpf.test,
#	whose records the test publishes); one `authready checkerd` (the
#	checker role); and three authready-milter hosts, a, b and c, each
#	with its own StateDir, socket and HostName, logging in as the host
#	role (each runs a replica and a checker), UnregisteredDomains
#	reject (the one 550 without DNS is the registry's), OnDegraded tag
#	and a short ReplicaMaxLag.  Host a is the milter of a private
#	Postfix (postfix-harness.sh); its mail is sent with smtp-probe and
#	the replies asserted as the SMTP client sees them.  Hosts b and c
#	are asked through miltertest (tests/milter/replica.lua), their
#	decisions read from their log lines.  Host b's CLI (the admin
#	role, b's StateDir) is the operator's: it registers and removes.
#
#	0. Before the hosts start: a checkerd whose DNS is a blackhole
#	   (tests/dns-blackhole) claims a domain registered from b's CLI
#	   and is killed with SIGKILL while its check hangs; the other
#	   checkerd takes the domain once the lease has run out, not
#	   before, checks it once and it becomes verified: one
#	   confirmation mail in all.
#
#	1. A domain registered from host b's CLI is checked by a checker
#	   (the checkerd, or a host's own; one check, one confirmation
#	   mail in all) and decided verified by all three: through Postfix
#	   the mail is accepted and delivered.  Its DKIM key is removed
#	   from DNS and the domain made due: a checker finds it degraded,
#	   and every host tags its mail (through Postfix the delivered
#	   message carries the X-Authready header).  Removed from b's CLI:
#	   unregistered everywhere, 550 through Postfix.
#
#	2. Host a is stopped (SIGSTOP) while a ready domain is registered
#	   from b's CLI and checked, so host a never sees it, then
#	   PostgreSQL is stopped (for FLEET_OUTAGE_SECONDS at least, a
#	   minute by default) and host a continued.  While PostgreSQL is
#	   down, mail flows through Postfix all the time: a verified
#	   domain's is accepted and delivered, a fresh pending domain's is
#	   refused 550 (fresh data), a domain whose state is past its next
#	   check (stale, as every state becomes in a long outage) gets 451
#	   and never a 5xx; the domain host a had not seen gets 451 4.7.1
#	   through Postfix once ReplicaMaxLag has passed, not 550; hosts b
#	   and c accept it; an unregistered domain gets 451 on host b too.
#
#	3. PostgreSQL started again: every replica reconnects and catches
#	   up without a restart (same PIDs, one event=start each), the
#	   checkers reconnect (the checkerd and each host's own), the
#	   domain is accepted and delivered through
#	   Postfix, the unregistered domain gets 550 again, and no message
#	   of the flow got a reply its sender's state did not call for.
#
#	4. Bad input at a host: a malformed StoreDSN and a password file
#	   the daemon's user cannot read stop the daemon at start (78,
#	   the reason logged, no crash); a wrong password leaves it
#	   running, logging event=replica-lost with PostgreSQL's reason,
#	   and its new store answers an unregistered domain 451, not 550.
#
#	Waits are for events (log lines, rows, replica positions, files)
#	with deadlines scaled by TIME_SCALE; the one wait for time is the
#	outage's length, which is what that part tests.
#	The cases depend on each other and run in order (lib.sh).
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 not root, or PostgreSQL,
#	NSD, Postfix or miltertest not installed, 99 the harness could not
#	run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir, NSD (from make check); AUTHREADY,
#	AUTHREADY_MILTER, SMTP_PROBE, MILTERTEST, ROWS, BLACKHOLE override
#	the programs (PG_BINDIR: pg-harness.sh); FLEET_OUTAGE_SECONDS
#	(default 60, the issue's minute; 0: as long as the outage's cases
#	take) how long PostgreSQL stays down at least; TIME_SCALE=N
#	stretches the time limits (lib.sh); POSTFIX_VERBOSE=1 shows the
#	Postfix log at the end.

set -u
LC_ALL=C
export LC_ALL
# The passwords are the harness's files, nothing from the environment.
unset PGPASSWORD PGPASSFILE PGSERVICE

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY=${AUTHREADY:-$top_builddir/authready}
AUTHREADY_MILTER=${AUTHREADY_MILTER:-$top_builddir/authready-milter}
SMTP_PROBE=${SMTP_PROBE:-$top_builddir/tests/smtp-probe}
ROWS=${ROWS:-$top_builddir/tests/replica-rows}
BLACKHOLE=${BLACKHOLE:-$top_builddir/tests/dns-blackhole}
MILTERTEST=${MILTERTEST:-$(command -v miltertest 2>/dev/null)}
LUADIR=$top_srcdir/tests/milter
KEY_SRC=$top_srcdir/tests/keys/rsa2048.pem
SHOW_COLUMNS=400
DUSER=nobody
DGROUP=nogroup
getent group "$DGROUP" >/dev/null 2>&1 || DGROUP=nobody

# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/integration/pg-harness.sh
. "$here/pg-harness.sh"
# shellcheck source=tests/integration/nsd-harness.sh
. "$here/nsd-harness.sh"
# shellcheck source=tests/integration/postfix-harness.sh
. "$here/postfix-harness.sh"

LAG=$(scaled 3)            # ReplicaMaxLag, seconds
WAIT_TENTHS=$(scaled 300)  # an event the test waits for
START_WAIT_TENTHS=$(scaled 150)
STOP_WAIT_TENTHS=$(scaled 150)
MILTERTEST_TIMEOUT=$(scaled 30)
PROBE_TIMEOUT=$(scaled 30)
RUN_TIMEOUT=$(scaled 30)
FLOW_ROUNDS_MAX=1000       # rounds of the mail flow, a bound
# How long PostgreSQL stays down at least (issue 15: "for a minute");
# the replicas' reconnect backoff reaches its 10 s cap meanwhile.  0:
# as long as the outage's cases take (about 10 s), for quick runs.
FLEET_OUTAGE_SECONDS=${FLEET_OUTAGE_SECONDS:-60}

for p in "$AUTHREADY" "$AUTHREADY_MILTER" "$SMTP_PROBE" "$ROWS" \
    "$BLACKHOLE"; do
	[ -x "$p" ] || lib_die "$p not built"
done
pf_find
pg_find
nsd_find
if [ -z "$MILTERTEST" ] || [ ! -x "$MILTERTEST" ]; then
	echo "SKIP: miltertest not found"
	exit 77
fi
if ! command -v setpriv >/dev/null 2>&1 ||
    ! getent passwd "$DUSER" >/dev/null 2>&1; then
	echo "SKIP: this test needs setpriv and $DUSER"
	exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-fleetpf.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
chmod 0755 "$T"
LIB_OUT=$T/out
LIB_ERR=$T/err
PID_a=
PID_b=
PID_c=
PID_w=
CK_PID=
SLOW_PID=
BH_PID=
FLOW_PID=

ZONE=fleetpf.test
SHOP=shop.$ZONE         # verified, degraded, removed (part 1)
STEADY=steady.$ZONE     # verified throughout
PENDING=pending.$ZONE   # no records: pending
STALE=stale.$ZONE       # a pending state past its next check
LATE=late.$ZONE         # registered while host a is stopped
NOBODY=nobody.$ZONE     # never registered
KILL=kill.$ZONE         # checked while its first checker is killed
SEEDMX=feedback-smtp.ap-northeast-1.amazonses.com
RCPT=someone@recipient.test

# cleanup - stop what the test started (Postfix, NSD, PostgreSQL: their
# harnesses).
cleanup() {
	: >"$T/flow.stop"
	stop_pid "$FLOW_PID"
	for h in a b c w; do
		eval "p=\$PID_$h"
		# a host stopped by a failed case must see its SIGTERM
		[ -n "$p" ] && kill -CONT "$p" 2>/dev/null
	done
	stop_pid "$PID_a" "$PID_b" "$PID_c" "$PID_w" "$CK_PID" "$SLOW_PID" \
	    "$BH_PID"
	PID_a=
	PID_b=
	PID_c=
	PID_w=
	CK_PID=
	SLOW_PID=
	BH_PID=
	FLOW_PID=
}

# Setup: DNS, Postfix, PostgreSQL -------------------------------------------

mkdir "$T/zones" "$T/run" "$T/bin" "$T/mail" "$T/keys" "$T/scratch" \
    "$T/flow" "$T/ck"
cat >"$T/zones/$ZONE.zone" <<EOF
; $ZONE - written by fleet-postfix.sh; the test publishes the records.
\$ORIGIN $ZONE.
\$TTL 300
@	SOA	ns.$ZONE. hostmaster.$ZONE. ( 1 3600 600 86400 300 )
@	NS	ns.$ZONE.
ns	A	127.0.0.1
EOF
nsd_start "$top_srcdir/tests/zones" "$T/zones"
ZF=$NSD_DIR/zones/$ZONE.zone
serial=1
pf_start "unix:$T/run/a.sock"
pg_start
at_exit cleanup

# The daemons run as nobody: they reach the run directory (Postfix too:
# the socket is a's), the key and their password.
chown "$DUSER:$DGROUP" "$T/run" "$T/scratch"
chmod 0755 "$T/run"
cp "$KEY_SRC" "$T/keys/key.pem"
chown -R "$DUSER:$DGROUP" "$T/keys"
chmod 0600 "$T/keys/key.pem"
KEY=$T/keys/key.pem
# confirmation mail (the checkers' SendmailPath): one file a message
chmod 1777 "$T/mail"
cat >"$T/bin/rec-sendmail" <<EOF
#!/bin/sh
# A stand-in sendmail: each message in its own file.
/bin/cat >"$T/mail/msg.\$\$.\$(/bin/date +%s%N)"
EOF
chmod 0755 "$T/bin" "$T/bin/rec-sendmail"

# sql TEXT - TEXT in the authready database as the superuser (rows on
# stdout, unaligned; "" when it fails).
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

# The schema and the GRANTs as an operator makes them (docs/fleet.md),
# from host b's CLI: the admin role, b's StateDir.
mkdir "$T/a" "$T/b" "$T/c" "$T/w"
chown "$DUSER:$DGROUP" "$T/a" "$T/b" "$T/c" "$T/w"
chmod 0750 "$T/a" "$T/b" "$T/c" "$T/w"
# password_copy ROLE-FILE NAME - a copy the daemons (nobody) can read.
password_copy() {
	cp "$1" "$T/$2.password"
	chown "$DUSER:$DGROUP" "$T/$2.password"
	chmod 0600 "$T/$2.password"
}
password_copy "$PG_PASSWORD_FILE" admin
{
	echo "# host b's CLI: the operator's registry writes"
	echo "StateDir $T/b"
	echo "StoreDSN $PG_DSN"
	echo "StoreDSNPasswordFile $T/admin.password"
	echo "HostName host-b"
	echo "DNSServers 127.0.0.1:$NSD_PORT"
} >"$T/b-cli.conf"
# A scratch registry without StoreDSN: the records a domain publishes.
{
	echo "StateDir $T/scratch"
	echo "DNSServers 127.0.0.1:$NSD_PORT"
} >"$T/scratch.conf"
chmod 0644 "$T/b-cli.conf" "$T/scratch.conf"
# The CLI runs as the daemons' user: b's store stays theirs.
CLI_AS=as_daemon_user
cli "$T/b-cli.conf" db init
[ "$rc" -eq 0 ] || lib_die "authready db init: exit $rc: $(cat "$LIB_ERR")"
cli "$T/b-cli.conf" db grants
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
DSN_HOST="postgresql://authready_host@127.0.0.1:$PG_PORT/authready"

# The checkerd: the checker role, a StateDir of its own.
{
	echo "StateDir $T/ck"
	echo "StoreDSN $PG_DSN_CHECKER"
	echo "StoreDSNPasswordFile $PG_PASSWORD_FILE_CHECKER"
	echo "HostName checkerd"
	echo "DNSServers 127.0.0.1:$NSD_PORT"
	echo "DNSTimeout $(scaled 2)"
	echo "SendmailPath $T/bin/rec-sendmail -t -oi"
	echo "NotifyFrom noreply@operator.test"
} >"$T/ck.conf"
chmod 0700 "$T/ck"

# The hosts -----------------------------------------------------------------

# host_conf H [DSN [PASSWORD-FILE]] - host H's daemon config.
host_conf() {
	{
		echo "# host $1, written by fleet-postfix.sh"
		echo "StateDir $T/$1"
		echo "Socket unix:$T/run/$1.sock"
		echo "PidFile $T/run/$1.pid"
		echo "UserID $DUSER:$DGROUP"
		echo "Syslog no"
		echo "DNSServers 127.0.0.1:$NSD_PORT"
		echo "DNSTimeout $(scaled 2)"
		echo "CheckWait $(scaled 5)"
		echo "StoreDSN ${2:-$DSN_HOST}"
		echo "StoreDSNPasswordFile ${3:-$T/host.password}"
		echo "ReplicaMaxLag $LAG"
		echo "HostName host-$1"
		echo "UnregisteredDomains reject"
		echo "OnDegraded tag"
		echo "SendmailPath $T/bin/rec-sendmail -t -oi"
		echo "NotifyFrom noreply@operator.test"
		if [ "$1" = a ]; then
			# Postfix (user postfix) connects to a's socket
			echo "SocketGroup postfix"
			echo "UMask 007"
		fi
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

# wait_log H NEEDLE [COUNT] - until COUNT (default 1) lines of host H's
# log match NEEDLE (grep -E); 1 at the deadline.
wait_log() {
	i=0
	while [ "$(grep -c -E -e "$2" "$T/$1.log")" -lt "${3:-1}" ]; do
		[ $i -ge "$WAIT_TENTHS" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# position H - the last replica position host H logged ("" none).
position() {
	grep -E 'event=replica-(snapshot|apply|reconnected) ' "$T/$1.log" |
	    sed -n 's/.* position=\([0-9]*\).*/\1/p' | sort -n | tail -n 1
}

# wait_position H V - until host H's replica reached version V.
wait_position() {
	i=0
	while :; do
		got=$(position "$1")
		[ -n "$got" ] && [ "$got" -ge "$2" ] && return 0
		[ $i -ge "$WAIT_TENTHS" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# clock - PostgreSQL's clock version.
clock() {
	sql "SELECT version FROM authready_clock"
}

# wait_all_at V - until hosts a, b and c reached version V; prints the
# hosts that did not.
wait_all_at() {
	for h in a b c; do
		wait_position $h "$1" || printf ' host-%s (at %s)' $h \
		    "$(position $h)"
	done
}

qn=0
# decide H SENDER - one message from SENDER through host H's socket
# (miltertest, tests/milter/replica.lua: MAIL FROM, then the From
# header and the end of headers); d is "ACTION REPLY" from the
# daemon's log line of it (session=FQ<n>).
decide() {
	qn=$((qn + 1))
	qid=FQ$qn
	timeout "$MILTERTEST_TIMEOUT" "$MILTERTEST" \
	    -D "SOCK=unix:$T/run/$1.sock" -D "SENDER=$2" -D "FROM=" \
	    -D "QID=$qid" -s "$LUADIR/replica.lua" >"$T/mt.out" 2>&1 \
	    </dev/null
	line=$(grep "session=$qid " "$T/$1.log" | tail -n 1)
	act=$(printf '%s\n' "$line" | sed -n 's/.* action=\([a-z]*\).*/\1/p')
	rep=$(printf '%s\n' "$line" | sed -n 's/.* reply=\([0-9]*\).*/\1/p')
	d="${act:-none} ${rep:--}"
}

# probe SENDER [OUT] - one message from SENDER through Postfix (host
# a); the dialogue in OUT (default $T/probe.out); sets prc (smtp-probe's
# exit), reply ("451 4.7.1": the first refused reply, else "accepted")
# and pqid (the queue ID of an accepted message).
probe() {
	p_out=${2:-$T/probe.out}
	timeout $((PROBE_TIMEOUT + 5)) "$SMTP_PROBE" -t "$PROBE_TIMEOUT" \
	    127.0.0.1 "$PF_PORT" "$1" "$RCPT" >"$p_out" 2>&1 </dev/null
	prc=$?
	reply=$(sed -n 's/^< \([45][0-9][0-9] [0-9.]*\).*/\1/p' "$p_out" |
	    head -n 1)
	[ -n "$reply" ] || reply=accepted
	pqid=$(sed -n 's/^< 250 .*queued as \([0-9A-Za-z]*\).*/\1/p' \
	    "$p_out" | head -n 1)
}

# sink_file QID - the delivered message Postfix queued as QID.
sink_file() {
	grep -l -r -e "id $1" "$PF_SINK_DIR" 2>/dev/null | head -n 1
}

# wait_delivered QID - until the sink has the message QID.
wait_delivered() {
	i=0
	while [ -z "$(sink_file "$1")" ]; do
		[ $i -ge "$WAIT_TENTHS" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# mails DOMAIN - confirmation mails about DOMAIN received so far.
mails() {
	grep -l -F -e "$1" "$T"/mail/msg.* 2>/dev/null | wc -l | tr -d ' '
}

# checks DOMAIN - event=fleet-check lines for DOMAIN in every log.
checks() {
	cat "$T"/a.log "$T"/b.log "$T"/c.log "$T"/ck.log 2>/dev/null |
	    grep 'event=fleet-check ' | grep -c "domain=$1 "
}

# checked_by DOMAIN - the logs (hosts, checkerd) that checked DOMAIN.
checked_by() {
	for f in a b c ck; do
		grep 'event=fleet-check ' "$T/$f.log" 2>/dev/null |
		    grep -q "domain=$1 " && printf ' %s' "$f"
	done
}

# publish DOMAIN - its records (from a scratch registration with the
# same expectations) into the zone, served once this returns.
publish() {
	CLI_AS=as_daemon_user
	cli "$T/scratch.conf" domain add "$1" --selector 1234rpr \
	    --key "$KEY" --mx "$SEEDMX" --spf-include amazonses.com
	cli "$T/scratch.conf" records "$1"
	grep -v '^;' "$LIB_OUT" >>"$ZF"
	reload_zone
}

# reload_zone - bump the serial, make NSD serve the zone again.
reload_zone() {
	serial=$((serial + 1))
	sed "s/( [0-9]* 3600/( $serial 3600/" "$ZF" >"$ZF.new" &&
	    mv "$ZF.new" "$ZF"
	nsd_reload "$ZONE" "$serial"
}

# register DOMAIN - domain add from host b's CLI, the expectations of
# publish.
register() {
	CLI_AS=as_daemon_user
	cli "$T/b-cli.conf" domain add "$1" --selector 1234rpr --key "$KEY" \
	    --mx "$SEEDMX" --spf-include amazonses.com \
	    --contact "owner@$1"
}

# readiness DOMAIN - its state in PostgreSQL ("" none).
readiness() {
	sql "SELECT readiness FROM authready_state WHERE domain = '$1'
	    AND NOT deleted"
}

# 0. a checker killed in the middle of a refresh ----------------------------

# The slow checker's DNS is the blackhole: its checks hang until their
# CheckTimeout, the lease twice that plus 5 s (docs/fleet.md).
"$BLACKHOLE" "$T/bh.port" </dev/null >/dev/null 2>"$T/bh.err" &
BH_PID=$!
i=0
while [ ! -s "$T/bh.port" ] && [ $i -lt "$WAIT_TENTHS" ]; do
	sleep 0.1
	i=$((i + 1))
done
BH_PORT=$(tr -dc 0-9 <"$T/bh.port" 2>/dev/null)
[ -n "$BH_PORT" ] || lib_die "dns-blackhole wrote no port"
sed -e "s|^StateDir .*|StateDir $T/slow|" -e 's|^HostName .*|HostName slow|' \
    -e "s|^DNSServers .*|DNSServers 127.0.0.1:$BH_PORT|" "$T/ck.conf" \
    >"$T/slow.conf"
echo "CheckTimeout $(scaled 2)" >>"$T/slow.conf"
mkdir "$T/slow"
chmod 0700 "$T/slow"

# checkerd NAME - `authready checkerd` with NAME.conf, its log NAME.log;
# its PID in CK_PID once it logged event=checkerd-start (1: it did not).
checkerd() {
	: >"$T/$1.log"
	"$AUTHREADY" -c "$T/$1.conf" checkerd </dev/null >/dev/null \
	    2>>"$T/$1.log" &
	CK_PID=$!
	i=0
	while ! grep -q 'event=checkerd-start' "$T/$1.log"; do
		[ $i -lt "$WAIT_TENTHS" ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

publish "$KILL"
case_ checker-killed-mid-refresh-lease-runs-out-one-mail
evidence "$T/slow.log" "$T/ck.log"
if ! checkerd slow; then
	ko "the slow checkerd did not start"
else
	SLOW_PID=$CK_PID
	CK_PID=
	register "$KILL"
	if [ "$rc" -ne 0 ]; then
		ko "domain add: exit $rc"
	elif ! wait_sql "SELECT count(*) FROM authready_checks WHERE domain =
	    '$KILL' AND lease_owner LIKE 'slow/%'" 1; then
		ko "the slow checker did not claim $KILL"
	else
		until=$(sql "SELECT lease_until FROM authready_checks
		    WHERE domain = '$KILL'")
		left=$(sql "SELECT round(extract(epoch FROM
		    lease_until - now())) FROM authready_checks
		    WHERE domain = '$KILL'")
		t0=$(now_ms)
		kill -KILL "$SLOW_PID"
		wait "$SLOW_PID" 2>/dev/null
		SLOW_PID=
		if ! checkerd ck; then
			ko "the checkerd did not start"
		elif ! wait_sql "SELECT readiness FROM authready_state
		    WHERE domain = '$KILL'" verified; then
			ko "$KILL is '$(readiness "$KILL")' in PostgreSQL"
		elif ! wait_sql "SELECT count(*) FROM authready_notices
		    WHERE domain = '$KILL' AND sent_at IS NOT NULL" 1; then
			ko "its notice was not sent"
		elif [ "$(sql "SELECT checked >= '$until' FROM authready_checks
		    WHERE domain = '$KILL'")" != t ]; then
			ko "taken over before the lease ran out ($until)"
		elif [ "$(checks "$KILL")" != 1 ]; then
			ko "checked $(checks "$KILL") times after the kill"
		elif [ "$(mails "$KILL")" != 1 ]; then
			ko "$(mails "$KILL") confirmation mails"
		else
			ok "the lease ran out ${left} s after the kill; verified $(($(now_ms) - t0)) ms after it"
		fi
	fi
fi
stop_pid "$SLOW_PID"
SLOW_PID=
if [ -z "$CK_PID" ] && ! checkerd ck; then
	lib_die "the checkerd did not start: $(cat "$T/ck.log")"
fi

for h in a b c; do
	host_conf $h
	case_ "host-$h-starts"
	evidence "$T/$h.log"
	if ! host_start $h; then
		ko "no event=start"
	elif ! wait_log $h 'event=replica-snapshot '; then
		ko "no event=replica-snapshot"
	else
		ok
	fi
done
# 1. registered, verified, degraded, removed ---------------------------------

publish "$SHOP"
publish "$STEADY"
publish "$LATE"

case_ register-from-host-b-cli
register "$SHOP"
rc1=$rc
register "$STEADY"
rc2=$rc
register "$PENDING"
if [ "$rc1" -ne 0 ] || [ "$rc2" -ne 0 ] || [ "$rc" -ne 0 ]; then
	ko "domain add: exit $rc1, $rc2, $rc"
else
	ok
fi

case_ checked-once-verified-one-mail
if ! wait_sql "SELECT count(*) FROM authready_state
    WHERE domain IN ('$SHOP', '$STEADY') AND readiness = 'verified'" 2; then
	ko "not verified in PostgreSQL: $SHOP $(readiness "$SHOP"), $STEADY" \
	    "$(readiness "$STEADY")"
elif ! wait_sql "SELECT count(*) FROM authready_notices
    WHERE domain IN ('$SHOP', '$STEADY') AND sent_at IS NOT NULL" 2; then
	ko "the confirmation notices were not sent"
elif [ "$(checks "$SHOP")" != 1 ] || [ "$(checks "$STEADY")" != 1 ]; then
	ko "checked $(checks "$SHOP") and $(checks "$STEADY") times"
elif [ "$(mails "$SHOP")" != 1 ] || [ "$(mails "$STEADY")" != 1 ]; then
	ko "$(mails "$SHOP") and $(mails "$STEADY") confirmation mails"
else
	ok "checked by$(checked_by "$SHOP") and$(checked_by "$STEADY")"
fi
wait_sql "SELECT count(*) FROM authready_state WHERE domain = '$PENDING'" 1

case_ every-replica-has-the-states
missing=$(wait_all_at "$(clock)")
if [ -n "$missing" ]; then
	ko "not at the clock:$missing"
else
	ok
fi

case_ verified-through-postfix-delivered
evidence "$T/probe.out" "$T/a.log"
probe "user@$SHOP"
if [ "$prc" -ne 0 ] || [ -z "$pqid" ]; then
	ko "smtp-probe exit $prc, reply $reply"
elif ! wait_delivered "$pqid"; then
	ko "$pqid was not delivered"
else
	ok
fi

for h in b c; do
	case_ "verified-on-host-$h"
	evidence "$T/$h.log"
	decide $h "user@$SHOP"
	if [ "$d" = "accept -" ]; then
		ok
	else
		ko "$SHOP: $d"
	fi
done

case_ pending-through-postfix-550
evidence "$T/probe.out"
probe "user@$PENDING"
case $reply in
'550 5.7.1') ok ;;
*) ko "$PENDING: $reply" ;;
esac

case_ unregistered-through-postfix-550
evidence "$T/probe.out"
probe "user@$NOBODY"
case $reply in
'550 5.7.1') ok ;;
*) ko "$NOBODY: $reply" ;;
esac

case_ record-breaks-degraded-in-postgresql
grep -v "_domainkey\\.shop\\.$ZONE" "$ZF" >"$ZF.new" && mv "$ZF.new" "$ZF"
reload_zone
sql "UPDATE authready_checks SET next_check = '-infinity'
    WHERE domain = '$SHOP'" >/dev/null
if ! wait_sql "SELECT readiness FROM authready_state
    WHERE domain = '$SHOP'" degraded; then
	ko "$SHOP is $(readiness "$SHOP") in PostgreSQL"
else
	ok "checked by$(checked_by "$SHOP")"
fi

case_ degraded-everywhere
evidence "$T/a.log" "$T/b.log" "$T/c.log"
missing=$(wait_all_at "$(clock)")
probe "user@$SHOP"
f=
[ -n "$pqid" ] && wait_delivered "$pqid" && f=$(sink_file "$pqid")
decide b "user@$SHOP"
db=$d
decide c "user@$SHOP"
if [ -n "$missing" ]; then
	ko "not at the clock:$missing"
elif [ "$prc" -ne 0 ] || [ -z "$f" ]; then
	ko "through Postfix: smtp-probe exit $prc, reply $reply, not delivered"
elif ! grep -q -i '^X-Authready: .*degraded' "$f"; then
	evidence "$f"
	ko "the delivered message has no X-Authready header naming degraded"
elif [ "$db" != "tag -" ] || [ "$d" != "tag -" ]; then
	ko "host b: $db, host c: $d"
else
	ok
fi

case_ removed-from-host-b-cli-unregistered-everywhere
evidence "$T/probe.out"
CLI_AS=as_daemon_user
cli "$T/b-cli.conf" domain remove "$SHOP"
rrc=$rc
missing=$(wait_all_at "$(clock)")
probe "user@$SHOP"
decide b "user@$SHOP"
db=$d
decide c "user@$SHOP"
if [ "$rrc" -ne 0 ]; then
	ko "domain remove: exit $rrc"
elif [ -n "$missing" ]; then
	ko "not at the clock:$missing"
elif [ "$reply" != "550 5.7.1" ]; then
	ko "through Postfix: $reply"
elif [ "$db" != "reject 550" ] || [ "$d" != "reject 550" ]; then
	ko "host b: $db, host c: $d"
else
	ok
fi

# 2. PostgreSQL stopped while mail flows -------------------------------------

# A domain whose state is past its next check, as every state becomes in
# an outage longer than that: pending, next check an hour ago, and the
# checks' row far ahead so no checker refreshes it before the outage.
reg=$("$ROWS" reg "$STALE") && st=$("$ROWS" state "$STALE" pending -3600) ||
    lib_die "replica-rows failed"
sql "BEGIN;
    UPDATE authready_clock SET version = version + 1;
    INSERT INTO authready_registry (domain, entry, version, deleted)
      SELECT '$STALE', decode('$reg', 'hex'), version, false
      FROM authready_clock;
    INSERT INTO authready_state (domain, entry, readiness, version)
      SELECT '$STALE', decode('$st', 'hex'), 'pending', version
      FROM authready_clock;
    INSERT INTO authready_checks (domain, next_check)
      VALUES ('$STALE', 'infinity');
    SELECT pg_notify('authready_changes', version::text)
      FROM authready_clock;
    COMMIT;" >/dev/null || lib_die "cannot write $STALE"

case_ stale-state-everywhere
missing=$(wait_all_at "$(clock)")
if [ -n "$missing" ]; then
	ko "not at the clock:$missing"
else
	ok
fi

case_ late-registered-while-host-a-is-stopped
evidence "$T/a.log" "$T/c.log"
kill -STOP "$PID_a"
register "$LATE"
lrc=$rc
if [ "$lrc" -ne 0 ]; then
	ko "domain add: exit $lrc"
elif ! wait_sql "SELECT readiness FROM authready_state
    WHERE domain = '$LATE'" verified; then
	ko "$LATE is $(readiness "$LATE") in PostgreSQL"
elif ! wait_position c "$(clock)" || ! wait_position b "$(clock)"; then
	ko "hosts b and c did not apply it"
else
	ok "checked by$(checked_by "$LATE")"
fi
LATE_AT=$(clock)
A_AT=$(position a)
pg_stop
OUTAGE_T0=$(now_ms)
kill -CONT "$PID_a"

for h in a b c; do
	case_ "host-$h-replica-lost"
	evidence "$T/$h.log"
	if wait_log $h 'event=replica-lost'; then
		ok
	else
		ko "no event=replica-lost"
	fi
done

case_ host-a-had-not-seen-it
if [ -n "$A_AT" ] && [ "$A_AT" -lt "$LATE_AT" ] &&
    [ "$(position a)" = "$A_AT" ]; then
	ok "host a at $A_AT, the registration at $LATE_AT"
else
	ko "host a at $(position a) (before the stop $A_AT)," \
	    "the registration at $LATE_AT"
fi

# flow - mail through Postfix until flow.stop exists: each round one
# message of the verified, the stale and the pending domain, each
# dialogue in flow/ROUND.NAME.
flow() {
	n=0
	while [ ! -e "$T/flow.stop" ] && [ $n -lt $FLOW_ROUNDS_MAX ]; do
		probe "user@$STEADY" "$T/flow/$n.steady"
		echo "$prc|$reply|$pqid" >"$T/flow/$n.steady.r"
		probe "user@$STALE" "$T/flow/$n.stale"
		echo "$prc|$reply|" >"$T/flow/$n.stale.r"
		probe "user@$PENDING" "$T/flow/$n.pending"
		echo "$prc|$reply|" >"$T/flow/$n.pending.r"
		n=$((n + 1))
		# a pace, not a wait: about five rounds a second at most
		sleep 0.2
	done
}
rm -f "$T/flow.stop"
flow </dev/null >/dev/null 2>&1 &
FLOW_PID=$!

case_ late-on-host-a-451-not-550-through-postfix
evidence "$T/probe.out"
: >"$T/late.replies"
i=0
while :; do
	probe "user@$LATE"
	echo "$reply" >>"$T/late.replies"
	[ "$reply" = "451 4.7.1" ] && break
	[ $i -ge "$WAIT_TENTHS" ] && break
	# each probe is a round trip through Postfix; a tenth between
	sleep 0.1
	i=$((i + 1))
done
# "550 5.7.1 x17, 451 4.7.1 x1": the replies in order, runs counted
seen=$(uniq -c "$T/late.replies" | awk '{ c = $1; $1 = "";
    printf "%s%s x%d", sep, substr($0, 2), c; sep = ", " }')
if [ "$reply" != "451 4.7.1" ]; then
	ko "replies: $seen"
elif ! grep -F "sender=<user@$LATE>" "$T/a.log" | tail -n 1 |
    grep -q registry-stale; then
	ko "host a's log line does not say registry-stale"
else
	ok "ReplicaMaxLag $LAG s; replies in order: $seen"
fi

for h in b c; do
	case_ "late-accepted-on-host-$h"
	evidence "$T/$h.log"
	decide $h "user@$LATE"
	if [ "$d" = "accept -" ]; then
		ok
	else
		ko "$LATE: $d"
	fi
done

case_ unregistered-on-host-b-451-after-replicamaxlag
evidence "$T/b.log"
i=0
while :; do
	decide b "user@$NOBODY"
	[ "$d" = "tempfail 451" ] && break
	[ $i -ge "$WAIT_TENTHS" ] && break
	sleep 0.1
	i=$((i + 1))
done
if [ "$d" != "tempfail 451" ]; then
	ko "$NOBODY: $d"
elif ! grep "session=$qid " "$T/b.log" | grep -q registry-stale; then
	ko "the reason does not say registry-stale"
else
	ok
fi

case_ mail-flowed-during-the-outage
# the outage lasts FLEET_OUTAGE_SECONDS (the time passing is what is
# tested: the backoff), and at least four rounds of mail
while [ $(($(now_ms) - OUTAGE_T0)) -lt $((FLEET_OUTAGE_SECONDS * 1000)) ] &&
    [ ! -e "$T/flow.stop" ]; do
	sleep 0.2
done
i=0
while [ ! -e "$T/flow/3.pending.r" ] && [ $i -lt "$WAIT_TENTHS" ]; do
	sleep 0.1
	i=$((i + 1))
done
FLOW_OUTAGE_ROUNDS=$(find "$T/flow" -name '*.pending.r' | wc -l)
OUTAGE_S=$((($(now_ms) - OUTAGE_T0) / 1000))
if [ -e "$T/flow/3.pending.r" ]; then
	ok "$FLOW_OUTAGE_ROUNDS rounds of 3 messages in $OUTAGE_S s of outage"
else
	ko "fewer than four rounds of mail: is Postfix stuck?"
fi

# 3. PostgreSQL back ---------------------------------------------------------

pg_restart
for h in a b c; do
	case_ "host-$h-reconnects-and-catches-up"
	evidence "$T/$h.log"
	if ! wait_log $h 'event=replica-reconnected'; then
		ko "no event=replica-reconnected"
	elif ! wait_position $h "$(clock)"; then
		ko "at $(position $h), the clock at $(clock)"
	else
		ok
	fi
done

case_ checkers-reconnect
evidence "$T/ck.log"
if ! wait_log ck 'event=checkerd-db-down'; then
	ko "the checkerd did not notice the outage"
elif ! wait_log ck 'event=checkerd-db-reconnected'; then
	ko "no event=checkerd-db-reconnected"
else
	ok
fi

for h in a b c; do
	case_ "host-$h-checker-reconnects"
	# the daemon's own checker: its due rounds (every 15 s) met the
	# outage, and its connection is made again, no restart
	evidence "$T/$h.log"
	if ! grep -q 'event=fleet-db-down' "$T/$h.log"; then
		ko "the host's checker did not notice the outage"
	elif ! wait_log $h 'event=fleet-db-reconnected'; then
		ko "no event=fleet-db-reconnected"
	else
		ok
	fi
done

case_ late-through-postfix-accepted-after-the-outage
evidence "$T/probe.out"
probe "user@$LATE"
if [ "$prc" -ne 0 ] || [ -z "$pqid" ]; then
	ko "smtp-probe exit $prc, reply $reply"
elif ! wait_delivered "$pqid"; then
	ko "$pqid was not delivered"
else
	ok
fi

case_ unregistered-through-postfix-550-again
evidence "$T/probe.out"
probe "user@$NOBODY"
if [ "$reply" = "550 5.7.1" ]; then
	ok
else
	ko "$NOBODY: $reply"
fi

case_ flow-no-reply-its-state-did-not-call-for
: >"$T/flow.stop"
wait "$FLOW_PID"
FLOW_PID=
bad=
n=0
for r in "$T"/flow/*.r; do
	[ -e "$r" ] || continue
	n=$((n + 1))
	IFS='|' read -r frc freply fqid <"$r"
	case ${r##*/}:$freply in
	*.steady.r:accepted)
		[ "$frc" -eq 0 ] && [ -n "$fqid" ] ||
		    bad="$bad ${r##*/}:exit-$frc"
		;;
	*.stale.r:"451 4."*) ;;
	*.pending.r:"550 5.7.1") ;;
	*) bad="$bad ${r##*/}:$freply" ;;
	esac
done
if [ "$n" -lt 12 ]; then
	ko "only $n messages"
elif [ -n "$bad" ]; then
	ko "unexpected:$(echo "$bad" | cut -c1-300)"
else
	last=$(ls "$T"/flow/*.steady.r | sed 's/.*\/\([0-9]*\)\.steady\.r/\1/' |
	    sort -n | tail -n 1)
	IFS='|' read -r _ _ lqid <"$T/flow/$last.steady.r"
	if ! wait_delivered "$lqid"; then
		ko "the last verified message ($lqid) was not delivered"
	else
		ok "$n messages, $FLOW_OUTAGE_ROUNDS rounds of 3 in $OUTAGE_S s of outage"
	fi
fi

case_ no-host-restarted
bad=
for h in a b c; do
	eval "p=\$PID_$h"
	kill -0 "$p" 2>/dev/null || bad="$bad host-$h-gone"
	[ "$(grep -c 'event=start ' "$T/$h.log")" = 1 ] ||
	    bad="$bad host-$h-started-again"
done
if [ -n "$bad" ]; then
	ko "$bad"
else
	ok
fi

case_ converged-states
bad=
for h in a b c; do
	CLI_AS=as_daemon_user
	cli "$T/$h.conf" status "$LATE"
	grep -q verified "$LIB_OUT" || bad="$bad host-$h"
done
if [ -n "$bad" ]; then
	ko "$LATE not verified on:$bad"
else
	ok
fi

# 4. bad input at a host ----------------------------------------------------

case_ malformed-storedsn-stops-the-daemon-78
host_conf w "postgresql://authready_host@127.0.0.1:%zz/x"
timeout "$RUN_TIMEOUT" "$AUTHREADY_MILTER" -c "$T/w.conf" -f </dev/null \
    >/dev/null 2>"$T/w.log"
rc=$?
evidence "$T/w.log"
if [ "$rc" -ne 78 ]; then
	ko "exit $rc, want 78"
elif ! grep -q 'StoreDSN is malformed' "$T/w.log"; then
	ko "no clear message"
else
	ok
fi

case_ unreadable-password-file-stops-the-daemon-78
# root's alone: the daemon (UserID nobody) cannot read it
echo secret >"$T/root.password"
chmod 0600 "$T/root.password"
host_conf w "$DSN_HOST" "$T/root.password"
timeout "$RUN_TIMEOUT" "$AUTHREADY_MILTER" -c "$T/w.conf" -f </dev/null \
    >/dev/null 2>"$T/w.log"
rc=$?
evidence "$T/w.log"
if [ "$rc" -ne 78 ]; then
	ko "exit $rc, want 78"
elif ! grep -q "StoreDSNPasswordFile $T/root.password: Permission denied" \
    "$T/w.log"; then
	ko "no clear message"
else
	ok
fi

case_ wrong-password-runs-451-not-550
echo not-the-password >"$T/wrong.password"
chown "$DUSER:$DGROUP" "$T/wrong.password"
chmod 0600 "$T/wrong.password"
host_conf w "$DSN_HOST" "$T/wrong.password"
: >"$T/w.log"
evidence "$T/w.log"
if ! host_start w; then
	ko "no event=start"
elif ! wait_log w 'event=replica-lost .*password authentication failed'; then
	ko "no event=replica-lost naming the password"
else
	decide w "user@$NOBODY"
	if [ "$d" != "tempfail 451" ]; then
		ko "$NOBODY: $d"
	elif grep -q 'event=replica-snapshot' "$T/w.log"; then
		ko "a snapshot was taken"
	else
		ok
	fi
fi
stop_pid "$PID_w"
PID_w=

# The end --------------------------------------------------------------------

case_ no-milter-errors-in-the-postfix-log
if errs=$(pf_log_errors); then
	ko "$(printf '%s\n' "$errs" | head -n 5)"
else
	ok
fi

case_ no-sanitizer-report
if grep -l -E 'Sanitizer|runtime error:' "$T"/a.log "$T"/b.log "$T"/c.log \
    "$T"/ck.log "$T"/w.log >"$T/san" 2>/dev/null; then
	ko "see $(cat "$T/san")"
else
	ok
fi

case_ hosts-and-checkerd-stop-on-sigterm
bad=
for p in "$PID_a" "$PID_b" "$PID_c" "$CK_PID"; do
	if ! stop_wait "$p" "$STOP_WAIT_TENTHS" || [ "$rc" -ne 0 ]; then
		bad="$bad $p:$rc"
	fi
done
PID_a=
PID_b=
PID_c=
CK_PID=
if [ -n "$bad" ]; then
	ko "$bad"
else
	ok
fi

finish
