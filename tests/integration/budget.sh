#!/bin/sh
# budget.sh - one slow domain delays nobody: a check ends within its
# budget (CheckTimeout, --check-timeout), and in authready-milter a
# never-checked domain is decided while a slow one is being checked.
#
# SYNOPSIS
#	make check TESTS=tests/integration/budget.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/budget.sh
#
# DESCRIPTION
#	tests/dns-faulty serves budget-slow.test, whose SPF record at
#	mail.budget-slow.test starts a chain of CHAIN includes, each record
#	answered SLOW_MS after it is asked (the whole walk takes about
#	(CHAIN + 1) * SLOW_MS, twice that with an egress address), with
#	the seed's other records answered at once; budget-fresh.test has
#	the seed's records, all answered at once.
#
#	a. check: "check spf" with --check-timeout BUDGET (and with
#	   --egress-ip, which walks the chain twice), the full check with
#	   CheckTimeout BUDGET in the config, and "spf" (check_host) must
#	   each end within BUDGET + SLACK with SPF temperror (exit 2; the
#	   other records pass) and the sentence naming the budget.  A bad
#	   --check-timeout is a usage error (64), a bad CheckTimeout a
#	   configuration error (78).
#	b. refresh: the registered slow domain refreshed with CheckTimeout
#	   BUDGET ends within BUDGET + SLACK, undecided: state unknown with
#	   a DNS error counted.
#	c. milter: authready-milter (CheckWait CHECK_WAIT, the default
#	   CheckTimeout) with tests/milter/budget.lua: MAIL FROM of the
#	   slow domain (never checked) starts its check and gets 451 after
#	   CheckWait; MAIL FROM of budget-fresh.test while that check runs
#	   is accepted as verified within CheckWait; once the slow check
#	   has ended the slow domain is decided at once.
#
#	Each case prints one PASS or FAIL line; the last line counts them.
#	The server and the daemon are always stopped, the scratch directory
#	removed.
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 a program the test needs is
#	missing (setpriv as root; miltertest for c only), 99 the harness
#	could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir (from make check); AUTHREADY,
#	AUTHREADY_MILTER, DNS_FAULTY, MILTERTEST override the programs;
#	TIME_SCALE=N stretches the time limits N times (lib.sh); CASE=PATTERN
#	(lib.sh) runs only the check cases of a. that match, while the
#	others (setup for the next) always run and are reported when they
#	match or fail;
#	BUDGET_VERBOSE=1 shows the server's and the daemon's logs at the
#	end.

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
SLOW=budget-slow.test
FRESH=budget-fresh.test
DUSER=nobody
DGROUP=nogroup
getent group "$DGROUP" >/dev/null 2>&1 || DGROUP=nobody

# Limits.  The chain's delays are the server's, not the programs': the
# whole chain (CHAIN + 1 answers of SLOW_MS, about 9 s; 15 s under
# valgrind, where the daemon's fresh check takes longer) outlasts every
# budget below but fits in the default CheckTimeout of 20 s (the daemon's
# slow check ends verified).
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
CHAIN=9 # with include:amazonses.com, the 10 DNS terms SPF allows
SLOW_MS=900
[ "$TIME_SCALE" -gt 1 ] && SLOW_MS=1500
DNS_TIMEOUT=$(scaled 2)
BUDGET=$(scaled 2)
SLACK_MS=$(scaled 1500) # a check ends within BUDGET s + this
CHECK_WAIT=$(scaled 1)
SLOW_WAIT=$(scaled 25) # seconds the daemon's slow check may take
RUN_TIMEOUT=$(scaled 60)
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

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-budget.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
chmod 0755 "$T"
SRV_PID=
DPID=

# cleanup - stop the daemon and the server.
cleanup() {
	stop_pid "$DPID" "$SRV_PID"
	DPID=
	SRV_PID=
	if [ "${BUDGET_VERBOSE:-0}" = 1 ]; then
		for f in "$T/server.log" "$T/milter.log"; do
			[ -f "$f" ] || continue
			echo "---- $f"
			tail -n 200 "$f" | cut -c1-$SHOW_COLUMNS | cat -v
		done
	fi
}
at_exit cleanup


# Setup ---------------------------------------------------------------------

keyp=$(tr -d ' \n' <"$KEYP")
key1=$(printf '%s' "$keyp" | cut -c1-200)
key2=$(printf '%s' "$keyp" | cut -c201-)

# seed DOMAIN SPF - the seed's records of DOMAIN, SPF given as DATA.
seed() {
	echo "mail.$1 TXT $2"
	echo "mail.$1 MX ok mx 10 $SEEDMX."
	echo "$SEL._domainkey.$1 TXT ok txt \"v=DKIM1; k=rsa; p=$key1\" \"$key2\""
	echo "_dmarc.$1 TXT ok txt \"v=DMARC1; p=none;\""
}

{
	echo "# written by budget.sh"
	echo 'amazonses.com TXT ok txt "v=spf1 ip4:127.0.0.0/8 -all"'
	seed "$FRESH" 'ok txt "v=spf1 include:amazonses.com ~all"'
	spf="v=spf1 include:amazonses.com include:i1.$SLOW ~all"
	seed "$SLOW" "slow $SLOW_MS txt \"$spf\""
	k=1
	while [ $k -lt $CHAIN ]; do
		echo "i$k.$SLOW TXT slow $SLOW_MS" \
		    "txt \"v=spf1 include:i$((k + 1)).$SLOW ~all\""
		k=$((k + 1))
	done
	echo "i$CHAIN.$SLOW TXT slow $SLOW_MS" \
	    'txt "v=spf1 ip4:127.0.0.0/8 ~all"'
	echo '* * nxdomain'
} >"$T/rules"
LAST=i$CHAIN.$SLOW

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
cp "$KEY" "$T/key.pem"
mkdir "$T/state" "$T/rstate" "$T/run" "$T/bin"
cat >"$T/bin/sendmail" <<EOF
#!/bin/sh
while IFS= read -r l; do :; done
exit 0
EOF
cat >"$T/base.conf" <<EOF
# written by budget.sh
DNSServers $DNS
DNSTimeout $DNS_TIMEOUT
StateDir $T/state
SendmailPath $T/bin/sendmail -t -oi
NotifyFrom noreply@operator.example
Selector $SEL
KeyFile $T/key.pem
MXHost $SEEDMX
SPFInclude amazonses.com
EOF
cp "$T/base.conf" "$T/budget.conf"
echo "CheckTimeout $BUDGET" >>"$T/budget.conf"
# The refresh case has a registry of its own: the daemon's is empty.
sed "s|^StateDir .*|StateDir $T/rstate|" "$T/budget.conf" >"$T/refresh.conf"
chmod 0755 "$T/bin" "$T/bin/sendmail"
chmod 0644 "$T"/*.conf "$T/key.pem"
[ "$(id -u)" -eq 0 ] && chown -R "$DUSER:$DGROUP" "$T/state" "$T/rstate" \
    "$T/run" "$T/key.pem"

# run NAME CONF ARGS... - the CLI as the daemon's user: $T/NAME.{out,err}, rc,
# ms.
run() {
	r_name=$1
	r_conf=$2
	shift 2
	last_cmd="authready -c $r_conf $*"
	t0=$(now_ms)
	as_daemon_user timeout "$RUN_TIMEOUT" "$AUTHREADY" -c "$r_conf" "$@" \
	    >"$T/$r_name.out" 2>"$T/$r_name.err" </dev/null
	rc=$?
	ms=$(($(now_ms) - t0))
}

# status_of TYPE FILE - a record's status in a check --json output.
status_of() {
	awk -f "$JSONFLAT" "$2" 2>/dev/null | awk -F '\t' -v t="$1" '
	    $1 ~ /^\.checks\.[0-9]+\.type$/ { split($1, p, "."); ty[p[3]] = $2 }
	    $1 ~ /^\.checks\.[0-9]+\.status$/ { split($1, p, "."); s[p[3]] = $2 }
	    END { for (i in ty) if (ty[i] == t) print s[i] }'
}

# others_pass TYPE FILE - every record but TYPE passed (prints the others).
others_pass() {
	awk -f "$JSONFLAT" "$2" 2>/dev/null | awk -F '\t' -v t="$1" '
	    $1 ~ /^\.checks\.[0-9]+\.type$/ { split($1, p, "."); ty[p[3]] = $2 }
	    $1 ~ /^\.checks\.[0-9]+\.status$/ { split($1, p, "."); s[p[3]] = $2 }
	    END { for (i in ty) if (ty[i] != t && s[i] != "pass")
		printf "%s:%s ", ty[i], s[i] }'
}

budget_ms=$((BUDGET * 1000 + SLACK_MS))

# check_case NAME CONF TYPES ARGS... - a check that the budget ends: exit 2,
# SPF temperror naming the budget, every other record of TYPES passes,
# within budget_ms.
check_case() {
	c_name=$1
	c_conf=$2
	shift 2
	case_ "$c_name" || return 0
	evidence "$T/$c_name.out" "$T/$c_name.err"
	run "$c_name" "$c_conf" "$@" --json
	spf=$(status_of spf "$T/$c_name.out")
	others=$(others_pass spf "$T/$c_name.out")
	if [ "$rc" -ne 2 ]; then
		ko "exit $rc, spf \"$spf\" in $ms ms"
	elif [ "$spf" != temperror ]; then
		ko "spf \"$spf\""
	elif ! grep -q "time budget of $BUDGET s" "$T/$c_name.out"; then
		ko "no sentence naming the budget"
	elif [ -n "$others" ]; then
		ko "a good record did not pass: $others"
	elif [ "$ms" -gt "$budget_ms" ]; then
		ko "took $ms ms (budget $BUDGET s, limit $budget_ms ms)"
	else
		ok "spf temperror in $ms ms (budget $BUDGET s)"
	fi
}

# a. check ------------------------------------------------------------------

check_case "check spf --check-timeout" "$T/base.conf" check spf "$SLOW" \
    --check-timeout "$BUDGET"
check_case "check spf --check-timeout --egress-ip" "$T/base.conf" check spf \
    "$SLOW" --check-timeout "$BUDGET" --egress-ip 127.0.0.1
check_case "check (every record), CheckTimeout" "$T/budget.conf" check "$SLOW"

case_ "spf --check-timeout"
evidence "$T/spf.out" "$T/spf.err"
run spf "$T/base.conf" spf --ip 192.0.2.1 --sender "u@mail.$SLOW" \
    --helo "mail.$SLOW" --check-timeout "$BUDGET"
if [ "$rc" -ne 0 ] || [ "$(head -n 1 "$T/spf.out")" != temperror ]; then
	ko "exit $rc in $ms ms"
elif [ "$ms" -gt "$budget_ms" ]; then
	ko "took $ms ms (limit $budget_ms ms)"
else
	ok "temperror in $ms ms"
fi

for v in 0 301 2s; do
	case_ "--check-timeout $v: usage error"
	evidence "$T/bad.err"
	run bad "$T/base.conf" check spf "$SLOW" --check-timeout "$v"
	if [ "$rc" -eq 64 ] && grep -q -- '--check-timeout' "$T/bad.err"; then
		ok
	else
		ko "exit $rc"
	fi
done
cp "$T/base.conf" "$T/bad.conf"
echo "CheckTimeout soon" >>"$T/bad.conf"
case_ "CheckTimeout soon: configuration error"
evidence "$T/bad.err"
run bad "$T/bad.conf" check spf "$SLOW"
if [ "$rc" -eq 78 ] && grep -q 'CheckTimeout' "$T/bad.err"; then
	ok
else
	ko "exit $rc"
fi

# b. refresh ----------------------------------------------------------------

run add "$T/refresh.conf" domain add "$SLOW" --selector "$SEL" \
    --key "$T/key.pem" --mx "$SEEDMX" --spf-include amazonses.com
if [ "$rc" -ne 0 ]; then
	case_ "setup: domain add $SLOW"
	evidence "$T/add.err"
	ko "exit $rc"
fi
run refresh "$T/refresh.conf" refresh "$SLOW"
as_daemon_user "$AUTHREADY" -c "$T/refresh.conf" status "$SLOW" --json \
    >"$T/status.out" 2>&1 </dev/null
state=$(awk -f "$JSONFLAT" "$T/status.out" 2>/dev/null |
    awk -F '\t' '$1 == ".domains.0.state" { print $2 }')
errors=$(awk -f "$JSONFLAT" "$T/status.out" 2>/dev/null |
    awk -F '\t' '$1 == ".domains.0.dns_errors" { print $2 }')
case_ "refresh, CheckTimeout"
if [ "$rc" -ne 0 ]; then
	evidence "$T/refresh.out" "$T/refresh.err"
	ko "exit $rc in $ms ms"
elif [ "$ms" -gt "$budget_ms" ]; then
	ko "took $ms ms (limit $budget_ms ms)"
elif [ "$state" != unknown ] || [ "${errors:-0}" -lt 1 ]; then
	evidence "$T/status.out"
	ko "state \"$state\", dns_errors \"$errors\""
else
	ok "undecided in $ms ms, dns_errors $errors"
fi

# c. milter -----------------------------------------------------------------

if [ -z "$MILTERTEST" ] || [ ! -x "$MILTERTEST" ]; then
	case_ "milter cases"
	skip "miltertest not found"
	finish
fi

# daemon_start - authready-milter on a free loopback port; sets DPID.
daemon_start() {
	n=0
	while [ $n -lt $PORT_TRIES ]; do
		SOCK=inet:$(shuf -i 20000-32000 -n 1)@127.0.0.1
		{
			cat "$T/base.conf"
			echo "Socket $SOCK"
			echo "CheckWait $CHECK_WAIT"
			echo "Syslog no"
			# the MAIL FROM decision alone (fromcheck.sh tests the From)
			echo "FromCheck off"
			echo "PidFile $T/run/milter.pid"
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
	timeout "$MILTERTEST_TIMEOUT" "$MILTERTEST" -D "LIB=$LUADIR" \
	    -D "SOCK=$SOCK" -D "LOG=$T/milter.log" -D "SCRIPT=budget.lua" \
	    -D "CHECK_WAIT=$CHECK_WAIT" -D "SERVER_LOG=$T/server.log" \
	    -D "LAST=$LAST" -D "SLOW_WAIT=$SLOW_WAIT" -D "SLOW=$SLOW" \
	    -D "FRESH=$FRESH" \
	    -s "$LUADIR/budget.lua" >"$T/mt.out" 2>"$T/mt.err" </dev/null
	m_rc=$?
	tally "$T/mt.out" "milter: "
	if [ $m_rc -ne 0 ]; then
		case_ "milter: budget.lua runs to the end"
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

finish
