#!/bin/sh
# milter.sh - authready-milter end to end: miltertest scripts against the
# daemon, the registry filled by the authready CLI, DNS from NSD on
# loopback.
#
# SYNOPSIS
#	make check TESTS=tests/integration/milter.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/milter.sh
#
# DESCRIPTION
#	Builds a registry with the CLI against NSD: example.com verified
#	(the seed zone), and in a zone of its own, milter.test, one domain
#	per state - pending, failed (after a 1s PendingWindow), degraded (a
#	DKIM record removed after it was verified) - an IDN domain
#	(bücher.milter.test, pending) and fresh.milter.test, whose records
#	are published but which is registered only while the daemon runs
#	and never refreshed.
#
#	Before the daemons, the door cases: a policy that can quarantine
#	with an inet socket (OnPending quarantine, or a DomainActions
#	quarantine) is refused by -n and by a start (exit 78), and so is a
#	unix socket with UMask 000; UnsafeInetQuarantine yes lets it pass.
#	FleetRefresh no without StoreDSN is refused the same way.
#
#	Then runs six authready-milter daemons at once (foreground, Syslog
#	no: each log is the daemon's stderr, checked line by line), and
#	drives them with the miltertest scripts of tests/milter:
#
#	  A  the defaults (OnPending reject given explicitly), CheckWait 5,
#	     ExemptSenders postmaster@pending.milter.test, ExemptDomains
#	     exempt.milter.test:
#	     actions.lua (one sender per state, <>, malformed, literals),
#	     senders.lua (case, IDN, MAIL FROM subdomain), scope.lua
#	     (InternalHosts, {auth_authen}, missing macros), session.lua
#	     (abort, 50 messages on a connection), hostile.lua (control
#	     bytes and length in the log), exempt.lua (the exempt mailbox
#	     in every envelope form, no check for an exempt domain),
#	     checker.lua (a never-checked
#	     domain checked while MAIL FROM waits), reload.lua (SIGUSR1
#	     with a good and a refused config); then a reload that adds a
#	     quarantine action to this inet daemon is refused
#	  B  a unix socket, OnPending quarantine, OnFailed tag: eom.lua
#	     (the entry is marked door=unix)
#	  C  OnPending monitor, OnFailed tempfail, UnregisteredDomains
#	     accept: monitor.lua, corpus.lua (tests/revpath-corpus.txt)
#	  D  a unix socket, its own registry, DNSServers at
#	     tests/dns-blackhole, DNSTimeout 2, CheckWait 1: blackhole.lua
#	  E  an inet socket, OnPending quarantine, UnsafeInetQuarantine
#	     yes: door.lua (the entry is marked door=inet)
#	  U  its own store, UnregisteredDomains check (the default) with the
#	     global Selector, KeyFile, MXHost and SPFInclude and a short
#	     PendingWindow: unregistered.lua.  Four unregistered domains
#	     (zones unreg-p, -q, -a, -b.test, empty at first) send and are
#	     refused as pending; status and refresh show and check them.
#	     unreg-p.test publishes its records, and once its window has
#	     passed a due round of U verifies it: its mail is accepted.
#	     unreg-q.test publishes, authready refresh --all verifies it:
#	     accepted too.  unreg-a.test sends again, unreg-b.test does not;
#	     U is stopped (which records the uses it noted) and started
#	     again as U2 with an UnregisteredExpiry that lies between the
#	     two domains' last uses: U2's first due round removes
#	     unreg-b.test and keeps unreg-a.test.
#
#	At the end all six (U2 in place of U) get SIGTERM together
#	(libmilter takes up to 5s to notice); each must exit 0, log
#	event=stop and remove its PID file.
#
#	miltertest reports only the letter of a MAIL FROM reply, so the
#	scripts talk to the daemons through a small relay (the tap, a Perl
#	script written below) that logs every reply with its text; see
#	tests/milter/common.lua.
#
#	The cases build on each other and run in order: CASE picks the cases
#	reported, and every case still runs (lib.sh).  Each case prints one
#	PASS or FAIL line; the last line counts them.  The daemons, the tap,
#	the blackhole and NSD are always stopped.
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 NSD, miltertest or perl is
#	not installed, 99 the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir, NSD (from make check); AUTHREADY,
#	AUTHREADY_MILTER, MILTERTEST override the programs; MILTER_VERBOSE=1
#	shows the daemons' logs at the end.

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
LUADIR=$top_srcdir/tests/milter
CORPUS=$top_srcdir/tests/revpath-corpus.txt
KEY=$top_srcdir/tests/keys/rsa2048.pem
SEEDMX=feedback-smtp.ap-northeast-1.amazonses.com
ZONE=milter.test
# Root runs the daemons as this user (UserID) and the CLI through setpriv.
DUSER=nobody
DGROUP=nogroup
getent group "$DGROUP" >/dev/null 2>&1 || DGROUP=nobody

# Seconds: CheckWait of A, CheckWait and DNSTimeout of D (longer, so the
# check outlasts the wait); PendingWindow of the grace config; tenths of
# a second a daemon may take to start and to stop.
CHECK_WAIT=5
CHECK_WAIT_BH=1
DNS_TIMEOUT_BH=2
SHORT_WINDOW=1
START_WAIT_TENTHS=100
STOP_WAIT_TENTHS=150
PORT_TRIES=20
RUN_TIMEOUT=60
SHOW_LINES=30
SHOW_COLUMNS=300

if [ -z "$MILTERTEST" ] || [ ! -x "$MILTERTEST" ]; then
	echo "SKIP: miltertest not found (install the miltertest package)"
	exit 77
fi
if ! command -v perl >/dev/null 2>&1; then
	echo "SKIP: perl not found (the reply tap is a Perl script)"
	exit 77
fi
if [ "$(id -u)" -eq 0 ] && { ! command -v setpriv >/dev/null 2>&1 ||
    ! getent passwd "$DUSER" >/dev/null 2>&1 ||
    ! getent group "$DGROUP" >/dev/null 2>&1; }; then
	echo "SKIP: as root this test needs setpriv and $DUSER:$DGROUP"
	exit 77
fi
for p in "$AUTHREADY" "$AUTHREADY_MILTER" "$BLACKHOLE"; do
	if [ ! -x "$p" ]; then
		echo "ERROR: $p not built" >&2
		exit 99
	fi
done

# shellcheck source=tests/integration/nsd-harness.sh
. "$top_srcdir/tests/integration/nsd-harness.sh"
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
# Seconds, for U: its PendingWindow (its unregistered domains are due
# after it: unreg-p.test must publish before); the least time between the
# first and second mail of unreg-a.test; U's UnregisteredExpiry, longer
# than U runs, and whose step (a sixteenth: last uses are recorded at
# most once a step) is half the gap, so the second mail is recorded;
# tenths of a second to wait for a due round (one every 15s).
UNREG_WINDOW=$(scaled 6)
UNREG_GAP=$(scaled 8)
UNREG_EXPIRY=$((8 * UNREG_GAP))
UNREG_ROUND_TENTHS=$(scaled 300)

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-milter.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
LIB_OUT=$T/out
LIB_ERR=$T/err
# The CLI runs as the daemon's user (cli of lib.sh).
CLI_AS=as_daemon_user
# The daemon drops to $DUSER: it must reach its state, config and PID file.
chmod 0755 "$T"
DPID=
DLOG=
TAP_PID=
BH_PID=

# cleanup - stop everything we started.
cleanup() {
	for f in "$T"/run/*.dpid; do
		[ -f "$f" ] && stop_pid "$(cat "$f")"
	done
	stop_pid "$TAP_PID" "$BH_PID"
	TAP_PID=
	BH_PID=
	if [ "${MILTER_VERBOSE:-0}" = 1 ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $f"
			cut -c1-$SHOW_COLUMNS "$f" | cat -v
		done
	fi
}

: >"$T/out"
: >"$T/err"

# cli_ok CONF ARGS... - cli, which must exit 0 or 1 (a refresh that
# finds problems exits 1); a setup step, not a case.
cli_ok() {
	cli "$@"
	case $rc in
	0 | 1) return 0 ;;
	esac
	case_ "setup: authready $*"
	ko "exit $rc"
}

# state_of CONF DOMAIN - its readiness state.
state_of() {
	as_daemon_user "$AUTHREADY" -c "$1" status "$2" --json \
	    >"$T/state.out" 2>"$T/state.err"
	awk -f "$top_srcdir/tests/integration/jsonflat.awk" "$T/state.out" |
	    awk -F '\t' '$1 == ".domains.0.state" { print $2 }'
}

# want_state CONF DOMAIN STATE - a setup step: the domain is in STATE.
want_state() {
	case_ "setup: $2 is $3"
	got=$(state_of "$1" "$2")
	if [ "$got" = "$3" ]; then
		ok
	else
		evidence "$T/state.out" "$T/state.err"
		ko "state \"$got\""
	fi
}

# reload_zone - bump the serial of $ZONE, make NSD serve it again.
reload_zone() {
	serial=$((serial + 1))
	sed "s/( [0-9]* 3600/( $serial 3600/" "$ZF" >"$ZF.new" &&
	    mv "$ZF.new" "$ZF"
	nsd_reload "$ZONE" "$serial"
}

# publish DOMAIN - add the lines "records DOMAIN" prints to the zone.
publish() {
	as_daemon_user "$AUTHREADY" -c "$T/reg.conf" records "$1" \
	    2>/dev/null | grep -v '^;' >>"$ZF"
}

# add DOMAIN - register DOMAIN with the seed's expectations.
add() {
	cli "$T/reg.conf" domain add "$1" --selector 1234rpr \
	    --key "$T/key.pem" --mx "$SEEDMX" --spf-include amazonses.com
	[ "$rc" -eq 0 ] && return 0
	case_ "setup: authready domain add $1"
	ko "exit $rc"
}

# Daemons -------------------------------------------------------------------
#
# All four run at once (a stop takes libmilter up to 5s; they are stopped
# together at the end).  For daemon NAME: $T/NAME.conf, its log (stderr)
# $T/NAME.log, its PID in $T/run/NAME.dpid, its socket in $T/NAME.sock.
DAEMONS=

# conf_write NAME SOCKET STATEDIR DNS EXTRA - $T/NAME.conf.
conf_write() {
	{
		echo "# written by milter.sh"
		echo "Socket $2"
		echo "StateDir $3"
		echo "DNSServers $4"
		echo "DNSTimeout 1"
		echo "Syslog no"
		# the MAIL FROM decision alone (fromcheck.sh tests the From)
		echo "FromCheck off"
		echo "PidFile $T/run/$1.pid"
		echo "SendmailPath $T/bin/sendmail -t -oi"
		echo "NotifyFrom noreply@operator.example"
		echo "CheckWait $CHECK_WAIT"
		[ "$(id -u)" -eq 0 ] && echo "UserID $DUSER:$DGROUP"
		printf '%s\n' "$5"
	} >"$T/$1.conf"
	chmod 0644 "$T/$1.conf"
}

# dpid NAME - the PID of daemon NAME, or nothing.
dpid() {
	cat "$T/run/$1.dpid" 2>/dev/null
}

# daemon_try NAME SOCKET - start authready-milter with $T/NAME.conf; 0
# once it listens, 1 when the socket was taken, 2 on another failure.
daemon_try() {
	"$AUTHREADY_MILTER" -c "$T/$1.conf" -f </dev/null \
	    >"$T/$1.stdout" 2>"$T/$1.log" &
	echo $! >"$T/run/$1.dpid"
	i=0
	while [ $i -lt $START_WAIT_TENTHS ]; do
		if grep -q 'event=start ' "$T/$1.log" 2>/dev/null; then
			echo "$2" >"$T/$1.sock"
			return 0
		fi
		if ! kill -0 "$(dpid "$1")" 2>/dev/null; then
			wait "$(dpid "$1")" 2>/dev/null
			rm -f "$T/run/$1.dpid"
			grep -q 'cannot open the milter socket' "$T/$1.log" &&
			    return 1
			return 2
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 2
}

# daemon_start NAME EXTRA [SOCKET STATEDIR DNS] - start a daemon with
# EXTRA config lines on a free loopback port (or SOCKET); a case.
daemon_start() {
	case_ "daemon $1 starts"
	n=0
	while [ $n -lt $PORT_TRIES ]; do
		if [ -n "${3:-}" ]; then
			sock=$3
		else
			sock=inet:$(shuf -i 20000-32000 -n 1)@127.0.0.1
		fi
		conf_write "$1" "$sock" "${4:-$T/state}" \
		    "${5:-127.0.0.1:$NSD_PORT}" "$2"
		daemon_try "$1" "$sock"
		case $? in
		0)
			DAEMONS="$DAEMONS $1"
			ok
			return 0
			;;
		2) break ;;
		esac
		n=$((n + 1))
	done
	cp "$T/$1.log" "$T/err" 2>/dev/null
	ko "authready-milter did not start"
	return 1
}

# use_daemon NAME - the scripts talk to daemon NAME (through the tap); sets DLOG
# and DPID for mt.  False when NAME is not running.
use_daemon() {
	DLOG=$T/$1.log
	DPID=$(dpid "$1")
	[ -n "$DPID" ] && cp "$T/$1.sock" "$T/upstream"
}

# daemons_stop - SIGTERM to every daemon at once; each must stop cleanly:
# exit 0, "event=stop" logged, PID file removed.
daemons_stop() {
	for d in $DAEMONS; do
		case_ "daemon $d: PID file holds its PID"
		if [ "$(cat "$T/run/$d.pid" 2>/dev/null)" = "$(dpid "$d")" ]
		then
			ok
		else
			ko "PID file $T/run/$d.pid does not hold $(dpid "$d")"
		fi
		kill -TERM "$(dpid "$d")"
	done
	i=0
	while [ $i -lt $STOP_WAIT_TENTHS ]; do
		up=0
		for d in $DAEMONS; do
			kill -0 "$(dpid "$d")" 2>/dev/null && up=1
		done
		[ $up -eq 0 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	for d in $DAEMONS; do
		case_ "daemon $d stops on SIGTERM: exit 0, PID file removed"
		p=$(dpid "$d")
		if kill -0 "$p" 2>/dev/null; then
			kill -KILL "$p"
			wait "$p" 2>/dev/null
			rm -f "$T/run/$d.dpid"
			ko "still running $((STOP_WAIT_TENTHS / 10))s after SIGTERM"
			continue
		fi
		wait "$p"
		st=$?
		rm -f "$T/run/$d.dpid"
		tail -n 5 "$T/$d.log" >"$T/err"
		if [ $st -ne 0 ]; then
			ko "exit status $st"
		elif [ -e "$T/run/$d.pid" ]; then
			ko "PID file $T/run/$d.pid left behind"
		elif ! grep -q 'event=stop ' "$T/$d.log"; then
			ko "no event=stop in the log"
		else
			: >"$T/err"
			ok
		fi
		log_clean "$d"
	done
	DAEMONS=
}

# daemon_stop1 NAME - daemons_stop for NAME alone; the others go on.
daemon_stop1() {
	ds_keep=
	for d in $DAEMONS; do
		[ "$d" = "$1" ] || ds_keep="$ds_keep $d"
	done
	DAEMONS=$1
	daemons_stop
	DAEMONS=$ds_keep
}

# log_clean NAME - every line of the daemon's log is one well-formed,
# printable line: control bytes in senders never split or smuggle lines.
log_clean() {
	case_ "daemon $1: every log line is one printable line"
	f=$T/$1.log
	pre='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z authready-milter: [a-z]+: '
	cp "$f" "$T/err"
	if grep -q -E 'Sanitizer|runtime error:' "$f"; then
		ko "sanitizer report"
	elif [ "$(tr -d '\n\040-\176' <"$f" | wc -c)" -ne 0 ]; then
		ko "raw control or non-ASCII bytes in the log"
	elif grep -v -q -E "$pre" "$f"; then
		grep -v -E "$pre" "$f" >"$T/err"
		ko "a line without the log prefix (a split line?)"
	elif [ "$(awk 'length > 2100' "$f" | wc -l)" -ne 0 ]; then
		ko "a log line longer than 2100 octets"
	else
		: >"$T/err"
		ok
	fi
}

# mt NAME SCRIPT [VAR=VALUE...] - run tests/milter/SCRIPT with the common
# variables and VAR (miltertest -D); its PASS and
# FAIL lines count; a script that dies is one more failure.
mt() {
	m_name=$1
	m_script=$2
	shift 2
	for m_def in "LIB=$LUADIR" "SOCK=inet:$TAP_PORT@127.0.0.1" \
	    "TAP=$T/tap.log" "LOG=$DLOG" "SCRIPT=$m_script" "DPID=${DPID:-0}"; do
		set -- "$@" "$m_def"
	done
	m_n=$#
	while [ $m_n -gt 0 ]; do
		set -- "$@" -D "$1"
		shift
		m_n=$((m_n - 1))
	done
	timeout "$RUN_TIMEOUT" "$MILTERTEST" "$@" -s "$LUADIR/$m_script" \
	    >"$T/mt.out" 2>"$T/mt.err" </dev/null
	m_rc=$?
	tally "$T/mt.out" "$m_name: "
	if [ $m_rc -ne 0 ]; then
		case_ "$m_name: $m_script runs to the end"
		cp "$T/mt.out" "$T/out"
		cp "$T/mt.err" "$T/err"
		ko "miltertest exited $m_rc"
	fi
}

# The tap: a relay that logs each milter reply; see tests/milter/common.lua.
cat >"$T/tap.pl" <<'EOF'
use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use IO::Socket::UNIX;
use Socket qw(AF_UNIX IPPROTO_TCP SOCK_STREAM TCP_NODELAY);

my ($portfile, $upfile, $logfile) = @ARGV;
my $FRAME_MAX = 1 << 20;
$SIG{CHLD} = 'IGNORE';
$SIG{PIPE} = 'IGNORE';

my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Listen => 64, ReuseAddr => 1, Proto => 'tcp') or die "tap: listen: $!\n";
open(my $pf, '>', "$portfile.new") or die "tap: $portfile: $!\n";
print $pf $l->sockport, "\n";
close($pf);
rename("$portfile.new", $portfile) or die "tap: rename: $!\n";

sub upstream {
	open(my $f, '<', $upfile) or return undef;
	my $u = <$f>;
	close($f);
	return undef unless defined $u;
	chomp($u);
	return IO::Socket::UNIX->new(Peer => $1, Type => SOCK_STREAM)
	    if $u =~ /^(?:unix|local):(.*)$/;
	return IO::Socket::INET->new(PeerAddr => $2, PeerPort => $1,
	    Proto => 'tcp') if $u =~ /^inet:(\d+)@(.*)$/;
	return undef;
}

sub put {
	my ($fh, $data) = @_;
	while (length $data) {
		my $n = syswrite($fh, $data);
		return 0 unless defined $n && $n > 0;
		substr($data, 0, $n, '');
	}
	return 1;
}

sub escape {
	my ($p) = @_;
	$p =~ s/\0\z//;
	$p =~ s/([^\x20-\x5b\x5d-\x7e])/$1 eq "\0" ? '\0'
	    : sprintf('\x%02x', ord($1))/ge;
	return $p;
}

# nodelay SOCKET - one small frame at a time: no Nagle delay.
sub nodelay {
	my ($s) = @_;
	setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1) if $s->sockdomain != AF_UNIX;
}

# quickack SOCKET - acknowledge at once (Linux; re-armed after each read):
# miltertest sends the macros and MAIL FROM as two small writes, and
# Nagle holds the second until the first is acknowledged.
my $TCP_QUICKACK = 12;
sub quickack {
	my ($s) = @_;
	setsockopt($s, IPPROTO_TCP, $TCP_QUICKACK, 1) if $^O eq 'linux';
}

sub relay {
	my ($c) = @_;
	my $u = upstream() or return;
	nodelay($c);
	nodelay($u);
	quickack($c);
	open(my $log, '>>', $logfile) or return;
	my $sel = IO::Select->new($c, $u);
	my $buf = '';
	for (;;) {
		for my $fh ($sel->can_read) {
			my $n = sysread($fh, my $data, 65536);
			return unless $n;
			if ($fh == $c) {
				quickack($c);
				put($u, $data) or return;
				next;
			}
			$buf .= $data;
			while (length($buf) >= 4) {
				my $len = unpack('N', $buf);
				return if $len < 1 || $len > $FRAME_MAX;
				last if length($buf) < 4 + $len;
				my $f = substr($buf, 0, 4 + $len, '');
				syswrite($log, substr($f, 4, 1) . ' ' .
				    escape(substr($f, 5)) . "\n");
				put($c, $f) or return;
			}
		}
	}
}

for (;;) {
	my $c = $l->accept or next;
	my $pid = fork();
	if (!defined $pid || $pid) {
		close($c);
		next;
	}
	close($l);
	relay($c);
	exit(0);
}
EOF

# wait_until T - until the clock reaches unix time T (what U's cases
# test is the passing of time: a window, an expiry).
wait_until() {
	while [ "$(date +%s)" -lt "$1" ]; do
		sleep 0.2
	done
}

# wait_log NEEDLE TENTHS FILE... - until a line of the FILEs holds every
# word of NEEDLE (plain, in any order); false after TENTHS tenths.
wait_log() {
	wl_needle=$1
	wl_max=$2
	shift 2
	i=0
	while [ $i -lt "$wl_max" ]; do
		# shellcheck disable=SC2086
		cat "$@" 2>/dev/null | awk -v n="$wl_needle" '
		    BEGIN { k = split(n, w, " ") }
		    { for (j = 1; j <= k; j++) if (index($0, w[j]) == 0) next
		      found = 1 }
		    END { exit !found }' && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# unreg_zone NAME - an empty zone NAME.test for an unregistered sender.
unreg_zone() {
	cat >"$T/zones/$1.test.zone" <<EOF
; $1.test - written by milter.sh; the records come when the test says.
\$ORIGIN $1.test.
\$TTL 300
@	SOA	ns.$1.test. hostmaster.$1.test. ( 1 3600 600 86400 300 )
@	NS	ns.$1.test.
ns	A	127.0.0.1
EOF
}

# unreg_publish NAME - NAME.test publishes what the global settings of
# U expect (the records of a scratch registration with the same values).
unreg_publish() {
	uz=$NSD_DIR/zones/$1.test.zone
	as_daemon_user "$AUTHREADY" -c "$T/tmp.conf" domain add "$1.test" \
	    --selector 1234rpr --key "$T/key.pem" --mx "$SEEDMX" \
	    --spf-include amazonses.com >/dev/null 2>&1
	as_daemon_user "$AUTHREADY" -c "$T/tmp.conf" records "$1.test" \
	    2>/dev/null | grep -v '^;' >>"$uz"
	sed "s/( 1 3600/( 2 3600/" "$uz" >"$uz.new" && mv "$uz.new" "$uz"
	nsd_reload "$1.test" 2
}

# Setup ---------------------------------------------------------------------

mkdir "$T/zones" "$T/state" "$T/state2" "$T/state3" "$T/run" "$T/bin"
for z in unreg-p unreg-q unreg-a unreg-b; do
	unreg_zone $z
done
cat >"$T/zones/$ZONE.zone" <<EOF
; $ZONE - written by milter.sh; records are added as the test goes.
\$ORIGIN $ZONE.
\$TTL 300
@	SOA	ns.$ZONE. hostmaster.$ZONE. ( 1 3600 600 86400 300 )
@	NS	ns.$ZONE.
ns	A	127.0.0.1
EOF
serial=1

nsd_start "$top_srcdir/tests/zones" "$T/zones"
at_exit cleanup
ZF=$NSD_DIR/zones/$ZONE.zone

# A sendmail stand-in for confirmation mail (the CLI and the checker
# thread send one when a domain becomes verified).
cat >"$T/bin/sendmail" <<EOF
#!/bin/sh
while IFS= read -r l; do :; done
exit 0
EOF
chmod 0755 "$T/bin" "$T/bin/sendmail"
cp "$KEY" "$T/key.pem"

cat >"$T/reg.conf" <<EOF
# written by milter.sh
DNSServers 127.0.0.1:$NSD_PORT
StateDir $T/state
SendmailPath $T/bin/sendmail -t -oi
NotifyFrom noreply@operator.example
EOF
cp "$T/reg.conf" "$T/grace.conf"
echo "PendingWindow ${SHORT_WINDOW}s" >>"$T/grace.conf"
sed "s|^StateDir .*|StateDir $T/state2|" "$T/reg.conf" >"$T/reg2.conf"
chmod 0644 "$T"/*.conf "$T/key.pem"
if [ "$(id -u)" -eq 0 ]; then
	chown -R "$DUSER:$DGROUP" "$T/state" "$T/state2" "$T/state3" \
	    "$T/run" "$T/key.pem"
fi

# failed.milter.test first: it needs PendingWindow to pass.
add "failed.$ZONE"
cli_ok "$T/reg.conf" refresh "failed.$ZONE"
window_start=$(date +%s)

add example.com
cli_ok "$T/reg.conf" refresh example.com
add "pending.$ZONE"
cli_ok "$T/reg.conf" refresh "pending.$ZONE"
add "bücher.$ZONE"
cli_ok "$T/reg.conf" refresh "xn--bcher-kva.$ZONE"

# degraded: verified, then its DKIM key is removed.
add "degraded.$ZONE"
publish "degraded.$ZONE"
# fresh: records published, registered later, while daemon A runs.
sed "s|^StateDir .*|StateDir $T/tmpstate|" "$T/reg.conf" >"$T/tmp.conf"
mkdir "$T/tmpstate"
[ "$(id -u)" -eq 0 ] && chown "$DUSER:$DGROUP" "$T/tmpstate"
cli_ok "$T/tmp.conf" domain add "fresh.$ZONE" --selector 1234rpr \
    --key "$T/key.pem" --mx "$SEEDMX" --spf-include amazonses.com
as_daemon_user "$AUTHREADY" -c "$T/tmp.conf" records "fresh.$ZONE" \
    2>/dev/null | grep -v '^;' >>"$ZF"
reload_zone
cli_ok "$T/reg.conf" refresh "degraded.$ZONE"
want_state "$T/reg.conf" "degraded.$ZONE" verified
grep -v "_domainkey\\.degraded\\.$ZONE" "$ZF" >"$ZF.new" && mv "$ZF.new" "$ZF"
reload_zone
cli_ok "$T/reg.conf" refresh "degraded.$ZONE"

while [ $(($(date +%s) - window_start)) -le $SHORT_WINDOW ]; do
	sleep 0.2
done
cli_ok "$T/grace.conf" refresh "failed.$ZONE"

want_state "$T/reg.conf" example.com verified
want_state "$T/reg.conf" "pending.$ZONE" pending
want_state "$T/reg.conf" "failed.$ZONE" failed
want_state "$T/reg.conf" "degraded.$ZONE" degraded
want_state "$T/reg.conf" "xn--bcher-kva.$ZONE" pending

# The tap.
: >"$T/tap.log"
: >"$T/upstream"
perl "$T/tap.pl" "$T/tap.port" "$T/upstream" "$T/tap.log" </dev/null \
    >/dev/null 2>"$T/tap.err" &
TAP_PID=$!
i=0
while [ ! -s "$T/tap.port" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
TAP_PORT=$(tr -dc 0-9 <"$T/tap.port" 2>/dev/null)
if [ -z "$TAP_PORT" ]; then
	cat "$T/tap.err" >&2
	echo "ERROR: the reply tap did not start" >&2
	exit 99
fi

# The daemons ----------------------------------------------------------------

"$BLACKHOLE" "$T/bh.port" </dev/null >/dev/null 2>"$T/bh.err" &
BH_PID=$!
i=0
while [ ! -s "$T/bh.port" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
bh=$(tr -dc 0-9 <"$T/bh.port" 2>/dev/null)
mkdir "$T/sock"
[ "$(id -u)" -eq 0 ] && chown "$DUSER:$DGROUP" "$T/sock"

# The door: a quarantine action needs a socket only the MTA can reach.
# door_refused NAME SOCKET EXTRA WANT - -n and a start with that config
# both exit 78 with WANT in stderr; a case each.
door_refused() {
	conf_write "$1" "$2" "$T/state" "127.0.0.1:$NSD_PORT" "$3"
	case_ "door: $1: -n exits 78"
	"$AUTHREADY_MILTER" -n -c "$T/$1.conf" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -ne 78 ]; then
		ko "exit $rc"
	elif ! grep -q -F -e "$4" "$T/err"; then
		ko "stderr lacks \"$4\""
	else
		: >"$T/err"
		ok
	fi
	case_ "door: $1: a start exits 78"
	timeout "$RUN_TIMEOUT" "$AUTHREADY_MILTER" -f -c "$T/$1.conf" \
	    </dev/null >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -ne 78 ]; then
		ko "exit $rc"
	elif ! grep -q -F -e "$4" "$T/err"; then
		ko "stderr lacks \"$4\""
	else
		: >"$T/err"
		ok
	fi
	rm -f "$T/run/$1.pid"
}

dport=$(shuf -i 20000-32000 -n 1)
door_refused door-inet "inet:$dport@127.0.0.1" "OnPending quarantine" \
    "UnsafeInetQuarantine yes"
door_refused door-inet-domainactions "inet:$dport@127.0.0.1" \
    "DomainActions pending.$ZONE quarantine pending" \
    "any local user can connect to inet:$dport@127.0.0.1"
door_refused door-inet-no-queue-check "inet:$dport@127.0.0.1" \
    "OnPending quarantine
UnsafeInetQuarantine yes
HoldQueueCommand none" "UnsafeInetQuarantine needs HoldQueueCommand"
door_refused door-umask "unix:$T/sock/door.sock" "OnPending quarantine
UMask 000" "UMask 000 lets every local user connect"
# Not a door, the same refusal: a host alone that would leave its due
# rounds to a fleet's checkers would never refresh.
door_refused fleetrefresh-no-alone "unix:$T/sock/fleet.sock" \
    "FleetRefresh no" "FleetRefresh no needs StoreDSN"

case_ "door: inet without a quarantine action: -n accepts"
conf_write door-inet-tag "inet:$dport@127.0.0.1" "$T/state" \
    "127.0.0.1:$NSD_PORT" "OnPending tag"
if "$AUTHREADY_MILTER" -n -c "$T/door-inet-tag.conf" >"$T/out" 2>"$T/err"
then
	: >"$T/out"
	ok
else
	ko "refused"
fi
case_ "door: UnsafeInetQuarantine yes: -n accepts"
conf_write door-inet-unsafe "inet:$dport@127.0.0.1" "$T/state" \
    "127.0.0.1:$NSD_PORT" "OnPending quarantine
UnsafeInetQuarantine yes"
if "$AUTHREADY_MILTER" -n -c "$T/door-inet-unsafe.conf" >"$T/out" \
    2>"$T/err"; then
	: >"$T/out"
	ok
else
	ko "refused"
fi

# A: the defaults (OnPending given, for reload.lua to change), one exempt
# sender and one exempt domain.
daemon_start a "OnPending reject
ExemptSenders postmaster@pending.$ZONE
ExemptDomains exempt.$ZONE"
# B: actions at end of message, on a unix socket (a quarantine action
# needs one).
daemon_start b "OnPending quarantine
OnFailed tag" "unix:$T/sock/b.sock"
# C: monitor and tempfail; unregistered senders are not checked.
daemon_start c "OnPending monitor
OnFailed tempfail
UnregisteredDomains accept"
# D: a DNS server that never answers, its own registry, a unix socket.
if [ -n "$bh" ]; then
	daemon_start d "CheckWait $CHECK_WAIT_BH
DNSTimeout $DNS_TIMEOUT_BH" "unix:$T/sock/milter.sock" "$T/state2" \
	    "127.0.0.1:$bh"
else
	case_ "dns-blackhole starts"
	cp "$T/bh.err" "$T/err"
	ko "no port"
fi

# E: a quarantine action on an inet socket, the risk accepted.
daemon_start e "OnPending quarantine
UnsafeInetQuarantine yes"

# U: unregistered domains (see the header).  Its first cases run now;
# the rest after the other daemons' scripts, when the window has passed.
UNREG_CONF="PendingWindow ${UNREG_WINDOW}s
Selector 1234rpr
KeyFile $T/key.pem
MXHost $SEEDMX
SPFInclude amazonses.com"
u_t0=
if daemon_start u "$UNREG_CONF
UnregisteredExpiry ${UNREG_EXPIRY}s" "" "$T/state3" && use_daemon u; then
	u_t0=$(date +%s)
	mt u unregistered.lua PHASE=1
	unreg_publish unreg-p

	case_ "u: status lists the unregistered domains, marked"
	cli "$T/u.conf" status
	if [ $rc -ne 0 ]; then
		ko "exit $rc"
	elif [ "$(grep -c '^unreg-[pqab]\.test .*(unregistered)' "$T/out")" \
	    -ne 4 ]; then
		ko "not every unreg-*.test listed as unregistered"
	else
		ok
	fi
	case_ "u: status --json: registered false, state, last use"
	cli "$T/u.conf" status --json
	awk -f "$top_srcdir/tests/integration/jsonflat.awk" "$T/out" \
	    >"$T/flat" 2>>"$T/err"
	i=$(awk -F '\t' '$2 == "unreg-p.test" && $1 ~ /\.domain$/ {
	    sub(/\.domain$/, "", $1); print $1 }' "$T/flat")
	if [ -z "$i" ]; then
		ko "unreg-p.test not in the list"
	elif ! grep -q "^$i\.registered	false\$" "$T/flat" ||
	    ! grep -q "^$i\.state	pending\$" "$T/flat" ||
	    ! grep -q "^$i\.last_used	20" "$T/flat"; then
		ko "$(grep "^$i\." "$T/flat" | tr '\n' ' ')"
	else
		ok
	fi
	case_ "u: status DOMAIN shows one unregistered domain"
	cli "$T/u.conf" status unreg-b.test
	if [ $rc -ne 0 ] || ! grep -q '^unreg-b\.test: pending since' \
	    "$T/out" || ! grep -q 'unregistered: checked with the global' \
	    "$T/out"; then
		ko "exit $rc"
	else
		ok
	fi
	case_ "u: refresh DOMAIN checks an unregistered domain"
	cli "$T/u.conf" refresh unreg-b.test
	if [ $rc -ne 0 ] || ! grep -q '^state: pending -> pending' "$T/out"
	then
		ko "exit $rc"
	else
		ok
	fi
	case_ "u: status of a domain neither registered nor seen: exit 1"
	cli "$T/u.conf" status never-seen.test
	if [ $rc -ne 1 ] || ! grep -q 'not registered' "$T/err"; then
		ko "exit $rc"
	else
		: >"$T/err"
		ok
	fi
fi

if use_daemon a; then
	mt a actions.lua
	mt a senders.lua
	mt a scope.lua
	mt a session.lua
	mt a hostile.lua
	mt a exempt.lua

	add "fresh.$ZONE"
	mt a checker.lua "CHECK_WAIT=$CHECK_WAIT"
	want_state "$T/reg.conf" "fresh.$ZONE" verified

	# reload.lua installs these with cp and sends SIGUSR1 itself.  The
	# invalid one would make pending a 550 again if any of it were used.
	sed 's/^OnPending .*/OnPending tempfail/' "$T/a.conf" \
	    >"$T/a-tempfail.conf"
	sed '$a\
OnUnknown reject' "$T/a.conf" >"$T/a-invalid.conf"
	chmod 0644 "$T"/a-*.conf
	case_ "setup: a-invalid.conf is refused by authready-milter -n"
	if "$AUTHREADY_MILTER" -n -c "$T/a-invalid.conf" >"$T/out" \
	    2>"$T/err"; then
		ko "accepted"
	else
		: >"$T/out"
		: >"$T/err"
		ok
	fi
	# Without Selector no unregistered domain can ever be verified (its
	# DKIM record is missing): -n says so, and says nothing with one.
	case_ "a: -n warns of UnregisteredDomains check without Selector"
	grep -v '^Selector\|^UnregisteredDomains' "$T/a.conf" |
	    sed '$a\
UnregisteredDomains check' >"$T/a-nosel.conf"
	sed '$a\
Selector 1234rpr' "$T/a-nosel.conf" >"$T/a-sel.conf"
	chmod 0644 "$T/a-nosel.conf" "$T/a-sel.conf"
	"$AUTHREADY_MILTER" -n -c "$T/a-nosel.conf" >"$T/out" 2>"$T/err"
	rc=$?
	"$AUTHREADY_MILTER" -n -c "$T/a-sel.conf" >"$T/out2" 2>"$T/err2"
	rc2=$?
	if [ $rc -ne 0 ] || [ $rc2 -ne 0 ]; then
		ko "exit $rc and $rc2"
	elif ! grep -q 'warning: UnregisteredDomains check without Selector' \
	    "$T/err"; then
		ko "no warning without Selector"
	elif grep -q 'warning' "$T/err2"; then
		ko "a warning with Selector: $(cat "$T/err2")"
	else
		ok
	fi
	mt a reload.lua "CONF=$T/a.conf" "CONF_TEMPFAIL=$T/a-tempfail.conf" \
	    "CONF_INVALID=$T/a-invalid.conf"

	# A listens on TCP: a reload cannot add a quarantine action, even
	# one whose file names a unix Socket (the open socket is judged).
	# (reload.lua leaves a.conf invalid: start from a-tempfail.conf.)
	case_ "a: a reload adding a quarantine action is refused"
	cp "$T/a.conf" "$T/a-saved.conf"
	before=$(grep -c 'event=reload-failed' "$T/a.log")
	sed -e 's/^OnPending .*/OnPending quarantine/' \
	    -e "s|^Socket .*|Socket unix:$T/sock/a.sock|" \
	    "$T/a-tempfail.conf" >"$T/a.conf"
	kill -USR1 "$(dpid a)"
	i=0
	while [ "$(grep -c 'event=reload-failed' "$T/a.log")" -le "$before" ] &&
	    [ $i -lt $START_WAIT_TENTHS ]; do
		sleep 0.1
		i=$((i + 1))
	done
	cp "$T/a-saved.conf" "$T/a.conf"
	if grep 'event=reload-failed' "$T/a.log" | tail -n 1 |
	    grep -q 'needs a unix Socket'; then
		ok
	else
		tail -n 3 "$T/a.log" >"$T/err"
		ko "no refused reload naming the socket"
	fi
fi

if use_daemon b; then
	mt b eom.lua
	case_ "b: the entry is marked as having come through a unix socket"
	as_daemon_user "$AUTHREADY" -c "$T/reg.conf" status "pending.$ZONE" \
	    --json >"$T/out" 2>"$T/err"
	if ! grep -q 'event=quarantine domain=pending.milter.test queue_id=EOMQUARANTINE1 door=unix' "$T/b.log"; then
		grep 'event=quarantine' "$T/b.log" >"$T/err"
		ko "no door=unix in the log"
	elif ! grep -q '"queue_id": "EOMQUARANTINE1", "held_at": "[^"]*", "sender": "user@pending.milter.test", "door": "unix"' "$T/out"; then
		ko "status does not show the sender and door=unix"
	else
		: >"$T/out"
		ok
	fi
	case_ "b: the quarantined message is held under pending.$ZONE"
	as_daemon_user "$AUTHREADY" -c "$T/reg.conf" status "pending.$ZONE" \
	    --json >"$T/out" 2>"$T/err"
	if grep -q '"EOMQUARANTINE1"' "$T/out"; then
		: >"$T/out"
		ok
	else
		ko "queue ID EOMQUARANTINE1 not in the held list"
	fi
fi

if use_daemon c; then
	mt c monitor.lua
	if [ -f "$CORPUS" ]; then
		mt c corpus.lua "CORPUS=$CORPUS"
	else
		echo "SKIP: c: corpus: $CORPUS not found"
	fi
fi

if use_daemon e; then
	mt e door.lua
	case_ "e: status shows the entry as come through an inet socket"
	as_daemon_user "$AUTHREADY" -c "$T/reg.conf" status "pending.$ZONE" \
	    --json >"$T/out" 2>"$T/err"
	if grep -q '"queue_id": "DOORINET1", [^}]*"door": "inet"' "$T/out"
	then
		: >"$T/out"
		ok
	else
		ko "DOORINET1 is not listed with door inet"
	fi
fi

if use_daemon d; then
	# Registered only now, so no periodic round of D has checked it.
	cli_ok "$T/reg2.conf" domain add "never.$ZONE" --selector 1234rpr \
	    --key "$T/key.pem" --mx "$SEEDMX" --spf-include amazonses.com
	mt d blackhole.lua "CHECK_WAIT=$CHECK_WAIT_BH"
fi

if [ -n "$u_t0" ] && use_daemon u; then
	wait_until $((u_t0 + UNREG_GAP))
	u_t1=$(date +%s)
	mt u unregistered.lua PHASE=2
	case_ "u: a due round re-checks the published unregistered domain: verified"
	if wait_log "event=check domain=unreg-p.test to=verified" \
	    "$UNREG_ROUND_TENTHS" "$T/u.log"; then
		ok
	else
		cp "$T/u.log" "$T/err"
		ko "no event=check to=verified for unreg-p.test"
	fi
	mt u unregistered.lua PHASE=3
	unreg_publish unreg-q
	case_ "u: refresh --all re-checks the unregistered domains"
	cli "$T/u.conf" refresh --all
	if ! grep -q '^unreg-q\.test .* -> verified' "$T/out"; then
		ko "exit $rc; unreg-q.test not verified"
	else
		ok
	fi
	mt u unregistered.lua PHASE=4

	# unreg-b.test was last used at u_t0, unreg-a.test at u_t1 or later
	# (U records the use at its next round or when it stops): U2 gets an
	# expiry between the two.
	daemon_stop1 u
	u_gap=$((u_t1 - u_t0))
	u_expiry=$(($(date +%s) - u_t0 - u_gap / 2))
	daemon_start u2 "$UNREG_CONF
UnregisteredExpiry ${u_expiry}s" "" "$T/state3"
	case_ "u2: the unregistered domain unused for the expiry is removed"
	if wait_log "event=prune domain=unreg-b.test" "$UNREG_ROUND_TENTHS" \
	    "$T/u2.log"; then
		ok
	else
		cp "$T/u2.log" "$T/err"
		ko "no event=prune for unreg-b.test"
	fi
	case_ "u2: the unregistered domain used since is kept"
	cli "$T/u2.conf" status unreg-a.test
	if grep -q 'event=prune domain=unreg-a\.test' "$T/u2.log"; then
		cp "$T/u2.log" "$T/err"
		ko "unreg-a.test was removed"
	elif [ $rc -ne 0 ]; then
		ko "status unreg-a.test: exit $rc"
	else
		ok
	fi
	case_ "u2: the removed state is gone from the store"
	cli "$T/u2.conf" status unreg-b.test
	if [ $rc -ne 1 ]; then
		ko "status unreg-b.test: exit $rc"
	else
		: >"$T/err"
		ok
	fi
fi

daemons_stop

finish
