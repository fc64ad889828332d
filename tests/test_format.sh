#!/bin/sh
# test_format.sh - every C file of src/ and tests/ is formatted as the
# repository's .clang-format says.
#
# SYNOPSIS
#	make check TESTS=tests/test_format.sh
#	top_srcdir=. tests/test_format.sh
#
# DESCRIPTION
#	Runs clang-format 14 (Debian 12's; another major version formats
#	some constructs differently, so it is not used) in dry-run mode on
#	every *.c and *.h below src/ and tests/, and lists each file whose
#	formatting differs, with the first lines of the difference.  To fix:
#
#	  clang-format-14 -i $(find src tests -name '*.[ch]')
#
#	The same check first runs on a built-in sample that is badly
#	formatted, so a check that could not see a difference (a missing
#	.clang-format, a clang-format that ignores it) fails instead of
#	passing everything.
#
# EXIT STATUS
#	0 every file formatted, 1 some are not, 77 (skip) without
#	clang-format 14, 99 the check cannot run.

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/..}
top_srcdir=$(cd "$top_srcdir" && pwd)

CF=
for c in clang-format-14 clang-format; do
	if command -v "$c" >/dev/null 2>&1 &&
	    "$c" --version 2>/dev/null | grep -q 'version 14\.'; then
		CF=$c
		break
	fi
done
if [ -z "$CF" ]; then
	echo "SKIP: clang-format 14 not found (contrib/install-deps installs it)"
	exit 77
fi
if [ ! -f "$top_srcdir/.clang-format" ]; then
	echo "ERROR: $top_srcdir/.clang-format is missing" >&2
	exit 99
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-format.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# formatted FILE - 0 when clang-format would leave FILE as it is.
formatted() {
	"$CF" --style=file --dry-run -Werror "$1" >"$T/diag" 2>&1
}

# The sample: the style file is used (tabs, braces on their own line).
cp "$top_srcdir/.clang-format" "$T/.clang-format"
printf 'int f(int a){ if(a) return 1;\n  return 0; }\n' >"$T/sample.c"
if formatted "$T/sample.c"; then
	echo "FAIL: a badly formatted sample passed: the check sees nothing"
	exit 1
fi

cd "$top_srcdir" || exit 99
nbad=0
nfiles=0
for f in $(find src tests -name '*.[ch]' | sort); do
	nfiles=$((nfiles + 1))
	if ! formatted "$f"; then
		nbad=$((nbad + 1))
		echo "FAIL: $f is not formatted:"
		sed -n '1,6p' "$T/diag" | sed 's/^/  /'
	fi
done
if [ "$nfiles" -eq 0 ]; then
	echo "ERROR: no C files found below $top_srcdir/src" >&2
	exit 99
fi
echo "$nfiles files, $nbad not formatted"
[ "$nbad" -eq 0 ]
