/*
 * http_load.c - keep-alive HTTP/1.1 GET load: requests per second.
 *
 * SYNOPSIS
 *	http_load [-H HEADER] -c CONNS -t SECONDS PORT PATH
 *
 * DESCRIPTION
 *	CONNS threads, each with one keep-alive connection to
 *	127.0.0.1:PORT, send "GET PATH" (with the extra HEADER line, e.g.
 *	an Authorization) and read the answer (status line, headers,
 *	Content-Length octets of body) in a loop for SECONDS.  Every answer
 *	must be 200, or the run stops with exit 1: an error is never
 *	measured as speed.  Prints "requests N seconds S rate R".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOAD_BUF 65536
#define LOAD_CONNS_MAX 1024

static char request[4096];
static size_t request_len;
static int port;
static atomic_bool stop;
static atomic_bool failed;
static atomic_ulong done;

/* load_connect - a TCP connection to the port, Nagle off. */
static int
load_connect(void)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return fd;
}

/* load_answer - read one answer; 0 for a 200, -1 otherwise. */
static int
load_answer(int fd, char *buf)
{
	size_t have = 0, need = 0, head = 0;
	char *end, *cl;
	ssize_t n;

	for (;;) {
		if (head == 0 && have > 0 && (end = strstr(buf, "\r\n\r\n"))) {
			head = (size_t)(end - buf) + 4;
			if (strncmp(buf, "HTTP/1.1 200", 12) != 0)
				return -1;
			cl = strcasestr(buf, "\r\ncontent-length:");
			if (cl == NULL || cl > end)
				return -1;
			need = head + strtoul(cl + 17, NULL, 10);
		}
		if (head != 0 && have >= need)
			return 0;
		if (have >= LOAD_BUF - 1)
			return -1;
		n = read(fd, buf + have, LOAD_BUF - 1 - have);
		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
	}
}

/* load_main - one connection's loop. */
static void *
load_main(void *arg)
{
	char *buf = malloc(LOAD_BUF);
	int fd = load_connect();

	(void)arg;
	if (fd < 0 || buf == NULL) {
		failed = true;
		free(buf);
		return NULL;
	}
	while (!stop) {
		if (write(fd, request, request_len) != (ssize_t)request_len ||
		    load_answer(fd, buf) != 0) {
			failed = true;
			break;
		}
		atomic_fetch_add(&done, 1);
	}
	close(fd);
	free(buf);
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t th[LOAD_CONNS_MAX];
	const char *header = NULL;
	int c, conns = 1, seconds = 3, i;
	struct timespec t0, t1;
	double s;

	while ((c = getopt(argc, argv, "H:c:t:")) != -1) {
		if (c == 'H')
			header = optarg;
		else if (c == 'c')
			conns = atoi(optarg);
		else if (c == 't')
			seconds = atoi(optarg);
		else
			return 64;
	}
	if (argc - optind != 2 || conns < 1 || conns > LOAD_CONNS_MAX ||
	    seconds < 1) {
		fprintf(stderr, "usage: http_load [-H HEADER] -c CONNS -t "
		                "SECONDS PORT PATH\n");
		return 64;
	}
	port = atoi(argv[optind]);
	request_len = (size_t)snprintf(
	    request, sizeof(request),
	    "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s\r\n", argv[optind + 1],
	    header ? header : "", header ? "\r\n" : "");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < conns; i++)
		pthread_create(&th[i], NULL, load_main, NULL);
	sleep((unsigned)seconds);
	stop = true;
	for (i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (failed) {
		fprintf(stderr,
		        "http_load: a request failed or was not 200 "
		        "(after %lu)\n",
		        (unsigned long)done);
		return 1;
	}
	printf("requests %lu seconds %.3f rate %.1f\n", (unsigned long)done, s,
	       (double)done / s);
	return 0;
}
