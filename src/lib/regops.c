/*
 * regops.c - the registry operations every door shares (the CLI, the API).
 *
 * SYNOPSIS
 *	int regops_store_open(cfg, flags, opts, absent, st, err, errlen);
 *	int regops_add(env, reg, res, err, errlen);
 *	int regops_remove(env, domain, res, err, errlen);
 *	int regops_lookup(st, domain, reg, unregistered, err, errlen);
 *	void regops_summary(st, domain, now, s, summary, len);
 *	int regops_records(cfg, reg, set, err, errlen);
 *	int regops_request_check(env, domain, res, err, errlen);
 *	int regops_import(env, buf, len, say, ctx, stats, res, err, errlen);
 *	int regops_check_keys(reg, last_ok, lastlen, why, whylen);
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
 *	import reads CSV (regimport.c: a header, then a row per domain);
 *	each row is judged as add judges a domain, a bad one is told and
 *	skipped, and the good ones are committed in batches of
 *	REGOPS_IMPORT_BATCH (with StoreDSN each batch is one PostgreSQL
 *	transaction, committed before the store's).
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

#include "csv.h"
#include "errbuf.h"
#include "outbox.h"
#include "pgconn.h"
#include "pgoutbox.h"
#include "pgreg.h"
#include "readiness.h"
#include "regimport.h"
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

/* regops_pg_removed - with WebhookURL, the "removed" event of domain
 * into the fleet's outbox, in the removal's transaction (the previous
 * state is PostgreSQL's, read before the removal). */
static int
regops_pg_removed(const struct regops_env *env, PGconn *conn,
                  const char *domain, char *err, size_t errlen)
{
	struct webhook_event ev = {.type = WEBHOOK_REMOVED, .domain = domain};
	const char *values[1] = {domain};
	PGresult *pr;
	char *body;
	size_t len;
	int rc, s;

	if (!outbox_enabled(env->cfg))
		return PGCONN_OK;
	rc = pgconn_exec(conn, "reading the state",
	                 "SELECT readiness FROM authready_state "
	                 "WHERE domain = $1 AND NOT deleted",
	                 1, values, NULL, NULL, &pr, err, errlen);
	if (rc != PGCONN_OK)
		return rc;
	for (s = READINESS_UNKNOWN; PQntuples(pr) == 1 && s <= READINESS_FAILED;
	     s++)
		if (strcmp(PQgetvalue(pr, 0, 0),
		           state_readiness_name((enum domain_readiness)s)) == 0)
			ev.previous = s;
	PQclear(pr);
	ev.state = ev.previous;
	if ((body = outbox_event_json(&ev, &len, err, errlen)) == NULL)
		return PGCONN_FAILED;
	rc = pgoutbox_put(conn, domain, body, err, errlen);
	free(body);
	return rc;
}

/* regops_pg_remove - tombstone domain in PostgreSQL (with its webhook
 * event); REGOPS_ABSENT when PostgreSQL does not have it. */
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
	    (rc = regops_pg_removed(env, conn, domain, err, errlen)) != 0 ||
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
	/* The entry, the state and the "removed" webhook event: one
	 * transaction.  With StoreDSN the event went to PostgreSQL's
	 * outbox with the removal, unless only this host had it. */
	rc = outbox_domain_remove(st, pg && !res->pg_missing ? NULL : env->cfg,
	                          domain, err, errlen);
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

int
regops_records(const struct config *cfg, const struct domain_reg *reg,
               struct zonelines_set *set, char *err, size_t errlen)
{
	struct zonelines_defaults defs;
	const char *egress[CONFIG_EGRESS_MAX];
	size_t i;

	for (i = 0; i < cfg->egress.count; i++)
		egress[i] = cfg->egress.ip[i];
	memset(&defs, 0, sizeof(defs));
	defs.mail_from = cfg->mail_from;
	defs.mx_host = cfg->mx_host;
	defs.spf_include = cfg->spf_include;
	defs.egress = egress;
	defs.negress = cfg->egress.count;
	defs.dmarc_min_policy = cfg->dmarc_min_policy;
	defs.selector = cfg->selector;
	defs.key_file = cfg->key_file;
	return zonelines_build(reg, &defs, set, err, errlen);
}

/* regops_pg_due - the domain's next check in PostgreSQL moved to now
 * (its row in authready_checks made, were it missing), under the
 * clock's lock: a removal committing meanwhile cannot leave a row for
 * a domain no longer registered; REGOPS_ABSENT when PostgreSQL does
 * not have it registered. */
static int
regops_pg_due(const struct regops_env *env, const char *domain,
              struct regops_result *res, char *err, size_t errlen)
{
	PGconn *conn = NULL;
	int rc, found;

	if ((rc = regops_pg(env, &conn, res, err, errlen)) != REGOPS_OK)
		return rc;
	rc = pgreg_check_row(conn, domain, true, &found, err, errlen);
	PQfinish(conn);
	if (rc != PGCONN_OK) {
		res->pg_status = rc;
		return REGOPS_PG;
	}
	return found != PGREG_ROW_UNREGISTERED ? REGOPS_OK : REGOPS_ABSENT;
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

int
regops_check_keys(const struct domain_reg *reg, char *last_ok, size_t lastlen,
                  char *why, size_t whylen)
{
	char value[ZONELINES_VALUE_MAX];
	size_t i;

	for (i = 0; i < reg->nselectors; i++) {
		struct readiness_selector sel;
		const char *path = reg->selectors[i].key_path;
		int rc;

		if (path[0] == '\0' || strcmp(path, last_ok) == 0)
			continue;
		memset(&sel, 0, sizeof(sel));
		if (readiness_load_key(&sel, path, why, whylen) != 0)
			return -1;
		rc = zonelines_dkim_value(sel.key_pem, sel.key_pem_len, value,
		                          sizeof(value), why, whylen);
		free(sel.key_pem);
		if (rc != 0)
			return -1;
		snprintf(last_ok, lastlen, "%s", path);
	}
	return 0;
}

struct regops_import {
	const struct regops_env *env;
	regops_say say;
	void *ctx;
	struct store *st;
	struct store_batch *batch;
	struct regimport_columns cols;
	struct regimport_seen seen;
	struct regimport_defaults defs;
	char last_key[PATH_MAX];
	size_t added, bad, pending;
	size_t committed; /* of added, those whose batch was committed */
	PGconn *pg;       /* StoreDSN: each batch is also a transaction */
	int64_t version;  /* of the PostgreSQL transaction */
	int pg_status;    /* a pgconn status that stopped the import */
};

/* regops_import_begin - a store batch, and with StoreDSN a transaction. */
static int
regops_import_begin(struct regops_import *im, char *err, size_t errlen)
{
	int rc;

	if (store_batch_begin(im->st, &im->batch, err, errlen) != 0) {
		im->batch = NULL;
		return -1;
	}
	if (im->pg != NULL &&
	    (rc = pgreg_begin(im->pg, &im->version, err, errlen)) != 0) {
		store_batch_abort(im->batch);
		im->batch = NULL;
		im->pg_status = rc;
		return -1;
	}
	return 0;
}

/* regops_import_commit - PostgreSQL first (it is the truth), then the
 * store; a failed commit abandons both. */
static int
regops_import_commit(struct regops_import *im, char *err, size_t errlen)
{
	int rc;

	if (im->pg != NULL &&
	    (rc = pgreg_commit(im->pg, im->version, err, errlen)) != 0) {
		store_batch_abort(im->batch);
		im->batch = NULL;
		im->pg_status = rc;
		return -1;
	}
	rc = store_batch_commit(im->batch, err, errlen);
	im->batch = NULL;
	return rc != 0 ? -1 : 0;
}

/* regops_import_abort - abandon the batch and the transaction. */
static void
regops_import_abort(struct regops_import *im)
{
	if (im->batch != NULL)
		store_batch_abort(im->batch);
	im->batch = NULL;
	pgconn_rollback(im->pg);
}

/* regops_import_row - validate one row and queue it; 0 ok, -1 bad line,
 * -2 the import cannot go on. */
static int
regops_import_row(struct regops_import *im, const struct csv_record *rec)
{
	char err[REGIMPORT_ERR_MAX + PATH_MAX], why[PATH_MAX + 128];
	struct domain_reg reg, old;

	if (regimport_row(&im->cols, rec, (int64_t)time(NULL), &reg, err,
	                  sizeof(err)) != 0 ||
	    regimport_seen_add(&im->seen, reg.domain, rec->line, err,
	                       sizeof(err)) != 0)
		goto bad;
	if (regimport_validate(&reg, &im->defs, why, sizeof(why)) != 0) {
		snprintf(err, sizeof(err), "line %zu: %s: %s", rec->line,
		         reg.domain, why);
		goto bad;
	}
	if (regops_check_keys(&reg, im->last_key, sizeof(im->last_key), why,
	                      sizeof(why)) != 0) {
		snprintf(err, sizeof(err), "line %zu: %s", rec->line, why);
		goto bad;
	}
	/* With StoreDSN, PostgreSQL says whether it is registered. */
	if (im->pg == NULL && store_reg_get(im->st, reg.domain, &old, why,
	                                    sizeof(why)) == STORE_OK) {
		snprintf(err, sizeof(err), "line %zu: %s is already registered",
		         rec->line, reg.domain);
		goto bad;
	}
	if (im->batch == NULL &&
	    regops_import_begin(im, err, sizeof(err)) != 0) {
		im->say(im->ctx, err);
		return -2;
	}
	if (im->pg != NULL) {
		int rc = pgreg_put(im->pg, im->version, &reg, err, sizeof(err));

		if (rc < 0) {
			im->pg_status = rc;
			im->say(im->ctx, err);
			return -2;
		}
		if (rc == PGREG_EXISTS) {
			snprintf(err, sizeof(err),
			         "line %zu: %s is already registered",
			         rec->line, reg.domain);
			goto bad;
		}
	}
	if (store_batch_put_reg(im->batch, &reg, err, sizeof(err)) != 0) {
		im->say(im->ctx, err);
		return -2;
	}
	im->added++;
	if (++im->pending >= REGOPS_IMPORT_BATCH) {
		im->pending = 0;
		if (regops_import_commit(im, err, sizeof(err)) != 0) {
			im->say(im->ctx, err);
			return -2;
		}
		im->committed = im->added;
	}
	return 0;
bad:
	im->say(im->ctx, err);
	im->bad++;
	return -1;
}

/* regops_import_open - PostgreSQL (with StoreDSN) and the store. */
static int
regops_import_open(struct regops_import *im, bool *opened,
                   struct regops_result *res, char *err, size_t errlen)
{
	int rc;

	if (im->env->cfg->store_dsn[0] != '\0' &&
	    (rc = regops_pg(im->env, &im->pg, res, err, errlen)) != REGOPS_OK)
		return rc;
	if (regops_open(im->env, STORE_CREATE, NULL, &im->st, opened, err,
	                errlen) != STORE_OK) {
		PQfinish(im->pg);
		im->pg = NULL;
		return REGOPS_STORE;
	}
	return REGOPS_OK;
}

int
regops_import(const struct regops_env *env, const char *buf, size_t len,
              regops_say say, void *ctx, struct regops_import_stats *stats,
              struct regops_result *res, char *err, size_t errlen)
{
	static _Thread_local struct csv_record rec;
	struct regops_import im = {.env = env, .say = say, .ctx = ctx};
	struct csv_reader rd;
	char msg[CSV_ERR_MAX + REGIMPORT_ERR_MAX];
	bool opened;
	int rc, header = 0, fatal = 0, store_failed = 0;

	memset(stats, 0, sizeof(*stats));
	memset(res, 0, sizeof(*res));
	if ((rc = regops_import_open(&im, &opened, res, err, errlen)) !=
	    REGOPS_OK)
		return rc;
	stats->started = true;
	regimport_seen_init(&im.seen);
	im.defs.mail_from = env->cfg->mail_from;
	im.defs.selector = env->cfg->selector;
	csv_init(&rd, buf, len);
	while (!fatal && (rc = csv_next(&rd, &rec, msg, sizeof(msg))) != 0) {
		if (rc < 0) {
			say(ctx, msg);
			if (!header) {
				fatal =
				    1; /* without a header nothing is read */
				break;
			}
			im.bad++;
			continue;
		}
		if (!header) {
			/* A bad header: the text is unusable input. */
			if (regimport_header(&rec, &im.cols, msg,
			                     sizeof(msg)) != 0) {
				say(ctx, msg);
				fatal = 1;
			}
			header = 1;
			continue;
		}
		if (regops_import_row(&im, &rec) == -2)
			fatal = store_failed = 1;
	}
	if (im.batch != NULL) {
		if (fatal)
			regops_import_abort(&im);
		else if (regops_import_commit(&im, msg, sizeof(msg)) != 0) {
			say(ctx, msg);
			fatal = store_failed = 1;
		} else
			im.committed = im.added;
	}
	regimport_seen_free(&im.seen);
	regops_close(im.st, opened);
	PQfinish(im.pg);
	stats->header = header != 0 || fatal;
	stats->committed = im.committed;
	stats->bad = im.bad;
	res->pg_status = im.pg_status;
	if (im.pg_status != 0)
		return REGOPS_PG;
	if (fatal)
		return store_failed ? REGOPS_STORE : REGOPS_INVALID;
	return REGOPS_OK;
}
