#!/bin/sh
# metrics.sh - authready-milter's MetricsListen: /metrics and /healthz
# scraped with curl after mail through a real Postfix.
#
# SYNOPSIS
#	make check TESTS=tests/integration/metrics.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/metrics.sh
#
# DESCRIPTION
#	NSD serves tests/zones on loopback; authready-milter runs as nobody
#	with MetricsListen on a random loopback port and FromCheck enforce
#	(the default); a private Postfix (postfix-harness.sh) uses it.
#	tests/smtp-probe sends, through Postfix:
#
#	  - three messages from example.com (verified): accepted;
#	  - two from nodkim.example.org (pending): 550 at MAIL FROM;
#	  - one from example.com whose From header is nodkim.example.org's:
#	    refused at the end of DATA, decided by the From (pending);
#	  - one from unserved.invalid (unregistered, DNS cannot answer):
#	    451 after the daemon waited for its check.
#
#	Then curl scrapes /metrics: authready_decisions_total equals the
#	messages sent, by action (accept 3, reject 3, tempfail 1) and by
#	the state that decided (verified, pending, unregistered);
#	the decision histogram counted 7 envelopes and 4 From domains;
#	the waited check, the DNS lookups it made, the domains gauge of
#	the due round (one verified, one pending), the checker's runs and
#	the held index's size are there (the replica's lag only with a
#	StoreDSN: +Inf for a second daemon whose PostgreSQL never answered);
#	the text is the Prometheus text
#	format (a HELP and a TYPE line per family, no line another
#	scraper could not parse).  /healthz is 200 while the daemon
#	serves, and 503 with the reason once the store's data.mdb is
#	removed under it; another path is 404, POST 405.
#
#	Start-up: a MetricsListen that is not an address and port, or a
#	port another program listens on, is refused (78), at -n and at
#	start; a non-loopback address written out is accepted with a
#	warning.
#
#	The cases build on each other and run in order: CASE picks the cases
#	reported, and every case still runs (lib.sh).
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 not root or NSD, Postfix or
#	curl not installed, 99 the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir, NSD (from make check); AUTHREADY,
#	AUTHREADY_MILTER and SMTP_PROBE override the binaries;
#	TIME_SCALE=N stretches every time limit N times (lib.sh).

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
RUN_TIMEOUT=$(scaled 20)
PROBE_TIMEOUT=$(scaled 30)
STOP_TENTHS=$(scaled 100)
DNS_TIMEOUT=$(scaled 2)
CHECK_WAIT=$(scaled 10)
CURL_TIMEOUT=$(scaled 10)
SHOW_LINES=40
SHOW_COLUMNS=300
SEEDMX=feedback-smtp.ap-northeast-1.amazonses.com
RCPT=someone@recipient.test

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: the private Postfix instance needs root"
	exit 77
fi
if ! command -v curl >/dev/null 2>&1; then
	echo "SKIP: curl is not installed"
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

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-metrics-test.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
LIB_OUT=$T/out
LIB_ERR=$T/err
chmod 0755 "$T"
MILTER_PID=

# cleanup - the milter (Postfix and NSD: their harnesses).
cleanup() {
	stop_pid "$MILTER_PID"
	MILTER_PID=
}

mkdir "$T/state" "$T/milter" "$T/keys" "$T/zones"
nsd_start "$top_srcdir/tests/zones" "$T/zones"
pf_start "unix:$T/milter/authready.sock"
at_exit cleanup

cp "$top_srcdir/tests/keys/rsa2048.pem" "$T/keys/"
chown -R nobody:nogroup "$T/keys"
chmod 0600 "$T/keys/rsa2048.pem"
KEY=$T/keys/rsa2048.pem
MPORT=$(pf_free_port)
URL=http://127.0.0.1:$MPORT

# conf FILE LISTEN - the milter's config with MetricsListen LISTEN.
conf() {
	cat >"$1" <<EOF
# written by metrics.sh
Socket local:$T/milter/authready.sock
UserID nobody:nogroup
SocketGroup postfix
UMask 007
Syslog no
StateDir $T/state
DNSServers 127.0.0.1:$NSD_PORT
DNSTimeout $DNS_TIMEOUT
CheckWait $CHECK_WAIT
Selector 1234rpr
MetricsListen $2
EOF
}
conf "$T/milter.conf" "127.0.0.1:$MPORT"
: >"$T/out"
: >"$T/err"

# probe_rc SENDER [FROM] - probe; the status in rc, the dialogue in out.
probe_rc() {
	last_cmd="smtp-probe 127.0.0.1 $PF_PORT <$1> <$RCPT>"
	if [ -n "${2:-}" ]; then
		timeout $((PROBE_TIMEOUT + 5)) "$SMTP_PROBE" -t \
		    "$PROBE_TIMEOUT" -F "$2" 127.0.0.1 "$PF_PORT" "$1" \
		    "$RCPT" >"$T/out" 2>"$T/err" </dev/null
	else
		timeout $((PROBE_TIMEOUT + 5)) "$SMTP_PROBE" -t \
		    "$PROBE_TIMEOUT" 127.0.0.1 "$PF_PORT" "$1" "$RCPT" \
		    >"$T/out" 2>"$T/err" </dev/null
	fi
	rc=$?
}

# fetch PATH [CURL-ARGS...] - GET PATH with curl: the body in out (and
# scrape), the headers in hdr, the HTTP status in code.
fetch() {
	p=$1
	shift
	last_cmd="curl $* $URL$p"
	code=$(curl -s -m "$CURL_TIMEOUT" -D "$T/hdr" -o "$T/out" \
	    -w '%{http_code}' "$@" "$URL$p" 2>"$T/err")
	rc=$?
	cp "$T/out" "$T/scrape" # ko empties out; the cases read this
}

# sample NAME{LABELS} - the value of one series in the last scrape ("" when
# absent).
sample() {
	awk -v s="$1" '$1 == s { print $2; exit }' "$T/scrape"
}

# sum_action ACTION - authready_decisions_total summed over the states.
sum_action() {
	awk -v a="action=\"$1\"" '
	    index($1, "authready_decisions_total{") == 1 &&
	    index($1, a) { n += $2 } END { print n + 0 }' "$T/scrape"
}

# want_sample SERIES VALUE - the series has that value.
want_sample() {
	got=$(sample "$1")
	[ "$got" = "$2" ] || ko "$1 is '$got', expected $2"
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

# The daemon, with two registered domains -------------------------------

for d in example.com nodkim.example.org; do
	case_ "register-$d"
	cli "$T/milter.conf" domain add "$d" --selector 1234rpr --key "$KEY" \
	    --mx "$SEEDMX" --spf-include amazonses.com
	[ "$rc" -eq 0 ] && ok || ko "exit $rc"
done
for d in example.com nodkim.example.org; do
	case_ "refresh-$d"
	cli "$T/milter.conf" refresh "$d"
	[ "$rc" -le 1 ] && ok || ko "exit $rc"
done
chown -R nobody:nogroup "$T/state"
chmod 0700 "$T/state"

# Start-up refusals ----------------------------------------------------

for bad in localhost:9125 127.0.0.1:0 "[::1]" 127.0.0.1:65536; do
	case_ "bad-listen-refused-$bad"
	conf "$T/bad.conf" "$bad"
	last_cmd="authready-milter -n (MetricsListen $bad)"
	"$AUTHREADY_MILTER" -c "$T/bad.conf" -n >"$T/out" 2>"$T/err" \
	    </dev/null
	rc=$?
	if [ "$rc" -ne 78 ]; then
		ko "exit status $rc, expected 78"
	elif ! grep -q 'MetricsListen' "$T/err"; then
		ko "the refusal does not name MetricsListen"
	else
		ok
	fi
done

case_ wide-listen-warns
conf "$T/wide.conf" "0.0.0.0:$MPORT"
last_cmd="authready-milter -n (MetricsListen 0.0.0.0)"
"$AUTHREADY_MILTER" -c "$T/wide.conf" -n >"$T/out" 2>"$T/err" </dev/null
rc=$?
if [ "$rc" -ne 0 ]; then
	ko "exit status $rc, expected 0"
elif ! grep -q 'MetricsListen is not a loopback address' "$T/err"; then
	ko "no warning about the address"
else
	ok
fi

case_ busy-port-refused-at-start
# Postfix's smtpd listens on PF_PORT: the daemon cannot have it.
conf "$T/busy.conf" "127.0.0.1:$PF_PORT"
last_cmd="authready-milter -f (MetricsListen on Postfix's port)"
timeout "$RUN_TIMEOUT" "$AUTHREADY_MILTER" -c "$T/busy.conf" -f \
    >"$T/out" 2>"$T/err" </dev/null
rc=$?
if [ "$rc" -ne 78 ]; then
	ko "exit status $rc, expected 78"
elif ! grep -q "MetricsListen 127.0.0.1:$PF_PORT: Address already in use" \
    "$T/err"; then
	ko "the refusal does not say why"
elif [ -e "$T/milter/authready.sock" ]; then
	ko "the failed start left its socket"
else
	ok
fi

"$AUTHREADY_MILTER" -c "$T/milter.conf" -f </dev/null >"$T/milter.out" \
    2>"$T/milter.log" &
MILTER_PID=$!
# milter_ready - the daemon has logged event=start (its metrics serve).
milter_ready() {
	test -S "$T/milter/authready.sock" &&
	    grep -q 'event=start ' "$T/milter.log"
}
# due_round_done - the checker's first due round has counted the domains.
due_round_done() {
	fetch /metrics
	[ "$(sample 'authready_refresh_rounds_total{kind="due"}')" -ge 1 ] \
	    2>/dev/null
}

case_ milter-start
if wait_for 10 milter_ready; then
	ok
else
	ko "not started: $(cat "$T/milter.log")"
	exit 1
fi

case_ healthz-ok
fetch /healthz
if [ "$rc" -ne 0 ]; then
	ko "curl exit $rc"
elif [ "$code" != 200 ]; then
	ko "status $code, expected 200"
elif [ "$(cat "$T/out")" != ok ]; then
	ko "body '$(cat "$T/out")', expected ok"
else
	ok
fi

case_ metrics-before-mail
fetch /metrics
if [ "$rc" -ne 0 ] || [ "$code" != 200 ]; then
	ko "curl exit $rc, status $code"
elif ! grep -q -i '^Content-Type: text/plain; version=0.0.4' "$T/hdr"; then
	ko "not the text format 0.0.4: $(grep -i content-type "$T/hdr")"
elif [ "$(sum_action accept)" != 0 ] || [ "$(sum_action reject)" != 0 ]; then
	ko "decisions counted before any mail"
else
	ok
fi

case_ domains-gauge-after-due-round
if ! wait_for 20 due_round_done; then
	ko "no due round counted"
else
	want_sample \
	    'authready_domains{registration="registered",state="verified"}' 1 &&
	    want_sample \
		'authready_domains{registration="registered",state="pending"}' \
		1 && ok
fi

# Mail through Postfix ------------------------------------------------

case_ mail-sent
fails=
for i in 1 2 3; do
	probe_rc "bounces@mail.example.com"
	[ "$rc" -eq 0 ] || fails="$fails accepted-$i:$rc"
done
for i in 1 2; do
	probe_rc "x@nodkim.example.org"
	[ "$rc" -eq 1 ] && grep -q '^< 550 5\.7\.1 ' "$T/out" ||
	    fails="$fails pending-$i:$rc"
done
probe_rc "bounces@mail.example.com" "Boss <boss@nodkim.example.org>"
[ "$rc" -eq 1 ] && grep -q '^< 550 ' "$T/out" || fails="$fails from:$rc"
probe_rc "someone@mail.unserved.invalid"
[ "$rc" -eq 1 ] && grep -q '^< 451 4\.4\.3 ' "$T/out" ||
    fails="$fails unregistered:$rc"
if [ -n "$fails" ]; then
	ko "unexpected replies:$fails"
else
	ok
fi

case_ decisions-equal-messages-by-action
fetch /metrics
a=$(sum_action accept)
r=$(sum_action reject)
t=$(sum_action tempfail)
o=$(($(sum_action quarantine) + $(sum_action tag) + $(sum_action monitor)))
if [ "$a/$r/$t/$o" != 3/3/1/0 ]; then
	ko "accept/reject/tempfail/other are $a/$r/$t/$o, expected 3/3/1/0"
else
	ok
fi

case_ decisions-by-state
want_sample 'authready_decisions_total{action="accept",state="verified"}' 3 &&
    want_sample \
	'authready_decisions_total{action="reject",state="pending"}' 3 &&
    want_sample \
	'authready_decisions_total{action="tempfail",state="unregistered"}' \
	1 && ok

case_ decision-histogram
want_sample \
    'authready_decision_duration_seconds_count{identity="envelope"}' 7 &&
    want_sample \
	'authready_decision_duration_seconds_count{identity="from"}' 4 &&
    want_sample \
	'authready_decision_duration_seconds_bucket{identity="envelope",le="+Inf"}' \
	7 && ok

case_ check-wait-counted
w=$(($(sample 'authready_check_waits_total{outcome="answered"}') +
    $(sample 'authready_check_waits_total{outcome="timed_out"}')))
[ "$w" -eq 1 ] && ok || ko "check waits: $w, expected 1"

case_ dns-and-runs-counted
q=$(awk 'index($1, "authready_dns_queries_total{") == 1 { n += $2 }
    END { print n + 0 }' "$T/scrape")
reqs=$(sample 'authready_refresh_rounds_total{kind="requests"}')
if [ "$q" -lt 1 ]; then
	ko "no DNS lookup counted"
elif [ "${reqs:-0}" -lt 1 ]; then
	ko "no run of requests counted"
else
	want_sample 'authready_held_messages' 0 &&
	    want_sample 'authready_log_lines_dropped_total' 0 && ok
fi

case_ text-format-parses
# Every line: a comment (# HELP / # TYPE NAME TYPE) or NAME{LABELS} VALUE;
# one HELP and one TYPE per family, before its samples.
bad=$(awk '
    /^# HELP / { help[$3]++; next }
    /^# TYPE / { if ($4 !~ /^(counter|gauge|histogram)$/) { print; exit }
	type[$3]++; next }
    /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eE]+(Inf)?$/ {
	n = $1; sub(/\{.*/, "", n)
	b = n; sub(/_(bucket|sum|count)$/, "", b)
	if (!(n in type) && !(b in type)) { print "no TYPE before: " $0; exit }
	next }
    { print "unparsable: " $0; exit }
    END { for (f in help) if (help[f] != 1 || type[f] != 1) print "twice: " f }
' "$T/scrape")
[ -z "$bad" ] && ok || ko "$bad"

case_ not-found-and-method
fetch /nowhere
c1=$code
fetch /metrics -X POST
if [ "$c1" != 404 ]; then
	ko "/nowhere: $c1, expected 404"
elif [ "$code" != 405 ]; then
	ko "POST /metrics: $code, expected 405"
elif ! grep -q -i '^Allow: GET, HEAD' "$T/hdr"; then
	ko "no Allow header"
else
	ok
fi

case_ replica-lag
# Without StoreDSN there is no lag; with a StoreDSN whose PostgreSQL
# never answered (nobody listens on its port) the lag is +Inf.
if grep -q '^authready_replica_lag_seconds' "$T/scrape"; then
	ko "a replica lag without StoreDSN"
else
	mkdir "$T/state2"
	chown nobody:nogroup "$T/state2"
	RPORT=$(pf_free_port)
	sed -e "s|^Socket .*|Socket local:$T/milter/replica.sock|" \
	    -e "s|^StateDir .*|StateDir $T/state2|" \
	    -e "s|^MetricsListen .*|MetricsListen 127.0.0.1:$RPORT|" \
	    -e '/^SocketGroup/d' "$T/milter.conf" >"$T/replica.conf"
	echo "StoreDSN postgresql://authready@127.0.0.1:$(pf_free_port)/x" \
	    >>"$T/replica.conf"
	"$AUTHREADY_MILTER" -c "$T/replica.conf" -f </dev/null \
	    >/dev/null 2>"$T/replica.log" &
	R_PID=$!
	replica_ready() {
		grep -q 'event=start ' "$T/replica.log"
	}
	if ! wait_for 10 replica_ready; then
		ko "the StoreDSN daemon did not start: $(cat "$T/replica.log")"
	else
		URL=http://127.0.0.1:$RPORT
		fetch /metrics
		URL=http://127.0.0.1:$MPORT
		want_sample authready_replica_lag_seconds +Inf && ok
	fi
	stop_pid "$R_PID"
fi

case_ healthz-503-store-removed
rm -f "$T/state/data.mdb"
fetch /healthz
if [ "$code" != 503 ]; then
	ko "status $code, expected 503"
elif ! grep -q "^unavailable: the state store $T/state/data.mdb was removed" \
    "$T/out"; then
	ko "no reason: $(cat "$T/out")"
else
	ok
fi

case_ postfix-log-clean
if pf_log_errors >"$T/out"; then
	ko "milter errors in the Postfix log"
else
	ok
fi

case_ milter-stops-cleanly
last_cmd="kill -TERM authready-milter"
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
	elif curl -s -m 2 -o /dev/null "$URL/healthz"; then
		ko "the metrics port still answers after the stop"
	else
		ok
	fi
fi

finish
