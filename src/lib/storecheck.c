/*
 * storecheck.c - verify a store, and read its registry, in a child process.
 *
 * SYNOPSIS
 *	See storecheck.h.
 *
 * DESCRIPTION
 *	Why a child: a fault inside an LMDB map cannot be recovered from in
 *	the process that took it (liblmdb may hold a lock, a cursor or a
 *	half-done page), and the CLI's fault guard (store.c) can only end
 *	the process.  A forked child opens the store itself (a struct store
 *	never crosses fork()), does the reading, and dies alone when a page
 *	is bad.  The parent never maps the store here.
 *
 *	Verify: the child first reads data.mdb's page structure itself
 *	(lmdbcheck.c, pread only: damage that would make liblmdb fault or
 *	corrupt its heap is named without liblmdb touching it), then runs
 *	store_check() through liblmdb.  It writes its report straight into a
 *	MAP_SHARED anonymous page, so after a fault the parent still sees
 *	the database and the last key the walk had reached.
 *
 *	Export: the child sends frames over a pipe: 'R' and a struct
 *	domain_reg (the same program on both ends), 'N' and the registry's
 *	entry count, 'B' and a finding for an
 *	undecodable entry, 'E' and the sentence of an LMDB error, 'D' at the
 *	end.  End of file before 'D' means the child died.  A forward walk
 *	that does not reach 'D' is followed by a backward one (last key
 *	first) that stops where the forward walk stopped; its entries are
 *	handed over as they come, last key first (an import does not care
 *	about the order, and nothing has to be held in memory).
 *
 *	Each child gets STORECHECK_TIMEOUT seconds (alarm(2)), so a damaged
 *	tree that loops cannot hang the caller.  A child catches SIGBUS,
 *	SIGSEGV, SIGABRT (LMDB's failed assertions) and SIGALRM and exits
 *	with 128 + the signal: the parent reads it like a death by that
 *	signal, and nothing (core, sanitizer, valgrind) reports an expected
 *	fault as a program error.
 *
 * DIAGNOSTICS
 *	See storecheck.h.
 */
#include "storecheck.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lmdbcheck.h"
#include "sanitize.h"

#define STORECHECK_KEY_TEXT 128    /* a key as shown */
#define STORECHECK_EXIT_SIGNAL 128 /* a child's exit: this + a signal */

/* Frames of the export pipe. */
enum {
	FRAME_REG = 'R',
	FRAME_BAD = 'B',
	FRAME_ERROR = 'E',
	FRAME_DONE = 'D',
	FRAME_COUNT = 'N', /* a size_t: the registry's entries */
};

struct frame_bad {
	char db[16];
	char key[STORECHECK_KEY_TEXT];
	char why[STORECHECK_ERR_MAX];
};

static const struct {
	int sig;
	const char *name;
} signal_names[] = {
    {SIGBUS, "SIGBUS"},   {SIGSEGV, "SIGSEGV"}, {SIGALRM, "SIGALRM"},
    {SIGABRT, "SIGABRT"}, {SIGFPE, "SIGFPE"},   {SIGILL, "SIGILL"},
    {SIGKILL, "SIGKILL"},
};

/* signal_name - "SIGBUS" and the like; buf for the others. */
static const char *
signal_name(int sig, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]);
	     i++)
		if (signal_names[i].sig == sig)
			return signal_names[i].name;
	snprintf(buf, len, "signal %d", sig);
	return buf;
}

/* say - a sentence into buf. */
static void __attribute__((format(printf, 3, 4)))
say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* store_absent - true when dir holds no store yet. */
static int
store_absent(const char *dir)
{
	char path[PATH_MAX];
	struct stat sb;

	if (stat(dir, &sb) != 0)
		return errno == ENOENT;
	if ((size_t)snprintf(path, sizeof(path), "%s/data.mdb", dir) >=
	    sizeof(path))
		return 0;
	return stat(path, &sb) != 0 && errno == ENOENT;
}

/* child_wait - reap pid; the signal that ended it (or that it caught:
 * child_fault), 0, or -1 with the exit status in *status. */
static int
child_wait(pid_t pid, int *status)
{
	int ws;

	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR) {
			*status = -1;
			return -1;
		}
	if (WIFSIGNALED(ws))
		return WTERMSIG(ws);
	*status = WEXITSTATUS(ws);
	if (*status > STORECHECK_EXIT_SIGNAL)
		return *status - STORECHECK_EXIT_SIGNAL;
	return *status == 0 ? 0 : -1;
}

/* child_fault - a fault (or LMDB's abort, or the alarm) in a child: its
 * number as the exit status, quietly (no core, no sanitizer report, no
 * valgrind "terminating" note for what is expected here). */
static void
child_fault(int sig)
{
	_exit(STORECHECK_EXIT_SIGNAL + sig);
}

/* child_begin - what every child does first: a fault in the map ends it
 * with the signal's number (not the guard's sentence), so the parent can
 * tell damage from trouble. */
static int
child_begin(void)
{
	static const int sigs[] = {SIGBUS, SIGSEGV, SIGABRT, SIGALRM};
	struct sigaction sa;

	store_guard_remove();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = child_fault;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_DFL);
	alarm(STORECHECK_TIMEOUT);
	return 0;
}

/* Verify ------------------------------------------------------------------ */

/* verify_problem - keep the damage findings (store_check reports
 * nothing else). */
static void
verify_problem(void *ctx, const char *db, const char *key, const char *why)
{
	struct storecheck_result *res = ctx;

	if (res->nproblems < STORECHECK_PROBLEMS_MAX)
		say(res->problems[res->nproblems], STORECHECK_LINE_MAX,
		    "%s%s%s: %s", db, key[0] ? " " : "", key, why);
	res->nproblems++;
}

/* pages_check - the file's page structure (lmdbcheck.c), before
 * liblmdb maps it; 0 sound, else the outcome is in res. */
static int
pages_check(const char *dir, struct storecheck_result *res)
{
	struct lmdbcheck_report pr;
	char path[PATH_MAX];
	int fd, rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/data.mdb", dir) >=
	    sizeof(path)) {
		say(res->error, sizeof(res->error), "%s: path too long", dir);
		res->outcome = STORECHECK_ERROR;
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		say(res->error, sizeof(res->error), "%s: %s", path,
		    strerror(errno));
		res->outcome = STORECHECK_ERROR;
		return -1;
	}
	rc = lmdbcheck_fd(fd, &pr);
	close(fd);
	res->pages = pr.pages;
	if (rc == 0)
		return 0;
	say(res->error, sizeof(res->error), "its page structure: %s",
	    pr.problem);
	res->outcome = rc > 0 ? STORECHECK_DAMAGED : STORECHECK_ERROR;
	return -1;
}

/* verify_child - the child's whole work; never returns. */
static void
verify_child(const char *dir, storecheck_setup setup, void *ctx,
             struct storecheck_result *res)
{
	struct store *st;
	int rc;

	child_begin();
	if (setup != NULL && setup(ctx, res->error, sizeof(res->error)) != 0) {
		res->outcome = STORECHECK_ERROR;
		_exit(0);
	}
	if (pages_check(dir, res) != 0)
		_exit(0);
	if (store_open(dir, STORE_RDONLY, NULL, &st, res->error,
	               sizeof(res->error)) != STORE_OK) {
		res->outcome = STORECHECK_ERROR;
		_exit(0);
	}
	rc = store_check(st, &res->rep, verify_problem, res, res->error,
	                 sizeof(res->error));
	store_close(st);
	res->outcome = rc == STORE_OK ? STORECHECK_SOUND : STORECHECK_DAMAGED;
	_exit(0);
}

int
storecheck_verify(const char *dir, storecheck_setup setup, void *ctx,
                  struct storecheck_result *res)
{
	struct storecheck_result *shared;
	char sb[32];
	pid_t pid;
	int sig, status = 0;

	memset(res, 0, sizeof(*res));
	if (store_absent(dir)) {
		res->absent = 1;
		return res->outcome = STORECHECK_SOUND;
	}
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
	              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		say(res->error, sizeof(res->error), "shared memory: %s",
		    strerror(errno));
		return res->outcome = STORECHECK_ERROR;
	}
	memset(shared, 0, sizeof(*shared));
	shared->outcome = STORECHECK_ERROR;
	fflush(NULL);
	if ((pid = fork()) < 0) {
		say(res->error, sizeof(res->error), "fork: %s",
		    strerror(errno));
		munmap(shared, sizeof(*shared));
		return res->outcome = STORECHECK_ERROR;
	}
	if (pid == 0)
		verify_child(dir, setup, ctx, shared);
	sig = child_wait(pid, &status);
	*res = *shared;
	munmap(shared, sizeof(*shared));
	if (sig > 0) {
		res->signal = sig;
		res->timed_out = sig == SIGALRM;
		res->outcome = STORECHECK_DAMAGED;
		say(res->error, sizeof(res->error), "%s",
		    res->timed_out ? "the check did not finish in time"
		                   : signal_name(sig, sb, sizeof(sb)));
	} else if (sig < 0) {
		res->outcome = STORECHECK_ERROR;
		say(res->error, sizeof(res->error),
		    "the checking process ended with status %d", status);
	}
	return res->outcome;
}

void
storecheck_message(const struct storecheck_result *res, const char *dir,
                   char *buf, size_t len)
{
	char key[STORECHECK_KEY_TEXT], where[STORECHECK_KEY_TEXT + 64];
	const struct store_check_report *r = &res->rep;

	if (res->outcome == STORECHECK_ERROR) {
		say(buf, len, "cannot check state store %s: %s", dir,
		    res->error);
		return;
	}
	where[0] = '\0';
	if (r->db[0] != '\0') {
		sanitize_text(key, sizeof(key), r->key,
		              r->keylen < sizeof(r->key) ? r->keylen
		                                         : sizeof(r->key));
		say(where, sizeof(where), " in the %s database%s%s", r->db,
		    r->keylen ? " after key " : "", r->keylen ? key : "");
	}
	if (res->signal != 0)
		say(buf, len,
		    "state store %s is damaged: reading it faulted (%s)%s; "
		    "recover with: " STORE_RECOVERY,
		    dir, res->error, where);
	else if (res->nproblems > 0)
		say(buf, len,
		    "state store %s is damaged: %s (first: %s); recover "
		    "with: " STORE_RECOVERY,
		    dir, res->error, res->problems[0]);
	else
		say(buf, len,
		    "state store %s is damaged: %s%s; recover "
		    "with: " STORE_RECOVERY,
		    dir, res->error, where);
}

/* Export ------------------------------------------------------------------ */

struct export_child {
	int fd; /* the pipe's write end */
};

/* put_all - write all of buf; the child dies by SIGPIPE if nobody reads. */
static int
put_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* put_frame - one frame: its type byte, then len bytes. */
static int
put_frame(int fd, char type, const void *buf, size_t len)
{
	if (put_all(fd, &type, 1) != 0)
		return -1;
	return len > 0 ? put_all(fd, buf, len) : 0;
}

/* export_reg - store_reg_cb in the child: send the entry. */
static int
export_reg(void *ctx, const struct domain_reg *reg)
{
	struct export_child *c = ctx;

	return put_frame(c->fd, FRAME_REG, reg, sizeof(*reg));
}

/* export_bad - store_problem_cb in the child: send the finding. */
static void
export_bad(void *ctx, const char *db, const char *key, const char *why)
{
	struct export_child *c = ctx;
	struct frame_bad b;

	memset(&b, 0, sizeof(b));
	snprintf(b.db, sizeof(b.db), "%s", db);
	snprintf(b.key, sizeof(b.key), "%s", key);
	snprintf(b.why, sizeof(b.why), "%s", why);
	put_frame(c->fd, FRAME_BAD, &b, sizeof(b));
}

/* export_child_main - walk the registry into fd; never returns. */
static void
export_child_main(const char *dir, int backward, int fd)
{
	struct export_child c = {.fd = fd};
	char err[STORECHECK_ERR_MAX] = ""; /* sent whole: all initialized */
	struct store *st;
	size_t n;

	child_begin();
	if (store_open(dir, STORE_RDONLY, NULL, &st, err, sizeof(err)) !=
	    STORE_OK) {
		put_frame(fd, FRAME_ERROR, err, sizeof(err));
		_exit(0);
	}
	if (store_reg_count(st, &n, err, sizeof(err)) == STORE_OK)
		put_frame(fd, FRAME_COUNT, &n, sizeof(n));
	if (store_reg_walk(st, backward, export_reg, export_bad, &c, err,
	                   sizeof(err)) != STORE_OK)
		put_frame(fd, FRAME_ERROR, err, sizeof(err));
	else
		put_frame(fd, FRAME_DONE, NULL, 0);
	store_close(st);
	_exit(0);
}

/* get_all - read exactly len bytes; 0, or -1 at end of file or error. */
static int
get_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = read(fd, p, len)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One walk as the parent sees it. */
struct walk {
	int backward;
	const char *stop; /* backward: stop at this key or below */
	size_t stoplen;
	int done;       /* the child sent FRAME_DONE */
	size_t nregs;   /* entries received */
	size_t entries; /* the registry's count; 0 unknown */
	char why[STORECHECK_ERR_MAX];
	char last[DOMAIN_BUF]; /* last domain received */
	store_reg_cb cb;
	store_problem_cb bad;
	void *ctx;
	struct storecheck_export_result *res;
};

/* key_cmp - LMDB's default key order (memcmp, then the shorter first). */
static int
key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* walk_frames - read the child's frames; 1 when the walk may stop early
 * (backward walk met the forward one), else 0 at the end. */
static int
walk_frames(struct walk *w, int fd)
{
	struct domain_reg reg;
	struct frame_bad b;
	char type;

	while (get_all(fd, &type, 1) == 0) {
		switch (type) {
		case FRAME_REG:
			if (get_all(fd, &reg, sizeof(reg)) != 0)
				return 0;
			reg.domain[sizeof(reg.domain) - 1] = '\0';
			if (w->backward && w->stop != NULL &&
			    key_cmp(reg.domain, strlen(reg.domain), w->stop,
			            w->stoplen) <= 0)
				return 1;
			snprintf(w->last, sizeof(w->last), "%s", reg.domain);
			w->nregs++;
			if (w->cb(w->ctx, &reg) == 0)
				w->res->exported++;
			break;
		case FRAME_COUNT:
			if (get_all(fd, &w->entries, sizeof(w->entries)) != 0)
				return 0;
			break;
		case FRAME_BAD:
			if (get_all(fd, &b, sizeof(b)) != 0)
				return 0;
			b.db[sizeof(b.db) - 1] = '\0';
			b.key[sizeof(b.key) - 1] = '\0';
			b.why[sizeof(b.why) - 1] = '\0';
			w->res->corrupt++;
			if (w->bad != NULL)
				w->bad(w->ctx, b.db, b.key, b.why);
			break;
		case FRAME_ERROR:
			if (get_all(fd, w->why, sizeof(w->why)) != 0)
				return 0;
			w->why[sizeof(w->why) - 1] = '\0';
			return 0;
		case FRAME_DONE:
			w->done = 1;
			return 0;
		default:
			say(w->why, sizeof(w->why), "garbled report");
			return 0;
		}
	}
	return 0;
}

/* walk_run - one child walking the registry; -1 when none could start. */
static int
walk_run(const char *dir, struct walk *w)
{
	char sb[32];
	pid_t pid;
	int fds[2], sig, status = 0, early;

	if (pipe(fds) != 0) {
		say(w->why, sizeof(w->why), "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		say(w->why, sizeof(w->why), "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		export_child_main(dir, w->backward, fds[1]);
	}
	close(fds[1]);
	early = walk_frames(w, fds[0]);
	close(fds[0]); /* a child still writing gets SIGPIPE */
	sig = child_wait(pid, &status);
	if (early)
		return 0;
	if (sig > 0 && !w->done && w->why[0] == '\0')
		say(w->why, sizeof(w->why), "reading it faulted (%s)",
		    sig == SIGALRM ? "no end in time"
		                   : signal_name(sig, sb, sizeof(sb)));
	else if (!w->done && w->why[0] == '\0')
		say(w->why, sizeof(w->why),
		    "the reading process ended with status %d", status);
	return 0;
}

int
storecheck_export(const char *dir, store_reg_cb cb, store_problem_cb bad,
                  void *ctx, struct storecheck_export_result *res)
{
	struct walk fw = {.cb = cb, .bad = bad, .ctx = ctx, .res = res};
	struct walk bw = {
	    .backward = 1, .cb = cb, .bad = bad, .ctx = ctx, .res = res};

	memset(res, 0, sizeof(*res));
	if (store_absent(dir)) {
		say(res->error, sizeof(res->error), "%s holds no store", dir);
		return -1;
	}
	if (walk_run(dir, &fw) != 0) {
		say(res->error, sizeof(res->error), "%s", fw.why);
		return -1;
	}
	res->entries = fw.entries;
	if (fw.done)
		return res->corrupt > 0 ? 1 : 0;
	res->faulted = 1;
	say(res->why, sizeof(res->why), "%s", fw.why);
	sanitize_text(res->gap_after, sizeof(res->gap_after),
	              (const unsigned char *)fw.last, strlen(fw.last));
	bw.stop = fw.last[0] ? fw.last : NULL;
	bw.stoplen = strlen(fw.last);
	walk_run(dir, &bw);
	if (bw.nregs > 0)
		sanitize_text(res->gap_before, sizeof(res->gap_before),
		              (const unsigned char *)bw.last, strlen(bw.last));
	if (fw.nregs + bw.nregs == 0 && res->corrupt == 0 && !bw.done) {
		say(res->error, sizeof(res->error), "%s", fw.why);
		return -1;
	}
	/* Every entry LMDB counts was read on one side of the damage. */
	if (res->entries > 0 &&
	    fw.nregs + bw.nregs + res->corrupt >= res->entries)
		return res->corrupt > 0 ? 1 : 0;
	res->gap = 1;
	return 1;
}
