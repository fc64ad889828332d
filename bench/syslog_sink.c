/*
 * syslog_sink.c - a syslog socket that counts and discards datagrams.
 *
 * SYNOPSIS
 *	syslog_sink PATH COUNTFILE [STRING KEEPFILE]
 *
 * DESCRIPTION
 *	For benchmarks on a machine without a syslog daemon: binds a
 *	datagram socket at PATH (normally /dev/log, mode 0666), reads
 *	datagrams in batches of SINK_BATCH with recvmmsg(2) and counts
 *	them.  On SIGTERM or SIGINT it writes the count to COUNTFILE and
 *	exits 0.  It costs about what the socket input of a syslog daemon
 *	costs before parsing and writing: the lower bound of logging, so
 *	that a benchmark charges the program being measured for the lines it
 *	sends and not for a slow reader.
 *
 *	With STRING and KEEPFILE, a datagram that contains STRING is also
 *	appended to KEEPFILE at once (bench_postfix.sh keeps the policy
 *	door's event=policy-stats line so); the others are only counted.
 *
 * EXIT STATUS
 *	0 after a signal, 1 on a setup error (PATH exists, no permission).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SINK_BATCH 64
#define SINK_LINE_MAX 8192
#define SINK_RCVBUF (4 << 20)

static volatile sig_atomic_t sink_stop;

static void
sink_on_signal(int sig)
{
	(void)sig;
	sink_stop = 1;
}

int
main(int argc, char **argv)
{
	static char bufs[SINK_BATCH][SINK_LINE_MAX];
	struct mmsghdr msgs[SINK_BATCH];
	struct iovec iov[SINK_BATCH];
	struct sockaddr_un sun;
	struct sigaction sa;
	unsigned long long count = 0;
	int fd, rcvbuf = SINK_RCVBUF, n;
	FILE *out, *keep = NULL;

	if (argc != 3 && argc != 5) {
		fprintf(stderr,
		    "usage: syslog_sink PATH COUNTFILE [STRING KEEPFILE]\n");
		return 1;
	}
	if (argc == 5 && (keep = fopen(argv[4], "a")) == NULL) {
		fprintf(stderr, "syslog_sink: %s: %s\n", argv[4],
		    strerror(errno));
		return 1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "syslog_sink: %s: path too long\n", argv[1]);
		return 1;
	}
	memcpy(sun.sun_path, argv[1], strlen(argv[1]) + 1);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(argv[1], 0666) != 0) {
		fprintf(stderr, "syslog_sink: %s: %s\n", argv[1],
		    strerror(errno));
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sink_on_signal; /* no SA_RESTART: recvmmsg returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < SINK_BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (!sink_stop) {
		n = recvmmsg(fd, msgs, SINK_BATCH, MSG_WAITFORONE, NULL);
		if (n > 0)
			count += (unsigned long long)n;
		for (int i = 0; keep != NULL && i < n; i++) {
			if (memmem(bufs[i], msgs[i].msg_len, argv[3],
			        strlen(argv[3])) == NULL)
				continue;
			fwrite(bufs[i], 1, msgs[i].msg_len, keep);
			fputc('\n', keep);
			fflush(keep);
		}
		if (n < 0 && errno != EINTR)
			break;
	}
	close(fd);
	if ((out = fopen(argv[2], "w")) == NULL) {
		fprintf(stderr, "syslog_sink: %s: %s\n", argv[2],
		    strerror(errno));
		return 1;
	}
	fprintf(out, "%llu\n", count);
	return fclose(out) == 0 ? 0 : 1;
}
