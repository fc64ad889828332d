/*
 * cli_store.c - `authready store check` and `authready domain export`:
 * what an operator has when the state store is damaged.
 *
 * SYNOPSIS
 *	int cli_store(struct cli *cli);
 *	int cli_domain_export(struct cli *cli);
 *
 * DESCRIPTION
 *	store check verifies the whole store (storecheck_verify: every
 *	entry of every database reached by a cursor and by its own lookup,
 *	every record decoded) in a child process, so a page that makes
 *	liblmdb fault kills only the child; the parent says what is damaged
 *	and how to recover.
 *
 *	domain export [FILE] writes the registry as the CSV that `domain
 *	import` reads back (regexport.c), to FILE or standard output.  It
 *	also reads in child processes (storecheck_export), so a damaged
 *	store gives up what can still be read; what could not be is named
 *	on standard error.
 *
 *	Why children here and a signal handler elsewhere: every other
 *	command runs in-process with the fault guard of store.c
 *	(store_guard_install in main), which can only end the process with
 *	one message; these two commands exist to get past the damage, so
 *	their reads must be able to fail and be retried.
 *
 * DIAGNOSTICS
 *	store check: 0 sound (or no store yet), 78 damaged or not
 *	checkable.  domain export: 0 every entry exported, 1 some could not
 *	be read or written (named on stderr; the rest is in the file), 64
 *	usage or a FILE (or standard output) that cannot be made or
 *	written, 78 nothing could be read from the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "regexport.h"
#include "storecheck.h"

/* cli_store_check - `store check`. */
static int
cli_store_check(struct cli *cli)
{
	static struct storecheck_result res;
	const struct store_check_report *r = &res.rep;
	const char *dir = cli->cfg.state_dir;
	char msg[2048];
	size_t i;

	if (storecheck_verify(dir, NULL, NULL, &res) == STORECHECK_SOUND) {
		if (res.absent)
			printf("state store %s does not exist yet: nothing "
			       "to check\n",
			       dir);
		else
			printf("state store %s is sound: %zu registered, %zu "
			       "state(s) (%zu of unregistered domains), %zu "
			       "held, %zu webhook event(s) waiting; %llu "
			       "page(s) in use, %zu free\n",
			       dir, r->regs, r->states, r->unreg_states,
			       r->held, r->events,
			       (unsigned long long)res.pages, r->free_pages);
		return 0;
	}
	storecheck_message(&res, dir, msg, sizeof(msg));
	fprintf(stderr, "%s: %s\n", cli->progname, msg);
	for (i = 0; i < res.nproblems && i < STORECHECK_PROBLEMS_MAX; i++)
		fprintf(stderr, "  %s\n", res.problems[i]);
	if (res.nproblems > STORECHECK_PROBLEMS_MAX)
		fprintf(stderr, "  ... and %zu more\n",
		        res.nproblems - STORECHECK_PROBLEMS_MAX);
	return CLI_EXIT_CONFIG;
}

int
cli_store(struct cli *cli)
{
	if (cli->nargs == 2 && strcmp(cli->args[1], "check") == 0)
		return cli_store_check(cli);
	return cli_usage_error(cli, "usage: store check");
}

/* Export ---------------------------------------------------------------- */

struct cli_export {
	struct cli *cli;
	FILE *fp;
	size_t written, unwritten;
	int write_error;
};

/* cli_export_row - one entry as a CSV line. */
static int
cli_export_row(void *ctx, const struct domain_reg *reg)
{
	struct cli_export *ex = ctx;
	char line[REGEXPORT_LINE_MAX], why[512];
	size_t len;

	if (regexport_row(reg, line, sizeof(line), &len, why, sizeof(why)) !=
	    0) {
		fprintf(stderr, "%s: %s: not exported: %s\n", ex->cli->progname,
		        reg->domain, why);
		ex->unwritten++;
		return 1;
	}
	if (fwrite(line, 1, len, ex->fp) != len)
		ex->write_error = errno ? errno : EIO;
	ex->written++;
	return 0;
}

/* cli_export_bad - an entry that could not be decoded. */
static void
cli_export_bad(void *ctx, const char *db, const char *key, const char *why)
{
	struct cli_export *ex = ctx;

	(void)db;
	(void)key; /* why names both */
	fprintf(stderr, "%s: %s; not exported\n", ex->cli->progname, why);
}

/* cli_export_open - FILE (a regular file, made 0640) or stdout. */
static FILE *
cli_export_open(struct cli *cli, const char *path)
{
	struct stat sb;
	FILE *fp;
	int fd = -1;

	if (path == NULL || strcmp(path, "-") == 0)
		return stdout;
	/* Never block on a FIFO nor write into a device: a regular file. */
	if ((lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) ||
	    ((fd = open(path,
	                O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK |
	                    O_CLOEXEC,
	                0640)) >= 0 &&
	     (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)))) {
		fprintf(stderr, "%s: %s: not a regular file\n", cli->progname,
		        path);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (fd < 0 || fcntl(fd, F_SETFL, 0) != 0 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", cli->progname, path,
		        strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return fp;
}

int
cli_domain_export(struct cli *cli)
{
	static struct storecheck_export_result res;
	struct cli_export ex = {.cli = cli};
	const char *path = cli->nargs == 3 ? cli->args[2] : NULL;
	char head[256];
	size_t len;
	int rc, closed;

	if (cli->nargs > 3)
		return cli_usage_error(cli, "usage: domain export [FILE]");
	/* FILE is the operator's argument, as import's FILE is: 64 when it
	 * cannot be made or written; 78 is for the store. */
	if ((ex.fp = cli_export_open(cli, path)) == NULL)
		return CLI_EXIT_USAGE;
	regexport_header(head, sizeof(head), &len);
	fwrite(head, 1, len, ex.fp);
	rc = storecheck_export(cli->cfg.state_dir, cli_export_row,
	                       cli_export_bad, &ex, &res);
	closed = ex.fp == stdout ? fflush(stdout) : fclose(ex.fp);
	if (closed != 0 || ex.write_error) {
		fprintf(stderr, "%s: %s: %s\n", cli->progname,
		        path ? path : "standard output",
		        strerror(ex.write_error ? ex.write_error : errno));
		return CLI_EXIT_USAGE;
	}
	if (rc < 0) {
		fprintf(stderr,
		        "%s: state store %s: nothing could be read: "
		        "%s\n",
		        cli->progname, cli->cfg.state_dir, res.error);
		return CLI_EXIT_CONFIG;
	}
	if (res.faulted && !res.gap)
		fprintf(
		    stderr,
		    "%s: warning: state store %s is damaged (%s), but every "
		    "registry entry was read; recover with: " STORE_RECOVERY
		    "\n",
		    cli->progname, cli->cfg.state_dir, res.why);
	if (res.gap)
		fprintf(
		    stderr,
		    "%s: the registry of %s could not be read between %s and "
		    "%s (%s); domains registered there are missing from the "
		    "export: add them again by hand\n",
		    cli->progname, cli->cfg.state_dir,
		    res.gap_after[0] ? res.gap_after : "its start",
		    res.gap_before[0] ? res.gap_before : "its end", res.why);
	fprintf(path ? stdout : stderr,
	        "%zu domain(s) exported%s%s, %zu unreadable, %zu not "
	        "exportable\n",
	        ex.written, path ? " to " : "", path ? path : "", res.corrupt,
	        ex.unwritten);
	return res.gap || res.corrupt || ex.unwritten ? CLI_EXIT_FAILURE : 0;
}
