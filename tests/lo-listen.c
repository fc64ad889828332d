/*
 * lo-listen.c - UDP and TCP on one free loopback port, and the port file;
 * see lo-listen.h.
 *
 * SYNOPSIS
 *	See lo-listen.h.
 */
#include "lo-listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LO_BIND_TRIES 100 /* ports tried for a free UDP+TCP pair */
#define LO_PATH_MAX 4096
#define LO_BACKLOG 16

/* lo_die - report a setup failure and exit. */
static void
lo_die(const char *prog, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

/* lo_bind - a socket of type bound to 127.0.0.1:port; -1 if taken. */
static int
lo_bind(const char *prog, int type, unsigned short port, unsigned short *bound)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	if ((fd = socket(AF_INET, type, 0)) < 0)
		lo_die(prog, "socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		if (errno != EADDRINUSE)
			lo_die(prog, "bind");
		close(fd);
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		lo_die(prog, "getsockname");
	*bound = ntohs(sin.sin_port);
	return fd;
}

unsigned short
lo_listen_pair(const char *prog, int *udp, int *tcp)
{
	unsigned short port = 0, tport = 0;

	*udp = *tcp = -1;
	for (int i = 0; i < LO_BIND_TRIES && *tcp < 0; i++) {
		if (*udp >= 0)
			close(*udp);
		/* the kernel picks the UDP port; TCP must get the same */
		if ((*udp = lo_bind(prog, SOCK_DGRAM, 0, &port)) >= 0)
			*tcp = lo_bind(prog, SOCK_STREAM, port, &tport);
	}
	if (*tcp < 0) {
		errno = EADDRINUSE;
		lo_die(prog, "no port free for both UDP and TCP");
	}
	if (listen(*tcp, LO_BACKLOG) < 0)
		lo_die(prog, "listen");
	return port;
}

void
lo_write_port(const char *prog, const char *path, unsigned short port)
{
	char tmp[LO_PATH_MAX];
	FILE *fp;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		lo_die(prog, path);
	}
	if ((fp = fopen(tmp, "w")) == NULL)
		lo_die(prog, tmp);
	fprintf(fp, "%u\n", (unsigned)port);
	if (fclose(fp) != 0)
		lo_die(prog, tmp);
	if (rename(tmp, path) < 0)
		lo_die(prog, path);
}
