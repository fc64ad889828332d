# shellcheck shell=sh
# lib.sh - sourced by every integration script: cases and their report,
# CASE selection, the summary line, cleanup at exit, time limits and the
# small helpers every script needs.
#
# SYNOPSIS
#	. "$top_srcdir/tests/integration/lib.sh"
#	T=$(mktemp -d "${TMPDIR:-/tmp}/authready-NAME.XXXXXX") || exit 99
#	at_exit 'rm -rf "$T"'
#	LIB_OUT=$T/out LIB_ERR=$T/err
#
#	case_ NAME [|| return 0]
#	cli CONF ARGS...
#	if [ "$rc" -eq 0 ]; then ok; else ko "exit $rc"; fi
#	...
#	finish
#
# DESCRIPTION
#	Cases.  case_ NAME begins a case; ok [DETAIL] and ko WHY... end it
#	("PASS: NAME[: DETAIL]", "FAIL: NAME: WHY").  ko shows the evidence
#	of the failure: the command ($last_cmd) and its exit status ($rc),
#	when a wrapper set them, then the first SHOW_LINES lines (each cut
#	to SHOW_COLUMNS, control bytes made visible) of its stdout and stderr
#	($LIB_OUT and $LIB_ERR) and of every FILE named with evidence FILE...
#	since case_; then it empties LIB_OUT and LIB_ERR so the next failure
#	shows its own output, and returns 1.  tally FILE PREFIX reports the
#	"PASS: NAME" and "FAIL: NAME: WHY" lines another program wrote to FILE
#	(the Lua scripts run by miltertest) as cases of their own, PREFIX
#	put before each NAME.
#	skip WHY counts the case as skipped ("SKIP: NAME (WHY)").
#
#	Selection.  CASE (environment) is a shell pattern on case names; unset
#	or empty selects every case.  case_ returns 1 when the case is not
#	selected.  A case that stands alone skips its work then (case_ NAME ||
#	return 0); a case that later cases build on runs anyway, and is
#	neither printed nor counted, unless it fails: its failure is printed
#	("FAIL: NAME (not selected, ...)") and counted, since the selected
#	cases after it may fail because of it.  The README says which scripts
#	run their cases in order.  selected NAME tells whether CASE picks
#	NAME without beginning a case (to skip a batch of work up front).
#
#	Summary.  finish prints "N passed, N failed" (", N skipped" when some
#	were) and exits 0 when none failed, 1 when one did, 77 when CASE
#	selected no case at all (a mistyped pattern is no pass).  The other
#	statuses of a script: 77 when what it needs is not installed, 99 when
#	it cannot run (lib_die).
#
#	Cleanup.  at_exit CMD registers a command for the end of the script,
#	whatever ends it: one trap on EXIT, INT, TERM, HUP (a closed terminal)
#	and PIPE (a reader that went away, | head) runs every registered
#	command once, the last registered first, then exits with the script's
#	status (130, 143, 129 and 141 for the signals).  nsd-harness.sh and
#	postfix-harness.sh register their cleanups here when this file is
#	loaded; a script registers its temporary directory and a function that
#	stops its own daemons.
#
#	Time.  TIME_SCALE (environment, default 1; tests/valgrind-integration.sh
#	sets 5) is a positive integer up to 100; scaled N prints N *
#	TIME_SCALE.  A script passes its budgets, timeouts, polling counts and
#	the DNSTimeout and CheckWait it writes into its configs through scaled,
#	so under valgrind the same assertions hold with the limits stretched
#	alike.  now_ms prints the wall clock in milliseconds; msleep MS sleeps.
#
#	Processes.  stop_pid [-KILL] PID... ends each PID: SIGTERM, then
#	SIGKILL once it has not exited within STOP_WAIT_TENTHS tenths of a
#	second (default 50, scaled); -KILL sends SIGKILL at once.  It reaps the
#	process; an empty PID is ignored.  stop_wait PID TENTHS sends SIGTERM
#	and waits that long: 0 with the exit status in rc, 1 while it still
#	runs (a case that judges the stop).  as_daemon_user CMD... runs CMD as
#	DUSER:DGROUP without capabilities when run as root, else as is.
#
#	The CLI.  cli CONF ARGS... runs $AUTHREADY -c CONF ARGS under timeout
#	RUN_TIMEOUT (default 30, scaled), as $CLI_AS (for example
#	as_daemon_user) when set, stdin from /dev/null, stdout in $LIB_OUT and
#	stderr in $LIB_ERR; it sets rc and last_cmd.
#
# ENVIRONMENT
#	CASE, TIME_SCALE as above.
#
# EXIT STATUS
#	Sourcing it exits 99 when TIME_SCALE is not a positive integer up to
#	100.
#
# SEE ALSO
#	tests/integration/README (which script runs its cases in order),
#	tests/test_integration_lib.sh (this file's own test).

[ -n "${LIB_LOADED:-}" ] && return 0
LIB_LOADED=1

CASE=${CASE:-}
npass=0
nfail=0
nskip=0
nseen=0
cur=
rc=0
last_cmd=
LIB_OUT=${LIB_OUT:-}
LIB_ERR=${LIB_ERR:-}
SHOW_LINES=${SHOW_LINES:-20}
SHOW_COLUMNS=${SHOW_COLUMNS:-300}
lib_evidence=
lib_selected=1
lib_cleanups=

# Time ---------------------------------------------------------------------

TIME_SCALE=${TIME_SCALE:-1}
case $TIME_SCALE in
'' | *[!0-9]* | 0*)
	echo "ERROR: TIME_SCALE must be a positive integer, not '$TIME_SCALE'" >&2
	exit 99
	;;
esac
if [ "$TIME_SCALE" -gt 100 ]; then
	echo "ERROR: TIME_SCALE $TIME_SCALE is over 100" >&2
	exit 99
fi

# scaled N - N times TIME_SCALE.
scaled() {
	echo $(($1 * TIME_SCALE))
}

# now_ms - wall clock in milliseconds.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# msleep MS - sleep MS milliseconds.
msleep() {
	sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"
}

# wait_line FILE PATTERN - until FILE has a line matching PATTERN (a
# grep basic regular expression), polled every tenth of a second for at
# most WAIT_TENTHS tenths (default 60 s, scaled); 1 at the deadline.  A
# daemon's log thread writes a line after what it logs has happened, so
# a test waits for the line rather than reading the log once.
wait_line() {
	lib_i=0
	while ! grep -q -e "$2" "$1" 2>/dev/null; do
		[ $lib_i -lt "${WAIT_TENTHS:-$(scaled 600)}" ] || return 1
		sleep 0.1
		lib_i=$((lib_i + 1))
	done
	return 0
}

# Cleanup ------------------------------------------------------------------

# at_exit CMD - run CMD (evaluated then) when the script ends; last first.
at_exit() {
	lib_cleanups="$1
$lib_cleanups"
}

# lib_exit STATUS - the trap: run the registered commands once, exit.
lib_exit() {
	trap '' INT TERM HUP PIPE
	trap - EXIT
	lib_todo=$lib_cleanups
	lib_cleanups=
	# Each line is one registered command.
	while [ -n "$lib_todo" ]; do
		lib_cmd=${lib_todo%%
*}
		case $lib_todo in
		*"
"*) lib_todo=${lib_todo#*
} ;;
		*) lib_todo= ;;
		esac
		[ -n "$lib_cmd" ] && eval "$lib_cmd"
	done
	exit "$1"
}
trap 'lib_exit $?' EXIT
trap 'lib_exit 130' INT
trap 'lib_exit 143' TERM
trap 'lib_exit 129' HUP
trap 'lib_exit 141' PIPE

# lib_die WHY - the harness cannot run: say why, exit 99.
lib_die() {
	echo "ERROR: $*" >&2
	exit 99
}

# Processes ----------------------------------------------------------------

# stop_pid [-KILL] PID... - end and reap each PID, bounded (see above).
stop_pid() {
	lib_sig=TERM
	if [ "${1:-}" = -KILL ]; then
		lib_sig=KILL
		shift
	fi
	lib_tenths=${STOP_WAIT_TENTHS:-$(scaled 50)}
	lib_rc=${rc:-} # a cleanup does not change the status a case reads
	for lib_pid in "$@"; do
		[ -n "$lib_pid" ] || continue
		if [ "$lib_sig" = TERM ] && stop_wait "$lib_pid" "$lib_tenths"
		then
			continue
		fi
		kill -KILL "$lib_pid" 2>/dev/null
		wait "$lib_pid" 2>/dev/null
	done
	rc=$lib_rc
	return 0
}

# stop_wait PID TENTHS - SIGTERM to PID, then wait at most TENTHS tenths
# of a second for it to exit: 0 with its exit status in rc, 1 when it is
# still running (it is left so; stop_pid kills it).
stop_wait() {
	kill -TERM "$1" 2>/dev/null
	lib_j=0
	while kill -0 "$1" 2>/dev/null && [ $lib_j -lt "$2" ]; do
		sleep 0.1
		lib_j=$((lib_j + 1))
	done
	kill -0 "$1" 2>/dev/null && return 1
	wait "$1"
	rc=$?
	return 0
}

# as_daemon_user CMD... - CMD as DUSER:DGROUP, no capabilities, when root.
as_daemon_user() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid "$DUSER" --regid "$DGROUP" --clear-groups \
		    --inh-caps=-all -- "$@"
	else
		"$@"
	fi
}

# cli CONF ARGS... - authready -c CONF ARGS; sets rc, last_cmd, LIB_OUT/ERR.
cli() {
	lib_conf=$1
	shift
	last_cmd="authready -c $lib_conf $*"
	${CLI_AS:-} timeout "${RUN_TIMEOUT:-$(scaled 30)}" "$AUTHREADY" \
	    -c "$lib_conf" "$@" >"$LIB_OUT" 2>"$LIB_ERR" </dev/null
	rc=$?
}

# Cases --------------------------------------------------------------------

# selected NAME - whether CASE (a shell pattern) picks NAME.
selected() {
	[ -z "$CASE" ] && return 0
	# CASE is a pattern on purpose.
	# shellcheck disable=SC2254
	case $1 in
	$CASE) return 0 ;;
	esac
	return 1
}

# case_ NAME - begin case NAME; 1 when CASE does not select it.
case_() {
	cur=$1
	lib_evidence=
	if selected "$1"; then
		lib_selected=1
		nseen=$((nseen + 1))
		return 0
	fi
	lib_selected=0
	return 1
}

# evidence FILE... - files ko shows, besides LIB_OUT and LIB_ERR.
evidence() {
	lib_evidence="$lib_evidence $*"
}

# lib_show LABEL FILE - the head of FILE, cut and made visible, labelled.
lib_show() {
	[ -f "$2" ] || return 0
	sed -n "1,${SHOW_LINES}p" "$2" | cut -c1-"$SHOW_COLUMNS" | cat -v |
	    sed "s|^|  $1: |"
}

# ok [DETAIL] - the current case passed.
ok() {
	[ "$lib_selected" = 1 ] || return 0
	npass=$((npass + 1))
	echo "PASS: $cur${1:+: $1}"
}

# ko WHY... - the current case failed: say why and show the evidence.
ko() {
	nfail=$((nfail + 1))
	if [ "$lib_selected" = 1 ]; then
		echo "FAIL: $cur: $*"
	else
		echo "FAIL: $cur (not selected, run for the cases after it): $*"
	fi
	if [ -n "$last_cmd" ]; then
		printf "%s\n" "$last_cmd" | cut -c1-"$SHOW_COLUMNS" | cat -v |
		    sed "s/^/  command: /"
		echo "  exit: $rc"
	fi
	if [ -n "$LIB_OUT" ]; then
		lib_show stdout "$LIB_OUT"
		: >"$LIB_OUT"
	fi
	if [ -n "$LIB_ERR" ]; then
		lib_show stderr "$LIB_ERR"
		: >"$LIB_ERR"
	fi
	for lib_f in $lib_evidence; do
		[ "$lib_f" = "$LIB_OUT" ] || [ "$lib_f" = "$LIB_ERR" ] ||
		    lib_show "${lib_f##*/}" "$lib_f"
	done
	lib_evidence=
	return 1
}

# skip WHY - the current case could not run here.
skip() {
	[ "$lib_selected" = 1 ] || return 0
	nskip=$((nskip + 1))
	echo "SKIP: $cur ($*)"
}

# tally FILE PREFIX - another program's PASS and FAIL lines as cases.
tally() {
	while IFS= read -r lib_line; do
		case $lib_line in
		'PASS: '* | 'FAIL: '*) ;;
		*) continue ;;
		esac
		lib_name=$2${lib_line#????: }
		if selected "$lib_name"; then
			nseen=$((nseen + 1))
			echo "${lib_line%%: *}: $lib_name"
		elif [ "${lib_line%%: *}" = FAIL ]; then
			echo "FAIL: $lib_name (not selected, run for the cases after it)"
		else
			continue
		fi
		case $lib_line in
		PASS*) npass=$((npass + 1)) ;;
		*) nfail=$((nfail + 1)) ;;
		esac
	done <"$1"
}

# finish - the summary line; exit 0, 1, or 77 when CASE selected nothing.
finish() {
	if [ "$nskip" -gt 0 ]; then
		echo "$npass passed, $nfail failed, $nskip skipped"
	else
		echo "$npass passed, $nfail failed"
	fi
	[ "$nfail" -eq 0 ] || exit 1
	if [ -n "$CASE" ] && [ "$nseen" -eq 0 ]; then
		echo "CASE='$CASE' selects no case of this script" >&2
		exit 77
	fi
	exit 0
}
