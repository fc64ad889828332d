#!/bin/sh
# faults.sh - the DNS fault matrix: every fault of tests/dns-faulty on
# every record (SPF, DKIM, DMARC, MX), through "authready check", the
# stored state of "authready refresh" and the MAIL FROM reply of
# authready-milter.
#
# SYNOPSIS
#	make check TESTS=tests/integration/faults.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/faults.sh
#
# DESCRIPTION
#	One dns-faulty server on loopback serves every case at once: a case
#	is a domain c-FAULT-TYPE.test whose record TYPE misbehaves with FAULT
#	while its other records are the seed's (tests/zones/example.com.zone,
#	the key tests/keys/rsa2048.p); amazonses.com authorizes 127.0.0.0/8
#	and every other name is NXDOMAIN.  Faults that a record type cannot
#	show (two SPF records anywhere but SPF) are left out.
#
#	a. check: "authready check" with the seed's expectations and
#	   --dns-timeout 1 must give the faulty record the expected status
#	   and exit with the expected code (DNS trouble: temperror, 2; bad
#	   content: fail or missing, 1; a fault a resolver must survive: pass,
#	   0), within CHECK_BUDGET_MS and MAX_RSS_KB, without a crash,
#	   a sanitizer report or raw control bytes on stdout or stderr.
#	b. state: every domain is registered and refreshed with good DNS
#	   (verified), the faults are switched on (SIGHUP to the server) and
#	   every domain refreshed again: DNS trouble must leave it verified
#	   with dns_errors counted, bad content must make it degraded.
#	c. milter: authready-milter (CheckWait 1, DNSTimeout 1, DNSServers
#	   the faulty server) over that registry must never answer a MAIL
#	   FROM of bounces@mail.D with a 5xx, must accept a verified domain
#	   whatever its DNS does now, and must answer a domain registered
#	   while it runs, never checked, whose DNS is in trouble with a 451
#	   within CheckWait + 1s.  The reply code is read from the daemon's
#	   log line (reply=), the reply letter from miltertest.
#
#	Each case prints one PASS or FAIL line; the last line counts them.
#	The server and the daemon are always stopped, the scratch directory
#	removed.
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 a program the test needs is
#	missing (miltertest, setpriv as root), 99 the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir (from make check); AUTHREADY,
#	AUTHREADY_MILTER, DNS_FAULTY, MILTERTEST override the programs;
#	CASE=PATTERN (lib.sh) runs only the check cases (a) whose name
#	matches ('check timeout-*'); the state (b) and milter (c) cases build
#	on each other and always run, reported when they match or fail;
#	FAULTS_VERBOSE=1 shows the server's and the daemon's logs at the end;
#	TIME_SCALE=N stretches every time limit N times (lib.sh);
#	FAULTS_MAX_RSS_KB replaces the 64 MiB limit on a check's memory;
#	FAULTS_KEEP=1 keeps the scratch directory (every program's output).

# $pids is a list of PIDs, split on purpose.
# shellcheck disable=SC2086

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY=${AUTHREADY:-$top_builddir/authready}
AUTHREADY_MILTER=${AUTHREADY_MILTER:-$top_builddir/authready-milter}
DNS_FAULTY=${DNS_FAULTY:-$top_builddir/tests/dns-faulty}
MILTERTEST=${MILTERTEST:-$(command -v miltertest 2>/dev/null)}
JSONFLAT=$top_srcdir/tests/integration/jsonflat.awk
LUADIR=$top_srcdir/tests/milter
KEY=$top_srcdir/tests/keys/rsa2048.pem
KEYP=$top_srcdir/tests/keys/rsa2048.p
SEEDMX=feedback-smtp.ap-northeast-1.amazonses.com
SEL=1234rpr
DUSER=nobody
DGROUP=nogroup
getent group "$DGROUP" >/dev/null 2>&1 || DGROUP=nobody

# Limits.  A check with --dns-timeout 1 does at most a few lookups one
# after another (SPF include, DMARC discovery): CHECK_BUDGET_MS bounds it
# with room for a loaded machine; RUN_TIMEOUT kills a hung program.  The
# times stretch with TIME_SCALE (lib.sh); MAX_RSS_KB is
# FAULTS_MAX_RSS_KB when set (valgrind's own memory counts in a process
# it runs).
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
DNS_TIMEOUT=$(scaled 1)
CHECK_BUDGET_MS=$(scaled 8000)
MAX_RSS_KB=${FAULTS_MAX_RSS_KB:-65536}
MAX_QUERIES=64 # queries one check may send for its faulty name
CHECK_WAIT=$(scaled 1)
WAIT_SLACK=$(scaled 1) # a 451 comes within CheckWait + this (seconds)
PARALLEL=4
RUN_TIMEOUT=$(scaled 30)
MILTERTEST_TIMEOUT=$(scaled 120)
START_WAIT_TENTHS=$(scaled 100)
STOP_WAIT_TENTHS=$(scaled 150)
PORT_TRIES=20
SHOW_LINES=20
SHOW_COLUMNS=300

for p in "$AUTHREADY" "$AUTHREADY_MILTER" "$DNS_FAULTY"; do
	if [ ! -x "$p" ]; then
		echo "ERROR: $p not built" >&2
		exit 99
	fi
done
if [ "$(id -u)" -eq 0 ] && { ! command -v setpriv >/dev/null 2>&1 ||
    ! getent passwd "$DUSER" >/dev/null 2>&1; }; then
	echo "SKIP: as root this test needs setpriv and $DUSER:$DGROUP"
	exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-faults.XXXXXX") || exit 99
LIB_OUT=$T/out
LIB_ERR=$T/err
# The CLI runs as the daemon's user (cli of lib.sh).
CLI_AS=as_daemon_user
chmod 0755 "$T"
SRV_PID=
DPID=

# cleanup - stop the daemon and the server; remove the scratch directory.
cleanup() {
	stop_pid "$DPID" "$SRV_PID"
	DPID=
	SRV_PID=
	if [ "${FAULTS_VERBOSE:-0}" = 1 ]; then
		for f in "$T/server.log" "$T/milter.log"; do
			[ -f "$f" ] || continue
			echo "---- $f"
			tail -n 200 "$f" | cut -c1-$SHOW_COLUMNS | cat -v
		done
	fi
	if [ -n "${FAULTS_KEEP:-}" ]; then
		echo "scratch directory kept: $T" >&2
	else
		rm -rf "$T"
	fi
}
at_exit cleanup


# The matrix ----------------------------------------------------------------
#
# FAULT RULE TYPES STATUS RC - RULE is the fault as dns-faulty spells it;
# TYPES the records it is tried on; STATUS the faulty record's status
# (|-separated alternatives) and RC the exit code of check.  DNS trouble
# comes first: those must leave a verified domain verified.
MATRIX="\
servfail	servfail	spf dkim dmarc mx	temperror	2
refused	refused	spf dkim dmarc mx	temperror	2
formerr	formerr	spf dkim dmarc mx	temperror	2
timeout	timeout	spf dkim dmarc mx	temperror	2
tcprefused	truncate-tcp-refused	spf dkim dmarc mx	temperror	2
wrongidnever	wrong-id-never	spf dkim dmarc mx	temperror	2
cnameloop	cname-loop	spf dkim dmarc mx	temperror	2
cnamelong	cname-chain 20	spf dkim dmarc mx	temperror	2
nxdomain	nxdomain	spf dkim dmarc mx	missing	1
nodata	nodata	spf dkim dmarc mx	missing	1
twospf	two-spf	spf	fail	1
ctrlbytes	ctrl-bytes	spf dkim mx	fail	1
ctrlbytes	ctrl-bytes	dmarc	fail|missing	1
hugedkim	huge-txt	dkim	fail	1
ok	ok	spf dkim dmarc mx	pass	0
truncate	truncate	spf dkim dmarc mx	pass	0
cnamechain	cname-chain 4	spf dkim dmarc mx	pass	0
wrongid	wrong-id	spf dkim dmarc mx	pass	0
huge	huge-txt	spf dmarc mx	pass	0
huge4	huge-txt 4	spf dmarc	pass	0"

# cases - one line per case: NAME DOMAIN FAULT-RULE TYPE STATUS RC.
cases() {
	printf '%s\n' "$MATRIX" | while IFS='	' read -r f rule types st rc; do
		for t in $types; do
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$f-$t" \
			    "c-$f-$t.test" "$rule" "$t" "$st" "$rc"
		done
	done
}

# The good records, as dns-faulty DATA.
keyp=$(tr -d ' \n' <"$KEYP")
key1=$(printf '%s' "$keyp" | cut -c1-200)
key2=$(printf '%s' "$keyp" | cut -c201-)
GOOD_SPF='txt "v=spf1 include:amazonses.com ~all"'
GOOD_DKIM="txt \"v=DKIM1; k=rsa; p=$key1\" \"$key2\""
GOOD_DMARC='txt "v=DMARC1; p=none;"'
GOOD_MX="mx 10 $SEEDMX."

# rules_for DOMAIN FAULTTYPE RULE - the rules of DOMAIN: its record
# FAULTTYPE with RULE (none: every record good).
rules_for() {
	for r in spf dkim dmarc mx; do
		case $r in
		spf) n=mail.$1 ty=TXT g=$GOOD_SPF ;;
		dkim) n=$SEL._domainkey.$1 ty=TXT g=$GOOD_DKIM ;;
		dmarc) n=_dmarc.$1 ty=TXT g=$GOOD_DMARC ;;
		mx) n=mail.$1 ty=MX g=$GOOD_MX ;;
		esac
		if [ "$r" = "$2" ]; then
			echo "$n $ty $3 $g"
		else
			echo "$n $ty ok $g"
		fi
	done
}

# write_rules GOOD|FAULTY - every case's rules, good or with its fault;
# the never-seen domains of (c) are always faulty.
write_rules() {
	{
		echo "# written by faults.sh ($1)"
		echo 'amazonses.com TXT ok txt "v=spf1 ip4:127.0.0.0/8 -all"'
		cases | while IFS='	' read -r name d rule t st rc; do
			if [ "$1" = GOOD ]; then
				rules_for "$d" none ok
			else
				rules_for "$d" "$t" "$rule"
			fi
		done
		rules_for never-timeout.test spf timeout
		rules_for never-servfail.test dkim servfail
		rules_for never-tcprefused.test dmarc truncate-tcp-refused
		echo '* * nxdomain'
	} >"$T/rules.new" && mv "$T/rules.new" "$T/rules"
}

# server_generation - how many times the server has (re)loaded its rules.
server_generation() {
	grep -c '^dns-faulty: loaded ' "$T/server.log" 2>/dev/null
}

# server_switch GOOD|FAULTY - new rules, SIGHUP, wait until loaded.
server_switch() {
	# Not "g": rules_for, which write_rules calls, sets that one.
	loaded_before=$(server_generation)
	write_rules "$1"
	kill -HUP "$SRV_PID"
	i=0
	while [ "$(server_generation)" -le "$loaded_before" ] &&
	    [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ "$(server_generation)" -le "$loaded_before" ]; then
		case_ "setup: dns-faulty reloads its rules ($1)"
		evidence "$T/server.log"
		ko "no reload"
		return 1
	fi
	return 0
}

# Setup ---------------------------------------------------------------------

write_rules FAULTY
"$DNS_FAULTY" "$T/rules" "$T/port" </dev/null >/dev/null \
    2>"$T/server.log" &
SRV_PID=$!
i=0
while [ ! -s "$T/port" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
PORT=$(tr -dc 0-9 <"$T/port" 2>/dev/null)
if [ -z "$PORT" ]; then
	cat "$T/server.log" >&2
	echo "ERROR: dns-faulty did not start" >&2
	exit 99
fi
DNS=127.0.0.1:$PORT

# a. check ------------------------------------------------------------------

# faulty_name DOMAIN TYPE - the DNS name of DOMAIN's record TYPE.
faulty_name() {
	case $2 in
	spf | mx) echo "mail.$1" ;;
	dkim) echo "$SEL._domainkey.$1" ;;
	dmarc) echo "_dmarc.$1" ;;
	esac
}

# check_run NAME DOMAIN - run check for one case in the background's
# files $T/a/NAME.{out,err,rc,ms,rss}.
check_run() {
	o=$T/a/$1
	t0=$(now_ms)
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f %M -o "$o.rss" timeout "$RUN_TIMEOUT" \
		    "$AUTHREADY" -c "$T/empty.conf" check "$2" --selector "$SEL" \
		    --key "$KEY" --mx "$SEEDMX" --spf-include amazonses.com \
		    --dns-server "$DNS" --dns-timeout "$DNS_TIMEOUT" --json \
		    >"$o.out" 2>"$o.err" </dev/null
	else
		timeout "$RUN_TIMEOUT" "$AUTHREADY" -c "$T/empty.conf" check \
		    "$2" --selector "$SEL" --key "$KEY" --mx "$SEEDMX" \
		    --spf-include amazonses.com --dns-server "$DNS" \
		    --dns-timeout "$DNS_TIMEOUT" --json >"$o.out" \
		    2>"$o.err" </dev/null
	fi
	echo $? >"$o.rc"
	echo $(($(now_ms) - t0)) >"$o.ms"
}

# check_judge NAME DOMAIN TYPE STATUS RC - one case's verdict.
check_judge() {
	o=$T/a/$1
	rc=$(cat "$o.rc")
	ms=$(cat "$o.ms")
	rss=$(tail -n 1 "$o.rss" 2>/dev/null | tr -dc 0-9)
	want_name=$(faulty_name "$2" "$3")
	awk -f "$JSONFLAT" "$o.out" >"$o.flat" 2>/dev/null
	got=$(awk -F '\t' -v t="$3" '
	    $1 ~ /^\.checks\.[0-9]+\.type$/ && $2 == t {
		split($1, p, "."); i = p[3]
	    }
	    $1 ~ /^\.checks\.[0-9]+\.status$/ { st[substr($1, 9)] = $2 }
	    END { if (i != "") print st[i ".status"] }' "$o.flat")
	others=$(awk -F '\t' -v t="$3" '
	    $1 ~ /^\.checks\.[0-9]+\.type$/ { split($1, p, "."); ty[p[3]] = $2 }
	    $1 ~ /^\.checks\.[0-9]+\.status$/ { split($1, p, "."); s[p[3]] = $2 }
	    END { for (i in ty) if (ty[i] != t && s[i] != "pass")
		printf "%s:%s ", ty[i], s[i] }' "$o.flat")
	queries=$(grep -c -F " $want_name. " "$T/server.log")
	name="check $1 ($4, exit $5)"
	case_ "$name"
	evidence "$o.out" "$o.err"
	if [ "$rc" -eq 124 ] || [ "$rc" -ge 128 ]; then
		ko "killed or crashed (exit $rc)"
	elif grep -q -E 'Sanitizer|runtime error:' "$o.err"; then
		ko "sanitizer report"
	elif [ "$(cat "$o.out" "$o.err" | tr -d '\t\n\040-\176' |
	    wc -c)" -ne 0 ]; then
		ko "raw control or non-ASCII bytes in the output"
	elif [ "$rc" != "$5" ]; then
		ko "exit $rc, $3 $got"
	elif ! printf '%s\n' "$4" | tr '|' '\n' | grep -q -x -F "$got"; then
		ko "$3 is \"$got\""
	elif [ -n "$others" ]; then
		ko "a good record did not pass: $others"
	elif [ "$ms" -gt "$CHECK_BUDGET_MS" ]; then
		ko "took $ms ms (budget $CHECK_BUDGET_MS)"
	elif [ -n "$rss" ] && [ "$rss" -gt "$MAX_RSS_KB" ]; then
		ko "max RSS $rss KiB (limit $MAX_RSS_KB)"
	elif [ "$queries" -gt "$MAX_QUERIES" ]; then
		ko "$queries queries for $want_name"
	else
		ok "$got in $ms ms, ${rss:-?} KiB, $queries queries"
	fi
}

mkdir "$T/a"
: >"$T/empty.conf"
cases >"$T/cases"
# PARALLEL at a time: more would time out on a small machine, not in
# the code under test.
# (wait with PIDs: a plain wait would wait for the server too)
pids=
while IFS='	' read -r name d rule t st rc; do
	selected "check $name ($st, exit $rc)" || continue
	check_run "$name" "$d" &
	pids="$pids $!"
	if [ "$(echo $pids | wc -w)" -ge $PARALLEL ]; then
		wait $pids
		pids=
	fi
done <"$T/cases"
[ -n "$pids" ] && wait $pids
while IFS='	' read -r name d rule t st rc; do
	selected "check $name ($st, exit $rc)" || continue
	check_judge "$name" "$d" "$t" "$st" "$rc"
done <"$T/cases"

# b. stored state -----------------------------------------------------------

mkdir "$T/state" "$T/bin"
cat >"$T/bin/sendmail" <<EOF
#!/bin/sh
while IFS= read -r l; do :; done
exit 0
EOF
chmod 0755 "$T/bin" "$T/bin/sendmail"
cp "$KEY" "$T/key.pem"
cat >"$T/reg.conf" <<EOF
# written by faults.sh
DNSServers $DNS
DNSTimeout $DNS_TIMEOUT
StateDir $T/state
SendmailPath $T/bin/sendmail -t -oi
NotifyFrom noreply@operator.example
EOF
chmod 0644 "$T/reg.conf" "$T/key.pem"
[ "$(id -u)" -eq 0 ] && chown -R "$DUSER:$DGROUP" "$T/state" "$T/key.pem"

# add DOMAIN - register DOMAIN with the seed's expectations.
add() {
	cli "$T/reg.conf" domain add "$1" --selector "$SEL" --key "$T/key.pem" \
	    --mx "$SEEDMX" --spf-include amazonses.com
	[ $rc -eq 0 ] && return 0
	case_ "setup: domain add $1"
	ko "exit $rc"
}

# status_of DOMAIN FIELD - one field of the domain's status --json.
status_of() {
	as_daemon_user "$AUTHREADY" -c "$T/reg.conf" status "$1" --json \
	    2>/dev/null </dev/null | awk -f "$JSONFLAT" |
	    awk -F '\t' -v k=".domains.0.$2" '$1 == k { print $2 }'
}

server_switch GOOD || exit 1
while IFS='	' read -r name d rule t st rc; do
	add "$d"
done <"$T/cases"
t0=$(now_ms)
cli "$T/reg.conf" refresh --all
bad=0
while IFS='	' read -r name d rule t st rc; do
	s=$(status_of "$d" state)
	[ "$s" = verified ] && continue
	bad=$((bad + 1))
	echo "  $d: $s"
done <"$T/cases"
case_ "state: every domain verified with good DNS"
if [ $bad -eq 0 ]; then
	ok "$(($(now_ms) - t0)) ms"
else
	ko "$bad not"
fi

# One refresh per domain, PARALLEL at a time: each has a c-ares channel
# of its own, so a TCP connection reset for one domain's fault cannot
# fail another domain's lookups (c-ares shares one TCP connection per
# server within a channel).
server_switch FAULTY || exit 1
mkdir "$T/b"
[ "$(id -u)" -eq 0 ] && chown "$DUSER:$DGROUP" "$T/b"
t0=$(now_ms)
pids=
while IFS='	' read -r name d rule t st rc; do
	(
		as_daemon_user timeout "$RUN_TIMEOUT" "$AUTHREADY" \
		    -c "$T/reg.conf" refresh "$d" >"$T/b/$name.out" \
		    2>"$T/b/$name.err" </dev/null
		echo $? >"$T/b/$name.rc"
	) &
	pids="$pids $!"
	if [ "$(echo $pids | wc -w)" -ge $PARALLEL ]; then
		wait $pids
		pids=
	fi
done <"$T/cases"
[ -n "$pids" ] && wait $pids
bad=
while IFS='	' read -r name d rule t st rc; do
	r=$(cat "$T/b/$name.rc" 2>/dev/null)
	case $r in
	0 | 1 | 2) ;;
	*) bad="$bad $name:${r:-none}" ;;
	esac
done <"$T/cases"
case_ "state: every refresh with faulty DNS ends"
if [ -z "$bad" ]; then
	ok "$(($(now_ms) - t0)) ms"
else
	ko "exit$bad"
fi
while IFS='	' read -r name d rule t st rc; do
	s=$(status_of "$d" state)
	e=$(status_of "$d" dns_errors)
	case_ "state $name"
	case $st in
	temperror)
		if [ "$s" != verified ]; then
			ko "DNS trouble keeps it verified: state $s"
		elif [ "${e:-0}" -lt 1 ]; then
			ko "DNS trouble is counted: dns_errors ${e:-none}"
		else
			ok "verified, dns_errors $e"
		fi
		;;
	pass)
		if [ "$s" = verified ] && [ "${e:-0}" -eq 0 ]; then
			ok "verified, no DNS error"
		else
			ko "stays verified: state $s, dns_errors ${e:-none}"
		fi
		;;
	*)
		if [ "$s" = degraded ]; then
			ok "degraded"
		else
			ko "a broken record degrades it: state $s"
		fi
		;;
	esac
done <"$T/cases"

# c. milter -----------------------------------------------------------------

if [ -z "$MILTERTEST" ] || [ ! -x "$MILTERTEST" ]; then
	echo "SKIP: milter cases: miltertest not found"
	echo "$npass passed, $nfail failed"
	[ $nfail -eq 0 ]
	exit
fi

mkdir "$T/run"
[ "$(id -u)" -eq 0 ] && chown "$DUSER:$DGROUP" "$T/run"

# The script: one session per line of SENDERS ("QID ADDRESS WANT"; WANT
# accept, or 451 within CheckWait + WAIT_SLACK); every reply is checked
# against the daemon's log line of its session.
cat >"$T/faults.lua" <<'EOF'
local t = dofile(LIB .. "/common.lua")
local wait = tonumber(CHECK_WAIT) + tonumber(SLACK)
for _, line in ipairs(t.lines(SENDERS)) do
	local qid, sender, want = line:match("^(%S+) (%S+) (%S+)$")
	local conn = t.connect()
	local t0 = t.now()
	t.must(mt.macro(conn, SMFIC_MAIL, "i", qid), "mt.macro")
	t.must(mt.mailfrom(conn, sender), "mt.mailfrom")
	local took = t.now() - t0
	local r = mt.getreply(conn)
	local log = t.log_session(qid) or ""
	local code = t.field(log, "reply") or ""
	local name = qid .. " " .. sender
	if log == "" then
		t.fail(name, "no log line")
	elseif r == SMFIR_REJECT or code:sub(1, 1) == "5" then
		t.fail(name, "a 5xx: " .. log)
	elseif want == "accept" then
		t.ok(name .. ": accepted", (r == SMFIR_ACCEPT or
		    r == SMFIR_CONTINUE) and code == "", log)
	else
		t.ok(string.format("%s: 451 in %.2fs", name, took),
		    code == "451" and took <= wait,
		    string.format("%.2fs: %s", took, log))
	end
	mt.disconnect(conn)
end
t.finish()
EOF
chmod 0644 "$T/faults.lua"

# daemon_start - authready-milter on a free loopback port; sets DPID.
daemon_start() {
	n=0
	while [ $n -lt $PORT_TRIES ]; do
		SOCK=inet:$(shuf -i 20000-32000 -n 1)@127.0.0.1
		{
			echo "# written by faults.sh"
			echo "Socket $SOCK"
			echo "StateDir $T/state"
			echo "DNSServers $DNS"
			echo "DNSTimeout $DNS_TIMEOUT"
			echo "CheckWait $CHECK_WAIT"
			echo "Syslog no"
			# the MAIL FROM decision alone (fromcheck.sh tests the From)
			echo "FromCheck off"
			echo "PidFile $T/run/milter.pid"
			echo "SendmailPath $T/bin/sendmail -t -oi"
			echo "NotifyFrom noreply@operator.example"
			[ "$(id -u)" -eq 0 ] && echo "UserID $DUSER:$DGROUP"
		} >"$T/milter.conf"
		chmod 0644 "$T/milter.conf"
		"$AUTHREADY_MILTER" -c "$T/milter.conf" -f </dev/null \
		    >/dev/null 2>"$T/milter.log" &
		DPID=$!
		i=0
		while [ $i -lt $START_WAIT_TENTHS ]; do
			grep -q 'event=start ' "$T/milter.log" && return 0
			kill -0 "$DPID" 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		stop_pid "$DPID"
		DPID=
		grep -q 'cannot open the milter socket' "$T/milter.log" ||
		    break
		n=$((n + 1))
	done
	return 1
}

case_ "milter: authready-milter starts"
if ! daemon_start; then
	evidence "$T/milter.log"
	ko "no event=start"
else
	ok
	# Registered only now: never checked, their DNS in trouble.
	for d in never-timeout.test never-servfail.test \
	    never-tcprefused.test; do
		add "$d"
	done
	{
		for d in never-timeout never-servfail never-tcprefused; do
			echo "N-$d <bounces@mail.$d.test> 451"
		done
		while IFS='	' read -r name d rule t st rc; do
			echo "C-$name <bounces@mail.$d> accept"
		done <"$T/cases"
	} >"$T/senders"
	chmod 0644 "$T/senders"
	timeout "$MILTERTEST_TIMEOUT" "$MILTERTEST" -D "LIB=$LUADIR" \
	    -D "SOCK=$SOCK" -D "LOG=$T/milter.log" -D "SENDERS=$T/senders" \
	    -D "CHECK_WAIT=$CHECK_WAIT" -D "SLACK=$WAIT_SLACK" \
	    -D "SCRIPT=faults.lua" \
	    -D "TAP=/dev/null" -s "$T/faults.lua" >"$T/mt.out" \
	    2>"$T/mt.err" </dev/null
	m_rc=$?
	tally "$T/mt.out" "milter "
	if [ $m_rc -ne 0 ]; then
		case_ "milter: faults.lua runs to the end"
		evidence "$T/mt.out" "$T/mt.err"
		ko "miltertest exit $m_rc"
	fi
	if grep -q -E 'Sanitizer|runtime error:' "$T/milter.log"; then
		case_ "milter: no sanitizer report"
		evidence "$T/milter.log"
		ko "see the log"
	fi
	case_ "milter: stops on SIGTERM"
	if ! stop_wait "$DPID" "$STOP_WAIT_TENTHS"; then
		ko "still running"
	elif [ $rc -eq 0 ]; then
		ok
	else
		evidence "$T/milter.log"
		ko "exit $rc"
	fi
	DPID=
fi

# The server itself must have survived every fault.
case_ "dns-faulty survived the run"
if kill -0 "$SRV_PID" 2>/dev/null; then
	ok
else
	evidence "$T/server.log"
	ko "it exited"
fi

finish
