/*
 * subprocess.c - run an external program without a shell; see subprocess.h.
 *
 * SYNOPSIS
 *	int subprocess_run(argv, input, inlen, timeout_ms, err, errlen);
 *	int subprocess_lines(argv, cb, ctx, line_max, skipped, timeout_ms,
 *	    err, errlen);
 *	int subprocess_split(words, argv, maxargs);
 *
 * DESCRIPTION
 *	The child gets stdin from a pipe we write the input to, stdout on
 *	/dev/null, stderr on a pipe we read (bounded), and the environment
 *	PATH=/usr/sbin:/usr/bin:/sbin:/bin only.  SIGPIPE is blocked in the
 *	calling thread while writing, so a child that exits early gives
 *	EPIPE, not a dead daemon, and a pending SIGPIPE is consumed before
 *	the mask is restored.
 *
 *	subprocess_lines() gives the child /dev/null as stdin and reads its
 *	stdout into a buffer of line_max octets, handing each complete line
 *	to the caller; output of any length is read in bounded memory.
 *
 * DIAGNOSTICS
 *	Every failure is a sentence in err: not executable, killed by signal
 *	N, timed out after N ms, or the child's first stderr line.
 */
#include "subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sanitize.h"
#include "text.h"

static char *const subprocess_env[] = {
    "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
    NULL,
};

/* subprocess_std - stream fd of the child from fd, or /dev/null (-1). */
static void
subprocess_std(posix_spawn_file_actions_t *fa, int stream, int fd)
{
	if (fd >= 0)
		posix_spawn_file_actions_adddup2(fa, fd, stream);
	else
		posix_spawn_file_actions_addopen(
		    fa, stream, "/dev/null",
		    stream == STDIN_FILENO ? O_RDONLY : O_WRONLY, 0);
}

/*
 * subprocess_start - posix_spawn with stdin, stdout and stderr on the given
 * descriptors (-1: /dev/null); pid or -1.  Every pipe is O_CLOEXEC, so the
 * parent's ends never reach the child.
 */
static pid_t
subprocess_start(const char *const *argv, int in, int out, int errfd, char *err,
                 size_t errlen)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	subprocess_std(&fa, STDIN_FILENO, in);
	subprocess_std(&fa, STDOUT_FILENO, out);
	subprocess_std(&fa, STDERR_FILENO, errfd);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv,
	                 subprocess_env);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		snprintf(err, errlen, "cannot run %s: %s", argv[0],
		         strerror(rc));
		return -1;
	}
	return pid;
}

/* Reading a child's stdout line by line. */
struct subprocess_reader {
	subprocess_line_cb cb;
	void *ctx;
	char *line; /* line_max octets */
	size_t line_max;
	size_t used;
	bool overlong; /* the current line is being skipped */
	size_t *skipped;
};

/* subprocess_take - split what was read into lines for the callback. */
static void
subprocess_take(struct subprocess_reader *rd, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (rd->overlong)
				(*rd->skipped)++;
			else
				rd->cb(rd->ctx, rd->line, rd->used);
			rd->used = 0;
			rd->overlong = false;
		} else if (rd->overlong) {
			continue;
		} else if (rd->used == rd->line_max) {
			rd->overlong = true;
		} else {
			rd->line[rd->used++] = buf[i];
		}
	}
}

/* subprocess_drain - read stdout and stderr until both close or late. */
static int
subprocess_drain(int outfd, int errfd, struct subprocess_reader *rd,
                 long long deadline, char *captured, size_t caplen)
{
	int fds[2] = {outfd, errfd};
	size_t got = 0;
	int open_fds = 2;

	while (open_fds > 0) {
		struct pollfd pfd[2];
		int n = 0, wait_ms = (int)(deadline - (long long)text_now_ms());

		if (wait_ms <= 0)
			return -1;
		for (int k = 0; k < 2; k++)
			if (fds[k] >= 0) {
				pfd[n].fd = fds[k];
				pfd[n++].events = POLLIN;
			}
		if (poll(pfd, (nfds_t)n, wait_ms) < 0) {
			if (errno == EINTR)
				continue; /* revents were not set */
			return -1;
		}
		for (int k = 0; k < n; k++) {
			char buf[4096];
			ssize_t r;

			if (pfd[k].revents == 0)
				continue;
			r = read(pfd[k].fd, buf, sizeof(buf));
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				fds[pfd[k].fd == outfd ? 0 : 1] = -1;
				open_fds--;
			} else if (pfd[k].fd == outfd) {
				subprocess_take(rd, buf, (size_t)r);
			} else if (got + 1 < caplen) {
				size_t c = (size_t)r < caplen - 1 - got
				               ? (size_t)r
				               : caplen - 1 - got;

				memcpy(captured + got, buf, c);
				got += c;
			}
		}
	}
	if (rd->used > 0 && !rd->overlong)
		rd->cb(rd->ctx, rd->line, rd->used); /* no final newline */
	else if (rd->overlong)
		(*rd->skipped)++;
	captured[got] = '\0';
	return 0;
}

/* subprocess_status - the outcome of a reaped child as subprocess_run
 * reports it. */
static int
subprocess_status(const char *prog, int status, char *captured, char *err,
                  size_t errlen)
{
	if (WIFSIGNALED(status)) {
		snprintf(err, errlen, "%s was killed by signal %d", prog,
		         WTERMSIG(status));
		return -1;
	}
	captured[strcspn(captured, "\r\n")] = '\0';
	if (WEXITSTATUS(status) != 0) {
		char shown[SUBPROCESS_STDERR_MAX];

		sanitize_text(shown, sizeof(shown),
		              (const unsigned char *)captured,
		              strlen(captured));
		snprintf(err, errlen, "%s exited with status %d%s%s", prog,
		         WEXITSTATUS(status), shown[0] ? ": " : "", shown);
	}
	return WEXITSTATUS(status);
}

/* subprocess_feed - write input, read stderr, until both are done or
 * late; closes infd.  0 done; 1 the child stopped reading before the end
 * of its input; -1 late. */
static int
subprocess_feed(int infd, int errfd, const char *input, size_t inlen,
                long long deadline, char *captured, size_t caplen)
{
	size_t off = 0, got = 0;
	int open_in = 1, open_err = 1, cut = 0;

	/* Until stdin is all written too: a child may close its stderr
	 * early and still read the rest of its input. */
	while (open_err || open_in) {
		struct pollfd pfd[2];
		int n = 0, wait_ms = (int)(deadline - (long long)text_now_ms());

		if (wait_ms <= 0)
			break;
		pfd[n].fd = open_err ? errfd : -1; /* -1: poll ignores it */
		pfd[n++].events = POLLIN;
		if (open_in) {
			pfd[n].fd = infd;
			pfd[n++].events = POLLOUT;
		}
		if (poll(pfd, (nfds_t)n, wait_ms) < 0) {
			if (errno == EINTR)
				continue; /* revents were not set */
			break;
		}
		if (open_in && pfd[1].revents) {
			ssize_t w = off < inlen
			                ? write(infd, input + off, inlen - off)
			                : 0;

			if (w > 0)
				off += (size_t)w;
			if (w < 0 && errno != EAGAIN && errno != EINTR) {
				cut = 1; /* EPIPE: the child is gone */
				off = inlen;
			}
			if (off >= inlen) {
				close(infd);
				open_in = 0;
			}
		}
		if (open_err && pfd[0].revents) {
			char buf[256];
			ssize_t r = read(errfd, buf, sizeof(buf));

			if (r <= 0) {
				open_err = 0;
			} else if (got + 1 < caplen) {
				size_t k = (size_t)r < caplen - 1 - got
				               ? (size_t)r
				               : caplen - 1 - got;

				memcpy(captured + got, buf, k);
				got += k;
			}
		}
	}
	if (open_in)
		close(infd);
	captured[got] = '\0';
	return open_err || open_in ? -1 : cut;
}

/* subprocess_reap - wait for the child until the deadline; kill it after. */
static int
subprocess_reap(pid_t pid, long long deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if ((long long)text_now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return -1;
		}
		usleep(10000);
	}
}

int
subprocess_run(const char *const *argv, const char *input, size_t inlen,
               int timeout_ms, char *err, size_t errlen)
{
	char captured[SUBPROCESS_STDERR_MAX];
	long long deadline = (long long)text_now_ms() + timeout_ms;
	int in[2], errp[2], status = 0, fed, reaped;
	sigset_t pipe_set, old_set;
	struct timespec zero = {0, 0};
	pid_t pid;

	if (argv == NULL || argv[0] == NULL || argv[0][0] != '/') {
		snprintf(err, errlen, "the program must be an absolute path");
		return -1;
	}
	if (pipe2(in, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(errp, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		return -1;
	}
	pid = subprocess_start(argv, in[0], -1, errp[1], err, errlen);
	close(in[0]);
	close(errp[1]);
	if (pid < 0) {
		close(in[1]);
		close(errp[0]);
		return -1;
	}
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
	fed = subprocess_feed(in[1], errp[0], input, inlen, deadline, captured,
	                      sizeof(captured));
	while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
		;
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	close(errp[0]);
	reaped = subprocess_reap(
	    pid, fed >= 0 ? deadline : (long long)text_now_ms(), &status);
	if (fed < 0 || reaped != 0) {
		snprintf(err, errlen, "%s did not finish within %d ms; killed",
		         argv[0], timeout_ms);
		return -1;
	}
	if (fed == 1 && !WIFSIGNALED(status) && WEXITSTATUS(status) == 0) {
		/* exit 0 says nothing about the input it never read */
		snprintf(err, errlen,
		         "%s exited before reading all of its input", argv[0]);
		return -1;
	}
	return subprocess_status(argv[0], status, captured, err, errlen);
}

int
subprocess_lines(const char *const *argv, subprocess_line_cb cb, void *ctx,
                 size_t line_max, size_t *skipped, int timeout_ms, char *err,
                 size_t errlen)
{
	char captured[SUBPROCESS_STDERR_MAX];
	long long deadline = (long long)text_now_ms() + timeout_ms;
	struct subprocess_reader rd = {cb, ctx,   NULL,   line_max,
	                               0,  false, skipped};
	int out[2], errp[2], status = 0, drained, reaped;
	pid_t pid;

	*skipped = 0;
	if (argv == NULL || argv[0] == NULL || argv[0][0] != '/') {
		snprintf(err, errlen, "the program must be an absolute path");
		return -1;
	}
	if (line_max == 0 || (rd.line = malloc(line_max)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free(rd.line);
		return -1;
	}
	if (pipe2(errp, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(out[0]);
		close(out[1]);
		free(rd.line);
		return -1;
	}
	pid = subprocess_start(argv, -1, out[1], errp[1], err, errlen);
	close(out[1]);
	close(errp[1]);
	if (pid < 0) {
		close(out[0]);
		close(errp[0]);
		free(rd.line);
		return -1;
	}
	drained = subprocess_drain(out[0], errp[0], &rd, deadline, captured,
	                           sizeof(captured));
	close(out[0]);
	close(errp[0]);
	free(rd.line);
	reaped = subprocess_reap(
	    pid, drained == 0 ? deadline : (long long)text_now_ms(), &status);
	if (drained != 0 || reaped != 0) {
		snprintf(err, errlen, "%s did not finish within %d ms; killed",
		         argv[0], timeout_ms);
		return -1;
	}
	return subprocess_status(argv[0], status, captured, err, errlen);
}

int
subprocess_split(char *words, const char **argv, size_t maxargs)
{
	size_t n = 0;
	char *save = NULL, *w;

	for (w = strtok_r(words, " \t", &save); w != NULL;
	     w = strtok_r(NULL, " \t", &save)) {
		if (n + 1 >= maxargs)
			return -1;
		argv[n++] = w;
	}
	argv[n] = NULL;
	if (n == 0 || argv[0][0] != '/')
		return -1;
	return (int)n;
}
