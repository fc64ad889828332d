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
 *	bad domain or option, 78 when a key file named in the config cannot
 *	be read or the DNS channel cannot be set up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dns.h"

struct check_type_word {
	const char *word;
	unsigned mask;
};

static const struct check_type_word check_type_words[] = {
	{"dkim", READINESS_CHECK_BIT(CHECK_DKIM)},
	{"dmarc", READINESS_CHECK_BIT(CHECK_DMARC)},
	{"mx", READINESS_CHECK_BIT(CHECK_MX)},
};

/* cli_read_key - read a PEM key file, bounded; 0 ok, -1 with err. */
static int
cli_read_key(const char *path, struct readiness_selector *sel, char *err,
    size_t errlen)
{
	FILE *fp;
	char *buf;
	size_t n;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "cannot read key file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((buf = malloc(CLI_KEY_FILE_MAX + 1)) == NULL) {
		fclose(fp);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = fread(buf, 1, CLI_KEY_FILE_MAX + 1, fp);
	if (ferror(fp) || n > CLI_KEY_FILE_MAX || n == 0) {
		snprintf(err, errlen, "key file %s: %s", path,
		    ferror(fp) ? strerror(errno)
		    : n == 0   ? "empty"
			       : "larger than 64 KiB, not a PEM key");
		fclose(fp);
		free(buf);
		return -1;
	}
	fclose(fp);
	buf[n] = '\0';
	snprintf(sel->key_path, sizeof(sel->key_path), "%s", path);
	sel->key_pem = buf;
	sel->key_pem_len = n;
	return 0;
}

/* cli_check_selectors - from the command line, else from the config. */
static int
cli_check_selectors(struct cli *cli, struct readiness_request *req)
{
	char err[PATH_MAX + 128];
	size_t i;

	if (cli->nselectors == 0 && cli->cfg.selector[0] != '\0') {
		snprintf(req->selectors[0].name, sizeof(req->selectors[0].name),
		    "%s", cli->cfg.selector);
		req->nselectors = 1;
		if (cli->cfg.key_file[0] != '\0' &&
		    cli_read_key(cli->cfg.key_file, &req->selectors[0], err,
			sizeof(err)) != 0) {
			fprintf(stderr, "%s: KeyFile: %s\n", cli->progname,
			    err);
			return CLI_EXIT_CONFIG;
		}
		return 0;
	}
	for (i = 0; i < cli->nselectors; i++) {
		struct readiness_selector *sel = &req->selectors[i];
		char name[DOMAIN_BUF];

		if (domain_normalize(cli->selectors[i].name,
			strlen(cli->selectors[i].name), name, sizeof(name), err,
			sizeof(err)) != 0 ||
		    strlen(name) >= sizeof(sel->name))
			return cli_usage_error(cli, "--selector '%s': %s",
			    cli->selectors[i].name,
			    err[0] ? err : "too long");
		memcpy(sel->name, name, strlen(name) + 1);
		req->nselectors++;
		if (cli->selectors[i].key_file != NULL &&
		    cli_read_key(cli->selectors[i].key_file, sel, err,
			sizeof(err)) != 0)
			return cli_usage_error(cli, "--key: %s", err);
	}
	return 0;
}

/* cli_check_request - the request for DOMAIN; 0 ok or an exit code. */
static int
cli_check_request(struct cli *cli, const char *domain, unsigned mask,
    struct readiness_request *req)
{
	char err[512];
	const char *mail_from, *mx, *policy;
	int status;

	req->checks = mask;
	if (domain_normalize(domain, strlen(domain), req->domain,
		sizeof(req->domain), err, sizeof(err)) != 0)
		return cli_usage_error(cli, "invalid domain: %s", err);
	mail_from = cli->mail_from ? cli->mail_from : cli->cfg.mail_from;
	if (readiness_mail_from(req->domain, mail_from, req->mail_from,
		sizeof(req->mail_from), err, sizeof(err)) != 0)
		return cli_usage_error(cli, "--mail-from '%s': %s", mail_from,
		    err);
	mx = cli->mx_host ? cli->mx_host : cli->cfg.mx_host;
	if (mx[0] != '\0' &&
	    domain_normalize(mx, strlen(mx), req->mx_host,
		sizeof(req->mx_host), err, sizeof(err)) != 0)
		return cli_usage_error(cli, "--mx '%s': %s", mx, err);
	req->dmarc_min_policy = cli->cfg.dmarc_min_policy;
	policy = cli->dmarc_min_policy;
	if (policy != NULL &&
	    dmarc_policy_parse(policy, &req->dmarc_min_policy) != 0)
		return cli_usage_error(cli,
		    "--dmarc-min-policy must be none, quarantine or reject");
	if ((mask & READINESS_CHECK_BIT(CHECK_DKIM)) == 0)
		return 0;
	if ((status = cli_check_selectors(cli, req)) != 0)
		return status;
	if (req->nselectors == 0)
		return cli_usage_error(cli,
		    "the DKIM check needs --selector SEL (or Selector in "
		    "authready.conf)");
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

static void
cli_check_free(struct readiness_request *req)
{
	size_t i;

	for (i = 0; i < req->nselectors; i++)
		free(req->selectors[i].key_pem);
}

int
cli_check(struct cli *cli)
{
	static struct report rep;
	struct readiness_request *req;
	unsigned mask = READINESS_CHECK_ALL;
	const char *domain;
	int status;
	size_t i;

	if (cli->nargs == 3) {
		mask = 0;
		for (i = 0; i < sizeof(check_type_words) /
			     sizeof(*check_type_words); i++)
			if (strcmp(cli->args[1], check_type_words[i].word) == 0)
				mask = check_type_words[i].mask;
		if (mask == 0)
			return cli_usage_error(cli,
			    "unknown check '%s' (dkim, dmarc or mx)",
			    cli->args[1]);
		domain = cli->args[2];
	} else if (cli->nargs == 2) {
		domain = cli->args[1];
	} else {
		return cli_usage_error(cli,
		    "usage: check [dkim|dmarc|mx] DOMAIN [options]");
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
			    isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL);
		status = report_exit_code(&rep);
	}
	cli_check_free(req);
	free(req);
	return status;
}
