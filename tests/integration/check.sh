#!/bin/sh
# check.sh - "authready check" against real DNS: NSD on a loopback port.
#
# SYNOPSIS
#	make check TESTS=tests/integration/check.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/check.sh
#
# DESCRIPTION
#	Serves tests/zones with NSD (nsd-harness.sh) and runs the authready
#	binary at $top_builddir/authready through a table of cases: a
#	domain set up exactly as the seed asks, one broken variant per
#	failure an owner can make (for SPF: missing, duplicate, bad syntax,
#	+all, include and redirect loops, over 10 lookups, an egress address
#	that does not pass, a required include that is absent), DNS trouble
#	(SERVFAIL, REFUSED, a server that never answers), big answers (TCP
#	fallback, a 60 KiB record), control bytes in records, and hostile
#	command lines.  For each case it checks the exit status, the --json
#	document (exactly one object; per check its type, status and DNS
#	name, and the checks in the seed's order: mx, spf, dkim, dmarc) or,
#	for usage and configuration errors, a message on stderr.  No crash is
#	tolerated: an exit status of 128 or more, or any sanitizer report,
#	fails the case.  Each case prints one PASS or FAIL line; the last
#	line counts them (lib.sh).  The cases stand alone: CASE runs only
#	the matching ones.
#
#	Only loopback addresses are ever queried.
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 NSD is not installed (or CASE
#	matched nothing), 99 the harness could not run (no authready binary,
#	NSD did not start).
#
# ENVIRONMENT
#	top_srcdir, top_builddir, NSD (from make check); AUTHREADY overrides
#	the binary; CASE=PATTERN runs only the cases whose name matches.

# $SEL, $E, $K, $nine_sel and $seventeen_ips are option lists, split on
# purpose.
# shellcheck disable=SC2086

set -u
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-.}
AUTHREADY=${AUTHREADY:-$top_builddir/authready}
BLACKHOLE=${BLACKHOLE:-$top_builddir/tests/dns-blackhole}
KEYS=$top_srcdir/tests/keys
JSONFLAT=$top_srcdir/tests/integration/jsonflat.awk

# Per-run limits: a hung authready is killed and its case fails.
RUN_TIMEOUT=30
BLACKHOLE_TIMEOUT_S=1
BLACKHOLE_BUDGET_MS=3000
# How much of a failing run to show.
SHOW_LINES=20
SHOW_COLUMNS=400

# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
# shellcheck source=tests/integration/nsd-harness.sh
. "$top_srcdir/tests/integration/nsd-harness.sh"

[ -x "$AUTHREADY" ] || lib_die "$AUTHREADY not built"

NSD_SERVFAIL_ZONES="servfail.test mail.mixed.example.org \
mail.mixedbad.example.org"
export NSD_SERVFAIL_ZONES
nsd_start "$top_srcdir/tests/zones"

W=$NSD_DIR/work
mkdir "$W"
BH_PID=

# cleanup - stop the blackhole.
cleanup() {
	stop_pid "$BH_PID"
	BH_PID=
}
at_exit cleanup

: >"$W/empty.conf"
DNS=127.0.0.1:$NSD_PORT
LIB_OUT=$W/out
LIB_ERR=$W/err

# run ARGS... - run authready; sets rc and elapsed_ms, fills out and err.
run() {
	last_cmd="authready $*"
	t0=$(now_ms)
	timeout "$RUN_TIMEOUT" "$AUTHREADY" "$@" >"$W/out" 2>"$W/err" </dev/null
	rc=$?
	elapsed_ms=$(($(now_ms) - t0))
}

# rc_in LIST - whether rc is one of the |-separated codes in LIST.
rc_in() {
	case "|$1|" in
	*"|$rc|"*) return 0 ;;
	esac
	return 1
}

# sane - the checks every run must pass; prints why not, returns 1.
sane() {
	if [ "$rc" -eq 124 ]; then
		echo "killed after ${RUN_TIMEOUT}s"
		return 1
	fi
	if [ "$rc" -ge 128 ]; then
		echo "crashed (exit $rc)"
		return 1
	fi
	if grep -q -E 'Sanitizer|runtime error:' "$W/err"; then
		echo "sanitizer report"
		return 1
	fi
	# Record text comes from strangers: no raw controls may reach a
	# terminal (tab and newline are authready's own layout).
	if [ "$(tr -d '\t\n\040-\176' <"$W/out" | wc -c)" -ne 0 ]; then
		echo "non-printable bytes on stdout"
		return 1
	fi
	if [ "$(tr -d '\t\n\040-\176' <"$W/err" | wc -c)" -ne 0 ]; then
		echo "non-printable bytes on stderr"
		return 1
	fi
	return 0
}

# checks_match EXPECTED - compare flattened JSON in $W/flat with EXPECTED,
# a list of TYPE:STATUS[|STATUS...][@NAME]; prints the mismatch.  The
# checks must come in the seed's order: mx, spf, dkim (per selector), dmarc.
checks_match() {
	awk -F '\t' -v want_list="$1" '
	BEGIN {
		rank["mx"] = 1
		rank["spf"] = 2
		rank["dkim"] = 3
		rank["dmarc"] = 4
	}
	function fold(s) {
		s = tolower(s)
		sub(/\.$/, "", s)
		return s
	}
	$1 ~ /^\.checks\.[0-9]+\.(type|status|name|seen|detail)$/ {
		split($1, p, ".")
		v[p[3], p[4]] = $2
		have[p[3], p[4]] = 1
		if (p[3] + 1 > n)
			n = p[3] + 1
	}
	END {
		for (i = 0; i < n; i++) {
			if (!have[i, "type"] || !have[i, "status"] ||
			    !have[i, "name"] || !have[i, "seen"] ||
			    !have[i, "detail"]) {
				print "check " i " lacks a member"
				exit 1
			}
			if (v[i, "type"] !~ /^(spf|dkim|dmarc|mx)$/ ||
			    v[i, "status"] !~ /^(pass|fail|missing|temperror)$/) {
				print "check " i ": bad type or status"
				exit 1
			}
			if (i > 0 && rank[v[i, "type"]] < rank[v[i - 1, "type"]]) {
				print "check " i " (" v[i, "type"] ") after " \
				    v[i - 1, "type"] ": not in the order mx," \
				    " spf, dkim, dmarc"
				exit 1
			}
			if (v[i, "status"] != "pass" && v[i, "detail"] == "") {
				print "check " i " (" v[i, "type"] ") " \
				    v[i, "status"] " without a detail"
				exit 1
			}
		}
		ne = split(want_list, e, " ")
		if (ne != n) {
			printf "expected %d checks, got %d:", ne, n
			for (i = 0; i < n; i++)
				printf " %s:%s@%s", v[i, "type"],
				    v[i, "status"], v[i, "name"]
			print ""
			exit 1
		}
		for (j = 1; j <= ne; j++) {
			want = e[j]
			wname = ""
			if ((at = index(want, "@")) > 0) {
				wname = substr(want, at + 1)
				want = substr(want, 1, at - 1)
			}
			c = index(want, ":")
			wtype = substr(want, 1, c - 1)
			wstat = "|" substr(want, c + 1) "|"
			found = 0
			for (i = 0; i < n && !found; i++) {
				if (used[i] || v[i, "type"] != wtype)
					continue
				if (index(wstat, "|" v[i, "status"] "|") == 0)
					continue
				if (wname != "" && fold(v[i, "name"]) != fold(wname))
					continue
				used[i] = found = 1
			}
			if (!found) {
				printf "no check %s; got:", e[j]
				for (i = 0; i < n; i++)
					printf " %s:%s@%s", v[i, "type"],
					    v[i, "status"], v[i, "name"]
				print ""
				exit 1
			}
		}
	}' "$W/flat"
}

# json_get PATH - one value of the flattened document.
json_get() {
	awk -F '\t' -v k="$1" '$1 == k { print $2; exit }' "$W/flat"
}

# report_ok NAME RC CHECKS [DOMAIN] - judge a run that made a report; on a
# mismatch count the case as failed (ko) and return 1.
report_ok() {
	if ! why=$(sane); then
		ko "$why"
		return 1
	fi
	if ! rc_in "$2"; then
		ko "exit $rc, expected $2"
		return 1
	fi
	if ! awk -f "$JSONFLAT" "$W/out" >"$W/flat" ||
	    grep -q '^!error' "$W/flat"; then
		ko "stdout is not one JSON document:" \
		    "$(grep '^!error' "$W/flat")"
		return 1
	fi
	if [ -z "$(json_get .domain)" ] ||
	    ! grep -q '^\.checks\.#	' "$W/flat"; then
		ko "JSON lacks domain or checks"
		return 1
	fi
	ready=$(json_get .ready)
	if { [ "$rc" -eq 0 ] && [ "$ready" != true ]; } ||
	    { [ "$rc" -ne 0 ] && [ "$ready" != false ]; }; then
		ko "\"ready\": $ready does not agree with exit $rc"
		return 1
	fi
	if [ $# -ge 4 ] && [ "$(json_get .domain)" != "$4" ]; then
		ko "domain \"$(json_get .domain)\", expected \"$4\""
		return 1
	fi
	if ! why=$(checks_match "$3"); then
		ko "$why"
		return 1
	fi
	return 0
}

# judge_report NAME RC CHECKS [DOMAIN] - report_ok, then count a pass.
judge_report() {
	report_ok "$@" && ok
}

# Case kinds ---------------------------------------------------------------

# guess_domain ARGS... - the domain a "check" command line names, in the
# normalized form the report must show (lower case, no trailing dot).
guess_domain() {
	in_check=0
	typed=0
	while [ $# -gt 0 ]; do
		case $1 in
		-c | --dns-server | --dns-timeout | --state-dir | --selector | \
		    --key | --mail-from | --mx | --dmarc-min-policy | \
		    --spf-include | --egress-ip)
			shift
			;;
		-*) ;;
		check)
			if [ $in_check -eq 0 ]; then
				in_check=1
			else
				echo check
				return
			fi
			;;
		spf | dkim | dmarc | mx)
			if [ $in_check -eq 1 ] && [ $typed -eq 0 ]; then
				typed=1
			else
				echo "$1"
				return
			fi
			;;
		*)
			if [ $in_check -eq 1 ]; then
				printf "%s\n" "$1" | tr "[:upper:]" "[:lower:]" | sed "s/\\.\$//"
				return
			fi
			;;
		esac
		[ $# -gt 0 ] && shift
	done
}


# t NAME RC CHECKS ARGS... - "authready check" with --json, our NSD and
# an empty config file; RC may list alternatives (0|64), CHECKS is
# "TYPE:STATUS[@NAME] ...".
t() {
	name=$1 exp_rc=$2 exp_checks=$3
	shift 3
	case_ "$name" || return 0
	run -c "$W/empty.conf" --dns-server "$DNS" "$@" --json
	judge_report "$name" "$exp_rc" "$exp_checks" "$(guess_domain "$@")"
}

# td NAME RC CHECKS DOMAIN ARGS... - t, also checking the JSON domain.
td() {
	name=$1 exp_rc=$2 exp_checks=$3 exp_domain=$4
	shift 4
	case_ "$name" || return 0
	run -c "$W/empty.conf" --dns-server "$DNS" "$@" --json
	judge_report "$name" "$exp_rc" "$exp_checks" "$exp_domain"
}

# traw NAME RC CHECKS ARGS... - like t, the whole command line given.
traw() {
	name=$1 exp_rc=$2 exp_checks=$3
	shift 3
	case_ "$name" || return 0
	run "$@"
	judge_report "$name" "$exp_rc" "$exp_checks" "$(guess_domain "$@")"
}

# check_detail TYPE - the detail of the first check of TYPE in $W/flat.
check_detail() {
	awk -F '\t' -v t="$1" '
	$1 ~ /^\.checks\.[0-9]+\.type$/ && $2 == t && idx == "" {
		split($1, p, ".")
		idx = p[3]
	}
	$1 ~ /^\.checks\.[0-9]+\.detail$/ {
		split($1, p, ".")
		d[p[3]] = $2
	}
	END { if (idx != "") print d[idx] }' "$W/flat"
}

# ts NAME RC CHECKS ERE ARGS... - t, and the detail of the spf check must
# match the extended regular expression ERE.
ts() {
	name=$1 exp_rc=$2 exp_checks=$3 ere=$4
	shift 4
	case_ "$name" || return 0
	run -c "$W/empty.conf" --dns-server "$DNS" "$@" --json
	report_ok "$name" "$exp_rc" "$exp_checks" "$(guess_domain "$@")" ||
	    return 0
	detail=$(check_detail spf)
	if printf '%s\n' "$detail" | grep -q -E -e "$ere"; then
		ok
	else
		ko "spf detail does not match /$ere/: $detail"
	fi
}

# tdet NAME RC CHECKS TYPE ERE ARGS... - t, and the detail of the first
# check of TYPE must match the extended regular expression ERE.
tdet() {
	name=$1 exp_rc=$2 exp_checks=$3 type=$4 ere=$5
	shift 5
	case_ "$name" || return 0
	run -c "$W/empty.conf" --dns-server "$DNS" "$@" --json
	report_ok "$name" "$exp_rc" "$exp_checks" "$(guess_domain "$@")" ||
	    return 0
	detail=$(check_detail "$type")
	if printf '%s\n' "$detail" | grep -q -E -e "$ere"; then
		ok
	else
		ko "$type detail does not match /$ere/: $detail"
	fi
}

# tj NAME RC CHECKS PATH ERE ARGS... - t, and the JSON member at PATH (as
# jsonflat.awk names it: .organizational_domain, .checks.0.warning) must
# match the extended regular expression ERE.
tj() {
	name=$1 exp_rc=$2 exp_checks=$3 path=$4 ere=$5
	shift 5
	case_ "$name" || return 0
	run -c "$W/empty.conf" --dns-server "$DNS" "$@" --json
	report_ok "$name" "$exp_rc" "$exp_checks" "$(guess_domain "$@")" ||
	    return 0
	val=$(awk -F '\t' -v k="$path" '$1 == k { print $2 }' "$W/flat")
	if printf '%s\n' "$val" | grep -q -E -e "$ere"; then
		ok
	else
		ko "$path does not match /$ere/: $val"
	fi
}

# terr NAME RC ARGS... - a usage (64) or configuration (78) error: the
# exit status, a message on stderr, no report on stdout.
terr() {
	name=$1 exp_rc=$2
	shift 2
	case_ "$name" || return 0
	run "$@"
	if ! why=$(sane); then
		ko "$why"
	elif ! rc_in "$exp_rc"; then
		ko "exit $rc, expected $exp_rc"
	elif [ ! -s "$W/err" ]; then
		ko "no message on stderr"
	elif grep -q '"checks"' "$W/out"; then
		ko "a report on stdout despite the error"
	else
		ok
	fi
}

# Fixtures -----------------------------------------------------------------

# fixture NAME KEYFILE PREFIX - the TXT record at NAME, strings joined,
# must be PREFIX followed by the public key in KEYFILE.
fixture() {
	case_ "fixture-$1" || return 0
	last_cmd="dig TXT $1"
	rc=0
	: >"$W/out"
	: >"$W/err"
	if ! command -v dig >/dev/null 2>&1; then
		skip "no dig"
		return 0
	fi
	got=$(dig +short +norecurse -p "$NSD_PORT" @127.0.0.1 "$1" TXT |
	    sed -e 's/^"//' -e 's/"$//' -e 's/" "//g')
	want="$3$(tr -d '\n' <"$KEYS/$2")"
	if [ "$got" = "$want" ]; then
		ok
	else
		echo "$got" >"$W/out"
		ko "zone does not publish tests/keys/$2" \
		    "(regenerate tests/zones after changing tests/keys)"
	fi
}

fixture 1234rpr._domainkey.example.com rsa2048.p "v=DKIM1; k=rsa; p="
fixture 1234rpr._domainkey.otherkey.example.org rsa2048-other.p \
    "v=DKIM1; k=rsa; p="
fixture 1234rpr._domainkey.rsa1024.example.org rsa1024.p "v=DKIM1; k=rsa; p="
fixture 1234rpr._domainkey.rsa512.example.org rsa512.p "v=DKIM1; k=rsa; p="
fixture 1234rpr._domainkey.ed25519.example.org ed25519.p \
    "v=DKIM1; k=ed25519; p="
fixture 1234rpr.keys.example.net rsa2048.p "v=DKIM1; k=rsa; p="

# The seed -----------------------------------------------------------------

SEL="--selector 1234rpr"
K2048=$KEYS/rsa2048.pem
SEEDMX=feedback-smtp.ap-northeast-1.amazonses.com
ALL_PASS="mx:pass spf:pass dkim:pass dmarc:pass"

td seed-ready 0 "mx:pass@mail.example.com spf:pass@mail.example.com \
dkim:pass@1234rpr._domainkey.example.com dmarc:pass@_dmarc.example.com" \
    example.com \
    check example.com $SEL --key "$K2048"
t seed-no-key 0 "$ALL_PASS" check example.com $SEL
t seed-expected-mx 0 "$ALL_PASS" check example.com $SEL --mx "$SEEDMX"
t seed-mx-case-dot 0 "$ALL_PASS" \
    check example.com $SEL --mx "FEEDBACK-SMTP.AP-NORTHEAST-1.AMAZONSES.COM."
td seed-uppercase-domain 0 "$ALL_PASS" example.com check EXAMPLE.COM $SEL
td seed-trailing-dot 0 "$ALL_PASS" example.com check example.com. $SEL
t seed-mail-from-fqdn 0 \
    "mx:pass@mail.example.com spf:pass@mail.example.com dkim:pass dmarc:pass" \
    check example.com $SEL --mail-from mail.example.com
t seed-dmarc-min-none 0 "$ALL_PASS" \
    check example.com $SEL --dmarc-min-policy none
t seed-dmarc-min-quarantine 1 "mx:pass spf:pass dkim:pass dmarc:fail" \
    check example.com $SEL --dmarc-min-policy quarantine

# One record type at a time.
t only-dkim 0 "dkim:pass@1234rpr._domainkey.example.com" \
    check dkim example.com $SEL --key "$K2048"
t only-dmarc 0 "dmarc:pass@_dmarc.example.com" check dmarc example.com
t only-mx 0 "mx:pass@mail.example.com" check mx example.com
t only-mx-wanted 0 "mx:pass" check mx example.com --mx "$SEEDMX"
t only-mx-other-label 1 "mx:missing@bounce.example.com" \
    check mx example.com --mail-from bounce

# Options before and after the subcommand, --key bound to its selector.
traw options-after-domain 0 "$ALL_PASS" \
    check example.com $SEL --key "$K2048" -c "$W/empty.conf" \
    --dns-server "$DNS" --json
traw options-mixed 0 "dkim:pass" --dns-server "$DNS" check --json dkim \
    -c "$W/empty.conf" example.com --selector 1234rpr --key "$K2048"
t two-selectors 0 "mx:pass spf:pass \
dkim:pass@1234rpr._domainkey.ed25519.example.org \
dkim:pass@rsa._domainkey.ed25519.example.org dmarc:pass" \
    check ed25519.example.org --selector 1234rpr --key "$KEYS/ed25519.pem" \
    --selector rsa --key "$K2048"
t two-selectors-keys-swapped 1 "mx:pass spf:pass \
dkim:fail@1234rpr._domainkey.ed25519.example.org \
dkim:fail@rsa._domainkey.ed25519.example.org dmarc:pass" \
    check ed25519.example.org --selector 1234rpr --key "$K2048" \
    --selector rsa --key "$KEYS/ed25519.pem"
t two-selectors-one-key 0 "dkim:pass dkim:pass" \
    check dkim ed25519.example.org --selector rsa --selector 1234rpr \
    --key "$KEYS/ed25519.pem"

# Config file instead of options.
cat >"$W/seed.conf" <<EOF
# written by check.sh
DNSServers $DNS
Selector 1234rpr
KeyFile $K2048
EOF
traw config-file 0 "$ALL_PASS" -c "$W/seed.conf" check example.com --json
cat >"$W/seed-other.conf" <<EOF
DNSServers $DNS
Selector 1234rpr
KeyFile $KEYS/rsa2048-other.pem
EOF
traw config-file-other-key 1 "mx:pass spf:pass dkim:fail dmarc:pass" \
    -c "$W/seed-other.conf" check example.com --json

# DKIM ---------------------------------------------------------------------

t dkim-missing 1 "mx:pass spf:pass \
dkim:missing@1234rpr._domainkey.nodkim.example.org dmarc:pass" \
    check nodkim.example.org $SEL --key "$K2048"
# No selector known: the DKIM record is missing, never skipped, and the
# sentence names --selector and Selector (as refresh says it).
tdet dkim-no-selector 1 "mx:pass spf:pass \
    dkim:missing@_domainkey.example.com dmarc:pass" dkim \
    '--selector.*Selector in authready\.conf' check example.com
tdet dkim-only-no-selector 1 "dkim:missing@_domainkey.example.com" dkim \
    '--selector' check dkim example.com
t dkim-two-records 1 "mx:pass spf:pass dkim:fail dmarc:pass" \
    check twodkim.example.org $SEL
t dkim-revoked 1 "mx:pass spf:pass dkim:fail dmarc:pass" \
    check revoked.example.org $SEL
t dkim-other-key 1 "mx:pass spf:pass dkim:fail dmarc:pass" \
    check otherkey.example.org $SEL --key "$K2048"
t dkim-other-key-unchecked 0 "$ALL_PASS" check otherkey.example.org $SEL
t dkim-other-key-matches 0 "$ALL_PASS" \
    check otherkey.example.org $SEL --key "$KEYS/rsa2048-other.pem"
t dkim-rsa1024 0 "$ALL_PASS" \
    check rsa1024.example.org $SEL --key "$KEYS/rsa1024.pem"
t dkim-rsa512 1 "mx:pass spf:pass dkim:fail dmarc:pass" \
    check rsa512.example.org $SEL
t dkim-ed25519 0 "$ALL_PASS" \
    check ed25519.example.org $SEL --key "$KEYS/ed25519.pem"
t dkim-ed25519-other 1 "mx:pass spf:pass dkim:fail dmarc:pass" \
    check ed25519.example.org $SEL --key "$KEYS/ed25519-other.pem"
t dkim-cname 0 "mx:pass spf:pass \
dkim:pass@1234rpr._domainkey.cname.example.org dmarc:pass" \
    check cname.example.org $SEL --key "$K2048"
t dkim-cname-chain 0 "dkim:pass" \
    check dkim cname.example.org --selector chain --key "$K2048"
# A CNAME loop must end the lookup and must never pass.  authready reports
# it as DNS trouble (temperror), as a recursive resolver would (SERVFAIL).
t dkim-cname-loop "1|2" "dkim:missing|fail|temperror" \
    check dkim cname.example.org --selector loop
t dkim-huge-record 1 "dkim:fail@huge._domainkey.huge.example.org" \
    check dkim huge.example.org --selector huge
t dkim-control-bytes 1 "dkim:fail" check dkim ctrl.example.org --selector bell

# DMARC --------------------------------------------------------------------

t dmarc-malformed 1 "mx:pass spf:pass dkim:pass dmarc:fail" \
    check badmarc.example.org $SEL
t dmarc-duplicate 1 "mx:pass spf:pass dkim:pass dmarc:fail" \
    check dupdmarc.example.org $SEL
t dmarc-org-domain 0 \
    "mx:pass spf:pass dkim:pass dmarc:pass@_dmarc.example.net" \
    check sub.example.net $SEL --key "$K2048"
t dmarc-org-sp-quarantine 0 "dmarc:pass" \
    check dmarc sub.example.net --dmarc-min-policy quarantine
t dmarc-org-sp-not-reject 1 "dmarc:fail" \
    check dmarc sub.example.net --dmarc-min-policy reject
t dmarc-reject-min-reject 0 "$ALL_PASS" \
    check reject.example.org $SEL --dmarc-min-policy reject
t dmarc-tcp-fallback 0 "$ALL_PASS" check tcp.example.org $SEL
t dmarc-huge-answer 0 "$ALL_PASS" check huge.example.org $SEL
t dmarc-nul-in-policy 1 "mx:pass spf:pass dkim:pass dmarc:fail" \
    check ctrl.example.org $SEL

# RFC 9989: the DNS tree walk (tests/zones/com.zone etc. answer NXDOMAIN at
# _dmarc.TLD), records read as receivers read them, readiness warnings.
tj dmarc-walk-org 0 "dmarc:pass@_dmarc.example.net" \
    .organizational_domain '^example\.net$' check dmarc sub.example.net
tj dmarc-walk-self 0 "dmarc:pass@_dmarc.example.com" \
    .organizational_domain '^example\.com$' check dmarc example.com
tj dmarc-walk-intermediate 0 "dmarc:pass@_dmarc.shop.example.org" \
    .organizational_domain '^example\.org$' \
    check dmarc eu.shop.example.org --dmarc-min-policy quarantine
tj dmarc-walk-psd 0 "dmarc:pass@_dmarc.gov.example" \
    .organizational_domain '^agency\.gov\.example$' \
    check dmarc agency.gov.example --dmarc-min-policy reject
tj dmarc-walk-long-name 0 "dmarc:pass@_dmarc.example.org" \
    .organizational_domain '^example\.org$' \
    check dmarc a.b.c.d.e.f.g.h.example.org
tj dmarc-walk-nothing 1 "dmarc:missing@_dmarc.nothing.example" \
    .checks.0.detail 'tree walk asked 2 names, up to _dmarc\.example' \
    check dmarc nothing.example
tj dmarc-lenient-no-p 0 "dmarc:pass@_dmarc.lenient.example.org" \
    .checks.0.warning 'Tag p is missing.*read this record as p=none' \
    check dmarc lenient.example.org
tj dmarc-lenient-aspf 0 "dmarc:pass@_dmarc.lenient.example.org" \
    .checks.0.warning 'aspf=x: not r or s, so receivers use r' \
    check dmarc lenient.example.org
tj dmarc-lenient-uri-pct 0 "dmarc:pass@_dmarc.lenient.example.org" \
    .checks.0.warning 'a report URI needs a scheme.*pct=0 is read as t=y' \
    check dmarc lenient.example.org
tdet dmarc-test-mode-min 1 "dmarc:fail@_dmarc.testmode.example.org" dmarc \
    'effective policy is quarantine; at least reject required.*t=y' \
    check dmarc testmode.example.org --dmarc-min-policy reject
t dmarc-test-mode-quarantine 0 "dmarc:pass@_dmarc.testmode.example.org" \
    check dmarc testmode.example.org --dmarc-min-policy quarantine
tj dmarc-aspf-strict 0 "dmarc:pass@_dmarc.strict.example.org" \
    .checks.0.warning 'MAIL FROM is mail\.strict\.example\.org, so SPF can never align' \
    check dmarc strict.example.org
tj dmarc-clean-no-warning 0 "dmarc:pass@_dmarc.example.com" \
    .checks.0.warning '^$' check dmarc example.com
tj dkim-ed25519-only 0 "dkim:pass@1234rpr._domainkey.ed25519.example.org" \
    .checks.0.warning 'Every DKIM key of ed25519\.example\.org is ed25519' \
    check dkim ed25519.example.org --selector 1234rpr
tj dkim-ed25519-and-rsa 0 "dkim:pass dkim:pass" .checks.0.warning '^$' \
    check dkim ed25519.example.org --selector 1234rpr --selector rsa

# MX and MAIL FROM ---------------------------------------------------------

t mx-wrong-host 1 \
    "mx:fail@mail.wrongmx.example.org spf:pass dkim:pass dmarc:pass" \
    check wrongmx.example.org $SEL --mx "$SEEDMX"
t mx-any-host 0 "$ALL_PASS" check wrongmx.example.org $SEL
t mx-nodata 1 \
    "mx:missing@mail.nomx.example.org spf:pass dkim:pass dmarc:pass" \
    check nomx.example.org $SEL
t mx-null 1 "mx:fail spf:pass dkim:pass dmarc:pass" \
    check nullmx.example.org $SEL
t mx-mail-from-apex 1 \
    "mx:fail@apex.example.org spf:fail@apex.example.org dkim:pass dmarc:pass" \
    check apex.example.org $SEL --mail-from apex.example.org
t mx-mail-from-default 0 "mx:pass@mail.apex.example.org \
spf:pass@mail.apex.example.org dkim:pass dmarc:pass" \
    check apex.example.org $SEL

# SPF ----------------------------------------------------------------------

# The seed's policy ("include:amazonses.com ~all"; the stand-in zone
# amazonses.com authorizes 127.0.0.0/8) and one broken variant per
# subdomain of example.org (see the zone file).  Full checks make sure
# only the SPF entry changes.
K="--key $K2048"
t only-spf 0 "spf:pass@mail.example.com" check spf example.com
t only-spf-other-label 1 "spf:missing@bounce.example.com" \
    check spf example.com --mail-from bounce
ts spf-missing 1 \
    "mx:pass spf:missing@mail.nospf.example.org dkim:pass dmarc:pass" \
    'mail\.nospf\.example\.org' check nospf.example.org $SEL $K
ts spf-two-records 1 \
    "mx:pass spf:fail@mail.twospf.example.org dkim:pass dmarc:pass" \
    '2 SPF records|two SPF records' check twospf.example.org $SEL $K
ts spf-syntax-error 1 "mx:pass spf:fail dkim:pass dmarc:pass" \
    'ip4:192\.0\.2\.300' check spfsyntax.example.org $SEL $K
ts spf-plus-all 1 "mx:pass spf:fail dkim:pass dmarc:pass" \
    '\+all' check plusall.example.org $SEL $K
ts spf-include-loop 1 "mx:pass spf:fail dkim:pass dmarc:pass" \
    'loop' check spfloop.example.org $SEL $K
ts spf-redirect-loop 1 "spf:fail@mail.redirloop.example.org" \
    'loop' check spf redirloop.example.org
ts spf-too-many-lookups 1 "mx:pass spf:fail dkim:pass dmarc:pass" \
    '11' check spf11.example.org $SEL $K
ts spf-nested-include 0 "$ALL_PASS" '' \
    check nested.example.org $SEL $K --spf-include amazonses.com \
    --egress-ip 127.0.0.1

# The operator's egress addresses must get "pass", not merely not "fail".
ts spf-egress-pass 0 "spf:pass@mail.example.com" '' \
    check spf example.com --egress-ip 127.0.0.1
ts spf-egress-softfail 1 "spf:fail@mail.example.com" \
    'softfail.*192\.0\.2\.1|192\.0\.2\.1.*softfail' \
    check spf example.com --egress-ip 192.0.2.1
ts spf-egress-one-of-two 1 "spf:fail" '192\.0\.2\.1' \
    check spf example.com --egress-ip 127.0.0.1 --egress-ip 192.0.2.1
ts spf-egress-prefix 0 "spf:pass" '' \
    check spf example.com --egress-ip 127.0.0.0/8
ts spf-egress-ipv6 1 "spf:fail" '2001:db8::1' \
    check spf example.com --egress-ip 2001:db8::1
ts spf-egress-full 1 "mx:pass spf:fail dkim:pass dmarc:pass" 'softfail' \
    check example.com $SEL $K --egress-ip 192.0.2.1
ts spf-egress-not-included 1 "spf:fail" 'softfail' \
    check spf noinclude.example.org --egress-ip 127.0.0.1

# The policy must include the provider's domain, directly or nested.
ts spf-include-present 0 "spf:pass" '' \
    check spf example.com --spf-include amazonses.com
ts spf-include-case-dot 0 "spf:pass" '' \
    check spf example.com --spf-include AMAZONSES.COM.
ts spf-include-absent 1 "mx:pass spf:fail dkim:pass dmarc:pass" \
    'amazonses\.com' check noinclude.example.org $SEL $K \
    --spf-include amazonses.com
ts spf-include-nested 0 "spf:pass@mail.nested.example.org" '' \
    check spf nested.example.org --spf-include amazonses.com
ts spf-include-other 1 "spf:fail" 'spf\.example\.net' \
    check spf example.com --spf-include spf.example.net

# The same wishes from the config file.
cat >"$W/spf.conf" <<EOF2
DNSServers $DNS
SPFInclude amazonses.com
EgressIPs 127.0.0.1, 192.0.2.1
EOF2
traw spf-config-egress 1 "spf:fail" -c "$W/spf.conf" check spf example.com \
    --json
cat >"$W/spf-ok.conf" <<EOF2
DNSServers $DNS
SPFInclude amazonses.com
EgressIPs 127.0.0.1 127.0.0.2
EOF2
traw spf-config-ok 0 "spf:pass" -c "$W/spf-ok.conf" check spf example.com \
    --json

# A MAIL FROM at the bare domain fails without a lookup: servfail.test
# would answer SERVFAIL (temperror) if it were asked.
ts spf-mail-from-apex-no-query 1 "spf:fail@servfail.test" 'subdomain' \
    check spf servfail.test --mail-from servfail.test
t spf-servfail 2 "spf:temperror@mail.mixed.example.org" \
    check spf mixed.example.org

# IDN: converted to the A-label (and then ready) or refused as usage.
idn_utf8() {
	case_ idn-utf8 || return 0
	run -c "$W/empty.conf" --dns-server "$DNS" \
	    check "$(printf 'b\303\274cher.example.org')" $SEL --json
	if [ "$rc" -ne 64 ]; then
		judge_report idn-utf8 0 "$ALL_PASS" xn--bcher-kva.example.org
	elif ! why=$(sane); then
		ko "$why"
	elif [ ! -s "$W/err" ]; then
		ko "refused without a message"
	else
		ok
	fi
}
idn_utf8
td idn-alabel 0 "$ALL_PASS" xn--bcher-kva.example.org \
    check xn--bcher-kva.example.org $SEL

# DNS trouble --------------------------------------------------------------

t servfail 2 "mx:temperror spf:temperror dkim:temperror dmarc:temperror" \
    check servfail.test $SEL
t refused 2 "mx:temperror spf:temperror dkim:temperror dmarc:temperror" \
    check unserved.invalid $SEL
t servfail-mx-only 2 "mx:temperror spf:temperror dkim:pass dmarc:pass" \
    check mixed.example.org $SEL
t servfail-and-missing 1 "mx:temperror spf:temperror dkim:missing dmarc:pass" \
    check mixedbad.example.org $SEL

# A server that never answers: undecided, within the deadline.
blackhole() {
	case_ blackhole || return 0
	last_cmd="$BLACKHOLE $W/bh.port"
	rc=0
	: >"$W/out"
	: >"$W/err"
	if [ ! -x "$BLACKHOLE" ]; then
		ko "$BLACKHOLE not built"
		return
	fi
	"$BLACKHOLE" "$W/bh.port" </dev/null >/dev/null 2>"$W/bh.err" &
	BH_PID=$!
	i=0
	while [ ! -s "$W/bh.port" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	bh_port=$(tr -dc 0-9 <"$W/bh.port" 2>/dev/null)
	if [ -z "$bh_port" ]; then
		ko "dns-blackhole wrote no port"
		return
	fi
	run -c "$W/empty.conf" --dns-server "127.0.0.1:$bh_port" \
	    --dns-timeout "$BLACKHOLE_TIMEOUT_S" check example.com $SEL --json
	judge_report blackhole 2 \
	    "mx:temperror spf:temperror dkim:temperror dmarc:temperror"
	case_ blackhole-deadline
	if [ "$elapsed_ms" -gt "$BLACKHOLE_BUDGET_MS" ]; then
		ko "took ${elapsed_ms} ms with" \
		    "--dns-timeout $BLACKHOLE_TIMEOUT_S"
	else
		ok "${elapsed_ms} ms"
	fi
	stop_pid "$BH_PID"
	BH_PID=
}
blackhole

# Human output -------------------------------------------------------------

# human NAME RC VERDICT ARGS... - the table and the verdict line.
human() {
	name=$1 exp_rc=$2 verdict=$3
	shift 3
	case_ "$name" || return 0
	run -c "$W/empty.conf" --dns-server "$DNS" "$@"
	if ! why=$(sane); then
		ko "$why"
	elif ! rc_in "$exp_rc"; then
		ko "exit $rc, expected $exp_rc"
	elif grep -q "$(printf '\033')" "$W/out"; then
		ko "colour escapes when stdout is not a terminal"
	elif ! grep -q -i "_domainkey\." "$W/out" ||
	    ! grep -q '_dmarc\.' "$W/out" || ! grep -q 'mail\.' "$W/out"; then
		ko "table does not name the records"
	elif ! grep -q -w 'MX' "$W/out" || ! grep -q -w 'SPF' "$W/out" ||
	    ! grep -q -w 'DKIM' "$W/out" || ! grep -q -w 'DMARC' "$W/out"; then
		ko "table lacks a record type (MX, SPF, DKIM, DMARC)"
	elif ! grep -q -E "$verdict" "$W/out"; then
		ko "no verdict line matching /$verdict/"
	else
		ok
	fi
}

human human-ready 0 '^example\.com: ready' check example.com $SEL
human human-not-ready 1 '^nodkim\.example\.org: NOT ready' \
    check nodkim.example.org $SEL
human human-undecided 2 '^mixed\.example\.org: undecided' \
    check mixed.example.org $SEL
human human-control-bytes 1 'NOT ready' check ctrl.example.org --selector bell

# Hostile and wrong command lines ------------------------------------------

long_label=$(printf '%064d' 0 | tr 0 a)
label50=$(printf '%050d' 0 | tr 0 b)
long_name="$label50.$label50.$label50.$label50.$label50.$label50.example.com"
huge_arg=$(printf '%0100000d' 0 | tr 0 c)
nine_sel="--selector s1 --selector s2 --selector s3 --selector s4 \
--selector s5 --selector s6 --selector s7 --selector s8 --selector s9"
seventeen_ips=$(seq 1 17 | sed 's/^/--egress-ip 127.0.0./' | tr '\n' ' ')

E="-c $W/empty.conf --dns-server $DNS"
terr name-over-255 64 $E check "$long_name" $SEL
terr label-over-63 64 $E check "$long_label.example.com" $SEL
terr empty-label 64 $E check a..b.example.com $SEL
terr leading-dot 64 $E check .example.com $SEL
terr empty-domain 64 $E check "" $SEL
terr huge-argument 64 $E check "$huge_arg" $SEL
terr latin1-byte 64 $E check "$(printf 'b\374cher.example.org')" $SEL
terr control-in-name 64 $E check "$(printf 'exa\tmple.com')" $SEL
terr escape-in-name 64 $E check "$(printf 'exa\033[31mmple.com')" $SEL
esc=$(printf '\033')
terr escape-in-option 64 $E check example.com "--bo${esc}[2Jgus"
terr escape-in-command 64 $E "fr${esc}]0;owned$(printf '\007')ob" example.com
terr escape-in-selector 64 $E check example.com --selector "se${esc}[31ml"
terr escape-in-mail-from 64 $E check example.com $SEL \
    --mail-from "ma${esc}[31mil"
terr bad-selector 64 $E check example.com --selector a..b
terr long-selector 64 $E check example.com --selector "$long_label"
terr too-many-selectors 64 $E check example.com $nine_sel
terr key-without-selector 64 $E check example.com --key "$K2048"
terr selector-no-value 64 $E check example.com --selector
terr bad-mail-from 64 $E check example.com $SEL --mail-from a..b
terr bad-mx-host 64 $E check example.com $SEL --mx "bad host"
terr bad-min-policy 64 $E check example.com $SEL --dmarc-min-policy bogus
terr bad-egress-ip 64 $E check example.com $SEL --egress-ip 192.0.2.300
terr bad-egress-prefix 64 $E check spf example.com --egress-ip 127.0.0.1/33
terr egress-ip-no-value 64 $E check spf example.com --egress-ip
terr too-many-egress-ips 64 $E check spf example.com $seventeen_ips
terr bad-spf-include 64 $E check spf example.com --spf-include "bad host"
terr escape-in-spf-include 64 $E check spf example.com \
    --spf-include "amazon${esc}[2Jses.com"
terr bad-timeout-text 64 $E --dns-timeout abc check example.com $SEL
terr bad-timeout-zero 64 $E --dns-timeout 0 check example.com $SEL
terr bad-timeout-huge 64 $E --dns-timeout 99999 check example.com $SEL
terr bad-server-addr 64 -c "$W/empty.conf" --dns-server 999.1.1.1 \
    check example.com $SEL
terr bad-server-port 64 -c "$W/empty.conf" --dns-server 127.0.0.1:99999 \
    check example.com $SEL
terr unknown-option 64 $E check example.com --bogus
terr unknown-command 64 $E frobnicate example.com
terr no-command 64 $E
terr no-domain 64 $E check
terr extra-argument 64 $E check example.com example.net $SEL
terr unknown-type 64 $E check spf-and-more example.com $SEL
terr config-missing 78 -c "$W/does-not-exist.conf" --dns-server "$DNS" \
    check example.com $SEL
printf 'NoSuchKey yes\n' >"$W/bad.conf"
terr config-unknown-key 78 -c "$W/bad.conf" --dns-server "$DNS" \
    check example.com $SEL
printf 'DNSTimeout forever\n' >"$W/badval.conf"
terr config-bad-value 78 -c "$W/badval.conf" --dns-server "$DNS" \
    check example.com $SEL
terr key-file-missing "64|78" $E check example.com $SEL \
    --key "$W/no-such-key.pem"

# terr_says NAME RC ERE ARGS... - terr, and a line of stderr matches ERE.
terr_says() {
	name=$1 exp_rc=$2 ere=$3
	shift 3
	case_ "$name" || return 0
	run "$@"
	if ! why=$(sane); then
		ko "$why"
	elif ! rc_in "$exp_rc"; then
		ko "exit $rc, expected $exp_rc"
	elif ! grep -q -E -e "$ere" "$W/err"; then
		ko "no stderr line matches /$ere/"
	else
		ok
	fi
}

# The refused option is named in the word it is in, not a word before.
terr_says option-in-word 64 "unknown option '-e' in '-example\.com'" \
    $E check spf -example.com
terr_says long-option-after-type 64 "unknown option '--bogus'" \
    $E check spf --bogus example.com
terr_says value-missing-last 64 "option '--selector' needs a value" \
    $E check example.com --selector
# "check spf --json": spf is the check, not the domain.
terr_says type-without-domain 64 'check spf: no DOMAIN given' \
    $E check spf --json
# An egress prefix is honoured (its first and last address must pass),
# never cut down to the address written before the slash.
ts spf-egress-prefix-whole 1 "spf:fail@mail.example.com" '0\.0\.0\.0' \
    check spf example.com --egress-ip 127.0.0.1/0
ts spf-egress-prefix-inside 0 "spf:pass@mail.example.com" '' \
    check spf example.com --egress-ip 127.0.0.1/16
# An MX target in DNS presentation form (a BEL in a label: bad\007host)
# is shown as it is, not escaped again (bad\\007host).
if case_ mx-target-escaped-once; then
	run -c "$W/empty.conf" --dns-server "$DNS" check mx ctrlmx.example.org \
	    --json
	if ! rc_in 0; then
		ko "exit $rc, expected 0"
	elif ! grep -q -F '"seen": "10 bad\\007host.example.org"' "$W/out"
	then
		ko 'seen is not "10 bad\007host..."'
	else
		ok
	fi
fi
# A StateDir without a store yet is an empty registry: no warning.
if case_ empty-state-dir-silent; then
	mkdir -p "$W/empty-state"
	run -c "$W/empty.conf" --dns-server "$DNS" --state-dir \
	    "$W/empty-state" check spf example.com --json
	if ! rc_in 0; then
		ko "exit $rc, expected 0"
	elif [ -s "$W/err" ]; then
		ko "a message on stderr: $(head -n 1 \
		    "$W/err")"
	elif [ -e "$W/empty-state/data.mdb" ]; then
		ko "check created a store"
	else
		ok
	fi
fi

# A record changed while authready is in use: the next check sees it.
reload_case() {
	selected reload || return 0
	zf=$NSD_DIR/zones/example.com.zone
	sed -e 's/2024010101/2024010102/' \
	    -e 's/^_dmarc.*TXT.*$/_dmarc		TXT	"v=DMARC1; p=reject;"/' \
	    "$zf" >"$zf.new" && mv "$zf.new" "$zf"
	nsd_reload example.com 2024010102
	t reload 0 "dmarc:pass@_dmarc.example.com" \
	    check dmarc example.com --dmarc-min-policy reject
}
reload_case

finish
