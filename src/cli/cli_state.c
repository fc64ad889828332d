/*
 * cli_state.c - `authready records|status|refresh`, and the store access
 * the commands share.
 *
 * SYNOPSIS
 *	int cli_records(struct cli *cli);
 *	int cli_status(struct cli *cli);
 *	int cli_refresh(struct cli *cli);
 *	int cli_release(struct cli *cli);
 *	struct store *cli_store_open(cli, flags, absent);
 *	const char *cli_time(t, buf, len);
 *
 * DESCRIPTION
 *	records prints the zone-file lines a registered domain must publish.
 *	status shows each domain's state, since when, last and next check,
 *	and what is wrong in words.  refresh checks now (one domain, all of
 *	them with a progress bar on a terminal, or those due, for cron) and
 *	stores the result through the checker, which also sends
 *	first-verification mails.  release hands a domain's held mail
 *	back to the MTA (ReleaseCommand, postsuper -H by default).
 *
 *	status, refresh and release also take an unregistered domain that
 *	has a state (the milter checked it with the global expectations,
 *	UnregisteredDomains check); status marks it as unregistered, and
 *	refresh --all and --due include them and first remove those no mail
 *	used for UnregisteredExpiry.
 *
 *	No store yet (no StateDir, or no data.mdb in it) is an empty
 *	registry: status lists nothing, a DOMAIN is not registered, and
 *	nothing is created.  refresh prints a change of state only once it
 *	is committed; when the store cannot be written it names each domain
 *	whose result was lost and counts what was stored.
 *
 * DIAGNOSTICS
 *	0 done; 1 the domain is not registered (and, where allowed, has no
 *	state either), or some domain could not be checked; 64 usage; 78
 *	store, DNS or config trouble (refresh: a result that could not be
 *	stored).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checker.h"
#include "cli.h"
#include "json.h"
#include "pgcheck.h"
#include "regops.h"
#include "release.h"
#include "state.h"
#include "text.h"
#include "zonelines.h"

#define CLI_PROGRESS_MS 100

const char *
cli_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "never");
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* cli_mode - a stored DMARC alignment mode: "r", "s", or "" unknown. */
static const char *
cli_mode(char m)
{
	return m == 'r' ? "r" : m == 's' ? "s" : "";
}

static void
cli_store_warn(void *ctx, const char *msg)
{
	const struct cli *cli = ctx;

	fprintf(stderr, "%s: warning: %s\n", cli->progname, msg);
}

void
cli_store_opts(struct cli *cli, struct store_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->warn = cli_store_warn;
	opts->warn_ctx = cli;
}

struct store *
cli_store_open(struct cli *cli, unsigned flags, bool *absent)
{
	struct store_opts opts;
	struct store *st;
	char err[REGOPS_ERR_MAX];

	cli_store_opts(cli, &opts);
	if (regops_store_open(&cli->cfg, flags, &opts, absent, &st, err,
	                      sizeof(err)) != STORE_OK) {
		fprintf(stderr, "%s: %s\n", cli->progname, err);
		return NULL;
	}
	return st;
}

/*
 * cli_lookup - the entry for args[1]; with unregistered non-NULL also an
 * unregistered domain that has a state (*unregistered set, reg holds only
 * the domain: the global expectations).  An exit code when there is none.
 * A NULL st is a store that does not exist yet: nothing is registered.
 */
static int
cli_lookup(struct cli *cli, struct store *st, struct domain_reg *reg,
           bool *unregistered)
{
	char domain[DOMAIN_BUF], err[512];
	int rc;

	if (domain_normalize(cli->args[1], strlen(cli->args[1]), domain,
	                     sizeof(domain), err, sizeof(err)) != 0)
		return cli_usage_error(cli, "invalid domain: %s", err);
	rc = regops_lookup(st, domain, reg, unregistered, err, sizeof(err));
	if (rc == STORE_NOTFOUND && unregistered != NULL) {
		fprintf(stderr,
		        "%s: %s is not registered (authready domain add "
		        "%s), and no mail from it was checked\n",
		        cli->progname, domain, domain);
		return CLI_EXIT_FAILURE;
	}
	if (rc == STORE_NOTFOUND) {
		fprintf(stderr,
		        "%s: %s is not registered (authready domain add %s)\n",
		        cli->progname, domain, domain);
		return CLI_EXIT_FAILURE;
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "%s: %s\n", cli->progname, err);
		return CLI_EXIT_CONFIG;
	}
	return 0;
}

/* cli_registered - the entry for args[1]; an exit code when not. */
static int
cli_registered(struct cli *cli, struct store *st, struct domain_reg *reg)
{
	return cli_lookup(cli, st, reg, NULL);
}

int
cli_records(struct cli *cli)
{
	static struct zonelines_set set;
	struct domain_reg reg;
	struct store *st;
	char err[1024];
	bool absent;
	int rc;

	if (cli->nargs != 2)
		return cli_usage_error(cli, "usage: records DOMAIN [--json]");
	if ((st = cli_store_open(cli, STORE_RDONLY, &absent)) == NULL &&
	    !absent)
		return CLI_EXIT_CONFIG;
	rc = cli_registered(cli, st, &reg);
	store_close(st);
	if (rc != 0)
		return rc;
	if (regops_records(&cli->cfg, &reg, &set, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cli->progname, err);
		return CLI_EXIT_CONFIG;
	}
	if (cli->json)
		zonelines_print_json(stdout, &set);
	else
		zonelines_print_zone(stdout, &set);
	return 0;
}

/* Status ---------------------------------------------------------------- */

struct cli_status_ctx {
	struct cli *cli;
	struct store *st;
	int64_t now;
	size_t n;
	int detail;        /* one domain: records and held mail too */
	bool unregistered; /* the domain shown has no registry entry */
};

/* The door a held entry came through (storecodec.h), by value. */
static const char *const cli_held_doors[] = {
    [HELD_DOOR_UNKNOWN] = "unknown",
    [HELD_DOOR_UNIX] = "unix",
    [HELD_DOOR_INET] = "inet",
};

static int
cli_status_held(void *ctx, const struct held_msg *msg)
{
	struct cli_status_ctx *sc = ctx;
	const char *door =
	    msg->door <= HELD_DOOR_INET ? cli_held_doors[msg->door] : "unknown";
	char when[32];

	cli_time(msg->held_at, when, sizeof(when));
	if (sc->cli->json) {
		fputs(sc->n++ ? ", {" : "{", stdout);
		json_field(stdout, "queue_id", msg->queue_id, false);
		json_field(stdout, "held_at", when, false);
		json_field(stdout, "sender", msg->sender, false);
		json_field(stdout, "door", door, false);
		json_field(stdout, "reason", msg->reason, true);
		fputs("}", stdout);
	} else {
		printf("  held  %-16s since %s  door %s  %s\n", msg->queue_id,
		       when, door, msg->reason);
	}
	return 0;
}

static void
cli_status_json(struct cli_status_ctx *sc, const struct domain_state *s,
                const char *summary)
{
	char t[32];
	size_t i;

	fputs(sc->n ? ", {" : "{", stdout);
	json_field(stdout, "domain", s->domain, false);
	json_field(stdout, "state", state_readiness_name(s->state), false);
	json_field(stdout, "since", cli_time(s->since, t, sizeof(t)), false);
	json_field(stdout, "last_check", cli_time(s->last_check, t, sizeof(t)),
	           false);
	json_field(stdout, "last_success",
	           cli_time(s->last_success, t, sizeof(t)), false);
	json_field(stdout, "next_check", cli_time(s->next_check, t, sizeof(t)),
	           false);
	printf("\"dns_errors\": %u, \"registered\": %s, ", s->dns_errors,
	       sc->unregistered ? "false" : "true");
	json_field(stdout, "organizational_domain", s->org, false);
	json_field(stdout, "dmarc_adkim", cli_mode(s->adkim), false);
	json_field(stdout, "dmarc_aspf", cli_mode(s->aspf), false);
	if (sc->unregistered)
		json_field(stdout, "last_used",
		           cli_time(s->last_used, t, sizeof(t)), false);
	json_field(stdout, "summary", summary, false);
	fputs("\"records\": [", stdout);
	for (i = 0; i < s->nrecords && i < DOMAIN_RECORDS_MAX; i++) {
		fputs(i ? ", {" : "{", stdout);
		json_field(stdout, "type",
		           check_type_name((enum check_type)s->records[i].type),
		           false);
		json_field(stdout, "name", s->records[i].name, false);
		json_field(
		    stdout, "status",
		    check_status_name((enum check_status)s->records[i].status),
		    false);
		json_field(stdout, "detail", s->records[i].detail, true);
		fputs("}", stdout);
	}
	fputs("]", stdout);
	if (sc->detail) {
		char err[256];
		size_t n = sc->n;

		fputs(", \"held\": [", stdout);
		sc->n = 0;
		store_held_list(sc->st, s->domain, cli_status_held, sc, err,
		                sizeof(err));
		sc->n = n;
		fputs("]", stdout);
	}
	fputs("}", stdout);
}

/* cli_status_unreg_text - "unregistered ..., last mail ..." in words. */
static void
cli_status_unreg_text(struct cli_status_ctx *sc, const struct domain_state *s,
                      char *buf, size_t len)
{
	char used[32], until[32];
	int64_t expiry = sc->cli->cfg.unreg_expiry;

	cli_time(s->last_used, used, sizeof(used));
	if (s->last_used > 0 && s->last_used <= INT64_MAX - expiry)
		cli_time(s->last_used + expiry, until, sizeof(until));
	else
		snprintf(until, sizeof(until), "(set at its next check)");
	snprintf(
	    buf, len,
	    "unregistered: checked with the global settings; last mail %s; "
	    "removed if no mail uses it by %s",
	    used, until);
}

static void
cli_status_text(struct cli_status_ctx *sc, const struct domain_state *s,
                const char *summary)
{
	char since[32], last[32], next[32], err[256], unreg[200];
	size_t i;

	cli_time(s->since, since, sizeof(since));
	cli_time(s->last_check, last, sizeof(last));
	cli_time(s->next_check, next, sizeof(next));
	if (!sc->detail) {
		printf("%-40s %-9s %-21s %-21s %s%s\n", s->domain,
		       state_readiness_name(s->state), since, next,
		       sc->unregistered ? "(unregistered) " : "", summary);
		return;
	}
	printf("%s: %s since %s\n", s->domain, state_readiness_name(s->state),
	       since);
	if (sc->unregistered) {
		cli_status_unreg_text(sc, s, unreg, sizeof(unreg));
		printf("  %s\n", unreg);
	}
	printf("  last check %s, next check %s, DNS errors %u\n", last, next,
	       s->dns_errors);
	if (s->org[0] != '\0')
		printf("  organizational domain %s (RFC 9989 tree walk)\n",
		       s->org);
	if (s->adkim != 0 && s->aspf != 0)
		printf(
		    "  DMARC alignment adkim=%s aspf=%s (the record's modes; "
		    "the milter's alignment reads them)\n",
		    cli_mode(s->adkim), cli_mode(s->aspf));
	for (i = 0; i < s->nrecords && i < DOMAIN_RECORDS_MAX; i++)
		printf(
		    "  %-5s %-9s %s: %s\n",
		    check_type_name((enum check_type)s->records[i].type),
		    check_status_name((enum check_status)s->records[i].status),
		    s->records[i].name, s->records[i].detail);
	printf("  %s\n", summary);
	store_held_list(sc->st, s->domain, cli_status_held, sc, err,
	                sizeof(err));
}

static int
cli_status_one(void *ctx, const struct domain_reg *reg)
{
	struct cli_status_ctx *sc = ctx;
	struct domain_state s;
	char summary[1024];

	regops_summary(sc->st, reg->domain, sc->now, &s, summary,
	               sizeof(summary));
	if (sc->cli->json)
		cli_status_json(sc, &s, summary);
	else
		cli_status_text(sc, &s, summary);
	sc->n++;
	return 0;
}

/* cli_status_unreg - one unregistered domain's state, in the list. */
static int
cli_status_unreg(void *ctx, const struct domain_state *state, bool held)
{
	struct cli_status_ctx *sc = ctx;
	char summary[1024];

	(void)held;
	state_describe(state, sc->now, summary, sizeof(summary));
	sc->unregistered = true;
	if (sc->cli->json)
		cli_status_json(sc, state, summary);
	else
		cli_status_text(sc, state, summary);
	sc->unregistered = false;
	sc->n++;
	return 0;
}

/* cli_status_replica - "replica: position V, last heard N s ago" when the
 * store is a replica of PostgreSQL (authready-milter(8), Replica). */
static void
cli_status_replica(struct cli_status_ctx *sc)
{
	struct store_replica rp;
	char err[256];

	if (store_replica_get(sc->st, &rp, err, sizeof(err)) != STORE_OK)
		return;
	if (rp.heard_ms <= 0)
		printf("replica: position %lld, never heard from PostgreSQL\n",
		       (long long)rp.position);
	else
		printf("replica: position %lld, last heard %lld s ago\n",
		       (long long)rp.position,
		       (long long)(sc->now - rp.heard_ms / 1000));
}

int
cli_status(struct cli *cli)
{
	struct cli_status_ctx sc = {.cli = cli, .now = (int64_t)time(NULL)};
	struct domain_reg reg;
	size_t ncorrupt = 0;
	char err[512];
	bool absent = false;
	int rc;

	if (cli->nargs > 2)
		return cli_usage_error(cli, "usage: status [DOMAIN] [--json]");
	if ((sc.st = cli_store_open(cli, STORE_RDONLY, &absent)) == NULL) {
		if (!absent)
			return CLI_EXIT_CONFIG;
		if (cli->nargs == 2)
			return cli_registered(cli, NULL, &reg);
		puts(cli->json ? "{\"domains\": []}" : "no domains registered");
		return 0;
	}
	if (!cli->json)
		cli_status_replica(&sc);
	if (cli->json)
		fputs("{\"domains\": [", stdout);
	if (cli->nargs == 2) {
		sc.detail = 1;
		if ((rc = cli_lookup(cli, sc.st, &reg, &sc.unregistered)) == 0)
			cli_status_one(&sc, &reg);
	} else {
		if (!cli->json)
			printf("%-40s %-9s %-21s %-21s %s\n", "DOMAIN", "STATE",
			       "SINCE", "NEXT CHECK", "WHAT");
		rc = store_reg_iter(sc.st, cli_status_one, &sc, &ncorrupt, err,
		                    sizeof(err));
		if (rc == STORE_OK)
			rc = store_unreg_iter(sc.st, cli_status_unreg, &sc,
			                      &ncorrupt, err, sizeof(err));
		if (rc != STORE_OK) {
			fprintf(stderr, "%s: %s\n", cli->progname, err);
			rc = CLI_EXIT_CONFIG;
		}
	}
	if (cli->json)
		fputs("]}\n", stdout);
	store_close(sc.st);
	return rc;
}

/* Refresh --------------------------------------------------------------- */

struct cli_refresh_ctx {
	struct cli *cli;
	int single;
	int bar;
	long long last_bar;
	char (*verified)[DOMAIN_BUF]; /* became verified: release held mail */
	size_t nverified, cap;
};

/* cli_refresh_note - remember a domain that just became verified. */
static void
cli_refresh_note(struct cli_refresh_ctx *rc, const char *domain)
{
	if (rc->nverified == rc->cap) {
		size_t cap = rc->cap ? rc->cap * 2 : 16;
		char(*grown)[DOMAIN_BUF] =
		    realloc(rc->verified, cap * sizeof(*grown));

		if (grown == NULL)
			return;
		rc->verified = grown;
		rc->cap = cap;
	}
	snprintf(rc->verified[rc->nverified++], DOMAIN_BUF, "%s", domain);
}

/* cli_release_details - what release_domain() did besides releasing. */
static void
cli_release_details(const struct release_result *res)
{
	if (res->invalid > 0)
		printf(", %zu invalid queue ID(s) dropped from the index",
		       res->invalid);
	if (res->refused > 0)
		printf(", %zu refused (not confirmed by HoldQueueCommand; "
		       "dropped from the index, still held; first: %s)",
		       res->refused, res->first_refused);
	if (res->unverified > 0)
		printf(", %zu indexed over TCP kept unreleased (no "
		       "HoldQueueCommand to confirm them)",
		       res->unverified);
	if (res->kept > 0)
		printf(", %zu kept for the next release (HoldQueueCommand "
		       "printed lines that could not be read)",
		       res->kept);
	if (res->corrupt[0] != '\0')
		printf(", damaged entries left in the index (%s)",
		       res->corrupt);
}

/* cli_release_report - one line after a refresh, when anything was done. */
static void
cli_release_report(const char *domain, const struct release_result *res)
{
	if (res->released + res->invalid + res->refused + res->unverified +
	            res->kept ==
	        0 &&
	    res->corrupt[0] == '\0')
		return;
	printf("%s: %zu held message(s) released", domain, res->released);
	cli_release_details(res);
	putchar('\n');
}

/* cli_refresh_release - held mail of the domains that became verified. */
static int
cli_refresh_release(struct cli_refresh_ctx *rc, struct store *st)
{
	struct release_result res;
	char err[1024];
	size_t i;
	int failed = 0;

	for (i = 0; i < rc->nverified; i++) {
		if (release_domain_cfg(st, rc->verified[i], &rc->cli->cfg, &res,
		                       err, sizeof(err)) != 0) {
			fprintf(stderr,
			        "%s: %s: held mail not released: %s (run "
			        "authready release %s)\n",
			        rc->cli->progname, rc->verified[i], err,
			        rc->verified[i]);
			failed = 1;
		} else {
			cli_release_report(rc->verified[i], &res);
		}
	}
	free(rc->verified);
	return failed;
}

static void
cli_refresh_event(void *arg, const struct domain_state *st,
                  const struct state_effects *fx, const struct report *rep)
{
	struct cli_refresh_ctx *rc = arg;

	if (rep == NULL) {
		fprintf(stderr, "%s%s: %s: %s\n", rc->bar ? "\r\033[K" : "",
		        rc->cli->progname, st->domain, fx->reason);
		return;
	}
	(void)fx;
	if (rc->single)
		report_print_text(stdout, rep,
		                  isatty(STDOUT_FILENO) &&
		                      getenv("NO_COLOR") == NULL);
}

/* cli_refresh_stored - a transition is printed once it is committed. */
static void
cli_refresh_stored(void *arg, const char *domain,
                   const struct state_effects *fx, const char *err)
{
	struct cli_refresh_ctx *rc = arg;

	if (err != NULL) {
		fprintf(stderr, "%s%s: %s: checked, but not stored: %s\n",
		        rc->bar ? "\r\033[K" : "", rc->cli->progname, domain,
		        err);
		return;
	}
	if (fx->became_verified)
		cli_refresh_note(rc, domain);
	if (rc->single)
		printf("\nstate: %s -> %s\n", state_readiness_name(fx->from),
		       state_readiness_name(fx->to));
	else if (fx->state_changed)
		printf("%s%-40s %s -> %s\n", rc->bar ? "\r\033[K" : "", domain,
		       state_readiness_name(fx->from),
		       state_readiness_name(fx->to));
}

/* cli_refresh_pruned - one line per removed unregistered state. */
static void
cli_refresh_pruned(void *arg, const char *domain, int64_t last_used)
{
	struct cli_refresh_ctx *rc = arg;
	char when[32];

	printf("%s%-40s removed: unregistered, no mail since %s\n",
	       rc->bar ? "\r\033[K" : "", domain,
	       cli_time(last_used, when, sizeof(when)));
}

static void
cli_refresh_progress(void *arg, size_t done, size_t total)
{
	struct cli_refresh_ctx *rc = arg;
	char bar[41];
	size_t filled;
	long long now;

	if (!rc->bar || total == 0)
		return;
	now = (long long)text_now_ms();
	if (done < total && now - rc->last_bar < CLI_PROGRESS_MS)
		return;
	rc->last_bar = now;
	filled = done * (sizeof(bar) - 1) / total;
	memset(bar, '#', filled);
	memset(bar + filled, '.', sizeof(bar) - 1 - filled);
	bar[sizeof(bar) - 1] = '\0';
	fprintf(stderr, "\r[%s] %zu/%zu", bar, done, total);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

/* cli_refresh_summary - the counts of a run, on one line. */
static void
cli_refresh_summary(const struct checker_stats *stats)
{
	printf("checked %zu: %zu verified, %zu pending, %zu degraded, "
	       "%zu failed, %zu unknown; %zu changed; %zu confirmation "
	       "mail(s) sent, %zu failed\n",
	       stats->done - stats->errors, stats->by_state[READINESS_VERIFIED],
	       stats->by_state[READINESS_PENDING],
	       stats->by_state[READINESS_DEGRADED],
	       stats->by_state[READINESS_FAILED],
	       stats->by_state[READINESS_UNKNOWN], stats->changed,
	       stats->notified, stats->notify_failed);
}

/*
 * cli_refresh_fleet - refresh with StoreDSN: claim in PostgreSQL, check,
 * write back fenced by the lease, then this host's LMDB; then send the
 * fleet's waiting notices.
 */
static int
cli_refresh_fleet(struct cli *cli)
{
	struct cli_refresh_ctx ctx = {.cli = cli};
	struct checker_options opt;
	struct checker_stats stats;
	struct pgcheck pc;
	struct store *st;
	struct dns *dns;
	PGconn *conn;
	char err[1024], domain[DOMAIN_BUF];
	size_t sent = 0, failed = 0;
	int rc;

	memset(&stats, 0, sizeof(stats));
	if (cli->nargs == 2) {
		if (domain_normalize(cli->args[1], strlen(cli->args[1]), domain,
		                     sizeof(domain), err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s: %s\n", cli->progname,
			        cli->args[1], err);
			return CLI_EXIT_USAGE;
		}
		ctx.single = 1;
	} else
		ctx.bar = isatty(STDERR_FILENO);
	if ((rc = cli_pg_open(cli, &conn)) != 0)
		return rc;
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
	checker_options_init(&opt, &cli->cfg, (int64_t)time(NULL));
	opt.on_event = cli_refresh_event;
	opt.on_stored = cli_refresh_stored;
	opt.on_progress = cli_refresh_progress;
	opt.arg = &ctx;
	rc = pgcheck_open(&pc, conn, &cli->cfg, err, sizeof(err));
	if (rc == 0)
		rc = pgcheck_round(&pc, st, dns, &opt, cli->all,
		                   ctx.single ? domain : NULL, &stats, err,
		                   sizeof(err));
	if (rc == 0)
		rc = pgcheck_notices(&pc, cli->cfg.sendmail_path, &sent,
		                     &failed, err, sizeof(err));
	stats.notified += sent;
	stats.notify_failed += failed;
	pgcheck_close(&pc);
	dns_close(dns);
	if (cli_refresh_release(&ctx, st) != 0)
		stats.errors++;
	store_close(st);
	PQfinish(conn);
	if (rc != 0) {
		fprintf(stderr, "%s: %s; %zu domain(s) checked\n",
		        cli->progname, err, stats.done);
		return rc == PGCHECK_LOCAL ? CLI_EXIT_CONFIG : pgconn_exit(rc);
	}
	if (ctx.single && stats.total == 0) {
		fprintf(stderr,
		        "%s: %s: not registered in PostgreSQL, or another "
		        "checker holds it now\n",
		        cli->progname, domain);
		return CLI_EXIT_FAILURE;
	}
	cli_refresh_summary(&stats);
	if (stats.dropped > 0)
		printf("%zu result(s) dropped: their leases ran out\n",
		       stats.dropped);
	return stats.errors ? CLI_EXIT_FAILURE : 0;
}

int
cli_refresh(struct cli *cli)
{
	struct cli_refresh_ctx ctx = {.cli = cli};
	struct checker_upkeep up;
	struct checker_options opt;
	struct checker_stats stats;
	struct domain_reg reg;
	struct store *st;
	struct dns *dns;
	char err[1024], **names = NULL, *one[1];
	size_t n = 0;
	bool unregistered, absent;
	int rc;

	if ((cli->nargs == 2) + cli->all + cli->due != 1 || cli->nargs > 2)
		return cli_usage_error(cli,
		                       "usage: refresh DOMAIN|--all|--due");
	if (cli->cfg.store_dsn[0] != '\0')
		return cli_refresh_fleet(cli);
	memset(&stats, 0, sizeof(stats));
	if ((st = cli_store_open(cli, 0, &absent)) == NULL) {
		if (!absent)
			return CLI_EXIT_CONFIG;
		if (cli->nargs == 2)
			return cli_registered(cli, NULL, &reg);
		cli_refresh_summary(&stats); /* nothing is registered */
		return 0;
	}
	memset(&up, 0, sizeof(up));
	if (cli->all || cli->due) {
		ctx.bar = isatty(STDERR_FILENO);
		up.now = (int64_t)time(NULL);
		up.expiry = cli->cfg.unreg_expiry;
		up.on_prune = cli_refresh_pruned;
		up.arg = &ctx;
		if (checker_upkeep(st, &up, err, sizeof(err)) != 0 ||
		    checker_list(st, cli->due, (int64_t)time(NULL), &names, &n,
		                 err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s\n", cli->progname, err);
			store_close(st);
			return CLI_EXIT_CONFIG;
		}
	} else {
		if ((rc = cli_lookup(cli, st, &reg, &unregistered)) != 0) {
			store_close(st);
			return rc;
		}
		one[0] = reg.domain;
		names = one;
		n = 1;
		ctx.single = 1;
	}
	if (dns_open(&dns, &cli->cfg.dns, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: DNS: %s\n", cli->progname, err);
		if (!ctx.single)
			checker_list_free(names, n);
		store_close(st);
		return CLI_EXIT_CONFIG;
	}
	checker_options_init(&opt, &cli->cfg, (int64_t)time(NULL));
	opt.unregistered = true; /* names without an entry have a state */
	opt.on_event = cli_refresh_event;
	opt.on_stored = cli_refresh_stored;
	opt.on_progress = cli_refresh_progress;
	opt.arg = &ctx;
	rc = checker_run(st, dns, &opt, names, n, &stats, err, sizeof(err));
	dns_close(dns);
	if (cli_refresh_release(&ctx, st) != 0)
		stats.errors++;
	store_close(st);
	if (!ctx.single)
		checker_list_free(names, n);
	if (rc != 0) {
		/* What was stored was printed; say what was not. */
		fprintf(
		    stderr,
		    "%s: %s; %zu of %zu domain(s) stored, the results of %zu "
		    "not stored and %zu not checked\n",
		    cli->progname, err, stats.done - stats.errors, stats.total,
		    stats.unstored, stats.total - stats.done);
		return CLI_EXIT_CONFIG;
	}
	if (!ctx.single || stats.notified || stats.notify_failed)
		cli_refresh_summary(&stats);
	if (up.pruned > 0)
		printf("removed %zu unregistered domain state(s) no mail used "
		       "for UnregisteredExpiry\n",
		       up.pruned);
	return stats.errors ? CLI_EXIT_FAILURE : 0;
}

/* Release --------------------------------------------------------------- */

int
cli_release(struct cli *cli)
{
	struct domain_reg reg;
	struct release_result res;
	struct store *st;
	char err[1024];
	bool unregistered, absent;
	int rc;

	if (cli->nargs != 2)
		return cli_usage_error(cli, "usage: release DOMAIN");
	if ((st = cli_store_open(cli, 0, &absent)) == NULL && !absent)
		return CLI_EXIT_CONFIG;
	if ((rc = cli_lookup(cli, st, &reg, &unregistered)) != 0) {
		store_close(st);
		return rc;
	}
	rc = release_domain_cfg(st, reg.domain, &cli->cfg, &res, err,
	                        sizeof(err));
	store_close(st);
	if (rc != 0) {
		fprintf(stderr, "%s: %s: %s (%zu released before the error)\n",
		        cli->progname, reg.domain, err, res.released);
		return CLI_EXIT_FAILURE;
	}
	printf("%s: %zu held message(s) released", reg.domain, res.released);
	cli_release_details(&res);
	putchar('\n');
	return 0;
}
