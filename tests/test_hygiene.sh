#!/bin/sh
# test_hygiene.sh - the sources call no shell, no PATH search and no
# unbounded string function, and every file carries its header.
#
# SYNOPSIS
#	make check TESTS=tests/test_hygiene.sh
#	top_srcdir=. tests/test_hygiene.sh
#
# DESCRIPTION
#	Reads every src/*/*.c and src/*/*.h with comments, string literals and
#	character literals blanked out (so "no system()" in a comment is no
#	offence), and fails on a call of:
#
#	  system, popen             a shell parses the command
#	  execlp, execvp, execvpe,  the program is looked up on PATH; external
#	  posix_spawnp              programs run by absolute path only
#	  gets, sprintf, vsprintf,  no bound on what they write
#	  strcpy, strcat, stpcpy
#	  tmpnam, tempnam, mktemp   a name another process can take first
#
#	A call is the name as a whole identifier followed by "(" (so
#	snprintf, strlcpy or a field named system are fine).  Every offender
#	is listed as FILE:LINE: the line.
#
#	Every src/*/*.[ch] and tests/*.[ch] must open with the man-page
#	header: "/*", then " * FILE - what it is for" naming the file
#	itself, and a SYNOPSIS section in that first comment.
#
#	Each check runs on a built-in sample with one offence per rule and
#	some look-alikes, so a broken pattern fails the test instead of
#	passing everything.
#
# EXIT STATUS
#	0 clean, 1 offenders found, 99 the sources cannot be read.

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/..}
SRC=$top_srcdir/src

FORBIDDEN='system|popen|execlp|execvp|execvpe|posix_spawnp|gets|sprintf|vsprintf|strcpy|strcat|stpcpy|tmpnam|tempnam|mktemp'

# strip FILE... - "FILE:LINE:TEXT" for every line, with comments and
# string and character literals replaced by spaces; line numbers kept.
strip() {
	awk '
	FNR == 1 { incomment = 0 }
	{
		out = ""
		s = $0
		n = length(s)
		i = 1
		while (i <= n) {
			c = substr(s, i, 1)
			c2 = substr(s, i, 2)
			if (incomment) {
				if (c2 == "*/") { incomment = 0; out = out "  "; i += 2 }
				else { out = out " "; i++ }
				continue
			}
			if (c2 == "/*") { incomment = 1; out = out "  "; i += 2; continue }
			if (c2 == "//") break
			if (c == "\"" || c == "\047") {
				q = c
				out = out " "
				i++
				while (i <= n) {
					c = substr(s, i, 1)
					if (c == "\\") { out = out "  "; i += 2; continue }
					out = out " "
					i++
					if (c == q) break
				}
				continue
			}
			out = out c
			i++
		}
		print FILENAME ":" FNR ":" out
	}' "$@"
}

# offenders NAMES FILE... - FILE:LINE of each line that calls one of
# NAMES (an ERE alternation of function names).
offenders() {
	names=$1
	shift
	strip "$@" |
	    grep -E "^[^:]*:[0-9]*:(.*[^A-Za-z0-9_])?($names)[[:space:]]*\\(" |
	    sed 's/^\([^:]*:[0-9]*\):.*/\1/'
}

# bad_headers FILE... - FILE:2 of each file whose first comment does not
# open with "FILE - what it is for" (the file's own name) and hold a
# SYNOPSIS section: the man-page header every file carries.
bad_headers() {
	for f in "$@"; do
		awk -v base="${f##*/}" '
		NR == 1 && $0 != "/*" { bad = 1; exit }
		NR == 2 && index($0, " * " base " - ") != 1 { bad = 1; exit }
		/^ \* SYNOPSIS$/ { syn = 1 }
		/\*\// { exit }
		END { exit !(bad || !syn) }' "$f" && echo "$f:2"
	done
}

nfail=0
npass=0

# report NAME LIST - pass when LIST is empty, else fail listing it.
report() {
	if [ -z "$2" ]; then
		npass=$((npass + 1))
		echo "PASS: $1"
		return
	fi
	nfail=$((nfail + 1))
	echo "FAIL: $1"
	printf '%s\n' "$2" | while IFS= read -r where; do
		f=${where%:*}
		l=${where##*:}
		printf '  %s: %s\n' "$where" "$(sed -n "${l}p" "$f" |
		    sed 's/^[[:space:]]*//' | cut -c1-160)"
	done
}

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-hygiene.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
trap 'rm -rf "$T"; exit 130' INT
trap 'rm -rf "$T"; exit 143' TERM

# The self-check: every "BAD" line must be found, no "GOOD" line.
cat >"$T/sample.c" <<'EOF'
/* system() in a comment is fine; so is popen( here */
int a = system("x"); /* BAD */
FILE *f = popen(cmd, "r"); /* BAD */
execvp(argv[0], argv); /* BAD */
execlp("sh", "sh", NULL); /* BAD */
posix_spawnp(&pid, "postsuper", NULL, NULL, argv, env); /* BAD */
gets(buf); /* BAD */
n = sprintf (buf, "%d", 1); /* BAD */
vsprintf(buf, fmt, ap); /* BAD */
strcpy(dst, src); /* BAD */
strcat(dst, src); /* BAD */
(void)stpcpy(dst, src); /* BAD */
tmpnam(NULL); /* BAD */
mktemp(tmpl); /* BAD */
n = snprintf(buf, sizeof(buf), "system(%s)", "popen("); /* GOOD */
vsnprintf(buf, sizeof(buf), fmt, ap); /* GOOD */
posix_spawn(&pid, "/usr/sbin/postsuper", NULL, NULL, argv, env); /* GOOD */
cfg->system = 1; my_strcpy(a, b); fgets(buf, n, fp); /* GOOD */
s = "multi \" quoted strcpy( inside"; c = '"'; strcat_ok(1); /* GOOD */
/* a comment
   spanning strcpy(lines) */ x = 1; /* GOOD */
// strcat(a, b) after a line comment /* GOOD */
EOF
found=$(offenders "$FORBIDDEN" "$T/sample.c" | sed 's/.*://' | tr '\n' ' ')
want=$(grep -n 'BAD \*/$' "$T/sample.c" | sed 's/:.*//' | tr '\n' ' ')
if [ "$found" = "$want" ]; then
	npass=$((npass + 1))
	echo "PASS: the check finds every offence of the sample, nothing else"
else
	nfail=$((nfail + 1))
	echo "FAIL: the check finds lines $found in the sample, expected $want"
fi

mkdir "$T/hdr"
printf '/*\n * good.c - a module.\n *\n * SYNOPSIS\n *\tSee good.h.\n */\n' \
    >"$T/hdr/good.c"
printf '/*\n * NAME\n *\tbad - a module\n * SYNOPSIS\n */\n' >"$T/hdr/bad.c"
printf '/*\n * other.c - names another file.\n * SYNOPSIS\n */\n' \
    >"$T/hdr/named.c"
printf '/*\n * nosyn.c - no synopsis.\n */\n' >"$T/hdr/nosyn.c"
found=$(bad_headers "$T"/hdr/*.c | sed 's|.*/||' | sort | tr '\n' ' ')
if [ "$found" = "bad.c:2 named.c:2 nosyn.c:2 " ]; then
	npass=$((npass + 1))
	echo "PASS: the header check finds every odd header of the sample"
else
	nfail=$((nfail + 1))
	echo "FAIL: the header check finds $found in the sample"
fi

set -- "$SRC"/*/*.c "$SRC"/*/*.h
if [ ! -f "$1" ]; then
	echo "ERROR: no sources in $SRC" >&2
	exit 99
fi
report "src: no system(), popen() or PATH-searching exec" \
    "$(offenders 'system|popen|execlp|execvp|execvpe|posix_spawnp' "$@")"
report "src: no gets, sprintf, vsprintf, strcpy, strcat, stpcpy" \
    "$(offenders 'gets|sprintf|vsprintf|strcpy|strcat|stpcpy' "$@")"
report "src: no tmpnam, tempnam, mktemp" \
    "$(offenders 'tmpnam|tempnam|mktemp' "$@")"
report "src, tests: every file opens with its man-page header" \
    "$(bad_headers "$@" "$top_srcdir"/tests/*.c "$top_srcdir"/tests/*.h)"

echo "$npass passed, $nfail failed"
[ $nfail -eq 0 ]
