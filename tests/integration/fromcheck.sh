#!/bin/sh
# fromcheck.sh - FromCheck: the From header judged at end of headers,
# through miltertest and through a real Postfix.
#
# SYNOPSIS
#	make check TESTS=tests/integration/fromcheck.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/fromcheck.sh
#
# DESCRIPTION
#	NSD serves tests/zones on loopback; the CLI registers example.com
#	(verified) and nodkim.example.org (pending).  Three authready-milter
#	daemons run as nobody on unix sockets, one per FromCheck setting:
#	enforce (the default: no FromCheck line), monitor and off.
#	tests/milter/fromcheck.lua drives each through miltertest (MAIL
#	FROM, header fields, end of headers) and checks the replies and the
#	decision lines: a pending From behind a verified envelope, however
#	its display name or comment names a verified address, is refused at
#	end of headers; a missing From, two From fields, two mailboxes and
#	an unparsable From are refused (OnFrom* default reject); the null
#	sender is judged on its From; a pending envelope is still refused
#	at MAIL FROM; monitor accepts and logs from_would; off decides at
#	MAIL FROM without a From.  Alignment: sub.example.net and
#	alignstrict.example.org (adkim=s, aspf=s) are registered and
#	verified as well; the enforce daemon (AlignmentRequired either)
#	refuses a From that aligns neither through DKIM nor SPF (a From
#	subdomain of alignstrict.example.org), a fourth daemon with
#	AlignmentRequired spf refuses a From in another organization than
#	the MAIL FROM.  The CLI's check shows the adkim=s and aspf=s
#	warnings, and fails them where AlignmentRequired needs that
#	alignment (check --from-domain names the From domain).
#
#	Then a private Postfix (postfix-harness.sh) uses the enforce daemon
#	as smtpd_milters, and tests/smtp-probe sends through it (-F sets
#	the From field, -n leaves it out):
#	  - both verified: 250 after DATA, delivered;
#	  - a verified envelope with the From
#	    "ok@example.com" <x@nodkim.example.org>: every command up to
#	    the end of DATA is accepted, the final "." gets 550 5.7.1
#	    naming nodkim.example.org, and nothing is queued or delivered;
#	  - no From field: 550 5.7.1 at the end of DATA, nothing queued
#	    (local_header_rewrite_clients is emptied: Postfix would add a
#	    From for a client on its own interfaces);
#	  - the null sender with a verified From: delivered;
#	  - a From of news.alignstrict.example.org behind MAIL FROM
#	    mail.alignstrict.example.org: 550 5.7.1 at the end of DATA
#	    naming both domains and the fix, nothing queued; a From of
#	    exactly alignstrict.example.org: delivered.
#	Neither log shows a milter error.
#
#	The cases build on each other and run in order: CASE picks the
#	cases reported, and every case still runs (lib.sh).
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 not root, or NSD, Postfix or
#	miltertest not installed, 99 the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir, NSD (from make check); AUTHREADY,
#	AUTHREADY_MILTER, SMTP_PROBE and MILTERTEST override the programs;
#	TIME_SCALE=N stretches every time limit N times (lib.sh);
#	FROMCHECK_VERBOSE=1 shows the daemons' logs at the end.

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
LUADIR=$top_srcdir/tests/milter

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
PEND=nodkim.example.org
OTHER=sub.example.net
STRICT=alignstrict.example.org
RCPT=someone@recipient.test
MODES="enforce monitor off spf"

if [ -z "$MILTERTEST" ] || [ ! -x "$MILTERTEST" ]; then
	echo "SKIP: miltertest not found (install the miltertest package)"
	exit 77
fi
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

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-fromcheck.XXXXXX") || exit 99
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
	if [ "${FROMCHECK_VERBOSE:-0}" = 1 ]; then
		for m in $MODES; do
			echo "---- $m.log"
			cat "$T/$m.log" 2>/dev/null
		done
	fi
}

mkdir "$T/state" "$T/milter" "$T/keys"
nsd_start "$top_srcdir/tests/zones"
pf_start "unix:$T/milter/enforce.sock"
at_exit cleanup
# Postfix adds a missing From (the envelope sender) for the clients of
# local_header_rewrite_clients, by default its own inet interfaces:
# loopback here.  Emptied, the probe is a remote client whose message
# reaches the milter as sent.
pf_postconf "local_header_rewrite_clients ="
pf_reload

cp "$top_srcdir/tests/keys/rsa2048.pem" "$T/keys/"
chown -R nobody:nogroup "$T/keys"
chmod 0600 "$T/keys/rsa2048.pem"
KEY=$T/keys/rsa2048.pem

# conf NAME [LINE...] - $T/NAME.conf: the shared settings, then LINEs.
conf() {
	n=$1
	shift
	{
		echo "# written by fromcheck.sh"
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

conf enforce
conf monitor "FromCheck monitor"
conf off "FromCheck off"
conf spf "AlignmentRequired spf"
conf cli
conf dkim "AlignmentRequired dkim"

# Registry ----------------------------------------------------------------

for d in "$GOOD" "$PEND"; do
	case_ "register-$d"
	cli "$T/cli.conf" domain add "$d" --selector 1234rpr --key "$KEY" \
	    --mx "$SEEDMX" --spf-include amazonses.com
	[ "$rc" -eq 0 ] && ok || ko "exit $rc"
done
case_ refresh-verified
cli "$T/cli.conf" refresh "$GOOD"
grep -q -E -e '-> verified' "$T/out" && ok || ko "not verified"
case_ refresh-pending
cli "$T/cli.conf" refresh "$PEND"
grep -q -E -e '-> pending' "$T/out" && ok || ko "not pending"
for d in "$OTHER" "$STRICT"; do
	case_ "register-verified-$d"
	cli "$T/cli.conf" domain add "$d" --selector 1234rpr --key "$KEY" \
	    --mx "$SEEDMX" --spf-include amazonses.com &&
	    cli "$T/cli.conf" refresh "$d"
	grep -q -E -e '-> verified' "$T/out" && ok || ko "exit $rc, not verified"
done

# The readiness warnings of alignstrict.example.org (adkim=s, aspf=s)
# under each AlignmentRequired: warnings with either, a failed DMARC
# check where the alignment that cannot hold is required.
case_ check-aspf-strict-warns-with-either
cli "$T/cli.conf" check dmarc "$STRICT"
if [ "$rc" -eq 0 ] && grep -q "so SPF can never align" "$T/out"; then
	ok
else
	ko "exit $rc, or no aspf=s warning"
fi
case_ check-aspf-strict-fails-when-spf-required
cli "$T/spf.conf" check dmarc "$STRICT"
if [ "$rc" -eq 1 ] && grep -q "SPF alignment is required here" "$T/out"; then
	ok
else
	ko "exit $rc, expected 1 and the sentence"
fi
case_ check-adkim-strict-names-the-from-domain
cli "$T/cli.conf" check dmarc "$STRICT" --from-domain "news.$STRICT"
if [ "$rc" -eq 0 ] &&
    grep -q "mail will be From news.$STRICT, so DKIM can never align" \
    "$T/out"; then
	ok
else
	ko "exit $rc, or no adkim=s warning naming the From domain"
fi
case_ check-adkim-strict-fails-when-dkim-required
cli "$T/dkim.conf" check dmarc "$STRICT" --from-domain "news.$STRICT"
if [ "$rc" -eq 1 ] && grep -q "DKIM alignment is required here" "$T/out"; then
	ok
else
	ko "exit $rc, expected 1 and the sentence"
fi
case_ check-adkim-strict-own-from-domain-passes
cli "$T/dkim.conf" check dmarc "$STRICT" --from-domain "$STRICT"
[ "$rc" -eq 0 ] && ok || ko "exit $rc, expected 0"
case_ from-domain-only-for-check
cli "$T/cli.conf" records "$STRICT" --from-domain "$STRICT"
[ "$rc" -eq 64 ] && ok || ko "exit $rc, expected 64"
chown -R nobody:nogroup "$T/state"
chmod 0700 "$T/state"

# Daemons -----------------------------------------------------------------

# started NAME - the daemon has logged event=start and its socket exists.
started() {
	test -S "$T/milter/$1.sock" && grep -q 'event=start ' "$T/$1.log"
}

for m in $MODES; do
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

# miltertest --------------------------------------------------------------

for m in $MODES; do
	case_ "miltertest-$m-runs"
	last_cmd="miltertest -s fromcheck.lua MODE=$m"
	timeout "$RUN_TIMEOUT" "$MILTERTEST" -D "LIB=$LUADIR" \
	    -D "SOCK=unix:$T/milter/$m.sock" -D "LOG=$T/$m.log" \
	    -D "MODE=$m" -s "$LUADIR/fromcheck.lua" >"$T/mt-$m.out" \
	    2>"$T/err" </dev/null
	rc=$?
	cp "$T/mt-$m.out" "$T/out"
	[ "$rc" -eq 0 ] && ok || { evidence "$T/$m.log"; ko "exit $rc"; }
	tally "$T/mt-$m.out" "$m: "
done

# Postfix -----------------------------------------------------------------

# probe SENDER [OPTION...] - one message to $RCPT through Postfix's smtpd;
# the dialogue in out.
probe() {
	s=$1
	shift
	last_cmd="smtp-probe $* 127.0.0.1 $PF_PORT <$s> <$RCPT>"
	timeout $((PROBE_TIMEOUT + 5)) "$SMTP_PROBE" -t "$PROBE_TIMEOUT" \
	    "$@" 127.0.0.1 "$PF_PORT" "$s" "$RCPT" >"$T/out" 2>"$T/err" \
	    </dev/null
	rc=$?
}

# refused_at_dot ERE - every command was accepted up to the end of DATA
# (354 to DATA), whose reply is the first refusal and matches ERE.
refused_at_dot() {
	first=$(grep -n -E '^< [45][0-9][0-9] ' "$T/out" | head -n 1)
	dot=$(grep -n -x -e '> \.' "$T/out" | head -n 1 | cut -d: -f1)
	if [ "$rc" -ne 1 ]; then
		ko "exit $rc, expected 1 (refused)"
	elif ! grep -q '^< 354 ' "$T/out"; then
		ko "DATA was not accepted"
	elif [ -z "$dot" ] || [ "${first%%:*}" -ne $((dot + 1)) ]; then
		ko "the first refusal is not the reply to the final '.'"
	elif ! printf '%s\n' "${first#*:}" | grep -q -E -e "$1"; then
		ko "the reply does not match /$1/"
	else
		return 0
	fi
	return 1
}

# nothing_queued - the queue is empty and the sink has DELIVERED.
nothing_queued() {
	ids=$(pf_queue_ids)
	if [ -n "$ids" ]; then
		ko "queued: $ids"
	elif [ "$(pf_delivered)" -ne "$DELIVERED" ]; then
		ko "the sink has $(pf_delivered) messages, expected $DELIVERED"
	else
		return 0
	fi
	return 1
}

# elog_has ERE - a line of the enforce daemon's log matches ERE.
elog_has() {
	grep -q -E -e "$1" "$T/enforce.log" && return 0
	ko "no enforce.log line matches /$1/"
}

DELIVERED=0
case_ postfix-both-verified-delivered
probe "a@$GOOD" -F "Jane <jane@$GOOD>"
if [ "$rc" -eq 0 ] && pf_wait_delivered 1 "$(scaled 10)"; then
	DELIVERED=1
	elog_has "from=jane@$GOOD from_domain=$GOOD from_state=verified action=accept" &&
	    ok
else
	ko "exit $rc, $(pf_delivered) delivered"
fi

case_ postfix-pending-from-refused-at-end-of-data
probe "a@$GOOD" -F "\"ok@$GOOD\" <x@$PEND>"
if refused_at_dot "^< 550 5\.7\.1 .*$PEND" && nothing_queued &&
    elog_has "from_domain=$PEND from_state=pending action=reject reply=550 decided=from"
then
	ok
fi

case_ postfix-no-from-refused-at-end-of-data
probe "a@$GOOD" -n
if refused_at_dot '^< 550 5\.7\.1 .*no From header field' &&
    nothing_queued; then
	ok
fi

case_ postfix-null-sender-verified-from-delivered
probe "" -F "MAILER-DAEMON@$GOOD"
if [ "$rc" -eq 0 ] && pf_wait_delivered 2 "$(scaled 10)"; then
	DELIVERED=2
	ok
else
	ko "exit $rc, $(pf_delivered) delivered"
fi

case_ postfix-misaligned-refused-at-end-of-data
probe "b@mail.$STRICT" -F "News <n@news.$STRICT>"
if refused_at_dot "^< 550 5\.7\.1 From domain news\.alignstrict\.example\.org does not align with MAIL FROM domain mail\.alignstrict\.example\.org .*sign with a verified DKIM key of exactly news\.alignstrict\.example\.org \(adkim=s\)" &&
    nothing_queued &&
    elog_has "from=n@news\.$STRICT from_domain=$STRICT from_state=verified action=reject reply=550 decided=alignment align=none misaligned=either"
then
	ok
fi

case_ postfix-aligned-strict-from-delivered
probe "b@mail.$STRICT" -F "x@$STRICT"
if [ "$rc" -eq 0 ] && pf_wait_delivered 3 "$(scaled 10)"; then
	DELIVERED=3
	elog_has "from=x@$STRICT from_domain=$STRICT from_state=verified action=accept decided=envelope align=dkim" &&
	    ok
else
	ko "exit $rc, $(pf_delivered) delivered"
fi

case_ postfix-no-milter-errors
if errs=$(pf_log_errors); then
	ko "Postfix log: $errs"
elif grep -q -E 'event=(store-error|setreply-failed)|AddressSanitizer|runtime error' \
    "$T/enforce.log"; then
	evidence "$T/enforce.log"
	ko "errors in the milter's log"
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
