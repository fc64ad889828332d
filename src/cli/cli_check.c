/*
 * cli_check.c - `authready check [dkim|dmarc|mx] DOMAIN`.
 *
 * SYNOPSIS
 *	int cli_check(struct cli *cli);
 *
 * DESCRIPTION
 *	Builds a readiness request from the command line and the config
 *	(the command line wins), runs it on a c-ares channel and prints the
 *	report as a table or as one JSON object.  Colour is used only when
 *	stdout is a terminal and NO_COLOR is unset.
 *
 * DIAGNOSTICS
 *	Returns 0 ready, 1 not ready, 2 undecided (DNS trouble), 64 for a
 *	bad domain or option (or a domain too long for the names it must
 *	publish), 78 when a key file named in the config cannot
 *	be read or the DNS channel cannot be set up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checker.h"
#include "cli.h"
#include "dns.h"
#include "regimport.h"

struct check_type_word {
	const char *word;
	unsigned mask;
};

static const struct check_type_word check_type_words[] = {
    {"spf", READINESS_CHECK_BIT(CHECK_SPF)},
    {"dkim", READINESS_CHECK_BIT(CHECK_DKIM)},
    {"dmarc", READINESS_CHECK_BIT(CHECK_DMARC)},
    {"mx", READINESS_CHECK_BIT(CHECK_MX)},
};

/*
 * cli_check_names - every name the check queries fits in DNS: the MAIL
 * FROM name, each selector's key name and _dmarc.  A domain too long for
 * them is a usage error (64), as `domain add` refuses it.
 */
static int
cli_check_names(struct cli *cli, const struct domain_reg *reg)
{
	const char *sels[READINESS_SELECTORS_MAX], *mf = cli->cfg.mail_from;
	char why[REGIMPORT_ERR_MAX], full[DOMAIN_BUF];
	size_t i, n = 0;

	if (reg->mail_from[0] != '\0')
		mf = reg->mail_from;
	if (cli->mail_from != NULL) {
		if (readiness_mail_from(reg->domain, cli->mail_from, full,
		                        sizeof(full), why, sizeof(why)) != 0)
			return cli_usage_error(cli, "--mail-from '%s': %s",
			                       cli->mail_from, why);
		mf = cli->mail_from;
	}
	for (i = 0; i < cli->nselectors; i++)
		sels[n++] = cli->selectors[i].name;
	for (i = 0; cli->nselectors == 0 && i < reg->nselectors &&
	            i < READINESS_SELECTORS_MAX;
	     i++)
		sels[n++] = reg->selectors[i].name;
	if (n == 0 && cli->cfg.selector[0] != '\0')
		sels[n++] = cli->cfg.selector;
	if (regimport_names_ok(reg->domain, mf, sels, n, why, sizeof(why)) != 0)
		return cli_usage_error(cli, "%s: %s", reg->domain, why);
	return 0;
}

/* cli_check_type - the mask of a check word; 0 when it is none. */
static unsigned
cli_check_type(const char *word)
{
	size_t i;

	for (i = 0; i < sizeof(check_type_words) / sizeof(*check_type_words);
	     i++)
		if (strcmp(word, check_type_words[i].word) == 0)
			return check_type_words[i].mask;
	return 0;
}

/* cli_check_base - expectations from the registry entry, else the config. */
static int
cli_check_base(struct cli *cli, struct readiness_request *req)
{
	char domain[DOMAIN_BUF], err[PATH_MAX + 128];
	struct domain_reg reg;
	struct store *st;
	int rc = STORE_NOTFOUND;
	bool absent;

	snprintf(domain, sizeof(domain), "%s", req->domain);
	/* The registry is optional here: without it, the config decides. */
	if ((st = cli_store_open(cli, STORE_RDONLY, &absent)) != NULL) {
		rc = store_reg_get(st, domain, &reg, err, sizeof(err));
		store_close(st);
	}
	if (rc != STORE_OK) {
		snprintf(reg.domain, sizeof(reg.domain), "%s", domain);
		reg.mail_from[0] = reg.mx_host[0] = reg.spf_include[0] = '\0';
		reg.nselectors = reg.negress = 0;
		reg.dmarc_min_policy = -1;
	}
	if ((rc = cli_check_names(cli, &reg)) != 0)
		return rc;
	if (checker_request(&reg, &cli->cfg, req, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cli->progname, err);
		return CLI_EXIT_CONFIG;
	}
	return 0;
}

/* cli_check_selectors - the command line's selectors replace the base. */
static int
cli_check_selectors(struct cli *cli, struct readiness_request *req)
{
	char err[PATH_MAX + 128];
	size_t i;

	readiness_request_free(req);
	memset(req->selectors, 0, sizeof(req->selectors));
	req->nselectors = 0;
	for (i = 0; i < cli->nselectors; i++) {
		struct readiness_selector *sel = &req->selectors[i];
		char name[DOMAIN_BUF];

		err[0] = '\0';
		if (domain_normalize(cli->selectors[i].name,
		                     strlen(cli->selectors[i].name), name,
		                     sizeof(name), err, sizeof(err)) != 0 ||
		    strlen(name) >= sizeof(sel->name))
			return cli_usage_error(cli, "--selector '%s': %s",
			                       cli->selectors[i].name,
			                       err[0] ? err : "too long");
		memcpy(sel->name, name, strlen(name) + 1);
		req->nselectors++;
		if (cli->selectors[i].key_file != NULL &&
		    readiness_load_key(sel, cli->selectors[i].key_file, err,
		                       sizeof(err)) != 0)
			return cli_usage_error(cli, "--key: %s", err);
	}
	return 0;
}

/* cli_check_spf - the command line's egress addresses and include. */
static int
cli_check_spf(struct cli *cli, struct readiness_request *req)
{
	char err[512];
	size_t i;

	if (cli->negress > 0)
		req->negress = 0;
	for (i = 0; i < cli->negress; i++)
		if (readiness_add_egress(req, cli->egress[i]) != 0)
			return cli_usage_error(
			    cli,
			    "--egress-ip '%s' is not an IPv4 or IPv6 address "
			    "or prefix",
			    cli->egress[i]);
	if (cli->spf_include != NULL &&
	    domain_normalize(cli->spf_include, strlen(cli->spf_include),
	                     req->spf_include, sizeof(req->spf_include), err,
	                     sizeof(err)) != 0)
		return cli_usage_error(cli, "--spf-include '%s': %s",
		                       cli->spf_include, err);
	return 0;
}

/* cli_check_override - command-line options win over the base. */
static int
cli_check_override(struct cli *cli, struct readiness_request *req)
{
	char err[512];
	int status;

	if (cli->mail_from != NULL &&
	    readiness_mail_from(req->domain, cli->mail_from, req->mail_from,
	                        sizeof(req->mail_from), err, sizeof(err)) != 0)
		return cli_usage_error(cli, "--mail-from '%s': %s",
		                       cli->mail_from, err);
	if (cli->mx_host != NULL &&
	    domain_normalize(cli->mx_host, strlen(cli->mx_host), req->mx_host,
	                     sizeof(req->mx_host), err, sizeof(err)) != 0)
		return cli_usage_error(cli, "--mx '%s': %s", cli->mx_host, err);
	if (cli->dmarc_min_policy != NULL &&
	    dmarc_policy_parse(cli->dmarc_min_policy, &req->dmarc_min_policy) !=
	        0)
		return cli_usage_error(
		    cli,
		    "--dmarc-min-policy must be none, quarantine or reject");
	if ((status = cli_check_spf(cli, req)) != 0)
		return status;
	for (size_t i = 0; i < cli->nfrom && i < READINESS_FROM_MAX; i++) {
		if (domain_normalize(
		        cli->from_domains[i], strlen(cli->from_domains[i]),
		        req->from_domains[i], sizeof(req->from_domains[i]), err,
		        sizeof(err)) != 0)
			return cli_usage_error(cli, "--from-domain '%s': %s",
			                       cli->from_domains[i], err);
		req->nfrom = i + 1;
	}
	if (cli->nselectors > 0)
		return cli_check_selectors(cli, req);
	return 0;
}

/* cli_check_request - the request for DOMAIN; 0 ok or an exit code. */
static int
cli_check_request(struct cli *cli, const char *domain, unsigned mask,
                  struct readiness_request *req)
{
	char err[512];
	int status;

	if (domain_normalize(domain, strlen(domain), req->domain,
	                     sizeof(req->domain), err, sizeof(err)) != 0)
		return cli_usage_error(cli, "invalid domain: %s", err);
	if ((status = cli_check_base(cli, req)) != 0 ||
	    (status = cli_check_override(cli, req)) != 0)
		return status;
	/* Without a selector the DKIM result says how to name one, as in a
	 * refresh: the same inputs give the same verdict. */
	req->checks = mask;
	return 0;
}

static void
cli_check_done(void *arg, struct report *rep)
{
	(void)rep;
	*(int *)arg = 1;
}

/* cli_check_run - run the request on a c-ares channel. */
static int
cli_check_run(struct cli *cli, const struct readiness_request *req,
              struct report *rep)
{
	struct dns *dns;
	struct resolver res;
	char err[256];
	int done = 0;

	if (dns_open(&dns, &cli->cfg.dns, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: DNS: %s\n", cli->progname, err);
		return CLI_EXIT_CONFIG;
	}
	res = dns_resolver(dns);
	if (readiness_start(&res, req, rep, cli_check_done, &done) == 0)
		dns_run(dns);
	dns_close(dns);
	return 0;
}

int
cli_check(struct cli *cli)
{
	static struct report rep;
	struct readiness_request *req;
	unsigned mask = READINESS_CHECK_ALL;
	const char *domain;
	int status;

	if (cli->nargs == 3) {
		if ((mask = cli_check_type(cli->args[1])) == 0)
			return cli_usage_error(
			    cli, "unknown check '%s' (spf, dkim, dmarc or mx)",
			    cli->args[1]);
		domain = cli->args[2];
	} else if (cli->nargs == 2 && cli_check_type(cli->args[1]) != 0) {
		/* "check spf --json": the word names a check, not a domain. */
		return cli_usage_error(cli, "check %s: no DOMAIN given",
		                       cli->args[1]);
	} else if (cli->nargs == 2) {
		domain = cli->args[1];
	} else {
		return cli_usage_error(
		    cli, "usage: check [spf|dkim|dmarc|mx] DOMAIN [options]");
	}
	if ((req = calloc(1, sizeof(*req))) == NULL) {
		fprintf(stderr, "%s: out of memory\n", cli->progname);
		return CLI_EXIT_CONFIG;
	}
	if ((status = cli_check_request(cli, domain, mask, req)) == 0 &&
	    (status = cli_check_run(cli, req, &rep)) == 0) {
		if (cli->json)
			report_print_json(stdout, &rep);
		else
			report_print_text(stdout, &rep,
			                  isatty(STDOUT_FILENO) &&
			                      getenv("NO_COLOR") == NULL);
		status = report_exit_code(&rep);
	}
	readiness_request_free(req);
	free(req);
	return status;
}
