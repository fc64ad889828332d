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
#include "regops.h"
#include "safefile.h"
#include "state.h"
#include "zonelines.h"

#define CLI_IMPORT_MAX (512 << 20) /* bytes of CSV */

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

/* cli_regops_env - the config and the CLI's store warnings. */
static struct regops_env
cli_regops_env(struct cli *cli, struct store_opts *opts)
{
	struct regops_env env = {.cfg = &cli->cfg, .opts = opts};

	cli_store_opts(cli, opts);
	return env;
}

/* cli_regops_fail - print err; the exit code of a failed operation. */
static int
cli_regops_fail(struct cli *cli, int rc, const struct regops_result *res,
                const char *err)
{
	fprintf(stderr, "%s: %s\n", cli->progname, err);
	if (rc == REGOPS_PG)
		return pgconn_exit(res->pg_status);
	return CLI_EXIT_CONFIG;
}

static int
cli_domain_add(struct cli *cli)
{
	struct domain_reg reg;
	struct regops_result res;
	struct store_opts opts;
	struct regops_env env = cli_regops_env(cli, &opts);
	char err[REGOPS_ERR_MAX];
	int rc;

	memset(&reg, 0, sizeof(reg));
	if ((rc = cli_domain_reg(cli, &reg)) != 0)
		return rc;
	rc = regops_add(&env, &reg, &res, err, sizeof(err));
	if (rc == REGOPS_EXISTS) {
		fprintf(stderr,
		        "%s: %s is already registered; remove it "
		        "first to change it\n",
		        cli->progname, reg.domain);
		return CLI_EXIT_FAILURE;
	}
	if (rc != REGOPS_OK)
		return cli_regops_fail(cli, rc, &res, err);
	printf("%s registered; publish its records (authready records %s), "
	       "then run authready refresh %s\n",
	       reg.domain, reg.domain, reg.domain);
	return 0;
}

static int
cli_domain_remove(struct cli *cli)
{
	char domain[DOMAIN_BUF], err[REGOPS_ERR_MAX];
	struct regops_result res;
	struct store_opts opts;
	struct regops_env env = cli_regops_env(cli, &opts);
	int rc;

	if ((rc = cli_domain_arg(cli, 2, domain, sizeof(domain))) != 0)
		return rc;
	rc = regops_remove(&env, domain, &res, err, sizeof(err));
	if (res.pg_missing)
		fprintf(stderr,
		        "%s: %s is not registered in PostgreSQL; "
		        "removing it from this host's store\n",
		        cli->progname, domain);
	switch (rc) {
	case REGOPS_OK:
		printf("%s removed\n", domain);
		return 0;
	case REGOPS_ABSENT:
		fprintf(stderr, "%s: %s is not registered\n", cli->progname,
		        domain);
		return CLI_EXIT_FAILURE;
	case REGOPS_HELD:
		fprintf(stderr,
		        "%s: %zu message(s) are held for %s; release or delete "
		        "them before removing the domain\n",
		        cli->progname, res.held, domain);
		return CLI_EXIT_FAILURE;
	default:
		return cli_regops_fail(cli, rc, &res, err);
	}
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

/* cli_import_say - one message of the import, on stderr. */
static void
cli_import_say(void *ctx, const char *msg)
{
	const struct cli *cli = ctx;

	fprintf(stderr, "%s: %s\n", cli->progname, msg);
}

static int
cli_domain_import(struct cli *cli)
{
	struct regops_import_stats stats;
	struct regops_result res;
	struct store_opts opts;
	struct regops_env env = cli_regops_env(cli, &opts);
	char err[REGOPS_ERR_MAX], *buf;
	size_t len = 0;
	int rc;

	if (cli->nargs != 3)
		return cli_usage_error(cli, "usage: domain import FILE");
	if ((buf = cli_import_read(cli, cli->args[2], &len)) == NULL)
		return CLI_EXIT_USAGE;
	rc = regops_import(&env, buf, len, cli_import_say, cli, &stats, &res,
	                   err, sizeof(err));
	free(buf);
	if (!stats.started)
		return cli_regops_fail(cli, rc, &res, err);
	if (rc == REGOPS_OK && !stats.header) {
		fprintf(stderr, "%s: %s: no header line\n", cli->progname,
		        cli->args[2]);
		return CLI_EXIT_USAGE;
	}
	/* Only what was committed is registered (a batch can fail late). */
	printf("%zu domain(s) registered, %zu bad line(s)\n", stats.committed,
	       stats.bad);
	if (rc == REGOPS_PG)
		return pgconn_exit(res.pg_status);
	if (rc == REGOPS_STORE)
		return CLI_EXIT_CONFIG;
	if (rc == REGOPS_INVALID)
		return CLI_EXIT_USAGE;
	return stats.bad ? CLI_EXIT_FAILURE : 0;
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
