/*
 * dns-blackhole.c - a DNS server on loopback that never answers.
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
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lo-listen.h"

#define BLACKHOLE_CONN_MAX 64 /* TCP connections held at once */

/* blackhole_die - report a setup failure and exit. */
static void
blackhole_die(const char *what)
{
	fprintf(stderr, "dns-blackhole: %s: %s\n", what, strerror(errno));
	exit(1);
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
	unsigned short port;
	int udp, tcp;

	if (argc != 2) {
		fprintf(stderr, "usage: dns-blackhole PORTFILE\n");
		return 2;
	}
	port = lo_listen_pair("dns-blackhole", &udp, &tcp);
	lo_write_port("dns-blackhole", argv[1], port);
	blackhole_serve(udp, tcp);
	return 0;
}
