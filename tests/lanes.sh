# lanes.sh - run a list of jobs a few at once; sourced by
# tests/valgrind-unit.sh and tests/valgrind-integration.sh.
#
# SYNOPSIS
#	. "$src/tests/lanes.sh"
#	lanes_check NAME VALUE
#	lanes_run N WORK FUNCTION ITEM...
#
# DESCRIPTION
#	lanes_check exits 1, with a message naming NAME, unless VALUE is a
#	positive number.
#
#	lanes_run starts N lanes (subshells) at once; each takes the next
#	ITEM, in the order given, that no lane has taken (mkdir of
#	WORK/taken.ITEM is atomic: the first lane to make it runs it) and
#	calls FUNCTION ITEM, until none is left.  It returns when every lane
#	has ended.  FUNCTION reports through files of its own (its exit
#	status is not kept), so that the caller can print the verdicts in
#	order afterwards.

lanes_check() {
	case $2 in
	'' | *[!0-9]* | 0*)
		echo "$1 must be a positive number" >&2
		exit 1
		;;
	esac
}

lanes_run() {
	lanes_n=$1
	lanes_work=$2
	lanes_fn=$3
	shift 3
	lanes_i=0
	lanes_pids=
	while [ $lanes_i -lt "$lanes_n" ]; do
		(
			for lanes_item in "$@"; do
				mkdir "$lanes_work/taken.$lanes_item" \
				    2>/dev/null || continue
				"$lanes_fn" "$lanes_item" || :
			done
			exit 0
		) &
		lanes_pids="$lanes_pids $!"
		lanes_i=$((lanes_i + 1))
	done
	# shellcheck disable=SC2086 # a list of PIDs
	wait $lanes_pids
}
