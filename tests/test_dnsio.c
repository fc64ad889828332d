/*
 * test_dnsio.c - the batched c-ares socket functions against real
 * loopback sockets: queries held until a flush and sent in order,
 * answers read in batches with their source address, a send error kept
 * for the next read, a full queue, a kernel that takes only part of a
 * batch, oversized queries, TCP straight through.
 *
 * SYNOPSIS
 *	make check TESTS=tests/test_dnsio
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "dnsio.h"

static const struct ares_socket_functions *fn;

/* udp_server - a UDP socket bound to 127.0.0.1 on a free port. */
static int
udp_server(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)addr, &len), 0);
	return fd;
}

/* client - a dnsio UDP socket connected to addr. */
static int
client(struct dnsio *io, const struct sockaddr_in *addr)
{
	int fd = (int)fn->asocket(AF_INET, SOCK_DGRAM, 0, io);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(
	    fn->aconnect(fd, (const struct sockaddr *)addr, sizeof(*addr), io),
	    0);
	return fd;
}

/* send_text - one query through asendv, in two iovecs. */
static ssize_t
send_text(struct dnsio *io, int fd, const char *text)
{
	size_t half = strlen(text) / 2;
	struct iovec iov[2] = {
	    {(void *)text, half},
	    {(void *)(text + half), strlen(text) - half},
	};

	return fn->asendv(fd, iov, 2, io);
}

/* recv_now - one datagram waiting on fd, or -1 when none arrives. */
static ssize_t
recv_now(int fd, char *buf, size_t len, int wait_ms)
{
	struct pollfd p = {fd, POLLIN, 0};

	if (poll(&p, 1, wait_ms) <= 0)
		return -1;
	return recv(fd, buf, len, MSG_DONTWAIT);
}

/* readable - fd has something to read within wait_ms: 0, else -1. */
static int
readable(int fd, int wait_ms)
{
	struct pollfd p = {fd, POLLIN, 0};

	return poll(&p, 1, wait_ms) == 1 ? 0 : -1;
}

START_TEST(test_send_held_until_flush)
{
	struct dnsio *io = dnsio_new(1 << 20);
	struct sockaddr_in addr;
	int srv = udp_server(&addr), fd = client(io, &addr), failed[4];
	char buf[64], want[16];

	for (int i = 0; i < 3; i++) {
		snprintf(want, sizeof(want), "query-%d", i);
		ck_assert_int_eq(send_text(io, fd, want), (int)strlen(want));
	}
	ck_assert_int_eq(recv_now(srv, buf, sizeof(buf), 50), -1);
	ck_assert_uint_eq(dnsio_flush(io, failed, 4), 0);
	for (int i = 0; i < 3; i++) {
		ssize_t n = recv_now(srv, buf, sizeof(buf), 1000);

		snprintf(want, sizeof(want), "query-%d", i);
		ck_assert_int_eq(n, (int)strlen(want));
		ck_assert_int_eq(memcmp(buf, want, (size_t)n), 0);
	}
	ck_assert_uint_eq(dnsio_flush(io, failed, 4), 0); /* nothing left */
	ck_assert_int_eq(recv_now(srv, buf, sizeof(buf), 50), -1);
	ck_assert_int_eq(fn->aclose(fd, io), 0);
	close(srv);
	dnsio_free(io);
}
END_TEST

START_TEST(test_full_queue_and_oversized)
{
	struct dnsio *io = dnsio_new(0);
	struct sockaddr_in addr;
	int srv = udp_server(&addr), fd = client(io, &addr), failed[4];
	char buf[DNSIO_QUERY_MAX + 64], big[DNSIO_QUERY_MAX + 2];
	int got = 0;

	for (int i = 0; i < DNSIO_BATCH; i++)
		ck_assert_int_eq(send_text(io, fd, "q"), 1);
	ck_assert_int_eq(recv_now(srv, buf, sizeof(buf), 50), -1);
	/* the 65th flushes the 64 before it is queued */
	ck_assert_int_eq(send_text(io, fd, "last"), 4);
	while (recv_now(srv, buf, sizeof(buf), 200) == 1)
		got++;
	ck_assert_int_eq(got, DNSIO_BATCH);
	/* larger than a queue slot: sent at once, after what is queued */
	memset(big, 'B', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(send_text(io, fd, big), (int)strlen(big));
	ck_assert_int_eq(recv_now(srv, buf, sizeof(buf), 1000), 4);
	ck_assert_int_eq(memcmp(buf, "last", 4), 0);
	ck_assert_int_eq(recv_now(srv, buf, sizeof(buf), 1000),
	                 (int)strlen(big));
	ck_assert_uint_eq(dnsio_flush(io, failed, 4), 0);
	fn->aclose(fd, io);
	close(srv);
	dnsio_free(io);
}
END_TEST

START_TEST(test_receive_batches)
{
	struct dnsio *io = dnsio_new(1 << 20);
	struct sockaddr_in addr, from, cl;
	socklen_t len = sizeof(cl);
	int srv = udp_server(&addr), fd = client(io, &addr);
	const int count = DNSIO_BATCH + DNSIO_BATCH / 2 + 3;
	char buf[DNSIO_ANSWER_MAX + 16], want[16], big[DNSIO_ANSWER_MAX + 100];
	ares_socklen_t flen;
	int ready[4];
	ssize_t n;

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&cl, &len), 0);
	for (int i = 0; i < count; i++) {
		snprintf(want, sizeof(want), "answer-%d", i);
		ck_assert_int_eq(sendto(srv, want, strlen(want), 0,
		                        (struct sockaddr *)&cl, sizeof(cl)),
		                 (ssize_t)strlen(want));
	}
	ck_assert_int_eq(readable(fd, 1000), 0);
	for (int i = 0; i < count; i++) {
		memset(&from, 0, sizeof(from));
		flen = sizeof(from);
		n = fn->arecvfrom(fd, buf, sizeof(buf), 0,
		                  (struct sockaddr *)&from, &flen, io);
		snprintf(want, sizeof(want), "answer-%d", i);
		ck_assert_int_eq(n, (int)strlen(want));
		ck_assert_int_eq(memcmp(buf, want, (size_t)n), 0);
		ck_assert_uint_eq(flen, sizeof(struct sockaddr_in));
		ck_assert_uint_eq(from.sin_port, addr.sin_port);
		ck_assert_uint_eq(from.sin_addr.s_addr, addr.sin_addr.s_addr);
		if (i == 0) {
			/* the rest of the batch waits in dnsio, where poll()
			 * cannot see it: flush names the socket */
			ck_assert_uint_eq(dnsio_flush(io, ready, 4), 1);
			ck_assert_int_eq(ready[0], fd);
		}
	}
	ck_assert_uint_eq(dnsio_flush(io, ready, 4), 0);
	errno = 0;
	ck_assert_int_eq(fn->arecvfrom(fd, buf, sizeof(buf), 0, NULL, NULL, io),
	                 -1);
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);

	/* a short buffer gets the part that fits, as recvfrom(2) would;
	 * a datagram larger than a batch slot is cut at the slot */
	ck_assert_int_eq(sendto(srv, "0123456789", 10, 0,
	                        (struct sockaddr *)&cl, sizeof(cl)),
	                 10);
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(sendto(srv, big, sizeof(big), 0,
	                        (struct sockaddr *)&cl, sizeof(cl)),
	                 (ssize_t)sizeof(big));
	ck_assert_int_eq(readable(fd, 1000), 0);
	ck_assert_int_eq(fn->arecvfrom(fd, buf, 4, 0, NULL, NULL, io), 4);
	ck_assert_int_eq(memcmp(buf, "0123", 4), 0);
	/* the second may be in this batch or still in the kernel */
	if (dnsio_flush(io, ready, 4) == 0)
		ck_assert_int_eq(readable(fd, 1000), 0);
	ck_assert_int_eq(fn->arecvfrom(fd, buf, sizeof(buf), 0, NULL, NULL, io),
	                 DNSIO_ANSWER_MAX);
	fn->aclose(fd, io);
	close(srv);
	dnsio_free(io);
}
END_TEST

START_TEST(test_send_error_kept_for_read)
{
	struct dnsio *io = dnsio_new(0);
	struct sockaddr_in addr;
	int srv = udp_server(&addr), fd, failed[4] = {-1, -1, -1, -1};
	char buf[64];
	size_t nfailed = 0;

	close(srv); /* nobody listens: ICMP port unreachable */
	fd = client(io, &addr);
	/* the first datagram goes; the refusal is reported on a later
	 * system call of the socket */
	for (int tries = 0; tries < 50 && nfailed == 0; tries++) {
		ck_assert_int_eq(send_text(io, fd, "query"), 5);
		nfailed = dnsio_flush(io, failed, 4);
		if (nfailed == 0)
			usleep(10000);
	}
	ck_assert_uint_eq(nfailed, 1);
	ck_assert_int_eq(failed[0], fd);
	errno = 0;
	ck_assert_int_eq(fn->arecvfrom(fd, buf, sizeof(buf), 0, NULL, NULL, io),
	                 -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	/* reported once */
	ck_assert_uint_eq(dnsio_flush(io, failed, 4), 0);
	fn->aclose(fd, io);
	dnsio_free(io);
}
END_TEST

START_TEST(test_partial_send_kept_queued)
{
	struct dnsio *io = dnsio_new(0);
	struct sockaddr_un sun;
	char path[] = "/tmp/test_dnsio.XXXXXX", query[DNSIO_QUERY_MAX];
	char buf[DNSIO_QUERY_MAX];
	int srv, fd, failed[4], sndbuf = 1, got = 0;

	/* A datagram socket of the local family waits for its reader: with
	 * a tiny send buffer the kernel takes only part of a batch. */
	ck_assert_ptr_nonnull(mkdtemp(path));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/s", path);
	srv = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_eq(bind(srv, (struct sockaddr *)&sun, sizeof(sun)), 0);
	fd = (int)fn->asocket(AF_UNIX, SOCK_DGRAM, 0, io);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	ck_assert_int_eq(
	    fn->aconnect(fd, (struct sockaddr *)&sun, sizeof(sun), io), 0);
	memset(query, 'q', sizeof(query) - 1);
	query[sizeof(query) - 1] = '\0';
	for (int i = 0; i < DNSIO_BATCH; i++) {
		query[0] = (char)('A' + i % 26);
		ck_assert_int_eq(send_text(io, fd, query),
		                 (int)sizeof(query) - 1);
	}
	ck_assert_uint_eq(dnsio_flush(io, failed, 4), 0);
	while (recv_now(srv, buf, sizeof(buf), 0) > 0) {
		ck_assert_int_eq(buf[0], 'A' + got % 26);
		got++;
	}
	ck_assert_int_gt(got, 0);
	ck_assert_int_lt(got, DNSIO_BATCH); /* the rest still queued */
	/* drained: the next flushes send the rest, in order */
	for (int rounds = 0; rounds < DNSIO_BATCH && got < DNSIO_BATCH;
	     rounds++) {
		ck_assert_uint_eq(dnsio_flush(io, failed, 4), 0);
		while (recv_now(srv, buf, sizeof(buf), 0) > 0) {
			ck_assert_int_eq(buf[0], 'A' + got % 26);
			got++;
		}
	}
	ck_assert_int_eq(got, DNSIO_BATCH);
	fn->aclose(fd, io);
	close(srv);
	unlink(sun.sun_path);
	rmdir(path);
	dnsio_free(io);
}
END_TEST

START_TEST(test_tcp_straight_through)
{
	struct dnsio *io = dnsio_new(1 << 20);
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	int lst = socket(AF_INET, SOCK_STREAM, 0), fd, conn, failed[4];
	struct iovec iov[2] = {{"\0\5", 2}, {"hello", 5}};
	char buf[16];
	ssize_t n;

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lst, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(getsockname(lst, (struct sockaddr *)&addr, &len), 0);
	ck_assert_int_eq(listen(lst, 1), 0);
	fd = (int)fn->asocket(AF_INET, SOCK_STREAM, 0, io);
	ck_assert_int_ge(fd, 0);
	n = fn->aconnect(fd, (struct sockaddr *)&addr, sizeof(addr), io);
	ck_assert(n == 0 || errno == EINPROGRESS); /* non-blocking */
	conn = accept(lst, NULL, NULL);
	ck_assert_int_ge(conn, 0);
	/* no flush needed: written at once */
	ck_assert_int_eq(fn->asendv(fd, iov, 2, io), 7);
	ck_assert_int_eq(recv_now(conn, buf, sizeof(buf), 1000), 7);
	ck_assert_int_eq(memcmp(buf, "\0\5hello", 7), 0);
	ck_assert_int_eq(write(conn, "abc", 3), 3);
	ck_assert_int_eq(readable(fd, 1000), 0);
	ck_assert_int_eq(fn->arecvfrom(fd, buf, sizeof(buf), 0, NULL, NULL, io),
	                 3);
	ck_assert_uint_eq(dnsio_flush(io, failed, 4), 0);
	fn->aclose(fd, io);
	close(conn);
	close(lst);
	dnsio_free(io);
}
END_TEST

START_TEST(test_close_and_reuse)
{
	struct dnsio *io = dnsio_new(0);
	struct sockaddr_in addr;
	int srv = udp_server(&addr), failed[4], a, b;
	char buf[16];

	/* queued but never flushed: dropped with the socket */
	a = client(io, &addr);
	ck_assert_int_eq(send_text(io, a, "lost"), 4);
	ck_assert_int_eq(fn->aclose(a, io), 0);
	b = client(io, &addr); /* likely the same descriptor number */
	ck_assert_int_eq(send_text(io, b, "kept"), 4);
	ck_assert_uint_eq(dnsio_flush(io, failed, 4), 0);
	ck_assert_int_eq(recv_now(srv, buf, sizeof(buf), 1000), 4);
	ck_assert_int_eq(memcmp(buf, "kept", 4), 0);
	ck_assert_int_eq(recv_now(srv, buf, sizeof(buf), 50), -1);
	/* a descriptor dnsio did not create goes straight through */
	ck_assert_int_eq(fn->asendv(srv, &(struct iovec){"x", 1}, 1, io), -1);
	ck_assert_int_eq(errno, EDESTADDRREQ);
	/* sockets still open when freed are not leaked by dnsio_free (the
	 * channel closes them first in real use) */
	fn->aclose(b, io);
	close(srv);
	dnsio_free(io);
	dnsio_free(NULL);
}
END_TEST

static Suite *
dnsio_suite(void)
{
	Suite *s = suite_create("dnsio");
	TCase *tc = tcase_create("io");

	tcase_add_test(tc, test_send_held_until_flush);
	tcase_add_test(tc, test_full_queue_and_oversized);
	tcase_add_test(tc, test_receive_batches);
	tcase_add_test(tc, test_send_error_kept_for_read);
	tcase_add_test(tc, test_partial_send_kept_queued);
	tcase_add_test(tc, test_tcp_straight_through);
	tcase_add_test(tc, test_close_and_reuse);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	fn = dnsio_functions();
	sr = srunner_create(dnsio_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
