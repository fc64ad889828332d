#!/bin/sh
# test_integration_lib.sh - tests/integration/lib.sh does what the
# integration scripts count on: the PASS/FAIL lines, CASE, the summary
# line, the exit status, cleanup at exit and on a signal, stop_pid,
# wait_line.
#
# SYNOPSIS
#	make check TESTS=tests/test_integration_lib.sh
#	top_srcdir=. tests/test_integration_lib.sh
#
# DESCRIPTION
#	Writes small scripts that source lib.sh, runs them and compares what
#	they print and how they exit with what tests/integration/README
#	promises.  Needs nothing but a shell; no DNS, no daemon.
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 99 lib.sh cannot be read.

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/..}
LIB=$top_srcdir/tests/integration/lib.sh
[ -r "$LIB" ] || {
	echo "ERROR: $LIB not readable" >&2
	exit 99
}
W=$(mktemp -d "${TMPDIR:-/tmp}/test-lib.XXXXXX") || exit 99
trap 'rm -rf "$W"' EXIT
npass=0
nfail=0

# check NAME WANT_RC WANT_OUT - the last run exited WANT_RC and printed
# exactly WANT_OUT.
check() {
	got=$(cat "$W/out")
	if [ "$rc" -ne "$2" ]; then
		nfail=$((nfail + 1))
		echo "FAIL: $1: exit $rc, expected $2"
		sed 's/^/  out: /' "$W/out"
	elif [ "$got" != "$3" ]; then
		nfail=$((nfail + 1))
		echo "FAIL: $1: output differs"
		printf '%s\n' "$3" >"$W/want"
		diff "$W/want" "$W/out" | sed 's/^/  /'
	else
		npass=$((npass + 1))
		echo "PASS: $1"
	fi
}

# body - a script of three cases (two pass, the middle one fails with its
# run shown) and a miltertest-like output; cleanups echo their names.
cat >"$W/body.sh" <<EOF
set -u
. "$LIB"
at_exit 'echo cleanup-first-registered'
at_exit 'echo cleanup-last-registered'
LIB_OUT=$W/o LIB_ERR=$W/e
AUTHREADY=/bin/echo
case_ one
cli /c.conf hello
[ "\$rc" -eq 0 ] && ok "printed hello"
case_ two
cli /c.conf bye
echo evidence-line >"$W/ev.log"
evidence "$W/ev.log"
ko "wanted" "more"
printf 'PASS: a\nFAIL: b: why\nnoise\n' >"$W/mt"
tally "$W/mt" "lua: "
case_ three
ok
[ -n "\${SLEEP:-}" ] && sleep "\$SLEEP"
finish
EOF

sh "$W/body.sh" >"$W/out" 2>&1
rc=$?
check "all cases: PASS/FAIL lines, the run of a failure, summary, exit 1" \
    1 "PASS: one: printed hello
FAIL: two: wanted more
  command: authready -c /c.conf bye
  exit: 0
  stdout: -c /c.conf bye
  ev.log: evidence-line
PASS: lua: a
FAIL: lua: b: why
PASS: three
3 passed, 2 failed
cleanup-last-registered
cleanup-first-registered"

CASE='t*' sh "$W/body.sh" >"$W/out" 2>&1
rc=$?
check "CASE: the others run, silent unless they fail" 1 \
    "FAIL: two: wanted more
  command: authready -c /c.conf bye
  exit: 0
  stdout: -c /c.conf bye
  ev.log: evidence-line
FAIL: lua: b: why (not selected, run for the cases after it)
PASS: three
1 passed, 2 failed
cleanup-last-registered
cleanup-first-registered"

cat >"$W/pass.sh" <<EOF
. "$LIB"
case_ alone && ok
case_ "no dig here" && skip "no dig"
finish
EOF
sh "$W/pass.sh" >"$W/out" 2>&1
rc=$?
check "no failure: exit 0, skipped counted" 0 "PASS: alone
SKIP: no dig here (no dig)
1 passed, 0 failed, 1 skipped"

CASE='nothing*' sh "$W/pass.sh" >"$W/out" 2>&1
rc=$?
check "CASE that selects nothing: exit 77" 77 "0 passed, 0 failed
CASE='nothing*' selects no case of this script"

SLEEP=30 sh "$W/body.sh" >"$W/out" 2>&1 &
pid=$!
i=0
while ! grep -q '^PASS: three' "$W/out" && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
# The shell runs its trap once its sleep has ended: end that too.
kids=
i=0
while [ -z "$kids" ] && [ $i -lt 100 ]; do
	kids=$(ps -o pid= --ppid "$pid" 2>/dev/null)
	[ -n "$kids" ] || sleep 0.1
	i=$((i + 1))
done
kill -TERM "$pid"
for k in $kids; do
	kill "$k" 2>/dev/null
done
wait "$pid"
rc=$?
tail -n 2 "$W/out" >"$W/tail"
mv "$W/tail" "$W/out"
check "SIGTERM: every cleanup runs, exit 143" 143 "cleanup-last-registered
cleanup-first-registered"

cat >"$W/stop.sh" <<EOF
. "$LIB"
STOP_WAIT_TENTHS=20
sh -c 'trap "" TERM; while :; do sleep 1; done' &
p=\$!
t0=\$(now_ms)
stop_pid "\$p" ""
kill -0 "\$p" 2>/dev/null && echo alive
[ \$((\$(now_ms) - t0)) -lt 10000 ] && echo bounded
EOF
sh "$W/stop.sh" >"$W/out" 2>&1
rc=$?
check "stop_pid: KILL after the bounded wait of one ignoring TERM" 0 "bounded"

cat >"$W/line.sh" <<EOF
. "$LIB"
WAIT_TENTHS=50
: >"$W/l.log"
(sleep 0.3; echo 'x event=late domain=a.example y' >>"$W/l.log") &
wait_line "$W/l.log" 'event=late .*domain=a.example' && echo found
wait
WAIT_TENTHS=3
wait_line "$W/l.log" 'event=never' || echo "deadline \$?"
wait_line "$W/missing.log" 'event=late' || echo "no file \$?"
EOF
sh "$W/line.sh" >"$W/out" 2>&1
rc=$?
check "wait_line: a line written later is waited for; 1 at the deadline" \
    0 "found
deadline 1
no file 1"

TIME_SCALE=abc sh "$W/pass.sh" >"$W/out" 2>&1
rc=$?
check "TIME_SCALE not a positive integer: exit 99" 99 \
    "ERROR: TIME_SCALE must be a positive integer, not 'abc'"

echo "$npass passed, $nfail failed"
[ $nfail -eq 0 ]
