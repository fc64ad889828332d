#!/bin/sh
# sendmail.sh - authready-milter in front of a real Sendmail 8.17, end to end.
#
# SYNOPSIS
#	make check TESTS=tests/integration/sendmail.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/sendmail.sh
#
# DESCRIPTION
#	What postfix.sh shows for Postfix, through Sendmail: NSD serves
#	tests/zones and hold.test on loopback; authready-milter runs as
#	nobody on a unix socket; a private Sendmail (sendmail-harness.sh:
#	Debian's sendmail-bin unpacked, never installed) uses it through the
#	INPUT_MAIL_FILTER line of contrib/sendmail.mc.snippet, built into its
#	.cf by sendmail-cf's m4, and relays what it accepts to an smtp-sink.
#	tests/smtp-probe prints every reply, so exact replies are asserted:
#
#	  - example.com (verified): accepted, delivered to the sink; a VERP
#	    sender with a 100-octet local part too (oddity logged); a path
#	    over 256 octets Sendmail refuses itself (553 5.1.0);
#	  - nodkim.example.org (pending): "550 5.7.1" at MAIL FROM naming the
#	    domain and the missing DKIM key, nothing delivered; its
#	    postmaster (ExemptSenders, in upper case) accepted;
#	  - the null sender accepted; an unregistered domain DNS cannot
#	    answer for: 451 4.4.3, never a 5xx;
#	  - the reverse-path tricks that hide nodkim.example.org (pending)
#	    behind a verified domain (source routes, a quoted local part
#	    with an @, the % hack, a trailing dot, mixed case): refused at
#	    MAIL FROM, by Sendmail or by authready naming nodkim; an IDN
#	    sender: judged as its A-label (or refused by Sendmail);
#	  - tag.hold.test (DomainActions tag): accepted, and the delivered
#	    message carries the X-Authready header; mon.hold.test (monitor):
#	    accepted, would=reject logged;
#	  - shop.hold.test (quarantine while pending): accepted into
#	    Sendmail's quarantine (smfi_quarantine; listed by "mailq -qQ"),
#	    its queue ID (Sendmail's format, known at MAIL FROM) indexed and
#	    listed by "status --json"; once its records are published the
#	    daemon's checker finds it verified and runs ReleaseCommand
#	    (contrib/authready-sendmail-release, "sendmail -qQ -Q -qIID"),
#	    after checking the entry against Sendmail's queue
#	    (HoldQueueCommand contrib/authready-sendmail-queue, which lists
#	    the quarantine as postqueue -j does: whole sender, arrival to
#	    the second; 75 when not root; on queue files of its own: queue
#	    groups, a qf subdirectory, queued and quarantined files, a
#	    sender that needs JSON escapes, read back by perl's JSON::PP):
#	    the message leaves the quarantine and is delivered;
#	  - late.hold.test: quarantined, released by hand with "authready
#	    release" (MTA sendmail, the same script as ReleaseCommand); the
#	    script refuses a line that is not a Sendmail queue ID (65) and
#	    extra arguments (64), and builds "-qIID... -qQ -Q";
#	  - contrib/sudoers.authready as sudo itself reads it (bind-mounted
#	    over /etc/sudoers in a mount namespace, its user made nobody,
#	    "sudo -n -l" as nobody): the Sendmail scripts are allowed with
#	    no arguments and refused with any, postsuper only as "-H -";
#	  - gone.hold.test: quarantined, then released by the postmaster by
#	    hand and delivered; "authready release" checks the entry left
#	    behind against the queue listing: refused (not in the MTA's
#	    queue), dropped from the index, never handed to the release
#	    command;
#	  - outbound scoping by the client address Sendmail passes: with
#	    127.0.0.1 not in InternalHosts (a reload) the pending domain's
#	    mail is not judged and is delivered; back in, it is rejected;
#	  - outbound scoping by SMTP AUTH ({auth_authen}): Sendmail offers
#	    AUTH PLAIN against a private sasldb (sendmail-harness.sh,
#	    SM_SASL); a wrong password is refused (535); with 127.0.0.1
#	    outside InternalHosts an authenticated session is judged (550
#	    for the pending domain) while an unauthenticated one is not;
#	    OutboundBy hosts: the authenticated one is not judged either;
#	    OutboundBy auth: from 127.0.0.1, only the authenticated one is
#	    judged.  Skipped, with the reason, when saslpasswd2 or a mount
#	    namespace is missing;
#	  - authready-milter down: with F=T of the snippet, Sendmail answers
#	    4xx, never accepts unchecked mail.
#
#	The daemon refuses to run as root, and Sendmail's -Q and its queue
#	files need root: the daemon's ReleaseCommand and HoldQueueCommand are
#	bridges that hand the request to the test (root), which runs the
#	release or queue script and returns its output and status, as sudo
#	would (contrib/sudoers.authready).  The operator's CLI (root) runs
#	both scripts directly.
#
#	The cases build on each other and run in order (lib.sh, CASE).
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 not root, no NSD or Postfix's
#	smtp-sink, or Sendmail could not be fetched, 99 the harness failed.
#	The SMTP AUTH cases are skipped (not failed) without saslpasswd2
#	(sasl2-bin) or a mount namespace, the sudoers case without sudo.
#
# ENVIRONMENT
#	top_srcdir, top_builddir, NSD (from make check); AUTHREADY,
#	AUTHREADY_MILTER and SMTP_PROBE override the binaries;
#	SENDMAIL_DEBS, SENDMAIL_ROOT (sendmail-harness.sh); TIME_SCALE=N
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
JSONFLAT=$top_srcdir/tests/integration/jsonflat.awk
RELEASE_SCRIPT=$(cd "$top_srcdir" && pwd)/contrib/authready-sendmail-release
QUEUE_SCRIPT=$(cd "$top_srcdir" && pwd)/contrib/authready-sendmail-queue

# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
RUN_TIMEOUT=$(scaled 20)
PROBE_TIMEOUT=$(scaled 30)
RELEASE_WAIT=100
BRIDGE_LIFE=$(scaled 240)
DNS_TIMEOUT=$(scaled 2)
CHECK_WAIT=$(scaled 10)
SHOW_COLUMNS=400

ZONE=hold.test
SHOP=shop.$ZONE
LATE=late.$ZONE
GONE=gone.$ZONE
TAG=tag.$ZONE
MON=mon.$ZONE
SEEDMX=feedback-smtp.ap-northeast-1.amazonses.com
RCPT=someone@recipient.test
SASL_USER=sender
SASL_PASS=S3cret-test

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: the private Sendmail instance needs root"
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
# shellcheck source=tests/integration/sendmail-harness.sh
. "$top_srcdir/tests/integration/sendmail-harness.sh"
sm_find

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-sendmail-test.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
LIB_OUT=$T/out
LIB_ERR=$T/err
chmod 0755 "$T"
MILTER_PID=
BRIDGE_PID=

# cleanup - the milter and the bridge (Sendmail and NSD: their harnesses).
cleanup() {
	stop_pid "$MILTER_PID" "$BRIDGE_PID"
	MILTER_PID=
	BRIDGE_PID=
}

mkdir "$T/zones" "$T/state" "$T/milter" "$T/bin" "$T/keys" "$T/bridge"
cat >"$T/zones/$ZONE.zone" <<ZEOF
; $ZONE - written by sendmail.sh; the test publishes $SHOP's records.
\$ORIGIN $ZONE.
\$TTL 300
@	SOA	ns.$ZONE. hostmaster.$ZONE. ( 1 3600 600 86400 300 )
@	NS	ns.$ZONE.
ns	A	127.0.0.1
ZEOF
nsd_start "$top_srcdir/tests/zones" "$T/zones"
SM_SASL=$SASL_USER:$SASL_PASS
sm_start "$T/milter/authready.sock"
at_exit cleanup

ZF=$NSD_DIR/zones/$ZONE.zone
serial=1

cp "$top_srcdir/tests/keys/rsa2048.pem" "$T/keys/"
chown -R nobody:nogroup "$T/keys"
chmod 0600 "$T/keys/rsa2048.pem"
KEY=$T/keys/rsa2048.pem

# The release bridge: the daemon's ReleaseCommand.  It leaves argv and
# the IDs in req.N and waits for rc.N (written by bridge_loop, root).
# The queue bridge, its HoldQueueCommand, leaves an empty list.N and
# prints lout.N once lrc.N is there.
chown nobody:nogroup "$T/bridge"
cat >"$T/bin/release-bridge" <<BEOF
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
BEOF
cat >"$T/bin/queue-bridge" <<BEOF
#!/bin/sh
d=$T/bridge
n=0
while [ -e "\$d/list.\$n" ]; do n=\$((n + 1)); done
: >"\$d/list.\$n"
i=0
while [ ! -e "\$d/lrc.\$n" ] && [ \$i -lt 300 ]; do
	/bin/sleep 0.1
	i=\$((i + 1))
done
[ -e "\$d/lrc.\$n" ] || exit 75
/bin/cat "\$d/lout.\$n"
read -r rc <"\$d/lrc.\$n"
exit "\$rc"
BEOF
cat >"$T/bin/sendmail" <<'BEOF'
#!/bin/sh
while IFS= read -r l || [ -n "$l" ]; do :; done
exit 0
BEOF
chmod 0755 "$T/bin/release-bridge" "$T/bin/queue-bridge" "$T/bin/sendmail"

# bridge_loop - the root side: the release script for each release
# request, the queue script for each listing request.
bridge_loop() {
	n=0
	m=0
	end=$(($(date +%s) + BRIDGE_LIFE))
	while [ "$(date +%s)" -lt "$end" ]; do
		if [ -e "$T/bridge/list.$m" ]; then
			"$QUEUE_SCRIPT" -C "$SM_CF" >"$T/bridge/lout.$m" \
			    2>"$T/bridge/lerr.$m"
			echo $? >"$T/bridge/lrc.$m.tmp"
			chmod 0644 "$T/bridge/lout.$m"
			mv "$T/bridge/lrc.$m.tmp" "$T/bridge/lrc.$m"
			m=$((m + 1))
			continue
		fi
		if [ -e "$T/bridge/req.$n" ]; then
			sed 1d "$T/bridge/req.$n" |
			    "$RELEASE_SCRIPT" "$SM_CMD" -C "$SM_CF" \
				>"$T/bridge/out.$n" 2>&1
			echo $? >"$T/bridge/rc.$n.tmp"
			mv "$T/bridge/rc.$n.tmp" "$T/bridge/rc.$n"
			n=$((n + 1))
			continue
		fi
		sleep 0.2
	done
}
bridge_loop </dev/null >/dev/null 2>&1 &
BRIDGE_PID=$!

cat >"$T/milter.conf" <<CEOF
# written by sendmail.sh
MTA sendmail
Socket local:$T/milter/authready.sock
UserID nobody:nogroup
SocketGroup nogroup
UMask 007
Syslog no
StateDir $T/state
DNSServers 127.0.0.1:$NSD_PORT
DNSTimeout $DNS_TIMEOUT
CheckWait $CHECK_WAIT
# MAIL FROM alone, as postfix.sh: fromcheck.sh tests the From header
FromCheck off
SendmailPath $T/bin/sendmail -t -oi
NotifyFrom noreply@operator.test
ReleaseCommand $T/bin/release-bridge $SM_CMD -C $SM_CF
HoldQueueCommand $T/bin/queue-bridge
DomainActions $ZONE quarantine pending, $TAG tag pending, $MON monitor pending
ExemptSenders postmaster@nodkim.example.org
Selector 1234rpr
CEOF
# The operator's CLI runs as root: the release and queue scripts
# themselves.
sed -e "s|^ReleaseCommand .*|ReleaseCommand $RELEASE_SCRIPT $SM_CMD -C $SM_CF|" \
    -e "s|^HoldQueueCommand .*|HoldQueueCommand $QUEUE_SCRIPT -C $SM_CF|" \
    "$T/milter.conf" >"$T/cli.conf"

: >"$T/out"
: >"$T/err"

# probe SENDER [PORT] - one message to $RCPT; the dialogue in out.
probe() {
	last_cmd="smtp-probe 127.0.0.1 ${2:-$SM_PORT} <$1> <$RCPT>"
	timeout $((PROBE_TIMEOUT + 5)) "$SMTP_PROBE" -t "$PROBE_TIMEOUT" \
	    127.0.0.1 "${2:-$SM_PORT}" "$1" "$RCPT" >"$T/out" 2>"$T/err" \
	    </dev/null
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

# queue_id - the queue ID of Sendmail's "Message accepted" reply in out.
queue_id() {
	sed -n 's/^< 250 2\.0\.0 \([0-9A-Za-x]*\) Message accepted.*/\1/p' \
	    "$T/out" | head -n 1
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

# in_quarantine ID - ID is in Sendmail's quarantine (mailq -qQ).
in_quarantine() {
	sm_quarantine_ids | grep -q -x -e "$1"
}

# sink_has ID - the sink received the message Sendmail queued as ID.
sink_has() {
	grep -l -r -q -e "id $1" "$SM_SINK_DIR" 2>/dev/null
}

# sink_file ID - the file of the message Sendmail queued as ID.
sink_file() {
	grep -l -r -e "id $1" "$SM_SINK_DIR" 2>/dev/null | head -n 1
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

# Registry ----------------------------------------------------------------

for d in example.com nodkim.example.org "$SHOP" "$LATE" "$GONE" "$TAG" \
    "$MON"; do
	case_ "register-$d"
	cli "$T/cli.conf" domain add "$d" --selector 1234rpr --key "$KEY" \
	    --mx "$SEEDMX" --spf-include amazonses.com
	want_rc 0 && ok
done
case_ refresh-example.com-verified
cli "$T/cli.conf" refresh example.com
want_rc 0 && want_out 'pending -> verified|unknown -> verified' && ok
for d in nodkim.example.org "$TAG" "$MON"; do
	case_ "refresh-$d-pending"
	cli "$T/cli.conf" refresh "$d"
	[ "$rc" -le 1 ] && want_out '-> pending' && ok
done
chown -R nobody:nogroup "$T/state"
chmod 0700 "$T/state"

# milter_start - authready-milter in the background, its log appended.
milter_start() {
	"$AUTHREADY_MILTER" -c "$T/milter.conf" -f </dev/null \
	    >>"$T/milter.out" 2>>"$T/milter.log" &
	MILTER_PID=$!
}

# milter_ready - the daemon logged event=start N times (N=1 default).
milter_ready() {
	test -S "$T/milter/authready.sock" &&
	    [ "$(grep -c 'event=start ' "$T/milter.log")" -ge "${1:-1}" ]
}

: >"$T/milter.log"
milter_start
case_ milter-start
if wait_for 10 milter_ready; then
	ok
else
	ko "not started: $(cat "$T/milter.log")"
	exit 1
fi

case_ cf-has-snippet-filter
# the .cf Sendmail runs was built from the shipped line, F=T included
if grep -q -E "^Xauthready, S=local:$T/milter/authready\\.sock, F=T, T=C:10s;S:30s;R:30s;E:5m\$" "$SM_CF"
then
	ok
else
	ko "no X line of the snippet in the .cf: $(grep '^X' "$SM_CF")"
fi

# Quarantine first: the automatic release needs a minute ------------------

case_ hold-unchecked-quarantined
probe "bounces@mail.$SHOP"
SHOP_ID=$(queue_id)
if want_rc 0 && [ -n "$SHOP_ID" ]; then
	if ! wait_for 5 in_quarantine "$SHOP_ID"; then
		ko "$SHOP_ID is not in the quarantine: $(sm_mailq -qQ)"
	elif mlog_has "domain=$SHOP state=pending action=quarantine" &&
	    mlog_has "event=quarantine domain=$SHOP queue_id=$SHOP_ID door=unix"
	then
		ok
	fi
elif [ "$rc" -eq 0 ]; then
	ko "no queue ID in the reply"
fi

case_ hold-mailq-shows-reason
last_cmd="sendmail -bp -qQ"
sm_mailq -qQ >"$T/out"
if want_out "^$SHOP_ID" && want_out "QUARANTINE: authready: " &&
    want_out "<bounces@mail\\.$SHOP>"; then
	if in_quarantine "$SHOP_ID" && sm_queue_ids | grep -q -x "$SHOP_ID"
	then
		ko "$SHOP_ID is listed in the normal queue too"
	else
		ok
	fi
fi

case_ queue-script-lists-quarantine
# contrib/authready-sendmail-queue (HoldQueueCommand), as root: the
# quarantined message as postqueue -j prints one, its whole sender and
# its arrival to the second; not root: 75, never an empty listing;
# arguments other than -C FILE: 64
last_cmd="authready-sendmail-queue -C $SM_CF"
"$QUEUE_SCRIPT" -C "$SM_CF" >"$T/out" 2>"$T/err"
rc=$?
now=$(date +%s)
line=$(grep -F "\"queue_id\":\"$SHOP_ID\"" "$T/out")
at=$(printf '%s\n' "$line" | sed -n 's/.*"arrival_time":\([0-9]*\)}$/\1/p')
if want_rc 0 && want_out "^\\{\"queue_name\":\"hold\",\"queue_id\":\"$SHOP_ID\",\"sender\":\"bounces@mail\\.$SHOP\",\"arrival_time\":[0-9]+\\}\$"
then
	# a copy nobody can reach wherever the source tree is
	cp "$QUEUE_SCRIPT" "$T/bin/queue-script" &&
	    chmod 0755 "$T/bin/queue-script"
	setpriv --reuid nobody --regid nogroup --clear-groups \
	    --inh-caps=-all -- "$T/bin/queue-script" -C "$SM_CF" </dev/null \
	    >/dev/null 2>&1
	as_nobody=$?
	"$QUEUE_SCRIPT" -C "$SM_CF" -v </dev/null >/dev/null 2>&1
	usage=$?
	if [ -z "$at" ] || [ "$at" -gt "$now" ] ||
	    [ "$at" -lt $((now - $(scaled 120))) ]
	then
		ko "arrival_time \"$at\", now $now"
	elif [ "$as_nobody" != 75 ]; then
		ko "as nobody: exit $as_nobody, expected 75"
	elif [ "$usage" -ne 64 ]; then
		ko "-C FILE -v: exit $usage, expected 64"
	else
		ok
	fi
fi

case_ queue-script-queue-files
# the script on queue files of its own: queue groups (Q lines, P= with
# a trailing *), a qf subdirectory, hf (quarantined) and qf (queued,
# tried or not), and a sender that needs JSON escapes; perl's JSON::PP
# reads every line back
q=$T/fakeq
mkdir -p "$q/main" "$q/g1/qf" "$q/g2"
printf 'O QueueDirectory=%s/main\nQgroup, P=%s/g*, F=f\n' "$q" "$q" \
    >"$q/fake.cf"
printf 'V8\nT1796498193\nN0\nS<"we\\"ird\\\\\001"@mail.x.test>\nH??From: x\n.\n' \
    >"$q/main/hf6B5Gfr0x014687"
printf 'V8\nT1796498194\nN3\nS<>\nH??S: not the sender\n.\n' \
    >"$q/g1/qf/qf6B5Gfr0y014688"
printf 'V8\nT1796498195\nN0\nSlocal@mail.x.test\n.\n' \
    >"$q/g2/qf6B5Gfr0z014689"
last_cmd="authready-sendmail-queue -C $q/fake.cf"
"$QUEUE_SCRIPT" -C "$q/fake.cf" >"$T/out" 2>"$T/err"
rc=$?
got=$(perl -MJSON::PP -ne '
    my $o = JSON::PP->new->decode($_);
    printf "%s|%s|%s|%d\n", $o->{queue_name}, $o->{queue_id},
	join(",", map { sprintf "%02x", ord } split //, $o->{sender}),
	$o->{arrival_time};' "$T/out" | sort)
want=$(printf '%s\n' \
    "active|6B5Gfr0z014689|$(printf 'local@mail.x.test' | od -An -tx1 |
	tr -s ' \n' ',' | sed 's/^,//; s/,$//')|1796498195" \
    "deferred|6B5Gfr0y014688||1796498194" \
    "hold|6B5Gfr0x014687|$(printf '"we\\"ird\\\\\001"@mail.x.test' |
	od -An -tx1 | tr -s ' \n' ',' | sed 's/^,//; s/,$//')|1796498193" |
    sort)
if want_rc 0; then
	if [ "$got" = "$want" ]; then
		ok
	else
		ko "read back: $got; expected: $want"
	fi
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

case_ verified-accepted
probe "bounces@mail.example.com"
ID=$(queue_id)
if want_rc 0 && want_out '^< 250 2\.1\.0 ' && [ -n "$ID" ]; then
	if ! wait_for 10 sink_has "$ID"; then
		ko "$ID not delivered to the sink ($(sm_delivered) messages)"
	elif mlog_has "session=$ID .*domain=example\\.com state=verified action=accept"
	then
		ok
	fi
fi

case_ verp-long-local-accepted
# a VERP sender with a 100-octet local part: judged by its domain,
# accepted and delivered, the oddity logged
VERP_LOCAL="bounce-$(printf '%076d' 0)=rcpt=example.net"
probe "$VERP_LOCAL@mail.example.com"
ID=$(queue_id)
if [ ${#VERP_LOCAL} -ne 100 ]; then
	ko "the local part is ${#VERP_LOCAL} octets, not 100"
elif want_rc 0 && want_out '^< 250 2\.1\.0 ' && [ -n "$ID" ]; then
	if ! wait_for 10 sink_has "$ID"; then
		ko "$ID not delivered to the sink ($(sm_delivered) messages)"
	elif mlog_has "session=$ID .*domain=example\\.com state=verified action=accept .*oddity=\"?local-part-over-64"
	then
		ok
	fi
fi

case_ path-over-256-refused-by-sendmail
# Sendmail refuses a path over 256 octets itself, before the milter
VERP_LOCAL="bounce-$(printf '%0226d' 0)=rcpt=example.net"
probe "$VERP_LOCAL@mail.example.com"
if want_rc 1 && want_out '^< 553 5\.1\.0 ' && want_no_out '^< 250 2\.0\.0'
then
	if grep -q -F -e "$VERP_LOCAL" "$T/milter.log"; then
		ko "the milter saw the over-long path"
	else
		ok
	fi
fi

case_ pending-rejected
probe "bounces@mail.nodkim.example.org"
if want_rc 1 &&
    want_out '^< 550 5\.7\.1 .*nodkim\.example\.org' &&
    want_out '^< 550 5\.7\.1 .*DKIM 1234rpr\._domainkey\.nodkim\.example\.org' &&
    want_no_out '^> RCPT' &&
    mlog_has 'domain=nodkim\.example\.org state=pending action=reject reply=550'
then
	ok
fi

case_ exempt-sender-accepted
probe "postmaster@NODKIM.example.org"
ID=$(queue_id)
if want_rc 0 && [ -n "$ID" ]; then
	if ! wait_for 10 sink_has "$ID"; then
		ko "$ID not delivered to the sink"
	elif mlog_has 'domain=nodkim\.example\.org state=pending action=accept reason="exempt sender"'; then
		ok
	fi
fi

case_ null-sender-accepted
probe ""
ID=$(queue_id)
if want_rc 0 && [ -n "$ID" ]; then
	if ! wait_for 10 sink_has "$ID"; then
		ko "$ID not delivered to the sink"
	elif mlog_has 'sender=(<>)? .*action=accept.*null sender'; then
		ok
	fi
fi

case_ unregistered-dns-trouble-tempfail
probe "someone@mail.unserved.invalid"
if want_rc 1 && want_out '^< 451 4\.4\.3 ' && want_no_out '^< 5' &&
    mlog_has 'domain=unserved\.invalid state=unregistered action=tempfail reply=451'
then
	ok
fi

# hidden_refused NAME SENDER - the pending domain nodkim.example.org
# hidden in SENDER: refused at MAIL FROM (by Sendmail or by authready
# naming the domain), never accepted as another domain's mail.
hidden_refused() {
	case_ "hidden-$1"
	probe "$2"
	if want_rc 1 && want_no_out '^< 250 2\.1\.0 ' &&
	    want_no_out '^< 250 2\.0\.0 '; then
		if grep -q -E '^< 550 5\.7\.1 .*nodkim\.example\.org' "$T/out"
		then
			ok "authready: 550 5.7.1"
		elif grep -q -E '^< 5[0-9][0-9] 5\.' "$T/out"; then
			ok "Sendmail: $(grep -E '^< 5' "$T/out" | head -n 1 |
			    cut -c3-12)"
		else
			ko "refused, but not for nodkim.example.org"
		fi
	fi
}

# auth_probe SENDER [PASSWORD] - as probe, after AUTH PLAIN as SASL_USER
# (perl: smtp-probe has no AUTH); the dialogue in out, rc 0 accepted, 1
# refused, 2 error.
auth_probe() {
	last_cmd="AUTH PLAIN $SASL_USER, smtp-probe <$1> <$RCPT>"
	timeout $((PROBE_TIMEOUT + 5)) perl -MIO::Socket::INET -MMIME::Base64 -e '
	    my ($port, $from, $to, $user, $pass) = @ARGV;
	    my $s = IO::Socket::INET->new("127.0.0.1:$port") or exit 2;
	    sub r { my ($l, $c); do { $l = <$s> // exit 2; $l =~ s/\r?\n$//;
		print "< $l\n"; $c = substr($l, 0, 1) } while ($l =~ /^\d\d\d-/);
		return $c; }
	    sub w { print "> $_[0]\n"; print $s "$_[0]\r\n"; }
	    sub quit { w("QUIT"); r(); exit $_[0]; }
	    r(); w("EHLO probe.test"); r();
	    w("AUTH PLAIN " . encode_base64("\0$user\0$pass", ""));
	    quit(1) if r() ne "2";
	    w("MAIL FROM:<$from>"); quit(1) if r() ne "2";
	    w("RCPT TO:<$to>"); quit(1) if r() ne "2";
	    w("DATA"); quit(1) if r() ne "3";
	    print $s "From: <$from>\r\nTo: <$to>\r\n" .
		"Subject: authready test\r\n\r\nbody\r\n.\r\n";
	    print "> (message)\n> .\n";
	    quit(r() eq "2" ? 0 : 1);' "$SM_PORT" "$1" "$RCPT" "$SASL_USER" \
	    "${2:-$SASL_PASS}" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}

# The reverse-path corpus's tricks that hide a domain behind another,
# as Sendmail passes them on (argv[0] of xxfi_envfrom).
hidden_refused source-route "@mail.example.com:bounces@nodkim.example.org"
hidden_refused source-route-two \
    "@mail.example.com,@example.com:bounces@nodkim.example.org"
hidden_refused quoted-at '"bounces@mail.example.com"@nodkim.example.org'
hidden_refused percent-hack "bounces%mail.example.com@nodkim.example.org"
hidden_refused trailing-dot "bounces@nodkim.example.org."
hidden_refused mixed-case "bounces@NoDkIm.Example.ORG"

# mail_from SENDER - EHLO and MAIL FROM:<SENDER> with raw octets (perl:
# smtp-probe takes ASCII only); the replies in out as "< LINE".
mail_from() {
	last_cmd="MAIL FROM:<$1> to 127.0.0.1 $SM_PORT"
	timeout "$PROBE_TIMEOUT" perl -MIO::Socket::INET -e '
	    my $s = IO::Socket::INET->new("127.0.0.1:$ARGV[0]") or exit 2;
	    sub r { my $l; do { $l = <$s> // exit 2; $l =~ s/\r?\n$//;
		print "< $l\n" } while ($l =~ /^\d\d\d-/); }
	    r(); print $s "EHLO probe.test\r\n"; r();
	    print $s "MAIL FROM:<$ARGV[1]>\r\n"; r();
	    print $s "QUIT\r\n"; r();' "$SM_PORT" "$1" >"$T/out" 2>"$T/err"
	rc=$?
}

case_ idn-sender-a-label
# an IDN sender (UTF-8, no SMTPUTF8): never accepted unchecked; when
# Sendmail passes it on, authready judges the A-label
mail_from "user@b$(printf '\303\274')cher.example"
if want_rc 0 && want_no_out '^< 250 2\.1\.0 '; then
	if grep -q -E '^< 451 4\.4\.3 ' "$T/out"; then
		mlog_has 'domain=xn--bcher-kva\.example state=unregistered' &&
		    ok "authready: 451 4.4.3"
	elif grep -q -E '^< 5[0-9][0-9] ' "$T/out"; then
		ok "Sendmail: $(grep -E '^< 5' "$T/out" | head -n 1 | cut -c3-12)"
	else
		ko "neither a 4.4.3 tempfail nor a refusal"
	fi
fi

case_ tag-header-delivered
probe "news@mail.$TAG"
ID=$(queue_id)
if want_rc 0 && [ -n "$ID" ]; then
	if ! wait_for 10 sink_has "$ID"; then
		ko "$ID not delivered to the sink"
	elif ! grep -q -i "^X-Authready: .*$TAG" "$(sink_file "$ID")"; then
		ko "no X-Authready header naming $TAG in the delivered message"
	elif mlog_has "domain=$TAG state=pending action=tag"; then
		ok
	fi
fi

case_ monitor-accepted
probe "news@mail.$MON"
ID=$(queue_id)
if want_rc 0 && [ -n "$ID" ]; then
	if ! wait_for 10 sink_has "$ID"; then
		ko "$ID not delivered to the sink"
	elif mlog_has "domain=$MON state=pending action=monitor .*would=reject"
	then
		ok
	fi
fi

case_ late-quarantined
probe "bounces@mail.$LATE"
LATE_ID=$(queue_id)
if want_rc 0 && [ -n "$LATE_ID" ]; then
	if ! wait_for 5 in_quarantine "$LATE_ID"; then
		ko "$LATE_ID is not in the quarantine"
	elif mlog_has "event=quarantine domain=$LATE queue_id=$LATE_ID"; then
		ok
	fi
fi

case_ late-release-by-hand
cli "$T/cli.conf" release "$LATE"
if want_rc 0 && want_out "$LATE: 1 held message"; then
	if ! wait_for 15 sink_has "$LATE_ID"; then
		ko "$LATE_ID not delivered after the release:" \
		    "$(sm_mailq -qQ | tr '\n' ' ')"
	elif [ -n "$(held_of "$LATE")" ]; then
		ko "status still lists held mail for $LATE"
	elif in_quarantine "$LATE_ID"; then
		ko "$LATE_ID is still in the quarantine"
	else
		ok
	fi
fi

case_ late-release-again-nothing
cli "$T/cli.conf" release "$LATE"
want_rc 0 && want_out "$LATE: 0 held message" && ok

case_ gone-quarantined
probe "bounces@mail.$GONE"
GONE_ID=$(queue_id)
if want_rc 0 && [ -n "$GONE_ID" ]; then
	if ! wait_for 5 in_quarantine "$GONE_ID"; then
		ko "$GONE_ID is not in the quarantine"
	elif mlog_has "event=quarantine domain=$GONE queue_id=$GONE_ID"; then
		ok
	fi
fi

case_ gone-left-queue-refused-not-released
# the postmaster releases the message by hand and it is delivered; the
# entry still indexed is checked against the queue (HoldQueueCommand):
# not there, so it is dropped from the index, never handed to the
# release command
"$SM_CMD" -C "$SM_CF" -qI"$GONE_ID" -qQ -Q >/dev/null 2>&1
if ! wait_for 15 sink_has "$GONE_ID"; then
	ko "$GONE_ID not delivered after sendmail -Q"
elif [ "$(held_of "$GONE")" != "$GONE_ID" ]; then
	ko "status lists \"$(held_of "$GONE")\" as held, not $GONE_ID"
else
	cli "$T/cli.conf" release "$GONE"
	if want_rc 0 &&
	    want_out "^$GONE: 0 held message\\(s\\) released, 1 refused .*first: $GONE_ID: not in the MTA's queue"
	then
		if [ -n "$(held_of "$GONE")" ]; then
			ko "status still lists held mail for $GONE"
		else
			ok
		fi
	fi
fi

case_ release-script-refuses-bad-ids
# contrib/authready-sendmail-release, as root: a line that is not a
# Sendmail queue ID (Postfix's, ALL, an option smuggled after an ID)
# stops it before Sendmail runs (65), arguments beyond -C FILE are a
# usage error (64)
bad=
for line in 4Fz9Xk1RrNz1 ALL "6B5Gfr0x014687 -C/tmp/evil.cf" "-qQ"; do
	last_cmd="authready-sendmail-release <<< '$line'"
	printf '6B5Gfr0x014687\n%s\n' "$line" |
	    "$RELEASE_SCRIPT" /bin/false >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -eq 65 ] || bad="$bad [$line: exit $rc]"
done
"$RELEASE_SCRIPT" /bin/false -C "$SM_CF" -bd </dev/null >/dev/null 2>&1
rc=$?
[ "$rc" -eq 64 ] || bad="$bad [-bd: exit $rc]"
printf '6B5Gfr0x014687\n' | "$RELEASE_SCRIPT" /bin/echo -C /x.cf >"$T/out"
[ "$(cat "$T/out")" = "-C /x.cf -qI6B5Gfr0x014687 -qQ -Q" ] ||
    bad="$bad [argv: $(cat "$T/out")]"
if [ -z "$bad" ]; then
	ok
else
	ko "$bad"
fi

# sudo_l ARGS... - "sudo -n -l ARGS" as nobody under $T/sudoers (bind-
# mounted over /etc/sudoers in a mount namespace of its own); its exit
# status: 0 allowed, 1 not.
sudo_l() {
	unshare --mount sh -c 'mount --bind "$0" /etc/sudoers && exec "$@"' \
	    "$T/sudoers" setpriv --reuid nobody --regid nogroup --clear-groups \
	    --inh-caps=-all -- sudo -n -l "$@" </dev/null >/dev/null 2>&1
}

case_ sudoers-rules-sendmail
# contrib/sudoers.authready as real sudo reads it (its user made nobody,
# the scripts' paths those of this tree): the Sendmail scripts with no
# arguments are allowed, with any argument refused; postsuper -H - only
if ! command -v sudo >/dev/null 2>&1 || ! command -v visudo >/dev/null 2>&1
then
	skip "no sudo (contrib/install-deps)"
elif [ ! -f /etc/sudoers ] || ! unshare --mount true 2>/dev/null; then
	skip "no /etc/sudoers or no mount namespace"
else
	# copies nobody can reach wherever the source tree is
	qs=$T/bin/authready-sendmail-queue
	rs=$T/bin/authready-sendmail-release
	cp "$QUEUE_SCRIPT" "$qs" && cp "$RELEASE_SCRIPT" "$rs" &&
	    chmod 0755 "$qs" "$rs"
	sed -e 's/^Defaults:authready /Defaults:nobody /' \
	    -e 's/^authready /nobody /' \
	    -e "s|/usr/local/sbin/authready-sendmail-release|$rs|" \
	    -e "s|/usr/local/sbin/authready-sendmail-queue|$qs|" \
	    "$top_srcdir/contrib/sudoers.authready" >"$T/sudoers"
	chmod 0440 "$T/sudoers"
	bad=
	visudo -c -q -f "$T/sudoers" >/dev/null 2>&1 || bad=" [visudo -c]"
	for a in "$qs" "$rs" "/usr/sbin/postsuper -H -"
	do
		# shellcheck disable=SC2086 # the words of a command line
		sudo_l $a || bad="$bad [refused: $a]"
	done
	for a in "$qs -C /tmp/x.cf" "$rs /bin/sh" "$rs $SM_CMD -C /tmp/x.cf" \
	    "/usr/sbin/postsuper -d ALL" /bin/sh; do
		# shellcheck disable=SC2086
		! sudo_l $a || bad="$bad [allowed: $a]"
	done
	if [ -z "$bad" ]; then
		ok
	else
		ko "$bad"
	fi
fi

# The automatic release ---------------------------------------------------

case_ hold-released-when-verified
left=$((RELEASE_WAIT - ($(date +%s) - published_at)))
[ $left -gt 5 ] || left=5
if ! wait_for "$left" sink_has "$SHOP_ID"; then
	ko "$SHOP_ID not delivered ${RELEASE_WAIT}s after publishing:" \
	    "quarantine: $(sm_quarantine_ids | tr '\n' ' ')" \
	    "log: $(grep -E "$SHOP" "$T/milter.log" | tail -n 3)"
elif mlog_has "event=check domain=$SHOP from=pending to=verified" &&
    { wait_for 10 grep -q "event=release domain=$SHOP released=1" \
	"$T/milter.log" ||
	mlog_has "event=release domain=$SHOP released=1"; }; then
	if [ -n "$(held_of "$SHOP")" ]; then
		ko "status still lists held mail for $SHOP"
	elif ! grep -q -x -e "$SHOP_ID" "$T/bridge/req.0" 2>/dev/null; then
		ko "the release command was not given $SHOP_ID on stdin"
	elif [ "$(sed -n 1p "$T/bridge/req.0")" != \
	    "argv $SM_CMD -C $SM_CF" ]; then
		ko "release argv: $(sed -n 1p "$T/bridge/req.0")"
	elif ! grep -q -F "\"queue_id\":\"$SHOP_ID\"" "$T/bridge/lout.0" \
	    2>/dev/null; then
		ko "the daemon did not check $SHOP_ID against the queue" \
		    "listing first"
	else
		ok
	fi
fi

case_ queue-empty
if sm_wait_queue_empty 10; then
	ok
else
	ko "left in the queue: $(sm_mailq | tr '\n' ' ')" \
	    "quarantine: $(sm_mailq -qQ | tr '\n' ' ')"
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

# Outbound scoping: the client address Sendmail passes ---------------------

# reloads - how many reloads the daemon logged.
reloads() {
	grep -c 'event=reload config=' "$T/milter.log"
}

# reload_with LINE - the milter config with LINE added (none: as
# written), SIGUSR1, and wait for the reload to be logged.
reload_with() {
	n=$(reloads)
	sed '/^# scoping$/,$d' "$T/milter.conf" >"$T/milter.conf.new"
	[ -z "$1" ] || printf '# scoping\n%s\n' "$1" >>"$T/milter.conf.new"
	mv "$T/milter.conf.new" "$T/milter.conf"
	kill -USR1 "$MILTER_PID"
	wait_for 10 sh -c "[ \$(grep -c 'event=reload config=' \
	    '$T/milter.log') -gt $n ]"
}

case_ scoping-client-not-internal-accepted
# 127.0.0.1 is no longer an internal host: the pending domain's mail
# is inbound, not judged, accepted and delivered
if ! reload_with "InternalHosts 192.0.2.0/24"; then
	ko "no reload logged: $(tail -n 3 "$T/milter.log")"
else
	probe "bounces@mail.nodkim.example.org"
	ID=$(queue_id)
	if want_rc 0 && [ -n "$ID" ]; then
		if ! wait_for 10 sink_has "$ID"; then
			ko "$ID not delivered to the sink"
		elif grep -q "session=$ID " "$T/milter.log"; then
			ko "the milter judged inbound mail:" \
			    "$(grep "session=$ID " "$T/milter.log")"
		else
			ok
		fi
	fi
fi

# sasl_case NAME - begin case NAME, or skip it when Sendmail has no
# AUTH here (sendmail-harness.sh says why); false then.
sasl_case() {
	case_ "$1" || return 1
	if [ "$SM_SASL_OK" != yes ]; then
		skip "$SM_SASL_WHY"
		return 1
	fi
}

# want_judged_reject - the authenticated nodkim.example.org message was
# judged and refused at MAIL FROM.
want_judged_reject() {
	want_rc 1 && want_out '^< 235 2\.0\.0 ' &&
	    want_out '^< 550 5\.7\.1 .*nodkim\.example\.org' &&
	    want_no_out '^> RCPT' && ok
}

# want_unjudged_delivery - the nodkim.example.org message was accepted,
# delivered and never judged (authenticated or not: AUTH=yes|no).
want_unjudged_delivery() {
	ID=$(queue_id)
	if want_rc 0 && [ -n "$ID" ]; then
		if [ "$1" = yes ] && ! grep -q '^< 235 2\.0\.0 ' "$T/out"; then
			ko "not authenticated"
		elif ! wait_for 10 sink_has "$ID"; then
			ko "$ID not delivered to the sink"
		elif grep -q "session=$ID " "$T/milter.log"; then
			ko "the milter judged it: $(grep "session=$ID " \
			    "$T/milter.log" | cut -c1-$SHOW_COLUMNS)"
		else
			ok
		fi
	fi
}

# Outbound scoping by SMTP AUTH: {auth_authen} at MAIL FROM.  127.0.0.1
# is still outside InternalHosts (the case above).
if sasl_case scoping-sasl-wrong-password-refused; then
	auth_probe "bounces@mail.nodkim.example.org" wrong-password
	want_rc 1 && want_out '^< 535 ' && want_no_out '^> MAIL' && ok
fi

if sasl_case scoping-sasl-authenticated-judged; then
	# OutboundBy either (the default): an authenticated client is
	# outbound wherever it connects from
	auth_probe "bounces@mail.nodkim.example.org"
	want_judged_reject
fi

if sasl_case scoping-sasl-outbound-by-hosts-not-judged; then
	# OutboundBy hosts: authentication does not make mail outbound
	if ! reload_with "InternalHosts 192.0.2.0/24
OutboundBy hosts"; then
		ko "no reload logged: $(tail -n 3 "$T/milter.log")"
	else
		auth_probe "bounces@mail.nodkim.example.org"
		want_unjudged_delivery yes
	fi
fi

if sasl_case scoping-sasl-outbound-by-auth-unauthenticated-not-judged; then
	# OutboundBy auth: 127.0.0.1 is an internal host again, but only an
	# authenticated session is judged
	if ! reload_with "OutboundBy auth"; then
		ko "no reload logged: $(tail -n 3 "$T/milter.log")"
	else
		probe "bounces@mail.nodkim.example.org"
		want_unjudged_delivery no
	fi
fi

if sasl_case scoping-sasl-outbound-by-auth-authenticated-judged; then
	auth_probe "bounces@mail.nodkim.example.org"
	want_judged_reject
fi

case_ scoping-client-internal-again-rejected
if ! reload_with ""; then
	ko "no reload logged: $(tail -n 3 "$T/milter.log")"
else
	probe "bounces@mail.nodkim.example.org"
	want_rc 1 && want_out '^< 550 5\.7\.1 .*nodkim\.example\.org' && ok
fi

# authready-milter down: F=T ----------------------------------------------

case_ milter-stops-cleanly
last_cmd="kill -TERM authready-milter"
if stop_wait "$MILTER_PID" "$(scaled 100)"; then
	MILTER_PID=
	if [ "$rc" -ne 0 ]; then
		ko "exit status $rc after SIGTERM"
	elif ! grep -q 'event=stop status=0' "$T/milter.log"; then
		ko "no event=stop line"
	else
		ok
	fi
else
	ko "still running after SIGTERM"
fi

case_ milter-down-tempfail
delivered_before=$(sm_delivered)
probe "bounces@mail.example.com"
if want_rc 1 && want_out '^< 4[0-9][0-9] 4\.[0-9]\.[0-9]' &&
    want_no_out '^< 250 2\.0\.0 ' && want_no_out '^< 5'; then
	if [ "$(sm_delivered)" -ne "$delivered_before" ]; then
		ko "a message was delivered while the milter was down"
	else
		ok "$(grep -E '^< 4' "$T/out" | head -n 1 | cut -c3-60)"
	fi
fi

case_ milter-back-accepts
milter_start
if ! wait_for 10 milter_ready 2; then
	ko "not restarted: $(tail -n 5 "$T/milter.log")"
else
	probe "bounces@mail.example.com"
	ID=$(queue_id)
	if want_rc 0 && [ -n "$ID" ] && wait_for 10 sink_has "$ID"; then
		ok
	elif [ "$rc" -eq 0 ]; then
		ko "$ID not delivered"
	fi
fi

finish
