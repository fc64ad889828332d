#!/bin/sh
# files.sh - a FIFO where authready expects a file never hangs a program,
# and the milter's own time limits hold.
#
# SYNOPSIS
#	make check TESTS=tests/integration/files.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/files.sh
#
# DESCRIPTION
#	Opening a FIFO for reading waits for a writer; nobody writes to the
#	FIFOs of this test, so a program that opens one the blocking way
#	hangs.  Every command runs under timeout(1): a case passes only when
#	the program ends by itself within HANG_MAX seconds with the expected
#	status and a message that names the path and says "is a FIFO, not a
#	regular file".
#
#	The CLI: a FIFO as --key of check and of domain add, as the CSV of
#	domain import, as a selector's key file in that CSV, as the list
#	file of InternalHosts, as the config file itself, and as the key
#	file of a registered selector (records).
#
#	The daemon (a unix socket, Syslog no, no DNS needed: every check
#	fails on its key before any lookup):
#
#	  - start with InternalHosts or KeyFile a FIFO: exit 78 with the
#	    message, the socket never served;
#	  - reload (SIGUSR1) to a config whose InternalHosts, then KeyFile,
#	    is a FIFO: each is logged as event=reload-failed naming the FIFO,
#	    and a valid reload after them is logged as event=reload;
#	  - the key files of two registered, never-checked domains replaced
#	    by FIFOs: a MAIL FROM of each queues its check, and the checker
#	    logs event=check-error for the first and then for the second (a
#	    wedged checker would log neither);
#	  - MilterTimeout 2: a client that sends half a milter packet and
#	    stalls sees the daemon close the connection (end of file), after
#	    about 2 s and well before HANG_MAX;
#	  - a session left open across SIGTERM: event=stop-sessions-open, exit 0
#	    within STOP_MAX, nothing freed under it;
#	  - SIGTERM: the daemon logs event=stop and exits 0 within STOP_MAX;
#	  - then a second daemon whose DNS server never answers
#	    (tests/dns-blackhole; DNSTimeout 300) and a domain registered
#	    just before its start: its first round checks that domain and
#	    waits on DNS, a MAIL FROM of it waits CheckWait in vain, and
#	    SIGTERM still ends the daemon within STOP_MAX, exit 0, with
#	    event=stop-checker-busy (the stop does not wait for the check).
#
#	The cases build on each other and run in order: CASE picks the cases
#	reported, and every case still runs (lib.sh).
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 miltertest or perl is not
#	installed, 99 the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir (from make check); AUTHREADY,
#	AUTHREADY_MILTER, MILTERTEST override the programs; TIME_SCALE=N
#	stretches every time limit N times (lib.sh).

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY=${AUTHREADY:-$top_builddir/authready}
AUTHREADY_MILTER=${AUTHREADY_MILTER:-$top_builddir/authready-milter}
BLACKHOLE=${BLACKHOLE:-$top_builddir/tests/dns-blackhole}
MILTERTEST=${MILTERTEST:-$(command -v miltertest 2>/dev/null)}
KEY=$top_srcdir/tests/keys/rsa2048.pem
DUSER=nobody
DGROUP=nogroup
getent group "$DGROUP" >/dev/null 2>&1 || DGROUP=nobody

# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
# Seconds: a program that has not ended by itself after HANG_MAX hangs;
# the daemon must listen within START_MAX; SIGTERM must end it within
# STOP_MAX (libmilter notices within 5 s, open sessions get 5 s, the
# checker 5 s more).
HANG_MAX=$(scaled 10)
START_MAX=$(scaled 10)
STOP_MAX=$(scaled 20)
# The daemon's MilterTimeout (seconds), and how much earlier than that a
# close counts as too early (milliseconds).
MILTER_TIMEOUT=2
EARLY_MS=500
SHOW_LINES=20
SHOW_COLUMNS=300

if [ -z "$MILTERTEST" ] || [ ! -x "$MILTERTEST" ]; then
	echo "SKIP: miltertest not found (install the miltertest package)"
	exit 77
fi
if ! command -v perl >/dev/null 2>&1; then
	echo "SKIP: perl not found (the stalled client is a Perl script)"
	exit 77
fi
if [ "$(id -u)" -eq 0 ] && ! getent passwd "$DUSER" >/dev/null 2>&1; then
	echo "SKIP: as root this test needs the user $DUSER"
	exit 77
fi
for p in "$AUTHREADY" "$AUTHREADY_MILTER" "$BLACKHOLE"; do
	if [ ! -x "$p" ]; then
		echo "ERROR: $p not built" >&2
		exit 99
	fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-files.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
LIB_OUT=$T/out
LIB_ERR=$T/err
chmod 0755 "$T"
DPID=
BH_PID=

# cleanup - kill the daemon and the blackhole (if any).
cleanup() {
	stop_pid -KILL "$DPID" "$BH_PID"
}
at_exit cleanup

: >"$T/out"
: >"$T/err"

# run PROGRAM ARGS... - PROGRAM under timeout(1); sets rc (124: it hung).
run() {
	last_cmd=$*
	timeout -s KILL "$HANG_MAX" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	[ $rc -eq 137 ] && rc=124
}

# refused STATUS WHAT - the last run ended by itself with STATUS (fail:
# any but 0) and its stderr has WHAT and "is a FIFO, not a regular file";
# a case result.
refused() {
	if [ $rc -eq 124 ]; then
		ko "hung: still running after ${HANG_MAX}s"
	elif [ "$1" = fail ] && [ $rc -eq 0 ]; then
		ko "exit status 0"
	elif [ "$1" != fail ] && [ $rc -ne "$1" ]; then
		ko "exit status $rc, not $1"
	elif ! grep -q -F -e "$2" "$T/err"; then
		ko "stderr does not name $2"
	elif ! grep -q 'is a FIFO, not a regular file' "$T/err"; then
		ko "stderr does not say it is a FIFO"
	else
		ok
	fi
}

# Files --------------------------------------------------------------------
mkdir "$T/state" "$T/sock" || exit 99
mkfifo -m 0644 "$T/fifo" "$T/fifo.conf" || exit 99
# Readable by all: the blocking open of the old code would wait, not fail.
cp "$KEY" "$T/key.pem" && chmod 0644 "$T/key.pem" || exit 99
cp "$KEY" "$T/key2.pem" && chmod 0644 "$T/key2.pem" || exit 99

# conf NAME EXTRA - $T/NAME.conf: the common keys, then EXTRA lines.
conf() {
	{
		echo "# written by files.sh"
		echo "Socket unix:$T/sock/milter.sock"
		echo "StateDir $T/state"
		echo "DNSServers 127.0.0.1:9"
		echo "DNSTimeout 1"
		echo "Syslog no"
		# the MAIL FROM decision alone (fromcheck.sh tests the From)
		echo "FromCheck off"
		echo "CheckWait 1"
		echo "MilterTimeout $MILTER_TIMEOUT"
		[ "$(id -u)" -eq 0 ] && echo "UserID $DUSER:$DGROUP"
		printf '%s\n' "$2"
	} >"$T/$1.conf"
	chmod 0644 "$T/$1.conf"
}

conf base ""
conf ih "InternalHosts $T/fifo"
conf kf "Selector s1
KeyFile $T/fifo"

# The CLI -------------------------------------------------------------------

case_ "check --key FIFO: refused at once"
run "$AUTHREADY" -c "$T/base.conf" check example.com --selector s1 \
    --key "$T/fifo"
refused 64 "$T/fifo"

case_ "domain add --key FIFO: refused at once"
run "$AUTHREADY" -c "$T/base.conf" domain add example.com --selector s1 \
    --key "$T/fifo"
refused 64 "$T/fifo"

case_ "domain import FIFO: refused at once"
run "$AUTHREADY" -c "$T/base.conf" domain import "$T/fifo"
refused fail "$T/fifo"

case_ "domain import: a selector's key file is a FIFO: the row is refused"
printf 'domain,selectors\nfifo.files.test,s1=%s\n' "$T/fifo" >"$T/fifo.csv"
run "$AUTHREADY" -c "$T/base.conf" domain import "$T/fifo.csv"
refused 1 "$T/fifo"

case_ "InternalHosts FIFO: the CLI refuses the config"
run "$AUTHREADY" -c "$T/ih.conf" status
refused 78 "$T/fifo"

case_ "the config file is a FIFO: refused"
run "$AUTHREADY" -c "$T/fifo.conf" status
refused 78 "$T/fifo.conf"

# Two never-checked domains for the daemon, and one for records.
case_ "setup: domains registered"
run "$AUTHREADY" -c "$T/base.conf" domain add a.files.test --selector s1 \
    --key "$T/key.pem"
rc1=$rc
run "$AUTHREADY" -c "$T/base.conf" domain add b.files.test --selector s1 \
    --key "$T/key.pem"
if [ $rc1 -eq 0 ] && [ $rc -eq 0 ]; then ok; else ko "exit $rc1, $rc"; fi
# The registered key becomes a FIFO.
rm -f "$T/key.pem" && mkfifo -m 0644 "$T/key.pem" || exit 99

case_ "records: the registered key file is now a FIFO: refused at once"
run "$AUTHREADY" -c "$T/base.conf" records a.files.test
refused fail "$T/key.pem"

if [ "$(id -u)" -eq 0 ]; then
	chown -R "$DUSER:$DGROUP" "$T/state" "$T/sock"
	chmod 0700 "$T/state"
fi

# The daemon ----------------------------------------------------------------

# start NAME - authready-milter -f with $T/NAME.conf, log $T/NAME.log; 0
# once it logs event=start, 1 when it exited (status in rc), 2 when it
# did neither within START_MAX.
start() {
	: >"$T/$1.log"
	"$AUTHREADY_MILTER" -c "$T/$1.conf" -f </dev/null >"$T/out" \
	    2>"$T/$1.log" &
	DPID=$!
	t0=$(now_ms)
	while [ $(($(now_ms) - t0)) -lt $((START_MAX * 1000)) ]; do
		grep -q 'event=start ' "$T/$1.log" && return 0
		if ! kill -0 "$DPID" 2>/dev/null; then
			wait "$DPID"
			rc=$?
			DPID=
			return 1
		fi
		sleep 0.05
	done
	return 2
}

# start_refused NAME WHAT - the daemon must exit 78 naming WHAT.
start_refused() {
	start "$1"
	case $? in
	0)
		cp "$T/$1.log" "$T/err"
		kill -KILL "$DPID"
		wait "$DPID" 2>/dev/null
		DPID=
		ko "it started"
		;;
	1)
		cp "$T/$1.log" "$T/err"
		refused 78 "$2"
		;;
	2)
		cp "$T/$1.log" "$T/err"
		kill -KILL "$DPID"
		wait "$DPID" 2>/dev/null
		DPID=
		ko "hung: neither started nor exited within ${START_MAX}s"
		;;
	esac
}

case_ "daemon start, InternalHosts FIFO: exit 78, no hang"
start_refused ih "$T/fifo"

case_ "daemon start, KeyFile FIFO: exit 78, no hang"
start_refused kf "KeyFile"

# log_wait NEEDLE COUNT - wait (at most HANG_MAX) until the daemon's log
# has COUNT lines with NEEDLE.
log_wait() {
	t0=$(now_ms)
	while [ $(($(now_ms) - t0)) -lt $((HANG_MAX * 1000)) ]; do
		[ "$(grep -c -F -e "$1" "$T/run.log")" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# reload FILE - install FILE as the running daemon's config; SIGUSR1.
reload() {
	cp "$1" "$T/run.conf" && kill -USR1 "$DPID"
}

cp "$T/base.conf" "$T/run.conf"
case_ "daemon starts with a valid config"
if start run; then
	ok
else
	cp "$T/run.log" "$T/err"
	ko "did not start"
	echo "$npass passed, $nfail failed"
	exit 1
fi

case_ "reload, InternalHosts FIFO: logged as reload-failed, naming it"
reload "$T/ih.conf"
if log_wait "event=reload-failed" 1 &&
    grep 'event=reload-failed' "$T/run.log" | grep -q 'is a FIFO'; then
	ok
else
	cp "$T/run.log" "$T/err"
	ko "no reload-failed line naming the FIFO within ${HANG_MAX}s"
fi

case_ "reload, KeyFile FIFO: logged as reload-failed, naming KeyFile"
reload "$T/kf.conf"
if log_wait "event=reload-failed" 2 &&
    grep 'event=reload-failed' "$T/run.log" | sed -n 2p |
    grep -q 'KeyFile: .*is a FIFO'; then
	ok
else
	cp "$T/run.log" "$T/err"
	ko "no second reload-failed line naming KeyFile"
fi

case_ "a valid reload after the refused ones is applied and logged"
reload "$T/base.conf"
if log_wait "event=reload config=" 1; then
	ok
else
	cp "$T/run.log" "$T/err"
	ko "no event=reload line within ${HANG_MAX}s"
fi

cat >"$T/mail.lua" <<'EOF'
-- One MAIL FROM of SENDER with queue ID QID; prints the reply letter.
local conn = mt.connect(SOCK, 50, 0.1)
if conn == nil then error("connect " .. SOCK) end
local e = mt.conninfo(conn, "localhost", "127.0.0.1")
if e ~= nil then error("conninfo: " .. e) end
e = mt.macro(conn, SMFIC_MAIL, "i", QID)
if e ~= nil then error("macro: " .. e) end
e = mt.mailfrom(conn, SENDER)
if e ~= nil then error("mailfrom: " .. e) end
mt.echo("reply " .. string.char(mt.getreply(conn)))
mt.disconnect(conn)
EOF

# mail SENDER QID - one MAIL FROM through miltertest; sets rc.
mail() {
	timeout -s KILL "$HANG_MAX" "$MILTERTEST" \
	    -D "SOCK=unix:$T/sock/milter.sock" -D "SENDER=$1" -D "QID=$2" \
	    -s "$T/mail.lua" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}

# check_error DOMAIN - the log has event=check-error for DOMAIN naming
# the FIFO.
check_error() {
	grep 'event=check-error' "$T/run.log" | grep "domain=$1" |
	    grep -q 'is a FIFO'
}

case_ "key file replaced by a FIFO: the checker logs the error"
mail "<u@a.files.test>" FIFO-A
if [ $rc -ne 0 ]; then
	ko "miltertest exited $rc"
elif ! log_wait "event=check-error" 1 || ! check_error a.files.test; then
	cp "$T/run.log" "$T/err"
	ko "no check-error for a.files.test naming the FIFO"
else
	ok
fi

case_ "...and is not wedged: the next domain is checked too"
mail "<u@b.files.test>" FIFO-B
if [ $rc -ne 0 ]; then
	ko "miltertest exited $rc"
elif ! log_wait "event=check-error" 2 || ! check_error b.files.test; then
	cp "$T/run.log" "$T/err"
	ko "no check-error for b.files.test: the checker is stuck"
else
	ok
fi

case_ "MilterTimeout $MILTER_TIMEOUT: a stalled half packet is closed"
# Half of a packet's 4-octet length, then nothing; wait for the close.
timeout -s KILL "$HANG_MAX" perl -MIO::Socket::UNIX -MTime::HiRes=time -e '
	my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!\n";
	syswrite($s, "\0\0") == 2 or die "write: $!\n";
	my $t0 = time;
	my $n = sysread($s, my $buf, 64);
	die "read: $!\n" unless defined $n;
	printf "%d %d\n", $n, (time - $t0) * 1000;
' "$T/sock/milter.sock" >"$T/out" 2>"$T/err"
rc=$?
read -r got took <"$T/out"
if [ $rc -ne 0 ]; then
	ko "still open after ${HANG_MAX}s (exit $rc)"
elif [ "$got" != 0 ]; then
	ko "the daemon sent $got octets instead of closing"
elif [ "$took" -lt $((MILTER_TIMEOUT * 1000 - EARLY_MS)) ]; then
	ko "closed after ${took}ms, before MilterTimeout"
else
	echo "  closed after ${took}ms"
	ok
fi

# stop WHAT - SIGTERM to the daemon; it must exit 0 within STOP_MAX and
# log event=stop, and WHAT too when given; a case result.
stop() {
	t0=$(now_ms)
	stop_wait "$DPID" $((STOP_MAX * 10))
	running=$?
	cp "$T/run.log" "$T/err"
	if [ $running -ne 0 ]; then
		ko "still running ${STOP_MAX}s after SIGTERM"
		return 1
	fi
	took=$(($(now_ms) - t0))
	DPID=
	if [ $rc -ne 0 ]; then
		ko "exit status $rc"
	elif ! grep -q 'event=stop ' "$T/run.log"; then
		ko "no event=stop in the log"
	elif [ -n "$1" ] && ! grep -q -F -e "$1" "$T/run.log"; then
		ko "no $1 in the log"
	else
		echo "  stopped after ${took}ms"
		ok
	fi
}

# A session the MTA keeps open across a stop (Postfix keeps one per SMTP
# session): libmilter's smfi_main() returns while it is still open, and
# the session can still call into the store and the checker, so they
# must not be freed under it.  The daemon waits a bounded time for open
# sessions, then logs event=stop-sessions-open and exits without tearing
# them down.  hold.lua asks once, says so, and waits for GO (written
# after the daemon is gone), then finds its connection closed.
cat >"$T/hold.lua" <<'EOF'
local conn = mt.connect(SOCK, 50, 0.1)
if conn == nil then error("connect " .. SOCK) end
local e = mt.conninfo(conn, "localhost", "127.0.0.1")
if e ~= nil then error("conninfo: " .. e) end
e = mt.mailfrom(conn, "<u@a.files.test>")
if e ~= nil then error("mailfrom: " .. e) end
mt.echo("first " .. string.char(mt.getreply(conn)))
local f = io.open(READY, "w")
f:write("ready\n")
f:close()
local waited = 0
while io.open(GO, "r") == nil do
	if waited > 6000 then error("no GO") end
	mt.sleep(0.05)
	waited = waited + 1
end
mt.disconnect(conn)
EOF

case_ "a session open across SIGTERM: not torn down, a clean exit in time"
rm -f "$T/ready" "$T/go"
timeout -s KILL "$HANG_MAX" "$MILTERTEST" \
    -D "SOCK=unix:$T/sock/milter.sock" -D "READY=$T/ready" -D "GO=$T/go" \
    -s "$T/hold.lua" >"$T/hold.out" 2>"$T/hold.err" </dev/null &
HOLD_PID=$!
t0=$(now_ms)
while [ ! -s "$T/ready" ] && kill -0 "$HOLD_PID" 2>/dev/null &&
    [ $(($(now_ms) - t0)) -lt $((HANG_MAX * 1000)) ]; do
	sleep 0.05
done
if [ ! -s "$T/ready" ]; then
	: >"$T/go"
	wait "$HOLD_PID"
	cp "$T/hold.err" "$T/err"
	ko "the held session did not get its first reply"
else
	stop_wait "$DPID" $((STOP_MAX * 10))
	running=$?
	: >"$T/go"
	wait "$HOLD_PID"
	cp "$T/run.log" "$T/err"
	if [ $running -ne 0 ]; then
		ko "still running ${STOP_MAX}s after SIGTERM"
	else
		DPID=
		if [ $rc -ne 0 ]; then
			ko "exit status $rc"
		elif ! grep -q 'event=stop-sessions-open sessions=1' \
		    "$T/run.log"; then
			ko "no event=stop-sessions-open sessions=1 in the log"
		else
			ok
		fi
	fi
fi

# A daemon again for the case below.
[ -z "$DPID" ] && start run

case_ "SIGTERM ends the daemon within ${STOP_MAX}s: exit 0, event=stop"
stop ""

# A stop asked the moment the daemon says event=start reaches libmilter
# as it starts its listener: the stop closed the socket under the
# listener, smfi_main() reported a failure and the daemon exited 78
# (under valgrind most such stops).  Each such stop must be clean.
early_stop() {
	rm -f "$T/sock/milter.sock"
	: >"$T/run.log"
	"$AUTHREADY_MILTER" -c "$T/early.conf" -f </dev/null >"$T/out" \
	    2>"$T/run.log" &
	DPID=$!
	t0=$(now_ms)
	while ! grep -q 'event=start ' "$T/run.log" &&
	    kill -0 "$DPID" 2>/dev/null &&
	    [ $(($(now_ms) - t0)) -lt $((START_MAX * 1000)) ]; do
		sleep 0.002
	done
	stop_wait "$DPID" $((STOP_MAX * 10)) || return 1
	DPID=
	[ $rc -eq 0 ] && grep -q 'event=stop ' "$T/run.log"
}

# Its own empty store: no check at start, so nothing slows the daemon
# between event=start and libmilter's start.
mkdir "$T/early-state" || exit 99
[ "$(id -u)" -ne 0 ] || chown "$DUSER:$DGROUP" "$T/early-state" ||
    exit 99
sed "s|^StateDir .*|StateDir $T/early-state|" "$T/base.conf" \
    >"$T/early.conf"
case_ "SIGTERM at once after event=start, 5 times: exit 0 every time"
early=0
while [ $early -lt 5 ] && early_stop; do
	early=$((early + 1))
done
cp "$T/run.log" "$T/err"
if [ $early -eq 5 ]; then
	ok
elif [ -n "$DPID" ]; then
	ko "stop $((early + 1)): still running ${STOP_MAX}s after SIGTERM"
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null
	DPID=
else
	ko "stop $((early + 1)): exit status $rc, or no event=stop"
fi

# A DNS server that never answers keeps the checker busy for DNSTimeout.
"$BLACKHOLE" "$T/bh.port" </dev/null >/dev/null 2>"$T/bh.err" &
BH_PID=$!
t0=$(now_ms)
while [ ! -s "$T/bh.port" ] && [ $(($(now_ms) - t0)) -lt $((START_MAX * 1000)) ]
do
	sleep 0.05
done
bh=$(tr -dc 0-9 <"$T/bh.port" 2>/dev/null)
sed -e "s/^DNSServers .*/DNSServers 127.0.0.1:$bh/" \
    -e 's/^DNSTimeout .*/DNSTimeout 300/' "$T/base.conf" >"$T/run.conf"
# Registered now, never checked: the new daemon's first round takes it.
run "$AUTHREADY" -c "$T/run.conf" domain add c.files.test --selector s1 \
    --key "$T/key2.pem"
[ "$(id -u)" -eq 0 ] && chown -R "$DUSER:$DGROUP" "$T/state"

case_ "a daemon whose DNS never answers starts"
if [ $rc -ne 0 ]; then
	ko "domain add c.files.test exited $rc"
elif [ -z "$bh" ]; then
	cp "$T/bh.err" "$T/err"
	ko "tests/dns-blackhole did not start"
elif start run; then
	ok
else
	cp "$T/run.log" "$T/err"
	ko "did not start"
fi

case_ "SIGTERM while the checker waits on DNS: no wait for the check"
if [ -z "$DPID" ]; then
	ko "no daemon"
else
	# Waits CheckWait for a check that is still on DNS: the proof that
	# the checker is busy.
	mail "<u@c.files.test>" SLOW-C
	if [ $rc -ne 0 ]; then
		ko "miltertest exited $rc"
	elif ! log_wait "SLOW-C" 1 ||
	    ! grep 'SLOW-C' "$T/run.log" | grep -q 'state=unknown'; then
		cp "$T/run.log" "$T/err"
		ko "no decision on an unchecked domain logged for SLOW-C"
	else
		stop "event=stop-checker-busy"
	fi
fi

finish
