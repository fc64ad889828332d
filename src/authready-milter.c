/*
 * authready-milter.c - main() of authready-milter(8), the daemon.
 *
 * SYNOPSIS
 *	authready-milter [-c FILE] [-f] [-n]
 *
 * DESCRIPTION
 *	Start-up order, each step failing loudly with exit status 78:
 *	load the config; refuse to run as root without UserID; open the
 *	milter socket (stale unix socket removed, UMask applied, group set);
 *	leave the terminal unless -f; write the PID file; drop to UserID;
 *	open the state store; start the checker thread and the reload
 *	thread; hand over to libmilter.
 *
 *	Signals: libmilter owns SIGTERM, SIGINT and SIGHUP (all of them
 *	stop it).  The checker thread then gets DAEMON_STOP_WAIT seconds to
 *	finish its run; past that the daemon exits without it, so a stop
 *	never waits on DNS.  SIGUSR1 reloads the config: a new snapshot is
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
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkerd.h"
#include "configfile.h"
#include "log.h"
#include "milter.h"
#include "readiness.h"
#include "snapshot.h"
#include "store.h"

#define MILTER_EXIT_USAGE 64
#define MILTER_EXIT_CONFIG 78
/* Seconds a stop waits for the checker thread's current run. */
#define DAEMON_STOP_WAIT 5

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

static int daemon_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int daemon_vet_key(const struct config *cfg, char *err,
    size_t errlen);

/* daemon_fail - the one place start-up failures are reported; 78. */
static int
daemon_fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "authready-milter: %s\n", msg);
	log_msg(LOG_ERR, "event=start-failed error=\"%s\"", msg);
	return MILTER_EXIT_CONFIG;
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

/* daemon_user - uid and gid of "user" or "user:group". */
static int
daemon_user(const char *spec, uid_t *uid, gid_t *gid, char *name,
    size_t namelen)
{
	char user[CONFIG_NAME_MAX];
	const char *colon = strchr(spec, ':');
	struct passwd *pw;
	struct group *gr;
	size_t len = colon ? (size_t)(colon - spec) : strlen(spec);

	if (len == 0 || len >= sizeof(user))
		return -1;
	memcpy(user, spec, len);
	user[len] = '\0';
	if ((pw = getpwnam(user)) == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	snprintf(name, namelen, "%s", user);
	if (colon != NULL) {
		if ((gr = getgrnam(colon + 1)) == NULL)
			return -1;
		*gid = gr->gr_gid;
	}
	return 0;
}

/* daemon_open_socket - the listening socket, before privileges drop. */
static int
daemon_open_socket(const struct config *cfg)
{
	const char *path = daemon_socket_path(cfg->socket);
	struct group *gr;

	if (smfi_setconn((char *)cfg->socket) != MI_SUCCESS)
		return daemon_fail("Socket %s: not a usable socket",
		    cfg->socket);
	umask((mode_t)cfg->umask);
	if (smfi_opensocket(true) != MI_SUCCESS)
		return daemon_fail("cannot open the milter socket %s%s",
		    cfg->socket,
		    path ? " (does its directory exist?)" : "");
	if (path != NULL && cfg->socket_group[0] != '\0') {
		if ((gr = getgrnam(cfg->socket_group)) == NULL)
			return daemon_fail("SocketGroup %s: no such group",
			    cfg->socket_group);
		if (chown(path, (uid_t)-1, gr->gr_gid) != 0)
			return daemon_fail("cannot give %s to its group: %s",
			    path, strerror(errno));
	}
	return 0;
}

/* daemon_drop - become UserID; refuse root without it. */
static int
daemon_drop(const struct config *cfg)
{
	const char *path = daemon_socket_path(cfg->socket);
	char name[CONFIG_NAME_MAX];
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		return 0;
	if (cfg->user_id[0] == '\0')
		return daemon_fail("refusing to run as root: set UserID in %s",
		    daemon_config_path);
	if (daemon_user(cfg->user_id, &uid, &gid, name, sizeof(name)) != 0)
		return daemon_fail("UserID %s: no such user or group",
		    cfg->user_id);
	if (path != NULL && cfg->socket_group[0] == '\0' &&
	    chown(path, uid, gid) != 0)
		return daemon_fail("cannot give %s to UserID: %s", path,
		    strerror(errno));
	if (initgroups(name, gid) != 0 || setgid(gid) != 0 ||
	    setuid(uid) != 0)
		return daemon_fail("cannot become %s: %s", cfg->user_id,
		    strerror(errno));
	if (setuid(0) == 0)
		return daemon_fail("%s: privileges could be regained",
		    cfg->user_id);
	return 0;
}

static int
daemon_pidfile(const char *path)
{
	struct stat sb;
	char buf[32];
	int fd, n;

	if (path[0] == '\0')
		return 0;
	/* O_NONBLOCK: a FIFO put there must not hang the start */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK, 0644);
	if (fd < 0)
		return daemon_fail("PidFile %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return daemon_fail("PidFile %s: not a regular file", path);
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return daemon_fail("PidFile %s: %s", path, strerror(errno));
	}
	close(fd);
	return 0;
}

/* daemon_reload_main - SIGUSR1: swap in the new config, or keep the old. */
static void *
daemon_reload_main(void *arg)
{
	sigset_t *set = arg;
	char err[1024];
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0 || sig != SIGUSR1)
			continue;
		if (snapshot_load_vetted(daemon_config_path,
			daemon_config_required, daemon_vet_key, err,
			sizeof(err)) != 0)
			log_msg(LOG_ERR,
			    "event=reload-failed error=\"%s\" (the previous "
			    "configuration stays in force)",
			    err);
		else
			log_msg(LOG_NOTICE, "event=reload config=%s",
			    daemon_config_path);
	}
	return NULL;
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

/* daemon_vet_key - KeyFile must be a readable regular file not writable
 * by others (readiness_load_key's rules); for start and every reload. */
static int
daemon_vet_key(const struct config *cfg, char *err, size_t errlen)
{
	struct readiness_selector sel;
	char why[PATH_MAX + 128];

	if (cfg->key_file[0] == '\0')
		return 0;
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

/* daemon_run - everything after the config is loaded. */
static int
daemon_run(const struct daemon_args *a, struct snapshot *snap)
{
	const struct config *cfg = &snap->cfg;
	struct milter_env env = {0};
	static sigset_t reload_set;
	sigset_t stop_set;
	pthread_t reload;
	char err[1024];
	int rc;

	env.inet_door = config_socket_inet(cfg->socket);
	if (smfi_register(*milter_desc()) != MI_SUCCESS)
		return daemon_fail("smfi_register failed");
	/* libmilter's own default (7210 s) would let stalled clients hold a
	 * thread each for two hours; see MilterTimeout in
	 * authready-milter(8) */
	if (smfi_settimeout((int)cfg->milter_timeout) != MI_SUCCESS)
		return daemon_fail("MilterTimeout %lld: refused by libmilter",
		    (long long)cfg->milter_timeout);
	if ((rc = daemon_open_socket(cfg)) != 0)
		return rc;
	if (!a->foreground && daemon(0, 0) != 0)
		return daemon_fail("cannot leave the terminal: %s",
		    strerror(errno));
	if ((rc = daemon_pidfile(cfg->pid_file)) != 0 ||
	    (rc = daemon_drop(cfg)) != 0)
		return rc;
	/*
	 * Block the signals before any thread exists, so every thread
	 * inherits the mask: SIGUSR1 is taken by our reload thread, SIGTERM,
	 * SIGINT and SIGHUP by libmilter's signal thread (a clean stop).
	 */
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGTERM);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGHUP);
	sigaddset(&stop_set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
	if (log_start_async(err, sizeof(err)) != 0)
		return daemon_fail("%s", err);
	if (store_open(cfg->state_dir, STORE_CREATE, NULL, &env.store, err,
		sizeof(err)) != STORE_OK)
		return daemon_fail("state store %s: %s", cfg->state_dir, err);
	if ((rc = daemon_check_key(cfg)) != 0) {
		store_close(env.store);
		return rc;
	}
	sigemptyset(&reload_set);
	sigaddset(&reload_set, SIGUSR1);
	if (checkerd_start(&env.checkerd, env.store, err, sizeof(err)) != 0 ||
	    milter_init(&env, err, sizeof(err)) != 0) {
		store_close(env.store);
		return daemon_fail("%s", err);
	}
	pthread_create(&reload, NULL, daemon_reload_main, &reload_set);
	pthread_detach(reload);
	log_msg(LOG_NOTICE, "event=start version=%s socket=%s",
	    PACKAGE_VERSION, cfg->socket);
	rc = smfi_main();
	log_msg(LOG_NOTICE, "event=stop status=%d", rc);
	if (checkerd_stop(env.checkerd, DAEMON_STOP_WAIT)) {
		milter_fini();
		store_close(env.store);
	} else {
		/* the thread still uses the store: leave both to exit */
		log_msg(LOG_WARNING,
		    "event=stop-checker-busy wait=%ds (a check in progress is "
		    "abandoned; it is done again at the next start)",
		    DAEMON_STOP_WAIT);
	}
	log_stop();
	if (cfg->pid_file[0] != '\0')
		unlink(cfg->pid_file);
	return rc == MI_SUCCESS ? 0 : MILTER_EXIT_CONFIG;
}

int
main(int argc, char **argv)
{
	struct daemon_args a = {0};
	struct snapshot *snap;
	char err[1024];
	int status = 0, rc;

	if (daemon_args_parse(argc, argv, &a, &status) != 0)
		return status;
	daemon_config_path = a.config_path ? a.config_path
					   : CONFIG_DEFAULT_PATH;
	daemon_config_required = a.config_path != NULL;
	if (snapshot_load(daemon_config_path, daemon_config_required, err,
		sizeof(err)) != 0) {
		fprintf(stderr, "authready-milter: %s\n", err);
		return MILTER_EXIT_CONFIG;
	}
	if (a.check_only) {
		printf("%s: configuration OK\n", daemon_config_path);
		snapshot_shutdown();
		return 0;
	}
	snap = snapshot_acquire();
	if (log_open("authready-milter", snap->cfg.syslog_facility,
		snap->cfg.syslog, err, sizeof(err)) != 0) {
		fprintf(stderr, "authready-milter: %s\n", err);
		snapshot_release(snap);
		return MILTER_EXIT_CONFIG;
	}
	rc = daemon_run(&a, snap);
	snapshot_release(snap);
	snapshot_shutdown();
	return rc;
}
