/*
 * authready.c - main() of authready(1), the operator's tool.
 *
 * SYNOPSIS
 *	authready [-c FILE] [--dns-server ADDR[:PORT]]... [--dns-timeout S]
 *	    [--check-timeout S] COMMAND [ARGS] [OPTIONS]
 *
 * DESCRIPTION
 *	Parses every option (global and per command; they may come before
 *	or after the command), loads the config file, and runs the command.
 *	Only this file exits, except for the store's fault guard, installed
 *	first: a fault inside the LMDB map (a damaged page) ends the
 *	program with one message and 78 (store.h).
 *
 * DIAGNOSTICS
 *	Exit 64 on a usage error, 78 on a configuration error; otherwise the
 *	command's own status (see authready(1)).
 */
#include "ac-config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sanitize.h"

enum cli_option {
	OPT_DNS_SERVER = 256,
	OPT_DNS_TIMEOUT,
	OPT_CHECK_TIMEOUT,
	OPT_MAIL_FROM,
	OPT_MX,
	OPT_DMARC_MIN_POLICY,
	OPT_JSON,
	OPT_SPF_INCLUDE,
	OPT_EGRESS_IP,
	OPT_CONTACT,
	OPT_STATE_DIR,
	OPT_ALL,
	OPT_DUE,
	OPT_IP,
	OPT_SENDER,
	OPT_HELO,
	OPT_STORE_DSN,
	OPT_FROM_DOMAIN,
};

static const struct option cli_options[] = {
    {"config", required_argument, NULL, 'c'},
    {"dns-server", required_argument, NULL, OPT_DNS_SERVER},
    {"dns-timeout", required_argument, NULL, OPT_DNS_TIMEOUT},
    {"check-timeout", required_argument, NULL, OPT_CHECK_TIMEOUT},
    {"selector", required_argument, NULL, 's'},
    {"key", required_argument, NULL, 'k'},
    {"mail-from", required_argument, NULL, OPT_MAIL_FROM},
    {"mx", required_argument, NULL, OPT_MX},
    {"dmarc-min-policy", required_argument, NULL, OPT_DMARC_MIN_POLICY},
    {"json", no_argument, NULL, OPT_JSON},
    {"spf-include", required_argument, NULL, OPT_SPF_INCLUDE},
    {"egress-ip", required_argument, NULL, OPT_EGRESS_IP},
    {"contact", required_argument, NULL, OPT_CONTACT},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"all", no_argument, NULL, OPT_ALL},
    {"due", no_argument, NULL, OPT_DUE},
    {"ip", required_argument, NULL, OPT_IP},
    {"sender", required_argument, NULL, OPT_SENDER},
    {"helo", required_argument, NULL, OPT_HELO},
    {"store-dsn", required_argument, NULL, OPT_STORE_DSN},
    {"from-domain", required_argument, NULL, OPT_FROM_DOMAIN},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static const char cli_help[] =
    "usage: authready [-c FILE] [--dns-server ADDR[:PORT]]... "
    "[--dns-timeout SECONDS]\n"
    "                 [--check-timeout SECONDS] COMMAND [ARGS] [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  check [spf|dkim|dmarc|mx] DOMAIN\n"
    "                                 check the records DOMAIN must publish\n"
    "  spf --ip IP --sender ADDR --helo NAME\n"
    "                                 evaluate SPF (RFC 7208 check_host)\n"
    "  domain add DOMAIN [options]    register a sender domain\n"
    "  domain remove DOMAIN           unregister it\n"
    "  domain list [--json]           the registered domains\n"
    "  domain import FILE             register domains from CSV\n"
    "  domain export [FILE]           the registry as CSV for import\n"
    "  records DOMAIN [--json]        the zone lines DOMAIN must publish\n"
    "  status [DOMAIN] [--json]       readiness state, and what is wrong\n"
    "  refresh DOMAIN|--all|--due     check now and store the result\n"
    "                                 (StoreDSN: claimed with leases)\n"
    "  checkerd                       a fleet's checker: due rounds until\n"
    "                                 SIGTERM (StoreDSN)\n"
    "  release DOMAIN                 release the mail held for DOMAIN\n"
    "  (status, refresh and release also take an unregistered domain the\n"
    "  milter checked; refresh --all/--due first remove the ones unused\n"
    "  for UnregisteredExpiry)\n"
    "  store check                    verify the whole state store\n"
    "  db init|migrate|status         the fleet's PostgreSQL schema "
    "(StoreDSN)\n"
    "  db grants                      the GRANTs of the fleet's roles\n"
    "\n"
    "check options:\n"
    "  -s, --selector SEL             DKIM selector (repeatable)\n"
    "  -k, --key FILE                 private key the preceding selector's\n"
    "                                 record must match (PEM)\n"
    "      --mail-from LABEL|FQDN     MAIL FROM domain (default: mail)\n"
    "      --mx HOST                  an MX of the MAIL FROM domain must be "
    "HOST\n"
    "      --spf-include DOMAIN       SPF must include DOMAIN\n"
    "      --egress-ip IP[/LEN]       SPF must pass for IP, or every\n"
    "                                 address of IP/LEN (repeatable)\n"
    "      --dmarc-min-policy P       none, quarantine or reject "
    "(default: none)\n"
    "      --from-domain DOMAIN       mail will be From DOMAIN: adkim=s\n"
    "                                 must let it align (repeatable)\n"
    "      --json                     one JSON object on stdout\n"
    "\n"
    "domain add options: those of check but --from-domain, and\n"
    "      --contact ADDR             gets the confirmation mail\n"
    "\n"
    "global options:\n"
    "  -c, --config FILE              config file "
    "(default: " CONFIG_DEFAULT_PATH ")\n"
    "      --dns-server ADDR[:PORT]   DNS server to ask (repeatable)\n"
    "      --dns-timeout SECONDS      deadline per DNS lookup\n"
    "      --check-timeout SECONDS    deadline for all the lookups of one\n"
    "                                 check (CheckTimeout, default 20)\n"
    "      --state-dir DIR            the state store (default: StateDir)\n"
    "      --store-dsn URI            the fleet's PostgreSQL (default: "
    "StoreDSN)\n"
    "  -h, --help                     this text\n"
    "  -V, --version                  the version\n"
    "\n"
    "exit status of check: 0 ready, 1 not ready, 2 DNS trouble; of every\n"
    "command: 64 usage error, 69 PostgreSQL refused, 75 PostgreSQL down,\n"
    "78 configuration error.  See authready(1).\n";

int
cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
	char raw[CLI_MESSAGE_MAX], shown[CLI_MESSAGE_MAX];
	va_list ap;
	int n;

	/* Arguments are echoed; a terminal must not act on their bytes. */
	va_start(ap, fmt);
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (n < 0)
		raw[0] = '\0';
	sanitize_text(shown, sizeof(shown), (const unsigned char *)raw,
	              strlen(raw));
	fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n",
	        cli->progname, shown, cli->progname);
	return CLI_EXIT_USAGE;
}

/* cli_add_arg - one positional argument; -1 (with *status) when full. */
static int
cli_add_arg(struct cli *cli, char *arg, int *status)
{
	if (cli->nargs == CLI_ARGS_MAX) {
		*status = cli_usage_error(cli, "too many arguments");
		return -1;
	}
	cli->args[cli->nargs++] = arg;
	return 0;
}

/* cli_bad_option - name the option getopt refused, in the word it is in. */
static int
cli_bad_option(const struct cli *cli, const char *word, int opt, bool missing)
{
	char name[CLI_MESSAGE_MAX];

	/* A short option inside a longer word ("-example.com"). */
	if (opt != 0 && word[0] == '-' && word[1] != '-' && strlen(word) > 2)
		snprintf(name, sizeof(name), "'-%c' in '%s'", opt, word);
	else
		snprintf(name, sizeof(name), "'%s'", word);
	if (missing)
		return cli_usage_error(cli, "option %s needs a value", name);
	return cli_usage_error(cli, "unknown option %s", name);
}

/* cli_parse - fill cli from argv; returns -1 to exit with *status. */
static int
cli_parse(struct cli *cli, int argc, char **argv, int *status)
{
	int c, word = 1;

	/*
	 * "-" keeps argv in order (positional arguments come back as 1), so
	 * the word being read is known: getopt's optind - 1 is not it while
	 * a cluster of short options is read, nor after a permutation.
	 */
	opterr = 0;
	for (;;) {
		if (optind < argc && optind >= word)
			word = optind;
		c = getopt_long(argc, argv, "-:c:s:k:hV", cli_options, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 1:
			if (cli_add_arg(cli, optarg, status) != 0)
				return -1;
			break;
		case 'c':
			cli->config_path = optarg;
			break;
		case OPT_DNS_SERVER:
			if (cli->ndns_servers == DNS_SERVERS_MAX) {
				*status = cli_usage_error(
				    cli, "at most %d --dns-server options",
				    DNS_SERVERS_MAX);
				return -1;
			}
			cli->dns_servers[cli->ndns_servers++] = optarg;
			break;
		case OPT_DNS_TIMEOUT:
			cli->dns_timeout = optarg;
			break;
		case OPT_CHECK_TIMEOUT:
			cli->check_timeout = optarg;
			break;
		case 's':
			if (cli->nselectors == READINESS_SELECTORS_MAX) {
				*status = cli_usage_error(
				    cli, "at most %d --selector options",
				    READINESS_SELECTORS_MAX);
				return -1;
			}
			cli->selectors[cli->nselectors++].name = optarg;
			break;
		case 'k':
			if (cli->nselectors == 0 ||
			    cli->selectors[cli->nselectors - 1].key_file) {
				*status = cli_usage_error(
				    cli, "--key must follow the --selector it "
				         "belongs to");
				return -1;
			}
			cli->selectors[cli->nselectors - 1].key_file = optarg;
			break;
		case OPT_MAIL_FROM:
			cli->mail_from = optarg;
			break;
		case OPT_MX:
			cli->mx_host = optarg;
			break;
		case OPT_DMARC_MIN_POLICY:
			cli->dmarc_min_policy = optarg;
			break;
		case OPT_JSON:
			cli->json = true;
			break;
		case OPT_SPF_INCLUDE:
			cli->spf_include = optarg;
			break;
		case OPT_EGRESS_IP:
			if (cli->negress == CONFIG_EGRESS_MAX) {
				*status = cli_usage_error(
				    cli, "at most %d --egress-ip options",
				    CONFIG_EGRESS_MAX);
				return -1;
			}
			cli->egress[cli->negress++] = optarg;
			break;
		case OPT_CONTACT:
			cli->contact = optarg;
			break;
		case OPT_STATE_DIR:
			cli->state_dir = optarg;
			break;
		case OPT_ALL:
			cli->all = true;
			break;
		case OPT_DUE:
			cli->due = true;
			break;
		case OPT_IP:
			cli->ip = optarg;
			break;
		case OPT_SENDER:
			cli->sender = optarg;
			break;
		case OPT_HELO:
			cli->helo = optarg;
			break;
		case OPT_STORE_DSN:
			cli->store_dsn = optarg;
			break;
		case OPT_FROM_DOMAIN:
			if (cli->nfrom == READINESS_FROM_MAX) {
				*status = cli_usage_error(
				    cli, "at most %d --from-domain options",
				    READINESS_FROM_MAX);
				return -1;
			}
			cli->from_domains[cli->nfrom++] = optarg;
			break;
		case 'h':
			fputs(cli_help, stdout);
			*status = 0;
			return -1;
		case 'V':
			printf("authready %s\n", PACKAGE_VERSION);
			*status = 0;
			return -1;
		case ':':
			*status = cli_bad_option(cli, argv[word], optopt, true);
			return -1;
		default:
			*status =
			    cli_bad_option(cli, argv[word], optopt, false);
			return -1;
		}
	}
	for (; optind < argc; optind++)
		if (cli_add_arg(cli, argv[optind], status) != 0)
			return -1;
	return 0;
}

/* cli_load_config - the config file, then global overrides. */
static int
cli_load_config(struct cli *cli)
{
	char err[CONFIG_LINE_MAX];
	const char *path =
	    cli->config_path ? cli->config_path : CONFIG_DEFAULT_PATH;
	size_t i;

	if (config_load(path, cli->config_path != NULL, &cli->cfg, err,
	                sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cli->progname, err);
		return CLI_EXIT_CONFIG;
	}
	if (cli->ndns_servers > 0) {
		for (i = 0; i < cli->ndns_servers; i++) {
			if (dns_server_parse(cli->dns_servers[i], err,
			                     sizeof(err)) != 0)
				return cli_usage_error(cli, "--dns-server: %s",
				                       err);
			snprintf(cli->cfg.dns.servers[i],
			         sizeof(cli->cfg.dns.servers[i]), "%s",
			         cli->dns_servers[i]);
		}
		cli->cfg.dns.nservers = cli->ndns_servers;
	}
	if (cli->state_dir != NULL) {
		if (cli->state_dir[0] != '/' ||
		    strlen(cli->state_dir) >= sizeof(cli->cfg.state_dir))
			return cli_usage_error(
			    cli, "--state-dir needs an absolute path");
		snprintf(cli->cfg.state_dir, sizeof(cli->cfg.state_dir), "%s",
		         cli->state_dir);
	}
	if (cli->store_dsn != NULL) {
		if (strlen(cli->store_dsn) >= sizeof(cli->cfg.store_dsn))
			return cli_usage_error(cli, "--store-dsn is too long");
		snprintf(cli->cfg.store_dsn, sizeof(cli->cfg.store_dsn), "%s",
		         cli->store_dsn);
	}
	if (cli->dns_timeout != NULL &&
	    config_parse_timeout(cli->dns_timeout, &cli->cfg.dns.timeout_ms) !=
	        0)
		return cli_usage_error(
		    cli,
		    "--dns-timeout: '%s' is not a number of seconds between "
		    "0.001 and 300",
		    cli->dns_timeout);
	if (cli->check_timeout != NULL &&
	    config_parse_timeout(cli->check_timeout,
	                         &cli->cfg.check_timeout_ms) != 0)
		return cli_usage_error(
		    cli,
		    "--check-timeout: '%s' is not a number of seconds between "
		    "0.001 and 300",
		    cli->check_timeout);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(struct cli *cli);
} cli_commands[] = {
    {"check", cli_check},     {"spf", cli_spf},
    {"domain", cli_domain},   {"records", cli_records},
    {"status", cli_status},   {"refresh", cli_refresh},
    {"release", cli_release}, {"store", cli_store},
    {"db", cli_db},           {"checkerd", cli_checkerd},
};

int
main(int argc, char **argv)
{
	struct cli cli;
	int status = 0;
	size_t i;
	const char *slash;
	char err[256];

	memset(&cli, 0, sizeof(cli));
	slash = strrchr(argv[0], '/');
	cli.progname = slash ? slash + 1 : argv[0];
	/* A damaged store page must end in one message and 78, not a
	 * signal (store.h, store_guard_install). */
	if (store_guard_install(cli.progname, err, sizeof(err)) != STORE_OK)
		fprintf(stderr, "%s: warning: %s\n", cli.progname, err);
	if (cli_parse(&cli, argc, argv, &status) != 0)
		return status;
	if (cli.nargs == 0)
		return cli_usage_error(&cli, "no command given");
	if (cli.nfrom > 0 && strcmp(cli.args[0], "check") != 0)
		return cli_usage_error(&cli, "--from-domain is an option of "
		                             "check only");
	if ((status = cli_load_config(&cli)) != 0)
		return status;
	for (i = 0; i < sizeof(cli_commands) / sizeof(*cli_commands); i++)
		if (strcmp(cli.args[0], cli_commands[i].name) == 0)
			return cli_commands[i].run(&cli);
	return cli_usage_error(&cli, "unknown command '%s'", cli.args[0]);
}
