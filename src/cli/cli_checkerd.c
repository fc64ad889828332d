/*
 * cli_checkerd.c - `authready checkerd`: a fleet's standalone checker.
 *
 * SYNOPSIS
 *	int cli_checkerd(struct cli *cli);
 *
 * DESCRIPTION
 *	With StoreDSN, runs due rounds in the foreground until SIGTERM or
 *	SIGINT: each round claims the due domains in PostgreSQL with leases,
 *	checks them, writes each result back fenced by its lease (then to
 *	this host's LMDB), and sends the fleet's waiting confirmation
 *	notices (pgcheck.c).  Between rounds it waits
 *	CLI_CHECKERD_POLL_MS.  A round that found nothing to do (no domain
 *	due, no notice) doubles the wait before the next one, up to
 *	CLI_CHECKERD_IDLE_MAX_MS (the milter daemon's tick): an idle
 *	round still reads every key of authready_checks, since no index on
 *	next_check keeps the leases' updates HOT.  A notification cuts the
 *	wait short and brings it back to CLI_CHECKERD_POLL_MS: the
 *	connection LISTENs on authready_changes (every registration,
 *	removal and write-back) and authready_due (a check asked for,
 *	pgreg_check_row).  What becomes due with no notification (the time
 *	of a next_check, a lease that ran out) waits at most the idle
 *	wait.  A PostgreSQL that goes away is reconnected with a growing
 *	delay (at most CLI_CHECKERD_BACKOFF_MAX_MS); nothing is lost, the
 *	leases of an interrupted round run out.
 *
 *	Every line is logged on stderr (log.h): event=fleet-check per
 *	domain checked, event=fleet-write, event=fleet-dropped,
 *	event=fleet-notice, and event=fleet-round per round with work;
 *	event=checkerd-idle once the idle wait reached its longest, and
 *	event=checkerd-woken when a notification cut such a wait short.
 *
 * EXIT STATUS
 *	0 after SIGTERM; 64 usage; 78 config (no StoreDSN, a schema that
 *	does not match); 69 refused.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "cli.h"
#include "log.h"
#include "pgcheck.h"
#include "text.h"

#define CLI_CHECKERD_POLL_MS 1000
#define CLI_CHECKERD_IDLE_MAX_MS 15000 /* CHECKERD_TICK_SECONDS */
#define CLI_CHECKERD_BACKOFF_MAX_MS 30000

static volatile sig_atomic_t cli_checkerd_stop;

/* cli_checkerd_signal - SIGTERM, SIGINT: stop after this round. */
static void
cli_checkerd_signal(int sig)
{
	(void)sig;
	cli_checkerd_stop = 1;
}

/* cli_checkerd_sleep - wait ms, or less when a signal comes. */
static void
cli_checkerd_sleep(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
	                      .tv_nsec = (long)(ms % 1000) * 1000000L};

	if (!cli_checkerd_stop)
		nanosleep(&ts, NULL);
}

/* cli_checkerd_listen - the wake-ups of an idle wait on conn. */
static int
cli_checkerd_listen(PGconn *conn, char *err, size_t errlen)
{
	int rc;

	rc = pgconn_exec(conn, "listening for changes",
	                 "LISTEN authready_changes", 0, NULL, NULL, NULL, NULL,
	                 err, errlen);
	if (rc == PGCONN_OK)
		rc = pgconn_exec(conn, "listening for checks asked for",
		                 "LISTEN authready_due", 0, NULL, NULL, NULL,
		                 NULL, err, errlen);
	return rc;
}

/* cli_checkerd_wait_notified - wait up to ms for a notification on conn
 * (or a signal); true when one came. */
static bool
cli_checkerd_wait_notified(PGconn *conn, unsigned ms)
{
	uint64_t deadline = text_now_ms() + ms, now;
	struct pollfd pfd;

	pfd.fd = PQsocket(conn);
	pfd.events = POLLIN;
	while (!cli_checkerd_stop) {
		if (pgconn_notified(conn) != 0)
			return true; /* or broken: the next round finds out */
		if ((now = text_now_ms()) >= deadline || pfd.fd < 0)
			return false;
		if (poll(&pfd, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			return false;
	}
	return false;
}

/* cli_checkerd_round - one due round and the notices; a pgcheck status,
 * *busy whether it checked or sent anything. */
static int
cli_checkerd_round(struct cli *cli, PGconn *conn, struct store *st,
                   struct dns *dns, bool *busy, char *err, size_t errlen)
{
	struct checker_options opt;
	struct checker_stats stats;
	struct pgcheck pc;
	struct log_line line;
	size_t sent = 0, failed = 0;
	char num[32];
	int rc;

	if ((rc = pgcheck_open(&pc, conn, &cli->cfg, err, errlen)) != 0)
		return PGCONN_CONFIG;
	checker_options_init(&opt, &cli->cfg, (int64_t)time(NULL));
	memset(&stats, 0, sizeof(stats));
	rc =
	    pgcheck_round(&pc, st, dns, &opt, false, NULL, &stats, err, errlen);
	if (rc == 0)
		rc = pgcheck_notices(&pc, cli->cfg.sendmail_path, &sent,
		                     &failed, err, errlen);
	pgcheck_close(&pc);
	*busy = stats.total > 0 || sent > 0 || failed > 0;
	if (!*busy)
		return rc;
	log_line_init(&line);
	log_field_text(&line, "event", "fleet-round");
	snprintf(num, sizeof(num), "%zu", stats.done);
	log_field_text(&line, "checked", num);
	snprintf(num, sizeof(num), "%zu", stats.dropped);
	log_field_text(&line, "dropped", num);
	snprintf(num, sizeof(num), "%zu", stats.errors);
	log_field_text(&line, "errors", num);
	snprintf(num, sizeof(num), "%zu", sent);
	log_field_text(&line, "notices", num);
	snprintf(num, sizeof(num), "%" PRIu64, pc.waited_claim_ms);
	log_field_text(&line, "waited_claim_ms", num);
	snprintf(num, sizeof(num), "%" PRIu64, pc.waited_write_ms);
	log_field_text(&line, "waited_write_ms", num);
	log_emit(LOG_INFO, &line);
	return rc;
}

int
cli_checkerd(struct cli *cli)
{
	struct sigaction sa;
	struct store *st;
	struct dns *dns;
	PGconn *conn = NULL;
	char err[1024];
	unsigned backoff = 0, idle_ms = CLI_CHECKERD_POLL_MS;
	bool busy;
	int rc;

	if (cli->nargs != 1)
		return cli_usage_error(cli, "usage: checkerd");
	if (cli->cfg.store_dsn[0] == '\0') {
		fprintf(stderr,
		        "%s: checkerd needs StoreDSN (a fleet's PostgreSQL)\n",
		        cli->progname);
		return CLI_EXIT_CONFIG;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cli_checkerd_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((rc = cli_pg_open(cli, &conn)) != 0)
		return rc;
	if ((rc = cli_checkerd_listen(conn, err, sizeof(err))) != PGCONN_OK) {
		fprintf(stderr, "%s: %s\n", cli->progname, err);
		PQfinish(conn);
		return pgconn_exit(rc);
	}
	if ((st = cli_store_open(cli, STORE_CREATE, NULL)) == NULL) {
		PQfinish(conn);
		return CLI_EXIT_CONFIG;
	}
	if (dns_open(&dns, &cli->cfg.dns, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: DNS: %s\n", cli->progname, err);
		store_close(st);
		PQfinish(conn);
		return CLI_EXIT_CONFIG;
	}
	/* Two lines a check (fleet-check, fleet-write): written in batches
	 * by log.c's writer thread, not one write(2) each on this one. */
	if (log_start_async_lossless(err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cli->progname, err);
		dns_close(dns);
		store_close(st);
		PQfinish(conn);
		return CLI_EXIT_FAILURE;
	}
	log_msg(LOG_INFO, "event=checkerd-start");
	while (!cli_checkerd_stop) {
		if (conn == NULL) {
			rc = pgconn_open(&cli->cfg, &conn, err, sizeof(err));
			if (rc == PGCONN_OK)
				rc =
				    pgconn_check_schema(conn, err, sizeof(err));
			if (rc == PGCONN_OK)
				rc =
				    cli_checkerd_listen(conn, err, sizeof(err));
			if (rc != PGCONN_OK) {
				PQfinish(conn);
				conn = NULL;
				log_msg(LOG_WARNING,
				        "event=checkerd-db-down retry_ms=%u",
				        backoff);
				cli_checkerd_sleep(backoff);
				backoff = backoff ? backoff * 2 : 500;
				if (backoff > CLI_CHECKERD_BACKOFF_MAX_MS)
					backoff = CLI_CHECKERD_BACKOFF_MAX_MS;
				continue;
			}
			log_msg(LOG_INFO, "event=checkerd-db-reconnected");
			backoff = 0;
			idle_ms = CLI_CHECKERD_POLL_MS;
		}
		/* What was notified so far this round sees: its own
		 * write-backs' notifications are taken by the next one. */
		(void)pgconn_notified(conn);
		busy = false;
		rc = cli_checkerd_round(cli, conn, st, dns, &busy, err,
		                        sizeof(err));
		if (rc == PGCHECK_LOCAL) {
			log_stop(); /* its lines first */
			fprintf(stderr, "%s: %s\n", cli->progname, err);
			break;
		}
		if (rc != 0) {
			log_msg(LOG_WARNING, "event=checkerd-round-failed");
			if (PQstatus(conn) != CONNECTION_OK) {
				PQfinish(conn);
				conn = NULL;
			}
		}
		cli_checkerd_sleep(CLI_CHECKERD_POLL_MS);
		if (busy || rc != 0 || conn == NULL) {
			idle_ms = CLI_CHECKERD_POLL_MS;
			continue;
		}
		/* Idle: the next round after a longer wait, unless told. */
		if (idle_ms > CLI_CHECKERD_POLL_MS &&
		    cli_checkerd_wait_notified(
		        conn, idle_ms - CLI_CHECKERD_POLL_MS)) {
			log_msg(LOG_INFO, "event=checkerd-woken idle_ms=%u",
			        idle_ms);
			idle_ms = CLI_CHECKERD_POLL_MS;
			continue;
		}
		if (idle_ms < CLI_CHECKERD_IDLE_MAX_MS) {
			idle_ms = idle_ms * 2 < CLI_CHECKERD_IDLE_MAX_MS
			              ? idle_ms * 2
			              : CLI_CHECKERD_IDLE_MAX_MS;
			if (idle_ms == CLI_CHECKERD_IDLE_MAX_MS)
				log_msg(LOG_INFO,
				        "event=checkerd-idle wait_ms=%u (no "
				        "domain due: rounds this far apart "
				        "until a change is notified)",
				        idle_ms);
		}
	}
	log_msg(LOG_INFO, "event=checkerd-stop");
	log_stop();
	dns_close(dns);
	store_close(st);
	PQfinish(conn);
	return rc == PGCHECK_LOCAL ? CLI_EXIT_CONFIG : 0;
}
