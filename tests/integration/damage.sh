#!/bin/sh
# damage.sh - a damaged state store: no program dies by a signal, every
# one says so and names the recovery, and the recovery works.
#
# SYNOPSIS
#	make check TESTS=tests/integration/damage.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/damage.sh
#
# DESCRIPTION
#	LMDB does not checksum its pages.  The test registers 150 domains
#	(one import: a fixed layout of one branch page over six leaves in a
#	twelve-page data.mdb, checked first) and changes one byte of
#	data.mdb at offsets found once with a loop over page headers: each
#	made status, refresh and authready-milter die by SIGBUS, SIGSEGV or
#	SIGABRT (an LMDB assertion) inside liblmdb before the fix.
#
#	  32780=0   leaf page 8's mp_lower: SIGBUS
#	  16396=0   leaf page 4's mp_lower: SIGSEGV
#	  20492=0   the branch page's mp_lower: LMDB assertion, SIGABRT
#	  36876=0   leaf page 9's mp_lower: SIGSEGV
#
#	For each: status, refresh --all and domain list exit 78 with "is
#	damaged" and the recovery on stderr, never by a signal; store check
#	exits 78 and says so; authready-milter -n and a start exit 78 with
#	the same sentence, and the start leaves no socket and no PID file.
#
#	Recovery: domain export from a store whose walk faults still gives
#	every domain; from a store with a leaf cut off (24544=255, a branch
#	node pointing past the file) and one with an unreadable record
#	(26205=0, d77's magic) it exits 1, writes what it could read and
#	names what it could not; the partial export imports into a fresh
#	StateDir, refresh --all re-checks it and store check finds it sound.
#	Round trip: a registry with odd but valid values (an IDN, key files
#	whose paths hold a space, a comma, a quote and '=', IPv6 egress,
#	a MAIL FROM outside the domain, a contact with '+') exported,
#	imported into a fresh StateDir and exported again gives the same
#	bytes.  An export FILE that cannot be made, a directory and a FIFO
#	exit 64 (the operator's argument), not 78 (the store's).
#
#	Not in tests/valgrind-integration.sh's list: a read that follows a
#	damaged page to an unmapped address is an invalid access by
#	definition, and memcheck reports it (in the programs that end with
#	the guard's sentence; the checking children catch their fault).
#
#	The cases build on each other and run in order: CASE picks the cases
#	reported, and every case still runs (lib.sh).
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 99 the harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir (from make check); AUTHREADY and
#	AUTHREADY_MILTER override the programs; DAMAGE_KEEP=1 keeps the
#	scratch directory.  No DNS is needed: the configured server
#	(127.0.0.1 port 1) refuses at once.

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY=${AUTHREADY:-$top_builddir/authready}
AUTHREADY_MILTER=${AUTHREADY_MILTER:-$top_builddir/authready-milter}
KEY=$top_srcdir/tests/keys/rsa2048.pem
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
RUN_TIMEOUT=$(scaled 30)
SHOW_LINES=12
SHOW_COLUMNS=300
NDOMAINS=150
ZONE=damage.test
# The fixture's layout: file size, and the page type byte (mp_flags) of
# every page an offset below hits: 1 branch, 2 leaf.
LAYOUT_SIZE=49152
LAYOUT_PAGES="3:2 4:2 5:1 6:2 7:2 8:2 9:2"
# Offset=value of one changed byte that killed the programs by a signal.
FAULTS="32780=0 16396=0 20492=0 36876=0"
CUT=24544=255 # the branch node of leaf 4 (d30..d50) points past the file
BADREC=26205=0 # the first byte of d77's record: no longer an authready one
DUSER=nobody
DGROUP=nogroup
getent group "$DGROUP" >/dev/null 2>&1 || DGROUP=nobody

for p in "$AUTHREADY" "$AUTHREADY_MILTER"; do
	if [ ! -x "$p" ]; then
		echo "ERROR: $p not built" >&2
		exit 99
	fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-damage.XXXXXX") || exit 99
chmod 0755 "$T"
at_exit '[ -n "${DAMAGE_KEEP:-}" ] || rm -rf "$T"'
LIB_OUT=$T/out LIB_ERR=$T/err
: >"$T/out"
: >"$T/err"

# conf NAME - a config whose StateDir is $T/NAME.
conf() {
	cat >"$T/$1.conf" <<EOF
# written by damage.sh
StateDir $T/$1
DNSServers 127.0.0.1:1
DNSTimeout 0.2
EOF
	chmod 0644 "$T/$1.conf"
}

# byte_at OFFSET FILE - the byte at OFFSET, in decimal.
byte_at() {
	od -An -tu1 -j "$1" -N 1 "$2" | tr -d ' '
}

# damage OFFSET=VALUE - $T/state is the pristine store with one byte
# changed.
damage() {
	rm -rf "$T/state"
	cp -a "$T/pristine" "$T/state"
	printf "$(printf '\\%03o' "${1#*=}")" |
	    dd of="$T/state/data.mdb" bs=1 seek="${1%=*}" conv=notrunc \
	    status=none
	if [ "$(id -u)" = 0 ]; then
		chown -R "$DUSER:$DGROUP" "$T/state"
	fi
}

# rows FILE - the CSV lines of FILE after its header (-1: no file).
rows() {
	if [ -f "$1" ]; then
		echo $(($(wc -l <"$1") - 1))
	else
		echo -1
	fi
}

# said_damaged - rc is 78 and stderr names the damage and the recovery.
said_damaged() {
	[ "$rc" -eq 78 ] && grep -q "is damaged" "$T/err" &&
	    grep -q "recover with: .*domain export" "$T/err"
}

# Setup ----------------------------------------------------------------------

conf state
conf fresh
conf rt
conf rt2
{
	echo "domain,selectors,contact"
	i=1
	while [ $i -le $NDOMAINS ]; do
		echo "d$i.$ZONE,s1,owner@$ZONE"
		i=$((i + 1))
	done
} >"$T/domains.csv"

case_ "setup: $NDOMAINS domains imported; the store's layout is the one the offsets were found in"
cli "$T/state.conf" domain import "$T/domains.csv"
layout=$(wc -c <"$T/state/data.mdb" 2>/dev/null | tr -d ' ')
bad=
for pf in $LAYOUT_PAGES; do
	f=$(byte_at $((${pf%:*} * 4096 + 10)) "$T/state/data.mdb")
	[ "$f" = "${pf#*:}" ] || bad="$bad page ${pf%:*} flags $f;"
done
if [ $rc -ne 0 ]; then
	ko "import exited $rc"
	exit 1
elif [ "$layout" != $LAYOUT_SIZE ] || [ -n "$bad" ] ||
    [ "$(byte_at 24544 "$T/state/data.mdb")" != 4 ]; then
	ko "data.mdb is $layout bytes ($bad): LMDB lays the store out" \
	    "differently; find the offsets again (see the header)"
	exit 1
else
	ok
fi
cp -a "$T/state" "$T/pristine"
if [ "$(id -u)" = 0 ]; then
	chown -R "$DUSER:$DGROUP" "$T/state"
fi

case_ "store check: a sound store is sound (exit 0)"
cli "$T/state.conf" store check
if [ $rc -eq 0 ] && grep -q "is sound: $NDOMAINS registered" "$T/out"; then
	ok
else
	ko "exit $rc"
fi

# The daemon's config: as root it must run as UserID.
mkdir "$T/run"
chmod 0777 "$T/run"
cat >"$T/milter.conf" <<EOF
# written by damage.sh
Socket unix:$T/run/milter.sock
PidFile $T/run/milter.pid
Syslog no
# the MAIL FROM decision alone (fromcheck.sh tests the From)
FromCheck off
StateDir $T/state
DNSServers 127.0.0.1:1
DNSTimeout 0.2
EOF
if [ "$(id -u)" = 0 ]; then
	echo "UserID $DUSER:$DGROUP" >>"$T/milter.conf"
fi
chmod 0644 "$T/milter.conf"

# One changed byte that used to kill the programs -----------------------------

for f in $FAULTS; do
	damage "$f"
	for cmd in status "refresh --all" "domain list"; do
		case_ "byte $f: $cmd exits 78 naming the damage and the recovery"
		# shellcheck disable=SC2086 # the command's words
		cli "$T/state.conf" $cmd
		if [ $rc -gt 128 ] && [ $rc -ne 124 ]; then
			ko "killed by signal $((rc - 128))"
		elif said_damaged; then
			ok
		else
			ko "exit $rc"
		fi
	done

	case_ "byte $f: store check finds the damage (exit 78)"
	cli "$T/state.conf" store check
	if said_damaged; then ok; else ko "exit $rc"; fi

	case_ "byte $f: authready-milter -n finds the damage (78), as start does"
	timeout "$RUN_TIMEOUT" "$AUTHREADY_MILTER" -n -c "$T/milter.conf" \
	    >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	if [ $rc -gt 128 ] && [ $rc -ne 124 ]; then
		ko "killed by signal $((rc - 128))"
	elif ! said_damaged; then
		ko "exit $rc"
	elif grep -q "configuration OK" "$T/out"; then
		ko "it said configuration OK"
	else
		ok
	fi

	case_ "byte $f: authready-milter refuses to start (78), leaves no socket or PID file"
	rm -f "$T/run/"*
	timeout "$RUN_TIMEOUT" "$AUTHREADY_MILTER" -f -c "$T/milter.conf" \
	    >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	if [ $rc -gt 128 ] && [ $rc -ne 124 ]; then
		ko "killed by signal $((rc - 128))"
	elif ! said_damaged; then
		ko "exit $rc"
	elif grep -q "event=start " "$T/err"; then
		ko "it started serving"
	elif [ -e "$T/run/milter.sock" ] || [ -e "$T/run/milter.pid" ]; then
		ko "left $(ls "$T/run")"
	else
		ok
	fi

	case_ "byte $f: domain export still gives every domain"
	rm -f "$T/export.csv"
	cli "$T/state.conf" domain export "$T/export.csv"
	n=$(rows "$T/export.csv")
	if [ $rc -eq 0 ] && [ $n -eq $NDOMAINS ] &&
	    grep -q "is damaged" "$T/err"; then
		ok
	else
		ko "exit $rc, $n rows"
	fi
done

# Export what can be read ------------------------------------------------------

case_ "a leaf cut off: export exits 1, writes the rest and names the gap"
damage "$CUT"
cli "$T/state.conf" domain export "$T/partial.csv"
n=$(rows "$T/partial.csv")
if [ $rc -eq 1 ] && [ $n -eq 127 ] &&
    grep -q "between d3.$ZONE and d51.$ZONE" "$T/err" &&
    ! grep -q "^d30\.\|^d50\." "$T/partial.csv" &&
    grep -q "^d29\.$ZONE,\|^d51\.$ZONE," "$T/partial.csv"; then
	ok
else
	ko "exit $rc, $n rows"
fi

case_ "a leaf cut off: store check and status report it (78)"
cli "$T/state.conf" store check
rc1=$rc
cli "$T/state.conf" status
if [ $rc1 -eq 78 ] && [ $rc -eq 78 ]; then ok; else ko "exit $rc1, $rc"; fi

case_ "an unreadable record: export exits 1, names it, writes the others"
damage "$BADREC"
cli "$T/state.conf" domain export "$T/badrec.csv"
n=$(rows "$T/badrec.csv")
if [ $rc -eq 1 ] && [ $n -eq $((NDOMAINS - 1)) ] &&
    grep -q "d77.$ZONE.*not an authready record.*not exported" "$T/err" &&
    ! grep -q "^d77\." "$T/badrec.csv"; then
	ok
else
	ko "exit $rc, $n rows"
fi

case_ "recovery: the partial export imports into a fresh StateDir"
cli "$T/fresh.conf" domain import "$T/partial.csv"
if [ $rc -eq 0 ] && grep -q "^127 domain(s) registered, 0 bad" "$T/out"
then
	ok
else
	ko "exit $rc"
fi

case_ "recovery: refresh --all re-checks every imported domain"
cli "$T/fresh.conf" refresh --all
if [ $rc -le 1 ] && grep -q "^checked 127:" "$T/out"; then
	ok
else
	ko "exit $rc"
fi

case_ "recovery: the new store is sound"
cli "$T/fresh.conf" store check
if [ $rc -eq 0 ] && grep -q "is sound: 127 registered, 127 state" "$T/out"
then
	ok
else
	ko "exit $rc"
fi

# Round trip with odd but valid values ----------------------------------------

mkdir "$T/my keys,1" "$T/k"
cp "$KEY" "$T/my keys,1/k 1.pem"
cp "$KEY" "$T/k/q\"x=y.pem"
chmod 0644 "$T/my keys,1/k 1.pem" "$T/k/q\"x=y.pem"
case_ "round trip: a registry of odd but valid values"
ok_all=1
cli "$T/rt.conf" domain add "bücher.$ZONE" --mail-from bounce \
    --selector s1 --key "$T/my keys,1/k 1.pem" \
    --selector sel_2.sub --key "$T/k/q\"x=y.pem" --selector nokey \
    --mx mx.example.net --spf-include _spf.example.net \
    --egress-ip 2001:db8::1 --egress-ip 192.0.2.1 \
    --dmarc-min-policy reject --contact "o+tag@$ZONE" || :
[ $rc -eq 0 ] || ok_all=0
cli "$T/rt.conf" domain add "plain.$ZONE" || :
[ $rc -eq 0 ] || ok_all=0
cli "$T/rt.conf" domain add "sub.x.$ZONE" --mail-from "m.$ZONE" \
    --dmarc-min-policy none || :
[ $rc -eq 0 ] || ok_all=0
if [ $ok_all -eq 1 ]; then ok; else ko "domain add exited $rc"; fi

case_ "round trip: export, import into a fresh StateDir, export: same bytes"
cli "$T/rt.conf" domain export "$T/rt.csv"
rc1=$rc
cli "$T/rt2.conf" domain import "$T/rt.csv"
rc2=$rc
cli "$T/rt2.conf" domain export "$T/rt2.csv"
if [ $rc1 -ne 0 ] || [ $rc2 -ne 0 ] || [ $rc -ne 0 ]; then
	ko "export $rc1, import $rc2, export $rc"
elif ! cmp -s "$T/rt.csv" "$T/rt2.csv"; then
	diff "$T/rt.csv" "$T/rt2.csv" >"$T/out"
	ko "the exports differ"
elif ! grep -q "xn--bcher-kva\.$ZONE,\"*bounce" "$T/rt.csv" ||
    ! grep -q "s1=\"\"$T/my keys,1/k 1.pem\"\"" "$T/rt.csv" ||
    ! grep -q "sel_2.sub=$T/k/q\"\"x=y.pem nokey" "$T/rt.csv" ||
    ! grep -q "2001:db8::1 192.0.2.1\",reject,o+tag@$ZONE," "$T/rt.csv"
then
	cp "$T/rt.csv" "$T/out"
	ko "a value is missing from the export"
else
	ok
fi

case_ "round trip: domain list agrees field by field"
cli "$T/rt.conf" domain list --json
cp "$T/out" "$T/list1"
cli "$T/rt2.conf" domain list --json
if cmp -s "$T/list1" "$T/out"; then ok; else ko "the lists differ"; fi

# A bad FILE is the operator's argument (64, as import's); 78 is the store's.
mkfifo "$T/export.fifo" || exit 99
case_ "export to a FILE that cannot be made or is not a file: 64"
res=""
for f in "$T/no such dir/x.csv" "$T/k" "$T/export.fifo"; do
	cli "$T/rt.conf" domain export "$f"
	grep -qF "$f" "$T/err" && res="$res $rc" || res="$res $rc(unnamed)"
done
if [ "$res" = " 64 64 64" ]; then ok; else ko "exits$res"; fi

finish
