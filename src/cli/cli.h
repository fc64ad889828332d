/*
 * cli.h - the authready(1) command line: shared options and subcommands.
 *
 * SYNOPSIS
 *	#include "cli.h"
 *
 *	int cli_usage_error(const struct cli *cli, const char *fmt, ...);
 *	int cli_check(struct cli *cli);
 *	int cli_spf(struct cli *cli);
 *	int cli_domain(struct cli *cli);
 *	int cli_records(struct cli *cli);
 *	int cli_status(struct cli *cli);
 *	int cli_refresh(struct cli *cli);
 *	int cli_release(struct cli *cli);
 *	int cli_store(struct cli *cli);
 *	int cli_domain_export(struct cli *cli);
 *	int cli_db(struct cli *cli);
 *	int cli_pg_open(struct cli *cli, PGconn **conn);
 *	void cli_store_opts(struct cli *cli, struct store_opts *opts);
 *	const char *cli_time(int64_t t, char *buf, size_t len);
 *
 * DESCRIPTION
 *	authready.c parses the global options (-c, --dns-server, --dns-timeout,
 *	--check-timeout) together with every subcommand's options, loads the
 *	config, and hands a struct cli to the subcommand.  Exit codes follow
 *	sysexits(3) for usage (64) and configuration (78) errors.
 */
#ifndef AUTHREADY_CLI_H
#define AUTHREADY_CLI_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "configfile.h"
#include "pgconn.h"
#include "readiness.h"
#include "store.h"

#define CLI_EXIT_READY 0
#define CLI_EXIT_NOT_READY 1
#define CLI_EXIT_UNDECIDED 2
#define CLI_EXIT_USAGE 64
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_CONFIG 78
#define CLI_ARGS_MAX 8
#define CLI_MESSAGE_MAX 1024

struct cli_selector {
	const char *name;
	const char *key_file; /* NULL when none */
};

struct cli {
	const char *progname;
	const char *config_path; /* -c, or NULL for the default */
	struct config cfg;       /* config file, then command-line overrides */

	/* Command-line values; NULL/0 when not given. */
	const char *dns_servers[DNS_SERVERS_MAX];
	size_t ndns_servers;
	const char *dns_timeout;
	const char *check_timeout;
	struct cli_selector selectors[READINESS_SELECTORS_MAX];
	size_t nselectors;
	const char *mail_from;
	const char *mx_host;
	const char *dmarc_min_policy;
	const char *spf_include;
	const char *egress[CONFIG_EGRESS_MAX];
	size_t negress;
	const char *from_domains[READINESS_FROM_MAX]; /* check --from-domain */
	size_t nfrom;
	const char *contact;
	const char *state_dir;
	const char *store_dsn; /* --store-dsn */
	const char *ip;        /* spf --ip */
	const char *sender;    /* spf --sender */
	const char *helo;      /* spf --helo */
	bool json;
	bool all;
	bool due;

	const char *args[CLI_ARGS_MAX]; /* positional arguments */
	size_t nargs;
};

/* cli_usage_error - print "authready: message" and a hint; returns 64. */
int cli_usage_error(const struct cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* cli_check - `authready check [TYPE] DOMAIN`; returns the exit code. */
int cli_check(struct cli *cli);

/* cli_spf - `authready spf --ip IP --sender ADDR --helo NAME`. */
int cli_spf(struct cli *cli);

/* cli_domain - `authready domain add|remove|list|import ...`. */
int cli_domain(struct cli *cli);

/* cli_records - `authready records DOMAIN`. */
int cli_records(struct cli *cli);

/* cli_status - `authready status [DOMAIN]`. */
int cli_status(struct cli *cli);

/* cli_refresh - `authready refresh DOMAIN|--all`. */
int cli_refresh(struct cli *cli);

/* cli_release - `authready release DOMAIN`. */
int cli_release(struct cli *cli);

/* cli_store - `authready store check`. */
int cli_store(struct cli *cli);

/* cli_domain_export - `authready domain export [FILE]`. */
int cli_domain_export(struct cli *cli);

/* cli_db - `authready db init|migrate|status|grants`. */
int cli_db(struct cli *cli);

/*
 * cli_pg_open - connect to StoreDSN and check the schema; 0 with *conn,
 * else the exit code after a message (69, 75, 78).
 */
int cli_pg_open(struct cli *cli, PGconn **conn);

/* cli_checkerd - `authready checkerd` (cli_checkerd.c). */
int cli_checkerd(struct cli *cli);

/* cli_store_open - the state store of the config; NULL after a message.
 * With absent non-NULL, no store yet (no StateDir, or one without
 * data.mdb: an empty registry) gives NULL silently and sets *absent;
 * with NULL the store must exist (or flags create it). */
struct store *cli_store_open(struct cli *cli, unsigned flags, bool *absent);

/* cli_store_opts - store options that print warnings as the CLI does. */
void cli_store_opts(struct cli *cli, struct store_opts *opts);

/* cli_time - a unix time as 2026-11-27T00:52:36Z ("never" for 0). */
const char *cli_time(int64_t t, char *buf, size_t len);

#endif
