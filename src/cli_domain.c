/*
 * cli_domain.c - `authready domain add|remove|list|import`.
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
 *	the registry with the state.  import reads CSV (see authready(1)).
 *
 * DIAGNOSTICS
 *	0 done; 1 the domain exists (add) or is not registered (remove), or
 *	some import lines were bad (the others are registered); 64 usage,
 *	or an import file that cannot be read at all (unreadable, no or a
 *	bad header: nothing registered); 78 store or config trouble.
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
#include "records.h"
#include "regimport.h"

#define CLI_IMPORT_MAX (512 << 20) /* bytes of CSV */
#define CLI_IMPORT_BATCH 1000     /* entries per write transaction */

/* cli_domain_arg - the normalized DOMAIN argument at args[index]. */
static int
cli_domain_arg(struct cli *cli, size_t index, char *out, size_t outlen)
{
	char err[512];

	if (cli->nargs != index + 1)
		return cli_usage_error(cli, "usage: %s %s DOMAIN",
		    cli->args[0], cli->nargs > 1 ? cli->args[1] : "");
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
	char abs[PATH_MAX], err[PATH_MAX + 128], value[RECORDS_VALUE_MAX];
	int rc;

	memset(&sel, 0, sizeof(sel));
	if (realpath(path, abs) == NULL)
		return cli_usage_error(cli, "--key %s: %s", path,
		    strerror(errno));
	if (strlen(abs) >= outlen)
		return cli_usage_error(cli, "--key %s: path too long", path);
	if (readiness_load_key(&sel, abs, err, sizeof(err)) != 0)
		return cli_usage_error(cli, "--key: %s", err);
	rc = records_dkim_value(sel.key_pem, sel.key_pem_len, value,
	    sizeof(value), err, sizeof(err));
	free(sel.key_pem);
	if (rc != 0)
		return cli_usage_error(cli, "--key %s: %s", path, err);
	memcpy(out, abs, strlen(abs) + 1);
	return 0;
}

/* cli_domain_name - normalize an optional host option into out. */
static int
cli_domain_name(struct cli *cli, const char *opt, const char *value,
    char *out, size_t outlen)
{
	char err[512];

	if (value == NULL)
		return 0;
	if (domain_normalize(value, strlen(value), out, outlen, err,
		sizeof(err)) != 0)
		return cli_usage_error(cli, "%s '%s': %s", opt, value, err);
	return 0;
}

/* cli_domain_reg - a registry entry from the command line. */
static int
cli_domain_reg(struct cli *cli, struct domain_reg *reg)
{
	char err[512], mail_from[DOMAIN_BUF], name[DOMAIN_BUF], org[DOMAIN_BUF];
	size_t i;
	int rc, policy;

	if ((rc = cli_domain_arg(cli, 2, reg->domain, sizeof(reg->domain))))
		return rc;
	reg->dmarc_min_policy = -1;
	reg->added = (int64_t)time(NULL);
	if (cli->mail_from != NULL) {
		if (readiness_mail_from(reg->domain, cli->mail_from, mail_from,
			sizeof(mail_from), err, sizeof(err)) != 0)
			return cli_usage_error(cli, "--mail-from '%s': %s",
			    cli->mail_from, err);
		if (strcmp(mail_from, reg->domain) == 0)
			return cli_usage_error(cli,
			    "--mail-from must be a subdomain such as mail.%s; "
			    "records on the bare domain are not accepted",
			    reg->domain);
		if (domain_org(reg->domain, org, sizeof(org)) != 0)
			snprintf(org, sizeof(org), "%s", reg->domain);
		if (!domain_is_below(mail_from, org))
			return cli_usage_error(cli,
			    "--mail-from %s is outside %s, so SPF could never "
			    "align for DMARC; use a subdomain such as mail.%s",
			    mail_from, org, reg->domain);
		snprintf(reg->mail_from, sizeof(reg->mail_from), "%s",
		    mail_from);
	}
	for (i = 0; i < cli->nselectors; i++) {
		struct domain_selector *sel = &reg->selectors[i];

		if (domain_normalize(cli->selectors[i].name,
			strlen(cli->selectors[i].name), name, sizeof(name), err,
			sizeof(err)) != 0 ||
		    strlen(name) >= sizeof(sel->name))
			return cli_usage_error(cli, "--selector '%s': %s",
			    cli->selectors[i].name, err);
		memcpy(sel->name, name, strlen(name) + 1);
		if (cli->selectors[i].key_file != NULL &&
		    (rc = cli_domain_key(cli, cli->selectors[i].key_file,
			 sel->key_path, sizeof(sel->key_path))))
			return rc;
		reg->nselectors++;
	}
	if ((rc = cli_domain_name(cli, "--mx", cli->mx_host, reg->mx_host,
		 sizeof(reg->mx_host))) ||
	    (rc = cli_domain_name(cli, "--spf-include", cli->spf_include,
		 reg->spf_include, sizeof(reg->spf_include))))
		return rc;
	for (i = 0; i < cli->negress; i++) {
		if (config_parse_ip(cli->egress[i]) != 0 ||
		    strlen(cli->egress[i]) >= sizeof(reg->egress[0]))
			return cli_usage_error(cli,
			    "--egress-ip '%s' is not an IPv4 or IPv6 address",
			    cli->egress[i]);
		snprintf(reg->egress[i], sizeof(reg->egress[i]), "%s",
		    cli->egress[i]);
		reg->negress++;
	}
	if (cli->dmarc_min_policy != NULL) {
		enum dmarc_policy p;

		if (dmarc_policy_parse(cli->dmarc_min_policy, &p) != 0)
			return cli_usage_error(cli,
			    "--dmarc-min-policy must be none, quarantine or "
			    "reject");
		policy = (int)p;
		reg->dmarc_min_policy = policy;
	}
	if (cli->contact != NULL) {
		if (!notify_address_ok(cli->contact) ||
		    strlen(cli->contact) >= sizeof(reg->contact))
			return cli_usage_error(cli,
			    "--contact must be a plain address like "
			    "owner@example.com");
		snprintf(reg->contact, sizeof(reg->contact), "%s",
		    cli->contact);
	}
	return 0;
}

static int
cli_domain_add(struct cli *cli)
{
	struct domain_reg reg, old;
	struct store *st;
	char err[512];
	int rc;

	memset(&reg, 0, sizeof(reg));
	if ((rc = cli_domain_reg(cli, &reg)) != 0)
		return rc;
	if ((st = cli_store_open(cli, STORE_CREATE, NULL)) == NULL)
		return CLI_EXIT_CONFIG;
	rc = store_reg_get(st, reg.domain, &old, err, sizeof(err));
	if (rc == STORE_OK) {
		store_close(st);
		fprintf(stderr, "%s: %s is already registered; remove it "
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
	bool absent;
	int rc;

	if ((rc = cli_domain_arg(cli, 2, domain, sizeof(domain))) != 0)
		return rc;
	if ((st = cli_store_open(cli, 0, &absent)) == NULL && !absent)
		return CLI_EXIT_CONFIG;
	rc = st == NULL ? STORE_NOTFOUND
			: store_reg_get(st, domain, &reg, err, sizeof(err));
	if (rc == STORE_NOTFOUND) {
		store_close(st);
		fprintf(stderr, "%s: %s is not registered\n", cli->progname,
		    domain);
		return CLI_EXIT_FAILURE;
	}
	if (store_held_list(st, domain, cli_count_held, &held, err,
		sizeof(err)) == STORE_OK &&
	    held > 0) {
		store_close(st);
		fprintf(stderr,
		    "%s: %zu message(s) are held for %s; release or delete "
		    "them before removing the domain\n",
		    cli->progname, held, domain);
		return CLI_EXIT_FAILURE;
	}
	rc = store_reg_del(st, domain, err, sizeof(err));
	if (rc == STORE_OK || rc == STORE_NOTFOUND)
		rc = store_state_del(st, domain, err, sizeof(err));
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
		sname = domain_readiness_name(state.state);
	sels[0] = '\0';
	for (i = 0; i < reg->nselectors && used < sizeof(sels); i++)
		used += (size_t)snprintf(sels + used, sizeof(sels) - used,
		    "%s%s", i ? "," : "", reg->selectors[i].name);
	cli_time(reg->added, added, sizeof(added));
	if (ls->cli->json) {
		fputs(ls->n ? ", {" : "{", stdout);
		json_field(stdout, "domain", reg->domain, false);
		json_field(stdout, "state", sname, false);
		json_field(stdout, "mail_from",
		    reg->mail_from[0] ? reg->mail_from : ls->cli->cfg.mail_from,
		    false);
		json_field(stdout, "selectors", sels, false);
		json_field(stdout, "contact", reg->contact, false);
		json_field(stdout, "added", added, true);
		fputs("}", stdout);
	} else {
		printf("%-40s %-9s %-24s %-20s %s\n", reg->domain, sname,
		    reg->mail_from[0] ? reg->mail_from : ls->cli->cfg.mail_from,
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

/* cli_import_read - the whole file, bounded; NULL after a message. */
static char *
cli_import_read(struct cli *cli, const char *path, size_t *len)
{
	struct stat sb;
	FILE *fp;
	char *buf;

	if ((fp = fopen(path, "r")) == NULL || fstat(fileno(fp), &sb) != 0) {
		fprintf(stderr, "%s: %s: %s\n", cli->progname, path,
		    strerror(errno));
		if (fp != NULL)
			fclose(fp);
		return NULL;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > CLI_IMPORT_MAX) {
		fprintf(stderr, "%s: %s: not a regular file of at most %d MiB\n",
		    cli->progname, path, CLI_IMPORT_MAX >> 20);
		fclose(fp);
		return NULL;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", cli->progname);
		fclose(fp);
		return NULL;
	}
	*len = fread(buf, 1, (size_t)sb.st_size, fp);
	fclose(fp);
	return buf;
}

/* cli_import_keys - every key file of a row must hold a usable key. */
static int
cli_import_keys(const struct domain_reg *reg, char *last_ok, size_t lastlen,
    char *why, size_t whylen)
{
	char value[RECORDS_VALUE_MAX];
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
		rc = records_dkim_value(sel.key_pem, sel.key_pem_len, value,
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
	char last_key[PATH_MAX];
	size_t added, bad, pending;
	size_t committed; /* of added, those whose batch was committed */
};

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
	if (cli_import_keys(&reg, im->last_key, sizeof(im->last_key), why,
		sizeof(why)) != 0) {
		snprintf(err, sizeof(err), "line %zu: %s", rec->line, why);
		goto bad;
	}
	if (store_reg_get(im->st, reg.domain, &old, why, sizeof(why)) ==
	    STORE_OK) {
		snprintf(err, sizeof(err), "line %zu: %s is already registered",
		    rec->line, reg.domain);
		goto bad;
	}
	if (im->batch == NULL &&
	    store_batch_begin(im->st, &im->batch, err, sizeof(err)) != 0) {
		im->batch = NULL;
		fprintf(stderr, "%s: %s\n", im->cli->progname, err);
		return -2;
	}
	if (store_batch_put_reg(im->batch, &reg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", im->cli->progname, err);
		return -2;
	}
	im->added++;
	if (++im->pending >= CLI_IMPORT_BATCH) {
		im->pending = 0;
		if (store_batch_commit(im->batch, err, sizeof(err)) != 0) {
			im->batch = NULL;
			fprintf(stderr, "%s: %s\n", im->cli->progname, err);
			return -2;
		}
		im->batch = NULL;
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
	if ((im.st = cli_store_open(cli, STORE_CREATE, NULL)) == NULL) {
		free(buf);
		return CLI_EXIT_CONFIG;
	}
	regimport_seen_init(&im.seen);
	csv_init(&rd, buf, len);
	while (!fatal && (rc = csv_next(&rd, &rec, err, sizeof(err))) != 0) {
		if (rc < 0) {
			fprintf(stderr, "%s: %s\n", cli->progname, err);
			if (!header) {
				fatal = 1; /* without a header nothing is read */
				break;
			}
			im.bad++;
			continue;
		}
		if (!header) {
			/* A bad header: the file is unusable input (64). */
			if (regimport_header(&rec, &im.cols, err, sizeof(err)) !=
			    0) {
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
			store_batch_abort(im.batch);
		else if (store_batch_commit(im.batch, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s\n", cli->progname, err);
			fatal = store_failed = 1;
		} else
			im.committed = im.added;
	}
	regimport_seen_free(&im.seen);
	store_close(im.st);
	free(buf);
	if (!header && !fatal) {
		fprintf(stderr, "%s: %s: no header line\n", cli->progname,
		    cli->args[2]);
		return CLI_EXIT_USAGE;
	}
	/* Only what was committed is registered (a batch can fail late). */
	printf("%zu domain(s) registered, %zu bad line(s)\n", im.committed,
	    im.bad);
	if (fatal)
		return store_failed ? CLI_EXIT_CONFIG : CLI_EXIT_USAGE;
	return im.bad ? CLI_EXIT_FAILURE : 0;
}

int
cli_domain(struct cli *cli)
{
	if (cli->nargs < 2)
		return cli_usage_error(cli,
		    "usage: domain add|remove|list|import ...");
	if (strcmp(cli->args[1], "add") == 0)
		return cli_domain_add(cli);
	if (strcmp(cli->args[1], "remove") == 0)
		return cli_domain_remove(cli);
	if (strcmp(cli->args[1], "list") == 0)
		return cli_domain_list(cli);
	if (strcmp(cli->args[1], "import") == 0)
		return cli_domain_import(cli);
	return cli_usage_error(cli, "unknown domain command '%s'",
	    cli->args[1]);
}
