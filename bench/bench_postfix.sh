#!/bin/sh
# bench_postfix.sh - Postfix end-to-end messages per second with
# authready-milter's two doors, without a filter, and with OpenDKIM
# verifying.
#
# SYNOPSIS
#	bench/bench_postfix.sh BUILDDIR
#
# DESCRIPTION
#	One private Postfix instance (tests/integration/postfix-harness.sh:
#	nothing chrooted, relayhost = an smtp-sink that writes each message
#	to a file) with five smtpd listeners that differ only in
#	smtpd_milters or their restrictions:
#	  none       no milter;
#	  authready  authready-milter on a unix socket (UserID nobody,
#	             SocketGroup postfix, Syslog yes, SyslogFacility mail),
#	             example.com registered and verified against NSD, with
#	             FromCheck off: the MAIL-FROM-only path;
#	  fromcheck  a second authready-milter on the same store with
#	             FromCheck enforce (the default): the header From
#	             (bench@example.com in the signed message, the sender
#	             in smtp-source's own) judged at end of headers too;
#	  policy     no milter: the same daemon's policy door (PolicySocket)
#	             in smtpd_recipient_restrictions and
#	             smtpd_end_of_data_restrictions, as
#	             contrib/postfix-policy-main.cf.snippet sets it;
#	  opendkim   OpenDKIM (Debian package) in verify mode on a unix
#	             socket: Mode v, no keys, InternalHosts naming no local
#	             address so every message is verified, Syslog yes; its
#	             resolver (libunbound) forwards to NSD.
#	Each round sends MESSAGES messages with smtp-source (SESSIONS
#	parallel sessions, one message per session, MAIL FROM
#	bounces@mail.example.com) to one listener and waits until all of
#	them are delivered; rate = messages / (last delivery - start).
#	BENCH_DELIVERY chooses where they go:
#	  relay      (default) the harness's relayhost, an smtp-sink that
#	             writes each message to a file: the whole path, with
#	             Postfix's SMTP client and a second SMTP session per
#	             message;
#	  discard    Postfix's discard(8) transport (transport_maps), counted
#	             from the "status=sent" lines of Postfix's log: Postfix
#	             still receives, runs the milter, queues and delivers
#	             each message, but delivery costs little, so a milter's
#	             share of the work shows more.  The one message that
#	             checks OpenDKIM's verdict is relayed to the sink.
#	BENCH_MAIL chooses the message:
#	  signed     (default) one message signed by example.com
#	             (bench/dkim_sign.c: rsa-sha256, relaxed/relaxed, the
#	             2048-bit test key whose public half tests/zones
#	             publishes at 1234rpr._domainkey), about MSGLEN octets
#	             plus the signature, sent with smtp-source -F: OpenDKIM
#	             fetches the key and checks the signature, which is what
#	             verify mode is for;
#	  unsigned   smtp-source's own MSGLEN-octet message: OpenDKIM finds
#	             no signature and only parses.
#	The five run in turn, ROUNDS times, in an order that rotates each
#	round, so load changes on the machine and the position in a round
#	hit all of them alike.  Prints the median rate of each and the
#	ratios authready/none (target >= 0.85), authready/opendkim
#	(target >= 1.5), policy/none (target >= 0.97) and
#	fromcheck/authready (FromCheck's cost end to end, issue 16: target
#	>= 0.97), of the medians and as the median of per-round ratios;
#	and, beside the rates, what each configuration costs in CPU: the
#	whole machine's CPU time per message in its rounds (/proc/stat), and
#	the filter daemon's own user+system time per message in the rounds
#	of that configuration (/proc/PID/stat, clock ticks, so coarse for a
#	cheap filter; the policy door's target is at most 0.15 ms); and the
#	policy door's connections per message (its event=policy-stats line
#	at stop, kept by the syslog sink; "-" when a real syslog daemon has
#	/dev/log).
#
#	Logging: Postfix logs to its maillog_file (postlogd), as the
#	harness sets it.  Both milters log through syslog(3); without a
#	syslog daemon a sink is started on /dev/log for the run (see
#	bench_milter.sh), so each pays for its log lines.
#
# ENVIRONMENT
#	ROUNDS (default 3), MESSAGES (1000), SESSIONS (8), MSGLEN (2048),
#	BENCH_MAIL (signed or unsigned), BENCH_DELIVERY (relay or discard),
#	BENCH_SYSLOG (sink or none),
#	BENCH_KEEP (set: keep the work directory, the last round's messages
#	included), BENCH_PERF (a file: one more authready round under perf
#	record -a -g after the figures, report to FILE, data to
#	FILE.data; then one fromcheck round, to FILE.from and
#	FILE.from.data), OPENDKIM (default /usr/sbin/opendkim; installed from
#	Debian when missing).
#
# EXIT STATUS
#	0 the run completed (whether or not the targets were met), 1 an
#	error, 77 not root or no Postfix (the harness's skip).
set -eu
LC_ALL=C
export LC_ALL
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: bench_postfix.sh BUILDDIR}" && pwd)
ROUNDS=${ROUNDS:-3}
MESSAGES=${MESSAGES:-1000}
SESSIONS=${SESSIONS:-8}
MSGLEN=${MSGLEN:-2048}
BENCH_SYSLOG=${BENCH_SYSLOG:-sink}
BENCH_MAIL=${BENCH_MAIL:-signed}
BENCH_DELIVERY=${BENCH_DELIVERY:-relay}
OPENDKIM=${OPENDKIM:-/usr/sbin/opendkim}
TARGET_NONE=0.85
TARGET_DKIM=1.5
TARGET_POLICY=0.97
TARGET_POLICY_CPU=0.15
TARGET_FROM=0.97
START_TENTHS=100
DELIVER_TIMEOUT=300
SENDER=bounces@mail.example.com
RCPT=user@dest.example
RCPT_RELAYED=user@relayed.example # always to the sink

authready=$build/authready
milter=$build/authready-milter
for p in "$authready" "$milter"; do
	[ -x "$p" ] || { echo "no $p; build first" >&2; exit 1; }
done
case $BENCH_MAIL in
signed | unsigned) ;;
*) echo "BENCH_MAIL must be signed or unsigned" >&2; exit 1 ;;
esac
case $BENCH_DELIVERY in
relay | discard) ;;
*) echo "BENCH_DELIVERY must be relay or discard" >&2; exit 1 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root" >&2; exit 77; }
if [ ! -x "$OPENDKIM" ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends opendkim >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-postfix.XXXXXX")
chmod 0755 "$work"
AR_PID=
FROM_PID=
DKIM_PID=
SINK_PID=

# stop_pid PID - TERM, wait, KILL if needed.
stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || true
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

cleanup() {
	stop_pid "$AR_PID"
	stop_pid "$FROM_PID"
	stop_pid "$DKIM_PID"
	stop_pid "$SINK_PID"
	[ -z "$SINK_PID" ] || rm -f /dev/log
	pf_cleanup_all >/dev/null 2>&1 || true
	if [ -n "${BENCH_KEEP:-}" ]; then
		echo "work directory kept: $work" >&2
	else
		rm -rf "$work"
	fi
}

# shellcheck source=../tests/integration/nsd-harness.sh
. "$top/tests/integration/nsd-harness.sh"
# shellcheck source=../tests/integration/postfix-harness.sh
. "$top/tests/integration/postfix-harness.sh"

# syslog_sink - a datagram reader on /dev/log when no daemon has one.
syslog_sink() {
	[ "$BENCH_SYSLOG" = sink ] || return 0
	[ ! -e /dev/log ] || return 0
	sink=$build/bench/syslog_sink
	if [ ! -x "$sink" ]; then
		sink=$work/syslog_sink
		gcc -std=c11 -O2 -o "$sink" "$top/bench/syslog_sink.c"
	fi
	"$sink" /dev/log "$work/sink.count" event=policy-stats \
	    "$work/policy.stats" &
	SINK_PID=$!
	i=0
	while [ ! -S /dev/log ] && [ $i -lt $START_TENTHS ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S /dev/log ] || { echo "syslog sink did not start" >&2; exit 1; }
}

# wait_file PATH PID - until PATH is a socket, while PID lives.
wait_file() {
	i=0
	while [ ! -S "$1" ] && [ $i -lt $START_TENTHS ]; do
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$1" ]
}

# now_ms - wall clock milliseconds.
now_ms() {
	date +%s%3N
}

# machine_ticks - CPU time of the whole machine so far (all CPUs, user,
# nice, system, irq and softirq), in clock ticks.
machine_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat
}

# process_ticks PID - user + system CPU of PID, its threads included
# (those that have exited too), in clock ticks.
process_ticks() {
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

nsd_start "$top/tests/zones" 2>/dev/null
pf_start "" 2>/dev/null
trap 'cleanup' EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
syslog_sink

# authready-milter, example.com verified.
mkdir -p "$work/sock" "$work/state"
cat >"$work/authready.conf" <<EOF
DNSServers 127.0.0.1:$NSD_PORT
StateDir $work/state
Socket unix:$work/sock/authready.sock
PolicySocket unix:$work/sock/policy.sock
UserID nobody:nogroup
SocketGroup postfix
Syslog yes
SyslogFacility mail
FromCheck off
EOF
# The same daemon with FromCheck enforce, on the same store, without
# the policy door.
sed -e "s|^Socket .*|Socket unix:$work/sock/from.sock|" \
    -e '/^PolicySocket /d' \
    -e 's|^FromCheck .*|FromCheck enforce|' "$work/authready.conf" \
    >"$work/from.conf"
"$authready" -c "$work/authready.conf" domain add example.com \
    --selector 1234rpr --key "$top/tests/keys/rsa2048.pem" >/dev/null
"$authready" -c "$work/authready.conf" refresh example.com >/dev/null
chown -R nobody:nogroup "$work/state"
"$milter" -f -c "$work/authready.conf" 2>"$work/milter.err" &
AR_PID=$!
wait_file "$work/sock/authready.sock" "$AR_PID" ||
    { cat "$work/milter.err" >&2; exit 1; }
wait_file "$work/sock/policy.sock" "$AR_PID" ||
    { cat "$work/milter.err" >&2; exit 1; }
"$milter" -f -c "$work/from.conf" 2>"$work/from.err" &
FROM_PID=$!
wait_file "$work/sock/from.sock" "$FROM_PID" ||
    { cat "$work/from.err" >&2; exit 1; }

# The message: smtp-source's own, or one signed by example.com.
source_mail="-l $MSGLEN"
if [ "$BENCH_MAIL" = signed ]; then
	signer=$build/bench/dkim_sign
	if [ ! -x "$signer" ]; then
		signer=$work/dkim_sign
		gcc -std=c11 -O2 -o "$signer" "$top/bench/dkim_sign.c" -lopendkim
	fi
	"$signer" "$top/tests/keys/rsa2048.pem" 1234rpr example.com \
	    "$MSGLEN" >"$work/signed.eml"
	source_mail="-F $work/signed.eml"
fi

# OpenDKIM, verify only; it opens its socket after dropping to UserID.
# Its resolver (libunbound) forwards to NSD: Nameservers, not
# ResolverConfiguration (a libunbound config file), with which OpenDKIM
# 2.11 died at 8 sessions: "fatal flex scanner internal error".
mkdir "$work/dkim"
chown opendkim "$work/dkim"
echo 192.0.2.1 >"$work/opendkim.internal"
cat >"$work/opendkim.conf" <<EOF
Mode v
Socket local:$work/dkim/opendkim.sock
UserID opendkim
UMask 000
Syslog yes
SyslogFacility mail
InternalHosts $work/opendkim.internal
PidFile $work/opendkim.pid
Nameservers 127.0.0.1@$NSD_PORT
EOF
"$OPENDKIM" -f -x "$work/opendkim.conf" 2>"$work/opendkim.err" &
DKIM_PID=$!
wait_file "$work/dkim/opendkim.sock" "$DKIM_PID" ||
    { cat "$work/opendkim.err" >&2; exit 1; }

# One smtpd per configuration.
AR_PORT=$(pf_free_port)
FROM_PORT=$(pf_free_port)
DKIM_PORT=$(pf_free_port)
POLICY_PORT=$(pf_free_port)
pf_postconf "smtpd_milters=" "non_smtpd_milters=" \
    "authready_policy = check_policy_service unix:$work/sock/policy.sock"
[ "$BENCH_DELIVERY" = relay ] ||
    pf_postconf "transport_maps=inline:{${RCPT#*@}=discard:}"
postconf -c "$PF_DIR/etc" -M "127.0.0.1:$AR_PORT/inet=127.0.0.1:$AR_PORT \
inet n - n - - smtpd -o smtpd_milters=unix:$work/sock/authready.sock"
postconf -c "$PF_DIR/etc" -M "127.0.0.1:$FROM_PORT/inet=\
127.0.0.1:$FROM_PORT inet n - n - - smtpd \
-o smtpd_milters=unix:$work/sock/from.sock"
postconf -c "$PF_DIR/etc" -M "127.0.0.1:$DKIM_PORT/inet=\
127.0.0.1:$DKIM_PORT inet n - n - - smtpd \
-o smtpd_milters=unix:$work/dkim/opendkim.sock"
postconf -c "$PF_DIR/etc" -M "127.0.0.1:$POLICY_PORT/inet=\
127.0.0.1:$POLICY_PORT inet n - n - - smtpd \
-o smtpd_recipient_restrictions=\$authready_policy \
-o smtpd_end_of_data_restrictions=\$authready_policy"
pf_reload
i=0
until pf_port_busy "$AR_PORT" && pf_port_busy "$DKIM_PORT" &&
    pf_port_busy "$POLICY_PORT" && pf_port_busy "$FROM_PORT"; do
	i=$((i + 1))
	[ $i -lt $START_TENTHS ] || { echo "listeners did not start" >&2; exit 1; }
	sleep 0.1
done

# port_name PORT - which configuration listens on PORT.
port_name() {
	case $1 in
	"$PF_PORT") echo none ;;
	"$AR_PORT") echo authready ;;
	"$FROM_PORT") echo fromcheck ;;
	"$DKIM_PORT") echo opendkim ;;
	"$POLICY_PORT") echo policy ;;
	*) echo unknown ;;
	esac
}

# log_size - octets in Postfix's log now.
log_size() {
	wc -c <"$PF_LOG" | tr -d ' '
}

# discarded SINCE - messages the discard transport delivered in the log
# after octet SINCE (only the new part is read on each poll).
discarded() {
	tail -c +$(($1 + 1)) "$PF_LOG" | grep -c ' relay=none,.* status=sent ('
}

# wait_discarded SINCE COUNT - true once COUNT messages were discarded.
wait_discarded() {
	i=0
	while [ $i -lt $((DELIVER_TIMEOUT * 10)) ]; do
		[ "$(discarded "$1")" -ge "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(discarded "$1")" -ge "$2" ]
}

# daemon_ticks PORT - the CPU ticks so far of the filter daemon behind
# PORT (0 for none).
daemon_ticks() {
	case $1 in
	"$AR_PORT" | "$POLICY_PORT") process_ticks "$AR_PID" ;;
	"$FROM_PORT") process_ticks "$FROM_PID" ;;
	"$DKIM_PORT") process_ticks "$DKIM_PID" ;;
	*) echo 0 ;;
	esac
}

# round PORT COUNT [RCPT] - send COUNT messages; the rate, once all
# were delivered.  The machine's CPU ticks spent meanwhile are added to
# $work/PORT.cpu, the filter daemon's to $work/PORT.daemon.
round() {
	to=${3:-$RCPT}
	find "$PF_SINK_DIR" -type f -delete
	since=$(log_size)
	d0=$(daemon_ticks "$1")
	c0=$(machine_ticks)
	t0=$(now_ms)
	# shellcheck disable=SC2086 # source_mail is two words
	smtp-source -s "$SESSIONS" -m "$2" $source_mail -f "$SENDER" \
	    -t "$to" "127.0.0.1:$1" >"$work/source.out" 2>&1 || {
		echo "smtp-source to port $1 ($(port_name "$1")) failed:" >&2
		cat "$work/source.out" >&2
		exit 1
	}
	if [ "$BENCH_DELIVERY" = discard ] && [ "$to" = "$RCPT" ]; then
		if ! wait_discarded "$since" "$2"; then
			echo "port $1 ($(port_name "$1")): $(discarded \
			    "$since") of $2 discarded" >&2
			pf_log_errors >&2 || true
			exit 1
		fi
	elif ! pf_wait_delivered "$2" "$DELIVER_TIMEOUT"; then
		echo "port $1 ($(port_name "$1")): $(pf_delivered) of $2" \
		    "delivered" >&2
		pf_log_errors >&2 || true
		exit 1
	fi
	t1=$(now_ms)
	echo "$(($(machine_ticks) - c0))" >>"$work/$1.cpu"
	echo "$(($(daemon_ticks "$1") - d0))" >>"$work/$1.daemon"
	awk -v n="$2" -v ms="$((t1 - t0))" 'BEGIN { printf "%.1f\n", n * 1000 / ms }'
}

# ms_per_message TICKS - CPU milliseconds per measured message.
ms_per_message() {
	awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$((ROUNDS * MESSAGES))" \
	    'BEGIN { printf "%.3f\n", t * 1000 / hz / n }'
}

# cpu_per_message PORT - the machine's CPU milliseconds per message in
# the measured rounds on PORT.
cpu_per_message() {
	ms_per_message "$(awk '{ t += $1 } END { print t + 0 }' "$work/$1.cpu")"
}

# daemon_sum PORT - the filter daemon's ticks in the measured rounds on
# PORT.
daemon_sum() {
	awk '{ t += $1 } END { print t + 0 }' "$work/$1.daemon"
}

# median - the median of the numbers on stdin.
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2];
		else printf "%g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Warm-up: every path once (process start-up, first connections).
for p in "$PF_PORT" "$AR_PORT" "$FROM_PORT" "$DKIM_PORT" "$POLICY_PORT"; do
	round "$p" 50 >/dev/null
done
if pf_log_errors >"$work/errors"; then
	cat "$work/errors" >&2
	exit 1
fi
# A signed run must really verify: OpenDKIM reports each result in an
# Authentication-Results field of the delivered message.
if [ "$BENCH_MAIL" = signed ]; then
	round "$DKIM_PORT" 1 "$RCPT_RELAYED" >/dev/null
	find "$PF_SINK_DIR" -type f -exec cat {} + >"$work/verified.eml"
	if ! grep -qs 'dkim=pass' "$work/verified.eml"; then
		echo "OpenDKIM did not verify the signed message:" >&2
		grep -is -A2 '^Authentication-Results' "$work/verified.eml" >&2
		exit 1
	fi
fi

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)  cpus: $(nproc)"
echo "messages: $MESSAGES per round, $SESSIONS sessions, $BENCH_MAIL," \
    "$(wc -c 2>/dev/null <"$work/signed.eml" || echo "$MSGLEN") octets," \
    "delivery: $BENCH_DELIVERY; rounds: $ROUNDS"
: >"$work/none.r"
: >"$work/ar.r"
: >"$work/dkim.r"
: >"$work/pol.r"
: >"$work/from.r"
: >"$work/rf.r"
: >"$work/rn.r"
: >"$work/rd.r"
: >"$work/rp.r"
rm -f "$work"/*.cpu "$work"/*.daemon
# rate PORT - one measured round on PORT, its rate in $work/PORT.rate.
rate() {
	round "$1" "$MESSAGES" >"$work/$1.rate"
}
r=0
while [ $r -lt "$ROUNDS" ]; do
	# The order rotates, so no configuration always runs first.
	case $((r % 5)) in
	0) order="$PF_PORT $AR_PORT $FROM_PORT $DKIM_PORT $POLICY_PORT" ;;
	1) order="$FROM_PORT $DKIM_PORT $POLICY_PORT $PF_PORT $AR_PORT" ;;
	2) order="$DKIM_PORT $POLICY_PORT $PF_PORT $AR_PORT $FROM_PORT" ;;
	3) order="$AR_PORT $FROM_PORT $DKIM_PORT $POLICY_PORT $PF_PORT" ;;
	*) order="$POLICY_PORT $PF_PORT $FROM_PORT $AR_PORT $DKIM_PORT" ;;
	esac
	for p in $order; do
		rate "$p"
	done
	n=$(cat "$work/$PF_PORT.rate")
	a=$(cat "$work/$AR_PORT.rate")
	d=$(cat "$work/$DKIM_PORT.rate")
	o=$(cat "$work/$POLICY_PORT.rate")
	f=$(cat "$work/$FROM_PORT.rate")
	echo "$f" >>"$work/from.r"
	awk -v a="$f" -v b="$a" 'BEGIN { printf "%.4f\n", a / b }' >>"$work/rf.r"
	echo "$n" >>"$work/none.r"
	echo "$a" >>"$work/ar.r"
	echo "$d" >>"$work/dkim.r"
	echo "$o" >>"$work/pol.r"
	awk -v a="$a" -v b="$n" 'BEGIN { printf "%.4f\n", a / b }' >>"$work/rn.r"
	awk -v a="$a" -v b="$d" 'BEGIN { printf "%.4f\n", a / b }' >>"$work/rd.r"
	awk -v a="$o" -v b="$n" 'BEGIN { printf "%.4f\n", a / b }' >>"$work/rp.r"
	echo "  round $((r + 1)): none=$n authready=$a fromcheck=$f" \
	    "opendkim=$d policy=$o msg/s" >&2
	r=$((r + 1))
done
ar_ticks=$(daemon_sum "$AR_PORT")
dkim_ticks=$(daemon_sum "$DKIM_PORT")
pol_ticks=$(daemon_sum "$POLICY_PORT")
from_ticks=$(daemon_sum "$FROM_PORT")
if pf_log_errors >"$work/errors"; then
	echo "milter trouble in the Postfix log:" >&2
	cat "$work/errors" >&2
	exit 1
fi
mn=$(median <"$work/none.r")
ma=$(median <"$work/ar.r")
md=$(median <"$work/dkim.r")
mo=$(median <"$work/pol.r")
mf=$(median <"$work/from.r")
hz=$(getconf CLK_TCK)
pol_ms=$(ms_per_message "$pol_ticks")
printf '%-10s %15s %22s %22s\n' config "msg/s (median)" \
    "machine CPU ms/msg" "filter CPU ms/msg"
printf '%-10s %15s %22s %22s\n' none "$mn" "$(cpu_per_message "$PF_PORT")" - \
    authready "$ma" "$(cpu_per_message "$AR_PORT")" \
    "$(ms_per_message "$ar_ticks")" \
    fromcheck "$mf" "$(cpu_per_message "$FROM_PORT")" \
    "$(ms_per_message "$from_ticks")" \
    opendkim "$md" "$(cpu_per_message "$DKIM_PORT")" \
    "$(ms_per_message "$dkim_ticks")" \
    policy "$mo" "$(cpu_per_message "$POLICY_PORT")" "$pol_ms"
echo "(filter CPU: the daemon's user+system time in the measured rounds of" \
    "its configuration, in ${hz} Hz ticks: authready $ar_ticks," \
    "fromcheck $from_ticks, opendkim $dkim_ticks, policy $pol_ticks)"
awk -v a="$ma" -v n="$mn" -v d="$md" -v o="$mo" \
    -v rn="$(median <"$work/rn.r")" -v rd="$(median <"$work/rd.r")" \
    -v rp="$(median <"$work/rp.r")" -v tn="$TARGET_NONE" \
    -v td="$TARGET_DKIM" -v tp="$TARGET_POLICY" -v pc="$pol_ms" \
    -v tc="$TARGET_POLICY_CPU" -v f="$mf" -v rf="$(median <"$work/rf.r")" \
    -v tf="$TARGET_FROM" 'BEGIN {
	printf "authready/none     %.3f (median of rounds %.3f)  target >= %s %s\n",
	    a / n, rn, tn, (a / n >= tn ? "met" : "MISSED")
	printf "authready/opendkim %.3f (median of rounds %.3f)  target >= %s %s\n",
	    a / d, rd, td, (a / d >= td ? "met" : "MISSED")
	printf "policy/none        %.3f (median of rounds %.3f)  target >= %s %s\n",
	    o / n, rp, tp, (o / n >= tp ? "met" : "MISSED")
	printf "policy daemon CPU  %s ms/msg  target <= %s %s\n",
	    pc, tc, (pc + 0 <= tc ? "met" : "MISSED")
	printf "fromcheck/authready %.3f (median of rounds %.3f)  target >= %s %s\n",
	    f / a, rf, tf, (rf >= tf ? "met" : "MISSED")
}'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# One more authready round under perf, outside the figures.
# perf_wait FILE PID - wait (at most 10 s) until perf record, PID, has
# written its data file's header: it is sampling.
perf_wait() {
	i=0
	while [ ! -s "$1" ] && kill -0 "$2" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

if [ -n "${BENCH_PERF:-}" ]; then
	perf record -a -g -o "$BENCH_PERF.data" >"$work/perf.err" 2>&1 &
	PERF_PID=$!
	perf_wait "$BENCH_PERF.data" "$PERF_PID"
	round "$AR_PORT" "$MESSAGES" >/dev/null
	kill -INT "$PERF_PID"
	wait "$PERF_PID" || cat "$work/perf.err" >&2
	perf report -i "$BENCH_PERF.data" --no-children --sort comm,dso,sym \
	    --percent-limit 0.3 --stdio -g none >"$BENCH_PERF" 2>/dev/null || :
	echo "perf report (one authready round, whole machine): $BENCH_PERF"
	# and one fromcheck round: what FromCheck adds
	perf record -a -g -o "$BENCH_PERF.from.data" >"$work/perf.err" 2>&1 &
	PERF_PID=$!
	perf_wait "$BENCH_PERF.from.data" "$PERF_PID"
	round "$FROM_PORT" "$MESSAGES" >/dev/null
	kill -INT "$PERF_PID"
	wait "$PERF_PID" || cat "$work/perf.err" >&2
	perf report -i "$BENCH_PERF.from.data" --no-children \
	    --sort comm,dso,sym --percent-limit 0.3 --stdio -g none \
	    >"$BENCH_PERF.from" 2>/dev/null || :
	echo "perf report (one fromcheck round, whole machine):" \
	    "$BENCH_PERF.from"
fi
# The policy door's connections: its event=policy-stats line at stop,
# over every message it saw (the warm-up's 50 and the measured rounds).
if [ -n "$SINK_PID" ]; then
	stop_pid "$AR_PID"
	AR_PID=
	i=0
	while ! grep -qs 'event=policy-stats' "$work/policy.stats" &&
	    [ $i -lt $START_TENTHS ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sed -n 's/.*event=policy-stats connections=\([0-9]*\) requests=\([0-9]*\).*/\1 \2/p' \
	    "$work/policy.stats" | awk -v m="$((50 + ROUNDS * MESSAGES))" '
	    NF == 2 { printf "policy door: %d connections, %d requests for %d messages: %.4f connections and %.2f requests per message\n",
		$1, $2, m, $1 / m, $2 / m; found = 1 }
	    END { if (!found) print "policy door: no event=policy-stats line" }'
else
	echo "policy door: connections per message unknown (no syslog sink)"
fi
