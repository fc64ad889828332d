#!/bin/sh
# bench_sendmail.sh - Sendmail end-to-end messages per second with
# authready-milter, without a milter, and with OpenDKIM verifying.
#
# SYNOPSIS
#	bench/bench_sendmail.sh BUILDDIR
#
# DESCRIPTION
#	bench_postfix.sh for Sendmail 8.17.  One private Sendmail instance
#	(tests/integration/sendmail-harness.sh: Debian's sendmail-bin
#	unpacked, never installed; SMART_HOST an smtp-sink that writes each
#	message to a file) with three listeners (DAEMON_OPTIONS) that differ
#	only in their InputMailFilters:
#	  none       no milter;
#	  authready  authready-milter on a unix socket (UserID nobody,
#	             Syslog yes, SyslogFacility mail, FromCheck
#	             $BENCH_FROMCHECK), example.com registered and verified
#	             against NSD; the filter line of
#	             contrib/sendmail.mc.snippet (F=T and its timeouts);
#	  opendkim   OpenDKIM (Debian package, installed when missing) in
#	             verify mode on a unix socket, as in bench_postfix.sh,
#	             with the same F=T and timeouts.
#	Both filters are defined with MAIL_FILTER and named per listener, so
#	each message passes through one milter at most.  Each round sends
#	MESSAGES messages with smtp-source (SESSIONS parallel sessions, one
#	message each, MAIL FROM bounces@mail.example.com, the message signed
#	by example.com with bench/dkim_sign.c) to one listener and waits until
#	the sink has all of them; rate = messages / (last delivery - start).
#	The three run in turn, ROUNDS times, in an order that rotates each
#	round.  Prints the median rate of each and the ratios
#	authready/none (target >= 0.9) and authready/opendkim (target > 1),
#	of the medians and as the median of per-round ratios; and, beside
#	the rates, what each configuration costs in CPU, as bench_postfix.sh
#	prints it: the whole machine's CPU time per message in its rounds
#	(/proc/stat: everything on the machine, other work included) and
#	the filter daemon's own user+system time per message
#	(/proc/PID/stat); and the mail path's CPU per message: Sendmail (the
#	daemon with the session and delivery processes it reaped, cutime
#	and cstime), the sink and the filter daemon, with the ratio of
#	none's to authready's.  On a machine shared with other work the
#	rates and the machine's CPU swing from round to round; the mail
#	path's CPU counts only the processes of the run, so it is the
#	steadier figure of what the filter costs.
#
#	FromCheck: off by default, as in bench_postfix.sh: the MAIL FROM
#	path of issue 17's target (three milter round trips a session:
#	negotiation, MAIL FROM, end of message).  BENCH_FROMCHECK=enforce
#	measures the From check as well (the headers, without replies, and
#	one more round trip at end of headers).
#
#	Both milters log through syslog(3); without a syslog daemon a sink
#	is started on /dev/log for the run, as in bench_postfix.sh (Sendmail
#	logs there too).
#
# ENVIRONMENT
#	ROUNDS (default 3), MESSAGES (200), SESSIONS (8), MSGLEN (2048),
#	BENCH_SYSLOG (sink or none), BENCH_FROMCHECK (off, monitor or
#	enforce; default off), BENCH_PERF (a file: one more authready round
#	after the figures with authready-milter alone under perf record -g,
#	the report to FILE, the data to FILE.data: where the daemon's CPU
#	goes, apart from the other work on the machine),
#	OPENDKIM (default /usr/sbin/opendkim),
#	SENDMAIL_DEBS, SENDMAIL_ROOT (sendmail-harness.sh).
#
# EXIT STATUS
#	0 the run completed (whether or not the targets were met), 1 an
#	error, 77 not root or no Sendmail (the harness's skip).
set -eu
LC_ALL=C
export LC_ALL
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: bench_sendmail.sh BUILDDIR}" && pwd)
ROUNDS=${ROUNDS:-3}
MESSAGES=${MESSAGES:-200}
SESSIONS=${SESSIONS:-8}
MSGLEN=${MSGLEN:-2048}
BENCH_SYSLOG=${BENCH_SYSLOG:-sink}
BENCH_FROMCHECK=${BENCH_FROMCHECK:-off}
OPENDKIM=${OPENDKIM:-/usr/sbin/opendkim}
TARGET_NONE=0.9
TARGET_DKIM=1.0
START_TENTHS=100
DELIVER_TIMEOUT=300
SENDER=bounces@mail.example.com
RCPT=user@dest.example
top_srcdir=$top
top_builddir=$build
SENDMAIL_DEBS=${SENDMAIL_DEBS:-$build/sendmail-debs}
export SENDMAIL_DEBS

authready=$build/authready
milter=$build/authready-milter
for p in "$authready" "$milter"; do
	[ -x "$p" ] || { echo "no $p; build first" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root" >&2; exit 77; }
if [ ! -x "$OPENDKIM" ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends opendkim >/dev/null
fi

# lib.sh: at_exit, stop_pid, scaled (the harness needs them).
set +u
# shellcheck source=../tests/integration/lib.sh
. "$top/tests/integration/lib.sh"
set -u
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-sendmail.XXXXXX")
chmod 0755 "$work"
at_exit '[ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"'
AR_PID=
DKIM_PID=
SINK_PID=

# cleanup - the milters and the syslog sink.
cleanup() {
	stop_pid "$AR_PID" "$DKIM_PID" "$SINK_PID"
	[ -z "$SINK_PID" ] || rm -f /dev/log
}

# shellcheck source=../tests/integration/nsd-harness.sh
. "$top/tests/integration/nsd-harness.sh"
# shellcheck source=../tests/integration/sendmail-harness.sh
. "$top/tests/integration/sendmail-harness.sh"

# syslog_sink - a datagram reader on /dev/log when no daemon has one.
syslog_sink() {
	[ "$BENCH_SYSLOG" = sink ] || return 0
	[ ! -e /dev/log ] || return 0
	sink=$build/bench/syslog_sink
	if [ ! -x "$sink" ]; then
		sink=$work/syslog_sink
		gcc -std=c11 -O2 -o "$sink" "$top/bench/syslog_sink.c"
	fi
	"$sink" /dev/log "$work/sink.count" &
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

# tree_ticks PID - process_ticks with the children PID reaped (cutime,
# cstime).
tree_ticks() {
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 + $14 + $15 }'
}

# median - the median of the numbers on stdin.
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

sm_find
nsd_start "$top/tests/zones" 2>/dev/null
at_exit cleanup
syslog_sink

# authready-milter, example.com verified.
mkdir -p "$work/sock" "$work/state"
cat >"$work/authready.conf" <<EOF
DNSServers 127.0.0.1:$NSD_PORT
StateDir $work/state
Socket unix:$work/sock/authready.sock
UserID nobody:nogroup
SocketGroup nogroup
Syslog yes
SyslogFacility mail
FromCheck $BENCH_FROMCHECK
EOF
"$authready" -c "$work/authready.conf" domain add example.com \
    --selector 1234rpr --key "$top/tests/keys/rsa2048.pem" >/dev/null
"$authready" -c "$work/authready.conf" refresh example.com >/dev/null
chown -R nobody:nogroup "$work/state"
"$milter" -f -c "$work/authready.conf" 2>"$work/milter.err" &
AR_PID=$!
wait_file "$work/sock/authready.sock" "$AR_PID" ||
    { cat "$work/milter.err" >&2; exit 1; }

signer=$build/bench/dkim_sign
if [ ! -x "$signer" ]; then
	signer=$work/dkim_sign
	gcc -std=c11 -O2 -o "$signer" "$top/bench/dkim_sign.c" -lopendkim
fi
"$signer" "$top/tests/keys/rsa2048.pem" 1234rpr example.com "$MSGLEN" \
    >"$work/signed.eml"

# OpenDKIM, verify only (as in bench_postfix.sh).
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

# One Sendmail, three listeners; the snippet's flags and timeouts.
flags=$(sed -n 's/.*\(F=T, T=[^'"'"']*\).*/\1/p' \
    "$top/contrib/sendmail.mc.snippet")
[ -n "$flags" ] || { echo "no F= in the snippet" >&2; exit 1; }
AR_PORT=$(sm_free_port)
DKIM_PORT=$(sm_free_port)
SM_MC_EXTRA="MAIL_FILTER(\`authready', \`S=local:$work/sock/authready.sock, $flags')dnl
MAIL_FILTER(\`opendkim', \`S=local:$work/dkim/opendkim.sock, $flags')dnl
DAEMON_OPTIONS(\`Port=$AR_PORT, Addr=127.0.0.1, Name=AR, InputMailFilters=authready')dnl
DAEMON_OPTIONS(\`Port=$DKIM_PORT, Addr=127.0.0.1, Name=DKIM, InputMailFilters=opendkim')dnl
define(\`confMAX_DAEMON_CHILDREN', \`0')dnl
define(\`confQUEUE_LA', \`1000')dnl
define(\`confREFUSE_LA', \`1000')dnl
define(\`confDELAY_LA', \`0')dnl
define(\`confCONNECTION_RATE_THROTTLE', \`0')dnl"
sm_start "" 2>/dev/null
i=0
until sm_port_busy "$AR_PORT" && sm_port_busy "$DKIM_PORT"; do
	i=$((i + 1))
	[ $i -lt $START_TENTHS ] || { echo "listeners did not start" >&2; exit 1; }
	sleep 0.1
done

# port_name PORT - which configuration listens on PORT.
port_name() {
	case $1 in
	"$SM_PORT") echo none ;;
	"$AR_PORT") echo authready ;;
	"$DKIM_PORT") echo opendkim ;;
	*) echo unknown ;;
	esac
}

# daemon_ticks PORT - the CPU ticks so far of the filter daemon behind
# PORT (0 for none).
daemon_ticks() {
	case $1 in
	"$AR_PORT") process_ticks "$AR_PID" ;;
	"$DKIM_PORT") process_ticks "$DKIM_PID" ;;
	*) echo 0 ;;
	esac
}

# wait_delivered COUNT - true once the sink has COUNT messages.
wait_delivered() {
	i=0
	while [ $i -lt $((DELIVER_TIMEOUT * 10)) ]; do
		[ "$(sm_delivered)" -ge "$1" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(sm_delivered)" -ge "$1" ]
}

# round PORT COUNT - send COUNT messages; the rate, once all arrived.
# The machine's CPU ticks spent meanwhile are added to $work/PORT.cpu,
# the filter daemon's to $work/PORT.daemon.
round() {
	find "$SM_SINK_DIR" -type f -delete
	d0=$(daemon_ticks "$1")
	c0=$(machine_ticks)
	m0=$(($(tree_ticks "$SM_PID") + $(process_ticks "$SM_SINK_PID")))
	t0=$(now_ms)
	smtp-source -s "$SESSIONS" -m "$2" -F "$work/signed.eml" \
	    -f "$SENDER" -t "$RCPT" "127.0.0.1:$1" >"$work/source.out" 2>&1 || {
		echo "smtp-source to port $1 ($(port_name "$1")) failed:" >&2
		cat "$work/source.out" >&2
		exit 1
	}
	if ! wait_delivered "$2"; then
		echo "port $1 ($(port_name "$1")): $(sm_delivered) of $2" \
		    "delivered" >&2
		exit 1
	fi
	t1=$(now_ms)
	echo "$(($(machine_ticks) - c0))" >>"$work/$1.cpu"
	echo "$(($(daemon_ticks "$1") - d0))" >>"$work/$1.daemon"
	echo "$(($(tree_ticks "$SM_PID") + $(process_ticks "$SM_SINK_PID") + \
	    $(daemon_ticks "$1") - d0 - m0))" >>"$work/$1.path"
	awk -v n="$2" -v ms="$((t1 - t0))" 'BEGIN { printf "%.1f\n", n * 1000 / ms }'
}

# ms_per_message PORT FILE - CPU milliseconds per measured message, from
# the ticks in $work/PORT.FILE.
ms_per_message() {
	awk -v hz="$(getconf CLK_TCK)" -v n="$((ROUNDS * MESSAGES))" \
	    '{ t += $1 } END { printf "%.3f\n", t * 1000 / hz / n }' \
	    "$work/$1.$2"
}

# Warm-up; then proof that the OpenDKIM listener verifies (dkim=pass in
# its Authentication-Results field).
for p in "$SM_PORT" "$AR_PORT" "$DKIM_PORT"; do
	round "$p" 20 >/dev/null
done
round "$DKIM_PORT" 1 >/dev/null
# smtp-sink creates the file when the session starts: wait for the text.
i=0
until find "$SM_SINK_DIR" -type f -exec cat {} + | grep -qs 'dkim=pass'; do
	i=$((i + 1))
	if [ $i -ge $START_TENTHS ]; then
		echo "OpenDKIM did not verify the signed message:" >&2
		find "$SM_SINK_DIR" -type f -exec cat {} + | sed -n '1,/^$/p' >&2
		exit 1
	fi
	sleep 0.1
done

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)  cpus: $(nproc)"
echo "sendmail 8.17; messages: $MESSAGES per round, $SESSIONS sessions," \
    "signed, $(wc -c <"$work/signed.eml") octets; rounds: $ROUNDS;" \
    "authready FromCheck $BENCH_FROMCHECK"
# the warm-up's ticks are not measured
for p in "$SM_PORT" "$AR_PORT" "$DKIM_PORT"; do
	: >"$work/$p.cpu"
	: >"$work/$p.daemon"
	: >"$work/$p.path"
done
: >"$work/none.r"
: >"$work/ar.r"
: >"$work/dkim.r"
: >"$work/rn.r"
: >"$work/rd.r"
r=0
while [ $r -lt "$ROUNDS" ]; do
	case $((r % 3)) in
	0)
		n=$(round "$SM_PORT" "$MESSAGES")
		a=$(round "$AR_PORT" "$MESSAGES")
		d=$(round "$DKIM_PORT" "$MESSAGES")
		;;
	1)
		a=$(round "$AR_PORT" "$MESSAGES")
		d=$(round "$DKIM_PORT" "$MESSAGES")
		n=$(round "$SM_PORT" "$MESSAGES")
		;;
	*)
		d=$(round "$DKIM_PORT" "$MESSAGES")
		n=$(round "$SM_PORT" "$MESSAGES")
		a=$(round "$AR_PORT" "$MESSAGES")
		;;
	esac
	echo "$n" >>"$work/none.r"
	echo "$a" >>"$work/ar.r"
	echo "$d" >>"$work/dkim.r"
	awk -v a="$a" -v b="$n" 'BEGIN { printf "%.4f\n", a / b }' >>"$work/rn.r"
	awk -v a="$a" -v b="$d" 'BEGIN { printf "%.4f\n", a / b }' >>"$work/rd.r"
	echo "  round $((r + 1)): none=$n authready=$a opendkim=$d msg/s" >&2
	r=$((r + 1))
done
mn=$(median <"$work/none.r")
ma=$(median <"$work/ar.r")
md=$(median <"$work/dkim.r")
printf '%-10s %15s %19s %19s %18s\n' config "msg/s (median)" \
    "machine CPU ms/msg" "mail path ms/msg" "filter CPU ms/msg"
printf '%-10s %15s %19s %19s %18s\n' \
    none "$mn" "$(ms_per_message "$SM_PORT" cpu)" \
    "$(ms_per_message "$SM_PORT" path)" - \
    authready "$ma" "$(ms_per_message "$AR_PORT" cpu)" \
    "$(ms_per_message "$AR_PORT" path)" \
    "$(ms_per_message "$AR_PORT" daemon)" \
    opendkim "$md" "$(ms_per_message "$DKIM_PORT" cpu)" \
    "$(ms_per_message "$DKIM_PORT" path)" \
    "$(ms_per_message "$DKIM_PORT" daemon)"
awk -v n="$(ms_per_message "$SM_PORT" path)" \
    -v a="$(ms_per_message "$AR_PORT" path)" \
    -v d="$(ms_per_message "$DKIM_PORT" path)" 'BEGIN {
	printf "mail path CPU: none/authready %.3f, opendkim/authready %.3f" \
	    " (the rate ratio a CPU-bound host would see)\n", n / a, d / a
}'
awk -v a="$ma" -v n="$mn" -v d="$md" -v rn="$(median <"$work/rn.r")" \
    -v rd="$(median <"$work/rd.r")" -v tn="$TARGET_NONE" \
    -v td="$TARGET_DKIM" 'BEGIN {
	printf "authready/none     %.3f (median of rounds %.3f)  target >= %s %s\n",
	    a / n, rn, tn, (a / n >= tn ? "met" : "MISSED")
	printf "authready/opendkim %.3f (median of rounds %.3f)  target > %s %s\n",
	    a / d, rd, td, (a / d > td ? "met" : "MISSED")
}'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
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
	perf record -g -p "$AR_PID" -o "$BENCH_PERF.data" \
	    >"$work/perf.err" 2>&1 &
	PERF_PID=$!
	perf_wait "$BENCH_PERF.data" "$PERF_PID"
	round "$AR_PORT" "$MESSAGES" >/dev/null
	kill -INT "$PERF_PID"
	wait "$PERF_PID" || cat "$work/perf.err" >&2
	perf report -i "$BENCH_PERF.data" --no-children --sort dso,sym \
	    --percent-limit 0.5 --stdio -g none >"$BENCH_PERF" 2>/dev/null || :
	echo "perf report (authready-milter, one round): $BENCH_PERF"
fi
