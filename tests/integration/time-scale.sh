# shellcheck shell=sh
# time-scale.sh - sourced by the integration scripts: stretch their time
# limits by TIME_SCALE for a slow run (valgrind), without touching what
# they check.
#
# SYNOPSIS
#	. "$top_srcdir/tests/integration/time-scale.sh"
#	RESTART_MAX_MS=$(scaled 2000)
#
# DESCRIPTION
#	TIME_SCALE (environment, default 1) is a positive integer.  scaled N
#	prints N * TIME_SCALE.  A script passes its budgets, timeouts,
#	polling counts and the DNSTimeout and CheckWait it writes into its
#	configs through scaled, so under valgrind (tests/valgrind-integration.sh
#	sets TIME_SCALE) the same assertions hold with the limits stretched
#	alike: a reply must still come within CheckWait + 1 s, of a CheckWait
#	that is TIME_SCALE times longer.  The limits themselves are asserted
#	by the normal runs, with TIME_SCALE 1.
#
#	A value that is not a positive integer (or over 100) stops the script
#	with exit status 99, the harness's "could not run".

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
