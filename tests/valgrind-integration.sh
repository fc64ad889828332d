#!/bin/sh
# valgrind-integration.sh - the integration tests with the installed
# programs running under valgrind: no memory errors, no definite leaks in
# any authready, authready-milter or authready-api process the tests
# start.
#
# SYNOPSIS
#	tests/valgrind-integration.sh SRCDIR BUILDDIR [SCRIPT...]
#
# DESCRIPTION
#	Writes three wrappers, authready, authready-milter and
#	authready-api, that exec the built programs under valgrind
#	(memcheck, full leak check, each process logging to its own file),
#	points AUTHREADY, AUTHREADY_MILTER and AUTHREADY_API at them and
#	runs the integration scripts (default: all of them).  A script must pass as it does without valgrind, and
#	every valgrind log must be empty (valgrind -q writes only errors).
#	tests/valgrind.supp holds the few suppressions, each of a system
#	library's own memory, with its reason.
#	Run from anywhere; needs what the scripts need, as root.
#
#	Valgrind runs a program 20 to 50 times slower, and one thread at a
#	time.  So the scripts run with their time limits stretched
#	(TIME_SCALE, default 5: a DNSTimeout of 1 s becomes 5 s, CheckWait
#	and the budgets alike; tests/integration/lib.sh) and the
#	crash and load tests with smaller sizes (CRASH_DOMAINS 30,
#	CRASH_KILLS 12, CRASH_PHASES 2, CRASH_DAEMON_KILLS 10; LOAD_SESSIONS
#	50, LOAD_MESSAGES 200, LOAD_RELOADS 10), and faults.sh without its
#	memory limit per check (valgrind's own memory counts in the process
#	it runs).  What they check is unchanged; the limits and sizes
#	themselves are asserted by the normal runs.  Each of these can be
#	set in the environment.  A process killed with SIGKILL on purpose
#	(crash.sh) writes no leak report, but any error before the kill is
#	in its log.
#
#	The scripts run in VG_LANES (default 2) lanes at once: each lane
#	takes the next script nobody has taken, in the order given (the
#	default order puts the longest first), until none is left; the
#	results are printed in that order at the end.  The scripts use their own scratch
#	directories, ports and Postfix instances, so they do not meet.
#
# EXIT STATUS
#	0 all clean, 1 a script failed or valgrind reported something.
set -u
src=$(cd "${1:?usage: valgrind-integration.sh SRCDIR BUILDDIR [SCRIPT...]}" && pwd)
build=$(cd "${2:?usage: valgrind-integration.sh SRCDIR BUILDDIR [SCRIPT...]}" && pwd)
shift 2
scripts=${*:-faults.sh check.sh postfix.sh crash.sh registry.sh \
    fallback.sh \
    privilege.sh milter.sh spf.sh load.sh files.sh budget.sh fleet.sh \
    fromcheck.sh policy.sh fleet-checkers.sh replica.sh sendmail.sh \
    fleet-postfix.sh api.sh api-fleet.sh webhooks.sh webhooks-fleet.sh \
    metrics.sh api-metrics.sh}
# shellcheck source=tests/lanes.sh
. "$src/tests/lanes.sh"
lanes=${VG_LANES:-2}
lanes_check "valgrind-integration: VG_LANES" "$lanes"
: "${TIME_SCALE:=5}" "${FAULTS_MAX_RSS_KB:=4194304}"
: "${CRASH_DOMAINS:=30}" "${CRASH_KILLS:=12}" "${CRASH_PHASES:=2}"
: "${CRASH_DAEMON_KILLS:=10}"
: "${LOAD_SESSIONS:=50}" "${LOAD_MESSAGES:=200}" "${LOAD_RELOADS:=10}"
export TIME_SCALE FAULTS_MAX_RSS_KB CRASH_DOMAINS CRASH_KILLS CRASH_PHASES \
    CRASH_DAEMON_KILLS LOAD_SESSIONS LOAD_MESSAGES LOAD_RELOADS
command -v valgrind >/dev/null 2>&1 || {
	echo "valgrind-integration: valgrind is not installed" >&2
	exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/vg-integ.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
logs=$work/logs
mkdir -p "$logs" "$work/bin"
# The daemon drops to its UserID: valgrind opens its log before that,
# but keep the directory reachable for any process of the tests.
chmod 1777 "$logs"
chmod 0755 "$work" "$work/bin"
for prog in authready authready-milter authready-api; do
	# A log file of its own for every run, made by the user who runs
	# it: one named by PID alone could not be opened by a run as
	# another user whose PID an earlier run had (PIDs wrap).
	cat >"$work/bin/$prog" <<EOF
#!/bin/sh
log=\$(mktemp "$logs/$prog.\$\$.XXXXXX.log") || exit 99
exec valgrind -q --vgdb=no --error-exitcode=99 --leak-check=full \\
    --suppressions="$src/tests/valgrind.supp" \\
    --errors-for-leak-kinds=definite --show-leak-kinds=definite \\
    --trace-children=no --log-file="\$log" \\
    "$build/$prog" "\$@"
EOF
	chmod 0755 "$work/bin/$prog"
done

# run_one SCRIPT - run it; its verdict line and output in $work/SCRIPT.*.
run_one() {
	t0=$(date +%s)
	if top_srcdir=$src top_builddir=$build \
	    AUTHREADY=$work/bin/authready \
	    AUTHREADY_MILTER=$work/bin/authready-milter \
	    AUTHREADY_API=$work/bin/authready-api \
	    "$src/tests/integration/$1" >"$work/$1.out" 2>&1; then
		echo "PASS: $1 under valgrind ($(grep -c '^PASS' \
		    "$work/$1.out") cases, $(($(date +%s) - t0)) s)" \
		    >"$work/$1.verdict"
	else
		echo "FAIL: $1 under valgrind ($(($(date +%s) - t0)) s)" \
		    >"$work/$1.verdict"
	fi
}

# shellcheck disable=SC2086 # a list of names
lanes_run "$lanes" "$work" run_one $scripts
failed=0
for s in $scripts; do
	if [ ! -f "$work/$s.verdict" ]; then
		echo "FAIL: $s under valgrind (no verdict)"
		failed=1
		continue
	fi
	cat "$work/$s.verdict"
	if grep -q '^FAIL' "$work/$s.verdict"; then
		grep -v '^PASS' "$work/$s.out" | sed -n '1,40p'
		failed=1
	fi
done
n=$(find "$logs" -name '*.log' | wc -l)
bad=$(find "$logs" -name '*.log' -size +0c)
if [ -n "$bad" ]; then
	echo "FAIL: valgrind reported errors in $(echo "$bad" | wc -l) of $n processes:"
	for f in $bad; do
		echo "== $f"
		sed -n '1,40p' "$f"
	done
	failed=1
else
	echo "PASS: valgrind clean in all $n processes"
fi
exit $failed
