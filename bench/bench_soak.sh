#!/bin/sh
# bench_soak.sh - authready-milter under continuous Postfix load: does its
# memory or its count of open files grow?
#
# SYNOPSIS
#	bench/bench_soak.sh BUILDDIR [MINUTES]
#
# DESCRIPTION
#	NSD serves tests/zones on loopback; example.com is registered and
#	verified; authready-milter (UserID nobody, unix socket, Syslog no,
#	its log on a file) sits in a private Postfix instance
#	(tests/integration/postfix-harness.sh) that relays to an smtp-sink.
#	For MINUTES minutes (default 5), smtp-source sends batches of
#	BATCH messages (SESSIONS sessions at once, one message a session,
#	MAIL FROM bounces@mail.example.com) back to back, and the daemon gets
#	a SIGUSR1 (config reload) every RELOAD_EVERY seconds.
#
#	Every SAMPLE_EVERY seconds the daemon's VmRSS, VmSize, thread count
#	(/proc/PID/status) and open descriptors (/proc/PID/fd) are sampled.
#	The report compares the first minute with the last (with fewer than
#	three minutes: the first third with the last): the mean of each
#	figure and its growth, the messages delivered and the rate.  The
#	samples are kept in SAMPLES (a file) when it is set.
#
#	The first minute includes the warm-up (thread stacks, LMDB pages,
#	allocator arenas); a leak shows as growth between the first and the
#	last minute that keeps rising with MINUTES.
#
# ENVIRONMENT
#	SESSIONS (default 100), BATCH (2000), MSGLEN (1024), SAMPLE_EVERY
#	(5), RELOAD_EVERY (10), SAMPLES (a file for the raw samples).
#
# EXIT STATUS
#	0 the run completed, 1 an error (the daemon died, nothing was
#	delivered), 77 not root or no Postfix (the harness's skip).
set -u
LC_ALL=C
export LC_ALL
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: bench_soak.sh BUILDDIR [MINUTES]}" && pwd)
MINUTES=${2:-5}
SESSIONS=${SESSIONS:-100}
BATCH=${BATCH:-2000}
MSGLEN=${MSGLEN:-1024}
SAMPLE_EVERY=${SAMPLE_EVERY:-5}
RELOAD_EVERY=${RELOAD_EVERY:-10}
AUTHREADY=$build/authready
AUTHREADY_MILTER=$build/authready-milter
SEEDMX=feedback-smtp.ap-northeast-1.amazonses.com

for b in "$AUTHREADY" "$AUTHREADY_MILTER"; do
	[ -x "$b" ] || { echo "bench_soak: $b not built" >&2; exit 1; }
done
[ -x /usr/sbin/smtp-source ] ||
    { echo "bench_soak: smtp-source not found" >&2; exit 77; }

# shellcheck source=tests/integration/nsd-harness.sh
. "$top/tests/integration/nsd-harness.sh"
# shellcheck source=tests/integration/postfix-harness.sh
. "$top/tests/integration/postfix-harness.sh"
pf_find

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-soak.XXXXXX") || exit 1
chmod 0755 "$T"
MPID=
LOADPID=

# cleanup - the load, the daemon, Postfix, NSD, the scratch directory.
cleanup() {
	if [ -n "$LOADPID" ]; then
		children=$(pgrep -P "$LOADPID" 2>/dev/null || true)
		kill "$LOADPID" 2>/dev/null
		wait "$LOADPID" 2>/dev/null
		for p in $children; do
			kill "$p" 2>/dev/null
		done
	fi
	if [ -n "$MPID" ]; then
		kill -TERM "$MPID" 2>/dev/null
		i=0
		while kill -0 "$MPID" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$MPID" 2>/dev/null
		wait "$MPID" 2>/dev/null
	fi
	pf_cleanup
	nsd_cleanup
	rm -rf "$T"
}

mkdir "$T/state" "$T/milter"
nsd_start "$top/tests/zones"
pf_start "unix:$T/milter/authready.sock"
trap 'cleanup' EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
pf_postconf "default_process_limit = $((SESSIONS + 100))" \
    "smtpd_client_connection_count_limit = 0" "in_flow_delay = 0"
pf_reload

cp "$top/tests/keys/rsa2048.pem" "$T/key.pem"
chmod 0644 "$T/key.pem"
cat >"$T/milter.conf" <<EOF
# written by bench_soak.sh
Socket local:$T/milter/authready.sock
UserID nobody:nogroup
SocketGroup postfix
UMask 007
Syslog no
FromCheck off
StateDir $T/state
DNSServers 127.0.0.1:$NSD_PORT
DNSTimeout 2
EOF
chmod 0644 "$T/milter.conf"
"$AUTHREADY" -c "$T/milter.conf" domain add example.com --selector 1234rpr \
    --key "$T/key.pem" --mx "$SEEDMX" --spf-include amazonses.com \
    >/dev/null || exit 1
"$AUTHREADY" -c "$T/milter.conf" refresh example.com >/dev/null || exit 1
chown -R nobody:nogroup "$T/state"
chmod 0700 "$T/state"

"$AUTHREADY_MILTER" -c "$T/milter.conf" -f </dev/null >/dev/null \
    2>"$T/milter.log" &
MPID=$!
i=0
while [ $i -lt 100 ] && ! grep -q 'event=start ' "$T/milter.log"; do
	sleep 0.1
	i=$((i + 1))
done
grep -q 'event=start ' "$T/milter.log" ||
    { cat "$T/milter.log" >&2; exit 1; }

# load - smtp-source batches, back to back, until killed.
load() {
	while :; do
		/usr/sbin/smtp-source -s "$SESSIONS" -m "$BATCH" -l "$MSGLEN" \
		    -f bounces@mail.example.com -t someone@recipient.test \
		    "127.0.0.1:$PF_PORT" </dev/null >/dev/null \
		    2>>"$T/source.err"
	done
}

# sample T - "T RSS_KB VSZ_KB THREADS FDS ANON_KB FILE_KB" of the daemon
# (RssAnon is heap and stacks; RssFile is mapped files, the LMDB map).
sample() {
	awk -v t="$1" -v fds="$(ls "/proc/$MPID/fd" | wc -l)" '
	    /^VmRSS:/ { rss = $2 } /^VmSize:/ { vsz = $2 }
	    /^Threads:/ { thr = $2 }
	    /^RssAnon:/ { anon = $2 } /^RssFile:/ { file = $2 }
	    END { print t, rss, vsz, thr, fds, anon, file }' \
	    "/proc/$MPID/status"
}

load &
LOADPID=$!
start=$(date +%s)
end=$((start + MINUTES * 60))
next_reload=$((start + RELOAD_EVERY))
: >"$T/samples"
echo "bench_soak: $MINUTES minute(s), $SESSIONS sessions at once," \
    "sampling every ${SAMPLE_EVERY}s" >&2
while [ "$(date +%s)" -lt $end ]; do
	now=$(date +%s)
	if ! kill -0 "$MPID" 2>/dev/null; then
		echo "bench_soak: the daemon died:" >&2
		tail -n 5 "$T/milter.log" >&2
		exit 1
	fi
	sample $((now - start)) >>"$T/samples"
	if [ "$now" -ge $next_reload ]; then
		kill -USR1 "$MPID"
		next_reload=$((now + RELOAD_EVERY))
	fi
	sleep "$SAMPLE_EVERY"
done
# The load loop, then the smtp-source it runs (by PID).
children=$(pgrep -P "$LOADPID" 2>/dev/null || true)
kill "$LOADPID" 2>/dev/null
wait "$LOADPID" 2>/dev/null
LOADPID=
for p in $children; do
	kill "$p" 2>/dev/null
done
elapsed=$(($(date +%s) - start))
delivered=$(pf_delivered)
[ -n "${SAMPLES:-}" ] && cp "$T/samples" "$SAMPLES"

# The window: the first and the last minute, or thirds of a short run.
if [ "$MINUTES" -ge 3 ]; then
	win=60
else
	win=$((MINUTES * 20))
fi
awk -v win="$win" -v total="$elapsed" -v n="$delivered" \
    -v reloads="$(grep -c 'event=reload config=' "$T/milter.log")" \
    -v failed="$(grep -c -E 'warning:.*milter|fatal:|panic:' "$PF_LOG")" '
    {
	if ($1 < win) { a++; ar += $2; av += $3; at += $4; af += $5
		aa += $6; ai += $7 }
	if ($1 >= total - win) { b++; br += $2; bv += $3; bt += $4; bf += $5
		ba += $6; bi += $7 }
	if ($2 > maxr) maxr = $2
	if ($5 > maxf) maxf = $5
    }
    END {
	if (a == 0 || b == 0) { print "bench_soak: too few samples"; exit 1 }
	printf "run: %d s, %d messages delivered (%.0f/s), %d reloads, " \
	    "%d Postfix milter warnings\n", total, n, n / total, reloads, failed
	printf "%-12s %12s %12s %10s\n", "", "first", "last", "growth"
	printf "%-12s %12.0f %12.0f %+10.0f\n", "RSS kB", ar / a, br / b,
	    br / b - ar / a
	printf "%-12s %12.0f %12.0f %+10.0f\n", "  anon kB", aa / a, ba / b,
	    ba / b - aa / a
	printf "%-12s %12.0f %12.0f %+10.0f\n", "  file kB", ai / a, bi / b,
	    bi / b - ai / a
	printf "%-12s %12.0f %12.0f %+10.0f\n", "VmSize kB", av / a, bv / b,
	    bv / b - av / a
	printf "%-12s %12.1f %12.1f %+10.1f\n", "threads", at / a, bt / b,
	    bt / b - at / a
	printf "%-12s %12.1f %12.1f %+10.1f\n", "open fds", af / a, bf / b,
	    bf / b - af / a
	printf "peak RSS %d kB, peak fds %d; window %d s, %d and %d samples\n",
	    maxr, maxf, win, a, b
    }' "$T/samples"
[ "$delivered" -gt 0 ]
