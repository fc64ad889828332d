/*
 * authready-api.c - main() of authready-api(8), the HTTP control plane.
 *
 * SYNOPSIS
 *	authready-api [-c FILE] [-f] [-n] [--help] [--version]
 *
 * DESCRIPTION
 *	Start-up order, each step failing loudly with exit status 78: load
 *	the config; the checks that create nothing (api_preflight, all that
 *	-n runs): APIListen parses, APITokenFile is set, private (mode 600)
 *	and holds tokens, the TLS certificate and key are both set or both
 *	unset and readable, APIUserID (default UserID) exists, root is
 *	refused without one, and the state store can be opened or made;
 *	then bind APIListen and APIMetricsListen (before the drop, as root
 *	may be needed for the port); leave the terminal unless -f; write
 *	APIPidFile; drop to the user; open the state store; register the
 *	metrics and start libmicrohttpd (api.c), then the metrics listener
 *	(apimetrics.c).  The token file and TLS files are read before the
 *	drop, so they may belong to root.  An APIMetricsListen on APIListen's
 *	address and port is refused; one beyond loopback is warned about
 *	(at start and at -n): /metrics and /healthz have no token.
 *
 *	SIGTERM, SIGINT and SIGHUP stop the daemon: /healthz answers 503,
 *	libmicrohttpd finishes the requests in progress, the metrics
 *	listener stops, then the store closes.  SIGUSR1 reads
 *	APITokenFile again (a token added or revoked without a restart);
 *	a file that is now unusable keeps the old tokens, logged.
 *
 * DIAGNOSTICS
 *	0 after a clean stop; 64 usage error; 78 configuration or start-up
 *	error (the reason on stderr and in the log).
 */
#include "ac-config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"
#include "apimetrics.h"
#include "configfile.h"
#include "daemonutil.h"
#include "log.h"
#include "regops.h"
#include "safefile.h"

#define API_EXIT_USAGE 64
#define API_EXIT_CONFIG 78
#define API_TLS_FILE_MAX (1024 * 1024)
#define API_BACKLOG 1024

static const char api_usage[] =
    "usage: authready-api [-c FILE] [-f] [-n]\n"
    "  -c, --config FILE  config file (default: " CONFIG_DEFAULT_PATH ")\n"
    "  -f, --foreground   stay in the foreground\n"
    "  -n, --check        check the config and exit\n"
    "  -h, --help         this text\n"
    "  -V, --version      the version\n"
    "See authready-api(8) and authready.conf(5).\n";

struct api_args {
	const char *config_path;
	bool foreground;
	bool check_only;
};

struct api_ids {
	bool drop;
	uid_t uid;
	gid_t gid;
	char name[CONFIG_NAME_MAX];
};

/* Where start-up failures go: stderr until the log is open. */
static bool api_logging;

static int api_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* api_fail - the one place start-up failures are reported; 78. */
static int
api_fail(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "authready-api: %s\n", msg);
	if (api_logging)
		log_msg(LOG_ERR, "event=start-failed error=\"%s\"", msg);
	return API_EXIT_CONFIG;
}

/* api_args_parse - -c FILE, -f, -n, -h, -V; -1 to exit with *status. */
static int
api_args_parse(int argc, char **argv, struct api_args *a, int *status)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"check", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:fnhV", longopts, NULL)) != -1) {
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
			fputs(api_usage, stdout);
			*status = 0;
			return -1;
		case 'V':
			printf("authready-api %s\n", PACKAGE_VERSION);
			*status = 0;
			return -1;
		default:
			fputs(api_usage, stderr);
			*status = API_EXIT_USAGE;
			return -1;
		}
	}
	if (optind != argc) {
		fputs(api_usage, stderr);
		*status = API_EXIT_USAGE;
		return -1;
	}
	return 0;
}

/* api_user - APIUserID, else UserID; "" none. */
static const char *
api_user(const struct config *cfg)
{
	return cfg->api_user_id[0] ? cfg->api_user_id : cfg->user_id;
}

/* api_check_ids - the user exists; root needs one. */
static int
api_check_ids(const struct config *cfg, struct api_ids *ids)
{
	const char *user = api_user(cfg);

	memset(ids, 0, sizeof(*ids));
	if (geteuid() == 0 && user[0] == '\0')
		return api_fail("refusing to run as root: set APIUserID (or "
		                "UserID)");
	if (user[0] != '\0' &&
	    daemonutil_user(user, &ids->uid, &ids->gid, ids->name,
	                    sizeof(ids->name)) != 0)
		return api_fail("APIUserID %s: no such user or group", user);
	ids->drop = geteuid() == 0;
	return 0;
}

/* api_read_pem - a TLS file, whole; NULL after a message. */
static char *
api_read_pem(const char *key, const char *path)
{
	char why[SAFEFILE_ERR_MAX], *buf;
	size_t len;

	if (safefile_read(path, API_TLS_FILE_MAX, 0, &buf, &len, NULL, why,
	                  sizeof(why)) != 0) {
		api_fail("%s %s", key, why);
		return NULL;
	}
	return buf;
}

/* api_load_secrets - the tokens, and the TLS certificate and key. */
static int
api_load_secrets(const struct config *cfg, struct api *api)
{
	char err[APITOKEN_ERR_MAX];

	if (cfg->api_token_file[0] == '\0')
		return api_fail("APITokenFile is not set: the API answers only "
		                "requests with a token from it");
	if (apitoken_load(cfg->api_token_file, &api->tokens, err,
	                  sizeof(err)) != 0)
		return api_fail("%s", err);
	if ((cfg->api_tls_cert[0] == '\0') != (cfg->api_tls_key[0] == '\0'))
		return api_fail("APITLSCertificate and APITLSKey go together");
	if (cfg->api_tls_cert[0] == '\0')
		return 0;
	if ((api->tls_cert = api_read_pem("APITLSCertificate",
	                                  cfg->api_tls_cert)) == NULL ||
	    (api->tls_key = api_read_pem("APITLSKey", cfg->api_tls_key)) ==
	        NULL)
		return API_EXIT_CONFIG;
	return 0;
}

/* api_store_makeable - the StateDir not made yet can be: the nearest
 * existing directory (itself, or its parent) is writable. */
static int
api_store_makeable(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	const char *slash;
	struct stat sb;

	snprintf(path, sizeof(path), "%s", dir);
	if (stat(path, &sb) != 0 && (slash = strrchr(path, '/')) != NULL)
		path[slash == path ? 1 : (size_t)(slash - path)] = '\0';
	if (access(path, W_OK | X_OK) != 0) {
		snprintf(err, errlen, "cannot be made in %s: %s", path,
		         strerror(errno));
		return -1;
	}
	return 0;
}

/* api_check_store - as the user: the store opens, or can be made. */
static int
api_check_store(const struct config *cfg, const struct api_ids *ids)
{
	char err[PATH_MAX + REGOPS_ERR_MAX];
	struct store *st;
	bool absent;
	pid_t pid;
	int rc, status;

	fflush(NULL);
	if ((pid = fork()) < 0)
		return api_fail("cannot fork: %s", strerror(errno));
	if (pid == 0) {
		if (ids->drop && daemonutil_drop(ids->name, ids->uid, ids->gid,
		                                 err, sizeof(err)) != 0)
			_exit(api_fail("%s", err));
		if (regops_store_open(cfg, STORE_RDONLY, NULL, &absent, &st,
		                      err, sizeof(err)) != STORE_OK)
			_exit(api_fail("%s", err));
		if (absent && store_vet_location(cfg->state_dir, err,
		                                 sizeof(err)) != STORE_OK)
			_exit(api_fail("state store %s: %s", cfg->state_dir,
			               err));
		if (absent &&
		    api_store_makeable(cfg->state_dir, err, sizeof(err)) != 0)
			_exit(api_fail("state store %s: %s", cfg->state_dir,
			               err));
		if (st != NULL)
			store_close(st);
		_exit(0);
	}
	while ((rc = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		continue;
	if (rc < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return API_EXIT_CONFIG; /* the child said why */
	return 0;
}

/* api_metrics_clash - APIMetricsListen on APIListen's own address and
 * port (a sentence), or NULL. */
static const char *
api_metrics_clash(const struct config *cfg)
{
	const struct config_listen *l = &cfg->api_metrics_listen;
	const struct sockaddr_in6 *a6;
	const struct sockaddr_in *a4;
	struct sockaddr_storage ss;
	unsigned char bin[sizeof(struct in6_addr)];
	socklen_t len;
	bool same;

	if (!l->on ||
	    config_api_listen_parse(cfg->api_listen, &ss, &len) != 0 ||
	    ss.ss_family != l->family ||
	    inet_pton(l->family, l->addr, bin) != 1)
		return NULL;
	a6 = (const struct sockaddr_in6 *)&ss;
	a4 = (const struct sockaddr_in *)&ss;
	same = l->family == AF_INET6
	           ? ntohs(a6->sin6_port) == l->port &&
	                 memcmp(&a6->sin6_addr, bin, sizeof(a6->sin6_addr)) == 0
	           : ntohs(a4->sin_port) == l->port &&
	                 memcmp(&a4->sin_addr, bin, sizeof(a4->sin_addr)) == 0;
	return same ? "APIMetricsListen is APIListen's address and port: give "
	              "the metrics a port of their own"
	            : NULL;
}

/* api_metrics_wide - the warning for an APIMetricsListen beyond
 * loopback, or NULL. */
static const char *
api_metrics_wide(const struct config *cfg)
{
	if (!cfg->api_metrics_listen.on || cfg->api_metrics_listen.loopback)
		return NULL;
	return "APIMetricsListen is not a loopback address: /metrics and "
	       "/healthz answer anyone who can reach it (they have no "
	       "token; firewall the port)";
}

/* api_preflight - every check of start that creates nothing. */
static int
api_preflight(const struct config *cfg, struct api *api, struct api_ids *ids)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc;

	if (config_api_listen_parse(cfg->api_listen, &ss, &len) != 0)
		return api_fail("APIListen %s: not ADDR:PORT", cfg->api_listen);
	if (api_metrics_clash(cfg) != NULL)
		return api_fail("%s", api_metrics_clash(cfg));
	if ((rc = api_load_secrets(cfg, api)) != 0 ||
	    (rc = api_check_ids(cfg, ids)) != 0)
		return rc;
	return api_check_store(cfg, ids);
}

/* api_listen - the listening socket of APIListen. */
static int
api_listen(const struct config *cfg, int *fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int on = 1;

	if (config_api_listen_parse(cfg->api_listen, &ss, &len) != 0)
		return api_fail("APIListen %s: not ADDR:PORT", cfg->api_listen);
	if ((*fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return api_fail("APIListen %s: %s", cfg->api_listen,
		                strerror(errno));
	setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(*fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(*fd, API_BACKLOG) != 0) {
		int e = errno;

		close(*fd);
		*fd = -1;
		return api_fail("APIListen %s: %s", cfg->api_listen,
		                strerror(e));
	}
	return 0;
}

/* api_reload_tokens - SIGUSR1: the token file again, or the old tokens. */
static void
api_reload_tokens(struct api *api)
{
	struct apitoken_set fresh, old;
	char err[APITOKEN_ERR_MAX];

	if (apitoken_load(api->cfg->api_token_file, &fresh, err, sizeof(err)) !=
	    0) {
		log_msg(LOG_ERR,
		        "event=reload-failed error=\"%s\" (the previous tokens "
		        "stay in force)",
		        err);
		return;
	}
	/* Requests read the set under the read lock (api.c, api_auth). */
	pthread_rwlock_wrlock(&api->tokens_lock);
	old = api->tokens;
	api->tokens = fresh;
	atomic_fetch_add(&api->tokens_gen,
	                 1); /* remembered tokens: hashed again */
	pthread_rwlock_unlock(&api->tokens_lock);
	apitoken_free(&old);
	log_msg(LOG_NOTICE, "event=reload tokens=%zu", fresh.count);
}

/* api_wait - until a stop signal; SIGUSR1 reloads the tokens. */
static int
api_wait(struct api *api, const sigset_t *set)
{
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig != SIGUSR1)
			return sig;
		api_reload_tokens(api);
	}
}

/* api_run - bind, leave the terminal, drop, serve until a stop. */
static int
api_run(const struct api_args *a, const struct config *cfg, struct api *api,
        const struct api_ids *ids)
{
	char err[REGOPS_ERR_MAX];
	sigset_t set;
	int fd = -1, mfd = -1, rc, sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((rc = api_listen(cfg, &fd)) != 0)
		return rc;
	if (cfg->api_metrics_listen.on &&
	    (mfd = apimetrics_open(&cfg->api_metrics_listen, err,
	                           sizeof(err))) < 0)
		return api_fail("%s", err);
	if (!a->foreground && daemon(0, 0) != 0)
		return api_fail("cannot leave the terminal: %s",
		                strerror(errno));
	if (cfg->api_pid_file[0] != '\0' &&
	    daemonutil_pidfile(cfg->api_pid_file, err, sizeof(err)) != 0)
		return api_fail("APIPidFile %s", err);
	if (ids->drop && daemonutil_drop(ids->name, ids->uid, ids->gid, err,
	                                 sizeof(err)) != 0)
		return api_fail("%s", err);
	if (log_start_async(err, sizeof(err)) != 0)
		return api_fail("%s", err);
	if (regops_store_open(cfg, STORE_CREATE, NULL, NULL, &api->st, err,
	                      sizeof(err)) != STORE_OK)
		return api_fail("%s", err);
	if ((api->throttle = calloc(1, sizeof(*api->throttle))) == NULL)
		return api_fail("out of memory");
	pthread_mutex_init(&api->throttle_lock, NULL);
	pthread_rwlock_init(&api->tokens_lock, NULL);
	if ((mfd >= 0 && apimetrics_register(err, sizeof(err)) != 0) ||
	    api_start(api, fd, err, sizeof(err)) != 0) {
		store_close(api->st);
		return api_fail("%s", err);
	}
	if (mfd >= 0 && apimetrics_start(mfd, api->st, cfg->state_dir, err,
	                                 sizeof(err)) != 0) {
		api_stop(api);
		store_close(api->st);
		return api_fail("%s", err);
	}
	log_msg(LOG_NOTICE, "event=start listen=%s tls=%s tokens=%zu pid=%ld",
	        cfg->api_listen, api->tls_cert ? "yes" : "no",
	        api->tokens.count, (long)getpid());
	if (api_metrics_wide(cfg) != NULL)
		log_msg(LOG_WARNING, "event=config-warning warning=\"%s\"",
		        api_metrics_wide(cfg));
	sig = api_wait(api, &set);
	apimetrics_stopping(); /* /healthz: 503 from now on */
	api_stop(api);
	apimetrics_stop();
	close(fd);
	store_close(api->st);
	log_msg(LOG_NOTICE, "event=stop signal=%d", sig);
	if (cfg->api_pid_file[0] != '\0')
		unlink(cfg->api_pid_file); /* best effort: /run may be root's */
	log_stop();
	return 0;
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	struct api_args a = {0};
	struct api api;
	struct api_ids ids;
	char err[4096];
	const char *path;
	int status = 0, rc;

	if (api_args_parse(argc, argv, &a, &status) != 0)
		return status;
	path = a.config_path ? a.config_path : CONFIG_DEFAULT_PATH;
	if (config_load(path, a.config_path != NULL, &cfg, err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "authready-api: %s\n", err);
		return API_EXIT_CONFIG;
	}
	if (store_guard_install("authready-api", err, sizeof(err)) != STORE_OK)
		fprintf(stderr, "authready-api: warning: %s\n", err);
	memset(&api, 0, sizeof(api));
	api.cfg = &cfg;
	atomic_init(&api.conns, 0);
	atomic_init(&api.tokens_gen, 0);
	rc = api_preflight(&cfg, &api, &ids);
	if (a.check_only || rc != 0) {
		if (rc == 0 && api_metrics_wide(&cfg) != NULL)
			fprintf(stderr, "authready-api: warning: %s\n",
			        api_metrics_wide(&cfg));
		if (rc == 0)
			printf("%s: configuration OK\n", path);
		apitoken_free(&api.tokens);
		return rc;
	}
	if (log_open("authready-api", cfg.syslog_facility, cfg.syslog, err,
	             sizeof(err)) != 0) {
		fprintf(stderr, "authready-api: %s\n", err);
		return API_EXIT_CONFIG;
	}
	api_logging = true;
	rc = api_run(&a, &cfg, &api, &ids);
	apitoken_free(&api.tokens);
	free(api.tls_cert);
	if (api.tls_key != NULL)
		explicit_bzero(api.tls_key, strlen(api.tls_key));
	free(api.tls_key);
	free(api.throttle);
	return rc;
}
