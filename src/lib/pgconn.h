/*
 * pgconn.h - the connection to a fleet's PostgreSQL (StoreDSN).
 *
 * SYNOPSIS
 *	#include "pgconn.h"
 *
 *	The functions: see pgconn.c.
 *
 * DESCRIPTION
 *	Every program that talks to PostgreSQL (the CLI, the replica, the
 *	checkers) connects through pgconn_open(), checks the schema with
 *	pgconn_check_schema(), and runs its statements through pgconn_exec(),
 *	so that a failure is told apart the same way everywhere: a config
 *	that cannot work (PGCONN_CONFIG), a server that refused us
 *	(PGCONN_REFUSED), a server that is not there or lost us
 *	(PGCONN_DOWN), or a statement it refused (PGCONN_FAILED).
 *	pgconn_exit() maps these to the exit codes of authready(1).
 */
#ifndef AUTHREADY_PGCONN_H
#define AUTHREADY_PGCONN_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "configfile.h"

#define PGCONN_ERR_MAX 1024
#define PGCONN_PASSWORD_MAX 1024    /* octets of a StoreDSNPasswordFile */
#define PGCONN_CONNECT_TIMEOUT "10" /* s; a StoreDSN connect_timeout wins */

enum pgconn_status {
	PGCONN_OK = 0,
	PGCONN_CONFIG = -1,  /* malformed StoreDSN, password file, schema */
	PGCONN_REFUSED = -2, /* reached, and refused: password, database */
	PGCONN_DOWN = -3,    /* not reached, or lost: try again later */
	PGCONN_FAILED = -4,  /* a statement refused (privileges...) */
};

/*
 * pgconn_open - connect to cfg->store_dsn with the password of
 * cfg->store_dsn_password_file when set (else libpq's ~/.pgpass or
 * PGPASSFILE).  PGCONN_OK with *out; else an enum pgconn_status with a
 * message in err (never the password).
 */
int pgconn_open(const struct config *cfg, PGconn **out, char *err,
                size_t errlen);

/*
 * pgconn_schema_version - the schema version in authready_meta; 0 when
 * there is no authready schema in the database.  PGCONN_OK or a status.
 */
int pgconn_schema_version(PGconn *conn, int64_t *version, char *err,
                          size_t errlen);

/*
 * pgconn_check_schema - the database holds exactly the schema this
 * program knows (PGSCHEMA_VERSION).  PGCONN_CONFIG when it is newer
 * ("schema version N is newer than this authready (M): upgrade
 * authready"), older (run authready db migrate) or absent (run
 * authready db init).
 */
int pgconn_check_schema(PGconn *conn, char *err, size_t errlen);

/*
 * pgconn_exec - run sql with text parameters (NULL: SQL NULL; lengths
 * may be NULL for text; binary marks parameters given as bytea, with
 * their lengths).  PGCONN_OK with *res when it is not NULL (the caller
 * PQclear()s it); else a status and "what: why" in err.
 */
int pgconn_exec(PGconn *conn, const char *what, const char *sql, int nparams,
                const char *const *values, const int *lengths,
                const int *binary, PGresult **res, char *err, size_t errlen);

/*
 * pgconn_exec_rows - as pgconn_exec with text parameters, the
 * statement name that pgconn_prepare() made (or sql, name NULL), and
 * the result rows in PostgreSQL's binary format (each type's send
 * function: a bytea's bytes as they are, a bigint in 8 bytes in
 * network order; libpq still ends every value with a NUL).  *res is
 * set on PGCONN_OK.
 */
int pgconn_exec_rows(PGconn *conn, const char *what, const char *name,
                     const char *sql, int nparams, const char *const *values,
                     PGresult **res, char *err, size_t errlen);

/*
 * pgconn_prepare - prepare sql as the statement name on conn (for the
 * connection's life; parameter types from the text).  A status as
 * pgconn_exec.
 */
int pgconn_prepare(PGconn *conn, const char *what, const char *name,
                   const char *sql, char *err, size_t errlen);

/*
 * pgconn_exec_prepared - run the statement name that pgconn_prepare()
 * made on conn; parameters as pgconn_exec (lengths and binary NULL:
 * all text); as pgconn_exec.
 */
int pgconn_exec_prepared(PGconn *conn, const char *what, const char *name,
                         int nparams, const char *const *values,
                         const int *lengths, const int *binary, PGresult **res,
                         char *err, size_t errlen);

/*
 * pgconn_commit - COMMIT, and make sure it committed (COMMIT of a failed
 * transaction answers ROLLBACK).  PGCONN_DOWN when the connection went
 * away during it: the outcome is unknown, and err says so.
 */
int pgconn_commit(PGconn *conn, char *err, size_t errlen);

/* pgconn_rollback - end a failed transaction, if the connection lives. */
void pgconn_rollback(PGconn *conn);

/* pgconn_host_name - HostName, or gethostname(); 0 ok, -1 with err. */
int pgconn_host_name(const struct config *cfg, char *buf, size_t len, char *err,
                     size_t errlen);

/*
 * pgconn_password - the password of a StoreDSNPasswordFile (its first
 * line) in buf; PGCONN_OK, or PGCONN_CONFIG with err.  pgconn_open()
 * uses it, and the daemon's replica (its own non-blocking connect).
 */
int pgconn_password(const char *path, char *buf, size_t len, char *err,
                    size_t errlen);

/*
 * pgconn_notified - take every notification conn holds (LISTEN): 1 when
 * there was one, 0 none, -1 the connection failed (a caller that waits
 * treats that as a wake-up and finds the failure at its next statement).
 */
int pgconn_notified(PGconn *conn);

/* pgconn_exit - the authready(1) exit code of a status (0, 69, 75, 78). */
int pgconn_exit(int status);

#endif
