# pg-harness.sh - run PostgreSQL on a loopback port for integration tests.
#
# SYNOPSIS
#	. "$top_srcdir/tests/integration/pg-harness.sh"
#	pg_start
#	pg_psql [-d DB] SQL
#	pg_stop
#	pg_restart [unix]
#
# DESCRIPTION
#	pg_start makes a cluster with initdb in a private directory (mktemp
#	-d), as the postgres user when run as root (initdb refuses root), and
#	starts postgres on 127.0.0.1 on a free port, with its unix socket in
#	that directory and nothing else listening.  pg_hba.conf trusts the
#	unix socket (the harness's own superuser connections) and asks every
#	TCP connection for a password (scram-sha-256), so the tests see real
#	password authentication.  It then makes the three roles of
#	docs/fleet.md (authready_admin, authready_checker, authready_replica)
#	with random passwords, and a database authready owned by
#	authready_admin, and exports:
#
#	PG_PORT, PG_DIR       the port and the private directory
#	PG_DSN                postgresql://authready_admin@127.0.0.1:PORT/authready
#	PG_PASSWORD_FILE      a file holding authready_admin's password
#	PG_DSN_CHECKER, PG_PASSWORD_FILE_CHECKER, and the same for REPLICA
#
#	pg_psql runs SQL as the superuser over the unix socket (database
#	authready unless -d names another) and prints the rows unaligned,
#	"|" between columns.  pg_stop stops the server (a fast shutdown) and
#	waits for it; pg_restart starts it again on the same port and data
#	(with "unix", on its unix socket only: nothing on TCP can reach it,
#	while the harness's pg_psql can).
#	The server is stopped and the directory removed however the test
#	ends: through at_exit when lib.sh is loaded, else a trap of its own.
#
#	The binaries are found in PG_BINDIR when set, else the newest
#	/usr/lib/postgresql/*/bin (Debian's postgresql-15), else on PATH.
#
# DIAGNOSTICS
#	Without initdb, postgres or psql the test exits 77 (automake SKIP).
#	When the server cannot be started the test exits 99 after printing
#	its log.
#
# ENVIRONMENT
#	PG_BINDIR, PG_USER (the user to run postgres as when root; default
#	postgres), PG_VERBOSE (1: show the server log at the end).

PG_PORT=
PG_DIR=
PG_PID=
PG_START_TRIES=20
PG_WAIT_TENTHS=${PG_WAIT_TENTHS:-300}
PG_USER=${PG_USER:-postgres}

# pg_log - print a harness message on stderr.
pg_log() {
	echo "pg-harness: $*" >&2
}

# pg_find - set PG_BIN (initdb, postgres) and PSQL, or exit 77.
pg_find() {
	PG_BIN=${PG_BINDIR:-}
	if [ -z "$PG_BIN" ]; then
		for d in /usr/lib/postgresql/*/bin; do
			[ -x "$d/postgres" ] && PG_BIN=$d
		done
	fi
	if [ -z "$PG_BIN" ] && command -v postgres >/dev/null 2>&1; then
		PG_BIN=$(dirname "$(command -v postgres)")
	fi
	PSQL=$(command -v psql 2>/dev/null || true)
	[ -n "$PSQL" ] || PSQL=$PG_BIN/psql
	if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ] ||
	    [ ! -x "$PG_BIN/postgres" ] || [ ! -x "$PSQL" ]; then
		echo "SKIP: PostgreSQL not found (install postgresql-15, or" \
		    "set PG_BINDIR to the directory of initdb and postgres)"
		exit 77
	fi
	if [ "$(id -u)" -eq 0 ] && ! id "$PG_USER" >/dev/null 2>&1; then
		echo "SKIP: running as root and there is no user $PG_USER" \
		    "to run PostgreSQL as (set PG_USER)"
		exit 77
	fi
}

# pg_as CMD... - CMD as PG_USER when root (initdb and postgres refuse root).
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid "$PG_USER" --regid "$(id -g "$PG_USER")" \
		    --clear-groups -- "$@"
	else
		"$@"
	fi
}

# pg_cleanup - the trap: stop the server, remove the private directory.
pg_cleanup() {
	pg_stop
	if [ "${PG_VERBOSE:-0}" = 1 ] && [ -f "$PG_DIR/pg.log" ]; then
		sed 's/^/pg-harness:   /' "$PG_DIR/pg.log" >&2
	fi
	if [ -n "$PG_DIR" ] && [ -d "$PG_DIR" ]; then
		rm -rf "$PG_DIR"
	fi
	PG_DIR=
}

# pg_die - give up on the harness: show the log, exit 99.
pg_die() {
	pg_log "$*"
	if [ -n "$PG_DIR" ] && [ -f "$PG_DIR/pg.log" ]; then
		pg_log "---- pg.log"
		tail -n 40 "$PG_DIR/pg.log" | sed 's/^/pg-harness:   /' >&2
	fi
	exit 99
}

# pg_psql [-d DB] SQL - SQL as the superuser over the unix socket.
pg_psql() {
	pg_db=authready
	if [ "$1" = -d ]; then
		pg_db=$2
		shift 2
	fi
	"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" \
	    -U postgres -d "$pg_db" -c "$1"
}

# pg_ready - true when the server answers on its socket.
pg_ready() {
	"$PSQL" -X -q -A -t -h "$PG_DIR" -p "$PG_PORT" -U postgres \
	    -d postgres -c 'SELECT 1' >/dev/null 2>&1
}

# pg_run PORT [LISTEN] - start postgres on PORT (TCP on LISTEN, default
# 127.0.0.1; "" the unix socket only), with PG_OPTS's "-c NAME=VALUE"
# words after the harness's own (a benchmark's); 0 when it answers.  postgres is
# started directly (no shell function in between), so PG_PID is its pid.
pg_run() {
	PG_PORT=$1
	pg_listen=${2-127.0.0.1}
	if [ "$(id -u)" -eq 0 ]; then
		set -- setpriv --reuid "$PG_USER" --regid "$(id -g "$PG_USER")" \
		    --clear-groups --
	else
		set -- env
	fi
	"$@" "$PG_BIN/postgres" -D "$PG_DIR/data" -p "$PG_PORT" \
	    -c listen_addresses="$pg_listen" -c unix_socket_directories="$PG_DIR" \
	    -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
	    -c max_connections=40 -c shared_buffers=16MB ${PG_OPTS:-} \
	    </dev/null >>"$PG_DIR/pg.log" 2>&1 &
	PG_PID=$!
	i=0
	while [ $i -lt "$PG_WAIT_TENTHS" ]; do
		if ! kill -0 "$PG_PID" 2>/dev/null; then
			wait "$PG_PID" 2>/dev/null || true
			PG_PID=
			return 1
		fi
		pg_ready && return 0
		sleep 0.1
		i=$((i + 1))
	done
	pg_die "postgres on port $PG_PORT did not answer in time"
}

# pg_password - a random password, hex.
pg_password() {
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

# pg_roles - the roles, their passwords and the database.
pg_roles() {
	for r in admin checker replica; do
		pw=$(pg_password)
		pg_psql -d postgres "CREATE ROLE authready_$r LOGIN PASSWORD '$pw'" ||
		    pg_die "cannot create role authready_$r"
		(umask 077 && echo "$pw" >"$PG_DIR/$r.password")
	done
	pg_psql -d postgres \
	    "CREATE DATABASE authready OWNER authready_admin" ||
	    pg_die "cannot create the database"
	PG_DSN="postgresql://authready_admin@127.0.0.1:$PG_PORT/authready"
	PG_PASSWORD_FILE=$PG_DIR/admin.password
	PG_DSN_CHECKER="postgresql://authready_checker@127.0.0.1:$PG_PORT/authready"
	PG_PASSWORD_FILE_CHECKER=$PG_DIR/checker.password
	PG_DSN_REPLICA="postgresql://authready_replica@127.0.0.1:$PG_PORT/authready"
	PG_PASSWORD_FILE_REPLICA=$PG_DIR/replica.password
	export PG_DSN PG_PASSWORD_FILE PG_DSN_CHECKER PG_PASSWORD_FILE_CHECKER \
	    PG_DSN_REPLICA PG_PASSWORD_FILE_REPLICA
}

# pg_start - a new cluster on a free loopback port, roles and database.
pg_start() {
	pg_find
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/authready-pg.XXXXXX") ||
	    pg_die "mktemp failed"
	if [ -n "${LIB_LOADED:-}" ]; then
		at_exit pg_cleanup
	else
		trap 'pg_cleanup' EXIT
		trap 'pg_cleanup; exit 130' INT
		trap 'pg_cleanup; exit 143' TERM
		trap 'pg_cleanup; exit 129' HUP
		trap 'pg_cleanup; exit 141' PIPE
	fi
	if [ "$(id -u)" -eq 0 ]; then
		chown "$PG_USER" "$PG_DIR" || pg_die "cannot chown $PG_DIR"
		pg_as test -w "$PG_DIR" ||
		    pg_die "$PG_USER cannot reach $PG_DIR (set TMPDIR to a" \
			"directory others may enter)"
	fi
	pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -E UTF8 \
	    --no-locale --auth-local=trust --auth-host=scram-sha-256 \
	    >"$PG_DIR/initdb.log" 2>&1 ||
	    { cat "$PG_DIR/initdb.log" >&2; pg_die "initdb failed"; }
	{
		echo "local all all trust"
		echo "host all all 127.0.0.1/32 scram-sha-256"
	} | pg_as tee "$PG_DIR/data/pg_hba.conf" >/dev/null
	n=0
	while [ $n -lt $PG_START_TRIES ]; do
		port=$(shuf -i 20000-32000 -n 1)
		if pg_run "$port"; then
			export PG_PORT PG_DIR
			pg_roles
			pg_log "postgres (pid $PG_PID) on 127.0.0.1 port $PG_PORT"
			return 0
		fi
		n=$((n + 1))
	done
	pg_die "postgres did not start in $PG_START_TRIES tries"
}

# pg_stop - stop the server (fast shutdown) and wait for it (idempotent).
pg_stop() {
	[ -n "$PG_PID" ] || return 0
	kill -INT "$PG_PID" 2>/dev/null || true
	i=0
	while kill -0 "$PG_PID" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$PG_PID" 2>/dev/null || true
	wait "$PG_PID" 2>/dev/null || true
	PG_PID=
}

# pg_restart [unix] - start the stopped server again, same data and port
# (unix: on its unix socket only).
pg_restart() {
	[ -z "$PG_PID" ] || return 0
	if [ "${1:-}" = unix ]; then
		pg_run "$PG_PORT" "" ||
		    pg_die "postgres did not start again on its socket"
	else
		pg_run "$PG_PORT" ||
		    pg_die "postgres did not start again on $PG_PORT"
	fi
}
