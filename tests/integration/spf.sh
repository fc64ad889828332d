#!/bin/sh
# spf.sh - "authready spf" (RFC 7208 check_host) against NSD on loopback.
#
# SYNOPSIS
#	make check TESTS=tests/integration/spf.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/spf.sh
#
# DESCRIPTION
#	Serves tests/zones with NSD (nsd-harness.sh) and evaluates one
#	connection per case with "authready spf --ip IP --sender ADDR --helo
#	NAME" against the policies of zone spf.test: every result word
#	(pass, fail, softfail, neutral, none, permerror, temperror), pass
#	through ip4, ip6, a, a:host/cidr, mx and include, IPv4-mapped IPv6
#	addresses, the exp= explanation with its macros, the null sender
#	(checked as postmaster@HELO), and usage errors.
#
#	For each case it checks the exit status (0 whenever a result was
#	computed, 64 for usage errors), that the first line of stdout is
#	exactly the expected result word, that the second line (the reason)
#	matches a pattern, and for fail the explanation on the third line.
#	No crash, sanitizer report or raw control byte on the terminal is
#	tolerated.  Each case prints one PASS or FAIL line; the last line
#	counts them.
#
#	Only loopback addresses are ever queried; 192.0.2.0/24 and
#	2001:db8::/32 appear only as the connecting client's address.
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 NSD is not installed (or CASE
#	matched nothing), 99 the harness could not run.  The cases stand
#	alone: CASE runs only the matching ones (lib.sh).
#
# ENVIRONMENT
#	top_srcdir, top_builddir, NSD (from make check); AUTHREADY overrides
#	the binary; CASE=PATTERN runs only the cases whose name matches.

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY=${AUTHREADY:-$top_builddir/authready}

# A hung authready is killed and its case fails.
RUN_TIMEOUT=20
# How much of a failing run to show.
SHOW_LINES=10
SHOW_COLUMNS=400

# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
# shellcheck source=tests/integration/nsd-harness.sh
. "$top_srcdir/tests/integration/nsd-harness.sh"

[ -x "$AUTHREADY" ] || lib_die "$AUTHREADY not built"

# Names under servfail.spf.test get SERVFAIL: the zone has no data.
NSD_SERVFAIL_ZONES="servfail.spf.test"
export NSD_SERVFAIL_ZONES
nsd_start "$top_srcdir/tests/zones"

W=$NSD_DIR/work
mkdir "$W"
: >"$W/empty.conf"
DNS=127.0.0.1:$NSD_PORT
LIB_OUT=$W/out
LIB_ERR=$W/err

# run ARGS... - authready with an empty config and our NSD; sets rc.
run() {
	last_cmd="authready $*"
	timeout "$RUN_TIMEOUT" "$AUTHREADY" -c "$W/empty.conf" \
	    --dns-server "$DNS" "$@" >"$W/out" 2>"$W/err" </dev/null
	rc=$?
}

# sane - the checks every run must pass; prints why not, returns 1.
sane() {
	if [ "$rc" -eq 124 ]; then
		echo "killed after ${RUN_TIMEOUT}s"
		return 1
	fi
	if [ "$rc" -ge 128 ]; then
		echo "crashed (exit $rc)"
		return 1
	fi
	if grep -q -E 'Sanitizer|runtime error:' "$W/err"; then
		echo "sanitizer report"
		return 1
	fi
	# Explanations come from strangers' DNS: nothing raw may reach a
	# terminal.
	for f in out err; do
		if [ "$(tr -d '\t\n\040-\176' <"$W/$f" | wc -c)" -ne 0 ]; then
			echo "non-printable bytes on std$f"
			return 1
		fi
	done
	return 0
}

# line N - line N of stdout.
line() {
	sed -n "${1}p" "$W/out"
}

# s NAME WORD REASON EXPLANATION IP SENDER HELO - one evaluation: exit 0,
# first line WORD, second line matching the ERE REASON, and the third line
# (present only for fail) matching the ERE EXPLANATION.  An EXPLANATION of
# "" means there must be no third line, "*" that it may be absent: RFC 7208
# section 6.2 allows an empty explanation when there is no usable exp=.
s() {
	name=$1 word=$2 reason=$3 expl=$4
	shift 4
	case_ "$name" || return 0
	run spf --ip "$1" --sender "$2" --helo "$3"
	nlines=$(wc -l <"$W/out")
	if ! why=$(sane); then
		ko "$why"
	elif [ "$rc" -ne 0 ]; then
		ko "exit $rc, expected 0"
	elif [ "$(line 1)" != "$word" ]; then
		ko "result \"$(line 1)\", expected \"$word\""
	elif [ -z "$(line 2)" ]; then
		ko "no reason on the second line"
	elif ! line 2 | grep -q -E -e "$reason"; then
		ko "reason does not match /$reason/"
	elif [ -n "$expl" ] && [ "$expl" != "*" ] &&
	    ! line 3 | grep -q -E -e "$expl"; then
		ko "explanation does not match /$expl/"
	elif [ -z "$expl" ] && [ "$nlines" -gt 2 ]; then
		ko "$nlines lines on stdout, expected 2"
	elif [ "$nlines" -gt 3 ]; then
		ko "$nlines lines on stdout, expected at most 3"
	elif [ "$word" != fail ] && [ "$nlines" -ne 2 ]; then
		ko "an explanation for a $word result"
	else
		ok
	fi
}

# usage NAME ARGS... - "authready spf ARGS" is a usage error: exit 64, a
# message on stderr, no result on stdout.
usage() {
	name=$1
	shift
	case_ "$name" || return 0
	run spf "$@"
	if ! why=$(sane); then
		ko "$why"
	elif [ "$rc" -ne 64 ]; then
		ko "exit $rc, expected 64"
	elif [ ! -s "$W/err" ]; then
		ko "no message on stderr"
	elif [ -s "$W/out" ]; then
		ko "output on stdout despite the usage error"
	else
		ok
	fi
}

H=client.example.com

# pass, one mechanism at a time, and its fail counterpart.
s pass-ip4 pass 'ip4:127\.0\.0\.0/8' '' 127.0.0.1 u@ip4.spf.test $H
s fail-ip4 fail '-all' '*' 192.0.2.1 u@ip4.spf.test $H
s pass-ip6 pass 'ip6:2001:db8::/32' '' 2001:db8::1 u@ip6.spf.test $H
s pass-ip6-long-form pass 'ip6:2001:db8::/32' '' \
    2001:0db8:0000:0000:0000:0000:0000:0001 u@ip6.spf.test $H
s fail-ip6 fail '-all' '*' 2001:db9::1 u@ip6.spf.test $H
s fail-ip4-client-ip6-policy fail '-all' '*' 127.0.0.1 u@ip6.spf.test $H
s pass-a pass '(^|[^:])a( |$)' '' 127.0.0.2 u@a.spf.test $H
s pass-a-host-cidr pass 'a:host\.spf\.test/31' '' 127.0.0.5 u@a.spf.test $H
s fail-a-outside-cidr fail '-all' '*' 127.0.0.6 u@a.spf.test $H
s pass-mx pass 'mx' '' 127.0.0.3 u@mx.spf.test $H
s fail-mx fail '-all' '*' 127.0.0.4 u@mx.spf.test $H
s pass-include pass 'include:amazonses\.com' '' 127.0.0.9 u@inc.spf.test $H
s fail-include fail '-all' '*' 192.0.2.9 u@inc.spf.test $H

# IPv4-mapped IPv6 addresses are evaluated as IPv4 (RFC 7208 section 5).
s pass-v4-mapped pass 'ip4:127\.0\.0\.0/8' '' ::ffff:127.0.0.1 \
    u@ip4.spf.test $H
s fail-v4-mapped fail '-all' '*' ::ffff:192.0.2.1 u@ip4.spf.test $H

# The other result words.
s neutral neutral '\?all' '' 127.0.0.1 u@neutral.spf.test $H
s softfail softfail '~all' '' 127.0.0.1 u@softfail.spf.test $H
s fail-explanation fail '-all' \
    '^u@fail\.spf\.test may not send from 127\.0\.0\.1 as fail\.spf\.test$' \
    127.0.0.1 u@fail.spf.test $H
s none-not-spf none 'none\.spf\.test' '' 127.0.0.1 u@none.spf.test $H
s none-nxdomain none 'nx\.spf\.test' '' 127.0.0.1 u@nx.spf.test $H
s permerror-two-records permerror 'two\.spf\.test' '' \
    127.0.0.1 u@two.spf.test $H
s permerror-syntax permerror 'ip4:127\.0\.0\.300' '' \
    127.0.0.1 u@syntax.spf.test $H
s permerror-include-none permerror 'none\.spf\.test' '' \
    127.0.0.1 u@incnone.spf.test $H
s temperror-servfail temperror 'x\.servfail\.spf\.test' '' \
    127.0.0.1 u@x.servfail.spf.test $H
s temperror-include temperror 'x\.servfail\.spf\.test' '' \
    127.0.0.1 u@inctemp.spf.test $H

# Control bytes in an explanation never reach the terminal raw (sane).
s fail-control-explanation fail '-all' '*' 127.0.0.1 u@ctlexp.spf.test $H
# The sender's own control bytes, brought back by %{s} in exp=, neither.
s fail-control-sender-explanation fail '-all' \
    '^a\\x1b\[2Jb@fail\.spf\.test may not send from 127\.0\.0\.1' \
    127.0.0.1 "$(printf 'a\033[2Jb@fail.spf.test')" $H
# An empty HELO with the null sender: a sentence, not " is not ...".
s empty-helo none '^The domain to check is empty\.$' '' 127.0.0.1 '' ''

# The identity is the MAIL FROM domain; the null sender uses the HELO
# name as postmaster@HELO (RFC 7208 section 2.4).
s sender-not-helo pass 'ip4:' '' 127.0.0.1 u@ip4.spf.test fail.spf.test
s null-sender fail '-all' \
    '^postmaster@fail\.spf\.test may not send from 127\.0\.0\.1' \
    127.0.0.1 '' fail.spf.test
s null-sender-angle fail '-all' '^postmaster@fail\.spf\.test ' \
    127.0.0.1 '<>' fail.spf.test
s null-sender-pass pass 'ip4:127\.0\.0\.0/8' '' 127.0.0.1 '' ip4.spf.test
s null-sender-helo-softfail softfail '~all' '' 127.0.0.1 '' \
    softfail.spf.test

# Usage errors.
usage no-ip --sender u@ip4.spf.test --helo $H
usage no-helo --ip 127.0.0.1 --sender u@ip4.spf.test
usage no-options
usage bad-ip-octet --ip 127.0.0.300 --sender u@ip4.spf.test --helo $H
usage bad-ip-prefix --ip 127.0.0.1/8 --sender u@ip4.spf.test --helo $H
usage bad-ip-text --ip localhost --sender u@ip4.spf.test --helo $H
usage bad-ip6 --ip 2001:db8::g --sender u@ip4.spf.test --helo $H
usage empty-ip --ip '' --sender u@ip4.spf.test --helo $H
usage sender-without-at --ip 127.0.0.1 --sender nobody --helo $H
usage ip-without-value --sender u@ip4.spf.test --helo $H --ip
usage unknown-option --ip 127.0.0.1 --sender u@ip4.spf.test --helo $H \
    --bogus
usage extra-argument --ip 127.0.0.1 --sender u@ip4.spf.test --helo $H \
    ip4.spf.test
usage escape-in-ip --ip "127.0.0.1$(printf '\033')[2J" \
    --sender u@ip4.spf.test --helo $H

finish
