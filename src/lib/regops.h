/*
 * regops.h - the registry operations every door shares (the CLI, the API).
 *
 * SYNOPSIS
 *	#include "regops.h"
 *
 *	The functions: see regops.c.
 *
 * DESCRIPTION
 *	authready(1) and authready-api(8) register, remove, look up and
 *	re-check domains through these functions, so both write through the
 *	same path (PostgreSQL first with StoreDSN, then the local store) and
 *	refuse the same things.  The callers turn a status into their own
 *	words (an exit code, an HTTP problem).
 */
#ifndef AUTHREADY_REGOPS_H
#define AUTHREADY_REGOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "configfile.h"
#include "domain.h"
#include "store.h"
#include "zonelines.h"

#define REGOPS_ERR_MAX 2048
#define REGOPS_IMPORT_BATCH 1000 /* entries per write transaction */

enum regops_status {
	REGOPS_OK = 0,
	REGOPS_EXISTS,  /* add: registered already */
	REGOPS_ABSENT,  /* not registered (and no state, where allowed) */
	REGOPS_HELD,    /* remove: mail is held for the domain */
	REGOPS_STORE,   /* the local store failed: err */
	REGOPS_PG,      /* PostgreSQL failed: err, pg_status */
	REGOPS_INVALID, /* bad input: err */
};

/* Where the operations work: the config, and the local store when the
 * caller keeps one open (NULL: each call opens and closes it). */
struct regops_env {
	const struct config *cfg;
	struct store *st;
	const struct store_opts *opts; /* for the stores opened here */
};

struct regops_result {
	int pg_status;   /* enum pgconn_status with REGOPS_PG */
	size_t held;     /* REGOPS_HELD: the messages held */
	bool pg_missing; /* remove: PostgreSQL did not have it (removed here) */
};

/*
 * regops_store_open - the store of cfg->state_dir; with absent non-NULL
 * a store not made yet (no StateDir, or no data.mdb in it) is NULL with
 * *absent set and STORE_OK.  STORE_OK with *st, else a store status with
 * "state store DIR: why" in err.
 */
int regops_store_open(const struct config *cfg, unsigned flags,
                      const struct store_opts *opts, bool *absent,
                      struct store **st, char *err, size_t errlen);

/* regops_add - register reg (validated: regimport_validate); a status. */
int regops_add(const struct regops_env *env, const struct domain_reg *reg,
               struct regops_result *res, char *err, size_t errlen);

/* regops_remove - unregister domain (normalized) and drop its state,
 * refused while mail is held for it; a status. */
int regops_remove(const struct regops_env *env, const char *domain,
                  struct regops_result *res, char *err, size_t errlen);

/*
 * regops_lookup - the entry of domain (normalized) in st (NULL: no store
 * yet); with unregistered non-NULL also an unregistered domain that has
 * a state (*unregistered set; reg holds only the domain).  STORE_OK,
 * STORE_NOTFOUND, or another store status with err.
 */
int regops_lookup(struct store *st, const char *domain, struct domain_reg *reg,
                  bool *unregistered, char *err, size_t errlen);

/*
 * regops_summary - the state of domain (zeroed with the domain when there
 * is none) and its summary in words, as `authready status` shows it.
 */
void regops_summary(struct store *st, const char *domain, int64_t now,
                    struct domain_state *s, char *summary, size_t len);

/* What an import did. */
struct regops_import_stats {
	bool started;     /* the store (and PostgreSQL) were opened */
	bool header;      /* a header line was read */
	size_t committed; /* entries registered (their batch committed) */
	size_t bad;       /* bad lines, each told through say */
};

/* regops_say - one sentence for the operator (a bad line, a failure). */
typedef void (*regops_say)(void *ctx, const char *msg);

/*
 * regops_import - register the domains of CSV text (`authready domain
 * import`): a header naming the columns, then a row per domain; a bad row
 * is told through say and skipped; every REGOPS_IMPORT_BATCH entries are
 * committed (PostgreSQL first with StoreDSN).  REGOPS_OK (stats->bad
 * counts the bad lines; no header: stats->header false), REGOPS_INVALID
 * (an unusable header, told through say), or a failure status: before
 * stats->started with err, after it told through say.
 */
int regops_import(const struct regops_env *env, const char *buf, size_t len,
                  regops_say say, void *ctx, struct regops_import_stats *stats,
                  struct regops_result *res, char *err, size_t errlen);

/*
 * regops_check_keys - every key file of reg holds a usable private key
 * (last_ok: the path that did last time, skipped; updated); 0, or -1
 * with why.
 */
int regops_check_keys(const struct domain_reg *reg, char *last_ok,
                      size_t lastlen, char *why, size_t whylen);

/* regops_records - the zone lines reg must publish, with the config's
 * defaults (`authready records`); 0, or -1 with err. */
int regops_records(const struct config *cfg, const struct domain_reg *reg,
                   struct zonelines_set *set, char *err, size_t errlen);

/*
 * regops_request_check - ask the checkers to check domain (registered, or
 * an unregistered one with a state) at their next round: its next check
 * is moved to now, in PostgreSQL with StoreDSN and in the local store.
 * REGOPS_OK, REGOPS_ABSENT, or a failure status with err.
 */
int regops_request_check(const struct regops_env *env, const char *domain,
                         struct regops_result *res, char *err, size_t errlen);

#endif
