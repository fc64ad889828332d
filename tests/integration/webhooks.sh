#!/bin/sh
# webhooks.sh - state-change webhooks: the outbox, signed delivery, retries
# and give-ups, across a receiver killed and a daemon killed with -9.
#
# SYNOPSIS
#	make check TESTS=tests/integration/webhooks.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/webhooks.sh
#
# DESCRIPTION
#	A receiver on loopback (tests/webhook-receiver.pl: checks every
#	signature and its time, keeps each event once by id, answers 500
#	while told to, 404 on /gone) and authready-milter with two
#	WebhookURLs: /hook, and /gone, which refuses every event for good.
#	Two domains of a zone served by NSD go through their lives with
#	"authready refresh" and "domain remove" (the CLI writes the events
#	into the outbox, the daemon delivers them):
#
#	  a: verified, degraded (its DKIM key removed), recovered, then
#	     degraded and recovered again while the receiver and the
#	     daemon are down;
#	  b: verified, removed;
#	  c: pending (no event), then a message quarantined through
#	     miltertest (held) and released with "authready release"
#	     (released; ReleaseCommand a stand-in, HoldQueueCommand none).
#
#	The receiver answers 500 to its first requests (retried with
#	back-off, log event=webhook-retry), is killed with -9 and started
#	again (connection refused: retried), and the daemon is killed with
#	-9 while events wait in the outbox and started again (the receiver
#	then refuses the first of them once, so the same domain's later
#	events must wait for its retry).  In the end
#	the receiver holds every event exactly once by id, with a good
#	signature, in order per domain; /gone was given up for each event
#	(event=webhook-gave-up) without holding back /hook; the outbox is
#	empty (store check).  The daemon serves MetricsListen: scraped
#	while the receiver is down, authready_webhook_attempts_total counts
#	what the receiver answered (delivered: its 204s, gave_up: its 404s,
#	failed: at least its 500s and a refused connection) and
#	authready_webhook_outbox_events the waiting event; scraped at the
#	end, the restarted daemon's counters equal the receiver's answers
#	since the restart and its log lines, and the outbox gauge is 0.  Also: -n refuses a URL that is not http or
#	https, a URL without a scheme, a WebhookURL without WebhookSecretFile
#	and a secret file others may read (exit 78); with no WebhookURL no
#	event is written.
#
#	The cases depend on each other and run in order.
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 NSD, miltertest, perl or curl
#	is missing, 99
#	the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir, NSD (from make check); TIME_SCALE.

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY=${AUTHREADY:-$top_builddir/authready}
AUTHREADY_MILTER=${AUTHREADY_MILTER:-$top_builddir/authready-milter}
MILTERTEST=${MILTERTEST:-$(command -v miltertest 2>/dev/null)}
RECEIVER=$top_srcdir/tests/webhook-receiver.pl
K2048=$top_srcdir/tests/keys/rsa2048.pem

ZONE=webhooks.test
A=a.$ZONE
B=b.$ZONE
C=c.$ZONE
SEEDMX=feedback-smtp.ap-northeast-1.amazonses.com
FAILS=3 # the receiver's first answers are 500
NEVENTS=9
DUSER=nobody
DGROUP=nogroup
getent group "$DGROUP" >/dev/null 2>&1 || DGROUP=nobody

# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
# shellcheck source=tests/integration/nsd-harness.sh
. "$top_srcdir/tests/integration/nsd-harness.sh"

# How long a wait for an event may take (tenths of a second): the
# back-off after a few failures is several seconds.
WAIT_TENTHS=$(scaled 600)

[ -x "$AUTHREADY" ] || lib_die "$AUTHREADY not built"
[ -x "$AUTHREADY_MILTER" ] || lib_die "$AUTHREADY_MILTER not built"
if [ -z "$MILTERTEST" ] || [ ! -x "$MILTERTEST" ]; then
	echo "SKIP: miltertest is not installed"
	exit 77
fi
if ! perl -MDigest::SHA -MIO::Socket::INET -e 1 2>/dev/null; then
	echo "SKIP: perl with Digest::SHA and IO::Socket::INET is missing"
	exit 77
fi
if ! command -v curl >/dev/null 2>&1; then
	echo "SKIP: curl is missing (the metrics scrapes)"
	exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-webhooks.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
chmod 0755 "$T"
LIB_OUT=$T/out
LIB_ERR=$T/err
RPID=
RPID2=
MPID=
PORT=0

# cleanup - stop the receivers and the daemon.
cleanup() {
	stop_pid "$MPID" "$RPID" "$RPID2"
	MPID=
	RPID=
	RPID2=
}

mkdir "$T/zones" "$T/state" "$T/sock" "$T/recv" "$T/bin" || exit 99
{
	echo "; $ZONE - written by webhooks.sh; the test changes it."
	echo "\$ORIGIN $ZONE."
	echo "\$TTL 300"
	echo "@	SOA	ns.$ZONE. hostmaster.$ZONE. ( 1 3600 600 86400 300 )"
	echo "@	NS	ns.$ZONE."
	echo "ns	A	127.0.0.1"
} >"$T/zones/$ZONE.zone"
nsd_start "$top_srcdir/tests/zones" "$T/zones"
at_exit cleanup
ZF=$NSD_DIR/zones/$ZONE.zone
serial=1

# reload_zone - bump the serial, make NSD serve the zone again.
reload_zone() {
	serial=$((serial + 1))
	sed "s/( [0-9]* 3600/( $serial 3600/" "$ZF" >"$ZF.new" &&
	    mv "$ZF.new" "$ZF"
	nsd_reload "$ZONE" "$serial"
}

# dkim_drop DOMAIN - the zone without DOMAIN's DKIM key; reloaded.
dkim_drop() {
	grep -v "_domainkey\\.$1" "$ZF" >"$ZF.new" && mv "$ZF.new" "$ZF"
	reload_zone
}

# dkim_add DOMAIN - DOMAIN's DKIM key back in the zone; reloaded.
dkim_add() {
	as_daemon_user "$AUTHREADY" -c "$T/hooks.conf" records "$1" \
	    2>/dev/null | grep "_domainkey" >>"$ZF"
	reload_zone
}

# receiver_start - the receiver on PORT (0: any); waits until it listens.
receiver_start() {
	rm -f "$T/recv/port"
	perl "$RECEIVER" "$T/recv" "$T/secret" "$PORT" 2>>"$T/recv/log" &
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

# wait_log ERE [N] - until daemon.log has N (1) lines matching ERE.
wait_log() {
	j=0
	while [ "$(grep -c -E -e "$1" "$T/daemon.log")" -lt "${2:-1}" ]; do
		[ $j -ge "$WAIT_TENTHS" ] && return 1
		sleep 0.1
		j=$((j + 1))
	done
	return 0
}

# daemon_start - authready-milter in the foreground, its log appended to
# daemon.log; waits for its event=start.
daemon_start() {
	n0=$(grep -c 'event=start ' "$T/daemon.log")
	started_at=$(wc -l <"$T/daemon.log")
	"$AUTHREADY_MILTER" -c "$T/hooks.conf" -f </dev/null >/dev/null \
	    2>>"$T/daemon.log" &
	MPID=$!
	wait_log 'event=start ' $((n0 + 1)) ||
	    lib_die "the daemon did not start: $(tail -n 3 "$T/daemon.log")"
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

# waiting - the events the outbox holds (store check); "" on failure.
waiting() {
	as_daemon_user "$AUTHREADY" -c "$T/hooks.conf" store check \
	    2>/dev/null </dev/null |
	    sed -n 's/.* \([0-9][0-9]*\) webhook event(s) waiting.*/\1/p'
}

# free_port - a random port in 20000-32000 (below the ephemeral ports) that
# nobody listens on (from /proc/net/tcp, as postfix-harness.sh's
# pf_free_port).
free_port() {
	while :; do
		p=$(shuf -i 20000-32000 -n 1)
		hex=$(printf '%04X' "$p")
		awk -v p="$hex" '$4 == "0A" && ($2 == "0100007F:" p ||
		    $2 == "00000000:" p) { found = 1 } END { exit !found }' \
		    /proc/net/tcp 2>/dev/null || break
	done
	echo "$p"
}

# scrape - the daemon's /metrics into scrape; false when curl fails.
scrape() {
	curl -s -f -m "$(scaled 10)" -o "$T/scrape" \
	    "http://127.0.0.1:$MPORT/metrics" 2>"$T/err"
}

# sample SERIES - its value in the last scrape: a whole number, or -1
# when the series is absent or not one.
sample() {
	awk -v s="$1" '$1 == s && $2 ~ /^[0-9]+$/ { v = $2 }
	    END { print v == "" ? -1 : v }' "$T/scrape"
}

# attempts OUTCOME - authready_webhook_attempts_total of OUTCOME.
attempts() {
	sample "authready_webhook_attempts_total{outcome=\"$1\"}"
}

# answered FROM PATTERN - the receiver's requests after line FROM that
# match the ERE PATTERN ("PATH STATUS").
answered() {
	tail -n +$(($1 + 1)) "$T/recv/requests" 2>/dev/null |
	    grep -c -E -e "$2"
}

# since_start ERE - daemon.log's lines matching ERE since the daemon was
# last started (its threads may log before its event=start line).
since_start() {
	tail -n +$((started_at + 1)) "$T/daemon.log" | grep -c -E -e "$1"
}

# run ARGS... - authready with hooks.conf as the daemon's user.
run() {
	CLI_AS=as_daemon_user cli "$T/hooks.conf" "$@"
}

MPORT=$(free_port)
printf 'webhook secret of the test %s\n' "$$" >"$T/secret"
chown "$DUSER:$DGROUP" "$T/secret"
chmod 0600 "$T/secret"
echo "$FAILS" >"$T/recv/fail"
receiver_start
: >"$T/daemon.log"

{
	echo "# written by webhooks.sh"
	echo "Socket unix:$T/sock/milter.sock"
	echo "UserID $DUSER:$DGROUP"
	echo "Syslog no"
	echo "FromCheck off"
	echo "StateDir $T/state"
	echo "DNSServers 127.0.0.1:$NSD_PORT"
	echo "WebhookURL http://127.0.0.1:$PORT/hook"
	echo "WebhookURL http://127.0.0.1:$PORT/gone"
	echo "WebhookSecretFile $T/secret"
	echo "WebhookTimeout $(scaled 5)"
	echo "OnPending quarantine"
	echo "HoldQueueCommand none"
	echo "ReleaseCommand $T/bin/release"
	echo "MetricsListen 127.0.0.1:$MPORT"
} >"$T/hooks.conf"
# The release stand-in: the queue IDs it is given, one a line.
{
	echo "#!/bin/sh"
	echo "while IFS= read -r id; do echo \"\$id\"; done >>$T/released"
} >"$T/bin/release"
chmod 0755 "$T/bin/release"
touch "$T/released"
chown "$DUSER:$DGROUP" "$T/released"
# The message: MAIL FROM of c (pending) with a queue ID, then its end.
{
	echo 'local conn = mt.connect(SOCK, 50, 0.1)'
	echo 'if conn == nil then error("cannot connect to " .. SOCK) end'
	echo 'local e = mt.conninfo(conn, "localhost", "127.0.0.1")'
	echo 'if e ~= nil then error("conninfo: " .. e) end'
	echo 'e = mt.macro(conn, SMFIC_MAIL, "i", "HOOKQ1")'
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
chmod 0644 "$T/hooks.conf"
chown "$DUSER:$DGROUP" "$T/state"
chmod 0700 "$T/state"

# -n: what start refuses ------------------------------------------------------

# refused NAME WANT LINES - -n with hooks.conf's other keys and LINES
# exits 78 and says WANT.
refused() {
	case_ "-n refuses $1"
	{
		grep -v '^Webhook' "$T/hooks.conf"
		printf '%s\n' "$3"
	} >"$T/bad.conf"
	chmod 0644 "$T/bad.conf"
	"$AUTHREADY_MILTER" -n -c "$T/bad.conf" >"$T/out" 2>"$T/err"
	rc=$?
	last_cmd="authready-milter -n -c bad.conf"
	if [ $rc -ne 78 ]; then
		ko "exit $rc, expected 78"
	elif ! grep -q -e "$2" "$T/err"; then
		ko "stderr does not say '$2'"
	else
		ok
	fi
}

refused "an ftp URL" "http or https" "WebhookURL ftp://127.0.0.1/x
WebhookSecretFile $T/secret"
refused "a URL without a scheme" "absolute URL" \
    "WebhookURL 127.0.0.1:$PORT/hook
WebhookSecretFile $T/secret"
refused "a URL without a secret" "WebhookSecretFile" \
    "WebhookURL http://127.0.0.1:$PORT/hook"
cp "$T/secret" "$T/open-secret"
chown "$DUSER:$DGROUP" "$T/open-secret"
chmod 0644 "$T/open-secret"
refused "a secret others can read" "others may read" \
    "WebhookURL http://127.0.0.1:$PORT/hook
WebhookSecretFile $T/open-secret"

case_ "-n accepts the webhook config"
"$AUTHREADY_MILTER" -n -c "$T/hooks.conf" >"$T/out" 2>"$T/err"
rc=$?
last_cmd="authready-milter -n -c hooks.conf"
[ $rc -eq 0 ] && ok || ko "exit $rc"

# Without WebhookURL nothing is written ----------------------------------------

case_ "no WebhookURL: no event in the outbox"
grep -v '^Webhook' "$T/hooks.conf" >"$T/plain.conf"
chmod 0644 "$T/plain.conf"
CLI_AS=as_daemon_user cli "$T/plain.conf" domain add "nohook.$ZONE" \
    --selector 1234rpr --key "$K2048"
CLI_AS=as_daemon_user cli "$T/plain.conf" domain remove "nohook.$ZONE"
if [ $rc -ne 0 ]; then
	ko "domain remove: exit $rc"
elif [ "$(waiting)" != 0 ]; then
	ko "'$(waiting)' event(s) waiting"
else
	ok
fi

# The life of two domains -------------------------------------------------------

for d in "$A" "$B"; do
	run domain add "$d" --selector 1234rpr --key "$K2048" \
	    --mx "$SEEDMX" --spf-include amazonses.com
	[ $rc -eq 0 ] || lib_die "domain add $d: exit $rc"
	as_daemon_user "$AUTHREADY" -c "$T/hooks.conf" records "$d" \
	    2>/dev/null | grep -v '^;' >>"$ZF"
done
reload_zone
daemon_start

case_ "refresh: both domains verified"
run refresh --all
[ $rc -eq 0 ] && ok || ko "exit $rc"

case_ "500: retried with back-off, then delivered"
if ! wait_events 2; then
	ko "the receiver holds $(held) events, expected 2"
elif [ "$(grep -c 'event=webhook-retry .* url=1 status=500' \
    "$T/daemon.log")" -lt "$FAILS" ]; then
	ko "fewer than $FAILS retries after a 500 logged"
else
	ok "$(grep -c 'event=webhook-retry' "$T/daemon.log") retries"
fi

case_ "404: given up with a log line, /hook not held back"
if ! wait_log 'event=webhook-gave-up .* url=2 status=404' 2; then
	ko "no give-up of /gone logged"
elif grep -q '^/gone 204' "$T/recv/requests"; then
	ko "/gone accepted an event"
else
	ok
fi

# The receiver is killed -------------------------------------------------------

case_ "receiver killed: refused connections retried"
stop_pid -KILL "$RPID"
RPID=
n0=$(grep -c 'event=webhook-retry .* url=1 status=0 ' "$T/daemon.log")
dkim_drop "$A"
run refresh "$A"
if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
	ko "refresh: exit $rc"
elif ! wait_log 'event=webhook-retry .* url=1 status=0 ' $((n0 + 1)); then
	ko "no retry after a refused connection"
else
	ok
fi

# Every attempt so far was answered by the receiver (delivered: its
# 204s, gave_up: its 404s) or retried (each logged after it is counted).
case_ "metrics: attempts by outcome and the waiting event, receiver down"
retries=$(grep -c 'event=webhook-retry ' "$T/daemon.log")
last_cmd="curl http://127.0.0.1:$MPORT/metrics"
if ! scrape; then
	ko "curl /metrics failed"
elif [ "$(attempts delivered)" != "$(answered 0 '^/hook 204$')" ]; then
	ko "delivered: '$(attempts delivered)', the receiver's 204s:" \
	    "$(answered 0 '^/hook 204$')"
elif [ "$(attempts gave_up)" != "$(answered 0 '^/gone 404$')" ]; then
	ko "gave_up: '$(attempts gave_up)', the receiver's 404s:" \
	    "$(answered 0 '^/gone 404$')"
elif [ "$retries" -lt $((FAILS + 1)) ] ||
    [ "$(attempts failed)" -lt "$retries" ]; then
	ko "failed: '$(attempts failed)', $retries retries logged" \
	    "(at least $((FAILS + 1)))"
elif [ "$(sample authready_webhook_outbox_events)" -lt 1 ]; then
	ko "authready_webhook_outbox_events:" \
	    "'$(sample authready_webhook_outbox_events)', expected 1 or more"
else
	ok "$(attempts failed) failed, $(sample authready_webhook_outbox_events) waiting"
fi

case_ "receiver restarted: the waiting event delivered"
receiver_start
if wait_events 3; then
	ok
else
	ko "the degraded event never arrived ($(held) events)"
fi

# Held and released ------------------------------------------------------------

case_ "held: a quarantine is an event, and so is its release"
run domain add "$C" --selector 1234rpr --key "$K2048"
run refresh "$C" # pending: not an event
timeout "$(scaled 30)" "$MILTERTEST" -D "SOCK=unix:$T/sock/milter.sock" \
    -D "DOMAIN=$C" -s "$T/hold.lua" >"$T/out" 2>"$T/err" </dev/null
m_rc=$?
if [ $m_rc -ne 0 ]; then
	ko "miltertest: exit $m_rc"
elif ! wait_events 4; then
	ko "no held event ($(held) events)"
else
	run release "$C"
	if [ $rc -ne 0 ]; then
		ko "release: exit $rc"
	elif ! grep -q '^HOOKQ1$' "$T/released"; then
		ko "the release command did not get HOOKQ1"
	elif ! wait_events 5; then
		ko "no released event ($(held) events)"
	elif [ "$(types "$C")" != "held released" ]; then
		ko "$C: '$(types "$C")', expected 'held released'"
	elif ! grep -q '"queue_id":"HOOKQ1"' "$T/recv/bodies"; then
		ko "the held event does not name HOOKQ1"
	else
		ok
	fi
fi

# The daemon is killed with events in the outbox ---------------------------------

case_ "daemon killed -9 with events waiting: nothing lost"
stop_pid -KILL "$RPID"
RPID=
dkim_add "$A"
run refresh "$A"
r1=$rc
dkim_drop "$A"
run refresh "$A"
r2=$rc
dkim_add "$A"
run refresh "$A"
r3=$rc
run domain remove "$B"
r4=$rc
w=$(waiting)
stop_pid -KILL "$MPID"
MPID=
# The first of them is refused once: the later events of its domain must
# wait for its retry (in order per domain), the other domain's need not.
echo 1 >"$T/recv/fail"
asked=$(wc -l <"$T/recv/requests") # the restarted daemon's come after
receiver_start
daemon_start
if [ "$r1" -ne 0 ] || [ "$r2" -gt 1 ] || [ "$r3" -ne 0 ] ||
    [ "$r4" -ne 0 ]; then
	ko "refresh and remove: exits $r1 $r2 $r3 $r4"
elif [ "${w:-0}" -lt 4 ]; then
	ko "'$w' event(s) waited in the outbox at the kill, expected 4"
elif ! wait_events "$NEVENTS"; then
	ko "the receiver holds $(held) of $NEVENTS events"
else
	ok "$w waited"
fi

# What the receiver holds ------------------------------------------------------

case_ "every event once by id, in order per domain"
got_a=$(types "$A")
got_b=$(types "$B")
want_a="verified degraded recovered degraded recovered"
want_b="verified removed"
want_c="held released"
ids=$(awk '{ print $1 }' "$T/recv/events" | sort -u | wc -l)
if [ "$got_a" != "$want_a" ]; then
	ko "$A: '$got_a', expected '$want_a'"
elif [ "$got_b" != "$want_b" ]; then
	ko "$B: '$got_b', expected '$want_b'"
elif [ "$(types "$C")" != "$want_c" ]; then
	ko "$C: '$(types "$C")', expected '$want_c'"
elif [ "$ids" -ne "$NEVENTS" ] || [ "$(held)" -ne "$NEVENTS" ]; then
	ko "$ids ids in $(held) events"
else
	ok "$(cat "$T/recv/dups" 2>/dev/null | wc -l) delivered twice"
fi

case_ "every signature good and fresh"
if [ -s "$T/recv/bad" ]; then
	cp "$T/recv/bad" "$T/err"
	ko "the receiver refused some"
else
	ok
fi

case_ "the outbox empties: every URL delivered or given up"
j=0
while [ "$(waiting)" != 0 ] && [ $j -lt "$WAIT_TENTHS" ]; do
	sleep 0.1
	j=$((j + 1))
done
if [ "$(waiting)" != 0 ]; then
	ko "'$(waiting)' event(s) still waiting"
elif [ "$(grep -c 'event=webhook-gave-up .* url=2 status=404' \
    "$T/daemon.log")" -lt "$NEVENTS" ]; then
	ko "fewer than $NEVENTS give-ups of /gone"
else
	ok
fi

# logged_all - the log has caught up with the counters of the last
# scrape (each outcome is counted, then logged by the log's thread).
logged_all() {
	[ "$(since_start 'event=webhook-delivered ')" -ge \
	    "$(attempts delivered)" ] &&
	    [ "$(since_start 'event=webhook-gave-up ')" -ge \
	        "$(attempts gave_up)" ] &&
	    [ "$(since_start 'event=webhook-retry ')" -ge "$(attempts failed)" ]
}

case_ "metrics: the restarted daemon's counters equal what the receiver got"
scraped=0
scrape && scraped=1
j=0
while [ $scraped = 1 ] && ! logged_all && [ $j -lt "$WAIT_TENTHS" ]; do
	sleep 0.1
	j=$((j + 1))
done
if [ $scraped = 0 ]; then
	ko "curl /metrics failed"
elif [ "$(attempts delivered)" != "$(answered "$asked" '^/hook 204$')" ] ||
    [ "$(attempts delivered)" != "$(since_start 'event=webhook-delivered ')" ]; then
	ko "delivered: $(attempts delivered), the receiver's 204s:" \
	    "$(answered "$asked" '^/hook 204$'), logged:" \
	    "$(since_start 'event=webhook-delivered ')"
elif [ "$(attempts gave_up)" != "$(answered "$asked" '^/gone 404$')" ] ||
    [ "$(attempts gave_up)" != "$(since_start 'event=webhook-gave-up ')" ]; then
	ko "gave_up: $(attempts gave_up), the receiver's 404s:" \
	    "$(answered "$asked" '^/gone 404$'), logged:" \
	    "$(since_start 'event=webhook-gave-up ')"
elif [ "$(attempts failed)" != "$(answered "$asked" '^/hook 500$')" ] ||
    [ "$(attempts failed)" != "$(since_start 'event=webhook-retry ')" ]; then
	ko "failed: $(attempts failed), the receiver's 500s:" \
	    "$(answered "$asked" '^/hook 500$'), logged:" \
	    "$(since_start 'event=webhook-retry ')"
elif [ "$(sample authready_webhook_outbox_events)" != 0 ]; then
	ko "authready_webhook_outbox_events:" \
	    "'$(sample authready_webhook_outbox_events)', expected 0"
elif [ "$(sample authready_webhook_discarded_total)" != 0 ]; then
	ko "authready_webhook_discarded_total:" \
	    "'$(sample authready_webhook_discarded_total)'"
elif [ "$(sample \
    'authready_webhook_attempt_duration_seconds_count{outcome="delivered"}')" \
    != "$(attempts delivered)" ]; then
	ko "the delivered histogram's count is not the delivered counter"
else
	ok "$(attempts delivered) delivered, $(attempts gave_up) given up, $(attempts failed) failed"
fi

# Reload ----------------------------------------------------------------------

# receiver2_start - a second receiver (its own directory and secret,
# secret2) on any free port (PORT2).
receiver2_start() {
	mkdir -p "$T/recv2"
	perl "$RECEIVER" "$T/recv2" "$T/secret2" 0 2>>"$T/recv2/log" &
	RPID2=$!
	j=0
	while [ ! -s "$T/recv2/port" ] && [ $j -lt "$WAIT_TENTHS" ]; do
		sleep 0.1
		j=$((j + 1))
	done
	[ -s "$T/recv2/port" ] ||
	    lib_die "the second receiver did not start: $(cat "$T/recv2/log")"
	PORT2=$(cat "$T/recv2/port")
}

# reload_with LINES - hooks.conf's Webhook and MetricsListen lines
# replaced by LINES, then SIGUSR1; waits for the reload's line and the
# webhook thread's (event=webhook-reload).
reload_with() {
	{
		grep -v -E '^(Webhook|MetricsListen)' "$T/hooks.conf"
		printf '%s\n' "$1"
	} >"$T/hooks.new"
	chmod 0644 "$T/hooks.new"
	mv "$T/hooks.new" "$T/hooks.conf"
	n1=$(grep -c 'event=reload ' "$T/daemon.log")
	n2=$(grep -c 'event=webhook-reload ' "$T/daemon.log")
	kill -USR1 "$MPID"
	wait_log 'event=reload ' $((n1 + 1)) &&
	    wait_log 'event=webhook-reload ' $((n2 + 1))
}

# holds DIR TYPE DOMAIN - the receiver of DIR holds that event.
holds() {
	grep -q " $2 $3\$" "$1/events" 2>/dev/null
}

printf 'the second secret of the test %s\n' "$$" >"$T/secret2"
chown "$DUSER:$DGROUP" "$T/secret2"
chmod 0600 "$T/secret2"
HOOK2_TIMEOUT=$(scaled 4)

case_ "reload without WebhookURL: delivery paused, the event stays"
evidence "$T/daemon.log"
echo 100000 >"$T/recv/fail"
n0=$(grep -c "event=webhook-retry .* domain=$A url=1 status=500" \
    "$T/daemon.log")
run domain remove "$A"
r1=$rc
wait_log "event=webhook-retry .* domain=$A url=1 status=500" $((n0 + 1))
r2=$?
if [ $r1 -ne 0 ] || [ $r2 -ne 0 ]; then
	ko "domain remove: exit $r1; retried: $r2"
elif ! reload_with "WebhookSecretFile $T/secret
MetricsListen 127.0.0.1:$MPORT"; then
	ko "no event=reload and event=webhook-reload"
elif ! grep -q 'event=webhook-url-removed url=1 events=1 ' \
    "$T/daemon.log"; then
	ko "no event=webhook-url-removed url=1 events=1"
elif ! grep -q 'event=webhook-reload .* urls=0 .*paused' "$T/daemon.log"; then
	ko "the webhook thread did not say it paused"
elif [ "$(waiting)" != 1 ]; then
	ko "'$(waiting)' event(s) waiting, expected 1"
else
	ok
fi

case_ "reload with a new WebhookURL and secret: the waiting event signed anew"
evidence "$T/daemon.log" "$T/recv2/log"
receiver2_start
if ! reload_with "WebhookURL http://127.0.0.1:$PORT2/hook
WebhookSecretFile $T/secret2
WebhookTimeout $HOOK2_TIMEOUT
MetricsListen 127.0.0.1:$MPORT"; then
	ko "no event=reload and event=webhook-reload"
elif ! grep -q "event=webhook-reload .* urls=1 kept=0 added=1 removed=0 timeout_ms=$((HOOK2_TIMEOUT * 1000)) " \
    "$T/daemon.log"; then
	ko "the webhook thread did not take the new keys"
elif ! WAIT_TENTHS=$(scaled 300) wait_log \
    "event=webhook-delivered .* domain=$A url=1 "; then
	ko "not delivered to the new URL"
elif ! holds "$T/recv2" removed "$A"; then
	ko "the new receiver does not hold $A's removed event"
elif [ -s "$T/recv2/bad" ]; then
	cp "$T/recv2/bad" "$T/err"
	ko "the new receiver refused a signature (the old secret?)"
else
	ok
fi

case_ "reload: a removed URL is not sent what it was still to get"
evidence "$T/daemon.log"
echo 100000 >"$T/recv2/fail"
n0=$(grep -c "event=webhook-retry .* domain=$C url=1 status=500" \
    "$T/daemon.log")
run domain remove "$C"
r1=$rc
wait_log "event=webhook-retry .* domain=$C url=1 status=500" $((n0 + 1))
r2=$?
nr=$(grep -c 'event=webhook-url-removed url=1 events=1 ' "$T/daemon.log")
echo 0 >"$T/recv/fail"
if [ $r1 -ne 0 ] || [ $r2 -ne 0 ]; then
	ko "domain remove: exit $r1; retried: $r2"
elif ! reload_with "WebhookURL http://127.0.0.1:$PORT/hook
WebhookSecretFile $T/secret
MetricsListen 127.0.0.1:$MPORT"; then
	ko "no event=reload and event=webhook-reload"
else
	echo 0 >"$T/recv2/fail"
	j=0
	while [ "$(waiting)" != 0 ] && [ $j -lt "$WAIT_TENTHS" ]; do
		sleep 0.1
		j=$((j + 1))
	done
	# The event leaves the outbox once every URL is done with it: had
	# the removed URL kept its lane, the second receiver (answering
	# again) would hold it by now.
	if [ "$(grep -c 'event=webhook-url-removed url=1 events=1 ' \
	    "$T/daemon.log")" -ne $((nr + 1)) ]; then
		ko "no event=webhook-url-removed url=1 events=1"
	elif [ "$(waiting)" != 0 ]; then
		ko "'$(waiting)' event(s) still waiting"
	elif ! holds "$T/recv" removed "$C"; then
		ko "the first receiver, a URL again, does not hold $C's event"
	elif holds "$T/recv2" removed "$C"; then
		ko "the removed URL got $C's event"
	else
		ok
	fi
fi

case_ "reload: a new MetricsListen is logged as kept, the old one serves"
evidence "$T/daemon.log"
NEWPORT=$(free_port)
if ! reload_with "WebhookURL http://127.0.0.1:$PORT/hook
WebhookSecretFile $T/secret
MetricsListen 127.0.0.1:$NEWPORT"; then
	ko "no event=reload"
elif ! grep -q 'event=reload config=.* kept=MetricsListen ' \
    "$T/daemon.log"; then
	ko "the reload line does not name MetricsListen as kept"
elif ! scrape; then
	ko "the old MetricsListen does not answer"
else
	ok
fi

case_ "daemon: clean stop, log free of errors"
stop_wait "$MPID" "$(scaled 100)"
MPID=
bad='Sanitizer|runtime error:|event=(webhook-outbox-error|webhook-discarded)'
if [ "$rc" -ne 0 ]; then
	ko "exit $rc"
elif grep -q -E "$bad" "$T/daemon.log"; then
	grep -E "$bad" "$T/daemon.log" | head -n 5 >"$T/err"
	ko "see stderr"
else
	ok
fi


case_ "started without WebhookURL: a reload starts delivery"
evidence "$T/daemon.log"
D=d.$ZONE
{
	grep -v -E '^(Webhook|MetricsListen)' "$T/hooks.conf"
	echo "MetricsListen 127.0.0.1:$MPORT"
} >"$T/hooks.new"
chmod 0644 "$T/hooks.new"
mv "$T/hooks.new" "$T/hooks.conf"
run domain add "$D" --selector 1234rpr --key "$K2048"
r1=$rc
daemon_start
if [ $r1 -ne 0 ]; then
	ko "domain add: exit $r1"
elif ! reload_with "WebhookURL http://127.0.0.1:$PORT2/hook
WebhookSecretFile $T/secret2
MetricsListen 127.0.0.1:$MPORT"; then
	ko "no event=reload and event=webhook-reload"
else
	run domain remove "$D"
	if [ $rc -ne 0 ]; then
		ko "domain remove: exit $rc"
	elif ! wait_log "event=webhook-delivered .* domain=$D url=1 "; then
		ko "$D's removed event was not delivered"
	elif ! holds "$T/recv2" removed "$D"; then
		ko "the receiver does not hold $D's removed event"
	else
		ok
	fi
fi
stop_wait "$MPID" "$(scaled 100)"
MPID=

finish
