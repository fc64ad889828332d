#!/bin/sh
# load.sh - 500 concurrent SMTP sessions through authready-milter in a real
# Postfix, with 100 config reloads (one of them invalid) meanwhile.
#
# SYNOPSIS
#	make check TESTS=tests/integration/load.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/load.sh
#	LOAD_SESSIONS=500 LOAD_MESSAGES=2000 LOAD_RELOADS=100 ...load.sh
#
# DESCRIPTION
#	NSD serves tests/zones on loopback; example.com is registered and
#	verified; authready-milter runs as nobody on a unix socket
#	(UMask 007, SocketGroup postfix); a private Postfix instance
#	(postfix-harness.sh) uses it as smtpd_milters, with its process and
#	per-client connection limits raised so LOAD_SESSIONS sessions can
#	run at once, and relays to an smtp-sink.
#
#	smtp-source sends LOAD_MESSAGES messages from
#	bounces@mail.example.com, one a session, LOAD_SESSIONS at a time.
#	Meanwhile the daemon gets LOAD_RELOADS SIGUSR1; before the middle
#	one the config file is replaced by one the daemon refuses
#	(OnUnknown reject), and restored once that reload has failed.
#	Then:
#
#	  - smtp-source exits 0 and reports no error: no session failed;
#	  - the sink received every message; no reply was 4xx or 5xx in
#	    Postfix's log; the milter made an accept decision for each;
#	  - Postfix logs no milter warning, error, timeout, fatal or panic;
#	  - the daemon logged LOAD_RELOADS - 1 reloads and exactly one
#	    reload-failed, and still runs the old config (the sessions after
#	    the invalid reload were accepted as before);
#	  - the daemon's log shows no store error or sanitizer report.
#
#	The cases build on each other and run in order: CASE picks the cases
#	reported, and every case still runs (lib.sh).
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 not root, or NSD, Postfix or
#	smtp-source is not installed, 99 the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir, NSD (from make check); AUTHREADY,
#	AUTHREADY_MILTER override the binaries; LOAD_SESSIONS, LOAD_MESSAGES,
#	LOAD_RELOADS change the sizes; POSTFIX_VERBOSE=1 shows Postfix's log;
#	TIME_SCALE=N stretches every time limit N times (lib.sh).

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY=${AUTHREADY:-$top_builddir/authready}
AUTHREADY_MILTER=${AUTHREADY_MILTER:-$top_builddir/authready-milter}
KEY=$top_srcdir/tests/keys/rsa2048.pem
SEEDMX=feedback-smtp.ap-northeast-1.amazonses.com
SENDER=bounces@mail.example.com
RCPT=someone@recipient.test

SESSIONS=${LOAD_SESSIONS:-500}
MESSAGES=${LOAD_MESSAGES:-2000}
RELOADS=${LOAD_RELOADS:-100}
# Postfix processes: the sessions and room for the rest.
PROCESS_LIMIT=$((SESSIONS + 100))
# Milliseconds between two reloads.
RELOAD_GAP_MS=60
# Times stretch with TIME_SCALE (lib.sh).
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
SOURCE_TIMEOUT=$(scaled 240)
DELIVER_WAIT=$(scaled 120)
START_TENTHS=$(scaled 100)
RELOAD_WAIT_STEPS=$(scaled 100) # of 50 ms, for one reload's log line
DNS_TIMEOUT=$(scaled 2)
CHECK_WAIT=$(scaled 5)
SHOW_LINES=20
SHOW_COLUMNS=300

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: the private Postfix instance needs root"
	exit 77
fi
if [ ! -x /usr/sbin/smtp-source ]; then
	echo "SKIP: /usr/sbin/smtp-source not found (postfix package)"
	exit 77
fi
for b in "$AUTHREADY" "$AUTHREADY_MILTER"; do
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

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-load.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
LIB_OUT=$T/out
LIB_ERR=$T/err
chmod 0755 "$T"
MPID=
SPID=

# cleanup - the milter and smtp-source (Postfix and NSD: their harnesses).
cleanup() {
	stop_pid "$SPID" "$MPID"
	SPID=
	MPID=
}

: >"$T/out"
: >"$T/err"

# count ERE FILE - lines of FILE matching ERE.
count() {
	grep -c -E -e "$1" "$2" 2>/dev/null || true
}

mkdir "$T/state" "$T/milter"
nsd_start "$top_srcdir/tests/zones"
pf_start "unix:$T/milter/authready.sock"
at_exit cleanup

# Room for every session: processes, per-client connections and rates
# (all sessions come from 127.0.0.1), no flow control delay.
pf_postconf "default_process_limit = $PROCESS_LIMIT" \
    "smtpd_client_connection_count_limit = 0" \
    "smtpd_client_connection_rate_limit = 0" \
    "smtpd_client_message_rate_limit = 0" \
    "in_flow_delay = 0" || exit 99
pf_reload

cp "$KEY" "$T/key.pem"
chmod 0644 "$T/key.pem"
cat >"$T/milter.conf" <<EOF
# written by load.sh
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
OnPending reject
EOF
chmod 0644 "$T/milter.conf"
cp "$T/milter.conf" "$T/good.conf"
# Refused as a whole (milter.sh checks that with -n): the old config
# must stay in force.
sed '$a\
OnUnknown reject' "$T/good.conf" >"$T/invalid.conf"

case_ "setup: example.com verified"
"$AUTHREADY" -c "$T/milter.conf" domain add example.com --selector 1234rpr \
    --key "$T/key.pem" --mx "$SEEDMX" --spf-include amazonses.com \
    >"$T/out" 2>"$T/err" &&
    "$AUTHREADY" -c "$T/milter.conf" refresh example.com >"$T/out" \
	2>"$T/err"
if [ $? -eq 0 ]; then
	ok
else
	ko "registry setup failed"
	exit 1
fi
chown -R nobody:nogroup "$T/state"
chmod 0700 "$T/state"

case_ "setup: the invalid config is refused by authready-milter -n"
if "$AUTHREADY_MILTER" -n -c "$T/invalid.conf" >"$T/out" 2>"$T/err"; then
	ko "accepted"
else
	ok
fi

"$AUTHREADY_MILTER" -c "$T/milter.conf" -f </dev/null >/dev/null \
    2>"$T/milter.log" &
MPID=$!
case_ "milter starts"
i=0
while [ $i -lt $START_TENTHS ] &&
    ! grep -q 'event=start ' "$T/milter.log"; do
	sleep 0.1
	i=$((i + 1))
done
if grep -q 'event=start ' "$T/milter.log"; then
	ok
else
	cp "$T/milter.log" "$T/err"
	ko "no event=start"
	exit 1
fi

# The load ------------------------------------------------------------------

start=$(date +%s)
timeout "$SOURCE_TIMEOUT" /usr/sbin/smtp-source -s "$SESSIONS" \
    -m "$MESSAGES" -l 1024 -f "$SENDER" -t "$RCPT" -M load.authready.test \
    "127.0.0.1:$PF_PORT" </dev/null >"$T/source.out" 2>"$T/source.err" &
SPID=$!

# reload_wait ERE N - wait until the milter's log has N lines matching ERE.
reload_wait() {
	i=0
	while [ "$(count "$1" "$T/milter.log")" -lt "$2" ] &&
	    [ $i -lt "$RELOAD_WAIT_STEPS" ]; do
		sleep 0.05
		i=$((i + 1))
	done
}

bad_at=$((RELOADS / 2))
n=0
done_n=0
while [ $n -lt "$RELOADS" ]; do
	if [ $n -eq $bad_at ]; then
		cp "$T/invalid.conf" "$T/milter.conf.new"
		mv "$T/milter.conf.new" "$T/milter.conf"
		kill -USR1 "$MPID"
		reload_wait 'event=reload-failed' 1
		cp "$T/good.conf" "$T/milter.conf.new"
		mv "$T/milter.conf.new" "$T/milter.conf"
		during=$(pf_delivered)
	else
		# One signal at a time: each reload is logged before the
		# next signal, so none is merged into another.
		kill -USR1 "$MPID"
		done_n=$((done_n + 1))
		reload_wait 'event=reload config=' $done_n
		msleep $RELOAD_GAP_MS
	fi
	n=$((n + 1))
done
reloads_sent_at=$(date +%s)
wait "$SPID"
src_rc=$?
SPID=
took=$(($(date +%s) - start))

case_ "smtp-source: $MESSAGES messages, $SESSIONS sessions at once, no error"
cp "$T/source.out" "$T/out"
cp "$T/source.err" "$T/err"
if [ $src_rc -ne 0 ]; then
	ko "smtp-source exited $src_rc after ${took}s"
elif [ -s "$T/source.err" ]; then
	ko "smtp-source reported errors"
else
	ok
fi

# On a busy machine the load may end before the last of the 100 reloads
# (each waits for its log line); what must hold is that reloads, the
# invalid one among them, happened while sessions were running.
case_ "the reloads ran while the sessions did"
if [ "${during:-0}" -ge "$MESSAGES" ]; then
	ko "every message was delivered before the invalid reload"
else
	[ "$reloads_sent_at" -lt $((start + took)) ] ||
	    echo "note: the load (${took}s) ended before the last reload"
	ok
fi

case_ "every message delivered to the sink"
if pf_wait_delivered "$MESSAGES" "$DELIVER_WAIT"; then
	ok
else
	ko "$(pf_delivered) of $MESSAGES delivered; queue:" \
	    "$(pf_queue_ids | wc -l)"
fi

case_ "Postfix: no milter warning, error, timeout, fatal or panic"
if errs=$(pf_log_errors); then
	printf '%s\n' "$errs" | head -n 10 >"$T/err"
	ko "$(printf '%s\n' "$errs" | wc -l) line(s)"
else
	ok
fi

case_ "Postfix: no service reached its process limit"
if grep -q 'reached its process limit' "$PF_LOG"; then
	grep 'reached its process limit' "$PF_LOG" | head -n 3 >"$T/err"
	ko "raise default_process_limit"
else
	ok
fi

case_ "Postfix: no 4xx or 5xx reply, no milter action other than accept"
bad=$(grep -E ': (reject|milter-reject|milter-discard|milter-hold):|[[:space:]]4[0-9][0-9] 4\.[0-9]|status=(deferred|bounced)' \
    "$PF_LOG" | head -n 10)
if [ -n "$bad" ]; then
	printf '%s\n' "$bad" >"$T/err"
	ko "see stderr"
else
	ok
fi

case_ "the milter decided on every message (action=accept)"
n=$(count "domain=example\\.com state=verified action=accept" "$T/milter.log")
if [ "$n" -ge "$MESSAGES" ]; then
	ok
else
	ko "$n accept decisions for $MESSAGES messages"
fi

case_ "reloads: $((RELOADS - 1)) done and exactly one refused"
ok_n=$(count 'event=reload config=' "$T/milter.log")
bad_n=$(count 'event=reload-failed' "$T/milter.log")
if [ "$bad_n" -ne 1 ]; then
	ko "$bad_n reload-failed lines"
elif [ "$ok_n" -ne $((RELOADS - 1)) ]; then
	ko "$ok_n successful reloads for $((RELOADS - 1)) signals"
elif ! grep -E 'event=reload-failed' "$T/milter.log" |
    grep -q 'OnUnknown'; then
	grep -E 'event=reload-failed' "$T/milter.log" >"$T/err"
	ko "the refused reload does not name OnUnknown"
else
	ok
fi

case_ "the daemon still runs and kept serving after the refused reload"
last_bad=$(grep -n 'event=reload-failed' "$T/milter.log" | tail -n 1 |
    cut -d: -f1)
after=$(sed -n "$((${last_bad:-1} + 1)),\$p" "$T/milter.log" |
    grep -c 'action=accept')
if ! kill -0 "$MPID" 2>/dev/null; then
	ko "the daemon is gone"
elif [ "$after" -eq 0 ]; then
	ko "no accept decision after the refused reload"
else
	ok
fi

case_ "milter log: no store error, crash or sanitizer report"
bad='Sanitizer|runtime error:| (crit|alert|emerg): |event=(store-error|store-corrupt|setreply-failed)'
if grep -q -E "$bad" "$T/milter.log"; then
	grep -E "$bad" "$T/milter.log" | head -n 5 >"$T/err"
	ko "see stderr"
else
	ok
fi

echo "load: $MESSAGES messages in ${took}s, $SESSIONS sessions at once"
finish
