/*
 * store.c - LMDB registry, readiness state and held-mail index.
 *
 * SYNOPSIS
 *	See store.h.
 *
 * DESCRIPTION
 *	A thin layer over LMDB: key checks, storecodec.c encoding, validation
 *	on read (a value must decode and name the key it is stored under),
 *	and the permission policy for the state directory.  Every failure
 *	funnels through errbuf_code() or lmdb_fail(), which write one sentence.
 *
 *	Damage that validation cannot see (LMDB has no page checksums) is
 *	met twice: store_check() walks every page reachable through every
 *	database, for a child process to run (storecheck.c), and the fault
 *	guard (below) turns a fault or a failed LMDB assertion inside a
 *	store call into one fixed sentence and _exit(STORE_EXIT_DAMAGED),
 *	the one exit outside main: a process whose map read faulted has
 *	nothing left to return to.
 *
 * DIAGNOSTICS
 *	STORE_OK, STORE_NOTFOUND, STORE_CORRUPT, STORE_ERROR; see store.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include "errbuf.h"
#include "lmdbcheck.h"
#include "sanitize.h"
#include "store.h"
#include "text.h"

#define STORE_MAXDBS 6        /* four used, two spare for future indexes */
#define STORE_KEY_TEXT_MAX 80 /* key as shown in messages */
#define STORE_HELD_KEY_MAX (DOMAIN_MAX + 1 + HELD_QUEUE_ID_MAX - 1)
#define STORE_MSG_MAX 512
#define STORE_SNAPSHOT_TRIES 16 /* read snapshots taken before giving up */
#define STORE_GEN_SIZE 8        /* generation value: 64-bit little-endian */
#define STORE_GUARD_SLOTS 8     /* stores open at once under the guard */
#define STORE_FIRST_PAGE 2      /* pages 0 and 1 are the meta pages */
#define STORE_RETIRED_MAX 4     /* stores replaced under a running daemon */
#define STORE_EVENT_FORMAT 1    /* first octet of an outbox value */
#define STORE_SEQ_SIZE 8        /* outbox key: big-endian sequence */

/*
 * The generation key in the main database: every batch that changes
 * something stores its own transaction id there.  The leading NUL keeps
 * it from ever naming a database (mdb_stat -a and mdb_dump -a skip it).
 */
static const char gen_key[] = "\0authready-generation";

/* The replica's place in PostgreSQL's change stream (store_replica_get):
 * a format byte, the position and the time last heard, little-endian. */
static const char replica_key[] = "\0authready-replica";
#define STORE_REPLICA_FORMAT 1
#define STORE_REPLICA_SIZE 17

/* The last outbox sequence number given (8 octets, big-endian): kept
 * when the outbox empties, so a sequence is never given twice. */
static const char outbox_seq_key[] = "\0authready-outbox-seq";

struct store {
	/* The environment in use: store_reopen() may replace it while other
	 * threads read and write (the old one stays open, never closed). */
	_Atomic(MDB_env *) env;
	MDB_dbi main, reg, state, held, outbox;
	bool has_outbox; /* false: a store older than the outbox, read-only */
	unsigned flags;
	int guard_slot; /* in guard_slots, or -1 */
	/* environments store_reopen() replaced, closed with the store */
	MDB_env *retired[STORE_RETIRED_MAX];
	int retired_slot[STORE_RETIRED_MAX];
	unsigned nretired;
};

struct store_reader {
	struct store *st;
	MDB_env *env; /* of txn: st->env when it was begun */
	MDB_txn *txn; /* reset between lookups */
};

struct store_batch {
	struct store *st;
	MDB_txn *txn;
	bool dirty; /* something was put or deleted */
};

static int batch_del_key(struct store_batch *b, MDB_dbi dbi, MDB_val *key,
                         char *err, size_t errlen);
static int decode_event(const MDB_val *key, const MDB_val *val,
                        const char **domain, const char **body, size_t *len,
                        char *err, size_t errlen);

static const char *const status_names[] = {
    "ok",
    "not found",
    "corrupt",
};

/* store_status_name - printable name of a store_status. */
const char *
store_status_name(int status)
{
	if (status >= 0 &&
	    (size_t)status < sizeof(status_names) / sizeof(status_names[0]))
		return status_names[status];
	return "error";
}

/* lmdb_fail - LMDB error as a sentence; map-full gets advice. */
static int
lmdb_fail(char *err, size_t errlen, const char *what, int rc)
{
	if (rc == MDB_MAP_FULL)
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "%s: store is full (raise the map size)",
		                   what);
	if (rc == MDB_MAP_RESIZED)
		return errbuf_code(
		    err, errlen, STORE_ERROR,
		    "%s: another process uses a larger map size; use the "
		    "same map size everywhere",
		    what);
	return errbuf_code(err, errlen, STORE_ERROR, "%s: %s", what,
	                   mdb_strerror(rc));
}

/*
 * The fault guard.  LMDB does not checksum its pages: a damaged page can
 * send a read outside the file (SIGBUS) or through a wild pointer
 * (SIGSEGV) inside liblmdb.  Every open store registers its map here;
 * a thread raises guard_depth only while it runs store code: the body of
 * a store call, liblmdb included (guard_enter/guard_leave around it).
 * The depth follows control, not transactions: it is zero between calls
 * while a batch or a read snapshot stays open (the checker runs DNS
 * callbacks, the SPF engine and OpenSSL inside its batch), and zero while
 * an iteration callback runs (guard_out/guard_back).  A fault whose
 * address lies in a map, or one taken while the faulting thread is inside
 * the store, is store damage: the handler writes one fixed sentence with
 * write(2) and ends the process with _exit(78).  So does SIGABRT inside a
 * store call (glibc's malloc finding its heap overwritten by liblmdb
 * acting on a damaged page; LMDB's own assertions come through
 * guard_assert).  Any other fault goes to the handler that was there
 * before (the default action, a sanitizer), so a bug elsewhere is not
 * reported as damage.  The handler only reads what store_open wrote
 * before the map was registered (its range from map_range).
 */
struct guard_slot {
	volatile sig_atomic_t used;
	uintptr_t lo, hi; /* [lo, hi): the map's address range */
	MDB_env *env;
	char dir[PATH_MAX];
};

static struct guard_slot guard_slots[STORE_GUARD_SLOTS];
static volatile sig_atomic_t guard_last = -1; /* slot opened last */
static volatile sig_atomic_t guard_installed;
static char guard_prog[64];
static struct sigaction guard_old_bus, guard_old_segv, guard_old_abrt;
static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local volatile sig_atomic_t guard_depth;

/* guard_enter - the thread now runs store code (and liblmdb). */
static void
guard_enter(void)
{
	guard_depth++;
}

/* guard_leave - the thread leaves the store code of its guard_enter. */
static void
guard_leave(void)
{
	if (guard_depth > 0)
		guard_depth--;
}

/* guard_out - the thread calls back into its caller: outside the store
 * until guard_back; returns the depth to restore. */
static sig_atomic_t
guard_out(void)
{
	sig_atomic_t depth = guard_depth;

	guard_depth = 0;
	return depth;
}

/* guard_back - the callback returned into the store code. */
static void
guard_back(sig_atomic_t depth)
{
	guard_depth = depth;
}

/* guard_put - write(2) all of s to stderr; async-signal-safe. */
static void
guard_put(const char *s)
{
	size_t n = strlen(s);
	ssize_t w;

	while (n > 0 && (w = write(STDERR_FILENO, s, n)) > 0) {
		s += w;
		n -= (size_t)w;
	}
}

/* guard_chain - hand a fault that is not ours to the previous handler. */
static void
guard_chain(int sig, siginfo_t *si, void *uc)
{
	const struct sigaction *old = sig == SIGBUS    ? &guard_old_bus
	                              : sig == SIGSEGV ? &guard_old_segv
	                                               : &guard_old_abrt;

	if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction != NULL) {
		old->sa_sigaction(sig, si, uc);
		return;
	}
	if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN &&
	    old->sa_handler != NULL) {
		old->sa_handler(sig);
		return;
	}
	/* Default action: returning re-executes a faulting access; a
	 * signal that was sent (kill, raise) must be sent again. */
	signal(sig, SIG_DFL);
	if (si == NULL || si->si_code <= 0)
		raise(sig);
}

/* guard_damaged - the one sentence about slot's store; ends the process. */
static void
guard_damaged(int slot, const char *what, const char *detail)
{
	guard_put(guard_prog);
	guard_put(": state store ");
	guard_put(guard_slots[slot].dir);
	guard_put(" is damaged: ");
	guard_put(what);
	guard_put(" (");
	guard_put(detail);
	guard_put("); recover with: " STORE_RECOVERY "\n");
	_exit(STORE_EXIT_DAMAGED);
}

/* guard_assert - LMDB's assertion callback: an inconsistent page would
 * otherwise end in abort(); under the guard it is damage like a fault. */
static void
guard_assert(MDB_env *env, const char *msg)
{
	if (!guard_installed)
		return; /* abort(), as LMDB does: a checking child reports it */
	for (int i = 0; i < STORE_GUARD_SLOTS; i++)
		if (guard_slots[i].used && guard_slots[i].env == env)
			guard_damaged(i, "LMDB found an inconsistent page",
			              msg);
}

/* guard_handler - SIGBUS/SIGSEGV: store damage gets one sentence, 78. */
static void
guard_handler(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = si != NULL ? (uintptr_t)si->si_addr : 0;
	int slot = -1;

	for (int i = 0; sig != SIGABRT && i < STORE_GUARD_SLOTS; i++)
		if (guard_slots[i].used && a >= guard_slots[i].lo &&
		    a < guard_slots[i].hi)
			slot = i;
	if (slot < 0 && guard_depth > 0) {
		if (guard_last >= 0 && guard_slots[guard_last].used)
			slot = guard_last;
		for (int i = 0; slot < 0 && i < STORE_GUARD_SLOTS; i++)
			if (guard_slots[i].used)
				slot = i;
	}
	if (slot < 0) {
		guard_chain(sig, si, uc);
		return;
	}
	if (sig == SIGABRT)
		guard_damaged(slot, "liblmdb aborted while reading it",
		              "SIGABRT: its heap was corrupted");
	guard_damaged(slot, "a read inside its LMDB map faulted",
	              sig == SIGBUS ? "SIGBUS" : "SIGSEGV");
}

int
store_guard_install(const char *progname, char *err, size_t errlen)
{
	struct sigaction sa;

	snprintf(guard_prog, sizeof(guard_prog), "%s",
	         progname != NULL ? progname : "authready");
	if (guard_installed)
		return STORE_OK;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = guard_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &guard_old_bus) != 0 ||
	    sigaction(SIGSEGV, &sa, &guard_old_segv) != 0 ||
	    sigaction(SIGABRT, &sa, &guard_old_abrt) != 0)
		return errbuf_code(
		    err, errlen, STORE_ERROR,
		    "cannot install the store's fault handler: %s",
		    strerror(errno));
	guard_installed = 1;
	return STORE_OK;
}

void
store_guard_remove(void)
{
	if (!guard_installed)
		return;
	sigaction(SIGBUS, &guard_old_bus, NULL);
	sigaction(SIGSEGV, &guard_old_segv, NULL);
	sigaction(SIGABRT, &guard_old_abrt, NULL);
	guard_installed = 0;
}

/*
 * map_range - where this process maps DIR/data.mdb: 0, or -1 when it
 * cannot tell (then only the depth rule applies).  mdb_env_info gives the
 * map's address only with MDB_FIXEDMAP; otherwise me_mapaddr is NULL and
 * [0, mapsize) would take every NULL dereference for store damage.
 */
static int
map_range(const char *dir, uintptr_t *lo, uintptr_t *hi)
{
	char path[PATH_MAX], line[PATH_MAX + 128], perms[8];
	unsigned long a, b, off, ino;
	unsigned maj, min;
	struct stat sb;
	FILE *fp;
	int rc = -1;

	if (snprintf(path, sizeof(path), "%s/data.mdb", dir) >=
	        (int)sizeof(path) ||
	    stat(path, &sb) != 0 ||
	    (fp = fopen("/proc/self/maps", "re")) == NULL)
		return -1;
	while (rc != 0 && fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &a, &b, perms,
		           &off, &maj, &min, &ino) == 7 &&
		    off == 0 && ino == (unsigned long)sb.st_ino &&
		    maj == major(sb.st_dev) && min == minor(sb.st_dev)) {
			*lo = a;
			*hi = b;
			rc = 0;
		}
	fclose(fp);
	return rc;
}

/* guard_register - remember st's map for the handler (slot or -1). */
static void
guard_register(struct store *st, const char *dir)
{
	MDB_envinfo info;
	uintptr_t lo = 0, hi = 0; /* empty: no fault address is in it */

	st->guard_slot = -1;
	if (mdb_env_info(st->env, &info) != 0)
		return;
	if (info.me_mapaddr != NULL) {
		lo = (uintptr_t)info.me_mapaddr;
		hi = lo + info.me_mapsize;
	} else if (map_range(dir, &lo, &hi) != 0) {
		lo = hi = 0;
	}
	pthread_mutex_lock(&guard_lock);
	for (int i = 0; i < STORE_GUARD_SLOTS; i++) {
		struct guard_slot *g = &guard_slots[i];

		if (g->used)
			continue;
		snprintf(g->dir, sizeof(g->dir), "%s", dir);
		g->env = st->env;
		g->lo = lo;
		g->hi = hi;
		g->used = 1;
		guard_last = i;
		st->guard_slot = i;
		break;
	}
	pthread_mutex_unlock(&guard_lock);
	mdb_env_set_assert(st->env, guard_assert); /* EINVAL under NDEBUG */
}

/* guard_unregister_slot - a map goes away (slot -1: none). */
static void
guard_unregister_slot(int slot)
{
	if (slot < 0)
		return;
	pthread_mutex_lock(&guard_lock);
	guard_slots[slot].used = 0;
	if (guard_last == slot)
		guard_last = -1;
	pthread_mutex_unlock(&guard_lock);
}

/* guard_unregister - st's map goes away. */
static void
guard_unregister(struct store *st)
{
	guard_unregister_slot(st->guard_slot);
	st->guard_slot = -1;
}

/* key_text - sanitized key for messages. */
static const char *
key_text(char *buf, size_t size, const void *key, size_t len)
{
	sanitize_text(buf, size, key, len);
	return buf;
}

/* domain_key - validate a domain and point an MDB_val at it. */
static int
domain_key(const char *domain, MDB_val *key, char *err, size_t errlen)
{
	size_t n;

	if (domain == NULL)
		return errbuf_code(err, errlen, STORE_ERROR, "no domain given");
	n = strnlen(domain, DOMAIN_BUF);
	if (n == 0 || n > DOMAIN_MAX)
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "domain must be 1..%d bytes", DOMAIN_MAX);
	key->mv_size = n;
	key->mv_data = (void *)(uintptr_t)domain;
	return STORE_OK;
}

/* key_is - true when the key holds exactly the string s. */
static bool
key_is(const MDB_val *key, const char *s)
{
	size_t n = strlen(s);

	return key->mv_size == n && memcmp(key->mv_data, s, n) == 0;
}

/* corrupt - the STORE_CORRUPT sentence: which db, which key, why. */
static int
corrupt(char *err, size_t errlen, const char *db, const MDB_val *key,
        const char *why)
{
	char kt[STORE_KEY_TEXT_MAX];

	return errbuf_code(
	    err, errlen, STORE_CORRUPT, "%s record for %s: %s", db,
	    key_text(kt, sizeof(kt), key->mv_data, key->mv_size), why);
}

/* warn - pass a non-fatal finding to the caller, if it listens. */
static void __attribute__((format(printf, 2, 3)))
warn(const struct store_opts *opts, const char *fmt, ...)
{
	char msg[STORE_MSG_MAX];
	va_list ap;

	if (opts == NULL || opts->warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	opts->warn(opts->warn_ctx, msg);
}

/* check_mode - refuse world-writable, warn on group-writable. */
static int
check_mode(const char *path, const struct stat *sb,
           const struct store_opts *opts, char *err, size_t errlen)
{
	if (sb->st_mode & S_IWOTH)
		return errbuf_code(
		    err, errlen, STORE_ERROR,
		    "%s is writable by everyone (mode %04o); refusing to use "
		    "it",
		    path, (unsigned)(sb->st_mode & 07777));
	if (sb->st_mode & S_IWGRP)
		warn(opts, "%s is writable by its group (mode %04o)", path,
		     (unsigned)(sb->st_mode & 07777));
	return STORE_OK;
}

/* check_ancestors - no ancestor writable by others without sticky bit. */
static int
check_ancestors(const char *dir, char *err, size_t errlen)
{
	char real[PATH_MAX];
	struct stat sb;
	char *slash;

	if (realpath(dir, real) == NULL)
		return errbuf_code(err, errlen, STORE_ERROR, "%s: %s", dir,
		                   strerror(errno));
	for (slash = strrchr(real, '/'); slash != NULL;
	     slash = strrchr(real, '/')) {
		*slash = '\0';
		if (stat(real[0] ? real : "/", &sb) != 0)
			return errbuf_code(err, errlen, STORE_ERROR, "%s: %s",
			                   real[0] ? real : "/",
			                   strerror(errno));
		if ((sb.st_mode & S_IWOTH) && !(sb.st_mode & S_ISVTX))
			return errbuf_code(
			    err, errlen, STORE_ERROR,
			    "%s, above %s, is writable by everyone without "
			    "the sticky bit; refusing to use it",
			    real[0] ? real : "/", dir);
		if (real[0] == '\0')
			break;
	}
	return STORE_OK;
}

/* store_vet_location - the ancestors of dir (which may not exist yet:
 * then its parent and the parent's ancestors) are not writable by
 * everyone without the sticky bit: what store_open() checks, for a
 * check that must create nothing. */
int
store_vet_location(const char *dir, char *err, size_t errlen)
{
	char parent[PATH_MAX];
	struct stat sb;
	char *slash;

	if (stat(dir, &sb) == 0 || errno != ENOENT)
		return check_ancestors(dir, err, errlen);
	if (snprintf(parent, sizeof(parent), "%s", dir) >= (int)sizeof(parent))
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "%s: path too long", dir);
	if ((slash = strrchr(parent, '/')) == NULL)
		snprintf(parent, sizeof(parent), ".");
	else
		slash[slash == parent ? 1 : 0] = '\0';
	if (stat(parent, &sb) != 0)
		return errbuf_code(err, errlen, STORE_ERROR, "%s: %s", parent,
		                   strerror(errno));
	if ((sb.st_mode & S_IWOTH) && !(sb.st_mode & S_ISVTX))
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "%s, above %s, is writable by everyone "
		                   "without the sticky bit; refusing to use it",
		                   parent, dir);
	return check_ancestors(parent, err, errlen);
}

/* check_dir - make (if asked) and vet the state directory. */
static int
check_dir(const char *dir, unsigned flags, const struct store_opts *opts,
          char *err, size_t errlen)
{
	struct stat sb;

	if (stat(dir, &sb) != 0) {
		if (errno != ENOENT || !(flags & STORE_CREATE) ||
		    (flags & STORE_RDONLY))
			return errbuf_code(err, errlen, STORE_ERROR, "%s: %s",
			                   dir, strerror(errno));
		if (mkdir(dir, STORE_DIR_MODE) != 0 && errno != EEXIST)
			return errbuf_code(err, errlen, STORE_ERROR,
			                   "mkdir %s: %s", dir,
			                   strerror(errno));
		if (stat(dir, &sb) != 0)
			return errbuf_code(err, errlen, STORE_ERROR, "%s: %s",
			                   dir, strerror(errno));
	}
	if (!S_ISDIR(sb.st_mode))
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "%s is not a directory", dir);
	if (check_mode(dir, &sb, opts, err, errlen) != STORE_OK)
		return STORE_ERROR;
	return check_ancestors(dir, err, errlen);
}

/* check_files - data and lock files: regular, not writable by others. */
static int
check_files(const char *dir, const struct store_opts *opts, char *err,
            size_t errlen)
{
	static const char *const names[] = {"data.mdb", "lock.mdb"};
	char path[PATH_MAX];
	struct stat sb;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		                     names[i]) >= sizeof(path))
			return errbuf_code(err, errlen, STORE_ERROR,
			                   "%s: path too long", dir);
		if (lstat(path, &sb) != 0) {
			if (errno == ENOENT)
				continue;
			return errbuf_code(err, errlen, STORE_ERROR, "%s: %s",
			                   path, strerror(errno));
		}
		if (!S_ISREG(sb.st_mode))
			return errbuf_code(err, errlen, STORE_ERROR,
			                   "%s is not a regular file", path);
		if (check_mode(path, &sb, opts, err, errlen) != STORE_OK)
			return STORE_ERROR;
	}
	return STORE_OK;
}

/* check_pages - before a writer maps it: the page structure of an
 * existing data.mdb (lmdbcheck.c reads it with pread).  liblmdb acting
 * on a damaged page while it writes can overwrite its own heap, which no
 * fault handler sees in time; readers are left to the fault guard. */
static int
check_pages(const char *dir, char *err, size_t errlen)
{
	struct lmdbcheck_report rep;
	char path[PATH_MAX];
	int fd, rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/data.mdb", dir) >=
	    sizeof(path))
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "%s: path too long", dir);
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return errno == ENOENT
		           ? STORE_OK
		           : errbuf_code(err, errlen, STORE_ERROR, "%s: %s",
		                         path, strerror(errno));
	rc = lmdbcheck_fd(fd, &rep);
	close(fd);
	if (rc == 0)
		return STORE_OK;
	if (rc < 0)
		return errbuf_code(err, errlen, STORE_ERROR, "%s: %s", path,
		                   rep.problem);
	return errbuf_code(
	    err, errlen, STORE_ERROR,
	    "the store is damaged: its page structure: %s; recover "
	    "with: " STORE_RECOVERY,
	    rep.problem);
}

/* open_dbs - open (or create) the three named databases. */
static int
open_dbs(struct store *st, unsigned flags, const char *dir, char *err,
         size_t errlen)
{
	static const char *const names[] = {"registry", "state", "held"};
	MDB_dbi *dbis[] = {&st->reg, &st->state, &st->held};
	unsigned dbflags = (flags & STORE_CREATE) ? MDB_CREATE : 0;
	MDB_txn *txn;
	int rc;

	rc = mdb_txn_begin(st->env, NULL,
	                   (flags & STORE_RDONLY) ? MDB_RDONLY : 0, &txn);
	if (rc != 0)
		return lmdb_fail(err, errlen, "begin transaction", rc);
	if ((rc = mdb_dbi_open(txn, NULL, 0, &st->main)) != 0) {
		mdb_txn_abort(txn);
		return lmdb_fail(err, errlen, "open main database", rc);
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		rc = mdb_dbi_open(txn, names[i], dbflags, dbis[i]);
		if (rc == MDB_NOTFOUND) {
			mdb_txn_abort(txn);
			return errbuf_code(
			    err, errlen, STORE_ERROR,
			    "%s holds no \"%s\" database; create the store "
			    "first",
			    dir, names[i]);
		}
		if (rc != 0) {
			mdb_txn_abort(txn);
			return lmdb_fail(err, errlen, "open database", rc);
		}
	}
	/* The outbox came later: a store opened for writing gains it. */
	rc = mdb_dbi_open(txn, "outbox",
	                  (flags & STORE_RDONLY) ? 0 : MDB_CREATE, &st->outbox);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return lmdb_fail(err, errlen, "open database", rc);
	}
	st->has_outbox = rc == 0;
	/* A read-only commit also publishes the handles to the env. */
	rc = mdb_txn_commit(txn);
	return rc == 0 ? STORE_OK
	               : lmdb_fail(err, errlen, "open databases", rc);
}

/* env_open - create, size and open the LMDB environment. */
static int
env_open(struct store *st, const char *dir, unsigned flags,
         const struct store_opts *opts, char *err, size_t errlen)
{
	size_t mapsize =
	    opts && opts->mapsize ? opts->mapsize : STORE_MAPSIZE_DEFAULT;
	unsigned maxreaders = opts && opts->maxreaders
	                          ? opts->maxreaders
	                          : STORE_MAXREADERS_DEFAULT;
	unsigned envflags =
	    MDB_NOTLS | ((flags & STORE_RDONLY) ? MDB_RDONLY : 0);
	int rc, dead = 0;

	MDB_env *env;

	if ((rc = mdb_env_create(&env)) != 0)
		return lmdb_fail(err, errlen, "create environment", rc);
	st->env = env;
	if ((rc = mdb_env_set_maxdbs(env, STORE_MAXDBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, mapsize)) != 0 ||
	    (rc = mdb_env_set_maxreaders(env, maxreaders)) != 0)
		return lmdb_fail(err, errlen, "configure environment", rc);
	if ((rc = mdb_env_open(env, dir, envflags, STORE_FILE_MODE)) != 0)
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "open store in %s: %s", dir,
		                   mdb_strerror(rc));
	if ((rc = mdb_reader_check(env, &dead)) != 0)
		return lmdb_fail(err, errlen, "check stale readers", rc);
	if (dead > 0)
		warn(opts, "%s: cleared %d stale reader slot(s)", dir, dead);
	return STORE_OK;
}

int
store_open(const char *dir, unsigned flags, const struct store_opts *opts,
           struct store **out, char *err, size_t errlen)
{
	struct store *st;
	int rc;

	*out = NULL;
	if (dir == NULL || dir[0] == '\0')
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "no state directory");
	if (check_dir(dir, flags, opts, err, errlen) != STORE_OK ||
	    check_files(dir, opts, err, errlen) != STORE_OK ||
	    (!(flags & STORE_RDONLY) &&
	     check_pages(dir, err, errlen) != STORE_OK))
		return STORE_ERROR;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return errbuf_code(err, errlen, STORE_ERROR, "out of memory");
	st->flags = flags;
	st->guard_slot = -1;
	if (env_open(st, dir, flags, opts, err, errlen) != STORE_OK ||
	    check_files(dir, opts, err, errlen) != STORE_OK) {
		store_close(st);
		return STORE_ERROR;
	}
	guard_register(st, dir);
	guard_enter();
	rc = open_dbs(st, flags, dir, err, errlen);
	guard_leave();
	if (rc != STORE_OK) {
		store_close(st);
		return STORE_ERROR;
	}
	*out = st;
	return STORE_OK;
}

/* store_close - every reader and batch must be closed before. */
void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	guard_unregister(st);
	if (st->env != NULL)
		mdb_env_close(st->env);
	for (unsigned i = 0; i < st->nretired; i++) {
		guard_unregister_slot(st->retired_slot[i]);
		mdb_env_close(st->retired[i]);
	}
	free(st);
}

/* snapshot_ok - 1 when txn reads the snapshot it registered, 0 when it
 * must be retaken (why in err), STORE_ERROR (err set) on trouble. */
static int
snapshot_ok(struct store *st, MDB_txn *txn, char *err, size_t errlen)
{
	MDB_val key = {sizeof(gen_key) - 1, (void *)(uintptr_t)gen_key}, val;
	const unsigned char *p;
	uint64_t gen = 0;
	int rc = mdb_get(txn, st->main, &key, &val);

	if (rc == MDB_NOTFOUND)
		return 1; /* no batch has committed yet */
	if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND) {
		/* Maybe a torn copy of a meta page: retake. */
		errbuf_code(err, errlen, 0, "%s", mdb_strerror(rc));
		return 0;
	}
	if (rc != 0)
		return lmdb_fail(err, errlen, "read generation", rc);
	if (val.mv_size != STORE_GEN_SIZE)
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "generation record has %zu bytes, want %d",
		                   val.mv_size, STORE_GEN_SIZE);
	p = val.mv_data;
	for (int i = STORE_GEN_SIZE - 1; i >= 0; i--)
		gen = gen << 8 | p[i];
	if (gen <= (uint64_t)mdb_txn_id(txn))
		return 1;
	errbuf_code(err, errlen, 0, "snapshot newer than its transaction");
	return 0;
}

/*
 * snapshot_settle - make an active read txn read what it registered.
 *
 * LMDB 0.9 registers the last committed txnid T, then copies meta page
 * T & 1 without checking that page still holds T.  A reader delayed
 * across two commits copies the meta of T + 2 (visible before its sync
 * completes) while registered at T; its next transaction then reads T + 1
 * and goes back in time.  Every batch stores its txnid as the generation,
 * so a snapshot newer than its registration shows a larger generation:
 * reset and renew, which registers the current txnid.  On failure the
 * txn may be reset; the caller aborts or resets it.
 */
static int
snapshot_settle(struct store *st, MDB_txn *txn, char *err, size_t errlen)
{
	char why[STORE_MSG_MAX] = "";
	int rc;

	for (int i = 0; i < STORE_SNAPSHOT_TRIES; i++) {
		if ((rc = snapshot_ok(st, txn, why, sizeof(why))) != 0)
			return rc == 1 ? STORE_OK
			               : errbuf_code(err, errlen, STORE_ERROR,
			                             "%s", why);
		mdb_txn_reset(txn);
		if ((rc = mdb_txn_renew(txn)) != 0)
			return lmdb_fail(err, errlen, "renew reader", rc);
	}
	return errbuf_code(err, errlen, STORE_ERROR,
	                   "no consistent read snapshot after %d tries (%s)",
	                   STORE_SNAPSHOT_TRIES, why);
}

/* read_begin - a short read-only transaction on a consistent snapshot. */
static int
read_begin(struct store *st, MDB_txn **txn, char *err, size_t errlen)
{
	int rc;

	guard_enter(); /* until read_end, in the same store call */
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn)) != 0) {
		guard_leave();
		return lmdb_fail(err, errlen, "begin read transaction", rc);
	}
	if ((rc = snapshot_settle(st, *txn, err, errlen)) != STORE_OK) {
		mdb_txn_abort(*txn);
		guard_leave();
		*txn = NULL;
	}
	return rc;
}

/* read_end - abort a transaction of read_begin. */
static void
read_end(MDB_txn *txn)
{
	mdb_txn_abort(txn);
	guard_leave();
}

/* get_value - mdb_get with the store's result codes. */
static int
get_value(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *val,
          const char *domain, char *err, size_t errlen)
{
	char kt[STORE_KEY_TEXT_MAX];
	int rc = mdb_get(txn, dbi, key, val);

	if (rc == MDB_NOTFOUND) {
		/* "KEY: not found" without a format: the milter asks for
		 * absent names on every decision (mail.example.com before
		 * example.com) */
		size_t n;

		if (err == NULL || errlen == 0)
			return STORE_NOTFOUND;
		key_text(kt, sizeof(kt), domain, key->mv_size);
		n = text_copy(err, errlen, kt);
		text_copy(err + n, errlen - n, ": not found");
		return STORE_NOTFOUND;
	}
	return rc == 0 ? STORE_OK : lmdb_fail(err, errlen, "read", rc);
}

/* decode_reg - decode a registry value and match it to its key. */
static int
decode_reg(const MDB_val *key, const MDB_val *val, struct domain_reg *reg,
           char *err, size_t errlen)
{
	char why[STORE_MSG_MAX];

	if (storecodec_reg_decode(val->mv_data, val->mv_size, reg, why,
	                          sizeof(why)) != 0)
		return corrupt(err, errlen, "registry", key, why);
	if (!key_is(key, reg->domain))
		return corrupt(err, errlen, "registry", key,
		               "record names another domain");
	return STORE_OK;
}

/* decode_state - decode a state value and match it to its key. */
static int
decode_state(const MDB_val *key, const MDB_val *val, struct domain_state *state,
             char *err, size_t errlen)
{
	char why[STORE_MSG_MAX];

	if (storecodec_state_decode(val->mv_data, val->mv_size, state, why,
	                            sizeof(why)) != 0)
		return corrupt(err, errlen, "state", key, why);
	if (!key_is(key, state->domain))
		return corrupt(err, errlen, "state", key,
		               "record names another domain");
	return STORE_OK;
}

int
store_reg_get(struct store *st, const char *domain, struct domain_reg *reg,
              char *err, size_t errlen)
{
	MDB_txn *txn;
	MDB_val key, val;
	int rc;

	memset(reg, 0, sizeof(*reg));
	if ((rc = domain_key(domain, &key, err, errlen)) != STORE_OK ||
	    (rc = read_begin(st, &txn, err, errlen)) != STORE_OK)
		return rc;
	rc = get_value(txn, st->reg, &key, &val, domain, err, errlen);
	if (rc == STORE_OK)
		rc = decode_reg(&key, &val, reg, err, errlen);
	read_end(txn);
	return rc;
}

int
store_state_get(struct store *st, const char *domain,
                struct domain_state *state, char *err, size_t errlen)
{
	MDB_txn *txn;
	MDB_val key, val;
	int rc;

	memset(state, 0, sizeof(*state));
	if ((rc = domain_key(domain, &key, err, errlen)) != STORE_OK ||
	    (rc = read_begin(st, &txn, err, errlen)) != STORE_OK)
		return rc;
	rc = get_value(txn, st->state, &key, &val, domain, err, errlen);
	if (rc == STORE_OK)
		rc = decode_state(&key, &val, state, err, errlen);
	read_end(txn);
	return rc;
}

int
store_batch_begin(struct store *st, struct store_batch **out, char *err,
                  size_t errlen)
{
	struct store_batch *b;
	int rc;

	*out = NULL;
	if (st->flags & STORE_RDONLY)
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "store was opened read-only");
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return errbuf_code(err, errlen, STORE_ERROR, "out of memory");
	b->st = st;
	guard_enter();
	rc = mdb_txn_begin(st->env, NULL, 0, &b->txn);
	guard_leave();
	if (rc != 0) {
		free(b);
		return lmdb_fail(err, errlen, "begin write transaction", rc);
	}
	*out = b;
	return STORE_OK;
}

/* put_generation - record the txnid of a changing batch (snapshot_ok). */
static int
put_generation(struct store_batch *b)
{
	unsigned char buf[STORE_GEN_SIZE];
	uint64_t gen = mdb_txn_id(b->txn);
	MDB_val key = {sizeof(gen_key) - 1, (void *)(uintptr_t)gen_key};
	MDB_val val = {sizeof(buf), buf};

	for (int i = 0; i < STORE_GEN_SIZE; i++, gen >>= 8)
		buf[i] = (unsigned char)(gen & 0xff);
	return mdb_put(b->txn, b->st->main, &key, &val, 0);
}

int
store_batch_commit(struct store_batch *b, char *err, size_t errlen)
{
	int rc;

	guard_enter();
	if ((rc = b->dirty ? put_generation(b) : 0) != 0) {
		store_batch_abort(b);
		guard_leave();
		return lmdb_fail(err, errlen, "commit", rc);
	}
	rc = mdb_txn_commit(b->txn);
	guard_leave();
	free(b);
	return rc == 0 ? STORE_OK : lmdb_fail(err, errlen, "commit", rc);
}

void
store_batch_abort(struct store_batch *b)
{
	if (b == NULL)
		return;
	guard_enter();
	mdb_txn_abort(b->txn);
	guard_leave();
	free(b);
}

/* put_value - mdb_put in a batch with the store's result codes. */
static int
put_value(struct store_batch *b, MDB_dbi dbi, MDB_val *key,
          const unsigned char *buf, size_t len, char *err, size_t errlen)
{
	MDB_val val = {len, (void *)(uintptr_t)buf};
	int rc;

	guard_enter();
	rc = mdb_put(b->txn, dbi, key, &val, 0);
	guard_leave();
	if (rc != 0)
		return lmdb_fail(err, errlen, "write", rc);
	b->dirty = true;
	return STORE_OK;
}

int
store_batch_put_state(struct store_batch *b, const struct domain_state *state,
                      char *err, size_t errlen)
{
	unsigned char buf[STORECODEC_STATE_MAX];
	size_t len;
	MDB_val key;
	int rc;

	if ((rc = domain_key(state->domain, &key, err, errlen)) != STORE_OK)
		return rc;
	if (storecodec_state_encode(state, buf, sizeof(buf), &len, err,
	                            errlen) != 0)
		return STORE_ERROR;
	return put_value(b, b->st->state, &key, buf, len, err, errlen);
}

int
store_batch_put_reg(struct store_batch *b, const struct domain_reg *reg,
                    char *err, size_t errlen)
{
	unsigned char buf[STORECODEC_REG_MAX];
	size_t len;
	MDB_val key;
	int rc;

	if ((rc = domain_key(reg->domain, &key, err, errlen)) != STORE_OK)
		return rc;
	if (storecodec_reg_encode(reg, buf, sizeof(buf), &len, err, errlen) !=
	    0)
		return STORE_ERROR;
	return put_value(b, b->st->reg, &key, buf, len, err, errlen);
}

int
store_batch_get_state(struct store_batch *b, const char *domain,
                      struct domain_state *state, char *err, size_t errlen)
{
	MDB_val key, val;
	int rc;

	memset(state, 0, sizeof(*state));
	if ((rc = domain_key(domain, &key, err, errlen)) != STORE_OK)
		return rc;
	guard_enter();
	rc = get_value(b->txn, b->st->state, &key, &val, domain, err, errlen);
	if (rc == STORE_OK)
		rc = decode_state(&key, &val, state, err, errlen);
	guard_leave();
	return rc;
}

/* commit_or_abort - finish a one-operation batch. */
static int
commit_or_abort(struct store_batch *b, int rc, char *err, size_t errlen)
{
	if (rc != STORE_OK) {
		store_batch_abort(b);
		return rc;
	}
	return store_batch_commit(b, err, errlen);
}

int
store_state_put(struct store *st, const struct domain_state *state, char *err,
                size_t errlen)
{
	struct store_batch *b;
	int rc;

	if ((rc = store_batch_begin(st, &b, err, errlen)) != STORE_OK)
		return rc;
	rc = store_batch_put_state(b, state, err, errlen);
	return commit_or_abort(b, rc, err, errlen);
}

int
store_reg_put(struct store *st, const struct domain_reg *reg, char *err,
              size_t errlen)
{
	struct store_batch *b;
	int rc;

	if ((rc = store_batch_begin(st, &b, err, errlen)) != STORE_OK)
		return rc;
	rc = store_batch_put_reg(b, reg, err, errlen);
	return commit_or_abort(b, rc, err, errlen);
}

/* del_key - delete one key in its own transaction. */
static int
del_key(struct store *st, MDB_dbi dbi, MDB_val *key, char *err, size_t errlen)
{
	char kt[STORE_KEY_TEXT_MAX];
	struct store_batch *b;
	int rc;

	if ((rc = store_batch_begin(st, &b, err, errlen)) != STORE_OK)
		return rc;
	guard_enter();
	rc = mdb_del(b->txn, dbi, key, NULL);
	guard_leave();
	if (rc == 0)
		b->dirty = true;
	else if (rc == MDB_NOTFOUND)
		rc = errbuf_code(
		    err, errlen, STORE_NOTFOUND, "%s: not found",
		    key_text(kt, sizeof(kt), key->mv_data, key->mv_size));
	else
		rc = lmdb_fail(err, errlen, "delete", rc);
	return commit_or_abort(b, rc, err, errlen);
}

int
store_reg_del(struct store *st, const char *domain, char *err, size_t errlen)
{
	MDB_val key;
	int rc;

	if ((rc = domain_key(domain, &key, err, errlen)) != STORE_OK)
		return rc;
	return del_key(st, st->reg, &key, err, errlen);
}

int
store_state_del(struct store *st, const char *domain, char *err, size_t errlen)
{
	MDB_val key;
	int rc;

	if ((rc = domain_key(domain, &key, err, errlen)) != STORE_OK)
		return rc;
	return del_key(st, st->state, &key, err, errlen);
}

int
store_reader_open(struct store *st, struct store_reader **out, char *err,
                  size_t errlen)
{
	struct store_reader *rd;
	int rc, dead;

	*out = NULL;
	if ((rd = calloc(1, sizeof(*rd))) == NULL)
		return errbuf_code(err, errlen, STORE_ERROR, "out of memory");
	rd->st = st;
	rd->env = st->env;
	guard_enter();
	rc = mdb_txn_begin(rd->env, NULL, MDB_RDONLY, &rd->txn);
	if (rc == MDB_READERS_FULL && mdb_reader_check(rd->env, &dead) == 0 &&
	    dead > 0)
		rc = mdb_txn_begin(rd->env, NULL, MDB_RDONLY, &rd->txn);
	if (rc == 0)
		mdb_txn_reset(rd->txn);
	guard_leave();
	if (rc != 0) {
		free(rd);
		return lmdb_fail(err, errlen, "open reader", rc);
	}
	*out = rd;
	return STORE_OK;
}

void
store_reader_close(struct store_reader *rd)
{
	if (rd == NULL)
		return;
	guard_enter();
	mdb_txn_abort(rd->txn);
	guard_leave();
	free(rd);
}

/* peek_value - validate the fixed block and the domain against the key. */
static int
peek_value(const MDB_val *key, const MDB_val *val,
           struct storecodec_state_summary *sum, char *err, size_t errlen)
{
	char why[STORE_MSG_MAX];

	if (storecodec_state_peek(val->mv_data, val->mv_size, sum, why,
	                          sizeof(why)) != 0)
		return corrupt(err, errlen, "state", key, why);
	if (sum->domain_len != key->mv_size ||
	    memcmp(sum->domain, key->mv_data, key->mv_size) != 0)
		return corrupt(err, errlen, "state", key,
		               "record names another domain");
	return STORE_OK;
}

/* reader_follow - a reader of an environment store_reopen() replaced
 * moves to the new one (its reset transaction is dropped). */
static int
reader_follow(struct store_reader *rd)
{
	MDB_env *env = rd->st->env;
	MDB_txn *txn;
	int rc;

	if (env == rd->env)
		return 0;
	if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0)
		return rc;
	mdb_txn_reset(txn);
	mdb_txn_abort(rd->txn);
	rd->txn = txn;
	rd->env = env;
	return 0;
}

int
store_read_begin(struct store_reader *rd, char *err, size_t errlen)
{
	int rc;

	guard_enter();
	if ((rc = reader_follow(rd)) != 0 ||
	    (rc = mdb_txn_renew(rd->txn)) != 0) {
		guard_leave();
		return lmdb_fail(err, errlen, "renew reader", rc);
	}
	if ((rc = snapshot_settle(rd->st, rd->txn, err, errlen)) != STORE_OK)
		mdb_txn_reset(rd->txn);
	guard_leave(); /* the snapshot stays open: the caller's code runs */
	return rc;
}

void
store_read_end(struct store_reader *rd)
{
	guard_enter();
	mdb_txn_reset(rd->txn);
	guard_leave();
}

int
store_read_state(struct store_reader *rd, const char *domain,
                 struct storecodec_state_summary *sum, char *err, size_t errlen)
{
	MDB_val key, val;
	int rc;

	memset(sum, 0, sizeof(*sum));
	guard_enter();
	if ((rc = domain_key(domain, &key, err, errlen)) == STORE_OK)
		rc = get_value(rd->txn, rd->st->state, &key, &val, domain, err,
		               errlen);
	if (rc == STORE_OK)
		rc = peek_value(&key, &val, sum, err, errlen);
	guard_leave();
	/* The summary must not point into the snapshot. */
	sum->domain = NULL;
	sum->domain_len = 0;
	return rc;
}

int
store_read_reg(struct store_reader *rd, const char *domain,
               struct storecodec_reg_summary *sum, char *err, size_t errlen)
{
	char why[STORE_MSG_MAX];
	MDB_val key, val;
	int rc;

	memset(sum, 0, sizeof(*sum));
	guard_enter();
	if ((rc = domain_key(domain, &key, err, errlen)) == STORE_OK)
		rc = get_value(rd->txn, rd->st->reg, &key, &val, domain, err,
		               errlen);
	if (rc == STORE_OK && storecodec_reg_peek(val.mv_data, val.mv_size, sum,
	                                          why, sizeof(why)) != 0)
		rc = corrupt(err, errlen, "registry", &key, why);
	if (rc == STORE_OK &&
	    (sum->domain_len != key.mv_size ||
	     memcmp(sum->domain, key.mv_data, key.mv_size) != 0))
		rc = corrupt(err, errlen, "registry", &key,
		             "record names another domain");
	guard_leave();
	if (rc != STORE_OK)
		sum->mail_from[0] = '\0';
	sum->domain = NULL;
	sum->domain_len = 0;
	return rc;
}

int
store_state_peek(struct store_reader *rd, const char *domain,
                 struct storecodec_state_summary *sum, char *err, size_t errlen)
{
	int rc;

	memset(sum, 0, sizeof(*sum));
	if ((rc = store_read_begin(rd, err, errlen)) != STORE_OK)
		return rc;
	rc = store_read_state(rd, domain, sum, err, errlen);
	store_read_end(rd);
	return rc;
}

/* Iteration over one database with a decoding step per entry. */
struct iter {
	MDB_dbi dbi;
	int (*step)(struct iter *it, const MDB_val *key, const MDB_val *val);
	union {
		store_reg_cb reg;
		store_state_cb state;
		store_held_cb held;
		store_unreg_cb unreg;
	} cb;
	void *ctx;
	size_t corrupt;
	struct store_check_report *rep;
	store_problem_cb problem;
	MDB_txn *txn;
	struct store *st;
	int backward; /* last key first */
};

/* iterate - walk it->dbi in key order; step returns nonzero to stop. */
static int
iterate(MDB_txn *txn, struct iter *it, char *err, size_t errlen)
{
	MDB_cursor_op first = it->backward ? MDB_LAST : MDB_FIRST;
	MDB_cursor_op next = it->backward ? MDB_PREV : MDB_NEXT;
	MDB_cursor *cur;
	MDB_val key, val;
	int rc;

	if ((rc = mdb_cursor_open(txn, it->dbi, &cur)) != 0)
		return lmdb_fail(err, errlen, "open cursor", rc);
	for (rc = mdb_cursor_get(cur, &key, &val, first); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, next))
		if (it->step(it, &key, &val) != 0)
			break;
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_fail(err, errlen, "iterate", rc);
	return STORE_OK;
}

/* reg_step - decode one registry entry for store_reg_iter. */
static int
reg_step(struct iter *it, const MDB_val *key, const MDB_val *val)
{
	struct domain_reg reg;
	char why[STORE_MSG_MAX], kt[STORE_KEY_TEXT_MAX];
	sig_atomic_t depth;
	int rc;

	if (decode_reg(key, val, &reg, why, sizeof(why)) != STORE_OK) {
		it->corrupt++;
		if (it->problem != NULL) {
			key_text(kt, sizeof(kt), key->mv_data, key->mv_size);
			depth = guard_out();
			it->problem(it->ctx, "registry", kt, why);
			guard_back(depth);
		}
		return 0;
	}
	depth = guard_out();
	rc = it->cb.reg(it->ctx, &reg);
	guard_back(depth);
	return rc;
}

/* state_step - decode one state entry for store_state_iter. */
static int
state_step(struct iter *it, const MDB_val *key, const MDB_val *val)
{
	struct domain_state state;
	sig_atomic_t depth;
	int rc;

	if (decode_state(key, val, &state, NULL, 0) != STORE_OK) {
		it->corrupt++;
		return 0;
	}
	depth = guard_out();
	rc = it->cb.state(it->ctx, &state);
	guard_back(depth);
	return rc;
}

/* iter_run - one read transaction around iterate(). */
static int
iter_run(struct store *st, struct iter *it, size_t *ncorrupt, char *err,
         size_t errlen)
{
	MDB_txn *txn;
	int rc;

	if ((rc = read_begin(st, &txn, err, errlen)) != STORE_OK)
		return rc;
	it->txn = txn;
	it->st = st;
	rc = iterate(txn, it, err, errlen);
	read_end(txn);
	if (ncorrupt != NULL)
		*ncorrupt = it->corrupt;
	return rc;
}

int
store_reg_iter(struct store *st, store_reg_cb cb, void *ctx, size_t *ncorrupt,
               char *err, size_t errlen)
{
	struct iter it = {.dbi = st->reg, .step = reg_step, .ctx = ctx};

	it.cb.reg = cb;
	return iter_run(st, &it, ncorrupt, err, errlen);
}

int
store_reg_count(struct store *st, size_t *n, char *err, size_t errlen)
{
	MDB_txn *txn;
	MDB_stat ms;
	int rc;

	*n = 0;
	if ((rc = read_begin(st, &txn, err, errlen)) != STORE_OK)
		return rc;
	rc = mdb_stat(txn, st->reg, &ms);
	read_end(txn);
	if (rc != 0)
		return lmdb_fail(err, errlen, "count the registry", rc);
	*n = ms.ms_entries;
	return STORE_OK;
}

int
store_last_commit(struct store *st, uint64_t *id)
{
	MDB_envinfo info;
	int rc;

	guard_enter();
	rc = mdb_env_info(st->env, &info);
	guard_leave();
	*id = rc == 0 ? (uint64_t)info.me_last_txnid : 0;
	return rc == 0 ? STORE_OK : STORE_ERROR;
}

int
store_reg_walk(struct store *st, int backward, store_reg_cb cb,
               store_problem_cb bad, void *ctx, char *err, size_t errlen)
{
	struct iter it = {.dbi = st->reg,
	                  .step = reg_step,
	                  .ctx = ctx,
	                  .problem = bad,
	                  .backward = backward};

	it.cb.reg = cb;
	return iter_run(st, &it, NULL, err, errlen);
}

int
store_state_iter(struct store *st, store_state_cb cb, void *ctx,
                 size_t *ncorrupt, char *err, size_t errlen)
{
	struct iter it = {.dbi = st->state, .step = state_step, .ctx = ctx};

	it.cb.state = cb;
	return iter_run(st, &it, ncorrupt, err, errlen);
}

/* held_key - "domain NUL queue_id"; validates both parts. */
static int
held_key(const char *domain, const char *queue_id, unsigned char *buf,
         MDB_val *key, char *err, size_t errlen)
{
	MDB_val dk;
	size_t n;
	int rc;

	if ((rc = domain_key(domain, &dk, err, errlen)) != STORE_OK)
		return rc;
	if (queue_id == NULL)
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "no queue id given");
	n = strnlen(queue_id, HELD_QUEUE_ID_MAX);
	if (n == 0 || n >= HELD_QUEUE_ID_MAX)
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "queue id must be 1..%d bytes",
		                   HELD_QUEUE_ID_MAX - 1);
	for (size_t i = 0; i < n; i++)
		if (queue_id[i] <= ' ' || queue_id[i] > '~')
			return errbuf_code(
			    err, errlen, STORE_ERROR,
			    "queue id holds a byte that is not printable "
			    "ASCII");
	memcpy(buf, domain, dk.mv_size);
	buf[dk.mv_size] = '\0';
	memcpy(buf + dk.mv_size + 1, queue_id, n);
	key->mv_data = buf;
	key->mv_size = dk.mv_size + 1 + n;
	return STORE_OK;
}

/* decode_held - decode a held entry and match it to its key. */
static int
decode_held(const MDB_val *key, const MDB_val *val, struct held_msg *msg,
            char *err, size_t errlen)
{
	char why[STORE_MSG_MAX];
	size_t dn;

	if (storecodec_held_decode(val->mv_data, val->mv_size, msg, why,
	                           sizeof(why)) != 0)
		return corrupt(err, errlen, "held", key, why);
	dn = strlen(msg->domain);
	if (key->mv_size != dn + 1 + strlen(msg->queue_id) ||
	    memcmp(key->mv_data, msg->domain, dn + 1) != 0 ||
	    memcmp((const char *)key->mv_data + dn + 1, msg->queue_id,
	           key->mv_size - dn - 1) != 0)
		return corrupt(err, errlen, "held", key,
		               "record names another message");
	return STORE_OK;
}

/* store_held_add - index a held message; reason is cut to fit. */
int
store_held_add(struct store *st, const char *domain, const char *queue_id,
               int64_t held_at, const char *reason, char *err, size_t errlen)
{
	struct held_msg msg;

	memset(&msg, 0, sizeof(msg));
	snprintf(msg.domain, sizeof(msg.domain), "%s", domain);
	snprintf(msg.queue_id, sizeof(msg.queue_id), "%s", queue_id);
	snprintf(msg.reason, sizeof(msg.reason), "%s",
	         reason != NULL ? reason : "");
	msg.held_at = held_at;
	return store_held_put(st, &msg, err, errlen);
}

/* store_held_put - index a held message with all its fields (door,
 * sender); the key is its domain and queue ID. */
int
store_batch_put_held(struct store_batch *b, const struct held_msg *msg,
                     char *err, size_t errlen)
{
	unsigned char kbuf[STORE_HELD_KEY_MAX];
	unsigned char vbuf[STORECODEC_HELD_MAX];
	MDB_val key;
	size_t len;
	int rc;

	if ((rc = held_key(msg->domain, msg->queue_id, kbuf, &key, err,
	                   errlen)) != STORE_OK)
		return rc;
	if (storecodec_held_encode(msg, vbuf, sizeof(vbuf), &len, err,
	                           errlen) != 0)
		return STORE_ERROR;
	return put_value(b, b->st->held, &key, vbuf, len, err, errlen);
}

int
store_held_put(struct store *st, const struct held_msg *msg, char *err,
               size_t errlen)
{
	struct store_batch *b;
	int rc;

	if ((rc = store_batch_begin(st, &b, err, errlen)) != STORE_OK)
		return rc;
	rc = store_batch_put_held(b, msg, err, errlen);
	return commit_or_abort(b, rc, err, errlen);
}

int
store_held_del(struct store *st, const char *domain, const char *queue_id,
               char *err, size_t errlen)
{
	unsigned char kbuf[STORE_HELD_KEY_MAX];
	MDB_val key;
	int rc;

	if ((rc = held_key(domain, queue_id, kbuf, &key, err, errlen)) !=
	    STORE_OK)
		return rc;
	return del_key(st, st->held, &key, err, errlen);
}

int
store_batch_del_held(struct store_batch *b, const char *domain,
                     const char *queue_id, char *err, size_t errlen)
{
	unsigned char kbuf[STORE_HELD_KEY_MAX];
	MDB_val key;
	int rc;

	if ((rc = held_key(domain, queue_id, kbuf, &key, err, errlen)) !=
	    STORE_OK)
		return rc;
	return batch_del_key(b, b->st->held, &key, err, errlen);
}

int
store_held_count(struct store *st, size_t *n, char *err, size_t errlen)
{
	MDB_txn *txn;
	MDB_stat ms;
	int rc;

	*n = 0;
	if ((rc = read_begin(st, &txn, err, errlen)) != STORE_OK)
		return rc;
	rc = mdb_stat(txn, st->held, &ms);
	read_end(txn);
	if (rc != 0)
		return lmdb_fail(err, errlen, "count the held index", rc);
	*n = ms.ms_entries;
	return STORE_OK;
}

/* held_walk - entries whose key starts with prefix; corrupt ones skipped. */
static int
held_walk(MDB_cursor *cur, const MDB_val *prefix, store_held_cb cb, void *ctx,
          size_t *ncorrupt, char *err, size_t errlen)
{
	MDB_val key = *prefix, val;
	struct held_msg msg;
	sig_atomic_t depth;
	int rc, stop;

	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size < prefix->mv_size ||
		    memcmp(key.mv_data, prefix->mv_data, prefix->mv_size) != 0)
			break;
		if (decode_held(&key, &val, &msg, err, errlen) != STORE_OK) {
			(*ncorrupt)++;
			continue;
		}
		depth = guard_out();
		stop = cb(ctx, &msg);
		guard_back(depth);
		if (stop != 0)
			break;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_fail(err, errlen, "list held messages", rc);
	return STORE_OK;
}

/* store_held_list - held messages of one domain in queue-id order;
 * STORE_CORRUPT (after listing the rest) when an entry failed. */
int
store_held_list(struct store *st, const char *domain, store_held_cb cb,
                void *ctx, char *err, size_t errlen)
{
	unsigned char prefix[DOMAIN_BUF];
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key;
	size_t ncorrupt = 0;
	char why[STORE_MSG_MAX] = "";
	int rc;

	if ((rc = domain_key(domain, &key, err, errlen)) != STORE_OK)
		return rc;
	memcpy(prefix, domain, key.mv_size);
	prefix[key.mv_size] = '\0';
	key.mv_data = prefix;
	key.mv_size++;
	if ((rc = read_begin(st, &txn, err, errlen)) != STORE_OK)
		return rc;
	if ((rc = mdb_cursor_open(txn, st->held, &cur)) != 0) {
		read_end(txn);
		return lmdb_fail(err, errlen, "open cursor", rc);
	}
	rc = held_walk(cur, &key, cb, ctx, &ncorrupt, why, sizeof(why));
	mdb_cursor_close(cur);
	read_end(txn);
	if (rc != STORE_OK)
		return errbuf_code(err, errlen, rc, "%s", why);
	if (ncorrupt > 0)
		return errbuf_code(err, errlen, STORE_CORRUPT,
		                   "%zu held entries skipped; last: %s",
		                   ncorrupt, why);
	return STORE_OK;
}

/* store_held_domains - the domains that have held messages, each once,
 * in key order, into a new array (*out, free() it); a key without the
 * domain's NUL or with a domain the store cannot hold is skipped. */
int
store_held_domains(struct store *st, char (**out)[DOMAIN_BUF], size_t *n,
                   char *err, size_t errlen)
{
	char(*v)[DOMAIN_BUF] = NULL;
	size_t nv = 0, cap = 0;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = read_begin(st, &txn, err, errlen)) != STORE_OK)
		return rc;
	if ((rc = mdb_cursor_open(txn, st->held, &cur)) != 0) {
		read_end(txn);
		return lmdb_fail(err, errlen, "open cursor", rc);
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		const char *k = key.mv_data;
		const char *nul = memchr(k, '\0', key.mv_size);
		size_t dn = nul != NULL ? (size_t)(nul - k) : 0;

		if (dn == 0 || dn > DOMAIN_MAX)
			continue;
		if (nv > 0 && strlen(v[nv - 1]) == dn &&
		    memcmp(v[nv - 1], k, dn) == 0)
			continue;
		if (nv == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char(*grown)[DOMAIN_BUF] =
			    realloc(v, ncap * sizeof(*grown));

			if (grown == NULL) {
				rc = ENOMEM;
				break;
			}
			v = grown;
			cap = ncap;
		}
		memcpy(v[nv], k, dn);
		v[nv][dn] = '\0';
		nv++;
	}
	mdb_cursor_close(cur);
	read_end(txn);
	if (rc == ENOMEM) {
		free(v);
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "out of memory listing held domains");
	}
	if (rc != MDB_NOTFOUND) {
		free(v);
		return lmdb_fail(err, errlen, "list held domains", rc);
	}
	*out = v;
	*n = nv;
	return STORE_OK;
}

/* problem - count and report one finding of store_check. */
static void
problem(struct iter *it, const char *db, const MDB_val *key, const char *why)
{
	char kt[STORE_KEY_TEXT_MAX];
	sig_atomic_t depth;

	if (it->problem == NULL)
		return;
	key_text(kt, sizeof(kt), key->mv_data, key->mv_size);
	depth = guard_out();
	it->problem(it->ctx, db, kt, why);
	guard_back(depth);
}

/* registered - true when the registry holds the domain. */
static bool
registered(struct iter *it, const void *domain, size_t len)
{
	MDB_val key = {len, (void *)(uintptr_t)domain}, val;

	return mdb_get(it->txn, it->st->reg, &key, &val) == 0;
}

/* check_reg_step - store_check over the registry. */
static int
check_reg_step(struct iter *it, const MDB_val *key, const MDB_val *val)
{
	struct domain_reg reg;
	char why[STORE_MSG_MAX];

	it->rep->regs++;
	if (decode_reg(key, val, &reg, why, sizeof(why)) != STORE_OK) {
		it->rep->corrupt++;
		problem(it, "registry", key, why);
	}
	return 0;
}

/* check_state_step - store_check over the states. */
static int
check_state_step(struct iter *it, const MDB_val *key, const MDB_val *val)
{
	struct domain_state state;
	char why[STORE_MSG_MAX];

	it->rep->states++;
	if (decode_state(key, val, &state, why, sizeof(why)) != STORE_OK) {
		it->rep->corrupt++;
		problem(it, "state", key, why);
	} else if (!registered(it, key->mv_data, key->mv_size)) {
		/* an unregistered domain's state: normal (the milter's
		 * UnregisteredDomains check), counted, not a finding */
		it->rep->unreg_states++;
	}
	return 0;
}

/* check_held_step - store_check over the held index. */
static int
check_held_step(struct iter *it, const MDB_val *key, const MDB_val *val)
{
	struct held_msg msg;
	char why[STORE_MSG_MAX];

	it->rep->held++;
	if (decode_held(key, val, &msg, why, sizeof(why)) != STORE_OK) {
		it->rep->corrupt++;
		problem(it, "held", key, why);
	} else if (!registered(it, msg.domain, strlen(msg.domain))) {
		it->rep->unreg_held++; /* held for one: normal too */
	}
	return 0;
}

/* check_outbox_step - store_check over the outbox. */
static int
check_outbox_step(struct iter *it, const MDB_val *key, const MDB_val *val)
{
	const char *domain, *body;
	size_t len;
	char why[STORE_MSG_MAX];

	it->rep->events++;
	if (decode_event(key, val, &domain, &body, &len, why, sizeof(why)) !=
	    STORE_OK) {
		it->rep->corrupt++;
		problem(it, "outbox", key, why);
	}
	return 0;
}

/* check_main_step - the main database holds the names of the databases
 * and the generation; every value is read through the walk. */
static int
check_main_step(struct iter *it, const MDB_val *key, const MDB_val *val)
{
	(void)it;
	(void)key;
	(void)val;
	return 0;
}

/* check_free_step - a free-list entry: a txnid key and a list of page
 * numbers (count first), each a page of the file past the meta pages. */
static int
check_free_step(struct iter *it, const MDB_val *key, const MDB_val *val)
{
	MDB_envinfo info;
	size_t n, count;
	const unsigned char *p = val->mv_data;
	char why[STORE_MSG_MAX];

	if (mdb_env_info(it->st->env, &info) != 0)
		info.me_last_pgno = SIZE_MAX;
	if (key->mv_size != sizeof(size_t) || val->mv_size < sizeof(size_t) ||
	    val->mv_size % sizeof(size_t) != 0) {
		it->rep->damaged++;
		problem(it, "free list", key, "entry of a malformed size");
		return 0;
	}
	n = val->mv_size / sizeof(size_t) - 1;
	memcpy(&count, p, sizeof(count));
	if (count != n) {
		it->rep->damaged++;
		snprintf(why, sizeof(why), "says %zu free pages and holds %zu",
		         count, n);
		problem(it, "free list", key, why);
		return 0;
	}
	for (size_t i = 1; i <= n; i++) {
		size_t pg;

		memcpy(&pg, p + i * sizeof(size_t), sizeof(pg));
		it->rep->free_pages++;
		if (pg < STORE_FIRST_PAGE || pg > info.me_last_pgno) {
			it->rep->damaged++;
			snprintf(why, sizeof(why),
			         "page %zu is outside the file (pages %d..%zu)",
			         pg, STORE_FIRST_PAGE, info.me_last_pgno);
			problem(it, "free list", key, why);
			return 0;
		}
	}
	return 0;
}

/* key_cmp - LMDB's default key order (memcmp, then the shorter first). */
static int
key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* check_walk_step - what store_check asks of every entry of every
 * database: progress noted, ascending keys, found again by its own
 * lookup from the root, every value byte read; then the db's own step. */
static int
check_walk_step(struct iter *it, const MDB_val *key, const MDB_val *val,
                int (*step)(struct iter *, const MDB_val *, const MDB_val *),
                int lookup, volatile unsigned char *sum)
{
	struct store_check_report *rep = it->rep;
	const unsigned char *v = val->mv_data;
	MDB_val again;
	int rc;

	if (key->mv_size > sizeof(rep->key) ||
	    (lookup && rep->keylen > 0 &&
	     key_cmp(rep->key, rep->keylen, key->mv_data, key->mv_size) >= 0)) {
		rep->damaged++;
		problem(it, rep->db, key,
		        "key out of order or too long: the tree is damaged");
		return 1; /* the walk cannot be trusted past this */
	}
	memcpy(rep->key, key->mv_data, key->mv_size);
	rep->keylen = key->mv_size;
	for (size_t i = 0; i < val->mv_size; i++)
		*sum ^= v[i];
	if (!lookup)
		return step(it, key, val);
	rc = mdb_get(it->txn, it->dbi, (MDB_val *)(uintptr_t)key, &again);
	if (rc != 0 || again.mv_size != val->mv_size ||
	    memcmp(again.mv_data, val->mv_data, val->mv_size) != 0) {
		rep->damaged++;
		problem(it, rep->db, key,
		        rc != 0 ? "its own lookup does not find it: the tree "
		                  "is damaged"
		                : "its own lookup finds another value: the "
		                  "tree is damaged");
		return 0;
	}
	return step(it, key, val);
}

/* One database for store_check: the walk, its own step, and a count. */
struct check_db {
	const char *name;
	MDB_dbi dbi;
	int (*step)(struct iter *, const MDB_val *, const MDB_val *);
	int lookup; /* memcmp-ordered keys that mdb_get can look up */
};

/* check_db - walk one database for store_check; 0, or STORE_ERROR. */
static int
check_db(struct iter *it, const struct check_db *db, char *err, size_t errlen)
{
	volatile unsigned char sum = 0;
	struct store_check_report *rep = it->rep;
	MDB_cursor *cur;
	MDB_val key, val;
	MDB_stat ms;
	size_t n = 0;
	char why[STORE_MSG_MAX];
	int rc;

	snprintf(rep->db, sizeof(rep->db), "%s", db->name);
	rep->keylen = 0;
	it->dbi = db->dbi;
	if ((rc = mdb_cursor_open(it->txn, db->dbi, &cur)) != 0)
		return lmdb_fail(err, errlen, "open cursor", rc);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		n++;
		if (check_walk_step(it, &key, &val, db->step, db->lookup,
		                    &sum) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return errbuf_code(err, errlen, STORE_ERROR, "%s database: %s",
		                   db->name, mdb_strerror(rc));
	if (rc == MDB_NOTFOUND && mdb_stat(it->txn, db->dbi, &ms) == 0 &&
	    ms.ms_entries != n) {
		rep->damaged++;
		snprintf(why, sizeof(why),
		         "LMDB counts %zu entries, the walk found %zu",
		         (size_t)ms.ms_entries, n);
		if (it->problem != NULL) {
			sig_atomic_t depth = guard_out();

			it->problem(it->ctx, db->name, "", why);
			guard_back(depth);
		}
	}
	return STORE_OK;
}

int
store_check(struct store *st, struct store_check_report *rep,
            store_problem_cb cb, void *ctx, char *err, size_t errlen)
{
	struct iter it = {.rep = rep, .problem = cb, .ctx = ctx, .st = st};
	const struct check_db dbs[] = {
	    {"free list", 0, check_free_step, 0}, /* LMDB's FREE_DBI */
	    {"main", st->main, check_main_step, 1},
	    {"registry", st->reg, check_reg_step, 1},
	    {"state", st->state, check_state_step, 1},
	    {"held", st->held, check_held_step, 1},
	    {"outbox", st->outbox, check_outbox_step, 1},
	};
	size_t ndbs = sizeof(dbs) / sizeof(dbs[0]) - !st->has_outbox;
	MDB_txn *txn;
	int rc = STORE_OK;

	memset(rep, 0, sizeof(*rep));
	if ((rc = read_begin(st, &txn, err, errlen)) != STORE_OK)
		return rc;
	it.txn = txn;
	for (size_t i = 0; i < ndbs && rc == STORE_OK; i++)
		rc = check_db(&it, &dbs[i], err, errlen);
	read_end(txn);
	if (rc == STORE_OK && rep->corrupt + rep->damaged > 0)
		rc = errbuf_code(
		    err, errlen, STORE_CORRUPT,
		    "%zu corrupt record(s), %zu structural problem(s) in "
		    "the store",
		    rep->corrupt, rep->damaged);
	return rc;
}

/* Unregistered states --------------------------------------------------- */

/* has_held - held mail is indexed under the domain of key; true when the
 * index cannot be read (a state is kept when in doubt). */
static bool
has_held(MDB_txn *txn, MDB_dbi held, const MDB_val *key)
{
	unsigned char prefix[DOMAIN_BUF + 1];
	size_t plen = key->mv_size + 1;
	MDB_cursor *cur;
	MDB_val k, v;
	bool found = false;
	int rc;

	if (plen > sizeof(prefix))
		return true;
	memcpy(prefix, key->mv_data, key->mv_size);
	prefix[key->mv_size] = '\0';
	k.mv_data = prefix;
	k.mv_size = plen;
	if (mdb_cursor_open(txn, held, &cur) != 0)
		return true;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0)
		found =
		    k.mv_size > plen && memcmp(k.mv_data, prefix, plen) == 0;
	else if (rc != MDB_NOTFOUND)
		found = true;
	mdb_cursor_close(cur);
	return found;
}

/* unreg_step - one state for store_unreg_iter, unless it is registered. */
static int
unreg_step(struct iter *it, const MDB_val *key, const MDB_val *val)
{
	struct domain_state state;
	sig_atomic_t depth;
	bool held;
	int rc;

	if (registered(it, key->mv_data, key->mv_size))
		return 0;
	if (decode_state(key, val, &state, NULL, 0) != STORE_OK) {
		it->corrupt++;
		return 0;
	}
	held = has_held(it->txn, it->st->held, key);
	depth = guard_out();
	rc = it->cb.unreg(it->ctx, &state, held);
	guard_back(depth);
	return rc;
}

int
store_unreg_iter(struct store *st, store_unreg_cb cb, void *ctx,
                 size_t *ncorrupt, char *err, size_t errlen)
{
	struct iter it = {.dbi = st->state, .step = unreg_step, .ctx = ctx};

	it.cb.unreg = cb;
	return iter_run(st, &it, ncorrupt, err, errlen);
}

int
store_batch_get_unreg(struct store_batch *b, const char *domain,
                      struct domain_state *state, bool *held, char *err,
                      size_t errlen)
{
	char kt[STORE_KEY_TEXT_MAX];
	MDB_val key, val;
	int rc;

	memset(state, 0, sizeof(*state));
	*held = false;
	if ((rc = domain_key(domain, &key, err, errlen)) != STORE_OK)
		return rc;
	guard_enter();
	rc = mdb_get(b->txn, b->st->reg, &key, &val);
	if (rc == 0)
		rc = errbuf_code(
		    err, errlen, STORE_NOTFOUND, "%s is registered",
		    key_text(kt, sizeof(kt), key.mv_data, key.mv_size));
	else if (rc != MDB_NOTFOUND)
		rc = lmdb_fail(err, errlen, "read", rc);
	else
		rc = get_value(b->txn, b->st->state, &key, &val, domain, err,
		               errlen);
	if (rc == STORE_OK)
		rc = decode_state(&key, &val, state, err, errlen);
	if (rc == STORE_OK)
		*held = has_held(b->txn, b->st->held, &key);
	guard_leave();
	return rc;
}

/* batch_del_key - remove key of dbi in a batch (STORE_NOTFOUND: none). */
static int
batch_del_key(struct store_batch *b, MDB_dbi dbi, MDB_val *key, char *err,
              size_t errlen)
{
	char kt[STORE_KEY_TEXT_MAX];
	int rc;

	guard_enter();
	rc = mdb_del(b->txn, dbi, key, NULL);
	guard_leave();
	if (rc == MDB_NOTFOUND)
		return errbuf_code(
		    err, errlen, STORE_NOTFOUND, "%s: not found",
		    key_text(kt, sizeof(kt), key->mv_data, key->mv_size));
	if (rc != 0)
		return lmdb_fail(err, errlen, "delete", rc);
	b->dirty = true;
	return STORE_OK;
}

/* batch_del - remove a key of dbi in a batch (STORE_NOTFOUND: none). */
static int
batch_del(struct store_batch *b, MDB_dbi dbi, const char *domain, char *err,
          size_t errlen)
{
	MDB_val key;
	int rc;

	if ((rc = domain_key(domain, &key, err, errlen)) != STORE_OK)
		return rc;
	return batch_del_key(b, dbi, &key, err, errlen);
}

int
store_batch_del_state(struct store_batch *b, const char *domain, char *err,
                      size_t errlen)
{
	return batch_del(b, b->st->state, domain, err, errlen);
}

int
store_batch_del_reg(struct store_batch *b, const char *domain, char *err,
                    size_t errlen)
{
	return batch_del(b, b->st->reg, domain, err, errlen);
}

/* replica_le - n bytes little-endian at p. */
static int64_t
replica_le(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return (int64_t)v;
}

int
store_replica_get(struct store *st, struct store_replica *rp, char *err,
                  size_t errlen)
{
	MDB_val key = {sizeof(replica_key) - 1, (void *)(uintptr_t)replica_key},
	        val;
	const unsigned char *p;
	MDB_txn *txn;
	int rc;

	memset(rp, 0, sizeof(*rp));
	if ((rc = read_begin(st, &txn, err, errlen)) != STORE_OK)
		return rc;
	rc = mdb_get(txn, st->main, &key, &val);
	if (rc == MDB_NOTFOUND) {
		rc = errbuf_code(err, errlen, STORE_NOTFOUND,
		                 "no replica position");
	} else if (rc != 0) {
		rc = lmdb_fail(err, errlen, "read replica position", rc);
	} else if (val.mv_size != STORE_REPLICA_SIZE ||
	           ((const unsigned char *)val.mv_data)[0] !=
	               STORE_REPLICA_FORMAT) {
		rc = errbuf_code(err, errlen, STORE_CORRUPT,
		                 "replica position record of %zu bytes is "
		                 "not format %d",
		                 val.mv_size, STORE_REPLICA_FORMAT);
	} else {
		p = val.mv_data;
		rp->position = replica_le(p + 1);
		rp->heard_ms = replica_le(p + 9);
		rc = STORE_OK;
	}
	read_end(txn);
	return rc;
}

int
store_batch_put_replica(struct store_batch *b, const struct store_replica *rp,
                        char *err, size_t errlen)
{
	unsigned char buf[STORE_REPLICA_SIZE];
	MDB_val key = {sizeof(replica_key) - 1, (void *)(uintptr_t)replica_key};
	uint64_t pos = (uint64_t)rp->position, heard = (uint64_t)rp->heard_ms;

	buf[0] = STORE_REPLICA_FORMAT;
	for (int i = 0; i < 8; i++, pos >>= 8, heard >>= 8) {
		buf[1 + i] = (unsigned char)(pos & 0xff);
		buf[9 + i] = (unsigned char)(heard & 0xff);
	}
	return put_value(b, b->st->main, &key, buf, sizeof(buf), err, errlen);
}

int
store_batch_del_replica(struct store_batch *b, char *err, size_t errlen)
{
	MDB_val key = {sizeof(replica_key) - 1, (void *)(uintptr_t)replica_key};
	int rc;

	guard_enter();
	rc = mdb_del(b->txn, b->st->main, &key, NULL);
	guard_leave();
	if (rc == MDB_NOTFOUND)
		return STORE_OK;
	if (rc != 0)
		return lmdb_fail(err, errlen, "delete replica position", rc);
	b->dirty = true;
	return STORE_OK;
}

bool
store_replaced(struct store *st, const char *dir)
{
	char path[PATH_MAX];
	struct stat now, open;
	int fd;

	if (mdb_env_get_fd(st->env, &fd) != 0 || fstat(fd, &open) != 0)
		return false;
	if ((size_t)snprintf(path, sizeof(path), "%s/data.mdb", dir) >=
	    sizeof(path))
		return false;
	if (stat(path, &now) != 0)
		return errno == ENOENT;
	return now.st_dev != open.st_dev || now.st_ino != open.st_ino;
}

int
store_reopen(struct store *st, const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct store *fresh;
	struct stat sb;
	int rc;

	if (st->flags & STORE_RDONLY)
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "store was opened read-only");
	if (st->nretired >= STORE_RETIRED_MAX)
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "the store was replaced %d times already",
		                   STORE_RETIRED_MAX);
	/* With data.mdb gone, a lock.mdb left in dir is the old store's,
	 * which this process still holds: LMDB in the same process would
	 * take it for unused and reset it under the old environment. */
	if ((size_t)snprintf(path, sizeof(path), "%s/data.mdb", dir) >=
	    sizeof(path))
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "%s: path too long", dir);
	if (stat(path, &sb) == 0)
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "%s was replaced by another store, not "
		                   "deleted",
		                   path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	if (unlink(path) != 0 && errno != ENOENT)
		return errbuf_code(err, errlen, STORE_ERROR, "%s: %s", path,
		                   strerror(errno));
	if ((rc = store_open(dir, STORE_CREATE, NULL, &fresh, err, errlen)) !=
	    STORE_OK)
		return rc;
	if (fresh->main != st->main || fresh->reg != st->reg ||
	    fresh->state != st->state || fresh->held != st->held ||
	    fresh->outbox != st->outbox || !fresh->has_outbox) {
		store_close(fresh);
		return errbuf_code(
		    err, errlen, STORE_ERROR,
		    "%s: the new store's database handles differ", dir);
	}
	/* The old environment stays open until store_close: a reader or a
	 * batch of another thread may be inside it.  Its guard slot stays,
	 * for its map. */
	st->retired[st->nretired] = st->env;
	st->retired_slot[st->nretired++] = st->guard_slot;
	st->guard_slot = fresh->guard_slot;
	st->env = fresh->env;
	free(fresh);
	return STORE_OK;
}

/* Outbox ---------------------------------------------------------------- */

/* seq_key - the outbox key of seq (big-endian: LMDB's order is the
 * sequence's). */
static void
seq_key(uint64_t seq, unsigned char *buf, MDB_val *key)
{
	for (int i = STORE_SEQ_SIZE - 1; i >= 0; i--, seq >>= 8)
		buf[i] = (unsigned char)(seq & 0xff);
	key->mv_size = STORE_SEQ_SIZE;
	key->mv_data = buf;
}

/* seq_of - the sequence of an outbox key (or of the counter's value). */
static uint64_t
seq_of(const unsigned char *p)
{
	uint64_t seq = 0;

	for (int i = 0; i < STORE_SEQ_SIZE; i++)
		seq = seq << 8 | p[i];
	return seq;
}

/* decode_event - an outbox value: the format octet, the domain, a NUL,
 * the body (at least one octet).  Pointers into val. */
static int
decode_event(const MDB_val *key, const MDB_val *val, const char **domain,
             const char **body, size_t *len, char *err, size_t errlen)
{
	const unsigned char *v = val->mv_data;
	const unsigned char *nul;

	if (key->mv_size != STORE_SEQ_SIZE)
		return corrupt(err, errlen, "outbox", key,
		               "key is not a sequence number");
	if (val->mv_size < 3 || v[0] != STORE_EVENT_FORMAT)
		return corrupt(err, errlen, "outbox", key,
		               "unknown event format");
	nul = memchr(v + 1, '\0',
	             val->mv_size - 1 < DOMAIN_BUF ? val->mv_size - 1
	                                           : DOMAIN_BUF);
	if (nul == NULL || nul == v + 1 ||
	    (size_t)(nul - v) + 1 >= val->mv_size)
		return corrupt(err, errlen, "outbox", key,
		               "event without a domain or a body");
	*domain = (const char *)v + 1;
	*body = (const char *)nul + 1;
	*len = val->mv_size - (size_t)(nul - v) - 1;
	return STORE_OK;
}

/* outbox_ready - the outbox is there (a read-only store older than it
 * has none). */
static int
outbox_ready(const struct store *st, char *err, size_t errlen)
{
	if (!st->has_outbox)
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "the store has no outbox yet (open it for "
		                   "writing once)");
	return STORE_OK;
}

int
store_batch_put_event(struct store_batch *b, const char *domain,
                      const char *body, size_t len, uint64_t *seq, char *err,
                      size_t errlen)
{
	MDB_val ckey = {sizeof(outbox_seq_key) - 1,
	                (void *)(uintptr_t)outbox_seq_key};
	unsigned char kbuf[STORE_SEQ_SIZE], cbuf[STORE_SEQ_SIZE];
	size_t dlen = strlen(domain);
	unsigned char *v;
	MDB_val key, cval;
	uint64_t next = 1;
	int rc;

	if (outbox_ready(b->st, err, errlen) != STORE_OK)
		return STORE_ERROR;
	if (dlen == 0 || dlen >= DOMAIN_BUF || len == 0 ||
	    len > STORE_EVENT_MAX)
		return errbuf_code(err, errlen, STORE_ERROR,
		                   "event of %zu octets for a domain of %zu: "
		                   "out of bounds",
		                   len, dlen);
	guard_enter();
	rc = mdb_get(b->txn, b->st->main, &ckey, &cval);
	guard_leave();
	if (rc == 0 && cval.mv_size == STORE_SEQ_SIZE)
		next = seq_of(cval.mv_data) + 1;
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_fail(err, errlen, "read the outbox sequence", rc);
	if ((v = malloc(1 + dlen + 1 + len)) == NULL)
		return errbuf_code(err, errlen, STORE_ERROR, "out of memory");
	v[0] = STORE_EVENT_FORMAT;
	memcpy(v + 1, domain, dlen + 1);
	memcpy(v + 2 + dlen, body, len);
	seq_key(next, kbuf, &key);
	rc = put_value(b, b->st->outbox, &key, v, 2 + dlen + len, err, errlen);
	free(v);
	if (rc != STORE_OK)
		return rc;
	seq_key(next, cbuf, &cval);
	if ((rc = put_value(b, b->st->main, &ckey, cbuf, sizeof(cbuf), err,
	                    errlen)) != STORE_OK)
		return rc;
	if (seq != NULL)
		*seq = next;
	return STORE_OK;
}

int
store_outbox_list(struct store *st, uint64_t after, size_t max,
                  store_event_cb cb, void *ctx, char *err, size_t errlen)
{
	unsigned char kbuf[STORE_SEQ_SIZE];
	const char *domain, *body;
	char why[STORE_MSG_MAX];
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val key, val;
	size_t len, n = 0;
	int rc, stop = 0;

	if (outbox_ready(st, err, errlen) != STORE_OK)
		return STORE_ERROR;
	if ((rc = read_begin(st, &txn, err, errlen)) != STORE_OK)
		return rc;
	if ((rc = mdb_cursor_open(txn, st->outbox, &cur)) != 0) {
		read_end(txn);
		return lmdb_fail(err, errlen, "open cursor", rc);
	}
	seq_key(after == UINT64_MAX ? after : after + 1, kbuf, &key);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	     rc == 0 && n < max && !stop;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT), n++) {
		uint64_t seq =
		    key.mv_size == STORE_SEQ_SIZE ? seq_of(key.mv_data) : 0;
		sig_atomic_t depth;

		if (seq <= after)
			continue;
		depth = guard_out();
		if (decode_event(&key, &val, &domain, &body, &len, why,
		                 sizeof(why)) != STORE_OK)
			stop = cb(ctx, seq, NULL, why, strlen(why));
		else
			stop = cb(ctx, seq, domain, body, len);
		guard_back(depth);
	}
	mdb_cursor_close(cur);
	read_end(txn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_fail(err, errlen, "read the outbox", rc);
	return STORE_OK;
}

int
store_outbox_del(struct store *st, uint64_t seq, char *err, size_t errlen)
{
	size_t gone = 0;
	int rc = store_outbox_del_many(st, &seq, 1, &gone, err, errlen);

	if (rc == STORE_OK && gone == 0)
		return errbuf_code(err, errlen, STORE_NOTFOUND,
		                   "outbox event %llu: not found",
		                   (unsigned long long)seq);
	return rc;
}

int
store_outbox_del_many(struct store *st, const uint64_t *seqs, size_t n,
                      size_t *gone, char *err, size_t errlen)
{
	unsigned char kbuf[STORE_SEQ_SIZE];
	struct store_batch *b;
	MDB_val key;
	int rc = STORE_OK;

	*gone = 0;
	if (outbox_ready(st, err, errlen) != STORE_OK)
		return STORE_ERROR;
	if (n == 0)
		return STORE_OK;
	if ((rc = store_batch_begin(st, &b, err, errlen)) != STORE_OK)
		return rc;
	for (size_t i = 0; i < n && (rc == STORE_OK || rc == STORE_NOTFOUND);
	     i++) {
		seq_key(seqs[i], kbuf, &key);
		rc = batch_del_key(b, st->outbox, &key, err, errlen);
		if (rc == STORE_OK)
			(*gone)++;
	}
	if (rc == STORE_NOTFOUND)
		rc = STORE_OK;
	if (rc != STORE_OK) {
		*gone = 0;
		store_batch_abort(b);
		return rc;
	}
	if ((rc = store_batch_commit(b, err, errlen)) != STORE_OK)
		*gone = 0;
	return rc;
}

int
store_outbox_count(struct store *st, size_t *n, char *err, size_t errlen)
{
	MDB_txn *txn;
	MDB_stat ms;
	int rc;

	*n = 0;
	if (!st->has_outbox)
		return STORE_OK;
	if ((rc = read_begin(st, &txn, err, errlen)) != STORE_OK)
		return rc;
	rc = mdb_stat(txn, st->outbox, &ms);
	read_end(txn);
	if (rc != 0)
		return lmdb_fail(err, errlen, "count the outbox", rc);
	*n = ms.ms_entries;
	return STORE_OK;
}
