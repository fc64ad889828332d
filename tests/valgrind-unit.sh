#!/bin/sh
# valgrind-unit.sh - every unit test under valgrind: no errors, no
# definite leaks.  Run from a build directory (tests/run does it for the
# plain build).  Check's fork mode is off so valgrind sees the tests.
#
# usage: tests/valgrind-unit.sh SRCDIR BUILDDIR
set -eu
src=$(cd "${1:?usage: valgrind-unit.sh SRCDIR BUILDDIR}" && pwd)
build=$(cd "${2:?usage: valgrind-unit.sh SRCDIR BUILDDIR}" && pwd)
command -v valgrind >/dev/null 2>&1 || {
	echo "valgrind-unit: valgrind is not installed" >&2
	exit 1
}
failed=0
for t in "$build"/tests/test_*; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	case $t in *.o | *.log | *.trs | *.sh) continue ;; esac
	name=$(basename "$t")
	log="$build/tests/$name.valgrind.log"
	if CK_FORK=no top_srcdir="$src" valgrind -q --error-exitcode=99 \
	    --leak-check=full --errors-for-leak-kinds=definite \
	    "$t" >"$log" 2>&1; then
		echo "PASS: valgrind $name"
	else
		echo "FAIL: valgrind $name (see $log)"
		sed -n '1,40p' "$log"
		failed=1
	fi
done
exit $failed
