#!/bin/sh
# valgrind-integration.sh - the integration tests with the installed
# programs running under valgrind: no memory errors, no definite leaks in
# any authready or authready-milter process the tests start.
#
# SYNOPSIS
#	tests/valgrind-integration.sh SRCDIR BUILDDIR [SCRIPT...]
#
# DESCRIPTION
#	Writes two wrappers, authready and authready-milter, that exec the
#	built programs under valgrind (memcheck, full leak check, each
#	process logging to its own file), points AUTHREADY and
#	AUTHREADY_MILTER at them and runs the integration scripts (default:
#	check.sh spf.sh registry.sh milter.sh; the ones that time crashes,
#	load or kill -9 are left out: valgrind's slowdown is what they
#	would measure).  A script must pass as it does without valgrind,
#	and every valgrind log must be empty (valgrind -q writes only
#	errors).  Run from anywhere; needs what the scripts need, as root.
#
# EXIT STATUS
#	0 all clean, 1 a script failed or valgrind reported something.
set -u
src=$(cd "${1:?usage: valgrind-integration.sh SRCDIR BUILDDIR [SCRIPT...]}" && pwd)
build=$(cd "${2:?usage: valgrind-integration.sh SRCDIR BUILDDIR [SCRIPT...]}" && pwd)
shift 2
scripts=${*:-check.sh spf.sh registry.sh milter.sh}
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
for prog in authready authready-milter; do
	cat >"$work/bin/$prog" <<EOF
#!/bin/sh
exec valgrind -q --vgdb=no --error-exitcode=99 --leak-check=full \\
    --errors-for-leak-kinds=definite --show-leak-kinds=definite \\
    --trace-children=no --log-file=$logs/$prog.%p.log \\
    "$build/$prog" "\$@"
EOF
	chmod 0755 "$work/bin/$prog"
done

failed=0
for s in $scripts; do
	if top_srcdir=$src top_builddir=$build \
	    AUTHREADY=$work/bin/authready \
	    AUTHREADY_MILTER=$work/bin/authready-milter \
	    "$src/tests/integration/$s" >"$work/$s.out" 2>&1; then
		echo "PASS: $s under valgrind ($(grep -c '^PASS' "$work/$s.out") cases)"
	else
		echo "FAIL: $s under valgrind"
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
