/*
 * sock-probe.c - connect to a unix socket while a daemon makes it; report
 * every refusal and every change of its owner, group or mode.
 *
 * SYNOPSIS
 *	sock-probe [-t SECONDS] PATH
 *	sock-probe -b PATH
 *
 * DESCRIPTION
 *	Watches the directory of PATH with inotify and prints "ready" once
 *	the watch is set (a test starts the daemon after that line).  Then
 *	it connects to PATH in a tight loop until a connection is accepted:
 *	ENOENT (no socket yet: it waits for the directory to change) and
 *	ECONNREFUSED (a stale socket, or one bound and not listening yet)
 *	are retried; EACCES is a refusal, what an MTA sees as a tempfail.
 *
 *	The connect loop meets a window of a few system calls only by
 *	luck, so the directory's events decide deterministically: the
 *	first time PATH appears (made, or renamed into place) its mode,
 *	owner and group are printed, and any later change of them (an
 *	IN_ATTRIB event for PATH: chown, chmod) fails the probe, since an
 *	MTA could have connected before it.  A socket made whole under
 *	another name and renamed over PATH shows no such event.  After
 *	the connection is accepted the probe waits for PATH's appearance
 *	event if it has not read it yet (the kernel queues a rename's
 *	event just after the new name is visible).
 *
 *	Run it as the MTA would connect: a user that is not root and is a
 *	member of the socket's group.
 *
 *	-b PATH binds a unix socket at PATH and exits without listening: a
 *	stale socket, as a daemon killed with its reaper leaves behind.
 *
 *	-t SECONDS gives up after that long (default 30).
 *
 *	tests/integration/privilege.sh uses it.
 *
 * DIAGNOSTICS
 *	One line per finding on stdout: "ready", "first mode=MODE uid=UID
 *	gid=GID", "refused: ERROR" (the first few), "refused N times",
 *	"changed: ..." and "connected".
 *	Exit status 0 when a connection was accepted with no refusal and
 *	no change, 1 after a refusal or a change, 2 on a timeout or an
 *	error (message on stderr), 64 usage error.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PROBE_TIMEOUT_DEFAULT 30 /* seconds */
#define PROBE_TIMEOUT_MAX 3600
#define PROBE_IDLE_MS 10 /* wait for the directory while PATH is absent */
#define PROBE_SHOW_MAX 5 /* refusals printed; all are counted */
#define PROBE_EVENTS (IN_CREATE | IN_MOVED_TO | IN_ATTRIB)

#define PROBE_EXIT_OK 0
#define PROBE_EXIT_REFUSED 1
#define PROBE_EXIT_ERROR 2
#define PROBE_EXIT_USAGE 64

static const char probe_usage[] = "usage: sock-probe [-t SECONDS] PATH\n"
                                  "       sock-probe -b PATH\n";

struct probe {
	const char *path;
	char name[NAME_MAX + 1]; /* PATH's last component */
	int ifd;                 /* inotify */
	bool appeared;           /* PATH made or renamed into place */
	struct stat first;       /* PATH when it appeared */
	int refused;
	int changed;
};

/* probe_addr - the socket address of path; -1 when it does not fit. */
static int
probe_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -1;
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

/* probe_bind - -b: leave a socket nobody listens on at path. */
static int
probe_bind(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	if (probe_addr(path, &sun) != 0) {
		fprintf(stderr, "sock-probe: %s: path too long\n", path);
		return PROBE_EXIT_USAGE;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "sock-probe: bind %s: %s\n", path,
		        strerror(errno));
		return PROBE_EXIT_ERROR;
	}
	close(fd);
	return PROBE_EXIT_OK;
}

/* probe_now_ms - a monotonic clock in milliseconds. */
static long long
probe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* probe_watch - watch the directory of p->path. */
static int
probe_watch(struct probe *p)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(p->path, '/');
	size_t dlen;

	if (slash == NULL) {
		snprintf(dir, sizeof(dir), ".");
		slash = p->path - 1;
	} else {
		dlen = slash == p->path ? 1 : (size_t)(slash - p->path);
		if (dlen >= sizeof(dir))
			return -1;
		memcpy(dir, p->path, dlen);
		dir[dlen] = '\0';
	}
	if (strlen(slash + 1) >= sizeof(p->name))
		return -1;
	snprintf(p->name, sizeof(p->name), "%s", slash + 1);
	if ((p->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
	    inotify_add_watch(p->ifd, dir, PROBE_EVENTS) < 0) {
		fprintf(stderr, "sock-probe: inotify on %s: %s\n", dir,
		        strerror(errno));
		return -1;
	}
	return 0;
}

/* probe_event - one event of the directory: PATH appears or changes. */
static void
probe_event(struct probe *p, const struct inotify_event *ev)
{
	struct stat sb;

	if (ev->len == 0 || strcmp(ev->name, p->name) != 0)
		return;
	if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) != 0 && !p->appeared) {
		p->appeared = true;
		if (lstat(p->path, &p->first) != 0)
			memset(&p->first, 0, sizeof(p->first));
		printf("first mode=%o uid=%ld gid=%ld\n",
		       (unsigned)(p->first.st_mode & 07777),
		       (long)p->first.st_uid, (long)p->first.st_gid);
		return;
	}
	if ((ev->mask & IN_ATTRIB) != 0 && p->appeared) {
		p->changed++;
		if (lstat(p->path, &sb) == 0)
			printf("changed: mode=%o uid=%ld gid=%ld\n",
			       (unsigned)(sb.st_mode & 07777), (long)sb.st_uid,
			       (long)sb.st_gid);
		else
			printf("changed: %s\n", strerror(errno));
	}
}

/* probe_drain - read every pending event of the directory. */
static void
probe_drain(struct probe *p)
{
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n, off;

	while ((n = read(p->ifd, buf, sizeof(buf))) > 0)
		for (off = 0; off < n;) {
			const struct inotify_event *ev =
			    (const struct inotify_event *)(buf + off);

			probe_event(p, ev);
			off += (ssize_t)sizeof(*ev) + ev->len;
		}
}

/* probe_connect - one attempt: 0 accepted, else the errno. */
static int
probe_connect(const struct sockaddr_un *sun)
{
	int fd, err = 0;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return errno;
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) != 0)
		err = errno;
	close(fd);
	return err;
}

/* probe_run - connect until accepted or the deadline; the exit status. */
static int
probe_run(struct probe *p, int timeout)
{
	struct sockaddr_un sun;
	struct pollfd pfd;
	long long end = probe_now_ms() + (long long)timeout * 1000;
	int err;

	if (probe_addr(p->path, &sun) != 0) {
		fprintf(stderr, "sock-probe: %s: path too long\n", p->path);
		return PROBE_EXIT_USAGE;
	}
	if (probe_watch(p) != 0)
		return PROBE_EXIT_ERROR;
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		probe_drain(p);
		if (probe_now_ms() > end) {
			printf("timeout\n");
			return PROBE_EXIT_ERROR;
		}
		err = probe_connect(&sun);
		if (err == 0)
			break;
		if (err == ENOENT) {
			pfd.fd = p->ifd;
			pfd.events = POLLIN;
			poll(&pfd, 1, PROBE_IDLE_MS);
		} else if (err == ECONNREFUSED || err == EAGAIN ||
		           err == EINTR) {
			sched_yield();
		} else if (p->refused++ < PROBE_SHOW_MAX) {
			printf("refused: %s\n", strerror(err));
		}
	}
	/*
	 * A change queued before the connection counts too.  The kernel
	 * makes a renamed name visible before it queues the rename's
	 * event, so a connection can win the race to it: wait for the
	 * event of the socket just connected to.
	 */
	probe_drain(p);
	while (!p->appeared) {
		long long left = end - probe_now_ms();

		if (left <= 0) {
			printf("timeout: connected, no event for %s\n",
			       p->name);
			return PROBE_EXIT_ERROR;
		}
		pfd.fd = p->ifd;
		pfd.events = POLLIN;
		poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
		probe_drain(p);
	}
	if (p->refused > 0)
		printf("refused %d times\n", p->refused);
	printf("connected\n");
	return p->refused > 0 || p->changed > 0 ? PROBE_EXIT_REFUSED
	                                        : PROBE_EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct probe p = {.ifd = -1};
	int c, timeout = PROBE_TIMEOUT_DEFAULT, rc;
	bool bind_only = false;
	char *end;

	while ((c = getopt(argc, argv, "bt:")) != -1) {
		switch (c) {
		case 'b':
			bind_only = true;
			break;
		case 't':
			errno = 0;
			timeout = (int)strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || timeout <= 0 ||
			    timeout > PROBE_TIMEOUT_MAX) {
				fputs(probe_usage, stderr);
				return PROBE_EXIT_USAGE;
			}
			break;
		default:
			fputs(probe_usage, stderr);
			return PROBE_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(probe_usage, stderr);
		return PROBE_EXIT_USAGE;
	}
	if (bind_only)
		return probe_bind(argv[optind]);
	p.path = argv[optind];
	rc = probe_run(&p, timeout);
	fflush(stdout);
	return rc;
}
