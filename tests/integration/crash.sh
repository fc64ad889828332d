#!/bin/sh
# crash.sh - kill -9 at random points: the store stays sound, no committed
# update is lost, and the daemon serves again at once.
#
# SYNOPSIS
#	make check TESTS=tests/integration/crash.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/crash.sh
#	CRASH_KILLS=400 CRASH_DAEMON_KILLS=100 ...crash.sh
#
# DESCRIPTION
#	NSD serves tests/zones and crash.test, a zone of this test with
#	CRASH_DOMAINS (300) registered domains dN.crash.test.  The zone has
#	two versions: in "half" only the even domains publish their records,
#	in "all" every domain does.  The test goes through phases, half, all,
#	half, all..., so domains keep changing state (pending, verified,
#	degraded, verified...) and every refresh writes.
#
#	Refresh: in each phase "authready refresh --all" is started over
#	and over and killed with SIGKILL after a random delay within the
#	time an uninterrupted refresh takes (CRASH_KILLS, 120, kills in all).
#	After every kill:
#
#	  - mdb_stat opens the store and reads every database, the
#	    registry still holds every domain, and "authready store check"
#	    finds every page and record sound;
#	  - "authready status --json" exits 0 and is well-formed JSON (the
#	    strict reader jsonflat.awk), with every domain in a valid state;
#	  - no committed update is lost: a domain seen in the state the
#	    phase's zone leads to stays in it (the zone does not change
#	    within a phase, so only a lost commit could move it back).
#
#	At the end of each phase an uninterrupted refresh runs on the
#	crashed store and on a control store that went through the same
#	zone versions with one uninterrupted refresh per phase: both must
#	hold exactly the same state for every domain.
#
#	Daemon: authready-milter on a unix socket is killed with SIGKILL
#	CRASH_DAEMON_KILLS (80) times, at a random point while miltertest
#	sessions run and its checker works on domains nobody has checked
#	yet; each time it is started again on the same (stale) socket path
#	and must answer a MAIL FROM of a verified domain with its normal
#	reply within RESTART_MAX_MS (2 s) of the restart.  The store opens
#	clean at the end and no log line shows a store error or a
#	sanitizer report.
#
#	The cases build on each other and run in order: CASE picks the cases
#	reported, and every case still runs (lib.sh).
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 NSD, miltertest or mdb_stat is
#	not installed, 99 the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir, NSD (from make check); AUTHREADY,
#	AUTHREADY_MILTER, MILTERTEST override the programs; CRASH_DOMAINS,
#	CRASH_KILLS, CRASH_PHASES, CRASH_DAEMON_KILLS change the sizes;
#	TIME_SCALE=N stretches every time limit N times (lib.sh).

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY=${AUTHREADY:-$top_builddir/authready}
AUTHREADY_MILTER=${AUTHREADY_MILTER:-$top_builddir/authready-milter}
MILTERTEST=${MILTERTEST:-$(command -v miltertest 2>/dev/null)}
MDB_STAT=${MDB_STAT:-$(command -v mdb_stat 2>/dev/null)}
JSONFLAT=$top_srcdir/tests/integration/jsonflat.awk
KEY=$top_srcdir/tests/keys/rsa2048.pem
SEEDMX=feedback-smtp.ap-northeast-1.amazonses.com

ZONE=crash.test
NDOMAINS=${CRASH_DOMAINS:-300}
KILLS=${CRASH_KILLS:-120}
PHASES=${CRASH_PHASES:-4}
DKILLS=${CRASH_DAEMON_KILLS:-80}
# Domains checked at once: one, so that a refresh takes long enough
# (about a second for 300 domains against NSD on loopback) to be killed
# while it checks, while it commits (at least once a second, and at the
# end) and while it sends its summary.
CONCURRENCY=${CRASH_CONCURRENCY:-1}
# The random delay before a kill is at most a quarter more than an
# uninterrupted refresh takes, so some refreshes finish, and at most
# KILL_MAX_MS milliseconds.
# Times stretch with TIME_SCALE (lib.sh).
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
KILL_MAX_MS=${CRASH_KILL_MAX_MS:-$(scaled 3000)}
# The daemon must answer within this many milliseconds of a restart.
RESTART_MAX_MS=$(scaled 2000)
# A kill lands at most this long into a daemon run (milliseconds).
DAEMON_KILL_MAX_MS=$(scaled 400)
# Domains registered for the daemon's checker to work on while killed.
DAEMON_FRESH=40
RUN_TIMEOUT=$(scaled 60)
PROBE_TIMEOUT=$(scaled 10)
DNS_TIMEOUT=$(scaled 2)
CHECK_WAIT=$(scaled 1)
SHOW_LINES=20
SHOW_COLUMNS=300
DUSER=nobody
DGROUP=nogroup
getent group "$DGROUP" >/dev/null 2>&1 || DGROUP=nobody
VALID_STATES='unknown pending verified degraded failed'

if [ -z "$MILTERTEST" ] || [ ! -x "$MILTERTEST" ]; then
	echo "SKIP: miltertest not found (install the miltertest package)"
	exit 77
fi
if [ -z "$MDB_STAT" ] || [ ! -x "$MDB_STAT" ]; then
	echo "SKIP: mdb_stat not found (install lmdb-utils)"
	exit 77
fi
for p in "$AUTHREADY" "$AUTHREADY_MILTER"; do
	if [ ! -x "$p" ]; then
		echo "ERROR: $p not built" >&2
		exit 99
	fi
done

# shellcheck source=tests/integration/nsd-harness.sh
. "$top_srcdir/tests/integration/nsd-harness.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-crash.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
LIB_OUT=$T/out
LIB_ERR=$T/err
chmod 0755 "$T"
RPID=
MPID=
LPID=

# cleanup - kill everything we started (NSD: its harness).
cleanup() {
	stop_pid -KILL "$RPID" "$LPID" "$MPID"
	RPID=
	LPID=
	MPID=
}

: >"$T/out"
: >"$T/err"

# states CONF FILE - "DOMAIN STATE" lines of "status --json", sorted, in
# FILE; false when status fails or its output is not well-formed.
states() {
	timeout "$RUN_TIMEOUT" "$AUTHREADY" -c "$1" status --json \
	    >"$T/status.json" 2>"$T/err" </dev/null || return 1
	awk -f "$JSONFLAT" "$T/status.json" >"$T/status.flat" 2>>"$T/err" ||
	    return 1
	awk -F '\t' '
	    $1 ~ /^\.domains\.[0-9]+\.domain$/ {
		split($1, p, "."); d[p[3]] = $2 }
	    $1 ~ /^\.domains\.[0-9]+\.state$/ {
		split($1, p, "."); s[p[3]] = $2 }
	    END { for (i in d) print d[i], s[i] }' "$T/status.flat" |
	    sort >"$2"
}

# store_sound DIR - mdb_stat reads every database of the store; the
# registry holds every domain; authready store check (every page and
# every record) finds it sound.
store_sound() {
	"$MDB_STAT" -a "$1" >"$T/mdb.out" 2>"$T/err" || return 1
	timeout "$RUN_TIMEOUT" "$AUTHREADY" --state-dir "$1" store check \
	    >>"$T/mdb.out" 2>"$T/err" </dev/null || return 1
	n=$(awk '/^Status of registry/ { r = 1; next }
	    /^Status of / { r = 0 }
	    r && /Entries:/ { print $2 }' "$T/mdb.out")
	[ "$n" = "$2" ]
}

# Setup ---------------------------------------------------------------------

mkdir "$T/zones" "$T/state" "$T/control" "$T/dstate" "$T/sock"
cat >"$T/zones/$ZONE.zone" <<EOF
; $ZONE - written by crash.sh; the test publishes records per phase.
\$ORIGIN $ZONE.
\$TTL 300
@	SOA	ns.$ZONE. hostmaster.$ZONE. ( 1 3600 600 86400 300 )
@	NS	ns.$ZONE.
ns	A	127.0.0.1
EOF
cp "$T/zones/$ZONE.zone" "$T/zone.head"
nsd_start "$top_srcdir/tests/zones" "$T/zones"
at_exit cleanup

# NSD limits responses to 200 a second per client network by default
# (response rate limiting); 300 domains checked at once exceed that, and
# dropped answers would make the refresh a matter of retransmissions.
# Restart it without the limit on the same port.
if ! grep -q 'rrl-ratelimit' "$NSD_DIR/nsd.conf"; then
	nsd_stop
	sed 's/^server:$/server:\
	rrl-ratelimit: 0\
	rrl-whitelist-ratelimit: 0/' "$NSD_DIR/nsd.conf" >"$NSD_DIR/nsd.conf.new"
	mv "$NSD_DIR/nsd.conf.new" "$NSD_DIR/nsd.conf"
	"$NSD_BIN" -d -c "$NSD_DIR/nsd.conf" </dev/null \
	    >>"$NSD_DIR/nsd.out" 2>&1 &
	# shellcheck disable=SC2034 # the harness's: nsd_stop uses it
	NSD_PID=$!
	i=0
	while [ "$(nsd_serial "$ZONE")" != 1 ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(nsd_serial "$ZONE")" = 1 ] || nsd_die "nsd did not restart"
fi
ZF=$NSD_DIR/zones/$ZONE.zone
serial=1

cp "$KEY" "$T/key.pem"
chmod 0644 "$T/key.pem"
for s in state control; do
	cat >"$T/$s.conf" <<EOF
# written by crash.sh
DNSServers 127.0.0.1:$NSD_PORT
DNSTimeout $DNS_TIMEOUT
StateDir $T/$s
RefreshConcurrency $CONCURRENCY
EOF
done
chmod 0644 "$T"/*.conf

{
	echo "domain,selectors,mx,spf_include"
	i=1
	while [ $i -le "$NDOMAINS" ]; do
		echo "d$i.$ZONE,1234rpr=$T/key.pem,$SEEDMX,amazonses.com"
		i=$((i + 1))
	done
} >"$T/domains.csv"

case_ "setup: import $NDOMAINS domains into both stores"
cli "$T/state.conf" domain import "$T/domains.csv"
rc1=$rc
cli "$T/control.conf" domain import "$T/domains.csv"
if [ $rc1 -eq 0 ] && [ $rc -eq 0 ] && store_sound "$T/state" "$NDOMAINS"
then
	ok
else
	ko "import exited $rc1 and $rc"
	exit 1
fi

# The records of d1, from which every domain's are made.
cli "$T/state.conf" records "d1.$ZONE"
grep -v '^;' "$T/out" >"$T/records.d1"

# publish VERSION - serve the zone "half" or "all".
publish() {
	cp "$T/zone.head" "$T/zone.new"
	i=1
	while [ $i -le "$NDOMAINS" ]; do
		if [ "$1" = all ] || [ $((i % 2)) -eq 0 ]; then
			sed "s/\\.d1\\.$ZONE\\./.d$i.$ZONE./" "$T/records.d1"
		fi
		i=$((i + 1))
	done >>"$T/zone.new"
	serial=$((serial + 1))
	sed "s/( [0-9]* 3600/( $serial 3600/" "$T/zone.new" >"$ZF"
	nsd_reload "$ZONE" "$serial"
}

# Part 1: refresh --all killed at random points ------------------------------

per_phase=$((KILLS / PHASES))
phase=0
while [ $phase -lt "$PHASES" ]; do
	if [ $((phase % 2)) -eq 0 ]; then
		publish half
	else
		publish all
	fi
	# The control store: one uninterrupted refresh; its time bounds
	# the random delays.
	t0=$(now_ms)
	cli "$T/control.conf" refresh --all
	span=$(($(now_ms) - t0))
	case_ "phase $phase: uninterrupted refresh of the control store"
	if [ $rc -le 1 ] && grep -q "^checked $NDOMAINS:" "$T/out"; then
		ok
	else
		ko "exit $rc"
	fi
	span=$((span + span / 4))
	[ $span -ge 50 ] || span=50
	[ $span -le "$KILL_MAX_MS" ] || span=$KILL_MAX_MS
	: >"$T/reached"
	k=0
	bad_store=0
	bad_status=0
	bad_state=0
	lost=0
	finished=0
	why=
	while [ $k -lt "$per_phase" ]; do
		"$AUTHREADY" -c "$T/state.conf" refresh --all </dev/null \
		    >"$T/refresh.out" 2>"$T/refresh.err" &
		RPID=$!
		msleep "$(shuf -i 0-"$span" -n 1)"
		kill -KILL "$RPID" 2>/dev/null
		wait "$RPID" 2>/dev/null
		st=$?
		RPID=
		if [ $st -ne 137 ]; then
			finished=$((finished + 1))
			if [ $st -gt 1 ]; then
				why="$why refresh exited $st: $(head -c 200 \
				    "$T/refresh.err");"
			fi
		fi
		k=$((k + 1))
		if ! store_sound "$T/state" "$NDOMAINS"; then
			bad_store=$((bad_store + 1))
			why="$why kill $k: mdb_stat: $(head -c 200 "$T/err" \
			    "$T/mdb.out" | tr '\n' ' ');"
			continue
		fi
		if ! states "$T/state.conf" "$T/now"; then
			bad_status=$((bad_status + 1))
			why="$why kill $k: status --json: $(head -c 200 \
			    "$T/err" | tr '\n' ' ');"
			continue
		fi
		if [ "$(wc -l <"$T/now")" -ne "$NDOMAINS" ] ||
		    awk -v ok="$VALID_STATES" 'BEGIN {
			n = split(ok, a, " "); for (i = 1; i <= n; i++) v[a[i]] = 1 }
			!($2 in v) { bad = 1 } END { exit !bad }' "$T/now"; then
			bad_state=$((bad_state + 1))
			why="$why kill $k: $(wc -l <"$T/now") domains, states:"
			why="$why $(awk '{ print $2 }' "$T/now" | sort -u |
			    tr '\n' ' ');"
			continue
		fi
		# No committed update lost: what reached its target stays.
		awk -v ph=$phase '{
			n = $1; sub(/^d/, "", n); sub(/\..*/, "", n)
			if (ph % 2 == 1 || n % 2 == 0) t = "verified"
			else if (ph == 0) t = "pending"
			else t = "degraded"
			print $1, ($2 == t) }' "$T/now" >"$T/hit"
		back=$(awk 'FILENAME == ARGV[1] { if ($2) was[$1] = 1; next }
		    ($1 in was) && !$2 { print $1 }' "$T/reached" "$T/hit" |
		    head -n 3 | tr '\n' ' ')
		if [ -n "$back" ]; then
			lost=$((lost + 1))
			why="$why kill $k: reached the phase's state, then lost" \
			    "it: $back;"
		fi
		awk 'FILENAME == ARGV[1] { if ($2) was[$1] = 1; next }
		    { print $1, ($2 || ($1 in was)) }' "$T/reached" "$T/hit" \
		    >"$T/reached.new"
		mv "$T/reached.new" "$T/reached"
	done
	reached=$(awk '$2 { n++ } END { print n + 0 }' "$T/reached")
	echo "phase $phase: $k kills within ${span}ms;" \
	    "$finished refresh(es) finished first;" \
	    "$reached of $NDOMAINS domains reached their state meanwhile"
	case_ "phase $phase: the store opens clean after every kill"
	[ $bad_store -eq 0 ] && ok || ko "$bad_store failure(s):$why"
	case_ "phase $phase: status --json well-formed after every kill"
	[ $bad_status -eq 0 ] && ok || ko "$bad_status failure(s):$why"
	case_ "phase $phase: every domain in a valid state after every kill"
	[ $bad_state -eq 0 ] && ok || ko "$bad_state failure(s):$why"
	case_ "phase $phase: no committed state lost across kills"
	[ $lost -eq 0 ] && ok || ko "$lost failure(s):$why"
	case_ "phase $phase: interrupted refreshes ran (none hung or failed)"
	case $why in
	*"refresh exited"*) ko "$why" ;;
	*) ok ;;
	esac

	case_ "phase $phase: after a full refresh, states equal the control's"
	cli "$T/state.conf" refresh --all
	if [ $rc -gt 1 ]; then
		ko "refresh --all exited $rc"
	elif ! states "$T/state.conf" "$T/crashed" ||
	    ! states "$T/control.conf" "$T/control.st"; then
		ko "status failed"
	elif ! cmp -s "$T/crashed" "$T/control.st"; then
		diff "$T/control.st" "$T/crashed" | head -n 10 >"$T/out"
		ko "states differ (< control, > crashed)"
	else
		# And what the zone leads to, as a check of the test itself.
		awk -v ph=$phase '{
			n = $1; sub(/^d/, "", n); sub(/\..*/, "", n)
			if (ph % 2 == 1 || n % 2 == 0) t = "verified"
			else if (ph == 0) t = "pending"
			else t = "degraded"
			if ($2 != t) { print $1, $2, "expected", t; bad = 1 } }
			END { exit bad }' "$T/crashed" >"$T/out" && ok ||
		    ko "a state is not what the zone leads to"
	fi
	phase=$((phase + 1))
done

case_ "no stale reader slot left behind; the store still writable"
# mdb_stat -rr exits 1 after clearing, whatever it found: read its words.
"$MDB_STAT" -rr "$T/state" >"$T/out" 2>"$T/err"
if ! grep -q -E '(^| )0 stale readers cleared' "$T/out"; then
	ko "stale reader slots were left"
else
	cli "$T/state.conf" domain add late.$ZONE --selector 1234rpr \
	    --key "$T/key.pem" --mx "$SEEDMX" --spf-include amazonses.com
	if [ $rc -ne 0 ]; then
		ko "domain add after the kills exited $rc"
	else
		ok
	fi
fi

# Part 2: the daemon killed while it serves ----------------------------------

# The load: sessions in a loop until killed; replies are not checked (the
# daemon dies under them).
cat >"$T/load.lua" <<'EOF'
local n = 0
while true do
	local conn = mt.connect(SOCK, 1, 0)
	if conn ~= nil then
		mt.conninfo(conn, "localhost", "127.0.0.1")
		mt.macro(conn, SMFIC_MAIL, "i", "LOAD" .. n)
		local d = "fresh" .. (n % FRESH) .. ".crash.test"
		mt.mailfrom(conn, "<u@mail.example.com>")
		mt.mailfrom(conn, "<u@mail." .. d .. ">")
		mt.disconnect(conn)
	else
		mt.sleep(0.01)
	end
	n = n + 1
end
EOF
# The probe: one MAIL FROM of a verified domain, retried for up to
# RESTART_MAX_MS; exits 0 on a normal reply (continue or accept).
cat >"$T/probe.lua" <<'EOF'
local conn = mt.connect(SOCK, TRIES, 0.01)
if conn == nil then
	error("cannot connect to " .. SOCK)
end
local e = mt.conninfo(conn, "localhost", "127.0.0.1")
if e ~= nil then error("conninfo: " .. e) end
e = mt.macro(conn, SMFIC_MAIL, "i", "PROBE")
if e ~= nil then error("macro: " .. e) end
e = mt.mailfrom(conn, "<bounces@mail.example.com>")
if e ~= nil then error("mailfrom: " .. e) end
local r = mt.getreply(conn)
if r ~= SMFIR_CONTINUE and r ~= SMFIR_ACCEPT then
	error("MAIL FROM reply " .. tostring(r))
end
mt.disconnect(conn)
EOF

cat >"$T/daemon.conf" <<EOF
# written by crash.sh
Socket unix:$T/sock/milter.sock
UserID $DUSER:$DGROUP
Syslog no
# the MAIL FROM decision alone (fromcheck.sh tests the From)
FromCheck off
StateDir $T/dstate
DNSServers 127.0.0.1:$NSD_PORT
DNSTimeout $DNS_TIMEOUT
CheckWait $CHECK_WAIT
EOF
chmod 0644 "$T/daemon.conf"
cli "$T/daemon.conf" domain add example.com --selector 1234rpr \
    --key "$T/key.pem" --mx "$SEEDMX" --spf-include amazonses.com
cli "$T/daemon.conf" refresh example.com
i=0
while [ $i -lt $DAEMON_FRESH ]; do
	echo "fresh$i.$ZONE,1234rpr=$T/key.pem,$SEEDMX,amazonses.com"
	i=$((i + 1))
done | sed '1i\
domain,selectors,mx,spf_include' >"$T/fresh.csv"
cli "$T/daemon.conf" domain import "$T/fresh.csv"
chown -R "$DUSER:$DGROUP" "$T/dstate"
chmod 0700 "$T/dstate"
: >"$T/daemon.log"

# probe - run probe.lua; sets rc.
probe() {
	timeout "$PROBE_TIMEOUT" "$MILTERTEST" \
	    -D "SOCK=unix:$T/sock/milter.sock" \
	    -D "TRIES=$((RESTART_MAX_MS / 10))" -s "$T/probe.lua" \
	    >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}

slow=0
dead=0
worst=0
why=
k=0
while [ $k -lt "$DKILLS" ]; do
	t0=$(now_ms)
	"$AUTHREADY_MILTER" -c "$T/daemon.conf" -f </dev/null \
	    >/dev/null 2>>"$T/daemon.log" &
	MPID=$!
	probe
	took=$(($(now_ms) - t0))
	[ $took -gt $worst ] && worst=$took
	if [ $rc -ne 0 ]; then
		dead=$((dead + 1))
		why="$why restart $k: no normal reply ($(tail -n 2 "$T/err" \
		    "$T/daemon.log" | tr '\n' ' '));"
	elif [ $took -gt $RESTART_MAX_MS ]; then
		slow=$((slow + 1))
		why="$why restart $k: ${took}ms;"
	fi
	"$MILTERTEST" -D "SOCK=unix:$T/sock/milter.sock" \
	    -D "FRESH=$DAEMON_FRESH" -s "$T/load.lua" </dev/null \
	    >/dev/null 2>&1 &
	LPID=$!
	msleep "$(shuf -i 0-$DAEMON_KILL_MAX_MS -n 1)"
	kill -KILL "$MPID"
	wait "$MPID" 2>/dev/null
	MPID=
	stop_pid -KILL "$LPID"
	LPID=
	k=$((k + 1))
done
echo "daemon: $k kills; slowest restart to first reply ${worst}ms"
case_ "daemon: answers MAIL FROM after every kill -9 and restart"
[ $dead -eq 0 ] && ok || ko "$dead restart(s) without a reply:$why"
case_ "daemon: the first reply within ${RESTART_MAX_MS}ms of each restart"
[ $slow -eq 0 ] && ok || ko "$slow slow restart(s):$why"

case_ "daemon: the store opens clean after the kills"
if ! "$MDB_STAT" -a "$T/dstate" >"$T/out" 2>"$T/err"; then
	ko "mdb_stat failed"
elif ! as_daemon_user "$AUTHREADY" -c "$T/daemon.conf" status --json \
    >"$T/out" 2>"$T/err" </dev/null; then
	ko "status --json failed"
elif ! awk -f "$JSONFLAT" "$T/out" >/dev/null 2>"$T/err"; then
	ko "status --json is not well-formed"
else
	: >"$T/out"
	ok
fi

case_ "daemon: the checker made progress between kills"
as_daemon_user "$AUTHREADY" -c "$T/daemon.conf" status --json \
    >"$T/status.json" 2>"$T/err" </dev/null
n=$(awk -f "$JSONFLAT" "$T/status.json" | awk -F '\t' '
    $1 ~ /\.state$/ && $2 != "unknown" { n++ } END { print n + 0 }')
if [ "$n" -gt 1 ]; then
	ok
else
	ko "only $n domain(s) ever checked"
fi

case_ "daemon: log free of store errors and sanitizer reports"
bad='Sanitizer|runtime error:|event=(store-error|store-corrupt)|corrupt'
cp "$T/daemon.log" "$T/err"
if grep -q -E "$bad" "$T/daemon.log"; then
	grep -E "$bad" "$T/daemon.log" | head -n 5 >"$T/err"
	ko "see stderr"
elif [ "$(grep -c 'event=start ' "$T/daemon.log")" -ne "$DKILLS" ]; then
	tail -n 5 "$T/daemon.log" >"$T/err"
	ko "$(grep -c 'event=start ' "$T/daemon.log") starts for $DKILLS runs"
else
	: >"$T/err"
	ok
fi

finish
