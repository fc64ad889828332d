# nsd-harness.sh - run NSD on a loopback port for integration tests.
#
# SYNOPSIS
#	. "$top_srcdir/tests/integration/nsd-harness.sh"
#	nsd_start ZONEDIR...
#	nsd_reload [ZONE SERIAL]
#	nsd_stop
#
# DESCRIPTION
#	nsd_start serves every ZONEDIR/NAME.zone as zone NAME from an NSD
#	bound to 127.0.0.1 on a free port, and exports NSD_PORT and NSD_DIR.
#	Everything lives in a private directory made with mktemp -d: nsd.conf,
#	a copy of the zone files (so a test may edit them, then nsd_reload),
#	the log, and NSD's state files.  Zones named in NSD_SERVFAIL_ZONES
#	(space separated) are configured without a zone file, so NSD answers
#	SERVFAIL for them.
#
#	nsd_start returns once every zone answers its SOA query.  NSD is
#	stopped and the directory removed however the test ends: through
#	at_exit when lib.sh is loaded (every script of tests/integration),
#	else through a trap on EXIT, INT, TERM, HUP and PIPE of its own.
#
#	nsd_reload makes NSD re-read changed zone files (SIGHUP) and, given a
#	zone and a serial, waits until that serial is served.
#
#	NSD is $NSD when set, else nsd on PATH, else /usr/sbin/nsd.  dig is
#	used to wait for answers when present; without it the log is polled.
#
# DIAGNOSTICS
#	Without NSD the test exits 77 (automake SKIP).  When NSD cannot be
#	started, or a zone is not served, the test exits 99 (automake ERROR)
#	after printing the NSD log.
#
# ENVIRONMENT
#	NSD, NSD_SERVFAIL_ZONES, NSD_VERBOSE (1: keep and show the log).

NSD_PORT=
NSD_DIR=
NSD_PID=
NSD_ZONES=
NSD_START_TRIES=20
NSD_WAIT_TENTHS=100

# nsd_log - print a harness message on stderr.
nsd_log() {
	echo "nsd-harness: $*" >&2
}

# nsd_find - set NSD_BIN, or exit 77 when there is no NSD.
nsd_find() {
	NSD_BIN=${NSD:-}
	if [ -z "$NSD_BIN" ]; then
		NSD_BIN=$(command -v nsd 2>/dev/null || true)
	fi
	if [ -z "$NSD_BIN" ] && [ -x /usr/sbin/nsd ]; then
		NSD_BIN=/usr/sbin/nsd
	fi
	if [ -z "$NSD_BIN" ] || [ ! -x "$NSD_BIN" ]; then
		echo "SKIP: nsd not found (NSD='${NSD:-}'; install the nsd" \
		    "package or set NSD=/path/to/nsd)"
		exit 77
	fi
}

# nsd_cleanup - the trap: stop NSD, remove the private directory.
nsd_cleanup() {
	nsd_stop
	if [ -n "$NSD_DIR" ] && [ -d "$NSD_DIR" ]; then
		rm -rf "$NSD_DIR"
	fi
	NSD_DIR=
}

# nsd_die - give up on the harness: show the log, exit 99.
nsd_die() {
	nsd_log "$*"
	if [ -n "$NSD_DIR" ] && [ -f "$NSD_DIR/nsd.log" ]; then
		nsd_log "---- nsd.log"
		sed 's/^/nsd-harness:   /' "$NSD_DIR/nsd.log" >&2
	fi
	exit 99
}

# nsd_write_conf PORT - write nsd.conf for the zones in $NSD_DIR/zones.
nsd_write_conf() {
	{
		echo "server:"
		echo "	ip-address: 127.0.0.1@$1"
		echo "	port: $1"
		echo "	do-ip4: yes"
		echo "	do-ip6: no"
		echo "	reuseport: no"
		echo "	server-count: 1"
		echo "	rrl-ratelimit: 0"
		echo "	rrl-whitelist-ratelimit: 0"
		echo "	username: \"\""
		echo "	chroot: \"\""
		echo "	zonesdir: \"$NSD_DIR/zones\""
		echo "	database: \"\""
		echo "	pidfile: \"$NSD_DIR/nsd.pid\""
		echo "	xfrdfile: \"$NSD_DIR/xfrd.state\""
		echo "	xfrdir: \"$NSD_DIR\""
		echo "	zonelistfile: \"$NSD_DIR/zone.list\""
		echo "	logfile: \"$NSD_DIR/nsd.log\""
		echo "	verbosity: 2"
		echo "	hide-version: yes"
		echo "	zonefiles-write: 0"
		echo "remote-control:"
		echo "	control-enable: no"
		for z in $NSD_ZONES; do
			echo "zone:"
			echo "	name: \"$z\""
			echo "	zonefile: \"$z.zone\""
		done
		for z in ${NSD_SERVFAIL_ZONES:-}; do
			echo "zone:"
			echo "	name: \"$z\""
			echo "	zonefile: \"$z.missing-on-purpose\""
		done
	} >"$NSD_DIR/nsd.conf"
}

# nsd_serial ZONE - the SOA serial NSD serves for ZONE, or nothing.
nsd_serial() {
	dig +norecurse +time=1 +tries=1 +short -p "$NSD_PORT" @127.0.0.1 \
	    "$1" SOA 2>/dev/null | awk 'NF == 7 { print $3; exit }'
}

# nsd_answering - true when our NSD is up and every zone answers its SOA
# query.  The log line tells our NSD from another one that might hold the
# port (UDP binds may be shared) during a parallel make check.
nsd_answering() {
	grep -q "nsd started" "$NSD_DIR/nsd.log" 2>/dev/null || return 1
	command -v dig >/dev/null 2>&1 || return 0
	for z in $NSD_ZONES; do
		[ -n "$(nsd_serial "$z")" ] || return 1
	done
	return 0
}

# nsd_try_port PORT - start NSD on PORT; 0 when it serves every zone.
nsd_try_port() {
	NSD_PORT=$1
	nsd_write_conf "$1"
	: >"$NSD_DIR/nsd.log"
	"$NSD_BIN" -d -c "$NSD_DIR/nsd.conf" </dev/null \
	    >>"$NSD_DIR/nsd.out" 2>&1 &
	NSD_PID=$!
	i=0
	while [ $i -lt $NSD_WAIT_TENTHS ]; do
		if ! kill -0 "$NSD_PID" 2>/dev/null; then
			wait "$NSD_PID" 2>/dev/null || true
			NSD_PID=
			return 1
		fi
		nsd_answering && return 0
		sleep 0.1
		i=$((i + 1))
	done
	nsd_die "nsd on port $1 did not serve every zone of:$NSD_ZONES"
}

# nsd_start ZONEDIR... - serve the zone files of each ZONEDIR on loopback.
nsd_start() {
	nsd_find
	[ $# -gt 0 ] || nsd_die "nsd_start: no zone directory given"
	NSD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/authready-nsd.XXXXXX") ||
	    nsd_die "mktemp failed"
	if [ -n "${LIB_LOADED:-}" ]; then
		at_exit nsd_cleanup
	else
		trap 'nsd_cleanup' EXIT
		trap 'nsd_cleanup; exit 130' INT
		trap 'nsd_cleanup; exit 143' TERM
		trap 'nsd_cleanup; exit 129' HUP
		trap 'nsd_cleanup; exit 141' PIPE
	fi
	mkdir "$NSD_DIR/zones"
	NSD_ZONES=
	for dir in "$@"; do
		for f in "$dir"/*.zone; do
			[ -f "$f" ] || continue
			z=$(basename "$f" .zone)
			cp "$f" "$NSD_DIR/zones/$z.zone"
			NSD_ZONES="$NSD_ZONES $z"
		done
	done
	[ -n "$NSD_ZONES" ] || nsd_die "no *.zone files in: $*"
	n=0
	while [ $n -lt $NSD_START_TRIES ]; do
		# shuf is in coreutils; $RANDOM is not POSIX sh.
		port=$(shuf -i 20000-32000 -n 1)
		if nsd_try_port "$port"; then
			export NSD_PORT NSD_DIR
			nsd_log "nsd (pid $NSD_PID) serves$NSD_ZONES" \
			    "on 127.0.0.1 port $NSD_PORT"
			return 0
		fi
		n=$((n + 1))
	done
	nsd_die "nsd did not start in $NSD_START_TRIES tries"
}

# nsd_reload [ZONE SERIAL] - re-read zone files; wait for SERIAL of ZONE.
nsd_reload() {
	[ -n "$NSD_PID" ] || nsd_die "nsd_reload: nsd is not running"
	kill -HUP "$NSD_PID" || nsd_die "nsd_reload: nsd is gone"
	i=0
	while [ $i -lt $NSD_WAIT_TENTHS ]; do
		if [ $# -ge 2 ]; then
			[ "$(nsd_serial "$1")" = "$2" ] && return 0
		elif nsd_answering; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	nsd_die "nsd_reload: zone $1 serial $2 not served in time"
}

# nsd_stop - stop NSD and wait for it (idempotent).
nsd_stop() {
	[ -n "$NSD_PID" ] || return 0
	kill -TERM "$NSD_PID" 2>/dev/null || true
	i=0
	while kill -0 "$NSD_PID" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$NSD_PID" 2>/dev/null || true
	wait "$NSD_PID" 2>/dev/null || true
	if [ "${NSD_VERBOSE:-0}" = 1 ] && [ -f "$NSD_DIR/nsd.log" ]; then
		sed 's/^/nsd-harness:   /' "$NSD_DIR/nsd.log" >&2
	fi
	NSD_PID=
}
