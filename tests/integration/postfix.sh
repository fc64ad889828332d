#!/bin/sh
# postfix.sh - authready-milter in front of a real Postfix, end to end.
#
# SYNOPSIS
#	make check TESTS=tests/integration/postfix.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/postfix.sh
#
# DESCRIPTION
#	NSD serves tests/zones and a zone of this test (hold.test) on
#	loopback; authready-milter runs as nobody on a unix socket; a private
#	Postfix instance (postfix-harness.sh) uses it as smtpd_milters and
#	relays what it accepts to an smtp-sink.  tests/smtp-probe speaks
#	SMTP and prints every reply, so exact replies are asserted:
#
#	  - example.com (verified): accepted on the smtp and the submission
#	    port, delivered to the sink;
#	  - nodkim.example.org (pending): "550 5.7.1" at MAIL FROM, naming
#	    the domain and the missing DKIM key; nothing delivered; but
#	    its postmaster (ExemptSenders; sent with the domain in upper
#	    case) is accepted and delivered;
#	  - the null sender: accepted and delivered;
#	  - a VERP sender of example.com with a 300-octet local part (a path
#	    over 256 octets): accepted and delivered, logged with
#	    oddity=path-over-256,local-part-over-64;
#	  - an unregistered domain DNS cannot answer for: 451 4.4.3, never
#	    a 5xx;
#	  - shop.hold.test (DomainActions: quarantine while pending): the
#	    first MAIL FROM makes the daemon check it (CheckWait), the
#	    message is accepted and put on hold, the milter logs its queue
#	    ID and "status --json" lists it under "held"; the records are
#	    published and the daemon's checker, on its own schedule, finds
#	    the domain verified and runs ReleaseCommand: the message leaves
#	    the hold queue and is delivered;
#	  - late.hold.test (the same, never published): held, then released
#	    by hand with "authready release", with the real postsuper;
#	  - a forged queue ID: a message from ceo@mail.example.com is held
#	    by another filter (a check_sender_access HOLD); a session on the
#	    milter socket (miltertest, acting as the MTA as a forger would)
#	    sends that queue ID at a quarantine of late.hold.test; the entry
#	    is made, but "authready release" checks it against postqueue -j,
#	    refuses it (another sender) and the message stays on hold.
#
#	Every decision is checked in the milter's log (stderr: Syslog no),
#	and neither the Postfix log nor the milter's shows milter errors,
#	crashes or sanitizer reports.
#
#	The daemon refuses to run as root, and postsuper needs root: its
#	ReleaseCommand here is a bridge script that hands the queue IDs to
#	the test (root), which runs "postsuper -c DIR -H -" and returns its
#	exit status, as sudo would in production (contrib/sudoers.authready).
#	postqueue needs no root, but only root may point it at another
#	instance (-c): HoldQueueCommand is a second bridge whose root side
#	runs "postqueue -c DIR -j" and hands back its output.
#
#	The pending back-off of the checker is one minute, so the automatic
#	release takes up to 75 seconds; the other cases run meanwhile.
#
#	The cases build on each other and run in order: CASE picks the cases
#	reported, and every case still runs (lib.sh).
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 not root or NSD or Postfix not
#	installed, 99 the harness could not run.
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
MILTERTEST=${MILTERTEST:-$(command -v miltertest 2>/dev/null)}
JSONFLAT=$top_srcdir/tests/integration/jsonflat.awk

# Times stretch with TIME_SCALE (lib.sh); so do the waits of
# wait_for.
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
RUN_TIMEOUT=$(scaled 20)
PROBE_TIMEOUT=$(scaled 30)
# The first pending check puts the next one a minute away; the checker
# looks for due domains every 15 seconds.
RELEASE_WAIT=100
BRIDGE_LIFE=$(scaled 240)
STOP_TENTHS=$(scaled 100)
DNS_TIMEOUT=$(scaled 2)
CHECK_WAIT=$(scaled 10)
SHOW_LINES=30
SHOW_COLUMNS=400

ZONE=hold.test
SHOP=shop.$ZONE
LATE=late.$ZONE
SEEDMX=feedback-smtp.ap-northeast-1.amazonses.com
RCPT=someone@recipient.test

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: the private Postfix instance needs root"
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

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-postfix-test.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
LIB_OUT=$T/out
LIB_ERR=$T/err
chmod 0755 "$T"
MILTER_PID=
BRIDGE_PID=

# cleanup - the milter and the bridge (Postfix and NSD: their harnesses).
cleanup() {
	stop_pid "$MILTER_PID" "$BRIDGE_PID"
	MILTER_PID=
	BRIDGE_PID=
}

mkdir "$T/zones" "$T/state" "$T/milter" "$T/bin" "$T/keys" "$T/bridge" \
    "$T/qbridge"
cat >"$T/zones/$ZONE.zone" <<EOF
; $ZONE - written by postfix.sh; the test publishes $SHOP's records.
\$ORIGIN $ZONE.
\$TTL 300
@	SOA	ns.$ZONE. hostmaster.$ZONE. ( 1 3600 600 86400 300 )
@	NS	ns.$ZONE.
ns	A	127.0.0.1
EOF
nsd_start "$top_srcdir/tests/zones" "$T/zones"
pf_start "unix:$T/milter/authready.sock"
at_exit cleanup
# Another filter: mail from this sender is put on hold by Postfix itself.
printf '/^ceo@mail\\.example\\.com$/ HOLD held by another filter\n' \
    >"$T/hold-senders"
chmod 0644 "$T/hold-senders"
pf_postconf \
    "smtpd_sender_restrictions = check_sender_access regexp:$T/hold-senders"
pf_reload

ZF=$NSD_DIR/zones/$ZONE.zone
serial=1

# The daemon (nobody) reads the key; the test's copy is its own.
cp "$top_srcdir/tests/keys/rsa2048.pem" "$T/keys/"
chown -R nobody:nogroup "$T/keys"
chmod 0600 "$T/keys/rsa2048.pem"
KEY=$T/keys/rsa2048.pem

# The release bridge: what the daemon runs as ReleaseCommand.  Shell
# builtins and absolute paths only (the daemon gives it a minimal
# environment).  It leaves argv and the IDs in req.N and waits for rc.N.
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
cat >"$T/bin/sendmail" <<'EOF'
#!/bin/sh
while IFS= read -r l || [ -n "$l" ]; do :; done
exit 0
EOF
# The queue bridge: what the daemon runs as HoldQueueCommand.  Its
# request is req.N in qbridge; the listing comes back in out.N.
cat >"$T/bin/postqueue-bridge" <<EOF
#!/bin/sh
d=$T/qbridge
n=0
while [ -e "\$d/req.\$n" ] || [ -e "\$d/req.\$n.tmp" ]; do n=\$((n + 1)); done
{
	printf 'argv'
	for a in "\$@"; do printf ' %s' "\$a"; done
	printf '\n'
} >"\$d/req.\$n.tmp"
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
chmod 0755 "$T/bin/postsuper-bridge" "$T/bin/postqueue-bridge" \
    "$T/bin/sendmail"

# bridge_loop - the root side: postsuper for each request, postqueue for
# each queue request; the status (and the listing) back.
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
# written by postfix.sh
Socket local:$T/milter/authready.sock
UserID nobody:nogroup
SocketGroup postfix
UMask 007
Syslog no
# the MAIL FROM decision alone (fromcheck.sh tests the From)
FromCheck off
StateDir $T/state
DNSServers 127.0.0.1:$NSD_PORT
DNSTimeout $DNS_TIMEOUT
CheckWait $CHECK_WAIT
SendmailPath $T/bin/sendmail -t -oi
NotifyFrom noreply@operator.test
ReleaseCommand $T/bin/postsuper-bridge -c $PF_DIR/etc -H -
HoldQueueCommand $T/bin/postqueue-bridge -c $PF_DIR/etc -j
DomainActions $ZONE quarantine pending
ExemptSenders postmaster@nodkim.example.org
# Unregistered domains are checked with this selector; without one their
# DKIM record would be missing (never verified), not undecided.
Selector 1234rpr
EOF
# The operator's CLI runs as root: the real postsuper of the instance.
sed -e "s|^ReleaseCommand .*|ReleaseCommand $PF_SBIN/postsuper -c $PF_DIR/etc -H -|" \
    -e "s|^HoldQueueCommand .*|HoldQueueCommand $PF_SBIN/postqueue -c $PF_DIR/etc -j|" \
    "$T/milter.conf" >"$T/cli.conf"

: >"$T/out"
: >"$T/err"

# probe PORT SENDER - one message to $RCPT; the dialogue in out.
probe() {
	last_cmd="smtp-probe 127.0.0.1 $1 <$2> <$RCPT>"
	timeout $((PROBE_TIMEOUT + 5)) "$SMTP_PROBE" -t "$PROBE_TIMEOUT" \
	    127.0.0.1 "$1" "$2" "$RCPT" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}

# want_rc N - the run exited N.
want_rc() {
	[ "$rc" -eq "$1" ] || ko "exit status $rc, expected $1"
}

# want_out ERE - a line of stdout matches ERE.
want_out() {
	grep -q -E -e "$1" "$T/out" || ko "no stdout line matches /$1/"
}

# want_no_out ERE - no line of stdout matches ERE.
want_no_out() {
	if grep -q -E -e "$1" "$T/out"; then
		ko "a stdout line matches /$1/"
		return 1
	fi
}

# queue_id - the queue ID of the "queued as" reply in out.
queue_id() {
	sed -n 's/^< 250 .*queued as \([0-9A-Za-z]*\).*/\1/p' "$T/out" |
	    head -n 1
}

# mlog_has ERE - a line of the milter's log matches ERE.
mlog_has() {
	if ! grep -q -E -e "$1" "$T/milter.log"; then
		ko "no milter log line matches /$1/:" \
		    "$(tail -n 5 "$T/milter.log" | cut -c1-$SHOW_COLUMNS)"
		return 1
	fi
}

# wait_for SECONDS COMMAND... - true once COMMAND is, within SECONDS
# times TIME_SCALE.
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

# in_hold ID - ID is in the hold queue.
in_hold() {
	pf_hold_ids | grep -q -x -e "$1"
}

# not_queued ID - ID is in no queue.
not_queued() {
	! pf_queue_ids | grep -q -x -e "$1"
}

# sink_has ID - the sink received the message Postfix queued as ID.
sink_has() {
	grep -l -r -q -e "id $1" "$PF_SINK_DIR" 2>/dev/null
}

# held_of DOMAIN - the queue IDs "status DOMAIN --json" lists as held.
held_of() {
	"$AUTHREADY" -c "$T/cli.conf" status "$1" --json 2>/dev/null |
	    awk -f "$JSONFLAT" |
	    awk -F '\t' '$1 ~ /^\.domains\.0\.held\.[0-9]+\.queue_id$/ {
		print $2 }'
}

# reload_zone - bump the serial, make NSD serve the zone again.
reload_zone() {
	serial=$((serial + 1))
	sed "s/( [0-9]* 3600/( $serial 3600/" "$ZF" >"$ZF.new" &&
	    mv "$ZF.new" "$ZF"
	nsd_reload "$ZONE" "$serial"
}

# Registry: the operator registers four domains -----------------------------

for d in example.com nodkim.example.org "$SHOP" "$LATE"; do
	case_ "register-$d"
	cli "$T/cli.conf" domain add "$d" --selector 1234rpr --key "$KEY" \
	    --mx "$SEEDMX" --spf-include amazonses.com
	want_rc 0 && ok
done
case_ refresh-example.com-verified
cli "$T/cli.conf" refresh example.com
want_rc 0 && want_out 'pending -> verified|unknown -> verified' && ok
case_ refresh-nodkim-pending
cli "$T/cli.conf" refresh nodkim.example.org
[ "$rc" -le 1 ] && want_out '-> pending' && ok
chown -R nobody:nogroup "$T/state"
chmod 0700 "$T/state"

"$AUTHREADY_MILTER" -c "$T/milter.conf" -f </dev/null >"$T/milter.out" \
    2>"$T/milter.log" &
MILTER_PID=$!
# milter_ready - the daemon has logged event=start: its socket has its
# group (Postfix runs as postfix) and it is about to accept.  The socket
# alone exists earlier, while it still belongs to root.
milter_ready() {
	test -S "$T/milter/authready.sock" &&
	    grep -q 'event=start ' "$T/milter.log"
}

case_ milter-start
if wait_for 10 milter_ready; then
	ok
else
	ko "not started: $(cat "$T/milter.log")"
	exit 1
fi

# Quarantine first: the automatic release needs a minute ------------------

case_ hold-unchecked-quarantined
probe "$PF_PORT" "bounces@mail.$SHOP"
SHOP_ID=$(queue_id)
if want_rc 0 && [ -n "$SHOP_ID" ]; then
	if ! wait_for 5 in_hold "$SHOP_ID"; then
		ko "$SHOP_ID is not in the hold queue: $(pf_queue_list)"
	elif mlog_has "domain=$SHOP state=pending action=quarantine" &&
	    mlog_has "event=quarantine domain=$SHOP queue_id=$SHOP_ID"; then
		ok
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

case_ hold-postcat-shows-hold
last_cmd="postcat -c DIR -q $SHOP_ID"
"$PF_SBIN/postcat" -c "$PF_DIR/etc" -q "$SHOP_ID" >"$T/out" 2>"$T/err"
rc=$?
want_rc 0 && want_out "^sender: bounces@mail\\.$SHOP\$" && ok

# The owner publishes the records authready asks for; nothing is
# refreshed by hand: the daemon's checker must notice by itself.
"$AUTHREADY" -c "$T/cli.conf" records "$SHOP" 2>/dev/null | grep -v '^;' \
    >>"$ZF"
reload_zone
published_at=$(date +%s)

# The other decisions, meanwhile ------------------------------------------

case_ verified-accepted
probe "$PF_PORT" "bounces@mail.example.com"
ID=$(queue_id)
if want_rc 0 && want_out '^< 250 2\.1\.0 ' && [ -n "$ID" ]; then
	if ! wait_for 10 sink_has "$ID"; then
		ko "$ID not delivered to the sink ($(pf_delivered) messages)"
	elif mlog_has "domain=example\\.com state=verified action=accept"
	then
		ok
	fi
fi

case_ verp-long-local-accepted
# a VERP sender whose local part is 300 octets (a path over 256): judged
# by its domain, accepted and delivered, the oddities logged
VERP_LOCAL="bounce-$(printf '%0276d' 0)=rcpt=example.net"
probe "$PF_PORT" "$VERP_LOCAL@mail.example.com"
ID=$(queue_id)
if [ ${#VERP_LOCAL} -ne 300 ]; then
	ko "the local part is ${#VERP_LOCAL} octets, not 300"
elif want_rc 0 && want_out '^< 250 2\.1\.0 ' && [ -n "$ID" ]; then
	if ! wait_for 10 sink_has "$ID"; then
		ko "$ID not delivered to the sink ($(pf_delivered) messages)"
	elif mlog_has "domain=example\\.com state=verified action=accept .*oddity=\"?path-over-256,local-part-over-64"
	then
		ok
	fi
fi

case_ verified-accepted-submission
probe "$PF_SUBMIT_PORT" "news@mail.example.com"
ID=$(queue_id)
if want_rc 0 && [ -n "$ID" ]; then
	if ! wait_for 10 sink_has "$ID"; then
		ko "$ID not delivered to the sink"
	elif mlog_has "sender=<?news@mail\\.example\\.com>? .*action=accept"
	then
		ok
	fi
fi

case_ pending-rejected
probe "$PF_PORT" "bounces@mail.nodkim.example.org"
if want_rc 1 &&
    want_out '^< 550 5\.7\.1 .*nodkim\.example\.org' &&
    want_out '^< 550 5\.7\.1 .*DKIM 1234rpr\._domainkey\.nodkim\.example\.org' &&
    want_no_out '^> RCPT' &&
    mlog_has 'domain=nodkim\.example\.org state=pending action=reject reply=550'
then
	ok
fi

case_ pending-rejected-submission
probe "$PF_SUBMIT_PORT" "x@nodkim.example.org"
want_rc 1 && want_out '^< 550 5\.7\.1 .*nodkim\.example\.org' && ok

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
	elif mlog_has 'sender=(<>)? .*action=accept.*null sender'; then
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

case_ late-quarantined
probe "$PF_PORT" "bounces@mail.$LATE"
LATE_ID=$(queue_id)
if want_rc 0 && [ -n "$LATE_ID" ]; then
	if ! wait_for 5 in_hold "$LATE_ID"; then
		ko "$LATE_ID is not in the hold queue"
	elif mlog_has "event=quarantine domain=$LATE queue_id=$LATE_ID"; then
		ok
	fi
fi

case_ late-release-by-hand
cli "$T/cli.conf" release "$LATE"
if want_rc 0 && want_out "$LATE: 1 held message"; then
	if ! wait_for 15 sink_has "$LATE_ID"; then
		ko "$LATE_ID not delivered after the release:" \
		    "$(pf_queue_list | tr '\n' ' ')"
	elif [ -n "$(held_of "$LATE")" ]; then
		ko "status still lists held mail for $LATE"
	else
		ok
	fi
fi

case_ late-release-again-nothing
cli "$T/cli.conf" release "$LATE"
want_rc 0 && want_out "$LATE: 0 held message" && ok

# A forged queue ID -------------------------------------------------------
#
# Another filter holds a message; a forger who can reach the milter
# socket sends its queue ID at a quarantine of a pending domain.  The
# entry is made (the milter cannot tell), but the release must not free
# the other filter's message.

case_ forged-other-filter-holds
probe "$PF_PORT" "ceo@mail.example.com"
OTHER_ID=$(queue_id)
if want_rc 0 && [ -n "$OTHER_ID" ]; then
	if wait_for 5 in_hold "$OTHER_ID"; then
		ok
	else
		ko "$OTHER_ID is not in the hold queue: $(pf_queue_list)"
	fi
fi

if [ -z "$MILTERTEST" ] || [ ! -x "$MILTERTEST" ]; then
	echo "SKIP: forged-*: miltertest not found"
elif [ -n "$OTHER_ID" ]; then
	cat >"$T/forge.lua" <<'EOF'
-- forge.lua - act as the MTA: quarantine queue ID QID under DOMAIN.
local conn = mt.connect(SOCK, 50, 0.1)
if conn == nil then error("mt.connect(" .. SOCK .. ") failed") end
local e = mt.conninfo(conn, "localhost", "127.0.0.1")
if e ~= nil then error("mt.conninfo: " .. e) end
e = mt.macro(conn, SMFIC_MAIL, "i", QID)
if e ~= nil then error("mt.macro: " .. e) end
e = mt.mailfrom(conn, "<forger@" .. DOMAIN .. ">")
if e ~= nil then error("mt.mailfrom: " .. e) end
e = mt.eom(conn)
if e ~= nil then error("mt.eom: " .. e) end
if not mt.eom_check(conn, MT_QUARANTINE) then error("no quarantine") end
mt.disconnect(conn)
EOF
	case_ forged-quarantine-indexed
	last_cmd="miltertest -s forge.lua QID=$OTHER_ID DOMAIN=$LATE"
	timeout "$RUN_TIMEOUT" "$MILTERTEST" \
	    -D "SOCK=unix:$T/milter/authready.sock" -D "QID=$OTHER_ID" \
	    -D "DOMAIN=$LATE" -s "$T/forge.lua" >"$T/out" 2>"$T/err" \
	    </dev/null
	rc=$?
	if want_rc 0 && mlog_has \
	    "event=quarantine domain=$LATE queue_id=$OTHER_ID door=unix"
	then
		got=$(held_of "$LATE")
		if [ "$got" = "$OTHER_ID" ]; then
			ok
		else
			ko "held is \"$got\", expected \"$OTHER_ID\""
		fi
	fi

	case_ forged-entry-not-released
	cli "$T/cli.conf" release "$LATE"
	if want_rc 0 && want_out "$LATE: 0 held message" &&
	    want_out "1 refused .*$OTHER_ID: the queued sender is not the indexed sender"
	then
		if ! in_hold "$OTHER_ID"; then
			ko "$OTHER_ID left the hold queue:" \
			    "$(pf_queue_list | tr '\n' ' ')"
		elif [ -n "$(held_of "$LATE")" ]; then
			ko "the forged entry is still indexed"
		else
			ok
		fi
	fi
fi
# The other filter's message is not ours to release: delete it.
if [ -n "$OTHER_ID" ]; then
	"$PF_SBIN/postsuper" -c "$PF_DIR/etc" -d "$OTHER_ID" >/dev/null 2>&1
fi

# The automatic release ---------------------------------------------------

case_ hold-released-when-verified
left=$((RELEASE_WAIT - ($(date +%s) - published_at)))
[ $left -gt 5 ] || left=5
if ! wait_for "$left" sink_has "$SHOP_ID"; then
	ko "$SHOP_ID not delivered ${RELEASE_WAIT}s after publishing:" \
	    "hold: $(pf_hold_ids | tr '\n' ' ')" \
	    "log: $(grep -E "$SHOP" "$T/milter.log" | tail -n 3)"
elif mlog_has "event=check domain=$SHOP from=pending to=verified" &&
    { wait_for 10 grep -q "event=release domain=$SHOP released=1" \
	"$T/milter.log" ||
	mlog_has "event=release domain=$SHOP released=1"; }; then
	if [ -n "$(held_of "$SHOP")" ]; then
		ko "status still lists held mail for $SHOP"
	elif ! grep -q -x -e "$SHOP_ID" "$T/bridge/req.0" 2>/dev/null; then
		ko "the release command was not given $SHOP_ID on stdin"
	elif [ "$(sed -n 1p "$T/qbridge/req.0")" != "argv -c $PF_DIR/etc -j" ]
	then
		ko "the hold queue was not listed before the release:" \
		    "$(sed -n 1p "$T/qbridge/req.0" 2>/dev/null)"
	elif [ "$(sed -n 1p "$T/bridge/req.0")" != \
	    "argv -c $PF_DIR/etc -H -" ]; then
		ko "release argv: $(sed -n 1p "$T/bridge/req.0")"
	else
		ok
	fi
fi

case_ verified-after-release-accepted
probe "$PF_PORT" "bounces@mail.$SHOP"
ID=$(queue_id)
if want_rc 0 && [ -n "$ID" ] && wait_for 10 sink_has "$ID"; then
	mlog_has "domain=$SHOP state=verified action=accept" && ok
elif [ "$rc" -eq 0 ]; then
	ko "$ID not delivered"
fi

case_ queue-empty
if pf_wait_queue_empty 10; then
	ok
else
	ko "left in the queue: $(pf_queue_list | tr '\n' ' ')"
fi

# Logs --------------------------------------------------------------------

case_ postfix-log-no-milter-errors
if errs=$(pf_log_errors); then
	ko "$(printf '%s\n' "$errs" | head -n 5)"
elif ! grep -q -E "milter-reject: MAIL from .*550 5\\.7\\.1" "$PF_LOG"; then
	ko "Postfix did not log the milter's reject"
elif ! grep -q -E "$SHOP_ID: milter-hold: " "$PF_LOG"; then
	ko "Postfix did not log the hold of $SHOP_ID"
else
	ok
fi

case_ milter-log-clean
bad='Sanitizer|runtime error:| (error|crit|alert|emerg): |event=(store-error|store-corrupt|quarantine-failed|held-index-failed|setreply-failed|tag-failed)'
if grep -q -E "$bad" "$T/milter.log"; then
	ko "$(grep -E "$bad" "$T/milter.log" | head -n 5 | cut -c1-$SHOW_COLUMNS)"
elif [ "$(tr -d '\t\n\040-\176' <"$T/milter.log" | wc -c)" -ne 0 ]; then
	ko "non-printable bytes in the milter's log"
else
	ok
fi

case_ milter-stops-cleanly
last_cmd="kill -TERM authready-milter"
: >"$T/out"
cp "$T/milter.log" "$T/err"
kill -TERM "$MILTER_PID"
i=0
while kill -0 "$MILTER_PID" 2>/dev/null && [ $i -lt "$STOP_TENTHS" ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 "$MILTER_PID" 2>/dev/null; then
	ko "still running $((STOP_TENTHS / 10))s after SIGTERM"
else
	wait "$MILTER_PID"
	rc=$?
	MILTER_PID=
	if [ "$rc" -ne 0 ]; then
		ko "exit status $rc after SIGTERM"
	elif ! grep -q 'event=stop status=0' "$T/milter.log"; then
		ko "no event=stop line"
	else
		ok
	fi
fi

finish
