/*
 * dnsio.c - c-ares socket functions that batch UDP datagrams; see dnsio.h.
 *
 * SYNOPSIS
 *	See dnsio.h.
 *
 * DESCRIPTION
 *	Each socket c-ares opens has an entry in a small table: for UDP, a send
 *	queue of up to DNSIO_BATCH queries and a receive batch of up to
 *	DNSIO_BATCH answers with their source addresses.  The buffers are
 *	allocated with the entry and freed when c-ares closes the socket.
 */
#include "dnsio.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* The buffers of a UDP socket. */
struct dnsio_udp {
	/* queued queries */
	size_t nout;
	size_t outlen[DNSIO_BATCH];
	unsigned char out[DNSIO_BATCH][DNSIO_QUERY_MAX];
	/* answers received, in[next..nin) not yet read by c-ares */
	size_t nin, next;
	size_t inlen[DNSIO_BATCH];
	struct sockaddr_storage from[DNSIO_BATCH];
	socklen_t fromlen[DNSIO_BATCH];
	unsigned char in[DNSIO_BATCH][DNSIO_ANSWER_MAX];
};

struct dnsio_sock {
	int fd;
	int error; /* errno of a failed send; the next read returns it */
	struct dnsio_udp *udp; /* NULL for TCP */
};

struct dnsio {
	int rcvbuf;
	struct dnsio_sock **socks;
	size_t nsocks, cap;
};

static void
dnsio_sock_free(struct dnsio_sock *s)
{
	free(s->udp);
	free(s);
}

struct dnsio *
dnsio_new(int rcvbuf)
{
	struct dnsio *io = calloc(1, sizeof(*io));

	if (io != NULL)
		io->rcvbuf = rcvbuf;
	return io;
}

void
dnsio_free(struct dnsio *io)
{
	if (io == NULL)
		return;
	for (size_t i = 0; i < io->nsocks; i++)
		dnsio_sock_free(io->socks[i]);
	free(io->socks);
	free(io);
}

/* dnsio_find - the entry of fd, or NULL (a socket we did not create). */
static struct dnsio_sock *
dnsio_find(struct dnsio *io, int fd)
{
	for (size_t i = 0; i < io->nsocks; i++)
		if (io->socks[i]->fd == fd)
			return io->socks[i];
	return NULL;
}

/* dnsio_add - a new entry for fd; -1 when out of memory. */
static int
dnsio_add(struct dnsio *io, int fd, bool udp)
{
	struct dnsio_sock *s;

	if (io->nsocks == io->cap) {
		size_t cap = io->cap ? 2 * io->cap : 4;
		struct dnsio_sock **socks =
		    realloc(io->socks, cap * sizeof(*socks));

		if (socks == NULL)
			return -1;
		io->socks = socks;
		io->cap = cap;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	/* TCP needs no buffers; nothing in them needs zeroing */
	if (udp && (s->udp = malloc(sizeof(*s->udp))) == NULL) {
		free(s);
		return -1;
	}
	s->fd = fd;
	if (udp)
		s->udp->nout = s->udp->nin = s->udp->next = 0;
	io->socks[io->nsocks++] = s;
	return 0;
}

static ares_socket_t
dnsio_socket(int domain, int type, int protocol, void *arg)
{
	struct dnsio *io = arg;
	bool udp = type == SOCK_DGRAM;
	int fd, on = 1, saved;

	fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
	if (fd < 0)
		return ARES_SOCKET_BAD;
	if (udp && io->rcvbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &io->rcvbuf,
		                 sizeof(io->rcvbuf));
	if (!udp)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (dnsio_add(io, fd, udp) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return ARES_SOCKET_BAD;
	}
	return fd;
}

static int
dnsio_close(ares_socket_t fd, void *arg)
{
	struct dnsio *io = arg;

	for (size_t i = 0; i < io->nsocks; i++) {
		if (io->socks[i]->fd == fd) {
			dnsio_sock_free(io->socks[i]);
			io->socks[i] = io->socks[--io->nsocks];
			break;
		}
	}
	return close(fd);
}

static int
dnsio_connect(ares_socket_t fd, const struct sockaddr *addr, ares_socklen_t len,
              void *arg)
{
	(void)arg;
	return connect(fd, addr, len);
}

/* dnsio_fill - read up to DNSIO_BATCH datagrams; -1 with errno when none. */
static int
dnsio_fill(int fd, struct dnsio_udp *s)
{
	struct mmsghdr msgs[DNSIO_BATCH];
	struct iovec iov[DNSIO_BATCH];
	int n;

	memset(msgs, 0, sizeof(msgs));
	for (size_t i = 0; i < DNSIO_BATCH; i++) {
		iov[i].iov_base = s->in[i];
		iov[i].iov_len = sizeof(s->in[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &s->from[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(s->from[i]);
	}
	do
		n = recvmmsg(fd, msgs, DNSIO_BATCH, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	for (int i = 0; i < n; i++) {
		s->inlen[i] = msgs[i].msg_len;
		s->fromlen[i] = msgs[i].msg_hdr.msg_namelen;
	}
	s->nin = (size_t)n;
	s->next = 0;
	return 0;
}

static ares_ssize_t
dnsio_recvfrom(ares_socket_t fd, void *buf, size_t len, int flags,
               struct sockaddr *from, ares_socklen_t *fromlen, void *arg)
{
	struct dnsio_sock *sock = dnsio_find(arg, fd);
	struct dnsio_udp *s;
	size_t i, n;

	if (sock == NULL || sock->udp == NULL)
		return recvfrom(fd, buf, len, flags, from, fromlen);
	if (sock->error != 0) {
		errno = sock->error;
		sock->error = 0;
		return -1;
	}
	s = sock->udp;
	if (s->next == s->nin && dnsio_fill(fd, s) != 0)
		return -1;
	i = s->next++;
	/* As recvfrom(2) would: the part that fits, the rest dropped. */
	n = s->inlen[i] < len ? s->inlen[i] : len;
	memcpy(buf, s->in[i], n);
	if (from != NULL && fromlen != NULL) {
		socklen_t fl =
		    s->fromlen[i] < *fromlen ? s->fromlen[i] : *fromlen;

		memcpy(from, &s->from[i], fl);
		*fromlen = s->fromlen[i];
	}
	return (ares_ssize_t)n;
}

/* dnsio_send_queue - hand s's queue to the kernel; keep what it refuses
 * for now (EAGAIN), drop a datagram it refuses for good. */
static void
dnsio_send_queue(struct dnsio_sock *sock)
{
	struct dnsio_udp *s = sock->udp;
	struct mmsghdr msgs[DNSIO_BATCH];
	struct iovec iov[DNSIO_BATCH];
	size_t done = 0;
	int n;

	memset(msgs, 0, sizeof(msgs));
	for (size_t i = 0; i < s->nout; i++) {
		iov[i].iov_base = s->out[i];
		iov[i].iov_len = s->outlen[i];
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < s->nout) {
		n = sendmmsg(sock->fd, msgs + done, (unsigned)(s->nout - done),
		             0);
		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		                     errno == ENOBUFS)) {
			break;
		} else {
			/* c-ares learns of it at its next read */
			sock->error = n < 0 ? errno : EIO;
			done++;
		}
	}
	if (done > 0 && done < s->nout) {
		memmove(s->outlen, s->outlen + done,
		        (s->nout - done) * sizeof(s->outlen[0]));
		memmove(s->out, s->out + done,
		        (s->nout - done) * sizeof(s->out[0]));
	}
	s->nout -= done;
}

static ares_ssize_t
dnsio_sendv(ares_socket_t fd, const struct iovec *iov, int iovcnt, void *arg)
{
	struct dnsio_sock *sock = dnsio_find(arg, fd);
	struct dnsio_udp *s;
	size_t total = 0, off = 0;

	if (sock == NULL || sock->udp == NULL)
		return writev(fd, iov, iovcnt);
	s = sock->udp;
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (s->nout == DNSIO_BATCH || (total > DNSIO_QUERY_MAX && s->nout > 0))
		dnsio_send_queue(sock);
	if (total > DNSIO_QUERY_MAX || s->nout == DNSIO_BATCH)
		/* too large to queue, or the kernel takes nothing now:
		 * as c-ares would, and it handles the outcome */
		return writev(fd, iov, iovcnt);
	for (int i = 0; i < iovcnt; i++) {
		memcpy(s->out[s->nout] + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	s->outlen[s->nout++] = total;
	return (ares_ssize_t)total;
}

static const struct ares_socket_functions dnsio_table = {
    .asocket = dnsio_socket,
    .aclose = dnsio_close,
    .aconnect = dnsio_connect,
    .arecvfrom = dnsio_recvfrom,
    .asendv = dnsio_sendv,
};

const struct ares_socket_functions *
dnsio_functions(void)
{
	return &dnsio_table;
}

void
dnsio_attach(struct dnsio *io, ares_channel channel)
{
	ares_set_socket_functions(channel, &dnsio_table, io);
}

size_t
dnsio_flush(struct dnsio *io, int *ready, size_t nready)
{
	size_t n = 0;

	for (size_t i = 0; i < io->nsocks; i++) {
		struct dnsio_sock *s = io->socks[i];

		if (s->udp == NULL)
			continue;
		if (s->udp->nout > 0)
			dnsio_send_queue(s);
		if (s->error != 0 || s->udp->next < s->udp->nin) {
			if (n < nready)
				ready[n] = s->fd;
			n++;
		}
	}
	return n;
}
