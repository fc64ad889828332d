# sendmail-harness.sh - run a private Sendmail 8.17 instance on loopback.
#
# SYNOPSIS
#	. "$top_srcdir/tests/integration/sendmail-harness.sh"
#	sm_find
#	sm_start [SOCKET]
#	sm_mailq [-qQ]
#	sm_queue_ids
#	sm_quarantine_ids
#	sm_delivered
#	sm_wait_queue_empty [SECONDS]
#	sm_stop
#	sm_cleanup
#
# DESCRIPTION
#	Debian's sendmail-bin conflicts with postfix (both provide
#	mail-transport-agent), and the tests need both, so Sendmail is never
#	installed: sm_find fetches sendmail-bin and sendmail-cf with "apt-get
#	download" into a cache directory ($SENDMAIL_DEBS, default
#	$top_builddir/sendmail-debs, kept between runs) and unpacks them with
#	"dpkg -x" into a directory of its own.  The binary is
#	usr/libexec/sendmail/sendmail of that tree; the libraries it needs
#	(libwrap0, liblockfile1, libnsl2, libdb5.3) and m4 come from
#	contrib/install-deps.  SENDMAIL_ROOT names an unpacked tree to use
#	instead.
#
#	sm_start builds sendmail.cf with sendmail-cf's m4 (cf/m4/cf.m4) from
#	a .mc of the harness and the lines of contrib/sendmail.mc.snippet,
#	the snippet's socket path replaced by SOCKET (a unix socket path;
#	without one the .mc has no milter), so the shipped snippet is what
#	is tested.  The instance has, in a directory made with mktemp -d:
#
#	  - its own QUEUE_DIR, PID file, alias file and service switch
#	    (hosts from /etc/hosts only: never a DNS lookup of its own);
#	  - DontBlameSendmail TrustStickyBit, so a milter socket under
#	    /tmp (sticky) is not refused as unsafe;
#	  - RefuseLA and QueueLA 1000, DelayLA 0: Sendmail's defaults (12
#	    and 8) close its listener and only queue mail when the
#	    load average is high, as on a test machine shared by builds or
#	    under valgrind;
#	  - a daemon on 127.0.0.1:$SM_PORT (DAEMON_OPTIONS), which runs its
#	    queue every second (-q1s);
#	  - FEATURE(accept_unresolvable_domains) and promiscuous_relay (it
#	    listens on loopback only): every recipient is relayed to an
#	    smtp-sink on 127.0.0.1:$SM_SINK_PORT (SMART_HOST), which writes
#	    each delivered message to a file in $SM_SINK_DIR.
#
#	It runs as root with "sendmail -C FILE.cf -bd -q1s", through $SM_CMD
#	(a script in the directory): when the host name is not qualified,
#	Sendmail sleeps a minute at every start, so SM_CMD runs it in a
#	UTS namespace named mta.authready.test (unshare --uts).  The tests
#	run every Sendmail command through SM_CMD.
#
#	SMTP AUTH (SM_SASL=USER:PASSWORD before sm_start): Debian's Sendmail
#	links Cyrus SASL, which reads Sendmail.conf from a fixed search path
#	(/etc/sasl2, /etc/sasl, the plugin directory, /usr/lib/sasl2; Sendmail
#	clears the environment, so SASL_CONF_PATH is not seen).  The
#	harness writes a Sendmail.conf (auxprop, sasldb, mech_list PLAIN)
#	and a sasldb made with saslpasswd2 (sasl2-bin) in $SM_DIR/sasl, and
#	SM_CMD runs Sendmail in a mount namespace of its own (unshare
#	--mount, private propagation) where that directory is bind-mounted
#	over each of /etc/sasl2, /etc/sasl and /usr/lib/sasl2 that exists:
#	the host's files are never touched.  The .mc offers AUTH PLAIN
#	without TLS (confAUTH_OPTIONS without "p"; loopback only) in the
#	realm mta.authready.test.  SM_SASL_OK is yes once that is set up; no
#	(and SM_SASL_WHY says why) when saslpasswd2 or a mount namespace is
#	missing: the instance then runs without AUTH.  The ports are
#	random in 20000-32000 (below the ephemeral ports) among those nobody
#	listens on (pf_free_port of postfix-harness.sh when loaded, else the
#	same code here), and the start is retried on other ports when one is
#	taken meanwhile.
#
#	sm_mailq lists the queue (sendmail -bp; -qQ: the quarantine).
#	sm_queue_ids and sm_quarantine_ids print the queue IDs of the normal
#	queue and of the quarantine, one a line.  sm_delivered prints how
#	many messages the sink received; sm_wait_queue_empty waits until
#	neither queue holds a message.
#
#	Sendmail and the sink are stopped and the directory removed however
#	the test ends: sm_start registers sm_cleanup with at_exit (lib.sh).
#
# DIAGNOSTICS
#	Not root, no m4, or the packages can neither be found in the cache
#	nor downloaded: the test exits 77 (automake SKIP).  When the .cf
#	cannot be built or Sendmail does not start, it exits 99.
#
# ENVIRONMENT
#	SENDMAIL_DEBS, SENDMAIL_ROOT (see above); SM_MC_EXTRA: more .mc
#	lines, added before MAILER() (bench/bench_sendmail.sh adds its
#	filters and listeners); SM_SASL (see above).

SM_ROOT=
SM_BIN=
SM_CMD=
SM_CF_DIR=
SM_DIR=
SM_CF=
SM_PORT=
SM_SINK_PORT=
SM_SINK_DIR=
SM_SINK_PID=
SM_PID=
SM_START_TRIES=10
SM_WAIT_TENTHS=100
SM_SNIPPET_SOCKET=/run/authready/authready.sock
SM_SASL_OK=no
SM_SASL_WHY="SM_SASL not set"
SM_SASL_REALM=mta.authready.test
# where Cyrus SASL looks for Sendmail.conf, the plugin directory aside
SM_SASL_CONF_DIRS="/etc/sasl2 /etc/sasl /usr/lib/sasl2"

# sm_log - print a harness message on stderr.
sm_log() {
	echo "sendmail-harness: $*" >&2
}

# sm_die - give up on the harness: exit 99.
sm_die() {
	sm_log "$*"
	exit 99
}

# sm_port_busy PORT - something listens on 127.0.0.1:PORT or on every
# address (from /proc/net/tcp).
sm_port_busy() {
	hex=$(printf '%04X' "$1")
	awk -v p="$hex" '$4 == "0A" && ($2 == "0100007F:" p ||
	    $2 == "00000000:" p) { found = 1 } END { exit !found }' \
	    /proc/net/tcp 2>/dev/null
}

# sm_free_port - a random port in 20000-32000 (below the ephemeral ports)
# that nobody listens on.
sm_free_port() {
	while :; do
		p=$(shuf -i 20000-32000 -n 1)
		sm_port_busy "$p" || break
	done
	echo "$p"
}

# sm_fetch DIR - sendmail-bin and sendmail-cf unpacked into DIR (the
# .debs from the cache, downloaded into it when missing); 0 ok.
sm_fetch() {
	cache=${SENDMAIL_DEBS:-${top_builddir:-.}/sendmail-debs}
	mkdir -p "$cache" || return 1
	for p in sendmail-bin sendmail-cf; do
		if ! ls "$cache/${p}_"*.deb >/dev/null 2>&1; then
			# apt's sandbox user must be able to write the cache.
			(cd "$cache" && apt-get download -q "$p") \
			    >"$cache/download.log" 2>&1 || return 1
		fi
		for deb in "$cache/${p}_"*.deb; do
			dpkg -x "$deb" "$1" || return 1
		done
	done
}

# sm_find - set SM_BIN and SM_CF_DIR, fetching Sendmail when needed, or
# exit 77.
sm_find() {
	[ -z "$SM_BIN" ] || return 0 # found (and fetched) already
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: a private Sendmail instance needs root"
		exit 77
	fi
	if ! command -v m4 >/dev/null 2>&1; then
		echo "SKIP: m4 not found (contrib/install-deps)"
		exit 77
	fi
	if [ -n "${SENDMAIL_ROOT:-}" ]; then
		SM_ROOT=$SENDMAIL_ROOT
	else
		SM_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/authready-smroot.XXXXXX") ||
		    sm_die "mktemp failed"
		at_exit 'rm -rf "$SM_ROOT"'
		if ! sm_fetch "$SM_ROOT"; then
			rm -rf "$SM_ROOT"
			echo "SKIP: sendmail-bin/sendmail-cf neither cached nor" \
			    "downloadable (apt-get download)"
			exit 77
		fi
	fi
	SM_BIN=$SM_ROOT/usr/libexec/sendmail/sendmail
	SM_CF_DIR=$SM_ROOT/usr/share/sendmail/cf
	if [ ! -x "$SM_BIN" ] || [ ! -f "$SM_CF_DIR/m4/cf.m4" ]; then
		echo "SKIP: no sendmail binary or cf.m4 under $SM_ROOT"
		exit 77
	fi
	if ldd "$SM_BIN" 2>/dev/null | grep -q 'not found'; then
		echo "SKIP: libraries of sendmail missing:" \
		    "$(ldd "$SM_BIN" | grep 'not found' | tr -s ' \t\n' ' ')" \
		    "(contrib/install-deps)"
		exit 77
	fi
}

# sm_sink_start - smtp-sink on a free port, one file per message.
sm_sink_start() {
	sink=/usr/sbin/smtp-sink
	[ -x "$sink" ] || sm_die "$sink not found (install postfix)"
	n=0
	while [ $n -lt $SM_START_TRIES ]; do
		SM_SINK_PORT=$(sm_free_port)
		"$sink" -u nobody -h sink.authready.test \
		    -d "$SM_SINK_DIR/%Y%m%d%H%M%S." "127.0.0.1:$SM_SINK_PORT" \
		    16 </dev/null >>"$SM_DIR/sink.log" 2>&1 &
		SM_SINK_PID=$!
		i=0
		while [ $i -lt 30 ]; do
			if ! kill -0 "$SM_SINK_PID" 2>/dev/null; then
				wait "$SM_SINK_PID" 2>/dev/null
				SM_SINK_PID=
				break
			fi
			sm_port_busy "$SM_SINK_PORT" && return 0
			sleep 0.1
			i=$((i + 1))
		done
		[ -z "$SM_SINK_PID" ] || stop_pid "$SM_SINK_PID"
		SM_SINK_PID=
		n=$((n + 1))
	done
	sm_die "smtp-sink did not start: $(tail -n 3 "$SM_DIR/sink.log")"
}

# sm_write_mc SOCKET - the .mc of the instance.
sm_write_mc() {
	cat >"$SM_DIR/sendmail.mc" <<EOF
divert(-1)
# sendmail.mc of a private test instance, written by sendmail-harness.sh.
divert(0)dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`mta.authready.test')dnl
define(\`QUEUE_DIR', \`$SM_DIR/queue')dnl
define(\`confPID_FILE', \`$SM_DIR/sendmail.pid')dnl
define(\`ALIAS_FILE', \`$SM_DIR/aliases')dnl
define(\`STATUS_FILE', \`$SM_DIR/statistics')dnl
define(\`confHELP_FILE', \`$SM_DIR/helpfile')dnl
define(\`confSERVICE_SWITCH_FILE', \`$SM_DIR/service.switch')dnl
define(\`confDONT_PROBE_INTERFACES', \`true')dnl
define(\`confDEF_USER_ID', \`nobody:nogroup')dnl
dnl the milter socket lives under /tmp (world writable, sticky)
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
define(\`confTO_QUEUEWARN', \`0')dnl
dnl a loaded test machine: never refuse connections (RefuseLA, 12 by
dnl default, closes the listener) nor only queue mail (QueueLA, 8)
define(\`confREFUSE_LA', \`1000')dnl
define(\`confQUEUE_LA', \`1000')dnl
define(\`confDELAY_LA', \`0')dnl
define(\`SMART_HOST', \`esmtp:[127.0.0.1]')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $SM_SINK_PORT')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`promiscuous_relay')dnl
DAEMON_OPTIONS(\`Port=$SM_PORT, Addr=127.0.0.1, Name=MTA')dnl
EOF
	if [ -n "$1" ]; then
		# the shipped lines, only the socket path changed
		sed -e '/^dnl/d' -e "s|$SM_SNIPPET_SOCKET|$1|" \
		    "$top_srcdir/contrib/sendmail.mc.snippet" \
		    >>"$SM_DIR/sendmail.mc"
		grep -q "S=local:$1," "$SM_DIR/sendmail.mc" ||
		    sm_die "no INPUT_MAIL_FILTER for $1 from the snippet"
	fi
	if [ "$SM_SASL_OK" = yes ]; then
		cat >>"$SM_DIR/sendmail.mc" <<EOF
dnl AUTH PLAIN over plain SMTP: loopback only, a test instance
define(\`confAUTH_MECHANISMS', \`PLAIN')dnl
TRUST_AUTH_MECH(\`PLAIN')dnl
define(\`confAUTH_OPTIONS', \`A')dnl
define(\`confAUTH_REALM', \`$SM_SASL_REALM')dnl
EOF
	fi
	if [ -n "${SM_MC_EXTRA:-}" ]; then
		printf '%s\n' "$SM_MC_EXTRA" >>"$SM_DIR/sendmail.mc"
	fi
	printf "MAILER(\`smtp')dnl\n" >>"$SM_DIR/sendmail.mc"
}

# sm_try_start SOCKET - build the .cf on new ports and start; 0 ok.
sm_try_start() {
	SM_PORT=$(sm_free_port)
	sm_write_mc "$1"
	m4 -D_CF_DIR_="$SM_CF_DIR/" "$SM_CF_DIR/m4/cf.m4" \
	    "$SM_DIR/sendmail.mc" >"$SM_CF" 2>"$SM_DIR/m4.log" ||
	    sm_die "m4 failed: $(cat "$SM_DIR/m4.log")"
	rm -f "$SM_DIR/sendmail.pid"
	"$SM_CMD" -C "$SM_CF" -bd -q1s </dev/null >>"$SM_DIR/start.log" \
	    2>&1 || return 1
	i=0
	while [ $i -lt $SM_WAIT_TENTHS ]; do
		if [ -s "$SM_DIR/sendmail.pid" ]; then
			SM_PID=$(sed -n '1{s/[^0-9]//g;p;}' "$SM_DIR/sendmail.pid")
			if sm_port_busy "$SM_PORT"; then
				return 0
			fi
		fi
		sleep 0.1
		i=$((i + 1))
	done
	sm_stop
	return 1
}

# sm_sasl_setup - $SM_DIR/sasl for SM_SASL (see DESCRIPTION); sets
# SM_SASL_OK and SM_SASL_WHY.
sm_sasl_setup() {
	SM_SASL_OK=no
	if [ -z "${SM_SASL:-}" ]; then
		SM_SASL_WHY="SM_SASL not set"
		return 0
	fi
	if ! command -v saslpasswd2 >/dev/null 2>&1; then
		SM_SASL_WHY="saslpasswd2 not found (sasl2-bin, contrib/install-deps)"
		return 0
	fi
	if ! unshare --mount true >/dev/null 2>&1; then
		SM_SASL_WHY="no mount namespace (unshare --mount)"
		return 0
	fi
	found=
	for d in $SM_SASL_CONF_DIRS; do
		[ -d "$d" ] && found=$d
	done
	if [ -z "$found" ]; then
		SM_SASL_WHY="none of $SM_SASL_CONF_DIRS to mount over" \
		    "(libsasl2-modules-db)"
		return 0
	fi
	mkdir "$SM_DIR/sasl" && chmod 0755 "$SM_DIR/sasl" || return 1
	cat >"$SM_DIR/sasl/Sendmail.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $SM_DIR/sasl/sasldb2
mech_list: PLAIN
EOF
	printf '%s' "${SM_SASL#*:}" | saslpasswd2 -p -c \
	    -f "$SM_DIR/sasl/sasldb2" -u "$SM_SASL_REALM" "${SM_SASL%%:*}" \
	    >>"$SM_DIR/start.log" 2>&1 || return 1
	# Sendmail refuses a sasldb others can read (safesaslfile)
	chmod 0600 "$SM_DIR/sasl/sasldb2"
	SM_SASL_OK=yes
	SM_SASL_WHY=
}

# sm_write_cmd - SM_CMD: Sendmail under a qualified host name.  Sendmail
# sleeps a minute at every start when the host name has no dot and is
# not qualified by the hosts file, so without one it runs in a UTS
# namespace of its own named mta.authready.test.  With SMTP AUTH, in a
# mount namespace that shows $SM_DIR/sasl as Cyrus SASL's configuration.
sm_write_cmd() {
	SM_CMD=$SM_DIR/sendmail
	flags=
	inner=
	if ! hostname | grep -q '\.' && unshare --uts true >/dev/null 2>&1
	then
		flags=--uts
		inner='hostname mta.authready.test && '
	fi
	if [ "$SM_SASL_OK" = yes ]; then
		flags="$flags --mount --propagation private"
		for d in $SM_SASL_CONF_DIRS; do
			[ -d "$d" ] || continue
			inner="${inner}mount --bind $SM_DIR/sasl $d && "
		done
	fi
	if [ -z "$flags" ]; then
		printf '#!/bin/sh\nexec %s "$@"\n' "$SM_BIN" >"$SM_CMD"
	else
		printf '#!/bin/sh\nexec unshare %s sh -c %s sh %s "$@"\n' \
		    "$flags" "'${inner}exec \"\$@\"'" "$SM_BIN" >"$SM_CMD"
	fi
	chmod 0755 "$SM_CMD"
}

# sm_start [SOCKET] - build and start the instance; see DESCRIPTION.
sm_start() {
	sm_find
	SM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/authready-sendmail.XXXXXX") ||
	    sm_die "mktemp failed"
	at_exit sm_cleanup
	# Sendmail checks that no directory on the way is writable by
	# others; the sink (nobody) writes its own directory.
	chmod 0755 "$SM_DIR"
	mkdir "$SM_DIR/queue" "$SM_DIR/sink"
	chmod 0700 "$SM_DIR/queue"
	chown nobody "$SM_DIR/sink"
	printf 'hosts files\naliases files\n' >"$SM_DIR/service.switch"
	: >"$SM_DIR/aliases"
	SM_SINK_DIR=$SM_DIR/sink
	SM_CF=$SM_DIR/sendmail.cf
	sm_sasl_setup || sm_die "SMTP AUTH setup failed:" \
	    "$(tail -n 3 "$SM_DIR/start.log" 2>/dev/null)"
	sm_write_cmd
	sm_sink_start
	n=0
	while [ $n -lt $SM_START_TRIES ]; do
		if sm_try_start "${1:-}"; then
			sm_log "sendmail serves 127.0.0.1 port $SM_PORT, relays" \
			    "to smtp-sink on $SM_SINK_PORT; milter: ${1:-none}"
			return 0
		fi
		n=$((n + 1))
	done
	sm_die "sendmail did not start in $SM_START_TRIES tries:" \
	    "$(tail -n 5 "$SM_DIR/start.log" 2>/dev/null)"
}

# sm_mailq [-qQ] - Sendmail's listing of its queue (or quarantine).
sm_mailq() {
	timeout "$(scaled 20)" "$SM_CMD" -C "$SM_CF" -bp "$@" 2>/dev/null
}

# sm_ids_of - queue IDs of a listing on stdin, one a line.
sm_ids_of() {
	sed -n 's/^\([0-9A-Za-x]\{14,18\}\)[ *X-].*/\1/p'
}

# sm_queue_ids - queue IDs in the normal queue, one a line.
sm_queue_ids() {
	sm_mailq | sm_ids_of
}

# sm_quarantine_ids - queue IDs in the quarantine, one a line.
sm_quarantine_ids() {
	sm_mailq -qQ | sm_ids_of
}

# sm_delivered - how many messages the sink received.
sm_delivered() {
	find "$SM_SINK_DIR" -type f | wc -l | tr -d ' '
}

# sm_wait_queue_empty [SECONDS] - true once neither queue holds mail.
sm_wait_queue_empty() {
	i=0
	while [ $i -lt $((${1:-10} * 10)) ]; do
		if [ -z "$(sm_queue_ids)" ] && [ -z "$(sm_quarantine_ids)" ]
		then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	[ -z "$(sm_queue_ids)" ] && [ -z "$(sm_quarantine_ids)" ]
}

# sm_stop - stop Sendmail and the sink (idempotent).
sm_stop() {
	if [ -n "$SM_PID" ]; then
		stop_pid "$SM_PID"
		SM_PID=
	fi
	if [ -n "$SM_SINK_PID" ]; then
		stop_pid "$SM_SINK_PID"
		SM_SINK_PID=
	fi
}

# sm_cleanup - stop everything, remove the private directory.
sm_cleanup() {
	sm_stop
	if [ -n "$SM_DIR" ] && [ -d "$SM_DIR" ]; then
		rm -rf "$SM_DIR"
	fi
	SM_DIR=
}
