#!/bin/sh
# privilege.sh - least privilege and the control plane of authready-milter
# and authready: who it runs as, what it trusts, what it runs, what it logs.
#
# SYNOPSIS
#	make check TESTS=tests/integration/privilege.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/privilege.sh
#
# DESCRIPTION
#	Runs as root (the checks are about root): NSD serves tests/zones on
#	loopback; the daemon runs with UserID nobody.
#
#	  - root without UserID: the daemon refuses to start (exit 78, the
#	    reason on stderr);
#	  - a StateDir, or a data.mdb in it, that others can write: the
#	    daemon and the CLI refuse it (78);
#	  - a KeyFile others can write: the daemon refuses to start; a
#	    --key others can write: "domain add" refuses it; a registered
#	    key file made writable by others later: "refresh" does not use
#	    it (the domain is not verified by it) and says why;
#	  - the unix socket: mode from UMask (007 -> srwxrwx---, 077 ->
#	    srwx------), group from SocketGroup, else owned by UserID;
#	    it appears with them: tests/sock-probe, not root, a member of
#	    the socket's group, connects in a tight loop while the daemon
#	    starts and is never refused, and the socket's owner, group and
#	    mode never change once its path exists (inotify: deterministic),
#	    with or without a stale socket to replace;
#	  - -n refuses what start refuses (a KeyFile that is a directory,
#	    /dev/zero or relative, an unknown UserID, a socket path too
#	    long), a failed start leaves no socket or PID file, a clean
#	    stop removes both from a root-owned directory, and a start
#	    failure is printed once;
#	  - sendmail (confirmation mail), the release command and the hold
#	    queue listing (HoldQueueCommand) are stand-ins that record argv,
#	    environment and stdin: the argv is exactly the configured words,
#	    the environment PATH only;
#	  - queue IDs: the milter quarantines messages whose {i} macro is
#	    "ALL", holds shell metacharacters, or is well-formed; "authready
#	    release" passes only the well-formed one to the release command
#	    and drops the others from the index;
#	  - hostile text in the log: senders with CR, LF, ESC, other control
#	    bytes, invalid UTF-8 and great length, and a domain whose DNS
#	    records hold NUL, BEL and ESC (ctrl.example.org): every line of
#	    the daemon's log and of "authready status" is one printable line,
#	    capped in length.
#
#	The cases build on each other and run in order: CASE picks the cases
#	reported, and every case still runs (lib.sh).
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 not root, or NSD, miltertest or
#	setpriv is not installed, 99 the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir, NSD (from make check); AUTHREADY,
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
SOCK_PROBE=${SOCK_PROBE:-$top_builddir/tests/sock-probe}
MILTERTEST=${MILTERTEST:-$(command -v miltertest 2>/dev/null)}
JSONFLAT=$top_srcdir/tests/integration/jsonflat.awk
KEY=$top_srcdir/tests/keys/rsa2048.pem
SEEDMX=feedback-smtp.ap-northeast-1.amazonses.com

DUSER=nobody
DGROUP=nogroup
getent group "$DGROUP" >/dev/null 2>&1 || DGROUP=nobody
# A group for SocketGroup other than the daemon's own.
SGROUP=daemon
# The one environment a child of authready may see.
CHILD_ENV='PATH=/usr/sbin:/usr/bin:/sbin:/bin'
EXIT_CONFIG=78
LINE_CAP=2100
# Times stretch with TIME_SCALE (lib.sh).
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
START_TENTHS=$(scaled 100)
STOP_WAIT_TENTHS=$(scaled 100)
RUN_TIMEOUT=$(scaled 30)
PROBE_TIMEOUT=$(scaled 60)
REFUSE_TIMEOUT=$(scaled 20)
DNS_TIMEOUT=$(scaled 2)
CHECK_WAIT=$(scaled 5)
SHOW_LINES=20
SHOW_COLUMNS=300

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: privilege.sh checks what the daemon does as root"
	exit 77
fi
if [ -z "$MILTERTEST" ] || [ ! -x "$MILTERTEST" ]; then
	echo "SKIP: miltertest not found (install the miltertest package)"
	exit 77
fi
if ! command -v setpriv >/dev/null 2>&1 ||
    ! getent passwd "$DUSER" >/dev/null 2>&1 ||
    ! getent group "$SGROUP" >/dev/null 2>&1; then
	echo "SKIP: needs setpriv, user $DUSER and group $SGROUP"
	exit 77
fi
for p in "$AUTHREADY" "$AUTHREADY_MILTER" "$SOCK_PROBE"; do
	if [ ! -x "$p" ]; then
		echo "ERROR: $p not built" >&2
		exit 99
	fi
done

# shellcheck source=tests/integration/nsd-harness.sh
. "$top_srcdir/tests/integration/nsd-harness.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-privilege.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
LIB_OUT=$T/out
LIB_ERR=$T/err
chmod 0755 "$T"
MPID=

# cleanup - the daemon (NSD: its harness).
cleanup() {
	daemon_stop
}

: >"$T/out"
: >"$T/err"

# want_rc N - the run exited N.
want_rc() {
	[ "$rc" -eq "$1" ] || ko "exit status $rc, expected $1"
}

# want_err ERE - a line of stderr matches ERE.
want_err() {
	grep -q -E -e "$1" "$T/err" || ko "no stderr line matches /$1/"
}

# conf NAME EXTRA - $T/NAME.conf: the base config and EXTRA lines.
conf() {
	{
		echo "# written by privilege.sh"
		echo "Socket unix:$T/sock/milter.sock"
		echo "Syslog no"
		# the MAIL FROM decision alone (fromcheck.sh tests the From)
		echo "FromCheck off"
		echo "StateDir $T/state"
		echo "DNSServers 127.0.0.1:$NSD_PORT"
		echo "DNSTimeout $DNS_TIMEOUT"
		echo "CheckWait $CHECK_WAIT"
		echo "SendmailPath $T/bin/rec-sendmail -t -oi"
		echo "NotifyFrom noreply@operator.test"
		echo "ReleaseCommand $T/bin/rec-postsuper -c $T/pf-etc -H -"
		echo "HoldQueueCommand $T/bin/rec-postqueue -c $T/pf-etc -j"
		printf '%s\n' "$2"
	} >"$T/$1.conf"
	chmod 0644 "$T/$1.conf"
}

# refused NAME - run the daemon with NAME.conf in the foreground; it must
# exit 78 at once; stderr in err.
refused() {
	last_cmd="authready-milter -c $T/$1.conf -f"
	timeout "$REFUSE_TIMEOUT" "$AUTHREADY_MILTER" -c "$T/$1.conf" -f \
	    </dev/null >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -eq 124 ]; then
		ko "still running after ${REFUSE_TIMEOUT}s"
		return 1
	fi
	want_rc $EXIT_CONFIG
}

# daemon_start NAME [keep] - start the daemon with NAME.conf (keep: leave
# a socket already at the path); log in daemon.log; 0 once it logs
# event=start.
daemon_start() {
	[ "${2:-}" = keep ] || rm -f "$T/sock/milter.sock"
	: >"$T/daemon.log"
	"$AUTHREADY_MILTER" -c "$T/$1.conf" -f </dev/null >/dev/null \
	    2>"$T/daemon.log" &
	MPID=$!
	i=0
	while [ $i -lt $START_TENTHS ]; do
		grep -q 'event=start ' "$T/daemon.log" && return 0
		kill -0 "$MPID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	cp "$T/daemon.log" "$T/err"
	daemon_stop
	return 1
}

# daemon_stop - SIGTERM, then KILL; reap (idempotent).
daemon_stop() {
	stop_pid "$MPID"
	MPID=
}

# lines_clean FILE MAX - every line printable ASCII (tab allowed), at most
# MAX octets; the offenders in err.
lines_clean() {
	if [ "$(tr -d '\t\n\040-\176' <"$1" | wc -c)" -ne 0 ]; then
		grep -n "$(printf '[^\t -~]')" "$1" | head -n 3 | cat -v >"$T/err"
		ko "raw control or non-ASCII bytes in $(basename "$1")"
		return 1
	fi
	if [ "$(awk -v m="$2" 'length > m' "$1" | wc -l)" -ne 0 ]; then
		awk -v m="$2" 'length > m { print NR ": " length " octets" }' \
		    "$1" | head -n 3 >"$T/err"
		ko "a line of $(basename "$1") longer than $2 octets"
		return 1
	fi
}

# state_of CONF DOMAIN - its readiness state.
state_of() {
	"$AUTHREADY" -c "$1" status "$2" --json 2>/dev/null |
	    awk -f "$JSONFLAT" |
	    awk -F '\t' '$1 == ".domains.0.state" { print $2 }'
}

# Setup ---------------------------------------------------------------------

mkdir "$T/state" "$T/sock" "$T/bin" "$T/rec" "$T/keys"
nsd_start "$top_srcdir/tests/zones"
at_exit cleanup

# The stand-ins: argv, the environment exactly as exec'd (from
# /proc/self/environ: a shell adds nothing there) and stdin, in
# rec/NAME.N.{argv,env,in}.  Builtins and absolute paths only.
for name in sendmail postsuper; do
	cat >"$T/bin/rec-$name" <<EOF
#!/bin/sh
n=0
while [ -e "$T/rec/$name.\$n.argv" ]; do n=\$((n + 1)); done
for a in "\$0" "\$@"; do printf '%s\n' "\$a"; done >"$T/rec/$name.\$n.argv"
/usr/bin/tr '\\000' '\\n' </proc/\$\$/environ >"$T/rec/$name.\$n.env"
/bin/cat >"$T/rec/$name.\$n.in"
exit 0
EOF
	chmod 0755 "$T/bin/rec-$name"
done
# The queue listing shows the one well-formed ID quarantined below on
# hold, arrived now, from the sender the quarantine saw.
cat >"$T/bin/rec-postqueue" <<EOF
#!/bin/sh
n=0
while [ -e "$T/rec/postqueue.\$n.argv" ]; do n=\$((n + 1)); done
for a in "\$0" "\$@"; do printf '%s\n' "\$a"; done >"$T/rec/postqueue.\$n.argv"
/usr/bin/tr '\\000' '\\n' </proc/\$\$/environ >"$T/rec/postqueue.\$n.env"
printf '{"queue_name": "hold", "queue_id": "3F2A1B4C5D", "arrival_time": %s, "sender": "u@mail.nodkim.example.org", "recipients": []}\n' "\$(/bin/date +%s)"
exit 0
EOF
chmod 0755 "$T/bin/rec-postqueue"
chmod 0777 "$T/rec"
cp "$KEY" "$T/keys/good.pem"
chmod 0644 "$T/keys/good.pem"
chmod 0755 "$T/keys"

conf base "UserID $DUSER:$DGROUP"
cli "$T/base.conf" domain add example.com --selector 1234rpr \
    --key "$T/keys/good.pem" --mx "$SEEDMX" --spf-include amazonses.com \
    --contact postmaster@example.com
case_ "setup: example.com registered"
want_rc 0 && ok

# Root without UserID -------------------------------------------------------

case_ "root without UserID: refused, exit 78"
conf nouser ""
refused nouser && want_err 'refusing to run as root: set UserID' && ok

case_ "UserID that does not exist: refused, exit 78"
conf nosuch "UserID no-such-user-authready"
refused nosuch && want_err 'UserID no-such-user-authready' &&
    times=$(grep -c 'no-such-user-authready' "$T/err") && ok

case_ "a start failure is printed once"
if [ "${times:-0}" -eq 1 ]; then
	ok
else
	ko "printed ${times:-0} times"
fi

# The store -----------------------------------------------------------------

chown -R "$DUSER:$DGROUP" "$T/state"
chmod 0700 "$T/state"

case_ "StateDir writable by others: the daemon refuses it"
chmod 0707 "$T/state"
refused base && want_err 'writable by everyone' && ok

case_ "StateDir writable by others: the CLI refuses it"
cli "$T/base.conf" status
want_rc $EXIT_CONFIG && want_err 'writable by everyone' && ok
chmod 0700 "$T/state"

case_ "data.mdb writable by others: the daemon refuses it"
chmod o+w "$T/state/data.mdb"
refused base && want_err 'data\.mdb is writable by everyone' && ok

case_ "data.mdb writable by others: the CLI refuses it"
cli "$T/base.conf" status
want_rc $EXIT_CONFIG && want_err 'data\.mdb is writable by everyone' && ok
chmod o-w "$T/state/data.mdb"

case_ "a parent of StateDir writable by everyone (no sticky bit): refused"
mkdir -p "$T/open/inner"
chmod 0777 "$T/open"
chown "$DUSER:$DGROUP" "$T/open/inner"
sed "s|^StateDir .*|StateDir $T/open/inner|" "$T/base.conf" >"$T/open.conf"
refused open && want_err 'writable by everyone without the sticky bit' && ok

case_ "the store is sound again: the CLI opens it"
cli "$T/base.conf" status
want_rc 0 && ok

# Key files -----------------------------------------------------------------

cp "$KEY" "$T/keys/open.pem"
chmod 0646 "$T/keys/open.pem"

case_ "KeyFile writable by others: the daemon refuses to start"
conf keyopen "UserID $DUSER:$DGROUP
KeyFile $T/keys/open.pem"
chown -R "$DUSER:$DGROUP" "$T/state"
refused keyopen && want_err 'KeyFile: .*open\.pem' && ok

case_ "KeyFile readable, not writable by others: the daemon starts"
conf keyok "UserID $DUSER:$DGROUP
KeyFile $T/keys/good.pem"
if daemon_start keyok; then
	ok
else
	ko "did not start"
fi
daemon_stop

# -n checks what start checks -----------------------------------------------

# check_only NAME - authready-milter -n with NAME.conf; sets rc.
check_only() {
	timeout "$REFUSE_TIMEOUT" "$AUTHREADY_MILTER" -c "$T/$1.conf" -n \
	    </dev/null >"$T/out" 2>"$T/err"
	rc=$?
}

# -n said "configuration OK" for a StateDir not made yet under such a
# parent (it checked only that the parent was writable); start refused.
for state in "$T/open/new" "$T/open/inner/new"; do
	case_ "-n and start refuse a new StateDir below that parent: $state"
	sed "s|^StateDir .*|StateDir $state|" "$T/base.conf" >"$T/open.conf"
	check_only open
	if want_rc $EXIT_CONFIG &&
	    want_err 'writable by everyone without the sticky bit' &&
	    refused open && [ ! -e "$state" ]; then
		ok
	fi
done

long_sock=$T/sock/$(printf '%0120d' 0).sock
for bad in "KeyFile $T/keys" "KeyFile /dev/zero" "KeyFile keys/good.pem" \
    "UserID no-such-user-authready" "Socket unix:$long_sock"; do
	case_ "-n and start refuse the same: $bad"
	conf dryrun "UserID $DUSER:$DGROUP
PidFile $T/sock/milter.pid
$bad"
	check_only dryrun
	if want_rc $EXIT_CONFIG && [ ! -s "$T/out" ] &&
	    refused dryrun; then
		if [ -e "$T/sock/milter.pid" ] || [ -e "$T/sock/milter.sock" ]
		then
			ko "the failed start left its PID file or socket"
		else
			ok
		fi
	fi
done

case_ "-n: a socket path too long is named as such"
check_only dryrun
want_err 'at most 107' && ok

case_ "-n: a good configuration is OK"
conf dryrun "UserID $DUSER:$DGROUP
PidFile $T/sock/milter.pid"
check_only dryrun
want_rc 0 && ok

case_ "a clean stop removes the socket and PID file from a root-owned dir"
if daemon_start dryrun; then
	if [ ! -S "$T/sock/milter.sock" ] || [ ! -s "$T/sock/milter.pid" ]; then
		ko "no socket or PID file while running"
	else
		daemon_stop
		if [ -e "$T/sock/milter.pid" ] || [ -e "$T/sock/milter.sock" ]
		then
			ko "left behind: $(ls "$T/sock")"
		else
			ok
		fi
	fi
else
	ko "did not start"
fi
daemon_stop

# A restart that overlaps: a new daemon writes the PID file while the old
# one stops.  The old one's reaper removes its PID file by inode; it
# used to be the same inode (rewritten in place), so the running
# daemon lost its PID file.
case_ "an old daemon's stop leaves the PID file a new daemon wrote"
conf second "UserID $DUSER:$DGROUP
PidFile $T/sock/milter.pid
Socket unix:$T/sock/second.sock"
if daemon_start dryrun; then
	OLD_PID=$MPID
	: >"$T/second.log"
	"$AUTHREADY_MILTER" -c "$T/second.conf" -f </dev/null >/dev/null \
	    2>"$T/second.log" &
	MPID=$!
	i=0
	while [ $i -lt $START_TENTHS ] &&
	    ! grep -q 'event=start ' "$T/second.log"; do
		sleep 0.1
		i=$((i + 1))
	done
	NEW_PID=$MPID
	MPID=$OLD_PID
	daemon_stop
	MPID=$NEW_PID
	if ! grep -q 'event=start ' "$T/second.log"; then
		cp "$T/second.log" "$T/err"
		ko "the second daemon did not start"
	elif [ "$(cat "$T/sock/milter.pid" 2>/dev/null)" != "$NEW_PID" ]; then
		ko "PID file: '$(cat "$T/sock/milter.pid" 2>/dev/null)'," \
		    "the running daemon is $NEW_PID"
	else
		ok
	fi
	daemon_stop
else
	ko "did not start"
fi

case_ "domain add --key writable by others: refused"
cli "$T/base.conf" domain add other.example.com --selector 1234rpr \
    --key "$T/keys/open.pem"
if [ $rc -eq 0 ]; then
	ko "registered"
else
	want_err 'open\.pem' && ok
fi

case_ "domain add --key writable by others: nothing registered"
cli "$T/base.conf" status other.example.com
[ $rc -ne 0 ] && ok || ko "other.example.com is registered"

case_ "registered key made writable by others: refresh does not trust it"
cp "$KEY" "$T/keys/later.pem"
chmod 0644 "$T/keys/later.pem"
cli "$T/base.conf" domain add example.net --selector 1234rpr \
    --key "$T/keys/later.pem"
chmod 0646 "$T/keys/later.pem"
cli "$T/base.conf" refresh example.net
st=$(state_of "$T/base.conf" example.net)
if [ "$st" = verified ]; then
	ko "example.net verified with a key anyone can write"
elif ! grep -q -E 'later\.pem' "$T/out" "$T/err"; then
	ko "nothing names the refused key file (state $st)"
else
	ok
fi

# Children: sendmail and the release command -------------------------------

case_ "sendmail: run with the configured argv and PATH only"
cli "$T/base.conf" refresh example.com
n=$(find "$T/rec" -name 'sendmail.*.argv' | wc -l)
if [ "$(state_of "$T/base.conf" example.com)" != verified ]; then
	ko "example.com is not verified"
elif [ "$n" -ne 1 ]; then
	ko "$n confirmation mail(s), expected 1"
elif [ "$(tr '\n' ' ' <"$T/rec/sendmail.0.argv")" != \
    "$T/bin/rec-sendmail -t -oi " ]; then
	ko "argv: $(tr '\n' ' ' <"$T/rec/sendmail.0.argv")"
elif [ "$(cat "$T/rec/sendmail.0.env")" != "$CHILD_ENV" ]; then
	ko "environment: $(tr '\n' ' ' <"$T/rec/sendmail.0.env")"
elif ! grep -q -i '^To: *postmaster@example\.com' "$T/rec/sendmail.0.in"
then
	ko "the message is not addressed to the contact"
else
	ok
fi

# Quarantine three messages with crafted {i}, through the daemon.
cli "$T/base.conf" domain add nodkim.example.org --selector 1234rpr \
    --key "$T/keys/good.pem" --mx "$SEEDMX" --spf-include amazonses.com
cli "$T/base.conf" refresh nodkim.example.org
chown -R "$DUSER:$DGROUP" "$T/state"
conf hold "UserID $DUSER:$DGROUP
OnPending quarantine"
cat >"$T/hold.lua" <<'EOF'
-- one quarantined message per queue ID in IDS (separated by "|")
for id in string.gmatch(IDS, "[^|]+") do
	local conn = mt.connect(SOCK, 50, 0.1)
	if conn == nil then error("connect") end
	assert(mt.conninfo(conn, "localhost", "127.0.0.1") == nil)
	assert(mt.macro(conn, SMFIC_MAIL, "i", id) == nil)
	assert(mt.mailfrom(conn, "<u@mail.nodkim.example.org>") == nil)
	assert(mt.eom(conn) == nil)
	if not mt.eom_check(conn, MT_QUARANTINE) then
		error("not quarantined: " .. id)
	end
	mt.disconnect(conn)
end
EOF
GOODID=3F2A1B4C5D # rec-postqueue lists it on hold
case_ "setup: the milter quarantines messages with {i} ALL, 'X;rm' and $GOODID"
if daemon_start hold; then
	timeout "$RUN_TIMEOUT" "$MILTERTEST" -D "SOCK=unix:$T/sock/milter.sock" \
	    -D "IDS=ALL|X;rm\$(id)|$GOODID" -s "$T/hold.lua" >"$T/out" \
	    2>"$T/err" </dev/null
	rc=$?
	want_rc 0 && ok
else
	ko "daemon did not start"
fi
daemon_stop
cp "$T/daemon.log" "$T/hold.log"

case_ "release: only the valid queue ID reaches the release command"
cli "$T/base.conf" release nodkim.example.org
cp "$T/out" "$T/release.out"
n=$(find "$T/rec" -name 'postsuper.*.argv' | wc -l)
if [ $rc -ne 0 ]; then
	ko "release exited $rc"
elif [ "$n" -ne 1 ]; then
	ko "the release command ran $n times, expected 1"
elif [ "$(cat "$T/rec/postsuper.0.in")" != "$GOODID" ]; then
	cp "$T/rec/postsuper.0.in" "$T/out"
	ko "stdin of the release command is not just $GOODID"
else
	ok
fi

case_ "release: argv exactly the configured words, environment PATH only"
if [ "$(tr '\n' ' ' <"$T/rec/postsuper.0.argv" 2>/dev/null)" != \
    "$T/bin/rec-postsuper -c $T/pf-etc -H - " ]; then
	ko "argv: $(tr '\n' ' ' <"$T/rec/postsuper.0.argv" 2>/dev/null)"
elif [ "$(cat "$T/rec/postsuper.0.env" 2>/dev/null)" != "$CHILD_ENV" ]; then
	ko "environment: $(tr '\n' ' ' <"$T/rec/postsuper.0.env")"
else
	ok
fi

case_ "release: the hold queue listing first, configured argv, PATH only"
if [ "$(tr '\n' ' ' <"$T/rec/postqueue.0.argv" 2>/dev/null)" != \
    "$T/bin/rec-postqueue -c $T/pf-etc -j " ]; then
	ko "argv: $(tr '\n' ' ' <"$T/rec/postqueue.0.argv" 2>/dev/null)"
elif [ "$(cat "$T/rec/postqueue.0.env" 2>/dev/null)" != "$CHILD_ENV" ]; then
	ko "environment: $(tr '\n' ' ' <"$T/rec/postqueue.0.env")"
else
	ok
fi

case_ "quarantine: invalid queue IDs never enter the held index"
if [ "$(grep -c 'event=quarantine .*queue_id=invalid' "$T/hold.log")" -ne 2 ]; then
	cp "$T/hold.log" "$T/out"
	ko "the milter did not refuse the two invalid {i} values"
elif ! grep -q '1 held message(s) released' "$T/release.out" ||
    grep -q 'invalid queue ID' "$T/release.out"; then
	cp "$T/release.out" "$T/out"
	ko "release did not release exactly the valid ID"
else
	"$AUTHREADY" -c "$T/base.conf" status nodkim.example.org --json \
	    >"$T/out" 2>"$T/err"
	if grep -q -E '"queue_id"' "$T/out"; then
		ko "held entries left"
	else
		ok
	fi
fi

# Socket mode and group -----------------------------------------------------

case_ "UMask 007, SocketGroup $SGROUP: socket srwxrwx--- group $SGROUP"
conf sock1 "UserID $DUSER:$DGROUP
UMask 007
SocketGroup $SGROUP"
if daemon_start sock1; then
	got=$(stat -c '%A %G' "$T/sock/milter.sock")
	[ "$got" = "srwxrwx--- $SGROUP" ] && ok || ko "socket is $got"
else
	ko "daemon did not start"
fi
daemon_stop

case_ "UMask 077, no SocketGroup: socket srwx------ owned by UserID"
conf sock2 "UserID $DUSER:$DGROUP
UMask 077"
if daemon_start sock2; then
	got=$(stat -c '%A %U' "$T/sock/milter.sock")
	[ "$got" = "srwx------ $DUSER" ] && ok || ko "socket is $got"
else
	ko "daemon did not start"
fi
daemon_stop

# probe_start - tests/sock-probe on the socket as $DUSER, group $DGROUP
# and member of $SGROUP (not root, like the MTA); 0 once it watches.
probe_start() {
	: >"$T/probe.out"
	setpriv --reuid "$DUSER" --regid "$DGROUP" --groups "$SGROUP" -- \
	    "$SOCK_PROBE" -t "$PROBE_TIMEOUT" "$T/sock/milter.sock" \
	    >"$T/probe.out" 2>&1 </dev/null &
	PROBE_PID=$!
	i=0
	while [ $i -lt "$START_TENTHS" ]; do
		grep -q '^ready$' "$T/probe.out" && return 0
		kill -0 "$PROBE_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	cp "$T/probe.out" "$T/out"
	return 1
}

# sock_appears NAME [keep] - start the daemon with NAME.conf while the
# probe connects: never refused, the socket never changed after it
# appeared, and it appeared as it stays (owner, group, mode).
sock_appears() {
	if ! probe_start; then
		ko "the probe did not start"
		return 1
	fi
	if ! daemon_start "$1" "${2:-}"; then
		kill -TERM "$PROBE_PID" 2>/dev/null
		wait "$PROBE_PID" 2>/dev/null
		ko "daemon did not start"
		return 1
	fi
	wait "$PROBE_PID"
	rc=$?
	cp "$T/probe.out" "$T/out"
	final=$(stat -c 'mode=%a uid=%u gid=%g' "$T/sock/milter.sock")
	daemon_stop
	want_rc 0 || return 1
	if ! grep -q "^first $final\$" "$T/out"; then
		ko "it appeared other than it stays ($final)"
		return 1
	fi
}

for stale in "" keep; do
	what="a member of the socket's group is never refused"
	[ -n "$stale" ] && what="$what (a stale socket replaced)"
	case_ "UMask 007, SocketGroup $SGROUP: the socket appears whole: $what"
	rm -f "$T/sock/milter.sock"
	if [ -n "$stale" ]; then
		# A stale socket the probe may connect to (refused: nobody
		# listens), so any EACCES is the new socket's.
		if ! "$SOCK_PROBE" -b "$T/sock/milter.sock" ||
		    ! chgrp "$SGROUP" "$T/sock/milter.sock" ||
		    ! chmod 0770 "$T/sock/milter.sock"; then
			ko "no stale socket"
			continue
		fi
	fi
	sock_appears sock1 $stale && ok
done

case_ "UMask 007, no SocketGroup: the socket appears owned by UserID"
conf sock4 "UserID $DUSER:$DGROUP
UMask 007"
sock_appears sock4 && ok

case_ "SocketGroup that does not exist: refused, exit 78"
conf sock3 "UserID $DUSER:$DGROUP
SocketGroup no-such-group-authready"
refused sock3 && want_err 'SocketGroup no-such-group-authready' && ok

# Hostile text in the logs --------------------------------------------------

cli "$T/base.conf" domain add ctrl.example.org --selector 1234rpr \
    --selector bell --key "$T/keys/good.pem" --mx "$SEEDMX" \
    --spf-include amazonses.com
chown -R "$DUSER:$DGROUP" "$T/state"
conf hostile "UserID $DUSER:$DGROUP"
cat >"$T/hostile.lua" <<'EOF'
-- hostile senders (miltertest itself overflows a buffer past about 1 KiB),
-- then a domain with control bytes in its DNS records
-- (checked while MAIL FROM waits)
local senders = {
	"<a\r\nb@example.com>",
	"<x@example.com>\n2030-01-01T00:00:00.000Z authready-milter: info: " ..
	    "session=FORGED action=accept",
	"<x\1y\27[2J\127@example.com>",
	"<\255\254\192\128@example.com>",
	"<" .. string.rep("\27", 800) .. "@example.com>",
	"<" .. string.rep("a", 400) .. "@" .. string.rep("b.", 200) .. "com>",
	"<u@mail.ctrl.example.org>",
}
local conn = mt.connect(SOCK, 50, 0.1)
if conn == nil then error("connect") end
assert(mt.conninfo(conn, "host\r\n\27name", "127.0.0.1") == nil)
for i, s in ipairs(senders) do
	assert(mt.macro(conn, SMFIC_MAIL, "i", "HOSTILE" .. i) == nil)
	assert(mt.mailfrom(conn, s) == nil)
	mt.abort(conn)
end
mt.disconnect(conn)
EOF
case_ "hostile senders and DNS text: the conversation completes"
if daemon_start hostile; then
	timeout "$RUN_TIMEOUT" "$MILTERTEST" \
	    -D "SOCK=unix:$T/sock/milter.sock" -s "$T/hostile.lua" \
	    >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	want_rc 0 && ok
else
	ko "daemon did not start"
fi
daemon_stop

case_ "hostile senders: every daemon log line printable, one line, capped"
pre='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z authready-milter: [a-z]+: '
if lines_clean "$T/daemon.log" $LINE_CAP; then
	if grep -v -q -E "$pre" "$T/daemon.log"; then
		grep -v -E "$pre" "$T/daemon.log" | head -n 3 >"$T/err"
		ko "a line without the log prefix (a split line?)"
	elif grep -q 'session=FORGED' "$T/daemon.log" &&
	    ! grep -q 'sender="[^"]*session=FORGED' "$T/daemon.log"; then
		grep 'FORGED' "$T/daemon.log" | head -n 2 >"$T/err"
		ko "a forged field outside the quoted sender"
	else
		ok
	fi
fi

case_ "hostile senders: every one of them logged"
n=0
for i in 1 2 3 4 5 6 7; do
	grep -q "HOSTILE$i" "$T/daemon.log" && n=$((n + 1))
done
[ $n -eq 7 ] && ok || ko "$n of 7 sessions logged"

case_ "DNS text with NUL, BEL, ESC: ctrl.example.org was checked"
st=$(state_of "$T/base.conf" ctrl.example.org)
case $st in
pending | verified | degraded | failed) ok ;;
*) ko "state \"$st\"" ;;
esac

case_ "DNS text with NUL, BEL, ESC: status output printable and capped"
"$AUTHREADY" -c "$T/base.conf" status ctrl.example.org >"$T/status.txt" \
    2>&1
"$AUTHREADY" -c "$T/base.conf" check ctrl.example.org --selector bell \
    >>"$T/status.txt" 2>&1
if lines_clean "$T/status.txt" $LINE_CAP; then
	if grep -q -E 'bell\._domainkey' "$T/status.txt"; then
		ok
	else
		cp "$T/status.txt" "$T/out"
		ko "the bell selector is not reported"
	fi
fi

case_ "the daemon logs of every run are clean"
bad=0
for f in "$T/hold.log" "$T/daemon.log"; do
	lines_clean "$f" $LINE_CAP || bad=1
done
if [ $bad -eq 0 ]; then
	if grep -q -E 'Sanitizer|runtime error:' "$T/hold.log" \
	    "$T/daemon.log"; then
		ko "sanitizer report"
	else
		ok
	fi
fi

finish
