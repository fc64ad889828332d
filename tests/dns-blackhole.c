/*
 * dns-blackhole - a DNS server on loopback that never answers.
 *
 * SYNOPSIS
 *	dns-blackhole PORTFILE
 *
 * DESCRIPTION
 *	Binds UDP and TCP on 127.0.0.1, on one port the kernel picks (UDP
 *	first, then TCP on the same port, retrying when that port is taken
 *	for TCP), writes the port number and a newline to PORTFILE (through
 *	a temporary file and rename(), so a reader never sees half of it),
 *	then reads queries and drops them, accepting TCP connections and
 *	holding them open without a reply, until it is killed.  Integration
 *	tests use it to show that a silent server yields a timeout within
 *	the configured deadline.
 *
 * DIAGNOSTICS
 *	Exit status 1 with a message on stderr when setup fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BLACKHOLE_BIND_TRIES 100
#define BLACKHOLE_CONN_MAX 64 /* TCP connections held at once */
#define BLACKHOLE_PATH_MAX 4096

/* blackhole_die - report a setup failure and exit. */
static void
blackhole_die(const char *what)
{
	fprintf(stderr, "dns-blackhole: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* blackhole_bind - a socket of type bound to 127.0.0.1:port; -1 if taken. */
static int
blackhole_bind(int type, unsigned short port, unsigned short *bound)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	if ((fd = socket(AF_INET, type, 0)) < 0)
		blackhole_die("socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		if (errno != EADDRINUSE)
			blackhole_die("bind");
		close(fd);
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		blackhole_die("getsockname");
	*bound = ntohs(sin.sin_port);
	return fd;
}

/* blackhole_write_port - PORTFILE gets the port, atomically. */
static void
blackhole_write_port(const char *path, unsigned short port)
{
	char tmp[BLACKHOLE_PATH_MAX];
	FILE *fp;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		blackhole_die(path);
	}
	if ((fp = fopen(tmp, "w")) == NULL)
		blackhole_die(tmp);
	fprintf(fp, "%u\n", (unsigned)port);
	if (fclose(fp) != 0)
		blackhole_die(tmp);
	if (rename(tmp, path) < 0)
		blackhole_die(path);
}

/* blackhole_serve - drop every datagram, hold every connection. */
static void
blackhole_serve(int udp, int tcp)
{
	struct pollfd fds[2 + BLACKHOLE_CONN_MAX];
	nfds_t n = 2, i;
	char buf[65536];

	fds[0].fd = udp;
	fds[1].fd = tcp;
	fds[0].events = fds[1].events = POLLIN;
	for (;;) {
		/* when full, leave new connections in the listen queue */
		fds[1].events = n < 2 + BLACKHOLE_CONN_MAX ? POLLIN : 0;
		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			blackhole_die("poll");
		}
		if (fds[0].revents & POLLIN)
			(void)recv(udp, buf, sizeof(buf), 0);
		if (fds[1].revents & POLLIN) {
			int c = accept(tcp, NULL, NULL);

			if (c >= 0) {
				fds[n].fd = c;
				fds[n++].events = POLLIN;
			}
		}
		for (i = 2; i < n; i++) {
			if (fds[i].revents == 0)
				continue;
			/* read and drop; close only when the peer does */
			if (read(fds[i].fd, buf, sizeof(buf)) <= 0) {
				close(fds[i].fd);
				fds[i--] = fds[--n];
			}
		}
	}
}

int
main(int argc, char **argv)
{
	unsigned short port = 0, tport = 0;
	int udp = -1, tcp = -1, i;

	if (argc != 2) {
		fprintf(stderr, "usage: dns-blackhole PORTFILE\n");
		return 2;
	}
	for (i = 0; i < BLACKHOLE_BIND_TRIES && tcp < 0; i++) {
		if (udp >= 0)
			close(udp);
		udp = blackhole_bind(SOCK_DGRAM, 0, &port);
		if (udp < 0)
			continue;
		tcp = blackhole_bind(SOCK_STREAM, port, &tport);
	}
	if (tcp < 0) {
		errno = EADDRINUSE;
		blackhole_die("no port free for both UDP and TCP");
	}
	if (listen(tcp, 16) < 0)
		blackhole_die("listen");
	blackhole_write_port(argv[1], port);
	blackhole_serve(udp, tcp);
	return 0;
}
