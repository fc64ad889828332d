#!/bin/sh
# fallback.sh - OnMailFromNotReady fallback through a real Postfix: the
# envelope sender of a domain whose only failing records are its MAIL
# FROM's is replaced by FallbackMailFrom.
#
# SYNOPSIS
#	make check TESTS=tests/integration/fallback.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/fallback.sh
#
# DESCRIPTION
#	NSD serves tests/zones on loopback; the CLI registers example.com
#	(verified: the operator's fallback domain, bounces@mail.example.com)
#	and three pending domains of example.org: nomx (no MX at its MAIL
#	FROM name), nospf (no SPF there), both with DKIM and DMARC valid,
#	and nodkim (no DKIM key: never a fallback).  Three authready-milter
#	daemons run as nobody on unix sockets:
#	  fb       OnMailFromNotReady fallback (FromCheck enforce, the
#	           default);
#	  fboff    the same with FromCheck off (the MAIL-FROM-only path);
#	  default  no fallback settings: OnMailFromNotReady reject;
#	  door     fallback, and a policy door (PolicySocket), which
#	           cannot change the sender.
#	A private Postfix (postfix-harness.sh) has four smtpd listeners,
#	one per daemon (smtpd_milters per service; door's through
#	check_policy_service in smtpd_recipient_restrictions), relays to
#	smtp-sink,
#	and delivers box.test with virtual(8) into a maildir, which adds
#	the Return-Path header from the envelope sender.  tests/smtp-probe
#	sends through it:
#	  - nomx through fb to box.test: 250, delivered with Return-Path
#	    <bounces@mail.example.com>; the decision line and the
#	    event=fallback line name both addresses;
#	  - nospf through fb, and nomx through fboff, to the sink: the
#	    relayed MAIL FROM is the fallback;
#	  - example.com (verified) through fb: delivered with its own
#	    sender; a verified envelope with a nomx From: delivered, the
#	    sender unchanged (the From's MAIL FROM records do not matter);
#	  - nodkim through fb: 550 5.7.1 at MAIL FROM, nothing queued;
#	  - nomx through default: 550 5.7.1 at MAIL FROM, nothing queued;
#	  - nomx through door's policy door: 550 5.7.1 at RCPT TO.
#	authready-milter -n refuses OnMailFromNotReady fallback without
#	FallbackMailFrom, and a FallbackMailFrom that is not a plain
#	address, with 78, and warns of fallback with a PolicySocket.  Neither log shows a milter error.
#
#	The cases build on each other and run in order: CASE picks the
#	cases reported, and every case still runs (lib.sh).
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 not root, or NSD or Postfix
#	not installed, 99 the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir, NSD (from make check); AUTHREADY,
#	AUTHREADY_MILTER and SMTP_PROBE override the programs;
#	TIME_SCALE=N stretches every time limit N times (lib.sh);
#	FALLBACK_VERBOSE=1 shows the daemons' logs at the end.

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
RUN_TIMEOUT=$(scaled 30)
PROBE_TIMEOUT=$(scaled 30)
DNS_TIMEOUT=$(scaled 2)
CHECK_WAIT=$(scaled 5)
START_TENTHS=$(scaled 100)
STOP_WAIT_TENTHS=$(scaled 150)
SHOW_LINES=30
SHOW_COLUMNS=400

SEEDMX=feedback-smtp.ap-northeast-1.amazonses.com
GOOD=example.com
NOMX=nomx.example.org
NOSPF=nospf.example.org
NODKIM=nodkim.example.org
FALLBACK=bounces@mail.$GOOD
RCPT=someone@recipient.test
BOX=someone@box.test
DAEMONS="fb fboff default door"

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

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-fallback.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
LIB_OUT=$T/out
LIB_ERR=$T/err
chmod 0755 "$T"
PIDS=

# cleanup - the daemons (Postfix and NSD: their harnesses).
cleanup() {
	# shellcheck disable=SC2086
	stop_pid $PIDS
	PIDS=
	if [ "${FALLBACK_VERBOSE:-0}" = 1 ]; then
		for m in $DAEMONS; do
			echo "---- $m.log"
			cat "$T/$m.log" 2>/dev/null
		done
	fi
}

mkdir "$T/state" "$T/milter" "$T/keys" "$T/vmail"
chown nobody:nogroup "$T/vmail"
nsd_start "$top_srcdir/tests/zones"
pf_start "unix:$T/milter/fb.sock"
at_exit cleanup

cp "$top_srcdir/tests/keys/rsa2048.pem" "$T/keys/"
chown -R nobody:nogroup "$T/keys"
chmod 0600 "$T/keys/rsa2048.pem"
KEY=$T/keys/rsa2048.pem

# conf NAME [LINE...] - $T/NAME.conf: the shared settings, then LINEs.
conf() {
	n=$1
	shift
	{
		echo "# written by fallback.sh"
		echo "Socket local:$T/milter/$n.sock"
		echo "UserID nobody:nogroup"
		echo "SocketGroup postfix"
		echo "UMask 007"
		echo "Syslog no"
		echo "StateDir $T/state"
		echo "DNSServers 127.0.0.1:$NSD_PORT"
		echo "DNSTimeout $DNS_TIMEOUT"
		echo "CheckWait $CHECK_WAIT"
		echo "SendmailPath /bin/true"
		echo "NotifyFrom noreply@operator.test"
		for l in "$@"; do
			echo "$l"
		done
	} >"$T/$n.conf"
	chmod 0644 "$T/$n.conf"
}

conf fb "OnMailFromNotReady fallback" "FallbackMailFrom $FALLBACK"
conf fboff "OnMailFromNotReady fallback" "FallbackMailFrom $FALLBACK" \
    "FromCheck off"
conf default
conf door "OnMailFromNotReady fallback" "FallbackMailFrom $FALLBACK" \
    "PolicySocket unix:$T/milter/door-policy.sock"
conf cli
conf noaddr "OnMailFromNotReady fallback"
conf badaddr "OnMailFromNotReady fallback" \
    "FallbackMailFrom <bounces@mail.$GOOD>"

# Configuration -----------------------------------------------------------

# refused NAME ERE - authready-milter -n exits 78 with ERE on stderr.
refused() {
	last_cmd="authready-milter -n -c $T/$1.conf"
	timeout "$RUN_TIMEOUT" "$AUTHREADY_MILTER" -n -c "$T/$1.conf" \
	    >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	if [ "$rc" -ne 78 ]; then
		ko "exit $rc, expected 78"
	elif ! grep -q -E -e "$2" "$T/err"; then
		ko "stderr does not match /$2/"
	else
		ok
	fi
}

case_ config-fallback-without-address-refused
refused noaddr 'OnMailFromNotReady fallback needs FallbackMailFrom'
case_ config-fallback-address-not-plain-refused
refused badaddr 'FallbackMailFrom: .*not a plain address'

# Registry ----------------------------------------------------------------

for d in "$GOOD" "$NOMX" "$NOSPF" "$NODKIM"; do
	case_ "register-$d"
	cli "$T/cli.conf" domain add "$d" --selector 1234rpr --key "$KEY" \
	    --mx "$SEEDMX" --spf-include amazonses.com
	[ "$rc" -eq 0 ] && ok || ko "exit $rc"
done
case_ refresh-verified
cli "$T/cli.conf" refresh "$GOOD"
grep -q -E -e '-> verified' "$T/out" && ok || ko "not verified"
for d in "$NOMX" "$NOSPF" "$NODKIM"; do
	case_ "refresh-pending-$d"
	cli "$T/cli.conf" refresh "$d"
	grep -q -E -e '-> pending' "$T/out" && ok || ko "not pending"
done
chown -R nobody:nogroup "$T/state"
chmod 0700 "$T/state"

case_ config-fallback-ok
last_cmd="authready-milter -n -c $T/fb.conf"
timeout "$RUN_TIMEOUT" "$AUTHREADY_MILTER" -n -c "$T/fb.conf" >"$T/out" \
    2>"$T/err" </dev/null
rc=$?
[ "$rc" -eq 0 ] && grep -q 'configuration OK' "$T/out" && ok || ko "exit $rc"

case_ config-fallback-policy-door-warned
last_cmd="authready-milter -n -c $T/door.conf"
timeout "$RUN_TIMEOUT" "$AUTHREADY_MILTER" -n -c "$T/door.conf" >"$T/out" \
    2>"$T/err" </dev/null
rc=$?
if [ "$rc" -ne 0 ]; then
	ko "exit $rc"
elif ! grep -q 'warning: OnMailFromNotReady fallback with a PolicySocket: the policy door cannot change the envelope sender' "$T/err"; then
	ko "no warning about the policy door"
else
	ok
fi

# Daemons -----------------------------------------------------------------

# started NAME - the daemon has logged event=start and its socket exists.
started() {
	test -S "$T/milter/$1.sock" && grep -q 'event=start ' "$T/$1.log"
}

for m in $DAEMONS; do
	case_ "start-$m"
	"$AUTHREADY_MILTER" -c "$T/$m.conf" -f </dev/null >/dev/null \
	    2>"$T/$m.log" &
	PIDS="$PIDS $!"
	i=0
	while ! started "$m" && [ $i -lt "$START_TENTHS" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if started "$m"; then
		ok
	else
		evidence "$T/$m.log"
		ko "no event=start within $((START_TENTHS / 10))s"
	fi
done

# Postfix: one listener per daemon, box.test into a maildir ---------------

case_ postfix-listeners
PORT_FB=$PF_PORT
PORT_DEFAULT=$PF_SUBMIT_PORT
PORT_OFF=$(pf_free_port)
PORT_DOOR=$(pf_free_port)
pf_postconf "virtual_mailbox_domains = box.test" \
    "virtual_mailbox_base = $T/vmail" \
    "virtual_mailbox_maps = static:box/" \
    "virtual_uid_maps = static:$(id -u nobody)" \
    "virtual_gid_maps = static:$(id -g nobody)" \
    "door_restrictions = check_policy_service unix:$T/milter/door-policy.sock, permit_mynetworks, reject"
"$PF_SBIN/postconf" -c "$PF_DIR/etc" \
    -M "virtual/unix=virtual unix - n n - - virtual"
"$PF_SBIN/postconf" -c "$PF_DIR/etc" \
    -M "127.0.0.1:$PORT_OFF/inet=127.0.0.1:$PORT_OFF inet n - n - - smtpd -o smtpd_milters=unix:$T/milter/fboff.sock"
"$PF_SBIN/postconf" -c "$PF_DIR/etc" \
    -M "127.0.0.1:$PORT_DOOR/inet=127.0.0.1:$PORT_DOOR inet n - n - - smtpd -o smtpd_milters= -o smtpd_recipient_restrictions=\$door_restrictions"
"$PF_SBIN/postconf" -c "$PF_DIR/etc" \
    -P "127.0.0.1:$PORT_DEFAULT/inet/smtpd_milters=unix:$T/milter/default.sock"
pf_reload
i=0
while ! { pf_port_busy "$PORT_OFF" && pf_port_busy "$PORT_DOOR"; } &&
    [ $i -lt "$START_TENTHS" ]; do
	sleep 0.1
	i=$((i + 1))
done
if pf_port_busy "$PORT_OFF" && pf_port_busy "$PORT_DOOR"; then
	ok
else
	evidence "$PF_LOG"
	ko "Postfix does not listen on $PORT_OFF and $PORT_DOOR after the reload"
fi

# probe PORT SENDER RCPT SUBJECT [OPTION...] - one message through the
# smtpd on PORT; the dialogue in out.
probe() {
	p=$1 s=$2 r=$3 subj=$4
	shift 4
	last_cmd="smtp-probe -s $subj $* 127.0.0.1 $p <$s> <$r>"
	timeout $((PROBE_TIMEOUT + 5)) "$SMTP_PROBE" -t "$PROBE_TIMEOUT" \
	    -s "$subj" "$@" 127.0.0.1 "$p" "$s" "$r" >"$T/out" 2>"$T/err" \
	    </dev/null
	rc=$?
}

# wait_file DIR SUBJECT - the file under DIR holding SUBJECT, printed,
# once it is there (at most 10 s, scaled); false when it never comes.
wait_file() {
	i=0
	while [ $i -lt "$(scaled 100)" ]; do
		f=$(grep -l -r -e "^Subject: $2\$" "$1" 2>/dev/null | head -n 1)
		if [ -n "$f" ]; then
			echo "$f"
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# relayed_from SUBJECT ADDRESS - the sink got SUBJECT with MAIL FROM
# <ADDRESS>.
relayed_from() {
	if ! f=$(wait_file "$PF_SINK_DIR" "$1"); then
		ko "the sink never got '$1'"
	elif ! grep -q -i -e "^X-Mail-Args: <$2>" "$f"; then
		evidence "$f"
		ko "relayed with another MAIL FROM than <$2>"
	else
		return 0
	fi
	return 1
}

# refused_at_mail - 550 5.7.1 to MAIL FROM, the first refusal.
refused_at_mail() {
	first=$(grep -n -E '^< [45][0-9][0-9] ' "$T/out" | head -n 1)
	mail=$(grep -n -E '^> MAIL FROM:' "$T/out" | head -n 1 | cut -d: -f1)
	if [ "$rc" -ne 1 ]; then
		ko "exit $rc, expected 1 (refused)"
	elif [ -z "$mail" ] || [ "${first%%:*}" -ne $((mail + 1)) ]; then
		ko "the first refusal is not the reply to MAIL FROM"
	elif ! printf '%s\n' "${first#*:}" | grep -q -E -e "^< 550 5\.7\.1 .*$1"
	then
		ko "not 550 5.7.1 naming $1"
	elif [ -n "$(pf_queue_ids)" ]; then
		ko "queued: $(pf_queue_ids)"
	else
		return 0
	fi
	return 1
}

# log_has NAME ERE - a line of daemon NAME's log matches ERE.
log_has() {
	grep -q -E -e "$2" "$T/$1.log" && return 0
	evidence "$T/$1.log"
	ko "no $1.log line matches /$2/"
}

case_ nomx-delivered-with-fallback-return-path
probe "$PORT_FB" "news@mail.$NOMX" "$BOX" fb-nomx-box -F "News <news@$NOMX>"
if [ "$rc" -ne 0 ]; then
	ko "exit $rc, expected 0 (accepted)"
# virtual(8) writes the message into box/tmp and renames it into
# box/new when it is complete: only new/ is looked at.
elif ! f=$(wait_file "$T/vmail/box/new" fb-nomx-box); then
	evidence "$PF_LOG"
	ko "not delivered into the maildir"
elif ! grep -q -x -e "Return-Path: <$FALLBACK>" "$f"; then
	evidence "$f"
	ko "the Return-Path is not <$FALLBACK>"
elif log_has fb "sender=<news@mail.$NOMX> domain=$NOMX state=pending .*action=accept .*fallback=$FALLBACK" &&
    log_has fb "event=fallback session=[0-9A-Za-z]+ sender=<news@mail.$NOMX> domain=$NOMX fallback=$FALLBACK"
then
	ok
fi

case_ nospf-relayed-with-fallback
probe "$PORT_FB" "news@mail.$NOSPF" "$RCPT" fb-nospf -F "<news@$NOSPF>"
[ "$rc" -eq 0 ] || ko "exit $rc, expected 0 (accepted)"
[ "$rc" -eq 0 ] && relayed_from fb-nospf "$FALLBACK" && ok

case_ verified-sender-unchanged
probe "$PORT_FB" "news@mail.$GOOD" "$RCPT" fb-good -F "<news@$GOOD>"
[ "$rc" -eq 0 ] || ko "exit $rc, expected 0 (accepted)"
[ "$rc" -eq 0 ] && relayed_from fb-good "news@mail.$GOOD" && ok

case_ verified-envelope-nomx-from-unchanged
probe "$PORT_FB" "news@mail.$GOOD" "$RCPT" fb-good-nomx -F "<news@$NOMX>"
[ "$rc" -eq 0 ] || ko "exit $rc, expected 0 (accepted)"
[ "$rc" -eq 0 ] && relayed_from fb-good-nomx "news@mail.$GOOD" && ok

case_ nodkim-refused-at-mail-from
probe "$PORT_FB" "news@mail.$NODKIM" "$RCPT" fb-nodkim -F "<news@$NODKIM>"
refused_at_mail "$NODKIM" && ok

case_ fromcheck-off-nomx-relayed-with-fallback
probe "$PORT_OFF" "news@mail.$NOMX" "$RCPT" fboff-nomx -F "<news@$NOMX>"
[ "$rc" -eq 0 ] || ko "exit $rc, expected 0 (accepted)"
[ "$rc" -eq 0 ] && relayed_from fboff-nomx "$FALLBACK" &&
    log_has fboff "domain=$NOMX state=pending action=accept .*fallback=$FALLBACK" &&
    ok

case_ default-nomx-refused-at-mail-from
probe "$PORT_DEFAULT" "news@mail.$NOMX" "$RCPT" default-nomx -F "<news@$NOMX>"
refused_at_mail "$NOMX" &&
    log_has default "domain=$NOMX state=pending action=reject reply=550" && ok

case_ policy-door-nomx-refused-at-rcpt
probe "$PORT_DOOR" "news@mail.$NOMX" "$RCPT" door-nomx -F "<news@$NOMX>"
first=$(grep -n -E '^< [45][0-9][0-9] ' "$T/out" | head -n 1)
rcpt=$(grep -n -E '^> RCPT TO:' "$T/out" | head -n 1 | cut -d: -f1)
if [ "$rc" -ne 1 ]; then
	ko "exit $rc, expected 1 (refused)"
elif [ -z "$rcpt" ] || [ "${first%%:*}" -ne $((rcpt + 1)) ]; then
	ko "the first refusal is not the reply to RCPT TO"
elif ! printf '%s\n' "${first#*:}" | grep -q -E -e "^< 550 5\.7\.1 .*$NOMX"
then
	ko "not 550 5.7.1 naming $NOMX"
elif [ -n "$(pf_queue_ids)" ]; then
	ko "queued: $(pf_queue_ids)"
else
	log_has door "domain=$NOMX state=pending action=reject reply=550" &&
	    ok
fi

case_ no-milter-errors
if errs=$(pf_log_errors); then
	ko "Postfix log: $errs"
elif grep -q -E 'event=(store-error|setreply-failed|fallback-failed|fallback-unavailable)|AddressSanitizer|runtime error' \
    "$T/fb.log" "$T/fboff.log" "$T/default.log" "$T/door.log"; then
	evidence "$T/fb.log" "$T/fboff.log" "$T/default.log" "$T/door.log"
	ko "errors in a milter's log"
else
	ok
fi

# Stop ----------------------------------------------------------------------

case_ daemons-stop-cleanly
bad=
for p in $PIDS; do
	if stop_wait "$p" "$STOP_WAIT_TENTHS" && [ "$rc" -eq 0 ]; then
		continue
	fi
	bad="$bad $p"
done
PIDS=
[ -z "$bad" ] && ok || ko "not stopped with status 0:$bad"
finish
