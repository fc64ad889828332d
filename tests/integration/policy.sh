#!/bin/sh
# policy.sh - authready-milter's Postfix policy door (PolicySocket) in
#	front of a real Postfix, end to end.
#
# SYNOPSIS
#	make check TESTS=tests/integration/policy.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/policy.sh
#
# DESCRIPTION
#	NSD serves tests/zones and a zone of this test (hold.test) on
#	loopback; authready-milter runs as nobody with a milter socket and a
#	policy socket (PolicySocket unix:...); a private Postfix instance
#	(postfix-harness.sh) uses no milter at all, only
#	check_policy_service in smtpd_recipient_restrictions and
#	smtpd_end_of_data_restrictions, as contrib/postfix-main.cf.snippet
#	shows, and relays what it accepts to an smtp-sink.
#	tests/smtp-probe prints every SMTP reply, so exact replies are
#	asserted:
#
#	  - shop.hold.test (DomainActions: quarantine while pending, never
#	    checked): the first RCPT TO waits for its check (CheckWait, on a
#	    thread of its own), the reply is HOLD; the message is accepted
#	    and held, its queue ID (END-OF-MESSAGE) indexed; three
#	    recipients, one decision; the records are published and the
#	    checker releases it on its own: it is delivered;
#	  - example.com (registered, never checked): the first message waits
#	    for the check, finds it verified, and is delivered;
#	  - nodkim.example.org (pending): "550 5.7.1" at RCPT TO with the
#	    milter's text; its postmaster (ExemptSenders) is delivered;
#	  - the null sender: accepted and delivered;
#	  - an unregistered domain DNS cannot answer for: 451 4.4.3;
#	  - sub.example.net (DomainActions tag): two recipients, one
#	    decision, one X-Authready header in the delivered message;
#	  - late.hold.test (DomainActions monitor, pending): delivered, the
#	    log saying it would have been rejected;
#	  - a broken client (a line without "=", a request over the bound)
#	    has its connection closed and the door goes on serving; a good
#	    request on a raw connection gets one reply per request;
#	  - a reload (SIGUSR1) during traffic: every message delivered;
#	  - 500 concurrent SMTP sessions (smtp-source): all delivered, no
#	    policy error in Postfix's log.
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 not root or NSD or Postfix or
#	perl not installed, 99 the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir, NSD (from make check); AUTHREADY,
#	AUTHREADY_MILTER and SMTP_PROBE override the binaries;
#	POSTFIX_VERBOSE=1 shows the Postfix log at the end; TIME_SCALE=N
#	stretches every time limit N times (lib.sh).

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY=${AUTHREADY:-$top_builddir/authready}
AUTHREADY_MILTER=${AUTHREADY_MILTER:-$top_builddir/authready-milter}
SMTP_PROBE=${SMTP_PROBE:-$top_builddir/tests/smtp-probe}

# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
PROBE_TIMEOUT=$(scaled 30)
RELEASE_WAIT=100
BRIDGE_LIFE=$(scaled 300)
DNS_TIMEOUT=$(scaled 2)
CHECK_WAIT=$(scaled 10)
SHOW_COLUMNS=400
CONCURRENT=500

ZONE=hold.test
SHOP=shop.$ZONE
LATE=late.$ZONE
TAGGED=sub.example.net
SEEDMX=feedback-smtp.ap-northeast-1.amazonses.com
RCPT=someone@recipient.test

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: the private Postfix instance needs root"
	exit 77
fi
if ! command -v perl >/dev/null 2>&1; then
	echo "SKIP: perl is needed for the raw policy client"
	exit 77
fi
for b in "$AUTHREADY" "$AUTHREADY_MILTER" "$SMTP_PROBE"; do
	if [ ! -x "$b" ]; then
		echo "ERROR: $b not built" >&2
		exit 99
	fi
done

# shellcheck source=tests/integration/nsd-harness.sh
. "$top_srcdir/tests/integration/nsd-harness.sh"
# shellcheck source=tests/integration/postfix-harness.sh
. "$top_srcdir/tests/integration/postfix-harness.sh"
pf_find

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-policy-test.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
LIB_OUT=$T/out
LIB_ERR=$T/err
chmod 0755 "$T"
MILTER_PID=
BRIDGE_PID=

# cleanup - the daemon and the bridge (Postfix and NSD: their harnesses).
cleanup() {
	stop_pid "$MILTER_PID" "$BRIDGE_PID"
	MILTER_PID=
	BRIDGE_PID=
}

mkdir "$T/zones" "$T/state" "$T/milter" "$T/bin" "$T/keys" "$T/bridge" \
    "$T/qbridge"
cat >"$T/zones/$ZONE.zone" <<EOF
; $ZONE - written by policy.sh; the test publishes $SHOP's records.
\$ORIGIN $ZONE.
\$TTL 300
@	SOA	ns.$ZONE. hostmaster.$ZONE. ( 1 3600 600 86400 300 )
@	NS	ns.$ZONE.
ns	A	127.0.0.1
EOF
nsd_start "$top_srcdir/tests/zones" "$T/zones"
pf_start ""
at_exit cleanup
PSOCK=$T/milter/policy.sock
pf_postconf "smtpd_recipient_restrictions = check_policy_service unix:$PSOCK" \
    "smtpd_end_of_data_restrictions = check_policy_service unix:$PSOCK" \
    "smtpd_policy_service_max_idle = 300s"
pf_reload

ZF=$NSD_DIR/zones/$ZONE.zone
serial=1

cp "$top_srcdir/tests/keys/rsa2048.pem" "$T/keys/"
chown -R nobody:nogroup "$T/keys"
chmod 0600 "$T/keys/rsa2048.pem"
KEY=$T/keys/rsa2048.pem

# The release and queue bridges, as in postfix.sh: the daemon (nobody)
# leaves a request, the test (root) runs postsuper or postqueue.
chown nobody:nogroup "$T/bridge" "$T/qbridge"
cat >"$T/bin/postsuper-bridge" <<EOF
#!/bin/sh
d=$T/bridge
n=0
while [ -e "\$d/req.\$n" ] || [ -e "\$d/req.\$n.tmp" ]; do n=\$((n + 1)); done
{
	printf 'argv'
	for a in "\$@"; do printf ' %s' "\$a"; done
	printf '\n'
	while IFS= read -r l || [ -n "\$l" ]; do printf '%s\n' "\$l"; done
} >"\$d/req.\$n.tmp"
/bin/mv "\$d/req.\$n.tmp" "\$d/req.\$n"
i=0
while [ ! -e "\$d/rc.\$n" ] && [ \$i -lt 300 ]; do
	/bin/sleep 0.1
	i=\$((i + 1))
done
[ -e "\$d/rc.\$n" ] || exit 75
read -r rc <"\$d/rc.\$n"
exit "\$rc"
EOF
cat >"$T/bin/postqueue-bridge" <<EOF
#!/bin/sh
d=$T/qbridge
n=0
while [ -e "\$d/req.\$n" ] || [ -e "\$d/req.\$n.tmp" ]; do n=\$((n + 1)); done
printf 'argv %s\n' "\$*" >"\$d/req.\$n.tmp"
/bin/mv "\$d/req.\$n.tmp" "\$d/req.\$n"
i=0
while [ ! -e "\$d/rc.\$n" ] && [ \$i -lt 300 ]; do
	/bin/sleep 0.1
	i=\$((i + 1))
done
[ -e "\$d/rc.\$n" ] || exit 75
while IFS= read -r l || [ -n "\$l" ]; do printf '%s\n' "\$l"; done \
    <"\$d/out.\$n"
read -r rc <"\$d/rc.\$n"
exit "\$rc"
EOF
cat >"$T/bin/sendmail" <<'EOF'
#!/bin/sh
while IFS= read -r l || [ -n "$l" ]; do :; done
exit 0
EOF
chmod 0755 "$T/bin/postsuper-bridge" "$T/bin/postqueue-bridge" \
    "$T/bin/sendmail"

# bridge_loop - the root side of the two bridges.
bridge_loop() {
	n=0
	q=0
	end=$(($(date +%s) + BRIDGE_LIFE))
	while [ "$(date +%s)" -lt "$end" ]; do
		if [ -e "$T/bridge/req.$n" ]; then
			sed 1d "$T/bridge/req.$n" |
			    "$PF_SBIN/postsuper" -c "$PF_DIR/etc" -H - \
				>"$T/bridge/out.$n" 2>&1
			echo $? >"$T/bridge/rc.$n.tmp"
			mv "$T/bridge/rc.$n.tmp" "$T/bridge/rc.$n"
			n=$((n + 1))
			continue
		fi
		if [ -e "$T/qbridge/req.$q" ]; then
			"$PF_SBIN/postqueue" -c "$PF_DIR/etc" -j \
			    >"$T/qbridge/out.$q" 2>/dev/null
			echo $? >"$T/qbridge/rc.$q.tmp"
			chmod 0644 "$T/qbridge/out.$q"
			mv "$T/qbridge/rc.$q.tmp" "$T/qbridge/rc.$q"
			q=$((q + 1))
			continue
		fi
		sleep 0.2
	done
}
bridge_loop </dev/null >/dev/null 2>&1 &
BRIDGE_PID=$!

cat >"$T/milter.conf" <<EOF
# written by policy.sh
Socket local:$T/milter/authready.sock
PolicySocket unix:$PSOCK
UserID nobody:nogroup
SocketGroup postfix
UMask 007
Syslog no
StateDir $T/state
DNSServers 127.0.0.1:$NSD_PORT
DNSTimeout $DNS_TIMEOUT
CheckWait $CHECK_WAIT
SendmailPath $T/bin/sendmail -t -oi
NotifyFrom noreply@operator.test
ReleaseCommand $T/bin/postsuper-bridge -c $PF_DIR/etc -H -
HoldQueueCommand $T/bin/postqueue-bridge -c $PF_DIR/etc -j
DomainActions $ZONE quarantine pending, $LATE monitor, $TAGGED tag
ExemptSenders postmaster@nodkim.example.org
Selector 1234rpr
EOF
sed -e "s|^ReleaseCommand .*|ReleaseCommand $PF_SBIN/postsuper -c $PF_DIR/etc -H -|" \
    -e "s|^HoldQueueCommand .*|HoldQueueCommand $PF_SBIN/postqueue -c $PF_DIR/etc -j|" \
    "$T/milter.conf" >"$T/cli.conf"

: >"$T/out"
: >"$T/err"

# probe PORT SENDER [RCPT...] - one message; the dialogue in out.
probe() {
	p=$1
	s=$2
	shift 2
	[ $# -gt 0 ] || set -- "$RCPT"
	last_cmd="smtp-probe 127.0.0.1 $p <$s> $*"
	timeout $((PROBE_TIMEOUT + 5)) "$SMTP_PROBE" -t "$PROBE_TIMEOUT" \
	    127.0.0.1 "$p" "$s" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}

want_rc() {
	[ "$rc" -eq "$1" ] || ko "exit status $rc, expected $1"
}

want_out() {
	grep -q -E -e "$1" "$T/out" || ko "no stdout line matches /$1/"
}

want_no_out() {
	if grep -q -E -e "$1" "$T/out"; then
		ko "a stdout line matches /$1/"
		return 1
	fi
}

queue_id() {
	sed -n 's/^< 250 .*queued as \([0-9A-Za-z]*\).*/\1/p' "$T/out" |
	    head -n 1
}

# mlog_has ERE - a line of the daemon's log matches ERE.
mlog_has() {
	if ! grep -q -E -e "$1" "$T/milter.log"; then
		ko "no daemon log line matches /$1/:" \
		    "$(tail -n 5 "$T/milter.log" | cut -c1-$SHOW_COLUMNS)"
		return 1
	fi
}

# mlog_count ERE - how many lines of the daemon's log match ERE.
mlog_count() {
	grep -c -E -e "$1" "$T/milter.log"
}

wait_for() {
	w=$(($(scaled "$1") * 10))
	shift
	i=0
	while [ $i -lt $w ]; do
		"$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	"$@"
}

in_hold() {
	pf_hold_ids | grep -q -x -e "$1"
}

sink_has() {
	grep -l -r -q -e "id $1" "$PF_SINK_DIR" 2>/dev/null
}

# sink_file ID - the sink's file of the message queued as ID.
sink_file() {
	grep -l -r -e "id $1" "$PF_SINK_DIR" 2>/dev/null | head -n 1
}

held_of() {
	"$AUTHREADY" -c "$T/cli.conf" status "$1" --json 2>/dev/null |
	    awk -f "$top_srcdir/tests/integration/jsonflat.awk" |
	    awk -F '\t' '$1 ~ /^\.domains\.0\.held\.[0-9]+\.queue_id$/ {
		print $2 }'
}

reload_zone() {
	serial=$((serial + 1))
	sed "s/( [0-9]* 3600/( $serial 3600/" "$ZF" >"$ZF.new" &&
	    mv "$ZF.new" "$ZF"
	nsd_reload "$ZONE" "$serial"
}

# raw FILE - send FILE on a raw connection to the policy socket; every
# reply line on stdout (out), then "EOF" when the daemon closed it.
raw() {
	last_cmd="raw policy client < $(basename "$1")"
	timeout $((PROBE_TIMEOUT + 5)) perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "$!\n";
		open(my $in, "<", $ARGV[1]) or die "$!\n";
		local $/; my $req = <$in>;
		$SIG{PIPE} = "IGNORE";
		print $s $req; $s->flush; shutdown($s, 1) if $ARGV[2];
		while (my $l = <$s>) { print $l; }
		print "EOF\n";' "$PSOCK" "$1" "${2:-}" >"$T/out" 2>"$T/err"
	rc=$?
}

# Registry ----------------------------------------------------------------

for d in example.com nodkim.example.org "$SHOP" "$LATE" "$TAGGED"; do
	case_ "register-$d"
	cli "$T/cli.conf" domain add "$d" --selector 1234rpr --key "$KEY" \
	    --mx "$SEEDMX" --spf-include amazonses.com
	want_rc 0 && ok
done
for d in nodkim.example.org "$LATE"; do
	case_ "refresh-$d-pending"
	cli "$T/cli.conf" refresh "$d"
	[ "$rc" -le 1 ] && want_out '-> pending' && ok
done
chown -R nobody:nogroup "$T/state"
chmod 0700 "$T/state"

"$AUTHREADY_MILTER" -c "$T/milter.conf" -f </dev/null >"$T/milter.out" \
    2>"$T/milter.log" &
MILTER_PID=$!
door_ready() {
	test -S "$PSOCK" && grep -q 'event=start .*policy_socket=' \
	    "$T/milter.log"
}

case_ policy-door-start
if wait_for 10 door_ready; then
	mode=$(stat -c '%a %G' "$PSOCK")
	if [ "$mode" = "770 postfix" ]; then
		ok
	else
		ko "policy socket mode and group: $mode"
	fi
else
	ko "not started: $(cat "$T/milter.log")"
	exit 1
fi

# Quarantine first: the automatic release needs a minute ------------------

case_ hold-unchecked-three-recipients
probe "$PF_PORT" "bounces@mail.$SHOP" a@recipient.test b@recipient.test \
    c@recipient.test
SHOP_ID=$(queue_id)
if want_rc 0 && [ -n "$SHOP_ID" ]; then
	if ! wait_for 5 in_hold "$SHOP_ID"; then
		ko "$SHOP_ID is not in the hold queue: $(pf_queue_list)"
	elif mlog_has "domain=$SHOP state=pending action=quarantine" &&
	    mlog_has "event=quarantine domain=$SHOP queue_id=$SHOP_ID door=unix"
	then
		n=$(mlog_count "sender=\"?<bounces@mail\\.$SHOP>\"? ")
		if [ "$n" -eq 1 ]; then
			ok
		else
			ko "$n decision lines for one transaction"
		fi
	fi
elif [ "$rc" -eq 0 ]; then
	ko "no queue ID in the reply"
fi

case_ hold-status-lists-held
got=$(held_of "$SHOP")
if [ "$got" = "$SHOP_ID" ]; then
	ok
else
	last_cmd="authready status $SHOP --json"
	ko "held is \"$got\", expected \"$SHOP_ID\""
fi

"$AUTHREADY" -c "$T/cli.conf" records "$SHOP" 2>/dev/null | grep -v '^;' \
    >>"$ZF"
reload_zone
published_at=$(date +%s)

# The other decisions, meanwhile ------------------------------------------

case_ unknown-then-verified-accepted
probe "$PF_PORT" "bounces@mail.example.com"
ID=$(queue_id)
if want_rc 0 && [ -n "$ID" ]; then
	if ! wait_for 10 sink_has "$ID"; then
		ko "$ID not delivered to the sink"
	elif mlog_has "domain=example\\.com state=verified action=accept"; then
		ok
	fi
fi

case_ pending-rejected
probe "$PF_PORT" "bounces@mail.nodkim.example.org"
if want_rc 1 &&
    want_out '^< 550 5\.7\.1 .*nodkim\.example\.org' &&
    want_out '^< 550 5\.7\.1 .*DKIM 1234rpr\._domainkey\.nodkim\.example\.org' &&
    want_no_out '^> DATA' &&
    mlog_has 'domain=nodkim\.example\.org state=pending action=reject reply=550'
then
	ok
fi

case_ exempt-sender-accepted
probe "$PF_PORT" "postmaster@NODKIM.example.org"
ID=$(queue_id)
if want_rc 0 && [ -n "$ID" ]; then
	if ! wait_for 10 sink_has "$ID"; then
		ko "$ID not delivered to the sink"
	elif mlog_has 'domain=nodkim\.example\.org state=pending action=accept reason="exempt sender"'; then
		ok
	fi
fi

case_ null-sender-accepted
probe "$PF_PORT" ""
ID=$(queue_id)
if want_rc 0 && [ -n "$ID" ]; then
	if ! wait_for 10 sink_has "$ID"; then
		ko "$ID not delivered to the sink"
	elif mlog_has 'sender="?<>"? .*action=accept.*null sender'; then
		ok
	fi
fi

case_ unregistered-dns-trouble-tempfail
probe "$PF_PORT" "someone@mail.unserved.invalid"
if want_rc 1 && want_out '^< 451 4\.4\.3 ' && want_no_out '^< 5' &&
    mlog_has 'domain=unserved\.invalid state=unregistered action=tempfail reply=451'
then
	ok
fi

case_ monitor-accepted-would-reject
probe "$PF_PORT" "bounces@mail.$LATE"
ID=$(queue_id)
if want_rc 0 && [ -n "$ID" ]; then
	if ! wait_for 10 sink_has "$ID"; then
		ko "$ID not delivered to the sink"
	elif mlog_has "domain=$LATE state=pending action=monitor would=reject"
	then
		ok
	fi
fi

case_ tag-two-recipients-one-header
probe "$PF_PORT" "news@$TAGGED" a@recipient.test b@recipient.test
ID=$(queue_id)
if want_rc 0 && [ -n "$ID" ]; then
	if ! wait_for 10 sink_has "$ID"; then
		ko "$ID not delivered to the sink"
	elif mlog_has "domain=$TAGGED .*action=tag"; then
		f=$(sink_file "$ID")
		n=$(grep -c '^X-Authready: ' "$f")
		d=$(mlog_count "sender=\"?<news@$TAGGED>\"? ")
		if [ "$n" -ne 1 ]; then
			ko "$n X-Authready headers in the delivered message"
		elif [ "$d" -ne 1 ]; then
			ko "$d decision lines for one transaction"
		else
			ok
		fi
	fi
fi

# A broken client, and the raw protocol -----------------------------------

printf 'request=smtpd_access_policy\nprotocol_state=CONNECT\n\nrequest=smtpd_access_policy\nprotocol_state=RCPT\nsender=\ninstance=raw.1\nfuture_attribute=x\n\n' \
    >"$T/two.req"
case_ raw-one-reply-per-request
raw "$T/two.req" shut
if want_rc 0 && [ "$(grep -c '^action=DUNNO$' "$T/out")" -eq 2 ] &&
    [ "$(grep -c '^$' "$T/out")" -eq 2 ] && want_out '^EOF$'; then
	ok
fi

printf 'request=smtpd_access_policy\ngarbage\n\n' >"$T/noeq.req"
case_ broken-client-closed
raw "$T/noeq.req"
if want_rc 0 && want_no_out '^action=' && want_out '^EOF$' &&
    mlog_has 'event=policy-bad-request .*line 2 is not name=value'; then
	ok
fi

perl -e 'print "sender=", "x" x 20000' >"$T/big.req"
case_ oversized-request-closed
raw "$T/big.req"
if want_rc 0 && want_no_out '^action=' && want_out '^EOF$' &&
    mlog_has 'event=policy-bad-request .*(over 2047 octets|over 16384 octets)'
then
	ok
fi

case_ door-serves-after-broken-clients
probe "$PF_PORT" "bounces@mail.example.com"
ID=$(queue_id)
if want_rc 0 && [ -n "$ID" ] && wait_for 10 sink_has "$ID"; then
	ok
elif [ "$rc" -eq 0 ]; then
	ko "$ID not delivered"
fi

# A reload during traffic -------------------------------------------------

case_ reload-during-traffic
before=$(pf_delivered)
pids=
i=0
while [ $i -lt 20 ]; do
	timeout $((PROBE_TIMEOUT + 5)) "$SMTP_PROBE" -t "$PROBE_TIMEOUT" \
	    127.0.0.1 "$PF_PORT" "r$i@mail.example.com" "$RCPT" \
	    >"$T/reload.$i" 2>&1 </dev/null &
	pids="$pids $!"
	if [ $((i % 5)) -eq 2 ]; then
		kill -USR1 "$MILTER_PID"
	fi
	i=$((i + 1))
done
# the probes end by themselves (each has its timeout): wait for them
for p in $pids; do
	wait "$p"
done
refused=0
for f in "$T"/reload.*; do
	grep -q '^< 250 .*queued as' "$f" || refused=$((refused + 1))
done
last_cmd="20 smtp-probe, SIGUSR1 at the 3rd, 8th, 13th and 18th"
if [ $refused -ne 0 ]; then
	ko "$refused messages not accepted during the reloads:" \
	    "$(grep -h '^< [45]' "$T"/reload.* | head -n 3)"
elif ! pf_wait_delivered $((before + 20)) "$(scaled 20)"; then
	ko "$(($(pf_delivered) - before)) of 20 delivered"
elif ! wait_for 10 grep -q 'event=reload ' "$T/milter.log"; then
	ko "no event=reload line"
else
	ok
fi

# 500 concurrent sessions -------------------------------------------------

case_ concurrent-sessions
SOURCE=$PF_SBIN/smtp-source
[ -x "$SOURCE" ] || SOURCE=$(command -v smtp-source)
if [ -z "$SOURCE" ] || [ ! -x "$SOURCE" ]; then
	skip "smtp-source not found"
else
	pf_postconf "default_process_limit = $CONCURRENT" \
	    "smtpd_client_connection_count_limit = 0"
	pf_reload
	before=$(pf_delivered)
	last_cmd="smtp-source -s $CONCURRENT -m $CONCURRENT"
	timeout "$(scaled 120)" "$SOURCE" -s "$CONCURRENT" -m "$CONCURRENT" \
	    -f "load@mail.example.com" -t "$RCPT" "127.0.0.1:$PF_PORT" \
	    >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	if ! want_rc 0; then
		:
	elif ! pf_wait_delivered $((before + CONCURRENT)) "$(scaled 120)"
	then
		ko "$(($(pf_delivered) - before)) of $CONCURRENT delivered"
	elif grep -q -E 'problem talking to server|policy.*(timeout|error)|(fatal|panic):' \
	    "$PF_LOG"; then
		ko "$(grep -E 'problem talking|policy|fatal|panic' "$PF_LOG" |
		    head -n 3)"
	else
		ok
	fi
fi

# The automatic release ---------------------------------------------------

case_ hold-released-when-verified
left=$((RELEASE_WAIT - ($(date +%s) - published_at)))
[ $left -gt 5 ] || left=5
if ! wait_for "$left" sink_has "$SHOP_ID"; then
	ko "$SHOP_ID not delivered ${RELEASE_WAIT}s after publishing:" \
	    "hold: $(pf_hold_ids | tr '\n' ' ')" \
	    "log: $(grep -E "$SHOP" "$T/milter.log" | tail -n 3)"
elif { wait_for 10 grep -q "event=release domain=$SHOP released=1" \
	"$T/milter.log" ||
	mlog_has "event=release domain=$SHOP released=1"; }; then
	if [ -n "$(held_of "$SHOP")" ]; then
		ko "status still lists held mail for $SHOP"
	else
		ok
	fi
fi

case_ queue-empty
if pf_wait_queue_empty 20; then
	ok
else
	ko "left in the queue: $(pf_queue_list | tr '\n' ' ')"
fi

# Logs --------------------------------------------------------------------

case_ postfix-log-clean
if [ "${POSTFIX_VERBOSE:-0}" = 1 ]; then
	grep -E 'hold: |reject: ' "$PF_LOG" | head -n 5 >&2
fi
if grep -q -E 'problem talking to server|warning: .*policy|(fatal|panic):' \
    "$PF_LOG"; then
	ko "$(grep -E 'problem talking|warning: .*policy|fatal|panic' \
	    "$PF_LOG" | head -n 5)"
elif ! grep -q -E "hold: RCPT from .*authready: .*from=<bounces@mail\\.$SHOP>" \
    "$PF_LOG"; then
	ko "Postfix did not log the HOLD: $(grep -E 'hold: ' "$PF_LOG" | head -n 2)"
elif ! grep -q -E 'reject: RCPT from .*550 5\.7\.1' "$PF_LOG"; then
	ko "Postfix did not log the reject"
else
	ok
fi

case_ daemon-log-clean
bad='Sanitizer|runtime error:| (error|crit|alert|emerg): |event=(store-error|store-corrupt|held-index-failed|policy-busy|policy-too-many|policy-error)'
if grep -q -E "$bad" "$T/milter.log"; then
	ko "$(grep -E "$bad" "$T/milter.log" | head -n 5 | cut -c1-$SHOW_COLUMNS)"
elif [ "$(tr -d '\t\n\040-\176' <"$T/milter.log" | wc -c)" -ne 0 ]; then
	ko "non-printable bytes in the daemon's log"
else
	ok
fi

case_ daemon-stops-cleanly
last_cmd="kill -TERM authready-milter"
: >"$T/out"
cp "$T/milter.log" "$T/err"
if ! stop_wait "$MILTER_PID" "$(scaled 100)"; then
	ko "still running 10s after SIGTERM"
else
	MILTER_PID=
	if [ "$rc" -ne 0 ]; then
		ko "exit status $rc after SIGTERM"
	elif ! grep -q 'event=stop status=0' "$T/milter.log"; then
		ko "no event=stop line"
	elif [ -e "$PSOCK" ]; then
		ko "the policy socket is left behind"
	else
		ok
	fi
fi

finish
