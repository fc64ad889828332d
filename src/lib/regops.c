/*
 * regops.c - the registry operations every door shares (the CLI, the API).
 *
 * SYNOPSIS
 *	int regops_store_open(cfg, flags, opts, absent, st, err, errlen);
 *	int regops_add(env, reg, res, err, errlen);
 *	int regops_remove(env, domain, res, err, errlen);
 *	int regops_lookup(st, domain, reg, unregistered, err, errlen);
 *	void regops_summary(st, domain, now, s, summary, len);
 *	int regops_request_check(env, domain, res, err, errlen);
 *
 * DESCRIPTION
 *	With StoreDSN, add and remove write to PostgreSQL first (pgreg.c:
 *	one transaction with its clock version and NOTIFY; a tombstone on
 *	remove), and PostgreSQL decides whether a domain is registered; the
 *	local store then gets the same write, so a single host with
 *	StoreDSN works without a replica.  Without it the local store
 *	decides.  remove refuses while mail is held for the domain (this
 *	host's own: checked before PostgreSQL is touched), so nothing is
 *	lost silently; a domain registered here before StoreDSN but absent
 *	from PostgreSQL is still removed here (res->pg_missing says so).
 *	These are the one place a domain is registered and the one place it
 *	is removed.
 *
 *	request_check moves a domain's next check to now: the checkers (the
 *	daemon's checker thread, `authready checkerd`, a `refresh --due`
 *	from cron) take it at their next due round.  A domain never
 *	checked is due already.
 *
 * DIAGNOSTICS
 *	A status of enum regops_status with a sentence in err.  A
 *	PostgreSQL failure keeps its pgconn status in res->pg_status; one
 *	before the commit says that nothing was registered or removed.
 */
#include "regops.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "errbuf.h"
#include "pgconn.h"
#include "pgreg.h"
#include "state.h"

/* regops_store_absent - no store yet: no StateDir, or no data.mdb in a
 * StateDir that store_open would accept (else it says what is wrong). */
static bool
regops_store_absent(const char *dir)
{
	char path[PATH_MAX];
	struct stat sb;

	if (stat(dir, &sb) != 0)
		return errno == ENOENT;
	if (!S_ISDIR(sb.st_mode) || (sb.st_mode & S_IWOTH) != 0 ||
	    (size_t)snprintf(path, sizeof(path), "%s/data.mdb", dir) >=
	        sizeof(path))
		return false;
	return lstat(path, &sb) != 0 && errno == ENOENT;
}

int
regops_store_open(const struct config *cfg, unsigned flags,
                  const struct store_opts *opts, bool *absent,
                  struct store **st, char *err, size_t errlen)
{
	char why[1024];
	int rc;

	*st = NULL;
	if (absent != NULL) {
		*absent = regops_store_absent(cfg->state_dir);
		if (*absent)
			return STORE_OK;
	}
	if ((rc = store_open(cfg->state_dir, flags, opts, st, why,
	                     sizeof(why))) != STORE_OK) {
		*st = NULL;
		snprintf(err, errlen, "state store %s: %s", cfg->state_dir,
		         why);
		return rc == STORE_OK ? -1 : rc;
	}
	return STORE_OK;
}

/* regops_open - env's store, or one opened now (*opened set). */
static int
regops_open(const struct regops_env *env, unsigned flags, bool *absent,
            struct store **st, bool *opened, char *err, size_t errlen)
{
	*opened = false;
	if (absent != NULL)
		*absent = false;
	if (env->st != NULL) {
		*st = env->st;
		return STORE_OK;
	}
	if (regops_store_open(env->cfg, flags, env->opts, absent, st, err,
	                      errlen) != STORE_OK)
		return -1;
	*opened = *st != NULL;
	return STORE_OK;
}

/* regops_close - close a store regops_open opened. */
static void
regops_close(struct store *st, bool opened)
{
	if (opened)
		store_close(st);
}

/* regops_pg - connect to StoreDSN and check the schema. */
static int
regops_pg(const struct regops_env *env, PGconn **conn,
          struct regops_result *res, char *err, size_t errlen)
{
	int rc;

	*conn = NULL;
	if ((rc = pgconn_open(env->cfg, conn, err, errlen)) != PGCONN_OK) {
		*conn = NULL;
		res->pg_status = rc;
		return REGOPS_PG;
	}
	if ((rc = pgconn_check_schema(*conn, err, errlen)) != PGCONN_OK) {
		PQfinish(*conn);
		*conn = NULL;
		res->pg_status = rc;
		return REGOPS_PG;
	}
	return REGOPS_OK;
}

/* regops_pg_fail - end the transaction; REGOPS_PG with err.  committing:
 * the connection may have gone during COMMIT, so whether the write
 * happened is unknown (pgreg_commit's message says so). */
static int
regops_pg_fail(PGconn *conn, int status, struct regops_result *res, char *err,
               size_t errlen, bool committing)
{
	size_t used = strlen(err);

	pgconn_rollback(conn);
	PQfinish(conn);
	if (status == PGCONN_DOWN && !committing)
		snprintf(err + used, errlen > used ? errlen - used : 0, "%s",
		         "; nothing was registered or removed");
	res->pg_status = status;
	return REGOPS_PG;
}

/* regops_pg_add - register reg in PostgreSQL, in one transaction. */
static int
regops_pg_add(const struct regops_env *env, const struct domain_reg *reg,
              struct regops_result *res, char *err, size_t errlen)
{
	PGconn *conn = NULL;
	int64_t version;
	int rc;

	if ((rc = regops_pg(env, &conn, res, err, errlen)) != REGOPS_OK)
		return rc;
	if ((rc = pgreg_begin(conn, &version, err, errlen)) != 0 ||
	    (rc = pgreg_put(conn, version, reg, err, errlen)) < 0)
		return regops_pg_fail(conn, rc, res, err, errlen, false);
	if (rc == PGREG_EXISTS) {
		pgconn_rollback(conn);
		PQfinish(conn);
		return REGOPS_EXISTS;
	}
	if ((rc = pgreg_commit(conn, version, err, errlen)) != 0)
		return regops_pg_fail(conn, rc, res, err, errlen, true);
	PQfinish(conn);
	return REGOPS_OK;
}

/* regops_pg_remove - tombstone domain in PostgreSQL; REGOPS_ABSENT when
 * PostgreSQL does not have it. */
static int
regops_pg_remove(const struct regops_env *env, const char *domain,
                 struct regops_result *res, char *err, size_t errlen)
{
	PGconn *conn = NULL;
	int64_t version;
	int rc;

	if ((rc = regops_pg(env, &conn, res, err, errlen)) != REGOPS_OK)
		return rc;
	if ((rc = pgreg_begin(conn, &version, err, errlen)) != 0 ||
	    (rc = pgreg_del(conn, version, domain, err, errlen)) < 0)
		return regops_pg_fail(conn, rc, res, err, errlen, false);
	if (rc == PGREG_ABSENT) {
		pgconn_rollback(conn);
		PQfinish(conn);
		return REGOPS_ABSENT;
	}
	if ((rc = pgreg_commit(conn, version, err, errlen)) != 0)
		return regops_pg_fail(conn, rc, res, err, errlen, true);
	PQfinish(conn);
	return REGOPS_OK;
}

int
regops_add(const struct regops_env *env, const struct domain_reg *reg,
           struct regops_result *res, char *err, size_t errlen)
{
	struct domain_reg old;
	struct store *st;
	char why[512];
	bool opened, pg = env->cfg->store_dsn[0] != '\0';
	int rc;

	memset(res, 0, sizeof(*res));
	/* PostgreSQL decides whether it is registered; the store follows. */
	if (pg && (rc = regops_pg_add(env, reg, res, err, errlen)) != 0)
		return rc;
	if (regops_open(env, STORE_CREATE, NULL, &st, &opened, err, errlen) !=
	    STORE_OK)
		return REGOPS_STORE;
	rc = pg ? STORE_NOTFOUND
	        : store_reg_get(st, reg->domain, &old, why, sizeof(why));
	if (rc == STORE_OK) {
		regops_close(st, opened);
		return REGOPS_EXISTS;
	}
	rc = store_reg_put(st, reg, err, errlen);
	regops_close(st, opened);
	return rc == STORE_OK ? REGOPS_OK : REGOPS_STORE;
}

/* regops_count_held - held-mail entries, counted. */
static int
regops_count_held(void *ctx, const struct held_msg *msg)
{
	(void)msg;
	(*(size_t *)ctx)++;
	return 0;
}

int
regops_remove(const struct regops_env *env, const char *domain,
              struct regops_result *res, char *err, size_t errlen)
{
	struct domain_reg reg;
	struct store *st;
	char why[512];
	bool absent, opened, pg = env->cfg->store_dsn[0] != '\0';
	int rc, pgrc;

	memset(res, 0, sizeof(*res));
	if (regops_open(env, 0, &absent, &st, &opened, err, errlen) != STORE_OK)
		return REGOPS_STORE;
	/* With StoreDSN, PostgreSQL says whether it is registered. */
	rc = st == NULL ? STORE_NOTFOUND
	                : store_reg_get(st, domain, &reg, why, sizeof(why));
	if (rc == STORE_NOTFOUND && !pg) {
		regops_close(st, opened);
		return REGOPS_ABSENT;
	}
	if (st != NULL &&
	    store_held_list(st, domain, regops_count_held, &res->held, why,
	                    sizeof(why)) == STORE_OK &&
	    res->held > 0) {
		regops_close(st, opened);
		return REGOPS_HELD;
	}
	/* Held mail is this host's own: checked above, before PostgreSQL. */
	if (pg && (pgrc = regops_pg_remove(env, domain, res, err, errlen)) !=
	              REGOPS_OK) {
		/* Registered here before StoreDSN: still removed here. */
		if (pgrc == REGOPS_ABSENT && rc == STORE_OK) {
			res->pg_missing = true;
		} else {
			regops_close(st, opened);
			return pgrc;
		}
	}
	if (st == NULL)
		return REGOPS_OK;
	rc = store_reg_del(st, domain, err, errlen);
	if (rc == STORE_OK || rc == STORE_NOTFOUND)
		rc = store_state_del(st, domain, err, errlen);
	regops_close(st, opened);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return REGOPS_STORE;
	return REGOPS_OK;
}

int
regops_lookup(struct store *st, const char *domain, struct domain_reg *reg,
              bool *unregistered, char *err, size_t errlen)
{
	static _Thread_local struct domain_state state;
	int rc;

	if (unregistered != NULL)
		*unregistered = false;
	if (st == NULL)
		return STORE_NOTFOUND;
	rc = store_reg_get(st, domain, reg, err, errlen);
	if (rc == STORE_NOTFOUND && unregistered != NULL) {
		rc = store_state_get(st, domain, &state, err, errlen);
		if (rc == STORE_OK || rc == STORE_CORRUPT) {
			memset(reg, 0, sizeof(*reg));
			snprintf(reg->domain, sizeof(reg->domain), "%s",
			         domain);
			reg->dmarc_min_policy = -1;
			*unregistered = true;
			return STORE_OK;
		}
	}
	return rc;
}

void
regops_summary(struct store *st, const char *domain, int64_t now,
               struct domain_state *s, char *summary, size_t len)
{
	char err[512];
	int rc;

	rc = store_state_get(st, domain, s, err, sizeof(err));
	if (rc != STORE_OK) {
		memset(s, 0, sizeof(*s));
		snprintf(s->domain, sizeof(s->domain), "%s", domain);
	}
	if (rc == STORE_CORRUPT)
		snprintf(summary, len,
		         "the stored state is unreadable (%s); the next check "
		         "replaces it",
		         err);
	else if (rc != STORE_OK)
		snprintf(summary, len,
		         "never checked; run authready refresh %s", domain);
	else
		state_describe(s, now, summary, len);
}

/* regops_pg_due - the domain's next check in PostgreSQL moved to now;
 * REGOPS_ABSENT when PostgreSQL does not have it registered. */
static int
regops_pg_due(const struct regops_env *env, const char *domain,
              struct regops_result *res, char *err, size_t errlen)
{
	const char *values[1] = {domain};
	PGconn *conn = NULL;
	PGresult *pr;
	int rc, n;

	if ((rc = regops_pg(env, &conn, res, err, errlen)) != REGOPS_OK)
		return rc;
	rc = pgconn_exec(conn, "asking for a check",
	                 "INSERT INTO authready_checks (domain) "
	                 "SELECT r.domain FROM authready_registry r "
	                 "WHERE r.domain = $1 AND NOT r.deleted "
	                 "ON CONFLICT (domain) DO UPDATE "
	                 "SET next_check = '-infinity'",
	                 1, values, NULL, NULL, &pr, err, errlen);
	if (rc != PGCONN_OK) {
		PQfinish(conn);
		res->pg_status = rc;
		return REGOPS_PG;
	}
	n = atoi(PQcmdTuples(pr));
	PQclear(pr);
	PQfinish(conn);
	return n > 0 ? REGOPS_OK : REGOPS_ABSENT;
}

int
regops_request_check(const struct regops_env *env, const char *domain,
                     struct regops_result *res, char *err, size_t errlen)
{
	struct store_batch *b;
	struct domain_state s;
	struct domain_reg reg;
	struct store *st;
	bool absent, opened, unregistered, pg = env->cfg->store_dsn[0] != '\0';
	int rc, pgrc = REGOPS_ABSENT;

	memset(res, 0, sizeof(*res));
	if (pg &&
	    (pgrc = regops_pg_due(env, domain, res, err, errlen)) !=
	        REGOPS_OK &&
	    pgrc != REGOPS_ABSENT)
		return pgrc;
	if (regops_open(env, 0, &absent, &st, &opened, err, errlen) != STORE_OK)
		return REGOPS_STORE;
	rc = regops_lookup(st, domain, &reg, &unregistered, err, errlen);
	if (rc == STORE_NOTFOUND) {
		regops_close(st, opened);
		return pgrc;
	}
	if (rc != STORE_OK) {
		regops_close(st, opened);
		return REGOPS_STORE;
	}
	if (store_batch_begin(st, &b, err, errlen) != STORE_OK) {
		regops_close(st, opened);
		return REGOPS_STORE;
	}
	rc = store_batch_get_state(b, domain, &s, err, errlen);
	if (rc == STORE_OK) {
		state_request_now(&s);
		rc = store_batch_put_state(b, &s, err, errlen);
	} else if (rc == STORE_NOTFOUND || rc == STORE_CORRUPT) {
		rc = STORE_OK; /* never checked, or unreadable: due already */
	}
	if (rc == STORE_OK)
		rc = store_batch_commit(b, err, errlen);
	else
		store_batch_abort(b);
	regops_close(st, opened);
	return rc == STORE_OK ? REGOPS_OK : REGOPS_STORE;
}
