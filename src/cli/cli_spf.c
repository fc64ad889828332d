/*
 * cli_spf.c - `authready spf --ip IP --sender ADDR --helo NAME`.
 *
 * SYNOPSIS
 *	int cli_spf(struct cli *cli);
 *
 * DESCRIPTION
 *	Runs check_host() (RFC 7208 section 4) for one connection and prints
 *	the result word first (pass, fail, softfail, neutral, none,
 *	temperror, permerror), then the reason and, for fail, the
 *	explanation, one per line.  An empty sender ("" or "<>") is the null
 *	sender: the HELO identity is checked (postmaster@HELO).
 *
 * DIAGNOSTICS
 *	0 whenever a result was computed (whatever it is); 64 usage error;
 *	78 when the DNS channel cannot be set up.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dns.h"
#include "spf.h"

struct cli_spf_wait {
	int done;
};

static void
cli_spf_done(void *arg, struct spf_outcome *out)
{
	(void)out;
	((struct cli_spf_wait *)arg)->done = 1;
}

int
cli_spf(struct cli *cli)
{
	static struct spf_outcome out;
	struct cli_spf_wait wait = {0};
	struct spf_request req;
	struct resolver res;
	struct dns *dns;
	const char *sender;
	char err[512];

	if (cli->nargs != 1 || cli->ip == NULL || cli->helo == NULL)
		return cli_usage_error(
		    cli, "usage: spf --ip IP --sender ADDR --helo NAME");
	memset(&req, 0, sizeof(req));
	if (spf_addr_parse(cli->ip, &req.ip) != 0)
		return cli_usage_error(
		    cli, "--ip '%s' is not an IPv4 or IPv6 address", cli->ip);
	sender = cli->sender ? cli->sender : "";
	if (strcmp(sender, "<>") == 0)
		sender = "";
	if (sender[0] != '\0' && strchr(sender, '@') == NULL)
		return cli_usage_error(
		    cli,
		    "--sender '%s' is not an address (local@domain, or '' "
		    "for the null sender)",
		    sender);
	req.sender = sender;
	req.helo = cli->helo;
	req.timeout_ms = cli->cfg.check_timeout_ms;
	if (dns_open(&dns, &cli->cfg.dns, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: DNS: %s\n", cli->progname, err);
		return CLI_EXIT_CONFIG;
	}
	res = dns_resolver(dns);
	if (spf_check_host(&res, &req, &out, cli_spf_done, &wait) == 0)
		dns_run(dns);
	dns_close(dns);
	printf("%s\n%s\n", spf_result_name(out.result), out.reason);
	if (out.explanation[0] != '\0')
		printf("%s\n", out.explanation);
	return 0;
}
