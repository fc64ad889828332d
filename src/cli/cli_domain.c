/*
 * cli_domain.c - `authready domain add|remove|list|import|export`.
 *
 * SYNOPSIS
 *	int cli_domain(struct cli *cli);
 *
 * DESCRIPTION
 *	add validates every value before anything is written: the domain,
 *	the MAIL FROM name (the seed refuses the bare domain), selectors,
 *	key files (they must hold a usable private key; stored as absolute
 *	paths), hosts, egress addresses, the DMARC policy and the contact.
 *	remove deletes the registry entry and the state, and refuses while
 *	mail is held for the domain (nothing is lost silently).  list joins
 *	the registry with the state.  import reads CSV (see authready(1));
 *	export, which writes it, lives in cli_store.c.
 *
 *	With StoreDSN, add, remove and import write to PostgreSQL first
 *	(pgreg.c: one transaction with its clock version and NOTIFY; a
 *	tombstone on remove; an import commits every CLI_IMPORT_BATCH
 *	entries) and decide there whether a domain is registered; then the
 *	local store gets the same write, so a single host with StoreDSN
 *	works without a replica.  Reads stay local.
 *
 * DIAGNOSTICS
 *	0 done; 1 the domain exists (add) or is not registered (remove), or
 *	some import lines were bad (the others are registered); 64 usage,
 *	or an import file that cannot be read at all (unreadable, no or a
 *	bad header: nothing registered); 78 store or config trouble; with
 *	StoreDSN also 69 (PostgreSQL refused us) and 75 (it is down: nothing
 *	was written).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "csv.h"
#include "json.h"
#include "notify.h"
#include "outbox.h"
#include "pgreg.h"
#include "regimport.h"
#include "safefile.h"
#include "state.h"
#include "zonelines.h"

#define CLI_IMPORT_MAX (512 << 20) /* bytes of CSV */
#define CLI_IMPORT_BATCH 1000      /* entries per write transaction */

/* cli_domain_arg - the normalized DOMAIN argument at args[index]. */
static int
cli_domain_arg(struct cli *cli, size_t index, char *out, size_t outlen)
{
	char err[512];

	if (cli->nargs != index + 1)
		return cli_usage_error(cli, "usage: %s %s DOMAIN", cli->args[0],
		                       cli->nargs > 1 ? cli->args[1] : "");
	if (domain_normalize(cli->args[index], strlen(cli->args[index]), out,
	                     outlen, err, sizeof(err)) != 0)
		return cli_usage_error(cli, "invalid domain: %s", err);
	return 0;
}

/* cli_domain_key - validate a key file; store its absolute path. */
static int
cli_domain_key(struct cli *cli, const char *path, char *out, size_t outlen)
{
	struct readiness_selector sel;
	char abs[PATH_MAX], err[PATH_MAX + 128], value[ZONELINES_VALUE_MAX];
	int rc;

	memset(&sel, 0, sizeof(sel));
	if (realpath(path, abs) == NULL)
		return cli_usage_error(cli, "--key %s: %s", path,
		                       strerror(errno));
	if (strlen(abs) >= outlen)
		return cli_usage_error(cli, "--key %s: path too long", path);
	if (readiness_load_key(&sel, abs, err, sizeof(err)) != 0)
		return cli_usage_error(cli, "--key: %s", err);
	rc = zonelines_dkim_value(sel.key_pem, sel.key_pem_len, value,
	                          sizeof(value), err, sizeof(err));
	free(sel.key_pem);
	if (rc != 0)
		return cli_usage_error(cli, "--key %s: %s", path, err);
	memcpy(out, abs, strlen(abs) + 1);
	return 0;
}

/* cli_domain_set - one option through the shared setter; NULL: not given. */
static int
cli_domain_set(struct cli *cli, struct domain_reg *reg, enum regimport_col col,
               const char *opt, const char *value)
{
	char why[REGIMPORT_ERR_MAX];

	if (value == NULL)
		return 0;
	if (value[0] == '\0')
		return cli_usage_error(cli, "%s needs a value", opt);
	if (regimport_set(reg, col, value, strlen(value), why, sizeof(why)) !=
	    0)
		return cli_usage_error(cli, "%s '%s': %s", opt, value, why);
	return 0;
}

/* cli_domain_defaults - what the config gives an entry without a value. */
static struct regimport_defaults
cli_domain_defaults(const struct cli *cli)
{
	struct regimport_defaults defs = {
	    .mail_from = cli->cfg.mail_from,
	    .selector = cli->cfg.selector,
	};

	return defs;
}

/*
 * cli_domain_reg - a registry entry from the command line: each value
 * through the setter `domain import` uses, key files read, then the one
 * validation every way in shares (regimport_validate).
 */
static int
cli_domain_reg(struct cli *cli, struct domain_reg *reg)
{
	struct regimport_defaults defs = cli_domain_defaults(cli);
	char why[REGIMPORT_ERR_MAX], key[DOMAIN_KEY_PATH_MAX];
	size_t i;
	int rc;

	if (cli->nargs != 3)
		return cli_usage_error(cli, "usage: %s %s DOMAIN", cli->args[0],
		                       cli->args[1]);
	regimport_reg_init(reg, (int64_t)time(NULL));
	if (regimport_set(reg, REGIMPORT_DOMAIN, cli->args[2],
	                  strlen(cli->args[2]), why, sizeof(why)) != 0)
		return cli_usage_error(cli, "invalid domain: %s", why);
	if ((rc = cli_domain_set(cli, reg, REGIMPORT_MAIL_FROM, "--mail-from",
	                         cli->mail_from)))
		return rc;
	for (i = 0; i < cli->nselectors; i++) {
		const char *name = cli->selectors[i].name;

		key[0] = '\0';
		if (cli->selectors[i].key_file != NULL &&
		    (rc = cli_domain_key(cli, cli->selectors[i].key_file, key,
		                         sizeof(key))))
			return rc;
		if (regimport_add_selector(reg, name, strlen(name), key,
		                           strlen(key), why, sizeof(why)) != 0)
			return cli_usage_error(cli, "--selector: %s", why);
	}
	if ((rc = cli_domain_set(cli, reg, REGIMPORT_MX, "--mx",
	                         cli->mx_host)) ||
	    (rc = cli_domain_set(cli, reg, REGIMPORT_SPF_INCLUDE,
	                         "--spf-include", cli->spf_include)))
		return rc;
	for (i = 0; i < cli->negress; i++)
		if ((rc = cli_domain_set(cli, reg, REGIMPORT_EGRESS_IPS,
		                         "--egress-ip", cli->egress[i])))
			return rc;
	if ((rc =
	         cli_domain_set(cli, reg, REGIMPORT_DMARC_MIN_POLICY,
	                        "--dmarc-min-policy", cli->dmarc_min_policy)) ||
	    (rc = cli_domain_set(cli, reg, REGIMPORT_CONTACT, "--contact",
	                         cli->contact)))
		return rc;
	if (regimport_validate(reg, &defs, why, sizeof(why)) != 0)
		return cli_usage_error(cli, "%s: %s", reg->domain, why);
	return 0;
}

/* cli_pg_write_fail - end the transaction, print err; the exit code.
 * committing: the connection may have gone during COMMIT, so whether the
 * write happened is unknown (the message says so, pgreg_commit). */
static int
cli_pg_write_fail(struct cli *cli, PGconn *conn, int status, const char *err,
                  bool committing)
{
	pgconn_rollback(conn);
	PQfinish(conn);
	fprintf(stderr, "%s: %s%s\n", cli->progname, err,
	        status == PGCONN_DOWN && !committing
	            ? "; nothing was registered or removed"
	            : "");
	return pgconn_exit(status);
}

/*
 * cli_pg_add - register reg in PostgreSQL, in one transaction; 0 done,
 * else the exit code after a message (1: registered already).
 */
static int
cli_pg_add(struct cli *cli, const struct domain_reg *reg)
{
	char err[PGCONN_ERR_MAX];
	PGconn *conn;
	int64_t version;
	int rc;

	if ((rc = cli_pg_open(cli, &conn)) != 0)
		return rc;
	if ((rc = pgreg_begin(conn, &version, err, sizeof(err))) != 0 ||
	    (rc = pgreg_put(conn, version, reg, err, sizeof(err))) < 0)
		return cli_pg_write_fail(cli, conn, rc, err, false);
	if (rc == PGREG_EXISTS) {
		pgconn_rollback(conn);
		PQfinish(conn);
		fprintf(stderr,
		        "%s: %s is already registered; remove it "
		        "first to change it\n",
		        cli->progname, reg->domain);
		return CLI_EXIT_FAILURE;
	}
	if ((rc = pgreg_commit(conn, version, err, sizeof(err))) != 0)
		return cli_pg_write_fail(cli, conn, rc, err, true);
	PQfinish(conn);
	return 0;
}

/*
 * cli_pg_remove - tombstone domain in PostgreSQL; 0 done, 1 (no message)
 * when PostgreSQL does not have it, else the exit code after a message.
 */
static int
cli_pg_remove(struct cli *cli, const char *domain)
{
	char err[PGCONN_ERR_MAX];
	PGconn *conn;
	int64_t version;
	int rc;

	if ((rc = cli_pg_open(cli, &conn)) != 0)
		return rc;
	if ((rc = pgreg_begin(conn, &version, err, sizeof(err))) != 0 ||
	    (rc = pgreg_del(conn, version, domain, err, sizeof(err))) < 0)
		return cli_pg_write_fail(cli, conn, rc, err, false);
	if (rc == PGREG_ABSENT) {
		pgconn_rollback(conn);
		PQfinish(conn);
		return 1;
	}
	if ((rc = pgreg_commit(conn, version, err, sizeof(err))) != 0)
		return cli_pg_write_fail(cli, conn, rc, err, true);
	PQfinish(conn);
	return 0;
}

static int
cli_domain_add(struct cli *cli)
{
	struct domain_reg reg, old;
	struct store *st;
	char err[512];
	bool pg = cli->cfg.store_dsn[0] != '\0';
	int rc;

	memset(&reg, 0, sizeof(reg));
	if ((rc = cli_domain_reg(cli, &reg)) != 0)
		return rc;
	/* PostgreSQL decides whether it is registered; the store follows. */
	if (pg && (rc = cli_pg_add(cli, &reg)) != 0)
		return rc;
	if ((st = cli_store_open(cli, STORE_CREATE, NULL)) == NULL)
		return CLI_EXIT_CONFIG;
	rc = pg ? STORE_NOTFOUND
	        : store_reg_get(st, reg.domain, &old, err, sizeof(err));
	if (rc == STORE_OK) {
		store_close(st);
		fprintf(stderr,
		        "%s: %s is already registered; remove it "
		        "first to change it\n",
		        cli->progname, reg.domain);
		return CLI_EXIT_FAILURE;
	}
	if (store_reg_put(st, &reg, err, sizeof(err)) != STORE_OK) {
		store_close(st);
		fprintf(stderr, "%s: %s\n", cli->progname, err);
		return CLI_EXIT_CONFIG;
	}
	store_close(st);
	printf("%s registered; publish its records (authready records %s), "
	       "then run authready refresh %s\n",
	       reg.domain, reg.domain, reg.domain);
	return 0;
}

/* cli_count_held - held-mail entries, counted. */
static int
cli_count_held(void *ctx, const struct held_msg *msg)
{
	(void)msg;
	(*(size_t *)ctx)++;
	return 0;
}

static int
cli_domain_remove(struct cli *cli)
{
	char domain[DOMAIN_BUF], err[512];
	struct domain_reg reg;
	struct store *st;
	size_t held = 0;
	bool absent, pg = cli->cfg.store_dsn[0] != '\0';
	int rc, pgrc;

	if ((rc = cli_domain_arg(cli, 2, domain, sizeof(domain))) != 0)
		return rc;
	if ((st = cli_store_open(cli, 0, &absent)) == NULL && !absent)
		return CLI_EXIT_CONFIG;
	/* With StoreDSN, PostgreSQL says whether it is registered. */
	rc = st == NULL ? STORE_NOTFOUND
	                : store_reg_get(st, domain, &reg, err, sizeof(err));
	if (rc == STORE_NOTFOUND && !pg) {
		store_close(st);
		fprintf(stderr, "%s: %s is not registered\n", cli->progname,
		        domain);
		return CLI_EXIT_FAILURE;
	}
	if (st != NULL &&
	    store_held_list(st, domain, cli_count_held, &held, err,
	                    sizeof(err)) == STORE_OK &&
	    held > 0) {
		store_close(st);
		fprintf(stderr,
		        "%s: %zu message(s) are held for %s; release or delete "
		        "them before removing the domain\n",
		        cli->progname, held, domain);
		return CLI_EXIT_FAILURE;
	}
	/* Held mail is this host's own: checked above, before PostgreSQL. */
	if (pg && (pgrc = cli_pg_remove(cli, domain)) != 0) {
		/* Registered here before StoreDSN: still removed here. */
		if (pgrc == 1 && rc == STORE_OK) {
			fprintf(stderr,
			        "%s: %s is not registered in PostgreSQL; "
			        "removing it from this host's store\n",
			        cli->progname, domain);
		} else {
			store_close(st);
			if (pgrc == 1)
				fprintf(stderr, "%s: %s is not registered\n",
				        cli->progname, domain);
			return pgrc == 1 ? CLI_EXIT_FAILURE : pgrc;
		}
	}
	if (st == NULL) {
		printf("%s removed\n", domain);
		return 0;
	}
	rc = outbox_domain_remove(st, &cli->cfg, domain, err, sizeof(err));
	store_close(st);
	if (rc != STORE_OK && rc != STORE_NOTFOUND) {
		fprintf(stderr, "%s: %s\n", cli->progname, err);
		return CLI_EXIT_CONFIG;
	}
	printf("%s removed\n", domain);
	return 0;
}

struct cli_lister {
	struct cli *cli;
	struct store *st;
	size_t n;
};

static int
cli_domain_list_one(void *ctx, const struct domain_reg *reg)
{
	struct cli_lister *ls = ctx;
	struct domain_state state;
	char err[256], added[32], sels[DOMAIN_SELECTORS_MAX * 66];
	const char *sname = "unknown";
	size_t i, used = 0;

	if (store_state_get(ls->st, reg->domain, &state, err, sizeof(err)) ==
	    STORE_OK)
		sname = state_readiness_name(state.state);
	sels[0] = '\0';
	for (i = 0; i < reg->nselectors && used < sizeof(sels); i++)
		used +=
		    (size_t)snprintf(sels + used, sizeof(sels) - used, "%s%s",
		                     i ? "," : "", reg->selectors[i].name);
	cli_time(reg->added, added, sizeof(added));
	if (ls->cli->json) {
		fputs(ls->n ? ", {" : "{", stdout);
		json_field(stdout, "domain", reg->domain, false);
		json_field(stdout, "state", sname, false);
		json_field(stdout, "mail_from",
		           reg->mail_from[0] ? reg->mail_from
		                             : ls->cli->cfg.mail_from,
		           false);
		json_field(stdout, "selectors", sels, false);
		json_field(stdout, "contact", reg->contact, false);
		json_field(stdout, "added", added, true);
		fputs("}", stdout);
	} else {
		printf("%-40s %-9s %-24s %-20s %s\n", reg->domain, sname,
		       reg->mail_from[0] ? reg->mail_from
		                         : ls->cli->cfg.mail_from,
		       sels[0] ? sels : "-", added);
	}
	ls->n++;
	return 0;
}

static int
cli_domain_list(struct cli *cli)
{
	struct cli_lister ls = {.cli = cli};
	size_t ncorrupt = 0;
	char err[512];
	bool absent = false;
	int rc;

	if (cli->nargs != 2)
		return cli_usage_error(cli, "usage: domain list [--json]");
	if ((ls.st = cli_store_open(cli, STORE_RDONLY, &absent)) == NULL) {
		if (!absent)
			return CLI_EXIT_CONFIG;
		/* No store yet: nothing is registered. */
		puts(cli->json ? "{\"domains\": []}" : "no domains registered");
		return 0;
	}
	if (cli->json)
		fputs("{\"domains\": [", stdout);
	else
		printf("%-40s %-9s %-24s %-20s %s\n", "DOMAIN", "STATE",
		       "MAIL FROM", "SELECTORS", "ADDED");
	rc = store_reg_iter(ls.st, cli_domain_list_one, &ls, &ncorrupt, err,
	                    sizeof(err));
	if (cli->json)
		fputs("]}\n", stdout);
	store_close(ls.st);
	if (ncorrupt > 0)
		fprintf(stderr, "%s: %zu corrupt registry entries skipped\n",
		        cli->progname, ncorrupt);
	if (rc != STORE_OK) {
		fprintf(stderr, "%s: %s\n", cli->progname, err);
		return CLI_EXIT_CONFIG;
	}
	return 0;
}

/* cli_import_read - the whole file, bounded, never blocking; NULL after a
 * message. */
static char *
cli_import_read(struct cli *cli, const char *path, size_t *len)
{
	char err[SAFEFILE_ERR_MAX], *buf;

	if (safefile_read(path, CLI_IMPORT_MAX, 0, &buf, len, NULL, err,
	                  sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cli->progname, err);
		return NULL;
	}
	return buf;
}

/* cli_import_keys - every key file of a row must hold a usable key. */
static int
cli_import_keys(const struct domain_reg *reg, char *last_ok, size_t lastlen,
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

struct cli_import {
	struct cli *cli;
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

/* cli_import_begin - a store batch, and with StoreDSN a transaction. */
static int
cli_import_begin(struct cli_import *im, char *err, size_t errlen)
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

/* cli_import_commit - PostgreSQL first (it is the truth), then the
 * store; a failed commit abandons both. */
static int
cli_import_commit(struct cli_import *im, char *err, size_t errlen)
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

/* cli_import_abort - abandon the batch and the transaction. */
static void
cli_import_abort(struct cli_import *im)
{
	if (im->batch != NULL)
		store_batch_abort(im->batch);
	im->batch = NULL;
	pgconn_rollback(im->pg);
}

/* cli_import_row - validate one row and queue it; 0 ok, -1 bad line. */
static int
cli_import_row(struct cli_import *im, const struct csv_record *rec)
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
	if (cli_import_keys(&reg, im->last_key, sizeof(im->last_key), why,
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
	if (im->batch == NULL && cli_import_begin(im, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", im->cli->progname, err);
		return -2;
	}
	if (im->pg != NULL) {
		int rc = pgreg_put(im->pg, im->version, &reg, err, sizeof(err));

		if (rc < 0) {
			im->pg_status = rc;
			fprintf(stderr, "%s: %s\n", im->cli->progname, err);
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
		fprintf(stderr, "%s: %s\n", im->cli->progname, err);
		return -2;
	}
	im->added++;
	if (++im->pending >= CLI_IMPORT_BATCH) {
		im->pending = 0;
		if (cli_import_commit(im, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s\n", im->cli->progname, err);
			return -2;
		}
		im->committed = im->added;
	}
	return 0;
bad:
	fprintf(stderr, "%s: %s\n", im->cli->progname, err);
	im->bad++;
	return -1;
}

static int
cli_domain_import(struct cli *cli)
{
	static struct csv_record rec;
	struct cli_import im = {.cli = cli};
	struct csv_reader rd;
	char err[CSV_ERR_MAX + REGIMPORT_ERR_MAX], *buf;
	size_t len = 0;
	int rc, header = 0, fatal = 0, store_failed = 0;

	if (cli->nargs != 3)
		return cli_usage_error(cli, "usage: domain import FILE");
	if ((buf = cli_import_read(cli, cli->args[2], &len)) == NULL)
		return CLI_EXIT_USAGE;
	if (cli->cfg.store_dsn[0] != '\0' &&
	    (rc = cli_pg_open(cli, &im.pg)) != 0) {
		free(buf);
		return rc;
	}
	if ((im.st = cli_store_open(cli, STORE_CREATE, NULL)) == NULL) {
		PQfinish(im.pg);
		free(buf);
		return CLI_EXIT_CONFIG;
	}
	regimport_seen_init(&im.seen);
	im.defs = cli_domain_defaults(cli);
	csv_init(&rd, buf, len);
	while (!fatal && (rc = csv_next(&rd, &rec, err, sizeof(err))) != 0) {
		if (rc < 0) {
			fprintf(stderr, "%s: %s\n", cli->progname, err);
			if (!header) {
				fatal =
				    1; /* without a header nothing is read */
				break;
			}
			im.bad++;
			continue;
		}
		if (!header) {
			/* A bad header: the file is unusable input (64). */
			if (regimport_header(&rec, &im.cols, err,
			                     sizeof(err)) != 0) {
				fprintf(stderr, "%s: %s\n", cli->progname, err);
				fatal = 1;
			}
			header = 1;
			continue;
		}
		if (cli_import_row(&im, &rec) == -2)
			fatal = store_failed = 1;
	}
	if (im.batch != NULL) {
		if (fatal)
			cli_import_abort(&im);
		else if (cli_import_commit(&im, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s\n", cli->progname, err);
			fatal = store_failed = 1;
		} else
			im.committed = im.added;
	}
	regimport_seen_free(&im.seen);
	store_close(im.st);
	PQfinish(im.pg);
	free(buf);
	if (!header && !fatal) {
		fprintf(stderr, "%s: %s: no header line\n", cli->progname,
		        cli->args[2]);
		return CLI_EXIT_USAGE;
	}
	/* Only what was committed is registered (a batch can fail late). */
	printf("%zu domain(s) registered, %zu bad line(s)\n", im.committed,
	       im.bad);
	if (im.pg_status != 0)
		return pgconn_exit(im.pg_status);
	if (fatal)
		return store_failed ? CLI_EXIT_CONFIG : CLI_EXIT_USAGE;
	return im.bad ? CLI_EXIT_FAILURE : 0;
}

int
cli_domain(struct cli *cli)
{
	if (cli->nargs < 2)
		return cli_usage_error(
		    cli, "usage: domain add|remove|list|import|export ...");
	if (strcmp(cli->args[1], "add") == 0)
		return cli_domain_add(cli);
	if (strcmp(cli->args[1], "remove") == 0)
		return cli_domain_remove(cli);
	if (strcmp(cli->args[1], "list") == 0)
		return cli_domain_list(cli);
	if (strcmp(cli->args[1], "import") == 0)
		return cli_domain_import(cli);
	if (strcmp(cli->args[1], "export") == 0)
		return cli_domain_export(cli); /* cli_store.c */
	return cli_usage_error(cli, "unknown domain command '%s'",
	                       cli->args[1]);
}
