#!/bin/sh
# valgrind-unit.sh - every unit test under valgrind: no errors, no
# definite leaks.  Run from a build directory (tests/run does it for the
# plain build).  Check's fork mode is off so valgrind sees the tests.
# The tests run in VG_LANES (default: the number of CPUs) lanes at once,
# each lane taking the next test nobody has taken; the verdicts are
# printed in name order at the end.
#
# usage: tests/valgrind-unit.sh SRCDIR BUILDDIR
set -eu
src=$(cd "${1:?usage: valgrind-unit.sh SRCDIR BUILDDIR}" && pwd)
build=$(cd "${2:?usage: valgrind-unit.sh SRCDIR BUILDDIR}" && pwd)
command -v valgrind >/dev/null 2>&1 || {
	echo "valgrind-unit: valgrind is not installed" >&2
	exit 1
}
# shellcheck source=tests/lanes.sh
. "$src/tests/lanes.sh"
lanes=${VG_LANES:-$(nproc 2>/dev/null || echo 2)}
lanes_check "valgrind-unit: VG_LANES" "$lanes"
work=$(mktemp -d "${TMPDIR:-/tmp}/vg-unit.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

tests=
for t in "$build"/tests/test_*; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	case $t in *.o | *.log | *.trs | *.sh) continue ;; esac
	tests="$tests $(basename "$t")"
done

# run_one NAME - the test under valgrind; its verdict in $work/NAME.
run_one() {
	log="$build/tests/$1.valgrind.log"
	if CK_FORK=no top_srcdir="$src" valgrind -q --error-exitcode=99 \
	    --leak-check=full --errors-for-leak-kinds=definite \
	    "$build/tests/$1" >"$log" 2>&1; then
		echo "PASS: valgrind $1" >"$work/$1"
	else
		{
			echo "FAIL: valgrind $1 (see $log)"
			sed -n '1,40p' "$log"
		} >"$work/$1"
	fi
}

# shellcheck disable=SC2086 # a list of names
lanes_run "$lanes" "$work" run_one $tests
failed=0
for name in $tests; do
	if [ ! -f "$work/$name" ]; then
		echo "FAIL: valgrind $name (no verdict)"
		failed=1
		continue
	fi
	cat "$work/$name"
	grep -q '^PASS' "$work/$name" || failed=1
done
exit $failed
