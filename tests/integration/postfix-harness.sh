# postfix-harness.sh - run a private Postfix instance on loopback.
#
# SYNOPSIS
#	. "$top_srcdir/tests/integration/postfix-harness.sh"
#	pf_start [MILTER]
#	pf_postconf NAME=VALUE...
#	pf_reload
#	pf_hold_ids
#	pf_queue_ids
#	pf_delivered
#	pf_wait_delivered COUNT [SECONDS]
#	pf_wait_queue_empty [SECONDS]
#	pf_log_errors
#	pf_stop
#	pf_cleanup
#
# DESCRIPTION
#	pf_start builds a Postfix instance of its own in a directory made
#	with mktemp -d and starts it with "postfix -c DIR start", after
#	"postfix -c DIR check".  Nothing of the system's /etc/postfix is
#	read or changed, and the system's Postfix may run at the same time.
#	The instance has:
#
#	  - main.cf and master.cf written by the harness, every service
#	    unchrooted (so a unix milter socket is named by its real path);
#	  - its own queue_directory and data_directory;
#	  - smtpd on 127.0.0.1:$PF_PORT ("smtp") and on 127.0.0.1:$PF_SUBMIT_PORT
#	    ("submission", with -o smtpd_milters as in
#	    contrib/postfix-master.cf.snippet);
#	  - mynetworks 127.0.0.0/8 and mydestination empty: every recipient
#	    is relayed to an smtp-sink on 127.0.0.1:$PF_SINK_PORT, which
#	    writes each delivered message to a file in $PF_SINK_DIR;
#	  - its log in $PF_LOG (maillog_file and the postlog service);
#	  - smtpd_milters and non_smtpd_milters set to MILTER (a Postfix
#	    milter address: unix:/path or inet:127.0.0.1:port; none when
#	    empty), milter_default_action = tempfail, milter_protocol = 6,
#	    the default milter macros (i and {auth_authen} at MAIL FROM);
#	  - short queue timers, so released mail leaves within seconds.
#
#	The ports are picked at random in 20000-32000 (below the ephemeral
#	ports) among those nobody listens on, and the start is retried on
#	other ports when one is taken meanwhile.
#
#	pf_postconf changes main.cf (postconf -c DIR -e) and pf_reload makes
#	Postfix read it.  pf_hold_ids and pf_queue_ids print the queue IDs
#	in the hold queue and in the whole queue, one a line.  pf_delivered
#	prints how many messages the sink received; pf_wait_delivered waits
#	until it is at least COUNT (default 10 seconds; 1 when it is not).
#	pf_wait_queue_empty waits for every queue to drain.  pf_log_errors
#	prints the lines of the Postfix log that report a milter, fatal or
#	panic problem, and is true when there is one.
#
#	Postfix and the sink are stopped and the directory removed however
#	the test ends: pf_start registers pf_cleanup with at_exit when lib.sh
#	is loaded (every script of tests/integration; it runs before the
#	nsd_cleanup registered earlier), else sets a trap on EXIT, INT, TERM,
#	HUP and PIPE that also calls nsd_cleanup when nsd-harness.sh is loaded.
#
# DIAGNOSTICS
#	Not root, or no Postfix: the test exits 77 (automake SKIP).  When
#	the instance cannot be built or started, the test exits 99 (automake
#	ERROR) after printing the Postfix log.
#
# ENVIRONMENT
#	POSTFIX_VERBOSE (1: show the Postfix log when stopping).

PF_DIR=
PF_PORT=
PF_SUBMIT_PORT=
PF_SINK_PORT=
PF_SINK_DIR=
PF_LOG=
PF_SINK_PID=
PF_RUNNING=
PF_START_TRIES=10
PF_WAIT_TENTHS=100
PF_SBIN=/usr/sbin
PF_SYSLOG_NAME=postfix-authready

# pf_log_msg - print a harness message on stderr.
pf_log_msg() {
	echo "postfix-harness: $*" >&2
}

# pf_find - exit 77 unless we are root and Postfix and smtp-sink exist.
pf_find() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: a private Postfix instance needs root"
		exit 77
	fi
	for p in postfix postconf postsuper postqueue smtp-sink; do
		if [ ! -x "$PF_SBIN/$p" ]; then
			echo "SKIP: $PF_SBIN/$p not found (install the postfix" \
			    "package)"
			exit 77
		fi
	done
	if ! id postfix >/dev/null 2>&1 ||
	    ! getent group postdrop >/dev/null 2>&1; then
		echo "SKIP: no postfix user or postdrop group"
		exit 77
	fi
}

# pf_die - give up on the harness: show the log, exit 99.
pf_die() {
	pf_log_msg "$*"
	if [ -n "$PF_LOG" ] && [ -f "$PF_LOG" ]; then
		pf_log_msg "---- Postfix log"
		tail -n 40 "$PF_LOG" | sed 's/^/postfix-harness:   /' >&2
	fi
	exit 99
}

# pf_port_busy PORT - true when something listens on 127.0.0.1:PORT or
# on every address (from /proc/net/tcp; false when that is unreadable).
pf_port_busy() {
	hex=$(printf '%04X' "$1")
	awk -v p="$hex" '$4 == "0A" && ($2 == "0100007F:" p ||
	    $2 == "00000000:" p) { found = 1 } END { exit !found }' \
	    /proc/net/tcp 2>/dev/null
}

# pf_free_port - a random port in 20000-32000 (below the ephemeral ports)
# that nobody listens on.
pf_free_port() {
	while :; do
		# shuf is in coreutils; $RANDOM is not POSIX sh.
		p=$(shuf -i 20000-32000 -n 1)
		pf_port_busy "$p" || break
	done
	echo "$p"
}

# pf_write_main MILTER - main.cf of the instance.
pf_write_main() {
	cat >"$PF_DIR/etc/main.cf" <<EOF
# main.cf of a private test instance, written by postfix-harness.sh.
compatibility_level = 3.6
queue_directory = $PF_DIR/queue
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = $PF_SYSLOG_NAME
maillog_file = $PF_LOG
maillog_file_prefixes = $PF_DIR
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mta.authready.test
mydomain = authready.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
relay_domains =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$PF_SINK_PORT
alias_maps =
alias_database =
biff = no
smtpd_peername_lookup = no
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtputf8_enable = no
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 0
smtpd_milters = $1
non_smtpd_milters = $1
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 10s
milter_command_timeout = 30s
EOF
}

# pf_write_master MILTER - master.cf of the instance: nothing chrooted.
pf_write_master() {
	cat >"$PF_DIR/etc/master.cf" <<EOF
# master.cf of a private test instance, written by postfix-harness.sh.
127.0.0.1:$PF_PORT inet n - n - - smtpd
127.0.0.1:$PF_SUBMIT_PORT inet n - n - - smtpd
  -o syslog_name=$PF_SYSLOG_NAME/submission
  -o smtpd_milters=$1
pickup    unix  n       -       n       1       1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# pf_sink_start - smtp-sink on a free port, one file per message.
pf_sink_start() {
	n=0
	while [ $n -lt $PF_START_TRIES ]; do
		PF_SINK_PORT=$(pf_free_port)
		"$PF_SBIN/smtp-sink" -u postfix -h sink.authready.test \
		    -d "$PF_SINK_DIR/%Y%m%d%H%M%S." "127.0.0.1:$PF_SINK_PORT" \
		    16 </dev/null >>"$PF_DIR/sink.log" 2>&1 &
		PF_SINK_PID=$!
		i=0
		while [ $i -lt 30 ]; do
			if ! kill -0 "$PF_SINK_PID" 2>/dev/null; then
				wait "$PF_SINK_PID" 2>/dev/null
				PF_SINK_PID=
				break
			fi
			pf_port_busy "$PF_SINK_PORT" && return 0
			sleep 0.1
			i=$((i + 1))
		done
		if [ -n "$PF_SINK_PID" ]; then
			kill "$PF_SINK_PID" 2>/dev/null
			wait "$PF_SINK_PID" 2>/dev/null
			PF_SINK_PID=
		fi
		n=$((n + 1))
	done
	pf_die "smtp-sink did not start; see $PF_DIR/sink.log:" \
	    "$(tail -n 3 "$PF_DIR/sink.log" 2>/dev/null)"
}

# pf_try_start MILTER - write the config on new ports and start; 0 ok.
pf_try_start() {
	PF_PORT=$(pf_free_port)
	PF_SUBMIT_PORT=$(pf_free_port)
	[ "$PF_PORT" != "$PF_SUBMIT_PORT" ] || return 1
	pf_write_main "$1"
	pf_write_master "$1"
	"$PF_SBIN/postfix" -c "$PF_DIR/etc" check >>"$PF_DIR/start.log" 2>&1 ||
	    pf_die "postfix check failed: $(tail -n 5 "$PF_DIR/start.log")"
	"$PF_SBIN/postfix" -c "$PF_DIR/etc" start >>"$PF_DIR/start.log" 2>&1 ||
	    return 1
	PF_RUNNING=1
	i=0
	while [ $i -lt $PF_WAIT_TENTHS ]; do
		if pf_port_busy "$PF_PORT" && pf_port_busy "$PF_SUBMIT_PORT"
		then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	pf_stop
	return 1
}

# pf_cleanup_all - the trap: Postfix, then NSD when its harness is loaded.
pf_cleanup_all() {
	pf_cleanup
	if command -v nsd_cleanup >/dev/null 2>&1; then
		nsd_cleanup
	fi
}

# pf_start [MILTER] - build and start the instance; see DESCRIPTION.
pf_start() {
	pf_find
	PF_DIR=$(mktemp -d "${TMPDIR:-/tmp}/authready-postfix.XXXXXX") ||
	    pf_die "mktemp failed"
	if [ -n "${LIB_LOADED:-}" ]; then
		at_exit pf_cleanup
	else
		trap 'pf_cleanup_all' EXIT
		trap 'pf_cleanup_all; exit 130' INT
		trap 'pf_cleanup_all; exit 143' TERM
		trap 'pf_cleanup_all; exit 129' HUP
		trap 'pf_cleanup_all; exit 141' PIPE
	fi
	# Postfix's daemons and the sink (user postfix) walk into it.
	chmod 0755 "$PF_DIR"
	mkdir "$PF_DIR/etc" "$PF_DIR/queue" "$PF_DIR/data" "$PF_DIR/sink"
	chown postfix "$PF_DIR/data" "$PF_DIR/sink"
	PF_SINK_DIR=$PF_DIR/sink
	PF_LOG=$PF_DIR/maillog
	: >"$PF_LOG"
	pf_sink_start
	n=0
	while [ $n -lt $PF_START_TRIES ]; do
		if pf_try_start "${1:-}"; then
			export PF_DIR PF_PORT PF_SUBMIT_PORT PF_SINK_PORT \
			    PF_SINK_DIR PF_LOG
			pf_log_msg "postfix serves 127.0.0.1 ports $PF_PORT" \
			    "(smtp) and $PF_SUBMIT_PORT (submission), relays" \
			    "to smtp-sink on $PF_SINK_PORT; milter: ${1:-none}"
			return 0
		fi
		n=$((n + 1))
		# A failed try's fatal lines (a port taken meanwhile by
		# another test) are not the test's: they go to start.log,
		# out of the log pf_log_errors reads.
		cat "$PF_LOG" >>"$PF_DIR/start.log" 2>/dev/null
		: >"$PF_LOG"
	done
	pf_die "postfix did not start in $PF_START_TRIES tries:" \
	    "$(tail -n 5 "$PF_DIR/start.log" 2>/dev/null)"
}

# pf_postconf NAME=VALUE... - change main.cf of the instance.
pf_postconf() {
	"$PF_SBIN/postconf" -c "$PF_DIR/etc" -e "$@"
}

# pf_reload - make the running instance read its configuration again.
pf_reload() {
	"$PF_SBIN/postfix" -c "$PF_DIR/etc" reload >>"$PF_DIR/start.log" 2>&1
}

# pf_queue_list - "QUEUE ID" lines for every message in the queue.
pf_queue_list() {
	"$PF_SBIN/postqueue" -c "$PF_DIR/etc" -j 2>/dev/null |
	    sed -n 's/.*"queue_name": *"\([a-z]*\)".*"queue_id": *"\([0-9A-Za-z]*\)".*/\1 \2/p'
}

# pf_hold_ids - queue IDs in the hold queue, one a line.
pf_hold_ids() {
	pf_queue_list | awk '$1 == "hold" { print $2 }'
}

# pf_queue_ids - queue IDs in any queue, one a line.
pf_queue_ids() {
	pf_queue_list | awk '{ print $2 }'
}

# pf_delivered - how many messages the sink received.
pf_delivered() {
	find "$PF_SINK_DIR" -type f | wc -l | tr -d ' '
}

# pf_wait_delivered COUNT [SECONDS] - true once the sink has COUNT.
pf_wait_delivered() {
	i=0
	while [ $i -lt $((${2:-10} * 10)) ]; do
		[ "$(pf_delivered)" -ge "$1" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(pf_delivered)" -ge "$1" ]
}

# pf_wait_queue_empty [SECONDS] - true once no message is queued.
pf_wait_queue_empty() {
	i=0
	while [ $i -lt $((${1:-10} * 10)) ]; do
		[ -z "$(pf_queue_ids)" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	[ -z "$(pf_queue_ids)" ]
}

# pf_log_errors - the log lines about milter trouble, fatal or panic.
pf_log_errors() {
	grep -E -i -e '(warning|error|fatal|panic):.*milter' \
	    -e 'milter.*(error|timeout|lost connection|unavailable)' \
	    -e '(fatal|panic):' "$PF_LOG" |
	    grep -v -E ': milter-(reject|hold|discard): '
}

# pf_stop - stop Postfix and the sink (idempotent).
pf_stop() {
	if [ -n "$PF_RUNNING" ]; then
		"$PF_SBIN/postfix" -c "$PF_DIR/etc" stop >/dev/null 2>&1 ||
		    true
		PF_RUNNING=
	fi
	if [ -n "$PF_SINK_PID" ]; then
		kill "$PF_SINK_PID" 2>/dev/null
		wait "$PF_SINK_PID" 2>/dev/null
		PF_SINK_PID=
	fi
	if [ "${POSTFIX_VERBOSE:-0}" = 1 ] && [ -f "$PF_LOG" ]; then
		sed 's/^/postfix-harness:   /' "$PF_LOG" >&2
	fi
}

# pf_cleanup - stop everything, remove the private directory.
pf_cleanup() {
	pf_stop
	if [ -n "$PF_DIR" ] && [ -d "$PF_DIR" ]; then
		# The master may take a moment to let go of the queue.
		i=0
		while [ -f "$PF_DIR/queue/pid/master.pid" ] &&
		    kill -0 "$(tr -dc 0-9 <"$PF_DIR/queue/pid/master.pid")" \
			2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		rm -rf "$PF_DIR"
	fi
	PF_DIR=
}
