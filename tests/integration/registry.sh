#!/bin/sh
# registry.sh - the domain registry, readiness states and refresh against
# NSD on loopback.
#
# SYNOPSIS
#	make check TESTS=tests/integration/registry.sh
#	top_srcdir=. top_builddir=BUILD tests/integration/registry.sh
#
# DESCRIPTION
#	Walks one sender domain through its life the way an operator does:
#	"authready domain add" registers shop.registry.test while its zone
#	(made by this test, served by NSD next to tests/zones) publishes
#	nothing; "refresh" makes it pending and "status --json" says what is
#	missing; the lines "authready records" prints are published in the
#	zone and NSD reloads it; "refresh" makes it verified and hands one
#	confirmation mail to SendmailPath, a stand-in script that records
#	its argv and the message; refreshing again sends no second mail;
#	DNS trouble (a server that never answers) keeps it verified; the
#	DKIM key is removed, and the domain becomes degraded, then failed
#	once GracePeriod (2s in a second config) has passed; publishing the
#	key again makes it verified without another mail.  A second domain
#	that never publishes becomes failed after PendingWindow.
#
#	Also: "records" splits the DKIM key into strings of at most 255
#	octets that join to tests/keys/rsa2048.p; "domain add" refuses bad
#	values (exit 64) and duplicates (exit 1); "domain remove" and
#	"domain list"; a world-writable state directory is refused (exit
#	78); "refresh --all" prints a summary; and "check DOMAIN" for a
#	registered domain uses the registry's selector, key and MX.  A
#	StateDir without a store is an empty registry (nothing created); a
#	bad import header exits 64; an MX target with a control byte is
#	escaped once in status; and with a file size limit standing in for
#	a full disk, "domain import" and "refresh --all" print only what
#	was stored and say what was not.
#
#	The cases depend on each other and run in order: CASE picks the
#	cases reported, and every case still runs (lib.sh).  Each prints one
#	PASS or FAIL line; the last line counts them.  No crash, sanitizer
#	report or raw control byte on the terminal is tolerated.
#
# EXIT STATUS
#	0 all cases passed, 1 some failed, 77 NSD is not installed, 99 the
#	harness could not run.
#
# ENVIRONMENT
#	top_srcdir, top_builddir, NSD (from make check); AUTHREADY overrides
#	the binary.

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

RUN_TIMEOUT=20
# GracePeriod and PendingWindow of grace.conf, and how long to wait past.
SHORT_PERIOD=2s
SHORT_WAIT=3
# Longest string of a TXT record (RFC 1035 3.3.14).
TXT_STRING_MAX=255
SHOW_LINES=20
SHOW_COLUMNS=400

ZONE=registry.test
SHOP=shop.$ZONE
LATE=late.$ZONE
SEEDMX=feedback-smtp.ap-northeast-1.amazonses.com
K2048=$KEYS/rsa2048.pem

# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"
# shellcheck source=tests/integration/nsd-harness.sh
. "$top_srcdir/tests/integration/nsd-harness.sh"

[ -x "$AUTHREADY" ] || lib_die "$AUTHREADY not built"

T=$(mktemp -d "${TMPDIR:-/tmp}/authready-registry.XXXXXX") || exit 99
at_exit 'rm -rf "$T"'
LIB_OUT=$T/out
LIB_ERR=$T/err
BH_PID=

# cleanup - stop the blackhole.
cleanup() {
	stop_pid "$BH_PID"
	BH_PID=
}

# zone_write SERIAL - the bare zone: SOA, NS, nothing for the domains.
zone_write() {
	cat >"$1" <<EOF
; $ZONE - written by registry.sh; the test adds and removes records.
\$ORIGIN $ZONE.
\$TTL 300
@	SOA	ns.$ZONE. hostmaster.$ZONE. ( 1 3600 600 86400 300 )
@	NS	ns.$ZONE.
ns	A	127.0.0.1
EOF
}

mkdir "$T/zones" "$T/mail" "$T/bin" "$T/state"
zone_write "$T/zones/$ZONE.zone"
nsd_start "$top_srcdir/tests/zones" "$T/zones"
at_exit cleanup

ZF=$NSD_DIR/zones/$ZONE.zone
DNS=127.0.0.1:$NSD_PORT
serial=1

# The sendmail stand-in: shell builtins only (authready runs it with a
# minimal environment), one argv.N and msg.N per call.
cat >"$T/bin/sendmail" <<EOF
#!/bin/sh
n=0
while [ -e "$T/mail/argv.\$n" ]; do n=\$((n + 1)); done
for a in "\$0" "\$@"; do printf '%s\\n' "\$a"; done >"$T/mail/argv.\$n"
while IFS= read -r l || [ -n "\$l" ]; do
	printf '%s\\n' "\$l"
done >"$T/mail/msg.\$n"
exit 0
EOF
chmod 0755 "$T/bin/sendmail"

cat >"$T/reg.conf" <<EOF
# written by registry.sh
DNSServers $DNS
StateDir $T/state
SendmailPath $T/bin/sendmail -t -oi -f bounces@operator.example
NotifyFrom noreply@operator.example
EOF
cp "$T/reg.conf" "$T/grace.conf"
cat >>"$T/grace.conf" <<EOF
GracePeriod $SHORT_PERIOD
PendingWindow $SHORT_PERIOD
EOF

: >"$T/out"
: >"$T/err"

# run ARGS... - authready with reg.conf; sets rc, fills out and err.
run() {
	run_conf "$T/reg.conf" "$@"
}

# run_conf CONF ARGS... - authready with config CONF (cli of lib.sh).
run_conf() {
	cli "$@"
}

# want_rc LIST - the run was sane and exited with one of LIST (a|b).
want_rc() {
	if [ "$rc" -eq 124 ]; then
		ko "killed after ${RUN_TIMEOUT}s"
		return 1
	fi
	if [ "$rc" -ge 128 ]; then
		ko "crashed (exit $rc)"
		return 1
	fi
	if grep -q -E 'Sanitizer|runtime error:' "$T/err"; then
		ko "sanitizer report"
		return 1
	fi
	for f in out err; do
		if [ "$(tr -d '\t\n\040-\176' <"$T/$f" | wc -c)" -ne 0 ]; then
			ko "non-printable bytes on std$f"
			return 1
		fi
	done
	case "|$1|" in
	*"|$rc|"*) return 0 ;;
	esac
	ko "exit $rc, expected $1"
}

# want_out ERE - stdout has a line matching ERE.
want_out() {
	grep -q -E -e "$1" "$T/out" || ko "no line on stdout matches /$1/"
}

# want_err - a message on stderr.
want_err() {
	[ -s "$T/err" ] || ko "no message on stderr"
}

# want_usage RC - exit RC, a message on stderr, nothing on stdout.
want_usage() {
	want_rc "$1" || return 1
	[ -s "$T/err" ] || ko "no message on stderr" || return 1
	[ ! -s "$T/out" ] || ko "output on stdout despite the error"
}

# want_json - stdout is one JSON document; flattened into $T/flat.
want_json() {
	if ! awk -f "$JSONFLAT" "$T/out" >"$T/flat" ||
	    grep -q '^!error' "$T/flat"; then
		ko "stdout is not one JSON document"
		return 1
	fi
}

# jget PATH - one value of the flattened document.
jget() {
	awk -F '\t' -v k="$1" '$1 == k { print $2; exit }' "$T/flat"
}

# jhas PATH - whether the flattened document has PATH.
jhas() {
	awk -F '\t' -v k="$1" '$1 == k { f = 1 } END { exit !f }' "$T/flat"
}

# dom_get DOMAIN FIELD - FIELD of DOMAIN in {"domains": [...]}.
dom_get() {
	awk -F '\t' -v d="$1" -v f="$2" '
	$1 ~ /^\.domains\.[0-9]+\.domain$/ && $2 == d {
		split($1, p, ".")
		i = p[3]
	}
	{ v[$1] = $2 }
	END { if (i != "") print v[".domains." i "." f] }' "$T/flat"
}

# want_field DOMAIN FIELD VALUE - dom_get DOMAIN FIELD is VALUE.
want_field() {
	got=$(dom_get "$1" "$2")
	[ "$got" = "$3" ] || ko "$1 $2 is \"$got\", expected \"$3\""
}

# want_records TYPE:STATUS... - the records of .domains.0, by type.
want_records() {
	for w in "$@"; do
		got=$(awk -F '\t' -v t="${w%%:*}" '
		$1 ~ /^\.domains\.0\.records\.[0-9]+\.type$/ && $2 == t {
			split($1, p, ".")
			i = p[5]
		}
		{ v[$1] = $2 }
		END {
			if (i != "")
				print v[".domains.0.records." i ".status"]
		}' "$T/flat")
		[ "$got" = "${w#*:}" ] ||
		    ko "record ${w%%:*} is \"$got\", expected \"${w#*:}\"" ||
		    return 1
	done
}

# state_of DOMAIN - its state from "status DOMAIN --json".
state_of() {
	"$AUTHREADY" -c "$T/reg.conf" status "$1" --json 2>/dev/null |
	    awk -f "$JSONFLAT" |
	    awk -F '\t' '$1 == ".domains.0.state" { print $2 }'
}

# mails - how many times the sendmail stand-in ran.
mails() {
	n=0
	while [ -e "$T/mail/argv.$n" ]; do
		n=$((n + 1))
	done
	echo $n
}

# want_mails N - the stand-in ran N times.
want_mails() {
	got=$(mails)
	[ "$got" -eq "$1" ] || ko "$got confirmation mails, expected $1"
}

# publish - add the lines "records $SHOP" prints to the zone; reload.
publish() {
	"$AUTHREADY" -c "$T/reg.conf" records "$SHOP" 2>/dev/null |
	    grep -v '^;' >"$T/records.zone"
	cat "$T/records.zone" >>"$ZF"
	reload_zone
}

# reload_zone - bump the serial, make NSD serve the zone again.
reload_zone() {
	serial=$((serial + 1))
	sed "s/( [0-9]* 3600/( $serial 3600/" "$ZF" >"$ZF.new" &&
	    mv "$ZF.new" "$ZF"
	nsd_reload "$ZONE" "$serial"
}

# The registry -------------------------------------------------------------

case_ add
run domain add "$SHOP" --selector 1234rpr --key "$K2048" --mx "$SEEDMX" \
    --spf-include amazonses.com --contact "owner@$SHOP"
want_rc 0 && ok

case_ add-duplicate
run domain add "$SHOP" --selector 1234rpr
want_rc 1 && want_err && ok

case_ add-duplicate-case-dot
run domain add "SHOP.REGISTRY.TEST." --selector 1234rpr
want_rc 1 && ok

case_ list-json
run domain list --json
if want_rc 0 && want_json && want_field "$SHOP" state unknown &&
    want_field "$SHOP" mail_from mail &&
    want_field "$SHOP" contact "owner@$SHOP"; then
	if ! dom_get "$SHOP" selectors | grep -q -w 1234rpr; then
		ko "selectors lack 1234rpr"
	elif [ -z "$(dom_get "$SHOP" added)" ]; then
		ko "no added time"
	else
		ok
	fi
fi

case_ status-unknown
run status "$SHOP" --json
want_rc 0 && want_json && want_field "$SHOP" state unknown && ok

# records: what the owner must publish --------------------------------------

case_ records-text
run records "$SHOP"
shop_re=$(printf '%s\n' "$SHOP" | sed 's/\./\\./g')
mx_re=$(printf '%s\n' "$SEEDMX" | sed 's/\./\\./g')
# NAME, optional dot, TTL and class, TYPE, then the value.
sp='\.?[[:space:]].*'
spf_re='"v=spf1 include:amazonses\.com ~all"'
dmarc_re='"v=DMARC1; p=none;?"'
if want_rc 0 &&
    want_out "^mail\\.$shop_re${sp}MX[[:space:]]+10 $mx_re\\.?\$" &&
    want_out "^mail\\.$shop_re${sp}TXT[[:space:]]+$spf_re\$" &&
    want_out "^_dmarc\\.$shop_re${sp}TXT[[:space:]]+$dmarc_re\$"; then
	# The DKIM line: quoted strings of at most 255 octets whose
	# concatenation carries p=<tests/keys/rsa2048.p>.
	grep -E "^1234rpr\\._domainkey\\.$shop_re$sp" "$T/out" |
	    sed 's/^[^"]*//' >"$T/dkim.line"
	strings=$(awk -F '"' '{ for (i = 2; i <= NF; i += 2) n++ }
	    END { print n + 0 }' "$T/dkim.line")
	longest=$(awk -F '"' '{ for (i = 2; i <= NF; i += 2)
	    if (length($i) > m) m = length($i) } END { print m + 0 }' \
	    "$T/dkim.line")
	joined=$(awk -F '"' '{ for (i = 2; i <= NF; i += 2)
	    printf "%s", $i }' "$T/dkim.line")
	want_p=$(tr -d '\n' <"$KEYS/rsa2048.p")
	if [ "$strings" -lt 2 ]; then
		ko "DKIM record in $strings string(s); a 2048-bit key needs 2"
	elif [ "$longest" -gt $TXT_STRING_MAX ]; then
		ko "a DKIM string of $longest octets (at most $TXT_STRING_MAX)"
	elif [ "${joined#v=DKIM1;}" = "$joined" ]; then
		ko "DKIM record does not start with v=DKIM1;"
	elif [ "${joined##*p=}" != "$want_p" ]; then
		ko "joined p= is not tests/keys/rsa2048.p"
	else
		ok
	fi
fi

case_ records-json
run records "$SHOP" --json
if want_rc 0 && want_json; then
	v=$(awk -F '\t' -v n="1234rpr._domainkey.$SHOP" '
	$1 ~ /^\.records\.[0-9]+\.name$/ && ($2 == n || $2 == n ".") {
		split($1, p, ".")
		i = p[3]
	}
	{ v[$1] = $2 }
	END { if (i != "") print v[".records." i ".value"] }' "$T/flat")
	if [ "$(jget .domain)" != "$SHOP" ]; then
		ko "domain is \"$(jget .domain)\""
	elif [ "${v##*p=}" != "$(tr -d '\n' <"$KEYS/rsa2048.p")" ]; then
		ko "DKIM value does not carry tests/keys/rsa2048.p"
	else
		ok
	fi
fi

# The life of shop.registry.test --------------------------------------------

case_ refresh-pending
run refresh "$SHOP"
want_rc "0|1" && want_out 'state: unknown -> pending' && want_mails 0 && ok

case_ status-pending-json
run status "$SHOP" --json
if want_rc 0 && want_json && want_field "$SHOP" state pending &&
    want_records mx:missing spf:missing dkim:missing dmarc:missing; then
	if [ "$(jget .domains.0.last_check)" = never ]; then
		ko "last_check is never after a refresh"
	elif [ -z "$(jget .domains.0.summary)" ]; then
		ko "no summary"
	elif ! jhas .domains.0.held.#; then
		ko "no held list for a single domain"
	else
		ok
	fi
fi

case_ status-pending-text
run status "$SHOP"
want_rc 0 && want_out 'pending' && want_out "1234rpr\\._domainkey\\.$SHOP" &&
    want_out "mail\\.$SHOP" && ok

publish

case_ refresh-verified
run refresh "$SHOP"
want_rc 0 && want_out 'state: pending -> verified' && want_mails 1 && ok

case_ status-verified
run status "$SHOP" --json
want_rc 0 && want_json && want_field "$SHOP" state verified &&
    want_records mx:pass spf:pass dkim:pass dmarc:pass && ok

# The organizational domain the DMARC tree walk found is kept with the
# state: the shop's own record is the shortest on the way up (its parent
# and the test TLD publish none).
case_ status-org-domain
run status "$SHOP" --json
want_rc 0 && want_json && want_field "$SHOP" organizational_domain "$SHOP" &&
    ok

case_ confirmation-argv
printf '%s\n' "$T/bin/sendmail" -t -oi -f bounces@operator.example \
    >"$T/argv.want"
if [ ! -f "$T/mail/argv.0" ]; then
	ko "no mail handed to SendmailPath"
elif ! cmp -s "$T/argv.want" "$T/mail/argv.0"; then
	ko "argv: $(tr '\n' ' ' <"$T/mail/argv.0")"
else
	ok
fi

case_ confirmation-message
m=$T/mail/msg.0
sed '/^$/q' "$m" 2>/dev/null >"$T/headers"
if [ ! -s "$T/headers" ]; then
	ko "empty message"
elif [ "$(grep -c -i '^To:' "$T/headers")" -ne 1 ] ||
    ! grep -q -i -E "^To:.*owner@$SHOP(>|$)" "$T/headers"; then
	ko "To: is not the contact: $(grep -i '^To:' "$T/headers")"
elif ! grep -q -i -E "^Subject:.*$SHOP" "$T/headers"; then
	ko "Subject does not name $SHOP"
elif ! grep -q -i -E '^From:.*noreply@operator\.example' "$T/headers"; then
	ko "From: is not NotifyFrom"
elif [ "$(wc -l <"$m")" -le "$(wc -l <"$T/headers")" ]; then
	ko "no body"
else
	ok
fi

case_ refresh-no-second-mail
run refresh "$SHOP"
want_rc 0 && want_out 'state: verified -> verified' && want_mails 1 && ok

# DNS trouble never lowers a state: a server that never answers.
case_ dns-trouble-keeps-verified
if [ ! -x "$BLACKHOLE" ]; then
	ko "$BLACKHOLE not built"
else
	run status "$SHOP" --json
	want_json
	before=$(jget .domains.0.last_success)
	"$BLACKHOLE" "$T/bh.port" </dev/null >/dev/null 2>"$T/bh.err" &
	BH_PID=$!
	i=0
	while [ ! -s "$T/bh.port" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	bh=$(tr -dc 0-9 <"$T/bh.port" 2>/dev/null)
	sleep 1
	run --dns-server "127.0.0.1:$bh" --dns-timeout 1 refresh "$SHOP"
	stop_pid "$BH_PID"
	BH_PID=
	if want_rc "0|1" && want_out 'state: verified -> verified'; then
		run status "$SHOP" --json
		if want_rc 0 && want_json &&
		    want_field "$SHOP" state verified; then
			if [ "$(jget .domains.0.dns_errors)" -lt 1 ]; then
				ko "dns_errors not counted"
			elif [ "$(jget .domains.0.last_success)" != "$before" ]
			then
				ko "last_success moved from $before on a" \
				    "check that only had DNS errors"
			else
				ok
			fi
		fi
	fi
fi

# A record breaks: degraded, then failed after GracePeriod.
grep -v "_domainkey\\.$SHOP" "$ZF" >"$ZF.new" && mv "$ZF.new" "$ZF"
reload_zone

case_ refresh-degraded
run refresh "$SHOP"
want_rc "0|1" && want_out 'state: verified -> degraded' && want_mails 1 && ok

case_ status-degraded
run status "$SHOP" --json
want_rc 0 && want_json && want_field "$SHOP" state degraded &&
    want_records mx:pass spf:pass dkim:missing dmarc:pass && ok

case_ degraded-within-grace
run refresh "$SHOP"
want_rc "0|1" && want_out 'state: degraded -> degraded' && ok

# late.registry.test never publishes anything: failed after PendingWindow.
case_ add-late
run domain add "$LATE" --selector 1234rpr --contact "owner@$LATE"
want_rc 0 && ok
case_ refresh-late-pending
run refresh "$LATE"
want_rc "0|1" && want_out 'state: unknown -> pending' && ok

sleep $SHORT_WAIT

case_ grace-period-failed
run_conf "$T/grace.conf" refresh "$SHOP"
want_rc "0|1" && want_out 'state: degraded -> failed' && ok

case_ status-failed
run status "$SHOP" --json
want_rc 0 && want_json && want_field "$SHOP" state failed && ok

case_ pending-window-failed
run_conf "$T/grace.conf" refresh "$LATE"
want_rc "0|1" && want_out 'state: pending -> failed' && want_mails 1 && ok

# Fixed: verified again, and no second confirmation.
cat "$T/records.zone" >>"$ZF"
reload_zone

case_ fixed-verified-again
run refresh "$SHOP"
want_rc 0 && want_out 'state: failed -> verified' && want_mails 1 && ok

# Registered domains: check and refresh --all ------------------------------

# Domains of tests/zones: the registry's selector, key and MX apply.
run domain add otherkey.example.org --selector 1234rpr --key "$K2048"
run domain add wrongmx.example.org --selector 1234rpr --mx "$SEEDMX"
run domain add ed25519.example.org --selector rsa
run domain add example.com --selector 1234rpr --key "$K2048" --mx "$SEEDMX"

# check_reg NAME RC ERE DOMAIN - "check DOMAIN --json" with no options:
# exit RC, and a "type status name" line of the report matching ERE.
check_reg() {
	case_ "$1"
	run check "$4" --json
	want_rc "$2" && want_json || return 0
	awk -F '\t' '$1 ~ /^\.checks\.[0-9]+\.(type|status|name)$/ {
		split($1, p, ".")
		v[p[3], p[4]] = $2
		if (p[3] + 1 > n)
			n = p[3] + 1
	}
	END {
		for (i = 0; i < n; i++)
			print v[i, "type"], v[i, "status"], v[i, "name"]
	}' "$T/flat" >"$T/checks"
	if grep -q -E -e "$3" "$T/checks"; then
		ok
	else
		ko "no check matches /$3/: $(tr '\n' ';' <"$T/checks")"
	fi
}
check_reg check-registered-key 1 \
    '^dkim fail 1234rpr\._domainkey\.otherkey\.example\.org' \
    otherkey.example.org
check_reg check-registered-mx 1 '^mx fail mail\.wrongmx\.example\.org' \
    wrongmx.example.org
check_reg check-registered-selector 0 \
    '^dkim pass rsa\._domainkey\.ed25519\.example\.org' ed25519.example.org
check_reg check-registered-seed 0 \
    '^dkim pass 1234rpr\._domainkey\.example\.com' example.com

case_ refresh-all
run refresh --all
if want_rc "0|1" && [ -s "$T/out" ]; then
	# Six domains: the summary counts them.
	if ! grep -q -w 6 "$T/out"; then
		ko "the summary does not count 6 domains"
	elif ! grep -q -i 'verified' "$T/out"; then
		ko "the summary does not mention verified domains"
	else
		run status --json
		if want_rc 0 && want_json &&
		    want_field example.com state verified &&
		    want_field otherkey.example.org state pending &&
		    want_field "$SHOP" state verified &&
		    want_field "$LATE" state failed &&
		    want_mails 1; then
			if jhas .domains.0.held.#; then
				ko "held listed for every domain"
			elif [ "$(jget .domains.#)" != 6 ]; then
				ko "$(jget .domains.#) domains, expected 6"
			else
				ok
			fi
		fi
	fi
elif [ "$rc" -lt 2 ]; then
	ko "nothing on stdout"
fi

# No DKIM selector: never verified ------------------------------------------

# nosel.registry.test is registered without a selector (and reg.conf names
# no Selector); it publishes everything "records" prints.  It stays
# pending with DKIM missing, gets no confirmation mail, and check says the
# same as refresh.
NOSEL=nosel.$ZONE
case_ add-no-selector
run domain add "$NOSEL" --mx "$SEEDMX" --spf-include amazonses.com \
    --contact "owner@$NOSEL"
want_rc 0 && ok
case_ records-no-selector-note
run records "$NOSEL"
want_rc 0 && want_out "^; SELECTOR\._domainkey\.$NOSEL\. TXT: no DKIM selector" &&
    ok
"$AUTHREADY" -c "$T/reg.conf" records "$NOSEL" 2>/dev/null |
    grep -v '^;' >>"$ZF"
reload_zone
nmails=$(mails)

case_ refresh-no-selector-pending
run refresh "$NOSEL"
want_rc "0|1" && want_out 'state: unknown -> pending' &&
    want_mails "$nmails" && ok

case_ status-no-selector-dkim-missing
run status "$NOSEL" --json
if want_rc 0 && want_json && want_field "$NOSEL" state pending &&
    want_records mx:pass spf:pass dkim:missing dmarc:pass; then
	if grep -q -e '--selector' "$T/out" &&
	    grep -q -e 'Selector in authready\.conf' "$T/out"; then
		ok
	else
		ko "the DKIM detail names neither --selector nor Selector"
	fi
fi

check_reg check-no-selector-agrees 1 \
    '^dkim missing _domainkey\.nosel\.registry\.test' "$NOSEL"

# domain add refuses bad values -----------------------------------------------

BAD=bad.$ZONE
# refuse NAME ARGS... - "domain add $BAD ARGS" is a usage error (64).
refuse() {
	case_ "$1"
	shift
	run domain add "$BAD" "$@"
	want_usage 64 && ok
}
refuse add-mail-from-apex --selector 1234rpr --mail-from "$BAD"
refuse add-mail-from-apex-dot --selector 1234rpr --mail-from "$BAD."
refuse add-bad-egress-ip --selector 1234rpr --egress-ip 192.0.2.300
refuse add-bad-egress-text --selector 1234rpr --egress-ip localhost
refuse add-contact-newline --selector 1234rpr \
    --contact "$(printf 'owner@%s\nBcc: victim@example.net' "$BAD")"
refuse add-contact-cr --selector 1234rpr \
    --contact "$(printf 'owner@%s\rBcc: victim@example.net' "$BAD")"
refuse add-contact-no-at --selector 1234rpr --contact owner
refuse add-key-missing --selector 1234rpr --key "$T/no-such-key.pem"
refuse add-key-directory --selector 1234rpr --key "$T"
refuse add-key-not-pem --selector 1234rpr --key "$KEYS/rsa2048.p"
refuse add-key-without-selector --key "$K2048"
refuse add-bad-selector --selector a..b
refuse add-bad-mx --selector 1234rpr --mx "bad host"
refuse add-bad-spf-include --selector 1234rpr --spf-include "bad host"
refuse add-bad-min-policy --selector 1234rpr --dmarc-min-policy bogus
case_ add-bad-domain
run domain add a..b.example.com --selector 1234rpr
want_usage 64 && ok

# 251 octets: _dmarc., mail. and 1234rpr._domainkey. would not fit in 253.
L63=$(printf '%063d' 0 | tr 0 a)
LONG=$L63.$L63.$L63.$(printf '%045d' 0 | tr 0 b).$ZONE
case_ add-domain-too-long
run domain add "$LONG" --selector 1234rpr
want_usage 64 && ok
case_ add-domain-too-long-no-selector
run domain add "$LONG"
want_usage 64 && grep -q '_dmarc\.' "$T/err" && ok
case_ check-domain-too-long
run check "$LONG"
want_usage 64 && ok
case_ check-domain-too-long-for-selector
run check "$L63.$L63.$L63.$(printf '%030d' 0 | tr 0 b).$ZONE" \
    --selector "$(printf '%040d' 0 | tr 0 s)"
want_usage 64 && grep -q '_domainkey\.' "$T/err" && ok

# domain import judges each row as domain add does: no MAIL FROM on the
# bare domain or outside it, no domain too long for its names.
case_ import-validates-rows
cat >"$T/import.csv" <<EOF
domain,mail_from,selectors
bare.$ZONE,bare.$ZONE,1234rpr
outside.$ZONE,mail.example.net,1234rpr
$LONG,,
good.$ZONE,bounce,1234rpr
EOF
run domain import "$T/import.csv"
if want_rc 1 && want_out '^1 domain\(s\) registered, 3 bad line\(s\)'; then
	if ! grep -q "^authready: line 2: .*bare domain" "$T/err"; then
		ko "line 2 (MAIL FROM on the bare domain) not refused"
	elif ! grep -q "^authready: line 3: .*outside" "$T/err"; then
		ko "line 3 (MAIL FROM outside the domain) not refused"
	elif ! grep -q "^authready: line 4: .*253" "$T/err"; then
		ko "line 4 (a 251-octet domain) not refused"
	else
		ok
	fi
fi
case_ import-refused-not-registered
run records "bare.$ZONE"
want_rc 1 && ok

case_ refused-not-registered
run domain list --json
if want_rc 0 && want_json; then
	if [ -n "$(dom_get "$BAD" domain)" ]; then
		ko "$BAD registered despite the refusals"
	else
		ok
	fi
fi

# domain remove ------------------------------------------------------------

case_ remove
run domain remove "$LATE"
want_rc 0 && ok

case_ remove-then-list
run domain list --json
if want_rc 0 && want_json; then
	if [ -n "$(dom_get "$LATE" domain)" ]; then
		ko "$LATE still listed"
	elif [ -z "$(dom_get "$SHOP" domain)" ]; then
		ko "$SHOP is gone too"
	else
		ok
	fi
fi

case_ remove-again
run domain remove "$LATE"
want_rc 1 && want_err && ok

case_ refresh-removed
run refresh "$LATE"
want_rc 1 && ok

case_ add-again-after-remove
run domain add "$LATE" --selector 1234rpr
if want_rc 0; then
	got=$(state_of "$LATE")
	if [ "$got" = unknown ]; then
		ok
	else
		ko "state \"$got\", expected unknown"
	fi
fi

# The state store -------------------------------------------------------------

case_ state-dir-world-writable
mkdir "$T/ww"
chmod 0777 "$T/ww"
run --state-dir "$T/ww" domain list
want_usage 78 && ok

case_ state-dir-world-writable-config
sed "s|^StateDir .*|StateDir $T/ww|" "$T/reg.conf" >"$T/ww.conf"
run_conf "$T/ww.conf" status
want_usage 78 && ok

case_ state-dir-world-writable-add
run --state-dir "$T/ww" domain add "$BAD" --selector 1234rpr
want_usage 78 && ok

case_ state-dir-world-writable-refresh
run --state-dir "$T/ww" refresh --all
want_usage 78 && ok

# A parent anyone may write to (no sticky bit) could swap the directory.
case_ state-dir-parent-world-writable
mkdir "$T/wwp"
chmod 0777 "$T/wwp"
run --state-dir "$T/wwp/state" domain add "$BAD" --selector 1234rpr
want_usage 78 && ok

case_ state-dir-option
run --state-dir "$T/state2" domain list --json
if want_rc 0 && want_json; then
	if [ "$(jget .domains.#)" != 0 ]; then
		ko "a fresh state directory lists $(jget .domains.#) domains"
	elif [ -n "$(find "$T/state2" -perm -o+w -print 2>/dev/null)" ]; then
		ko "the store created world-writable files"
	else
		ok
	fi
fi

# Escaped text is shown once escaped ---------------------------------------

# The MX target of ctrlmx.example.org has a BEL in a label: "bad\007host"
# in the report, in the stored state and in status, never "bad\\007host".
case_ status-escaped-once
run --state-dir "$T/ctrl" domain add ctrlmx.example.org --selector s \
    --mx mx.example.org
want_rc 0 &&
    run --state-dir "$T/ctrl" refresh ctrlmx.example.org
if want_rc 0 && grep -q -F 'found 10 bad\007host.example.org' "$T/out"; then
	run --state-dir "$T/ctrl" status ctrlmx.example.org
	if ! want_rc 0; then
		:
	elif grep -q -F 'bad\\' "$T/out"; then
		ko "escaped twice: $(grep -F 'bad\\' "$T/out" | head -n 1)"
	elif ! grep -q -F 'found 10 bad\007host.example.org' "$T/out"; then
		ko "status does not show the MX target"
	else
		ok
	fi
else
	ko "refresh does not show the MX target once escaped"
fi

# A StateDir without a store (made by a package, nothing added yet) --------

mkdir "$T/empty"
case_ empty-state-dir-status
run --state-dir "$T/empty" status
want_rc 0 && want_out '^no domains registered$' && ok

case_ empty-state-dir-list
run --state-dir "$T/empty" domain list --json
if want_rc 0 && want_json; then
	if [ "$(jget .domains.#)" != 0 ]; then
		ko "an empty store lists $(jget .domains.#) domains"
	else
		ok
	fi
fi

case_ empty-state-dir-refresh-all
run --state-dir "$T/empty" refresh --all
want_rc 0 && want_out '^checked 0:' && ok

case_ empty-state-dir-one-domain
for c in status records refresh release "domain remove"; do
	# shellcheck disable=SC2086
	run --state-dir "$T/empty" $c "$SHOP"
	want_rc 1 || break
	grep -q 'is not registered' "$T/err" ||
	    ko "$c: no 'is not registered' on stderr" || break
done && ok

case_ empty-state-dir-not-created
if [ -e "$T/empty/data.mdb" ] || [ -e "$T/empty/lock.mdb" ]; then
	ko "a read-only command created the store"
else
	ok
fi

# domain import: a bad header is unusable input (64, nothing registered) --

case_ import-bad-header
printf 'domian,selectors\nx.%s,s1\n' "$ZONE" >"$T/badhdr.csv"
run --state-dir "$T/imp" domain import "$T/badhdr.csv"
want_rc 64 && want_err && want_out '^0 domain\(s\) registered' && ok

# import on a full disk: the count printed is what was stored -------------

# Batches of 1000 are committed as they fill: with a file size limit at
# what 1000 entries take, a later batch fails after earlier ones are in.
echo domain >"$T/imp1000.csv"
i=1
while [ $i -le 1000 ]; do
	echo "i$i.$ZONE"
	i=$((i + 1))
done >>"$T/imp1000.csv"
cp "$T/imp1000.csv" "$T/imp4000.csv"
while [ $i -le 4000 ]; do
	echo "i$i.$ZONE"
	i=$((i + 1))
done >>"$T/imp4000.csv"
case_ import-full-disk-setup
run --state-dir "$T/imp1000" domain import "$T/imp1000.csv"
want_rc 0 && ok

case_ import-full-disk-count
blocks=$((($(wc -c <"$T/imp1000/data.mdb") + 511) / 512))
last_cmd="ulimit -f $blocks; authready --state-dir $T/imp4000 domain import"
(
	trap '' XFSZ
	ulimit -f "$blocks"
	exec timeout "$RUN_TIMEOUT" "$AUTHREADY" -c "$T/reg.conf" \
	    --state-dir "$T/imp4000" domain import "$T/imp4000.csv"
) >"$T/out" 2>"$T/err" </dev/null
rc=$?
if want_rc 78 && want_err; then
	said=$(sed -n 's/^\([0-9]*\) domain(s) registered.*/\1/p' "$T/out")
	stored=$("$AUTHREADY" -c "$T/reg.conf" --state-dir "$T/imp4000" \
	    domain list | grep -c "^i[0-9]*\.$ZONE ")
	if [ "$said" != "$stored" ]; then
		ko "printed ${said:-nothing} registered, $stored stored"
	else
		ok
	fi
fi

# refresh on a full disk: only what was committed is printed ---------------

# A file size limit (SIGXFSZ ignored, so writes fail with EFBIG) at the
# store's size makes its commits fail, as a full disk does.
mkdir "$T/full"
echo domain >"$T/full.csv"
i=1
while [ $i -le 40 ]; do
	echo "f$i.$ZONE" >>"$T/full.csv"
	i=$((i + 1))
done
case_ refresh-all-full-disk-setup
run --state-dir "$T/full" domain import "$T/full.csv"
want_rc 0 && ok

case_ refresh-all-full-disk
blocks=$(($(wc -c <"$T/full/data.mdb") / 512))
last_cmd="ulimit -f $blocks; authready --state-dir $T/full refresh --all"
(
	trap '' XFSZ
	ulimit -f "$blocks"
	exec timeout "$RUN_TIMEOUT" "$AUTHREADY" -c "$T/reg.conf" \
	    --state-dir "$T/full" refresh --all
) >"$T/out" 2>"$T/err" </dev/null
rc=$?
if want_rc 78 && want_err; then
	# Every transition printed must be the state stored.
	bad=
	while read -r d from arrow to; do
		[ "$arrow" = "->" ] || continue
		got=$("$AUTHREADY" -c "$T/reg.conf" --state-dir "$T/full" \
		    status "$d" --json 2>/dev/null | awk -f "$JSONFLAT" |
		    awk -F '\t' '$1 == ".domains.0.state" { print $2 }')
		[ "$got" = "$to" ] || bad="$d printed $from -> $to, stored $got"
	done <"$T/out"
	if [ -n "$bad" ]; then
		ko "$bad"
	elif ! grep -q -E 'the results of [0-9]+ not stored' "$T/err"; then
		ko "no count of the results not stored"
	elif [ "$(grep -c -E "^f[0-9]+\.$ZONE .* -> " "$T/out")" -eq 0 ] &&
	    ! grep -q 'checked, but not stored' "$T/err"; then
		ko "the domains not stored are not named"
	else
		ok
	fi
fi

finish
