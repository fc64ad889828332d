/*
 * authready-milter.c - main() of authready-milter(8), the daemon.
 *
 * SYNOPSIS
 *	authready-milter [-c FILE] [-f] [-n]
 *
 * DESCRIPTION
 *	Start-up order, each step failing loudly with exit status 78:
 *	load the config; the checks that create nothing (daemon_preflight,
 *	which is all that -n runs): the socket's path fits sun_path and its
 *	directory exists, SocketGroup and UserID exist (refuse root
 *	without UserID), and, in a child that has become UserID, KeyFile
 *	loads and the state store is verified and opens (or its directory
 *	can be made); then open the milter socket (stale unix socket
 *	removed, UMask applied, group set); leave the terminal unless -f;
 *	write the PID file; drop to UserID; open the state store; start the
 *	checker thread, the webhook delivery thread (webhookd.c, with
 *	WebhookURL) and the reload thread; hand over to libmilter.
 *
 *	The store check (storecheck.c) is part of the preflight, so -n runs
 *	it as start does: that child is already UserID, and the check forks
 *	its own child to walk the store, where a damaged page faults.
 *	Nothing has been created by then, so a damaged store leaves no
 *	socket or PID file; root without UserID is refused before the store
 *	is touched.
 *
 *	The socket and the PID file are removed at every exit after they
 *	were made, failed start or clean stop.  Once privileges are dropped
 *	UserID may not be able to (a root-owned /run), so before the drop a
 *	reaper child is forked that stays root and does nothing but wait
 *	for the end of a pipe: when the daemon exits (or dies) it unlinks
 *	the two files through directory descriptors opened at creation, and
 *	only if they are still the very inodes the daemon made.  A clean
 *	stop waits for it.
 *
 *	A unix socket appears with its final owner, group and mode, so an
 *	MTA connecting during start-up is never refused by permissions:
 *	libmilter binds a temporary name in the socket's directory (bound
 *	relative to it, so any name fits sun_path), under UMask; it is
 *	given to SocketGroup (or UserID) and renamed over the path, which
 *	also replaces a stale socket with no moment without one.
 *	libmilter's own removal at exit then looks for the temporary name,
 *	which is gone: the files above are removed by inode only.
 *
 *	PolicySocket, when set, is opened right after the milter socket, the
 *	same way (a unix one made whole under a temporary name, removed at
 *	exit by inode); policyd.c serves it from a thread of its own, started
 *	with the checker, and is stopped before the store closes.
 *
 *	Signals: libmilter owns SIGTERM, SIGINT and SIGHUP (all of them
 *	stop it).  A stop asked during start-up is a clean stop too: one
 *	pending when libmilter would start is taken without starting it,
 *	and one racing libmilter's start (its listener then reports a
 *	failure) is told from a failure by libmilter's stop state.  The
 *	checker thread then gets DAEMON_STOP_WAIT seconds to finish its
 *	run; past that the daemon exits without it, so a stop never waits
 *	on DNS.  SIGUSR1 reloads the config: a new snapshot is
 *	installed only when the whole file is valid and its KeyFile usable;
 *	otherwise the old one stays.  Either outcome is logged.
 *
 *	MilterTimeout goes to smfi_settimeout(): a session whose MTA says
 *	nothing for that long is closed and its thread freed.
 *
 * DIAGNOSTICS
 *	0 after a clean stop; 64 usage error; 78 configuration or start-up
 *	error (the reason on stderr and in the log).
 */
#include "ac-config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checkerd.h"
#include "daemonutil.h"
#include "replica.h"
#include "configfile.h"
#include "log.h"
#include "metricsd.h"
#include "milter.h"
#include "policyd.h"
#include "readiness.h"
#include "snapshot.h"
#include "store.h"
#include "storecheck.h"
#include "webhookd.h"

#define MILTER_EXIT_USAGE 64
#define MILTER_EXIT_CONFIG 78
/* Seconds a stop waits for the checker thread's current run. */
#define DAEMON_STOP_WAIT 5
#define DAEMON_SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)
#define DAEMON_FDS_MAX 65536 /* closed in the reaper, at most */
/* The name libmilter binds in the socket's directory, renamed into place. */
#define DAEMON_SOCKET_TMP ".authready-milter.%ld.sock"
#define DAEMON_POLICY_TMP ".authready-policy.%ld.sock" /* likewise */
#define DAEMON_PID_TMP ".authready-milter.%ld.pid"
/* To come back to the working directory (O_PATH: no read right needed). */
#ifdef O_PATH
#define DAEMON_CWD_FLAGS (O_PATH | O_DIRECTORY | O_CLOEXEC)
#else
#define DAEMON_CWD_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC)
#endif

struct daemon_args {
	const char *config_path;
	bool foreground;
	bool check_only;
};

static const char daemon_usage[] =
    "usage: authready-milter [-c FILE] [-f] [-n]\n"
    "  -c FILE  config file (default: " CONFIG_DEFAULT_PATH ")\n"
    "  -f       stay in the foreground\n"
    "  -n       check the config and exit\n"
    "See authready-milter(8) and authready.conf(5).\n";

/* The reload thread's only input: set once in main. */
static const char *daemon_config_path;
static bool daemon_config_required;

/* What a reload changes in the running daemon beyond the snapshot: the
 * webhook threads (set in daemon_run before the reload thread starts);
 * the lock keeps a reload and the stop apart. */
static struct {
	pthread_mutex_t lock;
	bool stopping;                /* the threads are being stopped */
	struct milter_env *env;       /* NULL until the daemon runs */
	const struct config *started; /* the start's config */
} daemon_live = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The checker thread the replica tells of what it stored (waiters to
 * wake, held mail to release), NULL before it starts and once it is
 * being stopped. */
static struct {
	pthread_mutex_t lock;
	struct checkerd *checkerd;
} daemon_release = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* daemon_replica_applied - the replica stored states: the checker
 * thread wakes the MAIL FROMs waiting for one and, with release, releases
 * the held mail of the verified domains. */
static void
daemon_replica_applied(void *arg, bool release)
{
	(void)arg;
	pthread_mutex_lock(&daemon_release.lock);
	if (daemon_release.checkerd != NULL)
		checkerd_replica_applied(daemon_release.checkerd, release);
	pthread_mutex_unlock(&daemon_release.lock);
}

/* daemon_release_to - who daemon_replica_applied asks (NULL: nobody). */
static void
daemon_release_to(struct checkerd *cd)
{
	pthread_mutex_lock(&daemon_release.lock);
	daemon_release.checkerd = cd;
	pthread_mutex_unlock(&daemon_release.lock);
}

/* daemon_checker_start - the checker thread, and the replica's way to
 * it; 0, or -1 with err. */
static int
daemon_checker_start(struct milter_env *env, char *err, size_t errlen)
{
	if (checkerd_start(&env->checkerd, env->store, err, errlen) != 0)
		return -1;
	daemon_release_to(env->checkerd);
	return 0;
}

/* The keys a reload cannot change: read at start, kept until a restart
 * (named in the event=reload line when the file changed them). */
enum daemon_key_kind { DAEMON_KEY_TEXT, DAEMON_KEY_LISTEN, DAEMON_KEY_INT64 };
static const struct {
	const char *name;
	enum daemon_key_kind kind;
	size_t off;
} daemon_start_keys[] = {
    {"Socket", DAEMON_KEY_TEXT, offsetof(struct config, socket)},
    {"PolicySocket", DAEMON_KEY_TEXT, offsetof(struct config, policy_socket)},
    {"UserID", DAEMON_KEY_TEXT, offsetof(struct config, user_id)},
    {"SocketGroup", DAEMON_KEY_TEXT, offsetof(struct config, socket_group)},
    {"StateDir", DAEMON_KEY_TEXT, offsetof(struct config, state_dir)},
    {"PidFile", DAEMON_KEY_TEXT, offsetof(struct config, pid_file)},
    {"SyslogFacility", DAEMON_KEY_TEXT,
     offsetof(struct config, syslog_facility)},
    {"StoreDSN", DAEMON_KEY_TEXT, offsetof(struct config, store_dsn)},
    {"StoreDSNPasswordFile", DAEMON_KEY_TEXT,
     offsetof(struct config, store_dsn_password_file)},
    {"HostName", DAEMON_KEY_TEXT, offsetof(struct config, host_name)},
    {"MilterTimeout", DAEMON_KEY_INT64,
     offsetof(struct config, milter_timeout)},
    {"MetricsListen", DAEMON_KEY_LISTEN,
     offsetof(struct config, metrics_listen)},
};

/* Where daemon_fail reports: stderr until the log is open; then the log,
 * and stderr too unless the log is stderr (one line per failure). */
static enum {
	DAEMON_REPORT_STDERR,
	DAEMON_REPORT_LOG,
	DAEMON_REPORT_BOTH
} daemon_report;

/* UserID and SocketGroup, resolved once by daemon_preflight. */
struct daemon_ids {
	bool drop; /* running as root: become uid/gid */
	uid_t uid;
	gid_t gid;
	char name[CONFIG_NAME_MAX];
	bool have_sock_gid;
	gid_t sock_gid;
};

/* A file start made, to remove at exit: its directory and inode. */
struct daemon_file {
	int dirfd; /* -1: none */
	char name[NAME_MAX + 1];
	dev_t dev;
	ino_t ino;
};

/* The socket, the PID file and the policy socket; the reaper that removes
 * them for us. */
static struct daemon_file daemon_files[3] = {
    {.dirfd = -1}, {.dirfd = -1}, {.dirfd = -1}};
static pid_t daemon_reaper = -1;
static int daemon_reaper_fd = -1;
/* MetricsListen's socket, opened with the others; -1 none. */
static int daemon_metrics_fd = -1;

/* The stop signals, blocked in every thread (libmilter waits for them). */
static sigset_t daemon_stop_set;

static int daemon_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int daemon_vet_key(const struct config *cfg, char *err, size_t errlen);

/* daemon_fail - the one place start-up failures are reported; 78. */
static int
daemon_fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (daemon_report != DAEMON_REPORT_LOG)
		fprintf(stderr, "authready-milter: %s\n", msg);
	if (daemon_report != DAEMON_REPORT_STDERR)
		log_msg(LOG_ERR, "event=start-failed error=\"%s\"", msg);
	return MILTER_EXIT_CONFIG;
}

/* daemon_path_split - a path's directory ("." for none) and last name;
 * -1 when either does not fit. */
static int
daemon_path_split(const char *path, char *dir, size_t dirlen, char *name,
                  size_t namelen)
{
	const char *slash = strrchr(path, '/');
	size_t dlen;

	if (slash == NULL) {
		snprintf(dir, dirlen, ".");
		slash = path - 1;
	} else {
		dlen = slash == path ? 1 : (size_t)(slash - path);
		if (dlen >= dirlen)
			return -1;
		memcpy(dir, path, dlen);
		dir[dlen] = '\0';
	}
	if (strlen(slash + 1) >= namelen)
		return -1;
	snprintf(name, namelen, "%s", slash + 1);
	return 0;
}

/* daemon_file_note - remember a file just made at path, by directory
 * descriptor and inode; -1 (no message) when it cannot be found. */
static int
daemon_file_note(struct daemon_file *f, const char *path)
{
	char dir[PATH_MAX];
	struct stat sb;

	if (daemon_path_split(path, dir, sizeof(dir), f->name,
	                      sizeof(f->name)) != 0)
		return -1;
	if ((f->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	if (fstatat(f->dirfd, f->name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
		close(f->dirfd);
		f->dirfd = -1;
		return -1;
	}
	f->dev = sb.st_dev;
	f->ino = sb.st_ino;
	return 0;
}

/* daemon_files_remove - unlink the files start made, if they are still
 * the same inodes (a new daemon may have made new ones). */
static void
daemon_files_remove(void)
{
	struct stat sb;
	size_t i;

	for (i = 0; i < sizeof(daemon_files) / sizeof(*daemon_files); i++) {
		struct daemon_file *f = &daemon_files[i];

		if (f->dirfd < 0)
			continue;
		if (fstatat(f->dirfd, f->name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    sb.st_dev == f->dev && sb.st_ino == f->ino)
			unlinkat(f->dirfd, f->name, 0);
		close(f->dirfd);
		f->dirfd = -1;
	}
}

/* daemon_reaper_main - the root child: wait for the daemon's end. */
static void
daemon_reaper_main(int fd)
{
	long max = sysconf(_SC_OPEN_MAX);
	char c;
	int i;
	size_t k;

	/* Only the pipe and the directories: never the milter socket. */
	if (max < 0 || max > DAEMON_FDS_MAX)
		max = DAEMON_FDS_MAX;
	for (i = 3; i < max; i++) {
		bool keep = i == fd;

		for (k = 0; k < sizeof(daemon_files) / sizeof(*daemon_files);
		     k++)
			keep = keep || i == daemon_files[k].dirfd;
		if (!keep)
			close(i);
	}
	/* A stop signal is for the daemon; the reaper ends after it. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	while (read(fd, &c, 1) < 0 && errno == EINTR)
		continue;
	daemon_files_remove();
	_exit(0);
}

/* daemon_reaper_start - fork the reaper before privileges drop. */
static int
daemon_reaper_start(void)
{
	size_t i;
	int p[2];

	if (daemon_files[0].dirfd < 0 && daemon_files[1].dirfd < 0 &&
	    daemon_files[2].dirfd < 0)
		return 0;
	if (pipe2(p, O_CLOEXEC) != 0)
		return daemon_fail("cannot make the reaper's pipe: %s",
		                   strerror(errno));
	if ((daemon_reaper = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return daemon_fail("cannot fork the reaper: %s",
		                   strerror(errno));
	}
	if (daemon_reaper == 0) {
		close(p[1]);
		daemon_reaper_main(p[0]);
	}
	close(p[0]);
	daemon_reaper_fd = p[1];
	/* The reaper removes them: UserID keeps no way into their dirs. */
	for (i = 0; i < sizeof(daemon_files) / sizeof(*daemon_files); i++)
		if (daemon_files[i].dirfd >= 0) {
			close(daemon_files[i].dirfd);
			daemon_files[i].dirfd = -1;
		}
	return 0;
}

/* daemon_cleanup - the socket and PID file go: ourselves while we may,
 * else through the reaper (waited for, so they are gone at exit). */
static void
daemon_cleanup(void)
{
	if (daemon_reaper > 0) {
		close(daemon_reaper_fd);
		while (waitpid(daemon_reaper, NULL, 0) < 0 && errno == EINTR)
			continue;
		daemon_reaper = -1;
		return;
	}
	daemon_files_remove();
}

/* daemon_socket_path - the file of a unix socket spec, or NULL. */
static const char *
daemon_socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return NULL;
}

/* daemon_user - uid and gid of "user" or "user:group" (daemonutil.c). */
static int
daemon_user(const char *spec, uid_t *uid, gid_t *gid, char *name,
            size_t namelen)
{
	return daemonutil_user(spec, uid, gid, name, namelen);
}

/* daemon_socket_owner - the owner and group a unix socket is given:
 * SocketGroup, else UserID's when root drops to it; false: as made. */
static bool
daemon_socket_owner(const struct daemon_ids *ids, uid_t *uid, gid_t *gid)
{
	*uid = (uid_t)-1;
	if (ids->have_sock_gid) {
		*gid = ids->sock_gid;
		return true;
	}
	if (ids->drop) {
		*uid = ids->uid;
		*gid = ids->gid;
		return true;
	}
	return false;
}

/* daemon_socket_unmake - remove tmp if it is a socket (ours: its name
 * holds our PID). */
static void
daemon_socket_unmake(const char *tmp)
{
	struct stat sb;

	if (lstat(tmp, &sb) == 0 && S_ISSOCK(sb.st_mode))
		unlink(tmp);
}

/* daemon_socket_place - in the socket's directory: libmilter binds tmp
 * (under UMask), it gets its owner and group, and is renamed to name,
 * replacing a stale socket.  tmp is removed if it does not get there. */
static int
daemon_socket_place(const struct config *cfg, const struct daemon_ids *ids,
                    const char *tmp, const char *name)
{
	const char *path = daemon_socket_path(cfg->socket);
	char spec[NAME_MAX + 8]; /* "unix:" and tmp */
	struct stat sb;
	uid_t uid;
	gid_t gid;
	int rc = 0;

	snprintf(spec, sizeof(spec), "unix:%s", tmp);
	if (smfi_setconn(spec) != MI_SUCCESS)
		return daemon_fail("Socket %s: not a usable socket",
		                   cfg->socket);
	if (smfi_opensocket(true) != MI_SUCCESS) {
		/* a bind that worked before a failed listen leaves it */
		daemon_socket_unmake(tmp);
		return daemon_fail("cannot open the milter socket %s",
		                   cfg->socket);
	}
	if (lstat(tmp, &sb) != 0 || !S_ISSOCK(sb.st_mode))
		return daemon_fail("Socket %s: the socket made as %s is gone",
		                   cfg->socket, tmp);
	if (daemon_socket_owner(ids, &uid, &gid) && lchown(tmp, uid, gid) != 0)
		rc = daemon_fail("cannot give %s to %s: %s", path,
		                 ids->have_sock_gid ? "its group" : "UserID",
		                 strerror(errno));
	/* As libmilter did: only a socket (or a link to one) is replaced. */
	else if (stat(name, &sb) == 0 && !S_ISSOCK(sb.st_mode))
		rc = daemon_fail("Socket %s: %s exists and is not a socket",
		                 cfg->socket, path);
	else if (rename(tmp, name) != 0)
		rc = daemon_fail("cannot rename the milter socket to %s: %s",
		                 path, strerror(errno));
	if (rc != 0)
		daemon_socket_unmake(tmp);
	return rc;
}

/* daemon_open_unix - the unix socket at path appears whole: made under
 * a temporary name in its directory, then renamed over path, so an MTA
 * never finds it with the wrong owner, group or mode, nor finds no
 * socket while a stale one is replaced.  libmilter binds the temporary
 * name relative to the directory (a name of any length fits sun_path):
 * the working directory is the socket's for that moment only. */
static int
daemon_open_unix(const struct config *cfg, const struct daemon_ids *ids,
                 const char *path)
{
	char dir[PATH_MAX], name[NAME_MAX + 1], tmp[NAME_MAX + 1];
	int cwd, rc;

	if (daemon_path_split(path, dir, sizeof(dir), name, sizeof(name)) != 0)
		return daemon_fail("Socket %s: path too long", cfg->socket);
	snprintf(tmp, sizeof(tmp), DAEMON_SOCKET_TMP, (long)getpid());
	if ((cwd = open(".", DAEMON_CWD_FLAGS)) < 0)
		return daemon_fail("cannot open the working directory: %s",
		                   strerror(errno));
	if (chdir(dir) != 0) {
		rc = daemon_fail("Socket %s: directory %s: %s", cfg->socket,
		                 dir, strerror(errno));
		close(cwd);
		return rc;
	}
	/* Noted at once (path is absolute): a failed start removes it. */
	if ((rc = daemon_socket_place(cfg, ids, tmp, name)) == 0)
		daemon_file_note(&daemon_files[0], path);
	if (fchdir(cwd) != 0 && rc == 0)
		rc = daemon_fail("cannot return to the working directory: %s",
		                 strerror(errno));
	close(cwd);
	return rc;
}

/* daemon_open_socket - the listening socket, before privileges drop. */
static int
daemon_open_socket(const struct config *cfg, const struct daemon_ids *ids)
{
	const char *path = daemon_socket_path(cfg->socket);

	umask((mode_t)cfg->umask);
	if (path != NULL)
		return daemon_open_unix(cfg, ids, path);
	if (smfi_setconn((char *)cfg->socket) != MI_SUCCESS)
		return daemon_fail("Socket %s: not a usable socket",
		                   cfg->socket);
	if (smfi_opensocket(true) != MI_SUCCESS)
		return daemon_fail("cannot open the milter socket %s",
		                   cfg->socket);
	return 0;
}

/* daemon_policy_unix - the policy door's unix socket at path, made whole
 * as the milter's is: bound under a temporary name beside it (UMask
 * already set), given to SocketGroup or UserID, then renamed over path
 * (a stale socket replaced), so smtpd never meets it half made; the
 * listening descriptor, or -1 after daemon_fail. */
static int
daemon_policy_unix(const struct config *cfg, const struct daemon_ids *ids,
                   const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *slash = strrchr(path, '/');
	struct stat sb;
	uid_t uid;
	gid_t gid;
	int fd, n;

	n = snprintf(
	    sun.sun_path, sizeof(sun.sun_path), "%.*s/" DAEMON_POLICY_TMP,
	    (int)(slash != NULL ? slash - path : 0), path, (long)getpid());
	if (strlen(path) >= sizeof(sun.sun_path) || n < 0 ||
	    (size_t)n >= sizeof(sun.sun_path)) {
		daemon_fail("PolicySocket %s: path too long",
		            cfg->policy_socket);
		return -1;
	}
	if (lstat(path, &sb) == 0 && !S_ISSOCK(sb.st_mode)) {
		daemon_fail("PolicySocket %s: %s exists and is not a socket",
		            cfg->policy_socket, path);
		return -1;
	}
	unlink(sun.sun_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    (daemon_socket_owner(ids, &uid, &gid) &&
	     lchown(sun.sun_path, uid, gid) != 0) ||
	    rename(sun.sun_path, path) != 0) {
		daemon_fail("PolicySocket %s: %s", cfg->policy_socket,
		            strerror(errno));
		if (fd >= 0) {
			unlink(sun.sun_path);
			close(fd);
		}
		return -1;
	}
	daemon_file_note(&daemon_files[2], path);
	return fd;
}

/* daemon_policy_inet - the policy door's TCP socket, inet:PORT@HOST or
 * inet6:PORT@HOST (every address without a HOST); -1 after daemon_fail. */
static int
daemon_policy_inet(const struct config *cfg)
{
	struct addrinfo hints = {0}, *ai = NULL;
	const char *spec = cfg->policy_socket, *at;
	char port[8] = "", host[256] = "";
	const int on = 1;
	int fd = -1;

	hints.ai_family = strncmp(spec, "inet6:", 6) == 0 ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	spec += hints.ai_family == AF_INET6 ? 6 : 5;
	at = strchr(spec, '@');
	snprintf(port, sizeof(port), "%.*s",
	         (int)(at != NULL ? (size_t)(at - spec) : strlen(spec)), spec);
	if (at != NULL)
		snprintf(host, sizeof(host), "%s", at + 1);
	if (getaddrinfo(host[0] ? host : NULL, port, &hints, &ai) != 0 ||
	    (fd = socket(ai->ai_family,
	                 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		daemon_fail("PolicySocket %s: %s", cfg->policy_socket,
		            ai == NULL ? "not a usable address"
		                       : strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (ai != NULL)
		freeaddrinfo(ai);
	return fd;
}

/* daemon_open_policy - the policy door's listening socket (PolicySocket),
 * before privileges drop; *fd -1 when there is none. */
static int
daemon_open_policy(const struct config *cfg, const struct daemon_ids *ids,
                   int *fd)
{
	const char *path = daemon_socket_path(cfg->policy_socket);

	*fd = -1;
	if (cfg->policy_socket[0] == '\0')
		return 0;
	*fd = path != NULL ? daemon_policy_unix(cfg, ids, path)
	                   : daemon_policy_inet(cfg);
	if (*fd < 0)
		return MILTER_EXIT_CONFIG;
	if (listen(*fd, SOMAXCONN) != 0) {
		close(*fd);
		*fd = -1;
		return daemon_fail("PolicySocket %s: %s", cfg->policy_socket,
		                   strerror(errno));
	}
	return 0;
}

/* daemon_drop - become UserID (resolved by daemon_preflight). */
static int
daemon_drop(const struct config *cfg, const struct daemon_ids *ids)
{
	char err[256];

	(void)cfg;
	if (!ids->drop)
		return 0;
	if (daemonutil_drop(ids->name, ids->uid, ids->gid, err, sizeof(err)) !=
	    0)
		return daemon_fail("%s", err);
	return 0;
}

/* daemon_check_socket - a unix socket's path fits sun_path (libmilter
 * refuses it otherwise) and its directory exists. */
static int
daemon_check_socket(const struct config *cfg)
{
	const char *path = daemon_socket_path(cfg->socket);
	char dir[PATH_MAX];
	const char *slash;
	struct stat sb;
	size_t len;

	if (path == NULL)
		return 0;
	if ((len = strlen(path)) >= DAEMON_SUN_PATH_MAX)
		return daemon_fail("Socket %s: the path is %zu bytes long; a "
		                   "unix socket path has at most %zu",
		                   cfg->socket, len, DAEMON_SUN_PATH_MAX - 1);
	if ((slash = strrchr(path, '/')) == NULL || slash == path)
		return 0;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (stat(dir, &sb) != 0)
		return daemon_fail("Socket %s: directory %s: %s", cfg->socket,
		                   dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return daemon_fail("Socket %s: %s is not a directory",
		                   cfg->socket, dir);
	return 0;
}

/* daemon_check_ids - SocketGroup and UserID exist; root needs UserID. */
static int
daemon_check_ids(const struct config *cfg, struct daemon_ids *ids)
{
	struct group *gr;

	memset(ids, 0, sizeof(*ids));
	if (cfg->socket_group[0] != '\0' &&
	    daemon_socket_path(cfg->socket) != NULL) {
		if ((gr = getgrnam(cfg->socket_group)) == NULL)
			return daemon_fail("SocketGroup %s: no such group",
			                   cfg->socket_group);
		ids->have_sock_gid = true;
		ids->sock_gid = gr->gr_gid;
	}
	if (geteuid() == 0 && cfg->user_id[0] == '\0')
		return daemon_fail("refusing to run as root: set UserID in %s",
		                   daemon_config_path);
	/* Checked also when not root: a wrong UserID is a wrong config. */
	if (cfg->user_id[0] != '\0' &&
	    daemon_user(cfg->user_id, &ids->uid, &ids->gid, ids->name,
	                sizeof(ids->name)) != 0)
		return daemon_fail("UserID %s: no such user or group",
		                   cfg->user_id);
	ids->drop = geteuid() == 0;
	return 0;
}

/* daemon_pidfile - write our PID (after daemon(): the final one) to a
 * new file in path's directory and rename it over path: a new inode,
 * so the reaper of a daemon still stopping (which removes its own PID
 * file by inode) cannot remove this one, and a reader never sees a
 * file without its PID. */
static int
daemon_pidfile(const char *path)
{
	char dir[PATH_MAX], name[NAME_MAX + 1], tmp[NAME_MAX + 1], buf[32];
	struct stat sb;
	int dirfd, fd, n, rc = 0;

	if (path[0] == '\0')
		return 0;
	if (daemon_path_split(path, dir, sizeof(dir), name, sizeof(name)) != 0)
		return daemon_fail("PidFile %s: path too long", path);
	/* As before: only a regular file (or nothing) is replaced. */
	if (lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
		return daemon_fail("PidFile %s: not a regular file", path);
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return daemon_fail("PidFile %s: directory %s: %s", path, dir,
		                   strerror(errno));
	snprintf(tmp, sizeof(tmp), DAEMON_PID_TMP, (long)getpid());
	unlinkat(dirfd, tmp, 0); /* a leftover of a killed start */
	fd = openat(dirfd, tmp,
	            O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		rc = daemon_fail("PidFile %s: %s", path, strerror(errno));
		close(dirfd);
		return rc;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n)
		rc = daemon_fail("PidFile %s: %s", path, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = daemon_fail("PidFile %s: %s", path, strerror(errno));
	if (rc == 0 && renameat(dirfd, tmp, dirfd, name) != 0)
		rc = daemon_fail("PidFile %s: %s", path, strerror(errno));
	if (rc != 0)
		unlinkat(dirfd, tmp, 0);
	close(dirfd);
	if (rc == 0)
		daemon_file_note(&daemon_files[1], path);
	return rc;
}

/* daemon_key_changed - does key i of daemon_start_keys differ? */
static bool
daemon_key_changed(size_t i, const struct config *was, const struct config *now)
{
	const char *a = (const char *)was + daemon_start_keys[i].off;
	const char *b = (const char *)now + daemon_start_keys[i].off;
	const struct config_listen *la = (const void *)a, *lb = (const void *)b;

	switch (daemon_start_keys[i].kind) {
	case DAEMON_KEY_TEXT:
		return strcmp(a, b) != 0;
	case DAEMON_KEY_INT64:
		return memcmp(a, b, sizeof(int64_t)) != 0;
	case DAEMON_KEY_LISTEN:
		return la->on != lb->on ||
		       (la->on && (la->port != lb->port ||
		                   strcmp(la->addr, lb->addr) != 0));
	}
	return false;
}

/* daemon_kept - the names of the start keys now differs in, comma
 * separated, in buf ("" none). */
static void
daemon_kept(const struct config *was, const struct config *now, char *buf,
            size_t buflen)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0;
	     i < sizeof(daemon_start_keys) / sizeof(*daemon_start_keys); i++)
		if (daemon_key_changed(i, was, now) && n < buflen)
			n += (size_t)snprintf(buf + n, buflen - n, "%s%s",
			                      n ? "," : "",
			                      daemon_start_keys[i].name);
}

/* daemon_reload_webhooks - the webhook threads take cfg's keys; one
 * that was not running (no WebhookURL at start) starts now.  The
 * fleet's thread only with the start's StoreDSN, which it keeps. */
static void
daemon_reload_webhooks(const struct config *cfg)
{
	struct milter_env *env = daemon_live.env;
	struct config *fleet_cfg;
	char err[1024];
	bool was = env->webhookd != NULL;

	if (was ? webhookd_reload(env->webhookd, cfg, err, sizeof(err))
	        : webhookd_start(&env->webhookd, env->store, cfg, err,
	                         sizeof(err)))
		log_msg(
		    LOG_ERR,
		    "event=reload-webhooks-failed outbox=local error=\"%s\" "
		    "(the previous webhook settings stay)",
		    err);
	else if (!was && env->webhookd != NULL)
		log_msg(
		    LOG_NOTICE,
		    "event=webhook-reload outbox=local urls=%zu started=yes "
		    "(no WebhookURL at start)",
		    cfg->webhooks.count);
	if (env->webhookd_fleet != NULL) {
		if (webhookd_reload(env->webhookd_fleet, cfg, err,
		                    sizeof(err)) != 0)
			log_msg(LOG_ERR,
			        "event=reload-webhooks-failed outbox=fleet "
			        "error=\"%s\" (the previous webhook settings "
			        "stay)",
			        err);
		return;
	}
	if (daemon_live.started->store_dsn[0] == '\0' ||
	    cfg->webhooks.count == 0)
		return;
	if ((fleet_cfg = malloc(sizeof(*fleet_cfg))) == NULL)
		return;
	*fleet_cfg = *cfg;
	memcpy(fleet_cfg->store_dsn, daemon_live.started->store_dsn,
	       sizeof(fleet_cfg->store_dsn));
	memcpy(fleet_cfg->store_dsn_password_file,
	       daemon_live.started->store_dsn_password_file,
	       sizeof(fleet_cfg->store_dsn_password_file));
	memcpy(fleet_cfg->host_name, daemon_live.started->host_name,
	       sizeof(fleet_cfg->host_name));
	if (webhookd_start_fleet(&env->webhookd_fleet, fleet_cfg, err,
	                         sizeof(err)) != 0)
		log_msg(LOG_ERR,
		        "event=reload-webhooks-failed outbox=fleet "
		        "error=\"%s\"",
		        err);
	else
		log_msg(LOG_NOTICE,
		        "event=webhook-reload outbox=fleet urls=%zu "
		        "started=yes (no WebhookURL at start)",
		        cfg->webhooks.count);
	free(fleet_cfg);
}

/* daemon_reload_main - SIGUSR1: swap in the new config, or keep the old;
 * then the webhook threads take the new one's keys, and the keys only a
 * restart changes are named when the file changed them. */
static void *
daemon_reload_main(void *arg)
{
	sigset_t *set = arg;
	char err[1024], kept[512];
	struct snapshot *snap;
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0 || sig != SIGUSR1)
			continue;
		if (snapshot_load_vetted(daemon_config_path,
		                         daemon_config_required, daemon_vet_key,
		                         err, sizeof(err)) != 0) {
			log_msg(
			    LOG_ERR,
			    "event=reload-failed error=\"%s\" (the previous "
			    "configuration stays in force)",
			    err);
			continue;
		}
		snap = snapshot_acquire();
		pthread_mutex_lock(&daemon_live.lock);
		kept[0] = '\0';
		if (daemon_live.env != NULL && !daemon_live.stopping) {
			daemon_kept(daemon_live.started, &snap->cfg, kept,
			            sizeof(kept));
			daemon_reload_webhooks(&snap->cfg);
		}
		pthread_mutex_unlock(&daemon_live.lock);
		snapshot_release(snap);
		if (kept[0] != '\0')
			log_msg(LOG_NOTICE,
			        "event=reload config=%s kept=%s (changed in "
			        "the file: they keep their start values until "
			        "a restart)",
			        daemon_config_path, kept);
		else
			log_msg(LOG_NOTICE, "event=reload config=%s",
			        daemon_config_path);
	}
	return NULL;
}

/* daemon_unverifiable - the config can never verify an unregistered
 * domain: UnregisteredDomains check with no Selector (DKIM is then
 * missing, so every such domain stays pending); NULL when it can. */
static const char *
daemon_unverifiable(const struct config *cfg)
{
	if (cfg->policy.unregistered != POLICY_UNREG_CHECK ||
	    cfg->selector[0] != '\0')
		return NULL;
	return "UnregisteredDomains check without Selector: no unregistered "
	       "domain can be verified (its DKIM record is missing), so their "
	       "mail gets the OnPending action; set Selector (and KeyFile), "
	       "or register the domains";
}

/* daemon_fallback_door - OnMailFromNotReady fallback with a policy
 * door, which cannot change the sender: such a domain is refused
 * there; NULL when that does not arise. */
static const char *
daemon_fallback_door(const struct config *cfg)
{
	if (cfg->fallback.mode != FALLBACK_ON || cfg->policy_socket[0] == '\0')
		return NULL;
	return "OnMailFromNotReady fallback with a PolicySocket: the policy "
	       "door cannot change the envelope sender, so a domain whose "
	       "only failing records are its MAIL FROM's is refused there as "
	       "OnPending/OnFailed say; only the milter falls back";
}

static int
daemon_args_parse(int argc, char **argv, struct daemon_args *a, int *status)
{
	int c;

	while ((c = getopt(argc, argv, "c:fnhV")) != -1) {
		switch (c) {
		case 'c':
			a->config_path = optarg;
			break;
		case 'f':
			a->foreground = true;
			break;
		case 'n':
			a->check_only = true;
			break;
		case 'h':
			fputs(daemon_usage, stdout);
			*status = 0;
			return -1;
		case 'V':
			printf("authready-milter %s\n", PACKAGE_VERSION);
			*status = 0;
			return -1;
		default:
			fputs(daemon_usage, stderr);
			*status = MILTER_EXIT_USAGE;
			return -1;
		}
	}
	if (optind != argc) {
		fputs(daemon_usage, stderr);
		*status = MILTER_EXIT_USAGE;
		return -1;
	}
	return 0;
}

/* daemon_vet_webhooks - with WebhookURL, the secret loads (as UserID, in
 * the preflight child; a file others may read is refused). */
static int
daemon_vet_webhooks(const struct config *cfg, char *err, size_t errlen)
{
	unsigned char secret[WEBHOOKD_SECRET_MAX];
	size_t len;
	int rc;

	if (cfg->webhooks.count == 0)
		return 0;
	rc = webhookd_secret_load(cfg->webhook_secret_file, secret,
	                          sizeof(secret), &len, err, errlen);
	explicit_bzero(secret, sizeof(secret));
	return rc;
}

/* daemon_vet_key - WebhookSecretFile loads (daemon_vet_webhooks), and
 * KeyFile must be an absolute path (the daemon's working
 * directory is / once it leaves the terminal) to a file UserID can read
 * and others cannot write (readiness_load_key's rules); for start, -n and
 * every reload. */
static int
daemon_vet_key(const struct config *cfg, char *err, size_t errlen)
{
	struct readiness_selector sel;
	char why[PATH_MAX + 128];

	if (daemon_vet_webhooks(cfg, err, errlen) != 0)
		return -1;
	if (cfg->key_file[0] == '\0')
		return 0;
	if (cfg->key_file[0] != '/') {
		snprintf(err, errlen, "KeyFile %s: not an absolute path",
		         cfg->key_file);
		return -1;
	}
	memset(&sel, 0, sizeof(sel));
	if (readiness_load_key(&sel, cfg->key_file, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "KeyFile: %s", why);
		return -1;
	}
	free(sel.key_pem);
	return 0;
}

/* daemon_check_key - daemon_vet_key at start: a failure stops it. */
static int
daemon_check_key(const struct config *cfg)
{
	char err[PATH_MAX + 160];

	if (daemon_vet_key(cfg, err, sizeof(err)) != 0)
		return daemon_fail("%s", err);
	return 0;
}

/* daemon_check_store - the store is sound (storecheck_verify: its own
 * child, so a damaged page faults there) and opens, or its directory can
 * be made (nothing is created here: start does that). */
static int
daemon_check_store(const struct config *cfg)
{
	static struct storecheck_result res;
	char path[PATH_MAX], err[1024], msg[2048];
	const char *slash;
	struct store *st;
	struct stat sb;

	if ((size_t)snprintf(path, sizeof(path), "%s/data.mdb",
	                     cfg->state_dir) >= sizeof(path))
		return daemon_fail("StateDir %s: path too long",
		                   cfg->state_dir);
	if (stat(path, &sb) == 0) {
		/* Already UserID (daemon_preflight's child): no setup. */
		if (storecheck_verify(cfg->state_dir, NULL, NULL, &res) !=
		    STORECHECK_SOUND) {
			storecheck_message(&res, cfg->state_dir, msg,
			                   sizeof(msg));
			return daemon_fail("%s", msg);
		}
		if (store_open(cfg->state_dir, STORE_RDONLY, NULL, &st, err,
		               sizeof(err)) != STORE_OK)
			return daemon_fail("state store %s: %s", cfg->state_dir,
			                   err);
		store_close(st);
		/* The daemon writes it. */
		if (access(path, R_OK | W_OK) != 0)
			return daemon_fail("state store %s: %s", path,
			                   strerror(errno));
		return 0;
	}
	if (store_vet_location(cfg->state_dir, err, sizeof(err)) != STORE_OK)
		return daemon_fail("state store %s: %s", cfg->state_dir, err);
	snprintf(path, sizeof(path), "%s", cfg->state_dir);
	if (stat(path, &sb) != 0 && (slash = strrchr(path, '/')) != NULL)
		path[slash == path ? 1 : (size_t)(slash - path)] = '\0';
	if (access(path, W_OK | X_OK) != 0)
		return daemon_fail("state store %s: cannot be made in %s: %s",
		                   cfg->state_dir, path, strerror(errno));
	return 0;
}

/* daemon_preflight - every check of start that creates nothing; start
 * runs it first, -n runs only it.  KeyFile and the store are checked by
 * a child that has become UserID, as the daemon reads them. */
static int
daemon_preflight(const struct config *cfg, struct daemon_ids *ids)
{
	pid_t pid;
	int rc, status;

	if ((rc = daemon_check_socket(cfg)) != 0 ||
	    (rc = daemon_check_ids(cfg, ids)) != 0)
		return rc;
	fflush(NULL);
	if ((pid = fork()) < 0)
		return daemon_fail("cannot fork: %s", strerror(errno));
	if (pid == 0) {
		if ((rc = daemon_drop(cfg, ids)) == 0 &&
		    (rc = daemon_check_key(cfg)) == 0)
			rc = daemon_check_store(cfg);
		_exit(rc);
	}
	while ((rc = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		continue;
	if (rc < 0)
		return daemon_fail("cannot wait for the check as %s: %s",
		                   cfg->user_id, strerror(errno));
	/* The child said why. */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return MILTER_EXIT_CONFIG;
	return 0;
}

/* daemon_start - socket, terminal, PID file, privileges, store. */
static int
daemon_start(const struct daemon_args *a, const struct config *cfg,
             struct milter_env *env, int *policy_fd)
{
	struct daemon_ids ids;
	char err[1024];
	int rc;

	/*
	 * Block the stop signals before anything is made, so a SIGTERM during
	 * start-up waits for libmilter's signal thread (a clean stop that
	 * removes what was made) instead of killing the daemon with its
	 * socket and PID file left; and before any thread exists, so every
	 * thread inherits the mask: SIGUSR1 is taken by our reload thread,
	 * SIGTERM, SIGINT and SIGHUP by libmilter's signal thread.
	 */
	sigemptyset(&daemon_stop_set);
	sigaddset(&daemon_stop_set, SIGTERM);
	sigaddset(&daemon_stop_set, SIGINT);
	sigaddset(&daemon_stop_set, SIGHUP);
	sigaddset(&daemon_stop_set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &daemon_stop_set, NULL);
	if ((rc = daemon_preflight(cfg, &ids)) != 0)
		return rc;
	env->inet_door = config_socket_inet(cfg->socket);
	if (smfi_register(*milter_desc()) != MI_SUCCESS)
		return daemon_fail("smfi_register failed");
	/* libmilter's own default (7210 s) would let stalled clients hold a
	 * thread each for two hours; see MilterTimeout in
	 * authready-milter(8) */
	if (smfi_settimeout((int)cfg->milter_timeout) != MI_SUCCESS)
		return daemon_fail("MilterTimeout %lld: refused by libmilter",
		                   (long long)cfg->milter_timeout);
	if ((rc = daemon_open_socket(cfg, &ids)) != 0 ||
	    (rc = daemon_open_policy(cfg, &ids, policy_fd)) != 0)
		return rc;
	if (cfg->metrics_listen.on &&
	    (daemon_metrics_fd =
	         metricsd_open(&cfg->metrics_listen, err, sizeof(err))) < 0)
		return daemon_fail("%s", err);
	if (!a->foreground && daemon(0, 0) != 0)
		return daemon_fail("cannot leave the terminal: %s",
		                   strerror(errno));
	if ((rc = daemon_pidfile(cfg->pid_file)) != 0 ||
	    (ids.drop && (rc = daemon_reaper_start()) != 0) ||
	    (rc = daemon_drop(cfg, &ids)) != 0)
		return rc;
	if (log_start_async(err, sizeof(err)) != 0)
		return daemon_fail("%s", err);
	if (store_open(cfg->state_dir, STORE_CREATE, NULL, &env->store, err,
	               sizeof(err)) != STORE_OK)
		return daemon_fail("state store %s: %s", cfg->state_dir, err);
	if ((rc = daemon_check_key(cfg)) != 0) {
		store_close(env->store);
		return rc;
	}
	return 0;
}

#ifdef HAVE_MI_STOP
/* libmilter's stop state: MILTER_STOP (1) once SIGTERM, SIGHUP or
 * smfi_stop() has asked for a stop (libmilter.h, not mfapi.h). */
extern int mi_stop(void);
#define DAEMON_MILTER_STOP 1
#endif

/* daemon_stop_pending - a stop signal that arrived during start-up,
 * taken here: the daemon stops without starting libmilter's listener. */
static int
daemon_stop_pending(void)
{
	const struct timespec now = {0, 0};
	sigset_t pending, stops;

	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGHUP);
	if (sigpending(&pending) != 0)
		return 0;
	if (!sigismember(&pending, SIGTERM) && !sigismember(&pending, SIGINT) &&
	    !sigismember(&pending, SIGHUP))
		return 0;
	return sigtimedwait(&stops, NULL, &now) > 0;
}

/* daemon_listen - smfi_main(), and what its failure means.  A stop
 * that reaches libmilter's signal thread (started by smfi_main) before
 * its listener first looks at the socket closes the socket under it;
 * the listener then fails to reopen it and smfi_main() reports a
 * failure.  That is a stop asked for, so a clean one (MI_SUCCESS). */
static int
daemon_listen(void)
{
	int rc;

	if (daemon_stop_pending())
		return MI_SUCCESS;
	rc = smfi_main();
#ifdef HAVE_MI_STOP
	if (rc != MI_SUCCESS && mi_stop() == DAEMON_MILTER_STOP)
		rc = MI_SUCCESS;
#endif
	return rc;
}

/* daemon_wait_sessions - wait up to seconds for the open sessions to
 * end; how many are still open. */
static long
daemon_wait_sessions(int seconds)
{
	const struct timespec tick = {0, 10 * 1000 * 1000};
	long open;
	int i;

	for (i = 0; (open = milter_sessions_open()) > 0 && i < seconds * 100;
	     i++)
		nanosleep(&tick, NULL);
	return open;
}

/* daemon_abandon - end the process without freeing what a thread still
 * uses (a session, the checker); the store is crash-safe, and the log
 * line and the socket and PID file are dealt with first. */
static _Noreturn void
daemon_abandon(int code)
{
	log_stop();
	daemon_cleanup();
	_exit(code);
}

/* daemon_metrics_wide - the warning for a MetricsListen beyond
 * loopback (allowed: the address was written out); NULL for none. */
static const char *
daemon_metrics_wide(const struct config *cfg)
{
	if (!cfg->metrics_listen.on || cfg->metrics_listen.loopback)
		return NULL;
	return "MetricsListen is not a loopback address: /metrics and "
	       "/healthz answer anyone who can reach it (they have no "
	       "authentication; firewall the port)";
}

/* daemon_metrics_start - serve MetricsListen's socket, when there is
 * one, once the store, checker and replica run. */
static int
daemon_metrics_start(const struct config *cfg, const struct milter_env *env,
                     char *err, size_t errlen)
{
	struct metricsd_env menv = {
	    .store = env->store,
	    .state_dir = cfg->state_dir,
	    .checkerd = env->checkerd,
	    .replica = env->replica,
	};
	int fd = daemon_metrics_fd;

	if (fd < 0)
		return 0;
	daemon_metrics_fd = -1;
	return metricsd_start(fd, &menv, err, errlen);
}

/* daemon_run - everything after the config is loaded. */
static int
daemon_run(const struct daemon_args *a, struct snapshot *snap)
{
	const struct config *cfg = &snap->cfg;
	struct milter_env env = {0};
	static sigset_t reload_set;
	pthread_t reload;
	char err[1024];
	int rc, code;
	long open;
	int policy_fd = -1;

	if ((rc = daemon_start(a, cfg, &env, &policy_fd)) != 0) {
		log_stop(); /* the failure's line reaches the log first */
		daemon_cleanup();
		return rc;
	}
	sigemptyset(&reload_set);
	sigaddset(&reload_set, SIGUSR1);
	if ((daemon_metrics_fd >= 0 &&
	     metricsd_register(cfg->store_dsn[0] != '\0', err, sizeof(err)) !=
	         0) ||
	    daemon_checker_start(&env, err, sizeof(err)) != 0 ||
	    (cfg->store_dsn[0] != '\0' &&
	     replica_start(&env.replica, env.store, cfg, daemon_replica_applied,
	                   NULL, err, sizeof(err)) != 0) ||
	    webhookd_start(&env.webhookd, env.store, cfg, err, sizeof(err)) !=
	        0 ||
	    webhookd_start_fleet(&env.webhookd_fleet, cfg, err, sizeof(err)) !=
	        0 ||
	    milter_init(&env, err, sizeof(err)) != 0 ||
	    (policy_fd >= 0 &&
	     policyd_start(policy_fd,
	                   config_socket_inet(cfg->policy_socket)
	                       ? HELD_DOOR_INET
	                       : HELD_DOOR_UNIX,
	                   err, sizeof(err)) != 0) ||
	    daemon_metrics_start(cfg, &env, err, sizeof(err)) != 0) {
		rc = daemon_fail("%s", err);
		/* the threads started so far use the store: stopped before
		 * it is closed (a malformed StoreDSN or an unreadable password
		 * file fails the replica's start after the checker's) */
		metricsd_stop();
		daemon_release_to(NULL);
		if (!checkerd_stop(env.checkerd, DAEMON_STOP_WAIT) ||
		    !replica_stop(env.replica, DAEMON_STOP_WAIT) ||
		    !webhookd_stop(env.webhookd, DAEMON_STOP_WAIT) ||
		    !webhookd_stop(env.webhookd_fleet, DAEMON_STOP_WAIT))
			daemon_abandon(rc);
		store_close(env.store);
		log_stop();
		daemon_cleanup();
		return rc;
	}
	daemon_live.env = &env;
	daemon_live.started = cfg;
	pthread_create(&reload, NULL, daemon_reload_main, &reload_set);
	pthread_detach(reload);
	log_msg(LOG_NOTICE, "event=start version=%s socket=%s%s%s",
	        PACKAGE_VERSION, cfg->socket,
	        cfg->policy_socket[0] ? " policy_socket=" : "",
	        cfg->policy_socket);
	if (daemon_unverifiable(cfg) != NULL)
		log_msg(LOG_WARNING, "event=config-warning warning=\"%s\"",
		        daemon_unverifiable(cfg));
	if (daemon_fallback_door(cfg) != NULL)
		log_msg(LOG_WARNING, "event=config-warning warning=\"%s\"",
		        daemon_fallback_door(cfg));
	if (daemon_metrics_wide(cfg) != NULL)
		log_msg(LOG_WARNING, "event=config-warning warning=\"%s\"",
		        daemon_metrics_wide(cfg));
	rc = daemon_listen();
	metricsd_stopping(); /* /healthz: 503 from now on */
	log_msg(LOG_NOTICE, "event=stop status=%d", rc);
	code = rc == MI_SUCCESS ? 0 : MILTER_EXIT_CONFIG;
	if (!policyd_stop(DAEMON_STOP_WAIT)) {
		log_msg(LOG_WARNING,
		        "event=stop-policy-busy wait=%ds (a policy request "
		        "still waits for its check; it ends with the daemon)",
		        DAEMON_STOP_WAIT);
		daemon_abandon(code);
	}
	/* libmilter does not end the sessions the MTA keeps open: while one
	 * may still call into the store and the checker, neither is freed */
	if ((open = daemon_wait_sessions(DAEMON_STOP_WAIT)) > 0) {
		log_msg(LOG_WARNING,
		        "event=stop-sessions-open sessions=%ld wait=%ds (the "
		        "MTA keeps them open; they end with the daemon)",
		        open, DAEMON_STOP_WAIT);
		daemon_abandon(code);
	}
	daemon_release_to(NULL); /* the replica asks it no more */
	if (!checkerd_stop(env.checkerd, DAEMON_STOP_WAIT)) {
		/* the thread still uses the store: leave both to _exit */
		log_msg(
		    LOG_WARNING,
		    "event=stop-checker-busy wait=%ds (a check in progress is "
		    "abandoned; it is done again at the next start)",
		    DAEMON_STOP_WAIT);
		daemon_abandon(code);
	}
	pthread_mutex_lock(&daemon_live.lock); /* no reload past here */
	daemon_live.stopping = true;
	pthread_mutex_unlock(&daemon_live.lock);
	if (!webhookd_stop(env.webhookd, DAEMON_STOP_WAIT) ||
	    !webhookd_stop(env.webhookd_fleet, DAEMON_STOP_WAIT)) {
		log_msg(LOG_WARNING,
		        "event=stop-webhooks-busy wait=%ds (undelivered events "
		        "stay in the outbox for the next start)",
		        DAEMON_STOP_WAIT);
		daemon_abandon(code);
	}
	if (!replica_stop(env.replica, DAEMON_STOP_WAIT)) {
		log_msg(LOG_WARNING,
		        "event=stop-replica-busy wait=%ds (PostgreSQL did not "
		        "answer; the replica resumes from its position at the "
		        "next start)",
		        DAEMON_STOP_WAIT);
		daemon_abandon(code);
	}
	metricsd_stop();
	milter_fini();
	store_close(env.store);
	log_stop();
	daemon_cleanup();
	return code;
}

int
main(int argc, char **argv)
{
	struct daemon_args a = {0};
	struct daemon_ids ids;
	struct snapshot *snap;
	char err[1024];
	int status = 0, rc;

	if (daemon_args_parse(argc, argv, &a, &status) != 0)
		return status;
	daemon_config_path =
	    a.config_path ? a.config_path : CONFIG_DEFAULT_PATH;
	daemon_config_required = a.config_path != NULL;
	if (snapshot_load(daemon_config_path, daemon_config_required, err,
	                  sizeof(err)) != 0) {
		fprintf(stderr, "authready-milter: %s\n", err);
		return MILTER_EXIT_CONFIG;
	}
	/* A fault in the store's map after the start-up check: one
	 * message on stderr and 78, not a bare signal (store.h). */
	if (store_guard_install("authready-milter", err, sizeof(err)) !=
	    STORE_OK)
		fprintf(stderr, "authready-milter: warning: %s\n", err);
	snap = snapshot_acquire();
	if (a.check_only) {
		/* What start checks before it makes anything (no log). */
		rc = daemon_preflight(&snap->cfg, &ids);
		if (rc == 0 && daemon_unverifiable(&snap->cfg) != NULL)
			fprintf(stderr, "authready-milter: warning: %s\n",
			        daemon_unverifiable(&snap->cfg));
		if (rc == 0 && daemon_fallback_door(&snap->cfg) != NULL)
			fprintf(stderr, "authready-milter: warning: %s\n",
			        daemon_fallback_door(&snap->cfg));
		if (rc == 0 && daemon_metrics_wide(&snap->cfg) != NULL)
			fprintf(stderr, "authready-milter: warning: %s\n",
			        daemon_metrics_wide(&snap->cfg));
		if (rc == 0)
			printf("%s: configuration OK\n", daemon_config_path);
		snapshot_release(snap);
		snapshot_shutdown();
		return rc;
	}
	if (log_open("authready-milter", snap->cfg.syslog_facility,
	             snap->cfg.syslog, err, sizeof(err)) != 0) {
		fprintf(stderr, "authready-milter: %s\n", err);
		snapshot_release(snap);
		return MILTER_EXIT_CONFIG;
	}
	/* Without syslog the log is stderr: one line per failure there. */
	daemon_report =
	    snap->cfg.syslog ? DAEMON_REPORT_BOTH : DAEMON_REPORT_LOG;
	rc = daemon_run(&a, snap);
	snapshot_release(snap);
	snapshot_shutdown();
	return rc;
}
