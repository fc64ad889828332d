/*
 * pgconn.c - the connection to a fleet's PostgreSQL (StoreDSN).
 *
 * SYNOPSIS
 *	int pgconn_open(const struct config *cfg, PGconn **out, char *err,
 *	    size_t errlen);
 *	int pgconn_schema_version(PGconn *conn, int64_t *version, char *err,
 *	    size_t errlen);
 *	int pgconn_check_schema(PGconn *conn, char *err, size_t errlen);
 *	int pgconn_exec(PGconn *conn, const char *what, const char *sql,
 *	    int nparams, const char *const *values, const int *lengths,
 *	    const int *binary, PGresult **res, char *err, size_t errlen);
 *	int pgconn_exec_rows(PGconn *conn, const char *what,
 *	    const char *name, const char *sql, int nparams,
 *	    const char *const *values, PGresult **res, char *err,
 *	    size_t errlen);
 *	int pgconn_prepare(PGconn *conn, const char *what,
 *	    const char *name, const char *sql, char *err, size_t errlen);
 *	int pgconn_exec_prepared(PGconn *conn, const char *what,
 *	    const char *name, int nparams, const char *const *values,
 *	    PGresult **res, char *err, size_t errlen);
 *	int pgconn_commit(PGconn *conn, char *err, size_t errlen);
 *	void pgconn_rollback(PGconn *conn);
 *	int pgconn_notified(PGconn *conn);
 *	int pgconn_host_name(const struct config *cfg, char *buf, size_t len,
 *	    char *err, size_t errlen);
 *	int pgconn_password(const char *path, char *buf, size_t len,
 *	    char *err, size_t errlen);
 *	int pgconn_exit(int status);
 *
 * DESCRIPTION
 *	StoreDSN is checked with PQconninfoParse() before anything is sent,
 *	so a malformed one is a config error.  The connection is made with
 *	PQconnectdbParams(): a connect_timeout and application_name first,
 *	then the DSN (expanded, so its settings win), then the password of
 *	StoreDSNPasswordFile (its first line) when the config names one.
 *	The password is wiped from memory once libpq has it.
 *
 *	A failed connection is classified with PQpingParams() on the same
 *	settings: a server that answers pings turned us away (a wrong
 *	password, user or database: PGCONN_REFUSED); one that does not is
 *	down or unreachable (PGCONN_DOWN).  A failed statement is PGCONN_DOWN
 *	when the connection is gone or the SQLSTATE says to try again
 *	(class 08, 40, 53, 57P), else PGCONN_FAILED (PGCONN_REFUSED for a
 *	missing privilege, 42501).
 *
 * DIAGNOSTICS
 *	Messages from libpq and the server pass through sanitize_text() and
 *	have their line breaks joined.  They never hold the password.
 */
#include "pgconn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "pgschema.h"
#include "safefile.h"
#include "sanitize.h"

/* The statuses as authready(1) exit codes (sysexits.h values). */
static const struct {
	int status;
	int code;
} pgconn_exits[] = {
    {PGCONN_OK, 0},    {PGCONN_CONFIG, 78}, {PGCONN_REFUSED, 69},
    {PGCONN_DOWN, 75}, {PGCONN_FAILED, 69},
};

/* SQLSTATE prefixes that mean "try again later" (PGCONN_DOWN). */
static const char *const pgconn_transient[] = {
    "08",  /* connection exception */
    "40",  /* serialization failure, deadlock */
    "53",  /* insufficient resources */
    "57P", /* admin shutdown, crash shutdown, cannot connect now */
};

int
pgconn_notified(PGconn *conn)
{
	PGnotify *nf;
	int any = 0;

	if (!PQconsumeInput(conn))
		return -1;
	while ((nf = PQnotifies(conn)) != NULL) {
		PQfreemem(nf); /* a wake-up: the payload is not read */
		any = 1;
	}
	return any;
}

int
pgconn_exit(int status)
{
	size_t i;

	for (i = 0; i < sizeof(pgconn_exits) / sizeof(*pgconn_exits); i++)
		if (pgconn_exits[i].status == status)
			return pgconn_exits[i].code;
	return 69;
}

/* pgconn_message - libpq's text made printable, lines joined. */
static const char *
pgconn_message(const char *text, char *buf, size_t len)
{
	char raw[PGCONN_ERR_MAX];
	size_t n, i;

	snprintf(raw, sizeof(raw), "%s", text != NULL ? text : "");
	n = strlen(raw);
	while (n > 0 && (raw[n - 1] == '\n' || raw[n - 1] == ' '))
		raw[--n] = '\0';
	for (i = 0; i < n; i++)
		if (raw[i] == '\n' || raw[i] == '\t')
			raw[i] = ' ';
	sanitize_text(buf, len, (const unsigned char *)raw, n);
	return buf;
}

int
pgconn_password(const char *path, char *buf, size_t len, char *err,
                size_t errlen)
{
	char why[SAFEFILE_ERR_MAX], *text;
	size_t n = 0;

	if (safefile_read(path, PGCONN_PASSWORD_MAX, 0, &text, &n, NULL, why,
	                  sizeof(why)) != 0)
		return errbuf_code(err, errlen, PGCONN_CONFIG,
		                   "StoreDSNPasswordFile %s", why);
	n = strcspn(text, "\r\n");
	if (n == 0 || n >= len) {
		explicit_bzero(text, strlen(text));
		free(text);
		return errbuf_code(err, errlen, PGCONN_CONFIG,
		                   "StoreDSNPasswordFile %s: %s", path,
		                   n == 0 ? "the first line is empty"
		                          : "the password is too long");
	}
	memcpy(buf, text, n);
	buf[n] = '\0';
	explicit_bzero(text, strlen(text));
	free(text);
	return PGCONN_OK;
}

int
pgconn_open(const struct config *cfg, PGconn **out, char *err, size_t errlen)
{
	const char *keys[] = {"connect_timeout", "application_name", "dbname",
	                      "password", NULL};
	const char *values[5];
	char password[PGCONN_PASSWORD_MAX], msg[PGCONN_ERR_MAX];
	char *parse_err = NULL;
	PQconninfoOption *opts;
	PGconn *conn;
	int rc = PGCONN_OK;

	*out = NULL;
	if (cfg->store_dsn[0] == '\0')
		return errbuf_code(
		    err, errlen, PGCONN_CONFIG,
		    "no StoreDSN in the config (or --store-dsn)");
	/* Not the DSN in the message: it may hold a password. */
	if ((opts = PQconninfoParse(cfg->store_dsn, &parse_err)) == NULL) {
		rc = errbuf_code(
		    err, errlen, PGCONN_CONFIG, "StoreDSN is malformed: %s",
		    pgconn_message(parse_err ? parse_err : "out of memory", msg,
		                   sizeof(msg)));
		PQfreemem(parse_err);
		return rc;
	}
	PQconninfoFree(opts);
	values[0] = PGCONN_CONNECT_TIMEOUT;
	values[1] = "authready";
	values[2] = cfg->store_dsn;
	values[3] = NULL;
	values[4] = NULL;
	if (cfg->store_dsn_password_file[0] != '\0') {
		if ((rc = pgconn_password(cfg->store_dsn_password_file,
		                          password, sizeof(password), err,
		                          errlen)) != PGCONN_OK)
			return rc;
		values[3] = password;
	}
	conn = PQconnectdbParams(keys, values, 1);
	if (conn != NULL && PQstatus(conn) == CONNECTION_OK) {
		explicit_bzero(password, sizeof(password));
		*out = conn;
		return PGCONN_OK;
	}
	pgconn_message(conn ? PQerrorMessage(conn) : "out of memory", msg,
	               sizeof(msg));
	if (conn != NULL && PQconnectionNeedsPassword(conn))
		rc = errbuf_code(err, errlen, PGCONN_REFUSED,
		                 "PostgreSQL wants a password and none was "
		                 "given (StoreDSNPasswordFile, ~/.pgpass or "
		                 "PGPASSFILE): %s",
		                 msg);
	else if (conn != NULL && PQpingParams(keys, values, 1) == PQPING_OK)
		rc = errbuf_code(err, errlen, PGCONN_REFUSED,
		                 "PostgreSQL refused the connection (check the "
		                 "user, password and database of StoreDSN): %s",
		                 msg);
	else
		rc = errbuf_code(err, errlen, PGCONN_DOWN,
		                 "PostgreSQL is not reachable (down, or the "
		                 "host or port of StoreDSN is wrong): %s",
		                 msg);
	explicit_bzero(password, sizeof(password));
	PQfinish(conn);
	return rc;
}

/* pgconn_classify - the status of a failed statement. */
static int
pgconn_classify(PGconn *conn, const PGresult *res)
{
	const char *state;
	size_t i;

	if (PQstatus(conn) != CONNECTION_OK)
		return PGCONN_DOWN;
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (state == NULL)
		return PGCONN_DOWN; /* no answer from the server at all */
	for (i = 0; i < sizeof(pgconn_transient) / sizeof(*pgconn_transient);
	     i++)
		if (strncmp(state, pgconn_transient[i],
		            strlen(pgconn_transient[i])) == 0)
			return PGCONN_DOWN;
	if (strcmp(state, "42501") == 0)
		return PGCONN_REFUSED;
	return PGCONN_FAILED;
}

static int pgconn_outcome(PGconn *conn, PGresult *r, const char *what,
                          PGresult **res, char *err, size_t errlen);

int
pgconn_exec(PGconn *conn, const char *what, const char *sql, int nparams,
            const char *const *values, const int *lengths, const int *binary,
            PGresult **res, char *err, size_t errlen)
{
	PGresult *r;

	if (res != NULL)
		*res = NULL;
	r = PQexecParams(conn, sql, nparams, NULL, values, lengths, binary, 0);
	return pgconn_outcome(conn, r, what, res, err, errlen);
}

int
pgconn_exec_rows(PGconn *conn, const char *what, const char *name,
                 const char *sql, int nparams, const char *const *values,
                 PGresult **res, char *err, size_t errlen)
{
	PGresult *r;

	*res = NULL;
	r = name != NULL
	        ? PQexecPrepared(conn, name, nparams, values, NULL, NULL, 1)
	        : PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 1);
	return pgconn_outcome(conn, r, what, res, err, errlen);
}

int
pgconn_prepare(PGconn *conn, const char *what, const char *name,
               const char *sql, char *err, size_t errlen)
{
	return pgconn_outcome(conn, PQprepare(conn, name, sql, 0, NULL), what,
	                      NULL, err, errlen);
}

int
pgconn_exec_prepared(PGconn *conn, const char *what, const char *name,
                     int nparams, const char *const *values, const int *lengths,
                     const int *binary, PGresult **res, char *err,
                     size_t errlen)
{
	if (res != NULL)
		*res = NULL;
	return pgconn_outcome(
	    conn,
	    PQexecPrepared(conn, name, nparams, values, lengths, binary, 0),
	    what, res, err, errlen);
}

/* pgconn_outcome - the result r of a statement: PGCONN_OK with *res (or
 * cleared), else a status and "what: why" in err. */
static int
pgconn_outcome(PGconn *conn, PGresult *r, const char *what, PGresult **res,
               char *err, size_t errlen)
{
	char msg[PGCONN_ERR_MAX];
	ExecStatusType st;
	int rc;

	st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (res != NULL)
			*res = r;
		else
			PQclear(r);
		return PGCONN_OK;
	}
	rc = pgconn_classify(conn, r);
	pgconn_message(r && PQresultErrorMessage(r)[0] != '\0'
	                   ? PQresultErrorMessage(r)
	                   : PQerrorMessage(conn),
	               msg, sizeof(msg));
	PQclear(r);
	if (rc == PGCONN_DOWN)
		return errbuf_code(err, errlen, rc,
		                   "%s: PostgreSQL is unavailable: %s", what,
		                   msg);
	return errbuf_code(err, errlen, rc, "%s: %s", what, msg);
}

int
pgconn_commit(PGconn *conn, char *err, size_t errlen)
{
	char why[PGCONN_ERR_MAX];
	PGresult *res;
	int rc;

	rc = pgconn_exec(conn, "COMMIT", "COMMIT", 0, NULL, NULL, NULL, &res,
	                 why, sizeof(why));
	if (rc == PGCONN_DOWN)
		return errbuf_code(err, errlen, rc,
		                   "%s (whether the transaction committed is "
		                   "unknown: look before trying again)",
		                   why);
	if (rc != PGCONN_OK)
		return errbuf_code(err, errlen, rc, "%s", why);
	if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		PQclear(res);
		return errbuf_code(err, errlen, PGCONN_FAILED,
		                   "COMMIT: the transaction was rolled back");
	}
	PQclear(res);
	return PGCONN_OK;
}

void
pgconn_rollback(PGconn *conn)
{
	if (conn != NULL && PQstatus(conn) == CONNECTION_OK &&
	    PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
}

int
pgconn_schema_version(PGconn *conn, int64_t *version, char *err, size_t errlen)
{
	PGresult *res;
	char *end;
	const char *text;
	long long v;
	int rc;

	*version = 0;
	rc = pgconn_exec(conn, "the schema version",
	                 "SELECT to_regclass('authready_meta') IS NOT NULL", 0,
	                 NULL, NULL, NULL, &res, err, errlen);
	if (rc != PGCONN_OK)
		return rc;
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		PQclear(res);
		return PGCONN_OK;
	}
	PQclear(res);
	rc = pgconn_exec(conn, "the schema version",
	                 "SELECT value FROM authready_meta "
	                 "WHERE key = 'schema_version'",
	                 0, NULL, NULL, NULL, &res, err, errlen);
	if (rc != PGCONN_OK)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return errbuf_code(err, errlen, PGCONN_CONFIG,
		                   "authready_meta has no schema_version: "
		                   "not an authready schema");
	}
	text = PQgetvalue(res, 0, 0);
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < 1) {
		PQclear(res);
		return errbuf_code(err, errlen, PGCONN_CONFIG,
		                   "authready_meta's schema_version is not a "
		                   "version number");
	}
	PQclear(res);
	*version = (int64_t)v;
	return PGCONN_OK;
}

int
pgconn_check_schema(PGconn *conn, char *err, size_t errlen)
{
	int64_t version;
	int rc;

	if ((rc = pgconn_schema_version(conn, &version, err, errlen)) != 0)
		return rc;
	if (version > PGSCHEMA_VERSION)
		return errbuf_code(err, errlen, PGCONN_CONFIG,
		                   "schema version %" PRId64
		                   " is newer than this authready (%d): "
		                   "upgrade authready",
		                   version, PGSCHEMA_VERSION);
	if (version == 0)
		return errbuf_code(err, errlen, PGCONN_CONFIG,
		                   "the database has no authready schema: run "
		                   "authready db init");
	if (version < PGSCHEMA_VERSION)
		return errbuf_code(err, errlen, PGCONN_CONFIG,
		                   "schema version %" PRId64
		                   " is older than this authready (%d): run "
		                   "authready db migrate",
		                   version, PGSCHEMA_VERSION);
	return PGCONN_OK;
}

int
pgconn_host_name(const struct config *cfg, char *buf, size_t len, char *err,
                 size_t errlen)
{
	if (cfg->host_name[0] != '\0') {
		if (strlen(cfg->host_name) >= len)
			return errbuf_fail(err, errlen, "HostName is too long");
		memcpy(buf, cfg->host_name, strlen(cfg->host_name) + 1);
		return 0;
	}
	if (len == 0 || gethostname(buf, len) != 0)
		return errbuf_fail(err, errlen, "gethostname: %s",
		                   strerror(errno));
	buf[len - 1] = '\0';
	return 0;
}
